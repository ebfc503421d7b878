/* SPDX-License-Identifier: MIT
 *
 * runs: POST /codecarbon/runs {"experiment_id", "os", "cpu_model", ...}
 * -> 201 {"id", "experiment_id"}: a new RUNNING run, named "codecarbon
 * <id prefix>", with CodeCarbon's machine facts as codecarbon.* tags; its
 * id is the run id in UUID spelling (runid.h). The experiment id is a
 * greentrack experiment id, or any other text (the UUID CodeCarbon was
 * configured with) naming an experiment "codecarbon <text>", which
 * POST /codecarbon/experiments must have created. CodeCarbon has no
 * end-of-run call, so such runs stay RUNNING until something finishes
 * them (runs/update).
 */
#include "handlers/handlers.h"
#include "jsonx.h"
#include "runid.h"
#include "validate.h"

#include <stdio.h>
#include <string.h>

struct cc_run {
    struct store_write w; /* first: api_pending relies on it */
    struct kv_ref tags[12];
    char tag_keys[12][48];
    char tag_values[12][64];
    char run_id[RUN_ID_LEN + 1];
    char name[200];
};

/* The greentrack experiment for CodeCarbon's experiment id: an existing
 * numeric id, or an experiment named "codecarbon <text>" (created here,
 * synchronously, when missing). */
static enum srv_err resolve_experiment(struct request *req, const char *ccid,
                                       int64_t *out, struct errbuf *eb)
{
    struct experiment x;
    if (validate_parse_experiment_id(ccid, out) &&
        store_experiment_get(req->app->store, *out, &x, eb) == SRV_OK) {
        experiment_cleanup(&x);
        return SRV_OK;
    }
    char name[160];
    snprintf(name, sizeof(name), "codecarbon %.120s", ccid);
    enum srv_err e =
        store_experiment_get_by_name(req->app->store, name, &x, eb);
    if (e == SRV_OK) {
        *out = x.experiment_id;
        experiment_cleanup(&x);
        return SRV_OK;
    }
    return e == SRV_E_RESOURCE_DOES_NOT_EXIST
               ? err_set(eb, SRV_E_RESOURCE_DOES_NOT_EXIST,
                         "No experiment %.64s: create it with POST "
                         "/codecarbon/experiments",
                         ccid)
               : e;
}

static enum handler_result after_run(struct request *req, struct response *res)
{
    struct cc_run *x = req->state;
    char uuid[RUNID_UUID_LEN + 1];
    runid_to_uuid(x->run_id, uuid);
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_str(&sb, "{\"id\":");
    strbuf_append_json_str(&sb, uuid, strlen(uuid));
    strbuf_append_str(&sb, ",\"experiment_id\":\"");
    strbuf_append_i64(&sb, x->w.experiment_id);
    strbuf_append_str(&sb, "\"}");
    return h_created(res, &sb);
}

static void cc_tag(struct cc_run *x, size_t *n, const char *key,
                   const cJSON *args, const char *field)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, field);
    if (!v || *n >= 12)
        return;
    if (cJSON_IsString(v) && *v->valuestring)
        snprintf(x->tag_values[*n], sizeof(x->tag_values[*n]), "%s",
                 v->valuestring);
    else if (cJSON_IsNumber(v))
        snprintf(x->tag_values[*n], sizeof(x->tag_values[*n]), "%.10g",
                 v->valuedouble);
    else
        return;
    snprintf(x->tag_keys[*n], sizeof(x->tag_keys[*n]), "%s", key);
    x->tags[*n].key = x->tag_keys[*n];
    x->tags[*n].value.s = x->tag_values[*n];
    x->tags[*n].value.len = strlen(x->tag_values[*n]);
    (*n)++;
}

enum handler_result h_cc_runs(struct request *req, struct response *res)
{
    struct errbuf eb;
    char ccid[128];
    bool present;
    int64_t exp_id;
    enum srv_err e = jx_id(req->args, "experiment_id", true, ccid, sizeof(ccid),
                           &present, &eb);
    if (e || (e = resolve_experiment(req, ccid, &exp_id, &eb)))
        return h_fail(res, e, &eb);
    struct cc_run *x = api_pending(req, sizeof(*x), after_run);
    if (!x)
        return h_fail(res, SRV_E_NOMEM, NULL);
    runid_random(x->run_id);
    size_t n = 0;
    static const char *const fields[] = {
        "os",        "python_version", "codecarbon_version",
        "cpu_count", "cpu_model",      "gpu_count",
        "gpu_model", "ram_total_size", "tracking_mode",
        "region"};
    for (size_t i = 0; i < sizeof(fields) / sizeof(*fields); i++) {
        char key[48];
        snprintf(key, sizeof(key), "codecarbon.%s", fields[i]);
        cc_tag(x, &n, key, req->args, fields[i]);
    }
    cc_tag(x, &n, "greentrack.cloud_provider", req->args, "provider");
    x->w.kind = SW_RUN_CREATE;
    x->w.run_id = x->run_id;
    x->w.experiment_id = exp_id;
    x->w.start_time = store_now_ms();
    x->w.tags = x->tags;
    x->w.n_tags = n;
    /* no run name: the store stores "" and the tag is absent; name it */
    snprintf(x->name, sizeof(x->name), "codecarbon %.8s", x->run_id);
    x->tags[n].key = "mlflow.runName";
    x->tags[n].value.s = x->name;
    x->tags[n].value.len = strlen(x->name);
    x->w.n_tags = n + 1;
    return H_PENDING;
}
