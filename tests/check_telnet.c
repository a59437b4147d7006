/*
 * check_telnet: the real telnet client, driven through a pseudo-terminal
 * as a person would type into it, chatting with a plain TCP client.
 * Exits 77 (skip) where telnet is not installed.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "check_run.h"
#include "harness.h"

/* The telnet binary, or NULL. */
static const char *
telnet_path(void)
{
	static const char *const paths[] = {
		"/usr/bin/telnet", "/bin/telnet", "/usr/local/bin/telnet",
		"/usr/bin/telnet.netkit", "/usr/bin/inetutils-telnet"
	};
	size_t	i;

	for (i = 0; i < sizeof paths / sizeof paths[0]; i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	return NULL;
}

/* A telnet process on a pty, and what it has printed. */
struct tty {
	pid_t	pid;
	int	fd;
	size_t	len;
	char	screen[1 << 16];
};

static void
tty_start(struct tty *t, int port)
{
	char	portstr[16];

	snprintf(portstr, sizeof portstr, "%d", port);
	memset(t, 0, sizeof *t);
	t->pid = forkpty(&t->fd, NULL, NULL, NULL);
	ck_assert_int_ne(t->pid, -1);
	if (t->pid == 0) {
		execl(telnet_path(), "telnet", "127.0.0.1", portstr,
		    (char *)NULL);
		_exit(127);
	}
}

/* Wait until the screen shows text; fail after the timeout. */
static void
tty_wait(struct tty *t, const char *text)
{
	struct pollfd	pfd = { t->fd, POLLIN, 0 };
	time_t		deadline = time(NULL) + H_TIMEOUT_MS / 1000;
	ssize_t		n;

	while (strstr(t->screen, text) == NULL) {
		ck_assert_msg(time(NULL) <= deadline && poll(&pfd, 1, 1000) >= 0,
		    "telnet never showed '%s'; screen:\n%s", text, t->screen);
		if (!(pfd.revents & (POLLIN | POLLHUP)))
			continue;
		n = read(t->fd, t->screen + t->len,
		    sizeof t->screen - 1 - t->len);
		ck_assert_msg(n > 0, "telnet's pty closed before '%s'; "
		    "screen:\n%s", text, t->screen);
		t->len += (size_t)n;
		t->screen[t->len] = '\0';
	}
}

/* Type a line and press Enter. */
static void
tty_type(struct tty *t, const char *line)
{
	ck_assert(write(t->fd, line, strlen(line)) == (ssize_t)strlen(line));
	ck_assert(write(t->fd, "\r", 1) == 1);
}

/* Wait for telnet to exit; returns 1 if it did. */
static int
tty_exited(struct tty *t)
{
	int	i, status;
	char	buf[4096];

	for (i = 0; i < 500; i++) {
		if (waitpid(t->pid, &status, WNOHANG) == t->pid) {
			close(t->fd);
			return 1;
		}
		/* Keep the pty drained so telnet never blocks writing. */
		while (read(t->fd, buf, sizeof buf) > 0)
			;
		usleep(10000);
	}
	kill(t->pid, SIGKILL);
	waitpid(t->pid, NULL, 0);
	close(t->fd);
	return 0;
}

START_TEST(test_telnet_chat)
{
	struct h_server	 s;
	struct h_conn	*bob;
	struct tty	 t;

	h_server_start(&s, NULL);
	bob = h_join_as(s.port, "bob");
	tty_start(&t, s.port);
	tty_wait(&t, "type /help");
	tty_wait(&t, "-!- you joined #lobby (2 users)");
	h_expect_prefix(bob, "-!- guest-");
	tty_type(&t, "/nick tel");
	tty_wait(&t, "-!- you are now known as tel");
	h_expect(bob, "-!- guest-2 is now known as tel");
	tty_type(&t, "hello from telnet");
	h_expect(bob, "<tel> hello from telnet");
	h_send(bob, "hi tel");
	tty_wait(&t, "<bob> hi tel");
	tty_type(&t, "/join #telly");
	tty_wait(&t, "-!- you joined #telly (1 user)");
	h_expect(bob, "-!- tel left #lobby");
	tty_type(&t, "/msg bob psst");
	tty_wait(&t, "-> *bob* psst");
	h_expect(bob, "*tel* psst");
	tty_type(&t, "/quit off to bed");
	tty_wait(&t, "-!- goodbye, tel");
	tty_wait(&t, "Connection closed by foreign host");
	ck_assert(tty_exited(&t));
	h_close(bob);
	ck_assert_int_eq(h_server_stop(&s), 0);
}
END_TEST

START_TEST(test_telnet_closes_first)
{
	struct h_server	 s;
	struct h_conn	*bob;
	struct tty	 t;

	h_server_start(&s, NULL);
	bob = h_join_as(s.port, "bob");
	tty_start(&t, s.port);
	tty_wait(&t, "-!- you joined #lobby");
	h_expect_prefix(bob, "-!- guest-");
	/* Ctrl-] reaches telnet's prompt; "quit" closes the connection. */
	ck_assert(write(t.fd, "\035", 1) == 1);
	tty_wait(&t, "telnet>");
	tty_type(&t, "quit");
	ck_assert(tty_exited(&t));
	h_expect_prefix(bob, "-!- guest-");
	ck_assert(strstr(bob->line, "quit (connection closed)") != NULL);
	h_close(bob);
	ck_assert_int_eq(h_server_stop(&s), 0);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("telnet");
	TCase	*tc = tcase_create("telnet");

	if (telnet_path() == NULL) {
		fprintf(stderr, "telnet not installed: skipped\n");
		return 77;
	}
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_telnet_chat);
	tcase_add_test(tc, test_telnet_closes_first);
	suite_add_tcase(s, tc);
	return check_run(s);
}
