/*
 * Writing the OpenAPI 3.1 document.
 *
 * Everything here reads the settled engine and builds a jansson tree;
 * jansson keeps keys in insertion order, so the order of the document is
 * the order chosen here: templates sorted, methods in the specification's
 * order, statuses and media types sorted, properties by where they first
 * appeared in bodies.  Examples are real bodies, redacted on the way out.
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disc_int.h"

static json_t	*param_schema(const struct disc_engine *,
		    const struct disc_schema *);

/* An example value kept as JSON text, parsed back and made safe. */
static json_t *
scalar_example(const char *text, const char *name)
{
	json_t	*v;

	if (text == NULL)
		return (NULL);
	if ((v = json_loads(text, JSON_DECODE_ANY, NULL)) == NULL)
		return (NULL);
	if (json_is_string(v) &&
	    strcmp(json_string_value(v), DISC_BINARY_MARK) == 0) {
		json_decref(v);
		return (NULL);
	}
	if ((name != NULL && disc_is_secret_name(name) && !json_is_null(v)) ||
	    (json_is_string(v) && disc_is_secret_value(json_string_value(v))))
		json_string_set(v, "[REDACTED]");
	return (v);
}

/*
 * Parameters are simpler than bodies: one type, an array when the
 * parameter was repeated, a string when values of several types mixed.
 */
static json_t *
param_schema(const struct disc_engine *e, const struct disc_schema *s)
{
	json_t		*o, *items;
	unsigned	 t = s->types & ~DISC_T_NULL;

	if (t & DISC_T_ARR) {
		o = json_object();
		json_object_set_new(o, "type", json_string("array"));
		if (s->items != NULL)
			items = param_schema(e, s->items);
		else
			items = json_object();
		json_object_set_new(o, "items", items);
		return (o);
	}
	if ((t & DISC_T_STR) && (t & ~DISC_T_STR)) {
		o = json_object();
		json_object_set_new(o, "type", json_string("string"));
		return (o);
	}
	if (t == 0) {
		o = json_object();
		json_object_set_new(o, "type", json_string("string"));
		return (o);
	}
	return (disc_schema_json(e, s, 1));
}

static json_t *
param_json(const struct disc_engine *e, const char *name, const char *in,
    int required, const struct disc_schema *s)
{
	json_t	*p, *ex;

	p = json_object();
	json_object_set_new(p, "name", disc_jstr(name));
	json_object_set_new(p, "in", json_string(in));
	json_object_set_new(p, "required", json_boolean(required));
	json_object_set_new(p, "schema", param_schema(e, s));
	if ((ex = scalar_example(s->ex, name)) != NULL)
		json_object_set_new(p, "example", ex);
	return (p);
}

static void
props_params(const struct disc_engine *e, json_t *arr,
    const struct disc_schema *s, const char *in)
{
	const struct disc_prop	**order;
	size_t			  i;

	if ((order = disc_props_ordered(s)) == NULL)
		return;
	for (i = 0; i < s->nprops; i++)
		json_array_append_new(arr, param_json(e, order[i]->name, in,
		    order[i]->count == s->nobj, order[i]->s));
	free(order);
}

/* Path parameters from the template, then query, then headers. */
json_t *
disc_op_parameters(const struct disc_engine *e, const struct disc_op *op)
{
	const struct disc_node	*chain[80], *n;
	size_t			 depth = 0;
	json_t			*arr = json_array();

	for (n = op->node; n != NULL && n->parent != NULL && depth < 80;
	    n = n->parent)
		chain[depth++] = n;
	while (depth-- > 0) {
		n = chain[depth];
		if (n->seg == NULL && n->pvals != NULL)
			json_array_append_new(arr, param_json(e,
			    n->pname ? n->pname : "id", "path", 1, n->pvals));
	}
	props_params(e, arr, op->query, "query");
	props_params(e, arr, op->headers, "header");
	props_params(e, arr, op->cookies, "cookie");
	return (arr);
}

/* The stored example of a body, as the value OpenAPI shows. */
json_t *
disc_media_example(const struct disc_media *m)
{
	json_t	*v;
	char	*c;

	if (m->ex == NULL)
		return (NULL);
	switch (m->kind) {
	case DISC_MK_JSON:
		v = json_loadb(m->ex, m->exlen,
		    JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
		return (disc_redact(v, 0));
	case DISC_MK_FORM:
		v = disc_form_parse(m->ex, m->exlen, 0);
		return (disc_redact(v, 0));
	case DISC_MK_TEXT:
		/* Cut long text at a character boundary. */
		if ((c = disc_utf8_clean(m->ex, m->exlen > 2048 ? 2048 :
		    m->exlen)) == NULL)
			return (NULL);
		if (m->exlen > 2048) {
			size_t	len = strlen(c);

			while (len > 0 && ((unsigned char)c[len - 1] & 0xc0)
			    == 0x80)
				len--;
			if (len > 0 && (unsigned char)c[len - 1] >= 0xc0)
				len--;
			c[len] = '\0';
		}
		v = json_string(c);
		free(c);
		return (v);
	}
	return (NULL);
}

static json_t *
media_json(const struct disc_engine *e, const struct disc_media *m)
{
	json_t	*o, *s, *ex;

	o = json_object();
	if (m->schema != NULL)
		s = disc_schema_json(e, m->schema, 0);
	else {
		s = json_object();
		if (m->kind == DISC_MK_TEXT || m->kind == DISC_MK_BINARY ||
		    m->kind == DISC_MK_MULTI)
			json_object_set_new(s, "type", json_string("string"));
		if (m->kind == DISC_MK_BINARY)
			json_object_set_new(s, "contentMediaType",
			    disc_jstr(m->ctype));
	}
	json_object_set_new(o, "schema", s);
	if ((ex = disc_media_example(m)) != NULL)
		json_object_set_new(o, "example", ex);
	return (o);
}

static json_t *
headers_json(const struct disc_engine *e, const struct disc_schema *h)
{
	json_t	*o, *one, *ex;
	size_t	 i;

	o = json_object();
	for (i = 0; h != NULL && i < h->nprops; i++) {
		one = json_object();
		json_object_set_new(one, "schema", param_schema(e,
		    h->props[i].s));
		if (h->props[i].count == h->nobj)
			json_object_set_new(one, "required", json_true());
		if ((ex = scalar_example(h->props[i].s->ex,
		    h->props[i].name)) != NULL)
			json_object_set_new(one, "example", ex);
		json_object_set_new(o, h->props[i].name, one);
	}
	return (o);
}

/* "listUserOrders" -> "List user orders": a default summary. */
static json_t *
summary_from_id(const char *id)
{
	char	 out[256];
	size_t	 o = 0, i;

	for (i = 0; id[i] != '\0' && o + 3 < sizeof(out); i++) {
		if (isupper((unsigned char)id[i]) && i > 0) {
			out[o++] = ' ';
			out[o++] = (char)tolower((unsigned char)id[i]);
		} else if (isdigit((unsigned char)id[i]) && i > 0 &&
		    !isdigit((unsigned char)id[i - 1])) {
			out[o++] = ' ';
			out[o++] = id[i];
		} else
			out[o++] = (char)(i == 0 ?
			    toupper((unsigned char)id[i]) : id[i]);
	}
	out[o] = '\0';
	return (json_string(out));
}

static json_t *
security_json(const struct disc_engine *e, const struct disc_op *op)
{
	json_t	*arr = json_array(), *req;
	size_t	 i;

	for (i = 0; i < e->nschemes; i++) {
		if (op->sec[i] == 0)
			continue;
		req = json_object();
		json_object_set_new(req, e->schemes[i].id, json_array());
		json_array_append_new(arr, req);
	}
	/* Successful calls without credentials: authentication is optional. */
	if (json_array_size(arr) > 0 && op->nanon_ok > 0)
		json_array_append_new(arr, json_object());
	return (arr);
}

static json_t *
op_json(const struct disc_engine *e, const struct disc_op *op)
{
	json_t		*o, *tags, *params, *rb, *content, *resps, *r, *sec;
	json_t		*hdrs;
	size_t		 i, j;
	char		 code[8];
	const struct disc_status	*st;

	o = json_object();
	tags = json_array();
	if (op->ntags > 0)
		for (i = 0; i < op->ntags; i++)
			json_array_append_new(tags, disc_jstr(op->tags[i]));
	else
		json_array_append_new(tags, disc_jstr(op->tag));
	json_object_set_new(o, "tags", tags);
	json_object_set_new(o, "summary", op->summary ?
	    disc_jstr(op->summary) : summary_from_id(op->id));
	if (op->description != NULL)
		json_object_set_new(o, "description",
		    disc_jstr(op->description));
	json_object_set_new(o, "operationId", json_string(op->id));
	params = disc_op_parameters(e, op);
	if (json_array_size(params) > 0)
		json_object_set_new(o, "parameters", params);
	else
		json_decref(params);

	if (op->nreq > 0) {
		rb = json_object();
		content = json_object();
		for (i = 0; i < op->nreq; i++)
			json_object_set_new(content, op->req[i].ctype,
			    media_json(e, &op->req[i]));
		json_object_set_new(rb, "content", content);
		json_object_set_new(rb, "required",
		    json_boolean(op->nreq_empty == 0));
		json_object_set_new(o, "requestBody", rb);
	}

	resps = json_object();
	for (i = 0; i < op->nst; i++) {
		st = &op->st[i];
		r = json_object();
		json_object_set_new(r, "description",
		    json_string(disc_reason(st->code)));
		hdrs = headers_json(e, st->headers);
		if (json_object_size(hdrs) > 0)
			json_object_set_new(r, "headers", hdrs);
		else
			json_decref(hdrs);
		if (st->nmedia > 0) {
			content = json_object();
			for (j = 0; j < st->nmedia; j++)
				json_object_set_new(content,
				    st->media[j].ctype,
				    media_json(e, &st->media[j]));
			json_object_set_new(r, "content", content);
		}
		(void)snprintf(code, sizeof(code), "%d", st->code);
		json_object_set_new(resps, code, r);
	}
	json_object_set_new(o, "responses", resps);

	sec = security_json(e, op);
	if (json_array_size(sec) > 0)
		json_object_set_new(o, "security", sec);
	else
		json_decref(sec);
	json_object_set_new(o, "x-observed-calls",
	    json_integer((json_int_t)op->n));
	return (o);
}

static json_t *
schemes_json(const struct disc_engine *e)
{
	const struct disc_scheme	*s;
	json_t				*o, *one;
	size_t				 i;

	o = json_object();
	for (i = 0; i < e->nschemes; i++) {
		s = &e->schemes[i];
		one = json_object();
		switch (s->kind) {
		case DISC_SK_BEARER:
			json_object_set_new(one, "type", json_string("http"));
			json_object_set_new(one, "scheme",
			    json_string("bearer"));
			if (s->jwt)
				json_object_set_new(one, "bearerFormat",
				    json_string("JWT"));
			break;
		case DISC_SK_BASIC:
		case DISC_SK_DIGEST:
			json_object_set_new(one, "type", json_string("http"));
			json_object_set_new(one, "scheme", json_string(
			    s->kind == DISC_SK_BASIC ? "basic" : "digest"));
			break;
		default:
			json_object_set_new(one, "type",
			    json_string("apiKey"));
			json_object_set_new(one, "name", disc_jstr(s->name));
			json_object_set_new(one, "in", json_string(
			    s->in == DISC_IN_QUERY ? "query" :
			    s->in == DISC_IN_COOKIE ? "cookie" : "header"));
			if (s->name_unknown)
				json_object_set_new(one, "description",
				    json_string("The cookie's name was "
				    "redacted when calls were captured; "
				    "\"session\" stands in for it."));
		}
		json_object_set_new(o, s->id, one);
	}
	return (o);
}

static int
str_order(const void *a, const void *b)
{
	return (strcmp(*(const char *const *)a, *(const char *const *)b));
}

static json_t *
tags_json(const struct disc_engine *e)
{
	const char	**all;
	size_t		  n = 0, i, j;
	json_t		 *arr = json_array(), *t;

	for (i = 0; i < e->nops; i++)
		n += e->ops[i]->ntags > 0 ? e->ops[i]->ntags : 1;
	if (n == 0 || (all = calloc(n, sizeof(*all))) == NULL)
		return (arr);
	n = 0;
	for (i = 0; i < e->nops; i++) {
		if (e->ops[i]->ntags == 0)
			all[n++] = e->ops[i]->tag;
		for (j = 0; j < e->ops[i]->ntags; j++)
			all[n++] = e->ops[i]->tags[j];
	}
	qsort(all, n, sizeof(*all), str_order);
	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(all[i], all[i - 1]) == 0)
			continue;
		t = json_object();
		json_object_set_new(t, "name", disc_jstr(all[i]));
		json_array_append_new(arr, t);
	}
	free(all);
	return (arr);
}

static char *
info_description(const struct disc_engine *e)
{
	struct disc_buf	b = { NULL, 0, 0, 0 };

	if (e->note != NULL)
		disc_buf_fmt(&b, "> %s\n\n", e->note);
	if (e->description != NULL)
		disc_buf_fmt(&b, "%s\n\n", e->description);
	disc_buf_fmt(&b, "Inferred from %zu captured calls by apiscribe.",
	    e->used);
	return (disc_buf_finish(&b));
}

static int
comp_order(const void *a, const void *b)
{
	const struct disc_comp	*ca = *(const struct disc_comp *const *)a;
	const struct disc_comp	*cb = *(const struct disc_comp *const *)b;

	return (strcmp(ca->name, cb->name));
}

static json_t *
openapi_tree(struct disc_engine *e)
{
	json_t	*root, *info, *paths, *item, *comps, *schemas, *srv, *s;
	char	*desc;
	size_t	 i;

	root = json_object();
	json_object_set_new(root, "openapi", json_string("3.1.0"));
	info = json_object();
	json_object_set_new(info, "title", disc_jstr(e->title ? e->title :
	    "Discovered API"));
	if ((desc = info_description(e)) != NULL) {
		json_object_set_new(info, "description", disc_jstr(desc));
		free(desc);
	}
	json_object_set_new(info, "version", disc_jstr(e->version ?
	    e->version : "1.0.0"));
	json_object_set_new(root, "info", info);
	if (e->server_url != NULL) {
		srv = json_object();
		json_object_set_new(srv, "url", disc_jstr(e->server_url));
		s = json_array();
		json_array_append_new(s, srv);
		json_object_set_new(root, "servers", s);
	}
	json_object_set_new(root, "tags", tags_json(e));

	paths = json_object();
	for (i = 0; i < e->nops; i++) {
		char	method[DISC_METHOD_MAX + 1];
		size_t	k;

		if ((item = json_object_get(paths, e->ops[i]->tmpl)) == NULL) {
			item = json_object();
			json_object_set_new(paths, e->ops[i]->tmpl, item);
		}
		for (k = 0; e->ops[i]->method[k] != '\0'; k++)
			method[k] = (char)tolower(
			    (unsigned char)e->ops[i]->method[k]);
		method[k] = '\0';
		json_object_set_new(item, method, op_json(e, e->ops[i]));
	}
	json_object_set_new(root, "paths", paths);

	comps = json_object();
	if (e->ncomps > 0) {
		const struct disc_comp	**byname;

		schemas = json_object();
		if ((byname = calloc(e->ncomps, sizeof(*byname))) != NULL) {
			for (i = 0; i < e->ncomps; i++)
				byname[i] = &e->comps[i];
			qsort(byname, e->ncomps, sizeof(*byname), comp_order);
			for (i = 0; i < e->ncomps; i++)
				json_object_set_new(schemas, byname[i]->name,
				    disc_schema_json(e, byname[i]->s, 1));
			free(byname);
		}
		json_object_set_new(comps, "schemas", schemas);
	}
	if (e->nschemes > 0)
		json_object_set_new(comps, "securitySchemes", schemes_json(e));
	if (json_object_size(comps) > 0)
		json_object_set_new(root, "components", comps);
	else
		json_decref(comps);
	return (root);
}

char *
disc_openapi_json(struct disc_engine *e)
{
	json_t	*root;
	char	*out;

	if (e == NULL || !e->analysed)
		return (NULL);
	if ((root = openapi_tree(e)) == NULL)
		return (NULL);
	out = json_dumps(root, JSON_INDENT(2));
	json_decref(root);
	return (out);
}
