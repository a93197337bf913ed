/*
 * Schema accumulators: a streaming summary of every JSON value seen at
 * one place in a body, a query or a header set.
 *
 * Each sample is folded in as it arrives and then forgotten, so memory
 * grows with the number of distinct fields, not with the number of
 * calls.  An accumulator keeps the types seen, how many objects had each
 * property (a property is required when every object had it), the
 * formats every string matched, up to DISC_VALS_MAX distinct short
 * strings (enough to recognise a small vocabulary), and one example
 * chosen by the smallest hash of its value, which makes the choice
 * independent of the order of calls.
 *
 * Objects whose keys are themselves data (ids, numbers, dates) or that
 * grow past DISC_PROPS_MAX keys are maps: their values are merged into
 * one additionalProperties schema instead of one property per key.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disc_int.h"

static int	add_value(struct disc_schema *, json_t *, int);
static int	add_object(struct disc_schema *, json_t *, int);
static int	add_array(struct disc_schema *, json_t *, int);
static int	merge_depth(struct disc_schema *, const struct disc_schema *,
		    int);
static int	make_map(struct disc_schema *);
static struct disc_prop	*prop_get(struct disc_schema *, const char *,
		    size_t);
static int	vals_add(struct disc_schema *, const char *, size_t,
		    unsigned long);
static void	example_offer(struct disc_schema *, uint64_t, json_t *,
		    const char *);
static json_t	*kind_json(const struct disc_engine *,
		    const struct disc_schema *, unsigned, int);
static int	prop_order(const void *, const void *);

struct disc_schema *
disc_schema_new(void)
{
	struct disc_schema	*s;

	if ((s = disc_calloc(1, sizeof(*s))) == NULL)
		return (NULL);
	s->comp = -1;
	s->fmt = DISC_F_ALL;
	return (s);
}

void
disc_schema_free(struct disc_schema *s)
{
	size_t	i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nvals; i++)
		free(s->vals[i].v);
	free(s->vals);
	for (i = 0; i < s->nprops; i++) {
		free(s->props[i].name);
		disc_schema_free(s->props[i].s);
	}
	free(s->props);
	disc_schema_free(s->addl);
	disc_schema_free(s->items);
	free(s->ex);
	free(s);
}

/*
 * An empty object, counted without building one: most calls have no
 * query, no notable header and no cookie, and each still counts
 * towards "required".
 */
void
disc_schema_add_empty(struct disc_schema *s)
{
	s->n++;
	s->types |= DISC_T_OBJ;
	s->nobj++;
}

int
disc_schema_add(struct disc_schema *s, json_t *v)
{
	return (add_value(s, v, 0));
}

static uint64_t
value_hash(json_t *v)
{
	char		 num[64];
	int		 n;

	switch (json_typeof(v)) {
	case JSON_STRING:
		return (disc_hash(json_string_value(v), json_string_length(v)));
	case JSON_INTEGER:
		n = snprintf(num, sizeof(num), "%lld",
		    (long long)json_integer_value(v));
		return (disc_hash(num, (size_t)n));
	case JSON_REAL:
		n = snprintf(num, sizeof(num), "%.17g", json_real_value(v));
		return (disc_hash(num, (size_t)n));
	case JSON_TRUE:
		return (disc_hash("true", 4));
	case JSON_FALSE:
		return (disc_hash("false", 5));
	default:
		return (disc_hash("null", 4));
	}
}

/* Keep the example whose value hashes lowest: order never matters. */
static void
example_offer(struct disc_schema *s, uint64_t h, json_t *v, const char *text)
{
	char	*t;

	if (s->ex != NULL && h >= s->ex_hash)
		return;
	if (text != NULL)
		t = disc_strdup(text);
	else
		t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	if (t == NULL)
		return;
	/* Very long strings make poor examples; keep the shorter ones. */
	if (strlen(t) > 512) {
		free(t);
		return;
	}
	free(s->ex);
	s->ex = t;
	s->ex_hash = h;
}

static int
vals_add(struct disc_schema *s, const char *v, size_t len, unsigned long n)
{
	size_t	 lo = 0, hi = s->nvals, mid, cap = s->nvals;
	int	 c;
	char	*copy;
	void	*p;

	if (s->vals_over)
		return (0);
	if (len > DISC_VAL_LEN_MAX || memchr(v, '\0', len) != NULL) {
		s->vals_over = 1;
		return (0);
	}
	while (lo < hi) {
		mid = (lo + hi) / 2;
		c = strncmp(s->vals[mid].v, v, len);
		if (c == 0 && s->vals[mid].v[len] != '\0')
			c = 1;
		if (c == 0) {
			s->vals[mid].n += n;
			return (0);
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (s->nvals >= DISC_VALS_MAX) {
		s->vals_over = 1;
		return (0);
	}
	p = s->vals;
	if (disc_grow(&p, &cap, s->nvals + 1, sizeof(*s->vals)) == -1)
		return (-1);
	s->vals = p;
	if ((copy = disc_strndup(v, len)) == NULL)
		return (-1);
	memmove(&s->vals[lo + 1], &s->vals[lo],
	    (s->nvals - lo) * sizeof(*s->vals));
	s->vals[lo].v = copy;
	s->vals[lo].n = n;
	s->nvals++;
	return (0);
}

static void
range_add(struct disc_schema *s, double d)
{
	if (!s->has_range) {
		s->min = s->max = d;
		s->has_range = 1;
		return;
	}
	if (d < s->min)
		s->min = d;
	if (d > s->max)
		s->max = d;
}

static int
add_value(struct disc_schema *s, json_t *v, int depth)
{
	const char	*str;
	size_t		 len;

	s->n++;
	switch (json_typeof(v)) {
	case JSON_NULL:
		s->types |= DISC_T_NULL;
		return (0);
	case JSON_TRUE:
	case JSON_FALSE:
		s->types |= DISC_T_BOOL;
		example_offer(s, value_hash(v), v, NULL);
		return (0);
	case JSON_INTEGER:
		s->types |= DISC_T_INT;
		range_add(s, (double)json_integer_value(v));
		example_offer(s, value_hash(v), v, NULL);
		return (0);
	case JSON_REAL:
		s->types |= DISC_T_NUM;
		range_add(s, json_real_value(v));
		example_offer(s, value_hash(v), v, NULL);
		return (0);
	case JSON_STRING:
		str = json_string_value(v);
		len = json_string_length(v);
		s->types |= DISC_T_STR;
		s->fmt &= disc_string_formats(str, len);
		if (s->nstr == 0 || len < s->minlen)
			s->minlen = len;
		if (len > s->maxlen)
			s->maxlen = len;
		s->nstr++;
		example_offer(s, value_hash(v), v, NULL);
		return (vals_add(s, str, len, 1));
	case JSON_OBJECT:
		s->types |= DISC_T_OBJ;
		s->nobj++;
		if (depth >= DISC_DEPTH_MAX)
			return (0);
		return (add_object(s, v, depth));
	case JSON_ARRAY:
		s->types |= DISC_T_ARR;
		s->narr++;
		if (depth >= DISC_DEPTH_MAX)
			return (0);
		return (add_array(s, v, depth));
	}
	return (0);
}

/* Binary search by name; inserts a new property when absent. */
static struct disc_prop *
prop_get(struct disc_schema *s, const char *name, size_t len)
{
	size_t		 lo = 0, hi = s->nprops, mid;
	int		 c;
	char		*copy;
	void		*p;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		c = strncmp(s->props[mid].name, name, len);
		if (c == 0 && s->props[mid].name[len] != '\0')
			c = 1;
		if (c == 0)
			return (&s->props[mid]);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	p = s->props;
	if (disc_grow(&p, &s->cprops, s->nprops + 1, sizeof(*s->props)) == -1)
		return (NULL);
	s->props = p;
	if ((copy = disc_strndup(name, len)) == NULL)
		return (NULL);
	memmove(&s->props[lo + 1], &s->props[lo],
	    (s->nprops - lo) * sizeof(*s->props));
	memset(&s->props[lo], 0, sizeof(*s->props));
	s->props[lo].name = copy;
	if ((s->props[lo].s = disc_schema_new()) == NULL) {
		free(copy);
		memmove(&s->props[lo], &s->props[lo + 1],
		    (s->nprops - lo) * sizeof(*s->props));
		return (NULL);
	}
	s->nprops++;
	return (&s->props[lo]);
}

/* Fold every property into one value schema: the object is a map. */
static int
make_map(struct disc_schema *s)
{
	size_t	i;
	int	rc = 0;

	if (s->map)
		return (0);
	if (s->addl == NULL && (s->addl = disc_schema_new()) == NULL)
		return (-1);
	for (i = 0; i < s->nprops; i++) {
		if (merge_depth(s->addl, s->props[i].s, 0) == -1)
			rc = -1;
		free(s->props[i].name);
		disc_schema_free(s->props[i].s);
	}
	free(s->props);
	s->props = NULL;
	s->nprops = s->cprops = 0;
	s->map = 1;
	return (rc);
}

static int
add_object(struct disc_schema *s, json_t *o, int depth)
{
	const char		*key;
	json_t			*val;
	struct disc_prop	*p;
	size_t			 nkeys = json_object_size(o), idkeys = 0;
	unsigned long		 pos = 0;

	if (!s->map && nkeys > 0) {
		json_object_foreach(o, key, val)
			if (disc_is_id_key(key))
				idkeys++;
		if (idkeys == nkeys || nkeys > DISC_PROPS_MAX)
			if (make_map(s) == -1)
				return (-1);
	}
	if (s->map) {
		if (s->addl == NULL && (s->addl = disc_schema_new()) == NULL)
			return (-1);
		json_object_foreach(o, key, val)
			if (add_value(s->addl, val, depth + 1) == -1)
				return (-1);
		return (0);
	}
	json_object_foreach(o, key, val) {
		if ((p = prop_get(s, key, strlen(key))) == NULL)
			return (-1);
		p->count++;
		p->possum += pos++;
		if (add_value(p->s, val, depth + 1) == -1)
			return (-1);
	}
	if (s->nprops > DISC_PROPS_MAX)
		return (make_map(s));
	return (0);
}

static int
add_array(struct disc_schema *s, json_t *a, int depth)
{
	size_t	 n = json_array_size(a), i;

	if (s->narr == 1 || n < s->min_items)
		s->min_items = n;
	if (n > s->max_items)
		s->max_items = n;
	if (n == 0)
		return (0);
	if (s->items == NULL && (s->items = disc_schema_new()) == NULL)
		return (-1);
	/* A sample of a long array describes its items well enough. */
	if (n > 256)
		n = 256;
	for (i = 0; i < n; i++)
		if (add_value(s->items, json_array_get(a, i), depth + 1) == -1)
			return (-1);
	return (0);
}

int
disc_schema_merge(struct disc_schema *d, const struct disc_schema *s)
{
	return (merge_depth(d, s, 0));
}

static int
merge_child(struct disc_schema **dp, const struct disc_schema *s, int depth)
{
	if (s == NULL)
		return (0);
	if (*dp == NULL && (*dp = disc_schema_new()) == NULL)
		return (-1);
	return (merge_depth(*dp, s, depth + 1));
}

static int
merge_depth(struct disc_schema *d, const struct disc_schema *s, int depth)
{
	struct disc_prop	*p;
	size_t			 i;
	int			 rc = 0;

	if (depth > DISC_DEPTH_MAX + 2)
		return (0);
	d->types |= s->types;
	d->n += s->n;
	d->fmt &= s->fmt;
	if (s->nstr > 0) {
		if (d->nstr == 0 || s->minlen < d->minlen)
			d->minlen = s->minlen;
		if (s->maxlen > d->maxlen)
			d->maxlen = s->maxlen;
	}
	d->nstr += s->nstr;
	if (s->has_range) {
		range_add(d, s->min);
		range_add(d, s->max);
	}
	if (s->vals_over)
		d->vals_over = 1;
	for (i = 0; i < s->nvals && !d->vals_over; i++)
		if (vals_add(d, s->vals[i].v, strlen(s->vals[i].v),
		    s->vals[i].n) == -1)
			rc = -1;
	if (s->ex != NULL && (d->ex == NULL || s->ex_hash < d->ex_hash)) {
		char	*t = disc_strdup(s->ex);

		if (t != NULL) {
			free(d->ex);
			d->ex = t;
			d->ex_hash = s->ex_hash;
		}
	}

	if (s->narr > 0) {
		if (d->narr == 0 || s->min_items < d->min_items)
			d->min_items = s->min_items;
		if (s->max_items > d->max_items)
			d->max_items = s->max_items;
	}
	d->narr += s->narr;
	if (merge_child(&d->items, s->items, depth) == -1)
		rc = -1;

	d->nobj += s->nobj;
	if (s->map && make_map(d) == -1)
		rc = -1;
	if (d->map) {
		if (merge_child(&d->addl, s->addl, depth) == -1)
			rc = -1;
		for (i = 0; i < s->nprops; i++)
			if (merge_child(&d->addl, s->props[i].s, depth) == -1)
				rc = -1;
		return (rc);
	}
	for (i = 0; i < s->nprops; i++) {
		const struct disc_prop	*sp = &s->props[i];

		if ((p = prop_get(d, sp->name, strlen(sp->name))) == NULL)
			return (-1);
		p->count += sp->count;
		p->possum += sp->possum;
		if (merge_depth(p->s, sp->s, depth + 1) == -1)
			rc = -1;
	}
	if (d->nprops > DISC_PROPS_MAX && make_map(d) == -1)
		rc = -1;
	return (rc);
}

struct disc_schema *
disc_schema_copy(const struct disc_schema *s)
{
	struct disc_schema	*c;

	if ((c = disc_schema_new()) == NULL)
		return (NULL);
	if (merge_depth(c, s, 0) == -1) {
		disc_schema_free(c);
		return (NULL);
	}
	return (c);
}

/* Scalars in a value, counted up to `cap`: richer examples score higher. */
size_t
disc_json_leaves(json_t *v, size_t cap)
{
	size_t		 n = 0, i;
	const char	*k;
	json_t		*c;

	if (json_is_object(v)) {
		json_object_foreach(v, k, c) {
			if (n >= cap)
				break;
			n += disc_json_leaves(c, cap - n);
		}
		return (n);
	}
	if (json_is_array(v)) {
		for (i = 0; i < json_array_size(v) && n < cap; i++)
			n += disc_json_leaves(json_array_get(v, i), cap - n);
		return (n);
	}
	return (1);
}

/*
 * The names one level inside a property (its own fields, or its list
 * items' fields), as a hash: {data: [Customer]} and {data: [Order]} are
 * different shapes.
 */
static unsigned
nested_names(const struct disc_schema *s)
{
	uint64_t	h = 0;
	size_t		i;

	if (s->items != NULL && s->items->nprops > 0)
		s = s->items;
	for (i = 0; i < s->nprops; i++)
		h = disc_hash_mix(h, disc_hash(s->props[i].name,
		    strlen(s->props[i].name)));
	return ((unsigned)(h & 0xffffffffu));
}

/*
 * The identity of an object shape: its property names, the broad type
 * of each and the names one level inside.  Objects with equal keys are
 * candidates for one shared component.  NULL when the node is no plain
 * object of two or more properties.
 */
char *
disc_shape_key(const struct disc_schema *s)
{
	struct disc_buf	 b = { NULL, 0, 0, 0 };
	size_t		 i;
	unsigned	 t;

	if (s == NULL || !(s->types & DISC_T_OBJ) || s->map || s->nprops < 2)
		return (NULL);
	for (i = 0; i < s->nprops; i++) {
		t = s->props[i].s->types & ~DISC_T_NULL;
		if (t & DISC_T_NUM)
			t = (t & ~DISC_T_INT);
		disc_buf_fmt(&b, "%s:%x:%08x,", s->props[i].name, t,
		    nested_names(s->props[i].s));
	}
	return (disc_buf_finish(&b));
}

/*
 * A string field is an enum when a handful of short values keep coming
 * back: at most 8 distinct values, each seen about twice or more, and
 * no recognised format (dates or ids that repeat are not a vocabulary).
 */
int
disc_schema_enum(const struct disc_schema *s)
{
	size_t	i;

	if (s->vals_over || s->nvals == 0 || s->nvals > 8 || s->fmt != 0)
		return (0);
	if ((s->types & ~DISC_T_NULL) != DISC_T_STR)
		return (0);
	if (s->nstr < 4 || s->nstr < 2 * s->nvals)
		return (0);
	for (i = 0; i < s->nvals; i++)
		if (strlen(s->vals[i].v) > 40 || s->vals[i].v[0] == '\0')
			return (0);
	return (1);
}

static const char *
format_name(unsigned fmt)
{
	if (fmt & DISC_F_BINARY)
		return ("binary");
	if (fmt & DISC_F_DATETIME)
		return ("date-time");
	if (fmt & DISC_F_DATE)
		return ("date");
	if (fmt & DISC_F_UUID)
		return ("uuid");
	if (fmt & DISC_F_EMAIL)
		return ("email");
	if (fmt & DISC_F_IPV4)
		return ("ipv4");
	if (fmt & DISC_F_URI)
		return ("uri");
	return (NULL);
}

/* "string (date-time)", "integer", "array of Pet", "string | null". */
const char *
disc_schema_type_name(const struct disc_schema *s, char *out, size_t outsz)
{
	struct disc_buf	 b = { NULL, 0, 0, 0 };
	unsigned	 t;
	const char	*f;
	char		*r;
	int		 first = 1;

	if (s == NULL || s->types == 0) {
		(void)snprintf(out, outsz, "any");
		return (out);
	}
	t = s->types;
	if ((t & DISC_T_NUM) && (t & DISC_T_INT))
		t &= ~DISC_T_INT;
#define PART(bit, text)	do {					\
	if (t & (bit)) {					\
		disc_buf_str(&b, first ? "" : " | ");		\
		disc_buf_str(&b, (text));			\
		first = 0;					\
	}							\
} while (0)
	if (t & DISC_T_STR) {
		PART(DISC_T_STR, "string");
		if (s->nstr > 0 && (f = format_name(s->fmt)) != NULL)
			disc_buf_fmt(&b, " (%s)", f);
	}
	PART(DISC_T_INT, "integer");
	PART(DISC_T_NUM, "number");
	PART(DISC_T_BOOL, "boolean");
	PART(DISC_T_OBJ, s->map ? "map" : "object");
	if (t & DISC_T_ARR) {
		char	 inner[96];

		disc_buf_str(&b, first ? "" : " | ");
		disc_buf_fmt(&b, "array of %s",
		    s->items ? disc_schema_type_name(s->items, inner,
		    sizeof(inner)) : "any");
		first = 0;
	}
	PART(DISC_T_NULL, "null");
#undef PART
	if ((r = disc_buf_finish(&b)) == NULL) {
		(void)snprintf(out, outsz, "any");
		return (out);
	}
	(void)snprintf(out, outsz, "%s", r);
	free(r);
	return (out);
}

/*
 * Properties are listed where they usually appear: by their average
 * position in the objects that had them.  Sums and counts do not
 * depend on the order of calls.
 */
int
disc_prop_rank(const struct disc_prop *a, const struct disc_prop *b)
{
	double	ma = a->count ? a->possum / (double)a->count : 0;
	double	mb = b->count ? b->possum / (double)b->count : 0;

	if (ma < mb)
		return (-1);
	if (ma > mb)
		return (1);
	return (0);
}

static int
prop_order(const void *a, const void *b)
{
	const struct disc_prop	*pa = *(const struct disc_prop *const *)a;
	const struct disc_prop	*pb = *(const struct disc_prop *const *)b;
	int			 c;

	if ((c = disc_prop_rank(pa, pb)) != 0)
		return (c);
	return (strcmp(pa->name, pb->name));
}

/* The properties of `s` in documentation order; malloc'd, NULL if none. */
const struct disc_prop **
disc_props_ordered(const struct disc_schema *s)
{
	const struct disc_prop	**order;
	size_t			  i;

	if (s == NULL || s->nprops == 0 ||
	    (order = calloc(s->nprops, sizeof(*order))) == NULL)
		return (NULL);
	for (i = 0; i < s->nprops; i++)
		order[i] = &s->props[i];
	qsort(order, s->nprops, sizeof(*order), prop_order);
	return (order);
}

static json_t *
object_json(const struct disc_engine *e, const struct disc_schema *s)
{
	json_t			 *o, *props, *req;
	const struct disc_prop	**order;
	size_t			  i;

	o = json_object();
	json_object_set_new(o, "type", json_string("object"));
	if (s->map) {
		json_object_set_new(o, "additionalProperties",
		    s->addl ? disc_schema_json(e, s->addl, 0) : json_true());
		return (o);
	}
	if (s->nprops == 0)
		return (o);
	if ((order = disc_props_ordered(s)) == NULL) {
		json_decref(o);
		return (NULL);
	}
	props = json_object();
	req = json_array();
	for (i = 0; i < s->nprops; i++) {
		json_object_set_new(props, order[i]->name,
		    disc_schema_json(e, order[i]->s, 0));
		if (order[i]->count == s->nobj && s->nobj > 0)
			json_array_append_new(req, json_string(order[i]->name));
	}
	free(order);
	json_object_set_new(o, "properties", props);
	if (json_array_size(req) > 0)
		json_object_set_new(o, "required", req);
	else
		json_decref(req);
	return (o);
}

/* The schema of one JSON type out of the several an accumulator saw. */
static json_t *
kind_json(const struct disc_engine *e, const struct disc_schema *s,
    unsigned kind, int nullable)
{
	json_t		*o, *en;
	const char	*f;
	size_t		 i;

	switch (kind) {
	case DISC_T_OBJ:
		return (object_json(e, s));
	case DISC_T_ARR:
		o = json_object();
		json_object_set_new(o, "type", json_string("array"));
		json_object_set_new(o, "items", s->items ?
		    disc_schema_json(e, s->items, 0) : json_object());
		return (o);
	case DISC_T_STR:
		o = json_object();
		json_object_set_new(o, "type", json_string("string"));
		if (s->nstr > 0 && (f = format_name(s->fmt)) != NULL)
			json_object_set_new(o, "format", json_string(f));
		if (disc_schema_enum(s)) {
			en = json_array();
			for (i = 0; i < s->nvals; i++)
				json_array_append_new(en,
				    disc_jstr(s->vals[i].v));
			if (nullable)
				json_array_append_new(en, json_null());
			json_object_set_new(o, "enum", en);
		}
		return (o);
	case DISC_T_INT:
		o = json_object();
		json_object_set_new(o, "type", json_string("integer"));
		if (s->has_range && (s->min < -2147483648.0 ||
		    s->max > 2147483647.0))
			json_object_set_new(o, "format", json_string("int64"));
		return (o);
	case DISC_T_NUM:
		o = json_object();
		json_object_set_new(o, "type", json_string("number"));
		return (o);
	case DISC_T_BOOL:
		o = json_object();
		json_object_set_new(o, "type", json_string("boolean"));
		return (o);
	}
	o = json_object();
	json_object_set_new(o, "type", json_string("null"));
	return (o);
}

/*
 * The JSON Schema (2020-12, as OpenAPI 3.1 uses it) of an accumulator.
 * `top` is set when the accumulator itself is a component being written,
 * so it is expanded instead of referring to itself.
 */
json_t *
disc_schema_json(const struct disc_engine *e, const struct disc_schema *s,
    int top)
{
	static const unsigned	 kinds[] = { DISC_T_OBJ, DISC_T_ARR,
	    DISC_T_STR, DISC_T_INT, DISC_T_NUM, DISC_T_BOOL };
	json_t			*o, *any, *k, *ty;
	unsigned		 t;
	size_t			 i, nk = 0;
	int			 nullable;
	char			 ref[300];

	if (s == NULL || s->types == 0)
		return (json_object());
	nullable = (s->types & DISC_T_NULL) != 0;
	if (!top && s->comp >= 0 && e != NULL && (size_t)s->comp < e->ncomps) {
		(void)snprintf(ref, sizeof(ref), "#/components/schemas/%s",
		    e->comps[s->comp].name);
		o = json_object();
		json_object_set_new(o, "$ref", json_string(ref));
		if (!nullable)
			return (o);
		any = json_array();
		json_array_append_new(any, o);
		k = json_object();
		json_object_set_new(k, "type", json_string("null"));
		json_array_append_new(any, k);
		o = json_object();
		json_object_set_new(o, "anyOf", any);
		return (o);
	}
	t = s->types & ~DISC_T_NULL;
	if ((t & DISC_T_NUM) && (t & DISC_T_INT))
		t &= ~DISC_T_INT;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (t & kinds[i])
			nk++;
	if (nk == 0)
		return (kind_json(e, s, 0, 0));
	if (nk == 1) {
		for (i = 0; !(t & kinds[i]); i++)
			;
		o = kind_json(e, s, kinds[i], nullable);
		if (o != NULL && nullable) {
			ty = json_array();
			json_array_append(ty, json_object_get(o, "type"));
			json_array_append_new(ty, json_string("null"));
			json_object_set_new(o, "type", ty);
		}
		return (o);
	}
	/* Types that really differ: a union of one schema per type. */
	any = json_array();
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (t & kinds[i])
			json_array_append_new(any,
			    kind_json(e, s, kinds[i], 0));
	if (nullable)
		json_array_append_new(any, kind_json(e, s, 0, 0));
	o = json_object();
	json_object_set_new(o, "anyOf", any);
	return (o);
}

/*
 * Make an example safe to publish: values of secret-looking fields and
 * credential-looking strings become "[REDACTED]", and long arrays are
 * cut to their first few items.  Works in place; returns `v`.
 */
json_t *
disc_redact(json_t *v, int depth)
{
	const char	*key;
	json_t		*c;
	size_t		 i;

	if (v == NULL || depth > DISC_DEPTH_MAX)
		return (v);
	if (json_is_object(v)) {
		json_object_foreach(v, key, c) {
			if (disc_is_secret_name(key) && !json_is_null(c) &&
			    !json_is_object(c) && !json_is_array(c) &&
			    !json_is_boolean(c))
				json_object_set_new(v, key,
				    json_string("[REDACTED]"));
			else
				disc_redact(c, depth + 1);
		}
	} else if (json_is_array(v)) {
		while (json_array_size(v) > 3)
			json_array_remove(v, json_array_size(v) - 1);
		for (i = 0; i < json_array_size(v); i++)
			disc_redact(json_array_get(v, i), depth + 1);
	} else if (json_is_string(v) &&
	    disc_is_secret_value(json_string_value(v)))
		json_string_set(v, "[REDACTED]");
	return (v);
}
