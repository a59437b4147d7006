/*
 * cmd-session: a client's life in the chat as a whole — the welcome, the
 * help, its nick, and its departure, polite (/quit) or not.
 */
#include "config.h"

#include <event2/buffer.h>

#include <stdio.h>
#include <string.h>

#include "client.h"
#include "cmd.h"
#include "name.h"
#include "room.h"

#define CMD_REASON_MAX	200	/* bytes of a /quit reason shown to others */

void
cmd_welcome(struct client *c)
{
	if (CMD_CLUSTER(c)) {
		cmd_cluster_welcome(c);	/* a guest number nobody holds */
		return;
	}
	cmd_greet(c);
}

void
cmd_greet(struct client *c)
{
	client_printf(c, "-!- welcome to evchat, %s! type /help for the "
	    "commands", c->user.nick);
	if (c->pool->motd != NULL)
		user_send(&c->user, c->pool->motd, c->pool->motd_len);
#ifdef HAVE_HIREDIS
	if (cluster_down(c->pool->cluster))
		client_printf(c, "-!- cluster link down: only people on this "
		    "server can hear you; reconnecting");
#endif
	cmd_enter_room(c, ROOM_LOBBY);
}

void
cmd_depart(struct client *c)
{
	struct room	*r = room_of(&c->user);
	char		 line[NAME_MAX_BYTES + CMD_REASON_MAX * 3 + 32];
	int		 len;

	if (r != NULL) {
		len = snprintf(line, sizeof line, "-!- %s quit (%s)\r\n",
		    c->user.nick, c->reason);
		if (len >= (int)sizeof line)
			len = (int)sizeof line - 1;
		room_broadcast(r, &c->user, line, (size_t)len);
		if (CMD_CLUSTER(c))
			cmd_cluster_publish(c, r, 0, line, (size_t)len);
	}
	if (CMD_CLUSTER(c))
		cmd_cluster_leave(c);
	chat_leave(c->pool->chat, &c->user);
}

void
cmd_help(struct client *c, struct cmd_args *args)
{
	size_t	i;

	(void)args;
	client_printf(c, "-!- commands (a line starting with // says a line "
	    "starting with /):");
	for (i = 0; i < cmd_table_len; i++)
		client_printf(c, "-!- %-16s %s", cmd_table[i].usage,
		    cmd_table[i].help);
}

void
cmd_nick(struct client *c, struct cmd_args *args)
{
	struct user		*u = &c->user;
	const char		*nick = args->argv[0];
	struct user		*other;
	enum name_result	 why;

	if ((why = name_check(nick, strlen(nick))) != NAME_OK) {
		cmd_error(c, "invalid nick: %s (see /help)", name_why(why));
		return;
	}
	other = chat_find_user(c->pool->chat, nick);
	if (CMD_CLUSTER(c) && (other == NULL || other == u) &&
	    strcmp(u->nick, nick) != 0) {
		cmd_cluster_nick(c, nick);	/* held on another node? */
		return;
	}
	cmd_rename(c, nick);
}

void
cmd_rename(struct client *c, const char *nick)
{
	struct user	*u = &c->user;
	char		 old[NAME_MAX_BYTES + 1];

	memcpy(old, u->nick, sizeof old);
	switch (chat_rename(c->pool->chat, u, nick)) {
	case RENAME_TAKEN:
		cmd_error(c, "nick %s is already in use", nick);
		return;
	case RENAME_SAME:
		cmd_error(c, "you are already known as %s", nick);
		return;
	case RENAME_OK:
		break;
	}
	cmd_renamed(c, old);
}

void
cmd_renamed(struct client *c, const char *old)
{
	struct user	*u = &c->user;
	char		 line[NAME_MAX_BYTES * 2 + 40];
	int		 len;

	client_printf(c, "-!- you are now known as %s", u->nick);
	len = snprintf(line, sizeof line, "-!- %s is now known as %s\r\n",
	    old, u->nick);
	room_broadcast(room_of(u), u, line, (size_t)len);
	if (CMD_CLUSTER(c))
		cmd_cluster_publish(c, room_of(u), 0, line, (size_t)len);
}

void
cmd_quit(struct client *c, struct cmd_args *args)
{
	const char	*reason = "leaving";
	size_t		 len;

	if (args->argc == 1) {
		len = strlen(args->argv[0]);
		if (len > CMD_REASON_MAX) {
			len = CMD_REASON_MAX;
			/* Cut at a character, not inside one. */
			while (len > 0 &&
			    ((unsigned char)args->argv[0][len] & 0xc0) == 0x80)
				len--;
		}
		reason = cmd_clean(args->argv[0], &len);
		if (len == 0)
			reason = "leaving";
	}
	client_printf_last(c, "-!- goodbye, %s", c->user.nick);
	client_close(c, CLIENT_GRACEFUL, reason);
}
