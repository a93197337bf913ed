/*
 * Structured logs: one JSON object per line on standard output, with a
 * time, a level, an event name and the fields the caller adds.
 *
 *	struct jw *j;
 *
 *	if ((j = log_begin(LOG_LVL_INFO, "user.registered", rid)) != NULL) {
 *		jw_str(j, "userId", uid);
 *		log_end(j);
 *	}
 *
 * Never pass a password, token, secret or captured body to a log line.
 */

#ifndef LOG_H
#define LOG_H

#include "jsonw.h"

#define LOG_LVL_ERROR	0
#define LOG_LVL_WARN	1
#define LOG_LVL_INFO	2
#define LOG_LVL_DEBUG	3

void		 log_init(const char *);
int		 log_enabled(int);
struct jw	*log_begin(int, const char *, const char *);
void		 log_end(struct jw *);
void		 log_msg(int, const char *, const char *, const char *);

#endif
