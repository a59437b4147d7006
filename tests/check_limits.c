/*
 * check_limits: every limit of section 6 against the real evchatd, from
 * both sides — what the client that hits the limit sees, and that
 * everyone else is untouched.  --max-clients turns the extra client away
 * with one line and a clean EOF and tells nobody; --rate/--burst slow a
 * flooder down without losing or reordering a line while others are
 * served at once (and --burst 0 is refused, --rate 0 is off); --sendq
 * drops a client that never reads, tells the room why, and keeps the
 * server's memory bounded, while normal use (/who of 200, /rooms of 200,
 * /help, a history of long lines) never comes near the default;
 * --idle-timeout closes the silent and spares the talkative; and a
 * descriptor limit too low for --max-clients admits fewer clients,
 * pauses accept on EMFILE without spinning, and recovers by itself.
 * --max-line is covered by check_server.
 *
 * Times are only ever asserted as lower bounds (a limit that lets things
 * through too early); everything that must happen is waited for with the
 * harness's timeout, and every loop is bounded in count and in time.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check_run.h"
#include "harness.h"

#define MAX_SERVERS	8

/* Servers this test process started and has not stopped yet. */
static pid_t	lim_pids[MAX_SERVERS];
static int	lim_cleanup_set;
/*
 * Where start_limited puts its logs: made by main before the tests run
 * and removed with its contents after, even if a test failed.
 */
static char	lim_dir[32];

/*
 * A test process that ends with servers still running takes them along.
 * (A failed check in a forked test ends with _exit; check then kills the
 * test's whole process group, servers included.)
 */
static void
lim_cleanup(void)
{
	int	i;

	for (i = 0; i < MAX_SERVERS; i++)
		if (lim_pids[i] > 0) {
			kill(lim_pids[i], SIGKILL);
			waitpid(lim_pids[i], NULL, 0);
			lim_pids[i] = 0;
		}
}

static void
lim_track(pid_t pid)
{
	int	i;

	if (!lim_cleanup_set) {
		atexit(lim_cleanup);
		lim_cleanup_set = 1;
	}
	for (i = 0; i < MAX_SERVERS; i++)
		if (lim_pids[i] == 0) {
			lim_pids[i] = pid;
			break;
		}
}

static void
lim_untrack(pid_t pid)
{
	int	i;

	for (i = 0; i < MAX_SERVERS; i++)
		if (lim_pids[i] == pid)
			lim_pids[i] = 0;
}

static void
srv_start(struct h_server *s, const char *const *args)
{
	h_server_start(s, args);
	lim_track(s->pid);
}

/* Stop a server and return its exit status. */
static int
srv_stop(struct h_server *s)
{
	lim_untrack(s->pid);
	return h_server_stop(s);
}

/* Milliseconds on the monotonic clock. */
static long long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(int ms)
{
	struct timespec	ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		continue;
}

/*
 * Message oneself; the very next lines must be the message and the
 * sender's copy.  Unlike h_sync nothing is skipped, so it also proves
 * nothing else was queued.
 */
static void
sync_strict(struct h_conn *c)
{
	static unsigned	 n;
	char		 want[128];

	n++;
	h_send(c, "/msg %s strict-%u", c->nick, n);
	snprintf(want, sizeof want, "*%s* strict-%u", c->nick, n);
	h_expect(c, want);
	snprintf(want, sizeof want, "-> *%s* strict-%u", c->nick, n);
	h_expect(c, want);
}

/* Nothing more is buffered, and the next read is a clean EOF. */
static void
expect_only_eof(struct h_conn *c, int timeout_ms)
{
	struct pollfd	pfd = { c->fd, POLLIN, 0 };
	char		buf[512];
	ssize_t		n;

	ck_assert_msg(c->len == 0, "wanted EOF, got '%.*s'", (int)c->len,
	    c->buf);
	ck_assert_msg(poll(&pfd, 1, timeout_ms) == 1, "no EOF within %d ms",
	    timeout_ms);
	n = read(c->fd, buf, sizeof buf);
	ck_assert_msg(n >= 0, "read: %s (wanted a clean EOF, not a reset)",
	    strerror(errno));
	ck_assert_msg(n == 0, "wanted EOF, got '%.*s'", (int)n, buf);
}

/* Skip lines until one ends with suffix; returns it. */
static const char *
expect_suffix(struct h_conn *c, const char *suffix)
{
	long long	 deadline = now_ms() + H_TIMEOUT_MS;
	const char	*l;
	size_t		 n = strlen(suffix), len;

	for (;;) {
		l = h_line(c, (int)(deadline - now_ms()));
		ck_assert_msg(l != NULL, "wanted '…%s', never came", suffix);
		len = strlen(l);
		if (len >= n && strcmp(l + len - n, suffix) == 0)
			return l;
	}
}

/* A connection with a 4 KiB receive buffer, set before connect. */
static struct h_conn *
connect_small_rcvbuf(int port)
{
	struct h_conn		*c = calloc(1, sizeof *c);
	struct sockaddr_in	 sin;
	int			 rcv = 4096;

	ck_assert_ptr_nonnull(c);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ne(c->fd = socket(AF_INET, SOCK_STREAM, 0), -1);
	ck_assert_int_eq(setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcv,
	    sizeof rcv), 0);
	ck_assert_msg(connect(c->fd, (struct sockaddr *)&sin, sizeof sin) == 0,
	    "connect: %s", strerror(errno));
	return c;
}

/* A "Name:   N kB" field of /proc/PID/status, in kB. */
static long
proc_status_kb(pid_t pid, const char *field)
{
	char	 path[64], line[256];
	FILE	*f;
	long	 kb = -1;
	size_t	 n = strlen(field);

	snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	while (kb == -1 && fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, field, n) == 0 && line[n] == ':')
			kb = strtol(line + n + 1, NULL, 10);
	fclose(f);
	ck_assert_msg(kb >= 0, "no %s in %s", field, path);
	return kb;
}

/* utime + stime of a process, in clock ticks. */
static long long
proc_cpu_ticks(pid_t pid)
{
	char			 path[64], buf[1024], *p;
	unsigned long long	 ut, st;
	FILE			*f;
	size_t			 n;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The fields after "(comm)": state is field 3, utime 14, stime 15. */
	ck_assert_ptr_nonnull(p = strrchr(buf, ')'));
	ck_assert_int_eq(sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u "
	    "%*u %*u %llu %llu", &ut, &st), 2);
	return (long long)(ut + st);
}

/* Is the process still running (not exited, not a zombie we reaped)? */
static int
alive(pid_t pid)
{
	return pid > 0 && waitpid(pid, NULL, WNOHANG) == 0;
}

/*
 * Run evchatd with args and no listener expected; collect its stderr
 * into out.  Returns its exit status, or -1 if it did not exit within
 * timeout_ms (it is then killed) or died of a signal.
 */
static int
run_evchatd(const char *const *args, char *out, size_t size, int timeout_ms)
{
	const char	*bin = getenv("EVCHATD");
	char		*argv[32];
	int		 p[2], n = 0, i, status, rc = -1, fl;
	size_t		 len = 0;
	long long	 deadline = now_ms() + timeout_ms;
	pid_t		 pid;
	ssize_t		 r;

	if (bin == NULL)
		bin = "./evchatd";
	argv[n++] = strdup(bin);
	for (i = 0; args[i] != NULL && n < 31; i++)
		argv[n++] = strdup(args[i]);
	argv[n] = NULL;
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(p[0]);
		dup2(p[1], 2);
		close(p[1]);
		if ((fl = open("/dev/null", O_RDWR)) != -1)
			dup2(fl, 1);
		execv(bin, argv);
		_exit(127);
	}
	lim_track(pid);
	while (n > 0)
		free(argv[--n]);
	close(p[1]);
	fl = fcntl(p[0], F_GETFL);
	fcntl(p[0], F_SETFL, fl | O_NONBLOCK);
	for (;;) {
		while (len < size - 1 &&
		    (r = read(p[0], out + len, size - 1 - len)) > 0)
			len += (size_t)r;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			while (len < size - 1 &&
			    (r = read(p[0], out + len, size - 1 - len)) > 0)
				len += (size_t)r;
			rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
			break;
		}
		if (now_ms() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			break;
		}
		sleep_ms(10);
	}
	lim_untrack(pid);
	out[len] = '\0';
	close(p[0]);
	return rc;
}

/*
 * h_server_start with RLIMIT_NOFILE set to nofile in the child first.
 * The caller removes the log; main removes what a failed test left.
 */
static void
start_limited(struct h_server *s, rlim_t nofile, const char *const *args)
{
	const char	*bin = getenv("EVCHATD");
	struct rlimit	 rl = { nofile, nofile };
	char		*argv[32], buf[4096], *p;
	int		 fd, n = 0, i;
	long long	 deadline;
	ssize_t		 r;

	if (bin == NULL)
		bin = "./evchatd";
	snprintf(s->log, sizeof s->log, "%s/evchatd.XXXXXX", lim_dir);
	ck_assert_int_ne(fd = mkstemp(s->log), -1);
	argv[n++] = strdup(bin);
	argv[n++] = strdup("-l");
	argv[n++] = strdup("127.0.0.1:0");
	for (i = 0; args[i] != NULL && n < 31; i++)
		argv[n++] = strdup(args[i]);
	argv[n] = NULL;
	ck_assert_int_ne(s->pid = fork(), -1);
	if (s->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fd, 2);
		close(fd);
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			_exit(126);
		execv(bin, argv);
		_exit(127);
	}
	lim_track(s->pid);
	while (n > 0)
		free(argv[--n]);
	deadline = now_ms() + H_TIMEOUT_MS;
	s->port = 0;
	while (s->port == 0 && now_ms() < deadline) {
		r = pread(fd, buf, sizeof buf - 1, 0);
		buf[r > 0 ? r : 0] = '\0';
		if ((p = strstr(buf, "listening on 127.0.0.1:")) != NULL)
			s->port = atoi(p + strlen("listening on 127.0.0.1:"));
		else if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
			lim_untrack(s->pid);
			s->pid = -1;
			break;
		} else
			sleep_ms(10);
	}
	close(fd);
	if (s->port == 0)
		h_server_dump(s);
	ck_assert_msg(s->port != 0, "evchatd did not report its port");
}

/* Wait up to timeout_ms for text in the server's log. */
static int
await_log(const struct h_server *s, const char *text, int timeout_ms)
{
	long long	deadline = now_ms() + timeout_ms;

	for (;;) {
		if (h_server_log_has(s, text))
			return 1;
		if (now_ms() >= deadline)
			return 0;
		sleep_ms(10);
	}
}

/*
 * --max-clients 3: the fourth is told "server full" and gets a clean EOF;
 * the three never hear of it and go on; a slot freed by /quit is reused.
 */
START_TEST(test_max_clients)
{
	struct h_server	 s;
	struct h_conn	*a, *b, *c, *d, *e;
	char		 want[128];

	srv_start(&s, (const char *const[]){ "--max-clients", "3", NULL });
	a = h_join_as(s.port, "alice");
	b = h_join_as(s.port, "bob");
	c = h_join_as(s.port, "carol");
	h_sync(a);
	h_sync(b);
	h_sync(c);

	d = h_connect(s.port);
	h_expect(d, "-!- error: server full");
	expect_only_eof(d, H_TIMEOUT_MS);

	/* Nobody heard of it: the next line of each is its own sync. */
	sync_strict(a);
	sync_strict(b);
	sync_strict(c);
	h_close(d);
	ck_assert(await_log(&s, "closed (server full)", H_TIMEOUT_MS));

	/* And they talk as before. */
	h_send(a, "still three of us");
	h_expect(b, "<alice> still three of us");
	h_expect(c, "<alice> still three of us");
	h_send(b, "/msg carol psst");
	h_expect(b, "-> *carol* psst");
	h_expect(c, "*bob* psst");
	sync_strict(a);
	sync_strict(b);
	sync_strict(c);

	/* carol leaves; once her connection is gone, a newcomer fits. */
	h_send(c, "/quit");
	h_expect(c, "-!- goodbye, carol");
	expect_only_eof(c, H_TIMEOUT_MS);
	h_close(c);
	h_expect(a, "-!- carol quit (leaving)");
	h_expect(b, "-!- carol quit (leaving)");
	ck_assert_msg(await_log(&s, "closed (leaving)", H_TIMEOUT_MS),
	    "carol's connection was never freed");
	e = h_join(s.port);
	h_expect(e, "-!- last 1 message in #lobby:");
	h_expect(e, "<alice> still three of us");
	h_expect(e, "-!- end of history");
	snprintf(want, sizeof want, "-!- %s joined #lobby", e->nick);
	h_expect(a, want);
	h_expect(b, want);
	h_send(e, "hello");
	snprintf(want, sizeof want, "<%s> hello", e->nick);
	h_expect(a, want);
	h_expect(b, want);
	sync_strict(e);
	h_close(a);
	h_close(b);
	h_close(e);
	ck_assert_int_eq(srv_stop(&s), 0);
}
END_TEST

/*
 * --rate 5 --burst 5: 20 lines in one write all arrive once, in order,
 * no sooner than the rate allows; carol is served while alice waits.
 */
START_TEST(test_rate_holds_lines)
{
	struct h_server	 s;
	struct h_conn	*a, *b, *c;
	char		 flood[20 * 16], want[64];
	const char	*l;
	size_t		 len = 0;
	long long	 t0, took;
	int		 i, got = 0, pinged = 0;

	srv_start(&s, (const char *const[]){ "--rate", "5", "--burst", "5",
	    NULL });
	a = h_join_as(s.port, "alice");
	b = h_join_as(s.port, "bob");
	c = h_join_as(s.port, "carol");
	/* carol talks from another room, so she sees none of the flood. */
	h_send(c, "/join elsewhere");
	h_expect(c, "-!- you joined #elsewhere (1 user)");
	h_sync(b);
	for (i = 0; i < 20; i++)
		len += (size_t)snprintf(flood + len, sizeof flood - len,
		    "flood %02d\n", i);
	t0 = now_ms();
	h_send_raw(a, flood, len);
	/* 20 flood lines and carol's one message: at most 21 lines. */
	while (got < 20) {
		l = h_line(b, H_TIMEOUT_MS);
		ck_assert_msg(l != NULL, "bob got %d of 20 lines", got);
		if (strcmp(l, "*carol* ping") == 0) {
			ck_assert_msg(!pinged, "carol's message came twice");
			pinged = 1;
			continue;
		}
		snprintf(want, sizeof want, "<alice> flood %02d", got);
		ck_assert_msg(strcmp(l, want) == 0, "wanted '%s', got '%s'",
		    want, l);
		if (++got == 8) {
			/* alice is held back now; carol is not. */
			h_send(c, "/msg bob ping");
			h_expect(c, "-> *bob* ping");
		}
	}
	took = now_ms() - t0;
	ck_assert_msg(took >= 2500, "20 lines at 5/s after a burst of 5 took "
	    "only %lld ms", took);
	ck_assert_msg(pinged, "carol's message waited behind alice's flood");
	sync_strict(b);
	/* The flooder herself is still served once her lines are through. */
	h_sync(a);
	sync_strict(c);
	h_close(a);
	h_close(b);
	h_close(c);
	ck_assert_int_eq(srv_stop(&s), 0);
}
END_TEST

/* The defaults, a burst of 20 then 10/s: 30 lines at once all arrive. */
START_TEST(test_rate_default)
{
	struct h_server	 s;
	struct h_conn	*a, *b;
	char		 flood[30 * 16], want[64];
	size_t		 len = 0;
	long long	 t0, took;
	int		 i;

	srv_start(&s, NULL);
	a = h_join_as(s.port, "alice");
	b = h_join_as(s.port, "bob");
	h_sync(b);
	for (i = 0; i < 30; i++)
		len += (size_t)snprintf(flood + len, sizeof flood - len,
		    "line %02d\n", i);
	t0 = now_ms();
	h_send_raw(a, flood, len);
	for (i = 0; i < 30; i++) {
		snprintf(want, sizeof want, "<alice> line %02d", i);
		h_expect(b, want);
	}
	took = now_ms() - t0;
	ck_assert_msg(took >= 700, "30 lines at 10/s after a burst of 20 "
	    "took only %lld ms", took);
	sync_strict(b);
	h_close(a);
	h_close(b);
	ck_assert_int_eq(srv_stop(&s), 0);
}
END_TEST

/*
 * An overlong line is a line for the rate too: six of them and one chat
 * line at 2/s after a burst of 2 take at least 2 s, every error arrives,
 * and the chat line after them is not lost.
 */
START_TEST(test_rate_counts_overlong)
{
	struct h_server	 s;
	struct h_conn	*a, *b;
	char		*flood = malloc(7 * 2100);
	size_t		 len = 0;
	long long	 t0, took;
	int		 i;

	srv_start(&s, (const char *const[]){ "--rate", "2", "--burst", "2",
	    NULL });
	a = h_join_as(s.port, "alice");
	b = h_join_as(s.port, "bob");
	h_sync(b);
	for (i = 0; i < 6; i++) {
		memset(flood + len, 'x', 2000);
		len += 2000;
		flood[len++] = '\n';
	}
	memcpy(flood + len, "after\n", 6);
	len += 6;
	t0 = now_ms();
	h_send_raw(a, flood, len);
	for (i = 0; i < 6; i++)
		h_expect_prefix(a, "-!- error: line too long");
	h_expect(b, "<alice> after");
	took = now_ms() - t0;
	ck_assert_msg(took >= 2000, "7 lines at 2/s after a burst of 2 took "
	    "only %lld ms", took);
	h_close(a);
	h_close(b);
	ck_assert_int_eq(srv_stop(&s), 0);
	free(flood);
}
END_TEST

/* How many lines of the server's log contain text. */
static int
log_count(const struct h_server *s, const char *text)
{
	FILE	*f = fopen(s->log, "r");
	char	 line[4096];
	int	 n = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof line, f) != NULL)
		n += strstr(line, text) != NULL;
	fclose(f);
	return n;
}

/* --burst 0 with the rate on could never pass a line: refused. */
START_TEST(test_rate_burst_zero_refused)
{
	char	out[4096];
	int	rc;

	rc = run_evchatd((const char *const[]){ "-l", "127.0.0.1:0",
	    "--rate", "10", "--burst", "0", NULL }, out, sizeof out,
	    H_TIMEOUT_MS);
	ck_assert_msg(rc == 2, "exit status %d, stderr '%s'", rc, out);
	ck_assert_msg(strstr(out, "--burst") != NULL, "stderr '%s'", out);
	ck_assert_msg(strstr(out, "listening on") == NULL,
	    "it listened before refusing: '%s'", out);
	/* The order of the options does not matter. */
	rc = run_evchatd((const char *const[]){ "-l", "127.0.0.1:0",
	    "--burst", "0", "--rate", "10", NULL }, out, sizeof out,
	    H_TIMEOUT_MS);
	ck_assert_msg(rc == 2, "exit status %d, stderr '%s'", rc, out);
	ck_assert_msg(strstr(out, "--burst") != NULL, "stderr '%s'", out);
}
END_TEST

#define NFAST	1000

/* --rate 0 turns the limit off: 1000 lines at once all arrive. */
START_TEST(test_rate_off)
{
	struct h_server	 s;
	struct h_conn	*a, *b;
	char		*flood = malloc(NFAST * 16), want[64];
	size_t		 len = 0;
	int		 i;

	ck_assert_ptr_nonnull(flood);
	srv_start(&s, (const char *const[]){ "--rate", "0", NULL });
	a = h_join_as(s.port, "alice");
	b = h_join_as(s.port, "bob");
	h_sync(b);
	for (i = 0; i < NFAST; i++)
		len += (size_t)snprintf(flood + len, NFAST * 16 - len,
		    "fast %04d\n", i);
	h_send_raw(a, flood, len);
	for (i = 0; i < NFAST; i++) {
		snprintf(want, sizeof want, "<alice> fast %04d", i);
		h_expect(b, want);
	}
	sync_strict(b);
	h_sync(a);
	free(flood);
	h_close(a);
	h_close(b);
	ck_assert_int_eq(srv_stop(&s), 0);
}
END_TEST

/* Write empty lines to c until its socket is full. */
static void
pump_blank(struct h_conn *c)
{
	static char	blank[16384];

	memset(blank, '\n', sizeof blank);
	while (send(c->fd, blank, sizeof blank,
	    MSG_DONTWAIT | MSG_NOSIGNAL) > 0)
		continue;
}

/*
 * Start a server with args and seat alice, bob and flood, who has begun
 * pouring in empty lines.
 */
static void
flood_start(struct h_server *s, const char *const *args, struct h_conn **a,
    struct h_conn **b, struct h_conn **f)
{
	srv_start(s, args);
	*a = h_join_as(s->port, "alice");
	*b = h_join_as(s->port, "bob");
	*f = h_join_as(s->port, "flood");
	h_sync(*a);
	h_sync(*b);
	h_sync(*f);
	pump_blank(*f);
}

/* c's next line, while f keeps pouring; NULL if none by deadline. */
static const char *
line_while_flooding(struct h_conn *c, struct h_conn *f, long long deadline)
{
	const char	*l;

	while ((l = h_line(c, 1)) == NULL && now_ms() < deadline)
		pump_blank(f);
	return l;
}

/*
 * Input that never stops does not hold everyone else's output back: a
 * client pours empty lines (which are ignored: no output at all) into
 * the server without pause while alice speaks, and bob hears her while
 * the flood still runs, not only once it stops.
 */
START_TEST(test_endless_input_does_not_starve_output)
{
	struct h_server	 s;
	struct h_conn	*a, *b, *f;
	const char	*l;

	flood_start(&s, (const char *const[]){ "--rate", "0", NULL }, &a, &b,
	    &f);
	h_send(a, "still there?");
	l = line_while_flooding(b, f, now_ms() + 10000);
	ck_assert_msg(l != NULL, "no output in 10 s of endless input");
	ck_assert_str_eq(l, "<alice> still there?");
	h_close(f);
	h_sync(b);
	h_close(a);
	h_close(b);
	ck_assert_int_eq(srv_stop(&s), 0);
}
END_TEST

/*
 * A small --sendq and a busy loop: a client pours in empty lines without
 * pause, so output waits for the flush's deadline, while alice says six
 * long lines, each one a little apart.  bob, who reads, gets them all
 * and is never taken for a slow reader: what waits for a batch, in the
 * room or in his queue, is written once it reaches half the limit.
 */
START_TEST(test_sendq_batches_never_drop_a_reader)
{
	struct h_server	 s;
	struct h_conn	*a, *b, *f;
	char		 text[901], want[1000];
	const char	*l;
	struct timespec	 gap = { 0, 700000 };
	long long	 deadline;
	int		 i;

	memset(text, 'z', sizeof text - 1);
	text[sizeof text - 1] = '\0';
	flood_start(&s, (const char *const[]){ "--sendq", "4096", "--rate",
	    "0", NULL }, &a, &b, &f);
	for (i = 0; i < 6; i++) {
		h_send(a, "%d %s", i, text);
		pump_blank(f);
		nanosleep(&gap, NULL);
		pump_blank(f);
	}
	deadline = now_ms() + 10000;
	for (i = 0; i < 6; i++) {
		snprintf(want, sizeof want, "<alice> %d %s", i, text);
		l = line_while_flooding(b, f, deadline);
		ck_assert_msg(l != NULL, "bob got %d of 6 lines", i);
		ck_assert_str_eq(l, want);
	}
	h_close(f);
	h_sync(b);
	ck_assert(!h_server_log_has(&s, "send queue over"));
	h_close(a);
	h_close(b);
	ck_assert_int_eq(srv_stop(&s), 0);
}
END_TEST

#define FLOOD_LINES	40000
#define FLOOD_TEXT	200		/* bytes of each flood line */
#define RSS_BOUND_KB	(2 * 1024)	/* a quarter of the 8 MB flood */

/*
 * --sendq 65536: slow never reads (a 4 KiB receive window) while alice
 * floods 8 MB into the room.  slow is dropped, the room is told why,
 * carol gets every line, and the server's memory does not grow with the
 * flood: queued for slow, what the kernel's socket buffers (a few MB on
 * loopback) cannot hold would have grown it by megabytes.
 */
START_TEST(test_sendq_drops_non_reader)
{
	struct h_server	 s;
	struct h_conn	*a, *c, *slow;
	static char	 wbuf[1 << 16];
	char		 pad[FLOOD_TEXT - 5], want[FLOOD_TEXT + 64];
	char		 junk[1 << 16];
	const char	*l;
	struct pollfd	 pfd[2];
	size_t		 wlen = 0, woff = 0, total = 0;
	long		 rss0, hwm1, rss1;
	long long	 deadline;
	ssize_t		 n;
	int		 wi = 0, next = 0, quits = 0;

	memset(pad, 'y', sizeof pad - 1);
	pad[sizeof pad - 1] = '\0';
	srv_start(&s, (const char *const[]){ "--sendq", "65536", "--rate",
	    "0", NULL });
	a = h_join_as(s.port, "alice");
	c = h_join_as(s.port, "carol");
	slow = connect_small_rcvbuf(s.port);
	h_send(slow, "/nick slow");
	expect_suffix(a, " is now known as slow");
	expect_suffix(c, " is now known as slow");
	h_sync(a);
	h_sync(c);
	rss0 = proc_status_kb(s.pid, "VmRSS");

	/* Write the flood as alice while reading it as carol. */
	deadline = now_ms() + 30000;
	while (next < FLOOD_LINES) {
		ck_assert_msg(now_ms() < deadline, "flood stalled: %d lines "
		    "written, %d read", wi, next);
		if (woff == wlen && wi < FLOOD_LINES) {
			wlen = woff = 0;
			while (wi < FLOOD_LINES &&
			    wlen + FLOOD_TEXT + 2 <= sizeof wbuf)
				wlen += (size_t)snprintf(wbuf + wlen,
				    sizeof wbuf - wlen, "%05d %s\n", wi++,
				    pad);
		}
		pfd[0].fd = a->fd;
		pfd[0].events = woff < wlen ? POLLOUT : 0;
		pfd[1].fd = c->fd;
		pfd[1].events = POLLIN;
		pfd[0].revents = pfd[1].revents = 0;
		ck_assert_int_ge(poll(pfd, 2, 100), 0);
		if (pfd[0].revents & POLLOUT) {
			n = send(a->fd, wbuf + woff, wlen - woff,
			    MSG_DONTWAIT | MSG_NOSIGNAL);
			ck_assert_msg(n > 0 || errno == EAGAIN, "send: %s",
			    strerror(errno));
			if (n > 0)
				woff += (size_t)n;
		}
		ck_assert_msg(!(pfd[0].revents & (POLLERR | POLLHUP)),
		    "alice was disconnected");
		while (next < FLOOD_LINES && (l = h_line(c, 1)) != NULL) {
			if (strcmp(l, "-!- slow quit (send queue exceeded)") ==
			    0) {
				quits++;
				continue;
			}
			snprintf(want, sizeof want, "<alice> %05d %s", next,
			    pad);
			ck_assert_msg(strcmp(l, want) == 0, "carol wanted line "
			    "%d, got '%.60s'", next, l);
			next++;
		}
	}
	if (quits == 0) {
		h_expect(c, "-!- slow quit (send queue exceeded)");
		quits++;
	}
	ck_assert_int_eq(quits, 1);
	sync_strict(c);
	hwm1 = proc_status_kb(s.pid, "VmHWM");
	rss1 = proc_status_kb(s.pid, "VmRSS");
#if !defined(__SANITIZE_ADDRESS__)
	/*
	 * Not under AddressSanitizer: its quarantine keeps freed memory out
	 * of reuse on purpose, so the peak there says nothing of the server.
	 */
	ck_assert_msg(hwm1 - rss0 < RSS_BOUND_KB, "the server grew from %ld "
	    "kB to a peak of %ld kB (now %ld kB) during a %d kB flood", rss0,
	    hwm1, rss1, FLOOD_LINES * (FLOOD_TEXT + 1) / 1024);
#else
	(void)rss0;
	(void)hwm1;
	(void)rss1;
#endif

	/* alice was told too, and alice and carol still talk. */
	h_expect_skip(a, "-!- slow quit (send queue exceeded)");
	h_send(a, "/msg carol still here?");
	h_expect(a, "-> *carol* still here?");
	h_expect(c, "*alice* still here?");
	h_send(c, "yes");
	h_expect(a, "<carol> yes");
	ck_assert(h_server_log_has(&s, "send queue"));

	/* slow's connection ends, short of the whole flood. */
	deadline = now_ms() + H_TIMEOUT_MS;
	for (;;) {
		struct pollfd	p = { slow->fd, POLLIN, 0 };
		long long	left = deadline - now_ms();

		ck_assert_msg(left > 0 && poll(&p, 1, (int)left) == 1,
		    "slow was never disconnected (%zu bytes read)", total);
		if ((n = read(slow->fd, junk, sizeof junk)) <= 0)
			break;
		total += (size_t)n;
	}
	ck_assert_msg(total < (size_t)FLOOD_LINES * FLOOD_TEXT / 2,
	    "slow read %zu bytes: it was not cut off", total);
	h_close(slow);
	h_close(a);
	h_close(c);
	ck_assert_int_eq(srv_stop(&s), 0);
}
END_TEST

#define NUSERS		200
#define HISTORY_TEXT	1000

/* The index of nick among c[0..n-1], or -1. */
static int
find_nick(struct h_conn **c, int n, const char *nick, size_t len)
{
	int	i;

	for (i = 0; i < n; i++)
		if (strlen(c[i]->nick) == len &&
		    strncmp(c[i]->nick, nick, len) == 0)
			return i;
	return -1;
}

/*
 * The default --sendq never trips in normal use: /who of 200, /rooms of
 * 200, /help, and a history of 20 lines of 1000 bytes on join.
 */
START_TEST(test_sendq_default_normal_use)
{
	static const char *const cmds[] = { "/help", "/nick", "/join",
	    "/part", "/rooms", "/who", "/msg", "/me", "/topic", "/quit" };
	struct h_server	  s;
	struct h_conn	**c = calloc(NUSERS, sizeof *c);
	unsigned char	 *seen = calloc(NUSERS, 1);
	char		  want[HISTORY_TEXT + 128], text[HISTORY_TEXT + 1];
	char		  prefix[64];
	const char	 *l, *p;
	size_t		  k, len;
	int		  i, j, got, lobby;

	ck_assert(c != NULL && seen != NULL);
	srv_start(&s, NULL);
	for (i = 0; i < NUSERS; i++)
		c[i] = h_join(s.port);
	snprintf(want, sizeof want, "-!- %s joined #lobby",
	    c[NUSERS - 1]->nick);
	h_expect_skip(c[0], want);

	/* /who: every nick once, in lines that name the room and count. */
	h_send(c[0], "/who");
	snprintf(prefix, sizeof prefix, "-!- #lobby (%d users): ", NUSERS);
	for (got = 0; got < NUSERS;) {
		l = h_line(c[0], H_TIMEOUT_MS);
		ck_assert_msg(l != NULL, "/who listed %d of %d", got, NUSERS);
		ck_assert_msg(strncmp(l, prefix, strlen(prefix)) == 0,
		    "wanted '%s…', got '%s'", prefix, l);
		for (p = l + strlen(prefix); *p != '\0'; p += len) {
			p += strspn(p, " ");
			if ((len = strcspn(p, " ")) == 0)
				break;
			i = find_nick(c, NUSERS, p, len);
			ck_assert_msg(i >= 0 && !seen[i], "/who: '%.*s'",
			    (int)len, p);
			seen[i] = 1;
			got++;
		}
	}
	sync_strict(c[0]);

	/* 199 clients each make a room of their own: 200 with #lobby. */
	for (i = 1; i < NUSERS; i++)
		h_send(c[i], "/join r%d", i);
	for (i = 1; i < NUSERS; i++) {
		snprintf(want, sizeof want, "-!- you joined #r%d (1 user)", i);
		h_expect_skip(c[i], want);
	}
	snprintf(want, sizeof want, "-!- %s left #lobby", c[NUSERS - 1]->nick);
	h_expect_skip(c[0], want);
	h_send(c[0], "/rooms");
	snprintf(want, sizeof want, "-!- %d rooms:", NUSERS);
	h_expect(c[0], want);
	memset(seen, 0, NUSERS);
	for (got = lobby = 0; got < NUSERS; got++) {
		l = h_line(c[0], H_TIMEOUT_MS);
		ck_assert_msg(l != NULL, "/rooms listed %d of %d", got, NUSERS);
		if (strcmp(l, "-!- #lobby (1 user)") == 0) {
			ck_assert_int_eq(lobby++, 0);
			continue;
		}
		ck_assert_msg(sscanf(l, "-!- #r%d (1 user)", &i) == 1 &&
		    i > 0 && i < NUSERS && !seen[i], "/rooms: '%s'", l);
		snprintf(want, sizeof want, "-!- #r%d (1 user)", i);
		ck_assert_str_eq(l, want);
		seen[i] = 1;
	}
	ck_assert_int_eq(lobby, 1);
	sync_strict(c[0]);

	/* /help: one "-!- " line each, every command named. */
	h_send(c[0], "/help");
	h_send(c[0], "/msg %s end of help", c[0]->nick);
	snprintf(want, sizeof want, "-> *%s* end of help", c[0]->nick);
	memset(seen, 0, NUSERS);
	for (got = 0;; got++) {
		ck_assert_int_lt(got, 50);
		l = h_line(c[0], H_TIMEOUT_MS);
		ck_assert_msg(l != NULL, "/help never ended");
		if (strcmp(l, want + 3) == 0) {
			/* Our own message arrives, then the sender's copy. */
			h_expect(c[0], want);
			break;
		}
		ck_assert_msg(strncmp(l, "-!- ", 4) == 0, "/help: '%s'", l);
		for (k = 0; k < sizeof cmds / sizeof cmds[0]; k++)
			if (strncmp(l + 4, cmds[k], strlen(cmds[k])) == 0 &&
			    (l[4 + strlen(cmds[k])] == ' ' ||
			    l[4 + strlen(cmds[k])] == '\0'))
				seen[k] = 1;
	}
	for (k = 0; k < sizeof cmds / sizeof cmds[0]; k++)
		ck_assert_msg(seen[k], "/help does not name %s", cmds[k]);

	/* 20 lines of 1000 bytes in #r1, then the history on joining it. */
	for (j = 0; j < 20; j++) {
		snprintf(text, sizeof text, "h%02d ", j);
		memset(text + 4, 'a' + j, HISTORY_TEXT - 4);
		text[HISTORY_TEXT] = '\0';
		h_send(c[1], "%s", text);
	}
	h_sync(c[1]);
	h_send(c[0], "/join r1");
	h_expect(c[0], "-!- you joined #r1 (2 users)");
	h_expect(c[0], "-!- last 20 messages in #r1:");
	for (j = 0; j < 20; j++) {
		snprintf(text, sizeof text, "h%02d ", j);
		memset(text + 4, 'a' + j, HISTORY_TEXT - 4);
		text[HISTORY_TEXT] = '\0';
		snprintf(want, sizeof want, "<%s> %s", c[1]->nick, text);
		h_expect(c[0], want);
	}
	h_expect(c[0], "-!- end of history");
	sync_strict(c[0]);

	/* Nobody was dropped along the way. */
	ck_assert(!h_server_log_has(&s, "send queue"));
	ck_assert(!h_server_log_has(&s, " closed ("));
	for (i = 0; i < NUSERS; i++)
		h_close(c[i]);
	ck_assert_int_eq(srv_stop(&s), 0);
	free(c);
	free(seen);
}
END_TEST

/*
 * --idle-timeout 1: busy, a line of some kind every 300 ms, is never
 * closed, and sees sleepy, silent after one last line, told and closed no
 * sooner than a second after that line.  The server is started just
 * after a whole second of the monotonic clock and sleepy's last line goes
 * at .85 of a second: a server that counts idleness in whole seconds on
 * a once-a-second sweep then closes both too early every time, instead
 * of now and then.  A server that measures idleness does not care.
 */
START_TEST(test_idle_timeout)
{
	struct h_server	 s;
	struct h_conn	*busy, *sleepy;
	const char	*l;
	long long	 t, t_last = 0, t_quit = 0, t_sent, deadline, next;
	long long	 t_nap, wake;
	int		 k = 0;

	sleep_ms((int)(1000 - now_ms() % 1000));
	srv_start(&s, (const char *const[]){ "--idle-timeout", "1", NULL });
	busy = h_join_as(s.port, "busy");
	sleepy = h_join_as(s.port, "sleepy");
	expect_suffix(busy, " is now known as sleepy");
	next = t_sent = now_ms();
	deadline = next + 2500;
	t_nap = next - next % 1000 + 850;
	if (t_nap <= next)
		t_nap += 1000;
	while ((t = now_ms()) < deadline) {
		if (t_last == 0 && t >= t_nap) {
			/* sleepy's last line; taken before the server reads it */
			t_last = now_ms();
			h_send(sleepy, "/who");
		}
		if (t >= next) {
			t_sent = now_ms();
			switch (k++ % 4) {
			case 0:
				h_send(busy, "tick %d", k);
				break;
			case 1:
				h_send(busy, "/who");
				break;
			case 2:
				h_send(busy, "/no-such-command");
				break;
			default:
				h_send(busy, "/msg busy tock %d", k);
				break;
			}
			next += 300;
		}
		wake = next < deadline ? next : deadline;
		if (t_last == 0 && t_nap < wake)
			wake = t_nap;
		if ((l = h_line(busy, (int)(wake - t))) == NULL)
			continue;
		ck_assert_msg(strncmp(l, "-!- closing", 11) != 0,
		    "busy, sending a line every 300 ms, was closed %lld ms "
		    "after its last line: '%s'", now_ms() - t_sent, l);
		if (strcmp(l, "-!- sleepy quit (idle timeout)") == 0) {
			ck_assert_msg(t_quit == 0, "sleepy quit twice");
			t_quit = now_ms();
		}
	}
	ck_assert(t_last != 0);
	if (t_quit == 0) {
		h_expect_skip(busy, "-!- sleepy quit (idle timeout)");
		t_quit = now_ms();
	}
	ck_assert_msg(t_quit - t_last >= 900, "sleepy was closed %lld ms after "
	    "its last line with --idle-timeout 1", t_quit - t_last);
	h_expect_skip(sleepy, "-!- closing: no line from you for 1 seconds");
	expect_only_eof(sleepy, H_TIMEOUT_MS);
	h_close(sleepy);
	h_sync(busy);
	ck_assert(await_log(&s, "closed (idle timeout)", H_TIMEOUT_MS));
	h_close(busy);
	ck_assert_int_eq(srv_stop(&s), 0);
}
END_TEST

/* Without --idle-timeout nobody is closed for being quiet. */
START_TEST(test_idle_default_off)
{
	struct h_server	 s;
	struct h_conn	*a, *b;

	srv_start(&s, NULL);
	a = h_join_as(s.port, "alice");
	b = h_join_as(s.port, "bob");
	sleep_ms(1500);
	h_send(a, "/msg bob still there?");
	h_expect_skip(a, "-> *bob* still there?");
	h_expect_skip(b, "*alice* still there?");
	sync_strict(b);
	ck_assert(!h_server_log_has(&s, "idle"));
	h_close(a);
	h_close(b);
	ck_assert_int_eq(srv_stop(&s), 0);
}
END_TEST

#define EM_NOFILE	64
#define EM_MAX		200	/* connections tried at most */

/* The number after text in the server's log, or -1. */
static long
log_number(const struct h_server *s, const char *text)
{
	FILE	*f = fopen(s->log, "r");
	char	 line[4096], *p;
	long	 v = -1;

	if (f == NULL)
		return -1;
	while (v == -1 && fgets(line, sizeof line, f) != NULL)
		if ((p = strstr(line, text)) != NULL)
			v = strtol(p + strlen(text), NULL, 10);
	fclose(f);
	return v;
}

/*
 * 64 descriptors for --max-clients 1000: the server admits fewer (and
 * says so), turns the rest away with "server full" while they linger,
 * and when accept(2) fails with EMFILE it pauses instead of spinning.
 * The admitted keep talking meanwhile; once descriptors are free again
 * it accepts by itself, and exits 0 on SIGTERM.
 */
START_TEST(test_emfile_pauses_and_recovers)
{
	struct h_server	  s;
	struct h_conn	**c = calloc(EM_MAX, sizeof *c);
	struct h_conn	 *fresh;
	char		  want[128];
	const char	 *l, *wl = "-!- welcome to evchat, ";
	long long	  cpu0, cpu1, ms;
	long		  max, hz = sysconf(_SC_CLK_TCK);
	int		  i, n, admitted = 0, full = 0, quiet = 0, w0 = -1;
	int		  w1 = -1;

	ck_assert_ptr_nonnull(c);
	start_limited(&s, EM_NOFILE, (const char *const[]){ "--max-clients",
	    "1000", "--rate", "0", NULL });
	ck_assert(h_server_log_has(&s, "file descriptor limit"));
	max = log_number(&s, "admitting at most ");
	ck_assert_msg(max > 0 && max < EM_NOFILE, "admitting at most %ld",
	    max);

	/* Connect until the server stops answering. */
	for (n = 0; n < EM_MAX && quiet == 0; n++) {
		c[n] = h_connect(s.port);
		if ((l = h_line(c[n], 500)) == NULL)
			quiet++;
		else if (strncmp(l, wl, strlen(wl)) == 0) {
			snprintf(c[n]->nick, sizeof c[n]->nick, "%.*s",
			    (int)strcspn(l + strlen(wl), "!"), l + strlen(wl));
			if (w0 == -1)
				w0 = n;
			else if (w1 == -1)
				w1 = n;
			admitted++;
		} else if (strcmp(l, "-!- error: server full") == 0)
			full++;
		else
			ck_abort_msg("connection %d got '%s'", n, l);
	}
	ck_assert_msg(quiet == 1, "the server answered all %d connections",
	    n);
	ck_assert_msg(admitted == max, "admitted %d, not %ld", admitted, max);
	ck_assert_msg(full > 0, "no connection was turned away as full");
	ck_assert(w0 >= 0 && w1 >= 0);
	ck_assert_msg(await_log(&s, "pausing", H_TIMEOUT_MS),
	    "accept ran out of descriptors but did not pause");

	/* Paused, it does not spin, and the admitted still talk. */
	cpu0 = proc_cpu_ticks(s.pid);
	h_send(c[w0], "/msg %s during the pause", c[w1]->nick);
	snprintf(want, sizeof want, "-> *%s* during the pause", c[w1]->nick);
	h_expect_skip(c[w0], want);
	snprintf(want, sizeof want, "*%s* during the pause", c[w0]->nick);
	h_expect_skip(c[w1], want);
	sleep_ms(1000);
	cpu1 = proc_cpu_ticks(s.pid);
	ms = (cpu1 - cpu0) * 1000 / hz;
	ck_assert_msg(ms < 500, "paused, the server used %lld ms of CPU in "
	    "1 s", ms);
	ck_assert(alive(s.pid));
	/* Paused again and again, but one log line for the episode. */
	ck_assert_int_eq(log_count(&s, "pausing"), 1);

	/* Free the descriptors (and slots); service resumes by itself. */
	for (i = 0; i < n; i++)
		if (i != w0 && i != w1) {
			h_close(c[i]);
			c[i] = NULL;
		}
	fresh = h_join(s.port);
	ck_assert(await_log(&s, "accepting connections again",
	    H_TIMEOUT_MS));
	h_send(fresh, "back in business");
	snprintf(want, sizeof want, "<%s> back in business", fresh->nick);
	h_expect_skip(c[w0], want);
	h_expect_skip(c[w1], want);
	h_sync(fresh);
	ck_assert(alive(s.pid));
	h_close(c[w0]);
	h_close(c[w1]);
	h_close(fresh);
	ck_assert_int_eq(srv_stop(&s), 0);
	unlink(s.log);
	free(c);
}
END_TEST

/* Remove lim_dir and whatever a failed test left in it. */
static void
lim_remove_dir(void)
{
	DIR		*d;
	struct dirent	*e;
	char		 path[sizeof lim_dir + 256];

	if ((d = opendir(lim_dir)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 ||
			    strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof path, "%s/%s", lim_dir,
			    e->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(lim_dir);
}

int
main(void)
{
	Suite	*s = suite_create("limits");
	TCase	*tc;
	int	 status;

	snprintf(lim_dir, sizeof lim_dir, "/tmp/evchat-limits.XXXXXX");
	if (mkdtemp(lim_dir) == NULL) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}

	tc = tcase_create("max_clients");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_max_clients);
	suite_add_tcase(s, tc);

	tc = tcase_create("rate");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_rate_holds_lines);
	tcase_add_test(tc, test_rate_default);
	tcase_add_test(tc, test_rate_counts_overlong);
	tcase_add_test(tc, test_rate_burst_zero_refused);
	tcase_add_test(tc, test_rate_off);
	tcase_add_test(tc, test_endless_input_does_not_starve_output);
	suite_add_tcase(s, tc);

	tc = tcase_create("sendq");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_sendq_drops_non_reader);
	tcase_add_test(tc, test_sendq_default_normal_use);
	tcase_add_test(tc, test_sendq_batches_never_drop_a_reader);
	suite_add_tcase(s, tc);

	tc = tcase_create("idle");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_idle_timeout);
	tcase_add_test(tc, test_idle_default_off);
	suite_add_tcase(s, tc);

	tc = tcase_create("emfile");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_emfile_pauses_and_recovers);
	suite_add_tcase(s, tc);

	status = check_run(s);
	lim_remove_dir();
	return status;
}
