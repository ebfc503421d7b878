/* SPDX-License-Identifier: MIT
 *
 * model_versions: the model-versions endpoints of MLflow 2.9.2's Model
 * Registry REST API (specs/mlflow-registry.md section 2.2): create, get,
 * update, delete, search, transition-stage, get-download-uri, set-tag and
 * delete-tag. A version is READY as soon as it is created (MLflow's SQL
 * store), so mlflow.register_model never waits; its number is one more
 * than the highest the model ever had.
 */
#include "handlers/handlers.h"
#include "jsonx.h"
#include "pagetoken.h"
#include "registry.h"
#include "render.h"
#include "store_registry.h"

#include <stdlib.h>
#include <string.h>

/*---- request helpers ----*/

static bool is_get(const struct request *req)
{
    return strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
}

/* name and version: required fields of a JSON body; on a GET an absent
 * one fails the store's own checks, as in MLflow 2.9.2. */
static enum srv_err name_version(const struct request *req, const char **name,
                                 int64_t *version, struct errbuf *eb)
{
    char buf[64];
    bool present;
    enum srv_err e;
    if ((e = jx_str(req->args, "name", !is_get(req), name, eb)) ||
        (e = registry_check_name(*name, eb)) ||
        (e = jx_id(req->args, "version", !is_get(req), buf, sizeof(buf),
                   &present, eb)))
        return e;
    return registry_parse_version(present ? buf : NULL, version, eb);
}

struct version_pending {
    struct store_write w; /* first: api_pending relies on it */
    struct registry_write r;
    struct kv_ref *tags;
};

static void version_pending_free(void *p)
{
    struct version_pending *x = p;
    free(x->tags);
    free(x);
}

static struct registry_write *
pending(struct request *req, enum registry_op op,
        enum handler_result (*after)(struct request *, struct response *))
{
    struct version_pending *x = api_pending(req, sizeof(*x), after);
    if (!x)
        return NULL;
    req->state_free = version_pending_free;
    x->w.kind = SW_REGISTRY;
    x->w.registry = &x->r;
    x->r.op = op;
    return &x->r;
}

/* Ends a handler with {"model_version": <version>} read from the store. */
static enum handler_result respond_version(struct request *req,
                                           struct response *res,
                                           const char *name, int64_t version)
{
    struct errbuf eb;
    struct model_version v;
    enum srv_err e =
        store_model_version_get(req->app->store, name, version, &v, &eb);
    if (e)
        return h_fail(res, e, &eb);
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_str(&sb, "{\"model_version\":");
    registry_render_version(&sb, &v);
    strbuf_append_char(&sb, '}');
    model_version_cleanup(&v);
    api_ok(res, &sb);
    return H_DONE;
}

static enum handler_result after_write(struct request *req,
                                       struct response *res)
{
    const struct registry_write *r = req->write->registry;
    return respond_version(req, res, r->name,
                           r->op == REG_VERSION_CREATE ? r->out_version
                                                       : r->version);
}

/* [{"key","value"}]: checked as model version tags; absent value "". */
static enum srv_err version_tags(const cJSON *args, struct kv_ref **out,
                                 size_t *n, struct errbuf *eb)
{
    const cJSON *list;
    *out = NULL;
    *n = 0;
    enum srv_err e = jx_array(args, "tags", &list, eb);
    size_t count = list ? (size_t)cJSON_GetArraySize(list) : 0;
    if (e || count == 0)
        return e;
    struct kv_ref *a = calloc(count, sizeof(*a));
    if (!a)
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    const cJSON *it;
    size_t i = 0;
    cJSON_ArrayForEach(it, list)
    {
        const char *key = NULL, *value = NULL;
        if (!cJSON_IsObject(it))
            e = err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                        "Invalid value for parameter 'tags': each entry "
                        "must be an object with 'key' and 'value'");
        if (e || (e = jx_str(it, "key", false, &key, eb)) ||
            (e = jx_str(it, "value", false, &value, eb)) ||
            (e = registry_check_tag(key, value, true, eb)))
            break;
        a[i].key = key;
        a[i].value.s = value ? value : "";
        a[i].value.len = strlen(a[i].value.s);
        i++;
    }
    if (e) {
        free(a);
        return e;
    }
    *out = a;
    *n = i;
    return SRV_OK;
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
    const char *name, *source, *run_id, *run_link, *description;
    struct kv_ref *tags = NULL;
    size_t n_tags = 0;
    enum srv_err e;
    if ((e = jx_str(req->args, "name", true, &name, &eb)) ||
        (e = registry_check_name(name, &eb)) ||
        (e = jx_str(req->args, "source", true, &source, &eb)) ||
        (e = jx_str(req->args, "run_id", false, &run_id, &eb)) ||
        (e = jx_str(req->args, "run_link", false, &run_link, &eb)) ||
        (e = jx_str(req->args, "description", false, &description, &eb)) ||
        (e = version_tags(req->args, &tags, &n_tags, &eb)) ||
        (e = check_source(req, source, run_id, &eb))) {
        free(tags);
        return h_fail(res, e, &eb);
    }
    struct registry_write *r = pending(req, REG_VERSION_CREATE, after_write);
    if (!r) {
        free(tags);
        return h_fail(res, SRV_E_NOMEM, NULL);
    }
    ((struct version_pending *)req->state)->tags = tags;
    r->name = name;
    r->source = source;
    r->run_id = run_id;
    r->run_link = run_link;
    r->description = description;
    r->tags = tags;
    r->n_tags = n_tags;
    return H_PENDING;
}

/*---- get, update, delete ----*/

/* GET model-versions/get?name=&version= */
enum handler_result h_model_versions_get(struct request *req,
                                         struct response *res)
{
    struct errbuf eb;
    const char *name;
    int64_t version;
    enum srv_err e = name_version(req, &name, &version, &eb);
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
    const char *name, *description;
    int64_t version;
    enum srv_err e;
    if ((e = name_version(req, &name, &version, &eb)) ||
        (e = jx_str(req->args, "description", false, &description, &eb)))
        return h_fail(res, e, &eb);
    struct registry_write *r = pending(req, REG_VERSION_UPDATE, after_write);
    if (!r)
        return h_fail(res, SRV_E_NOMEM, NULL);
    r->name = name;
    r->version = version;
    r->description = description;
    return H_PENDING;
}

/* DELETE model-versions/delete {name, version}: the version disappears
 * from every read, with the aliases that named it; its number is not
 * given again. */
enum handler_result h_model_versions_delete(struct request *req,
                                            struct response *res)
{
    struct errbuf eb;
    const char *name;
    int64_t version;
    enum srv_err e = name_version(req, &name, &version, &eb);
    if (e)
        return h_fail(res, e, &eb);
    struct registry_write *r = pending(req, REG_VERSION_DELETE, NULL);
    if (!r)
        return h_fail(res, SRV_E_NOMEM, NULL);
    r->name = name;
    r->version = version;
    return H_PENDING;
}

/*---- search ----*/

/* GET model-versions/search?filter=&max_results=&order_by=&page_token= */
enum handler_result h_model_versions_search(struct request *req,
                                            struct response *res)
{
    struct errbuf eb;
    struct search_args a;
    const char **order;
    enum srv_err e =
        h_registry_search_args(req->args, REGISTRY_VERSIONS_MAX_RESULTS_DEFAULT,
                               REGISTRY_VERSIONS_MAX_RESULTS, &a, &order, &eb);
    struct model_version *list = NULL;
    size_t n = 0;
    bool more = false;
    if (!e)
        e = store_model_versions_search(req->app->store, &a, &list, &n, &more,
                                        &eb);
    free(order);
    if (e)
        return h_fail(res, e, &eb);
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_char(&sb, '{');
    if (n) {
        render_key(&sb, "model_versions", true);
        strbuf_append_char(&sb, '[');
        for (size_t i = 0; i < n; i++) {
            if (i)
                strbuf_append_char(&sb, ',');
            registry_render_version(&sb, &list[i]);
        }
        strbuf_append_char(&sb, ']');
    }
    if (more) {
        render_key(&sb, "next_page_token", n == 0);
        pagetoken_append_json(&sb, a.offset + (int64_t)n);
    }
    strbuf_append_char(&sb, '}');
    model_versions_free(list, n);
    api_ok(res, &sb);
    return H_DONE;
}

/*---- stages ----*/

/* POST model-versions/transition-stage {name, version, stage,
 * archive_existing_versions}: with the flag, the model's other versions
 * in the target stage move to Archived. */
enum handler_result h_model_versions_transition_stage(struct request *req,
                                                      struct response *res)
{
    struct errbuf eb;
    const char *name, *stage_text;
    int64_t version;
    bool present, archive = false;
    enum registry_stage stage;
    enum srv_err e;
    if ((e = name_version(req, &name, &version, &eb)) ||
        (e = jx_str(req->args, "stage", true, &stage_text, &eb)) ||
        (e = registry_parse_stage(stage_text, &stage, &eb)) ||
        (e = jx_bool(req->args, "archive_existing_versions", &present, &archive,
                     &eb)))
        return h_fail(res, e, &eb);
    if (archive && stage != REGISTRY_STAGE_STAGING &&
        stage != REGISTRY_STAGE_PRODUCTION)
        /* [rec] 400: MLflow raises it without a code (500) */
        return h_fail(res,
                      err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                              "Model version transition cannot archive "
                              "existing model versions because '%s' is not "
                              "an Active stage. Valid stages are ['Staging', "
                              "'Production']",
                              registry_stage_names[stage]),
                      &eb);
    struct registry_write *r =
        pending(req, REG_VERSION_TRANSITION, after_write);
    if (!r)
        return h_fail(res, SRV_E_NOMEM, NULL);
    r->name = name;
    r->version = version;
    r->stage = stage;
    r->archive_existing = archive;
    return H_PENDING;
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
    if ((e = name_version(req, &name, &version, &eb)) ||
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
    struct errbuf eb;
    const char *name, *key, *value;
    int64_t version;
    enum srv_err e;
    if ((e = name_version(req, &name, &version, &eb)) ||
        (e = jx_str(req->args, "key", true, &key, &eb)) ||
        (e = jx_str(req->args, "value", false, &value, &eb)) ||
        (e = registry_check_tag(key, value, true, &eb)))
        return h_fail(res, e, &eb);
    struct registry_write *r = pending(req, REG_VERSION_SET_TAG, NULL);
    if (!r)
        return h_fail(res, SRV_E_NOMEM, NULL);
    r->name = name;
    r->version = version;
    r->key = key;
    r->value = value ? value : "";
    return H_PENDING;
}

/* DELETE model-versions/delete-tag {name, version, key}: a missing key is
 * no error. */
enum handler_result h_model_versions_delete_tag(struct request *req,
                                                struct response *res)
{
    struct errbuf eb;
    const char *name, *key;
    int64_t version;
    enum srv_err e;
    if ((e = name_version(req, &name, &version, &eb)) ||
        (e = jx_str(req->args, "key", true, &key, &eb)) ||
        (e = registry_check_tag(key, NULL, true, &eb)))
        return h_fail(res, e, &eb);
    struct registry_write *r = pending(req, REG_VERSION_DELETE_TAG, NULL);
    if (!r)
        return h_fail(res, SRV_E_NOMEM, NULL);
    r->name = name;
    r->version = version;
    r->key = key;
    return H_PENDING;
}
