/*
 * room: the people and the places.  Users with unique nicks, rooms with
 * members, topics and history, and broadcast.  Knows output buffers, not
 * sockets: it only ever appends to a user's evbuffer.
 */
#ifndef EVCHAT_ROOM_H
#define EVCHAT_ROOM_H

#include <sys/queue.h>

#include <stdarg.h>
#include <stddef.h>

#include "history.h"
#include "htab.h"
#include "name.h"

struct evbuffer;
struct room;

#define ROOM_LOBBY	"lobby"	/* the room everyone starts in; never removed */

/* A person in the chat.  Embedded in the client, which owns it. */
struct user {
	char			 nick[NAME_MAX_BYTES + 1];
	struct htab_node	 node;	/* in chat.nicks while registered */
	struct membership	*ms;	/* the one room the user is in, or NULL */
	struct evbuffer		*out;	/* lines for this user; the client's,
					   NULL while it has none */
	struct chat		*chat;	/* the chat it is in */
	int			 flags;
#define USER_MUTED	0x1	/* closing: appends to it are dropped */
#define USER_UNNAMED	0x2	/* nick not registered yet (cluster claim) */
};

/*
 * A room's pending lines.  Delivered, the block is shared: each member's
 * queue refers to its part, and the last one to let go frees it.
 */
struct room_lines {
	size_t			 refs;
	char			 text[];
};

/* The link between a user and a room: made by room_join, freed by room_part. */
struct membership {
	TAILQ_ENTRY(membership)	 entry;	/* in room.members */
	struct room		*room;
	struct user		*user;
	size_t			 seen;	/* of room.pend, bytes already given
					   to the user or not meant for it */
};

/* A room.  Owned by the chat; exists while it has members (or is #lobby). */
struct room {
	char			 name[NAME_MAX_BYTES + 1];	/* without '#' */
	struct htab_node	 node;		/* in chat.rooms */
	TAILQ_ENTRY(room)	 entry;		/* in chat.room_list */
	TAILQ_HEAD(, membership) members;	/* in join order */
	size_t			 nmembers;
	char			*topic;		/* owned; NULL when unset */
	unsigned long long	 topic_seq;	/* cluster: the topic's place in
						   the order of what is said */
	struct history		 history;	/* recent chat and actions */
	struct chat		*chat;		/* the chat it is in */
	/*
	 * Lines said in the room since the last delivery, formatted once
	 * for every member: each gets them in one piece, from its own
	 * membership.seen, when the chat is delivered or before anything
	 * else is sent to it.  On chat.pend_rooms while pend_len > 0.
	 */
	struct room_lines	*pend;		/* shared once delivered */
	size_t			 pend_len, pend_cap;	/* of pend->text */
	TAILQ_ENTRY(room)	 pend_entry;	/* in chat.pend_rooms */
};

/* Everyone and every room of one server. */
struct chat {
	struct htab		 nicks;		/* users by nick */
	struct htab		 rooms;		/* rooms by name */
	TAILQ_HEAD(, room)	 room_list;	/* rooms in creation order */
	TAILQ_HEAD(, room)	 pend_rooms;	/* rooms with lines to deliver */
	size_t			 nrooms;
	struct room		*lobby;
	size_t			 history_max;	/* --history */
	unsigned long		 next_guest;	/* the next guest-N to try */
	size_t			 sendq;		/* --sendq; 0 for no limit */
	/*
	 * Called when a user's queue passes sendq.  It may only mark the
	 * user for closing: it runs in the middle of a broadcast.
	 */
	void			(*overflow)(struct user *);
	/*
	 * Called after a line is appended to a user's queue, so its owner
	 * can schedule the write (may be NULL: nothing is written).  Like
	 * overflow it runs in the middle of a broadcast or a delivery: it
	 * may write the user's queue out, but must not deliver, send, part
	 * or free anyone.
	 */
	void			(*queued)(struct user *);
	/*
	 * Called when a room gets lines to deliver, so the owner can
	 * schedule chat_deliver (may be NULL: members get them only when
	 * something else is sent to them).  full: the room holds
	 * ROOM_PEND_MAX bytes, or half of sendq if less; deliver soon.
	 * The same rules as for queued.
	 */
	void			(*pending)(struct chat *, int full);
	/*
	 * Called by a delivery for a member whose queue is empty: write
	 * these bytes straight to its connection and return how many the
	 * connection took, 0 if none (may be NULL: every part is queued).
	 * The rest is queued as usual.  The same rules as for queued.
	 */
	size_t			(*send)(struct user *, const char *, size_t);
	/*
	 * Called before a line is appended to a user whose out is NULL:
	 * the owner, which may keep a queue only while there is output
	 * (evchatd's idle clients have none), sets out (may be NULL if
	 * out never is).  The same rules as for queued.
	 */
	void			(*attach)(struct user *);
	void			*owner;		/* for the hooks' owner */
	/*
	 * Called when a room's last member leaves, before a room other
	 * than #lobby is freed (the cluster drops its subscription).
	 */
	void			(*vacated)(struct chat *, struct room *);
	void			*vacated_arg;	/* for the hook's owner */
};

/* What chat_rename decided. */
enum chat_rename_result { RENAME_OK, RENAME_SAME, RENAME_TAKEN };

void	chat_init(struct chat *, size_t history_max);
/* Free every room; every user must have left. */
void	chat_free(struct chat *);
/* Register a new user writing to out under a fresh guest nick. */
void	chat_enter(struct chat *, struct user *, struct evbuffer *out);
/* Give a user who has none a fresh guest nick and register it. */
void	chat_guest(struct chat *, struct user *);
/* Unregister the user's nick until chat_name gives it one (cluster). */
void	chat_unname(struct chat *, struct user *);
/* Register an unnamed user under nick; -1 if someone here holds it. */
int	chat_name(struct chat *, struct user *, const char *nick);
/* Part the user's room and unregister its nick. */
void	chat_leave(struct chat *, struct user *);
/* The user holding nick (ASCII case ignored), or NULL. */
struct user *chat_find_user(struct chat *, const char *nick);
/* Take a valid nick if nobody else holds it. */
enum chat_rename_result chat_rename(struct chat *, struct user *,
	    const char *nick);
/* The room called name (without '#', ASCII case ignored), or NULL. */
struct room *chat_find_room(struct chat *, const char *name);

/* Put the user, who is in no room, into the room called name, creating it. */
struct room *room_join(struct chat *, struct user *, const char *name);
/* Take the user out of its room; an empty room other than #lobby goes. */
void	room_part(struct chat *, struct user *);
/* The user's room, or NULL. */
struct room *room_of(const struct user *);
#define ROOM_PEND_MAX	16384
/*
 * The most output that waits for a batch: a room's block, or a user's
 * queue, this long is delivered or written at once.  ROOM_PEND_MAX, or
 * half of the chat's sendq if that is less, so a user that reads is
 * never pushed past the limit by waiting.
 */
size_t	chat_batch_max(const struct chat *);

/*
 * Send a whole line (CRLF included) to every member but except: it is
 * formatted once, in the room, and reaches each member's queue at the
 * next chat_deliver or before anything else sent to that member.
 */
void	room_broadcast(struct room *, const struct user *except,
	    const char *, size_t);
/* Hand every room's pending lines to its members' queues. */
void	chat_deliver(struct chat *);
/* Broadcast and keep the line in the room's history. */
void	room_say(struct room *, const struct user *except, const char *,
	    size_t);
/* Replace the topic with a copy of text. */
void	room_set_topic(struct room *, const char *, size_t);

/*
 * Append a whole line (CRLF included) to one user, unless muted; a queue
 * past the chat's sendq calls its overflow hook.
 */
void	user_send(struct user *, const char *, size_t);
/*
 * Stop sending to the user (it is closing): what was said in its room
 * before still reaches it, nothing after does.
 */
void	user_mute(struct user *);
/* Append a formatted line to one user; CRLF is added. */
void	user_printf(struct user *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	user_vprintf(struct user *, const char *, va_list)
	    __attribute__((format(printf, 2, 0)));
/* The same without the sendq check: for one bounded last line only. */
void	user_vappend(struct user *, const char *, va_list)
	    __attribute__((format(printf, 2, 0)));

#endif
