/* log: timestamped, levelled messages on stderr. */
#ifndef EVCHAT_LOG_H
#define EVCHAT_LOG_H

enum log_level { LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* Set the most verbose level that is still printed. */
void	log_set_level(enum log_level);
/* Is a message of this level printed?  Lets callers skip costly formatting. */
int	log_enabled(enum log_level);

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
