/* SPDX-License-Identifier: MIT
 *
 * schedule: GET /api/2.0/greentrack/schedule (its arguments at
 * h_schedule): carbon-aware scheduling, the start within the next hours
 * that minimises the mean forecast intensity over a job. A forecast the
 * cache lacks is fetched as the request's before_write, on one of
 * http.c's job threads (the connection waits suspended; an HTTP thread is
 * never held by a slow provider), bounded by the provider timeout; what
 * it brought is recorded by a SW_GRID_RECORD write before the answer goes
 * out, so the next request finds it in the cache.
 */
#include "grid.h"
#include "handlers/handlers.h"
#include "jsonx.h"
#include "render.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DURATION_MIN 10080
#define MAX_WITHIN_H 168.0
#define MINUTE_MS 60000LL
#define HOUR_MS 3600000LL

/* Only the forecast periods of 'pts' (a fetch may bring actual ones). */
static size_t forecast_timeline(const struct grid_point *pts, size_t n,
                                struct grid_point **tl)
{
    *tl = NULL;
    struct grid_point *f = malloc((n ? n : 1) * sizeof(*f));
    if (!f)
        return (size_t)-1;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (pts[i].kind == GRID_FORECAST)
            f[m++] = pts[i];
    }
    size_t r = grid_timeline(f, m, tl);
    free(f);
    return r;
}

/* Below this saving the advice is to start now (min_saving_percent). */
#define DEFAULT_MIN_SAVING_PERCENT 1.0

struct sched {
    char zone[72];
    enum grid_source src;
    int64_t now_ms, duration_ms, within_ms;
    double within_hours;
    double min_saving_percent; /* a smaller saving is not worth waiting */
    const char *duration_from; /* "request", "experiment", "default" */
    bool has_experiment;
    int64_t experiment_id;
    struct schedule_stats stats;
    double pue;
};

struct sched_write {
    struct store_write w; /* first: api_pending relies on it */
    struct sched p;
    int horizon;
    struct grid_point *cached; /* what the cache had (the fallback) */
    size_t n_cached;
    struct grid_point *fetched;
    size_t n_fetched;
    enum srv_err fail; /* the fetch failed and the cache cannot answer */
    struct errbuf fail_eb;
    bool use_cache; /* answer from 'cached', with 'warning' */
    char warning[sizeof(((struct errbuf *)0)->msg)];
};

static void sched_write_free(void *state)
{
    struct sched_write *x = state;
    schedule_stats_cleanup(&x->p.stats);
    free(x->cached);
    free(x->fetched);
    free(x);
}

static void null_or_num(struct strbuf *sb, const char *key, bool has, double v)
{
    render_key(sb, key, false);
    if (has)
        strbuf_append_json_double(sb, v);
    else
        strbuf_append_str(sb, "null");
}

/* Answers a schedule from forecast periods 'pts' (any order; actual ones
 * are ignored). 'cached': they came from the cache; 'warning' (may be
 * NULL): why the cache was used although a fetch was due. */
static enum handler_result sched_answer(struct response *res,
                                        const struct sched *p,
                                        const struct grid_point *pts, size_t n,
                                        bool cached, const char *warning)
{
    struct errbuf eb;
    struct grid_point *tl;
    size_t m = forecast_timeline(pts, n, &tl);
    if (m == (size_t)-1)
        return h_fail(res, SRV_E_NOMEM, NULL);
    struct grid_schedule gs;
    if (grid_schedule_best(tl, m, p->now_ms, p->within_ms, p->duration_ms,
                           &gs) != GRID_SCHEDULE_OK) {
        char now[40];
        grid_format_iso(p->now_ms, now, sizeof(now));
        if (gs.covered_until_ms > p->now_ms) {
            char until[40];
            err_set(&eb, SRV_E_UNAVAILABLE,
                    "The %s forecast for zone %s covers only until %s, "
                    "%.0f minutes from now (%s); a %lld-minute job needs "
                    "more%s%s",
                    grid_source_str(p->src), p->zone,
                    grid_format_iso(gs.covered_until_ms, until, sizeof(until)),
                    (double)(gs.covered_until_ms - p->now_ms) / MINUTE_MS, now,
                    (long long)(p->duration_ms / MINUTE_MS),
                    warning ? "; " : "", warning ? warning : "");
        } else {
            err_set(&eb, SRV_E_UNAVAILABLE,
                    "No %s forecast for zone %s covers now (%s)%s%s",
                    grid_source_str(p->src), p->zone, now, warning ? ": " : "",
                    warning ? warning : "");
        }
        free(tl);
        return h_fail(res, SRV_E_UNAVAILABLE, &eb);
    }
    /* Waiting for a saving below the threshold is not worth it (forecast
     * noise, a job started late): advise now and say what was skipped. */
    double skipped = -1;
    if (gs.best_start_ms != p->now_ms && gs.now_mean > 0 &&
        (gs.now_mean - gs.best_mean) / gs.now_mean * 100.0 <
            p->min_saving_percent) {
        skipped = (gs.now_mean - gs.best_mean) / gs.now_mean * 100.0;
        gs.best_start_ms = p->now_ms;
        gs.best_mean = gs.now_mean;
    }
    int64_t best_end = gs.best_start_ms + p->duration_ms;
    int64_t shown_end = p->now_ms + p->within_ms + p->duration_ms;
    const char *basis = grid_source_basis(p->src);
    int64_t newest = 0;
    for (size_t i = 0; i < m; i++) {
        if (tl[i].start_ms <= p->now_ms && tl[i].end_ms > p->now_ms)
            basis = tl[i].basis;
        if (tl[i].fetched_ms > newest)
            newest = tl[i].fetched_ms;
    }
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_char(&sb, '{');
    render_str_field(&sb, "zone", p->zone, true);
    render_str_field(&sb, "source", grid_source_str(p->src), false);
    render_str_field(&sb, "basis", basis, false);
    render_key(&sb, "duration_minutes", false);
    strbuf_append_i64(&sb, p->duration_ms / MINUTE_MS);
    render_str_field(&sb, "duration_from", p->duration_from, false);
    render_num_field(&sb, "within_hours", p->within_hours, false);
    h_iso_field(&sb, "now", p->now_ms);
    h_iso_field(&sb, "best_start", gs.best_start_ms);
    h_iso_field(&sb, "best_end", best_end);
    render_key(&sb, "now_ms", false);
    strbuf_append_i64(&sb, p->now_ms);
    render_key(&sb, "best_start_ms", false);
    strbuf_append_i64(&sb, gs.best_start_ms);
    render_key(&sb, "best_end_ms", false);
    strbuf_append_i64(&sb, best_end);
    render_num_field(&sb, "delay_minutes",
                     (double)(gs.best_start_ms - p->now_ms) / MINUTE_MS, false);
    render_num_field(&sb, "best_mean_intensity_g_per_kwh", gs.best_mean, false);
    render_num_field(&sb, "now_mean_intensity_g_per_kwh", gs.now_mean, false);
    double saving = gs.best_start_ms != p->now_ms && gs.now_mean > 0
                        ? (gs.now_mean - gs.best_mean) / gs.now_mean * 100.0
                        : 0.0;
    render_num_field(&sb, "saving_percent", saving, false);
    render_num_field(&sb, "min_saving_percent", p->min_saving_percent, false);
    if (skipped >= 0)
        render_num_field(&sb, "skipped_saving_percent", skipped, false);
    render_key(&sb, "candidates", false);
    strbuf_append_i64(&sb, (int64_t)gs.candidates);
    h_iso_field(&sb, "forecast_covers_until", gs.covered_until_ms);
    h_iso_field(&sb, "forecast_fetched_at", newest);
    render_key(&sb, "cached", false);
    strbuf_append_str(&sb, cached ? "true" : "false");
    if (warning)
        render_str_field(&sb, "warning", warning, false);
    if (p->has_experiment) {
        const struct schedule_stats *s = &p->stats;
        bool energy = s->energy_runs > 0;
        double kwh = s->median_energy_kwh;
        render_key(&sb, "experiment_id", false);
        char id[32];
        snprintf(id, sizeof(id), "%lld", (long long)p->experiment_id);
        strbuf_append_json_str(&sb, id, strlen(id));
        null_or_num(&sb, "typical_energy_kwh", energy, kwh);
        render_num_field(&sb, "pue", p->pue, false);
        null_or_num(&sb, "expected_co2_g_now", energy,
                    kwh * p->pue * gs.now_mean);
        null_or_num(&sb, "expected_co2_g_best", energy,
                    kwh * p->pue * gs.best_mean);
        null_or_num(&sb, "expected_saving_g", energy,
                    kwh * p->pue * (gs.now_mean - gs.best_mean));
        render_key(&sb, "runs_considered", false);
        strbuf_append_i64(&sb, s->finished_runs);
        render_key(&sb, "energy_runs_considered", false);
        strbuf_append_i64(&sb, s->energy_runs);
    }
    render_key(&sb, "forecast", false);
    strbuf_append_char(&sb, '[');
    bool first = true;
    for (size_t i = 0; i < m; i++) {
        if (tl[i].end_ms <= p->now_ms || tl[i].start_ms >= shown_end)
            continue;
        if (!first)
            strbuf_append_char(&sb, ',');
        first = false;
        char a[40], b[40];
        strbuf_append_char(&sb, '{');
        render_str_field(&sb, "from",
                         grid_format_iso(tl[i].start_ms, a, sizeof(a)), true);
        render_str_field(&sb, "to", grid_format_iso(tl[i].end_ms, b, sizeof(b)),
                         false);
        render_num_field(&sb, "intensity_g_per_kwh", tl[i].g_per_kwh, false);
        strbuf_append_char(&sb, '}');
    }
    strbuf_append_str(&sb, "]}");
    free(tl);
    api_ok(res, &sb);
    return H_DONE;
}

static enum handler_result sched_after_write(struct request *req,
                                             struct response *res)
{
    struct sched_write *x = req->state;
    if (x->fail)
        return h_fail(res, x->fail, &x->fail_eb);
    if (x->use_cache)
        return sched_answer(res, &x->p, x->cached, x->n_cached, true,
                            x->warning);
    return sched_answer(res, &x->p, x->fetched, x->n_fetched, false, NULL);
}

/* before_write of a schedule whose forecast must be fetched (a job
 * thread, never an HTTP one): the fetch, then the write that records it,
 * or, when the provider fails, an answer from what the cache covers. */
static void sched_fetch(struct request *req)
{
    struct sched_write *x = req->state;
    struct errbuf eb;
    enum srv_err e =
        grid_fetch(req->app->grid, x->p.zone, x->p.src, GRID_FORECAST,
                   x->horizon, &x->fetched, &x->n_fetched, &eb);
    if (e) {
        /* The provider is down: what the cache still covers will do. */
        req->skip_write = true;
        if (e == SRV_E_UNAVAILABLE && x->n_cached) {
            x->use_cache = true;
            snprintf(x->warning, sizeof(x->warning), "%s", eb.msg);
        } else {
            x->fail = e;
            x->fail_eb = eb;
        }
        return;
    }
    if (x->n_fetched == 0) {
        req->skip_write = true; /* nothing to record; answers "no data" */
        return;
    }
    x->w.kind = SW_GRID_RECORD;
    x->w.zone = x->p.zone;
    x->w.grid_points = x->fetched;
    x->w.n_grid_points = x->n_fetched;
}

/* duration_minutes, within_hours / within_minutes. */
static enum srv_err sched_numbers(const cJSON *args, struct sched *p,
                                  bool *has_duration, struct errbuf *eb)
{
    bool present;
    int64_t minutes;
    enum srv_err e =
        jx_i64(args, "duration_minutes", false, has_duration, &minutes, eb);
    if (e)
        return e;
    if (*has_duration) {
        if (minutes < 1 || minutes > MAX_DURATION_MIN)
            return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                           "duration_minutes must be an integer from 1 to "
                           "%d (got %lld)",
                           MAX_DURATION_MIN, (long long)minutes);
        p->duration_ms = minutes * MINUTE_MS;
        p->duration_from = "request";
    }
    double hours = 24;
    if ((e = jx_double(args, "within_hours", false, &present, &hours, eb)))
        return e;
    bool hours_given = present;
    if (present && !(isfinite(hours) && hours > 0 && hours <= MAX_WITHIN_H))
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "within_hours must be a number > 0 and <= %.0f (got "
                       "%g)",
                       MAX_WITHIN_H, hours);
    if ((e = jx_i64(args, "within_minutes", false, &present, &minutes, eb)))
        return e;
    if (present) {
        if (hours_given)
            return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                           "Give within_hours or within_minutes, not both");
        if (minutes < 1 || minutes > (int64_t)MAX_WITHIN_H * 60)
            return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                           "within_minutes must be an integer from 1 to %d "
                           "(got %lld)",
                           (int)MAX_WITHIN_H * 60, (long long)minutes);
        hours = (double)minutes / 60.0;
    }
    p->within_hours = hours;
    p->within_ms = (int64_t)llround(hours * (double)HOUR_MS);
    double min_saving = DEFAULT_MIN_SAVING_PERCENT;
    if ((e = jx_double(args, "min_saving_percent", false, &present, &min_saving,
                       eb)))
        return e;
    if (present &&
        !(isfinite(min_saving) && min_saving >= 0 && min_saving <= 100))
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "min_saving_percent must be a number from 0 to 100 "
                       "(got %g)",
                       min_saving);
    p->min_saving_percent = min_saving;
    return SRV_OK;
}

/* GET /api/2.0/greentrack/schedule?zone=&duration_minutes=
 * [&within_hours=|&within_minutes=][&experiment_id=][&source=] */
enum handler_result h_schedule(struct request *req, struct response *res)
{
    struct errbuf eb;
    enum srv_err e;
    struct sched p;
    memset(&p, 0, sizeof(p));
    const char *zone, *source;
    bool has_duration;
    if ((e = h_need_grid(req, &eb)) ||
        (e = jx_str(req->args, "zone", false, &zone, &eb)) ||
        (e = jx_str(req->args, "source", false, &source, &eb)) ||
        (e = sched_numbers(req->args, &p, &has_duration, &eb)))
        return h_fail(res, e, &eb);
    struct store *st = req->app->store;
    p.pue = store_default_pue(st);
    if (cJSON_GetObjectItemCaseSensitive(req->args, "experiment_id")) {
        struct experiment ex;
        if ((e = h_experiment_id(req->args, "experiment_id", true,
                                 &p.experiment_id, &eb)) ||
            (e = store_experiment_get(st, p.experiment_id, &ex, &eb)))
            return h_fail(res, e, &eb);
        experiment_cleanup(&ex);
        if ((e = store_schedule_stats(st, p.experiment_id, &p.stats, &eb)))
            return h_fail(res, e, &eb);
        p.has_experiment = true;
    }
    enum handler_result hr;
    if (!zone || !*zone)
        zone = p.stats.zone;
    if (!zone) {
        err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                p.has_experiment
                    ? "No zone: give zone=<id> (e.g. GB, DE, CAISO_NORTH); "
                      "no active run of this experiment has a "
                      "greentrack.zone tag"
                    : "Missing value for required parameter 'zone' (a grid "
                      "zone such as GB, GB-13, DE or CAISO_NORTH), or give "
                      "experiment_id to use its runs' greentrack.zone");
        hr = h_fail(res, SRV_E_INVALID_PARAMETER_VALUE, &eb);
        goto out;
    }
    if (!has_duration) {
        if (!p.has_experiment) {
            err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                    "Missing value for required parameter "
                    "'duration_minutes' (1 to %d), or give experiment_id to "
                    "use its finished runs' median duration",
                    MAX_DURATION_MIN);
            hr = h_fail(res, SRV_E_INVALID_PARAMETER_VALUE, &eb);
            goto out;
        }
        int64_t med = p.stats.median_duration_ms;
        int64_t minutes = med > 0 ? (med + MINUTE_MS - 1) / MINUTE_MS : 60;
        if (minutes > MAX_DURATION_MIN)
            minutes = MAX_DURATION_MIN;
        p.duration_ms = minutes * MINUTE_MS;
        p.duration_from = med > 0 ? "experiment" : "default";
    }
    if ((e = grid_resolve(req->app->grid, zone, source, &p.src, &eb))) {
        hr = h_fail(res, e, &eb);
        goto out;
    }
    snprintf(p.zone, sizeof(p.zone), "%s", zone);
    p.now_ms = store_now_ms();

    int64_t need_end = p.now_ms + p.within_ms + p.duration_ms;
    int64_t min_end = p.now_ms + p.duration_ms;
    struct grid_point *cached, *tl = NULL;
    size_t n_cached;
    if ((e = store_grid_points(st, p.zone, grid_source_str(p.src), false,
                               GRID_FORECAST, p.now_ms, need_end, 200000,
                               &cached, &n_cached, &eb))) {
        hr = h_fail(res, e, &eb);
        goto out;
    }
    size_t m = grid_timeline(cached, n_cached, &tl);
    if (m == (size_t)-1) {
        free(cached);
        hr = h_fail(res, SRV_E_NOMEM, NULL);
        goto out;
    }
    bool stale = grid_forecast_stale(req->app->grid, p.zone, p.src, tl, m,
                                     p.now_ms, min_end, need_end);
    free(tl);
    if (!stale) {
        hr = sched_answer(res, &p, cached, n_cached, true, NULL);
        free(cached);
        goto out;
    }
    struct sched_write *x = api_pending(req, sizeof(*x), sched_after_write);
    if (!x) {
        free(cached);
        hr = h_fail(res, SRV_E_NOMEM, NULL);
        goto out;
    }
    req->state_free = sched_write_free;
    req->before_write = sched_fetch;
    x->p = p; /* takes over p.stats */
    memset(&p.stats, 0, sizeof(p.stats));
    x->horizon = grid_forecast_horizon(x->p.src, need_end - x->p.now_ms);
    x->cached = cached;
    x->n_cached = n_cached;
    return H_PENDING;
out:
    schedule_stats_cleanup(&p.stats);
    return hr;
}
