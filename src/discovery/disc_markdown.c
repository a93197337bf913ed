/*
 * Writing the Markdown guide: what a developer reads before calling the
 * API.  An overview, how to authenticate, then one section per tag with
 * one subsection per operation (parameters, request body, responses,
 * examples), and the shared schemas at the end.  It says the same as the
 * OpenAPI document, from the same settled engine, in the same order.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disc_int.h"

#define ROWS_MAX	80	/* field rows per table */
#define EXAMPLE_CHARS	3000

static void	field_rows(struct disc_buf *, const struct disc_engine *,
		    const struct disc_schema *, const char *, int, size_t *);

/* Table cells: one line, no pipes, no backticks to unbalance code. */
static void
cell(struct disc_buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '|')
			disc_buf_str(b, "\\|");
		else if (*s == '\n' || *s == '\r' || *s == '\t')
			disc_buf_str(b, " ");
		else if (*s == '`')
			disc_buf_str(b, "'");
		else if ((unsigned char)*s < 0x20)
			continue;
		else
			disc_buf_add(b, s, 1);
	}
}

/* Free text: keep it, but no raw HTML and no stray control bytes. */
static void
text(struct disc_buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '<')
			disc_buf_str(b, "&lt;");
		else if ((unsigned char)*s < 0x20 && *s != '\n')
			continue;
		else
			disc_buf_add(b, s, 1);
	}
}

static const char *
type_text(const struct disc_engine *e, const struct disc_schema *s,
    char *out, size_t outsz)
{
	if (s->comp >= 0 && (size_t)s->comp < e->ncomps) {
		(void)snprintf(out, outsz, "%s%s", e->comps[s->comp].name,
		    (s->types & DISC_T_NULL) ? " | null" : "");
		return (out);
	}
	if ((s->types & DISC_T_ARR) && s->items != NULL &&
	    s->items->comp >= 0 && (size_t)s->items->comp < e->ncomps) {
		(void)snprintf(out, outsz, "array of %s",
		    e->comps[s->items->comp].name);
		return (out);
	}
	return (disc_schema_type_name(s, out, outsz));
}

/* An example kept as JSON text that holds a credential. */
static int
secret_text(const char *ex)
{
	json_t	*v;
	int	 secret;

	if ((v = json_loads(ex, JSON_DECODE_ANY, NULL)) == NULL)
		return (1);
	secret = json_is_string(v) &&
	    disc_is_secret_value(json_string_value(v));
	json_decref(v);
	return (secret);
}

static void
notes(struct disc_buf *b, const struct disc_schema *s, const char *name)
{
	size_t	i;

	if (disc_schema_enum(s)) {
		disc_buf_str(b, "one of ");
		for (i = 0; i < s->nvals; i++) {
			disc_buf_str(b, i ? ", `" : "`");
			cell(b, s->vals[i].v);
			disc_buf_str(b, "`");
		}
		return;
	}
	if (s->ex == NULL || (s->types & (DISC_T_OBJ | DISC_T_ARR)))
		return;
	if (s->nstr > 0 && (s->fmt & DISC_F_BINARY))
		return;
	if (disc_is_secret_name(name) || secret_text(s->ex)) {
		disc_buf_str(b, "e.g. `[REDACTED]`");
		return;
	}
	disc_buf_str(b, "e.g. `");
	cell(b, s->ex);
	disc_buf_str(b, "`");
}

static void
field_row(struct disc_buf *b, const struct disc_engine *e,
    const struct disc_schema *s, const char *path, int required,
    const char *name)
{
	char				 type[128];
	const struct disc_schema	*ref = s;

	disc_buf_str(b, "| `");
	cell(b, path);
	disc_buf_str(b, "` | ");
	if ((ref->types & DISC_T_ARR) && ref->items != NULL)
		ref = ref->items;
	if (ref->comp >= 0 && (size_t)ref->comp < e->ncomps) {
		/* Shared shapes link to their section. */
		disc_buf_fmt(b, "%s[%s](#schema-%s)", ref == s ? "" :
		    "array of ", e->comps[ref->comp].name,
		    e->comps[ref->comp].name);
		if (s->types & DISC_T_NULL)
			disc_buf_str(b, " \\| null");
	} else
		cell(b, type_text(e, s, type, sizeof(type)));
	disc_buf_str(b, required ? " | yes | " : " | no | ");
	notes(b, s, name);
	disc_buf_str(b, " |\n");
}

/* Rows for the fields of `s`, flattened as a.b[].c, stopping at refs. */
static void
field_rows(struct disc_buf *b, const struct disc_engine *e,
    const struct disc_schema *s, const char *prefix, int depth, size_t *rows)
{
	const struct disc_prop	**order;
	char			  path[256];
	size_t			  i;

	if (s == NULL || depth > 4)
		return;
	if (depth > 0 && s->comp >= 0)
		return;
	if ((s->types & DISC_T_ARR) && s->items != NULL &&
	    !(s->types & DISC_T_OBJ)) {
		if (s->items->comp >= 0)
			return;
		(void)snprintf(path, sizeof(path), "%s[]", prefix);
		field_rows(b, e, s->items, path, depth + 1, rows);
		return;
	}
	if (s->map && s->addl != NULL && *rows < ROWS_MAX) {
		(void)snprintf(path, sizeof(path), "%s%s{key}", prefix,
		    prefix[0] ? "." : "");
		field_row(b, e, s->addl, path, 0, "");
		(*rows)++;
		field_rows(b, e, s->addl, path, depth + 1, rows);
		return;
	}
	if ((order = disc_props_ordered(s)) == NULL)
		return;
	for (i = 0; i < s->nprops && *rows < ROWS_MAX; i++) {
		(void)snprintf(path, sizeof(path), "%s%s%s", prefix,
		    prefix[0] ? "." : "", order[i]->name);
		field_row(b, e, order[i]->s, path,
		    order[i]->count == s->nobj, order[i]->name);
		(*rows)++;
		field_rows(b, e, order[i]->s, path, depth + 1, rows);
	}
	free(order);
}

static void
fields_table(struct disc_buf *b, const struct disc_engine *e,
    const struct disc_schema *s, int top)
{
	char	type[128];
	size_t	rows = 0;

	if (s == NULL)
		return;
	if (s->comp >= 0 && !top) {
		disc_buf_fmt(b, "Schema: [%s](#schema-%s).\n\n",
		    e->comps[s->comp].name, e->comps[s->comp].name);
		return;
	}
	if (!(s->types & (DISC_T_OBJ | DISC_T_ARR)) || (s->nprops == 0 &&
	    !s->map && (s->items == NULL || s->items->comp < 0) &&
	    (s->items == NULL || s->items->nprops == 0))) {
		disc_buf_str(b, "Type: ");
		cell(b, type_text(e, s, type, sizeof(type)));
		disc_buf_str(b, ".\n\n");
		return;
	}
	if ((s->types & DISC_T_ARR) && s->items != NULL &&
	    s->items->comp >= 0) {
		disc_buf_fmt(b, "A list of [%s](#schema-%s).\n\n",
		    e->comps[s->items->comp].name,
		    e->comps[s->items->comp].name);
		return;
	}
	disc_buf_str(b, "| Field | Type | Required | Notes |\n"
	    "| --- | --- | --- | --- |\n");
	field_rows(b, e, s, "", 0, &rows);
	if (rows >= ROWS_MAX)
		disc_buf_str(b, "| ... | | | more fields in the OpenAPI "
		    "document |\n");
	disc_buf_str(b, "\n");
}

static void
example_block(struct disc_buf *b, const struct disc_media *m)
{
	json_t	*v;
	char	*t;
	size_t	 len;

	if ((v = disc_media_example(m)) == NULL)
		return;
	if (json_is_string(v) && m->kind == DISC_MK_TEXT)
		t = disc_strdup(json_string_value(v));
	else
		t = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY);
	json_decref(v);
	if (t == NULL)
		return;
	len = strlen(t);
	disc_buf_fmt(b, "Example:\n\n```%s\n", m->kind == DISC_MK_TEXT ?
	    "" : "json");
	/* A fence inside the example would end the block early. */
	while (strstr(t, "```") != NULL)
		memcpy(strstr(t, "```"), "'''", 3);
	if (len > EXAMPLE_CHARS) {
		disc_buf_add(b, t, EXAMPLE_CHARS);
		disc_buf_str(b, "\n...");
	} else
		disc_buf_str(b, t);
	disc_buf_str(b, "\n```\n\n");
	free(t);
}

static void
params_table(struct disc_buf *b, const struct disc_engine *e,
    const struct disc_op *op)
{
	json_t		*params, *p, *ex, *sch, *ty, *fm;
	size_t		 i;
	char		*et;

	params = disc_op_parameters(e, op);
	if (params == NULL || json_array_size(params) == 0) {
		json_decref(params);
		return;
	}
	disc_buf_str(b, "**Parameters**\n\n| Name | In | Type | Required "
	    "| Example |\n| --- | --- | --- | --- | --- |\n");
	for (i = 0; i < json_array_size(params); i++) {
		p = json_array_get(params, i);
		disc_buf_str(b, "| `");
		cell(b, json_string_value(json_object_get(p, "name")));
		disc_buf_str(b, "` | ");
		cell(b, json_string_value(json_object_get(p, "in")));
		disc_buf_str(b, " | ");
		sch = json_object_get(p, "schema");
		ty = json_object_get(sch, "type");
		if (json_is_string(ty) && strcmp(json_string_value(ty),
		    "array") == 0) {
			disc_buf_str(b, "array of ");
			sch = json_object_get(sch, "items");
			ty = json_object_get(sch, "type");
		}
		cell(b, json_is_string(ty) ? json_string_value(ty) : "string");
		fm = json_object_get(sch, "format");
		if (json_is_string(fm)) {
			disc_buf_str(b, " (");
			cell(b, json_string_value(fm));
			disc_buf_str(b, ")");
		}
		disc_buf_str(b, json_is_true(json_object_get(p, "required")) ?
		    " | yes | " : " | no | ");
		ex = json_object_get(p, "example");
		if (ex != NULL && (et = json_dumps(ex, JSON_ENCODE_ANY)) !=
		    NULL) {
			disc_buf_str(b, "`");
			cell(b, et);
			disc_buf_str(b, "`");
			free(et);
		}
		disc_buf_str(b, " |\n");
	}
	disc_buf_str(b, "\n");
	json_decref(params);
}

static const char *
op_tag_name(const struct disc_op *op)
{
	return (op->ntags > 0 ? op->tags[0] : op->tag);
}

static void
operation(struct disc_buf *b, const struct disc_engine *e,
    const struct disc_op *op)
{
	const struct disc_status	*st;
	size_t				 i, j, nsec = 0;

	disc_buf_fmt(b, "### %s `", op->method);
	text(b, op->tmpl);
	disc_buf_str(b, "`\n\n");
	if (op->summary != NULL) {
		disc_buf_str(b, "**");
		text(b, op->summary);
		disc_buf_str(b, "**\n\n");
	}
	if (op->description != NULL) {
		text(b, op->description);
		disc_buf_str(b, "\n\n");
	}
	disc_buf_fmt(b, "Operation id `%s`; seen in %lu call%s", op->id,
	    op->n, op->n == 1 ? "" : "s");
	if (op->dn > 0)
		disc_buf_fmt(b, "; latency %ld to %ld ms, %.0f ms on average",
		    op->dmin, op->dmax, op->dsum / (double)op->dn);
	disc_buf_str(b, ".\n\n");

	for (i = 0; i < e->nschemes; i++)
		if (op->sec[i] > 0)
			disc_buf_fmt(b, "%s`%s`", nsec++ == 0 ?
			    "**Authentication:** " : " or ", e->schemes[i].id);
	if (nsec > 0)
		disc_buf_fmt(b, "%s.\n\n", op->nanon_ok > 0 ?
		    " (optional: some calls succeeded without)" : "");
	else
		disc_buf_str(b, "**Authentication:** none seen.\n\n");

	params_table(b, e, op);

	for (i = 0; i < op->nreq; i++) {
		disc_buf_fmt(b, "**Request body** (`%s`%s)\n\n",
		    op->req[i].ctype, op->nreq_empty == 0 ? ", required" :
		    ", optional");
		if (op->req[i].schema != NULL)
			fields_table(b, e, op->req[i].schema, 0);
		example_block(b, &op->req[i]);
	}

	disc_buf_str(b, "**Responses**\n\n");
	for (i = 0; i < op->nst; i++) {
		st = &op->st[i];
		disc_buf_fmt(b, "- **%d %s**", st->code,
		    disc_reason(st->code));
		for (j = 0; j < st->nmedia; j++)
			disc_buf_fmt(b, "%s`%s`", j == 0 ? ": " : ", ",
			    st->media[j].ctype);
		if (st->nmedia == 0)
			disc_buf_str(b, ": no body");
		disc_buf_fmt(b, " (%lu call%s)\n", st->n, st->n == 1 ? "" :
		    "s");
	}
	disc_buf_str(b, "\n");
	for (i = 0; i < op->nst; i++) {
		st = &op->st[i];
		for (j = 0; j < st->nmedia; j++) {
			if (st->media[j].schema == NULL &&
			    st->media[j].ex == NULL)
				continue;
			disc_buf_fmt(b, "#### %d %s (`%s`)\n\n", st->code,
			    disc_reason(st->code), st->media[j].ctype);
			if (st->media[j].schema != NULL)
				fields_table(b, e, st->media[j].schema, 0);
			example_block(b, &st->media[j]);
		}
		if (st->headers != NULL && st->headers->nprops > 0) {
			disc_buf_fmt(b, "Headers of %d:", st->code);
			for (j = 0; j < st->headers->nprops; j++) {
				disc_buf_str(b, j ? ", `" : " `");
				cell(b, st->headers->props[j].name);
				disc_buf_str(b, "`");
			}
			disc_buf_str(b, ".\n\n");
		}
	}
}

static void
authentication(struct disc_buf *b, const struct disc_engine *e)
{
	const struct disc_scheme	*s;
	size_t				 i;

	disc_buf_str(b, "## Authentication\n\n");
	if (e->nschemes == 0) {
		disc_buf_str(b, "No credentials were seen in the captured "
		    "calls.\n\n");
		return;
	}
	for (i = 0; i < e->nschemes; i++) {
		s = &e->schemes[i];
		disc_buf_fmt(b, "- `%s`: ", s->id);
		switch (s->kind) {
		case DISC_SK_BEARER:
			disc_buf_fmt(b, "a bearer token%s in the "
			    "`Authorization` header (`Authorization: Bearer "
			    "<token>`)", s->jwt ? " (a JWT)" : "");
			break;
		case DISC_SK_BASIC:
			disc_buf_str(b, "HTTP Basic authentication "
			    "(`Authorization: Basic <base64 user:password>`)");
			break;
		case DISC_SK_DIGEST:
			disc_buf_str(b, "HTTP Digest authentication");
			break;
		default:
			disc_buf_fmt(b, "an API key in the %s `",
			    s->in == DISC_IN_QUERY ? "query parameter" :
			    s->in == DISC_IN_COOKIE ? "cookie" : "header");
			cell(b, s->name);
			disc_buf_str(b, "`");
			if (s->name_unknown)
				disc_buf_str(b, " (the cookie's real name "
				    "was redacted at capture)");
		}
		disc_buf_fmt(b, "; seen in %lu call%s.\n", s->n,
		    s->n == 1 ? "" : "s");
	}
	disc_buf_str(b, "\n");
}

static int
tag_seen(const struct disc_engine *e, size_t upto, const char *tag)
{
	size_t	i;

	for (i = 0; i < upto; i++)
		if (strcmp(op_tag_name(e->ops[i]), tag) == 0)
			return (1);
	return (0);
}

static int
comp_name_order(const void *a, const void *b)
{
	const struct disc_comp	*ca = *(const struct disc_comp *const *)a;
	const struct disc_comp	*cb = *(const struct disc_comp *const *)b;

	return (strcmp(ca->name, cb->name));
}

char *
disc_markdown(struct disc_engine *e)
{
	struct disc_buf		  b = { NULL, 0, 0, 0 };
	const struct disc_comp	**byname, *c;
	const char		 *tag;
	size_t			  i, j, rows;

	if (e == NULL || !e->analysed)
		return (NULL);
	disc_buf_str(&b, "# ");
	text(&b, e->title ? e->title : "Discovered API");
	disc_buf_str(&b, "\n\n");
	if (e->note != NULL) {
		disc_buf_str(&b, "> ");
		text(&b, e->note);
		disc_buf_str(&b, "\n\n");
	}
	if (e->description != NULL) {
		text(&b, e->description);
		disc_buf_str(&b, "\n\n");
	}
	if (e->server_url != NULL) {
		disc_buf_str(&b, "Base URL: `");
		cell(&b, e->server_url);
		disc_buf_str(&b, "`\n\n");
	}
	/* Count distinct templates (operations are sorted by template). */
	for (i = 0, j = 0; i < e->nops; i++)
		if (i == 0 || strcmp(e->ops[i]->tmpl, e->ops[i - 1]->tmpl))
			j++;
	disc_buf_fmt(&b, "This guide was inferred from %zu captured calls: "
	    "%zu operations on %zu path%s", e->used, e->nops, j,
	    j == 1 ? "" : "s");
	disc_buf_fmt(&b, ", %zu shared schema%s.\n\n", e->ncomps,
	    e->ncomps == 1 ? "" : "s");

	disc_buf_str(&b, "## Operations\n\n");
	for (i = 0; i < e->nops; i++)
		disc_buf_fmt(&b, "- `%s %s`%s%s\n", e->ops[i]->method,
		    e->ops[i]->tmpl, e->ops[i]->summary ? ": " : "",
		    e->ops[i]->summary ? e->ops[i]->summary : "");
	disc_buf_str(&b, "\n");

	authentication(&b, e);

	/* One section per tag, in order of first appearance. */
	for (i = 0; i < e->nops; i++) {
		tag = op_tag_name(e->ops[i]);
		if (tag_seen(e, i, tag))
			continue;
		disc_buf_str(&b, "## ");
		text(&b, tag);
		disc_buf_str(&b, "\n\n");
		for (j = i; j < e->nops; j++)
			if (strcmp(op_tag_name(e->ops[j]), tag) == 0)
				operation(&b, e, e->ops[j]);
	}

	if (e->ncomps > 0 &&
	    (byname = calloc(e->ncomps, sizeof(*byname))) != NULL) {
		for (i = 0; i < e->ncomps; i++)
			byname[i] = &e->comps[i];
		qsort(byname, e->ncomps, sizeof(*byname), comp_name_order);
		disc_buf_str(&b, "## Schemas\n\n");
		for (i = 0; i < e->ncomps; i++) {
			c = byname[i];
			disc_buf_fmt(&b, "<a id=\"schema-%s\"></a>\n\n"
			    "### %s\n\n", c->name, c->name);
			disc_buf_fmt(&b, "Seen in %lu place%s.\n\n",
			    c->uses, c->uses == 1 ? "" : "s");
			rows = 0;
			disc_buf_str(&b, "| Field | Type | Required | Notes |\n"
			    "| --- | --- | --- | --- |\n");
			field_rows(&b, e, c->s, "", 0, &rows);
			disc_buf_str(&b, "\n");
		}
		free(byname);
	}
	return (disc_buf_finish(&b));
}
