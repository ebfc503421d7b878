/* SPDX-License-Identifier: MIT
 *
 * codecarbon_api: the part of CodeCarbon's dashboard API that its tracker
 * calls, mounted at /codecarbon/, so a CodeCarbon tracker configured with
 * api_endpoint=http://HOST:5000/codecarbon logs into greentrack:
 *   POST /codecarbon/experiments  -> 201 {"id", "name", ...}
 *   POST /codecarbon/runs         -> 201 {"id", "experiment_id", ...}
 *   POST /codecarbon/emissions    -> 201 "<uuid>"
 * An experiment id is a greentrack experiment id, or any other text (the
 * UUID CodeCarbon was configured with), which names an experiment created
 * on first use. Each emission is an increment: one energy sample labelled
 * `codecarbon` whose intensity is CodeCarbon's (emissions / energy), and
 * the run's end time moves to it. CodeCarbon has no end-of-run call, so
 * such runs stay RUNNING until something finishes them (runs/update). The
 * x-api-token header is not checked: greentrack has no authentication yet.
 */
#include "handlers/handlers.h"
#include "jsonx.h"
#include "render.h"
#include "validate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define J_PER_KWH 3.6e6

/* greentrack's 32-hex run id written as a UUID (8-4-4-4-12) and back. */
static void hex_to_uuid(const char *hex, char out[37])
{
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12,
             hex + 16, hex + 20);
}

static bool uuid_to_hex(const char *uuid, char out[RUN_ID_LEN + 1])
{
    size_t n = 0;
    for (const char *p = uuid; *p; p++) {
        char c = *p >= 'A' && *p <= 'F' ? (char)(*p - 'A' + 'a') : *p;
        if (c == '-')
            continue;
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) ||
            n == RUN_ID_LEN)
            return false;
        out[n++] = c;
    }
    out[n] = '\0';
    return n == RUN_ID_LEN;
}

static void random_hex(char out[RUN_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16] = {0};
    if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
        b[0] ^= 1; /* cannot fail for 16 bytes; keep the id well-formed */
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[RUN_ID_LEN] = '\0';
}

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

struct cc_state {
    struct store_write w; /* first: api_pending relies on it */
    struct store_write subs[2];
    struct energy_sample_in sample;
    struct kv_ref tags[12];
    char tag_keys[12][48];
    char tag_values[12][64];
    char run_id[RUN_ID_LEN + 1];
    char name[200];
};

static enum handler_result created_json(struct response *res, struct strbuf *sb)
{
    api_ok(res, sb);
    res->status = 201;
    return H_DONE;
}

static enum handler_result after_experiment(struct request *req,
                                            struct response *res)
{
    struct cc_state *x = req->state;
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_str(&sb, "{\"id\":\"");
    strbuf_append_i64(&sb, x->w.out_experiment_id);
    strbuf_append_str(&sb, "\",\"name\":");
    strbuf_append_json_str(&sb, x->name, strlen(x->name));
    strbuf_append_char(&sb, '}');
    return created_json(res, &sb);
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
        return created_json(res, &sb);
    }
    struct cc_state *x = api_pending(req, sizeof(*x), after_experiment);
    if (!x)
        return h_fail(res, SRV_E_NOMEM, NULL);
    snprintf(x->name, sizeof(x->name), "%s", name);
    x->w.kind = SW_EXPERIMENT_CREATE;
    x->w.name = x->name;
    return H_PENDING;
}

static enum handler_result after_run(struct request *req, struct response *res)
{
    struct cc_state *x = req->state;
    char uuid[37];
    hex_to_uuid(x->run_id, uuid);
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_str(&sb, "{\"id\":");
    strbuf_append_json_str(&sb, uuid, strlen(uuid));
    strbuf_append_str(&sb, ",\"experiment_id\":\"");
    strbuf_append_i64(&sb, x->w.experiment_id);
    strbuf_append_str(&sb, "\"}");
    return created_json(res, &sb);
}

static void cc_tag(struct cc_state *x, size_t *n, const char *key,
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
    struct cc_state *x = api_pending(req, sizeof(*x), after_run);
    if (!x)
        return h_fail(res, SRV_E_NOMEM, NULL);
    random_hex(x->run_id);
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

static enum handler_result after_emission(struct request *req,
                                          struct response *res)
{
    (void)req;
    char hex[RUN_ID_LEN + 1], uuid[37];
    random_hex(hex);
    hex_to_uuid(hex, uuid);
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_json_str(&sb, uuid, strlen(uuid));
    return created_json(res, &sb);
}

static double num(const cJSON *args, const char *field)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, field);
    return v && cJSON_IsNumber(v) && isfinite(v->valuedouble) ? v->valuedouble
                                                              : 0.0;
}

enum handler_result h_cc_emissions(struct request *req, struct response *res)
{
    struct errbuf eb;
    const char *run_uuid;
    enum srv_err e = jx_str(req->args, "run_id", true, &run_uuid, &eb);
    if (e)
        return h_fail(res, e, &eb);
    struct cc_state *x = api_pending(req, sizeof(*x), after_emission);
    if (!x)
        return h_fail(res, SRV_E_NOMEM, NULL);
    if (!uuid_to_hex(run_uuid, x->run_id))
        return h_fail(res,
                      err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                              "run_id '%.64s' is not a run of this server",
                              run_uuid),
                      &eb);
    double duration = num(req->args, "duration");
    double cpu = num(req->args, "cpu_energy"),
           gpu = num(req->args, "gpu_energy"),
           ram = num(req->args, "ram_energy");
    double total = num(req->args, "energy_consumed");
    double emissions = num(req->args, "emissions_sum");
    if (duration <= 0 || cpu < 0 || gpu < 0 || ram < 0 || total < 0 ||
        emissions < 0)
        return h_fail(res,
                      err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                              "An emission needs duration > 0 and energies "
                              "and emissions_sum >= 0"),
                      &eb);
    if (total <= 0)
        total = cpu + gpu + ram;
    struct energy_sample_in *s = &x->sample;
    s->end_time = store_now_ms();
    s->start_time = s->end_time - (int64_t)llround(duration * 1000);
    s->cpu_j = cpu * J_PER_KWH;
    s->gpu_j = gpu * J_PER_KWH;
    s->ram_j = ram * J_PER_KWH;
    s->other_j = cpu + gpu + ram > 0 ? 0 : total * J_PER_KWH;
    s->cpu_method = s->gpu_method = s->ram_method = "codecarbon";
    s->scope = "node";
    if (total > 0) {
        s->has_intensity = true;
        s->intensity_g_per_kwh = emissions * 1000.0 / total;
        s->intensity_source = "codecarbon";
    }
    x->subs[0].kind = SW_RUN_LOG_ENERGY;
    x->subs[0].run_id = x->run_id;
    x->subs[0].samples = s;
    x->subs[0].n_samples = 1;
    x->subs[1].kind = SW_RUN_UPDATE;
    x->subs[1].run_id = x->run_id;
    x->subs[1].has_end_time = true;
    x->subs[1].end_time = s->end_time;
    x->w.kind = SW_MULTI;
    x->w.subs = x->subs;
    x->w.n_subs = 2;
    return H_PENDING;
}
