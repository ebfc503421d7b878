/* SPDX-License-Identifier: MIT
 *
 * metrics: metrics/get-history (with paging), get-history-bulk-interval
 * (server-side downsampling for charts) and the UI's get-history-bulk.
 */
#include "handlers/handlers.h"
#include "jsonx.h"
#include "pagetoken.h"
#include "render.h"

#include <stdlib.h>
#include <string.h>

static void metrics_body(struct strbuf *sb, const struct metric *m, size_t n,
                         bool with_run_id, bool *first)
{
    if (n == 0)
        return;
    render_key(sb, "metrics", *first);
    *first = false;
    strbuf_append_char(sb, '[');
    render_metric_items(sb, m, n, with_run_id);
    strbuf_append_char(sb, ']');
}

enum handler_result h_metrics_get_history(struct request *req,
                                          struct response *res)
{
    struct errbuf eb;
    const char *run_id, *key, *token;
    bool has_max;
    int64_t max = -1, offset;
    enum srv_err e;
    if ((e = jx_run_id(req->args, true, &run_id, &eb)) ||
        (e = jx_str(req->args, "metric_key", true, &key, &eb)) ||
        (e = jx_i64(req->args, "max_results", false, &has_max, &max, &eb)) ||
        (e = jx_str(req->args, "page_token", false, &token, &eb)) ||
        (e = pagetoken_decode(token, &offset, &eb)))
        return h_fail(res, e, &eb);
    if (has_max && max < 1)
        return h_fail(res,
                      err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                              "Invalid value %lld for parameter "
                              "'max_results' supplied. It must be at least 1",
                              (long long)max),
                      &eb);
    struct metric *m;
    size_t n;
    bool more;
    e = store_metric_history(req->app->store, run_id, key, offset,
                             has_max ? max : -1, &m, &n, &more, &eb);
    if (e)
        return h_fail(res, e, &eb);
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_char(&sb, '{');
    bool first = true;
    metrics_body(&sb, m, n, false, &first);
    if (more) {
        render_key(&sb, "next_page_token", first);
        pagetoken_append_json(&sb, offset + (int64_t)n);
    }
    strbuf_append_char(&sb, '}');
    metric_array_free(m, n);
    api_ok(res, &sb);
    return H_DONE;
}

static enum srv_err run_id_list(const cJSON *args, const char *field,
                                const char ***ids, size_t *n, struct errbuf *eb)
{
    enum srv_err e = jx_str_list(args, field, ids, n, eb);
    if (e)
        return e;
    if (*n == 0)
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Missing value for required parameter '%s'. See the "
                       "API docs for more information about request "
                       "parameters.",
                       field);
    if (*n > 100)
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "GetMetricHistoryBulkInterval request must specify at "
                       "most 100 run_ids. Received %zu run_ids.",
                       *n);
    return SRV_OK;
}

enum handler_result h_metrics_get_history_bulk_interval(struct request *req,
                                                        struct response *res)
{
    struct errbuf eb;
    const char **ids = NULL;
    size_t n_ids = 0;
    const char *key;
    bool has_start, has_end;
    int64_t start = 0, end = 0, max;
    enum srv_err e;
    if ((e = run_id_list(req->args, "run_ids", &ids, &n_ids, &eb)) ||
        (e = jx_str(req->args, "metric_key", true, &key, &eb)) ||
        (e = jx_i64(req->args, "start_step", false, &has_start, &start, &eb)) ||
        (e = jx_i64(req->args, "end_step", false, &has_end, &end, &eb)) ||
        (e = h_max_results(req->args, 2500, 2500, false, &max, &eb)))
        goto fail;
    if (has_start != has_end) {
        e = err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                    "If either start step or end step are specified, both "
                    "must be specified.");
        goto fail;
    }
    if (has_start && start > end) {
        e = err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                    "end_step must be greater than start_step. Found "
                    "start_step=%lld and end_step=%lld.",
                    (long long)start, (long long)end);
        goto fail;
    }
    struct metric *m;
    size_t n;
    e = store_metric_history_sampled(req->app->store, ids, n_ids, key,
                                     has_start, start, end, max, &m, &n, &eb);
    if (e)
        goto fail;
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_char(&sb, '{');
    bool first = true;
    metrics_body(&sb, m, n, true, &first);
    strbuf_append_char(&sb, '}');
    metric_array_free(m, n);
    free(ids);
    api_ok(res, &sb);
    return H_DONE;
fail:
    free(ids);
    return h_fail(res, e, &eb);
}

/* GET /ajax-api/2.0/mlflow/metrics/get-history-bulk?run_id=..&run_id=..:
 * whole histories (up to max_results points per run) for several runs. */
enum handler_result h_metrics_get_history_bulk(struct request *req,
                                               struct response *res)
{
    struct errbuf eb;
    const char **ids = NULL;
    size_t n_ids = 0;
    const char *key;
    int64_t max;
    enum srv_err e;
    if ((e = run_id_list(req->args, "run_id", &ids, &n_ids, &eb)) ||
        (e = jx_str(req->args, "metric_key", true, &key, &eb)) ||
        (e = h_max_results(req->args, 25000, 25000, false, &max, &eb))) {
        free(ids);
        return h_fail(res, e, &eb);
    }
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_str(&sb, "{");
    bool first = true;
    for (size_t r = 0; r < n_ids; r++) {
        struct metric *m;
        size_t n;
        bool more;
        e = store_metric_history(req->app->store, ids[r], key, 0, max, &m, &n,
                                 &more, &eb);
        if (e) {
            strbuf_cleanup(&sb);
            free(ids);
            return h_fail(res, e, &eb);
        }
        for (size_t i = 0; i < n; i++)
            m[i].run_id = ids[r];
        if (n) {
            if (first) {
                render_key(&sb, "metrics", true);
                strbuf_append_char(&sb, '[');
                first = false;
            } else {
                strbuf_append_char(&sb, ',');
            }
            render_metric_items(&sb, m, n, true);
        }
        metric_array_free(m, n);
    }
    if (!first)
        strbuf_append_char(&sb, ']');
    strbuf_append_char(&sb, '}');
    free(ids);
    api_ok(res, &sb);
    return H_DONE;
}
