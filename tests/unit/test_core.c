/* SPDX-License-Identifier: MIT
 *
 * test_core: unit tests of the server's pure modules: strbuf's JSON
 * writers, jsonx's body checks and getters, validate's key rules, page
 * tokens, the router table and the error table.
 */
#include "err.h"
#include "jsonx.h"
#include "pagetoken.h"
#include "router.h"
#include "strbuf.h"
#include "test.h"
#include "validate.h"
#include "workq.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static char *json_str(const char *s, size_t len)
{
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_json_str(&sb, s, len);
    return strbuf_detach(&sb, NULL);
}

static char *json_double(double v)
{
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_json_double(&sb, v);
    return strbuf_detach(&sb, NULL);
}

static void test_strbuf(void)
{
    char *s = json_str("a\"b\\c\n\x01", 7);
    CHECK_EQ_STR(s, "\"a\\\"b\\\\c\\n\\u0001\"");
    free(s);
    s = json_str("h\xc3\xa9llo", 6); /* UTF-8 passes through */
    CHECK_EQ_STR(s, "\"h\xc3\xa9llo\"");
    free(s);
    static const struct {
        double v;
        const char *text;
    } doubles[] = {{0.1, "0.10000000000000001"},
                   {1e15, "1000000000000000"},
                   {1.0, "1"},
                   {-2.5, "-2.5"},
                   {1e300, "1.0000000000000001e+300"},
                   {0.30000000000000004, "0.30000000000000004"},
                   {1.7976931348623157e308, "1.7976931348623157e+308"}};
    for (size_t i = 0; i < sizeof(doubles) / sizeof(*doubles); i++) {
        s = json_double(doubles[i].v);
        CHECK_EQ_STR(s, doubles[i].text);
        CHECK(strtod(s, NULL) == doubles[i].v);
        free(s);
    }
    s = json_double(NAN);
    CHECK_EQ_STR(s, "\"NaN\"");
    free(s);
    s = json_double(-INFINITY);
    CHECK_EQ_STR(s, "\"-Infinity\"");
    free(s);
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_i64(&sb, -9007199254740992LL);
    CHECK_EQ_STR(sb.buf, "-9007199254740992");
    strbuf_cleanup(&sb);
    strbuf_init(&sb);
    s = strbuf_detach(&sb, NULL); /* empty buffer detaches as "" */
    CHECK_EQ_STR(s, "");
    free(s);
}

static enum srv_err parse(const char *text, cJSON **out)
{
    struct errbuf eb;
    return jx_parse_body(text, strlen(text), out, &eb);
}

static void test_parse_body(void)
{
    cJSON *j = NULL;
    CHECK_EQ_INT(parse("{\"a\":1}", &j), SRV_OK);
    cJSON_Delete(j);
    CHECK_EQ_INT(parse("", &j), SRV_OK); /* empty body = {} */
    CHECK(cJSON_IsObject(j));
    cJSON_Delete(j);
    CHECK_EQ_INT(parse("{\"a\":", &j), SRV_E_INVALID_PARAMETER_VALUE);
    CHECK_EQ_INT(parse("[1,2]", &j), SRV_E_INVALID_PARAMETER_VALUE);
    CHECK_EQ_INT(parse("{\"a\":1} x", &j), SRV_E_INVALID_PARAMETER_VALUE);
    CHECK_EQ_INT(parse("{\"a\":\"\xff\"}", &j),
                 SRV_E_INVALID_PARAMETER_VALUE); /* invalid UTF-8 */
    CHECK_EQ_INT(parse("{\"a\":\"\xed\xa0\x80\"}", &j),
                 SRV_E_INVALID_PARAMETER_VALUE); /* encoded surrogate */
    CHECK_EQ_INT(parse("{\"a\":\"x\ty\"}", &j),
                 SRV_E_INVALID_PARAMETER_VALUE); /* raw control char */
    CHECK_EQ_INT(parse("{\"a\":9007199254740992}", &j), SRV_OK);
    cJSON_Delete(j);
    CHECK_EQ_INT(parse("{\"a\":9007199254740993}", &j),
                 SRV_E_INVALID_PARAMETER_VALUE);
    CHECK_EQ_INT(parse("{\"a\":-99999999999999999999}", &j),
                 SRV_E_INVALID_PARAMETER_VALUE);
    CHECK_EQ_INT(parse("{\"a\":\"99999999999999999999\"}", &j), SRV_OK);
    cJSON_Delete(j); /* digits inside a string are not an integer */
    CHECK_EQ_INT(parse("{\"a\":1.5e300}", &j), SRV_OK);
    cJSON_Delete(j);
    /* A JSON string that holds an object is decoded once more. */
    CHECK_EQ_INT(parse("\"{\\\"a\\\": 2}\"", &j), SRV_OK);
    CHECK(cJSON_GetObjectItem(j, "a") != NULL);
    cJSON_Delete(j);
    /* Deep nesting is refused, not a stack overflow. */
    size_t depth = 100000;
    char *deep = malloc(depth * 2 + 16);
    size_t n = 0;
    deep[n++] = '{';
    memcpy(deep + n, "\"a\":", 4);
    n += 4;
    for (size_t i = 0; i < depth; i++)
        deep[n++] = '[';
    for (size_t i = 0; i < depth; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    deep[n] = '\0';
    CHECK_EQ_INT(parse(deep, &j), SRV_E_INVALID_PARAMETER_VALUE);
    free(deep);
}

static void test_getters(void)
{
    cJSON *j = NULL;
    struct errbuf eb;
    CHECK_EQ_INT(
        parse("{\"s\":\"x\",\"n\":5,\"ns\":\"1700000000000\",\"d\":\"NaN\","
              "\"inf\":\"-Infinity\",\"b\":\"TRUE\",\"e\":\"FINISHED\","
              "\"en\":4,\"l\":[\"a\",\"b\"],\"bad\":true,\"empty\":\"\","
              "\"big\":\"9007199254740993\",\"frac\":1.5}",
              &j),
        SRV_OK);
    const char *s;
    CHECK_EQ_INT(jx_str(j, "s", true, &s, &eb), SRV_OK);
    CHECK_EQ_STR(s, "x");
    CHECK_EQ_INT(jx_str(j, "n", true, &s, &eb), SRV_E_INVALID_PARAMETER_VALUE);
    CHECK(strstr(eb.msg, "Hint: Value was of type 'int'") != NULL);
    CHECK_EQ_INT(jx_str(j, "missing", true, &s, &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    CHECK(strstr(eb.msg, "Missing value for required parameter 'missing'"));
    CHECK_EQ_INT(jx_str(j, "empty", true, &s, &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    int64_t v;
    bool present;
    CHECK_EQ_INT(jx_i64(j, "ns", true, &present, &v, &eb), SRV_OK);
    CHECK_EQ_INT(v, 1700000000000LL);
    CHECK_EQ_INT(jx_i64(j, "big", true, &present, &v, &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    CHECK_EQ_INT(jx_i64(j, "frac", true, &present, &v, &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    double d;
    CHECK_EQ_INT(jx_double(j, "d", true, &present, &d, &eb), SRV_OK);
    CHECK(isnan(d));
    CHECK_EQ_INT(jx_double(j, "inf", true, &present, &d, &eb), SRV_OK);
    CHECK(isinf(d) && d < 0);
    CHECK_EQ_INT(jx_double(j, "bad", true, &present, &d, &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    bool b;
    CHECK_EQ_INT(jx_bool(j, "b", &present, &b, &eb), SRV_OK);
    CHECK(b && present);
    CHECK_EQ_INT(jx_bool(j, "s", &present, &b, &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    static const char *const names[] = {"RUNNING", "SCHEDULED", "FINISHED",
                                        "FAILED", "KILLED"};
    int e;
    CHECK_EQ_INT(jx_enum(j, "e", names, 5, 1, &present, &e, &eb), SRV_OK);
    CHECK_EQ_INT(e, 2);
    CHECK_EQ_INT(jx_enum(j, "en", names, 5, 1, &present, &e, &eb), SRV_OK);
    CHECK_EQ_INT(e, 3);
    CHECK_EQ_INT(jx_enum(j, "big", names, 5, 1, &present, &e, &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    const char **list;
    size_t n;
    CHECK_EQ_INT(jx_str_list(j, "l", &list, &n, &eb), SRV_OK);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_STR(list[1], "b");
    free(list);
    /* A JSON body must send a list for a repeated field... */
    CHECK_EQ_INT(jx_str_list(j, "s", &list, &n, &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    /* ...and a scalar for a scalar one; query values are lists marked as
     * such, from which a scalar getter takes the first. */
    CHECK_EQ_INT(jx_str(j, "l", false, &s, &eb), SRV_E_INVALID_PARAMETER_VALUE);
    cJSON_GetObjectItem(j, "l")->valueint = JX_QUERY_VALUES;
    CHECK_EQ_INT(jx_str(j, "l", false, &s, &eb), SRV_OK);
    CHECK_EQ_STR(s, "a");
    cJSON_Delete(j);
    CHECK_EQ_INT(jx_utf8_len("h\xc3\xa9"), 2);
    CHECK_EQ_INT(jx_utf8_prefix("h\xc3\xa9llo", 2), 3);
}

static void test_validate(void)
{
    struct errbuf eb;
    static const char *const good[] = {
        "acc", "a/b", "a.b-c d:e", "x_1", "\xc3\xa9t\xc3\xa9", "a..b"};
    static const char *const bad[] = {"",    "a//b", "/a",    "..x",
                                      ".",   "a/",   "a/./b", "a/..",
                                      "a*b", "a\"b", "./a",   "a/../b"};
    for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
        CHECK_EQ_INT(validate_key(good[i], "Metric name", &eb), SRV_OK);
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        CHECK_EQ_INT(validate_key(bad[i], "Metric name", &eb),
                     SRV_E_INVALID_PARAMETER_VALUE);
    char longkey[300];
    memset(longkey, 'k', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = '\0';
    CHECK_EQ_INT(validate_key(longkey, "Metric name", &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    longkey[250] = '\0';
    CHECK_EQ_INT(validate_key(longkey, "Metric name", &eb), SRV_OK);
    CHECK(validate_is_run_uuid("0123456789abcdef0123456789abcdef"));
    CHECK(!validate_is_run_uuid("0123456789ABCDEF0123456789abcdef"));
    CHECK(!validate_is_run_uuid("0123"));
    CHECK_EQ_INT(validate_run_id_format("abc-DEF_1", &eb), SRV_OK);
    CHECK_EQ_INT(validate_run_id_format("-abc", &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    CHECK_EQ_INT(validate_run_id_format("a;drop", &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    int64_t id;
    CHECK(validate_parse_experiment_id("42", &id) && id == 42);
    CHECK(!validate_parse_experiment_id("4a", &id));
    CHECK(!validate_parse_experiment_id("-1", &id));
    CHECK_EQ_INT(validate_experiment_name("", &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
}

static void test_pagetoken(void)
{
    struct errbuf eb;
    int64_t off;
    for (int64_t want = 0; want < 100000; want += 9973) {
        struct strbuf sb;
        strbuf_init(&sb);
        pagetoken_append_json(&sb, want);
        sb.buf[sb.len - 1] = '\0'; /* strip the quotes */
        CHECK_EQ_INT(pagetoken_decode(sb.buf + 1, &off, &eb), SRV_OK);
        CHECK_EQ_INT(off, want);
        strbuf_cleanup(&sb);
    }
    CHECK_EQ_INT(pagetoken_decode("eyJvZmZzZXQiOiAxfQ==", &off, &eb), SRV_OK);
    CHECK_EQ_INT(off, 1);
    CHECK_EQ_INT(pagetoken_decode("!!!", &off, &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    CHECK_EQ_INT(pagetoken_decode("eyJvZmZzZXQiOiAtMX0=", &off, &eb),
                 SRV_E_INVALID_PARAMETER_VALUE); /* {"offset": -1} */
    CHECK_EQ_INT(pagetoken_decode("aGVsbG8=", &off, &eb),
                 SRV_E_INVALID_PARAMETER_VALUE); /* "hello" */
    CHECK_EQ_INT(pagetoken_decode(NULL, &off, &eb), SRV_OK);
    CHECK_EQ_INT(off, 0);
}

static void test_router(void)
{
    handler_fn h;
    CHECK_EQ_INT(route_match("/api/2.0/mlflow/runs/create", "POST", &h),
                 ROUTE_FOUND);
    CHECK_EQ_INT(route_match("/ajax-api/2.0/mlflow/runs/get", "GET", &h),
                 ROUTE_FOUND);
    CHECK_EQ_INT(route_match("/api/2.0/mlflow/runs/create", "GET", &h),
                 ROUTE_BAD_METHOD);
    CHECK_EQ_INT(route_match("/api/2.0/mlflow/experiments/search", "GET", &h),
                 ROUTE_FOUND);
    CHECK_EQ_INT(route_match("/api/2.0/mlflow/experiments/search", "POST", &h),
                 ROUTE_FOUND);
    CHECK_EQ_INT(route_match("/api/2.0/mlflow/nope", "GET", &h),
                 ROUTE_NOT_FOUND);
    CHECK_EQ_INT(route_match("/api/2.0/other", "GET", &h), ROUTE_NOT_FOUND);
    CHECK_EQ_INT(route_match("/health", "GET", &h), ROUTE_FOUND);
    CHECK_EQ_INT(route_match("/health", "POST", &h), ROUTE_BAD_METHOD);
    CHECK_EQ_INT(route_match("/experiments/3/runs", "GET", &h), ROUTE_STATIC);
}

static void test_err_table(void)
{
    CHECK_EQ_STR(err_code_name(SRV_E_RESOURCE_ALREADY_EXISTS),
                 "RESOURCE_ALREADY_EXISTS");
    CHECK_EQ_INT(err_http_status(SRV_E_RESOURCE_ALREADY_EXISTS), 400);
    CHECK_EQ_INT(err_http_status(SRV_E_RESOURCE_DOES_NOT_EXIST), 404);
    CHECK_EQ_INT(err_http_status(SRV_E_METHOD_NOT_ALLOWED), 405);
    CHECK_EQ_STR(err_code_name(SRV_E_METHOD_NOT_ALLOWED), "BAD_REQUEST");
    CHECK_EQ_INT(err_http_status(SRV_E_TOO_LARGE), 413);
    CHECK_EQ_INT(err_http_status(SRV_E_INVALID_STATE), 500);
    CHECK_EQ_INT(err_http_status(SRV_E_UNAVAILABLE), 503);
}

/*---- workq ----*/

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
    test_strbuf();
    test_parse_body();
    test_getters();
    test_validate();
    test_pagetoken();
    test_router();
    test_err_table();
    test_workq();
    TEST_MAIN_END("test_core");
}
