/* SPDX-License-Identifier: MIT
 *
 * itest_client_restart: the kill-and-restart test. Four threads log
 * distinct points into one run while the server is SIGKILLed and
 * restarted on the same port and database several times (short outages
 * the worker usually rides out with retries), and one outage that goes
 * through the spool: while the server is down the main thread logs a block
 * of points and gt_flush waits until the worker has spooled them (it
 * cannot send them), so the spool is used however the threads are
 * scheduled. At the end every point is on the server exactly once, every
 * spooled record was replayed, and nothing was dropped. No assertion
 * depends on how long an outage lasted or on the interleaving: on a busy
 * machine a short outage may also go through the spool, which is fine.
 */
#include "itest.h"

#include <pthread.h>

#define THREADS 4
#define POINTS 20000
/* points logged while the server is down, before the spooled restart */
#define OUTAGE_POINTS 2000
/* bounds a hang, never a speed: a slow machine only makes it slower */
#define LONG_WAIT_MS 60000

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
        it_start_failed("itest_client_restart", "no server");
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
    /* down_ms only paces the test; -1: the outage that must be spooled */
    static const int down_ms[] = {100, 250, -1, 150};
    int restarts = 0, outage_failures = 0;
    gt_stats st;
    for (size_t k = 0; k < sizeof down_ms / sizeof down_ms[0]; k++) {
        it_sleep_ms(150);
        it_server_kill(&s, SIGKILL);
        if (down_ms[k] >= 0) {
            it_sleep_ms(down_ms[k]);
        } else {
            /* the server is dead: these records cannot be acknowledged,
             * so once gt_flush is done they are in the spool (or dropped,
             * which is checked below) */
            for (int i = 0; i < OUTAGE_POINTS; i++)
                if (gt_log_metric(run, "outage", i * 0.25, i) != GT_OK)
                    outage_failures++;
            CHECK_EQ_INT(gt_flush(c, LONG_WAIT_MS), GT_OK);
            gt_client_stats(c, &st);
            CHECK(st.spooled >= OUTAGE_POINTS);
        }
        restarts += it_server_start(&s) == 0;
    }
    CHECK_EQ_INT(restarts, 4);
    CHECK_EQ_INT(outage_failures, 0);
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ_INT(lg[i].failures, 0);
    }
    CHECK_EQ_INT(gt_flush(c, LONG_WAIT_MS), GT_OK);
    char id[64];
    snprintf(id, sizeof id, "%s", gt_run_id(run));
    /* GT_E_TIMEOUT only says the end was not acknowledged within the
     * flush timeout (1 s) and is still queued: on a busy machine that
     * happens, nothing is lost, and the wait below covers it */
    gt_status end_rc = gt_run_end(run, GT_RUN_FINISHED);
    CHECK(end_rc == GT_OK || end_rc == GT_E_TIMEOUT);
    CHECK_EQ_INT(gt_flush(c, LONG_WAIT_MS), GT_OK);

    /* the spool is replayed once a probe finds the server back (probes
     * back off up to 2 s); the run's end may be among the spooled records
     * (it is not counted in 'spooled'), so wait for the end as well */
    char status[32];
    int64_t until = it_mono_ms() + LONG_WAIT_MS;
    for (;;) {
        gt_client_stats(c, &st);
        it_run_status(&s, id, status, sizeof status);
        if (st.replayed >= st.spooled && strcmp(status, "FINISHED") == 0)
            break;
        if (it_mono_ms() >= until)
            break;
        it_sleep_ms(50);
    }
    CHECK_EQ_INT(st.dropped, 0);
    CHECK_EQ_INT(st.queued, 0);
    CHECK(st.sent >= (uint64_t)THREADS * POINTS + OUTAGE_POINTS);
    /* the outage went through the spool, and all of it came back */
    CHECK(st.spooled >= OUTAGE_POINTS);
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
    {
        static int osteps[OUTAGE_POINTS];
        int once = 0;
        CHECK_EQ_INT(it_history(&s, id, "outage", osteps, OUTAGE_POINTS),
                     OUTAGE_POINTS);
        for (int i = 0; i < OUTAGE_POINTS; i++)
            once += osteps[i] == 1;
        CHECK_EQ_INT(once, OUTAGE_POINTS);
    }
    CHECK_EQ_STR(it_run_status(&s, id, status, sizeof status), "FINISHED");
    gt_client_free(c);
    it_server_free(&s);
    curl_global_cleanup();
    TEST_MAIN_END("itest_client_restart");
}
