/*
 * check_log: the log module writes what it is given, one whole line at a
 * time, or whole lines gathered while buffering, with stderr captured
 * through a socket.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/event_struct.h>

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
	log_buffer(NULL, NULL);
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
	static char	buf[32768];		/* more than a full buffer */
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

static int	wakes;

static void
wake(void *arg)
{
	ck_assert_ptr_eq(arg, &wakes);
	wakes++;
}

/*
 * Buffered, info lines wait for log_flush() and go out in one write; the
 * loop is woken once per filling of the empty buffer.  A warning goes out
 * at once, after the lines before it.
 */
START_TEST(test_buffered)
{
	char	*l;

	log_buffer(wake, &wakes);
	log_info("one");
	log_info("two");
	ck_assert_str_eq(logged(), "");
	ck_assert_int_eq(wakes, 1);
	log_flush();
	l = logged();
	ck_assert_ptr_nonnull(strstr(l, " info one\n"));
	ck_assert_ptr_nonnull(strstr(l, " info two\n"));
	ck_assert(strncmp(strchr(l, '\n') + 1, "20", 2) == 0);	/* 2 lines */
	ck_assert_ptr_eq(strchr(strchr(l, '\n') + 1, '\n'), l + strlen(l) - 1);
	ck_assert_str_eq(logged(), "");
	log_flush();				/* nothing: no write */
	ck_assert_str_eq(logged(), "");

	log_info("three");
	ck_assert_int_eq(wakes, 2);
	log_warnx("four");
	assert_stamped(logged(), "info", "three\n");
	assert_stamped(logged(), "warn", "four\n");
	log_info("five");
	log_buffer(NULL, NULL);			/* writes it, and stops */
	assert_stamped(logged(), "info", "five\n");
	log_info("six");
	assert_stamped(logged(), "info", "six\n");
	ck_assert_int_eq(wakes, 3);
}
END_TEST

/* A full buffer is written at once; no line is split between writes. */
START_TEST(test_buffer_full)
{
	char	 msg[500];			/* 530-byte lines */
	char	*l;
	int	 i, writes = 0;
	size_t	 total = 0;

	memset(msg, 'm', sizeof msg - 1);
	msg[sizeof msg - 1] = '\0';
	log_buffer(wake, &wakes);
	for (i = 0; i < 70; i++)
		log_info("%s", msg);
	while (*(l = logged()) != '\0') {
		ck_assert_uint_le(strlen(l), 16384);
		ck_assert(l[strlen(l) - 1] == '\n');
		total += strlen(l);
		writes++;
	}
	ck_assert_int_ge(writes, 2);
	log_flush();
	while (*(l = logged()) != '\0')
		total += strlen(l);
	ck_assert_uint_eq(total, 70 * (25 + 5 + sizeof msg));
}
END_TEST

/* Signals that end a process: a crash, and one that merely terminates. */
static const int	deaths[] = { SIGABRT, SIGHUP };

/* A death by signal writes the gathered lines before it ends the process. */
START_TEST(test_crash_writes)
{
	struct rlimit	 nocore = { 0, 0 };
	pid_t		 pid;
	int		 status;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		setrlimit(RLIMIT_CORE, &nocore);
		signal(deaths[_i], SIG_DFL);
		log_buffer(wake, &wakes);
		log_info("last words");
		if (deaths[_i] == SIGABRT)
			abort();
		kill(getpid(), deaths[_i]);
		_exit(0);	/* not reached */
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status));
	ck_assert_int_eq(WTERMSIG(status), deaths[_i]);
	assert_stamped(logged(), "info", "last words\n");
}
END_TEST

/* libevent's messages come as warnings, whatever their severity. */
START_TEST(test_libevent)
{
	struct event	ev;

	log_libevent(EVENT_LOG_MSG, "hello");
	assert_stamped(logged(), "warn", "libevent msg: hello\n");
	log_libevent(7, "odd");
	assert_stamped(logged(), "warn", "libevent ?: odd\n");
	event_set_log_callback(log_libevent);
	memset(&ev, 0, sizeof ev);
	ck_assert_int_eq(event_add(&ev, NULL), -1);	/* it has no base */
	ck_assert_ptr_nonnull(strstr(logged(), " warn libevent warn: "));
	event_set_log_callback(NULL);
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
	tcase_add_test(tc, test_buffered);
	tcase_add_test(tc, test_buffer_full);
	tcase_add_loop_test(tc, test_crash_writes, 0,
	    sizeof deaths / sizeof deaths[0]);
	tcase_add_test(tc, test_libevent);
	suite_add_tcase(s, tc);
	return check_run(s);
}
