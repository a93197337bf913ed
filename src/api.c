/*
 * The JSON API's request context.
 *
 * Kore calls a handler again each time a request it put to sleep wakes
 * up. api_run() keeps one struct api_ctx per request in hdlr_extra and,
 * on every call, advances whatever the request waits on (a query or a
 * task) and then runs the step that was named to continue. Handlers are
 * thus written as a short chain of named steps, each of which reads
 * what the previous one produced.
 *
 * Before the handler's first step the context reads the session cookie
 * (one query), refuses what the route's access level does not allow, and
 * checks the CSRF token of mutating requests.
 *
 * When the request is freed (answered, or its client gone) the context
 * writes one access log line and releases everything it holds. A task
 * thread still running at that moment keeps the context alive until Kore
 * frees the request again after the task has finished.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/tasks.h>
#include <kore/curl.h>

#include "api.h"
#include "app.h"
#include "log.h"
#include "outbound.h"
#include "secret.h"

#define SESSION_COOKIE	"sid"

struct api_task {
	struct kore_task	 t;	/* first: Kore hands us this pointer */
	api_work		 fn;
	void			*arg;
	void			(*arg_free)(void *);
	int			 destroyed;
};

static struct api_ctx	*api_ctx_new(struct http_request *);
static void		 api_onfree(struct http_request *);
static int		 api_resume(struct api_ctx *);
static void		 api_session_loaded(struct api_ctx *);
static int		 api_limited(struct api_ctx *);

static int		 api_rate_api = 1000;
static int		 api_rate_auth = 30;

static uint64_t		 api_rid_state;

/*
 * A request id: 96 bits from a per-worker generator seeded once from the
 * system's random source. Ids must be unique, not secret, and asking the
 * kernel for randomness on every request costs a system call each time.
 */
void
api_request_id(char *out, size_t len)
{
	unsigned char	raw[12];
	uint64_t	z;
	int		i;

	for (i = 0; i < 12; i += 4) {
		/* splitmix64 */
		z = (api_rid_state += 0x9e3779b97f4a7c15ULL);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		z ^= z >> 31;
		memcpy(raw + i, &z, 4);
	}
	(void)secret_b64url(raw, sizeof(raw), out, len);
}

/* Rate limits from the environment; called once per worker. */
void
api_init(void)
{
	arc4random_buf(&api_rid_state, sizeof(api_rid_state));
	api_rate_api = (int)app_env_num("RATE_LIMIT_API", 1000, 1, 10000000);
	api_rate_auth = (int)app_env_num("RATE_LIMIT_AUTH", 30, 1, 10000000);
}
static void		 api_task_release(struct api_ctx *);
static int		 api_task_entry(struct kore_task *);
static const char	*api_code_for(int);

/*
 * The session behind the cookie (if any) and one hit against the rate
 * limit of the user, or of the address when signed out, in one round
 * trip: columns 0-4 are the account, 5-7 the limiter's answer.
 */
static const char *api_session_sql =
    "SELECT u.id, u.role, u.is_demo, s.csrf_token, "
    "    u.disabled_at IS NOT NULL, r.hits, r.auth_hits, r.retry_after "
    "FROM (SELECT 1) one "
    "LEFT JOIN sessions s ON s.token_hash = $1 AND s.expires_at > now() "
    "LEFT JOIN users u ON u.id = s.user_id "
    "CROSS JOIN LATERAL api_rate(coalesce('api-user:' || u.id, "
    "    'api-ip:' || $2), $3, 60) r";

int
api_run(struct http_request *req, int access, int methods, api_step first)
{
	struct api_ctx		*c;
	char			 token[SECRET_TOKEN_LEN + 8];
	char			 allow[64], auth_bucket[80];
	size_t			 n;

	if ((c = req->hdlr_extra) != NULL)
		return (api_resume(c));

	if ((c = api_ctx_new(req)) == NULL) {
		http_response(req, 500, NULL, 0);
		return (KORE_RESULT_OK);
	}

	if (!(req->method & methods)) {
		/* Build "GET, HEAD, POST" from the route's method bits. */
		n = 0;
		allow[0] = '\0';
		if (methods & API_GET)
			n += snprintf(allow + n, sizeof(allow) - n,
			    ", GET, HEAD");
		if (methods & API_POST)
			n += snprintf(allow + n, sizeof(allow) - n, ", POST");
		if (methods & API_PUT)
			n += snprintf(allow + n, sizeof(allow) - n, ", PUT");
		if (methods & API_PATCH)
			n += snprintf(allow + n, sizeof(allow) - n, ", PATCH");
		if (methods & API_DELETE)
			n += snprintf(allow + n, sizeof(allow) - n, ", DELETE");
		memmove(allow, allow + 2, strlen(allow + 2) + 1);
		api_header(c, "Allow", allow);
		api_errorf(c, 405, "METHOD_NOT_ALLOWED",
		    "%s is not allowed here; use %s",
		    http_method_text(req->method), allow);
		return (api_resume(c));
	}

	c->access = access;
	c->first = first;

	if (!api_session_token(c, token, sizeof(token))) {
		if (access & (API_USER | API_ADMIN)) {
			api_error(c, 401, "UNAUTHORIZED",
			    "sign in to use this");
			return (api_resume(c));
		}
		/* Health checks are neither limited nor worth a query. */
		if (access & API_NO_LIMIT) {
			c->next = first;
			return (api_resume(c));
		}
	} else {
		secret_sha256_hex(token, strlen(token), c->user.session);
		secret_wipe(token, sizeof(token));
	}

	(void)snprintf(auth_bucket, sizeof(auth_bucket), "auth-ip:%s", c->ip);
	api_query(c, api_session_loaded, api_session_sql, 3,
	    c->user.session[0] != '\0' ? c->user.session : NULL, c->ip,
	    (access & API_AUTH_LIMIT) ? auth_bucket : NULL);
	return (api_resume(c));
}

/* Answers at once, outside any route's steps (unknown paths). */
int
api_fail(struct http_request *req, int status, const char *code,
    const char *msg)
{
	struct api_ctx	*c;

	if ((c = req->hdlr_extra) == NULL && (c = api_ctx_new(req)) == NULL) {
		http_response(req, 500, NULL, 0);
		return (KORE_RESULT_OK);
	}
	api_error(c, status, code, msg);
	return (KORE_RESULT_OK);
}

/* Runs the next step after the one that is running now. */
void
api_next(struct api_ctx *c, api_step step)
{
	c->next = step;
}

static int
api_resume(struct api_ctx *c)
{
	api_step	step;

	for (;;) {
		if (c->finished)
			return (KORE_RESULT_OK);

		if (c->db.state == DB_RUNNING && !db_pump(&c->db))
			return (KORE_RESULT_RETRY);

		/* Kore's curl layer clears the handle once it has finished. */
		if (c->curl != NULL) {
			if (c->curl->handle != NULL)
				return (KORE_RESULT_RETRY);
			c->curl = NULL;
		}

		if (c->task != NULL && !c->task->destroyed) {
			if (kore_task_state(&c->task->t) !=
			    KORE_TASK_STATE_FINISHED)
				return (KORE_RESULT_RETRY);
			kore_task_destroy(&c->task->t);
			c->task->destroyed = 1;
		}

		if ((step = c->next) == NULL) {
			api_error(c, 500, "INTERNAL",
			    "the request ended without an answer");
			continue;
		}
		c->next = NULL;
		step(c);
	}
}

/*
 * Answers 429 when the request went over its limit: RATE_LIMIT_API a
 * minute for each user (or address, signed out) and RATE_LIMIT_AUTH a
 * minute for each address on the sign-in routes.
 */
static int
api_limited(struct api_ctx *c)
{
	const char	*retry;
	char		 left[24], limit[16];
	long long	 hits, auth;

	hits = db_int(&c->db, 0, 5);
	auth = db_int(&c->db, 0, 6);
	retry = db_value(&c->db, 0, 7);

	(void)snprintf(limit, sizeof(limit), "%d", api_rate_api);
	(void)snprintf(left, sizeof(left), "%lld",
	    hits >= api_rate_api ? 0 : api_rate_api - hits);
	api_header(c, "X-RateLimit-Limit", limit);
	api_header(c, "X-RateLimit-Remaining", left);

	if (hits <= api_rate_api && auth <= api_rate_auth)
		return (0);

	api_header(c, "Retry-After", retry != NULL ? retry : "60");
	api_errorf(c, 429, "RATE_LIMITED", "too many requests; try again in "
	    "%s seconds", retry != NULL ? retry : "60");
	log_msg(LOG_LVL_WARN, "api.rate_limited", c->rid, c->ip);
	return (1);
}

static void
api_session_loaded(struct api_ctx *c)
{
	const char		*v;
	int			 mutating;
	char			 given[128];

	if (!api_db_ok(c))
		return;
	if (api_limited(c))
		return;

	if (db_rows(&c->db) == 1 && !db_isnull(&c->db, 0, 0)) {
		if (strcmp(db_value(&c->db, 0, 4), "t") == 0) {
			api_error(c, 403, "ACCOUNT_DISABLED",
			    "this account is disabled");
			return;
		}
		c->has_user = 1;
		(void)kore_strlcpy(c->user.id, db_value(&c->db, 0, 0),
		    sizeof(c->user.id));
		(void)kore_strlcpy(c->user.role, db_value(&c->db, 0, 1),
		    sizeof(c->user.role));
		c->user.is_demo = strcmp(db_value(&c->db, 0, 2), "t") == 0;
		(void)kore_strlcpy(c->user.csrf, db_value(&c->db, 0, 3),
		    sizeof(c->user.csrf));
	}

	if ((c->access & (API_USER | API_ADMIN)) && !c->has_user) {
		api_error(c, 401, "UNAUTHORIZED",
		    "your session has expired or is not valid; sign in again");
		return;
	}
	if ((c->access & API_ADMIN) && strcmp(c->user.role, "admin")) {
		api_error(c, 403, "FORBIDDEN", "this needs an admin account");
		return;
	}

	/* A signed-in browser must prove the request came from our app. */
	mutating = c->req->method & (API_POST | API_PUT | API_PATCH |
	    API_DELETE);
	if (c->has_user && mutating && !(c->access & API_NO_CSRF)) {
		if (!http_request_header(c->req, "x-csrf-token", &v) ||
		    kore_strlcpy(given, v, sizeof(given)) >= sizeof(given) ||
		    !secret_equal(given, c->user.csrf)) {
			api_error(c, 403, "CSRF_FAILED", "missing or wrong "
			    "X-CSRF-Token header; reload the page");
			return;
		}
	}

	c->next = c->first;
}

static struct api_ctx *
api_ctx_new(struct http_request *req)
{
	struct api_ctx	*c;
	const char	*v;
	size_t		 i;
	int		 ok;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return (NULL);
	c->req = req;
	c->started = kore_time_ms();
	db_call_init(&c->db);
	(void)api_client_ip(req, c->ip, sizeof(c->ip));

	/* Keep a caller's request id when it is a sane one. */
	ok = 0;
	if (http_request_header(req, "x-request-id", &v) &&
	    strlen(v) >= 8 && strlen(v) < sizeof(c->rid)) {
		ok = 1;
		for (i = 0; v[i] != '\0'; i++) {
			if (!isalnum((unsigned char)v[i]) && v[i] != '-' &&
			    v[i] != '_' && v[i] != '.')
				ok = 0;
		}
	}
	if (ok)
		(void)kore_strlcpy(c->rid, v, sizeof(c->rid));
	else
		api_request_id(c->rid, sizeof(c->rid));

	req->hdlr_extra = c;
	req->onfree = api_onfree;

	http_response_header(req, "X-Request-Id", c->rid);
	http_response_header(req, "X-Content-Type-Options", "nosniff");
	http_response_header(req, "Cache-Control", "no-store");
	return (c);
}

static void
api_onfree(struct http_request *req)
{
	struct api_ctx	*c = req->hdlr_extra;
	struct jw	*j;

	if (c == NULL)
		return;

	/* Kore frees the request again once the task is done. */
	if (c->task != NULL && !c->task->destroyed) {
		if (c->task->t.req == NULL) {
			c->task->destroyed = 1;
		} else if (kore_task_state(&c->task->t) !=
		    KORE_TASK_STATE_FINISHED) {
			return;
		} else {
			kore_task_destroy(&c->task->t);
			c->task->destroyed = 1;
		}
	}

	if ((j = log_begin(LOG_LVL_INFO, "http.request", c->rid)) != NULL) {
		jw_str(j, "method", http_method_text(req->method));
		jw_str(j, "path", req->path);
		jw_int(j, "status", c->finished ? c->status : 499);
		jw_int(j, "durationMs",
		    (int64_t)(kore_time_ms() - c->started));
		jw_str(j, "ip", c->ip);
		if (c->has_user)
			jw_str(j, "userId", c->user.id);
		log_end(j);
	}

	db_call_clear(&c->db);
	api_task_release(c);
	if (c->body != NULL)
		json_decref(c->body);
	if (c->state_free != NULL)
		c->state_free(c->state);
	free(c);
	req->hdlr_extra = NULL;
}

/*
 * Starts a query with text parameters (NULL for SQL NULL); `next` runs
 * once it has finished, with the result or error in c->db.
 */
void
api_query(struct api_ctx *c, api_step next, const char *sql, int n, ...)
{
	va_list		 ap;
	int		 i, failed;

	db_call_clear(&c->db);

	failed = 0;
	va_start(ap, n);
	for (i = 0; i < n; i++) {
		if (db_param_text(&c->db, va_arg(ap, const char *)) == -1)
			failed = 1;
	}
	va_end(ap);

	if (failed) {
		db_call_clear(&c->db);
		api_error(c, 500, "INTERNAL", "could not prepare the query");
		return;
	}
	api_query_call(c, next, sql);
}

/* Starts a query whose parameters the caller put in c->db itself. */
void
api_query_call(struct api_ctx *c, api_step next, const char *sql)
{
	c->next = next;
	db_start_request(&c->db, c->req, sql);
}

/*
 * Checks the last query. On failure it answers for the caller: errors
 * raised by our SQL functions (SQLSTATE class AP) become their HTTP
 * status, a database that cannot be reached becomes 503, anything else
 * 500 with one ERROR log line.
 */
int
api_db_ok(struct api_ctx *c)
{
	const char	*st = c->db.sqlstate;
	struct jw	*j;
	int		 status;

	if (!db_failed(&c->db))
		return (1);

	if (st[0] == 'A' && st[1] == 'P' && isdigit((unsigned char)st[2])) {
		status = atoi(st + 2);
		if (status < 400 || status > 599)
			status = 500;
		if (status == 503)
			api_header(c, "Retry-After", "5");
		api_error(c, status, api_code_for(status), c->db.error);
		return (0);
	}

	if ((j = log_begin(LOG_LVL_ERROR, "db.error", c->rid)) != NULL) {
		jw_str(j, "path", c->req->path);
		jw_str(j, "sqlstate", st);
		jw_str(j, "error", c->db.error);
		log_end(j);
	}

	/* Class 08 is a connection failure; 57P0x an operator shutdown. */
	if ((st[0] == '0' && st[1] == '8') || strncmp(st, "57P0", 4) == 0) {
		api_header(c, "Retry-After", "5");
		api_error(c, 503, "DATABASE_UNAVAILABLE",
		    "the database is unavailable; try again shortly");
	} else {
		api_error(c, 500, "INTERNAL", "internal error");
	}
	return (0);
}

static int
api_task_entry(struct kore_task *t)
{
	struct api_task	*at = (struct api_task *)t;

	return (at->fn(at->arg));
}

/*
 * Runs fn(arg) in one of the worker's task threads; `next` runs once it
 * has returned. arg belongs to the context from now on and is freed with
 * arg_free when the request ends or another task starts.
 */
void
api_task(struct api_ctx *c, api_step next, api_work fn, void *arg,
    void (*arg_free)(void *))
{
	struct api_task	*at;

	api_task_release(c);
	if ((at = calloc(1, sizeof(*at))) == NULL) {
		if (arg_free != NULL)
			arg_free(arg);
		api_error(c, 500, "INTERNAL", "out of memory");
		return;
	}
	at->fn = fn;
	at->arg = arg;
	at->arg_free = arg_free;
	c->task = at;
	c->next = next;

	kore_task_create(&at->t, api_task_entry);
	kore_task_bind_request(&at->t, c->req);
	kore_task_run(&at->t);
}

void *
api_task_arg(struct api_ctx *c)
{
	return (c->task != NULL ? c->task->arg : NULL);
}

/*
 * Runs an outbound request that the caller set up with kore_curl_init()
 * and kore_curl_http_setup(); `next` runs once it has finished. The
 * client stays the caller's: it must call kore_curl_cleanup() on it,
 * also when the request is freed before the answer came (state_free),
 * because Kore's own clean-up of bound clients runs after onfree.
 */
void
api_curl(struct api_ctx *c, api_step next, struct kore_curl *client)
{
	c->curl = client;
	c->next = next;
	kore_curl_bind_request(client, c->req);
	outbound_run(client);
}

static void
api_task_release(struct api_ctx *c)
{
	if (c->task == NULL)
		return;
	if (!c->task->destroyed)
		kore_task_destroy(&c->task->t);
	if (c->task->arg_free != NULL)
		c->task->arg_free(c->task->arg);
	free(c->task);
	c->task = NULL;
}

static const char *
api_code_for(int status)
{
	static const struct {
		int		 status;
		const char	*code;
	} codes[] = {
		{ 400, "BAD_REQUEST" }, { 401, "UNAUTHORIZED" },
		{ 402, "INSUFFICIENT_CREDITS" }, { 403, "FORBIDDEN" },
		{ 404, "NOT_FOUND" }, { 409, "CONFLICT" },
		{ 413, "TOO_LARGE" }, { 422, "VALIDATION_FAILED" },
		{ 429, "RATE_LIMITED" }, { 503, "UNAVAILABLE" },
	};
	size_t	i;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		if (codes[i].status == status)
			return (codes[i].code);
	}
	return (status >= 500 ? "INTERNAL" : "ERROR");
}

void
api_header(struct api_ctx *c, const char *name, const char *value)
{
	http_response_header(c->req, name, value);
}

void
api_reply(struct api_ctx *c, int status, const char *type, const void *data,
    size_t len)
{
	if (c->finished)
		return;
	if (type != NULL)
		http_response_header(c->req, "Content-Type", type);
	http_response(c->req, status, data, len);
	c->status = status;
	c->finished = 1;
}

void
api_reply_json(struct api_ctx *c, int status, const char *json, size_t len)
{
	api_reply(c, status, "application/json", json, len);
}

void
api_reply_jw(struct api_ctx *c, int status, struct jw *j)
{
	if (j->err) {
		api_error(c, 500, "INTERNAL", "could not build the response");
		return;
	}
	api_reply_json(c, status, j->buf, j->len);
}

/* Answers with the JSON text in the first column of the first row. */
void
api_reply_db_json(struct api_ctx *c, int status)
{
	const char	*v;

	if ((v = db_value(&c->db, 0, 0)) == NULL) {
		api_error(c, 404, "NOT_FOUND", "not found");
		return;
	}
	api_reply_json(c, status, v, (size_t)db_length(&c->db, 0, 0));
}

/* The error envelope of DESIGN section 6. */
void
api_error(struct api_ctx *c, int status, const char *code, const char *msg)
{
	struct jw	 j;
	struct jw	*l;

	if (c->finished)
		return;

	if (status >= 500 &&
	    (l = log_begin(LOG_LVL_ERROR, "http.error", c->rid)) != NULL) {
		jw_str(l, "path", c->req->path);
		jw_int(l, "status", status);
		jw_str(l, "code", code);
		jw_str(l, "message", msg);
		log_end(l);
	}

	jw_init(&j, 256);
	jw_obj_open(&j, NULL);
	jw_obj_open(&j, "error");
	jw_str(&j, "code", code);
	jw_str(&j, "message", msg);
	jw_str(&j, "requestId", c->rid);
	jw_obj_close(&j);
	jw_obj_close(&j);
	if (j.err)
		api_reply(c, status, "text/plain", msg, strlen(msg));
	else
		api_reply_json(c, status, j.buf, j.len);
	jw_free(&j);
}

void
api_errorf(struct api_ctx *c, int status, const char *code,
    const char *fmt, ...)
{
	va_list	ap;
	char	msg[512];

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	api_error(c, status, code, msg);
}

/*
 * Reads the request body as one JSON object into c->body. Answers with
 * the right 4xx and returns -1 when it is not one.
 */
int
api_body(struct api_ctx *c)
{
	struct http_request	*req = c->req;
	const char		*type;
	json_error_t		 err;
	char			*buf;
	size_t			 len;

	if (!http_request_header(req, "content-type", &type) ||
	    strncasecmp(type, "application/json", 16) != 0 ||
	    (type[16] != '\0' && type[16] != ';' && type[16] != ' ')) {
		api_error(c, 415, "UNSUPPORTED_MEDIA_TYPE",
		    "send a JSON body with Content-Type: application/json");
		return (-1);
	}
	if (api_body_raw(c, app_cfg.api_body_max, &buf, &len) == -1)
		return (-1);

	c->body = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
	free(buf);
	if (c->body == NULL) {
		api_errorf(c, 400, "MALFORMED_JSON", "the body is not valid "
		    "JSON: %s (line %d, column %d)", err.text, err.line,
		    err.column);
		return (-1);
	}
	if (!json_is_object(c->body)) {
		api_error(c, 400, "BAD_REQUEST",
		    "the body must be a JSON object");
		return (-1);
	}
	return (0);
}

/*
 * Reads the request body as it was sent (webhook signatures cover the
 * exact bytes) into a NUL-terminated copy the caller frees. Answers 413
 * or 400 and returns -1 when it is larger than `max` or empty.
 */
int
api_body_raw(struct api_ctx *c, size_t max, char **out, size_t *outlen)
{
	struct http_request	*req = c->req;
	char			*buf;
	ssize_t			 n;
	size_t			 off, total;

	*out = NULL;
	*outlen = 0;
	total = req->http_body_length;
	if (total > max) {
		api_errorf(c, 413, "TOO_LARGE", "the body is larger than "
		    "%zu bytes", max);
		return (-1);
	}
	if (total == 0) {
		api_error(c, 400, "BAD_REQUEST", "the request body is empty");
		return (-1);
	}

	/* http_body_read() counts http_body_length down as it reads. */
	if ((buf = malloc(total + 1)) == NULL) {
		api_error(c, 500, "INTERNAL", "out of memory");
		return (-1);
	}
	off = 0;
	while (off < total) {
		n = http_body_read(req, buf + off, total - off);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	if (off != total) {
		free(buf);
		api_error(c, 400, "BAD_REQUEST", "the body could not be read");
		return (-1);
	}
	buf[off] = '\0';
	*out = buf;
	*outlen = off;
	return (0);
}

/* Refuses members the route does not know; `known` ends with NULL. */
int
api_only(struct api_ctx *c, const char **known)
{
	const char	*key;
	json_t		*val;
	int		 i, found;

	json_object_foreach(c->body, key, val) {
		found = 0;
		for (i = 0; known[i] != NULL; i++) {
			if (strcmp(key, known[i]) == 0)
				found = 1;
		}
		if (!found) {
			api_errorf(c, 422, "VALIDATION_FAILED",
			    "unknown field \"%.64s\"", key);
			return (-1);
		}
	}
	return (0);
}

/*
 * A string member of the body: at most `max` characters, no NUL and no
 * control characters. *out is NULL when an optional member is absent.
 */
int
api_str(struct api_ctx *c, const char *key, int required, size_t max,
    const char **out)
{
	json_t		*v;
	const char	*s;
	size_t		 len, i, chars;

	*out = NULL;
	v = c->body != NULL ? json_object_get(c->body, key) : NULL;
	if (v == NULL || json_is_null(v)) {
		if (!required)
			return (0);
		api_errorf(c, 422, "VALIDATION_FAILED", "%s is required", key);
		return (-1);
	}
	if (!json_is_string(v)) {
		api_errorf(c, 422, "VALIDATION_FAILED",
		    "%s must be a string", key);
		return (-1);
	}

	s = json_string_value(v);
	len = json_string_length(v);
	chars = 0;
	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			api_errorf(c, 422, "VALIDATION_FAILED",
			    "%s must not contain control characters", key);
			return (-1);
		}
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			chars++;
	}
	if (chars > max) {
		api_errorf(c, 422, "VALIDATION_FAILED",
		    "%s must be at most %zu characters", key, max);
		return (-1);
	}
	*out = s;
	return (0);
}

/* A boolean member; *out is left alone when the member is absent. */
int
api_bool(struct api_ctx *c, const char *key, int *out)
{
	json_t	*v;

	v = c->body != NULL ? json_object_get(c->body, key) : NULL;
	if (v == NULL)
		return (0);
	if (!json_is_boolean(v)) {
		api_errorf(c, 422, "VALIDATION_FAILED",
		    "%s must be true or false", key);
		return (-1);
	}
	*out = json_is_true(v);
	return (0);
}

int
api_is_uuid(const char *s)
{
	int	i;

	for (i = 0; i < API_UUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return (0);
		} else if (!isxdigit((unsigned char)s[i])) {
			return (0);
		}
	}
	return (s[API_UUID_LEN] == '\0' || s[API_UUID_LEN] == '/');
}

/*
 * The segment after `prefix` in the path, which must be a UUID; the id is
 * checked before any query is made. Answers 400 when it is malformed.
 */
int
api_path_id(struct api_ctx *c, const char *prefix, char *out)
{
	const char	*p = c->req->path;
	size_t		 plen = strlen(prefix);
	int		 i;

	if (strncmp(p, prefix, plen) != 0 || !api_is_uuid(p + plen)) {
		api_error(c, 400, "BAD_REQUEST", "the id in the path must be "
		    "a UUID such as 123e4567-e89b-12d3-a456-426614174000");
		return (-1);
	}
	for (i = 0; i < API_UUID_LEN; i++)
		out[i] = (char)tolower((unsigned char)p[plen + i]);
	out[API_UUID_LEN] = '\0';
	return (0);
}

/* The n-th segment of the path (0 is the first after the leading '/'). */
int
api_path_segment(struct api_ctx *c, int n, char *out, size_t len)
{
	const char	*p = c->req->path, *e;

	if (*p == '/')
		p++;
	while (n-- > 0) {
		if ((p = strchr(p, '/')) == NULL)
			return (-1);
		p++;
	}
	if ((e = strchr(p, '/')) == NULL)
		e = p + strlen(p);
	if ((size_t)(e - p) >= len)
		return (-1);
	memcpy(out, p, (size_t)(e - p));
	out[e - p] = '\0';
	return (0);
}

/*
 * A query-string argument, percent-decoded. Returns 1 when found, 0 when
 * absent and -1 (answered with 400) when it is malformed or too long.
 */
int
api_arg(struct api_ctx *c, const char *name, char *out, size_t len)
{
	const char	*q = c->req->query_string, *p, *end;
	size_t		 nlen = strlen(name), o;
	int		 hi, lo;

	if (q == NULL)
		return (0);

	for (p = q; *p != '\0'; p = *end ? end + 1 : end) {
		if ((end = strchr(p, '&')) == NULL)
			end = p + strlen(p);
		if ((size_t)(end - p) <= nlen || strncmp(p, name, nlen) != 0 ||
		    p[nlen] != '=')
			continue;

		o = 0;
		for (p += nlen + 1; p < end; p++) {
			if (o + 1 >= len)
				goto bad;
			if (*p == '+') {
				out[o++] = ' ';
			} else if (*p == '%') {
				if (end - p < 3 ||
				    (hi = secret_hexdigit(p[1])) == -1 ||
				    (lo = secret_hexdigit(p[2])) == -1 ||
				    (hi == 0 && lo == 0))
					goto bad;
				out[o++] = (char)(hi << 4 | lo);
				p += 2;
			} else {
				out[o++] = *p;
			}
		}
		out[o] = '\0';
		return (1);
	}
	return (0);

bad:
	api_errorf(c, 400, "BAD_REQUEST", "the query argument %s is "
	    "malformed or longer than %zu bytes", name, len - 1);
	return (-1);
}

/* `limit` between 1 and max, `def` when absent, as text for SQL. */
int
api_limit(struct api_ctx *c, int def, int max, char *out, size_t len)
{
	char		 v[16];
	long long	 n;
	int		 rc, err;

	if ((rc = api_arg(c, "limit", v, sizeof(v))) == -1)
		return (-1);
	if (rc == 0) {
		(void)snprintf(out, len, "%d", def);
		return (0);
	}
	n = kore_strtonum(v, 10, 1, max, &err);
	if (err != KORE_RESULT_OK) {
		api_errorf(c, 422, "VALIDATION_FAILED",
		    "limit must be a whole number from 1 to %d", max);
		return (-1);
	}
	(void)snprintf(out, len, "%lld", n);
	return (0);
}

/*
 * The opaque `cursor` argument a previous page returned as nextCursor.
 * Only its alphabet is checked here; the SQL parses it.
 */
int
api_cursor(struct api_ctx *c, char *out, size_t len)
{
	size_t	i;
	int	rc;

	out[0] = '\0';
	if ((rc = api_arg(c, "cursor", out, len)) <= 0)
		return (rc);
	for (i = 0; out[i] != '\0'; i++) {
		if (!isalnum((unsigned char)out[i]) && out[i] != '-' &&
		    out[i] != '_' && out[i] != '.' && out[i] != ':') {
			api_error(c, 400, "BAD_REQUEST", "the cursor is not "
			    "one this API returned");
			return (-1);
		}
	}
	if (i == 0) {
		api_error(c, 400, "BAD_REQUEST", "the cursor is empty");
		return (-1);
	}
	return (0);
}

/*
 * For lists paged by row id: an empty cursor or one made only of digits
 * (at most 18, so it fits a bigint). Answers 400 otherwise.
 */
int
api_cursor_id(struct api_ctx *c, const char *cursor)
{
	size_t	len;

	len = strlen(cursor);
	if (strspn(cursor, "0123456789") != len || len > 18) {
		api_error(c, 400, "BAD_REQUEST",
		    "the cursor is not one this API returned");
		return (-1);
	}
	return (0);
}

const char *
api_user_id(struct api_ctx *c)
{
	return (c->has_user ? c->user.id : NULL);
}

int
api_method(struct api_ctx *c)
{
	return (c->req->method);
}

/* The session token from the cookie, when there is a well-formed one. */
int
api_session_token(struct api_ctx *c, char *out, size_t len)
{
	const char	*hdr, *p;
	size_t		 n;

	if (!http_request_header(c->req, "cookie", &hdr))
		return (0);

	for (p = hdr; (p = strstr(p, SESSION_COOKIE "=")) != NULL; p++) {
		if (p != hdr && p[-1] != ' ' && p[-1] != ';')
			continue;
		p += strlen(SESSION_COOKIE "=");
		n = strcspn(p, "; ");
		if (n != SECRET_TOKEN_LEN || n >= len)
			return (0);
		memcpy(out, p, n);
		out[n] = '\0';
		return (1);
	}
	return (0);
}

/*
 * Sets or clears the session cookie. Written by hand: Kore's cookie
 * helper adds a Domain and knows nothing of SameSite.
 */
void
api_cookie_session(struct api_ctx *c, const char *token, int max_age)
{
	char	hdr[256];

	(void)snprintf(hdr, sizeof(hdr),
	    SESSION_COOKIE "=%s; Path=/; Max-Age=%d; HttpOnly;%s SameSite=Lax",
	    token != NULL ? token : "", token != NULL ? max_age : 0,
	    app_cfg.cookie_secure ? " Secure;" : "");
	http_response_header(c->req, "Set-Cookie", hdr);
}

/*
 * The client's address. Behind a reverse proxy (TRUST_PROXY=1) it is the
 * last X-Forwarded-For entry, the one our own proxy added.
 */
int
api_client_ip(struct http_request *req, char *out, size_t len)
{
	struct connection	*conn = req->owner;
	const char		*xff, *p;
	size_t			 n;

	if (app_cfg.trust_proxy &&
	    http_request_header(req, "x-forwarded-for", &xff)) {
		p = strrchr(xff, ',');
		p = p != NULL ? p + 1 : xff;
		while (*p == ' ')
			p++;
		n = strcspn(p, " ");
		if (n > 0 && n < len && n < 64) {
			memcpy(out, p, n);
			out[n] = '\0';
			return (0);
		}
	}

	out[0] = '\0';
	if (conn == NULL)
		return (-1);
	if (conn->family == AF_INET) {
		if (inet_ntop(AF_INET, &conn->addr.ipv4.sin_addr, out,
		    (socklen_t)len) == NULL)
			return (-1);
	} else if (conn->family == AF_INET6) {
		if (inet_ntop(AF_INET6, &conn->addr.ipv6.sin6_addr, out,
		    (socklen_t)len) == NULL)
			return (-1);
	} else {
		(void)kore_strlcpy(out, "unix", len);
	}
	return (0);
}
