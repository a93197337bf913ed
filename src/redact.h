/*
 * Redaction of secrets in what capture stores: header values, query
 * strings, form bodies and JSON bodies.  See redact.c for the rules.
 */

#ifndef APISCRIBE_REDACT_H
#define APISCRIBE_REDACT_H

#include <stddef.h>

/* What replaces a secret in headers and JSON. */
#define REDACT_MARKER		"[REDACTED]"
/* The same, percent-encoded, in query strings and form bodies. */
#define REDACT_MARKER_URL	"%5BREDACTED%5D"

/* Results of redact_query(), redact_form() and redact_json(). */
#define REDACT_NONE		0	/* nothing secret; out is a copy */
#define REDACT_DONE		1	/* at least one value was replaced */
#define REDACT_NOT_JSON		(-1)	/* not JSON: store the body as is */
#define REDACT_NOSPACE		(-2)	/* out too small; see redact_bound */

/* redact_json() flag: the input was cut at the capture limit. */
#define REDACT_PARTIAL		0x01

/*
 * Whether a header's value is secret (case-insensitive name).  Exact
 * names: authorization, proxy-authorization, cookie, set-cookie,
 * set-cookie2, x-api-key, api-key, apikey, x-auth, x-auth-key,
 * x-functions-key, ocp-apim-subscription-key.  And any name containing
 * token, secret, passw, session, credential, authorization, apikey,
 * api-key, api_key, access-key or private-key.
 */
int	redact_header_sensitive(const char *name);

/*
 * Writes the value to store for header `name` into out (NUL-terminated,
 * truncated to outlen like strlcpy) and returns the length of the full
 * result.  Values of other headers are copied unchanged.
 * Authorization keeps its scheme word ("Bearer [REDACTED]"), Cookie keeps
 * the cookie names ("sid=[REDACTED]; theme=[REDACTED]") and Set-Cookie
 * keeps its name and attributes; the others become "[REDACTED]".  An
 * empty value stays empty.
 */
size_t	redact_header_value(const char *name, const char *value, char *out,
	    size_t outlen);

/*
 * Whether a field name (query or form key, JSON key; already decoded)
 * looks like it holds a secret.  Matched by words, so "accessToken",
 * "access_token" and "ACCESS-TOKEN" match alike and "tokenizer_version"
 * does not.
 */
int	redact_key_secret(const char *key, size_t len);

/*
 * Output room that is always enough for an input of len bytes, the
 * terminating NUL included.
 */
size_t	redact_bound(size_t len);

/*
 * A raw query string (without the '?') or a form-urlencoded body: the
 * values of secret keys become %5BREDACTED%5D, everything else is kept
 * byte for byte.  Writes *outl bytes and a NUL after them.
 */
int	redact_query(const char *in, size_t len, char *out, size_t outlen,
	    size_t *outl);
int	redact_form(const char *in, size_t len, char *out, size_t outlen,
	    size_t *outl);

/*
 * A JSON body in one pass without building a tree: the value of every
 * secret key, at any depth, becomes "[REDACTED]" (strings, numbers and
 * whole objects or arrays; true, false and null are kept); every other
 * byte is kept.  With REDACT_PARTIAL, input that simply ends early is
 * accepted and redacted as far as it goes.  Writes *outl bytes and a NUL.
 */
int	redact_json(const char *in, size_t len, char *out, size_t outlen,
	    size_t *outl, int flags);

/* Checks the module's word tables are in order; for the unit tests. */
int	redact_selftest(void);

#endif
