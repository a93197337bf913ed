/*
 * Unit tests of docdiff.c: operations and fields added or removed
 * between two OpenAPI documents.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "docdiff.h"

static const char *base_doc =
    "{\"openapi\": \"3.1.0\", \"paths\": {"
    " \"/users\": {\"get\": {\"parameters\": [{\"name\": \"page\", "
    "  \"in\": \"query\"}], \"responses\": {\"200\": {\"content\": "
    "  {\"application/json\": {\"schema\": {\"type\": \"array\", "
    "  \"items\": {\"$ref\": \"#/components/schemas/User\"}}}}}}}},"
    " \"/users/{userId}\": {\"parameters\": [{\"name\": \"userId\", "
    "  \"in\": \"path\"}], \"get\": {\"responses\": {\"200\": "
    "  {\"content\": {\"application/json\": {\"schema\": "
    "  {\"$ref\": \"#/components/schemas/User\"}}}}, \"404\": "
    "  {\"description\": \"x\"}}}}},"
    " \"components\": {\"schemas\": {\"User\": {\"type\": \"object\", "
    "  \"properties\": {\"id\": {\"type\": \"integer\"}, "
    "  \"address\": {\"type\": \"object\", \"properties\": "
    "  {\"city\": {\"type\": \"string\"}}}}}}}}";

static json_t *
diff(const char *a, const char *b)
{
	char	*s;
	json_t	*d;

	s = docdiff_json(a, strlen(a), b, strlen(b), 1, 2);
	assert_non_null(s);
	d = json_loads(s, 0, NULL);
	free(s);
	assert_non_null(d);
	return (d);
}

static json_t *
list(json_t *d, const char *kind, const char *which)
{
	return (json_object_get(json_object_get(d, kind), which));
}

/* Whether `arr` holds an entry with these members (NULL: not checked). */
static int
has(json_t *arr, const char *method, const char *path, const char *loc,
    const char *name)
{
	json_t	*e;
	size_t	 i;

	json_array_foreach(arr, i, e) {
		if (strcmp(json_string_value(json_object_get(e, "method")),
		    method) || strcmp(json_string_value(json_object_get(e,
		    "path")), path))
			continue;
		if (loc != NULL && strcmp(json_string_value(json_object_get(e,
		    "location")), loc))
			continue;
		if (name != NULL && strcmp(json_string_value(json_object_get(e,
		    "name")), name))
			continue;
		return (1);
	}
	return (0);
}

static void
test_same_document(void **state)
{
	json_t	*d = diff(base_doc, base_doc);

	assert_int_equal(json_integer_value(json_object_get(d, "from")), 1);
	assert_int_equal(json_integer_value(json_object_get(d, "to")), 2);
	assert_true(json_is_false(json_object_get(d, "changed")));
	assert_int_equal(json_array_size(list(d, "operations", "added")), 0);
	assert_int_equal(json_array_size(list(d, "fields", "removed")), 0);
	json_decref(d);
}

static void
test_operations_added_and_removed(void **state)
{
	json_t	*a, *paths, *d;
	char	*b;

	a = json_loads(base_doc, 0, NULL);
	paths = json_object_get(a, "paths");
	json_object_del(paths, "/users/{userId}");
	json_object_set_new(json_object_get(paths, "/users"), "post",
	    json_pack("{s:{s:{s:{s:{s:{s:{s:{s:s}}}}}}}, s:{}}",
	    "requestBody", "content", "application/json", "schema",
	    "properties", "name", "type", "string", "responses"));
	b = json_dumps(a, 0);

	d = diff(base_doc, b);
	assert_true(json_is_true(json_object_get(d, "changed")));
	assert_true(has(list(d, "operations", "added"), "POST", "/users",
	    NULL, NULL));
	assert_true(has(list(d, "operations", "removed"), "GET",
	    "/users/{userId}", NULL, NULL));
	assert_int_equal(json_array_size(list(d, "operations", "added")), 1);
	assert_int_equal(json_array_size(list(d, "operations", "removed")),
	    1);
	/* The new and the gone operations' fields are not listed again. */
	assert_int_equal(json_array_size(list(d, "fields", "added")), 0);
	assert_int_equal(json_array_size(list(d, "fields", "removed")), 0);
	json_decref(d);
	free(b);
	json_decref(a);
}

static void
test_fields_through_refs_and_arrays(void **state)
{
	json_t	*a, *user, *props, *d;
	char	*b;

	a = json_loads(base_doc, 0, NULL);
	user = json_object_get(json_object_get(json_object_get(a,
	    "components"), "schemas"), "User");
	props = json_object_get(user, "properties");
	json_object_set_new(props, "nickname", json_pack("{s:s}", "type",
	    "string"));
	json_object_del(json_object_get(json_object_get(props, "address"),
	    "properties"), "city");
	json_object_set_new(json_array_get(json_object_get(json_object_get(
	    json_object_get(json_object_get(a, "paths"), "/users"), "get"),
	    "parameters"), 0), "name", json_string("cursor"));
	b = json_dumps(a, 0);

	d = diff(base_doc, b);
	assert_true(has(list(d, "fields", "added"), "GET", "/users/{userId}",
	    "response 200", "nickname"));
	assert_true(has(list(d, "fields", "added"), "GET", "/users",
	    "response 200", "[].nickname"));
	assert_true(has(list(d, "fields", "removed"), "GET",
	    "/users/{userId}", "response 200", "address.city"));
	assert_true(has(list(d, "fields", "added"), "GET", "/users",
	    "query", "cursor"));
	assert_true(has(list(d, "fields", "removed"), "GET", "/users",
	    "query", "page"));
	assert_int_equal(json_array_size(list(d, "fields", "added")), 3);
	assert_int_equal(json_array_size(list(d, "fields", "removed")), 3);
	json_decref(d);
	free(b);
	json_decref(a);
}

static void
test_reference_cycles_end(void **state)
{
	const char	*cyc =
	    "{\"paths\": {\"/n\": {\"get\": {\"responses\": {\"200\": "
	    "{\"content\": {\"application/json\": {\"schema\": "
	    "{\"$ref\": \"#/components/schemas/Node\"}}}}}}}}, "
	    "\"components\": {\"schemas\": {\"Node\": {\"properties\": "
	    "{\"next\": {\"$ref\": \"#/components/schemas/Node\"}, "
	    "\"kids\": {\"items\": {\"$ref\": \"#/components/schemas/Node\""
	    "}}}}}}}";
	json_t		*d = diff(cyc, base_doc);

	assert_true(has(list(d, "operations", "removed"), "GET", "/n", NULL,
	    NULL));
	json_decref(d);
	d = diff(cyc, cyc);
	assert_true(json_is_false(json_object_get(d, "changed")));
	json_decref(d);
}

static void
test_bad_documents(void **state)
{
	assert_null(docdiff_json("nope", 4, base_doc, strlen(base_doc), 1,
	    2));
	assert_null(docdiff_json(base_doc, strlen(base_doc), "[1]", 3, 1,
	    2));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_document),
		cmocka_unit_test(test_operations_added_and_removed),
		cmocka_unit_test(test_fields_through_refs_and_arrays),
		cmocka_unit_test(test_reference_cycles_end),
		cmocka_unit_test(test_bad_documents),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
