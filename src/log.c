/*
 * JSON log lines.
 *
 * Each line is built in a per-process buffer and written with a single
 * write(2), so lines from different workers sharing standard output never
 * interleave. Task threads log too, so the buffer is per thread.
 */

#include <sys/time.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int			log_level = LOG_LVL_INFO;
static __thread struct jw	log_buf;
static __thread int		log_busy;

static const char *log_names[] = { "ERROR", "WARN", "INFO", "DEBUG" };

void
log_init(const char *level)
{
	int	i;

	if (level == NULL || *level == '\0')
		return;
	for (i = 0; i <= LOG_LVL_DEBUG; i++) {
		if (strcasecmp(level, log_names[i]) == 0)
			log_level = i;
	}
}

int
log_enabled(int level)
{
	return (level <= log_level);
}

struct jw *
log_begin(int level, const char *event, const char *rid)
{
	struct timeval	tv;
	struct tm	tm;
	char		ts[64];

	if (!log_enabled(level) || log_busy)
		return (NULL);

	if (log_buf.buf == NULL)
		jw_init(&log_buf, 512);
	else
		jw_reset(&log_buf);
	log_busy = 1;

	(void)gettimeofday(&tv, NULL);
	(void)gmtime_r(&tv.tv_sec, &tm);
	(void)snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000));

	jw_obj_open(&log_buf, NULL);
	jw_str(&log_buf, "time", ts);
	jw_str(&log_buf, "level", log_names[level]);
	jw_str(&log_buf, "event", event);
	jw_int(&log_buf, "pid", (int64_t)getpid());
	if (rid != NULL && *rid != '\0')
		jw_str(&log_buf, "requestId", rid);
	return (&log_buf);
}

void
log_end(struct jw *j)
{
	ssize_t	 n;
	size_t	 off;

	if (j == NULL)
		return;
	jw_obj_close(j);
	jw_append(j, "\n", 1);
	log_busy = 0;
	if (j->err)
		return;

	off = 0;
	while (off < j->len) {
		n = write(STDOUT_FILENO, j->buf + off, j->len - off);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
}

/* A line with a message and nothing else. */
void
log_msg(int level, const char *event, const char *rid, const char *msg)
{
	struct jw	*j;

	if ((j = log_begin(level, event, rid)) == NULL)
		return;
	jw_str(j, "message", msg);
	log_end(j);
}
