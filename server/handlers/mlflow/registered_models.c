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
#include "handlers/handlers.h"
#include "jsonx.h"
#include "pagetoken.h"
#include "registry.h"
#include "render.h"
#include "store_registry.h"

#include <stdlib.h>
#include <string.h>

/*---- request helpers ----*/

/* The model name: required in a JSON body; on a GET (whose query MLflow
 * 2.9.2 never checks field by field) absent reads as empty, which the
 * store's check words as "Registered model name cannot be empty.". */
static enum srv_err model_name(const struct request *req, const char *field,
                               const char **out, struct errbuf *eb)
{
    bool get =
        strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
    enum srv_err e = jx_str(req->args, field, !get, out, eb);
    return e ? e : registry_check_name(*out, eb);
}

/* A version field, given as a string or a number. */
static enum srv_err version_arg(const struct request *req, bool required,
                                int64_t *out, struct errbuf *eb)
{
    char buf[64];
    bool present;
    enum srv_err e =
        jx_id(req->args, "version", required, buf, sizeof(buf), &present, eb);
    if (e)
        return e;
    return registry_parse_version(present ? buf : NULL, out, eb);
}

struct reg_pending {
    struct store_write w; /* first: api_pending relies on it */
    struct registry_write r;
    struct kv_ref *tags;
};

static void reg_pending_free(void *p)
{
    struct reg_pending *x = p;
    free(x->tags);
    free(x);
}

/* A pending registry write of 'op' (NULL: out of memory); the handler
 * fills the rest of '->r' and returns H_PENDING. */
static struct registry_write *
pending(struct request *req, enum registry_op op,
        enum handler_result (*after)(struct request *, struct response *))
{
    struct reg_pending *x = api_pending(req, sizeof(*x), after);
    if (!x)
        return NULL;
    req->state_free = reg_pending_free;
    x->w.kind = SW_REGISTRY;
    x->w.registry = &x->r;
    x->r.op = op;
    return &x->r;
}

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

/* [{"key","value"}] of registered-models/create: checked as MLflow does,
 * an absent value is "", a repeated key takes the last value. */
static enum srv_err tag_list(const cJSON *args, bool of_version,
                             struct kv_ref **out, size_t *n, struct errbuf *eb)
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
            (e = registry_check_tag(key, value, of_version, eb)))
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

/*---- create, get, rename, update, delete ----*/

static enum handler_result after_create(struct request *req,
                                        struct response *res)
{
    return respond_model(req, res, req->write->registry->name);
}

/* POST registered-models/create {name, tags, description} */
enum handler_result h_registered_models_create(struct request *req,
                                               struct response *res)
{
    struct errbuf eb;
    const char *name, *description;
    struct kv_ref *tags;
    size_t n_tags;
    enum srv_err e;
    if ((e = model_name(req, "name", &name, &eb)) ||
        (e = jx_str(req->args, "description", false, &description, &eb)) ||
        (e = tag_list(req->args, false, &tags, &n_tags, &eb)))
        return h_fail(res, e, &eb);
    struct registry_write *r = pending(req, REG_MODEL_CREATE, after_create);
    if (!r) {
        free(tags);
        return h_fail(res, SRV_E_NOMEM, NULL);
    }
    ((struct reg_pending *)req->state)->tags = tags;
    r->name = name;
    r->description = description;
    r->tags = tags;
    r->n_tags = n_tags;
    return H_PENDING;
}

/* GET registered-models/get?name= */
enum handler_result h_registered_models_get(struct request *req,
                                            struct response *res)
{
    struct errbuf eb;
    const char *name;
    enum srv_err e = model_name(req, "name", &name, &eb);
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
    const char *name, *new_name;
    enum srv_err e;
    if ((e = model_name(req, "name", &name, &eb)) ||
        (e = model_name(req, "new_name", &new_name, &eb)))
        return h_fail(res, e, &eb);
    struct registry_write *r = pending(req, REG_MODEL_RENAME, after_rename);
    if (!r)
        return h_fail(res, SRV_E_NOMEM, NULL);
    r->name = name;
    r->new_name = new_name;
    return H_PENDING;
}

/* PATCH registered-models/update {name, description}: an absent
 * description clears it. */
enum handler_result h_registered_models_update(struct request *req,
                                               struct response *res)
{
    struct errbuf eb;
    const char *name, *description;
    enum srv_err e;
    if ((e = model_name(req, "name", &name, &eb)) ||
        (e = jx_str(req->args, "description", false, &description, &eb)))
        return h_fail(res, e, &eb);
    struct registry_write *r = pending(req, REG_MODEL_UPDATE, after_create);
    if (!r)
        return h_fail(res, SRV_E_NOMEM, NULL);
    r->name = name;
    r->description = description;
    return H_PENDING;
}

/* DELETE registered-models/delete {name}: the model, all its versions,
 * tags and aliases. */
enum handler_result h_registered_models_delete(struct request *req,
                                               struct response *res)
{
    struct errbuf eb;
    const char *name;
    enum srv_err e = model_name(req, "name", &name, &eb);
    if (e)
        return h_fail(res, e, &eb);
    struct registry_write *r = pending(req, REG_MODEL_DELETE, NULL);
    if (!r)
        return h_fail(res, SRV_E_NOMEM, NULL);
    r->name = name;
    return H_PENDING;
}

/*---- search ----*/

/* max_results, order_by, filter and page_token of a registry search. */
enum srv_err h_registry_search_args(const cJSON *args, int64_t dflt,
                                    int64_t max, struct search_args *a,
                                    const char ***order, struct errbuf *eb)
{
    const char *token;
    bool present;
    int64_t v = dflt;
    *order = NULL;
    memset(a, 0, sizeof(*a));
    enum srv_err e;
    if ((e = jx_i64(args, "max_results", false, &present, &v, eb)))
        return e;
    if (present && v > max)
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Invalid value for request parameter max_results. It "
                       "must be at most %lld, but got value %lld",
                       (long long)max, (long long)v);
    if (present && v < 1)
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Invalid value for request parameter max_results. It "
                       "must be a positive integer, but got value %lld",
                       (long long)v);
    a->max_results = present ? v : dflt;
    if ((e = jx_str(args, "filter", false, &a->filter, eb)) ||
        (e = jx_str(args, "page_token", false, &token, eb)) ||
        (e = pagetoken_decode(token, &a->offset, eb)))
        return e;
    /* MLflow refuses a token whose offset is 0 (it tests it for truth) */
    if (token && *token && a->offset == 0)
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Invalid page token, offset must be a positive "
                       "integer: '%.64s'",
                       token);
    if ((e = jx_str_list(args, "order_by", order, &a->n_order_by, eb)))
        return e;
    a->order_by = *order;
    a->view = VIEW_ALL;
    return SRV_OK;
}

/* GET registered-models/search?filter=&max_results=&order_by=&page_token= */
enum handler_result h_registered_models_search(struct request *req,
                                               struct response *res)
{
    struct errbuf eb;
    struct search_args a;
    const char **order;
    enum srv_err e =
        h_registry_search_args(req->args, REGISTRY_MODELS_MAX_RESULTS_DEFAULT,
                               REGISTRY_MODELS_MAX_RESULTS, &a, &order, &eb);
    struct registered_model *list = NULL;
    size_t n = 0;
    bool more = false;
    if (!e)
        e = store_registered_models_search(req->app->store, &a, &list, &n,
                                           &more, &eb);
    free(order);
    if (e)
        return h_fail(res, e, &eb);
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_char(&sb, '{');
    if (n) {
        render_key(&sb, "registered_models", true);
        strbuf_append_char(&sb, '[');
        for (size_t i = 0; i < n; i++) {
            if (i)
                strbuf_append_char(&sb, ',');
            registry_render_model(&sb, &list[i]);
        }
        strbuf_append_char(&sb, ']');
    }
    if (more) {
        render_key(&sb, "next_page_token", n == 0);
        pagetoken_append_json(&sb, a.offset + (int64_t)n);
    }
    strbuf_append_char(&sb, '}');
    registered_models_free(list, n);
    api_ok(res, &sb);
    return H_DONE;
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
    if ((e = model_name(req, "name", &name, &eb)) ||
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
    strbuf_append_char(&sb, '}');
    model_versions_free(list, n);
    api_ok(res, &sb);
    return H_DONE;
}

/*---- tags ----*/

/* POST registered-models/set-tag {name, key, value}: an upsert; the
 * model's last_updated_timestamp stays. */
enum handler_result h_registered_models_set_tag(struct request *req,
                                                struct response *res)
{
    struct errbuf eb;
    const char *name, *key, *value;
    enum srv_err e;
    if ((e = model_name(req, "name", &name, &eb)) ||
        (e = jx_str(req->args, "key", true, &key, &eb)) ||
        (e = jx_str(req->args, "value", false, &value, &eb)) ||
        (e = registry_check_tag(key, value, false, &eb)))
        return h_fail(res, e, &eb);
    struct registry_write *r = pending(req, REG_MODEL_SET_TAG, NULL);
    if (!r)
        return h_fail(res, SRV_E_NOMEM, NULL);
    r->name = name;
    r->key = key;
    r->value = value ? value : "";
    return H_PENDING;
}

/* DELETE registered-models/delete-tag {name, key}: a missing key is no
 * error. */
enum handler_result h_registered_models_delete_tag(struct request *req,
                                                   struct response *res)
{
    struct errbuf eb;
    const char *name, *key;
    enum srv_err e;
    if ((e = model_name(req, "name", &name, &eb)) ||
        (e = jx_str(req->args, "key", true, &key, &eb)) ||
        (e = registry_check_tag(key, NULL, false, &eb)))
        return h_fail(res, e, &eb);
    struct registry_write *r = pending(req, REG_MODEL_DELETE_TAG, NULL);
    if (!r)
        return h_fail(res, SRV_E_NOMEM, NULL);
    r->name = name;
    r->key = key;
    return H_PENDING;
}

/*---- aliases ----*/

/* POST registered-models/alias {name, alias, version}: sets or moves the
 * alias to a live version. */
enum handler_result h_registered_models_alias_set(struct request *req,
                                                  struct response *res)
{
    struct errbuf eb;
    const char *name, *alias;
    int64_t version;
    enum srv_err e;
    if ((e = model_name(req, "name", &name, &eb)) ||
        (e = jx_str(req->args, "alias", true, &alias, &eb)) ||
        (e = registry_check_alias(alias, &eb)) ||
        (e = version_arg(req, true, &version, &eb)))
        return h_fail(res, e, &eb);
    struct registry_write *r = pending(req, REG_ALIAS_SET, NULL);
    if (!r)
        return h_fail(res, SRV_E_NOMEM, NULL);
    r->name = name;
    r->alias = alias;
    r->version = version;
    return H_PENDING;
}

/* DELETE registered-models/alias {name, alias}: a missing alias is no
 * error. */
enum handler_result h_registered_models_alias_delete(struct request *req,
                                                     struct response *res)
{
    struct errbuf eb;
    const char *name, *alias;
    enum srv_err e;
    if ((e = model_name(req, "name", &name, &eb)) ||
        (e = jx_str(req->args, "alias", true, &alias, &eb)) ||
        (e = registry_check_alias(alias, &eb)))
        return h_fail(res, e, &eb);
    struct registry_write *r = pending(req, REG_ALIAS_DELETE, NULL);
    if (!r)
        return h_fail(res, SRV_E_NOMEM, NULL);
    r->name = name;
    r->alias = alias;
    return H_PENDING;
}

/* GET registered-models/alias?name=&alias=: {"model_version": ...}; an
 * unknown alias is 400 INVALID_PARAMETER_VALUE, as MLflow answers. */
enum handler_result h_registered_models_alias_get(struct request *req,
                                                  struct response *res)
{
    struct errbuf eb;
    const char *name, *alias;
    enum srv_err e;
    if ((e = model_name(req, "name", &name, &eb)) ||
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
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_str(&sb, "{\"model_version\":");
    registry_render_version(&sb, &v);
    strbuf_append_char(&sb, '}');
    model_version_cleanup(&v);
    api_ok(res, &sb);
    return H_DONE;
}
