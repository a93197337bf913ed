/*
 * Documentation: the generation job (the "docs" queue) and the routes
 * that start it and read its results. docs_init() registers the queue
 * with jobs.c in each worker, before jobs_init().
 */

#ifndef DOCS_H
#define DOCS_H

void	docs_init(void);

#endif
