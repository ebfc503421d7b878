/* SPDX-License-Identifier: MIT
 *
 * runs: the runs endpoints of the MLflow REST API: create (with
 * greentrack's idempotent client-chosen run_id), get, update, delete,
 * restore, search, and the logging calls (log-metric, log-parameter,
 * set-tag, delete-tag, log-batch, log-inputs, log-model). Every logging
 * call becomes one SW_RUN_LOG-style write; the writer checks run state.
 */
#include "auth.h"
#include "handlers/handlers.h"
#include "jsonx.h"
#include "listsrc.h"
#include "messages.h"
#include "pagetoken.h"
#include "render.h"
#include "validate.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static const char *const view_names[] = {"ACTIVE_ONLY", "DELETED_ONLY", "ALL"};

/* State of a pending run write: the store_write plus the arrays it points
 * to, all freed together at completion. */
struct run_write {
    struct store_write w; /* first: api_pending relies on it */
    struct kv_ref *tags;
    struct kv_ref *params;
    struct metric_in *metrics;
    struct dataset_in *datasets;
    const char **model_ids;
    char run_id[RUN_ID_LEN + 1];
    char run_name[64];
    struct kv_ref one_tag;
    struct kv_ref one_param;
    struct metric_in one_metric;
};

static void run_write_free(void *p)
{
    struct run_write *x = p;
    free(x->tags);
    free(x->params);
    free(x->metrics);
    if (x->datasets) {
        for (size_t i = 0; i < x->w.n_datasets; i++)
            free(x->datasets[i].tags);
        free(x->datasets);
    }
    free(x->model_ids);
    free(x);
}

static struct run_write *
run_write_new(struct request *req, enum store_write_kind kind,
              enum handler_result (*after)(struct request *, struct response *))
{
    struct run_write *x = api_pending(req, sizeof(*x), after);
    if (!x)
        return NULL;
    req->state_free = run_write_free;
    x->w.kind = kind;
    return x;
}

/*---- reads ----*/

static enum handler_result respond_run(struct request *req,
                                       struct response *res, const char *run_id,
                                       bool info_only)
{
    struct errbuf eb;
    struct run r;
    enum srv_err e = store_run_get(req->app->store, run_id, &r, &eb);
    if (e)
        return h_fail(res, e, &eb);
    struct strbuf sb;
    strbuf_init(&sb);
    if (info_only) {
        strbuf_append_str(&sb, "{\"run_info\":");
        render_run_info(&sb, &r);
    } else {
        strbuf_append_str(&sb, "{\"run\":");
        render_run(&sb, &r);
    }
    strbuf_append_char(&sb, '}');
    run_cleanup(&r);
    api_ok(res, &sb);
    return H_DONE;
}

/* runs/get: the run streamed section by section (listsrc.h), so a run
 * with a million tags is never whole in memory. */
enum handler_result h_runs_get(struct request *req, struct response *res)
{
    struct errbuf eb;
    const char *run_id;
    int64_t *pk = malloc(sizeof(*pk));
    enum srv_err e = jx_run_id(req->args, true, &run_id, &eb);
    if (!e && !pk)
        e = err_set(&eb, SRV_E_NOMEM, "out of memory");
    if (!e)
        e = store_run_pk(req->app->store, run_id, pk, &eb);
    if (e) {
        free(pk);
        return h_fail(res, e, &eb);
    }
    void *src = listsrc_runs_new(req->app->store, pk, 1);
    if (!src)
        return h_fail(res, SRV_E_NOMEM, NULL);
    struct pager_page page = {.object_key = "run"};
    return pager_respond(res, &page, &listsrc_runs_ops, src);
}

/* runs/search's max_results: absent is 1000; MLflow's request schema
 * refuses more than 50000 with its type message. */
static enum srv_err search_max_results(const cJSON *args, int64_t *out,
                                       struct errbuf *eb)
{
    enum srv_err e = h_max_results(args, SEARCH_MAX_RESULTS_DEFAULT,
                                   JX_MAX_SAFE_INT, false, out, eb);
    if (!e && *out > SEARCH_MAX_RESULTS_THRESHOLD)
        e = jx_invalid(cJSON_GetObjectItemCaseSensitive(args, "max_results"),
                       "max_results", eb);
    return e;
}

enum handler_result h_runs_search(struct request *req, struct response *res)
{
    struct errbuf eb;
    struct search_args a = {0};
    const char *token;
    const char **order = NULL, **exp_ids = NULL;
    size_t n_exp = 0;
    bool present;
    int view = VIEW_ACTIVE_ONLY;
    int64_t *ids = NULL;
    enum srv_err e;
    /* MLflow's order: experiment_ids, filter, max_results, order_by */
    const cJSON *ev =
        cJSON_GetObjectItemCaseSensitive(req->args, "experiment_ids");
    if (ev && !cJSON_IsNull(ev) && !cJSON_IsArray(ev)) {
        e = jx_invalid(ev, "experiment_ids", &eb);
        goto fail;
    }
    if ((e = jx_str(req->args, "filter", false, &a.filter, &eb)) ||
        (e = search_max_results(req->args, &a.max_results, &eb)) ||
        (e = jx_str(req->args, "page_token", false, &token, &eb)) ||
        (e = pagetoken_decode(token, &a.offset, &eb)) ||
        (e = jx_str_list(req->args, "order_by", &order, &a.n_order_by, &eb)) ||
        (e = jx_enum(req->args, "run_view_type", view_names, 3, 1, &present,
                     &view, &eb)))
        goto fail;
    /* experiment_ids may hold numbers too (protobuf leniency). */
    if (ev && cJSON_IsArray(ev)) {
        size_t cap = (size_t)cJSON_GetArraySize(ev);
        ids = calloc(cap ? cap : 1, sizeof(*ids));
        if (!ids) {
            e = err_set(&eb, SRV_E_NOMEM, "out of memory");
            goto fail;
        }
        const cJSON *it;
        cJSON_ArrayForEach(it, ev)
        {
            int64_t id;
            char buf[32];
            const char *s = NULL;
            if (cJSON_IsNumber(it) && it->valuedouble >= 0 &&
                it->valuedouble < 1e15 &&
                it->valuedouble == floor(it->valuedouble)) {
                snprintf(buf, sizeof(buf), "%lld", (long long)it->valuedouble);
                s = buf;
            } else if (cJSON_IsString(it)) {
                s = it->valuestring;
            } else {
                e = jx_invalid(ev, "experiment_ids", &eb);
                goto fail;
            }
            if (validate_parse_experiment_id(s, &id))
                ids[n_exp++] = id; /* unknown ids simply match nothing */
        }
    } else if (ev && !cJSON_IsNull(ev)) {
        if ((e = jx_str_list(req->args, "experiment_ids", &exp_ids, &n_exp,
                             &eb)))
            goto fail;
        ids = calloc(n_exp ? n_exp : 1, sizeof(*ids));
        if (!ids) {
            e = err_set(&eb, SRV_E_NOMEM, "out of memory");
            goto fail;
        }
        size_t k = 0;
        for (size_t i = 0; i < n_exp; i++) {
            if (validate_parse_experiment_id(exp_ids[i], &ids[k]))
                k++;
        }
        n_exp = k;
    }
    a.order_by = order;
    a.view = (enum view_type)view;
    /* The page's runs are read one by one as the reply goes out (pager.h):
     * at most max_results of them, ending early before the run that would
     * take the reply past --max-response-bytes. */
    int64_t *pks;
    size_t n;
    auth_filter_experiments(req, ids, &n_exp); /* --auth: what it may READ */
    e = store_runs_search_pks(req->app->store, ids, n_exp, &a, &pks, &n, &eb);
    if (e)
        goto fail;
    free(order);
    free(exp_ids);
    free(ids);
    void *src = listsrc_runs_new(req->app->store, pks, n);
    if (!src)
        return h_fail(res, SRV_E_NOMEM, NULL);
    struct pager_page page = {.list_key = "runs",
                              .max_items = a.max_results,
                              .max_bytes = req->app->cfg->max_response_bytes,
                              .offset = a.offset};
    return pager_respond(res, &page, &listsrc_runs_ops, src);
fail:
    free(order);
    free(exp_ids);
    free(ids);
    return h_fail(res, e, &eb);
}

/*---- create / update / delete / restore ----*/

static enum handler_result after_create(struct request *req,
                                        struct response *res)
{
    return respond_run(req, res, req->write->run_id, false);
}

static bool random_bytes(void *buf, size_t n)
{
    return getrandom(buf, n, 0) == (ssize_t)n;
}

static void new_run_id(char out[RUN_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    if (!random_bytes(b, sizeof(b))) {
        /* getrandom cannot fail for 16 bytes after boot; keep ids unique
         * anyway. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        memcpy(b, &ts, sizeof(b) < sizeof(ts) ? sizeof(b) : sizeof(ts));
    }
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[RUN_ID_LEN] = '\0';
}

/* MLflow names unnamed runs "adjective-animal-NNN". */
static void random_run_name(char *out, size_t len)
{
    static const char *const adjectives[] = {
        "amazing", "bold",   "brave",  "bright", "calm",     "clever",
        "crisp",   "eager",  "gentle", "glad",   "green",    "humble",
        "keen",    "lively", "lucid",  "merry",  "nimble",   "polite",
        "quiet",   "rare",   "silent", "smooth", "spirited", "sunny",
        "swift",   "tidy",   "upbeat", "vivid",  "warm",     "wise"};
    static const char *const animals[] = {
        "ant",  "bat",   "bee",  "carp", "crab", "deer",  "dove",  "eel",
        "elk",  "finch", "fox",  "gnat", "hare", "hawk",  "ibis",  "koi",
        "lark", "lynx",  "mole", "newt", "owl",  "panda", "quail", "ray",
        "seal", "shrew", "toad", "vole", "wasp", "wren"};
    unsigned char b[4] = {0};
    random_bytes(b, sizeof(b));
    snprintf(out, len, "%s-%s-%u",
             adjectives[b[0] % (sizeof(adjectives) / sizeof(*adjectives))],
             animals[b[1] % (sizeof(animals) / sizeof(*animals))],
             (unsigned)((b[2] << 8 | b[3]) % 1000));
}

enum handler_result h_runs_create(struct request *req, struct response *res)
{
    struct errbuf eb;
    int64_t exp_id;
    const char *run_id, *user_id, *run_name;
    const cJSON *tags;
    bool has_start;
    int64_t start_time = 0;
    enum srv_err e;
    if ((e = h_experiment_id(req->args, "experiment_id", false, &exp_id,
                             &eb)) ||
        (e = jx_str(req->args, "run_id", false, &run_id, &eb)) ||
        (e = jx_str(req->args, "user_id", false, &user_id, &eb)) ||
        (e = jx_str(req->args, "run_name", false, &run_name, &eb)) ||
        (e = jx_i64(req->args, "start_time", false, &has_start, &start_time,
                    &eb)) ||
        (e = jx_array(req->args, "tags", &tags, &eb)) ||
        (e = h_open_field(user_id, "user_id", &eb)) ||
        (e = h_open_field(run_name, "run_name", &eb)))
        return h_fail(res, e, &eb);
    if (run_id && *run_id && !validate_is_run_uuid(run_id))
        return h_fail(res,
                      err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                              "Invalid value \"%.64s\" for parameter "
                              "'run_id' supplied: a client-chosen run id "
                              "is 32 lowercase hexadecimal characters",
                              run_id),
                      &eb);
    struct run_write *x = run_write_new(req, SW_RUN_CREATE, after_create);
    if (!x)
        return h_fail(res, SRV_E_NOMEM, NULL);
    size_t n_tags;
    if ((e = h_kv_list(tags, "tags", "Tag", MAX_TAG_VAL_LENGTH, true, &x->tags,
                       &n_tags, &eb)))
        return h_fail(res, e, &eb);
    if (run_name && *run_name == '\0')
        run_name = NULL;
    /* The run name comes from run_name, else the mlflow.runName tag, else
     * a generated one; the tag is always stored. */
    struct kv_ref *name_tag = NULL;
    for (size_t i = 0; i < n_tags; i++) {
        if (strcmp(x->tags[i].key, "mlflow.runName") == 0)
            name_tag = &x->tags[i];
    }
    if (run_name && name_tag &&
        (strlen(run_name) != name_tag->value.len ||
         memcmp(run_name, name_tag->value.s, name_tag->value.len) != 0))
        return h_fail(res,
                      err_set(&eb, MSG_RUN_NAME_CONFLICT, run_name,
                              (int)name_tag->value.len, name_tag->value.s),
                      &eb);
    if (!name_tag) {
        if (!run_name) {
            random_run_name(x->run_name, sizeof(x->run_name));
            run_name = x->run_name;
        }
        struct kv_ref *grown = realloc(x->tags, (n_tags + 1) * sizeof(*grown));
        if (!grown)
            return h_fail(res, SRV_E_NOMEM, NULL);
        x->tags = grown;
        x->tags[n_tags].key = "mlflow.runName";
        x->tags[n_tags].value.s = run_name;
        x->tags[n_tags].value.len =
            jx_utf8_prefix(run_name, MAX_TAG_VAL_LENGTH);
        n_tags++;
    }
    if (run_id && *run_id)
        memcpy(x->run_id, run_id, RUN_ID_LEN + 1);
    else
        new_run_id(x->run_id);
    /* run_name mirrors the (possibly truncated) tag value */
    x->w.name = NULL;
    x->w.run_id = x->run_id;
    x->w.experiment_id = exp_id;
    x->w.user_id = user_id;
    x->w.start_time = has_start ? start_time : store_now_ms();
    x->w.tags = x->tags;
    x->w.n_tags = n_tags;
    return H_PENDING;
}

static enum handler_result after_update(struct request *req,
                                        struct response *res)
{
    return respond_run(req, res, req->write->run_id, true);
}

enum handler_result h_runs_update(struct request *req, struct response *res)
{
    static const char *const status_names[] = {"RUNNING", "SCHEDULED",
                                               "FINISHED", "FAILED", "KILLED"};
    struct errbuf eb;
    const char *run_id, *run_name;
    bool has_status, has_end;
    int status = 0;
    int64_t end_time = 0;
    enum srv_err e;
    if ((e = jx_run_id(req->args, true, &run_id, &eb)) ||
        (e = jx_enum(req->args, "status", status_names, 5, 1, &has_status,
                     &status, &eb)) ||
        (e = jx_i64(req->args, "end_time", false, &has_end, &end_time, &eb)) ||
        (e = jx_str(req->args, "run_name", false, &run_name, &eb)) ||
        (e = h_open_field(run_name, "run_name", &eb)))
        return h_fail(res, e, &eb);
    struct run_write *x = run_write_new(req, SW_RUN_UPDATE, after_update);
    if (!x)
        return h_fail(res, SRV_E_NOMEM, NULL);
    x->w.run_id = run_id;
    x->w.has_status = has_status;
    x->w.status = (enum run_status)status;
    x->w.has_end_time = has_end;
    x->w.end_time = end_time;
    x->w.name = run_name && *run_name ? run_name : NULL;
    return H_PENDING;
}

static enum handler_result run_stage(struct request *req, struct response *res,
                                     enum store_write_kind kind)
{
    struct errbuf eb;
    const char *run_id;
    enum srv_err e = jx_run_id(req->args, false, &run_id, &eb);
    if (e)
        return h_fail(res, e, &eb);
    struct run_write *x = run_write_new(req, kind, NULL);
    if (!x)
        return h_fail(res, SRV_E_NOMEM, NULL);
    x->w.run_id = run_id;
    return H_PENDING;
}

enum handler_result h_runs_delete(struct request *req, struct response *res)
{
    return run_stage(req, res, SW_RUN_DELETE);
}

enum handler_result h_runs_restore(struct request *req, struct response *res)
{
    return run_stage(req, res, SW_RUN_RESTORE);
}

/*---- logging ----*/

/* Python's str() of field 'name' of 'obj' into 'buf' ("None" when
 * absent). */
static const char *py_field(const cJSON *obj, const char *name, char *buf,
                            size_t len)
{
    struct strbuf sb;
    strbuf_init(&sb);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (v)
        jx_py_str(&sb, v);
    else
        strbuf_append_str(&sb, "None");
    snprintf(buf, len, "%s", sb.buf && !sb.oom ? sb.buf : "");
    strbuf_cleanup(&sb);
    return buf;
}

/* Reads one Metric object (key, value, timestamp, step) into 'm': the
 * fields' presence and types as MLflow's request schema checks them, then
 * its _validate_metric (name, value, timestamp). */
static enum srv_err parse_metric(const cJSON *obj, struct metric_in *m,
                                 struct errbuf *eb)
{
    const char *key;
    bool present;
    enum srv_err e;
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(obj, "value");
    char shown[2][64];
    if ((e = jx_str(obj, "key", true, &key, eb)))
        return e;
    if (!cJSON_IsBool(value) &&
        (e = jx_double(obj, "value", true, &present, &m->value, eb)))
        return e;
    if ((e = jx_i64(obj, "timestamp", true, &present, &m->timestamp, eb)))
        return e;
    m->step = 0;
    if ((e = jx_i64(obj, "step", false, &present, &m->step, eb)) ||
        (e = validate_metric_key(key, eb)))
        return e;
    if (cJSON_IsBool(value))
        return err_set(eb, MSG_METRIC_VALUE,
                       py_field(obj, "value", shown[0], sizeof(shown[0])), key,
                       py_field(obj, "timestamp", shown[1], sizeof(shown[1])));
    if (m->timestamp < 0) {
        char ts[32];
        snprintf(ts, sizeof(ts), "%lld", (long long)m->timestamp);
        return err_set(eb, MSG_METRIC_TIMESTAMP, ts, key,
                       jx_py_float(m->value, shown[0], sizeof(shown[0])));
    }
    /* MLflow's SQL store clamps infinities to the largest double. */
    if (isinf(m->value))
        m->value =
            m->value > 0 ? 1.7976931348623157e308 : -1.7976931348623157e308;
    m->key = key;
    return SRV_OK;
}

enum handler_result h_runs_log_metric(struct request *req, struct response *res)
{
    struct errbuf eb;
    const char *run_id;
    enum srv_err e = jx_run_id(req->args, true, &run_id, &eb);
    if (e)
        return h_fail(res, e, &eb);
    struct metric_in m;
    if ((e = parse_metric(req->args, &m, &eb)))
        return h_fail(res, e, &eb);
    struct run_write *x = run_write_new(req, SW_RUN_LOG, NULL);
    if (!x)
        return h_fail(res, SRV_E_NOMEM, NULL);
    x->one_metric = m;
    x->w.run_id = run_id;
    x->w.metrics = &x->one_metric;
    x->w.n_metrics = 1;
    return H_PENDING;
}

/* log-parameter ('param') or set-tag: one key and value for the run. */
static enum handler_result log_one_kv(struct request *req, struct response *res,
                                      bool param)
{
    struct errbuf eb;
    const char *run_id, *key, *value;
    struct strref v;
    enum srv_err e;
    if ((e = jx_run_id(req->args, true, &run_id, &eb)) ||
        (e = jx_str(req->args, "key", true, &key, &eb)) ||
        (e = validate_key(key, param ? "Param key" : "Tag key", &eb)) ||
        (e = jx_str(req->args, "value", false, &value, &eb)) ||
        (e = h_value(value, param ? "Param value" : "Tag value",
                     param ? MAX_PARAM_VAL_LENGTH : MAX_TAG_VAL_LENGTH, true,
                     &v, &eb)))
        return h_fail(res, e, &eb);
    struct run_write *x = run_write_new(req, SW_RUN_LOG, NULL);
    if (!x)
        return h_fail(res, SRV_E_NOMEM, NULL);
    struct kv_ref *one = param ? &x->one_param : &x->one_tag;
    one->key = key;
    one->value = v;
    x->w.run_id = run_id;
    if (param) {
        x->w.params = one;
        x->w.n_params = 1;
        x->w.single_param = true;
    } else {
        x->w.tags = one;
        x->w.n_tags = 1;
    }
    return H_PENDING;
}

enum handler_result h_runs_log_parameter(struct request *req,
                                         struct response *res)
{
    return log_one_kv(req, res, true);
}

enum handler_result h_runs_set_tag(struct request *req, struct response *res)
{
    return log_one_kv(req, res, false);
}

enum handler_result h_runs_delete_tag(struct request *req, struct response *res)
{
    struct errbuf eb;
    const char *run_id, *key;
    enum srv_err e;
    if ((e = jx_run_id(req->args, false, &run_id, &eb)) ||
        (e = jx_str(req->args, "key", true, &key, &eb)))
        return h_fail(res, e, &eb);
    struct run_write *x = run_write_new(req, SW_RUN_DELETE_TAG, NULL);
    if (!x)
        return h_fail(res, SRV_E_NOMEM, NULL);
    x->w.run_id = run_id;
    x->w.key = key;
    return H_PENDING;
}

static enum srv_err batch_limit(size_t n, size_t limit, const char *what,
                                struct errbuf *eb)
{
    if (n <= limit)
        return SRV_OK;
    return err_set(eb, MSG_BATCH_LIMIT, (int)limit, what, n, what, what);
}

/* MLflow's request schema for log-batch's lists: every entry has each
 * of 'fields', not null and not "" (else the whole list is the invalid
 * value). */
static enum srv_err fields_present(const cJSON *list, const char *field,
                                   const char *const *fields, size_t n,
                                   struct errbuf *eb)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, list)
    {
        if (!cJSON_IsObject(it))
            return jx_invalid(list, field, eb);
        for (size_t i = 0; i < n; i++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(it, fields[i]);
            if (!v || cJSON_IsNull(v) ||
                (cJSON_IsString(v) && v->valuestring[0] == '\0'))
                return jx_invalid(list, field, eb);
        }
    }
    return SRV_OK;
}

/* MLflow's order: the request schema (run_id, then each list's type and
 * required fields), the run id's format, each metric, param and tag, the
 * batch limits, duplicate param keys; the run itself last (writer). */
enum handler_result h_runs_log_batch(struct request *req, struct response *res)
{
    static const char *const metric_fields[] = {"key", "value", "timestamp"};
    static const char *const key_field[] = {"key"};
    struct errbuf eb;
    const char *run_id;
    const cJSON *metrics, *params, *tags;
    enum srv_err e;
    if ((e = jx_str(req->args, "run_id", true, &run_id, &eb)) ||
        (e = jx_array(req->args, "metrics", &metrics, &eb)) ||
        (e = fields_present(metrics, "metrics", metric_fields, 3, &eb)) ||
        (e = jx_array(req->args, "params", &params, &eb)) ||
        (e = fields_present(params, "params", key_field, 1, &eb)) ||
        (e = jx_array(req->args, "tags", &tags, &eb)) ||
        (e = fields_present(tags, "tags", key_field, 1, &eb)) ||
        (e = validate_run_id_format(run_id, &eb)))
        return h_fail(res, e, &eb);
    size_t nm = metrics ? (size_t)cJSON_GetArraySize(metrics) : 0;
    size_t np = params ? (size_t)cJSON_GetArraySize(params) : 0;
    size_t nt = tags ? (size_t)cJSON_GetArraySize(tags) : 0;
    struct run_write *x = run_write_new(req, SW_RUN_LOG, NULL);
    if (!x)
        return h_fail(res, SRV_E_NOMEM, NULL);
    if (nm) {
        x->metrics = calloc(nm, sizeof(*x->metrics));
        if (!x->metrics)
            return h_fail(res, SRV_E_NOMEM, NULL);
        const cJSON *it;
        size_t i = 0;
        cJSON_ArrayForEach(it, metrics)
        {
            if ((e = parse_metric(it, &x->metrics[i++], &eb)))
                return h_fail(res, e, &eb);
        }
    }
    size_t n;
    if ((e = h_kv_list(params, "params", "Param", MAX_PARAM_VAL_LENGTH, true,
                       &x->params, &n, &eb)) ||
        (e = h_kv_list(tags, "tags", "Tag", MAX_TAG_VAL_LENGTH, true, &x->tags,
                       &x->w.n_tags, &eb)) ||
        (e = batch_limit(nm, MAX_BATCH_METRICS, "metrics", &eb)) ||
        (e = batch_limit(np, MAX_BATCH_PARAMS, "params", &eb)) ||
        (e = batch_limit(nt, MAX_BATCH_TAGS, "tags", &eb)) ||
        (e = batch_limit(nm + np + nt, MAX_BATCH_TOTAL,
                         "metrics, params, and tags", &eb)))
        return h_fail(res, e, &eb);
    /* Duplicate param keys in one request are an error (quadratic but
     * bounded by the 100-param limit), listed as Python lists them. */
    struct strbuf dups;
    strbuf_init(&dups);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcmp(x->params[i].key, x->params[j].key) == 0) {
                strbuf_append_str(&dups, dups.len ? ", " : "[");
                jx_py_repr_str(&dups, x->params[i].key);
                break;
            }
        }
    }
    if (dups.len) {
        strbuf_append_char(&dups, ']');
        e = err_set(&eb, MSG_DUPLICATE_PARAMS, dups.oom ? "[]" : dups.buf);
        strbuf_cleanup(&dups);
        return h_fail(res, e, &eb);
    }
    strbuf_cleanup(&dups);
    x->w.run_id = run_id;
    x->w.metrics = x->metrics;
    x->w.n_metrics = nm;
    x->w.params = x->params;
    x->w.n_params = n;
    x->w.tags = x->tags;
    return H_PENDING;
}

static enum srv_err limited(const char *v, const char *what, size_t max,
                            bool required, struct errbuf *eb)
{
    if (!v) {
        if (required)
            return err_set(eb, MSG_MISSING_PARAM, what);
        return SRV_OK;
    }
    if (strlen(v) > max) /* MLflow measures these in bytes/characters */
        return err_set(eb, MSG_DATASET_TOO_LONG, what, (int)max);
    return SRV_OK;
}

enum handler_result h_runs_log_inputs(struct request *req, struct response *res)
{
    struct errbuf eb;
    const char *run_id;
    const cJSON *datasets, *models;
    enum srv_err e;
    /* MLflow 2.9.2's request schema: run_id, then datasets, both required
     * (an empty list is fine); then the run id's format. A request with
     * 'models' (MLflow 3's clients, which may send no datasets) needs none. */
    if ((e = jx_str(req->args, "run_id", true, &run_id, &eb)) ||
        (e = jx_array(req->args, "datasets", &datasets, &eb)) ||
        (e = jx_array(req->args, "models", &models, &eb)))
        return h_fail(res, e, &eb);
    if (!datasets && !models)
        return h_fail(res, err_set(&eb, MSG_MISSING_PARAM, "datasets"), &eb);
    if ((e = validate_run_id_format(run_id, &eb)))
        return h_fail(res, e, &eb);
    struct run_write *x = run_write_new(req, SW_RUN_LOG_INPUTS, NULL);
    if (!x)
        return h_fail(res, SRV_E_NOMEM, NULL);
    x->w.run_id = run_id;
    size_t nd = datasets ? (size_t)cJSON_GetArraySize(datasets) : 0;
    size_t nmod = models ? (size_t)cJSON_GetArraySize(models) : 0;
    if (nd > 1000 || nmod > 1000)
        return h_fail(res,
                      err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                              "A log-inputs request can contain at most "
                              "1000 datasets and 1000 models"),
                      &eb);
    if (nd) {
        x->datasets = calloc(nd, sizeof(*x->datasets));
        if (!x->datasets)
            return h_fail(res, SRV_E_NOMEM, NULL);
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, datasets)
    {
        struct dataset_in *d = &x->datasets[x->w.n_datasets++];
        const cJSON *ds = cJSON_IsObject(it)
                              ? cJSON_GetObjectItemCaseSensitive(it, "dataset")
                              : NULL;
        if (!ds || !cJSON_IsObject(ds))
            return h_fail(res, err_set(&eb, MSG_MISSING_PARAM, "dataset"), &eb);
        const cJSON *dtags;
        if ((e = jx_str(ds, "name", true, &d->name, &eb)) ||
            (e = jx_str(ds, "digest", true, &d->digest, &eb)) ||
            (e = jx_str(ds, "source_type", true, &d->source_type, &eb)) ||
            (e = jx_str(ds, "source", true, &d->source, &eb)) ||
            (e = jx_str(ds, "schema", false, &d->schema, &eb)) ||
            (e = jx_str(ds, "profile", false, &d->profile, &eb)) ||
            (e = limited(d->name, "name", 500, true, &eb)) ||
            (e = limited(d->digest, "digest", 36, true, &eb)) ||
            (e = limited(d->source, "source", 65535, true, &eb)) ||
            (e = limited(d->schema, "schema", 1048575, false, &eb)) ||
            (e = limited(d->profile, "profile", 16777215, false, &eb)) ||
            (e = jx_array(it, "tags", &dtags, &eb)))
            return h_fail(res, e, &eb);
        if (dtags) {
            size_t nt = (size_t)cJSON_GetArraySize(dtags);
            if (nt) {
                d->tags = calloc(nt, sizeof(*d->tags));
                if (!d->tags)
                    return h_fail(res, SRV_E_NOMEM, NULL);
            }
            const cJSON *t;
            cJSON_ArrayForEach(t, dtags)
            {
                const char *k, *v;
                if ((e = jx_str(t, "key", true, &k, &eb)) ||
                    (e = jx_str(t, "value", true, &v, &eb)))
                    return h_fail(res, e, &eb);
                if (strlen(k) > 255 || strlen(v) > 500)
                    return h_fail(
                        res,
                        strlen(k) > 255
                            ? err_set(&eb, MSG_INPUT_TAG_TOO_LONG, "key", 255)
                            : err_set(&eb, MSG_INPUT_TAG_TOO_LONG, "value",
                                      500),
                        &eb);
                d->tags[d->n_tags].key = k;
                d->tags[d->n_tags].value.s = v;
                d->tags[d->n_tags].value.len = strlen(v);
                d->n_tags++;
            }
        }
    }
    if (nmod) {
        x->model_ids = calloc(nmod, sizeof(*x->model_ids));
        if (!x->model_ids)
            return h_fail(res, SRV_E_NOMEM, NULL);
        cJSON_ArrayForEach(it, models)
        {
            const char *id;
            if ((e = jx_str(it, "model_id", true, &id, &eb)))
                return h_fail(res, e, &eb);
            x->model_ids[x->w.n_model_ids++] = id;
        }
    }
    x->w.datasets = x->datasets;
    x->w.model_ids = x->model_ids;
    return H_PENDING;
}

enum handler_result h_runs_log_model(struct request *req, struct response *res)
{
    struct errbuf eb;
    const char *run_id, *model_json;
    enum srv_err e;
    if ((e = jx_str(req->args, "run_id", true, &run_id, &eb)) ||
        (e = jx_str(req->args, "model_json", true, &model_json, &eb)))
        return h_fail(res, e, &eb);
    cJSON *model = cJSON_ParseWithOpts(model_json, NULL, 1);
    if (!model || !cJSON_IsObject(model)) {
        cJSON_Delete(model);
        return h_fail(res, err_set(&eb, MSG_MODEL_JSON_MALFORMED, model_json),
                      &eb);
    }
    static const char *const required[] = {"artifact_path", "flavors",
                                           "utc_time_created", "run_id"};
    struct strbuf missing;
    strbuf_init(&missing);
    for (size_t i = 0; i < 4; i++) {
        if (!cJSON_GetObjectItemCaseSensitive(model, required[i]))
            strbuf_printf(&missing, "%s'%s'", missing.len ? ", " : "",
                          required[i]);
    }
    cJSON_Delete(model);
    if (missing.len) {
        err_set(&eb, MSG_MODEL_JSON_MISSING, missing.buf);
        strbuf_cleanup(&missing);
        return h_fail(res, SRV_E_INVALID_PARAMETER_VALUE, &eb);
    }
    strbuf_cleanup(&missing);
    struct run_write *x = run_write_new(req, SW_RUN_LOG_MODEL, NULL);
    if (!x)
        return h_fail(res, SRV_E_NOMEM, NULL);
    x->w.run_id = run_id;
    x->w.model_json = model_json;
    return H_PENDING;
}
