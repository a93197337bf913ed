/*
 * Unit tests of aimsg.c: the prompts sent to the language model, the
 * checks on its replies and how they are merged into the engine, and
 * Retry-After parsing.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "aimsg.h"
#include "discovery/disc.h"

static void
add(struct disc_engine *e, const char *method, const char *path, int status,
    const char *resp)
{
	struct disc_call	c;

	memset(&c, 0, sizeof(c));
	c.method = method;
	c.path = path;
	c.status = status;
	c.req_headers_json = "{}";
	c.resp_headers_json = "{}";
	if (resp != NULL) {
		c.resp_content_type = "application/json";
		c.resp_body = (const unsigned char *)resp;
		c.resp_body_len = strlen(resp);
	}
	assert_int_equal(disc_add_call(e, &c), 0);
}

/* An analysed engine with four operations on users and orders. */
static struct disc_engine *
engine(void)
{
	struct disc_engine	*e;
	char			 path[64];
	int			 i;

	assert_non_null(e = disc_new());
	for (i = 1; i <= 6; i++) {
		(void)snprintf(path, sizeof(path), "/users/%d", i);
		add(e, "GET", path, 200, "{\"id\": 1, \"name\": \"Ada\"}");
		(void)snprintf(path, sizeof(path), "/users/%d/orders", i);
		add(e, "GET", path, 200, "[{\"id\": 2, \"total\": 3.5}]");
	}
	add(e, "GET", "/users", 200, "[{\"id\": 1}]");
	add(e, "POST", "/users", 201, "{\"id\": 9}");
	assert_int_equal(disc_analyse(e), 0);
	assert_int_equal(disc_operation_count(e), 4);
	return (e);
}

/* The JSON object at the end of the request's last user message. */
static json_t *
prompt_of(const char *body)
{
	json_t		*req, *msgs, *doc;
	const char	*text, *start, *end;

	assert_non_null(req = json_loads(body, 0, NULL));
	msgs = json_object_get(req, "messages");
	assert_int_equal(json_array_size(msgs), 2);
	text = json_string_value(json_object_get(json_array_get(msgs, 1),
	    "content"));
	assert_non_null(text);
	start = strchr(text, '{');
	end = strrchr(text, '}');
	assert_non_null(start);
	doc = json_loadb(start, (size_t)(end - start) + 1, 0, NULL);
	assert_non_null(doc);
	json_decref(req);
	return (doc);
}

/* A chat completion whose content is `content`. */
static char *
completion(const char *content)
{
	json_t	*r, *choices, *choice, *msg;
	char	*out;

	r = json_object();
	choices = json_array();
	choice = json_object();
	msg = json_object();
	json_object_set_new(msg, "role", json_string("assistant"));
	json_object_set_new(msg, "content", json_string(content));
	json_object_set_new(choice, "message", msg);
	json_array_append_new(choices, choice);
	json_object_set_new(r, "choices", choices);
	out = json_dumps(r, 0);
	json_decref(r);
	return (out);
}

/* A good answer describing every operation id in the engine. */
static char *
answer_for_all(struct disc_engine *e, const char *title)
{
	json_t	*doc, *ops, *op, *ans, *aops, *a, *tags;
	char	*s, *content, *body;
	size_t	 i;

	s = disc_summary_json(e, 0, 100);
	doc = json_loads(s, 0, NULL);
	free(s);
	ops = json_object_get(doc, "operations");
	ans = json_object();
	aops = json_array();
	json_array_foreach(ops, i, op) {
		a = json_object();
		json_object_set(a, "id", json_object_get(op, "id"));
		json_object_set_new(a, "summary", json_string("Do a thing"));
		json_object_set_new(a, "description",
		    json_string("It does a thing.\nTwice."));
		tags = json_array();
		json_array_append_new(tags, json_string("things"));
		json_array_append_new(tags, json_string("things"));
		json_object_set_new(a, "tags", tags);
		json_array_append_new(aops, a);
	}
	if (title != NULL)
		json_object_set_new(ans, "title", json_string(title));
	json_object_set_new(ans, "description", json_string("About it."));
	json_object_set_new(ans, "operations", aops);
	content = json_dumps(ans, 0);
	body = completion(content);
	free(content);
	json_decref(ans);
	json_decref(doc);
	return (body);
}

static json_t *
openapi(struct disc_engine *e)
{
	char	*s;
	json_t	*doc;

	assert_non_null(s = disc_openapi_json(e));
	doc = json_loads(s, 0, NULL);
	free(s);
	assert_non_null(doc);
	return (doc);
}

static void
test_request_shape(void **state)
{
	struct disc_engine	*e = engine();
	json_t			*req, *doc, *ops;
	char			*body;
	size_t			 used;

	body = aimsg_request(e, 0, 25, 100000, "m-1", "Shop", "http://x",
	    &used);
	assert_non_null(body);
	assert_int_equal(used, 4);

	req = json_loads(body, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(req, "model")),
	    "m-1");
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(req, "response_format"), "type")), "json_object");
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(json_object_get(req, "messages"), 0), "role")),
	    "system");
	assert_true(json_integer_value(json_object_get(req, "max_tokens")) >
	    0);

	doc = prompt_of(body);
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(doc, "api"), "name")), "Shop");
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(doc, "api"), "baseUrl")), "http://x");
	ops = json_object_get(doc, "operations");
	assert_int_equal(json_array_size(ops), 4);
	assert_non_null(json_object_get(json_array_get(ops, 0), "id"));
	assert_non_null(json_object_get(json_array_get(ops, 0), "path"));

	json_decref(doc);
	json_decref(req);
	free(body);
	disc_free(e);
}

static void
test_request_slices(void **state)
{
	struct disc_engine	*e = engine();
	json_t			*doc;
	char			*body;
	size_t			 used, off, total;

	/* At most two operations a prompt: two prompts cover all four. */
	total = 0;
	for (off = 0; off < 4; off += used) {
		body = aimsg_request(e, off, 2, 100000, "m", NULL, NULL,
		    &used);
		assert_non_null(body);
		assert_int_equal(used, 2);
		doc = prompt_of(body);
		assert_int_equal(json_array_size(json_object_get(doc,
		    "operations")), 2);
		total += used;
		json_decref(doc);
		free(body);
	}
	assert_int_equal(total, 4);

	/* A small character budget halves the slice down to one. */
	body = aimsg_request(e, 0, 4, 200, "m", NULL, NULL, &used);
	assert_non_null(body);
	assert_int_equal(used, 1);
	doc = prompt_of(body);
	/* Alone and still too long: only the field names go. */
	assert_null(json_object_get(json_array_get(json_object_get(doc,
	    "operations"), 0), "responseFields"));
	assert_non_null(json_object_get(json_array_get(json_object_get(doc,
	    "operations"), 0), "path"));
	json_decref(doc);
	free(body);
	disc_free(e);
}

static void
test_apply_good_answer(void **state)
{
	struct disc_engine	*e = engine();
	struct aimsg_info	 info;
	json_t			*doc, *ops, *op;
	const char		*path;
	char			*body, err[128];
	size_t			 n = 0;

	memset(&info, 0, sizeof(info));
	body = answer_for_all(e, "The Shop");
	assert_int_equal(aimsg_apply(e, body, strlen(body), &info, err,
	    sizeof(err)), 0);
	assert_int_equal(info.described, 4);
	assert_int_equal(info.rejected, 0);
	assert_string_equal(info.title, "The Shop");
	assert_string_equal(info.description, "About it.");
	free(body);

	doc = openapi(e);
	json_object_foreach(json_object_get(doc, "paths"), path, ops) {
		const char	*m;

		json_object_foreach(ops, m, op) {
			if (!json_is_object(op) ||
			    json_object_get(op, "responses") == NULL)
				continue;
			assert_string_equal(json_string_value(
			    json_object_get(op, "summary")), "Do a thing");
			/* The repeated tag is kept once. */
			assert_int_equal(json_array_size(json_object_get(op,
			    "tags")), 1);
			n++;
		}
	}
	assert_int_equal(n, 4);
	json_decref(doc);
	aimsg_info_clear(&info);
	disc_free(e);
}

static void
test_apply_fenced_answer(void **state)
{
	struct disc_engine	*e = engine();
	struct aimsg_info	 info;
	json_t			*resp;
	char			*body, *fenced, err[128];
	const char		*content;

	memset(&info, 0, sizeof(info));
	body = answer_for_all(e, NULL);
	resp = json_loads(body, 0, NULL);
	content = json_string_value(json_object_get(json_object_get(
	    json_array_get(json_object_get(resp, "choices"), 0), "message"),
	    "content"));
	assert_int_equal(asprintf(&fenced, "Here it is:\n```json\n%s\n```",
	    content) > 0, 1);
	free(body);
	body = completion(fenced);
	assert_int_equal(aimsg_apply(e, body, strlen(body), &info, err,
	    sizeof(err)), 0);
	assert_int_equal(info.described, 4);
	assert_null(info.title);
	free(fenced);
	free(body);
	json_decref(resp);
	aimsg_info_clear(&info);
	disc_free(e);
}

static void
check_refused(const char *body, const char *why)
{
	struct disc_engine	*e = engine();
	struct aimsg_info	 info;
	char			 err[128];

	memset(&info, 0, sizeof(info));
	assert_int_equal(aimsg_apply(e, body, strlen(body), &info, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, why));
	assert_int_equal(info.described, 0);
	aimsg_info_clear(&info);
	disc_free(e);
}

static void
test_apply_refuses_bad_answers(void **state)
{
	char	*b;

	check_refused("not json", "not JSON");
	check_refused("{\"choices\": []}", "no message");
	b = completion("Sure! {title: 'API', operations: [ ... ]");
	check_refused(b, "not a JSON object");
	free(b);
	b = completion("{\"title\": \"x\", \"description\": \"y\"}");
	check_refused(b, "no operations array");
	free(b);
	b = completion("{\"operations\": [{\"id\": \"nope\", "
	    "\"summary\": \"x\"}]}");
	check_refused(b, "no entry");
	free(b);
	b = completion("{\"operations\": [7, \"x\", {\"summary\": \"x\"}]}");
	check_refused(b, "no entry");
	free(b);
}

static void
test_apply_cleans_entries(void **state)
{
	struct disc_engine	*e = engine();
	struct aimsg_info	 info;
	json_t			*doc, *ans, *ops, *a, *tags, *d, *op, *item;
	json_t			*cand;
	char			*s, *content, *body, err[128], long_s[600];
	const char		*id, *summary, *p, *m;
	int			 i;

	/* The first operation's id, from the engine's own summary. */
	s = disc_summary_json(e, 0, 1);
	d = json_loads(s, 0, NULL);
	free(s);
	id = json_string_value(json_object_get(json_array_get(
	    json_object_get(d, "operations"), 0), "id"));

	/* 300 two-byte characters: cut on a character boundary. */
	for (i = 0; i < 300; i++) {
		long_s[2 * i] = (char)0xc3;
		long_s[2 * i + 1] = (char)0xa9;
	}
	long_s[600 - 1] = '\0';
	long_s[598] = '\0';

	ans = json_object();
	ops = json_array();
	a = json_object();
	json_object_set_new(a, "id", json_string(id));
	json_object_set_new(a, "summary", json_string(long_s));
	json_object_set_new(a, "description", json_string("  two\tlines\n"
	    "here\x01  "));
	tags = json_array();
	for (i = 0; i < 12; i++) {
		char	t[16];

		(void)snprintf(t, sizeof(t), "t%d", i);
		json_array_append_new(tags, json_string(t));
	}
	json_array_append_new(tags, json_integer(3));
	json_array_append_new(tags, json_string("   "));
	json_object_set_new(a, "tags", tags);
	json_array_append_new(ops, a);
	/* No summary: dropped, counted. */
	a = json_object();
	json_object_set_new(a, "id", json_string(id));
	json_object_set_new(a, "description", json_string("x"));
	json_array_append_new(ops, a);
	json_object_set_new(ans, "operations", ops);
	json_object_set_new(ans, "title", json_string("\x02T\n"));
	content = json_dumps(ans, 0);
	body = completion(content);

	memset(&info, 0, sizeof(info));
	assert_int_equal(aimsg_apply(e, body, strlen(body), &info, err,
	    sizeof(err)), 0);
	assert_int_equal(info.described, 1);
	assert_int_equal(info.rejected, 1);
	assert_string_equal(info.title, "T");

	doc = openapi(e);
	op = NULL;
	json_object_foreach(json_object_get(doc, "paths"), p, item) {
		json_object_foreach(item, m, cand) {
			if (json_is_object(cand) && json_is_string(
			    json_object_get(cand, "operationId")) &&
			    strcmp(json_string_value(json_object_get(cand,
			    "operationId")), id) == 0)
				op = cand;
		}
	}
	assert_non_null(op);
	summary = json_string_value(json_object_get(op, "summary"));
	assert_non_null(summary);
	assert_true(strlen(summary) <= DISC_SUMMARY_MAX);
	assert_true(strlen(summary) % 2 == 0);
	assert_string_equal(json_string_value(json_object_get(op,
	    "description")), "two lines\nhere");
	assert_int_equal(json_array_size(json_object_get(op, "tags")),
	    DISC_TAGS_MAX);

	json_decref(doc);
	json_decref(ans);
	json_decref(d);
	free(content);
	free(body);
	aimsg_info_clear(&info);
	disc_free(e);
}

static void
test_retry_after(void **state)
{
	char	date[64];
	time_t	now = 1700000000;
	struct tm tm;

	assert_int_equal(aimsg_retry_after("2", now), 2000);
	assert_int_equal(aimsg_retry_after(" 1.5\r\n", now), 1500);
	assert_int_equal(aimsg_retry_after("0", now), 0);
	assert_int_equal(aimsg_retry_after("soon", now), -1);
	assert_int_equal(aimsg_retry_after("-1", now), -1);
	assert_int_equal(aimsg_retry_after("3x", now), -1);

	tm = *gmtime(&(time_t){ now + 10 });
	(void)strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	assert_int_equal(aimsg_retry_after(date, now), 10000);
	assert_int_equal(aimsg_retry_after(date, now + 60), 0);
}

static void
test_error_text(void **state)
{
	char		out[32];
	const char	*b = "{\"error\": {\"message\": \"Invalid API Key\", "
			    "\"type\": \"invalid_request_error\"}}";

	assert_int_equal(aimsg_error_text(b, strlen(b), out, sizeof(out)), 0);
	assert_string_equal(out, "Invalid API Key");
	assert_int_equal(aimsg_error_text("<html>", 6, out, sizeof(out)), -1);
	assert_string_equal(out, "");
	b = "{\"error\": {\"message\": \"a very long message that will not "
	    "fit in the buffer\"}}";
	assert_int_equal(aimsg_error_text(b, strlen(b), out, sizeof(out)), 0);
	assert_int_equal(strlen(out), sizeof(out) - 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_shape),
		cmocka_unit_test(test_request_slices),
		cmocka_unit_test(test_apply_good_answer),
		cmocka_unit_test(test_apply_fenced_answer),
		cmocka_unit_test(test_apply_refuses_bad_answers),
		cmocka_unit_test(test_apply_cleans_entries),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_error_text),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
