/*
 * Redaction of what capture stores.
 *
 * Captured calls end up in the database and on the user's screen, so
 * credentials in them are replaced before storage: header values by
 * name, and the values of secret-looking fields in query strings, form
 * bodies and JSON bodies.  The marker keeps the shape the discovery
 * engine needs: "Bearer [REDACTED]" still says which auth scheme is in
 * use, cookie names stay, and a JSON value stays a JSON value.
 *
 * Field names are judged by words rather than substrings.  A name is
 * cut into words at separators, at camelCase humps and between letters
 * and digits, so "clientSecret", "client_secret" and "CLIENT-SECRET" are
 * the same two words.  A name is secret when one of its words is a
 * secret word (password, token, secret, ...), when a word ends in a long
 * secret word ("accesstoken"), or when two words make a secret pair
 * ("api key", "card number") -- unless the next word shows the field is
 * only about the secret ("token_type", "password_updated_at").  So
 * "tokenizer_version" and "max_tokens" are kept.
 *
 * The JSON scanner runs on the proxy's hot path for every call: it is a
 * single pass over the input with a fixed bit stack for nesting, no
 * allocation, and output made of whole runs of input copied with memcpy
 * between replacements.  Field names cost more than the rest of the
 * scan, so the verdict on each key is remembered for the rest of the
 * body: a list of objects pays for its keys once.  Input that is not
 * JSON is reported so the caller stores it unchanged.
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "redact.h"

/* Nesting deeper than this is treated as not JSON. */
#define REDACT_JSON_DEPTH	1024
/* Keys with escapes are decoded into this much room for matching. */
#define REDACT_KEY_MAX		256

/* Character classes of field names. */
#define RC_OTHER		0
#define RC_LOWER		1
#define RC_UPPER		2
#define RC_DIGIT		3

#define JS_OK			0
#define JS_EOF			1
#define JS_BAD			2
#define JS_NOSPACE		3

struct redact_out {
	char		*p;
	char		*end;
	int		 full;
};

/* Longest word the tables need to see whole; longer ones keep a tail. */
#define REDACT_WORD_MAX		16

/* One word of a field name: where it is, and its lower-case form. */
struct redact_word {
	const char	*p;
	size_t		 n;
	char		 lw[REDACT_WORD_MAX + 1];	/* last 16 bytes */
	size_t		 lwn;
};

/* A lower-case name with its length, so matching needs no strlen. */
struct redact_name {
	const char	*s;
	size_t		 n;
};
#define RN(x)		{ (x), sizeof(x) - 1 }
#define RN_END		{ NULL, 0 }

struct redact_pair {
	struct redact_name	first;
	struct redact_name	second;
};

/*
 * Verdicts on keys already seen in this body.  Lists of objects repeat
 * the same keys over and over; a hit costs one memcmp instead of a
 * word-by-word match.
 */
#define JSON_MEMO_BITS		5
#define JSON_MEMO_SLOTS		(1 << JSON_MEMO_BITS)

struct json_memo {
	const char	*key;		/* into the input, valid for the call */
	size_t		 len;
	int		 secret;
};

struct jscan {
	const char	*p;
	const char	*end;
	const char	*copy;		/* input not yet copied to out */
	char		*o;
	char		*oend;
	int		 partial;
	int		 redacted;
	int		 started;	/* a value has begun */
	int		 skipping;	/* inside a redacted container */
	unsigned int	 skip_depth;	/* its depth */
	unsigned int	 depth;
	uint64_t	 stack[REDACT_JSON_DEPTH / 64];
	struct json_memo memo[JSON_MEMO_SLOTS];
};

static int	redact_class(int);
static int	redact_is_digit(int);
static int	redact_is_upper(int);
static int	redact_is_lower(int);
static int	redact_lower(int);
static int	redact_is_hex(int);
static int	redact_hexval(int);
static int	redact_word_is(const struct redact_word *,
		    const struct redact_name *);
static int	redact_word_listed(const struct redact_word *,
		    const char *const *, size_t);
static int	redact_word_ends(const struct redact_word *,
		    const struct redact_name *);
static size_t	redact_next_word(const char *, size_t, size_t *,
		    struct redact_word *);
static int	redact_word_secret(const struct redact_word *,
		    const struct redact_word *, const struct redact_word *);
static int	redact_name_has(const char *, const char *);
static void	redact_put(struct redact_out *, const char *, size_t);
static void	redact_puts(struct redact_out *, const char *);
static size_t	redact_decode_url(const char *, size_t, char *, size_t);
static int	redact_urlencoded(const char *, size_t, char *, size_t,
		    size_t *);
static int	json_emit(struct jscan *, const char *, size_t);
static int	json_redact_begin(struct jscan *, const char *);
static int	json_string(struct jscan *, int *);
static int	json_number(struct jscan *);
static int	json_literal(struct jscan *, int *);
static size_t	json_memo_slot(const char *, size_t);
static int	json_key_secret(struct jscan *, const char *, size_t, int);
static int	json_scan(struct jscan *);

/*
 * Words that make a name secret wherever they stand.  Kept in strcmp()
 * order: they are found by binary search (redact_selftest checks it).
 */
static const char *const redact_secret_words[] = {
	"accesskey", "apikey", "auth", "authorization", "bearer",
	"cardnumber", "ccnum", "ccnumber", "ccv", "cookie", "credential",
	"credentials", "creditcard", "cvc", "cvv", "jwt", "otp", "pass",
	"passcode", "passphrase", "passwd", "password", "pin", "privatekey",
	"pwd", "secret", "secretkey", "secrets", "securitycode", "sessionid",
	"sessionkey", "ssn", "token",
};

/*
 * For each first letter, a bit for each length of the words above that
 * start with it: most words of a field name are turned away by one load
 * before any string comparison.  redact_selftest checks it against the
 * table.
 */
static const uint16_t redact_first_len[26] = {
	0x2250, 0x0040, 0x0d68, 0, 0, 0, 0, 0, 0, 0x0008,	/* a - j */
	0, 0, 0, 0, 0x0008, 0x0558, 0, 0, 0x16c8, 0x0020,	/* k - t */
	0, 0, 0, 0, 0, 0					/* u - z */
};

/* A word ending in one of these is secret ("accesstoken", "newpassword"). */
static const struct redact_name redact_secret_suffixes[] = {
	RN("password"), RN("passwd"), RN("passphrase"), RN("secret"),
	RN("token"), RN("apikey"), RN("privatekey"), RN("sessionid"),
	RN("authorization"), RN_END
};

/* The class of every byte, so scanning a name costs a load a byte. */
#define RC2(c, k)	[(c)] = (k), [(c) + 1] = (k)
#define RC4(c, k)	RC2((c), (k)), RC2((c) + 2, (k))
#define RC8(c, k)	RC4((c), (k)), RC4((c) + 4, (k))
#define RC16(c, k)	RC8((c), (k)), RC8((c) + 8, (k))
#define RC26(c, k)	RC16((c), (k)), RC8((c) + 16, (k)), RC2((c) + 24, (k))
static const unsigned char redact_classes[256] = {
	RC26('a', RC_LOWER), RC26('A', RC_UPPER), RC8('0', RC_DIGIT),
	RC2('8', RC_DIGIT)
};

/* Letter masks that turn most words away before any comparison. */
#define RL(c)		(1UL << ((c) - 'a'))
/* The last letters of the suffixes above. */
#define REDACT_SUFFIX_LAST \
	(RL('d') | RL('e') | RL('n') | RL('t') | RL('y'))
/* The first letters of the second words of the pairs below. */
#define REDACT_PAIR_SECOND \
	(RL('c') | RL('i') | RL('k') | RL('n') | RL('s'))

/* Two words in a row that make a name secret. */
static const struct redact_pair redact_secret_pairs[] = {
	{ RN("api"), RN("key") }, { RN("private"), RN("key") },
	{ RN("secret"), RN("key") }, { RN("access"), RN("key") },
	{ RN("signing"), RN("key") }, { RN("encryption"), RN("key") },
	{ RN("master"), RN("key") }, { RN("session"), RN("key") },
	{ RN("session"), RN("id") }, { RN("card"), RN("number") },
	{ RN("card"), RN("num") }, { RN("credit"), RN("card") },
	{ RN("cc"), RN("number") }, { RN("cc"), RN("num") },
	{ RN("security"), RN("code") }, { RN("social"), RN("security") },
	{ RN("account"), RN("number") }, { RN_END, RN_END }
};

/*
 * A word after the secret one that shows the field only describes it.
 * In strcmp() order, like redact_secret_words.
 */
static const char *const redact_benign_next[] = {
	"at", "changed", "count", "counts", "enabled", "endpoint", "exp",
	"expiration", "expires", "expiry", "format", "hint", "kind", "len",
	"length", "limit", "limits", "max", "method", "methods", "min", "mode",
	"name", "names", "policy", "remaining", "required", "rules", "scheme",
	"set", "strength", "ttl", "type", "types", "updated", "uri", "url",
	"usage", "used", "version",
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static const struct redact_name redact_session = RN("session");

/* Header names that are secret as a whole, and parts of names. */
static const char *const redact_header_names[] = {
	"authorization", "proxy-authorization", "cookie", "set-cookie",
	"set-cookie2", "x-api-key", "api-key", "apikey", "x-auth",
	"x-auth-key", "x-functions-key", "ocp-apim-subscription-key", NULL
};
static const char *const redact_header_parts[] = {
	"token", "secret", "passw", "session", "credential", "authorization",
	"apikey", "api-key", "api_key", "access-key", "private-key", NULL
};

static int
redact_class(int c)
{
	return (redact_classes[c & 0xff]);
}

static int
redact_is_digit(int c)
{
	return (c >= '0' && c <= '9');
}

static int
redact_is_upper(int c)
{
	return (c >= 'A' && c <= 'Z');
}

static int
redact_is_lower(int c)
{
	return (c >= 'a' && c <= 'z');
}

static int
redact_lower(int c)
{
	return (redact_is_upper(c) ? c - 'A' + 'a' : c);
}

static int
redact_is_hex(int c)
{
	return (redact_is_digit(c) || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F'));
}

static int
redact_hexval(int c)
{
	if (redact_is_digit(c))
		return (c - '0');
	return (redact_lower(c) - 'a' + 10);
}

/* Whether a word (of any case) is the lower-case name. */
static int
redact_word_is(const struct redact_word *w, const struct redact_name *name)
{
	if (w == NULL || w->n != name->n || w->lw[0] != name->s[0])
		return (0);
	return (memcmp(w->lw, name->s, name->n) == 0);
}

/* Binary search of a sorted table; long words are in none of them. */
static int
redact_word_listed(const struct redact_word *w, const char *const *list,
    size_t n)
{
	size_t	lo, hi, mid;
	int	cmp;

	if (w == NULL || w->n > REDACT_WORD_MAX)
		return (0);

	lo = 0;
	hi = n;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		/* Comparing the first byte inline settles most steps. */
		cmp = (unsigned char)w->lw[0] - (unsigned char)list[mid][0];
		if (cmp == 0)
			cmp = strcmp(w->lw, list[mid]);
		if (cmp == 0)
			return (1);
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}

	return (0);
}

static int
redact_word_ends(const struct redact_word *w, const struct redact_name *list)
{
	for (; list->s != NULL; list++) {
		/* The last letters differ for almost every word. */
		if (w->n <= list->n ||
		    w->lw[w->lwn - 1] != list->s[list->n - 1])
			continue;
		if (memcmp(w->lw + w->lwn - list->n, list->s, list->n) == 0)
			return (1);
	}

	return (0);
}

int
redact_selftest(void)
{
	uint16_t	mask[26];
	size_t		i, n;
	int		c;

	for (i = 1; i < NELEM(redact_secret_words); i++) {
		if (strcmp(redact_secret_words[i - 1],
		    redact_secret_words[i]) >= 0)
			return (0);
	}
	for (i = 1; i < NELEM(redact_benign_next); i++) {
		if (strcmp(redact_benign_next[i - 1],
		    redact_benign_next[i]) >= 0)
			return (0);
	}
	memset(mask, 0, sizeof(mask));
	for (i = 0; i < NELEM(redact_secret_words); i++) {
		n = strlen(redact_secret_words[i]);
		c = (unsigned char)redact_secret_words[i][0];
		if (n >= 16 || !redact_is_lower(c))
			return (0);
		mask[c - 'a'] |= (uint16_t)(1U << n);
	}
	if (memcmp(mask, redact_first_len, sizeof(mask)) != 0)
		return (0);

	/* The letter masks hold every suffix end and pair second word. */
	for (i = 0; redact_secret_suffixes[i].s != NULL; i++) {
		c = (unsigned char)redact_secret_suffixes[i].s[
		    redact_secret_suffixes[i].n - 1];
		if (!redact_is_lower(c) || !(REDACT_SUFFIX_LAST & RL(c)))
			return (0);
	}
	for (i = 0; redact_secret_pairs[i].first.s != NULL; i++) {
		c = (unsigned char)redact_secret_pairs[i].second.s[0];
		if (!redact_is_lower(c) || !(REDACT_PAIR_SECOND & RL(c)))
			return (0);
	}

	return (1);
}

/*
 * The next word of a field name from *pos: a run of letters or of
 * digits, cut where camelCase starts a new word ("apiKey", "APIKey").
 * Returns its length, 0 at the end.
 */
static size_t
redact_next_word(const char *s, size_t len, size_t *pos,
    struct redact_word *w)
{
	char	lw[REDACT_WORD_MAX];	/* local: stores to it alias nothing */
	size_t	i, start, n;
	int	c, cl, prev;

	for (i = *pos; i < len; i++) {
		if (redact_class((unsigned char)s[i]) != RC_OTHER)
			break;
	}
	if (i == len) {
		*pos = i;
		return (0);
	}

	/* Scan and lower-case in one go. */
	start = i;
	c = (unsigned char)s[i];
	prev = redact_class(c);
	lw[0] = (char)(prev == RC_UPPER ? c | 0x20 : c);
	i++;

	/* Fast path: most names are runs of lower-case letters. */
	if (prev != RC_DIGIT) {
		while (i < len && i - start < REDACT_WORD_MAX &&
		    redact_class((unsigned char)s[i]) == RC_LOWER) {
			lw[i - start] = s[i];
			i++;
		}
		if (i > start + 1)
			prev = RC_LOWER;
	}

	for (; i < len; i++) {
		c = (unsigned char)s[i];
		cl = redact_class(c);
		if (cl == RC_OTHER || (cl == RC_DIGIT) != (prev == RC_DIGIT))
			break;
		if (cl == RC_UPPER && (prev == RC_LOWER || (prev == RC_UPPER &&
		    i + 1 < len &&
		    redact_class((unsigned char)s[i + 1]) == RC_LOWER)))
			break;
		if (i - start < REDACT_WORD_MAX)
			lw[i - start] = (char)(cl == RC_UPPER ? c | 0x20 : c);
		prev = cl;
	}
	*pos = i;
	n = i - start;

	w->p = s + start;
	w->n = n;
	if (n <= REDACT_WORD_MAX) {
		memcpy(w->lw, lw, n);
		w->lwn = n;
	} else {
		/* A long word keeps its tail, which is all suffixes need. */
		w->lwn = REDACT_WORD_MAX;
		for (i = 0; i < w->lwn; i++)
			w->lw[i] = (char)redact_lower(
			    (unsigned char)s[start + n - w->lwn + i]);
	}
	w->lw[w->lwn] = '\0';
	return (n);
}

static int
redact_word_secret(const struct redact_word *prev,
    const struct redact_word *cur, const struct redact_word *next)
{
	const struct redact_pair	*pair;
	int				 secret, first, last;

	/* Every table word is letters only. */
	first = (unsigned char)cur->lw[0];
	last = (unsigned char)cur->lw[cur->lwn - 1];
	if (!redact_is_lower(first) || !redact_is_lower(last))
		return (0);

	secret = 0;
	if (cur->n < 16 && (redact_first_len[first - 'a'] >> cur->n & 1))
		secret = redact_word_listed(cur, redact_secret_words,
		    NELEM(redact_secret_words));
	if (!secret && cur->n > 5 && (REDACT_SUFFIX_LAST & RL(last)))
		secret = redact_word_ends(cur, redact_secret_suffixes);

	/* "session" alone or last ("user_session"), not "session_count". */
	if (!secret && next == NULL && redact_word_is(cur, &redact_session))
		secret = 1;

	if (!secret && prev != NULL && (REDACT_PAIR_SECOND & RL(first))) {
		for (pair = redact_secret_pairs; !secret &&
		    pair->first.s != NULL; pair++) {
			if (redact_word_is(cur, &pair->second) &&
			    redact_word_is(prev, &pair->first))
				secret = 1;
		}
	}

	if (secret && redact_word_listed(next, redact_benign_next,
	    NELEM(redact_benign_next)))
		secret = 0;

	return (secret);
}

int
redact_key_secret(const char *key, size_t len)
{
	struct redact_word	w[3];	/* previous, current, next */
	size_t			pos;
	int			have_prev, have_next;

	pos = 0;
	if (redact_next_word(key, len, &pos, &w[1]) == 0)
		return (0);
	have_prev = 0;
	have_next = redact_next_word(key, len, &pos, &w[2]) != 0;

	/* Slide the window of three words along the name. */
	for (;;) {
		if (redact_word_secret(have_prev ? &w[0] : NULL, &w[1],
		    have_next ? &w[2] : NULL))
			return (1);
		if (!have_next)
			return (0);
		w[0] = w[1];
		w[1] = w[2];
		have_prev = 1;
		have_next = redact_next_word(key, len, &pos, &w[2]) != 0;
	}
}

/* Case-insensitive substring test of a NUL-terminated header name. */
static int
redact_name_has(const char *name, const char *part)
{
	size_t	i, j, n;

	n = strlen(part);
	for (i = 0; name[i] != '\0'; i++) {
		for (j = 0; j < n; j++) {
			if (name[i + j] == '\0' ||
			    redact_lower((unsigned char)name[i + j]) != part[j])
				break;
		}
		if (j == n)
			return (1);
	}

	return (0);
}

int
redact_header_sensitive(const char *name)
{
	const char *const	*p;

	if (name == NULL)
		return (0);

	for (p = redact_header_names; *p != NULL; p++) {
		if (strcasecmp(name, *p) == 0)
			return (1);
	}
	for (p = redact_header_parts; *p != NULL; p++) {
		if (redact_name_has(name, *p))
			return (1);
	}

	return (0);
}

/* Appends to out while it has room, remembering when it ran out. */
static void
redact_put(struct redact_out *o, const char *s, size_t n)
{
	size_t	room;

	room = (size_t)(o->end - o->p);
	if (n > room) {
		n = room;
		o->full = 1;
	}
	memcpy(o->p, s, n);
	o->p += n;
}

static void
redact_puts(struct redact_out *o, const char *s)
{
	redact_put(o, s, strlen(s));
}

size_t
redact_header_value(const char *name, const char *value, char *out,
    size_t outlen)
{
	const char		*p, *part, *eq, *semi;
	size_t			 total, n;
	int			 first;
	char			 scratch[1];
	struct redact_out	 o;

	if (out == NULL || outlen == 0) {
		out = scratch;
		outlen = 1;
	}
	o.p = out;
	o.end = out + outlen - 1;
	o.full = 0;
	total = 0;

	if (value == NULL)
		value = "";

#define PUT(s, len)	do { redact_put(&o, (s), (len)); total += (len); } \
			    while (0)
#define PUTS(s)		PUT((s), strlen(s))

	if (!redact_header_sensitive(name) || value[0] == '\0') {
		PUTS(value);
	} else if (strcasecmp(name, "authorization") == 0 ||
	    strcasecmp(name, "proxy-authorization") == 0) {
		/* Keep an RFC 7235 scheme word followed by credentials. */
		for (p = value; *p == ' ' || *p == '\t'; p++)
			;
		for (n = 0; p[n] != '\0' && p[n] != ' ' && p[n] != '\t' &&
		    p[n] != ',' && p[n] != '=' && p[n] != '"'; n++)
			;
		if (n > 0 && n <= 32 && p[n] == ' ') {
			PUT(p, n);
			PUTS(" " REDACT_MARKER);
		} else {
			PUTS(REDACT_MARKER);
		}
	} else if (strcasecmp(name, "cookie") == 0) {
		/* Every "name=value" keeps its name. */
		first = 1;
		for (part = value; *part != '\0'; part = semi) {
			while (*part == ' ' || *part == '\t' || *part == ';')
				part++;
			if (*part == '\0')
				break;
			for (semi = part; *semi != '\0' && *semi != ';'; semi++)
				;
			if (!first)
				PUTS("; ");
			first = 0;
			eq = memchr(part, '=', (size_t)(semi - part));
			if (eq != NULL) {
				PUT(part, (size_t)(eq - part) + 1);
			}
			PUTS(REDACT_MARKER);
		}
	} else if (strcasecmp(name, "set-cookie") == 0 ||
	    strcasecmp(name, "set-cookie2") == 0) {
		/* The name and the attributes stay; the value goes. */
		semi = strchr(value, ';');
		n = semi != NULL ? (size_t)(semi - value) : strlen(value);
		eq = memchr(value, '=', n);
		if (eq != NULL)
			PUT(value, (size_t)(eq - value) + 1);
		PUTS(REDACT_MARKER);
		if (semi != NULL)
			PUTS(semi);
	} else {
		PUTS(REDACT_MARKER);
	}

#undef PUT
#undef PUTS

	*o.p = '\0';
	return (total);
}

size_t
redact_bound(size_t len)
{
	/*
	 * The shortest secret field ("pin=1&", "\"pin\":1,") is at least
	 * six bytes and grows by at most thirteen when replaced.
	 */
	if (len > (SIZE_MAX - 32) / 4)
		return (SIZE_MAX);
	return (len * 4 + 32);
}

/* Percent- and '+'-decoding of a key for matching; truncates at max. */
static size_t
redact_decode_url(const char *in, size_t len, char *buf, size_t max)
{
	size_t	i, n;

	n = 0;
	for (i = 0; i < len && n < max; i++) {
		if (in[i] == '%' && i + 2 < len &&
		    redact_is_hex((unsigned char)in[i + 1]) &&
		    redact_is_hex((unsigned char)in[i + 2])) {
			buf[n++] = (char)(redact_hexval(
			    (unsigned char)in[i + 1]) << 4 |
			    redact_hexval((unsigned char)in[i + 2]));
			i += 2;
		} else if (in[i] == '+') {
			buf[n++] = ' ';
		} else {
			buf[n++] = in[i];
		}
	}

	return (n);
}

static int
redact_urlencoded(const char *in, size_t len, char *out, size_t outlen,
    size_t *outl)
{
	struct redact_out	 o;
	const char		*pair, *amp, *eq, *end;
	char			 key[REDACT_KEY_MAX];
	size_t			 klen;
	int			 redacted;

	*outl = 0;
	if (out == NULL || outlen == 0)
		return (REDACT_NOSPACE);
	o.p = out;
	o.end = out + outlen - 1;
	o.full = 0;
	redacted = 0;
	end = in + len;

	for (pair = in; pair < end; pair = amp + 1) {
		amp = memchr(pair, '&', (size_t)(end - pair));
		if (amp == NULL)
			amp = end;
		eq = memchr(pair, '=', (size_t)(amp - pair));

		/* XXX a key over REDACT_KEY_MAX is judged by its head. */
		if (eq != NULL && eq + 1 < amp) {
			klen = redact_decode_url(pair, (size_t)(eq - pair), key,
			    sizeof(key));
			if (redact_key_secret(key, klen)) {
				redact_put(&o, pair, (size_t)(eq - pair) + 1);
				redact_puts(&o, REDACT_MARKER_URL);
				redacted = 1;
			} else {
				redact_put(&o, pair, (size_t)(amp - pair));
			}
		} else {
			redact_put(&o, pair, (size_t)(amp - pair));
		}
		if (amp < end)
			redact_put(&o, "&", 1);
		if (amp == end)
			break;
	}

	if (o.full)
		return (REDACT_NOSPACE);
	*o.p = '\0';
	*outl = (size_t)(o.p - out);
	return (redacted ? REDACT_DONE : REDACT_NONE);
}

int
redact_query(const char *in, size_t len, char *out, size_t outlen,
    size_t *outl)
{
	return (redact_urlencoded(in, len, out, outlen, outl));
}

int
redact_form(const char *in, size_t len, char *out, size_t outlen,
    size_t *outl)
{
	return (redact_urlencoded(in, len, out, outlen, outl));
}

/*
 * JSON.  The scanner validates as it goes and copies the input lazily:
 * s->copy marks the first byte not yet written to out, and only a
 * replacement (or the end) flushes the run before it.
 */
static int
json_emit(struct jscan *s, const char *p, size_t n)
{
	if ((size_t)(s->oend - s->o) < n)
		return (JS_NOSPACE);
	memcpy(s->o, p, n);
	s->o += n;
	return (JS_OK);
}

/* Flushes the input up to `value` and writes the marker in its place. */
static int
json_redact_begin(struct jscan *s, const char *value)
{
	if (json_emit(s, s->copy, (size_t)(value - s->copy)) != JS_OK)
		return (JS_NOSPACE);
	if (json_emit(s, "\"" REDACT_MARKER "\"",
	    sizeof(REDACT_MARKER) + 1) != JS_OK)
		return (JS_NOSPACE);
	s->redacted = 1;
	return (JS_OK);
}

/* A string at s->p; *escaped tells whether it held any backslash. */
static int
json_string(struct jscan *s, int *escaped)
{
	const char	*p, *end;
	unsigned char	 c;
	int		 i;

	*escaped = 0;
	p = s->p + 1;
	end = s->end;
	for (;;) {
		/* The common case: a run of plain bytes. */
		while (p < end && (c = (unsigned char)*p) != '"' &&
		    c != '\\' && c >= 0x20)
			p++;
		if (p == end)
			return (JS_EOF);
		c = (unsigned char)*p;
		if (c == '"')
			break;
		if (c < 0x20)
			return (JS_BAD);

		*escaped = 1;
		if (++p == end)
			return (JS_EOF);
		switch (*p) {
		case '"': case '\\': case '/': case 'b': case 'f':
		case 'n': case 'r': case 't':
			p++;
			break;
		case 'u':
			for (i = 1; i <= 4; i++) {
				if (p + i == end)
					return (JS_EOF);
				if (!redact_is_hex((unsigned char)p[i]))
					return (JS_BAD);
			}
			p += 5;
			break;
		default:
			return (JS_BAD);
		}
	}

	s->p = p + 1;
	return (JS_OK);
}

static int
json_number(struct jscan *s)
{
	const char	*p, *end;

	p = s->p;
	end = s->end;
	if (*p == '-' && ++p == end)
		return (JS_EOF);
	if (*p == '0') {
		p++;
	} else if (*p >= '1' && *p <= '9') {
		while (p < end && redact_is_digit((unsigned char)*p))
			p++;
	} else {
		return (JS_BAD);
	}

	if (p < end && *p == '.') {
		if (++p == end)
			return (JS_EOF);
		if (!redact_is_digit((unsigned char)*p))
			return (JS_BAD);
		while (p < end && redact_is_digit((unsigned char)*p))
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		if (++p == end)
			return (JS_EOF);
		if (*p == '+' || *p == '-') {
			if (++p == end)
				return (JS_EOF);
		}
		if (!redact_is_digit((unsigned char)*p))
			return (JS_BAD);
		while (p < end && redact_is_digit((unsigned char)*p))
			p++;
	}

	s->p = p;
	return (JS_OK);
}

static int
json_literal(struct jscan *s, int *is_literal)
{
	const char	*word;
	size_t		 n, avail;

	*is_literal = 1;
	switch (*s->p) {
	case 't':
		word = "true";
		break;
	case 'f':
		word = "false";
		break;
	case 'n':
		word = "null";
		break;
	default:
		*is_literal = 0;
		return (JS_BAD);
	}

	n = strlen(word);
	avail = (size_t)(s->end - s->p);
	if (memcmp(s->p, word, avail < n ? avail : n) != 0)
		return (JS_BAD);
	if (avail < n)
		return (JS_EOF);
	s->p += n;
	return (JS_OK);
}

/*
 * Matches a key given as the raw bytes between its quotes; escapes are
 * decoded first so "pass\u0077ord" is seen as "password".
 */
/* A slot from the length and the first and last two bytes of a key. */
static size_t
json_memo_slot(const char *raw, size_t len)
{
	uint32_t	h;

	h = (uint32_t)len;
	if (len > 0) {
		h = h << 8 | (unsigned char)raw[0];
		h = h << 8 | (unsigned char)raw[len / 2];
		h = h << 8 | (unsigned char)raw[len - 1];
	}
	h *= 0x9e3779b1U;
	return (h >> (32 - JSON_MEMO_BITS));	/* the best-mixed bits */
}

static int
json_key_secret(struct jscan *s, const char *raw, size_t len, int escaped)
{
	struct json_memo	*m;
	char			 buf[REDACT_KEY_MAX];
	size_t			 i, n;
	unsigned int		 cp;
	int			 k;

	if (!escaped) {
		m = &s->memo[json_memo_slot(raw, len)];
		if (m->key != NULL && m->len == len &&
		    memcmp(m->key, raw, len) == 0)
			return (m->secret);
		m->key = raw;
		m->len = len;
		m->secret = redact_key_secret(raw, len);
		return (m->secret);
	}

	/* XXX a key over REDACT_KEY_MAX is judged by its head. */
	n = 0;
	for (i = 0; i < len && n < sizeof(buf); i++) {
		if (raw[i] != '\\') {
			buf[n++] = raw[i];
			continue;
		}
		i++;
		if (raw[i] == 'u') {
			cp = 0;
			for (k = 1; k <= 4; k++)
				cp = cp << 4 |
				    (unsigned int)redact_hexval(
				    (unsigned char)raw[i + (size_t)k]);
			i += 4;
			/* Only ASCII matters to the word lists. */
			buf[n++] = cp < 0x80 ? (char)cp : '?';
		} else if (raw[i] == '"' || raw[i] == '\\' || raw[i] == '/') {
			buf[n++] = raw[i];
		} else {
			buf[n++] = ' ';
		}
	}

	return (redact_key_secret(buf, n));
}

#define ST_VALUE	0	/* a value must follow */
#define ST_VALUE_OR_END	1	/* just after '[' */
#define ST_KEY_OR_END	2	/* just after '{' */
#define ST_KEY		3	/* after ',' in an object */
#define ST_AFTER	4	/* after a value */

#define JS_PUSH(s, obj)	do {						\
	if ((obj))							\
		(s)->stack[(s)->depth / 64] |= 1ULL << ((s)->depth % 64);\
	else								\
		(s)->stack[(s)->depth / 64] &= ~(1ULL << ((s)->depth % 64));\
	(s)->depth++;							\
} while (0)
#define JS_TOP_IS_OBJ(s)						\
	(((s)->stack[((s)->depth - 1) / 64] >> (((s)->depth - 1) % 64)) & 1)

static int
json_scan(struct jscan *s)
{
	const char	*value, *key;
	int		 state, rc, escaped, literal, secret_next, redacting;
	char		 c;

	state = ST_VALUE;
	secret_next = 0;

	for (;;) {
		while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' ||
		    *s->p == '\n' || *s->p == '\r'))
			s->p++;

		if (s->p == s->end) {
			if (state == ST_AFTER && s->depth == 0)
				return (JS_OK);
			return (JS_EOF);
		}
		c = *s->p;

		switch (state) {
		case ST_VALUE_OR_END:
		case ST_VALUE:
			if (state == ST_VALUE_OR_END && c == ']')
				goto close;
			value = s->p;
			s->started = 1;
			redacting = secret_next && !s->skipping;
			secret_next = 0;

			if (c == '{' || c == '[') {
				if (s->depth == REDACT_JSON_DEPTH)
					return (JS_BAD);
				if (redacting) {
					if (json_redact_begin(s, value) !=
					    JS_OK)
						return (JS_NOSPACE);
					s->skipping = 1;
					s->skip_depth = s->depth;
				}
				JS_PUSH(s, c == '{');
				s->p++;
				state = c == '{' ? ST_KEY_OR_END :
				    ST_VALUE_OR_END;
				continue;
			}

			literal = 0;
			if (c == '"')
				rc = json_string(s, &escaped);
			else if (c == '-' || redact_is_digit((unsigned char)c))
				rc = json_number(s);
			else
				rc = json_literal(s, &literal);

			if (rc == JS_BAD)
				return (JS_BAD);
			if (redacting && !literal) {
				if (json_redact_begin(s, value) != JS_OK)
					return (JS_NOSPACE);
				s->copy = rc == JS_EOF ? s->end : s->p;
			}
			if (rc == JS_EOF)
				return (JS_EOF);
			state = ST_AFTER;
			continue;

		case ST_KEY_OR_END:
			if (c == '}')
				goto close;
			/* FALLTHROUGH */
		case ST_KEY:
			if (c != '"')
				return (JS_BAD);
			key = s->p + 1;
			if ((rc = json_string(s, &escaped)) != JS_OK)
				return (rc);
			/* Inside a redacted value nothing needs matching. */
			if (!s->skipping) {
				secret_next = json_key_secret(s, key,
				    (size_t)(s->p - 1 - key), escaped);
			}
			while (s->p < s->end && (*s->p == ' ' ||
			    *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
				s->p++;
			if (s->p == s->end)
				return (JS_EOF);
			if (*s->p != ':')
				return (JS_BAD);
			s->p++;
			state = ST_VALUE;
			continue;

		case ST_AFTER:
			if (s->depth == 0)
				return (JS_BAD);	/* trailing garbage */
			if (c == ',') {
				s->p++;
				state = JS_TOP_IS_OBJ(s) ? ST_KEY : ST_VALUE;
				continue;
			}
			if ((c == '}' && JS_TOP_IS_OBJ(s)) ||
			    (c == ']' && !JS_TOP_IS_OBJ(s)))
				goto close;
			return (JS_BAD);
		}

close:
		s->p++;
		s->depth--;
		if (s->skipping && s->depth == s->skip_depth) {
			s->skipping = 0;
			s->copy = s->p;
		}
		state = ST_AFTER;
	}
}

int
redact_json(const char *in, size_t len, char *out, size_t outlen,
    size_t *outl, int flags)
{
	struct jscan	s;
	int		rc;

	*outl = 0;
	if (out == NULL || outlen == 0)
		return (REDACT_NOSPACE);

	memset(&s, 0, sizeof(s));
	s.p = in;
	s.end = in + len;
	s.copy = in;
	s.o = out;
	s.oend = out + outlen - 1;
	s.partial = (flags & REDACT_PARTIAL) != 0;

	/* A UTF-8 byte order mark is tolerated and kept. */
	if (len >= 3 && memcmp(in, "\xef\xbb\xbf", 3) == 0)
		s.p += 3;

	rc = json_scan(&s);
	if (rc == JS_NOSPACE)
		return (REDACT_NOSPACE);
	if (rc == JS_BAD)
		return (REDACT_NOT_JSON);
	if (rc == JS_EOF) {
		/* Cut short: fine for a truncated capture, not otherwise. */
		if (!s.partial || !s.started)
			return (REDACT_NOT_JSON);
		/* Nothing of a redacted value may follow its marker. */
		if (s.skipping)
			s.copy = s.end;
	}

	if (json_emit(&s, s.copy, (size_t)(s.end - s.copy)) != JS_OK)
		return (REDACT_NOSPACE);
	*s.o = '\0';
	*outl = (size_t)(s.o - out);
	return (s.redacted ? REDACT_DONE : REDACT_NONE);
}
