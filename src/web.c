/*
 * The single-page app and its files, and the answer for unknown paths.
 *
 * kodev compiles each file under assets/ into the binary together with a
 * handler named asset_serve_<name>_<ext> that answers with an ETag. The
 * route ^/assets/ maps a file name to that handler at run time, so adding
 * a file to assets/ needs no new route. Every other GET outside /api and
 * /proxy gets index.html, and the app routes in the browser.
 *
 * The app's pages carry a strict Content-Security-Policy: no inline
 * script, nothing loaded from other origins.
 */

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "api.h"

int	web_index(struct http_request *);
int	web_asset(struct http_request *);
int	web_not_found(struct http_request *);

static int	web_serve(struct http_request *, const char *);
static void	web_headers(struct http_request *);

#define WEB_CSP	"default-src 'self'; script-src 'self'; " \
		"style-src 'self' 'unsafe-inline'; img-src 'self' data:; " \
		"font-src 'self' data:; connect-src 'self'; " \
		"worker-src 'self' blob:; frame-ancestors 'none'; " \
		"base-uri 'none'; form-action 'self'; object-src 'none'"

static void
web_headers(struct http_request *req)
{
	http_response_header(req, "Content-Security-Policy", WEB_CSP);
	http_response_header(req, "X-Content-Type-Options", "nosniff");
	http_response_header(req, "X-Frame-Options", "DENY");
	http_response_header(req, "Referrer-Policy", "same-origin");
}

/* Calls the handler kodev generated for one embedded file. */
static int
web_serve(struct http_request *req, const char *file)
{
	int	(*serve)(struct http_request *);
	char	 sym[160];
	size_t	 i, o;

	o = (size_t)snprintf(sym, sizeof(sym), "asset_serve_");
	for (i = 0; file[i] != '\0' && o + 1 < sizeof(sym); i++) {
		if (isalnum((unsigned char)file[i]) || file[i] == '_')
			sym[o++] = file[i];
		else if (file[i] == '.' || file[i] == '-')
			sym[o++] = '_';
		else
			return (-1);
	}
	sym[o] = '\0';

	/* The embedded Kore configuration is an asset too; never serve it. */
	if (strstr(sym, "builtin_kore") != NULL)
		return (-1);

	*(void **)&serve = kore_module_getsym(sym, NULL);
	if (serve == NULL)
		return (-1);

	web_headers(req);
	return (serve(req));
}

int
web_index(struct http_request *req)
{
	if (strncmp(req->path, "/api/", 5) == 0 ||
	    strcmp(req->path, "/api") == 0 ||
	    strncmp(req->path, "/assets/", 8) == 0 ||
	    !(req->method & (HTTP_METHOD_GET | HTTP_METHOD_HEAD)))
		return (web_not_found(req));

	http_response_header(req, "Cache-Control", "no-cache");
	if (web_serve(req, "index.html") == -1)
		return (web_not_found(req));
	return (KORE_RESULT_OK);
}

int
web_asset(struct http_request *req)
{
	const char	*file = req->path + strlen("/assets/");

	if (!(req->method & (HTTP_METHOD_GET | HTTP_METHOD_HEAD)) ||
	    strchr(file, '/') != NULL || *file == '.' ||
	    web_serve(req, file) == -1)
		return (web_not_found(req));
	return (KORE_RESULT_OK);
}

int
web_not_found(struct http_request *req)
{
	char	msg[300];

	(void)snprintf(msg, sizeof(msg), "there is nothing at %s %.200s",
	    http_method_text(req->method), req->path);
	return (api_fail(req, 404, "NOT_FOUND", msg));
}
