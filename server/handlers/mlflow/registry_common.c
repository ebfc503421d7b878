/* SPDX-License-Identifier: MIT
 *
 * registry_common: the request helpers, answers, searches and tag
 * endpoints the Model Registry's handlers share (see registry_common.h).
 */
#include "handlers/mlflow/registry_common.h"

#include "auth.h"
#include "jsonx.h"
#include "pagetoken.h"
#include "registry.h"
#include "render.h"

#include <stdlib.h>
#include <string.h>

/*---- request helpers ----*/

static bool is_get(const struct request *req)
{
    return strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
}

enum srv_err reg_model_name(const struct request *req, const char *field,
                            const char **out, struct errbuf *eb)
{
    enum srv_err e = jx_str(req->args, field, !is_get(req), out, eb);
    return e ? e : registry_check_name(*out, eb);
}

enum srv_err reg_version(const struct request *req, bool required, int64_t *out,
                         struct errbuf *eb)
{
    char buf[64];
    bool present;
    enum srv_err e =
        jx_id(req->args, "version", required, buf, sizeof(buf), &present, eb);
    if (e)
        return e;
    return registry_parse_version(present ? buf : NULL, out, eb);
}

enum srv_err reg_name_version(const struct request *req, const char **name,
                              int64_t *version, struct errbuf *eb)
{
    enum srv_err e = reg_model_name(req, "name", name, eb);
    return e ? e : reg_version(req, !is_get(req), version, eb);
}

enum srv_err reg_tag_list(const cJSON *args, bool of_version,
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

/*---- writes ----*/

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

enum handler_result
reg_submit(struct request *req, struct response *res,
           const struct registry_write *w, struct kv_ref *tags,
           enum handler_result (*after)(struct request *, struct response *))
{
    struct reg_pending *x = api_pending(req, sizeof(*x), after);
    if (!x) {
        free(tags);
        return h_fail(res, SRV_E_NOMEM, NULL);
    }
    req->state_free = reg_pending_free;
    x->w.kind = SW_REGISTRY;
    x->w.registry = &x->r;
    /* --auth: a model's creator gets MANAGE on it (store_auth.h) */
    x->w.owner_user_id = req->user.set ? req->user.id : 0;
    x->r = *w;
    x->tags = tags;
    return H_PENDING;
}

/*---- answers ----*/

enum handler_result reg_answer_version(struct response *res,
                                       struct model_version *v)
{
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_str(&sb, "{\"model_version\":");
    registry_render_version(&sb, v);
    strbuf_append_char(&sb, '}');
    model_version_cleanup(v);
    api_ok(res, &sb);
    return H_DONE;
}

static void render_version_item(struct strbuf *sb, const void *item)
{
    registry_render_version(sb, item);
}

static void render_model_item(struct strbuf *sb, const void *item)
{
    registry_render_model(sb, item);
}

/* Ends a handler with {"<key>": [...]} (left out when 'n' is 0) and,
 * when 'more', the page token of offset 'next'. */
static enum handler_result
answer_list(struct response *res, const char *key, const void *items, size_t n,
            size_t size, void (*render)(struct strbuf *, const void *),
            bool more, int64_t next)
{
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_char(&sb, '{');
    if (n) {
        render_key(&sb, key, true);
        strbuf_append_char(&sb, '[');
        for (size_t i = 0; i < n; i++) {
            if (i)
                strbuf_append_char(&sb, ',');
            render(&sb, (const char *)items + i * size);
        }
        strbuf_append_char(&sb, ']');
    }
    if (more) {
        render_key(&sb, "next_page_token", n == 0);
        pagetoken_append_json(&sb, next);
    }
    strbuf_append_char(&sb, '}');
    api_ok(res, &sb);
    return H_DONE;
}

enum handler_result reg_answer_versions(struct response *res,
                                        struct model_version *list, size_t n)
{
    answer_list(res, "model_versions", list, n, sizeof(*list),
                render_version_item, false, 0);
    model_versions_free(list, n);
    return H_DONE;
}

/*---- searches ----*/

/* max_results ('dflt', 1..'max'), filter, order_by ('*order', an array
 * the caller frees, whatever the result) and page_token. */
static enum srv_err search_args(const cJSON *args, int64_t dflt, int64_t max,
                                struct search_args *a, const char ***order,
                                struct errbuf *eb)
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

enum handler_result reg_search(struct request *req, struct response *res,
                               bool versions)
{
    struct errbuf eb;
    struct search_args a;
    const char **order;
    enum srv_err e =
        versions ? search_args(req->args, REGISTRY_VERSIONS_MAX_RESULTS_DEFAULT,
                               REGISTRY_VERSIONS_MAX_RESULTS, &a, &order, &eb)
                 : search_args(req->args, REGISTRY_MODELS_MAX_RESULTS_DEFAULT,
                               REGISTRY_MODELS_MAX_RESULTS, &a, &order, &eb);
    struct model_version *vs = NULL;
    struct registered_model *ms = NULL;
    size_t n = 0;
    bool more = false;
    if (!e && versions)
        e = store_model_versions_search(req->app->store, &a, &vs, &n, &more,
                                        &eb);
    else if (!e)
        e = store_registered_models_search(req->app->store, &a, &ms, &n, &more,
                                           &eb);
    free(order);
    if (e)
        return h_fail(res, e, &eb);
    int64_t next = a.offset + (int64_t)n;
    /* --auth: the page keeps what the caller may READ (the paging stays
     * the store's, so a page may come out shorter) */
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = versions ? vs[i].name : ms[i].name;
        if (auth_can_read_model(req, name ? name : "")) {
            if (versions)
                vs[k++] = vs[i];
            else
                ms[k++] = ms[i];
        } else if (versions) {
            model_version_cleanup(&vs[i]);
        } else {
            registered_model_cleanup(&ms[i]);
        }
    }
    n = k;
    if (versions) {
        answer_list(res, "model_versions", vs, n, sizeof(*vs),
                    render_version_item, more, next);
        model_versions_free(vs, n);
    } else {
        answer_list(res, "registered_models", ms, n, sizeof(*ms),
                    render_model_item, more, next);
        registered_models_free(ms, n);
    }
    return H_DONE;
}

/*---- tags ----*/

enum handler_result reg_tag(struct request *req, struct response *res,
                            bool of_version, bool delete)
{
    static const enum registry_op ops[2][2] = {
        {REG_MODEL_SET_TAG, REG_MODEL_DELETE_TAG},
        {REG_VERSION_SET_TAG, REG_VERSION_DELETE_TAG},
    };
    struct errbuf eb;
    struct registry_write w = {.op = ops[of_version][delete]};
    enum srv_err e;
    if ((e = of_version ? reg_name_version(req, &w.name, &w.version, &eb)
                        : reg_model_name(req, "name", &w.name, &eb)) ||
        (e = jx_str(req->args, "key", true, &w.key, &eb)) ||
        (!delete &&(e = jx_str(req->args, "value", false, &w.value, &eb))) ||
        (e = registry_check_tag(w.key, w.value, of_version, &eb)))
        return h_fail(res, e, &eb);
    if (!delete &&!w.value)
        w.value = "";
    return reg_submit(req, res, &w, NULL, NULL);
}
