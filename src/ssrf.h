/*
 * Destination validation: which URLs an endpoint may forward to and which
 * addresses the proxy may connect to.  See ssrf.c for the design.
 *
 * Every function returns 1 when the destination is acceptable and 0 when
 * it is refused; on refusal `why` receives one short sentence meant for
 * the user (it is used verbatim in the API's 422 message).
 */

#ifndef APISCRIBE_SSRF_H
#define APISCRIBE_SSRF_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>

/* Longest destination URL accepted, in bytes. */
#define SSRF_URL_MAX		2000
/* Longest DNS name, plus room for an IPv6 literal and the NUL. */
#define SSRF_HOST_MAX		256
/* Room for a sentence in `why`; shorter buffers get it truncated. */
#define SSRF_WHY_MAX		384

/* Kinds of host in a parsed URL. */
#define SSRF_HOST_NAME		0
#define SSRF_HOST_IPV4		4
#define SSRF_HOST_IPV6		6

struct ssrf_url {
	/* "http" or "https". */
	char		scheme[6];
	/* Lower case; an IPv6 literal without brackets, in canonical form. */
	char		host[SSRF_HOST_MAX];
	/* SSRF_HOST_NAME, SSRF_HOST_IPV4 or SSRF_HOST_IPV6. */
	int		host_kind;
	/* The port, explicit or the scheme's default, as number and text. */
	unsigned short	port;
	char		port_str[6];
	/* Whether the URL named the port itself. */
	int		port_explicit;
	/*
	 * The base path the proxy appends the rest of a call's path to:
	 * empty, or starting with '/' and never ending with '/'.  The URL
	 * may not carry a query or fragment, so neither is kept.
	 */
	char		path[SSRF_URL_MAX + 1];
};

/*
 * Syntax check of a destination URL, without DNS.  Fills `out`.  An IP
 * literal host is also checked against the address rule; a name is not
 * resolved (see ssrf_resolve_check and ssrf_check_url).
 */
int	ssrf_parse_url(const char *url, struct ssrf_url *out, char *why,
	    size_t whylen);

/*
 * The address rule for one IPv4 or IPv6 socket address.  Meant both for
 * validation and for libcurl's open-socket callback, which sees the
 * address really connected to.
 */
int	ssrf_addr_allowed(const struct sockaddr *sa, char *why, size_t whylen);

/*
 * Resolves `host` (blocking getaddrinfo: call it from a task thread) and
 * refuses it when no address comes back or when any address is refused
 * by the address rule.  `port` may be NULL.
 */
int	ssrf_resolve_check(const char *host, const char *port, char *why,
	    size_t whylen);

/* ssrf_parse_url, then ssrf_resolve_check when the host is a name. */
int	ssrf_check_url(const char *url, struct ssrf_url *out, char *why,
	    size_t whylen);

/*
 * ALLOW_PRIVATE_DESTINATIONS: lifts the address rule (private, loopback,
 * special-use names ...) and nothing else; the syntax rules still apply.
 * Set it once at start, before any worker or thread uses the module.
 */
void	ssrf_set_allow_private(int allow);
int	ssrf_allow_private(void);

#endif
