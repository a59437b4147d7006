/*
 * server: owns everything else.  It binds the listeners in the order the
 * study note teaches (socket, bind, listen, then accept per client), turns
 * signals into events, runs the reaper that frees closing clients with
 * nothing on the stack, and pauses accepting when the process runs out
 * of file descriptors instead of spinning on EMFILE.
 *
 * Shutdown is a drain, not an exit: the first SIGINT or SIGTERM closes
 * the listeners, queues "server shutting down" behind whatever each
 * client already has queued and closes every client gracefully (flush,
 * FIN, wait for the peer's FIN).  The loop ends when the last client is
 * gone or --grace runs out; a second signal aborts what is left.
 *
 * It does not parse options (main) or know what lines mean (cmd).
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <event2/event.h>
#include <event2/listener.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#ifdef HAVE_HIREDIS
#include "cluster.h"
#endif
#include "cmd.h"
#include "line.h"
#include "log.h"
#include "room.h"
#include "server.h"
#include "tcp.h"
#include "xmalloc.h"

#define SERVER_MOTD_MAX		(64 * 1024)	/* bytes of MOTD file read */
#define SERVER_ACCEPT_PAUSE	1		/* seconds, after EMFILE */
#define SERVER_FD_RESERVE	32	/* descriptors kept beyond clients */

struct server {
	struct event_base	*base;
	struct chat		 chat;
	struct client_pool	 pool;
	struct evconnlistener	*listeners[SERVER_MAX_LISTEN * 4];
	size_t			 nlisteners;
	struct event		*sigint;
	struct event		*sigterm;
	struct event		*reap_ev;
	struct event		*log_ev;	/* writes a loop pass's log lines */
	struct event		*resume_ev;	/* re-enables accept after EMFILE */
	int			 starved;	/* out of descriptors: logged */
	struct event		*idle_ev;	/* --idle-timeout's sweep */
	unsigned		 idle_timeout;	/* seconds; 0: off */
	size_t			 max_clients;	/* admitted at once */
	char			*motd;		/* formatted MOTD lines; owned */
	int			 shared_port;	/* the port port-0 listeners share */
	int			 ports[SERVER_MAX_LISTEN * 4];	/* listened on */
	size_t			 nports;
	int			 reuseport;	/* --reuseport */
	struct cluster		*cluster;	/* --redis; owned, or NULL */
	int			 grace;		/* --grace, seconds */
	struct event		*grace_ev;	/* ends the drain */
	int			 state;
#define SERVER_RUNNING	0
#define SERVER_DRAINING	1	/* first signal seen */
#define SERVER_ABORTING	2	/* second signal or grace over */
#define SERVER_DONE	3	/* summary logged, loop told to exit */
#define SERVER_LEAVING	4	/* clients gone; the cluster says goodbye */
};

static void
server_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct server	*srv = arg;
	struct client	*c;

	(void)l;
	if (srv->starved) {
		srv->starved = 0;
		log_info("accepting connections again");
	}
	c = client_new(&srv->pool, (int)fd, sa, (socklen_t)salen);
	/* Clients on their way out no longer hold a place. */
	if (srv->pool.nclients - srv->pool.nclosing > srv->max_clients) {
		client_reject_full(c);
		return;
	}
	cmd_welcome(c);
}

/* --idle-timeout: once a second, tell and close who has been quiet. */
static void
server_idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server	*srv = arg;
	struct client	*c;
	uint32_t	 now = client_now_ms();

	(void)fd;
	(void)what;
	TAILQ_FOREACH(c, &srv->pool.all, entry) {
		if (client_closing(c) ||
		    now - c->last_line < srv->idle_timeout * 1000u)
			continue;
		client_printf_last(c, "-!- closing: no line from you for %u "
		    "seconds", srv->idle_timeout);
		client_close(c, CLIENT_GRACEFUL, "idle timeout");
	}
}

/*
 * Raise the descriptor limit toward what --max-clients needs: the hard
 * limit too where the process may (root with CAP_SYS_RESOURCE, up to
 * fs.nr_open), else the soft one up to the hard one.  If that is still
 * too low, admit fewer clients and say so once.
 */
static void
server_fit_fd_limit(struct server *srv)
{
	struct rlimit	rl, all;
	rlim_t		need = (rlim_t)srv->max_clients + SERVER_FD_RESERVE;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
		all.rlim_cur = all.rlim_max = need;
		if (setrlimit(RLIMIT_NOFILE, &all) == 0)
			rl = all;
	}
	if (rl.rlim_cur < need && rl.rlim_cur != RLIM_INFINITY) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ||
		    rl.rlim_max > need ? need : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		srv->max_clients = rl.rlim_cur > 2 * SERVER_FD_RESERVE ?
		    (size_t)(rl.rlim_cur - SERVER_FD_RESERVE) :
		    (size_t)rl.rlim_cur / 2;
		log_warnx("file descriptor limit %lu is too low for "
		    "--max-clients; admitting at most %zu clients",
		    (unsigned long)rl.rlim_cur, srv->max_clients);
	}
}

/* Accepting again after a pause for lack of file descriptors. */
static void
server_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server	*srv = arg;
	size_t		 i;

	(void)fd;
	(void)what;
	for (i = 0; i < srv->nlisteners; i++)
		evconnlistener_enable(srv->listeners[i]);
}

/*
 * accept(2) failed.  Out of descriptors, the pending connection stays in
 * the queue and the listener would wake again at once: pause accepting
 * for a moment instead of spinning.
 */
static void
server_accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct server	*srv = arg;
	struct timeval	 tv = { SERVER_ACCEPT_PAUSE, 0 };
	int		 err = EVUTIL_SOCKET_ERROR();
	size_t		 i;

	(void)l;
	if (err != EMFILE && err != ENFILE && err != ENOBUFS &&
	    err != ENOMEM) {
		log_warnx("accept: %s", evutil_socket_error_to_string(err));
		return;
	}
	if (evtimer_pending(srv->resume_ev, NULL))
		return;
	/* One line per episode: until an accept succeeds again. */
	if (!srv->starved)
		log_warnx("accept: %s; pausing for %d s at a time",
		    evutil_socket_error_to_string(err), SERVER_ACCEPT_PAUSE);
	srv->starved = 1;
	for (i = 0; i < srv->nlisteners; i++)
		evconnlistener_disable(srv->listeners[i]);
	evtimer_add(srv->resume_ev, &tv);
}

/* Bind and listen on one address; returns the socket or -1. */
static int
server_bind(struct server *srv, struct addrinfo *ai, int backlog)
{
	struct sockaddr_storage	ss;
	socklen_t		sslen;
	int			fd, on = 1, port_zero, saved;
	char			name[64];

	port_zero = ai->ai_family == AF_INET6 ?
	    ((struct sockaddr_in6 *)(void *)ai->ai_addr)->sin6_port == 0 :
	    ((struct sockaddr_in *)(void *)ai->ai_addr)->sin_port == 0;
	if (port_zero && srv->shared_port != 0) {
		/* Port 0 on several listeners: they all get the first's. */
		if (ai->ai_family == AF_INET6)
			((struct sockaddr_in6 *)(void *)ai->ai_addr)->sin6_port
			    = htons((uint16_t)srv->shared_port);
		else
			((struct sockaddr_in *)(void *)ai->ai_addr)->sin_port =
			    htons((uint16_t)srv->shared_port);
	}
	tcp_format_addr(name, sizeof name, ai->ai_addr);
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1)
		return -1;
	tcp_trace(name, tcp_state(fd), "socket");
	/* Restart at once even while old connections sit in TIME_WAIT. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == -1 ||
	    (srv->reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on,
	    sizeof on) == -1) ||
	    (ai->ai_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof on) == -1) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) == -1)
		goto fail;
	/*
	 * Before listen(2), so every socket accepted from it starts with
	 * the options client sockets need; if it refused one, every client
	 * is given them instead.
	 */
	if (client_sockopts(fd) != 0)
		srv->pool.sockopts = CLIENT_SOCKOPTS_EACH;
	sslen = sizeof ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0)
		tcp_format_addr(name, sizeof name, (struct sockaddr *)&ss);
	tcp_trace(name, tcp_state(fd), "bind");
	if (listen(fd, backlog) == -1)
		goto fail;
	tcp_trace(name, tcp_state(fd), "listen, backlog %d", backlog);
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

const char *
server_parse_listen(const char *spec, int dport, char *host, size_t hsize,
    int *port)
{
	const char	*colon, *end, *pstr = NULL;
	char		*stop;
	unsigned char	 addr[sizeof(struct in6_addr)];
	unsigned long	 p;
	size_t		 len;

	if (spec[0] == '[') {
		if ((end = strchr(spec, ']')) == NULL)
			return "missing ']'";
		len = (size_t)(end - spec - 1);
		if (end[1] == ':')
			pstr = end + 2;
		else if (end[1] != '\0')
			return "want [ADDR]:PORT";
		spec++;
	} else if ((colon = strrchr(spec, ':')) != NULL &&
	    strchr(spec, ':') == colon) {
		len = (size_t)(colon - spec);
		pstr = colon + 1;
	} else
		len = strlen(spec);	/* a bare host, or a bare IPv6 address */
	*port = dport;
	if (pstr != NULL) {
		p = strtoul(pstr, &stop, 10);
		if (pstr[0] < '0' || pstr[0] > '9' || *stop != '\0' ||
		    p > 65535)
			return "the port is not a number from 0 to 65535";
		*port = (int)p;
	}
	if (len >= hsize)
		return "the address is too long";
	memcpy(host, spec, len);
	host[len] = '\0';
	if (len > 0 && inet_pton(AF_INET, host, addr) != 1 &&
	    inet_pton(AF_INET6, host, addr) != 1)
		return "not a numeric IPv4 or IPv6 address";
	return NULL;
}

/* Open every listener for one -l argument; returns 0 or -1. */
static int
server_listen_one(struct server *srv, const char *spec, int dport,
    int backlog, int optional)
{
	struct addrinfo		 hints, *res, *ai;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	char			 host[INET6_ADDRSTRLEN + 8], port[16], name[64];
	const char		*why;
	int			 fd, rc, portnum;

	if ((why = server_parse_listen(spec, dport, host, sizeof host,
	    &portnum)) != NULL) {
		fprintf(stderr, "evchatd: bad listen address '%s': %s\n",
		    spec, why);
		return -1;
	}
	snprintf(port, sizeof port, "%d", portnum);
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV | AI_NUMERICHOST;
	if ((rc = getaddrinfo(host[0] == '\0' ? NULL : host, port, &hints,
	    &res)) != 0) {
		fprintf(stderr, "evchatd: bad listen address '%s': %s "
		    "(want a numeric IPv4 or IPv6 address)\n", spec,
		    gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (srv->nlisteners == sizeof srv->listeners /
		    sizeof srv->listeners[0])
			break;
		if ((fd = server_bind(srv, ai, backlog)) == -1) {
			if (optional && (errno == EAFNOSUPPORT ||
			    errno == EADDRNOTAVAIL)) {
				log_info("not listening on %s: %s", spec,
				    strerror(errno));
				continue;
			}
			fprintf(stderr, "evchatd: cannot listen on %s: %s\n",
			    spec, strerror(errno));
			freeaddrinfo(res);
			return -1;
		}
		sslen = sizeof ss;
		getsockname(fd, (struct sockaddr *)&ss, &sslen);
		srv->ports[srv->nports] = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
		if (srv->shared_port == 0)
			srv->shared_port = srv->ports[srv->nports];
		srv->nports++;
		srv->listeners[srv->nlisteners] = evconnlistener_new(srv->base,
		    server_accept_cb, srv,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
		if (srv->listeners[srv->nlisteners] == NULL)
			fatalx("evconnlistener_new failed");
		evconnlistener_set_error_cb(srv->listeners[srv->nlisteners++],
		    server_accept_error_cb);
		tcp_format_addr(name, sizeof name,
		    (struct sockaddr *)&ss);
		fprintf(stderr, "listening on %s\n", name);
	}
	freeaddrinfo(res);
	return 0;
}

/* Open the listeners of -l, or the default pair 0.0.0.0 and ::. */
static int
server_listen(struct server *srv, const struct server_opts *o)
{
	static const char	*defaults[] = { "0.0.0.0", "::" };
	size_t			 i;

	if (o->nlisten == 0) {
		for (i = 0; i < 2; i++)
			if (server_listen_one(srv, defaults[i], o->port,
			    o->backlog, i == 1) == -1)
				return -1;
	}
	for (i = 0; i < o->nlisten; i++)
		if (server_listen_one(srv, o->listen[i], o->port, o->backlog,
		    0) == -1)
			return -1;
	if (srv->nlisteners == 0) {
		fprintf(stderr, "evchatd: no address to listen on\n");
		return -1;
	}
	return 0;
}

/* Read the MOTD file into ready-to-send "-!- " lines. */
static int
server_load_motd(struct server *srv, const char *path)
{
	FILE	*f;
	char	*raw, *p, *nl, *clean, *out;
	size_t	 n, len, o = 0;

	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "evchatd: --motd %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	raw = xmalloc(SERVER_MOTD_MAX + 1);
	n = fread(raw, 1, SERVER_MOTD_MAX + 1, f);
	if (n > SERVER_MOTD_MAX) {
		fclose(f);
		fprintf(stderr, "evchatd: --motd %s: larger than %d bytes\n",
		    path, SERVER_MOTD_MAX);
		free(raw);
		return -1;
	}
	raw[n] = '\0';
	if (ferror(f)) {
		fprintf(stderr, "evchatd: --motd %s: %s\n", path,
		    strerror(errno));
		fclose(f);
		free(raw);
		return -1;
	}
	fclose(f);
	clean = xmalloc(LINE_CLEAN_MAX(n) + 1);
	out = xmalloc(LINE_CLEAN_MAX(n) + 6 * (n + 1) + 1);
	for (p = raw; p < raw + n; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(raw + n - p))) == NULL)
			nl = raw + n;
		len = line_clean(p, (size_t)(nl - p), clean);
		o += (size_t)sprintf(out + o, "-!- %.*s\r\n", (int)len, clean);
	}
	free(raw);
	free(clean);
	srv->motd = out;
	srv->pool.motd = out;
	srv->pool.motd_len = o;
	return 0;
}

/*
 * The log lines of a loop pass go out together.  The event runs at the
 * priority of client input, after that priority's callbacks that were
 * already waiting in the pass; lines logged at another priority (the
 * flush, its deadline) go out at the start of the next pass, which comes
 * at once since an event is active.
 */
static void
server_log_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	log_flush();
}

static void
server_log_wake(void *arg)
{
	struct server	*srv = arg;

	event_active(srv->log_ev, EV_TIMEOUT, 0);
}

/* Everyone is gone: log the summary and leave the loop. */
static void
server_finish(struct server *srv)
{
	long	tw = tcp_count_time_wait(srv->ports, srv->nports);

	srv->state = SERVER_DONE;
	if (tw < 0)
		log_info("shutdown: %lu closed gracefully, %lu timed out, "
		    "unknown in TIME_WAIT", srv->pool.graceful,
		    srv->pool.ungraceful);
	else
		log_info("shutdown: %lu closed gracefully, %lu timed out, "
		    "%ld in TIME_WAIT", srv->pool.graceful,
		    srv->pool.ungraceful, tw);
	event_base_loopexit(srv->base, NULL);
}

/* Close every client at once; the reaper frees them and finishes. */
static void
server_abort_all(struct server *srv, const char *why)
{
	struct client	*c;

	if (srv->state == SERVER_DONE || srv->state == SERVER_LEAVING)
		return;		/* the summary is out; the loop is ending */
	srv->state = SERVER_ABORTING;
	log_info("closing %zu remaining connections now (%s)",
	    srv->pool.nclients, why);
	TAILQ_FOREACH(c, &srv->pool.all, entry) {
		c->flags |= CLIENT_TIMEDOUT;
		client_close(c, CLIENT_ABORT, "server shutting down");
	}
	event_active(srv->reap_ev, EV_TIMEOUT, 0);
}

static void
server_grace_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	server_abort_all(arg, "grace period over");
}

/*
 * The first signal: stop accepting, tell everyone, and close every
 * client gracefully.  The notice goes behind whatever is queued, so it
 * arrives last and nothing queued before the signal is lost.
 */
static void
server_shutdown(struct server *srv)
{
	struct timeval	 tv = { srv->grace, 0 };
	struct client	*c;
	size_t		 i;

	srv->state = SERVER_DRAINING;
	for (i = 0; i < srv->nlisteners; i++)
		evconnlistener_free(srv->listeners[i]);
	srv->nlisteners = 0;
	log_info("shutting down: %zu clients, grace %d s", srv->pool.nclients,
	    srv->grace);
	srv->pool.graceful = srv->pool.ungraceful = 0;
	srv->pool.linger = srv->grace;
	TAILQ_FOREACH(c, &srv->pool.all, entry) {
		if (client_closing(c))
			continue;
		client_printf_last(c, "-!- server shutting down");
		client_close(c, CLIENT_GRACEFUL, "server shutting down");
	}
	evtimer_add(srv->grace_ev, &tv);
	event_active(srv->reap_ev, EV_TIMEOUT, 0);
}

static void
server_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server	*srv = arg;

	(void)what;
	log_info("%s received", strsignal((int)sig));
	if (srv->state == SERVER_RUNNING)
		server_shutdown(srv);
	else if (srv->state == SERVER_DRAINING)
		server_abort_all(srv, "second signal");
}

/* The cluster has said goodbye (or gave up): finish. */
static void
server_left_cb(void *arg)
{
	server_finish(arg);
}

static void
server_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server	*srv = arg;

	(void)fd;
	(void)what;
	client_pool_reap(&srv->pool);
	if ((srv->state != SERVER_DRAINING && srv->state != SERVER_ABORTING) ||
	    srv->pool.nclients != 0)
		return;
#ifdef HAVE_HIREDIS
	if (srv->cluster != NULL) {
		/* Free this node's nicks in Redis now, not after the ttl. */
		srv->state = SERVER_LEAVING;
		cluster_finish(srv->cluster, server_left_cb, srv);
		return;
	}
#endif
	server_left_cb(srv);
}

/*
 * The event loop.  With epoll, let libevent batch its changes: interest
 * that goes off and on again within one loop pass (a --rate pause, a
 * write that fell short) costs no system call.  Safe because evchatd
 * never dup()s a socket.
 */
static struct event_base *
server_base_new(void)
{
	struct event_config	*cfg = event_config_new();
	struct event_base	*base;

	if (cfg == NULL)
		return NULL;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	/*
	 * Three priorities: every event gets the middle one by default, and
	 * the client pool's flush takes the last, so it runs only once the
	 * loop has no input left (see client.c).
	 */
	if (base != NULL && event_base_priority_init(base, 3) == -1) {
		event_base_free(base);
		return NULL;
	}
	return base;
}

struct server *
server_new(const struct server_opts *o)
{
	struct server	*srv = xcalloc(1, sizeof *srv);

	event_set_log_callback(log_libevent);
	if ((srv->base = server_base_new()) == NULL)
		fatalx("event_base_new failed");
	chat_init(&srv->chat, o->history);
	client_pool_init(&srv->pool, srv->base, &srv->chat, o->max_line);
	srv->pool.dispatch = cmd_dispatch;
	srv->pool.depart = cmd_depart;
	srv->reuseport = o->reuseport;
	srv->reap_ev = event_new(srv->base, -1, 0, server_reap_cb, srv);
	srv->pool.reap_ev = srv->reap_ev;
	srv->log_ev = event_new(srv->base, -1, 0, server_log_cb, srv);
	srv->resume_ev = evtimer_new(srv->base, server_resume_cb, srv);
	srv->grace_ev = evtimer_new(srv->base, server_grace_cb, srv);
	srv->grace = o->grace;
	srv->pool.linger = o->grace;
	srv->pool.rate = o->rate;
	srv->pool.burst = o->burst;
	srv->chat.sendq = o->sendq;
	srv->max_clients = o->max_clients;
	srv->idle_timeout = o->idle_timeout;
	srv->idle_ev = event_new(srv->base, -1, EV_PERSIST, server_idle_cb,
	    srv);
	if (o->idle_timeout != 0) {
		struct timeval	tv = { 1, 0 };

		event_add(srv->idle_ev, &tv);
	}
	tcp_trace_enable(o->trace_tcp);
	server_fit_fd_limit(srv);
	srv->sigint = evsignal_new(srv->base, SIGINT, server_signal_cb, srv);
	srv->sigterm = evsignal_new(srv->base, SIGTERM, server_signal_cb, srv);
	evsignal_add(srv->sigint, NULL);
	evsignal_add(srv->sigterm, NULL);
#ifdef HAVE_HIREDIS
	if (o->redis != NULL) {
		srv->pool.forget = cluster_forget;
		srv->cluster = cluster_new(srv->base, &srv->pool, o->redis,
		    o->redis_ttl);
		if (srv->cluster == NULL) {
			server_free(srv);
			return NULL;
		}
	}
#endif
	if ((o->motd != NULL && server_load_motd(srv, o->motd) == -1) ||
	    server_listen(srv, o) == -1) {
		server_free(srv);
		return NULL;
	}
	return srv;
}

int
server_run(struct server *srv)
{
	int	rv;

	log_buffer(server_log_wake, srv);
	log_info("evchatd %s serving", PACKAGE_VERSION);
	rv = event_base_dispatch(srv->base);
	log_buffer(NULL, NULL);
	return rv == -1 ? -1 : 0;
}

void
server_free(struct server *srv)
{
	size_t	i;

	for (i = 0; i < srv->nlisteners; i++)
		evconnlistener_free(srv->listeners[i]);
#ifdef HAVE_HIREDIS
	cluster_free(srv->cluster);	/* first: it unhooks itself */
#endif
	client_pool_free(&srv->pool);
	chat_free(&srv->chat);
	cmd_free();
	event_free(srv->sigint);
	event_free(srv->sigterm);
	event_free(srv->reap_ev);
	event_free(srv->log_ev);
	event_free(srv->resume_ev);
	event_free(srv->grace_ev);
	event_free(srv->idle_ev);
	event_base_free(srv->base);
	free(srv->motd);
	free(srv);
}
