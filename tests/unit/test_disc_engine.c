/*
 * The engine as the documentation job uses it: parameters, security
 * schemes, request bodies of several media types, examples, the AI
 * summary and annotations, determinism and bad input.
 */

#include "test_disc_common.h"

static void
query_parameters_get_type_required_and_array(void **state)
{
	struct disc_engine	*e = disc_new();
	json_t			*doc, *op, *p;

	(void)state;
	t_call(e, "GET", "/items", "limit=10&tag=a&tag=b&q=x", 200, "[]");
	t_call(e, "GET", "/items", "limit=20&tag=c", 200, "[]");
	t_call(e, "GET", "/items", "limit=5&active=true", 200, "[]");
	doc = t_doc(e);
	op = t_op(doc, "/items", "get");
	p = t_param(op, "limit");
	assert_true(json_is_true(json_object_get(p, "required")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    p, "schema"), "type")), "integer");
	p = t_param(op, "q");
	assert_true(json_is_false(json_object_get(p, "required")));
	p = t_param(op, "tag");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    p, "schema"), "type")), "array");
	p = t_param(op, "active");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    p, "schema"), "type")), "boolean");
	json_decref(doc);
	disc_free(e);
}

static void
query_parameter_with_few_repeating_values_is_an_enum(void **state)
{
	struct disc_engine	*e = disc_new();
	json_t			*doc, *en;
	int			 i;

	(void)state;
	for (i = 0; i < 12; i++)
		t_call(e, "GET", "/items", i % 2 ? "sort=asc" : "sort=desc",
		    200, "[]");
	doc = t_doc(e);
	en = json_object_get(json_object_get(t_param(t_op(doc, "/items",
	    "get"), "sort"), "schema"), "enum");
	assert_int_equal(json_array_size(en), 2);
	json_decref(doc);
	disc_free(e);
}

static void
notable_request_headers_become_parameters(void **state)
{
	struct disc_engine	*e = disc_new();
	json_t			*doc, *op;

	(void)state;
	t_call_req(e, "POST", "/pay", "{\"idempotency-key\":\"k1\","
	    "\"user-agent\":\"curl\",\"accept\":\"*/*\"}", NULL, NULL, 201);
	doc = t_doc(e);
	op = t_op(doc, "/pay", "post");
	assert_non_null(t_param(op, "idempotency-key"));
	assert_null(t_param(op, "user-agent"));
	assert_null(t_param(op, "accept"));
	json_decref(doc);
	disc_free(e);
}

static json_t *
schemes_after(const char *headers, const char *query)
{
	struct disc_engine	*e = disc_new();
	struct disc_call	 c;
	json_t			*doc, *s;

	memset(&c, 0, sizeof(c));
	c.method = "GET";
	c.path = "/secret";
	c.query = query;
	c.status = 200;
	c.req_headers_json = headers;
	assert_int_equal(disc_add_call(e, &c), 0);
	doc = t_doc(e);
	s = json_object_get(json_object_get(doc, "components"),
	    "securitySchemes");
	json_incref(s);
	assert_non_null(json_object_get(t_op(doc, "/secret", "get"),
	    "security"));
	json_decref(doc);
	disc_free(e);
	return (s);
}

static void
bearer_scheme_is_recognised_through_redaction(void **state)
{
	json_t	*s = schemes_after(
	    "{\"authorization\":\"Bearer [REDACTED]\"}", NULL);

	(void)state;
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    s, "bearerAuth"), "scheme")), "bearer");
	json_decref(s);
}

static void
basic_scheme_is_recognised(void **state)
{
	json_t	*s = schemes_after("{\"authorization\":\"Basic [REDACTED]\"}",
	    NULL);

	(void)state;
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    s, "basicAuth"), "scheme")), "basic");
	json_decref(s);
}

static void
api_key_in_header_is_recognised(void **state)
{
	json_t	*s = schemes_after("{\"x-api-key\":\"[REDACTED]\"}", NULL),
		*k;

	(void)state;
	k = json_object_get(s, "xApiKeyHeader");
	assert_string_equal(json_string_value(json_object_get(k, "type")),
	    "apiKey");
	assert_string_equal(json_string_value(json_object_get(k, "in")),
	    "header");
	assert_string_equal(json_string_value(json_object_get(k, "name")),
	    "x-api-key");
	json_decref(s);
}

static void
api_key_in_query_is_a_scheme_not_a_parameter(void **state)
{
	struct disc_engine	*e = disc_new();
	json_t			*doc, *k;

	(void)state;
	t_call(e, "GET", "/maps", "api_key=abc123&zoom=3", 200, "{}");
	doc = t_doc(e);
	k = json_object_get(json_object_get(json_object_get(doc,
	    "components"), "securitySchemes"), "apiKeyQuery");
	assert_string_equal(json_string_value(json_object_get(k, "in")),
	    "query");
	assert_null(t_param(t_op(doc, "/maps", "get"), "api_key"));
	assert_non_null(t_param(t_op(doc, "/maps", "get"), "zoom"));
	json_decref(doc);
	disc_free(e);
}

static void
session_cookie_is_recognised(void **state)
{
	json_t	*s = schemes_after(
	    "{\"cookie\":\"theme=dark; session_id=[REDACTED]\"}", NULL), *k;

	(void)state;
	k = json_object_get(s, "sessionIdCookie");
	assert_string_equal(json_string_value(json_object_get(k, "in")),
	    "cookie");
	assert_string_equal(json_string_value(json_object_get(k, "name")),
	    "session_id");
	json_decref(s);
}

static void
preference_cookies_are_cookie_parameters(void **state)
{
	struct disc_engine	*e = disc_new();
	json_t			*doc, *p;

	(void)state;
	t_call_req(e, "GET", "/feed", "{\"cookie\":\"theme=dark; "
	    "session_id=[REDACTED]; page_size=20\"}", NULL, NULL, 200);
	doc = t_doc(e);
	p = t_param(t_op(doc, "/feed", "get"), "page_size");
	assert_non_null(p);
	assert_string_equal(json_string_value(json_object_get(p, "in")),
	    "cookie");
	assert_non_null(t_param(t_op(doc, "/feed", "get"), "theme"));
	assert_null(t_param(t_op(doc, "/feed", "get"), "session_id"));
	json_decref(doc);
	disc_free(e);
}

static void
form_body_fields_are_typed(void **state)
{
	struct disc_engine	*e = disc_new();
	json_t			*doc, *s;

	(void)state;
	t_call_req(e, "POST", "/token", "{}",
	    "application/x-www-form-urlencoded; charset=utf-8",
	    "grant_type=client_credentials&client_id=abc&ttl=60", 200);
	doc = t_doc(e);
	s = json_object_get(json_object_get(json_object_get(json_object_get(
	    json_object_get(t_op(doc, "/token", "post"), "requestBody"),
	    "content"), "application/x-www-form-urlencoded"), "schema"),
	    "properties");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    s, "ttl"), "type")), "integer");
	assert_non_null(json_object_get(s, "grant_type"));
	json_decref(doc);
	disc_free(e);
}

static void
multipart_file_parts_are_binary(void **state)
{
	struct disc_engine	*e = disc_new();
	json_t			*doc, *s;
	const char		*body = "--XyZ\r\nContent-Disposition: "
	    "form-data; name=\"alt\"\r\n\r\nA cat\r\n--XyZ\r\n"
	    "Content-Disposition: "
	    "form-data; name=\"file\"; filename=\"c.png\"\r\nContent-Type: "
	    "image/png\r\n\r\n\x89PNG\x00\x01\r\n--XyZ--\r\n";
	struct disc_call	 c;
	char			*md;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.method = "POST";
	c.path = "/images";
	c.status = 201;
	c.req_content_type = "multipart/form-data; boundary=XyZ";
	c.req_body = (const unsigned char *)body;
	c.req_body_len = strlen(body) + 1 +
	    strlen(body + strlen(body) + 1);
	assert_int_equal(disc_add_call(e, &c), 0);
	doc = t_doc(e);
	s = json_object_get(json_object_get(json_object_get(json_object_get(
	    json_object_get(t_op(doc, "/images", "post"), "requestBody"),
	    "content"), "multipart/form-data"), "schema"), "properties");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    s, "file"), "format")), "binary");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    s, "alt"), "type")), "string");
	json_decref(doc);
	md = disc_markdown(e);
	assert_non_null(strstr(md, "| `file` | string (binary) | yes |  |"));
	free(md);
	disc_free(e);
}

static void
binary_response_is_described_by_media_type(void **state)
{
	struct disc_engine	*e = disc_new();
	json_t			*doc, *content;
	struct disc_call	 c;
	static const unsigned char pdf[] = { '%', 'P', 'D', 'F', 0, 0xff, 1 };

	(void)state;
	memset(&c, 0, sizeof(c));
	c.method = "GET";
	c.path = "/invoice";
	c.status = 200;
	c.resp_content_type = "application/pdf";
	c.resp_body = pdf;
	c.resp_body_len = sizeof(pdf);
	assert_int_equal(disc_add_call(e, &c), 0);
	doc = t_doc(e);
	content = json_object_get(json_object_get(json_object_get(
	    json_object_get(t_op(doc, "/invoice", "get"), "responses"),
	    "200"), "content"), "application/pdf");
	assert_non_null(content);
	assert_null(json_object_get(content, "example"));
	json_decref(doc);
	disc_free(e);
}

static void
examples_are_real_and_redacted(void **state)
{
	struct disc_engine	*e = disc_new();
	json_t			*doc, *ex;

	(void)state;
	t_call(e, "POST", "/login", NULL, 200, "{\"user\":\"ann\","
	    "\"access_token\":\"abc\",\"note\":\"Bearer xyz\"}");
	doc = t_doc(e);
	ex = json_object_get(json_object_get(json_object_get(json_object_get(
	    json_object_get(t_op(doc, "/login", "post"), "responses"), "200"),
	    "content"), "application/json"), "example");
	assert_string_equal(json_string_value(json_object_get(ex, "user")),
	    "ann");
	assert_string_equal(json_string_value(json_object_get(ex,
	    "access_token")), "[REDACTED]");
	assert_string_equal(json_string_value(json_object_get(ex, "note")),
	    "[REDACTED]");
	json_decref(doc);
	disc_free(e);
}

static void
every_status_seen_is_documented(void **state)
{
	struct disc_engine	*e = disc_new();
	json_t			*doc, *r;

	(void)state;
	t_call(e, "GET", "/x/1", NULL, 200, "{}");
	t_call(e, "GET", "/x/2", NULL, 404, NULL);
	t_call(e, "GET", "/x/3", NULL, 500, "{\"e\":1}");
	doc = t_doc(e);
	r = json_object_get(t_op(doc, "/x/{xId}", "get"), "responses");
	assert_int_equal(json_object_size(r), 3);
	assert_non_null(json_object_get(r, "404"));
	json_decref(doc);
	disc_free(e);
}

static char *
render(const char *const *paths, size_t n, int reverse)
{
	struct disc_engine	*e = disc_new();
	char			 body[64];
	size_t			 i, k;
	char			*out;

	for (i = 0; i < n; i++) {
		k = reverse ? n - 1 - i : i;
		snprintf(body, sizeof(body), "{\"id\":%zu,\"v\":\"s%zu\"}",
		    k, k % 3);
		t_call(e, k % 2 ? "GET" : "PUT", paths[k], "a=1", 200, body);
	}
	assert_int_equal(disc_analyse(e), 0);
	out = disc_openapi_json(e);
	disc_free(e);
	return (out);
}

static void
output_is_identical_for_the_same_calls_in_any_order(void **state)
{
	static const char *const p[] = { "/a/1", "/a/2", "/b/3", "/a/4/c",
	    "/b/5", "/a/6", "/a/7/c", "/b/8" };
	char	*x = render(p, 8, 0), *y = render(p, 8, 0),
		*z = render(p, 8, 1);

	(void)state;
	assert_string_equal(x, y);
	assert_string_equal(x, z);
	free(x);
	free(y);
	free(z);
}

static void
summary_lists_operations_in_chunks(void **state)
{
	struct disc_engine	*e = disc_new();
	char			*s;
	json_t			*j;

	(void)state;
	t_call(e, "GET", "/a", "q=1", 200, "{\"x\":1}");
	t_call(e, "GET", "/b", NULL, 200, NULL);
	t_call(e, "DELETE", "/c/9", NULL, 204, NULL);
	assert_null(disc_summary_json(e, 0, 10));
	assert_int_equal(disc_analyse(e), 0);
	assert_int_equal(disc_operation_count(e), 3);
	s = disc_summary_json(e, 1, 1);
	j = json_loads(s, 0, NULL);
	assert_int_equal(json_array_size(json_object_get(j, "operations")), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(j, "operations"), 0), "path")), "/b");
	json_decref(j);
	free(s);
	disc_free(e);
}

static void
annotations_are_validated_and_merged(void **state)
{
	struct disc_engine	*e = disc_new();
	const char		*tags[] = { "Accounts" };
	char			 longtext[DISC_SUMMARY_MAX + 2];
	json_t			*doc, *op;
	char			*text;

	(void)state;
	t_call(e, "GET", "/users/1", NULL, 200, "{}");
	assert_int_equal(disc_analyse(e), 0);
	memset(longtext, 'a', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = '\0';
	assert_int_equal(disc_annotate(e, "getUser", longtext, NULL, NULL, 0),
	    -1);
	assert_int_equal(disc_annotate(e, "getUser", "Bad \xff", NULL, NULL,
	    0), -1);
	assert_int_equal(disc_annotate(e, "noSuchOp", "x", NULL, NULL, 0), 1);
	assert_int_equal(disc_annotate(e, "getUser", "Fetch a user",
	    "Returns one user.", tags, 1), 0);
	assert_int_equal(disc_set_info(e, "Accounts API", "About.", "2.0",
	    "https://api.example.com", "Written without AI."), 0);
	text = disc_openapi_json(e);
	doc = json_loads(text, 0, NULL);
	free(text);
	op = t_op(doc, "/users/{userId}", "get");
	assert_string_equal(json_string_value(json_object_get(op, "summary")),
	    "Fetch a user");
	assert_true(t_has_string(json_object_get(op, "tags"), "Accounts"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    doc, "info"), "title")), "Accounts API");
	json_decref(doc);
	text = disc_markdown(e);
	assert_non_null(strstr(text, "Fetch a user"));
	assert_non_null(strstr(text, "Written without AI."));
	free(text);
	disc_free(e);
}

static void
bad_calls_are_rejected_without_failing_the_run(void **state)
{
	struct disc_engine	*e = disc_new();
	struct disc_call	 c;
	json_t			*doc;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(disc_add_call(e, &c), -1);
	c.method = "GET";
	c.path = "/ok";
	c.status = 42;
	assert_int_equal(disc_add_call(e, &c), -1);
	c.status = 200;
	c.method = "G E T";
	assert_int_equal(disc_add_call(e, &c), -1);
	c.method = "GET";
	c.req_headers_json = "{not json";
	c.resp_headers_json = "[1,2]";
	assert_int_equal(disc_add_call(e, &c), 0);
	assert_int_equal(disc_add_call(NULL, &c), -1);
	assert_int_equal(disc_calls_rejected(e), 3);
	assert_int_equal(disc_calls_used(e), 1);
	doc = t_doc(e);
	assert_non_null(t_op(doc, "/ok", "get"));
	assert_int_equal(disc_add_call(e, &c), -1);
	json_decref(doc);
	disc_free(e);
}

static void
cors_preflights_and_unknown_methods_are_left_out(void **state)
{
	struct disc_engine	*e = disc_new();
	json_t			*doc;

	(void)state;
	t_call_req(e, "OPTIONS", "/a", "{\"access-control-request-method\":"
	    "\"POST\"}", NULL, NULL, 204);
	t_call(e, "PROPFIND", "/a", NULL, 207, NULL);
	t_call(e, "GET", "/b", NULL, 200, NULL);
	doc = t_doc(e);
	assert_null(json_object_get(json_object_get(doc, "paths"), "/a"));
	assert_non_null(t_op(doc, "/b", "get"));
	json_decref(doc);
	disc_free(e);
}

static void
markdown_has_overview_auth_and_operations(void **state)
{
	struct disc_engine	*e = disc_new();
	char			*md;

	(void)state;
	t_call_req(e, "POST", "/orders", "{\"authorization\":\"Bearer x\"}",
	    "application/json", "{\"sku\":\"a\",\"qty\":2}", 201);
	assert_int_equal(disc_analyse(e), 0);
	md = disc_markdown(e);
	assert_non_null(md);
	assert_non_null(strstr(md, "## Authentication"));
	assert_non_null(strstr(md, "bearerAuth"));
	assert_non_null(strstr(md, "### POST `/orders`"));
	assert_non_null(strstr(md, "| `qty` | integer | yes |"));
	free(md);
	disc_free(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(query_parameters_get_type_required_and_array),
		cmocka_unit_test(
		    query_parameter_with_few_repeating_values_is_an_enum),
		cmocka_unit_test(notable_request_headers_become_parameters),
		cmocka_unit_test(bearer_scheme_is_recognised_through_redaction),
		cmocka_unit_test(basic_scheme_is_recognised),
		cmocka_unit_test(api_key_in_header_is_recognised),
		cmocka_unit_test(api_key_in_query_is_a_scheme_not_a_parameter),
		cmocka_unit_test(session_cookie_is_recognised),
		cmocka_unit_test(preference_cookies_are_cookie_parameters),
		cmocka_unit_test(form_body_fields_are_typed),
		cmocka_unit_test(multipart_file_parts_are_binary),
		cmocka_unit_test(binary_response_is_described_by_media_type),
		cmocka_unit_test(examples_are_real_and_redacted),
		cmocka_unit_test(every_status_seen_is_documented),
		cmocka_unit_test(
		    output_is_identical_for_the_same_calls_in_any_order),
		cmocka_unit_test(summary_lists_operations_in_chunks),
		cmocka_unit_test(annotations_are_validated_and_merged),
		cmocka_unit_test(
		    bad_calls_are_rejected_without_failing_the_run),
		cmocka_unit_test(
		    cors_preflights_and_unknown_methods_are_left_out),
		cmocka_unit_test(markdown_has_overview_auth_and_operations),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
