#!/bin/sh
# run.sh: the whole benchmark in one command.  Runs every evchat-bench mode
# against evchatd, and the fanout mode against the ceiling relay under the
# same load, RUNS times each, and prints the medians and, for fan-out, the
# ratio evchatd/ceiling of deliveries per server CPU-second: the ratio of
# the medians, and the median of each pair's ratio.
#
#	cd BUILDDIR && sh SRCDIR/contrib/bench/run.sh
#
# It builds nothing: BUILDDIR (default: the current directory) must hold
# evchatd, contrib/evchat-bench and contrib/bench/relay-ceiling.  The
# defaults finish in about two minutes on two cores; every knob is an
# environment variable:
#
#	RUNS=3			runs per configuration (the median is shown)
#	FANOUT_CLIENTS="100 1000" clients in the fan-out room
#	SENDERS=4 WINDOW=3	senders, messages in flight per sender
#	MSGS_100=5000 MSGS_1000=600  messages per sender at N clients
#				(MSGS_N for any N; else 2000000/(S*N))
#	IDLE_CLIENTS=10000	idle clients...
#	IDLE_ROOM=100		...in rooms of this many (IDLE_ROOM=10000 puts
#				them in one room: N*N/2 join notices)
#	CONNECT_CLIENTS=2000	connections in the connect mode
#	DRAIN_CLIENTS=2000 DRAIN_MSGS=50  clients and queued messages
#	EVCHATD_ARGS=		more evchatd options
#	CEILING_ARGS=		relay-ceiling options (--nagle: no TCP_NODELAY,
#				as evchatd today)
#	BENCH_ARGS=		more evchat-bench options (say, --timeout 300)
#	MODES="fanout idle connect drain"
#	PIN=			1: the server on CPU 0, evchat-bench on CPU 1
#				(taskset); the runs usually vary less
#	SPIN=			1: evchat-bench never sleeps (--spin), so the
#				server pays no wake-ups of it; use with PIN=1
#
# The last line of each evchat-bench run is key=value pairs; this script
# keeps them all in $OUT (default: a temporary file, removed at the end).
# Exit status: 0 if every run succeeded, 1 otherwise.

B=${BUILDDIR:-.}
RUNS=${RUNS:-3}
FANOUT_CLIENTS=${FANOUT_CLIENTS:-"100 1000"}
SENDERS=${SENDERS:-4}
WINDOW=${WINDOW:-3}
MSGS_100=${MSGS_100:-5000}
MSGS_1000=${MSGS_1000:-600}
IDLE_CLIENTS=${IDLE_CLIENTS:-10000}
IDLE_ROOM=${IDLE_ROOM:-100}
CONNECT_CLIENTS=${CONNECT_CLIENTS:-2000}
DRAIN_CLIENTS=${DRAIN_CLIENTS:-2000}
DRAIN_MSGS=${DRAIN_MSGS:-50}
MODES=${MODES:-"fanout idle connect drain"}

BENCH=$B/contrib/evchat-bench
RELAY=$B/contrib/bench/relay-ceiling
for f in "$B/evchatd" "$BENCH" "$RELAY"; do
	if [ ! -x "$f" ]; then
		echo "run.sh: $f is missing; build it first (make)" >&2
		exit 1
	fi
done
SRV_PIN=
BENCH_PIN=
if [ -n "$PIN" ] && [ "$PIN" != 0 ]; then
	if ! command -v taskset > /dev/null 2>&1; then
		echo "run.sh: PIN needs taskset (util-linux)" >&2
		exit 1
	fi
	SRV_PIN="taskset -c 0"
	BENCH_PIN="taskset -c 1"
fi
if [ -n "$SPIN" ] && [ "$SPIN" != 0 ]; then
	BENCH_ARGS="--spin $BENCH_ARGS"
	[ -n "$SRV_PIN" ] || echo "run.sh: SPIN=1 without PIN=1: the" \
	    "spinning bench may take CPU from the server" >&2
fi
# evchatd's defaults limit each client to 10 lines/s and 10000 clients.
EVCHATD="$SRV_PIN $B/evchatd -l 127.0.0.1:0 --rate 0 --max-clients 1000000"
EVCHATD="$EVCHATD $EVCHATD_ARGS"

if [ -z "$OUT" ]; then
	OUT=$(mktemp "${TMPDIR:-/tmp}/evchat-run.XXXXXX") || exit 1
	trap 'rm -f "$OUT"' EXIT
fi
: > "$OUT"
failed=0

# bench_once TAG ARGS...: run evchat-bench once, keep its result line
# prefixed with TAG, show the run if it failed.
bench_once()
{
	tag=$1
	shift
	log=$(mktemp "${TMPDIR:-/tmp}/evchat-run.XXXXXX")
	# shellcheck disable=SC2086
	if ! $BENCH_PIN "$BENCH" "$@" > "$log" 2>&1; then
		failed=1
		echo "run.sh: FAILED: $BENCH $*" >&2
		tail -n 20 "$log" >&2
	fi
	echo "$tag $(tail -n 1 "$log")" >> "$OUT"
	rm -f "$log"
}

# bench TAG ARGS...: the same RUNS times.
bench()
{
	i=1
	while [ "$i" -le "$RUNS" ]; do
		bench_once "$@"
		i=$((i + 1))
	done
}

# median: the median of the numbers on stdin, one a line, or -.
median()
{
	sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "-";
	    else if (NR % 2) printf "%.10g\n", v[(NR + 1) / 2];
	    else printf "%.10g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# med TAG KEY: the median of KEY over the runs tagged TAG.
med()
{
	grep "^$1 " "$OUT" | tr ' ' '\n' | sed -n "s/^$2=//p" | median
}

# pairmed N: the median, over the pairs of fan-out runs at N clients
# (evchatd, then the ceiling right after it), of evchatd/ceiling in
# deliveries per CPU-second.  Each pair shares the machine's drift of
# its minute, so this is steadier than the ratio of the two medians.
pairmed()
{
	grep -E "^(evchatd|ceiling)-$1 " "$OUT" | awk '
	    { v = 0; for (i = 2; i <= NF; i++)
		if ($i ~ /^dpcs=/) v = substr($i, 6) + 0 }
	    /^evchatd/ { e = v; next }
	    { if (e > 0 && v > 0) printf "%.4f\n", e / v; e = 0 }' | median
}

# ratio A B: A/B to two decimals, or - if either is missing or zero.
ratio()
{
	awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0)
		printf "%.2f", a / b; else printf "-" }'
}

msgs_for()
{
	eval "m=\${MSGS_$1:-}"
	[ -n "$m" ] || m=$((2000000 / (SENDERS * $1) + 1))
	echo "$m"
}

echo "evchat benchmark: $RUNS runs each, medians; $(nproc 2>/dev/null ||
    echo ?) CPUs, $(uname -sr)"

for mode in $MODES; do
	case $mode in
	fanout)
		for n in $FANOUT_CLIENTS; do
			m=$(msgs_for "$n")
			args="fanout -n $n -s $SENDERS -m $m -w $WINDOW"
			args="$args $BENCH_ARGS"
			# Taken in turns, so the machine's drift is shared.
			r=1
			while [ "$r" -le "$RUNS" ]; do
				# shellcheck disable=SC2086
				bench_once "evchatd-$n" $args -- $EVCHATD
				# shellcheck disable=SC2086
				bench_once "ceiling-$n" $args --raw -- \
				    $SRV_PIN "$RELAY" $CEILING_ARGS 0
				r=$((r + 1))
			done
			e=$(med "evchatd-$n" dpcs)
			c=$(med "ceiling-$n" dpcs)
			echo "fanout $n clients, $SENDERS senders x $m," \
			    "window $WINDOW:"
			for who in evchatd ceiling; do
				printf '  %-8s %9s deliveries/s %9s per CPU-s' \
				    "$who" "$(med "$who-$n" dps)" \
				    "$(med "$who-$n" dpcs)"
				printf '  p50 %s p99 %s max %s us' \
				    "$(med "$who-$n" p50_us)" \
				    "$(med "$who-$n" p99_us)" \
				    "$(med "$who-$n" max_us)"
				printf '  lost %s dup %s\n' \
				    "$(med "$who-$n" lost)" \
				    "$(med "$who-$n" dup)"
			done
			p=$(ratio "$(pairmed "$n")" 1)
			echo "  ratio evchatd/ceiling (deliveries per server" \
			    "CPU-second): $(ratio "$e" "$c"); median of the" \
			    "pairs' ratios: $p"
			echo "result=fanout clients=$n evchatd_dpcs=$e" \
			    "ceiling_dpcs=$c ratio=$(ratio "$e" "$c")" \
			    "pair_ratio=$p"
		done
		;;
	idle)
		# shellcheck disable=SC2086
		bench idle idle -n "$IDLE_CLIENTS" -k "$IDLE_ROOM" $BENCH_ARGS \
		    -- $EVCHATD
		echo "idle $IDLE_CLIENTS clients in rooms of $IDLE_ROOM:" \
		    "$(med idle bytes_per_client) bytes of server RSS per" \
		    "client; seated in $(med idle seat_s) s; one message" \
		    "per room p99 $(med idle p99_us) us, lost $(med idle lost)"
		echo "result=idle clients=$IDLE_CLIENTS room=$IDLE_ROOM" \
		    "bytes_per_client=$(med idle bytes_per_client)" \
		    "seat_s=$(med idle seat_s)"
		;;
	connect)
		# shellcheck disable=SC2086
		bench connect connect -n "$CONNECT_CLIENTS" $BENCH_ARGS \
		    -- $EVCHATD
		echo "connect $CONNECT_CLIENTS: $(med connect cps)" \
		    "connections/s, $(med connect cpcs) per server CPU-second"
		echo "result=connect clients=$CONNECT_CLIENTS" \
		    "cps=$(med connect cps) cpcs=$(med connect cpcs)"
		;;
	drain)
		# shellcheck disable=SC2086
		bench drain drain -n "$DRAIN_CLIENTS" -m "$DRAIN_MSGS" \
		    $BENCH_ARGS -- $EVCHATD
		echo "drain $DRAIN_CLIENTS clients, $DRAIN_MSGS messages" \
		    "queued: last EOF $(med drain drain_ms) ms after SIGTERM," \
		    "exit after $(med drain exit_ms) ms, lost $(med drain lost)"
		echo "result=drain clients=$DRAIN_CLIENTS msgs=$DRAIN_MSGS" \
		    "drain_ms=$(med drain drain_ms) lost=$(med drain lost)"
		;;
	*)
		echo "run.sh: unknown mode '$mode'" >&2
		failed=1
		;;
	esac
done
[ "$failed" -eq 0 ] || echo "run.sh: some runs failed; see above" >&2
exit "$failed"
