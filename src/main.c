/*
 * main: the command line and nothing else.  Parses and checks every
 * option before anything listens, so a typo costs a clear message and a
 * non-zero exit, then hands a server_opts to the server.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "server.h"

#define MAIN_EXIT_USAGE	2

enum {
	OPT_BACKLOG = 256,
	OPT_HISTORY,
	OPT_MAX_LINE,
	OPT_MOTD,
	OPT_GRACE,
	OPT_TRACE_TCP,
	OPT_MAX_CLIENTS,
	OPT_RATE,
	OPT_BURST,
	OPT_SENDQ,
	OPT_IDLE_TIMEOUT,
	OPT_REDIS,
	OPT_REDIS_TTL,
	OPT_REUSEPORT
};

static const struct option main_longopts[] = {
	{ "listen",	required_argument,	NULL, 'l' },
	{ "port",	required_argument,	NULL, 'p' },
	{ "backlog",	required_argument,	NULL, OPT_BACKLOG },
	{ "history",	required_argument,	NULL, OPT_HISTORY },
	{ "max-line",	required_argument,	NULL, OPT_MAX_LINE },
	{ "motd",	required_argument,	NULL, OPT_MOTD },
	{ "grace",	required_argument,	NULL, OPT_GRACE },
	{ "trace-tcp",	no_argument,		NULL, OPT_TRACE_TCP },
	{ "max-clients", required_argument,	NULL, OPT_MAX_CLIENTS },
	{ "rate",	required_argument,	NULL, OPT_RATE },
	{ "burst",	required_argument,	NULL, OPT_BURST },
	{ "sendq",	required_argument,	NULL, OPT_SENDQ },
	{ "idle-timeout", required_argument,	NULL, OPT_IDLE_TIMEOUT },
	{ "redis",	required_argument,	NULL, OPT_REDIS },
	{ "redis-ttl",	required_argument,	NULL, OPT_REDIS_TTL },
	{ "reuseport",	no_argument,		NULL, OPT_REUSEPORT },
	{ "verbose",	no_argument,		NULL, 'v' },
	{ "help",	no_argument,		NULL, 'h' },
	{ "version",	no_argument,		NULL, 'V' },
	{ NULL,		0,			NULL, 0 }
};

static void
main_usage(FILE *f)
{
	fprintf(f,
"usage: evchatd [options]\n"
"A chat server for nc and telnet: connect, type, and talk.\n"
"\n"
"  -l, --listen ADDR[:PORT]  listen on ADDR (repeatable; [::1]:7070 for\n"
"                            IPv6); default: 0.0.0.0 and :: on --port\n"
"  -p, --port N              port for the default addresses and for -l\n"
"                            without a port; 0 picks a free one (default %d)\n"
"      --backlog N           listen(2) queue of pending connections\n"
"                            (default %d)\n"
"      --history N           recent messages kept per room and shown on\n"
"                            join; 0 keeps none (default 20)\n"
"      --max-line BYTES      longest input line; longer ones are refused\n"
"                            (default 1024, 16 to 65536)\n"
"      --motd FILE           greet every client with the lines of FILE\n"
"                            (default: none)\n"
"      --grace S             on SIGINT/SIGTERM, wait up to S seconds for\n"
"                            clients to read their queue and close; also\n"
"                            bounds each /quit or half-close (default 10,\n"
"                            1 to 86400)\n"
"      --trace-tcp           log every connection's TCP state (from the\n"
"                            kernel's TCP_INFO) at each step of its life\n"
"      --max-clients N       clients served at once; more are told 'server\n"
"                            full' and closed (default 10000)\n"
"      --rate LINES/S        input lines per second per client; past the\n"
"                            burst the server stops reading that client\n"
"                            until it may go on; 0 turns it off (default 10)\n"
"      --burst N             lines a client may send at once (default 20)\n"
"      --sendq BYTES         output queued for a client that does not read;\n"
"                            past it the client is disconnected\n"
"                            (default 1048576, at least 4096)\n"
"      --idle-timeout S      close clients that send no line for S seconds,\n"
"                            with a notice; 0 turns it off (default 0)\n"
"      --reuseport           let several evchatd share the port\n"
"                            (SO_REUSEPORT): the kernel spreads clients\n"
"      --redis ADDR          cluster mode: share rooms, nicks and history\n"
"                            with every evchatd using the Redis at ADDR\n"
"                            (HOST:PORT, [IPV6]:PORT or a socket path)%s\n"
"      --redis-ttl S         a dead node's nicks are freed after S seconds\n"
"                            (default %d, %d to %d)\n"
"  -v, --verbose             log more: connections' details and chat text\n"
"  -h, --help                show this help and exit\n"
"  -V, --version             show the version and exit\n"
"\n"
"Logs go to stderr.  Each listener prints 'listening on ADDR:PORT' (with\n"
"port 0, the port it got) before the server accepts.  The first SIGINT or\n"
"SIGTERM drains every client gracefully; a second one closes them now.\n",
	    SERVER_DEFAULT_PORT, SOMAXCONN,
#ifdef HAVE_HIREDIS
	    "",
#else
	    ";\n                            not in this build (configure "
	    "--with-redis)",
#endif
	    SERVER_REDIS_TTL, SERVER_REDIS_TTL_MIN, SERVER_REDIS_TTL_MAX);
}

/* Parse a whole decimal number in [min, max] or exit with a message. */
static unsigned long
main_number(const char *opt, const char *arg, unsigned long min,
    unsigned long max)
{
	char		*end;
	unsigned long	 v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (arg[0] == '\0' || arg[0] == '-' || *end != '\0' || errno != 0 ||
	    v < min || v > max) {
		fprintf(stderr, "evchatd: %s: '%s' is not a number from %lu "
		    "to %lu\n", opt, arg, min, max);
		fprintf(stderr, "try 'evchatd --help'\n");
		exit(MAIN_EXIT_USAGE);
	}
	return v;
}

/* Refuse a malformed -l now, before anything listens. */
static void
main_check_listen(const struct server_opts *o)
{
	char		 host[64];
	const char	*why;
	int		 port;
	size_t		 i;

	for (i = 0; i < o->nlisten; i++) {
		why = server_parse_listen(o->listen[i], o->port, host,
		    sizeof host, &port);
		if (why != NULL) {
			fprintf(stderr, "evchatd: --listen: bad address '%s': "
			    "%s\ntry 'evchatd --help'\n", o->listen[i], why);
			exit(MAIN_EXIT_USAGE);
		}
	}
}

/* Fill opts from argv, exiting on any error. */
static void
main_parse(int argc, char **argv, struct server_opts *o, int *verbose)
{
	int	ch;

	while ((ch = getopt_long(argc, argv, "l:p:vhV", main_longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'l':
			if (o->nlisten == SERVER_MAX_LISTEN) {
				fprintf(stderr, "evchatd: at most %d --listen "
				    "addresses\n", SERVER_MAX_LISTEN);
				exit(MAIN_EXIT_USAGE);
			}
			o->listen[o->nlisten++] = optarg;
			break;
		case 'p':
			o->port = (int)main_number("--port", optarg, 0, 65535);
			break;
		case OPT_BACKLOG:
			o->backlog = (int)main_number("--backlog", optarg, 1,
			    65535);
			break;
		case OPT_HISTORY:
			o->history = main_number("--history", optarg, 0,
			    10000);
			break;
		case OPT_MAX_LINE:
			o->max_line = main_number("--max-line", optarg, 16,
			    65536);
			break;
		case OPT_MOTD:
			o->motd = optarg;
			break;
		case OPT_GRACE:
			o->grace = (int)main_number("--grace", optarg, 1,
			    86400);
			break;
		case OPT_TRACE_TCP:
			o->trace_tcp = 1;
			break;
		case OPT_MAX_CLIENTS:
			o->max_clients = main_number("--max-clients", optarg, 1,
			    10000000);
			break;
		case OPT_RATE:
			o->rate = (unsigned)main_number("--rate", optarg, 0,
			    1000000);
			break;
		case OPT_BURST:
			o->burst = (unsigned)main_number("--burst", optarg, 0,
			    1000000);
			break;
		case OPT_SENDQ:
			o->sendq = main_number("--sendq", optarg, 4096,
			    1UL << 30);
			break;
		case OPT_IDLE_TIMEOUT:
			o->idle_timeout = (unsigned)main_number(
			    "--idle-timeout", optarg, 0, 7 * 86400);
			break;
		case OPT_REDIS:
#ifndef HAVE_HIREDIS
			fprintf(stderr, "evchatd: --redis: this evchatd was "
			    "built without cluster mode (configure "
			    "--with-redis, with libhiredis-dev)\n");
			exit(MAIN_EXIT_USAGE);
#endif
			o->redis = optarg;
			break;
		case OPT_REDIS_TTL:
			o->redis_ttl = (int)main_number("--redis-ttl", optarg,
			    SERVER_REDIS_TTL_MIN, SERVER_REDIS_TTL_MAX);
			break;
		case OPT_REUSEPORT:
			o->reuseport = 1;
			break;
		case 'v':
			(*verbose)++;
			break;
		case 'h':
			main_usage(stdout);
			exit(0);
		case 'V':
			printf("evchatd %s\n", PACKAGE_VERSION);
			exit(0);
		default:
			fprintf(stderr, "try 'evchatd --help'\n");
			exit(MAIN_EXIT_USAGE);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "evchatd: unexpected argument '%s'\n"
		    "try 'evchatd --help'\n", argv[optind]);
		exit(MAIN_EXIT_USAGE);
	}
	main_check_listen(o);
	if (o->rate != 0 && o->burst == 0) {
		fprintf(stderr, "evchatd: --burst 0 with --rate %u would never "
		    "let a line through; use --rate 0 to turn the limit off\n"
		    "try 'evchatd --help'\n", o->rate);
		exit(MAIN_EXIT_USAGE);
	}
}

int
main(int argc, char **argv)
{
	struct server_opts	 o = {
		.port = SERVER_DEFAULT_PORT,
		.backlog = SOMAXCONN,
		.history = 20,
		.max_line = 1024,
		.grace = 10,
		.max_clients = 10000,
		.rate = 10,
		.burst = 20,
		.sendq = 1024 * 1024,
		.redis_ttl = SERVER_REDIS_TTL,
	};
	struct server		*srv;
	sigset_t		 stop;
	int			 verbose = 0, rc;

	main_parse(argc, argv, &o, &verbose);
	log_set_level(verbose > 0 ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	/* A peer that vanishes mid-write must cost an error, not the process. */
	signal(SIGPIPE, SIG_IGN);
	/*
	 * Hold SIGINT and SIGTERM until the server's handlers are in place:
	 * one that comes during start-up is then a graceful stop, not a kill.
	 */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	srv = server_new(&o);
	sigprocmask(SIG_UNBLOCK, &stop, NULL);
	if (srv == NULL)
		return 1;
	rc = server_run(srv);
	server_free(srv);
	return rc == 0 ? 0 : 1;
}
