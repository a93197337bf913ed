/*
 * Path templates.
 *
 * Concrete paths go into a trie of decoded segments as calls arrive.  A
 * segment whose shape alone says "identifier" (digits, a UUID, long hex,
 * a random-looking token, a date, an e-mail address) goes to the node's
 * single parameter child; any other segment is a literal child.  Fixed
 * words therefore stay literal beside a parameter (/users/me next to
 * /users/42).
 *
 * Words that are really data (user names, slugs, file names) cannot be
 * told from resource names one path at a time.  After the last call,
 * disc_path_settle() looks at literal siblings bottom-up: siblings whose
 * subtrees answer with the same methods and the same response fields
 * behave as one resource, and when there are enough of them they fold
 * into the parameter child.  A node that collects more than
 * DISC_KIDS_MAX distinct words folds at once, which bounds memory when
 * a slug position sees endless values.
 *
 * Settling also names every parameter from the word before it
 * (/users/{userId}/orders/{orderId}), builds the templates, operation
 * ids and default tags, and lists the operations in a stable order.
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disc_int.h"

#define SEG_MAX		64	/* segments in one path */
#define NAME_MAX_	96

/* How far below two words evidence is looked for, and how widely. */
#define BELOW_DEPTH	3
#define BELOW_KIDS(d)	((d) == 0 ? 6 : 3)

static int	node_merge(struct disc_engine *, struct disc_node *,
		    struct disc_node *);
static int	fold_literals(struct disc_engine *, struct disc_node *);
static int	settle_node(struct disc_engine *, struct disc_node *, int);
static int	param_value_add(struct disc_node *, const char *,
		    enum disc_seg);
struct paths;
static int	fields_alike(const struct paths *, const struct paths *);

struct disc_node *
disc_node_new(const char *seg, struct disc_node *parent)
{
	struct disc_node	*n;

	if ((n = disc_calloc(1, sizeof(*n))) == NULL)
		return (NULL);
	n->parent = parent;
	if (seg != NULL && (n->seg = disc_strdup(seg)) == NULL) {
		free(n);
		return (NULL);
	}
	if (seg == NULL && (n->pvals = disc_schema_new()) == NULL) {
		free(n);
		return (NULL);
	}
	return (n);
}

void
disc_media_free(struct disc_media *m, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(m[i].ctype);
		free(m[i].ex);
		disc_schema_free(m[i].schema);
	}
	free(m);
}

void
disc_op_free(struct disc_op *op)
{
	size_t	i;

	if (op == NULL)
		return;
	disc_schema_free(op->query);
	disc_schema_free(op->headers);
	disc_schema_free(op->cookies);
	disc_media_free(op->req, op->nreq);
	for (i = 0; i < op->nst; i++) {
		disc_media_free(op->st[i].media, op->st[i].nmedia);
		disc_schema_free(op->st[i].headers);
	}
	free(op->st);
	free(op->id);
	free(op->tmpl);
	free(op->tag);
	free(op->summary);
	free(op->description);
	for (i = 0; i < op->ntags; i++)
		free(op->tags[i]);
	free(op->tags);
	free(op);
}

void
disc_node_free(struct disc_node *n)
{
	size_t	i;

	if (n == NULL)
		return;
	for (i = 0; i < n->nkids; i++)
		disc_node_free(n->kids[i]);
	free(n->kids);
	disc_node_free(n->param);
	for (i = 0; i < n->nops; i++)
		disc_op_free(n->ops[i]);
	free(n->ops);
	disc_schema_free(n->pvals);
	free(n->seg);
	free(n->pname);
	free(n);
}

static int
schema_merge_into(struct disc_schema **d, const struct disc_schema *s)
{
	if (s == NULL)
		return (0);
	if (*d == NULL) {
		*d = disc_schema_copy(s);
		return (*d == NULL ? -1 : 0);
	}
	return (disc_schema_merge(*d, s));
}

/* Fold the media types of `s` into the list `*dm`. */
static int
media_merge(struct disc_media **dm, size_t *dn, const struct disc_media *s,
    size_t sn)
{
	struct disc_media	*d;
	size_t			 i, j, cap;
	void			*p;

	for (i = 0; i < sn; i++) {
		for (j = 0; j < *dn; j++)
			if (strcmp((*dm)[j].ctype, s[i].ctype) == 0)
				break;
		if (j == *dn) {
			if (*dn >= DISC_MEDIA_MAX)
				continue;
			cap = *dn;
			p = *dm;
			if (disc_grow(&p, &cap, *dn + 1, sizeof(**dm)) == -1)
				return (-1);
			*dm = p;
			d = &(*dm)[*dn];
			memset(d, 0, sizeof(*d));
			if ((d->ctype = disc_strdup(s[i].ctype)) == NULL)
				return (-1);
			d->kind = s[i].kind;
			(*dn)++;
		}
		d = &(*dm)[j];
		d->n += s[i].n;
		d->nbad += s[i].nbad;
		if (schema_merge_into(&d->schema, s[i].schema) == -1)
			return (-1);
		if (s[i].ex != NULL &&
		    (d->ex == NULL || s[i].exkey < d->exkey)) {
			char	*ex = disc_strndup(s[i].ex, s[i].exlen);

			if (ex == NULL)
				return (-1);
			free(d->ex);
			d->ex = ex;
			d->exlen = s[i].exlen;
			d->exkey = s[i].exkey;
		}
	}
	return (0);
}

int
disc_op_merge(struct disc_op *d, const struct disc_op *s)
{
	struct disc_status	*ds;
	size_t			 i, j, cap;
	void			*p;

	d->n += s->n;
	d->nanon += s->nanon;
	d->nanon_ok += s->nanon_ok;
	for (i = 0; i < DISC_SCHEMES_MAX; i++)
		d->sec[i] += s->sec[i];
	if (schema_merge_into(&d->query, s->query) == -1 ||
	    schema_merge_into(&d->headers, s->headers) == -1 ||
	    schema_merge_into(&d->cookies, s->cookies) == -1)
		return (-1);
	if (media_merge(&d->req, &d->nreq, s->req, s->nreq) == -1)
		return (-1);
	d->nreq_empty += s->nreq_empty;
	for (i = 0; i < s->nst; i++) {
		for (j = 0; j < d->nst; j++)
			if (d->st[j].code == s->st[i].code)
				break;
		if (j == d->nst) {
			if (d->nst >= DISC_STATUSES_MAX)
				continue;
			cap = d->nst;
			p = d->st;
			if (disc_grow(&p, &cap, d->nst + 1,
			    sizeof(*d->st)) == -1)
				return (-1);
			d->st = p;
			memset(&d->st[j], 0, sizeof(d->st[j]));
			d->st[j].code = s->st[i].code;
			d->nst++;
		}
		ds = &d->st[j];
		ds->n += s->st[i].n;
		ds->nempty += s->st[i].nempty;
		if (media_merge(&ds->media, &ds->nmedia, s->st[i].media,
		    s->st[i].nmedia) == -1)
			return (-1);
		if (schema_merge_into(&ds->headers, s->st[i].headers) == -1)
			return (-1);
	}
	if (s->dn > 0) {
		if (d->dn == 0 || s->dmin < d->dmin)
			d->dmin = s->dmin;
		if (d->dn == 0 || s->dmax > d->dmax)
			d->dmax = s->dmax;
		d->dsum += s->dsum;
		d->dn += s->dn;
	}
	return (0);
}

static int
kid_find(const struct disc_node *n, const char *seg, size_t *at)
{
	size_t	lo = 0, hi = n->nkids, mid;
	int	c;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		c = strcmp(n->kids[mid]->seg, seg);
		if (c == 0) {
			*at = mid;
			return (1);
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*at = lo;
	return (0);
}

static int
kid_insert(struct disc_node *n, struct disc_node *kid, size_t at)
{
	void	*p = n->kids;

	if (disc_grow(&p, &n->ckids, n->nkids + 1, sizeof(*n->kids)) == -1)
		return (-1);
	n->kids = p;
	memmove(&n->kids[at + 1], &n->kids[at],
	    (n->nkids - at) * sizeof(*n->kids));
	n->kids[at] = kid;
	n->nkids++;
	kid->parent = n;
	return (0);
}

/* Record one concrete value seen at a parameter position. */
static int
param_value_add(struct disc_node *p, const char *seg, enum disc_seg cls)
{
	json_t	*v;
	int	 rc;

	p->pclass |= 1u << cls;
	if (cls == DISC_SEG_INT && strlen(seg) < 16 &&
	    (seg[0] != '0' || seg[1] == '\0'))
		v = json_integer(strtoll(seg, NULL, 10));
	else
		v = disc_jstr(seg);
	if (v == NULL)
		return (-1);
	rc = disc_schema_add(p->pvals, v);
	json_decref(v);
	return (rc);
}

/*
 * Merge the subtree `s` into `d` (same position in the trie) and free
 * `s`.  Operations with the same method are merged, the others move.
 */
static int
node_merge(struct disc_engine *e, struct disc_node *d, struct disc_node *s)
{
	size_t	 i, j, at, cap;
	void	*p;
	int	 rc = 0;

	d->hits += s->hits;
	d->pclass |= s->pclass;
	if (s->pvals != NULL) {
		if (d->pvals == NULL)
			d->pvals = disc_schema_new();
		if (d->pvals == NULL ||
		    disc_schema_merge(d->pvals, s->pvals) == -1)
			rc = -1;
	}
	for (i = 0; i < s->nops; i++) {
		for (j = 0; j < d->nops; j++)
			if (strcmp(d->ops[j]->method, s->ops[i]->method) == 0)
				break;
		if (j < d->nops) {
			if (disc_op_merge(d->ops[j], s->ops[i]) == -1)
				rc = -1;
			disc_op_free(s->ops[i]);
			e->nops_total--;
		} else {
			cap = d->nops;
			p = d->ops;
			if (disc_grow(&p, &cap, d->nops + 1,
			    sizeof(*d->ops)) == -1) {
				disc_op_free(s->ops[i]);
				e->nops_total--;
				rc = -1;
				continue;
			}
			d->ops = p;
			s->ops[i]->node = d;
			d->ops[d->nops++] = s->ops[i];
		}
		s->ops[i] = NULL;
	}
	s->nops = 0;
	for (i = 0; i < s->nkids; i++) {
		if (kid_find(d, s->kids[i]->seg, &at)) {
			if (node_merge(e, d->kids[at], s->kids[i]) == -1)
				rc = -1;
		} else if (kid_insert(d, s->kids[i], at) == -1) {
			disc_node_free(s->kids[i]);
			rc = -1;
		}
		s->kids[i] = NULL;
	}
	s->nkids = 0;
	if (s->param != NULL) {
		if (d->param == NULL) {
			d->param = s->param;
			d->param->parent = d;
		} else if (node_merge(e, d->param, s->param) == -1)
			rc = -1;
		s->param = NULL;
	}
	disc_node_free(s);
	return (rc);
}

/* Turn literal kid number `i` of `n` into values of its parameter. */
static int
fold_kid(struct disc_engine *e, struct disc_node *n, size_t i)
{
	struct disc_node	*kid = n->kids[i];
	int			 rc;

	if (n->param == NULL && (n->param = disc_node_new(NULL, n)) == NULL)
		return (-1);
	memmove(&n->kids[i], &n->kids[i + 1],
	    (n->nkids - i - 1) * sizeof(*n->kids));
	n->nkids--;
	rc = param_value_add(n->param, kid->seg, DISC_SEG_WORD);
	if (node_merge(e, n->param, kid) == -1)
		rc = -1;
	return (rc);
}

static size_t
count_nodes(const struct disc_node *n)
{
	size_t	i, c = 1;

	for (i = 0; i < n->nkids; i++)
		c += count_nodes(n->kids[i]);
	if (n->param != NULL)
		c += count_nodes(n->param);
	return (c);
}

/* Fold every word of `n` into its parameter, keeping the node count. */
static int
fold_literals(struct disc_engine *e, struct disc_node *n)
{
	size_t	before = count_nodes(n), after;
	int	rc = 0;

	while (n->nkids > 0)
		if (fold_kid(e, n, n->nkids - 1) == -1)
			rc = -1;
	after = count_nodes(n);
	if (before > after && e->nnodes >= before - after)
		e->nnodes -= before - after;
	return (rc);
}

struct disc_node *
disc_path_insert(struct disc_engine *e, const char *path)
{
	struct disc_node	*n = e->root, *kid;
	char			*copy, *seg, *next;
	size_t			 len, at, nseg = 0;
	enum disc_seg		 cls;

	if ((copy = disc_strdup(path)) == NULL)
		return (NULL);
	for (seg = copy; seg != NULL; seg = next) {
		if ((next = strchr(seg, '/')) != NULL)
			*next++ = '\0';
		len = strlen(seg);
		if (len == 0)
			continue;
		if (++nseg > SEG_MAX)
			goto fail;
		len = disc_pct_decode(seg, len, 0);
		if (len == 0 || memchr(seg, '\0', len) != NULL ||
		    strlen(seg) != len)
			goto fail;
		cls = disc_classify_segment(seg);
		if (cls != DISC_SEG_WORD) {
			if (n->param == NULL) {
				if ((n->param = disc_node_new(NULL, n)) == NULL)
					goto fail;
				e->nnodes++;
			}
			if (param_value_add(n->param, seg, cls) == -1)
				goto fail;
			n = n->param;
			continue;
		}
		if (n->param != NULL && n->nkids == 0 && n->param->pclass &
		    (1u << DISC_SEG_WORD)) {
			/* This position was already folded: stay folded. */
			if (param_value_add(n->param, seg, DISC_SEG_WORD) == -1)
				goto fail;
			n = n->param;
			continue;
		}
		if (!kid_find(n, seg, &at)) {
			if ((kid = disc_node_new(seg, n)) == NULL)
				goto fail;
			if (kid_insert(n, kid, at) == -1) {
				disc_node_free(kid);
				goto fail;
			}
			e->nnodes++;
			/*
			 * Too many words under one node, or too many nodes in
			 * all while this one branches: its words are data.
			 * The new word is folded with the others.
			 */
			if (n->nkids > DISC_KIDS_MAX ||
			    (e->nnodes > DISC_NODES_MAX && n->nkids > 2)) {
				if (fold_literals(e, n) == -1)
					goto fail;
				n = n->param;
				continue;
			}
		}
		n = n->kids[at];
	}
	free(copy);
	/* Hits count every call at or below a node. */
	for (kid = n; kid != NULL; kid = kid->parent)
		kid->hits++;
	return (n);
fail:
	free(copy);
	return (NULL);
}

/*
 * The successful answer of an operation: the lowest 2xx status and its
 * first media type.  Returns 0 when the operation never succeeded.
 */
static int
ok_answer(const struct disc_op *op, const struct disc_media **m)
{
	size_t	i;

	*m = NULL;
	for (i = 0; i < op->nst; i++) {
		if (op->st[i].code < 200 || op->st[i].code >= 300)
			continue;
		if (op->st[i].nmedia > 0)
			*m = &op->st[i].media[0];
		return (1);
	}
	return (0);
}

/*
 * The fields of a body as hashes of their paths (a, a.b, items[].c, to
 * a few levels), so that envelopes such as {"data": [...], "meta": {}}
 * are compared by what they carry, not only by their outer keys.
 */
#define PATHS_MAX	96

struct paths {
	uint64_t	h[PATHS_MAX];
	size_t		n;
};

static void
paths_walk(const struct disc_schema *s, uint64_t prefix, int depth,
    struct paths *p)
{
	uint64_t	h;
	size_t		i;

	if (s == NULL || depth > 3)
		return;
	if (s->map) {
		h = disc_hash_mix(prefix, disc_hash("{}", 2));
		if (p->n < PATHS_MAX)
			p->h[p->n++] = h;
		paths_walk(s->addl, h, depth + 1, p);
	}
	for (i = 0; i < s->nprops; i++) {
		h = disc_hash_mix(prefix, disc_hash(s->props[i].name,
		    strlen(s->props[i].name)));
		if (p->n < PATHS_MAX)
			p->h[p->n++] = h;
		paths_walk(s->props[i].s, h, depth + 1, p);
	}
	if (s->items != NULL)
		paths_walk(s->items, disc_hash_mix(prefix, disc_hash("[]", 2)),
		    depth + 1, p);
}

static int
hash_cmp(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x < y ? -1 : x > y);
}

/*
 * Fills `p`.  Returns BODY_FIELDS when the body has fields to compare,
 * BODY_BARE for objects or lists without fields (empty ones), which
 * optional fields make consistent with any fields, BODY_SCALAR for JSON
 * strings, numbers and the like, and BODY_OPAQUE for no body or another
 * media type.
 */
#define BODY_OPAQUE	0
#define BODY_FIELDS	1
#define BODY_BARE	2
#define BODY_SCALAR	3

#define CONTAINER(k)	((k) == BODY_FIELDS || (k) == BODY_BARE)

/* Neither has fields to compare: do the two answers still differ? */
static int
kinds_differ(const struct disc_media *ma, int ka, const struct disc_media *mb,
    int kb)
{
	if (CONTAINER(ka) && CONTAINER(kb))
		return (0);
	if (ka != kb || (ma == NULL) != (mb == NULL))
		return (1);
	return (ma != NULL && strcmp(ma->ctype, mb->ctype) != 0);
}

static int
body_paths(const struct disc_media *m, struct paths *p)
{
	size_t	i, o;

	p->n = 0;
	if (m == NULL || m->schema == NULL)
		return (BODY_OPAQUE);
	paths_walk(m->schema, 0, 0, p);
	if (p->n == 0)
		return ((m->schema->types & (DISC_T_OBJ | DISC_T_ARR)) ?
		    BODY_BARE : BODY_SCALAR);
	qsort(p->h, p->n, sizeof(p->h[0]), hash_cmp);
	for (i = 1, o = 1; i < p->n; i++)
		if (p->h[i] != p->h[o - 1])
			p->h[o++] = p->h[i];
	p->n = o;
	return (BODY_FIELDS);
}

static int
paths_has(const struct paths *p, uint64_t h)
{
	return (bsearch(&h, p->h, p->n, sizeof(p->h[0]), hash_cmp) != NULL);
}

/*
 * Two bodies describe one resource when they share at least half the
 * fields of the smaller: optional fields come and go between samples,
 * but different resources rarely share more than an id.
 */
static int
fields_alike(const struct paths *a, const struct paths *b)
{
	size_t	i, both = 0, small;

	for (i = 0; i < a->n; i++)
		if (paths_has(b, a->h[i]))
			both++;
	small = a->n < b->n ? a->n : b->n;
	return (both * 2 >= small);
}

static const struct disc_op *
op_of(const struct disc_node *n, const char *method)
{
	size_t	i;

	for (i = 0; i < n->nops; i++)
		if (strcmp(n->ops[i]->method, method) == 0)
			return (n->ops[i]);
	return (NULL);
}

/* One operation each, compared as in alike() below. */
static int
ops_alike(const struct disc_node *a, const struct disc_node *b)
{
	const struct disc_media		*ma, *mb;
	const struct disc_op		*ob;
	struct paths			 pa, pb;
	size_t				 i;
	int				 yes = 0, ha, hb;

	for (i = 0; i < a->nops; i++) {
		if ((ob = op_of(b, a->ops[i]->method)) == NULL ||
		    !ok_answer(a->ops[i], &ma) || !ok_answer(ob, &mb))
			continue;
		ha = body_paths(ma, &pa);
		hb = body_paths(mb, &pb);
		if (ha == BODY_FIELDS && hb == BODY_FIELDS) {
			if (!fields_alike(&pa, &pb))
				return (-1);
			yes = 1;
		} else if (kinds_differ(ma, ha, mb, hb))
			return (-1);
		/* Empty or opaque answers alike say nothing either way. */
	}
	return (yes);
}

/*
 * Two words whose calls carried credentials of different schemes, and
 * never a common one, are different endpoints, not values of one.
 */
static int
other_credentials(const struct disc_node *a, const struct disc_node *b)
{
	unsigned long	sa[DISC_SCHEMES_MAX], sb[DISC_SCHEMES_MAX];
	size_t		i, x;
	int		any_a = 0, any_b = 0;

	memset(sa, 0, sizeof(sa));
	memset(sb, 0, sizeof(sb));
	for (i = 0; i < a->nops; i++)
		for (x = 0; x < DISC_SCHEMES_MAX; x++)
			sa[x] += a->ops[i]->sec[x];
	for (i = 0; i < b->nops; i++)
		for (x = 0; x < DISC_SCHEMES_MAX; x++)
			sb[x] += b->ops[i]->sec[x];
	for (x = 0; x < DISC_SCHEMES_MAX; x++) {
		if (sa[x] && sb[x])
			return (0);
		any_a |= sa[x] != 0;
		any_b |= sb[x] != 0;
	}
	return (any_a && any_b);
}

/*
 * Evidence from below two words: a sub-resource word they share, or
 * operations a level or two down that answer alike
 * (/repos/ann/tools/issues and /repos/bob/site/issues).  The search is
 * bounded: a few children per level, BELOW_DEPTH levels.
 */
static int
alike_below(const struct disc_node *a, const struct disc_node *b,
    int depth)
{
	const struct disc_node	*ka, *kb;
	size_t			 i, j, at, na, nb;

	if (depth > 0 && ops_alike(a, b) > 0)
		return (1);
	for (i = 0; i < a->nkids && i < 16; i++)
		if (kid_find(b, a->kids[i]->seg, &at))
			return (1);
	if (depth >= BELOW_DEPTH)
		return (0);
	na = a->nkids < BELOW_KIDS(depth) ? a->nkids : BELOW_KIDS(depth);
	nb = b->nkids < BELOW_KIDS(depth) ? b->nkids : BELOW_KIDS(depth);
	for (i = 0; i <= na; i++) {
		ka = i < na ? a->kids[i] : a->param;
		if (ka == NULL)
			continue;
		for (j = 0; j <= nb; j++) {
			kb = j < nb ? b->kids[j] : b->param;
			if (kb != NULL && alike_below(ka, kb, depth + 1) > 0)
				return (1);
		}
	}
	return (0);
}

/*
 * Does word `w` behave like the words of a cluster (`members` marks
 * them in `kids`)?  +1 when there is evidence for it: a method that
 * succeeded on both answers with mostly the same fields (optional
 * fields come and go between samples, so the cluster's fields are
 * pooled), or both have the same sub-resource.  -1 when there is
 * evidence against: the same method answers with other fields or
 * another kind of body.  0 when the calls say nothing either way.
 */
static int
alike(const struct disc_node *w, struct disc_node **kids, size_t k,
    const int *cl, int c)
{
	const struct disc_media		*mw, *mm;
	const struct disc_op		*om;
	struct paths			 pw, pm;
	size_t				 i, j, p, known;
	int				 yes = 0, seen, objects, other, hw;
	int				 hm, bare;
	char				 hit[PATHS_MAX];

	for (i = 0; i < w->nops; i++) {
		if (!ok_answer(w->ops[i], &mw))
			continue;
		hw = body_paths(mw, &pw);
		memset(hit, 0, sizeof(hit));
		seen = objects = other = bare = 0;
		for (j = 0; j < k; j++) {
			if (cl[j] != c || (om = op_of(kids[j],
			    w->ops[i]->method)) == NULL || !ok_answer(om, &mm))
				continue;
			seen = 1;
			hm = body_paths(mm, &pm);
			if (hm == BODY_FIELDS) {
				objects = 1;
				for (p = 0; hw == BODY_FIELDS && p < pw.n; p++)
					if (paths_has(&pm, pw.h[p]))
						hit[p] = 1;
			} else if (hm == BODY_BARE)
				bare = 1;
			if (hm != BODY_FIELDS && kinds_differ(mw, hw, mm, hm))
				other = 1;
		}
		if (!seen)
			continue;
		if (hw == BODY_FIELDS && objects) {
			for (p = 0, known = 0; p < pw.n; p++)
				known += hit[p];
			if (known * 2 < pw.n)
				return (-1);
			yes = 1;
		} else if (other || (!CONTAINER(hw) && (objects || bare)))
			return (-1);
	}
	for (j = 0; j < k; j++)
		if (cl[j] == c && other_credentials(w, kids[j]))
			return (-1);
	for (j = 0; j < k && !yes; j++)
		if (cl[j] == c && alike_below(w, kids[j], 0) > 0)
			yes = 1;
	return (yes);
}

/*
 * Weak evidence: some method answered with the same status on both, at
 * the words themselves or a level or two below them (bounded like
 * alike_below()).
 */
static int
same_calls(const struct disc_node *a, const struct disc_node *b, int depth)
{
	const struct disc_node	*ka, *kb;
	size_t			 i, j, x, y, na, nb;

	if (depth < BELOW_DEPTH) {
		na = a->nkids < BELOW_KIDS(depth) ? a->nkids :
		    BELOW_KIDS(depth);
		nb = b->nkids < BELOW_KIDS(depth) ? b->nkids :
		    BELOW_KIDS(depth);
		for (i = 0; i <= na; i++) {
			ka = i < na ? a->kids[i] : a->param;
			for (j = 0; ka != NULL && j <= nb; j++) {
				kb = j < nb ? b->kids[j] : b->param;
				if (kb != NULL && same_calls(ka, kb, depth + 1))
					return (1);
			}
		}
	}
	for (i = 0; i < a->nops; i++)
		for (j = 0; j < b->nops; j++) {
			if (strcmp(a->ops[i]->method, b->ops[j]->method) != 0)
				continue;
			for (x = 0; x < a->ops[i]->nst; x++)
				for (y = 0; y < b->ops[j]->nst; y++)
					if (a->ops[i]->st[x].code ==
					    b->ops[j]->st[y].code)
						return (1);
		}
	return (0);
}

/*
 * Names, slugs and file names have digits or punctuation; words are
 * letters only.
 */
static int
slug_chars(const char *s)
{
	for (; *s != '\0'; s++)
		if (!isalpha((unsigned char)*s))
			return (1);
	return (0);
}

/* Most words of cluster c look like data. */
static int
sluggish(struct disc_node **kids, size_t k, const int *cl, int c)
{
	size_t	i, n = 0, slug = 0;

	for (i = 0; i < k; i++)
		if (cl[i] == c) {
			n++;
			if (slug_chars(kids[i]->seg))
				slug++;
		}
	return (n > 0 && slug * 2 >= n);
}

static size_t
cluster_size(const int *cl, size_t k, int c)
{
	size_t	i, n = 0;

	for (i = 0; i < k; i++)
		if (cl[i] == c)
			n++;
	return (n);
}

static size_t
cluster_rare(struct disc_node **kids, size_t k, const int *cl, int c)
{
	size_t	i, n = 0;

	for (i = 0; i < k; i++)
		if (cl[i] == c && kids[i]->hits <= 2)
			n++;
	return (n);
}

static int
cluster_digits(struct disc_node **kids, size_t k, const int *cl, int c)
{
	size_t		 i;
	const char	*p;

	for (i = 0; i < k; i++)
		if (cl[i] == c)
			for (p = kids[i]->seg; *p != '\0'; p++)
				if (isdigit((unsigned char)*p))
					return (1);
	return (0);
}

/*
 * Two data-looking words under a plural word (/categories/red-1/items,
 * /categories/blue-2/items) that behave alike are enough: a collection
 * followed by names is how APIs address members.
 */
static int
pair_under_collection(const struct disc_node *n, struct disc_node **kids,
    size_t k, const int *cl, int c)
{
	char	 one[NAME_MAX_];
	size_t	 i, m[2], nm = 0;

	if (n->seg == NULL || n->seg[0] == '\0')
		return (0);
	disc_singular(n->seg, one, sizeof(one));
	if (strcmp(one, n->seg) == 0)
		return (0);
	for (i = 0; i < k; i++)
		if (cl[i] == c) {
			if (nm == 2)
				return (0);
			m[nm++] = i;
		}
	if (nm != 2 || !cluster_digits(kids, k, cl, c))
		return (0);
	return (alike_below(kids[m[0]], kids[m[1]], 0) > 0 ||
	    ops_alike(kids[m[0]], kids[m[1]]) > 0);
}

static size_t
cluster_digit_words(struct disc_node **kids, size_t k, const int *cl, int c)
{
	size_t		 i, n = 0;
	const char	*p;

	for (i = 0; i < k; i++) {
		if (cl[i] != c)
			continue;
		for (p = kids[i]->seg; *p != '\0'; p++)
			if (isdigit((unsigned char)*p)) {
				n++;
				break;
			}
	}
	return (n);
}

/* Some word of cluster c answers unlike cluster d, or the reverse. */
static int
clusters_conflict(struct disc_node **kids, size_t k, const int *cl, int c,
    int d)
{
	size_t	i;

	for (i = 0; i < k; i++) {
		if (cl[i] == c && alike(kids[i], kids, k, cl, d) == -1)
			return (1);
		if (cl[i] == d && alike(kids[i], kids, k, cl, c) == -1)
			return (1);
	}
	return (0);
}

static int
inner_capital(const char *s)
{
	for (s++; *s != '\0'; s++)
		if (isupper((unsigned char)s[0]) &&
		    islower((unsigned char)s[-1]))
			return (1);
	return (0);
}

static const char *
extension(const char *s)
{
	const char	*d = strrchr(s, '.');

	return (d != NULL && disc_is_file_like(s) ? d : "");
}

static int
hits_order(const void *a, const void *b)
{
	const struct disc_node	*na = *(const struct disc_node *const *)a;
	const struct disc_node	*nb = *(const struct disc_node *const *)b;

	if (na->hits != nb->hits)
		return (na->hits < nb->hits ? 1 : -1);
	return (strcmp(na->seg, nb->seg));
}

static int
seg_order(const void *a, const void *b)
{
	const struct disc_node	*na = *(const struct disc_node *const *)a;
	const struct disc_node	*nb = *(const struct disc_node *const *)b;

	return (strcmp(na->seg, nb->seg));
}

/*
 * Choose which literal children of `n` are values of one parameter.
 * Marks them in `fold` and returns how many.
 *
 * Words are clustered: a word joins a cluster when it behaves like a
 * member (alike() > 0) and contradicts none.  Sparse clusters of
 * data-looking words that nothing contradicts are joined.  A cluster is
 * a parameter when it is big enough: three words when most look like
 * data (digits, punctuation) or were called only once or twice each, as
 * values are and endpoints are not; six otherwise; two under a plural
 * word when they share a sub-resource; eight, most with digits, at the
 * first segment, where APIs rarely put a variable.  Words with no
 * evidence either way (a name only ever deleted, say) then join a
 * parameter cluster when they look like data too, or when some method
 * answered them with a status it also gave a member; camelCase words
 * (actions such as findByStatus) need real evidence.  File names
 * sharing an extension form a cluster of their own.
 */
static size_t
choose_fold(const struct disc_node *n, struct disc_node **kids, size_t k,
    int *fold)
{
	int		*cl;
	size_t		 i, j, ncl = 0, c, d, size, slug, rare, chosen = 0;
	int		*saved;
	int		 best, big, changed, pass;

	if ((cl = calloc(k, sizeof(*cl))) == NULL)
		return (0);
	saved = NULL;
	for (i = 0; i < k; i++)
		cl[i] = -1;
	/* Pass 1: clusters held together by positive evidence. */
	for (i = 0; i < k; i++) {
		best = -1;
		for (c = 0; c < ncl && best == -1; c++)
			if (alike(kids[i], kids, i, cl, (int)c) == 1)
				best = (int)c;
		cl[i] = best != -1 ? best : (int)ncl++;
	}
	/*
	 * Sparse traffic leaves data words in small clusters that never
	 * met (one name only read, another only listed).  Clusters made
	 * mostly of data-looking words join when nothing contradicts it.
	 */
	if ((saved = calloc(k, sizeof(*saved))) == NULL) {
		free(cl);
		return (0);
	}
	for (c = 0; c < ncl; c++) {
		if (!sluggish(kids, k, cl, (int)c))
			continue;
		memcpy(saved, cl, k * sizeof(*cl));
		for (d = c + 1; d < ncl; d++) {
			if (cluster_size(cl, k, (int)d) == 0 ||
			    !sluggish(kids, k, cl, (int)d) ||
			    clusters_conflict(kids, k, cl, (int)c, (int)d))
				continue;
			for (i = 0; i < k; i++)
				if (cl[i] == (int)d)
					cl[i] = (int)c;
		}
		/*
		 * Dashed words may be endpoints ("line-items"): without a
		 * digit, ask for more of them, each called once or twice
		 * as values are and endpoints are not.
		 */
		if (!cluster_digits(kids, k, cl, (int)c) &&
		    (cluster_size(cl, k, (int)c) < 6 ||
		    cluster_rare(kids, k, cl, (int)c) * 2 <=
		    cluster_size(cl, k, (int)c)))
			memcpy(cl, saved, k * sizeof(*cl));
	}
	free(saved);
	/* Pass 2: decide each cluster, then let silent words join. */
	for (c = 0; c < ncl; c++) {
		size = slug = rare = 0;
		for (i = 0; i < k; i++)
			if (cl[i] == (int)c) {
				size++;
				if (slug_chars(kids[i]->seg))
					slug++;
				if (kids[i]->hits <= 2)
					rare++;
			}
		if (n->parent == NULL)
			big = size >= 8 && cluster_digit_words(kids, k, cl,
			    (int)c) * 2 >= size;
		else
			big = (size >= 3 && slug * 2 >= size) || size >= 6 ||
			    (size >= 3 && rare * 2 > size) ||
			    pair_under_collection(n, kids, k, cl, (int)c);
		if (!big)
			continue;
		for (i = 0; i < k; i++)
			if (cl[i] == (int)c)
				fold[i] = (int)c + 1;
		/* Weak evidence spreads: repeat while words still join. */
		for (changed = 1, pass = 0; changed && pass < 4; pass++) {
			changed = 0;
			for (i = 0; i < k; i++) {
				if (fold[i] || alike(kids[i], kids, k, cl,
				    (int)c) == -1)
					continue;
				if (slug_chars(kids[i]->seg))
					fold[i] = (int)c + 1;
				for (j = 0; j < k && !fold[i]; j++)
					if (fold[j] == (int)c + 1 &&
					    !inner_capital(kids[i]->seg) &&
					    same_calls(kids[i], kids[j], 0))
						fold[i] = (int)c + 1;
				if (fold[i])
					changed = 1;
			}
		}
	}
	/* File names: three or more with one extension. */
	for (i = 0; i < k && n->parent != NULL; i++) {
		const char	*ext = extension(kids[i]->seg);

		if (*ext == '\0' || fold[i])
			continue;
		for (j = 0, size = 0; j < k; j++)
			if (strcmp(extension(kids[j]->seg), ext) == 0)
				size++;
		if (size >= 3)
			for (j = 0; j < k; j++)
				if (strcmp(extension(kids[j]->seg), ext) == 0)
					fold[j] = 1;
	}
	for (i = 0; i < k; i++)
		if (fold[i])
			chosen++;
	free(cl);
	return (chosen);
}

static int
settle_node(struct disc_engine *e, struct disc_node *n, int depth)
{
	int	*fold;
	size_t	 i, k;
	int	 rc = 0;

	if (depth > SEG_MAX + 2)
		return (0);
	for (i = 0; i < n->nkids; i++)
		if (settle_node(e, n->kids[i], depth + 1) == -1)
			return (-1);
	if (n->param != NULL && settle_node(e, n->param, depth + 1) == -1)
		return (-1);
	if (n->nkids < 2)
		return (0);

	/* Busiest words first: they seed the clusters. */
	qsort(n->kids, n->nkids, sizeof(*n->kids), hits_order);
	if ((fold = calloc(n->nkids, sizeof(*fold))) == NULL)
		return (-1);
	k = choose_fold(n, n->kids, n->nkids, fold);
	if (k > 0) {
		/* Fold from the end so indexes stay valid. */
		for (i = n->nkids; i-- > 0;)
			if (fold[i] && fold_kid(e, n, i) == -1)
				rc = -1;
	}
	free(fold);
	qsort(n->kids, n->nkids, sizeof(*n->kids), seg_order);
	/* Folding merged subtrees: their words may now fold in turn. */
	if (k > 0 && rc == 0)
		rc = settle_node(e, n->param, depth + 1);
	return (rc);
}

static int
is_skip_word(const char *w)
{
	if (strcmp(w, "api") == 0 || strcmp(w, "rest") == 0)
		return (1);
	/* Version prefixes: v1, v2beta, v1.1. */
	return (w[0] == 'v' && isdigit((unsigned char)w[1]));
}

/* The parameter's name from the nearest literal word above it. */
static int
name_param(struct disc_node *p)
{
	const struct disc_node	*a;
	char			 base[NAME_MAX_], word[NAME_MAX_];
	char			 name[NAME_MAX_ + 16];
	const char		*suffix;
	unsigned		 c = p->pclass;
	int			 n, clash;

	base[0] = '\0';
	for (a = p->parent; a != NULL && a->seg == NULL; a = a->parent)
		;
	if (a != NULL && a->seg != NULL) {
		disc_singular(a->seg, word, sizeof(word));
		disc_camel(word, base, sizeof(base), 0);
	}
	if (c & (1u << DISC_SEG_WORD))
		suffix = "Name";
	else if (c == (1u << DISC_SEG_DATE))
		suffix = "Date";
	else if (c == (1u << DISC_SEG_EMAIL))
		suffix = "Email";
	else
		suffix = "Id";
	if (base[0] == '\0') {
		(void)snprintf(base, sizeof(base), "%s",
		    suffix[0] == 'I' ? "id" : suffix[0] == 'N' ? "name" :
		    suffix[0] == 'D' ? "date" : "email");
		suffix = "";
	}
	for (n = 1;; n++) {
		if (n == 1)
			(void)snprintf(name, sizeof(name), "%s%s", base,
			    suffix);
		else
			(void)snprintf(name, sizeof(name), "%s%s%d", base,
			    suffix, n);
		clash = 0;
		for (a = p->parent; a != NULL; a = a->parent)
			if (a->seg == NULL && a->pname != NULL &&
			    strcmp(a->pname, name) == 0)
				clash = 1;
		if (!clash)
			break;
	}
	free(p->pname);
	p->pname = disc_strdup(name);
	return (p->pname == NULL ? -1 : 0);
}

static int
name_params(struct disc_node *n)
{
	size_t	i;

	if (n->seg == NULL && n->parent != NULL && name_param(n) == -1)
		return (-1);
	for (i = 0; i < n->nkids; i++)
		if (name_params(n->kids[i]) == -1)
			return (-1);
	if (n->param != NULL && name_params(n->param) == -1)
		return (-1);
	return (0);
}

static void
seg_escape(struct disc_buf *b, const char *s)
{
	static const char	 keep[] = "-._~!$&'()*+,;=:@";
	unsigned char		 c;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if (isalnum(c) || (c < 0x80 && strchr(keep, c) != NULL))
			disc_buf_add(b, s, 1);
		else
			disc_buf_fmt(b, "%%%02X", c);
	}
}

char *
disc_node_template(const struct disc_node *n)
{
	const struct disc_node	*chain[SEG_MAX + 2];
	struct disc_buf		 b = { NULL, 0, 0, 0 };
	size_t			 depth = 0;

	for (; n != NULL && n->parent != NULL && depth < SEG_MAX + 2;
	    n = n->parent)
		chain[depth++] = n;
	if (depth == 0)
		return (disc_strdup("/"));
	while (depth-- > 0) {
		disc_buf_str(&b, "/");
		if (chain[depth]->seg != NULL)
			seg_escape(&b, chain[depth]->seg);
		else
			disc_buf_fmt(&b, "{%s}", chain[depth]->pname ?
			    chain[depth]->pname : "id");
	}
	return (disc_buf_finish(&b));
}

static int
collect_ops(struct disc_engine *e, struct disc_node *n, size_t *cap)
{
	size_t	 i;
	void	*p;

	for (i = 0; i < n->nops; i++) {
		p = e->ops;
		if (disc_grow(&p, cap, e->nops + 1, sizeof(*e->ops)) == -1)
			return (-1);
		e->ops = p;
		e->ops[e->nops++] = n->ops[i];
	}
	for (i = 0; i < n->nkids; i++)
		if (collect_ops(e, n->kids[i], cap) == -1)
			return (-1);
	if (n->param != NULL && collect_ops(e, n->param, cap) == -1)
		return (-1);
	return (0);
}

static int
method_rank(const char *m)
{
	static const char *const order[] = { "GET", "PUT", "POST", "DELETE",
	    "OPTIONS", "HEAD", "PATCH", "TRACE", NULL };
	int	i;

	for (i = 0; order[i] != NULL; i++)
		if (strcmp(m, order[i]) == 0)
			return (i);
	return (i);
}

static int
op_order(const void *a, const void *b)
{
	const struct disc_op	*oa = *(const struct disc_op *const *)a;
	const struct disc_op	*ob = *(const struct disc_op *const *)b;
	int			 c;

	if ((c = strcmp(oa->tmpl, ob->tmpl)) != 0)
		return (c);
	return (method_rank(oa->method) - method_rank(ob->method));
}

static void
pascal_append(char *out, size_t outsz, const char *word, int singular)
{
	char	one[NAME_MAX_], camel[NAME_MAX_];
	size_t	len = strlen(out);

	if (singular)
		disc_singular(word, one, sizeof(one));
	else
		(void)snprintf(one, sizeof(one), "%s", word);
	disc_camel(one, camel, sizeof(camel), 1);
	(void)snprintf(out + len, outsz - len, "%s", camel);
}

/*
 * getStoreOrder, listUsers, createUserOrder: a verb from the method and
 * whether the path ends on an item or a collection, then the resource
 * words (made singular where an id follows them).
 */
static int
op_name(struct disc_op *op, char *out, size_t outsz)
{
	const struct disc_node	*chain[SEG_MAX + 2], *n;
	char			 noun[160], last_one[NAME_MAX_];
	const char		*verb, *m = op->method, *last = NULL;
	size_t			 depth = 0, i;
	int			 item, plural;

	for (n = op->node; n != NULL && n->parent != NULL &&
	    depth < SEG_MAX + 2; n = n->parent)
		chain[depth++] = n;
	noun[0] = '\0';
	item = depth > 0 && chain[0]->seg == NULL;
	for (i = depth; i-- > 0;) {
		n = chain[i];
		if (n->seg == NULL || is_skip_word(n->seg))
			continue;
		last = n->seg;
		pascal_append(noun, sizeof(noun), n->seg,
		    i > 0 && chain[i - 1]->seg == NULL);
	}
	plural = 0;
	if (!item && last != NULL) {
		disc_singular(last, last_one, sizeof(last_one));
		plural = strcmp(last_one, last) != 0;
	}
	if (strcmp(m, "GET") == 0)
		verb = (!item && plural) ? "list" : "get";
	else if (strcmp(m, "POST") == 0)
		verb = plural ? "create" : "post";
	else if (strcmp(m, "PUT") == 0)
		verb = "replace";
	else if (strcmp(m, "PATCH") == 0)
		verb = "update";
	else if (strcmp(m, "DELETE") == 0)
		verb = "delete";
	else if (strcmp(m, "HEAD") == 0)
		verb = "head";
	else if (strcmp(m, "OPTIONS") == 0)
		verb = "options";
	else
		verb = "trace";
	if (plural && strcmp(verb, "list") != 0 && last != NULL) {
		/* createUser, not createUsers: one item is made. */
		size_t	 cut = strlen(noun);
		char	 camel[NAME_MAX_];

		disc_camel(last, camel, sizeof(camel), 1);
		if (strlen(camel) <= cut)
			noun[cut - strlen(camel)] = '\0';
		pascal_append(noun, sizeof(noun), last, 1);
	}
	if (noun[0] == '\0')
		(void)snprintf(noun, sizeof(noun), "Root");
	(void)snprintf(out, outsz, "%s%s", verb, noun);
	return (0);
}

static int
op_tag(struct disc_op *op)
{
	const struct disc_node	*chain[SEG_MAX + 2], *n;
	size_t			 depth = 0;
	char			 tag[NAME_MAX_];

	for (n = op->node; n != NULL && n->parent != NULL &&
	    depth < SEG_MAX + 2; n = n->parent)
		chain[depth++] = n;
	(void)snprintf(tag, sizeof(tag), "general");
	while (depth-- > 0) {
		n = chain[depth];
		if (n->seg != NULL && !is_skip_word(n->seg)) {
			disc_camel(n->seg, tag, sizeof(tag), 0);
			if (tag[0] == '\0')
				(void)snprintf(tag, sizeof(tag), "general");
			break;
		}
	}
	free(op->tag);
	op->tag = disc_strdup(tag);
	return (op->tag == NULL ? -1 : 0);
}

struct op_pos {
	struct disc_op	*op;
	size_t		 pos;
};

static int
id_order(const void *a, const void *b)
{
	const struct op_pos	*pa = a, *pb = b;
	int			 c;

	if ((c = strcmp(pa->op->id, pb->op->id)) != 0)
		return (c);
	return (pa->pos < pb->pos ? -1 : pa->pos > pb->pos);
}

/*
 * Give every operation a unique id: within a run of equal ids, the
 * later ones in template order get a counter.
 */
static int
unique_ids(struct disc_engine *e)
{
	struct op_pos	*byid;
	size_t		 i, j, k;
	char		 name[200];
	int		 n, rc = 0;

	if (e->nops < 2)
		return (0);
	if ((byid = calloc(e->nops, sizeof(*byid))) == NULL)
		return (-1);
	for (i = 0; i < e->nops; i++) {
		byid[i].op = e->ops[i];
		byid[i].pos = i;
	}
	qsort(byid, e->nops, sizeof(*byid), id_order);
	for (i = 0; i < e->nops; i = j) {
		for (j = i + 1; j < e->nops &&
		    strcmp(byid[i].op->id, byid[j].op->id) == 0; j++)
			;
		for (k = i + 1, n = 2; k < j; k++, n++) {
			(void)snprintf(name, sizeof(name), "%s%d",
			    byid[k].op->id, n);
			free(byid[k].op->id);
			if ((byid[k].op->id = disc_strdup(name)) == NULL)
				rc = -1;
		}
	}
	free(byid);
	return (rc);
}

int
disc_path_settle(struct disc_engine *e)
{
	size_t	 cap = 0, i;
	char	 name[200];

	if (settle_node(e, e->root, 0) == -1)
		return (-1);
	if (name_params(e->root) == -1)
		return (-1);
	free(e->ops);
	e->ops = NULL;
	e->nops = 0;
	if (collect_ops(e, e->root, &cap) == -1)
		return (-1);
	for (i = 0; i < e->nops; i++) {
		free(e->ops[i]->tmpl);
		if ((e->ops[i]->tmpl = disc_node_template(e->ops[i]->node))
		    == NULL)
			return (-1);
	}
	if (e->nops > 1)
		qsort(e->ops, e->nops, sizeof(*e->ops), op_order);
	for (i = 0; i < e->nops; i++) {
		(void)op_name(e->ops[i], name, sizeof(name));
		free(e->ops[i]->id);
		if ((e->ops[i]->id = disc_strdup(name)) == NULL)
			return (-1);
		if (op_tag(e->ops[i]) == -1)
			return (-1);
	}
	return (unique_ids(e));
}
