/* SPDX-License-Identifier: MIT
 *
 * test_strbuf: strbuf's JSON writers: string escapes, doubles that read
 * back exactly, NaN and infinities, int64, detaching an empty buffer.
 */
#include "strbuf.h"
#include "test.h"

#include <math.h>
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
    } doubles[] = {{0.1, "0.1"}, /* the shortest that reads back */
                   {1e15, "1e+15"},
                   {123456789012345.0, "123456789012345"},
                   {-0.0, "-0"},
                   {1.5e-7, "1.5e-07"},
                   {2.0 / 3, "0.6666666666666666"},
                   {1.0, "1"},
                   {-2.5, "-2.5"},
                   {1e300, "1e+300"},
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
    /* two digits at a time: every length, both ends of the range */
    static const struct {
        int64_t v;
        const char *text;
    } ints[] = {{0, "0"},
                {7, "7"},
                {10, "10"},
                {99, "99"},
                {100, "100"},
                {-5, "-5"},
                {12345, "12345"},
                {INT64_MAX, "9223372036854775807"},
                {INT64_MIN, "-9223372036854775808"}};
    for (size_t i = 0; i < sizeof(ints) / sizeof(*ints); i++) {
        strbuf_init(&sb);
        strbuf_append_i64(&sb, ints[i].v);
        CHECK_EQ_STR(sb.buf, ints[i].text);
        strbuf_cleanup(&sb);
    }
    strbuf_init(&sb);
    s = strbuf_detach(&sb, NULL); /* empty buffer detaches as "" */
    CHECK_EQ_STR(s, "");
    free(s);
}

int main(void)
{
    test_strbuf();
    TEST_MAIN_END("test_strbuf");
}
