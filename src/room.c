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

/* Make a room and index it. */
static struct room *
room_new(struct chat *chat, const char *name)
{
	struct room	*r = xcalloc(1, sizeof *r);

	strncpy(r->name, name, NAME_MAX_BYTES);
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
	chat->nrooms--;
	history_free(&r->history);
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

void
room_broadcast(struct room *r, const struct user *except, const char *line,
    size_t len)
{
	struct membership	*m;

	TAILQ_FOREACH(m, &r->members, entry) {
		if (m->user != except)
			user_send(m->user, line, len);
	}
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

	if (chat->sendq != 0 && evbuffer_get_length(u->out) > chat->sendq &&
	    chat->overflow != NULL)
		chat->overflow(u);
}

void
user_send(struct user *u, const char *line, size_t len)
{
	if (u->flags & USER_MUTED)
		return;
	evbuffer_add(u->out, line, len);
	if (u->chat->queued != NULL)
		u->chat->queued(u);
	user_check_queue(u);
}

void
user_vappend(struct user *u, const char *fmt, va_list ap)
{
	if (u->flags & USER_MUTED)
		return;
	evbuffer_add_vprintf(u->out, fmt, ap);
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
