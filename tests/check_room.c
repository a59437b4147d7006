/*
 * check_room: the room module on its own — nick registry, rooms created
 * on demand and removed when empty (#lobby stays), memberships, topics,
 * history and broadcast — with users writing into plain evbuffers.
 */
#include "config.h"

#include <event2/buffer.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "room.h"

#define NUSERS	4

static struct chat	 chat;
static struct user	 users[NUSERS];
static struct evbuffer	*outs[NUSERS];

static void
setup(void)
{
	int	i;

	chat_init(&chat, 3);
	for (i = 0; i < NUSERS; i++) {
		outs[i] = evbuffer_new();
		chat_enter(&chat, &users[i], outs[i]);
	}
}

static void
teardown(void)
{
	int	i;

	for (i = 0; i < NUSERS; i++) {
		chat_leave(&chat, &users[i]);
		evbuffer_free(outs[i]);
	}
	chat_free(&chat);
}

/* Everything in b, as a string; b is emptied. */
static char *
take_all(struct evbuffer *b)
{
	static char	buf[32768];
	size_t		n = evbuffer_get_length(b);

	ck_assert_uint_lt(n, sizeof buf);
	evbuffer_remove(b, buf, n);
	buf[n] = '\0';
	return buf;
}

/* Everything queued for user i. */
static char *
take_queued(int i)
{
	return take_all(outs[i]);
}

/* The same once the rooms' lines are delivered, as the flush would. */
static char *
take(int i)
{
	chat_deliver(&chat);
	return take_queued(i);
}

static int	npending, nfull;	/* calls of the pending hook */

static void
count_pending(struct chat *c, int full)
{
	(void)c;
	npending++;
	nfull += full;
}

START_TEST(test_guest_nicks)
{
	ck_assert_str_eq(users[0].nick, "guest-1");
	ck_assert_str_eq(users[3].nick, "guest-4");
	ck_assert_ptr_eq(chat_find_user(&chat, "GUEST-2"), &users[1]);
	ck_assert_ptr_null(chat_find_user(&chat, "guest-9"));
}
END_TEST

START_TEST(test_guest_skips_taken)
{
	struct user	u;
	struct evbuffer	*b = evbuffer_new();

	ck_assert_int_eq(chat_rename(&chat, &users[0], "guest-5"), RENAME_OK);
	chat_enter(&chat, &u, b);
	ck_assert_str_eq(u.nick, "guest-6");
	chat_leave(&chat, &u);
	evbuffer_free(b);
}
END_TEST

START_TEST(test_rename)
{
	ck_assert_int_eq(chat_rename(&chat, &users[0], "alice"), RENAME_OK);
	ck_assert_int_eq(chat_rename(&chat, &users[1], "ALICE"),
	    RENAME_TAKEN);
	ck_assert_int_eq(chat_rename(&chat, &users[0], "alice"), RENAME_SAME);
	ck_assert_int_eq(chat_rename(&chat, &users[0], "Alice"), RENAME_OK);
	ck_assert_str_eq(users[0].nick, "Alice");
	ck_assert_ptr_eq(chat_find_user(&chat, "aLiCe"), &users[0]);
	ck_assert_ptr_null(chat_find_user(&chat, "guest-1"));
	ck_assert_int_eq(chat_rename(&chat, &users[1], "guest-1"), RENAME_OK);
}
END_TEST

START_TEST(test_rooms_on_demand)
{
	struct room	*r;

	ck_assert_uint_eq(chat.nrooms, 1);
	ck_assert_ptr_nonnull(chat_find_room(&chat, "LOBBY"));
	r = room_join(&chat, &users[0], "Rust");
	ck_assert_str_eq(r->name, "Rust");
	ck_assert_ptr_eq(room_join(&chat, &users[1], "rust"), r);
	ck_assert_uint_eq(r->nmembers, 2);
	ck_assert_uint_eq(chat.nrooms, 2);
	ck_assert_ptr_eq(room_of(&users[1]), r);
	room_part(&chat, &users[0]);
	ck_assert_ptr_nonnull(chat_find_room(&chat, "rust"));
	room_part(&chat, &users[1]);
	ck_assert_ptr_null(chat_find_room(&chat, "rust"));
	ck_assert_uint_eq(chat.nrooms, 1);
}
END_TEST

START_TEST(test_lobby_stays)
{
	room_join(&chat, &users[0], ROOM_LOBBY);
	room_part(&chat, &users[0]);
	ck_assert_ptr_eq(chat_find_room(&chat, ROOM_LOBBY), chat.lobby);
	ck_assert_uint_eq(chat.lobby->nmembers, 0);
}
END_TEST

START_TEST(test_broadcast_skips_sender_and_muted)
{
	struct room	*r;
	int		 i;

	for (i = 0; i < NUSERS; i++)
		r = room_join(&chat, &users[i], "a");
	users[2].flags |= USER_MUTED;
	room_broadcast(r, &users[0], "<x> hi\r\n", 8);
	ck_assert_str_eq(take(0), "");
	ck_assert_str_eq(take(1), "<x> hi\r\n");
	ck_assert_str_eq(take(2), "");
	ck_assert_str_eq(take(3), "<x> hi\r\n");
	room_broadcast(r, NULL, "-!- t\r\n", 7);
	ck_assert_str_eq(take(0), "-!- t\r\n");
}
END_TEST

START_TEST(test_isolation)
{
	struct room	*a, *b;

	a = room_join(&chat, &users[0], "a");
	room_join(&chat, &users[1], "a");
	b = room_join(&chat, &users[2], "b");
	room_say(a, &users[0], "<x> in a\r\n", 10);
	room_say(b, &users[2], "<y> in b\r\n", 10);
	ck_assert_str_eq(take(1), "<x> in a\r\n");
	ck_assert_str_eq(take(2), "");
	ck_assert_str_eq(take(3), "");
}
END_TEST

START_TEST(test_history_and_forget)
{
	struct room	*r;
	char		 line[32];
	int		 i;

	r = room_join(&chat, &users[0], "h");
	room_set_topic(r, "talk", 4);
	for (i = 0; i < 5; i++) {
		snprintf(line, sizeof line, "<x> %d\r\n", i);
		room_say(r, &users[0], line, strlen(line));
	}
	ck_assert_uint_eq(r->history.count, 3);
	ck_assert(memcmp(history_get(&r->history, 0)->text, "<x> 2\r\n",
	    7) == 0);
	ck_assert(memcmp(history_get(&r->history, 2)->text, "<x> 4\r\n",
	    7) == 0);
	room_part(&chat, &users[0]);
	r = room_join(&chat, &users[0], "h");
	ck_assert_ptr_null(r->topic);
	ck_assert_uint_eq(r->history.count, 0);
}
END_TEST

START_TEST(test_leave_parts_and_frees_nick)
{
	room_join(&chat, &users[0], "x");
	chat_leave(&chat, &users[0]);
	ck_assert_ptr_null(chat_find_room(&chat, "x"));
	ck_assert_ptr_null(chat_find_user(&chat, "guest-1"));
	/* teardown leaves everyone again: re-register so that stays valid */
	chat_enter(&chat, &users[0], outs[0]);
}
END_TEST

START_TEST(test_many_members)
{
	struct user	 *many = calloc(2000, sizeof *many);
	struct evbuffer	 *b = evbuffer_new();
	struct room	 *r = NULL;
	int		  i;

	for (i = 0; i < 2000; i++) {
		chat_enter(&chat, &many[i], b);
		r = room_join(&chat, &many[i], "big");
	}
	ck_assert_uint_eq(r->nmembers, 2000);
	room_broadcast(r, &many[0], "z\r\n", 3);
	chat_deliver(&chat);
	ck_assert_uint_eq(evbuffer_get_length(b), 1999 * 3);
	for (i = 0; i < 2000; i++)
		chat_leave(&chat, &many[i]);
	ck_assert_ptr_null(chat_find_room(&chat, "big"));
	ck_assert_uint_eq(chat.nicks.count, NUSERS);
	evbuffer_free(b);
	free(many);
}
END_TEST

/*
 * A room's lines are formatted once and wait in the room, waking its
 * owner once per batch; a member gets them before anything sent to it
 * alone, and never its own.
 */
START_TEST(test_pending_kept_in_order)
{
	struct room	*r = NULL;
	int		 i;

	npending = nfull = 0;
	chat.pending = count_pending;
	for (i = 0; i < 3; i++)
		r = room_join(&chat, &users[i], "o");
	room_broadcast(r, &users[0], "<a> one\r\n", 9);
	room_broadcast(r, &users[1], "<b> two\r\n", 9);
	ck_assert_int_eq(npending, 1);
	ck_assert_uint_eq(evbuffer_get_length(outs[2]), 0);
	user_send(&users[2], "-> psst\r\n", 9);
	ck_assert_str_eq(take_queued(2), "<a> one\r\n<b> two\r\n-> psst\r\n");
	user_printf(&users[1], "-!- %s", "note");
	ck_assert_str_eq(take_queued(1), "<a> one\r\n-!- note\r\n");
	ck_assert_str_eq(take(0), "<b> two\r\n");
	ck_assert_str_eq(take(1), "");
	ck_assert_str_eq(take(2), "");
	ck_assert_ptr_null(r->pend);
	room_broadcast(r, NULL, "-!- t\r\n", 7);
	ck_assert_int_eq(npending, 2);
	ck_assert_int_eq(nfull, 0);
	chat.pending = NULL;
}
END_TEST

/* Who joins later misses what was said; who leaves takes it along. */
START_TEST(test_pending_join_and_part)
{
	struct room	*r;

	r = room_join(&chat, &users[0], "p");
	room_join(&chat, &users[1], "p");
	room_broadcast(r, NULL, "-!- before\r\n", 12);
	room_join(&chat, &users[2], "p");
	room_broadcast(r, &users[2], "-!- c joined\r\n", 14);
	room_part(&chat, &users[1]);
	ck_assert_str_eq(take_queued(1), "-!- before\r\n-!- c joined\r\n");
	room_broadcast(r, NULL, "-!- after\r\n", 11);
	ck_assert_str_eq(take(0),
	    "-!- before\r\n-!- c joined\r\n-!- after\r\n");
	ck_assert_str_eq(take(1), "");
	ck_assert_str_eq(take(2), "-!- after\r\n");
	/* Who leaves last takes the last lines; the room goes with none. */
	room_broadcast(r, NULL, "-!- last\r\n", 10);
	room_part(&chat, &users[0]);
	room_part(&chat, &users[2]);
	ck_assert_ptr_null(chat_find_room(&chat, "p"));
	ck_assert_ptr_null(TAILQ_FIRST(&chat.pend_rooms));
	ck_assert_str_eq(take_queued(0), "-!- last\r\n");
	ck_assert_str_eq(take_queued(2), "-!- last\r\n");
}
END_TEST

/*
 * A room holding ROOM_PEND_MAX bytes, or half of sendq if that is less,
 * asks to be delivered at once.
 */
START_TEST(test_pending_full)
{
	static const size_t sendqs[] = { 0, 4096 };
	struct room	*r;
	char		 line[1000];
	int		 i, n;

	chat.sendq = sendqs[_i];
	n = (int)(chat_batch_max(&chat) / sizeof line) + 1;
	ck_assert_int_eq(n, _i == 0 ? ROOM_PEND_MAX / 1000 + 1 : 3);
	npending = nfull = 0;
	chat.pending = count_pending;
	memset(line, 'x', sizeof line - 2);
	memcpy(line + sizeof line - 2, "\r\n", 2);
	r = room_join(&chat, &users[0], "f");
	for (i = 0; i < n; i++) {
		room_broadcast(r, NULL, line, sizeof line);
		ck_assert_int_eq(nfull, i == n - 1);
	}
	ck_assert_uint_eq(strlen(take(0)), (size_t)n * sizeof line);
	chat.pending = NULL;
}
END_TEST

/* Saying nothing leaves no block behind and changes nothing. */
START_TEST(test_broadcast_empty)
{
	struct room	*r;

	npending = 0;
	chat.pending = count_pending;
	r = room_join(&chat, &users[0], "e");
	room_join(&chat, &users[1], "e");
	room_broadcast(r, NULL, "", 0);
	ck_assert_int_eq(npending, 0);
	ck_assert_ptr_null(TAILQ_FIRST(&chat.pend_rooms));
	room_broadcast(r, &users[0], "<a> x\r\n", 7);
	room_broadcast(r, NULL, "", 0);
	ck_assert_str_eq(take(1), "<a> x\r\n");
	ck_assert_str_eq(take(0), "");
	room_part(&chat, &users[0]);
	room_broadcast(r, NULL, "", 0);
	room_part(&chat, &users[1]);
	ck_assert_ptr_null(TAILQ_FIRST(&chat.pend_rooms));
	chat.pending = NULL;
}
END_TEST

/* The send hook: a "connection" per user that takes up to room_for[i]. */
static struct evbuffer	*wire[NUSERS];
static size_t		 room_for[NUSERS];
static int		 nsends[NUSERS];

static size_t
fake_send(struct user *u, const char *text, size_t len)
{
	int	i = (int)(u - users);

	nsends[i]++;
	if (len > room_for[i])
		len = room_for[i];
	evbuffer_add(wire[i], text, len);
	room_for[i] -= len;
	return len;
}

/* What user i's connection took. */
static char *
take_wire(int i)
{
	return take_all(wire[i]);
}

/*
 * A delivery writes straight to a member with nothing queued and queues
 * only what its connection did not take; a member with a queue gets
 * the lines behind it, so nothing overtakes what was queued first.
 */
START_TEST(test_send_hook)
{
	struct room	*r = NULL;
	int		 i;

	for (i = 0; i < NUSERS; i++) {
		wire[i] = evbuffer_new();
		nsends[i] = 0;
		r = room_join(&chat, &users[i], "s");
	}
	room_for[0] = 1000;
	room_for[1] = 5;
	room_for[2] = 0;
	room_for[3] = 1000;
	chat.send = fake_send;
	user_send(&users[3], "-> psst\r\n", 9);
	room_broadcast(r, NULL, "<a> one\r\n", 9);
	room_broadcast(r, &users[2], "<c> two\r\n", 9);
	chat_deliver(&chat);
	ck_assert_str_eq(take_wire(0), "<a> one\r\n<c> two\r\n");
	ck_assert_str_eq(take_queued(0), "");
	ck_assert_str_eq(take_wire(1), "<a> o");
	ck_assert_str_eq(take_queued(1), "ne\r\n<c> two\r\n");
	ck_assert_str_eq(take_wire(2), "");
	ck_assert_str_eq(take_queued(2), "<a> one\r\n");
	ck_assert_int_eq(nsends[3], 0);
	ck_assert_str_eq(take_queued(3), "-> psst\r\n<a> one\r\n<c> two\r\n");
	/* A muted member is not written to at all. */
	user_mute(&users[0]);
	room_broadcast(r, NULL, "-!- x\r\n", 7);
	chat_deliver(&chat);
	ck_assert_int_eq(nsends[0], 1);
	ck_assert_str_eq(take_queued(0), "");
	ck_assert_str_eq(take_wire(3), "-!- x\r\n");
	chat.send = NULL;
	for (i = 0; i < NUSERS; i++)
		evbuffer_free(wire[i]);
}
END_TEST

START_TEST(test_user_printf)
{
	user_printf(&users[0], "-!- %s %d", "n", 5);
	ck_assert_str_eq(take(0), "-!- n 5\r\n");
	users[0].flags |= USER_MUTED;
	user_printf(&users[0], "-!- again");
	user_send(&users[0], "x\r\n", 3);
	ck_assert_str_eq(take(0), "");
}
END_TEST

static Suite *
room_suite(void)
{
	Suite	*s = suite_create("room");
	TCase	*tc = tcase_create("room");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_guest_nicks);
	tcase_add_test(tc, test_guest_skips_taken);
	tcase_add_test(tc, test_rename);
	tcase_add_test(tc, test_rooms_on_demand);
	tcase_add_test(tc, test_lobby_stays);
	tcase_add_test(tc, test_broadcast_skips_sender_and_muted);
	tcase_add_test(tc, test_isolation);
	tcase_add_test(tc, test_history_and_forget);
	tcase_add_test(tc, test_leave_parts_and_frees_nick);
	tcase_add_test(tc, test_many_members);
	tcase_add_test(tc, test_pending_kept_in_order);
	tcase_add_test(tc, test_pending_join_and_part);
	tcase_add_loop_test(tc, test_pending_full, 0, 2);
	tcase_add_test(tc, test_broadcast_empty);
	tcase_add_test(tc, test_send_hook);
	tcase_add_test(tc, test_user_printf);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(room_suite());
}
