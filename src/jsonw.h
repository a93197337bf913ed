/*
 * A small JSON writer. Kore 4.1's own writer does not escape strings, so
 * every JSON text the server writes itself (errors, logs, responses not
 * shaped by PostgreSQL) goes through this one.
 */

#ifndef JSONW_H
#define JSONW_H

#include <stddef.h>
#include <stdint.h>

#define JW_DEPTH_MAX	32

struct jw {
	char		*buf;
	size_t		 len;
	size_t		 cap;
	int		 depth;
	int		 err;
	unsigned char	 first[JW_DEPTH_MAX];
};

void		 jw_init(struct jw *, size_t);
void		 jw_free(struct jw *);
char		*jw_steal(struct jw *, size_t *);
void		 jw_reset(struct jw *);

void		 jw_obj_open(struct jw *, const char *);
void		 jw_obj_close(struct jw *);
void		 jw_arr_open(struct jw *, const char *);
void		 jw_arr_close(struct jw *);

void		 jw_str(struct jw *, const char *, const char *);
void		 jw_strn(struct jw *, const char *, const char *, size_t);
void		 jw_int(struct jw *, const char *, int64_t);
void		 jw_double(struct jw *, const char *, double);
void		 jw_bool(struct jw *, const char *, int);
void		 jw_null(struct jw *, const char *);
void		 jw_raw(struct jw *, const char *, const char *, size_t);

void		 jw_escape(struct jw *, const char *, size_t);
void		 jw_escape_part(struct jw *, const char *, size_t);
void		 jw_key_part(struct jw *, const char *);
void		 jw_append(struct jw *, const void *, size_t);

#endif
