/*
 * check_log: the log module writes what it is given, one whole line at a
 * time, with stderr captured through a socket.
 */
#include "config.h"

#include <sys/socket.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_run.h"
#include "log.h"

static int	errfd[2] = { -1, -1 };
static int	saved = -1;

/*
 * stderr is a SOCK_SEQPACKET socket: each write(2) is one record and each
 * read one record, so the test sees how many writes a line took.
 */
static void
setup(void)
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, errfd), 0);
	ck_assert_int_eq(fcntl(errfd[0], F_SETFL, O_NONBLOCK), 0);
	saved = dup(STDERR_FILENO);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_eq(dup2(errfd[1], STDERR_FILENO), STDERR_FILENO);
}

static void
teardown(void)
{
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(errfd[0]);
	close(errfd[1]);
	log_set_level(LOG_LEVEL_INFO);
}

/* The next write(2) to stderr, or "" if there was none. */
static char *
logged(void)
{
	static char	buf[8192];
	ssize_t		n = read(errfd[0], buf, sizeof buf - 1);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* "2026-11-24T13:30:08.831Z info " then the message. */
static void
assert_stamped(const char *l, const char *level, const char *msg)
{
	ck_assert_uint_ge(strlen(l), 25);
	ck_assert(l[4] == '-' && l[10] == 'T' && l[19] == '.' && l[23] == 'Z');
	ck_assert(strncmp(l + 25, level, strlen(level)) == 0);
	ck_assert_str_eq(l + 25 + strlen(level) + 1, msg);
}

START_TEST(test_line_and_levels)
{
	log_info("client %d connected", 7);
	assert_stamped(logged(), "info", "client 7 connected\n");
	ck_assert_str_eq(logged(), "");		/* it was one write */
	log_debug("hidden");
	ck_assert_str_eq(logged(), "");
	log_set_level(LOG_LEVEL_DEBUG);
	log_debug("shown");
	assert_stamped(logged(), "debug", "shown\n");
	log_set_level(LOG_LEVEL_WARN);
	log_info("hidden");
	ck_assert_str_eq(logged(), "");
	errno = ENOENT;
	log_warn("open %s", "x");
	assert_stamped(logged(), "warn", "open x: No such file or directory\n");
	ck_assert_int_eq(errno, ENOENT);
	log_warnx("plain");
	assert_stamped(logged(), "warn", "plain\n");
}
END_TEST

/* A line too long for one write is cut, and says so. */
START_TEST(test_long_line_cut)
{
	char	 msg[3000];
	char	*l;

	memset(msg, 'm', sizeof msg - 1);
	msg[sizeof msg - 1] = '\0';
	log_info("%s", msg);
	l = logged();
	ck_assert_uint_eq(strlen(l), 1024);
	ck_assert_str_eq(l + 1024 - 4, "...\n");
	ck_assert(strchr(l, '\n') == l + 1023);
	/* A line that just fits is not marked as cut. */
	log_info("%s", msg + sizeof msg - 1 - (1023 - 30));
	l = logged();
	ck_assert_uint_eq(strlen(l), 1024);
	ck_assert_str_eq(l + 1024 - 4, "mmm\n");
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("log");
	TCase	*tc = tcase_create("log");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_line_and_levels);
	tcase_add_test(tc, test_long_line_cut);
	suite_add_tcase(s, tc);
	return check_run(s);
}
