/*
 * cluster: the link to Redis that makes several evchatd nodes one chat.
 *
 * Two hiredis connections run on the server's own event loop through
 * hiredis's libevent adapter: one for commands and scripts, one in
 * subscribe mode for the channels of the rooms this node has members in
 * and for its own private-message channel.  A node is known in Redis by
 * an incarnation id (host, pid, a random tag and a counter): every time
 * the link comes back it registers a new incarnation with everything it
 * holds (cluster-lua.h's SYNC), so nothing another node did meanwhile is
 * overwritten blindly and nothing of the old incarnation lingers.
 *
 * The link is a small state machine: connecting, syncing, up, down.  When
 * it goes down (a connection closes, or a refresh is not answered within
 * a tick) both connections are dropped, every waiting request is answered
 * with NULL so the command layer falls back to this node alone, clients
 * are told once, and a timer reconnects with backoff.  Redis pub/sub is
 * at most once: what is published while a link is down is lost.
 *
 * This file knows the link, subscriptions and delivery; cluster-req.c
 * sends the scripts that answer clients.  Neither formats what users see
 * beyond the two link notices: the command layer does.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "cluster.h"
#include "cluster-int.h"
#include "cluster-lua.h"
#include "log.h"
#include "room.h"
#include "server.h"
#include "xmalloc.h"

#define CLUSTER_BACKOFF_MIN	250	/* ms before the first reconnect */
#define CLUSTER_BACKOFF_MAX	5000	/* ms between reconnects at most */
#define CLUSTER_FINISH_MS	1000	/* the last round trip's bound */

static void cluster_connect(struct cluster *);
static void cluster_sub_cb(redisAsyncContext *, void *, void *);

int
cluster_up(const struct cluster *cl)
{
	/*
	 * Syncing counts: the command link is first in, first out, so what
	 * is sent after SYNC lands after it, and nothing done meanwhile is
	 * left out of Redis.
	 */
	return cl != NULL && (cl->state == CLUSTER_UP ||
	    cl->state == CLUSTER_SYNCING);
}

int
cluster_down(const struct cluster *cl)
{
	return cl != NULL && cl->told_down;
}

void
cluster_fold(char *dst, const char *name)
{
	name_fold(dst, name, strnlen(name, NAME_MAX_BYTES));
}

/* Tell every client in the chat one line (the two link notices). */
static void
cluster_tell_all(struct cluster *cl, const char *line)
{
	struct client	*c;

	TAILQ_FOREACH(c, &cl->pool->all, entry) {
		if (!client_closing(c) && !(c->user.flags & USER_UNNAMED))
			client_printf(c, "%s", line);
	}
}

/* Answer every request still waiting with NULL: this node alone. */
static void
cluster_fail_waiters(struct cluster *cl)
{
	struct cluster_req	*req;

	while ((req = TAILQ_FIRST(&cl->waiting)) != NULL)
		cluster_req_finish(req, NULL);
}

/* Forget every subscription: the sub connection is gone. */
static void
cluster_subs_clear(struct cluster *cl)
{
	struct cluster_sub	*s;
	struct cluster_req	*req;

	while ((s = TAILQ_FIRST(&cl->sub_list)) != NULL) {
		while ((req = TAILQ_FIRST(&s->joining)) != NULL) {
			TAILQ_REMOVE(&s->joining, req, jentry);
			req->sub = NULL;
		}
		htab_remove(&cl->subs, &s->node);
		TAILQ_REMOVE(&cl->sub_list, s, entry);
		free(s);
	}
}

/* Drop both connections; hiredis answers what they had queued with NULL. */
static void
cluster_drop(struct cluster *cl)
{
	redisAsyncContext	*cmd = cl->cmd, *sub = cl->sub;

	cl->cmd = cl->sub = NULL;
	if (cmd != NULL)
		redisAsyncFree(cmd);
	if (sub != NULL)
		redisAsyncFree(sub);
	cl->nconnected = 0;
	cl->refresh_out = 0;
	cl->heartbeat_out = 0;
	cluster_subs_clear(cl);
	cluster_fail_waiters(cl);
}

/* Try again later, a little later each time. */
static void
cluster_retry(struct cluster *cl)
{
	struct timeval	tv;

	tv.tv_sec = cl->backoff_ms / 1000;
	tv.tv_usec = (suseconds_t)(cl->backoff_ms % 1000) * 1000;
	evtimer_add(cl->retry_ev, &tv);
	cl->backoff_ms *= 2;
	if (cl->backoff_ms > CLUSTER_BACKOFF_MAX)
		cl->backoff_ms = CLUSTER_BACKOFF_MAX;
}

void
cluster_lost(struct cluster *cl, const char *why)
{
	int	was = cl->state;

	if (was == CLUSTER_DOWN || was == CLUSTER_CLOSED)
		return;
	cl->state = CLUSTER_DOWN;
	if (was == CLUSTER_UP) {
		log_warnx("cluster link down: %s; reconnecting", why);
		cl->backoff_ms = CLUSTER_BACKOFF_MIN;
	} else if (!cl->told_down)
		log_warnx("cluster: redis %s unreachable: %s; retrying",
		    cl->addr, why);
	else
		log_debug("cluster: redis %s: %s", cl->addr, why);
	cluster_drop(cl);
	if (!cl->told_down) {
		cl->told_down = 1;
		cluster_tell_all(cl, "-!- cluster link down: only people on "
		    "this server can hear you; reconnecting");
	}
	cluster_retry(cl);
}

/* A request could not be sent: take the link as lost, answer it. */
static void
cluster_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cluster	*cl = arg;

	(void)fd;
	(void)what;
	cluster_lost(cl, "cannot send to redis");
	cluster_fail_waiters(cl);
}

static void
cluster_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	cluster_connect(arg);
}

/* Send a command on the command link; replies go to cb (may be NULL). */
int
cluster_command(struct cluster *cl, redisCallbackFn *cb, void *arg, int argc,
    const char **argv, const size_t *lens)
{
	if (cl->cmd == NULL)
		return -1;
	return redisAsyncCommandArgv(cl->cmd, cb, arg, argc, argv, lens) ==
	    REDIS_OK ? 0 : -1;
}

int
cluster_tell_self(struct cluster *cl, const char *msg)
{
	char		 chan[160];
	const char	*argv[3] = { "PUBLISH", chan, msg };
	size_t		 lens[3];

	snprintf(chan, sizeof chan, "evchat:node:%s", cl->id);
	lens[0] = 7;
	lens[1] = strlen(chan);
	lens[2] = strlen(msg);
	return cluster_command(cl, NULL, NULL, 3, argv, lens);
}

/* Run a script with string arguments; argv ends with NULL. */
int
cluster_eval(struct cluster *cl, redisCallbackFn *cb, void *arg,
    const char *script, const char *const *args)
{
	const char	*argv[32];
	size_t		 lens[32];
	int		 argc = 0;

	argv[argc++] = "EVAL";
	argv[argc++] = script;
	argv[argc++] = "0";
	while (*args != NULL && argc < 32)
		argv[argc++] = *args++;
	for (int i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	return cluster_command(cl, cb, arg, argc, argv, lens);
}

/* ---- subscriptions ---------------------------------------------------- */

/* Send (UN)SUBSCRIBE for a room's channel or the node's own. */
static void
cluster_sub_send(struct cluster *cl, const char *verb, const char *kind,
    const char *name)
{
	char	chan[128];

	if (cl->sub == NULL)
		return;
	snprintf(chan, sizeof chan, "evchat:%s:%s", kind, name);
	redisAsyncCommand(cl->sub, cluster_sub_cb, cl, "%s %s", verb, chan);
}

struct cluster_sub *
cluster_sub_get(struct cluster *cl, const char *lower)
{
	struct htab_node	*n = htab_find(&cl->subs, lower);
	struct cluster_sub	*s;

	if (n != NULL)
		return HTAB_ENTRY(n, struct cluster_sub, node);
	s = xcalloc(1, sizeof *s);
	snprintf(s->name, sizeof s->name, "%s", lower);
	TAILQ_INIT(&s->waiters);
	TAILQ_INIT(&s->joining);
	htab_insert(&cl->subs, &s->node, s->name);
	TAILQ_INSERT_TAIL(&cl->sub_list, s, entry);
	s->state = CLUSTER_SUBSCRIBING;
	s->since = cl->ticks;
	cluster_sub_send(cl, "SUBSCRIBE", "room", s->name);
	return s;
}

/* Free a subscription nobody wants any more. */
static void
cluster_sub_free(struct cluster *cl, struct cluster_sub *s)
{
	htab_remove(&cl->subs, &s->node);
	TAILQ_REMOVE(&cl->sub_list, s, entry);
	free(s);
}

/* Does this node still want the room's lines? */
static int
cluster_sub_wanted(struct cluster *cl, struct cluster_sub *s)
{
	struct room	*r = chat_find_room(cl->chat, s->name);

	return s->pending > 0 || (r != NULL && r->nmembers > 0);
}

void
cluster_sub_check(struct cluster *cl, struct cluster_sub *s)
{
	if (s->state != CLUSTER_SUBSCRIBED || cluster_sub_wanted(cl, s))
		return;		/* settling, or someone is here or coming */
	s->state = CLUSTER_UNSUBSCRIBING;
	s->since = cl->ticks;
	cluster_sub_send(cl, "UNSUBSCRIBE", "room", s->name);
}

/* The chat's vacated hook: this node has nobody left in the room. */
static void
cluster_vacated(struct chat *chat, struct room *r)
{
	struct cluster		*cl = chat->vacated_arg;
	struct htab_node	*n = htab_find(&cl->subs, r->name);

	if (n != NULL)
		cluster_sub_check(cl, HTAB_ENTRY(n, struct cluster_sub, node));
}

/* The server confirmed a subscription change for a room's channel. */
static void
cluster_sub_confirmed(struct cluster *cl, const char *lower, int subscribed)
{
	struct htab_node	*n = htab_find(&cl->subs, lower);
	struct cluster_sub	*s;
	struct cluster_req	*req;

	if (n == NULL)
		return;
	s = HTAB_ENTRY(n, struct cluster_sub, node);
	if (!subscribed) {
		if (s->state != CLUSTER_UNSUBSCRIBING)
			return;
		if (!cluster_sub_wanted(cl, s)) {
			cluster_sub_free(cl, s);
			return;
		}
		s->state = CLUSTER_SUBSCRIBING;
		s->since = cl->ticks;
		cluster_sub_send(cl, "SUBSCRIBE", "room", s->name);
		return;
	}
	if (s->state != CLUSTER_SUBSCRIBING)
		return;
	s->state = CLUSTER_SUBSCRIBED;
	while ((req = TAILQ_FIRST(&s->waiters)) != NULL) {
		TAILQ_REMOVE(&s->waiters, req, entry);
		TAILQ_REMOVE(&cl->waiting, req, wentry);
		req->queued = 0;
		cluster_req_send(req);
	}
	cluster_sub_check(cl, s);
}

/*
 * A line published to a room this node is subscribed to:
 * "ID\nK\nSEQ\nTOPIC\nLINE", the topic empty but for kind T.  Kept for
 * the joins in flight there; delivered to this node's members unless it
 * is this node's own, which they had at once.
 */
static void
cluster_deliver_room(struct cluster *cl, const char *lower, const char *p,
    size_t len)
{
	struct room		*r = chat_find_room(cl->chat, lower);
	struct htab_node	*n = htab_find(&cl->subs, lower);
	const char		*f[4], *end = p + len, *line, *nl;
	size_t			 flen[4], i, llen;
	unsigned long long	 seq;
	char			 num[24];
	int			 own;

	for (i = 0; i < 4; i++) {	/* id, kind, seq, topic */
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return;
		f[i] = p;
		flen[i] = (size_t)(nl - p);
		p = nl + 1;
	}
	line = p;
	llen = (size_t)(end - line);
	if (flen[1] != 1 || flen[2] >= sizeof num || llen == 0)
		return;
	memcpy(num, f[2], flen[2]);
	num[flen[2]] = '\0';
	seq = strtoull(num, NULL, 10);
	own = flen[0] == strlen(cl->id) && memcmp(f[0], cl->id, flen[0]) == 0;
	/*
	 * Our own join notices are not kept: the joiner's node tells its
	 * members when the join is done, in the order of the joins.
	 */
	if (n != NULL && !(own && f[1][0] == CLUSTER_JOIN))
		cluster_stash(HTAB_ENTRY(n, struct cluster_sub, node), 0, 0,
		    seq, f[1][0], f[3], flen[3], line, llen);
	if (own || r == NULL || r->nmembers == 0)
		return;		/* ours went to our members already */
	switch (f[1][0]) {
	case CLUSTER_SAY:
		room_say(r, NULL, line, llen);
		break;
	case CLUSTER_TOPIC:
		cluster_set_topic(r, seq, f[3], flen[3]);
		room_broadcast(r, NULL, line, llen);
		break;
	default:
		room_broadcast(r, NULL, line, llen);
		break;
	}
}

void
cluster_set_topic(struct room *r, unsigned long long seq, const char *topic,
    size_t len)
{
	if (seq <= r->topic_seq)
		return;		/* a newer one is here already */
	r->topic_seq = seq;
	room_set_topic(r, topic, len);
}

/*
 * A private message for a nick on this node, "nicklower\nLINE", one of
 * this node's join barriers, "\1N", or its heartbeat, "\2".
 */
static void
cluster_deliver_private(struct cluster *cl, const char *p, size_t len)
{
	const char	*nl = memchr(p, '\n', len);
	char		 nick[NAME_MAX_BYTES + 1];
	struct user	*u;

	if (len > 1 && p[0] == '\1') {	/* one of our join barriers */
		cluster_req_barrier(cl, strtoul(p + 1, NULL, 10));
		return;
	}
	if (len == 1 && p[0] == '\2') {	/* our heartbeat */
		cl->heartbeat_out = 0;
		return;
	}
	if (nl == NULL || (size_t)(nl - p) > NAME_MAX_BYTES)
		return;
	memcpy(nick, p, (size_t)(nl - p));
	nick[nl - p] = '\0';
	if ((u = chat_find_user(cl->chat, nick)) == NULL)
		return;		/* gone meanwhile: pub/sub is at most once */
	nl++;
	user_send(u, nl, (size_t)(p + len - nl));
}

/* Every reply on the subscribe connection: confirmations and messages. */
static void
cluster_sub_cb(redisAsyncContext *ac, void *reply, void *arg)
{
	struct cluster	*cl = arg;
	redisReply	*r = reply, **e;
	const char	*chan;

	(void)ac;
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 3)
		return;
	e = r->element;
	if (e[0]->type != REDIS_REPLY_STRING ||
	    e[1]->type != REDIS_REPLY_STRING)
		return;
	chan = e[1]->str;
	if (strncmp(chan, "evchat:room:", 12) == 0) {
		chan += 12;
		if (strcmp(e[0]->str, "message") == 0 &&
		    e[2]->type == REDIS_REPLY_STRING)
			cluster_deliver_room(cl, chan, e[2]->str, e[2]->len);
		else if (strcmp(e[0]->str, "subscribe") == 0)
			cluster_sub_confirmed(cl, chan, 1);
		else if (strcmp(e[0]->str, "unsubscribe") == 0)
			cluster_sub_confirmed(cl, chan, 0);
	} else if (strcmp(e[0]->str, "message") == 0 &&
	    e[2]->type == REDIS_REPLY_STRING)
		cluster_deliver_private(cl, e[2]->str, e[2]->len);
}

/* ---- the link: connect, synchronise, refresh -------------------------- */

/* Rename a user whose nick another node took while the link was down. */
static void
cluster_lost_nick(struct cluster *cl, struct user *u, long long n)
{
	char	old[NAME_MAX_BYTES + 1], nick[NAME_MAX_BYTES + 1];
	char	line[NAME_MAX_BYTES * 2 + 40];
	int	len;

	snprintf(nick, sizeof nick, "guest-%lld", n);
	memcpy(old, u->nick, sizeof old);
	if ((u->flags & USER_MUTED) ||
	    chat_rename(cl->chat, u, nick) != RENAME_OK) {
		cluster_release(cl, nick);	/* closing, or taken here */
		return;
	}
	user_printf(u, "-!- your nick %s is taken on another server; you "
	    "are now known as %s", old, nick);
	len = snprintf(line, sizeof line, "-!- %s is now known as %s\r\n",
	    old, nick);
	if (u->ms != NULL) {
		room_broadcast(u->ms->room, u, line, (size_t)len);
		cluster_publish(cl, u->ms->room, CLUSTER_NOTICE, line,
		    (size_t)len);
	}
}

/* SYNC's answer: the new incarnation is registered; the link is up. */
static void
cluster_sync_cb(redisAsyncContext *ac, void *reply, void *arg)
{
	struct cluster	*cl = arg;
	redisReply	*r = reply;
	struct user	**users = cl->sync_users;
	size_t		 i, idx;

	(void)ac;
	cl->sync_users = NULL;
	if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
		free(users);
		if (r != NULL)
			cluster_lost(cl, r->type == REDIS_REPLY_ERROR ?
			    r->str : "bad reply to sync");
		return;
	}
	cl->state = CLUSTER_UP;
	cl->clean_from = cl->incarnation;
	cl->backoff_ms = CLUSTER_BACKOFF_MIN;
	log_info("cluster link up (node %s, redis %s)", cl->id, cl->addr);
	for (i = 0; i + 1 < r->elements; i += 2) {
		idx = (size_t)r->element[i]->integer;
		if (r->element[i]->type != REDIS_REPLY_INTEGER ||
		    r->element[i + 1]->type != REDIS_REPLY_INTEGER)
			continue;
		if (idx >= 1 && idx <= cl->sync_nusers && users[idx - 1] != NULL)
			cluster_lost_nick(cl, users[idx - 1],
			    r->element[i + 1]->integer);
	}
	free(users);
	if (cl->told_down) {
		cl->told_down = 0;
		cluster_tell_all(cl, "-!- cluster link restored");
	}
}

/*
 * Both connections are up: subscribe to what this node needs, then
 * register the new incarnation and everything it holds in one script.
 */
static void
cluster_sync(struct cluster *cl)
{
	struct client	*c;
	struct room	*r;
	const char	**argv;
	size_t		 *lens, n = 0, max, nu = 0;
	char		 (*low)[NAME_MAX_BYTES + 1], nr[16], ttl[16], from[16];
	size_t		 nrooms = 0;

	cl->state = CLUSTER_SYNCING;
	cluster_sub_send(cl, "SUBSCRIBE", "node", cl->id);
	TAILQ_FOREACH(r, &cl->chat->room_list, entry) {
		char	lower[NAME_MAX_BYTES + 1];

		cluster_fold(lower, r->name);
		if (r->nmembers > 0)
			cluster_sub_get(cl, lower);
		if (r->topic != NULL)
			nrooms++;
	}
	max = 8 + 2 * nrooms + 4 * cl->pool->nclients;
	argv = xcalloc(max, sizeof *argv);
	lens = xcalloc(max, sizeof *lens);
	low = xcalloc(nrooms + 2 * cl->pool->nclients + 1, sizeof *low);
	cl->sync_users = xcalloc(cl->pool->nclients + 1,
	    sizeof *cl->sync_users);
	snprintf(nr, sizeof nr, "%zu", nrooms);
	snprintf(from, sizeof from, "%u", cl->clean_from);
	snprintf(ttl, sizeof ttl, "%d", cl->ttl);
	argv[n++] = "EVAL";
	argv[n++] = CLUSTER_LUA_SYNC;
	argv[n++] = "0";
	argv[n++] = cl->id;
	argv[n++] = cl->base_id;
	argv[n++] = from;
	argv[n++] = ttl;
	argv[n++] = nr;
	nrooms = 0;
	TAILQ_FOREACH(r, &cl->chat->room_list, entry) {
		if (r->topic == NULL)
			continue;
		cluster_fold(low[nrooms], r->name);
		argv[n++] = low[nrooms++];
		argv[n++] = r->topic;
	}
	TAILQ_FOREACH(c, &cl->pool->all, entry) {
		struct user	*u = &c->user;

		if ((u->flags & USER_UNNAMED) || client_closing(c))
			continue;
		cl->sync_users[nu++] = u;
		cluster_fold(low[nrooms], u->nick);
		argv[n++] = low[nrooms++];
		argv[n++] = u->nick;
		if (u->ms != NULL) {
			cluster_fold(low[nrooms], u->ms->room->name);
			argv[n++] = low[nrooms++];
			argv[n++] = u->ms->room->name;
		} else {
			argv[n++] = "";
			argv[n++] = "";
		}
	}
	cl->sync_nusers = nu;
	for (size_t i = 0; i < n; i++)
		lens[i] = strlen(argv[i]);
	cluster_command(cl, cluster_sync_cb, cl, (int)n, argv, lens);
	free(argv);
	free(lens);
	free(low);
}

static void
cluster_connect_cb(const redisAsyncContext *ac, int status)
{
	struct cluster	*cl = ac->data;

	if (cl->state == CLUSTER_CLOSED)
		return;		/* shutting down: no new incarnation */
	if (status != REDIS_OK) {
		/* hiredis frees this context after we return. */
		if (ac == cl->cmd)
			cl->cmd = NULL;
		else
			cl->sub = NULL;
		cluster_lost(cl, ac->errstr);
		return;
	}
	if (++cl->nconnected == 2)
		cluster_sync(cl);
}

static void
cluster_disconnect_cb(const redisAsyncContext *ac, int status)
{
	struct cluster	*cl = ac->data;

	(void)status;
	if (ac != cl->cmd && ac != cl->sub)
		return;		/* one we dropped ourselves */
	if (ac == cl->cmd)
		cl->cmd = NULL;
	else
		cl->sub = NULL;
	cluster_lost(cl, ac->errstr[0] != '\0' ? ac->errstr :
	    "connection closed");
}

/* Open one connection and put it on the loop; NULL after logging why. */
static redisAsyncContext *
cluster_open(struct cluster *cl)
{
	redisAsyncContext	*ac;

	ac = cl->path != NULL ? redisAsyncConnectUnix(cl->path) :
	    redisAsyncConnect(cl->host, cl->port);
	if (ac == NULL)
		fatalx("redisAsyncConnect: out of memory");
	if (ac->err) {
		log_debug("cluster: %s", ac->errstr);
		redisAsyncFree(ac);
		return NULL;
	}
	ac->data = cl;
	redisLibeventAttach(ac, cl->base);
	redisAsyncSetConnectCallback(ac, cluster_connect_cb);
	redisAsyncSetDisconnectCallback(ac, cluster_disconnect_cb);
	return ac;
}

/* Start a new incarnation: both connections, then SYNC. */
static void
cluster_connect(struct cluster *cl)
{
	if (cl->state == CLUSTER_CLOSED)
		return;
	snprintf(cl->id, sizeof cl->id, "%s.%u", cl->base_id,
	    ++cl->incarnation);
	cl->state = CLUSTER_CONNECTING;
	cl->nconnected = 0;
	cl->slow_ticks = 0;
	if ((cl->cmd = cluster_open(cl)) == NULL ||
	    (cl->sub = cluster_open(cl)) == NULL)
		cluster_lost(cl, "cannot connect");
}

/* Has a (un)subscription waited a whole tick for its confirmation? */
static int
cluster_subs_stalled(struct cluster *cl)
{
	struct cluster_sub	*s;

	TAILQ_FOREACH(s, &cl->sub_list, entry) {
		if (s->state != CLUSTER_SUBSCRIBED && cl->ticks - s->since > 1)
			return 1;
	}
	return 0;
}

/*
 * Publish a heartbeat to this node's own channel: if it has not come
 * back on the subscribe link by the next tick, that link is dead even
 * if its socket is open (and joins would wait for their barriers).
 */
static void
cluster_heartbeat(struct cluster *cl)
{
	if (cluster_tell_self(cl, "\2") == 0)
		cl->heartbeat_out = 1;
}

/* REFRESH's answer: -1 means Redis forgot this node; start again. */
static void
cluster_refresh_cb(redisAsyncContext *ac, void *reply, void *arg)
{
	struct cluster	*cl = arg;
	redisReply	*r = reply;

	(void)ac;
	if (r == NULL)
		return;
	cl->refresh_out = 0;
	if (r->type == REDIS_REPLY_ERROR)
		cluster_lost(cl, r->str);
	else if (r->type == REDIS_REPLY_INTEGER && r->integer == -1)
		cluster_lost(cl, "redis forgot this node");
}

/*
 * Every third of the ttl: keep this node's keys alive, and take an
 * unanswered refresh from the last tick, or a connection that has not
 * come up after a whole tick, as a dead link.
 */
static void
cluster_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cluster		*cl = arg;
	const char		*args[3];
	char			 ttl[16];

	(void)fd;
	(void)what;
	if (cl->state == CLUSTER_CONNECTING || cl->state == CLUSTER_SYNCING) {
		/* A connect or sync that a whole tick did not finish. */
		if (cl->slow_ticks++ > 0)
			cluster_lost(cl, "redis did not answer in time");
		return;
	}
	if (cl->state != CLUSTER_UP)
		return;
	cl->ticks++;
	if (cl->refresh_out || cl->heartbeat_out || cluster_subs_stalled(cl)) {
		cluster_lost(cl, "redis did not answer in time");
		return;
	}
	snprintf(ttl, sizeof ttl, "%d", cl->ttl);
	args[0] = cl->id;
	args[1] = ttl;
	args[2] = NULL;
	if (cluster_eval(cl, cluster_refresh_cb, cl, CLUSTER_LUA_REFRESH,
	    args) == 0)
		cl->refresh_out = 1;
	cluster_heartbeat(cl);
}

/* Split --redis: a path (with a '/'), HOST:PORT or [V6]:PORT. */
static int
cluster_parse_addr(struct cluster *cl, const char *addr)
{
	char	host[256];
	int	port;

	if (strchr(addr, '/') != NULL) {
		cl->path = xstrdup(addr);
		return 0;
	}
	if (server_parse_listen(addr, 6379, host, sizeof host, &port) !=
	    NULL || host[0] == '\0' || port == 0)
		return -1;
	cl->host = xstrdup(host);
	cl->port = port;
	return 0;
}

struct cluster *
cluster_new(struct event_base *base, struct client_pool *pool,
    const char *addr, int ttl)
{
	struct cluster	*cl = xcalloc(1, sizeof *cl);
	struct timeval	 tv;
	char		 host[64];
	struct timespec	 ts;

	if (cluster_parse_addr(cl, addr) == -1) {
		fprintf(stderr, "evchatd: --redis %s: give HOST:PORT, "
		    "[IPV6]:PORT or a socket path\n", addr);
		free(cl);
		return NULL;
	}
	cl->base = base;
	cl->pool = pool;
	cl->chat = pool->chat;
	cl->ttl = ttl;
	cl->addr = xstrdup(addr);
	htab_init(&cl->subs);
	TAILQ_INIT(&cl->sub_list);
	TAILQ_INIT(&cl->waiting);
	cl->chat->vacated = cluster_vacated;
	cl->chat->vacated_arg = cl;
	pool->cluster = cl;
	if (gethostname(host, sizeof host) == -1)
		snprintf(host, sizeof host, "node");
	host[sizeof host - 1] = '\0';
	host[strcspn(host, " .:\n")] = '\0';
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(cl->base_id, sizeof cl->base_id, "%s-%ld-%lx", host,
	    (long)getpid(), (unsigned long)(ts.tv_nsec ^ ts.tv_sec) & 0xffffff);
	cl->backoff_ms = CLUSTER_BACKOFF_MIN;
	cl->retry_ev = evtimer_new(base, cluster_retry_cb, cl);
	cl->kick_ev = event_new(base, -1, 0, cluster_kick_cb, cl);
	cl->tick_ev = event_new(base, -1, EV_PERSIST, cluster_tick_cb, cl);
	tv.tv_sec = ttl / 3;
	tv.tv_usec = (suseconds_t)(ttl % 3) * 333333;
	event_add(cl->tick_ev, &tv);
	log_info("cluster: node %s, redis %s", cl->base_id, addr);
	cluster_connect(cl);
	return cl;
}

/* BYE's answer, or its time is up: the server may exit. */
static void
cluster_finished(struct cluster *cl)
{
	void	(*done)(void *) = cl->finish_done;

	if (done == NULL)
		return;
	cl->finish_done = NULL;
	event_del(cl->retry_ev);
	done(cl->finish_arg);
}

/* The last reply: everything sent before it has been carried out. */
static void
cluster_last_cb(redisAsyncContext *ac, void *reply, void *arg)
{
	(void)ac;
	(void)reply;
	cluster_finished(arg);
}

/*
 * BYE is done; replies that came before it may have given back what
 * requests of departed clients took, behind it: a PING, and its answer,
 * make sure those went out too before the process exits.
 */
static void
cluster_bye_cb(redisAsyncContext *ac, void *reply, void *arg)
{
	struct cluster	*cl = arg;

	(void)reply;
	if (cl->cmd == NULL || redisAsyncCommand(ac, cluster_last_cb, cl,
	    "PING") != REDIS_OK)
		cluster_finished(cl);
}

static void
cluster_finish_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	cluster_finished(arg);
}

void
cluster_finish(struct cluster *cl, void (*done)(void *), void *arg)
{
	const char	*args[2] = { cl->id, NULL };
	struct timeval	 tv = { 0, CLUSTER_FINISH_MS * 1000 };

	cl->finish_done = done;
	cl->finish_arg = arg;
	event_del(cl->tick_ev);
	/* Every client is gone: give back what their requests took. */
	cluster_fail_waiters(cl);
	if (cl->state != CLUSTER_UP ||
	    cluster_eval(cl, cluster_bye_cb, cl, CLUSTER_LUA_BYE, args) == -1) {
		cl->state = CLUSTER_CLOSED;
		cluster_finished(cl);
		return;
	}
	cl->state = CLUSTER_CLOSED;
	cl->finish_ev = evtimer_new(cl->base, cluster_finish_timeout_cb, cl);
	evtimer_add(cl->finish_ev, &tv);
}

void
cluster_free(struct cluster *cl)
{
	if (cl == NULL)
		return;
	cl->state = CLUSTER_CLOSED;
	cluster_drop(cl);
	cl->chat->vacated = NULL;
	cl->pool->cluster = NULL;
	htab_free(&cl->subs);
	event_free(cl->retry_ev);
	event_free(cl->kick_ev);
	event_free(cl->tick_ev);
	if (cl->finish_ev != NULL)
		event_free(cl->finish_ev);
	free(cl->host);
	free(cl->path);
	free(cl->addr);
	free(cl);
}
