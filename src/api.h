/*
 * The request context every JSON API handler runs in, and the helpers
 * that keep handlers thin: sessions and CSRF, reading and validating JSON
 * bodies and query arguments, the error envelope, and chaining database
 * queries and task-thread work without a hand-written state machine.
 *
 * A handler names its access level and its first step:
 *
 *	int
 *	credits_get(struct http_request *req)
 *	{
 *		return (api_run(req, API_USER, API_GET, credits_load));
 *	}
 *
 * A step either writes the response (api_reply_*, api_error) or starts a
 * query or a task naming the step that continues once it has finished.
 */

#ifndef API_H
#define API_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "db.h"
#include "jsonw.h"

/* Who may call a route. */
#define API_PUBLIC	0x01	/* anyone; a session is read if present */
#define API_USER	0x02	/* a signed-in, enabled account */
#define API_ADMIN	0x04	/* a signed-in admin */
#define API_NO_CSRF	0x08	/* sign-in routes: no token exists yet */
#define API_AUTH_LIMIT	0x10	/* the stricter limit of sign-in routes */
#define API_NO_LIMIT	0x20	/* health checks: no limit, no query */

/* Methods a route answers (Kore's HTTP_METHOD_* values). */
#define API_GET		0x0001
#define API_POST	0x0002
#define API_PUT		0x0004
#define API_DELETE	0x0010
#define API_PATCH	0x0080

#define API_UUID_LEN	36

struct api_ctx;
struct api_task;
struct http_request;
struct kore_curl;

typedef void	(*api_step)(struct api_ctx *);
typedef int	(*api_work)(void *);

struct api_user {
	char		id[API_UUID_LEN + 1];
	char		role[8];
	int		is_demo;
	char		csrf[64];
	char		session[65];	/* SHA-256 of the cookie's token */
};

struct api_ctx {
	struct http_request	*req;
	char			 rid[40];
	char			 ip[64];
	uint64_t		 started;
	uint64_t		 mark;		/* a handler's own timer */
	int			 finished;
	int			 status;

	int			 access;
	api_step		 first;
	int			 has_user;
	struct api_user		 user;

	json_t			*body;
	char			 id[API_UUID_LEN + 1];

	struct db_call		 db;
	struct api_task		*task;
	struct kore_curl	*curl;		/* outbound request in flight */
	api_step		 next;

	void			*state;
	void			(*state_free)(void *);
};

void		 api_init(void);
void		 api_request_id(char *, size_t);
int		 api_run(struct http_request *, int, int, api_step);
int		 api_fail(struct http_request *, int, const char *,
		    const char *);
void		 api_next(struct api_ctx *, api_step);

void		 api_query(struct api_ctx *, api_step, const char *, int, ...);
void		 api_query_call(struct api_ctx *, api_step, const char *);
int		 api_db_ok(struct api_ctx *);
void		 api_task(struct api_ctx *, api_step, api_work, void *,
		    void (*)(void *));
void		*api_task_arg(struct api_ctx *);
void		 api_curl(struct api_ctx *, api_step, struct kore_curl *);

void		 api_error(struct api_ctx *, int, const char *, const char *);
void		 api_errorf(struct api_ctx *, int, const char *,
		    const char *, ...) __attribute__((format(printf, 4, 5)));
void		 api_reply(struct api_ctx *, int, const char *, const void *,
		    size_t);
void		 api_reply_json(struct api_ctx *, int, const char *, size_t);
void		 api_reply_jw(struct api_ctx *, int, struct jw *);
void		 api_reply_db_json(struct api_ctx *, int);
void		 api_header(struct api_ctx *, const char *, const char *);

int		 api_body(struct api_ctx *);
int		 api_body_raw(struct api_ctx *, size_t, char **, size_t *);
int		 api_str(struct api_ctx *, const char *, int, size_t,
		    const char **);
int		 api_bool(struct api_ctx *, const char *, int *);
int		 api_only(struct api_ctx *, const char **);

int		 api_path_id(struct api_ctx *, const char *, char *);
int		 api_path_segment(struct api_ctx *, int, char *, size_t);
int		 api_arg(struct api_ctx *, const char *, char *, size_t);
int		 api_limit(struct api_ctx *, int, int, char *, size_t);
int		 api_cursor(struct api_ctx *, char *, size_t);
int		 api_cursor_id(struct api_ctx *, const char *);

const char	*api_user_id(struct api_ctx *);
int		 api_is_uuid(const char *);
int		 api_method(struct api_ctx *);
void		 api_cookie_session(struct api_ctx *, const char *, int);
int		 api_session_token(struct api_ctx *, char *, size_t);
int		 api_client_ip(struct http_request *, char *, size_t);

#endif
