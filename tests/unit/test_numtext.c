/* SPDX-License-Identifier: MIT
 *
 * test_numtext: numbers written as text are parsed strictly (numtext.h):
 * decimal integers and numbers only, no hex, no '+', no whitespace, no
 * '_', no inf or nan spellings except protobuf's "NaN", "Infinity" and
 * "-Infinity" where they are allowed; and what the request getters
 * (jsonx.h) make of numbers sent as strings: an int64 field refuses
 * everything but a decimal integer, a double field takes protobuf's three
 * special spellings (MLflow stores NaN and clamps infinities) and refuses
 * "nan", "inf" and hex. numtext_format_double writes the shortest
 * decimal that strtod reads back to the same bits, checked over millions
 * of doubles against the %.{1..17}g search.
 */
#include "jsonx.h"
#include "numtext.h"
#include "test.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

/* xorshift64*: the same doubles in every run */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717u;
}

/* The fewest %.Ng digits that read back (monotone in N: binary search). */
static int shortest_digits(double v)
{
    char buf[320]; /* room for any precision: no truncation warning */
    int lo = 1, hi = 17;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        snprintf(buf, sizeof(buf), "%.*g", mid, v);
        if (strtod(buf, NULL) == v)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* Significant digits of a formatted number: the mantissa's digits less
 * leading and trailing zeros. */
static int sig_digits(const char *s)
{
    char d[64] = {0};
    int n = 0;
    for (const char *p = s; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            d[n++] = *p;
    int a = 0, b = n;
    while (a < b && d[a] == '0')
        a++;
    while (b > a && d[b - 1] == '0')
        b--;
    return b - a;
}

/* JSON's number grammar: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)? */
static bool json_number(const char *s)
{
    const char *p = s;
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (*p >= '0' && *p <= '9')
            p++;
    else
        return false;
    if (*p == '.') {
        p++;
        if (!(*p >= '0' && *p <= '9'))
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == '\0';
}

static long format_failures;

static void check_format(double v)
{
    char buf[NUMTEXT_DOUBLE_MAX];
    memset(buf, 'x', sizeof(buf));
    size_t n = numtext_format_double(v, buf);
    bool ok = n == strlen(buf) && n < sizeof(buf) && json_number(buf);
    double back = ok ? strtod(buf, NULL) : 0;
    ok = ok && memcmp(&back, &v, sizeof(v)) == 0;
    ok = ok && sig_digits(buf) <= (v == 0 ? 1 : shortest_digits(v));
    if (!ok && format_failures++ < 10)
        fprintf(stderr, "format %.17g (%a): '%s'\n", v, v, buf);
}

static double from_bits(uint64_t b)
{
    double v;
    memcpy(&v, &b, sizeof(v));
    return v;
}

static void test_format_double(void)
{
    char buf[NUMTEXT_DOUBLE_MAX];
    static const struct {
        double v;
        const char *s;
    } fixed[] = {{0.0, "0"},
                 {-0.0, "-0"},
                 {0.1, "0.1"},
                 {-2.5, "-2.5"},
                 {1.0 / 3, "0.3333333333333333"},
                 {2.0 / 3, "0.6666666666666666"},
                 {100, "100"},
                 {1234500, "1234500"},
                 {1.5e-7, "1.5e-07"},
                 {1e300, "1e+300"},
                 {5e-324, "5e-324"},
                 {1.7976931348623157e308, "1.7976931348623157e+308"},
                 {9007199254740993.0, "9007199254740992"},
                 {0.30000000000000004, "0.30000000000000004"},
                 {123456.789, "123456.789"},
                 {1e-5, "1e-05"},
                 {1e-4, "0.0001"},
                 {1e16, "1e+16"},
                 {1e17, "1e+17"}};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(*fixed); i++) {
        numtext_format_double(fixed[i].v, buf);
        if (strcmp(buf, fixed[i].s) != 0)
            fprintf(stderr, "format %.17g: '%s', want '%s'\n", fixed[i].v, buf,
                    fixed[i].s);
        CHECK_EQ_STR(buf, fixed[i].s);
    }
    long count = getenv("NUMTEXT_FORMAT_COUNT")
                     ? strtol(getenv("NUMTEXT_FORMAT_COUNT"), NULL, 10)
                     : 400000; /* five doubles each */
    for (long i = 0; i < count; i++) {
        uint64_t r = rng();
        /* any bit pattern (NaN and infinities skipped) */
        double v = from_bits(r);
        if (isfinite(v))
            check_format(v);
        /* subnormals */
        check_format(from_bits(r & 0x800fffffffffffffu));
        /* the fast path's range, [1e-8, 1e16], any mantissa */
        int e = (int)(rng() % 82) - 28;
        check_format(ldexp(1.0 + (double)(r >> 12) / 4503599627370496.0, e));
        /* short decimals (metrics as people log them) and ratios */
        check_format((double)(int64_t)(r % 2000001 - 1000000) / 1000.0);
        check_format((double)(r % 100000) / (double)(1 + rng() % 997));
    }
    for (int e = -325; e <= 308; e++) {
        char d[32];
        snprintf(d, sizeof(d), "1e%d", e);
        check_format(strtod(d, NULL)); /* powers of ten */
    }
    for (int e = 0; e <= 1023; e++) { /* powers of two, beyond 2^53 too */
        check_format(ldexp(1, e));
        check_format(ldexp(1, e) + ldexp(1, e > 52 ? e - 52 : 0));
        check_format(-ldexp(1, -e));
    }
    for (int64_t i = -100000; i <= 100000; i++)
        check_format((double)i);
    CHECK_EQ_INT(format_failures, 0);
}

int main(void)
{
    test_i64();
    test_double();
    test_request_fields();
    test_format_double();
    TEST_MAIN_END("test_numtext");
}
