/* SPDX-License-Identifier: MIT
 *
 * runid: random run ids and their UUID spelling (see runid.h).
 */
#include "runid.h"

#include <stdio.h>
#include <sys/random.h>

void runid_to_uuid(const char *hex, char out[RUNID_UUID_LEN + 1])
{
    snprintf(out, RUNID_UUID_LEN + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8,
             hex + 12, hex + 16, hex + 20);
}

bool runid_from_uuid(const char *uuid, char out[RUN_ID_LEN + 1])
{
    size_t n = 0;
    for (const char *p = uuid; *p; p++) {
        char c = *p >= 'A' && *p <= 'F' ? (char)(*p - 'A' + 'a') : *p;
        if (c == '-')
            continue;
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) ||
            n == RUN_ID_LEN)
            return false;
        out[n++] = c;
    }
    out[n] = '\0';
    return n == RUN_ID_LEN;
}

void runid_random(char out[RUN_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16] = {0};
    if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
        b[0] ^= 1; /* cannot fail for 16 bytes; keep the id well-formed */
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[RUN_ID_LEN] = '\0';
}
