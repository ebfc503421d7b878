/* SPDX-License-Identifier: MIT
 *
 * numtext: numbers written as text (a query-string value, a number sent as
 * a JSON string, a tag, a flag, a CSV cell), parsed strictly. A decimal
 * integer is an optional '-' and digits; a decimal number adds an
 * optional fraction and exponent ("-1.5e+3", ".5", "5."). Nothing else
 * is a number here: no '+' sign, no whitespace, no hex ("0x10"), no '_'
 * separators, no "inf" or "nan" spellings, which strtod and Python's
 * float() would take. With NUMTEXT_SPECIALS the three spellings protobuf's
 * JSON mapping defines, "NaN", "Infinity" and "-Infinity" (exactly), are
 * numbers too. Pure; thread-safe.
 */
#ifndef SERVER_NUMTEXT_H
#define SERVER_NUMTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum numtext_flag {
    NUMTEXT_SPECIALS = 1, /* "NaN", "Infinity", "-Infinity" */
    NUMTEXT_OVERFLOW = 2  /* a decimal beyond the double range reads as
                             +-infinity (as Python's float() does), else
                             it is refused */
};

/* A decimal integer in [INT64_MIN, INT64_MAX] into '*out'; false (and
 * '*out' untouched) for anything else. */
bool numtext_i64(const char *s, int64_t *out);

/* A decimal number (see above) into '*out'; false for anything else. A
 * result that underflows reads as the nearest representable value. */
bool numtext_double(const char *s, unsigned flags, double *out);

/* Room numtext_format_double needs, its terminating NUL included. */
#define NUMTEXT_DOUBLE_MAX 32

/* Writes finite 'v' into 'buf' (NUMTEXT_DOUBLE_MAX bytes, NUL-terminated)
 * as the shortest decimal that strtod reads back to the same bits, in a
 * form JSON takes: "0.1", "-2.5", "1234500", "1.5e-07", "1e+300"; zero is
 * "0" and negative zero "-0". Returns the length. The digits are
 * computed in extended precision and checked exactly (Clinger's fast
 * path) for |v| in [1e-7, 1e15); other values, and the rare ones whose
 * digits are in doubt, take snprintf("%.15g", then 16, then 17) with a
 * strtod check. Not for NaN or infinities. */
size_t numtext_format_double(double v, char *buf);

/* The value of one hexadecimal digit (0-9, a-f, A-F), or -1 for any other
 * character. */
int numtext_hex_digit(int c);

#endif
