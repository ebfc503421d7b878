/* SPDX-License-Identifier: MIT
 *
 * itest_client: libgreentrack against a real greentrack-server. A logging
 * round trip read back through the REST API (params, tags, metric history,
 * end status and time), argument errors, a 4xx inside a batch (only the
 * bad record is dropped), the queue bound (GT_E_QUEUE_FULL and
 * stats.dropped while the server is stopped), experiments created once
 * under concurrent starts, and gt_request.
 */
#include "itest.h"

#include <math.h>
#include <pthread.h>

/* bounds a wait (a hang), never a speed: a busy machine is only slower */
#define LONG_WAIT_MS 60000

static char spool_dir[1100];

/* A client of the running test server. gt_run_end waits up to the flush
 * timeout and the worker spools what a request cannot send within the
 * request timeout: both are LONG_WAIT_MS here (defaults 5 s and 10 s), so
 * that on a busy machine gt_run_end still returns GT_OK and nothing goes
 * to the spool (spooled == 0 is checked). */
static gt_client *client_new(const struct it_server *s)
{
    gt_client *c = gt_client_new(s->uri);
    CHECK(c != NULL);
    CHECK_EQ_INT(gt_client_set_spool_dir(c, spool_dir), GT_OK);
    CHECK_EQ_INT(gt_client_set_flush_timeout_ms(c, LONG_WAIT_MS), GT_OK);
    CHECK_EQ_INT(gt_client_set_request_timeout_ms(c, LONG_WAIT_MS), GT_OK);
    return c;
}

struct logsink {
    pthread_mutex_t mu;
    int errors;
    char last[512];
};

static void on_log(void *ud, gt_log_level level, const char *msg)
{
    struct logsink *s = ud;
    pthread_mutex_lock(&s->mu);
    if (level == GT_LOG_ERROR) {
        s->errors++;
        snprintf(s->last, sizeof s->last, "%s", msg);
    }
    pthread_mutex_unlock(&s->mu);
}

static const char *param_value(const cJSON *run, const char *group,
                               const char *key)
{
    const cJSON *it;
    cJSON_ArrayForEach(
        it, cJSON_GetObjectItemCaseSensitive(it_path(run, "run/data"), group))
    {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(it, "key");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(it, "value");
        if (cJSON_IsString(k) && strcmp(k->valuestring, key) == 0)
            return cJSON_IsString(v) ? v->valuestring : NULL;
    }
    return NULL;
}

static void test_round_trip(struct it_server *s)
{
    gt_client *c = client_new(s);
    gt_run *run = NULL;
    char id[64], status[32];
    CHECK_EQ_INT(gt_run_start(c, "itest round trip", "first", &run), GT_OK);
    CHECK(run != NULL);
    snprintf(id, sizeof id, "%s", gt_run_id(run));
    CHECK_EQ_INT(strlen(id), 32);
    CHECK(strspn(id, "0123456789abcdef") == 32);
    CHECK_EQ_INT(gt_log_param(run, "lr", "0.01"), GT_OK);
    CHECK_EQ_INT(gt_log_param(run, "optimizer", "adam \"quoted\" \\ é"), GT_OK);
    CHECK_EQ_INT(gt_set_tag(run, "team", "green"), GT_OK);
    int bad = 0;
    for (int i = 0; i < 2500; i++) {
        bad += gt_log_metric(run, "loss", 1.0 / (i + 1), i) != GT_OK;
        bad += gt_log_metric(run, "acc", i * 0.001, i) != GT_OK;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(gt_log_metric_at(run, "nan", NAN, 0, 1000), GT_OK);
    CHECK_EQ_INT(gt_flush(c, LONG_WAIT_MS), GT_OK);
    CHECK(gt_run_server_id(run) != NULL &&
          strcmp(gt_run_server_id(run), id) == 0);

    /* it is RUNNING on the server before the end */
    CHECK_EQ_STR(it_run_status(s, id, status, sizeof status), "RUNNING");
    int64_t before = (int64_t)time(NULL) * 1000;
    CHECK_EQ_INT(gt_run_end(run, GT_RUN_FINISHED), GT_OK);

    cJSON *j = it_run_get(s, id);
    const cJSON *info = it_path(j, "run/info");
    CHECK_EQ_STR(cJSON_GetStringValue(it_path(info, "status")), "FINISHED");
    CHECK_EQ_STR(cJSON_GetStringValue(it_path(info, "run_name")), "first");
    const cJSON *end = it_path(info, "end_time");
    CHECK(cJSON_IsNumber(end) && end->valuedouble >= (double)before - 1000);
    CHECK_EQ_STR(param_value(j, "params", "lr"), "0.01");
    CHECK_EQ_STR(param_value(j, "params", "optimizer"), "adam \"quoted\" \\ é");
    CHECK_EQ_STR(param_value(j, "tags", "team"), "green");
    cJSON_Delete(j);

    /* the experiment was created by name */
    long st;
    j = it_http(s,
                "/api/2.0/mlflow/experiments/get-by-name?experiment_name="
                "itest%20round%20trip",
                NULL, &st);
    CHECK_EQ_INT(st, 200);
    cJSON_Delete(j);

    int steps[2500] = {0};
    CHECK_EQ_INT(it_history(s, id, "loss", steps, 2500), 2500);
    int once = 0;
    for (int i = 0; i < 2500; i++)
        once += steps[i] == 1;
    CHECK_EQ_INT(once, 2500);
    CHECK_EQ_INT(it_history(s, id, "acc", NULL, 0), 2500);
    CHECK_EQ_INT(it_history(s, id, "nan", NULL, 0), 1);

    gt_stats stats;
    gt_client_stats(c, &stats);
    CHECK_EQ_INT(stats.sent, 5004);
    CHECK_EQ_INT(stats.dropped, 0);
    CHECK_EQ_INT(stats.spooled, 0);
    CHECK_EQ_INT(stats.queued, 0);
    gt_client_free(c);
}

static void test_arguments(struct it_server *s)
{
    gt_client *c = client_new(s);
    gt_run *run = NULL;
    CHECK(gt_client_new("ftp://x") == NULL);
    CHECK_EQ_INT(gt_client_set_flush_interval_ms(c, 0), GT_E_INVALID);
    CHECK_EQ_INT(gt_client_set_queue_bytes(c, 1000), GT_E_INVALID);
    CHECK_EQ_INT(gt_client_set_request_timeout_ms(c, 10), GT_E_INVALID);
    CHECK_EQ_INT(gt_run_start(c, "", NULL, &run), GT_E_INVALID);
    CHECK_EQ_INT(gt_run_start(c, NULL, NULL, &run), GT_OK);
    CHECK_EQ_INT(gt_log_metric(run, "../up", 1, 0), GT_E_INVALID);
    CHECK(strstr(gt_client_errmsg(c), "invalid") != NULL);
    CHECK_EQ_INT(gt_log_metric(run, "a//b", 1, 0), GT_E_INVALID);
    CHECK_EQ_INT(gt_log_metric(run, "bad*key", 1, 0), GT_E_INVALID);
    CHECK_EQ_INT(gt_log_metric(run, NULL, 1, 0), GT_E_INVALID);
    CHECK_EQ_INT(gt_log_metric(run, "ok", 1, (int64_t)1 << 60), GT_E_INVALID);
    CHECK_EQ_INT(gt_log_param(run, "k", "\xff\xfe"), GT_E_INVALID);
    CHECK_EQ_INT(gt_log_param(NULL, "k", "v"), GT_E_INVALID);
    CHECK_EQ_INT(gt_run_end(NULL, GT_RUN_FINISHED), GT_E_INVALID);
    CHECK_EQ_INT(gt_run_attach(c, "not hex!", &run), GT_E_INVALID);
    CHECK_EQ_STR(gt_strerror(GT_E_QUEUE_FULL), "queue full: record dropped");
    CHECK(gt_version_number() == GT_VERSION_NUM);
    CHECK_EQ_STR(gt_version(), GT_VERSION);
    CHECK_EQ_INT(gt_run_end(run, GT_RUN_FINISHED), GT_OK);

    char *body = NULL;
    long status = 0;
    CHECK_EQ_INT(gt_request(c, "GET", "/health", NULL, &body, &status), GT_OK);
    CHECK_EQ_INT(status, 200);
    gt_free(body);
    CHECK_EQ_INT(
        gt_request(c, "POST", "/api/2.0/mlflow/runs/get", "{}", &body, &status),
        GT_OK);
    CHECK(status == 405 || status == 400);
    gt_free(body);
    gt_client_free(c);
    gt_client_free(NULL);
}

/* Metric-only batches go out several at a time; params and tags wait for
 * them and go alone, so a tag set again and again ends with its last
 * value, and every point of several runs ended mid-stream arrives. */
static void test_parallel_order(struct it_server *s)
{
    gt_client *c = client_new(s);
    gt_run *run[3] = {NULL, NULL, NULL};
    char ids[3][64], val[16], key[16];
    int bad = 0;
    for (int r = 0; r < 3; r++) {
        CHECK_EQ_INT(gt_run_start(c, "itest parallel", NULL, &run[r]), GT_OK);
        snprintf(ids[r], sizeof ids[r], "%s", gt_run_id(run[r]));
    }
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 2500; i++) {
            int64_t step = (int64_t)round * 2500 + i;
            for (int r = 0; r < 3; r++)
                bad += gt_log_metric(run[r], "m", (double)step, step) != GT_OK;
        }
        snprintf(val, sizeof val, "v%d", round);
        for (int r = 0; r < 3; r++) {
            bad += gt_set_tag(run[r], "t", val) != GT_OK;
            bad += gt_set_tag(run[r], "u", val) != GT_OK;
            snprintf(key, sizeof key, "p%d", round);
            bad += gt_log_param(run[r], key, val) != GT_OK;
        }
        if (round == 9)
            CHECK_EQ_INT(gt_flush(c, LONG_WAIT_MS), GT_OK);
    }
    CHECK_EQ_INT(bad, 0);
    for (int r = 0; r < 3; r++)
        CHECK_EQ_INT(gt_run_end(run[r], GT_RUN_FINISHED), GT_OK);
    gt_stats st;
    gt_client_stats(c, &st);
    CHECK_EQ_INT(st.sent, 3 * (20 * 2500 + 60));
    CHECK_EQ_INT(st.dropped, 0);
    CHECK_EQ_INT(st.spooled, 0);
    CHECK_EQ_INT(st.queued, 0);
    for (int r = 0; r < 3; r++) {
        char status[32];
        cJSON *j = it_run_get(s, ids[r]);
        CHECK_EQ_STR(param_value(j, "tags", "t"), "v19");
        CHECK_EQ_STR(param_value(j, "tags", "u"), "v19");
        CHECK_EQ_STR(param_value(j, "params", "p7"), "v7");
        cJSON_Delete(j);
        CHECK_EQ_STR(it_run_status(s, ids[r], status, sizeof status),
                     "FINISHED");
        CHECK_EQ_INT(it_history(s, ids[r], "m", NULL, 0), 20 * 2500);
    }
    gt_client_free(c);
}

/* A changed param value is a 400 for the whole (all-or-nothing) batch:
 * the library halves the batch, so only that record is dropped. */
static void test_rejected_record(struct it_server *s)
{
    struct logsink sink = {PTHREAD_MUTEX_INITIALIZER, 0, ""};
    gt_client *c = client_new(s);
    gt_run *run = NULL;
    gt_client_set_log_callback(c, on_log, &sink);
    CHECK_EQ_INT(gt_run_start(c, "itest round trip", "rejects", &run), GT_OK);
    CHECK_EQ_INT(gt_log_param(run, "p", "1"), GT_OK);
    CHECK_EQ_INT(gt_flush(c, LONG_WAIT_MS), GT_OK);
    for (int i = 0; i < 50; i++)
        gt_log_metric(run, "m", i, i);
    CHECK_EQ_INT(gt_log_param(run, "p", "2"), GT_OK);
    for (int i = 50; i < 100; i++)
        gt_log_metric(run, "m", i, i);
    CHECK_EQ_INT(gt_flush(c, LONG_WAIT_MS), GT_OK);
    gt_stats st;
    gt_client_stats(c, &st);
    CHECK_EQ_INT(st.dropped, 1);
    CHECK_EQ_INT(st.sent, 101);
    CHECK(strstr(gt_client_errmsg(c), "400") != NULL);
    pthread_mutex_lock(&sink.mu);
    CHECK(sink.errors >= 1);
    CHECK(strstr(sink.last, "param") != NULL ||
          strstr(sink.last, "Param") != NULL);
    pthread_mutex_unlock(&sink.mu);
    CHECK_EQ_INT(it_history(s, gt_run_id(run), "m", NULL, 0), 100);
    char id[64];
    snprintf(id, sizeof id, "%s", gt_run_id(run));
    CHECK_EQ_INT(gt_run_end(run, GT_RUN_FINISHED), GT_OK);
    gt_client_free(c);
}

/* The server is stopped (SIGSTOP): the worker hangs in a request, the
 * 64 KiB queue fills, logging calls return GT_E_QUEUE_FULL at once. The
 * request timeout (30 s) outlasts the stop however slow the machine, so
 * the worker never gives up and spools: once the server runs again the
 * hung request is answered and everything accepted reaches the server. A
 * logging call that waited for the worker would take the whole request
 * timeout: the bound on the 5000 calls is a third of it. */
static void test_queue_full(struct it_server *s)
{
    enum { REQUEST_TIMEOUT_MS = 30000 };
    gt_client *c = client_new(s);
    gt_run *run = NULL;
    CHECK_EQ_INT(gt_client_set_queue_bytes(c, 64 * 1024), GT_OK);
    CHECK_EQ_INT(gt_client_set_request_timeout_ms(c, REQUEST_TIMEOUT_MS),
                 GT_OK);
    kill(s->pid, SIGSTOP);
    CHECK_EQ_INT(gt_run_start(c, "itest round trip", "queue full", &run),
                 GT_OK);
    int full = 0, ok = 0, other = 0;
    int64_t t0 = it_mono_ms();
    for (int i = 0; i < 5000; i++) {
        gt_status rc = gt_log_metric(run, "q", i, i);
        full += rc == GT_E_QUEUE_FULL;
        ok += rc == GT_OK;
        other += rc != GT_OK && rc != GT_E_QUEUE_FULL;
    }
    int64_t took = it_mono_ms() - t0;
    gt_stats st;
    gt_client_stats(c, &st);
    CHECK(full > 0);
    CHECK_EQ_INT(other, 0);
    CHECK_EQ_INT(st.dropped, full);
    /* never blocked on the stopped server */
    CHECK(took < REQUEST_TIMEOUT_MS / 3);
    kill(s->pid, SIGCONT);
    CHECK_EQ_INT(gt_flush(c, LONG_WAIT_MS), GT_OK);
    gt_client_stats(c, &st);
    CHECK_EQ_INT(st.spooled, 0);
    CHECK_EQ_INT(it_history(s, gt_run_id(run), "q", NULL, 0), ok);
    CHECK_EQ_INT(gt_run_end(run, GT_RUN_FINISHED), GT_OK);
    gt_client_free(c);
}

struct starter {
    gt_client *c;
    gt_status rc;
};

static void *start_one(void *arg)
{
    struct starter *s = arg;
    gt_run *r = NULL;
    s->rc = gt_run_start(s->c, "itest concurrent exp", NULL, &r);
    if (s->rc == GT_OK)
        s->rc = gt_run_end(r, GT_RUN_FINISHED);
    return NULL;
}

/* Several clients create the same new experiment at once: the
 * RESOURCE_ALREADY_EXISTS race is resolved by a second lookup. */
static void test_experiment_race(struct it_server *s)
{
    enum { N = 4 };
    struct starter st[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        st[i].c = client_new(s);
        pthread_create(&th[i], NULL, start_one, &st[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ_INT(st[i].rc, GT_OK);
        gt_stats stats;
        gt_client_stats(st[i].c, &stats);
        CHECK_EQ_INT(stats.dropped, 0);
        CHECK_EQ_INT(stats.spooled, 0);
        gt_client_free(st[i].c);
    }
}

int main(void)
{
    struct it_server s;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (it_server_new(&s, "itc") != 0 || it_server_start(&s) != 0) {
        it_start_failed("itest_client", "server did not start");
        return 1;
    }
    snprintf(spool_dir, sizeof spool_dir, "%s/spool", s.dir);
    test_round_trip(&s);
    test_arguments(&s);
    test_rejected_record(&s);
    test_parallel_order(&s);
    test_queue_full(&s);
    test_experiment_race(&s);
    it_server_free(&s);
    curl_global_cleanup();
    TEST_MAIN_END("itest_client");
}
