/*
 * Accounts: registration, login, logout, the current user and the demo.
 *
 * Passwords are hashed and checked in a task thread (PBKDF2 at 600,000
 * iterations takes a noticeable fraction of a second). Everything a step
 * changes in the database happens in one SQL function (sql/002), so an
 * account never exists without its bonus, session and audit rows.
 *
 * Login is throttled per account and per client address with counters in
 * PostgreSQL, shared by every worker: past the limit the password is not
 * even checked. An unknown email costs the same hash as a known one, so
 * response times do not tell which accounts exist.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "api.h"
#include "app.h"
#include "log.h"
#include "metrics.h"
#include "secret.h"
#include "validate.h"

int	auth_register(struct http_request *);
int	auth_login(struct http_request *);
int	auth_logout(struct http_request *);
int	auth_me(struct http_request *);
int	auth_demo(struct http_request *);

struct auth_work {
	char	email[VALIDATE_EMAIL_MAX + 1];
	char	name[VALIDATE_NAME_MAX * 4 + 1];
	char	password[VALIDATE_PASSWORD_MAX * 4 + 1];
	char	stored[SECRET_HASH_MAX];
	char	user_id[API_UUID_LEN + 1];
	int	disabled;
	int	iterations;
	int	ok;
	char	token[SECRET_TOKEN_LEN + 1];
	char	token_hash[SECRET_HEX256_LEN + 1];
	char	csrf[SECRET_TOKEN_LEN + 1];
};

static void	auth_register_start(struct api_ctx *);
static void	auth_register_hashed(struct api_ctx *);
static void	auth_register_done(struct api_ctx *);
static void	auth_login_start(struct api_ctx *);
static void	auth_login_looked_up(struct api_ctx *);
static void	auth_login_checked(struct api_ctx *);
static void	auth_login_refused(struct api_ctx *);
static void	auth_login_done(struct api_ctx *);
static void	auth_logout_start(struct api_ctx *);
static void	auth_logout_done(struct api_ctx *);
static void	auth_me_start(struct api_ctx *);
static void	auth_me_done(struct api_ctx *);
static void	auth_demo_start(struct api_ctx *);
static void	auth_demo_done(struct api_ctx *);

static int	auth_hash_work(void *);
static int	auth_verify_work(void *);
static void	auth_work_free(void *);
static int	auth_new_session(struct api_ctx *, struct auth_work *);
static void	auth_signed_in(struct api_ctx *, struct auth_work *, int,
		    const char *);
static char	*auth_old_session(struct api_ctx *);

static const char *auth_fields[] = { "email", "password", "name", NULL };
static const char *login_fields[] = { "email", "password", NULL };

int
auth_register(struct http_request *req)
{
	return (api_run(req, API_PUBLIC | API_NO_CSRF | API_AUTH_LIMIT,
	    API_POST, auth_register_start));
}

int
auth_login(struct http_request *req)
{
	return (api_run(req, API_PUBLIC | API_NO_CSRF | API_AUTH_LIMIT,
	    API_POST, auth_login_start));
}

int
auth_logout(struct http_request *req)
{
	return (api_run(req, API_PUBLIC, API_POST, auth_logout_start));
}

int
auth_me(struct http_request *req)
{
	return (api_run(req, API_USER, API_GET, auth_me_start));
}

int
auth_demo(struct http_request *req)
{
	return (api_run(req, API_PUBLIC | API_NO_CSRF | API_AUTH_LIMIT,
	    API_POST, auth_demo_start));
}

static void
auth_work_free(void *arg)
{
	struct auth_work	*w = arg;

	if (w == NULL)
		return;
	secret_wipe(w, sizeof(*w));
	free(w);
}

static int
auth_hash_work(void *arg)
{
	struct auth_work	*w = arg;

	w->ok = secret_password_hash(w->password, w->iterations, w->stored,
	    sizeof(w->stored)) == 0;
	secret_wipe(w->password, sizeof(w->password));
	return (0);
}

static int
auth_verify_work(void *arg)
{
	struct auth_work	*w = arg;

	w->ok = secret_password_verify(w->password, w->stored);
	secret_wipe(w->password, sizeof(w->password));
	return (0);
}

/* Fresh session token, its hash for the database, and a CSRF token. */
static int
auth_new_session(struct api_ctx *c, struct auth_work *w)
{
	if (secret_token(w->token, sizeof(w->token)) == -1 ||
	    secret_token(w->csrf, sizeof(w->csrf)) == -1) {
		api_error(c, 500, "INTERNAL", "could not create a session");
		return (-1);
	}
	secret_sha256_hex(w->token, strlen(w->token), w->token_hash);
	return (0);
}

/* The hash of the session the browser presented, to revoke it. */
static char *
auth_old_session(struct api_ctx *c)
{
	char	token[SECRET_TOKEN_LEN + 8];

	if (!api_session_token(c, token, sizeof(token)))
		return (NULL);
	secret_sha256_hex(token, strlen(token), c->user.session);
	secret_wipe(token, sizeof(token));
	return (c->user.session);
}

/* Sets the cookie and answers {user, csrfToken}. */
static void
auth_signed_in(struct api_ctx *c, struct auth_work *w, int status,
    const char *event)
{
	struct jw	 j;
	struct jw	*l;
	const char	*user;
	json_t		*parsed;

	if ((user = db_value(&c->db, 0, 0)) == NULL) {
		api_error(c, 500, "INTERNAL", "no account came back");
		return;
	}

	api_cookie_session(c, w->token, app_cfg.session_ttl);

	jw_init(&j, 512);
	jw_obj_open(&j, NULL);
	jw_raw(&j, "user", user, strlen(user));
	jw_str(&j, "csrfToken", w->csrf);
	jw_obj_close(&j);
	api_reply_jw(c, status, &j);
	jw_free(&j);

	if ((l = log_begin(LOG_LVL_INFO, event, c->rid)) != NULL) {
		parsed = json_loads(user, 0, NULL);
		jw_str(l, "userId", json_string_value(
		    json_object_get(parsed, "id")));
		json_decref(parsed);
		log_end(l);
	}
}

static void
auth_register_start(struct api_ctx *c)
{
	struct auth_work	*w;
	const char		*email, *password, *name, *why;

	if (api_body(c) == -1 || api_only(c, auth_fields) == -1 ||
	    api_str(c, "email", 1, VALIDATE_EMAIL_MAX, &email) == -1 ||
	    api_str(c, "password", 1, VALIDATE_PASSWORD_MAX * 4,
	    &password) == -1 ||
	    api_str(c, "name", 1, VALIDATE_NAME_MAX, &name) == -1)
		return;

	if ((why = validate_email(email)) != NULL ||
	    (why = validate_password(password, email)) != NULL ||
	    (why = validate_name(name)) != NULL) {
		api_error(c, 422, "VALIDATION_FAILED", why);
		return;
	}

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		api_error(c, 500, "INTERNAL", "out of memory");
		return;
	}
	(void)kore_strlcpy(w->email, email, sizeof(w->email));
	(void)kore_strlcpy(w->name, name, sizeof(w->name));
	(void)kore_strlcpy(w->password, password, sizeof(w->password));
	w->iterations = app_cfg.pbkdf2_iterations;

	api_task(c, auth_register_hashed, auth_hash_work, w, auth_work_free);
}

static void
auth_register_hashed(struct api_ctx *c)
{
	struct auth_work	*w = api_task_arg(c);
	char			 ttl[16];

	if (!w->ok) {
		api_error(c, 500, "INTERNAL", "could not hash the password");
		return;
	}
	if (auth_new_session(c, w) == -1)
		return;

	(void)snprintf(ttl, sizeof(ttl), "%d", app_cfg.session_ttl);
	api_query(c, auth_register_done,
	    "SELECT auth_register($1, $2, $3, $4, $5, $6, $7, $8, $9)", 9,
	    w->email, w->name, w->stored, w->token_hash, w->csrf, ttl, c->ip,
	    c->req->agent, c->rid);
}

static void
auth_register_done(struct api_ctx *c)
{
	if (db_failed(&c->db) && strcmp(c->db.sqlstate, "23505") == 0) {
		api_error(c, 409, "EMAIL_TAKEN",
		    "an account with this email already exists");
		return;
	}
	if (!api_db_ok(c))
		return;
	auth_signed_in(c, api_task_arg(c), 201, "user.registered");
}

static void
auth_login_start(struct api_ctx *c)
{
	struct auth_work	*w;
	const char		*email, *password;
	char			 window[16];

	if (api_body(c) == -1 || api_only(c, login_fields) == -1 ||
	    api_str(c, "email", 1, VALIDATE_EMAIL_MAX, &email) == -1 ||
	    api_str(c, "password", 1, VALIDATE_PASSWORD_MAX * 4,
	    &password) == -1)
		return;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		api_error(c, 500, "INTERNAL", "out of memory");
		return;
	}
	(void)kore_strlcpy(w->email, email, sizeof(w->email));
	(void)kore_strlcpy(w->password, password, sizeof(w->password));
	c->state = w;
	c->state_free = auth_work_free;

	(void)snprintf(window, sizeof(window), "%d", app_cfg.login_window);
	api_query(c, auth_login_looked_up,
	    "SELECT * FROM auth_login_lookup($1, $2, $3)", 3, w->email, c->ip,
	    window);
}

static void
auth_login_looked_up(struct api_ctx *c)
{
	struct auth_work	*w = c->state;
	const char		*retry;

	if (!api_db_ok(c))
		return;

	if (db_int(&c->db, 0, 3) >= app_cfg.login_fail_account ||
	    db_int(&c->db, 0, 4) >= app_cfg.login_fail_ip) {
		retry = db_value(&c->db, 0, 5);
		api_header(c, "Retry-After", retry != NULL ? retry : "60");
		api_errorf(c, 429, "TOO_MANY_ATTEMPTS", "too many failed "
		    "sign-ins; try again in %s seconds",
		    retry != NULL ? retry : "60");
		log_msg(LOG_LVL_WARN, "auth.throttled", c->rid, c->ip);
		metrics_login(METRICS_LOGIN_THROTTLED);
		return;
	}

	/* An unknown account is checked against a throwaway hash. */
	if (!db_isnull(&c->db, 0, 0)) {
		(void)kore_strlcpy(w->user_id, db_value(&c->db, 0, 0),
		    sizeof(w->user_id));
		(void)kore_strlcpy(w->stored, db_value(&c->db, 0, 1),
		    sizeof(w->stored));
		w->disabled = strcmp(db_value(&c->db, 0, 2), "t") == 0;
	} else {
		(void)snprintf(w->stored, sizeof(w->stored),
		    "pbkdf2-sha256$%d$AAAAAAAAAAAAAAAAAAAAAA$"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		    app_cfg.pbkdf2_iterations);
	}

	/* From here on the task owns the work. */
	c->state = NULL;
	c->state_free = NULL;
	api_task(c, auth_login_checked, auth_verify_work, w, auth_work_free);
}

static void
auth_login_checked(struct api_ctx *c)
{
	struct auth_work	*w = api_task_arg(c);
	const char		*reason;
	char			 window[16], ttl[16];

	if (!w->ok || w->user_id[0] == '\0') {
		reason = w->user_id[0] == '\0' ? "unknown account" :
		    "wrong password";
		metrics_login(METRICS_LOGIN_FAILED);
		(void)snprintf(window, sizeof(window), "%d",
		    app_cfg.login_window);
		api_query(c, auth_login_refused,
		    "SELECT auth_login_failed($1, $2, $3, $4, $5, $6)", 6,
		    w->email, w->user_id[0] ? w->user_id : NULL, c->ip, window,
		    reason, c->rid);
		return;
	}
	if (w->disabled) {
		api_error(c, 403, "ACCOUNT_DISABLED",
		    "this account is disabled");
		return;
	}
	if (auth_new_session(c, w) == -1)
		return;

	(void)snprintf(ttl, sizeof(ttl), "%d", app_cfg.session_ttl);
	api_query(c, auth_login_done,
	    "SELECT auth_login_ok($1, $2, $3, $4, $5, $6, $7, $8, $9)", 9,
	    w->user_id, w->token_hash, w->csrf, ttl, auth_old_session(c),
	    w->email, c->ip, c->req->agent, c->rid);
}

static void
auth_login_refused(struct api_ctx *c)
{
	if (!api_db_ok(c))
		return;
	api_error(c, 401, "INVALID_CREDENTIALS",
	    "the email or the password is wrong");
}

static void
auth_login_done(struct api_ctx *c)
{
	if (!api_db_ok(c))
		return;
	metrics_login(METRICS_LOGIN_OK);
	auth_signed_in(c, api_task_arg(c), 200, "user.login");
}

static void
auth_logout_start(struct api_ctx *c)
{
	api_cookie_session(c, NULL, 0);
	if (!c->has_user) {
		api_reply(c, 204, NULL, NULL, 0);
		return;
	}
	api_query(c, auth_logout_done, "SELECT auth_logout($1, $2, $3)", 3,
	    c->user.session, c->ip, c->rid);
}

static void
auth_logout_done(struct api_ctx *c)
{
	if (!api_db_ok(c))
		return;
	api_reply(c, 204, NULL, NULL, 0);
}

static void
auth_me_start(struct api_ctx *c)
{
	api_query(c, auth_me_done,
	    "SELECT json_build_object('user', user_json(u), "
	    "    'csrfToken', $2::text) "
	    "FROM users u WHERE u.id = $1", 2, c->user.id, c->user.csrf);
}

static void
auth_me_done(struct api_ctx *c)
{
	if (!api_db_ok(c))
		return;
	api_reply_db_json(c, 200);
}

static void
auth_demo_start(struct api_ctx *c)
{
	struct auth_work	*w;
	char			 ttl[16];

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		api_error(c, 500, "INTERNAL", "out of memory");
		return;
	}
	c->state = w;
	c->state_free = auth_work_free;
	if (auth_new_session(c, w) == -1)
		return;

	(void)snprintf(ttl, sizeof(ttl), "%d", app_cfg.session_ttl);
	api_query(c, auth_demo_done,
	    "SELECT auth_demo_login($1, $2, $3, $4, $5, $6, $7)", 7,
	    w->token_hash, w->csrf, ttl, auth_old_session(c), c->ip,
	    c->req->agent, c->rid);
}

static void
auth_demo_done(struct api_ctx *c)
{
	if (!api_db_ok(c))
		return;
	auth_signed_in(c, c->state, 200, "user.demo_login");
}
