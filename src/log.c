/*
 * log: the whole logging API of evchatd.  Every line goes to stderr with a
 * UTC timestamp and a level, so systemd's journal or a terminal can take it
 * as is.  It does no buffering of its own, no files and no syslog: stderr
 * is the one place an operator looks.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

/* The longest line written; a longer one is cut and ends in "...". */
#define LOG_LINE_MAX	1024

static enum log_level log_level = LOG_LEVEL_INFO;

static const char *const log_names[] = { "warn", "info", "debug" };

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
 * It is built whole and written with one write(2) (stderr has no buffer),
 * so a busy server spends one system call per line and lines from
 * several processes sharing a terminal never interleave.  The date part
 * of the stamp is formatted once a second.
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
	fwrite(line, 1, len, stderr);
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
