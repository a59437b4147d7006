/*
 * server: the process as a whole — listeners, signals, the reaper and
 * the one event loop that runs them all.
 */
#ifndef EVCHAT_SERVER_H
#define EVCHAT_SERVER_H

#include <stddef.h>

#define SERVER_DEFAULT_PORT	7070
#define SERVER_MAX_LISTEN	16	/* -l may be given this many times */
#define SERVER_REDIS_TTL	10	/* --redis-ttl's default, seconds */
#define SERVER_REDIS_TTL_MIN	2
#define SERVER_REDIS_TTL_MAX	3600

/* What main parsed from the command line; the server copies what it keeps. */
struct server_opts {
	const char	*listen[SERVER_MAX_LISTEN];	/* -l ADDR[:PORT] */
	size_t		 nlisten;
	int		 port;		/* -p; for -l without a port too */
	int		 backlog;	/* listen(2)'s queue */
	size_t		 history;	/* lines of history per room */
	size_t		 max_line;	/* longest input line, bytes */
	const char	*motd;		/* file to greet clients with, or NULL */
	int		 grace;		/* seconds a graceful close may take */
	int		 trace_tcp;	/* log each connection's TCP states */
	size_t		 max_clients;	/* --max-clients */
	unsigned	 rate;		/* --rate lines/s; 0: off */
	unsigned	 burst;		/* --burst */
	size_t		 sendq;		/* --sendq bytes */
	unsigned	 idle_timeout;	/* --idle-timeout s; 0: off */
	int		 reuseport;	/* SO_REUSEPORT on the listeners */
	const char	*redis;		/* --redis address, or NULL */
	int		 redis_ttl;	/* --redis-ttl seconds */
};

struct server;

/*
 * Check and split an -l argument: ADDR, ADDR:PORT, [ADDR]:PORT or a bare
 * IPv6 address, numeric only; an empty ADDR means every interface.
 * Returns NULL, or why the argument is wrong.
 */
const char	*server_parse_listen(const char *spec, int default_port,
		    char *host, size_t hsize, int *port);

/* Set everything up and listen; on failure print why and return NULL. */
struct server	*server_new(const struct server_opts *);
/* Run the event loop until the server is told to stop. */
int		 server_run(struct server *);
/* Close every client and listener and free everything. */
void		 server_free(struct server *);

#endif
