/* SPDX-License-Identifier: MIT
 *
 * test_workq: the job queue: FIFO with one thread, every job once with
 * several, queued jobs run at free.
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
    struct workq *q = workq_new(1);
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
    q = workq_new(4);
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

int main(void)
{
    test_workq();
    TEST_MAIN_END("test_workq");
}
