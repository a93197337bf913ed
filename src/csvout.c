/*
 * CSV fields and rows (see csvout.h).
 */

#include <string.h>

#include "csvout.h"

/*
 * Writes one field, preceded by a comma unless it is the row's first.
 * Returns -1 when the stream fails.
 */
int
csvout_field(FILE *fp, const char *s, size_t len, int kind, int first)
{
	size_t	i;
	int	quote, neutral;

	if (s == NULL) {
		s = "";
		len = 0;
	}
	if (!first && putc(',', fp) == EOF)
		return (-1);

	neutral = kind == CSVOUT_TEXT && len > 0 && strchr("=+-@\t\r",
	    s[0]) != NULL;
	quote = neutral;
	for (i = 0; i < len && !quote; i++) {
		if (s[i] == ',' || s[i] == '"' || s[i] == '\r' ||
		    s[i] == '\n')
			quote = 1;
	}

	if (quote && putc('"', fp) == EOF)
		return (-1);
	if (neutral && putc('\'', fp) == EOF)
		return (-1);
	for (i = 0; i < len; i++) {
		if (s[i] == '"' && putc('"', fp) == EOF)
			return (-1);
		if (putc((unsigned char)s[i], fp) == EOF)
			return (-1);
	}
	if (quote && putc('"', fp) == EOF)
		return (-1);
	return (0);
}

int
csvout_end(FILE *fp)
{
	return (fputs("\r\n", fp) == EOF ? -1 : 0);
}

/* Well-formed UTF-8 without NUL: shortest forms, no surrogates. */
int
csvout_utf8_ok(const unsigned char *s, size_t len)
{
	size_t		i, n, k;
	unsigned int	cp, min;

	for (i = 0; i < len; i += n) {
		if (s[i] == 0)
			return (0);
		if (s[i] < 0x80) {
			n = 1;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			n = 2;
			cp = s[i] & 0x1f;
			min = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			n = 3;
			cp = s[i] & 0x0f;
			min = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			n = 4;
			cp = s[i] & 0x07;
			min = 0x10000;
		} else {
			return (0);
		}
		if (i + n > len)
			return (0);
		for (k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return (0);
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return (0);
	}
	return (1);
}
