/* SPDX-License-Identifier: MIT
 *
 * test_jsonx: jsonx's body checks (parse_body: UTF-8, integers, nesting)
 * and its typed getters, JSON bodies and query values alike.
 */
#include "jsonx.h"
#include "test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* Values as MLflow's messages show them: Python's str() and repr(). */
static void test_python_values(void)
{
    static const struct {
        double d;
        const char *repr;
    } floats[] = {
        {9.0, "9.0"},
        {0.1, "0.1"},
        {-2.5, "-2.5"},
        {1e16, "1e+16"},
        {1.5e-5, "1.5e-05"},
        {0.0001, "0.0001"},
        {123.456, "123.456"},
        {1234567890123456.0, "1234567890123456.0"},
        {1e300, "1e+300"},
        {-0.0, "-0.0"},
        {1.0 / 3, "0.3333333333333333"},
    };
    char buf[40];
    for (size_t i = 0; i < sizeof(floats) / sizeof(*floats); i++)
        CHECK_EQ_STR(jx_py_float(floats[i].d, buf, sizeof(buf)),
                     floats[i].repr);
    CHECK_EQ_STR(jx_py_float(NAN, buf, sizeof(buf)), "nan");
    CHECK_EQ_STR(jx_py_float(-INFINITY, buf, sizeof(buf)), "-inf");

    cJSON *j = NULL;
    CHECK_EQ_INT(parse("{\"i\":9,\"f\":9.0,\"e\":1E2,\"s\":\"foo\","
                       "\"b\":true,\"l\":[{\"key\":\"m\",\"v\":1.5,"
                       "\"n\":null,\"q\":\"it's\"}],\"o\":{}}",
                       &j),
                 SRV_OK);
    static const struct {
        const char *field, *str, *type;
    } values[] = {
        {"i", "9", "int"},
        {"f", "9.0", "float"},
        {"e", "100.0", "float"},
        {"s", "foo", "str"},
        {"b", "True", "bool"},
        {"l", "[{'key': 'm', 'v': 1.5, 'n': None, 'q': \"it's\"}]", "list"},
        {"o", "{}", "dict"},
    };
    for (size_t i = 0; i < sizeof(values) / sizeof(*values); i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, values[i].field);
        struct strbuf sb;
        strbuf_init(&sb);
        jx_py_str(&sb, v);
        CHECK_EQ_STR(sb.buf, values[i].str);
        CHECK_EQ_STR(jx_py_type(v), values[i].type);
        strbuf_cleanup(&sb);
    }
    struct errbuf eb;
    const char *s;
    CHECK_EQ_INT(jx_str(j, "f", true, &s, &eb), SRV_E_INVALID_PARAMETER_VALUE);
    CHECK_EQ_STR(eb.msg, "Invalid value 9.0 for parameter 'f' supplied. "
                         "Hint: Value was of type 'float'. See the API docs "
                         "for more information about request parameters.");
    cJSON_Delete(j);
    /* a double-encoded body is marked from its inner text */
    CHECK_EQ_INT(parse("\"{\\\"x\\\": 2.0}\"", &j), SRV_OK);
    CHECK_EQ_STR(jx_py_type(cJSON_GetObjectItemCaseSensitive(j, "x")), "float");
    cJSON_Delete(j);
}

int main(void)
{
    test_python_values();
    test_parse_body();
    test_getters();
    TEST_MAIN_END("test_jsonx");
}
