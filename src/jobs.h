/*
 * The PostgreSQL job queue (sql/004_jobs.sql holds its functions).
 *
 * A queue is a name and a function. jobs_register() tells this worker
 * to run the queue's jobs; the function then runs in one of the jobs
 * module's threads with a struct jobs_job describing the claimed job and
 * a libpq connection of its own. It never touches Kore's pgsql or curl
 * layers. It returns:
 *
 *	JOBS_DONE	it completed the job itself (jobs_complete() or a
 *			function of its own), in its own transaction;
 *	JOBS_FAILED	the attempt failed, j->error says why; the job is
 *			retried after a backoff or, after its last attempt
 *			(or when j->final is set), buried;
 *	JOBS_LOST	the job's lease was lost: another worker has it.
 *
 * While it works, the function calls jobs_beat() to renew its lease and
 * publish its progress; a lease that is not renewed for JOB_LEASE_SECONDS
 * lets another worker take the job back.
 */

#ifndef JOBS_H
#define JOBS_H

#include <stdint.h>

#include <libpq-fe.h>

#define JOBS_DONE	0
#define JOBS_FAILED	1
#define JOBS_LOST	2

struct jobs_job {
	int64_t		 id;
	int		 attempt;
	int		 max_attempts;
	char		 queue[32];
	char		*payload;		/* the job's JSON payload */
	const char	*worker;		/* who holds the lease */
	PGconn		*pg;			/* the thread's connection */

	char		 error[512];		/* why an attempt failed */
	int		 final;			/* no point in retrying */
	char		 note[256];		/* a JSON object for the log */

	uint64_t	 last_beat;
	int		 progress;
	char		 stage[48];
	int		 lost;
};

typedef int	(*jobs_fn)(struct jobs_job *);

void		 jobs_register(const char *, jobs_fn);
void		 jobs_init(void);
void		 jobs_teardown(void);

/* From a job's thread. */
int		 jobs_beat(struct jobs_job *, int, const char *);
int		 jobs_sleep(struct jobs_job *, long);
int		 jobs_complete(struct jobs_job *, const char *);
void		 jobs_errorf(struct jobs_job *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
PGconn		*jobs_pg_connect(const char *);

#endif
