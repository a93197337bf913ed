/*
 * Endpoints: create, list, read, rename, delete; and what was captured
 * for them: the calls, one call in full, and statistics.
 *
 * Creating an endpoint checks its destination twice over: the URL's form
 * here in the event loop (ssrf_parse_url), then its name's addresses in
 * a task thread (resolution blocks). The 25 credits are spent by the SQL
 * function endpoint_create() in the same transaction as the insert.
 *
 * Every query joins the endpoint to the signed-in user, so another
 * user's endpoint answers 404 exactly like one that does not exist.
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "api.h"
#include "app.h"
#include "jsonw.h"
#include "log.h"
#include "ssrf.h"

#define ENDPOINT_NAME_MAX	100

int	endpoints_collection(struct http_request *);
int	endpoints_one(struct http_request *);
int	endpoints_calls(struct http_request *);
int	endpoints_call(struct http_request *);
int	endpoints_stats(struct http_request *);

struct endpoint_new {
	struct ssrf_url	 url;
	char		 canonical[SSRF_URL_MAX + SSRF_HOST_MAX + 32];
	char		 name[ENDPOINT_NAME_MAX * 4 + 1];
	int		 capture_secrets;
	int		 ok;
	char		 why[SSRF_WHY_MAX];
};

static void	endpoints_route(struct api_ctx *);
static void	endpoints_create(struct api_ctx *);
static void	endpoints_resolved(struct api_ctx *);
static void	endpoints_created(struct api_ctx *);
static void	endpoints_list(struct api_ctx *);
static void	endpoints_one_route(struct api_ctx *);
static void	endpoints_update(struct api_ctx *);
static void	endpoints_deleted(struct api_ctx *);
static void	endpoints_calls_list(struct api_ctx *);
static void	endpoints_call_get(struct api_ctx *);
static void	endpoints_call_reply(struct api_ctx *);
static void	endpoints_stats_get(struct api_ctx *);
static void	endpoints_reply(struct api_ctx *);
static int	endpoints_resolve(void *);
static const char *endpoints_base(void);

static const char *endpoint_fields[] = {
	"name", "destinationUrl", "captureSecrets", NULL
};
static const char *endpoint_patch_fields[] = {
	"name", "captureSecrets", NULL
};

int
endpoints_collection(struct http_request *req)
{
	return (api_run(req, API_USER, API_GET | API_POST, endpoints_route));
}

int
endpoints_one(struct http_request *req)
{
	return (api_run(req, API_USER, API_GET | API_PATCH | API_DELETE,
	    endpoints_one_route));
}

int
endpoints_calls(struct http_request *req)
{
	return (api_run(req, API_USER, API_GET, endpoints_calls_list));
}

int
endpoints_call(struct http_request *req)
{
	return (api_run(req, API_USER, API_GET, endpoints_call_get));
}

int
endpoints_stats(struct http_request *req)
{
	return (api_run(req, API_USER, API_GET, endpoints_stats_get));
}

/* Where proxy URLs point: PROXY_BASE_URL, by default the public URL. */
static const char *
endpoints_base(void)
{
	return (app_cfg.proxy_base_url);
}

static void
endpoints_route(struct api_ctx *c)
{
	if (api_method(c) == API_POST)
		endpoints_create(c);
	else
		endpoints_list(c);
}

static void
endpoints_reply(struct api_ctx *c)
{
	if (!api_db_ok(c))
		return;
	api_reply_db_json(c, 200);
}

static void
endpoints_create(struct api_ctx *c)
{
	struct endpoint_new	*e;
	const char		*name, *dest, *p;
	int			 secrets;

	secrets = 0;
	if (api_body(c) == -1 || api_only(c, endpoint_fields) == -1 ||
	    api_str(c, "name", 1, ENDPOINT_NAME_MAX, &name) == -1 ||
	    api_str(c, "destinationUrl", 1, SSRF_URL_MAX, &dest) == -1 ||
	    api_bool(c, "captureSecrets", &secrets) == -1)
		return;

	for (p = name; *p == ' '; p++)
		;
	if (*p == '\0') {
		api_error(c, 422, "VALIDATION_FAILED",
		    "name must not be empty");
		return;
	}

	if ((e = calloc(1, sizeof(*e))) == NULL) {
		api_error(c, 500, "INTERNAL", "out of memory");
		return;
	}
	(void)kore_strlcpy(e->name, name, sizeof(e->name));
	e->capture_secrets = secrets;

	if (!ssrf_parse_url(dest, &e->url, e->why, sizeof(e->why))) {
		api_errorf(c, 422, "INVALID_DESTINATION",
		    "destinationUrl is not allowed: %s", e->why);
		free(e);
		return;
	}

	/* What is stored and shown is what the proxy will use. */
	(void)snprintf(e->canonical, sizeof(e->canonical), "%s://%s%s%s%s%s%s",
	    e->url.scheme, e->url.host_kind == SSRF_HOST_IPV6 ? "[" : "",
	    e->url.host, e->url.host_kind == SSRF_HOST_IPV6 ? "]" : "",
	    e->url.port_explicit ? ":" : "",
	    e->url.port_explicit ? e->url.port_str : "", e->url.path);

	api_task(c, endpoints_resolved, endpoints_resolve, e, free);
}

/* In a task thread: the name's addresses must all be allowed. */
static int
endpoints_resolve(void *arg)
{
	struct endpoint_new	*e = arg;

	if (e->url.host_kind != SSRF_HOST_NAME) {
		e->ok = 1;
		return (0);
	}
	e->ok = ssrf_resolve_check(e->url.host, e->url.port_str, e->why,
	    sizeof(e->why));
	return (0);
}

static void
endpoints_resolved(struct api_ctx *c)
{
	struct endpoint_new	*e = api_task_arg(c);

	if (!e->ok) {
		api_errorf(c, 422, "INVALID_DESTINATION",
		    "destinationUrl is not allowed: %s", e->why);
		return;
	}
	api_query(c, endpoints_created,
	    "SELECT endpoint_create($1, $2, $3, $4, $5, $6, $7)", 7,
	    api_user_id(c), e->name, e->canonical,
	    e->capture_secrets ? "true" : "false", endpoints_base(), c->ip,
	    c->rid);
}

static void
endpoints_created(struct api_ctx *c)
{
	struct jw	*l;

	if (!api_db_ok(c))
		return;
	if ((l = log_begin(LOG_LVL_INFO, "endpoint.created", c->rid)) !=
	    NULL) {
		jw_str(l, "userId", api_user_id(c));
		log_end(l);
	}
	api_reply_db_json(c, 201);
}

/* Newest first; the cursor is "<created_at>_<id>" of a page's last row. */
static void
endpoints_list(struct api_ctx *c)
{
	char	limit[16], cursor[96];

	if (api_limit(c, 50, 100, limit, sizeof(limit)) == -1 ||
	    api_cursor(c, cursor, sizeof(cursor)) == -1)
		return;
	if (cursor[0] != '\0' && (strlen(cursor) != 27 + 1 + API_UUID_LEN ||
	    cursor[27] != '_' || !api_is_uuid(cursor + 28))) {
		api_error(c, 400, "BAD_REQUEST",
		    "the cursor is not one this API returned");
		return;
	}
	if (cursor[0] != '\0')
		cursor[27] = ' ';

	api_query(c, endpoints_reply,
	    "WITH page AS ("
	    "  SELECT e FROM endpoints e WHERE e.user_id = $1 "
	    "  AND ($2::text IS NULL OR (e.created_at, e.id) < "
	    "      (split_part($2, ' ', 1)::timestamptz, "
	    "       split_part($2, ' ', 2)::uuid)) "
	    "  ORDER BY e.created_at DESC, e.id DESC LIMIT $3::int + 1), "
	    "shown AS (SELECT (e).* FROM page ORDER BY (e).created_at DESC, "
	    "  (e).id DESC LIMIT $3::int) "
	    "SELECT json_build_object("
	    "  'items', coalesce((SELECT json_agg(endpoint_json(s, $4) "
	    "      ORDER BY s.created_at DESC, s.id DESC) FROM shown s), "
	    "      '[]'::json), "
	    "  'nextCursor', CASE WHEN (SELECT count(*) FROM page) > $3::int "
	    "      THEN (SELECT to_char(created_at AT TIME ZONE 'UTC', "
	    "          'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') || '_' || id "
	    "          FROM shown ORDER BY created_at, id LIMIT 1) END)",
	    4, api_user_id(c), cursor[0] != '\0' ? cursor : NULL, limit,
	    endpoints_base());
}

static void
endpoints_one_route(struct api_ctx *c)
{
	if (api_path_id(c, "/api/endpoints/", c->id) == -1)
		return;

	switch (api_method(c)) {
	case API_PATCH:
		endpoints_update(c);
		break;
	case API_DELETE:
		api_query(c, endpoints_deleted,
		    "SELECT endpoint_delete($1, $2, $3, $4)", 4,
		    api_user_id(c), c->id, c->ip, c->rid);
		break;
	default:
		api_query(c, endpoints_reply,
		    "SELECT endpoint_json(e, $3) FROM endpoints e "
		    "WHERE e.id = $1 AND e.user_id = $2", 3, c->id,
		    api_user_id(c), endpoints_base());
		break;
	}
}

static void
endpoints_update(struct api_ctx *c)
{
	const char	*name;
	int		 secrets;

	secrets = -1;
	if (api_body(c) == -1 || api_only(c, endpoint_patch_fields) == -1 ||
	    api_str(c, "name", 0, ENDPOINT_NAME_MAX, &name) == -1 ||
	    api_bool(c, "captureSecrets", &secrets) == -1)
		return;
	if (name != NULL && strspn(name, " ") == strlen(name)) {
		api_error(c, 422, "VALIDATION_FAILED",
		    "name must not be empty");
		return;
	}
	if (name == NULL && secrets == -1) {
		api_error(c, 422, "VALIDATION_FAILED",
		    "nothing to change: send name or captureSecrets");
		return;
	}

	api_query(c, endpoints_reply,
	    "SELECT endpoint_update($1, $2, $3, $4, $5, $6, $7)", 7,
	    api_user_id(c), c->id, name, secrets == -1 ? NULL :
	    secrets ? "true" : "false", endpoints_base(), c->ip, c->rid);
}

static void
endpoints_deleted(struct api_ctx *c)
{
	if (!api_db_ok(c))
		return;
	api_reply(c, 204, NULL, NULL, 0);
}

/*
 * Captured calls, newest first, filtered by method, status (200 or 2xx)
 * and path prefix; the cursor is the id of a page's last call.
 */
static void
endpoints_calls_list(struct api_ctx *c)
{
	char	limit[16], cursor[24], method[16], status[8], path[512];
	char	code[8], klass[4];
	int	rc, i;

	if (api_path_id(c, "/api/endpoints/", c->id) == -1 ||
	    api_limit(c, 50, 200, limit, sizeof(limit)) == -1 ||
	    api_cursor(c, cursor, sizeof(cursor)) == -1 ||
	    api_cursor_id(c, cursor) == -1)
		return;

	if ((rc = api_arg(c, "method", method, sizeof(method))) == -1)
		return;
	if (rc == 0) {
		method[0] = '\0';
	} else {
		for (i = 0; method[i] != '\0'; i++)
			method[i] = (char)toupper((unsigned char)method[i]);
		if (strspn(method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") !=
		    strlen(method) || method[0] == '\0') {
			api_error(c, 422, "VALIDATION_FAILED",
			    "method must be an HTTP method such as GET");
			return;
		}
	}

	code[0] = klass[0] = '\0';
	if ((rc = api_arg(c, "status", status, sizeof(status))) == -1)
		return;
	if (rc == 1) {
		if (strlen(status) == 3 && status[0] >= '1' &&
		    status[0] <= '5' && isdigit((unsigned char)status[1]) &&
		    isdigit((unsigned char)status[2])) {
			(void)kore_strlcpy(code, status, sizeof(code));
		} else if (strlen(status) == 3 && status[0] >= '1' &&
		    status[0] <= '5' && (status[1] == 'x' ||
		    status[1] == 'X') && (status[2] == 'x' ||
		    status[2] == 'X')) {
			klass[0] = status[0];
			klass[1] = '\0';
		} else {
			api_error(c, 422, "VALIDATION_FAILED",
			    "status must be a code such as 404 or a class "
			    "such as 4xx");
			return;
		}
	}
	if ((rc = api_arg(c, "path", path, sizeof(path))) == -1)
		return;

	api_query(c, endpoints_reply,
	    "WITH ep AS (SELECT id FROM endpoints "
	    "    WHERE id = $1 AND user_id = $2), "
	    "page AS (SELECT c.id, c.\"timestamp\", c.method, c.path, "
	    "    c.query, c.status_code, c.duration_ms, c.request_size, "
	    "    c.response_size, c.request_content_type, "
	    "    c.response_content_type, c.error, c.request_truncated, "
	    "    c.response_truncated, c.redacted "
	    "  FROM api_calls c WHERE c.endpoint_id = (SELECT id FROM ep) "
	    "  AND ($3::bigint IS NULL OR c.id < $3::bigint) "
	    "  AND ($4::text IS NULL OR c.method = $4) "
	    "  AND ($5::int IS NULL OR c.status_code = $5::int) "
	    "  AND ($6::int IS NULL OR c.status_code / 100 = $6::int) "
	    "  AND ($7::text IS NULL OR starts_with(c.path, $7)) "
	    "  ORDER BY c.id DESC LIMIT $8::int + 1), "
	    "shown AS (SELECT * FROM page ORDER BY id DESC LIMIT $8::int) "
	    "SELECT json_build_object("
	    "  'items', coalesce((SELECT json_agg(json_build_object("
	    "      'id', id, 'timestamp', \"timestamp\", 'method', method, "
	    "      'path', path, 'query', query, 'statusCode', status_code, "
	    "      'durationMs', duration_ms, 'requestSize', request_size, "
	    "      'responseSize', response_size, "
	    "      'requestContentType', request_content_type, "
	    "      'responseContentType', response_content_type, "
	    "      'error', error, 'requestTruncated', request_truncated, "
	    "      'responseTruncated', response_truncated, "
	    "      'redacted', redacted) ORDER BY id DESC) FROM shown), "
	    "      '[]'::json), "
	    "  'nextCursor', CASE WHEN (SELECT count(*) FROM page) > $8::int "
	    "      THEN (SELECT min(id) FROM shown)::text END) "
	    "FROM ep", 8, c->id, api_user_id(c),
	    cursor[0] ? cursor : NULL, method[0] ? method : NULL,
	    code[0] ? code : NULL, klass[0] ? klass : NULL,
	    rc == 1 ? path : NULL, limit);
}

static void
endpoints_call_get(struct api_ctx *c)
{
	char	call[24];
	size_t	i;

	if (api_path_id(c, "/api/endpoints/", c->id) == -1)
		return;
	if (api_path_segment(c, 4, call, sizeof(call)) == -1 ||
	    call[0] == '\0' || strspn(call, "0123456789") != strlen(call) ||
	    strlen(call) > 18) {
		api_error(c, 400, "BAD_REQUEST",
		    "the call id in the path must be a number");
		return;
	}
	for (i = 0; call[i] == '0' && call[i + 1] != '\0'; i++)
		;

	api_query(c, endpoints_call_reply,
	    "SELECT c.id, to_json(c.\"timestamp\") #>> '{}', c.method, "
	    "  c.path, c.query, "
	    "  c.status_code, c.duration_ms, c.request_size, "
	    "  c.response_size, c.request_content_type, "
	    "  c.response_content_type, c.error, c.request_truncated, "
	    "  c.response_truncated, c.redacted, c.request_headers, "
	    "  c.response_headers, c.request_body, c.response_body "
	    "FROM api_calls c JOIN endpoints e ON e.id = c.endpoint_id "
	    "WHERE c.endpoint_id = $1 AND e.user_id = $2 AND c.id = $3",
	    3, c->id, api_user_id(c), call + i);
}

/* A body as UTF-8 text when it is valid text, otherwise base64. */
static void
endpoints_body(struct jw *j, const char *key, const char *enc_key,
    const char *hex)
{
	unsigned char	*raw;
	size_t		 len;
	char		*b64;
	struct jw	 probe;

	if (hex == NULL) {
		jw_null(j, key);
		jw_null(j, enc_key);
		return;
	}
	if ((raw = PQunescapeBytea((const unsigned char *)hex, &len)) ==
	    NULL) {
		jw_null(j, key);
		jw_null(j, enc_key);
		return;
	}

	/* Valid UTF-8 survives escaping unchanged; anything else does not. */
	jw_init(&probe, len + 16);
	jw_escape(&probe, (const char *)raw, len);
	if (!probe.err && strstr(probe.buf, "\\ufffd") == NULL &&
	    memchr(raw, '\0', len) == NULL) {
		jw_raw(j, key, probe.buf, probe.len);
		jw_str(j, enc_key, "utf8");
	} else {
		b64 = NULL;
		if (kore_base64_encode(raw, len, &b64) == KORE_RESULT_OK) {
			jw_str(j, key, b64);
			jw_str(j, enc_key, "base64");
			kore_free(b64);
		} else {
			jw_null(j, key);
			jw_null(j, enc_key);
		}
	}
	jw_free(&probe);
	PQfreemem(raw);
}

static void
endpoints_call_reply(struct api_ctx *c)
{
	struct db_call	*d = &c->db;
	struct jw	 j;

	if (!api_db_ok(c))
		return;
	if (db_rows(d) != 1) {
		api_error(c, 404, "NOT_FOUND", "call not found");
		return;
	}

	jw_init(&j, 4096);
	jw_obj_open(&j, NULL);
	jw_int(&j, "id", db_int(d, 0, 0));
	jw_str(&j, "timestamp", db_value(d, 0, 1));
	jw_str(&j, "method", db_value(d, 0, 2));
	jw_str(&j, "path", db_value(d, 0, 3));
	jw_str(&j, "query", db_value(d, 0, 4));
	if (db_isnull(d, 0, 5))
		jw_null(&j, "statusCode");
	else
		jw_int(&j, "statusCode", db_int(d, 0, 5));
	jw_int(&j, "durationMs", db_int(d, 0, 6));
	jw_int(&j, "requestSize", db_int(d, 0, 7));
	jw_int(&j, "responseSize", db_int(d, 0, 8));
	jw_str(&j, "requestContentType", db_value(d, 0, 9));
	jw_str(&j, "responseContentType", db_value(d, 0, 10));
	jw_str(&j, "error", db_value(d, 0, 11));
	jw_bool(&j, "requestTruncated", !strcmp(db_value(d, 0, 12), "t"));
	jw_bool(&j, "responseTruncated", !strcmp(db_value(d, 0, 13), "t"));
	jw_bool(&j, "redacted", !strcmp(db_value(d, 0, 14), "t"));
	jw_raw(&j, "requestHeaders", db_value(d, 0, 15),
	    (size_t)db_length(d, 0, 15));
	jw_raw(&j, "responseHeaders", db_value(d, 0, 16),
	    (size_t)db_length(d, 0, 16));
	endpoints_body(&j, "requestBody", "requestBodyEncoding",
	    db_value(d, 0, 17));
	endpoints_body(&j, "responseBody", "responseBodyEncoding",
	    db_value(d, 0, 18));
	jw_obj_close(&j);
	api_reply_jw(c, 200, &j);
	jw_free(&j);
}

/*
 * Traffic of the last 24 hours (?window=1h|24h|7d|30d): calls over time
 * (by minute while the data spans under three hours, else by hour), the
 * status mix, latency percentiles, and operations seen with numeric and
 * UUID path segments folded into {id}.
 */
static void
endpoints_stats_get(struct api_ctx *c)
{
	char		 window[8];
	const char	*interval;
	int		 rc;

	if (api_path_id(c, "/api/endpoints/", c->id) == -1)
		return;
	if ((rc = api_arg(c, "window", window, sizeof(window))) == -1)
		return;
	if (rc == 0 || strcmp(window, "24h") == 0)
		interval = "24 hours";
	else if (strcmp(window, "1h") == 0)
		interval = "1 hour";
	else if (strcmp(window, "7d") == 0)
		interval = "7 days";
	else if (strcmp(window, "30d") == 0)
		interval = "30 days";
	else {
		api_error(c, 422, "VALIDATION_FAILED",
		    "window must be one of 1h, 24h, 7d, 30d");
		return;
	}

	api_query(c, endpoints_reply,
	    "WITH ep AS (SELECT id, call_count FROM endpoints "
	    "    WHERE id = $1 AND user_id = $2), "
	    "c AS MATERIALIZED (SELECT \"timestamp\" AS ts, status_code, "
	    "    duration_ms, method, path, error FROM api_calls "
	    "  WHERE endpoint_id = (SELECT id FROM ep) "
	    "  AND \"timestamp\" > now() - $3::interval), "
	    "b AS (SELECT CASE WHEN min(ts) > now() - interval '3 hours' "
	    "    THEN 'minute' ELSE 'hour' END AS unit FROM c) "
	    "SELECT json_build_object("
	    "  'totalCalls', (SELECT call_count FROM ep), "
	    "  'windowCalls', (SELECT count(*) FROM c), "
	    "  'errorCalls', (SELECT count(*) FROM c WHERE error IS NOT NULL "
	    "      OR status_code >= 500), "
	    "  'bucket', (SELECT unit FROM b), "
	    "  'callsOverTime', coalesce((SELECT json_agg(json_build_object("
	    "      't', t, 'count', n, 'errors', e) ORDER BY t) FROM ("
	    "      SELECT date_trunc((SELECT unit FROM b), ts) AS t, "
	    "        count(*) AS n, count(*) FILTER (WHERE error IS NOT NULL "
	    "        OR status_code >= 500) AS e FROM c GROUP BY 1) o), "
	    "      '[]'::json), "
	    "  'statusMix', coalesce((SELECT json_agg(json_build_object("
	    "      'status', s, 'count', n) ORDER BY s) FROM ("
	    "      SELECT coalesce(status_code, 0) AS s, count(*) AS n "
	    "      FROM c GROUP BY 1) m), '[]'::json), "
	    "  'latency', (SELECT json_build_object("
	    "      'p50', coalesce(percentile_cont(0.5) WITHIN GROUP "
	    "          (ORDER BY duration_ms), 0), "
	    "      'p95', coalesce(percentile_cont(0.95) WITHIN GROUP "
	    "          (ORDER BY duration_ms), 0), "
	    "      'p99', coalesce(percentile_cont(0.99) WITHIN GROUP "
	    "          (ORDER BY duration_ms), 0), "
	    "      'avg', coalesce(round(avg(duration_ms), 1), 0)) FROM c), "
	    "  'operations', coalesce((SELECT json_agg(json_build_object("
	    "      'method', method, 'path', p, 'count', n, 'avgMs', a) "
	    "      ORDER BY n DESC, method, p) FROM ("
	    "      SELECT method, regexp_replace(regexp_replace(path, "
	    "        '/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
	    "[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?=/|$)', '/{id}', 'g'), "
	    "        '/[0-9]+(?=/|$)', '/{id}', 'g') AS p, count(*) AS n, "
	    "        round(avg(duration_ms), 1) AS a "
	    "      FROM c GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 100) o), "
	    "      '[]'::json)) "
	    "FROM ep", 3, c->id, api_user_id(c), interval);
}
