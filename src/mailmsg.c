/*
 * One plain-text email as SMTP's DATA wants it (see mailmsg.h).
 *
 * Header injection is the danger: an endpoint's name ends up in a
 * subject, so control characters are replaced by spaces before the
 * subject is written, and addresses with anything but the characters an
 * address needs are refused. A subject that is not ASCII is written as
 * RFC 2047 base64 words. Lines of the body end in CRLF; libcurl adds the
 * dot-stuffing SMTP needs for lines that start with a dot.
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mailmsg.h"

struct mailmsg_buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
	int	 err;
};

static void	mailmsg_put(struct mailmsg_buf *, const char *, size_t);
static void	mailmsg_puts(struct mailmsg_buf *, const char *);
static void	mailmsg_subject(struct mailmsg_buf *, const char *);
static void	mailmsg_b64(struct mailmsg_buf *, const unsigned char *,
		    size_t);

/* local@domain, no blanks, no controls, no <>()[],;:" or backslash. */
int
mailmsg_address_ok(const char *a)
{
	const char	*at;
	size_t		 i, len;

	if (a == NULL || (len = strlen(a)) < 3 || len > 254)
		return (0);
	if ((at = strchr(a, '@')) == NULL || at == a || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL)
		return (0);
	for (i = 0; i < len; i++) {
		if ((unsigned char)a[i] <= 0x20 || a[i] == 0x7f ||
		    strchr("<>()[],;:\"\\", a[i]) != NULL)
			return (0);
	}
	return (1);
}

static void
mailmsg_put(struct mailmsg_buf *b, const char *s, size_t n)
{
	char	*np;
	size_t	 cap;

	if (b->err)
		return;
	if (b->len + n + 1 > b->cap) {
		cap = (b->len + n + 1) * 2;
		if ((np = realloc(b->p, cap)) == NULL) {
			b->err = 1;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
mailmsg_puts(struct mailmsg_buf *b, const char *s)
{
	mailmsg_put(b, s, strlen(s));
}

static void
mailmsg_b64(struct mailmsg_buf *b, const unsigned char *s, size_t n)
{
	static const char	 tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char			 out[4];
	size_t			 i;
	unsigned int		 v;

	for (i = 0; i < n; i += 3) {
		v = (unsigned int)s[i] << 16;
		if (i + 1 < n)
			v |= (unsigned int)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		out[0] = tab[(v >> 18) & 63];
		out[1] = tab[(v >> 12) & 63];
		out[2] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		out[3] = i + 2 < n ? tab[v & 63] : '=';
		mailmsg_put(b, out, 4);
	}
}

/*
 * The Subject header. Controls become spaces; a subject with bytes
 * above 0x7f goes out as encoded words of at most 42 bytes each, cut
 * between UTF-8 sequences, so no header line grows past 78 characters.
 */
static void
mailmsg_subject(struct mailmsg_buf *b, const char *subject)
{
	unsigned char	*s;
	size_t		 i, len, start, n;
	int		 ascii;

	len = strlen(subject);
	if ((s = malloc(len + 1)) == NULL) {
		b->err = 1;
		return;
	}
	ascii = 1;
	for (i = 0; i < len; i++) {
		s[i] = (unsigned char)subject[i];
		if (s[i] < 0x20 || s[i] == 0x7f)
			s[i] = ' ';
		if (s[i] > 0x7f)
			ascii = 0;
	}
	s[len] = '\0';

	mailmsg_puts(b, "Subject: ");
	if (ascii) {
		mailmsg_put(b, (const char *)s, len);
	} else {
		for (start = 0; start < len; start += n) {
			n = len - start > 42 ? 42 : len - start;
			while (start + n < len && (s[start + n] & 0xc0) == 0x80)
				n--;
			if (n == 0)
				n = 1;
			if (start > 0)
				mailmsg_puts(b, "\r\n ");
			mailmsg_puts(b, "=?UTF-8?B?");
			mailmsg_b64(b, s + start, n);
			mailmsg_puts(b, "?=");
		}
	}
	mailmsg_puts(b, "\r\n");
	free(s);
}

/*
 * The whole message: From, To, Subject, Date, Message-ID (from
 * `msgid`, a unique local part) and the MIME headers, a blank line, and
 * the body with every line ending in CRLF. NULL when an address is not
 * one or memory runs out; the caller frees the result.
 */
char *
mailmsg_build(const char *from, const char *to, const char *subject,
    const char *body, const char *msgid, time_t now, size_t *outlen)
{
	struct mailmsg_buf	 b;
	struct tm		 tm;
	const char		*p, *domain, *bra;
	char			 date[64], addr[256], line[512];
	size_t			 n;

	memset(&b, 0, sizeof(b));

	/* From may be "Name <addr>"; only the address is checked. */
	bra = strrchr(from, '<');
	if (bra != NULL) {
		n = strcspn(bra + 1, ">");
		if (n >= sizeof(addr) || bra[1 + n] != '>')
			return (NULL);
		memcpy(addr, bra + 1, n);
		addr[n] = '\0';
	} else if (strlen(from) < sizeof(addr)) {
		(void)strcpy(addr, from);
	} else {
		return (NULL);
	}
	if (!mailmsg_address_ok(addr) || !mailmsg_address_ok(to) ||
	    strpbrk(from, "\r\n") != NULL)
		return (NULL);
	domain = strchr(addr, '@') + 1;

	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000",
	    &tm) == 0)
		return (NULL);

	mailmsg_puts(&b, "From: ");
	mailmsg_puts(&b, from);
	mailmsg_puts(&b, "\r\nTo: ");
	mailmsg_puts(&b, to);
	mailmsg_puts(&b, "\r\n");
	mailmsg_subject(&b, subject);
	(void)snprintf(line, sizeof(line), "Date: %s\r\n"
	    "Message-ID: <%s@%s>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n"
	    "Auto-Submitted: auto-generated\r\n\r\n", date, msgid, domain);
	mailmsg_puts(&b, line);

	/* Lines end in CRLF whatever the body used. */
	for (p = body; *p != '\0'; p += n) {
		n = strcspn(p, "\r\n");
		mailmsg_put(&b, p, n);
		mailmsg_puts(&b, "\r\n");
		if (p[n] == '\r' && p[n + 1] == '\n')
			n += 2;
		else if (p[n] != '\0')
			n++;
	}

	if (b.err) {
		free(b.p);
		return (NULL);
	}
	*outlen = b.len;
	return (b.p);
}
