/* SPDX-License-Identifier: MIT
 *
 * test_numtext: numbers written as text are parsed strictly (numtext.h):
 * decimal integers and numbers only, no hex, no '+', no whitespace, no
 * '_', no inf or nan spellings except protobuf's "NaN", "Infinity" and
 * "-Infinity" where they are allowed; and what the request getters
 * (jsonx.h) make of numbers sent as strings: an int64 field refuses
 * everything but a decimal integer, a double field takes protobuf's three
 * special spellings (MLflow stores NaN and clamps infinities) and refuses
 * "nan", "inf" and hex.
 */
#include "jsonx.h"
#include "numtext.h"
#include "test.h"

#include <math.h>
#include <stdint.h>

static void test_i64(void)
{
    static const struct {
        const char *s;
        int64_t v;
    } good[] = {{"0", 0},
                {"16", 16},
                {"-5", -5},
                {"007", 7},
                {"9223372036854775807", INT64_MAX},
                {"-9223372036854775808", INT64_MIN}};
    for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
        int64_t v = 42;
        CHECK(numtext_i64(good[i].s, &v));
        CHECK_EQ_INT(v, good[i].v);
    }
    static const char *const bad[] = {
        "",      "-",   "+5",   " 5",
        "5 ",    "\t5", "0x10", "0X10",
        "1_000", "1e3", "1.0",  "1.",
        "NaN",   "inf", "--1",  "9223372036854775808",
        "5a",    "٣" /* an Arabic-Indic digit */};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        int64_t v = 42;
        if (numtext_i64(bad[i], &v))
            fprintf(stderr, "accepted as int64: '%s'\n", bad[i]);
        CHECK(!numtext_i64(bad[i], &v));
        CHECK_EQ_INT(v, 42); /* untouched */
    }
}

static void test_double(void)
{
    static const struct {
        const char *s;
        double v;
    } good[] = {{"0", 0},
                {"1.5", 1.5},
                {"-1.5e3", -1500},
                {"1e+16", 1e16},
                {"1E-2", 0.01},
                {".5", 0.5},
                {"5.", 5},
                {"-0", 0},
                {"1e-400", 0},
                {"0.1", 0.1},
                {"123456789012345678", 123456789012345678.0}};
    for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
        double v = 42;
        CHECK(numtext_double(good[i].s, 0, &v));
        CHECK(v == good[i].v);
    }
    static const char *const bad[] = {
        "",      "-",   "+1.5", " 1",       "1 ",       "0x10",  "0x1p3",
        "1_0",   "1e",  "1e+",  "e5",       ".",        "-.",    "nan",
        "NaN",   "inf", "-inf", "Infinity", "infinity", "1.5.2", "1,5",
        "1e400", "--1", "1d",   "١"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        double v = 42;
        if (numtext_double(bad[i], 0, &v))
            fprintf(stderr, "accepted as double: '%s'\n", bad[i]);
        CHECK(!numtext_double(bad[i], 0, &v));
        CHECK(v == 42);
    }
    /* protobuf's spellings, exactly, when asked for */
    double v = 0;
    CHECK(numtext_double("NaN", NUMTEXT_SPECIALS, &v) && isnan(v));
    CHECK(numtext_double("Infinity", NUMTEXT_SPECIALS, &v) && v == INFINITY);
    CHECK(numtext_double("-Infinity", NUMTEXT_SPECIALS, &v) && v == -INFINITY);
    static const char *const not_special[] = {
        "nan", "NAN", "inf", "-inf", "+Infinity", "infinity", "Inf", " NaN"};
    for (size_t i = 0; i < sizeof(not_special) / sizeof(*not_special); i++)
        CHECK(!numtext_double(not_special[i],
                              NUMTEXT_SPECIALS | NUMTEXT_OVERFLOW, &v));
    /* past the double range: infinity only when asked for */
    CHECK(!numtext_double("1e400", NUMTEXT_SPECIALS, &v));
    CHECK(numtext_double("1e400", NUMTEXT_OVERFLOW, &v) && v == INFINITY);
    CHECK(numtext_double("-1e400", NUMTEXT_OVERFLOW, &v) && v == -INFINITY);
}

/* jx_i64 / jx_double on {"f": <text>}: 1 accepted (value in *out), 0
 * refused with INVALID_PARAMETER_VALUE. */
static int get_i64(const char *json, int64_t *out)
{
    cJSON *o = cJSON_Parse(json);
    struct errbuf eb;
    bool present;
    enum srv_err e = jx_i64(o, "f", true, &present, out, &eb);
    cJSON_Delete(o);
    if (e && e != SRV_E_INVALID_PARAMETER_VALUE)
        return -1;
    return e == SRV_OK;
}

static int get_double(const char *json, double *out)
{
    cJSON *o = cJSON_Parse(json);
    struct errbuf eb;
    bool present;
    enum srv_err e = jx_double(o, "f", true, &present, out, &eb);
    cJSON_Delete(o);
    if (e && e != SRV_E_INVALID_PARAMETER_VALUE)
        return -1;
    return e == SRV_OK;
}

static void test_request_fields(void)
{
    int64_t i = 0;
    CHECK_EQ_INT(get_i64("{\"f\":\"16\"}", &i), 1);
    CHECK_EQ_INT(i, 16);
    CHECK_EQ_INT(get_i64("{\"f\":16}", &i), 1);
    CHECK_EQ_INT(get_i64("{\"f\":\"0x10\"}", &i), 0);
    CHECK_EQ_INT(get_i64("{\"f\":\"+16\"}", &i), 0);
    CHECK_EQ_INT(get_i64("{\"f\":\" 16\"}", &i), 0);
    CHECK_EQ_INT(get_i64("{\"f\":\"1e3\"}", &i), 0);
    CHECK_EQ_INT(get_i64("{\"f\":\"NaN\"}", &i), 0);
    CHECK_EQ_INT(get_i64("{\"f\":\"Infinity\"}", &i), 0);
    CHECK_EQ_INT(get_i64("{\"f\":1.5}", &i), 0);
    double d = 0;
    CHECK_EQ_INT(get_double("{\"f\":\"1.5\"}", &d), 1);
    CHECK(d == 1.5);
    CHECK_EQ_INT(get_double("{\"f\":\"NaN\"}", &d), 1);
    CHECK(isnan(d));
    CHECK_EQ_INT(get_double("{\"f\":\"Infinity\"}", &d), 1);
    CHECK(d == INFINITY);
    CHECK_EQ_INT(get_double("{\"f\":\"-Infinity\"}", &d), 1);
    CHECK(d == -INFINITY);
    CHECK_EQ_INT(get_double("{\"f\":\"1e400\"}", &d), 1);
    CHECK(d == INFINITY);
    CHECK_EQ_INT(get_double("{\"f\":\"0x10\"}", &d), 0);
    CHECK_EQ_INT(get_double("{\"f\":\"nan\"}", &d), 0);
    CHECK_EQ_INT(get_double("{\"f\":\"inf\"}", &d), 0);
    CHECK_EQ_INT(get_double("{\"f\":\"+1\"}", &d), 0);
    CHECK_EQ_INT(get_double("{\"f\":\" 1\"}", &d), 0);
    CHECK_EQ_INT(get_double("{\"f\":true}", &d), 0);
}

int main(void)
{
    test_i64();
    test_double();
    test_request_fields();
    TEST_MAIN_END("test_numtext");
}
