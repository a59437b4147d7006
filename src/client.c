/*
 * client: a connection's life from accept to free.
 *
 * Input: the bufferevent's read callback hands the input buffer to the
 * line reader a chunk at a time, without copying, and each complete line
 * to the pool's dispatch hook.  Output: everything for a client is
 * appended to its bufferevent's output buffer; its length is the client's
 * send queue.  Only a room's lines for a client whose queue is empty skip
 * it: the delivery writes them straight to the socket (client_send) and
 * queues what the socket did not take.
 *
 * Writing is batched per loop, not per line.  A client given output goes
 * on the pool's dirty list, and the flush, an event of the loop's lowest
 * priority, writes each dirty client once when no input is left to
 * handle: lines that arrive over several loop passes leave in one write,
 * and in normal service no write event is registered at all.  Only a
 * write that falls short hands the rest to the bufferevent (EV_WRITE on),
 * whose write callback turns EV_WRITE off again once the queue is empty.
 * Input that keeps coming cannot hold the flush back for longer than
 * CLIENT_FLUSH_WAIT_US: a timer at the highest priority, its deadline,
 * runs it then.  A queue that grows long is written at once, and a room
 * whose pending block is full has its deadline brought forward.
 *
 * An idle client is parked: once it has nothing queued, no input left
 * to handle and no pause in progress, it gives its bufferevent back (two
 * evbuffers and two events, most of a client's memory) and keeps only a
 * read event on its socket.  The first byte it sends, and the first
 * output that its socket does not take at once, get it a bufferevent
 * again, one of the pool's spares if there is one.  In a room, members
 * seldom need one for what others say: the delivery writes to their
 * sockets.  Nothing is parked with something still to do, so a parked
 * client never holds data, and one that is closing never parks.
 *
 * Closing is a state, never a free in a callback.  client_close marks the
 * client, stops its input and queues it; the reaper (client_pool_reap,
 * run by the server's event with nothing on the stack) announces the
 * departure, then either frees the client at once (abort) or lets it
 * drain: queue flushed, shutdown(SHUT_WR) sends our FIN, and unless the
 * peer's FIN came first (half-close) the peer's FIN is awaited while its
 * input is read and discarded, so close() never meets unread data and
 * never turns into a reset.  The whole drain has one deadline, the pool's
 * linger time from its start.  When the last step ends the client is
 * queued again and the reaper frees it.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <errno.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "compat.h"
#include "log.h"
#include "tcp.h"
#include "xmalloc.h"

/* What --trace-tcp needs to name a connection's state to the end. */
struct client_trace {
	struct event		*fin_ev;	/* polls until our FIN is ACKed */
	int			 polls;		/* polls left */
	struct sockaddr_storage	 local;
	struct sockaddr_storage	 peer;
};

/* How long input that keeps coming may delay the flush, microseconds. */
#define CLIENT_FLUSH_WAIT_US	5000

static void client_read_cb(struct bufferevent *, void *);
static void client_write_cb(struct bufferevent *, void *);
static void client_event_cb(struct bufferevent *, short, void *);
static void client_drain_read_cb(struct bufferevent *, void *);
static void client_drain_write_cb(struct bufferevent *, void *);
static void client_drain_event_cb(struct bufferevent *, short, void *);
static void client_park_cb(evutil_socket_t, short, void *);

/* Did a read or write fail only for now (the socket is not ready)? */
static int
client_retryable(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

/*
 * Give a client that has none a bufferevent on its socket, reading, with
 * the client's callbacks: one of the pool's spares if it has one.
 */
static void
client_attach(struct client *c)
{
	struct client_pool	*pool = c->pool;
	struct bufferevent	*bev;

	if (pool->nspare > 0) {
		bev = pool->spare[--pool->nspare];
		/* It was parked reading: setfd turns reading on again. */
		bufferevent_setfd(bev, c->fd);
	} else {
		bev = bufferevent_socket_new(pool->base, c->fd,
		    BEV_OPT_CLOSE_ON_FREE);
		if (bev == NULL)
			fatalx("bufferevent_socket_new failed");
		/* The flush writes; EV_WRITE only while a write fell short. */
		bufferevent_disable(bev, EV_WRITE);
		bufferevent_enable(bev, EV_READ);
	}
	bufferevent_setcb(bev, client_read_cb, client_write_cb,
	    client_event_cb, c);
	c->bev = bev;
	c->user.out = bufferevent_get_output(bev);
}

/*
 * Could the client do without its bufferevent now: nothing queued, no
 * input left, reading and not writing, no pause, no close?
 */
static int
client_idle(const struct client *c)
{
	return c->bev != NULL &&
	    !(c->flags & (CLIENT_CLOSING | CLIENT_HELD | CLIENT_HELD_LONG |
	    CLIENT_WAITING | CLIENT_DIRTY)) &&
	    bufferevent_get_enabled(c->bev) == EV_READ &&
	    evbuffer_get_length(bufferevent_get_input(c->bev)) == 0 &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0;
}

/*
 * Park an idle client: its bufferevent lets go of the socket and goes to
 * the spares (or is freed), and a plain read event watches the socket.
 * The read event is added before the bufferevent's goes, and goes after
 * it comes back (client_unpark): libevent counts the two on one socket,
 * so epoll is told nothing either way.
 */
static void
client_park(struct client *c)
{
	struct client_pool	*pool = c->pool;
	struct bufferevent	*bev = c->bev;

	if (c->park_ev == NULL) {
		c->park_ev = event_new(pool->base, c->fd, EV_READ | EV_PERSIST,
		    client_park_cb, c);
		if (c->park_ev == NULL)
			fatalx("event_new failed");
	}
	event_add(c->park_ev, NULL);
	bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
	bufferevent_setfd(bev, -1);	/* the socket stays open */
	c->bev = NULL;
	c->user.out = NULL;
	if (pool->nspare < CLIENT_SPARE_MAX)
		pool->spare[pool->nspare++] = bev;
	else
		bufferevent_free(bev);
}

/* Park the client if it is idle. */
static void
client_rest(struct client *c)
{
	if (client_idle(c))
		client_park(c);
}

/* A parked client is to read or write: give it a bufferevent again. */
static void
client_unpark(struct client *c)
{
	if (c->bev != NULL)
		return;
	client_attach(c);
	event_del(c->park_ev);
}

/* The chat's attach hook: a line for a parked user. */
static void
client_attach_user(struct user *u)
{
	client_unpark((struct client *)(void *)u);
}

/*
 * A parked client's socket has input, its FIN or an error.  It gets a
 * bufferevent back, and what the socket holds is read into that now, as
 * the bufferevent's own read callback would, not on the loop's next pass.
 */
static void
client_park_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client	*c = arg;
	struct evbuffer	*in;
	int		 n;

	(void)what;
	client_unpark(c);
	in = bufferevent_get_input(c->bev);
	evbuffer_unfreeze(in, 0);
	n = evbuffer_read(in, fd, -1);
	evbuffer_freeze(in, 0);
	if (n > 0)
		client_read_cb(c->bev, c);
	else if (n == 0)
		client_event_cb(c->bev, BEV_EVENT_READING | BEV_EVENT_EOF, c);
	else if (!client_retryable(errno))
		client_event_cb(c->bev, BEV_EVENT_READING | BEV_EVENT_ERROR,
		    c);
}

uint32_t
client_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)ts.tv_sec * 1000u + (uint32_t)(ts.tv_nsec / 1000000);
}

/*
 * The room layer found this user's queue past --sendq in the middle of a
 * broadcast: mark it, drop its queue, and let the reaper do the rest.
 */
static void
client_overflow(struct user *u)
{
	struct client	*c = (struct client *)(void *)u;

	log_info("client %lu %s: send queue over %zu bytes", c->id, c->addr,
	    u->chat->sendq);
	client_close(c, CLIENT_ABORT, "send queue exceeded");
}

/*
 * Write the client's queue to its socket now, as much as it takes; what
 * evbuffer_write(3) returned.  The bufferevent keeps its output's front
 * frozen against drains by others; thaw it for this write, as its own
 * writes do.
 */
static int
client_write_now(struct client *c)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	int		 n;

	evbuffer_unfreeze(out, 1);
	n = evbuffer_write(out, c->fd);
	evbuffer_freeze(out, 1);
	return n;
}

/* Write what is queued for one client, or give the rest to libevent. */
static void
client_write(struct client *c)
{
	/*
	 * An abort drops the queue; a drain, or a write that fell short,
	 * has libevent write it when the socket takes more.  An error is
	 * left for the bufferevent to meet and report.
	 */
	if ((c->flags & (CLIENT_NOFLUSH | CLIENT_DRAINING)) ||
	    c->bev == NULL ||
	    (bufferevent_get_enabled(c->bev) & EV_WRITE))
		return;
	if (client_queued(c) > 0)
		(void)client_write_now(c);
	if (client_queued(c) > 0)
		bufferevent_enable(c->bev, EV_WRITE);
	else
		client_rest(c);
}

/* Write every client on the dirty list once, in the order it got there. */
static void
client_write_dirty(struct client_pool *pool)
{
	struct client	*c;

	while ((c = TAILQ_FIRST(&pool->dirty)) != NULL) {
		TAILQ_REMOVE(&pool->dirty, c, dirty_entry);
		c->flags &= ~CLIENT_DIRTY;
		client_write(c);
	}
}

void
client_pool_flush(struct client_pool *pool)
{
	/*
	 * Queues first: each holds what was said before the room lines
	 * still pending for it (anything queued for a member catches up
	 * with its room first), so order is kept, and a client waiting
	 * for its own reply (a joiner's "you joined") is not kept waiting
	 * behind a delivery to every member of a big room.  The delivery
	 * then writes members with empty queues straight away, and queues
	 * the rest, which the second pass writes.  Still armed while it
	 * runs, so what the delivery dirties joins this flush instead of
	 * waking another; the hooks only queue and write: nothing here
	 * comes back into the flush.
	 */
	client_write_dirty(pool);
	chat_deliver(pool->chat);
	client_write_dirty(pool);
	pool->armed = 0;
	evtimer_del(pool->deadline_ev);
}

static void
client_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	client_pool_flush(arg);
}

/*
 * There is work for the flush: wake it, at the lowest priority, and set
 * its deadline, a timer at the highest, which runs it even while input
 * (or anything else) keeps every loop pass busy.
 */
static void
client_arm(struct client_pool *pool)
{
	static const struct timeval wait = { 0, CLIENT_FLUSH_WAIT_US };

	if (pool->armed)
		return;
	pool->armed = 1;
	event_active(pool->flush_ev, EV_TIMEOUT, 0);
	evtimer_add(pool->deadline_ev, &wait);
}

/* The room layer queued output for this user: the flush is to write it. */
static void
client_dirty(struct user *u)
{
	struct client		*c = (struct client *)(void *)u;
	struct client_pool	*pool = c->pool;

	if (c->flags & CLIENT_DRAINING)
		return;
	client_arm(pool);
	if (!(c->flags & CLIENT_DIRTY)) {
		c->flags |= CLIENT_DIRTY;
		TAILQ_INSERT_TAIL(&pool->dirty, c, dirty_entry);
	}
	/* Long queues are not kept for the batch: --sendq counts. */
	if (client_queued(c) >= chat_batch_max(pool->chat))
		client_write(c);
}

/*
 * A delivery for a client with nothing queued: write it now, with no
 * queue in between, and say how much the socket took.  (Closing clients
 * are muted, so no delivery comes here for them.)  If the socket took
 * less, it is full or broken: the rest, which the delivery queues next,
 * is left to the bufferevent, which writes it when the socket takes more
 * or meets the error, instead of a write now that could only fail.
 */
static size_t
client_send(struct user *u, const char *text, size_t len)
{
	struct client	*c = (struct client *)(void *)u;
	ssize_t		 n = send(c->fd, text, len, MSG_NOSIGNAL);

	if (n == (ssize_t)len)
		return len;
	client_unpark(c);
	bufferevent_enable(c->bev, EV_WRITE);
	return n > 0 ? (size_t)n : 0;
}

/*
 * A room has lines for its members: the flush is to deliver them.  A
 * full room cannot wait for the loop to run dry: its deadline comes at
 * once, right after the callback that filled it.
 */
static void
client_pending(struct chat *chat, int full)
{
	struct client_pool	*pool = chat->owner;

	client_arm(pool);
	if (full)
		event_active(pool->deadline_ev, EV_TIMEOUT, 0);
}

void
client_pool_init(struct client_pool *pool, struct event_base *base,
    struct chat *chat, size_t max_line)
{
	memset(pool, 0, sizeof *pool);
	pool->base = base;
	pool->chat = chat;
	pool->max_line = max_line;
	pool->linger = 10;
	pool->next_id = 1;
	chat->overflow = client_overflow;
	chat->queued = client_dirty;
	chat->pending = client_pending;
	chat->send = client_send;
	chat->attach = client_attach_user;
	chat->owner = pool;
	TAILQ_INIT(&pool->all);
	TAILQ_INIT(&pool->reap);
	TAILQ_INIT(&pool->dirty);
	pool->flush_ev = event_new(base, -1, 0, client_flush_cb, pool);
	pool->deadline_ev = evtimer_new(base, client_flush_cb, pool);
	if (pool->flush_ev == NULL || pool->deadline_ev == NULL)
		fatalx("event_new failed");
	/*
	 * The flush comes last of all, after every pass's input; its
	 * deadline first (no-ops on a base with one priority).
	 */
	event_priority_set(pool->flush_ev,
	    event_base_get_npriorities(base) - 1);
	event_priority_set(pool->deadline_ev, 0);
}

/* With --trace-tcp: log this connection's state as the kernel has it. */
static void
client_trace(struct client *c, const char *event)
{
	struct client_trace	*t = c->trace;

	if (t == NULL)
		return;
	tcp_trace(c->addr, tcp_conn_state(c->fd,
	    (struct sockaddr *)&t->local, (struct sockaddr *)&t->peer),
	    "%s", event);
}

/* Unlink and free one client, whatever state it is in. */
static void
client_free(struct client *c)
{
	struct client_pool	*pool = c->pool;

	if (!(c->flags & CLIENT_GONE))
		chat_leave(pool->chat, &c->user);
	if (pool->forget != NULL)
		pool->forget(c);
	if (c->flags & CLIENT_QUEUED)
		TAILQ_REMOVE(&pool->reap, c, reap_entry);
	if (c->flags & CLIENT_DIRTY)
		TAILQ_REMOVE(&pool->dirty, c, dirty_entry);
	TAILQ_REMOVE(&pool->all, c, entry);
	pool->nclients--;
	if (c->flags & CLIENT_CLOSING)
		pool->nclosing--;
	if ((c->flags & (CLIENT_EOF | CLIENT_FIN_SENT)) ==
	    (CLIENT_EOF | CLIENT_FIN_SENT) &&
	    !(c->flags & (CLIENT_NOFLUSH | CLIENT_TIMEDOUT)))
		pool->graceful++;
	else
		pool->ungraceful++;
	client_trace(c, "closed");
	log_info("client %lu %s closed (%s)", c->id, c->addr,
	    c->reason != NULL ? c->reason : "server exit");
	if (c->trace != NULL) {
		if (c->trace->fin_ev != NULL)
			event_free(c->trace->fin_ev);
		free(c->trace);
	}
	if (c->timer_ev != NULL)
		event_free(c->timer_ev);
	if (c->park_ev != NULL)
		event_free(c->park_ev);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	else
		evutil_closesocket(c->fd);
	line_reader_free(&c->lr);
	free(c->reason);
	free(c);
}

void
client_pool_free(struct client_pool *pool)
{
	struct client	*c;

	while ((c = TAILQ_FIRST(&pool->all)) != NULL)
		client_free(c);
	while (pool->nspare > 0)
		bufferevent_free(pool->spare[--pool->nspare]);
	event_free(pool->flush_ev);
	event_free(pool->deadline_ev);
	pool->flush_ev = pool->deadline_ev = NULL;
}

/*
 * Keepalive: dead peers must not hold a slot for ever.  No Nagle: lines
 * are small and already leave in one write per batch, and Nagle would
 * only hold them back until the peer's delayed ACK (40 ms on Linux).
 */
int
client_sockopts(int fd)
{
	int	on = 1, ka, nd;

	ka = setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
	nd = setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
	return ka == -1 ? -1 : nd == -1 ? -2 : 0;
}

/* Has this socket both options already (from its listener)? */
static int
client_has_sockopts(int fd)
{
	int		ka = 0, nd = 0;
	socklen_t	kalen = sizeof ka, ndlen = sizeof nd;

	return getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &ka, &kalen) == 0 &&
	    getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nd, &ndlen) == 0 &&
	    ka != 0 && nd != 0;
}

struct client *
client_new(struct client_pool *pool, int fd, const struct sockaddr *sa,
    socklen_t salen)
{
	struct client	*c = xcalloc(1, sizeof *c);
	socklen_t	 len = sizeof c->trace->local;

	c->pool = pool;
	c->fd = fd;
	if (tcp_tracing()) {
		c->trace = xcalloc(1, sizeof *c->trace);
		memcpy(&c->trace->peer, sa, salen < sizeof c->trace->peer ?
		    salen : sizeof c->trace->peer);
		getsockname(fd, (struct sockaddr *)&c->trace->local, &len);
	}
	c->id = pool->next_id++;
	tcp_format_addr(c->addr, sizeof c->addr, sa);
	if (pool->sockopts == CLIENT_SOCKOPTS_PROBE)
		pool->sockopts = client_has_sockopts(fd) ?
		    CLIENT_SOCKOPTS_INHERITED : CLIENT_SOCKOPTS_EACH;
	/* No Nagle fails harmlessly on the unit tests' socketpairs. */
	if (pool->sockopts == CLIENT_SOCKOPTS_EACH &&
	    client_sockopts(fd) == -1)
		log_warn("client %lu: SO_KEEPALIVE", c->id);
	client_attach(c);
	line_reader_init(&c->lr, pool->max_line);
	c->last_line = client_now_ms();
	bucket_init(&c->bucket, pool->burst, c->last_line);
	chat_enter(pool->chat, &c->user, bufferevent_get_output(c->bev));
	TAILQ_INSERT_TAIL(&pool->all, c, entry);
	pool->nclients++;
	client_trace(c, "accepted");
	log_info("client %lu %s connected as %s", c->id, c->addr,
	    c->user.nick);
	return c;
}

void
client_printf(struct client *c, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	user_vprintf(&c->user, fmt, ap);
	va_end(ap);
}

void
client_printf_last(struct client *c, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	user_vappend(&c->user, fmt, ap);
	va_end(ap);
}

size_t
client_queued(const struct client *c)
{
	return c->bev != NULL ?
	    evbuffer_get_length(bufferevent_get_output(c->bev)) : 0;
}

int
client_parked(const struct client *c)
{
	return c->bev == NULL;
}

int
client_closing(const struct client *c)
{
	return (c->flags & CLIENT_CLOSING) != 0;
}

/* Put the client on the reap queue and wake the reaper. */
static void
client_queue(struct client *c)
{
	struct client_pool	*pool = c->pool;

	if (c->flags & CLIENT_QUEUED)
		return;
	c->flags |= CLIENT_QUEUED;
	TAILQ_INSERT_TAIL(&pool->reap, c, reap_entry);
	if (pool->reap_ev != NULL)
		event_active(pool->reap_ev, EV_TIMEOUT, 0);
}

void
client_close(struct client *c, enum client_close_how how, const char *why)
{
	if (how == CLIENT_ABORT)
		c->flags |= CLIENT_NOFLUSH;
	if (c->flags & CLIENT_CLOSING) {
		if (how == CLIENT_ABORT)
			client_queue(c);	/* the reaper frees it now */
		return;
	}
	c->flags |= CLIENT_CLOSING;
	c->pool->nclosing++;
	c->reason = xstrdup(why);
	user_mute(&c->user);	/* what was said before still goes out */
	client_unpark(c);	/* the close needs the bufferevent */
	bufferevent_disable(c->bev, EV_READ);
	log_debug("client %lu closing (%s)", c->id, why);
	client_queue(c);
}

/* Send the telnet answers the line reader has collected. */
static void
client_send_replies(struct client *c)
{
	const unsigned char	*r;
	size_t			 len;

	if ((r = line_reply(&c->lr, &len)) != NULL && len > 0) {
		client_unpark(c);
		bufferevent_write(c->bev, r, len);
		line_reply_done(&c->lr);
		client_dirty(&c->user);
	}
}

/* May this client's next line be handled now (--rate/--burst)? */
static int
client_take_token(struct client *c)
{
	struct client_pool	*pool = c->pool;

	return pool->rate == 0 ||
	    bucket_take(&c->bucket, pool->rate, pool->burst, client_now_ms());
}

static void client_process(struct client *);

static void client_done(struct client *);

/*
 * The client's one timer.  In service it ends a --rate pause; once the
 * client is draining it is the close's deadline, fixed when the drain
 * began: traffic does not push it back, so a peer that trickles bytes or
 * reads slowly cannot keep a closing connection (and its descriptor).
 */
static void
client_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client	*c = arg;

	(void)fd;
	(void)what;
	if (c->flags & CLIENT_DRAINING) {
		if (c->flags & CLIENT_DONE)
			return;
		c->flags |= CLIENT_TIMEDOUT;
		log_info("client %lu %s: close timed out", c->id, c->addr);
		client_done(c);
		return;
	}
	if (c->flags & (CLIENT_CLOSING | CLIENT_WAITING))
		return;
	client_unpark(c);
	bufferevent_enable(c->bev, EV_READ);
	client_process(c);
}

/* Arm the client's timer (made on first use) for ms milliseconds. */
static void
client_timer(struct client *c, uint32_t ms)
{
	struct timeval	tv;

	if (c->timer_ev == NULL)
		c->timer_ev = evtimer_new(c->pool->base, client_timer_cb, c);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(c->timer_ev, &tv);
}

/*
 * Out of tokens: stop reading until the next one is due.  What is queued
 * stays queued (none of it is lost) and TCP pushes back on the sender.
 */
static void
client_throttle(struct client *c)
{
	client_unpark(c);
	bufferevent_disable(c->bev, EV_READ);
	client_timer(c, bucket_wait(&c->bucket, c->pool->rate));
}

/* Hand a complete line on, if the rate allows; else hold it. */
static int
client_line(struct client *c)
{
	if (!client_take_token(c)) {
		c->flags |= CLIENT_HELD;
		client_throttle(c);
		return 0;
	}
	c->flags &= ~CLIENT_HELD;
	c->pool->dispatch(c, c->lr.buf, c->lr.len);
	return 1;
}

/*
 * An overlong line is a line too: it takes a token and counts as
 * activity, and its one error waits for the token like any reply.
 */
static int
client_overlong(struct client *c)
{
	if (!client_take_token(c)) {
		c->flags |= CLIENT_HELD_LONG;
		client_throttle(c);
		return 0;
	}
	c->flags &= ~CLIENT_HELD_LONG;
	client_printf(c, "-!- error: line too long (more than %zu bytes); "
	    "it was dropped", c->pool->max_line);
	return 1;
}

/* Frame what has arrived and hand each complete line on. */
static void
client_process(struct client *c)
{
	struct evbuffer		*in;
	struct evbuffer_iovec	 v;
	enum line_result	 res;
	size_t			 used;

	if (c->flags & CLIENT_WAITING)
		return;
	client_unpark(c);	/* idle clients only park between lines */
	in = bufferevent_get_input(c->bev);
	if ((c->flags & CLIENT_HELD) && !client_line(c))
		return;
	if ((c->flags & CLIENT_HELD_LONG) && !client_overlong(c))
		return;
	while (!(c->flags & CLIENT_CLOSING) && evbuffer_get_length(in) > 0) {
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		used = line_scan(&c->lr, v.iov_base, v.iov_len, &res);
		evbuffer_drain(in, used);
		client_send_replies(c);
		if (res == LINE_READY || res == LINE_OVERLONG)
			c->last_line = client_now_ms();	/* held or not */
		if (res == LINE_READY && !client_line(c))
			return;		/* throttled, line held */
		if (res == LINE_OVERLONG && !client_overlong(c))
			return;		/* throttled, error held */
		if (c->flags & CLIENT_WAITING)
			return;		/* the rest after the cluster's reply */
	}
	if (c->flags & CLIENT_CLOSING)
		evbuffer_drain(in, evbuffer_get_length(in));
	line_reader_shrink(&c->lr);
}

void
client_wait(struct client *c)
{
	c->flags |= CLIENT_WAITING;
	client_unpark(c);
	bufferevent_disable(c->bev, EV_READ);
}

void
client_resume(struct client *c)
{
	if (!(c->flags & CLIENT_WAITING))
		return;
	c->flags &= ~CLIENT_WAITING;
	if (c->flags & CLIENT_CLOSING)
		return;
	/* A --rate pause in progress re-enables reading when it ends. */
	client_unpark(c);
	if (c->timer_ev == NULL || !evtimer_pending(c->timer_ev, NULL))
		bufferevent_enable(c->bev, EV_READ);
	client_process(c);
}

static void
client_read_cb(struct bufferevent *bev, void *arg)
{
	struct client	*c = arg;

	(void)bev;
	client_process(c);
	client_rest(c);
}

/* A write that fell short has finished: the flush writes from now on. */
static void
client_write_cb(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		bufferevent_disable(bev, EV_WRITE);
		client_rest(arg);
	}
}

void
client_reject_full(struct client *c)
{
	client_printf_last(c, "-!- error: server full");
	client_close(c, CLIENT_GRACEFUL, "server full");
}

/* EOF or an error on a client in normal service. */
static void
client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct client	*c = arg;

	(void)bev;
	if (what & BEV_EVENT_EOF) {
		/* Half-close: keep sending what is queued, then close. */
		c->flags |= CLIENT_EOF;
		client_trace(c, "peer FIN");
		client_close(c, CLIENT_GRACEFUL, "connection closed");
	} else if (what & BEV_EVENT_ERROR) {
		log_info("client %lu %s: %s", c->id, c->addr,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		client_close(c, CLIENT_ABORT, "connection closed");
	}
}

/* The drain step is over: back to the reaper, which frees the client. */
static void
client_done(struct client *c)
{
	c->flags |= CLIENT_DONE;
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	client_queue(c);
}

/*
 * --trace-tcp: after our FIN, poll the state until the peer's ACK moves
 * it from FIN_WAIT1 to FIN_WAIT2.  A few milliseconds on loopback.
 */
static void
client_fin_ack_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client	*c = arg;
	struct timeval	 tv = { 0, 2000 };
	int		 state = tcp_state(c->fd);

	(void)fd;
	(void)what;
	if (state == -1 || (c->flags & CLIENT_DONE))
		return;
	if (state == TCP_FIN_WAIT2) {
		client_trace(c, "FIN ACKed");
		return;
	}
	if (state != TCP_FIN_WAIT1)
		return;		/* the peer's FIN came with its ACK */
	if (c->trace->polls-- > 0)
		evtimer_add(c->trace->fin_ev, &tv);
}

/*
 * The queue is empty: send our FIN.  If the peer's came first this is the
 * passive close (LAST_ACK) and we are done; otherwise wait for it.
 */
static void
client_flushed(struct client *c)
{
	if (shutdown(c->fd, SHUT_WR) == -1) {
		log_debug("client %lu: shutdown: %s", c->id, strerror(errno));
		client_done(c);
		return;
	}
	c->flags |= CLIENT_FIN_SENT;
	client_trace(c, "sent FIN");
	if (c->flags & CLIENT_EOF) {
		client_done(c);
		return;
	}
	if (c->trace != NULL) {
		c->trace->fin_ev = evtimer_new(c->pool->base,
		    client_fin_ack_cb, c);
		c->trace->polls = 500;
		client_fin_ack_cb(-1, 0, c);
	}
	bufferevent_enable(c->bev, EV_READ);
}

/* While lingering, input is read only to see the FIN, and discarded. */
static void
client_drain_read_cb(struct bufferevent *bev, void *arg)
{
	struct evbuffer	*in = bufferevent_get_input(bev);

	(void)arg;
	evbuffer_drain(in, evbuffer_get_length(in));
}

static void
client_drain_write_cb(struct bufferevent *bev, void *arg)
{
	struct client	*c = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0 &&
	    !(c->flags & (CLIENT_FIN_SENT | CLIENT_DONE)))
		client_flushed(c);
}

static void
client_drain_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct client	*c = arg;

	(void)bev;
	if (what & BEV_EVENT_EOF) {
		c->flags |= CLIENT_EOF;
		client_trace(c, "peer FIN");
		if (c->flags & CLIENT_FIN_SENT)
			client_done(c);
		return;		/* still flushing: the write side goes on */
	}
	client_done(c);		/* an error: nothing more to wait for */
}

/*
 * Start the graceful part of a close: flush, FIN, await the peer's.  The
 * queue is written at once: mostly the socket takes it all and the FIN
 * follows in the same pass, or the peer is gone and there is nothing to
 * wait for; only a full socket waits for libevent to write the rest.
 */
static void
client_drain(struct client *c)
{
	c->flags |= CLIENT_DRAINING;
	bufferevent_setcb(c->bev, client_drain_read_cb, client_drain_write_cb,
	    client_drain_event_cb, c);
	client_timer(c, (uint32_t)c->pool->linger * 1000u);
	if (client_queued(c) > 0 &&
	    !(bufferevent_get_enabled(c->bev) & EV_WRITE) &&
	    client_write_now(c) == -1 && !client_retryable(errno)) {
		client_done(c);		/* an error: as client_drain_event_cb */
		return;
	}
	if (client_queued(c) == 0)
		client_flushed(c);
	else
		bufferevent_enable(c->bev, EV_WRITE);
}

/* One client from the reap queue: announce, then free or drain it. */
static void
client_reap(struct client *c)
{
	struct client_pool	*pool = c->pool;

	if (!(c->flags & CLIENT_GONE)) {
		pool->depart(c);
		c->flags |= CLIENT_GONE;
	}
	if (c->flags & (CLIENT_NOFLUSH | CLIENT_DONE))
		client_free(c);
	else if (!(c->flags & CLIENT_DRAINING))
		client_drain(c);
}

void
client_pool_reap(struct client_pool *pool)
{
	struct client	*c;

	while ((c = TAILQ_FIRST(&pool->reap)) != NULL) {
		TAILQ_REMOVE(&pool->reap, c, reap_entry);
		c->flags &= ~CLIENT_QUEUED;
		client_reap(c);
	}
}
