/*
 * Buying credits through Stripe and PayPal (DESIGN section 10).
 *
 * payments.c holds the routes that do not depend on a provider, the
 * outbound-call helper and the checkout steps both providers share;
 * stripe.c and paypal.c speak each provider's API and check its
 * webhooks. Every state change of a payment is one SQL function in
 * sql/005_payments.sql.
 */

#ifndef PAYMENTS_H
#define PAYMENTS_H

#include <stddef.h>

#include <kore/kore.h>
#include <kore/curl.h>

#include "api.h"

/* Largest webhook body accepted; provider events are a few kilobytes. */
#define PAYMENTS_WEBHOOK_MAX	(256 * 1024)

/* How an outbound call ended. */
#define PAYMENTS_CALL_ANSWERED	0	/* an HTTP answer; see status */
#define PAYMENTS_CALL_TIMEOUT	1
#define PAYMENTS_CALL_FAILED	2	/* none: refused, reset, DNS */

struct payments_req;

/* Answers a provider failure the way the current route needs. */
typedef void	(*payments_fail_fn)(struct api_ctx *, int, const char *,
		    const char *, const char *);

struct payments_call {
	struct kore_curl	 curl;
	int			 live;	/* set up, not yet cleaned up */
	int			 outcome;
	long			 status;
	char			*body;	/* the answer, NUL-terminated */
	size_t			 len;
	char			 error[128];
};

/* What one request through these routes carries from step to step. */
struct payments_req {
	struct payments_call	 call;

	char			 payment_id[API_UUID_LEN + 1];
	char			 provider[8];
	char			 label[128];
	char			 currency[4];
	int			 amount_cents;
	int			 credits;
	int			 open;		/* checkout not answered */
	char			 ref[128];	/* session or order */
	char			*redirect;	/* the provider's page */

	char			*raw;		/* a webhook's body */
	size_t			 raw_len;

	api_step		 resume;	/* runs once a token is in */
	int			 retried;	/* token renewed once */
	payments_fail_fn	 fail;

	int			 err_status;
	char			 err_code[32];
	char			 err_msg[256];
};

void			 payments_init(void);

struct payments_req	*payments_req(struct api_ctx *);
void			 payments_call(struct api_ctx *, api_step, int,
			    const char *, const char *, size_t,
			    const char **);
void			 payments_call_end(struct payments_req *);
const char		*payments_outcome_text(struct payments_call *);
void			 payments_checkout_created(struct api_ctx *,
			    const char *, const char *);
void			 payments_failed(struct api_ctx *, const char *,
			    int, const char *, const char *, const char *);
void			 payments_checkout_failed(struct api_ctx *, int,
			    const char *, const char *, const char *);
void			 payments_event_applied(struct api_ctx *);
void			 payments_result_log(struct api_ctx *, const char *,
			    const char *, const char *, const char *);
int			 payments_webhook_object(const char *, size_t);
void			 payments_webhook_refused(struct api_ctx *,
			    const char *);
int			 payments_safe_url(const char *);

int			 stripe_available(void);
void			 stripe_checkout_start(struct api_ctx *);

int			 paypal_available(void);
void			 paypal_checkout_start(struct api_ctx *);

#endif
