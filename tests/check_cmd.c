/*
 * check_cmd: the command layer without the network — word splitting,
 * the dispatch table, and whole lines dispatched for real clients whose
 * sockets are socketpair(2) ends, read back from their output buffers.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_run.h"
#include "client.h"
#include "cmd.h"
#include "line.h"
#include "room.h"

struct split_case {
	const char	*in;
	int		 max;
	int		 rest;
	int		 argc;
	const char	*argv[3];
};

static const struct split_case split_cases[] = {
	{ "", 2, 0, 0, { NULL } },
	{ "   \t ", 2, 0, 0, { NULL } },
	{ "bob", 1, 0, 1, { "bob" } },
	{ "  bob  ", 1, 0, 1, { "bob" } },
	{ "a b", 1, 0, -1, { NULL } },
	{ "bob hi there ", 2, 1, 2, { "bob", "hi there" } },
	{ "bob\thi\tthere", 2, 1, 2, { "bob", "hi\tthere" } },
	{ "bob   spaced  out  ", 2, 1, 2, { "bob", "spaced  out" } },
	{ "bob", 2, 1, 1, { "bob" } },
	{ "  the topic  ", 1, 1, 1, { "the topic" } },
	{ "x", 0, 0, -1, { NULL } },
	{ "a b c", 3, 0, 3, { "a", "b", "c" } },
};

START_TEST(test_split)
{
	const struct split_case	*t = &split_cases[_i];
	char			 buf[64], *argv[CMD_ARGS_MAX];
	int			 i, argc;

	snprintf(buf, sizeof buf, "%s", t->in);
	argc = cmd_split(buf, argv, t->max, t->rest);
	ck_assert_int_eq(argc, t->argc);
	for (i = 0; i < argc; i++)
		ck_assert_str_eq(argv[i], t->argv[i]);
}
END_TEST

START_TEST(test_find)
{
	ck_assert_str_eq(cmd_find("nick")->name, "nick");
	ck_assert_str_eq(cmd_find("NiCk")->name, "nick");
	ck_assert_str_eq(cmd_find("leave")->name, "part");
	ck_assert_str_eq(cmd_find("LIST")->name, "rooms");
	ck_assert_str_eq(cmd_find("names")->name, "who");
	ck_assert_ptr_null(cmd_find("nic"));
	ck_assert_ptr_null(cmd_find(""));
	ck_assert_ptr_null(cmd_find("nickname"));
}
END_TEST

START_TEST(test_table)
{
	size_t	i;
	char	want[32];

	ck_assert_uint_eq(cmd_table_len, 10);
	for (i = 0; i < cmd_table_len; i++) {
		const struct cmd_entry *e = &cmd_table[i];

		snprintf(want, sizeof want, "/%s", e->name);
		ck_assert(strncmp(e->usage, want, strlen(want)) == 0);
		ck_assert_int_le(e->min_args, e->max_args);
		ck_assert_int_le(e->max_args, CMD_ARGS_MAX);
		ck_assert(e->help[0] != '\0');
		ck_assert_ptr_eq(cmd_find(e->name), e);
	}
}
END_TEST

/* Two real clients on socketpairs, in #lobby. */
static struct event_base	*base;
static struct chat		 chat;
static struct client_pool	 pool;
static struct client		*a, *b;
static int			 peer[2];

static void
reap_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	client_pool_reap(arg);
}

static struct client *
make_client(int *peer_fd)
{
	int		 sv[2];
	struct sockaddr	 sa = { .sa_family = AF_UNIX };
	struct client	*c;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* As accepted sockets are: a full socket must not block a write. */
	ck_assert_int_eq(evutil_make_socket_nonblocking(sv[0]), 0);
	c = client_new(&pool, sv[0], &sa, sizeof sa);
	cmd_welcome(c);
	*peer_fd = sv[1];
	return c;
}

static size_t		 seen[2];	/* bytes of a and b already looked at */

/*
 * What was queued for a client since the last look.  A socket
 * bufferevent's output cannot be drained or copied from the front by its
 * user, and the loop never runs here: peek, and keep an offset per client.
 */
static char *
out(struct client *c)
{
	static char	 buf[16384];
	struct evbuffer	*o;
	size_t		*off = &seen[c == a ? 0 : 1];
	size_t		 n;

	struct evbuffer_iovec	 v[16];
	int			 i, nv;
	size_t			 got = 0;

	chat_deliver(&chat);	/* the rooms' lines, as the flush would */
	if (client_parked(c)) {	/* nothing queued: it gave its queue back */
		*off = 0;
		buf[0] = '\0';
		return buf;
	}
	o = bufferevent_get_output(c->bev);
	n = evbuffer_get_length(o);
	ck_assert_uint_lt(n, sizeof buf);
	nv = evbuffer_peek(o, -1, NULL, v, 16);
	ck_assert_int_le(nv, 16);
	for (i = 0; i < nv; i++) {
		memcpy(buf + got, v[i].iov_base, v[i].iov_len);
		got += v[i].iov_len;
	}
	ck_assert_uint_eq(got, n);
	buf[n] = '\0';
	ck_assert_uint_ge(n, *off);
	n = *off;
	*off = strlen(buf);
	return buf + n;
}

static void
setup(void)
{
	seen[0] = seen[1] = 0;
	base = event_base_new();
	chat_init(&chat, 5);
	client_pool_init(&pool, base, &chat, 1024);
	pool.dispatch = cmd_dispatch;
	pool.depart = cmd_depart;
	pool.reap_ev = event_new(base, -1, 0, reap_cb, &pool);
	a = make_client(&peer[0]);
	b = make_client(&peer[1]);
	out(a);		/* skip the welcomes */
	out(b);
}

static void
teardown(void)
{
	client_pool_free(&pool);
	chat_free(&chat);
	event_free(pool.reap_ev);
	event_base_free(base);
	cmd_free();
	close(peer[0]);
	close(peer[1]);
}

/* Dispatch one line as if it came from c. */
static void
say(struct client *c, const char *line)
{
	char	buf[2048];
	size_t	len = strlen(line);

	memcpy(buf, line, len + 1);
	cmd_dispatch(c, buf, len);
}

START_TEST(test_chat_and_escape)
{
	say(a, "hello");
	ck_assert_str_eq(out(a), "");
	ck_assert_str_eq(out(b), "<guest-1> hello\r\n");
	say(a, "//slash");
	ck_assert_str_eq(out(b), "<guest-1> /slash\r\n");
	say(a, "   ");
	say(a, "");
	ck_assert_str_eq(out(b), "");
}
END_TEST

START_TEST(test_nul_is_control)
{
	char	line[] = "/nick al\0ce";

	cmd_dispatch(a, line, sizeof line - 1);
	ck_assert(strncmp(out(a), "-!- error: invalid nick", 23) == 0);
	memcpy(line, "x\0y", 4);
	cmd_dispatch(a, line, 3);
	ck_assert_str_eq(out(b), "<guest-1> xy\r\n");
}
END_TEST

START_TEST(test_unknown_and_usage)
{
	say(a, "/frobnicate now");
	ck_assert_str_eq(out(a),
	    "-!- error: unknown command /frobnicate (see /help)\r\n");
	say(a, "/");
	ck_assert_str_eq(out(a), "-!- error: unknown command / (see /help)\r\n");
	say(a, "/msg");
	ck_assert_str_eq(out(a),
	    "-!- error: usage: /msg NICK TEXT (see /help)\r\n");
	say(a, "/msg guest-2");
	ck_assert_str_eq(out(a),
	    "-!- error: usage: /msg NICK TEXT (see /help)\r\n");
	say(a, "/part now");
	ck_assert_str_eq(out(a), "-!- error: usage: /part (see /help)\r\n");
	ck_assert_str_eq(out(b), "");
}
END_TEST

START_TEST(test_msg_and_me)
{
	say(a, "/MSG GUEST-2 psst  ");
	ck_assert_str_eq(out(a), "-> *guest-2* psst\r\n");
	ck_assert_str_eq(out(b), "*guest-1* psst\r\n");
	say(a, "/me waves");
	ck_assert_str_eq(out(a), "");
	ck_assert_str_eq(out(b), "* guest-1 waves\r\n");
}
END_TEST

START_TEST(test_quit_is_polite)
{
	say(a, "/quit see you");
	ck_assert_str_eq(out(a), "-!- goodbye, guest-1\r\n");
	ck_assert(client_closing(a));
	ck_assert(!(a->flags & CLIENT_NOFLUSH));
	/* Closing clients hear nothing more, and input is ignored. */
	say(b, "late");
	ck_assert_str_eq(out(a), "");
	client_pool_reap(&pool);
	ck_assert_str_eq(out(b), "-!- guest-1 quit (see you)\r\n");
	ck_assert_ptr_null(chat_find_user(&chat, "guest-1"));
}
END_TEST

START_TEST(test_close_abort_overrides)
{
	client_close(a, CLIENT_GRACEFUL, "x");
	client_close(a, CLIENT_ABORT, "y");
	ck_assert(a->flags & CLIENT_NOFLUSH);
	ck_assert_str_eq(a->reason, "x");
	client_pool_reap(&pool);
	ck_assert_uint_eq(pool.nclients, 1);
	ck_assert_str_eq(out(b), "-!- guest-1 quit (x)\r\n");
}
END_TEST

/* A client closing politely still gets what was said before it closed. */
START_TEST(test_close_keeps_lines_said_before)
{
	say(b, "before");
	client_close(a, CLIENT_GRACEFUL, "connection closed");
	say(b, "after");
	ck_assert_str_eq(out(a), "<guest-2> before\r\n");
}
END_TEST

/* What the peer of c's socket can read now, without waiting. */
static char *
peer_read(int fd)
{
	static char	buf[4096];
	ssize_t		n = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* Lines wait for the flush, which writes each client's batch at once. */
START_TEST(test_output_waits_for_flush)
{
	say(a, "one");
	say(a, "two");
	ck_assert_str_eq(peer_read(peer[1]), "");
	ck_assert(b->flags & CLIENT_DIRTY);
	client_pool_flush(&pool);
	ck_assert(!(b->flags & CLIENT_DIRTY));
	ck_assert_uint_eq(client_queued(b), 0);
	ck_assert(strstr(peer_read(peer[1]),
	    "<guest-1> one\r\n<guest-1> two\r\n") != NULL);
	ck_assert_ptr_null(TAILQ_FIRST(&pool.dirty));
}
END_TEST

/*
 * The flush writes the queues before it delivers the rooms' lines, and
 * order still holds: a line queued for b alone comes after the room line
 * said before it and before the one said after.  A member with nothing
 * queued gets a room's lines straight from the delivery, no queue.
 */
START_TEST(test_flush_keeps_order)
{
	client_pool_flush(&pool);	/* the welcomes: queues empty */
	(void)peer_read(peer[1]);
	say(a, "one");
	say(a, "/msg guest-2 psst");
	say(a, "two");
	client_pool_flush(&pool);
	ck_assert_str_eq(peer_read(peer[1]),
	    "<guest-1> one\r\n*guest-1* psst\r\n<guest-1> two\r\n");
	say(a, "three");
	chat_deliver(&chat);
	ck_assert_uint_eq(client_queued(b), 0);
	ck_assert(!(b->flags & CLIENT_DIRTY));
	ck_assert_str_eq(peer_read(peer[1]), "<guest-1> three\r\n");
}
END_TEST

/*
 * Ignore SIGPIPE, as main() does, write what is pending, and read away
 * what both peers got so far.
 */
static void
settle(void)
{
	signal(SIGPIPE, SIG_IGN);
	client_pool_flush(&pool);
	(void)peer_read(peer[0]);
	(void)peer_read(peer[1]);
}

/*
 * A direct send that fails (the peer is gone) loses nothing silently:
 * the line is queued, libevent's write meets the error or the EOF, and
 * the client is closed and freed, without a crash or a hang.
 */
START_TEST(test_send_to_closed_peer)
{
	int	i;

	settle();
	close(peer[1]);
	peer[1] = -1;
	say(a, "one");
	client_pool_flush(&pool);
	ck_assert_uint_gt(client_queued(b), 0);
	ck_assert(bufferevent_get_enabled(b->bev) & EV_WRITE);
	for (i = 0; i < 50 && pool.nclients == 2; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_uint_eq(pool.nclients, 1);	/* b is gone; a stays */
	client_pool_flush(&pool);
	ck_assert(strstr(peer_read(peer[0]), "-!- guest-2 quit (") != NULL);
}
END_TEST

/*
 * A graceful close writes what is queued at once, and its FIN after it,
 * in the reaper's own pass: it does not wait for the loop to say that the
 * socket takes more.  A peer that is gone ends the close there and then.
 */
START_TEST(test_drain_writes_at_once)
{
	char	c;

	settle();
	client_printf(a, "-!- bye");
	ck_assert_uint_gt(client_queued(a), 0);
	client_close(a, CLIENT_GRACEFUL, "leaving");
	client_pool_reap(&pool);
	ck_assert_uint_eq(client_queued(a), 0);
	ck_assert(a->flags & CLIENT_FIN_SENT);
	ck_assert_str_eq(peer_read(peer[0]), "-!- bye\r\n");
	ck_assert_int_eq(recv(peer[0], &c, 1, MSG_DONTWAIT), 0);    /* FIN */

	close(peer[1]);
	peer[1] = -1;
	client_printf(b, "-!- bye");
	client_close(b, CLIENT_GRACEFUL, "leaving");
	client_pool_reap(&pool);
	ck_assert_uint_eq(pool.nclients, 1);	/* b is freed; a awaits FIN */
}
END_TEST

/*
 * Writing room lines straight to the socket does not get around --sendq:
 * a reader that stops reading fills its socket, then its queue, and is
 * dropped as a slow consumer; the sender is not.
 */
START_TEST(test_direct_send_keeps_sendq)
{
	char	line[1000];
	int	i;

	chat.sendq = 65536;
	client_pool_flush(&pool);
	(void)peer_read(peer[1]);
	memset(line, 'x', sizeof line - 1);
	line[sizeof line - 1] = '\0';
	for (i = 0; i < 4000 && !client_closing(b); i++) {
		say(a, line);
		client_pool_flush(&pool);
	}
	ck_assert(client_closing(b));
	ck_assert(!client_closing(a));
	ck_assert_int_gt(i, 64);	/* its socket took lines first */
}
END_TEST

/* A queue past half of --sendq does not wait for the flush. */
START_TEST(test_long_queue_written_at_once)
{
	char	line[200];

	/* Half the limit is reached by the second line, not the first. */
	chat.sendq = 2 * (client_queued(b) + 3 * sizeof line / 2);
	memset(line, 'x', sizeof line - 2);
	memcpy(line + sizeof line - 2, "\r\n", 2);
	user_send(&b->user, line, sizeof line);
	ck_assert_uint_gt(client_queued(b), 0);
	user_send(&b->user, line, sizeof line);
	ck_assert_uint_eq(client_queued(b), 0);
	ck_assert(!client_closing(b));
	ck_assert(strstr(peer_read(peer[1]), "xxx\r\n") != NULL);
}
END_TEST

START_TEST(test_unknown_cut_between_characters)
{
	char	line[128] = "/a";
	char	*o;
	int	i;

	for (i = 0; i < 40; i++)
		strcat(line, "\xc3\xa9");		/* é, two bytes each */
	say(a, line);
	o = out(a);
	ck_assert(line_utf8_valid(o, strlen(o)));
	ck_assert(strstr(o, " (see /help)\r\n") != NULL);
}
END_TEST

START_TEST(test_last_line_not_cut_by_sendq)
{
	static const char junk[4096];
	char	fill[64];

	memset(fill, 'x', sizeof fill - 2);
	memcpy(fill + sizeof fill - 2, "\r\n", 2);
	/*
	 * A slow reader: its socket is full, so a queue past half the
	 * limit, written at once, stays queued.  The welcome is still
	 * queued too: the loop never runs here.
	 */
	while (send(a->fd, junk, sizeof junk,
	    MSG_DONTWAIT) > 0)
		continue;
	chat.sendq = client_queued(a) + 80;
	user_send(&a->user, fill, sizeof fill);
	ck_assert(!client_closing(a));
	/* Over the limit by itself: still sent, nothing before it lost. */
	client_printf_last(a, "-!- server shutting down");
	ck_assert(!client_closing(a));
	ck_assert(strstr(out(a), "-!- server shutting down\r\n") != NULL);
	/* An ordinary line past the limit is what closes a slow reader. */
	client_printf(a, "-!- more");
	ck_assert(client_closing(a));
	ck_assert(a->flags & CLIENT_NOFLUSH);
}
END_TEST

/* Is option opt of level lvl on for fd? */
static int
sockopt_on(int fd, int lvl, int opt)
{
	int		v = 0;
	socklen_t	len = sizeof v;

	ck_assert_int_eq(getsockopt(fd, lvl, opt, &v, &len), 0);
	return v != 0;
}

/*
 * Accept one real TCP connection on a fresh loopback listener, given the
 * client options before listen(2) if listener_opts, and make it a client
 * of a pool whose first socket decides who sets them: the pool must have
 * seen whether the socket came with both.  Says whether it did; *sfd is
 * the client's socket, *cfd the peer's.
 */
static int
accept_client(int listener_opts, int *sfd, int *cfd)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof sin;
	int			lfd, inherited;

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(lfd, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sin, sizeof sin), 0);
	if (listener_opts)
		ck_assert_int_eq(client_sockopts(lfd), 0);
	ck_assert_int_eq(listen(lfd, 4), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	*cfd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(*cfd, (struct sockaddr *)&sin, sizeof sin),
	    0);
	*sfd = accept(lfd, NULL, NULL);
	ck_assert_int_ge(*sfd, 0);
	close(lfd);
	inherited = sockopt_on(*sfd, SOL_SOCKET, SO_KEEPALIVE) &&
	    sockopt_on(*sfd, IPPROTO_TCP, TCP_NODELAY);
	ck_assert(listener_opts || !inherited);
	pool.sockopts = CLIENT_SOCKOPTS_PROBE;
	client_new(&pool, *sfd, (struct sockaddr *)&sin, sizeof sin);
	ck_assert_int_eq(pool.sockopts, inherited ?
	    CLIENT_SOCKOPTS_INHERITED : CLIENT_SOCKOPTS_EACH);
	return inherited;
}

/*
 * Every client's socket gets SO_KEEPALIVE (PROTOCOL.md: keepalive is on
 * for every client connection) and TCP_NODELAY: from a listener that had
 * them (as evchatd's have), which this system copies to what it accepts,
 * or else set on each socket, as here for a plain listener with neither.
 */
START_TEST(test_sockopts)
{
	int	sfd, cfd, i, inherited = 0;

	for (i = 0; i < 2; i++) {
		inherited = accept_client(i, &sfd, &cfd);
		ck_assert(sockopt_on(sfd, SOL_SOCKET, SO_KEEPALIVE));
		ck_assert(sockopt_on(sfd, IPPROTO_TCP, TCP_NODELAY));
		close(cfd);
	}
#ifdef __linux__
	ck_assert(inherited);	/* Linux copies them: the saving is real */
#endif
}
END_TEST
/*
 * Run the loop a pass at a time, up to 100 passes, collecting what the
 * peer fd can read, until it holds want.
 */
static int
loop_until_read(int fd, const char *want)
{
	static char	got[8192];
	size_t		len = 0;
	int		i;

	got[0] = '\0';
	for (i = 0; i < 100 && strstr(got, want) == NULL; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		len += (size_t)snprintf(got + len, sizeof got - len, "%s",
		    peer_read(fd));
		if (len >= sizeof got - 1)
			break;
	}
	return strstr(got, want) != NULL;
}

/*
 * An idle client gives its bufferevent back (it is parked) and gets one
 * again when it needs it: a room line still reaches it with no queue, a
 * line for it alone is queued and written, its input is read and
 * handled, and each time it parks again once it is idle.
 */
START_TEST(test_idle_client_parks)
{
	settle();
	ck_assert(client_parked(a));
	ck_assert(client_parked(b));
	ck_assert_uint_eq(pool.nspare, 2);
	say(a, "one");
	client_pool_flush(&pool);
	ck_assert(client_parked(b));
	ck_assert_str_eq(peer_read(peer[1]), "<guest-1> one\r\n");
	say(a, "/msg guest-2 psst");
	ck_assert(!client_parked(b));
	ck_assert_uint_gt(client_queued(b), 0);
	client_pool_flush(&pool);
	ck_assert(client_parked(b));
	ck_assert_str_eq(peer_read(peer[1]), "*guest-1* psst\r\n");
	(void)peer_read(peer[0]);
	ck_assert_int_eq(send(peer[1], "/msg guest-1 hi\r\n", 17, 0), 17);
	ck_assert(loop_until_read(peer[0], "*guest-2* hi\r\n"));
	ck_assert_str_eq(peer_read(peer[1]), "-> *guest-1* hi\r\n");
	ck_assert(client_parked(a));
	ck_assert(client_parked(b));
	ck_assert_uint_eq(pool.nclients, 2);
}
END_TEST

/*
 * A parked client whose socket stops taking lines gets its queue back for
 * the rest, which libevent writes once the peer reads; then it parks.
 */
START_TEST(test_parked_client_full_socket)
{
	char	line[1000], buf[65536];
	int	i;

	settle();
	memset(line, 'x', sizeof line - 1);
	line[sizeof line - 1] = '\0';
	for (i = 0; i < 4000 && client_queued(b) == 0; i++) {
		say(a, line);
		client_pool_flush(&pool);
	}
	ck_assert_uint_gt(client_queued(b), 0);
	ck_assert(!client_parked(b));
	ck_assert(bufferevent_get_enabled(b->bev) & EV_WRITE);
	for (i = 0; i < 1000 && !client_parked(b); i++) {
		while (recv(peer[1], buf, sizeof buf, MSG_DONTWAIT) > 0)
			continue;
		event_base_loop(base, EVLOOP_NONBLOCK);
	}
	ck_assert(client_parked(b));
	ck_assert(!client_closing(b));
}
END_TEST

/*
 * A parked client's FIN is read at once: it is closed gracefully, its
 * FIN answered, and freed; a parked client closed by the server drains
 * like any other.  Its socket is closed once, by client_free.
 */
START_TEST(test_parked_client_closes)
{
	char	c;
	int	i;

	settle();
	ck_assert(client_parked(b));
	ck_assert_int_eq(shutdown(peer[1], SHUT_WR), 0);
	for (i = 0; i < 100 && pool.nclients == 2; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_uint_eq(pool.nclients, 1);
	ck_assert_int_eq(recv(peer[1], &c, 1, MSG_DONTWAIT), 0);    /* FIN */
	ck_assert_uint_eq(pool.graceful, 1);
	ck_assert(client_parked(a));
	client_close(a, CLIENT_GRACEFUL, "shutting down");
	client_pool_reap(&pool);
	ck_assert(!client_parked(a));
	ck_assert(a->flags & CLIENT_FIN_SENT);
	ck_assert(strstr(peer_read(peer[0]), "-!- guest-2 quit (") != NULL);
	ck_assert_int_eq(recv(peer[0], &c, 1, MSG_DONTWAIT), 0);    /* FIN */
}
END_TEST

/*
 * A parked client whose peer resets (closes with a line it never read)
 * meets the error at once: it is aborted and freed, nothing else is.
 */
START_TEST(test_parked_client_reset)
{
	int	i;

	settle();
	say(a, "unread");
	client_pool_flush(&pool);
	ck_assert(client_parked(b));
	close(peer[1]);		/* with the line unread: a reset */
	peer[1] = -1;
	ck_assert_uint_eq(pool.ungraceful, 0);
	for (i = 0; i < 100 && pool.nclients == 2; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_uint_eq(pool.nclients, 1);
	ck_assert_uint_eq(pool.ungraceful, 1);
	ck_assert(!client_closing(a));
}
END_TEST

/* The pool keeps at most CLIENT_SPARE_MAX bufferevents for later. */
START_TEST(test_spares_bounded)
{
	int	fds[2 * CLIENT_SPARE_MAX];
	size_t	i;

	for (i = 0; i < 2 * CLIENT_SPARE_MAX; i++)
		(void)make_client(&fds[i]);
	client_pool_flush(&pool);
	ck_assert_uint_eq(pool.nspare, CLIENT_SPARE_MAX);
	ck_assert_uint_eq(pool.nclients, 2 + 2 * CLIENT_SPARE_MAX);
	for (i = 0; i < 2 * CLIENT_SPARE_MAX; i++)
		close(fds[i]);
}
END_TEST

static Suite *
cmd_suite(void)
{
	Suite	*s = suite_create("cmd");
	TCase	*tc;

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_split, 0,
	    sizeof split_cases / sizeof split_cases[0]);
	tcase_add_test(tc, test_find);
	tcase_add_test(tc, test_table);
	suite_add_tcase(s, tc);

	tc = tcase_create("dispatch");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_chat_and_escape);
	tcase_add_test(tc, test_nul_is_control);
	tcase_add_test(tc, test_unknown_and_usage);
	tcase_add_test(tc, test_msg_and_me);
	tcase_add_test(tc, test_quit_is_polite);
	tcase_add_test(tc, test_close_abort_overrides);
	tcase_add_test(tc, test_unknown_cut_between_characters);
	tcase_add_test(tc, test_last_line_not_cut_by_sendq);
	tcase_add_test(tc, test_output_waits_for_flush);
	tcase_add_test(tc, test_close_keeps_lines_said_before);
	tcase_add_test(tc, test_long_queue_written_at_once);
	tcase_add_test(tc, test_flush_keeps_order);
	tcase_add_test(tc, test_send_to_closed_peer);
	tcase_add_test(tc, test_direct_send_keeps_sendq);
	tcase_add_test(tc, test_drain_writes_at_once);
	tcase_add_test(tc, test_sockopts);
	tcase_add_test(tc, test_idle_client_parks);
	tcase_add_test(tc, test_parked_client_full_socket);
	tcase_add_test(tc, test_parked_client_closes);
	tcase_add_test(tc, test_parked_client_reset);
	tcase_add_test(tc, test_spares_bounded);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(cmd_suite());
}
