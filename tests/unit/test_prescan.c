/* SPDX-License-Identifier: MIT
 *
 * test_prescan: the size scan of raw JSON bodies (prescan.c): its counts
 * against hand-counted bodies and against cJSON's own trees, each limit
 * refused at the byte that passes it, strings with escapes, names that are
 * not values, broken text, and a hostile 4 MiB body refused early.
 */
#include "prescan.h"
#include "test.h"

#include <stdlib.h>

#include <cjson/cJSON.h>

static const struct prescan_limits roomy = {64, 1000000, 1 << 20};

static struct prescan_stats scan(const char *s)
{
    struct prescan_stats st;
    enum srv_err e = prescan_json(s, strlen(s), &roomy, &st, NULL);
    CHECK_EQ_INT(e, SRV_OK);
    return st;
}

static void test_counts(void)
{
    struct prescan_stats st = scan("");
    CHECK_EQ_INT(st.values, 0);
    CHECK_EQ_INT(st.depth, 0);
    st = scan("{}");
    CHECK_EQ_INT(st.values, 1);
    CHECK_EQ_INT(st.depth, 1);
    CHECK(!st.top_string);
    /* names are not values; every value is */
    st = scan("{\"run_id\": \"abc\", \"metrics\": [{\"key\": \"k\", "
              "\"value\": 1.5, \"timestamp\": 17, \"step\": -3}]}");
    CHECK_EQ_INT(st.values, 8);
    CHECK_EQ_INT(st.depth, 3);
    CHECK_EQ_INT(st.longest_string, 9); /* "timestamp" */
    st = scan("[0,0,0,0,0]");
    CHECK_EQ_INT(st.values, 6);
    st = scan("[true,false,null,-1e+5,\"x\"]");
    CHECK_EQ_INT(st.values, 6);
    /* white space is any byte up to 32, as cJSON reads it */
    st = scan("\t{ \"a\" \r\n :\n[ 1 , 2 ]\f}");
    CHECK_EQ_INT(st.values, 4);
    /* a name is followed by ':' even across white space; a value is not */
    st = scan("{\"a\":\"b\",\"c\" :\"d\"}");
    CHECK_EQ_INT(st.values, 3);
    /* a string before ':' outside an object is a value (cJSON reads it
     * and then fails on the ':') */
    st = scan("\"{a\":");
    CHECK_EQ_INT(st.values, 1);
    st = scan("[\"a\":1]");
    CHECK_EQ_INT(st.values, 3);
    st = scan("{\"a\":[\"b\":{\"c\":\"d\"}]}");
    CHECK_EQ_INT(st.values, 5);
    st = scan("\"x\"");
    CHECK_EQ_INT(st.values, 1);
    CHECK(st.top_string);
    st = scan("  \"{\\\"a\\\":1}\"  ");
    CHECK(st.top_string);
    CHECK_EQ_INT(st.values, 1);
}

static void test_strings(void)
{
    /* escapes are counted raw: an escaped quote does not end the string */
    struct prescan_stats st = scan("[\"a\\\"b\", \"\\\\\", \"\\u00e9\"]");
    CHECK_EQ_INT(st.values, 4);
    CHECK_EQ_INT(st.longest_string, 6); /* \u00e9 */
    /* brackets and commas inside strings are text */
    st = scan("{\"k\":\"[[[,,,{{{]]]\"}");
    CHECK_EQ_INT(st.values, 2);
    CHECK_EQ_INT(st.depth, 1);
    /* an unterminated string, or one cut after a backslash, still counts */
    st = scan("[\"abc");
    CHECK_EQ_INT(st.values, 2);
    CHECK_EQ_INT(st.longest_string, 3);
    st = scan("[\"ab\\");
    CHECK_EQ_INT(st.longest_string, 3);
}

static void test_limits(void)
{
    struct prescan_limits lim = {3, 5, 4};
    struct prescan_stats st;
    struct errbuf eb;
    const char *ok = "[[[1,\"abcd\"]]]";
    CHECK_EQ_INT(prescan_json(ok, strlen(ok), &lim, &st, &eb), SRV_OK);
    CHECK_EQ_INT(st.values, 5);
    const char *deep = "[[[[1]]]]";
    CHECK_EQ_INT(prescan_json(deep, strlen(deep), &lim, &st, &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    CHECK(strstr(eb.msg, "deeper than 3") != NULL);
    const char *many = "[1,2,3,4,5]";
    CHECK_EQ_INT(prescan_json(many, strlen(many), &lim, &st, &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    CHECK(strstr(eb.msg, "more than 5 JSON values") != NULL);
    CHECK_EQ_INT(st.values, 6); /* stopped at the sixth */
    const char *longs = "[\"abcde\"]";
    CHECK_EQ_INT(prescan_json(longs, strlen(longs), &lim, &st, &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    CHECK(strstr(eb.msg, "longer than 4 bytes") != NULL);
    /* a long member name is refused as a long value is */
    const char *name = "{\"abcde\":1}";
    CHECK_EQ_INT(prescan_json(name, strlen(name), &lim, &st, &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    /* the last value, a string at the very end, is counted too */
    struct prescan_limits one = {3, 1, 10};
    CHECK_EQ_INT(prescan_json("\"a\"", 3, &one, &st, &eb), SRV_OK);
    CHECK_EQ_INT(prescan_json("\"a\" \"b\"", 7, &one, &st, &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    /* NULL out and errbuf are allowed */
    CHECK_EQ_INT(prescan_json(many, strlen(many), &lim, NULL, NULL),
                 SRV_E_INVALID_PARAMETER_VALUE);
}

/* Nodes of a cJSON tree, and its depth. */
static size_t tree_nodes(const cJSON *v, unsigned level, unsigned *depth)
{
    size_t n = 0;
    for (; v; v = v->next) {
        n++;
        if (cJSON_IsArray(v) || cJSON_IsObject(v)) {
            if (level + 1 > *depth)
                *depth = level + 1;
            n += tree_nodes(v->child, level + 1, depth);
        }
    }
    return n;
}

/* The scan's counts are the tree's exactly for well-formed bodies. */
static void test_matches_cjson(void)
{
    static const char *const bodies[] = {
        "{\"experiment_ids\":[\"1\",\"2\"],\"filter\":\"metrics.a > 1\","
        "\"max_results\":10,\"order_by\":[\"start_time DESC\"]}",
        "{\"run_id\":\"r\",\"metrics\":[{\"key\":\"a\",\"value\":1,"
        "\"timestamp\":2,\"step\":3},{\"key\":\"b\",\"value\":\"NaN\","
        "\"timestamp\":2}],\"params\":[],\"tags\":[{\"key\":\"t\","
        "\"value\":\"v\"}]}",
        "[[],{},[{}],{\"a\":[null,true,false]}]",
        "{\"a\":{\"b\":{\"c\":{\"d\":\"e\\\"}\"}}}}",
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(*bodies); i++) {
        struct prescan_stats st = scan(bodies[i]);
        cJSON *root = cJSON_Parse(bodies[i]);
        CHECK(root != NULL);
        unsigned depth = 0;
        size_t nodes = root ? tree_nodes(root, 0, &depth) : 0;
        CHECK_EQ_INT(st.values, nodes);
        CHECK_EQ_INT(st.depth, depth);
        cJSON_Delete(root);
    }
}

/* A hostile body: 4 MiB of [0,0,0,...] stops at the value after the
 * limit, a few kilobytes in. */
static void test_hostile_body_stops_early(void)
{
    size_t len = 4u << 20;
    char *body = malloc(len);
    CHECK(body != NULL);
    if (!body)
        return;
    body[0] = '[';
    for (size_t i = 1; i + 1 < len; i += 2) {
        body[i] = '0';
        body[i + 1] = ',';
    }
    body[len - 1] = ']';
    struct prescan_limits lim = {32, 1000, 1 << 20};
    struct prescan_stats st;
    CHECK_EQ_INT(prescan_json(body, len, &lim, &st, NULL),
                 SRV_E_INVALID_PARAMETER_VALUE);
    CHECK_EQ_INT(st.values, 1001);
    /* and one 4 MiB string stops at the string limit */
    body[0] = '"';
    for (size_t i = 1; i < len; i++)
        body[i] = 'a';
    CHECK_EQ_INT(prescan_json(body, len, &lim, &st, NULL),
                 SRV_E_INVALID_PARAMETER_VALUE);
    CHECK(st.longest_string > lim.max_string);
    CHECK(st.longest_string <= lim.max_string + 2);
    free(body);
}

int main(void)
{
    test_counts();
    test_strings();
    test_limits();
    test_matches_cjson();
    test_hostile_body_stops_early();
    TEST_MAIN_END("test_prescan");
}
