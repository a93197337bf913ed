/*
 * Instance-wide metrics in shared memory (see metrics.h).
 *
 * Quantiles come from the histogram: the bucket holding the wanted rank,
 * interpolated linearly inside it, as Prometheus' histogram_quantile
 * does; good enough to tell 1 ms from 10 ms from 100 ms.
 */

#include <sys/mman.h>

#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>

#include "metrics.h"

const uint32_t	metrics_latency_bounds[METRICS_LATENCY_BUCKETS] = {
	1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000
};

struct metrics_shared	*metrics;

/* Called in the parent, before the workers are forked. */
void
metrics_init(void)
{
	void	*p;

	p = mmap(NULL, sizeof(*metrics), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		fatal("metrics: mmap: %s", errno_s);
	memset(p, 0, sizeof(*metrics));
	metrics = p;
}

void
metrics_add(uint64_t *counter, uint64_t n)
{
	if (metrics != NULL)
		(void)__atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

void
metrics_hist_add(struct metrics_hist *h, uint64_t ms)
{
	int	i;

	if (metrics == NULL)
		return;
	for (i = 0; i < METRICS_LATENCY_BUCKETS; i++) {
		if (ms <= metrics_latency_bounds[i])
			break;
	}
	(void)__atomic_fetch_add(&h->buckets[i], 1, __ATOMIC_RELAXED);
	(void)__atomic_fetch_add(&h->count, 1, __ATOMIC_RELAXED);
	(void)__atomic_fetch_add(&h->sum_ms, ms, __ATOMIC_RELAXED);
}

void
metrics_proxy_done(uint64_t ms, int status)
{
	if (metrics == NULL)
		return;
	if (status >= 100 && status < 600)
		metrics_add(&metrics->proxy_status[status / 100], 1);
	if (status == 502 || status == 504)
		metrics_add(&metrics->proxy_upstream_failures, 1);
	metrics_hist_add(&metrics->proxy_latency, ms);
}

/* One sign-in attempt; see METRICS_LOGIN_*. */
void
metrics_login(int outcome)
{
	if (metrics == NULL)
		return;
	if (outcome == METRICS_LOGIN_OK)
		metrics_add(&metrics->logins_ok, 1);
	else if (outcome == METRICS_LOGIN_THROTTLED)
		metrics_add(&metrics->logins_throttled, 1);
	else
		metrics_add(&metrics->logins_failed, 1);
}

/* One HTTP request to the language model, from any thread. */
void
metrics_ai_request(int ok)
{
	if (metrics == NULL)
		return;
	metrics_add(ok ? &metrics->ai_requests_ok :
	    &metrics->ai_requests_failed, 1);
}

double
metrics_hist_quantile(const struct metrics_hist *h, double q)
{
	uint64_t	count, seen, in;
	double		rank, lo, hi;
	int		i;

	count = __atomic_load_n(&h->count, __ATOMIC_RELAXED);
	if (count == 0)
		return (0);
	rank = q * (double)count;
	seen = 0;
	for (i = 0; i <= METRICS_LATENCY_BUCKETS; i++) {
		in = __atomic_load_n(&h->buckets[i], __ATOMIC_RELAXED);
		if (seen + in >= rank && in > 0) {
			lo = i == 0 ? 0 : metrics_latency_bounds[i - 1];
			if (i == METRICS_LATENCY_BUCKETS)
				return (lo);
			hi = metrics_latency_bounds[i];
			return (lo + (hi - lo) * ((rank - seen) / in));
		}
		seen += in;
	}
	return (metrics_latency_bounds[METRICS_LATENCY_BUCKETS - 1]);
}
