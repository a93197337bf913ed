/*
 * Documentation: the generation job and its routes.
 *
 *	POST /api/endpoints/{id}/generate	queue a job (202 {jobId})
 *	POST /api/endpoints/{id}/reactivate	back to ACTIVE, to capture more
 *	GET  /api/endpoints/{id}/job		the latest job and its progress
 *	GET  /api/endpoints/{id}/docs		a version (?format=, ?version=)
 *	GET  /api/endpoints/{id}/docs/versions	every version, newest first
 *	GET  /api/endpoints/{id}/docs/diff	what changed (?from=, ?to=)
 *
 * The job ("docs" queue, see jobs.c) runs in a job thread. It reads the
 * endpoint's captured calls a page at a time (by rows and by body bytes,
 * so memory stays bounded however many calls there are) into the
 * discovery engine, lets it settle templates and schemas, asks the
 * language model to describe the operations (ai.c), and publishes the
 * OpenAPI document and Markdown as the endpoint's next version with
 * docs_publish(), which also sets the endpoint COMPLETE and tells the
 * user, in one transaction.
 *
 * The model is an extra: without a key, or when it keeps failing, the
 * documentation is still published, flagged (ai_status) and with a note
 * saying so. The job itself fails only when the work cannot be done: the
 * calls cannot be read, none of them can be analysed, or the result
 * cannot be stored.
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <jansson.h>

#include "ai.h"
#include "api.h"
#include "app.h"
#include "docdiff.h"
#include "docs.h"
#include "discovery/disc.h"
#include "jobs.h"
#include "log.h"

#define DOCS_PAGE_ROWS		500
#define DOCS_PAGE_BYTES		(16 * 1024 * 1024)

/* docs_load(): go on with the generation. */
#define DOCS_GO			100

int	docs_generate(struct http_request *);
int	docs_reactivate(struct http_request *);
int	docs_job(struct http_request *);
int	docs_get(struct http_request *);
int	docs_versions(struct http_request *);
int	docs_diff(struct http_request *);

static void	docs_generate_start(struct api_ctx *);
static void	docs_generate_done(struct api_ctx *);
static void	docs_reactivate_start(struct api_ctx *);
static void	docs_job_start(struct api_ctx *);
static void	docs_found_reply(struct api_ctx *);
static void	docs_get_start(struct api_ctx *);
static void	docs_get_done(struct api_ctx *);
static void	docs_versions_start(struct api_ctx *);
static void	docs_diff_start(struct api_ctx *);
static void	docs_diff_loaded(struct api_ctx *);
static void	docs_diff_done(struct api_ctx *);
static void	docs_reply(struct api_ctx *);
static int	docs_version_arg(struct api_ctx *, const char *, char *,
		    size_t);
static int	docs_diff_work(void *);
static void	docs_diff_work_free(void *);

struct docs_gen;

static int	docs_run(struct jobs_job *);
static int	docs_load(struct docs_gen *);
static int	docs_read_calls(struct docs_gen *);
static int	docs_publish(struct docs_gen *, const struct ai_result *);
static int	docs_beat_hook(void *);
static long	docs_admit_hook(void *);
static void	docs_progress_hook(void *, size_t, size_t);
static int64_t	docs_be64(const char *);
static int32_t	docs_be32(const char *);
static const char *docs_text(const PGresult *, int, int);
static long	docs_elapsed_ms(const struct docs_gen *);

/* What a GET .../docs asked for, kept in c->mark between its steps. */
#define DOCS_FMT_JSON		0
#define DOCS_FMT_OPENAPI	1
#define DOCS_FMT_MARKDOWN	2
#define DOCS_FMT_MASK		0x0f
#define DOCS_VERSION_GIVEN	0x10

struct docs_diff_work {
	char	*from;
	char	*to;
	size_t	 from_len;
	size_t	 to_len;
	int	 from_v;
	int	 to_v;
	char	*out;
};

void
docs_init(void)
{
	jobs_register("docs", docs_run);
}

/* ---- routes ---------------------------------------------------------- */

int
docs_generate(struct http_request *req)
{
	return (api_run(req, API_USER, API_POST, docs_generate_start));
}

int
docs_reactivate(struct http_request *req)
{
	return (api_run(req, API_USER, API_POST, docs_reactivate_start));
}

int
docs_job(struct http_request *req)
{
	return (api_run(req, API_USER, API_GET, docs_job_start));
}

int
docs_get(struct http_request *req)
{
	return (api_run(req, API_USER, API_GET, docs_get_start));
}

int
docs_versions(struct http_request *req)
{
	return (api_run(req, API_USER, API_GET, docs_versions_start));
}

int
docs_diff(struct http_request *req)
{
	return (api_run(req, API_USER, API_GET, docs_diff_start));
}

static void
docs_generate_start(struct api_ctx *c)
{
	char	attempts[16];

	if (api_path_id(c, "/api/endpoints/", c->id) == -1)
		return;
	(void)snprintf(attempts, sizeof(attempts), "%d",
	    app_cfg.job_max_attempts);
	api_query(c, docs_generate_done,
	    "SELECT docs_generate($1, $2, $3, $4, $5)", 5, api_user_id(c),
	    c->id, attempts, c->rid, c->ip);
}

static void
docs_generate_done(struct api_ctx *c)
{
	struct jw	*j;

	if (!api_db_ok(c))
		return;
	if ((j = log_begin(LOG_LVL_INFO, "docs.requested", c->rid)) != NULL) {
		jw_str(j, "endpointId", c->id);
		jw_str(j, "userId", api_user_id(c));
		jw_raw(j, "job", db_value(&c->db, 0, 0),
		    (size_t)db_length(&c->db, 0, 0));
		log_end(j);
	}
	api_reply_db_json(c, 202);
}

static void
docs_reactivate_start(struct api_ctx *c)
{
	if (api_path_id(c, "/api/endpoints/", c->id) == -1)
		return;
	api_query(c, docs_reply, "SELECT docs_reactivate($1, $2, $3, $4, $5)",
	    5, api_user_id(c), c->id, app_cfg.proxy_base_url, c->rid, c->ip);
}

static void
docs_reply(struct api_ctx *c)
{
	if (!api_db_ok(c))
		return;
	api_reply_db_json(c, 200);
}

static void
docs_job_start(struct api_ctx *c)
{
	if (api_path_id(c, "/api/endpoints/", c->id) == -1)
		return;
	api_query(c, docs_found_reply,
	    "SELECT j.id IS NOT NULL, json_build_object("
	    "    'id', j.id, 'state', j.state, 'attempts', j.attempts, "
	    "    'maxAttempts', j.max_attempts, 'error', j.last_error, "
	    "    'progress', json_build_object('percent', j.progress, "
	    "        'stage', j.stage), "
	    "    'result', j.result, 'endpointStatus', e.status, "
	    "    'createdAt', j.created_at, 'startedAt', j.started_at, "
	    "    'runAt', j.run_at, 'finishedAt', j.finished_at, "
	    "    'timings', json_build_object("
	    "        'queuedMs', (extract(epoch FROM coalesce(j.started_at, "
	    "            now()) - j.created_at) * 1000)::bigint, "
	    "        'runningMs', CASE WHEN j.started_at IS NOT NULL THEN "
	    "            (extract(epoch FROM coalesce(j.finished_at, now()) "
	    "            - j.started_at) * 1000)::bigint END, "
	    "        'totalMs', (extract(epoch FROM coalesce(j.finished_at, "
	    "            now()) - j.created_at) * 1000)::bigint)) "
	    "FROM endpoints e "
	    "LEFT JOIN LATERAL (SELECT * FROM jobs "
	    "    WHERE dedupe_key = 'endpoint-' || e.id "
	    "    ORDER BY id DESC LIMIT 1) j ON true "
	    "WHERE e.id = $1 AND e.user_id = $2",
	    2, c->id, api_user_id(c));
}

/*
 * Row 0 of a lookup: no row when the endpoint is not the user's; then
 * whether the thing asked for exists, and its JSON.
 */
static void
docs_found_reply(struct api_ctx *c)
{
	const char	*v;

	if (!api_db_ok(c))
		return;
	if (db_rows(&c->db) == 0) {
		api_error(c, 404, "NOT_FOUND", "endpoint not found");
		return;
	}
	if (strcmp(db_value(&c->db, 0, 0), "t") != 0) {
		api_error(c, 404, "NOT_FOUND", "no documentation job has been "
		    "started for this endpoint; POST .../generate starts one");
		return;
	}
	v = db_value(&c->db, 0, 1);
	api_reply_json(c, 200, v, (size_t)db_length(&c->db, 0, 1));
}

/*
 * ?version=N: returns 1 with the number as text, 0 when absent, -1
 * (answered) when it is not a version number.
 */
static int
docs_version_arg(struct api_ctx *c, const char *name, char *out, size_t len)
{
	long long	n;
	int		rc, err;

	if ((rc = api_arg(c, name, out, len)) <= 0)
		return (rc);
	n = kore_strtonum(out, 10, 1, INT32_MAX, &err);
	if (err != KORE_RESULT_OK) {
		api_errorf(c, 422, "VALIDATION_FAILED",
		    "%s must be a version number (1, 2, ...)", name);
		return (-1);
	}
	(void)snprintf(out, len, "%lld", n);
	return (1);
}

static void
docs_get_start(struct api_ctx *c)
{
	char	format[16], version[16];
	int	rc, vrc;
	long	fmt;

	if (api_path_id(c, "/api/endpoints/", c->id) == -1)
		return;
	if ((rc = api_arg(c, "format", format, sizeof(format))) == -1 ||
	    (vrc = docs_version_arg(c, "version", version,
	    sizeof(version))) == -1)
		return;

	fmt = DOCS_FMT_JSON;
	if (rc == 1 && strcmp(format, "openapi") == 0) {
		fmt = DOCS_FMT_OPENAPI;
	} else if (rc == 1 && strcmp(format, "markdown") == 0) {
		fmt = DOCS_FMT_MARKDOWN;
	} else if (rc == 1 && strcmp(format, "json") != 0) {
		api_error(c, 422, "VALIDATION_FAILED",
		    "format must be openapi, markdown or json");
		return;
	}
	c->mark = (uint64_t)fmt | (vrc == 1 ? DOCS_VERSION_GIVEN : 0);

	/* Row 0: does the endpoint exist; then the version, if any. */
	api_query(c, docs_get_done,
	    "SELECT e.id IS NOT NULL, d.version, d.ai_status, "
	    "    CASE $3::int WHEN 1 THEN "
	    "        coalesce(d.openapi_source, d.openapi::text) "
	    "        WHEN 2 THEN d.markdown "
	    "        ELSE json_build_object('version', d.version, "
	    "            'generatedAt', d.generated_at, "
	    "            'generationMs', d.generation_ms, "
	    "            'callsAnalysed', d.calls_analysed, "
	    "            'aiStatus', d.ai_status, 'model', d.model, "
	    "            'latestVersion', (SELECT max(version) "
	    "                FROM documentation WHERE endpoint_id = e.id), "
	    "            'openapi', coalesce(d.openapi_source::json, "
	    "                d.openapi::json), "
	    "            'markdown', d.markdown)::text "
	    "    END "
	    "FROM (SELECT 1) one "
	    "LEFT JOIN endpoints e ON e.id = $1 AND e.user_id = $2 "
	    "LEFT JOIN LATERAL (SELECT * FROM documentation "
	    "    WHERE endpoint_id = e.id "
	    "    AND ($4::int IS NULL OR version = $4::int) "
	    "    ORDER BY version DESC LIMIT 1) d ON true",
	    4, c->id, api_user_id(c),
	    fmt == DOCS_FMT_OPENAPI ? "1" : fmt == DOCS_FMT_MARKDOWN ? "2" :
	    "0", vrc == 1 ? version : NULL);
}

static void
docs_get_done(struct api_ctx *c)
{
	const char	*body, *type;

	if (!api_db_ok(c))
		return;
	if (strcmp(db_value(&c->db, 0, 0), "t") != 0) {
		api_error(c, 404, "NOT_FOUND", "endpoint not found");
		return;
	}
	if (db_isnull(&c->db, 0, 1)) {
		if (c->mark & DOCS_VERSION_GIVEN)
			api_error(c, 404, "NOT_FOUND",
			    "this endpoint has no documentation version with "
			    "that number");
		else
			api_error(c, 404, "NOT_FOUND", "this endpoint has no "
			    "documentation yet; POST .../generate writes it");
		return;
	}

	api_header(c, "X-Docs-Version", db_value(&c->db, 0, 1));
	api_header(c, "X-AI-Status", db_value(&c->db, 0, 2));
	body = db_value(&c->db, 0, 3);
	switch (c->mark & DOCS_FMT_MASK) {
	case DOCS_FMT_MARKDOWN:
		type = "text/markdown; charset=utf-8";
		break;
	default:
		type = "application/json";
		break;
	}
	api_reply(c, 200, type, body, (size_t)db_length(&c->db, 0, 3));
}

static void
docs_versions_start(struct api_ctx *c)
{
	char	limit[16], cursor[16];

	if (api_path_id(c, "/api/endpoints/", c->id) == -1)
		return;
	if (api_limit(c, 50, 200, limit, sizeof(limit)) == -1 ||
	    api_cursor(c, cursor, sizeof(cursor)) == -1 ||
	    api_cursor_id(c, cursor) == -1)
		return;

	api_query(c, docs_found_reply,
	    "WITH e AS (SELECT id FROM endpoints "
	    "    WHERE id = $1 AND user_id = $2), "
	    "page AS (SELECT d.version, d.generated_at, d.generation_ms, "
	    "        d.calls_analysed, d.ai_status, d.model, "
	    "        d.openapi->'info'->>'title' AS title, "
	    "        (SELECT count(*) FROM jsonb_each(d.openapi->'paths') p, "
	    "            jsonb_object_keys(p.value) m "
	    "            WHERE m IN ('get', 'put', 'post', 'delete', "
	    "            'options', 'head', 'patch', 'trace')) AS ops "
	    "    FROM documentation d JOIN e ON d.endpoint_id = e.id "
	    "    WHERE ($3::int IS NULL OR d.version < $3::int) "
	    "    ORDER BY d.version DESC LIMIT $4::int + 1), "
	    "shown AS (SELECT * FROM page ORDER BY version DESC "
	    "    LIMIT $4::int) "
	    "SELECT true, json_build_object("
	    "    'items', coalesce((SELECT json_agg(json_build_object("
	    "        'version', version, 'generatedAt', generated_at, "
	    "        'generationMs', generation_ms, "
	    "        'callsAnalysed', calls_analysed, 'aiStatus', ai_status, "
	    "        'model', model, 'title', title, "
	    "        'operationCount', ops) ORDER BY version DESC) "
	    "        FROM shown), '[]'::json), "
	    "    'nextCursor', CASE WHEN (SELECT count(*) FROM page) > "
	    "        $4::int THEN (SELECT min(version) FROM shown)::text END) "
	    "FROM e",
	    4, c->id, api_user_id(c), cursor[0] != '\0' ? cursor : NULL,
	    limit);
}

static void
docs_diff_work_free(void *arg)
{
	struct docs_diff_work	*w = arg;

	free(w->from);
	free(w->to);
	free(w->out);
	free(w);
}

static void
docs_diff_start(struct api_ctx *c)
{
	char	from[16], to[16];
	int	frc, trc;

	if (api_path_id(c, "/api/endpoints/", c->id) == -1)
		return;
	if ((frc = docs_version_arg(c, "from", from, sizeof(from))) == -1 ||
	    (trc = docs_version_arg(c, "to", to, sizeof(to))) == -1)
		return;

	/*
	 * `to` defaults to the latest version and `from` to the one before
	 * `to`. Row 0 says whether the endpoint exists and which versions
	 * were meant; the documents come with them when both exist.
	 */
	api_query(c, docs_diff_loaded,
	    "WITH e AS (SELECT id FROM endpoints "
	    "    WHERE id = $1 AND user_id = $2), "
	    "t AS (SELECT coalesce($4::int, (SELECT max(version) "
	    "    FROM documentation WHERE endpoint_id = (SELECT id FROM e))) "
	    "    AS v), "
	    "f AS (SELECT coalesce($3::int, (SELECT max(version) "
	    "    FROM documentation WHERE endpoint_id = (SELECT id FROM e) "
	    "    AND version < (SELECT v FROM t))) AS v) "
	    "SELECT (SELECT id FROM e) IS NOT NULL, "
	    "    (SELECT v FROM f), (SELECT v FROM t), "
	    "    (SELECT openapi::text FROM documentation "
	    "        WHERE endpoint_id = (SELECT id FROM e) "
	    "        AND version = (SELECT v FROM f)), "
	    "    (SELECT openapi::text FROM documentation "
	    "        WHERE endpoint_id = (SELECT id FROM e) "
	    "        AND version = (SELECT v FROM t))",
	    4, c->id, api_user_id(c), frc == 1 ? from : NULL,
	    trc == 1 ? to : NULL);
}

static int
docs_diff_work(void *arg)
{
	struct docs_diff_work	*w = arg;

	w->out = docdiff_json(w->from, w->from_len, w->to, w->to_len,
	    w->from_v, w->to_v);
	return (KORE_RESULT_OK);
}

static void
docs_diff_loaded(struct api_ctx *c)
{
	struct docs_diff_work	*w;

	if (!api_db_ok(c))
		return;
	if (strcmp(db_value(&c->db, 0, 0), "t") != 0) {
		api_error(c, 404, "NOT_FOUND", "endpoint not found");
		return;
	}
	if (db_isnull(&c->db, 0, 2)) {
		api_error(c, 404, "NOT_FOUND", "this endpoint has no "
		    "documentation yet; POST .../generate writes it");
		return;
	}
	if (db_isnull(&c->db, 0, 1)) {
		api_error(c, 422, "VALIDATION_FAILED", "there is no earlier "
		    "version to compare with; give from= and to=");
		return;
	}
	if (db_isnull(&c->db, 0, 3) || db_isnull(&c->db, 0, 4)) {
		api_errorf(c, 404, "NOT_FOUND", "version %s does not exist",
		    db_isnull(&c->db, 0, 3) ? db_value(&c->db, 0, 1) :
		    db_value(&c->db, 0, 2));
		return;
	}

	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->from = strdup(db_value(&c->db, 0, 3))) == NULL ||
	    (w->to = strdup(db_value(&c->db, 0, 4))) == NULL) {
		if (w != NULL)
			docs_diff_work_free(w);
		api_error(c, 500, "INTERNAL", "out of memory");
		return;
	}
	w->from_len = (size_t)db_length(&c->db, 0, 3);
	w->to_len = (size_t)db_length(&c->db, 0, 4);
	w->from_v = (int)db_int(&c->db, 0, 1);
	w->to_v = (int)db_int(&c->db, 0, 2);

	/* Two large documents are parsed: not in the event loop. */
	api_task(c, docs_diff_done, docs_diff_work, w, docs_diff_work_free);
}

static void
docs_diff_done(struct api_ctx *c)
{
	struct docs_diff_work	*w = api_task_arg(c);

	if (w == NULL || w->out == NULL) {
		api_error(c, 500, "INTERNAL",
		    "the versions could not be compared");
		return;
	}
	api_reply_json(c, 200, w->out, strlen(w->out));
}

/* ---- the generation job (runs in a job thread) ---------------------- */

struct docs_gen {
	struct jobs_job		*job;
	PGconn			*pg;
	char			 endpoint[API_UUID_LEN + 1];
	char			*name;
	char			*destination;
	long long		 total;		/* calls, for progress */
	long long		 max_id;	/* the snapshot's last call */
	long long		 read;
	struct disc_engine	*engine;
	struct timespec		 t0;
};

static int
docs_run(struct jobs_job *j)
{
	struct docs_gen		 g;
	struct ai_result	 ai;
	struct ai_hooks		 hooks;
	struct jw		*l;
	json_t			*payload;
	const char		*id;
	int			 rc;

	memset(&g, 0, sizeof(g));
	g.job = j;
	g.pg = j->pg;
	(void)clock_gettime(CLOCK_MONOTONIC, &g.t0);

	payload = json_loads(j->payload, 0, NULL);
	id = json_string_value(json_object_get(payload, "endpointId"));
	if (id == NULL || strlen(id) != API_UUID_LEN || !api_is_uuid(id)) {
		json_decref(payload);
		jobs_errorf(j, "the job names no endpoint");
		j->final = 1;
		return (JOBS_FAILED);
	}
	(void)kore_strlcpy(g.endpoint, id, sizeof(g.endpoint));
	json_decref(payload);

	if (jobs_beat(j, 0, "reading calls") == -1)
		return (JOBS_LOST);
	if ((rc = docs_load(&g)) != DOCS_GO)
		goto done;

	if ((g.engine = disc_new()) == NULL) {
		jobs_errorf(j, "out of memory");
		rc = JOBS_FAILED;
		goto done;
	}
	if ((rc = docs_read_calls(&g)) != JOBS_DONE)
		goto done;
	if (disc_calls_used(g.engine) == 0) {
		jobs_errorf(j, "none of the %lld captured calls could be "
		    "analysed", g.read);
		j->final = 1;
		rc = JOBS_FAILED;
		goto done;
	}

	if (jobs_beat(j, 60, "analysing") == -1) {
		rc = JOBS_LOST;
		goto done;
	}
	if (disc_analyse(g.engine) == -1) {
		jobs_errorf(j, "out of memory while analysing the calls");
		rc = JOBS_FAILED;
		goto done;
	}

	/* The endpoint's name is the title unless the model writes one. */
	(void)disc_set_info(g.engine, g.name, NULL, NULL, g.destination,
	    NULL);
	if (jobs_beat(j, 65, "describing operations") == -1) {
		rc = JOBS_LOST;
		goto done;
	}
	hooks.beat = docs_beat_hook;
	hooks.admit = docs_admit_hook;
	hooks.progress = docs_progress_hook;
	hooks.arg = &g;
	if (ai_describe(g.engine, g.name, g.destination, &hooks, &ai) == -1) {
		rc = JOBS_LOST;
		goto done;
	}
	if (ai.status == AI_UNAVAILABLE &&
	    (l = log_begin(LOG_LVL_WARN, "ai.unavailable", NULL)) != NULL) {
		jw_int(l, "jobId", j->id);
		jw_str(l, "endpointId", g.endpoint);
		jw_int(l, "requests", ai.requests);
		jw_str(l, "cause", ai.error);
		log_end(l);
	}

	if (jobs_beat(j, 95, "publishing") == -1) {
		rc = JOBS_LOST;
		goto done;
	}
	rc = docs_publish(&g, &ai);

done:
	disc_free(g.engine);
	free(g.name);
	free(g.destination);
	return (rc);
}

/*
 * The endpoint and the extent of its calls. Returns DOCS_GO, or the
 * job's result: an endpoint deleted meanwhile completes the job with
 * nothing to do.
 */
static int
docs_load(struct docs_gen *g)
{
	PGresult	*res;
	const char	*p[1];
	int		 rc;

	p[0] = g->endpoint;
	res = PQexecParams(g->pg, "SELECT name, destination_url, "
	    "    (SELECT count(*) FROM api_calls WHERE endpoint_id = $1), "
	    "    (SELECT coalesce(max(id), 0) FROM api_calls "
	    "        WHERE endpoint_id = $1) "
	    "FROM endpoints WHERE id = $1", 1, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		jobs_errorf(g->job, "could not read the endpoint: %s",
		    PQresultErrorMessage(res));
		PQclear(res);
		return (JOBS_FAILED);
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		rc = jobs_complete(g->job,
		    "{\"skipped\": \"endpoint deleted\"}");
		(void)snprintf(g->job->note, sizeof(g->job->note),
		    "{\"skipped\":\"endpoint deleted\"}");
		return (rc);
	}
	g->name = strdup(PQgetvalue(res, 0, 0));
	g->destination = strdup(PQgetvalue(res, 0, 1));
	g->total = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	g->max_id = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
	PQclear(res);
	if (g->name == NULL || g->destination == NULL) {
		jobs_errorf(g->job, "out of memory");
		return (JOBS_FAILED);
	}
	return (DOCS_GO);
}

static int64_t
docs_be64(const char *p)
{
	const unsigned char	*u = (const unsigned char *)p;
	uint64_t		 v = 0;
	int			 i;

	for (i = 0; i < 8; i++)
		v = v << 8 | u[i];
	return ((int64_t)v);
}

static int32_t
docs_be32(const char *p)
{
	const unsigned char	*u = (const unsigned char *)p;

	return ((int32_t)((uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 |
	    (uint32_t)u[2] << 8 | (uint32_t)u[3]));
}

static const char *
docs_text(const PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return (NULL);
	return (PQgetvalue(res, row, col));
}

/*
 * Feeds the calls to the engine, a page at a time in id order. A page
 * ends after DOCS_PAGE_ROWS calls or once its bodies pass
 * DOCS_PAGE_BYTES (it always holds at least one call), so memory is
 * bounded by the page, never by the endpoint. Results come in binary.
 */
static int
docs_read_calls(struct docs_gen *g)
{
	PGresult		*res;
	struct disc_call	 call;
	const char		*p[5];
	char			 after[24], upto[24], rows[16], bytes[24];
	long long		 last;
	int			 i, n, pct;

	last = 0;
	(void)snprintf(upto, sizeof(upto), "%lld", g->max_id);
	(void)snprintf(rows, sizeof(rows), "%d", DOCS_PAGE_ROWS);
	(void)snprintf(bytes, sizeof(bytes), "%d", DOCS_PAGE_BYTES);

	for (;;) {
		(void)snprintf(after, sizeof(after), "%lld", last);
		p[0] = g->endpoint;
		p[1] = after;
		p[2] = upto;
		p[3] = rows;
		p[4] = bytes;
		res = PQexecParams(g->pg,
		    "SELECT id, method, path, query, request_headers::text, "
		    "    response_headers::text, request_content_type, "
		    "    response_content_type, request_body, response_body, "
		    "    status_code, duration_ms "
		    "FROM (SELECT *, sum(own) OVER (ORDER BY id) AS run "
		    "    FROM (SELECT *, "
		    "        coalesce(octet_length(request_body), 0) + "
		    "        coalesce(octet_length(response_body), 0) AS own "
		    "        FROM api_calls WHERE endpoint_id = $1 "
		    "        AND id > $2::bigint AND id <= $3::bigint "
		    "        AND status_code IS NOT NULL "
		    "        ORDER BY id LIMIT $4::int) page) sized "
		    "WHERE run - own < $5::bigint ORDER BY id",
		    5, NULL, p, NULL, NULL, 1);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			jobs_errorf(g->job, "could not read the captured "
			    "calls: %s", PQresultErrorMessage(res));
			PQclear(res);
			return (JOBS_FAILED);
		}
		if ((n = PQntuples(res)) == 0) {
			PQclear(res);
			return (JOBS_DONE);
		}

		for (i = 0; i < n; i++) {
			memset(&call, 0, sizeof(call));
			call.method = PQgetvalue(res, i, 1);
			call.path = PQgetvalue(res, i, 2);
			call.query = docs_text(res, i, 3);
			call.req_headers_json = docs_text(res, i, 4);
			call.resp_headers_json = docs_text(res, i, 5);
			call.req_content_type = docs_text(res, i, 6);
			call.resp_content_type = docs_text(res, i, 7);
			if (!PQgetisnull(res, i, 8)) {
				call.req_body = (const unsigned char *)
				    PQgetvalue(res, i, 8);
				call.req_body_len =
				    (size_t)PQgetlength(res, i, 8);
			}
			if (!PQgetisnull(res, i, 9)) {
				call.resp_body = (const unsigned char *)
				    PQgetvalue(res, i, 9);
				call.resp_body_len =
				    (size_t)PQgetlength(res, i, 9);
			}
			call.status = docs_be32(PQgetvalue(res, i, 10));
			call.duration_ms = docs_be32(PQgetvalue(res, i, 11));
			/* A rejected call is counted by the engine. */
			(void)disc_add_call(g->engine, &call);
		}
		last = docs_be64(PQgetvalue(res, n - 1, 0));
		g->read += n;
		PQclear(res);

		pct = g->total > 0 ? (int)(g->read * 60 / g->total) : 0;
		if (jobs_beat(g->job, pct > 60 ? 60 : pct, NULL) == -1)
			return (JOBS_LOST);
	}
}

static long
docs_elapsed_ms(const struct docs_gen *g)
{
	struct timespec	now;

	(void)clock_gettime(CLOCK_MONOTONIC, &now);
	return ((long)(now.tv_sec - g->t0.tv_sec) * 1000 +
	    (now.tv_nsec - g->t0.tv_nsec) / 1000000);
}

/* The documents and the new version, in one transaction. */
static int
docs_publish(struct docs_gen *g, const struct ai_result *ai)
{
	struct jobs_job	*j = g->job;
	PGresult	*res;
	const char	*p[11], *state, *note;
	char		*openapi, *markdown, id[24], attempt[16], ms[24];
	char		 calls[24];
	int		 rc;

	switch (ai->status) {
	case AI_DISABLED:
		note = "No language model is configured: the summaries and "
		    "descriptions were inferred from the captured calls "
		    "alone.";
		break;
	case AI_UNAVAILABLE:
		note = "The language model could not be used: the summaries "
		    "and descriptions were inferred from the captured calls "
		    "alone.";
		break;
	default:
		note = NULL;
		break;
	}
	if (note != NULL)
		(void)disc_set_info(g->engine, NULL, NULL, NULL, NULL, note);

	openapi = disc_openapi_json(g->engine);
	markdown = disc_markdown(g->engine);
	if (openapi == NULL || markdown == NULL) {
		free(openapi);
		free(markdown);
		jobs_errorf(j, "out of memory while writing the documents");
		return (JOBS_FAILED);
	}

	(void)snprintf(id, sizeof(id), "%lld", (long long)j->id);
	(void)snprintf(attempt, sizeof(attempt), "%d", j->attempt);
	(void)snprintf(ms, sizeof(ms), "%ld", docs_elapsed_ms(g));
	(void)snprintf(calls, sizeof(calls), "%zu",
	    disc_calls_used(g->engine));
	p[0] = id;
	p[1] = attempt;
	p[2] = j->worker;
	p[3] = g->endpoint;
	p[4] = openapi;
	p[5] = markdown;
	p[6] = ms;
	p[7] = calls;
	p[8] = ai_status_name(ai->status);
	p[9] = ai->status == AI_DISABLED ? NULL : app_cfg.groq_model;
	p[10] = ai->status == AI_UNAVAILABLE ? ai->error : NULL;

	res = PQexecParams(g->pg, "SELECT docs_publish_source($1, $2, $3, "
	    "$4, $5, $6, $7, $8, $9, $10, $11)", 11, NULL, p, NULL, NULL, 0);
	free(openapi);
	free(markdown);

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		if (state != NULL && strcmp(state, "AP409") == 0) {
			rc = JOBS_LOST;
		} else {
			jobs_errorf(j, "could not store the documentation: %s",
			    PQresultErrorMessage(res));
			rc = JOBS_FAILED;
		}
		PQclear(res);
		return (rc);
	}

	(void)snprintf(j->note, sizeof(j->note), "{\"version\":%s,"
	    "\"aiStatus\":\"%s\",\"callsAnalysed\":%s,\"operations\":%zu,"
	    "\"aiRequests\":%d,\"generationMs\":%s}", PQgetvalue(res, 0, 0),
	    ai_status_name(ai->status), calls,
	    disc_operation_count(g->engine), ai->requests, ms);
	PQclear(res);
	return (JOBS_DONE);
}

/* The model's client keeps the job's lease while it waits. */
static int
docs_beat_hook(void *arg)
{
	struct docs_gen	*g = arg;

	return (jobs_beat(g->job, -1, NULL));
}

/* Describing takes the job from 65 to 95 percent. */
static void
docs_progress_hook(void *arg, size_t done, size_t total)
{
	struct docs_gen	*g = arg;

	if (total > 0)
		(void)jobs_beat(g->job, 65 + (int)(30 * done / total), NULL);
}

/* The shared per-endpoint budget of requests to the model. */
static long
docs_admit_hook(void *arg)
{
	struct docs_gen	*g = arg;
	PGresult	*res;
	const char	*p[3];
	char		 bucket[64], limit[16], window[16];
	long		 wait;

	(void)snprintf(bucket, sizeof(bucket), "groq:%s", g->endpoint);
	(void)snprintf(limit, sizeof(limit), "%d", app_cfg.groq_rpm);
	(void)snprintf(window, sizeof(window), "%d", app_cfg.groq_rate_window);
	p[0] = bucket;
	p[1] = limit;
	p[2] = window;
	res = PQexecParams(g->pg, "SELECT rate_take($1, $2, $3)", 3, NULL, p,
	    NULL, NULL, 0);
	wait = -1;
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		wait = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return (wait);
}
