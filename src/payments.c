/*
 * Buying credits: the package list, checkout, the buyer's payments, and
 * what Stripe and PayPal share (outbound calls, the end of a checkout,
 * the answer to a webhook, the sweep of abandoned payments).
 *
 * A checkout writes a PENDING payment first (payments_begin), then asks
 * the provider for a hosted page with Kore's asynchronous curl client,
 * then records the provider's session or order (payments_started) and
 * sends the buyer there. When the provider fails or does not answer in
 * PAYMENT_TIMEOUT_SECONDS, the payment becomes FAILED with the reason and
 * the buyer gets a 502 or 504 that says so. Credits are only ever granted
 * by a verified provider event, PayPal's capture answer or an admin, in
 * the SQL functions of sql/005_payments.sql, exactly once per payment.
 *
 * A payment nobody finishes stays PENDING until the sweep, which every
 * worker runs every PAYMENT_SWEEP_SECONDS, fails it once it is older than
 * PAYMENT_PENDING_MAX_SECONDS (a day by default).
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/curl.h>

#include "api.h"
#include "app.h"
#include "db.h"
#include "log.h"
#include "outbound.h"
#include "payments.h"

int	payments_packages(struct http_request *);
int	payments_checkout(struct http_request *);
int	payments_list(struct http_request *);
int	payments_get(struct http_request *);

static void	payments_req_free(void *);
static void	payments_abandoned(const char *, const char *);
static void	payments_abandoned_done(struct db_call *, void *);
static void	payments_packages_start(struct api_ctx *);
static void	payments_checkout_start(struct api_ctx *);
static void	payments_checkout_begun(struct api_ctx *);
static void	payments_checkout_recorded(struct api_ctx *);
static void	payments_failed_recorded(struct api_ctx *);
static void	payments_list_start(struct api_ctx *);
static void	payments_get_start(struct api_ctx *);
static void	payments_get_done(struct api_ctx *);
static void	payments_reply(struct api_ctx *);
static void	payments_sweep(void *, u_int64_t);
static void	payments_swept(struct db_call *, void *);

static const char *payments_checkout_fields[] = {
	"packageId", "provider", NULL
};

static struct db_call	payments_sweep_db;
static int		payments_sweep_busy;

void
payments_init(void)
{
	payments_sweep_busy = 0;
	kore_timer_add(payments_sweep,
	    (u_int64_t)app_cfg.payment_sweep_interval * 1000, NULL, 0);
}

/* The route's state, made on first use; NULL (answered) when out of memory. */
struct payments_req *
payments_req(struct api_ctx *c)
{
	struct payments_req	*st;

	if (c->state != NULL)
		return (c->state);
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		api_error(c, 500, "INTERNAL", "out of memory");
		return (NULL);
	}
	c->state = st;
	c->state_free = payments_req_free;
	return (st);
}

static void
payments_req_free(void *arg)
{
	struct payments_req	*st = arg;

	/* A request freed mid-call: Kore's own clean-up comes too late. */
	if (st->call.live)
		kore_curl_cleanup(&st->call.curl);
	if (st->open)
		payments_abandoned(st->payment_id, st->provider);
	free(st->call.body);
	free(st->redirect);
	free(st->raw);
	free(st);
}

/*
 * Starts one outbound call; `next` runs once it has ended and must call
 * payments_call_end() first. `hdrs` holds name and value pairs and ends
 * with NULL. Every call is cut off after PAYMENT_TIMEOUT_SECONDS.
 */
void
payments_call(struct api_ctx *c, api_step next, int method, const char *url,
    const char *body, size_t len, const char **hdrs)
{
	struct payments_req	*st = c->state;
	struct payments_call	*call = &st->call;
	long			 timeout;
	int			 i;

	if (call->live) {
		kore_curl_cleanup(&call->curl);
		call->live = 0;
	}
	free(call->body);
	call->body = NULL;
	call->len = 0;
	call->status = 0;
	call->error[0] = '\0';

	if (!kore_curl_init(&call->curl, url, KORE_CURL_ASYNC)) {
		api_error(c, 500, "INTERNAL", "could not start a request");
		return;
	}
	call->live = 1;
	outbound_prepare(&call->curl);

	timeout = app_cfg.payment_timeout;
	curl_easy_setopt(call->curl.handle, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(call->curl.handle, CURLOPT_CONNECTTIMEOUT,
	    timeout < 10 ? timeout : 10L);

	kore_curl_http_setup(&call->curl, method, body, len);
	for (i = 0; hdrs != NULL && hdrs[i] != NULL && hdrs[i + 1] != NULL;
	    i += 2)
		kore_curl_http_set_header(&call->curl, hdrs[i], hdrs[i + 1]);

	api_curl(c, next, &call->curl);
}

/* Takes what the call left: its outcome, status and a copy of the body. */
void
payments_call_end(struct payments_req *st)
{
	struct payments_call	*call = &st->call;
	const u_int8_t		*data;
	size_t			 len;

	if (!call->live)
		return;

	if (call->curl.result == CURLE_OPERATION_TIMEDOUT) {
		call->outcome = PAYMENTS_CALL_TIMEOUT;
	} else if (call->curl.result != CURLE_OK) {
		call->outcome = PAYMENTS_CALL_FAILED;
		(void)kore_strlcpy(call->error, kore_curl_strerror(&call->curl),
		    sizeof(call->error));
	} else {
		call->outcome = PAYMENTS_CALL_ANSWERED;
		call->status = call->curl.http.status;
		kore_curl_response_as_bytes(&call->curl, &data, &len);
		if ((call->body = malloc(len + 1)) != NULL) {
			if (len > 0)
				memcpy(call->body, data, len);
			call->body[len] = '\0';
			call->len = len;
		}
	}

	kore_curl_cleanup(&call->curl);
	call->live = 0;
}

/* For logs and failure reasons: what became of the call, in words. */
const char *
payments_outcome_text(struct payments_call *call)
{
	switch (call->outcome) {
	case PAYMENTS_CALL_TIMEOUT:
		return ("no answer in time");
	case PAYMENTS_CALL_FAILED:
		return (call->error[0] != '\0' ? call->error : "no answer");
	default:
		return ("answered");
	}
}

/*
 * A URL a provider gave us to send the buyer to: http(s), printable
 * ASCII without quotes or spaces, of a sane length.
 */
int
payments_safe_url(const char *url)
{
	size_t	i;

	if (strncmp(url, "https://", 8) != 0 &&
	    strncmp(url, "http://", 7) != 0)
		return (0);
	for (i = 0; url[i] != '\0'; i++) {
		if (i >= 2048 || url[i] <= 0x20 || url[i] >= 0x7f ||
		    url[i] == '"' || url[i] == '\\' || url[i] == '<' ||
		    url[i] == '>')
			return (0);
	}
	return (1);
}

int
payments_packages(struct http_request *req)
{
	return (api_run(req, API_PUBLIC, API_GET, payments_packages_start));
}

static void
payments_packages_start(struct api_ctx *c)
{
	api_query(c, payments_reply,
	    "SELECT json_build_object("
	    "    'packages', coalesce((SELECT json_agg(json_build_object("
	    "        'id', id, 'credits', credits, "
	    "        'amountCents', amount_cents, 'currency', currency, "
	    "        'label', label) ORDER BY position, id) "
	    "        FROM credit_packages WHERE active), '[]'::json), "
	    "    'providers', json_build_object('stripe', $1::boolean, "
	    "        'paypal', $2::boolean))", 2,
	    stripe_available() ? "true" : "false",
	    paypal_available() ? "true" : "false");
}

int
payments_checkout(struct http_request *req)
{
	return (api_run(req, API_USER, API_POST, payments_checkout_start));
}

static void
payments_checkout_start(struct api_ctx *c)
{
	struct payments_req	*st;
	const char		*package, *provider, *name;
	int			 ready;

	if (api_body(c) == -1 || api_only(c, payments_checkout_fields) == -1 ||
	    api_str(c, "packageId", 1, 32, &package) == -1 ||
	    api_str(c, "provider", 1, 16, &provider) == -1)
		return;

	if (strcmp(provider, "stripe") == 0) {
		ready = stripe_available();
		name = "Stripe";
	} else if (strcmp(provider, "paypal") == 0) {
		ready = paypal_available();
		name = "PayPal";
	} else {
		api_error(c, 422, "VALIDATION_FAILED",
		    "provider must be \"stripe\" or \"paypal\"");
		return;
	}

	if (c->user.is_demo) {
		api_error(c, 403, "DEMO_ACCOUNT", "demo accounts cannot buy "
		    "credits; register an account of your own to buy them");
		return;
	}
	if (!ready) {
		api_header(c, "Retry-After", "3600");
		api_errorf(c, 503, "PROVIDER_UNAVAILABLE", "payments through "
		    "%s are not set up on this server; choose another way to "
		    "pay", name);
		return;
	}

	if ((st = payments_req(c)) == NULL)
		return;
	(void)kore_strlcpy(st->provider, provider, sizeof(st->provider));
	api_query(c, payments_checkout_begun,
	    "SELECT * FROM payments_begin($1, $2, $3, $4, $5)", 5,
	    api_user_id(c), package, provider, c->rid, c->ip);
}

static void
payments_checkout_begun(struct api_ctx *c)
{
	struct payments_req	*st = c->state;
	struct jw		*j;

	/* Too many unfinished checkouts: say when trying again makes sense. */
	if (db_failed(&c->db) && strcmp(c->db.sqlstate, "AP429") == 0)
		api_header(c, "Retry-After", "600");
	if (!api_db_ok(c))
		return;
	if (db_rows(&c->db) != 1 || db_isnull(&c->db, 0, 0)) {
		api_error(c, 500, "INTERNAL", "the payment was not recorded");
		return;
	}

	(void)kore_strlcpy(st->payment_id, db_value(&c->db, 0, 0),
	    sizeof(st->payment_id));
	st->credits = (int)db_int(&c->db, 0, 1);
	st->amount_cents = (int)db_int(&c->db, 0, 2);
	(void)kore_strlcpy(st->currency, db_value(&c->db, 0, 3),
	    sizeof(st->currency));
	(void)kore_strlcpy(st->label, db_value(&c->db, 0, 4),
	    sizeof(st->label));
	st->open = 1;

	if ((j = log_begin(LOG_LVL_INFO, "payment.checkout", c->rid)) != NULL) {
		jw_str(j, "userId", api_user_id(c));
		jw_str(j, "paymentId", st->payment_id);
		jw_str(j, "provider", st->provider);
		jw_int(j, "amountCents", st->amount_cents);
		jw_str(j, "currency", st->currency);
		jw_int(j, "credits", st->credits);
		log_end(j);
	}

	if (strcmp(st->provider, "stripe") == 0)
		stripe_checkout_start(c);
	else
		paypal_checkout_start(c);
}

/* The provider made its page: remember its id and send the buyer. */
void
payments_checkout_created(struct api_ctx *c, const char *ref,
    const char *redirect)
{
	struct payments_req	*st = c->state;

	(void)kore_strlcpy(st->ref, ref, sizeof(st->ref));
	if ((st->redirect = strdup(redirect)) == NULL) {
		api_error(c, 500, "INTERNAL", "out of memory");
		return;
	}
	api_query(c, payments_checkout_recorded,
	    "SELECT payments_started($1, $2, $3, $4)", 4, st->payment_id,
	    st->ref, c->rid, c->ip);
}

static void
payments_checkout_recorded(struct api_ctx *c)
{
	struct payments_req	*st = c->state;
	struct jw		*j, out;

	if (!api_db_ok(c))
		return;
	st->open = 0;

	if ((j = log_begin(LOG_LVL_INFO, "payment.redirect", c->rid)) != NULL) {
		jw_str(j, "userId", api_user_id(c));
		jw_str(j, "paymentId", st->payment_id);
		jw_str(j, "provider", st->provider);
		jw_str(j, "providerRef", st->ref);
		log_end(j);
	}

	jw_init(&out, 512);
	jw_obj_open(&out, NULL);
	jw_str(&out, "paymentId", st->payment_id);
	jw_str(&out, "provider", st->provider);
	jw_str(&out, "redirectUrl", st->redirect);
	jw_obj_close(&out);
	api_reply_jw(c, 201, &out);
	jw_free(&out);
}

/*
 * The provider failed us: the payment becomes FAILED with `reason` (for
 * the buyer's history and the operator; never a secret), then the buyer
 * gets `status` with `msg`.
 */
void
payments_failed(struct api_ctx *c, const char *source, int status,
    const char *code, const char *msg, const char *reason)
{
	struct payments_req	*st = c->state;
	struct jw		*j;

	st->open = 0;
	st->err_status = status;
	(void)kore_strlcpy(st->err_code, code, sizeof(st->err_code));
	(void)kore_strlcpy(st->err_msg, msg, sizeof(st->err_msg));

	if ((j = log_begin(LOG_LVL_WARN, "payment.failed", c->rid)) != NULL) {
		jw_str(j, "userId", api_user_id(c));
		jw_str(j, "paymentId", st->payment_id);
		jw_str(j, "provider", st->provider);
		jw_str(j, "source", source);
		jw_str(j, "reason", reason);
		log_end(j);
	}

	api_query(c, payments_failed_recorded,
	    "SELECT payments_mark_failed($1, $2, $3, $4, $5)", 5,
	    st->payment_id, reason, source, c->rid, c->ip);
}

void
payments_checkout_failed(struct api_ctx *c, int status, const char *code,
    const char *msg, const char *reason)
{
	payments_failed(c, "checkout", status, code, msg, reason);
}

static void
payments_failed_recorded(struct api_ctx *c)
{
	struct payments_req	*st = c->state;
	struct jw		*j;

	/* The provider's failure is the answer; the sweep ends the rest. */
	if (db_failed(&c->db) &&
	    (j = log_begin(LOG_LVL_ERROR, "payment.fail_not_recorded",
	    c->rid)) != NULL) {
		jw_str(j, "paymentId", st->payment_id);
		jw_str(j, "error", c->db.error);
		log_end(j);
	}
	api_error(c, st->err_status, st->err_code, st->err_msg);
}

/*
 * After payments_stripe_event() or payments_paypal_event(): one log line
 * for the event (and one for a payment that changed state), then 200 so
 * the provider stops delivering it.
 */
void
payments_event_applied(struct api_ctx *c)
{
	struct payments_req	*st = c->state;
	const char		*result;
	struct jw		*j, out;
	int			 level;

	if (!api_db_ok(c))
		return;
	if (db_rows(&c->db) != 1 || (result = db_value(&c->db, 0, 0)) == NULL) {
		api_error(c, 500, "INTERNAL", "the event was not applied");
		return;
	}

	level = LOG_LVL_INFO;
	if (strcmp(result, "mismatch") == 0 || strcmp(result, "unmatched") == 0)
		level = LOG_LVL_WARN;
	if ((j = log_begin(level, "payment.webhook", c->rid)) != NULL) {
		jw_str(j, "provider", st->provider);
		jw_str(j, "eventId", db_value(&c->db, 0, 1));
		jw_str(j, "type", db_value(&c->db, 0, 2));
		jw_str(j, "result", result);
		jw_str(j, "paymentId", db_value(&c->db, 0, 3));
		jw_str(j, "userId", db_value(&c->db, 0, 4));
		jw_str(j, "status", db_value(&c->db, 0, 5));
		jw_str(j, "note", db_value(&c->db, 0, 6));
		log_end(j);
	}

	payments_result_log(c, result, db_value(&c->db, 0, 3),
	    db_value(&c->db, 0, 4), "webhook");

	jw_init(&out, 64);
	jw_obj_open(&out, NULL);
	jw_bool(&out, "received", 1);
	jw_str(&out, "result", result);
	jw_obj_close(&out);
	api_reply_jw(c, 200, &out);
	jw_free(&out);
}

/*
 * The line an operator watches for, whether the change came from a
 * webhook or from PayPal's capture answer: a payment completed, failed
 * or was refunded. Any other result (already done, still awaiting the
 * buyer, unmatched) changed no payment and gets no line here.
 */
void
payments_result_log(struct api_ctx *c, const char *result,
    const char *payment_id, const char *user_id, const char *source)
{
	struct payments_req	*st = c->state;
	struct jw		*j;
	const char		*event;

	if (result == NULL)
		return;
	if (strcmp(result, "completed") == 0)
		event = "payment.completed";
	else if (strcmp(result, "failed") == 0)
		event = "payment.failed";
	else if (strcmp(result, "refunded") == 0)
		event = "payment.refunded";
	else
		return;

	if ((j = log_begin(LOG_LVL_INFO, event, c->rid)) == NULL)
		return;
	jw_str(j, "provider", st->provider);
	jw_str(j, "paymentId", payment_id);
	jw_str(j, "userId", user_id);
	jw_str(j, "source", source);
	log_end(j);
}

/*
 * Whether a webhook body is one JSON object. A body with a NUL byte in
 * it is refused too: the SQL that stores the event takes it as text and
 * would never see what follows the NUL.
 */
int
payments_webhook_object(const char *raw, size_t len)
{
	json_t	*doc;
	int	 object;

	doc = NULL;
	if (strlen(raw) == len)
		doc = json_loadb(raw, len, 0, NULL);
	object = json_is_object(doc);
	json_decref(doc);
	return (object);
}

/*
 * A webhook delivery we cannot believe: one warning, with the address it
 * came from. Nothing is stored; the provider's code answers it with 400
 * in its own words.
 */
void
payments_webhook_refused(struct api_ctx *c, const char *why)
{
	struct payments_req	*st = c->state;
	struct jw		*j;

	if ((j = log_begin(LOG_LVL_WARN, "payment.webhook_refused",
	    c->rid)) != NULL) {
		jw_str(j, "provider", st->provider);
		jw_str(j, "reason", why);
		jw_str(j, "ip", c->ip);
		log_end(j);
	}
}

/*
 * The buyer went away before the checkout was answered: nobody has the
 * provider's page, so nobody can pay it. The payment fails now rather
 * than at the sweep. Runs from the request's clean-up, so the query is
 * bound to a callback of its own.
 */
static void
payments_abandoned(const char *payment_id, const char *provider)
{
	struct db_call	*call;
	char		 reason[96];

	if ((call = malloc(sizeof(*call))) == NULL)
		return;
	db_call_init(call);
	(void)snprintf(reason, sizeof(reason), "the buyer left before the "
	    "%s checkout was ready", provider);
	if (db_param_text(call, payment_id) == -1 ||
	    db_param_text(call, reason) == -1) {
		db_call_clear(call);
		free(call);
		return;
	}
	db_start(call, "SELECT payments_mark_failed($1, $2, 'checkout', "
	    "NULL, NULL)", payments_abandoned_done, NULL);
}

static void
payments_abandoned_done(struct db_call *call, void *arg)
{
	if (db_failed(call))
		log_msg(LOG_LVL_WARN, "payment.abandon_failed", NULL,
		    call->error);
	db_call_clear(call);
	free(call);
}

int
payments_list(struct http_request *req)
{
	return (api_run(req, API_USER, API_GET, payments_list_start));
}

/*
 * Newest first. The cursor is "<microseconds since 1970>_<id>" of the
 * last payment shown, so pages stay stable as new payments arrive.
 */
static void
payments_list_start(struct api_ctx *c)
{
	char		 limit[16], cursor[80];
	const char	*sep;
	size_t		 i;

	if (api_limit(c, 20, 100, limit, sizeof(limit)) == -1 ||
	    api_cursor(c, cursor, sizeof(cursor)) == -1)
		return;
	if (cursor[0] != '\0') {
		sep = strchr(cursor, '_');
		for (i = 0; sep != NULL && cursor + i < sep; i++) {
			if (!isdigit((unsigned char)cursor[i]))
				sep = NULL;
		}
		if (sep == NULL || sep == cursor || sep - cursor > 18 ||
		    !api_is_uuid(sep + 1) || sep[1 + API_UUID_LEN] != '\0') {
			api_error(c, 400, "BAD_REQUEST",
			    "the cursor is not one this API returned");
			return;
		}
	}

	api_query(c, payments_reply,
	    "WITH page AS ("
	    "    SELECT p FROM payments p "
	    "    WHERE p.user_id = $1 "
	    "    AND ($2::text IS NULL OR (p.created_at, p.id) < "
	    "        (timestamptz 'epoch' + split_part($2, '_', 1)::bigint "
	    "        * interval '1 microsecond', "
	    "        split_part($2, '_', 2)::uuid)) "
	    "    ORDER BY p.created_at DESC, p.id DESC LIMIT $3::int + 1), "
	    "shown AS (SELECT p FROM page "
	    "    ORDER BY (p).created_at DESC, (p).id DESC LIMIT $3::int) "
	    "SELECT json_build_object("
	    "    'items', coalesce((SELECT json_agg(payment_json(p) "
	    "        ORDER BY (p).created_at DESC, (p).id DESC) FROM shown), "
	    "        '[]'::json), "
	    "    'nextCursor', CASE WHEN (SELECT count(*) FROM page) > $3::int "
	    "        THEN (SELECT (extract(epoch FROM (p).created_at) "
	    "        * 1000000)::bigint || '_' || (p).id FROM shown "
	    "        ORDER BY (p).created_at, (p).id LIMIT 1) END)",
	    3, api_user_id(c), cursor[0] != '\0' ? cursor : NULL, limit);
}

int
payments_get(struct http_request *req)
{
	return (api_run(req, API_USER, API_GET, payments_get_start));
}

/* Another user's payment is simply not found. */
static void
payments_get_start(struct api_ctx *c)
{
	char	id[API_UUID_LEN + 1];

	if (api_path_id(c, "/api/payments/", id) == -1)
		return;
	api_query(c, payments_get_done,
	    "SELECT payment_json(p) FROM payments p "
	    "WHERE p.id = $1 AND p.user_id = $2", 2, id, api_user_id(c));
}

static void
payments_get_done(struct api_ctx *c)
{
	if (!api_db_ok(c))
		return;
	if (db_rows(&c->db) != 1) {
		api_error(c, 404, "NOT_FOUND",
		    "no payment of yours has this id");
		return;
	}
	api_reply_db_json(c, 200);
}

static void
payments_reply(struct api_ctx *c)
{
	if (!api_db_ok(c))
		return;
	api_reply_db_json(c, 200);
}

static void
payments_sweep(void *arg, u_int64_t now)
{
	char	age[16];

	if (payments_sweep_busy)
		return;
	db_call_init(&payments_sweep_db);
	(void)snprintf(age, sizeof(age), "%d", app_cfg.payment_pending_max);
	if (db_param_text(&payments_sweep_db, age) == -1) {
		db_call_clear(&payments_sweep_db);
		return;
	}
	payments_sweep_busy = 1;
	db_start(&payments_sweep_db, "SELECT payments_sweep($1::int)",
	    payments_swept, NULL);
}

static void
payments_swept(struct db_call *call, void *arg)
{
	struct jw	*j;
	long long	 n;

	if (db_failed(call)) {
		log_msg(LOG_LVL_WARN, "payment.sweep_failed", NULL,
		    call->error);
	} else if ((n = db_int(call, 0, 0)) > 0 &&
	    (j = log_begin(LOG_LVL_INFO, "payment.swept", NULL)) != NULL) {
		jw_int(j, "failed", n);
		jw_int(j, "maxAgeSeconds", app_cfg.payment_pending_max);
		log_end(j);
	}
	db_call_clear(call);
	payments_sweep_busy = 0;
}
