/*
 * libFuzzer target over the discovery engine's whole input: any bytes
 * become a handful of calls (method, path, query, header sets, media
 * types, bodies, status), which are analysed and rendered to OpenAPI,
 * Markdown and the language-model summary.  No crash, leak, hang or
 * sanitizer report is acceptable, and the OpenAPI text must always be
 * valid JSON.
 *
 * Layout of an input: calls separated by 0x1d, fields of a call by
 * 0x1e in the order method, path, query, request headers, response
 * headers, request type, response type, request body, response body.
 * Missing fields are NULL; the status comes from the call's length.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "discovery/disc.h"

#define FIELDS	9
#define CALLS	32

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const int statuses[] = { 200, 201, 204, 301, 400, 401, 404, 409,
    422, 500, 99, 600 };

static void
feed(struct disc_engine *e, char *call, size_t len)
{
	char			*f[FIELDS];
	size_t			 flen[FIELDS], n = 0, i, start = 0;
	struct disc_call	 c;

	memset(f, 0, sizeof(f));
	memset(flen, 0, sizeof(flen));
	for (i = 0; i <= len && n < FIELDS; i++) {
		if (i == len || call[i] == 0x1e) {
			f[n] = call + start;
			flen[n] = i - start;
			n++;
			if (i < len)
				call[i] = '\0';
			start = i + 1;
		}
	}
	memset(&c, 0, sizeof(c));
	c.method = f[0];
	c.path = f[1];
	c.query = f[2];
	c.req_headers_json = f[3];
	c.resp_headers_json = f[4];
	c.req_content_type = f[5];
	c.resp_content_type = f[6];
	if (f[7] != NULL) {
		c.req_body = (const unsigned char *)f[7];
		c.req_body_len = flen[7];
	}
	if (f[8] != NULL) {
		c.resp_body = (const unsigned char *)f[8];
		c.resp_body_len = flen[8];
	}
	c.status = statuses[len % (sizeof(statuses) / sizeof(statuses[0]))];
	c.duration_ms = (long)len;
	(void)disc_add_call(e, &c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct disc_engine	*e;
	char			*buf, *doc, *md, *sum;
	size_t			 i, start = 0, ncalls = 0;
	json_t			*j;
	const char		*tags[] = { "t" };

	if ((buf = malloc(size + 1)) == NULL)
		return (0);
	memcpy(buf, data, size);
	buf[size] = '\0';
	if ((e = disc_new()) == NULL) {
		free(buf);
		return (0);
	}
	for (i = 0; i <= size && ncalls < CALLS; i++) {
		if (i == size || buf[i] == 0x1d) {
			buf[i] = '\0';
			feed(e, buf + start, i - start);
			start = i + 1;
			ncalls++;
		}
	}
	if (disc_analyse(e) == 0) {
		doc = disc_openapi_json(e);
		md = disc_markdown(e);
		sum = disc_summary_json(e, 0, 5);
		if (doc == NULL || md == NULL || sum == NULL)
			abort();
		if ((j = json_loads(doc, 0, NULL)) == NULL)
			abort();
		json_decref(j);
		(void)disc_annotate(e, "getRoot", buf, buf, tags, 1);
		free(doc);
		free(md);
		free(sum);
	}
	disc_free(e);
	free(buf);
	return (0);
}
