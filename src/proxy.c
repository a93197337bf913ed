/*
 * The capturing proxy: /proxy/{endpointId}/{path...}
 *
 * The hot path. A call goes through these steps:
 *
 *   1. find the endpoint in this worker's cache (a query only on a miss);
 *   2. refuse what must not be forwarded: an unknown endpoint (404), one
 *      that is not ACTIVE (409), a body over PROXY_BODY_MAX (413);
 *   3. forward it with Kore's asynchronous curl client: same method, the
 *      rest of the path and the query joined to the destination, request
 *      headers minus hop-by-hop ones and our own session cookie and CSRF
 *      header, plus X-Forwarded-For/Proto/Host;
 *   4. answer with the upstream's status, headers (minus hop-by-hop ones)
 *      and body, with a sandboxing Content-Security-Policy so that what
 *      the upstream returns can never run script against our origin;
 *      504 on timeout, 502 when the upstream cannot be reached;
 *   5. hand the call, redacted and cut to CAPTURE_BODY_MAX, to the
 *      capture writer, which never makes the call wait for the database.
 *
 * The cache keeps an endpoint for a few seconds. Every worker LISTENs on
 * endpoint_changed (sent by a trigger when an endpoint's status,
 * destination or capture setting changes, or it is deleted) and drops the
 * entry at once; when that connection is lost the whole cache is dropped.
 *
 * The destination was checked when the endpoint was created; the address
 * curl actually connects to is checked again in the open-socket callback,
 * so a name that later resolves to a private address (DNS rebinding) is
 * refused. Redirects are returned to the client, never followed, and
 * proxy environment variables are ignored.
 */

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/curl.h>

#include "api.h"
#include "app.h"
#include "capture.h"
#include "db.h"
#include "jsonw.h"
#include "log.h"
#include "metrics.h"
#include "outbound.h"
#include "proxy.h"
#include "ratelimit.h"
#include "redact.h"
#include "secret.h"
#include "ssrf.h"

#define PROXY_PREFIX		"/proxy/"
#define PROXY_CACHE_BUCKETS	1024
#define PROXY_CACHE_MAX		20000

#define PROXY_LOOKUP		1
#define PROXY_FORWARD		2

struct proxy_ep {
	LIST_ENTRY(proxy_ep)	 list;
	char			 id[API_UUID_LEN + 1];
	int			 found;
	char			 status[16];
	int			 capture_secrets;
	char			*base;		/* scheme://host:port/path */
	char			*refused;	/* why it may not be used */
	u_int64_t		 expires;
};

struct rbuf {
	char		*data;
	size_t		 len;
	size_t		 cap;
	size_t		 max;
	int		 overflow;
};

#define PROXY_HDRS_MAX	128

/* Headers as seen, pointing into the request or the upstream's lines. */
struct hdrs {
	int		 n;
	const char	*name[PROXY_HDRS_MAX];
	size_t		 nlen[PROXY_HDRS_MAX];
	const char	*value[PROXY_HDRS_MAX];
	size_t		 vlen[PROXY_HDRS_MAX];
};

struct proxy_req {
	struct http_request	*req;
	char			 rid[24];
	char			 id[API_UUID_LEN + 1];
	const char		*rest;
	int			 state;
	u_int64_t		 started;
	int64_t			 ts_us;

	char			*base;
	int			 capture_secrets;
	struct db_call		 db;

	struct kore_curl	 curl;
	int			 curl_live;
	char			*body;
	size_t			 body_len;
	size_t			 body_total;	/* as announced */
	int			 body_owned;
	struct rbuf		 resp;
	struct rbuf		 head;
	int			 denied;
	int			 redacted;
	struct hdrs		 up;		/* the upstream's headers */
	int			 up_parsed;
	char			 why[SSRF_WHY_MAX];
};

LIST_HEAD(proxy_bucket, proxy_ep);

int	proxy_handle(struct http_request *);

static struct proxy_req	*proxy_req_new(struct http_request *);
static void	proxy_onfree(struct http_request *);
static int	proxy_start(struct proxy_req *);
static int	proxy_looked_up(struct proxy_req *);
static int	proxy_forward_from(struct proxy_req *, struct proxy_ep *);
static int	proxy_forward(struct proxy_req *);
static int	proxy_finish(struct proxy_req *);
static int	proxy_fail(struct proxy_req *, int, const char *, const char *,
		    int);
static void	proxy_capture(struct proxy_req *, int, const char *);
static int	proxy_read_body(struct proxy_req *);
static struct curl_slist *proxy_req_headers(struct proxy_req *);
static void	proxy_parse_head(struct proxy_req *);
static char	*proxy_up_header(struct proxy_req *, const char *);
static void	proxy_resp_headers(struct proxy_req *);
static int	proxy_hop_by_hop(const char *, const char *);
static void	hdrs_add(struct hdrs *, const char *, size_t, const char *,
		    size_t);
static char	*hdrs_json(const struct hdrs *, int, int *);
static void	proxy_clean(char *);
static int	proxy_body(const char *, const void *, size_t, size_t,
		    int, char **, size_t *, int *);
static size_t	proxy_write(char *, size_t, size_t, void *);
static size_t	proxy_strip_sid(const char *, char *, size_t);
static int	slist_addf(struct curl_slist **, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static size_t	proxy_header(char *, size_t, size_t, void *);
static curl_socket_t proxy_open_socket(void *, curlsocktype,
		    struct curl_sockaddr *);

static struct proxy_ep	*cache_get(const char *);
static struct proxy_ep	*cache_put(const char *);
static void	cache_drop(const char *, void *);
static void	cache_clear(const char *, void *);
static void	cache_expire(const char *, void *);
static unsigned	cache_hash(const char *);

static struct proxy_bucket	cache[PROXY_CACHE_BUCKETS];
static size_t			cache_count;
static u_int64_t		cache_ttl;
static int			proxy_rate_limit;
static const char		*proxy_lookup_sql =
    "SELECT status, destination_url, capture_secrets FROM endpoints "
    "WHERE id = $1";

void
proxy_init(void)
{
	int	i;

	for (i = 0; i < PROXY_CACHE_BUCKETS; i++)
		LIST_INIT(&cache[i]);
	cache_count = 0;
	cache_ttl = (u_int64_t)app_env_num("PROXY_CACHE_MS", 5000, 0,
	    3600000);
	proxy_rate_limit = (int)app_env_num("PROXY_RATE_LIMIT", 60000, 0,
	    100000000);
	db_listen("endpoint_changed", cache_drop, cache_expire, NULL);
}

/* Kore calls this again each time the request wakes (lookup, upstream). */
int
proxy_handle(struct http_request *req)
{
	struct proxy_req	*p;

	if ((p = req->hdlr_extra) == NULL) {
		if ((p = proxy_req_new(req)) == NULL) {
			http_response(req, 500, NULL, 0);
			return (KORE_RESULT_OK);
		}
		return (proxy_start(p));
	}

	switch (p->state) {
	case PROXY_LOOKUP:
		if (!db_pump(&p->db))
			return (KORE_RESULT_RETRY);
		return (proxy_looked_up(p));
	case PROXY_FORWARD:
		if (p->curl.handle != NULL)
			return (KORE_RESULT_RETRY);
		return (proxy_finish(p));
	default:
		return (KORE_RESULT_OK);
	}
}

static struct proxy_req *
proxy_req_new(struct http_request *req)
{
	struct proxy_req	*p;
	struct timeval		 tv;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return (NULL);
	p->req = req;
	p->body_total = req->http_body_length;
	p->started = kore_time_ms();
	(void)gettimeofday(&tv, NULL);
	p->ts_us = (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
	db_call_init(&p->db);
	api_request_id(p->rid, sizeof(p->rid));

	req->hdlr_extra = p;
	req->onfree = proxy_onfree;
	http_response_header(req, "X-Request-Id", p->rid);
	return (p);
}

static void
proxy_onfree(struct http_request *req)
{
	struct proxy_req	*p = req->hdlr_extra;

	if (p == NULL)
		return;
	/* Before Kore's own cleanup, which would touch freed memory. */
	if (p->curl_live)
		kore_curl_cleanup(&p->curl);
	db_call_clear(&p->db);
	if (p->body_owned)
		free(p->body);
	free(p->resp.data);
	free(p->head.data);
	free(p->base);
	free(p);
	req->hdlr_extra = NULL;
}

static int
proxy_start(struct proxy_req *p)
{
	const char		*path = p->req->path + strlen(PROXY_PREFIX);
	struct proxy_ep		*ep;
	int			 i;

	if (!api_is_uuid(path))
		return (proxy_fail(p, 404, "ENDPOINT_NOT_FOUND",
		    "no endpoint with this id", 0));
	for (i = 0; i < API_UUID_LEN; i++)
		p->id[i] = (char)tolower((unsigned char)path[i]);
	p->id[API_UUID_LEN] = '\0';
	p->rest = path + API_UUID_LEN;

	if ((ep = cache_get(p->id)) != NULL && ep->expires >= kore_time_ms())
		return (proxy_forward_from(p, ep));

	p->state = PROXY_LOOKUP;
	if (db_param_text(&p->db, p->id) == -1)
		return (proxy_fail(p, 500, "INTERNAL", "out of memory", 0));
	db_start_request(&p->db, p->req, proxy_lookup_sql);
	if (!db_pump(&p->db))
		return (KORE_RESULT_RETRY);
	return (proxy_looked_up(p));
}

static int
proxy_looked_up(struct proxy_req *p)
{
	struct proxy_ep		*ep;
	struct ssrf_url		*u;
	char			 why[SSRF_WHY_MAX];
	const char		*status, *dest;
	size_t			 len;

	if (db_failed(&p->db)) {
		/* Keep forwarding through an outage with what we knew. */
		if ((ep = cache_get(p->id)) != NULL) {
			db_call_clear(&p->db);
			return (proxy_forward_from(p, ep));
		}
		http_response_header(p->req, "Retry-After", "5");
		return (proxy_fail(p, 503, "DATABASE_UNAVAILABLE",
		    "the database is unavailable; try again shortly", 0));
	}

	if ((ep = cache_put(p->id)) == NULL)
		return (proxy_fail(p, 500, "INTERNAL", "out of memory", 0));

	if (db_rows(&p->db) == 1) {
		status = db_value(&p->db, 0, 0);
		dest = db_value(&p->db, 0, 1);
		(void)kore_strlcpy(ep->status, status, sizeof(ep->status));
		ep->capture_secrets = strcmp(db_value(&p->db, 0, 2), "t") == 0;

		/* The destination was validated at creation; keep its base. */
		if ((u = calloc(1, sizeof(*u))) == NULL)
			return (proxy_fail(p, 500, "INTERNAL", "out of memory",
			    0));
		if (!ssrf_parse_url(dest, u, why, sizeof(why))) {
			ep->refused = strdup(why);
		} else {
			len = strlen(u->host) + strlen(u->path) + 32;
			if ((ep->base = malloc(len)) != NULL) {
				(void)snprintf(ep->base, len,
				    "%s://%s%s%s:%s%s",
				    u->scheme,
				    u->host_kind == SSRF_HOST_IPV6 ? "[" : "",
				    u->host,
				    u->host_kind == SSRF_HOST_IPV6 ? "]" : "",
				    u->port_str, u->path);
			}
		}
		free(u);
		ep->found = ep->base != NULL || ep->refused != NULL;
	}
	db_call_clear(&p->db);
	return (proxy_forward_from(p, ep));
}

/* Checks what the cached endpoint allows, then forwards. */
static int
proxy_forward_from(struct proxy_req *p, struct proxy_ep *ep)
{
	char	msg[160];
	int	retry;

	if (!ep->found)
		return (proxy_fail(p, 404, "ENDPOINT_NOT_FOUND",
		    "no endpoint with this id", 0));

	if (strcmp(ep->status, "ACTIVE") != 0) {
		(void)snprintf(msg, sizeof(msg), "this endpoint is %s and "
		    "does not forward calls%s", ep->status,
		    strcmp(ep->status, "PROCESSING") == 0 ?
		    ": its documentation is being generated; reactivate it to "
		    "capture again" : "; reactivate it to capture again");
		return (proxy_fail(p, 409, "ENDPOINT_NOT_ACTIVE", msg, 0));
	}

	if (ep->refused != NULL)
		return (proxy_fail(p, 502, "DESTINATION_REFUSED", ep->refused,
		    1));

	if (!ratelimit_proxy_hit(p->id, proxy_rate_limit, &retry)) {
		(void)snprintf(msg, sizeof(msg), "%d", retry);
		http_response_header(p->req, "Retry-After", msg);
		(void)snprintf(msg, sizeof(msg), "this endpoint is limited to "
		    "%d calls a minute; try again in %d seconds",
		    proxy_rate_limit, retry);
		return (proxy_fail(p, 429, "RATE_LIMITED", msg, 0));
	}

	if ((p->base = strdup(ep->base)) == NULL)
		return (proxy_fail(p, 500, "INTERNAL", "out of memory", 0));
	p->capture_secrets = ep->capture_secrets;
	return (proxy_forward(p));
}

static int
proxy_forward(struct proxy_req *p)
{
	struct http_request	*req = p->req;
	struct curl_slist	*hdrs;
	CURL			*h;
	char			*url;
	size_t			 len;
	char			 msg[128];

	if (p->body_total > app_cfg.proxy_body_max) {
		(void)snprintf(msg, sizeof(msg), "the request body is larger "
		    "than this proxy accepts (%zu bytes)",
		    app_cfg.proxy_body_max);
		return (proxy_fail(p, 413, "TOO_LARGE", msg, 1));
	}
	if (proxy_read_body(p) == -1)
		return (proxy_fail(p, 500, "INTERNAL",
		    "could not read the request body", 0));

	len = strlen(p->base) + strlen(p->rest) + 2 +
	    (req->query_string != NULL ? strlen(req->query_string) + 1 : 0);
	if ((url = malloc(len)) == NULL)
		return (proxy_fail(p, 500, "INTERNAL", "out of memory", 0));
	(void)snprintf(url, len, "%s%s%s%s", p->base,
	    *p->rest == '\0' && strchr(strstr(p->base, "://") + 3, '/') ==
	    NULL ? "/" : p->rest, req->query_string != NULL ? "?" : "",
	    req->query_string != NULL ? req->query_string : "");

	if (!kore_curl_init(&p->curl, url, KORE_CURL_ASYNC)) {
		free(url);
		return (proxy_fail(p, 502, "UPSTREAM_UNREACHABLE",
		    "could not prepare the upstream request", 1));
	}
	free(url);
	p->curl_live = 1;
	outbound_prepare(&p->curl);

	/*
	 * Kore reads the status of HTTP clients when the transfer ends and
	 * frees the header list with the client.
	 */
	p->curl.type = KORE_CURL_TYPE_HTTP_CLIENT;
	h = p->curl.handle;

	p->resp.max = (size_t)kore_curl_recv_max;
	p->head.max = 256 * 1024;
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, proxy_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &p->resp);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, proxy_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &p->head);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, proxy_open_socket);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, p);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)app_cfg.proxy_timeout);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT,
	    (long)(app_cfg.proxy_timeout < 10 ? app_cfg.proxy_timeout : 10));
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(h, CURLOPT_USERAGENT, NULL);

	switch (req->method) {
	case HTTP_METHOD_GET:
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
		break;
	case HTTP_METHOD_HEAD:
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
		break;
	default:
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST,
		    http_method_text(req->method));
		if (p->body_len > 0 || req->method == HTTP_METHOD_POST ||
		    req->method == HTTP_METHOD_PUT ||
		    req->method == HTTP_METHOD_PATCH) {
			curl_easy_setopt(h, CURLOPT_POST, 1L);
			curl_easy_setopt(h, CURLOPT_POSTFIELDS,
			    p->body != NULL ? p->body : "");
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
			    (curl_off_t)p->body_len);
		}
		break;
	}

	if ((hdrs = proxy_req_headers(p)) == NULL)
		return (proxy_fail(p, 500, "INTERNAL", "out of memory", 0));
	p->curl.http.hdrlist = hdrs;
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);

	p->state = PROXY_FORWARD;
	kore_curl_bind_request(&p->curl, req);
	outbound_run(&p->curl);
	return (KORE_RESULT_RETRY);
}

/* The request body in one piece; large ones were spooled to disk. */
static int
proxy_read_body(struct proxy_req *p)
{
	struct http_request	*req = p->req;
	ssize_t			 n;
	size_t			 off;

	if (req->http_body_length == 0)
		return (0);
	if (req->http_body != NULL && req->http_body_fd == -1) {
		p->body = (char *)req->http_body->data;
		p->body_len = req->http_body_length;
		return (0);
	}

	/* http_body_read() counts http_body_length down as it reads. */
	if ((p->body = malloc(p->body_total)) == NULL)
		return (-1);
	p->body_owned = 1;
	off = 0;
	while (off < p->body_total) {
		n = http_body_read(req, p->body + off, p->body_total - off);
		if (n <= 0)
			return (-1);
		off += (size_t)n;
	}
	p->body_len = off;
	return (0);
}

/* Hop-by-hop headers (RFC 9110 7.6.1) and those Connection names. */
static int
proxy_hop_by_hop(const char *name, const char *connection)
{
	static const char	*hop[] = {
		"connection", "keep-alive", "proxy-connection", "te",
		"trailer", "transfer-encoding", "upgrade",
		"proxy-authenticate", "proxy-authorization", NULL
	};
	const char		*p;
	size_t			 n, len;
	int			 i;

	for (i = 0; hop[i] != NULL; i++) {
		if (strcasecmp(name, hop[i]) == 0)
			return (1);
	}
	if (connection == NULL)
		return (0);
	len = strlen(name);
	for (p = connection; *p != '\0'; p += n) {
		p += strspn(p, ", \t");
		n = strcspn(p, ", \t");
		if (n == len && strncasecmp(p, name, len) == 0)
			return (1);
	}
	return (0);
}

/*
 * Copies a Cookie header without our session cookie; returns the length
 * of what is left.
 */
static size_t
proxy_strip_sid(const char *in, char *out, size_t outlen)
{
	const char	*c, *next;
	size_t		 len, o;

	o = 0;
	for (c = in; *c != '\0'; c = next) {
		c += strspn(c, "; ");
		next = c + strcspn(c, ";");
		if (strncmp(c, "sid=", 4) == 0 || next == c)
			continue;
		len = (size_t)(next - c);
		if (o + len + 3 >= outlen)
			break;
		if (o > 0) {
			memcpy(out + o, "; ", 2);
			o += 2;
		}
		memcpy(out + o, c, len);
		o += len;
	}
	out[o] = '\0';
	return (o);
}

/*
 * What the upstream receives: the client's headers without hop-by-hop
 * ones, our session cookie or CSRF header, or anything curl sets itself;
 * and the X-Forwarded-* trio.
 */
static struct curl_slist *
proxy_req_headers(struct proxy_req *p)
{
	struct http_request	*req = p->req;
	struct http_header	*hdr;
	struct curl_slist	*list;
	const char		*connection, *xff, *c;
	char			 ip[64], cookies[4096];
	int			 tls, rc;

	list = NULL;
	if (!http_request_header(req, "connection", &connection))
		connection = NULL;
	xff = NULL;

	TAILQ_FOREACH(hdr, &req->req_headers, list) {
		if (proxy_hop_by_hop(hdr->header, connection) ||
		    !strcasecmp(hdr->header, "host") ||
		    !strcasecmp(hdr->header, "content-length") ||
		    !strcasecmp(hdr->header, "expect") ||
		    !strcasecmp(hdr->header, "accept-encoding") ||
		    !strcasecmp(hdr->header, "x-csrf-token") ||
		    !strcasecmp(hdr->header, "x-forwarded-proto") ||
		    !strcasecmp(hdr->header, "x-forwarded-host"))
			continue;
		if (!strcasecmp(hdr->header, "x-forwarded-for")) {
			xff = hdr->value;
			continue;
		}
		if (!strcasecmp(hdr->header, "cookie")) {
			/* Keep the API's cookies, never our session's. */
			if (proxy_strip_sid(hdr->value, cookies,
			    sizeof(cookies)) == 0)
				continue;
			rc = slist_addf(&list, "Cookie: %s", cookies);
		} else {
			rc = slist_addf(&list, "%s: %s", hdr->header,
			    hdr->value);
		}
		if (rc == -1)
			goto fail;
	}

	(void)api_client_ip(req, ip, sizeof(ip));
	tls = req->owner != NULL && req->owner->owner != NULL &&
	    req->owner->owner->server->tls;
	if (slist_addf(&list, "X-Forwarded-For: %s%s%s", xff ? xff : "",
	    xff ? ", " : "", ip) == -1 ||
	    slist_addf(&list, "X-Forwarded-Proto: %s",
	    tls ? "https" : "http") == -1 ||
	    (req->host != NULL &&
	    slist_addf(&list, "X-Forwarded-Host: %s", req->host) == -1))
		goto fail;

	/* curl would otherwise add its own Accept and Expect headers. */
	if ((!http_request_header(req, "accept", &c) &&
	    slist_addf(&list, "Accept:") == -1) ||
	    slist_addf(&list, "Expect:") == -1)
		goto fail;
	return (list);

fail:
	curl_slist_free_all(list);
	return (NULL);
}

/* Appends one formatted header line to a curl list. */
static int
slist_addf(struct curl_slist **list, const char *fmt, ...)
{
	struct curl_slist	*n;
	va_list			 ap;
	char			*line;
	int			 rc;

	va_start(ap, fmt);
	rc = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (rc == -1)
		return (-1);
	n = curl_slist_append(*list, line);
	free(line);
	if (n == NULL)
		return (-1);
	*list = n;
	return (0);
}

static int
rbuf_append(struct rbuf *b, const char *data, size_t len)
{
	size_t	 ncap;
	char	*p;

	if (b->len + len > b->max) {
		b->overflow = 1;
		return (-1);
	}
	if (b->len + len + 1 > b->cap) {
		ncap = b->cap ? b->cap : 4096;
		while (ncap < b->len + len + 1)
			ncap *= 2;
		if ((p = realloc(b->data, ncap)) == NULL)
			return (-1);
		b->data = p;
		b->cap = ncap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return (0);
}

/* The response body, grown by doubling (Kore's own buffer is not). */
static size_t
proxy_write(char *data, size_t size, size_t nmemb, void *arg)
{
	if (rbuf_append(arg, data, size * nmemb) == -1)
		return (0);
	return (size * nmemb);
}

/* Header lines; a new status line (after 100 Continue) starts over. */
static size_t
proxy_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct rbuf	*b = arg;
	size_t		 len = size * nmemb;

	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0)
		b->len = 0;
	if (rbuf_append(b, data, len) == -1)
		return (0);
	return (len);
}

/* The address curl is about to connect to must pass the SSRF rule. */
static curl_socket_t
proxy_open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct proxy_req	*p = arg;

	if (purpose != CURLSOCKTYPE_IPCXN)
		return (CURL_SOCKET_BAD);
	if (!ssrf_addr_allowed(&a->addr, p->why, sizeof(p->why))) {
		p->denied = 1;
		return (CURL_SOCKET_BAD);
	}
	return (socket(a->family, a->socktype, a->protocol));
}

/* The upstream answered, failed or timed out: reply and capture. */
static int
proxy_finish(struct proxy_req *p)
{
	struct http_request	*req = p->req;
	struct kore_curl	*cl = &p->curl;
	char			 msg[512];
	int			 status;

	if (cl->result != CURLE_OK) {
		if (p->denied) {
			(void)snprintf(msg, sizeof(msg), "the destination may "
			    "not be reached: %s", p->why);
			return (proxy_fail(p, 502, "DESTINATION_REFUSED", msg,
			    1));
		}
		if (p->resp.overflow) {
			(void)snprintf(msg, sizeof(msg), "the upstream "
			    "response is larger than %zu bytes", p->resp.max);
			return (proxy_fail(p, 502, "UPSTREAM_TOO_LARGE", msg,
			    1));
		}
		if (cl->result == CURLE_OPERATION_TIMEDOUT) {
			(void)snprintf(msg, sizeof(msg), "the upstream did not "
			    "answer within %d seconds", app_cfg.proxy_timeout);
			return (proxy_fail(p, 504, "UPSTREAM_TIMEOUT", msg, 1));
		}
		(void)snprintf(msg, sizeof(msg), "the upstream could not be "
		    "reached: %s", kore_curl_strerror(cl));
		return (proxy_fail(p, 502, "UPSTREAM_UNREACHABLE", msg, 1));
	}

	status = (int)cl->http.status;
	proxy_resp_headers(p);
	http_response_header(req, "Content-Security-Policy", "sandbox");
	proxy_capture(p, status, NULL);
	metrics_proxy_done(kore_time_ms() - p->started, status);
	http_response(req, status, p->resp.data, p->resp.len);
	return (KORE_RESULT_OK);
}

/*
 * Answers with the error envelope. Failures of the upstream itself
 * (capture set) are recorded like any other call, with their error.
 */
static int
proxy_fail(struct proxy_req *p, int status, const char *code,
    const char *msg, int capture)
{
	struct jw	j;

	if (capture) {
		proxy_capture(p, 0, msg);
		metrics_proxy_done(kore_time_ms() - p->started, status);
	}

	jw_init(&j, 256);
	jw_obj_open(&j, NULL);
	jw_obj_open(&j, "error");
	jw_str(&j, "code", code);
	jw_str(&j, "message", msg);
	jw_str(&j, "requestId", p->rid);
	jw_obj_close(&j);
	jw_obj_close(&j);
	http_response_header(p->req, "Content-Type", "application/json");
	http_response_header(p->req, "Cache-Control", "no-store");
	http_response(p->req, status, j.buf, j.len);
	jw_free(&j);
	p->state = 0;
	return (KORE_RESULT_OK);
}

/* The upstream's header lines as views, read once per call. */
static void
proxy_parse_head(struct proxy_req *p)
{
	char	*line, *next, *colon, *value, *end;

	if (p->up_parsed || p->head.data == NULL)
		return;
	p->up_parsed = 1;
	p->up.n = 0;

	for (line = p->head.data; *line != '\0'; line = next) {
		next = line + strcspn(line, "\n");
		end = next;
		if (*next == '\n')
			next++;
		if (end > line && end[-1] == '\r')
			end--;
		if (strncmp(line, "HTTP/", 5) == 0 ||
		    (colon = memchr(line, ':', (size_t)(end - line))) == NULL)
			continue;
		value = colon + 1;
		while (value < end && (*value == ' ' || *value == '\t'))
			value++;
		hdrs_add(&p->up, line, (size_t)(colon - line), value,
		    (size_t)(end - value));
	}
}

/* The value of one of the upstream's headers, malloc'd, or NULL. */
static char *
proxy_up_header(struct proxy_req *p, const char *name)
{
	size_t	len = strlen(name);
	int	i;

	proxy_parse_head(p);
	for (i = 0; i < p->up.n; i++) {
		if (p->up.nlen[i] == len &&
		    strncasecmp(p->up.name[i], name, len) == 0)
			return (strndup(p->up.value[i], p->up.vlen[i]));
	}
	return (NULL);
}

/* Copies the upstream's headers to the client's response. */
static void
proxy_resp_headers(struct proxy_req *p)
{
	char	*connection, *name, *value, save_n, save_v;
	int	 i;

	connection = proxy_up_header(p, "connection");
	for (i = 0; i < p->up.n; i++) {
		/* Terminate name and value in place for Kore, then restore. */
		name = (char *)(uintptr_t)p->up.name[i];
		value = (char *)(uintptr_t)p->up.value[i];
		save_n = name[p->up.nlen[i]];
		save_v = value[p->up.vlen[i]];
		name[p->up.nlen[i]] = '\0';
		value[p->up.vlen[i]] = '\0';
		if (!proxy_hop_by_hop(name, connection) &&
		    strcasecmp(name, "content-length") &&
		    strcasecmp(name, "content-encoding") &&
		    strcasecmp(name, "server") && strcasecmp(name, "date"))
			http_response_header(p->req, name, value);
		name[p->up.nlen[i]] = save_n;
		value[p->up.vlen[i]] = save_v;
	}
	free(connection);
}

/* Makes s valid UTF-8 without control characters, in place. */
static void
proxy_clean(char *s)
{
	unsigned char	*p = (unsigned char *)s;
	size_t		 n, i;

	while (*p != '\0') {
		if (*p < 0x20 || *p == 0x7f) {
			*p++ = ' ';
			continue;
		}
		if (*p < 0x80) {
			p++;
			continue;
		}
		n = (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 :
		    (*p & 0xf8) == 0xf0 ? 4 : 0;
		for (i = 1; n && i < n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				n = 0;
		}
		if (n == 0 || (n == 2 && *p < 0xc2)) {
			*p++ = '?';
			continue;
		}
		p += n;
	}
}

static void
hdrs_add(struct hdrs *h, const char *name, size_t nlen, const char *value,
    size_t vlen)
{
	if (h->n >= PROXY_HDRS_MAX || nlen == 0 || nlen > 128)
		return;
	h->name[h->n] = name;
	h->nlen[h->n] = nlen;
	h->value[h->n] = value;
	h->vlen[h->n] = vlen;
	h->n++;
}

/*
 * The set as a JSON object for capture: lower-case names, repeated
 * headers joined with ", ", secret values redacted when asked. Written
 * straight from the views, without copying each header first.
 */
static char *
hdrs_json(const struct hdrs *h, int redact, int *redacted)
{
	struct jw	 j;
	char		 key[136], val[2048], red[2048];
	size_t		 k;
	int		 i, m, seen;

	jw_init(&j, 1024);
	jw_obj_open(&j, NULL);
	for (i = 0; i < h->n; i++) {
		/* A repeated header was written with its first occurrence. */
		seen = 0;
		for (m = 0; m < i && !seen; m++) {
			seen = h->nlen[m] == h->nlen[i] && strncasecmp(
			    h->name[m], h->name[i], h->nlen[i]) == 0;
		}
		if (seen)
			continue;

		for (k = 0; k < h->nlen[i]; k++)
			key[k] = (char)tolower((unsigned char)h->name[i][k]);
		key[k] = '\0';

		if (redact && redact_header_sensitive(key)) {
			k = h->vlen[i] < sizeof(val) ? h->vlen[i] :
			    sizeof(val) - 1;
			memcpy(val, h->value[i], k);
			val[k] = '\0';
			(void)redact_header_value(key, val, red, sizeof(red));
			jw_str(&j, key, red);
			*redacted = 1;
			continue;
		}

		jw_key_part(&j, key);
		jw_append(&j, "\"", 1);
		jw_escape_part(&j, h->value[i], h->vlen[i]);
		for (m = i + 1; m < h->n; m++) {
			if (h->nlen[m] != h->nlen[i] || strncasecmp(
			    h->name[m], h->name[i], h->nlen[i]) != 0)
				continue;
			jw_append(&j, ", ", 2);
			jw_escape_part(&j, h->value[m], h->vlen[m]);
		}
		jw_append(&j, "\"", 1);
	}
	jw_obj_close(&j);
	return (jw_steal(&j, NULL));
}

static int
proxy_type_is(const char *type, const char *want)
{
	size_t	len;

	if (type == NULL)
		return (0);
	len = strcspn(type, ";");
	while (len > 0 && type[len - 1] == ' ')
		len--;
	if (strcmp(want, "+json") == 0)
		return (len >= 5 && strncasecmp(type + len - 5, "+json", 5) ==
		    0);
	return (len == strlen(want) && strncasecmp(type, want, len) == 0);
}

/*
 * The stored form of a body: cut to CAPTURE_BODY_MAX, then secrets
 * redacted in JSON and form bodies. *out is malloc'd or points at body.
 */
static int
proxy_body(const char *type, const void *body, size_t len, size_t max,
    int redact, char **out, size_t *outlen, int *truncated)
{
	char	*buf;
	size_t	 keep, cap, olen;
	int	 rc;

	*out = (char *)(uintptr_t)body;
	*truncated = len > max;
	keep = len > max ? max : len;
	*outlen = keep;
	if (!redact || keep == 0)
		return (0);

	rc = REDACT_NONE;
	cap = redact_bound(keep);
	if ((buf = malloc(cap)) == NULL)
		return (0);
	if (proxy_type_is(type, "application/json") ||
	    proxy_type_is(type, "+json")) {
		rc = redact_json(body, keep, buf, cap, &olen,
		    *truncated ? REDACT_PARTIAL : 0);
	} else if (proxy_type_is(type, "application/x-www-form-urlencoded")) {
		rc = redact_form(body, keep, buf, cap, &olen);
	}
	if (rc == REDACT_DONE) {
		*out = buf;
		*outlen = olen;
		return (1);
	}
	free(buf);
	return (0);
}

static void
proxy_capture(struct proxy_req *p, int status, const char *error)
{
	struct http_request	*req = p->req;
	struct http_header	*hdr;
	struct capture_call	 c;
	struct hdrs		 set;
	char			*rq_json, *rs_json, *query, *rq_body, *rs_body;
	char			 path[2048], cookies[4096];
	const char		*rq_type;
	char			*rs_type;
	size_t			 qlen, olen, rq_len, rs_len, len;
	int			 redact = !p->capture_secrets;

	memset(&c, 0, sizeof(c));
	set.n = 0;
	p->redacted = 0;
	TAILQ_FOREACH(hdr, &req->req_headers, list) {
		if (!strcasecmp(hdr->header, "x-csrf-token"))
			continue;
		if (!strcasecmp(hdr->header, "cookie")) {
			/* Our own session cookie is never stored. */
			if ((len = proxy_strip_sid(hdr->value, cookies,
			    sizeof(cookies))) > 0)
				hdrs_add(&set, "cookie", 6, cookies, len);
			continue;
		}
		hdrs_add(&set, hdr->header, strlen(hdr->header), hdr->value,
		    strlen(hdr->value));
	}
	rq_json = hdrs_json(&set, redact, &p->redacted);
	proxy_parse_head(p);
	rs_json = hdrs_json(&p->up, redact, &p->redacted);

	query = NULL;
	if (req->query_string != NULL) {
		qlen = strlen(req->query_string);
		if ((query = malloc(redact_bound(qlen))) != NULL) {
			if (!redact) {
				memcpy(query, req->query_string, qlen + 1);
			} else {
				if (redact_query(req->query_string, qlen, query,
				    redact_bound(qlen), &olen) == REDACT_DONE)
					p->redacted = 1;
				query[olen] = '\0';
			}
			proxy_clean(query);
		}
	}

	(void)kore_strlcpy(path, *p->rest ? p->rest : "/", sizeof(path));
	proxy_clean(path);

	if (!http_request_header(req, "content-type", &rq_type))
		rq_type = NULL;
	rs_type = proxy_up_header(p, "content-type");

	p->redacted |= proxy_body(rq_type, p->body, p->body_len,
	    app_cfg.capture_body_max, redact, &rq_body, &rq_len,
	    &c.req_truncated);
	p->redacted |= proxy_body(rs_type, p->resp.data, p->resp.len,
	    app_cfg.capture_body_max, redact, &rs_body, &rs_len,
	    &c.resp_truncated);

	c.endpoint_id = p->id;
	c.ts_us = p->ts_us;
	c.method = http_method_text(req->method);
	c.path = path;
	c.query = query;
	c.req_headers = rq_json != NULL ? rq_json : "{}";
	c.resp_headers = rs_json != NULL ? rs_json : "{}";
	c.req_body = rq_body;
	c.req_body_len = rq_len;
	c.req_type = rq_type;
	c.status = status;
	c.resp_body = rs_body;
	c.resp_body_len = rs_len;
	c.resp_type = rs_type;
	c.duration_ms = (int)(kore_time_ms() - p->started);
	c.req_size = (int64_t)p->body_total;
	c.resp_size = (int64_t)p->resp.len;
	c.redacted = p->redacted;
	c.error = error;
	(void)capture_add(&c);

	if (rq_body != p->body)
		free(rq_body);
	if (rs_body != p->resp.data)
		free(rs_body);
	free(rs_type);
	free(query);
	free(rq_json);
	free(rs_json);
}

static unsigned
cache_hash(const char *id)
{
	unsigned	h = 5381;

	while (*id != '\0')
		h = h * 33 + (unsigned char)*id++;
	return (h % PROXY_CACHE_BUCKETS);
}

static void
cache_free(struct proxy_ep *ep)
{
	LIST_REMOVE(ep, list);
	free(ep->base);
	free(ep->refused);
	free(ep);
	cache_count--;
}

/* The entry for id, fresh or not: callers look at its expiry. */
static struct proxy_ep *
cache_get(const char *id)
{
	struct proxy_ep	*ep;

	LIST_FOREACH(ep, &cache[cache_hash(id)], list) {
		if (strcmp(ep->id, id) == 0)
			return (ep);
	}
	return (NULL);
}

/* A fresh entry for id, replacing any old one. */
static struct proxy_ep *
cache_put(const char *id)
{
	struct proxy_ep	*ep;

	cache_drop(id, NULL);
	if (cache_count >= PROXY_CACHE_MAX)
		cache_clear(NULL, NULL);
	if ((ep = calloc(1, sizeof(*ep))) == NULL)
		return (NULL);
	(void)kore_strlcpy(ep->id, id, sizeof(ep->id));
	ep->expires = kore_time_ms() + cache_ttl;
	LIST_INSERT_HEAD(&cache[cache_hash(id)], ep, list);
	cache_count++;
	return (ep);
}

/* NOTIFY endpoint_changed '<id>': forget that endpoint. */
static void
cache_drop(const char *id, void *arg)
{
	struct proxy_ep	*ep, *next;

	for (ep = LIST_FIRST(&cache[cache_hash(id)]); ep != NULL; ep = next) {
		next = LIST_NEXT(ep, list);
		if (strcmp(ep->id, id) == 0)
			cache_free(ep);
	}
}

/*
 * Notifications may have been missed: every entry must be looked up
 * again, but stays usable should the database be down meanwhile.
 */
static void
cache_expire(const char *unused, void *arg)
{
	struct proxy_ep	*ep;
	int		 i;

	for (i = 0; i < PROXY_CACHE_BUCKETS; i++) {
		LIST_FOREACH(ep, &cache[i], list)
			ep->expires = 0;
	}
}

/* Too many entries: start afresh. */
static void
cache_clear(const char *unused, void *arg)
{
	struct proxy_ep	*ep;
	int		 i;

	for (i = 0; i < PROXY_CACHE_BUCKETS; i++) {
		while ((ep = LIST_FIRST(&cache[i])) != NULL)
			cache_free(ep);
	}
}
