/*
 * harness: the real evchatd on loopback, driven line by line.  Nothing
 * here sleeps to synchronise: every wait is for a line, with a timeout.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* Logs this process made, removed when it exits. */
static char	h_logs[16][64];
static int	h_nlogs;

static void
h_unlink_logs(void)
{
	while (h_nlogs > 0)
		unlink(h_logs[--h_nlogs]);
}

/* Milliseconds on the monotonic clock. */
static long long
h_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
h_server_start(struct h_server *s, const char *const *args)
{
	h_server_start_port(s, 0, args);
}

void
h_server_start_port(struct h_server *s, int port, const char *const *args)
{
	const char	*bin = getenv("EVCHATD");
	char		*argv[64];
	char		 buf[4096], *p, addr[32];
	int		 fd, n = 0, i;
	long long	 deadline;
	ssize_t		 r;

	if (bin == NULL)
		bin = "./evchatd";
	snprintf(s->log, sizeof s->log, "/tmp/evchat-test.XXXXXX");
	ck_assert_int_ne(fd = mkstemp(s->log), -1);
	if (h_nlogs == 0)
		atexit(h_unlink_logs);
	if (h_nlogs < 16)
		snprintf(h_logs[h_nlogs++], sizeof h_logs[0], "%s", s->log);
	argv[n++] = strdup(bin);
	argv[n++] = strdup("-l");
	snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
	argv[n++] = strdup(addr);
	for (i = 0; args != NULL && args[i] != NULL && n < 62; i++)
		argv[n++] = strdup(args[i]);
	argv[n] = NULL;
	ck_assert_int_ne(s->pid = fork(), -1);
	if (s->pid == 0) {
		dup2(fd, 2);
		close(fd);
		execv(bin, argv);
		_exit(127);
	}
	while (n > 0)
		free(argv[--n]);
	deadline = h_now() + H_TIMEOUT_MS;
	s->port = 0;
	while (s->port == 0 && h_now() < deadline) {
		r = pread(fd, buf, sizeof buf - 1, 0);
		buf[r > 0 ? r : 0] = '\0';
		if ((p = strstr(buf, "listening on 127.0.0.1:")) != NULL)
			s->port = atoi(p + strlen("listening on 127.0.0.1:"));
		else if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
			s->pid = -1;
			break;
		} else
			usleep(10000);
	}
	close(fd);
	if (s->port == 0)
		h_server_dump(s);
	ck_assert_msg(s->port != 0, "evchatd did not report its port");
}

int
h_server_wait(struct h_server *s, int timeout_ms)
{
	long long	deadline = h_now() + timeout_ms;
	int		status;

	if (s->pid <= 0)
		return -1;
	while (h_now() < deadline) {
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			s->pid = -1;
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		}
		usleep(5000);
	}
	return -1;
}

int
h_server_stop(struct h_server *s)
{
	int	rc;

	if (s->pid <= 0)
		return -1;
	kill(s->pid, SIGTERM);
	if ((rc = h_server_wait(s, 20000)) == -1 && s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		s->pid = -1;
	}
	return rc;
}

int
h_server_log_has(const struct h_server *s, const char *text)
{
	FILE	*f = fopen(s->log, "r");
	char	 line[4096];
	int	 found = 0;

	if (f == NULL)
		return 0;
	while (!found && fgets(line, sizeof line, f) != NULL)
		found = strstr(line, text) != NULL;
	fclose(f);
	return found;
}

void
h_server_dump(const struct h_server *s)
{
	FILE	*f = fopen(s->log, "r");
	char	 line[4096];

	if (f == NULL)
		return;
	fprintf(stderr, "--- evchatd log %s\n", s->log);
	while (fgets(line, sizeof line, f) != NULL)
		fputs(line, stderr);
	fclose(f);
}

struct h_conn *
h_connect(int port)
{
	struct h_conn		*c = calloc(1, sizeof *c);
	struct sockaddr_in	 sin;

	ck_assert_ptr_nonnull(c);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ne(c->fd = socket(AF_INET, SOCK_STREAM, 0), -1);
	ck_assert_msg(connect(c->fd, (struct sockaddr *)&sin, sizeof sin) == 0,
	    "connect: %s", strerror(errno));
	return c;
}

struct h_conn *
h_join(int port)
{
	struct h_conn	*c = h_connect(port);
	const char	*l;

	l = h_expect_prefix(c, "-!- welcome to evchat, ");
	snprintf(c->nick, sizeof c->nick, "%.*s",
	    (int)strcspn(l + strlen("-!- welcome to evchat, "), "!"),
	    l + strlen("-!- welcome to evchat, "));
	h_expect_prefix(c, "-!- you joined #lobby");
	return c;
}

struct h_conn *
h_join_as(int port, const char *nick)
{
	struct h_conn	*c = h_join(port);
	char		 want[128];

	h_send(c, "/nick %s", nick);
	snprintf(want, sizeof want, "-!- you are now known as %s", nick);
	h_expect_skip(c, want);
	snprintf(c->nick, sizeof c->nick, "%s", nick);
	return c;
}

void
h_close(struct h_conn *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	free(c);
}

void
h_send_raw(struct h_conn *c, const void *data, size_t len)
{
	const char	*p = data;
	ssize_t		 n;

	while (len > 0) {
		n = write(c->fd, p, len);
		ck_assert_msg(n > 0, "write: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
}

void
h_send(struct h_conn *c, const char *fmt, ...)
{
	char	buf[1 << 16];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
	va_end(ap);
	ck_assert(n >= 0 && (size_t)n < sizeof buf - 1);
	buf[n++] = '\n';
	h_send_raw(c, buf, (size_t)n);
}

/* Take one CRLF line out of buf if there is one. */
static const char *
h_take_line(struct h_conn *c)
{
	char	*nl = memchr(c->buf, '\n', c->len);
	size_t	 n;

	if (nl == NULL)
		return NULL;
	n = (size_t)(nl - c->buf);
	ck_assert_msg(n > 0 && c->buf[n - 1] == '\r',
	    "line not ended by CRLF: %.*s", (int)n, c->buf);
	ck_assert(n - 1 < sizeof c->line);
	memcpy(c->line, c->buf, n - 1);
	c->line[n - 1] = '\0';
	c->len -= n + 1;
	memmove(c->buf, nl + 1, c->len);
	return c->line;
}

/* Read more bytes within the deadline; 0 on EOF or timeout. */
static int
h_fill(struct h_conn *c, long long deadline)
{
	struct pollfd	pfd = { c->fd, POLLIN, 0 };
	long long	left = deadline - h_now();
	ssize_t		n;

	if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
		return 0;
	ck_assert_msg(c->len < sizeof c->buf, "input buffer full");
	n = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
	if (n <= 0)
		return 0;
	c->len += (size_t)n;
	return 1;
}

const char *
h_line(struct h_conn *c, int timeout_ms)
{
	long long	 deadline = h_now() + timeout_ms;
	const char	*l;

	while ((l = h_take_line(c)) == NULL)
		if (!h_fill(c, deadline))
			return NULL;
	return l;
}

void
h_expect(struct h_conn *c, const char *want)
{
	const char	*l = h_line(c, H_TIMEOUT_MS);

	ck_assert_msg(l != NULL, "wanted '%s', got nothing", want);
	ck_assert_msg(strcmp(l, want) == 0, "wanted '%s', got '%s'", want, l);
}

void
h_expect_skip(struct h_conn *c, const char *want)
{
	long long	 deadline = h_now() + H_TIMEOUT_MS;
	const char	*l;

	do {
		l = h_line(c, (int)(deadline - h_now()));
		ck_assert_msg(l != NULL, "wanted '%s', never came", want);
	} while (strcmp(l, want) != 0);
}

const char *
h_expect_prefix(struct h_conn *c, const char *prefix)
{
	long long	 deadline = h_now() + H_TIMEOUT_MS;
	const char	*l;

	do {
		l = h_line(c, (int)(deadline - h_now()));
		ck_assert_msg(l != NULL, "wanted '%s…', never came", prefix);
	} while (strncmp(l, prefix, strlen(prefix)) != 0);
	return l;
}

void
h_expect_quiet(struct h_conn *c, int timeout_ms)
{
	const char	*l = h_line(c, timeout_ms);

	ck_assert_msg(l == NULL, "wanted silence, got '%s'", l);
	ck_assert_msg(c->len == 0, "wanted silence, got a partial line");
}

int
h_expect_eof(struct h_conn *c, int timeout_ms)
{
	long long	deadline = h_now() + timeout_ms;
	struct pollfd	pfd = { c->fd, POLLIN, 0 };
	char		buf[4096];
	ssize_t		n;

	for (;;) {
		long long left = deadline - h_now();

		ck_assert_msg(left > 0 && poll(&pfd, 1, (int)left) == 1,
		    "no EOF within %d ms", timeout_ms);
		n = read(c->fd, buf, sizeof buf);
		ck_assert_msg(n >= 0, "read: %s (wanted a clean EOF)",
		    strerror(errno));
		if (n == 0)
			return 1;
	}
}

void
h_sync(struct h_conn *c)
{
	static unsigned	 n;
	char		 want[128];

	n++;
	h_send(c, "/msg %s sync-%u", c->nick, n);
	snprintf(want, sizeof want, "-> *%s* sync-%u", c->nick, n);
	h_expect_skip(c, want);
}
