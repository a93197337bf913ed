/*
 * Micro-benchmark of the redactor on what the proxy sees on every call:
 * a typical 2 KB JSON body with a couple of secrets in it, and a query
 * string.  Prints MB/s and the time per body.  Wall-clock numbers vary
 * on a shared machine; for a repeatable figure run it under
 * valgrind --tool=callgrind and compare instruction counts.  Runs for
 * about a second per measurement and stops by itself.
 *
 *	make -C tests/unit bench-redact
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "redact.h"

#define BENCH_SECONDS	1.0

static double	now(void);
static size_t	make_body(char *, size_t);

static double
now(void)
{
	struct timespec	ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1) {
		perror("clock_gettime");
		exit(1);
	}
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

/* An order with a customer, items and an auth block: about 2 KB. */
static size_t
make_body(char *buf, size_t cap)
{
	size_t	len;
	int	i, n;

	n = snprintf(buf, cap,
	    "{\"id\":\"ord_8f14e45fceea167a5a36dedd4bea2543\","
	    "\"created_at\":\"2024-05-01T12:34:56Z\",\"status\":\"paid\","
	    "\"customer\":{\"id\":4711,\"name\":\"Ada Lovelace\","
	    "\"email\":\"ada@example.com\",\"phone\":\"+44 20 7946 0000\","
	    "\"address\":{\"line1\":\"12 Analytical Row\",\"city\":"
	    "\"London\",\"postcode\":\"N1 9GU\",\"country\":\"GB\"}},"
	    "\"auth\":{\"access_token\":\"eyJhbGciOiJIUzI1NiJ9."
	    "eyJzdWIiOiI0NzExIn0.c2lnbmF0dXJl\",\"token_type\":\"Bearer\","
	    "\"expires_in\":3600},"
	    "\"items\":[");
	if (n < 0 || (size_t)n >= cap)
		return (0);
	len = (size_t)n;

	for (i = 0; i < 12; i++) {
		n = snprintf(buf + len, cap - len,
		    "%s{\"sku\":\"SKU-%04d\",\"title\":\"Widget number %d, "
		    "blue\",\"qty\":%d,\"price\":{\"amount\":%d.99,"
		    "\"currency\":\"EUR\"},\"tags\":[\"new\",\"sale\"]}",
		    i ? "," : "", i, i, i + 1, 10 + i);
		if (n < 0 || (size_t)n >= cap - len)
			return (0);
		len += (size_t)n;
	}

	n = snprintf(buf + len, cap - len,
	    "],\"payment\":{\"method\":\"card\",\"card_last4\":\"4242\","
	    "\"cvc\":\"123\"},\"notes\":\"Leave at the door, \\\"please\\\""
	    "\",\"total\":{\"amount\":153.91,\"currency\":\"EUR\"}}");
	if (n < 0 || (size_t)n >= cap - len)
		return (0);
	return (len + (size_t)n);
}

int
main(void)
{
	static char	body[4096], out[16384];
	const char	*query = "page=2&limit=50&sort=-created_at&"
			    "api_key=sk_live_abcdef0123456789&q=blue+widget";
	double		start, elapsed;
	size_t		len, outl, qlen;
	long		iters;
	int		rc;

	if ((len = make_body(body, sizeof(body))) == 0) {
		fprintf(stderr, "body does not fit\n");
		return (1);
	}
	rc = redact_json(body, len, out, sizeof(out), &outl, 0);
	if (rc != REDACT_DONE) {
		fprintf(stderr, "unexpected result %d\n", rc);
		return (1);
	}

	iters = 0;
	start = now();
	do {
		(void)redact_json(body, len, out, sizeof(out), &outl, 0);
		iters++;
	} while ((iters & 1023) != 0 || now() - start < BENCH_SECONDS);
	elapsed = now() - start;
	printf("redact_json: %zu-byte body, %ld runs, %.0f MB/s, "
	    "%.2f us/body\n", len, iters,
	    (double)len * (double)iters / elapsed / 1e6,
	    elapsed / (double)iters * 1e6);

	qlen = strlen(query);
	iters = 0;
	start = now();
	do {
		(void)redact_query(query, qlen, out, sizeof(out), &outl);
		iters++;
	} while ((iters & 1023) != 0 || now() - start < BENCH_SECONDS);
	elapsed = now() - start;
	printf("redact_query: %zu-byte query, %.0f MB/s, %.3f us/query\n",
	    qlen, (double)qlen * (double)iters / elapsed / 1e6,
	    elapsed / (double)iters * 1e6);

	return (0);
}
