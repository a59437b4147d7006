/*
 * evchat-bench: a load generator for evchatd, and for the bare line relay
 * in contrib/bench/relay-ceiling.c that serves as its ceiling.
 *
 *	evchat-bench MODE [options] -- SERVER-COMMAND...
 *	evchat-bench MODE [options] -p PORT --pid PID [--pid PID]...
 *
 * With a server command the bench starts the server itself (stdout and
 * stderr into a temporary file), reads "listening on ADDR:PORT" from it,
 * and stops it at the end: SIGTERM, then SIGKILL if it has not exited
 * after --grace seconds.  Otherwise it attaches to a running server on
 * -a ADDR (127.0.0.1) -p PORT and reads its CPU time and memory from
 * /proc/PID.  Loopback and IPv4 only.
 *
 * One port may be served by several processes (evchatd --reuseport, the
 * kernel spreading the connections over them): give --pid once for each,
 * up to 8.  The server's CPU time and its RSS are then the sums over all
 * of them, the drain mode signals them all and waits for them all, and
 * the result line says how many with servers=N.  The bench cannot tell
 * which process a client landed on, and does not need to: it measures
 * the processes together, as one server.  A process the server relies on
 * but that is not the server (redis-server behind evchatd --redis) is
 * named with --helper-pid: its CPU time over the same phase is reported
 * apart, as helper_cpu_s, and counts in no per-CPU-second figure.
 *
 * The bench must cost much less per message than the server, or it
 * would measure itself: one thread, one epoll set, level-triggered
 * non-blocking sockets, one 256 KiB read buffer shared by every
 * connection, a small fixed carry-over per connection for a line split
 * across reads, and no allocation per message.  Lines are recognised by
 * their first bytes and numbers parsed by hand.
 *
 * Seating: clients connect in a pipeline of at most -c at a time (so the
 * server's listen queue never overflows), each sends "/join #ROOM" as
 * soon as it is connected, and is seated when it reads "-!- you joined
 * #ROOM ".  The room is fresh ("bench<pid>" unless --room says otherwise;
 * "lobby" skips the /join), so it has no history.  Then a barrier: the
 * first member of each room says "S" and every other member waits for
 * it; since the server delivers in order, every join notice sent before
 * has then been read, and the server's queues are empty when a measured
 * phase starts.
 *
 * --raw talks to a relay with no protocol: messages are bare lines, a
 * client is seated once connected, and the handshake is: client 0
 * connects alone first (so the relay registers it before anyone else),
 * every client then says "H", and client 0 waits for N-1 of them, which
 * proves all N are registered with the relay; then the same barrier.
 *
 * Messages are 64 bytes before the LF (--size B: 48 to 1000): "B <sender>
 * <seq> <ns> xxx...", with ns the CLOCK_MONOTONIC send time.  Receivers
 * parse "<nick> B ..." (or bare "B ..." with --raw), and keep, per
 * receiver and sender, the next sequence number expected: the server
 * delivers each sender's messages in order, so a lower number is a
 * duplicate and a higher one means the numbers skipped were lost.
 * Latency (receive time, taken once per read(2), minus the stamp) goes
 * into a log-linear histogram: 32 buckets per power of two, so
 * percentiles are within 3%.
 *
 * Acknowledgement (fanout, closed loop): a message is in flight until
 * every other member of the room has received it (or shown it lost by a
 * gap).  Each sender keeps at most -w messages in flight and sends the
 * next one when its oldest is complete.  Counting "delivered to all"
 * rather than "delivered to one receiver" bounds the whole server's
 * backlog at S*W broadcasts, so no server can look fast by letting its
 * queues grow; since each receiver gets a sender's messages in order,
 * a sender's messages complete in order too, and a ring of -w counters
 * per sender is all the state.  Open loop (--rate R): the senders
 * together send R messages per second on a fixed schedule whatever
 * happens, and each message is stamped with the time it was due, not the
 * time it left, so a server that stalls the sender is charged for it.
 *
 * Wake-ups: on loopback the server's send(2) runs the receiving side's
 * TCP input too, and when the bench sleeps in epoll_wait the sender also
 * pays to wake it; on a virtual machine whose idle CPU halts that is an
 * inter-processor interrupt, several microseconds of the server's time.
 * The bench's idle time decides how often that happens, not the server's
 * work: a server that batches better leaves the bench idle more often
 * and pays more wake-ups.  --spin polls epoll_wait with a zero timeout
 * and so never sleeps; the server then pays no wake-ups, on a real
 * network it would not either (its send ends at the NIC).  --spin takes
 * a whole CPU, so give the bench one of its own (taskset).
 *
 * Modes:
 *   fanout  -n N -s S -m M -w W [--rate R]: deliveries per second and per
 *           server CPU-second (utime+stime from /proc/PID/stat around the
 *           measured phase), latency p50/p90/p99/max, lost, duplicated.
 *   idle    -n N [-k K]: server VmRSS before and after seating N clients
 *           (in rooms of K, default all in one), growth per client; then
 *           the first member of each room sends one message and every
 *           other member must receive it.
 *   connect -n N [-c C]: connections per second and per server
 *           CPU-second, each one counted once it has read "-!- you joined"
 *           (with --raw: once connected); the bench then closes it.  New
 *           clients land in #lobby and hear each other arrive, so only 16
 *           are set up at once unless -c says otherwise.
 *   drain   -n N [-m M]: N clients in one room; client 0 sends M messages
 *           while clients 2.. do not read (so the messages wait in the
 *           server's queues and socket buffers) until client 1 has all of
 *           them; then SIGTERM.  Every client must read every message,
 *           then "-!- server shutting down", then EOF, on which it closes.
 *           Reports the time from the signal to the last EOF.
 *
 * Output: progress on stderr; results on stdout, ending in one line of
 * space-separated key=value pairs, always starting "mode=M clients=N"
 * and ending "servers=P ok=1" (P server processes measured: 1 unless
 * --pid was given several times), or "ok=0 error=WORD" if the run
 * failed.  The keys:
 *   fanout: senders msgs window size rate deliveries elapsed_s dps (deliveries
 *	per second) dpcs (per server CPU-second, summed over the server's
 *	processes) server_cpu_s bench_cpu_s [helper_cpu_s]
 *	p50_us p90_us p99_us max_us lost dup stray spin (1: --spin)
 *   idle: rooms rss_before_kb rss_after_kb bytes_per_client seat_s
 *	seat_cpu_s [helper_cpu_s] received expected p50_us p90_us p99_us
 *	max_us lost dup stray spin
 *   connect: concurrency elapsed_s cps cpcs server_cpu_s [helper_cpu_s]
 *	spin
 *   drain: msgs drain_ms (SIGTERM to the last EOF) exit_ms server_status
 *	delivered lost dup late (messages after the notice) notices eofs
 *	spin
 * Percentiles are the top of their histogram bucket; CPU times have the
 * resolution of the clock tick (10 ms), so short runs give dpcs=0.  Exit
 * 0 on success, 1 if anything was lost or duplicated or the run failed
 * (timeout, refused, disconnected), 2 on a usage error.  Every wait is
 * bounded by --timeout (120 s).
 *
 * Above the size of the ephemeral port range (about 28000 clients), the
 * clients bind to 127.0.0.2, 127.0.0.3, ... before connecting
 * (IP_BIND_ADDRESS_NO_PORT, so the port is still chosen at connect);
 * --spread N forces it with N clients per address.
 */
/* Linux-only on purpose: epoll, timerfd, /proc; stands alone from config.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BENCH_RBUF	(256 * 1024)	/* one read(2) per wake-up per socket */
#define BENCH_CARRY	192		/* longest line prefix we need to see */
#define BENCH_PAYLOAD	64		/* message bytes before the LF (--size) */
#define BENCH_PAYLOAD_MIN 48		/* room for "B sender seq ns " */
#define BENCH_PAYLOAD_MAX 1000		/* under evchatd's --max-line 1024 */
#define BENCH_SENDBUF	(64 * 1024)	/* messages sent in one write */
#define BENCH_EVENTS	4096
#define BENCH_TIMER	UINT64_MAX	/* epoll tag of the open-loop timer */
#define BENCH_PORTS	28000		/* if ip_local_port_range is unknown */
#define BENCH_PIDS	8		/* server processes measured at most */
#define BENCH_EXIT_FAIL	1
#define BENCH_EXIT_USAGE 2

#define HIST_SUB_BITS	5
#define HIST_SUB	(1 << HIST_SUB_BITS)
#define HIST_BUCKETS	((64 - HIST_SUB_BITS + 1) * HIST_SUB)

enum bench_mode {
	MODE_FANOUT,
	MODE_IDLE,
	MODE_CONNECT,
	MODE_DRAIN
};

enum conn_state {
	CONN_FREE,		/* never opened, or closed */
	CONN_CONNECTING,	/* non-blocking connect(2) under way */
	CONN_JOINING,		/* connected, waiting for "you joined" */
	CONN_SEATED		/* in its room (or, raw, connected) */
};

/*
 * One client connection.  Kept small: at 100,000 clients the array of
 * these is most of the bench's memory.
 */
struct conn {
	int		 fd;		/* -1 when closed */
	uint32_t	 id;		/* number: room, sender, source */
	uint32_t	 got;		/* hellos (raw client 0), or messages
					   (drain, idle) */
	uint8_t		 state;		/* enum conn_state */
	uint8_t		 flags;
#define CONN_DISCARD	0x01	/* carry is a truncated line; skip to LF */
#define CONN_SYNCED	0x02	/* saw its room's barrier line */
#define CONN_NOTICE	0x04	/* saw "-!- server shutting down" */
#define CONN_PAUSED	0x08	/* input not polled (drain backlog) */
#define CONN_WANTOUT	0x10	/* EPOLLOUT registered for queued output */
	uint16_t	 carry_len;
	char		*out;		/* output a write left behind; owned */
	uint32_t	 out_off;	/* first byte of out not yet written */
	uint32_t	 out_len;
	uint32_t	 out_cap;
	char		 carry[BENCH_CARRY]; /* start of an unfinished line */
};

/* Log-linear latency histogram in nanoseconds; no allocation. */
struct hist {
	uint64_t	 count[HIST_BUCKETS];
	uint64_t	 n;
	uint64_t	 max;
};

/* Everything about one run: options, then state. */
struct bench {
	enum bench_mode	 mode;
	const char	*mode_name;
	unsigned	 nclients;	/* -n */
	unsigned	 nsenders;	/* -s */
	unsigned	 nmsgs;		/* -m, per sender */
	unsigned	 window;	/* -w */
	unsigned	 conc;		/* -c: connections set up at once */
	unsigned	 room_size;	/* -k */
	double		 rate;		/* --rate: messages/s, all senders */
	int		 raw;		/* --raw */
	int		 spin;		/* --spin */
	size_t		 size;		/* --size: message bytes before LF */
	const char	*room;		/* --room */
	char		 room_buf[40];
	const char	*addr;		/* -a */
	int		 port;		/* -p, or read from the server */
	pid_t		 pid;		/* the server we started, or pids[0] */
	pid_t		 pids[BENCH_PIDS]; /* every process measured: --pid
					   each time, or the one we started */
	unsigned	 npids;		/* in pids: 1 to BENCH_PIDS */
	pid_t		 helper;	/* --helper-pid, measured apart; or 0 */
	int		 own_server;	/* we started it, so we stop it */
	int		 server_exited;	/* and have already reaped it */
	int		 server_status;
	char		**server_argv;
	unsigned	 timeout_s;	/* --timeout */
	unsigned	 grace_s;	/* --grace */
	unsigned	 settle_ms;	/* --settle */

	int		 ep;
	int		 timer;		/* open-loop pacing; -1: closed loop */
	struct in_addr	 dst;
	uint64_t	 deadline;	/* CLOCK_MONOTONIC ns; --timeout */
	char		 logpath[PATH_MAX]; /* the server's stderr */
	unsigned	 per_addr;	/* --spread: clients per source address,
					   0: no bind */
	const char	*phase;		/* for timeout messages */
	int		 draining;	/* SIGTERM sent: EOFs are expected */

	struct conn	*conns;
	unsigned	 nconns;
	unsigned	 nrooms;
	unsigned	 started, inflight, seated, synced, eofs, completed;
	uint32_t	*next;		/* [receiver * S + sender]: next seq */
	uint32_t	*sent;		/* [sender]: messages sent */
	uint32_t	*acked;		/* [sender]: messages complete */
	uint32_t	*receipts;	/* [sender * W + seq % W]: deliveries */
	uint64_t	 deliveries, lost, dup, stray, late;
	uint64_t	 progress;	/* time of the last delivery */
	uint64_t	 t_open;	/* open loop: when message 0 was due */
	unsigned	 errors_shown;
	struct hist	 hist;
};

static struct bench	 run;
static char		 result[1024];	/* the key=value line, printed last */
static size_t		 result_len;
static char		 rbuf[BENCH_RBUF + BENCH_CARRY];

static void	 conn_close(struct conn *);
static void	 fanout_fill(unsigned);

/* The monotonic clock in nanoseconds: the one the messages carry. */
static uint64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Stop the server we started: SIGTERM, wait, SIGKILL after the grace. */
static void
server_stop(void)
{
	uint64_t	end;
	int		status;
	pid_t		r;

	if (!run.own_server || run.server_exited || run.pid <= 0)
		return;
	kill(run.pid, SIGTERM);
	end = now_ns() + (uint64_t)run.grace_s * 1000000000u;
	for (;;) {
		r = waitpid(run.pid, &status, WNOHANG);
		if (r == run.pid || (r == -1 && errno != EINTR))
			break;
		if (now_ns() > end) {
			fprintf(stderr, "evchat-bench: server did not exit "
			    "within %u s of SIGTERM; killing it\n",
			    run.grace_s);
			kill(run.pid, SIGKILL);
			waitpid(run.pid, &status, 0);
			break;
		}
		usleep(5000);
	}
	run.server_exited = 1;
	run.server_status = status;
}

/* Show the end of the server's log: the reason it failed is there. */
static void
server_log_tail(void)
{
	char	 buf[2048];
	ssize_t	 n;
	off_t	 size;
	int	 fd;

	if (!run.own_server || run.logpath[0] == '\0' ||
	    (fd = open(run.logpath, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size > (off_t)sizeof buf - 1)
		lseek(fd, size - (off_t)sizeof buf + 1, SEEK_SET);
	else
		lseek(fd, 0, SEEK_SET);
	if ((n = read(fd, buf, sizeof buf - 1)) > 0) {
		buf[n] = '\0';
		fprintf(stderr, "evchat-bench: end of the server's log:\n%s%s",
		    buf, buf[n - 1] == '\n' ? "" : "\n");
	}
	close(fd);
}

/* Close every client, stop the server, remove its log. */
static void
bench_cleanup(void)
{
	unsigned	i;

	for (i = 0; i < run.nconns; i++)
		if (run.conns[i].fd != -1)
			conn_close(&run.conns[i]);
	server_stop();
	if (run.logpath[0] != '\0')
		unlink(run.logpath);
	run.logpath[0] = '\0';
}

/*
 * The run failed: say why on stderr, clean up, print the result line with
 * ok=0 and the short reason word, and exit 1.
 */
static void __attribute__((__format__(__printf__, 2, 3), __noreturn__))
bench_fail(const char *word, const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "evchat-bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	server_log_tail();
	bench_cleanup();
	printf("mode=%s clients=%u ok=0 error=%s\n", run.mode_name,
	    run.nclients, word);
	exit(BENCH_EXIT_FAIL);
}

/* Exit 2 with a usage message. */
static void __attribute__((__noreturn__))
bench_usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "evchat-bench: %s\n", why);
	fprintf(stderr,
"usage: evchat-bench MODE [options] -- SERVER-COMMAND...\n"
"       evchat-bench MODE [options] -p PORT --pid PID [--pid PID]...\n"
"modes:\n"
"  fanout  -n N -s S -m M [-w W | --rate R]  S of N clients in one room\n"
"          send M messages each, W in flight or R/s in all\n"
"  idle    -n N [-k K]   memory per seated client (rooms of K)\n"
"  connect -n N [-c C]   connections per second, C set up at once\n"
"  drain   -n N [-m M]   graceful shutdown with M messages queued\n"
"options:\n"
"  -n N          clients (default 100)\n"
"  -s S          senders (fanout, default 4)\n"
"  -m M          messages per sender (default 1000; drain: 0)\n"
"  -w W          messages in flight per sender (default 3)\n"
"  --rate R      open loop: R messages/s over all senders\n"
"  -c C          connections set up at once (default 128; connect: 16)\n"
"  -k K          clients per room (idle; default all in one)\n"
"  --room NAME   room to join (default bench<pid>; lobby: no /join)\n"
"  --raw         no protocol: the server just relays lines\n"
"  --size B      message bytes before the LF (default 64, 48 to 1000)\n"
"  --spin        never sleep in epoll_wait (keeps the bench's CPU awake,\n"
"                so the server pays no wake-ups of it; use with a CPU\n"
"                of its own: taskset)\n"
"  -a ADDR       server address when attaching (default 127.0.0.1)\n"
"  -p PORT       attach to a running server on PORT...\n"
"  --pid PID     ...whose CPU time and memory are read from /proc/PID;\n"
"                repeat it (up to 8) for processes sharing the port\n"
"                (--reuseport): their CPU times and memory are summed\n"
"  --helper-pid PID  a process the server uses (redis-server): its CPU\n"
"                time is reported apart, as helper_cpu_s\n"
"  --timeout S   give up after S seconds (default 120)\n"
"  --settle MS   end a phase after MS ms without progress (default 3000)\n"
"  --grace S     wait S seconds for a server to exit (default 15)\n"
"  --spread N    bind N clients to each of 127.0.0.2, .3, ... (default:\n"
"                only above the ephemeral port range, ~28000 clients)\n"
"The last line of output is key=value pairs; exit 1 if anything was\n"
"lost or duplicated or the run failed.\n");
	exit(BENCH_EXIT_USAGE);
}

/* Append to the key=value result line. */
static void __attribute__((__format__(__printf__, 1, 2)))
result_add(const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(result + result_len, sizeof result - result_len, fmt,
	    ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof result - result_len)
		result_len += (size_t)n;
}

/* Fail the run if --timeout has passed, naming what we were waiting for. */
static void
bench_check_deadline(uint64_t now)
{
	if (now <= run.deadline)
		return;
	bench_fail("timeout", "timed out after %u s while %s (started %u, "
	    "seated %u, synced %u, completed %u, deliveries %" PRIu64
	    ", eofs %u)%s", run.timeout_s, run.phase, run.started, run.seated,
	    run.synced, run.completed, run.deliveries, run.eofs, run.raw ? "" :
	    "; evchatd reads 10 lines/s per client unless started with "
	    "--rate 0");
}

/* Bucket of a value: exact below 32, then 32 per power of two. */
static unsigned
hist_index(uint64_t v)
{
	unsigned	e;

	if (v < HIST_SUB)
		return (unsigned)v;
	e = 63u - (unsigned)__builtin_clzll(v);
	return (e - HIST_SUB_BITS + 1) * HIST_SUB +
	    (unsigned)((v >> (e - HIST_SUB_BITS)) & (HIST_SUB - 1));
}

/* The largest value that falls in bucket i. */
static uint64_t
hist_upper(unsigned i)
{
	unsigned	e, sub;

	if (i < HIST_SUB)
		return i;
	e = i / HIST_SUB + HIST_SUB_BITS - 1;
	sub = i % HIST_SUB;
	return (((uint64_t)HIST_SUB + sub + 1) << (e - HIST_SUB_BITS)) - 1;
}

/* Count one latency. */
static void
hist_add(struct hist *h, uint64_t v)
{
	h->count[hist_index(v)]++;
	h->n++;
	if (v > h->max)
		h->max = v;
}

/* The p-th percentile in microseconds (a bucket's top, at most the max). */
static double
hist_pct_us(const struct hist *h, double p)
{
	uint64_t	want, seen = 0, v;
	unsigned	i;

	if (h->n == 0)
		return 0;
	want = (uint64_t)(p / 100.0 * (double)h->n + 0.5);
	if (want == 0)
		want = 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->count[i];
		if (seen >= want)
			break;
	}
	v = hist_upper(i);
	if (v > h->max)
		v = h->max;
	return (double)v / 1000.0;
}

/* utime+stime of a process in clock ticks, from /proc/PID/stat. */
static unsigned long long
proc_cpu_ticks(pid_t pid)
{
	char			 path[64], buf[1024], *p;
	unsigned long long	 ut = 0, st = 0;
	ssize_t			 n;
	int			 fd;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		bench_fail("proc", "%s: %s", path, strerror(errno));
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		bench_fail("proc", "%s: cannot read", path);
	buf[n] = '\0';
	/* The command name may hold spaces and ')': skip past the last. */
	if ((p = strrchr(buf, ')')) == NULL || sscanf(p + 1,
	    " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
	    &ut, &st) != 2)
		bench_fail("proc", "%s: unexpected format", path);
	return ut + st;
}

/* Server CPU seconds between two readings of proc_cpu_ticks. */
static double
ticks_s(unsigned long long t0, unsigned long long t1)
{
	return (double)(t1 - t0) / (double)sysconf(_SC_CLK_TCK);
}

/* Our own CPU time in seconds, to show the bench is the cheaper side. */
static double
self_cpu_s(void)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* VmRSS of a process in KiB, from /proc/PID/status. */
static unsigned long
proc_rss_kb(pid_t pid)
{
	char		 path[64], line[256];
	unsigned long	 kb = 0;
	FILE		*f;

	snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		bench_fail("proc", "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "VmRSS: %lu", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* CPU ticks of the whole server: the sum over all of its processes. */
static unsigned long long
server_cpu_ticks(void)
{
	unsigned long long	ticks = 0;
	unsigned		i;

	for (i = 0; i < run.npids; i++)
		ticks += proc_cpu_ticks(run.pids[i]);
	return ticks;
}

/* CPU ticks of the --helper-pid process, or 0 without one. */
static unsigned long long
helper_cpu_ticks(void)
{
	return run.helper > 0 ? proc_cpu_ticks(run.helper) : 0;
}

/* Add helper_cpu_s to the result line, if there is a helper. */
static void
helper_result(unsigned long long t0, unsigned long long t1)
{
	if (run.helper > 0)
		result_add(" helper_cpu_s=%.2f", ticks_s(t0, t1));
}

/* VmRSS of the whole server in KiB: the sum over all of its processes. */
static unsigned long
server_rss_kb(void)
{
	unsigned long	kb = 0;
	unsigned	i;

	for (i = 0; i < run.npids; i++)
		kb += proc_rss_kb(run.pids[i]);
	return kb;
}

/*
 * Find "listening on A.B.C.D:PORT" in the server's log; the first IPv4
 * listener wins.  Returns the port, or 0 if there is none yet.
 */
static int
server_find_port(const char *log, struct in_addr *a)
{
	const char	*p = log, *colon, *eol;
	char		 host[64];
	long		 port;

	while ((p = strstr(p, "listening on ")) != NULL) {
		p += strlen("listening on ");
		eol = p + strcspn(p, "\r\n");
		if (*eol == '\0')
			break;		/* not the whole line yet */
		colon = memchr(p, ':', (size_t)(eol - p));
		if (colon == NULL || *p == '[' || (size_t)(colon - p) >=
		    sizeof host)
			continue;
		memcpy(host, p, (size_t)(colon - p));
		host[colon - p] = '\0';
		port = strtol(colon + 1, NULL, 10);
		if (port <= 0 || port > 65535 || inet_pton(AF_INET, host,
		    a) != 1)
			continue;
		/* A wildcard listener is reached on loopback. */
		if (a->s_addr == htonl(INADDR_ANY))
			a->s_addr = htonl(INADDR_LOOPBACK);
		return (int)port;
	}
	return 0;
}

/* Start the server command with its output in a temporary file. */
static void
server_start(void)
{
	const char	*tmp = getenv("TMPDIR");
	int		 fd, devnull;

	snprintf(run.logpath, sizeof run.logpath, "%s/evchat-bench.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if ((fd = mkstemp(run.logpath)) == -1) {
		run.logpath[0] = '\0';
		bench_fail("start", "mkstemp: %s", strerror(errno));
	}
	fflush(NULL);
	if ((run.pid = fork()) == -1)
		bench_fail("start", "fork: %s", strerror(errno));
	if (run.pid == 0) {
		if ((devnull = open("/dev/null", O_RDONLY)) != -1)
			dup2(devnull, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		execvp(run.server_argv[0], run.server_argv);
		fprintf(stderr, "evchat-bench: cannot run %s: %s\n",
		    run.server_argv[0], strerror(errno));
		_exit(127);
	}
	close(fd);
	run.own_server = 1;
	run.pids[0] = run.pid;
	run.npids = 1;
}

/* Wait, bounded, until the server we started says where it listens. */
static void
server_wait_port(void)
{
	char		 buf[65536];
	uint64_t	 end = now_ns() + 10 * 1000000000ull;
	ssize_t		 n;
	int		 fd, status;
	struct in_addr	 a;

	run.phase = "waiting for the server's 'listening on' line";
	for (;;) {
		if ((fd = open(run.logpath, O_RDONLY | O_CLOEXEC)) != -1) {
			n = read(fd, buf, sizeof buf - 1);
			close(fd);
			buf[n > 0 ? n : 0] = '\0';
			if ((run.port = server_find_port(buf, &a)) != 0) {
				if (run.addr == NULL)
					run.dst = a;
				return;
			}
		}
		if (waitpid(run.pid, &status, WNOHANG) == run.pid) {
			run.server_exited = 1;
			bench_fail("start", "the server exited (status %d) "
			    "before listening", WIFEXITED(status) ?
			    WEXITSTATUS(status) : 128 + WTERMSIG(status));
		}
		if (now_ns() > end)
			bench_fail("start", "the server printed no "
			    "'listening on 127.0.0.1:PORT' line in 10 s");
		usleep(2000);
	}
}

/* Raise our descriptor limit as far as allowed; fail early if too low. */
static void
bench_raise_nofile(unsigned need)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	/* Root with CAP_SYS_RESOURCE may raise the hard limit too. */
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < (rlim_t)need + 32) {
		struct rlimit	all = { (rlim_t)need + 32, (rlim_t)need + 32 };

		if (setrlimit(RLIMIT_NOFILE, &all) == 0)
			rl = all;
	}
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)need + 32) {
		fprintf(stderr, "evchat-bench: %u clients need %u descriptors "
		    "but the hard limit is %llu (raise it as root: ulimit "
		    "-Hn)\n", need, need + 32, (unsigned long long)rl.rlim_cur);
		exit(BENCH_EXIT_USAGE);
	}
}

/*
 * How many clients share one source address: the size of the ephemeral
 * port range, less a margin for other users of loopback.  0 when all
 * clients fit on 127.0.0.1 and need no bind.
 */
static unsigned
bench_per_addr(unsigned n)
{
	unsigned	lo, hi, size = BENCH_PORTS;
	FILE		*f;

	if ((f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re")) !=
	    NULL) {
		if (fscanf(f, "%u %u", &lo, &hi) == 2 && hi > lo + 2000)
			size = hi - lo + 1 - 1000;
		fclose(f);
	}
	/* All of 127.0.0.0/8 is loopback: there are addresses enough. */
	return n <= size ? 0 : size;
}

/* Set the epoll interest of a connection from its flags. */
static void
conn_poll(struct conn *c)
{
	struct epoll_event	ev;

	ev.events = (c->flags & CONN_PAUSED ? 0 : EPOLLIN) |
	    (c->flags & CONN_WANTOUT ? EPOLLOUT : 0);
	ev.data.u64 = (uint64_t)(c - run.conns);
	if (epoll_ctl(run.ep, EPOLL_CTL_MOD, c->fd, &ev) == -1)
		bench_fail("epoll", "epoll_ctl: %s", strerror(errno));
}

/* Close a connection; the slot may be opened again (connect mode). */
static void
conn_close(struct conn *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->state = CONN_FREE;
	c->out_off = c->out_len = 0;
	c->carry_len = 0;
	/* flags and got stay: drain counts notices and messages after EOF. */
}

/* Start connecting client number id in slot c. */
static void
conn_open(struct conn *c, uint32_t id)
{
	struct sockaddr_in	 sin;
	struct epoll_event	 ev;
	int			 fd, on = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		bench_fail("socket", "socket: %s", strerror(errno));
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	if (run.per_addr != 0) {
		/* Pick the address now, the port at connect(2). */
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on,
		    sizeof on);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1 +
		    id / run.per_addr);
		if (bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1)
			bench_fail("bind", "bind to %s: %s",
			    inet_ntoa(sin.sin_addr), strerror(errno));
	}
	/* Our messages are small and each must leave at once. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
	sin.sin_addr = run.dst;
	sin.sin_port = htons((uint16_t)run.port);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) == -1 &&
	    errno != EINPROGRESS)
		bench_fail("connect", "connect (client %u): %s%s", id,
		    strerror(errno), errno == EADDRNOTAVAIL ? " (out of "
		    "local ports)" : "");
	c->fd = fd;
	c->id = id;
	c->got = 0;
	c->flags = 0;
	c->carry_len = 0;
	c->out_off = c->out_len = 0;
	c->state = CONN_CONNECTING;
	ev.events = EPOLLOUT;
	ev.data.u64 = (uint64_t)(c - run.conns);
	if (epoll_ctl(run.ep, EPOLL_CTL_ADD, fd, &ev) == -1)
		bench_fail("epoll", "epoll_ctl: %s", strerror(errno));
	run.inflight++;
}

/* Queue bytes for a connection: write now, keep what did not fit. */
static void
conn_send(struct conn *c, const char *buf, size_t len)
{
	ssize_t	n = 0;
	size_t	need;

	if (c->out_len == c->out_off) {
		n = send(c->fd, buf, len, MSG_NOSIGNAL);
		if (n == (ssize_t)len)
			return;
		if (n == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				bench_fail("send", "client %u: send: %s",
				    c->id, strerror(errno));
			n = 0;
		}
		c->out_off = c->out_len = 0;
	}
	need = c->out_len + len - (size_t)n;
	if (need > UINT32_MAX)
		bench_fail("send", "client %u: output backlog too large",
		    c->id);
	if (need > c->out_cap) {
		c->out_cap = (uint32_t)(need < 4096 ? 4096 : need * 2 >
		    UINT32_MAX ? UINT32_MAX : need * 2);
		if ((c->out = realloc(c->out, c->out_cap)) == NULL)
			bench_fail("memory", "out of memory");
	}
	memcpy(c->out + c->out_len, buf + n, len - (size_t)n);
	c->out_len = (uint32_t)need;
	if (!(c->flags & CONN_WANTOUT)) {
		c->flags |= CONN_WANTOUT;
		conn_poll(c);
	}
}

/* The socket is writable again: write what was left behind. */
static void
conn_flush(struct conn *c)
{
	ssize_t	n;

	n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
	    MSG_NOSIGNAL);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		bench_fail("send", "client %u: send: %s", c->id,
		    strerror(errno));
	}
	c->out_off += (uint32_t)n;
	if (c->out_off == c->out_len) {
		c->out_off = c->out_len = 0;
		c->flags &= ~CONN_WANTOUT;
		conn_poll(c);
	}
}

/* Write one message line into buf; returns its length. */
static size_t
msg_format(char *buf, unsigned sender, uint32_t seq, uint64_t ts)
{
	int	n;

	n = snprintf(buf, run.size + 1, "B %u %" PRIu32 " %" PRIu64 " ",
	    sender, seq, ts);
	memset(buf + n, 'x', run.size - (size_t)n);
	buf[run.size] = '\n';
	return run.size + 1;
}

/* Parse a decimal number followed by a space or the end; 0 on success. */
static int
parse_num(const char **pp, const char *end, uint64_t *v)
{
	const char	*p = *pp;
	uint64_t	 x = 0;

	if (p >= end || *p < '0' || *p > '9')
		return -1;
	while (p < end && *p >= '0' && *p <= '9')
		x = x * 10 + (uint64_t)(*p++ - '0');
	if (p < end && *p++ != ' ')
		return -1;
	*pp = p;
	*v = x;
	return 0;
}

/* Fanout: tell the sender's window that one receiver is done with seq. */
static void
fanout_resolve(unsigned s, uint32_t seq)
{
	uint32_t	*r;

	if (run.timer != -1 || seq < run.acked[s])
		return;
	r = &run.receipts[s * run.window + seq % run.window];
	if (++*r < run.nclients - 1)
		return;
	/* Complete at every receiver; completions come in order. */
	*r = 0;
	run.acked[s]++;
	fanout_fill(s);
}

/* Fanout: one message from sender s with number seq reached client c. */
static void
fanout_deliver(struct conn *c, unsigned s, uint32_t seq, uint64_t lat)
{
	uint32_t	*next, e;

	if (s >= run.nsenders || c->id == s) {
		run.stray++;
		return;
	}
	next = &run.next[(size_t)c->id * run.nsenders + s];
	if (seq < *next) {
		run.dup++;
		return;
	}
	for (e = *next; e < seq; e++) {
		run.lost++;
		fanout_resolve(s, e);
	}
	*next = seq + 1;
	run.deliveries++;
	hist_add(&run.hist, lat);
	fanout_resolve(s, seq);
}

/*
 * Drain and idle: one message counted against what this receiver expects:
 * from client 0, numbers 0 to M-1 (drain), or message 0 from the first
 * member of its room, whose sender number is the room's (idle).
 */
static void
single_deliver(struct conn *c, unsigned s, uint32_t seq, uint64_t lat)
{
	unsigned	room = 0, first = 0, limit = run.nmsgs;

	if (run.mode == MODE_IDLE) {
		room = c->id / run.room_size;
		first = room * run.room_size;
		limit = 1;
	}
	if (s != room || c->id == first || seq >= limit) {
		run.stray++;
		return;
	}
	if (c->flags & CONN_NOTICE)
		run.late++;	/* after the shutdown notice: out of order */
	if (seq < c->got) {
		run.dup++;
		return;
	}
	run.lost += seq - c->got;
	c->got = seq + 1;
	run.deliveries++;
	hist_add(&run.hist, lat);
}

/* A "B sender seq ns ..." payload arrived at c at time now. */
static void
conn_message(struct conn *c, const char *p, const char *end, uint64_t now)
{
	uint64_t	s, seq, ts;

	if (parse_num(&p, end, &s) == -1 || parse_num(&p, end, &seq) == -1 ||
	    parse_num(&p, end, &ts) == -1 || s > UINT32_MAX ||
	    seq > UINT32_MAX) {
		run.stray++;
		return;
	}
	run.progress = now;
	if (run.mode == MODE_FANOUT)
		fanout_deliver(c, (unsigned)s, (uint32_t)seq,
		    now > ts ? now - ts : 0);
	else
		single_deliver(c, (unsigned)s, (uint32_t)seq,
		    now > ts ? now - ts : 0);
}

/* The name of client id's room, without the '#'. */
static const char *
bench_room(uint32_t id, char *buf, size_t size)
{
	if (run.room_size >= run.nclients)
		return run.room;
	snprintf(buf, size, "%s-%u", run.room, id / run.room_size);
	return buf;
}

/* A "-!- " line: seating, refusals, the shutdown notice. */
static void
conn_notice(struct conn *c, const char *line, size_t len)
{
	char	want[80], room[48];
	int	n;

	if (c->state == CONN_JOINING) {
		if (run.mode == MODE_CONNECT)
			n = snprintf(want, sizeof want, "-!- you joined #");
		else
			n = snprintf(want, sizeof want, "-!- you joined #%s ",
			    bench_room(c->id, room, sizeof room));
		if ((size_t)n <= len && memcmp(line, want, (size_t)n) == 0) {
			c->state = CONN_SEATED;
			run.inflight--;
			run.seated++;
			return;
		}
		if (len >= 11 && memcmp(line, "-!- error: ", 11) == 0)
			bench_fail("refused", "client %u was refused: %.*s",
			    c->id, (int)len, line);
		return;
	}
	if (len == 24 && memcmp(line, "-!- server shutting down", 24) == 0) {
		c->flags |= CONN_NOTICE;
		return;
	}
	if (len >= 11 && memcmp(line, "-!- error: ", 11) == 0 &&
	    run.errors_shown++ < 5)
		fprintf(stderr, "evchat-bench: client %u: %.*s\n", c->id,
		    (int)len, line);
}

/* One complete line (without its LF) arrived at c at time now. */
static void
conn_line(struct conn *c, const char *line, size_t len, uint64_t now)
{
	const char	*p = line, *end;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	end = line + len;
	if (!run.raw) {
		if (len >= 4 && memcmp(line, "-!- ", 4) == 0) {
			conn_notice(c, line, len);
			return;
		}
		/* "<nick> text": nicks cannot hold '>'. */
		if (len < 3 || line[0] != '<' ||
		    (p = memchr(line, '>', len)) == NULL || p + 1 >= end ||
		    p[1] != ' ')
			return;
		p += 2;
	}
	if (end - p >= 2 && p[0] == 'B' && p[1] == ' ')
		conn_message(c, p + 2, end, now);
	else if (end - p == 1 && p[0] == 'S') {
		if (!(c->flags & CONN_SYNCED)) {
			c->flags |= CONN_SYNCED;
			run.synced++;
		}
	} else if (end - p == 1 && p[0] == 'H')
		c->got++;
}

/* The server closed c (or reset it). */
static void
conn_eof(struct conn *c, int err)
{
	if (run.draining && err == 0) {
		run.eofs++;
		if (!run.raw && !(c->flags & CONN_NOTICE))
			fprintf(stderr, "evchat-bench: client %u: EOF without "
			    "'server shutting down'\n", c->id);
		conn_close(c);
		return;
	}
	if (c->carry_len > 0)
		fprintf(stderr, "evchat-bench: client %u: unfinished line "
		    "'%.*s'\n", c->id, (int)c->carry_len, c->carry);
	if (err != 0)
		bench_fail("reset", "client %u: %s while %s", c->id,
		    strerror(err), run.phase);
	bench_fail("eof", "client %u: the server closed the connection "
	    "while %s", c->id, run.phase);
}

/* Read what arrived for c and hand over each complete line. */
static void
conn_read(struct conn *c)
{
	char		*p, *q, *end;
	size_t		 have = c->carry_len, left;
	ssize_t		 n;
	uint64_t	 now;

	memcpy(rbuf, c->carry, have);
	n = read(c->fd, rbuf + have, BENCH_RBUF);
	if (n == 0) {
		conn_eof(c, 0);
		return;
	}
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		conn_eof(c, errno);
		return;
	}
	now = now_ns();
	p = rbuf;
	end = rbuf + have + n;
	if (c->flags & CONN_DISCARD) {
		/* Only the start of an overlong line was kept: see it now. */
		if ((q = memchr(rbuf + have, '\n', (size_t)n)) == NULL)
			return;
		c->flags &= ~CONN_DISCARD;
		conn_line(c, rbuf, have, now);
		p = q + 1;
	}
	while ((q = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		conn_line(c, p, (size_t)(q - p), now);
		p = q + 1;
	}
	left = (size_t)(end - p);
	if (left > BENCH_CARRY) {
		left = BENCH_CARRY;
		c->flags |= CONN_DISCARD;
	}
	memcpy(c->carry, p, left);
	c->carry_len = (uint16_t)left;
}

/* A non-blocking connect finished: check it and say the first words. */
static void
conn_connected(struct conn *c)
{
	char		line[64], room[48];
	socklen_t	len = sizeof(int);
	int		err = 0, n;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0)
		bench_fail("connect", "client %u: connect to %s:%d: %s", c->id,
		    inet_ntoa(run.dst), run.port, strerror(err));
	c->state = CONN_JOINING;
	conn_poll(c);
	if (run.raw) {
		c->state = CONN_SEATED;
		run.inflight--;
		run.seated++;
		if (run.mode != MODE_CONNECT)
			conn_send(c, "H\n", 2);
		return;
	}
	if (run.mode == MODE_CONNECT || strcmp(run.room, "lobby") == 0)
		return;
	n = snprintf(line, sizeof line, "/join #%s\n", bench_room(c->id, room,
	    sizeof room));
	conn_send(c, line, (size_t)n);
}

/* Connect mode: c has joined; close it and start the next one. */
static void
connect_recycle(struct conn *c)
{
	conn_close(c);
	run.completed++;
	if (run.started < run.nclients)
		conn_open(c, run.started++);
}

/* Handle one epoll event for a connection. */
static void
conn_event(struct conn *c, uint32_t events)
{
	if (c->fd == -1)
		return;
	if (c->state == CONN_CONNECTING) {
		conn_connected(c);
	} else {
		if (events & EPOLLOUT && c->flags & CONN_WANTOUT)
			conn_flush(c);
		if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			conn_read(c);
	}
	if (run.mode == MODE_CONNECT && c->state == CONN_SEATED)
		connect_recycle(c);
}

/* Open-loop pacing: send every message that is due by now. */
static void
fanout_pace(uint64_t now)
{
	static char	 buf[BENCH_SENDBUF];
	double		 per_ns = run.rate / 1e9;
	uint64_t	 due, ts;
	unsigned	 s;
	size_t		 len;
	double		 k;

	for (s = 0; s < run.nsenders; s++) {
		/* Message i of sender s is due at t_open + (i*S + s) / rate. */
		k = ((double)(now - run.t_open) * per_ns - s) / run.nsenders;
		due = k < 0 ? 0 : (uint64_t)k + 1;
		if (due > run.nmsgs)
			due = run.nmsgs;
		len = 0;
		while (run.sent[s] < due) {
			ts = run.t_open + (uint64_t)(((double)run.sent[s] *
			    run.nsenders + s) / per_ns);
			len += msg_format(buf + len, s, run.sent[s]++, ts);
			if (len + run.size + 1 > sizeof buf) {
				conn_send(&run.conns[s], buf, len);
				len = 0;
			}
		}
		if (len > 0)
			conn_send(&run.conns[s], buf, len);
	}
}

/*
 * Closed loop: fill sender s's window, at once when a message completes
 * so that the bench's own batching adds no delay.
 */
static void
fanout_fill(unsigned s)
{
	static char	 buf[BENCH_SENDBUF];
	uint64_t	 now = now_ns();
	size_t		 len = 0;

	while (run.sent[s] < run.nmsgs &&
	    run.sent[s] - run.acked[s] < run.window) {
		len += msg_format(buf + len, s, run.sent[s]++, now);
		if (len + run.size + 1 > sizeof buf) {
			conn_send(&run.conns[s], buf, len);
			len = 0;
		}
	}
	if (len > 0)
		conn_send(&run.conns[s], buf, len);
}

/* Wait up to ms milliseconds for events and handle them. */
static void
bench_poll(int ms)
{
	static struct epoll_event	evs[BENCH_EVENTS];
	uint64_t			expirations;
	int				i, n;

	n = epoll_wait(run.ep, evs, BENCH_EVENTS, run.spin ? 0 : ms);
	if (n == -1 && errno != EINTR)
		bench_fail("epoll", "epoll_wait: %s", strerror(errno));
	for (i = 0; i < n; i++) {
		if (evs[i].data.u64 == BENCH_TIMER) {
			if (read(run.timer, &expirations, sizeof expirations)
			    == -1 && errno != EAGAIN)
				bench_fail("timer", "timerfd: %s",
				    strerror(errno));
			fanout_pace(now_ns());
			continue;
		}
		conn_event(&run.conns[evs[i].data.u64], evs[i].events);
	}
	bench_check_deadline(now_ns());
}

/* Connect and seat every client, at most -c being set up at once. */
static void
bench_seat(void)
{
	unsigned	limit;

	run.phase = "seating clients";
	while (run.seated < run.nclients) {
		/*
		 * With --raw, client 0 must be registered with the relay
		 * before anyone else speaks, or it would miss their hellos.
		 */
		limit = run.raw && run.seated == 0 ? 1 : run.conc;
		while (run.started < run.nclients && run.inflight < limit) {
			conn_open(&run.conns[run.started], run.started);
			run.started++;
		}
		bench_poll(100);
	}
	if (run.raw) {
		run.phase = "waiting for every client's hello at client 0";
		while (run.conns[0].got < run.nclients - 1)
			bench_poll(100);
	}
}

/*
 * The barrier: the first member of each room says "S", and every other
 * member waits to read it.  In-order delivery means each has then read
 * everything the server queued for it before, so the server is idle.
 */
static void
bench_sync(void)
{
	unsigned	r, i;

	run.phase = "waiting for the barrier";
	for (r = 0; r < run.nrooms; r++)
		conn_send(&run.conns[r * run.room_size], "S\n", 2);
	while (run.synced < run.nclients - run.nrooms)
		bench_poll(100);
	for (i = 0; i < run.nclients; i++)
		run.conns[i].got = 0;
	run.progress = now_ns();
}

/* Add the latency keys to the result line. */
static void
print_latency(void)
{
	result_add(" p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f",
	    hist_pct_us(&run.hist, 50), hist_pct_us(&run.hist, 90),
	    hist_pct_us(&run.hist, 99), (double)run.hist.max / 1000.0);
}

/* Start the open-loop pacing timer. */
static void
fanout_timer_start(void)
{
	struct itimerspec	 its;
	struct epoll_event	 ev;
	uint64_t		 tick;

	/* A tick per message, but no more than 50,000 wake-ups a second. */
	tick = (uint64_t)(1e9 / run.rate);
	if (tick < 20000)
		tick = 20000;
	if (tick > 1000000)
		tick = 1000000;
	run.timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
	    TFD_CLOEXEC);
	if (run.timer == -1)
		bench_fail("timer", "timerfd_create: %s", strerror(errno));
	memset(&its, 0, sizeof its);
	its.it_interval.tv_sec = (time_t)(tick / 1000000000u);
	its.it_interval.tv_nsec = (long)(tick % 1000000000u);
	its.it_value = its.it_interval;
	if (timerfd_settime(run.timer, 0, &its, NULL) == -1)
		bench_fail("timer", "timerfd_settime: %s", strerror(errno));
	ev.events = EPOLLIN;
	ev.data.u64 = BENCH_TIMER;
	if (epoll_ctl(run.ep, EPOLL_CTL_ADD, run.timer, &ev) == -1)
		bench_fail("epoll", "epoll_ctl: %s", strerror(errno));
}

/* Has every sender finished, and every message reached everyone? */
static int
fanout_done(uint64_t total)
{
	unsigned	s;

	if (run.timer == -1) {
		for (s = 0; s < run.nsenders; s++)
			if (run.acked[s] < run.nmsgs)
				return 0;
		return 1;
	}
	return run.deliveries + run.lost >= total;
}

/* Count what never arrived at all: the tail after each last delivery. */
static void
fanout_count_missing(void)
{
	unsigned	c, s;
	uint32_t	next;

	for (c = 0; c < run.nclients; c++)
		for (s = 0; s < run.nsenders; s++) {
			next = run.next[(size_t)c * run.nsenders + s];
			if (c != s && next < run.nmsgs)
				run.lost += run.nmsgs - next;
		}
}

/* The fanout mode: throughput, CPU cost and latency of one busy room. */
static int
mode_fanout(void)
{
	unsigned long long	 cpu0, cpu1, h0, h1;
	uint64_t		 t0, t1, total, settle;
	double			 self0, cpu_s, el;
	unsigned		 s;
	int			 ok;

	run.next = calloc((size_t)run.nclients * run.nsenders,
	    sizeof *run.next);
	run.sent = calloc(run.nsenders, sizeof *run.sent);
	run.acked = calloc(run.nsenders, sizeof *run.acked);
	run.receipts = calloc((size_t)run.nsenders * run.window,
	    sizeof *run.receipts);
	if (run.next == NULL || run.sent == NULL || run.acked == NULL ||
	    run.receipts == NULL)
		bench_fail("memory", "out of memory");
	t0 = now_ns();
	bench_seat();
	bench_sync();
	fprintf(stderr, "evchat-bench: seated %u clients in %.2f s\n",
	    run.nclients, (double)(now_ns() - t0) / 1e9);

	total = (uint64_t)run.nsenders * run.nmsgs * (run.nclients - 1);
	settle = (uint64_t)run.settle_ms * 1000000u;
	run.phase = "sending";
	cpu0 = server_cpu_ticks();
	h0 = helper_cpu_ticks();
	self0 = self_cpu_s();
	t0 = run.progress = run.t_open = now_ns();
	if (run.rate > 0) {
		fanout_timer_start();
		fanout_pace(t0);
	} else
		for (s = 0; s < run.nsenders; s++)
			fanout_fill(s);
	while (!fanout_done(total)) {
		bench_poll(100);
		if (now_ns() - run.progress > settle) {
			fprintf(stderr, "evchat-bench: no delivery for %u ms; "
			    "what is missing counts as lost\n", run.settle_ms);
			break;
		}
	}
	t1 = now_ns();
	cpu1 = server_cpu_ticks();
	h1 = helper_cpu_ticks();
	cpu_s = ticks_s(cpu0, cpu1);
	el = (double)(t1 - t0) / 1e9;
	fanout_count_missing();
	ok = run.lost == 0 && run.dup == 0 && run.stray == 0;

	printf("fanout: %u clients, %u senders x %u messages, %s\n",
	    run.nclients, run.nsenders, run.nmsgs, run.rate > 0 ? "open loop" :
	    "closed loop");
	printf("  %" PRIu64 " deliveries in %.3f s: %.0f/s; server CPU "
	    "%.2f s: %.0f deliveries per CPU-second; bench CPU %.2f s\n",
	    run.deliveries, el, (double)run.deliveries / el, cpu_s,
	    cpu_s > 0 ? (double)run.deliveries / cpu_s : 0,
	    self_cpu_s() - self0);
	if (run.helper > 0)
		printf("  helper (pid %ld) CPU %.2f s, not counted above\n",
		    (long)run.helper, ticks_s(h0, h1));
	printf("  latency p50 %.1f us, p90 %.1f us, p99 %.1f us, max %.1f us; "
	    "lost %" PRIu64 ", duplicated %" PRIu64 "\n",
	    hist_pct_us(&run.hist, 50), hist_pct_us(&run.hist, 90),
	    hist_pct_us(&run.hist, 99), (double)run.hist.max / 1000.0,
	    run.lost, run.dup);
	result_add("mode=fanout clients=%u senders=%u msgs=%u window=%u "
	    "size=%zu rate=%.0f deliveries=%" PRIu64 " elapsed_s=%.3f dps=%.0f "
	    "dpcs=%.0f "
	    "server_cpu_s=%.2f bench_cpu_s=%.2f", run.nclients, run.nsenders,
	    run.nmsgs, run.timer == -1 ? run.window : 0, run.size, run.rate,
	    run.deliveries, el, (double)run.deliveries / el,
	    cpu_s > 0 ? (double)run.deliveries / cpu_s : 0, cpu_s,
	    self_cpu_s() - self0);
	helper_result(h0, h1);
	print_latency();
	result_add(" lost=%" PRIu64 " dup=%" PRIu64 " stray=%" PRIu64
	    " spin=%d servers=%u ok=%d", run.lost, run.dup, run.stray, run.spin,
	    run.npids, ok);
	return ok ? 0 : BENCH_EXIT_FAIL;
}

/* The idle mode: server memory per seated client, then one message each. */
static int
mode_idle(void)
{
	unsigned long		 rss0, rss1;
	unsigned long long	 cpu0, cpu1, h0, h1;
	uint64_t		 t0, seat, settle, expected;
	char			 buf[BENCH_PAYLOAD_MAX + 1];
	unsigned		 r;
	int			 ok;

	rss0 = server_rss_kb();
	cpu0 = server_cpu_ticks();
	h0 = helper_cpu_ticks();
	t0 = now_ns();
	bench_seat();
	bench_sync();
	seat = now_ns() - t0;
	cpu1 = server_cpu_ticks();
	h1 = helper_cpu_ticks();
	rss1 = server_rss_kb();
	fprintf(stderr, "evchat-bench: seated %u clients in %.2f s\n",
	    run.nclients, (double)seat / 1e9);

	run.phase = "checking that one message reaches every member";
	expected = run.nclients - run.nrooms;
	settle = (uint64_t)run.settle_ms * 1000000u;
	t0 = run.progress = now_ns();
	for (r = 0; r < run.nrooms; r++)
		conn_send(&run.conns[r * run.room_size], buf,
		    msg_format(buf, r, 0, now_ns()));
	while (run.deliveries + run.lost < expected &&
	    now_ns() - run.progress <= settle)
		bench_poll(100);
	run.lost = expected - run.deliveries;
	ok = run.lost == 0 && run.dup == 0 && run.stray == 0;

	printf("idle: %u clients in %u room%s, seated in %.2f s (server CPU "
	    "%.2f s)\n", run.nclients, run.nrooms, run.nrooms == 1 ? "" : "s",
	    (double)seat / 1e9, ticks_s(cpu0, cpu1));
	printf("  server RSS %lu KiB before, %lu KiB after: %.0f bytes per "
	    "client\n", rss0, rss1,
	    ((double)rss1 - (double)rss0) * 1024.0 / run.nclients);
	printf("  one message per room reached %" PRIu64 " of %" PRIu64
	    " members\n", run.deliveries, expected);
	result_add("mode=idle clients=%u rooms=%u rss_before_kb=%lu "
	    "rss_after_kb=%lu bytes_per_client=%.0f seat_s=%.3f "
	    "seat_cpu_s=%.2f", run.nclients, run.nrooms, rss0, rss1,
	    ((double)rss1 - (double)rss0) * 1024.0 / run.nclients,
	    (double)seat / 1e9, ticks_s(cpu0, cpu1));
	helper_result(h0, h1);
	result_add(" received=%" PRIu64 " expected=%" PRIu64, run.deliveries,
	    expected);
	print_latency();
	result_add(" lost=%" PRIu64 " dup=%" PRIu64 " stray=%" PRIu64
	    " spin=%d servers=%u ok=%d", run.lost, run.dup, run.stray, run.spin,
	    run.npids, ok);
	return ok ? 0 : BENCH_EXIT_FAIL;
}

/* The connect mode: connections per second, each through its join. */
static int
mode_connect(void)
{
	unsigned long long	 cpu0, cpu1, h0, h1;
	uint64_t		 t0;
	double			 el, cpu_s;

	run.phase = "connecting";
	cpu0 = server_cpu_ticks();
	h0 = helper_cpu_ticks();
	t0 = now_ns();
	while (run.started < run.nclients && run.started < run.nconns) {
		conn_open(&run.conns[run.started], run.started);
		run.started++;
	}
	while (run.completed < run.nclients)
		bench_poll(100);
	el = (double)(now_ns() - t0) / 1e9;
	cpu1 = server_cpu_ticks();
	h1 = helper_cpu_ticks();
	cpu_s = ticks_s(cpu0, cpu1);

	printf("connect: %u connections (%u at once) in %.3f s: %.0f/s; "
	    "server CPU %.2f s: %.0f per CPU-second\n", run.nclients,
	    run.nconns, el, run.nclients / el, cpu_s,
	    cpu_s > 0 ? run.nclients / cpu_s : 0);
	result_add("mode=connect clients=%u concurrency=%u elapsed_s=%.3f "
	    "cps=%.0f cpcs=%.0f server_cpu_s=%.2f", run.nclients, run.nconns,
	    el, run.nclients / el, cpu_s > 0 ? run.nclients / cpu_s : 0,
	    cpu_s);
	helper_result(h0, h1);
	result_add(" spin=%d servers=%u ok=1", run.spin, run.npids);
	return 0;
}

/* Drain: queue the backlog in the server, unread by clients 2 and up. */
static void
drain_backlog(void)
{
	static char	 buf[BENCH_SENDBUF];
	uint64_t	 now = now_ns();
	unsigned	 i;
	uint32_t	 seq;
	size_t		 len = 0;

	for (i = 2; i < run.nclients; i++) {
		run.conns[i].flags |= CONN_PAUSED;
		conn_poll(&run.conns[i]);
	}
	run.phase = "queueing the backlog";
	for (seq = 0; seq < run.nmsgs; seq++) {
		len += msg_format(buf + len, 0, seq, now);
		if (len + run.size + 1 > sizeof buf) {
			conn_send(&run.conns[0], buf, len);
			len = 0;
		}
	}
	if (len > 0)
		conn_send(&run.conns[0], buf, len);
	/* Client 1 has them all: the server has read and queued them all. */
	while (run.conns[1].got < run.nmsgs)
		bench_poll(100);
}

/*
 * Has every attached server process exited?  We are not their parent, so
 * only kill(2) can tell; a process that is gone now stays gone.
 */
static int
drain_all_gone(void)
{
	unsigned	i;

	for (i = 0; i < run.npids; i++)
		if (kill(run.pids[i], 0) == 0 || errno != ESRCH)
			return 0;
	return 1;
}

/* Wait, bounded, for the server (all of it) to exit after its drain. */
static double
drain_wait_exit(uint64_t t0)
{
	int	status;
	pid_t	r;

	run.phase = "waiting for the server to exit";
	for (;;) {
		if (run.own_server) {
			r = waitpid(run.pid, &status, WNOHANG);
			if (r == run.pid) {
				run.server_exited = 1;
				run.server_status = status;
				break;
			}
		} else if (drain_all_gone())
			break;
		bench_check_deadline(now_ns());
		usleep(1000);
	}
	return (double)(now_ns() - t0) / 1e6;
}

/* The drain mode: graceful shutdown time and messages lost by it. */
static int
mode_drain(void)
{
	uint64_t	 t0, t_eof;
	double		 exit_ms;
	unsigned	 i, notices = 0;
	int		 ok, status = 0;

	bench_seat();
	bench_sync();
	if (run.nmsgs > 0)
		drain_backlog();

	run.phase = "draining";
	run.draining = 1;
	t0 = now_ns();
	for (i = 0; i < run.npids; i++)
		if (kill(run.pids[i], SIGTERM) == -1)
			bench_fail("kill", "kill %ld: %s", (long)run.pids[i],
			    strerror(errno));
	for (i = 0; i < run.nclients; i++)
		if (run.conns[i].flags & CONN_PAUSED) {
			run.conns[i].flags &= ~CONN_PAUSED;
			conn_poll(&run.conns[i]);
		}
	/* Count notices and messages as each client reaches its EOF. */
	while (run.eofs < run.nclients) {
		bench_poll(100);
	}
	t_eof = now_ns();
	exit_ms = drain_wait_exit(t0);
	for (i = 0; i < run.nclients; i++) {
		/* got was counted per client; everything not got is lost. */
		if (i != 0 && run.conns[i].got < run.nmsgs)
			run.lost += run.nmsgs - run.conns[i].got;
	}
	notices = run.nclients;
	if (!run.raw)
		for (i = 0; i < run.nclients; i++)
			if (!(run.conns[i].flags & CONN_NOTICE))
				notices--;
	if (run.own_server)
		status = WIFEXITED(run.server_status) ?
		    WEXITSTATUS(run.server_status) :
		    128 + WTERMSIG(run.server_status);
	ok = run.lost == 0 && run.dup == 0 && run.late == 0 &&
	    run.stray == 0 && notices == run.nclients && status == 0;

	printf("drain: %u clients, %u messages queued: every client saw its "
	    "EOF %.1f ms after SIGTERM; the server exited after %.1f ms "
	    "(status %d)\n", run.nclients, run.nmsgs,
	    (double)(t_eof - t0) / 1e6, exit_ms, status);
	printf("  lost %" PRIu64 ", duplicated %" PRIu64 ", after the notice "
	    "%" PRIu64 ", notices %u of %u\n", run.lost, run.dup, run.late,
	    notices, run.nclients);
	result_add("mode=drain clients=%u msgs=%u drain_ms=%.1f exit_ms=%.1f "
	    "server_status=%d delivered=%" PRIu64 " lost=%" PRIu64 " dup=%"
	    PRIu64 " late=%" PRIu64 " notices=%u eofs=%u spin=%d servers=%u "
	    "ok=%d", run.nclients, run.nmsgs, (double)(t_eof - t0) / 1e6,
	    exit_ms, status, run.deliveries, run.lost, run.dup, run.late,
	    notices, run.eofs, run.spin, run.npids, ok);
	return ok ? 0 : BENCH_EXIT_FAIL;
}

/* Parse a whole decimal option value in [min, max] or exit 2. */
static unsigned long
opt_num(const char *opt, const char *arg, unsigned long min,
    unsigned long max)
{
	char		*end;
	unsigned long	 v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (*arg == '\0' || *arg == '-' || *end != '\0' || errno != 0 ||
	    v < min || v > max) {
		fprintf(stderr, "evchat-bench: %s: '%s' is not a number from "
		    "%lu to %lu\n", opt, arg, min, max);
		exit(BENCH_EXIT_USAGE);
	}
	return v;
}

/* Check the options against each other and derive the run's shape. */
static void
bench_check_opts(void)
{
	unsigned	i;

	if (run.server_argv == NULL && (run.port == 0 || run.npids == 0))
		bench_usage("give a server command after '--', or -p PORT "
		    "and --pid PID");
	if (run.server_argv != NULL && (run.port != 0 || run.npids != 0))
		bench_usage("-p and --pid attach to a running server; they "
		    "do not go with a server command");
	for (i = 0; i < run.npids; i++)
		if (run.pids[i] == run.helper)
			bench_usage("--helper-pid: that process is the server");
	if (run.mode == MODE_FANOUT && (run.nclients < 2 ||
	    run.nsenders > run.nclients))
		bench_usage("fanout needs -n of at least 2 and -s no more "
		    "than -n");
	if (run.mode == MODE_DRAIN && run.nmsgs > 0 && run.nclients < 2)
		bench_usage("drain with -m needs -n of at least 2");
	if (run.rate > 0 && run.mode != MODE_FANOUT)
		bench_usage("--rate is for the fanout mode");
	if (run.room_size != 0 && run.mode != MODE_IDLE)
		bench_usage("-k is for the idle mode");
	if (run.room_size == 0 || run.room_size > run.nclients)
		run.room_size = run.nclients;
	if (run.raw && run.room_size < run.nclients)
		bench_usage("--raw has no rooms: -k cannot split the clients");
	run.nrooms = (run.nclients + run.room_size - 1) / run.room_size;
	if (run.room == NULL) {
		snprintf(run.room_buf, sizeof run.room_buf, "bench%ld",
		    (long)getpid());
		run.room = run.room_buf;
	}
	/* Room names are 1 to 32 bytes, and -k adds "-NUMBER". */
	if (strlen(run.room) + (run.nrooms > 1 ? 9 : 0) > 32 ||
	    strpbrk(run.room, " \t/#:,*!@<>") != NULL)
		bench_usage("--room: not a valid room name");
	/*
	 * Connections being set up all sit in #lobby and hear each other
	 * arrive, so the connect mode keeps few of them at once.
	 */
	if (run.conc == 0)
		run.conc = run.mode == MODE_CONNECT ? 16 : 128;
	run.nconns = run.mode == MODE_CONNECT && run.conc < run.nclients ?
	    run.conc : run.nclients;
}

/*
 * Another --pid: one more process of the server to measure.  The same
 * process twice would count its CPU time twice, so that is refused.
 */
static void
bench_add_pid(pid_t pid)
{
	unsigned	i;

	if (run.npids == BENCH_PIDS)
		bench_usage("--pid: at most 8 processes");
	for (i = 0; i < run.npids; i++)
		if (run.pids[i] == pid)
			bench_usage("--pid: the same process twice");
	run.pids[run.npids++] = pid;
	run.pid = run.pids[0];
}

/* Read the mode, the options and the server command. */
static void
bench_parse(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "rate",	required_argument, NULL, 'R' },
		{ "room",	required_argument, NULL, 'r' },
		{ "raw",	no_argument,	   NULL, 'W' },
		{ "size",	required_argument, NULL, 'Z' },
		{ "spin",	no_argument,	   NULL, 'Y' },
		{ "pid",	required_argument, NULL, 'P' },
		{ "helper-pid",	required_argument, NULL, 'H' },
		{ "timeout",	required_argument, NULL, 'T' },
		{ "settle",	required_argument, NULL, 'E' },
		{ "grace",	required_argument, NULL, 'G' },
		{ "spread",	required_argument, NULL, 'D' },
		{ "help",	no_argument,	   NULL, 'h' },
		{ NULL,		0,		   NULL, 0 }
	};
	const char	*modes[] = { "fanout", "idle", "connect", "drain" };
	int		 ch, msgs_set = 0;
	unsigned	 i;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0)
		bench_usage(NULL);
	for (i = 0; i < 4; i++)
		if (strcmp(argv[1], modes[i]) == 0)
			break;
	if (i == 4)
		bench_usage("unknown mode");
	run.mode = (enum bench_mode)i;
	run.mode_name = modes[i];
	run.nclients = 100;
	run.nsenders = 4;
	run.size = BENCH_PAYLOAD;
	run.nmsgs = 1000;
	run.window = 3;
	run.conc = 0;
	run.timeout_s = 120;
	run.settle_ms = 3000;
	run.grace_s = 15;
	run.timer = -1;
	optind = 2;
	while ((ch = getopt_long(argc, argv, "+n:s:m:w:c:k:a:p:h", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'n':
			run.nclients = (unsigned)opt_num("-n", optarg, 1,
			    10000000);
			break;
		case 's':
			run.nsenders = (unsigned)opt_num("-s", optarg, 1,
			    100000);
			break;
		case 'm':
			run.nmsgs = (unsigned)opt_num("-m", optarg, 0,
			    1000000000);
			msgs_set = 1;
			break;
		case 'w':
			run.window = (unsigned)opt_num("-w", optarg, 1,
			    1000000);
			break;
		case 'c':
			run.conc = (unsigned)opt_num("-c", optarg, 1, 1000000);
			break;
		case 'k':
			run.room_size = (unsigned)opt_num("-k", optarg, 1,
			    10000000);
			break;
		case 'a':
			run.addr = optarg;
			break;
		case 'p':
			run.port = (int)opt_num("-p", optarg, 1, 65535);
			break;
		case 'R':
			run.rate = (double)opt_num("--rate", optarg, 1,
			    100000000);
			break;
		case 'r':
			run.room = optarg;
			break;
		case 'W':
			run.raw = 1;
			break;
		case 'Y':
			run.spin = 1;
			break;
		case 'Z':
			run.size = opt_num("--size", optarg, BENCH_PAYLOAD_MIN,
			    BENCH_PAYLOAD_MAX);
			break;
		case 'P':
			bench_add_pid((pid_t)opt_num("--pid", optarg, 1,
			    INT_MAX));
			break;
		case 'H':
			run.helper = (pid_t)opt_num("--helper-pid", optarg, 1,
			    INT_MAX);
			break;
		case 'T':
			run.timeout_s = (unsigned)opt_num("--timeout", optarg,
			    1, 86400);
			break;
		case 'E':
			run.settle_ms = (unsigned)opt_num("--settle", optarg,
			    1, 3600000);
			break;
		case 'G':
			run.grace_s = (unsigned)opt_num("--grace", optarg, 1,
			    3600);
			break;
		case 'D':
			run.per_addr = (unsigned)opt_num("--spread", optarg, 1,
			    1000000);
			break;
		case 'h':
			bench_usage(NULL);
		default:
			bench_usage(NULL);
		}
	}
	if (optind < argc) {
		if (strcmp(argv[optind - 1], "--") != 0)
			bench_usage("unexpected argument before '--'");
		run.server_argv = argv + optind;
	}
	if (!msgs_set && run.mode == MODE_DRAIN)
		run.nmsgs = 0;
	bench_check_opts();
}

int
main(int argc, char **argv)
{
	unsigned	i;
	int		rc = 0;

	bench_parse(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	bench_raise_nofile(run.nconns);
	if (run.per_addr == 0)
		run.per_addr = bench_per_addr(run.nclients);
	run.deadline = now_ns() + (uint64_t)run.timeout_s * 1000000000u;
	run.dst.s_addr = htonl(INADDR_LOOPBACK);
	if (run.addr != NULL && inet_pton(AF_INET, run.addr, &run.dst) != 1)
		bench_usage("-a: not an IPv4 address");
	if ((run.conns = calloc(run.nconns, sizeof *run.conns)) == NULL)
		bench_fail("memory", "out of memory");
	for (i = 0; i < run.nconns; i++)
		run.conns[i].fd = -1;
	if ((run.ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		bench_fail("epoll", "epoll_create1: %s", strerror(errno));
	if (run.server_argv != NULL) {
		server_start();
		server_wait_port();
	}
	switch (run.mode) {
	case MODE_FANOUT:
		rc = mode_fanout();
		break;
	case MODE_IDLE:
		rc = mode_idle();
		break;
	case MODE_CONNECT:
		rc = mode_connect();
		break;
	case MODE_DRAIN:
		rc = mode_drain();
		break;
	}
	bench_cleanup();
	/* Last, after anything the server's stop may have said. */
	printf("%s\n", result);
	return rc;
}
