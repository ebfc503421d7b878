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
        int n = vsnprintf(eb->msg, sizeof(eb->msg), fmt, ap);
        va_end(ap);
        if (n >= (int)sizeof(eb->msg)) {
            /* cut: drop a UTF-8 sequence left incomplete at the end */
            size_t len = sizeof(eb->msg) - 1, start = len;
            while (start > 0 &&
                   ((unsigned char)eb->msg[start - 1] & 0xC0) == 0x80)
                start--;
            if (start > 0 && (unsigned char)eb->msg[start - 1] >= 0xC0) {
                unsigned char lead = (unsigned char)eb->msg[start - 1];
                size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
                if (len - (start - 1) < need)
                    eb->msg[start - 1] = '\0';
            }
        }
    }
    return e;
}
