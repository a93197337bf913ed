/*
 * Start-up: configuration, the runtime kore.conf and the worker hooks.
 *
 * Kore's single binary embeds conf/apiscribe.conf, but operators edit the
 * top-level kore.conf. The parent process reads that file (KORE_CONF
 * names another one), replaces ${NAME} and ${NAME:-default} with values
 * from the environment, and hands the text to Kore's parser before Kore
 * reads its embedded configuration. So one file holds the listeners,
 * limits and routes, and tests or deployments change ports and sizes
 * through the environment alone.
 *
 * Secrets and per-deployment settings are read from the environment into
 * app_cfg once, in the parent; forked workers inherit it.
 */

#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/pgsql.h>
#include <kore/seccomp.h>
#include <kore/hooks.h>

#include "ai.h"
#include "alerts.h"
#include "api.h"
#include "app.h"
#include "db.h"
#include "docs.h"
#include "health.h"
#include "jobs.h"
#include "capture.h"
#include "log.h"
#include "mail.h"
#include "payments.h"
#include "metrics.h"
#include "proxy.h"
#include "ratelimit.h"
#include "ssrf.h"

struct app_config	app_cfg;
char			app_instance[64];

extern size_t		http_body_max;

static void	app_config_load(void);
static int	app_line_start(const char *, const char *);
static void	app_read_kore_conf(const char *);
static void	app_housekeeping(void *, u_int64_t);
static void	app_housekeeping_done(struct db_call *, void *);

void	kore_parent_configure(int, char **);
void	kore_worker_configure(void);
void	kore_worker_teardown(void);

/*
 * Task threads, libcurl, OpenSSL and libpq need more than Kore's default
 * worker filter allows on Debian 12 (glibc 2.36 starts threads with
 * clone3 and registers rseq; a large realloc is an mremap).
 */
KORE_SECCOMP_FILTER("apiscribe",
	KORE_SYSCALL_ALLOW(clone3),
	KORE_SYSCALL_ALLOW(rseq),
	KORE_SYSCALL_ALLOW(mremap),
	KORE_SYSCALL_ALLOW(rename),
	/* libzip sets the mode of the archive it writes (exports). */
	KORE_SYSCALL_ALLOW(chmod),
	KORE_SYSCALL_ALLOW(fchmod),
	KORE_SYSCALL_ALLOW(umask),
	KORE_SYSCALL_ALLOW(fsync),
	KORE_SYSCALL_ALLOW(fdatasync),
	KORE_SYSCALL_ALLOW(ftruncate),
	KORE_SYSCALL_ALLOW(getdents64),
	KORE_SYSCALL_ALLOW(statx),
	KORE_SYSCALL_ALLOW(sched_yield),
	KORE_SYSCALL_ALLOW(sched_getaffinity),
	KORE_SYSCALL_ALLOW(pread64),
	KORE_SYSCALL_ALLOW(pwrite64),
	KORE_SYSCALL_ALLOW(getrusage),
	KORE_SYSCALL_ALLOW(sysinfo),
	KORE_SYSCALL_ALLOW(prlimit64),
	KORE_SYSCALL_ALLOW(shutdown),
	KORE_SYSCALL_ALLOW(getppid),
	KORE_SYSCALL_ALLOW(fstatfs),
	KORE_SYSCALL_ALLOW(statfs),
	KORE_SYSCALL_ALLOW(eventfd2),
	KORE_SYSCALL_ALLOW(timerfd_create),
	KORE_SYSCALL_ALLOW(timerfd_settime),
	KORE_SYSCALL_ALLOW(clock_gettime),
	KORE_SYSCALL_ALLOW(gettimeofday),
	KORE_SYSCALL_ALLOW(socket),
	KORE_SYSCALL_ALLOW(connect),
	KORE_SYSCALL_ALLOW(bind),
	KORE_SYSCALL_ALLOW(getsockname),
	KORE_SYSCALL_ALLOW(getpeername),
	KORE_SYSCALL_ALLOW(getsockopt),
	KORE_SYSCALL_ALLOW(setsockopt),
	KORE_SYSCALL_ALLOW(sendto),
	KORE_SYSCALL_ALLOW(recvfrom),
	KORE_SYSCALL_ALLOW(sendmsg),
	KORE_SYSCALL_ALLOW(recvmsg),
	KORE_SYSCALL_ALLOW(sendmmsg),
	KORE_SYSCALL_ALLOW(poll),
	KORE_SYSCALL_ALLOW(ppoll),
	KORE_SYSCALL_ALLOW(pipe2),
	KORE_SYSCALL_ALLOW(uname),
	KORE_SYSCALL_ALLOW(madvise),
	KORE_SYSCALL_ALLOW(membarrier),
	KORE_SYSCALL_ALLOW(futex),
	KORE_SYSCALL_ALLOW(set_robust_list),
	KORE_SYSCALL_ALLOW(gettid),
	KORE_SYSCALL_ALLOW(tgkill),
	KORE_SYSCALL_ALLOW(getrandom),
	KORE_SYSCALL_ALLOW(mkdir),
	KORE_SYSCALL_ALLOW(unlink),
	KORE_SYSCALL_ALLOW(unlinkat),
	KORE_SYSCALL_ALLOW(newfstatat),
	KORE_SYSCALL_ALLOW(faccessat2),
	KORE_SYSCALL_ALLOW(lseek),
	/* A stopped and continued worker resumes interrupted sleeps. */
	KORE_SYSCALL_ALLOW(restart_syscall)
);

const char *
app_env(const char *name, const char *def)
{
	const char	*v;

	if ((v = getenv(name)) == NULL || *v == '\0')
		return (def);
	return (v);
}

/* A whole number from the environment; out of range is fatal at start. */
long
app_env_num(const char *name, long def, long min, long max)
{
	const char	*v;
	long long	 n;
	int		 err;

	if ((v = getenv(name)) == NULL || *v == '\0')
		return (def);
	n = kore_strtonum(v, 10, min, max, &err);
	if (err != KORE_RESULT_OK)
		fatal("%s must be a whole number from %ld to %ld", name, min,
		    max);
	return ((long)n);
}

static void
app_config_load(void)
{
	struct app_config	*c = &app_cfg;

	log_init(app_env("LOG_LEVEL", "INFO"));

	c->database_url = app_env("DATABASE_URL", "dbname=apiscribe");
	c->public_base_url = app_env("PUBLIC_BASE_URL",
	    "https://127.0.0.1:8888");
	c->proxy_base_url = app_env("PROXY_BASE_URL", c->public_base_url);
	c->admin_password = app_env("ADMIN_PASSWORD", NULL);

	c->allow_private = app_env_num("ALLOW_PRIVATE_DESTINATIONS", 0, 0, 1);
	c->trust_proxy = app_env_num("TRUST_PROXY", 0, 0, 1);
	c->cookie_secure = app_env_num("COOKIE_SECURE", 1, 0, 1);
	c->session_ttl = app_env_num("SESSION_TTL_SECONDS", 7 * 86400, 60,
	    90 * 86400);
	c->pbkdf2_iterations = app_env_num("PBKDF2_ITERATIONS", 600000,
	    100000, 10000000);

	c->login_fail_account = app_env_num("LOGIN_MAX_FAILURES_ACCOUNT", 5,
	    1, 1000);
	c->login_fail_ip = app_env_num("LOGIN_MAX_FAILURES_IP", 20, 1, 100000);
	c->login_window = app_env_num("LOGIN_WINDOW_SECONDS", 900, 10, 86400);

	c->api_body_max = app_env_num("API_BODY_MAX", 64 * 1024, 1024,
	    1024 * 1024);
	c->proxy_body_max = app_env_num("PROXY_BODY_MAX", 10 * 1024 * 1024,
	    1024, 512L * 1024 * 1024);
	c->proxy_timeout = app_env_num("PROXY_TIMEOUT_SECONDS", 30, 1, 600);
	c->capture_body_max = app_env_num("CAPTURE_BODY_MAX", 256 * 1024, 0,
	    64L * 1024 * 1024);

	c->groq_api_key = app_env("GROQ_API_KEY", NULL);
	c->groq_base_url = app_env("GROQ_BASE_URL",
	    "https://api.groq.com/openai/v1");
	c->groq_model = app_env("GROQ_MODEL", "llama-3.3-70b-versatile");
	c->groq_rpm = app_env_num("GROQ_MAX_REQUESTS_PER_MINUTE", 100, 1,
	    100000);
	c->groq_rate_window = app_env_num("GROQ_RATE_WINDOW_SECONDS", 60, 1,
	    3600);
	c->groq_timeout = app_env_num("GROQ_TIMEOUT_SECONDS", 60, 1, 600);
	c->groq_max_attempts = app_env_num("GROQ_MAX_ATTEMPTS", 4, 1, 10);
	c->groq_backoff_ms = app_env_num("GROQ_BACKOFF_MS", 1000, 1, 60000);
	c->groq_retry_after_max = app_env_num("GROQ_RETRY_AFTER_MAX_SECONDS",
	    60, 1, 3600);
	c->groq_ops_per_prompt = app_env_num("GROQ_OPERATIONS_PER_PROMPT", 25,
	    1, 500);
	c->groq_prompt_max = app_env_num("GROQ_PROMPT_MAX_CHARS", 24000, 1000,
	    1000000);

	c->job_concurrency = app_env_num("JOB_CONCURRENCY", 5, 0, 256);
	c->job_max_attempts = app_env_num("JOB_MAX_ATTEMPTS", 3, 1, 20);
	c->job_backoff_ms = app_env_num("JOB_BACKOFF_MS", 2000, 1, 3600000);
	c->job_lease = app_env_num("JOB_LEASE_SECONDS", 60, 2, 86400);
	c->job_poll_ms = app_env_num("JOB_POLL_MS", 1000, 50, 60000);

	c->stripe_secret_key = app_env("STRIPE_SECRET_KEY", NULL);
	c->stripe_webhook_secret = app_env("STRIPE_WEBHOOK_SECRET", NULL);
	c->stripe_api_base = app_env("STRIPE_API_BASE",
	    "https://api.stripe.com");
	c->paypal_client_id = app_env("PAYPAL_CLIENT_ID", NULL);
	c->paypal_client_secret = app_env("PAYPAL_CLIENT_SECRET", NULL);
	c->paypal_webhook_id = app_env("PAYPAL_WEBHOOK_ID", NULL);
	c->paypal_api_base = app_env("PAYPAL_API_BASE",
	    "https://api-m.sandbox.paypal.com");
	c->payment_timeout = app_env_num("PAYMENT_TIMEOUT_SECONDS", 15, 1, 120);
	c->payment_pending_max = app_env_num("PAYMENT_PENDING_MAX_SECONDS",
	    86400, 60, 30 * 86400);
	c->payment_sweep_interval = app_env_num("PAYMENT_SWEEP_SECONDS", 300,
	    1, 86400);

	c->smtp_url = app_env("SMTP_URL", NULL);
	c->smtp_from = app_env("SMTP_FROM", "apiscribe <noreply@localhost>");
}

/* Whether only blanks stand between the line's start and p. */
static int
app_line_start(const char *in, const char *p)
{
	while (p > in && (p[-1] == ' ' || p[-1] == '\t'))
		p--;
	return (p == in || p[-1] == '\n');
}

/*
 * Replaces ${NAME} and ${NAME:-default} in text outside comments.
 * Returns a malloc'd copy
 * or NULL when a reference is unterminated or a name has no value and no
 * default.
 */
char *
app_expand_env(const char *in, size_t len, size_t *outlen)
{
	const char	*p, *end, *close, *dflt, *val;
	char		 name[128];
	char		*out, *np;
	size_t		 o, cap, nlen, vlen;

	cap = len + 256;
	if ((out = malloc(cap)) == NULL)
		return (NULL);
	o = 0;
	end = in + len;

	for (p = in; p < end; p++) {
		val = NULL;
		vlen = 1;
		if (p[0] == '#' && app_line_start(in, p)) {
			/* Comments are copied as they are. */
			val = p;
			close = memchr(p, '\n', (size_t)(end - p));
			if (close == NULL)
				close = end - 1;
			vlen = (size_t)(close - p) + 1;
			p = close;
		} else if (p[0] == '$' && p + 1 < end && p[1] == '{') {
			if ((close = memchr(p, '}', (size_t)(end - p))) == NULL)
				goto fail;
			dflt = memmem(p, (size_t)(close - p), ":-", 2);
			nlen = (size_t)((dflt ? dflt : close) - (p + 2));
			if (nlen == 0 || nlen >= sizeof(name))
				goto fail;
			memcpy(name, p + 2, nlen);
			name[nlen] = '\0';
			if ((val = getenv(name)) == NULL || *val == '\0') {
				if (dflt == NULL)
					goto fail;
				val = dflt + 2;
				vlen = (size_t)(close - val);
			} else {
				vlen = strlen(val);
			}
			p = close;
		} else {
			val = p;
		}

		if (o + vlen + 1 > cap) {
			cap = (o + vlen + 1) * 2;
			if ((np = realloc(out, cap)) == NULL)
				goto fail;
			out = np;
		}
		memcpy(out + o, val, vlen);
		o += vlen;
	}
	out[o] = '\0';
	*outlen = o;
	return (out);

fail:
	free(out);
	return (NULL);
}

static void
app_read_kore_conf(const char *path)
{
	FILE	*fp, *mem;
	char	*raw, *text;
	long	 len;
	size_t	 tlen;

	if ((fp = fopen(path, "r")) == NULL)
		fatal("cannot open %s: %s", path, errno_s);
	if (fseek(fp, 0, SEEK_END) == -1 || (len = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) == -1)
		fatal("cannot read %s", path);
	if ((raw = malloc((size_t)len + 1)) == NULL)
		fatal("out of memory reading %s", path);
	if (fread(raw, 1, (size_t)len, fp) != (size_t)len)
		fatal("cannot read %s", path);
	(void)fclose(fp);

	if ((text = app_expand_env(raw, (size_t)len, &tlen)) == NULL)
		fatal("%s: a ${NAME} has no value and no default", path);
	free(raw);

	if ((mem = fmemopen(text, tlen, "r")) == NULL)
		fatal("fmemopen: %s", errno_s);
	kore_parse_config_file(mem);
	(void)fclose(mem);
	free(text);
}

void
kore_parent_configure(int argc, char **argv)
{
	struct jw	*j;

	/* Forked workers must not inherit unflushed output. */
	(void)setvbuf(stdout, NULL, _IOLBF, 0);

	kore_default_getopt(argc, argv);
	app_config_load();
	app_read_kore_conf(app_env("KORE_CONF", "kore.conf"));

	/*
	 * Kore refuses bodies above http_body_max with a bare 413 before
	 * any handler runs. Up to twice the proxy's limit the proxy itself
	 * answers, with the error envelope and a captured call.
	 */
	http_body_max = app_cfg.proxy_body_max * 2;

	metrics_init();
	ratelimit_init();

	/* Groq's health state is shared by the workers forked later. */
	ai_init();

	ssrf_set_allow_private(app_cfg.allow_private);
	if (app_cfg.allow_private)
		log_msg(LOG_LVL_WARN, "config.allow_private", NULL,
		    "ALLOW_PRIVATE_DESTINATIONS=1: endpoints may point at "
		    "loopback and private addresses; never use this in "
		    "production");

	if ((j = log_begin(LOG_LVL_INFO, "server.start", NULL)) != NULL) {
		jw_str(j, "publicBaseUrl", app_cfg.public_base_url);
		jw_bool(j, "groq", app_cfg.groq_api_key != NULL);
		jw_bool(j, "stripe", app_cfg.stripe_secret_key != NULL);
		jw_bool(j, "paypal", app_cfg.paypal_client_id != NULL);
		log_end(j);
	}
}

void
kore_worker_configure(void)
{
	(void)snprintf(app_instance, sizeof(app_instance), "%s:%d",
	    app_env("INSTANCE_NAME", "apiscribe"), (int)getpid());

	pgsql_conn_max = (u_int16_t)app_env_num("DB_POOL_PER_WORKER", 12, 4,
	    100);
	if (!kore_pgsql_register(APP_DB, app_cfg.database_url))
		fatal("cannot register the database");

	db_init();
	api_init();
	health_init();
	payments_init();
	capture_init();
	proxy_init();
	docs_init();
	jobs_init();
	alerts_init();
	mail_init();
	kore_timer_add(app_housekeeping, 60 * 1000, NULL, 0);
}

/* SIGTERM: captured calls still in memory are written before exit. */
void
kore_worker_teardown(void)
{
	jobs_teardown();
	capture_shutdown();
}

/* Once a minute: expired sessions and old rate counters go away. */
static struct db_call	app_house_db;
static int		app_house_busy;

static void
app_housekeeping(void *arg, u_int64_t now)
{
	if (app_house_busy)
		return;
	app_house_busy = 1;
	db_call_init(&app_house_db);
	db_start(&app_house_db,
	    "WITH s AS (DELETE FROM sessions WHERE expires_at < now()), "
	    "r AS (DELETE FROM rate_counters "
	    "    WHERE window_start < now() - interval '1 day') "
	    "SELECT 1", app_housekeeping_done, NULL);
}

static void
app_housekeeping_done(struct db_call *c, void *arg)
{
	if (db_failed(c))
		log_msg(LOG_LVL_WARN, "housekeeping.failed", NULL, c->error);
	db_call_clear(c);
	app_house_busy = 0;
}
