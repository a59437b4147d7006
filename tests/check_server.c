/*
 * check_server: the user-visible contract of PROTOCOL.md sections 1 to 5,
 * and the points of section 8 that refine them, proved against the real
 * evchatd over loopback.  Every test starts its own server, talks to it
 * as nc or telnet would and stops it; every wait is for an expected line
 * and bounded by a timeout.
 *
 * "Nothing else arrived" is proved by a strict sync: a private message to
 * oneself whose two copies must be the very next lines.  The server
 * handles each connection's lines in order and appends every notice at
 * once, so whatever an earlier, already answered action sent to that
 * connection would have to come first.  Sleeps appear only in polls with
 * a deadline (for a log line, an exit, a TIME_WAIT socket) and where
 * silence itself is the claim (no early delivery of a partial line, no
 * CPU spent on an unfinished one).
 *
 * Sections 6 and 7 (limits and pressure, the TCP lifecycle) are not this
 * file's business.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "check_run.h"
#include "harness.h"

#define SRV_QUIET_MS	200	/* how long silence must last to count */
#define SRV_MAX_LINES	64	/* lines one collected answer may have */
#define SRV_FFFD	"\xef\xbf\xbd"	/* U+FFFD REPLACEMENT CHARACTER */

/* The lines of the last answer srv_collect gathered. */
static char	srv_lines[SRV_MAX_LINES][1024];

/* Milliseconds on the monotonic clock. */
static long long
srv_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Stop a server and remove its log: a passing test leaves nothing. */
static void
srv_stop(struct h_server *s)
{
	h_server_stop(s);
	unlink(s->log);
}

/* Does the file contain text? */
static int
srv_file_has(const char *path, const char *text)
{
	FILE	*f = fopen(path, "r");
	char	 line[4096];
	int	 found = 0;

	if (f == NULL)
		return 0;
	while (!found && fgets(line, sizeof line, f) != NULL)
		found = strstr(line, text) != NULL;
	fclose(f);
	return found;
}

/* Wait until the server's log contains text; fail after the timeout. */
static void
srv_wait_log(const struct h_server *s, const char *text)
{
	long long	deadline = srv_now() + H_TIMEOUT_MS;

	while (!h_server_log_has(s, text)) {
		if (srv_now() > deadline) {
			h_server_dump(s);
			ck_abort_msg("the log never said '%s'", text);
		}
		usleep(5000);
	}
}

/*
 * Run evchatd with exactly these arguments until it exits, its stderr in
 * a new temporary file named in log.  Returns its exit status, or -1 if it
 * died of a signal or was still running after the timeout (then killed).
 */
static int
srv_run(const char *const *args, char *log, size_t logsize)
{
	const char	*bin = getenv("EVCHATD");
	char		*argv[16];
	long long	 deadline;
	pid_t		 pid;
	int		 fd, n, i, status = 0;

	if (bin == NULL)
		bin = "./evchatd";
	snprintf(log, logsize, "/tmp/evchat-test.XXXXXX");
	ck_assert_int_ne(fd = mkstemp(log), -1);
	argv[0] = strdup(bin);
	for (n = 1; args[n - 1] != NULL && n < 15; n++)
		argv[n] = strdup(args[n - 1]);
	argv[n] = NULL;
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		dup2(fd, 2);
		close(fd);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fd);
	for (i = 0; i < n; i++)
		free(argv[i]);
	deadline = srv_now() + H_TIMEOUT_MS;
	while (waitpid(pid, &status, WNOHANG) != pid) {
		if (srv_now() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return -1;
		}
		usleep(5000);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The CPU time a process has used, in ms; -1 if /proc cannot say. */
static long
srv_cpu_ms(pid_t pid)
{
	char		 path[64], buf[1024], *p;
	unsigned long	 ut, st;
	FILE		*f;
	size_t		 n;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL || sscanf(p + 2,
	    "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	    &ut, &st) != 2)
		return -1;
	return (long)((ut + st) * 1000 / (unsigned long)sysconf(_SC_CLK_TCK));
}

/* Is a TCP socket on local port port in TIME_WAIT?  -1: cannot tell. */
static int
srv_time_wait(int port)
{
	FILE		*f = fopen("/proc/net/tcp", "r");
	char		 line[512];
	unsigned	 lport, state;
	int		 found = 0;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, " %*d: %*x:%x %*x:%*x %x", &lport,
		    &state) == 2 && lport == (unsigned)port && state == 6)
			found = 1;
	fclose(f);
	return found;
}

/* Write bytes as C escapes into out, for failure messages. */
static const char *
srv_hex(const void *data, size_t len, char *out, size_t size)
{
	const unsigned char	*p = data;
	size_t			 i, o = 0;

	out[0] = '\0';
	for (i = 0; i < len && o + 5 < size; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
			out[o++] = (char)p[i];
		else
			o += (size_t)snprintf(out + o, size - o, "\\x%02x",
			    p[i]);
	}
	out[o] = '\0';
	return out;
}

/* h_expect with a printf format. */
static void
srv_expectf(struct h_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
srv_expectf(struct h_conn *c, const char *fmt, ...)
{
	static char	want[1 << 16];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof want, fmt, ap);
	va_end(ap);
	h_expect(c, want);
}

/* The next line must be a server notice; returns it. */
static const char *
srv_expect_notice(struct h_conn *c)
{
	const char	*l = h_line(c, H_TIMEOUT_MS);

	ck_assert_msg(l != NULL, "wanted a '-!- ' notice, got nothing");
	ck_assert_msg(strncmp(l, "-!- ", 4) == 0,
	    "wanted a '-!- ' notice, got '%s'", l);
	return l;
}

/*
 * Strict sync: message oneself; the two copies must be the very next
 * lines.  Proves that nothing else had arrived and that everything sent
 * before was handled.
 */
static void
srv_sync(struct h_conn *c)
{
	static unsigned	n;

	n++;
	h_send(c, "/msg %s strict-%u", c->nick, n);
	srv_expectf(c, "*%s* strict-%u", c->nick, n);
	srv_expectf(c, "-> *%s* strict-%u", c->nick, n);
}

/* A strict sync, then silence for a while. */
static void
srv_quiet(struct h_conn *c)
{
	srv_sync(c);
	h_expect_quiet(c, SRV_QUIET_MS);
}

/* Read away the notices pending on each connection (NULL ends it). */
static void
srv_drain(struct h_conn *c, ...)
{
	va_list	ap;

	va_start(ap, c);
	for (; c != NULL; c = va_arg(ap, struct h_conn *))
		h_sync(c);
	va_end(ap);
}

/*
 * Send cmd and gather every line of its answer, up to a strict sync that
 * marks its end.  The lines go into srv_lines; returns how many.
 */
static int
srv_collect(struct h_conn *c, const char *cmd)
{
	static unsigned	 n;
	char		 mark[128];
	const char	*l;
	int		 count = 0;

	n++;
	h_send(c, "%s", cmd);
	h_send(c, "/msg %s collect-%u", c->nick, n);
	snprintf(mark, sizeof mark, "*%s* collect-%u", c->nick, n);
	for (;;) {
		l = h_line(c, H_TIMEOUT_MS);
		ck_assert_msg(l != NULL, "the answer to %s never ended", cmd);
		if (strcmp(l, mark) == 0)
			break;
		ck_assert_msg(count < SRV_MAX_LINES, "%s: too many lines",
		    cmd);
		snprintf(srv_lines[count++], sizeof srv_lines[0], "%s", l);
	}
	srv_expectf(c, "-> *%s* collect-%u", c->nick, n);
	return count;
}

/* How many collected lines equal line exactly. */
static int
srv_count(int n, const char *line)
{
	int	i, found = 0;

	for (i = 0; i < n; i++)
		found += strcmp(srv_lines[i], line) == 0;
	return found;
}

/* How many collected lines start with prefix. */
static int
srv_count_prefix(int n, const char *prefix)
{
	int	i, found = 0;

	for (i = 0; i < n; i++)
		found += strncmp(srv_lines[i], prefix, strlen(prefix)) == 0;
	return found;
}

/* Every collected line is a notice. */
static void
srv_all_notices(int n, const char *what)
{
	int	i;

	for (i = 0; i < n; i++)
		ck_assert_msg(strncmp(srv_lines[i], "-!- ", 4) == 0,
		    "%s: line '%s' does not start with '-!- '", what,
		    srv_lines[i]);
}

/* Send bytes and an LF in one write. */
static void
srv_send_line(struct h_conn *c, const void *data, size_t len)
{
	char	*buf = malloc(len + 1);

	ck_assert_ptr_nonnull(buf);
	memcpy(buf, data, len);
	buf[len] = '\n';
	h_send_raw(c, buf, len + 1);
	free(buf);
}

/*
 * Send a raw line: the answer must be exactly one error notice that
 * mentions must (unless NULL), and the connection must stay usable.
 */
static void
srv_error_raw(struct h_conn *c, const char *data, size_t len,
    const char *must)
{
	char		 hex[160];
	const char	*l;

	srv_send_line(c, data, len);
	l = h_line(c, H_TIMEOUT_MS);
	srv_hex(data, len, hex, sizeof hex);
	ck_assert_msg(l != NULL, "no answer to '%s'", hex);
	ck_assert_msg(strncmp(l, "-!- error: ", 11) == 0,
	    "'%s': wanted '-!- error: ...', got '%s'", hex, l);
	ck_assert_msg(must == NULL || strstr(l, must) != NULL,
	    "'%s': the error '%s' does not mention '%s'", hex, l, must);
	srv_sync(c);
}

static void
srv_error(struct h_conn *c, const char *line, const char *must)
{
	srv_error_raw(c, line, strlen(line), must);
}

/* Read the welcome line, check it, and learn the guest nick it gives. */
static void
srv_welcome(struct h_conn *c)
{
	const char	*l = h_line(c, H_TIMEOUT_MS), *p;
	size_t		 n;

	ck_assert_msg(l != NULL, "no welcome line");
	ck_assert_msg(strncmp(l, "-!- ", 4) == 0,
	    "the welcome '%s' does not start with '-!- '", l);
	ck_assert_msg(strstr(l, "/help") != NULL,
	    "the welcome '%s' does not name /help", l);
	p = strstr(l, "guest-");
	ck_assert_msg(p != NULL, "the welcome '%s' names no guest nick", l);
	n = strspn(p + 6, "0123456789");
	ck_assert_msg(n > 0 && n < 20, "bad guest nick in '%s'", l);
	snprintf(c->nick, sizeof c->nick, "%.*s", (int)(6 + n), p);
}

/* Connect and read the welcome, not what follows it. */
static struct h_conn *
srv_connect(int port)
{
	struct h_conn	*c = h_connect(port);

	srv_welcome(c);
	return c;
}

/*
 * Connect to loopback of this family, reading nothing.  A receive buffer
 * size (rcvbuf > 0) set before connecting makes output back up in the
 * server instead of in the kernel.
 */
static struct h_conn *
srv_connect_to(int family, int port, int rcvbuf)
{
	struct h_conn		*c = calloc(1, sizeof *c);
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 len;

	ck_assert_ptr_nonnull(c);
	memset(&ss, 0, sizeof ss);
	if (family == AF_INET6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		sin6->sin6_addr = in6addr_loopback;
		len = sizeof *sin6;
	} else {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof *sin;
	}
	ck_assert_int_ne(c->fd = socket(family, SOCK_STREAM, 0), -1);
	if (rcvbuf > 0)
		ck_assert_int_eq(setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF,
		    &rcvbuf, sizeof rcvbuf), 0);
	ck_assert_msg(connect(c->fd, (struct sockaddr *)&ss, len) == 0,
	    "connect: %s", strerror(errno));
	return c;
}

/* A guest nick's number, or -1 if it is not "guest-" and a decimal. */
static long
srv_guest_number(const char *nick)
{
	size_t	n;

	if (strncmp(nick, "guest-", 6) != 0)
		return -1;
	n = strspn(nick + 6, "0123456789");
	if (n == 0 || n > 18 || nick[6 + n] != '\0')
		return -1;
	return atol(nick + 6);
}

/* Change nick; the answer must be "you are now known as NICK". */
static void
srv_nick(struct h_conn *c, const char *nick)
{
	h_send(c, "/nick %s", nick);
	srv_expectf(c, "-!- you are now known as %s", nick);
	snprintf(c->nick, sizeof c->nick, "%s", nick);
}

/* "user" or "users". */
static const char *
srv_users(size_t n)
{
	return n == 1 ? "user" : "users";
}

/* Join a room; the answer must be "you joined #ROOM (N users)". */
static void
srv_join(struct h_conn *c, const char *room, size_t n)
{
	h_send(c, "/join %s", room);
	srv_expectf(c, "-!- you joined #%s (%zu %s)",
	    room[0] == '#' ? room + 1 : room, n, srv_users(n));
}

/* Setting up: read away what is pending, then join. */
static void
srv_move(struct h_conn *c, const char *room, size_t n)
{
	h_sync(c);
	srv_join(c, room, n);
}

/*
 * Read history as it follows a join: an opening notice, exactly the
 * lines given (NULL ends them), a closing notice.
 */
static void
srv_expect_history(struct h_conn *c, ...)
{
	const char	*want;
	va_list		 ap;

	srv_expect_notice(c);
	va_start(ap, c);
	while ((want = va_arg(ap, const char *)) != NULL)
		h_expect(c, want);
	va_end(ap);
	srv_expect_notice(c);
}

/*
 * Message oneself and read raw bytes, not lines, until both copies have
 * arrived.  out gets what the line reader held and everything read; the
 * return value is how many bytes came before the two copies.
 */
static size_t
srv_raw_sync(struct h_conn *c, char *out, size_t size)
{
	static unsigned	 n;
	char		 tail[256];
	struct pollfd	 pfd;
	long long	 deadline = srv_now() + H_TIMEOUT_MS, left;
	size_t		 len, tlen;
	ssize_t		 r;

	n++;
	h_send(c, "/msg %s raw-%u", c->nick, n);
	tlen = (size_t)snprintf(tail, sizeof tail,
	    "*%s* raw-%u\r\n-> *%s* raw-%u\r\n", c->nick, n, c->nick, n);
	ck_assert(c->len <= size);
	memcpy(out, c->buf, c->len);
	len = c->len;
	c->len = 0;
	while (len < tlen || memcmp(out + len - tlen, tail, tlen) != 0) {
		pfd.fd = c->fd;
		pfd.events = POLLIN;
		left = deadline - srv_now();
		ck_assert_msg(left > 0 && poll(&pfd, 1, (int)left) == 1,
		    "the raw sync never came back");
		ck_assert_msg(len < size, "raw input overflows");
		r = recv(c->fd, out + len, size - len, 0);
		ck_assert_msg(r > 0, "connection closed during a raw sync");
		len += (size_t)r;
	}
	return len - tlen;
}

/* Send raw bytes; exactly want (telnet answers) must come back. */
static void
srv_telnet(struct h_conn *c, const char *data, size_t dlen,
    const char *want, size_t wlen)
{
	char	got[4096], h1[256], h2[256], h3[1024];
	size_t	n;

	h_send_raw(c, data, dlen);
	n = srv_raw_sync(c, got, sizeof got);
	ck_assert_msg(n == wlen && memcmp(got, want, wlen) == 0,
	    "sent '%s': wanted '%s' back, got '%s'",
	    srv_hex(data, dlen, h1, sizeof h1),
	    srv_hex(want, wlen, h2, sizeof h2), srv_hex(got, n, h3, sizeof h3));
}

/* h_send_raw of a string literal, NULs and all. */
#define SRV_RAW(c, lit)	h_send_raw((c), (lit), sizeof (lit) - 1)

/* srv_telnet with string literals. */
#define SRV_TELNET(c, sent, want) \
	srv_telnet((c), (sent), sizeof (sent) - 1, (want), sizeof (want) - 1)

/* Close with SO_LINGER 0: the peer gets an RST, not a FIN. */
static void
srv_reset(struct h_conn *c)
{
	struct linger	l = { 1, 0 };

	setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
	h_close(c);
}

/*
 * 1. Transport
 */

START_TEST(test_listen_port_zero)
{
	struct h_server	 s;
	struct h_conn	*c;
	char		 want[64];

	h_server_start(&s, NULL);
	ck_assert_int_gt(s.port, 0);
	snprintf(want, sizeof want, "listening on 127.0.0.1:%d\n", s.port);
	ck_assert_msg(h_server_log_has(&s, want), "no '%s' in the log", want);
	c = h_join(s.port);
	srv_sync(c);
	h_close(c);
	srv_stop(&s);
}
END_TEST

START_TEST(test_listen_ipv6)
{
	struct h_server	 s;
	struct h_conn	*a, *b;
	char		 want[64];

	/* Port 0 on two listeners: both get the same port. */
	h_server_start(&s, (const char *[]){ "-l", "[::1]:0", NULL });
	snprintf(want, sizeof want, "listening on [::1]:%d\n", s.port);
	srv_wait_log(&s, want);
	a = h_join_as(s.port, "four");
	b = srv_connect_to(AF_INET6, s.port, 0);
	srv_welcome(b);
	h_expect(b, "-!- you joined #lobby (2 users)");
	srv_nick(b, "six");
	srv_drain(a, b, NULL);
	h_send(b, "over six");
	h_expect(a, "<six> over six");
	h_send(a, "over four");
	h_expect(b, "<four> over four");
	srv_sync(a);
	srv_sync(b);
	h_close(a);
	h_close(b);
	srv_stop(&s);
}
END_TEST

START_TEST(test_reuseaddr)
{
	struct h_server	 s1, s2;
	struct h_conn	*c;
	char		 port[32], want[64];
	long long	 deadline;
	int		 tw;

	h_server_start(&s1, NULL);
	c = h_join(s1.port);
	h_send(c, "/quit");
	srv_expect_notice(c);
	h_expect_eof(c, H_TIMEOUT_MS);
	h_close(c);
	/* The server closed first: its end waits in TIME_WAIT. */
	deadline = srv_now() + H_TIMEOUT_MS;
	while ((tw = srv_time_wait(s1.port)) == 0 && srv_now() < deadline)
		usleep(5000);
	ck_assert_msg(tw != 0, "no TIME_WAIT socket on port %d", s1.port);
	srv_stop(&s1);

	snprintf(port, sizeof port, "127.0.0.1:%d", s1.port);
	h_server_start(&s2, (const char *[]){ "-l", port, NULL });
	snprintf(want, sizeof want, "listening on %s\n", port);
	srv_wait_log(&s2, want);
	c = h_join(s1.port);
	srv_sync(c);
	h_close(c);
	srv_stop(&s2);
}
END_TEST

START_TEST(test_sigpipe)
{
	struct h_server	 s;
	struct h_conn	*w, *c, *f;
	char		 nicks[5][64], quit[128], *flood;
	const char	*l;
	size_t		 i, j, left, len = 300 * 6;
	int		 seen[5] = { 0 };

	h_server_start(&s, NULL);
	w = h_join_as(s.port, "watcher");
	flood = malloc(len);
	ck_assert_ptr_nonnull(flood);
	for (i = 0; i < len; i += 6)
		memcpy(flood + i, "/help\n", 6);
	/*
	 * Output backed up in the server, then an RST: its next writes
	 * fail with EPIPE, which must not raise a fatal SIGPIPE.
	 */
	for (i = 0; i < 5; i++) {
		c = srv_connect_to(AF_INET, s.port, 4096);
		srv_welcome(c);
		snprintf(nicks[i], sizeof nicks[i], "%s", c->nick);
		h_send_raw(c, flood, len);
		h_expect_prefix(c, "-!- /");
		srv_reset(c);
	}
	free(flood);
	/* A line, then close at once with the welcome unread. */
	c = h_connect(s.port);
	h_send(c, "/rooms");
	h_close(c);
	/* The five departures are announced; the server lives on. */
	for (left = 5; left > 0;) {
		l = h_line(w, H_TIMEOUT_MS);
		ck_assert_msg(l != NULL, "%zu departures never announced",
		    left);
		for (j = 0; j < 5; j++) {
			snprintf(quit, sizeof quit, "-!- %.63s quit (",
			    nicks[j]);
			if (!seen[j] && strncmp(l, quit, strlen(quit)) == 0) {
				seen[j] = 1;
				left--;
			}
		}
	}
	ck_assert_msg(waitpid(s.pid, NULL, WNOHANG) == 0,
	    "evchatd died after a client reset its connection");
	f = h_join_as(s.port, "fresh");
	h_send(f, "still here");
	h_expect_skip(w, "<fresh> still here");
	ck_assert_int_eq(waitpid(s.pid, NULL, WNOHANG), 0);
	h_close(w);
	h_close(f);
	srv_stop(&s);
}
END_TEST

/*
 * 4. Session: welcome, MOTD, guest nicks
 */

START_TEST(test_welcome_alone)
{
	struct h_server	 s;
	struct h_conn	*c;
	char		 who[128];
	int		 n;

	h_server_start(&s, NULL);
	c = srv_connect(s.port);
	ck_assert_msg(srv_guest_number(c->nick) >= 0, "bad nick %s",
	    c->nick);
	h_expect(c, "-!- you joined #lobby (1 user)");
	srv_sync(c);
	/* The nick is exactly the one the welcome named. */
	n = srv_collect(c, "/who");
	snprintf(who, sizeof who, "-!- #lobby (1 user): %s", c->nick);
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(srv_lines[0], who);
	h_close(c);
	srv_stop(&s);
}
END_TEST

START_TEST(test_welcome_others)
{
	struct h_server	 s;
	struct h_conn	*a, *b, *c;

	h_server_start(&s, NULL);
	a = srv_connect(s.port);
	h_expect(a, "-!- you joined #lobby (1 user)");
	b = srv_connect(s.port);
	h_expect(b, "-!- you joined #lobby (2 users)");
	srv_expectf(a, "-!- %s joined #lobby", b->nick);
	c = srv_connect(s.port);
	h_expect(c, "-!- you joined #lobby (3 users)");
	srv_expectf(a, "-!- %s joined #lobby", c->nick);
	srv_expectf(b, "-!- %s joined #lobby", c->nick);
	ck_assert_str_ne(a->nick, b->nick);
	ck_assert_str_ne(b->nick, c->nick);
	ck_assert_str_ne(a->nick, c->nick);
	/* Nobody got the third-person line about themselves. */
	srv_sync(a);
	srv_sync(b);
	srv_sync(c);
	h_close(a);
	h_close(b);
	h_close(c);
	srv_stop(&s);
}
END_TEST

START_TEST(test_guest_nicks)
{
	struct h_server	 s;
	struct h_conn	*c[8];
	char		 nick[64];
	long		 num[8], held1, held2;
	int		 i, j;

	h_server_start(&s, NULL);
	for (i = 0; i < 3; i++) {
		c[i] = h_join(s.port);
		num[i] = srv_guest_number(c[i]->nick);
		ck_assert_msg(num[i] >= 0, "bad guest nick %s", c[i]->nick);
	}
	/* Take free guest numbers by /nick, one in upper case. */
	held1 = num[2] + 1;
	snprintf(nick, sizeof nick, "guest-%ld", held1);
	srv_drain(c[0], NULL);
	srv_nick(c[0], nick);
	held2 = num[2] + 2;
	snprintf(nick, sizeof nick, "GUEST-%ld", held2);
	srv_drain(c[1], NULL);
	srv_nick(c[1], nick);
	for (i = 3; i < 8; i++) {
		c[i] = h_join(s.port);
		num[i] = srv_guest_number(c[i]->nick);
		ck_assert_msg(num[i] >= 0, "bad guest nick %s", c[i]->nick);
		ck_assert_msg(num[i] != held1 && num[i] != held2,
		    "new guest got %s, a number someone holds", c[i]->nick);
	}
	for (i = 2; i < 8; i++)
		for (j = i + 1; j < 8; j++)
			ck_assert_msg(num[i] != num[j], "two guests are %s",
			    c[i]->nick);
	for (i = 0; i < 8; i++) {
		srv_drain(c[i], NULL);
		srv_sync(c[i]);
	}
	for (i = 0; i < 8; i++)
		h_close(c[i]);
	srv_stop(&s);
}
END_TEST

START_TEST(test_motd)
{
	struct h_server	 s;
	struct h_conn	*a, *b;
	char		 path[] = "/tmp/evchat-motd.XXXXXX";
	static const char motd[] =
	    "Welcome to the test server\nrules: be nice, 한글 ok\n";
	int		 fd;

	ck_assert_int_ne(fd = mkstemp(path), -1);
	ck_assert_int_eq(write(fd, motd, sizeof motd - 1),
	    (ssize_t)(sizeof motd - 1));
	close(fd);
	h_server_start(&s, (const char *[]){ "--motd", path, NULL });
	a = srv_connect(s.port);
	h_expect(a, "-!- Welcome to the test server");
	h_expect(a, "-!- rules: be nice, 한글 ok");
	h_expect(a, "-!- you joined #lobby (1 user)");
	srv_sync(a);
	b = srv_connect(s.port);
	h_expect(b, "-!- Welcome to the test server");
	h_expect(b, "-!- rules: be nice, 한글 ok");
	h_expect(b, "-!- you joined #lobby (2 users)");
	srv_sync(b);
	/* The room is not shown the MOTD, only the arrival. */
	srv_expectf(a, "-!- %s joined #lobby", b->nick);
	srv_sync(a);
	h_close(a);
	h_close(b);
	srv_stop(&s);
	unlink(path);
}
END_TEST

START_TEST(test_motd_missing)
{
	char	path[] = "/tmp/evchat-nomotd.XXXXXX", log[64];
	int	fd, rc;

	ck_assert_int_ne(fd = mkstemp(path), -1);
	close(fd);
	unlink(path);
	rc = srv_run((const char *[]){ "-l", "127.0.0.1:0", "--motd", path,
	    NULL }, log, sizeof log);
	ck_assert_msg(rc > 0, "evchatd with a missing MOTD exited %d", rc);
	ck_assert_msg(!srv_file_has(log, "listening on"),
	    "evchatd listened despite a missing MOTD");
	ck_assert_msg(srv_file_has(log, path),
	    "the error does not name the MOTD file");
	unlink(log);
}
END_TEST

/*
 * 2, 3. Chat lines
 */

START_TEST(test_chat_basic)
{
	struct h_server	 s;
	struct h_conn	*a, *b;

	h_server_start(&s, NULL);
	a = h_join_as(s.port, "alice");
	b = h_join_as(s.port, "bob");
	srv_drain(a, b, NULL);
	h_send(a, "hello");
	h_expect(b, "<alice> hello");
	srv_quiet(a);			/* never echoed to its sender */
	h_send(b, "hi alice, how are you?");
	h_expect(a, "<bob> hi alice, how are you?");
	srv_quiet(b);
	h_send(a, "//slash at the start");
	h_expect(b, "<alice> /slash at the start");
	h_send(a, "///two");
	h_expect(b, "<alice> //two");
	h_send(a, "//");
	h_expect(b, "<alice> /");
	h_send(a, "a line with a / inside");
	h_expect(b, "<alice> a line with a / inside");
	srv_quiet(a);
	srv_quiet(b);
	h_close(a);
	h_close(b);
	srv_stop(&s);
}
END_TEST

START_TEST(test_chat_empty_lines)
{
	struct h_server	 s;
	struct h_conn	*a, *b;
	static const char blank[] = "\n\r\n   \n\t\n \t \r\n\n";

	h_server_start(&s, NULL);
	a = h_join_as(s.port, "alice");
	b = h_join_as(s.port, "bob");
	srv_drain(a, b, NULL);
	h_send_raw(a, blank, sizeof blank - 1);
	h_send(a, "after the blanks");
	h_expect(b, "<alice> after the blanks");
	srv_sync(a);			/* and no error for them either */
	srv_sync(b);
	h_close(a);
	h_close(b);
	srv_stop(&s);
}
END_TEST

START_TEST(test_chat_framing)
{
	struct h_server	 s;
	struct h_conn	*a, *b;
	char		 many[1024];
	size_t		 len = 0;
	int		 i;

	h_server_start(&s, NULL);
	a = h_join_as(s.port, "alice");
	b = h_join_as(s.port, "bob");
	srv_drain(a, b, NULL);
	/* nc ends lines with LF, telnet with CRLF or CR NUL. */
	SRV_RAW(a, "crlf\r\n");
	h_expect(b, "<alice> crlf");
	SRV_RAW(a, "cr nul\r\0");
	h_expect(b, "<alice> cr nul");
	/* Many lines in one write. */
	SRV_RAW(a, "one\ntwo\r\nthree\n");
	h_expect(b, "<alice> one");
	h_expect(b, "<alice> two");
	h_expect(b, "<alice> three");
	for (i = 1; i <= 30; i++)
		len += (size_t)snprintf(many + len, sizeof many - len,
		    "m%d\n", i);
	h_send_raw(a, many, len);
	for (i = 1; i <= 30; i++)
		srv_expectf(b, "<alice> m%d", i);
	/* One line in several writes: nothing is said before its end. */
	SRV_RAW(a, "spl");
	h_expect_quiet(b, SRV_QUIET_MS);
	SRV_RAW(a, "it li");
	h_expect_quiet(b, SRV_QUIET_MS);
	SRV_RAW(a, "ne\n");
	h_expect(b, "<alice> split line");
	/* A character split between writes, and a CR apart from its LF. */
	SRV_RAW(a, "\xed\x95");
	h_expect_quiet(b, SRV_QUIET_MS);
	SRV_RAW(a, "\x9c\xea\xb8\x80 split\r");
	h_expect_quiet(b, SRV_QUIET_MS);
	SRV_RAW(a, "\n");
	h_expect(b, "<alice> 한글 split");
	srv_sync(a);
	srv_sync(b);
	h_close(a);
	h_close(b);
	srv_stop(&s);
}
END_TEST

START_TEST(test_room_isolation)
{
	struct h_server	 s;
	struct h_conn	*a, *b, *c, *d;

	h_server_start(&s, NULL);
	a = h_join_as(s.port, "alice");
	b = h_join_as(s.port, "bob");
	c = h_join_as(s.port, "carol");
	d = h_join_as(s.port, "dave");
	srv_move(a, "a", 1);
	srv_move(b, "#a", 2);
	srv_move(c, "b", 1);
	srv_drain(a, b, c, d, NULL);

	h_send(a, "only for #a");
	h_expect(b, "<alice> only for #a");
	h_send(a, "/me acts in #a");
	h_expect(b, "* alice acts in #a");
	srv_sync(a);
	srv_sync(c);
	srv_sync(d);

	h_send(c, "only for #b");
	h_send(c, "/me acts in #b");
	srv_sync(c);
	srv_sync(a);
	srv_sync(b);
	srv_sync(d);

	h_send(d, "only for #lobby");
	h_send(d, "/me acts in #lobby");
	srv_sync(d);
	srv_sync(a);
	srv_sync(b);
	srv_sync(c);
	h_close(a);
	h_close(b);
	h_close(c);
	h_close(d);
	srv_stop(&s);
}
END_TEST

/*
 * 5. Commands
 */

START_TEST(test_help)
{
	static const char *const names[] = { "help", "nick", "join",
	    "part", "rooms", "who", "msg", "me", "topic", "quit" };
	struct h_server	 s;
	struct h_conn	*c;
	char		 want[32];
	size_t		 i;
	int		 n, j, found, len;

	h_server_start(&s, NULL);
	c = h_join(s.port);
	n = srv_collect(c, "/help");
	srv_all_notices(n, "/help");
	ck_assert_int_eq(srv_count_prefix(n, "-!- /"),
	    (int)(sizeof names / sizeof names[0]));
	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		len = snprintf(want, sizeof want, "-!- /%s", names[i]);
		for (found = 0, j = 0; j < n; j++)
			if (strncmp(srv_lines[j], want, (size_t)len) == 0 &&
			    (srv_lines[j][len] == ' ' ||
			    srv_lines[j][len] == '\0'))
				found++;
		ck_assert_msg(found == 1, "/help has %d lines for /%s", found,
		    names[i]);
	}
	srv_sync(c);
	h_close(c);
	srv_stop(&s);
}
END_TEST

START_TEST(test_nick)
{
	struct h_server	 s;
	struct h_conn	*a, *b, *c;

	h_server_start(&s, NULL);
	a = h_join_as(s.port, "alice");
	b = h_join_as(s.port, "bob");
	c = h_join_as(s.port, "carol");
	srv_move(c, "elsewhere", 1);
	srv_drain(a, b, c, NULL);
	srv_nick(a, "alicia");
	h_expect(b, "-!- alice is now known as alicia");
	srv_quiet(a);		/* the actor never gets the third person */
	srv_sync(b);
	srv_sync(c);		/* only the renamer's room is told */
	/* The new nick is reachable and the old one is free. */
	h_send(b, "/msg alicia hi");
	h_expect(a, "*bob* hi");
	h_expect(b, "-> *alicia* hi");
	srv_nick(c, "alice");
	srv_sync(c);
	h_send(a, "/msg alice hi");
	h_expect(c, "*alicia* hi");
	h_expect(a, "-> *alice* hi");
	srv_sync(a);
	srv_sync(b);
	h_close(a);
	h_close(b);
	h_close(c);
	srv_stop(&s);
}
END_TEST

START_TEST(test_join_part)
{
	struct h_server	 s;
	struct h_conn	*a, *b, *c;

	h_server_start(&s, NULL);
	a = h_join_as(s.port, "alice");
	b = h_join_as(s.port, "bob");
	c = h_join_as(s.port, "carol");
	srv_drain(a, b, c, NULL);

	srv_join(a, "a", 1);		/* created on demand, no '#' */
	h_expect(b, "-!- alice left #lobby");
	h_expect(c, "-!- alice left #lobby");
	srv_join(b, "#a", 2);		/* with '#' */
	h_expect(a, "-!- bob joined #a");
	h_expect(c, "-!- bob left #lobby");
	srv_sync(a);
	srv_sync(b);
	srv_sync(c);

	h_send(a, "/part");
	h_expect(a, "-!- you joined #lobby (2 users)");
	h_expect(b, "-!- alice left #a");
	h_expect(c, "-!- alice joined #lobby");
	h_send(b, "/leave");		/* #a empties and disappears */
	h_expect(b, "-!- you joined #lobby (3 users)");
	h_expect(a, "-!- bob joined #lobby");
	h_expect(c, "-!- bob joined #lobby");
	srv_sync(a);
	srv_sync(b);
	srv_sync(c);

	/* From room to room: the old room hears the departure. */
	srv_join(c, "a", 1);
	h_expect(a, "-!- carol left #lobby");
	h_expect(b, "-!- carol left #lobby");
	srv_join(a, "a", 2);
	h_expect(c, "-!- alice joined #a");
	h_expect(b, "-!- alice left #lobby");
	srv_join(c, "#b", 1);
	h_expect(a, "-!- carol left #a");
	srv_sync(a);
	srv_sync(b);
	srv_sync(c);
	h_close(a);
	h_close(b);
	h_close(c);
	srv_stop(&s);
}
END_TEST

START_TEST(test_rooms)
{
	struct h_server	 s;
	struct h_conn	*a, *b;
	int		 n;

	h_server_start(&s, NULL);
	a = h_join_as(s.port, "alice");
	b = h_join_as(s.port, "bob");
	srv_drain(a, b, NULL);

	n = srv_collect(a, "/rooms");
	srv_all_notices(n, "/rooms");
	ck_assert_int_eq(srv_count(n, "-!- #lobby (2 users)"), 1);
	ck_assert_int_eq(srv_count_prefix(n, "-!- #"), 1);

	srv_join(a, "fun", 1);
	h_send(a, "/topic games and puzzles");
	h_expect(a, "-!- alice set the topic: games and puzzles");
	srv_drain(b, NULL);
	n = srv_collect(b, "/list");
	srv_all_notices(n, "/list");
	ck_assert_int_eq(srv_count(n, "-!- #lobby (1 user)"), 1);
	ck_assert_int_eq(srv_count(n,
	    "-!- #fun (1 user): games and puzzles"), 1);
	ck_assert_int_eq(srv_count_prefix(n, "-!- #"), 2);

	/* #lobby is listed even when empty. */
	srv_join(b, "fun", 2);
	h_expect(a, "-!- bob joined #fun");
	n = srv_collect(b, "/rooms");
	ck_assert_int_eq(srv_count(n, "-!- #lobby (0 users)"), 1);
	ck_assert_int_eq(srv_count(n,
	    "-!- #fun (2 users): games and puzzles"), 1);
	ck_assert_int_eq(srv_count_prefix(n, "-!- #"), 2);

	/* The last member leaves: the room is gone. */
	h_send(a, "/part");
	h_expect(a, "-!- you joined #lobby (1 user)");
	h_expect(b, "-!- alice left #fun");
	h_send(b, "/part");
	h_expect(b, "-!- you joined #lobby (2 users)");
	srv_drain(a, b, NULL);
	n = srv_collect(a, "/rooms");
	srv_all_notices(n, "/rooms");
	ck_assert_int_eq(srv_count(n, "-!- #lobby (2 users)"), 1);
	ck_assert_int_eq(srv_count_prefix(n, "-!- #"), 1);
	ck_assert_int_eq(srv_count_prefix(n, "-!- #fun"), 0);
	srv_sync(a);
	srv_sync(b);
	h_close(a);
	h_close(b);
	srv_stop(&s);
}
END_TEST

START_TEST(test_who)
{
	struct h_server	 s;
	struct h_conn	*a, *b, *c;
	int		 n;

	h_server_start(&s, NULL);
	a = h_join_as(s.port, "alice");
	b = h_join_as(s.port, "bob");
	c = h_join_as(s.port, "carol");
	srv_move(c, "side", 1);
	srv_drain(a, b, c, NULL);

	n = srv_collect(a, "/who");
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(srv_lines[0], "-!- #lobby (2 users): alice bob");
	n = srv_collect(b, "/names");
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(srv_lines[0], "-!- #lobby (2 users): alice bob");
	n = srv_collect(a, "/who side");
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(srv_lines[0], "-!- #side (1 user): carol");
	n = srv_collect(a, "/who #side");
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(srv_lines[0], "-!- #side (1 user): carol");
	n = srv_collect(b, "/names #SIDE");
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(srv_lines[0], "-!- #side (1 user): carol");
	n = srv_collect(c, "/who lobby");
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(srv_lines[0], "-!- #lobby (2 users): alice bob");
	n = srv_collect(c, "/who");
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(srv_lines[0], "-!- #side (1 user): carol");
	srv_error(a, "/who nosuch", NULL);
	srv_error(a, "/who #nosuch", NULL);
	srv_sync(b);
	srv_sync(c);
	h_close(a);
	h_close(b);
	h_close(c);
	srv_stop(&s);
}
END_TEST

START_TEST(test_msg)
{
	struct h_server	 s;
	struct h_conn	*a, *b, *c;

	h_server_start(&s, NULL);
	a = h_join_as(s.port, "alice");
	b = h_join_as(s.port, "bob");
	c = h_join_as(s.port, "carol");
	srv_drain(a, b, c, NULL);

	h_send(a, "/msg bob psst");
	h_expect(b, "*alice* psst");
	h_expect(a, "-> *bob* psst");
	h_send(a, "/msg bob  several  words here ");
	h_expect(b, "*alice* several  words here");
	h_expect(a, "-> *bob* several  words here");
	srv_sync(c);			/* nobody else sees it */
	/* Nick lookups ignore ASCII case; the copy shows the real nick. */
	h_send(a, "/msg BOB upper");
	h_expect(b, "*alice* upper");
	h_expect(a, "-> *bob* upper");
	h_send(b, "/msg Alice mixed");
	h_expect(a, "*bob* mixed");
	h_expect(b, "-> *alice* mixed");
	/* To yourself. */
	h_send(a, "/msg alice note to self");
	h_expect(a, "*alice* note to self");
	h_expect(a, "-> *alice* note to self");
	/* Across rooms. */
	srv_move(b, "far", 1);
	srv_drain(a, c, NULL);
	h_send(a, "/msg bob across rooms");
	h_expect(b, "*alice* across rooms");
	h_expect(a, "-> *bob* across rooms");
	srv_sync(a);
	srv_sync(b);
	srv_sync(c);
	h_close(a);
	h_close(b);
	h_close(c);
	srv_stop(&s);
}
END_TEST

START_TEST(test_me)
{
	struct h_server	 s;
	struct h_conn	*a, *b, *c;

	h_server_start(&s, NULL);
	a = h_join_as(s.port, "alice");
	b = h_join_as(s.port, "bob");
	c = h_join_as(s.port, "carol");
	srv_move(c, "other", 1);
	srv_drain(a, b, c, NULL);
	h_send(a, "/me waves");
	h_expect(b, "* alice waves");
	h_send(a, "/me  waves  twice");
	h_expect(b, "* alice waves  twice");
	srv_quiet(a);			/* never echoed */
	srv_sync(b);
	srv_sync(c);
	h_close(a);
	h_close(b);
	h_close(c);
	srv_stop(&s);
}
END_TEST

START_TEST(test_topic)
{
	struct h_server	 s;
	struct h_conn	*a, *b, *c, *d;

	h_server_start(&s, NULL);
	a = h_join_as(s.port, "alice");
	b = h_join_as(s.port, "bob");
	c = h_join_as(s.port, "carol");
	d = h_join_as(s.port, "dave");
	srv_move(a, "t", 1);
	srv_move(b, "t", 2);
	srv_drain(a, b, c, d, NULL);

	h_send(a, "/topic");
	h_expect(a, "-!- no topic set for #t");
	srv_sync(a);
	h_send(a, "/topic Let's talk about cats");
	h_expect(a, "-!- alice set the topic: Let's talk about cats");
	h_expect(b, "-!- alice set the topic: Let's talk about cats");
	srv_sync(a);
	srv_sync(b);
	srv_sync(d);			/* #lobby is not told */
	h_send(b, "/topic");
	h_expect(b, "-!- topic for #t: Let's talk about cats");
	srv_sync(b);
	/* A joiner sees the topic right after "you joined". */
	h_send(c, "/join #t");
	h_expect(c, "-!- you joined #t (3 users)");
	h_expect(c, "-!- topic for #t: Let's talk about cats");
	srv_sync(c);
	h_expect(a, "-!- carol joined #t");
	h_expect(b, "-!- carol joined #t");
	h_expect(d, "-!- carol left #lobby");
	/* Anyone may change it; everyone in the room sees it. */
	h_send(b, "/topic dogs now");
	h_expect(a, "-!- bob set the topic: dogs now");
	h_expect(b, "-!- bob set the topic: dogs now");
	h_expect(c, "-!- bob set the topic: dogs now");
	h_send(d, "/topic");
	h_expect(d, "-!- no topic set for #lobby");
	srv_sync(a);
	srv_sync(b);
	srv_sync(c);
	srv_sync(d);
	h_close(a);
	h_close(b);
	h_close(c);
	h_close(d);
	srv_stop(&s);
}
END_TEST

START_TEST(test_topic_forgotten)
{
	struct h_server	 s;
	struct h_conn	*a;

	h_server_start(&s, NULL);
	a = h_join_as(s.port, "alice");
	srv_join(a, "t", 1);
	h_send(a, "/topic short-lived");
	h_expect(a, "-!- alice set the topic: short-lived");
	h_send(a, "/part");
	h_expect(a, "-!- you joined #lobby (1 user)");
	srv_join(a, "t", 1);
	srv_sync(a);			/* no topic line */
	h_send(a, "/topic");
	h_expect(a, "-!- no topic set for #t");
	srv_sync(a);
	h_close(a);
	srv_stop(&s);
}
END_TEST

START_TEST(test_quit)
{
	struct h_server	 s;
	struct h_conn	*a, *b, *c, *d, *e;
	int		 n;

	h_server_start(&s, NULL);
	a = h_join_as(s.port, "alice");
	b = h_join_as(s.port, "bob");
	c = h_join_as(s.port, "carol");
	d = h_join_as(s.port, "dave");
	e = h_join_as(s.port, "erin");
	srv_move(d, "q", 1);
	srv_move(e, "q", 2);
	srv_drain(a, b, c, d, e, NULL);

	h_send(a, "/quit");
	srv_expect_notice(a);		/* the goodbye */
	h_expect_eof(a, H_TIMEOUT_MS);
	h_expect(b, "-!- alice quit (leaving)");
	h_expect(c, "-!- alice quit (leaving)");
	h_send(b, "/quit gone fishing, back soon");
	srv_expect_notice(b);
	h_expect_eof(b, H_TIMEOUT_MS);
	h_expect(c, "-!- bob quit (gone fishing, back soon)");
	n = srv_collect(c, "/who");
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(srv_lines[0], "-!- #lobby (1 user): carol");
	/* From another room: only that room hears it. */
	h_send(d, "/QUIT bye");
	srv_expect_notice(d);
	h_expect_eof(d, H_TIMEOUT_MS);
	h_expect(e, "-!- dave quit (bye)");
	srv_sync(e);
	srv_sync(c);
	h_close(a);
	h_close(b);
	h_close(c);
	h_close(d);
	h_close(e);
	srv_stop(&s);
}
END_TEST

START_TEST(test_close)
{
	struct h_server	 s;
	struct h_conn	*a, *b, *c;

	h_server_start(&s, NULL);
	a = h_join_as(s.port, "alice");
	b = h_join_as(s.port, "bob");
	c = h_join_as(s.port, "carol");
	srv_drain(a, b, c, NULL);
	h_close(b);
	h_expect(a, "-!- bob quit (connection closed)");
	h_expect(c, "-!- bob quit (connection closed)");
	srv_sync(a);
	srv_sync(c);
	/* The nick is free again. */
	srv_nick(c, "bob");
	h_expect(a, "-!- carol is now known as bob");
	srv_sync(a);
	srv_sync(c);
	h_close(a);
	h_close(c);
	srv_stop(&s);
}
END_TEST

START_TEST(test_command_case)
{
	struct h_server	 s;
	struct h_conn	*a, *b;
	int		 n;

	h_server_start(&s, NULL);
	a = h_join_as(s.port, "alice");
	b = h_join_as(s.port, "bob");
	srv_drain(a, b, NULL);
	h_send(a, "/NICK Alice2");
	h_expect(a, "-!- you are now known as Alice2");
	snprintf(a->nick, sizeof a->nick, "Alice2");
	h_expect(b, "-!- alice is now known as Alice2");
	h_send(a, "/Join #room");
	h_expect(a, "-!- you joined #room (1 user)");
	h_expect(b, "-!- Alice2 left #lobby");
	h_send(a, "/TOPIC shouting");
	h_expect(a, "-!- Alice2 set the topic: shouting");
	n = srv_collect(a, "/WHO");
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(srv_lines[0], "-!- #room (1 user): Alice2");
	n = srv_collect(a, "/NaMeS lobby");
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(srv_lines[0], "-!- #lobby (1 user): bob");
	n = srv_collect(a, "/LIST");
	ck_assert_int_eq(srv_count(n, "-!- #room (1 user): shouting"), 1);
	n = srv_collect(a, "/Rooms");
	ck_assert_int_eq(srv_count(n, "-!- #room (1 user): shouting"), 1);
	n = srv_collect(a, "/HELP");
	ck_assert_int_ge(srv_count_prefix(n, "-!- /"), 10);
	h_send(a, "/MSG BOB hey");
	h_expect(b, "*Alice2* hey");
	h_expect(a, "-> *bob* hey");
	h_send(a, "/LeAvE");
	h_expect(a, "-!- you joined #lobby (2 users)");
	h_expect(b, "-!- Alice2 joined #lobby");
	h_send(a, "/ME shouts");
	h_expect(b, "* Alice2 shouts");
	h_send(a, "/PART");
	h_expect(a, "-!- error: you are already in #lobby");
	srv_sync(a);
	srv_sync(b);
	h_send(a, "/Quit");
	srv_expect_notice(a);
	h_expect_eof(a, H_TIMEOUT_MS);
	h_expect(b, "-!- Alice2 quit (leaving)");
	h_close(a);
	h_close(b);
	srv_stop(&s);
}
END_TEST

/*
 * 5. History
 */

START_TEST(test_history_default)
{
	struct h_server	 s;
	struct h_conn	*a, *b;
	int		 i;

	h_server_start(&s, NULL);
	a = h_join_as(s.port, "alice");
	for (i = 1; i <= 25; i++)
		h_send(a, "m%d", i);
	srv_sync(a);
	b = srv_connect(s.port);
	h_expect(b, "-!- you joined #lobby (2 users)");
	srv_expect_notice(b);
	for (i = 6; i <= 25; i++)
		srv_expectf(b, "<alice> m%d", i);
	srv_expect_notice(b);
	srv_sync(b);
	h_close(a);
	h_close(b);
	srv_stop(&s);
}
END_TEST

START_TEST(test_history_limit)
{
	struct h_server	 s;
	struct h_conn	*a, *b, *c;
	char		 live[6][256];
	const char	*l;
	int		 i;

	h_server_start(&s, (const char *[]){ "--history", "3", NULL });
	a = h_join_as(s.port, "alice");
	b = h_join_as(s.port, "bob");
	srv_drain(a, b, NULL);
	h_send(a, "one");
	h_send(a, "/me two");
	h_send(a, "th\x1b" "ree");
	h_send(a, "four");
	h_send(a, "/msg bob private");
	h_send(a, "/me \x01" "five " "\xfe");
	h_expect(a, "-> *bob* private");
	srv_sync(a);
	/* What bob saw as it happened, to compare with the history. */
	for (i = 0; i < 6; i++) {
		l = h_line(b, H_TIMEOUT_MS);
		ck_assert_ptr_nonnull(l);
		snprintf(live[i], sizeof live[i], "%s", l);
	}
	ck_assert_str_eq(live[2], "<alice> three");
	ck_assert_str_eq(live[4], "*alice* private");
	ck_assert_str_eq(live[5], "* alice five " SRV_FFFD);
	srv_sync(b);
	c = srv_connect(s.port);
	h_expect(c, "-!- you joined #lobby (3 users)");
	srv_expect_history(c, live[2], live[3], live[5], NULL);
	srv_sync(c);
	/* The same on /join, after the topic. */
	srv_move(a, "h", 1);
	srv_move(b, "h", 2);
	h_send(b, "/topic history");
	h_expect(b, "-!- bob set the topic: history");
	h_send(b, "x");
	srv_drain(a, b, c, NULL);
	h_send(c, "/join h");
	h_expect(c, "-!- you joined #h (3 users)");
	h_expect(c, "-!- topic for #h: history");
	srv_expect_history(c, "<bob> x", NULL);
	srv_sync(c);
	h_close(a);
	h_close(b);
	h_close(c);
	srv_stop(&s);
}
END_TEST

START_TEST(test_history_none)
{
	struct h_server	 s;
	struct h_conn	*a, *b;

	h_server_start(&s, NULL);
	a = srv_connect(s.port);
	h_expect(a, "-!- you joined #lobby (1 user)");
	srv_sync(a);
	b = srv_connect(s.port);
	h_expect(b, "-!- you joined #lobby (2 users)");
	srv_sync(b);
	/* Notices (joins, topics, nicks) are not history. */
	srv_move(a, "quiet", 1);
	srv_nick(a, "alice");
	h_send(a, "/topic nothing said");
	h_expect(a, "-!- alice set the topic: nothing said");
	srv_drain(b, NULL);
	h_send(b, "/join quiet");
	h_expect(b, "-!- you joined #quiet (2 users)");
	h_expect(b, "-!- topic for #quiet: nothing said");
	srv_sync(b);
	h_close(a);
	h_close(b);
	srv_stop(&s);
}
END_TEST

START_TEST(test_history_private)
{
	struct h_server	 s;
	struct h_conn	*a, *b, *c;

	h_server_start(&s, (const char *[]){ "--history", "5", NULL });
	a = h_join_as(s.port, "alice");
	b = h_join_as(s.port, "bob");
	srv_drain(a, b, NULL);
	h_send(a, "/msg bob secret");
	h_expect(b, "*alice* secret");
	h_expect(a, "-> *bob* secret");
	srv_sync(a);
	c = srv_connect(s.port);
	h_expect(c, "-!- you joined #lobby (3 users)");
	srv_sync(c);
	h_close(a);
	h_close(b);
	h_close(c);
	srv_stop(&s);
}
END_TEST

START_TEST(test_history_forgotten)
{
	struct h_server	 s;
	struct h_conn	*a, *b;

	h_server_start(&s, NULL);
	a = h_join_as(s.port, "alice");
	b = h_join_as(s.port, "bob");
	srv_move(a, "h", 1);
	srv_move(b, "h", 2);
	h_send(a, "remember me?");
	h_expect(b, "<alice> remember me?");
	h_send(b, "/part");
	h_expect(b, "-!- you joined #lobby (1 user)");
	h_send(a, "/part");		/* #h is empty and disappears */
	h_expect_skip(a, "-!- you joined #lobby (2 users)");
	srv_drain(a, b, NULL);
	srv_join(b, "h", 1);
	srv_sync(b);			/* no history lines */
	h_close(a);
	h_close(b);
	srv_stop(&s);
}
END_TEST

START_TEST(test_history_zero)
{
	struct h_server	 s;
	struct h_conn	*a, *b;

	h_server_start(&s, (const char *[]){ "--history", "0", NULL });
	a = h_join_as(s.port, "alice");
	h_send(a, "said");
	h_send(a, "/me did");
	srv_sync(a);
	b = srv_connect(s.port);
	h_expect(b, "-!- you joined #lobby (2 users)");
	srv_sync(b);
	h_close(a);
	h_close(b);
	srv_stop(&s);
}
END_TEST

/*
 * 5, 8. Errors: one notice each, and nothing else changes
 */

START_TEST(test_error_unknown)
{
	struct h_server	 s;
	struct h_conn	*a, *b;

	h_server_start(&s, NULL);
	a = h_join_as(s.port, "alice");
	b = h_join_as(s.port, "bob");
	srv_drain(a, b, NULL);
	srv_error(a, "/frobnicate", "/help");
	srv_error(a, "/frobnicate with args", "/help");
	srv_error(a, "/", "/help");
	srv_error(a, "/ leading space", "/help");
	srv_error(a, "/nickname x", "/help");
	srv_error(a, "/\x1b[2J", "/help");
	srv_sync(b);			/* nothing reached the room */
	h_close(a);
	h_close(b);
	srv_stop(&s);
}
END_TEST

START_TEST(test_error_nick)
{
	static const char *const bad[] = {
		"/nick aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",	/* 33 bytes */
		"/nick a#b", "/nick #ab", "/nick a:b", "/nick a/b",
		"/nick a,b", "/nick a*b", "/nick a!b", "/nick a@b",
		"/nick a<b", "/nick a>b",
		"/nick a\x01" "b", "/nick a\x1b" "b", "/nick a\x7f" "b",
		"/nick a\xc2\x9b" "b",				/* C1 CSI */
		"/nick a\xc2\xa0" "b",				/* NBSP */
		"/nick a\xe3\x80\x80" "b",			/* U+3000 */
		"/nick a\x80" "b", "/nick a\xfe" "b",		/* bad UTF-8 */
		"/nick \xc0\xaf", "/nick a\xed\xa0\x80",	/* overlong, */
		"/nick a\xf4\x90\x80\x80",			/* surrogate, */
		"/nick \xe2\x82",				/* truncated */
	};
	struct h_server	 s;
	struct h_conn	*a, *b;
	size_t		 i;
	int		 n;

	h_server_start(&s, NULL);
	a = h_join_as(s.port, "alice");
	b = h_join_as(s.port, "bob");
	srv_drain(a, b, NULL);
	srv_error(a, "/nick", "/help");
	srv_error(a, "/nick   ", "/help");
	srv_error(a, "/nick a b", "/help");
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		srv_error(a, bad[i], "/help");
	srv_error_raw(a, "/nick a\0b", 9, "/help");		/* NUL */
	srv_error(a, "/nick a\xff\xff" "b", "/help");		/* 0xff */
	/* Taken, ignoring ASCII case. */
	srv_error(a, "/nick bob", NULL);
	srv_error(a, "/nick BOB", NULL);
	srv_error(b, "/nick ALICE", NULL);
	srv_error(b, "/nick Alice", NULL);
	/* Nothing changed: same nicks (srv_error synced by them), no
	 * notices for the room. */
	srv_sync(b);
	n = srv_collect(b, "/who");
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(srv_lines[0], "-!- #lobby (2 users): alice bob");
	h_close(a);
	h_close(b);
	srv_stop(&s);
}
END_TEST

START_TEST(test_error_join_part)
{
	struct h_server	 s;
	struct h_conn	*a, *b;

	h_server_start(&s, NULL);
	a = h_join_as(s.port, "alice");
	b = h_join_as(s.port, "bob");
	srv_drain(a, b, NULL);
	srv_error(a, "/join", "/help");
	srv_error(a, "/join a b", "/help");
	srv_error(a, "/join #", "/help");
	srv_error(a, "/join ##a", "/help");
	srv_error(a, "/join a:b", "/help");
	srv_error(a, "/join a,b", "/help");
	srv_error(a, "/join a\x01" "b", "/help");
	srv_error(a, "/join a\x80", "/help");
	srv_error(a, "/join #aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "/help");
	/* Where you already are. */
	h_send(a, "/join lobby");
	h_expect(a, "-!- error: you are already in #lobby");
	h_send(a, "/join #lobby");
	h_expect(a, "-!- error: you are already in #lobby");
	h_send(a, "/join #LOBBY");
	h_expect(a, "-!- error: you are already in #lobby");
	h_send(a, "/part");
	h_expect(a, "-!- error: you are already in #lobby");
	h_send(a, "/leave");
	h_expect(a, "-!- error: you are already in #lobby");
	srv_sync(a);
	srv_sync(b);			/* no left/joined notices */
	srv_join(a, "r", 1);
	h_expect(b, "-!- alice left #lobby");
	h_send(a, "/join r");
	h_expect(a, "-!- error: you are already in #r");
	h_send(a, "/join #R");
	h_expect(a, "-!- error: you are already in #r");
	srv_sync(a);
	srv_sync(b);
	h_close(a);
	h_close(b);
	srv_stop(&s);
}
END_TEST

START_TEST(test_error_msg_who)
{
	struct h_server	 s;
	struct h_conn	*a, *b;

	h_server_start(&s, NULL);
	a = h_join_as(s.port, "alice");
	b = h_join_as(s.port, "bob");
	srv_drain(a, b, NULL);
	srv_error(a, "/msg", "/help");
	srv_error(a, "/msg bob", "/help");
	srv_error(a, "/msg bob   ", "/help");
	srv_error(a, "/msg nobody hello", "/help");
	srv_error(a, "/msg a#b hello", "/help");
	srv_error(a, "/me", "/help");
	srv_error(a, "/me   ", "/help");
	srv_error(a, "/who nosuch", NULL);
	srv_error(a, "/who #nosuch", NULL);
	srv_error(a, "/who a:b", NULL);
	srv_sync(b);			/* bob was sent nothing */
	h_close(a);
	h_close(b);
	srv_stop(&s);
}
END_TEST

START_TEST(test_error_arity)
{
	static const char *const extra[] = {
		"/part x", "/leave x", "/rooms x", "/list x", "/help x",
		"/nick a b", "/join a b", "/who a b", "/names a b",
	};
	struct h_server	 s;
	struct h_conn	*a, *b;
	size_t		 i;

	h_server_start(&s, NULL);
	a = h_join_as(s.port, "alice");
	b = h_join_as(s.port, "bob");
	srv_move(a, "r", 1);
	srv_drain(a, b, NULL);
	for (i = 0; i < sizeof extra / sizeof extra[0]; i++)
		srv_error(a, extra[i], "/help");
	srv_sync(b);
	/* alice is still alice, still in #r. */
	h_send(a, "/who");
	h_expect(a, "-!- #r (1 user): alice");
	srv_sync(a);
	h_close(a);
	h_close(b);
	srv_stop(&s);
}
END_TEST

/*
 * 5. Names
 */

START_TEST(test_names_korean)
{
	struct h_server	 s;
	struct h_conn	*a, *b;
	int		 n;

	h_server_start(&s, NULL);
	a = h_join_as(s.port, "alice");
	b = h_join_as(s.port, "bob");
	srv_drain(a, b, NULL);
	srv_nick(a, "한글");
	h_expect(b, "-!- alice is now known as 한글");
	h_send(b, "/msg 한글 안녕");
	h_expect(a, "*bob* 안녕");
	h_expect(b, "-> *한글* 안녕");
	srv_join(a, "방", 1);
	h_expect(b, "-!- 한글 left #lobby");
	srv_join(b, "#방", 2);
	h_expect(a, "-!- bob joined #방");
	h_send(a, "안녕하세요");
	h_expect(b, "<한글> 안녕하세요");
	n = srv_collect(b, "/who");
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(srv_lines[0], "-!- #방 (2 users): 한글 bob");
	n = srv_collect(b, "/rooms");
	ck_assert_int_eq(srv_count(n, "-!- #방 (2 users)"), 1);
	/* 10 three-byte characters fit in 32 bytes; 11 do not. */
	srv_nick(b, "가나다라마바사아자차");
	h_expect(a, "-!- bob is now known as 가나다라마바사아자차");
	srv_error(b, "/nick 가나다라마바사아자차카", "/help");
	srv_sync(a);
	h_close(a);
	h_close(b);
	srv_stop(&s);
}
END_TEST

START_TEST(test_names_case)
{
	struct h_server	 s;
	struct h_conn	*a, *b;
	const char	*l;
	int		 n;

	h_server_start(&s, NULL);
	a = h_join_as(s.port, "alice");
	b = h_join_as(s.port, "bob");
	srv_drain(a, b, NULL);
	srv_error(b, "/nick ALICE", NULL);
	srv_error(b, "/nick aLiCe", NULL);
	/* #Foo and #foo are one room. */
	srv_join(a, "Foo", 1);
	h_expect(b, "-!- alice left #lobby");
	h_send(b, "/join #foo");
	l = h_line(b, H_TIMEOUT_MS);
	ck_assert_ptr_nonnull(l);
	ck_assert_msg(strcasecmp(l, "-!- you joined #foo (2 users)") == 0,
	    "wanted to join #Foo with 2 users, got '%s'", l);
	l = h_line(a, H_TIMEOUT_MS);
	ck_assert_ptr_nonnull(l);
	ck_assert_msg(strcasecmp(l, "-!- bob joined #foo") == 0,
	    "wanted 'bob joined #Foo', got '%s'", l);
	n = srv_collect(a, "/rooms");
	ck_assert_int_eq(srv_count_prefix(n, "-!- #"), 2);
	srv_sync(a);
	srv_sync(b);
	h_close(a);
	h_close(b);
	srv_stop(&s);
}
END_TEST

START_TEST(test_names_length)
{
	struct h_server	 s;
	struct h_conn	*a;
	char		 name[40];

	h_server_start(&s, NULL);
	a = h_join(s.port);
	memset(name, 'n', 32);
	name[32] = '\0';
	srv_nick(a, name);
	srv_sync(a);
	memset(name, 'r', 32);
	srv_join(a, name, 1);
	h_send(a, "/part");
	h_expect(a, "-!- you joined #lobby (1 user)");
	srv_join(a, "#rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr", 1);
	srv_error(a, "/join #rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr", "/help");
	srv_error(a, "/nick nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn", "/help");
	srv_sync(a);
	h_close(a);
	srv_stop(&s);
}
END_TEST

/*
 * 2. Lines: length, controls, UTF-8
 */

START_TEST(test_max_line_default)
{
	struct h_server	 s;
	struct h_conn	*a, *b;
	char		 line[1100], want[1200];

	h_server_start(&s, NULL);
	a = h_join_as(s.port, "alice");
	b = h_join_as(s.port, "bob");
	srv_drain(a, b, NULL);
	memset(line, 'x', 1024);
	srv_send_line(a, line, 1024);
	snprintf(want, sizeof want, "<alice> %.1024s", line);
	h_expect(b, want);
	/* The CR is not counted. */
	memcpy(line + 1024, "\r\n", 2);
	h_send_raw(a, line, 1026);
	h_expect(b, want);
	memset(line, 'y', 1025);
	srv_error_raw(a, line, 1025, NULL);
	srv_sync(b);
	h_send(a, "next line");
	h_expect(b, "<alice> next line");
	srv_sync(a);
	srv_sync(b);
	h_close(a);
	h_close(b);
	srv_stop(&s);
}
END_TEST

START_TEST(test_max_line_small)
{
	struct h_server	 s;
	struct h_conn	*a, *b;
	char		 line[128];
	int		 n;

	h_server_start(&s, (const char *[]){ "--max-line", "64", NULL });
	a = h_join_as(s.port, "alice");
	b = h_join_as(s.port, "bob");
	srv_drain(a, b, NULL);
	memset(line, 'z', 64);
	srv_send_line(a, line, 64);
	srv_expectf(b, "<alice> %.64s", line);
	/* A command of exactly 64 bytes too. */
	n = snprintf(line, sizeof line, "/msg bob ");
	memset(line + n, 'w', (size_t)(64 - n));
	srv_send_line(a, line, 64);
	srv_expectf(b, "*alice* %.*s", 64 - n, line + n);
	srv_expectf(a, "-> *bob* %.*s", 64 - n, line + n);
	memset(line, 'z', 65);
	srv_error_raw(a, line, 65, NULL);
	memcpy(line + 65, "\r", 1);
	srv_error_raw(a, line, 66, NULL);
	srv_sync(b);
	h_send(a, "short again");
	h_expect(b, "<alice> short again");
	srv_sync(a);
	srv_sync(b);
	h_close(a);
	h_close(b);
	srv_stop(&s);
}
END_TEST

START_TEST(test_overlong_lines)
{
	struct h_server	 s;
	struct h_conn	*a, *b;
	char		 buf[512];
	size_t		 len = 0;
	const char	*l;
	int		 i;

	h_server_start(&s, (const char *[]){ "--max-line", "32", NULL });
	a = h_join_as(s.port, "alice");
	b = h_join_as(s.port, "bob");
	srv_drain(a, b, NULL);
	/* Three overlong lines and a good one in one write. */
	for (i = 0; i < 3; i++) {
		memset(buf + len, 'a' + i, 40 + (size_t)i * 50);
		len += 40 + (size_t)i * 50;
		buf[len++] = '\n';
	}
	memcpy(buf + len, "fine\r\n", 6);
	len += 6;
	h_send_raw(a, buf, len);
	for (i = 0; i < 3; i++) {
		l = h_line(a, H_TIMEOUT_MS);
		ck_assert_ptr_nonnull(l);
		ck_assert_msg(strncmp(l, "-!- error: ", 11) == 0,
		    "overlong line %d: got '%s'", i + 1, l);
	}
	h_expect(b, "<alice> fine");
	srv_sync(a);
	srv_sync(b);
	/* One overlong line across writes: still one error. */
	memset(buf, 'q', 100);
	h_send_raw(a, buf, 100);
	l = h_line(a, H_TIMEOUT_MS);
	ck_assert_ptr_nonnull(l);
	ck_assert_msg(strncmp(l, "-!- error: ", 11) == 0, "got '%s'", l);
	h_send_raw(a, buf, 100);
	SRV_RAW(a, "\n");
	srv_sync(a);
	h_send(a, "works");
	h_expect(b, "<alice> works");
	srv_sync(b);
	h_close(a);
	h_close(b);
	srv_stop(&s);
}
END_TEST

START_TEST(test_no_lf)
{
	struct h_server	 s;
	struct h_conn	*a, *b, *c;
	char		*flood, hello[300];
	const char	*l;
	size_t		 i, len = 256 * 1024;
	long		 before, after;

	h_server_start(&s, (const char *[]){ "--max-line", "64", NULL });
	a = h_join_as(s.port, "alice");
	b = h_join_as(s.port, "bob");
	c = h_join_as(s.port, "carol");
	srv_drain(a, b, c, NULL);
	flood = malloc(len);
	ck_assert_ptr_nonnull(flood);
	memset(flood, 'A', len);
	h_send_raw(a, flood, len);
	free(flood);
	l = h_line(a, H_TIMEOUT_MS);
	ck_assert_ptr_nonnull(l);
	ck_assert_msg(strncmp(l, "-!- error: ", 11) == 0, "got '%s'", l);
	/* Binary with no LF, like a TLS hello (no IAC, CR or LF in it). */
	memcpy(hello, "\x16\x03\x01\x01\x28\x01\x00\x01\x24\x03\x03", 11);
	for (i = 11; i < sizeof hello; i++)
		hello[i] = (char)(0x10 + (i * 37) % 0xe0);
	h_send_raw(c, hello, sizeof hello);
	l = h_line(c, H_TIMEOUT_MS);
	ck_assert_ptr_nonnull(l);
	ck_assert_msg(strncmp(l, "-!- error: ", 11) == 0, "got '%s'", l);
	/* Unfinished lines cost no CPU while nothing more comes. */
	before = srv_cpu_ms(s.pid);
	usleep(500 * 1000);
	after = srv_cpu_ms(s.pid);
	if (before >= 0 && after >= 0)
		ck_assert_msg(after - before < 150,
		    "evchatd used %ld ms of CPU in 500 ms idle",
		    after - before);
	/* The LF ends the discarded line; the connections work on. */
	SRV_RAW(a, "\n");
	SRV_RAW(c, "\r\n");
	srv_sync(a);
	srv_sync(c);
	srv_sync(b);			/* nothing of it reached the room */
	h_send(a, "back");
	h_expect(b, "<alice> back");
	h_expect(c, "<alice> back");
	h_send(c, "me too");
	h_expect(b, "<carol> me too");
	h_expect(a, "<carol> me too");
	srv_sync(a);
	srv_sync(b);
	srv_sync(c);
	h_close(a);
	h_close(b);
	h_close(c);
	srv_stop(&s);
}
END_TEST

/* A chat line as sent (raw) and as the room must see it. */
struct srv_text {
	const char	*sent;
	size_t		 len;
	const char	*seen;
};
#define SRV_TEXT(s, seen)	{ s, sizeof s - 1, seen }

START_TEST(test_controls)
{
	static const struct srv_text t[] = {
		SRV_TEXT("a\x1b[31mred\x1b[0m", "<alice> a[31mred[0m"),
		SRV_TEXT("nu\0ll", "<alice> null"),
		SRV_TEXT("de\x7fl", "<alice> del"),
		SRV_TEXT("c1\xc2\x9b" "x", "<alice> c1x"),
		SRV_TEXT("nel\xc2\x85" "x", "<alice> nelx"),
		SRV_TEXT("c0\x01\x07\x08\x0b\x0c" "x", "<alice> c0x"),
		SRV_TEXT("bare\rcr", "<alice> barecr"),
		SRV_TEXT("tab\there\t", "<alice> tab\there\t"),
		SRV_TEXT("\x1b" "]0;title\x07" "after",
		    "<alice> ]0;titleafter"),
		SRV_TEXT("keep \xc2\xa0 nbsp, é and 한글",
		    "<alice> keep \xc2\xa0 nbsp, é and 한글"),
	};
	struct h_server	 s;
	struct h_conn	*a, *b;
	size_t		 i;

	h_server_start(&s, NULL);
	a = h_join_as(s.port, "alice");
	b = h_join_as(s.port, "bob");
	srv_drain(a, b, NULL);
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		srv_send_line(a, t[i].sent, t[i].len);
		h_expect(b, t[i].seen);
	}
	srv_sync(a);
	srv_sync(b);
	h_close(a);
	h_close(b);
	srv_stop(&s);
}
END_TEST

START_TEST(test_utf8)
{
	static const struct srv_text t[] = {
		SRV_TEXT("bad\xfe" "byte", "<alice> bad" SRV_FFFD "byte"),
		SRV_TEXT("two\x80\x80", "<alice> two" SRV_FFFD SRV_FFFD),
		SRV_TEXT("ov\xc0\xaf" "er",
		    "<alice> ov" SRV_FFFD SRV_FFFD "er"),
		SRV_TEXT("sur\xed\xa0\x80" "x",
		    "<alice> sur" SRV_FFFD SRV_FFFD SRV_FFFD "x"),
		SRV_TEXT("big\xf4\x90\x80\x80" "x",
		    "<alice> big" SRV_FFFD SRV_FFFD SRV_FFFD SRV_FFFD "x"),
		SRV_TEXT("cut\xe2\x82" "x", "<alice> cut" SRV_FFFD "x"),
		SRV_TEXT("end\xe2\x82", "<alice> end" SRV_FFFD),
		SRV_TEXT("four\xf0\x9f\x98" "x", "<alice> four" SRV_FFFD "x"),
		SRV_TEXT("ok \xf0\x9f\x98\x80", "<alice> ok \xf0\x9f\x98\x80"),
		/* IAC IAC is a literal 0xff, which is not UTF-8. */
		SRV_TEXT("ff\xff\xff" "x", "<alice> ff" SRV_FFFD "x"),
	};
	struct h_server	 s;
	struct h_conn	*a, *b;
	size_t		 i;

	h_server_start(&s, NULL);
	a = h_join_as(s.port, "alice");
	b = h_join_as(s.port, "bob");
	srv_drain(a, b, NULL);
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		srv_send_line(a, t[i].sent, t[i].len);
		h_expect(b, t[i].seen);
	}
	srv_sync(a);
	srv_sync(b);
	h_close(a);
	h_close(b);
	srv_stop(&s);
}
END_TEST

START_TEST(test_controls_everywhere)
{
	struct h_server	 s;
	struct h_conn	*a, *b;

	h_server_start(&s, NULL);
	a = h_join_as(s.port, "alice");
	b = h_join_as(s.port, "bob");
	srv_drain(a, b, NULL);
	h_send(a, "/me \x1b[1mbolds\x7f");
	h_expect(b, "* alice [1mbolds");
	h_send(a, "/msg bob a\x1b" "b\xc2\x9b" "c\xfe");
	h_expect(b, "*alice* abc" SRV_FFFD);
	h_expect(a, "-> *bob* abc" SRV_FFFD);
	h_send(a, "/topic t\x07op\x1b" "ic");
	h_expect(a, "-!- alice set the topic: topic");
	h_expect(b, "-!- alice set the topic: topic");
	h_send(b, "/topic");
	h_expect(b, "-!- topic for #lobby: topic");
	h_send(a, "/quit bye\x1b!\x01");
	srv_expect_notice(a);
	h_expect_eof(a, H_TIMEOUT_MS);
	h_expect(b, "-!- alice quit (bye!)");
	srv_sync(b);
	h_close(a);
	h_close(b);
	srv_stop(&s);
}
END_TEST

/*
 * 2, 8. Telnet
 */

START_TEST(test_telnet_do)
{
	struct h_server	 s;
	struct h_conn	*t;

	h_server_start(&s, NULL);
	t = h_join_as(s.port, "tel");
	srv_sync(t);
	SRV_TELNET(t, "\xff\xfd\x01", "\xff\xfc\x01");
	/* Each DO is answered once, even when asked twice. */
	SRV_TELNET(t, "\xff\xfd\x01", "");
	SRV_TELNET(t, "\xff\xfd\x03\xff\xfd\x03", "\xff\xfc\x03");
	SRV_TELNET(t, "\xff\xfd\x03", "");
	SRV_TELNET(t, "\xff\xfd\x18\xff\xfd\x1f", "\xff\xfc\x18\xff\xfc\x1f");
	srv_sync(t);
	h_close(t);
	srv_stop(&s);
}
END_TEST

START_TEST(test_telnet_will)
{
	struct h_server	 s;
	struct h_conn	*t;

	h_server_start(&s, NULL);
	t = h_join_as(s.port, "tel");
	srv_sync(t);
	SRV_TELNET(t, "\xff\xfb\x03", "\xff\xfe\x03");
	SRV_TELNET(t, "\xff\xfb\x03", "");
	SRV_TELNET(t, "\xff\xfb\x01\xff\xfb\x01", "\xff\xfe\x01");
	/* DO and WILL of one option are answered separately. */
	SRV_TELNET(t, "\xff\xfd\x03", "\xff\xfc\x03");
	srv_sync(t);
	h_close(t);
	srv_stop(&s);
}
END_TEST

START_TEST(test_telnet_wont_dont)
{
	struct h_server	 s;
	struct h_conn	*t;

	h_server_start(&s, NULL);
	t = h_join_as(s.port, "tel");
	srv_sync(t);
	SRV_TELNET(t, "\xff\xfc\x01", "");
	SRV_TELNET(t, "\xff\xfe\x01", "");
	SRV_TELNET(t, "\xff\xfc\x03\xff\xfe\x03\xff\xfc\x03", "");
	/* NOP and subnegotiation get no answer either. */
	SRV_TELNET(t, "\xff\xf1\xff\xfa\x18\x01" "xterm\xff\xf0", "");
	/* Refusals do not use up the one answer to a DO. */
	SRV_TELNET(t, "\xff\xfd\x01", "\xff\xfc\x01");
	srv_sync(t);
	h_close(t);
	srv_stop(&s);
}
END_TEST

START_TEST(test_telnet_in_line)
{
	struct h_server	 s;
	struct h_conn	*t, *p;

	h_server_start(&s, NULL);
	t = h_join_as(s.port, "tel");
	p = h_join_as(s.port, "plain");
	srv_drain(t, p, NULL);
	SRV_TELNET(t, "he\xff\xfd\x05" "llo\n", "\xff\xfc\x05");
	h_expect(p, "<tel> hello");
	/* Subnegotiation, NOP and IAC IAC inside a line. */
	SRV_TELNET(t, "a\xff\xfa\x18\x01" "xterm\xff\xf0" "b\n", "");
	h_expect(p, "<tel> ab");
	SRV_TELNET(t, "c\xff\xf1" "d\n", "");
	h_expect(p, "<tel> cd");
	SRV_TELNET(t, "e\xff\xff" "f\n", "");
	h_expect(p, "<tel> e" SRV_FFFD "f");
	/* An IAC sequence split between writes. */
	SRV_RAW(t, "x\xff");
	h_expect_quiet(p, SRV_QUIET_MS);
	SRV_TELNET(t, "\xfb\x07" "y\r\n", "\xff\xfe\x07");
	h_expect(p, "<tel> xy");
	/* A command line with telnet inside, ended by CR NUL. */
	SRV_TELNET(t, "/msg pl\xff\xfd\x06" "ain hi\r\0",
	    "\xff\xfc\x06" "-> *plain* hi\r\n");
	h_expect(p, "*tel* hi");
	srv_sync(p);
	h_close(t);
	h_close(p);
	srv_stop(&s);
}
END_TEST

START_TEST(test_telnet_no_iac)
{
	static const char chat[] =
	    "<tel> 0xff: " SRV_FFFD ", bad: " SRV_FFFD SRV_FFFD "\r\n";
	static const char quit[] = "-!- tel quit (" SRV_FFFD ")\r\n";
	struct h_server	 s;
	struct h_conn	*t, *p;
	char		 raw[1 << 16];
	size_t		 n;

	h_server_start(&s, NULL);
	p = h_join_as(s.port, "plain");
	t = h_join_as(s.port, "tel");
	srv_drain(t, NULL);
	SRV_TELNET(t, "\xff\xfd\x01\xff\xfb\x03", "\xff\xfc\x01\xff\xfe\x03");
	SRV_TELNET(t, "0xff: \xff\xff, bad: \xfe\xfd\n", "");
	SRV_TELNET(t, "/me \xff\xff\xff\xfd\x01\n", "");
	SRV_TELNET(t, "/topic \xff\xff\n",
	    "-!- tel set the topic: " SRV_FFFD "\r\n");
	SRV_TELNET(t, "/msg plain \xff\xff\n", "-> *plain* " SRV_FFFD "\r\n");
	h_send(t, "/quit \xff\xff");
	h_expect_eof(t, H_TIMEOUT_MS);	/* after the departure notice */
	/* Everything the plain client got, raw: not one 0xff byte. */
	n = srv_raw_sync(p, raw, sizeof raw);
	ck_assert_msg(memchr(raw, 0xff, n) == NULL,
	    "a client that never sent IAC received a 0xff byte");
	ck_assert_msg(memmem(raw, n, chat, sizeof chat - 1) != NULL,
	    "the plain client did not get the telnet client's chat");
	ck_assert_msg(memmem(raw, n, quit, sizeof quit - 1) != NULL,
	    "the plain client did not get the telnet client's quit");
	h_close(t);
	h_close(p);
	srv_stop(&s);
}
END_TEST

static Suite *
srv_suite(void)
{
	Suite	*s = suite_create("server");
	TCase	*tc;

	tc = tcase_create("transport");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_listen_port_zero);
	tcase_add_test(tc, test_listen_ipv6);
	tcase_add_test(tc, test_reuseaddr);
	tcase_add_test(tc, test_sigpipe);
	suite_add_tcase(s, tc);

	tc = tcase_create("welcome");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_welcome_alone);
	tcase_add_test(tc, test_welcome_others);
	tcase_add_test(tc, test_guest_nicks);
	tcase_add_test(tc, test_motd);
	tcase_add_test(tc, test_motd_missing);
	suite_add_tcase(s, tc);

	tc = tcase_create("chat");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_chat_basic);
	tcase_add_test(tc, test_chat_empty_lines);
	tcase_add_test(tc, test_chat_framing);
	tcase_add_test(tc, test_room_isolation);
	suite_add_tcase(s, tc);

	tc = tcase_create("commands");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_help);
	tcase_add_test(tc, test_nick);
	tcase_add_test(tc, test_join_part);
	tcase_add_test(tc, test_rooms);
	tcase_add_test(tc, test_who);
	tcase_add_test(tc, test_msg);
	tcase_add_test(tc, test_me);
	tcase_add_test(tc, test_topic);
	tcase_add_test(tc, test_topic_forgotten);
	tcase_add_test(tc, test_quit);
	tcase_add_test(tc, test_close);
	tcase_add_test(tc, test_command_case);
	suite_add_tcase(s, tc);

	tc = tcase_create("history");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_history_default);
	tcase_add_test(tc, test_history_limit);
	tcase_add_test(tc, test_history_none);
	tcase_add_test(tc, test_history_private);
	tcase_add_test(tc, test_history_forgotten);
	tcase_add_test(tc, test_history_zero);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_error_unknown);
	tcase_add_test(tc, test_error_nick);
	tcase_add_test(tc, test_error_join_part);
	tcase_add_test(tc, test_error_msg_who);
	tcase_add_test(tc, test_error_arity);
	suite_add_tcase(s, tc);

	tc = tcase_create("names");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_names_korean);
	tcase_add_test(tc, test_names_case);
	tcase_add_test(tc, test_names_length);
	suite_add_tcase(s, tc);

	tc = tcase_create("lines");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_max_line_default);
	tcase_add_test(tc, test_max_line_small);
	tcase_add_test(tc, test_overlong_lines);
	tcase_add_test(tc, test_no_lf);
	tcase_add_test(tc, test_controls);
	tcase_add_test(tc, test_utf8);
	tcase_add_test(tc, test_controls_everywhere);
	suite_add_tcase(s, tc);

	tc = tcase_create("telnet");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_telnet_do);
	tcase_add_test(tc, test_telnet_will);
	tcase_add_test(tc, test_telnet_wont_dont);
	tcase_add_test(tc, test_telnet_in_line);
	tcase_add_test(tc, test_telnet_no_iac);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(srv_suite());
}
