/* SPDX-License-Identifier: MIT
 *
 * test_client_names: MLflow's naming rules of mlflow_names.c, the one
 * definition the server and libgreentrack share: key characters, path
 * safety and length, UTF-8 counting (overlong forms, surrogates, bad
 * continuations), values and experiment names, run ids, the reserved
 * "greentrack." metric prefix. Then the public calls that apply them:
 * logging calls refuse a bad or reserved key at the call with
 * GT_E_INVALID (and say why in gt_client_errmsg), gt_run_start and
 * gt_run_attach their names and ids.
 */
#include "internal.h"
#include "test.h"

#include <stdlib.h>

static void test_keys(void)
{
    size_t n = 0, c = 0;
    CHECK_EQ_INT(mlflow_key_check("loss", &n, &c), MLFLOW_NAME_OK);
    CHECK_EQ_INT(n, 4);
    CHECK_EQ_INT(c, 4);
    CHECK_EQ_INT(mlflow_key_check("train/loss.v2 a-b:c_d", NULL, NULL),
                 MLFLOW_NAME_OK);
    CHECK_EQ_INT(mlflow_key_check("pr\xc3\xa9"
                                  "cision",
                                  &n, &c),
                 MLFLOW_NAME_OK);
    CHECK_EQ_INT(n, 10);
    CHECK_EQ_INT(c, 9);
    CHECK_EQ_INT(mlflow_key_check("a..b", NULL, NULL), MLFLOW_NAME_OK);
    CHECK_EQ_INT(mlflow_key_check("a/.b", NULL, NULL), MLFLOW_NAME_OK);

    static const char *const bad_path[] = {"",     "/abs", "a//b",  "a/./b",
                                           "a/..", "..a",  "dir/",  ".",
                                           "./a",  "a/.",  "a/../b"};
    for (size_t i = 0; i < sizeof bad_path / sizeof *bad_path; i++)
        CHECK_EQ_INT(mlflow_key_check(bad_path[i], NULL, NULL),
                     MLFLOW_NAME_BAD_PATH);
    static const char *const bad_char[] = {"bad*key",
                                           "tab\tkey",
                                           "a\"b",
                                           "new\nline",
                                           "semi;colon",
                                           "\xc3",         /* truncated */
                                           "\xc0\xaf",     /* overlong '/' */
                                           "\xed\xa0\x80", /* surrogate */
                                           "\xf4\x90\x80\x80", /* > U+10FFFF */
                                           "\xff"};
    for (size_t i = 0; i < sizeof bad_char / sizeof *bad_char; i++)
        CHECK_EQ_INT(mlflow_key_check(bad_char[i], NULL, NULL),
                     MLFLOW_NAME_BAD_CHAR);

    /* 250 characters, counted as characters, not bytes */
    char key[1200];
    memset(key, 'k', 250);
    key[250] = '\0';
    CHECK_EQ_INT(mlflow_key_check(key, &n, &c), MLFLOW_NAME_OK);
    key[250] = 'k';
    key[251] = '\0';
    CHECK_EQ_INT(mlflow_key_check(key, &n, &c), MLFLOW_NAME_TOO_LONG);
    CHECK_EQ_INT(c, 251);
    for (int i = 0; i < 250; i++)
        memcpy(key + 2 * i, "\xc3\xa9", 2);
    key[500] = '\0';
    CHECK_EQ_INT(mlflow_key_check(key, &n, &c), MLFLOW_NAME_OK);
    CHECK_EQ_INT(n, 500);
    CHECK_EQ_INT(c, 250);
    memcpy(key + 500, "\xc3\xa9", 3);
    CHECK_EQ_INT(mlflow_key_check(key, NULL, &c), MLFLOW_NAME_TOO_LONG);
    CHECK_EQ_INT(c, 251);

    /* the reserved prefix is for metric keys only, and only as a prefix */
    CHECK_EQ_INT(mlflow_metric_key_check("greentrack.co2_kg", &n, NULL),
                 MLFLOW_NAME_RESERVED);
    CHECK_EQ_INT(mlflow_metric_key_check("greentrack.", NULL, NULL),
                 MLFLOW_NAME_RESERVED);
    CHECK_EQ_INT(mlflow_metric_key_check("greentrack", NULL, NULL),
                 MLFLOW_NAME_OK);
    CHECK_EQ_INT(mlflow_metric_key_check("x.greentrack.y", NULL, NULL),
                 MLFLOW_NAME_OK);
    CHECK_EQ_INT(mlflow_metric_key_check("Greentrack.x", NULL, NULL),
                 MLFLOW_NAME_OK);
    CHECK_EQ_INT(mlflow_metric_key_check("greentrack.a//b", NULL, NULL),
                 MLFLOW_NAME_BAD_PATH); /* the key rule first */
    CHECK_EQ_INT(mlflow_key_check("greentrack.zone", NULL, NULL),
                 MLFLOW_NAME_OK);
}

static void test_text(void)
{
    size_t n = 0, c = 0;
    CHECK_EQ_INT(mlflow_utf8_chars("", &n), 0);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(
        mlflow_utf8_chars("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x8c\xb1", &n), 9);
    CHECK_EQ_INT(n, 15);
    CHECK(mlflow_utf8_chars("\xe2\x82", NULL) == (size_t)-1);
    CHECK(mlflow_utf8_chars("\xe0\x80\x80", NULL) == (size_t)-1);
    CHECK(mlflow_utf8_chars("a\x80", NULL) == (size_t)-1);

    CHECK_EQ_INT(mlflow_text_check("h\xc3\xa9llo", 5, &n, &c), MLFLOW_NAME_OK);
    CHECK_EQ_INT(n, 6);
    CHECK_EQ_INT(c, 5);
    CHECK_EQ_INT(mlflow_text_check("h\xc3\xa9llo", 4, NULL, NULL),
                 MLFLOW_NAME_TOO_LONG);
    CHECK_EQ_INT(mlflow_text_check("any * \"thing\"\n", 100, NULL, NULL),
                 MLFLOW_NAME_OK);
    CHECK_EQ_INT(mlflow_text_check("", 0, NULL, NULL), MLFLOW_NAME_OK);
    CHECK_EQ_INT(mlflow_text_check("\xc3", 10, NULL, NULL),
                 MLFLOW_NAME_BAD_CHAR);

    CHECK_EQ_INT(mlflow_experiment_name_check(NULL, NULL, NULL),
                 MLFLOW_NAME_EMPTY);
    CHECK_EQ_INT(mlflow_experiment_name_check("", NULL, NULL),
                 MLFLOW_NAME_EMPTY);
    CHECK_EQ_INT(mlflow_experiment_name_check("a * b", &n, NULL),
                 MLFLOW_NAME_OK);
    char name[MLFLOW_MAX_EXPERIMENT_NAME_CHARS + 2];
    memset(name, 'e', sizeof name - 1);
    name[MLFLOW_MAX_EXPERIMENT_NAME_CHARS] = '\0';
    CHECK_EQ_INT(mlflow_experiment_name_check(name, NULL, NULL),
                 MLFLOW_NAME_OK);
    name[MLFLOW_MAX_EXPERIMENT_NAME_CHARS] = 'e';
    name[MLFLOW_MAX_EXPERIMENT_NAME_CHARS + 1] = '\0';
    CHECK_EQ_INT(mlflow_experiment_name_check(name, NULL, &c),
                 MLFLOW_NAME_TOO_LONG);
    CHECK_EQ_INT(c, MLFLOW_MAX_EXPERIMENT_NAME_CHARS + 1);
}

static void test_run_ids(void)
{
    CHECK(mlflow_run_id_ok("0123456789abcdef0123456789abcdef", GT_ID_MAX));
    CHECK(mlflow_run_id_ok("run-1_x", GT_ID_MAX));
    CHECK(mlflow_run_id_ok("R", 1));
    CHECK(!mlflow_run_id_ok("-x", GT_ID_MAX));
    CHECK(!mlflow_run_id_ok("_x", GT_ID_MAX));
    CHECK(!mlflow_run_id_ok("", GT_ID_MAX));
    CHECK(!mlflow_run_id_ok("a b", GT_ID_MAX));
    CHECK(!mlflow_run_id_ok("a;drop", GT_ID_MAX));
    char id[MLFLOW_MAX_RUN_ID_CHARS + 2];
    memset(id, 'a', sizeof id - 1);
    id[GT_ID_MAX] = '\0';
    CHECK(mlflow_run_id_ok(id, GT_ID_MAX));
    id[GT_ID_MAX] = 'a';
    id[GT_ID_MAX + 1] = '\0';
    CHECK(!mlflow_run_id_ok(id, GT_ID_MAX));
    CHECK(mlflow_run_id_ok(id, MLFLOW_MAX_RUN_ID_CHARS));
    id[GT_ID_MAX + 1] = 'a';
    id[MLFLOW_MAX_RUN_ID_CHARS] = '\0';
    CHECK(mlflow_run_id_ok(id, MLFLOW_MAX_RUN_ID_CHARS));
    id[MLFLOW_MAX_RUN_ID_CHARS] = 'a';
    id[MLFLOW_MAX_RUN_ID_CHARS + 1] = '\0';
    CHECK(!mlflow_run_id_ok(id, MLFLOW_MAX_RUN_ID_CHARS));
}

/* The public calls: nothing is sent (an unreachable URI; records stay in
 * the queue and are spooled to a throwaway directory at the end). */
static uint64_t enqueued_data(gt_client *c)
{
    pthread_mutex_lock(&c->q.mu);
    uint64_t n = c->q.enq_data;
    pthread_mutex_unlock(&c->q.mu);
    return n;
}

static void test_calls(void)
{
    char dir[] = "/tmp/gt-names-XXXXXX";
    gt_client *c = gt_client_new("http://127.0.0.1:1");
    gt_run *run = NULL;
    gt_stats st;
    CHECK(c != NULL);
    CHECK(mkdtemp(dir) != NULL);
    CHECK_EQ_INT(gt_client_set_spool_dir(c, dir), GT_OK);
    CHECK_EQ_INT(gt_client_set_flush_timeout_ms(c, 0), GT_OK);
    CHECK_EQ_INT(gt_client_set_energy(c, 0), GT_OK);

    CHECK_EQ_INT(gt_run_start(c, "", NULL, &run), GT_E_INVALID);
    CHECK(run == NULL);
    CHECK(strstr(gt_client_errmsg(c), "experiment name") != NULL);
    CHECK(strstr(gt_client_errmsg(c), "empty") != NULL);
    CHECK_EQ_INT(gt_run_start(c, "bad \xc3", NULL, &run), GT_E_INVALID);
    char longname[260];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    CHECK_EQ_INT(gt_run_start(c, NULL, longname, &run), GT_E_INVALID);
    CHECK(strstr(gt_client_errmsg(c), "too long") != NULL);
    CHECK_EQ_INT(gt_run_attach(c, "-bad", &run), GT_E_INVALID);
    CHECK_EQ_INT(gt_run_start(c, "names * exp", "a run", &run), GT_OK);

    uint64_t before = enqueued_data(c);
    CHECK_EQ_INT(gt_log_metric(run, "greentrack.co2_kg", 1, 0), GT_E_INVALID);
    CHECK(strstr(gt_client_errmsg(c), "metric key 'greentrack.co2_kg'") !=
          NULL);
    CHECK(strstr(gt_client_errmsg(c), "reserved") != NULL);
    CHECK_EQ_INT(gt_log_metric_at(run, "greentrack.energy_kwh", 1, 0, 1),
                 GT_E_INVALID);
    CHECK_EQ_INT(gt_log_metric(run, "a//b", 1, 0), GT_E_INVALID);
    CHECK(strstr(gt_client_errmsg(c), "path") != NULL);
    CHECK_EQ_INT(gt_log_metric(run, "bad*key", 1, 0), GT_E_INVALID);
    CHECK(strstr(gt_client_errmsg(c), "character") != NULL);
    char longkey[300];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    CHECK_EQ_INT(gt_log_metric(run, longkey, 1, 0), GT_E_INVALID);
    CHECK(strstr(gt_client_errmsg(c), "too long") != NULL);
    CHECK(strstr(gt_client_errmsg(c), "...'") != NULL); /* cut short */
    CHECK_EQ_INT(gt_log_param(run, "p/../q", "v"), GT_E_INVALID);
    CHECK(strstr(gt_client_errmsg(c), "param key") != NULL);
    CHECK_EQ_INT(gt_set_tag(run, "", "v"), GT_E_INVALID);
    CHECK(strstr(gt_client_errmsg(c), "tag key") != NULL);
    CHECK_EQ_INT(gt_log_param(run, "p", "\xff"), GT_E_INVALID);
    CHECK(strstr(gt_client_errmsg(c), "param value") != NULL);
    char *big = malloc(MLFLOW_MAX_TAG_VALUE_CHARS + 2);
    memset(big, 'v', MLFLOW_MAX_TAG_VALUE_CHARS + 1);
    big[MLFLOW_MAX_TAG_VALUE_CHARS + 1] = '\0';
    CHECK_EQ_INT(gt_set_tag(run, "t", big), GT_E_INVALID);
    big[MLFLOW_MAX_TAG_VALUE_CHARS] = '\0';
    CHECK_EQ_INT(gt_set_tag(run, "t", big), GT_OK);
    big[MLFLOW_MAX_PARAM_VALUE_CHARS + 1] = '\0';
    CHECK_EQ_INT(gt_log_param(run, "p", big), GT_E_INVALID);
    big[MLFLOW_MAX_PARAM_VALUE_CHARS] = '\0';
    CHECK_EQ_INT(gt_log_param(run, "p", big), GT_OK);
    free(big);
    /* greentrack.* tags are the user's to set (greentrack run does) */
    CHECK_EQ_INT(gt_set_tag(run, "greentrack.zone", "FR"), GT_OK);
    CHECK_EQ_INT(gt_log_metric(run, "greentrack", 1, 0), GT_OK);
    CHECK_EQ_INT(enqueued_data(c), before + 4); /* only the valid ones */
    gt_client_stats(c, &st);
    CHECK_EQ_INT(st.dropped, 0);

    gt_status rc = gt_run_end(run, GT_RUN_FINISHED);
    CHECK(rc == GT_OK || rc == GT_E_TIMEOUT);
    gt_client_free(c);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK_EQ_INT(system(cmd), 0);
}

int main(void)
{
    test_keys();
    test_text();
    test_run_ids();
    test_calls();
    TEST_MAIN_END("test_client_names");
}
