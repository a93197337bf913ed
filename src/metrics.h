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

/* metrics_login() outcomes. */
#define METRICS_LOGIN_OK	0
#define METRICS_LOGIN_FAILED	1
#define METRICS_LOGIN_THROTTLED	2

/* Upper bounds (ms) of the latency histogram's buckets; then +Inf. */
#define METRICS_LATENCY_BUCKETS	14
extern const uint32_t		metrics_latency_bounds[METRICS_LATENCY_BUCKETS];

struct metrics_hist {
	uint64_t	buckets[METRICS_LATENCY_BUCKETS + 1];
	uint64_t	count;
	uint64_t	sum_ms;
};

/* One alert rule's state as the evaluator last left it. */
#define METRICS_ALERTS_MAX	16

struct metrics_alert {
	int		state;		/* ALERT_INACTIVE, _PENDING, _FIRING */
	int64_t		since;		/* unix seconds the state began */
	double		value;		/* the rule's last value */
	int		known;		/* value is from a real evaluation */
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

	/* Sign-ins, language-model requests and emails. */
	uint64_t		logins_ok;
	uint64_t		logins_failed;
	uint64_t		logins_throttled;
	uint64_t		ai_requests_ok;
	uint64_t		ai_requests_failed;
	uint64_t		mail_sent;
	uint64_t		mail_failed;

	/* The alert evaluator's view (alerts.c), for every worker. */
	uint64_t		alert_evaluations;
	int64_t			alert_evaluated_at;	/* unix seconds */
	struct metrics_alert	alerts[METRICS_ALERTS_MAX];
};

extern struct metrics_shared	*metrics;

void	metrics_init(void);
void	metrics_proxy_done(uint64_t, int);
void	metrics_login(int);
void	metrics_ai_request(int);
void	metrics_hist_add(struct metrics_hist *, uint64_t);
void	metrics_add(uint64_t *, uint64_t);
double	metrics_hist_quantile(const struct metrics_hist *, double);

#endif
