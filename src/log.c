/*
 * log: the whole logging API of evchatd.  Every line goes to stderr with a
 * UTC timestamp and a level, so systemd's journal or a terminal can take it
 * as is.  No files and no syslog: stderr is the one place an operator
 * looks.
 *
 * While the server's loop runs (log_buffer), info and debug lines are
 * gathered and written together once per loop pass (or per 16 KiB): a
 * burst of connections costs one write(2) per pass, not two per
 * connection.  A warning is written at once, after every line before it.
 * Should the server die of a signal (a crash such as SIGSEGV or SIGABRT,
 * or SIGHUP, SIGQUIT and the like, which it does not handle), a handler
 * writes what is gathered before the signal takes its course.  Lost with
 * the process are only lines gathered when it is killed by SIGKILL, or
 * dies where the handler cannot run (another handler owns the signal,
 * as a sanitizer's may; no stack left).
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"

/* The longest line written; a longer one is cut and ends in "...". */
#define LOG_LINE_MAX	1024
/* Lines gathered while buffering; a full buffer is written at once. */
#define LOG_BUF_SIZE	16384

static enum log_level log_level = LOG_LEVEL_INFO;

static const char *const log_names[] = { "warn", "info", "debug" };

static char	 log_buf[LOG_BUF_SIZE];
static size_t	 log_buf_len;
static void	(*log_wake)(void *);	/* buffering is on: the loop's hook */
static void	*log_wake_arg;
/* Every signal whose default ends the process, which log_crash sees. */
static const int log_crash_signals[] = {
	SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS, SIGQUIT,
	SIGXCPU, SIGXFSZ, SIGHUP, SIGINT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM,
	SIGVTALRM, SIGPROF, SIGPIPE
};

void
log_set_level(enum log_level level)
{
	log_level = level;
}

int
log_enabled(enum log_level level)
{
	return level <= log_level;
}

static void	log_vwrite(enum log_level, int, const char *, va_list)
		    __attribute__((format(printf, 3, 0)));

/* Write len bytes to stderr whole, as far as stderr lets us. */
static void
log_out(const char *p, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(STDERR_FILENO, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return;		/* nowhere to say so */
		}
		p += n;
		len -= (size_t)n;
	}
}

void
log_flush(void)
{
	int	saved = errno;

	log_out(log_buf, log_buf_len);
	log_buf_len = 0;
	errno = saved;
}

/*
 * A death by signal: write what is gathered, then let the signal do what
 * it would have done.  write(2) is safe in a signal handler.  A line
 * still being copied into the buffer is not counted in it yet (see
 * log_vwrite), and a crash in the middle of log_flush's write writes
 * some lines twice.
 */
static void
log_crash(int sig)
{
	ssize_t	n = write(STDERR_FILENO, log_buf, log_buf_len);

	(void)n;		/* nothing more to be done */
	raise(sig);		/* SA_RESETHAND: as if never caught */
}

void
log_buffer(void (*wake)(void *), void *arg)
{
	struct sigaction	sa, old;
	size_t			i;

	log_flush();
	log_wake = wake;
	log_wake_arg = arg;
	if (wake == NULL)
		return;
	/* Only where nobody else handles them (a sanitizer might). */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = log_crash;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESETHAND;
	for (i = 0; i < sizeof log_crash_signals / sizeof log_crash_signals[0];
	    i++)
		if (sigaction(log_crash_signals[i], NULL, &old) == 0 &&
		    old.sa_handler == SIG_DFL)
			sigaction(log_crash_signals[i], &sa, NULL);
}

/*
 * The length of a line of size bytes after snprintf added n (what it
 * wanted to write): cut to fit, and *cut set if it was.
 */
static size_t
log_grow(size_t len, int n, size_t size, int *cut)
{
	if (n > 0)
		len += (size_t)n;
	if (len < size)
		return len;
	*cut = 1;
	return size - 1;
}

/*
 * Write one line: timestamp, level, message and an optional errno text.
 * It is built whole and written with one write(2), or gathered whole
 * while buffering, so lines from several processes sharing a terminal
 * never interleave.  The date part of the stamp is formatted once a
 * second.
 */
static void
log_vwrite(enum log_level level, int errnum, const char *fmt, va_list ap)
{
	static char	 stamp[32];
	static time_t	 stamp_sec = -1;
	char		 line[LOG_LINE_MAX];
	size_t		 len = 0;
	int		 cut = 0;
	struct timespec	 ts;
	struct tm	 tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != stamp_sec) {
		gmtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
		stamp_sec = ts.tv_sec;
	}
	len = log_grow(len, snprintf(line, sizeof line, "%s.%03ldZ %s ",
	    stamp, ts.tv_nsec / 1000000L, log_names[level]), sizeof line, &cut);
	len = log_grow(len, vsnprintf(line + len, sizeof line - len, fmt, ap),
	    sizeof line, &cut);
	if (errnum != 0 && !cut)
		len = log_grow(len, snprintf(line + len, sizeof line - len,
		    ": %s", strerror(errnum)), sizeof line, &cut);
	if (cut)
		memcpy(line + len - 3, "...", 3);	/* say so */
	line[len++] = '\n';
	if (log_wake == NULL || level == LOG_LEVEL_WARN) {
		log_flush();
		log_out(line, len);
		return;
	}
	if (log_buf_len + len > sizeof log_buf)
		log_flush();
	if (log_buf_len == 0)
		log_wake(log_wake_arg);
	memcpy(log_buf + log_buf_len, line, len);
	/* The line is whole before log_crash can count it. */
	atomic_signal_fence(memory_order_seq_cst);
	log_buf_len += len;
}

void
log_libevent(int severity, const char *msg)
{
	static const char *const names[] = { "debug", "msg", "warn", "error" };

	/* A warning: written at once, so no libevent call comes back. */
	log_warnx("libevent %s: %s", severity >= EVENT_LOG_DEBUG &&
	    severity <= EVENT_LOG_ERR ? names[severity] : "?", msg);
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;
	int	errnum = errno;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_WARN, errnum, fmt, ap);
	va_end(ap);
	errno = errnum;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_WARN, 0, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	if (!log_enabled(LOG_LEVEL_INFO))
		return;
	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_INFO, 0, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (!log_enabled(LOG_LEVEL_DEBUG))
		return;
	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_DEBUG, 0, fmt, ap);
	va_end(ap);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_WARN, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
