/*
 * Shared shapes: lifting repeated objects into components/schemas.
 *
 * Every plain object with two or more properties found in a request or
 * response body is an occurrence of its shape (its property names and
 * their broad types).  A shape becomes a named component when it occurs
 * more than once, or when it is a resource in its own right: the whole
 * body of a request or response, or the items of a body that is a list.
 * Shapes that are one resource seen with and without optional fields
 * (every property of one is in the other, and it has two thirds of
 * them) form one family and one component.  All occurrences of a
 * family are merged into the component's schema, so a field missing
 * from some samples becomes optional instead of a second component.
 *
 * Names come from where the shape was seen: the property that held it
 * ("category" gives Category), the path's resource word ("/users/{id}"
 * gives User, a request body sent there UserCreate or UserUpdate, a
 * {data: [...]} page of them UserList), or Error for the bodies of 4xx
 * and 5xx answers.  Property names outweigh path words; ties go to the
 * alphabetically first name.
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "disc_int.h"

#define HINT_MAX	64

struct occ {
	struct disc_schema	*s;
	char			*key;
	char			 hint[HINT_MAX];
	int			 weight;
	int			 resource;
};

struct occs {
	struct occ	*v;
	size_t		 n;
	size_t		 cap;
	int		 err;
};

struct group {
	size_t		 first;
	size_t		 n;
	int		 lift;
	int		 weight;
};

static void	walk(struct occs *, struct disc_schema *, const char *, int,
		    int, int);
static int	plural_field(const char *);

void
disc_comp_free(struct disc_engine *e)
{
	size_t	i;

	for (i = 0; i < e->ncomps; i++) {
		free(e->comps[i].name);
		free(e->comps[i].key);
		disc_schema_free(e->comps[i].s);
	}
	free(e->comps);
	e->comps = NULL;
	e->ncomps = 0;
}

static void
hint_of(const char *word, char *out, size_t outsz)
{
	char	one[HINT_MAX];

	disc_singular(word, one, sizeof(one));
	disc_camel(one, out, outsz, 1);
}

static void
occ_add(struct occs *o, struct disc_schema *s, char *key, const char *hint,
    int weight, int resource)
{
	void		*p = o->v;
	struct occ	*c;

	if (disc_grow(&p, &o->cap, o->n + 1, sizeof(*o->v)) == -1) {
		free(key);
		o->err = 1;
		return;
	}
	o->v = p;
	c = &o->v[o->n++];
	c->s = s;
	c->key = key;
	(void)snprintf(c->hint, sizeof(c->hint), "%s", hint);
	c->weight = weight;
	c->resource = resource;
}

/* Property names that hold "the list" of an envelope, not a thing. */
static int
container_name(const char *name)
{
	static const char *const names[] = { "content", "data", "docs",
	    "edges", "elements", "entries", "hits", "items", "list", "nodes",
	    "objects", "records", "resources", "results", "rows", "values",
	    NULL };
	size_t	i;

	for (i = 0; names[i] != NULL; i++)
		if (strcmp(name, names[i]) == 0)
			return (1);
	return (0);
}

/* Beside the list of an envelope: paging counters, flags, meta objects. */
static int
paging_field(const struct disc_prop *p)
{
	static const char *const words[] = { "count", "cursor", "limit",
	    "link", "meta", "more", "next", "offset", "page", "prev", "size",
	    "total", NULL };
	char	 low[64];
	size_t	 i;

	if ((p->s->types & ~DISC_T_NULL) == DISC_T_OBJ ||
	    (p->s->types & ~DISC_T_NULL) == DISC_T_BOOL)
		return (1);
	for (i = 0; p->name[i] != '\0' && i + 1 < sizeof(low); i++)
		low[i] = (char)tolower((unsigned char)p->name[i]);
	low[i] = '\0';
	for (i = 0; words[i] != NULL; i++)
		if (strstr(low, words[i]) != NULL)
			return (1);
	return (0);
}

/*
 * The envelope's list property, when `s` is a small wrapper such as
 * {data: [...], meta: {...}} or {animals: [...], page: {...}}: few
 * properties, one list of objects under a generic or plural name, the
 * rest paging.  An order with its line items and total is no envelope.
 */
static const struct disc_prop *
envelope_list(const struct disc_schema *s)
{
	const struct disc_prop	*list = NULL;
	size_t			 i;

	if (s->nprops > 6)
		return (NULL);
	for (i = 0; i < s->nprops; i++) {
		if (!(s->props[i].s->types & DISC_T_ARR) ||
		    s->props[i].s->items == NULL ||
		    s->props[i].s->items->nprops == 0) {
			if (!paging_field(&s->props[i]))
				return (NULL);
			continue;
		}
		if (list != NULL || (!container_name(s->props[i].name) &&
		    !plural_field(s->props[i].name)))
			return (NULL);
		list = &s->props[i];
	}
	return (list);
}

static void
walk(struct occs *o, struct disc_schema *s, const char *hint, int weight,
    int resource, int depth)
{
	const struct disc_prop	*list;
	char			 child[HINT_MAX], own[HINT_MAX];
	char			 what[HINT_MAX];
	char			*key;
	size_t			 i;

	if (s == NULL || depth > DISC_DEPTH_MAX || o->err)
		return;
	/*
	 * A page of Customers is a CustomerList, and its items are the
	 * Customers, whatever the envelope calls its list.
	 */
	list = resource ? envelope_list(s) : NULL;
	if (list != NULL && !container_name(list->name))
		hint_of(list->name, what, sizeof(what));
	else
		(void)snprintf(what, sizeof(what), "%s", hint);
	(void)snprintf(own, sizeof(own), "%.*s%s", HINT_MAX - 5,
	    list != NULL ? what : hint, list != NULL ? "List" : "");
	if ((key = disc_shape_key(s)) != NULL)
		occ_add(o, s, key, own, weight, resource);
	for (i = 0; i < s->nprops; i++) {
		if (&s->props[i] == list) {
			walk(o, s->props[i].s, what, weight, 1, depth + 1);
			continue;
		}
		hint_of(s->props[i].name, child, sizeof(child));
		walk(o, s->props[i].s, child[0] ? child : hint, 2, 0,
		    depth + 1);
	}
	if (s->addl != NULL)
		walk(o, s->addl, hint, 1, 0, depth + 1);
	if (s->items != NULL)
		walk(o, s->items, hint, weight, resource, depth + 1);
}

/* A field named in the plural (animals, comicStrips, bookSeries). */
static int
plural_field(const char *w)
{
	char	one[HINT_MAX];
	size_t	len = strlen(w);

	if ((len >= 6 && strcasecmp(w + len - 6, "series") == 0) ||
	    (len >= 7 && strcasecmp(w + len - 7, "species") == 0))
		return (1);
	disc_singular(w, one, sizeof(one));
	return (w[0] != '\0' && strcmp(one, w) != 0);
}

/* Verbs that end action paths (/animals/search, /orders/{id}/cancel). */
static int
action_word(const char *w)
{
	static const char *const verbs[] = { "activate", "approve",
	    "archive", "batch", "bulk", "cancel", "clone", "close", "complete",
	    "confirm", "count", "deactivate", "disable", "download", "enable",
	    "export", "filter", "find", "import", "lock", "login", "logout",
	    "lookup", "merge", "preview", "publish", "query", "refresh",
	    "register", "reject", "render", "reset", "restore", "search",
	    "send", "submit", "sync", "unlock", "upload", "validate",
	    "verify", NULL };
	size_t	i;

	for (i = 0; verbs[i] != NULL; i++)
		if (strcasecmp(w, verbs[i]) == 0)
			return (1);
	return (0);
}

/* A plural word that is not a camelCase action (findByTags). */
static int
plural_noun(const char *w)
{
	char		one[HINT_MAX];
	const char	*p;

	if (*w == '\0')
		return (0);
	for (p = w + 1; *p != '\0'; p++)
		if (isupper((unsigned char)*p))
			return (0);
	disc_singular(w, one, sizeof(one));
	return (strcmp(one, w) != 0);
}

/*
 * The resource word of an operation: its last word when that is a
 * plural noun (/users/{id}/orders gives Order), else the nearest
 * collection above it, a word followed by ids somewhere in the API
 * (/pet/findByStatus and /users/me give Pet and User), else the
 * nearest word that is no action verb (/element/search gives Element).
 */
static void
op_resource(const struct disc_op *op, char *out, size_t outsz)
{
	const struct disc_node	*n;

	out[0] = '\0';
	for (n = op->node; n != NULL && n->parent != NULL &&
	    n->seg == NULL; n = n->parent)
		;
	if (n != NULL && n->parent != NULL && n->seg != NULL &&
	    n->seg[0] != '\0' && n == op->node && plural_noun(n->seg)) {
		hint_of(n->seg, out, outsz);
		if (out[0] != '\0')
			return;
	}
	for (n = op->node; n != NULL && n->parent != NULL; n = n->parent) {
		if (n->seg == NULL || n->param == NULL)
			continue;
		hint_of(n->seg, out, outsz);
		if (out[0] != '\0')
			return;
	}
	for (n = op->node; n != NULL && n->parent != NULL; n = n->parent) {
		if (n->seg == NULL)
			continue;
		if (n->seg[0] == 'v' && n->seg[1] >= '0' && n->seg[1] <= '9')
			continue;
		/* /element/search lists elements. */
		if (n == op->node && action_word(n->seg) &&
		    n->parent != NULL && n->parent->seg != NULL &&
		    n->parent->seg[0] != '\0')
			continue;
		hint_of(n->seg, out, outsz);
		if (out[0] != '\0')
			return;
	}
	(void)snprintf(out, outsz, "Resource");
}

/*
 * What an action other than a read answers is its result, not the
 * resource (POST /pet/{id}/uploadImage gives UploadImageResult); when
 * it is the resource after all, the heavier names of its family win.
 */
static void
action_result(const struct disc_op *op, char *out, size_t outsz)
{
	const struct disc_node	*n = op->node;
	char			 camel[HINT_MAX];

	if (strcmp(op->method, "GET") == 0 || n == NULL ||
	    n->parent == NULL || n->seg == NULL || n->seg[0] == '\0' ||
	    n->param != NULL || plural_noun(n->seg))
		return;
	disc_camel(n->seg, camel, sizeof(camel), 1);
	if (camel[0] != '\0')
		(void)snprintf(out, outsz, "%.*sResult", HINT_MAX - 8, camel);
}

static int
occ_order(const void *a, const void *b)
{
	const struct occ	*oa = a, *ob = b;
	int			 c;

	if ((c = strcmp(oa->key, ob->key)) != 0)
		return (c);
	return (strcmp(oa->hint, ob->hint));
}

static int
group_order(const void *a, const void *b)
{
	const struct group	*ga = a, *gb = b;

	if (ga->weight != gb->weight)
		return (gb->weight - ga->weight);
	return (ga->first < gb->first ? -1 : ga->first > gb->first);
}

/* The fields that describe a property's content, if it has any. */
static const struct disc_schema *
inner(const struct disc_schema *s)
{
	if (s->items != NULL && s->items->nprops > 0)
		return (s->items);
	return (s->nprops > 0 ? s : NULL);
}

static unsigned
broad(const struct disc_schema *s)
{
	unsigned	t = s->types & ~DISC_T_NULL;

	return ((t & DISC_T_NUM) ? (t & ~DISC_T_INT) : t);
}

static const struct disc_prop *
find_prop(const struct disc_schema *s, const char *name)
{
	size_t	lo = 0, hi = s->nprops, mid;
	int	c;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if ((c = strcmp(s->props[mid].name, name)) == 0)
			return (&s->props[mid]);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (NULL);
}

/* At least half the fields of the smaller object are in the other. */
static int
names_alike(const struct disc_schema *a, const struct disc_schema *b)
{
	size_t	i, both = 0, small;

	for (i = 0; i < a->nprops; i++)
		if (find_prop(b, a->props[i].name) != NULL)
			both++;
	small = a->nprops < b->nprops ? a->nprops : b->nprops;
	return (both * 2 >= small);
}

/*
 * One resource seen with and without its optional fields: every
 * property of the smaller shape is in the larger with the same broad
 * type and alike contents, and the smaller has at least two thirds of
 * the larger's properties.  Category {id, name} is not a partial Pet;
 * a Pet sample without its id is; a page of orders is not a page of
 * customers.
 */
static int
same_resource(const struct disc_schema *a, const struct disc_schema *b)
{
	const struct disc_schema	*small = a, *big = b, *ia, *ib;
	const struct disc_prop		*p;
	size_t				 i;

	if (a->map || b->map)
		return (0);
	if (a->nprops > b->nprops) {
		small = b;
		big = a;
	}
	if (small->nprops * 3 < big->nprops * 2)
		return (0);
	for (i = 0; i < small->nprops; i++) {
		if ((p = find_prop(big, small->props[i].name)) == NULL ||
		    broad(p->s) != broad(small->props[i].s))
			return (0);
		ia = inner(small->props[i].s);
		ib = inner(p->s);
		if (ia != NULL && ib != NULL && !names_alike(ia, ib))
			return (0);
	}
	return (1);
}

/*
 * May `s` refer to the component `c`?  Only when that loses nothing and
 * claims nothing false: every field of `s` is in `c`, and every field
 * `c` requires is always present in `s`.
 */
static int
covers(const struct disc_schema *c, const struct disc_schema *s)
{
	const struct disc_prop	*p;
	size_t			 i;

	for (i = 0; i < s->nprops; i++)
		if (find_prop(c, s->props[i].name) == NULL)
			return (0);
	for (i = 0; i < c->nprops; i++) {
		if (c->props[i].count != c->nobj)
			continue;
		if ((p = find_prop(s, c->props[i].name)) == NULL ||
		    p->count != s->nobj)
			return (0);
	}
	return (1);
}

static int
comp_for(const struct disc_engine *e, const struct disc_schema *s,
    const char *key)
{
	size_t	i;

	for (i = 0; i < e->ncomps; i++)
		if (strcmp(e->comps[i].key, key) == 0 &&
		    covers(e->comps[i].s, s))
			return ((int)i);
	/* A reference must not lose fields: the component covers them. */
	for (i = 0; i < e->ncomps; i++)
		if (same_resource(e->comps[i].s, s) &&
		    covers(e->comps[i].s, s))
			return ((int)i);
	return (-1);
}

/*
 * Inside component `owner`, nested shapes refer to their own
 * components.  A smaller shape inside a resource (a summary of a parent
 * or a child) refers to the resource itself only when it is the very
 * same shape: a true recursion, not a header of it.
 */
static void
link_nested(struct disc_engine *e, size_t owner, struct disc_schema *s,
    int depth)
{
	char	*key;
	size_t	 i;

	if (s == NULL || depth > DISC_DEPTH_MAX)
		return;
	if (depth > 0 && (key = disc_shape_key(s)) != NULL) {
		s->comp = comp_for(e, s, key);
		if (s->comp == (int)owner &&
		    strcmp(e->comps[owner].key, key) != 0)
			s->comp = -1;
		free(key);
	}
	for (i = 0; i < s->nprops; i++)
		link_nested(e, owner, s->props[i].s, depth + 1);
	link_nested(e, owner, s->addl, depth + 1);
	link_nested(e, owner, s->items, depth + 1);
}

/* The heaviest hint over all groups that point to representative r. */
static void
family_name(const struct occs *o, const struct group *g, size_t ng,
    const size_t *rep, size_t r, char *out, size_t outsz)
{
	size_t	 a, b, i, j;
	int	 w, best = -1;

	out[0] = '\0';
	for (a = 0; a < ng; a++) {
		if (rep[a] != r)
			continue;
		for (i = g[a].first; i < g[a].first + g[a].n; i++) {
			w = 0;
			for (b = 0; b < ng; b++) {
				if (rep[b] != r)
					continue;
				for (j = g[b].first; j < g[b].first + g[b].n;
				    j++)
					if (strcmp(o->v[i].hint,
					    o->v[j].hint) == 0)
						w += o->v[j].weight;
			}
			if (w > best || (w == best &&
			    strcmp(o->v[i].hint, out) < 0)) {
				best = w;
				(void)snprintf(out, outsz, "%s", o->v[i].hint);
			}
		}
	}
	if (out[0] == '\0')
		(void)snprintf(out, outsz, "Object");
}

int
disc_comp_lift(struct disc_engine *e)
{
	struct occs	 o = { NULL, 0, 0, 0 };
	struct group	*g = NULL;
	struct disc_op	*op;
	size_t		*rep = NULL, i, j, k, a, ng = 0, ncomp = 0, r;
	char		 res[HINT_MAX], sent[HINT_MAX], base[HINT_MAX + 8];
	char		 name[HINT_MAX + 24];
	int		 rc = -1, clash, n;

	disc_comp_free(e);
	for (i = 0; i < e->nops; i++) {
		op = e->ops[i];
		op_resource(op, res, sizeof(res));
		action_result(op, res, sizeof(res));
		/* What is sent is named apart from what comes back. */
		(void)snprintf(sent, sizeof(sent), "%.*s%s", HINT_MAX - 8,
		    res, strcmp(op->method, "POST") == 0 ? "Create" :
		    strcmp(op->method, "PUT") == 0 ||
		    strcmp(op->method, "PATCH") == 0 ? "Update" : "Request");
		for (j = 0; j < op->nreq; j++)
			if (op->req[j].kind == DISC_MK_JSON)
				walk(&o, op->req[j].schema, sent, 1, 1, 0);
		/* What GET answers is the resource's own picture. */
		for (j = 0; j < op->nst; j++)
			for (k = 0; k < op->st[j].nmedia; k++)
				walk(&o, op->st[j].media[k].schema,
				    op->st[j].code >= 400 ? "Error" : res,
				    op->st[j].code >= 400 ? 3 :
				    strcmp(op->method, "GET") == 0 ? 4 : 2,
				    1, 0);
	}
	if (o.err)
		goto done;
	if (o.n == 0) {
		rc = 0;
		goto done;
	}
	qsort(o.v, o.n, sizeof(*o.v), occ_order);

	/* Groups of occurrences with exactly one shape. */
	if ((g = calloc(o.n, sizeof(*g))) == NULL)
		goto done;
	for (i = 0; i < o.n; i = j) {
		for (j = i + 1; j < o.n && strcmp(o.v[i].key, o.v[j].key) == 0;
		    j++)
			;
		g[ng].first = i;
		g[ng].n = j - i;
		for (k = i; k < j; k++) {
			g[ng].weight += o.v[k].weight;
			if (o.v[k].resource)
				g[ng].lift = 1;
		}
		if (g[ng].n >= 2)
			g[ng].lift = 1;
		ng++;
	}
	/* The most used shapes first: they represent their families. */
	qsort(g, ng, sizeof(*g), group_order);

	/* Families: shapes that are one resource with optional fields. */
	if ((rep = calloc(ng, sizeof(*rep))) == NULL)
		goto done;
	for (i = 0; i < ng; i++) {
		rep[i] = i;
		for (j = 0; j < i; j++)
			if (rep[j] == j && same_resource(o.v[g[i].first].s,
			    o.v[g[j].first].s)) {
				rep[i] = j;
				break;
			}
	}
	for (i = 0; i < ng; i++)
		if (g[i].lift || (rep[i] != i && g[rep[i]].lift))
			g[rep[i]].lift = 1;
	for (i = 0; i < ng; i++) {
		/* A shape seen in two families' places is shared too. */
		if (rep[i] == i) {
			for (j = i + 1; j < ng; j++)
				if (rep[j] == i)
					g[i].lift = 1;
		}
		if (rep[i] == i && g[i].lift)
			ncomp++;
	}

	if ((e->comps = calloc(ncomp ? ncomp : 1, sizeof(*e->comps))) == NULL)
		goto done;
	for (r = 0; r < ng; r++) {
		struct disc_comp	*c;

		if (rep[r] != r || !g[r].lift)
			continue;
		family_name(&o, g, ng, rep, r, base, sizeof(base));
		for (n = 1;; n++) {
			if (n == 1)
				(void)snprintf(name, sizeof(name), "%s", base);
			else
				(void)snprintf(name, sizeof(name), "%s%d",
				    base, n);
			clash = 0;
			for (k = 0; k < e->ncomps; k++)
				if (strcmp(e->comps[k].name, name) == 0)
					clash = 1;
			if (!clash)
				break;
		}
		c = &e->comps[e->ncomps];
		if ((c->name = disc_strdup(name)) == NULL ||
		    (c->key = disc_strdup(o.v[g[r].first].key)) == NULL ||
		    (c->s = disc_schema_new()) == NULL) {
			free(c->name);
			free(c->key);
			goto done;
		}
		e->ncomps++;
		for (a = 0; a < ng; a++) {
			if (rep[a] != r)
				continue;
			for (k = g[a].first; k < g[a].first + g[a].n; k++) {
				if (disc_schema_merge(c->s, o.v[k].s) == -1)
					goto done;
				o.v[k].s->comp = (int)(e->ncomps - 1);
				c->uses++;
			}
		}
	}
	for (i = 0; i < e->ncomps; i++)
		link_nested(e, i, e->comps[i].s, 0);
	rc = 0;
done:
	for (i = 0; i < o.n; i++)
		free(o.v[i].key);
	free(o.v);
	free(g);
	free(rep);
	return (rc);
}
