/*
 * check_fanout: 100 clients in one room, every one of them says one
 * thing, and every client receives every other client's line exactly
 * once — none lost, none doubled, none echoed — from the real evchatd.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "harness.h"

#define NCLIENTS	100

START_TEST(test_hundred_clients)
{
	struct h_server	  s;
	struct h_conn	**c = calloc(NCLIENTS, sizeof *c);
	unsigned char	 *seen = calloc(NCLIENTS, 1);
	const char	 *l;
	char		  want[160];
	int		  i, j, from, got;

	h_server_start(&s, NULL);
	for (i = 0; i < NCLIENTS; i++)
		c[i] = h_join(s.port);
	/* The last joiner was announced to the first: everyone is in. */
	snprintf(want, sizeof want, "-!- %s joined #lobby",
	    c[NCLIENTS - 1]->nick);
	h_expect_skip(c[0], want);
	for (i = 0; i < NCLIENTS; i++)
		h_send(c[i], "message %d from %s", i, c[i]->nick);
	for (i = 0; i < NCLIENTS; i++) {
		memset(seen, 0, NCLIENTS);
		for (got = 0; got < NCLIENTS - 1;) {
			l = h_line(c[i], H_TIMEOUT_MS);
			ck_assert_msg(l != NULL, "client %d got %d of %d", i,
			    got, NCLIENTS - 1);
			if (strncmp(l, "-!- ", 4) == 0)
				continue;
			ck_assert_int_eq(sscanf(l, "<%*[^>]> message %d",
			    &from), 1);
			ck_assert_msg(from != i, "client %d got its own line",
			    i);
			ck_assert_msg(!seen[from], "client %d got %d twice", i,
			    from);
			seen[from] = 1;
			got++;
		}
	}
	/* A round trip each: nothing more was queued behind those lines. */
	for (i = 0; i < NCLIENTS; i++) {
		snprintf(want, sizeof want, "done %d", i);
		h_send(c[i], "/msg %s %s", c[i]->nick, want);
		snprintf(want, sizeof want, "-> *%s* done %d", c[i]->nick, i);
		while ((l = h_line(c[i], H_TIMEOUT_MS)) != NULL &&
		    strcmp(l, want) != 0)
			ck_assert_msg(l[0] != '<', "extra line '%s'", l);
		ck_assert_ptr_nonnull(l);
	}
	for (j = 0; j < NCLIENTS; j++)
		h_close(c[j]);
	ck_assert_int_eq(h_server_stop(&s), 0);
	free(c);
	free(seen);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("fanout");
	TCase	*tc = tcase_create("fanout");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_hundred_clients);
	suite_add_tcase(s, tc);
	return check_run(s);
}
