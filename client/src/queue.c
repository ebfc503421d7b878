/* SPDX-License-Identifier: MIT
 *
 * queue: the bounded multi-producer, single-consumer record queue between
 * the logging calls and the worker. Records are copied into 64 KiB chunks
 * under one mutex (a memcpy of a few dozen bytes); a chunk comes from a
 * small free list, so a logging call allocates only when a chunk fills and
 * the free list is empty. The bound counts record bytes, including those
 * the worker holds, and refuses data records beyond it (control records
 * always get in). The worker takes the whole chunk list at once.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SPARE 16

int queue_init(struct queue *q, size_t bound)
{
    memset(q, 0, sizeof *q);
    q->bound = bound;
    if (pthread_mutex_init(&q->mu, NULL) != 0)
        return -1;
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0) {
        pthread_mutex_destroy(&q->mu);
        return -1;
    }
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int e1 = pthread_cond_init(&q->wake, &ca);
    int e2 = pthread_cond_init(&q->done, &ca);
    pthread_condattr_destroy(&ca);
    if (e1 || e2) {
        if (!e1)
            pthread_cond_destroy(&q->wake);
        if (!e2)
            pthread_cond_destroy(&q->done);
        pthread_mutex_destroy(&q->mu);
        return -1;
    }
    return 0;
}

static void chunks_free(struct qchunk *c)
{
    while (c) {
        struct qchunk *next = c->next;
        free(c);
        c = next;
    }
}

void queue_cleanup(struct queue *q)
{
    chunks_free(q->head);
    chunks_free(q->spare);
    pthread_cond_destroy(&q->wake);
    pthread_cond_destroy(&q->done);
    pthread_mutex_destroy(&q->mu);
}

static struct qchunk *chunk_get(struct queue *q, size_t need)
{
    struct qchunk *c;
    if (need <= QUEUE_CHUNK_BYTES && q->spare) {
        c = q->spare;
        q->spare = c->next;
        q->nspare--;
    } else {
        size_t cap = need > QUEUE_CHUNK_BYTES ? need : QUEUE_CHUNK_BYTES;
        c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->cap = cap;
    }
    c->next = NULL;
    c->used = 0;
    c->nrecs = 0;
    return c;
}

gt_status queue_push(struct queue *q, const struct rec *hdr, const char *key,
                     const char *val, bool control, _Atomic uint64_t *dropped)
{
    size_t size = hdr->size;
    gt_status rc = GT_OK;

    pthread_mutex_lock(&q->mu);
    if (q->closed) {
        rc = GT_E_CLOSED;
        goto out;
    }
    if (!control && q->bytes + size > q->bound) {
        atomic_fetch_add_explicit(dropped, 1, memory_order_relaxed);
        rc = GT_E_QUEUE_FULL;
        goto out;
    }
    struct qchunk *t = q->tail;
    if (!t || t->used + size > t->cap) {
        struct qchunk *c = chunk_get(q, size);
        if (!c) {
            rc = GT_E_NOMEM;
            goto out;
        }
        if (t)
            t->next = c;
        else
            q->head = c;
        q->tail = t = c;
        /* a chunk filled: worth waking the worker for a full batch */
        pthread_cond_signal(&q->wake);
    }
    char *dst = qchunk_data(t) + t->used;
    memcpy(dst, hdr, sizeof *hdr);
    memcpy(dst + sizeof *hdr, key, hdr->klen);
    if (hdr->vlen)
        memcpy(dst + sizeof *hdr + hdr->klen, val, hdr->vlen);
    t->used += size;
    t->nrecs++;
    q->bytes += size;
    q->enq_seq++;
    if (!control)
        q->enq_data++;
    if (control)
        pthread_cond_signal(&q->wake);
out:
    pthread_mutex_unlock(&q->mu);
    return rc;
}

struct qchunk *queue_take_locked(struct queue *q)
{
    struct qchunk *c = q->head;
    q->head = q->tail = NULL;
    return c;
}

void queue_release(struct queue *q, struct qchunk *c)
{
    pthread_mutex_lock(&q->mu);
    q->bytes -= c->used;
    if (c->cap == QUEUE_CHUNK_BYTES && q->nspare < MAX_SPARE) {
        c->next = q->spare;
        q->spare = c;
        q->nspare++;
        c = NULL;
    }
    pthread_mutex_unlock(&q->mu);
    free(c);
}

void queue_mark_done(struct queue *q, uint64_t nrecs, uint64_t ndata)
{
    pthread_mutex_lock(&q->mu);
    q->done_seq += nrecs;
    q->done_data += ndata;
    pthread_cond_broadcast(&q->done);
    pthread_mutex_unlock(&q->mu);
}
