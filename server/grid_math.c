/* SPDX-License-Identifier: MIT
 *
 * grid_math: ISO times, effective timelines, zone accounting and the
 * scheduling window search over intensity periods (see grid_math.h).
 */
#include "grid_math.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *grid_kind_name(enum grid_kind k)
{
    return k == GRID_ACTUAL ? "actual" : "forecast";
}

bool grid_kind_parse(const char *s, enum grid_kind *out)
{
    if (s && strcmp(s, "actual") == 0) {
        *out = GRID_ACTUAL;
        return true;
    }
    if (s && strcmp(s, "forecast") == 0) {
        *out = GRID_FORECAST;
        return true;
    }
    return false;
}

/*---- ISO 8601 ----*/

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* Reads exactly 'n' digits at '*p'. */
static bool digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

bool grid_parse_iso(const char *s, int64_t *ms)
{
    if (!s)
        return false;
    const char *p = s;
    int y, mo, d, h, mi, sec = 0, frac_ms = 0;
    if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) ||
        *p++ != '-' || !digits(&p, 2, &d) || (*p != 'T' && *p != ' '))
        return false;
    p++;
    if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi))
        return false;
    if (*p == ':') {
        p++;
        if (!digits(&p, 2, &sec))
            return false;
        if (*p == '.') {
            p++;
            int scale = 100, nd = 0;
            while (*p >= '0' && *p <= '9') {
                frac_ms += (*p - '0') * scale;
                scale /= 10;
                p++;
                nd++;
            }
            if (nd == 0)
                return false;
        }
    }
    int offset_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh, om = 0;
        p++;
        if (!digits(&p, 2, &oh))
            return false;
        if (*p == ':')
            p++;
        if (*p && !digits(&p, 2, &om))
            return false;
        offset_min = sign * (oh * 60 + om);
    } else {
        return false; /* a time without a zone is ambiguous */
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
        sec > 60)
        return false;
    int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec;
    *ms = (secs - (int64_t)offset_min * 60) * 1000 + frac_ms;
    return true;
}

static void split_ms(int64_t ms, int64_t *y, unsigned *mo, unsigned *d, int *h,
                     int *mi, int *s)
{
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t rem = secs - days * 86400;
    civil_from_days(days, y, mo, d);
    *h = (int)(rem / 3600);
    *mi = (int)(rem % 3600 / 60);
    *s = (int)(rem % 60);
}

char *grid_format_iso(int64_t ms, char *buf, size_t len)
{
    int64_t y;
    unsigned mo, d;
    int h, mi, s;
    split_ms(ms, &y, &mo, &d, &h, &mi, &s);
    snprintf(buf, len, "%04lld-%02u-%02uT%02d:%02d:%02dZ", (long long)y, mo, d,
             h, mi, s);
    return buf;
}

char *grid_format_iso_minute(int64_t ms, char *buf, size_t len)
{
    int64_t y;
    unsigned mo, d;
    int h, mi, s;
    split_ms(ms, &y, &mo, &d, &h, &mi, &s);
    snprintf(buf, len, "%04lld-%02u-%02uT%02d:%02dZ", (long long)y, mo, d, h,
             mi);
    return buf;
}

/*---- timelines ----*/

/* Priority order: actual first, newest fetch, source name, then time. */
static int by_priority(const void *pa, const void *pb)
{
    const struct grid_point *a = pa, *b = pb;
    if (a->kind != b->kind)
        return a->kind == GRID_ACTUAL ? -1 : 1;
    if (a->fetched_ms != b->fetched_ms)
        return a->fetched_ms > b->fetched_ms ? -1 : 1;
    int c = strcmp(a->source, b->source);
    if (c)
        return c;
    return (a->start_ms > b->start_ms) - (a->start_ms < b->start_ms);
}

static int by_start(const void *pa, const void *pb)
{
    const struct grid_point *a = pa, *b = pb;
    return (a->start_ms > b->start_ms) - (a->start_ms < b->start_ms);
}

/* First piece of sorted 'tl' whose end is after 't'. */
static size_t first_ending_after(const struct grid_point *tl, size_t m,
                                 int64_t t)
{
    size_t lo = 0, hi = m;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (tl[mid].end_ms <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

size_t grid_timeline(const struct grid_point *pts, size_t n,
                     struct grid_point **out)
{
    *out = NULL;
    if (n == 0)
        return 0;
    struct grid_point *cand = malloc(n * sizeof(*cand));
    /* Each candidate adds new boundaries only at its own two ends, so the
     * timeline never holds more than 2n pieces, nor a candidate more than
     * 2n + 1 gaps. */
    size_t cap = 2 * n + 1;
    struct grid_point *tl = malloc(cap * sizeof(*tl));
    struct grid_point *pieces = malloc(cap * sizeof(*pieces));
    if (!cand || !tl || !pieces) {
        free(cand);
        free(tl);
        free(pieces);
        return (size_t)-1;
    }
    memcpy(cand, pts, n * sizeof(*cand));
    qsort(cand, n, sizeof(*cand), by_priority);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const struct grid_point *c = &cand[i];
        if (c->end_ms <= c->start_ms || !isfinite(c->g_per_kwh))
            continue;
        size_t np = 0;
        int64_t cursor = c->start_ms;
        for (size_t j = first_ending_after(tl, m, c->start_ms);
             j < m && tl[j].start_ms < c->end_ms && np + 1 < cap; j++) {
            if (tl[j].start_ms > cursor) {
                pieces[np] = *c;
                pieces[np].start_ms = cursor;
                pieces[np].end_ms = tl[j].start_ms;
                np++;
            }
            if (tl[j].end_ms > cursor)
                cursor = tl[j].end_ms;
        }
        if (cursor < c->end_ms && np < cap) {
            pieces[np] = *c;
            pieces[np].start_ms = cursor;
            np++;
        }
        if (np == 0)
            continue;
        if (m + np > cap)
            np = cap - m; /* cannot happen (see above); stay in bounds */
        memcpy(tl + m, pieces, np * sizeof(*pieces));
        m += np;
        qsort(tl, m, sizeof(*tl), by_start);
    }
    free(cand);
    free(pieces);
    if (m == 0) {
        free(tl);
        return 0;
    }
    *out = tl;
    return m;
}

/*---- zone accounting ----*/

static const char *const source_names[GRID_COVER_SOURCES] = {
    "ukci", "electricitymaps", "watttime", "other"};

int grid_source_index(const char *source)
{
    for (int i = 0; i < GRID_COVER_SOURCES - 1; i++) {
        if (source && strcmp(source, source_names[i]) == 0)
            return i;
    }
    return GRID_COVER_SOURCES - 1;
}

const char *grid_source_name(int i)
{
    return i >= 0 && i < GRID_COVER_SOURCES ? source_names[i] : "other";
}

void grid_cover_add(struct grid_cover *acc, const struct grid_point *tl,
                    size_t m, int64_t start_ms, int64_t end_ms, double joules)
{
    if (end_ms <= start_ms || !(joules > 0)) {
        return;
    }
    double span = (double)(end_ms - start_ms);
    double used = 0;
    for (size_t j = first_ending_after(tl, m, start_ms);
         j < m && tl[j].start_ms < end_ms; j++) {
        int64_t a = tl[j].start_ms > start_ms ? tl[j].start_ms : start_ms;
        int64_t b = tl[j].end_ms < end_ms ? tl[j].end_ms : end_ms;
        if (b <= a)
            continue;
        double part = joules * (double)(b - a) / span;
        used += part;
        acc->covered_j += part;
        acc->covered_gj += part * tl[j].g_per_kwh;
        if (tl[j].kind == GRID_ACTUAL)
            acc->actual_j += part;
        else
            acc->forecast_j += part;
        int si = grid_source_index(tl[j].source);
        acc->source_j[si][tl[j].kind == GRID_ACTUAL ? 0 : 1] += part;
        if (!acc->basis[si][0])
            snprintf(acc->basis[si], sizeof(acc->basis[si]), "%s", tl[j].basis);
    }
    double rest = joules - used;
    if (rest > joules * 1e-12)
        acc->uncovered_j += rest;
}

void grid_cover_label(const struct grid_cover *acc, const char *zone, char *buf,
                      size_t len)
{
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; i < GRID_COVER_SOURCES && off < len; i++) {
        bool a = acc->source_j[i][0] > 0, f = acc->source_j[i][1] > 0;
        if (!a && !f)
            continue;
        int w = snprintf(buf + off, len - off, "%s%s:%s %s", off ? ", " : "",
                         source_names[i], zone,
                         a && f ? "actual+forecast"
                         : a    ? "actual"
                                : "forecast");
        if (w < 0)
            break;
        off += (size_t)w;
    }
}

/*---- scheduling ----*/

bool grid_window_mean(const struct grid_point *tl, size_t m, int64_t start_ms,
                      int64_t end_ms, double *mean)
{
    if (end_ms <= start_ms)
        return false;
    int64_t cursor = start_ms;
    double sum = 0;
    for (size_t j = first_ending_after(tl, m, start_ms);
         j < m && cursor < end_ms; j++) {
        if (tl[j].start_ms > cursor)
            return false; /* a gap */
        int64_t b = tl[j].end_ms < end_ms ? tl[j].end_ms : end_ms;
        sum += tl[j].g_per_kwh * (double)(b - cursor);
        cursor = b;
    }
    if (cursor < end_ms)
        return false;
    *mean = sum / (double)(end_ms - start_ms);
    return true;
}

enum grid_schedule_result grid_schedule_best(const struct grid_point *tl,
                                             size_t m, int64_t now_ms,
                                             int64_t within_ms,
                                             int64_t duration_ms,
                                             struct grid_schedule *out)
{
    memset(out, 0, sizeof(*out));
    out->best_start_ms = now_ms;
    int64_t cursor = now_ms;
    for (size_t j = first_ending_after(tl, m, now_ms);
         j < m && tl[j].start_ms <= cursor; j++)
        cursor = tl[j].end_ms;
    out->covered_until_ms = cursor;
    if (!grid_window_mean(tl, m, now_ms, now_ms + duration_ms, &out->now_mean))
        return GRID_SCHEDULE_NOW_NOT_COVERED;
    out->best_mean = out->now_mean;
    out->candidates = 1;
    int64_t last = now_ms + within_ms;
    for (size_t j = first_ending_after(tl, m, now_ms); j < m; j++) {
        const int64_t bounds[2] = {tl[j].start_ms, tl[j].end_ms};
        if (bounds[0] > last)
            break;
        for (int k = 0; k < 2; k++) {
            int64_t c = bounds[k];
            if (c <= now_ms || c > last)
                continue;
            if (k == 0 && j > 0 && tl[j - 1].end_ms == c)
                continue; /* the same boundary, seen as the previous end */
            double mean;
            if (!grid_window_mean(tl, m, c, c + duration_ms, &mean))
                continue;
            out->candidates++;
            double tol =
                1e-9 * (fabs(out->best_mean) > 1 ? fabs(out->best_mean) : 1.0);
            if (mean < out->best_mean - tol) {
                out->best_mean = mean;
                out->best_start_ms = c;
            }
        }
    }
    return GRID_SCHEDULE_OK;
}
