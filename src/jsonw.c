/*
 * JSON writer with correct escaping.
 *
 * The writer appends into one growing buffer, doubling it when full so that
 * building a large document stays linear. It keeps a small stack of "is
 * this the first member" flags to place commas, and never fails loudly:
 * an allocation failure or a nesting error sets `err`, later calls do
 * nothing, and the caller checks `err` once at the end.
 *
 * Strings are written as valid UTF-8: control characters are escaped, and
 * bytes that do not form valid UTF-8 (captured traffic may hold anything)
 * become U+FFFD so the output is always a JSON text a browser can parse.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "jsonw.h"

static int	jw_grow(struct jw *, size_t);
static void	jw_key(struct jw *, const char *);
static size_t	jw_utf8_len(const unsigned char *, size_t);

void
jw_init(struct jw *j, size_t hint)
{
	memset(j, 0, sizeof(*j));
	if (hint < 64)
		hint = 64;
	if ((j->buf = malloc(hint)) == NULL) {
		j->err = 1;
		return;
	}
	j->cap = hint;
	j->buf[0] = '\0';
	j->first[0] = 1;
}

void
jw_free(struct jw *j)
{
	free(j->buf);
	memset(j, 0, sizeof(*j));
}

void
jw_reset(struct jw *j)
{
	j->len = 0;
	j->depth = 0;
	j->err = (j->buf == NULL);
	j->first[0] = 1;
	if (j->buf != NULL)
		j->buf[0] = '\0';
}

/* Hands the NUL-terminated text to the caller, who frees it. */
char *
jw_steal(struct jw *j, size_t *len)
{
	char	*p;

	if (j->err) {
		jw_free(j);
		return (NULL);
	}
	p = j->buf;
	if (len != NULL)
		*len = j->len;
	memset(j, 0, sizeof(*j));
	return (p);
}

static int
jw_grow(struct jw *j, size_t need)
{
	size_t	 ncap;
	char	*p;

	if (j->err)
		return (-1);
	if (j->len + need + 1 <= j->cap)
		return (0);

	ncap = j->cap ? j->cap : 64;
	while (ncap < j->len + need + 1) {
		if (ncap > SIZE_MAX / 2) {
			j->err = 1;
			return (-1);
		}
		ncap *= 2;
	}
	if ((p = realloc(j->buf, ncap)) == NULL) {
		j->err = 1;
		return (-1);
	}
	j->buf = p;
	j->cap = ncap;
	return (0);
}

void
jw_append(struct jw *j, const void *data, size_t len)
{
	if (jw_grow(j, len) == -1)
		return;
	memcpy(j->buf + j->len, data, len);
	j->len += len;
	j->buf[j->len] = '\0';
}

/* Writes the comma and, inside an object, the member's name. */
static void
jw_key(struct jw *j, const char *key)
{
	if (j->err)
		return;
	if (!j->first[j->depth])
		jw_append(j, ",", 1);
	j->first[j->depth] = 0;
	if (key != NULL) {
		jw_escape(j, key, strlen(key));
		jw_append(j, ":", 1);
	}
}

static void
jw_open(struct jw *j, const char *key, char c)
{
	jw_key(j, key);
	if (j->depth + 1 >= JW_DEPTH_MAX) {
		j->err = 1;
		return;
	}
	jw_append(j, &c, 1);
	j->depth++;
	j->first[j->depth] = 1;
}

static void
jw_close(struct jw *j, char c)
{
	if (j->depth == 0) {
		j->err = 1;
		return;
	}
	jw_append(j, &c, 1);
	j->depth--;
}

void
jw_obj_open(struct jw *j, const char *key)
{
	jw_open(j, key, '{');
}

void
jw_obj_close(struct jw *j)
{
	jw_close(j, '}');
}

void
jw_arr_open(struct jw *j, const char *key)
{
	jw_open(j, key, '[');
}

void
jw_arr_close(struct jw *j)
{
	jw_close(j, ']');
}

void
jw_str(struct jw *j, const char *key, const char *val)
{
	if (val == NULL) {
		jw_null(j, key);
		return;
	}
	jw_strn(j, key, val, strlen(val));
}

void
jw_strn(struct jw *j, const char *key, const char *val, size_t len)
{
	jw_key(j, key);
	jw_escape(j, val, len);
}

void
jw_int(struct jw *j, const char *key, int64_t v)
{
	char	num[32];
	int	n;

	jw_key(j, key);
	n = snprintf(num, sizeof(num), "%lld", (long long)v);
	jw_append(j, num, (size_t)n);
}

void
jw_double(struct jw *j, const char *key, double v)
{
	char	num[40];
	int	n;

	jw_key(j, key);
	if (!isfinite(v)) {
		jw_append(j, "null", 4);
		return;
	}
	n = snprintf(num, sizeof(num), "%.17g", v);
	jw_append(j, num, (size_t)n);
}

void
jw_bool(struct jw *j, const char *key, int v)
{
	jw_key(j, key);
	if (v)
		jw_append(j, "true", 4);
	else
		jw_append(j, "false", 5);
}

void
jw_null(struct jw *j, const char *key)
{
	jw_key(j, key);
	jw_append(j, "null", 4);
}

/* A value that is already JSON text, such as a column PostgreSQL built. */
void
jw_raw(struct jw *j, const char *key, const char *json, size_t len)
{
	jw_key(j, key);
	if (json == NULL || len == 0)
		jw_append(j, "null", 4);
	else
		jw_append(j, json, len);
}

/*
 * Length of the valid UTF-8 sequence at p, or 0 when the bytes there are
 * not one (overlong forms, surrogates and values past U+10FFFF included).
 */
static size_t
jw_utf8_len(const unsigned char *p, size_t left)
{
	size_t		n, i;
	unsigned int	cp;

	if (p[0] < 0x80)
		return (1);
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		cp = p[0] & 0x07;
	} else
		return (0);

	if (left < n)
		return (0);
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return (0);
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return (0);
	return (n);
}

/* A member's name and colon, for a value the caller writes itself. */
void
jw_key_part(struct jw *j, const char *key)
{
	jw_key(j, key);
}

void
jw_escape(struct jw *j, const char *s, size_t len)
{
	jw_append(j, "\"", 1);
	jw_escape_part(j, s, len);
	jw_append(j, "\"", 1);
}

/* The escaped form of s without the quotes around it. */
void
jw_escape_part(struct jw *j, const char *s, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i, n, run;
	char			 esc[8];

	/* Worst case is six bytes out for one in; reserve once. */
	if (len < (SIZE_MAX - 2) / 6 && jw_grow(j, len * 6 + 2) == -1)
		return;

	i = 0;
	while (i < len) {
		/* Copy runs of plain bytes in one go. */
		run = i;
		while (run < len && p[run] >= 0x20 && p[run] < 0x80 &&
		    p[run] != '"' && p[run] != '\\')
			run++;
		if (run > i) {
			jw_append(j, s + i, run - i);
			i = run;
			continue;
		}

		if (p[i] >= 0x80) {
			if ((n = jw_utf8_len(p + i, len - i)) == 0) {
				jw_append(j, "\\ufffd", 6);
				i++;
			} else {
				jw_append(j, s + i, n);
				i += n;
			}
			continue;
		}

		switch (p[i]) {
		case '"':
			jw_append(j, "\\\"", 2);
			break;
		case '\\':
			jw_append(j, "\\\\", 2);
			break;
		case '\n':
			jw_append(j, "\\n", 2);
			break;
		case '\r':
			jw_append(j, "\\r", 2);
			break;
		case '\t':
			jw_append(j, "\\t", 2);
			break;
		default:
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[p[i] >> 4];
			esc[5] = hex[p[i] & 0x0f];
			jw_append(j, esc, 6);
			break;
		}
		i++;
	}
}
