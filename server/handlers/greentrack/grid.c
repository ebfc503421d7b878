/* SPDX-License-Identifier: MIT
 *
 * grid: the grid-intensity endpoints under /api/2.0/greentrack/grid/:
 * intensity (the recorded periods of a zone) and refresh (fetch a zone
 * now). A fetch runs as the request's before_write, on one of http.c's
 * job threads (the connection waits suspended; an HTTP thread is never
 * held by a slow provider), bounded by the provider timeout; what it
 * brought is recorded by a SW_GRID_RECORD write before the answer goes
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

#define HOUR_MS 3600000LL

/*---- grid/intensity ----*/

/* GET /api/2.0/greentrack/grid/intensity?zone=[&source=][&kind=]
 * [&start_ms=&end_ms=]: the recorded periods (default: the past day and
 * the next two). */
enum handler_result h_grid_intensity(struct request *req, struct response *res)
{
    struct errbuf eb;
    enum srv_err e;
    const char *zone, *source, *kind_s;
    bool has_start, has_end;
    int64_t now = store_now_ms(), start = now - 24 * HOUR_MS,
            end = now + 48 * HOUR_MS;
    if ((e = jx_str(req->args, "zone", true, &zone, &eb)) ||
        (e = jx_str(req->args, "source", false, &source, &eb)) ||
        (e = jx_str(req->args, "kind", false, &kind_s, &eb)) ||
        (e = jx_i64(req->args, "start_ms", false, &has_start, &start, &eb)) ||
        (e = jx_i64(req->args, "end_ms", false, &has_end, &end, &eb)))
        return h_fail(res, e, &eb);
    if (!grid_zone_valid(zone))
        return h_fail(res,
                      err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                              "Invalid zone '%.80s'", zone),
                      &eb);
    enum grid_kind kind = GRID_ACTUAL;
    if (kind_s && !grid_kind_parse(kind_s, &kind))
        return h_fail(res,
                      err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                              "Invalid kind '%.40s': expected actual or "
                              "forecast",
                              kind_s),
                      &eb);
    if (source && strcmp(source, "ukci") != 0 &&
        strcmp(source, "electricitymaps") != 0 &&
        strcmp(source, "watttime") != 0)
        return h_fail(res,
                      err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                              "Invalid source '%.40s': expected ukci, "
                              "electricitymaps or watttime",
                              source),
                      &eb);
    if (end <= start)
        return h_fail(res,
                      err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                              "end_ms must be after start_ms"),
                      &eb);
    struct grid_point *pts;
    size_t n;
    if ((e = store_grid_points(req->app->store, zone, source, kind_s == NULL,
                               kind, start, end, 20000, &pts, &n, &eb)))
        return h_fail(res, e, &eb);
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_char(&sb, '{');
    render_str_field(&sb, "zone", zone, true);
    render_key(&sb, "points", false);
    strbuf_append_char(&sb, '[');
    for (size_t i = 0; i < n; i++) {
        const struct grid_point *x = &pts[i];
        char a[40], b[40];
        if (i)
            strbuf_append_char(&sb, ',');
        strbuf_append_char(&sb, '{');
        render_str_field(&sb, "from",
                         grid_format_iso(x->start_ms, a, sizeof(a)), true);
        render_str_field(&sb, "to", grid_format_iso(x->end_ms, b, sizeof(b)),
                         false);
        render_key(&sb, "start_ms", false);
        strbuf_append_i64(&sb, x->start_ms);
        render_key(&sb, "end_ms", false);
        strbuf_append_i64(&sb, x->end_ms);
        render_num_field(&sb, "intensity_g_per_kwh", x->g_per_kwh, false);
        render_str_field(&sb, "kind", grid_kind_name(x->kind), false);
        render_str_field(&sb, "source", x->source, false);
        render_str_field(&sb, "basis", x->basis, false);
        h_iso_field(&sb, "fetched_at", x->fetched_ms);
        strbuf_append_char(&sb, '}');
    }
    strbuf_append_str(&sb, "]}");
    free(pts);
    api_ok(res, &sb);
    return H_DONE;
}

/*---- grid/refresh ----*/

struct refresh_write {
    struct store_write w; /* first */
    struct grid *grid;
    bool claimed; /* holds the zone's grid_refresh_claim */
    bool brought; /* a fetch brought data */
    char zone[72];
    enum grid_source src;
    bool all; /* both kinds, else only 'kind' */
    enum grid_kind kind;
    enum srv_err fail; /* every fetch failed (or out of memory) */
    struct errbuf fail_eb;
    struct grid_point *pts;
    size_t n, n_actual, n_forecast;
    struct strbuf errors; /* a JSON array's items */
};

static void refresh_write_free(void *state)
{
    struct refresh_write *x = state;
    if (x->claimed)
        grid_refresh_done(x->grid, x->zone, x->src, x->brought);
    free(x->pts);
    strbuf_cleanup(&x->errors);
    free(x);
}

static enum handler_result refresh_answer(struct request *req,
                                          struct response *res)
{
    struct refresh_write *x = req->state;
    if (x->fail)
        return h_fail(res, x->fail, &x->fail_eb);
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_char(&sb, '{');
    render_str_field(&sb, "zone", x->zone, true);
    render_str_field(&sb, "source", grid_source_str(x->src), false);
    render_str_field(&sb, "basis",
                     x->n ? x->pts[0].basis : grid_source_basis(x->src), false);
    render_key(&sb, "actual_points", false);
    strbuf_append_i64(&sb, (int64_t)x->n_actual);
    render_key(&sb, "forecast_points", false);
    strbuf_append_i64(&sb, (int64_t)x->n_forecast);
    render_key(&sb, "runs_recomputed", false);
    strbuf_append_i64(&sb, x->w.out_count);
    render_key(&sb, "errors", false);
    strbuf_append_char(&sb, '[');
    if (x->errors.len)
        strbuf_append(&sb, x->errors.buf, x->errors.len);
    strbuf_append_str(&sb, "]}");
    api_ok(res, &sb);
    return H_DONE;
}

/* before_write of grid/refresh (a job thread, never an HTTP one): the
 * fetches, then the write that records what came back. */
static void refresh_fetch(struct request *req)
{
    struct refresh_write *x = req->state;
    struct errbuf eb;
    enum srv_err last = SRV_OK;
    struct errbuf last_eb;
    int tried = 0, failed = 0;
    for (int k = GRID_ACTUAL; k <= GRID_FORECAST; k++) {
        if (!x->all && k != (int)x->kind)
            continue;
        tried++;
        struct grid_point *pts;
        size_t n;
        enum srv_err e = grid_fetch(
            req->app->grid, x->zone, x->src, (enum grid_kind)k,
            grid_forecast_horizon(x->src, 48 * HOUR_MS), &pts, &n, &eb);
        if (e) {
            failed++;
            last = e;
            last_eb = eb;
            if (x->errors.len)
                strbuf_append_char(&x->errors, ',');
            strbuf_append_json_str(&x->errors, eb.msg, strlen(eb.msg));
            continue;
        }
        struct grid_point *na = realloc(x->pts, (x->n + n + 1) * sizeof(*na));
        if (!na) {
            free(pts);
            req->skip_write = true;
            x->fail = err_set(&x->fail_eb, SRV_E_NOMEM, "out of memory");
            return;
        }
        x->pts = na;
        memcpy(x->pts + x->n, pts, n * sizeof(*pts));
        x->n += n;
        free(pts);
    }
    if (failed == tried) {
        req->skip_write = true;
        x->fail = last;
        x->fail_eb = last_eb;
        return;
    }
    x->brought = true;
    for (size_t i = 0; i < x->n; i++) {
        if (x->pts[i].kind == GRID_ACTUAL)
            x->n_actual++;
        else
            x->n_forecast++;
    }
    x->w.kind = SW_GRID_RECORD;
    x->w.zone = x->zone;
    x->w.grid_points = x->pts;
    x->w.n_grid_points = x->n;
}

/* The refresh arguments: from the query string, else a JSON body. */
static enum srv_err refresh_args(struct request *req, cJSON **body,
                                 const cJSON **args, struct errbuf *eb)
{
    *body = NULL;
    *args = req->args;
    if (cJSON_GetObjectItemCaseSensitive(req->args, "zone") ||
        req->body_len == 0)
        return SRV_OK;
    enum srv_err e = jx_parse_body(req->body, req->body_len, body, eb);
    if (!e)
        *args = *body;
    return e;
}

/* POST /api/2.0/greentrack/grid/refresh?zone=[&source=][&kind=]: fetches
 * the zone's recorded intensity and forecast now (kind narrows to one),
 * records them and recomputes the runs they cover. */
enum handler_result h_grid_refresh(struct request *req, struct response *res)
{
    struct errbuf eb;
    enum srv_err e;
    cJSON *body;
    const cJSON *args;
    const char *zone, *source, *kind_s;
    if ((e = h_need_grid(req, &eb)) ||
        (e = refresh_args(req, &body, &args, &eb)))
        return h_fail(res, e, &eb);
    enum grid_source src;
    enum grid_kind kind = GRID_ACTUAL;
    enum handler_result hr = H_DONE;
    if ((e = jx_str(args, "zone", true, &zone, &eb)) ||
        (e = jx_str(args, "source", false, &source, &eb)) ||
        (e = jx_str(args, "kind", false, &kind_s, &eb)) ||
        (e = grid_resolve(req->app->grid, zone, source, &src, &eb))) {
        hr = h_fail(res, e, &eb);
        goto out;
    }
    if (kind_s && strcmp(kind_s, "all") != 0 &&
        !grid_kind_parse(kind_s, &kind)) {
        err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                "Invalid kind '%.40s': expected actual, forecast or all",
                kind_s);
        hr = h_fail(res, SRV_E_INVALID_PARAMETER_VALUE, &eb);
        goto out;
    }
    bool all = !kind_s || strcmp(kind_s, "all") == 0;
    /* One refresh per zone and source within the cache TTL: anyone may
     * call this, and each call costs provider requests. */
    unsigned wait_s;
    if (!grid_refresh_claim(req->app->grid, zone, src, &wait_s)) {
        err_set(&eb, SRV_E_RATE_LIMITED,
                "Zone %s was refreshed from %s less than --grid-ttl-s ago "
                "(or is being refreshed now); its periods are at "
                "grid/intensity. Retry after %u s",
                zone, grid_source_str(src), wait_s);
        hr = h_fail(res, SRV_E_RATE_LIMITED, &eb);
        res->retry_after_s = wait_s ? wait_s : 1;
        goto out;
    }
    struct refresh_write *x = api_pending(req, sizeof(*x), refresh_answer);
    if (!x) {
        grid_refresh_done(req->app->grid, zone, src, false);
        hr = h_fail(res, SRV_E_NOMEM, NULL);
        goto out;
    }
    req->state_free = refresh_write_free;
    x->grid = req->app->grid;
    x->claimed = true;
    strbuf_init(&x->errors);
    snprintf(x->zone, sizeof(x->zone), "%s", zone);
    x->src = src;
    x->all = all;
    x->kind = kind;
    req->before_write = refresh_fetch;
    hr = H_PENDING;
out:
    cJSON_Delete(body);
    return hr;
}
