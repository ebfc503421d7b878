/* SPDX-License-Identifier: MIT
 *
 * err: the error-code table and the errbuf formatter (see err.h).
 */
#include "err.h"

#include <stdio.h>

const char *err_code_name(enum srv_err e)
{
    switch (e) {
#define SRV_ERR_NAME(name, code, status)                                       \
    case name:                                                                 \
        return code;
        FOR_EACH_SRV_ERR(SRV_ERR_NAME)
#undef SRV_ERR_NAME
    }
    return "INTERNAL_ERROR";
}

unsigned err_http_status(enum srv_err e)
{
    switch (e) {
#define SRV_ERR_STATUS(name, code, status)                                     \
    case name:                                                                 \
        return status;
        FOR_EACH_SRV_ERR(SRV_ERR_STATUS)
#undef SRV_ERR_STATUS
    }
    return 500;
}

enum srv_err err_set(struct errbuf *eb, enum srv_err e, const char *fmt, ...)
{
    if (eb) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(eb->msg, sizeof(eb->msg), fmt, ap);
        va_end(ap);
    }
    return e;
}
