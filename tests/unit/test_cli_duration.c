/* SPDX-License-Identifier: MIT
 *
 * test_cli_duration.c: the CLI's duration parser and printer
 * (client/cli/duration.c): units, plain minutes, and a clear error for
 * every kind of bad input.
 */
#include "duration.h"
#include "test.h"

#include <stdint.h>

static int64_t parse_ok(const char *s)
{
    int64_t v = -1;
    char err[160] = "";

    if (cli_parse_duration(s, &v, err, sizeof err) != 0) {
        fprintf(stderr, "unexpected error for '%s': %s\n", s, err);
        return -1;
    }
    return v;
}

/* Returns 1 when 's' is refused with a message containing 'want'. */
static int parse_err(const char *s, const char *want)
{
    int64_t v = 12345;
    char err[160] = "";

    if (cli_parse_duration(s, &v, err, sizeof err) == 0) {
        fprintf(stderr, "'%s' was accepted as %lld\n", s ? s : "(null)",
                (long long)v);
        return 0;
    }
    if (v != 12345) {
        fprintf(stderr, "'%s': out value written on error\n", s);
        return 0;
    }
    if (strstr(err, want) == NULL) {
        fprintf(stderr, "'%s': message '%s' lacks '%s'\n", s, err, want);
        return 0;
    }
    return 1;
}

static const char *str(int64_t s)
{
    static char buf[32];

    cli_duration_str(s, buf, sizeof buf);
    return buf;
}

int main(void)
{
    /* units, alone and combined */
    CHECK_EQ_INT(parse_ok("90m"), 90 * 60);
    CHECK_EQ_INT(parse_ok("3h"), 3 * 3600);
    CHECK_EQ_INT(parse_ok("1h30m"), 5400);
    CHECK_EQ_INT(parse_ok("45s"), 45);
    CHECK_EQ_INT(parse_ok("2h0m30s"), 7230);
    CHECK_EQ_INT(parse_ok("1m5s"), 65);
    CHECK_EQ_INT(parse_ok("1h5s"), 3605);
    CHECK_EQ_INT(parse_ok("3H"), 3 * 3600);
    CHECK_EQ_INT(parse_ok("0h1m"), 60);
    CHECK_EQ_INT(parse_ok("168h"), 168 * 3600);
    CHECK_EQ_INT(parse_ok("007m"), 7 * 60);
    /* a plain number is minutes */
    CHECK_EQ_INT(parse_ok("90"), 90 * 60);
    CHECK_EQ_INT(parse_ok("1"), 60);
    /* the upper bound is inclusive */
    CHECK_EQ_INT(parse_ok("87840h"), CLI_DURATION_MAX_S);

    /* errors, each with its reason */
    CHECK(parse_err("", "empty"));
    CHECK(parse_err(NULL, "empty"));
    CHECK(parse_err("h", "expected a number"));
    CHECK(parse_err("m30", "expected a number"));
    CHECK(parse_err("3x", "unknown unit"));
    CHECK(parse_err("2d", "unknown unit"));
    CHECK(parse_err("3 h", "unknown unit"));
    CHECK(parse_err("3h ", "expected a number"));
    CHECK(parse_err("1.5h", "whole numbers"));
    CHECK(parse_err("-3h", "positive"));
    CHECK(parse_err("0", "more than zero"));
    CHECK(parse_err("0h", "more than zero"));
    CHECK(parse_err("0h0m0s", "more than zero"));
    CHECK(parse_err("30m1h", "order h, m, s"));
    CHECK(parse_err("1h1h", "order h, m, s"));
    CHECK(parse_err("1h30", "no unit"));
    CHECK(parse_err("87841h", "too long"));
    CHECK(parse_err("87840h1s", "too long"));
    CHECK(parse_err("99999999999999999999999h", "too long"));
    CHECK(parse_err("9223372036854775807s", "too long"));
    CHECK(parse_err("1000000000", "too long"));
    /* the message names the input */
    {
        char err[160] = "";
        int64_t v;
        CHECK(cli_parse_duration("3x", &v, err, sizeof err) == -1);
        CHECK(strstr(err, "'3x'") != NULL);
        /* a NULL or tiny buffer is fine */
        CHECK(cli_parse_duration("3x", &v, NULL, 0) == -1);
        CHECK(cli_parse_duration("3x", &v, err, 4) == -1);
        CHECK_EQ_INT(strlen(err), 3);
    }

    /* printing */
    CHECK_EQ_STR(str(0), "0s");
    CHECK_EQ_STR(str(-5), "0s");
    CHECK_EQ_STR(str(45), "45s");
    CHECK_EQ_STR(str(300), "5m");
    CHECK_EQ_STR(str(65), "1m05s");
    CHECK_EQ_STR(str(3600), "1h");
    CHECK_EQ_STR(str(5400), "1h30m");
    CHECK_EQ_STR(str(5429), "1h30m");
    CHECK_EQ_STR(str(86400), "24h");
    CHECK_EQ_STR(str(86400 + 4 * 3600), "28h");
    CHECK_EQ_STR(str(3 * 86400 + 4 * 3600), "3d04h");
    /* what parses prints back the same */
    CHECK_EQ_STR(str(parse_ok("1h30m")), "1h30m");
    CHECK_EQ_STR(str(parse_ok("90")), "1h30m");

    TEST_MAIN_END("test_cli_duration");
}
