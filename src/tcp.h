/*
 * tcp: the TCP lifecycle made visible — each socket's state as the kernel
 * reports it (TCP_INFO), --trace-tcp's log lines, and the count of
 * TIME_WAIT sockets on given ports (/proc/net/tcp and tcp6).
 */
#ifndef EVCHAT_TCP_H
#define EVCHAT_TCP_H

#include <stddef.h>

struct sockaddr;

/* Write an address as "a.b.c.d:port" or "[v6]:port" ("?" if neither). */
void	tcp_format_addr(char *, size_t, const struct sockaddr *);
/* Turn --trace-tcp on or off. */
void	tcp_trace_enable(int);
/* Is --trace-tcp on? */
int	tcp_tracing(void);
/* The kernel's state of this socket (TCP_ESTABLISHED…), or -1. */
int	tcp_state(int fd);
/*
 * The state of a connection: TCP_INFO, or, once the kernel has moved it
 * to a TIME_WAIT socket and the fd only says CLOSE, /proc/net/tcp*.
 */
int	tcp_conn_state(int fd, const struct sockaddr *local,
	    const struct sockaddr *peer);
/* The kernel's name for a state: "ESTABLISHED", "FIN_WAIT1"… */
const char *tcp_state_name(int state);
/* With --trace-tcp: log "tcp WHO STATE (event)". */
void	tcp_trace(const char *who, int state, const char *event, ...)
	    __attribute__((format(printf, 3, 4)));
/* Sockets in TIME_WAIT whose local port is one of ports, or -1. */
long	tcp_count_time_wait(const int *ports, size_t nports);

#endif
