/*
 * cluster: several evchatd nodes as one chat, through Redis (--redis).
 * Built only with hiredis (configure --with-redis); without it nothing
 * includes this file but main, which refuses --redis.
 */
#ifndef EVCHAT_CLUSTER_H
#define EVCHAT_CLUSTER_H

#include <stddef.h>

struct chat;
struct client;
struct client_pool;
struct event_base;
struct room;
struct user;

/* What a reply to a client's request says; NULL: the link is down. */
struct cluster_result {
	long long	  n;		/* a count, a number or a status */
	const char	 *name;		/* a nick or a room's name */
	const char	 *topic;	/* a topic, "" for none */
	size_t		  nitems;	/* nicks, history lines or rooms */
	const char	**items;	/* rooms: name, count, topic triples */
	size_t		 *lens;
	const char	 *text;		/* /msg: the line that was sent */
	size_t		  text_len;
	unsigned long long seq;		/* a join's place in the order */
};

/*
 * Called with the client's reply and what it asked about (the nick, the
 * room); the client's input resumes after, unless it asked again.
 */
typedef void cluster_done_fn(struct client *, const struct cluster_result *,
    const char *asked);

/*
 * Connect to Redis at addr (HOST:PORT, [V6]:PORT or a socket path) and
 * keep connecting; ttl is --redis-ttl.  Returns NULL after printing why
 * if addr is malformed.
 */
struct cluster	*cluster_new(struct event_base *, struct client_pool *,
		    const char *addr, int ttl);
/* Close the links (pending replies are dropped) and free everything. */
void		 cluster_free(struct cluster *);
/* Release every local nick and leave: one last round trip, bounded. */
void		 cluster_finish(struct cluster *, void (*done)(void *),
		    void *arg);
/* Is the link up and synchronised, so requests go to Redis? */
int		 cluster_up(const struct cluster *);
/* Was the link lost (clients were told), not merely never up yet? */
int		 cluster_down(const struct cluster *);
/* The pool's forget hook: the client is being freed. */
void		 cluster_forget(struct client *);

/*
 * Requests that answer a client: each pauses the client's input, and
 * done runs with the reply (or NULL when the link goes down first).
 */
void	cluster_claim_guest(struct cluster *, struct client *,
	    cluster_done_fn *);
void	cluster_claim_nick(struct cluster *, struct client *,
	    const char *nick, cluster_done_fn *);
void	cluster_join(struct cluster *, struct client *, const char *room,
	    cluster_done_fn *);
void	cluster_who(struct cluster *, struct client *, const char *room,
	    cluster_done_fn *);
void	cluster_rooms(struct cluster *, struct client *, cluster_done_fn *);
void	cluster_msg(struct cluster *, struct client *, const char *nick,
	    const char *line, size_t len, cluster_done_fn *);
/*
 * Set the topic of the client's room everywhere; once Redis has it (or
 * the link is gone) the cluster sets it here and sends line to this
 * node's members, setter included.  done may be NULL.
 */
void	cluster_topic(struct cluster *, struct client *, const char *topic,
	    const char *line, size_t len, cluster_done_fn *);

/* What a published line is, for the nodes that receive it. */
enum cluster_kind {
	CLUSTER_NOTICE = 'N',	/* departures, nick changes */
	CLUSTER_SAY = 'S',	/* chat and actions: kept in history */
	CLUSTER_TOPIC = 'T',	/* a topic change */
	CLUSTER_JOIN = 'J'	/* a join's notice, from the join script */
};

/* Set r's topic from the cluster if it is newer than the one it has. */
void	cluster_set_topic(struct room *, unsigned long long seq,
	    const char *topic, size_t len);
/* Fire and forget: tell the other nodes; dropped while the link is down. */
void	cluster_publish(struct cluster *, const struct room *,
	    enum cluster_kind, const char *line, size_t len);
/* The user left room (which may be gone locally already). */
void	cluster_part(struct cluster *, const struct user *, const char *room);
/* Give back a nick this node holds in Redis but does not use. */
void	cluster_release(struct cluster *, const char *nick);
/* The user left the chat: free its nick and its place in its room. */
void	cluster_leave(struct cluster *, const struct user *);

#endif
