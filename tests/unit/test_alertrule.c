/*
 * Unit tests for src/alertrule: pending, firing after the duration,
 * resolving, unknown evaluations, and failure shares with too few cases.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "alertrule.h"

static void
test_fires_only_after_holding_for_the_duration(void **state)
{
	struct alertrule_state	s;

	memset(&s, 0, sizeof(s));
	assert_int_equal(alertrule_step(&s, 1, 1000, 300), ALERT_NO_CHANGE);
	assert_int_equal(s.state, ALERT_PENDING);
	assert_int_equal(s.since, 1000);
	assert_int_equal(alertrule_step(&s, 1, 1299, 300), ALERT_NO_CHANGE);
	assert_int_equal(s.state, ALERT_PENDING);
	assert_int_equal(alertrule_step(&s, 1, 1300, 300), ALERT_FIRED);
	assert_int_equal(s.state, ALERT_FIRING);
	assert_int_equal(s.since, 1000);
	assert_int_equal(s.fired_at, 1300);
	/* Firing stays firing without firing again. */
	assert_int_equal(alertrule_step(&s, 1, 1400, 300), ALERT_NO_CHANGE);
	assert_int_equal(s.state, ALERT_FIRING);
}

static void
test_a_gap_restarts_the_duration(void **state)
{
	struct alertrule_state	s;

	memset(&s, 0, sizeof(s));
	(void)alertrule_step(&s, 1, 1000, 300);
	assert_int_equal(alertrule_step(&s, 0, 1200, 300), ALERT_NO_CHANGE);
	assert_int_equal(s.state, ALERT_INACTIVE);
	(void)alertrule_step(&s, 1, 1250, 300);
	assert_int_equal(alertrule_step(&s, 1, 1500, 300), ALERT_NO_CHANGE);
	assert_int_equal(alertrule_step(&s, 1, 1550, 300), ALERT_FIRED);
}

static void
test_zero_duration_fires_at_once_and_resolves(void **state)
{
	struct alertrule_state	s;

	memset(&s, 0, sizeof(s));
	assert_int_equal(alertrule_step(&s, 1, 50, 0), ALERT_FIRED);
	assert_int_equal(alertrule_step(&s, 0, 60, 0), ALERT_RESOLVED);
	assert_int_equal(s.state, ALERT_INACTIVE);
	assert_int_equal(s.since, 60);
	assert_int_equal(alertrule_step(&s, 0, 70, 0), ALERT_NO_CHANGE);
}

static void
test_unknown_changes_nothing(void **state)
{
	struct alertrule_state	s;

	memset(&s, 0, sizeof(s));
	(void)alertrule_step(&s, 1, 10, 0);
	assert_int_equal(alertrule_step(&s, ALERT_UNKNOWN, 20, 0),
	    ALERT_NO_CHANGE);
	assert_int_equal(s.state, ALERT_FIRING);
	memset(&s, 0, sizeof(s));
	assert_int_equal(alertrule_step(&s, ALERT_UNKNOWN, 20, 0),
	    ALERT_NO_CHANGE);
	assert_int_equal(s.state, ALERT_INACTIVE);
}

static void
test_ratio_needs_enough_cases_and_must_exceed(void **state)
{
	double	v;

	assert_false(alertrule_ratio(0, 0, 0.05, 1, &v));
	assert_true(v == 0);
	assert_false(alertrule_ratio(1, 4, 0.05, 10, &v));
	assert_true(v == 0.25);
	assert_true(alertrule_ratio(1, 10, 0.05, 10, &v));
	assert_false(alertrule_ratio(5, 100, 0.05, 10, &v));
	assert_true(alertrule_ratio(6, 100, 0.05, 10, &v));
}

static void
test_state_names(void **state)
{
	assert_string_equal(alertrule_state_name(ALERT_INACTIVE), "inactive");
	assert_string_equal(alertrule_state_name(ALERT_PENDING), "pending");
	assert_string_equal(alertrule_state_name(ALERT_FIRING), "firing");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_fires_only_after_holding_for_the_duration),
		cmocka_unit_test(test_a_gap_restarts_the_duration),
		cmocka_unit_test(test_zero_duration_fires_at_once_and_resolves),
		cmocka_unit_test(test_unknown_changes_nothing),
		cmocka_unit_test(test_ratio_needs_enough_cases_and_must_exceed),
		cmocka_unit_test(test_state_names),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
