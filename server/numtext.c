/* SPDX-License-Identifier: MIT
 *
 * numtext: see numtext.h. The grammar is checked by hand first, so strtod
 * and strtoll only ever see text they read completely and the same way in
 * every locale-free build.
 */
#include "numtext.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool digit(char c)
{
    return c >= '0' && c <= '9';
}

bool numtext_i64(const char *s, int64_t *out)
{
    const char *p = s;
    if (*p == '-')
        p++;
    if (!digit(*p))
        return false;
    while (digit(*p))
        p++;
    if (*p)
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return false;
    *out = (int64_t)v;
    return true;
}

bool numtext_double(const char *s, unsigned flags, double *out)
{
    if (flags & NUMTEXT_SPECIALS) {
        if (strcmp(s, "NaN") == 0) {
            *out = NAN;
            return true;
        }
        if (strcmp(s, "Infinity") == 0) {
            *out = INFINITY;
            return true;
        }
        if (strcmp(s, "-Infinity") == 0) {
            *out = -INFINITY;
            return true;
        }
    }
    const char *p = s;
    size_t digits = 0;
    if (*p == '-')
        p++;
    while (digit(*p)) {
        p++;
        digits++;
    }
    if (*p == '.') {
        p++;
        while (digit(*p)) {
            p++;
            digits++;
        }
    }
    if (digits == 0)
        return false;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!digit(*p))
            return false;
        while (digit(*p))
            p++;
    }
    if (*p)
        return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end)
        return false;
    if (errno == ERANGE && isinf(v) && !(flags & NUMTEXT_OVERFLOW))
        return false;
    *out = v;
    return true;
}
