/*
 * Path templates: which segments become parameters, how they are named,
 * and which stay literal.
 */

#include "test_disc_common.h"

static void
integer_ids_become_parameters_named_from_context(void **state)
{
	struct disc_engine	*e = disc_new();
	json_t			*doc;

	(void)state;
	t_call(e, "GET", "/users/42/orders/7", NULL, 200, "{\"id\":7}");
	t_call(e, "GET", "/users/43/orders/9", NULL, 200, "{\"id\":9}");
	doc = t_doc(e);
	assert_non_null(t_op(doc, "/users/{userId}/orders/{orderId}", "get"));
	assert_int_equal(json_object_size(json_object_get(doc, "paths")), 1);
	json_decref(doc);
	disc_free(e);
}

static void
a_single_call_with_an_id_is_already_a_template(void **state)
{
	struct disc_engine	*e = disc_new();
	json_t			*doc;

	(void)state;
	t_call(e, "GET", "/invoices/2f1c5a0e-8d2b-4c7e-9b1a-3e4f5a6b7c8d",
	    NULL, 200, "{}");
	doc = t_doc(e);
	assert_non_null(t_op(doc, "/invoices/{invoiceId}", "get"));
	json_decref(doc);
	disc_free(e);
}

static void
fixed_word_beside_parameter_stays_literal(void **state)
{
	struct disc_engine	*e = disc_new();
	json_t			*doc;

	(void)state;
	t_call(e, "GET", "/users/1", NULL, 200, "{\"id\":1,\"name\":\"a\"}");
	t_call(e, "GET", "/users/2", NULL, 200, "{\"id\":2,\"name\":\"b\"}");
	t_call(e, "GET", "/users/me", NULL, 200, "{\"id\":3,\"name\":\"c\"}");
	t_call(e, "GET", "/users/search", "q=x", 200, "[{\"id\":1}]");
	doc = t_doc(e);
	assert_non_null(t_op(doc, "/users/me", "get"));
	assert_non_null(t_op(doc, "/users/search", "get"));
	assert_non_null(t_op(doc, "/users/{userId}", "get"));
	json_decref(doc);
	disc_free(e);
}

static void
many_slugs_with_one_shape_fold_into_a_parameter(void **state)
{
	static const char *const names[] = { "hello-world", "linux",
	    "my-repo-2", "tools_v3", "octo-cat", "alpha", "beta-9" };
	struct disc_engine	*e = disc_new();
	json_t			*doc;
	char			 path[64], body[96];
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "/repos/%s", names[i]);
		snprintf(body, sizeof(body), "{\"name\":\"%s\",\"stars\":%zu}",
		    names[i], i);
		t_call(e, "GET", path, NULL, 200, body);
	}
	t_call(e, "GET", "/repos", NULL, 200, "[]");
	doc = t_doc(e);
	assert_non_null(t_op(doc, "/repos/{repoName}", "get"));
	assert_int_equal(json_object_size(json_object_get(doc, "paths")), 2);
	json_decref(doc);
	disc_free(e);
}

static void
words_answering_differently_stay_literal(void **state)
{
	struct disc_engine	*e = disc_new();
	json_t			*doc;

	(void)state;
	t_call(e, "GET", "/admin/users", NULL, 200, "[{\"login\":\"a\"}]");
	t_call(e, "GET", "/admin/groups", NULL, 200, "[{\"title\":\"g\"}]");
	t_call(e, "GET", "/admin/roles", NULL, 200, "[{\"perm\":\"r\"}]");
	t_call(e, "GET", "/admin/audit", NULL, 200, "[{\"at\":1}]");
	doc = t_doc(e);
	assert_non_null(t_op(doc, "/admin/users", "get"));
	assert_non_null(t_op(doc, "/admin/groups", "get"));
	assert_non_null(t_op(doc, "/admin/roles", "get"));
	assert_non_null(t_op(doc, "/admin/audit", "get"));
	json_decref(doc);
	disc_free(e);
}

static void
camel_case_actions_stay_beside_a_folded_parameter(void **state)
{
	static const char *const names[] = { "user1", "bob_2", "carol-3",
	    "dave4" };
	struct disc_engine	*e = disc_new();
	json_t			*doc;
	char			 path[64];
	size_t			 i;

	(void)state;
	for (i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "/people/%s", names[i]);
		t_call(e, "GET", path, NULL, 200,
		    "{\"username\":\"x\",\"email\":\"x@y.io\"}");
	}
	t_call(e, "POST", "/people/createWithList", NULL, 200, NULL);
	doc = t_doc(e);
	assert_non_null(t_op(doc, "/people/createWithList", "post"));
	assert_non_null(t_op(doc, "/people/{personName}", "get"));
	json_decref(doc);
	disc_free(e);
}

static void
trailing_and_double_slashes_are_ignored(void **state)
{
	struct disc_engine	*e = disc_new();
	json_t			*doc;

	(void)state;
	t_call(e, "GET", "/orders/", NULL, 200, "[]");
	t_call(e, "GET", "//orders", NULL, 200, "[]");
	t_call(e, "GET", "/orders", NULL, 200, "[]");
	doc = t_doc(e);
	assert_non_null(t_op(doc, "/orders", "get"));
	assert_int_equal(json_object_size(json_object_get(doc, "paths")), 1);
	assert_int_equal(json_integer_value(json_object_get(t_op(doc,
	    "/orders", "get"), "x-observed-calls")), 3);
	json_decref(doc);
	disc_free(e);
}

static void
static_files_with_one_extension_fold(void **state)
{
	struct disc_engine	*e = disc_new();
	json_t			*doc;
	struct disc_call	 c;
	static const char *const files[] = { "/static/app.js",
	    "/static/vendor.js", "/static/chunk-1.js", "/static/main.js" };
	size_t			 i;

	(void)state;
	for (i = 0; i < 4; i++) {
		memset(&c, 0, sizeof(c));
		c.method = "GET";
		c.path = files[i];
		c.status = 200;
		c.resp_content_type = "application/javascript";
		c.resp_body = (const unsigned char *)"var a;";
		c.resp_body_len = 6;
		assert_int_equal(disc_add_call(e, &c), 0);
	}
	doc = t_doc(e);
	assert_int_equal(json_object_size(json_object_get(doc, "paths")), 1);
	assert_non_null(t_op(doc, "/static/{staticName}", "get"));
	json_decref(doc);
	disc_free(e);
}

static void
dates_and_emails_are_parameters_with_fitting_names(void **state)
{
	struct disc_engine	*e = disc_new();
	json_t			*doc, *p;

	(void)state;
	t_call(e, "GET", "/reports/2024-03-01", NULL, 200, "{}");
	t_call(e, "GET", "/members/ann%40example.com/prefs", NULL, 200, "{}");
	doc = t_doc(e);
	assert_non_null(t_op(doc, "/reports/{reportDate}", "get"));
	assert_non_null(t_op(doc, "/members/{memberEmail}/prefs", "get"));
	p = t_param(t_op(doc, "/reports/{reportDate}", "get"), "reportDate");
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(p, "schema"), "format")), "date");
	json_decref(doc);
	disc_free(e);
}

static void
every_template_parameter_is_declared_in_path(void **state)
{
	struct disc_engine	*e = disc_new();
	json_t			*doc, *op, *p;

	(void)state;
	t_call(e, "DELETE", "/a/1/b/2/c/3", NULL, 204, NULL);
	doc = t_doc(e);
	op = t_op(doc, "/a/{aId}/b/{bId}/c/{cId}", "delete");
	assert_non_null(op);
	p = t_param(op, "bId");
	assert_non_null(p);
	assert_string_equal(json_string_value(json_object_get(p, "in")),
	    "path");
	assert_true(json_is_true(json_object_get(p, "required")));
	assert_non_null(t_param(op, "aId"));
	assert_non_null(t_param(op, "cId"));
	json_decref(doc);
	disc_free(e);
}

static void
endless_distinct_words_fold_into_one_parameter(void **state)
{
	struct disc_engine	*e = disc_new();
	json_t			*doc;
	char			 path[64];
	int			 i;

	(void)state;
	/* Plain words, no digits: only the bound folds them. */
	for (i = 0; i < 2000; i++) {
		snprintf(path, sizeof(path), "/tags/%c%c%c%c",
		    'a' + i % 26, 'a' + (i / 26) % 26, 'a' + (i / 676) % 26,
		    'q');
		assert_int_equal(t_call(e, "GET", path, NULL, 200, "{}"), 0);
	}
	doc = t_doc(e);
	assert_int_equal(json_object_size(json_object_get(doc, "paths")), 1);
	json_decref(doc);
	disc_free(e);
}

static void
nested_data_words_never_crowd_out_calls(void **state)
{
	struct disc_engine	*e = disc_new();
	json_t			*doc;
	char			 path[96];
	unsigned		 i, x = 12345;

	(void)state;
	/* 200 owners with ever new repository names under each. */
	for (i = 0; i < 30000; i++) {
		x = x * 1103515245u + 12345u;
		snprintf(path, sizeof(path), "/repos/owner%u/proj%u/issues",
		    i % 200, (x >> 8) % 5000);
		assert_int_equal(t_call(e, "GET", path, NULL, 200,
		    "{\"n\":1,\"t\":\"x\"}"), 0);
	}
	assert_int_equal(disc_calls_used(e), 30000);
	doc = t_doc(e);
	assert_non_null(t_op(doc, "/repos/{repoName}/{repoName2}/issues",
	    "get"));
	json_decref(doc);
	disc_free(e);
}

static void
root_path_is_a_template(void **state)
{
	struct disc_engine	*e = disc_new();
	json_t			*doc;

	(void)state;
	t_call(e, "GET", "/", NULL, 200, "{\"ok\":true}");
	doc = t_doc(e);
	assert_non_null(t_op(doc, "/", "get"));
	json_decref(doc);
	disc_free(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    integer_ids_become_parameters_named_from_context),
		cmocka_unit_test(
		    a_single_call_with_an_id_is_already_a_template),
		cmocka_unit_test(fixed_word_beside_parameter_stays_literal),
		cmocka_unit_test(
		    many_slugs_with_one_shape_fold_into_a_parameter),
		cmocka_unit_test(words_answering_differently_stay_literal),
		cmocka_unit_test(
		    camel_case_actions_stay_beside_a_folded_parameter),
		cmocka_unit_test(trailing_and_double_slashes_are_ignored),
		cmocka_unit_test(static_files_with_one_extension_fold),
		cmocka_unit_test(
		    dates_and_emails_are_parameters_with_fitting_names),
		cmocka_unit_test(every_template_parameter_is_declared_in_path),
		cmocka_unit_test(
		    endless_distinct_words_fold_into_one_parameter),
		cmocka_unit_test(nested_data_words_never_crowd_out_calls),
		cmocka_unit_test(root_path_is_a_template),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
