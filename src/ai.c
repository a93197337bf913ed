/*
 * The Groq client.
 *
 * ai_describe() sends the inferred operations to the chat-completions
 * API a slice at a time (aimsg.c builds the prompts and checks the
 * replies) and merges what comes back into the discovery engine. It runs
 * in a job's thread with a plain libcurl easy handle, reused across the
 * job's requests so the connection is kept.
 *
 * Failures are expected and handled here, never passed on as a failed
 * job: a 429 waits for as long as Retry-After says (within
 * GROQ_RETRY_AFTER_MAX_SECONDS); 5xx answers, timeouts, dropped
 * connections and replies that fail the checks are retried with
 * exponential backoff, GROQ_MAX_ATTEMPTS tries in all; other 4xx answers
 * (a wrong key, a refused request) are not retried. Once a slice has
 * failed for good no more requests are made and the result is
 * AI_UNAVAILABLE: the documentation is published from inference alone.
 * Requests are also held to GROQ_MAX_REQUESTS_PER_MINUTE per endpoint,
 * counted in PostgreSQL through the caller's admit hook so that every
 * worker and instance shares the budget.
 *
 * The last call's outcome and latency are kept in memory shared by all
 * workers (mapped before they fork) for the health check.
 */

#include <sys/mman.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "ai.h"
#include "aimsg.h"
#include "app.h"
#include "discovery/disc.h"
#include "health.h"
#include "jsonw.h"
#include "log.h"
#include "metrics.h"

#define AI_REPLY_MAX	(4 * 1024 * 1024)
#define AI_SLICE_MS	250

struct ai_buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
	int	 overflow;
};

struct ai_call {
	CURL			*curl;
	const struct ai_hooks	*hooks;
	struct ai_buf		 body;
	long			 retry_after;	/* ms, -1 when absent */
	long			 latency;	/* ms of the last request */
	int			 stopped;
	struct timespec		 last_beat;
};

/* The last call, shared by every worker for /api/health. */
struct ai_shared {
	pthread_mutex_t	 lock;
	int		 called;
	int		 ok;
	long		 http_status;
	long		 latency_ms;
	time_t		 at;
	unsigned long	 calls;
	unsigned long	 failures;
	char		 error[160];
};

static int	ai_health_write(struct jw *);
static int	ai_exchange(struct ai_call *, struct disc_engine *,
		    const char *, struct aimsg_info *, struct ai_result *);
static long	ai_post(struct ai_call *, const char *, char *, size_t);
static int	ai_wait(struct ai_call *, long);
static int	ai_admit(struct ai_call *);
static void	ai_record(struct ai_call *, int, long, const char *);
static size_t	ai_write_cb(char *, size_t, size_t, void *);
static size_t	ai_header_cb(char *, size_t, size_t, void *);
static int	ai_progress_cb(void *, curl_off_t, curl_off_t, curl_off_t,
		    curl_off_t);
static long	ai_ms_since(const struct timespec *);

static struct ai_shared		*ai_shared;
static struct health_extra	 ai_health = { "groq", ai_health_write, NULL };

/* In the parent, before the workers fork. */
void
ai_init(void)
{
	pthread_mutexattr_t	attr;
	void			*p;

	p = mmap(NULL, sizeof(*ai_shared), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED) {
		ai_shared = p;
		memset(ai_shared, 0, sizeof(*ai_shared));
		if (pthread_mutexattr_init(&attr) != 0 ||
		    pthread_mutexattr_setpshared(&attr,
		    PTHREAD_PROCESS_SHARED) != 0 ||
		    pthread_mutex_init(&ai_shared->lock, &attr) != 0)
			ai_shared = NULL;
		(void)pthread_mutexattr_destroy(&attr);
	}
	health_register(&ai_health);
}

const char *
ai_status_name(int status)
{
	switch (status) {
	case AI_USED:
		return ("used");
	case AI_DISABLED:
		return ("disabled");
	default:
		return ("unavailable");
	}
}

/*
 * Describes every operation of an analysed engine. Returns 0 whatever
 * the model did (the outcome is in res), -1 only when a hook asked to
 * stop (the caller's job was lost).
 */
int
ai_describe(struct disc_engine *e, const char *api_name,
    const char *base_url, const struct ai_hooks *hooks,
    struct ai_result *res)
{
	struct ai_call		 call;
	struct aimsg_info	 info;
	char			*req;
	size_t			 off, nops, used;
	int			 rc;

	memset(res, 0, sizeof(*res));
	memset(&info, 0, sizeof(info));
	if (app_cfg.groq_api_key == NULL) {
		res->status = AI_DISABLED;
		return (0);
	}

	memset(&call, 0, sizeof(call));
	call.hooks = hooks;
	if ((call.curl = curl_easy_init()) == NULL) {
		res->status = AI_UNAVAILABLE;
		(void)snprintf(res->error, sizeof(res->error),
		    "the HTTP client could not start");
		return (0);
	}
	(void)clock_gettime(CLOCK_MONOTONIC, &call.last_beat);

	res->status = AI_USED;
	nops = disc_operation_count(e);
	rc = 0;
	for (off = 0; off < nops; off += used) {
		req = aimsg_request(e, off, (size_t)app_cfg.groq_ops_per_prompt,
		    (size_t)app_cfg.groq_prompt_max, app_cfg.groq_model,
		    api_name, base_url, &used);
		if (req == NULL || used == 0) {
			free(req);
			res->status = AI_UNAVAILABLE;
			(void)snprintf(res->error, sizeof(res->error),
			    "the prompt could not be built");
			break;
		}
		rc = ai_exchange(&call, e, req, &info, res);
		free(req);
		if (rc != 0)
			break;
		if (hooks != NULL && hooks->progress != NULL)
			hooks->progress(hooks->arg, off + used, nops);
	}

	if (rc == -2) {
		res->stopped = 1;
	} else if (info.title != NULL || info.description != NULL) {
		/* A model's title or description the engine refuses is
		 * simply not used. */
		(void)disc_set_info(e, info.title, info.description, NULL,
		    NULL, NULL);
	}
	res->described = (int)info.described;
	aimsg_info_clear(&info);
	free(call.body.data);
	curl_easy_cleanup(call.curl);
	return (res->stopped ? -1 : 0);
}

/*
 * One slice: the request and its retries. 0 when the reply was merged,
 * -1 when the model is unavailable (res->error says why), -2 when a hook
 * asked to stop.
 */
static int
ai_exchange(struct ai_call *call, struct disc_engine *e, const char *req,
    struct aimsg_info *info, struct ai_result *res)
{
	struct jw	*j;
	char		 cause[200];
	long		 status, wait;
	int		 attempt, retry;

	for (attempt = 1;; attempt++) {
		if (ai_admit(call) == -1)
			return (-2);

		res->requests++;
		status = ai_post(call, req, cause, sizeof(cause));
		if (call->stopped)
			return (-2);

		retry = 0;
		wait = -1;
		if (status == 200) {
			if (aimsg_apply(e, call->body.data, call->body.len,
			    info, cause, sizeof(cause)) == 0) {
				ai_record(call, 1, status, NULL);
				return (0);
			}
			ai_record(call, 0, status, cause);
			retry = 1;
		} else {
			ai_record(call, 0, status, cause);
			if (status == 0 || status == 408 || status == 429 ||
			    status >= 500)
				retry = 1;
			if (status == 429 || status == 503)
				wait = call->retry_after;
		}

		if (!retry) {
			(void)snprintf(res->error, sizeof(res->error),
			    "the model API refused the request: %s", cause);
			res->status = AI_UNAVAILABLE;
			return (-1);
		}
		if (wait > (long)app_cfg.groq_retry_after_max * 1000) {
			(void)snprintf(res->error, sizeof(res->error),
			    "rate limited for %ld s: %s", wait / 1000, cause);
			res->status = AI_UNAVAILABLE;
			return (-1);
		}
		if (attempt >= app_cfg.groq_max_attempts) {
			(void)snprintf(res->error, sizeof(res->error),
			    "%s (after %d attempts)", cause, attempt);
			res->status = AI_UNAVAILABLE;
			return (-1);
		}

		if (wait < 0)
			wait = (long)app_cfg.groq_backoff_ms << (attempt - 1);
		if ((j = log_begin(LOG_LVL_WARN, "ai.retry", NULL)) != NULL) {
			jw_int(j, "attempt", attempt);
			jw_int(j, "httpStatus", status);
			jw_int(j, "waitMs", wait);
			jw_str(j, "cause", cause);
			log_end(j);
		}
		if (ai_wait(call, wait) == -1)
			return (-2);
	}
}

/*
 * Sends one request. Returns the HTTP status, or 0 when no answer came
 * (timeout, refused or dropped connection); cause says what went wrong.
 * The body is in call->body.
 */
static long
ai_post(struct ai_call *call, const char *req, char *cause, size_t len)
{
	struct curl_slist	*hdrs;
	struct timespec		 t0;
	CURLcode		 rc;
	long			 status;
	char			 url[2048], auth[512], msg[160];
	CURL			*c = call->curl;

	call->body.len = 0;
	call->body.overflow = 0;
	call->retry_after = -1;
	cause[0] = '\0';

	(void)snprintf(url, sizeof(url), "%s/chat/completions",
	    app_cfg.groq_base_url);
	(void)snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
	    app_cfg.groq_api_key);
	hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	hdrs = curl_slist_append(hdrs, auth);
	explicit_bzero(auth, sizeof(auth));
	if (hdrs == NULL) {
		(void)snprintf(cause, len, "out of memory");
		return (0);
	}

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, req);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(req));
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)app_cfg.groq_timeout);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ai_write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, call);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, ai_header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, call);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, ai_progress_cb);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, call);

	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = curl_easy_perform(c);
	call->latency = ai_ms_since(&t0);
	curl_slist_free_all(hdrs);

	status = 0;
	if (rc != CURLE_OK) {
		if (rc == CURLE_ABORTED_BY_CALLBACK && call->stopped)
			(void)snprintf(cause, len, "stopped");
		else if (rc == CURLE_WRITE_ERROR && call->body.overflow)
			(void)snprintf(cause, len, "the reply is larger than "
			    "%d bytes", AI_REPLY_MAX);
		else
			(void)snprintf(cause, len, "%s",
			    curl_easy_strerror(rc));
		return (0);
	}
	(void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);

	if (status != 200) {
		if (aimsg_error_text(call->body.data, call->body.len, msg,
		    sizeof(msg)) == 0)
			(void)snprintf(cause, len, "HTTP %ld: %s", status, msg);
		else
			(void)snprintf(cause, len, "HTTP %ld", status);
	}
	return (status);
}

/* Asks the shared budget for a slot, waiting while it is spent. */
static int
ai_admit(struct ai_call *call)
{
	long	wait;

	if (call->hooks == NULL || call->hooks->admit == NULL)
		return (0);
	while ((wait = call->hooks->admit(call->hooks->arg)) > 0) {
		if (log_enabled(LOG_LVL_DEBUG))
			log_msg(LOG_LVL_DEBUG, "ai.rate_limited", NULL,
			    "the endpoint's request budget is spent; waiting");
		if (ai_wait(call, wait) == -1)
			return (-1);
	}
	return (0);
}

/* Sleeps in short slices, keeping the caller's job alive. */
static int
ai_wait(struct ai_call *call, long ms)
{
	struct timespec	ts;
	long		step;

	while (ms > 0) {
		if (call->hooks != NULL && call->hooks->beat != NULL &&
		    call->hooks->beat(call->hooks->arg) == -1) {
			call->stopped = 1;
			return (-1);
		}
		step = ms > AI_SLICE_MS ? AI_SLICE_MS : ms;
		ts.tv_sec = 0;
		ts.tv_nsec = step * 1000000L;
		(void)nanosleep(&ts, NULL);
		ms -= step;
	}
	return (0);
}

static long
ai_ms_since(const struct timespec *t0)
{
	struct timespec	now;

	(void)clock_gettime(CLOCK_MONOTONIC, &now);
	return ((long)(now.tv_sec - t0->tv_sec) * 1000 +
	    (now.tv_nsec - t0->tv_nsec) / 1000000);
}

/* Records the outcome of a request for the health check. */
static void
ai_record(struct ai_call *call, int ok, long status, const char *error)
{
	metrics_ai_request(ok);
	if (ai_shared == NULL)
		return;
	pthread_mutex_lock(&ai_shared->lock);
	ai_shared->called = 1;
	ai_shared->calls++;
	ai_shared->at = time(NULL);
	ai_shared->ok = ok;
	ai_shared->http_status = status;
	ai_shared->latency_ms = call->latency;
	ai_shared->error[0] = '\0';
	if (!ok) {
		ai_shared->failures++;
		(void)snprintf(ai_shared->error, sizeof(ai_shared->error),
		    "%s", error != NULL ? error : "failed");
	}
	pthread_mutex_unlock(&ai_shared->lock);
}

/*
 * The "groq" member of /api/health. A failing model does not make this
 * instance unfit to serve, so the check never fails the answer.
 */
static int
ai_health_write(struct jw *j)
{
	struct ai_shared	s;
	struct tm		tm;
	char			at[32];

	jw_bool(j, "configured", app_cfg.groq_api_key != NULL);
	jw_str(j, "model", app_cfg.groq_model);
	if (ai_shared == NULL) {
		jw_str(j, "status", "unknown");
		return (1);
	}
	pthread_mutex_lock(&ai_shared->lock);
	s = *ai_shared;
	pthread_mutex_unlock(&ai_shared->lock);

	if (app_cfg.groq_api_key == NULL)
		jw_str(j, "status", "disabled");
	else if (!s.called)
		jw_str(j, "status", "unused");
	else
		jw_str(j, "status", s.ok ? "ok" : "failing");

	jw_int(j, "calls", (int64_t)s.calls);
	jw_int(j, "failures", (int64_t)s.failures);
	if (!s.called) {
		jw_null(j, "lastCall");
		return (1);
	}
	(void)gmtime_r(&s.at, &tm);
	(void)strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
	jw_obj_open(j, "lastCall");
	jw_str(j, "at", at);
	jw_bool(j, "ok", s.ok);
	if (s.http_status != 0)
		jw_int(j, "httpStatus", s.http_status);
	else
		jw_null(j, "httpStatus");
	jw_int(j, "latencyMs", s.latency_ms);
	if (s.error[0] != '\0')
		jw_str(j, "error", s.error);
	else
		jw_null(j, "error");
	jw_obj_close(j);
	return (1);
}

static size_t
ai_write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct ai_call	*call = arg;
	struct ai_buf	*b = &call->body;
	size_t		 len = size * n, cap;
	char		*p;

	if (b->len + len + 1 > AI_REPLY_MAX) {
		b->overflow = 1;
		return (0);
	}
	if (b->len + len + 1 > b->cap) {
		/* Doubling keeps appends linear. */
		cap = b->cap ? b->cap : 16384;
		while (cap < b->len + len + 1)
			cap *= 2;
		if ((p = realloc(b->data, cap)) == NULL)
			return (0);
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return (len);
}

static size_t
ai_header_cb(char *data, size_t size, size_t n, void *arg)
{
	struct ai_call	*call = arg;
	size_t		 len = size * n;
	char		 line[256];
	static const char name[] = "retry-after:";

	if (len > sizeof(name) - 1 && len < sizeof(line) &&
	    strncasecmp(data, name, sizeof(name) - 1) == 0) {
		memcpy(line, data, len);
		line[len] = '\0';
		call->retry_after = aimsg_retry_after(line + sizeof(name) - 1,
		    (long)time(NULL));
	}
	return (len);
}

/* libcurl calls this about once a second during a transfer. */
static int
ai_progress_cb(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct ai_call	*call = arg;

	if (ai_ms_since(&call->last_beat) < AI_SLICE_MS)
		return (0);
	(void)clock_gettime(CLOCK_MONOTONIC, &call->last_beat);
	if (call->hooks != NULL && call->hooks->beat != NULL &&
	    call->hooks->beat(call->hooks->arg) == -1) {
		call->stopped = 1;
		return (1);
	}
	return (0);
}
