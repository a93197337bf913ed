/*
 * Asynchronous PostgreSQL queries on top of Kore's pgsql layer.
 *
 * Kore reports a query's progress as states (waiting, a result, an error,
 * done). db_advance() walks those states for one call until the call has
 * finished, keeping the last result and any error with its SQLSTATE, so
 * callers only ever see "still running" or "finished".
 *
 * Two ways of waiting exist. A call bound to an HTTP request is advanced
 * by the request's handler each time Kore wakes it (db_pump). A call with
 * a callback is advanced from Kore's pgsql callback; when it finishes, the
 * caller's callback is not run from inside Kore's pgsql code but from a
 * zero-delay timer, so callers may free the call or start new queries
 * without re-entering Kore's state machine.
 *
 * Connections that PostgreSQL closed (a restart, a crash) are dropped from
 * Kore's pool when an error shows them broken, so the next query opens a
 * fresh one instead of failing forever on a dead socket.
 */

#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/pgsql.h>

#include "app.h"
#include "db.h"
#include "log.h"

static int	db_send(struct db_call *);
static void	db_notice(void *, const char *);
static int	db_advance(struct db_call *);
static int	db_take_error(struct db_call *);
static void	db_sql_cb(struct kore_pgsql *, void *);
static void	db_run_finished(void *, u_int64_t);

struct db_listener {
	struct kore_pgsql	 sql;
	TAILQ_ENTRY(db_listener) list;
	char			 query[96];
	db_notify_cb		 cb;
	db_notify_cb		 lost;
	void			*arg;
	int			 retry_armed;
};

static void	db_listen_start(struct db_listener *);
static void	db_listen_cb(struct kore_pgsql *, void *);
static void	db_listen_retry(void *, u_int64_t);

static void	db_finish_bg(struct db_call *);
static void	db_sweep(void *, u_int64_t);

static TAILQ_HEAD(, db_call)	db_finished;
static TAILQ_HEAD(, db_call)	db_running;
static TAILQ_HEAD(, db_listener) db_listeners;
static int			db_timer_armed;

void
db_init(void)
{
	TAILQ_INIT(&db_finished);
	TAILQ_INIT(&db_running);
	TAILQ_INIT(&db_listeners);
	db_timer_armed = 0;
	kore_timer_add(db_sweep, 1000, NULL, 0);
}

/*
 * Kore drops a connection whose socket reports an error without telling
 * a callback-bound query or listener. Once a second, calls and listeners
 * left without a connection are finished with an error or restarted.
 */
static void
db_sweep(void *arg, u_int64_t now)
{
	struct db_call		*c, *next;
	struct db_listener	*l;

	for (c = TAILQ_FIRST(&db_running); c != NULL; c = next) {
		next = TAILQ_NEXT(c, rlist);
		if (c->sql.state == KORE_PGSQL_STATE_ERROR &&
		    c->sql.conn == NULL && db_advance(c))
			db_finish_bg(c);
	}

	TAILQ_FOREACH(l, &db_listeners, list) {
		if (l->sql.state == KORE_PGSQL_STATE_ERROR &&
		    l->sql.conn == NULL && !l->retry_armed)
			db_listen_cb(&l->sql, l);
	}
}

/* Queues a finished callback-bound call for the zero-delay timer. */
static void
db_finish_bg(struct db_call *c)
{
	TAILQ_REMOVE(&db_running, c, rlist);
	TAILQ_INSERT_TAIL(&db_finished, c, list);
	if (!db_timer_armed) {
		db_timer_armed = 1;
		kore_timer_add(db_run_finished, 0, NULL, KORE_TIMER_ONESHOT);
	}
}

void
db_call_init(struct db_call *c)
{
	memset(c, 0, sizeof(*c));
	c->state = DB_IDLE;
}

/* Frees what the call owns; it must not be running on a callback. */
void
db_call_clear(struct db_call *c)
{
	int	i;

	if (c->state == DB_RUNNING && c->req != NULL)
		kore_pgsql_cleanup(&c->sql);

	for (i = 0; i < c->nparams; i++)
		free(c->values[i]);
	if (c->res != NULL)
		PQclear(c->res);
	free(c->error);

	db_call_init(c);
}

/* A text parameter; NULL is SQL NULL. The string is copied. */
int
db_param_text(struct db_call *c, const char *s)
{
	if (c->nparams >= DB_MAX_PARAMS)
		return (-1);
	if (s != NULL && (c->values[c->nparams] = strdup(s)) == NULL)
		return (-1);
	c->lengths[c->nparams] = s != NULL ? (int)strlen(s) : 0;
	c->formats[c->nparams] = 0;
	c->nparams++;
	return (0);
}

/* A binary parameter the call takes over (malloc'd; freed with it). */
int
db_param_take(struct db_call *c, void *p, size_t len)
{
	if (c->nparams >= DB_MAX_PARAMS || len > INT32_MAX) {
		free(p);
		return (-1);
	}
	c->values[c->nparams] = p;
	c->lengths[c->nparams] = (int)len;
	c->formats[c->nparams] = 1;
	c->nparams++;
	return (0);
}

/* A binary parameter (bytea, or an array in binary form), copied. */
int
db_param_bin(struct db_call *c, const void *p, size_t len)
{
	if (c->nparams >= DB_MAX_PARAMS || len > INT32_MAX)
		return (-1);
	if ((c->values[c->nparams] = malloc(len ? len : 1)) == NULL)
		return (-1);
	if (len > 0)
		memcpy(c->values[c->nparams], p, len);
	c->lengths[c->nparams] = (int)len;
	c->formats[c->nparams] = 1;
	c->nparams++;
	return (0);
}

void
db_start_request(struct db_call *c, struct http_request *req,
    const char *query)
{
	if (c->res != NULL) {
		PQclear(c->res);
		c->res = NULL;
	}
	free(c->error);
	c->error = NULL;
	c->sqlstate[0] = '\0';

	c->query = query;
	c->req = req;
	c->state = DB_RUNNING;

	kore_pgsql_init(&c->sql);
	kore_pgsql_bind_request(&c->sql, req);
	(void)db_advance(c);
}

/* Advances a request-bound call; returns 1 once it has finished. */
int
db_pump(struct db_call *c)
{
	if (c->state == DB_RUNNING)
		(void)db_advance(c);
	return (c->state == DB_FINISHED);
}

/*
 * Starts a call whose callback runs once it has finished. The call must
 * stay allocated until then; the callback may free it.
 */
void
db_start(struct db_call *c, const char *query, db_done_cb cb, void *arg)
{
	c->query = query;
	c->cb = cb;
	c->arg = arg;
	c->req = NULL;
	c->state = DB_RUNNING;

	kore_pgsql_init(&c->sql);
	kore_pgsql_bind_callback(&c->sql, db_sql_cb, c);
	TAILQ_INSERT_TAIL(&db_running, c, rlist);
	if (db_advance(c))
		db_finish_bg(c);
}

/* Server notices go to the log at DEBUG, not to standard error. */
static void
db_notice(void *arg, const char *msg)
{
	log_msg(LOG_LVL_DEBUG, "db.notice", NULL, msg);
}

/* Returns -1 on an immediate error, 0 when sent or queued for a slot. */
static int
db_send(struct db_call *c)
{
	if (!kore_pgsql_setup(&c->sql, APP_DB, KORE_PGSQL_ASYNC)) {
		if (c->sql.state == KORE_PGSQL_STATE_INIT)
			return (0);
		return (-1);
	}

	PQsetNoticeProcessor(c->sql.conn->db, db_notice, NULL);
	c->sent = 0;
	if (!kore_pgsql_query_param_fields(&c->sql, c->query, 0, c->nparams,
	    (const char **)(void *)c->values, c->lengths, c->formats))
		return (-1);
	c->sent = 1;

	return (0);
}

/* Keeps the error; returns 1 when the connection itself was broken. */
static int
db_take_error(struct db_call *c)
{
	struct pgsql_conn	*conn;
	const char		*msg, *state;

	free(c->error);
	c->error = NULL;
	c->sqlstate[0] = '\0';

	msg = NULL;
	if (c->sql.result != NULL) {
		msg = PQresultErrorField(c->sql.result,
		    PG_DIAG_MESSAGE_PRIMARY);
		state = PQresultErrorField(c->sql.result, PG_DIAG_SQLSTATE);
		if (state != NULL)
			(void)kore_strlcpy(c->sqlstate, state,
			    sizeof(c->sqlstate));
	}
	if (msg == NULL)
		msg = c->sql.error != NULL ? c->sql.error : "database error";
	c->error = strdup(msg);
	if (c->sqlstate[0] == '\0')
		(void)kore_strlcpy(c->sqlstate, "08000", sizeof(c->sqlstate));

	/*
	 * A connection PostgreSQL has closed must not go back to the pool.
	 * A server that shut down tells its idle connections so (57P01 and
	 * friends) before closing them; the query never ran.
	 */
	conn = c->sql.conn;
	if (conn != NULL && (PQstatus(conn->db) == CONNECTION_BAD ||
	    strncmp(c->sqlstate, "57P0", 4) == 0)) {
		kore_pgsql_handle(conn, 1);
		return (1);
	}

	/* Kore itself dropped the connection after the query went out. */
	return (conn == NULL && c->sent);
}

/*
 * Walks Kore's states for one call. Returns 1 when the call has finished
 * by this step (its result or error is in place), 0 while it waits.
 */
static int
db_advance(struct db_call *c)
{
	for (;;) {
		switch (c->sql.state) {
		case KORE_PGSQL_STATE_INIT:
			if (db_send(c) == -1)
				goto failed;
			if (c->sql.state == KORE_PGSQL_STATE_INIT ||
			    c->req == NULL)
				return (0);
			break;
		case KORE_PGSQL_STATE_WAIT:
			return (0);
		case KORE_PGSQL_STATE_RESULT:
			if (c->res != NULL)
				PQclear(c->res);
			c->res = c->sql.result;
			c->sql.result = NULL;
			kore_pgsql_continue(&c->sql);
			/* A callback-bound call moved on in the callback. */
			if (c->req == NULL)
				return (0);
			break;
		case KORE_PGSQL_STATE_ERROR:
			goto failed;
		case KORE_PGSQL_STATE_DONE:
		case KORE_PGSQL_STATE_COMPLETE:
			c->state = DB_FINISHED;
			kore_pgsql_cleanup(&c->sql);
			return (1);
		case KORE_PGSQL_STATE_NOTIFY:
			return (0);
		default:
			fatal("db_advance: unknown pgsql state %d",
			    c->sql.state);
		}
	}

failed:
	/*
	 * Pooled connections that PostgreSQL closed (a restart) fail the
	 * first query sent on them before the server ever saw it. Each such
	 * failure drops one dead connection; after at most a pool's worth of
	 * them the query goes out on a fresh one.
	 */
	if (db_take_error(c) && c->retried <= pgsql_conn_max) {
		c->retried++;
		free(c->error);
		c->error = NULL;
		c->sqlstate[0] = '\0';
		kore_pgsql_cleanup(&c->sql);
		kore_pgsql_init(&c->sql);
		if (c->req != NULL)
			kore_pgsql_bind_request(&c->sql, c->req);
		else
			kore_pgsql_bind_callback(&c->sql, db_sql_cb, c);
		return (db_advance(c));
	}
	if (c->res != NULL) {
		PQclear(c->res);
		c->res = NULL;
	}
	c->state = DB_FINISHED;
	kore_pgsql_cleanup(&c->sql);
	return (1);
}

static void
db_sql_cb(struct kore_pgsql *sql, void *arg)
{
	struct db_call	*c = arg;

	if (c->state != DB_RUNNING)
		return;

	if (db_advance(c))
		db_finish_bg(c);
}

static void
db_run_finished(void *unused, u_int64_t now)
{
	struct db_call	*c;

	db_timer_armed = 0;
	while ((c = TAILQ_FIRST(&db_finished)) != NULL) {
		TAILQ_REMOVE(&db_finished, c, list);
		c->cb(c, c->arg);
	}
}

int
db_failed(const struct db_call *c)
{
	return (c->error != NULL);
}

int
db_rows(const struct db_call *c)
{
	if (c->res == NULL)
		return (0);
	return (PQntuples(c->res));
}

const char *
db_value(const struct db_call *c, int row, int col)
{
	if (c->res == NULL || row >= PQntuples(c->res) ||
	    col >= PQnfields(c->res) || PQgetisnull(c->res, row, col))
		return (NULL);
	return (PQgetvalue(c->res, row, col));
}

int
db_length(const struct db_call *c, int row, int col)
{
	if (db_value(c, row, col) == NULL)
		return (0);
	return (PQgetlength(c->res, row, col));
}

int
db_isnull(const struct db_call *c, int row, int col)
{
	return (db_value(c, row, col) == NULL);
}

long long
db_int(const struct db_call *c, int row, int col)
{
	const char	*v;

	if ((v = db_value(c, row, col)) == NULL)
		return (0);
	return (strtoll(v, NULL, 10));
}

/*
 * LISTEN keeps its connection: once the command is done the connection is
 * neither continued nor released, so its socket stays in the event loop
 * and Kore hands each notification to db_listen_cb.
 */
void
db_listen(const char *channel, db_notify_cb cb, db_notify_cb lost, void *arg)
{
	struct db_listener	*l;

	l = kore_calloc(1, sizeof(*l));
	(void)snprintf(l->query, sizeof(l->query), "LISTEN %s", channel);
	l->cb = cb;
	l->lost = lost;
	l->arg = arg;
	TAILQ_INSERT_TAIL(&db_listeners, l, list);
	db_listen_start(l);
}

static void
db_listen_start(struct db_listener *l)
{
	kore_pgsql_init(&l->sql);
	kore_pgsql_bind_callback(&l->sql, db_listen_cb, l);
	if (!kore_pgsql_setup(&l->sql, APP_DB, KORE_PGSQL_ASYNC)) {
		if (l->sql.state == KORE_PGSQL_STATE_INIT)
			return;
		db_listen_cb(&l->sql, l);
		return;
	}
	PQsetNoticeProcessor(l->sql.conn->db, db_notice, NULL);
	if (!kore_pgsql_query(&l->sql, l->query))
		db_listen_cb(&l->sql, l);
}

static void
db_listen_cb(struct kore_pgsql *sql, void *arg)
{
	struct db_listener	*l = arg;
	struct pgsql_conn	*conn;

	switch (sql->state) {
	case KORE_PGSQL_STATE_INIT:
		/* Woken from Kore's queue of requests waiting for a slot. */
		db_listen_start(l);
		return;
	case KORE_PGSQL_STATE_NOTIFY:
		if (sql->notify.extra != NULL)
			l->cb(sql->notify.extra, l->arg);
		return;
	case KORE_PGSQL_STATE_ERROR:
		break;
	default:
		return;
	}

	/* The connection failed: forget it and try again in a second. */
	conn = sql->conn;
	if (conn != NULL && PQstatus(conn->db) == CONNECTION_BAD)
		kore_pgsql_handle(conn, 1);
	kore_pgsql_cleanup(sql);
	if (l->lost != NULL)
		l->lost(NULL, l->arg);
	if (!l->retry_armed) {
		l->retry_armed = 1;
		kore_timer_add(db_listen_retry, 1000, l, KORE_TIMER_ONESHOT);
	}
}

static void
db_listen_retry(void *arg, u_int64_t now)
{
	struct db_listener	*l = arg;

	l->retry_armed = 0;
	db_listen_start(l);
}
