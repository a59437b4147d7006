# lib.sh: what the shell tests share.  Sourced, not run.
# Every wait is bounded; every process started is stopped on exit.

EVCHATD=${EVCHATD:-./evchatd}
T=$(mktemp -d "${TMPDIR:-/tmp}/evchat-sh.XXXXXX")
PIDS=""

cleanup() {
	for p in $PIDS; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	for f in "$T"/*.out "$T"/*.log; do
		[ -f "$f" ] && { echo "--- $f" >&2; cat "$f" >&2; }
	done
	exit 1
}

# wait_for FILE TEXT: until FILE contains TEXT (fixed string), 5 s at most.
wait_for() {
	i=0
	while ! grep -qF -- "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -le 250 ] || fail "'$2' never appeared in $1"
		sleep 0.02
	done
}

# start_server ARGS...: run evchatd on a free loopback port; sets PORT, SPID.
start_server() {
	"$EVCHATD" -l 127.0.0.1:0 "$@" 2>"$T/server.log" &
	SPID=$!
	PIDS="$PIDS $SPID"
	wait_for "$T/server.log" "listening on 127.0.0.1:"
	PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' \
	    "$T/server.log" | head -n 1)
	[ -n "$PORT" ] || fail "no port in the server log"
}

# stop_server: SIGTERM, and the exit status must be 0 within 15 s.
stop_server() {
	kill -TERM "$SPID"
	i=0
	while kill -0 "$SPID" 2>/dev/null; do
		i=$((i + 1))
		[ $i -le 750 ] || fail "evchatd did not exit after SIGTERM"
		sleep 0.02
	done
	wait "$SPID"
	rc=$?
	[ "$rc" -eq 0 ] || fail "evchatd exited with $rc"
}

# wait_exit PID: the process ends within 5 s.
wait_exit() {
	i=0
	while kill -0 "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -le 250 ] || fail "process $1 did not exit"
		sleep 0.02
	done
}
