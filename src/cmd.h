/*
 * cmd: what a line from a client means.  Chat, or a command from the one
 * dispatch table; handlers live in cmd-*.c by family.
 */
#ifndef EVCHAT_CMD_H
#define EVCHAT_CMD_H

#include <stddef.h>

struct client;
struct cmd_entry;

#define CMD_ARGS_MAX	4

/* A command line split into words (in place, in the client's line). */
struct cmd_args {
	const struct cmd_entry	*cmd;
	int			 argc;
	char			*argv[CMD_ARGS_MAX];
};

/* One command: one table entry plus one small handler. */
struct cmd_entry {
	const char	*name;		/* without '/' */
	const char	*alias;		/* another name, or NULL */
	int		 min_args;
	int		 max_args;
	int		 flags;
#define CMD_REST	0x1	/* the last argument is the rest of the line */
	void		(*exec)(struct client *, struct cmd_args *);
	const char	*usage;		/* "/msg NICK TEXT" */
	const char	*help;		/* one line for /help */
};

extern const struct cmd_entry	cmd_table[];
extern const size_t		cmd_table_len;

/* The pool's dispatch hook: handle one complete line from a client. */
void	cmd_dispatch(struct client *, char *line, size_t len);
/* Greet a new client and put it in #lobby. */
void	cmd_welcome(struct client *);
/* The pool's depart hook: tell the room, leave the chat. */
void	cmd_depart(struct client *);

/* The entry named name or aliased so (ASCII case ignored), or NULL. */
const struct cmd_entry *cmd_find(const char *name);
/*
 * Split s into at most max words at spaces and tabs, the last taking the
 * rest of the line when rest is set.  Returns the count, or -1 if there
 * are more words than max.
 */
int	cmd_split(char *s, char **argv, int max, int rest);
/* Repair and strip user text; the result lives until the next call. */
const char *cmd_clean(const char *text, size_t *len);

/* Format a whole line; the result lives until the next call. */
char	*cmd_format(const char *, size_t *len, ...)
	    __attribute__((format(printf, 1, 3)));
/* Free the module's scratch buffers (at exit, for leak checkers). */
void	cmd_free(void);

/* Replies shared by the handlers. */
void	cmd_error(struct client *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	cmd_usage(struct client *, const struct cmd_entry *);
/* Leave the current room (if any) and enter the room called name. */
void	cmd_enter_room(struct client *, const char *name);

/* Shared by the local and the cluster paths (cmd-session, cmd-room). */
struct room;
/* The greeting after the nick is settled: MOTD, then #lobby. */
void	cmd_greet(struct client *);
/* Take a nick nobody here holds, or say why not, and announce it. */
void	cmd_rename(struct client *, const char *nick);
/* Announce a rename to the user and its room. */
void	cmd_renamed(struct client *, const char *old);
/*
 * The arrival in r: "you joined" with n users, the topic (topic, or r's
 * own when NULL; "" for none), the history (lines, or r's own when lines
 * is NULL), then the room's notice.
 */
void	cmd_arrive(struct client *, struct room *, size_t n,
	    const char *topic, const char *const *lines, const size_t *lens,
	    size_t nlines);
/* One /who answer: the nicks of a room, wrapped. */
void	cmd_who_list(struct client *, const char *room, size_t n,
	    const char *const *nicks);
/* Set the topic of the client's room here and tell its members. */
void	cmd_set_topic(struct client *, const char *topic, const char *line,
	    size_t len);
/* /who ROOM and /rooms as this node knows them. */
void	cmd_who_local(struct client *, const char *room);
void	cmd_rooms_local(struct client *);
/* One /rooms line. */
void	cmd_rooms_line(struct client *, const char *room, size_t n,
	    const char *topic);

/*
 * Cluster mode (--redis): CMD_CLUSTER(c) is true while the link is up;
 * then the cmd_cluster_* functions (cmd-cluster.c) take over.  Without
 * hiredis it is the constant 0 and they are not built.
 */
#ifdef HAVE_HIREDIS
#include "cluster.h"
#define CMD_CLUSTER(c)	cluster_up((c)->pool->cluster)
#else
#define CMD_CLUSTER(c)	0
#endif
void	cmd_cluster_welcome(struct client *);
void	cmd_cluster_join(struct client *, const char *room);
void	cmd_cluster_nick(struct client *, const char *nick);
void	cmd_cluster_who(struct client *, const char *room);
void	cmd_cluster_rooms(struct client *);
void	cmd_cluster_msg(struct client *, const char *nick, const char *line,
	    size_t len);
/* Fire and forget: a line for the room's members on other nodes. */
void	cmd_cluster_publish(struct client *, struct room *, int say,
	    const char *line, size_t len);
void	cmd_cluster_topic(struct client *, const char *topic,
	    const char *line, size_t len);
void	cmd_cluster_part(struct client *, const char *room);
void	cmd_cluster_leave(struct client *);

/* cmd-session.c */
void	cmd_help(struct client *, struct cmd_args *);
void	cmd_nick(struct client *, struct cmd_args *);
void	cmd_quit(struct client *, struct cmd_args *);
/* cmd-room.c */
void	cmd_join(struct client *, struct cmd_args *);
void	cmd_part(struct client *, struct cmd_args *);
void	cmd_rooms(struct client *, struct cmd_args *);
void	cmd_who(struct client *, struct cmd_args *);
void	cmd_topic(struct client *, struct cmd_args *);
/* cmd-chat.c */
void	cmd_say(struct client *, const char *, size_t);
void	cmd_msg(struct client *, struct cmd_args *);
void	cmd_me(struct client *, struct cmd_args *);

#endif
