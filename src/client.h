/*
 * client: one TCP connection.  Its bufferevent, its input framing, its
 * output queue and the polite or abrupt way it ends.  Sits on the room
 * module (a client is a user) and below the commands, which it reaches
 * only through the pool's hooks.
 */
#ifndef EVCHAT_CLIENT_H
#define EVCHAT_CLIENT_H

#include <sys/queue.h>
#include <sys/socket.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "bucket.h"
#include "line.h"
#include "room.h"

struct bufferevent;
struct event;
struct event_base;
struct client;
struct client_trace;
struct cluster;
struct cluster_req;

/* How a client is to be closed. */
enum client_close_how {
	CLIENT_ABORT,	/* at once, dropping queued output (errors) */
	CLIENT_GRACEFUL	/* send what is queued, send FIN, await the peer's */
};

/* Spare bufferevents a pool keeps at most. */
#define CLIENT_SPARE_MAX	16

/* Every client of a server, the close queue and what clients share. */
struct client_pool {
	struct event_base	*base;
	struct chat		*chat;		/* the server's */
	TAILQ_HEAD(, client)	 all;		/* every client, closing too */
	TAILQ_HEAD(, client)	 reap;		/* closing, for the reaper */
	size_t			 nclients;	/* length of all */
	struct event		*reap_ev;	/* the server's reaper; owned */
	TAILQ_HEAD(, client)	 dirty;		/* output queued since the flush */
	struct event		*flush_ev;	/* writes them; owned */
	struct event		*deadline_ev;	/* flush_ev's latest; owned */
	int			 armed;		/* the flush has work waiting */
	/*
	 * Idle clients have no bufferevent (see client.c); these are the
	 * last few they gave back, kept for the next to need one.  Owned.
	 */
	struct bufferevent	*spare[CLIENT_SPARE_MAX];
	size_t			 nspare;
	/*
	 * Who gives a new socket its options (client_sockopts).  Linux and
	 * the BSDs copy a listener's to the sockets it accepts, and the
	 * server's listeners have them: the first client shows whether
	 * this system copied them, and if it did no later one is given them
	 * again (two system calls per connection).
	 */
	int			 sockopts;
#define CLIENT_SOCKOPTS_PROBE	  0	/* the first new socket tells */
#define CLIENT_SOCKOPTS_EACH	  1	/* set on every new socket */
#define CLIENT_SOCKOPTS_INHERITED 2	/* every new socket has them */
	unsigned long		 next_id;	/* for log lines */
	size_t			 max_line;	/* --max-line */
	int			 linger;	/* seconds a graceful close waits */
	unsigned		 rate;		/* --rate lines/s; 0: no limit */
	unsigned		 burst;		/* --burst */
	size_t			 nclosing;	/* of nclients, those closing */
	unsigned long		 graceful;	/* closes that saw both FINs */
	unsigned long		 ungraceful;	/* timed out, reset or aborted */
	const char		*motd;		/* welcome lines; the server's */
	size_t			 motd_len;
	struct cluster		*cluster;	/* --redis; the server's, or NULL */
	/* Set by the server: handle one complete input line. */
	void			(*dispatch)(struct client *, char *, size_t);
	/* Set by the server: announce a departure and leave the chat. */
	void			(*depart)(struct client *);
	/* Set by the server: the client is being freed (may be NULL). */
	void			(*forget)(struct client *);
};

/* A connected client.  Owned by the pool; freed only by the reaper. */
struct client {
	struct user		 user;	/* nick, room, output: first member */
	struct client_pool	*pool;
	struct bufferevent	*bev;	/* owned; closes the socket when freed;
					   NULL while the client is parked */
	struct event		*park_ev;	/* owned, lazy: reads the socket
						   while parked */
	struct client_trace	*trace;	/* owned; only with --trace-tcp */
	struct event		*timer_ev;	/* owned, lazy: --rate's pause, or
						   the deadline of a close */
	struct bucket		 bucket;	/* --rate/--burst tokens */
	uint32_t		 last_line;	/* when a line last came, in ms */
	struct line_reader	 lr;	/* the unfinished input line */
	TAILQ_ENTRY(client)	 entry;		/* in pool.all */
	TAILQ_ENTRY(client)	 reap_entry;	/* in pool.reap when queued */
	TAILQ_ENTRY(client)	 dirty_entry;	/* in pool.dirty when dirty */
	struct cluster_req	*req;	/* the cluster's: a reply it awaits */
	unsigned long		 id;
	int			 fd;	/* the socket, closed with the bufferevent
				   or, if parked, by client_free */
	char			*reason;	/* owned; why it is closing */
	char			 addr[56];	/* the peer, "1.2.3.4:5" or "[::1]:5" */
	int			 flags;
#define CLIENT_CLOSING	0x01	/* client_close was called */
#define CLIENT_QUEUED	0x02	/* on pool.reap */
#define CLIENT_GONE	0x04	/* departure announced, out of the chat */
#define CLIENT_NOFLUSH	0x08	/* drop queued output (abort) */
#define CLIENT_DRAINING	0x10	/* the reaper started the flush */
#define CLIENT_FIN_SENT	0x20	/* shutdown(SHUT_WR) done */
#define CLIENT_DONE	0x40	/* nothing left to wait for: free it */
#define CLIENT_EOF	0x80	/* the peer's FIN was read */
#define CLIENT_TIMEDOUT	0x100	/* a close step ran out of time */
#define CLIENT_HELD	0x200	/* lr.buf holds a line awaiting a token */
#define CLIENT_HELD_LONG 0x400	/* an overlong line's error awaits a token */
#define CLIENT_WAITING	0x800	/* input paused until a cluster reply */
#define CLIENT_DIRTY	0x1000	/* on pool.dirty */
};

/*
 * Give a socket the options every client socket needs: keepalive and no
 * Nagle; 0, or -1 if it refused keepalive, -2 if only no Nagle (as a
 * socket that is not TCP does).  The server gives them to its listeners
 * before listen(2), and sets the pool's sockopts to CLIENT_SOCKOPTS_EACH
 * if one refused either.
 */
int	client_sockopts(int fd);
/* Set up an empty pool. */
void	client_pool_init(struct client_pool *, struct event_base *,
	    struct chat *, size_t max_line);
/* Free every client at once and the pool's own parts. */
void	client_pool_free(struct client_pool *);
/* Free or advance every queued client; run from the loop only. */
void	client_pool_reap(struct client_pool *);
/* Deliver the rooms' lines and write every client with new output, now. */
void	client_pool_flush(struct client_pool *);

/* Take over an accepted socket; returns the new client. */
struct client *client_new(struct client_pool *, int fd,
	    const struct sockaddr *, socklen_t);
/* Send a formatted line (CRLF added) to this client. */
void	client_printf(struct client *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/*
 * The last line before a graceful close (goodbye, shutdown, idle, full):
 * one bounded line that the --sendq check never turns into an abort, so
 * nothing queued before it is lost.
 */
void	client_printf_last(struct client *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* Bytes queued for this client and not yet written to the socket. */
size_t	client_queued(const struct client *);
/* Is the client parked: idle, with no bufferevent (see client.c)? */
int	client_parked(const struct client *);
/*
 * Start closing: stop handling input and queue the client for the reaper.
 * Idempotent and safe anywhere; an abort overrides a graceful close.
 */
void	client_close(struct client *, enum client_close_how, const char *why);
/* Is the client on its way out? */
int	client_closing(const struct client *);
/* Milliseconds on the monotonic clock (wrapping): last_line's base. */
uint32_t client_now_ms(void);
/*
 * Pause the client's input until client_resume: its next line must not be
 * handled before the answer to this one (a cluster round trip) is out.
 */
void	client_wait(struct client *);
/* Handle the client's input again, starting with what arrived meanwhile. */
void	client_resume(struct client *);
/* Turn a new client away: "server full", then a graceful close. */
void	client_reject_full(struct client *);

#endif
