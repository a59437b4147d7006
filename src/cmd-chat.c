/*
 * cmd-chat: saying things — chat lines, /me actions and /msg.  Text is
 * repaired and stripped of controls before anyone sees it; lines are
 * formatted once and appended to every recipient.  Chat and actions go
 * into the room's history exactly as delivered; private messages do not.
 */
#include "config.h"

#include <string.h>

#include "client.h"
#include "cmd.h"
#include "log.h"
#include "name.h"
#include "room.h"

/* Is the cleaned text empty or only spaces and tabs? */
static int
cmd_chat_empty(const char *s, size_t len)
{
	return strspn(s, " \t") >= len;
}

void
cmd_say(struct client *c, const char *text, size_t len)
{
	const char	*clean = cmd_clean(text, &len);
	char		*line;

	if (cmd_chat_empty(clean, len))
		return;
	log_debug("client %lu <%s> %s", c->id, c->user.nick, clean);
	line = cmd_format("<%s> %s\r\n", &len, c->user.nick, clean);
	room_say(room_of(&c->user), &c->user, line, len);
	if (CMD_CLUSTER(c))
		cmd_cluster_publish(c, room_of(&c->user), 1, line, len);
}

void
cmd_me(struct client *c, struct cmd_args *args)
{
	size_t		 len = strlen(args->argv[0]);
	const char	*clean = cmd_clean(args->argv[0], &len);
	char		*line;

	if (cmd_chat_empty(clean, len)) {
		cmd_usage(c, args->cmd);
		return;
	}
	line = cmd_format("* %s %s\r\n", &len, c->user.nick, clean);
	room_say(room_of(&c->user), &c->user, line, len);
	if (CMD_CLUSTER(c))
		cmd_cluster_publish(c, room_of(&c->user), 1, line, len);
}

void
cmd_msg(struct client *c, struct cmd_args *args)
{
	struct user	*to = chat_find_user(c->pool->chat, args->argv[0]);
	size_t		 len = strlen(args->argv[1]);
	const char	*clean = cmd_clean(args->argv[1], &len);
	char		*line;
	enum name_result why;

	if (cmd_chat_empty(clean, len)) {
		cmd_usage(c, args->cmd);
		return;
	}
	if ((why = name_check(args->argv[0], strlen(args->argv[0]))) !=
	    NAME_OK) {
		cmd_error(c, "invalid nick: %s (see /help)", name_why(why));
		return;
	}
	line = cmd_format("*%s* %s\r\n", &len, c->user.nick, clean);
	if (to == NULL && CMD_CLUSTER(c)) {
		cmd_cluster_msg(c, args->argv[0], line, len);	/* elsewhere? */
		return;
	}
	if (to == NULL || (to->flags & USER_MUTED)) {
		cmd_error(c, "no such nick: %s (see /help)", args->argv[0]);
		return;
	}
	user_send(to, line, len);
	client_printf(c, "-> *%s* %s", to->nick, clean);
}
