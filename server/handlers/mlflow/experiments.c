/* SPDX-License-Identifier: MIT
 *
 * experiments: the experiments endpoints of the MLflow REST API, plus the
 * legacy experiments/list that pre-2.0 clients (the npm package) call.
 */
#include "artifact_store.h"
#include "auth.h"
#include "handlers/handlers.h"
#include "jsonx.h"
#include "listsrc.h"
#include "messages.h"
#include "pagetoken.h"
#include "render.h"
#include "validate.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const view_names[] = {"ACTIVE_ONLY", "DELETED_ONLY", "ALL"};

/*---- reads ----*/

/* The experiment 'id' (known to exist) streamed with its tags in chunks:
 * an experiment with a million tags is never whole in memory. */
static enum handler_result stream_experiment(struct request *req,
                                             struct response *res, int64_t id)
{
    int64_t *ids = malloc(sizeof(*ids));
    if (ids)
        *ids = id;
    void *src = ids ? listsrc_experiments_new(req->app->store, ids, 1) : NULL;
    if (!src)
        return h_fail(res, SRV_E_NOMEM, NULL);
    struct pager_page page = {.object_key = "experiment"};
    return pager_respond(res, &page, &listsrc_experiments_ops, src);
}

enum handler_result h_experiments_get(struct request *req, struct response *res)
{
    struct errbuf eb;
    int64_t id;
    enum srv_err e =
        h_experiment_id(req->args, "experiment_id", true, &id, &eb);
    if (e)
        return h_fail(res, e, &eb);
    struct experiment x;
    if ((e = store_experiment_info(req->app->store, id, &x, &eb)))
        return h_fail(res, e, &eb);
    experiment_cleanup(&x);
    return stream_experiment(req, res, id);
}

enum handler_result h_experiments_get_by_name(struct request *req,
                                              struct response *res)
{
    struct errbuf eb;
    const char *name;
    enum srv_err e = jx_str(req->args, "experiment_name", true, &name, &eb);
    if (e)
        return h_fail(res, e, &eb);
    int64_t id;
    if ((e = store_experiment_id_by_name(req->app->store, name, &id, &eb)))
        return h_fail(res, e, &eb);
    return stream_experiment(req, res, id);
}

enum handler_result h_experiments_search(struct request *req,
                                         struct response *res)
{
    struct errbuf eb;
    struct search_args a = {0};
    const char *token;
    const char **order = NULL;
    bool present;
    int view = VIEW_ACTIVE_ONLY;
    enum srv_err e;
    if ((e = h_max_results(req->args, SEARCH_MAX_RESULTS_DEFAULT,
                           SEARCH_MAX_RESULTS_THRESHOLD, true, &a.max_results,
                           &eb)) ||
        (e = jx_str(req->args, "filter", false, &a.filter, &eb)) ||
        (e = jx_str(req->args, "page_token", false, &token, &eb)) ||
        (e = pagetoken_decode(token, &a.offset, &eb)) ||
        (e = jx_str_list(req->args, "order_by", &order, &a.n_order_by, &eb)) ||
        (e = jx_enum(req->args, "view_type", view_names, 3, 1, &present, &view,
                     &eb))) {
        free(order);
        return h_fail(res, e, &eb);
    }
    a.order_by = order;
    a.view = (enum view_type)view;
    int64_t *ids;
    size_t n;
    e = store_experiments_search_ids(req->app->store, &a, &ids, &n, &eb);
    free(order);
    if (e)
        return h_fail(res, e, &eb);
    auth_filter_experiments(req, ids, &n); /* --auth: what it may READ */
    void *src = listsrc_experiments_new(req->app->store, ids, n);
    if (!src)
        return h_fail(res, SRV_E_NOMEM, NULL);
    struct pager_page page = {.list_key = "experiments",
                              .max_items = a.max_results,
                              .max_bytes = req->app->cfg->max_response_bytes,
                              .offset = a.offset};
    return pager_respond(res, &page, &listsrc_experiments_ops, src);
}

/* GET experiments/list (removed in MLflow 2.0): every experiment of the
 * view, without paging, for old clients; streamed. */
enum handler_result h_experiments_list(struct request *req,
                                       struct response *res)
{
    struct errbuf eb;
    bool present;
    int view = VIEW_ACTIVE_ONLY;
    enum srv_err e =
        jx_enum(req->args, "view_type", view_names, 3, 1, &present, &view, &eb);
    if (e)
        return h_fail(res, e, &eb);
    /* Streamed, never paged: old clients expect every experiment. */
    void *src =
        listsrc_experiments_all_new(req->app->store, (enum view_type)view);
    if (!src)
        return h_fail(res, SRV_E_NOMEM, NULL);
    struct pager_page page = {.list_key = "experiments", .no_token = true};
    return pager_respond(res, &page, &listsrc_experiments_ops, src);
}

/* POST /ajax-api/2.0/mlflow/experiments/search-datasets {experiment_ids}
 * (MLflow 2.9.2's search_datasets_handler, for its UI): the distinct
 * datasets the experiments' runs logged, with their context, at most 1000.
 * 1 to 20 experiment ids; ids that cannot exist match nothing. */
enum handler_result h_experiments_search_datasets(struct request *req,
                                                  struct response *res)
{
    enum { MAX_IDS = 20 };
    struct errbuf eb;
    const cJSON *ev =
        cJSON_GetObjectItemCaseSensitive(req->args, "experiment_ids");
    if (!ev || cJSON_IsNull(ev) || cJSON_IsFalse(ev) ||
        (cJSON_IsArray(ev) && !ev->child) ||
        (cJSON_IsString(ev) && !ev->valuestring[0]) ||
        (cJSON_IsNumber(ev) && ev->valuedouble == 0))
        return h_fail(res, err_set(&eb, MSG_DATASETS_NO_EXPERIMENT), &eb);
    if (!cJSON_IsArray(ev))
        return h_fail(res, jx_invalid(ev, "experiment_ids", &eb), &eb);
    size_t count = (size_t)cJSON_GetArraySize(ev);
    if (count > MAX_IDS)
        return h_fail(res, err_set(&eb, MSG_DATASETS_TOO_MANY, MAX_IDS, count),
                      &eb);
    int64_t ids[MAX_IDS];
    size_t n_ids = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, ev)
    {
        char buf[32];
        const char *text = buf;
        if (cJSON_IsString(it))
            text = it->valuestring;
        else if (cJSON_IsNumber(it) && it->valuedouble >= 0 &&
                 it->valuedouble < 1e15 &&
                 it->valuedouble == (double)(int64_t)it->valuedouble)
            snprintf(buf, sizeof(buf), "%lld", (long long)it->valuedouble);
        else
            return h_fail(res, jx_invalid(ev, "experiment_ids", &eb), &eb);
        if (validate_parse_experiment_id(text, &ids[n_ids]))
            n_ids++;
    }
    struct dataset_summary *d;
    size_t n;
    enum srv_err e =
        store_dataset_summaries(req->app->store, ids, n_ids, &d, &n, &eb);
    if (e)
        return h_fail(res, e, &eb);
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_str(&sb, "{\"dataset_summaries\":[");
    for (size_t i = 0; i < n; i++) {
        strbuf_append_str(&sb, i ? ",{\"experiment_id\":\""
                                 : "{\"experiment_id\":\"");
        strbuf_append_i64(&sb, d[i].experiment_id);
        strbuf_append_char(&sb, '"');
        render_str_field(&sb, "name", d[i].name, false);
        render_str_field(&sb, "digest", d[i].digest, false);
        render_key(&sb, "context", false);
        if (d[i].context)
            strbuf_append_json_str(&sb, d[i].context, strlen(d[i].context));
        else
            strbuf_append_str(&sb, "null");
        strbuf_append_char(&sb, '}');
    }
    strbuf_append_str(&sb, "]}");
    dataset_summaries_free(d, n);
    if (sb.oom) {
        strbuf_cleanup(&sb);
        return h_fail(res, SRV_E_NOMEM, NULL);
    }
    api_ok(res, &sb);
    return H_DONE;
}

/*---- writes ----*/

struct exp_write {
    struct store_write w; /* first: api_pending relies on it */
    struct kv_ref *tags;
    char *location; /* the artifact location made absolute */
};

static void exp_write_free(void *p)
{
    struct exp_write *x = p;
    free(x->tags);
    free(x->location);
    free(x);
}

static enum handler_result after_create(struct request *req,
                                        struct response *res)
{
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_str(&sb, "{\"experiment_id\":\"");
    strbuf_append_i64(&sb, req->write->out_experiment_id);
    strbuf_append_str(&sb, "\"}");
    api_ok(res, &sb);
    return H_DONE;
}

enum handler_result h_experiments_create(struct request *req,
                                         struct response *res)
{
    struct errbuf eb;
    const char *name, *location;
    const cJSON *tags;
    enum srv_err e;
    if ((e = jx_str(req->args, "name", true, &name, &eb)) ||
        (e = validate_experiment_name(name, &eb)) ||
        (e = jx_str(req->args, "artifact_location", false, &location, &eb)) ||
        (e = jx_array(req->args, "tags", &tags, &eb)) ||
        (e = h_open_field(location, "artifact_location", &eb)))
        return h_fail(res, e, &eb);
    if (location && *location == '\0')
        location = NULL;
    if (location && strncmp(location, "runs:", 5) == 0)
        return h_fail(res, err_set(&eb, MSG_LOCATION_RUNS_URI, location), &eb);
    if (location && (strchr(location, '#') || strchr(location, '?')))
        return h_fail(res,
                      err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                              "Invalid artifact_location '%.200s': it must "
                              "not have a URL fragment or query parameters",
                              location),
                      &eb);
    struct exp_write *x = api_pending(req, sizeof(*x), after_create);
    if (!x)
        return h_fail(res, SRV_E_NOMEM, NULL);
    req->state_free = exp_write_free;
    if ((e = h_kv_list(tags, "tags", "Tag", MAX_EXPERIMENT_TAG_VAL_LENGTH,
                       false, &x->tags, &x->w.n_tags, &eb)))
        return h_fail(res, e, &eb);
    x->w.kind = SW_EXPERIMENT_CREATE;
    /* --auth: the creator gets MANAGE on it (store_auth.h) */
    x->w.owner_user_id = req->user.set ? req->user.id : 0;
    x->w.name = name;
    if (location) {
        /* a relative location is taken from the server's working
         * directory, as MLflow's resolve_uri_if_local does */
        char cwd[PATH_MAX];
        size_t cap = strlen(location) + sizeof(cwd) + 16;
        if (!getcwd(cwd, sizeof(cwd)))
            return h_fail(res,
                          err_set(&eb, SRV_E_INTERNAL,
                                  "cannot read the working directory"),
                          &eb);
        if (!(x->location = malloc(cap)) ||
            artifact_absolute_location(x->location, cap, location, cwd))
            return h_fail(res, SRV_E_NOMEM, NULL);
    }
    x->w.artifact_location = x->location;
    x->w.tags = x->tags;
    return H_PENDING;
}

/* Shared by update/delete/restore/set-tag/delete-tag: experiment_id, then
 * a write of 'kind' answered with {}. */
static enum handler_result experiment_write(struct request *req,
                                            struct response *res,
                                            enum store_write_kind kind)
{
    struct errbuf eb;
    int64_t id;
    enum srv_err e =
        h_experiment_id(req->args, "experiment_id", true, &id, &eb);
    if (e)
        return h_fail(res, e, &eb);
    const char *name = NULL, *key = NULL, *value = NULL;
    struct strref v = {"", 0};
    switch (kind) {
    case SW_EXPERIMENT_RENAME:
        if ((e = jx_str(req->args, "new_name", true, &name, &eb)) ||
            (e = validate_experiment_name(name, &eb)))
            return h_fail(res, e, &eb);
        break;
    case SW_EXPERIMENT_SET_TAG:
        if ((e = jx_str(req->args, "key", true, &key, &eb)) ||
            (e = validate_key(key, "Tag key", &eb)) ||
            (e = jx_str(req->args, "value", false, &value, &eb)) ||
            (e = h_value(value, "Tag value", MAX_EXPERIMENT_TAG_VAL_LENGTH,
                         false, &v, &eb)))
            return h_fail(res, e, &eb);
        break;
    case SW_EXPERIMENT_DELETE_TAG:
        if ((e = jx_str(req->args, "key", true, &key, &eb)))
            return h_fail(res, e, &eb);
        break;
    default:
        break;
    }
    struct store_write *w = api_pending(req, sizeof(*w), NULL);
    if (!w)
        return h_fail(res, SRV_E_NOMEM, NULL);
    w->kind = kind;
    w->experiment_id = id;
    w->name = name;
    w->key = key;
    w->value = v.s;
    return H_PENDING;
}

enum handler_result h_experiments_update(struct request *req,
                                         struct response *res)
{
    return experiment_write(req, res, SW_EXPERIMENT_RENAME);
}

enum handler_result h_experiments_delete(struct request *req,
                                         struct response *res)
{
    return experiment_write(req, res, SW_EXPERIMENT_DELETE);
}

enum handler_result h_experiments_restore(struct request *req,
                                          struct response *res)
{
    return experiment_write(req, res, SW_EXPERIMENT_RESTORE);
}

enum handler_result h_experiments_set_tag(struct request *req,
                                          struct response *res)
{
    return experiment_write(req, res, SW_EXPERIMENT_SET_TAG);
}

enum handler_result h_experiments_delete_tag(struct request *req,
                                             struct response *res)
{
    return experiment_write(req, res, SW_EXPERIMENT_DELETE_TAG);
}
