/* SPDX-License-Identifier: MIT
 *
 * test_workq: the job queue: FIFO with one thread, every job once with
 * several, queued jobs run at free, and a bounded queue's places
 * (reserved, taken, refused when full, given back).
 */
#include "test.h"
#include "workq.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

static pthread_mutex_t order_mu = PTHREAD_MUTEX_INITIALIZER;
static int order_seen[200];
static int order_n;

static void record_job(void *arg)
{
    pthread_mutex_lock(&order_mu);
    order_seen[order_n++] = (int)(intptr_t)arg;
    pthread_mutex_unlock(&order_mu);
}

static void test_workq(void)
{
    /* one thread: FIFO; freeing runs what is still queued */
    struct workq *q = workq_new(1, 0);
    CHECK(q != NULL);
    for (int i = 0; i < 100; i++)
        CHECK(workq_submit(q, record_job, (void *)(intptr_t)i));
    workq_free(q);
    CHECK_EQ_INT(order_n, 100);
    bool fifo = true;
    for (int i = 0; i < order_n; i++)
        fifo = fifo && order_seen[i] == i;
    CHECK(fifo);
    /* several threads: every job runs once */
    order_n = 0;
    q = workq_new(4, 0);
    CHECK(q != NULL);
    for (int i = 0; i < 100; i++)
        CHECK(workq_submit(q, record_job, (void *)(intptr_t)i));
    workq_free(q);
    CHECK_EQ_INT(order_n, 100);
    int sum = 0;
    for (int i = 0; i < order_n; i++)
        sum += order_seen[i];
    CHECK_EQ_INT(sum, 99 * 100 / 2);
    workq_free(NULL);
}

/* A job that holds its thread until 'gate' opens. */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static bool gate_open, gate_entered;

static void gated_job(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&gate_mu);
    gate_entered = true;
    pthread_cond_broadcast(&gate_cv);
    while (!gate_open)
        pthread_cond_wait(&gate_cv, &gate_mu);
    pthread_mutex_unlock(&gate_mu);
}

/* A bounded queue: places are taken by waiting jobs and reservations,
 * freed when a thread takes a job or a reservation is given back. */
static void test_bounded(void)
{
    struct workq *q = workq_new(1, 2);
    CHECK(q != NULL);
    gate_open = gate_entered = false;
    CHECK(workq_submit(q, gated_job, NULL)); /* runs, holds the thread */
    pthread_mutex_lock(&gate_mu);
    while (!gate_entered)
        pthread_cond_wait(&gate_cv, &gate_mu);
    pthread_mutex_unlock(&gate_mu);
    order_n = 0;
    CHECK(workq_submit(q, record_job, (void *)(intptr_t)1)); /* waits */
    CHECK(workq_reserve(q));                                 /* 2 of 2 */
    CHECK(!workq_reserve(q));
    CHECK(!workq_submit(q, record_job, (void *)(intptr_t)9)); /* full */
    workq_unreserve(q);
    CHECK(workq_reserve(q));
    CHECK(workq_submit_reserved(q, record_job, (void *)(intptr_t)2));
    CHECK(!workq_reserve(q));
    pthread_mutex_lock(&gate_mu);
    gate_open = true;
    pthread_cond_broadcast(&gate_cv);
    pthread_mutex_unlock(&gate_mu);
    workq_free(q);
    CHECK_EQ_INT(order_n, 2);
    CHECK_EQ_INT(order_seen[0], 1);
    CHECK_EQ_INT(order_seen[1], 2);
}

int main(void)
{
    test_workq();
    test_bounded();
    TEST_MAIN_END("test_workq");
}
