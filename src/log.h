/* log: timestamped, levelled messages on stderr. */
#ifndef EVCHAT_LOG_H
#define EVCHAT_LOG_H

enum log_level { LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* Set the most verbose level that is still printed. */
void	log_set_level(enum log_level);
/* Is a message of this level printed?  Lets callers skip costly formatting. */
int	log_enabled(enum log_level);

/*
 * Buffer info and debug lines from now on: wake(arg) is called when a
 * line goes into the empty buffer, and the caller is to call log_flush()
 * soon (the server: at the end of the loop pass).  A warning, or a full
 * buffer, writes them at once.  It also writes them if the process dies
 * of a signal left at its default (not SIGKILL, nor one that someone
 * else handles or ignores).  log_buffer(NULL, NULL) writes what is
 * gathered and goes back to a write per line.
 */
void	log_buffer(void (*wake)(void *), void *arg);
/* Write the gathered lines now; errno is kept. */
void	log_flush(void);
/*
 * For event_set_log_callback(3): libevent's own messages, as warnings
 * with their severity, in the same log as the rest instead of bare on
 * stderr.
 */
void	log_libevent(int severity, const char *msg);
/* A warning with strerror(errno) appended. */
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
/* A warning without errno. */
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
/* After start-up: log and exit(1); for states the server cannot survive. */
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
