/* SPDX-License-Identifier: MIT
 *
 * workq: a small fixed pool of threads running queued jobs in FIFO order,
 * for work a request must not do on an HTTP thread (a provider fetch that
 * may take seconds would otherwise hold one of the few threads that serve
 * the tracking API).
 *
 * Ownership: workq_new's pool is freed by workq_free, which first runs
 * every job already queued. A job's 'arg' belongs to the submitter.
 */
#ifndef SERVER_WORKQ_H
#define SERVER_WORKQ_H

#include <stdbool.h>

struct workq;

/* Starts 'threads' (>= 1) threads. NULL when out of memory or no thread
 * could start. */
struct workq *workq_new(unsigned threads);

/* Queues fn(arg). False (nothing queued) when out of memory or the pool is
 * stopping. */
bool workq_submit(struct workq *q, void (*fn)(void *arg), void *arg);

/* Runs what is queued, joins the threads, frees the pool. NULL: no-op. */
void workq_free(struct workq *q);

#endif
