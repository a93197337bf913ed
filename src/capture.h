/*
 * The capture writer: each worker appends captured calls to a batch in
 * memory and writes batches to api_calls without the proxied call ever
 * waiting for the database.
 */

#ifndef CAPTURE_H
#define CAPTURE_H

#include <stddef.h>
#include <stdint.h>

/* One call as the proxy saw it; every pointer is copied by capture_add. */
struct capture_call {
	const char		*endpoint_id;
	int64_t			 ts_us;		/* request start, Unix time */
	const char		*method;
	const char		*path;
	const char		*query;		/* NULL when there was none */
	const char		*req_headers;	/* JSON object */
	const void		*req_body;
	size_t			 req_body_len;
	const char		*req_type;
	int			 status;	/* 0 when no response came */
	const char		*resp_headers;
	const void		*resp_body;
	size_t			 resp_body_len;
	const char		*resp_type;
	int			 duration_ms;
	int64_t			 req_size;
	int64_t			 resp_size;
	int			 req_truncated;
	int			 resp_truncated;
	int			 redacted;
	const char		*error;
};

struct capture_stats {
	uint64_t	captured;	/* rows written */
	uint64_t	dropped;	/* lost: buffer full or rows refused */
	uint64_t	failures;	/* failed flush attempts */
	uint64_t	buffered;	/* rows waiting now */
};

void	capture_init(void);
int	capture_add(const struct capture_call *);
void	capture_shutdown(void);
void	capture_stats(struct capture_stats *);

#endif
