/*
 * tcp: what the kernel knows about our connections, read rather than
 * guessed.  States come from getsockopt(TCP_INFO)'s tcpi_state and carry
 * the kernel's own names, so --trace-tcp shows ESTABLISHED, CLOSE_WAIT,
 * FIN_WAIT1, FIN_WAIT2, LAST_ACK and TIME_WAIT exactly as ss(8) would.
 * TIME_WAIT sockets no longer belong to any process, so they are counted
 * from /proc/net/tcp and /proc/net/tcp6 by local port.
 *
 * This module only observes: it never changes a socket.  It also owns
 * the one way evchatd writes a socket address.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "tcp.h"

#define TCP_PROC_TIME_WAIT	6	/* TCP_TIME_WAIT in /proc/net/tcp */

static int	tcp_trace_on;

/* Indexed by the kernel's enum (include/net/tcp_states.h). */
static const char *const tcp_names[] = {
	"UNKNOWN", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1",
	"FIN_WAIT2", "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK",
	"LISTEN", "CLOSING", "NEW_SYN_RECV"
};

void
tcp_format_addr(char *buf, size_t size, const struct sockaddr *sa)
{
	char	host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
		snprintf(buf, size, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
		snprintf(buf, size, "%s:%u", host, ntohs(s4->sin_port));
	} else
		snprintf(buf, size, "?");
}

void
tcp_trace_enable(int on)
{
	tcp_trace_on = on;
}

int
tcp_tracing(void)
{
	return tcp_trace_on;
}

int
tcp_state(int fd)
{
	struct tcp_info	ti;
	socklen_t	len = sizeof ti;

	memset(&ti, 0, sizeof ti);
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1)
		return -1;
	return ti.tcpi_state;
}

const char *
tcp_state_name(int state)
{
	if (state < 0 ||
	    (size_t)state >= sizeof tcp_names / sizeof tcp_names[0])
		return "UNKNOWN";
	return tcp_names[state];
}

void
tcp_trace(const char *who, int state, const char *fmt, ...)
{
	char	event[128];
	va_list	ap;

	if (!tcp_trace_on)
		return;
	va_start(ap, fmt);
	vsnprintf(event, sizeof event, fmt, ap);
	va_end(ap);
	log_info("tcp %s %s (%s)", who, tcp_state_name(state), event);
}

/*
 * Does a /proc/net/tcp* address ("0100007F:1BA6", or 32 hex digits for
 * IPv6) name this socket address?  The kernel prints each 32-bit word of
 * the address as a native integer, so compare words, not bytes.
 */
static int
tcp_proc_addr_is(const char *hex, unsigned port, const struct sockaddr *sa)
{
	const uint32_t	*words;
	char		 word[9];
	size_t		 i, n;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		words = &s4->sin_addr.s_addr;
		n = 1;
		if (ntohs(s4->sin_port) != port)
			return 0;
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		words = (const uint32_t *)(const void *)&s6->sin6_addr;
		n = 4;
		if (ntohs(s6->sin6_port) != port)
			return 0;
	} else
		return 0;
	if (strlen(hex) != n * 8)
		return 0;
	for (i = 0; i < n; i++) {
		memcpy(word, hex + i * 8, 8);
		word[8] = '\0';
		if ((uint32_t)strtoul(word, NULL, 16) != words[i])
			return 0;
	}
	return 1;
}

int
tcp_conn_state(int fd, const struct sockaddr *local,
    const struct sockaddr *peer)
{
	FILE		*f;
	char		 line[512], la[33], ra[33];
	unsigned	 lp, rp, st;
	int		 state = tcp_state(fd);

	if (state != TCP_CLOSE || local == NULL || peer == NULL)
		return state;
	f = fopen(local->sa_family == AF_INET6 ? "/proc/net/tcp6" :
	    "/proc/net/tcp", "r");
	if (f == NULL)
		return state;
	while (fgets(line, sizeof line, f) != NULL) {
		if (sscanf(line, " %*u: %32[0-9A-Fa-f]:%x %32[0-9A-Fa-f]:%x %x",
		    la, &lp, ra, &rp, &st) == 5 &&
		    tcp_proc_addr_is(la, lp, local) &&
		    tcp_proc_addr_is(ra, rp, peer)) {
			state = (int)st;
			break;
		}
	}
	fclose(f);
	return state;
}

/* Count one /proc/net/tcp* file's TIME_WAIT lines on our ports. */
static long
tcp_count_file(const char *path, const int *ports, size_t nports)
{
	FILE		*f = fopen(path, "r");
	char		 line[512];
	unsigned	 port, state;
	long		 n = 0;
	size_t		 i;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL) {
		if (sscanf(line, " %*u: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x",
		    &port, &state) != 2 || state != TCP_PROC_TIME_WAIT)
			continue;
		for (i = 0; i < nports; i++)
			if ((unsigned)ports[i] == port) {
				n++;
				break;
			}
	}
	fclose(f);
	return n;
}

long
tcp_count_time_wait(const int *ports, size_t nports)
{
	long	v4 = tcp_count_file("/proc/net/tcp", ports, nports);
	long	v6 = tcp_count_file("/proc/net/tcp6", ports, nports);

	if (v4 < 0 && v6 < 0)
		return -1;
	return (v4 < 0 ? 0 : v4) + (v6 < 0 ? 0 : v6);
}
