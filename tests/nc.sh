#!/bin/sh
# nc.sh: two real netcat (netcat-openbsd) clients chat across rooms, one
# leaves with /quit, the other closes its side first (nc -N).  Skipped
# (77) where nc is missing.
command -v nc >/dev/null 2>&1 || { echo "nc not installed: skipped"; exit 77; }
. "$(dirname "$0")/lib.sh"

start_server
mkfifo "$T/a.in" "$T/b.in"
nc -N 127.0.0.1 "$PORT" <"$T/a.in" >"$T/a.out" & APID=$!
nc -N 127.0.0.1 "$PORT" <"$T/b.in" >"$T/b.out" & BPID=$!
PIDS="$PIDS $APID $BPID"
exec 3>"$T/a.in" 4>"$T/b.in"

wait_for "$T/a.out" "-!- you joined #lobby"
wait_for "$T/b.out" "-!- you joined #lobby"
echo "/nick alice" >&3
wait_for "$T/a.out" "-!- you are now known as alice"
echo "/nick bob" >&4
wait_for "$T/b.out" "-!- you are now known as bob"
wait_for "$T/a.out" "is now known as bob"

echo "hello from nc" >&3
wait_for "$T/b.out" "<alice> hello from nc"
printf 'crlf works\r\n' >&4
wait_for "$T/a.out" "<bob> crlf works"

echo "/join #netcat" >&3
wait_for "$T/a.out" "-!- you joined #netcat (1 user)"
wait_for "$T/b.out" "-!- alice left #lobby"
echo "/join netcat" >&4
wait_for "$T/b.out" "-!- you joined #netcat (2 users)"
wait_for "$T/a.out" "-!- bob joined #netcat"
echo "/me waves" >&4
wait_for "$T/a.out" "* bob waves"
echo "/msg BOB psst" >&3
wait_for "$T/b.out" "*alice* psst"
wait_for "$T/a.out" "-> *bob* psst"

# alice leaves with /quit: goodbye, then the server closes; nc exits.
echo "/quit see you" >&3
wait_for "$T/a.out" "-!- goodbye, alice"
wait_for "$T/b.out" "-!- alice quit (see you)"
exec 3>&-
wait_exit "$APID"

# bob closes first: the server sees EOF and closes too; nc exits.
exec 4>&-
wait_exit "$BPID"
wait_for "$T/server.log" "(connection closed)"

# Every line the server sent ended in CRLF.
for f in "$T/a.out" "$T/b.out"; do
	bad=$(awk '!/\r$/' "$f" | wc -l)
	[ "$bad" -eq 0 ] || fail "$f has lines without CRLF"
done
stop_server
echo "nc: ok"
