/*
 * Stripe webhook signatures.
 *
 * Stripe signs each event with HMAC-SHA256, keyed with the endpoint's
 * signing secret taken as it is shown ("whsec_..." included), over the
 * text "<timestamp>.<raw body>".  The Stripe-Signature header carries the
 * timestamp as t= and one v1= signature per active secret (two while a
 * secret is being rolled); test-mode events add a v0= that must be
 * ignored, as must any scheme other than v1, so a downgrade is no use.
 *
 * The header is parsed strictly: every element is key=value, exactly one
 * t holding only digits, every v1 exactly 64 hex digits.  Anything else
 * is refused rather than guessed at, since a payment is credited on the
 * strength of this check.  Signatures are compared in constant time and
 * the timestamp must lie within the tolerance either side of now, which
 * bounds replays; replays inside it are stopped by the event id store.
 */

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <stdio.h>
#include <string.h>

#include "secret.h"
#include "whsig.h"

#define WHSIG_MAC_LEN	32

struct whsig_header {
	long long	t;
	int		have_t;
	size_t		nsigs;
	unsigned char	sigs[WHSIG_STRIPE_MAX_SIGS][WHSIG_MAC_LEN];
};

static int	whsig_fail(char *, size_t, const char *);
static int	whsig_parse(const char *, struct whsig_header *, char *,
		    size_t);
static int	whsig_hmac(const char *, const char *, size_t,
		    const unsigned char *, size_t, unsigned char *);

static int
whsig_fail(char *why, size_t whylen, const char *reason)
{
	if (why != NULL && whylen > 0)
		(void)snprintf(why, whylen, "%s", reason);
	return (0);
}

/* Splits the header at ',' and each element at its first '='. */
static int
whsig_parse(const char *header, struct whsig_header *h, char *why,
    size_t whylen)
{
	const char	*p, *elem, *eq, *val, *end;
	size_t		 klen, vlen, i;
	int		 hi, lo;

	memset(h, 0, sizeof(*h));
	for (p = header;; p = end + 1) {
		/* Optional blanks around an element are tolerated. */
		for (elem = p; *elem == ' ' || *elem == '\t'; elem++)
			;
		for (end = elem; *end != '\0' && *end != ','; end++)
			;
		vlen = (size_t)(end - elem);
		while (vlen > 0 && (elem[vlen - 1] == ' ' ||
		    elem[vlen - 1] == '\t'))
			vlen--;

		eq = memchr(elem, '=', vlen);
		if (eq == NULL || eq == elem)
			return (whsig_fail(why, whylen,
			    "malformed Stripe-Signature header"));
		klen = (size_t)(eq - elem);
		val = eq + 1;
		vlen -= klen + 1;

		if (klen == 1 && elem[0] == 't') {
			/* Digits only, no leading zero: one spelling. */
			if (h->have_t || vlen == 0 || vlen > 18 ||
			    (vlen > 1 && val[0] == '0'))
				return (whsig_fail(why, whylen,
				    "malformed timestamp in signature header"));
			for (i = 0; i < vlen; i++) {
				if (val[i] < '0' || val[i] > '9')
					return (whsig_fail(why, whylen,
					    "malformed timestamp in signature "
					    "header"));
				h->t = h->t * 10 + (val[i] - '0');
			}
			h->have_t = 1;
		} else if (klen == 2 && elem[0] == 'v' && elem[1] == '1') {
			if (vlen != 2 * WHSIG_MAC_LEN)
				return (whsig_fail(why, whylen,
				    "v1 signature is not 64 hex digits"));
			if (h->nsigs == WHSIG_STRIPE_MAX_SIGS)
				return (whsig_fail(why, whylen,
				    "too many v1 signatures"));
			for (i = 0; i < WHSIG_MAC_LEN; i++) {
				hi = secret_hexdigit((unsigned char)val[i * 2]);
				lo = secret_hexdigit(
				    (unsigned char)val[i * 2 + 1]);
				if (hi < 0 || lo < 0)
					return (whsig_fail(why, whylen,
					    "v1 signature is not 64 hex "
					    "digits"));
				h->sigs[h->nsigs][i] =
				    (unsigned char)(hi << 4 | lo);
			}
			h->nsigs++;
		}
		/* Any other scheme (v0, future ones) is ignored. */

		if (*end == '\0')
			break;
	}

	if (!h->have_t)
		return (whsig_fail(why, whylen,
		    "no timestamp in signature header"));
	if (h->nsigs == 0)
		return (whsig_fail(why, whylen,
		    "no v1 signature in signature header"));
	return (1);
}

/* HMAC-SHA256(secret, t "." payload) without copying the payload. */
static int
whsig_hmac(const char *secret, const char *t, size_t tlen,
    const unsigned char *payload, size_t len, unsigned char *mac)
{
	EVP_MAC		*evp;
	EVP_MAC_CTX	*ctx;
	OSSL_PARAM	 params[2];
	char		 digest[] = "SHA256";
	size_t		 maclen;
	int		 ok;

	ok = 0;
	ctx = NULL;
	if ((evp = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		goto done;
	if ((ctx = EVP_MAC_CTX_new(evp)) == NULL)
		goto done;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(ctx, (const unsigned char *)secret, strlen(secret),
	    params))
		goto done;
	if (!EVP_MAC_update(ctx, (const unsigned char *)t, tlen) ||
	    !EVP_MAC_update(ctx, (const unsigned char *)".", 1))
		goto done;
	if (len > 0 && !EVP_MAC_update(ctx, payload, len))
		goto done;
	if (!EVP_MAC_final(ctx, mac, &maclen, WHSIG_MAC_LEN) ||
	    maclen != WHSIG_MAC_LEN)
		goto done;
	ok = 1;

done:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(evp);
	return (ok);
}

int
whsig_stripe_verify(const char *header, const unsigned char *payload,
    size_t len, const char *secret, time_t now, long tolerance, char *why,
    size_t whylen)
{
	struct whsig_header	h;
	unsigned char		mac[WHSIG_MAC_LEN];
	char			t[24];
	long long		age;
	size_t			i;
	int			tlen, match;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (secret == NULL || secret[0] == '\0')
		return (whsig_fail(why, whylen,
		    "webhook signing secret is not configured"));
	if (header == NULL || header[0] == '\0')
		return (whsig_fail(why, whylen,
		    "missing Stripe-Signature header"));
	if (payload == NULL && len > 0)
		return (whsig_fail(why, whylen, "no payload"));
	if (tolerance <= 0)
		return (whsig_fail(why, whylen, "invalid tolerance"));

	if (!whsig_parse(header, &h, why, whylen))
		return (0);

	age = (long long)now - h.t;
	if (age > tolerance || age < -(long long)tolerance)
		return (whsig_fail(why, whylen,
		    "signature timestamp outside the tolerance"));

	/* The parser allows one spelling, so printing it back is exact. */
	tlen = snprintf(t, sizeof(t), "%lld", h.t);
	if (tlen < 0 || (size_t)tlen >= sizeof(t))
		return (whsig_fail(why, whylen, "malformed timestamp"));

	if (!whsig_hmac(secret, t, (size_t)tlen, payload, len, mac))
		return (whsig_fail(why, whylen, "HMAC computation failed"));

	/* Look at every signature, so the time taken says nothing. */
	match = 0;
	for (i = 0; i < h.nsigs; i++) {
		if (CRYPTO_memcmp(mac, h.sigs[i], WHSIG_MAC_LEN) == 0)
			match = 1;
	}
	OPENSSL_cleanse(mac, sizeof(mac));
	OPENSSL_cleanse(&h, sizeof(h));

	if (!match)
		return (whsig_fail(why, whylen, "no signature matches"));
	return (1);
}
