#!/bin/sh
# cluster.sh: fan-out through several evchatd processes on one port
# (--reuseport, the kernel spreading the clients over them) joined by
# Redis (--redis), against one evchatd without Redis, under the load of
# run.sh's fan-out: S senders, W messages in flight each, everyone in one
# room.  Prints the medians as a table.
#
#	cd BUILDDIR && sh SRCDIR/contrib/bench/cluster.sh
#
# It starts a private redis-server (its own temporary directory, a free
# loopback port, no persistence) for the whole script, and fresh evchatd
# processes for every run, on one free loopback port; it waits for
# "listening on" and, with Redis, "cluster link up" in each one's log, then
# runs
#
#	contrib/evchat-bench fanout -p PORT --pid P1 [--pid P2]... \
#	    --helper-pid REDIS-PID ...
#
# so that the server's CPU time is the sum over the evchatd processes and
# redis-server's CPU time over the same phase is reported apart.  Runs of
# the setups are interleaved (A B C A B C ...) so that drift in the load
# of this shared machine falls on all of them alike.  Everything it
# started is stopped on exit, and its directory removed.
#
# BUILDDIR (default: the current directory) must hold evchatd (built with
# cluster mode, that is with hiredis) and contrib/evchat-bench.  Linux only,
# as evchat-bench is (/proc, and sleep 0.05).  Every knob is an environment
# variable:
#
#	RUNS=3			runs per setup (the median is shown)
#	CLIENTS="100 1000"	clients in the fan-out room
#	SINGLE=1		also measure one evchatd without Redis (0: not)
#	PROCS="1 2"		evchatd processes with Redis, one setup each
#				(empty: only the single process)
#	SENDERS=4 WINDOW=3	senders, messages in flight per sender
#	RATE=			open loop instead: RATE messages/s over all
#				senders, whatever the latency (light load
#				shows what a hop through Redis costs without
#				the CPUs being saturated)
#	MSGS_100=5000 MSGS_1000=600  messages per sender at N clients
#				(MSGS_N for any N; else 2000000/(S*N))
#	REDIS_SERVER=redis-server  the Redis to start
#	REDIS_ARGS=		more redis-server options
#	EVCHATD_ARGS=		more evchatd options (all setups)
#	BENCH_ARGS=		more evchat-bench options (say, --timeout 300)
#	START_TIMEOUT=10	seconds to wait for a process to be ready
#
# Columns: deliveries per second of wall time; deliveries per CPU-second
# of the evchatd processes together (the figure run.sh reports), then per
# CPU-second of evchatd and redis-server together; the CPU-seconds of
# evchatd (summed), of redis-server and of evchat-bench in the measured
# phase; latency p50/p99 (send to receive, over all deliveries); lost and
# duplicated messages; clients per evchatd process (how the kernel spread
# them, counted once all are seated; medians per process, sorted).
#
# The result line of each run is kept in $OUT (default: a temporary file,
# removed at the end), prefixed with its setup and extended with dpcs_all
# and split.  Exit status: 0 if every run succeeded, 1 if one failed,
# 77 if redis-server or cluster mode is missing.

B=${BUILDDIR:-.}
RUNS=${RUNS:-3}
CLIENTS=${CLIENTS:-"100 1000"}
SINGLE=${SINGLE:-1}
PROCS=${PROCS-"1 2"}
SENDERS=${SENDERS:-4}
WINDOW=${WINDOW:-3}
RATE=${RATE:-}
MSGS_100=${MSGS_100:-5000}
MSGS_1000=${MSGS_1000:-600}
REDIS_SERVER=${REDIS_SERVER:-redis-server}
START_TIMEOUT=${START_TIMEOUT:-10}

EVCHATD=$B/evchatd
BENCH=$B/contrib/evchat-bench
for f in "$EVCHATD" "$BENCH"; do
	if [ ! -x "$f" ]; then
		echo "cluster.sh: $f is missing; build it first (make)" >&2
		exit 1
	fi
done
if [ -n "$PROCS" ]; then
	if ! "$EVCHATD" --help 2>&1 | grep -q -- --redis; then
		echo "cluster.sh: $EVCHATD has no cluster mode (--redis):" \
		    "configure it with hiredis, or set PROCS= to measure" \
		    "the single process alone" >&2
		exit 77
	fi
	if ! command -v "$REDIS_SERVER" > /dev/null 2>&1; then
		echo "cluster.sh: $REDIS_SERVER not found" >&2
		exit 77
	fi
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/evchat-cluster.XXXXXX") || exit 1
[ -n "$OUT" ] || OUT=$WORK/results
: > "$OUT"
RPID=
NODES=
bpid=
failed=0

# stop PID...: SIGTERM, then SIGKILL after START_TIMEOUT seconds; reap.
stop()
{
	for p in "$@"; do
		kill "$p" 2> /dev/null
	done
	for p in "$@"; do
		t=0
		while kill -0 "$p" 2> /dev/null &&
		    [ "$t" -lt $((START_TIMEOUT * 20)) ]; do
			sleep 0.05
			t=$((t + 1))
		done
		kill -9 "$p" 2> /dev/null
		wait "$p" 2> /dev/null
	done
}

# cleanup: the EXIT trap.
# shellcheck disable=SC2317
cleanup()
{
	[ -z "$bpid" ] || stop "$bpid"
	# shellcheck disable=SC2086
	[ -z "$NODES" ] || stop $NODES
	[ -z "$RPID" ] || stop "$RPID"
	NODES=
	RPID=
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# free_port: a loopback TCP port nobody listens on, below the ephemeral
# range (10000-29999), so that no client's source port can take it.
free_port()
{
	while :; do
		p=$(($(od -An -N2 -tu2 /dev/urandom) % 20000 + 10000))
		if ! command -v ss > /dev/null 2>&1 ||
		    [ -z "$(ss -Hltn "sport = :$p" 2> /dev/null)" ]; then
			echo "$p"
			return
		fi
	done
}

# ready LOG PID WORDS...: wait until LOG holds every one of WORDS (each a
# fixed string), while PID lives; 1 if it died or START_TIMEOUT passed.
ready()
{
	log=$1
	pid=$2
	shift 2
	t=0
	while [ "$t" -lt $((START_TIMEOUT * 20)) ]; do
		missing=0
		for w in "$@"; do
			grep -qF -- "$w" "$log" 2> /dev/null || missing=1
		done
		[ "$missing" -eq 0 ] && return 0
		kill -0 "$pid" 2> /dev/null || return 1
		sleep 0.05
		t=$((t + 1))
	done
	return 1
}

# redis_start: the private redis-server, on a free port (a few tries).
redis_start()
{
	for _ in 1 2 3 4 5; do
		RPORT=$(free_port)
		# shellcheck disable=SC2086
		"$REDIS_SERVER" --port "$RPORT" --bind 127.0.0.1 \
		    --save '' --appendonly no --dir "$WORK" $REDIS_ARGS \
		    > "$WORK/redis.log" 2>&1 &
		RPID=$!
		if ready "$WORK/redis.log" "$RPID" \
		    "Ready to accept connections"; then
			return 0
		fi
		stop "$RPID"
		RPID=
	done
	echo "cluster.sh: redis-server did not start:" >&2
	tail -n 20 "$WORK/redis.log" >&2
	exit 1
}

# nodes_start K: K evchatd processes on one free port, with Redis, or one
# without it if K is 0; sets PORT and NODES.
nodes_start()
{
	k=$1
	procs=$k
	[ "$k" -gt 0 ] || procs=1
	for _ in 1 2 3 4 5; do
		PORT=$(free_port)
		NODES=
		i=1
		ok=1
		while [ "$i" -le "$procs" ]; do
			set -- -l "127.0.0.1:$PORT" --rate 0 \
			    --max-clients 1000000
			words="listening on"
			if [ "$k" -gt 0 ]; then
				set -- "$@" --redis "127.0.0.1:$RPORT" \
				    --reuseport
				words="cluster link up"
			fi
			# shellcheck disable=SC2086
			"$EVCHATD" "$@" $EVCHATD_ARGS > "$WORK/node$i.log" \
			    2>&1 &
			NODES="$NODES $!"
			if ! ready "$WORK/node$i.log" "$!" "listening on" \
			    "$words"; then
				ok=0
				break
			fi
			i=$((i + 1))
		done
		[ "$ok" -eq 1 ] && return 0
		# shellcheck disable=SC2086
		stop $NODES
		NODES=
		# Another port only helps if this one was taken.
		grep -q 'in use' "$WORK/node$i.log" || break
	done
	echo "cluster.sh: evchatd did not start:" >&2
	tail -n 20 "$WORK/node$i.log" >&2
	exit 1
}

# sockets PID: how many sockets a process holds (the names are numbers).
# shellcheck disable=SC2010
sockets()
{
	ls -l "/proc/$1/fd" 2> /dev/null | grep -c 'socket:'
}

# bench TAG K N M: start the setup (K evchatd with Redis, 0: one without),
# run evchat-bench once, keep its result line with TAG, stop the setup.
bench()
{
	tag=$1
	k=$2
	nodes_start "$k"
	set -- fanout -n "$3" -s "$SENDERS" -m "$4" -p "$PORT"
	if [ -n "$RATE" ]; then
		set -- "$@" --rate "$RATE"
	else
		set -- "$@" -w "$WINDOW"
	fi
	base=
	for p in $NODES; do
		set -- "$@" --pid "$p"
		base="$base $(sockets "$p")"
	done
	[ "$k" -eq 0 ] || set -- "$@" --helper-pid "$RPID"
	args="$*"
	# Empty before the start, so the last run's 'seated' cannot be seen.
	: > "$WORK/bench.err"
	# shellcheck disable=SC2086
	"$BENCH" "$@" $BENCH_ARGS > "$WORK/bench.out" 2>> "$WORK/bench.err" &
	bpid=$!
	# Once every client is seated, count where the kernel put them.
	while kill -0 "$bpid" 2> /dev/null &&
	    ! grep -q 'seated' "$WORK/bench.err"; do
		sleep 0.05
	done
	split=
	# shellcheck disable=SC2086
	set -- $base
	for p in $NODES; do
		split="$split $(($(sockets "$p") - $1))"
		shift
	done
	# shellcheck disable=SC2086
	split=$(printf '%s\n' $split | sort -n | tr '\n' '/' | sed 's,/$,,')
	if ! wait "$bpid"; then
		failed=1
		echo "cluster.sh: FAILED: $tag: $BENCH $args" >&2
		tail -n 20 "$WORK/bench.err" "$WORK/bench.out" >&2
		for f in "$WORK"/node*.log; do
			echo "--- $f" >&2
			grep -v ' info client ' "$f" | tail -n 10 >&2
		done
	fi
	bpid=
	# shellcheck disable=SC2086
	stop $NODES
	NODES=
	tail -n 1 "$WORK/bench.out" | awk -v tag="$tag" -v sp="$split" '{
		for (i = 1; i <= NF; i++) {
			eq = index($i, "=")
			v[substr($i, 1, eq - 1)] = substr($i, eq + 1)
		}
		cpu = v["server_cpu_s"] + v["helper_cpu_s"]
		if (v["deliveries"] == "" || cpu <= 0) {
			print tag, $0
			next
		}
		printf "%s %s dpcs_all=%.0f split=%s\n", tag, $0,
		    v["deliveries"] / cpu, sp
	}' >> "$OUT"
}

# med TAG KEY: the median of KEY over the runs tagged TAG.
med()
{
	grep "^$1 " "$OUT" | tr ' ' '\n' | sed -n "s/^$2=//p" | sort -g |
	    awk '{ v[NR] = $1 } END { if (NR == 0) print "-";
		else if (NR % 2) print v[(NR + 1) / 2];
		else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# medsplit TAG: the median, per process, of the sorted client splits.
medsplit()
{
	grep "^$1 " "$OUT" | sed -n 's/.* split=\([0-9/]*\).*/\1/p' |
	    awk -F/ '{ for (i = 1; i <= NF; i++) v[i, NR] = $i; n = NF }
		END { for (i = 1; i <= n; i++) {
			m = 0
			for (r = 1; r <= NR; r++) a[++m] = v[i, r]
			for (x = 1; x <= m; x++)	# insertion sort
				for (y = x; y > 1 && a[y - 1] > a[y]; y--) {
					t = a[y]; a[y] = a[y - 1]; a[y - 1] = t
				}
			printf "%s%s", (i > 1 ? "/" : ""), a[int((m + 1) / 2)]
		} print "" }'
}

# M: millions to two decimals; ms: microseconds as milliseconds.
M()
{
	awk -v x="$1" 'BEGIN { if (x == "-") print "-";
		else printf "%.2f M", x / 1e6 }'
}
ms()
{
	awk -v x="$1" 'BEGIN { if (x == "-") print "-";
		else printf "%.2f", x / 1000 }'
}

msgs_for()
{
	eval "m=\${MSGS_$1:-}"
	[ -n "$m" ] || m=$((2000000 / (SENDERS * $1) + 1))
	echo "$m"
}

SETUPS=
[ "$SINGLE" = 0 ] || SETUPS=0
SETUPS="$SETUPS $PROCS"
[ -z "$PROCS" ] || redis_start

echo "evchat cluster benchmark: $RUNS runs each, medians;" \
    "$(nproc 2> /dev/null || echo ?) CPUs, $(uname -sr)"
[ -z "$PROCS" ] || echo "$("$REDIS_SERVER" --version | cut -d' ' -f1-3)" \
    "on 127.0.0.1:$RPORT"

for n in $CLIENTS; do
	m=$(msgs_for "$n")
	r=1
	while [ "$r" -le "$RUNS" ]; do
		for k in $SETUPS; do
			echo "cluster.sh: $n clients, setup $k, run $r" >&2
			bench "k$k-$n" "$k" "$n" "$m"
		done
		r=$((r + 1))
	done
	echo
	load="window $WINDOW"
	[ -z "$RATE" ] || load="open loop, $RATE messages/s"
	echo "fan-out, $n clients in one room, $SENDERS senders x $m, $load:"
	echo
	echo "| setup | deliveries/s | per evchatd CPU-s |" \
	    "per CPU-s with Redis | evchatd / redis / bench CPU-s |" \
	    "p50 / p99 ms | lost / dup | clients per process |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
	for k in $SETUPS; do
		t=k$k-$n
		case $k in
		0)	name="1 process, no Redis"
			all=-
			redis=- ;;
		1)	name="1 node + Redis"
			all=$(M "$(med "$t" dpcs_all)")
			redis=$(med "$t" helper_cpu_s) ;;
		*)	name="$k nodes + Redis"
			all=$(M "$(med "$t" dpcs_all)")
			redis=$(med "$t" helper_cpu_s) ;;
		esac
		echo "| $name | $(M "$(med "$t" dps)") |" \
		    "$(M "$(med "$t" dpcs)") | $all |" \
		    "$(med "$t" server_cpu_s) / $redis /" \
		    "$(med "$t" bench_cpu_s) |" \
		    "$(ms "$(med "$t" p50_us)") / $(ms "$(med "$t" p99_us)") |" \
		    "$(med "$t" lost) / $(med "$t" dup) | $(medsplit "$t") |"
	done
done
[ "$failed" -eq 0 ] || echo "cluster.sh: some runs failed; see above" >&2
exit "$failed"
