/*
 * The difference between two OpenAPI documents, as facts.
 *
 * Each document is reduced to two sorted lists of strings: its
 * operations ("GET\t/users/{userId}") and its fields ("GET\t/users/
 * {userId}\tresponse 200\taddress.city"). Schemas are walked through
 * $ref (to components), allOf/anyOf/oneOf, properties, array items and
 * map values, to a bounded depth and with reference cycles cut. Two
 * sorted lists then give what was added and removed in one pass.
 *
 * Fields of an operation that was itself added or removed are not
 * listed again: the operation says it all.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "docdiff.h"

#define DD_DEPTH_MAX	12
#define DD_FACTS_MAX	20000
#define DD_REFS_MAX	16

struct dd_list {
	char	**v;
	size_t	  n;
	size_t	  cap;
	int	  err;
};

struct dd_doc {
	json_t		*root;
	struct dd_list	 ops;
	struct dd_list	 fields;
	const char	*refs[DD_REFS_MAX];	/* $refs being walked */
	int		 nrefs;
};

static const char *dd_methods[] = {
	"get", "put", "post", "delete", "options", "head", "patch", "trace",
	NULL
};

static void	dd_add(struct dd_list *, const char *, const char *,
		    const char *, const char *);
static json_t	*dd_resolve(struct dd_doc *, json_t *, const char *);
static void	dd_schema(struct dd_doc *, json_t *, const char *,
		    const char *, const char *, const char *, int);
static void	dd_content(struct dd_doc *, json_t *, const char *,
		    const char *, const char *);
static void	dd_params(struct dd_doc *, json_t *, const char *,
		    const char *);
static int	dd_collect(struct dd_doc *, const char *, size_t);
static void	dd_free(struct dd_doc *);
static int	dd_cmp(const void *, const void *);
static int	dd_has(const struct dd_list *, const char *);
static json_t	*dd_entry(const char *, int);

static void
dd_add(struct dd_list *l, const char *method, const char *path,
    const char *loc, const char *name)
{
	char	**nv;
	char	 *s;
	size_t	  len;

	if (l->err || l->n >= DD_FACTS_MAX)
		return;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		if ((nv = realloc(l->v, l->cap * sizeof(*nv))) == NULL) {
			l->err = 1;
			return;
		}
		l->v = nv;
	}
	len = strlen(method) + strlen(path) + 3 +
	    (loc ? strlen(loc) + strlen(name) + 2 : 0);
	if ((s = malloc(len)) == NULL) {
		l->err = 1;
		return;
	}
	if (loc != NULL)
		(void)snprintf(s, len, "%s\t%s\t%s\t%s", method, path, loc,
		    name);
	else
		(void)snprintf(s, len, "%s\t%s", method, path);
	l->v[l->n++] = s;
}

/*
 * Follows a local reference ("#/components/schemas/User") one level;
 * returns the object itself when it is not a reference. NULL for a
 * reference that leads nowhere or is already being walked.
 */
static json_t *
dd_resolve(struct dd_doc *d, json_t *obj, const char *section)
{
	json_t		*ref;
	const char	*r, *name;
	char		 prefix[64];
	int		 i;

	if (!json_is_object(obj) ||
	    !json_is_string(ref = json_object_get(obj, "$ref")))
		return (obj);
	r = json_string_value(ref);
	(void)snprintf(prefix, sizeof(prefix), "#/components/%s/", section);
	if (strncmp(r, prefix, strlen(prefix)) != 0)
		return (NULL);
	name = r + strlen(prefix);
	for (i = 0; i < d->nrefs; i++) {
		if (strcmp(d->refs[i], r) == 0)
			return (NULL);
	}
	return (json_object_get(json_object_get(json_object_get(d->root,
	    "components"), section), name));
}

static void
dd_schema(struct dd_doc *d, json_t *s, const char *method, const char *path,
    const char *loc, const char *prefix, int depth)
{
	json_t		*target, *props, *v;
	const char	*key, *ref = NULL;
	char		 name[512];
	size_t		 i;
	int		 pushed = 0;
	static const char *combos[] = { "allOf", "anyOf", "oneOf", NULL };

	if (!json_is_object(s) || depth > DD_DEPTH_MAX)
		return;
	if (json_is_string(v = json_object_get(s, "$ref"))) {
		ref = json_string_value(v);
		if ((target = dd_resolve(d, s, "schemas")) == NULL ||
		    d->nrefs == DD_REFS_MAX)
			return;
		d->refs[d->nrefs++] = ref;
		pushed = 1;
		s = target;
	}

	for (i = 0; combos[i] != NULL; i++) {
		json_t	*part;
		size_t	 k;

		json_array_foreach(json_object_get(s, combos[i]), k, part)
			dd_schema(d, part, method, path, loc, prefix,
			    depth + 1);
	}

	props = json_object_get(s, "properties");
	json_object_foreach(props, key, v) {
		(void)snprintf(name, sizeof(name), "%s%s%s", prefix,
		    prefix[0] ? "." : "", key);
		dd_add(&d->fields, method, path, loc, name);
		dd_schema(d, v, method, path, loc, name, depth + 1);
	}

	if ((v = json_object_get(s, "items")) != NULL) {
		(void)snprintf(name, sizeof(name), "%s[]", prefix);
		dd_schema(d, v, method, path, loc, name, depth + 1);
	}
	if (json_is_object(v = json_object_get(s, "additionalProperties"))) {
		(void)snprintf(name, sizeof(name), "%s{*}", prefix);
		dd_add(&d->fields, method, path, loc, name);
		dd_schema(d, v, method, path, loc, name, depth + 1);
	}

	if (pushed)
		d->nrefs--;
}

/* Every media type's schema of a request body or response. */
static void
dd_content(struct dd_doc *d, json_t *holder, const char *method,
    const char *path, const char *loc)
{
	json_t		*media;
	const char	*type;

	json_object_foreach(json_object_get(holder, "content"), type, media)
		dd_schema(d, json_object_get(media, "schema"), method, path,
		    loc, "", 0);
}

static void
dd_params(struct dd_doc *d, json_t *params, const char *method,
    const char *path)
{
	json_t		*p, *in, *name;
	size_t		 i;

	json_array_foreach(params, i, p) {
		if ((p = dd_resolve(d, p, "parameters")) == NULL)
			continue;
		in = json_object_get(p, "in");
		name = json_object_get(p, "name");
		if (json_is_string(in) && json_is_string(name))
			dd_add(&d->fields, method, path, json_string_value(in),
			    json_string_value(name));
	}
}

static int
dd_collect(struct dd_doc *d, const char *text, size_t len)
{
	json_t		*item, *op, *resp, *body;
	const char	*path, *status;
	char		 method[16], loc[64];
	size_t		 i, k;

	if ((d->root = json_loadb(text, len, 0, NULL)) == NULL ||
	    !json_is_object(d->root))
		return (-1);

	json_object_foreach(json_object_get(d->root, "paths"), path, item) {
		for (i = 0; dd_methods[i] != NULL; i++) {
			if (!json_is_object(op = json_object_get(item,
			    dd_methods[i])))
				continue;
			for (k = 0; dd_methods[i][k] != '\0'; k++)
				method[k] = (char)(dd_methods[i][k] - 'a' +
				    'A');
			method[k] = '\0';

			dd_add(&d->ops, method, path, NULL, NULL);
			dd_params(d, json_object_get(item, "parameters"),
			    method, path);
			dd_params(d, json_object_get(op, "parameters"), method,
			    path);
			body = dd_resolve(d, json_object_get(op,
			    "requestBody"), "requestBodies");
			if (body != NULL)
				dd_content(d, body, method, path,
				    "requestBody");
			json_object_foreach(json_object_get(op, "responses"),
			    status, resp) {
				if ((resp = dd_resolve(d, resp,
				    "responses")) == NULL)
					continue;
				(void)snprintf(loc, sizeof(loc), "response %s",
				    status);
				dd_content(d, resp, method, path, loc);
			}
		}
	}
	if (d->ops.err || d->fields.err)
		return (-1);
	qsort(d->ops.v, d->ops.n, sizeof(char *), dd_cmp);
	qsort(d->fields.v, d->fields.n, sizeof(char *), dd_cmp);
	return (0);
}

static void
dd_list_free(struct dd_list *l)
{
	size_t	i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static void
dd_free(struct dd_doc *d)
{
	dd_list_free(&d->ops);
	dd_list_free(&d->fields);
	json_decref(d->root);
}

static int
dd_cmp(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

static int
dd_has(const struct dd_list *l, const char *s)
{
	return (bsearch(&s, l->v, l->n, sizeof(char *), dd_cmp) != NULL);
}

/* {"method", "path"} or {"method", "path", "location", "name"}. */
static json_t *
dd_entry(const char *fact, int field)
{
	json_t		*o;
	const char	*keys[] = { "method", "path", "location", "name" };
	const char	*p, *tab;
	int		 i, n = field ? 4 : 2;

	o = json_object();
	p = fact;
	for (i = 0; i < n; i++) {
		tab = (i < n - 1) ? strchr(p, '\t') : NULL;
		if (tab == NULL)
			tab = p + strlen(p);
		json_object_set_new(o, keys[i], json_stringn(p,
		    (size_t)(tab - p)));
		p = *tab ? tab + 1 : tab;
	}
	return (o);
}

/* The operation part ("GET\t/x") of a field fact. */
static int
dd_op_of(const char *fact, char *out, size_t len)
{
	const char	*tab;

	if ((tab = strchr(fact, '\t')) == NULL ||
	    (tab = strchr(tab + 1, '\t')) == NULL ||
	    (size_t)(tab - fact) >= len)
		return (-1);
	memcpy(out, fact, (size_t)(tab - fact));
	out[tab - fact] = '\0';
	return (0);
}

/* Adds to `out` what is in `a` and not in `b`. */
static void
dd_minus(const struct dd_list *a, const struct dd_list *b,
    const struct dd_doc *other, int field, json_t *out)
{
	char	op[2048];
	size_t	i;

	for (i = 0; i < a->n; i++) {
		if (dd_has(b, a->v[i]))
			continue;
		if (field) {
			if (dd_op_of(a->v[i], op, sizeof(op)) == -1 ||
			    !dd_has(&other->ops, op))
				continue;
		}
		json_array_append_new(out, dd_entry(a->v[i], field));
	}
}

char *
docdiff_json(const char *from, size_t from_len, const char *to,
    size_t to_len, int from_v, int to_v)
{
	struct dd_doc	 a, b;
	json_t		*root, *ops, *fields, *add, *del;
	char		*out = NULL;
	int		 changed;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	if (dd_collect(&a, from, from_len) == -1 ||
	    dd_collect(&b, to, to_len) == -1)
		goto done;

	root = json_object();
	json_object_set_new(root, "from", json_integer(from_v));
	json_object_set_new(root, "to", json_integer(to_v));

	ops = json_object();
	add = json_array();
	del = json_array();
	dd_minus(&b.ops, &a.ops, NULL, 0, add);
	dd_minus(&a.ops, &b.ops, NULL, 0, del);
	changed = json_array_size(add) > 0 || json_array_size(del) > 0;
	json_object_set_new(ops, "added", add);
	json_object_set_new(ops, "removed", del);

	fields = json_object();
	add = json_array();
	del = json_array();
	dd_minus(&b.fields, &a.fields, &a, 1, add);
	dd_minus(&a.fields, &b.fields, &b, 1, del);
	changed |= json_array_size(add) > 0 || json_array_size(del) > 0;
	json_object_set_new(fields, "added", add);
	json_object_set_new(fields, "removed", del);

	json_object_set_new(root, "changed", json_boolean(changed));
	json_object_set_new(root, "operations", ops);
	json_object_set_new(root, "fields", fields);
	out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);

done:
	dd_free(&a);
	dd_free(&b);
	return (out);
}
