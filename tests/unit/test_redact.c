/*
 * Unit tests for src/redact: header values, field names, query strings
 * and form bodies, and the single-pass JSON redactor.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "redact.h"

struct pair {
	const char	*in;
	const char	*want;
};

/* Runs redact_json on a C string and checks result and output. */
static void
json_case(const char *in, int flags, int want_rc, const char *want)
{
	char	out[4096];
	size_t	outl;
	int	rc;

	rc = redact_json(in, strlen(in), out, sizeof(out), &outl, flags);
	if (rc != want_rc)
		fail_msg("%s: rc %d, want %d", in, rc, want_rc);
	if (want != NULL) {
		if (outl != strlen(want) || memcmp(out, want, outl) != 0)
			fail_msg("%s:\n got  %.*s\n want %s", in, (int)outl,
			    out, want);
		assert_int_equal(out[outl], '\0');
	}
}

static void
query_case(const char *in, int want_rc, const char *want)
{
	char	out[1024];
	size_t	outl;
	int	rc;

	rc = redact_query(in, strlen(in), out, sizeof(out), &outl);
	if (rc != want_rc)
		fail_msg("%s: rc %d, want %d", in, rc, want_rc);
	assert_int_equal(outl, strlen(want));
	assert_string_equal(out, want);
}

static void
header_case(const char *name, const char *value, const char *want)
{
	char	out[256];
	size_t	n;

	n = redact_header_value(name, value, out, sizeof(out));
	assert_int_equal(n, strlen(want));
	if (strcmp(out, want) != 0)
		fail_msg("%s: %s: got \"%s\", want \"%s\"", name, value, out,
		    want);
}

static void
test_tables_in_order(void **state)
{
	(void)state;
	assert_true(redact_selftest());
}

static void
test_header_names(void **state)
{
	static const char *secret[] = {
		"Authorization", "AUTHORIZATION", "proxy-authorization",
		"Cookie", "Set-Cookie", "X-Api-Key", "api-key", "ApiKey",
		"X-Auth-Token", "X-CSRF-Token", "x-xsrf-token",
		"X-Amz-Security-Token", "X-Client-Secret", "X-Session-Id",
		"X-Goog-Api-Key", "Ocp-Apim-Subscription-Key",
		"X-Refresh-Token", "X-Password", "X-Auth", "X-Credentials",
		"Private-Token", "X-Functions-Key",
	};
	static const char *plain[] = {
		"Content-Type", "Accept", "User-Agent", "X-Request-Id", "Host",
		"Content-Length", "If-None-Match", "Idempotency-Key",
		"WWW-Authenticate", "X-RateLimit-Remaining", "ETag",
		"Location", "Accept-Encoding", "X-Forwarded-For", "Key", "",
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(secret) / sizeof(secret[0]); i++) {
		if (!redact_header_sensitive(secret[i]))
			fail_msg("not sensitive: %s", secret[i]);
	}
	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		if (redact_header_sensitive(plain[i]))
			fail_msg("sensitive: %s", plain[i]);
	}
	assert_false(redact_header_sensitive(NULL));
}

static void
test_authorization_keeps_scheme(void **state)
{
	(void)state;
	header_case("Authorization", "Bearer abc.def.ghi",
	    "Bearer [REDACTED]");
	header_case("authorization", "Basic dXNlcjpwYXNz", "Basic [REDACTED]");
	header_case("Proxy-Authorization", "Basic Zm9vOmJhcg==",
	    "Basic [REDACTED]");
	header_case("Authorization", "  Bearer x", "Bearer [REDACTED]");
	header_case("Authorization",
	    "Digest username=\"a\", realm=\"r\", response=\"f00\"",
	    "Digest [REDACTED]");
	header_case("Authorization", "AWS4-HMAC-SHA256 Credential=AKIA/x",
	    "AWS4-HMAC-SHA256 [REDACTED]");
	/* No scheme word: nothing of the value survives. */
	header_case("Authorization", "abcdef123456", "[REDACTED]");
	header_case("Authorization", "token=abc def", "[REDACTED]");
	header_case("Authorization", "Bearer", "[REDACTED]");
	header_case("Authorization", "", "");
}

static void
test_cookie_keeps_names(void **state)
{
	(void)state;
	header_case("Cookie", "sid=abc; theme=dark",
	    "sid=[REDACTED]; theme=[REDACTED]");
	header_case("Cookie", "a=1;b=2", "a=[REDACTED]; b=[REDACTED]");
	header_case("cookie", "justvalue", "[REDACTED]");
	header_case("Cookie", "sid=abc;", "sid=[REDACTED]");
	header_case("Set-Cookie", "sid=abc123; Path=/; HttpOnly; Secure",
	    "sid=[REDACTED]; Path=/; HttpOnly; Secure");
	header_case("Set-Cookie", "sid=abc123", "sid=[REDACTED]");
	header_case("Set-Cookie", "opaque", "[REDACTED]");
}

static void
test_other_headers(void **state)
{
	(void)state;
	header_case("X-Api-Key", "k-123456", "[REDACTED]");
	header_case("X-CSRF-Token", "abc", "[REDACTED]");
	header_case("Content-Type", "application/json; charset=utf-8",
	    "application/json; charset=utf-8");
	header_case("Accept", "", "");
}

static void
test_header_value_truncates_like_strlcpy(void **state)
{
	char	out[8];
	size_t	n;

	(void)state;
	n = redact_header_value("Authorization", "Bearer abc", out,
	    sizeof(out));
	assert_int_equal(n, strlen("Bearer [REDACTED]"));
	assert_string_equal(out, "Bearer ");
	n = redact_header_value("Accept", "text/html", out, sizeof(out));
	assert_int_equal(n, 9);
	assert_string_equal(out, "text/ht");
	n = redact_header_value("Accept", "text/html", NULL, 0);
	assert_int_equal(n, 9);
}

static void
test_secret_keys(void **state)
{
	static const char *keys[] = {
		"password", "Password", "PASSWORD", "passwd", "pwd", "pass",
		"new_password", "newPassword", "password_confirmation",
		"passwordConfirmation", "user[password]", "newpassword",
		"secret", "client_secret", "clientSecret", "CLIENT-SECRET",
		"clientsecret", "token", "access_token", "accessToken",
		"AccessToken", "ACCESS_TOKEN", "refresh_token", "id_token",
		"csrf_token", "xsrfToken", "authenticity_token",
		"oauth_token", "accesstoken", "apitoken", "auth",
		"auth_code", "basic_auth", "authorization", "api_key",
		"apiKey", "APIKey", "api-key", "apikey", "x-api-key",
		"private_key", "privateKey", "secret_key",
		"aws_secret_access_key", "access_key", "card_number",
		"cardNumber", "credit_card", "creditCardNumber", "cc_number",
		"cardnumber", "cvv", "CVC2", "cvc", "ssn",
		"social_security_number", "pin", "pin_code", "otp",
		"session_id", "sessionId", "session", "user_session", "jwt",
		"credentials", "cookie", "passphrase", "security_code",
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (!redact_key_secret(keys[i], strlen(keys[i])))
			fail_msg("not secret: %s", keys[i]);
	}
}

static void
test_plain_keys(void **state)
{
	static const char *keys[] = {
		/* Contain a secret word, but as part of another word. */
		"tokenizer_version", "tokenizer", "max_tokens",
		"prompt_tokens", "total_tokens", "author", "authority",
		"authenticated", "keyboard", "monkey", "secretary",
		"passenger", "bypass", "compass", "spin", "pinned",
		"shipping", "public_key", "card_brand", "card_last4",
		/* Only describe a secret. */
		"token_type", "tokenType", "token_expires_in",
		"password_updated_at", "password_policy",
		"client_secret_expires_at", "session_count",
		"api_key_name", "passwordHint",
		/* Ordinary fields. */
		"key", "id", "name", "email", "username", "user_id",
		"description", "", "_", "42",
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (redact_key_secret(keys[i], strlen(keys[i])))
			fail_msg("secret: %s", keys[i]);
	}
}

static void
test_key_length_is_respected(void **state)
{
	(void)state;
	/* Only the first len bytes are the key. */
	assert_false(redact_key_secret("user_password", 4));
	assert_true(redact_key_secret("password_x", 8));
}

static void
test_query(void **state)
{
	(void)state;
	query_case("a=1&password=hunter2&b=2", REDACT_DONE,
	    "a=1&password=%5BREDACTED%5D&b=2");
	query_case("q=search&page=2", REDACT_NONE, "q=search&page=2");
	query_case("api%5Fkey=abc", REDACT_DONE, "api%5Fkey=%5BREDACTED%5D");
	query_case("access+token=abc", REDACT_DONE,
	    "access+token=%5BREDACTED%5D");
	query_case("token=", REDACT_NONE, "token=");
	query_case("token", REDACT_NONE, "token");
	query_case("&&token=x&", REDACT_DONE, "&&token=%5BREDACTED%5D&");
	query_case("a=b=c&secret=d=e", REDACT_DONE,
	    "a=b=c&secret=%5BREDACTED%5D");
	query_case("tokenizer_version=3&token_type=bearer", REDACT_NONE,
	    "tokenizer_version=3&token_type=bearer");
	query_case("user[password]=x&user[name]=y", REDACT_DONE,
	    "user[password]=%5BREDACTED%5D&user[name]=y");
	query_case("x=%ZZ&y=%&z", REDACT_NONE, "x=%ZZ&y=%&z");
	query_case("", REDACT_NONE, "");
	query_case("apiKey=1&apiKey=2", REDACT_DONE,
	    "apiKey=%5BREDACTED%5D&apiKey=%5BREDACTED%5D");
}

static void
test_form_body(void **state)
{
	const char	*in = "grant_type=password&username=bob&"
			    "password=p%40ss&client_id=app&client_secret=s3";
	const char	*want = "grant_type=password&username=bob&"
			    "password=%5BREDACTED%5D&client_id=app&"
			    "client_secret=%5BREDACTED%5D";
	char		out[512];
	size_t		outl;

	(void)state;
	assert_int_equal(redact_form(in, strlen(in), out, sizeof(out),
	    &outl), REDACT_DONE);
	assert_int_equal(outl, strlen(want));
	assert_string_equal(out, want);
}

static void
test_query_nospace(void **state)
{
	const char	*in = "password=x";
	char		out[64];
	size_t		outl;

	(void)state;
	/* 23 bytes of output need 24 with the NUL. */
	assert_int_equal(redact_query(in, strlen(in), out, 23, &outl),
	    REDACT_NOSPACE);
	assert_int_equal(redact_query(in, strlen(in), out, 24, &outl),
	    REDACT_DONE);
	assert_int_equal(outl, 23);
	assert_int_equal(redact_query(in, strlen(in), NULL, 0, &outl),
	    REDACT_NOSPACE);
}

static void
test_json_flat(void **state)
{
	(void)state;
	json_case("{\"user\":\"bob\",\"password\":\"hunter2\"}", 0,
	    REDACT_DONE, "{\"user\":\"bob\",\"password\":\"[REDACTED]\"}");
	json_case("{ \"password\" : \"x\" ,\n\t\"a\" : 1 }", 0, REDACT_DONE,
	    "{ \"password\" : \"[REDACTED]\" ,\n\t\"a\" : 1 }");
	json_case("{\"pin\":1234}", 0, REDACT_DONE,
	    "{\"pin\":\"[REDACTED]\"}");
	json_case("{\"cvv\":-1.5e+3}", 0, REDACT_DONE,
	    "{\"cvv\":\"[REDACTED]\"}");
	json_case("{\"token\":\"\"}", 0, REDACT_DONE,
	    "{\"token\":\"[REDACTED]\"}");
	json_case("{\"a\":1,\"b\":[true,false,null],\"c\":\"d\"}", 0,
	    REDACT_NONE, "{\"a\":1,\"b\":[true,false,null],\"c\":\"d\"}");
	json_case("{\"tokenizer_version\":\"v2\",\"token_type\":\"Bearer\","
	    "\"access_token\":\"abc\"}", 0, REDACT_DONE,
	    "{\"tokenizer_version\":\"v2\",\"token_type\":\"Bearer\","
	    "\"access_token\":\"[REDACTED]\"}");
}

static void
test_json_literals_kept(void **state)
{
	(void)state;
	json_case("{\"password\":null,\"secret\":true,\"otp\":false}", 0,
	    REDACT_NONE, "{\"password\":null,\"secret\":true,\"otp\":false}");
}

static void
test_json_containers(void **state)
{
	(void)state;
	json_case("{\"credentials\":{\"user\":\"a\",\"password\":\"b\"},"
	    "\"n\":1}", 0, REDACT_DONE,
	    "{\"credentials\":\"[REDACTED]\",\"n\":1}");
	json_case("{\"secrets\":[\"a\",[\"b\"],{}],\"n\":[1,2]}", 0,
	    REDACT_DONE, "{\"secrets\":\"[REDACTED]\",\"n\":[1,2]}");
	json_case("{\"secret\":{}}", 0, REDACT_DONE,
	    "{\"secret\":\"[REDACTED]\"}");
	json_case("{\"secret\":[]}", 0, REDACT_DONE,
	    "{\"secret\":\"[REDACTED]\"}");
}

static void
test_json_nested(void **state)
{
	(void)state;
	json_case("{\"a\":{\"b\":[{\"c\":{\"access_token\":\"t\"}}]},"
	    "\"z\":0}", 0, REDACT_DONE,
	    "{\"a\":{\"b\":[{\"c\":{\"access_token\":\"[REDACTED]\"}}]},"
	    "\"z\":0}");
	json_case("[{\"token\":\"a\"},{\"token\":\"b\",\"x\":[]}]", 0,
	    REDACT_DONE, "[{\"token\":\"[REDACTED]\"},"
	    "{\"token\":\"[REDACTED]\",\"x\":[]}]");
	/* Strings in arrays are values, not keys. */
	json_case("[\"password\",\"x\"]", 0, REDACT_NONE,
	    "[\"password\",\"x\"]");
	json_case("{\"data\":{\"user\":{\"profile\":{\"ssn\":\"123-45-6789\","
	    "\"name\":\"x\"}}}}", 0, REDACT_DONE,
	    "{\"data\":{\"user\":{\"profile\":{\"ssn\":\"[REDACTED]\","
	    "\"name\":\"x\"}}}}");
}

static void
test_json_escaped_quotes(void **state)
{
	(void)state;
	json_case("{\"note\":\"say \\\"password\\\": \\\"x\\\"\","
	    "\"password\":\"p\\\"q\\\\\"}", 0, REDACT_DONE,
	    "{\"note\":\"say \\\"password\\\": \\\"x\\\"\","
	    "\"password\":\"[REDACTED]\"}");
	json_case("{\"a\\\"b\":\"c\",\"d\":\"\\\\\"}", 0, REDACT_NONE,
	    "{\"a\\\"b\":\"c\",\"d\":\"\\\\\"}");
}

static void
test_json_unicode_keys(void **state)
{
	(void)state;
	json_case("{\"pass\\u0077ord\":\"x\"}", 0, REDACT_DONE,
	    "{\"pass\\u0077ord\":\"[REDACTED]\"}");
	json_case("{\"\\u0070\\u0069\\u006E\":\"1234\"}", 0, REDACT_DONE,
	    "{\"\\u0070\\u0069\\u006E\":\"[REDACTED]\"}");
	json_case("{\"api\\u005fkey\":\"k\"}", 0, REDACT_DONE,
	    "{\"api\\u005fkey\":\"[REDACTED]\"}");
	/* A non-ASCII letter is not part of an English word. */
	json_case("{\"pa\\u00dfword\":\"x\",\"caf\\u00e9\":1}", 0,
	    REDACT_NONE, "{\"pa\\u00dfword\":\"x\",\"caf\\u00e9\":1}");
	/* Raw UTF-8 passes through untouched. */
	json_case("{\"name\":\"Zo\xc3\xab\",\"secret\":\"\xe2\x82\xac\"}", 0,
	    REDACT_DONE, "{\"name\":\"Zo\xc3\xab\",\"secret\":\"[REDACTED]\"}");
}

static void
test_json_top_level_scalars(void **state)
{
	(void)state;
	json_case("123", 0, REDACT_NONE, "123");
	json_case(" \"s\" ", 0, REDACT_NONE, " \"s\" ");
	json_case("true", 0, REDACT_NONE, "true");
	json_case("[]", 0, REDACT_NONE, "[]");
	json_case("{}", 0, REDACT_NONE, "{}");
}

static void
test_json_invalid(void **state)
{
	static const char *bad[] = {
		"", "   ", "{", "[", "]", "}", "{\"a\":1,}", "{'a':1}",
		"[1 2]", "{\"a\" 1}", "{\"a\":}", "tru", "nul", "nulll",
		"{\"a\":01}", "{\"a\":1.}", "{\"a\":-}", "{\"a\":.5}",
		"{\"a\":1e}", "{\"a\":\"\x01\"}", "[\"a\x01n\"]",
		"[\"\t\"]", "{\"a\":\"\\q\"}",
		"{\"a\":\"\\u12G4\"}", "[1]]", "{}x", "\"\"\"\"",
		"{\"a\":1}{", "[,1]", "{,}", "{\"a\":1 \"b\":2}",
		"{1:2}", "[\"a\",]", "NaN", "{\"password\":\"x\"",
		"{\"password\":\"x\"}}", "a=1&b=2", "<html></html>",
		"{\"a\":[}", "{\"a\":{]}",
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		json_case(bad[i], 0, REDACT_NOT_JSON, NULL);
}

static void
test_json_truncated(void **state)
{
	(void)state;
	json_case("{\"a\":1,\"password\":\"abc", 0, REDACT_NOT_JSON, NULL);
	json_case("{\"a\":1,\"password\":\"abc", REDACT_PARTIAL, REDACT_DONE,
	    "{\"a\":1,\"password\":\"[REDACTED]\"");
	json_case("{\"credentials\":{\"user\":\"a\",\"pass", REDACT_PARTIAL,
	    REDACT_DONE, "{\"credentials\":\"[REDACTED]\"");
	json_case("{\"credentials\":[\"abc", REDACT_PARTIAL, REDACT_DONE,
	    "{\"credentials\":\"[REDACTED]\"");
	json_case("{\"pin\":12", REDACT_PARTIAL, REDACT_DONE,
	    "{\"pin\":\"[REDACTED]\"");
	json_case("{\"a\":\"xy", REDACT_PARTIAL, REDACT_NONE, "{\"a\":\"xy");
	json_case("{\"password\": ", REDACT_PARTIAL, REDACT_NONE,
	    "{\"password\": ");
	json_case("[1,2,tr", REDACT_PARTIAL, REDACT_NONE, "[1,2,tr");
	json_case("", REDACT_PARTIAL, REDACT_NOT_JSON, NULL);
	json_case("  ", REDACT_PARTIAL, REDACT_NOT_JSON, NULL);
	/* Cut short is not the same as wrong. */
	json_case("{\"a\":1,}", REDACT_PARTIAL, REDACT_NOT_JSON, NULL);
}

/*
 * Every prefix of a document whose secrets are all 'Z' bytes, redacted
 * as a truncated capture, keeps no 'Z' and is never refused.
 */
static void
test_json_every_prefix_hides_secret(void **state)
{
	const char	*doc = "{\"id\":7,\"password\":\"ZZZZ\",\"list\":[1,"
			    "{\"api_key\":\"ZZ\\\"ZZ\"}],\"auth\":{\"user\":"
			    "\"u\",\"pwd\":\"ZZZ\"},\"pin\":-9,\"n\":null,"
			    "\"token\":[\"ZZ\",{\"k\":\"ZZ\"}],\"end\":\"e\"}";
	char		out[512];
	size_t		len, i, outl;
	int		rc;

	(void)state;
	len = strlen(doc);
	for (i = 1; i <= len; i++) {
		rc = redact_json(doc, i, out, sizeof(out), &outl,
		    REDACT_PARTIAL);
		if (rc < 0)
			fail_msg("prefix %zu refused: %d", i, rc);
		if (memchr(out, 'Z', outl) != NULL)
			fail_msg("prefix %zu leaks: %.*s", i, (int)outl, out);
	}
	rc = redact_json(doc, len, out, sizeof(out), &outl, 0);
	assert_int_equal(rc, REDACT_DONE);
	assert_null(memchr(out, 'Z', outl));
	assert_non_null(strstr(out, "\"pin\":\"[REDACTED]\""));
	assert_non_null(strstr(out, "\"n\":null"));
}

static void
test_json_bom(void **state)
{
	(void)state;
	json_case("\xef\xbb\xbf{\"secret\":\"x\"}", 0, REDACT_DONE,
	    "\xef\xbb\xbf{\"secret\":\"[REDACTED]\"}");
}

static void
test_json_depth_limit(void **state)
{
	char	*in, *out;
	size_t	 n, outl;

	(void)state;
	in = malloc(4096);
	out = malloc(4096);
	assert_non_null(in);
	assert_non_null(out);

	n = 1024;
	memset(in, '[', n);
	memset(in + n, ']', n);
	assert_int_equal(redact_json(in, 2 * n, out, 4096, &outl, 0),
	    REDACT_NONE);
	assert_int_equal(outl, 2 * n);

	n = 1025;
	memset(in, '[', n);
	memset(in + n, ']', n);
	assert_int_equal(redact_json(in, 2 * n, out, 4096, &outl, 0),
	    REDACT_NOT_JSON);

	free(in);
	free(out);
}

static void
test_json_output_sizes(void **state)
{
	const char	*in = "{\"pin\":1}";
	const char	*want = "{\"pin\":\"[REDACTED]\"}";
	char		 out[64];
	size_t		 outl, n;

	(void)state;
	n = strlen(want);
	assert_int_equal(redact_json(in, strlen(in), out, n + 1, &outl, 0),
	    REDACT_DONE);
	assert_int_equal(outl, n);
	assert_int_equal(redact_json(in, strlen(in), out, n, &outl, 0),
	    REDACT_NOSPACE);
	assert_int_equal(redact_json("{}", 2, out, 2, &outl, 0),
	    REDACT_NOSPACE);
	assert_int_equal(redact_json("{}", 2, out, 3, &outl, 0),
	    REDACT_NONE);
	assert_int_equal(redact_json("{}", 2, NULL, 0, &outl, 0),
	    REDACT_NOSPACE);
}

/* The densest secrets there are still fit in redact_bound(). */
static void
test_bound_worst_case(void **state)
{
	char	*in, *out;
	size_t	 n, len, outl, bound;
	int	 i;

	(void)state;
	n = 10000;
	in = malloc(n * 8 + 2);
	assert_non_null(in);
	len = 0;
	in[len++] = '[';
	for (i = 0; i < 1000; i++)
		len += (size_t)sprintf(in + len, "%s{\"pin\":1}",
		    i ? "," : "");
	in[len++] = ']';
	bound = redact_bound(len);
	out = malloc(bound);
	assert_non_null(out);
	assert_int_equal(redact_json(in, len, out, bound, &outl, 0),
	    REDACT_DONE);
	assert_true(outl < bound);

	len = 0;
	for (i = 0; i < 1000; i++)
		len += (size_t)sprintf(in + len, "%spin=1", i ? "&" : "");
	free(out);
	bound = redact_bound(len);
	out = malloc(bound);
	assert_non_null(out);
	assert_int_equal(redact_query(in, len, out, bound, &outl),
	    REDACT_DONE);
	assert_true(outl < bound);
	assert_int_equal(outl, 1000 * 18 + 999);

	free(in);
	free(out);
}

/* A large body: every unit redacted the same, nothing else changed. */
static void
test_json_large_body(void **state)
{
	const char	*unit_in = "{\"id\":%d,\"name\":\"n\\u00e9 %d\","
			    "\"password\":\"pw-%d\",\"tags\":[\"a\",\"b\"]}";
	const char	*unit_out = "{\"id\":%d,\"name\":\"n\\u00e9 %d\","
			    "\"password\":\"[REDACTED]\",\"tags\":[\"a\","
			    "\"b\"]}";
	char		*in, *want, *out;
	size_t		 cap, inl, wantl, outl;
	int		 i;

	(void)state;
	cap = 8 * 1024 * 1024;
	in = malloc(cap);
	want = malloc(cap);
	out = malloc(cap);
	assert_non_null(in);
	assert_non_null(want);
	assert_non_null(out);

	inl = wantl = 0;
	in[inl++] = want[wantl++] = '[';
	for (i = 0; i < 20000; i++) {
		if (i) {
			in[inl++] = ',';
			want[wantl++] = ',';
		}
		inl += (size_t)snprintf(in + inl, cap - inl, unit_in, i, i, i);
		wantl += (size_t)snprintf(want + wantl, cap - wantl, unit_out,
		    i, i);
	}
	in[inl++] = want[wantl++] = ']';

	assert_int_equal(redact_json(in, inl, out, cap, &outl, 0),
	    REDACT_DONE);
	assert_int_equal(outl, wantl);
	assert_memory_equal(out, want, wantl);

	free(in);
	free(want);
	free(out);
}

/*
 * Many distinct keys, more than the scanner remembers verdicts for, seen
 * again and again: every verdict stays that of its own key.
 */
static void
test_json_many_repeated_keys(void **state)
{
	char	in[16384], want[16384], out[16384];
	size_t	inl, wantl, outl;
	int	round, k;

	(void)state;
	inl = wantl = 0;
	in[inl++] = want[wantl++] = '[';
	for (round = 0; round < 3; round++) {
		for (k = 0; k < 80; k++) {
			if (round || k) {
				in[inl++] = ',';
				want[wantl++] = ',';
			}
			if (k % 10 == 3) {
				inl += (size_t)sprintf(in + inl,
				    "{\"%s%d\":\"v\"}", "apiKey", k);
				wantl += (size_t)sprintf(want + wantl,
				    "{\"%s%d\":\"[REDACTED]\"}", "apiKey", k);
			} else {
				inl += (size_t)sprintf(in + inl,
				    "{\"%s%d\":\"v\"}", "field", k);
				wantl += (size_t)sprintf(want + wantl,
				    "{\"%s%d\":\"v\"}", "field", k);
			}
		}
	}
	in[inl++] = want[wantl++] = ']';

	assert_int_equal(redact_json(in, inl, out, sizeof(out), &outl, 0),
	    REDACT_DONE);
	assert_int_equal(outl, wantl);
	assert_memory_equal(out, want, wantl);
}

/*
 * Random byte flips of a valid document must never crash the scanner,
 * and whatever it does not redact it must copy exactly.
 */
static void
test_json_mutations(void **state)
{
	const char	*doc = "{\"a\":[1,2.5e3,true,null],\"password\":"
			    "\"x\\\"y\",\"b\":{\"c\":\"\\u00e9\",\"token\":"
			    "{\"d\":[]}},\"e\":-0}";
	char		 in[256], out[1024];
	size_t		 len, outl, i;
	unsigned int	 seed;
	int		 rc, k, flips;

	(void)state;
	len = strlen(doc);
	seed = 12345;
	for (i = 0; i < 20000; i++) {
		memcpy(in, doc, len);
		flips = 1 + (int)(i % 3);
		for (k = 0; k < flips; k++) {
			seed = seed * 1103515245 + 12345;
			in[(seed >> 8) % len] = (char)(seed >> 20);
		}
		rc = redact_json(in, len, out, sizeof(out), &outl,
		    (int)(i & 1));
		assert_true(rc >= REDACT_NOT_JSON && rc <= REDACT_DONE);
		if (rc == REDACT_NONE) {
			assert_int_equal(outl, len);
			assert_memory_equal(out, in, len);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables_in_order),
		cmocka_unit_test(test_header_names),
		cmocka_unit_test(test_authorization_keeps_scheme),
		cmocka_unit_test(test_cookie_keeps_names),
		cmocka_unit_test(test_other_headers),
		cmocka_unit_test(test_header_value_truncates_like_strlcpy),
		cmocka_unit_test(test_secret_keys),
		cmocka_unit_test(test_plain_keys),
		cmocka_unit_test(test_key_length_is_respected),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_form_body),
		cmocka_unit_test(test_query_nospace),
		cmocka_unit_test(test_json_flat),
		cmocka_unit_test(test_json_literals_kept),
		cmocka_unit_test(test_json_containers),
		cmocka_unit_test(test_json_nested),
		cmocka_unit_test(test_json_escaped_quotes),
		cmocka_unit_test(test_json_unicode_keys),
		cmocka_unit_test(test_json_top_level_scalars),
		cmocka_unit_test(test_json_invalid),
		cmocka_unit_test(test_json_truncated),
		cmocka_unit_test(test_json_every_prefix_hides_secret),
		cmocka_unit_test(test_json_bom),
		cmocka_unit_test(test_json_depth_limit),
		cmocka_unit_test(test_json_output_sizes),
		cmocka_unit_test(test_bound_worst_case),
		cmocka_unit_test(test_json_large_body),
		cmocka_unit_test(test_json_many_repeated_keys),
		cmocka_unit_test(test_json_mutations),
	};

	return (cmocka_run_group_tests_name("redact", tests, NULL, NULL));
}
