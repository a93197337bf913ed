/*
 * PayPal: Orders v2 (create, buyer approval, capture) and the webhook.
 *
 * Every call carries an OAuth2 access token from the client-credentials
 * grant. Each worker keeps the token it was given until a minute before
 * it expires; a call that is refused with 401 (a token PayPal revoked
 * early) renews it once and is tried again.
 *
 * Order creation and capture carry a PayPal-Request-Id made from our
 * payment id, so repeating either (a double click, a retry after a
 * timeout) returns the first result instead of acting twice. The capture
 * answer and the PAYMENT.CAPTURE.COMPLETED webhook may both arrive, in
 * either order or at once; the SQL function that completes a payment
 * grants its credits only once.
 *
 * A webhook is applied only after PayPal's verify-webhook-signature call
 * answers SUCCESS for the exact body received and our webhook id; until
 * then nothing is stored. When PayPal cannot be asked, the delivery gets
 * 503 and PayPal delivers it again later.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "api.h"
#include "app.h"
#include "jsonw.h"
#include "log.h"
#include "payments.h"
#include "secret.h"

#define PAYPAL_TOKEN_MAX	2048
#define PAYPAL_ID_MAX		64

int	paypal_webhook(struct http_request *);
int	paypal_capture(struct http_request *);

static void	paypal_with_token(struct api_ctx *, api_step);
static void	paypal_token_answered(struct api_ctx *);
static void	paypal_token_drop(void);
static int	paypal_renewed(struct api_ctx *, api_step);
static int	paypal_post(struct api_ctx *, api_step, const char *,
		    const char *, size_t, const char *, const char *);
static void	paypal_call_failed(struct api_ctx *, const char *);
static const char *paypal_issue(json_t *);
static int	paypal_id_ok(const char *);
static void	paypal_amount(char *, size_t, int, const char *);

static void	paypal_order_create(struct api_ctx *);
static void	paypal_order_created(struct api_ctx *);

static void	paypal_capture_start(struct api_ctx *);
static void	paypal_capture_found(struct api_ctx *);
static void	paypal_capture_call(struct api_ctx *);
static void	paypal_capture_answered(struct api_ctx *);
static void	paypal_capture_applied(struct api_ctx *);
static void	paypal_capture_fail(struct api_ctx *, int, const char *,
		    const char *, const char *);

static void	paypal_webhook_start(struct api_ctx *);
static void	paypal_verify_call(struct api_ctx *);
static void	paypal_verify_answered(struct api_ctx *);
static void	paypal_webhook_fail(struct api_ctx *, int, const char *,
		    const char *, const char *);
static void	paypal_refused(struct api_ctx *, const char *);

static const char *paypal_capture_fields[] = { "orderId", NULL };

/* The signature headers PayPal sends, in the order verification wants. */
static const char *paypal_sig_headers[] = {
	"paypal-auth-algo", "paypal-cert-url", "paypal-transmission-id",
	"paypal-transmission-sig", "paypal-transmission-time"
};
static const char *paypal_sig_fields[] = {
	"auth_algo", "cert_url", "transmission_id", "transmission_sig",
	"transmission_time"
};

/* This worker's access token and when it stops being used (ms). */
static char		paypal_token[PAYPAL_TOKEN_MAX];
static u_int64_t	paypal_token_until;

int
paypal_available(void)
{
	return (app_cfg.paypal_client_id != NULL &&
	    app_cfg.paypal_client_secret != NULL &&
	    app_cfg.paypal_webhook_id != NULL);
}

/* Runs `next` once a token is at hand, asking PayPal for one if needed. */
static void
paypal_with_token(struct api_ctx *c, api_step next)
{
	struct payments_req	*st = c->state;
	char			 url[512], pair[512], basic[720];
	const char		*hdrs[7];
	int			 n;

	st->resume = next;
	if (paypal_token[0] != '\0' && kore_time_ms() < paypal_token_until) {
		api_next(c, next);
		return;
	}

	n = snprintf(pair, sizeof(pair), "%s:%s", app_cfg.paypal_client_id,
	    app_cfg.paypal_client_secret);
	if (n < 0 || (size_t)n >= sizeof(pair)) {
		secret_wipe(pair, sizeof(pair));
		st->fail(c, 500, "INTERNAL", "PayPal is misconfigured here",
		    "the PayPal client id and secret are too long");
		return;
	}
	memcpy(basic, "Basic ", 6);
	(void)EVP_EncodeBlock((unsigned char *)basic + 6,
	    (const unsigned char *)pair, n);
	secret_wipe(pair, sizeof(pair));

	(void)snprintf(url, sizeof(url), "%s/v1/oauth2/token",
	    app_cfg.paypal_api_base);
	hdrs[0] = "Authorization";
	hdrs[1] = basic;
	hdrs[2] = "Content-Type";
	hdrs[3] = "application/x-www-form-urlencoded";
	hdrs[4] = "Accept";
	hdrs[5] = "application/json";
	hdrs[6] = NULL;
	payments_call(c, paypal_token_answered, HTTP_METHOD_POST, url,
	    "grant_type=client_credentials", 29, hdrs);
	secret_wipe(basic, sizeof(basic));
}

static void
paypal_token_answered(struct api_ctx *c)
{
	struct payments_req	*st = c->state;
	json_t			*doc, *tok, *ttl;
	json_int_t		 secs;

	payments_call_end(st);
	if (st->call.outcome != PAYMENTS_CALL_ANSWERED ||
	    st->call.status != 200) {
		paypal_call_failed(c, "the access token request");
		return;
	}

	doc = json_loads(st->call.body, 0, NULL);
	tok = json_object_get(doc, "access_token");
	ttl = json_object_get(doc, "expires_in");
	if (!json_is_string(tok) || json_string_length(tok) == 0 ||
	    json_string_length(tok) >= sizeof(paypal_token) ||
	    !json_is_integer(ttl)) {
		json_decref(doc);
		st->call.status = 0;
		paypal_call_failed(c, "the access token request");
		return;
	}

	/* Renewed a minute early so a call never starts with a dying one. */
	secs = json_integer_value(ttl) - 60;
	if (secs < 0)
		secs = 0;
	(void)kore_strlcpy(paypal_token, json_string_value(tok),
	    sizeof(paypal_token));
	paypal_token_until = kore_time_ms() + (u_int64_t)secs * 1000;
	json_decref(doc);

	api_next(c, st->resume);
}

static void
paypal_token_drop(void)
{
	secret_wipe(paypal_token, sizeof(paypal_token));
	paypal_token_until = 0;
}

/*
 * A 401 to a call made with our cached token: PayPal no longer knows
 * the token. Renews it and starts `again` once; returns 1 when it did.
 */
static int
paypal_renewed(struct api_ctx *c, api_step again)
{
	struct payments_req	*st = c->state;

	if (st->call.outcome != PAYMENTS_CALL_ANSWERED ||
	    st->call.status != 401 || st->retried)
		return (0);
	st->retried = 1;
	paypal_token_drop();
	paypal_with_token(c, again);
	return (1);
}

/*
 * A POST to PayPal's REST API with our token, JSON both ways. `rid` (the
 * PayPal-Request-Id that makes a repeat harmless) and `prefer` are left
 * out when NULL. Returns -1, having sent nothing, when the token does
 * not fit; the caller answers that in its own words.
 */
static int
paypal_post(struct api_ctx *c, api_step next, const char *url,
    const char *body, size_t len, const char *rid, const char *prefer)
{
	char		 auth[PAYPAL_TOKEN_MAX + 16];
	const char	*hdrs[11];
	int		 n;

	n = snprintf(auth, sizeof(auth), "Bearer %s", paypal_token);
	if (n <= 0 || (size_t)n >= sizeof(auth)) {
		secret_wipe(auth, sizeof(auth));
		return (-1);
	}

	n = 0;
	hdrs[n++] = "Authorization";
	hdrs[n++] = auth;
	hdrs[n++] = "Content-Type";
	hdrs[n++] = "application/json";
	if (rid != NULL) {
		hdrs[n++] = "PayPal-Request-Id";
		hdrs[n++] = rid;
	}
	if (prefer != NULL) {
		hdrs[n++] = "Prefer";
		hdrs[n++] = prefer;
	}
	hdrs[n++] = "Accept";
	hdrs[n++] = "application/json";
	hdrs[n] = NULL;

	payments_call(c, next, HTTP_METHOD_POST, url, body, len, hdrs);
	secret_wipe(auth, sizeof(auth));
	return (0);
}

/* PayPal's name for what went wrong, from either of its error shapes. */
static const char *
paypal_issue(json_t *doc)
{
	json_t		*details;
	const char	*v;

	details = json_array_get(json_object_get(doc, "details"), 0);
	if ((v = json_string_value(json_object_get(details, "issue"))) != NULL)
		return (v);
	if ((v = json_string_value(json_object_get(doc, "name"))) != NULL)
		return (v);
	if ((v = json_string_value(json_object_get(doc, "error"))) != NULL)
		return (v);
	return ("no error name");
}

/* Hands a failed call to the route's failure handler, with reasons. */
static void
paypal_call_failed(struct api_ctx *c, const char *what)
{
	struct payments_req	*st = c->state;
	struct payments_call	*call = &st->call;
	char			 reason[256];
	json_t			*doc;

	if (call->outcome == PAYMENTS_CALL_TIMEOUT) {
		(void)snprintf(reason, sizeof(reason), "PayPal did not answer "
		    "%s within %d seconds", what, app_cfg.payment_timeout);
		st->fail(c, 504, "PROVIDER_TIMEOUT", "PayPal did not answer "
		    "in time; please try again", reason);
	} else if (call->outcome == PAYMENTS_CALL_FAILED) {
		(void)snprintf(reason, sizeof(reason), "PayPal could not be "
		    "reached for %s: %s", what, call->error);
		st->fail(c, 502, "PROVIDER_UNREACHABLE", "PayPal could not be "
		    "reached; please try again later", reason);
	} else {
		doc = call->body != NULL ? json_loads(call->body, 0, NULL) :
		    NULL;
		(void)snprintf(reason, sizeof(reason), "PayPal answered HTTP "
		    "%ld to %s (%s)", call->status, what, paypal_issue(doc));
		json_decref(doc);
		st->fail(c, 502, "PROVIDER_ERROR", "PayPal could not handle "
		    "the request; please try again later", reason);
	}
}

/* PayPal's ids are short runs of letters and digits. */
static int
paypal_id_ok(const char *id)
{
	size_t	i;

	for (i = 0; id[i] != '\0'; i++) {
		if (i >= PAYPAL_ID_MAX || !((id[i] >= 'A' && id[i] <= 'Z') ||
		    (id[i] >= 'a' && id[i] <= 'z') ||
		    (id[i] >= '0' && id[i] <= '9') || id[i] == '-'))
			return (0);
	}
	return (i > 0);
}

/* Cents as PayPal writes amounts: "5.00", or "500" without decimals. */
static void
paypal_amount(char *buf, size_t len, int cents, const char *currency)
{
	if (strcmp(currency, "JPY") == 0 || strcmp(currency, "HUF") == 0 ||
	    strcmp(currency, "TWD") == 0)
		(void)snprintf(buf, len, "%d", cents);
	else
		(void)snprintf(buf, len, "%d.%02d", cents / 100, cents % 100);
}

void
paypal_checkout_start(struct api_ctx *c)
{
	struct payments_req	*st = c->state;

	st->fail = payments_checkout_failed;
	paypal_with_token(c, paypal_order_create);
}

static void
paypal_order_create(struct api_ctx *c)
{
	struct payments_req	*st = c->state;
	struct jw		 j;
	char			 url[512], ok_url[512], cancel_url[512];
	char			 amount[24], rid[80];

	(void)snprintf(url, sizeof(url), "%s/v2/checkout/orders",
	    app_cfg.paypal_api_base);
	(void)snprintf(ok_url, sizeof(ok_url),
	    "%s/credits/paypal-return?payment=%s", app_cfg.public_base_url,
	    st->payment_id);
	(void)snprintf(cancel_url, sizeof(cancel_url),
	    "%s/credits?payment=%s&result=cancel", app_cfg.public_base_url,
	    st->payment_id);
	paypal_amount(amount, sizeof(amount), st->amount_cents, st->currency);

	jw_init(&j, 1024);
	jw_obj_open(&j, NULL);
	jw_str(&j, "intent", "CAPTURE");
	jw_arr_open(&j, "purchase_units");
	jw_obj_open(&j, NULL);
	jw_str(&j, "reference_id", st->payment_id);
	jw_str(&j, "custom_id", st->payment_id);
	jw_str(&j, "invoice_id", st->payment_id);
	jw_str(&j, "description", st->label);
	jw_obj_open(&j, "amount");
	jw_str(&j, "currency_code", st->currency);
	jw_str(&j, "value", amount);
	jw_obj_close(&j);
	jw_obj_close(&j);
	jw_arr_close(&j);
	jw_obj_open(&j, "application_context");
	jw_str(&j, "brand_name", "apiscribe");
	jw_str(&j, "shipping_preference", "NO_SHIPPING");
	jw_str(&j, "user_action", "PAY_NOW");
	jw_str(&j, "return_url", ok_url);
	jw_str(&j, "cancel_url", cancel_url);
	jw_obj_close(&j);
	jw_obj_close(&j);

	(void)snprintf(rid, sizeof(rid), "apiscribe-order-%s", st->payment_id);
	if (j.err || paypal_post(c, paypal_order_created, url, j.buf, j.len,
	    rid, "return=minimal") == -1)
		payments_checkout_failed(c, 500, "INTERNAL", "the checkout "
		    "could not be prepared", "the PayPal order could not be "
		    "written");
	jw_free(&j);
}

static void
paypal_order_created(struct api_ctx *c)
{
	struct payments_req	*st = c->state;
	json_t			*doc, *id, *link;
	const char		*rel, *href;
	size_t			 i;

	payments_call_end(st);
	if (paypal_renewed(c, paypal_order_create))
		return;
	if (st->call.outcome != PAYMENTS_CALL_ANSWERED ||
	    (st->call.status != 200 && st->call.status != 201)) {
		paypal_call_failed(c, "the order creation");
		return;
	}

	/* The buyer approves on the "approve" (or "payer-action") link. */
	doc = json_loads(st->call.body, 0, NULL);
	id = json_object_get(doc, "id");
	href = NULL;
	json_array_foreach(json_object_get(doc, "links"), i, link) {
		rel = json_string_value(json_object_get(link, "rel"));
		if (rel != NULL && (strcmp(rel, "approve") == 0 ||
		    strcmp(rel, "payer-action") == 0))
			href = json_string_value(json_object_get(link, "href"));
	}
	if (!json_is_string(id) || !paypal_id_ok(json_string_value(id)) ||
	    href == NULL || !payments_safe_url(href)) {
		json_decref(doc);
		payments_checkout_failed(c, 502, "PROVIDER_ERROR",
		    "PayPal's answer could not be used; nothing was charged, "
		    "please try again later", "PayPal's order had no id or no "
		    "approval link");
		return;
	}

	payments_checkout_created(c, json_string_value(id), href);
	json_decref(doc);
}

int
paypal_capture(struct http_request *req)
{
	return (api_run(req, API_USER, API_POST, paypal_capture_start));
}

static void
paypal_capture_start(struct api_ctx *c)
{
	struct payments_req	*st;
	const char		*order;

	if (api_body(c) == -1 || api_only(c, paypal_capture_fields) == -1 ||
	    api_str(c, "orderId", 1, PAYPAL_ID_MAX, &order) == -1)
		return;
	if (!paypal_id_ok(order)) {
		api_error(c, 422, "VALIDATION_FAILED", "orderId must be the "
		    "PayPal order id from the return URL's token");
		return;
	}
	if (!paypal_available()) {
		api_error(c, 503, "PROVIDER_UNAVAILABLE", "payments through "
		    "PayPal are not set up on this server");
		return;
	}
	if ((st = payments_req(c)) == NULL)
		return;
	(void)kore_strlcpy(st->ref, order, sizeof(st->ref));
	(void)kore_strlcpy(st->provider, "paypal", sizeof(st->provider));

	api_query(c, paypal_capture_found,
	    "SELECT p.id, p.status, payment_json(p), p.failure_reason "
	    "FROM payments p WHERE p.provider = 'paypal' "
	    "AND p.provider_ref = $1 AND p.user_id = $2", 2, order,
	    api_user_id(c));
}

static void
paypal_capture_found(struct api_ctx *c)
{
	struct payments_req	*st = c->state;
	const char		*status;

	if (!api_db_ok(c))
		return;
	if (db_rows(&c->db) != 1) {
		api_error(c, 404, "NOT_FOUND", "no PayPal payment of yours has "
		    "this order id");
		return;
	}

	/* Captured already (by an earlier call or the webhook): say so. */
	status = db_value(&c->db, 0, 1);
	if (strcmp(status, "COMPLETED") == 0 ||
	    strcmp(status, "REFUNDED") == 0) {
		api_reply_json(c, 200, db_value(&c->db, 0, 2),
		    (size_t)db_length(&c->db, 0, 2));
		return;
	}
	if (strcmp(status, "PENDING") != 0) {
		api_errorf(c, 409, "PAYMENT_FAILED", "this payment has failed "
		    "(%s); start a new checkout", db_value(&c->db, 0, 3));
		return;
	}

	(void)kore_strlcpy(st->payment_id, db_value(&c->db, 0, 0),
	    sizeof(st->payment_id));
	st->fail = paypal_capture_fail;
	paypal_with_token(c, paypal_capture_call);
}

static void
paypal_capture_call(struct api_ctx *c)
{
	struct payments_req	*st = c->state;
	char			 url[512], rid[80];

	(void)snprintf(url, sizeof(url), "%s/v2/checkout/orders/%s/capture",
	    app_cfg.paypal_api_base, st->ref);
	(void)snprintf(rid, sizeof(rid), "apiscribe-capture-%s",
	    st->payment_id);
	if (paypal_post(c, paypal_capture_answered, url, "{}", 2, rid,
	    "return=representation") == -1)
		api_error(c, 500, "INTERNAL", "the capture could not be made");
}

static void
paypal_capture_answered(struct api_ctx *c)
{
	struct payments_req	*st = c->state;
	json_t			*doc;
	const char		*issue;
	int			 declined;

	payments_call_end(st);
	if (paypal_renewed(c, paypal_capture_call))
		return;
	if (st->call.outcome == PAYMENTS_CALL_ANSWERED &&
	    (st->call.status == 200 || st->call.status == 201)) {
		api_query(c, paypal_capture_applied,
		    "SELECT * FROM payments_paypal_captured($1, $2, $3, $4)", 4,
		    st->payment_id, st->call.body != NULL ? st->call.body : "",
		    c->rid, c->ip);
		return;
	}
	if (st->call.outcome != PAYMENTS_CALL_ANSWERED ||
	    st->call.status != 422) {
		paypal_call_failed(c, "the capture");
		return;
	}

	/* PayPal refused the capture for a reason the buyer can act on. */
	doc = json_loads(st->call.body, 0, NULL);
	issue = paypal_issue(doc);
	declined = strcmp(issue, "INSTRUMENT_DECLINED") == 0;
	if (strcmp(issue, "ORDER_NOT_APPROVED") == 0) {
		api_error(c, 409, "ORDER_NOT_APPROVED", "the order has not "
		    "been approved at PayPal yet; approve it there first");
	} else if (strcmp(issue, "ORDER_ALREADY_CAPTURED") == 0) {
		api_error(c, 409, "ALREADY_CAPTURED", "PayPal has already "
		    "captured this order; the credits arrive as soon as PayPal "
		    "confirms the payment");
	} else if (!declined) {
		paypal_call_failed(c, "the capture");
	}
	json_decref(doc);
	if (declined)
		payments_failed(c, "capture", 422, "PAYMENT_DECLINED", "PayPal "
		    "declined the payment method; start a new checkout to pay "
		    "another way", "PayPal declined the payment method");
}

static void
paypal_capture_applied(struct api_ctx *c)
{
	struct payments_req	*st = c->state;
	const char		*result;
	struct jw		*j;

	/* PayPal's answer did not fit the payment (SQL said AP502). */
	if (db_failed(&c->db) && strcmp(c->db.sqlstate, "AP502") == 0) {
		if ((j = log_begin(LOG_LVL_ERROR, "payment.capture_mismatch",
		    c->rid)) != NULL) {
			jw_str(j, "paymentId", st->payment_id);
			jw_str(j, "error", c->db.error);
			log_end(j);
		}
		api_error(c, 502, "PROVIDER_ERROR", c->db.error);
		return;
	}
	if (!api_db_ok(c))
		return;

	result = db_value(&c->db, 0, 0);
	if ((j = log_begin(LOG_LVL_INFO, "payment.capture", c->rid)) != NULL) {
		jw_str(j, "userId", api_user_id(c));
		jw_str(j, "paymentId", st->payment_id);
		jw_str(j, "orderId", st->ref);
		jw_str(j, "captureStatus", db_value(&c->db, 0, 1));
		jw_str(j, "result", result);
		log_end(j);
	}
	payments_result_log(c, result, st->payment_id, api_user_id(c),
	    "capture");

	api_reply_json(c, 200, db_value(&c->db, 0, 2),
	    (size_t)db_length(&c->db, 0, 2));
}

/* A capture that failed at PayPal leaves the payment PENDING: retry. */
static void
paypal_capture_fail(struct api_ctx *c, int status, const char *code,
    const char *msg, const char *reason)
{
	struct payments_req	*st = c->state;
	struct jw		*j;

	if ((j = log_begin(LOG_LVL_WARN, "payment.capture_failed",
	    c->rid)) != NULL) {
		jw_str(j, "userId", api_user_id(c));
		jw_str(j, "paymentId", st->payment_id);
		jw_str(j, "reason", reason);
		log_end(j);
	}
	api_error(c, status, code, msg);
}

int
paypal_webhook(struct http_request *req)
{
	return (api_run(req, API_PUBLIC | API_NO_CSRF, API_POST,
	    paypal_webhook_start));
}

static void
paypal_webhook_start(struct api_ctx *c)
{
	struct payments_req	*st;
	const char		*v;
	size_t			 i;

	if ((st = payments_req(c)) == NULL)
		return;
	(void)kore_strlcpy(st->provider, "paypal", sizeof(st->provider));

	if (!paypal_available()) {
		api_error(c, 503, "PROVIDER_UNAVAILABLE",
		    "PayPal webhooks are not set up on this server");
		return;
	}
	for (i = 0; i < sizeof(paypal_sig_headers) /
	    sizeof(paypal_sig_headers[0]); i++) {
		if (!http_request_header(c->req, paypal_sig_headers[i], &v) ||
		    *v == '\0') {
			paypal_refused(c, "a PayPal signature header is "
			    "missing");
			return;
		}
	}
	if (api_body_raw(c, PAYMENTS_WEBHOOK_MAX, &st->raw, &st->raw_len) == -1)
		return;

	/* PayPal verifies the event as JSON: it must be one object. */
	if (!payments_webhook_object(st->raw, st->raw_len)) {
		paypal_refused(c, "the body is not a JSON object");
		return;
	}

	st->fail = paypal_webhook_fail;
	paypal_with_token(c, paypal_verify_call);
}

static void
paypal_verify_call(struct api_ctx *c)
{
	struct payments_req	*st = c->state;
	struct jw		 j;
	const char		*v;
	char			 url[512];
	size_t			 i;

	jw_init(&j, st->raw_len + 2048);
	jw_obj_open(&j, NULL);
	for (i = 0; i < sizeof(paypal_sig_headers) /
	    sizeof(paypal_sig_headers[0]); i++) {
		if (!http_request_header(c->req, paypal_sig_headers[i], &v))
			v = "";
		jw_str(&j, paypal_sig_fields[i], v);
	}
	jw_str(&j, "webhook_id", app_cfg.paypal_webhook_id);
	jw_raw(&j, "webhook_event", st->raw, st->raw_len);
	jw_obj_close(&j);

	(void)snprintf(url, sizeof(url),
	    "%s/v1/notifications/verify-webhook-signature",
	    app_cfg.paypal_api_base);
	if (j.err || paypal_post(c, paypal_verify_answered, url, j.buf, j.len,
	    NULL, NULL) == -1)
		api_error(c, 500, "INTERNAL", "the event could not be checked");
	jw_free(&j);
}

static void
paypal_verify_answered(struct api_ctx *c)
{
	struct payments_req	*st = c->state;
	json_t			*doc;
	const char		*verdict;
	int			 good;

	payments_call_end(st);
	if (paypal_renewed(c, paypal_verify_call))
		return;

	/* PayPal found the headers malformed: the delivery is not genuine. */
	if (st->call.outcome == PAYMENTS_CALL_ANSWERED &&
	    st->call.status == 400) {
		paypal_refused(c, "PayPal refused the signature headers");
		return;
	}
	if (st->call.outcome != PAYMENTS_CALL_ANSWERED ||
	    st->call.status != 200) {
		paypal_call_failed(c, "the signature verification");
		return;
	}

	doc = json_loads(st->call.body, 0, NULL);
	verdict = json_string_value(json_object_get(doc,
	    "verification_status"));
	good = verdict != NULL && strcmp(verdict, "SUCCESS") == 0;
	json_decref(doc);
	if (!good) {
		paypal_refused(c, "PayPal did not verify the signature");
		return;
	}

	api_query(c, payments_event_applied,
	    "SELECT * FROM payments_paypal_event($1, $2, $3)", 3, st->raw,
	    c->rid, c->ip);
}

/* PayPal could not be asked: 503 makes it deliver the event again. */
static void
paypal_webhook_fail(struct api_ctx *c, int status, const char *code,
    const char *msg, const char *reason)
{
	struct jw	*j;

	if ((j = log_begin(LOG_LVL_WARN, "payment.webhook_unverified",
	    c->rid)) != NULL) {
		jw_str(j, "provider", "paypal");
		jw_str(j, "reason", reason);
		log_end(j);
	}
	api_header(c, "Retry-After", "60");
	api_error(c, 503, "VERIFICATION_UNAVAILABLE", "the event could not be "
	    "verified with PayPal right now; deliver it again later");
}

/* A delivery we cannot believe: logged, answered 400, nothing stored. */
static void
paypal_refused(struct api_ctx *c, const char *why)
{
	payments_webhook_refused(c, why);
	api_errorf(c, 400, "BAD_SIGNATURE", "the PayPal signature could not "
	    "be verified: %s", why);
}
