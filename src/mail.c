/*
 * Email through SMTP, when SMTP_URL is set (smtp://host:port, or
 * smtps:// for TLS from the start; SMTP_STARTTLS=1 insists on STARTTLS).
 *
 * Nothing here decides what to mail. The outbox table (sql/006_ops.sql)
 * is filled by a trigger on notifications (documentation ready or
 * failed, payment completed) and by the alert evaluator; this module
 * only drains it. The first worker of each instance claims due rows
 * (FOR UPDATE SKIP LOCKED, so instances never send the same email),
 * hands them to a Kore task thread that talks SMTP through libcurl's
 * blocking API, and records each result: sent, or retried later with a
 * growing delay, or given up after MAIL_MAX_ATTEMPTS. It is woken by
 * NOTIFY mail and, in case a notification is missed, every
 * MAIL_POLL_SECONDS.
 *
 * SMTP_USER and SMTP_PASSWORD, when set, log in; they are never logged.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include <kore/kore.h>
#include <kore/tasks.h>

#include "app.h"
#include "db.h"
#include "jsonw.h"
#include "log.h"
#include "mail.h"
#include "mailmsg.h"
#include "metrics.h"

#define MAIL_BATCH	10
#define MAIL_LEASE	300

struct mail_item {
	long long	 id;
	char		*to;
	char		*subject;
	char		*body;
	int		 ok;
	char		 error[CURL_ERROR_SIZE + 64];
};

struct mail_batch {
	struct kore_task	 task;	/* first: the callback gets this */
	struct mail_item	 items[MAIL_BATCH];
	int			 n;
};

/* What the read callback hands libcurl, piece by piece. */
struct mail_upload {
	const char	*data;
	size_t		 len;
	size_t		 off;
};

static void	mail_wake(const char *, void *);
static void	mail_tick(void *, u_int64_t);
static void	mail_claim(void);
static void	mail_claimed(struct db_call *, void *);
static int	mail_task(struct kore_task *);
static void	mail_task_done(struct kore_task *);
static void	mail_recorded(struct db_call *, void *);
static void	mail_batch_free(struct mail_batch *);
static int	mail_send_one(struct mail_item *, long long);
static size_t	mail_read(char *, size_t, size_t, void *);

static struct db_call	 mail_db;
static int		 mail_busy;
static int		 mail_again;
static int		 mail_timeout;
static int		 mail_max_attempts;
static int		 mail_starttls;
static const char	*mail_user;
static const char	*mail_password;
static char		 mail_from_addr[256];

void
mail_init(void)
{
	const char	*bra;
	size_t		 n;
	long		 poll;

	if (app_cfg.smtp_url == NULL || worker == NULL || worker->id != 1)
		return;

	mail_timeout = (int)app_env_num("SMTP_TIMEOUT_SECONDS", 30, 1, 600);
	mail_max_attempts = (int)app_env_num("MAIL_MAX_ATTEMPTS", 5, 1, 50);
	mail_starttls = (int)app_env_num("SMTP_STARTTLS", 0, 0, 1);
	poll = app_env_num("MAIL_POLL_SECONDS", 5, 1, 3600);
	mail_user = app_env("SMTP_USER", NULL);
	mail_password = app_env("SMTP_PASSWORD", NULL);

	/* The envelope sender is the address inside SMTP_FROM. */
	if ((bra = strrchr(app_cfg.smtp_from, '<')) != NULL) {
		n = strcspn(bra + 1, ">");
		if (n >= sizeof(mail_from_addr))
			n = 0;
		memcpy(mail_from_addr, bra + 1, n);
		mail_from_addr[n] = '\0';
	} else {
		(void)kore_strlcpy(mail_from_addr, app_cfg.smtp_from,
		    sizeof(mail_from_addr));
	}
	if (!mailmsg_address_ok(mail_from_addr))
		fatal("SMTP_FROM must hold an email address");

	db_call_init(&mail_db);
	db_listen("mail", mail_wake, mail_wake, NULL);
	kore_timer_add(mail_tick, (u_int64_t)poll * 1000, NULL, 0);
	kore_timer_add(mail_tick, 500, NULL, KORE_TIMER_ONESHOT);
	log_msg(LOG_LVL_INFO, "mail.enabled", NULL,
	    "notifications are also sent by email");
}

static void
mail_wake(const char *payload, void *arg)
{
	mail_claim();
}

static void
mail_tick(void *arg, u_int64_t now)
{
	mail_claim();
}

static void
mail_claim(void)
{
	char	lease[16], batch[16];

	if (mail_busy) {
		mail_again = 1;
		return;
	}
	mail_busy = 1;
	mail_again = 0;

	(void)snprintf(lease, sizeof(lease), "%d", MAIL_LEASE);
	(void)snprintf(batch, sizeof(batch), "%d", MAIL_BATCH);
	db_call_clear(&mail_db);
	if (db_param_text(&mail_db, app_instance) == -1 ||
	    db_param_text(&mail_db, batch) == -1 ||
	    db_param_text(&mail_db, lease) == -1) {
		db_call_clear(&mail_db);
		mail_busy = 0;
		return;
	}
	db_start(&mail_db,
	    "SELECT mail_id, to_addr, subject, body "
	    "FROM mail_claim($1, $2::int, $3::int)",
	    mail_claimed, NULL);
}

static void
mail_claimed(struct db_call *c, void *arg)
{
	struct mail_batch	*b;
	struct mail_item	*it;
	int			 i, rows;

	if (db_failed(c)) {
		log_msg(LOG_LVL_WARN, "mail.claim_failed", NULL, c->error);
		db_call_clear(c);
		mail_busy = 0;
		return;
	}
	if ((rows = db_rows(c)) == 0) {
		db_call_clear(c);
		mail_busy = 0;
		if (mail_again)
			mail_claim();
		return;
	}

	if ((b = calloc(1, sizeof(*b))) == NULL)
		goto fail;
	for (i = 0; i < rows && i < MAIL_BATCH; i++) {
		it = &b->items[i];
		it->id = db_int(c, i, 0);
		b->n++;
		if ((it->to = strdup(db_value(c, i, 1))) == NULL ||
		    (it->subject = strdup(db_value(c, i, 2))) == NULL ||
		    (it->body = strdup(db_value(c, i, 3))) == NULL)
			goto fail;
	}
	db_call_clear(c);

	kore_task_create(&b->task, mail_task);
	kore_task_bind_callback(&b->task, mail_task_done);
	kore_task_run(&b->task);
	return;

fail:
	/* The rows go back to the outbox when their lease runs out. */
	log_msg(LOG_LVL_ERROR, "mail.failed", NULL, "out of memory");
	if (b != NULL)
		mail_batch_free(b);
	db_call_clear(c);
	mail_busy = 0;
}

static void
mail_batch_free(struct mail_batch *b)
{
	int	i;

	for (i = 0; i < b->n; i++) {
		free(b->items[i].to);
		free(b->items[i].subject);
		free(b->items[i].body);
	}
	free(b);
}

/* In a task thread: libcurl's blocking calls, nothing of Kore's. */
static int
mail_task(struct kore_task *t)
{
	struct mail_batch	*b = (struct mail_batch *)t;
	long long		 now;
	int			 i;

	now = (long long)time(NULL);
	for (i = 0; i < b->n; i++)
		b->items[i].ok = mail_send_one(&b->items[i], now) == 0;
	return (KORE_RESULT_OK);
}

static size_t
mail_read(char *buf, size_t size, size_t nitems, void *arg)
{
	struct mail_upload	*u = arg;
	size_t			 n;

	n = size * nitems;
	if (n > u->len - u->off)
		n = u->len - u->off;
	memcpy(buf, u->data + u->off, n);
	u->off += n;
	return (n);
}

static int
mail_send_one(struct mail_item *it, long long now)
{
	struct mail_upload	 up;
	struct curl_slist	*rcpt;
	CURL			*curl;
	CURLcode		 rc;
	char			*msg, msgid[64], errbuf[CURL_ERROR_SIZE];
	size_t			 len;

	(void)snprintf(msgid, sizeof(msgid), "apiscribe.%lld.%lld", it->id,
	    now);
	msg = mailmsg_build(app_cfg.smtp_from, it->to, it->subject, it->body,
	    msgid, (time_t)now, &len);
	if (msg == NULL) {
		(void)snprintf(it->error, sizeof(it->error),
		    "the message could not be built (bad address?)");
		return (-1);
	}

	rcpt = NULL;
	if ((curl = curl_easy_init()) == NULL ||
	    (rcpt = curl_slist_append(NULL, it->to)) == NULL) {
		(void)snprintf(it->error, sizeof(it->error), "out of memory");
		free(msg);
		if (curl != NULL)
			curl_easy_cleanup(curl);
		return (-1);
	}

	up.data = msg;
	up.len = len;
	up.off = 0;
	errbuf[0] = '\0';
	(void)curl_easy_setopt(curl, CURLOPT_URL, app_cfg.smtp_url);
	(void)curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	(void)curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(curl, CURLOPT_PROXY, "");
	(void)curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)mail_timeout);
	(void)curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT,
	    (long)mail_timeout);
	(void)curl_easy_setopt(curl, CURLOPT_MAIL_FROM, mail_from_addr);
	(void)curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
	(void)curl_easy_setopt(curl, CURLOPT_READFUNCTION, mail_read);
	(void)curl_easy_setopt(curl, CURLOPT_READDATA, &up);
	(void)curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
	(void)curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	if (mail_starttls)
		(void)curl_easy_setopt(curl, CURLOPT_USE_SSL,
		    (long)CURLUSESSL_ALL);
	if (mail_user != NULL) {
		(void)curl_easy_setopt(curl, CURLOPT_USERNAME, mail_user);
		(void)curl_easy_setopt(curl, CURLOPT_PASSWORD,
		    mail_password != NULL ? mail_password : "");
	}

	rc = curl_easy_perform(curl);
	if (rc != CURLE_OK) {
		(void)snprintf(it->error, sizeof(it->error), "%s%s%s",
		    curl_easy_strerror(rc), errbuf[0] ? ": " : "", errbuf);
	}

	curl_slist_free_all(rcpt);
	curl_easy_cleanup(curl);
	free(msg);
	return (rc == CURLE_OK ? 0 : -1);
}

/* Back in the event loop: record every result in one statement. */
static void
mail_task_done(struct kore_task *t)
{
	struct mail_batch	*b = (struct mail_batch *)t;
	struct jw		 j, *l;
	char			 attempts[16];
	int			 i;

	if (kore_task_state(t) != KORE_TASK_STATE_FINISHED)
		return;
	kore_task_destroy(t);

	jw_init(&j, 512);
	jw_arr_open(&j, NULL);
	for (i = 0; i < b->n; i++) {
		jw_obj_open(&j, NULL);
		jw_int(&j, "id", b->items[i].id);
		jw_bool(&j, "ok", b->items[i].ok);
		if (!b->items[i].ok)
			jw_str(&j, "error", b->items[i].error);
		jw_obj_close(&j);

		metrics_add(b->items[i].ok ? &metrics->mail_sent :
		    &metrics->mail_failed, 1);
		if ((l = log_begin(b->items[i].ok ? LOG_LVL_INFO :
		    LOG_LVL_WARN, b->items[i].ok ? "mail.sent" :
		    "mail.failed", NULL)) != NULL) {
			jw_int(l, "mailId", b->items[i].id);
			if (!b->items[i].ok)
				jw_str(l, "error", b->items[i].error);
			log_end(l);
		}
	}
	jw_arr_close(&j);
	jw_append(&j, "", 1);
	mail_batch_free(b);

	(void)snprintf(attempts, sizeof(attempts), "%d", mail_max_attempts);
	db_call_clear(&mail_db);
	if (j.err || db_param_text(&mail_db, j.buf) == -1 ||
	    db_param_text(&mail_db, app_instance) == -1 ||
	    db_param_text(&mail_db, attempts) == -1) {
		jw_free(&j);
		db_call_clear(&mail_db);
		mail_busy = 0;
		return;
	}
	jw_free(&j);
	db_start(&mail_db,
	    "SELECT count(*) FROM json_to_recordset($1::json) "
	    "    AS x(id bigint, ok boolean, error text), "
	    "LATERAL mail_done(x.id, $2, x.ok, x.error, $3::int)",
	    mail_recorded, NULL);
}

static void
mail_recorded(struct db_call *c, void *arg)
{
	if (db_failed(c))
		log_msg(LOG_LVL_WARN, "mail.record_failed", NULL, c->error);
	db_call_clear(c);
	mail_busy = 0;

	/* A full batch likely left more behind. */
	mail_claim();
}
