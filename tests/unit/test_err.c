/* SPDX-License-Identifier: MIT
 *
 * test_err: the error table: MLflow's code names and HTTP statuses.
 */
#include "err.h"
#include "test.h"

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

int main(void)
{
    test_err_table();
    TEST_MAIN_END("test_err");
}
