/*
 * disc-cli: run the discovery engine over captured calls in NDJSON (one
 * call per line, as the capture stores them) and write the OpenAPI
 * document and the Markdown guide.  Used by the benchmark, the document
 * validation tests and by hand.
 *
 *	disc-cli [-o openapi.json] [-m guide.md] [-t title] [-s server]
 *	    [-S] [file.ndjson]
 *
 * -S prints the summary for the language model instead.  A line that is
 * not a JSON object is counted and skipped, like a bad call.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "discovery/disc.h"

static int	b64_value(int);
static unsigned char	*b64_decode(const char *, size_t *);
static char	*headers_text(json_t *);
static int	add_line(struct disc_engine *, const char *, size_t);
static int	add_fast(struct disc_engine *, char *, int *);
static int	write_file(const char *, const char *);
static void	usage(void);

static int
b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return (c - 'A');
	if (c >= 'a' && c <= 'z')
		return (c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (c - '0' + 52);
	if (c == '+' || c == '-')
		return (62);
	if (c == '/' || c == '_')
		return (63);
	return (-1);
}

/* Standard or URL-safe base64; padding and whitespace are skipped. */
static unsigned char *
b64_decode(const char *s, size_t *outlen)
{
	unsigned char	*out;
	size_t		 len = strlen(s), o = 0, i;
	unsigned long	 acc = 0;
	int		 bits = 0, v;

	if ((out = malloc(len / 4 * 3 + 4)) == NULL)
		return (NULL);
	for (i = 0; i < len; i++) {
		if ((v = b64_value((unsigned char)s[i])) == -1)
			continue;
		acc = (acc << 6) | (unsigned long)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)((acc >> bits) & 0xff);
		}
	}
	*outlen = o;
	return (out);
}

static char *
headers_text(json_t *h)
{
	if (!json_is_object(h))
		return (NULL);
	return (json_dumps(h, JSON_COMPACT));
}

static const char *
str_field(json_t *o, const char *key)
{
	json_t	*v = json_object_get(o, key);

	return (json_is_string(v) ? json_string_value(v) : NULL);
}

/* One body: text as given, or base64 decoded into *owned. */
static void
body_field(json_t *o, const char *text_key, const char *b64_key,
    const unsigned char **body, size_t *len, unsigned char **owned)
{
	json_t		*v;
	const char	*b64;

	*body = NULL;
	*len = 0;
	*owned = NULL;
	if ((v = json_object_get(o, text_key)) != NULL && json_is_string(v)) {
		*body = (const unsigned char *)json_string_value(v);
		*len = json_string_length(v);
		return;
	}
	if ((b64 = str_field(o, b64_key)) != NULL &&
	    (*owned = b64_decode(b64, len)) != NULL)
		*body = *owned;
}

/*
 * A fast reader for the common shape of a line: one flat object whose
 * values are strings, numbers or (for header sets) objects, which are
 * handed to the engine as the JSON text they already are.  Strings are
 * unescaped in place.  Returns -1 on anything else; the caller then
 * reads the line with jansson.
 */
struct line {
	const char	*f[16];		/* string or raw object per field */
	size_t		 flen[16];
	long long	 num[16];
	int		 isnum[16];
};

static const char *const line_keys[] = { "method", "path", "query",
    "requestHeaders", "responseHeaders", "requestContentType",
    "responseContentType", "requestBody", "requestBodyBase64",
    "responseBody", "responseBodyBase64", "statusCode", "durationMs",
    NULL };

static int
hexdig(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

static int
hex4(const char *p, unsigned long *v)
{
	int	i, d;

	*v = 0;
	for (i = 0; i < 4; i++) {
		if ((d = hexdig((unsigned char)p[i])) == -1)
			return (-1);
		*v = *v * 16 + (unsigned long)d;
	}
	return (0);
}

/* Unescape the string at *pp (after its quote) in place. */
static char *
fast_string(char **pp, size_t *outlen)
{
	char		*p = *pp, *o = *pp, *start = *pp;
	unsigned long	 cp, lo;

	for (;;) {
		if (*p == '\0' || (unsigned char)*p < 0x20)
			return (NULL);
		if (*p == '"')
			break;
		if (*p != '\\') {
			*o++ = *p++;
			continue;
		}
		p++;
		switch (*p) {
		case '"': case '\\': case '/':
			*o++ = *p++;
			continue;
		case 'b': *o++ = '\b'; p++; continue;
		case 'f': *o++ = '\f'; p++; continue;
		case 'n': *o++ = '\n'; p++; continue;
		case 'r': *o++ = '\r'; p++; continue;
		case 't': *o++ = '\t'; p++; continue;
		case 'u':
			if (hex4(p + 1, &cp) == -1)
				return (NULL);
			p += 5;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (p[0] != '\\' || p[1] != 'u' ||
				    hex4(p + 2, &lo) == -1 ||
				    lo < 0xdc00 || lo > 0xdfff)
					return (NULL);
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
				p += 6;
			} else if (cp >= 0xdc00 && cp <= 0xdfff)
				return (NULL);
			if (cp < 0x80)
				*o++ = (char)cp;
			else if (cp < 0x800) {
				*o++ = (char)(0xc0 | (cp >> 6));
				*o++ = (char)(0x80 | (cp & 0x3f));
			} else if (cp < 0x10000) {
				*o++ = (char)(0xe0 | (cp >> 12));
				*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
				*o++ = (char)(0x80 | (cp & 0x3f));
			} else {
				*o++ = (char)(0xf0 | (cp >> 18));
				*o++ = (char)(0x80 | ((cp >> 12) & 0x3f));
				*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
				*o++ = (char)(0x80 | (cp & 0x3f));
			}
			continue;
		default:
			return (NULL);
		}
	}
	*pp = p + 1;
	*outlen = (size_t)(o - start);
	*o = '\0';
	return (start);
}

/* Skip a flat-or-nested object at p, respecting strings. */
static char *
skip_object(char *p)
{
	int	depth = 0, instr = 0;

	for (; *p != '\0'; p++) {
		if (instr) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '"')
				instr = 0;
			continue;
		}
		if (*p == '"')
			instr = 1;
		else if (*p == '{' || *p == '[')
			depth++;
		else if (*p == '}' || *p == ']') {
			if (--depth == 0)
				return (p + 1);
		}
	}
	return (NULL);
}

static char *
ws(char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return (p);
}

static int
fast_line(char *p, struct line *l)
{
	char		*key, *val, *end;
	size_t		 klen, vlen;
	int		 i;

	memset(l, 0, sizeof(*l));
	p = ws(p);
	if (*p++ != '{')
		return (-1);
	p = ws(p);
	if (*p == '}')
		return (0);
	for (;;) {
		p = ws(p);
		if (*p++ != '"' || (key = fast_string(&p, &klen)) == NULL)
			return (-1);
		p = ws(p);
		if (*p++ != ':')
			return (-1);
		p = ws(p);
		for (i = 0; line_keys[i] != NULL; i++)
			if (strcmp(line_keys[i], key) == 0)
				break;
		if (*p == '"') {
			p++;
			if ((val = fast_string(&p, &vlen)) == NULL)
				return (-1);
			if (line_keys[i] != NULL) {
				l->f[i] = val;
				l->flen[i] = vlen;
			}
		} else if (*p == '{' || *p == '[') {
			val = p;
			if ((end = skip_object(p)) == NULL)
				return (-1);
			/* The separator after it is saved before the cut. */
			p = ws(end);
			if (*p != ',' && *p != '}')
				return (-1);
			if (line_keys[i] != NULL && *val == '{') {
				l->f[i] = val;
				l->flen[i] = (size_t)(end - val);
			}
			if (*p == '}') {
				*end = '\0';
				return (*ws(p + 1) == '\0' ? 0 : -1);
			}
			*end = '\0';
			p++;
			continue;
		} else if (*p == '-' || (*p >= '0' && *p <= '9')) {
			long long	v = strtoll(p, &end, 10);

			if (end == p)
				return (-1);
			while (*end == '.' || *end == 'e' || *end == 'E' ||
			    *end == '+' || *end == '-' ||
			    (*end >= '0' && *end <= '9'))
				end++;
			if (line_keys[i] != NULL) {
				l->num[i] = v;
				l->isnum[i] = 1;
			}
			p = end;
		} else if (strncmp(p, "null", 4) == 0)
			p += 4;
		else if (strncmp(p, "true", 4) == 0)
			p += 4;
		else if (strncmp(p, "false", 5) == 0)
			p += 5;
		else
			return (-1);
		p = ws(p);
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p == '}')
			return (*ws(p + 1) == '\0' ? 0 : -1);
		return (-1);
	}
}

static int
add_fast(struct disc_engine *e, char *line, int *rc)
{
	struct line		 l;
	struct disc_call	 c;
	unsigned char		*rq = NULL, *rs = NULL;

	if (fast_line(line, &l) == -1)
		return (-1);
	memset(&c, 0, sizeof(c));
	c.method = l.f[0];
	c.path = l.f[1];
	c.query = l.f[2];
	c.req_headers_json = l.f[3];
	c.resp_headers_json = l.f[4];
	c.req_content_type = l.f[5];
	c.resp_content_type = l.f[6];
	if (l.f[7] != NULL) {
		c.req_body = (const unsigned char *)l.f[7];
		c.req_body_len = l.flen[7];
	} else if (l.f[8] != NULL && (rq = b64_decode(l.f[8],
	    &c.req_body_len)) != NULL)
		c.req_body = rq;
	if (l.f[9] != NULL) {
		c.resp_body = (const unsigned char *)l.f[9];
		c.resp_body_len = l.flen[9];
	} else if (l.f[10] != NULL && (rs = b64_decode(l.f[10],
	    &c.resp_body_len)) != NULL)
		c.resp_body = rs;
	c.status = l.isnum[11] ? (int)l.num[11] : 0;
	c.duration_ms = l.isnum[12] ? (long)l.num[12] : -1;
	*rc = disc_add_call(e, &c);
	free(rq);
	free(rs);
	return (0);
}

static int
add_line(struct disc_engine *e, const char *line, size_t len)
{
	struct disc_call	 c;
	json_t			*o, *st, *d;
	unsigned char		*rq = NULL, *rs = NULL;
	char			*rh = NULL, *ph = NULL, *copy;
	int			 rc;

	/* The fast reader works on a copy: it cuts the line up. */
	if ((copy = malloc(len + 1)) != NULL) {
		memcpy(copy, line, len);
		copy[len] = '\0';
		if (memchr(line, '\0', len) == NULL &&
		    add_fast(e, copy, &rc) == 0) {
			free(copy);
			return (rc);
		}
		free(copy);
	}
	o = json_loadb(line, len, 0, NULL);
	if (o == NULL || !json_is_object(o)) {
		json_decref(o);
		return (-1);
	}
	memset(&c, 0, sizeof(c));
	c.method = str_field(o, "method");
	c.path = str_field(o, "path");
	c.query = str_field(o, "query");
	rh = headers_text(json_object_get(o, "requestHeaders"));
	ph = headers_text(json_object_get(o, "responseHeaders"));
	c.req_headers_json = rh;
	c.resp_headers_json = ph;
	c.req_content_type = str_field(o, "requestContentType");
	c.resp_content_type = str_field(o, "responseContentType");
	body_field(o, "requestBody", "requestBodyBase64", &c.req_body,
	    &c.req_body_len, &rq);
	body_field(o, "responseBody", "responseBodyBase64", &c.resp_body,
	    &c.resp_body_len, &rs);
	st = json_object_get(o, "statusCode");
	c.status = json_is_integer(st) ? (int)json_integer_value(st) : 0;
	d = json_object_get(o, "durationMs");
	c.duration_ms = json_is_integer(d) ? (long)json_integer_value(d) : -1;
	rc = disc_add_call(e, &c);
	free(rq);
	free(rs);
	free(rh);
	free(ph);
	json_decref(o);
	return (rc);
}

static int
write_file(const char *path, const char *text)
{
	FILE	*f;
	size_t	 len = strlen(text);

	if (strcmp(path, "-") == 0)
		f = stdout;
	else if ((f = fopen(path, "w")) == NULL) {
		perror(path);
		return (-1);
	}
	if (fwrite(text, 1, len, f) != len || (len > 0 &&
	    text[len - 1] != '\n' && fputc('\n', f) == EOF)) {
		perror(path);
		if (f != stdout)
			fclose(f);
		return (-1);
	}
	if (f != stdout && fclose(f) != 0) {
		perror(path);
		return (-1);
	}
	return (0);
}

static void
usage(void)
{
	fprintf(stderr, "usage: disc-cli [-o openapi.json] [-m guide.md] "
	    "[-t title] [-s server] [-S] [file.ndjson]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct disc_engine	*e;
	FILE			*in = stdin;
	char			*line = NULL, *doc = NULL, *md = NULL;
	const char		*oapi = NULL, *mdpath = NULL, *title = NULL;
	const char		*server = NULL;
	size_t			 cap = 0, bad = 0, lines = 0;
	ssize_t			 n;
	int			 ch, summary = 0, rc = 1;
	struct timespec		 t0, t1, t2;

	while ((ch = getopt(argc, argv, "o:m:t:s:S")) != -1) {
		switch (ch) {
		case 'o':
			oapi = optarg;
			break;
		case 'm':
			mdpath = optarg;
			break;
		case 't':
			title = optarg;
			break;
		case 's':
			server = optarg;
			break;
		case 'S':
			summary = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1)
		usage();
	if (argc == 1 && strcmp(argv[0], "-") != 0 &&
	    (in = fopen(argv[0], "r")) == NULL) {
		perror(argv[0]);
		return (1);
	}
	if ((e = disc_new()) == NULL) {
		fprintf(stderr, "disc-cli: out of memory\n");
		return (1);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((n = getline(&line, &cap, in)) != -1) {
		lines++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			n--;
		if (n == 0)
			continue;
		if (add_line(e, line, (size_t)n) == -1)
			bad++;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (disc_set_info(e, title, NULL, NULL, server, NULL) == -1 ||
	    disc_analyse(e) == -1) {
		fprintf(stderr, "disc-cli: analysis failed\n");
		goto done;
	}
	if (summary) {
		if ((doc = disc_summary_json(e, 0, (size_t)-1)) == NULL ||
		    write_file("-", doc) == -1)
			goto done;
	} else {
		if ((doc = disc_openapi_json(e)) == NULL ||
		    (md = disc_markdown(e)) == NULL) {
			fprintf(stderr, "disc-cli: output failed\n");
			goto done;
		}
		if (write_file(oapi ? oapi : "-", doc) == -1)
			goto done;
		if (mdpath != NULL && write_file(mdpath, md) == -1)
			goto done;
	}
	clock_gettime(CLOCK_MONOTONIC, &t2);
	fprintf(stderr, "disc-cli: %zu lines, %zu calls used, %zu rejected, "
	    "%zu operations; ingest %.3f s, analyse+write %.3f s\n", lines,
	    disc_calls_used(e), bad, disc_operation_count(e),
	    (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
	    (double)(t2.tv_sec - t1.tv_sec) + (t2.tv_nsec - t1.tv_nsec) / 1e9);
	rc = 0;
done:
	free(line);
	free(doc);
	free(md);
	disc_free(e);
	if (in != stdin)
		fclose(in);
	return (rc);
}
