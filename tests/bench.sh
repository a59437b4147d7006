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
# Nothing of the caller's run.sh settings comes in; every wait is bounded.
RUNSH=$(dirname "$0")/../contrib/bench/run.sh
runsh() {
	env OUT= PIN= SPIN= MODES= EVCHATD_ARGS= CEILING_ARGS= \
	    BENCH_ARGS="--timeout 30" TMPDIR="$T" "$@" sh "$RUNSH"
}
runsh BUILDDIR="$B" RUNS=2 FANOUT_CLIENTS=5 MSGS_5=10 IDLE_CLIENTS=5 \
    IDLE_ROOM=5 CONNECT_CLIENTS=5 DRAIN_CLIENTS=5 DRAIN_MSGS=5 \
    >"$T/run.out" 2>&1 || fail "run.sh: $(cat "$T/run.out")"
for want in "result=fanout clients=5 " "result=idle clients=5 " \
    "result=connect clients=5 " "result=drain clients=5 "; do
	grep -qF "$want" "$T/run.out" ||
	    fail "run.sh: no '$want' in: $(cat "$T/run.out")"
done

# run.sh's arithmetic, on figures set by a stand-in for evchat-bench:
# evchatd 100, 400, 300 and a failed run; the ceiling after each 100,
# 200, 100, 100.  The medians are 300 and 100 (ratio 3.00), the pairs'
# ratios 1, 2 and 3 (the failed pair left out: median 2.00), and the
# failed run makes run.sh fail.
S=$T/stub
mkdir -p "$S/contrib/bench"
printf '#!/bin/sh\nexit 0\n' >"$S/evchatd"
cp "$S/evchatd" "$S/contrib/bench/relay-ceiling"
cat >"$S/contrib/evchat-bench" <<'EOF'
#!/bin/sh
raw=0
for a in "$@"; do [ "$a" = --raw ] && raw=1; done
f=$(dirname "$0")/count.$raw
n=$(cat "$f" 2>/dev/null || echo 0)
echo $((n + 1)) >"$f"
case $raw.$n in
0.0) v=100 ;; 0.1) v=400 ;; 0.2) v=300 ;; 1.1) v=200 ;;
0.3) echo "mode=fanout clients=5 ok=0 error=stub"; exit 1 ;;
*) v=100 ;;
esac
echo "mode=fanout clients=5 dps=$v dpcs=$v p50_us=1 p99_us=2 max_us=3" \
    "lost=0 dup=0 spin=0 servers=1 ok=1"
EOF
chmod +x "$S/evchatd" "$S/contrib/bench/relay-ceiling" \
    "$S/contrib/evchat-bench"
st=0
runsh BUILDDIR="$S" RUNS=4 MODES=fanout FANOUT_CLIENTS=5 \
    >"$T/stub.out" 2>&1 || st=$?
[ "$st" -eq 1 ] || fail "run.sh with a failed run: exit $st, want 1"
want="result=fanout clients=5 evchatd_dpcs=300 ceiling_dpcs=100 ratio=3.00"
grep -qF "$want pair_ratio=2.00" "$T/stub.out" ||
    fail "run.sh's figures: $(cat "$T/stub.out")"
echo "bench: ok"
