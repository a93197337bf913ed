/*
 * Email: drains the outbox of sql/006_ops.sql through SMTP when
 * SMTP_URL is set. mail_init() runs in each worker; only the first one
 * of an instance sends.
 */

#ifndef MAIL_H
#define MAIL_H

void	mail_init(void);

#endif
