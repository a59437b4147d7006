/*
 * check_bucket: the token bucket behind --rate and --burst, on a clock
 * the test moves by hand — starts full, refills at the rate, never past
 * the burst, survives the millisecond clock wrapping.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "bucket.h"
#include "check_run.h"

START_TEST(test_starts_full)
{
	struct bucket	b;
	int		i;

	bucket_init(&b, 20, 1000);
	for (i = 0; i < 20; i++)
		ck_assert(bucket_take(&b, 10, 20, 1000));
	ck_assert(!bucket_take(&b, 10, 20, 1000));
}
END_TEST

START_TEST(test_refills_at_rate)
{
	struct bucket	b;

	bucket_init(&b, 1, 0);
	ck_assert(bucket_take(&b, 10, 1, 0));
	ck_assert(!bucket_take(&b, 10, 1, 50));
	ck_assert_uint_eq(bucket_wait(&b, 10), 50);
	ck_assert(bucket_take(&b, 10, 1, 100));
	ck_assert(!bucket_take(&b, 10, 1, 199));
	ck_assert(bucket_take(&b, 10, 1, 200));
}
END_TEST

START_TEST(test_never_past_burst)
{
	struct bucket	b;
	int		i;

	bucket_init(&b, 3, 0);
	for (i = 0; i < 3; i++)
		ck_assert(bucket_take(&b, 10, 3, 0));
	/* An hour idle still buys only the burst. */
	for (i = 0; i < 3; i++)
		ck_assert(bucket_take(&b, 10, 3, 3600000));
	ck_assert(!bucket_take(&b, 10, 3, 3600000));
}
END_TEST

START_TEST(test_slow_rate_and_wait)
{
	struct bucket	b;

	bucket_init(&b, 1, 0);
	ck_assert(bucket_take(&b, 1, 1, 0));
	ck_assert_uint_eq(bucket_wait(&b, 1), 1000);
	ck_assert(!bucket_take(&b, 1, 1, 999));
	ck_assert_uint_eq(bucket_wait(&b, 1), 1);
	ck_assert(bucket_take(&b, 1, 1, 1000));
	/* A full bucket waits at least a millisecond, never zero. */
	bucket_init(&b, 5, 0);
	ck_assert_uint_eq(bucket_wait(&b, 1000), 1);
}
END_TEST

START_TEST(test_clock_wraps)
{
	struct bucket	b;
	uint32_t	t = UINT32_MAX - 50;

	bucket_init(&b, 1, t);
	ck_assert(bucket_take(&b, 10, 1, t));
	ck_assert(!bucket_take(&b, 10, 1, t + 40));
	ck_assert(bucket_take(&b, 10, 1, t + 100));	/* wrapped */
}
END_TEST

START_TEST(test_high_rate_no_overflow)
{
	struct bucket	b;
	int		i;

	bucket_init(&b, 1000000, 0);
	for (i = 0; i < 1000; i++)
		ck_assert(bucket_take(&b, 1000000, 1000000, 0));
	ck_assert(bucket_take(&b, 1000000, 1000000, 4000000000u));
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("bucket");
	TCase	*tc = tcase_create("bucket");

	tcase_add_test(tc, test_starts_full);
	tcase_add_test(tc, test_refills_at_rate);
	tcase_add_test(tc, test_never_past_burst);
	tcase_add_test(tc, test_slow_rate_and_wait);
	tcase_add_test(tc, test_clock_wraps);
	tcase_add_test(tc, test_high_rate_no_overflow);
	suite_add_tcase(s, tc);
	return check_run(s);
}
