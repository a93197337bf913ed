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
 * gives User), or Error for the bodies of 4xx and 5xx answers.  Property
 * names outweigh path words; ties go to the alphabetically first name.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void
walk(struct occs *o, struct disc_schema *s, const char *hint, int weight,
    int resource, int depth)
{
	char	 child[HINT_MAX];
	char	*key;
	size_t	 i;

	if (s == NULL || depth > DISC_DEPTH_MAX || o->err)
		return;
	if ((key = disc_shape_key(s)) != NULL)
		occ_add(o, s, key, hint, weight, resource);
	for (i = 0; i < s->nprops; i++) {
		hint_of(s->props[i].name, child, sizeof(child));
		walk(o, s->props[i].s, child[0] ? child : hint, 2, 0,
		    depth + 1);
	}
	if (s->addl != NULL)
		walk(o, s->addl, hint, 1, 0, depth + 1);
	if (s->items != NULL)
		walk(o, s->items, hint, weight, resource, depth + 1);
}

/* The resource word of an operation: /users/{id}/orders -> Order. */
static void
op_resource(const struct disc_op *op, char *out, size_t outsz)
{
	const struct disc_node	*n;

	out[0] = '\0';
	for (n = op->node; n != NULL && n->parent != NULL; n = n->parent) {
		if (n->seg == NULL)
			continue;
		if (n->seg[0] == 'v' && n->seg[1] >= '0' && n->seg[1] <= '9')
			continue;
		hint_of(n->seg, out, outsz);
		if (out[0] != '\0')
			return;
	}
	(void)snprintf(out, outsz, "Resource");
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

/* Properties in a shape key (each ends with a comma). */
static size_t
key_tokens(const char *key)
{
	size_t	n = 0;

	for (; *key != '\0'; key++)
		if (*key == ',')
			n++;
	return (n);
}

static int
key_has(const char *key, const char *tok, size_t toklen)
{
	const char	*p = key, *end;

	while (*p != '\0') {
		end = strchr(p, ',');
		if (end == NULL)
			return (0);
		if ((size_t)(end - p) == toklen && memcmp(p, tok, toklen) == 0)
			return (1);
		p = end + 1;
	}
	return (0);
}

/*
 * One resource seen with and without its optional fields: every
 * property of the smaller shape is in the larger, and the smaller has
 * at least two thirds of the larger's.  Category {id, name} is not a
 * partial Pet; a Pet sample without its id is.
 */
static int
same_resource(const char *a, const char *b)
{
	const char	*small = a, *big = b, *p, *end;
	size_t		 ns = key_tokens(a), nb = key_tokens(b), t;

	if (ns > nb) {
		small = b;
		big = a;
		t = ns;
		ns = nb;
		nb = t;
	}
	if (ns * 3 < nb * 2)
		return (0);
	for (p = small; *p != '\0'; p = end + 1) {
		if ((end = strchr(p, ',')) == NULL)
			break;
		if (!key_has(big, p, (size_t)(end - p)))
			return (0);
	}
	return (1);
}

static int
comp_by_key(const struct disc_engine *e, const char *key)
{
	size_t	i;

	for (i = 0; i < e->ncomps; i++)
		if (strcmp(e->comps[i].key, key) == 0)
			return ((int)i);
	for (i = 0; i < e->ncomps; i++)
		if (same_resource(e->comps[i].key, key))
			return ((int)i);
	return (-1);
}

/* Inside a component, nested shapes refer to their own components. */
static void
link_nested(struct disc_engine *e, struct disc_schema *s, int depth)
{
	char	*key;
	size_t	 i;

	if (s == NULL || depth > DISC_DEPTH_MAX)
		return;
	if (depth > 0 && (key = disc_shape_key(s)) != NULL) {
		s->comp = comp_by_key(e, key);
		free(key);
	}
	for (i = 0; i < s->nprops; i++)
		link_nested(e, s->props[i].s, depth + 1);
	link_nested(e, s->addl, depth + 1);
	link_nested(e, s->items, depth + 1);
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
	char		 res[HINT_MAX], base[HINT_MAX + 8], name[HINT_MAX + 24];
	int		 rc = -1, clash, n;

	disc_comp_free(e);
	for (i = 0; i < e->nops; i++) {
		op = e->ops[i];
		op_resource(op, res, sizeof(res));
		for (j = 0; j < op->nreq; j++)
			if (op->req[j].kind == DISC_MK_JSON)
				walk(&o, op->req[j].schema, res, 1, 1, 0);
		for (j = 0; j < op->nst; j++)
			for (k = 0; k < op->st[j].nmedia; k++)
				walk(&o, op->st[j].media[k].schema,
				    op->st[j].code >= 400 ? "Error" : res,
				    op->st[j].code >= 400 ? 3 : 1, 1, 0);
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
			if (rep[j] == j && same_resource(o.v[g[i].first].key,
			    o.v[g[j].first].key)) {
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
		link_nested(e, e->comps[i].s, 0);
	rc = 0;
done:
	for (i = 0; i < o.n; i++)
		free(o.v[i].key);
	free(o.v);
	free(g);
	free(rep);
	return (rc);
}
