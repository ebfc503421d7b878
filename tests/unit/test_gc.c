/* SPDX-License-Identifier: MIT
 *
 * Unit tests of gc's --older-than parser (MLflow's #d#h#m#s format).
 */
#include "gc.h"
#include "test.h"

static int64_t dur(const char *s)
{
    int64_t ms = -1;
    return gc_parse_duration(s, &ms) ? ms : -1;
}

int main(void)
{
    CHECK_EQ_INT(dur("0s"), 0);
    CHECK_EQ_INT(dur("30d"), 30LL * 86400 * 1000);
    CHECK_EQ_INT(dur("1d2h3m4s"), ((26LL * 60 + 3) * 60 + 4) * 1000);
    CHECK_EQ_INT(dur("1.5h"), 5400 * 1000);
    CHECK_EQ_INT(dur("1.2d3h4m5s"),
                 (int64_t)(1.2 * 86400e3) + (3 * 3600 + 4 * 60 + 5) * 1000);
    CHECK_EQ_INT(dur("90m"), 5400 * 1000);
    CHECK_EQ_INT(dur("2h30s"), (2 * 3600 + 30) * 1000);
    /* malformed: empty, no unit, wrong order, repeats, signs, junk */
    const char *bad[] = {"",       "5",    "d",           "1h1d", "1d1d",
                         "-1d",    "+1d",  "1x",          "1d ",  " 1d",
                         "1.2.3s", "1e3s", "99999999999d"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        if (dur(bad[i]) != -1)
            fprintf(stderr, "should fail: '%s'\n", bad[i]);
        CHECK_EQ_INT(dur(bad[i]), -1);
    }
    TEST_MAIN_END("test_gc");
}
