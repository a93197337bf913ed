/*
 * The word-level judgements: which path segments are identifiers, and
 * how resource words are made singular and camel-cased for names.
 */

#include "test_disc_common.h"

#include "discovery/disc_int.h"

static void
digits_uuids_hex_and_tokens_are_identifiers(void **state)
{
	(void)state;
	assert_int_equal(disc_classify_segment("42"), DISC_SEG_INT);
	assert_int_equal(disc_classify_segment(
	    "123e4567-e89b-42d3-a456-426614174000"), DISC_SEG_UUID);
	assert_int_equal(disc_classify_segment("507f1f77bcf86cd799439011"),
	    DISC_SEG_HEX);
	assert_int_equal(disc_classify_segment("cus_NffrFeUfNV2Hib"),
	    DISC_SEG_TOKEN);
	assert_int_equal(disc_classify_segment("2024-02-29"), DISC_SEG_DATE);
	assert_int_equal(disc_classify_segment("ann@example.com"),
	    DISC_SEG_EMAIL);
}

static void
words_and_versions_are_not_identifiers(void **state)
{
	(void)state;
	assert_int_equal(disc_classify_segment("users"), DISC_SEG_WORD);
	assert_int_equal(disc_classify_segment("v2"), DISC_SEG_WORD);
	assert_int_equal(disc_classify_segment("oauth2callback"),
	    DISC_SEG_WORD);
	assert_int_equal(disc_classify_segment("hello-world-2"),
	    DISC_SEG_WORD);
	assert_int_equal(disc_classify_segment("facade"), DISC_SEG_WORD);
	assert_int_equal(disc_classify_segment("findByStatus"),
	    DISC_SEG_WORD);
}

static void
resource_words_are_made_singular(void **state)
{
	char	out[32];

	(void)state;
	disc_singular("users", out, sizeof(out));
	assert_string_equal(out, "user");
	disc_singular("categories", out, sizeof(out));
	assert_string_equal(out, "category");
	disc_singular("addresses", out, sizeof(out));
	assert_string_equal(out, "address");
	disc_singular("status", out, sizeof(out));
	assert_string_equal(out, "status");
	disc_singular("people", out, sizeof(out));
	assert_string_equal(out, "person");
}

static void
names_are_camel_cased(void **state)
{
	char	out[32];

	(void)state;
	disc_camel("line-items", out, sizeof(out), 0);
	assert_string_equal(out, "lineItems");
	disc_camel("api_key", out, sizeof(out), 1);
	assert_string_equal(out, "ApiKey");
	disc_camel("3d-models", out, sizeof(out), 0);
	assert_string_equal(out, "n3dModels");
}

static void
query_values_get_json_types(void **state)
{
	json_t	*v;

	(void)state;
	v = disc_coerce_value("12");
	assert_true(json_is_integer(v));
	json_decref(v);
	v = disc_coerce_value("1.5");
	assert_true(json_is_real(v));
	json_decref(v);
	v = disc_coerce_value("007");
	assert_true(json_is_string(v));
	json_decref(v);
	v = disc_coerce_value("false");
	assert_true(json_is_false(v));
	json_decref(v);
}

static void
transport_and_browser_headers_are_not_notable(void **state)
{
	static const char *const plain[] = { "accept", "x-request-id",
	    "transfer-encoding", "user-agent", "x-requested-with",
	    "sec-fetch-mode", "x-forwarded-for" };
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		assert_int_equal(disc_header_notable(plain[i], 1), 0);
	assert_int_equal(disc_header_notable("x-xss-protection", 0), 0);
	assert_int_equal(disc_header_notable("accept-ranges", 0), 0);
	assert_int_equal(disc_header_notable("idempotency-key", 1), 1);
	assert_int_equal(disc_header_notable("x-ratelimit-remaining", 0), 1);
	assert_int_equal(disc_header_notable("location", 0), 1);
}

static void
invalid_utf8_is_replaced_not_passed_on(void **state)
{
	char	*c = disc_utf8_clean("a\xffz", 3);

	(void)state;
	assert_string_equal(c, "a\xef\xbf\xbdz");
	assert_false(disc_utf8_valid("\xc0\xaf", 2));
	assert_true(disc_utf8_valid("\xc3\xa9", 2));
	free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(digits_uuids_hex_and_tokens_are_identifiers),
		cmocka_unit_test(words_and_versions_are_not_identifiers),
		cmocka_unit_test(resource_words_are_made_singular),
		cmocka_unit_test(names_are_camel_cased),
		cmocka_unit_test(query_values_get_json_types),
		cmocka_unit_test(
		    transport_and_browser_headers_are_not_notable),
		cmocka_unit_test(invalid_utf8_is_replaced_not_passed_on),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
