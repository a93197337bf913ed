/*
 * The operator's figures, two ways:
 *
 *	GET /metrics		Prometheus' text format, for a scraper on the
 *				same host (loopback) or an admin's session
 *	GET /api/admin/metrics	the same and more as JSON, for the admin
 *				dashboard (through the admin router)
 *
 * Figures that hold for every instance (accounts, endpoints, the queue,
 * generations, payments, sign-ins) are read from PostgreSQL by the SQL
 * functions ops_prometheus() and ops_dashboard() of sql/006_ops.sql; the
 * ones only this instance knows (the proxy's answers and latency, the
 * capture writer, requests to the language model, emails, alerts) come
 * from the shared counters of metrics.c. When the database cannot be
 * reached /metrics still answers with this instance's counters and
 * apiscribe_database_up 0, so the outage itself can be scraped.
 */

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "admin.h"
#include "alerts.h"
#include "api.h"
#include "app.h"
#include "jsonw.h"
#include "log.h"
#include "metrics.h"

int	metricsapi_prometheus(struct http_request *);

static void	metricsapi_prom_start(struct api_ctx *);
static void	metricsapi_prom_denied(struct api_ctx *);
static void	metricsapi_prom_query(struct api_ctx *);
static void	metricsapi_prom_reply(struct api_ctx *);
static void	metricsapi_dashboard_reply(struct api_ctx *);
static int	metricsapi_loopback(const char *);
static void	metricsapi_counter(struct jw *, const char *, const char *,
		    const char *, const uint64_t *, const char *const *,
		    int);
static void	metricsapi_hist(struct jw *, const char *, const char *,
		    const struct metrics_hist *);
static void	metricsapi_line(struct jw *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static uint64_t	metricsapi_load(const uint64_t *);
static double	metricsapi_share(uint64_t, uint64_t);

int
metricsapi_prometheus(struct http_request *req)
{
	return (api_run(req, API_PUBLIC | API_NO_LIMIT, API_GET,
	    metricsapi_prom_start));
}

/*
 * 127.0.0.0/8, ::1 and the IPv4-mapped form of loopback. The address is
 * the client's as api.c determined it (the proxy's X-Forwarded-For entry
 * when TRUST_PROXY is set), so a reverse proxy on the same host does not
 * make every visitor local.
 */
static int
metricsapi_loopback(const char *ip)
{
	struct in_addr	 a4;
	struct in6_addr	 a6;
	const char	*v4;

	v4 = strncmp(ip, "::ffff:", 7) == 0 ? ip + 7 : ip;
	if (inet_pton(AF_INET, v4, &a4) == 1)
		return ((ntohl(a4.s_addr) >> 24) == 127);
	if (inet_pton(AF_INET6, ip, &a6) == 1)
		return (IN6_IS_ADDR_LOOPBACK(&a6));
	return (0);
}

static void
metricsapi_prom_start(struct api_ctx *c)
{
	if (metricsapi_loopback(c->ip)) {
		metricsapi_prom_query(c);
		return;
	}
	if (!c->has_user) {
		api_error(c, 401, "UNAUTHORIZED", "sign in as an admin, or "
		    "scrape /metrics from the server's own host");
		return;
	}
	if (strcmp(c->user.role, "admin") != 0) {
		api_query(c, metricsapi_prom_denied,
		    "SELECT admin_audit($1, 'admin.denied', 'route', $2, "
		    "    jsonb_build_object('method', 'GET'), $3, $4)",
		    4, c->user.id, c->req->path, c->rid, c->ip);
		return;
	}
	metricsapi_prom_query(c);
}

static void
metricsapi_prom_denied(struct api_ctx *c)
{
	if (db_failed(&c->db))
		log_msg(LOG_LVL_ERROR, "admin.denied_unaudited", c->rid,
		    c->db.error);
	api_error(c, 403, "FORBIDDEN", "this needs an admin account");
}

static void
metricsapi_prom_query(struct api_ctx *c)
{
	api_query(c, metricsapi_prom_reply, "SELECT ops_prometheus()", 0);
}

static uint64_t
metricsapi_load(const uint64_t *p)
{
	return (__atomic_load_n(p, __ATOMIC_RELAXED));
}

static double
metricsapi_share(uint64_t part, uint64_t whole)
{
	return (whole > 0 ? (double)part / (double)whole : 0);
}

static void
metricsapi_line(struct jw *j, const char *fmt, ...)
{
	va_list	ap;
	char	line[512];
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		j->err = 1;
		return;
	}
	jw_append(j, line, (size_t)n);
}

/*
 * A counter with one line per label value; `label` NULL writes one
 * unlabelled line from values[0].
 */
static void
metricsapi_counter(struct jw *j, const char *name, const char *help,
    const char *label, const uint64_t *values, const char *const *names,
    int n)
{
	int	i;

	metricsapi_line(j, "# HELP %s %s\n# TYPE %s counter\n", name, help,
	    name);
	if (label == NULL) {
		metricsapi_line(j, "%s %llu\n", name,
		    (unsigned long long)values[0]);
		return;
	}
	for (i = 0; i < n; i++)
		metricsapi_line(j, "%s{%s=\"%s\"} %llu\n", name, label,
		    names[i], (unsigned long long)values[i]);
}

static void
metricsapi_hist(struct jw *j, const char *name, const char *help,
    const struct metrics_hist *h)
{
	uint64_t	cum;
	int		i;

	metricsapi_line(j, "# HELP %s %s\n# TYPE %s histogram\n", name, help,
	    name);
	cum = 0;
	for (i = 0; i < METRICS_LATENCY_BUCKETS; i++) {
		cum += metricsapi_load(&h->buckets[i]);
		metricsapi_line(j, "%s_bucket{le=\"%u\"} %llu\n", name,
		    metrics_latency_bounds[i], (unsigned long long)cum);
	}
	cum += metricsapi_load(&h->buckets[METRICS_LATENCY_BUCKETS]);
	metricsapi_line(j, "%s_bucket{le=\"+Inf\"} %llu\n", name,
	    (unsigned long long)cum);
	metricsapi_line(j, "%s_sum %llu\n%s_count %llu\n", name,
	    (unsigned long long)metricsapi_load(&h->sum_ms), name,
	    (unsigned long long)metricsapi_load(&h->count));
}

static void
metricsapi_prom_reply(struct api_ctx *c)
{
	static const char *const classes[] = { "1xx", "2xx", "3xx", "4xx",
	    "5xx" };
	static const char *const login_names[] = { "ok", "failed",
	    "throttled" };
	static const char *const ok_failed[] = { "ok", "failed" };
	static const char *const capture_names[] = { "written", "dropped",
	    "failed" };
	struct jw		 j;
	uint64_t		 v[5];
	const char		*db;
	int			 db_up, i;

	db_up = !db_failed(&c->db) && db_rows(&c->db) == 1;
	jw_init(&j, 16384);

	if (db_up) {
		db = db_value(&c->db, 0, 0);
		jw_append(&j, db, strlen(db));
	} else {
		log_msg(LOG_LVL_WARN, "metrics.database_unavailable", c->rid,
		    c->db.error != NULL ? c->db.error : "no answer");
	}
	metricsapi_line(&j, "# HELP apiscribe_database_up Whether the "
	    "database answered this scrape.\n# TYPE apiscribe_database_up "
	    "gauge\napiscribe_database_up %d\n", db_up);

	for (i = 0; i < 5; i++)
		v[i] = metricsapi_load(&metrics->proxy_status[i + 1]);
	metricsapi_counter(&j, "apiscribe_proxy_responses_total",
	    "Proxied calls answered, by status class.", "class", v, classes,
	    5);
	v[0] = metricsapi_load(&metrics->proxy_upstream_failures);
	metricsapi_counter(&j, "apiscribe_proxy_upstream_failures_total",
	    "Proxied calls that failed upstream (502 or 504).", NULL, v,
	    NULL, 1);
	metricsapi_hist(&j, "apiscribe_proxy_latency_milliseconds",
	    "Time to answer a proxied call.", &metrics->proxy_latency);

	v[0] = metricsapi_load(&metrics->capture_written);
	v[1] = metricsapi_load(&metrics->capture_dropped);
	v[2] = metricsapi_load(&metrics->capture_failures);
	metricsapi_counter(&j, "apiscribe_capture_calls_total",
	    "Captured calls by what became of them.", "result", v,
	    capture_names, 3);

	v[0] = metricsapi_load(&metrics->logins_ok);
	v[1] = metricsapi_load(&metrics->logins_failed);
	v[2] = metricsapi_load(&metrics->logins_throttled);
	metricsapi_counter(&j, "apiscribe_logins_total",
	    "Sign-in attempts on this instance.", "result", v, login_names,
	    3);

	v[0] = metricsapi_load(&metrics->ai_requests_ok);
	v[1] = metricsapi_load(&metrics->ai_requests_failed);
	metricsapi_counter(&j, "apiscribe_ai_requests_total",
	    "Requests to the language model.", "result", v, ok_failed, 2);

	v[0] = metricsapi_load(&metrics->mail_sent);
	v[1] = metricsapi_load(&metrics->mail_failed);
	metricsapi_counter(&j, "apiscribe_mail_total",
	    "Emails handed to the SMTP server, or failed.", "result", v,
	    ok_failed, 2);

	alerts_prometheus(&j);

	if (j.err) {
		jw_free(&j);
		api_error(c, 500, "INTERNAL", "could not write the metrics");
		return;
	}
	api_reply(c, 200, "text/plain; version=0.0.4; charset=utf-8", j.buf,
	    j.len);
	jw_free(&j);
}

/* GET /api/admin/metrics, after the admin router's checks. */
void
metricsapi_dashboard(struct api_ctx *c)
{
	api_query(c, metricsapi_dashboard_reply, "SELECT ops_dashboard()", 0);
}

static void
metricsapi_dashboard_reply(struct api_ctx *c)
{
	struct jw	 j;
	const char	*db;
	uint64_t	 total, failed, written, dropped, lost;
	uint64_t	 lok, lfail, aok, afail;
	int		 i;
	char		 now[32];
	time_t		 t;

	if (!api_db_ok(c))
		return;
	db = db_value(&c->db, 0, 0);

	total = 0;
	for (i = 1; i < 6; i++)
		total += metricsapi_load(&metrics->proxy_status[i]);
	failed = metricsapi_load(&metrics->proxy_upstream_failures);
	written = metricsapi_load(&metrics->capture_written);
	dropped = metricsapi_load(&metrics->capture_dropped);
	lost = metricsapi_load(&metrics->capture_failures);
	lok = metricsapi_load(&metrics->logins_ok);
	lfail = metricsapi_load(&metrics->logins_failed);
	aok = metricsapi_load(&metrics->ai_requests_ok);
	afail = metricsapi_load(&metrics->ai_requests_failed);

	t = time(NULL);
	(void)strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));

	jw_init(&j, 8192 + strlen(db));
	jw_obj_open(&j, NULL);
	jw_str(&j, "generatedAt", now);
	jw_str(&j, "instance", app_instance);
	jw_raw(&j, "database", db, strlen(db));

	/* This instance's counters, since it started. */
	jw_obj_open(&j, "proxy");
	jw_int(&j, "requests", (int64_t)total);
	jw_obj_open(&j, "byClass");
	jw_int(&j, "2xx", (int64_t)metricsapi_load(&metrics->proxy_status[2]));
	jw_int(&j, "3xx", (int64_t)metricsapi_load(&metrics->proxy_status[3]));
	jw_int(&j, "4xx", (int64_t)metricsapi_load(&metrics->proxy_status[4]));
	jw_int(&j, "5xx", (int64_t)metricsapi_load(&metrics->proxy_status[5]));
	jw_obj_close(&j);
	jw_int(&j, "upstreamFailures", (int64_t)failed);
	jw_double(&j, "failureRate", metricsapi_share(failed, total));
	jw_obj_open(&j, "latencyMs");
	jw_double(&j, "p50", metrics_hist_quantile(&metrics->proxy_latency,
	    0.50));
	jw_double(&j, "p95", metrics_hist_quantile(&metrics->proxy_latency,
	    0.95));
	jw_double(&j, "p99", metrics_hist_quantile(&metrics->proxy_latency,
	    0.99));
	jw_double(&j, "avg", metricsapi_share(metricsapi_load(
	    &metrics->proxy_latency.sum_ms),
	    metricsapi_load(&metrics->proxy_latency.count)));
	jw_obj_close(&j);
	jw_obj_close(&j);

	jw_obj_open(&j, "capture");
	jw_int(&j, "written", (int64_t)written);
	jw_int(&j, "dropped", (int64_t)dropped);
	jw_int(&j, "failures", (int64_t)lost);
	jw_double(&j, "failureRate", metricsapi_share(dropped + lost,
	    written + dropped + lost));
	jw_obj_close(&j);

	jw_obj_open(&j, "logins");
	jw_int(&j, "ok", (int64_t)lok);
	jw_int(&j, "failed", (int64_t)lfail);
	jw_int(&j, "throttled", (int64_t)metricsapi_load(
	    &metrics->logins_throttled));
	jw_double(&j, "failureRate", metricsapi_share(lfail, lok + lfail));
	jw_obj_close(&j);

	jw_obj_open(&j, "aiRequests");
	jw_int(&j, "ok", (int64_t)aok);
	jw_int(&j, "failed", (int64_t)afail);
	jw_double(&j, "failureRate", metricsapi_share(afail, aok + afail));
	jw_obj_close(&j);

	jw_obj_open(&j, "mail");
	jw_int(&j, "sent", (int64_t)metricsapi_load(&metrics->mail_sent));
	jw_int(&j, "failed", (int64_t)metricsapi_load(&metrics->mail_failed));
	jw_obj_close(&j);

	alerts_dashboard(&j);
	jw_obj_close(&j);

	api_reply_jw(c, 200, &j);
	jw_free(&j);
}
