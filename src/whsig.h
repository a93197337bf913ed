/*
 * Webhook signature verification.  Verify only: nothing here signs.
 */

#ifndef APISCRIBE_WHSIG_H
#define APISCRIBE_WHSIG_H

#include <stddef.h>
#include <time.h>

/* Stripe's recommended tolerance between the signed time and now. */
#define WHSIG_STRIPE_TOLERANCE	300
/* Most v1 signatures one header may carry (secret rotation needs two). */
#define WHSIG_STRIPE_MAX_SIGS	8
/* Room for a sentence in `why`. */
#define WHSIG_WHY_MAX		96

/*
 * Verifies a Stripe-Signature header ("t=<unix>,v1=<hex>[,v1=...]
 * [,v0=...]") for the raw request body `payload` of `len` bytes with the
 * endpoint's signing secret (the whole "whsec_..." string is the HMAC
 * key).  The signed text is "<t>.<payload>"; any v1 may match; other
 * schemes are ignored.  Refused when |now - t| > tolerance (which must be
 * positive), when the header is malformed, or when the secret is empty.
 * Returns 1 when the signature is good, 0 otherwise with a short reason
 * in `why` (for the log; never contains the secret).
 */
int	whsig_stripe_verify(const char *header, const unsigned char *payload,
	    size_t len, const char *secret, time_t now, long tolerance,
	    char *why, size_t whylen);

#endif
