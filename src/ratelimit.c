/*
 * Per-endpoint limits for the proxy.
 *
 * A table of slots in an anonymous shared mapping, made by the parent
 * before the workers are forked: each slot holds an endpoint id, the
 * minute it counts and the count. A slot is found by hashing the id and
 * probing a few neighbours; a tiny spin lock per slot keeps the workers'
 * updates whole. When every probed slot is busy with other endpoints of
 * the current minute the call is let through: the limit protects an
 * upstream from floods, it is not a billing meter.
 *
 * XXX The count is per instance: with several instances behind a load
 * balancer each enforces PROXY_RATE_LIMIT on its own share of traffic.
 * The API's limits (src/api.c) are counted in PostgreSQL and are exact
 * across instances.
 */

#include <sys/mman.h>

#include <stdint.h>
#include <string.h>
#include <time.h>

#include <kore/kore.h>

#include "ratelimit.h"

#define RL_SLOTS	8192
#define RL_PROBES	8

struct rl_slot {
	uint32_t	lock;
	uint32_t	count;
	int64_t		minute;
	char		id[40];
};

static struct rl_slot	*slots;

void
ratelimit_init(void)
{
	void	*p;

	p = mmap(NULL, sizeof(*slots) * RL_SLOTS, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		fatal("ratelimit: mmap: %s", errno_s);
	memset(p, 0, sizeof(*slots) * RL_SLOTS);
	slots = p;
}

static uint32_t
rl_hash(const char *id)
{
	uint32_t	h = 2166136261u;

	while (*id != '\0') {
		h ^= (unsigned char)*id++;
		h *= 16777619u;
	}
	return (h);
}

/*
 * Counts one call for the endpoint. Returns 1 when it is within `limit`
 * calls this minute (0 means no limit), else 0 with the seconds until the
 * next minute in *retry.
 */
int
ratelimit_proxy_hit(const char *id, int limit, int *retry)
{
	struct rl_slot	*s;
	time_t		 now;
	int64_t		 minute;
	uint32_t	 h, i;
	int		 ok;

	if (limit <= 0 || slots == NULL)
		return (1);

	now = time(NULL);
	minute = now / 60;
	*retry = (int)(60 - now % 60);
	h = rl_hash(id);

	for (i = 0; i < RL_PROBES; i++) {
		s = &slots[(h + i) % RL_SLOTS];
		while (__atomic_test_and_set(&s->lock, __ATOMIC_ACQUIRE))
			;
		if (strcmp(s->id, id) == 0 || s->minute != minute ||
		    s->id[0] == '\0') {
			if (strcmp(s->id, id) != 0 || s->minute != minute) {
				(void)kore_strlcpy(s->id, id, sizeof(s->id));
				s->minute = minute;
				s->count = 0;
			}
			ok = s->count < (uint32_t)limit;
			if (ok)
				s->count++;
			__atomic_clear(&s->lock, __ATOMIC_RELEASE);
			return (ok);
		}
		__atomic_clear(&s->lock, __ATOMIC_RELEASE);
	}
	return (1);
}
