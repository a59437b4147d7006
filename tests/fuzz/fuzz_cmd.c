/*
 * fuzz_cmd: libFuzzer target for the command layer, run for real.  Two
 * clients on socketpairs sit in a chat; each input is cut into lines that
 * the first byte of every line assigns to one of them, and every line goes
 * through cmd_dispatch exactly as from the network.  The loop then runs
 * once so output drains, the peers' ends are emptied, and the reaper runs;
 * a client that quit is replaced.  ASan and UBSan judge the rest.
 */
#include "config.h"

#include <sys/socket.h>

#include <event2/event.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "cmd.h"
#include "log.h"
#include "room.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_CLIENTS	2

static struct event_base	*base;
static struct chat		 chat;
static struct client_pool	 pool;
static struct event		*reap_ev;
static struct client		*clients[FUZZ_CLIENTS];
static int			 peers[FUZZ_CLIENTS];

static void
fuzz_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	client_pool_reap(arg);
}

/* A fresh client in slot i, its peer end non-blocking. */
static void
fuzz_connect(int i)
{
	int		sv[2];
	struct sockaddr	sa = { .sa_family = AF_UNIX };

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == -1)
		abort();
	clients[i] = client_new(&pool, sv[0], &sa, sizeof sa);
	cmd_welcome(clients[i]);
	peers[i] = sv[1];
}

static void
fuzz_init(void)
{
	int	i;

	log_set_level(LOG_LEVEL_WARN);
	base = event_base_new();
	chat_init(&chat, 5);
	client_pool_init(&pool, base, &chat, 512);
	chat.sendq = 1 << 20;
	pool.dispatch = cmd_dispatch;
	pool.depart = cmd_depart;
	reap_ev = event_new(base, -1, 0, fuzz_reap_cb, &pool);
	pool.reap_ev = reap_ev;
	for (i = 0; i < FUZZ_CLIENTS; i++)
		fuzz_connect(i);
}

/* Let output drain, empty the peers' ends, reap, replace the departed. */
static void
fuzz_settle(void)
{
	char	buf[65536];
	int	i;

	event_base_loop(base, EVLOOP_NONBLOCK);
	for (i = 0; i < FUZZ_CLIENTS; i++)
		while (read(peers[i], buf, sizeof buf) > 0)
			;
	client_pool_reap(&pool);
	for (i = 0; i < FUZZ_CLIENTS; i++) {
		if (client_closing(clients[i])) {
			/* Its peer hangs up; the loop finishes the close. */
			close(peers[i]);
			event_base_loop(base, EVLOOP_NONBLOCK);
			client_pool_reap(&pool);
			fuzz_connect(i);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	line[600];
	size_t	start = 0, end, len;
	int	who;

	if (base == NULL)
		fuzz_init();
	while (start < size) {
		for (end = start; end < size && data[end] != '\n'; end++)
			;
		who = data[start] % FUZZ_CLIENTS;
		len = end - start;
		if (len > 0) {
			len--;		/* the selector byte */
			if (len >= sizeof line)
				len = sizeof line - 1;
			memcpy(line, data + start + 1, len);
			line[len] = '\0';
			if (!client_closing(clients[who]))
				cmd_dispatch(clients[who], line, len);
		}
		start = end + 1;
	}
	fuzz_settle();
	return 0;
}
