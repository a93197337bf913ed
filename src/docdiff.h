/*
 * What changed between two versions of an endpoint's OpenAPI document:
 * operations added and removed, and, for operations in both, fields
 * (parameters, request body fields and response body fields per status)
 * added and removed. Pure C with libjansson, so it is tested on its own.
 */

#ifndef DOCDIFF_H
#define DOCDIFF_H

#include <stddef.h>

/*
 * The difference as a JSON text (malloc'd), or NULL when either document
 * is not a JSON object or memory ran out:
 *
 *	{"from": 1, "to": 2, "changed": true,
 *	 "operations": {"added": [{"method", "path"}], "removed": [...]},
 *	 "fields": {"added": [{"method", "path", "location", "name"}],
 *	            "removed": [...]}}
 *
 * A location is "path", "query", "header" or "cookie" for parameters,
 * "requestBody", or "response 200" (one per status). Nested field names
 * are dotted; array items add "[]" and map values "{*}".
 */
char	*docdiff_json(const char *, size_t, const char *, size_t, int, int);

#endif
