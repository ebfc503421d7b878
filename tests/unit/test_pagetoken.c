/* SPDX-License-Identifier: MIT
 *
 * test_pagetoken: page tokens round-trip; malformed and negative ones
 * are rejected.
 */
#include "pagetoken.h"
#include "strbuf.h"
#include "test.h"

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

int main(void)
{
    test_pagetoken();
    TEST_MAIN_END("test_pagetoken");
}
