/*
 * room: nicks, rooms, memberships, topics, history and broadcast.
 *
 * Ownership: the chat owns rooms; a room never owns a user.  A membership
 * is made only by room_join and freed only by room_part, so a user is in
 * at most one room and a room's member list is always exact.  Sending only
 * appends to evbuffers: nothing here frees, closes or unlinks a user, so a
 * broadcast can never pull the list it walks out from under itself.  A
 * user marked USER_MUTED (closing) is skipped; one whose queue passes the
 * send-queue limit is reported through the overflow hook, which only
 * marks it (and mutes it) for the reaper.
 *
 * It deliberately knows nothing of sockets, commands or wording beyond
 * what lines look like: the command layer composes the notices.
 */
#include "config.h"

#include <event2/buffer.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "room.h"
#include "xmalloc.h"

static void	member_catch_up(struct membership *);
static void	user_queued(struct user *);

/* The user's queue, which its owner makes now if it keeps none. */
static struct evbuffer *
user_out(struct user *u)
{
	if (u->out == NULL)
		u->chat->attach(u);
	return u->out;
}

/* Bytes queued for the user. */
static size_t
user_queue_len(const struct user *u)
{
	return u->out != NULL ? evbuffer_get_length(u->out) : 0;
}

/* Make a room and index it. */
static struct room *
room_new(struct chat *chat, const char *name)
{
	struct room	*r = xcalloc(1, sizeof *r);

	strncpy(r->name, name, NAME_MAX_BYTES);
	r->chat = chat;
	TAILQ_INIT(&r->members);
	history_init(&r->history, chat->history_max);
	htab_insert(&chat->rooms, &r->node, r->name);
	TAILQ_INSERT_TAIL(&chat->room_list, r, entry);
	chat->nrooms++;
	return r;
}

/* Unindex and free an empty room, forgetting its topic and history. */
static void
room_free(struct chat *chat, struct room *r)
{
	htab_remove(&chat->rooms, &r->node);
	TAILQ_REMOVE(&chat->room_list, r, entry);
	if (r->pend_len > 0)
		TAILQ_REMOVE(&chat->pend_rooms, r, pend_entry);
	chat->nrooms--;
	history_free(&r->history);
	free(r->pend);
	free(r->topic);
	free(r);
}

void
chat_init(struct chat *chat, size_t history_max)
{
	memset(chat, 0, sizeof *chat);
	htab_init(&chat->nicks);
	htab_init(&chat->rooms);
	TAILQ_INIT(&chat->room_list);
	TAILQ_INIT(&chat->pend_rooms);
	chat->history_max = history_max;
	chat->next_guest = 1;
	chat->lobby = room_new(chat, ROOM_LOBBY);
}

void
chat_free(struct chat *chat)
{
	struct room	*r;

	while ((r = TAILQ_FIRST(&chat->room_list)) != NULL)
		room_free(chat, r);
	htab_free(&chat->nicks);
	htab_free(&chat->rooms);
}

void
chat_enter(struct chat *chat, struct user *u, struct evbuffer *out)
{
	memset(u, 0, sizeof *u);
	u->out = out;
	u->chat = chat;
	u->flags = USER_UNNAMED;
	chat_guest(chat, u);
}

void
chat_guest(struct chat *chat, struct user *u)
{
	/* Someone may have taken guest-N by /nick: skip numbers in use. */
	do {
		snprintf(u->nick, sizeof u->nick, "guest-%lu",
		    chat->next_guest++);
	} while (chat_find_user(chat, u->nick) != NULL);
	chat_name(chat, u, u->nick);
}

void
chat_unname(struct chat *chat, struct user *u)
{
	if (u->flags & USER_UNNAMED)
		return;
	htab_remove(&chat->nicks, &u->node);
	u->flags |= USER_UNNAMED;
}

int
chat_name(struct chat *chat, struct user *u, const char *nick)
{
	if (!(u->flags & USER_UNNAMED) || chat_find_user(chat, nick) != NULL)
		return -1;
	if (u->nick != nick)
		snprintf(u->nick, sizeof u->nick, "%s", nick);
	htab_insert(&chat->nicks, &u->node, u->nick);
	u->flags &= ~USER_UNNAMED;
	return 0;
}

void
chat_leave(struct chat *chat, struct user *u)
{
	if (u->ms != NULL)
		room_part(chat, u);
	chat_unname(chat, u);
}

struct user *
chat_find_user(struct chat *chat, const char *nick)
{
	struct htab_node	*n = htab_find(&chat->nicks, nick);

	return n == NULL ? NULL : HTAB_ENTRY(n, struct user, node);
}

enum chat_rename_result
chat_rename(struct chat *chat, struct user *u, const char *nick)
{
	struct user	*other = chat_find_user(chat, nick);

	if (other != NULL && other != u)
		return RENAME_TAKEN;
	if (strcmp(u->nick, nick) == 0)
		return RENAME_SAME;
	htab_remove(&chat->nicks, &u->node);
	strncpy(u->nick, nick, NAME_MAX_BYTES);
	u->nick[NAME_MAX_BYTES] = '\0';
	htab_insert(&chat->nicks, &u->node, u->nick);
	return RENAME_OK;
}

struct room *
chat_find_room(struct chat *chat, const char *name)
{
	struct htab_node	*n = htab_find(&chat->rooms, name);

	return n == NULL ? NULL : HTAB_ENTRY(n, struct room, node);
}

struct room *
room_join(struct chat *chat, struct user *u, const char *name)
{
	struct room		*r = chat_find_room(chat, name);
	struct membership	*m;

	if (r == NULL)
		r = room_new(chat, name);
	m = xmalloc(sizeof *m);
	m->room = r;
	m->user = u;
	m->seen = r->pend_len;	/* what was said before is not for it */
	TAILQ_INSERT_TAIL(&r->members, m, entry);
	r->nmembers++;
	u->ms = m;
	return r;
}

void
room_part(struct chat *chat, struct user *u)
{
	struct membership	*m = u->ms;
	struct room		*r = m->room;

	member_catch_up(m);	/* what was said before it left */
	TAILQ_REMOVE(&r->members, m, entry);
	r->nmembers--;
	free(m);
	u->ms = NULL;
	if (r->nmembers == 0 && chat->vacated != NULL)
		chat->vacated(chat, r);
	if (r->nmembers == 0 && r != chat->lobby)
		room_free(chat, r);
}

struct room *
room_of(const struct user *u)
{
	return u->ms == NULL ? NULL : u->ms->room;
}

size_t
chat_batch_max(const struct chat *chat)
{
	return chat->sendq != 0 && chat->sendq / 2 < ROOM_PEND_MAX ?
	    chat->sendq / 2 : ROOM_PEND_MAX;
}

void
room_broadcast(struct room *r, const struct user *except, const char *line,
    size_t len)
{
	struct chat		*chat = r->chat;
	struct membership	*em = NULL;
	size_t			 full;
	int			 first;

	if (len == 0)
		return;		/* nothing to say; an empty block is none */
	full = chat_batch_max(chat);
	first = r->pend_len == 0;
	if (except != NULL && except->ms != NULL && except->ms->room == r) {
		em = except->ms;
		member_catch_up(em);
	}
	if (r->pend_cap - r->pend_len < len) {
		/* Only the room refers to it until it is delivered. */
		while (r->pend_cap - r->pend_len < len)
			r->pend_cap = r->pend_cap == 0 ? 1024 : r->pend_cap * 2;
		r->pend = xreallocarray(r->pend, 1,
		    sizeof *r->pend + r->pend_cap);
		r->pend->refs = 1;
	}
	memcpy(r->pend->text + r->pend_len, line, len);
	r->pend_len += len;
	if (em != NULL)
		em->seen = r->pend_len;	/* the line is not for except */
	if (first)
		TAILQ_INSERT_TAIL(&chat->pend_rooms, r, pend_entry);
	if (chat->pending != NULL && (first || r->pend_len >= full))
		chat->pending(chat, r->pend_len >= full);
}

/* One holder of a delivered block lets go (an evbuffer cleanup). */
static void
room_lines_unref(const void *data, size_t len, void *arg)
{
	struct room_lines	*b = arg;

	(void)data;
	(void)len;
	if (--b->refs == 0)
		free(b);
}

/* Lend part of a delivered block to a queue, without a copy; 0 if not. */
static int
room_lines_lend(struct room_lines *b, struct evbuffer *out, size_t from,
    size_t part)
{
	b->refs++;
	if (evbuffer_add_reference(out, b->text + from, part,
	    room_lines_unref, b) == 0)
		return 1;
	b->refs--;
	return 0;
}

/*
 * Give every member what it has not had, and empty the room's lines.  A
 * member with nothing queued is written to straight away (the send hook)
 * and only what its connection did not take is queued.  A queue refers
 * to its part of the block, without a copy, if that is at least half of
 * it (so a queue never holds on to much more than it counts); a smaller
 * part is copied.  The room is emptied first, so the hooks called on the
 * way find it consistent: a member not reached yet has nothing more to
 * catch up.
 */
static void
room_deliver(struct room *r)
{
	struct membership	*m;
	struct room_lines	*b = r->pend;
	struct evbuffer		*out;
	size_t			 len = r->pend_len, from, part;

	TAILQ_REMOVE(&r->chat->pend_rooms, r, pend_entry);
	r->pend = NULL;		/* an idle room keeps nothing */
	r->pend_len = r->pend_cap = 0;
	TAILQ_FOREACH(m, &r->members, entry) {
		from = m->seen;
		m->seen = 0;
		if (from >= len || (m->user->flags & USER_MUTED))
			continue;
		if (r->chat->send != NULL && user_queue_len(m->user) == 0) {
			from += r->chat->send(m->user, b->text + from,
			    len - from);
			if (from == len)
				continue;
		}
		part = len - from;
		out = user_out(m->user);
		if (2 * part < len || !room_lines_lend(b, out, from, part))
			evbuffer_add(out, b->text + from, part);
		user_queued(m->user);
	}
	room_lines_unref(NULL, 0, b);	/* the room's own hold */
}

void
chat_deliver(struct chat *chat)
{
	struct room	*r;

	while ((r = TAILQ_FIRST(&chat->pend_rooms)) != NULL)
		room_deliver(r);
}

void
room_say(struct room *r, const struct user *except, const char *line,
    size_t len)
{
	history_add(&r->history, line, len);
	room_broadcast(r, except, line, len);
}

void
room_set_topic(struct room *r, const char *text, size_t len)
{
	free(r->topic);
	r->topic = xmemdup(text, len);
}

/* A slow consumer: hand it to the owner, who closes it later. */
static void
user_check_queue(struct user *u)
{
	struct chat	*chat = u->chat;

	if (chat->sendq != 0 && user_queue_len(u) > chat->sendq &&
	    chat->overflow != NULL)
		chat->overflow(u);
}

/* Lines were appended to u's queue: tell the owner, check the limit. */
static void
user_queued(struct user *u)
{
	if (u->chat->queued != NULL)
		u->chat->queued(u);
	user_check_queue(u);
}

/*
 * Before anything else reaches the member, the lines its room holds for
 * it, so it gets everything in the order it was said.
 */
static void
member_catch_up(struct membership *m)
{
	struct room	*r = m->room;
	struct user	*u = m->user;
	size_t		 from = m->seen;

	if (from >= r->pend_len)
		return;
	m->seen = r->pend_len;
	if (u->flags & USER_MUTED)
		return;
	evbuffer_add(user_out(u), r->pend->text + from, r->pend_len - from);
	user_queued(u);
}

void
user_mute(struct user *u)
{
	if (u->ms != NULL && !(u->flags & USER_MUTED))
		member_catch_up(u->ms);
	u->flags |= USER_MUTED;
}

void
user_send(struct user *u, const char *line, size_t len)
{
	if (u->flags & USER_MUTED)
		return;
	if (u->ms != NULL)
		member_catch_up(u->ms);
	evbuffer_add(user_out(u), line, len);
	user_queued(u);
}

void
user_vappend(struct user *u, const char *fmt, va_list ap)
{
	if (u->flags & USER_MUTED)
		return;
	if (u->ms != NULL)
		member_catch_up(u->ms);
	evbuffer_add_vprintf(user_out(u), fmt, ap);
	evbuffer_add(u->out, "\r\n", 2);
	if (u->chat->queued != NULL)
		u->chat->queued(u);
}

void
user_vprintf(struct user *u, const char *fmt, va_list ap)
{
	user_vappend(u, fmt, ap);
	if (!(u->flags & USER_MUTED))
		user_check_queue(u);
}

void
user_printf(struct user *u, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	user_vprintf(u, fmt, ap);
	va_end(ap);
}
