/*
 * Internal data of the discovery engine, shared by its files only.
 *
 * Three structures carry everything:
 *  - a schema accumulator (struct disc_schema) that sums up every JSON
 *    value seen at one place: the types, per-property presence counts,
 *    string formats, a bounded set of distinct values and one example.
 *    Two accumulators merge into one, which is how samples are folded in
 *    and how path clusters and shared shapes are joined later.
 *  - a trie of path segments (struct disc_node) whose children are the
 *    literal words seen below a segment plus one parameter child that
 *    gathers every identifier-like segment.
 *  - operations (struct disc_op), one per method at a trie node, holding
 *    parameters, bodies per media type and responses per status.
 */

#ifndef DISC_INT_H
#define DISC_INT_H

#include <stdarg.h>
#include <stdint.h>

#include <jansson.h>

#include "disc.h"

/* Limits that keep memory bounded by the API's shape. */
#define DISC_DEPTH_MAX		32	/* schema nesting followed */
#define DISC_PROPS_MAX		200	/* properties before it is a map */
#define DISC_VALS_MAX		12	/* distinct values kept per field */
#define DISC_VAL_LEN_MAX	64	/* longest value kept for enums */
#define DISC_KIDS_MAX		256	/* literal children before collapsing */
#define DISC_NODES_MAX		4096	/* path nodes before branches fold */
#define DISC_BODY_PARSE_MAX	(8 * 1024 * 1024)
#define DISC_EXAMPLE_MAX	(16 * 1024)
#define DISC_STATUSES_MAX	64
#define DISC_MEDIA_MAX		8
#define DISC_SCHEMES_MAX	16
#define DISC_OPS_MAX		16384
#define DISC_METHOD_MAX		15

/* JSON types seen at one place, as a mask. */
#define DISC_T_NULL	0x01
#define DISC_T_BOOL	0x02
#define DISC_T_INT	0x04
#define DISC_T_NUM	0x08
#define DISC_T_STR	0x10
#define DISC_T_OBJ	0x20
#define DISC_T_ARR	0x40

/* String formats, as a mask of what every string seen matched. */
#define DISC_F_DATETIME	0x01
#define DISC_F_DATE	0x02
#define DISC_F_EMAIL	0x04
#define DISC_F_UUID	0x08
#define DISC_F_URI	0x10
#define DISC_F_IPV4	0x20
#define DISC_F_BINARY	0x40	/* a file part of a multipart body */
#define DISC_F_ALL	0x7f

/* The value a file part stands for in a form's schema. */
#define DISC_BINARY_MARK	"\001\002binary\003"

/* What a path segment looks like. */
enum disc_seg {
	DISC_SEG_WORD = 0,
	DISC_SEG_INT,
	DISC_SEG_UUID,
	DISC_SEG_HEX,
	DISC_SEG_TOKEN,
	DISC_SEG_DATE,
	DISC_SEG_EMAIL
};

struct disc_buf {
	char	*d;
	size_t	 len;
	size_t	 cap;
	int	 err;
};

struct disc_val {
	char		*v;		/* JSON text of a scalar */
	unsigned long	 n;
};

struct disc_prop;

struct disc_schema {
	unsigned		 types;
	unsigned long		 n;		/* values merged */
	unsigned long		 nstr;
	unsigned		 fmt;		/* formats all strings had */
	size_t			 minlen;
	size_t			 maxlen;
	int			 has_range;
	double			 min;
	double			 max;

	struct disc_val		*vals;		/* sorted, distinct */
	size_t			 nvals;
	int			 vals_over;

	char			*ex;		/* JSON text of one value */
	uint64_t		 ex_hash;

	struct disc_prop	*props;		/* sorted by name */
	size_t			 nprops;
	size_t			 cprops;
	unsigned long		 nobj;
	int			 map;
	struct disc_schema	*addl;

	struct disc_schema	*items;
	unsigned long		 narr;
	size_t			 min_items;
	size_t			 max_items;

	int			 comp;		/* component index or -1 */
};

struct disc_prop {
	char			*name;
	struct disc_schema	*s;
	unsigned long		 count;		/* objects that had it */
	double			 possum;	/* sum of positions seen */
};

/* One media type of a request or of a response with one status. */
struct disc_media {
	char			*ctype;
	unsigned long		 n;
	unsigned long		 nbad;		/* unparsable for its type */
	int			 kind;		/* DISC_MK_* */
	struct disc_schema	*schema;	/* NULL when opaque */
	char			*ex;		/* example text */
	size_t			 exlen;
	uint64_t		 exkey;		/* smaller is preferred */
};

#define DISC_MK_JSON	1
#define DISC_MK_FORM	2
#define DISC_MK_MULTI	3
#define DISC_MK_TEXT	4
#define DISC_MK_BINARY	5

struct disc_status {
	int			 code;
	unsigned long		 n;
	struct disc_media	*media;
	size_t			 nmedia;
	unsigned long		 nempty;	/* without a body */
	struct disc_schema	*headers;	/* notable headers */
};

struct disc_scheme {
	int			 kind;		/* DISC_SK_* */
	int			 in;		/* DISC_IN_* for api keys */
	char			*name;		/* header, query, cookie */
	char			*id;		/* components key */
	int			 jwt;
	int			 name_unknown;
	unsigned long		 n;
};

#define DISC_SK_BEARER	1
#define DISC_SK_BASIC	2
#define DISC_SK_DIGEST	3
#define DISC_SK_APIKEY	4

#define DISC_IN_HEADER	1
#define DISC_IN_QUERY	2
#define DISC_IN_COOKIE	3

struct disc_node;

struct disc_op {
	char			 method[DISC_METHOD_MAX + 1];
	struct disc_node	*node;
	unsigned long		 n;
	unsigned long		 nanon;		/* calls without credentials */
	unsigned long		 nanon_ok;	/* ... that still succeeded */
	unsigned long		 sec[DISC_SCHEMES_MAX];

	struct disc_schema	*query;		/* parameters as an object */
	struct disc_schema	*headers;	/* notable request headers */
	struct disc_schema	*cookies;	/* cookies other than keys */
	struct disc_media	*req;
	size_t			 nreq;
	unsigned long		 nreq_empty;
	struct disc_status	*st;
	size_t			 nst;

	long			 dmin;
	long			 dmax;
	double			 dsum;
	unsigned long		 dn;

	/* Settled by disc_analyse() and disc_annotate(). */
	char			*id;
	char			*tmpl;
	char			*tag;
	char			*summary;
	char			*description;
	char			**tags;
	size_t			 ntags;
};

struct disc_node {
	char			*seg;		/* literal; NULL: parameter */
	unsigned		 pclass;	/* 1 << enum disc_seg seen */
	struct disc_schema	*pvals;		/* values at a parameter */
	struct disc_node	*parent;
	struct disc_node	**kids;		/* literal children, sorted */
	size_t			 nkids;
	size_t			 ckids;
	struct disc_node	*param;
	struct disc_op		**ops;
	size_t			 nops;
	unsigned long		 hits;
	char			*pname;
};

struct disc_comp {
	char			*name;
	char			*key;
	struct disc_schema	*s;
	unsigned long		 uses;
};

struct disc_engine {
	struct disc_node	*root;
	int			 analysed;
	size_t			 used;
	size_t			 rejected;
	size_t			 nops_total;
	size_t			 nnodes;

	struct disc_scheme	 schemes[DISC_SCHEMES_MAX];
	size_t			 nschemes;

	struct disc_op		**ops;		/* settled, sorted */
	size_t			 nops;

	struct disc_comp	*comps;
	size_t			 ncomps;

	char			*title;
	char			*description;
	char			*version;
	char			*server_url;
	char			*note;
	size_t			 dropped_methods;
};

/* disc_util.c */
void		*disc_calloc(size_t, size_t);
char		*disc_strdup(const char *);
char		*disc_strndup(const char *, size_t);
int		 disc_grow(void **, size_t *, size_t, size_t);
uint64_t	 disc_hash(const void *, size_t);
uint64_t	 disc_hash_mix(uint64_t, uint64_t);
void		 disc_buf_add(struct disc_buf *, const char *, size_t);
void		 disc_buf_str(struct disc_buf *, const char *);
void		 disc_buf_fmt(struct disc_buf *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
char		*disc_buf_finish(struct disc_buf *);
int		 disc_utf8_valid(const char *, size_t);
char		*disc_utf8_clean(const char *, size_t);
json_t		*disc_jstr(const char *);
json_t		*disc_jstrn(const char *, size_t);
size_t		 disc_pct_decode(char *, size_t, int);
enum disc_seg	 disc_classify_segment(const char *);
int		 disc_is_id_key(const char *);
unsigned	 disc_string_formats(const char *, size_t);
json_t		*disc_coerce_value(const char *);
void		 disc_singular(const char *, char *, size_t);
void		 disc_camel(const char *, char *, size_t, int);
int		 disc_is_secret_name(const char *);
int		 disc_is_secret_value(const char *);
int		 disc_is_file_like(const char *);
const char	*disc_reason(int);
int		 disc_media_kind(const char *);
void		 disc_media_norm(const char *, char *, size_t);
int		 disc_header_notable(const char *, int);

/* disc_schema.c */
struct disc_schema	*disc_schema_new(void);
void		 disc_schema_free(struct disc_schema *);
int		 disc_schema_add(struct disc_schema *, json_t *);
void		 disc_schema_add_empty(struct disc_schema *);
int		 disc_schema_merge(struct disc_schema *,
		    const struct disc_schema *);
struct disc_schema	*disc_schema_copy(const struct disc_schema *);
size_t		 disc_json_leaves(json_t *, size_t);
char		*disc_shape_key(const struct disc_schema *);
json_t		*disc_schema_json(const struct disc_engine *,
		    const struct disc_schema *, int);
json_t		*disc_redact(json_t *, int);
int		 disc_schema_enum(const struct disc_schema *);
const struct disc_prop	**disc_props_ordered(const struct disc_schema *);
int		 disc_prop_rank(const struct disc_prop *,
		    const struct disc_prop *);
const char	*disc_schema_type_name(const struct disc_schema *,
		    char *, size_t);

/* disc_path.c */
struct disc_node	*disc_node_new(const char *, struct disc_node *);
void		 disc_node_free(struct disc_node *);
struct disc_node	*disc_path_insert(struct disc_engine *, const char *);
int		 disc_path_settle(struct disc_engine *);
char		*disc_node_template(const struct disc_node *);
void		 disc_op_free(struct disc_op *);
int		 disc_op_merge(struct disc_op *, const struct disc_op *);
void		 disc_media_free(struct disc_media *, size_t);

/* disc_comp.c */
int		 disc_comp_lift(struct disc_engine *);
void		 disc_comp_free(struct disc_engine *);

/* disc_engine.c */
json_t		*disc_form_parse(const char *, size_t, int);
json_t		*disc_multipart_parse(const char *, const unsigned char *,
		    size_t);

/* disc_openapi.c */
json_t		*disc_op_parameters(const struct disc_engine *,
		    const struct disc_op *);
json_t		*disc_media_example(const struct disc_media *);

#endif /* DISC_INT_H */
