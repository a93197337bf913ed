/*
 * Capture writer.
 *
 * The proxy hands every call to capture_add() just before it answers the
 * client. The call is copied into one allocation and appended to the
 * worker's open batch. A batch is written when it reaches CAPTURE_BATCH
 * rows or CAPTURE_FLUSH_MS after its first row, whichever comes first,
 * with one statement: the columns travel as binary arrays into the SQL
 * function capture_insert() (sql/003), which unnests them into api_calls
 * and moves the endpoints' call counters. At most CAPTURE_INFLIGHT such
 * statements run at once per worker; the proxy never waits for them.
 * While they all run, the open batch keeps growing (up to
 * CAPTURE_BATCH_MAX rows), so under load fewer, larger statements carry
 * the same rows and the database keeps up.
 *
 * When a write fails because the database is unreachable (or a deadlock
 * or a shortage), the batch goes back to the head of the queue and is
 * retried with backoff from 100 ms to 5 s. Batches wait in memory up to
 * CAPTURE_BUFFER_MAX bytes; a call that does not fit is dropped, counted
 * and logged. When PostgreSQL refuses the data itself, the batch is split
 * and retried row by row, so one bad row costs only itself, and that row
 * is counted and logged.
 *
 * On SIGTERM the worker's teardown writes what is still in memory with a
 * blocking libpq connection of its own, after waiting for the writes in
 * flight to finish.
 */

#include <sys/queue.h>

#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/pgsql.h>

#include "app.h"
#include "capture.h"
#include "db.h"
#include "log.h"
#include "metrics.h"
#include "secret.h"

#define OID_BOOL	16
#define OID_BYTEA	17
#define OID_INT8	20
#define OID_INT4	23
#define OID_TEXT	25
#define OID_TIMESTAMPTZ	1184
#define OID_UUID	2950

/* PostgreSQL counts time from 2000-01-01, Unix from 1970-01-01. */
#define PG_EPOCH_US	946684800000000LL

#define CAPTURE_COLUMNS	19

struct capture_rec {
	TAILQ_ENTRY(capture_rec)	 list;
	size_t				 bytes;
	char				 endpoint_id[40];
	int64_t				 ts_us;
	char				*method;
	char				*path;
	char				*query;
	char				*req_headers;
	char				*req_body;
	size_t				 req_body_len;
	char				*req_type;
	int				 status;
	char				*resp_headers;
	char				*resp_body;
	size_t				 resp_body_len;
	char				*resp_type;
	int				 duration_ms;
	int64_t				 req_size;
	int64_t				 resp_size;
	int				 req_truncated;
	int				 resp_truncated;
	int				 redacted;
	char				*error;
	char				 data[];
};

TAILQ_HEAD(capture_recs, capture_rec);

struct capture_batch {
	TAILQ_ENTRY(capture_batch)	 list;
	struct capture_recs		 recs;
	size_t				 rows;
	size_t				 bytes;
	struct db_call			 db;
};

struct arr {
	char		*buf;
	size_t		 len;
	size_t		 cap;
	int		 n;
	int		 hasnull;
	uint32_t	 oid;
	int		 err;
};

static struct capture_batch	*capture_batch_new(void);
static void	capture_batch_free(struct capture_batch *);
static void	capture_flush(void);
static void	capture_flush_timer(void *, u_int64_t);
static void	capture_pump(void);
static void	capture_kick(void);
static void	capture_retry_timer(void *, u_int64_t);
static void	capture_done(struct db_call *, void *);
static int	capture_params(struct capture_batch *, struct db_call *);
static void	capture_split(struct capture_batch *);
static void	capture_drop(struct capture_batch *, const char *);
static int	capture_transient(const char *);
static void	capture_write_sync(void);

static const char *capture_sql =
    "SELECT capture_insert($1::uuid[], $2::timestamptz[], $3::text[], "
    "$4::text[], "
    "$5::text[], $6::text[], $7::bytea[], $8::text[], $9::int4[], "
    "$10::text[], $11::bytea[], $12::text[], $13::int4[], $14::int8[], "
    "$15::int8[], $16::bool[], $17::bool[], $18::bool[], $19::text[])";

static TAILQ_HEAD(, capture_batch)	capture_pending;
static TAILQ_HEAD(, capture_batch)	capture_running;
static struct capture_batch		*capture_open;
static size_t				 capture_inflight;
static size_t				 capture_buffered_bytes;
static struct capture_stats		 stats;
static int				 flush_armed;
static int				 retry_armed;
static u_int64_t			 retry_delay;
static u_int64_t			 last_overflow_log;
static int				 outage_logged;

static size_t	cfg_batch, cfg_batch_max, cfg_flush_ms, cfg_inflight;
static size_t	cfg_buffer_max;

void
capture_init(void)
{
	TAILQ_INIT(&capture_pending);
	TAILQ_INIT(&capture_running);
	capture_open = NULL;
	cfg_batch = (size_t)app_env_num("CAPTURE_BATCH", 256, 1, 5000);
	cfg_batch_max = (size_t)app_env_num("CAPTURE_BATCH_MAX", 4096,
	    (long)cfg_batch, 100000);
	cfg_flush_ms = (size_t)app_env_num("CAPTURE_FLUSH_MS", 10, 1, 10000);
	cfg_inflight = (size_t)app_env_num("CAPTURE_INFLIGHT", 2, 1, 16);
	cfg_buffer_max = (size_t)app_env_num("CAPTURE_BUFFER_MAX",
	    128L * 1024 * 1024, 1024 * 1024, 8L * 1024 * 1024 * 1024);
}

void
capture_stats(struct capture_stats *out)
{
	*out = stats;
}

static struct capture_batch *
capture_batch_new(void)
{
	struct capture_batch	*b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return (NULL);
	TAILQ_INIT(&b->recs);
	db_call_init(&b->db);
	return (b);
}

static void
capture_batch_free(struct capture_batch *b)
{
	struct capture_rec	*r;

	while ((r = TAILQ_FIRST(&b->recs)) != NULL) {
		TAILQ_REMOVE(&b->recs, r, list);
		capture_buffered_bytes -= r->bytes;
		stats.buffered--;
		free(r);
	}
	db_call_clear(&b->db);
	free(b);
}

static size_t
slen(const char *s)
{
	return (s != NULL ? strlen(s) + 1 : 0);
}

/* Copies s into *at and returns where it went, or NULL for NULL. */
static char *
scopy(char **at, const void *s, size_t len)
{
	char	*p;

	if (s == NULL)
		return (NULL);
	p = *at;
	memcpy(p, s, len);
	p[len] = '\0';
	*at += len + 1;
	return (p);
}

/* Returns 0 when the call was buffered, -1 when it had to be dropped. */
int
capture_add(const struct capture_call *in)
{
	struct capture_rec	*r;
	struct jw		*j;
	size_t			 need;
	char			*at;
	u_int64_t		 now;

	need = sizeof(*r) + slen(in->method) + slen(in->path) +
	    slen(in->query) + slen(in->req_headers) + slen(in->req_type) +
	    slen(in->resp_headers) + slen(in->resp_type) + slen(in->error) +
	    in->req_body_len + 1 + in->resp_body_len + 1;

	if (capture_buffered_bytes + need > cfg_buffer_max ||
	    (r = malloc(need)) == NULL) {
		stats.dropped++;
		if (metrics != NULL)
			metrics_add(&metrics->capture_dropped, 1);
		now = kore_time_ms();
		if (now - last_overflow_log > 10000) {
			last_overflow_log = now;
			if ((j = log_begin(LOG_LVL_ERROR, "capture.dropped",
			    NULL)) != NULL) {
				jw_str(j, "reason", "capture buffer full");
				jw_int(j, "droppedTotal",
				    (int64_t)stats.dropped);
				jw_int(j, "bufferedBytes",
				    (int64_t)capture_buffered_bytes);
				log_end(j);
			}
		}
		return (-1);
	}

	memset(r, 0, sizeof(*r));
	r->bytes = need;
	at = r->data;
	(void)kore_strlcpy(r->endpoint_id, in->endpoint_id,
	    sizeof(r->endpoint_id));
	r->ts_us = in->ts_us;
	r->method = scopy(&at, in->method, strlen(in->method));
	r->path = scopy(&at, in->path, strlen(in->path));
	r->query = scopy(&at, in->query, slen(in->query) ?
	    strlen(in->query) : 0);
	r->req_headers = scopy(&at, in->req_headers, strlen(in->req_headers));
	r->resp_headers = scopy(&at, in->resp_headers,
	    strlen(in->resp_headers));
	r->req_type = scopy(&at, in->req_type, slen(in->req_type) ?
	    strlen(in->req_type) : 0);
	r->resp_type = scopy(&at, in->resp_type, slen(in->resp_type) ?
	    strlen(in->resp_type) : 0);
	r->error = scopy(&at, in->error, slen(in->error) ?
	    strlen(in->error) : 0);
	r->req_body = scopy(&at, in->req_body != NULL ? in->req_body : "",
	    in->req_body_len);
	r->req_body_len = in->req_body_len;
	r->resp_body = scopy(&at, in->resp_body != NULL ? in->resp_body : "",
	    in->resp_body_len);
	r->resp_body_len = in->resp_body_len;
	r->status = in->status;
	r->duration_ms = in->duration_ms;
	r->req_size = in->req_size;
	r->resp_size = in->resp_size;
	r->req_truncated = in->req_truncated;
	r->resp_truncated = in->resp_truncated;
	r->redacted = in->redacted;

	if (capture_open == NULL && (capture_open = capture_batch_new()) ==
	    NULL) {
		free(r);
		stats.dropped++;
		return (-1);
	}
	TAILQ_INSERT_TAIL(&capture_open->recs, r, list);
	capture_open->rows++;
	capture_open->bytes += need;
	capture_buffered_bytes += need;
	stats.buffered++;

	if ((capture_open->rows >= cfg_batch &&
	    capture_inflight < cfg_inflight) ||
	    capture_open->rows >= cfg_batch_max) {
		capture_flush();
	} else if (!flush_armed) {
		flush_armed = 1;
		kore_timer_add(capture_flush_timer, cfg_flush_ms, NULL,
		    KORE_TIMER_ONESHOT);
	}
	return (0);
}

static void
capture_flush_timer(void *arg, u_int64_t now)
{
	flush_armed = 0;
	capture_kick();
}

/*
 * Writes what is waiting: the oldest queued batch first, and the open
 * batch once the queue is empty and a write slot is free. Otherwise the
 * open batch keeps collecting rows for the next write.
 */
static void
capture_kick(void)
{
	if (TAILQ_EMPTY(&capture_pending) && capture_open != NULL &&
	    capture_open->rows > 0 && capture_inflight < cfg_inflight &&
	    !retry_armed)
		capture_flush();
	else
		capture_pump();
}

/* Closes the open batch and queues it for writing. */
static void
capture_flush(void)
{
	if (capture_open == NULL || capture_open->rows == 0)
		return;
	TAILQ_INSERT_TAIL(&capture_pending, capture_open, list);
	capture_open = NULL;
	capture_pump();
}

static void
capture_pump(void)
{
	struct capture_batch	*b;

	while (!retry_armed && capture_inflight < cfg_inflight &&
	    (b = TAILQ_FIRST(&capture_pending)) != NULL) {
		TAILQ_REMOVE(&capture_pending, b, list);
		db_call_clear(&b->db);
		if (capture_params(b, &b->db) == -1) {
			/* Out of memory building the arrays: try later. */
			TAILQ_INSERT_HEAD(&capture_pending, b, list);
			retry_armed = 1;
			kore_timer_add(capture_retry_timer, 100, NULL,
			    KORE_TIMER_ONESHOT);
			return;
		}
		capture_inflight++;
		TAILQ_INSERT_TAIL(&capture_running, b, list);
		db_start(&b->db, capture_sql, capture_done, b);
	}
}

static void
capture_retry_timer(void *arg, u_int64_t now)
{
	retry_armed = 0;
	capture_kick();
}

static void
capture_done(struct db_call *c, void *arg)
{
	struct capture_batch	*b = arg;
	struct jw		*j;

	capture_inflight--;
	TAILQ_REMOVE(&capture_running, b, list);

	if (!db_failed(c)) {
		stats.captured += b->rows;
		if (metrics != NULL)
			metrics_add(&metrics->capture_written, b->rows);
		if (outage_logged) {
			outage_logged = 0;
			log_msg(LOG_LVL_INFO, "capture.recovered", NULL,
			    "captured calls are being written again");
		}
		retry_delay = 0;
		capture_batch_free(b);
		capture_kick();
		return;
	}

	stats.failures++;
	if (metrics != NULL)
		metrics_add(&metrics->capture_failures, 1);
	if (capture_transient(c->sqlstate)) {
		if (!outage_logged &&
		    (j = log_begin(LOG_LVL_WARN, "capture.retry", NULL)) !=
		    NULL) {
			jw_str(j, "sqlstate", c->sqlstate);
			jw_str(j, "error", c->error);
			jw_int(j, "bufferedRows", (int64_t)stats.buffered);
			log_end(j);
			outage_logged = 1;
		}
		TAILQ_INSERT_HEAD(&capture_pending, b, list);
		retry_delay = retry_delay == 0 ? 100 : retry_delay * 2;
		if (retry_delay > 5000)
			retry_delay = 5000;
		if (!retry_armed) {
			retry_armed = 1;
			kore_timer_add(capture_retry_timer, retry_delay, NULL,
			    KORE_TIMER_ONESHOT);
		}
		return;
	}

	/* The data itself was refused: isolate the row at fault. */
	if (b->rows > 1)
		capture_split(b);
	else
		capture_drop(b, c->error);
	capture_pump();
}

/* Connection failures, shutdowns, deadlocks, shortages: worth a retry. */
static int
capture_transient(const char *st)
{
	return (st[0] == '\0' || strncmp(st, "08", 2) == 0 ||
	    strncmp(st, "57", 2) == 0 || strncmp(st, "53", 2) == 0 ||
	    strncmp(st, "40", 2) == 0 || strncmp(st, "55", 2) == 0 ||
	    strncmp(st, "58", 2) == 0 || strcmp(st, "XX000") == 0);
}

/* Replaces a refused batch with one batch per row, at the queue's head. */
static void
capture_split(struct capture_batch *b)
{
	struct capture_rec	*r;
	struct capture_batch	*one;

	while ((r = TAILQ_LAST(&b->recs, capture_recs)) != NULL) {
		if ((one = capture_batch_new()) == NULL)
			break;
		TAILQ_REMOVE(&b->recs, r, list);
		TAILQ_INSERT_TAIL(&one->recs, r, list);
		one->rows = 1;
		one->bytes = r->bytes;
		TAILQ_INSERT_HEAD(&capture_pending, one, list);
	}
	capture_batch_free(b);
}

static void
capture_drop(struct capture_batch *b, const char *why)
{
	struct capture_rec	*r;
	struct jw		*j;

	TAILQ_FOREACH(r, &b->recs, list) {
		stats.dropped++;
		if (metrics != NULL)
			metrics_add(&metrics->capture_dropped, 1);
		if ((j = log_begin(LOG_LVL_ERROR, "capture.refused", NULL)) !=
		    NULL) {
			jw_str(j, "endpointId", r->endpoint_id);
			jw_str(j, "method", r->method);
			jw_str(j, "error", why);
			log_end(j);
		}
	}
	capture_batch_free(b);
}

static void
arr_init(struct arr *a, uint32_t oid, size_t hint)
{
	memset(a, 0, sizeof(*a));
	a->oid = oid;
	a->cap = hint + 64;
	if ((a->buf = malloc(a->cap)) == NULL)
		a->err = 1;
	a->len = 20;		/* the header, written by arr_finish */
}

static void
arr_add(struct arr *a, const void *p, int32_t len)
{
	uint32_t	 be;
	size_t		 need, ncap;
	char		*nb;

	if (a->err)
		return;
	need = 4 + (len > 0 ? (size_t)len : 0);
	if (a->len + need > a->cap) {
		ncap = a->cap * 2;
		while (ncap < a->len + need)
			ncap *= 2;
		if ((nb = realloc(a->buf, ncap)) == NULL) {
			a->err = 1;
			return;
		}
		a->buf = nb;
		a->cap = ncap;
	}
	be = htonl((uint32_t)len);
	memcpy(a->buf + a->len, &be, 4);
	a->len += 4;
	if (len > 0) {
		memcpy(a->buf + a->len, p, (size_t)len);
		a->len += (size_t)len;
	}
	if (len < 0)
		a->hasnull = 1;
	a->n++;
}

static void
arr_text(struct arr *a, const char *s)
{
	arr_add(a, s, s != NULL ? (int32_t)strlen(s) : -1);
}

static void
arr_int4(struct arr *a, int32_t v)
{
	uint32_t	be = htonl((uint32_t)v);

	arr_add(a, &be, 4);
}

static void
arr_int8(struct arr *a, int64_t v)
{
	uint32_t	be[2];

	be[0] = htonl((uint32_t)((uint64_t)v >> 32));
	be[1] = htonl((uint32_t)((uint64_t)v & 0xffffffff));
	arr_add(a, be, 8);
}

/* A UUID's sixteen bytes from its text form (checked by the proxy). */
static void
arr_uuid(struct arr *a, const char *text)
{
	unsigned char	 raw[16];
	const char	*p;
	int		 i, hi, lo;

	for (p = text, i = 0; i < 16 && *p != '\0'; p++) {
		if (*p == '-')
			continue;
		hi = secret_hexdigit(p[0]);
		lo = secret_hexdigit(p[1]);
		if (hi < 0 || lo < 0)
			break;
		raw[i++] = (unsigned char)(hi << 4 | lo);
		p++;
	}
	if (i != 16) {
		a->err = 1;
		return;
	}
	arr_add(a, raw, 16);
}

static void
arr_bool(struct arr *a, int v)
{
	char	b = v ? 1 : 0;

	arr_add(a, &b, 1);
}

/* Writes PostgreSQL's binary array header: one dimension from 1. */
static int
arr_finish(struct arr *a, struct db_call *c)
{
	uint32_t	hdr[5];

	if (a->err) {
		free(a->buf);
		return (-1);
	}
	hdr[0] = htonl(1);
	hdr[1] = htonl((uint32_t)a->hasnull);
	hdr[2] = htonl(a->oid);
	hdr[3] = htonl((uint32_t)a->n);
	hdr[4] = htonl(1);
	memcpy(a->buf, hdr, sizeof(hdr));
	return (db_param_take(c, a->buf, a->len));
}

/* The nineteen column arrays of capture_insert(), in its order. */
static int
capture_params(struct capture_batch *b, struct db_call *c)
{
	static const uint32_t	 oids[CAPTURE_COLUMNS] = {
		OID_UUID, OID_TIMESTAMPTZ, OID_TEXT, OID_TEXT, OID_TEXT,
		OID_TEXT,
		OID_BYTEA, OID_TEXT, OID_INT4, OID_TEXT, OID_BYTEA, OID_TEXT,
		OID_INT4, OID_INT8, OID_INT8, OID_BOOL, OID_BOOL, OID_BOOL,
		OID_TEXT
	};
	struct arr		 a[CAPTURE_COLUMNS];
	struct capture_rec	*r;
	size_t			 hint;
	int			 i, rc;

	for (i = 0; i < CAPTURE_COLUMNS; i++) {
		hint = b->rows * 16;
		if (oids[i] == OID_BYTEA || i == 5 || i == 9)
			hint = b->bytes;
		arr_init(&a[i], oids[i], hint);
	}

	TAILQ_FOREACH(r, &b->recs, list) {
		arr_uuid(&a[0], r->endpoint_id);
		arr_int8(&a[1], r->ts_us - PG_EPOCH_US);
		arr_text(&a[2], r->method);
		arr_text(&a[3], r->path);
		arr_text(&a[4], r->query);
		arr_text(&a[5], r->req_headers);
		arr_add(&a[6], r->req_body, r->req_body_len > 0 ?
		    (int32_t)r->req_body_len : -1);
		arr_text(&a[7], r->req_type);
		if (r->status > 0)
			arr_int4(&a[8], r->status);
		else
			arr_add(&a[8], NULL, -1);
		arr_text(&a[9], r->resp_headers);
		arr_add(&a[10], r->resp_body, r->resp_body_len > 0 ?
		    (int32_t)r->resp_body_len : -1);
		arr_text(&a[11], r->resp_type);
		arr_int4(&a[12], r->duration_ms);
		arr_int8(&a[13], r->req_size);
		arr_int8(&a[14], r->resp_size);
		arr_bool(&a[15], r->req_truncated);
		arr_bool(&a[16], r->resp_truncated);
		arr_bool(&a[17], r->redacted);
		arr_text(&a[18], r->error);
	}

	rc = 0;
	for (i = 0; i < CAPTURE_COLUMNS; i++) {
		if (rc == 0) {
			if (arr_finish(&a[i], c) == -1)
				rc = -1;
		} else {
			free(a[i].buf);
		}
	}
	return (rc);
}

/*
 * SIGTERM: write everything still in memory before the worker exits. The
 * event loop has stopped, so this blocks, which is fine at this point.
 */
void
capture_shutdown(void)
{
	struct capture_batch	*b;
	struct pgsql_conn	*pc;
	PGresult		*res;
	int			 ok;

	if (capture_open != NULL && capture_open->rows > 0) {
		TAILQ_INSERT_TAIL(&capture_pending, capture_open, list);
		capture_open = NULL;
	}

	/*
	 * A write already sent finishes on the server whatever happens to
	 * us; wait for its answer so its rows are neither lost nor written
	 * twice. A write never sent goes back to the queue.
	 */
	while ((b = TAILQ_FIRST(&capture_running)) != NULL) {
		TAILQ_REMOVE(&capture_running, b, list);
		capture_inflight--;
		pc = b->db.state == DB_RUNNING ? b->db.sql.conn : NULL;
		ok = b->db.state == DB_FINISHED && !db_failed(&b->db);
		if (pc != NULL && b->db.sql.state == KORE_PGSQL_STATE_WAIT) {
			ok = 1;
			while ((res = PQgetResult(pc->db)) != NULL) {
				if (PQresultStatus(res) != PGRES_TUPLES_OK)
					ok = 0;
				PQclear(res);
			}
		}
		if (ok) {
			stats.captured += b->rows;
			capture_batch_free(b);
		} else {
			TAILQ_INSERT_HEAD(&capture_pending, b, list);
		}
	}
	capture_write_sync();
}

static void
capture_write_sync(void)
{
	struct capture_batch	*b;
	struct db_call		 call;
	struct jw		*j;
	PGconn			*conn;
	PGresult		*res;
	size_t			 written, lost;

	written = lost = 0;
	conn = TAILQ_EMPTY(&capture_pending) ? NULL :
	    PQconnectdb(app_cfg.database_url);
	while ((b = TAILQ_FIRST(&capture_pending)) != NULL) {
		TAILQ_REMOVE(&capture_pending, b, list);
		db_call_init(&call);
		if (PQstatus(conn) != CONNECTION_OK ||
		    capture_params(b, &call) == -1) {
			lost += b->rows;
		} else {
			res = PQexecParams(conn, capture_sql, call.nparams,
			    NULL, (const char * const *)(void *)call.values,
			    call.lengths, call.formats, 0);
			if (PQresultStatus(res) == PGRES_TUPLES_OK)
				written += b->rows;
			else
				lost += b->rows;
			PQclear(res);
		}
		db_call_clear(&call);
		capture_batch_free(b);
	}
	if (conn != NULL)
		PQfinish(conn);

	if ((j = log_begin(lost ? LOG_LVL_ERROR : LOG_LVL_INFO,
	    "capture.shutdown", NULL)) != NULL) {
		jw_int(j, "written", (int64_t)written);
		jw_int(j, "lost", (int64_t)lost);
		log_end(j);
	}
}
