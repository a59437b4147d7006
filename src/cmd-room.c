/*
 * cmd-room: moving between rooms and looking at them — /join, /part,
 * /rooms, /who and /topic, and the arrival sequence every join shares
 * (your own notice, the topic, the history, then the room's notice).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "cmd.h"
#include "history.h"
#include "name.h"
#include "room.h"
#include "xmalloc.h"

#define CMD_WHO_WIDTH	400	/* bytes of nicks per /who line */

/* "1 user" or "N users". */
static const char *
cmd_users(size_t n)
{
	return n == 1 ? "user" : "users";
}

/* Send recent lines between two notices, if there are any. */
static void
cmd_send_history(struct client *c, struct room *r, const char *const *lines,
    const size_t *lens, size_t n)
{
	size_t	i;

	if (lines == NULL)
		n = r->history.count;
	if (n == 0)
		return;
	client_printf(c, "-!- last %zu message%s in #%s:", n,
	    n == 1 ? "" : "s", r->name);
	for (i = 0; i < n; i++) {
		if (lines != NULL) {
			user_send(&c->user, lines[i], lens[i]);
			continue;
		}
		const struct history_line *l = history_get(&r->history, i);

		user_send(&c->user, l->text, l->len);
	}
	client_printf(c, "-!- end of history");
}

void
cmd_arrive(struct client *c, struct room *r, size_t n, const char *topic,
    const char *const *lines, const size_t *lens, size_t nlines)
{
	struct user	*u = &c->user;
	char		 line[NAME_MAX_BYTES * 2 + 32];
	int		 len;

	client_printf(c, "-!- you joined #%s (%zu %s)", r->name, n,
	    cmd_users(n));
	if (topic == NULL)
		topic = r->topic;
	if (topic != NULL && topic[0] != '\0')
		client_printf(c, "-!- topic for #%s: %s", r->name, topic);
	cmd_send_history(c, r, lines, lens, nlines);
	/* In cluster mode the join itself told the other nodes. */
	len = snprintf(line, sizeof line, "-!- %s joined #%s\r\n", u->nick,
	    r->name);
	room_broadcast(r, u, line, (size_t)len);
}

void
cmd_enter_room(struct client *c, const char *name)
{
	struct user	*u = &c->user;
	struct chat	*chat = c->pool->chat;
	struct room	*r = room_of(u);
	char		 line[NAME_MAX_BYTES * 2 + 32];
	int		 len;

	if (r != NULL) {
		len = snprintf(line, sizeof line, "-!- %s left #%s\r\n",
		    u->nick, r->name);
		room_broadcast(r, u, line, (size_t)len);
		if (CMD_CLUSTER(c)) {
			cmd_cluster_publish(c, r, 0, line, (size_t)len);
			cmd_cluster_part(c, r->name);
		}
		room_part(chat, u);
	}
	if (CMD_CLUSTER(c)) {
		cmd_cluster_join(c, name);	/* counts on every node */
		return;
	}
	r = room_join(chat, u, name);
	cmd_arrive(c, r, r->nmembers, NULL, NULL, NULL, 0);
}

/*
 * Check a room name as typed: an optional '#', then a valid name.  Returns
 * the name without '#', or NULL after telling the client why not.
 */
static const char *
cmd_room_name(struct client *c, const char *arg)
{
	enum name_result	why;

	if (arg[0] == '#')
		arg++;
	if ((why = name_check(arg, strlen(arg))) != NAME_OK) {
		cmd_error(c, "invalid room name: %s (see /help)",
		    name_why(why));
		return NULL;
	}
	return arg;
}

void
cmd_join(struct client *c, struct cmd_args *args)
{
	const char	*name = cmd_room_name(c, args->argv[0]);
	struct room	*r = room_of(&c->user);

	if (name == NULL)
		return;
	if (name_equal(r->name, name)) {
		cmd_error(c, "you are already in #%s", r->name);
		return;
	}
	cmd_enter_room(c, name);
}

void
cmd_part(struct client *c, struct cmd_args *args)
{
	struct room	*r = room_of(&c->user);

	(void)args;
	if (r == c->pool->chat->lobby) {
		cmd_error(c, "you are already in #%s", r->name);
		return;
	}
	cmd_enter_room(c, ROOM_LOBBY);
}

void
cmd_rooms_line(struct client *c, const char *room, size_t n,
    const char *topic)
{
	if (topic != NULL && topic[0] != '\0')
		client_printf(c, "-!- #%s (%zu %s): %s", room, n, cmd_users(n),
		    topic);
	else
		client_printf(c, "-!- #%s (%zu %s)", room, n, cmd_users(n));
}

void
cmd_rooms(struct client *c, struct cmd_args *args)
{
	(void)args;
	if (CMD_CLUSTER(c)) {
		cmd_cluster_rooms(c);
		return;
	}
	cmd_rooms_local(c);
}

void
cmd_rooms_local(struct client *c)
{
	struct chat	*chat = c->pool->chat;
	struct room	*r;

	client_printf(c, "-!- %zu room%s:", chat->nrooms,
	    chat->nrooms == 1 ? "" : "s");
	TAILQ_FOREACH(r, &chat->room_list, entry)
		cmd_rooms_line(c, r->name, r->nmembers, r->topic);
}

void
cmd_who_list(struct client *c, const char *room, size_t n,
    const char *const *nicks)
{
	char	buf[CMD_WHO_WIDTH + NAME_MAX_BYTES + 2];
	size_t	len = 0, i;

	for (i = 0; i < n; i++) {
		len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s",
		    len == 0 ? "" : " ", nicks[i]);
		if (len >= CMD_WHO_WIDTH || i + 1 == n) {
			client_printf(c, "-!- #%s (%zu %s): %s", room, n,
			    cmd_users(n), buf);
			len = 0;
		}
	}
	if (n == 0)
		client_printf(c, "-!- #%s (0 users)", room);
}

void
cmd_who(struct client *c, struct cmd_args *args)
{
	const char	*name = room_of(&c->user)->name;

	if (args->argc == 1 &&
	    (name = cmd_room_name(c, args->argv[0])) == NULL)
		return;
	if (CMD_CLUSTER(c))
		cmd_cluster_who(c, name);
	else
		cmd_who_local(c, name);
}

void
cmd_who_local(struct client *c, const char *name)
{
	struct room		*r = chat_find_room(c->pool->chat, name);
	struct membership	*m;
	const char		**nicks;
	size_t			 i = 0;

	if (r == NULL) {
		cmd_error(c, "no such room: #%s (see /help)", name);
		return;
	}
	nicks = xcalloc(r->nmembers + 1, sizeof *nicks);
	TAILQ_FOREACH(m, &r->members, entry)
		nicks[i++] = m->user->nick;
	cmd_who_list(c, r->name, r->nmembers, nicks);
	free(nicks);
}

void
cmd_topic(struct client *c, struct cmd_args *args)
{
	struct room	*r = room_of(&c->user);
	const char	*text;
	size_t		 len;
	char		*line;

	if (args->argc == 0) {
		if (r->topic == NULL)
			client_printf(c, "-!- no topic set for #%s", r->name);
		else
			client_printf(c, "-!- topic for #%s: %s", r->name,
			    r->topic);
		return;
	}
	len = strlen(args->argv[0]);
	text = cmd_clean(args->argv[0], &len);
	if (len == 0) {
		cmd_usage(c, args->cmd);
		return;
	}
	text = xmemdup(text, len);	/* cmd_format reuses the buffers */
	line = cmd_format("-!- %s set the topic: %s\r\n", &len,
	    c->user.nick, text);
	if (CMD_CLUSTER(c))	/* answered once Redis has it */
		cmd_cluster_topic(c, text, line, len);
	else
		cmd_set_topic(c, text, line, len);
	free((void *)(uintptr_t)text);
}

void
cmd_set_topic(struct client *c, const char *text, const char *line,
    size_t len)
{
	struct room	*r = room_of(&c->user);

	room_set_topic(r, text, strlen(text));
	room_broadcast(r, NULL, line, len);
}
