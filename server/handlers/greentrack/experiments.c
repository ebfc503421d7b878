/* SPDX-License-Identifier: MIT
 *
 * experiments: greentrack's experiment endpoints under
 * /api/2.0/greentrack/experiments/: summary (per active experiment its
 * runs, running runs, total energy and CO2 and last activity: the UI's
 * list).
 */
#include "auth.h"
#include "handlers/handlers.h"
#include "listsrc.h"

static bool can_read(void *ctx, int64_t experiment_id)
{
    return auth_experiment_level(ctx, experiment_id) >= AUTH_READ;
}

enum handler_result h_experiments_summary(struct request *req,
                                          struct response *res)
{
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
