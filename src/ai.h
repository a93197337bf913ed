/*
 * The Groq client: summaries, descriptions and tags for the operations
 * the discovery engine inferred, written by a language model through
 * Groq's OpenAI-compatible chat-completions API.
 *
 * ai_describe() runs in a job's thread and blocks: plain libcurl, with
 * retries, backoff, Retry-After and a per-endpoint request budget. The
 * caller's hooks keep its job alive while it waits.
 */

#ifndef AI_H
#define AI_H

#include <stddef.h>

struct disc_engine;

#define AI_USED		0	/* every operation went to the model */
#define AI_UNAVAILABLE	1	/* the model kept failing; inference only */
#define AI_DISABLED	2	/* no GROQ_API_KEY */

struct ai_hooks {
	/* Called at least once a second while waiting; -1 stops. */
	int		(*beat)(void *);
	/* Milliseconds before a request may go (0 now), or -1 on error. */
	long		(*admit)(void *);
	/* Operations sent so far of all; may be NULL. */
	void		(*progress)(void *, size_t, size_t);
	void		*arg;
};

struct ai_result {
	int		 status;		/* AI_* */
	int		 requests;		/* HTTP requests sent */
	int		 described;		/* operations annotated */
	int		 stopped;		/* a hook asked to stop */
	char		 error[256];		/* why AI_UNAVAILABLE */
};

void		 ai_init(void);
int		 ai_describe(struct disc_engine *, const char *, const char *,
		    const struct ai_hooks *, struct ai_result *);
const char	*ai_status_name(int);

#endif
