/*
 * Small helpers of the discovery engine: memory, growing buffers, UTF-8,
 * and the word-level judgements the inference rests on (does a path
 * segment look like an identifier, which format does a string have, how
 * is a resource word made singular, which headers matter).
 *
 * The judgements are deliberately conservative: a segment only counts as
 * an identifier on its own when its shape leaves little doubt (digits,
 * UUIDs, long hex or random-looking tokens, dates, e-mail addresses);
 * everything else stays a literal word until the path clustering sees
 * that many different words behave the same way.
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disc_int.h"

static int	ascii_lower_eq(const char *, const char *);
static int	is_date_prefix(const char *);
static int	is_uuid(const char *, size_t);
static int	is_email(const char *, size_t);
static int	is_ipv4(const char *, size_t);
static int	is_uri(const char *, size_t);
static int	is_datetime(const char *, size_t);
static int	token_like(const char *, size_t);
static int	in_list(const char *, const char *const *);
static int	sorted_has(const char *, const char *const *, size_t);

void *
disc_calloc(size_t n, size_t sz)
{
	if (n == 0 || sz == 0)
		n = sz = 1;
	return (calloc(n, sz));
}

char *
disc_strndup(const char *s, size_t len)
{
	char	*p;

	if ((p = malloc(len + 1)) == NULL)
		return (NULL);
	memcpy(p, s, len);
	p[len] = '\0';
	return (p);
}

char *
disc_strdup(const char *s)
{
	return (disc_strndup(s, strlen(s)));
}

/*
 * Make room for `need` elements of `elsize` bytes in *p, doubling the
 * capacity so that appending one at a time stays linear.  It copies
 * instead of calling realloc(): a large realloc() may use mremap(),
 * which the server's seccomp filter does not allow in workers.
 */
int
disc_grow(void **p, size_t *cap, size_t need, size_t elsize)
{
	size_t	 ncap;
	void	*np;

	if (need <= *cap)
		return (0);
	ncap = *cap ? *cap : 4;
	while (ncap < need) {
		if (ncap > ((size_t)-1) / 2 / elsize)
			return (-1);
		ncap *= 2;
	}
	if ((np = malloc(ncap * elsize)) == NULL)
		return (-1);
	if (*cap > 0)
		memcpy(np, *p, *cap * elsize);
	free(*p);
	memset((char *)np + *cap * elsize, 0, (ncap - *cap) * elsize);
	*p = np;
	*cap = ncap;
	return (0);
}

/* FNV-1a: fast, stable across runs and machines. */
uint64_t
disc_hash(const void *data, size_t len)
{
	const unsigned char	*p = data;
	uint64_t		 h = 0xcbf29ce484222325ULL;
	size_t			 i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return (h);
}

uint64_t
disc_hash_mix(uint64_t a, uint64_t b)
{
	a ^= b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2);
	a ^= a >> 31;
	a *= 0xbf58476d1ce4e5b9ULL;
	a ^= a >> 27;
	return (a);
}

void
disc_buf_add(struct disc_buf *b, const char *s, size_t len)
{
	void	*d;

	if (b->err)
		return;
	d = b->d;
	if (disc_grow(&d, &b->cap, b->len + len + 1, 1) == -1) {
		b->err = 1;
		return;
	}
	b->d = d;
	memcpy(b->d + b->len, s, len);
	b->len += len;
	b->d[b->len] = '\0';
}

void
disc_buf_str(struct disc_buf *b, const char *s)
{
	disc_buf_add(b, s, strlen(s));
}

void
disc_buf_fmt(struct disc_buf *b, const char *fmt, ...)
{
	va_list	 ap;
	char	 small[256];
	char	*big;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->err = 1;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		disc_buf_add(b, small, (size_t)n);
		return;
	}
	if ((big = malloc((size_t)n + 1)) == NULL) {
		b->err = 1;
		return;
	}
	va_start(ap, fmt);
	(void)vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	disc_buf_add(b, big, (size_t)n);
	free(big);
}

/* Hands the text over to the caller, or NULL if any append failed. */
char *
disc_buf_finish(struct disc_buf *b)
{
	char	*d;

	if (b->err) {
		free(b->d);
		b->d = NULL;
		return (NULL);
	}
	if (b->d == NULL)
		return (disc_strdup(""));
	d = b->d;
	b->d = NULL;
	return (d);
}

/* Length of the UTF-8 sequence starting at s, or 0 when it is invalid. */
static size_t
utf8_seq(const unsigned char *s, size_t left)
{
	size_t		 n, i;
	unsigned	 c = s[0];
	unsigned long	 cp;

	if (c < 0x80)
		return (1);
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return (0);
	if (n > left)
		return (0);
	cp = c & (0xff >> (n + 1));
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return (0);
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return (0);
	return (n);
}

int
disc_utf8_valid(const char *s, size_t len)
{
	size_t	 i = 0, n;

	while (i < len) {
		if ((n = utf8_seq((const unsigned char *)s + i, len - i)) == 0)
			return (0);
		i += n;
	}
	return (1);
}

/* A copy with every invalid byte replaced by U+FFFD. */
char *
disc_utf8_clean(const char *s, size_t len)
{
	struct disc_buf	 b = { NULL, 0, 0, 0 };
	size_t		 i = 0, n, start = 0;

	while (i < len) {
		n = utf8_seq((const unsigned char *)s + i, len - i);
		if (n == 0) {
			disc_buf_add(&b, s + start, i - start);
			disc_buf_add(&b, "\xef\xbf\xbd", 3);
			i++;
			start = i;
		} else
			i += n;
	}
	disc_buf_add(&b, s + start, i - start);
	return (disc_buf_finish(&b));
}

json_t *
disc_jstrn(const char *s, size_t len)
{
	json_t	*j;
	char	*c;

	if (s == NULL)
		return (json_null());
	if (disc_utf8_valid(s, len))
		return (json_stringn(s, len));
	if ((c = disc_utf8_clean(s, len)) == NULL)
		return (NULL);
	j = json_string(c);
	free(c);
	return (j);
}

json_t *
disc_jstr(const char *s)
{
	return (s == NULL ? json_null() : disc_jstrn(s, strlen(s)));
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/* Percent-decode s[0..len) in place; `plus` turns '+' into a space. */
size_t
disc_pct_decode(char *s, size_t len, int plus)
{
	size_t	 i, o = 0;
	int	 hi, lo;

	for (i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len &&
		    (hi = hexval((unsigned char)s[i + 1])) != -1 &&
		    (lo = hexval((unsigned char)s[i + 2])) != -1) {
			s[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else if (plus && s[i] == '+')
			s[o++] = ' ';
		else
			s[o++] = s[i];
	}
	s[o] = '\0';
	return (o);
}

static int
ascii_lower_eq(const char *a, const char *b)
{
	while (*a && *b) {
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return (0);
		a++;
		b++;
	}
	return (*a == *b);
}

static int
digits(const char *s, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return (0);
	return (1);
}

/* YYYY-MM-DD with a plausible month and day. */
static int
is_date_prefix(const char *s)
{
	int	m, d;

	if (!digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) ||
	    s[7] != '-' || !digits(s + 8, 2))
		return (0);
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	return (m >= 1 && m <= 12 && d >= 1 && d <= 31);
}

static int
is_uuid(const char *s, size_t len)
{
	size_t	i;

	if (len != 36)
		return (0);
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return (0);
		} else if (!isxdigit((unsigned char)s[i]))
			return (0);
	}
	return (1);
}

static int
is_email(const char *s, size_t len)
{
	const char	*at, *dot;
	size_t		 i;

	if (len < 5 || len > 254)
		return (0);
	for (i = 0; i < len; i++) {
		if (s[i] <= ' ' || s[i] == '<' || s[i] == '>' ||
		    s[i] == ',' || s[i] == ';' || s[i] == '"' ||
		    (unsigned char)s[i] >= 0x7f)
			return (0);
	}
	if ((at = memchr(s, '@', len)) == NULL || at == s)
		return (0);
	if (memchr(at + 1, '@', len - (size_t)(at - s) - 1) != NULL)
		return (0);
	dot = strrchr(at, '.');
	return (dot != NULL && dot > at + 1 && (size_t)(dot - s) < len - 2);
}

static int
is_ipv4(const char *s, size_t len)
{
	size_t	 i = 0;
	int	 part, v, nd;

	for (part = 0; part < 4; part++) {
		v = 0;
		nd = 0;
		while (i < len && isdigit((unsigned char)s[i]) && nd < 4) {
			v = v * 10 + (s[i] - '0');
			nd++;
			i++;
		}
		if (nd == 0 || nd > 3 || v > 255)
			return (0);
		if (part < 3) {
			if (i >= len || s[i] != '.')
				return (0);
			i++;
		}
	}
	return (i == len);
}

static int
is_uri(const char *s, size_t len)
{
	size_t	i;

	if (len < 8 || !isalpha((unsigned char)s[0]))
		return (0);
	for (i = 1; i < len && i < 32; i++) {
		if (s[i] == ':')
			break;
		if (!isalnum((unsigned char)s[i]) && s[i] != '+' &&
		    s[i] != '-' && s[i] != '.')
			return (0);
	}
	if (i + 3 > len || s[i] != ':' || s[i + 1] != '/' || s[i + 2] != '/')
		return (0);
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == '"' || s[i] == '<' ||
		    s[i] == '>' || s[i] == '\\' || (unsigned char)s[i] == 0x7f)
			return (0);
	return (1);
}

/* RFC 3339: a date, 'T', hh:mm:ss, optional fraction, Z or an offset. */
static int
is_datetime(const char *s, size_t len)
{
	size_t	i;

	if (len < 20 || !is_date_prefix(s) || (s[10] != 'T' && s[10] != 't'))
		return (0);
	if (!digits(s + 11, 2) || s[13] != ':' || !digits(s + 14, 2) ||
	    s[16] != ':' || !digits(s + 17, 2))
		return (0);
	i = 19;
	if (i < len && s[i] == '.') {
		i++;
		if (i >= len || !isdigit((unsigned char)s[i]))
			return (0);
		while (i < len && isdigit((unsigned char)s[i]))
			i++;
	}
	if (i < len && (s[i] == 'Z' || s[i] == 'z'))
		return (i + 1 == len);
	if (i + 6 == len && (s[i] == '+' || s[i] == '-') &&
	    digits(s + i + 1, 2) && s[i + 3] == ':' && digits(s + i + 4, 2))
		return (1);
	return (0);
}

unsigned
disc_string_formats(const char *s, size_t len)
{
	if (len == sizeof(DISC_BINARY_MARK) - 1 &&
	    memcmp(s, DISC_BINARY_MARK, len) == 0)
		return (DISC_F_BINARY);
	if (len == 10 && is_date_prefix(s))
		return (DISC_F_DATE);
	if (is_datetime(s, len))
		return (DISC_F_DATETIME);
	if (is_uuid(s, len))
		return (DISC_F_UUID);
	if (is_ipv4(s, len))
		return (DISC_F_IPV4);
	if (is_email(s, len))
		return (DISC_F_EMAIL);
	if (is_uri(s, len))
		return (DISC_F_URI);
	return (0);
}

/*
 * A random-looking token: letters and digits interleaved, or the case
 * flipping inside a part, as generated ids do and words rarely do.
 * Words joined by '-', '_' or '.' ("hello-world-2", "oauth2callback")
 * have few such changes and stay words.
 */
static int
token_like(const char *s, size_t len)
{
	size_t	 i, ndig = 0, nalpha = 0, changes = 0;
	int	 prev = 0, cur;

	if (len < 10)
		return (0);
	for (i = 0; i < len; i++) {
		unsigned char	c = (unsigned char)s[i];

		if (isdigit(c)) {
			ndig++;
			cur = 1;
		} else if (isupper(c)) {
			nalpha++;
			cur = 2;
		} else if (islower(c)) {
			nalpha++;
			cur = 3;
		} else if (c == '-' || c == '_' || c == '.' || c == '=' ||
		    c == '~') {
			prev = 0;
			continue;
		} else
			return (0);
		/* A capital after a part's first letter is a change too. */
		if (prev != 0 && prev != cur)
			changes++;
		prev = cur;
	}
	if (ndig == 0 || nalpha == 0)
		return (0);
	return (changes >= 4 || (len >= 20 && ndig >= 2));
}

enum disc_seg
disc_classify_segment(const char *s)
{
	size_t	len = strlen(s), i, nhex = 0, ndig = 0;

	if (len == 0)
		return (DISC_SEG_WORD);
	if (digits(s, len) ||
	    (s[0] == '-' && len > 1 && digits(s + 1, len - 1)))
		return (DISC_SEG_INT);
	if (is_uuid(s, len))
		return (DISC_SEG_UUID);
	if (len >= 10 && is_date_prefix(s) &&
	    (len == 10 || is_datetime(s, len)))
		return (DISC_SEG_DATE);
	if (is_email(s, len))
		return (DISC_SEG_EMAIL);
	for (i = 0; i < len; i++) {
		if (isxdigit((unsigned char)s[i]))
			nhex++;
		if (isdigit((unsigned char)s[i]))
			ndig++;
	}
	if (len >= 8 && nhex == len && ndig > 0)
		return (DISC_SEG_HEX);
	if (token_like(s, len))
		return (DISC_SEG_TOKEN);
	return (DISC_SEG_WORD);
}

/* Object keys that are data, not field names: the object is a map. */
int
disc_is_id_key(const char *s)
{
	enum disc_seg	c = disc_classify_segment(s);

	return (c != DISC_SEG_WORD);
}

/*
 * Query, form and header values arrive as text; give them the JSON type
 * an engineer would document.  Leading zeros and very long digit runs
 * stay strings (postal codes, account numbers).
 */
json_t *
disc_coerce_value(const char *s)
{
	size_t	 len = strlen(s), i = 0;
	int	 dot = 0, dig = 0;
	char	*end;
	double	 d;

	if (strcmp(s, "true") == 0)
		return (json_true());
	if (strcmp(s, "false") == 0)
		return (json_false());
	if (len == 0 || len > 15)
		return (disc_jstr(s));
	if (s[0] == '-')
		i++;
	if (i < len && s[i] == '0' && i + 1 < len && s[i + 1] != '.')
		return (disc_jstr(s));
	for (; i < len; i++) {
		if (isdigit((unsigned char)s[i]))
			dig++;
		else if (s[i] == '.' && !dot && dig > 0)
			dot = 1;
		else
			return (disc_jstr(s));
	}
	if (dig == 0 || s[len - 1] == '.')
		return (disc_jstr(s));
	if (!dot)
		return (json_integer(strtoll(s, NULL, 10)));
	d = strtod(s, &end);
	if (*end != '\0')
		return (disc_jstr(s));
	return (json_real(d));
}

static int
ends(const char *s, size_t len, const char *suf)
{
	size_t	n = strlen(suf);

	return (len >= n && ascii_lower_eq(s + len - n, suf));
}

/* English singular of a resource word, good enough for names. */
void
disc_singular(const char *w, char *out, size_t outsz)
{
	size_t	len = strlen(w);

	if (outsz == 0)
		return;
	if (len >= outsz)
		len = outsz - 1;
	memcpy(out, w, len);
	out[len] = '\0';
	if (len <= 3)
		return;
	if (ascii_lower_eq(out, "people") && outsz > 6) {
		memcpy(out + 1, "erson", 6);
		return;
	}
	/* Words that are their own singular. */
	if (ends(out, len, "series") || ends(out, len, "species") ||
	    ends(out, len, "news") || ends(out, len, "data"))
		return;
	if (ends(out, len, "children")) {
		out[len - 3] = '\0';
		return;
	}
	if (ends(out, len, "movies") || ends(out, len, "cookies") ||
	    ends(out, len, "zombies") || ends(out, len, "calories") ||
	    ends(out, len, "rookies") || ends(out, len, "selfies") ||
	    ends(out, len, "hoodies") || ends(out, len, "genies")) {
		out[len - 1] = '\0';
		return;
	}
	if (ends(out, len, "ies")) {
		out[len - 3] = 'y';
		out[len - 2] = '\0';
	} else if (ends(out, len, "sses") || ends(out, len, "xes") ||
	    ends(out, len, "ches") || ends(out, len, "shes") ||
	    ends(out, len, "zzes"))
		out[len - 2] = '\0';
	else if (ends(out, len, "ss") || ends(out, len, "us") ||
	    ends(out, len, "is"))
		return;
	else if (ends(out, len, "s"))
		out[len - 1] = '\0';
}

/*
 * "line-items" -> "lineItems" (or "LineItems" with `upper`).  Anything
 * that is not a letter or digit separates words; a leading digit gets a
 * prefix so the result is a usable identifier.
 */
void
disc_camel(const char *w, char *out, size_t outsz, int upper)
{
	size_t	o = 0;
	int	start = 1, first = 1;

	if (outsz == 0)
		return;
	for (; *w != '\0' && o + 2 < outsz; w++) {
		unsigned char	c = (unsigned char)*w;

		if (!isalnum(c) || c >= 0x80) {
			start = 1;
			continue;
		}
		if (first && isdigit(c)) {
			out[o++] = upper ? 'N' : 'n';
			if (o + 2 >= outsz)
				break;
		}
		if (start && (!first || upper))
			out[o++] = (char)toupper(c);
		else if (first && !upper)
			out[o++] = (char)(start ? tolower(c) : c);
		else
			out[o++] = (char)c;
		start = 0;
		first = 0;
	}
	out[o] = '\0';
}

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

static int
str_cmp(const void *a, const void *b)
{
	return (strcmp(*(const char *const *)a, *(const char *const *)b));
}

static int
sorted_has(const char *s, const char *const *list, size_t n)
{
	return (bsearch(&s, list, n, sizeof(*list), str_cmp) != NULL);
}

static int
in_list(const char *s, const char *const *list)
{
	size_t	i;

	for (i = 0; list[i] != NULL; i++)
		if (strcmp(s, list[i]) == 0)
			return (1);
	return (0);
}

/* Field or parameter names whose values must never reach a document. */
int
disc_is_secret_name(const char *name)
{
	static const char *const exact[] = { "pin", "otp", "cvv", "cvc",
	    "ssn", "auth", "key", "sig", "pwd", "pass", NULL };
	static const char *const part[] = { "password", "passwd", "secret",
	    "token", "apikey", "authorization", "credential", "privatekey",
	    "cardnumber", "sessionid", "cookie", "accesskey", "passphrase",
	    NULL };
	char	 flat[64];
	size_t	 i, o = 0;

	for (i = 0; name[i] != '\0' && o + 1 < sizeof(flat); i++)
		if (isalnum((unsigned char)name[i]))
			flat[o++] = (char)tolower((unsigned char)name[i]);
	flat[o] = '\0';
	if (in_list(flat, exact))
		return (1);
	for (i = 0; part[i] != NULL; i++)
		if (strstr(flat, part[i]) != NULL)
			return (1);
	return (0);
}

/* Values that are credentials whatever their field is called. */
int
disc_is_secret_value(const char *v)
{
	const char	*d1;

	if (strncmp(v, "Bearer ", 7) == 0 || strncmp(v, "Basic ", 6) == 0 ||
	    strncmp(v, "-----BEGIN", 10) == 0 ||
	    strncmp(v, "sk_live_", 8) == 0 || strncmp(v, "sk_test_", 8) == 0)
		return (1);
	/* A JSON Web Token: three base64url parts, the first a header. */
	if (strncmp(v, "eyJ", 3) == 0 && (d1 = strchr(v, '.')) != NULL &&
	    strchr(d1 + 1, '.') != NULL && strchr(v, ' ') == NULL)
		return (1);
	return (0);
}

/* "logo.png", "app.min.js": a name with a short alphabetic extension. */
int
disc_is_file_like(const char *s)
{
	const char	*dot = strrchr(s, '.');
	size_t		 n, i, alpha = 0;

	if (dot == NULL || dot == s)
		return (0);
	n = strlen(dot + 1);
	if (n < 1 || n > 5)
		return (0);
	for (i = 0; i < n; i++) {
		if (!isalnum((unsigned char)dot[1 + i]))
			return (0);
		if (isalpha((unsigned char)dot[1 + i]))
			alpha++;
	}
	return (alpha > 0);
}

const char *
disc_reason(int code)
{
	switch (code) {
	case 100: return ("Continue");
	case 101: return ("Switching Protocols");
	case 200: return ("OK");
	case 201: return ("Created");
	case 202: return ("Accepted");
	case 203: return ("Non-Authoritative Information");
	case 204: return ("No Content");
	case 205: return ("Reset Content");
	case 206: return ("Partial Content");
	case 207: return ("Multi-Status");
	case 300: return ("Multiple Choices");
	case 301: return ("Moved Permanently");
	case 302: return ("Found");
	case 303: return ("See Other");
	case 304: return ("Not Modified");
	case 307: return ("Temporary Redirect");
	case 308: return ("Permanent Redirect");
	case 400: return ("Bad Request");
	case 401: return ("Unauthorized");
	case 402: return ("Payment Required");
	case 403: return ("Forbidden");
	case 404: return ("Not Found");
	case 405: return ("Method Not Allowed");
	case 406: return ("Not Acceptable");
	case 408: return ("Request Timeout");
	case 409: return ("Conflict");
	case 410: return ("Gone");
	case 411: return ("Length Required");
	case 412: return ("Precondition Failed");
	case 413: return ("Content Too Large");
	case 414: return ("URI Too Long");
	case 415: return ("Unsupported Media Type");
	case 416: return ("Range Not Satisfiable");
	case 417: return ("Expectation Failed");
	case 418: return ("I'm a Teapot");
	case 422: return ("Unprocessable Content");
	case 423: return ("Locked");
	case 425: return ("Too Early");
	case 428: return ("Precondition Required");
	case 429: return ("Too Many Requests");
	case 431: return ("Request Header Fields Too Large");
	case 451: return ("Unavailable For Legal Reasons");
	case 500: return ("Internal Server Error");
	case 501: return ("Not Implemented");
	case 502: return ("Bad Gateway");
	case 503: return ("Service Unavailable");
	case 504: return ("Gateway Timeout");
	case 505: return ("HTTP Version Not Supported");
	}
	if (code >= 200 && code < 300)
		return ("Success");
	if (code >= 300 && code < 400)
		return ("Redirection");
	if (code >= 400 && code < 500)
		return ("Client error");
	return ("Server error");
}

/* "Application/JSON; charset=utf-8" -> "application/json". */
void
disc_media_norm(const char *ct, char *out, size_t outsz)
{
	size_t	o = 0;

	if (outsz == 0)
		return;
	if (ct == NULL)
		ct = "";
	while (*ct == ' ' || *ct == '\t')
		ct++;
	for (; *ct != '\0' && *ct != ';' && o + 1 < outsz; ct++) {
		unsigned char	c = (unsigned char)*ct;

		if (c <= ' ' || c >= 0x7f)
			break;
		out[o++] = (char)tolower(c);
	}
	out[o] = '\0';
	/* Not type/subtype: not a media type worth naming. */
	if (strchr(out, '/') == NULL || out[0] == '/' ||
	    out[o > 0 ? o - 1 : 0] == '/')
		out[0] = '\0';
}

int
disc_media_kind(const char *ct)
{
	size_t	len = strlen(ct);

	if (strcmp(ct, "application/json") == 0 || ends(ct, len, "+json") ||
	    strcmp(ct, "text/json") == 0)
		return (DISC_MK_JSON);
	if (strcmp(ct, "application/x-www-form-urlencoded") == 0)
		return (DISC_MK_FORM);
	if (strcmp(ct, "multipart/form-data") == 0)
		return (DISC_MK_MULTI);
	if (strncmp(ct, "text/", 5) == 0 || ends(ct, len, "+xml") ||
	    strcmp(ct, "application/xml") == 0 ||
	    strcmp(ct, "application/javascript") == 0 ||
	    strcmp(ct, "application/x-ndjson") == 0 ||
	    strcmp(ct, "application/graphql") == 0 ||
	    strcmp(ct, "application/yaml") == 0)
		return (DISC_MK_TEXT);
	return (DISC_MK_BINARY);
}

/*
 * Headers an API consumer has to know about.  Transport, caching,
 * browser and tracing headers are left out, as are the ones documented
 * elsewhere (content type, credentials).
 */
int
disc_header_notable(const char *name, int request)
{
	/* Sorted: looked up by binary search on every call's headers. */
	static const char *const common[] = {
	    "accept", "accept-charset", "accept-encoding", "accept-language",
	    "authorization", "cache-control", "connection", "content-encoding",
	    "content-language", "content-length", "content-md5", "content-type",
	    "cookie", "date", "expect", "forwarded", "host", "keep-alive",
	    "pragma", "proxy-authorization", "proxy-connection", "request-id",
	    "set-cookie", "te", "traceparent", "tracestate", "trailer",
	    "transfer-encoding", "upgrade", "via", "x-amzn-trace-id",
	    "x-correlation-id", "x-real-ip", "x-request-id"
	};
	static const char *const req[] = {
	    "dnt", "if-modified-since", "if-none-match", "origin", "prefer",
	    "range", "referer", "upgrade-insecure-requests", "user-agent",
	    "x-requested-with"
	};
	static const char *const resp[] = {
	    "accept-ranges", "age", "alt-svc", "content-disposition",
	    "content-security-policy", "cross-origin-embedder-policy",
	    "cross-origin-opener-policy", "cross-origin-resource-policy",
	    "etag", "expires", "last-modified", "nel", "origin-agent-cluster",
	    "permissions-policy", "referrer-policy", "report-to", "server",
	    "server-timing", "strict-transport-security", "vary", "x-cache",
	    "x-cache-hits", "x-content-type-options", "x-dns-prefetch-control",
	    "x-download-options", "x-frame-options",
	    "x-permitted-cross-domain-policies", "x-powered-by", "x-served-by",
	    "x-timer", "x-xss-protection"
	};
	static const char *const prefixes[] = { "sec-", "x-forwarded-",
	    "access-control-", "cf-", "x-amz-", "x-amzn-", "x-b3-",
	    "x-envoy-", "x-cloud-trace", "x-datadog-", ":", NULL };
	size_t	i;

	if (name[0] == '\0' || sorted_has(name, common, NITEMS(common)))
		return (0);
	if (request ? sorted_has(name, req, NITEMS(req)) :
	    sorted_has(name, resp, NITEMS(resp)))
		return (0);
	for (i = 0; prefixes[i] != NULL; i++)
		if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
			return (0);
	return (1);
}
