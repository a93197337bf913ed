/*
 * The admin API: one route (/api/admin/...) whose router refuses, and
 * audits, every signed-in account that is not an admin before it looks
 * any further. Other modules hand it steps for their admin views (the
 * dashboard's metrics, the alerts).
 */

#ifndef ADMIN_H
#define ADMIN_H

#include "api.h"

int	admin_query_bool(struct api_ctx *, const char *, const char **);

/* Steps run by the admin router for other modules. */
void	metricsapi_dashboard(struct api_ctx *);
void	alerts_admin_list(struct api_ctx *);
void	alerts_admin_history(struct api_ctx *);

#endif
