/*
 * JSON schemas merged over samples: types, required, nullable, formats,
 * enums, unions, arrays, maps and shared components.
 */

#include "test_disc_common.h"

/* Feed bodies to GET /things and return the 200 schema (doc kept). */
static json_t *
schema_of(json_t **doc, const char *const *bodies, size_t n)
{
	struct disc_engine	*e = disc_new();
	size_t			 i;

	for (i = 0; i < n; i++)
		assert_int_equal(t_call(e, "GET", "/things", NULL, 200,
		    bodies[i]), 0);
	*doc = t_doc(e);
	disc_free(e);
	return (t_resp_schema(*doc, "/things", "get", "200"));
}

static json_t *
prop(json_t *schema, const char *name)
{
	return (json_object_get(json_object_get(schema, "properties"), name));
}

static const char *
type_of(json_t *schema)
{
	return (json_string_value(json_object_get(schema, "type")));
}

static void
integers_and_decimals_merge_to_number(void **state)
{
	static const char *const b[] = { "{\"n\":1,\"i\":1}",
	    "{\"n\":2.5,\"i\":2}" };
	json_t	*doc, *s = schema_of(&doc, b, 2);

	(void)state;
	assert_string_equal(type_of(prop(s, "n")), "number");
	assert_string_equal(type_of(prop(s, "i")), "integer");
	json_decref(doc);
}

static void
required_means_present_in_every_sample(void **state)
{
	static const char *const b[] = { "{\"a\":1,\"b\":1}", "{\"a\":2}" };
	json_t	*doc, *s = schema_of(&doc, b, 2), *req;

	(void)state;
	req = json_object_get(s, "required");
	assert_true(t_has_string(req, "a"));
	assert_false(t_has_string(req, "b"));
	assert_non_null(prop(s, "b"));
	json_decref(doc);
}

static void
null_values_make_a_field_nullable(void **state)
{
	static const char *const b[] = { "{\"x\":\"a\"}", "{\"x\":null}" };
	json_t	*doc, *s = schema_of(&doc, b, 2), *t;

	(void)state;
	t = json_object_get(prop(s, "x"), "type");
	assert_true(json_is_array(t));
	assert_true(t_has_string(t, "string"));
	assert_true(t_has_string(t, "null"));
	json_decref(doc);
}

static void
string_formats_are_recognised(void **state)
{
	static const char *const b[] = {
	    "{\"at\":\"2024-05-01T10:00:00Z\",\"on\":\"2024-05-01\","
	    "\"mail\":\"a@b.io\","
	    "\"id\":\"123e4567-e89b-42d3-a456-426614174000\","
	    "\"site\":\"https://x.io/a\",\"ip\":\"10.0.0.1\",\"txt\":\"hi\"}",
	    "{\"at\":\"2023-01-31T23:59:59.5+02:00\",\"on\":\"1999-12-31\","
	    "\"mail\":\"c.d@e.org\","
	    "\"id\":\"00000000-0000-4000-8000-000000000000\","
	    "\"site\":\"http://y.org\",\"ip\":\"192.168.1.255\","
	    "\"txt\":\"yo\"}" };
	json_t	*doc, *s = schema_of(&doc, b, 2);

	(void)state;
	assert_string_equal(json_string_value(json_object_get(prop(s, "at"),
	    "format")), "date-time");
	assert_string_equal(json_string_value(json_object_get(prop(s, "on"),
	    "format")), "date");
	assert_string_equal(json_string_value(json_object_get(prop(s,
	    "mail"), "format")), "email");
	assert_string_equal(json_string_value(json_object_get(prop(s, "id"),
	    "format")), "uuid");
	assert_string_equal(json_string_value(json_object_get(prop(s,
	    "site"), "format")), "uri");
	assert_string_equal(json_string_value(json_object_get(prop(s, "ip"),
	    "format")), "ipv4");
	assert_null(json_object_get(prop(s, "txt"), "format"));
	json_decref(doc);
}

static void
one_odd_value_drops_the_format(void **state)
{
	static const char *const b[] = { "{\"on\":\"2024-05-01\"}",
	    "{\"on\":\"soon\"}" };
	json_t	*doc, *s = schema_of(&doc, b, 2);

	(void)state;
	assert_null(json_object_get(prop(s, "on"), "format"));
	json_decref(doc);
}

static void
repeated_small_vocabulary_becomes_enum(void **state)
{
	static const char *const b[] = { "{\"s\":\"open\"}",
	    "{\"s\":\"closed\"}",
	    "{\"s\":\"open\"}", "{\"s\":\"closed\"}", "{\"s\":\"open\"}",
	    "{\"s\":\"merged\"}", "{\"s\":\"open\"}" };
	json_t	*doc, *s = schema_of(&doc, b, 7), *en;

	(void)state;
	en = json_object_get(prop(s, "s"), "enum");
	assert_int_equal(json_array_size(en), 3);
	assert_true(t_has_string(en, "merged"));
	json_decref(doc);
}

static void
distinct_values_are_not_an_enum(void **state)
{
	static const char *const b[] = { "{\"s\":\"a1\"}", "{\"s\":\"b2\"}",
	    "{\"s\":\"c3\"}", "{\"s\":\"d4\"}", "{\"s\":\"e5\"}" };
	json_t	*doc, *s = schema_of(&doc, b, 5);

	(void)state;
	assert_null(json_object_get(prop(s, "s"), "enum"));
	json_decref(doc);
}

static void
different_types_become_a_union(void **state)
{
	static const char *const b[] = { "{\"v\":\"x\"}", "{\"v\":{\"k\":1}}" };
	json_t	*doc, *s = schema_of(&doc, b, 2), *any;

	(void)state;
	any = json_object_get(prop(s, "v"), "anyOf");
	assert_int_equal(json_array_size(any), 2);
	json_decref(doc);
}

static void
array_items_merge_over_all_elements(void **state)
{
	static const char *const b[] = {
	    "[{\"id\":1,\"name\":\"a\"},{\"id\":2,\"tag\":\"t\"}]",
	    "[{\"id\":3,\"name\":\"b\"}]" };
	json_t	*doc, *s = schema_of(&doc, b, 2), *items;

	(void)state;
	assert_string_equal(type_of(s), "array");
	items = t_deref(doc, json_object_get(s, "items"));
	assert_non_null(prop(items, "name"));
	assert_non_null(prop(items, "tag"));
	assert_true(t_has_string(json_object_get(items, "required"), "id"));
	assert_false(t_has_string(json_object_get(items, "required"),
	    "name"));
	json_decref(doc);
}

static void
objects_keyed_by_ids_become_maps(void **state)
{
	static const char *const b[] = {
	    "{\"counts\":{\"2024-01-01\":3,\"2024-01-02\":5}}",
	    "{\"counts\":{\"2024-02-01\":1}}" };
	json_t	*doc, *s = schema_of(&doc, b, 2), *c;

	(void)state;
	c = prop(s, "counts");
	assert_null(json_object_get(c, "properties"));
	assert_string_equal(type_of(json_object_get(c,
	    "additionalProperties")), "integer");
	json_decref(doc);
}

static void
nested_objects_are_described(void **state)
{
	static const char *const b[] = {
	    "{\"a\":{\"b\":{\"c\":[{\"d\":true}]}}}" };
	json_t	*doc, *s = schema_of(&doc, b, 1), *d;

	(void)state;
	d = t_deref(doc, prop(s, "a"));
	d = t_deref(doc, prop(d, "b"));
	d = json_object_get(prop(d, "c"), "items");
	d = t_deref(doc, d);
	assert_string_equal(type_of(prop(d, "d")), "boolean");
	json_decref(doc);
}

static void
deep_nesting_is_cut_without_failing(void **state)
{
	struct disc_engine	*e = disc_new();
	char			*deep;
	size_t			 i, n = 5000;
	json_t			*doc;

	(void)state;
	deep = malloc(2 * n + 1);
	assert_non_null(deep);
	for (i = 0; i < n; i++) {
		deep[i] = '[';
		deep[2 * n - 1 - i] = ']';
	}
	deep[2 * n] = '\0';
	assert_int_equal(t_call(e, "GET", "/deep", NULL, 200, deep), 0);
	assert_int_equal(t_call(e, "GET", "/deep", NULL, 200, "[[1]]"), 0);
	doc = t_doc(e);
	assert_non_null(t_op(doc, "/deep", "get"));
	json_decref(doc);
	free(deep);
	disc_free(e);
}

static void
invalid_json_keeps_the_operation_without_schema(void **state)
{
	struct disc_engine	*e = disc_new();
	json_t			*doc;

	(void)state;
	assert_int_equal(t_call(e, "GET", "/x", NULL, 200, "{\"a\":"), 0);
	assert_int_equal(t_call(e, "GET", "/x", NULL, 200, "\xff\xfe"), 0);
	doc = t_doc(e);
	assert_non_null(json_object_get(json_object_get(json_object_get(
	    t_op(doc, "/x", "get"), "responses"), "200"), "content"));
	json_decref(doc);
	disc_free(e);
}

static void
repeated_shapes_are_lifted_into_named_components(void **state)
{
	struct disc_engine	*e = disc_new();
	json_t			*doc, *schemas, *s;

	(void)state;
	t_call(e, "GET", "/orders/1", NULL, 200,
	    "{\"id\":1,\"billing\":{\"street\":\"a\",\"city\":\"b\"},"
	    "\"shipping\":{\"street\":\"c\",\"city\":\"d\"}}");
	t_call(e, "GET", "/shops/2", NULL, 200,
	    "{\"name\":\"s\",\"address\":{\"street\":\"e\",\"city\":\"f\"}}");
	doc = t_doc(e);
	schemas = json_object_get(json_object_get(doc, "components"),
	    "schemas");
	assert_non_null(json_object_get(schemas, "Order"));
	assert_non_null(json_object_get(schemas, "Shop"));
	s = json_object_get(json_object_get(json_object_get(schemas, "Order"),
	    "properties"), "billing");
	assert_non_null(json_object_get(s, "$ref"));
	assert_string_equal(json_string_value(json_object_get(s, "$ref")),
	    json_string_value(json_object_get(json_object_get(
	    json_object_get(json_object_get(schemas, "Shop"), "properties"),
	    "address"), "$ref")));
	json_decref(doc);
	disc_free(e);
}

static void
error_bodies_share_an_error_component(void **state)
{
	struct disc_engine	*e = disc_new();
	json_t			*doc;

	(void)state;
	t_call(e, "GET", "/a", NULL, 404, "{\"code\":4,\"message\":\"no\"}");
	t_call(e, "GET", "/b", NULL, 400, "{\"code\":5,\"message\":\"bad\"}");
	doc = t_doc(e);
	assert_non_null(json_object_get(json_object_get(json_object_get(doc,
	    "components"), "schemas"), "Error"));
	json_decref(doc);
	disc_free(e);
}

static json_t *
component(json_t *doc, const char *name)
{
	return (json_object_get(json_object_get(json_object_get(doc,
	    "components"), "schemas"), name));
}

static void
a_resource_with_optional_fields_is_one_component(void **state)
{
	struct disc_engine	*e = disc_new();
	json_t			*doc, *pet;

	(void)state;
	t_call(e, "GET", "/pets/1", NULL, 200,
	    "{\"id\":1,\"name\":\"a\",\"tag\":\"x\"}");
	t_call(e, "GET", "/pets/2", NULL, 200,
	    "{\"id\":2,\"name\":\"b\",\"tag\":\"y\",\"age\":3}");
	t_call(e, "GET", "/pets", NULL, 200,
	    "[{\"id\":3,\"name\":\"c\",\"tag\":\"z\"}]");
	doc = t_doc(e);
	pet = component(doc, "Pet");
	assert_non_null(pet);
	assert_null(component(doc, "Pet2"));
	assert_non_null(json_object_get(json_object_get(pet, "properties"),
	    "age"));
	assert_false(t_has_string(json_object_get(pet, "required"), "age"));
	json_decref(doc);
	disc_free(e);
}

static void
pages_of_different_resources_are_different_lists(void **state)
{
	struct disc_engine	*e = disc_new();
	json_t			*doc;

	(void)state;
	t_call(e, "GET", "/users", NULL, 200, "{\"data\":[{\"id\":1,"
	    "\"email\":\"a@b.io\"}],\"meta\":{\"total\":1}}");
	t_call(e, "GET", "/users/1", NULL, 200,
	    "{\"id\":1,\"email\":\"a@b.io\"}");
	t_call(e, "GET", "/orders", NULL, 200, "{\"data\":[{\"sku\":\"a\","
	    "\"qty\":1}],\"meta\":{\"total\":1}}");
	t_call(e, "GET", "/orders/1", NULL, 200,
	    "{\"sku\":\"a\",\"qty\":1}");
	doc = t_doc(e);
	assert_non_null(component(doc, "UserList"));
	assert_non_null(component(doc, "OrderList"));
	assert_non_null(component(doc, "User"));
	assert_non_null(component(doc, "Order"));
	json_decref(doc);
	disc_free(e);
}

static void
request_bodies_are_named_for_what_they_do(void **state)
{
	struct disc_engine	*e = disc_new();
	json_t			*doc;

	(void)state;
	t_call_req(e, "POST", "/users", "{}", "application/json",
	    "{\"email\":\"a@b.io\",\"password\":\"x\"}", 201);
	t_call_req(e, "PATCH", "/users/7", "{}", "application/json",
	    "{\"nick\":\"n\",\"bio\":\"b\"}", 200);
	doc = t_doc(e);
	assert_non_null(component(doc, "UserCreate"));
	assert_non_null(component(doc, "UserUpdate"));
	json_decref(doc);
	disc_free(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(integers_and_decimals_merge_to_number),
		cmocka_unit_test(required_means_present_in_every_sample),
		cmocka_unit_test(null_values_make_a_field_nullable),
		cmocka_unit_test(string_formats_are_recognised),
		cmocka_unit_test(one_odd_value_drops_the_format),
		cmocka_unit_test(repeated_small_vocabulary_becomes_enum),
		cmocka_unit_test(distinct_values_are_not_an_enum),
		cmocka_unit_test(different_types_become_a_union),
		cmocka_unit_test(array_items_merge_over_all_elements),
		cmocka_unit_test(objects_keyed_by_ids_become_maps),
		cmocka_unit_test(nested_objects_are_described),
		cmocka_unit_test(deep_nesting_is_cut_without_failing),
		cmocka_unit_test(
		    invalid_json_keeps_the_operation_without_schema),
		cmocka_unit_test(
		    repeated_shapes_are_lifted_into_named_components),
		cmocka_unit_test(error_bodies_share_an_error_component),
		cmocka_unit_test(
		    a_resource_with_optional_fields_is_one_component),
		cmocka_unit_test(
		    pages_of_different_resources_are_different_lists),
		cmocka_unit_test(request_bodies_are_named_for_what_they_do),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
