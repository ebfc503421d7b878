/* SPDX-License-Identifier: MIT
 *
 * experiments: greentrack's experiment endpoints under
 * /api/2.0/greentrack/experiments/: summary (per active experiment its
 * runs, running runs, total energy and CO2, last activity and, with the
 * tag greentrack.budget_co2_kg, its carbon budget: the UI's list). With
 * ?experiment_id= it answers that one experiment only and adds
 * potential_saving_g (greenai_report.h), which reads every run's carbon.
 */
#include "auth.h"
#include "greenai_report.h"
#include "handlers/handlers.h"
#include "jsonx.h"
#include "listsrc.h"
#include "render.h"

#include <string.h>

/* The one-experiment form: {"experiments":[{...}]}. */
static enum handler_result one_summary(struct request *req,
                                       struct response *res, int64_t exp_id)
{
    struct errbuf eb;
    struct store *st = req->app->store;
    struct experiment x;
    enum srv_err e = store_experiment_get(st, exp_id, &x, &eb);
    if (e)
        return h_fail(res, e, &eb);
    experiment_cleanup(&x);
    struct experiment_summary *a = NULL;
    size_t n = 0;
    bool end;
    double saving = 0;
    if ((e = store_summaries_chunk(st, exp_id - 1, 1, &a, &n, &end, &eb)) ||
        (e = greenai_potential_saving(st, exp_id, &saving, &eb))) {
        experiment_summaries_free(a, n);
        return h_fail(res, e, &eb);
    }
    if (n != 1 || a[0].experiment_id != exp_id) { /* deleted experiment */
        experiment_summaries_free(a, n);
        return h_fail(res,
                      err_set(&eb, SRV_E_RESOURCE_DOES_NOT_EXIST,
                              "No active experiment with id=%lld",
                              (long long)exp_id),
                      &eb);
    }
    const struct experiment_summary *s = &a[0];
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_str(&sb, "{\"experiments\":[{\"experiment_id\":\"");
    strbuf_append_i64(&sb, s->experiment_id);
    strbuf_append_char(&sb, '"');
    render_str_field(&sb, "name", s->name, false);
    render_key(&sb, "runs", false);
    strbuf_append_i64(&sb, s->runs);
    render_key(&sb, "running", false);
    strbuf_append_i64(&sb, s->running);
    render_num_field(&sb, "energy_kwh", s->energy_kwh, false);
    render_num_field(&sb, "co2_g", s->co2_kg * 1000.0, false);
    render_key(&sb, "last_activity", false);
    strbuf_append_i64(&sb, s->last_activity);
    render_num_field(&sb, "potential_saving_g", saving, false);
    e = greenai_render_budget(st, exp_id, s->co2_kg, &sb, &eb);
    strbuf_append_str(&sb, "}]}");
    experiment_summaries_free(a, n);
    if (e) {
        strbuf_cleanup(&sb);
        return h_fail(res, e, &eb);
    }
    api_ok(res, &sb);
    return H_DONE;
}

static bool can_read(void *ctx, int64_t experiment_id)
{
    return auth_experiment_level(ctx, experiment_id) >= AUTH_READ;
}

enum handler_result h_experiments_summary(struct request *req,
                                          struct response *res)
{
    struct errbuf eb;
    int64_t exp_id = -1;
    const char *given;
    enum srv_err e = jx_str(req->args, "experiment_id", false, &given, &eb);
    if (!e && given)
        e = h_experiment_id(req->args, "experiment_id", true, &exp_id, &eb);
    if (e)
        return h_fail(res, e, &eb);
    if (given) {
        if (req->user.set && !req->user.admin_power && !can_read(req, exp_id))
            return h_fail(
                res, err_set(&eb, SRV_E_PERMISSION_DENIED, "Permission denied"),
                &eb);
        return one_summary(req, res, exp_id);
    }
    /* Streamed by chunks of experiments (listsrc.h); not paged. Under
     * --auth a non-admin sees what it may READ. */
    void *src =
        req->user.set && !req->user.admin_power
            ? listsrc_summaries_new_filtered(req->app->store, can_read, req)
            : listsrc_summaries_new(req->app->store);
    if (!src)
        return h_fail(res, SRV_E_NOMEM, NULL);
    struct pager_page page = {
        .list_key = "experiments", .keep_empty = true, .no_token = true};
    return pager_respond(res, &page, &listsrc_summaries_ops, src);
}
