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

static int
add_line(struct disc_engine *e, const char *line, size_t len)
{
	struct disc_call	 c;
	json_t			*o, *st, *d;
	unsigned char		*rq = NULL, *rs = NULL;
	char			*rh = NULL, *ph = NULL;
	int			 rc;

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
	    disc_calls_used(e), disc_calls_rejected(e) + bad - (bad >
	    disc_calls_rejected(e) ? 0 : 0), disc_operation_count(e),
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
