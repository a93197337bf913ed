/*
 * The one place that drives Kore's asynchronous pgsql state machine.
 *
 * A struct db_call is one query with its parameters. It is either bound to
 * an HTTP request (the request sleeps while the query runs and its handler
 * is called again when the result is in; see api.c) or to a callback that
 * runs from the event loop once the query has finished (timers, the
 * capture writer, the job queue).
 */

#ifndef DB_H
#define DB_H

#include <stddef.h>

#include <kore/kore.h>
#include <kore/pgsql.h>

#define DB_MAX_PARAMS	32

#define DB_IDLE		0
#define DB_RUNNING	1
#define DB_FINISHED	2

struct http_request;
struct db_call;

typedef void	(*db_done_cb)(struct db_call *, void *);

struct db_call {
	struct kore_pgsql	 sql;
	int			 state;
	int			 retried;
	int			 sent;

	const char		*query;
	int			 nparams;
	char			*values[DB_MAX_PARAMS];
	int			 lengths[DB_MAX_PARAMS];
	int			 formats[DB_MAX_PARAMS];

	PGresult		*res;
	char			*error;
	char			 sqlstate[6];

	db_done_cb		 cb;
	void			*arg;
	struct http_request	*req;

	TAILQ_ENTRY(db_call)	 list;
	TAILQ_ENTRY(db_call)	 rlist;
};

void		 db_init(void);
void		 db_call_init(struct db_call *);
void		 db_call_clear(struct db_call *);

int		 db_param_text(struct db_call *, const char *);
int		 db_param_take(struct db_call *, void *, size_t);
int		 db_param_bin(struct db_call *, const void *, size_t);

void		 db_start_request(struct db_call *, struct http_request *,
		    const char *);
int		 db_pump(struct db_call *);
void		 db_start(struct db_call *, const char *, db_done_cb, void *);

int		 db_failed(const struct db_call *);
int		 db_rows(const struct db_call *);
const char	*db_value(const struct db_call *, int, int);
int		 db_length(const struct db_call *, int, int);
int		 db_isnull(const struct db_call *, int, int);
long long	 db_int(const struct db_call *, int, int);

/*
 * A channel this worker LISTENs on, over a connection of its own that
 * stays open. `lost` runs when that connection fails (notifications may
 * have been missed); the listener reconnects by itself.
 */
typedef void	(*db_notify_cb)(const char *, void *);

void		 db_listen(const char *, db_notify_cb, db_notify_cb, void *);

#endif
