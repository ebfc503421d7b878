/* SPDX-License-Identifier: MIT
 *
 * metrics: metrics/get-history (with paging), get-history-bulk-interval
 * (server-side downsampling for charts) and the UI's get-history-bulk.
 */
#include "handlers/handlers.h"
#include "jsonx.h"
#include "listsrc.h"
#include "messages.h"
#include "pagetoken.h"
#include "render.h"

#include <stdlib.h>
#include <string.h>

/* Points of a get-history page when max_results is absent. */
#define HISTORY_DEFAULT_PAGE 100000

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
        return h_fail(
            res, err_set(&eb, MSG_MAX_RESULTS_POSITIVE, (long long)max), &eb);
    int64_t pk;
    if ((e = store_run_pk(req->app->store, run_id, &pk, &eb)))
        return h_fail(res, e, &eb);
    /* Streamed point by point (listsrc.h). MLflow sends the whole history
     * when max_results is absent; greentrack sends HISTORY_DEFAULT_PAGE
     * points then, and a next_page_token only when there are more. A
     * page of up to HISTORY_DEFAULT_PAGE points is bounded by its rows
     * alone (streamed, so the server holds a piece of it whatever its
     * size): a 100,000-point history comes in one reply. A larger page
     * also ends by bytes (--max-response-bytes). */
    void *src = listsrc_history_new(req->app->store, pk, key, offset);
    if (!src)
        return h_fail(res, SRV_E_NOMEM, NULL);
    struct pager_page page = {.list_key = "metrics",
                              .max_items = has_max ? max : HISTORY_DEFAULT_PAGE,
                              .max_bytes =
                                  has_max && max > HISTORY_DEFAULT_PAGE
                                      ? req->app->cfg->max_response_bytes
                                      : 0,
                              .offset = offset};
    return pager_respond(res, &page, &listsrc_history_ops, src);
}

static enum srv_err run_id_list(const cJSON *args, const char *field,
                                const char ***ids, size_t *n, struct errbuf *eb)
{
    enum srv_err e = jx_str_list(args, field, ids, n, eb);
    if (e)
        return e;
    if (*n == 0)
        return err_set(eb, MSG_MISSING_PARAM, field);
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
    /* Every run must exist (404 before anything is sent); the points
     * are then read and sent run by run. MLflow has no paging here, and
     * the reply is bounded by its limits (100 runs, 2500 points each). */
    for (size_t i = 0; i < n_ids; i++) {
        int64_t pk;
        if ((e = store_run_pk(req->app->store, ids[i], &pk, &eb)))
            goto fail;
    }
    void *src = listsrc_sampled_new(req->app->store, ids, n_ids, key, has_start,
                                    start, end, max);
    free(ids);
    if (!src)
        return h_fail(res, SRV_E_NOMEM, NULL);
    struct pager_page page = {.list_key = "metrics", .no_token = true};
    return pager_respond(res, &page, &listsrc_sampled_ops, src);
fail:
    free(ids);
    return h_fail(res, e, &eb);
}

static int compare_ids(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* GET /ajax-api/2.0/mlflow/metrics/get-history-bulk?run_id=..&run_id=..
 * (MLflow 2.9.2's UI): whole histories of one metric for up to 20 runs,
 * as MLflow's SQL store answers it: rows ordered by run id, then
 * timestamp, step and value; at most max_results rows in all (25000,
 * also when more are asked for); an unknown run just has no rows; the
 * list is always present. */
enum handler_result h_metrics_get_history_bulk(struct request *req,
                                               struct response *res)
{
    enum { MAX_RUNS = 20, MAX_ROWS = 25000 };
    struct errbuf eb;
    const char **ids = NULL;
    size_t n_ids = 0;
    const char *key;
    bool has_max;
    int64_t max = MAX_ROWS;
    enum srv_err e;
    if ((e = jx_str_list(req->args, "run_id", &ids, &n_ids, &eb)))
        goto fail;
    if (n_ids == 0) {
        e = err_set(&eb, MSG_BULK_NO_RUN_ID);
        goto fail;
    }
    if (n_ids > MAX_RUNS) {
        e = err_set(&eb, MSG_BULK_TOO_MANY_RUNS, MAX_RUNS, n_ids);
        goto fail;
    }
    if ((e = jx_str(req->args, "metric_key", false, &key, &eb)))
        goto fail;
    if (!key) {
        e = err_set(&eb, MSG_BULK_NO_KEY);
        goto fail;
    }
    if ((e = jx_i64(req->args, "max_results", false, &has_max, &max, &eb)))
        goto fail;
    if (max < 0) {
        e = err_set(&eb, MSG_MAX_RESULTS_POSITIVE, (long long)max);
        goto fail;
    }
    if (max > MAX_ROWS)
        max = MAX_ROWS;
    qsort(ids, n_ids, sizeof(*ids), compare_ids);
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_str(&sb, "{\"metrics\":[");
    size_t rows = 0;
    for (size_t r = 0; r < n_ids && rows < (size_t)max; r++) {
        if (r && strcmp(ids[r], ids[r - 1]) == 0)
            continue; /* a run named twice is listed once */
        struct metric *m;
        size_t n;
        bool more;
        e = store_metric_history(req->app->store, ids[r], key, 0,
                                 max - (int64_t)rows, &m, &n, &more, &eb);
        if (e == SRV_E_RESOURCE_DOES_NOT_EXIST)
            continue;
        if (e) {
            strbuf_cleanup(&sb);
            goto fail;
        }
        for (size_t i = 0; i < n; i++)
            m[i].run_id = ids[r];
        if (n && rows)
            strbuf_append_char(&sb, ',');
        render_metric_items(&sb, m, n, true);
        rows += n;
        metric_array_free(m, n);
    }
    strbuf_append_str(&sb, "]}");
    free(ids);
    api_ok(res, &sb);
    return H_DONE;
fail:
    free(ids);
    return h_fail(res, e, &eb);
}
