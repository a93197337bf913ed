/*
 * The language model's side of documentation, without any I/O: the
 * chat-completions request for a slice of the inferred operations, and
 * the checks and merging of the model's reply into the discovery engine.
 * Kept apart from the HTTP client (ai.c) so it can be tested on its own.
 */

#ifndef AIMSG_H
#define AIMSG_H

#include <stddef.h>

struct disc_engine;

/* What a valid reply said about the API as a whole. */
struct aimsg_info {
	char	*title;
	char	*description;
	size_t	 described;	/* operations annotated by this reply */
	size_t	 rejected;	/* entries that failed the checks */
};

char	*aimsg_request(struct disc_engine *, size_t, size_t, size_t,
	    const char *, const char *, const char *, size_t *);
int	 aimsg_apply(struct disc_engine *, const char *, size_t,
	    struct aimsg_info *, char *, size_t);
void	 aimsg_info_clear(struct aimsg_info *);
long	 aimsg_retry_after(const char *, long);
int	 aimsg_error_text(const char *, size_t, char *, size_t);

#endif
