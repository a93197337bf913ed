/*
 * The state machine of one alert rule (see alertrule.h).
 */

#include <stddef.h>

#include "alertrule.h"

/*
 * Advances a rule by one evaluation at time `now`: `cond` is 1 when the
 * rule's condition holds, 0 when not, ALERT_UNKNOWN when it could not be
 * evaluated. `hold` is how long (seconds) it must hold before it fires;
 * 0 fires at once.
 */
int
alertrule_step(struct alertrule_state *s, int cond, int64_t now,
    int64_t hold)
{
	if (cond == ALERT_UNKNOWN)
		return (ALERT_NO_CHANGE);

	if (!cond) {
		if (s->state == ALERT_FIRING) {
			s->state = ALERT_INACTIVE;
			s->since = now;
			return (ALERT_RESOLVED);
		}
		if (s->state == ALERT_PENDING) {
			s->state = ALERT_INACTIVE;
			s->since = now;
		}
		return (ALERT_NO_CHANGE);
	}

	switch (s->state) {
	case ALERT_FIRING:
		return (ALERT_NO_CHANGE);
	case ALERT_PENDING:
		break;
	default:
		s->state = ALERT_PENDING;
		s->since = now;
		break;
	}

	if (now - s->since >= hold) {
		s->state = ALERT_FIRING;
		s->fired_at = now;
		/* The alert counts from when its condition began. */
		return (ALERT_FIRED);
	}
	return (ALERT_NO_CHANGE);
}

const char *
alertrule_state_name(int state)
{
	switch (state) {
	case ALERT_PENDING:
		return ("pending");
	case ALERT_FIRING:
		return ("firing");
	default:
		return ("inactive");
	}
}

int
alertrule_ratio(uint64_t failed, uint64_t total, double threshold,
    uint64_t min_total, double *out)
{
	*out = total > 0 ? (double)failed / (double)total : 0;
	if (total == 0 || total < min_total)
		return (0);
	return (*out > threshold);
}
