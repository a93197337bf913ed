/*
 * In-app notifications: the routes that list them and mark them read,
 * and a helper other modules use to tell a user something. SQL code
 * calls notification_add() (sql/004_jobs.sql) in its own transaction
 * instead.
 */

#ifndef NOTIFY_H
#define NOTIFY_H

void	notify_send(const char *, const char *, const char *);

#endif
