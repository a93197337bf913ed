/*
 * The job queue's workers.
 *
 * The queue is the jobs table; its rules (claiming with FOR UPDATE SKIP
 * LOCKED, leases, attempts, backoff, burying) are SQL functions in
 * sql/004_jobs.sql. This file decides when a worker claims and runs what
 * it claimed.
 *
 * Each worker LISTENs on the "jobs" channel (enqueuing a job notifies
 * it) and also claims on a timer, which picks up delayed retries and
 * jobs whose lease ran out. JOB_CONCURRENCY jobs run at once per
 * instance, shared out between its workers, so a worker claims only as
 * many jobs as it has free slots.
 *
 * Jobs run in threads owned by this module, one per slot. Kore's own
 * task threads are not used for them: Kore hands each new task to the
 * next thread in turn whether or not it is busy, so a job running for
 * seconds would hold up every request task (password hashing at sign-in)
 * queued behind it. Each running job is still a struct kore_task bound to
 * a callback: when the job's thread finishes it, Kore's event loop calls
 * jobs_done(), which logs the outcome, frees the slot and claims again.
 *
 * A job thread talks to PostgreSQL through a libpq connection of its own
 * (never through Kore's pgsql layer) and renews its job's lease as it
 * works (jobs_beat). If this worker dies or the thread hangs, the lease
 * runs out and any worker's next claim takes the job back.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/syscall.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kore/kore.h>
#include <kore/tasks.h>

#include <jansson.h>

#include "app.h"
#include "db.h"
#include "jobs.h"
#include "log.h"

#define JOBS_QUEUES_MAX		4
#define JOBS_BEAT_MIN_MS	1000

struct jobs_queue {
	char		 name[32];
	jobs_fn		 fn;
};

/* One claimed job, from its claim until its thread has finished it. */
struct jobs_run {
	struct kore_task	 task;		/* first: handed back by Kore */
	struct jobs_job		 job;
	jobs_fn			 fn;
	uint64_t		 started;
	char			 endpoint[40];

	/* Filled by the thread before it finishes the task. */
	int			 rc;
	char			 fail[16];	/* retry, dead, lost, ... */
	int			 retry_in_ms;

	pid_t			 tid;		/* the thread running it */
	TAILQ_ENTRY(jobs_run)	 list;		/* waiting for a thread */
	TAILQ_ENTRY(jobs_run)	 alive;		/* claimed, not yet done */
};

static void	jobs_tick(void *, u_int64_t);
static void	jobs_claim(void);
static void	jobs_claimed(struct db_call *, void *);
static void	jobs_start(struct db_call *, int);
static void	jobs_notified(const char *, void *);
static void	jobs_done(struct kore_task *);
static int	jobs_task_unused(struct kore_task *);
static void	*jobs_thread(void *);
static void	jobs_execute(struct jobs_run *);
static void	jobs_record_failure(struct jobs_run *);
static int	jobs_free_slots(void);
static void	jobs_log_buried(int64_t, const char *, const char *,
		    const char *);
static void	jobs_check_threads(void);
static void	jobs_forget(struct jobs_run *);

static struct jobs_queue	jobs_queues[JOBS_QUEUES_MAX];
static int			jobs_nqueues;
static char			jobs_queue_list[160];	/* "{docs,...}" */

static char			jobs_worker[96];
static pid_t			jobs_parent;
static int			jobs_orphaned;
static int			jobs_slots;
static int			jobs_running;
static int			jobs_claiming;
static int			jobs_again;
static struct db_call		jobs_claim_db;

static pthread_mutex_t		jobs_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t		jobs_cond = PTHREAD_COND_INITIALIZER;
static TAILQ_HEAD(, jobs_run)	jobs_pending =
				    TAILQ_HEAD_INITIALIZER(jobs_pending);
static TAILQ_HEAD(, jobs_run)	jobs_active =
				    TAILQ_HEAD_INITIALIZER(jobs_active);
static int			jobs_threads;

/* Called before jobs_init() by each module that owns a queue. */
void
jobs_register(const char *queue, jobs_fn fn)
{
	struct jobs_queue	*q;

	if (jobs_nqueues >= JOBS_QUEUES_MAX)
		fatal("jobs_register: too many queues");
	q = &jobs_queues[jobs_nqueues++];
	if (kore_strlcpy(q->name, queue, sizeof(q->name)) >= sizeof(q->name))
		fatal("jobs_register: queue name too long");
	q->fn = fn;
}

/*
 * This worker's share of the instance's JOB_CONCURRENCY: worker N of W
 * gets C / W slots, plus one for the first C % W workers. With fewer
 * slots than workers some workers run no jobs at all.
 */
static int
jobs_share(void)
{
	int	workers, id, c;

	workers = worker_count - KORE_WORKER_BASE;
	if (workers < 1)
		workers = 1;
	id = worker != NULL ? worker->id - 1 : 0;
	c = app_cfg.job_concurrency;
	return (c / workers + (id % workers < c % workers ? 1 : 0));
}

void
jobs_init(void)
{
	size_t	off;
	int	i;

	jobs_slots = jobs_share();
	if (jobs_nqueues == 0 || jobs_slots == 0)
		return;
	jobs_parent = getppid();

	/*
	 * The name on this worker's leases. The pid alone is not unique
	 * across hosts (containers number their processes alike), and a
	 * stopping worker releases every job under its name.
	 */
	(void)snprintf(jobs_worker, sizeof(jobs_worker), "%s:%08x",
	    app_instance, arc4random());

	off = 0;
	jobs_queue_list[off++] = '{';
	for (i = 0; i < jobs_nqueues; i++) {
		off += (size_t)snprintf(jobs_queue_list + off,
		    sizeof(jobs_queue_list) - off, "%s%s", i ? "," : "",
		    jobs_queues[i].name);
	}
	(void)kore_strlcpy(jobs_queue_list + off, "}",
	    sizeof(jobs_queue_list) - off);

	db_listen("jobs", jobs_notified, NULL, NULL);
	kore_timer_add(jobs_tick, (u_int64_t)app_cfg.job_poll_ms, NULL, 0);
	kore_timer_add(jobs_tick, 0, NULL, KORE_TIMER_ONESHOT);
}

/*
 * On SIGTERM: the jobs this worker is running go back to the queue at
 * once, without counting the interrupted attempt, instead of waiting for
 * their leases to run out. The threads die with the process.
 */
void
jobs_teardown(void)
{
	PGconn		*pg;
	PGresult	*res;
	const char	*params[1];

	if (jobs_running == 0)
		return;
	if ((pg = jobs_pg_connect("apiscribe-jobs-release")) == NULL)
		return;
	params[0] = jobs_worker;
	res = PQexecParams(pg, "SELECT jobs_release($1)", 1, NULL, params,
	    NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK &&
	    atoi(PQgetvalue(res, 0, 0)) > 0)
		log_msg(LOG_LVL_INFO, "job.released", NULL,
		    "running jobs were put back in the queue at shutdown");
	PQclear(res);
	PQfinish(pg);
}

/*
 * Kore's workers notice a dead parent through a socket that their
 * siblings also hold open, so after a SIGKILL of the parent they may
 * live on. A worker without its parent takes no more jobs and stops.
 */
static void
jobs_tick(void *arg, u_int64_t now)
{
	if (getppid() != jobs_parent) {
		if (!jobs_orphaned) {
			jobs_orphaned = 1;
			log_msg(LOG_LVL_WARN, "job.orphaned", NULL,
			    "the server's parent process is gone; this worker "
			    "takes no more jobs and stops");
			(void)kill(getpid(), SIGQUIT);
		}
		return;
	}
	jobs_check_threads();
	jobs_claim();
}

/*
 * A job thread that makes a system call the sandbox forbids is killed on
 * its own, silently, taking its job with it. The job comes back once its
 * lease runs out; here the slot comes back too, with an ERROR line.
 */
static void
jobs_check_threads(void)
{
	struct jobs_run	*r, *next;
	struct jw	*j;
	pid_t		 tid;

	for (r = TAILQ_FIRST(&jobs_active); r != NULL; r = next) {
		next = TAILQ_NEXT(r, alive);
		pthread_mutex_lock(&jobs_lock);
		tid = r->tid;
		pthread_mutex_unlock(&jobs_lock);
		if (tid == 0 || syscall(SYS_tgkill, getpid(), tid, 0) == 0 ||
		    errno != ESRCH)
			continue;

		if ((j = log_begin(LOG_LVL_ERROR, "job.thread_died", NULL))) {
			jw_int(j, "jobId", r->job.id);
			jw_str(j, "queue", r->job.queue);
			if (r->endpoint[0] != '\0')
				jw_str(j, "endpointId", r->endpoint);
			jw_str(j, "cause", "the job's thread was killed, "
			    "perhaps by the sandbox; its lease will run out");
			log_end(j);
		}
		pthread_mutex_lock(&jobs_lock);
		jobs_threads--;
		pthread_mutex_unlock(&jobs_lock);
		jobs_forget(r);
	}
}

/* Frees a job's slot and memory; its thread is done with it. */
static void
jobs_forget(struct jobs_run *r)
{
	TAILQ_REMOVE(&jobs_active, r, alive);
	kore_task_destroy(&r->task);
	free(r->job.payload);
	free(r);
	jobs_running--;
}

static void
jobs_notified(const char *payload, void *arg)
{
	if (jobs_free_slots() > 0 && !jobs_orphaned)
		jobs_claim();
}

static int
jobs_free_slots(void)
{
	return (jobs_slots - jobs_running);
}

/*
 * One claim at a time per worker; a wake-up during a claim asks for
 * another once it has finished. With no free slot the claim still takes
 * back jobs whose lease ran out, for other workers to run.
 */
static void
jobs_claim(void)
{
	char	limit[16], lease[16];

	if (jobs_claiming) {
		jobs_again = 1;
		return;
	}
	jobs_claiming = 1;
	jobs_again = 0;

	(void)snprintf(limit, sizeof(limit), "%d", jobs_free_slots());
	(void)snprintf(lease, sizeof(lease), "%d", app_cfg.job_lease);
	db_call_init(&jobs_claim_db);
	if (db_param_text(&jobs_claim_db, jobs_queue_list) == -1 ||
	    db_param_text(&jobs_claim_db, jobs_worker) == -1 ||
	    db_param_text(&jobs_claim_db, limit) == -1 ||
	    db_param_text(&jobs_claim_db, lease) == -1) {
		db_call_clear(&jobs_claim_db);
		jobs_claiming = 0;
		return;
	}
	db_start(&jobs_claim_db,
	    "SELECT job_id, job_queue, job_payload::text, job_attempt, "
	    "    job_max_attempts, outcome, error, "
	    "    job_payload->>'endpointId' "
	    "FROM jobs_claim($1::text[], $2, $3::int, $4::int)",
	    jobs_claimed, NULL);
}

static void
jobs_claimed(struct db_call *c, void *arg)
{
	struct jw	*j;
	const char	*outcome;
	int		 i;

	if (db_failed(c)) {
		log_msg(LOG_LVL_WARN, "job.claim_failed", NULL, c->error);
	} else {
		for (i = 0; i < db_rows(c); i++) {
			outcome = db_value(c, i, 5);
			if (strcmp(outcome, "run") == 0) {
				jobs_start(c, i);
			} else if (strcmp(outcome, "dead") == 0) {
				jobs_log_buried(db_int(c, i, 0),
				    db_value(c, i, 1), db_value(c, i, 7),
				    db_value(c, i, 6));
			} else if ((j = log_begin(LOG_LVL_WARN,
			    "job.lease_expired", NULL)) != NULL) {
				jw_int(j, "jobId", db_int(c, i, 0));
				jw_str(j, "queue", db_value(c, i, 1));
				if (!db_isnull(c, i, 7))
					jw_str(j, "endpointId",
					    db_value(c, i, 7));
				jw_int(j, "attempt", db_int(c, i, 3));
				jw_str(j, "cause", db_value(c, i, 6));
				log_end(j);
			}
		}
	}
	db_call_clear(c);
	jobs_claiming = 0;

	if (jobs_again && jobs_free_slots() > 0 && !jobs_orphaned)
		jobs_claim();
}

/* The one ERROR line for a job that has failed for the last time. */
static void
jobs_log_buried(int64_t id, const char *queue, const char *endpoint,
    const char *cause)
{
	struct jw	*j;

	if ((j = log_begin(LOG_LVL_ERROR, "job.failed", NULL)) == NULL)
		return;
	jw_int(j, "jobId", id);
	jw_str(j, "queue", queue);
	if (endpoint != NULL)
		jw_str(j, "endpointId", endpoint);
	jw_str(j, "cause", cause);
	log_end(j);
}

static int
jobs_task_unused(struct kore_task *t)
{
	return (KORE_RESULT_ERROR);
}

static void
jobs_start(struct db_call *c, int row)
{
	struct jobs_run		*r;
	pthread_t		 tid;
	pthread_attr_t		 attr;
	int			 i;

	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->job.payload = strdup(db_value(c, row, 2))) == NULL) {
		/* The lease runs out and the job is claimed again. */
		free(r);
		log_msg(LOG_LVL_ERROR, "job.start_failed", NULL,
		    "out of memory");
		return;
	}
	r->job.id = db_int(c, row, 0);
	(void)kore_strlcpy(r->job.queue, db_value(c, row, 1),
	    sizeof(r->job.queue));
	r->job.attempt = (int)db_int(c, row, 3);
	r->job.max_attempts = (int)db_int(c, row, 4);
	r->job.worker = jobs_worker;
	if (!db_isnull(c, row, 7))
		(void)kore_strlcpy(r->endpoint, db_value(c, row, 7),
		    sizeof(r->endpoint));
	r->started = kore_time_ms();
	for (i = 0; i < jobs_nqueues; i++) {
		if (strcmp(jobs_queues[i].name, r->job.queue) == 0)
			r->fn = jobs_queues[i].fn;
	}

	kore_task_create(&r->task, jobs_task_unused);
	kore_task_bind_callback(&r->task, jobs_done);
	kore_platform_schedule_read(r->task.fds[0], &r->task);
	TAILQ_INSERT_TAIL(&jobs_active, r, alive);
	jobs_running++;

	pthread_mutex_lock(&jobs_lock);
	TAILQ_INSERT_TAIL(&jobs_pending, r, list);
	if (jobs_threads < jobs_slots) {
		if (pthread_attr_init(&attr) != 0 ||
		    pthread_attr_setdetachstate(&attr,
		    PTHREAD_CREATE_DETACHED) != 0 ||
		    pthread_create(&tid, &attr, jobs_thread, NULL) != 0)
			fatal("jobs: cannot start a job thread");
		(void)pthread_attr_destroy(&attr);
		jobs_threads++;
	}
	pthread_cond_signal(&jobs_cond);
	pthread_mutex_unlock(&jobs_lock);

	if (log_enabled(LOG_LVL_DEBUG)) {
		struct jw	*j;

		if ((j = log_begin(LOG_LVL_DEBUG, "job.started", NULL))) {
			jw_int(j, "jobId", r->job.id);
			jw_str(j, "queue", r->job.queue);
			jw_int(j, "attempt", r->job.attempt);
			log_end(j);
		}
	}
}

/* Runs in the event loop once a job's thread has finished with it. */
static void
jobs_done(struct kore_task *t)
{
	struct jobs_run		*r = (struct jobs_run *)t;
	struct jw		*j;
	int64_t			 ms;

	if (kore_task_state(t) != KORE_TASK_STATE_FINISHED)
		return;

	ms = (int64_t)(kore_time_ms() - r->started);
	if (r->rc == JOBS_DONE) {
		if ((j = log_begin(LOG_LVL_INFO, "job.completed", NULL))) {
			jw_int(j, "jobId", r->job.id);
			jw_str(j, "queue", r->job.queue);
			if (r->endpoint[0] != '\0')
				jw_str(j, "endpointId", r->endpoint);
			jw_int(j, "attempt", r->job.attempt);
			jw_int(j, "durationMs", ms);
			if (r->job.note[0] != '\0')
				jw_raw(j, "result", r->job.note,
				    strlen(r->job.note));
			log_end(j);
		}
	} else if (strcmp(r->fail, "dead") == 0) {
		/* The one ERROR line, with the job, endpoint and cause. */
		jobs_log_buried(r->job.id, r->job.queue,
		    r->endpoint[0] ? r->endpoint : NULL, r->job.error);
	} else if ((j = log_begin(LOG_LVL_WARN, strcmp(r->fail, "retry") ?
	    "job.abandoned" : "job.retry", NULL)) != NULL) {
		jw_int(j, "jobId", r->job.id);
		jw_str(j, "queue", r->job.queue);
		if (r->endpoint[0] != '\0')
			jw_str(j, "endpointId", r->endpoint);
		jw_int(j, "attempt", r->job.attempt);
		jw_int(j, "durationMs", ms);
		jw_str(j, "outcome", r->fail);
		if (strcmp(r->fail, "retry") == 0)
			jw_int(j, "retryInMs", r->retry_in_ms);
		jw_str(j, "cause", r->job.error[0] ? r->job.error :
		    "the job's lease was lost");
		log_end(j);
	}

	jobs_forget(r);
	if (jobs_free_slots() > 0 && !jobs_orphaned)
		jobs_claim();
}

static void *
jobs_thread(void *arg)
{
	struct jobs_run	*r;
	sigset_t	 all;
	pid_t		 tid;

	/* Signals are the event loop's business. */
	(void)sigfillset(&all);
	(void)pthread_sigmask(SIG_BLOCK, &all, NULL);
	tid = (pid_t)syscall(SYS_gettid);

	for (;;) {
		pthread_mutex_lock(&jobs_lock);
		while (TAILQ_EMPTY(&jobs_pending))
			pthread_cond_wait(&jobs_cond, &jobs_lock);
		r = TAILQ_FIRST(&jobs_pending);
		TAILQ_REMOVE(&jobs_pending, r, list);
		r->tid = tid;
		pthread_mutex_unlock(&jobs_lock);

		jobs_execute(r);

		/* The event loop may free r from here on. */
		kore_task_finish(&r->task);
	}

	return (NULL);
}

static void
jobs_execute(struct jobs_run *r)
{
	struct jobs_job	*j = &r->job;

	(void)kore_strlcpy(r->fail, "unrecorded", sizeof(r->fail));
	if ((j->pg = jobs_pg_connect("apiscribe-job")) == NULL) {
		r->rc = JOBS_FAILED;
		jobs_errorf(j, "the database cannot be reached");
		return;
	}
	j->last_beat = kore_time_ms();

	if (r->fn == NULL) {
		jobs_errorf(j, "no worker handles the queue %s", j->queue);
		j->final = 1;
		r->rc = JOBS_FAILED;
	} else {
		r->rc = r->fn(j);
	}

	if (r->rc == JOBS_FAILED)
		jobs_record_failure(r);
	else if (r->rc == JOBS_LOST)
		(void)kore_strlcpy(r->fail, "lost", sizeof(r->fail));

	PQfinish(j->pg);
	j->pg = NULL;
}

static void
jobs_record_failure(struct jobs_run *r)
{
	struct jobs_job	*j = &r->job;
	PGresult	*res;
	const char	*p[6];
	char		 id[24], attempt[16], backoff[16];

	(void)snprintf(id, sizeof(id), "%lld", (long long)j->id);
	(void)snprintf(attempt, sizeof(attempt), "%d", j->attempt);
	(void)snprintf(backoff, sizeof(backoff), "%d", app_cfg.job_backoff_ms);
	p[0] = id;
	p[1] = attempt;
	p[2] = j->worker;
	p[3] = j->error[0] != '\0' ? j->error : "the job failed";
	p[4] = backoff;
	p[5] = j->final ? "t" : "f";

	res = PQexecParams(j->pg, "SELECT outcome, coalesce(retry_in_ms, 0) "
	    "FROM jobs_fail($1, $2, $3, $4, $5, $6)", 6, NULL, p, NULL, NULL,
	    0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
		(void)kore_strlcpy(r->fail, PQgetvalue(res, 0, 0),
		    sizeof(r->fail));
		r->retry_in_ms = atoi(PQgetvalue(res, 0, 1));
	}
	PQclear(res);
	if (j->error[0] == '\0')
		jobs_errorf(j, "%s", p[3]);
}

/*
 * A libpq connection for a job's thread. Kore's pgsql layer belongs to
 * the event loop; a thread uses libpq directly.
 */
PGconn *
jobs_pg_connect(const char *appname)
{
	const char	*keys[] = { "dbname", "connect_timeout",
			    "application_name", NULL };
	const char	*vals[] = { app_cfg.database_url, "5", appname, NULL };
	PGconn		*pg;

	pg = PQconnectdbParams(keys, vals, 1);
	if (pg == NULL)
		return (NULL);
	if (PQstatus(pg) != CONNECTION_OK) {
		PQfinish(pg);
		return (NULL);
	}
	return (pg);
}

void
jobs_errorf(struct jobs_job *j, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(j->error, sizeof(j->error), fmt, ap);
	va_end(ap);
}

/*
 * Renews the job's lease and publishes its progress (percent, stage).
 * The database is only asked when the stage changes or a second has
 * passed. Returns -1 once the lease is lost; the job should stop.
 */
int
jobs_beat(struct jobs_job *j, int progress, const char *stage)
{
	PGresult	*res;
	const char	*p[5];
	char		 id[24], attempt[16], pct[16];
	uint64_t	 now;
	int		 changed, ok;

	if (j->lost)
		return (-1);
	now = kore_time_ms();
	changed = stage != NULL && strcmp(stage, j->stage) != 0;
	if (progress >= 0)
		j->progress = progress;
	if (stage != NULL)
		(void)kore_strlcpy(j->stage, stage, sizeof(j->stage));
	if (!changed && now - j->last_beat < JOBS_BEAT_MIN_MS)
		return (0);

	(void)snprintf(id, sizeof(id), "%lld", (long long)j->id);
	(void)snprintf(attempt, sizeof(attempt), "%d", j->attempt);
	(void)snprintf(pct, sizeof(pct), "%d", j->progress);
	p[0] = id;
	p[1] = attempt;
	p[2] = j->worker;
	p[3] = pct;
	p[4] = j->stage[0] != '\0' ? j->stage : NULL;

	res = PQexecParams(j->pg, "SELECT jobs_beat($1, $2, $3, $4, $5)", 5,
	    NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		/* The database is away: keep working, the lease decides. */
		PQclear(res);
		if (PQstatus(j->pg) == CONNECTION_BAD)
			PQreset(j->pg);
		return (0);
	}
	ok = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);

	j->last_beat = now;
	if (!ok) {
		j->lost = 1;
		return (-1);
	}
	return (0);
}

/* Sleeps for ms milliseconds, renewing the lease; -1 once it is lost. */
int
jobs_sleep(struct jobs_job *j, long ms)
{
	struct timespec	ts;
	long		step;

	while (ms > 0) {
		if (jobs_beat(j, -1, NULL) == -1)
			return (-1);
		step = ms > 250 ? 250 : ms;
		ts.tv_sec = 0;
		ts.tv_nsec = step * 1000000L;
		(void)nanosleep(&ts, NULL);
		ms -= step;
	}
	return (jobs_beat(j, -1, NULL));
}

/* Completes the job with a JSON result (or NULL). */
int
jobs_complete(struct jobs_job *j, const char *result)
{
	PGresult	*res;
	const char	*p[4];
	char		 id[24], attempt[16];
	int		 ok;

	(void)snprintf(id, sizeof(id), "%lld", (long long)j->id);
	(void)snprintf(attempt, sizeof(attempt), "%d", j->attempt);
	p[0] = id;
	p[1] = attempt;
	p[2] = j->worker;
	p[3] = result;
	res = PQexecParams(j->pg, "SELECT jobs_complete($1, $2, $3, $4)", 4,
	    NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		jobs_errorf(j, "could not complete the job: %s",
		    PQerrorMessage(j->pg));
		PQclear(res);
		return (JOBS_FAILED);
	}
	ok = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return (ok ? JOBS_DONE : JOBS_LOST);
}
