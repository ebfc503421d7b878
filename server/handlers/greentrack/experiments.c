/* SPDX-License-Identifier: MIT
 *
 * experiments: greentrack's experiment endpoints under
 * /api/2.0/greentrack/experiments/: summary (per active experiment its
 * runs, running runs, total energy and CO2 and last activity: the UI's
 * list).
 */
#include "handlers/handlers.h"
#include "render.h"

#include <string.h>

enum handler_result h_experiments_summary(struct request *req,
                                          struct response *res)
{
    struct errbuf eb;
    struct experiment_summary *a;
    size_t n;
    enum srv_err e = store_experiment_summaries(req->app->store, &a, &n, &eb);
    if (e)
        return h_fail(res, e, &eb);
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_str(&sb, "{\"experiments\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            strbuf_append_char(&sb, ',');
        strbuf_append_str(&sb, "{\"experiment_id\":\"");
        strbuf_append_i64(&sb, a[i].experiment_id);
        strbuf_append_char(&sb, '"');
        render_key(&sb, "name", false);
        strbuf_append_json_str(&sb, a[i].name, strlen(a[i].name));
        render_key(&sb, "runs", false);
        strbuf_append_i64(&sb, a[i].runs);
        render_key(&sb, "running", false);
        strbuf_append_i64(&sb, a[i].running);
        render_key(&sb, "energy_kwh", false);
        strbuf_append_json_double(&sb, a[i].energy_kwh);
        render_key(&sb, "co2_g", false);
        strbuf_append_json_double(&sb, a[i].co2_kg * 1000.0);
        render_key(&sb, "last_activity", false);
        strbuf_append_i64(&sb, a[i].last_activity);
        strbuf_append_char(&sb, '}');
    }
    strbuf_append_str(&sb, "]}");
    experiment_summaries_free(a, n);
    api_ok(res, &sb);
    return H_DONE;
}
