/* SPDX-License-Identifier: MIT
 *
 * prescan: the size scan of a raw JSON body (see prescan.h). It reads the
 * text the way cJSON does (bytes up to 32 are white space, a backslash
 * takes the next byte into the string), so its counts bound the tree's
 * even for text that fails to parse half-way: cJSON allocates a node per
 * value read before the error, and never one for text it has not read.
 * A string is a member name, not a value, when ':' follows it inside an
 * object; the kind of each open container is kept for the first 64
 * levels, and deeper every string counts (a bound stays a bound).
 */
#include "prescan.h"

#include <stdint.h>
#include <string.h>

/* Counts one value; false once past the limit. */
static bool count_value(struct prescan_stats *st,
                        const struct prescan_limits *lim)
{
    return ++st->values <= lim->max_values;
}

static enum srv_err too_many(const struct prescan_limits *lim,
                             struct errbuf *eb)
{
    return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                   "The request body holds more than %zu JSON values, the "
                   "limit of this endpoint",
                   lim->max_values);
}

enum srv_err prescan_json(const char *body, size_t len,
                          const struct prescan_limits *lim,
                          struct prescan_stats *out, struct errbuf *eb)
{
    struct prescan_stats st = {0};
    enum srv_err e = SRV_OK;
    unsigned depth = 0;
    uint64_t objects = 0;      /* bit i: level i + 1 is an object */
    bool in_token = false;     /* inside a number or a literal */
    bool after_string = false; /* a string ended: a name if ':' follows */
    bool seen = false;         /* anything but white space yet */
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)body[i];
        if (c <= 32) {
            in_token = false;
            i++;
            continue;
        }
        if (after_string) {
            after_string = false;
            bool name = c == ':' && depth >= 1 && depth <= 64 &&
                        (objects >> (depth - 1) & 1);
            if (!name && !count_value(&st, lim)) {
                e = too_many(lim, eb);
                break;
            }
        }
        if (!seen) {
            seen = true;
            st.top_string = c == '"';
        }
        if (c == '"') {
            in_token = false;
            size_t start = ++i;
            /* The closing quote is the first '"' not escaped by a
             * backslash (which takes the next byte, whatever it is):
             * memchr finds both at memory speed. Past max_string bytes
             * the string is too long, found or not, so no more is read. */
            size_t stop = len;
            if (lim->max_string < len - start)
                stop = start + lim->max_string + 1;
            while (i < stop) {
                const char *q = memchr(body + i, '"', stop - i);
                size_t end = q ? (size_t)(q - body) : stop;
                const char *bs = memchr(body + i, '\\', end - i);
                if (!bs) {
                    i = end;
                    break;
                }
                i = (size_t)(bs - body) + 2;
            }
            size_t slen = (i < len ? i : len) - start;
            if (slen > st.longest_string)
                st.longest_string = slen;
            if (slen > lim->max_string) {
                e = err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                            "The request body has a string longer than %zu "
                            "bytes, the limit of this endpoint",
                            lim->max_string);
                break;
            }
            after_string = true;
            i++; /* the closing quote */
            continue;
        }
        switch (c) {
        case '{':
        case '[':
            in_token = false;
            if (!count_value(&st, lim)) {
                e = too_many(lim, eb);
                goto out;
            }
            if (++depth > st.depth)
                st.depth = depth;
            if (depth <= 64) {
                uint64_t bit = (uint64_t)1 << (depth - 1);
                objects = c == '{' ? objects | bit : objects & ~bit;
            }
            if (depth > lim->max_depth) {
                e = err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                            "The request body nests JSON deeper than %u "
                            "levels, the limit of this endpoint",
                            lim->max_depth);
                goto out;
            }
            break;
        case '}':
        case ']':
            in_token = false;
            if (depth)
                depth--;
            break;
        case ',':
        case ':':
            in_token = false;
            break;
        default:
            if (!in_token) {
                in_token = true;
                if (!count_value(&st, lim)) {
                    e = too_many(lim, eb);
                    goto out;
                }
            }
            break;
        }
        i++;
    }
    if (!e && after_string && !count_value(&st, lim))
        e = too_many(lim, eb);
out:
    if (out)
        *out = st;
    return e;
}
