/* SPDX-License-Identifier: MIT
 *
 * workq: see workq.h. One mutex and condition variable guard a singly
 * linked FIFO; threads sleep on the condition until a job or the stop.
 */
#include "workq.h"

#include <pthread.h>
#include <stdlib.h>

#define WORKQ_MAX_THREADS 16

struct job {
    void (*fn)(void *arg);
    void *arg;
    struct job *next;
};

struct workq {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct job *head, *tail;
    unsigned waiting;     /* jobs queued, not yet taken by a thread */
    unsigned reserved;    /* places taken by workq_reserve */
    unsigned max_waiting; /* 0: no limit */
    bool stopping;
    pthread_t threads[WORKQ_MAX_THREADS];
    unsigned n_threads;
};

static void *worker(void *arg)
{
    struct workq *q = arg;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (!q->head && !q->stopping)
            pthread_cond_wait(&q->cv, &q->mu);
        struct job *j = q->head;
        if (!j)
            break; /* stopping, and nothing left to run */
        q->head = j->next;
        if (!q->head)
            q->tail = NULL;
        q->waiting--;
        pthread_mutex_unlock(&q->mu);
        j->fn(j->arg);
        free(j);
        pthread_mutex_lock(&q->mu);
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

struct workq *workq_new(unsigned threads, unsigned max_waiting)
{
    struct workq *q = calloc(1, sizeof(*q));
    if (!q)
        return NULL;
    q->max_waiting = max_waiting;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    if (threads > WORKQ_MAX_THREADS)
        threads = WORKQ_MAX_THREADS;
    for (unsigned i = 0; i < threads; i++) {
        if (pthread_create(&q->threads[q->n_threads], NULL, worker, q) != 0)
            break;
        q->n_threads++;
    }
    if (q->n_threads == 0) {
        workq_free(q);
        return NULL;
    }
    return q;
}

/* Whether a place is free (q->mu held). */
static bool has_room(const struct workq *q)
{
    return !q->max_waiting || q->waiting + q->reserved < q->max_waiting;
}

bool workq_reserve(struct workq *q)
{
    pthread_mutex_lock(&q->mu);
    bool ok = !q->stopping && has_room(q);
    if (ok)
        q->reserved++;
    pthread_mutex_unlock(&q->mu);
    return ok;
}

void workq_unreserve(struct workq *q)
{
    pthread_mutex_lock(&q->mu);
    q->reserved--;
    pthread_mutex_unlock(&q->mu);
}

/* Queues a job; 'reserved' when it takes a place workq_reserve took. */
static bool submit(struct workq *q, void (*fn)(void *arg), void *arg,
                   bool reserved)
{
    struct job *j = malloc(sizeof(*j));
    pthread_mutex_lock(&q->mu);
    if (reserved)
        q->reserved--;
    if (!j || q->stopping || (!reserved && !has_room(q))) {
        pthread_mutex_unlock(&q->mu);
        free(j);
        return false;
    }
    *j = (struct job){fn, arg, NULL};
    q->waiting++;
    if (q->tail)
        q->tail->next = j;
    else
        q->head = j;
    q->tail = j;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return true;
}

bool workq_submit_reserved(struct workq *q, void (*fn)(void *arg), void *arg)
{
    return submit(q, fn, arg, true);
}

bool workq_submit(struct workq *q, void (*fn)(void *arg), void *arg)
{
    return submit(q, fn, arg, false);
}

void workq_free(struct workq *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&q->mu);
    q->stopping = true;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    for (unsigned i = 0; i < q->n_threads; i++)
        pthread_join(q->threads[i], NULL);
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    free(q);
}
