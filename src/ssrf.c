/*
 * Destination validation (server-side request forgery defence).
 *
 * A user registers a destination URL and the proxy then connects to it
 * on the user's behalf from inside our network.  Without care that is a
 * way to reach loopback services, the private network and the cloud
 * metadata service.  Three checks keep it out:
 *
 * 1. ssrf_parse_url() accepts only plain http and https URLs written the
 *    boring way: no credentials, no fragment or query, no odd bytes, no
 *    percent-encoded host, and no numeric host spelled in any way other
 *    than a canonical dotted quad or a bracketed IPv6 literal.  Resolvers
 *    and libcurl read "2130706433", "0177.1" or "0x7f.1" as 127.0.0.1, so
 *    a host whose last label is a number is either a canonical address or
 *    refused, never passed through as a name.
 * 2. ssrf_resolve_check() resolves a name and refuses it when any of its
 *    addresses is forbidden, so a name with one public and one private
 *    address cannot slip through.
 * 3. The proxy calls ssrf_addr_allowed() again from libcurl's open-socket
 *    callback on the address it is really about to connect to, so a name
 *    whose answer changes between the check and the connection (DNS
 *    rebinding) still lands on the rule.
 *
 * The address rule refuses every IPv4 special-purpose range that is not
 * plain public unicast, IPv6 outside global unicast (2000::/3), the
 * documentation and benchmarking blocks inside it, and every IPv6 form
 * that embeds an IPv4 address (mapped, compatible, NAT64, 6to4, Teredo)
 * when the embedded address is refused.
 *
 * The module keeps one flag, set once at start: allow_private lifts the
 * address rule (for tests and local use) but never the syntax rules.
 */

#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE	200809L
#endif

#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ssrf.h"

struct ssrf_v4_range {
	uint32_t	 net;
	int		 bits;
	const char	*kind;
};

static int		 ssrf_refuse(char *, size_t, const char *, ...)
			    __attribute__((format(printf, 3, 4)));
static uint32_t		 ssrf_v4_at(const unsigned char *);
static const char	*ssrf_v4_kind(uint32_t);
static const char	*ssrf_v6_kind(const unsigned char *);
static int		 ssrf_sockaddr_check(const struct sockaddr *,
			    const char *, char *, size_t);
static int		 ssrf_check_kind(const char *, const char *,
			    const char *, char *, size_t);
static const char	*ssrf_name_kind(const char *);
static int		 ssrf_url_chars(const char *, size_t, char *, size_t);
static int		 ssrf_parse_host(const char *, size_t,
			    struct ssrf_url *, char *, size_t);
static int		 ssrf_parse_port(const char *, size_t,
			    struct ssrf_url *, char *, size_t);
static int		 ssrf_parse_path(const char *, size_t,
			    struct ssrf_url *, char *, size_t);
static int		 ssrf_label_is_number(const char *, size_t);
static int		 ssrf_canonical_v4(const char *, uint32_t *);
static int		 ssrf_is_hex(int);

static int	ssrf_allow_private_flag = 0;

/*
 * IPv4 special-purpose ranges, the more specific entries first so the
 * sentence names the most telling kind.  Everything here is refused.
 */
static const struct ssrf_v4_range ssrf_v4_ranges[] = {
	{ 0xa9fea9fe, 32, "cloud metadata" },	/* 169.254.169.254 */
	{ 0xa9feaa02, 32, "cloud metadata" },	/* 169.254.170.2 */
	{ 0x646464c8, 32, "cloud metadata" },	/* 100.100.100.200 */
	{ 0xffffffff, 32, "broadcast" },
	{ 0x00000000, 8, "unspecified" },	/* "this network" */
	{ 0x0a000000, 8, "private" },
	{ 0x64400000, 10, "shared (carrier-grade NAT)" },
	{ 0x7f000000, 8, "loopback" },
	{ 0xa9fe0000, 16, "link-local" },
	{ 0xac100000, 12, "private" },
	{ 0xc0000000, 24, "reserved" },		/* IETF protocol assignments */
	{ 0xc0000200, 24, "documentation" },
	{ 0xc0586300, 24, "reserved" },		/* 6to4 relay anycast */
	{ 0xc0a80000, 16, "private" },
	{ 0xc6120000, 15, "benchmarking" },
	{ 0xc6336400, 24, "documentation" },
	{ 0xcb007100, 24, "documentation" },
	{ 0xe0000000, 4, "multicast" },
	{ 0xf0000000, 4, "reserved" },
};

/*
 * Names that never lead anywhere public: the loopback name, mDNS, names
 * reserved for private networks and names some clouds give the metadata
 * service.  A name ending in one of the suffixes is refused as well.
 */
static const char *ssrf_local_names[] = {
	"localhost", "local", "internal", "localdomain", "home.arpa",
	"lan", "intranet", "corp", "test", "invalid", "onion",
	"metadata.google.internal", "instance-data", "metadata",
};

void
ssrf_set_allow_private(int allow)
{
	ssrf_allow_private_flag = allow ? 1 : 0;
}

int
ssrf_allow_private(void)
{
	return (ssrf_allow_private_flag);
}

/* Writes a refusal sentence and returns 0, so callers can return it. */
static int
ssrf_refuse(char *why, size_t whylen, const char *fmt, ...)
{
	va_list		ap;

	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		(void)vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}

	return (0);
}

static const char *
ssrf_v4_kind(uint32_t addr)
{
	size_t		i;
	uint32_t	mask;

	for (i = 0; i < sizeof(ssrf_v4_ranges) / sizeof(ssrf_v4_ranges[0]);
	    i++) {
		mask = 0xffffffffU << (32 - ssrf_v4_ranges[i].bits);
		if ((addr & mask) == ssrf_v4_ranges[i].net)
			return (ssrf_v4_ranges[i].kind);
	}

	return (NULL);
}

static uint32_t
ssrf_v4_at(const unsigned char *b)
{
	return ((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	    (uint32_t)b[2] << 8 | (uint32_t)b[3]);
}

/*
 * The IPv6 rule.  Only global unicast (2000::/3) is public; below it the
 * forms that carry an IPv4 address get the IPv4 rule, since a host that
 * translates them connects to that IPv4 address.
 */
static const char *
ssrf_v6_kind(const unsigned char *b)
{
	static const unsigned char	zero[12] = { 0 };
	static const unsigned char	mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};
	static const unsigned char	nat64[12] = {
		0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0
	};
	static const unsigned char	ec2_metadata[16] = {
		0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0x02, 0x54
	};
	const char			*kind;
	uint32_t			 client;

	if (memcmp(b, ec2_metadata, 16) == 0)
		return ("cloud metadata");

	/* ::ffff:a.b.c.d, and 64:ff9b::a.b.c.d (well-known NAT64). */
	if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0)
		return (ssrf_v4_kind(ssrf_v4_at(b + 12)));

	/* ::/96 holds ::, ::1 and the deprecated IPv4-compatible form. */
	if (memcmp(b, zero, 12) == 0) {
		if (ssrf_v4_at(b + 12) == 0)
			return ("unspecified");
		if (ssrf_v4_at(b + 12) == 1)
			return ("loopback");
		if ((kind = ssrf_v4_kind(ssrf_v4_at(b + 12))) != NULL)
			return (kind);
		return ("reserved");
	}

	if ((b[0] & 0xe0) != 0x20) {
		if ((b[0] & 0xfe) == 0xfc)
			return ("private (unique local)");
		if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
			return ("link-local");
		if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)
			return ("site-local");
		if (b[0] == 0xff)
			return ("multicast");
		/* NAT64 local-use 64:ff9b:1::/48, discard 100::/64, ... */
		return ("reserved");
	}

	/* 2001:db8::/32 and 3fff::/20. */
	if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
		return ("documentation");
	if (b[0] == 0x3f && b[1] == 0xff && (b[2] & 0xf0) == 0x00)
		return ("documentation");

	if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x00) {
		/* 2001:2::/48 benchmarking. */
		if (b[3] == 0x02 && b[4] == 0 && b[5] == 0)
			return ("benchmarking");
		/* 2001:10::/28 and 2001:20::/28, ORCHID. */
		if ((b[3] & 0xf0) == 0x10 || (b[3] & 0xf0) == 0x20)
			return ("reserved");
		/* Teredo 2001::/32: server, and client stored inverted. */
		if (b[3] == 0x00) {
			if ((kind = ssrf_v4_kind(ssrf_v4_at(b + 4))) != NULL)
				return (kind);
			client = ~ssrf_v4_at(b + 12);
			return (ssrf_v4_kind(client));
		}
	}

	/* 6to4 2002:a.b.c.d::/48. */
	if (b[0] == 0x20 && b[1] == 0x02)
		return (ssrf_v4_kind(ssrf_v4_at(b + 2)));

	return (NULL);
}

/* One refusal sentence for both literals and resolved names. */
static int
ssrf_check_kind(const char *kind, const char *verb, const char *text,
    char *why, size_t whylen)
{
	const char	*article;

	if (kind == NULL)
		return (1);

	article = strchr("aeiou", kind[0]) != NULL ? "an" : "a";
	return (ssrf_refuse(why, whylen, "destination %s %s %s address (%s)",
	    verb, article, kind, text));
}

static int
ssrf_sockaddr_check(const struct sockaddr *sa, const char *verb, char *why,
    size_t whylen)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	char				 text[INET6_ADDRSTRLEN];
	const char			*kind;

	if (sa == NULL)
		return (ssrf_refuse(why, whylen, "destination has no address"));

	switch (sa->sa_family) {
	case AF_INET:
		if (ssrf_allow_private_flag)
			return (1);
		sin = (const struct sockaddr_in *)(const void *)sa;
		kind = ssrf_v4_kind(ntohl(sin->sin_addr.s_addr));
		if (inet_ntop(AF_INET, &sin->sin_addr, text,
		    sizeof(text)) == NULL)
			(void)snprintf(text, sizeof(text), "IPv4");
		break;
	case AF_INET6:
		if (ssrf_allow_private_flag)
			return (1);
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		kind = ssrf_v6_kind(sin6->sin6_addr.s6_addr);
		if (inet_ntop(AF_INET6, &sin6->sin6_addr, text,
		    sizeof(text)) == NULL)
			(void)snprintf(text, sizeof(text), "IPv6");
		break;
	default:
		return (ssrf_refuse(why, whylen,
		    "destination address is neither IPv4 nor IPv6"));
	}

	return (ssrf_check_kind(kind, verb, text, why, whylen));
}

int
ssrf_addr_allowed(const struct sockaddr *sa, char *why, size_t whylen)
{
	return (ssrf_sockaddr_check(sa, "is", why, whylen));
}

int
ssrf_resolve_check(const char *host, const char *port, char *why,
    size_t whylen)
{
	struct addrinfo		 hints, *res, *ai;
	int			 rc, ok, count;

	if (host == NULL || host[0] == '\0')
		return (ssrf_refuse(why, whylen,
		    "destination URL has no host"));

	/*
	 * No AI_ADDRCONFIG: every address the name has must pass, also
	 * those of a family this machine cannot reach today.
	 */
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (port != NULL)
		hints.ai_flags = AI_NUMERICSERV;

	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		return (ssrf_refuse(why, whylen,
		    "destination host %s could not be resolved (%s)", host,
		    gai_strerror(rc)));
	}

	ok = 1;
	count = 0;
	for (ai = res; ai != NULL && ok; ai = ai->ai_next) {
		count++;
		ok = ssrf_sockaddr_check(ai->ai_addr, "resolves to", why,
		    whylen);
	}
	freeaddrinfo(res);

	if (ok && count == 0) {
		return (ssrf_refuse(why, whylen,
		    "destination host %s has no address", host));
	}

	return (ok);
}

int
ssrf_check_url(const char *url, struct ssrf_url *out, char *why,
    size_t whylen)
{
	if (!ssrf_parse_url(url, out, why, whylen))
		return (0);
	if (out->host_kind != SSRF_HOST_NAME)
		return (1);

	return (ssrf_resolve_check(out->host, out->port_str, why, whylen));
}

/*
 * Only printable ASCII that RFC 3986 allows somewhere in a URL; this
 * refuses spaces, controls, backslashes and bytes other parsers treat
 * differently from each other.
 */
static int
ssrf_url_chars(const char *url, size_t len, char *why, size_t whylen)
{
	size_t		i;
	unsigned char	c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)url[i];
		if (c <= 0x20 || c >= 0x7f) {
			return (ssrf_refuse(why, whylen,
			    "destination URL contains a space, control or "
			    "non-ASCII byte (0x%02x)", c));
		}
		if (strchr("\\\"<>^`{|}", c) != NULL) {
			return (ssrf_refuse(why, whylen,
			    "destination URL contains a character that is not "
			    "allowed (%c)", c));
		}
	}

	return (1);
}

int
ssrf_parse_url(const char *url, struct ssrf_url *out, char *why,
    size_t whylen)
{
	size_t		 len, n;
	const char	*p, *end, *auth, *auth_end, *colon, *host_end;

	memset(out, 0, sizeof(*out));
	if (why != NULL && whylen > 0)
		why[0] = '\0';

	if (url == NULL || url[0] == '\0')
		return (ssrf_refuse(why, whylen, "destination URL is empty"));
	if ((len = strnlen(url, SSRF_URL_MAX + 1)) > SSRF_URL_MAX) {
		return (ssrf_refuse(why, whylen,
		    "destination URL is longer than %d bytes", SSRF_URL_MAX));
	}
	if (!ssrf_url_chars(url, len, why, whylen))
		return (0);
	end = url + len;

	/* Scheme, case-insensitive, then "//". */
	for (n = 0; n < len && url[n] != ':'; n++)
		;
	if (n == len || n + 3 > len || url[n + 1] != '/' ||
	    url[n + 2] != '/') {
		return (ssrf_refuse(why, whylen,
		    "destination URL must start with http:// or https://"));
	}
	if (n == 4 && strncasecmp(url, "http", 4) == 0) {
		(void)snprintf(out->scheme, sizeof(out->scheme), "http");
		out->port = 80;
	} else if (n == 5 && strncasecmp(url, "https", 5) == 0) {
		(void)snprintf(out->scheme, sizeof(out->scheme), "https");
		out->port = 443;
	} else {
		return (ssrf_refuse(why, whylen,
		    "only http and https destinations are allowed"));
	}

	/* The authority runs to the first '/', '?' or '#'. */
	auth = url + n + 3;
	for (auth_end = auth; auth_end < end; auth_end++) {
		if (*auth_end == '/' || *auth_end == '?' || *auth_end == '#')
			break;
	}
	for (p = auth; p < auth_end; p++) {
		if (*p == '@') {
			return (ssrf_refuse(why, whylen,
			    "destination URL must not contain credentials "
			    "(user@host)"));
		}
	}
	if (auth == auth_end)
		return (ssrf_refuse(why, whylen,
		    "destination URL has no host"));

	/* Split host and port; only a bracketed IPv6 host holds ':'. */
	if (*auth == '[') {
		for (host_end = auth; host_end < auth_end && *host_end != ']';
		    host_end++)
			;
		if (host_end == auth_end) {
			return (ssrf_refuse(why, whylen,
			    "destination host has an unclosed '['"));
		}
		host_end++;
		colon = host_end < auth_end ? host_end : NULL;
		if (colon != NULL && *colon != ':') {
			return (ssrf_refuse(why, whylen,
			    "destination URL has text after the IPv6 "
			    "address"));
		}
	} else {
		colon = memchr(auth, ':', (size_t)(auth_end - auth));
		host_end = colon != NULL ? colon : auth_end;
	}

	if (!ssrf_parse_port(colon, colon == NULL ? 0 :
	    (size_t)(auth_end - colon), out, why, whylen))
		return (0);
	if (!ssrf_parse_host(auth, (size_t)(host_end - auth), out, why,
	    whylen))
		return (0);

	/* Path; no query and no fragment. */
	for (p = auth_end; p < end; p++) {
		if (*p == '?') {
			return (ssrf_refuse(why, whylen,
			    "destination URL must not contain a query string"));
		}
		if (*p == '#') {
			return (ssrf_refuse(why, whylen,
			    "destination URL must not contain a fragment"));
		}
	}
	if (!ssrf_parse_path(auth_end, (size_t)(end - auth_end), out, why,
	    whylen))
		return (0);

	/* Literals met the address rule already; names meet it here. */
	if (out->host_kind == SSRF_HOST_NAME && !ssrf_allow_private_flag) {
		if (ssrf_name_kind(out->host) != NULL) {
			return (ssrf_refuse(why, whylen,
			    "destination host %s is reserved for local or "
			    "internal use", out->host));
		}
		if (strchr(out->host, '.') == NULL) {
			return (ssrf_refuse(why, whylen,
			    "destination host must be a fully qualified "
			    "domain name (%s)", out->host));
		}
	}

	return (1);
}

/* The special-use name list, as exact names or as suffixes. */
static const char *
ssrf_name_kind(const char *host)
{
	size_t		 i, hlen, nlen;
	const char	*name;

	hlen = strlen(host);
	for (i = 0; i < sizeof(ssrf_local_names) / sizeof(ssrf_local_names[0]);
	    i++) {
		name = ssrf_local_names[i];
		nlen = strlen(name);
		if (hlen == nlen && memcmp(host, name, nlen) == 0)
			return (name);
		if (hlen > nlen && host[hlen - nlen - 1] == '.' &&
		    memcmp(host + hlen - nlen, name, nlen) == 0)
			return (name);
	}

	return (NULL);
}

static int
ssrf_parse_port(const char *colon, size_t len, struct ssrf_url *out,
    char *why, size_t whylen)
{
	size_t		i;
	unsigned long	port;

	if (colon == NULL) {
		(void)snprintf(out->port_str, sizeof(out->port_str), "%u",
		    (unsigned int)out->port);
		return (1);
	}

	/* Skip the ':'; refuse empty, signed, padded or oversized ports. */
	colon++;
	len--;
	if (len == 0 || len > 5 || colon[0] == '0') {
		return (ssrf_refuse(why, whylen,
		    "destination port is not a number from 1 to 65535"));
	}
	port = 0;
	for (i = 0; i < len; i++) {
		if (colon[i] < '0' || colon[i] > '9') {
			return (ssrf_refuse(why, whylen,
			    "destination port is not a number from 1 to "
			    "65535"));
		}
		port = port * 10 + (unsigned long)(colon[i] - '0');
	}
	if (port == 0 || port > 65535) {
		return (ssrf_refuse(why, whylen,
		    "destination port is not a number from 1 to 65535"));
	}

	out->port = (unsigned short)port;
	out->port_explicit = 1;
	(void)snprintf(out->port_str, sizeof(out->port_str), "%lu", port);
	return (1);
}

static int
ssrf_is_hex(int c)
{
	return ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F'));
}

/*
 * Whether a label is something a URL parser or inet_aton() would read
 * as a number: decimal or octal digits, or 0x followed by hex digits
 * (an empty "0x" counts too).
 */
static int
ssrf_label_is_number(const char *label, size_t len)
{
	size_t		i;

	if (len == 0)
		return (0);
	if (len >= 2 && label[0] == '0' && (label[1] == 'x' ||
	    label[1] == 'X')) {
		for (i = 2; i < len; i++) {
			if (!ssrf_is_hex((unsigned char)label[i]))
				return (0);
		}
		return (1);
	}
	for (i = 0; i < len; i++) {
		if (label[i] < '0' || label[i] > '9')
			return (0);
	}

	return (1);
}

/* Exactly four decimal parts, 0 to 255, without leading zeros. */
static int
ssrf_canonical_v4(const char *host, uint32_t *addr)
{
	int		parts, digits;
	unsigned int	value;
	const char	*p;

	*addr = 0;
	parts = 0;
	p = host;
	for (;;) {
		value = 0;
		digits = 0;
		while (*p >= '0' && *p <= '9') {
			if (digits > 0 && value == 0)
				return (0);
			value = value * 10 + (unsigned int)(*p - '0');
			if (++digits > 3 || value > 255)
				return (0);
			p++;
		}
		if (digits == 0)
			return (0);
		*addr = *addr << 8 | value;
		parts++;
		if (*p == '\0')
			break;
		if (*p != '.' || parts == 4)
			return (0);
		p++;
	}

	return (parts == 4);
}

static int
ssrf_parse_host(const char *host, size_t len, struct ssrf_url *out,
    char *why, size_t whylen)
{
	char			 buf[SSRF_HOST_MAX];
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;
	size_t			 i, label;
	uint32_t		 v4;

	if (len == 0)
		return (ssrf_refuse(why, whylen,
		    "destination URL has no host"));

	if (host[0] == '[') {
		/* "[...]": strip the brackets; no zone id, however spelt. */
		if (len < 3 || len - 2 >= sizeof(buf)) {
			return (ssrf_refuse(why, whylen,
			    "destination host is not a valid IPv6 address"));
		}
		memcpy(buf, host + 1, len - 2);
		buf[len - 2] = '\0';
		if (strchr(buf, '%') != NULL) {
			return (ssrf_refuse(why, whylen,
			    "IPv6 zone identifiers are not allowed in a "
			    "destination"));
		}
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, buf, &sin6.sin6_addr) != 1) {
			return (ssrf_refuse(why, whylen,
			    "destination host is not a valid IPv6 address"));
		}
		if (inet_ntop(AF_INET6, &sin6.sin6_addr, out->host,
		    sizeof(out->host)) == NULL) {
			return (ssrf_refuse(why, whylen,
			    "destination host is not a valid IPv6 address"));
		}
		out->host_kind = SSRF_HOST_IPV6;
		return (ssrf_addr_allowed((struct sockaddr *)&sin6, why,
		    whylen));
	}

	if (len > 253) {
		return (ssrf_refuse(why, whylen,
		    "destination host name is longer than 253 bytes"));
	}
	if (memchr(host, '%', len) != NULL) {
		return (ssrf_refuse(why, whylen,
		    "percent-encoding is not allowed in the destination host"));
	}

	/* Labels of letters, digits, '-' and '_', 1 to 63 bytes each. */
	label = 0;
	for (i = 0; i < len; i++) {
		if (host[i] == '.') {
			if (label == 0) {
				return (ssrf_refuse(why, whylen,
				    "destination host has an empty label or a "
				    "trailing dot"));
			}
			if (host[i - 1] == '-') {
				return (ssrf_refuse(why, whylen,
				    "destination host has a label ending in "
				    "'-'"));
			}
			label = 0;
			buf[i] = '.';
			continue;
		}
		if (!((host[i] >= 'a' && host[i] <= 'z') ||
		    (host[i] >= 'A' && host[i] <= 'Z') ||
		    (host[i] >= '0' && host[i] <= '9') ||
		    host[i] == '-' || host[i] == '_')) {
			return (ssrf_refuse(why, whylen,
			    "destination host contains a character that is "
			    "not allowed (%c)", host[i]));
		}
		if (label == 0 && host[i] == '-') {
			return (ssrf_refuse(why, whylen,
			    "destination host has a label starting with '-'"));
		}
		if (++label > 63) {
			return (ssrf_refuse(why, whylen,
			    "destination host has a label longer than 63 "
			    "bytes"));
		}
		buf[i] = (host[i] >= 'A' && host[i] <= 'Z') ?
		    (char)(host[i] - 'A' + 'a') : host[i];
	}
	if (label == 0) {
		return (ssrf_refuse(why, whylen,
		    "destination host has an empty label or a trailing dot"));
	}
	if (host[len - 1] == '-') {
		return (ssrf_refuse(why, whylen,
		    "destination host has a label ending in '-'"));
	}
	buf[len] = '\0';

	/*
	 * A host ending in a numeric label is an address to resolvers and
	 * to libcurl, whatever the other labels say.  Only the canonical
	 * dotted quad is accepted; every other spelling is refused rather
	 * than guessed at.
	 */
	for (i = len; i > 0 && buf[i - 1] != '.'; i--)
		;
	if (ssrf_label_is_number(buf + i, len - i)) {
		if (!ssrf_canonical_v4(buf, &v4)) {
			return (ssrf_refuse(why, whylen,
			    "destination host is an IP address written in an "
			    "unusual form; use the dotted form a.b.c.d"));
		}
		memcpy(out->host, buf, len + 1);
		out->host_kind = SSRF_HOST_IPV4;
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(v4);
		return (ssrf_addr_allowed((struct sockaddr *)&sin, why,
		    whylen));
	}

	memcpy(out->host, buf, len + 1);
	out->host_kind = SSRF_HOST_NAME;
	return (1);
}

/*
 * The base path: RFC 3986 path characters with well-formed escapes and
 * no dot segments.  A trailing '/' is dropped so joining "/v1" and
 * "/users" never doubles the slash.
 */
static int
ssrf_parse_path(const char *path, size_t len, struct ssrf_url *out,
    char *why, size_t whylen)
{
	size_t		i, seg;

	if (len > 0 && path[0] != '/') {
		return (ssrf_refuse(why, whylen,
		    "destination URL has a malformed path"));
	}

	for (i = 0; i < len; i++) {
		if (path[i] == '[' || path[i] == ']') {
			return (ssrf_refuse(why, whylen,
			    "destination path contains a character that is "
			    "not allowed (%c)", path[i]));
		}
		if (path[i] == '%') {
			if (i + 2 >= len ||
			    !ssrf_is_hex((unsigned char)path[i + 1]) ||
			    !ssrf_is_hex((unsigned char)path[i + 2])) {
				return (ssrf_refuse(why, whylen,
				    "destination path has a malformed "
				    "percent-escape"));
			}
		}
		if (path[i] != '/')
			continue;

		/* A segment of "." or ".." would move the base path. */
		for (seg = i + 1; seg < len && path[seg] != '/'; seg++)
			;
		if ((seg - i - 1 == 1 && path[i + 1] == '.') ||
		    (seg - i - 1 == 2 && path[i + 1] == '.' &&
		    path[i + 2] == '.')) {
			return (ssrf_refuse(why, whylen,
			    "destination path must not contain . or .. "
			    "segments"));
		}
	}

	while (len > 0 && path[len - 1] == '/')
		len--;
	memcpy(out->path, path, len);
	out->path[len] = '\0';
	return (1);
}
