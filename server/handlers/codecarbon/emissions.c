/* SPDX-License-Identifier: MIT
 *
 * emissions: POST /codecarbon/emissions {"run_id", "duration",
 * "cpu_energy", "gpu_energy", "ram_energy", "energy_consumed",
 * "emissions_sum", ...} -> 201 "<uuid>". Each emission is an increment:
 * one energy sample labelled `codecarbon` whose intensity is CodeCarbon's
 * (emissions / energy), and the run's end time moves to it. run_id is a
 * run id in UUID spelling (runid.h), as POST /codecarbon/runs gave it.
 */
#include "carbon.h"
#include "handlers/handlers.h"
#include "jsonx.h"
#include "runid.h"

#include <math.h>
#include <stdatomic.h>
#include <string.h>

#define J_PER_KWH 3.6e6

struct cc_emission {
    struct store_write w; /* first: api_pending relies on it */
    struct store_write subs[2];
    struct energy_sample_in sample;
    char run_id[RUN_ID_LEN + 1];
};

static enum handler_result after_emission(struct request *req,
                                          struct response *res)
{
    (void)req;
    char hex[RUN_ID_LEN + 1], uuid[RUNID_UUID_LEN + 1];
    runid_random(hex);
    runid_to_uuid(hex, uuid);
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_json_str(&sb, uuid, strlen(uuid));
    return h_created(res, &sb);
}

/* The end time of an emission: the server's clock, but strictly later
 * than the previous emission's on this server. A sample is keyed by its
 * run and start time, so two emissions of one run arriving in the same
 * millisecond (and with the same duration) must not replace each other. */
static int64_t emission_end_ms(void)
{
    static _Atomic int64_t last_ms;
    int64_t now = store_now_ms();
    int64_t prev = atomic_load(&last_ms);
    int64_t next;
    do
        next = now > prev ? now : prev + 1;
    while (!atomic_compare_exchange_weak(&last_ms, &prev, next));
    return next;
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
    struct cc_emission *x = api_pending(req, sizeof(*x), after_emission);
    if (!x)
        return h_fail(res, SRV_E_NOMEM, NULL);
    if (!runid_from_uuid(run_uuid, x->run_id))
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
    /* Physical bounds, as log-energy's (carbon.h): a duration up to a
     * year, at most CARBON_MAX_SAMPLE_W, an intensity up to 5000 g/kWh. */
    double sample_j =
        cpu + gpu + ram > 0 ? (cpu + gpu + ram) * J_PER_KWH : total * J_PER_KWH;
    if (duration > 366.0 * 86400 ||
        !carbon_sample_power_ok(sample_j, (int64_t)llround(duration * 1000)) ||
        (total > 0 && !(emissions * 1000.0 / total <= 5000)))
        return h_fail(res,
                      err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                              "An emission needs a duration up to a year, "
                              "at most %g W, and at most 5000 g of CO2 per "
                              "kWh",
                              CARBON_MAX_SAMPLE_W),
                      &eb);
    struct energy_sample_in *s = &x->sample;
    s->end_time = emission_end_ms();
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
