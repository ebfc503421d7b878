/* SPDX-License-Identifier: MIT
 *
 * numtext: see numtext.h. The grammar is checked by hand first, so strtod
 * and strtoll only ever see text they read completely and the same way in
 * every locale-free build.
 */
#include "numtext.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
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

/*---- shortest round-trip formatting ----*/

static const char DIGIT_PAIRS[] = "00010203040506070809"
                                  "10111213141516171819"
                                  "20212223242526272829"
                                  "30313233343536373839"
                                  "40414243444546474849"
                                  "50515253545556575859"
                                  "60616263646566676869"
                                  "70717273747576777879"
                                  "80818283848586878889"
                                  "90919293949596979899";

/* Powers of ten exact in a double (up to 1e22) and in the extended
 * long double (up to 1e27: 5^27 < 2^64). */
static const double P10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                             1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                             1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
static const long double P10L[] = {
    1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,  1e7L,  1e8L,  1e9L,
    1e10L, 1e11L, 1e12L, 1e13L, 1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L,
    1e20L, 1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L};

/* The decimal digits of 'm' (> 0) into 'out' (20 bytes); their count. */
static int u64_digits(uint64_t m, char *out)
{
    char tmp[20];
    char *p = tmp + sizeof(tmp);
    while (m >= 100) {
        unsigned r = (unsigned)(m % 100);
        m /= 100;
        p -= 2;
        memcpy(p, DIGIT_PAIRS + 2 * r, 2);
    }
    if (m >= 10) {
        p -= 2;
        memcpy(p, DIGIT_PAIRS + 2 * m, 2);
    } else {
        *--p = (char)('0' + m);
    }
    int n = (int)(tmp + sizeof(tmp) - p);
    memcpy(out, p, (size_t)n);
    return n;
}

/* Writes (-)m * 10^e10 (m > 0) as %g would with 17 digits of precision:
 * fixed for decimal exponents -5 < X < 17, else d.ddde+XX. */
static size_t emit(bool neg, uint64_t m, int e10, char *buf)
{
    while (m % 10 == 0) {
        m /= 10;
        e10++;
    }
    char d[20];
    int nd = u64_digits(m, d);
    int x = e10 + nd - 1; /* the leading digit's exponent */
    char *p = buf;
    if (neg)
        *p++ = '-';
    if (x < -4 || x >= 17) {
        *p++ = d[0];
        if (nd > 1) {
            *p++ = '.';
            memcpy(p, d + 1, (size_t)(nd - 1));
            p += nd - 1;
        }
        *p++ = 'e';
        *p++ = x < 0 ? '-' : '+';
        unsigned ax = (unsigned)(x < 0 ? -x : x);
        if (ax >= 100)
            *p++ = (char)('0' + ax / 100);
        memcpy(p, DIGIT_PAIRS + 2 * (ax % 100), 2);
        p += 2;
    } else if (x >= 0) {
        if (nd > x + 1) {
            memcpy(p, d, (size_t)(x + 1));
            p += x + 1;
            *p++ = '.';
            memcpy(p, d + x + 1, (size_t)(nd - x - 1));
            p += nd - x - 1;
        } else {
            memcpy(p, d, (size_t)nd);
            p += nd;
            memset(p, '0', (size_t)(x + 1 - nd));
            p += x + 1 - nd;
        }
    } else {
        *p++ = '0';
        *p++ = '.';
        memset(p, '0', (size_t)(-x - 1));
        p += -x - 1;
        memcpy(p, d, (size_t)nd);
        p += nd;
    }
    *p = '\0';
    return (size_t)(p - buf);
}

/* Whether m * 10^-s (0 <= s <= 22) reads back as 'a': exact when m is a
 * double (then the one division rounds correctly, as strtod does);
 * '*sure' false when that could not be checked. */
static bool reads_back(uint64_t m, int s, double a, bool *sure)
{
    double dm = (double)m;
    if (m == 0 || dm >= 18446744073709551616.0 || (uint64_t)dm != m) {
        *sure = false;
        return false;
    }
    return dm / P10[s] == a;
}

/* The integer nearest x (0 <= x < 2^62). On x86's 80-bit long double,
 * x + 2^63 has a unit last place, so the addition rounds x (in the
 * nearest mode) and the significand, read as an integer, is 2^63 plus
 * the result: no call and no rounding-mode switch. */
static uint64_t nearest_u64(long double x)
{
#if defined(__x86_64__) && LDBL_MANT_DIG == 64
    long double t = x + 0x1p63L;
    uint64_t sig;
    memcpy(&sig, &t, sizeof(sig)); /* the significand comes first */
    return sig - ((uint64_t)1 << 63);
#else
    return (uint64_t)llrintl(x);
#endif
}

/* The integer nearest x = a * 10^s, or a neighbour, that reads back as
 * 'a', into '*c'. Only an integer within half of a's ulp, a * 2^-53 at
 * most (x is within x * 2^-63 of the exact product; 1% of margin), can
 * read back: the others are skipped without a division. */
static bool try_digits(double a, long double x, int s, uint64_t *c, bool *sure)
{
    uint64_t m = nearest_u64(x);
    long double reach = x * 0x1p-53L * 1.01L;
    for (int t = 0; t < 3; t++) {
        uint64_t cand = t == 0 ? m : t == 1 ? m + 1 : m - 1;
        long double d = (long double)cand - x;
        if (d > reach || -d > reach)
            continue;
        if (reads_back(cand, s, a, sure)) {
            *c = cand;
            return true;
        }
    }
    return false;
}

/* The fast path for 'a' (> 0, finite): 0 when it cannot decide. */
static size_t format_fast(bool neg, double a, char *buf)
{
    if (!(a >= 1e-7 && a < 1e15))
        return 0;
    uint64_t bits;
    memcpy(&bits, &a, sizeof(bits));
    int e2 = (int)((bits >> 52) & 0x7ff) - 1022; /* a normal: frexp's */
    /* floor((e2 - 1) * log10(2)): the decimal exponent or one less */
    int k = ((e2 - 1) * 78913) >> 18;
    long double x17 = (long double)a * P10L[16 - k];
    if (x17 >= 1e17L) {
        k++;
        x17 = (long double)a * P10L[16 - k];
    }
    if (k < -7 || k > 14)
        return 0;
    /* 15 digits: the one candidate that can read back (DBL_DIG), and it
     * is the shortest once its trailing zeros go; then 16 digits, the
     * nearest first */
    bool sure = true;
    uint64_t c;
    if (try_digits(a, (long double)a * P10L[14 - k], 14 - k, &c, &sure))
        return emit(neg, c, k - 14, buf);
    if (!sure)
        return 0;
    if (try_digits(a, (long double)a * P10L[15 - k], 15 - k, &c, &sure))
        return emit(neg, c, k - 15, buf);
    if (!sure)
        return 0;
    /* 17 digits always read back when rounded correctly: x17 is within
     * 2^-7 of the exact product, so the rounding is certain unless the
     * fraction is close to a half */
    uint64_t m = nearest_u64(x17);
    long double off = x17 - (long double)m; /* in [-0.5, 0.5] */
    if (off > 0.5L - 1.0L / 64 || off < -0.5L + 1.0L / 64)
        return 0;
    return emit(neg, m, k - 16, buf);
}

size_t numtext_format_double(double v, char *buf)
{
    if (v == 0) {
        size_t n = signbit(v) ? 2 : 1;
        memcpy(buf, signbit(v) ? "-0" : "0", n + 1);
        return n;
    }
    size_t n = format_fast(signbit(v) != 0, fabs(v), buf);
    if (n)
        return n;
    /* Exact, slower: the fewest %g digits that read back (%g drops the
     * trailing zeros). A normal double reads back from 15 digits when it
     * does from fewer (DBL_DIG), so 15, 16, 17 are tried; a subnormal has
     * fewer bits, so its digits are searched from 1 (reading back is
     * monotone in the digits). */
    /* %g with at most 17 digits writes at most 24 bytes; 'tmp' is sized
     * for any precision so that no compiler sees a truncation */
    char tmp[320];
    int lo = fabs(v) < DBL_MIN ? 1 : 15, hi = 17;
    while (lo < hi) {
        int mid = lo == 15 ? 15 : (lo + hi) / 2;
        snprintf(tmp, sizeof(tmp), "%.*g", mid, v);
        if (strtod(tmp, NULL) == v)
            hi = mid;
        else
            lo = mid + 1;
    }
    int len = snprintf(tmp, sizeof(tmp), "%.*g", lo, v);
    if (len <= 0 || len >= NUMTEXT_DOUBLE_MAX)
        len = 0;
    memcpy(buf, tmp, (size_t)len);
    buf[len] = '\0';
    return (size_t)len;
}

int numtext_hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}
