/* SPDX-License-Identifier: MIT
 *
 * hardware: GET /api/2.0/greentrack/hardware?experiment_id=[&metric=
 * &direction=max|min]: which machine does an experiment's work cheapest.
 * Its active runs with energy, grouped by the host tags
 * (greentrack.host.cpu, .gpu_model, .gpus), with each group's medians of
 * energy, duration, metric and CO2 and its best run, sorted by median CO2
 * (lowest first). Medians of an even count are the mean of the two middle
 * values (greenai_median).
 */
#include "greenai.h"
#include "handlers/handlers.h"
#include "jsonx.h"
#include "ranking.h"
#include "render.h"
#include "store_greenai.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One run with its host, for grouping. */
struct hw_run {
    const struct leaderboard_row *row;
    const char *cpu, *gpu_model, *gpus; /* borrowed; NULL when untagged */
};

static int str_cmp(const char *a, const char *b)
{
    if (!a || !b)
        return (a != NULL) - (b != NULL);
    return strcmp(a, b);
}

static int hw_cmp(const void *a, const void *b)
{
    const struct hw_run *x = a, *y = b;
    int c = str_cmp(x->cpu, y->cpu);
    if (!c)
        c = str_cmp(x->gpu_model, y->gpu_model);
    if (!c)
        c = str_cmp(x->gpus, y->gpus);
    return c;
}

struct hw_group {
    size_t first, n; /* in the sorted runs */
    double energy, duration, metric, co2;
    bool has_metric;
    const struct leaderboard_row *best;
};

static int group_cmp(const void *a, const void *b)
{
    const struct hw_group *x = a, *y = b;
    if (x->co2 != y->co2)
        return x->co2 < y->co2 ? -1 : 1;
    return (x->first > y->first) - (x->first < y->first);
}

static const struct greenai_host *host_of(const struct greenai_host *h,
                                          size_t n, int64_t pk)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (h[mid].run_pk < pk)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && h[lo].run_pk == pk ? &h[lo] : NULL;
}

/* The medians and best run of runs[g->first .. + g->n). */
static bool group_figures(struct hw_group *g, const struct hw_run *runs,
                          bool maximize, int64_t now_ms)
{
    double *v = malloc(g->n * sizeof(*v));
    if (!v)
        return false;
    const struct hw_run *r = runs + g->first;
    for (size_t i = 0; i < g->n; i++)
        v[i] = r[i].row->energy_kwh;
    g->energy = greenai_median(v, g->n);
    for (size_t i = 0; i < g->n; i++) {
        int64_t end = r[i].row->end_time ? r[i].row->end_time : now_ms;
        v[i] = end > r[i].row->start_time
                   ? (double)(end - r[i].row->start_time) / 1000.0
                   : 0;
    }
    g->duration = greenai_median(v, g->n);
    for (size_t i = 0; i < g->n; i++)
        v[i] = r[i].row->co2_kg * 1000.0;
    g->co2 = greenai_median(v, g->n);
    size_t k = 0;
    for (size_t i = 0; i < g->n; i++)
        if (r[i].row->has_metric)
            v[k++] = r[i].row->metric;
    g->has_metric = k > 0;
    g->metric = greenai_median(v, k);
    free(v);
    /* best: the leaderboard's score when the metric is known, else the
     * lowest CO2 */
    struct ranked best = {0};
    for (size_t i = 0; i < g->n; i++) {
        struct ranked s = ranking_score(r[i].row, maximize);
        bool better =
            !g->best ||
            (s.scored && (!best.scored || (maximize ? s.score > best.score
                                                    : s.score < best.score))) ||
            (!s.scored && !best.scored && r[i].row->co2_kg < g->best->co2_kg);
        if (better) {
            g->best = r[i].row;
            best = s;
        }
    }
    return true;
}

static void render_gpus(struct strbuf *sb, const char *gpus)
{
    render_key(sb, "gpus", false);
    char *end;
    errno = 0;
    long long n = gpus ? strtoll(gpus, &end, 10) : 0;
    if (gpus && *gpus && !*end && !errno && n >= 0)
        strbuf_append_i64(sb, n);
    else
        strbuf_append_str(sb, "null");
}

enum handler_result h_hardware(struct request *req, struct response *res)
{
    struct errbuf eb;
    int64_t exp_id;
    const char *metric, *direction;
    enum srv_err e;
    if ((e = h_experiment_id(req->args, "experiment_id", true, &exp_id, &eb)) ||
        (e = jx_str(req->args, "metric", false, &metric, &eb)) ||
        (e = jx_str(req->args, "direction", false, &direction, &eb)))
        return h_fail(res, e, &eb);
    bool maximize;
    if ((e = h_direction(direction, &maximize, &eb)))
        return h_fail(res, e, &eb);
    struct experiment x;
    if ((e = store_experiment_get(req->app->store, exp_id, &x, &eb)))
        return h_fail(res, e, &eb);
    experiment_cleanup(&x);
    struct leaderboard_row *rows = NULL;
    size_t n = 0, nh = 0, nr = 0, ng = 0;
    struct greenai_host *hosts = NULL;
    struct hw_run *runs = NULL;
    struct hw_group *groups = NULL;
    struct strbuf sb;
    strbuf_init(&sb);
    /* without a metric, one no run has: every run is unscored */
    if ((e = store_leaderboard_rows(req->app->store, exp_id,
                                    metric && *metric ? metric : "", NULL,
                                    &rows, &n, &eb)) ||
        (e = store_greenai_hosts(req->app->store, exp_id, &hosts, &nh, &eb)))
        goto out;
    runs = calloc(n ? n : 1, sizeof(*runs));
    groups = calloc(n ? n : 1, sizeof(*groups));
    if (!runs || !groups) {
        e = err_set(&eb, SRV_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (!rows[i].has_energy)
            continue;
        const struct greenai_host *h = host_of(hosts, nh, rows[i].run_pk);
        runs[nr++] =
            (struct hw_run){&rows[i], h ? h->cpu : NULL,
                            h ? h->gpu_model : NULL, h ? h->gpus : NULL};
    }
    qsort(runs, nr, sizeof(*runs), hw_cmp);
    int64_t now = store_now_ms();
    for (size_t i = 0; i < nr;) {
        size_t j = i + 1;
        while (j < nr && hw_cmp(&runs[i], &runs[j]) == 0)
            j++;
        groups[ng] = (struct hw_group){.first = i, .n = j - i};
        if (!group_figures(&groups[ng], runs, maximize, now)) {
            e = err_set(&eb, SRV_E_NOMEM, "out of memory");
            goto out;
        }
        ng++;
        i = j;
    }
    qsort(groups, ng, sizeof(*groups), group_cmp);
    strbuf_append_str(&sb, "{\"groups\":[");
    for (size_t i = 0; i < ng; i++) {
        const struct hw_group *g = &groups[i];
        const struct hw_run *r = &runs[g->first];
        if (i)
            strbuf_append_char(&sb, ',');
        strbuf_append_char(&sb, '{');
        render_str_field(&sb, "cpu", r->cpu, true);
        render_str_field(&sb, "gpu_model", r->gpu_model, false);
        render_gpus(&sb, r->gpus);
        render_key(&sb, "runs", false);
        strbuf_append_i64(&sb, (int64_t)g->n);
        render_num_field(&sb, "median_energy_kwh", g->energy, false);
        render_num_field(&sb, "median_duration_s", g->duration, false);
        render_num_or_null(&sb, "median_metric", g->has_metric, g->metric);
        render_num_field(&sb, "median_co2_g", g->co2, false);
        render_str_field(&sb, "best_run_id", g->best->run_id, false);
        strbuf_append_char(&sb, '}');
    }
    strbuf_append_str(&sb, "]}");
out:
    free(groups);
    free(runs);
    greenai_hosts_free(hosts, nh);
    leaderboard_rows_free(rows, n);
    if (e) {
        strbuf_cleanup(&sb);
        return h_fail(res, e, &eb);
    }
    api_ok(res, &sb);
    return H_DONE;
}
