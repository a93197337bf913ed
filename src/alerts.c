/*
 * The server's own alert evaluator.
 *
 * The operations thresholds of DESIGN section 12 are rules here, checked
 * every ALERT_INTERVAL_SECONDS by the first worker of each instance:
 *
 *	database_unreachable	the evaluator's query cannot reach it; at once
 *	payment_failures	a payment failed in 5 minutes; at once
 *	ai_error_rate		over 10 % of generations in 5 minutes could
 *				not use the model, for 5 minutes
 *	proxy_failure_rate	over 5 % of proxied calls failed upstream
 *				(502/504) in 5 minutes, for 5 minutes
 *	queue_depth		over 1000 jobs waiting, for 15 minutes
 *	proxy_latency		average proxy latency over 2 s in 15 minutes,
 *				for 15 minutes
 *	docs_failure_rate	over 5 % of documentation jobs failed in 15
 *				minutes, for 15 minutes
 *	purchase_failure_rate	over 3 % of credit purchases failed in 15
 *				minutes, for 15 minutes
 *
 * Figures that live in the database (queue, generations, payments) come
 * from one query, ops_alert_inputs(); the proxy's come from the shared
 * counters of metrics.c, of which the evaluator keeps a ring of samples
 * so that it can take their change over a window. Shares need at least
 * ALERT_MIN_SAMPLES cases in their window before they can fire.
 *
 * A rule's state lives in shared memory (metrics->alerts), so any worker
 * can show it, and only there: a database that cannot be reached must
 * still be reported. Each change of state is logged at once and queued
 * for the alert_events table, written as soon as the database answers
 * again. When ALERT_EMAIL is set, firing and resolved alerts are also
 * put in the mail outbox.
 *
 * XXX With several instances each one evaluates the database's rules
 * too, so their history holds one row per instance for those.
 */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "admin.h"
#include "alertrule.h"
#include "alerts.h"
#include "api.h"
#include "app.h"
#include "db.h"
#include "log.h"
#include "metrics.h"

#define ALERTS_RING		256
#define ALERTS_PENDING_MAX	64

#define SRC_DATABASE	0
#define SRC_PAYMENTS	1
#define SRC_AI		2
#define SRC_PROXY_FAIL	3
#define SRC_QUEUE	4
#define SRC_LATENCY	5
#define SRC_DOCS	6
#define SRC_PURCHASES	7

struct alerts_rule {
	const char	*name;
	const char	*severity;
	const char	*summary;
	int		 source;
	double		 threshold;
	int		 hold;		/* seconds the condition must hold */
	int		 window;	/* seconds its figure is taken over */
};

/* The shared counters at one moment. */
struct alerts_sample {
	int64_t		at;
	uint64_t	proxy_total;
	uint64_t	proxy_failed;
	uint64_t	latency_count;
	uint64_t	latency_sum;
};

/* A change of state waiting to be written to alert_events. */
struct alerts_event {
	int		rule;
	int		fired;
	double		value;
	int64_t		since;
};

static struct alerts_rule alerts_rules[] = {
	{ "database_unreachable", "critical",
	    "The database cannot be reached", SRC_DATABASE, 0, 0, 0 },
	{ "payment_failures", "critical",
	    "Payments failed in the last 5 minutes", SRC_PAYMENTS, 0, 0,
	    300 },
	{ "ai_error_rate", "warning",
	    "Over 10% of generations could not use the language model",
	    SRC_AI, 0.10, 300, 300 },
	{ "proxy_failure_rate", "critical",
	    "Over 5% of proxied calls failed upstream", SRC_PROXY_FAIL, 0.05,
	    300, 300 },
	{ "queue_depth", "warning",
	    "Over 1000 jobs are waiting in the queue", SRC_QUEUE, 1000, 900,
	    0 },
	{ "proxy_latency", "warning",
	    "The proxy's average latency is over 2 seconds", SRC_LATENCY,
	    2000, 900, 900 },
	{ "docs_failure_rate", "warning",
	    "Over 5% of documentation jobs failed", SRC_DOCS, 0.05, 900,
	    900 },
	{ "purchase_failure_rate", "critical",
	    "Over 3% of credit purchases failed", SRC_PURCHASES, 0.03, 900,
	    900 },
};

#define ALERTS_NRULES	(sizeof(alerts_rules) / sizeof(alerts_rules[0]))

static void	alerts_tick(void *, u_int64_t);
static void	alerts_evaluated(struct db_call *, void *);
static void	alerts_evaluate(int, const struct db_call *);
static void	alerts_sample_take(struct alerts_sample *, int64_t);
static void	alerts_window(const struct alerts_sample *, int,
		    struct alerts_sample *);
static void	alerts_record(int, int, double, int64_t);
static void	alerts_flush(void);
static void	alerts_flushed(struct db_call *, void *);
static void	alerts_pruned(struct db_call *, void *);
static void	alerts_history_reply(struct api_ctx *);
static void	alerts_history_page(struct api_ctx *);
static void	alerts_write_rules(struct jw *);
static int	alerts_db_down(const struct db_call *);

static struct alertrule_state	alerts_state[ALERTS_NRULES];
static struct alerts_sample	alerts_ring[ALERTS_RING];
static int			alerts_ring_len;
static int			alerts_ring_head;
static struct alerts_event	alerts_pending[ALERTS_PENDING_MAX];
static int			alerts_npending;

static struct db_call		alerts_db;
static int			alerts_busy;
static u_int64_t		alerts_started;
static struct db_call		alerts_flush_db;
static int			alerts_flushing;
static struct db_call		alerts_prune_db;
static int			alerts_pruning;
static int64_t			alerts_pruned_at;

static int			alerts_interval;
static int			alerts_min_samples;
static const char		*alerts_email;

/*
 * Per worker: every worker knows the rules, only the first one of an
 * instance evaluates them; the others read the shared state.
 * ALERT_FOR_SECONDS and ALERT_WINDOW_SECONDS shorten every rule's
 * duration and window (for tests and drills); ALERT_QUEUE_DEPTH and
 * ALERT_PROXY_LATENCY_MS move those two thresholds.
 */
void
alerts_init(void)
{
	long		 hold, window;
	size_t		 i;

	if (metrics == NULL || worker == NULL)
		return;

	alerts_interval = (int)app_env_num("ALERT_INTERVAL_SECONDS", 15, 1,
	    3600);
	alerts_min_samples = (int)app_env_num("ALERT_MIN_SAMPLES", 10, 1,
	    1000000);
	alerts_email = app_env("ALERT_EMAIL", NULL);
	hold = app_env_num("ALERT_FOR_SECONDS", -1, 0, 86400);
	window = app_env_num("ALERT_WINDOW_SECONDS", -1, 1, 86400);

	for (i = 0; i < ALERTS_NRULES; i++) {
		if (hold >= 0 && alerts_rules[i].hold > 0)
			alerts_rules[i].hold = (int)hold;
		if (window > 0 && alerts_rules[i].window > 0)
			alerts_rules[i].window = (int)window;
		if (alerts_rules[i].source == SRC_QUEUE)
			alerts_rules[i].threshold = (double)app_env_num(
			    "ALERT_QUEUE_DEPTH", 1000, 0, 100000000);
		if (alerts_rules[i].source == SRC_LATENCY)
			alerts_rules[i].threshold = (double)app_env_num(
			    "ALERT_PROXY_LATENCY_MS", 2000, 0, 3600000);
	}

	/* Every worker shows the rules; the first one evaluates them. */
	if (worker->id != 1)
		return;
	for (i = 0; i < ALERTS_NRULES; i++) {
		alerts_state[i].since = (int64_t)time(NULL);
		metrics->alerts[i].since = alerts_state[i].since;
	}

	db_call_init(&alerts_db);
	db_call_init(&alerts_flush_db);
	db_call_init(&alerts_prune_db);
	kore_timer_add(alerts_tick, (u_int64_t)alerts_interval * 1000, NULL,
	    0);
	kore_timer_add(alerts_tick, 1000, NULL, KORE_TIMER_ONESHOT);
}

static void
alerts_tick(void *arg, u_int64_t now)
{
	char	 s[16], l[16];
	int	 i, shortw, longw;

	/*
	 * A query that has not come back after three intervals means a
	 * database that hangs rather than refuses: as good as unreachable.
	 */
	if (alerts_busy) {
		if (now - alerts_started >
		    (u_int64_t)alerts_interval * 3000)
			alerts_evaluate(0, NULL);
		return;
	}

	shortw = 300;
	longw = 900;
	for (i = 0; i < (int)ALERTS_NRULES; i++) {
		if (alerts_rules[i].source == SRC_AI)
			shortw = alerts_rules[i].window;
		if (alerts_rules[i].source == SRC_DOCS)
			longw = alerts_rules[i].window;
	}
	(void)snprintf(s, sizeof(s), "%d", shortw);
	(void)snprintf(l, sizeof(l), "%d", longw);

	alerts_busy = 1;
	alerts_started = now;
	db_call_clear(&alerts_db);
	if (db_param_text(&alerts_db, s) == -1 ||
	    db_param_text(&alerts_db, l) == -1) {
		db_call_clear(&alerts_db);
		alerts_busy = 0;
		return;
	}
	db_start(&alerts_db,
	    "SELECT queue_depth, ai_failed, ai_total, docs_failed, "
	    "    docs_total, purchases_failed, purchases_total, "
	    "    payment_failures "
	    "FROM ops_alert_inputs($1::int, $2::int)",
	    alerts_evaluated, NULL);
}

/* Connection failures, not mistakes in a query, make the alert. */
static int
alerts_db_down(const struct db_call *c)
{
	const char	*st = c->sqlstate;

	return (st[0] == '\0' || (st[0] == '0' && st[1] == '8') ||
	    strncmp(st, "57P0", 4) == 0 || strcmp(st, "53300") == 0);
}

static void
alerts_evaluated(struct db_call *c, void *arg)
{
	struct jw	*j;
	int		 ok;

	alerts_busy = 0;
	ok = !db_failed(c);
	if (!ok && !alerts_db_down(c)) {
		if ((j = log_begin(LOG_LVL_ERROR, "alerts.query_failed",
		    NULL)) != NULL) {
			jw_str(j, "sqlstate", c->sqlstate);
			jw_str(j, "error", c->error);
			log_end(j);
		}
		db_call_clear(c);
		return;
	}
	alerts_evaluate(ok, ok ? c : NULL);
	db_call_clear(c);

	if (ok) {
		alerts_flush();
		if (!alerts_pruning &&
		    (int64_t)time(NULL) - alerts_pruned_at > 3600) {
			alerts_pruning = 1;
			alerts_pruned_at = (int64_t)time(NULL);
			db_call_init(&alerts_prune_db);
			db_start(&alerts_prune_db, "SELECT ops_prune()",
			    alerts_pruned, NULL);
		}
	}
}

static void
alerts_pruned(struct db_call *c, void *arg)
{
	if (db_failed(c))
		log_msg(LOG_LVL_WARN, "alerts.prune_failed", NULL, c->error);
	db_call_clear(c);
	alerts_pruning = 0;
}

static void
alerts_sample_take(struct alerts_sample *s, int64_t now)
{
	int	i;

	memset(s, 0, sizeof(*s));
	s->at = now;
	for (i = 1; i < 6; i++)
		s->proxy_total += __atomic_load_n(&metrics->proxy_status[i],
		    __ATOMIC_RELAXED);
	s->proxy_failed = __atomic_load_n(&metrics->proxy_upstream_failures,
	    __ATOMIC_RELAXED);
	s->latency_count = __atomic_load_n(&metrics->proxy_latency.count,
	    __ATOMIC_RELAXED);
	s->latency_sum = __atomic_load_n(&metrics->proxy_latency.sum_ms,
	    __ATOMIC_RELAXED);
}

/*
 * The change of the counters over the last `window` seconds: against
 * the newest sample at least that old, or the oldest one there is while
 * the server has not been up that long.
 */
static void
alerts_window(const struct alerts_sample *now, int window,
    struct alerts_sample *delta)
{
	const struct alerts_sample	*base, *s;
	int				 i, idx;

	base = NULL;
	for (i = 0; i < alerts_ring_len; i++) {
		idx = (alerts_ring_head - 1 - i + ALERTS_RING) % ALERTS_RING;
		s = &alerts_ring[idx];
		base = s;
		if (s->at <= now->at - window)
			break;
	}

	*delta = *now;
	if (base != NULL) {
		delta->proxy_total -= base->proxy_total;
		delta->proxy_failed -= base->proxy_failed;
		delta->latency_count -= base->latency_count;
		delta->latency_sum -= base->latency_sum;
	}
}

/*
 * One evaluation. `db_ok` says whether the database answered; its
 * figures are in `c` (NULL when it did not).
 */
static void
alerts_evaluate(int db_ok, const struct db_call *c)
{
	struct alerts_sample	 cur, d;
	struct alerts_rule	*r;
	double			 value;
	uint64_t		 min;
	int64_t			 now;
	int			 cond, change;
	size_t			 i;

	now = (int64_t)time(NULL);
	min = (uint64_t)alerts_min_samples;
	alerts_sample_take(&cur, now);

	for (i = 0; i < ALERTS_NRULES; i++) {
		r = &alerts_rules[i];
		value = 0;
		cond = ALERT_UNKNOWN;

		switch (r->source) {
		case SRC_DATABASE:
			cond = !db_ok;
			value = db_ok ? 0 : 1;
			break;
		case SRC_PROXY_FAIL:
			alerts_window(&cur, r->window, &d);
			cond = alertrule_ratio(d.proxy_failed, d.proxy_total,
			    r->threshold, min, &value);
			break;
		case SRC_LATENCY:
			alerts_window(&cur, r->window, &d);
			value = d.latency_count > 0 ?
			    (double)d.latency_sum / (double)d.latency_count : 0;
			cond = d.latency_count > 0 && value > r->threshold;
			break;
		default:
			if (c == NULL)
				break;
			switch (r->source) {
			case SRC_PAYMENTS:
				value = (double)db_int(c, 0, 7);
				cond = value > r->threshold;
				break;
			case SRC_QUEUE:
				value = (double)db_int(c, 0, 0);
				cond = value > r->threshold;
				break;
			case SRC_AI:
				cond = alertrule_ratio(
				    (uint64_t)db_int(c, 0, 1),
				    (uint64_t)db_int(c, 0, 2), r->threshold,
				    min, &value);
				break;
			case SRC_DOCS:
				cond = alertrule_ratio(
				    (uint64_t)db_int(c, 0, 3),
				    (uint64_t)db_int(c, 0, 4), r->threshold,
				    min, &value);
				break;
			case SRC_PURCHASES:
				cond = alertrule_ratio(
				    (uint64_t)db_int(c, 0, 5),
				    (uint64_t)db_int(c, 0, 6), r->threshold,
				    min, &value);
				break;
			}
			break;
		}

		change = alertrule_step(&alerts_state[i], cond, now, r->hold);
		if (cond != ALERT_UNKNOWN) {
			__atomic_store(&metrics->alerts[i].value, &value,
			    __ATOMIC_RELAXED);
			__atomic_store_n(&metrics->alerts[i].known, 1,
			    __ATOMIC_RELAXED);
		}
		__atomic_store_n(&metrics->alerts[i].since,
		    alerts_state[i].since, __ATOMIC_RELAXED);
		__atomic_store_n(&metrics->alerts[i].state,
		    alerts_state[i].state, __ATOMIC_RELAXED);
		if (change != ALERT_NO_CHANGE)
			alerts_record((int)i, change == ALERT_FIRED, value,
			    change == ALERT_FIRED ? alerts_state[i].since :
			    now);
	}

	alerts_ring[alerts_ring_head] = cur;
	alerts_ring_head = (alerts_ring_head + 1) % ALERTS_RING;
	if (alerts_ring_len < ALERTS_RING)
		alerts_ring_len++;

	metrics_add(&metrics->alert_evaluations, 1);
	__atomic_store_n(&metrics->alert_evaluated_at, now, __ATOMIC_RELAXED);
}

/* Logs a change of state at once and queues its history row. */
static void
alerts_record(int rule, int fired, double value, int64_t since)
{
	struct alerts_rule	*r = &alerts_rules[rule];
	struct jw		*j;

	if ((j = log_begin(fired ? LOG_LVL_ERROR : LOG_LVL_WARN,
	    fired ? "alert.firing" : "alert.resolved", NULL)) != NULL) {
		jw_str(j, "rule", r->name);
		jw_str(j, "severity", r->severity);
		jw_str(j, "summary", r->summary);
		jw_double(j, "value", value);
		jw_double(j, "threshold", r->threshold);
		log_end(j);
	}

	if (alerts_npending == ALERTS_PENDING_MAX) {
		log_msg(LOG_LVL_WARN, "alerts.history_dropped", NULL,
		    "too many alert changes waiting for the database; the "
		    "oldest is dropped from the history");
		memmove(&alerts_pending[0], &alerts_pending[1],
		    sizeof(alerts_pending[0]) * (ALERTS_PENDING_MAX - 1));
		alerts_npending--;
	}
	alerts_pending[alerts_npending].rule = rule;
	alerts_pending[alerts_npending].fired = fired;
	alerts_pending[alerts_npending].value = value;
	alerts_pending[alerts_npending].since = since;
	alerts_npending++;
}

/* Writes the queued changes (and their emails) in one statement. */
static void
alerts_flush(void)
{
	struct jw		 j;
	struct alerts_rule	*r;
	int			 i;

	if (alerts_flushing || alerts_npending == 0)
		return;

	jw_init(&j, 256);
	jw_arr_open(&j, NULL);
	for (i = 0; i < alerts_npending; i++) {
		r = &alerts_rules[alerts_pending[i].rule];
		jw_obj_open(&j, NULL);
		jw_str(&j, "rule", r->name);
		jw_str(&j, "state", alerts_pending[i].fired ? "firing" :
		    "resolved");
		jw_str(&j, "severity", r->severity);
		jw_double(&j, "value", isfinite(alerts_pending[i].value) ?
		    alerts_pending[i].value : 0);
		jw_double(&j, "threshold", r->threshold);
		jw_str(&j, "instance", app_instance);
		jw_str(&j, "summary", r->summary);
		jw_int(&j, "since", alerts_pending[i].since);
		jw_obj_close(&j);
	}
	jw_arr_close(&j);
	if (j.err) {
		jw_free(&j);
		return;
	}
	jw_append(&j, "", 1);

	db_call_clear(&alerts_flush_db);
	if (db_param_text(&alerts_flush_db, j.buf) == -1 ||
	    db_param_text(&alerts_flush_db, alerts_email) == -1 ||
	    db_param_text(&alerts_flush_db, app_cfg.public_base_url) == -1) {
		db_call_clear(&alerts_flush_db);
		jw_free(&j);
		return;
	}
	jw_free(&j);

	alerts_flushing = alerts_npending;
	db_start(&alerts_flush_db,
	    "WITH ev AS ("
	    "    INSERT INTO alert_events (rule, state, severity, value, "
	    "        threshold, instance, summary, since) "
	    "    SELECT x.rule, x.state, x.severity, x.value, x.threshold, "
	    "        x.instance, x.summary, to_timestamp(x.since) "
	    "    FROM json_to_recordset($1::json) AS x(rule text, "
	    "        state text, severity text, value float8, "
	    "        threshold float8, instance text, summary text, "
	    "        since bigint) "
	    "    RETURNING *), "
	    "m AS ("
	    "    INSERT INTO mail_outbox (kind, to_addr, subject, body) "
	    "    SELECT 'alert', $2, left(format('[apiscribe] %s: %s', "
	    "        upper(state), summary), 200), "
	    "        format('Alert %s is %s on %s since %s.' || chr(10) || "
	    "        chr(10) || '%s (value %s, threshold %s).' || chr(10) || "
	    "        chr(10) || 'See %s/#/admin' || chr(10), "
	    "        rule, state, instance, since, summary, round("
	    "        value::numeric, 4), threshold, rtrim($3, '/')) "
	    "    FROM ev WHERE $2::text IS NOT NULL "
	    "    RETURNING 1) "
	    "SELECT (SELECT count(*) FROM ev), "
	    "    CASE WHEN (SELECT count(*) FROM m) > 0 "
	    "        THEN pg_notify('mail', '') END",
	    alerts_flushed, NULL);
}

static void
alerts_flushed(struct db_call *c, void *arg)
{
	int	n;

	n = alerts_flushing;
	alerts_flushing = 0;
	if (db_failed(c)) {
		log_msg(LOG_LVL_WARN, "alerts.history_failed", NULL, c->error);
		db_call_clear(c);
		return;
	}
	db_call_clear(c);

	/* Changes recorded while the statement ran stay queued. */
	if (n > alerts_npending)
		n = alerts_npending;
	memmove(&alerts_pending[0], &alerts_pending[n],
	    sizeof(alerts_pending[0]) * (size_t)(alerts_npending - n));
	alerts_npending -= n;
}

static void
alerts_write_rules(struct jw *j)
{
	struct metrics_alert	*a;
	struct alerts_rule	*r;
	double			 value;
	size_t			 i;
	int			 state;

	jw_arr_open(j, "rules");
	for (i = 0; i < ALERTS_NRULES; i++) {
		r = &alerts_rules[i];
		a = &metrics->alerts[i];
		state = __atomic_load_n(&a->state, __ATOMIC_RELAXED);
		__atomic_load(&a->value, &value, __ATOMIC_RELAXED);
		jw_obj_open(j, NULL);
		jw_str(j, "rule", r->name);
		jw_str(j, "severity", r->severity);
		jw_str(j, "summary", r->summary);
		jw_str(j, "state", alertrule_state_name(state));
		jw_int(j, "since", __atomic_load_n(&a->since,
		    __ATOMIC_RELAXED));
		if (__atomic_load_n(&a->known, __ATOMIC_RELAXED))
			jw_double(j, "value", isfinite(value) ? value : 0);
		else
			jw_null(j, "value");
		jw_double(j, "threshold", r->threshold);
		jw_int(j, "forSeconds", r->hold);
		jw_int(j, "windowSeconds", r->window);
		jw_obj_close(j);
	}
	jw_arr_close(j);
}

/* The "alerts" member of the dashboard. */
void
alerts_dashboard(struct jw *j)
{
	size_t	i;
	int	firing;

	firing = 0;
	for (i = 0; i < ALERTS_NRULES; i++) {
		if (__atomic_load_n(&metrics->alerts[i].state,
		    __ATOMIC_RELAXED) == ALERT_FIRING)
			firing++;
	}
	jw_obj_open(j, "alerts");
	jw_int(j, "firing", firing);
	jw_int(j, "evaluatedAt", __atomic_load_n(&metrics->alert_evaluated_at,
	    __ATOMIC_RELAXED));
	alerts_write_rules(j);
	jw_obj_close(j);
}

void
alerts_prometheus(struct jw *j)
{
	struct alerts_rule	*r;
	char			 line[256];
	size_t			 i;
	int			 n, state;
	const char		*head =
	    "# HELP apiscribe_alert_firing Alert rules the server "
	    "evaluates: 1 while firing.\n"
	    "# TYPE apiscribe_alert_firing gauge\n";

	jw_append(j, head, strlen(head));
	for (i = 0; i < ALERTS_NRULES; i++) {
		r = &alerts_rules[i];
		state = __atomic_load_n(&metrics->alerts[i].state,
		    __ATOMIC_RELAXED);
		n = snprintf(line, sizeof(line),
		    "apiscribe_alert_firing{rule=\"%s\",severity=\"%s\"} %d\n",
		    r->name, r->severity, state == ALERT_FIRING);
		if (n > 0 && (size_t)n < sizeof(line))
			jw_append(j, line, (size_t)n);
	}
}

/*
 * GET /api/admin/alerts: every rule's state now (this instance) and the
 * 20 latest changes of the history.
 */
void
alerts_admin_list(struct api_ctx *c)
{
	c->mark = 0;
	api_query(c, alerts_history_reply,
	    "SELECT coalesce(json_agg(json_build_object('id', id, "
	    "    'rule', rule, 'state', state, 'severity', severity, "
	    "    'value', value, 'threshold', threshold, "
	    "    'instance', instance, 'summary', summary, 'since', since, "
	    "    'at', created_at) ORDER BY id DESC), '[]'::json) "
	    "FROM (SELECT * FROM alert_events ORDER BY id DESC LIMIT 20) e",
	    0);
}

static void
alerts_history_reply(struct api_ctx *c)
{
	struct jw	 j;
	const char	*hist;

	if (!api_db_ok(c))
		return;
	hist = db_value(&c->db, 0, 0);

	jw_init(&j, 2048);
	jw_obj_open(&j, NULL);
	jw_str(&j, "instance", app_instance);
	jw_int(&j, "evaluatedAt", __atomic_load_n(&metrics->alert_evaluated_at,
	    __ATOMIC_RELAXED));
	alerts_write_rules(&j);
	jw_raw(&j, "history", hist, strlen(hist));
	jw_obj_close(&j);
	api_reply_jw(c, 200, &j);
	jw_free(&j);
}

/* GET /api/admin/alerts/history?rule=&limit=&cursor= */
void
alerts_admin_history(struct api_ctx *c)
{
	char	limit[16], cursor[32], rule[72];
	size_t	i;
	int	rc, known;

	rule[0] = '\0';
	if (api_limit(c, 50, 200, limit, sizeof(limit)) == -1 ||
	    api_cursor(c, cursor, sizeof(cursor)) == -1 ||
	    api_cursor_id(c, cursor) == -1 ||
	    (rc = api_arg(c, "rule", rule, sizeof(rule))) == -1)
		return;
	if (rc == 1) {
		known = 0;
		for (i = 0; i < ALERTS_NRULES; i++) {
			if (strcmp(rule, alerts_rules[i].name) == 0)
				known = 1;
		}
		if (!known) {
			api_error(c, 422, "VALIDATION_FAILED",
			    "rule must be the name of an alert rule");
			return;
		}
	}

	api_query(c, alerts_history_page,
	    "WITH page AS ("
	    "    SELECT * FROM alert_events "
	    "    WHERE ($1::text IS NULL OR rule = $1) "
	    "    AND ($2::bigint IS NULL OR id < $2::bigint) "
	    "    ORDER BY id DESC LIMIT $3::int + 1), "
	    "shown AS (SELECT * FROM page ORDER BY id DESC LIMIT $3::int) "
	    "SELECT json_build_object("
	    "    'items', coalesce((SELECT json_agg(json_build_object("
	    "        'id', id, 'rule', rule, 'state', state, "
	    "        'severity', severity, 'value', value, "
	    "        'threshold', threshold, 'instance', instance, "
	    "        'summary', summary, 'since', since, 'at', created_at) "
	    "        ORDER BY id DESC) FROM shown), '[]'::json), "
	    "    'nextCursor', CASE WHEN (SELECT count(*) FROM page) > "
	    "        $3::int THEN (SELECT min(id) FROM shown)::text END)",
	    3, rc == 1 ? rule : NULL, cursor[0] ? cursor : NULL, limit);
}

static void
alerts_history_page(struct api_ctx *c)
{
	if (!api_db_ok(c))
		return;
	api_reply_db_json(c, 200);
}
