/* SPDX-License-Identifier: MIT
 *
 * itest_client_green: libgreentrack's Green-AI calls against a real
 * greentrack-server. Phases logged with gt_log_phase over two hours of
 * energy posted as samples (1 kWh each hour, in FRA) come back from
 * runs/carbon with the hand-computed figures (inference: 1 kWh, 56.039 g,
 * 56.039 g per 1000 predictions); gt_phase_begin/gt_phase_end reach the
 * server with their work count and unit, and a phase left open ends with
 * its run; logging the same phase and start again replaces it;
 * gt_experiment_budget reads no budget, then a spent one (0.1 kg against
 * 0.112078 kg used), by id and by name, and says GT_E_NOT_FOUND for an
 * unknown experiment; a run started in the over-budget experiment is
 * reported through the log callback.
 */
#include "itest.h"

#include <math.h>
#include <pthread.h>

#define LONG_WAIT_MS 60000
#define HOUR 3600000LL
#define T0 1000000LL /* the hand-computed run's first phase starts here */
#define FRA 56.039   /* g/kWh: data/country_carbon_intensity.csv */

static struct it_server srv;

/*---- the server's side ----*/

static void post(const char *path, const char *body)
{
    long st = 0;
    cJSON *j = it_http(&srv, path, body, &st);
    if (st != 200)
        fprintf(stderr, "POST %s -> %ld\n", path, st);
    CHECK_EQ_INT(st, 200);
    cJSON_Delete(j);
}

static void set_tag(const char *run_id, const char *key, const char *value)
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"run_id\":\"%s\",\"key\":\"%s\",\"value\":\"%s\"}", run_id, key,
             value);
    post("/api/2.0/mlflow/runs/set-tag", body);
}

/* One energy sample of 1 kWh of CPU from 'start' to 'end'. */
static void one_kwh(const char *run_id, long long start, long long end)
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"run_id\":\"%s\",\"samples\":[{\"start_time\":%lld,"
             "\"end_time\":%lld,\"cpu_energy_j\":3600000,"
             "\"cpu_method\":\"rapl\"}]}",
             run_id, start, end);
    post("/api/2.0/greentrack/runs/log-energy", body);
}

static cJSON *carbon(const char *run_id)
{
    char path[256];
    long st = 0;
    snprintf(path, sizeof path, "/api/2.0/greentrack/runs/carbon?run_id=%s",
             run_id);
    cJSON *j = it_http(&srv, path, NULL, &st);
    CHECK_EQ_INT(st, 200);
    return j;
}

/* runs/carbon's phase 'name' (in 'j'), or NULL; '*count' the entries
 * with that name. */
static const cJSON *phase_of(const cJSON *j, const char *name, int *count)
{
    const cJSON *p, *found = NULL;
    int n = 0;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(j, "phases"))
    {
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(p, "phase");
        if (cJSON_IsString(x) && strcmp(x->valuestring, name) == 0) {
            found = p;
            n++;
        }
    }
    if (count)
        *count = n;
    return found;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(x) ? x->valuestring : "";
}

static gt_client *client_new(void)
{
    gt_client *c = gt_client_new(srv.uri);
    CHECK(c != NULL);
    gt_client_set_energy(c, 0); /* energy is posted by the test */
    gt_client_set_flush_interval_ms(c, 20);
    return c;
}

/*---- phases ----*/

static void test_phases_hand_computed(void)
{
    gt_client *c = client_new();
    gt_run *run = NULL;
    char id[64];
    CHECK_EQ_INT(gt_run_start(c, "green-phases", "fra", &run), GT_OK);
    snprintf(id, sizeof id, "%s", gt_run_id(run));
    CHECK_EQ_INT(gt_set_tag(run, "greentrack.country", "FRA"), GT_OK);
    CHECK_EQ_INT(gt_log_phase(run, "train", T0, T0 + HOUR, GT_NO_WORK, NULL),
                 GT_OK);
    /* sent twice: the second replaces the first (same phase and start) */
    CHECK_EQ_INT(
        gt_log_phase(run, "inference", T0 + HOUR, T0 + 2 * HOUR, 10, "wrong"),
        GT_OK);
    CHECK_EQ_INT(gt_log_phase(run, "inference", T0 + HOUR, T0 + 2 * HOUR, 1000,
                              "predictions"),
                 GT_OK);
    CHECK_EQ_INT(gt_flush(c, LONG_WAIT_MS), GT_OK);
    one_kwh(id, T0, T0 + HOUR);
    one_kwh(id, T0 + HOUR, T0 + 2 * HOUR);

    cJSON *j = carbon(id);
    int n = 0;
    const cJSON *inf = phase_of(j, "inference", &n);
    const cJSON *train = phase_of(j, "train", NULL);
    CHECK_EQ_INT(n, 1);
    CHECK(inf != NULL && train != NULL);
    CHECK_NEAR(num(inf, "energy_kwh"), 1.0, 1e-9);
    CHECK_NEAR(num(inf, "co2_g"), FRA, 1e-6);
    CHECK_NEAR(num(inf, "work_count"), 1000, 1e-9);
    CHECK_EQ_STR(str(inf, "work_unit"), "predictions");
    CHECK_NEAR(num(inf, "co2_g_per_1k_work"), FRA, 1e-6);
    CHECK_NEAR(num(inf, "start_time"), T0 + HOUR, 0);
    CHECK_NEAR(num(inf, "end_time"), T0 + 2 * HOUR, 0);
    CHECK_NEAR(num(train, "energy_kwh"), 1.0, 1e-9);
    CHECK_NEAR(num(train, "co2_g"), FRA, 1e-6);
    CHECK(isnan(num(train, "co2_g_per_1k_work"))); /* no work: none */
    cJSON_Delete(j);
    CHECK_EQ_INT(gt_run_end(run, GT_RUN_FINISHED), GT_OK);
    gt_client_free(c);
}

static void test_phase_begin_end(void)
{
    gt_client *c = client_new();
    gt_run *run = NULL;
    char id[64];
    CHECK_EQ_INT(gt_run_start(c, "green-phases", "live", &run), GT_OK);
    snprintf(id, sizeof id, "%s", gt_run_id(run));
    int64_t before = (int64_t)time(NULL) * 1000 - 1000;
    CHECK_EQ_INT(gt_phase_begin(run, "eval"), GT_OK);
    it_sleep_ms(30);
    CHECK_EQ_INT(gt_phase_end(run, 250, "images"), GT_OK);
    CHECK_EQ_INT(gt_phase_begin(run, "inference"), GT_OK);
    /* left open: ended with the run */
    CHECK_EQ_INT(gt_run_end(run, GT_RUN_FINISHED), GT_OK);
    int64_t after = (int64_t)time(NULL) * 1000 + 1000;
    CHECK_EQ_INT(gt_flush(c, LONG_WAIT_MS), GT_OK);

    cJSON *j = carbon(id);
    const cJSON *ev = phase_of(j, "eval", NULL);
    const cJSON *inf = phase_of(j, "inference", NULL);
    CHECK(ev != NULL && inf != NULL);
    CHECK_NEAR(num(ev, "work_count"), 250, 0);
    CHECK_EQ_STR(str(ev, "work_unit"), "images");
    CHECK(num(ev, "start_time") >= (double)before);
    CHECK(num(ev, "end_time") - num(ev, "start_time") >= 25);
    CHECK(num(inf, "start_time") >= num(ev, "end_time"));
    CHECK(num(inf, "end_time") <= (double)after);
    CHECK(isnan(num(inf, "work_count")));
    cJSON_Delete(j);
    gt_stats s;
    gt_client_stats(c, &s);
    CHECK_EQ_INT(s.dropped, 0);
    gt_client_free(c);
}

/*---- budgets ----*/

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char log_text[4096];
static int log_warns;

static void on_log(void *ud, gt_log_level level, const char *msg)
{
    (void)ud;
    pthread_mutex_lock(&log_mu);
    if (level == GT_LOG_WARN && strstr(msg, "carbon budget")) {
        log_warns++;
        snprintf(log_text, sizeof log_text, "%s", msg);
    }
    pthread_mutex_unlock(&log_mu);
}

static void test_budget(void)
{
    gt_client *c = client_new();
    gt_budget b;
    gt_run *run = NULL;
    char exp_id[32], id[64], body[512];

    /* an experiment with one run of 2 kWh in FRA: 112.078 g */
    CHECK_EQ_INT(gt_run_start(c, "green-budget", "spent", &run), GT_OK);
    snprintf(id, sizeof id, "%s", gt_run_id(run));
    CHECK_EQ_INT(gt_flush(c, LONG_WAIT_MS), GT_OK);
    set_tag(id, "greentrack.country", "FRA");
    one_kwh(id, T0, T0 + HOUR);
    one_kwh(id, T0 + HOUR, T0 + 2 * HOUR);
    CHECK_EQ_INT(gt_run_end(run, GT_RUN_FINISHED), GT_OK);

    CHECK_EQ_INT(gt_experiment_budget(c, NULL, "green-budget", &b), GT_OK);
    CHECK_EQ_INT(b.has_budget, 0);
    CHECK_EQ_INT(b.over, 0);
    snprintf(exp_id, sizeof exp_id, "%s", b.experiment_id);
    CHECK(exp_id[0] != '\0' && strcmp(exp_id, "0") != 0);

    snprintf(body, sizeof body,
             "{\"experiment_id\":\"%s\",\"key\":\"greentrack.budget_co2_kg\","
             "\"value\":\"0.1\"}",
             exp_id);
    post("/api/2.0/mlflow/experiments/set-experiment-tag", body);
    CHECK_EQ_INT(gt_experiment_budget(c, exp_id, NULL, &b), GT_OK);
    CHECK_EQ_INT(b.has_budget, 1);
    CHECK_NEAR(b.budget_co2_kg, 0.1, 1e-12);
    CHECK_NEAR(b.used_co2_kg, 2 * FRA / 1000, 1e-9);
    CHECK_NEAR(b.used_fraction, 2 * FRA / 100, 1e-9);
    CHECK_EQ_INT(b.over, 1);
    CHECK_EQ_STR(b.experiment_id, exp_id);
    CHECK_EQ_INT(gt_experiment_budget(c, NULL, "green-budget", &b), GT_OK);
    CHECK_EQ_INT(b.over, 1);

    /* a budget not yet spent */
    snprintf(body, sizeof body,
             "{\"experiment_id\":\"%s\",\"key\":\"greentrack.budget_co2_kg\","
             "\"value\":\"1\"}",
             exp_id);
    post("/api/2.0/mlflow/experiments/set-experiment-tag", body);
    CHECK_EQ_INT(gt_experiment_budget(c, exp_id, NULL, &b), GT_OK);
    CHECK_EQ_INT(b.over, 0);
    CHECK_NEAR(b.used_fraction, 2 * FRA / 1000, 1e-9);

    CHECK_EQ_INT(gt_experiment_budget(c, NULL, "no such experiment", &b),
                 GT_E_NOT_FOUND);
    CHECK_EQ_INT(gt_experiment_budget(c, "987654", NULL, &b), GT_E_NOT_FOUND);
    gt_client_free(c);

    /* back to 0.1: a run started there is reported, once per experiment */
    snprintf(body, sizeof body,
             "{\"experiment_id\":\"%s\",\"key\":\"greentrack.budget_co2_kg\","
             "\"value\":\"0.1\"}",
             exp_id);
    post("/api/2.0/mlflow/experiments/set-experiment-tag", body);
    c = client_new();
    gt_client_set_log_callback(c, on_log, NULL);
    gt_run *r1 = NULL, *r2 = NULL;
    CHECK_EQ_INT(gt_run_start(c, "green-budget", "again", &r1), GT_OK);
    CHECK_EQ_INT(gt_run_start(c, "green-budget", "and again", &r2), GT_OK);
    CHECK_EQ_INT(gt_flush(c, LONG_WAIT_MS), GT_OK);
    pthread_mutex_lock(&log_mu);
    CHECK_EQ_INT(log_warns, 1);
    CHECK(strstr(log_text, "over its carbon budget") != NULL);
    CHECK(strstr(log_text, "0.1 kg") != NULL);
    CHECK(strstr(log_text, "greentrack.budget_co2_kg") != NULL);
    pthread_mutex_unlock(&log_mu);
    gt_run_end(r1, GT_RUN_FINISHED);
    gt_run_end(r2, GT_RUN_FINISHED);
    /* a run in another experiment (no budget) says nothing */
    CHECK_EQ_INT(gt_run_start(c, "green-no-budget", NULL, &r1), GT_OK);
    CHECK_EQ_INT(gt_run_end(r1, GT_RUN_FINISHED), GT_OK);
    pthread_mutex_lock(&log_mu);
    CHECK_EQ_INT(log_warns, 1);
    pthread_mutex_unlock(&log_mu);
    gt_client_free(c);
}

int main(void)
{
    char spool[1100];
    if (it_server_new(&srv, "green") != 0 || it_server_start(&srv) != 0) {
        fprintf(stderr, "cannot start the server\n");
        CHECK(0);
        TEST_MAIN_END("itest_client_green");
    }
    snprintf(spool, sizeof spool, "%s/spool", srv.dir);
    it_spool_env(spool);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    test_phases_hand_computed();
    test_phase_begin_end();
    test_budget();
    it_server_free(&srv);
    curl_global_cleanup();
    TEST_MAIN_END("itest_client_green");
}
