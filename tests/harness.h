/*
 * harness: what the integration tests share — start the real evchatd on
 * port 0, connect to it over loopback, send lines and wait for the lines
 * expected, every wait bounded by a timeout.
 */
#ifndef EVCHAT_HARNESS_H
#define EVCHAT_HARNESS_H

#include <sys/types.h>

#include <stddef.h>

#define H_TIMEOUT_MS	5000	/* how long any expected line may take */

/* A running evchatd. */
struct h_server {
	pid_t	pid;
	int	port;		/* the port it reported */
	char	log[64];	/* path of its stderr */
};

/* A client connection with its unread input. */
struct h_conn {
	int	fd;
	size_t	len;		/* bytes in buf */
	char	buf[1 << 17];
	char	line[1 << 16];	/* the last line read, no CRLF */
	char	nick[64];	/* the nick the welcome gave */
};

/* Start evchatd -l 127.0.0.1:0 with extra arguments (NULL-terminated). */
void	h_server_start(struct h_server *, const char *const *args);
/* The same on a given port of 127.0.0.1. */
void	h_server_start_port(struct h_server *, int port,
	    const char *const *args);
/* SIGTERM it and wait; returns its exit status (or -1 if it was killed). */
int	h_server_stop(struct h_server *);
/* Wait for it to exit on its own within timeout_ms; -1 if it did not. */
int	h_server_wait(struct h_server *, int timeout_ms);
/* Does its log contain this text? */
int	h_server_log_has(const struct h_server *, const char *);
/* Print its log to stderr (for a failing test). */
void	h_server_dump(const struct h_server *);

/* Connect without reading anything. */
struct h_conn *h_connect(int port);
/* Connect and wait until it is in #lobby; its nick is in nick. */
struct h_conn *h_join(int port);
/* Connect, join, and take a nick. */
struct h_conn *h_join_as(int port, const char *nick);
void	h_close(struct h_conn *);
/* Send raw bytes. */
void	h_send_raw(struct h_conn *, const void *, size_t);
/* Send one line; "\n" is added. */
void	h_send(struct h_conn *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* The next line (without CRLF), or NULL on timeout or EOF. */
const char *h_line(struct h_conn *, int timeout_ms);
/* The next line; the test fails if none comes or it differs from want. */
void	h_expect(struct h_conn *, const char *want);
/* Skip lines until one equals want; fails after the timeout. */
void	h_expect_skip(struct h_conn *, const char *want);
/* Skip lines until one starts with prefix; returns it. */
const char *h_expect_prefix(struct h_conn *, const char *prefix);
/* Nothing arrives within timeout_ms (no line, no EOF). */
void	h_expect_quiet(struct h_conn *, int timeout_ms);
/* The server closes the connection (EOF) within the timeout; returns 1. */
int	h_expect_eof(struct h_conn *, int timeout_ms);
/* Message oneself and wait for the copy: all before it was handled. */
void	h_sync(struct h_conn *);

#endif
