/*
 * relay-ceiling: the simplest fast chat server there can be, as a ceiling
 * to measure evchatd against.  One thread, one epoll set, 127.0.0.1 only;
 * every complete line a client sends goes to every other client, bytes
 * unchanged.  No protocol, no nicks, no rooms, no limits but one.
 *
 *	relay-ceiling [--nagle] [--rounds N] [PORT]
 *
 * PORT 0, the default, picks a free port.  It prints "listening on
 * 127.0.0.1:PORT" to stderr, like evchatd, so evchat-bench --raw can
 * start it.  SIGTERM or SIGINT ends it at once.
 *
 * What it does to be fast, and no more: one read(2) per readable client
 * into a shared buffer, and the complete lines of that read appended with
 * one memcpy to each other client's output buffer; each client with
 * output is written once per wake-up, after all reads, so lines from many
 * senders leave in one write(2); EPOLLOUT only while a write fell short.
 * A wake-up is a blocking epoll_wait and, while input keeps coming, up to
 * N-1 more that do not block (--rounds N, default 4): reading what arrived
 * meanwhile before writing costs a few microseconds and, under load,
 * batches about twice as many lines per write(2), which is a ceiling's
 * job; --rounds 1 writes after every epoll_wait.
 *
 * Nothing is dropped: a client whose unsent output passes RELAY_OUT_CAP
 * (or whose line passes RELAY_LINE_MAX) is disconnected.  Closing is
 * deferred to the end of the wake-up so a broadcast never meets a freed
 * client.  Client sockets get TCP_NODELAY, as a server that cares about
 * latency sets it; --nagle leaves Nagle's algorithm on, to compare with a
 * server that does not (fewer, larger segments cost less CPU, but a line
 * can wait for the peer's delayed ACK, up to 40 ms).
 */
/* Linux-only on purpose: epoll, timerfd, /proc; stands alone from config.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RELAY_RBUF	(256 * 1024)
#define RELAY_LINE_MAX	(64 * 1024)	/* longest unfinished line kept */
#define RELAY_OUT_CAP	(64 * 1024 * 1024) /* unsent bytes per client */
#define RELAY_EVENTS	1024

/* One connected client. */
struct client {
	int	 fd;
	int	 dead;		/* disconnect at the end of this iteration */
	int	 dirty;		/* on the flush list */
	int	 wantout;	/* EPOLLOUT registered */
	size_t	 slot;		/* index in the live array */
	char	*in;		/* an unfinished line; owned */
	size_t	 in_len, in_cap;
	char	*out;		/* bytes not yet written; owned */
	size_t	 out_off, out_len, out_cap;
};

static struct client	**live;		/* every client, for broadcast */
static size_t		  nlive, live_cap;
static struct client	**dirty;	/* clients with output to flush */
static size_t		  ndirty, dirty_cap;
static struct client	**dead;		/* clients to free this iteration */
static size_t		  ndead, dead_cap;
static int		  ep;
static char		  rbuf[RELAY_LINE_MAX + RELAY_RBUF];
static int		  nagle;	/* --nagle: no TCP_NODELAY */
static int		  rounds = 4;	/* --rounds: epoll_waits per flush */
static volatile sig_atomic_t stop;

/* Grow-or-die for the few arrays and buffers. */
static void *
relay_grow(void *p, size_t *cap, size_t need, size_t size)
{
	size_t	n = *cap == 0 ? 16 : *cap;

	if (need <= *cap)
		return p;
	while (n < need)
		n *= 2;
	if ((p = realloc(p, n * size)) == NULL) {
		fprintf(stderr, "relay-ceiling: out of memory\n");
		exit(1);
	}
	*cap = n;
	return p;
}

/* Set the client's epoll interest: always input, output when behind. */
static void
relay_poll(struct client *c, int wantout)
{
	struct epoll_event	ev;

	if (c->wantout == wantout)
		return;
	c->wantout = wantout;
	ev.events = EPOLLIN | (wantout ? EPOLLOUT : 0);
	ev.data.ptr = c;
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Mark a client to be disconnected once this iteration is over. */
static void
relay_kill(struct client *c)
{
	if (c->dead)
		return;
	c->dead = 1;
	dead = relay_grow(dead, &dead_cap, ndead + 1, sizeof *dead);
	dead[ndead++] = c;
}

/* Free the clients marked dead; nothing else refers to them after this. */
static void
relay_reap(void)
{
	struct client	*c;
	size_t		 i;

	for (i = 0; i < ndead; i++) {
		c = dead[i];
		live[c->slot] = live[--nlive];
		live[c->slot]->slot = c->slot;
		close(c->fd);
		free(c->in);
		free(c->out);
		free(c);
	}
	ndead = 0;
}

/* Append bytes to every live client's output except the sender's. */
static void
relay_broadcast(struct client *from, const char *buf, size_t len)
{
	struct client	*c;
	size_t		 i;

	for (i = 0; i < nlive; i++) {
		c = live[i];
		if (c == from || c->dead)
			continue;
		if (c->out_len - c->out_off + len > RELAY_OUT_CAP) {
			relay_kill(c);
			continue;
		}
		if (c->out_off > 0 && c->out_len + len > c->out_cap) {
			memmove(c->out, c->out + c->out_off,
			    c->out_len - c->out_off);
			c->out_len -= c->out_off;
			c->out_off = 0;
		}
		c->out = relay_grow(c->out, &c->out_cap, c->out_len + len, 1);
		memcpy(c->out + c->out_len, buf, len);
		c->out_len += len;
		if (!c->dirty) {
			c->dirty = 1;
			dirty = relay_grow(dirty, &dirty_cap, ndirty + 1,
			    sizeof *dirty);
			dirty[ndirty++] = c;
		}
	}
}

/* Read once from a client; relay its complete lines; keep the rest. */
static void
relay_read(struct client *c)
{
	char	*end, *last;
	ssize_t	 n;
	size_t	 done;

	if (c->in_len > 0)
		memcpy(rbuf, c->in, c->in_len);
	n = read(c->fd, rbuf + c->in_len, RELAY_RBUF);
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		relay_kill(c);
		return;
	}
	if (n == -1)
		return;
	end = rbuf + c->in_len + n;
	last = memrchr(rbuf + c->in_len, '\n', (size_t)n);
	done = last == NULL ? 0 : (size_t)(last + 1 - rbuf);
	if (done > 0)
		relay_broadcast(c, rbuf, done);
	c->in_len = (size_t)(end - rbuf) - done;
	if (c->in_len > RELAY_LINE_MAX) {
		relay_kill(c);
		return;
	}
	if (c->in_len > 0) {
		c->in = relay_grow(c->in, &c->in_cap, c->in_len, 1);
		memcpy(c->in, rbuf + done, c->in_len);
	}
}

/* Write each client's output once; what does not fit waits for EPOLLOUT. */
static void
relay_flush(void)
{
	struct client	*c;
	ssize_t		 n;
	size_t		 i;

	for (i = 0; i < ndirty; i++) {
		c = dirty[i];
		c->dirty = 0;
		if (c->dead || c->out_len == c->out_off)
			continue;
		n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
		if (n == -1 && errno != EAGAIN) {
			relay_kill(c);
			continue;
		}
		if (n > 0)
			c->out_off += (size_t)n;
		if (c->out_off == c->out_len) {
			/* An idle client keeps no buffer. */
			free(c->out);
			c->out = NULL;
			c->out_off = c->out_len = c->out_cap = 0;
			relay_poll(c, 0);
		} else
			relay_poll(c, 1);
	}
	ndirty = 0;
}

/* Accept every pending connection. */
static void
relay_accept(int lfd)
{
	struct epoll_event	 ev;
	struct client		*c;
	int			 fd, on = 1;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) != -1) {
		if (!nagle)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on,
			    sizeof on);
		if ((c = calloc(1, sizeof *c)) == NULL) {
			fprintf(stderr, "relay-ceiling: out of memory\n");
			exit(1);
		}
		c->fd = fd;
		c->slot = nlive;
		live = relay_grow(live, &live_cap, nlive + 1, sizeof *live);
		live[nlive++] = c;
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	}
	if (errno == EMFILE || errno == ENFILE)
		fprintf(stderr, "relay-ceiling: accept: %s\n", strerror(errno));
}

/* SIGTERM and SIGINT end the loop. */
static void
relay_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Listen on 127.0.0.1:port and say where; exits on failure. */
static int
relay_listen(int port)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof sin;
	int			fd, on = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == -1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1 ||
	    listen(fd, SOMAXCONN) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		fprintf(stderr, "relay-ceiling: listen on 127.0.0.1:%d: %s\n",
		    port, strerror(errno));
		exit(1);
	}
	fprintf(stderr, "listening on 127.0.0.1:%u\n", ntohs(sin.sin_port));
	return fd;
}

/* Read the options; exits with a usage message on a bad one. */
static int
relay_parse(int argc, char **argv)
{
	char	*end;
	long	 port = 0;
	int	 i = 1, bad = 0;

	for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
		if (strcmp(argv[i], "--nagle") == 0)
			nagle = 1;
		else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc &&
		    (rounds = atoi(argv[i + 1])) >= 1 && rounds <= 1000)
			i++;
		else {
			bad = 1;
			break;
		}
	}
	if (i < argc && !bad) {
		port = strtol(argv[i], &end, 10);
		bad = port < 0 || port > 65535 || *end != '\0' ||
		    argv[i][0] == '\0' || i + 1 < argc;
	}
	if (bad) {
		fprintf(stderr, "usage: relay-ceiling [--nagle] [--rounds N] "
		    "[PORT]\n(--raw is an option of evchat-bench: put it "
		    "before the '--')\n");
		exit(2);
	}
	return (int)port;
}

/* Handle the events of one epoll_wait: accept, read, note writability. */
static void
relay_events(int lfd, struct epoll_event *evs, int n)
{
	struct client	*c;
	int		 i;

	for (i = 0; i < n; i++) {
		if ((c = evs[i].data.ptr) == NULL) {
			relay_accept(lfd);
			continue;
		}
		if (!c->dead && evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			relay_read(c);
		if (!c->dead && evs[i].events & EPOLLOUT && !c->dirty) {
			c->dirty = 1;
			dirty = relay_grow(dirty, &dirty_cap, ndirty + 1,
			    sizeof *dirty);
			dirty[ndirty++] = c;
		}
	}
}

int
main(int argc, char **argv)
{
	static struct epoll_event	 evs[RELAY_EVENTS];
	struct epoll_event		 ev;
	struct sigaction		 sa;
	struct rlimit			 rl;
	sigset_t			 block, waitmask;
	int				 lfd, port, r, n;
	size_t				 i;

	port = relay_parse(argc, argv);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	/* Signals arrive only inside epoll_pwait, so none is missed. */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = relay_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);

	lfd = relay_listen(port);
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		perror("relay-ceiling: epoll_create1");
		return 1;
	}
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	while (!stop) {
		n = epoll_pwait(ep, evs, RELAY_EVENTS, -1, &waitmask);
		relay_events(lfd, evs, n);
		for (r = 1; r < rounds && n > 0 && !stop; r++) {
			n = epoll_pwait(ep, evs, RELAY_EVENTS, 0, &waitmask);
			relay_events(lfd, evs, n);
		}
		relay_flush();
		relay_reap();
	}
	for (i = 0; i < nlive; i++)
		relay_kill(live[i]);
	relay_reap();
	close(lfd);
	return 0;
}
