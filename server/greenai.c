/* SPDX-License-Identifier: MIT
 *
 * greenai: the pure arithmetic of Green-AI decisions (see greenai.h):
 * phase split, upstream chains, medians, cleanest regions, best window.
 */
#include "greenai.h"

#include "carbon.h"
#include "carbon_tables.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void greenai_phase_split(const struct greenai_sample *samples, size_t n,
                         const struct greenai_span *phases, size_t n_phases,
                         double *out)
{
    for (size_t i = 0; i < n_phases; i++) {
        const struct greenai_span *p = &phases[i];
        double j = 0;
        for (size_t k = 0; k < n; k++) {
            const struct greenai_sample *s = &samples[k];
            if (s->end_ms <= s->start_ms) {
                if (s->start_ms >= p->start_ms && s->start_ms <= p->end_ms)
                    j += s->joules;
                continue;
            }
            int64_t a = s->start_ms > p->start_ms ? s->start_ms : p->start_ms;
            int64_t b = s->end_ms < p->end_ms ? s->end_ms : p->end_ms;
            if (b > a)
                j += s->joules * (double)(b - a) /
                     (double)(s->end_ms - s->start_ms);
        }
        out[i] = j;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double greenai_median(double *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof(*v), cmp_double);
    if (n % 2)
        return v[n / 2];
    return (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

enum greenai_chain_result greenai_chain(const char *self, const char *first,
                                        greenai_base_fn fn, void *ctx,
                                        char *chain, size_t id_size, size_t *n)
{
    char cur[128];
    *n = 0;
    if (id_size > sizeof(cur) || strlen(first) >= id_size)
        return GREENAI_CHAIN_UNKNOWN;
    memcpy(cur, first, strlen(first) + 1);
    for (;;) {
        if (self && strcmp(cur, self) == 0)
            return GREENAI_CHAIN_CYCLE;
        for (size_t j = 0; j < *n; j++)
            if (strcmp(chain + j * id_size, cur) == 0)
                return GREENAI_CHAIN_CYCLE;
        if (*n == GREENAI_MAX_DEPTH)
            return GREENAI_CHAIN_TOO_DEEP;
        memcpy(chain + *n * id_size, cur, strlen(cur) + 1);
        (*n)++;
        const char *base = NULL;
        if (!fn(ctx, cur, &base))
            return GREENAI_CHAIN_UNKNOWN;
        if (!base)
            return GREENAI_CHAIN_OK;
        size_t len = strlen(base);
        if (len >= id_size)
            return GREENAI_CHAIN_UNKNOWN;
        memcpy(cur, base, len + 1);
    }
}

static int cmp_region(const void *a, const void *b)
{
    const struct greenai_region *x = a, *y = b;
    if (x->g_per_kwh != y->g_per_kwh)
        return x->g_per_kwh < y->g_per_kwh ? -1 : 1;
    return strcmp(x->region, y->region);
}

size_t greenai_cleanest_regions(const char *provider,
                                struct greenai_region *out, size_t max)
{
    if (!provider || max == 0)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < carbon_cloud_regions_count; i++) {
        const struct carbon_cloud_region *c = &carbon_cloud_regions[i];
        if (strcasecmp(c->provider, provider) != 0)
            continue;
        struct greenai_region r = {c->provider, c->region, c->g_per_kwh};
        if (n < max) {
            out[n++] = r;
            qsort(out, n, sizeof(*out), cmp_region);
        } else if (cmp_region(&r, &out[n - 1]) < 0) {
            out[n - 1] = r;
            qsort(out, n, sizeof(*out), cmp_region);
        }
    }
    return n;
}

/* Grams (per unit of PUE) of the profile moved by 'shift' ms; false when
 * some energy falls outside the timeline. */
static bool profile_g(const struct grid_point *tl, size_t m,
                      const struct greenai_sample *s, size_t n, int64_t shift,
                      double *g)
{
    struct grid_cover acc;
    memset(&acc, 0, sizeof(acc));
    for (size_t i = 0; i < n; i++)
        grid_cover_add(&acc, tl, m, s[i].start_ms + shift, s[i].end_ms + shift,
                       s[i].joules);
    if (acc.uncovered_j > 0)
        return false;
    *g = acc.covered_gj / CARBON_J_PER_KWH;
    return true;
}

static void consider(const struct grid_point *tl, size_t m,
                     const struct greenai_sample *s, size_t n, int64_t actual,
                     int64_t window, int64_t start, bool *found,
                     int64_t *best_start, double *best_g)
{
    if (start < actual - window || start > actual + window)
        return;
    double g;
    if (!profile_g(tl, m, s, n, start - actual, &g))
        return;
    if (!*found || g < *best_g - 1e-9 ||
        (g <= *best_g + 1e-9 && start < *best_start)) {
        *found = true;
        *best_start = start;
        *best_g = g;
    }
}

bool greenai_best_window(const struct grid_point *tl, size_t m,
                         const struct greenai_sample *samples, size_t n,
                         int64_t actual_start, int64_t window_ms,
                         int64_t *best_start, double *best_g)
{
    if (n == 0 || m == 0)
        return false;
    int64_t lo = samples[0].start_ms, hi = samples[0].end_ms;
    for (size_t i = 1; i < n; i++) {
        if (samples[i].start_ms < lo)
            lo = samples[i].start_ms;
        if (samples[i].end_ms > hi)
            hi = samples[i].end_ms;
    }
    bool found = false;
    consider(tl, m, samples, n, actual_start, window_ms, actual_start, &found,
             best_start, best_g);
    /* the profile's first start or last end on a boundary */
    int64_t to_first = lo - actual_start, to_last = hi - actual_start;
    for (size_t j = 0; j < m; j++) {
        const int64_t b[2] = {tl[j].start_ms, tl[j].end_ms};
        for (int k = 0; k < 2; k++) {
            consider(tl, m, samples, n, actual_start, window_ms,
                     b[k] - to_first, &found, best_start, best_g);
            consider(tl, m, samples, n, actual_start, window_ms, b[k] - to_last,
                     &found, best_start, best_g);
        }
    }
    return found;
}
