/*
 * check_close: closing done right, against the real evchatd — the
 * half-close is honoured, /quit ends in a clean EOF (never a reset) and
 * leaves TIME_WAIT on the server's side, SIGTERM drains 200+ clients
 * with nothing lost and the notice last, the server restarts at once on
 * its port while those TIME_WAIT sockets exist, a second signal or the
 * end of --grace cuts the drain short, and --trace-tcp tells the story
 * in the kernel's state names.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_run.h"
#include "harness.h"

#define TW_STATE	6	/* TCP_TIME_WAIT in /proc/net/tcp */

/* The local port of a connection. */
static int
local_port(const struct h_conn *c)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof sin;

	ck_assert_int_eq(getsockname(c->fd, (struct sockaddr *)&sin, &len), 0);
	return ntohs(sin.sin_port);
}

/*
 * IPv4 sockets in TIME_WAIT from local port lport (to rport, unless it is
 * 0), as /proc/net/tcp lists them.
 */
static int
time_wait(int lport, int rport)
{
	FILE		*f = fopen("/proc/net/tcp", "r");
	char		 line[512];
	unsigned	 lp, rp, st;
	int		 n = 0;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof line, f) != NULL) {
		if (sscanf(line, " %*u: %*x:%x %*x:%x %x", &lp, &rp, &st) == 3 &&
		    st == TW_STATE && (int)lp == lport &&
		    (rport == 0 || (int)rp == rport))
			n++;
	}
	fclose(f);
	return n;
}

/* Wait up to 3 s for a TIME_WAIT socket from lport to rport. */
static int
await_time_wait(int lport, int rport)
{
	int	i;

	for (i = 0; i < 300; i++) {
		if (time_wait(lport, rport) > 0)
			return 1;
		usleep(10000);
	}
	return 0;
}

START_TEST(test_half_close_delivers_queue)
{
	struct h_server	 s;
	struct h_conn	*a, *b;
	char		 want[64];
	int		 i;

	/* A burst of 300 lines: no rate limit in the way. */
	h_server_start(&s, (const char *const[]){ "--rate", "0", NULL });
	a = h_join_as(s.port, "alice");
	b = h_join_as(s.port, "bob");
	h_expect_skip(a, "-!- guest-2 is now known as bob");
	for (i = 0; i < 300; i++)
		h_send(b, "line %d", i);
	h_sync(b);
	/* alice has read none of it; she sends FIN and keeps reading. */
	ck_assert_int_eq(shutdown(a->fd, SHUT_WR), 0);
	for (i = 0; i < 300; i++) {
		snprintf(want, sizeof want, "<bob> line %d", i);
		h_expect(a, want);
	}
	ck_assert(h_expect_eof(a, H_TIMEOUT_MS));
	h_expect(b, "-!- alice quit (connection closed)");
	h_close(a);
	h_close(b);
	ck_assert_int_eq(h_server_stop(&s), 0);
}
END_TEST

START_TEST(test_quit_clean_eof_and_time_wait)
{
	struct h_server	 s;
	struct h_conn	*a, *b;
	int		 aport;

	h_server_start(&s, NULL);
	a = h_join_as(s.port, "alice");
	b = h_join_as(s.port, "bob");
	aport = local_port(a);
	/* Input after /quit must not turn the close into a reset. */
	h_send_raw(a, "/quit bye now\nlate line\nanother\n", 32);
	h_expect_skip(a, "-!- goodbye, alice");
	ck_assert(h_expect_eof(a, H_TIMEOUT_MS));
	h_expect_skip(b, "-!- alice quit (bye now)");
	h_close(a);
	/* The server closed first: its side holds TIME_WAIT, ours does not. */
	ck_assert_msg(await_time_wait(s.port, aport),
	    "no TIME_WAIT from server port %d to %d", s.port, aport);
	ck_assert_int_eq(time_wait(aport, s.port), 0);
	h_close(b);
	ck_assert_int_eq(h_server_stop(&s), 0);
}
END_TEST

START_TEST(test_client_closes_first_no_time_wait_on_server)
{
	struct h_server	 s;
	struct h_conn	*a, *b;
	int		 aport;

	h_server_start(&s, NULL);
	a = h_join_as(s.port, "alice");
	b = h_join_as(s.port, "bob");
	aport = local_port(a);
	ck_assert_int_eq(shutdown(a->fd, SHUT_WR), 0);
	ck_assert(h_expect_eof(a, H_TIMEOUT_MS));
	h_close(a);
	h_expect_skip(b, "-!- alice quit (connection closed)");
	/* The client closed first: TIME_WAIT is on its side. */
	ck_assert(await_time_wait(aport, s.port));
	ck_assert_int_eq(time_wait(s.port, aport), 0);
	h_close(b);
	ck_assert_int_eq(h_server_stop(&s), 0);
}
END_TEST

#define NDRAIN		210
#define NLINES		1000

START_TEST(test_shutdown_loses_nothing)
{
	struct h_server	  s, again;
	struct h_conn	**c = calloc(NDRAIN, sizeof *c);
	struct h_conn	 *slow;
	char		  want[256], pad[101], from[64];
	int		  i, j, rcv = 4096;

	memset(pad, 'x', 100);
	pad[100] = '\0';
	h_server_start(&s, (const char *const[]){ "--rate", "0", NULL });
	for (i = 0; i < NDRAIN; i++)
		c[i] = h_join(s.port);
	/* One client with a tiny window, so its backlog stays queued. */
	slow = h_connect(s.port);
	ck_assert_int_eq(setsockopt(slow->fd, SOL_SOCKET, SO_RCVBUF, &rcv,
	    sizeof rcv), 0);
	snprintf(want, sizeof want, "-!- %s joined #lobby",
	    "guest-211");
	h_expect_skip(c[0], want);
	for (i = 0; i < NLINES; i++)
		h_send(c[0], "%d %s", i, pad);
	h_sync(c[0]);
	snprintf(from, sizeof from, "%s", c[0]->nick);
	ck_assert_int_eq(kill(s.pid, SIGTERM), 0);
	for (i = 0; i <= NDRAIN; i++) {
		struct h_conn *x = i == NDRAIN ? slow : c[i];

		for (j = i == 0 ? NLINES : 0; j < NLINES; j++) {
			snprintf(want, sizeof want, "<%s> %d %s", from, j,
			    pad);
			h_expect_skip(x, want);
		}
		h_expect_skip(x, "-!- server shutting down");
		ck_assert(h_expect_eof(x, H_TIMEOUT_MS));
		h_close(x);
	}
	ck_assert_int_eq(h_server_wait(&s, 20000), 0);
	snprintf(want, sizeof want, "shutdown: %d closed gracefully, 0 timed "
	    "out", NDRAIN + 1);
	if (!h_server_log_has(&s, want))
		h_server_dump(&s);
	ck_assert(h_server_log_has(&s, want));
	ck_assert_int_ge(time_wait(s.port, 0), 1);
	/* SO_REUSEADDR: the same port again at once, TIME_WAIT or not. */
	h_server_start_port(&again, s.port, NULL);
	ck_assert_int_eq(again.port, s.port);
	ck_assert_int_eq(h_server_stop(&again), 0);
	free(c);
}
END_TEST

START_TEST(test_drain_refuses_new_and_second_signal)
{
	struct h_server		 s;
	struct h_conn		*a;
	struct sockaddr_in	 sin;
	int			 fd;

	h_server_start(&s, NULL);
	a = h_join(s.port);
	ck_assert_int_eq(kill(s.pid, SIGTERM), 0);
	h_expect_skip(a, "-!- server shutting down");
	ck_assert(h_expect_eof(a, H_TIMEOUT_MS));
	/* alice never closes: the drain waits.  The listener is gone. */
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)s.port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof sin),
	    -1);
	ck_assert_int_eq(errno, ECONNREFUSED);
	close(fd);
	ck_assert_int_eq(h_server_wait(&s, 300), -1);
	ck_assert_int_eq(kill(s.pid, SIGINT), 0);
	ck_assert_int_eq(h_server_wait(&s, H_TIMEOUT_MS), 0);
	ck_assert(h_server_log_has(&s, "second signal"));
	ck_assert(h_server_log_has(&s,
	    "shutdown: 0 closed gracefully, 1 timed out"));
	h_close(a);
}
END_TEST

START_TEST(test_grace_runs_out)
{
	struct h_server	 s;
	struct h_conn	*a;

	h_server_start(&s, (const char *const[]){ "--grace", "1", NULL });
	a = h_join(s.port);
	ck_assert_int_eq(kill(s.pid, SIGTERM), 0);
	h_expect_skip(a, "-!- server shutting down");
	ck_assert_int_eq(h_server_wait(&s, H_TIMEOUT_MS), 0);
	ck_assert(h_server_log_has(&s,
	    "shutdown: 0 closed gracefully, 1 timed out"));
	h_close(a);
}
END_TEST

/*
 * The deadline of a close is fixed when the close begins: a client that
 * /quit and then trickles a byte now and then (or reads slowly) cannot
 * keep its connection past --grace.
 */
START_TEST(test_close_deadline_is_absolute)
{
	struct h_server	 s;
	struct h_conn	*a;
	int		 i;

	h_server_start(&s, (const char *const[]){ "--grace", "1", NULL });
	a = h_join(s.port);
	h_send(a, "/quit");
	h_expect_skip(a, "-!- goodbye, guest-1");
	ck_assert(h_expect_eof(a, H_TIMEOUT_MS));
	for (i = 0; i < 25 && !h_server_log_has(&s, "close timed out");
	    i++) {
		send(a->fd, "x", 1, MSG_NOSIGNAL);
		usleep(200000);
	}
	ck_assert_msg(h_server_log_has(&s, "close timed out"),
	    "a trickling client kept its closing connection open");
	h_close(a);
	ck_assert_int_eq(h_server_stop(&s), 0);
}
END_TEST

START_TEST(test_shutdown_with_no_clients)
{
	struct h_server	 s;

	h_server_start(&s, NULL);
	ck_assert_int_eq(h_server_stop(&s), 0);
	ck_assert(h_server_log_has(&s,
	    "shutdown: 0 closed gracefully, 0 timed out, 0 in TIME_WAIT"));
}
END_TEST

START_TEST(test_trace_tcp)
{
	struct h_server	 s;
	struct h_conn	*a, *b;
	char		 want[128], w1[128], w2[128], w3[128];
	int		 aport;

	h_server_start(&s, (const char *const[]){ "--trace-tcp", NULL });
	a = h_join(s.port);
	b = h_join(s.port);
	aport = local_port(a);
	snprintf(want, sizeof want, "tcp 127.0.0.1:%d ESTABLISHED (accepted)",
	    aport);
	ck_assert(h_server_log_has(&s, want));
	h_send(a, "/quit");
	ck_assert(h_expect_eof(a, H_TIMEOUT_MS));
	h_close(a);
	ck_assert(shutdown(b->fd, SHUT_WR) == 0);
	ck_assert(h_expect_eof(b, H_TIMEOUT_MS));
	ck_assert_int_eq(h_server_stop(&s), 0);
	ck_assert(h_server_log_has(&s, "LISTEN (listen, backlog"));
	/*
	 * Right after our FIN the kernel says FIN_WAIT1, or FIN_WAIT2 when
	 * the peer's ACK (quick on loopback) beat the trace to it, or even
	 * TIME_WAIT when this test's own FIN did too (a busy machine can
	 * hold the server between shutdown() and the trace).
	 */
	snprintf(w1, sizeof w1, "tcp 127.0.0.1:%d FIN_WAIT1 (sent FIN)", aport);
	snprintf(w2, sizeof w2, "tcp 127.0.0.1:%d FIN_WAIT2 (sent FIN)", aport);
	snprintf(w3, sizeof w3, "tcp 127.0.0.1:%d TIME_WAIT (sent FIN)", aport);
	ck_assert(h_server_log_has(&s, w1) || h_server_log_has(&s, w2) ||
	    h_server_log_has(&s, w3));
	ck_assert(h_server_log_has(&s, "TIME_WAIT (peer FIN)"));
	ck_assert(h_server_log_has(&s, "TIME_WAIT (closed)"));
	ck_assert(h_server_log_has(&s, "CLOSE_WAIT (peer FIN)"));
	h_close(b);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("close");
	TCase	*tc = tcase_create("close");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_half_close_delivers_queue);
	tcase_add_test(tc, test_quit_clean_eof_and_time_wait);
	tcase_add_test(tc, test_client_closes_first_no_time_wait_on_server);
	tcase_add_test(tc, test_shutdown_loses_nothing);
	tcase_add_test(tc, test_drain_refuses_new_and_second_signal);
	tcase_add_test(tc, test_grace_runs_out);
	tcase_add_test(tc, test_close_deadline_is_absolute);
	tcase_add_test(tc, test_shutdown_with_no_clients);
	tcase_add_test(tc, test_trace_tcp);
	suite_add_tcase(s, tc);
	return check_run(s);
}
