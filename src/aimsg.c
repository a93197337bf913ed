/*
 * Prompts for the language model and the checks on its replies.
 *
 * The operations go to the model as the compact summary the discovery
 * engine writes (id, method, path template, parameters, field names,
 * statuses), a slice at a time so that each prompt stays well inside
 * the model's context. The last user message ends with one JSON object,
 * {"api": {...}, "operations": [...]}, and the model is asked for JSON
 * back: a title and description for the API and, per operation id, a
 * summary, a description and tags.
 *
 * Nothing the model says is trusted: the reply must be a chat completion
 * whose content is a JSON object with an operations array; every entry
 * must name an operation we sent, and its texts are cleaned of control
 * characters and cut to the engine's limits before they are merged.
 * Entries that fail are dropped; a reply with no usable entry is refused
 * as a whole so that the caller retries.
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "aimsg.h"
#include "discovery/disc.h"

#define AIMSG_TOKENS_PER_OP	220
#define AIMSG_TOKENS_BASE	600
#define AIMSG_TOKENS_MAX	8192

static char	*aimsg_clean(const char *, size_t, int);
static char	*aimsg_user_text(json_t *, const char *, const char *);
static json_t	*aimsg_strip_fields(json_t *);

static const char aimsg_system[] =
    "You write reference documentation for HTTP APIs. You are given the "
    "operations of one API as they were inferred from real traffic: each "
    "has an id, an HTTP method, a path template, its parameters, the "
    "names of its request and response fields and the status codes seen. "
    "For every operation write a summary (an imperative phrase of at most "
    "80 characters without a final period), a description (one to three "
    "plain sentences on what it does, what its parameters mean and what "
    "it returns; never invent behaviour the data does not suggest) and "
    "one to three short lower-case tags that group related operations. "
    "Also write a title and a short description of the whole API. "
    "Answer with one JSON object and nothing else, shaped as "
    "{\"title\": string, \"description\": string, \"operations\": "
    "[{\"id\": string, \"summary\": string, \"description\": string, "
    "\"tags\": [string]}]}, using exactly the ids you were given.";

/*
 * The body of one chat-completions request for the operations from
 * `off`: at most `max_ops` of them, fewer when the prompt would pass
 * `max_chars`. *used says how many went in. NULL on failure.
 */
char *
aimsg_request(struct disc_engine *e, size_t off, size_t max_ops,
    size_t max_chars, const char *model, const char *api_name,
    const char *base_url, size_t *used)
{
	json_t	*summary, *ops, *body, *msgs, *m, *fmt;
	char	*text, *out, *s;
	size_t	 n;

	*used = 0;
	n = max_ops > 0 ? max_ops : 1;
	text = NULL;
	ops = NULL;
	for (;;) {
		if ((s = disc_summary_json(e, off, n)) == NULL)
			return (NULL);
		summary = json_loads(s, 0, NULL);
		free(s);
		if (summary == NULL)
			return (NULL);
		ops = json_incref(json_object_get(summary, "operations"));
		json_decref(summary);
		if (!json_is_array(ops)) {
			json_decref(ops);
			return (NULL);
		}
		n = json_array_size(ops);
		if ((text = aimsg_user_text(ops, api_name, base_url)) == NULL) {
			json_decref(ops);
			return (NULL);
		}
		if (max_chars == 0 || strlen(text) <= max_chars)
			break;
		if (n <= 1) {
			/* A lone operation too large for a prompt loses its
			 * field names. */
			free(text);
			text = aimsg_user_text(aimsg_strip_fields(ops),
			    api_name, base_url);
			if (text == NULL) {
				json_decref(ops);
				return (NULL);
			}
			break;
		}
		free(text);
		json_decref(ops);
		n /= 2;
	}
	json_decref(ops);

	body = json_object();
	msgs = json_array();
	m = json_object();
	json_object_set_new(m, "role", json_string("system"));
	json_object_set_new(m, "content", json_string(aimsg_system));
	json_array_append_new(msgs, m);
	m = json_object();
	json_object_set_new(m, "role", json_string("user"));
	json_object_set_new(m, "content", json_string(text));
	json_array_append_new(msgs, m);
	free(text);

	json_object_set_new(body, "model", json_string(model));
	json_object_set_new(body, "messages", msgs);
	json_object_set_new(body, "temperature", json_real(0.2));
	json_object_set_new(body, "max_tokens", json_integer(
	    n * AIMSG_TOKENS_PER_OP + AIMSG_TOKENS_BASE > AIMSG_TOKENS_MAX ?
	    AIMSG_TOKENS_MAX : (json_int_t)(n * AIMSG_TOKENS_PER_OP +
	    AIMSG_TOKENS_BASE)));
	fmt = json_object();
	json_object_set_new(fmt, "type", json_string("json_object"));
	json_object_set_new(body, "response_format", fmt);

	out = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (out != NULL)
		*used = n;
	return (out);
}

/*
 * The user message: one sentence, then the JSON object. No brace may
 * come before the object: readers of the prompt take everything from
 * the first "{" to the last "}".
 */
static char *
aimsg_user_text(json_t *ops, const char *api_name, const char *base_url)
{
	json_t	*doc, *api;
	char	*json, *text;
	size_t	 len;
	static const char lead[] = "Document these operations. The API and "
	    "the operations to describe, as JSON:\n";

	doc = json_object();
	api = json_object();
	if (api_name != NULL)
		json_object_set_new(api, "name", json_string(api_name));
	if (base_url != NULL)
		json_object_set_new(api, "baseUrl", json_string(base_url));
	json_object_set_new(doc, "api", api);
	json_object_set(doc, "operations", ops);
	json = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (json == NULL)
		return (NULL);

	len = sizeof(lead) - 1 + strlen(json) + 1;
	if ((text = malloc(len)) != NULL)
		(void)snprintf(text, len, "%s%s", lead, json);
	free(json);
	return (text);
}

static json_t *
aimsg_strip_fields(json_t *ops)
{
	json_t	*op;
	size_t	 i;

	json_array_foreach(ops, i, op) {
		(void)json_object_del(op, "requestFields");
		(void)json_object_del(op, "responseFields");
	}
	return (ops);
}

/*
 * A copy of s without leading and trailing blanks, control characters
 * turned into spaces (newlines kept when `multiline`), cut to at most
 * `max` bytes on a character boundary. NULL when nothing is left.
 */
static char *
aimsg_clean(const char *s, size_t max, int multiline)
{
	char	*out;
	size_t	 len, i, start;

	if ((out = strdup(s)) == NULL)
		return (NULL);
	for (i = 0; out[i] != '\0'; i++) {
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = (multiline && out[i] == '\n') ? '\n' : ' ';
	}

	start = 0;
	while (out[start] != '\0' && isspace((unsigned char)out[start]))
		start++;
	len = strlen(out + start);
	memmove(out, out + start, len + 1);
	if (len > max) {
		len = max;
		/* Back off to the first byte of a UTF-8 sequence. */
		while (len > 0 && ((unsigned char)out[len] & 0xc0) == 0x80)
			len--;
	}
	while (len > 0 && isspace((unsigned char)out[len - 1]))
		len--;
	out[len] = '\0';
	if (len == 0) {
		free(out);
		return (NULL);
	}
	return (out);
}

void
aimsg_info_clear(struct aimsg_info *info)
{
	free(info->title);
	free(info->description);
	memset(info, 0, sizeof(*info));
}

/* The content of a chat completion's first choice; NULL when absent. */
static const char *
aimsg_content(json_t *resp)
{
	json_t	*choice, *msg, *content;

	choice = json_array_get(json_object_get(resp, "choices"), 0);
	msg = json_object_get(choice, "message");
	content = json_object_get(msg, "content");
	return (json_is_string(content) ? json_string_value(content) : NULL);
}

static int
aimsg_apply_op(struct disc_engine *e, json_t *op)
{
	json_t		*v, *tag;
	const char	*id, *ctags[DISC_TAGS_MAX];
	char		*summary, *desc, *tags[DISC_TAGS_MAX];
	size_t		 ntags, i, k;
	int		 rc, dup;

	if (!json_is_object(op) ||
	    !json_is_string(v = json_object_get(op, "id")))
		return (-1);
	id = json_string_value(v);

	summary = NULL;
	desc = NULL;
	ntags = 0;
	if (json_is_string(v = json_object_get(op, "summary")))
		summary = aimsg_clean(json_string_value(v), DISC_SUMMARY_MAX,
		    0);
	if (json_is_string(v = json_object_get(op, "description")))
		desc = aimsg_clean(json_string_value(v), DISC_DESCRIPTION_MAX,
		    1);
	json_array_foreach(json_object_get(op, "tags"), i, tag) {
		if (ntags == DISC_TAGS_MAX || !json_is_string(tag))
			continue;
		if ((tags[ntags] = aimsg_clean(json_string_value(tag),
		    DISC_TAG_MAX, 0)) == NULL)
			continue;
		dup = 0;
		for (k = 0; k < ntags; k++)
			dup |= strcmp(tags[k], tags[ntags]) == 0;
		if (dup) {
			free(tags[ntags]);
		} else {
			ctags[ntags] = tags[ntags];
			ntags++;
		}
	}

	/* An entry must at least say what the operation does. */
	rc = -1;
	if (summary != NULL)
		rc = disc_annotate(e, id, summary, desc, ctags, ntags);
	free(summary);
	free(desc);
	for (i = 0; i < ntags; i++)
		free(tags[i]);
	return (rc == 0 ? 0 : -1);
}

/*
 * Checks a chat-completions response body and merges what it says into
 * the engine. Returns 0 when at least one operation was described (or
 * there was none to describe), -1 with the reason in err otherwise.
 */
int
aimsg_apply(struct disc_engine *e, const char *body, size_t len,
    struct aimsg_info *info, char *err, size_t errlen)
{
	json_t		*resp, *doc, *ops, *op, *v;
	const char	*content, *start, *end;
	size_t		 i;
	int		 rc = -1;

	doc = NULL;
	if ((resp = json_loadb(body, len, 0, NULL)) == NULL ||
	    !json_is_object(resp)) {
		(void)snprintf(err, errlen, "the response is not JSON");
		goto done;
	}
	if ((content = aimsg_content(resp)) == NULL) {
		(void)snprintf(err, errlen, "the response has no message");
		goto done;
	}

	/* Models sometimes wrap the object in prose or a code fence. */
	start = strchr(content, '{');
	end = strrchr(content, '}');
	if (start == NULL || end == NULL || end < start ||
	    (doc = json_loadb(start, (size_t)(end - start) + 1, 0,
	    NULL)) == NULL || !json_is_object(doc)) {
		(void)snprintf(err, errlen, "the model's answer is not a "
		    "JSON object");
		goto done;
	}
	if (!json_is_array(ops = json_object_get(doc, "operations"))) {
		(void)snprintf(err, errlen, "the model's answer has no "
		    "operations array");
		goto done;
	}

	json_array_foreach(ops, i, op) {
		if (aimsg_apply_op(e, op) == 0)
			info->described++;
		else
			info->rejected++;
	}
	if (info->described == 0 && disc_operation_count(e) > 0) {
		(void)snprintf(err, errlen, "no entry of the model's answer "
		    "described one of the operations sent");
		goto done;
	}

	if (info->title == NULL &&
	    json_is_string(v = json_object_get(doc, "title")))
		info->title = aimsg_clean(json_string_value(v),
		    DISC_TITLE_MAX, 0);
	if (info->description == NULL &&
	    json_is_string(v = json_object_get(doc, "description")))
		info->description = aimsg_clean(json_string_value(v),
		    DISC_DESCRIPTION_MAX, 1);
	rc = 0;

done:
	json_decref(doc);
	json_decref(resp);
	return (rc);
}

/*
 * Milliseconds a Retry-After header asks to wait: delta-seconds (a
 * fraction is accepted) or an HTTP date compared with `now` (seconds
 * since the epoch). -1 when the value is neither.
 */
long
aimsg_retry_after(const char *v, long now)
{
	struct tm	 tm;
	const char	*p;
	char		*end;
	double		 secs;
	time_t		 t;

	while (*v == ' ' || *v == '\t')
		v++;
	if (isdigit((unsigned char)*v)) {
		secs = strtod(v, &end);
		while (*end == ' ' || *end == '\t' || *end == '\r' ||
		    *end == '\n')
			end++;
		if (*end != '\0' || secs < 0 || secs > 86400.0 * 365)
			return (-1);
		return ((long)(secs * 1000.0 + 0.5));
	}

	memset(&tm, 0, sizeof(tm));
	if ((p = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm)) == NULL)
		return (-1);
	while (*p == ' ' || *p == '\r' || *p == '\n')
		p++;
	if (*p != '\0' || (t = timegm(&tm)) == (time_t)-1)
		return (-1);
	return (t <= now ? 0 : (long)(t - now) * 1000);
}

/* The message of an OpenAI-style error body, cleaned, for logs. */
int
aimsg_error_text(const char *body, size_t len, char *out, size_t outlen)
{
	json_t	*resp, *msg;
	char	*clean;
	int	 rc = -1;

	out[0] = '\0';
	if ((resp = json_loadb(body, len, 0, NULL)) == NULL)
		return (-1);
	msg = json_object_get(json_object_get(resp, "error"), "message");
	if (json_is_string(msg) && outlen > 1 &&
	    (clean = aimsg_clean(json_string_value(msg), outlen - 1,
	    0)) != NULL) {
		(void)snprintf(out, outlen, "%s", clean);
		free(clean);
		rc = 0;
	}
	json_decref(resp);
	return (rc);
}
