/*
 * The life of one alert rule, free of Kore and the database so that it
 * can be tested on its own: a condition that holds makes the rule
 * pending, and firing once it has held for the rule's duration; the
 * first evaluation where it no longer holds resolves it. An evaluation
 * that could not be made (its figures were unavailable) changes
 * nothing.
 */

#ifndef ALERTRULE_H
#define ALERTRULE_H

#include <stdint.h>

#define ALERT_INACTIVE	0
#define ALERT_PENDING	1
#define ALERT_FIRING	2

/* What alertrule_step() did. */
#define ALERT_NO_CHANGE	0
#define ALERT_FIRED	1
#define ALERT_RESOLVED	2

#define ALERT_UNKNOWN	(-1)	/* the condition could not be evaluated */

struct alertrule_state {
	int	state;
	int64_t	since;		/* when the state began (seconds) */
	int64_t	fired_at;	/* when it last started firing */
};

int		 alertrule_step(struct alertrule_state *, int, int64_t,
		    int64_t);
const char	*alertrule_state_name(int);

/*
 * A failure share over a window: failed / total, and whether it is over
 * `threshold` with at least `min_total` cases behind it.
 */
int		 alertrule_ratio(uint64_t, uint64_t, double, uint64_t,
		    double *);

#endif
