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

/* Starts 'threads' (>= 1) threads. At most 'max_waiting' jobs wait for a
 * thread at once (0: no limit; see workq_reserve). NULL when out of
 * memory or no thread could start. */
struct workq *workq_new(unsigned threads, unsigned max_waiting);

/* Takes a place in the queue for the job the caller submits next with
 * workq_submit_reserved: false when the queue is full (max_waiting jobs
 * wait or hold places). Lets a caller refuse work before it commits to
 * it (http.c answers 503 instead of suspending the request). */
bool workq_reserve(struct workq *q);

/* Gives back a place workq_reserve took, unused. */
void workq_unreserve(struct workq *q);

/* Queues fn(arg) on a place workq_reserve took. False (nothing queued,
 * the place given back) when out of memory or the pool is stopping. */
bool workq_submit_reserved(struct workq *q, void (*fn)(void *arg), void *arg);

/* Queues fn(arg) when there is room. False (nothing queued) when the
 * queue is full, out of memory or the pool is stopping. */
bool workq_submit(struct workq *q, void (*fn)(void *arg), void *arg);

/* Runs what is queued, joins the threads, frees the pool. NULL: no-op. */
void workq_free(struct workq *q);

#endif
