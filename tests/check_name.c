/*
 * check_name: the rules for nicks and room names and the table that finds
 * them.  name_check from a table (length, UTF-8, whitespace, controls and
 * the reserved characters), name_equal, name_fold and name_hash ignoring
 * ASCII case and nothing else, and htab: insert, case-insensitive find,
 * remove, and growth to thousands of names and back to none.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "htab.h"
#include "name.h"

/* A string literal and its length, NULs included. */
#define B(s)	(s), (sizeof(s) - 1)

#define HAN	"\xed\x95\x9c"		/* U+D55C, 3 bytes */
#define GEUL	"\xea\xb8\x80"		/* U+AE00, 3 bytes */

struct check_case {
	const char		*in;
	size_t			 len;
	enum name_result	 want;
};

static const struct check_case check_cases[] = {
	{ B("a"), NAME_OK },
	{ B("alice"), NAME_OK },
	{ B("Alice_99"), NAME_OK },
	{ B("guest-5"), NAME_OK },
	{ B("lobby"), NAME_OK },
	{ B("a.b-c_d[e]{f}|g~h+i'j=k%l^m"), NAME_OK },
	{ B(HAN GEUL), NAME_OK },
	{ B("caf\xc3\xa9"), NAME_OK },
	{ B("\xf0\x9f\x98\x80"), NAME_OK },
	{ B("12345678901234567890123456789012"), NAME_OK },
	{ B(HAN HAN HAN HAN HAN HAN HAN HAN HAN HAN "ab"), NAME_OK },
	{ B(""), NAME_EMPTY },
	{ B("123456789012345678901234567890123"), NAME_TOO_LONG },
	{ B(HAN HAN HAN HAN HAN HAN HAN HAN HAN HAN HAN), NAME_TOO_LONG },
	{ B("a b"), NAME_BAD_CHAR },
	{ B(" a"), NAME_BAD_CHAR },
	{ B("a "), NAME_BAD_CHAR },
	{ B("a\tb"), NAME_BAD_CHAR },
	{ B("a\nb"), NAME_BAD_CHAR },
	{ B("a\rb"), NAME_BAD_CHAR },
	{ B("a\xc2\xa0" "b"), NAME_BAD_CHAR },		/* U+00A0 */
	{ B("a\xe3\x80\x80" "b"), NAME_BAD_CHAR },	/* U+3000 */
	{ B("a\xe2\x80\x83" "b"), NAME_BAD_CHAR },	/* U+2003 */
	{ B("a\xe2\x80\xa8" "b"), NAME_BAD_CHAR },	/* U+2028 */
	{ B("a\xc2\x85" "b"), NAME_BAD_CHAR },		/* U+0085 */
	{ B("a/b"), NAME_BAD_CHAR },
	{ B("a#b"), NAME_BAD_CHAR },
	{ B("#room"), NAME_BAD_CHAR },
	{ B("a:b"), NAME_BAD_CHAR },
	{ B("a,b"), NAME_BAD_CHAR },
	{ B("a*b"), NAME_BAD_CHAR },
	{ B("a!b"), NAME_BAD_CHAR },
	{ B("a@b"), NAME_BAD_CHAR },
	{ B("a<b"), NAME_BAD_CHAR },
	{ B("a>b"), NAME_BAD_CHAR },
	{ B("/"), NAME_BAD_CHAR },
	{ B(">"), NAME_BAD_CHAR },
	{ B("a\0b"), NAME_BAD_CHAR },
	{ B("a\x01" "b"), NAME_BAD_CHAR },
	{ B("\x1b[31m"), NAME_BAD_CHAR },
	{ B("a\x7f"), NAME_BAD_CHAR },
	{ B("a\xc2\x80"), NAME_BAD_CHAR },		/* U+0080 */
	{ B("a\xc2\x9b" "b"), NAME_BAD_CHAR },		/* U+009B */
	{ B("a\xc2\x9f"), NAME_BAD_CHAR },		/* U+009F */
	{ B("\x80"), NAME_BAD_UTF8 },
	{ B("ab\xff"), NAME_BAD_UTF8 },
	{ B("caf\xc3"), NAME_BAD_UTF8 },
	{ B("\xc0\xaf"), NAME_BAD_UTF8 },
	{ B("\xe0\x80\xaf"), NAME_BAD_UTF8 },
	{ B("\xed\xa0\x80"), NAME_BAD_UTF8 },
	{ B("\xf4\x90\x80\x80"), NAME_BAD_UTF8 },
	{ B("\xf5\x80\x80\x80"), NAME_BAD_UTF8 },
	{ B(HAN "\xea\xb8"), NAME_BAD_UTF8 },
};

#define NCHECK	(sizeof check_cases / sizeof check_cases[0])

START_TEST(test_check_table)
{
	const struct check_case	*c = &check_cases[_i];
	enum name_result	 r = name_check(c->in, c->len);

	ck_assert_msg(r == c->want, "case %d (%zu bytes): %d (%s), want %d",
	    _i, c->len, (int)r, name_why(r), (int)c->want);
}
END_TEST

/* The check looks at len bytes, not at a NUL. */
START_TEST(test_check_uses_len)
{
	ck_assert_int_eq(name_check("alice bob", 5), NAME_OK);
	ck_assert_int_eq(name_check("alice bob", 6), NAME_BAD_CHAR);
	ck_assert_int_eq(name_check(HAN GEUL, 3), NAME_OK);
	ck_assert_int_eq(name_check(HAN GEUL, 4), NAME_BAD_UTF8);
}
END_TEST

START_TEST(test_why)
{
	static const enum name_result	bad[] = {
		NAME_EMPTY, NAME_TOO_LONG, NAME_BAD_UTF8, NAME_BAD_CHAR
	};
	size_t				i, j;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_ptr_nonnull(name_why(bad[i]));
		ck_assert_uint_gt(strlen(name_why(bad[i])), 0);
		for (j = 0; j < i; j++)
			ck_assert_str_ne(name_why(bad[i]), name_why(bad[j]));
	}
}
END_TEST

struct equal_case {
	const char	*a;
	const char	*b;
	int		 equal;
};

static const struct equal_case equal_cases[] = {
	{ "alice", "alice", 1 },
	{ "alice", "ALICE", 1 },
	{ "Alice", "aLiCe", 1 },
	{ "guest-5", "GUEST-5", 1 },
	{ "", "", 1 },
	{ HAN GEUL, HAN GEUL, 1 },
	{ "Caf\xc3\xa9", "cAF\xc3\xa9", 1 },
	{ "alice", "alicf", 0 },
	{ "alice", "bob", 0 },
	{ "abc", "abcd", 0 },
	{ "abcd", "abc", 0 },
	{ "", "a", 0 },
	{ "a", "", 0 },
	{ "caf\xc3\xa9", "caf\xc3\x89", 0 },		/* é, É */
	{ "\xd0\xb0", "\xd0\x90", 0 },			/* Cyrillic а, А */
	{ "a[", "A{", 0 },	/* only letters fold: [ is not { */
	{ "a@", "A`", 0 },
	{ "x^", "X~", 0 },
	{ HAN, GEUL, 0 },
};

#define NEQUAL	(sizeof equal_cases / sizeof equal_cases[0])

START_TEST(test_equal_table)
{
	const struct equal_case	*c = &equal_cases[_i];

	ck_assert_msg(name_equal(c->a, c->b) == c->equal,
	    "case %d: name_equal(\"%s\", \"%s\") != %d", _i, c->a, c->b,
	    c->equal);
	ck_assert_msg(name_equal(c->b, c->a) == c->equal,
	    "case %d: name_equal(\"%s\", \"%s\") != %d", _i, c->b, c->a,
	    c->equal);
	if (c->equal)
		ck_assert_uint_eq(name_hash(c->a), name_hash(c->b));
}
END_TEST

START_TEST(test_fold)
{
	char	buf[64];

	memset(buf, 'X', sizeof buf);
	name_fold(buf, "HeLLo-WORLD_42", 14);
	ck_assert_str_eq(buf, "hello-world_42");

	memset(buf, 'X', sizeof buf);
	name_fold(buf, "\xc3\x89" "COLE", 6);		/* ÉCOLE */
	ck_assert_str_eq(buf, "\xc3\x89" "cole");

	memset(buf, 'X', sizeof buf);
	name_fold(buf, "@[\\]^_`{|}~AZaz", 15);
	ck_assert_str_eq(buf, "@[\\]^_`{|}~azaz");

	memset(buf, 'X', sizeof buf);
	name_fold(buf, HAN GEUL, 6);
	ck_assert_str_eq(buf, HAN GEUL);

	memset(buf, 'X', sizeof buf);
	name_fold(buf, "ABCDEF", 3);			/* only len bytes */
	ck_assert_str_eq(buf, "abc");

	memset(buf, 'X', sizeof buf);
	name_fold(buf, "", 0);
	ck_assert_str_eq(buf, "");
}
END_TEST

/* Every byte folds to itself except A..Z, which fold to a..z. */
START_TEST(test_fold_every_byte)
{
	char		src[2], dst[2];
	unsigned int	c;

	for (c = 1; c < 256; c++) {
		src[0] = (char)c;
		name_fold(dst, src, 1);
		if (c >= 'A' && c <= 'Z')
			ck_assert_uint_eq((unsigned char)dst[0], c + 32);
		else
			ck_assert_uint_eq((unsigned char)dst[0], c);
		ck_assert_int_eq(dst[1], '\0');
	}
}
END_TEST

START_TEST(test_hash)
{
	char	folded[64];

	/* FNV-1a, 32 bits: the published test vectors. */
	ck_assert_uint_eq(name_hash(""), 0x811c9dc5u);
	ck_assert_uint_eq(name_hash("a"), 0xe40c292cu);
	ck_assert_uint_eq(name_hash("foobar"), 0xbf9cf968u);
	/* ...of the folded name. */
	ck_assert_uint_eq(name_hash("A"), 0xe40c292cu);
	ck_assert_uint_eq(name_hash("FooBAR"), 0xbf9cf968u);
	ck_assert_uint_eq(name_hash("Alice"), name_hash("alice"));
	ck_assert_uint_eq(name_hash("ALICE"), name_hash("alice"));
	name_fold(folded, "Guest-17", 8);
	ck_assert_uint_eq(name_hash(folded), name_hash("Guest-17"));
	ck_assert_uint_ne(name_hash("alice"), name_hash("bob"));
	ck_assert_uint_ne(name_hash("caf\xc3\xa9"), name_hash("caf\xc3\x89"));
}
END_TEST

/* An object that a table indexes, as a user or a room would be. */
struct item {
	char			name[40];
	struct htab_node	node;
	int			id;
};

/* The item behind a node found by key, or NULL. */
static struct item *
find_item(const struct htab *t, const char *key)
{
	struct htab_node	*n = htab_find(t, key);

	return n == NULL ? NULL : HTAB_ENTRY(n, struct item, node);
}

START_TEST(test_htab_basic)
{
	static struct item	items[] = {
		{ "alice", { NULL, NULL, 0 }, 0 },
		{ "Bob", { NULL, NULL, 0 }, 1 },
		{ HAN GEUL, { NULL, NULL, 0 }, 2 },
		{ "guest-5", { NULL, NULL, 0 }, 3 },
	};
	struct htab		t;
	size_t			i;

	htab_init(&t);
	ck_assert_uint_eq(t.count, 0);
	ck_assert_ptr_null(htab_find(&t, "alice"));
	for (i = 0; i < 4; i++)
		htab_insert(&t, &items[i].node, items[i].name);
	ck_assert_uint_eq(t.count, 4);

	ck_assert_ptr_eq(find_item(&t, "alice"), &items[0]);
	ck_assert_ptr_eq(find_item(&t, "ALICE"), &items[0]);
	ck_assert_ptr_eq(find_item(&t, "bob"), &items[1]);
	ck_assert_ptr_eq(find_item(&t, "bOB"), &items[1]);
	ck_assert_ptr_eq(find_item(&t, HAN GEUL), &items[2]);
	ck_assert_ptr_eq(find_item(&t, "GUEST-5"), &items[3]);
	ck_assert_ptr_eq(items[0].node.key, items[0].name);
	ck_assert_ptr_null(htab_find(&t, "carol"));
	ck_assert_ptr_null(htab_find(&t, "alic"));
	ck_assert_ptr_null(htab_find(&t, "alicee"));
	ck_assert_ptr_null(htab_find(&t, ""));
	ck_assert_ptr_null(htab_find(&t, HAN));

	htab_remove(&t, &items[1].node);
	ck_assert_uint_eq(t.count, 3);
	ck_assert_ptr_null(htab_find(&t, "bob"));
	ck_assert_ptr_eq(find_item(&t, "alice"), &items[0]);
	ck_assert_ptr_eq(find_item(&t, HAN GEUL), &items[2]);

	/* A name freed is free again, in another case. */
	strcpy(items[1].name, "BOB");
	htab_insert(&t, &items[1].node, items[1].name);
	ck_assert_ptr_eq(find_item(&t, "bob"), &items[1]);
	ck_assert_str_eq(find_item(&t, "bob")->name, "BOB");

	for (i = 0; i < 4; i++)
		htab_remove(&t, &items[i].node);
	ck_assert_uint_eq(t.count, 0);
	for (i = 0; i < 4; i++)
		ck_assert_ptr_null(htab_find(&t, items[i].name));
	htab_free(&t);
}
END_TEST

/* A rename: remove under the old key, insert under the new one. */
START_TEST(test_htab_rename)
{
	struct item	a = { "alice", { NULL, NULL, 0 }, 0 };
	struct htab	t;

	htab_init(&t);
	htab_insert(&t, &a.node, a.name);
	htab_remove(&t, &a.node);
	strcpy(a.name, "Alicia");
	htab_insert(&t, &a.node, a.name);
	ck_assert_ptr_null(htab_find(&t, "alice"));
	ck_assert_ptr_eq(find_item(&t, "ALICIA"), &a);
	ck_assert_uint_eq(t.count, 1);
	htab_free(&t);
}
END_TEST

#define NMANY	5000

START_TEST(test_htab_many)
{
	static struct item	items[NMANY];
	struct htab		t;
	char			key[40];
	size_t			i, k;

	htab_init(&t);
	for (i = 0; i < NMANY; i++) {
		snprintf(items[i].name, sizeof items[i].name, "User-%zu", i);
		items[i].id = (int)i;
		htab_insert(&t, &items[i].node, items[i].name);
		ck_assert_uint_eq(t.count, i + 1);
	}
	/* The table grew: chains stay short. */
	ck_assert_uint_ge(t.nbuckets, NMANY / 2);
	ck_assert_uint_eq(t.nbuckets & (t.nbuckets - 1), 0);
	for (i = 0; i < NMANY; i++) {
		snprintf(key, sizeof key, "USER-%zu", i);
		ck_assert_ptr_eq(find_item(&t, key), &items[i]);
	}
	snprintf(key, sizeof key, "user-%d", NMANY);
	ck_assert_ptr_null(htab_find(&t, key));

	/* Remove the even ones, then the odd ones, checking as we go. */
	for (k = 0; k < 2; k++) {
		for (i = k; i < NMANY; i += 2)
			htab_remove(&t, &items[i].node);
		for (i = 0; i < NMANY; i++) {
			snprintf(key, sizeof key, "user-%zu", i);
			if (i % 2 == 0 || k == 1)
				ck_assert_ptr_null(htab_find(&t, key));
			else
				ck_assert_ptr_eq(find_item(&t, key),
				    &items[i]);
		}
	}
	ck_assert_uint_eq(t.count, 0);

	/* Still usable once empty. */
	htab_insert(&t, &items[7].node, items[7].name);
	ck_assert_ptr_eq(find_item(&t, "user-7"), &items[7]);
	htab_remove(&t, &items[7].node);
	ck_assert_uint_eq(t.count, 0);
	htab_free(&t);
	ck_assert_ptr_null(t.buckets);
}
END_TEST

/* Free, then init again: a fresh, empty table. */
START_TEST(test_htab_reinit)
{
	struct item	a = { "alice", { NULL, NULL, 0 }, 0 };
	struct htab	t;

	htab_init(&t);
	htab_insert(&t, &a.node, a.name);
	htab_free(&t);
	htab_init(&t);
	ck_assert_uint_eq(t.count, 0);
	ck_assert_ptr_null(htab_find(&t, "alice"));
	htab_insert(&t, &a.node, a.name);
	ck_assert_ptr_eq(find_item(&t, "Alice"), &a);
	htab_free(&t);
}
END_TEST

static Suite *
name_suite(void)
{
	Suite	*s = suite_create("name");
	TCase	*tc;

	tc = tcase_create("check");
	tcase_add_loop_test(tc, test_check_table, 0, (int)NCHECK);
	tcase_add_test(tc, test_check_uses_len);
	tcase_add_test(tc, test_why);
	suite_add_tcase(s, tc);

	tc = tcase_create("compare");
	tcase_add_loop_test(tc, test_equal_table, 0, (int)NEQUAL);
	tcase_add_test(tc, test_fold);
	tcase_add_test(tc, test_fold_every_byte);
	tcase_add_test(tc, test_hash);
	suite_add_tcase(s, tc);

	tc = tcase_create("htab");
	tcase_add_test(tc, test_htab_basic);
	tcase_add_test(tc, test_htab_rename);
	tcase_add_test(tc, test_htab_many);
	tcase_add_test(tc, test_htab_reinit);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(name_suite());
}
