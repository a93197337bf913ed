/*
 * The application's start-up and its configuration, read once from the
 * environment in the parent process and inherited by every worker.
 */

#ifndef APP_H
#define APP_H

#include <stddef.h>
#include <stdint.h>

/* The name under which the PostgreSQL pool is registered in each worker. */
#define APP_DB			"db"

struct app_config {
	const char	*database_url;
	const char	*public_base_url;
	const char	*proxy_base_url;
	const char	*admin_password;

	int		 allow_private;
	int		 trust_proxy;
	int		 cookie_secure;
	int		 session_ttl;		/* seconds */
	int		 pbkdf2_iterations;

	int		 login_fail_account;	/* failures per window */
	int		 login_fail_ip;
	int		 login_window;		/* seconds */

	size_t		 api_body_max;		/* bytes for /api JSON */
	size_t		 proxy_body_max;	/* bytes for /proxy */
	int		 proxy_timeout;		/* seconds */
	size_t		 capture_body_max;	/* stored per body */

	const char	*groq_api_key;
	const char	*groq_base_url;
	const char	*groq_model;
	int		 groq_rpm;		/* requests/window/endpoint */
	int		 groq_rate_window;	/* seconds; 60 by default */
	int		 groq_timeout;		/* seconds per request */
	int		 groq_max_attempts;	/* tries per prompt */
	int		 groq_backoff_ms;	/* first retry; doubles */
	int		 groq_retry_after_max;	/* seconds worth waiting */
	int		 groq_ops_per_prompt;
	int		 groq_prompt_max;	/* characters per prompt */

	int		 job_concurrency;	/* jobs at once per instance */
	int		 job_max_attempts;
	int		 job_backoff_ms;	/* first retry; doubles */
	int		 job_lease;		/* seconds without heartbeat */
	int		 job_poll_ms;

	const char	*stripe_secret_key;
	const char	*stripe_webhook_secret;
	const char	*stripe_api_base;
	const char	*paypal_client_id;
	const char	*paypal_client_secret;
	const char	*paypal_webhook_id;
	const char	*paypal_api_base;
	int		 payment_timeout;	/* seconds per provider call */
	int		 payment_pending_max;	/* seconds a PENDING may wait */
	int		 payment_sweep_interval;	/* seconds */

	const char	*smtp_url;
	const char	*smtp_from;
};

extern struct app_config	app_cfg;

/* The worker's number as Kore counts it, for logs and job leases. */
extern char			app_instance[64];

const char	*app_env(const char *, const char *);
long		 app_env_num(const char *, long, long, long);
char		*app_expand_env(const char *, size_t, size_t *);

#endif
