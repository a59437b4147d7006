#!/bin/sh
# bench.sh: a smoke run of every evchat-bench mode, tiny N, against evchatd
# and the ceiling relay.  It checks the tool works and that nothing is
# lost or doubled; it times nothing (speed is BENCHMARKS.md's business).
. "$(dirname "$0")/lib.sh"

B=$(dirname "$EVCHATD")
BENCH=$B/contrib/evchat-bench
RELAY=$B/contrib/bench/relay-ceiling
[ -x "$BENCH" ] && [ -x "$RELAY" ] || fail "build contrib/evchat-bench first"

# run ARGS...: one bench run; its last line must say ok=1 lost=0 dup=0.
run() {
	"$BENCH" "$@" >"$T/bench.out" 2>"$T/bench.log" ||
	    fail "evchat-bench $* exited $?"
	last=$(tail -n 1 "$T/bench.out")
	case " $last " in
	*" ok=1 "*) ;;
	*) fail "evchat-bench $*: $last" ;;
	esac
	case " $last " in
	*" lost="[1-9]*|*" dup="[1-9]*) fail "evchat-bench $*: $last" ;;
	esac
}

server="-- $EVCHATD -l 127.0.0.1:0 --rate 0"
run fanout -n 5 -s 4 -m 10 -w 3 $server
run idle -n 5 $server
run connect -n 5 $server
run drain -n 5 -m 10 $server
run fanout -n 5 -s 4 -m 10 -w 3 --raw -- "$RELAY" 0
# --size: the longest message evchatd takes, to both servers; too short
# a message cannot hold its own header and is refused as a usage error.
run fanout -n 5 -s 2 -m 10 --size 1000 $server
case " $last " in
*" size=1000 "*) ;;
*) fail "--size 1000 not reported: $last" ;;
esac
run fanout -n 5 -s 2 -m 10 --size 1000 --raw -- "$RELAY" 0
# --spin: the bench polls instead of sleeping, and says so.  It takes a
# CPU of its own while it runs: not on a machine with one.
if [ "$(nproc 2>/dev/null || echo 1)" -ge 2 ]; then
	run fanout -n 5 -s 4 -m 10 --spin $server
	case " $last " in
	*" spin=1 "*) ;;
	*) fail "--spin not reported: $last" ;;
	esac
	run drain -n 5 -m 10 --spin $server
	case " $last " in
	*" spin=1 "*) ;;
	*) fail "--spin not reported by drain: $last" ;;
	esac
fi
st=0
"$BENCH" fanout -n 5 --size 47 $server >/dev/null 2>"$T/bench.log" || st=$?
[ "$st" -eq 2 ] || fail "--size 47: exit $st, want 2"
# run.sh, the one command, end to end at tiny sizes: every mode runs and
# a result line comes out for each (the figures mean nothing this small).
RUNSH=$(dirname "$0")/../contrib/bench/run.sh
BUILDDIR=$B RUNS=2 FANOUT_CLIENTS=5 MSGS_5=10 IDLE_CLIENTS=5 IDLE_ROOM=5 \
    CONNECT_CLIENTS=5 DRAIN_CLIENTS=5 DRAIN_MSGS=5 TMPDIR=$T \
    sh "$RUNSH" >"$T/run.out" 2>&1 || fail "run.sh: $(cat "$T/run.out")"
for want in "result=fanout clients=5 " "result=idle clients=5 " \
    "result=connect clients=5 " "result=drain clients=5 "; do
	grep -qF "$want" "$T/run.out" ||
	    fail "run.sh: no '$want' in: $(cat "$T/run.out")"
done
grep -q "^result=fanout .* ratio=[-0-9.]* pair_ratio=[-0-9.]*$" "$T/run.out" ||
    fail "run.sh: no ratio and pair_ratio"
echo "bench: ok"
