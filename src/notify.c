/*
 * In-app notifications.
 *
 *	GET  /api/notifications?limit=&cursor=&unread=true
 *	POST /api/notifications/{id}/read
 *	POST /api/notifications/read-all
 *
 * A notification is a type ("docs.ready", "docs.failed", ...) and a JSON
 * payload with at least a human-readable "message". Lists are newest
 * first and paged by id; every answer also carries the unread count the
 * app shows on its bell.
 */

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "api.h"
#include "db.h"
#include "log.h"
#include "notify.h"

int	notify_list(struct http_request *);
int	notify_read(struct http_request *);
int	notify_read_all(struct http_request *);

static void	notify_list_start(struct api_ctx *);
static void	notify_read_start(struct api_ctx *);
static void	notify_read_all_start(struct api_ctx *);
static void	notify_reply(struct api_ctx *);
static void	notify_sent(struct db_call *, void *);
static int	notify_digits(const char *, size_t);

int
notify_list(struct http_request *req)
{
	return (api_run(req, API_USER, API_GET, notify_list_start));
}

int
notify_read(struct http_request *req)
{
	return (api_run(req, API_USER, API_POST, notify_read_start));
}

int
notify_read_all(struct http_request *req)
{
	return (api_run(req, API_USER, API_POST, notify_read_all_start));
}

static int
notify_digits(const char *s, size_t max)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++) {
		if (!isdigit((unsigned char)s[i]) || i >= max)
			return (0);
	}
	return (i > 0);
}

static void
notify_list_start(struct api_ctx *c)
{
	char	limit[16], cursor[32], unread[8];
	int	rc;

	if (api_limit(c, 20, 100, limit, sizeof(limit)) == -1 ||
	    api_cursor(c, cursor, sizeof(cursor)) == -1 ||
	    (rc = api_arg(c, "unread", unread, sizeof(unread))) == -1)
		return;
	if (api_cursor_id(c, cursor) == -1)
		return;
	if (rc == 1 && strcmp(unread, "true") && strcmp(unread, "false")) {
		api_error(c, 422, "VALIDATION_FAILED",
		    "unread must be true or false");
		return;
	}

	api_query(c, notify_reply,
	    "WITH page AS ("
	    "    SELECT id, type, payload, created_at, read_at "
	    "    FROM notifications "
	    "    WHERE user_id = $1 "
	    "    AND ($2::bigint IS NULL OR id < $2::bigint) "
	    "    AND (NOT $4::boolean OR read_at IS NULL) "
	    "    ORDER BY id DESC LIMIT $3::int + 1), "
	    "shown AS (SELECT * FROM page ORDER BY id DESC LIMIT $3::int) "
	    "SELECT json_build_object("
	    "    'items', coalesce((SELECT json_agg(json_build_object("
	    "        'id', id, 'type', type, 'payload', payload, "
	    "        'createdAt', created_at, 'readAt', read_at) "
	    "        ORDER BY id DESC) FROM shown), '[]'::json), "
	    "    'nextCursor', CASE WHEN (SELECT count(*) FROM page) > "
	    "        $3::int THEN (SELECT min(id) FROM shown)::text END, "
	    "    'unreadCount', (SELECT count(*) FROM notifications "
	    "        WHERE user_id = $1 AND read_at IS NULL))",
	    4, api_user_id(c), cursor[0] != '\0' ? cursor : NULL, limit,
	    rc == 1 && strcmp(unread, "true") == 0 ? "t" : "f");
}

static void
notify_read_start(struct api_ctx *c)
{
	char	id[32];

	if (api_path_segment(c, 2, id, sizeof(id)) == -1 ||
	    !notify_digits(id, 18)) {
		api_error(c, 400, "BAD_REQUEST",
		    "the notification id must be a whole number");
		return;
	}

	/* Reading twice keeps the first time. */
	api_query(c, notify_reply,
	    "WITH n AS ("
	    "    UPDATE notifications SET read_at = coalesce(read_at, now()) "
	    "    WHERE id = $1::bigint AND user_id = $2 "
	    "    RETURNING id, type, payload, created_at, read_at) "
	    "SELECT json_build_object('id', id, 'type', type, "
	    "    'payload', payload, 'createdAt', created_at, "
	    "    'readAt', read_at, "
	    "    'unreadCount', (SELECT count(*) FROM notifications "
	    "        WHERE user_id = $2 AND read_at IS NULL AND id <> n.id)) "
	    "FROM n",
	    2, id, api_user_id(c));
}

static void
notify_read_all_start(struct api_ctx *c)
{
	api_query(c, notify_reply,
	    "WITH n AS ("
	    "    UPDATE notifications SET read_at = now() "
	    "    WHERE user_id = $1 AND read_at IS NULL RETURNING 1) "
	    "SELECT json_build_object('updated', (SELECT count(*) FROM n), "
	    "    'unreadCount', 0)",
	    1, api_user_id(c));
}

static void
notify_reply(struct api_ctx *c)
{
	if (!api_db_ok(c))
		return;
	if (db_rows(&c->db) == 0) {
		api_error(c, 404, "NOT_FOUND", "notification not found");
		return;
	}
	api_reply_db_json(c, 200);
}

/*
 * Tells a user something, from the event loop, without waiting: the
 * insert runs in the background and a failure is logged, not returned.
 * The payload is a JSON object text (NULL for none).
 */
void
notify_send(const char *user_id, const char *type, const char *payload)
{
	struct db_call	*call;

	if ((call = calloc(1, sizeof(*call))) == NULL) {
		log_msg(LOG_LVL_WARN, "notify.failed", NULL, "out of memory");
		return;
	}
	db_call_init(call);
	if (db_param_text(call, user_id) == -1 ||
	    db_param_text(call, type) == -1 ||
	    db_param_text(call, payload != NULL ? payload : "{}") == -1) {
		db_call_clear(call);
		free(call);
		log_msg(LOG_LVL_WARN, "notify.failed", NULL, "out of memory");
		return;
	}
	db_start(call, "SELECT notification_add($1, $2, $3::jsonb)",
	    notify_sent, NULL);
}

static void
notify_sent(struct db_call *call, void *arg)
{
	if (db_failed(call))
		log_msg(LOG_LVL_WARN, "notify.failed", NULL, call->error);
	db_call_clear(call);
	free(call);
}
