/*
 * Unit tests for src/whsig: Stripe webhook signature verification.
 *
 * The vectors were computed outside this code:
 * - NODE_*: the `stripe` npm package 23.2.0,
 *   stripe.webhooks.generateTestHeaderString({payload, secret,
 *   timestamp: 1700000000}), which the same package's constructEvent
 *   accepted;
 * - the others: printf '<t>.<body>' | openssl dgst -sha256 -hmac <secret>.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "whsig.h"

#define NODE_SECRET	"whsec_test_secret_apiscribe"
#define NODE_PAYLOAD	"{\"id\":\"evt_test_webhook\",\"object\":\"event\"," \
			"\"type\":\"checkout.session.completed\",\"data\":" \
			"{\"object\":{\"id\":\"cs_test_a1\",\"amount_total\":" \
			"500,\"currency\":\"eur\"}}}"
#define NODE_HEADER	"t=1700000000,v1=2e8f66f094748c58d0f5187991bec2db" \
			"7da4ec724867fb3987948aac431db299"
#define NODE_T		1700000000

#define T		1614556800
#define TS		"1614556800"
#define BODY		"{\"id\":\"evt_1\",\"type\":" \
			"\"payment_intent.succeeded\"}"
#define SECRET		"whsec_abc123"
#define SIG		"31cb795e0a72108c32e150776c471d53" \
			"f51c3d6c946a5de22633903954502cf9"
/* The same body and time signed with a second, older secret. */
#define OLD_SECRET	"whsec_old_rotated"
#define OLD_SIG		"b9ded7d6af80febdc5dbbcabc26e7f10" \
			"399f4bbf1d05494757772b37a1c7b961"
/* An empty body. */
#define EMPTY_SIG	"29e54c03f9705afade72c8c7a36687e9" \
			"a016a589734617979a6c83262ded86ac"
/* The body "a\0b\n", with a NUL inside. */
#define BIN_SIG		"f2abb23c1074b46f4bce8852cf060d73" \
			"eed74ba2a84e70232b20fef696252c18"

static int
verify(const char *header, const char *body, const char *secret,
    time_t now, char *why, size_t whylen)
{
	return (whsig_stripe_verify(header, (const unsigned char *)body,
	    strlen(body), secret, now, WHSIG_STRIPE_TOLERANCE, why, whylen));
}

static void
test_node_stripe_vector(void **state)
{
	char	why[WHSIG_WHY_MAX];

	(void)state;
	assert_true(verify(NODE_HEADER, NODE_PAYLOAD, NODE_SECRET, NODE_T,
	    why, sizeof(why)));
	assert_false(verify(NODE_HEADER, NODE_PAYLOAD, "whsec_other",
	    NODE_T, why, sizeof(why)));
}

static void
test_openssl_vector(void **state)
{
	char	why[WHSIG_WHY_MAX];

	(void)state;
	assert_true(verify("t=" TS ",v1=" SIG, BODY, SECRET, T, why,
	    sizeof(why)));
	assert_string_equal(why, "");
}

static void
test_empty_and_binary_payloads(void **state)
{
	char	why[WHSIG_WHY_MAX];

	(void)state;
	assert_true(whsig_stripe_verify("t=" TS ",v1=" EMPTY_SIG, NULL, 0,
	    SECRET, T, 300, why, sizeof(why)));
	assert_true(whsig_stripe_verify("t=" TS ",v1=" BIN_SIG,
	    (const unsigned char *)"a\0b\n", 4, SECRET, T, 300, why,
	    sizeof(why)));
	/* The bytes after the NUL count. */
	assert_false(whsig_stripe_verify("t=" TS ",v1=" BIN_SIG,
	    (const unsigned char *)"a\0c\n", 4, SECRET, T, 300, why,
	    sizeof(why)));
	assert_false(whsig_stripe_verify("t=" TS ",v1=" BIN_SIG,
	    (const unsigned char *)"a", 1, SECRET, T, 300, why,
	    sizeof(why)));
}

static void
test_any_v1_may_match(void **state)
{
	char	why[WHSIG_WHY_MAX];
	char	header[256];

	(void)state;
	/* While a secret is rolled, Stripe sends one v1 per secret. */
	(void)snprintf(header, sizeof(header), "t=%s,v1=%s,v1=%s", TS,
	    OLD_SIG, SIG);
	assert_true(verify(header, BODY, SECRET, T, why, sizeof(why)));
	assert_true(verify(header, BODY, OLD_SECRET, T, why, sizeof(why)));
	assert_false(verify(header, BODY, "whsec_third", T, why,
	    sizeof(why)));
	assert_string_equal(why, "no signature matches");

	/* Element order does not matter; v0 and unknown schemes are ignored. */
	assert_true(verify("v0=" OLD_SIG ",v1=" SIG ",t=" TS ",v9=x", BODY,
	    SECRET, T, why, sizeof(why)));
	/* Blanks after commas are tolerated. */
	assert_true(verify("t=" TS ", v1=" SIG, BODY, SECRET, T, why,
	    sizeof(why)));
}

static void
test_upper_case_hex_accepted(void **state)
{
	char	header[128];
	char	why[WHSIG_WHY_MAX];
	size_t	i;

	(void)state;
	(void)snprintf(header, sizeof(header), "t=%s,v1=%s", TS, SIG);
	for (i = 0; header[i] != '\0'; i++) {
		if (header[i] >= 'a' && header[i] <= 'f')
			header[i] = (char)(header[i] - 'a' + 'A');
	}
	assert_true(verify(header, BODY, SECRET, T, why, sizeof(why)));
}

static void
test_only_v0_refused(void **state)
{
	char	why[WHSIG_WHY_MAX];

	(void)state;
	/* A correct signature under another scheme is no downgrade path. */
	assert_false(verify("t=" TS ",v0=" SIG, BODY, SECRET, T, why,
	    sizeof(why)));
	assert_string_equal(why, "no v1 signature in signature header");
}

static void
test_tampering_refused(void **state)
{
	char	why[WHSIG_WHY_MAX];
	char	body[] = BODY;
	char	header[] = "t=" TS ",v1=" SIG;

	(void)state;
	/* One changed byte of the body. */
	body[7] = '2';
	assert_false(verify("t=" TS ",v1=" SIG, body, SECRET, T, why,
	    sizeof(why)));
	/* A timestamp one second off, well inside the tolerance. */
	assert_false(verify("t=1614556801,v1=" SIG, BODY, SECRET, T, why,
	    sizeof(why)));
	/* One changed hex digit of the signature. */
	header[strlen(header) - 1] = header[strlen(header) - 1] == '0' ?
	    '1' : '0';
	assert_false(verify(header, BODY, SECRET, T, why, sizeof(why)));
	/* The same secret without its prefix is another key. */
	assert_false(verify("t=" TS ",v1=" SIG, BODY, "abc123", T, why,
	    sizeof(why)));
}

static void
test_tolerance(void **state)
{
	char	why[WHSIG_WHY_MAX];

	(void)state;
	assert_true(verify("t=" TS ",v1=" SIG, BODY, SECRET, T + 300, why,
	    sizeof(why)));
	assert_true(verify("t=" TS ",v1=" SIG, BODY, SECRET, T - 300, why,
	    sizeof(why)));
	assert_false(verify("t=" TS ",v1=" SIG, BODY, SECRET, T + 301, why,
	    sizeof(why)));
	assert_string_equal(why, "signature timestamp outside the tolerance");
	assert_false(verify("t=" TS ",v1=" SIG, BODY, SECRET, T - 301, why,
	    sizeof(why)));
	assert_false(verify("t=" TS ",v1=" SIG, BODY, SECRET, 0, why,
	    sizeof(why)));

	/* The caller's tolerance is used, and must be positive. */
	assert_true(whsig_stripe_verify("t=" TS ",v1=" SIG,
	    (const unsigned char *)BODY, strlen(BODY), SECRET, T + 1000,
	    1000, why, sizeof(why)));
	assert_false(whsig_stripe_verify("t=" TS ",v1=" SIG,
	    (const unsigned char *)BODY, strlen(BODY), SECRET, T, 0, why,
	    sizeof(why)));
	assert_false(whsig_stripe_verify("t=" TS ",v1=" SIG,
	    (const unsigned char *)BODY, strlen(BODY), SECRET, T, -1, why,
	    sizeof(why)));
}

static void
test_malformed_headers(void **state)
{
	static const char *bad[] = {
		"",
		"garbage",
		"t=" TS,
		"v1=" SIG,
		"t=abc,v1=" SIG,
		"t=,v1=" SIG,
		"t=-5,v1=" SIG,
		"t=+1614556800,v1=" SIG,
		"t=0" TS ",v1=" SIG,
		"t=1614556800.5,v1=" SIG,
		"t=99999999999999999999,v1=" SIG,
		"t=" TS ",t=" TS ",v1=" SIG,
		"t=" TS ";v1=" SIG,
		"t=" TS ",v1",
		"t=" TS ",v1=",
		",t=" TS ",v1=" SIG,
		"t=" TS ",,v1=" SIG,
		"t=" TS ",v1=" SIG ",",
		"=x,t=" TS ",v1=" SIG,
		"t=" TS ",v1=zz1cb795e0a72108c32e150776c471d53f51c3d6c946a5de"
		    "22633903954502cf9",
		"t=" TS ",v1=31cb795e0a72108c32e150776c471d53f51c3d6c946a5de"
		    "22633903954502cf",
		"t=" TS ",v1=" SIG "0",
		"t=" TS ",v1=" SIG " x",
		"T=" TS ",V1=" SIG,
		"t = " TS ",v1=" SIG,
	};
	char	why[WHSIG_WHY_MAX];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (verify(bad[i], BODY, SECRET, T, why, sizeof(why)))
			fail_msg("accepted: %s", bad[i]);
		if (why[0] == '\0')
			fail_msg("no reason for: %s", bad[i]);
	}
	assert_false(whsig_stripe_verify(NULL, (const unsigned char *)BODY,
	    strlen(BODY), SECRET, T, 300, why, sizeof(why)));
	assert_string_equal(why, "missing Stripe-Signature header");
}

static void
test_too_many_signatures(void **state)
{
	char	header[1024];
	char	why[WHSIG_WHY_MAX];
	size_t	n;
	int	i;

	(void)state;
	n = (size_t)snprintf(header, sizeof(header), "t=%s", TS);
	for (i = 0; i < WHSIG_STRIPE_MAX_SIGS - 1; i++)
		n += (size_t)snprintf(header + n, sizeof(header) - n,
		    ",v1=%s", OLD_SIG);
	n += (size_t)snprintf(header + n, sizeof(header) - n, ",v1=%s", SIG);
	assert_true(verify(header, BODY, SECRET, T, why, sizeof(why)));

	(void)snprintf(header + n, sizeof(header) - n, ",v1=%s", OLD_SIG);
	assert_false(verify(header, BODY, SECRET, T, why, sizeof(why)));
	assert_string_equal(why, "too many v1 signatures");
}

static void
test_secret_required(void **state)
{
	char	why[WHSIG_WHY_MAX];

	(void)state;
	assert_false(verify("t=" TS ",v1=" SIG, BODY, "", T, why,
	    sizeof(why)));
	assert_string_equal(why, "webhook signing secret is not configured");
	assert_false(whsig_stripe_verify("t=" TS ",v1=" SIG,
	    (const unsigned char *)BODY, strlen(BODY), NULL, T, 300, why,
	    sizeof(why)));
	assert_false(whsig_stripe_verify("t=" TS ",v1=" SIG, NULL, 5,
	    SECRET, T, 300, why, sizeof(why)));
}

static void
test_reason_never_holds_secret(void **state)
{
	char	why[WHSIG_WHY_MAX];

	(void)state;
	assert_false(verify("t=" TS ",v1=" OLD_SIG, BODY, SECRET, T, why,
	    sizeof(why)));
	assert_null(strstr(why, SECRET));
	assert_null(strstr(why, "whsec"));
	/* A short buffer gets a truncated sentence, not an overflow. */
	assert_false(verify("t=" TS ",v1=" OLD_SIG, BODY, SECRET, T, why, 4));
	assert_string_equal(why, "no ");
	assert_false(verify("t=" TS ",v1=" OLD_SIG, BODY, SECRET, T, NULL,
	    0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_node_stripe_vector),
		cmocka_unit_test(test_openssl_vector),
		cmocka_unit_test(test_empty_and_binary_payloads),
		cmocka_unit_test(test_any_v1_may_match),
		cmocka_unit_test(test_upper_case_hex_accepted),
		cmocka_unit_test(test_only_v0_refused),
		cmocka_unit_test(test_tampering_refused),
		cmocka_unit_test(test_tolerance),
		cmocka_unit_test(test_malformed_headers),
		cmocka_unit_test(test_too_many_signatures),
		cmocka_unit_test(test_secret_required),
		cmocka_unit_test(test_reason_never_holds_secret),
	};

	return (cmocka_run_group_tests_name("whsig", tests, NULL, NULL));
}
