/* SPDX-License-Identifier: MIT
 *
 * itest_client_restart: the kill-and-restart test. Four threads log
 * distinct points into one run while the server is SIGKILLed and
 * restarted on the same port and database several times (short outages
 * the worker rides out with retries, and a longer one that sends records
 * to the spool and replays them). At the end every point is on the server
 * exactly once, and nothing was dropped.
 */
#include "itest.h"

#include <pthread.h>

#define THREADS 4
#define POINTS 20000

struct logger {
    gt_run *run;
    int index;
    int failures;
    volatile int *stop_early;
};

static void *log_points(void *arg)
{
    struct logger *l = arg;
    char key[16];
    snprintf(key, sizeof key, "t%d", l->index);
    for (int i = 0; i < POINTS; i++) {
        if (gt_log_metric(l->run, key, i * 0.5, i) != GT_OK)
            l->failures++;
        if (i % 500 == 499)
            it_sleep_ms(8); /* spread the load over the outages */
    }
    return NULL;
}

static void on_log(void *ud, gt_log_level level, const char *msg)
{
    (void)ud;
    if (level <= GT_LOG_INFO || getenv("ITEST_VERBOSE"))
        fprintf(stderr, "  [gt %d] %s\n", (int)level, msg);
}

int main(void)
{
    struct it_server s;
    char spool[1100];
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (it_server_new(&s, "itr") != 0 || it_server_start(&s) != 0) {
        printf("itest_client_restart: 0 passed, 1 failed (no server)\n");
        return 1;
    }
    snprintf(spool, sizeof spool, "%s/spool", s.dir);

    gt_client *c = gt_client_new(s.uri);
    gt_run *run = NULL;
    CHECK(c != NULL);
    gt_client_set_spool_dir(c, spool);
    gt_client_set_log_callback(c, on_log, NULL);
    gt_client_set_flush_interval_ms(c, 50);
    /* retries last at most half the flush timeout: 500 ms */
    gt_client_set_flush_timeout_ms(c, 1000);
    gt_client_set_request_timeout_ms(c, 2000);
    CHECK_EQ_INT(gt_run_start(c, "itest restart", "kill-restart", &run), GT_OK);

    struct logger lg[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        lg[i] = (struct logger){run, i, 0, NULL};
        pthread_create(&th[i], NULL, log_points, &lg[i]);
    }
    static const int down_ms[] = {100, 250, 1200, 150};
    int restarts = 0;
    for (size_t k = 0; k < sizeof down_ms / sizeof down_ms[0]; k++) {
        it_sleep_ms(150);
        it_server_kill(&s, SIGKILL);
        it_sleep_ms(down_ms[k]);
        restarts += it_server_start(&s) == 0;
    }
    CHECK_EQ_INT(restarts, 4);
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ_INT(lg[i].failures, 0);
    }
    CHECK_EQ_INT(gt_flush(c, 30000), GT_OK);
    char id[64];
    snprintf(id, sizeof id, "%s", gt_run_id(run));
    CHECK_EQ_INT(gt_run_end(run, GT_RUN_FINISHED), GT_OK);

    /* the spool is replayed once a probe finds the server back (probes
     * back off up to 2 s) */
    gt_stats st;
    int64_t until = it_mono_ms() + 15000;
    do {
        it_sleep_ms(50);
        gt_client_stats(c, &st);
    } while (st.replayed < st.spooled && it_mono_ms() < until);
    CHECK_EQ_INT(st.dropped, 0);
    CHECK_EQ_INT(st.queued, 0);
    CHECK(st.sent >= (uint64_t)THREADS * POINTS);
    /* the long outage went through the spool, and all of it came back */
    CHECK(st.spooled > 0);
    CHECK_EQ_INT(st.replayed, st.spooled);
    fprintf(stderr, "restart: sent %llu spooled %llu replayed %llu\n",
            (unsigned long long)st.sent, (unsigned long long)st.spooled,
            (unsigned long long)st.replayed);

    static int steps[POINTS];
    for (int t = 0; t < THREADS; t++) {
        char key[16];
        int once = 0;
        memset(steps, 0, sizeof steps);
        snprintf(key, sizeof key, "t%d", t);
        CHECK_EQ_INT(it_history(&s, id, key, steps, POINTS), POINTS);
        for (int i = 0; i < POINTS; i++) {
            once += steps[i] == 1;
            if (steps[i] != 1 && (i == 0 || steps[i - 1] == 1))
                fprintf(stderr, "%s: step %d seen %d times\n", key, i,
                        steps[i]);
        }
        CHECK_EQ_INT(once, POINTS);
    }
    char status[32];
    CHECK_EQ_STR(it_run_status(&s, id, status, sizeof status), "FINISHED");
    gt_client_free(c);
    it_server_free(&s);
    curl_global_cleanup();
    TEST_MAIN_END("itest_client_restart");
}
