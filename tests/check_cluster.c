/*
 * check_cluster: evchatd's cluster mode (--redis) against the real thing:
 * a redis-server this file starts on a free loopback port (or a socket
 * file) and two to four evchatd nodes sharing it.  Across nodes the
 * cluster must behave as the one server of PROTOCOL.md: chat and actions
 * (never echoed, never doubled, in order, text as delivered locally),
 * room isolation, nicks unique ignoring ASCII case, /msg, /who, /rooms,
 * history, joins, parts, nick changes, topics, the (N users) counts, and
 * guest nicks nobody else holds; a client that has seen "you joined" hears
 * every later line of the room; commands that wait for Redis keep a
 * client's lines in order.
 *
 * It must also survive its failures: a node killed with SIGKILL frees its
 * nicks within --redis-ttl; Redis restarted empty under running nodes
 * gives every client one "link down" and one "link restored" notice, and
 * the nodes register again what they hold, renaming a user whose nick was
 * taken on both sides meanwhile; one node cut off alone (through a proxy
 * this file runs) or left hanging comes back the same way; a node stopped
 * with SIGTERM says its users quit, leaves the others working, and exits
 * 0 even with Redis gone; clients that leave with requests in flight
 * leave nothing behind.  A node far from Redis (the proxy delays it) is
 * still one server with the others: what it told its client has happened
 * everywhere.  --reuseport lets two nodes share a port, and --redis-ttl
 * below 2 is refused.
 *
 * Some tests hold Redis still for a moment (CLIENT PAUSE: it reads, but
 * runs nobody's commands), so that joins and what is said around them are
 * in flight at once, as on a busy Redis: a joiner hears each line once,
 * however many there are; a node stopped with its join in flight takes it
 * back.  The proxy can also go deaf on subscribe links only: the node
 * must notice that its lines no longer come back, and answer its joiners.
 *
 * Across nodes delivery is asynchronous, so nothing here assumes that a
 * line from another node has arrived until it is seen.  A barrier (every
 * member of a room says a mark and waits for everyone else's) drains what
 * earlier actions sent.  After it, "nothing else arrived" is proved by a
 * strict next line that a later action on another node sent, and so comes
 * after whatever a bug would have sent, then by a short silence.  Sleeps
 * appear only in polls with a deadline and where silence is the claim.
 *
 * Each test starts its own redis-server and nodes and stops them (a node
 * must then exit 0); if it fails, check kills the test's process group,
 * and them with it.  The program exits 77 (skipped) when evchatd was built
 * without cluster mode or redis-server is not in PATH.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "check_run.h"
#include "harness.h"

#define CL_TTL		2	/* --redis-ttl of every node, in seconds */
#define CL_TTL_ARG	"2"
#define CL_LINK_MS	10000	/* how long a node may take to link up */
#define CL_RESTORE_MS	15000	/* relinking: a 5 s backoff and a resync */
#define CL_QUIET_MS	300	/* how long silence must last to count */
#define CL_MAX_NODES	4	/* nodes one test may run */
#define CL_MAX_CONNS	16	/* members one barrier may have */
#define CL_MAX_NEVER	4	/* lines in cl_never */
#define CL_FAN_CLIENTS	36	/* clients of the fan-out, over 3 nodes */
#define CL_BURST	500	/* lines of one burst */
#define CL_FLOOD_ROUNDS	30	/* joins during a flood, per joiner */
#define CL_FAR_MS	50	/* one way from a far node to Redis */
#define CL_HOLD_MS	300	/* how long Redis is held still; under a tick */
#define CL_HELD_LINES	1500	/* lines said while a join is held */
#define CL_DEAF_TTL	3	/* --redis-ttl of the node whose link goes deaf */
#define CL_DEAF_TTL_ARG	"3"

#define CL_DOWN		"-!- cluster link down: only people on this " \
			    "server can hear you; reconnecting"
#define CL_RESTORED	"-!- cluster link restored"
#define CL_FFFD		"\xef\xbf\xbd"	/* U+FFFD REPLACEMENT CHARACTER */
#define CL_TAKEN	" is taken on another server; you are now known as "

/* A redis-server this test started. */
struct cl_redis {
	pid_t	pid;		/* -1 once stopped */
	int	port;		/* kept across a stop, for a restart */
	int	unix_only;	/* on a socket file in dir, no TCP port */
	char	dir[64];	/* its fresh --dir, removed when it stops */
	char	addr[96];	/* 127.0.0.1:PORT or the socket's path */
};

/* A TCP proxy between one node and Redis: to cut it off, or delay it. */
struct cl_proxy {
	pid_t	pid;
	int	port;		/* where it listens */
	char	addr[32];	/* 127.0.0.1:PORT, the node's --redis */
};

/* The nodes this test started, whose logs a failure prints. */
static struct h_server	*cl_nodes[CL_MAX_NODES];
static int		 cl_nnodes;

/* The Redis this test runs, if any, whose directory a failure removes. */
static struct cl_redis	*cl_live;

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

/*
 * Fail the test, printing first the logs of the nodes still running, and
 * removing them and Redis's directory: check kills the processes.
 */
static void __attribute__((format(printf, 1, 2), noreturn))
cl_fail(const char *fmt, ...)
{
	char	msg[2048];
	va_list	ap;
	int	i;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	for (i = 0; i < cl_nnodes; i++) {
		h_server_dump(cl_nodes[i]);
		unlink(cl_nodes[i]->log);
	}
	if (cl_live != NULL)
		cl_rmdir(cl_live->dir);
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

/*
 * Mark every descriptor of this process close-on-exec, before starting a
 * program: a client socket it inherited would stay open after the test
 * closed it, and the node serving that client would never see it go.
 */
static void
cl_cloexec(void)
{
	int	fd, max = (int)sysconf(_SC_OPEN_MAX);

	for (fd = 3; fd < max && fd < 4096; fd++)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/* Connect to 127.0.0.1:port, or to path if it is not NULL; -1 if refused. */
static int
cl_dial(int port, const char *path)
{
	struct sockaddr_in	sin;
	struct sockaddr_un	sun;
	int			fd;

	if (path != NULL) {
		memset(&sun, 0, sizeof sun);
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
		if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) != -1 &&
		    connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0)
			return fd;
	} else {
		memset(&sin, 0, sizeof sin);
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)port);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) != -1 &&
		    connect(fd, (struct sockaddr *)&sin, sizeof sin) == 0)
			return fd;
	}
	if (fd != -1)
		close(fd);
	return -1;
}

/* Does this Redis answer PING with +PONG? */
static int
cl_redis_ping(const struct cl_redis *r)
{
	struct timeval	tv = { 0, 500000 };
	char		buf[16];
	size_t		len = 0;
	ssize_t		n;
	int		fd;

	if ((fd = cl_dial(r->port, r->unix_only ? r->addr : NULL)) == -1)
		return 0;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (write(fd, "PING\r\n", 6) != 6) {
		close(fd);
		return 0;
	}
	while (len < 7 && (n = read(fd, buf + len, 7 - len)) > 0)
		len += (size_t)n;
	close(fd);
	return len == 7 && memcmp(buf, "+PONG\r\n", 7) == 0;
}

/* PUBLISH msg on channel in this Redis, as any client of it could. */
static void
cl_redis_publish(const struct cl_redis *r, const char *channel,
    const char *msg)
{
	char	cmd[512], buf[64];
	int	fd, len;
	ssize_t	n;

	len = snprintf(cmd, sizeof cmd, "*3\r\n$7\r\nPUBLISH\r\n$%zu\r\n%s"
	    "\r\n$%zu\r\n%s\r\n", strlen(channel), channel, strlen(msg), msg);
	ck_assert(len > 0 && (size_t)len < sizeof cmd);
	ck_assert_int_ne(fd = cl_dial(r->port, r->unix_only ? r->addr : NULL),
	    -1);
	ck_assert_int_eq(write(fd, cmd, (size_t)len), len);
	n = read(fd, buf, sizeof buf);		/* ":1\r\n": one node heard */
	close(fd);
	ck_assert(n > 0 && buf[0] == ':');
}

/* Fork and exec redis-server, without persistence, as r says. */
static pid_t
cl_redis_spawn(const struct cl_redis *r)
{
	char	pstr[16];
	pid_t	pid;
	int	fd;

	snprintf(pstr, sizeof pstr, "%d", r->unix_only ? 0 : r->port);
	cl_cloexec();
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		if ((fd = open("/dev/null", O_RDWR)) != -1) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp("redis-server", "redis-server", "--port", pstr,
		    "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		    "--daemonize", "no", "--dir", r->dir,
		    /* the list ends here unless on a socket file */
		    r->unix_only ? "--unixsocket" : NULL, r->addr,
		    (char *)NULL);
		_exit(127);
	}
	return pid;
}

/*
 * Start redis-server on port (a free one if 0; none if unix_only, then
 * on a socket file) and wait until it answers PING.  A free port can be
 * taken before Redis binds it: then try another.
 */
static void
cl_redis_start(struct cl_redis *r, int port, int unix_only)
{
	long long	deadline;
	int		try, up = 0;

	r->unix_only = unix_only;
	for (try = 0; try < 3 && !up; try++) {
		r->port = port != 0 || unix_only ? port : cl_free_port();
		snprintf(r->dir, sizeof r->dir, "/tmp/evchat-redis.XXXXXX");
		ck_assert_ptr_nonnull(mkdtemp(r->dir));
		if (unix_only)
			snprintf(r->addr, sizeof r->addr, "%s/redis.sock",
			    r->dir);
		else
			snprintf(r->addr, sizeof r->addr, "127.0.0.1:%d",
			    r->port);
		r->pid = cl_redis_spawn(r);
		deadline = cl_now() + 5000;
		while (!(up = cl_redis_ping(r)) && cl_now() < deadline) {
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
	ck_assert_msg(up, "redis-server did not start on %s", r->addr);
	cl_live = r;
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
	cl_live = NULL;
}

/*
 * Hold Redis still for ms: with CLIENT PAUSE it goes on reading, but runs
 * no command of anyone until then.  Returns once Redis said +OK, so that
 * whatever the test makes a node send next waits in Redis.
 */
static void
cl_redis_hold(const struct cl_redis *r, int ms)
{
	struct timeval	tv = { 2, 0 };
	char		cmd[64], buf[8];
	size_t		len = 0;
	ssize_t		n;
	int		fd;

	if ((fd = cl_dial(r->port, r->unix_only ? r->addr : NULL)) == -1)
		cl_fail("cannot connect to Redis at %s to hold it", r->addr);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	n = snprintf(cmd, sizeof cmd, "CLIENT PAUSE %d\r\n", ms);
	if (write(fd, cmd, (size_t)n) != n)
		cl_fail("cannot send CLIENT PAUSE to Redis");
	while (len < 5 && (n = read(fd, buf + len, 5 - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (len != 5 || memcmp(buf, "+OK\r\n", 5) != 0)
		cl_fail("Redis did not answer CLIENT PAUSE %d with +OK", ms);
}

/* Set by the proxy's signal handlers, read by its loop. */
static volatile sig_atomic_t	cl_proxy_cut_asked, cl_proxy_cut_off;
static volatile sig_atomic_t	cl_proxy_deaf;

/* SIGUSR1: cut every connection and refuse new ones (the proxy side). */
static void
cl_proxy_cut_cb(int sig)
{
	(void)sig;
	cl_proxy_cut_asked = 1;
	cl_proxy_cut_off = 1;
}

/* SIGUSR2: let connections through again, both ways (the proxy side). */
static void
cl_proxy_mend_cb(int sig)
{
	(void)sig;
	cl_proxy_cut_off = 0;
	cl_proxy_deaf = 0;
}

/*
 * SIGHUP: hold back everything Redis sends on subscribe links, while
 * they stay open and the command links work (the proxy side).
 */
static void
cl_proxy_deafen_cb(int sig)
{
	(void)sig;
	cl_proxy_deaf = 1;
}

/* Bytes one direction of a proxied connection holds back, in order. */
struct cl_chunk {
	long long	 due;		/* when to pass them on */
	size_t		 len;		/* 0: the end of that direction */
	struct cl_chunk	*next;
	char		 data[];
};

/* One connection through the proxy: fd[0] the node's, fd[1] Redis's. */
struct cl_pair {
	int		 fd[2];
	int		 eof[2];		/* fd[k] said all it will */
	int		 sub;			/* the node SUBSCRIBEd on it */
	struct cl_chunk	*head[2], *tail[2];	/* what goes to fd[!k] */
};

/* Read what fd[k] has into a chunk due in delay ms; 0 at its end. */
static int
cl_proxy_read(struct cl_pair *p, int k, int delay)
{
	struct cl_chunk	*ch = malloc(sizeof *ch + 16384);
	ssize_t		 n;

	if (ch == NULL)
		_exit(1);
	n = read(p->fd[k], ch->data, 16384);
	ch->len = n > 0 ? (size_t)n : 0;
	if (k == 0 && n > 0 &&
	    memmem(ch->data, ch->len, "SUBSCRIBE", 9) != NULL)
		p->sub = 1;
	p->eof[k] = n <= 0;
	ch->due = cl_now() + delay;
	ch->next = NULL;
	if (p->tail[k] != NULL)
		p->tail[k]->next = ch;
	else
		p->head[k] = ch;
	p->tail[k] = ch;
	return n > 0;
}

/*
 * Pass on the chunks that are due, but nothing from Redis on a subscribe
 * link while deaf; 0 once the pair is done.
 */
static int
cl_proxy_flush(struct cl_pair *p, long long *next)
{
	struct cl_chunk	*ch;
	int		 k, ok = 1;

	for (k = 0; k < 2; k++)
		while ((ch = p->head[k]) != NULL && ok) {
			if (k == 1 && p->sub && cl_proxy_deaf)
				break;
			if (ch->due > cl_now()) {
				if (ch->due < *next)
					*next = ch->due;
				break;
			}
			ok = ch->len > 0 &&
			    write(p->fd[!k], ch->data, ch->len) ==
			    (ssize_t)ch->len;
			if ((p->head[k] = ch->next) == NULL)
				p->tail[k] = NULL;
			free(ch);
		}
	return ok;
}

/* Close both ends of a pair and drop what it held back. */
static void
cl_proxy_close(struct cl_pair *p)
{
	struct cl_chunk	*ch;
	int		 k;

	for (k = 0; k < 2; k++) {
		close(p->fd[k]);
		while ((ch = p->head[k]) != NULL) {
			p->head[k] = ch->next;
			free(ch);
		}
	}
}

/*
 * The proxy process: forward each connection on lfd to Redis at rport,
 * each byte delay ms late, until killed.  Cut off, it closes every pair
 * and each new connection; deaf, it holds what Redis says on subscribe
 * links.
 */
static void __attribute__((noreturn))
cl_proxy_run(int lfd, int rport, int delay)
{
	struct pollfd		pfd[1 + 2 * CL_MAX_CONNS];
	struct cl_pair		pair[CL_MAX_CONNS];
	struct sigaction	sa;
	long long		next;
	int			n = 0, i, fd, k, ok;

	/* Hold no connection of the test's open. */
	for (fd = 3; fd < 4096; fd++)
		if (fd != lfd)
			close(fd);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = cl_proxy_cut_cb;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = cl_proxy_mend_cb;
	sigaction(SIGUSR2, &sa, NULL);
	sa.sa_handler = cl_proxy_deafen_cb;
	sigaction(SIGHUP, &sa, NULL);
	for (;;) {
		if (cl_proxy_cut_asked) {
			cl_proxy_cut_asked = 0;
			while (n > 0)
				cl_proxy_close(&pair[--n]);
		}
		next = cl_now() + 100;
		for (i = n - 1; i >= 0; i--)
			if (!cl_proxy_flush(&pair[i], &next)) {
				cl_proxy_close(&pair[i]);
				pair[i] = pair[--n];
			}
		pfd[0].fd = lfd;
		pfd[0].events = POLLIN;
		for (i = 0; i < n; i++)
			for (k = 0; k < 2; k++) {
				pfd[1 + 2 * i + k].fd = pair[i].eof[k] ? -1 :
				    pair[i].fd[k];
				pfd[1 + 2 * i + k].events = POLLIN;
			}
		if (poll(pfd, (nfds_t)(1 + 2 * n), (int)(next - cl_now()) + 1)
		    <= 0)
			continue;
		for (i = 0; i < n; i++)
			for (k = 0, ok = 1; k < 2 && ok; k++)
				if (pfd[1 + 2 * i + k].revents != 0)
					ok = cl_proxy_read(&pair[i], k, delay);
		if ((pfd[0].revents & POLLIN) &&
		    (fd = accept(lfd, NULL, NULL)) != -1) {
			memset(&pair[n], 0, sizeof pair[n]);
			if (cl_proxy_cut_off || n == CL_MAX_CONNS ||
			    (pair[n].fd[1] = cl_dial(rport, NULL)) == -1)
				close(fd);
			else
				pair[n++].fd[0] = fd;
		}
	}
}

/* Start a proxy, delay ms each way, on a free port to the Redis of r. */
static void
cl_proxy_start(struct cl_proxy *px, const struct cl_redis *r, int delay)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof sin;
	int			lfd;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ne(lfd = socket(AF_INET, SOCK_STREAM, 0), -1);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(listen(lfd, 16), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	px->port = ntohs(sin.sin_port);
	snprintf(px->addr, sizeof px->addr, "127.0.0.1:%d", px->port);
	ck_assert_int_ne(px->pid = fork(), -1);
	if (px->pid == 0)
		cl_proxy_run(lfd, r->port, delay);
	close(lfd);
}

/* Stop the proxy. */
static void
cl_proxy_stop(struct cl_proxy *px)
{
	if (px->pid <= 0)
		return;
	kill(px->pid, SIGKILL);
	waitpid(px->pid, NULL, 0);
	px->pid = -1;
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
 * Start a node of the cluster on the Redis at redis, listening on port
 * (0: any), with the short --redis-ttl and --grace of these tests and
 * extra arguments; wait until its link is up, so that no client is served
 * in local-only mode.
 */
static void
cl_node_start_port(struct h_server *s, int port, const char *redis,
    const char *const *extra)
{
	const char	*args[32];
	int		 n = 0, i;

	args[n++] = "--redis";
	args[n++] = redis;
	args[n++] = "--redis-ttl";
	args[n++] = CL_TTL_ARG;
	args[n++] = "--grace";
	args[n++] = "2";
	for (i = 0; extra != NULL && extra[i] != NULL && n < 31; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	cl_cloexec();
	h_server_start_port(s, port, args);
	if (cl_nnodes < CL_MAX_NODES)
		cl_nodes[cl_nnodes++] = s;
	cl_wait_log(s, "cluster link up", 1, CL_LINK_MS);
}

/* The same on any free port. */
static void
cl_node_start(struct h_server *s, const char *redis,
    const char *const *extra)
{
	cl_node_start_port(s, 0, redis, extra);
}

/*
 * Stop a node (if it still runs: then it must exit 0, as after any
 * SIGTERM; a crash shows here) and remove its log.
 */
static void
cl_node_stop(struct h_server *s)
{
	int	i, rc;

	if (s->pid > 0 && (rc = h_server_stop(s)) != 0)
		cl_fail("node %d: exit status %d after SIGTERM", s->port, rc);
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

	cl_redis_start(r, 0, 0);
	for (i = 0; i < n; i++)
		cl_node_start(&s[i], r->addr, extra);
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

/* cl_skip_ms with the usual timeout and a printf format. */
static void __attribute__((format(printf, 2, 3)))
cl_skipf(struct h_conn *c, const char *fmt, ...)
{
	char	want[1024];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof want, fmt, ap);
	va_end(ap);
	cl_skip_ms(c, want, H_TIMEOUT_MS);
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
 * The answer to a "/join room" c sent must be "you joined #room (N
 * users)" (when users > 0), the room's name in any case: #Foo and #foo
 * are one room.  Lines the old room sent before it are skipped; the topic
 * and history lines after it are left to read.
 */
static void
cl_joined(struct h_conn *c, const char *room, int users)
{
	long long	 deadline = cl_now() + H_TIMEOUT_MS;
	char		 prefix[128], want[160];
	const char	*l;

	snprintf(prefix, sizeof prefix, "-!- you joined #%s (",
	    room + (room[0] == '#'));
	do {
		if ((l = cl_line(c, deadline)) == NULL)
			cl_fail("%s: wanted '%s...', never came", c->nick,
			    prefix);
	} while (strncasecmp(l, prefix, strlen(prefix)) != 0);
	snprintf(want, sizeof want, "%s%d user%s)", prefix, users,
	    users == 1 ? "" : "s");
	if (users > 0 && strcasecmp(l, want) != 0)
		cl_fail("%s: wanted '%s', got '%s'", c->nick, want, l);
}

/* Join room, as cl_joined says. */
static void
cl_move(struct h_conn *c, const char *room, int users)
{
	h_send(c, "/join %s", room);
	cl_joined(c, room, users);
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
	char		 text[1001];

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
	 * Text crosses as it is delivered on its own node: TAB kept,
	 * controls removed, invalid UTF-8 replaced, Korean intact, a long
	 * line whole.
	 */
	h_send(a, "tab\there \xed\x95\x9c\xea\xb8\x80 bad\x80 bell\x07!");
	cl_expect(c, "<alice> tab\there \xed\x95\x9c\xea\xb8\x80 bad" CL_FFFD
	    " bell!");
	cl_expect(b, "<alice> tab\there \xed\x95\x9c\xea\xb8\x80 bad" CL_FFFD
	    " bell!");
	cl_expect(d, "<alice> tab\there \xed\x95\x9c\xea\xb8\x80 bad" CL_FFFD
	    " bell!");
	memset(text, 'x', 1000);
	text[1000] = '\0';
	h_send(b, "%s", text);
	cl_expectf(a, "<bob> %s", text);
	cl_expectf(c, "<bob> %s", text);
	cl_expectf(d, "<bob> %s", text);
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

/*
 * A message on a room's channel with nothing to say (anyone who can reach
 * Redis can publish one) is ignored: the node goes on delivering.
 */
START_TEST(test_empty_publish)
{
	struct cl_redis	 r;
	struct h_server	 s[1];
	struct h_conn	*a, *b;

	cl_up(&r, s, 1, NULL);
	a = h_join_as(s[0].port, "alice");
	b = h_join_as(s[0].port, "bob");
	cl_barrier(a, b, NULL);
	cl_redis_publish(&r, "evchat:room:lobby", "x\nS\n1\n\n");
	cl_redis_publish(&r, "evchat:room:lobby", "x\nN\n2\n\n");
	h_send(a, "still here");
	cl_expect(b, "<alice> still here");
	cl_quiet(a, b, NULL);
	cl_close(a, b, NULL);
	cl_down(&r, s, 1);
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
	/* Its holder may change its case. */
	cl_nick(a, "Alice");
	cl_expect(b, "-!- alice is now known as Alice");
	cl_nick_taken(b, "alice", NULL);
	cl_nick(a, "alice");
	cl_expect(b, "-!- Alice is now known as alice");
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
	/* The same, two users of one node. */
	h_send(y, "/nick Zoe");
	h_send(b, "/nick zOE");
	snprintf(ans[0], sizeof ans[0], "%s", cl_nick_answer(y, "Zoe"));
	snprintf(ans[1], sizeof ans[1], "%s", cl_nick_answer(b, "zOE"));
	if ((strncmp(ans[0], "-!- error: ", 11) == 0) ==
	    (strncmp(ans[1], "-!- error: ", 11) == 0))
		cl_fail("one nick claimed twice at once on one node: "
		    "'%s' and '%s'", ans[0], ans[1]);
	cl_nick_taken(x, "zoe", NULL);
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
	/* Room names ignore case across nodes; #lobby is listed empty. */
	cl_move(b, "SIDE", 3);
	cl_move(c, "#Side", 4);
	n = cl_collect(a, "/rooms", "-!- #", 2, out, 8);
	ck_assert_msg(n == 2, "/rooms on A listed %d rooms", n);
	ck_assert(cl_has(out, n, "-!- #lobby (0 users)"));
	ck_assert(cl_has(out, n, "-!- #side (4 users): cats and dogs"));
	/* Its members leave, on both nodes: it is gone. */
	cl_move(a, "lobby", 1);
	cl_move(b, "lobby", 2);
	cl_move(c, "lobby", 3);
	cl_move(d, "lobby", 4);
	n = cl_collect(b, "/rooms", "-!- #", 1, out, 8);
	ck_assert_msg(n == 1, "/rooms listed %d rooms, wanted 1", n);
	ck_assert_str_eq(out[0], "-!- #lobby (4 users)");
	h_send(c, "/who side");
	cl_skip_prefix(c, "-!- error: ");
	/* A room made again is new: no topic. */
	cl_move(b, "side", 1);
	h_send(b, "/topic");
	cl_skip_ms(b, "-!- no topic set for #side", H_TIMEOUT_MS);
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
	struct h_conn	*a, *b, *c, *d, *e, *f;
	const char	*l;

	cl_up(&r, s, 2, NULL);
	a = h_join_as(s[0].port, "alice");
	c = h_join_as(s[0].port, "carol");
	b = h_join_as(s[1].port, "bob");
	e = h_join_as(s[0].port, "erin");
	f = h_join_as(s[1].port, "frank");
	/* A room whose name has capitals, on both nodes. */
	cl_move(e, "Caps", 1);
	cl_move(f, "Caps", 2);
	cl_barrier(a, b, c, NULL);
	cl_barrier(e, f, NULL);

	cl_redis_stop(&r);
	cl_skip_ms(a, CL_DOWN, H_TIMEOUT_MS);
	cl_skip_ms(b, CL_DOWN, H_TIMEOUT_MS);
	cl_skip_ms(c, CL_DOWN, H_TIMEOUT_MS);
	cl_skip_ms(e, CL_DOWN, H_TIMEOUT_MS);
	cl_skip_ms(f, CL_DOWN, H_TIMEOUT_MS);
	/* Once each. */
	cl_never[0] = CL_DOWN;
	/* Each node still serves its own people; B cannot hear A now. */
	h_send(a, "only on A");
	cl_skip_ms(c, "<alice> only on A", H_TIMEOUT_MS);
	cl_never[1] = "<alice> only on A";
	/* A room made, and given a topic, while cut off. */
	cl_move(c, "during", 1);
	h_send(c, "/topic set while down");
	cl_expect(c, "-!- carol set the topic: set while down");

	cl_redis_start(&r, r.port, 0);
	cl_skip_ms(a, CL_RESTORED, CL_RESTORE_MS);
	cl_skip_ms(b, CL_RESTORED, CL_RESTORE_MS);
	cl_skip_ms(c, CL_RESTORED, CL_RESTORE_MS);
	cl_skip_ms(e, CL_RESTORED, CL_RESTORE_MS);
	cl_skip_ms(f, CL_RESTORED, CL_RESTORE_MS);
	cl_wait_log(&s[0], "cluster link up", 2, CL_RESTORE_MS);
	cl_wait_log(&s[1], "cluster link up", 2, CL_RESTORE_MS);
	/* Chat crosses nodes again. */
	h_send(a, "back on A");
	cl_skip_ms(b, "<alice> back on A", H_TIMEOUT_MS);
	h_send(b, "back on B");
	cl_skip_ms(a, "<bob> back on B", H_TIMEOUT_MS);
	/*
	 * Redis came back empty; the nodes registered again what they hold:
	 * nicks, members, rooms, topics.
	 */
	d = cl_guest(s[1].port, 3);
	cl_nick_taken(d, "ALICE", NULL);
	cl_nick_taken(d, "carol", NULL);
	h_send(d, "/who");
	l = cl_skip_prefix(d, "-!- #lobby (");
	if (strncmp(l, "-!- #lobby (3 users): ", 22) != 0 ||
	    !cl_word(l + 22, "alice") || !cl_word(l + 22, "bob") ||
	    !cl_word(l + 22, d->nick))
		cl_fail("after Redis came back, /who says '%s'", l);
	cl_move(d, "during", 2);
	cl_expect(d, "-!- topic for #during: set while down");
	cl_skipf(c, "-!- %s joined #during", d->nick);
	cl_barrier(a, b, NULL);
	cl_barrier(c, d, NULL);
	h_send(e, "caps from A");
	cl_skip_ms(f, "<erin> caps from A", H_TIMEOUT_MS);
	h_send(f, "caps from B");
	cl_skip_ms(e, "<frank> caps from B", H_TIMEOUT_MS);
	cl_quiet(a, b, c, d, e, f, NULL);
	cl_close(a, b, c, d, e, f, NULL);
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
	cl_redis_start(&r, r.port, 0);
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

START_TEST(test_outage_guests)
{
	struct cl_redis	 r;
	struct h_server	 s[2];
	struct h_conn	*c[8];
	char		 note[512], who[2][1024];
	const char	*l;
	int		 i, j, k;

	cl_up(&r, s, 2, NULL);
	c[0] = h_join_as(s[0].port, "alice");
	c[1] = h_join_as(s[1].port, "bob");
	cl_redis_stop(&r);
	cl_skip_ms(c[0], CL_DOWN, H_TIMEOUT_MS);
	cl_skip_ms(c[1], CL_DOWN, H_TIMEOUT_MS);
	/* Guests arrive on both nodes while they cannot agree on numbers. */
	for (i = 2; i < 8; i++)
		c[i] = cl_guest(s[i % 2].port, 0);
	cl_redis_start(&r, r.port, 0);
	/* After the resync every nick in the cluster is unique again. */
	for (i = 0; i < 8; i++) {
		note[0] = '\0';
		cl_watch(c[i], CL_RESTORED, CL_TAKEN, note, sizeof note);
		if (note[0] == '\0')
			continue;
		if ((l = strstr(note, CL_TAKEN)) == NULL ||
		    cl_guest_number(l + strlen(CL_TAKEN)) < 0)
			cl_fail("%s was told '%s'", c[i]->nick, note);
		snprintf(c[i]->nick, sizeof c[i]->nick, "%s",
		    l + strlen(CL_TAKEN));
	}
	for (k = 0; k < 2; k++) {
		h_send(c[k], "/who");
		snprintf(who[k], sizeof who[k], "%s",
		    cl_skip_prefix(c[k], "-!- #lobby ("));
		if (strncmp(who[k], "-!- #lobby (8 users): ", 22) != 0)
			cl_fail("node %d: /who says '%s'", k, who[k]);
		for (i = 0; i < 8; i++)
			if (!cl_word(who[k] + 22, c[i]->nick))
				cl_fail("node %d: /who says '%s', without %s",
				    k, who[k], c[i]->nick);
	}
	for (i = 0; i < 8; i++)
		for (j = 0; j < i; j++)
			if (strcasecmp(c[i]->nick, c[j]->nick) == 0)
				cl_fail("%s on node %d and %s on node %d "
				    "after the resync; /who says '%s'",
				    c[i]->nick, i % 2, c[j]->nick, j % 2,
				    who[0]);
	cl_barrier(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], NULL);
	for (i = 0; i < 8; i++)
		h_close(c[i]);
	cl_down(&r, s, 2);
}
END_TEST

START_TEST(test_graceful_shutdown)
{
	struct cl_redis	 r;
	struct h_server	 s[4];
	struct h_conn	*a, *b, *c, *d, *e;
	char		 want[128];
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
	/* A node started now finds the chat as it is. */
	cl_node_start(&s[3], r.addr, NULL);
	e = cl_guest(s[3].port, 3);
	snprintf(want, sizeof want, "-!- #lobby (3 users): bob Dave %s",
	    e->nick);
	cl_who(e, "/who", want);
	cl_skipf(b, "-!- %s joined #lobby", e->nick);
	cl_skipf(c, "-!- %s joined #lobby", e->nick);
	cl_barrier(b, c, e, NULL);
	cl_quiet(b, c, e, NULL);
	cl_close(b, c, e, NULL);
	cl_down(&r, s, 4);
}
END_TEST

START_TEST(test_guest_unique)
{
	struct cl_redis	 r;
	struct h_server	 s[2];
	struct h_conn	*g[12], *more[4];
	long		 num[12], max, n;
	const char	*l;
	char		 name[64];
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
	/*
	 * Numbers taken by /nick on A, past the highest given: new guests
	 * on B never get them.
	 */
	for (i = 1, max = 0; i < 12; i++)
		max = num[i] > num[max] ? i : max;
	max = num[max];
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof name, "guest-%ld", max + 1 + i);
		cl_nick(g[2 * i], name);
	}
	for (i = 0; i < 4; i++) {
		more[i] = cl_guest(s[1].port, 0);
		n = cl_guest_number(more[i]->nick);
		if (n >= max + 1 && n <= max + 3)
			cl_fail("a new guest on B got %s, taken on A",
			    more[i]->nick);
		for (j = 0; j < i; j++)
			if (strcmp(more[j]->nick, more[i]->nick) == 0)
				cl_fail("%s given twice", more[i]->nick);
	}
	for (i = 0; i < 12; i++)
		h_close(g[i]);
	for (i = 0; i < 4; i++)
		h_close(more[i]);
	cl_down(&r, s, 2);
}
END_TEST

START_TEST(test_reuseport)
{
	struct cl_redis	 r;
	struct h_server	 s[2];
	struct h_conn	*c[6];
	int		 i;

	cl_redis_start(&r, 0, 0);
	cl_node_start(&s[0], r.addr, (const char *[]){ "--reuseport", NULL });
	cl_node_start_port(&s[1], s[0].port, r.addr,
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

/*
 * One line a joiner hears in the flooded room: a line of alice's ("aN")
 * or carol's ("cN") must follow the last one of hers it heard, if any.
 */
static void
cl_flood_line(struct h_conn *c, long *last, const char *l)
{
	static const char *const	 from[2] = { "<alice> a", "<carol> c" };
	long				 n;
	int				 k;

	for (k = 0; k < 2; k++) {
		if (strncmp(l, from[k], 9) != 0)
			continue;
		n = atol(l + 9);
		if (last[k] >= 0 && n != last[k] + 1)
			cl_fail("%s: after '%s%ld' came '%s' (lost, doubled or "
			    "out of order around a join)", c->nick, from[k],
			    last[k], l);
		last[k] = n;
	}
}

/*
 * One stay of c in #f while alice and carol flood it: from its join
 * (history, then live lines) until it has heard alice's line na and
 * carol's nc, then on until its /part is answered.
 */
static void
cl_flood_stay(struct h_conn *c, long na, long nc)
{
	long long	 deadline = cl_now() + H_TIMEOUT_MS;
	long		 last[2] = { -1, -1 };
	const char	*l;

	cl_skip_prefix(c, "-!- you joined #f (");
	while (last[0] != na || last[1] != nc) {
		if ((l = cl_line(c, deadline)) == NULL)
			cl_fail("%s: in #f, heard up to a%ld and c%ld, wanted "
			    "a%ld and c%ld", c->nick, last[0], last[1], na,
			    nc);
		cl_flood_line(c, last, l);
	}
	h_send(c, "/part");
	do {
		if ((l = cl_line(c, deadline)) == NULL)
			cl_fail("%s: no answer to /part", c->nick);
		cl_flood_line(c, last, l);
	} while (strncmp(l, "-!- you joined #lobby (", 23) != 0);
}

START_TEST(test_join_during_flood)
{
	struct cl_redis	 r;
	struct h_server	 s[2];
	struct h_conn	*a, *b, *c, *d;
	long		 na = 0, nc = 0;
	int		 i, k;

	/*
	 * alice (A) and carol (B) keep talking in #f while bob (B) and dave
	 * (A) come and go: each stay hears the history, then every line
	 * said since, none lost or twice, in order.
	 */
	cl_up(&r, s, 2, (const char *[]){ "--rate", "0", NULL });
	a = h_join_as(s[0].port, "alice");
	d = h_join_as(s[0].port, "dave");
	c = h_join_as(s[1].port, "carol");
	b = h_join_as(s[1].port, "bob");
	cl_move(a, "f", 1);
	cl_move(c, "f", 2);
	for (i = 0; i < CL_FLOOD_ROUNDS; i++) {
		h_send(b, "/join f");
		h_send(d, "/join f");
		for (k = 0; k < 6; k++) {
			h_send(a, "a%ld", na++);
			h_send(c, "c%ld", nc++);
		}
		cl_flood_stay(b, na - 1, nc - 1);
		cl_flood_stay(d, na - 1, nc - 1);
	}
	cl_close(a, b, c, d, NULL);
	cl_down(&r, s, 2);
}
END_TEST

START_TEST(test_pipelined)
{
	struct cl_redis	 r;
	struct h_server	 s[2];
	struct h_conn	*a, *b, *d;
	const char	 burst[] = "/nick alicia\nfirst\n/join side\n"
			    "second\n/part\nthird\n";

	/*
	 * Commands that wait for Redis, and lines between them, sent in one
	 * write: the other node sees them all, in order.
	 */
	cl_up(&r, s, 2, NULL);
	a = h_join_as(s[0].port, "alice");
	b = h_join_as(s[1].port, "bob");
	d = h_join_as(s[1].port, "dave");
	cl_move(d, "side", 1);
	cl_barrier(a, b, NULL);
	h_send_raw(a, burst, sizeof burst - 1);
	cl_expect(b, "-!- alice is now known as alicia");
	cl_expect(b, "<alicia> first");
	cl_expect(b, "-!- alicia left #lobby");
	cl_expect(d, "-!- alicia joined #side");
	cl_expect(d, "<alicia> second");
	cl_expect(d, "-!- alicia left #side");
	cl_expect(b, "-!- alicia joined #lobby");
	cl_expect(b, "<alicia> third");
	cl_expect(a, "-!- you are now known as alicia");
	cl_expect(a, "-!- you joined #side (2 users)");
	cl_skip_ms(a, "-!- you joined #lobby (2 users)", H_TIMEOUT_MS);
	cl_quiet(b, d, NULL);
	cl_close(a, b, d, NULL);
	cl_down(&r, s, 2);
}
END_TEST

START_TEST(test_burst_order)
{
	struct cl_redis	 r;
	struct h_server	 s[2];
	struct h_conn	*a, *b, *c;
	char		*burst;
	size_t		 len = 0;
	int		 i;

	/* Without --rate, 500 lines in one go: all of them, in order. */
	cl_up(&r, s, 2, (const char *[]){ "--rate", "0", NULL });
	a = h_join_as(s[0].port, "alice");
	c = h_join_as(s[0].port, "carol");
	b = h_join_as(s[1].port, "bob");
	cl_barrier(a, b, c, NULL);
	ck_assert_ptr_nonnull(burst = malloc(CL_BURST * 32));
	for (i = 0; i < CL_BURST; i++)
		len += (size_t)snprintf(burst + len, 32, "burst %d\n", i);
	h_send_raw(a, burst, len);
	free(burst);
	for (i = 0; i < CL_BURST; i++) {
		cl_expectf(b, "<alice> burst %d", i);
		cl_expectf(c, "<alice> burst %d", i);
	}
	cl_quiet(a, b, c, NULL);
	cl_close(a, b, c, NULL);
	cl_down(&r, s, 2);
}
END_TEST

/*
 * Is bob, on his own, all the cluster has: /who lists him alone and
 * /rooms only #lobby?  The answers go into who and rooms.
 */
static int
cl_alone(struct h_conn *b, char *who, size_t size, char rooms[][256])
{
	int	n;

	h_send(b, "/who");
	snprintf(who, size, "%s", cl_skip_prefix(b, "-!- #lobby ("));
	n = cl_collect(b, "/rooms", "-!- #", 1, rooms, 16);
	return strcmp(who, "-!- #lobby (1 user): bob") == 0 && n == 1 &&
	    strcmp(rooms[0], "-!- #lobby (1 user)") == 0;
}

START_TEST(test_abandoned)
{
	struct cl_redis	 r;
	struct h_server	 s[2];
	struct h_conn	*b, *c;
	char		 rooms[16][256], who[1024], nick[32];
	const char	*l;
	long long	 deadline;
	int		 i;

	/*
	 * Clients that ask the cluster something and leave before the
	 * answer (or before their welcome) leave nothing behind: no member,
	 * no room, no nick.
	 */
	cl_up(&r, s, 2, NULL);
	b = h_join_as(s[1].port, "bob");
	for (i = 0; i < 10; i++) {
		c = h_connect(s[0].port);
		h_send(c, "/nick zed%d\n/join ghost%d\n/who\n/rooms\n"
		    "/msg bob boo", i, i);
		h_close(c);
		h_close(h_connect(s[0].port));
	}
	/* The node has freed all twenty (its log says so for each). */
	cl_wait_log(&s[0], " closed (", 20, H_TIMEOUT_MS);
	deadline = cl_now() + H_TIMEOUT_MS;
	while (!cl_alone(b, who, sizeof who, rooms)) {
		if (cl_now() > deadline)
			cl_fail("the clients left 5 s ago; /who says '%s', "
			    "/rooms '%s'...", who, rooms[0]);
		usleep(100000);
	}
	/* And no late answer from Redis brings anything back. */
	usleep(CL_QUIET_MS * 1000);
	if (!cl_alone(b, who, sizeof who, rooms))
		cl_fail("after the clients left, /who said bob alone, then "
		    "'%s', /rooms '%s'...", who, rooms[0]);
	for (i = 0; i < 10; i++) {
		snprintf(nick, sizeof nick, "zed%d", i);
		l = cl_try_nick(b, nick);
		if (strncmp(l, "-!- you are now known as ", 25) != 0)
			cl_fail("'/nick %s' after its holder left: '%s'", nick,
			    l);
	}
	cl_close(b, NULL);
	cl_down(&r, s, 2);
}
END_TEST

START_TEST(test_held_joins)
{
	struct cl_redis	 r;
	struct h_server	 s[1];
	struct h_conn	*a, *b;

	/*
	 * alice and bob, on one node, join one room while Redis is held
	 * still, so that both joins are in flight at once: alice hears bob
	 * join once, not from what her join kept and again from the node.
	 */
	cl_up(&r, s, 1, (const char *[]){ "--rate", "0", NULL });
	a = h_join_as(s[0].port, "alice");
	b = h_join_as(s[0].port, "bob");
	cl_barrier(a, b, NULL);
	cl_redis_hold(&r, CL_HOLD_MS);
	h_send(a, "/join held");
	/* The node has read alice's /join before bob's: hers goes first. */
	h_sync(b);
	h_send(b, "/join held");
	cl_joined(a, "held", 1);
	cl_expect(a, "-!- bob joined #held");
	cl_joined(b, "held", 2);
	h_send(b, "after the joins");
	cl_expect(a, "<bob> after the joins");
	cl_quiet(a, b, NULL);
	cl_close(a, b, NULL);
	cl_down(&r, s, 1);
}
END_TEST

START_TEST(test_held_join_topic)
{
	struct cl_redis	 r;
	struct h_server	 s[1];
	struct h_conn	*a, *b;
	const char	*l;
	const char	*lines[2] = { "-!- alice set the topic: cats",
			    "-!- bob joined #tp" };

	/*
	 * While Redis is held, bob joins #tp, then alice, there on the same
	 * node, sets its topic: the topic comes after the join, so bob hears
	 * it being set, once.  His answer, given once the topic is in, may
	 * say it already.
	 */
	cl_up(&r, s, 1, (const char *[]){ "--rate", "0", NULL });
	a = h_join_as(s[0].port, "alice");
	b = h_join_as(s[0].port, "bob");
	cl_move(a, "tp", 1);
	cl_redis_hold(&r, CL_HOLD_MS);
	h_send(b, "/join tp");
	h_sync(a);
	h_send(a, "/topic cats");
	cl_await(a, lines, 2);
	cl_joined(b, "tp", 2);
	if ((l = cl_line(b, cl_now() + H_TIMEOUT_MS)) != NULL &&
	    strcmp(l, "-!- topic for #tp: cats") == 0)
		l = cl_line(b, cl_now() + H_TIMEOUT_MS);
	if (l == NULL || strcmp(l, "-!- alice set the topic: cats") != 0)
		cl_fail("bob: after his answer, wanted '-!- alice set the "
		    "topic: cats', got '%s'", l != NULL ? l : "nothing");
	h_send(a, "after the topic");
	cl_expect(b, "<alice> after the topic");
	cl_quiet(a, b, NULL);
	h_send(b, "/topic");
	cl_expect(b, "-!- topic for #tp: cats");
	cl_close(a, b, NULL);
	cl_down(&r, s, 1);
}
END_TEST

START_TEST(test_held_join_long)
{
	struct cl_redis	 r;
	struct h_server	 s[1];
	struct h_conn	*a, *b;
	char		*burst;
	size_t		 len = 0;
	int		 i;

	/*
	 * alice says CL_HELD_LINES lines in #big while bob's join into it is
	 * held: after his history he hears every one of them, in order, none
	 * twice (a join in flight keeps up to 1 MiB of text).
	 */
	cl_up(&r, s, 1, (const char *[]){ "--rate", "0", "--history", "3",
	    NULL });
	a = h_join_as(s[0].port, "alice");
	b = h_join_as(s[0].port, "bob");
	cl_move(a, "big", 1);
	h_send(a, "h1");
	h_send(a, "h2");
	h_send(a, "h3");
	h_sync(a);	/* all three are in the history before the join */
	cl_redis_hold(&r, CL_HOLD_MS);
	h_send(b, "/join big");
	h_sync(a);
	ck_assert_ptr_nonnull(burst = malloc(CL_HELD_LINES * 16));
	for (i = 1; i <= CL_HELD_LINES; i++)
		len += (size_t)snprintf(burst + len, 16, "n%d\n", i);
	h_send_raw(a, burst, len);
	free(burst);
	cl_joined(b, "big", 2);
	cl_expect(a, "-!- bob joined #big");
	cl_expect(b, "-!- last 3 messages in #big:");
	cl_expect(b, "<alice> h1");
	cl_expect(b, "<alice> h2");
	cl_expect(b, "<alice> h3");
	cl_expect(b, "-!- end of history");
	for (i = 1; i <= CL_HELD_LINES; i++)
		cl_expectf(b, "<alice> n%d", i);
	h_send(a, "after the burst");
	cl_expect(b, "<alice> after the burst");
	cl_quiet(a, b, NULL);
	cl_close(a, b, NULL);
	cl_down(&r, s, 1);
}
END_TEST

START_TEST(test_unix_socket)
{
	struct cl_redis	 r;
	struct h_server	 s[2];
	struct h_conn	*a, *b;

	cl_redis_start(&r, 0, 1);
	cl_node_start(&s[0], r.addr, NULL);
	cl_node_start(&s[1], r.addr, NULL);
	a = h_join_as(s[0].port, "alice");
	b = h_join_as(s[1].port, "bob");
	cl_barrier(a, b, NULL);
	h_send(a, "over a socket file");
	cl_expect(b, "<alice> over a socket file");
	h_send(b, "/msg ALICE psst");
	cl_expect(a, "*bob* psst");
	cl_expect(b, "-> *alice* psst");
	cl_nick_taken(b, "Alice", NULL);
	cl_quiet(a, b, NULL);
	cl_close(a, b, NULL);
	cl_down(&r, s, 2);
}
END_TEST

/*
 * Run evchatd with exactly these arguments until it exits (at most 3 s,
 * then killed), its stderr into err.  Returns its exit status, or -1.
 */
static int
cl_run(const char *const *args, char *err, size_t size)
{
	const char	*bin = getenv("EVCHATD");
	char		*argv[16];
	long long	 deadline = cl_now() + 3000;
	pid_t		 pid;
	ssize_t		 n;
	size_t		 len = 0;
	int		 fd[2], i, status = 0;

	argv[0] = strdup(bin != NULL ? bin : "./evchatd");
	for (i = 0; args[i] != NULL && i < 14; i++)
		argv[i + 1] = strdup(args[i]);
	argv[i + 1] = NULL;
	ck_assert_int_eq(pipe(fd), 0);
	cl_cloexec();
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		dup2(fd[1], 2);
		close(fd[0]);
		close(fd[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fd[1]);
	for (i = 0; argv[i] != NULL; i++)
		free(argv[i]);
	while (waitpid(pid, &status, WNOHANG) != pid) {
		if (cl_now() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			status = -1;
			break;
		}
		usleep(10000);
	}
	while (len + 1 < size && (n = read(fd[0], err + len,
	    size - len - 1)) > 0)
		len += (size_t)n;
	err[len] = '\0';
	close(fd[0]);
	return status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(test_ttl_minimum)
{
	char	err[4096];
	int	rc;

	rc = cl_run((const char *[]){ "-l", "127.0.0.1:0", "--redis",
	    "127.0.0.1:1", "--redis-ttl", "1", NULL }, err, sizeof err);
	ck_assert_msg(rc > 0, "--redis-ttl 1 was not refused (status %d): %s",
	    rc, err);
	ck_assert_msg(strstr(err, "--redis-ttl") != NULL,
	    "refusing --redis-ttl 1, it said '%s'", err);
}
END_TEST

START_TEST(test_bad_redis_address)
{
	char	err[4096];
	int	rc;

	/* Refused before anything listens, with the forms it takes. */
	rc = cl_run((const char *[]){ "-l", "127.0.0.1:0", "--redis",
	    "no port", NULL }, err, sizeof err);
	ck_assert_msg(rc > 0, "--redis 'no port' was not refused (status %d): "
	    "%s", rc, err);
	ck_assert_msg(strstr(err, "HOST:PORT") != NULL &&
	    strstr(err, "listening on") == NULL,
	    "refusing --redis 'no port', it said '%s'", err);
}
END_TEST

START_TEST(test_fanout)
{
	struct cl_redis	  r;
	struct h_server	  s[3];
	struct h_conn	 *c[CL_FAN_CLIENTS];
	unsigned char	  seen[CL_FAN_CLIENTS];
	const char	 *l, *p;
	long long	  deadline;
	int		  i, from, got;

	cl_up(&r, s, 3, NULL);
	for (i = 0; i < CL_FAN_CLIENTS; i++)
		c[i] = h_join(s[i % 3].port);
	for (i = 0; i < CL_FAN_CLIENTS; i++)
		h_send(c[i], "line %d", i);
	/* Every line reaches everyone else once, and never its sender. */
	for (i = 0; i < CL_FAN_CLIENTS; i++) {
		memset(seen, 0, sizeof seen);
		deadline = cl_now() + H_TIMEOUT_MS;
		for (got = 0; got < CL_FAN_CLIENTS - 1;) {
			if ((l = cl_line(c[i], deadline)) == NULL)
				cl_fail("%s (node %d) got %d lines of %d",
				    c[i]->nick, i % 3, got,
				    CL_FAN_CLIENTS - 1);
			if (l[0] != '<')
				continue;
			if ((p = strstr(l, "> line ")) == NULL ||
			    (from = atoi(p + 7)) < 0 ||
			    from >= CL_FAN_CLIENTS ||
			    strncmp(l + 1, c[from]->nick, (size_t)(p - l - 1))
			    != 0 || from == i || seen[from])
				cl_fail("%s (node %d) got '%s'%s", c[i]->nick,
				    i % 3, l, from == i ? ": an echo" :
				    seen[from] ? " twice" : "");
			seen[from] = 1;
			got++;
		}
	}
	usleep(CL_QUIET_MS * 1000);
	for (i = 0; i < CL_FAN_CLIENTS; i++)
		h_expect_quiet(c[i], 1);
	for (i = 0; i < CL_FAN_CLIENTS; i++)
		h_close(c[i]);
	cl_down(&r, s, 3);
}
END_TEST

START_TEST(test_join_then_hear)
{
	struct cl_redis	 r;
	struct h_server	 s[2];
	struct h_conn	*a, *b, *c, *d;
	int		 i;

	/*
	 * alice (A) waits in #r1, dave (B) in #r2; bob (B) and carol (A)
	 * come and go, so each node has nobody else in the room they join
	 * and must subscribe before it answers.  No --rate: many commands.
	 */
	cl_up(&r, s, 2, (const char *[]){ "--rate", "0", NULL });
	a = h_join_as(s[0].port, "alice");
	c = h_join_as(s[0].port, "carol");
	b = h_join_as(s[1].port, "bob");
	d = h_join_as(s[1].port, "dave");
	cl_move(a, "r1", 1);
	cl_move(d, "r2", 1);
	for (i = 0; i < 10; i++) {
		cl_move(b, "r1", 2);
		cl_move(c, "r2", 2);
		h_send(a, "round %d", i);
		h_send(d, "round %d", i);
		cl_skipf(b, "<alice> round %d", i);
		cl_skipf(c, "<dave> round %d", i);
		cl_move(b, "lobby", 0);
		cl_move(c, "lobby", 0);
	}
	/* Out and back in one write: the node must still be subscribed. */
	cl_move(b, "r1", 2);
	for (i = 0; i < 10; i++) {
		h_send(b, "/part\n/join r1");
		cl_skip_prefix(b, "-!- you joined #lobby (");
		cl_skip_prefix(b, "-!- you joined #r1 (2 users)");
		h_send(a, "again %d", i);
		cl_skipf(b, "<alice> again %d", i);
	}
	cl_close(a, b, c, d, NULL);
	cl_down(&r, s, 2);
}
END_TEST

/*
 * Redis, node A far from it (a proxy delays each byte CL_FAR_MS each way)
 * and node B near; alice on A, bob and carol on B, all in #lobby.
 */
static void
cl_far_up(struct cl_redis *r, struct cl_proxy *px, struct h_server *s,
    struct h_conn **c)
{
	cl_redis_start(r, 0, 0);
	cl_proxy_start(px, r, CL_FAR_MS);
	cl_node_start(&s[0], px->addr, NULL);
	cl_node_start(&s[1], r->addr, NULL);
	c[0] = h_join_as(s[0].port, "alice");
	c[1] = h_join_as(s[1].port, "bob");
	c[2] = h_join_as(s[1].port, "carol");
	cl_barrier(c[0], c[1], c[2], NULL);
}

/* Stop what cl_far_up started, closing the three connections. */
static void
cl_far_down(struct cl_redis *r, struct cl_proxy *px, struct h_server *s,
    struct h_conn **c)
{
	cl_close(c[0], c[1], c[2], NULL);
	cl_node_stop(&s[0]);
	cl_node_stop(&s[1]);
	cl_proxy_stop(px);
	cl_redis_stop(r);
}

START_TEST(test_far_node_join)
{
	struct cl_redis	 r;
	struct cl_proxy	 px;
	struct h_server	 s[2];
	struct h_conn	*c[3];
	char		 room[16];
	int		 i;

	/*
	 * alice, on the far node, is in a room (she was told so, and bob's
	 * count has her) before bob joins it: as on one server, bob never
	 * hears "alice joined"; the next he hears of her is what she says.
	 */
	cl_far_up(&r, &px, s, c);
	for (i = 0; i < 3; i++) {
		snprintf(room, sizeof room, "far%d", i);
		cl_move(c[0], room, 1);
		cl_move(c[1], room, 2);
		h_send(c[0], "hello %d", i);
		cl_expectf(c[1], "<alice> hello %d", i);
	}
	cl_quiet(c[1], NULL);
	cl_far_down(&r, &px, s, c);
}
END_TEST

START_TEST(test_far_node_topic)
{
	struct cl_redis	 r;
	struct cl_proxy	 px;
	struct h_server	 s[2];
	struct h_conn	*c[3];

	/*
	 * alice, on the far node, has set the topic of #tp (she was told
	 * so) before carol joins it: as on one server, carol is given the
	 * topic with her join, and never hears it being set.
	 */
	cl_far_up(&r, &px, s, c);
	cl_move(c[1], "tp", 1);
	cl_move(c[0], "tp", 2);
	cl_skip_ms(c[1], "-!- alice joined #tp", H_TIMEOUT_MS);
	h_send(c[0], "/topic cats");
	cl_expect(c[0], "-!- alice set the topic: cats");
	cl_move(c[2], "tp", 3);
	cl_expect(c[2], "-!- topic for #tp: cats");
	h_send(c[0], "hello");
	cl_expect(c[2], "<alice> hello");
	cl_skip_ms(c[1], "<alice> hello", H_TIMEOUT_MS);
	cl_quiet(c[2], NULL);
	cl_far_down(&r, &px, s, c);
}
END_TEST

START_TEST(test_shutdown_without_redis)
{
	struct cl_redis	 r;
	struct h_server	 s[2];
	struct h_conn	*a, *b;
	long long	 t0;
	int		 rc;

	cl_up(&r, s, 2, NULL);
	a = h_join_as(s[0].port, "alice");
	b = h_join_as(s[1].port, "bob");
	cl_redis_stop(&r);
	cl_skip_ms(a, CL_DOWN, H_TIMEOUT_MS);
	cl_skip_ms(b, CL_DOWN, H_TIMEOUT_MS);
	/* With Redis gone, SIGTERM still drains and exits 0, soon. */
	t0 = cl_now();
	kill(s[0].pid, SIGTERM);
	cl_skip_ms(a, "-!- server shutting down", H_TIMEOUT_MS);
	h_expect_eof(a, H_TIMEOUT_MS);
	h_close(a);
	if ((rc = h_server_wait(&s[0], 8000)) != 0)
		cl_fail("with Redis gone, a node got SIGTERM and its last "
		    "client left; %lld ms later its status is %d",
		    cl_now() - t0, rc);
	/* The other one still serves its own, and stops as well. */
	h_send(b, "/msg bob alone");
	cl_skip_ms(b, "-> *bob* alone", H_TIMEOUT_MS);
	h_close(b);
	t0 = cl_now();
	kill(s[1].pid, SIGTERM);
	if ((rc = h_server_wait(&s[1], 8000)) != 0)
		cl_fail("with Redis gone, a node without clients got SIGTERM; "
		    "%lld ms later its status is %d", cl_now() - t0, rc);
	cl_down(&r, s, 2);
}
END_TEST

/*
 * Two nodes and Redis, node A through a proxy that can cut it off alone;
 * on A a guest and wendy, on B a guest and xena, all in #lobby.
 */
static void
cl_split_up(struct cl_redis *r, struct cl_proxy *px, struct h_server *s,
    struct h_conn **c)
{
	cl_redis_start(r, 0, 0);
	/* Before any connection that the proxy would hold open too. */
	cl_proxy_start(px, r, 0);
	cl_node_start(&s[0], px->addr, NULL);
	cl_node_start(&s[1], r->addr, NULL);
	c[0] = h_join(s[0].port);
	c[1] = h_join_as(s[0].port, "wendy");
	c[2] = h_join(s[1].port);
	c[3] = h_join_as(s[1].port, "xena");
	cl_barrier(c[0], c[1], c[2], c[3], NULL);
}

/* Stop what cl_split_up started, closing the four connections. */
static void
cl_split_down(struct cl_redis *r, struct cl_proxy *px, struct h_server *s,
    struct h_conn **c)
{
	cl_close(c[0], c[1], c[2], c[3], NULL);
	cl_node_stop(&s[0]);
	cl_node_stop(&s[1]);
	cl_proxy_stop(px);
	cl_redis_stop(r);
}

START_TEST(test_partition_cut)
{
	struct cl_redis	 r;
	struct cl_proxy	 px;
	struct h_server	 s[2];
	struct h_conn	*c[4], *p, *w, *q, *x;
	char		 note[512], seen[512], want[256], nick[64];
	const char	*l;
	long long	 t0;

	cl_split_up(&r, &px, s, c);
	p = c[0], w = c[1], q = c[2], x = c[3];

	/* A alone is cut off: told once; B is not told. */
	kill(px.pid, SIGUSR1);
	t0 = cl_now();
	cl_skip_ms(p, CL_DOWN, H_TIMEOUT_MS);
	cl_skip_ms(w, CL_DOWN, H_TIMEOUT_MS);
	cl_never[0] = CL_DOWN;
	/* Each side goes on with its own. */
	h_send(w, "A goes on");
	cl_expect(p, "<wendy> A goes on");
	cl_never[1] = "<wendy> A goes on";
	h_send(x, "B goes on");
	cl_expect(q, "<xena> B goes on");
	/* One nick taken on each side. */
	snprintf(want, sizeof want, "-!- %s is now known as dora", p->nick);
	cl_nick(p, "dora");
	cl_skip_ms(w, want, H_TIMEOUT_MS);
	snprintf(want, sizeof want, "-!- %s is now known as Dora", q->nick);
	cl_nick(q, "Dora");
	cl_skip_ms(x, want, H_TIMEOUT_MS);
	/* For B, A's users are gone within --redis-ttl. */
	for (;;) {
		h_send(x, "/who");
		l = cl_skip_prefix(x, "-!- #lobby (");
		if (strcmp(l, "-!- #lobby (2 users): Dora xena") == 0)
			break;
		if (cl_now() > t0 + (CL_TTL + 5) * 1000)
			cl_fail("%lld ms after A was cut off, /who on B says "
			    "'%s'", cl_now() - t0, l);
		usleep(250000);
	}

	/* A is back: Redis's holder keeps the nick; A's user is renamed. */
	kill(px.pid, SIGUSR2);
	memset(note, 0, sizeof note);
	memset(seen, 0, sizeof seen);
	cl_watch(p, CL_RESTORED, CL_TAKEN, note, sizeof note);
	cl_watch(w, CL_RESTORED, " is now known as ", seen, sizeof seen);
	cl_note(p, CL_TAKEN, note, sizeof note, H_TIMEOUT_MS);
	snprintf(want, sizeof want, "-!- your nick dora%sguest-", CL_TAKEN);
	if (strncmp(note, want, strlen(want)) != 0 ||
	    cl_guest_number(note + strlen(want) - 6) < 0)
		cl_fail("dora on the node that was cut off was told '%s'",
		    note);
	snprintf(nick, sizeof nick, "%s", note + strlen(want) - 6);
	snprintf(p->nick, sizeof p->nick, "%s", nick);
	snprintf(want, sizeof want, "-!- dora is now known as %s", nick);
	cl_note(w, " is now known as ", seen, sizeof seen, H_TIMEOUT_MS);
	if (strcmp(seen, want) != 0)
		cl_fail("wendy on A wanted '%s', saw '%s'", want, seen);
	cl_skip_ms(x, want, H_TIMEOUT_MS);
	/* One chat again. */
	h_send(x, "/who");
	l = cl_skip_prefix(x, "-!- #lobby (");
	if (strncmp(l, "-!- #lobby (4 users): ", 22) != 0 ||
	    !cl_word(l + 22, "Dora") || !cl_word(l + 22, "xena") ||
	    !cl_word(l + 22, "wendy") || !cl_word(l + 22, nick))
		cl_fail("after A came back, /who on B says '%s'", l);
	cl_nick_taken(p, "dora", NULL);
	/* B's nicks outlived --redis-ttl while B lived; A's are back. */
	cl_nick_taken(p, "XENA", NULL);
	cl_nick_taken(q, "Wendy", NULL);
	h_send(w, "A is back");
	cl_skip_ms(x, "<wendy> A is back", H_TIMEOUT_MS);
	cl_skip_ms(q, "<wendy> A is back", H_TIMEOUT_MS);
	cl_barrier(p, q, w, x, NULL);
	cl_quiet(p, q, w, x, NULL);
	cl_split_down(&r, &px, s, c);
}
END_TEST

START_TEST(test_partition_hang)
{
	struct cl_redis	 r;
	struct cl_proxy	 px;
	struct h_server	 s[2];
	struct h_conn	*c[4], *p, *w, *q, *x;

	cl_split_up(&r, &px, s, c);
	p = c[0], w = c[1], q = c[2], x = c[3];

	/* A's link stops answering (nothing closes): A notices. */
	kill(px.pid, SIGSTOP);
	cl_skip_ms(p, CL_DOWN, (CL_TTL + 3) * 1000);
	cl_skip_ms(w, CL_DOWN, H_TIMEOUT_MS);
	cl_never[0] = CL_DOWN;
	h_send(w, "A alone");
	cl_expect(p, "<wendy> A alone");
	cl_never[1] = "<wendy> A alone";
	h_send(x, "B alone");
	cl_expect(q, "<xena> B alone");
	/* It answers again. */
	kill(px.pid, SIGCONT);
	cl_skip_ms(p, CL_RESTORED, CL_RESTORE_MS);
	cl_skip_ms(w, CL_RESTORED, CL_RESTORE_MS);
	h_send(w, "A is back");
	cl_skip_ms(x, "<wendy> A is back", H_TIMEOUT_MS);
	cl_skip_ms(q, "<wendy> A is back", H_TIMEOUT_MS);
	h_send(x, "B hears");
	cl_skip_ms(p, "<xena> B hears", H_TIMEOUT_MS);
	cl_skip_ms(w, "<xena> B hears", H_TIMEOUT_MS);
	cl_barrier(p, q, w, x, NULL);
	cl_quiet(p, q, w, x, NULL);
	cl_split_down(&r, &px, s, c);
}
END_TEST

START_TEST(test_held_join_shutdown)
{
	struct cl_redis	 r;
	struct h_server	 s[3];
	struct h_conn	*a, *b, *c, *d;
	const char	*l;
	long long	 deadline;
	int		 joined = 0, left = 0, rc;

	/*
	 * dave's /join into #r is held in Redis when his node (A) gets
	 * SIGTERM.  alice (B) may hear that he joined, but then she hears
	 * that he left; /who does not list him.  bob (C) speaks last: what
	 * A published before it exited reaches alice before bob's line.
	 * carol and dave close as soon as they read the notice, so A may
	 * have no clients left (and say goodbye to Redis) before Redis
	 * answers the join: A must still give the join back.
	 */
	cl_up(&r, s, 3, (const char *[]){ "--rate", "0", NULL });
	c = h_join_as(s[0].port, "carol");
	d = h_join_as(s[0].port, "dave");
	a = h_join_as(s[1].port, "alice");
	b = h_join_as(s[2].port, "bob");
	/* carol keeps A subscribed to #r: dave's join goes out at once. */
	cl_move(a, "r", 1);
	cl_move(b, "r", 2);
	cl_move(c, "r", 3);
	cl_barrier(a, b, c, NULL);
	cl_redis_hold(&r, CL_HOLD_MS);
	h_send(d, "/join r");
	h_sync(c);
	kill(s[0].pid, SIGTERM);
	cl_skip_ms(c, "-!- server shutting down", H_TIMEOUT_MS);
	cl_skip_ms(d, "-!- server shutting down", H_TIMEOUT_MS);
	cl_close(c, d, NULL);	/* at once: A may be done before Redis is */
	if ((rc = h_server_wait(&s[0], 10000)) != 0)
		cl_fail("a node got SIGTERM with a join held; its status is "
		    "%d", rc);
	h_send(b, "after A");
	deadline = cl_now() + H_TIMEOUT_MS;
	do {
		if ((l = cl_line(a, deadline)) == NULL)
			cl_fail("alice: wanted '<bob> after A', never came");
		if (strcmp(l, "-!- dave joined #r") == 0)
			joined++;
		else if (strcmp(l, "-!- dave left #r") == 0)
			left++;
		else if (strstr(l, "dave") != NULL)
			cl_fail("alice: got '%s' in #r", l);
		if (joined > 1 || left > joined)
			cl_fail("alice: got '%s', making %d join(s) and %d "
			    "part(s) of dave", l, joined, left);
	} while (strcmp(l, "<bob> after A") != 0);
	if (joined != left)
		cl_fail("alice heard dave join #r and never leave it");
	cl_who(a, "/who r", "-!- #r (2 users): alice bob");
	cl_who(b, "/who r", "-!- #r (2 users): alice bob");
	cl_quiet(a, b, NULL);
	cl_close(a, b, NULL);
	cl_down(&r, s, 3);
}
END_TEST

START_TEST(test_deaf_subscribe)
{
	struct cl_redis	 r;
	struct cl_proxy	 px;
	struct h_server	 s[1];
	struct h_conn	*a, *b, *c;

	/*
	 * The node's subscribe link stays open but brings nothing (the
	 * proxy holds it), while its command link works: the node notices
	 * within a few ticks, and bob's /join, which waits for a barrier to
	 * come back on that link, is answered.  carol stays in #lobby: no
	 * (un)subscription is left unconfirmed, which the node would notice
	 * anyway.
	 */
	cl_redis_start(&r, 0, 0);
	cl_proxy_start(&px, &r, 0);
	cl_node_start(&s[0], px.addr, (const char *[]){ "--redis-ttl",
	    CL_DEAF_TTL_ARG, NULL });
	a = h_join_as(s[0].port, "alice");
	b = h_join_as(s[0].port, "bob");
	c = h_join_as(s[0].port, "carol");
	cl_move(a, "deaf", 1);
	kill(px.pid, SIGHUP);
	h_send(b, "/join deaf");
	cl_wait_log(&s[0], "cluster link down", 1, (CL_DEAF_TTL + 3) * 1000);
	/* It may answer alone, or once it is back: it hears again now. */
	kill(px.pid, SIGUSR2);
	cl_joined(b, "deaf", 2);
	cl_skip_ms(a, "-!- bob joined #deaf", H_TIMEOUT_MS);
	cl_skip_ms(a, CL_RESTORED, CL_RESTORE_MS);
	cl_skip_ms(b, CL_RESTORED, CL_RESTORE_MS);
	h_send(b, "heard?");
	cl_skip_ms(a, "<bob> heard?", H_TIMEOUT_MS);
	cl_close(a, b, c, NULL);
	cl_node_stop(&s[0]);
	cl_proxy_stop(&px);
	cl_redis_stop(&r);
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

/* The tests: the cluster as one server, then its failures. */
static Suite *
cl_suite(void)
{
	Suite	*s = suite_create("cluster");
	TCase	*tc;

	tc = tcase_create("one server");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_chat);
	tcase_add_test(tc, test_empty_publish);
	tcase_add_test(tc, test_room_isolation);
	tcase_add_test(tc, test_nick_collision);
	tcase_add_test(tc, test_msg);
	tcase_add_test(tc, test_who_rooms);
	tcase_add_test(tc, test_history);
	tcase_add_test(tc, test_room_events);
	tcase_add_test(tc, test_guest_unique);
	tcase_add_test(tc, test_reuseport);
	tcase_add_test(tc, test_unix_socket);
	tcase_add_test(tc, test_ttl_minimum);
	tcase_add_test(tc, test_bad_redis_address);
	tcase_add_test(tc, test_fanout);
	tcase_add_test(tc, test_join_then_hear);
	tcase_add_test(tc, test_join_during_flood);
	tcase_add_test(tc, test_pipelined);
	tcase_add_test(tc, test_burst_order);
	tcase_add_test(tc, test_abandoned);
	tcase_add_test(tc, test_held_joins);
	tcase_add_test(tc, test_held_join_topic);
	tcase_add_test(tc, test_held_join_long);
	suite_add_tcase(s, tc);

	tc = tcase_create("failures");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_kill_frees_nicks);
	tcase_add_test(tc, test_redis_restart);
	tcase_add_test(tc, test_outage_nick_collision);
	tcase_add_test(tc, test_outage_guests);
	tcase_add_test(tc, test_graceful_shutdown);
	tcase_add_test(tc, test_partition_cut);
	tcase_add_test(tc, test_partition_hang);
	tcase_add_test(tc, test_shutdown_without_redis);
	tcase_add_test(tc, test_far_node_join);
	tcase_add_test(tc, test_far_node_topic);
	tcase_add_test(tc, test_held_join_shutdown);
	tcase_add_test(tc, test_deaf_subscribe);
	suite_add_tcase(s, tc);
	return s;
}

/* Skip (77) without cluster mode or redis-server; else run the suite. */
int
main(void)
{
	if (!cl_has_cluster()) {
		fprintf(stderr, "evchatd has no cluster mode: skipped\n");
		return 77;
	}
	if (!cl_in_path("redis-server")) {
		fprintf(stderr, "no redis-server in PATH: skipped\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	return check_run(cl_suite());
}
