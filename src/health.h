/*
 * Health checks: the database and queue checks live in health.c; other
 * modules register checks they can answer from memory.
 */

#ifndef HEALTH_H
#define HEALTH_H

struct jw;

struct health_extra {
	const char		*name;
	/* Writes the check's members; returns 0 when it is unhealthy. */
	int			(*write)(struct jw *);
	struct health_extra	*next;
};

void	health_init(void);
void	health_register(struct health_extra *);

#endif
