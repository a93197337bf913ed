/*
 * The proxy's per-endpoint rate limit, counted in memory shared by the
 * workers of one instance (the proxy's hot path cannot afford a database
 * write per call).
 */

#ifndef RATELIMIT_H
#define RATELIMIT_H

void	ratelimit_init(void);
int	ratelimit_proxy_hit(const char *, int, int *);

#endif
