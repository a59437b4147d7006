#!/bin/sh
# cli.sh: the command line — --help names every flag with its default,
# --version, and every bad flag or value is refused with a clear message
# and a non-zero exit before anything listens.
. "$(dirname "$0")/lib.sh"

"$EVCHATD" --help >"$T/help.out" 2>&1 || fail "--help failed"
for flag in --listen --port --backlog --history --max-line --motd \
    --verbose --help --version; do
	grep -qF -- "$flag" "$T/help.out" || fail "--help lacks $flag"
done
grep -qF "default 7070" "$T/help.out" || fail "--help lacks the port default"
grep -qF "default 1024" "$T/help.out" || fail "--help lacks max-line default"
"$EVCHATD" --version | grep -q "^evchatd [0-9]" || fail "--version"

# refuse ARGS...: evchatd must exit non-zero, say why, and not listen.
refuse() {
	if "$EVCHATD" "$@" >"$T/refuse.out" 2>&1; then
		fail "accepted: $*"
	fi
	grep -q "evchatd" "$T/refuse.out" || fail "no message for: $*"
	if grep -q "listening on" "$T/refuse.out"; then
		fail "listened before refusing: $*"
	fi
}
refuse --port 70000
refuse --port abc
refuse --port -1
refuse --port ""
refuse --history -5
refuse --history 10x
refuse --max-line 0
refuse --max-line 99999999
refuse --backlog 0
refuse --no-such-flag
refuse -l 127.0.0.1:0 extra-argument
refuse -l "[::1"
refuse -l 127.0.0.1:notaport
refuse -l 999.1.2.3:0
refuse -l 127.0.0.1:0 --motd "$T/does-not-exist"

# A port that is taken: a clear error, exit 1.
start_server
refuse -l "127.0.0.1:$PORT"
grep -q "cannot listen" "$T/refuse.out" || fail "no bind error message"
stop_server
echo "cli: ok"
