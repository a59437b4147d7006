/*
 * check_stress: 100 well-behaved clients and 220 badly behaved ones on one
 * real evchatd.  The bad ones send garbage and binary, overlong lines,
 * random commands, reset their connections (SO_LINGER 0), half-close, or
 * never read.  Afterwards every line of every well-behaved sender reached
 * every other well-behaved client exactly once and in order, and the
 * server still welcomes a fresh client and exits cleanly.  Bounded in
 * count and time; loopback only; the ASan build in CI checks the rest.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_run.h"
#include "harness.h"

#define NGOOD		100
#define NBAD		220
#define NMSG		10	/* lines per good sender: under --burst */

/* A raw connection, for the clients nobody reads carefully. */
static int
raw_connect(int port, int rcvbuf)
{
	struct sockaddr_in	sin;
	int			fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ne(fd, -1);
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	return fd;
}

/* Write what the socket takes now; a bad client may be throttled. */
static void
raw_send(int fd, const void *buf, size_t len)
{
	ssize_t	n = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);

	(void)n;
}

/* Read and drop whatever is there, without waiting. */
static void
raw_drain(int fd)
{
	char	buf[16384];

	while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0)
		;
}

/* One bad client's misbehaviour, chosen by kind. */
static void
misbehave(int fd, int kind, unsigned *seed)
{
	char		 buf[4096];
	struct linger	 lg = { 1, 0 };
	size_t		 i, n;
	/* Each is sent with a random number after it. */
	static const char *const cmds[] = {
		"/nick x", "/join #r", "/who ", "/rooms", "/msg good-",
		"/topic t", "/me is ", "/part", "/names stress", "/join stress",
		"chat ", "/bogus ", "/nick", "/msg", "//x ", "/quit "
	};

	switch (kind) {
	case 0:		/* garbage, binary, telnet, no newline at the end */
		n = 64 + rand_r(seed) % 2000;
		for (i = 0; i < n; i++)
			buf[i] = (char)rand_r(seed);
		raw_send(fd, buf, n);
		break;
	case 1:		/* overlong lines between normal ones */
		memset(buf, 'o', 3000);
		buf[3000] = '\n';
		raw_send(fd, "before\n", 7);
		raw_send(fd, buf, 3001);
		raw_send(fd, "after\n", 6);
		break;
	case 2:		/* random commands */
		for (i = 0; i < 8; i++) {
			n = (size_t)snprintf(buf, sizeof buf, "%s%u\n",
			    cmds[rand_r(seed) % 16],
			    (unsigned)rand_r(seed) % NGOOD);
			raw_send(fd, buf, n);
		}
		break;
	case 3:		/* an abrupt reset with unread data */
		raw_send(fd, "bye\n", 4);
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
		break;
	case 4:		/* half-close: a line, FIN, keep reading */
		raw_send(fd, "closing my side\n", 16);
		shutdown(fd, SHUT_WR);
		break;
	default:	/* never reads, sends a little */
		raw_send(fd, "/join stress\nlurking\n", 21);
		break;
	}
}

START_TEST(test_stress)
{
	struct h_server	  s;
	struct h_conn	**good = calloc(NGOOD, sizeof *good);
	struct h_conn	 *fresh;
	int		  bad[NBAD], kind[NBAD];
	int		 *next = calloc(NGOOD * NGOOD, sizeof *next);
	unsigned	  seed = 12345;
	const char	 *l;
	char		  nick[32];
	int		  i, j, k, from, seq, got;

	h_server_start(&s, NULL);
	for (i = 0; i < NGOOD; i++) {
		snprintf(nick, sizeof nick, "good-%d", i);
		good[i] = h_join_as(s.port, nick);
		h_send(good[i], "/join #stress");
		h_expect_prefix(good[i], "-!- you joined #stress");
	}
	for (i = 0; i < NBAD; i++) {
		kind[i] = i % 6;
		bad[i] = raw_connect(s.port, kind[i] == 5 ? 2048 : 0);
	}
	/* Interleave: a round of chaos, a line from every good sender. */
	for (k = 0; k < NMSG; k++) {
		for (i = k; i < NBAD; i += NMSG) {
			misbehave(bad[i], kind[i], &seed);
			if (kind[i] == 3) {
				close(bad[i]);
				bad[i] = -1;
			}
		}
		for (i = 0; i < NGOOD; i++)
			h_send(good[i], "m %d %d", i, k);
		for (i = 0; i < NBAD; i++)
			if (bad[i] != -1 && kind[i] != 5)
				raw_drain(bad[i]);
	}
	/* Every good client hears every other good sender, once, in order. */
	for (i = 0; i < NGOOD; i++) {
		got = 0;
		while (got < (NGOOD - 1) * NMSG) {
			l = h_line(good[i], H_TIMEOUT_MS);
			ck_assert_msg(l != NULL, "good-%d got %d of %d", i,
			    got, (NGOOD - 1) * NMSG);
			if (sscanf(l, "<good-%*d> m %d %d", &from, &seq) != 2)
				continue;
			ck_assert_msg(from != i, "good-%d heard itself", i);
			ck_assert_msg(seq == next[i * NGOOD + from],
			    "good-%d: from %d got %d, wanted %d", i, from, seq,
			    next[i * NGOOD + from]);
			next[i * NGOOD + from]++;
			got++;
		}
		/* Nothing doubled behind them: a round trip to oneself. */
		h_send(good[i], "/msg good-%d end", i);
		snprintf(nick, sizeof nick, "-> *good-%d* end", i);
		while ((l = h_line(good[i], H_TIMEOUT_MS)) != NULL &&
		    strcmp(l, nick) != 0)
			ck_assert_msg(strncmp(l, "<good-", 6) != 0,
			    "good-%d: extra '%s'", i, l);
		ck_assert_ptr_nonnull(l);
	}
	for (i = 0; i < NBAD; i++)
		if (bad[i] != -1)
			close(bad[i]);
	for (j = 0; j < NGOOD; j++)
		h_close(good[j]);
	/* Still serving. */
	fresh = h_join(s.port);
	h_sync(fresh);
	h_close(fresh);
	ck_assert_int_eq(h_server_stop(&s), 0);
	free(good);
	free(next);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("stress");
	TCase	*tc = tcase_create("stress");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_stress);
	suite_add_tcase(s, tc);
	return check_run(s);
}
