/*
 * check_run: how every test program ends its main.  Header-only, so the
 * unit tests need not link the integration tests' harness.
 */
#ifndef EVCHAT_CHECK_RUN_H
#define EVCHAT_CHECK_RUN_H

#include <check.h>
#include <stdlib.h>

/* Run every test of s, which the runner takes over; the exit status. */
static inline int
check_run(Suite *s)
{
	SRunner	*sr = srunner_create(s);
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
