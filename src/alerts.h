/*
 * Alerts evaluated by the server itself (DESIGN section 12): the rules
 * of the operations thresholds, checked on a timer by one worker of each
 * instance, with their current state in shared memory for every worker
 * and their history in the alert_events table.
 */

#ifndef ALERTS_H
#define ALERTS_H

struct jw;

void	alerts_init(void);
void	alerts_prometheus(struct jw *);
void	alerts_dashboard(struct jw *);

#endif
