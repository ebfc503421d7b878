/* SPDX-License-Identifier: MIT
 *
 * test_render: MLflow's JSON shapes as render.c writes them: fields and
 * their commas, null and non-finite values, experiments, run infos, runs
 * with data and inputs (empty lists omitted), metrics, and that the fast
 * metric list equals render_metric item by item.
 */
#include "render.h"
#include "test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

/* The model structs hold owned (char *) strings; render only reads them,
 * so these tests point them at literals. */
#define S(lit) ((char *)(lit))

/* A rendered string; strbuf_detach's result, freed by the caller. */
static char *done(struct strbuf *sb)
{
    return strbuf_detach(sb, NULL);
}

/* Whether 's' is one valid JSON value. */
static bool valid_json(const char *s)
{
    cJSON *j = cJSON_Parse(s);
    bool ok = j != NULL;
    cJSON_Delete(j);
    return ok;
}

static void test_fields(void)
{
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_char(&sb, '{');
    render_key(&sb, "a", true);
    strbuf_append_str(&sb, "1");
    render_str_field(&sb, "s", "x\"y", false);
    render_str_field(&sb, "n", NULL, false);
    render_num_field(&sb, "d", 2.5, false);
    render_num_field(&sb, "i", 3.0, false);
    render_num_field(&sb, "nan", NAN, false);
    render_num_field(&sb, "inf", -INFINITY, false);
    render_key(&sb, "k\n", false);
    strbuf_append_str(&sb, "true");
    strbuf_append_char(&sb, '}');
    char *s = done(&sb);
    CHECK_EQ_STR(s, "{\"a\":1,\"s\":\"x\\\"y\",\"n\":null,\"d\":2.5,\"i\":3,"
                    "\"nan\":\"NaN\",\"inf\":\"-Infinity\",\"k\\n\":true}");
    CHECK(valid_json(s));
    free(s);
}

static void test_experiment(void)
{
    struct kv tags[] = {{S("team"), S("x")}, {S("note"), S("a\tb")}};
    struct experiment e = {.experiment_id = 7,
                           .name = S("exp"),
                           .artifact_location = S("/a/7"),
                           .creation_time = 1700000000000LL,
                           .last_update_time = 1700000000001LL};
    struct strbuf sb;
    strbuf_init(&sb);
    render_experiment(&sb, &e);
    char *s = done(&sb);
    /* the id as a string; no tags key without tags */
    CHECK_EQ_STR(s, "{\"experiment_id\":\"7\",\"name\":\"exp\","
                    "\"artifact_location\":\"/a/7\",\"lifecycle_stage\":"
                    "\"active\",\"creation_time\":1700000000000,"
                    "\"last_update_time\":1700000000001}");
    free(s);
    e.deleted = true;
    e.tags = tags;
    e.n_tags = 2;
    strbuf_init(&sb);
    render_experiment(&sb, &e);
    s = done(&sb);
    CHECK(strstr(s, "\"lifecycle_stage\":\"deleted\"") != NULL);
    CHECK(strstr(s, ",\"tags\":[{\"key\":\"team\",\"value\":\"x\"},"
                    "{\"key\":\"note\",\"value\":\"a\\tb\"}]}") != NULL);
    CHECK(valid_json(s));
    free(s);
}

static void test_run_info(void)
{
    struct run r = {.experiment_id = 3,
                    .run_name = S("r1"),
                    .user_id = S("u"),
                    .status = RUN_STATUS_FINISHED,
                    .start_time = 10,
                    .artifact_uri = S("")};
    memcpy(r.run_id, "0123456789abcdef0123456789abcdef", RUN_ID_LEN + 1);
    struct strbuf sb;
    strbuf_init(&sb);
    render_run_info(&sb, &r);
    char *s = done(&sb);
    /* end_time omitted when 0, artifact_uri when empty */
    CHECK_EQ_STR(s, "{\"run_id\":\"0123456789abcdef0123456789abcdef\","
                    "\"run_uuid\":\"0123456789abcdef0123456789abcdef\","
                    "\"run_name\":\"r1\",\"experiment_id\":\"3\","
                    "\"user_id\":\"u\",\"status\":\"FINISHED\","
                    "\"start_time\":10,\"lifecycle_stage\":\"active\"}");
    free(s);
    r.end_time = 20;
    r.artifact_uri = S("file:///a/3/x");
    r.deleted = true;
    r.status = RUN_STATUS_KILLED;
    strbuf_init(&sb);
    render_run_info(&sb, &r);
    s = done(&sb);
    CHECK(strstr(s, "\"status\":\"KILLED\",\"start_time\":10,"
                    "\"end_time\":20,\"artifact_uri\":\"file:///a/3/x\","
                    "\"lifecycle_stage\":\"deleted\"}") != NULL);
    free(s);
}

static void test_run(void)
{
    struct run r = {.experiment_id = 3,
                    .run_name = S("r"),
                    .user_id = S(""),
                    .start_time = 1,
                    .artifact_uri = S("")};
    memcpy(r.run_id, "00000000000000000000000000000001", RUN_ID_LEN + 1);
    struct strbuf sb;
    strbuf_init(&sb);
    render_run(&sb, &r);
    char *s = done(&sb);
    /* nothing logged: empty data and inputs objects */
    CHECK(strstr(s, "},\"data\":{},\"inputs\":{}}") != NULL);
    CHECK(valid_json(s));
    free(s);

    struct metric m[] = {
        {.key = "acc", .value = 0.5, .timestamp = 5, .step = 2},
        {.key = "loss", .value = NAN, .timestamp = 6}};
    struct kv params[] = {{S("lr"), S("0.1")}};
    struct kv tags[] = {{S("mlflow.runName"), S("r")}};
    struct kv dtags[] = {{S("mlflow.data.context"), S("train")}};
    struct dataset_input d = {.name = S("ds"),
                              .digest = S("abc"),
                              .source_type = S("local"),
                              .source = S("/data"),
                              .profile = S("{}"),
                              .tags = dtags,
                              .n_tags = 1};
    char *models[] = {S("m-1"), S("m-2")};
    r.metrics = m;
    r.n_metrics = 2;
    r.params = params;
    r.n_params = 1;
    r.tags = tags;
    r.n_tags = 1;
    r.inputs = &d;
    r.n_inputs = 1;
    r.model_inputs = models;
    r.n_model_inputs = 2;
    strbuf_init(&sb);
    render_run(&sb, &r);
    s = done(&sb);
    CHECK(valid_json(s));
    CHECK(strstr(s, "\"data\":{\"metrics\":[{\"key\":\"acc\",\"value\":0.5,"
                    "\"timestamp\":5,\"step\":2},{\"key\":\"loss\","
                    "\"value\":\"NaN\",\"timestamp\":6,\"step\":0}],"
                    "\"params\":[{\"key\":\"lr\",\"value\":\"0.1\"}],"
                    "\"tags\":[{\"key\":\"mlflow.runName\",\"value\":\"r\"}]"
                    "}") != NULL);
    /* a dataset: its tags first, no schema key when there is none */
    CHECK(strstr(s, "\"inputs\":{\"dataset_inputs\":[{\"tags\":[{\"key\":"
                    "\"mlflow.data.context\",\"value\":\"train\"}],"
                    "\"dataset\":{\"name\":\"ds\",\"digest\":\"abc\","
                    "\"source_type\":\"local\",\"source\":\"/data\","
                    "\"profile\":\"{}\"}}],\"model_inputs\":[{\"model_id\":"
                    "\"m-1\"},{\"model_id\":\"m-2\"}]}}") != NULL);
    free(s);
    /* model inputs alone, a dataset without tags */
    d.n_tags = 0;
    r.n_inputs = 0;
    strbuf_init(&sb);
    render_run(&sb, &r);
    s = done(&sb);
    CHECK(strstr(s, "\"inputs\":{\"model_inputs\":[") != NULL);
    free(s);
    r.n_inputs = 1;
    r.n_model_inputs = 0;
    strbuf_init(&sb);
    render_run(&sb, &r);
    s = done(&sb);
    CHECK(strstr(s, "\"dataset_inputs\":[{\"dataset\":{\"name\":\"ds\"") !=
          NULL);
    CHECK(valid_json(s));
    free(s);
}

static void test_metrics(void)
{
    struct metric m = {.key = "a\"b",
                       .value = 1e300,
                       .timestamp = -1,
                       .step = 9007199254740993LL,
                       .run_id = "r9"};
    struct strbuf sb;
    strbuf_init(&sb);
    render_metric(&sb, &m, false);
    char *s = done(&sb);
    CHECK_EQ_STR(s, "{\"key\":\"a\\\"b\",\"value\":1e+300,"
                    "\"timestamp\":-1,\"step\":9007199254740993}");
    free(s);
    strbuf_init(&sb);
    render_metric(&sb, &m, true);
    s = done(&sb);
    CHECK(strstr(s, ",\"run_id\":\"r9\"}") != NULL);
    free(s);
    m.run_id = NULL; /* with_run_id but none: omitted */
    strbuf_init(&sb);
    render_metric(&sb, &m, true);
    s = done(&sb);
    CHECK(strstr(s, "run_id") == NULL);
    free(s);

    /* render_metric_items == render_metric joined by commas, with keys
     * shared between points (as the store returns them) and not */
    static const char *const keys[] = {"x", "x", "y/\xc3\xa9", "x", "z\\"};
    struct metric pts[5];
    for (int i = 0; i < 5; i++)
        pts[i] = (struct metric){.key = keys[i],
                                 .value = i == 2 ? INFINITY : i * 0.1,
                                 .timestamp = 100 + i,
                                 .step = i,
                                 .run_id = i % 2 ? "odd" : NULL};
    for (int with = 0; with < 2; with++) {
        struct strbuf want, got;
        strbuf_init(&want);
        strbuf_init(&got);
        for (int i = 0; i < 5; i++) {
            if (i)
                strbuf_append_char(&want, ',');
            render_metric(&want, &pts[i], with);
        }
        render_metric_items(&got, pts, 5, with);
        char *w = done(&want), *g = done(&got);
        CHECK_EQ_STR(g, w);
        free(w);
        free(g);
    }
    strbuf_init(&sb);
    render_metric_items(&sb, pts, 0, true);
    s = done(&sb);
    CHECK_EQ_STR(s, "");
    free(s);
}

int main(void)
{
    test_fields();
    test_experiment();
    test_run_info();
    test_run();
    test_metrics();
    TEST_MAIN_END("test_render");
}
