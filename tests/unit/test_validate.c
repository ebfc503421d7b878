/* SPDX-License-Identifier: MIT
 *
 * test_validate: validate's key, run id, experiment id and name rules.
 */
#include "test.h"
#include "validate.h"

#include <string.h>

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

int main(void)
{
    test_validate();
    TEST_MAIN_END("test_validate");
}
