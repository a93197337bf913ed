/*
 * Checks on what users type: email addresses, passwords, names. Pure
 * functions that return NULL when the input is fine and otherwise a
 * sentence for the API's error message.
 */

#ifndef VALIDATE_H
#define VALIDATE_H

#define VALIDATE_EMAIL_MAX	254
#define VALIDATE_PASSWORD_MIN	10
#define VALIDATE_PASSWORD_MAX	128
#define VALIDATE_NAME_MAX	100

const char	*validate_email(const char *);
const char	*validate_password(const char *, const char *);
const char	*validate_name(const char *);

#endif
