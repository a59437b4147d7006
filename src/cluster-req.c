/*
 * cluster-req: what the command layer asks of the cluster.  Requests that
 * answer a client pause its input (client_wait) until Redis replies, so
 * its lines are still handled in order; the reply is turned into a
 * cluster_result and handed to the command layer's continuation.  A
 * client that goes away meanwhile is forgotten, and whatever its request
 * took in Redis (a nick, a place in a room) is given back.  Publishing is
 * fire and forget, and dropped while the link is down.
 */
#include "config.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "cluster.h"
#include "cluster-int.h"
#include "cluster-lua.h"
#include "log.h"
#include "room.h"
#include "xmalloc.h"

#define CLUSTER_ROOMS_MAX	4096	/* rooms one /rooms reply may list */
#define CLUSTER_STASH_BYTES	(1024 * 1024)	/* kept for one join in flight */

/* One stashed line's header; its topic, then the line, follow it. */
struct cluster_stashed {
	unsigned long long	seq;
	int			kind;
	size_t			tlen;
	size_t			len;
};

static void cluster_req_cb(redisAsyncContext *, void *, void *);
static void cluster_topic_apply(struct cluster_req *,
    const struct cluster_result *);
static int cluster_line(struct cluster *, redisCallbackFn *, void *,
    const char *, int, const char *, const char *, size_t);
static void cluster_send_part(struct cluster *, const char *, const char *);
static void cluster_send_leave(struct cluster *, const char *, const char *);

/* A request for client c; its input waits for the reply. */
static struct cluster_req *
cluster_req_new(struct cluster *cl, struct client *c, int op,
    cluster_done_fn *done)
{
	struct cluster_req	*req = xcalloc(1, sizeof *req);

	req->cl = cl;
	req->c = c;
	req->op = op;
	req->done = done;
	snprintf(req->nick, sizeof req->nick, "%s", c->user.nick);
	c->req = req;
	client_wait(c);
	return req;
}

/*
 * A request could not be sent: the link is taken as lost.  Never answer
 * from inside the caller: queue it for the kick, which does.
 */
static void
cluster_req_unsent(struct cluster_req *req)
{
	req->queued = 1;
	TAILQ_INSERT_TAIL(&req->cl->waiting, req, wentry);
	event_active(req->cl->kick_ev, EV_TIMEOUT, 0);
}

/* Run a request's script. */
static void
cluster_req_eval(struct cluster_req *req, const char *script,
    const char *const *args)
{
	if (cluster_eval(req->cl, cluster_req_cb, req, script, args) != 0)
		cluster_req_unsent(req);
}

void
cluster_req_send(struct cluster_req *req)
{
	struct cluster		*cl = req->cl;
	struct htab_node	*n;
	char			 hist[24], notice[NAME_MAX_BYTES + 24];
	const char		*args[7];

	/* Only joins wait for a subscription before they are sent. */
	snprintf(hist, sizeof hist, "%zu", cl->chat->history_max);
	snprintf(notice, sizeof notice, "-!- %s joined #", req->nick);
	args[0] = cl->id;
	args[1] = req->room;
	args[2] = req->asked;		/* the room's name as typed */
	args[3] = req->nick;
	args[4] = hist;
	args[5] = notice;
	args[6] = NULL;
	if ((n = htab_find(&cl->subs, req->room)) != NULL) {
		/* From now on, lines said there are kept for this join. */
		req->sub = HTAB_ENTRY(n, struct cluster_sub, node);
		TAILQ_INSERT_TAIL(&req->sub->joining, req, jentry);
	}
	cluster_req_eval(req, CLUSTER_LUA_JOIN, args);
}

void
cluster_stash(struct cluster_sub *s, int held, unsigned long upto,
    unsigned long long seq, int kind, const char *topic, size_t tlen,
    const char *line, size_t len)
{
	struct cluster_req	*req;
	struct cluster_stashed	 h = { seq, kind, tlen, len };

	TAILQ_FOREACH(req, &s->joining, jentry) {
		if (req->c == NULL)
			continue;
		if (held ? req->held == NULL || req->barrier > upto :
		    req->held != NULL && seq <= req->held->seq)
			continue;	/* not missed, or older than the join */
		if (req->stash_bytes + tlen + len > CLUSTER_STASH_BYTES) {
			req->overflow = 1;
			continue;
		}
		if (req->stash[held] == NULL)
			req->stash[held] = evbuffer_new();
		evbuffer_add(req->stash[held], &h, sizeof h);
		evbuffer_add(req->stash[held], topic, tlen);
		evbuffer_add(req->stash[held], line, len);
		req->stash_bytes += tlen + len;
	}
}

/*
 * The joiner is in: give it the lines kept for it that came after its
 * join (seq), those that came back first, then this node's own said
 * after the answer.  Lines said later reach it as a member: the barrier
 * came after every earlier one.
 */
static void
cluster_req_unstash(struct cluster_req *req, struct client *c,
    unsigned long long seq)
{
	struct room		*r = room_of(&c->user);
	struct cluster_stashed	 h;
	struct evbuffer		*b;
	char			*p;
	int			 i;

	if (r == NULL)
		return;
	for (i = 0; i < 2; i++) {
		if ((b = req->stash[i]) == NULL)
			continue;
		while (evbuffer_remove(b, &h, sizeof h) == sizeof h) {
			p = (char *)evbuffer_pullup(b,
			    (ev_ssize_t)(h.tlen + h.len));
			if (p != NULL && (i == 1 || h.seq > seq)) {
				if (h.kind == CLUSTER_TOPIC)
					cluster_set_topic(r, h.seq, p, h.tlen);
				user_send(&c->user, p + h.tlen, h.len);
			}
			evbuffer_drain(b, h.tlen + h.len);
		}
	}
	if (req->overflow)
		client_printf(c, "-!- error: more was said in #%s while you "
		    "joined than could be kept; some of it is missing",
		    r->name);
}

/* Give back what a request of a client now gone took in Redis. */
static void
cluster_req_undo(struct cluster_req *req, const struct cluster_result *res)
{
	struct cluster	*cl = req->cl;
	char		 nick[NAME_MAX_BYTES + 1];
	char		 notice[NAME_MAX_BYTES * 2 + 16];

	if (res == NULL || cl->cmd == NULL)
		return;		/* nothing taken, or Redis forgets it anyway */
	switch (req->op) {
	case CLUSTER_OP_GUEST:
		snprintf(nick, sizeof nick, "guest-%lld", res->n);
		cluster_send_leave(cl, nick, "");
		return;
	case CLUSTER_OP_NICK:		/* the new nick, in the room too */
		if (res->n == 1)
			cluster_send_leave(cl, req->nick, req->room);
		return;
	case CLUSTER_OP_JOIN:		/* the place, and the notice, taken back */
		snprintf(notice, sizeof notice, "-!- %s left #%s\r\n",
		    req->nick, res->name);
		cluster_line(cl, NULL, NULL, req->room, CLUSTER_NOTICE, "",
		    notice, strlen(notice));
		cluster_send_part(cl, req->room, req->nick);
		return;
	default:
		return;
	}
}

/* The string in a reply element, or "" if it is not one. */
static const char *
cluster_str(const redisReply *r, size_t *len)
{
	if (r == NULL || (r->type != REDIS_REPLY_STRING &&
	    r->type != REDIS_REPLY_STATUS)) {
		if (len != NULL)
			*len = 0;
		return "";
	}
	if (len != NULL)
		*len = r->len;
	return r->str;
}

/* An array reply's strings as items (lens too); the caller frees both. */
static void
cluster_items(struct cluster_result *res, const redisReply *a)
{
	const char	**items;
	size_t		 *lens, i;

	if (a == NULL || a->type != REDIS_REPLY_ARRAY || a->elements == 0)
		return;
	items = xcalloc(a->elements, sizeof *items);
	lens = xcalloc(a->elements, sizeof *lens);
	for (i = 0; i < a->elements; i++)
		items[i] = cluster_str(a->element[i], &lens[i]);
	res->items = items;
	res->lens = lens;
	res->nitems = a->elements;
}

/* Is element i of array a of this type? */
static int
cluster_is(const redisReply *a, size_t i, int type)
{
	return i < a->elements && a->element[i]->type == type;
}

/*
 * /rooms: the flat (name, count, topic) list, counts written out as
 * text so every item is a string; the counts live in buf.
 */
static int
cluster_rooms_items(struct cluster_result *res, const redisReply *a,
    char (**buf)[24])
{
	size_t	i, n = a->elements / 3;

	if (a->elements % 3 != 0)
		return -1;
	for (i = 0; i < a->elements; i += 3)
		if (!cluster_is(a, i, REDIS_REPLY_STRING) ||
		    !cluster_is(a, i + 1, REDIS_REPLY_INTEGER) ||
		    !cluster_is(a, i + 2, REDIS_REPLY_STRING))
			return -1;
	cluster_items(res, a);
	if (n > CLUSTER_ROOMS_MAX)
		n = CLUSTER_ROOMS_MAX;
	res->nitems = n * 3;
	*buf = xcalloc(n + 1, sizeof **buf);
	for (i = 0; i < n; i++) {
		snprintf((*buf)[i], sizeof (*buf)[i], "%lld",
		    a->element[i * 3 + 1]->integer);
		res->items[i * 3 + 1] = (*buf)[i];
	}
	return 0;
}

/* Read a reply into a result; -1 if it is not what the request expects. */
static int
cluster_parse(struct cluster_req *req, const redisReply *r,
    struct cluster_result *res, char (**buf)[24])
{
	memset(res, 0, sizeof *res);
	res->name = res->topic = "";
	switch (req->op) {
	case CLUSTER_OP_GUEST:
	case CLUSTER_OP_NICK:
	case CLUSTER_OP_TOPIC:
		if (r->type != REDIS_REPLY_INTEGER)
			return -1;
		res->n = r->integer;
		return 0;
	case CLUSTER_OP_JOIN:
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 5 ||
		    !cluster_is(r, 0, REDIS_REPLY_STRING) ||
		    !cluster_is(r, 1, REDIS_REPLY_INTEGER) ||
		    !cluster_is(r, 2, REDIS_REPLY_STRING) ||
		    !cluster_is(r, 3, REDIS_REPLY_ARRAY) ||
		    !cluster_is(r, 4, REDIS_REPLY_INTEGER))
			return -1;
		res->name = r->element[0]->str;
		res->n = r->element[1]->integer;
		res->topic = r->element[2]->str;
		res->seq = (unsigned long long)r->element[4]->integer;
		cluster_items(res, r->element[3]);
		return 0;
	case CLUSTER_OP_MSG:
		if (r->type != REDIS_REPLY_NIL && r->type != REDIS_REPLY_STRING)
			return -1;
		res->name = r->type == REDIS_REPLY_NIL ? NULL : r->str;
		return 0;
	case CLUSTER_OP_WHO:
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    !cluster_is(r, 0, REDIS_REPLY_STRING) ||
		    !cluster_is(r, 1, REDIS_REPLY_ARRAY))
			return -1;
		res->name = r->element[0]->str;
		cluster_items(res, r->element[1]);
		res->n = (long long)res->nitems;
		return 0;
	case CLUSTER_OP_ROOMS:
		if (r->type != REDIS_REPLY_ARRAY)
			return -1;
		return cluster_rooms_items(res, r, buf);
	default:
		return -1;
	}
}

/* A join is answered: the room's channel may no longer be wanted. */
static void
cluster_req_unwant(struct cluster *cl, const char *lower)
{
	struct htab_node	*n = htab_find(&cl->subs, lower);
	struct cluster_sub	*s;

	if (n == NULL)
		return;
	s = HTAB_ENTRY(n, struct cluster_sub, node);
	if (s->pending > 0)
		s->pending--;
	cluster_sub_check(cl, s);
}

/* Free a held join answer. */
static void
cluster_held_free(struct cluster_held *h)
{
	size_t	i;

	if (h == NULL)
		return;
	for (i = 0; i < h->nlines; i++)
		free((void *)(uintptr_t)h->lines[i]);
	free(h->lines);
	free(h->lens);
	free(h->name);
	free(h->topic);
	free(h);
}

/*
 * Keep a join's answer and send a barrier through Redis to this node's
 * own channel: the command link is first in, first out, so when the
 * barrier comes back every line published before the answer has reached
 * the subscribe link.  Returns -1 if it cannot be sent.
 */
static int
cluster_req_hold(struct cluster_req *req, const struct cluster_result *res)
{
	struct cluster		*cl = req->cl;
	struct cluster_held	*h;
	char			 msg[32];
	size_t			 i;

	snprintf(msg, sizeof msg, "\1%lu", cl->barrier_seq + 1);
	if (cluster_tell_self(cl, msg) == -1)
		return -1;
	req->barrier = ++cl->barrier_seq;
	h = req->held = xcalloc(1, sizeof *h);
	h->name = xstrdup(res->name);
	h->topic = xstrdup(res->topic);
	h->n = res->n;
	h->nlines = res->nitems;
	h->lines = xcalloc(res->nitems + 1, sizeof *h->lines);
	h->lens = xcalloc(res->nitems + 1, sizeof *h->lens);
	for (i = 0; i < res->nitems; i++) {
		h->lines[i] = xmemdup(res->items[i], res->lens[i]);
		h->lens[i] = res->lens[i];
	}
	h->seq = res->seq;
	req->queued = 1;	/* a dropped link fails it like any waiter */
	TAILQ_INSERT_TAIL(&cl->waiting, req, wentry);
	return 0;
}

/*
 * The end of a request: the client gets its answer (res, or NULL for
 * this node alone) and its input back; a client gone or closing has what
 * the request took in Redis given back instead.
 */
static void
cluster_req_complete(struct cluster_req *req, const struct cluster_result *res)
{
	struct cluster	*cl = req->cl;
	struct client	*c = req->c;
	struct cluster_held *h = req->held;

	if (req->queued) {
		TAILQ_REMOVE(&cl->waiting, req, wentry);
		req->queued = 0;
	}
	if (req->sub != NULL) {
		TAILQ_REMOVE(&req->sub->joining, req, jentry);
		req->sub = NULL;
	}
	if (c != NULL && (cl->state == CLUSTER_CLOSED || client_closing(c))) {
		/* Closing (its departure may be announced already): undo. */
		c->req = NULL;
		c = NULL;
	}
	if (req->op == CLUSTER_OP_TOPIC)
		cluster_topic_apply(req, res);
	if (c == NULL)
		cluster_req_undo(req, res);
	else {
		c->req = NULL;
		if (req->done != NULL)
			req->done(c, res, req->asked);
		if (res != NULL && h != NULL)
			cluster_req_unstash(req, c, h->seq);
		if (c->req == NULL)
			client_resume(c);
	}
	if (req->op == CLUSTER_OP_JOIN)
		cluster_req_unwant(cl, req->room);
	cluster_held_free(h);
	free(req->text);
	free(req->topic);
	if (req->stash[0] != NULL)
		evbuffer_free(req->stash[0]);
	if (req->stash[1] != NULL)
		evbuffer_free(req->stash[1]);
	free(req);
}

/* A held join's answer as a result. */
static void
cluster_held_result(const struct cluster_held *h, struct cluster_result *res)
{
	memset(res, 0, sizeof *res);
	res->name = h->name;
	res->topic = h->topic;
	res->n = h->n;
	res->nitems = h->nlines;
	res->items = h->lines;
	res->lens = h->lens;
	res->seq = h->seq;
}

void
cluster_req_barrier(struct cluster *cl, unsigned long n)
{
	struct cluster_req	*req;
	struct cluster_result	 res;

	TAILQ_FOREACH(req, &cl->waiting, wentry) {
		if (req->held != NULL && req->barrier == n) {
			cluster_held_result(req->held, &res);
			cluster_req_complete(req, &res);
			return;
		}
	}
}

void
cluster_req_finish(struct cluster_req *req, const redisReply *r)
{
	struct cluster_result	 res;
	char			 (*buf)[24] = NULL;
	int			 ok = 0;

	if (req->held != NULL) {	/* the link went before the barrier */
		cluster_held_result(req->held, &res);
		cluster_req_complete(req, &res);
		return;
	}
	if (r != NULL && r->type == REDIS_REPLY_ERROR)
		log_warnx("cluster: redis refused a request: %s", r->str);
	else if (r != NULL)
		ok = cluster_parse(req, r, &res, &buf) == 0;
	if (ok) {
		res.text = req->text;
		res.text_len = req->text_len;
	}
	/* Only a client still in service waits for the barrier. */
	if (!(ok && req->op == CLUSTER_OP_JOIN && req->c != NULL &&
	    !client_closing(req->c) && req->cl->state != CLUSTER_CLOSED &&
	    cluster_req_hold(req, &res) == 0))
		cluster_req_complete(req, ok ? &res : NULL);
	if (ok) {
		free(res.items);
		free(res.lens);
	}
	free(buf);
}

static void
cluster_req_cb(redisAsyncContext *ac, void *reply, void *arg)
{
	(void)ac;
	cluster_req_finish(arg, reply);
}

void
cluster_forget(struct client *c)
{
	struct cluster	*cl = c->pool->cluster;
	size_t		 i;

	if (c->req != NULL) {
		c->req->c = NULL;
		c->req = NULL;
	}
	if (cl == NULL || cl->sync_users == NULL)
		return;
	for (i = 0; i < cl->sync_nusers; i++)
		if (cl->sync_users[i] == &c->user)
			cl->sync_users[i] = NULL;
}

void
cluster_claim_guest(struct cluster *cl, struct client *c,
    cluster_done_fn *done)
{
	struct cluster_req	*req = cluster_req_new(cl, c, CLUSTER_OP_GUEST,
				    done);
	char			 ttl[16];
	const char		*args[3] = { cl->id, ttl, NULL };

	snprintf(ttl, sizeof ttl, "%d", cl->ttl);
	cluster_req_eval(req, CLUSTER_LUA_GUEST, args);
}

void
cluster_claim_nick(struct cluster *cl, struct client *c, const char *nick,
    cluster_done_fn *done)
{
	struct cluster_req	*req = cluster_req_new(cl, c, CLUSTER_OP_NICK,
				    done);
	struct user		*u = &c->user;
	char			 ttl[16], lower[NAME_MAX_BYTES + 1];
	char			 oldlower[NAME_MAX_BYTES + 1];
	const char		*args[8];

	snprintf(ttl, sizeof ttl, "%d", cl->ttl);
	snprintf(req->nick, sizeof req->nick, "%s", nick);
	snprintf(req->asked, sizeof req->asked, "%s", nick);
	cluster_fold(lower, nick);
	cluster_fold(oldlower, u->nick);
	if (u->ms != NULL)
		cluster_fold(req->room, u->ms->room->name);
	args[0] = cl->id;
	args[1] = ttl;
	args[2] = lower;
	args[3] = nick;
	args[4] = oldlower;
	args[5] = u->nick;
	args[6] = req->room;
	args[7] = NULL;
	cluster_req_eval(req, CLUSTER_LUA_NICK, args);
}

void
cluster_join(struct cluster *cl, struct client *c, const char *room,
    cluster_done_fn *done)
{
	struct cluster_req	*req = cluster_req_new(cl, c, CLUSTER_OP_JOIN,
				    done);
	struct cluster_sub	*s;

	cluster_fold(req->room, room);
	snprintf(req->asked, sizeof req->asked, "%s", room);
	s = cluster_sub_get(cl, req->room);
	s->pending++;
	if (s->state == CLUSTER_SUBSCRIBED) {
		cluster_req_send(req);
		return;
	}
	/* Answer only once the room's lines reach this node. */
	req->queued = 1;
	TAILQ_INSERT_TAIL(&s->waiters, req, entry);
	TAILQ_INSERT_TAIL(&cl->waiting, req, wentry);
}

void
cluster_who(struct cluster *cl, struct client *c, const char *room,
    cluster_done_fn *done)
{
	struct cluster_req	*req = cluster_req_new(cl, c, CLUSTER_OP_WHO,
				    done);
	const char		*args[2] = { req->room, NULL };

	snprintf(req->asked, sizeof req->asked, "%s", room);
	cluster_fold(req->room, room);
	cluster_req_eval(req, CLUSTER_LUA_WHO, args);
}

void
cluster_rooms(struct cluster *cl, struct client *c, cluster_done_fn *done)
{
	struct cluster_req	*req = cluster_req_new(cl, c, CLUSTER_OP_ROOMS,
				    done);
	const char		*args[1] = { NULL };

	cluster_req_eval(req, CLUSTER_LUA_ROOMS, args);
}

void
cluster_msg(struct cluster *cl, struct client *c, const char *nick,
    const char *line, size_t len, cluster_done_fn *done)
{
	struct cluster_req	*req = cluster_req_new(cl, c, CLUSTER_OP_MSG,
				    done);
	char			 lower[NAME_MAX_BYTES + 1];
	const char		*argv[6];
	size_t			 lens[6];
	int			 i;

	snprintf(req->asked, sizeof req->asked, "%s", nick);
	req->text = xmemdup(line, len);
	req->text_len = len;
	cluster_fold(lower, nick);
	argv[0] = "EVAL";
	argv[1] = CLUSTER_LUA_MSG;
	argv[2] = "0";
	argv[3] = cl->id;
	argv[4] = lower;
	argv[5] = line;
	for (i = 0; i < 5; i++)
		lens[i] = strlen(argv[i]);
	lens[5] = len;
	if (cluster_command(cl, cluster_req_cb, req, 6, argv, lens) != 0)
		cluster_req_unsent(req);
}

/* Send a room's line through the LINE script; its reply goes to cb. */
static int
cluster_line(struct cluster *cl, redisCallbackFn *cb, void *arg,
    const char *lower, int kind, const char *topic, const char *line,
    size_t len)
{
	char		 hist[24], k[2] = { (char)kind, '\0' };
	const char	*argv[9];
	size_t		 lens[9];
	int		 i;

	snprintf(hist, sizeof hist, "%zu", cl->chat->history_max);
	argv[0] = "EVAL";
	argv[1] = CLUSTER_LUA_LINE;
	argv[2] = "0";
	argv[3] = lower;
	argv[4] = cl->id;
	argv[5] = k;
	argv[6] = hist;
	argv[7] = topic;
	argv[8] = line;
	for (i = 0; i < 8; i++)
		lens[i] = strlen(argv[i]);
	lens[8] = len;
	return cluster_command(cl, cb, arg, 9, argv, lens);
}

/*
 * This node told its members of room lower a line (numbered seq, if it
 * knows): the joins there whose barrier went out before the line was
 * sent (barrier upto at the latest) missed it and will not see its echo,
 * so they keep it for their joiner.
 */
static void
cluster_stash_own(struct cluster *cl, const char *lower, unsigned long upto,
    unsigned long long seq, int kind, const char *topic, const char *line,
    size_t len)
{
	struct htab_node	*n;

	if ((n = htab_find(&cl->subs, lower)) != NULL)
		cluster_stash(HTAB_ENTRY(n, struct cluster_sub, node), 1, upto,
		    seq, kind, topic, strlen(topic), line, len);
}

void
cluster_publish(struct cluster *cl, const struct room *r,
    enum cluster_kind kind, const char *line, size_t len)
{
	char	lower[NAME_MAX_BYTES + 1];

	if (!cluster_up(cl))
		return;
	cluster_fold(lower, r->name);
	cluster_stash_own(cl, lower, cl->barrier_seq, ULLONG_MAX, kind, "",
	    line, len);
	cluster_line(cl, NULL, NULL, lower, kind, "", line, len);
}

/*
 * Redis has the topic (res says where it stands in the order of what is
 * said): set it here, unless a newer one came first, and tell this
 * node's members, the setter included.  If the link went first (res is
 * NULL), this node alone.
 */
static void
cluster_topic_apply(struct cluster_req *req, const struct cluster_result *res)
{
	struct room	*r = chat_find_room(req->cl->chat, req->room);

	if (r == NULL)
		return;
	if (res == NULL) {
		room_set_topic(r, req->topic, strlen(req->topic));
		room_broadcast(r, NULL, req->text, req->text_len);
		return;
	}
	cluster_set_topic(r, (unsigned long long)res->n, req->topic,
	    strlen(req->topic));
	room_broadcast(r, NULL, req->text, req->text_len);
	cluster_stash_own(req->cl, req->room, req->upto,
	    (unsigned long long)res->n, CLUSTER_TOPIC, req->topic, req->text,
	    req->text_len);
}

void
cluster_topic(struct cluster *cl, struct client *c, const char *topic,
    const char *line, size_t len, cluster_done_fn *done)
{
	struct cluster_req	*req = cluster_req_new(cl, c, CLUSTER_OP_TOPIC,
				    done);

	cluster_fold(req->room, c->user.ms->room->name);
	req->upto = cl->barrier_seq;	/* joins that will not see the echo */
	req->topic = xstrdup(topic);
	req->text = xmemdup(line, len);
	req->text_len = len;
	if (cluster_line(cl, cluster_req_cb, req, req->room, CLUSTER_TOPIC,
	    topic, line, len) != 0)
		cluster_req_unsent(req);
}

/* PART: nick's place in room (lower) goes. */
static void
cluster_send_part(struct cluster *cl, const char *room, const char *nick)
{
	const char	*args[4] = { cl->id, room, nick, NULL };

	cluster_eval(cl, NULL, NULL, CLUSTER_LUA_PART, args);
}

/* LEAVE: nick goes, and its place in room (lower; "" for none). */
static void
cluster_send_leave(struct cluster *cl, const char *nick, const char *room)
{
	char		 lower[NAME_MAX_BYTES + 1];
	const char	*args[5] = { cl->id, lower, nick, room, NULL };

	cluster_fold(lower, nick);
	cluster_eval(cl, NULL, NULL, CLUSTER_LUA_LEAVE, args);
}

void
cluster_part(struct cluster *cl, const struct user *u, const char *room)
{
	char	lower[NAME_MAX_BYTES + 1];

	if (!cluster_up(cl) || (u->flags & USER_UNNAMED))
		return;
	cluster_fold(lower, room);
	cluster_send_part(cl, lower, u->nick);
}

void
cluster_release(struct cluster *cl, const char *nick)
{
	if (cl != NULL && cl->cmd != NULL)
		cluster_send_leave(cl, nick, "");
}

void
cluster_leave(struct cluster *cl, const struct user *u)
{
	char	room[NAME_MAX_BYTES + 1];

	if (!cluster_up(cl) || (u->flags & USER_UNNAMED))
		return;
	room[0] = '\0';
	if (u->ms != NULL)
		cluster_fold(room, u->ms->room->name);
	cluster_send_leave(cl, u->nick, room);
}
