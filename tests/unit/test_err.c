/* SPDX-License-Identifier: MIT
 *
 * test_err: the error table: MLflow's code names and HTTP statuses.
 */
#include "err.h"
#include "test.h"

#include <string.h>

static void test_err_table(void)
{
    CHECK_EQ_STR(err_code_name(SRV_E_RESOURCE_ALREADY_EXISTS),
                 "RESOURCE_ALREADY_EXISTS");
    CHECK_EQ_INT(err_http_status(SRV_E_RESOURCE_ALREADY_EXISTS), 400);
    CHECK_EQ_INT(err_http_status(SRV_E_RESOURCE_DOES_NOT_EXIST), 404);
    CHECK_EQ_INT(err_http_status(SRV_E_METHOD_NOT_ALLOWED), 405);
    CHECK_EQ_STR(err_code_name(SRV_E_METHOD_NOT_ALLOWED), "BAD_REQUEST");
    CHECK_EQ_INT(err_http_status(SRV_E_TOO_LARGE), 413);
    CHECK_EQ_INT(err_http_status(SRV_E_INVALID_STATE), 500);
    CHECK_EQ_INT(err_http_status(SRV_E_UNAVAILABLE), 503);
}

/* A message cut to fit never ends inside a UTF-8 sequence. */
static void test_err_set_cut(void)
{
    struct errbuf eb;
    char big[sizeof(eb.msg) * 2];
    for (size_t pad = 0; pad < 4; pad++) {
        size_t n = 0;
        for (; n < pad; n++)
            big[n] = 'x';
        while (n + 3 < sizeof(big)) { /* U+20AC, three bytes */
            big[n++] = '\xe2';
            big[n++] = '\x82';
            big[n++] = '\xac';
        }
        big[n] = '\0';
        CHECK_EQ_INT(err_set(&eb, SRV_E_BAD_REQUEST, "%s", big),
                     SRV_E_BAD_REQUEST);
        size_t len = strlen(eb.msg);
        CHECK(len >= sizeof(eb.msg) - 4 && len < sizeof(eb.msg));
        CHECK((len - pad) % 3 == 0);
    }
    CHECK_EQ_INT(err_set(&eb, SRV_E_BAD_REQUEST, "short \xc3\xa9"),
                 SRV_E_BAD_REQUEST);
    CHECK_EQ_STR(eb.msg, "short \xc3\xa9");
}

int main(void)
{
    test_err_table();
    test_err_set_cut();
    TEST_MAIN_END("test_err");
}
