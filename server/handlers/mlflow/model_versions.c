/* SPDX-License-Identifier: MIT
 *
 * model_versions: the model-versions endpoints of MLflow 2.9.2's Model
 * Registry REST API (specs/mlflow-registry.md section 2.2): create, get,
 * update, delete, search, transition-stage, get-download-uri, set-tag and
 * delete-tag. A version is READY as soon as it is created (MLflow's SQL
 * store), so mlflow.register_model never waits; its number is one more
 * than the highest the model ever had.
 */
#include "handlers/mlflow/registry_common.h"
#include "jsonx.h"
#include "registry.h"
#include "render.h"

#include <stdlib.h>
#include <string.h>

/* Ends a handler with {"model_version": <version>} read from the store. */
static enum handler_result respond_version(struct request *req,
                                           struct response *res,
                                           const char *name, int64_t version)
{
    struct errbuf eb;
    struct model_version v;
    enum srv_err e =
        store_model_version_get(req->app->store, name, version, &v, &eb);
    return e ? h_fail(res, e, &eb) : reg_answer_version(res, &v);
}

static enum handler_result after_write(struct request *req,
                                       struct response *res)
{
    const struct registry_write *r = req->write->registry;
    return respond_version(req, res, r->name,
                           r->op == REG_VERSION_CREATE ? r->out_version
                                                       : r->version);
}

/*---- create ----*/

/* Checks 'source' as MLflow's handler does (spec section 4.6): a local
 * path is accepted only inside the artifact folder of the run named by
 * 'run_id', anything else needs an absolute, normalised path. */
static enum srv_err check_source(struct request *req, const char *source,
                                 const char *run_id, struct errbuf *eb)
{
    enum registry_source_kind kind;
    enum srv_err e = registry_check_source(source, &kind, eb);
    if (e || kind != REGISTRY_SOURCE_LOCAL)
        return e;
    if (!run_id || !*run_id)
        return registry_local_source_error(source, eb);
    struct run run;
    if ((e = store_run_get(req->app->store, run_id, &run, eb)))
        return e;
    bool ok = registry_local_source_ok(source, run.artifact_uri);
    run_cleanup(&run);
    return ok ? SRV_OK : registry_local_source_error(source, eb);
}

/* POST model-versions/create {name, source, run_id, tags, run_link,
 * description} */
enum handler_result h_model_versions_create(struct request *req,
                                            struct response *res)
{
    struct errbuf eb;
    struct registry_write w = {.op = REG_VERSION_CREATE};
    struct kv_ref *tags = NULL;
    enum srv_err e;
    if ((e = reg_model_name(req, "name", &w.name, &eb)) ||
        (e = jx_str(req->args, "source", true, &w.source, &eb)) ||
        (e = jx_str(req->args, "run_id", false, &w.run_id, &eb)) ||
        (e = jx_str(req->args, "run_link", false, &w.run_link, &eb)) ||
        (e = jx_str(req->args, "description", false, &w.description, &eb)) ||
        (e = reg_tag_list(req->args, true, &tags, &w.n_tags, &eb)) ||
        (e = check_source(req, w.source, w.run_id, &eb))) {
        free(tags);
        return h_fail(res, e, &eb);
    }
    w.tags = tags;
    return reg_submit(req, res, &w, tags, after_write);
}

/*---- get, update, delete ----*/

/* GET model-versions/get?name=&version= */
enum handler_result h_model_versions_get(struct request *req,
                                         struct response *res)
{
    struct errbuf eb;
    const char *name;
    int64_t version;
    enum srv_err e = reg_name_version(req, &name, &version, &eb);
    if (e)
        return h_fail(res, e, &eb);
    return respond_version(req, res, name, version);
}

/* PATCH model-versions/update {name, version, description}: an absent
 * description clears it (then left out of the answers). */
enum handler_result h_model_versions_update(struct request *req,
                                            struct response *res)
{
    struct errbuf eb;
    struct registry_write w = {.op = REG_VERSION_UPDATE};
    enum srv_err e;
    if ((e = reg_name_version(req, &w.name, &w.version, &eb)) ||
        (e = jx_str(req->args, "description", false, &w.description, &eb)))
        return h_fail(res, e, &eb);
    return reg_submit(req, res, &w, NULL, after_write);
}

/* DELETE model-versions/delete {name, version}: the version disappears
 * from every read, with the aliases that named it; its number is not
 * given again. */
enum handler_result h_model_versions_delete(struct request *req,
                                            struct response *res)
{
    struct errbuf eb;
    struct registry_write w = {.op = REG_VERSION_DELETE};
    enum srv_err e = reg_name_version(req, &w.name, &w.version, &eb);
    return e ? h_fail(res, e, &eb) : reg_submit(req, res, &w, NULL, NULL);
}

/*---- search ----*/

/* GET model-versions/search?filter=&max_results=&order_by=&page_token= */
enum handler_result h_model_versions_search(struct request *req,
                                            struct response *res)
{
    return reg_search(req, res, true);
}

/*---- stages ----*/

/* POST model-versions/transition-stage {name, version, stage,
 * archive_existing_versions}: with the flag, the model's other versions
 * in the target stage move to Archived. */
enum handler_result h_model_versions_transition_stage(struct request *req,
                                                      struct response *res)
{
    struct errbuf eb;
    struct registry_write w = {.op = REG_VERSION_TRANSITION};
    const char *stage_text;
    bool present;
    enum srv_err e;
    if ((e = reg_name_version(req, &w.name, &w.version, &eb)) ||
        (e = jx_str(req->args, "stage", true, &stage_text, &eb)) ||
        (e = registry_parse_stage(stage_text, &w.stage, &eb)) ||
        (e = jx_bool(req->args, "archive_existing_versions", &present,
                     &w.archive_existing, &eb)))
        return h_fail(res, e, &eb);
    if (w.archive_existing && w.stage != REGISTRY_STAGE_STAGING &&
        w.stage != REGISTRY_STAGE_PRODUCTION)
        /* [rec] 400: MLflow raises it without a code (500) */
        return h_fail(res,
                      err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                              "Model version transition cannot archive "
                              "existing model versions because '%s' is not "
                              "an Active stage. Valid stages are ['Staging', "
                              "'Production']",
                              registry_stage_names[w.stage]),
                      &eb);
    return reg_submit(req, res, &w, NULL, after_write);
}

/* GET model-versions/get-download-uri?name=&version=: the stored source,
 * unchanged. */
enum handler_result h_model_versions_get_download_uri(struct request *req,
                                                      struct response *res)
{
    struct errbuf eb;
    const char *name;
    int64_t version;
    struct model_version v;
    enum srv_err e;
    if ((e = reg_name_version(req, &name, &version, &eb)) ||
        (e = store_model_version_get(req->app->store, name, version, &v, &eb)))
        return h_fail(res, e, &eb);
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_char(&sb, '{');
    render_str_field(&sb, "artifact_uri", v.source, true);
    strbuf_append_char(&sb, '}');
    model_version_cleanup(&v);
    api_ok(res, &sb);
    return H_DONE;
}

/*---- tags ----*/

/* POST model-versions/set-tag {name, version, key, value}: an upsert. */
enum handler_result h_model_versions_set_tag(struct request *req,
                                             struct response *res)
{
    return reg_tag(req, res, true, false);
}

/* DELETE model-versions/delete-tag {name, version, key}: a missing key is
 * no error. */
enum handler_result h_model_versions_delete_tag(struct request *req,
                                                struct response *res)
{
    return reg_tag(req, res, true, true);
}
