/*
 * GET /api/health: is this instance fit to serve?
 *
 * The database check is a real round trip whose latency is reported; the
 * job queue's depth and oldest waiting job come from the same query. The
 * answer is 503 when the database cannot be reached, so a load balancer
 * takes the instance out of rotation.
 */

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "api.h"
#include "app.h"
#include "health.h"
#include "jsonw.h"
#include "log.h"

int	health_get(struct http_request *);

static void	health_start(struct api_ctx *);
static void	health_done(struct api_ctx *);

static time_t	health_started;

static struct health_extra	*health_extras;

void
health_init(void)
{
	health_started = time(NULL);
}

/* Other modules (the AI client) add in-memory checks to the answer. */
void
health_register(struct health_extra *e)
{
	e->next = health_extras;
	health_extras = e;
}

int
health_get(struct http_request *req)
{
	return (api_run(req, API_PUBLIC | API_NO_LIMIT, API_GET,
	    health_start));
}

static void
health_start(struct api_ctx *c)
{
	c->mark = kore_time_ms();
	api_query(c, health_done,
	    "SELECT json_build_object("
	    "  'depth', count(*) FILTER (WHERE state IN "
	    "      ('waiting', 'delayed')),"
	    "  'active', count(*) FILTER (WHERE state = 'active'),"
	    "  'failedLastHour', count(*) FILTER (WHERE state = 'failed' "
	    "      AND finished_at > now() - interval '1 hour'),"
	    "  'oldestWaitingSeconds', coalesce(extract(epoch FROM now() - "
	    "      min(run_at) FILTER (WHERE state = 'waiting' "
	    "      AND run_at <= now())), 0)::int) "
	    "FROM jobs WHERE state IN ('waiting', 'delayed', 'active') "
	    "   OR finished_at > now() - interval '1 hour'", 0);
}

static void
health_done(struct api_ctx *c)
{
	struct health_extra	*e;
	struct jw		 j;
	const char		*queue;
	u_int64_t		 ms;
	int			 db_ok, ok;

	ms = kore_time_ms() - c->mark;
	db_ok = !db_failed(&c->db);
	if (!db_ok)
		log_msg(LOG_LVL_WARN, "health.db", c->rid, c->db.error);
	ok = db_ok;

	jw_init(&j, 512);
	jw_obj_open(&j, NULL);
	jw_str(&j, "instance", app_instance);
	jw_int(&j, "uptimeSeconds", (int64_t)(time(NULL) - health_started));
	jw_obj_open(&j, "checks");

	jw_obj_open(&j, "database");
	jw_str(&j, "status", db_ok ? "ok" : "down");
	jw_int(&j, "latencyMs", (int64_t)ms);
	if (!db_ok)
		jw_str(&j, "error", "the database cannot be reached");
	jw_obj_close(&j);

	if (db_ok && (queue = db_value(&c->db, 0, 0)) != NULL) {
		jw_raw(&j, "queue", queue, strlen(queue));
	}

	for (e = health_extras; e != NULL; e = e->next) {
		jw_obj_open(&j, e->name);
		if (!e->write(&j))
			ok = 0;
		jw_obj_close(&j);
	}

	jw_obj_close(&j);
	jw_str(&j, "status", ok ? "ok" : "degraded");
	jw_obj_close(&j);

	if (!ok)
		api_header(c, "Retry-After", "5");
	api_reply_jw(c, ok ? 200 : 503, &j);
	jw_free(&j);
}
