#!/bin/sh
# demo.sh: contrib/tcp-lifecycle-demo end to end on real packets.  It
# needs root and tcpdump; the demo itself exits 77 (skip) without them.
. "$(dirname "$0")/lib.sh"

demo="$(dirname "$0")/../contrib/tcp-lifecycle-demo"
sh "$demo" "$EVCHATD" >"$T/demo.out" 2>&1
rc=$?
[ "$rc" -eq 77 ] && { cat "$T/demo.out"; exit 77; }
[ "$rc" -eq 0 ] || fail "the demo exited $rc"
for want in "SYN_SENT" "--- SYN seq=M " "SYN+ACK seq=N ack=M+1 ---  SYN_RECV" \
    "--- ACK ack=N+1 " "FIN_WAIT1" "CLOSE_WAIT" "LAST_ACK" \
    ">  TIME_WAIT" "ESTABLISHED (accepted)" "CLOSE_WAIT (peer FIN)" \
    "shutdown: 1 closed gracefully, 0 timed out, 1 in TIME_WAIT" \
    "Who holds TIME_WAIT"; do
	grep -qF -- "$want" "$T/demo.out" || {
		cat "$T/demo.out" >&2
		fail "the demo's output lacks '$want'"
	}
done
echo "demo: ok"
