/*
 * Building one plain-text email for SMTP, free of Kore and libcurl so
 * that it can be tested on its own: the header lines (with the subject
 * encoded when it is not ASCII and stripped of anything that could start
 * a new header), then the body with CRLF line ends.
 */

#ifndef MAILMSG_H
#define MAILMSG_H

#include <stddef.h>
#include <time.h>

int	mailmsg_address_ok(const char *);
char	*mailmsg_build(const char *, const char *, const char *,
	    const char *, const char *, time_t, size_t *);

#endif
