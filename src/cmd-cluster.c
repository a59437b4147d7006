/*
 * cmd-cluster: the commands whose answer depends on other nodes (--redis).
 * Each sends its request and finishes in a continuation when Redis has
 * answered; a NULL result means the link went down meanwhile, and the
 * continuation answers from this node alone, exactly as a single server
 * would.  What users see is worded by the shared cmd_* functions, so one
 * server and a cluster read the same.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "cluster.h"
#include "cmd.h"
#include "history.h"
#include "log.h"
#include "room.h"

/* The guest number came back (or the link went): now greet. */
static void
cmd_cluster_guest_done(struct client *c, const struct cluster_result *res,
    const char *asked)
{
	struct chat	*chat = c->pool->chat;
	char		 nick[NAME_MAX_BYTES + 1];

	(void)asked;
	if (res != NULL) {
		snprintf(nick, sizeof nick, "guest-%lld", res->n);
		if ((unsigned long long)res->n >= chat->next_guest)
			chat->next_guest = (unsigned long)res->n + 1;
		if (chat_name(chat, &c->user, nick) == 0)
			log_debug("client %lu is %s", c->id, nick);
		else	/* someone here took it while the link was down */
			cluster_release(c->pool->cluster, nick);
	}
	if (c->user.flags & USER_UNNAMED)
		chat_guest(chat, &c->user);	/* this node alone */
	cmd_greet(c);
}

void
cmd_cluster_welcome(struct client *c)
{
	chat_unname(c->pool->chat, &c->user);
	cluster_claim_guest(c->pool->cluster, c, cmd_cluster_guest_done);
}

/*
 * The first member here: the room's history is Redis's, which saw what
 * was said while this node was not listening.
 */
static void
cmd_cluster_seed(struct room *r, const struct cluster_result *res)
{
	size_t	i, cap = r->history.cap;

	if (r->nmembers != 1)
		return;
	history_free(&r->history);
	history_init(&r->history, cap);
	for (i = 0; i < res->nitems; i++)
		history_add(&r->history, res->items[i], res->lens[i]);
}

static void
cmd_cluster_join_done(struct client *c, const struct cluster_result *res,
    const char *asked)
{
	struct chat	*chat = c->pool->chat;
	struct room	*r;

	if (res == NULL) {
		r = room_join(chat, &c->user, asked);
		cmd_arrive(c, r, r->nmembers, NULL, NULL, NULL, 0);
		return;
	}
	r = room_join(chat, &c->user, res->name);
	/*
	 * The first here takes the room's state from Redis; otherwise this
	 * node was listening and what it has is at least as new.
	 */
	cmd_cluster_seed(r, res);
	if (r->nmembers == 1 && res->topic[0] != '\0')
		cluster_set_topic(r, res->seq, res->topic, strlen(res->topic));
	/* The room as of the join; what changed since follows it. */
	cmd_arrive(c, r, (size_t)res->n, res->topic, res->items, res->lens,
	    res->nitems);
}

void
cmd_cluster_join(struct client *c, const char *room)
{
	cluster_join(c->pool->cluster, c, room, cmd_cluster_join_done);
}

static void
cmd_cluster_nick_done(struct client *c, const struct cluster_result *res,
    const char *asked)
{
	if (res != NULL && res->n == 0) {
		cmd_error(c, "nick %s is already in use", asked);
		return;
	}
	cmd_rename(c, asked);
}

void
cmd_cluster_nick(struct client *c, const char *nick)
{
	cluster_claim_nick(c->pool->cluster, c, nick, cmd_cluster_nick_done);
}

static void
cmd_cluster_who_done(struct client *c, const struct cluster_result *res,
    const char *asked)
{
	if (res == NULL) {
		cmd_who_local(c, asked);	/* this node alone */
		return;
	}
	if (res->name[0] == '\0') {
		cmd_error(c, "no such room: #%s (see /help)", asked);
		return;
	}
	cmd_who_list(c, res->name, res->nitems, res->items);
}

void
cmd_cluster_who(struct client *c, const char *room)
{
	cluster_who(c->pool->cluster, c, room, cmd_cluster_who_done);
}

static void
cmd_cluster_rooms_done(struct client *c, const struct cluster_result *res,
    const char *asked)
{
	size_t	i, n;

	(void)asked;
	if (res == NULL) {
		cmd_rooms_local(c);	/* this node alone */
		return;
	}
	n = res->nitems / 3;
	client_printf(c, "-!- %zu room%s:", n, n == 1 ? "" : "s");
	for (i = 0; i < n; i++)
		cmd_rooms_line(c, res->items[i * 3],
		    (size_t)strtoull(res->items[i * 3 + 1], NULL, 10),
		    res->items[i * 3 + 2]);
}

void
cmd_cluster_rooms(struct client *c)
{
	cluster_rooms(c->pool->cluster, c, cmd_cluster_rooms_done);
}

static void
cmd_cluster_msg_done(struct client *c, const struct cluster_result *res,
    const char *asked)
{
	size_t	skip = strlen(c->user.nick) + 3;	/* "*nick* " */

	if (res == NULL || res->name == NULL || res->text_len < skip + 2) {
		cmd_error(c, "no such nick: %s (see /help)", asked);
		return;
	}
	client_printf(c, "-> *%s* %.*s", res->name,
	    (int)(res->text_len - skip - 2), res->text + skip);
}

void
cmd_cluster_msg(struct client *c, const char *nick, const char *line,
    size_t len)
{
	cluster_msg(c->pool->cluster, c, nick, line, len,
	    cmd_cluster_msg_done);
}

void
cmd_cluster_publish(struct client *c, struct room *r, int say,
    const char *line, size_t len)
{
	cluster_publish(c->pool->cluster, r, say ? CLUSTER_SAY :
	    CLUSTER_NOTICE, line, len);
}

void
cmd_cluster_topic(struct client *c, const char *topic, const char *line,
    size_t len)
{
	/* The cluster sets it here too, even if the link goes meanwhile. */
	cluster_topic(c->pool->cluster, c, topic, line, len, NULL);
}

void
cmd_cluster_part(struct client *c, const char *room)
{
	cluster_part(c->pool->cluster, &c->user, room);
}

void
cmd_cluster_leave(struct client *c)
{
	cluster_leave(c->pool->cluster, &c->user);
}
