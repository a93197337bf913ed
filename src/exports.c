/*
 * Exports of one endpoint, for its owner only:
 *
 *	GET /api/endpoints/{id}/export/calls.csv
 *	GET /api/endpoints/{id}/export/printable[?version=]
 *	GET /api/endpoints/{id}/export/docs.zip[?version=]
 *
 * An endpoint may hold millions of captured calls, so the CSV is never
 * held in memory. A task thread opens a libpq connection of its own
 * (Kore's pgsql layer belongs to the event loop) and reads the calls a
 * page of EXPORT_PAGE rows at a time, by id, writing each page to a
 * temporary file. The file is then unlinked but kept open and handed to
 * Kore as a file reference, which sends it from the page cache (mapped,
 * on TLS) without copying it into the worker's heap; it goes away with
 * the last reference. Bodies are cut at EXPORT_BODY_MAX bytes and written
 * as text when they are UTF-8, in base64 otherwise, with a column saying
 * which.
 *
 * docs.zip is built the same way, in a task: the OpenAPI document and
 * the Markdown of a documentation version, and the calls CSV, are put
 * in a ZIP archive with libzip in the temporary folder.
 *
 * The printable report is small (one documentation version and summary
 * statistics) and is written as HTML in the event loop, every value
 * escaped; its Content-Security-Policy allows no script at all.
 */

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <zip.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "api.h"
#include "app.h"
#include "csvout.h"
#include "jsonw.h"
#include "log.h"

int	exports_calls_csv(struct http_request *);
int	exports_printable(struct http_request *);
int	exports_docs_zip(struct http_request *);

#define EXPORT_PAGE		200
#define EXPORT_PATH_MAX		512

#define EXPORT_CSV		1
#define EXPORT_ZIP		2

/* What a task is asked to build and what it reports back. */
struct exports_job {
	int		 kind;
	char		 endpoint[API_UUID_LEN + 1];
	char		 version[16];		/* "" for the latest */
	char		 dir[EXPORT_PATH_MAX];
	size_t		 body_max;
	char		 path[EXPORT_PATH_MAX];	/* the file built */
	long long	 rows;
	int		 ok;
	int		 missing;		/* no documentation */
	char		 error[256];
};

static void	exports_csv_start(struct api_ctx *);
static void	exports_zip_start(struct api_ctx *);
static void	exports_owned(struct api_ctx *);
static void	exports_built(struct api_ctx *);
static void	exports_printable_start(struct api_ctx *);
static void	exports_printable_reply(struct api_ctx *);
static int	exports_version_arg(struct api_ctx *, char *, size_t);
static int	exports_begin(struct api_ctx *, int);
static void	exports_job_free(void *);
static int	exports_work(void *);
static int	exports_write_csv(PGconn *, struct exports_job *, FILE *);
static int	exports_write_zip(PGconn *, struct exports_job *);
static int	exports_temp(struct exports_job *, const char *, char *,
		    FILE **);
static int	exports_body(FILE *, const char *, int);
static void	exports_serve(struct api_ctx *, const char *, const char *,
		    const char *);

static void	html_text(struct jw *, const char *);
static void	html_json_text(struct jw *, json_t *, const char *);
static void	html_json_element(struct jw *, json_t *, const char *,
		    const char *, const char *);
static void	html_keys(struct jw *, json_t *);
static void	html_stats(struct jw *, json_t *);
static void	html_docs(struct jw *, json_t *);
static void	html_operation(struct jw *, const char *, const char *,
		    json_t *);
static const char *html_schema_type(json_t *);

static const char *exports_columns[] = {
	"id", "timestamp", "method", "path", "query", "status_code",
	"duration_ms", "request_size", "response_size",
	"request_content_type", "response_content_type", "error",
	"request_truncated", "response_truncated", "redacted",
	"request_headers", "response_headers", "request_body_encoding",
	"request_body", "response_body_encoding", "response_body", NULL
};

int
exports_calls_csv(struct http_request *req)
{
	return (api_run(req, API_USER, API_GET, exports_csv_start));
}

int
exports_docs_zip(struct http_request *req)
{
	return (api_run(req, API_USER, API_GET, exports_zip_start));
}

int
exports_printable(struct http_request *req)
{
	return (api_run(req, API_USER, API_GET, exports_printable_start));
}

static void
exports_job_free(void *arg)
{
	struct exports_job	*job = arg;

	if (job == NULL)
		return;
	/* A file built for a client that went away. */
	if (job->path[0] != '\0')
		(void)unlink(job->path);
	free(job);
}

/* ?version=N, a documentation version; "" when absent. */
static int
exports_version_arg(struct api_ctx *c, char *out, size_t len)
{
	int	rc, err;

	out[0] = '\0';
	if ((rc = api_arg(c, "version", out, len)) <= 0)
		return (rc);
	(void)kore_strtonum(out, 10, 1, 1000000000, &err);
	if (err != KORE_RESULT_OK) {
		api_error(c, 422, "VALIDATION_FAILED",
		    "version must be a whole number from 1");
		return (-1);
	}
	return (1);
}

/* Checks the id and the owner, and readies the job for the task. */
static int
exports_begin(struct api_ctx *c, int kind)
{
	struct exports_job	*job;
	char			 version[16];

	if (api_path_id(c, "/api/endpoints/", c->id) == -1 ||
	    exports_version_arg(c, version, sizeof(version)) == -1)
		return (-1);

	if ((job = calloc(1, sizeof(*job))) == NULL) {
		api_error(c, 500, "INTERNAL", "out of memory");
		return (-1);
	}
	job->kind = kind;
	(void)kore_strlcpy(job->endpoint, c->id, sizeof(job->endpoint));
	(void)kore_strlcpy(job->version, version, sizeof(job->version));
	(void)kore_strlcpy(job->dir, app_env("EXPORT_DIR",
	    app_env("TMPDIR", "/tmp")), sizeof(job->dir));
	job->body_max = (size_t)app_env_num("EXPORT_BODY_MAX", 16384, 0,
	    1024 * 1024);
	c->state = job;
	c->state_free = exports_job_free;

	api_query(c, exports_owned,
	    "SELECT e.name, (SELECT count(*) FROM documentation d "
	    "    WHERE d.endpoint_id = e.id "
	    "    AND ($3::int IS NULL OR d.version = $3::int)) "
	    "FROM endpoints e WHERE e.id = $1 AND e.user_id = $2",
	    3, c->id, c->user.id, version[0] ? version : NULL);
	return (0);
}

static void
exports_csv_start(struct api_ctx *c)
{
	(void)exports_begin(c, EXPORT_CSV);
}

static void
exports_zip_start(struct api_ctx *c)
{
	(void)exports_begin(c, EXPORT_ZIP);
}

static void
exports_owned(struct api_ctx *c)
{
	struct exports_job	*job = c->state;

	if (!api_db_ok(c))
		return;
	if (db_rows(&c->db) != 1) {
		api_error(c, 404, "NOT_FOUND", "endpoint not found");
		return;
	}
	if (job->kind == EXPORT_ZIP && db_int(&c->db, 0, 1) == 0) {
		api_error(c, job->version[0] ? 404 : 409,
		    job->version[0] ? "NOT_FOUND" : "NO_DOCUMENTATION",
		    job->version[0] ? "no such documentation version" :
		    "this endpoint has no documentation yet: generate it "
		    "first");
		return;
	}

	/* The task owns the job from here. */
	c->state = NULL;
	c->state_free = NULL;
	c->mark = kore_time_ms();
	api_task(c, exports_built, exports_work, job, exports_job_free);
}

static void
exports_built(struct api_ctx *c)
{
	struct exports_job	*job = api_task_arg(c);
	struct jw		*j;
	char			 name[96];

	if (!job->ok) {
		if ((j = log_begin(LOG_LVL_ERROR, "export.failed", c->rid)) !=
		    NULL) {
			jw_str(j, "endpointId", job->endpoint);
			jw_str(j, "error", job->error);
			log_end(j);
		}
		if (job->missing)
			api_error(c, 409, "NO_DOCUMENTATION",
			    "this endpoint has no documentation yet");
		else
			api_error(c, 500, "EXPORT_FAILED",
			    "the export could not be built; try again");
		return;
	}

	if ((j = log_begin(LOG_LVL_INFO, "export.built", c->rid)) != NULL) {
		jw_str(j, "userId", c->user.id);
		jw_str(j, "endpointId", job->endpoint);
		jw_str(j, "kind", job->kind == EXPORT_CSV ? "csv" : "zip");
		jw_int(j, "calls", job->rows);
		jw_int(j, "buildMs", (int64_t)(kore_time_ms() - c->mark));
		log_end(j);
	}

	if (job->kind == EXPORT_CSV) {
		(void)snprintf(name, sizeof(name), "calls-%s.csv",
		    job->endpoint);
		exports_serve(c, job->path, "text/csv; charset=utf-8", name);
	} else {
		(void)snprintf(name, sizeof(name), "docs-%s.zip",
		    job->endpoint);
		exports_serve(c, job->path, "application/zip", name);
	}
	/* Unlinked by exports_serve; nothing left to remove. */
	job->path[0] = '\0';
}

/*
 * Sends a finished file. It is opened and unlinked first, so it
 * disappears once Kore drops its reference, whatever happens to the
 * connection.
 */
static void
exports_serve(struct api_ctx *c, const char *path, const char *type,
    const char *name)
{
	struct kore_fileref	*ref;
	struct connection	*conn = c->req->owner;
	struct stat		 st;
	char			 disp[160];
	int			 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		(void)unlink(path);
		api_error(c, 500, "EXPORT_FAILED", "the export was lost");
		return;
	}
	(void)unlink(path);
	if (fstat(fd, &st) == -1 || st.st_size <= 0 || conn == NULL ||
	    conn->owner == NULL) {
		(void)close(fd);
		api_error(c, 500, "EXPORT_FAILED", "the export is empty");
		return;
	}

	/* kore_fileref_create() takes the descriptor. */
	if ((ref = kore_fileref_create(conn->owner->server, path, fd,
	    st.st_size, &st.st_mtim)) == NULL) {
		(void)close(fd);
		api_error(c, 500, "EXPORT_FAILED", "the export is too large");
		return;
	}

	(void)snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"",
	    name);
	api_header(c, "Content-Type", type);
	api_header(c, "Content-Disposition", disp);
	c->status = 200;
	c->finished = 1;
	http_response_fileref(c->req, 200, ref);
}

/*
 * A temporary file named after `suffix` in the export folder. The
 * suffix is never one Kore maps to a media type: the route sets its own.
 */
static int
exports_temp(struct exports_job *job, const char *suffix, char *path,
    FILE **fp)
{
	int	fd;

	if ((size_t)snprintf(path, EXPORT_PATH_MAX, "%s/apiscribe-%s-XXXXXX",
	    job->dir, suffix) >= EXPORT_PATH_MAX) {
		(void)snprintf(job->error, sizeof(job->error),
		    "EXPORT_DIR is too long");
		return (-1);
	}
	if ((fd = mkstemp(path)) == -1) {
		(void)snprintf(job->error, sizeof(job->error),
		    "cannot create a file in %.160s: %s", job->dir,
		    strerror(errno));
		path[0] = '\0';
		return (-1);
	}
	if (fp != NULL && (*fp = fdopen(fd, "w")) == NULL) {
		(void)close(fd);
		(void)unlink(path);
		path[0] = '\0';
		(void)snprintf(job->error, sizeof(job->error), "fdopen: %s",
		    strerror(errno));
		return (-1);
	}
	if (fp == NULL)
		(void)close(fd);
	return (0);
}

/* In a task thread: libpq and stdio only. */
static int
exports_work(void *arg)
{
	struct exports_job	*job = arg;
	PGconn			*pg;
	FILE			*fp;
	int			 rc;

	pg = PQconnectdb(app_cfg.database_url);
	if (PQstatus(pg) != CONNECTION_OK) {
		(void)snprintf(job->error, sizeof(job->error),
		    "cannot connect to the database");
		PQfinish(pg);
		return (0);
	}

	if (job->kind == EXPORT_CSV) {
		fp = NULL;
		rc = exports_temp(job, "csv", job->path, &fp);
		if (rc == 0) {
			rc = exports_write_csv(pg, job, fp);
			if (fclose(fp) != 0 && rc == 0) {
				(void)snprintf(job->error, sizeof(job->error),
				    "cannot write the file: %s",
				    strerror(errno));
				rc = -1;
			}
		}
	} else {
		rc = exports_write_zip(pg, job);
	}
	PQfinish(pg);

	if (rc == -1 && job->path[0] != '\0') {
		(void)unlink(job->path);
		job->path[0] = '\0';
	}
	job->ok = rc == 0;
	return (0);
}

/*
 * One body cell and its encoding cell from the hex text of a bytea
 * ("\x4142..."); both empty for NULL.
 */
static int
exports_body(FILE *fp, const char *hex, int isnull)
{
	static const char	 b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char		*raw;
	char			*enc;
	size_t			 n, i, o;
	unsigned int		 v, hi, lo;
	int			 rc;

	if (isnull || hex == NULL || hex[0] != '\\' || hex[1] != 'x') {
		if (csvout_field(fp, "", 0, CSVOUT_PLAIN, 0) == -1 ||
		    csvout_field(fp, "", 0, CSVOUT_PLAIN, 0) == -1)
			return (-1);
		return (0);
	}

	n = (strlen(hex) - 2) / 2;
	if ((raw = malloc(n + 1)) == NULL)
		return (-1);
	for (i = 0; i < n; i++) {
		hi = (unsigned int)hex[2 + 2 * i];
		lo = (unsigned int)hex[3 + 2 * i];
		hi = hi <= '9' ? hi - '0' : (hi | 0x20) - 'a' + 10;
		lo = lo <= '9' ? lo - '0' : (lo | 0x20) - 'a' + 10;
		raw[i] = (unsigned char)(hi << 4 | lo);
	}

	if (csvout_utf8_ok(raw, n)) {
		rc = csvout_field(fp, "utf8", 4, CSVOUT_PLAIN, 0);
		if (rc == 0)
			rc = csvout_field(fp, (const char *)raw, n,
			    CSVOUT_TEXT, 0);
		free(raw);
		return (rc);
	}

	if ((enc = malloc((n + 2) / 3 * 4 + 1)) == NULL) {
		free(raw);
		return (-1);
	}
	for (i = 0, o = 0; i < n; i += 3) {
		v = (unsigned int)raw[i] << 16;
		if (i + 1 < n)
			v |= (unsigned int)raw[i + 1] << 8;
		if (i + 2 < n)
			v |= raw[i + 2];
		enc[o++] = b64[(v >> 18) & 63];
		enc[o++] = b64[(v >> 12) & 63];
		enc[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		enc[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	rc = csvout_field(fp, "base64", 6, CSVOUT_PLAIN, 0);
	if (rc == 0)
		rc = csvout_field(fp, enc, o, CSVOUT_PLAIN, 0);
	free(enc);
	free(raw);
	return (rc);
}

/* The header row, then every call of the endpoint, a page at a time. */
static int
exports_write_csv(PGconn *pg, struct exports_job *job, FILE *fp)
{
	PGresult	*res;
	const char	*params[4];
	char		 after[32], limit[16], body[16];
	int		 i, f, rows, kind;

	for (i = 0; exports_columns[i] != NULL; i++) {
		if (csvout_field(fp, exports_columns[i],
		    strlen(exports_columns[i]), CSVOUT_PLAIN, i == 0) == -1)
			goto fail;
	}
	if (csvout_end(fp) == -1)
		goto fail;

	(void)snprintf(after, sizeof(after), "0");
	(void)snprintf(limit, sizeof(limit), "%d", EXPORT_PAGE);
	(void)snprintf(body, sizeof(body), "%zu", job->body_max);
	params[0] = job->endpoint;
	params[1] = after;
	params[2] = limit;
	params[3] = body;

	for (;;) {
		res = PQexecParams(pg,
		    "SELECT id, to_char(\"timestamp\" AT TIME ZONE 'UTC', "
		    "    'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), method, path, "
		    "    query, status_code, duration_ms, request_size, "
		    "    response_size, request_content_type, "
		    "    response_content_type, error, "
		    "    CASE WHEN request_truncated OR octet_length("
		    "        request_body) > $4::int THEN 'true' "
		    "        ELSE 'false' END, "
		    "    CASE WHEN response_truncated OR octet_length("
		    "        response_body) > $4::int THEN 'true' "
		    "        ELSE 'false' END, "
		    "    CASE WHEN redacted THEN 'true' ELSE 'false' END, "
		    "    request_headers::text, response_headers::text, "
		    "    substring(request_body FROM 1 FOR $4::int), "
		    "    substring(response_body FROM 1 FOR $4::int) "
		    "FROM api_calls "
		    "WHERE endpoint_id = $1::uuid AND id > $2::bigint "
		    "ORDER BY id LIMIT $3::int",
		    4, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			(void)snprintf(job->error, sizeof(job->error),
			    "reading calls: %s", PQresultErrorMessage(res));
			PQclear(res);
			goto fail;
		}

		rows = PQntuples(res);
		for (i = 0; i < rows; i++) {
			for (f = 0; f < 17; f++) {
				/* Names and values users sent are text. */
				kind = (f == 3 || f == 4 || f == 9 ||
				    f == 10 || f == 11 || f == 15 ||
				    f == 16) ? CSVOUT_TEXT : CSVOUT_PLAIN;
				if (csvout_field(fp, PQgetvalue(res, i, f),
				    (size_t)PQgetlength(res, i, f), kind,
				    f == 0) == -1)
					goto fail_res;
			}
			if (exports_body(fp, PQgetvalue(res, i, 17),
			    PQgetisnull(res, i, 17)) == -1 ||
			    exports_body(fp, PQgetvalue(res, i, 18),
			    PQgetisnull(res, i, 18)) == -1 ||
			    csvout_end(fp) == -1)
				goto fail_res;
			job->rows++;
		}
		if (rows > 0)
			(void)kore_strlcpy(after, PQgetvalue(res, rows - 1, 0),
			    sizeof(after));
		PQclear(res);
		if (rows < EXPORT_PAGE)
			break;
	}
	return (0);

fail_res:
	PQclear(res);
fail:
	if (job->error[0] == '\0')
		(void)snprintf(job->error, sizeof(job->error),
		    "cannot write the file: %s", strerror(errno));
	return (-1);
}

/*
 * docs.zip: openapi.json, the Markdown and calls.csv. libzip writes the
 * archive at zip_close(), reading the CSV from its own temporary file.
 */
static int
exports_write_zip(PGconn *pg, struct exports_job *job)
{
	PGresult	*res;
	zip_t		*za;
	zip_source_t	*src;
	zip_error_t	 zerr;
	FILE		*fp;
	const char	*params[2];
	char		 csv[EXPORT_PATH_MAX], readme[512];
	int		 zerrno, rc;

	res = NULL;
	za = NULL;
	csv[0] = '\0';
	rc = -1;

	params[0] = job->endpoint;
	params[1] = job->version[0] ? job->version : NULL;
	res = PQexecParams(pg,
	    "SELECT jsonb_pretty(d.openapi), d.markdown, d.version, "
	    "    e.name, to_char(d.generated_at AT TIME ZONE 'UTC', "
	    "    'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
	    "FROM documentation d JOIN endpoints e ON e.id = d.endpoint_id "
	    "WHERE d.endpoint_id = $1::uuid "
	    "AND ($2::int IS NULL OR d.version = $2::int) "
	    "ORDER BY d.version DESC LIMIT 1",
	    2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		(void)snprintf(job->error, sizeof(job->error),
		    "reading the documentation: %s",
		    PQresultErrorMessage(res));
		goto done;
	}
	if (PQntuples(res) != 1) {
		job->missing = 1;
		(void)snprintf(job->error, sizeof(job->error),
		    "no documentation");
		goto done;
	}

	fp = NULL;
	if (exports_temp(job, "calls", csv, &fp) == -1)
		goto done;
	if (exports_write_csv(pg, job, fp) == -1) {
		(void)fclose(fp);
		goto done;
	}
	if (fclose(fp) != 0) {
		(void)snprintf(job->error, sizeof(job->error),
		    "cannot write the file: %s", strerror(errno));
		goto done;
	}

	if (exports_temp(job, "zip", job->path, NULL) == -1)
		goto done;
	if ((za = zip_open(job->path, ZIP_TRUNCATE, &zerrno)) == NULL) {
		zip_error_init_with_code(&zerr, zerrno);
		(void)snprintf(job->error, sizeof(job->error), "zip_open: %s",
		    zip_error_strerror(&zerr));
		zip_error_fini(&zerr);
		goto done;
	}

	(void)snprintf(readme, sizeof(readme),
	    "Documentation version %s of the endpoint \"%.100s\", generated "
	    "%s UTC.\n\nopenapi.json  the OpenAPI 3.1 document\n"
	    "docs.md       the same as Markdown\n"
	    "calls.csv     every captured call (bodies cut at %zu bytes)\n",
	    PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3),
	    PQgetvalue(res, 0, 4), job->body_max);

	/* The buffers stay valid until zip_close(): res lives on. */
	if ((src = zip_source_buffer(za, PQgetvalue(res, 0, 0),
	    (zip_uint64_t)PQgetlength(res, 0, 0), 0)) == NULL ||
	    zip_file_add(za, "openapi.json", src, ZIP_FL_ENC_UTF_8) < 0 ||
	    (src = zip_source_buffer(za, PQgetvalue(res, 0, 1),
	    (zip_uint64_t)PQgetlength(res, 0, 1), 0)) == NULL ||
	    zip_file_add(za, "docs.md", src, ZIP_FL_ENC_UTF_8) < 0 ||
	    (src = zip_source_file(za, csv, 0, -1)) == NULL ||
	    zip_file_add(za, "calls.csv", src, ZIP_FL_ENC_UTF_8) < 0 ||
	    (src = zip_source_buffer(za, readme, strlen(readme), 0)) == NULL ||
	    zip_file_add(za, "README.txt", src, ZIP_FL_ENC_UTF_8) < 0) {
		(void)snprintf(job->error, sizeof(job->error), "zip: %s",
		    zip_strerror(za));
		zip_discard(za);
		za = NULL;
		goto done;
	}
	if (zip_close(za) == -1) {
		(void)snprintf(job->error, sizeof(job->error), "zip_close: %s",
		    zip_strerror(za));
		zip_discard(za);
		za = NULL;
		goto done;
	}
	za = NULL;
	rc = 0;

done:
	if (csv[0] != '\0')
		(void)unlink(csv);
	if (res != NULL)
		PQclear(res);
	return (rc);
}

/*
 * The printable report: one query gathers the endpoint, a documentation
 * version (the latest, or ?version=) and the call statistics as JSON.
 */
static void
exports_printable_start(struct api_ctx *c)
{
	char	version[16];

	if (api_path_id(c, "/api/endpoints/", c->id) == -1 ||
	    exports_version_arg(c, version, sizeof(version)) == -1)
		return;

	api_query(c, exports_printable_reply,
	    "WITH e AS (SELECT * FROM endpoints WHERE id = $1 "
	    "    AND user_id = $2), "
	    "d AS (SELECT * FROM documentation WHERE endpoint_id = $1 "
	    "    AND ($3::int IS NULL OR version = $3::int) "
	    "    ORDER BY version DESC LIMIT 1), "
	    "c AS (SELECT status_code, duration_ms, method, path "
	    "    FROM api_calls WHERE endpoint_id = $1 AND EXISTS "
	    "    (SELECT 1 FROM e)) "
	    "SELECT json_build_object("
	    "    'name', e.name, 'destinationUrl', e.destination_url, "
	    "    'status', e.status, 'createdAt', e.created_at, "
	    "    'lastCallAt', e.last_call_at, 'now', now(), "
	    "    'requestedVersion', $3::int, "
	    "    'docs', (SELECT json_build_object('version', version, "
	    "        'generatedAt', generated_at, 'aiStatus', ai_status, "
	    "        'model', model, 'callsAnalysed', calls_analysed, "
	    "        'openapi', openapi) FROM d), "
	    "    'stats', (SELECT json_build_object("
	    "        'total', count(*), "
	    "        'errors', count(*) FILTER (WHERE status_code >= 400 "
	    "            OR status_code IS NULL), "
	    "        'p50', coalesce(percentile_cont(0.5) WITHIN GROUP "
	    "            (ORDER BY duration_ms), 0), "
	    "        'p95', coalesce(percentile_cont(0.95) WITHIN GROUP "
	    "            (ORDER BY duration_ms), 0), "
	    "        'p99', coalesce(percentile_cont(0.99) WITHIN GROUP "
	    "            (ORDER BY duration_ms), 0), "
	    "        'avg', coalesce(round(avg(duration_ms), 1), 0)) "
	    "        FROM c), "
	    "    'statusMix', coalesce((SELECT json_agg(json_build_object("
	    "        'status', s, 'count', n) ORDER BY s NULLS LAST) FROM "
	    "        (SELECT status_code AS s, count(*) AS n FROM c "
	    "        GROUP BY 1) x), '[]'::json), "
	    "    'operations', coalesce((SELECT json_agg(json_build_object("
	    "        'method', method, 'path', path, 'count', n, "
	    "        'avgMs', a) ORDER BY n DESC, method, path) FROM "
	    "        (SELECT method, path, count(*) AS n, "
	    "        round(avg(duration_ms), 1) AS a FROM c "
	    "        GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT 50) x), "
	    "        '[]'::json)) "
	    "FROM e",
	    3, c->id, c->user.id, version[0] ? version : NULL);
}

/* HTML-escaped text. */
static void
html_text(struct jw *j, const char *s)
{
	const char	*p;
	const char	*rep;

	if (s == NULL)
		return;
	for (p = s; *p != '\0'; p++) {
		switch (*p) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			jw_append(j, p, 1);
			continue;
		}
		jw_append(j, rep, strlen(rep));
	}
}

/* A member of a JSON object as escaped text (numbers written out). */
static void
html_json_text(struct jw *j, json_t *obj, const char *key)
{
	json_t	*v;
	char	 num[64];

	v = json_object_get(obj, key);
	if (json_is_string(v)) {
		html_text(j, json_string_value(v));
	} else if (json_is_integer(v)) {
		(void)snprintf(num, sizeof(num), "%lld",
		    (long long)json_integer_value(v));
		html_text(j, num);
	} else if (json_is_real(v)) {
		(void)snprintf(num, sizeof(num), "%.1f", json_real_value(v));
		html_text(j, num);
	} else if (json_is_boolean(v)) {
		html_text(j, json_is_true(v) ? "yes" : "no");
	} else {
		html_text(j, "\xe2\x80\x94");
	}
}

#define HTML(j, s)	jw_append((j), (s), strlen(s))

/* A string member between `open` and `close`; nothing when it is absent. */
static void
html_json_element(struct jw *j, json_t *obj, const char *key,
    const char *open, const char *close)
{
	if (!json_is_string(json_object_get(obj, key)))
		return;
	HTML(j, open);
	html_json_text(j, obj, key);
	HTML(j, close);
}

/* The names of an object's members, comma-separated: media types. */
static void
html_keys(struct jw *j, json_t *obj)
{
	const char	*key;
	json_t		*v;
	size_t		 i;

	i = 0;
	json_object_foreach(obj, key, v) {
		if (i++ > 0)
			HTML(j, ", ");
		html_text(j, key);
	}
}

static void
html_stats(struct jw *j, json_t *r)
{
	json_t	*stats, *row;
	size_t	 i;

	stats = json_object_get(r, "stats");
	HTML(j, "<section><h2>Captured calls</h2><table class=\"kv\">"
	    "<tr><th>Calls</th><td>");
	html_json_text(j, stats, "total");
	HTML(j, "</td></tr><tr><th>Errors (4xx, 5xx, no answer)</th><td>");
	html_json_text(j, stats, "errors");
	HTML(j, "</td></tr><tr><th>Latency p50 / p95 / p99 (ms)</th><td>");
	html_json_text(j, stats, "p50");
	HTML(j, " / ");
	html_json_text(j, stats, "p95");
	HTML(j, " / ");
	html_json_text(j, stats, "p99");
	HTML(j, "</td></tr><tr><th>Average latency (ms)</th><td>");
	html_json_text(j, stats, "avg");
	HTML(j, "</td></tr></table>");

	HTML(j, "<h3>Status codes</h3><table><tr><th>Status</th>"
	    "<th>Calls</th></tr>");
	json_array_foreach(json_object_get(r, "statusMix"), i, row) {
		HTML(j, "<tr><td>");
		html_json_text(j, row, "status");
		HTML(j, "</td><td>");
		html_json_text(j, row, "count");
		HTML(j, "</td></tr>");
	}
	HTML(j, "</table>");

	HTML(j, "<h3>Most called paths</h3><table><tr><th>Method</th>"
	    "<th>Path</th><th>Calls</th><th>Average ms</th></tr>");
	json_array_foreach(json_object_get(r, "operations"), i, row) {
		HTML(j, "<tr><td>");
		html_json_text(j, row, "method");
		HTML(j, "</td><td class=\"mono\">");
		html_json_text(j, row, "path");
		HTML(j, "</td><td>");
		html_json_text(j, row, "count");
		HTML(j, "</td><td>");
		html_json_text(j, row, "avgMs");
		HTML(j, "</td></tr>");
	}
	HTML(j, "</table></section>");
}

static const char *
html_schema_type(json_t *schema)
{
	json_t		*t;
	const char	*ref;

	if (!json_is_object(schema))
		return ("");
	if ((t = json_object_get(schema, "type")) != NULL) {
		if (json_is_string(t))
			return (json_string_value(t));
		if (json_is_array(t) && json_is_string(json_array_get(t, 0)))
			return (json_string_value(json_array_get(t, 0)));
	}
	if ((t = json_object_get(schema, "$ref")) != NULL &&
	    json_is_string(t)) {
		ref = strrchr(json_string_value(t), '/');
		return (ref != NULL ? ref + 1 : json_string_value(t));
	}
	return ("");
}

static void
html_operation(struct jw *j, const char *path, const char *method,
    json_t *op)
{
	json_t		*params, *p, *resp, *r, *content, *body;
	const char	*code;
	void		*iter;
	size_t		 i;
	char		 upper[16];

	for (i = 0; method[i] != '\0' && i < sizeof(upper) - 1; i++)
		upper[i] = (char)(method[i] >= 'a' && method[i] <= 'z' ?
		    method[i] - 32 : method[i]);
	upper[i] = '\0';

	HTML(j, "<article class=\"op\"><h3><span class=\"method\">");
	html_text(j, upper);
	HTML(j, "</span> <span class=\"mono\">");
	html_text(j, path);
	HTML(j, "</span></h3>");
	html_json_element(j, op, "summary", "<p class=\"summary\">", "</p>");
	html_json_element(j, op, "description", "<p>", "</p>");

	params = json_object_get(op, "parameters");
	if (json_is_array(params) && json_array_size(params) > 0) {
		HTML(j, "<table><tr><th>Parameter</th><th>In</th>"
		    "<th>Type</th><th>Required</th><th>Description</th></tr>");
		json_array_foreach(params, i, p) {
			HTML(j, "<tr><td class=\"mono\">");
			html_json_text(j, p, "name");
			HTML(j, "</td><td>");
			html_json_text(j, p, "in");
			HTML(j, "</td><td>");
			html_text(j, html_schema_type(json_object_get(p,
			    "schema")));
			HTML(j, "</td><td>");
			html_text(j, json_is_true(json_object_get(p,
			    "required")) ? "yes" : "no");
			HTML(j, "</td><td>");
			if (json_is_string(json_object_get(p, "description")))
				html_json_text(j, p, "description");
			HTML(j, "</td></tr>");
		}
		HTML(j, "</table>");
	}

	body = json_object_get(op, "requestBody");
	content = json_object_get(body, "content");
	if (json_is_object(content)) {
		HTML(j, "<p>Request body: <span class=\"mono\">");
		html_keys(j, content);
		HTML(j, "</span></p>");
	}

	resp = json_object_get(op, "responses");
	if (json_is_object(resp)) {
		HTML(j, "<table><tr><th>Response</th><th>Description</th>"
		    "<th>Content</th></tr>");
		for (iter = json_object_iter(resp); iter != NULL;
		    iter = json_object_iter_next(resp, iter)) {
			code = json_object_iter_key(iter);
			r = json_object_iter_value(iter);
			HTML(j, "<tr><td>");
			html_text(j, code);
			HTML(j, "</td><td>");
			if (json_is_string(json_object_get(r, "description")))
				html_json_text(j, r, "description");
			HTML(j, "</td><td class=\"mono\">");
			html_keys(j, json_object_get(r, "content"));
			HTML(j, "</td></tr>");
		}
		HTML(j, "</table>");
	}
	HTML(j, "</article>");
}

static void
html_docs(struct jw *j, json_t *r)
{
	static const char *const methods[] = { "get", "put", "post",
	    "delete", "options", "head", "patch", "trace", NULL };
	json_t		*docs, *api, *info, *paths, *item, *op;
	const char	*path;
	int		 m;

	docs = json_object_get(r, "docs");
	HTML(j, "<section><h2>Documentation</h2>");
	if (!json_is_object(docs)) {
		HTML(j, "<p>No documentation has been generated for this "
		    "endpoint yet.</p></section>");
		return;
	}
	api = json_object_get(docs, "openapi");
	info = json_object_get(api, "info");

	HTML(j, "<table class=\"kv\"><tr><th>Version</th><td>");
	html_json_text(j, docs, "version");
	HTML(j, "</td></tr><tr><th>Generated</th><td>");
	html_json_text(j, docs, "generatedAt");
	HTML(j, "</td></tr><tr><th>Calls analysed</th><td>");
	html_json_text(j, docs, "callsAnalysed");
	HTML(j, "</td></tr><tr><th>Language model</th><td>");
	html_json_text(j, docs, "aiStatus");
	HTML(j, "</td></tr></table>");
	html_json_element(j, info, "title", "<h3>", "</h3>");
	html_json_element(j, info, "description", "<p>", "</p>");

	paths = json_object_get(api, "paths");
	if (!json_is_object(paths) || json_object_size(paths) == 0)
		HTML(j, "<p>The document describes no operations.</p>");
	json_object_foreach(paths, path, item) {
		for (m = 0; methods[m] != NULL; m++) {
			if (json_is_object(op = json_object_get(item,
			    methods[m])))
				html_operation(j, path, methods[m], op);
		}
	}
	HTML(j, "</section>");
}

static void
exports_printable_reply(struct api_ctx *c)
{
	json_t		*r;
	json_error_t	 err;
	struct jw	 j;

	if (!api_db_ok(c))
		return;
	if (db_rows(&c->db) != 1) {
		api_error(c, 404, "NOT_FOUND", "endpoint not found");
		return;
	}
	if ((r = json_loadb(db_value(&c->db, 0, 0),
	    (size_t)db_length(&c->db, 0, 0), 0, &err)) == NULL) {
		api_error(c, 500, "INTERNAL", "could not read the report");
		return;
	}
	if (!json_is_null(json_object_get(r, "requestedVersion")) &&
	    json_is_null(json_object_get(r, "docs"))) {
		json_decref(r);
		api_error(c, 404, "NOT_FOUND",
		    "no such documentation version");
		return;
	}

	jw_init(&j, 16384);
	HTML(&j, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\"><title>");
	html_json_text(&j, r, "name");
	HTML(&j, " \xe2\x80\x94 apiscribe report</title><style>"
	    "body{font:11pt/1.45 system-ui,sans-serif;color:#111;"
	    "max-width:60rem;margin:2rem auto;padding:0 1rem}"
	    "h1{font-size:1.6rem;margin:0 0 .25rem}"
	    "h2{font-size:1.25rem;border-bottom:1px solid #999;"
	    "margin-top:2rem}h3{font-size:1.05rem;margin:1.2rem 0 .4rem}"
	    "table{border-collapse:collapse;width:100%;margin:.5rem 0}"
	    "th,td{border:1px solid #ccc;padding:.25rem .5rem;"
	    "text-align:left;vertical-align:top}th{background:#f3f3f3}"
	    "table.kv th{width:16rem}.mono{font-family:ui-monospace,"
	    "monospace;word-break:break-all}.method{font-family:"
	    "ui-monospace,monospace;font-weight:700}.summary{font-weight:"
	    "600}.meta{color:#555}article.op{break-inside:avoid}"
	    "@media print{body{margin:0;max-width:none}"
	    "h2{break-after:avoid}}"
	    "</style></head><body><header><h1>");
	html_json_text(&j, r, "name");
	HTML(&j, "</h1><p class=\"meta\">Destination <span class=\"mono\">");
	html_json_text(&j, r, "destinationUrl");
	HTML(&j, "</span> \xc2\xb7 status ");
	html_json_text(&j, r, "status");
	HTML(&j, " \xc2\xb7 report of ");
	html_json_text(&j, r, "now");
	HTML(&j, "</p></header>");

	html_stats(&j, r);
	html_docs(&j, r);
	HTML(&j, "</body></html>\n");
	json_decref(r);

	if (j.err) {
		jw_free(&j);
		api_error(c, 500, "INTERNAL", "could not write the report");
		return;
	}
	api_header(c, "Content-Security-Policy", "default-src 'none'; "
	    "style-src 'unsafe-inline'; img-src 'none'; "
	    "frame-ancestors 'none'");
	api_reply(c, 200, "text/html; charset=utf-8", j.buf, j.len);
	jw_free(&j);
}
