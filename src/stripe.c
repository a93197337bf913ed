/*
 * Stripe: Checkout Sessions and the webhook that fulfils them.
 *
 * A session is created with the secret key as a form-encoded POST to
 * /v1/checkout/sessions with an Idempotency-Key made from our payment id,
 * so a retried creation can never make a second session. The session
 * carries the payment id (client_reference_id and metadata, copied to the
 * PaymentIntent too) and the user id, which the webhook checks against
 * the payment before anything is granted.
 *
 * The webhook is believed only when its Stripe-Signature header verifies
 * over the exact bytes received (whsig.c: HMAC-SHA256 of "t.body" keyed
 * with the endpoint secret, any of several v1 values, five minutes of
 * tolerance, constant-time comparison). Nothing is stored before that.
 * A verified event goes to payments_stripe_event() in SQL, which stores
 * it once by id and applies it once.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "api.h"
#include "app.h"
#include "log.h"
#include "payments.h"
#include "secret.h"
#include "whsig.h"

#define STRIPE_FORM_MAX		4096

struct stripe_form {
	char	buf[STRIPE_FORM_MAX];
	size_t	len;
	int	err;
};

int	stripe_webhook(struct http_request *);

static void	stripe_form_add(struct stripe_form *, const char *,
		    const char *);
static void	stripe_checkout_answered(struct api_ctx *);
static void	stripe_webhook_start(struct api_ctx *);
static void	stripe_refused(struct api_ctx *, const char *);

/* Both keys are needed: without the webhook secret nothing completes. */
int
stripe_available(void)
{
	return (app_cfg.stripe_secret_key != NULL &&
	    app_cfg.stripe_webhook_secret != NULL);
}

/* Appends key=value, percent-encoding everything but unreserved bytes. */
static void
stripe_form_add(struct stripe_form *f, const char *key, const char *value)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const char		*parts[2];
	const unsigned char	*p;
	int			 i;

	if (f->len > 0 && f->len < sizeof(f->buf))
		f->buf[f->len++] = '&';
	parts[0] = key;
	parts[1] = value;
	for (i = 0; i < 2; i++) {
		if (i == 1 && f->len < sizeof(f->buf))
			f->buf[f->len++] = '=';
		for (p = (const unsigned char *)parts[i]; *p != '\0'; p++) {
			if (f->len + 3 >= sizeof(f->buf)) {
				f->err = 1;
				return;
			}
			if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' &&
			    *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			    *p == '-' || *p == '.' || *p == '_' || *p == '~') {
				f->buf[f->len++] = (char)*p;
			} else {
				f->buf[f->len++] = '%';
				f->buf[f->len++] = hex[*p >> 4];
				f->buf[f->len++] = hex[*p & 0x0f];
			}
		}
	}
	if (f->len >= sizeof(f->buf))
		f->err = 1;
}

void
stripe_checkout_start(struct api_ctx *c)
{
	struct payments_req	*st = c->state;
	struct stripe_form	 form;
	char			 url[512], ok_url[512], cancel_url[512];
	char			 amount[16], currency[4], idem[80];
	char			 auth[256];
	const char		*hdrs[9];
	size_t			 i;

	(void)snprintf(url, sizeof(url), "%s/v1/checkout/sessions",
	    app_cfg.stripe_api_base);
	(void)snprintf(ok_url, sizeof(ok_url),
	    "%s/credits?payment=%s&result=success", app_cfg.public_base_url,
	    st->payment_id);
	(void)snprintf(cancel_url, sizeof(cancel_url),
	    "%s/credits?payment=%s&result=cancel", app_cfg.public_base_url,
	    st->payment_id);
	(void)snprintf(amount, sizeof(amount), "%d", st->amount_cents);
	for (i = 0; i < sizeof(currency) - 1 && st->currency[i] != '\0'; i++)
		currency[i] = (char)(st->currency[i] | 0x20);
	currency[i] = '\0';

	memset(&form, 0, sizeof(form));
	stripe_form_add(&form, "mode", "payment");
	stripe_form_add(&form, "success_url", ok_url);
	stripe_form_add(&form, "cancel_url", cancel_url);
	stripe_form_add(&form, "client_reference_id", st->payment_id);
	stripe_form_add(&form, "line_items[0][quantity]", "1");
	stripe_form_add(&form, "line_items[0][price_data][currency]",
	    currency);
	stripe_form_add(&form, "line_items[0][price_data][unit_amount]",
	    amount);
	stripe_form_add(&form,
	    "line_items[0][price_data][product_data][name]", st->label);
	stripe_form_add(&form, "metadata[payment_id]", st->payment_id);
	stripe_form_add(&form, "metadata[user_id]", api_user_id(c));
	stripe_form_add(&form, "payment_intent_data[metadata][payment_id]",
	    st->payment_id);
	stripe_form_add(&form, "payment_intent_data[metadata][user_id]",
	    api_user_id(c));
	if (form.err) {
		payments_checkout_failed(c, 500, "INTERNAL", "the checkout "
		    "could not be prepared", "the Stripe request was too long");
		return;
	}

	(void)snprintf(auth, sizeof(auth), "Bearer %s",
	    app_cfg.stripe_secret_key);
	(void)snprintf(idem, sizeof(idem), "apiscribe-checkout-%s",
	    st->payment_id);
	hdrs[0] = "Authorization";
	hdrs[1] = auth;
	hdrs[2] = "Content-Type";
	hdrs[3] = "application/x-www-form-urlencoded";
	hdrs[4] = "Idempotency-Key";
	hdrs[5] = idem;
	hdrs[6] = "Accept";
	hdrs[7] = "application/json";
	hdrs[8] = NULL;

	payments_call(c, stripe_checkout_answered, HTTP_METHOD_POST, url,
	    form.buf, form.len, hdrs);
	secret_wipe(auth, sizeof(auth));
}

static void
stripe_checkout_answered(struct api_ctx *c)
{
	struct payments_req	*st = c->state;
	struct payments_call	*call = &st->call;
	json_t			*doc, *id, *url;
	const char		*type;
	char			 reason[256];

	payments_call_end(st);

	if (call->outcome == PAYMENTS_CALL_TIMEOUT) {
		(void)snprintf(reason, sizeof(reason), "Stripe did not answer "
		    "within %d seconds", app_cfg.payment_timeout);
		payments_checkout_failed(c, 504, "PROVIDER_TIMEOUT",
		    "Stripe did not answer in time; nothing was charged, "
		    "please try again", reason);
		return;
	}
	if (call->outcome == PAYMENTS_CALL_FAILED) {
		(void)snprintf(reason, sizeof(reason), "Stripe could not be "
		    "reached: %s", call->error);
		payments_checkout_failed(c, 502, "PROVIDER_UNREACHABLE",
		    "Stripe could not be reached; nothing was charged, please "
		    "try again later", reason);
		return;
	}

	doc = call->body != NULL ? json_loads(call->body, 0, NULL) : NULL;
	if (call->status != 200) {
		/* Stripe's error type says what went wrong, never a secret. */
		type = json_string_value(json_object_get(json_object_get(doc,
		    "error"), "type"));
		(void)snprintf(reason, sizeof(reason), "Stripe answered HTTP "
		    "%ld (%s)", call->status, type != NULL ? type : "no error "
		    "type");
		json_decref(doc);
		payments_checkout_failed(c, 502, "PROVIDER_ERROR",
		    "Stripe could not start the checkout; nothing was charged, "
		    "please try again later", reason);
		return;
	}

	id = json_object_get(doc, "id");
	url = json_object_get(doc, "url");
	if (!json_is_string(id) || json_string_length(id) == 0 ||
	    json_string_length(id) >= sizeof(st->ref) ||
	    !json_is_string(url) ||
	    !payments_safe_url(json_string_value(url))) {
		json_decref(doc);
		payments_checkout_failed(c, 502, "PROVIDER_ERROR",
		    "Stripe's answer could not be used; nothing was charged, "
		    "please try again later", "Stripe's answer had no session "
		    "id or no usable URL");
		return;
	}

	payments_checkout_created(c, json_string_value(id),
	    json_string_value(url));
	json_decref(doc);
}

int
stripe_webhook(struct http_request *req)
{
	return (api_run(req, API_PUBLIC | API_NO_CSRF, API_POST,
	    stripe_webhook_start));
}

static void
stripe_webhook_start(struct api_ctx *c)
{
	struct payments_req	*st;
	const char		*sig;
	char			 why[WHSIG_WHY_MAX];

	if ((st = payments_req(c)) == NULL)
		return;
	(void)kore_strlcpy(st->provider, "stripe", sizeof(st->provider));

	if (app_cfg.stripe_webhook_secret == NULL) {
		api_error(c, 503, "PROVIDER_UNAVAILABLE",
		    "Stripe webhooks are not set up on this server");
		return;
	}
	if (!http_request_header(c->req, "stripe-signature", &sig)) {
		stripe_refused(c, "no Stripe-Signature header");
		return;
	}
	if (api_body_raw(c, PAYMENTS_WEBHOOK_MAX, &st->raw, &st->raw_len) == -1)
		return;

	if (!whsig_stripe_verify(sig, (const unsigned char *)st->raw,
	    st->raw_len, app_cfg.stripe_webhook_secret, time(NULL),
	    WHSIG_STRIPE_TOLERANCE, why, sizeof(why))) {
		stripe_refused(c, why);
		return;
	}

	/* Signed, yet it must still be one JSON object without NUL bytes. */
	if (!payments_webhook_object(st->raw, st->raw_len)) {
		api_error(c, 400, "BAD_REQUEST", "the event is not a JSON "
		    "object");
		return;
	}

	api_query(c, payments_event_applied,
	    "SELECT * FROM payments_stripe_event($1, $2, $3)", 3, st->raw,
	    c->rid, c->ip);
}

/* A delivery we cannot believe: logged, answered 400, nothing stored. */
static void
stripe_refused(struct api_ctx *c, const char *why)
{
	payments_webhook_refused(c, why);
	api_error(c, 400, "BAD_SIGNATURE", "the Stripe-Signature header is "
	    "missing or does not verify for this body");
}
