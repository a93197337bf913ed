/*
 * The discovery engine: turns the captured calls of one endpoint into an
 * OpenAPI 3.1 document and Markdown.
 *
 * The engine is plain C99 with libjansson for JSON; it knows nothing of
 * Kore, the database or threads, so one engine must be used by one thread
 * at a time.  Calls are fed one at a time with disc_add_call(); everything
 * kept about them is bounded by the shape of the API (a few examples and
 * distinct values per field), never by the number of calls.  After the
 * last call, disc_analyse() settles path templates, names and shared
 * schemas; the output functions may then be called any number of times.
 *
 * Every function reports failure through its return value and never
 * aborts; one malformed call is counted and skipped, it never fails the
 * run.  The same calls give byte-identical output.
 */

#ifndef DISC_H
#define DISC_H

#include <stddef.h>

/* Upper bounds on what disc_annotate() and disc_set_info() accept. */
#define DISC_SUMMARY_MAX	200
#define DISC_DESCRIPTION_MAX	8000
#define DISC_TAG_MAX		64
#define DISC_TAGS_MAX		8
#define DISC_TITLE_MAX		200

/*
 * One captured call.  Every pointer is borrowed for the duration of
 * disc_add_call() and copied if kept.  Strings are NUL-terminated; any of
 * them may be NULL except method and path.  Header sets are JSON objects
 * with lower-case names and string values, as stored by the capture.
 */
struct disc_call {
	const char		*method;
	const char		*path;		/* without the query */
	const char		*query;		/* "a=1&b=2", no '?' */
	const char		*req_headers_json;
	const char		*resp_headers_json;
	const char		*req_content_type;
	const char		*resp_content_type;
	const unsigned char	*req_body;
	const unsigned char	*resp_body;
	size_t			 req_body_len;
	size_t			 resp_body_len;
	int			 status;
	long			 duration_ms;
};

struct disc_engine;

struct disc_engine	*disc_new(void);
void			 disc_free(struct disc_engine *);

/*
 * Returns 0 when the call was used, -1 when it was rejected (no method or
 * path, or an impossible status) or the engine is already analysed.
 * Bodies that are not valid JSON or exceed the parse limit are still
 * counted; they only lose their schema.
 */
int	 disc_add_call(struct disc_engine *, const struct disc_call *);

/* Number of calls accepted and rejected so far. */
size_t	 disc_calls_used(const struct disc_engine *);
size_t	 disc_calls_rejected(const struct disc_engine *);

/*
 * Settles templates, operation ids, parameter names and components.
 * Returns 0, or -1 on allocation failure.  Calling it twice is harmless.
 */
int	 disc_analyse(struct disc_engine *);

size_t	 disc_operation_count(const struct disc_engine *);

/*
 * A compact JSON summary of operations [off, off + max) for the language
 * model: id, method, path, parameters, request and response field names
 * and statuses.  malloc'd; NULL before disc_analyse() or on failure.
 */
char	*disc_summary_json(struct disc_engine *, size_t off, size_t max);

/*
 * Attach a summary, description and tags to the operation with the given
 * id.  Any of summary, description and tags may be NULL to leave it
 * unchanged.  Returns 0, 1 when no operation has that id (ignored), or -1
 * when a value is too long, not UTF-8, or the engine is not analysed.
 */
int	 disc_annotate(struct disc_engine *, const char *op_id,
	    const char *summary, const char *description,
	    const char **tags, size_t ntags);

/*
 * Document-level information; NULL leaves a field unchanged.  `note` is
 * shown at the top of the description (for example "descriptions were
 * not written by the language model").  Returns 0 or -1 on a bad value.
 */
int	 disc_set_info(struct disc_engine *, const char *title,
	    const char *description, const char *version,
	    const char *server_url, const char *note);

/* malloc'd NUL-terminated documents; NULL before disc_analyse(). */
char	*disc_openapi_json(struct disc_engine *);
char	*disc_markdown(struct disc_engine *);

#endif /* DISC_H */
