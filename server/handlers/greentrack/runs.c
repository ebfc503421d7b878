/* SPDX-License-Identifier: MIT
 *
 * runs: greentrack's own run endpoints under /api/2.0/greentrack/runs/:
 * heartbeat (libgreentrack's "still alive"), log-energy (samples of
 * measured joules), carbon (a run's kWh and CO2 with where each number
 * came from, with its phases, upstream and alternatives: greenai_report.c),
 * energy (the samples, for charts), export (an experiment's runs as CSV
 * or JSON, rendered by export.c) and log-phase (a phase of a run and the
 * work done in it, for Green-AI decisions).
 */
#include "carbon.h"
#include "carbon_report.h"
#include "export.h"
#include "greenai_report.h"
#include "handlers/handlers.h"
#include "jsonx.h"
#include "listsrc.h"
#include "pagetoken.h"
#include "render.h"
#include "store_greenai.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ENERGY_SAMPLES 10000
#define MAX_METHOD_LEN 64

/* POST /api/2.0/greentrack/runs/heartbeat {"run_id"}: libgreentrack sends
 * one every 30 s per open run; see schema/002_heartbeats.sql. */
enum handler_result h_runs_heartbeat(struct request *req, struct response *res)
{
    struct errbuf eb;
    const char *run_id;
    enum srv_err e = jx_run_id(req->args, false, &run_id, &eb);
    if (e)
        return h_fail(res, e, &eb);
    struct store_write *w = api_pending(req, sizeof(*w), NULL);
    if (!w)
        return h_fail(res, SRV_E_NOMEM, NULL);
    w->kind = SW_RUN_HEARTBEAT;
    w->run_id = run_id;
    return H_PENDING;
}

struct energy_write {
    struct store_write w; /* first: api_pending relies on it */
    struct energy_sample_in *samples;
};

static void energy_write_free(void *p)
{
    struct energy_write *x = p;
    free(x->samples);
    free(x);
}

/* A joule count: a finite number >= 0, 0 when absent. */
static enum srv_err joules(const cJSON *obj, const char *field, double *out,
                           struct errbuf *eb)
{
    bool present;
    *out = 0;
    enum srv_err e = jx_double(obj, field, false, &present, out, eb);
    if (e)
        return e;
    if (present && !(isfinite(*out) && *out >= 0))
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Invalid value for '%s': energies must be finite "
                       "and >= 0",
                       field);
    return SRV_OK;
}

static enum srv_err method(const cJSON *obj, const char *field,
                           const char *dflt, const char **out,
                           struct errbuf *eb)
{
    enum srv_err e = jx_str(obj, field, false, out, eb);
    if (e)
        return e;
    if (!*out || !**out)
        *out = dflt;
    if (strlen(*out) > MAX_METHOD_LEN)
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "'%s' is longer than %d characters", field,
                       MAX_METHOD_LEN);
    return SRV_OK;
}

static enum srv_err parse_sample(const cJSON *it, struct energy_sample_in *x,
                                 struct errbuf *eb)
{
    enum srv_err e;
    bool present;
    if (!cJSON_IsObject(it))
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Each entry of 'samples' must be an object");
    if ((e = jx_i64(it, "start_time", true, &present, &x->start_time, eb)) ||
        (e = jx_i64(it, "end_time", true, &present, &x->end_time, eb)))
        return e;
    if (x->start_time < 0 || x->end_time <= x->start_time)
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "A sample needs 0 <= start_time < end_time (got "
                       "%lld, %lld)",
                       (long long)x->start_time, (long long)x->end_time);
    if ((e = joules(it, "cpu_energy_j", &x->cpu_j, eb)) ||
        (e = joules(it, "gpu_energy_j", &x->gpu_j, eb)) ||
        (e = joules(it, "ram_energy_j", &x->ram_j, eb)) ||
        (e = joules(it, "other_energy_j", &x->other_j, eb)) ||
        (e = method(it, "cpu_method", "unknown", &x->cpu_method, eb)) ||
        (e = method(it, "gpu_method", "unknown", &x->gpu_method, eb)) ||
        (e = method(it, "ram_method", "unknown", &x->ram_method, eb)) ||
        (e = method(it, "scope", "node", &x->scope, eb)))
        return e;
    double total = x->cpu_j + x->gpu_j + x->ram_j + x->other_j;
    if (!carbon_sample_power_ok(total, x->end_time - x->start_time))
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "A sample of %g J over %lld ms implies more than "
                       "the %g W one sample may draw",
                       total, (long long)(x->end_time - x->start_time),
                       CARBON_MAX_SAMPLE_W);
    if (strcmp(x->scope, "node") != 0 && strcmp(x->scope, "process") != 0)
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Invalid scope '%.64s': expected 'node' or 'process'",
                       x->scope);
    if ((e = jx_double(it, "intensity_g_per_kwh", false, &x->has_intensity,
                       &x->intensity_g_per_kwh, eb)))
        return e;
    if (x->has_intensity &&
        !(isfinite(x->intensity_g_per_kwh) && x->intensity_g_per_kwh >= 0 &&
          x->intensity_g_per_kwh <= 5000))
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "intensity_g_per_kwh must be a number in [0, 5000]");
    if ((e = method(it, "intensity_source", "measured", &x->intensity_source,
                    eb)))
        return e;
    return SRV_OK;
}

enum handler_result h_runs_log_energy(struct request *req, struct response *res)
{
    struct errbuf eb;
    const char *run_id;
    const cJSON *samples;
    enum srv_err e;
    if ((e = jx_str(req->args, "run_id", true, &run_id, &eb)) ||
        (e = jx_array(req->args, "samples", &samples, &eb)))
        return h_fail(res, e, &eb);
    size_t n = samples ? (size_t)cJSON_GetArraySize(samples) : 0;
    if (n == 0 || n > MAX_ENERGY_SAMPLES)
        return h_fail(res,
                      err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                              "'samples' must hold 1 to %d samples (got %zu)",
                              MAX_ENERGY_SAMPLES, n),
                      &eb);
    struct energy_write *x = api_pending(req, sizeof(*x), NULL);
    if (!x)
        return h_fail(res, SRV_E_NOMEM, NULL);
    req->state_free = energy_write_free;
    x->samples = calloc(n, sizeof(*x->samples));
    if (!x->samples)
        return h_fail(res, SRV_E_NOMEM, NULL);
    const cJSON *it;
    size_t i = 0;
    cJSON_ArrayForEach(it, samples)
    {
        if ((e = parse_sample(it, &x->samples[i++], &eb)))
            return h_fail(res, e, &eb);
    }
    x->w.kind = SW_RUN_LOG_ENERGY;
    x->w.run_id = run_id;
    x->w.samples = x->samples;
    x->w.n_samples = n;
    return H_PENDING;
}

#define MAX_PHASE_LEN 64
#define MAX_WORK_UNIT_LEN 64

struct phase_write {
    struct store_write w; /* first: api_pending relies on it */
    struct greenai_write g;
};

static bool phase_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > MAX_PHASE_LEN)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-'))
            return false;
    return true;
}

/* POST /api/2.0/greentrack/runs/log-phase {run_id, phase, start_time,
 * end_time, work_count?, work_unit?}: one phase of a run (ms); the same
 * (run, phase, start_time) again replaces it. */
enum handler_result h_runs_log_phase(struct request *req, struct response *res)
{
    struct errbuf eb;
    const char *run_id, *phase, *unit;
    int64_t start, end;
    double work = 0;
    bool present, has_work;
    enum srv_err e;
    if ((e = jx_run_id(req->args, false, &run_id, &eb)) ||
        (e = jx_str(req->args, "phase", true, &phase, &eb)) ||
        (e = jx_i64(req->args, "start_time", true, &present, &start, &eb)) ||
        (e = jx_i64(req->args, "end_time", true, &present, &end, &eb)) ||
        (e = jx_double(req->args, "work_count", false, &has_work, &work,
                       &eb)) ||
        (e = jx_str(req->args, "work_unit", false, &unit, &eb)))
        return h_fail(res, e, &eb);
    if (!phase_name_ok(phase))
        return h_fail(res,
                      err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                              "Invalid phase '%.64s': 1 to %d characters "
                              "of A-Z, a-z, 0-9, '_', '.' and '-'",
                              phase, MAX_PHASE_LEN),
                      &eb);
    if (start < 0 || end < start)
        return h_fail(res,
                      err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                              "A phase needs 0 <= start_time <= end_time "
                              "(got %lld, %lld)",
                              (long long)start, (long long)end),
                      &eb);
    if (has_work && !(isfinite(work) && work >= 0))
        return h_fail(res,
                      err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                              "work_count must be a finite number >= 0"),
                      &eb);
    if (unit && strlen(unit) > MAX_WORK_UNIT_LEN)
        return h_fail(res,
                      err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                              "'work_unit' is longer than %d characters",
                              MAX_WORK_UNIT_LEN),
                      &eb);
    struct phase_write *x = api_pending(req, sizeof(*x), NULL);
    if (!x)
        return h_fail(res, SRV_E_NOMEM, NULL);
    x->g = (struct greenai_write){.op = GREENAI_LOG_PHASE,
                                  .phase = phase,
                                  .start_time = start,
                                  .end_time = end,
                                  .has_work = has_work,
                                  .work_count = work,
                                  .work_unit = unit};
    x->w.kind = SW_GREENAI;
    x->w.run_id = run_id;
    x->w.greenai = &x->g;
    return H_PENDING;
}

/*---- reads ----*/

/* GET /api/2.0/greentrack/runs/carbon?run_id=: the run's kWh and CO2
 * with where each number came from (carbon_report.h). */
enum handler_result h_runs_carbon(struct request *req, struct response *res)
{
    struct errbuf eb;
    const char *run_id;
    enum srv_err e = jx_run_id(req->args, false, &run_id, &eb);
    if (e)
        return h_fail(res, e, &eb);
    struct strbuf sb;
    strbuf_init(&sb);
    struct carbon_report rep;
    if ((e = greenai_carbon_run(req->app->store, run_id, &sb, &rep, &eb))) {
        strbuf_cleanup(&sb);
        return h_fail(res, e, &eb);
    }
    api_ok(res, &sb);
    return H_DONE;
}

/* GET /api/2.0/greentrack/runs/energy?run_id=[&max_results=&page_token=]:
 * the run's samples in time order, for energy-over-time charts. */
enum handler_result h_runs_energy(struct request *req, struct response *res)
{
    struct errbuf eb;
    const char *run_id, *token;
    int64_t max, offset;
    enum srv_err e;
    if ((e = jx_run_id(req->args, false, &run_id, &eb)) ||
        (e = h_max_results(req->args, 10000, 100000, false, &max, &eb)) ||
        (e = jx_str(req->args, "page_token", false, &token, &eb)) ||
        (e = pagetoken_decode(token, &offset, &eb)))
        return h_fail(res, e, &eb);
    int64_t pk;
    if ((e = store_run_pk(req->app->store, run_id, &pk, &eb)))
        return h_fail(res, e, &eb);
    void *src = listsrc_energy_new(req->app->store, pk, offset);
    if (!src)
        return h_fail(res, SRV_E_NOMEM, NULL);
    struct pager_page page = {.list_key = "samples",
                              .keep_empty = true,
                              .max_items = max,
                              .max_bytes = req->app->cfg->max_response_bytes,
                              .offset = offset};
    return pager_respond(res, &page, &listsrc_energy_ops, src);
}

/* GET /api/2.0/greentrack/runs/export?experiment_id=..&format=csv|json|
 * codecarbon[&filter=..][&include_registry=true]: the experiment's active
 * runs, streamed (see export.h); include_registry (JSON only) adds the
 * Model Registry's versions of each run and their models. */
enum handler_result h_runs_export(struct request *req, struct response *res)
{
    struct errbuf eb;
    int64_t exp_id;
    const char *format, *filter;
    bool present, registry = false;
    enum srv_err e;
    if ((e = h_experiment_id(req->args, "experiment_id", true, &exp_id, &eb)) ||
        (e = jx_str(req->args, "format", false, &format, &eb)) ||
        (e = jx_str(req->args, "filter", false, &filter, &eb)) ||
        (e = jx_bool(req->args, "include_registry", &present, &registry, &eb)))
        return h_fail(res, e, &eb);
    enum export_format f;
    if (!export_format_parse(format, &f))
        return h_fail(res,
                      err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                              "Invalid format '%.32s': expected 'csv', "
                              "'json' or 'codecarbon'",
                              format),
                      &eb);
    if (registry && f != EXPORT_JSON)
        return h_fail(res,
                      err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                              "include_registry=true needs format=json: the "
                              "registry's models and versions have no CSV "
                              "columns"),
                      &eb);
    struct experiment x;
    if ((e = store_experiment_get(req->app->store, exp_id, &x, &eb)))
        return h_fail(res, e, &eb);
    /* A bad filter must be a 400 before the 200 header goes out. */
    struct search_args probe = {
        .filter = filter, .view = VIEW_ACTIVE_ONLY, .max_results = 1};
    struct run *runs;
    size_t n;
    bool more;
    if ((e = store_runs_search(req->app->store, &exp_id, 1, &probe, &runs, &n,
                               &more, &eb))) {
        experiment_cleanup(&x);
        return h_fail(res, e, &eb);
    }
    runs_free(runs, n);
    struct export_state *st =
        export_new(req->app->store, exp_id, x.name, filter, f);
    experiment_cleanup(&x);
    if (!st)
        return h_fail(res, SRV_E_NOMEM, NULL);
    export_include_registry(st, registry);
    res->status = 200;
    res->content_type = export_content_type(f);
    res->content_disposition = export_content_disposition(f);
    res->stream.next = export_next;
    res->stream.state = st;
    res->stream.free_state = export_free;
    return H_DONE;
}
