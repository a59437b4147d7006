/*
 * check_cluster: evchatd's cluster mode (--redis) against the real thing:
 * a redis-server this file starts on a free loopback port and two or
 * three evchatd nodes sharing it.  Across nodes the cluster must behave
 * as the one server of PROTOCOL.md: chat and actions (never echoed, never
 * doubled), room isolation, nicks unique ignoring ASCII case, /msg, /who,
 * /rooms, history, joins, parts, nick changes, topics, the (N users)
 * counts, and guest nicks nobody else holds.  It must also survive its
 * failures: a node killed with SIGKILL frees its nicks within
 * --redis-ttl; Redis restarted empty under running nodes gives every
 * client one "link down" and one "link restored" notice, and the nodes
 * register again what they hold, renaming a user whose nick was taken on
 * both sides meanwhile; a node stopped with SIGTERM says its users quit
 * and leaves the others working.  --reuseport lets two nodes share a port.
 *
 * Across nodes delivery is asynchronous, so nothing here assumes that a
 * line from another node has arrived until it is seen.  A barrier (every
 * member of a room says a mark and waits for everyone else's) drains what
 * earlier actions sent.  After it, "nothing else arrived" is proved by a
 * strict next line that a later action on another node sent, and so comes
 * after whatever a bug would have sent, then by a short silence.  Sleeps
 * appear only in polls with a deadline and where silence is the claim.
 *
 * Each test starts its own redis-server and nodes and stops them; if it
 * fails, check kills the test's process group, and them with it.  The
 * program exits 77 (skipped) when evchatd was built without cluster mode
 * or redis-server is not in PATH.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define CL_TTL		2	/* --redis-ttl of every node, in seconds */
#define CL_TTL_ARG	"2"
#define CL_LINK_MS	10000	/* how long a node may take to link up */
#define CL_RESTORE_MS	15000	/* relinking: a 5 s backoff and a resync */
#define CL_QUIET_MS	300	/* how long silence must last to count */
#define CL_MAX_NODES	4
#define CL_MAX_CONNS	16	/* members one barrier may have */
#define CL_MAX_NEVER	4

#define CL_DOWN		"-!- cluster link down: only people on this " \
			    "server can hear you; reconnecting"
#define CL_RESTORED	"-!- cluster link restored"
#define CL_TAKEN	" is taken on another server; you are now known as "

/* A redis-server this test started. */
struct cl_redis {
	pid_t	pid;		/* -1 once stopped */
	int	port;		/* kept across a stop, for a restart */
	char	dir[64];	/* its fresh --dir, removed when it stops */
	char	addr[32];	/* 127.0.0.1:PORT, the --redis argument */
};

/* The nodes this test started, whose logs a failure prints. */
static struct h_server	*cl_nodes[CL_MAX_NODES];
static int		 cl_nnodes;

/* Lines that must not arrive any more on any connection (NULL-ended). */
static const char	*cl_never[CL_MAX_NEVER + 1];

/* Milliseconds on the monotonic clock. */
static long long
cl_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Fail the test, printing first the logs of the nodes still running. */
static void __attribute__((format(printf, 1, 2), noreturn))
cl_fail(const char *fmt, ...)
{
	char	msg[2048];
	va_list	ap;
	int	i;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	for (i = 0; i < cl_nnodes; i++)
		h_server_dump(cl_nodes[i]);
	ck_abort_msg("%s", msg);
}

/* A port of 127.0.0.1 that nobody is listening on, as the kernel found. */
static int
cl_free_port(void)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof sin;
	int			fd, port;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ne(fd = socket(AF_INET, SOCK_STREAM, 0), -1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/* Does a Redis on this port answer PING with +PONG? */
static int
cl_redis_ping(int port)
{
	struct sockaddr_in	sin;
	struct timeval		tv = { 0, 500000 };
	char			buf[16];
	size_t			len = 0;
	ssize_t			n;
	int			fd;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return 0;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0 ||
	    write(fd, "PING\r\n", 6) != 6) {
		close(fd);
		return 0;
	}
	while (len < 7 && (n = read(fd, buf + len, 7 - len)) > 0)
		len += (size_t)n;
	close(fd);
	return len == 7 && memcmp(buf, "+PONG\r\n", 7) == 0;
}

/* Remove a directory and the files in it. */
static void
cl_rmdir(const char *path)
{
	DIR		*d = opendir(path);
	struct dirent	*e;
	char		 file[512];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(file, sizeof file, "%s/%s", path, e->d_name);
		unlink(file);
	}
	closedir(d);
	rmdir(path);
}

/* Fork and exec redis-server on port with no persistence; its pid. */
static pid_t
cl_redis_spawn(const char *dir, int port)
{
	char	pstr[16];
	pid_t	pid;
	int	fd;

	snprintf(pstr, sizeof pstr, "%d", port);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		if ((fd = open("/dev/null", O_RDWR)) != -1) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp("redis-server", "redis-server", "--port", pstr,
		    "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		    "--daemonize", "no", "--dir", dir, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/*
 * Start redis-server on port (a free one if 0) and wait until it answers
 * PING.  A free port can be taken before Redis binds it: then try another.
 */
static void
cl_redis_start(struct cl_redis *r, int port)
{
	long long	deadline;
	int		try, up = 0;

	for (try = 0; try < 3 && !up; try++) {
		r->port = port != 0 ? port : cl_free_port();
		snprintf(r->dir, sizeof r->dir, "/tmp/evchat-redis.XXXXXX");
		ck_assert_ptr_nonnull(mkdtemp(r->dir));
		r->pid = cl_redis_spawn(r->dir, r->port);
		deadline = cl_now() + 5000;
		while (!(up = cl_redis_ping(r->port)) && cl_now() < deadline) {
			if (waitpid(r->pid, NULL, WNOHANG) == r->pid) {
				r->pid = -1;
				break;
			}
			usleep(10000);
		}
		if (!up) {
			if (r->pid > 0) {
				kill(r->pid, SIGKILL);
				waitpid(r->pid, NULL, 0);
			}
			cl_rmdir(r->dir);
		}
	}
	ck_assert_msg(up, "redis-server did not start on port %d", r->port);
	snprintf(r->addr, sizeof r->addr, "127.0.0.1:%d", r->port);
}

/* SIGTERM redis-server, wait for it (SIGKILL after 5 s), remove its dir. */
static void
cl_redis_stop(struct cl_redis *r)
{
	long long	deadline = cl_now() + 5000;

	if (r->pid <= 0)
		return;
	kill(r->pid, SIGTERM);
	while (waitpid(r->pid, NULL, WNOHANG) != r->pid) {
		if (cl_now() > deadline) {
			kill(r->pid, SIGKILL);
			waitpid(r->pid, NULL, 0);
			break;
		}
		usleep(5000);
	}
	r->pid = -1;
	cl_rmdir(r->dir);
}

/* How many lines of a node's log contain text. */
static int
cl_log_count(const struct h_server *s, const char *text)
{
	FILE	*f = fopen(s->log, "r");
	char	 line[4096];
	int	 n = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof line, f) != NULL)
		if (strstr(line, text) != NULL)
			n++;
	fclose(f);
	return n;
}

/* Wait until count lines of a node's log contain text; fail after ms. */
static void
cl_wait_log(const struct h_server *s, const char *text, int count, int ms)
{
	long long	deadline = cl_now() + ms;

	while (cl_log_count(s, text) < count) {
		if (cl_now() > deadline)
			cl_fail("node %d: the log never said '%s' %d time(s)",
			    s->port, text, count);
		usleep(20000);
	}
}

/*
 * Start a node of the cluster on r, listening on port (0: any), with the
 * short --redis-ttl and --grace of these tests and extra arguments; wait
 * until its link is up, so that no client is served in local-only mode.
 */
static void
cl_node_start_port(struct h_server *s, int port, const struct cl_redis *r,
    const char *const *extra)
{
	const char	*args[32];
	int		 n = 0, i;

	args[n++] = "--redis";
	args[n++] = r->addr;
	args[n++] = "--redis-ttl";
	args[n++] = CL_TTL_ARG;
	args[n++] = "--grace";
	args[n++] = "2";
	for (i = 0; extra != NULL && extra[i] != NULL && n < 31; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	h_server_start_port(s, port, args);
	if (cl_nnodes < CL_MAX_NODES)
		cl_nodes[cl_nnodes++] = s;
	cl_wait_log(s, "cluster link up", 1, CL_LINK_MS);
}

/* The same on any free port. */
static void
cl_node_start(struct h_server *s, const struct cl_redis *r,
    const char *const *extra)
{
	cl_node_start_port(s, 0, r, extra);
}

/* Stop a node (if it still runs) and remove its log. */
static void
cl_node_stop(struct h_server *s)
{
	int	i;

	h_server_stop(s);
	unlink(s->log);
	for (i = 0; i < cl_nnodes; i++)
		if (cl_nodes[i] == s)
			cl_nodes[i] = cl_nodes[--cl_nnodes];
}

/* Start Redis and n nodes on it, extra arguments for each node. */
static void
cl_up(struct cl_redis *r, struct h_server *s, int n,
    const char *const *extra)
{
	int	i;

	cl_redis_start(r, 0);
	for (i = 0; i < n; i++)
		cl_node_start(&s[i], r, extra);
}

/* Stop n nodes, then Redis. */
static void
cl_down(struct cl_redis *r, struct h_server *s, int n)
{
	int	i;

	for (i = 0; i < n; i++)
		cl_node_stop(&s[i]);
	cl_redis_stop(r);
}

/* Close the connections of a NULL-ended list. */
static void
cl_close(struct h_conn *c, ...)
{
	va_list	ap;

	va_start(ap, c);
	for (; c != NULL; c = va_arg(ap, struct h_conn *))
		h_close(c);
	va_end(ap);
}

/* The next line before the deadline, or NULL; fails on a cl_never line. */
static const char *
cl_line(struct h_conn *c, long long deadline)
{
	long long	 left = deadline - cl_now();
	const char	*l = h_line(c, left > 1 ? (int)left : 1);
	int		 i;

	for (i = 0; l != NULL && cl_never[i] != NULL; i++)
		if (strcmp(l, cl_never[i]) == 0)
			cl_fail("%s: got '%s', which must not come again",
			    c->nick, l);
	return l;
}

/* The very next line must be want. */
static void
cl_expect(struct h_conn *c, const char *want)
{
	const char	*l = cl_line(c, cl_now() + H_TIMEOUT_MS);

	if (l == NULL)
		cl_fail("%s: wanted '%s', got nothing", c->nick, want);
	if (strcmp(l, want) != 0)
		cl_fail("%s: wanted '%s', got '%s'", c->nick, want, l);
}

/* cl_expect with a printf format. */
static void __attribute__((format(printf, 2, 3)))
cl_expectf(struct h_conn *c, const char *fmt, ...)
{
	char	want[1024];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof want, fmt, ap);
	va_end(ap);
	cl_expect(c, want);
}

/* Skip lines until one is want; fail if it does not come within ms. */
static void
cl_skip_ms(struct h_conn *c, const char *want, int ms)
{
	long long	 deadline = cl_now() + ms;
	const char	*l;

	do {
		if ((l = cl_line(c, deadline)) == NULL)
			cl_fail("%s: wanted '%s', never came", c->nick, want);
	} while (strcmp(l, want) != 0);
}

/* Skip lines until one starts with prefix; returns it. */
static const char *
cl_skip_prefix(struct h_conn *c, const char *prefix)
{
	long long	 deadline = cl_now() + H_TIMEOUT_MS;
	const char	*l;

	do {
		if ((l = cl_line(c, deadline)) == NULL)
			cl_fail("%s: wanted '%s...', never came", c->nick,
			    prefix);
	} while (strncmp(l, prefix, strlen(prefix)) != 0);
	return l;
}

/* Skip lines until every one of want[0..n-1] has come, in any order. */
static void
cl_await(struct h_conn *c, const char *const *want, int n)
{
	long long	 deadline = cl_now() + H_TIMEOUT_MS;
	unsigned	 seen = 0, all = (1u << n) - 1;
	const char	*l;
	int		 i;

	while (seen != all) {
		if ((l = cl_line(c, deadline)) == NULL) {
			for (i = 0; i < n && (seen & (1u << i)); i++)
				;
			cl_fail("%s: wanted '%s', never came", c->nick,
			    want[i]);
		}
		for (i = 0; i < n; i++)
			if (!(seen & (1u << i)) && strcmp(l, want[i]) == 0) {
				seen |= 1u << i;
				break;
			}
	}
}

/* Gather a NULL-ended list of connections into m; returns how many. */
static int
cl_list(struct h_conn **m, struct h_conn *c, va_list ap)
{
	int	n = 0;

	for (; c != NULL; c = va_arg(ap, struct h_conn *)) {
		ck_assert_int_lt(n, CL_MAX_CONNS);
		m[n++] = c;
	}
	return n;
}

/*
 * A barrier for the members of one room (a NULL-ended list): each says a
 * mark, then each waits for everyone else's.  A node sends a room's lines
 * in order, so afterwards everything the room was sent before has arrived.
 */
static void
cl_barrier(struct h_conn *c, ...)
{
	static unsigned	 seq;
	struct h_conn	*m[CL_MAX_CONNS];
	char		 want[CL_MAX_CONNS][128];
	const char	*w[CL_MAX_CONNS];
	va_list		 ap;
	int		 n, i, j, k;

	va_start(ap, c);
	n = cl_list(m, c, ap);
	va_end(ap);
	seq++;
	for (i = 0; i < n; i++) {
		h_send(m[i], "mark-%u-%d", seq, i);
		snprintf(want[i], sizeof want[i], "<%s> mark-%u-%d",
		    m[i]->nick, seq, i);
	}
	for (j = 0; j < n; j++) {
		for (i = k = 0; i < n; i++)
			if (i != j)
				w[k++] = want[i];
		cl_await(m[j], w, k);
	}
}

/* Silence on every connection of a NULL-ended list for CL_QUIET_MS. */
static void
cl_quiet(struct h_conn *c, ...)
{
	struct h_conn	*m[CL_MAX_CONNS];
	va_list		 ap;
	int		 n, i;

	va_start(ap, c);
	n = cl_list(m, c, ap);
	va_end(ap);
	usleep(CL_QUIET_MS * 1000);
	for (i = 0; i < n; i++)
		h_expect_quiet(m[i], 1);
}

/*
 * Join room; the answer must be "you joined #room (N users)" (when
 * users > 0).  Lines the old room sent before it are skipped; the topic
 * and history lines after it are left to read.
 */
static void
cl_move(struct h_conn *c, const char *room, int users)
{
	char		 prefix[128], want[160];
	const char	*l;

	h_send(c, "/join %s", room);
	snprintf(prefix, sizeof prefix, "-!- you joined #%s (",
	    room + (room[0] == '#'));
	l = cl_skip_prefix(c, prefix);
	snprintf(want, sizeof want, "%s%d user%s)", prefix, users,
	    users == 1 ? "" : "s");
	if (users > 0 && strcmp(l, want) != 0)
		cl_fail("%s: wanted '%s', got '%s'", c->nick, want, l);
}

/* Connect as a guest; "you joined #lobby (N users)" if users > 0. */
static struct h_conn *
cl_guest(int port, int users)
{
	struct h_conn	*c = h_connect(port);
	const char	*l;
	char		 want[128];

	l = cl_skip_prefix(c, "-!- welcome to evchat, ");
	l += strlen("-!- welcome to evchat, ");
	snprintf(c->nick, sizeof c->nick, "%.*s", (int)strcspn(l, "!"), l);
	l = cl_skip_prefix(c, "-!- you joined #lobby (");
	snprintf(want, sizeof want, "-!- you joined #lobby (%d user%s)",
	    users, users == 1 ? "" : "s");
	if (users > 0 && strcmp(l, want) != 0)
		cl_fail("%s: wanted '%s', got '%s'", c->nick, want, l);
	return c;
}

/* A guest nick's number, or -1 if it is not "guest-" and a decimal. */
static long
cl_guest_number(const char *nick)
{
	size_t	n;

	if (strncmp(nick, "guest-", 6) != 0)
		return -1;
	n = strspn(nick + 6, "0123456789");
	if (n == 0 || n > 18 || nick[6 + n] != '\0')
		return -1;
	return atol(nick + 6);
}

/* Skip lines until one starts with p1 or with p2; returns it. */
static const char *
cl_answer(struct h_conn *c, const char *p1, const char *p2)
{
	long long	 deadline = cl_now() + H_TIMEOUT_MS;
	const char	*l;

	for (;;) {
		if ((l = cl_line(c, deadline)) == NULL)
			cl_fail("%s: wanted '%s...' or '%s...', never came",
			    c->nick, p1, p2);
		if (strncmp(l, p1, strlen(p1)) == 0 ||
		    strncmp(l, p2, strlen(p2)) == 0)
			return l;
	}
}

/*
 * Read the answer to "/nick name": "-!- you are now known as NAME" (then
 * c->nick follows) or "-!- error: ...".  Returns it.
 */
static const char *
cl_nick_answer(struct h_conn *c, const char *name)
{
	const char	*l;

	l = cl_answer(c, "-!- error: ", "-!- you are now known as ");
	if (strncmp(l, "-!- error: ", 11) == 0)
		return l;
	if (strcmp(l + 25, name) != 0)
		cl_fail("%s: '/nick %s' answered '%s'", c->nick, name, l);
	snprintf(c->nick, sizeof c->nick, "%s", name);
	return l;
}

/* Send /nick name; returns the answer, as cl_nick_answer. */
static const char *
cl_try_nick(struct h_conn *c, const char *name)
{
	h_send(c, "/nick %s", name);
	return cl_nick_answer(c, name);
}

/* /nick name must succeed. */
static void
cl_nick(struct h_conn *c, const char *name)
{
	const char	*l = cl_try_nick(c, name);

	if (strncmp(l, "-!- error: ", 11) == 0)
		cl_fail("'/nick %s' was refused: '%s'", name, l);
}

/* /nick name must be refused as in use (exactly want, unless NULL). */
static void
cl_nick_taken(struct h_conn *c, const char *name, const char *want)
{
	const char	*l = cl_try_nick(c, name);

	if (strncmp(l, "-!- error: ", 11) != 0 ||
	    strstr(l, "already in use") == NULL)
		cl_fail("'/nick %s' on another node than its holder: wanted "
		    "'already in use', got '%s'", name, l);
	if (want != NULL && strcmp(l, want) != 0)
		cl_fail("'/nick %s': wanted '%s', got '%s'", name, want, l);
}

/* Send cmd; the first answer line starting "-!- #" must be want. */
static void
cl_who(struct h_conn *c, const char *cmd, const char *want)
{
	const char	*l;

	h_send(c, "%s", cmd);
	l = cl_skip_prefix(c, "-!- #");
	if (strcmp(l, want) != 0)
		cl_fail("%s: '%s' answered '%s', wanted '%s'", c->nick, cmd,
		    l, want);
}

/*
 * Send cmd and gather the want lines of its answer that start with
 * prefix (other lines are skipped), then CL_QUIET_MS more for extra ones.
 * The lines go into out; returns how many came.
 */
static int
cl_collect(struct h_conn *c, const char *cmd, const char *prefix, int want,
    char out[][256], int max)
{
	long long	 deadline = cl_now() + H_TIMEOUT_MS;
	const char	*l;
	int		 n = 0;

	h_send(c, "%s", cmd);
	while (n < max) {
		if (n == want)
			deadline = cl_now() + CL_QUIET_MS;
		if ((l = cl_line(c, deadline)) == NULL)
			break;
		if (strncmp(l, prefix, strlen(prefix)) == 0)
			snprintf(out[n++], 256, "%s", l);
	}
	return n;
}

/* Is line among the n lines of out? */
static int
cl_has(char out[][256], int n, const char *line)
{
	int	i;

	for (i = 0; i < n; i++)
		if (strcmp(out[i], line) == 0)
			return 1;
	return 0;
}

/* Does the space-separated list of nicks contain nick? */
static int
cl_word(const char *list, const char *nick)
{
	size_t	len = strlen(nick);

	while (*list != '\0') {
		if (strncmp(list, nick, len) == 0 &&
		    (list[len] == ' ' || list[len] == '\0'))
			return 1;
		list += strcspn(list, " ");
		list += strspn(list, " ");
	}
	return 0;
}

START_TEST(test_chat)
{
	struct cl_redis	 r;
	struct h_server	 s[2];
	struct h_conn	*a, *b, *c, *d;

	cl_up(&r, s, 2, NULL);
	a = h_join_as(s[0].port, "alice");
	c = h_join_as(s[0].port, "carol");
	b = h_join_as(s[1].port, "bob");
	d = h_join_as(s[1].port, "dave");
	cl_barrier(a, b, c, d, NULL);

	/* A to B: once to each member, on either node. */
	h_send(a, "hello from A");
	cl_expect(b, "<alice> hello from A");
	cl_expect(d, "<alice> hello from A");
	cl_expect(c, "<alice> hello from A");
	h_send(a, "/me waves");
	cl_expect(b, "* alice waves");
	cl_expect(d, "* alice waves");
	cl_expect(c, "* alice waves");
	/* B to A. */
	h_send(b, "hello from B");
	cl_expect(a, "<bob> hello from B");
	cl_expect(c, "<bob> hello from B");
	cl_expect(d, "<bob> hello from B");
	h_send(b, "/me bows");
	cl_expect(a, "* bob bows");
	cl_expect(c, "* bob bows");
	cl_expect(d, "* bob bows");
	/*
	 * No echo and no second copy: the next line each one gets is a
	 * later line from the other node.
	 */
	h_send(d, "later from B");
	cl_expect(a, "<dave> later from B");
	cl_expect(c, "<dave> later from B");
	cl_expect(b, "<dave> later from B");
	h_send(c, "later from A");
	cl_expect(b, "<carol> later from A");
	cl_expect(d, "<carol> later from A");
	cl_expect(a, "<carol> later from A");
	cl_quiet(a, b, c, d, NULL);
	cl_close(a, b, c, d, NULL);
	cl_down(&r, s, 2);
}
END_TEST

START_TEST(test_room_isolation)
{
	struct cl_redis	 r;
	struct h_server	 s[2];
	struct h_conn	*a, *e, *g, *b, *c, *d;

	/* #x: alice (A), dave (B); #y: erin (A), bob (B); #lobby: gail
	 * (A), carol (B). */
	cl_up(&r, s, 2, NULL);
	a = h_join_as(s[0].port, "alice");
	e = h_join_as(s[0].port, "erin");
	g = h_join_as(s[0].port, "gail");
	d = h_join_as(s[1].port, "dave");
	b = h_join_as(s[1].port, "bob");
	c = h_join_as(s[1].port, "carol");
	cl_move(a, "x", 1);
	cl_move(d, "x", 2);
	cl_move(e, "y", 1);
	cl_move(b, "y", 2);
	cl_barrier(a, d, NULL);
	cl_barrier(e, b, NULL);
	cl_barrier(g, c, NULL);

	/* #x on A: dave on B hears it; #y and #lobby on B do not. */
	h_send(a, "secret of x");
	h_send(a, "/me whispers");
	cl_expect(d, "<alice> secret of x");
	cl_expect(d, "* alice whispers");
	h_send(e, "said in y");
	cl_expect(b, "<erin> said in y");
	h_send(g, "said in lobby");
	cl_expect(c, "<gail> said in lobby");
	/* The same from B to A. */
	h_send(d, "secret of x too");
	h_send(d, "/me nods");
	cl_expect(a, "<dave> secret of x too");
	cl_expect(a, "* dave nods");
	h_send(b, "said in y too");
	cl_expect(e, "<bob> said in y too");
	h_send(c, "said in lobby too");
	cl_expect(g, "<carol> said in lobby too");
	cl_quiet(a, b, c, d, e, g, NULL);
	cl_close(a, b, c, d, e, g, NULL);
	cl_down(&r, s, 2);
}
END_TEST

START_TEST(test_nick_collision)
{
	struct cl_redis	 r;
	struct h_server	 s[2];
	struct h_conn	*a, *b, *x, *y, *lose;
	char		 guest[64], ans[2][256];

	cl_up(&r, s, 2, NULL);
	a = h_join_as(s[0].port, "alice");
	b = h_join(s[1].port);
	snprintf(guest, sizeof guest, "%s", b->nick);
	cl_barrier(a, b, NULL);

	/* Held on A, refused on B, ignoring ASCII case. */
	cl_nick_taken(b, "alice", "-!- error: nick alice is already in use");
	cl_nick_taken(b, "ALICE", NULL);
	cl_nick_taken(b, "aLiCe", NULL);
	/* Held on B, refused on A. */
	cl_nick(b, "Bob");
	cl_expectf(a, "-!- %s is now known as Bob", guest);
	cl_nick_taken(a, "bob", "-!- error: nick bob is already in use");
	cl_nick_taken(a, "BOB", NULL);
	/* A nick given up on B is free on A. */
	cl_nick(b, "robert");
	cl_expect(a, "-!- Bob is now known as robert");
	cl_nick(a, "BOB");
	cl_expect(b, "-!- alice is now known as BOB");
	cl_nick_taken(b, "bob", NULL);
	/* So is the nick of one who quit on A, once the quit is seen. */
	h_send(a, "/quit");
	cl_expect(b, "-!- BOB quit (leaving)");
	cl_nick(b, "bob");
	h_close(a);

	/* Two nodes claim one nick at once: exactly one gets it. */
	x = h_join(s[0].port);
	y = h_join(s[1].port);
	h_send(x, "/nick Carol");
	h_send(y, "/nick cAROL");
	snprintf(ans[0], sizeof ans[0], "%s", cl_nick_answer(x, "Carol"));
	snprintf(ans[1], sizeof ans[1], "%s", cl_nick_answer(y, "cAROL"));
	if ((strncmp(ans[0], "-!- error: ", 11) == 0) ==
	    (strncmp(ans[1], "-!- error: ", 11) == 0))
		cl_fail("one nick claimed on two nodes at once: A answered "
		    "'%s', B answered '%s'", ans[0], ans[1]);
	lose = strncmp(ans[0], "-!- error: ", 11) == 0 ? x : y;
	if (strstr(ans[lose == x ? 0 : 1], "already in use") == NULL)
		cl_fail("the loser of a nick race got '%s'",
		    ans[lose == x ? 0 : 1]);
	cl_nick_taken(lose, "carol", NULL);
	cl_close(b, x, y, NULL);
	cl_down(&r, s, 2);
}
END_TEST

START_TEST(test_msg)
{
	struct cl_redis	 r;
	struct h_server	 s[2];
	struct h_conn	*a, *b, *c, *d;

	cl_up(&r, s, 2, NULL);
	a = h_join_as(s[0].port, "alice");
	d = h_join_as(s[0].port, "dave");
	b = h_join_as(s[1].port, "Bob");
	c = h_join_as(s[1].port, "carol");
	cl_barrier(a, b, c, d, NULL);

	/* A to B; the copy spells the nick as its holder does. */
	h_send(a, "/msg bob psst");
	cl_expect(b, "*alice* psst");
	cl_expect(a, "-> *Bob* psst");
	h_send(a, "/msg BOB  two  spaces ");
	cl_expect(b, "*alice* two  spaces");
	cl_expect(a, "-> *Bob* two  spaces");
	/* B to A. */
	h_send(b, "/msg Alice back at you");
	cl_expect(a, "*Bob* back at you");
	cl_expect(b, "-> *alice* back at you");
	/* Nobody else saw them: the next line is a later one. */
	h_send(d, "after the secrets");
	cl_expect(c, "<dave> after the secrets");
	cl_expect(b, "<dave> after the secrets");
	cl_expect(a, "<dave> after the secrets");
	/* Across rooms and nodes. */
	cl_move(b, "far", 1);
	cl_skip_ms(a, "-!- Bob left #lobby", H_TIMEOUT_MS);
	cl_skip_ms(c, "-!- Bob left #lobby", H_TIMEOUT_MS);
	cl_skip_ms(d, "-!- Bob left #lobby", H_TIMEOUT_MS);
	h_send(d, "/msg bob across rooms");
	cl_expect(b, "*dave* across rooms");
	cl_expect(d, "-> *Bob* across rooms");
	/* Nobody by that name anywhere. */
	h_send(a, "/msg nobody hello?");
	cl_expect(a, "-!- error: no such nick: nobody (see /help)");
	h_send(b, "/msg nobody hello?");
	cl_expect(b, "-!- error: no such nick: nobody (see /help)");
	cl_quiet(a, b, c, d, NULL);
	cl_close(a, b, c, d, NULL);
	cl_down(&r, s, 2);
}
END_TEST

START_TEST(test_who_rooms)
{
	struct cl_redis	 r;
	struct h_server	 s[2];
	struct h_conn	*a, *b, *c, *d;
	char		 out[8][256];
	int		 n;

	cl_up(&r, s, 2, NULL);
	a = h_join_as(s[0].port, "alice");
	b = h_join_as(s[1].port, "bob");
	c = h_join_as(s[0].port, "carol");
	d = h_join_as(s[1].port, "dave");
	cl_barrier(a, b, c, d, NULL);

	/* Join order across nodes. */
	cl_who(a, "/who", "-!- #lobby (4 users): alice bob carol dave");
	cl_who(d, "/names", "-!- #lobby (4 users): alice bob carol dave");
	/* A room that exists only on B, asked from A. */
	cl_move(d, "side", 1);
	h_send(d, "/topic cats and dogs");
	cl_expect(d, "-!- dave set the topic: cats and dogs");
	cl_skip_ms(c, "-!- dave left #lobby", H_TIMEOUT_MS);
	cl_who(c, "/who side", "-!- #side (1 user): dave");
	cl_who(c, "/who #side", "-!- #side (1 user): dave");
	cl_who(a, "/who", "-!- #lobby (3 users): alice bob carol");
	/* Now on both. */
	cl_move(a, "side", 2);
	cl_expect(a, "-!- topic for #side: cats and dogs");
	cl_expect(d, "-!- alice joined #side");
	cl_who(b, "/who side", "-!- #side (2 users): dave alice");
	cl_who(a, "/who", "-!- #side (2 users): dave alice");
	cl_who(d, "/who lobby", "-!- #lobby (2 users): bob carol");
	/* Every room of the cluster, its count and topic, from each node. */
	n = cl_collect(c, "/rooms", "-!- #", 2, out, 8);
	ck_assert_msg(n == 2, "/rooms on A listed %d rooms", n);
	ck_assert(cl_has(out, n, "-!- #lobby (2 users)"));
	ck_assert(cl_has(out, n, "-!- #side (2 users): cats and dogs"));
	n = cl_collect(b, "/list", "-!- #", 2, out, 8);
	ck_assert_msg(n == 2, "/list on B listed %d rooms", n);
	ck_assert(cl_has(out, n, "-!- #lobby (2 users)"));
	ck_assert(cl_has(out, n, "-!- #side (2 users): cats and dogs"));
	h_send(b, "/who nosuch");
	cl_skip_prefix(b, "-!- error: ");
	/* The room's last members leave on both nodes: it is gone. */
	h_send(a, "/part");
	cl_skip_prefix(a, "-!- you joined #lobby (3 users)");
	h_send(d, "/part");
	cl_skip_prefix(d, "-!- you joined #lobby (4 users)");
	n = cl_collect(b, "/rooms", "-!- #", 1, out, 8);
	ck_assert_msg(n == 1, "/rooms listed %d rooms, wanted 1", n);
	ck_assert_str_eq(out[0], "-!- #lobby (4 users)");
	h_send(c, "/who side");
	cl_skip_prefix(c, "-!- error: ");
	cl_close(a, b, c, d, NULL);
	cl_down(&r, s, 2);
}
END_TEST

START_TEST(test_history)
{
	struct cl_redis	 r;
	struct h_server	 s[2];
	struct h_conn	*a, *b, *c, *d, *e;
	int		 i;

	cl_up(&r, s, 2, (const char *[]){ "--history", "5", NULL });
	a = h_join_as(s[0].port, "alice");
	c = h_join_as(s[1].port, "carol");
	b = h_join_as(s[1].port, "bob");
	d = h_join_as(s[0].port, "dave");
	cl_move(a, "hist", 1);
	cl_move(c, "hist", 2);
	cl_skip_ms(a, "-!- carol joined #hist", H_TIMEOUT_MS);
	/* Seven lines on A, carol on B as witness that they went out. */
	for (i = 1; i <= 7; i++)
		h_send(a, i == 4 ? "/me m%d" : "m%d", i);
	for (i = 1; i <= 7; i++)
		cl_expectf(c, i == 4 ? "* alice m%d" : "<alice> m%d", i);
	/* Joining on B: the last five, as first delivered. */
	cl_move(b, "hist", 3);
	cl_expect(b, "-!- last 5 messages in #hist:");
	cl_expect(b, "<alice> m3");
	cl_expect(b, "* alice m4");
	cl_expect(b, "<alice> m5");
	cl_expect(b, "<alice> m6");
	cl_expect(b, "<alice> m7");
	cl_expect(b, "-!- end of history");
	cl_expect(a, "-!- bob joined #hist");
	cl_expect(c, "-!- bob joined #hist");
	/* Lines from both nodes, in order, joining on A. */
	h_send(c, "from B");
	cl_expect(a, "<carol> from B");
	cl_expect(b, "<carol> from B");
	cl_move(d, "hist", 4);
	cl_expect(d, "-!- last 5 messages in #hist:");
	cl_expect(d, "* alice m4");
	cl_expect(d, "<alice> m5");
	cl_expect(d, "<alice> m6");
	cl_expect(d, "<alice> m7");
	cl_expect(d, "<carol> from B");
	cl_expect(d, "-!- end of history");
	cl_expect(a, "-!- dave joined #hist");
	cl_expect(b, "-!- dave joined #hist");
	cl_expect(c, "-!- dave joined #hist");
	cl_quiet(a, b, c, d, NULL);
	/* Once empty on every node, the room forgets its history. */
	cl_move(a, "lobby", 0);
	cl_move(b, "lobby", 0);
	cl_move(c, "lobby", 0);
	cl_move(d, "lobby", 0);
	e = h_join(s[1].port);
	cl_move(e, "hist", 1);
	cl_quiet(e, NULL);
	cl_close(a, b, c, d, e, NULL);
	cl_down(&r, s, 2);
}
END_TEST

START_TEST(test_room_events)
{
	struct cl_redis	 r;
	struct h_server	 s[2];
	struct h_conn	*a, *b, *c, *d;

	cl_up(&r, s, 2, NULL);
	a = h_join_as(s[0].port, "alice");
	b = h_join_as(s[1].port, "bob");
	c = h_join_as(s[0].port, "carol");
	d = h_join_as(s[1].port, "dave");
	cl_barrier(a, b, c, d, NULL);

	/* Joins and parts, counted on all nodes. */
	cl_move(a, "r", 1);
	cl_expect(b, "-!- alice left #lobby");
	cl_expect(c, "-!- alice left #lobby");
	cl_expect(d, "-!- alice left #lobby");
	cl_move(b, "#r", 2);
	cl_expect(a, "-!- bob joined #r");
	cl_expect(c, "-!- bob left #lobby");
	cl_expect(d, "-!- bob left #lobby");
	cl_move(c, "r", 3);
	cl_expect(a, "-!- carol joined #r");
	cl_expect(b, "-!- carol joined #r");
	cl_expect(d, "-!- carol left #lobby");
	/* A topic set on A; a joiner on B is told it. */
	h_send(a, "/topic cats");
	cl_expect(a, "-!- alice set the topic: cats");
	cl_expect(b, "-!- alice set the topic: cats");
	cl_expect(c, "-!- alice set the topic: cats");
	cl_move(d, "r", 4);
	cl_expect(d, "-!- topic for #r: cats");
	cl_expect(a, "-!- dave joined #r");
	cl_expect(b, "-!- dave joined #r");
	cl_expect(c, "-!- dave joined #r");
	/* Set again from B. */
	h_send(d, "/topic dogs");
	cl_expect(d, "-!- dave set the topic: dogs");
	cl_expect(a, "-!- dave set the topic: dogs");
	cl_expect(b, "-!- dave set the topic: dogs");
	cl_expect(c, "-!- dave set the topic: dogs");
	h_send(c, "/topic");
	cl_expect(c, "-!- topic for #r: dogs");
	/* A nick change on B. */
	cl_nick(b, "robert");
	cl_expect(a, "-!- bob is now known as robert");
	cl_expect(c, "-!- bob is now known as robert");
	cl_expect(d, "-!- bob is now known as robert");
	/* A part on A, a quit on B, a closed connection on A. */
	h_send(c, "/part");
	cl_expect(c, "-!- you joined #lobby (1 user)");
	cl_expect(a, "-!- carol left #r");
	cl_expect(b, "-!- carol left #r");
	cl_expect(d, "-!- carol left #r");
	h_send(d, "/quit see you");
	cl_expect(a, "-!- dave quit (see you)");
	cl_expect(b, "-!- dave quit (see you)");
	h_close(d);
	h_close(a);
	cl_expect(b, "-!- alice quit (connection closed)");
	cl_move(b, "lobby", 2);
	cl_skip_ms(c, "-!- robert joined #lobby", H_TIMEOUT_MS);
	cl_close(b, c, NULL);
	cl_down(&r, s, 2);
}
END_TEST

START_TEST(test_kill_frees_nicks)
{
	struct cl_redis	 r;
	struct h_server	 s[2];
	struct h_conn	*a, *b, *c;
	const char	*l;
	long long	 t0, deadline;

	cl_up(&r, s, 2, NULL);
	a = h_join_as(s[0].port, "alice");
	c = h_join_as(s[0].port, "carol");
	b = h_join_as(s[1].port, "bob");
	cl_move(c, "side", 1);
	cl_barrier(a, b, NULL);
	cl_who(b, "/who side", "-!- #side (1 user): carol");

	kill(s[0].pid, SIGKILL);
	waitpid(s[0].pid, NULL, 0);
	s[0].pid = -1;
	t0 = cl_now();
	deadline = t0 + (CL_TTL + 5) * 1000;
	cl_close(a, c, NULL);
	/* Its users vanish from /who, its rooms from /who ROOM. */
	for (;;) {
		h_send(b, "/who");
		l = cl_skip_prefix(b, "-!- #lobby (");
		if (strcmp(l, "-!- #lobby (1 user): bob") == 0)
			break;
		if (cl_now() > deadline)
			cl_fail("%lld ms after a SIGKILL, /who on the other "
			    "node says '%s'", cl_now() - t0, l);
		usleep(250000);
	}
	for (;;) {
		h_send(b, "/who side");
		l = cl_answer(b, "-!- #side (", "-!- error: ");
		if (strncmp(l, "-!- error: ", 11) == 0)
			break;
		if (cl_now() > deadline)
			cl_fail("%lld ms after a SIGKILL, '/who side' on the "
			    "other node says '%s'", cl_now() - t0, l);
		usleep(250000);
	}
	/* Its nicks are free. */
	for (;;) {
		l = cl_try_nick(b, "alice");
		if (strncmp(l, "-!- you are now known as ", 25) == 0)
			break;
		if (strstr(l, "already in use") == NULL)
			cl_fail("'/nick alice' answered '%s'", l);
		if (cl_now() > deadline)
			cl_fail("%lld ms after a SIGKILL, alice is still held",
			    cl_now() - t0);
		usleep(250000);
	}
	cl_nick(b, "Carol");
	cl_close(b, NULL);
	cl_down(&r, s, 2);
}
END_TEST

START_TEST(test_redis_restart)
{
	struct cl_redis	 r;
	struct h_server	 s[2];
	struct h_conn	*a, *b, *c, *d;
	const char	*l;

	cl_up(&r, s, 2, NULL);
	a = h_join_as(s[0].port, "alice");
	c = h_join_as(s[0].port, "carol");
	b = h_join_as(s[1].port, "bob");
	cl_barrier(a, b, c, NULL);

	cl_redis_stop(&r);
	cl_skip_ms(a, CL_DOWN, H_TIMEOUT_MS);
	cl_skip_ms(b, CL_DOWN, H_TIMEOUT_MS);
	cl_skip_ms(c, CL_DOWN, H_TIMEOUT_MS);
	/* Once each. */
	cl_never[0] = CL_DOWN;
	/* Each node still serves its own people; B cannot hear A now. */
	h_send(a, "only on A");
	cl_skip_ms(c, "<alice> only on A", H_TIMEOUT_MS);
	cl_never[1] = "<alice> only on A";

	cl_redis_start(&r, r.port);
	cl_skip_ms(a, CL_RESTORED, CL_RESTORE_MS);
	cl_skip_ms(b, CL_RESTORED, CL_RESTORE_MS);
	cl_skip_ms(c, CL_RESTORED, CL_RESTORE_MS);
	cl_wait_log(&s[0], "cluster link up", 2, CL_RESTORE_MS);
	cl_wait_log(&s[1], "cluster link up", 2, CL_RESTORE_MS);
	/* Chat crosses nodes again. */
	h_send(a, "back on A");
	cl_skip_ms(b, "<alice> back on A", H_TIMEOUT_MS);
	cl_skip_ms(c, "<alice> back on A", H_TIMEOUT_MS);
	h_send(b, "back on B");
	cl_skip_ms(a, "<bob> back on B", H_TIMEOUT_MS);
	cl_skip_ms(c, "<bob> back on B", H_TIMEOUT_MS);
	/* Redis came back empty; the nodes registered again what they hold. */
	d = cl_guest(s[1].port, 4);
	cl_nick_taken(d, "ALICE", NULL);
	cl_nick_taken(d, "carol", NULL);
	h_send(d, "/who");
	l = cl_skip_prefix(d, "-!- #lobby (");
	if (strncmp(l, "-!- #lobby (4 users): ", 22) != 0 ||
	    !cl_word(l + 22, "alice") || !cl_word(l + 22, "bob") ||
	    !cl_word(l + 22, "carol") || !cl_word(l + 22, d->nick))
		cl_fail("after Redis came back, /who says '%s'", l);
	cl_barrier(a, b, c, d, NULL);
	cl_quiet(a, b, c, d, NULL);
	cl_close(a, b, c, d, NULL);
	cl_down(&r, s, 2);
}
END_TEST

/*
 * Skip lines of c until want (within CL_RESTORE_MS), keeping in note the
 * first line on the way that contains text.
 */
static void
cl_watch(struct h_conn *c, const char *want, const char *text, char *note,
    size_t size)
{
	long long	 deadline = cl_now() + CL_RESTORE_MS;
	const char	*l;

	do {
		if ((l = cl_line(c, deadline)) == NULL)
			cl_fail("%s: wanted '%s', never came", c->nick, want);
		if (note[0] == '\0' && strstr(l, text) != NULL)
			snprintf(note, size, "%s", l);
	} while (strcmp(l, want) != 0);
}

/* Unless note holds a line, read c for up to ms for one containing text. */
static void
cl_note(struct h_conn *c, const char *text, char *note, size_t size, int ms)
{
	long long	 deadline = cl_now() + ms;
	const char	*l;

	while (note[0] == '\0' && (l = cl_line(c, deadline)) != NULL)
		if (strstr(l, text) != NULL)
			snprintf(note, size, "%s", l);
}

START_TEST(test_outage_nick_collision)
{
	struct cl_redis	 r;
	struct h_server	 s[2];
	struct h_conn	*p, *q, *w, *x, *lose, *win;
	char		 note[2][512], seen[2][512], want[256], old[64];
	char		 nick[64];
	const char	*l;
	long long	 deadline;

	cl_up(&r, s, 2, NULL);
	p = h_join(s[0].port);
	w = h_join_as(s[0].port, "wendy");
	q = h_join(s[1].port);
	x = h_join_as(s[1].port, "xena");
	cl_barrier(p, q, w, x, NULL);

	cl_redis_stop(&r);
	cl_skip_ms(p, CL_DOWN, H_TIMEOUT_MS);
	cl_skip_ms(q, CL_DOWN, H_TIMEOUT_MS);
	cl_skip_ms(w, CL_DOWN, H_TIMEOUT_MS);
	cl_skip_ms(x, CL_DOWN, H_TIMEOUT_MS);
	/* One nick, taken on both sides while they cannot see each other. */
	snprintf(want, sizeof want, "-!- %s is now known as dora", p->nick);
	cl_nick(p, "dora");
	cl_skip_ms(w, want, H_TIMEOUT_MS);
	snprintf(want, sizeof want, "-!- %s is now known as Dora", q->nick);
	cl_nick(q, "Dora");
	cl_skip_ms(x, want, H_TIMEOUT_MS);

	/* Back together: exactly one of them is renamed. */
	cl_redis_start(&r, r.port);
	memset(note, 0, sizeof note);
	memset(seen, 0, sizeof seen);
	cl_watch(p, CL_RESTORED, CL_TAKEN, note[0], sizeof note[0]);
	cl_watch(q, CL_RESTORED, CL_TAKEN, note[1], sizeof note[1]);
	cl_watch(w, CL_RESTORED, " is now known as ", seen[0],
	    sizeof seen[0]);
	cl_watch(x, CL_RESTORED, " is now known as ", seen[1],
	    sizeof seen[1]);
	deadline = cl_now() + 3000;
	while (note[0][0] == '\0' && note[1][0] == '\0' &&
	    cl_now() < deadline) {
		cl_note(p, CL_TAKEN, note[0], sizeof note[0], 50);
		cl_note(q, CL_TAKEN, note[1], sizeof note[1], 50);
	}
	cl_note(p, CL_TAKEN, note[0], sizeof note[0], CL_QUIET_MS);
	cl_note(q, CL_TAKEN, note[1], sizeof note[1], CL_QUIET_MS);
	if ((note[0][0] != '\0') == (note[1][0] != '\0'))
		cl_fail("dora on A and Dora on B after the resync: A's was "
		    "told '%s', B's '%s' (wanted exactly one renamed)",
		    note[0], note[1]);
	lose = note[0][0] != '\0' ? p : q;
	win = lose == p ? q : p;
	l = note[lose == p ? 0 : 1];
	snprintf(want, sizeof want, "-!- your nick %s%sguest-", lose->nick,
	    CL_TAKEN);
	if (strncmp(l, want, strlen(want)) != 0 ||
	    cl_guest_number(l + strlen(want) - 6) < 0)
		cl_fail("the renamed user was told '%s'", l);
	snprintf(old, sizeof old, "%s", lose->nick);
	snprintf(nick, sizeof nick, "%s", l + strlen(want) - 6);
	snprintf(lose->nick, sizeof lose->nick, "%s", nick);
	/* Its room hears of it, on both nodes. */
	snprintf(want, sizeof want, "-!- %s is now known as %s", old, nick);
	cl_note(w, " is now known as ", seen[0], sizeof seen[0],
	    H_TIMEOUT_MS);
	cl_note(x, " is now known as ", seen[1], sizeof seen[1],
	    H_TIMEOUT_MS);
	if (strcmp(seen[0], want) != 0 || strcmp(seen[1], want) != 0)
		cl_fail("wanted '%s' in #lobby on both nodes; A's wendy saw "
		    "'%s', B's xena '%s'", want, seen[0], seen[1]);
	/* The winner keeps the nick, cluster-wide. */
	h_send(x, "/who");
	l = cl_skip_prefix(x, "-!- #lobby (");
	if (strncmp(l, "-!- #lobby (4 users): ", 22) != 0 ||
	    !cl_word(l + 22, win->nick) || !cl_word(l + 22, nick) ||
	    !cl_word(l + 22, "wendy") || !cl_word(l + 22, "xena"))
		cl_fail("after the resync, /who says '%s'", l);
	cl_nick_taken(lose, "DORA", NULL);
	cl_barrier(p, q, w, x, NULL);
	cl_close(p, q, w, x, NULL);
	cl_down(&r, s, 2);
}
END_TEST

START_TEST(test_graceful_shutdown)
{
	struct cl_redis	 r;
	struct h_server	 s[3];
	struct h_conn	*a, *b, *c, *d;
	const char	*quits[2] = { "-!- alice quit (server shutting down)",
			    "-!- dave quit (server shutting down)" };

	cl_up(&r, s, 3, NULL);
	a = h_join_as(s[0].port, "alice");
	b = h_join_as(s[1].port, "bob");
	c = h_join_as(s[2].port, "carol");
	d = h_join_as(s[0].port, "dave");
	cl_barrier(a, b, c, d, NULL);

	kill(s[0].pid, SIGTERM);
	cl_skip_ms(a, "-!- server shutting down", H_TIMEOUT_MS);
	cl_skip_ms(d, "-!- server shutting down", H_TIMEOUT_MS);
	h_expect_eof(a, H_TIMEOUT_MS);
	h_expect_eof(d, H_TIMEOUT_MS);
	cl_close(a, d, NULL);
	cl_await(b, quits, 2);
	cl_await(c, quits, 2);
	ck_assert_int_eq(h_server_wait(&s[0], 10000), 0);
	/* The other two go on. */
	h_send(b, "still here");
	cl_expect(c, "<bob> still here");
	h_send(c, "me too");
	cl_expect(b, "<carol> me too");
	cl_who(b, "/who", "-!- #lobby (2 users): bob carol");
	h_send(c, "/msg alice are you there?");
	cl_expect(c, "-!- error: no such nick: alice (see /help)");
	cl_nick(c, "Dave");
	cl_expect(b, "-!- carol is now known as Dave");
	cl_quiet(b, c, NULL);
	cl_close(b, c, NULL);
	cl_down(&r, s, 3);
}
END_TEST

START_TEST(test_guest_unique)
{
	struct cl_redis	 r;
	struct h_server	 s[2];
	struct h_conn	*g[12];
	long		 num[12];
	const char	*l;
	int		 i, j;

	cl_up(&r, s, 2, NULL);
	/* All connect before any is read: the nodes assign at once. */
	for (i = 0; i < 12; i++)
		g[i] = h_connect(s[i % 2].port);
	for (i = 0; i < 12; i++) {
		l = cl_skip_prefix(g[i], "-!- welcome to evchat, ");
		l += strlen("-!- welcome to evchat, ");
		snprintf(g[i]->nick, sizeof g[i]->nick, "%.*s",
		    (int)strcspn(l, "!"), l);
		num[i] = cl_guest_number(g[i]->nick);
		ck_assert_msg(num[i] >= 0, "welcome named '%s'", g[i]->nick);
		for (j = 0; j < i; j++)
			if (num[j] == num[i])
				cl_fail("%s given on node %d and on node %d",
				    g[i]->nick, i % 2, j % 2);
	}
	for (i = 0; i < 12; i++)
		cl_skip_prefix(g[i], "-!- you joined #lobby (");
	/* A guest nick held on one node cannot be taken on the other. */
	cl_nick_taken(g[1], g[0]->nick, NULL);
	for (i = 0; i < 12; i++)
		h_close(g[i]);
	cl_down(&r, s, 2);
}
END_TEST

START_TEST(test_reuseport)
{
	struct cl_redis	 r;
	struct h_server	 s[2];
	struct h_conn	*c[6];
	int		 i;

	cl_redis_start(&r, 0);
	cl_node_start(&s[0], &r, (const char *[]){ "--reuseport", NULL });
	cl_node_start_port(&s[1], s[0].port, &r,
	    (const char *[]){ "--reuseport", NULL });
	ck_assert_int_eq(s[1].port, s[0].port);
	/* Whichever node takes each one, they are in one room. */
	for (i = 0; i < 6; i++)
		c[i] = cl_guest(s[0].port, i + 1);
	cl_barrier(c[0], c[1], c[2], c[3], c[4], c[5], NULL);
	for (i = 0; i < 6; i++)
		h_close(c[i]);
	cl_down(&r, s, 2);
}
END_TEST

/* Was evchatd built with cluster mode?  Its --help says --redis. */
static int
cl_has_cluster(void)
{
	const char	*bin = getenv("EVCHATD");
	char		 cmd[1024], buf[4096];
	FILE		*f;
	int		 found = 0;

	if (bin == NULL)
		bin = "./evchatd";
	snprintf(cmd, sizeof cmd, "'%s' --help 2>&1", bin);
	if ((f = popen(cmd, "r")) == NULL)
		return 0;
	while (fgets(buf, sizeof buf, f) != NULL)
		if (strstr(buf, "--redis") != NULL)
			found = 1;
	pclose(f);
	return found;
}

/* Is there an executable file named name in PATH? */
static int
cl_in_path(const char *name)
{
	const char	*path = getenv("PATH"), *p;
	char		 file[1024];
	size_t		 n;

	for (p = path; p != NULL && *p != '\0'; p += n + (p[n] == ':')) {
		n = strcspn(p, ":");
		snprintf(file, sizeof file, "%.*s/%s", (int)n, p, name);
		if (n > 0 && access(file, X_OK) == 0)
			return 1;
	}
	return 0;
}

static Suite *
cl_suite(void)
{
	Suite	*s = suite_create("cluster");
	TCase	*tc;

	tc = tcase_create("one server");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_chat);
	tcase_add_test(tc, test_room_isolation);
	tcase_add_test(tc, test_nick_collision);
	tcase_add_test(tc, test_msg);
	tcase_add_test(tc, test_who_rooms);
	tcase_add_test(tc, test_history);
	tcase_add_test(tc, test_room_events);
	tcase_add_test(tc, test_guest_unique);
	tcase_add_test(tc, test_reuseport);
	suite_add_tcase(s, tc);

	tc = tcase_create("failures");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_kill_frees_nicks);
	tcase_add_test(tc, test_redis_restart);
	tcase_add_test(tc, test_outage_nick_collision);
	tcase_add_test(tc, test_graceful_shutdown);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failures;

	if (!cl_has_cluster()) {
		fprintf(stderr, "evchatd has no cluster mode: skipped\n");
		return 77;
	}
	if (!cl_in_path("redis-server")) {
		fprintf(stderr, "no redis-server in PATH: skipped\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	sr = srunner_create(cl_suite());
	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
