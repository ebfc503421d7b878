/* SPDX-License-Identifier: MIT
 *
 * test_client_batch: the log-batch bodies built from pending records:
 * MLflow's limits (1000 metrics, 100 params, 100 tags, 1000 in all), JSON
 * escaping, doubles and NaN, record ranges. The key and value rules are
 * test_client_names'.
 */
#include "internal.h"
#include "test.h"

#include <stdlib.h>

#include <cjson/cJSON.h>

static struct rec *make(uint8_t type, const char *key, const char *val,
                        double value, int64_t step)
{
    size_t kl = strlen(key), vl = val ? strlen(val) : 0;
    uint32_t size = rec_size_for(kl, vl);
    struct rec *r = calloc(1, size);
    r->size = size;
    r->type = type;
    r->klen = (uint16_t)kl;
    r->vlen = (uint32_t)vl;
    r->value = value;
    r->step = step;
    r->ts = 1700000000000 + step;
    memcpy((char *)(r + 1), key, kl);
    if (vl)
        memcpy((char *)(r + 1) + kl, val, vl);
    return r;
}

static int add_failures;

static void add(struct pending *p, uint8_t type, const char *key,
                const char *val, double value, int64_t step)
{
    struct rec *r = make(type, key, val, value, step);
    add_failures += !pending_add(p, r);
    free(r);
}

static void test_limits(void)
{
    struct pending p;
    pending_init(&p);
    int early = 0;
    for (int i = 0; i < 1000; i++) {
        early += pending_full_for(&p, REC_METRIC);
        add(&p, REC_METRIC, "m", NULL, i, i);
    }
    CHECK_EQ_INT(early, 0);
    CHECK(pending_full_for(&p, REC_METRIC));
    CHECK(pending_full_for(&p, REC_PARAM)); /* 1000 in all */
    pending_reset(&p);
    char key[16];
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "p%d", i);
        add(&p, REC_PARAM, key, "v", 0, 0);
    }
    CHECK(pending_full_for(&p, REC_PARAM));
    CHECK(!pending_full_for(&p, REC_TAG));
    CHECK(!pending_full_for(&p, REC_METRIC));
    for (int i = 0; i < 100; i++)
        add(&p, REC_TAG, "t", "v", 0, 0);
    CHECK(pending_full_for(&p, REC_TAG));
    for (int i = 0; i < 800; i++)
        add(&p, REC_METRIC, "m", NULL, i, i);
    CHECK_EQ_INT(p.count, 1000);
    CHECK(pending_full_for(&p, REC_METRIC));
    pending_cleanup(&p);
}

static void test_json(void)
{
    struct pending p;
    struct gt_buf b;
    pending_init(&p);
    gt_buf_init(&b);
    add(&p, REC_METRIC, "loss", NULL, 0.1, 1);
    add(&p, REC_PARAM, "q\"k", "line\nbreak \\ \x01", 0, 0);
    add(&p, REC_METRIC, "nan", NULL, NAN, 2);
    add(&p, REC_TAG, "t", "é", 0, 0);
    add(&p, REC_METRIC, "inf", NULL, -INFINITY, 3);
    add(&p, REC_METRIC, "int", NULL, 42.0, 4);
    batch_json(&b, "abc", &p, 0, p.count);
    CHECK(!b.oom);
    cJSON *j = cJSON_Parse(b.p);
    CHECK(j != NULL);
    CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "run_id")), "abc");
    cJSON *m = cJSON_GetObjectItem(j, "metrics");
    CHECK_EQ_INT(cJSON_GetArraySize(m), 4);
    cJSON *m0 = cJSON_GetArrayItem(m, 0);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(m0, "value")) == 0.1);
    CHECK_EQ_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(m0, "timestamp")),
                 1700000000001LL);
    CHECK_EQ_STR(cJSON_GetStringValue(
                     cJSON_GetObjectItem(cJSON_GetArrayItem(m, 1), "value")),
                 "NaN");
    CHECK_EQ_STR(cJSON_GetStringValue(
                     cJSON_GetObjectItem(cJSON_GetArrayItem(m, 2), "value")),
                 "-Infinity");
    cJSON *pa = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "params"), 0);
    CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(pa, "key")), "q\"k");
    CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(pa, "value")),
                 "line\nbreak \\ \x01");
    CHECK_EQ_STR(
        cJSON_GetStringValue(cJSON_GetObjectItem(
            cJSON_GetArrayItem(cJSON_GetObjectItem(j, "tags"), 0), "value")),
        "é");
    cJSON_Delete(j);

    /* a range: records 1..3 (param, nan metric, tag) */
    batch_json(&b, "abc", &p, 1, 4);
    j = cJSON_Parse(b.p);
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "metrics")), 1);
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "params")), 1);
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "tags")), 1);
    cJSON_Delete(j);
    /* only params: no empty arrays */
    batch_json(&b, "abc", &p, 1, 2);
    CHECK(strstr(b.p, "metrics") == NULL && strstr(b.p, "tags") == NULL);

    /* doubles read back exactly */
    gt_buf_reset(&b);
    gt_buf_add_double(&b, 0.1 + 0.2);
    CHECK(strtod(b.p, NULL) == 0.1 + 0.2);
    gt_buf_reset(&b);
    gt_buf_add_double(&b, 1e300);
    CHECK(strtod(b.p, NULL) == 1e300);
    gt_buf_reset(&b);
    gt_buf_add_urlenc(&b, "a b/é");
    CHECK_EQ_STR(b.p, "a%20b%2F%C3%A9");
    gt_buf_cleanup(&b);
    pending_cleanup(&p);
}

int main(void)
{
    test_limits();
    test_json();
    CHECK_EQ_INT(add_failures, 0);
    TEST_MAIN_END("test_client_batch");
}
