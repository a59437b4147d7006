/*
 * cmd: the command table and the dispatch that every line goes through.
 * A line starting with one '/' is a command; "//" escapes a chat line
 * that starts with '/'.  The arity of a command is checked here, from its
 * table entry, before its handler runs, so handlers never see missing or
 * extra words.  Names in arguments reach the handlers raw, so they can be
 * refused rather than repaired; free text goes through cmd_clean.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "cmd.h"
#include "line.h"
#include "name.h"
#include "xmalloc.h"

const struct cmd_entry cmd_table[] = {
	{ "help", NULL, 0, 0, 0, cmd_help,
	  "/help", "list the commands" },
	{ "nick", NULL, 1, 1, 0, cmd_nick,
	  "/nick NAME", "change your nick" },
	{ "join", NULL, 1, 1, 0, cmd_join,
	  "/join ROOM", "leave your room and enter ROOM (created on demand)" },
	{ "part", "leave", 0, 0, 0, cmd_part,
	  "/part", "go back to #lobby (also /leave)" },
	{ "rooms", "list", 0, 0, 0, cmd_rooms,
	  "/rooms", "list every room, its users and topic (also /list)" },
	{ "who", "names", 0, 1, 0, cmd_who,
	  "/who [ROOM]", "list the nicks in your room or ROOM (also /names)" },
	{ "msg", NULL, 2, 2, CMD_REST, cmd_msg,
	  "/msg NICK TEXT", "send a private message" },
	{ "me", NULL, 1, 1, CMD_REST, cmd_me,
	  "/me TEXT", "act in your room" },
	{ "topic", NULL, 0, 1, CMD_REST, cmd_topic,
	  "/topic [TEXT]", "show or set your room's topic" },
	{ "quit", NULL, 0, 1, CMD_REST, cmd_quit,
	  "/quit [REASON]", "leave the chat" },
};
const size_t cmd_table_len = sizeof cmd_table / sizeof cmd_table[0];

#define CMD_SHOWN_MAX	64	/* bytes of an unknown command echoed back */

/* A scratch buffer for cleaned text; one at a time is all we need. */
static char	*cmd_scratch;
static size_t	 cmd_scratch_size;

const char *
cmd_clean(const char *text, size_t *len)
{
	size_t	need = LINE_CLEAN_MAX(*len) + 1;

	if (need > cmd_scratch_size) {
		free(cmd_scratch);
		cmd_scratch = xmalloc(need);
		cmd_scratch_size = need;
	}
	*len = line_clean(text, *len, cmd_scratch);
	cmd_scratch[*len] = '\0';
	return cmd_scratch;
}

/* The buffer whole outgoing lines are composed in; separate from cleaning. */
static char	*cmd_line;
static size_t	 cmd_line_size;

char *
cmd_format(const char *fmt, size_t *len, ...)
{
	va_list	ap;
	int	n;

	for (;;) {
		va_start(ap, len);
		n = vsnprintf(cmd_line, cmd_line_size, fmt, ap);
		va_end(ap);
		if (n < 0)
			n = 0;
		if ((size_t)n < cmd_line_size)
			break;
		free(cmd_line);
		cmd_line_size = (size_t)n + 1;
		cmd_line = xmalloc(cmd_line_size);
	}
	*len = (size_t)n;
	return cmd_line;
}

void
cmd_free(void)
{
	free(cmd_scratch);
	free(cmd_line);
	cmd_scratch = cmd_line = NULL;
	cmd_scratch_size = cmd_line_size = 0;
}

const struct cmd_entry *
cmd_find(const char *name)
{
	size_t	i;

	for (i = 0; i < cmd_table_len; i++) {
		if (name_equal(cmd_table[i].name, name) ||
		    (cmd_table[i].alias != NULL &&
		    name_equal(cmd_table[i].alias, name)))
			return &cmd_table[i];
	}
	return NULL;
}

static int
cmd_is_space(char ch)
{
	return ch == ' ' || ch == '\t';
}

int
cmd_split(char *s, char **argv, int max, int rest)
{
	int	argc = 0;
	char	*end;

	for (;;) {
		while (cmd_is_space(*s))
			s++;
		if (*s == '\0')
			return argc;
		if (argc == max)
			return -1;
		argv[argc++] = s;
		if (rest && argc == max) {
			end = s + strlen(s);
			while (end > s && cmd_is_space(end[-1]))
				*--end = '\0';
			return argc;
		}
		while (*s != '\0' && !cmd_is_space(*s))
			s++;
		if (*s != '\0')
			*s++ = '\0';
	}
}

void
cmd_error(struct client *c, const char *fmt, ...)
{
	char	buf[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	client_printf(c, "-!- error: %s", buf);
}

void
cmd_usage(struct client *c, const struct cmd_entry *cmd)
{
	cmd_error(c, "usage: %s (see /help)", cmd->usage);
}

/* Is the line nothing but spaces and tabs? */
static int
cmd_blank(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if (!cmd_is_space(s[i]))
			return 0;
	return 1;
}

/* Run one command line (without its '/'). */
static void
cmd_run(struct client *c, char *line)
{
	struct cmd_args	 args;
	char		*name = line, *rest;
	const char	*shown;
	size_t		 len;

	rest = name + strcspn(name, " \t");
	if (*rest != '\0')
		*rest++ = '\0';
	if ((args.cmd = cmd_find(name)) == NULL) {
		len = strlen(name);
		shown = cmd_clean(name, &len);
		if (len > CMD_SHOWN_MAX) {	/* cut between characters */
			len = CMD_SHOWN_MAX;
			while (len > 0 &&
			    ((unsigned char)shown[len] & 0xc0) == 0x80)
				len--;
		}
		cmd_error(c, "unknown command /%.*s (see /help)", (int)len,
		    shown);
		return;
	}
	args.argc = cmd_split(rest, args.argv, args.cmd->max_args,
	    args.cmd->flags & CMD_REST);
	if (args.argc < args.cmd->min_args) {
		cmd_usage(c, args.cmd);
		return;
	}
	args.cmd->exec(c, &args);
}

void
cmd_dispatch(struct client *c, char *line, size_t len)
{
	char	*nul;

	/*
	 * The rest of the code reads lines as C strings: turn each NUL into
	 * DEL, another control, so it is stripped from text and makes a name
	 * invalid without cutting the line short.
	 */
	while ((nul = memchr(line, '\0', len)) != NULL)
		*nul = 0x7f;
	if (cmd_blank(line, len))
		return;		/* empty lines are ignored */
	if (line[0] == '/' && line[1] != '/') {
		cmd_run(c, line + 1);
		return;
	}
	if (line[0] == '/') {	/* "//text" says "/text" */
		line++;
		len--;
	}
	cmd_say(c, line, len);
}
