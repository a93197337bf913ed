/*
 * Helpers shared by the discovery engine's unit tests: feeding a call in
 * one line, running the analysis and reading the OpenAPI document back
 * as a jansson tree.
 */

#ifndef TEST_DISC_COMMON_H
#define TEST_DISC_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "discovery/disc.h"

/* A call with a JSON response (or none when resp is NULL). */
static inline int
t_call(struct disc_engine *e, const char *method, const char *path,
    const char *query, int status, const char *resp)
{
	struct disc_call	c;

	memset(&c, 0, sizeof(c));
	c.method = method;
	c.path = path;
	c.query = query;
	c.status = status;
	c.req_headers_json = "{}";
	c.resp_headers_json = "{}";
	if (resp != NULL) {
		c.resp_content_type = "application/json";
		c.resp_body = (const unsigned char *)resp;
		c.resp_body_len = strlen(resp);
	}
	return (disc_add_call(e, &c));
}

/* A call with request headers and a request body. */
static inline int
t_call_req(struct disc_engine *e, const char *method, const char *path,
    const char *headers, const char *ctype, const char *body, int status)
{
	struct disc_call	c;

	memset(&c, 0, sizeof(c));
	c.method = method;
	c.path = path;
	c.status = status;
	c.req_headers_json = headers;
	c.req_content_type = ctype;
	if (body != NULL) {
		c.req_body = (const unsigned char *)body;
		c.req_body_len = strlen(body);
	}
	return (disc_add_call(e, &c));
}

/* Analyse and return the OpenAPI document as a tree (caller decrefs). */
static inline json_t *
t_doc(struct disc_engine *e)
{
	char	*text;
	json_t	*doc;

	assert_int_equal(disc_analyse(e), 0);
	text = disc_openapi_json(e);
	assert_non_null(text);
	doc = json_loads(text, 0, NULL);
	free(text);
	assert_non_null(doc);
	return (doc);
}

/* doc.paths[tmpl][method], or NULL. */
static inline json_t *
t_op(json_t *doc, const char *tmpl, const char *method)
{
	return (json_object_get(json_object_get(json_object_get(doc,
	    "paths"), tmpl), method));
}

/* Follow a local $ref once. */
static inline json_t *
t_deref(json_t *doc, json_t *schema)
{
	json_t		*ref = json_object_get(schema, "$ref");
	const char	*name;

	if (!json_is_string(ref))
		return (schema);
	name = strrchr(json_string_value(ref), '/') + 1;
	return (json_object_get(json_object_get(json_object_get(doc,
	    "components"), "schemas"), name));
}

/* The JSON schema of a response: paths[tmpl][method].responses[code]. */
static inline json_t *
t_resp_schema(json_t *doc, const char *tmpl, const char *method,
    const char *code)
{
	json_t	*s = json_object_get(json_object_get(json_object_get(
	    json_object_get(json_object_get(t_op(doc, tmpl, method),
	    "responses"), code), "content"), "application/json"), "schema");

	return (t_deref(doc, s));
}

/* The parameter named `name` of an operation, or NULL. */
static inline json_t *
t_param(json_t *op, const char *name)
{
	json_t	*ps = json_object_get(op, "parameters"), *p;
	size_t	 i;

	json_array_foreach(ps, i, p)
		if (strcmp(json_string_value(json_object_get(p, "name")),
		    name) == 0)
			return (p);
	return (NULL);
}

static inline int
t_has_string(json_t *arr, const char *s)
{
	json_t	*v;
	size_t	 i;

	json_array_foreach(arr, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return (1);
	return (0);
}

#endif /* TEST_DISC_COMMON_H */
