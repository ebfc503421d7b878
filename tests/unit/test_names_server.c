/* SPDX-License-Identifier: MIT
 *
 * test_names_server: the server's side of mlflow_names, the naming rules
 * it shares with libgreentrack. validate.c answers each rule with MLflow's
 * message (bad characters, a path that normalizes to another, a key too
 * long, an experiment name too long) and refuses metric keys under the
 * reserved "greentrack." prefix (tags may use it); it accepts exactly the
 * keys the library accepts.
 */
#include "test.h"
#include "validate.h"

#include <string.h>

/* 'buf' filled with n copies of 'c' and terminated. */
static const char *repeat(char *buf, char c, size_t n)
{
    memset(buf, c, n);
    buf[n] = '\0';
    return buf;
}

static void test_messages(void)
{
    struct errbuf eb;
    char buf[600];
    CHECK_EQ_INT(validate_key("a*b", "Param key", &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    CHECK(strstr(eb.msg, "Names may only contain") != NULL);
    CHECK_EQ_INT(validate_key("a//b", "Param key", &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    CHECK(strstr(eb.msg, "must not resolve to other names") != NULL);
    CHECK_EQ_INT(validate_key(repeat(buf, 'k', 250), "Tag key", &eb), SRV_OK);
    CHECK_EQ_INT(validate_key(repeat(buf, 'k', 299), "Tag key", &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    CHECK(strstr(eb.msg, "Tag key 'kkkk") != NULL);
    CHECK(strstr(eb.msg,
                 "had length 299, which exceeded length limit of 250") != NULL);

    CHECK_EQ_INT(validate_experiment_name(repeat(buf, 'e', 500), &eb), SRV_OK);
    CHECK_EQ_INT(validate_experiment_name(repeat(buf, 'e', 501), &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    CHECK(strstr(eb.msg, "had length 501, which exceeded length limit of "
                         "500") != NULL);
    CHECK_EQ_INT(validate_experiment_name(NULL, &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    CHECK(strstr(eb.msg, "must be non-empty") != NULL);

    CHECK_EQ_INT(validate_run_id_format(repeat(buf, 'a', 256), &eb), SRV_OK);
    CHECK_EQ_INT(validate_run_id_format(repeat(buf, 'a', 257), &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    CHECK_EQ_INT(validate_run_id_format("", &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
}

static void test_reserved(void)
{
    struct errbuf eb;
    CHECK_EQ_INT(validate_metric_key("greentrack.co2_kg", &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    CHECK(strstr(eb.msg, "Metric 'greentrack.co2_kg' uses the reserved "
                         "prefix 'greentrack.'") != NULL);
    CHECK_EQ_INT(validate_metric_key("a//b", &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    CHECK(strstr(eb.msg, "must not resolve to other names") != NULL);
    CHECK_EQ_INT(validate_metric_key("greentrack", &eb), SRV_OK);
    CHECK_EQ_INT(validate_metric_key("my.greentrack.x", &eb), SRV_OK);
    CHECK_EQ_INT(validate_key("greentrack.zone", "Tag key", &eb), SRV_OK);
}

/* Whatever mlflow_names says, validate says: one rule, two callers. */
static void test_same_rule(void)
{
    static const char *const keys[] = {
        "acc",  "a/b",  "a//b",     "/a",   "..x",   ".",   "a/",
        "a*b",  "",     "\xc3\xa9", "\xc3", "a b:c", "./a", "greentrack.x",
        "a/..", "a..b", "x_1",      "a\"b", "a/./b", "a\tb"};
    struct errbuf eb;
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        bool lib = mlflow_key_check(keys[i], NULL, NULL) == MLFLOW_NAME_OK;
        CHECK_EQ_INT(validate_key(keys[i], "Param key", &eb) == SRV_OK, lib);
        bool lib_metric =
            mlflow_metric_key_check(keys[i], NULL, NULL) == MLFLOW_NAME_OK;
        CHECK_EQ_INT(validate_metric_key(keys[i], &eb) == SRV_OK, lib_metric);
    }
}

int main(void)
{
    test_messages();
    test_reserved();
    test_same_rule();
    TEST_MAIN_END("test_names_server");
}
