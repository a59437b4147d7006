/*
 * cluster-int: what cluster.c (the link) and cluster-req.c (the requests)
 * share.  Nothing else includes it.
 */
#ifndef EVCHAT_CLUSTER_INT_H
#define EVCHAT_CLUSTER_INT_H

#include <sys/queue.h>

#include <stddef.h>

#include <hiredis/async.h>

#include "cluster.h"
#include "htab.h"
#include "name.h"

struct event;
struct event_base;

/*
 * A join's answer, kept until the barrier after it comes back on the
 * subscribe link: by then every line published before the answer has
 * arrived, and is in the history or in the stash.
 */
struct cluster_held {
	char			*name;
	char			*topic;
	long long		 n;
	size_t			 nlines;
	const char		**lines;	/* each owned */
	size_t			*lens;
	unsigned long long	 seq;		/* the join's place in order */
};

/* What a client waits for; owned by the cluster until its reply. */
struct cluster_req {
	struct cluster		*cl;
	struct client		*c;	/* NULL once the client is gone */
	cluster_done_fn		*done;
	int			 op;	/* what to undo if c is gone */
#define CLUSTER_OP_GUEST	1
#define CLUSTER_OP_NICK		2
#define CLUSTER_OP_JOIN		3
#define CLUSTER_OP_TOPIC	4	/* applied here whatever the client */
#define CLUSTER_OP_WHO		5	/* the queries: nothing to undo */
#define CLUSTER_OP_ROOMS	6
#define CLUSTER_OP_MSG		7
	int			 queued;	/* on a subscription's waiters */
	char			 room[NAME_MAX_BYTES + 1];	/* lower */
	char			 nick[NAME_MAX_BYTES + 1];	/* as sent */
	char			 asked[NAME_MAX_BYTES + 1];	/* as typed */
	char			*text;		/* /msg's or /topic's line; owned */
	size_t			 text_len;
	char			*topic;		/* /topic's text; owned */
	struct cluster_held	*held;		/* a join's answer; owned */
	unsigned long		 barrier;	/* the barrier it awaits */
	struct cluster_sub	*sub;		/* a sent join: its room's */
	size_t			 stash_bytes;
	int			 overflow;	/* the stash was full: say so */
	unsigned long		 upto;		/* /topic: barriers sent before */
	struct evbuffer		*stash[2];	/* lines said meanwhile, as they
						   came back, then our own said
						   after the answer; owned */
	TAILQ_ENTRY(cluster_req) jentry;	/* in sub->joining when sent */
	TAILQ_ENTRY(cluster_req) entry;		/* in a sub's waiters */
	TAILQ_ENTRY(cluster_req) wentry;	/* in cluster.waiting */
};

/* A room channel this node is subscribed to, or on its way there. */
struct cluster_sub {
	char			 name[NAME_MAX_BYTES + 1];	/* lower */
	struct htab_node	 node;		/* in cluster.subs */
	TAILQ_ENTRY(cluster_sub) entry;		/* in cluster.sub_list */
	int			 state;
#define CLUSTER_SUBSCRIBING	1
#define CLUSTER_SUBSCRIBED	2
#define CLUSTER_UNSUBSCRIBING	3
	int			 pending;	/* joins not answered yet */
	unsigned		 since;		/* the tick of the last change */
	TAILQ_HEAD(, cluster_req) waiters;	/* joins awaiting SUBSCRIBED */
	TAILQ_HEAD(, cluster_req) joining;	/* joins sent, not answered */
};

struct cluster {
	struct event_base	*base;
	struct client_pool	*pool;
	struct chat		*chat;
	char			*addr;		/* --redis as given */
	char			*host;		/* or path */
	int			 port;
	char			*path;
	int			 ttl;		/* --redis-ttl */
	char			 base_id[96];	/* host-pid-tag */
	char			 id[112];	/* base_id.incarnation */
	unsigned		 incarnation;
	unsigned		 clean_from;	/* incarnations not known gone */
	redisAsyncContext	*cmd;		/* commands and scripts */
	redisAsyncContext	*sub;		/* subscribe mode */
	int			 nconnected;	/* of cmd and sub */
	int			 state;
#define CLUSTER_CONNECTING	0
#define CLUSTER_SYNCING		1
#define CLUSTER_UP		2
#define CLUSTER_DOWN		3	/* waiting to reconnect */
#define CLUSTER_CLOSED		4	/* shutting down */
	int			 told_down;	/* clients heard the link is down */
	unsigned		 backoff_ms;
	struct event		*retry_ev;
	struct event		*kick_ev;	/* a request could not be sent */
	struct event		*tick_ev;	/* refresh, and its deadline */
	int			 refresh_out;	/* a refresh awaits its reply */
	int			 heartbeat_out;	/* a heartbeat is on its way */
	int			 slow_ticks;	/* ticks spent connecting */
	unsigned long		 barrier_seq;	/* the last barrier sent */
	unsigned		 ticks;		/* ticks while up */
	struct user		**sync_users;	/* SYNC's users, by index */
	size_t			 sync_nusers;
	struct htab		 subs;		/* cluster_sub by lower name */
	TAILQ_HEAD(, cluster_sub) sub_list;
	TAILQ_HEAD(, cluster_req) waiting;	/* queued on subscriptions */
	void			(*finish_done)(void *);
	void			*finish_arg;
	struct event		*finish_ev;
};

/* The link went down (or never came up): fall back, tell, retry. */
void	cluster_lost(struct cluster *, const char *why);
/* Send a command on the command link; -1 if there is none. */
int	cluster_command(struct cluster *, redisCallbackFn *, void *, int argc,
	    const char **argv, const size_t *lens);
/* EVAL a script with string arguments ending in NULL. */
int	cluster_eval(struct cluster *, redisCallbackFn *, void *,
	    const char *script, const char *const *args);
/* The subscription for a room (lower-case name), made if there is none. */
struct cluster_sub *cluster_sub_get(struct cluster *, const char *lower);
/* Publish msg to this node's own channel (barriers, heartbeats). */
int	cluster_tell_self(struct cluster *, const char *msg);
/* Unsubscribe if nobody here is in the room or on the way in. */
void	cluster_sub_check(struct cluster *, struct cluster_sub *);
/* Send a request's script now that it may go. */
void	cluster_req_send(struct cluster_req *);
/* Hand a reply (NULL: link down) to the client, resume it, free req. */
void	cluster_req_finish(struct cluster_req *, const redisReply *);
/*
 * A line numbered seq reached this node's subscription to sub: keep a
 * copy for every join in flight there, to give the joiner after its
 * history if it came after the join.  With held, the line is this
 * node's own, told to its members now: the joins whose barrier went out
 * before it was sent (barrier upto at the latest) missed it and will not
 * see its echo, so they keep it, always to be given.
 */
void	cluster_stash(struct cluster_sub *, int held, unsigned long upto,
	    unsigned long long seq, int kind, const char *topic, size_t tlen,
	    const char *line, size_t len);
/* Barrier n came back on the subscribe link: finish its join. */
void	cluster_req_barrier(struct cluster *, unsigned long n);
/* Lower-case a name into dst (NAME_MAX_BYTES + 1 bytes). */
void	cluster_fold(char *dst, const char *name);

#endif
