#!/bin/sh
# cli.sh: the command line — --help names every flag with its default,
# --version, and every bad flag or value is refused with a clear message
# and a non-zero exit before anything listens.
. "$(dirname "$0")/lib.sh"

"$EVCHATD" --help >"$T/help.out" 2>&1 || fail "--help failed"
for flag in --listen --port --backlog --history --max-line --motd \
    --grace --trace-tcp --verbose --help --version; do
	grep -qF -- "$flag" "$T/help.out" || fail "--help lacks $flag"
done
grep -qF "default 7070" "$T/help.out" || fail "--help lacks the port default"
grep -qF "default 1024" "$T/help.out" || fail "--help lacks max-line default"
"$EVCHATD" --version | grep -q "^evchatd [0-9]" || fail "--version"

# refuse CODE ARGS...: evchatd must exit with CODE, say why, and not listen.
refuse() {
	want=$1
	shift
	"$EVCHATD" "$@" >"$T/refuse.out" 2>&1
	rc=$?
	[ "$rc" -eq "$want" ] || fail "exit $rc, not $want, for: $*"
	grep -q "evchatd" "$T/refuse.out" || fail "no message for: $*"
	if grep -q "listening on" "$T/refuse.out"; then
		fail "listened before refusing: $*"
	fi
}
refuse 2 --port 70000
refuse 2 --port abc
refuse 2 --port -1
refuse 2 --port ""
refuse 2 --history -5
refuse 2 --history 10x
refuse 2 --max-line 0
refuse 2 --max-line 99999999
refuse 2 --backlog 0
refuse 2 --no-such-flag
refuse 2 -l 127.0.0.1:0 extra-argument
refuse 2 -l "[::1"
refuse 2 -l 127.0.0.1:notaport
refuse 2 -l 999.1.2.3:0
refuse 2 -l 127.0.0.1:70000
refuse 2 -l localhost:7070
refuse 2 -l 127.0.0.1:0 -l 999.1.2.3:0
refuse 2 --grace 0
refuse 1 -l 127.0.0.1:0 --motd "$T/does-not-exist"
refuse 1 -l 127.0.0.1:0 --motd "$T"

# A port that is taken: a clear error, exit 1.
start_server
refuse 1 -l "127.0.0.1:$PORT"
grep -q "cannot listen" "$T/refuse.out" || fail "no bind error message"
stop_server
echo "cli: ok"
