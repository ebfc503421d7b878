/* SPDX-License-Identifier: MIT
 *
 * strbuf: growable buffer and the JSON text helpers built on it.
 */
#include "strbuf.h"

#include "numtext.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void strbuf_init(struct strbuf *sb)
{
    sb->buf = NULL;
    sb->len = 0;
    sb->cap = 0;
    sb->oom = false;
}

void strbuf_cleanup(struct strbuf *sb)
{
    free(sb->buf);
    strbuf_init(sb);
}

void strbuf_reset(struct strbuf *sb)
{
    sb->len = 0;
    if (sb->buf)
        sb->buf[0] = '\0';
}

static bool reserve(struct strbuf *sb, size_t extra)
{
    if (sb->oom)
        return false;
    if (sb->len + extra + 1 <= sb->cap)
        return true;
    size_t cap = sb->cap ? sb->cap : 256;
    while (cap < sb->len + extra + 1) {
        if (cap > SIZE_MAX / 2) {
            sb->oom = true;
            return false;
        }
        cap *= 2;
    }
    char *p = realloc(sb->buf, cap);
    if (!p) {
        sb->oom = true;
        return false;
    }
    sb->buf = p;
    sb->cap = cap;
    return true;
}

bool strbuf_reserve(struct strbuf *sb, size_t extra)
{
    if (sb->oom)
        return false;
    if (extra >= SIZE_MAX - sb->len) {
        sb->oom = true;
        return false;
    }
    size_t want = sb->len + extra + 1;
    if (want <= sb->cap)
        return true;
    char *p = realloc(sb->buf, want);
    if (!p) {
        sb->oom = true;
        return false;
    }
    if (!sb->buf)
        p[0] = '\0';
    sb->buf = p;
    sb->cap = want;
    return true;
}

void strbuf_append(struct strbuf *sb, const void *data, size_t len)
{
    if (sb->len + len + 1 > sb->cap && !reserve(sb, len))
        return;
    if (len)
        memcpy(sb->buf + sb->len, data, len);
    sb->len += len;
    sb->buf[sb->len] = '\0';
}

void strbuf_append_str(struct strbuf *sb, const char *s)
{
    strbuf_append(sb, s, strlen(s));
}

void strbuf_append_char(struct strbuf *sb, char c)
{
    if (sb->len + 2 > sb->cap && !reserve(sb, 1))
        return;
    sb->buf[sb->len++] = c;
    sb->buf[sb->len] = '\0';
}

void strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
    char small[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(small)) {
        strbuf_append(sb, small, (size_t)n);
        return;
    }
    if (!reserve(sb, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
}

char *strbuf_detach(struct strbuf *sb, size_t *len_out)
{
    if (sb->oom) {
        strbuf_cleanup(sb);
        return NULL;
    }
    if (!sb->buf && !reserve(sb, 0))
        return NULL;
    if (sb->len == 0)
        sb->buf[0] = '\0';
    char *p = sb->buf;
    if (len_out)
        *len_out = sb->len;
    strbuf_init(sb);
    return p;
}

void strbuf_append_json_str(struct strbuf *sb, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    if (!reserve(sb, len + 2))
        return;
    strbuf_append_char(sb, '"');
    size_t run = 0; /* start of the pending run of plain bytes */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        strbuf_append(sb, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"':
            strbuf_append(sb, "\\\"", 2);
            break;
        case '\\':
            strbuf_append(sb, "\\\\", 2);
            break;
        case '\n':
            strbuf_append(sb, "\\n", 2);
            break;
        case '\r':
            strbuf_append(sb, "\\r", 2);
            break;
        case '\t':
            strbuf_append(sb, "\\t", 2);
            break;
        default: {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            strbuf_append(sb, esc, 6);
        }
        }
    }
    strbuf_append(sb, s + run, len - run);
    strbuf_append_char(sb, '"');
}

void strbuf_append_json_double(struct strbuf *sb, double v)
{
    if (isnan(v)) {
        strbuf_append_str(sb, "\"NaN\"");
        return;
    }
    if (isinf(v)) {
        strbuf_append_str(sb, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        return;
    }
    if (v == floor(v) && fabs(v) < 1e15 && !(v == 0 && signbit(v))) {
        strbuf_append_i64(sb, (int64_t)v); /* the common integral case */
        return;
    }
    /* The shortest text that reads back exactly (numtext.h): one
     * conversion per value matters for 100,000-point histories, and
     * 0.1 goes out as 0.1, not 0.10000000000000001. */
    char tmp[NUMTEXT_DOUBLE_MAX];
    size_t n = numtext_format_double(v, tmp);
    strbuf_append(sb, tmp, n);
}

void strbuf_append_i64(struct strbuf *sb, int64_t v)
{
    /* Digits by hand, two at a time: snprintf costs several times more,
     * and histories print two integers per point. */
    static const char pairs[] = "00010203040506070809"
                                "10111213141516171819"
                                "20212223242526272829"
                                "30313233343536373839"
                                "40414243444546474849"
                                "50515253545556575859"
                                "60616263646566676869"
                                "70717273747576777879"
                                "80818283848586878889"
                                "90919293949596979899";
    char tmp[24];
    char *end = tmp + sizeof(tmp), *p = end;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    while (u >= 100) {
        unsigned r = (unsigned)(u % 100);
        u /= 100;
        p -= 2;
        memcpy(p, pairs + 2 * r, 2);
    }
    if (u >= 10) {
        p -= 2;
        memcpy(p, pairs + 2 * u, 2);
    } else {
        *--p = (char)('0' + u);
    }
    if (v < 0)
        *--p = '-';
    strbuf_append(sb, p, (size_t)(end - p));
}
