/* SPDX-License-Identifier: MIT
 *
 * experiments: POST /codecarbon/experiments {"name", ...} -> 201
 * {"id", "name"}: CodeCarbon's tracker creates its experiment at every
 * start, so an existing experiment of that name is answered, not created
 * again. The id is a greentrack experiment id.
 */
#include "handlers/handlers.h"
#include "jsonx.h"
#include "validate.h"

#include <stdio.h>
#include <string.h>

struct cc_experiment {
    struct store_write w; /* first: api_pending relies on it */
    char name[200];
};

static enum handler_result after_experiment(struct request *req,
                                            struct response *res)
{
    struct cc_experiment *x = req->state;
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_str(&sb, "{\"id\":\"");
    strbuf_append_i64(&sb, x->w.out_experiment_id);
    strbuf_append_str(&sb, "\",\"name\":");
    strbuf_append_json_str(&sb, x->name, strlen(x->name));
    strbuf_append_char(&sb, '}');
    return h_created(res, &sb);
}

enum handler_result h_cc_experiments(struct request *req, struct response *res)
{
    struct errbuf eb;
    const char *name;
    enum srv_err e = jx_str(req->args, "name", true, &name, &eb);
    if (e || (e = validate_experiment_name(name, &eb)))
        return h_fail(res, e, &eb);
    struct experiment existing;
    if (store_experiment_get_by_name(req->app->store, name, &existing, &eb) ==
        SRV_OK) {
        /* CodeCarbon creates its experiment at every start: reuse it. */
        struct strbuf sb;
        strbuf_init(&sb);
        strbuf_append_str(&sb, "{\"id\":\"");
        strbuf_append_i64(&sb, existing.experiment_id);
        strbuf_append_str(&sb, "\",\"name\":");
        strbuf_append_json_str(&sb, existing.name, strlen(existing.name));
        strbuf_append_char(&sb, '}');
        experiment_cleanup(&existing);
        return h_created(res, &sb);
    }
    struct cc_experiment *x = api_pending(req, sizeof(*x), after_experiment);
    if (!x)
        return h_fail(res, SRV_E_NOMEM, NULL);
    snprintf(x->name, sizeof(x->name), "%s", name);
    x->w.kind = SW_EXPERIMENT_CREATE;
    x->w.name = x->name;
    return H_PENDING;
}
