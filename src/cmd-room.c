/*
 * cmd-room: moving between rooms and looking at them — /join, /part,
 * /rooms, /who and /topic, and the arrival sequence every join shares
 * (your own notice, the topic, the history, then the room's notice).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "client.h"
#include "cmd.h"
#include "history.h"
#include "name.h"
#include "room.h"

#define CMD_WHO_WIDTH	400	/* bytes of nicks per /who line */

/* "1 user" or "N users". */
static const char *
cmd_users(size_t n)
{
	return n == 1 ? "user" : "users";
}

/* Send the room's recent lines between two notices, if there are any. */
static void
cmd_send_history(struct client *c, struct room *r)
{
	size_t	i, n = r->history.count;

	if (n == 0)
		return;
	client_printf(c, "-!- last %zu message%s in #%s:", n,
	    n == 1 ? "" : "s", r->name);
	for (i = 0; i < n; i++) {
		const struct history_line *l = history_get(&r->history, i);

		user_send(&c->user, l->text, l->len);
	}
	client_printf(c, "-!- end of history");
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
		room_part(chat, u);
	}
	r = room_join(chat, u, name);
	client_printf(c, "-!- you joined #%s (%zu %s)", r->name, r->nmembers,
	    cmd_users(r->nmembers));
	if (r->topic != NULL)
		client_printf(c, "-!- topic for #%s: %s", r->name, r->topic);
	cmd_send_history(c, r);
	len = snprintf(line, sizeof line, "-!- %s joined #%s\r\n", u->nick,
	    r->name);
	room_broadcast(r, u, line, (size_t)len);
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
cmd_rooms(struct client *c, struct cmd_args *args)
{
	struct chat	*chat = c->pool->chat;
	struct room	*r;

	(void)args;
	client_printf(c, "-!- %zu room%s:", chat->nrooms,
	    chat->nrooms == 1 ? "" : "s");
	TAILQ_FOREACH(r, &chat->room_list, entry) {
		if (r->topic != NULL)
			client_printf(c, "-!- #%s (%zu %s): %s", r->name,
			    r->nmembers, cmd_users(r->nmembers), r->topic);
		else
			client_printf(c, "-!- #%s (%zu %s)", r->name,
			    r->nmembers, cmd_users(r->nmembers));
	}
}

void
cmd_who(struct client *c, struct cmd_args *args)
{
	struct room		*r = room_of(&c->user);
	struct membership	*m;
	const char		*name;
	char			 buf[CMD_WHO_WIDTH + NAME_MAX_BYTES + 2];
	size_t			 len = 0;

	if (args->argc == 1) {
		if ((name = cmd_room_name(c, args->argv[0])) == NULL)
			return;
		if ((r = chat_find_room(c->pool->chat, name)) == NULL) {
			cmd_error(c, "no such room: #%s (see /help)", name);
			return;
		}
	}
	TAILQ_FOREACH(m, &r->members, entry) {
		len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s",
		    len == 0 ? "" : " ", m->user->nick);
		if (len >= CMD_WHO_WIDTH || TAILQ_NEXT(m, entry) == NULL) {
			client_printf(c, "-!- #%s (%zu %s): %s", r->name,
			    r->nmembers, cmd_users(r->nmembers), buf);
			len = 0;
		}
	}
	if (r->nmembers == 0)
		client_printf(c, "-!- #%s (0 users)", r->name);
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
	room_set_topic(r, text, len);
	line = cmd_format("-!- %s set the topic: %s\r\n", &len,
	    c->user.nick, r->topic);
	room_broadcast(r, NULL, line, len);
}
