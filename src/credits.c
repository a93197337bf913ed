/*
 * The credit balance and its ledger, read-only over HTTP.
 *
 * Credits only ever move through the SQL function credits_apply() (see
 * sql/002), called inside the same statement as whatever they pay for:
 * an endpoint's creation, a completed payment, an admin adjustment. The
 * balance kept on the user row always equals the sum of the ledger.
 */

#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "api.h"

int	credits_get(struct http_request *);
int	credits_transactions(struct http_request *);

static void	credits_get_start(struct api_ctx *);
static void	credits_list_start(struct api_ctx *);
static void	credits_reply(struct api_ctx *);

int
credits_get(struct http_request *req)
{
	return (api_run(req, API_USER, API_GET, credits_get_start));
}

int
credits_transactions(struct http_request *req)
{
	return (api_run(req, API_USER, API_GET, credits_list_start));
}

static void
credits_get_start(struct api_ctx *c)
{
	api_query(c, credits_reply,
	    "SELECT json_build_object('balance', u.credits, "
	    "    'isDemo', u.is_demo, "
	    "    'lastTransactionAt', (SELECT max(created_at) "
	    "        FROM credit_transactions WHERE user_id = u.id)) "
	    "FROM users u WHERE u.id = $1", 1, api_user_id(c));
}

/* Newest first; the cursor is the id of the last row of a page. */
static void
credits_list_start(struct api_ctx *c)
{
	char	limit[16], cursor[32];

	if (api_limit(c, 50, 200, limit, sizeof(limit)) == -1 ||
	    api_cursor(c, cursor, sizeof(cursor)) == -1 ||
	    api_cursor_id(c, cursor) == -1)
		return;

	api_query(c, credits_reply,
	    "WITH page AS ("
	    "    SELECT id, amount, kind, reference, balance_after, "
	    "        created_at "
	    "    FROM credit_transactions "
	    "    WHERE user_id = $1 "
	    "    AND ($2::bigint IS NULL OR id < $2::bigint) "
	    "    ORDER BY id DESC LIMIT $3::int + 1), "
	    "shown AS (SELECT * FROM page ORDER BY id DESC LIMIT $3::int) "
	    "SELECT json_build_object("
	    "    'items', coalesce((SELECT json_agg(json_build_object("
	    "        'id', id, 'amount', amount, 'kind', kind, "
	    "        'reference', reference, 'balanceAfter', balance_after, "
	    "        'createdAt', created_at) ORDER BY id DESC) "
	    "        FROM shown), '[]'::json), "
	    "    'nextCursor', CASE WHEN (SELECT count(*) FROM page) > $3::int "
	    "        THEN (SELECT min(id) FROM shown)::text END)",
	    3, api_user_id(c), cursor[0] != '\0' ? cursor : NULL, limit);
}

static void
credits_reply(struct api_ctx *c)
{
	if (!api_db_ok(c))
		return;
	api_reply_db_json(c, 200);
}
