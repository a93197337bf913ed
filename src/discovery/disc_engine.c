/*
 * The engine's front door: taking calls in one at a time, and the calls
 * the documentation job makes afterwards (analysis, the summary for the
 * language model, its annotations, document information).
 *
 * A call is reduced on arrival to what documentation needs: its path
 * goes into the template trie, and its method there selects an
 * operation that folds in the query, the notable headers, the
 * credentials (as security schemes), and the bodies per media type and
 * status.  Nothing of the call itself is kept except, per operation,
 * status and media type, one example body chosen by a rule that does
 * not depend on the order of calls.
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "disc_int.h"

#define HDRS_MAX	64

/* A set of header names and values, borrowed from `mem` or `json`. */
struct hdrs {
	size_t		 n;
	const char	*k[HDRS_MAX];
	const char	*v[HDRS_MAX];
	char		*mem;
	json_t		*json;
};

static int	scheme_index(struct disc_engine *, int, int, const char *,
		    int);
static void	detect_credentials(struct disc_engine *,
		    const struct hdrs *, json_t *, int *, size_t *);
static int	body_add(struct disc_media **, size_t *, const char *,
		    const unsigned char *, size_t);
static struct disc_op	*op_get(struct disc_engine *, struct disc_node *,
		    const char *);
static struct disc_status	*status_get(struct disc_op *, int);
static int	check_text(const char *, size_t);
static int	query_key_name(const char *);

struct disc_engine *
disc_new(void)
{
	struct disc_engine	*e;

	if ((e = disc_calloc(1, sizeof(*e))) == NULL)
		return (NULL);
	if ((e->root = disc_node_new("", NULL)) == NULL) {
		free(e);
		return (NULL);
	}
	return (e);
}

void
disc_free(struct disc_engine *e)
{
	size_t	i;

	if (e == NULL)
		return;
	disc_node_free(e->root);
	free(e->ops);
	for (i = 0; i < e->nschemes; i++) {
		free(e->schemes[i].name);
		free(e->schemes[i].id);
	}
	disc_comp_free(e);
	free(e->title);
	free(e->description);
	free(e->version);
	free(e->server_url);
	free(e->note);
	free(e);
}

size_t
disc_calls_used(const struct disc_engine *e)
{
	return (e == NULL ? 0 : e->used);
}

size_t
disc_calls_rejected(const struct disc_engine *e)
{
	return (e == NULL ? 0 : e->rejected);
}

size_t
disc_operation_count(const struct disc_engine *e)
{
	return (e == NULL || !e->analysed ? 0 : e->nops);
}

static int
standard_method(const char *m)
{
	static const char *const ok[] = { "GET", "PUT", "POST", "DELETE",
	    "OPTIONS", "HEAD", "PATCH", "TRACE", NULL };
	size_t	i;

	for (i = 0; ok[i] != NULL; i++)
		if (strcmp(m, ok[i]) == 0)
			return (1);
	return (0);
}

/*
 * Split "a=1&b=2&b=3" (or a form body) into a JSON object whose values
 * are typed; a name given several times becomes an array.  Names that
 * carry API keys or tokens are left out when `skip_secrets` is set: they
 * are documented as security schemes instead.
 */
json_t *
disc_form_parse(const char *q, size_t len, int skip_secrets)
{
	json_t		*o, *v, *old, *arr;
	char		*copy, *pair, *next, *eq, *name;
	size_t		 nlen, vlen, npairs = 0;

	if ((o = json_object()) == NULL)
		return (NULL);
	if (q == NULL || len == 0)
		return (o);
	if ((copy = disc_strndup(q, len)) == NULL) {
		json_decref(o);
		return (NULL);
	}
	for (pair = copy; pair != NULL && npairs < 128; pair = next) {
		if ((next = strchr(pair, '&')) != NULL)
			*next++ = '\0';
		if (*pair == '\0')
			continue;
		npairs++;
		if ((eq = strchr(pair, '=')) != NULL)
			*eq++ = '\0';
		nlen = disc_pct_decode(pair, strlen(pair), 1);
		if (nlen == 0 || strlen(pair) != nlen || nlen > 128)
			continue;
		if (skip_secrets && query_key_name(pair))
			continue;
		vlen = eq ? disc_pct_decode(eq, strlen(eq), 1) : 0;
		/* A decoded %00 ends the value: keep what precedes it. */
		(void)vlen;
		if ((name = disc_utf8_clean(pair, nlen)) == NULL)
			break;
		v = disc_coerce_value(eq ? eq : "");
		if (v == NULL) {
			free(name);
			break;
		}
		if ((old = json_object_get(o, name)) == NULL)
			json_object_set_new(o, name, v);
		else if (json_is_array(old))
			json_array_append_new(old, v);
		else {
			arr = json_array();
			json_array_append(arr, old);
			json_array_append_new(arr, v);
			json_object_set_new(o, name, arr);
		}
		free(name);
	}
	free(copy);
	return (o);
}

static const unsigned char *
find_bytes(const unsigned char *h, size_t hlen, const char *n, size_t nlen)
{
	size_t	i;

	if (nlen == 0 || hlen < nlen)
		return (NULL);
	for (i = 0; i + nlen <= hlen; i++)
		if (h[i] == (unsigned char)n[0] && memcmp(h + i, n, nlen) == 0)
			return (h + i);
	return (NULL);
}

/* Copy the value of `key="..."` (or key=token) out of a header line. */
static int
header_param(const char *line, size_t len, const char *key, char *out,
    size_t outsz)
{
	size_t		 klen = strlen(key), i, o = 0;
	const char	*p;

	for (i = 0; i + klen < len; i++) {
		p = line + i;
		if (strncasecmp(p, key, klen) != 0 || p[klen] != '=' ||
		    (i > 0 && isalnum((unsigned char)line[i - 1])))
			continue;
		p += klen + 1;
		i += klen + 1;
		if (i < len && *p == '"') {
			p++;
			i++;
			while (i < len && *p != '"' && o + 1 < outsz) {
				out[o++] = *p++;
				i++;
			}
		} else {
			while (i < len && *p != ';' && *p != ' ' &&
			    *p != '\r' && o + 1 < outsz) {
				out[o++] = *p++;
				i++;
			}
		}
		out[o] = '\0';
		return (o > 0);
	}
	return (0);
}

/*
 * A multipart/form-data body as an object of its fields: text parts are
 * typed like form values, file parts (a filename or a non-text type)
 * become the binary marker.
 */
json_t *
disc_multipart_parse(const char *ctype, const unsigned char *body,
    size_t len)
{
	char			 boundary[80], delim[84], name[128];
	char			 filename[8], pct[64];
	const unsigned char	*p, *end = body + len, *hdr_end, *next;
	json_t			*o, *v;
	size_t			 dlen, hlen, nparts = 0;
	char			*text;

	if (ctype == NULL || !header_param(ctype, strlen(ctype), "boundary",
	    boundary, sizeof(boundary)))
		return (NULL);
	dlen = (size_t)snprintf(delim, sizeof(delim), "--%s", boundary);
	if ((o = json_object()) == NULL)
		return (NULL);
	p = find_bytes(body, len, delim, dlen);
	while (p != NULL && nparts++ < 64) {
		p += dlen;
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			break;
		if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
			p += 2;
		hdr_end = find_bytes(p, (size_t)(end - p), "\r\n\r\n", 4);
		if (hdr_end == NULL)
			break;
		hlen = (size_t)(hdr_end - p);
		next = find_bytes(hdr_end + 4, (size_t)(end - hdr_end - 4),
		    delim, dlen);
		if (next == NULL)
			next = end;
		name[0] = '\0';
		pct[0] = '\0';
		(void)header_param((const char *)p, hlen, "name", name,
		    sizeof(name));
		if (name[0] != '\0') {
			const unsigned char	*b = hdr_end + 4;
			size_t			 blen = (size_t)(next - b);
			int			 file;
			const char		*ct;

			if (blen >= 2 && next != end && b[blen - 2] == '\r')
				blen -= 2;
			file = header_param((const char *)p, hlen, "filename",
			    filename, sizeof(filename)) ||
			    find_bytes(p, hlen, "filename=", 9) != NULL;
			ct = (const char *)find_bytes(p, hlen,
			    "Content-Type:", 13);
			if (ct == NULL)
				ct = (const char *)find_bytes(p, hlen,
				    "content-type:", 13);
			if (ct != NULL) {
				size_t	i = 13, k = 0;

				while (ct + i < (const char *)hdr_end &&
				    ct[i] == ' ')
					i++;
				while (ct + i < (const char *)hdr_end &&
				    ct[i] != '\r' && k + 1 < sizeof(pct))
					pct[k++] = (char)tolower(
					    (unsigned char)ct[i++]);
				pct[k] = '\0';
			}
			if (pct[0] != '\0' && strncmp(pct, "text/", 5) != 0 &&
			    strncmp(pct, "application/json", 16) != 0)
				file = 1;
			if (!file && !disc_utf8_valid((const char *)b, blen))
				file = 1;
			if (file)
				v = json_string(DISC_BINARY_MARK);
			else if ((text = disc_strndup((const char *)b,
			    blen)) != NULL) {
				v = disc_coerce_value(text);
				free(text);
			} else
				v = NULL;
			if (v != NULL && disc_utf8_valid(name, strlen(name)))
				json_object_set_new(o, name, v);
			else
				json_decref(v);
		}
		p = next == end ? NULL : next;
	}
	return (o);
}

static int
scheme_index(struct disc_engine *e, int kind, int in, const char *name,
    int name_unknown)
{
	struct disc_scheme	*s;
	size_t			 i;

	for (i = 0; i < e->nschemes; i++) {
		s = &e->schemes[i];
		if (s->kind != kind || s->in != in)
			continue;
		if (kind != DISC_SK_APIKEY || strcasecmp(s->name, name) == 0)
			return ((int)i);
	}
	if (e->nschemes >= DISC_SCHEMES_MAX)
		return (-1);
	s = &e->schemes[e->nschemes];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->in = in;
	s->name_unknown = name_unknown;
	if (name != NULL && (s->name = disc_strdup(name)) == NULL)
		return (-1);
	return ((int)e->nschemes++);
}

static int
credential_name(const char *n)
{
	if (strstr(n, "csrf") != NULL || strstr(n, "xsrf") != NULL)
		return (0);
	return (disc_is_secret_name(n) || strstr(n, "auth") != NULL);
}

/*
 * A request header that carries a credential: named like one, or hidden
 * by the capture as sensitive.  Headers that only look sensitive
 * (idempotency keys, CSRF tokens) stay ordinary parameters.
 */
static int
header_is_credential(const char *name, const char *value)
{
	if (strstr(name, "idempotency") != NULL ||
	    strstr(name, "csrf") != NULL || strstr(name, "xsrf") != NULL)
		return (0);
	return (credential_name(name) || strcmp(value, "[REDACTED]") == 0);
}

/*
 * Query parameters that carry an API key or token.  Passwords and other
 * secrets sent as ordinary parameters (a login form in the query) stay
 * parameters; their values are redacted in examples all the same.
 */
static int
query_key_name(const char *n)
{
	char	flat[64];
	size_t	i, o = 0;

	for (i = 0; n[i] != '\0' && o + 1 < sizeof(flat); i++)
		if (isalnum((unsigned char)n[i]))
			flat[o++] = (char)tolower((unsigned char)n[i]);
	flat[o] = '\0';
	return (strstr(flat, "key") != NULL || strstr(flat, "token") != NULL ||
	    strcmp(flat, "auth") == 0 || strcmp(flat, "sig") == 0 ||
	    strcmp(flat, "signature") == 0);
}

static void
use_scheme(int idx, int *seen, size_t *nseen)
{
	size_t	i;

	if (idx < 0)
		return;
	for (i = 0; i < *nseen; i++)
		if (seen[i] == idx)
			return;
	if (*nseen < DISC_SCHEMES_MAX)
		seen[(*nseen)++] = idx;
}

/* A cookie that carries a session or key rather than a preference. */
static int
cookie_is_key(const char *name, const char *value)
{
	return (credential_name(name) || strstr(name, "sess") != NULL ||
	    strcmp(name, "sid") == 0 || strstr(name, "jwt") != NULL ||
	    strncmp(value, "[REDACTED]", 10) == 0);
}

/*
 * The other cookies of a Cookie header as typed values: they are
 * parameters in: cookie.
 */
static json_t *
cookie_params(const char *v)
{
	char		 name[64], value[256];
	const char	*p = v, *eq, *end;
	size_t		 len, vlen;
	json_t		*o;

	if ((o = json_object()) == NULL)
		return (NULL);
	while (v != NULL && *p != '\0') {
		while (*p == ' ' || *p == ';')
			p++;
		if ((eq = strchr(p, '=')) == NULL)
			break;
		if ((end = strchr(eq, ';')) == NULL)
			end = eq + strlen(eq);
		len = (size_t)(eq - p);
		vlen = (size_t)(end - eq - 1);
		if (len > 0 && len < sizeof(name) && vlen < sizeof(value)) {
			memcpy(name, p, len);
			name[len] = '\0';
			memcpy(value, eq + 1, vlen);
			value[vlen] = '\0';
			if (disc_utf8_valid(name, len) &&
			    !cookie_is_key(name, value) &&
			    json_object_get(o, name) == NULL)
				json_object_set_new(o, name,
				    disc_coerce_value(value));
		}
		p = end;
	}
	return (o);
}

/* The scheme behind one Cookie header: a session-like cookie name. */
static void
detect_cookie(struct disc_engine *e, const char *v, int *seen, size_t *nseen)
{
	char		 name[64];
	const char	*p = v, *eq, *semi;
	size_t		 len;

	if (strchr(v, '=') == NULL) {
		/* Redacted whole: the cookie's name is unknown. */
		use_scheme(scheme_index(e, DISC_SK_APIKEY, DISC_IN_COOKIE,
		    "session", 1), seen, nseen);
		return;
	}
	while (*p != '\0') {
		while (*p == ' ' || *p == ';')
			p++;
		if ((eq = strchr(p, '=')) == NULL)
			break;
		semi = strchr(eq, ';');
		len = (size_t)(eq - p);
		if (len > 0 && len < sizeof(name)) {
			memcpy(name, p, len);
			name[len] = '\0';
			if (disc_utf8_valid(name, len) &&
			    cookie_is_key(name, eq + 1))
				use_scheme(scheme_index(e, DISC_SK_APIKEY,
				    DISC_IN_COOKIE, name, 0), seen, nseen);
		}
		if (semi == NULL)
			break;
		p = semi + 1;
	}
}

/*
 * Credentials in a call, as indexes into the engine's security schemes.
 * The capture keeps the scheme word of Authorization ("Bearer
 * [REDACTED]"); a bare value is an API key carried in that header.
 * Headers and query parameters named like keys or tokens, or whose value
 * was redacted at capture, are API keys too.
 */
static void
detect_credentials(struct disc_engine *e, const struct hdrs *hdrs,
    json_t *query, int *seen, size_t *nseen)
{
	const char	*k, *v, *sp;
	json_t		*jv;
	size_t		 i;
	int		 idx;

	*nseen = 0;
	for (i = 0; i < hdrs->n; i++) {
		k = hdrs->k[i];
		v = hdrs->v[i];
		if (strcmp(k, "authorization") == 0) {
			sp = strchr(v, ' ');
			if (sp != NULL && strncasecmp(v, "bearer ", 7) == 0) {
				idx = scheme_index(e, DISC_SK_BEARER,
				    DISC_IN_HEADER, NULL, 0);
				if (idx >= 0 && disc_is_secret_value(sp + 1) &&
				    strncmp(sp + 1, "eyJ", 3) == 0)
					e->schemes[idx].jwt = 1;
			} else if (sp != NULL &&
			    strncasecmp(v, "basic ", 6) == 0)
				idx = scheme_index(e, DISC_SK_BASIC,
				    DISC_IN_HEADER, NULL, 0);
			else if (sp != NULL &&
			    strncasecmp(v, "digest ", 7) == 0)
				idx = scheme_index(e, DISC_SK_DIGEST,
				    DISC_IN_HEADER, NULL, 0);
			else
				idx = scheme_index(e, DISC_SK_APIKEY,
				    DISC_IN_HEADER, "Authorization", 0);
			use_scheme(idx, seen, nseen);
		} else if (strcmp(k, "cookie") == 0)
			detect_cookie(e, v, seen, nseen);
		else if (strcmp(k, "proxy-authorization") != 0 &&
		    header_is_credential(k, v) &&
		    disc_header_notable(k, 1))
			use_scheme(scheme_index(e, DISC_SK_APIKEY,
			    DISC_IN_HEADER, k, 0), seen, nseen);
	}
	json_object_foreach(query, k, jv)
		if (query_key_name(k))
			use_scheme(scheme_index(e, DISC_SK_APIKEY,
			    DISC_IN_QUERY, k, 0), seen, nseen);
}

/* The query with every parameter, credentials included, for detection. */
static json_t *
query_names(const char *q)
{
	return (disc_form_parse(q, q ? strlen(q) : 0, 0));
}

static json_t *
notable_headers(const struct hdrs *h, int request)
{
	json_t		*o;
	size_t		 i;

	if ((o = json_object()) == NULL)
		return (NULL);
	for (i = 0; i < h->n; i++) {
		if (!disc_header_notable(h->k[i], request))
			continue;
		if (request && header_is_credential(h->k[i], h->v[i]))
			continue;
		json_object_set_new(o, h->k[i], disc_coerce_value(h->v[i]));
	}
	return (o);
}

static void
hdrs_free(struct hdrs *h)
{
	free(h->mem);
	json_decref(h->json);
	memset(h, 0, sizeof(*h));
}

/* One JSON string at *pp copied unescaped to *op; NULL to fall back. */
static const char *
hdrs_string(const char **pp, char **op)
{
	const char	*p = *pp;
	char		*o = *op, *start = *op;

	if (*p++ != '"')
		return (NULL);
	for (; *p != '"'; p++) {
		if ((unsigned char)*p < 0x20)
			return (NULL);
		if (*p != '\\') {
			*o++ = *p;
			continue;
		}
		switch (*++p) {
		case '"':
		case '\\':
		case '/':
			*o++ = *p;
			break;
		case 'b':
			*o++ = '\b';
			break;
		case 'f':
			*o++ = '\f';
			break;
		case 'n':
			*o++ = '\n';
			break;
		case 'r':
			*o++ = '\r';
			break;
		case 't':
			*o++ = '\t';
			break;
		default:
			/* \u escapes and anything odd: let jansson do it. */
			return (NULL);
		}
	}
	*o++ = '\0';
	*pp = p + 1;
	*op = o;
	return (start);
}

static const char *
skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return (p);
}

static void
hdrs_add(struct hdrs *h, const char *k, const char *v)
{
	if (h->n < HDRS_MAX && disc_utf8_valid(k, strlen(k)) &&
	    disc_utf8_valid(v, strlen(v))) {
		h->k[h->n] = k;
		h->v[h->n] = v;
		h->n++;
	}
}

/*
 * Header sets are flat objects of strings and arrive with every call,
 * so the common case is read directly; anything unusual (escapes,
 * non-string values) goes through jansson.
 */
static int
hdrs_fast(const char *t, struct hdrs *h)
{
	const char	*p = skip_ws(t), *k, *v;
	char		*o;

	if ((h->mem = malloc(strlen(t) + 1)) == NULL)
		return (-1);
	o = h->mem;
	if (*p++ != '{')
		return (-1);
	p = skip_ws(p);
	if (*p == '}')
		return (*skip_ws(p + 1) == '\0' ? 0 : -1);
	for (;;) {
		p = skip_ws(p);
		if ((k = hdrs_string(&p, &o)) == NULL)
			return (-1);
		p = skip_ws(p);
		if (*p++ != ':')
			return (-1);
		p = skip_ws(p);
		if ((v = hdrs_string(&p, &o)) == NULL)
			return (-1);
		hdrs_add(h, k, v);
		p = skip_ws(p);
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p++ != '}')
			return (-1);
		return (*skip_ws(p) == '\0' ? 0 : -1);
	}
}

static void
hdrs_load(const char *text, struct hdrs *h)
{
	const char	*k;
	json_t		*v;

	memset(h, 0, sizeof(*h));
	if (text == NULL || *text == '\0')
		return;
	if (hdrs_fast(text, h) == 0)
		return;
	hdrs_free(h);
	h->json = json_loads(text, 0, NULL);
	if (!json_is_object(h->json))
		return;
	json_object_foreach(h->json, k, v)
		if (json_is_string(v))
			hdrs_add(h, k, json_string_value(v));
}

static const char *
hdrs_get(const struct hdrs *h, const char *name)
{
	size_t	i;

	for (i = 0; i < h->n; i++)
		if (strcmp(h->k[i], name) == 0)
			return (h->v[i]);
	return (NULL);
}

/* Parameters of one call, as an object (possibly empty). */
static int
fold_params(struct disc_schema *s, json_t *o)
{
	if (json_object_size(o) == 0) {
		disc_schema_add_empty(s);
		return (0);
	}
	return (disc_schema_add(s, o));
}

static struct disc_op *
op_get(struct disc_engine *e, struct disc_node *n, const char *method)
{
	struct disc_op	*op;
	size_t		 i, cap = n->nops;
	void		*p;

	for (i = 0; i < n->nops; i++)
		if (strcmp(n->ops[i]->method, method) == 0)
			return (n->ops[i]);
	if (e->nops_total >= DISC_OPS_MAX)
		return (NULL);
	p = n->ops;
	if (disc_grow(&p, &cap, n->nops + 1, sizeof(*n->ops)) == -1)
		return (NULL);
	n->ops = p;
	if ((op = disc_calloc(1, sizeof(*op))) == NULL)
		return (NULL);
	(void)snprintf(op->method, sizeof(op->method), "%s", method);
	op->node = n;
	if ((op->query = disc_schema_new()) == NULL ||
	    (op->headers = disc_schema_new()) == NULL ||
	    (op->cookies = disc_schema_new()) == NULL) {
		disc_op_free(op);
		return (NULL);
	}
	n->ops[n->nops++] = op;
	e->nops_total++;
	return (op);
}

static struct disc_status *
status_get(struct disc_op *op, int code)
{
	struct disc_status	*st;
	size_t			 i, cap = op->nst;
	void			*p;

	for (i = 0; i < op->nst; i++)
		if (op->st[i].code == code)
			return (&op->st[i]);
	if (op->nst >= DISC_STATUSES_MAX)
		return (NULL);
	p = op->st;
	if (disc_grow(&p, &cap, op->nst + 1, sizeof(*op->st)) == -1)
		return (NULL);
	op->st = p;
	st = &op->st[op->nst];
	memset(st, 0, sizeof(*st));
	st->code = code;
	if ((st->headers = disc_schema_new()) == NULL)
		return (NULL);
	op->nst++;
	return (st);
}

/* When the capture did not say, guess the media type from the bytes. */
static void
sniff_media(const unsigned char *b, size_t len, char *out, size_t outsz)
{
	size_t	i = 0;

	while (i < len && isspace(b[i]))
		i++;
	if (i < len && (b[i] == '{' || b[i] == '['))
		(void)snprintf(out, outsz, "application/json");
	else if (memchr(b, '\0', len) == NULL &&
	    disc_utf8_valid((const char *)b, len))
		(void)snprintf(out, outsz, "text/plain");
	else
		(void)snprintf(out, outsz, "application/octet-stream");
}

/*
 * An example's rank: bodies with more fields (up to a cap) first, then
 * the smallest hash, so the pick is the same in any order of calls.
 */
static uint64_t
example_key(size_t leaves, const unsigned char *b, size_t len)
{
	if (leaves > 4000)
		leaves = 4000;
	return (((uint64_t)(4000 - leaves) << 50) |
	    (disc_hash(b, len) >> 14));
}

static void
example_keep(struct disc_media *m, uint64_t key, const unsigned char *b,
    size_t len)
{
	char	*ex;

	if (len > DISC_EXAMPLE_MAX || (m->ex != NULL && key >= m->exkey))
		return;
	if ((ex = disc_strndup((const char *)b, len)) == NULL)
		return;
	free(m->ex);
	m->ex = ex;
	m->exlen = len;
	m->exkey = key;
}

static int
body_add(struct disc_media **list, size_t *n, const char *raw_ct,
    const unsigned char *b, size_t len)
{
	struct disc_media	*m;
	char			 ct[128];
	size_t			 i, cap = *n;
	json_t			*v = NULL;
	json_error_t		 jerr;
	void			*p;
	int			 rc = 0;

	disc_media_norm(raw_ct, ct, sizeof(ct));
	if (ct[0] == '\0')
		sniff_media(b, len, ct, sizeof(ct));
	for (i = 0; i < *n; i++)
		if (strcmp((*list)[i].ctype, ct) == 0)
			break;
	if (i == *n) {
		if (*n >= DISC_MEDIA_MAX)
			return (0);
		p = *list;
		if (disc_grow(&p, &cap, *n + 1, sizeof(**list)) == -1)
			return (-1);
		*list = p;
		m = &(*list)[*n];
		memset(m, 0, sizeof(*m));
		if ((m->ctype = disc_strdup(ct)) == NULL)
			return (-1);
		m->kind = disc_media_kind(ct);
		(*n)++;
	}
	m = &(*list)[i];
	m->n++;

	switch (m->kind) {
	case DISC_MK_JSON:
		if (len <= DISC_BODY_PARSE_MAX)
			v = json_loadb((const char *)b, len,
			    JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
		break;
	case DISC_MK_FORM:
		if (memchr(b, '\0', len) == NULL)
			v = disc_form_parse((const char *)b, len, 0);
		break;
	case DISC_MK_MULTI:
		v = disc_multipart_parse(raw_ct, b, len);
		break;
	case DISC_MK_TEXT:
		if (disc_utf8_valid((const char *)b, len) &&
		    memchr(b, '\0', len) == NULL)
			example_keep(m, example_key(0, b, len), b, len);
		else
			m->nbad++;
		return (0);
	default:
		return (0);
	}
	if (v == NULL) {
		m->nbad++;
		return (0);
	}
	if (m->schema == NULL && (m->schema = disc_schema_new()) == NULL)
		rc = -1;
	else
		rc = disc_schema_add(m->schema, v);
	if (m->kind != DISC_MK_MULTI)
		example_keep(m, example_key(disc_json_leaves(v, 4000), b, len),
		    b, len);
	json_decref(v);
	return (rc);
}

/* Method names: a short run of letters, upper-cased. */
static int
method_norm(const char *in, char *out, size_t outsz)
{
	size_t	i;

	for (i = 0; in[i] != '\0'; i++) {
		if (i + 1 >= outsz || !isalpha((unsigned char)in[i]))
			return (-1);
		out[i] = (char)toupper((unsigned char)in[i]);
	}
	out[i] = '\0';
	return (i == 0 ? -1 : 0);
}

int
disc_add_call(struct disc_engine *e, const struct disc_call *c)
{
	struct disc_node	*node;
	struct disc_op		*op;
	struct disc_status	*st;
	struct hdrs		 rh, ph;
	json_t			*q = NULL, *all = NULL, *nh = NULL;
	char			 method[DISC_METHOD_MAX + 1];
	int			 seen[DISC_SCHEMES_MAX], ok, rc = -1;
	size_t			 nseen = 0, i;

	if (e == NULL || c == NULL || e->analysed)
		return (-1);
	memset(&rh, 0, sizeof(rh));
	memset(&ph, 0, sizeof(ph));
	if (c->method == NULL || c->path == NULL ||
	    method_norm(c->method, method, sizeof(method)) == -1 ||
	    c->status < 100 || c->status > 599 || strlen(c->path) > 8192 ||
	    (c->req_body == NULL && c->req_body_len > 0) ||
	    (c->resp_body == NULL && c->resp_body_len > 0))
		goto done;
	if (!standard_method(method)) {
		/* OpenAPI has no place for other methods; count them. */
		e->dropped_methods++;
		e->used++;
		return (0);
	}
	hdrs_load(c->req_headers_json, &rh);
	hdrs_load(c->resp_headers_json, &ph);
	if (strcmp(method, "OPTIONS") == 0 &&
	    hdrs_get(&rh, "access-control-request-method") != NULL) {
		/* A browser's CORS preflight is not part of the API. */
		e->used++;
		rc = 0;
		goto done;
	}
	if ((node = disc_path_insert(e, c->path)) == NULL)
		goto done;
	if ((op = op_get(e, node, method)) == NULL)
		goto done;
	ok = c->status >= 200 && c->status < 400;

	op->n++;
	if (c->duration_ms >= 0) {
		if (op->dn == 0 || c->duration_ms < op->dmin)
			op->dmin = c->duration_ms;
		if (op->dn == 0 || c->duration_ms > op->dmax)
			op->dmax = c->duration_ms;
		op->dsum += (double)c->duration_ms;
		op->dn++;
	}

	all = query_names(c->query);
	detect_credentials(e, &rh, all, seen, &nseen);
	for (i = 0; i < nseen; i++) {
		op->sec[seen[i]]++;
		e->schemes[seen[i]].n++;
	}
	if (nseen == 0) {
		op->nanon++;
		if (ok)
			op->nanon_ok++;
	}

	q = disc_form_parse(c->query, c->query ? strlen(c->query) : 0, 1);
	if (q == NULL || fold_params(op->query, q) == -1)
		goto done;
	if ((nh = notable_headers(&rh, 1)) == NULL ||
	    fold_params(op->headers, nh) == -1)
		goto done;
	json_decref(nh);
	if ((nh = cookie_params(hdrs_get(&rh, "cookie"))) == NULL ||
	    fold_params(op->cookies, nh) == -1)
		goto done;
	json_decref(nh);
	nh = NULL;

	if (c->req_body_len > 0) {
		if (body_add(&op->req, &op->nreq, c->req_content_type,
		    c->req_body, c->req_body_len) == -1)
			goto done;
	} else
		op->nreq_empty++;

	if ((st = status_get(op, c->status)) == NULL) {
		rc = 0;
		e->used++;
		goto done;
	}
	st->n++;
	if ((nh = notable_headers(&ph, 0)) == NULL ||
	    fold_params(st->headers, nh) == -1)
		goto done;
	if (c->resp_body_len > 0) {
		if (body_add(&st->media, &st->nmedia, c->resp_content_type,
		    c->resp_body, c->resp_body_len) == -1)
			goto done;
	} else
		st->nempty++;
	e->used++;
	rc = 0;
done:
	if (rc == -1)
		e->rejected++;
	hdrs_free(&rh);
	hdrs_free(&ph);
	json_decref(q);
	json_decref(all);
	json_decref(nh);
	return (rc);
}

static int
scheme_order(const void *a, const void *b)
{
	const struct disc_scheme	*sa = a, *sb = b;

	return (strcmp(sa->id, sb->id));
}

/*
 * Stable component names for the schemes: bearerAuth, basicAuth, and
 * for API keys the key's own name with where it travels.
 */
static int
name_schemes(struct disc_engine *e)
{
	struct disc_scheme	*s;
	char			 camel[80], id[120];
	size_t			 i, j, k;
	int			 remap[DISC_SCHEMES_MAX];
	struct disc_scheme	 sorted[DISC_SCHEMES_MAX];
	unsigned long		 sec[DISC_SCHEMES_MAX];

	for (i = 0; i < e->nschemes; i++) {
		s = &e->schemes[i];
		switch (s->kind) {
		case DISC_SK_BEARER:
			(void)snprintf(id, sizeof(id), "bearerAuth");
			break;
		case DISC_SK_BASIC:
			(void)snprintf(id, sizeof(id), "basicAuth");
			break;
		case DISC_SK_DIGEST:
			(void)snprintf(id, sizeof(id), "digestAuth");
			break;
		default:
			disc_camel(s->name, camel, sizeof(camel), 0);
			(void)snprintf(id, sizeof(id), "%s%s",
			    camel[0] ? camel : "apiKey",
			    s->in == DISC_IN_QUERY ? "Query" :
			    s->in == DISC_IN_COOKIE ? "Cookie" : "Header");
		}
		free(s->id);
		if ((s->id = disc_strdup(id)) == NULL)
			return (-1);
	}
	/* Sort the schemes by id and renumber every operation's counts. */
	memcpy(sorted, e->schemes, sizeof(sorted));
	if (e->nschemes > 1)
		qsort(sorted, e->nschemes, sizeof(sorted[0]), scheme_order);
	for (i = 0; i < e->nschemes; i++)
		for (j = 0; j < e->nschemes; j++)
			if (e->schemes[i].id == sorted[j].id)
				remap[i] = (int)j;
	for (k = 0; k < e->nops; k++) {
		memset(sec, 0, sizeof(sec));
		for (i = 0; i < e->nschemes; i++)
			sec[remap[i]] = e->ops[k]->sec[i];
		memcpy(e->ops[k]->sec, sec, sizeof(sec));
	}
	memcpy(e->schemes, sorted, sizeof(sorted));
	return (0);
}

static int
status_order(const void *a, const void *b)
{
	const struct disc_status	*sa = a, *sb = b;

	return (sa->code - sb->code);
}

static int
media_order(const void *a, const void *b)
{
	const struct disc_media	*ma = a, *mb = b;

	return (strcmp(ma->ctype, mb->ctype));
}

/* Statuses and media types in a fixed order, whatever came first. */
static void
sort_op(struct disc_op *op)
{
	size_t	i;

	if (op->nst > 1)
		qsort(op->st, op->nst, sizeof(*op->st), status_order);
	if (op->nreq > 1)
		qsort(op->req, op->nreq, sizeof(*op->req), media_order);
	for (i = 0; i < op->nst; i++)
		if (op->st[i].nmedia > 1)
			qsort(op->st[i].media, op->st[i].nmedia,
			    sizeof(*op->st[i].media), media_order);
}

int
disc_analyse(struct disc_engine *e)
{
	size_t	i;

	if (e == NULL)
		return (-1);
	if (e->analysed)
		return (0);
	if (disc_path_settle(e) == -1)
		return (-1);
	for (i = 0; i < e->nops; i++)
		sort_op(e->ops[i]);
	if (name_schemes(e) == -1)
		return (-1);
	if (disc_comp_lift(e) == -1)
		return (-1);
	e->analysed = 1;
	return (0);
}

/* Text from outside must be UTF-8 without NULs and within `max`. */
static int
check_text(const char *s, size_t max)
{
	size_t	len;

	if (s == NULL)
		return (0);
	len = strlen(s);
	if (len > max || !disc_utf8_valid(s, len))
		return (-1);
	return (0);
}

static int
replace(char **dst, const char *s)
{
	char	*c;

	if (s == NULL)
		return (0);
	if ((c = disc_strdup(s)) == NULL)
		return (-1);
	free(*dst);
	*dst = c;
	return (0);
}

int
disc_annotate(struct disc_engine *e, const char *op_id, const char *summary,
    const char *description, const char **tags, size_t ntags)
{
	struct disc_op	*op = NULL;
	char		**nt = NULL;
	size_t		  i;

	if (e == NULL || !e->analysed || op_id == NULL)
		return (-1);
	if (check_text(summary, DISC_SUMMARY_MAX) == -1 ||
	    check_text(description, DISC_DESCRIPTION_MAX) == -1 ||
	    ntags > DISC_TAGS_MAX || (ntags > 0 && tags == NULL))
		return (-1);
	for (i = 0; i < ntags; i++)
		if (tags[i] == NULL || tags[i][0] == '\0' ||
		    check_text(tags[i], DISC_TAG_MAX) == -1)
			return (-1);
	for (i = 0; i < e->nops; i++)
		if (strcmp(e->ops[i]->id, op_id) == 0)
			op = e->ops[i];
	if (op == NULL)
		return (1);
	if (tags != NULL && ntags > 0) {
		if ((nt = calloc(ntags, sizeof(*nt))) == NULL)
			return (-1);
		for (i = 0; i < ntags; i++)
			if ((nt[i] = disc_strdup(tags[i])) == NULL)
				goto fail;
	}
	if (replace(&op->summary, summary) == -1 ||
	    replace(&op->description, description) == -1)
		goto fail;
	if (nt != NULL) {
		for (i = 0; i < op->ntags; i++)
			free(op->tags[i]);
		free(op->tags);
		op->tags = nt;
		op->ntags = ntags;
	}
	return (0);
fail:
	if (nt != NULL) {
		for (i = 0; i < ntags; i++)
			free(nt[i]);
		free(nt);
	}
	return (-1);
}

int
disc_set_info(struct disc_engine *e, const char *title,
    const char *description, const char *version, const char *server_url,
    const char *note)
{
	if (e == NULL)
		return (-1);
	if (check_text(title, DISC_TITLE_MAX) == -1 ||
	    check_text(description, DISC_DESCRIPTION_MAX) == -1 ||
	    check_text(version, 64) == -1 ||
	    check_text(server_url, 2048) == -1 ||
	    check_text(note, 1000) == -1)
		return (-1);
	if (replace(&e->title, title) == -1 ||
	    replace(&e->description, description) == -1 ||
	    replace(&e->version, version) == -1 ||
	    replace(&e->server_url, server_url) == -1 ||
	    replace(&e->note, note) == -1)
		return (-1);
	return (0);
}

static void
field_names(json_t *arr, const struct disc_schema *s, const char *prefix,
    int depth, size_t *left)
{
	char	name[256];
	size_t	i;

	if (s == NULL || depth > 3)
		return;
	if ((s->types & DISC_T_ARR) && s->items != NULL &&
	    !(s->types & DISC_T_OBJ)) {
		(void)snprintf(name, sizeof(name), "%s[]", prefix);
		field_names(arr, s->items, name, depth + 1, left);
		return;
	}
	if (s->map) {
		if (*left > 0) {
			(void)snprintf(name, sizeof(name), "%s{*}", prefix);
			json_array_append_new(arr, disc_jstr(name));
			(*left)--;
		}
		return;
	}
	for (i = 0; i < s->nprops && *left > 0; i++) {
		(void)snprintf(name, sizeof(name), "%s%s%s", prefix,
		    prefix[0] ? "." : "", s->props[i].name);
		json_array_append_new(arr, disc_jstr(name));
		(*left)--;
		field_names(arr, s->props[i].s, name, depth + 1, left);
	}
}

char *
disc_summary_json(struct disc_engine *e, size_t off, size_t max)
{
	json_t			*root, *ops, *o, *params, *st, *f;
	const struct disc_op	*op;
	size_t			 i, j, left, end;
	char			*out;

	if (e == NULL || !e->analysed)
		return (NULL);
	root = json_object();
	ops = json_array();
	json_object_set_new(root, "operationCount", json_integer(
	    (json_int_t)e->nops));
	end = off > e->nops ? e->nops : off;
	end = max > e->nops - end ? e->nops : end + max;
	for (i = off; i < end; i++) {
		op = e->ops[i];
		o = json_object();
		json_object_set_new(o, "id", json_string(op->id));
		json_object_set_new(o, "method", json_string(op->method));
		json_object_set_new(o, "path", disc_jstr(op->tmpl));
		json_object_set_new(o, "calls", json_integer(
		    (json_int_t)op->n));
		params = disc_op_parameters(e, op);
		f = json_array();
		for (j = 0; params != NULL && j < json_array_size(params);
		    j++) {
			json_t	*p = json_array_get(params, j);
			char	 text[200];

			(void)snprintf(text, sizeof(text), "%s (%s)",
			    json_string_value(json_object_get(p, "name")),
			    json_string_value(json_object_get(p, "in")));
			json_array_append_new(f, disc_jstr(text));
		}
		json_decref(params);
		json_object_set_new(o, "params", f);
		f = json_array();
		left = 40;
		for (j = 0; j < op->nreq; j++)
			field_names(f, op->req[j].schema, "", 0, &left);
		json_object_set_new(o, "requestFields", f);
		f = json_array();
		st = json_array();
		left = 40;
		for (j = 0; j < op->nst; j++) {
			json_array_append_new(st, json_integer(op->st[j].code));
			if (op->st[j].code < 300 && op->st[j].nmedia > 0)
				field_names(f, op->st[j].media[0].schema, "",
				    0, &left);
		}
		json_object_set_new(o, "responseFields", f);
		json_object_set_new(o, "statuses", st);
		json_array_append_new(ops, o);
	}
	json_object_set_new(root, "operations", ops);
	out = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return (out);
}
