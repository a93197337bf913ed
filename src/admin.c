/*
 * The admin API (DESIGN sections 6 and 12).
 *
 *	GET  /api/admin/users?q=&role=&disabled=&demo=&limit=&cursor=
 *	GET  /api/admin/users/{id}
 *	POST /api/admin/users/{id}/credits	{amount, reason}
 *	POST /api/admin/users/{id}/disable	{reason?}
 *	POST /api/admin/users/{id}/enable
 *	POST /api/admin/users/{id}/recalculate
 *	GET  /api/admin/endpoints?q=&status=&userId=&limit=&cursor=
 *	GET  /api/admin/payments?status=&provider=&userId=&limit=&cursor=
 *	POST /api/admin/payments/{id}/fulfil
 *	POST /api/admin/payments/{id}/reconcile
 *	GET  /api/admin/audit?actor=&action=&targetType=&targetId=&from=&to=
 *	GET  /api/admin/queue?limit=&cursor=
 *	POST /api/admin/queue/{jobId}/retry
 *	GET  /api/admin/metrics
 *	GET  /api/admin/alerts, /api/admin/alerts/history?rule=
 *
 * Kore routes the whole /api/admin tree to admin_api(), which signs the
 * caller in like any route and then runs its own small router. Doing the
 * routing here, after the session is known, is what lets every refusal
 * be audited: a signed-in account without the admin role gets 403 and an
 * "admin.denied" audit row naming the path, whatever path it tried.
 *
 * Every change is one SQL function of sql/006_ops.sql that writes its
 * own audit row (actor, target, address, request id) in the same
 * transaction. Of the reads, only the view of one account is audited:
 * lists and the dashboard are polled and would drown the log.
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "admin.h"
#include "api.h"
#include "log.h"

int	admin_api(struct http_request *);

#define ADMIN_METHODS	(API_GET | API_POST | API_PUT | API_PATCH | \
			    API_DELETE)
#define ADMIN_PAGE	50
#define ADMIN_PAGE_MAX	200
#define ADMIN_ADJUST_MAX	1000000

/* A path pattern's segments: literals, a UUID, or a whole number. */
#define SEG_UUID	":uuid"
#define SEG_NUM		":num"

struct admin_route {
	int		 method;
	const char	*pattern;
	api_step	 step;
};

static void	admin_gate(struct api_ctx *);
static void	admin_denied(struct api_ctx *);
static int	admin_match(struct api_ctx *, const char *);
static int	admin_num_segment(struct api_ctx *, int, char *, size_t);
static int	admin_uuid_arg(struct api_ctx *, const char *, char *);
static int	admin_word_arg(struct api_ctx *, const char *, char *,
		    size_t, const char *const *);
static int	admin_page(struct api_ctx *, char *, size_t, char *, size_t);
static int	admin_optional_body(struct api_ctx *, const char **);
static void	admin_reply(struct api_ctx *);

static void	admin_users_list(struct api_ctx *);
static void	admin_user_view(struct api_ctx *);
static void	admin_user_credits(struct api_ctx *);
static void	admin_user_disable(struct api_ctx *);
static void	admin_user_enable(struct api_ctx *);
static void	admin_user_set(struct api_ctx *, int);
static void	admin_user_recalculate(struct api_ctx *);
static void	admin_endpoints_list(struct api_ctx *);
static void	admin_payments_list(struct api_ctx *);
static void	admin_payment_fulfil(struct api_ctx *);
static void	admin_payment_fulfilled(struct api_ctx *);
static void	admin_payment_reconcile(struct api_ctx *);
static void	admin_audit_list(struct api_ctx *);
static void	admin_queue(struct api_ctx *);
static void	admin_job_retry(struct api_ctx *);

static const struct admin_route admin_routes[] = {
	{ API_GET,  "/api/admin/users", admin_users_list },
	{ API_GET,  "/api/admin/users/" SEG_UUID, admin_user_view },
	{ API_POST, "/api/admin/users/" SEG_UUID "/credits",
	    admin_user_credits },
	{ API_POST, "/api/admin/users/" SEG_UUID "/disable",
	    admin_user_disable },
	{ API_POST, "/api/admin/users/" SEG_UUID "/enable",
	    admin_user_enable },
	{ API_POST, "/api/admin/users/" SEG_UUID "/recalculate",
	    admin_user_recalculate },
	{ API_GET,  "/api/admin/endpoints", admin_endpoints_list },
	{ API_GET,  "/api/admin/payments", admin_payments_list },
	{ API_POST, "/api/admin/payments/" SEG_UUID "/fulfil",
	    admin_payment_fulfil },
	{ API_POST, "/api/admin/payments/" SEG_UUID "/reconcile",
	    admin_payment_reconcile },
	{ API_GET,  "/api/admin/audit", admin_audit_list },
	{ API_GET,  "/api/admin/queue", admin_queue },
	{ API_POST, "/api/admin/queue/" SEG_NUM "/retry", admin_job_retry },
	{ API_GET,  "/api/admin/metrics", metricsapi_dashboard },
	{ API_GET,  "/api/admin/alerts", alerts_admin_list },
	{ API_GET,  "/api/admin/alerts/history", alerts_admin_history },
	{ 0, NULL, NULL }
};

static const char *const admin_roles[] = { "user", "admin", NULL };
static const char *const admin_endpoint_states[] = { "ACTIVE",
    "PROCESSING", "COMPLETE", "ERROR", NULL };
static const char *const admin_payment_states[] = { "PENDING", "COMPLETED",
    "FAILED", "REFUNDED", NULL };
static const char *const admin_providers[] = { "stripe", "paypal", NULL };

int
admin_api(struct http_request *req)
{
	return (api_run(req, API_USER, ADMIN_METHODS, admin_gate));
}

/*
 * Runs once the session is known: refuses non-admins (audited), then
 * finds the route. The path is matched before the method so that a
 * known path with the wrong method gets 405, an unknown one 404.
 */
static void
admin_gate(struct api_ctx *c)
{
	const struct admin_route	*r;
	int				 path_known;

	if (strcmp(c->user.role, "admin") != 0) {
		api_query(c, admin_denied,
		    "SELECT admin_audit($1, 'admin.denied', 'route', $2, "
		    "    jsonb_build_object('method', $3::text), $4, $5)",
		    5, c->user.id, c->req->path,
		    http_method_text(c->req->method), c->rid, c->ip);
		return;
	}

	path_known = 0;
	for (r = admin_routes; r->pattern != NULL; r++) {
		if (!admin_match(c, r->pattern))
			continue;
		path_known = 1;
		if (!(c->req->method & r->method))
			continue;
		r->step(c);
		return;
	}

	if (path_known) {
		api_errorf(c, 405, "METHOD_NOT_ALLOWED",
		    "%s is not allowed on this admin route",
		    http_method_text(c->req->method));
		return;
	}
	api_error(c, 404, "NOT_FOUND", "no such admin route");
}

static void
admin_denied(struct api_ctx *c)
{
	struct jw	*j;

	/* The refusal stands even when its audit row could not be written. */
	if (db_failed(&c->db) &&
	    (j = log_begin(LOG_LVL_ERROR, "admin.denied_unaudited",
	    c->rid)) != NULL) {
		jw_str(j, "userId", c->user.id);
		jw_str(j, "path", c->req->path);
		jw_str(j, "error", c->db.error);
		log_end(j);
	}
	if ((j = log_begin(LOG_LVL_WARN, "admin.denied", c->rid)) != NULL) {
		jw_str(j, "userId", c->user.id);
		jw_str(j, "path", c->req->path);
		jw_str(j, "ip", c->ip);
		log_end(j);
	}
	api_error(c, 403, "FORBIDDEN", "this needs an admin account");
}

/*
 * Whether the request's path fits a pattern; a UUID segment is copied,
 * lower-cased, into c->id.
 */
static int
admin_match(struct api_ctx *c, const char *pattern)
{
	const char	*p = c->req->path, *q = pattern;
	size_t		 plen, qlen, i;

	for (;;) {
		if (*p != '/' || *q != '/')
			return (*p == '\0' && *q == '\0');
		p++;
		q++;
		plen = strcspn(p, "/");
		qlen = strcspn(q, "/");

		if (qlen == strlen(SEG_UUID) &&
		    strncmp(q, SEG_UUID, qlen) == 0) {
			if (plen != API_UUID_LEN || !api_is_uuid(p))
				return (0);
			for (i = 0; i < API_UUID_LEN; i++)
				c->id[i] = (char)tolower((unsigned char)p[i]);
			c->id[API_UUID_LEN] = '\0';
		} else if (qlen == strlen(SEG_NUM) &&
		    strncmp(q, SEG_NUM, qlen) == 0) {
			if (plen == 0 || plen > 18)
				return (0);
			for (i = 0; i < plen; i++) {
				if (!isdigit((unsigned char)p[i]))
					return (0);
			}
		} else if (plen != qlen || strncmp(p, q, plen) != 0) {
			return (0);
		}
		p += plen;
		q += qlen;
	}
}

static int
admin_num_segment(struct api_ctx *c, int n, char *out, size_t len)
{
	if (api_path_segment(c, n, out, len) == -1) {
		api_error(c, 400, "BAD_REQUEST", "the id in the path must be "
		    "a whole number");
		return (-1);
	}
	return (0);
}

/* An optional UUID query argument; *out is "" when absent or empty. */
static int
admin_uuid_arg(struct api_ctx *c, const char *name, char *out)
{
	char	v[64];
	int	rc, i;

	out[0] = '\0';
	if ((rc = api_arg(c, name, v, sizeof(v))) <= 0 || v[0] == '\0')
		return (rc == -1 ? -1 : 0);
	if (strlen(v) != API_UUID_LEN || !api_is_uuid(v)) {
		api_errorf(c, 422, "VALIDATION_FAILED", "%s must be a UUID",
		    name);
		return (-1);
	}
	for (i = 0; i < API_UUID_LEN; i++)
		out[i] = (char)tolower((unsigned char)v[i]);
	out[API_UUID_LEN] = '\0';
	return (1);
}

/* An optional argument that must be one of `allowed` ("" is absent). */
static int
admin_word_arg(struct api_ctx *c, const char *name, char *out, size_t len,
    const char *const *allowed)
{
	char	list[128];
	size_t	n;
	int	rc, i;

	out[0] = '\0';
	if ((rc = api_arg(c, name, out, len)) <= 0 || out[0] == '\0')
		return (rc == -1 ? -1 : 0);
	for (i = 0; allowed[i] != NULL; i++) {
		if (strcmp(out, allowed[i]) == 0)
			return (1);
	}
	n = 0;
	list[0] = '\0';
	for (i = 0; allowed[i] != NULL && n < sizeof(list); i++) {
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s",
		    i ? ", " : "", allowed[i]);
	}
	api_errorf(c, 422, "VALIDATION_FAILED", "%s must be one of %s", name,
	    list);
	return (-1);
}

/*
 * A boolean query argument: *out is "t", "f" or NULL when absent.
 * Answers 422 and returns -1 for anything but true or false.
 */
int
admin_query_bool(struct api_ctx *c, const char *name, const char **out)
{
	char	v[8];
	int	rc;

	*out = NULL;
	if ((rc = api_arg(c, name, v, sizeof(v))) <= 0)
		return (rc);
	if (strcmp(v, "true") == 0) {
		*out = "t";
	} else if (strcmp(v, "false") == 0) {
		*out = "f";
	} else {
		api_errorf(c, 422, "VALIDATION_FAILED",
		    "%s must be true or false", name);
		return (-1);
	}
	return (1);
}

/* limit and cursor of the list routes; the SQL reads the cursor. */
static int
admin_page(struct api_ctx *c, char *limit, size_t llen, char *cursor,
    size_t clen)
{
	if (api_limit(c, ADMIN_PAGE, ADMIN_PAGE_MAX, limit, llen) == -1 ||
	    api_cursor(c, cursor, clen) == -1)
		return (-1);
	return (0);
}

/* A body is optional on some actions; when present it is checked. */
static int
admin_optional_body(struct api_ctx *c, const char **known)
{
	if (c->req->http_body_length == 0)
		return (0);
	if (api_body(c) == -1 || api_only(c, known) == -1)
		return (-1);
	return (0);
}

static void
admin_reply(struct api_ctx *c)
{
	if (!api_db_ok(c))
		return;
	if (db_rows(&c->db) == 0) {
		api_error(c, 404, "NOT_FOUND", "not found");
		return;
	}
	api_reply_db_json(c, 200);
}

static void
admin_users_list(struct api_ctx *c)
{
	char		 limit[16], cursor[80], q[404], role[8], *qp;
	const char	*disabled, *demo;

	q[0] = '\0';
	if (admin_page(c, limit, sizeof(limit), cursor, sizeof(cursor)) == -1 ||
	    api_arg(c, "q", q, sizeof(q)) == -1 ||
	    admin_word_arg(c, "role", role, sizeof(role), admin_roles) == -1 ||
	    admin_query_bool(c, "disabled", &disabled) == -1 ||
	    admin_query_bool(c, "demo", &demo) == -1)
		return;
	qp = q[0] != '\0' ? q : NULL;
	if (qp != NULL && strlen(qp) > 100) {
		api_error(c, 422, "VALIDATION_FAILED",
		    "q must be at most 100 characters");
		return;
	}

	api_query(c, admin_reply,
	    "WITH page AS ("
	    "    SELECT * FROM users u "
	    "    WHERE ($1::text IS NULL "
	    "        OR u.email ILIKE '%' || ops_like_escape($1) || '%' "
	    "        OR u.name ILIKE '%' || ops_like_escape($1) || '%' "
	    "        OR u.id::text = lower($1)) "
	    "    AND ($2::text IS NULL OR u.role = $2) "
	    "    AND ($3::boolean IS NULL "
	    "        OR (u.disabled_at IS NOT NULL) = $3::boolean) "
	    "    AND ($4::boolean IS NULL OR u.is_demo = $4::boolean) "
	    "    AND ($5::text IS NULL OR (ops_micros(u.created_at), u.id) < "
	    "        (ops_cursor_micros($5), ops_cursor_id($5))) "
	    "    ORDER BY u.created_at DESC, u.id DESC LIMIT $6::int + 1), "
	    "shown AS (SELECT * FROM page "
	    "    ORDER BY created_at DESC, id DESC LIMIT $6::int) "
	    "SELECT json_build_object("
	    "    'items', coalesce((SELECT json_agg(admin_user_json(s) "
	    "        ORDER BY s.created_at DESC, s.id DESC) FROM shown s), "
	    "        '[]'::json), "
	    "    'nextCursor', CASE WHEN (SELECT count(*) FROM page) > "
	    "        $6::int THEN (SELECT ops_cursor(created_at, id) "
	    "        FROM shown ORDER BY created_at, id LIMIT 1) END)",
	    6, qp, role[0] ? role : NULL, disabled, demo,
	    cursor[0] ? cursor : NULL, limit);
}

static void
admin_user_view(struct api_ctx *c)
{
	api_query(c, admin_reply,
	    "SELECT admin_user_detail($1, $2, $3, $4)", 4, c->user.id, c->id,
	    c->rid, c->ip);
}

static const char *admin_credit_fields[] = { "amount", "reason", NULL };

static void
admin_user_credits(struct api_ctx *c)
{
	json_t		*v;
	const char	*reason;
	json_int_t	 amount;
	char		 num[32];

	if (api_body(c) == -1 || api_only(c, admin_credit_fields) == -1 ||
	    api_str(c, "reason", 1, 200, &reason) == -1)
		return;
	v = json_object_get(c->body, "amount");
	if (v == NULL || !json_is_integer(v)) {
		api_error(c, 422, "VALIDATION_FAILED",
		    "amount must be a whole number of credits");
		return;
	}
	amount = json_integer_value(v);
	if (amount == 0 || amount > ADMIN_ADJUST_MAX ||
	    amount < -ADMIN_ADJUST_MAX) {
		api_errorf(c, 422, "VALIDATION_FAILED", "amount must not be 0 "
		    "and at most %d either way", ADMIN_ADJUST_MAX);
		return;
	}
	if (strlen(reason) < 3) {
		api_error(c, 422, "VALIDATION_FAILED",
		    "reason must say why, in at least 3 characters");
		return;
	}
	(void)snprintf(num, sizeof(num), "%lld", (long long)amount);

	api_query(c, admin_reply,
	    "SELECT admin_adjust_credits($1, $2, $3::int, $4, $5, $6)", 6,
	    c->user.id, c->id, num, reason, c->rid, c->ip);
}

static const char *admin_reason_fields[] = { "reason", NULL };

static void
admin_user_disable(struct api_ctx *c)
{
	admin_user_set(c, 1);
}

static void
admin_user_enable(struct api_ctx *c)
{
	admin_user_set(c, 0);
}

static void
admin_user_set(struct api_ctx *c, int disable)
{
	const char	*reason;

	reason = NULL;
	if (admin_optional_body(c, admin_reason_fields) == -1 ||
	    (c->body != NULL && api_str(c, "reason", 0, 200, &reason) == -1))
		return;

	api_query(c, admin_reply,
	    "SELECT admin_set_disabled($1, $2, $3::boolean, $4, $5, $6)", 6,
	    c->user.id, c->id, disable ? "t" : "f", reason, c->rid, c->ip);
}

static void
admin_user_recalculate(struct api_ctx *c)
{
	api_query(c, admin_reply,
	    "SELECT admin_recalculate($1, $2, $3, $4)", 4, c->user.id, c->id,
	    c->rid, c->ip);
}

static void
admin_endpoints_list(struct api_ctx *c)
{
	char	limit[16], cursor[80], q[404], status[16];
	char	owner[API_UUID_LEN + 1];

	q[0] = '\0';
	if (admin_page(c, limit, sizeof(limit), cursor, sizeof(cursor)) == -1 ||
	    api_arg(c, "q", q, sizeof(q)) == -1 ||
	    admin_word_arg(c, "status", status, sizeof(status),
	    admin_endpoint_states) == -1 ||
	    admin_uuid_arg(c, "userId", owner) == -1)
		return;
	if (strlen(q) > 100) {
		api_error(c, 422, "VALIDATION_FAILED",
		    "q must be at most 100 characters");
		return;
	}

	api_query(c, admin_reply,
	    "WITH page AS ("
	    "    SELECT e.id, e.name, e.destination_url, e.status, "
	    "        e.call_count, e.created_at, e.last_call_at, "
	    "        e.user_id, u.email "
	    "    FROM endpoints e JOIN users u ON u.id = e.user_id "
	    "    WHERE ($1::text IS NULL "
	    "        OR e.name ILIKE '%' || ops_like_escape($1) || '%' "
	    "        OR e.destination_url ILIKE '%' || ops_like_escape($1) "
	    "            || '%' "
	    "        OR u.email ILIKE '%' || ops_like_escape($1) || '%') "
	    "    AND ($2::text IS NULL OR e.status = $2) "
	    "    AND ($3::uuid IS NULL OR e.user_id = $3::uuid) "
	    "    AND ($4::text IS NULL OR (ops_micros(e.created_at), e.id) < "
	    "        (ops_cursor_micros($4), ops_cursor_id($4))) "
	    "    ORDER BY e.created_at DESC, e.id DESC LIMIT $5::int + 1), "
	    "shown AS (SELECT * FROM page "
	    "    ORDER BY created_at DESC, id DESC LIMIT $5::int) "
	    "SELECT json_build_object("
	    "    'items', coalesce((SELECT json_agg(json_build_object("
	    "        'id', id, 'name', name, 'destinationUrl', "
	    "        destination_url, 'status', status, "
	    "        'callCount', call_count, 'createdAt', created_at, "
	    "        'lastCallAt', last_call_at, "
	    "        'owner', json_build_object('id', user_id, "
	    "            'email', email)) "
	    "        ORDER BY created_at DESC, id DESC) FROM shown), "
	    "        '[]'::json), "
	    "    'nextCursor', CASE WHEN (SELECT count(*) FROM page) > "
	    "        $5::int THEN (SELECT ops_cursor(created_at, id) "
	    "        FROM shown ORDER BY created_at, id LIMIT 1) END)",
	    5, q[0] ? q : NULL, status[0] ? status : NULL,
	    owner[0] ? owner : NULL, cursor[0] ? cursor : NULL, limit);
}

static void
admin_payments_list(struct api_ctx *c)
{
	char	limit[16], cursor[80], status[16], provider[16];
	char	owner[API_UUID_LEN + 1];

	if (admin_page(c, limit, sizeof(limit), cursor, sizeof(cursor)) == -1 ||
	    admin_word_arg(c, "status", status, sizeof(status),
	    admin_payment_states) == -1 ||
	    admin_word_arg(c, "provider", provider, sizeof(provider),
	    admin_providers) == -1 ||
	    admin_uuid_arg(c, "userId", owner) == -1)
		return;

	api_query(c, admin_reply,
	    "WITH page AS ("
	    "    SELECT p.*, u.email "
	    "    FROM payments p JOIN users u ON u.id = p.user_id "
	    "    WHERE ($1::text IS NULL OR p.status = $1) "
	    "    AND ($2::text IS NULL OR p.provider = $2) "
	    "    AND ($3::uuid IS NULL OR p.user_id = $3::uuid) "
	    "    AND ($4::text IS NULL OR (ops_micros(p.created_at), p.id) < "
	    "        (ops_cursor_micros($4), ops_cursor_id($4))) "
	    "    ORDER BY p.created_at DESC, p.id DESC LIMIT $5::int + 1), "
	    "shown AS (SELECT * FROM page "
	    "    ORDER BY created_at DESC, id DESC LIMIT $5::int) "
	    "SELECT json_build_object("
	    "    'items', coalesce((SELECT json_agg("
	    "        json_build_object('id', s.id, 'provider', s.provider, "
	    "        'packageId', s.package_id, 'status', s.status, "
	    "        'credits', s.credits, 'amountCents', s.amount_cents, "
	    "        'currency', s.currency, "
	    "        'failureReason', s.failure_reason, "
	    "        'refundedCents', s.refunded_cents, "
	    "        'providerRef', s.provider_ref, "
	    "        'completedBy', s.completed_by, "
	    "        'reconciledAt', s.reconciled_at, "
	    "        'createdAt', s.created_at, "
	    "        'completedAt', s.completed_at, "
	    "        'user', json_build_object('id', s.user_id, "
	    "            'email', s.email)) "
	    "        ORDER BY s.created_at DESC, s.id DESC) FROM shown s), "
	    "        '[]'::json), "
	    "    'nextCursor', CASE WHEN (SELECT count(*) FROM page) > "
	    "        $5::int THEN (SELECT ops_cursor(created_at, id) "
	    "        FROM shown ORDER BY created_at, id LIMIT 1) END)",
	    5, status[0] ? status : NULL, provider[0] ? provider : NULL,
	    owner[0] ? owner : NULL, cursor[0] ? cursor : NULL, limit);
}

static void
admin_payment_fulfil(struct api_ctx *c)
{
	api_query(c, admin_payment_fulfilled,
	    "SELECT o_applied, o_status, o_body "
	    "FROM admin_payment_fulfil($1, $2, $3, $4)", 4, c->user.id, c->id,
	    c->rid, c->ip);
}

/* Credits are added once: a second try is a conflict, not a success. */
static void
admin_payment_fulfilled(struct api_ctx *c)
{
	struct jw	*j;

	if (!api_db_ok(c))
		return;
	if (strcmp(db_value(&c->db, 0, 0), "t") != 0) {
		api_errorf(c, 409, "ALREADY_COMPLETED", "this payment is %s; "
		    "its credits were already added and nothing changed",
		    db_value(&c->db, 0, 1));
		return;
	}
	if ((j = log_begin(LOG_LVL_INFO, "admin.payment_fulfil", c->rid)) !=
	    NULL) {
		jw_str(j, "adminId", c->user.id);
		jw_str(j, "paymentId", c->id);
		log_end(j);
	}
	api_reply_json(c, 200, db_value(&c->db, 0, 2),
	    (size_t)db_length(&c->db, 0, 2));
}

static void
admin_payment_reconcile(struct api_ctx *c)
{
	api_query(c, admin_reply,
	    "SELECT admin_payment_reconcile($1, $2, $3, $4)", 4, c->user.id,
	    c->id, c->rid, c->ip);
}

/*
 * The audit log, newest first, paged by id. action matches exactly, or
 * as a prefix when it ends with '*' ("admin.*").
 */
static void
admin_audit_list(struct api_ctx *c)
{
	char	limit[16], cursor[32], action[72], ttype[40], tid[132];
	char	from[40], to[40], actor[API_UUID_LEN + 1], *star;
	size_t	i;
	int	prefix;

	action[0] = ttype[0] = tid[0] = from[0] = to[0] = '\0';
	if (admin_page(c, limit, sizeof(limit), cursor, sizeof(cursor)) == -1 ||
	    admin_uuid_arg(c, "actor", actor) == -1 ||
	    api_arg(c, "action", action, sizeof(action)) == -1 ||
	    api_arg(c, "targetType", ttype, sizeof(ttype)) == -1 ||
	    api_arg(c, "targetId", tid, sizeof(tid)) == -1 ||
	    api_arg(c, "from", from, sizeof(from)) == -1 ||
	    api_arg(c, "to", to, sizeof(to)) == -1 ||
	    api_cursor_id(c, cursor) == -1)
		return;

	/* Action names are dotted words; '*' only at the end. */
	prefix = 0;
	if ((star = strchr(action, '*')) != NULL) {
		if (star[1] != '\0') {
			api_error(c, 422, "VALIDATION_FAILED",
			    "action may only end with *");
			return;
		}
		*star = '\0';
		prefix = 1;
	}
	for (i = 0; action[i] != '\0'; i++) {
		if (!islower((unsigned char)action[i]) &&
		    !isdigit((unsigned char)action[i]) &&
		    action[i] != '.' && action[i] != '_') {
			api_error(c, 422, "VALIDATION_FAILED", "action must be "
			    "an action name such as admin.user_disable, or a "
			    "prefix ending with *");
			return;
		}
	}
	for (i = 0; ttype[i] != '\0'; i++) {
		if (!islower((unsigned char)ttype[i]) && ttype[i] != '_') {
			api_error(c, 422, "VALIDATION_FAILED",
			    "targetType must be a word such as user");
			return;
		}
	}

	api_query(c, admin_reply,
	    "WITH args AS (SELECT ops_time_arg($6, 'from') AS t0, "
	    "    ops_time_arg($7, 'to') AS t1), "
	    "page AS ("
	    "    SELECT a.* FROM audit_logs a, args "
	    "    WHERE ($1::uuid IS NULL OR a.actor_id = $1::uuid) "
	    "    AND ($2::text IS NULL OR (CASE WHEN $3::boolean "
	    "        THEN a.action LIKE ops_like_escape($2) || '%' "
	    "        ELSE a.action = $2 END)) "
	    "    AND ($4::text IS NULL OR a.target_type = $4) "
	    "    AND ($5::text IS NULL OR a.target_id = $5) "
	    "    AND (args.t0 IS NULL OR a.created_at >= args.t0) "
	    "    AND (args.t1 IS NULL OR a.created_at < args.t1) "
	    "    AND ($8::bigint IS NULL OR a.id < $8::bigint) "
	    "    ORDER BY a.id DESC LIMIT $9::int + 1), "
	    "shown AS (SELECT * FROM page ORDER BY id DESC LIMIT $9::int) "
	    "SELECT json_build_object("
	    "    'items', coalesce((SELECT json_agg(json_build_object("
	    "        'id', s.id, 'actorId', s.actor_id, "
	    "        'actorEmail', u.email, 'action', s.action, "
	    "        'targetType', s.target_type, 'targetId', s.target_id, "
	    "        'ip', s.ip, 'requestId', s.request_id, "
	    "        'details', s.details, 'createdAt', s.created_at) "
	    "        ORDER BY s.id DESC) "
	    "        FROM shown s LEFT JOIN users u ON u.id = s.actor_id), "
	    "        '[]'::json), "
	    "    'nextCursor', CASE WHEN (SELECT count(*) FROM page) > "
	    "        $9::int THEN (SELECT min(id) FROM shown)::text END)",
	    9, actor[0] ? actor : NULL,
	    action[0] || prefix ? action : NULL, prefix ? "t" : "f",
	    ttype[0] ? ttype : NULL, tid[0] ? tid : NULL,
	    from[0] ? from : NULL, to[0] ? to : NULL,
	    cursor[0] ? cursor : NULL, limit);
}

/* Counts by state and queue, and the failed jobs with their errors. */
static void
admin_queue(struct api_ctx *c)
{
	char	limit[16], cursor[32];

	if (admin_page(c, limit, sizeof(limit), cursor, sizeof(cursor)) == -1 ||
	    api_cursor_id(c, cursor) == -1)
		return;

	api_query(c, admin_reply,
	    "WITH page AS ("
	    "    SELECT id, queue, dedupe_key, payload, attempts, "
	    "        max_attempts, last_error, created_at, finished_at "
	    "    FROM jobs WHERE state = 'failed' "
	    "    AND ($1::bigint IS NULL OR id < $1::bigint) "
	    "    ORDER BY id DESC LIMIT $2::int + 1), "
	    "shown AS (SELECT * FROM page ORDER BY id DESC LIMIT $2::int), "
	    "states AS (SELECT s FROM unnest(ARRAY['waiting', 'active', "
	    "    'delayed', 'completed', 'failed']) s) "
	    "SELECT json_build_object("
	    "    'counts', (SELECT json_object_agg(s, (SELECT count(*) "
	    "        FROM jobs WHERE state = s)) FROM states), "
	    "    'byQueue', coalesce((SELECT json_object_agg(queue, n) FROM "
	    "        (SELECT queue, json_object_agg(state, c) AS n FROM "
	    "        (SELECT queue, state, count(*) AS c FROM jobs "
	    "        GROUP BY 1, 2) x GROUP BY queue) y), '{}'::json), "
	    "    'depth', (SELECT count(*) FROM jobs "
	    "        WHERE state IN ('waiting', 'delayed')), "
	    "    'oldestWaitingSeconds', (SELECT coalesce(extract(epoch FROM "
	    "        now() - min(run_at)), 0)::int FROM jobs "
	    "        WHERE state = 'waiting' AND run_at <= now()), "
	    "    'failed', coalesce((SELECT json_agg(json_build_object("
	    "        'id', id, 'queue', queue, 'dedupeKey', dedupe_key, "
	    "        'payload', payload, 'attempts', attempts, "
	    "        'maxAttempts', max_attempts, 'lastError', last_error, "
	    "        'createdAt', created_at, 'finishedAt', finished_at) "
	    "        ORDER BY id DESC) FROM shown), '[]'::json), "
	    "    'nextCursor', CASE WHEN (SELECT count(*) FROM page) > "
	    "        $2::int THEN (SELECT min(id) FROM shown)::text END)",
	    2, cursor[0] ? cursor : NULL, limit);
}

static void
admin_job_retry(struct api_ctx *c)
{
	char	id[24];

	if (admin_num_segment(c, 3, id, sizeof(id)) == -1)
		return;
	api_query(c, admin_reply,
	    "SELECT admin_job_retry($1, $2::bigint, $3, $4)", 4, c->user.id,
	    id, c->rid, c->ip);
}
