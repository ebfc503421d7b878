/* SPDX-License-Identifier: MIT
 *
 * greenai_report: runs/carbon's phases, upstream and alternatives (see
 * greenai_report.h): the store's phases, samples and lineage computed
 * with greenai.c and rendered as docs/api.md "Green-AI decisions" says.
 */
#include "greenai_report.h"

#include "carbon.h"
#include "grid_math.h"
#include "render.h"
#include "store_greenai.h"

#include <stdlib.h>
#include <string.h>

/* Grams of CO2 per kWh of this run as runs/carbon accounts it (PUE and
 * intensity together); 0 without energy. */
static double g_per_kwh(const struct carbon_report *rep)
{
    return rep->energy_kwh > 0 ? rep->co2_g / rep->energy_kwh : 0;
}

static enum srv_err render_phases(struct store *st, const char *run_id,
                                  const struct carbon_report *rep,
                                  struct strbuf *sb, struct errbuf *eb)
{
    struct run_phase *ph;
    struct greenai_sample *smp;
    size_t n, ns;
    enum srv_err e =
        store_greenai_run_phases(st, run_id, false, &ph, &n, &smp, &ns, eb);
    if (e)
        return e;
    struct greenai_span *spans = calloc(n ? n : 1, sizeof(*spans));
    double *joules = calloc(n ? n : 1, sizeof(*joules));
    if (!spans || !joules) {
        e = err_set(eb, SRV_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        spans[i] = (struct greenai_span){ph[i].start_time, ph[i].end_time};
    greenai_phase_split(smp, ns, spans, n, joules);
    render_key(sb, "phases", false);
    strbuf_append_char(sb, '[');
    for (size_t i = 0; i < n; i++) {
        const struct run_phase *p = &ph[i];
        double kwh = joules[i] / CARBON_J_PER_KWH;
        double co2 = kwh * g_per_kwh(rep);
        if (i)
            strbuf_append_char(sb, ',');
        strbuf_append_char(sb, '{');
        render_str_field(sb, "phase", p->phase, true);
        render_key(sb, "start_time", false);
        strbuf_append_i64(sb, p->start_time);
        render_key(sb, "end_time", false);
        strbuf_append_i64(sb, p->end_time);
        render_num_field(sb, "energy_kwh", kwh, false);
        render_num_field(sb, "co2_g", co2, false);
        render_num_or_null(sb, "work_count", p->has_work, p->work_count);
        render_str_field(sb, "work_unit", p->work_unit, false);
        render_num_or_null(sb, "co2_g_per_1k_work",
                           p->has_work && p->work_count > 0,
                           co2 / p->work_count * 1000.0);
        strbuf_append_char(sb, '}');
    }
    strbuf_append_char(sb, ']');
out:
    free(spans);
    free(joules);
    run_phases_free(ph, n);
    free(smp);
    return e;
}

static enum srv_err render_upstream(struct store *st, const char *run_id,
                                    struct strbuf *sb, struct errbuf *eb)
{
    struct greenai_upstream u;
    enum srv_err e = store_greenai_upstream(st, run_id, &u, eb);
    if (e)
        return e;
    render_key(sb, "upstream", false);
    if (!u.declared) {
        strbuf_append_str(sb, "null");
        return SRV_OK;
    }
    strbuf_append_char(sb, '{');
    render_str_field(sb, "base_run_id", u.base_run_id, true);
    render_str_field(sb, "base_model", u.base_model, false);
    render_str_field(sb, "base_source", u.base_source, false);
    render_num_field(sb, "upstream_co2_g", u.upstream_co2_g, false);
    render_key(sb, "sharing_runs", false);
    strbuf_append_i64(sb, u.sharing_runs);
    render_num_field(sb, "amortized_co2_g", u.amortized_co2_g, false);
    render_key(sb, "chain", false);
    strbuf_append_char(sb, '[');
    for (size_t i = 0; i < u.n_chain; i++) {
        if (i)
            strbuf_append_char(sb, ',');
        strbuf_append_json_str(sb, u.chain[i], strlen(u.chain[i]));
    }
    strbuf_append_char(sb, ']');
    render_key(sb, "chain_truncated", false);
    strbuf_append_str(sb, u.truncated ? "true" : "false");
    strbuf_append_char(sb, '}');
    greenai_upstream_cleanup(&u);
    return SRV_OK;
}

/* The best start within GREENAI_WINDOW_MS of the run's first sample over
 * the zone's recorded (actual) periods; false when there is none. */
static enum srv_err best_window(struct store *st, const char *run_id,
                                const struct run_carbon *rc, double pue,
                                const struct carbon_report *rep,
                                struct greenai_alt *out, bool *found,
                                struct errbuf *eb)
{
    *found = false;
    struct run_phase *ph;
    struct greenai_sample *smp;
    size_t n, ns;
    enum srv_err e =
        store_greenai_run_phases(st, run_id, true, &ph, &n, &smp, &ns, eb);
    if (e)
        return e;
    run_phases_free(ph, n);
    struct grid_point *pts = NULL, *tl = NULL;
    size_t np = 0, m = 0;
    if (ns == 0)
        goto out;
    e = store_grid_points(st, rc->zone, NULL, false, GRID_ACTUAL,
                          rc->first_start - GREENAI_WINDOW_MS,
                          rc->last_end + GREENAI_WINDOW_MS, 100000, &pts, &np,
                          eb);
    if (e || np == 0)
        goto out;
    m = grid_timeline(pts, np, &tl);
    if (m == (size_t)-1) {
        m = 0;
        e = err_set(eb, SRV_E_NOMEM, "out of memory");
        goto out;
    }
    int64_t start;
    double g;
    if (greenai_best_window(tl, m, smp, ns, rc->first_start, GREENAI_WINDOW_MS,
                            &start, &g)) {
        *found = true;
        out->window = true;
        out->start_time = start;
        out->co2_g = g * pue;
        out->saving_g = rep->co2_g - out->co2_g;
    }
out:
    free(tl);
    free(pts);
    free(smp);
    return e;
}

/* The alternatives of run 'run_id' from its carbon inputs 'rc' and
 * figures 'rep'. */
static enum srv_err alternatives_of(struct store *st, const char *run_id,
                                    const struct run_carbon *rc,
                                    const struct carbon_report *rep,
                                    struct greenai_alt *out, size_t *n,
                                    struct errbuf *eb)
{
    *n = 0;
    const char *src;
    double pue = carbon_pue_for(rc->pue_tag, rc->cloud_provider,
                                store_default_pue(st), &src);
    if (rc->cloud_provider && *rc->cloud_provider) {
        struct greenai_region r[GREENAI_ALTERNATIVES];
        size_t k = greenai_cleanest_regions(rc->cloud_provider, r,
                                            GREENAI_ALTERNATIVES);
        for (size_t i = 0; i < k; i++) {
            struct greenai_alt *a = &out[(*n)++];
            memset(a, 0, sizeof(*a));
            a->provider = r[i].provider;
            a->region = r[i].region;
            a->intensity_g_per_kwh = r[i].g_per_kwh;
            a->co2_g = rep->energy_kwh * r[i].g_per_kwh * pue;
            a->saving_g = rep->co2_g - a->co2_g;
        }
    }
    if (rc->zone && *rc->zone && rc->has_energy) {
        bool found;
        struct greenai_alt a;
        memset(&a, 0, sizeof(a));
        enum srv_err e = best_window(st, run_id, rc, pue, rep, &a, &found, eb);
        if (e)
            return e;
        if (found)
            out[(*n)++] = a;
    }
    return SRV_OK;
}

enum srv_err greenai_alternatives(struct store *st, const char *run_id,
                                  const struct carbon_report *rep,
                                  struct greenai_alt *out, size_t *n,
                                  struct errbuf *eb)
{
    *n = 0;
    struct run_carbon rc;
    enum srv_err e = store_run_carbon(st, run_id, &rc, eb);
    if (e)
        return e;
    e = alternatives_of(st, run_id, &rc, rep, out, n, eb);
    run_carbon_cleanup(&rc);
    return e;
}

static void render_alternatives(struct strbuf *sb, const struct greenai_alt *a,
                                size_t n)
{
    render_key(sb, "alternatives", false);
    strbuf_append_char(sb, '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            strbuf_append_char(sb, ',');
        strbuf_append_char(sb, '{');
        if (a[i].window) {
            render_str_field(sb, "kind", "best_window", true);
            render_key(sb, "start_time", false);
            strbuf_append_i64(sb, a[i].start_time);
        } else {
            render_str_field(sb, "kind", "cloud_region", true);
            render_str_field(sb, "provider", a[i].provider, false);
            render_str_field(sb, "region", a[i].region, false);
            render_num_field(sb, "intensity_g_per_kwh",
                             a[i].intensity_g_per_kwh, false);
        }
        render_num_field(sb, "co2_g", a[i].co2_g, false);
        render_num_field(sb, "saving_g", a[i].saving_g, false);
        strbuf_append_char(sb, '}');
    }
    strbuf_append_char(sb, ']');
}

enum srv_err greenai_report_append(struct store *st, const char *run_id,
                                   const struct carbon_report *rep,
                                   struct strbuf *out, struct errbuf *eb)
{
    enum srv_err e;
    struct greenai_alt alts[GREENAI_MAX_ALTS];
    size_t n;
    if ((e = render_phases(st, run_id, rep, out, eb)) ||
        (e = render_upstream(st, run_id, out, eb)) ||
        (e = greenai_alternatives(st, run_id, rep, alts, &n, eb)))
        return e;
    render_alternatives(out, alts, n);
    return out->oom ? err_set(eb, SRV_E_NOMEM, "out of memory") : SRV_OK;
}

enum srv_err greenai_potential_saving(struct store *st, int64_t experiment_id,
                                      double *saving_g, struct errbuf *eb)
{
    *saving_g = 0;
    char **ids;
    size_t n;
    enum srv_err e = store_greenai_alt_run_ids(st, experiment_id, &ids, &n, eb);
    if (e)
        return e;
    for (size_t i = 0; i < n && !e; i++) {
        struct run_carbon rc;
        e = store_run_carbon(st, ids[i], &rc, eb);
        if (e == SRV_E_RESOURCE_DOES_NOT_EXIST) { /* purged meanwhile */
            e = SRV_OK;
            continue;
        }
        if (e)
            break;
        /* the figures of runs/carbon (carbon_report_run), unrendered */
        struct carbon_run_input in = {
            .location = {rc.country, rc.region, rc.cloud_provider,
                         rc.cloud_region},
            .pue_tag = rc.pue_tag,
            .default_pue = store_default_pue(st),
        };
        run_carbon_energy(&rc, &in.energy);
        struct carbon_run_result r;
        carbon_account(&in, &r);
        struct carbon_report rep = {.has_energy = rc.has_energy,
                                    .estimated = rc.estimated_samples > 0,
                                    .energy_kwh = r.energy_kwh,
                                    .co2_g = r.co2_g};
        struct greenai_alt alts[GREENAI_MAX_ALTS];
        size_t k = 0;
        if (rep.has_energy)
            e = alternatives_of(st, ids[i], &rc, &rep, alts, &k, eb);
        run_carbon_cleanup(&rc);
        double best = 0;
        for (size_t j = 0; j < k; j++)
            if (alts[j].saving_g > best)
                best = alts[j].saving_g;
        *saving_g += best;
    }
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    return e;
}

enum srv_err greenai_render_budget(struct store *st, int64_t experiment_id,
                                   double used_kg, struct strbuf *out,
                                   struct errbuf *eb)
{
    bool has;
    double budget;
    enum srv_err e = store_greenai_budget(st, experiment_id, &has, &budget, eb);
    if (e || !has)
        return e;
    render_num_field(out, "budget_co2_kg", budget, false);
    render_num_field(out, "used_co2_kg", used_kg, false);
    render_num_or_null(out, "budget_used_fraction", budget > 0,
                       budget > 0 ? used_kg / budget : 0);
    return SRV_OK;
}

enum srv_err greenai_carbon_run(struct store *st, const char *run_id,
                                struct strbuf *out, struct carbon_report *rep,
                                struct errbuf *eb)
{
    enum srv_err e = carbon_report_run(st, run_id, out, rep, eb);
    if (e)
        return e;
    /* the Green-AI fields go inside the object, before its '}' */
    if (out->len && out->buf[out->len - 1] == '}')
        out->len--;
    if ((e = greenai_report_append(st, run_id, rep, out, eb)))
        return e;
    strbuf_append_char(out, '}');
    return SRV_OK;
}
