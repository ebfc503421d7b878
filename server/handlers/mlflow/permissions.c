/* SPDX-License-Identifier: MIT
 *
 * permissions: MLflow's grant API under /api/2.0/mlflow/
 * experiments/permissions/{create,get,update,delete} and
 * registered-models/permissions/{create,get,update,delete}
 * (specs/mlflow-auth.md section 6). Callers need MANAGE on the resource
 * (router.c). Grants are keyed by experiment id or model name and need
 * not name an existing resource, as in MLflow.
 */
#include "auth.h"
#include "handlers/handlers.h"
#include "jsonx.h"

#include <inttypes.h>
#include <string.h>

/* The arguments of one grant call: resource (id or name), username and,
 * when 'with_perm', a valid permission. */
struct grant_args {
    char id[64];
    const char *resource;
    const char *username;
    const char *permission;
};

static enum srv_err grant_args(const struct request *req, bool model,
                               bool with_perm, struct grant_args *g,
                               struct errbuf *eb)
{
    enum srv_err e;
    bool present;
    if (model) {
        if ((e = jx_str(req->args, "name", true, &g->resource, eb)))
            return e;
    } else {
        if ((e = jx_id(req->args, "experiment_id", true, g->id, sizeof(g->id),
                       &present, eb)))
            return e;
        g->resource = g->id;
    }
    if ((e = jx_str(req->args, "username", true, &g->username, eb)))
        return e;
    if (!with_perm)
        return SRV_OK;
    if ((e = jx_str(req->args, "permission", true, &g->permission, eb)))
        return e;
    if (auth_level_parse(g->permission) < 0)
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Invalid permission '%.100s'. Valid permissions are: "
                       "('READ', 'EDIT', 'MANAGE', 'NO_PERMISSIONS')",
                       g->permission);
    return SRV_OK;
}

/* Sends {"<key>": {"experiment_id"|"name": .., "user_id", "permission"}}
 * for the grant of 'g', or 404 when there is none. */
static enum handler_result send_grant(struct request *req, struct response *res,
                                      bool model, const struct grant_args *g)
{
    struct errbuf eb;
    struct auth_user_row u;
    enum srv_err e =
        store_auth_user_by_name(req->app->store, g->username, &u, &eb);
    if (e)
        return h_fail(res, e, &eb);
    char perm[16];
    bool found;
    e = model ? store_auth_model_perm(req->app->store, g->resource, u.id, perm,
                                      &found, &eb)
              : store_auth_exp_perm(req->app->store, g->resource, u.id, perm,
                                    &found, &eb);
    if (e)
        return h_fail(res, e, &eb);
    if (!found)
        return h_fail(
            res,
            model ? err_set(&eb, SRV_E_RESOURCE_DOES_NOT_EXIST,
                            "Registered model permission with name=%.250s "
                            "and username=%.250s not found",
                            g->resource, g->username)
                  : err_set(&eb, SRV_E_RESOURCE_DOES_NOT_EXIST,
                            "Experiment permission with experiment_id=%.250s "
                            "and username=%.250s not found",
                            g->resource, g->username),
            &eb);
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_str(&sb, model ? "{\"registered_model_permission\":{\"name\":"
                                 : "{\"experiment_permission\":{"
                                   "\"experiment_id\":");
    strbuf_append_json_str(&sb, g->resource, strlen(g->resource));
    strbuf_printf(&sb, ",\"user_id\":%" PRId64 ",\"permission\":\"%s\"}}", u.id,
                  auth_level_name(auth_level_parse(perm)));
    api_ok(res, &sb);
    return H_DONE;
}

/* The state of a pending grant write: the arguments stay for the answer. */
struct grant_pending {
    struct auth_pending p; /* first */
    struct grant_args g;
    bool model;
};

static enum handler_result after_create(struct request *req,
                                        struct response *res)
{
    struct grant_pending *gp = req->state;
    return send_grant(req, res, gp->model, &gp->g);
}

static enum handler_result grant_write(struct request *req,
                                       struct response *res, bool model,
                                       enum auth_op op)
{
    struct errbuf off;
    if (auth_need_on(req, &off))
        return h_fail(res, SRV_E_BAD_REQUEST, &off);
    struct errbuf eb;
    struct grant_args g = {0};
    bool create = op == AUTH_EXP_PERM_CREATE || op == AUTH_MODEL_PERM_CREATE;
    bool with_perm =
        create || op == AUTH_EXP_PERM_UPDATE || op == AUTH_MODEL_PERM_UPDATE;
    enum srv_err e = grant_args(req, model, with_perm, &g, &eb);
    if (e)
        return h_fail(res, e, &eb);
    struct grant_pending *gp =
        api_pending(req, sizeof(*gp), create ? after_create : NULL);
    if (!gp)
        return h_fail(res, SRV_E_NOMEM, NULL);
    gp->p.w.kind = SW_AUTH;
    gp->p.w.auth = &gp->p.a;
    gp->g = g;
    if (!model)
        gp->g.resource = gp->g.id; /* the copy's own buffer */
    gp->model = model;
    gp->p.a.op = op;
    gp->p.a.resource = gp->g.resource;
    gp->p.a.username = gp->g.username;
    gp->p.a.permission = gp->g.permission;
    return H_PENDING;
}

static enum handler_result grant_get(struct request *req, struct response *res,
                                     bool model)
{
    struct errbuf off;
    if (auth_need_on(req, &off))
        return h_fail(res, SRV_E_BAD_REQUEST, &off);
    struct errbuf eb;
    struct grant_args g = {0};
    enum srv_err e = grant_args(req, model, false, &g, &eb);
    if (e)
        return h_fail(res, e, &eb);
    return send_grant(req, res, model, &g);
}

enum handler_result h_experiment_permissions_create(struct request *req,
                                                    struct response *res)
{
    return grant_write(req, res, false, AUTH_EXP_PERM_CREATE);
}

enum handler_result h_experiment_permissions_get(struct request *req,
                                                 struct response *res)
{
    return grant_get(req, res, false);
}

enum handler_result h_experiment_permissions_update(struct request *req,
                                                    struct response *res)
{
    return grant_write(req, res, false, AUTH_EXP_PERM_UPDATE);
}

enum handler_result h_experiment_permissions_delete(struct request *req,
                                                    struct response *res)
{
    return grant_write(req, res, false, AUTH_EXP_PERM_DELETE);
}

enum handler_result h_model_permissions_create(struct request *req,
                                               struct response *res)
{
    return grant_write(req, res, true, AUTH_MODEL_PERM_CREATE);
}

enum handler_result h_model_permissions_get(struct request *req,
                                            struct response *res)
{
    return grant_get(req, res, true);
}

enum handler_result h_model_permissions_update(struct request *req,
                                               struct response *res)
{
    return grant_write(req, res, true, AUTH_MODEL_PERM_UPDATE);
}

enum handler_result h_model_permissions_delete(struct request *req,
                                               struct response *res)
{
    return grant_write(req, res, true, AUTH_MODEL_PERM_DELETE);
}
