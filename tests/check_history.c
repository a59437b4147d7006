/*
 * check_history: the ring of a room's recent lines.  A cap of 0 keeps
 * nothing; below the cap every line is kept; past it only the newest cap
 * lines remain, oldest first, for many caps and many wrap-arounds; lines
 * are kept byte for byte (CRLF, NUL, 0xff, empty) and copied, not
 * borrowed; free and init again gives an empty ring.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "history.h"

/* Add a NUL-terminated string. */
static void
add_str(struct history *h, const char *s)
{
	history_add(h, s, strlen(s));
}

/* Assert that line i holds exactly len bytes of want. */
static void
expect_line(const struct history *h, size_t i, const char *want,
    size_t len)
{
	const struct history_line	*l;

	ck_assert_uint_lt(i, h->count);
	l = history_get(h, i);
	ck_assert_ptr_nonnull(l);
	ck_assert_uint_eq(l->len, len);
	if (len > 0)
		ck_assert_mem_eq(l->text, want, len);
}

START_TEST(test_cap_zero)
{
	struct history	h;
	int		i;

	history_init(&h, 0);
	ck_assert_uint_eq(h.count, 0);
	for (i = 0; i < 10; i++)
		add_str(&h, "<alice> hello\r\n");
	ck_assert_uint_eq(h.count, 0);
	history_free(&h);
	ck_assert_uint_eq(h.count, 0);
}
END_TEST

START_TEST(test_empty)
{
	struct history	h;

	history_init(&h, 20);
	ck_assert_uint_eq(h.count, 0);
	history_free(&h);		/* nothing was ever added */
	ck_assert_uint_eq(h.count, 0);
}
END_TEST

START_TEST(test_fewer_than_cap)
{
	struct history	h;

	history_init(&h, 5);
	add_str(&h, "<a> one\r\n");
	add_str(&h, "<b> two\r\n");
	add_str(&h, "* c three\r\n");
	ck_assert_uint_eq(h.count, 3);
	expect_line(&h, 0, "<a> one\r\n", 9);
	expect_line(&h, 1, "<b> two\r\n", 9);
	expect_line(&h, 2, "* c three\r\n", 11);
	history_free(&h);
}
END_TEST

START_TEST(test_exactly_cap)
{
	struct history	h;

	history_init(&h, 3);
	add_str(&h, "1");
	add_str(&h, "2");
	add_str(&h, "3");
	ck_assert_uint_eq(h.count, 3);
	expect_line(&h, 0, "1", 1);
	expect_line(&h, 2, "3", 1);
	add_str(&h, "4");
	ck_assert_uint_eq(h.count, 3);
	expect_line(&h, 0, "2", 1);
	expect_line(&h, 1, "3", 1);
	expect_line(&h, 2, "4", 1);
	history_free(&h);
}
END_TEST

/*
 * For several caps, add lines one by one well past the cap; after each
 * add the ring holds the newest min(added, cap) lines, oldest first.
 */
START_TEST(test_wrap_around)
{
	static const size_t	caps[] = { 1, 2, 3, 7, 20 };
	struct history		h;
	char			want[32];
	size_t			c, cap, added, i, count, first;
	int			n;

	for (c = 0; c < sizeof caps / sizeof caps[0]; c++) {
		cap = caps[c];
		history_init(&h, cap);
		for (added = 1; added <= 5 * cap + 3; added++) {
			n = snprintf(want, sizeof want, "<u> line %zu\r\n",
			    added - 1);
			history_add(&h, want, (size_t)n);
			count = added < cap ? added : cap;
			ck_assert_uint_eq(h.count, count);
			first = added - count;
			for (i = 0; i < count; i++) {
				n = snprintf(want, sizeof want,
				    "<u> line %zu\r\n", first + i);
				expect_line(&h, i, want, (size_t)n);
			}
		}
		history_free(&h);
	}
}
END_TEST

START_TEST(test_exact_bytes)
{
	static const char	nul[] = "<bob> a\0b\r\n";
	static const char	high[] = "<\xed\x95\x9c> \xff\xfe\x80\r\n";
	static char		big[65536];
	struct history		h;
	size_t			i;

	for (i = 0; i < sizeof big; i++)
		big[i] = (char)(i * 7 + 3);
	history_init(&h, 4);
	history_add(&h, nul, sizeof nul - 1);
	history_add(&h, high, sizeof high - 1);
	history_add(&h, "", 0);
	history_add(&h, big, sizeof big);
	expect_line(&h, 0, nul, sizeof nul - 1);
	expect_line(&h, 1, high, sizeof high - 1);
	expect_line(&h, 2, "", 0);
	expect_line(&h, 3, big, sizeof big);
	history_free(&h);
}
END_TEST

/* The ring keeps its own copy: the sender's buffer is reused at once. */
START_TEST(test_copies)
{
	struct history	h;
	char		buf[32];

	history_init(&h, 2);
	strcpy(buf, "<a> first\r\n");
	history_add(&h, buf, strlen(buf));
	memset(buf, 'X', sizeof buf);
	strcpy(buf, "<a> second\r\n");
	history_add(&h, buf, strlen(buf));
	memset(buf, 0, sizeof buf);
	expect_line(&h, 0, "<a> first\r\n", 11);
	expect_line(&h, 1, "<a> second\r\n", 12);
	history_free(&h);
}
END_TEST

START_TEST(test_free_and_reinit)
{
	struct history	h;

	history_init(&h, 2);
	add_str(&h, "one");
	add_str(&h, "two");
	add_str(&h, "three");
	history_free(&h);
	ck_assert_uint_eq(h.count, 0);

	history_init(&h, 3);
	ck_assert_uint_eq(h.count, 0);
	add_str(&h, "four");
	ck_assert_uint_eq(h.count, 1);
	expect_line(&h, 0, "four", 4);
	add_str(&h, "five");
	add_str(&h, "six");
	add_str(&h, "seven");
	ck_assert_uint_eq(h.count, 3);
	expect_line(&h, 0, "five", 4);
	expect_line(&h, 2, "seven", 5);
	history_free(&h);

	history_init(&h, 0);		/* and down to nothing */
	add_str(&h, "eight");
	ck_assert_uint_eq(h.count, 0);
	history_free(&h);
}
END_TEST

static Suite *
history_suite(void)
{
	Suite	*s = suite_create("history");
	TCase	*tc;

	tc = tcase_create("ring");
	tcase_add_test(tc, test_cap_zero);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_fewer_than_cap);
	tcase_add_test(tc, test_exactly_cap);
	tcase_add_test(tc, test_wrap_around);
	suite_add_tcase(s, tc);

	tc = tcase_create("bytes");
	tcase_add_test(tc, test_exact_bytes);
	tcase_add_test(tc, test_copies);
	tcase_add_test(tc, test_free_and_reinit);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(history_suite());
}
