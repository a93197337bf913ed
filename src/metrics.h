/*
 * Counters and histograms shared by every worker of an instance.
 *
 * They live in one anonymous shared mapping made by the parent before the
 * workers are forked, and are updated with atomic adds, so /metrics and
 * the admin dashboard see the whole instance whichever worker answers.
 */

#ifndef METRICS_H
#define METRICS_H

#include <stdint.h>

/* Upper bounds (ms) of the latency histogram's buckets; then +Inf. */
#define METRICS_LATENCY_BUCKETS	14
extern const uint32_t		metrics_latency_bounds[METRICS_LATENCY_BUCKETS];

struct metrics_hist {
	uint64_t	buckets[METRICS_LATENCY_BUCKETS + 1];
	uint64_t	count;
	uint64_t	sum_ms;
};

struct metrics_shared {
	/* The proxy: answers by class, and upstream failures (502/504). */
	uint64_t		proxy_status[6];	/* index status/100 */
	uint64_t		proxy_upstream_failures;
	struct metrics_hist	proxy_latency;

	/* Capture, summed over workers. */
	uint64_t		capture_written;
	uint64_t		capture_dropped;
	uint64_t		capture_failures;
};

extern struct metrics_shared	*metrics;

void	metrics_init(void);
void	metrics_proxy_done(uint64_t, int);
void	metrics_hist_add(struct metrics_hist *, uint64_t);
void	metrics_add(uint64_t *, uint64_t);
double	metrics_hist_quantile(const struct metrics_hist *, double);

#endif
