/*
 * Writing CSV for spreadsheets (RFC 4180), free of Kore so that it can
 * be tested on its own. Fields that need it are quoted with inner quotes
 * doubled; rows end in CRLF. Text that a spreadsheet would run as a
 * formula (starting with = + - @, a tab or a carriage return) gets a
 * leading apostrophe, so a captured call cannot smuggle one in.
 */

#ifndef CSVOUT_H
#define CSVOUT_H

#include <stdio.h>

#define CSVOUT_TEXT	1	/* neutralise formulas */
#define CSVOUT_PLAIN	0	/* a number or a value of ours */

int	csvout_field(FILE *, const char *, size_t, int, int);
int	csvout_end(FILE *);
int	csvout_utf8_ok(const unsigned char *, size_t);

#endif
