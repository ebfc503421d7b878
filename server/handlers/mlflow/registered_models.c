/* SPDX-License-Identifier: MIT
 *
 * registered_models: the registered-models endpoints of MLflow 2.9.2's
 * Model Registry REST API (specs/mlflow-registry.md section 2.1): create,
 * get, rename, update, delete, search, get-latest-versions, set-tag,
 * delete-tag, and the alias (POST sets, DELETE removes, GET reads).
 * Requests are checked with registry.h's rules, writes go through the
 * store's writer (store_registry.h), and a write that returns the model
 * reads it back once committed.
 */
#include "handlers/mlflow/registry_common.h"
#include "jsonx.h"
#include "registry.h"
#include "render.h"

#include <stdlib.h>
#include <string.h>

/* Ends a handler with {"registered_model": <model 'name'>}. */
static enum handler_result respond_model(struct request *req,
                                         struct response *res, const char *name)
{
    struct errbuf eb;
    struct registered_model m;
    enum srv_err e = store_registered_model_get(req->app->store, name, &m, &eb);
    if (e)
        return h_fail(res, e, &eb);
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_str(&sb, "{\"registered_model\":");
    registry_render_model(&sb, &m);
    strbuf_append_char(&sb, '}');
    registered_model_cleanup(&m);
    api_ok(res, &sb);
    return H_DONE;
}

/*---- create, get, rename, update, delete ----*/

static enum handler_result after_create(struct request *req,
                                        struct response *res)
{
    return respond_model(req, res, req->write->registry->name);
}

/* POST registered-models/create {name, tags, description}: a repeated tag
 * key takes the last value. */
enum handler_result h_registered_models_create(struct request *req,
                                               struct response *res)
{
    struct errbuf eb;
    struct registry_write w = {.op = REG_MODEL_CREATE};
    struct kv_ref *tags;
    enum srv_err e;
    if ((e = reg_model_name(req, "name", &w.name, &eb)) ||
        (e = jx_str(req->args, "description", false, &w.description, &eb)) ||
        (e = reg_tag_list(req->args, false, &tags, &w.n_tags, &eb)))
        return h_fail(res, e, &eb);
    w.tags = tags;
    return reg_submit(req, res, &w, tags, after_create);
}

/* GET registered-models/get?name= */
enum handler_result h_registered_models_get(struct request *req,
                                            struct response *res)
{
    struct errbuf eb;
    const char *name;
    enum srv_err e = reg_model_name(req, "name", &name, &eb);
    if (e)
        return h_fail(res, e, &eb);
    return respond_model(req, res, name);
}

static enum handler_result after_rename(struct request *req,
                                        struct response *res)
{
    return respond_model(req, res, req->write->registry->new_name);
}

/* POST registered-models/rename {name, new_name}: versions, tags and
 * aliases move with the model; the old name is free afterwards. */
enum handler_result h_registered_models_rename(struct request *req,
                                               struct response *res)
{
    struct errbuf eb;
    struct registry_write w = {.op = REG_MODEL_RENAME};
    enum srv_err e;
    if ((e = reg_model_name(req, "name", &w.name, &eb)) ||
        (e = reg_model_name(req, "new_name", &w.new_name, &eb)))
        return h_fail(res, e, &eb);
    return reg_submit(req, res, &w, NULL, after_rename);
}

/* PATCH registered-models/update {name, description}: an absent
 * description clears it. */
enum handler_result h_registered_models_update(struct request *req,
                                               struct response *res)
{
    struct errbuf eb;
    struct registry_write w = {.op = REG_MODEL_UPDATE};
    enum srv_err e;
    if ((e = reg_model_name(req, "name", &w.name, &eb)) ||
        (e = jx_str(req->args, "description", false, &w.description, &eb)))
        return h_fail(res, e, &eb);
    return reg_submit(req, res, &w, NULL, after_create);
}

/* DELETE registered-models/delete {name}: the model, all its versions,
 * tags and aliases. */
enum handler_result h_registered_models_delete(struct request *req,
                                               struct response *res)
{
    struct errbuf eb;
    struct registry_write w = {.op = REG_MODEL_DELETE};
    enum srv_err e = reg_model_name(req, "name", &w.name, &eb);
    return e ? h_fail(res, e, &eb) : reg_submit(req, res, &w, NULL, NULL);
}

/*---- search ----*/

/* GET registered-models/search?filter=&max_results=&order_by=&page_token= */
enum handler_result h_registered_models_search(struct request *req,
                                               struct response *res)
{
    return reg_search(req, res, false);
}

/* POST or GET registered-models/get-latest-versions {name, stages}: the
 * highest version in each stage asked for (any case), all four when none
 * is. */
enum handler_result
h_registered_models_get_latest_versions(struct request *req,
                                        struct response *res)
{
    struct errbuf eb;
    const char *name;
    const char **stages = NULL;
    size_t n_stages = 0;
    enum srv_err e;
    if ((e = reg_model_name(req, "name", &name, &eb)) ||
        (e = jx_str_list(req->args, "stages", &stages, &n_stages, &eb)))
        return h_fail(res, e, &eb);
    unsigned mask = n_stages ? 0 : (1u << REGISTRY_STAGE_COUNT) - 1;
    for (size_t i = 0; i < n_stages && !e; i++) {
        enum registry_stage st;
        if (!(e = registry_parse_stage(stages[i], &st, &eb)))
            mask |= 1u << st;
    }
    free(stages);
    struct model_version *list = NULL;
    size_t n = 0;
    if (e || (e = store_latest_versions(req->app->store, name, mask, &list, &n,
                                        &eb)))
        return h_fail(res, e, &eb);
    return reg_answer_versions(res, list, n);
}

/*---- tags ----*/

/* POST registered-models/set-tag {name, key, value}: an upsert; the
 * model's last_updated_timestamp stays. */
enum handler_result h_registered_models_set_tag(struct request *req,
                                                struct response *res)
{
    return reg_tag(req, res, false, false);
}

/* DELETE registered-models/delete-tag {name, key}: a missing key is no
 * error. */
enum handler_result h_registered_models_delete_tag(struct request *req,
                                                   struct response *res)
{
    return reg_tag(req, res, false, true);
}

/*---- aliases ----*/

/* POST registered-models/alias {name, alias, version}: sets or moves the
 * alias to a live version; DELETE {name, alias} removes it (a missing
 * alias is no error). */
static enum handler_result alias_write(struct request *req,
                                       struct response *res, bool set)
{
    struct errbuf eb;
    struct registry_write w = {.op = set ? REG_ALIAS_SET : REG_ALIAS_DELETE};
    enum srv_err e;
    if ((e = reg_model_name(req, "name", &w.name, &eb)) ||
        (e = jx_str(req->args, "alias", true, &w.alias, &eb)) ||
        (e = registry_check_alias(w.alias, &eb)) ||
        (set && (e = reg_version(req, true, &w.version, &eb))))
        return h_fail(res, e, &eb);
    return reg_submit(req, res, &w, NULL, NULL);
}

enum handler_result h_registered_models_alias_set(struct request *req,
                                                  struct response *res)
{
    return alias_write(req, res, true);
}

enum handler_result h_registered_models_alias_delete(struct request *req,
                                                     struct response *res)
{
    return alias_write(req, res, false);
}

/* GET registered-models/alias?name=&alias=: {"model_version": ...}; an
 * unknown alias is 400 INVALID_PARAMETER_VALUE, as MLflow answers. */
enum handler_result h_registered_models_alias_get(struct request *req,
                                                  struct response *res)
{
    struct errbuf eb;
    const char *name, *alias;
    enum srv_err e;
    if ((e = reg_model_name(req, "name", &name, &eb)) ||
        (e = jx_str(req->args, "alias", false, &alias, &eb)))
        return h_fail(res, e, &eb);
    if (!alias || !*alias)
        return h_fail(res,
                      err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                              "Registered model alias name cannot be "
                              "empty."),
                      &eb);
    struct model_version v;
    if ((e = store_model_version_by_alias(req->app->store, name, alias, &v,
                                          &eb)))
        return h_fail(res, e, &eb);
    return reg_answer_version(res, &v);
}
