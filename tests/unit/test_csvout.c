/*
 * Unit tests for src/csvout: RFC 4180 quoting, formula neutralisation
 * and the UTF-8 check that decides between text and base64 bodies.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "csvout.h"

/* One row of fields written to memory, returned NUL-terminated. */
static char *
row(const char **fields, const int *kinds, int n)
{
	FILE	*fp;
	char	*buf;
	size_t	 len;
	int	 i;

	buf = NULL;
	fp = open_memstream(&buf, &len);
	assert_non_null(fp);
	for (i = 0; i < n; i++)
		assert_int_equal(csvout_field(fp, fields[i],
		    fields[i] ? strlen(fields[i]) : 0, kinds[i], i == 0), 0);
	assert_int_equal(csvout_end(fp), 0);
	assert_int_equal(fclose(fp), 0);
	return (buf);
}

static char *
one(const char *s, int kind)
{
	const char	*f[1] = { s };
	int		 k[1] = { kind };

	return (row(f, k, 1));
}

static void
test_plain_fields_are_left_alone(void **state)
{
	const char	*f[3] = { "42", "GET", "/users/7" };
	int		 k[3] = { CSVOUT_PLAIN, CSVOUT_TEXT, CSVOUT_TEXT };
	char		*out;

	out = row(f, k, 3);
	assert_string_equal(out, "42,GET,/users/7\r\n");
	free(out);
}

static void
test_quotes_commas_and_line_breaks_are_quoted(void **state)
{
	char	*out;

	out = one("a \"b\", c", CSVOUT_TEXT);
	assert_string_equal(out, "\"a \"\"b\"\", c\"\r\n");
	free(out);
	out = one("line\nbreak", CSVOUT_TEXT);
	assert_string_equal(out, "\"line\nbreak\"\r\n");
	free(out);
	out = one("cr\rhere", CSVOUT_PLAIN);
	assert_string_equal(out, "\"cr\rhere\"\r\n");
	free(out);
}

static void
test_formula_starts_get_an_apostrophe(void **state)
{
	const char	*bad[] = { "=1+1", "+A1", "-2", "@SUM(A1)", "\tx",
	    "\rx" };
	const char	*want[] = { "\"'=1+1\"", "\"'+A1\"", "\"'-2\"",
	    "\"'@SUM(A1)\"", "\"'\tx\"", "\"'\rx\"" };
	char		 expect[64];
	char		*out;
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		out = one(bad[i], CSVOUT_TEXT);
		(void)snprintf(expect, sizeof(expect), "%s\r\n", want[i]);
		assert_string_equal(out, expect);
		free(out);
	}
}

static void
test_formula_inside_a_quoted_field(void **state)
{
	char	*out;

	out = one("=HYPERLINK(\"http://x\",\"y\")", CSVOUT_TEXT);
	assert_string_equal(out,
	    "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"\r\n");
	free(out);
}

static void
test_our_own_values_are_not_neutralised(void **state)
{
	char	*out;

	/* A number of ours, such as a negative one, stays a number. */
	out = one("-5", CSVOUT_PLAIN);
	assert_string_equal(out, "-5\r\n");
	free(out);
}

static void
test_empty_and_null_fields(void **state)
{
	const char	*f[3] = { "", NULL, "x" };
	int		 k[3] = { CSVOUT_TEXT, CSVOUT_TEXT, CSVOUT_TEXT };
	char		*out;

	out = row(f, k, 3);
	assert_string_equal(out, ",,x\r\n");
	free(out);
}

static void
test_utf8_check(void **state)
{
	const unsigned char	ok[] =
	    "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80";
	const unsigned char	overlong[] = "\xc0\xaf";
	const unsigned char	surrogate[] = "\xed\xa0\x80";
	const unsigned char	cut[] = "\xe2\x9c";
	const unsigned char	high[] = "\xf4\x90\x80\x80";
	const unsigned char	nul[] = { 'a', 0, 'b' };
	const unsigned char	latin1[] = "caf\xe9";

	assert_true(csvout_utf8_ok(ok, sizeof(ok) - 1));
	assert_true(csvout_utf8_ok(ok, 0));
	assert_false(csvout_utf8_ok(overlong, 2));
	assert_false(csvout_utf8_ok(surrogate, 3));
	assert_false(csvout_utf8_ok(cut, 2));
	assert_false(csvout_utf8_ok(high, 4));
	assert_false(csvout_utf8_ok(nul, 3));
	assert_false(csvout_utf8_ok(latin1, 4));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_fields_are_left_alone),
		cmocka_unit_test(test_quotes_commas_and_line_breaks_are_quoted),
		cmocka_unit_test(test_formula_starts_get_an_apostrophe),
		cmocka_unit_test(test_formula_inside_a_quoted_field),
		cmocka_unit_test(test_our_own_values_are_not_neutralised),
		cmocka_unit_test(test_empty_and_null_fields),
		cmocka_unit_test(test_utf8_check),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
