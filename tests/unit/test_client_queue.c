/* SPDX-License-Identifier: MIT
 *
 * test_client_queue: the bounded record queue alone (no worker): records
 * come out whole and in order across chunks, the byte bound refuses data
 * records (counted) but never control records, bytes come back when the
 * consumer releases chunks, oversized records get their own chunk, and
 * several producers never lose or tear a record.
 */
#include "internal.h"
#include "test.h"

#include <stdlib.h>

static struct rec hdr_for(uint8_t type, size_t kl, size_t vl, int64_t step)
{
    struct rec h;
    memset(&h, 0, sizeof h);
    h.type = type;
    h.klen = (uint16_t)kl;
    h.vlen = (uint32_t)vl;
    h.size = rec_size_for(kl, vl);
    h.step = step;
    return h;
}

/* Takes everything and walks it; returns records seen, checks order. */
static uint64_t drain(struct queue *q, int64_t *next_step, int *bad)
{
    uint64_t n = 0;
    pthread_mutex_lock(&q->mu);
    struct qchunk *c = queue_take_locked(q);
    pthread_mutex_unlock(&q->mu);
    while (c) {
        struct qchunk *next = c->next;
        char *p = qchunk_data(c), *end = p + c->used;
        while (p < end) {
            const struct rec *r = (const struct rec *)(void *)p;
            if (next_step && r->type == REC_METRIC) {
                if (r->step != *next_step ||
                    memcmp(rec_key(r), "metric", 6) != 0)
                    (*bad)++;
                (*next_step)++;
            }
            p += r->size;
            n++;
        }
        queue_release(q, c);
        c = next;
    }
    return n;
}

static void test_order_and_bound(void)
{
    struct queue q;
    _Atomic uint64_t dropped = 0;
    CHECK_EQ_INT(queue_init(&q, 64 * 1024), 0);
    struct rec h = hdr_for(REC_METRIC, 6, 0, 0);
    int full = 0, ok = 0;
    for (int i = 0; i < 5000; i++) {
        h.step = ok;
        gt_status rc = queue_push(&q, &h, "metric", NULL, false, &dropped);
        ok += rc == GT_OK;
        full += rc == GT_E_QUEUE_FULL;
    }
    CHECK(full > 0);
    CHECK_EQ_INT(ok + full, 5000);
    CHECK_EQ_INT(dropped, full);
    CHECK(q.bytes <= 64 * 1024);
    CHECK_EQ_INT(ok, 64 * 1024 / h.size);
    /* a control record gets in beyond the bound */
    struct rec end = hdr_for(REC_END, 0, 0, 0);
    CHECK_EQ_INT(queue_push(&q, &end, "", NULL, true, &dropped), GT_OK);
    int64_t next = 0;
    int bad = 0;
    CHECK_EQ_INT(drain(&q, &next, &bad), ok + 1);
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(next, ok);
    CHECK_EQ_INT(q.bytes, 0);
    /* released chunks are reused: no allocation in steady state */
    CHECK(q.nspare > 0);
    h.step = 0;
    CHECK_EQ_INT(queue_push(&q, &h, "metric", NULL, false, &dropped), GT_OK);
    CHECK_EQ_INT(q.enq_seq, ok + 2);
    queue_mark_done(&q, 3, 2);
    CHECK_EQ_INT(q.done_seq, 3);
    /* an oversized record (larger than a chunk) */
    size_t big = QUEUE_CHUNK_BYTES + 100;
    char *val = malloc(big);
    memset(val, 'v', big);
    struct rec bh = hdr_for(REC_TAG, 1, big, 0);
    CHECK_EQ_INT(queue_push(&q, &bh, "t", val, true, &dropped), GT_OK);
    pthread_mutex_lock(&q.mu);
    struct qchunk *c = queue_take_locked(&q);
    pthread_mutex_unlock(&q.mu);
    CHECK(c && c->next && c->next->cap >= big);
    if (c && c->next) {
        const struct rec *r = (const struct rec *)(void *)qchunk_data(c->next);
        CHECK_EQ_INT(r->vlen, big);
        CHECK(memcmp(rec_val(r), val, big) == 0);
    }
    while (c) {
        struct qchunk *n = c->next;
        queue_release(&q, c);
        c = n;
    }
    free(val);
    /* closed */
    q.closed = true;
    CHECK_EQ_INT(queue_push(&q, &h, "metric", NULL, false, &dropped),
                 GT_E_CLOSED);
    queue_cleanup(&q);
}

#define PRODUCERS 4
#define PER_PRODUCER 50000

struct producer {
    struct queue *q;
    int id;
    _Atomic uint64_t *dropped;
};

static void *produce(void *arg)
{
    struct producer *p = arg;
    char key[8];
    snprintf(key, sizeof key, "k%d", p->id);
    for (int i = 0; i < PER_PRODUCER;) {
        struct rec h = hdr_for(REC_METRIC, strlen(key), 0, i);
        h.value = p->id;
        if (queue_push(p->q, &h, key, NULL, false, p->dropped) == GT_OK)
            i++;
    }
    return NULL;
}

static void test_producers(void)
{
    struct queue q;
    _Atomic uint64_t dropped = 0;
    pthread_t th[PRODUCERS];
    struct producer pr[PRODUCERS];
    int64_t next[PRODUCERS] = {0};
    uint64_t seen = 0;
    int bad = 0;
    queue_init(&q, 256 * 1024);
    for (int i = 0; i < PRODUCERS; i++) {
        pr[i] = (struct producer){&q, i, &dropped};
        pthread_create(&th[i], NULL, produce, &pr[i]);
    }
    while (seen < (uint64_t)PRODUCERS * PER_PRODUCER) {
        pthread_mutex_lock(&q.mu);
        struct qchunk *c = queue_take_locked(&q);
        pthread_mutex_unlock(&q.mu);
        while (c) {
            struct qchunk *n = c->next;
            char *p = qchunk_data(c), *end = p + c->used;
            while (p < end) {
                const struct rec *r = (const struct rec *)(void *)p;
                int id = (int)r->value;
                if (id < 0 || id >= PRODUCERS || r->step != next[id] ||
                    rec_key(r)[1] != '0' + id)
                    bad++;
                else
                    next[id]++;
                p += r->size;
                seen++;
            }
            queue_release(&q, c);
            c = n;
        }
    }
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(seen, PRODUCERS * PER_PRODUCER);
    CHECK_EQ_INT(q.bytes, 0);
    queue_cleanup(&q);
}

int main(void)
{
    test_order_and_bound();
    test_producers();
    TEST_MAIN_END("test_client_queue");
}
