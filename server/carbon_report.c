/* SPDX-License-Identifier: MIT
 *
 * carbon_report: a run's carbon summary as runs/carbon answers it (see
 * carbon_report.h): the store's energy totals accounted by carbon.c, with
 * where each number came from.
 */
#include "carbon_report.h"

#include "carbon.h"
#include "grid_math.h"
#include "render.h"

#include <string.h>

/* "a,b" (from group_concat) as a JSON array of strings. */
static void csv_array(struct strbuf *sb, const char *key, const char *csv,
                      bool first)
{
    render_key(sb, key, first);
    strbuf_append_char(sb, '[');
    for (const char *p = csv; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (p != csv)
            strbuf_append_char(sb, ',');
        strbuf_append_json_str(sb, p, len);
        p = comma ? comma + 1 : p + len;
    }
    strbuf_append_char(sb, ']');
}

static void location_object(struct strbuf *sb, const struct carbon_location *l,
                            const struct carbon_intensity *ci)
{
    render_key(sb, "location", false);
    strbuf_append_char(sb, '{');
    render_key(sb, "known", true);
    strbuf_append_str(sb, ci->location_known ? "true" : "false");
    render_str_field(sb, "country", l->country, false);
    render_str_field(sb, "region", l->region, false);
    render_str_field(sb, "cloud_provider", l->cloud_provider, false);
    render_str_field(sb, "cloud_region", l->cloud_region, false);
    render_num_field(sb, "table_intensity_g_per_kwh", ci->g_per_kwh, false);
    render_str_field(sb, "table_source", ci->source, false);
    strbuf_append_char(sb, '}');
}

/* "zone_intensity": how the samples without a measured intensity fell
 * into the zone's recorded periods. */
static void zone_object(struct strbuf *sb, const struct run_carbon *rc)
{
    const struct grid_cover *zc = &rc->zone_cover;
    double plain_kwh = rc->plain_j / CARBON_J_PER_KWH;
    double covered_kwh = zc->covered_j / CARBON_J_PER_KWH;
    char label[256];
    grid_cover_label(zc, rc->zone, label, sizeof(label));
    render_key(sb, "zone_intensity", false);
    strbuf_append_char(sb, '{');
    render_str_field(sb, "zone", rc->zone, true);
    render_str_field(sb, "source", label, false);
    render_num_field(sb, "covered_energy_kwh", covered_kwh, false);
    render_num_field(sb, "actual_energy_kwh", zc->actual_j / CARBON_J_PER_KWH,
                     false);
    render_num_field(sb, "forecast_energy_kwh",
                     zc->forecast_j / CARBON_J_PER_KWH, false);
    render_num_field(sb, "uncovered_energy_kwh",
                     plain_kwh > covered_kwh ? plain_kwh - covered_kwh : 0,
                     false);
    render_num_field(sb, "covered_fraction",
                     plain_kwh > 0 ? covered_kwh / plain_kwh : 0, false);
    render_key(sb, "intensity_g_per_kwh", false);
    if (zc->covered_j > 0)
        strbuf_append_json_double(sb, zc->covered_gj / zc->covered_j);
    else
        strbuf_append_str(sb, "null");
    render_key(sb, "sources", false);
    strbuf_append_char(sb, '[');
    bool first = true;
    for (int i = 0; i < GRID_COVER_SOURCES; i++) {
        if (zc->source_j[i][0] <= 0 && zc->source_j[i][1] <= 0)
            continue;
        if (!first)
            strbuf_append_char(sb, ',');
        first = false;
        strbuf_append_char(sb, '{');
        render_str_field(sb, "source", grid_source_name(i), true);
        render_str_field(sb, "basis", zc->basis[i], false);
        render_num_field(sb, "actual_energy_kwh",
                         zc->source_j[i][0] / CARBON_J_PER_KWH, false);
        render_num_field(sb, "forecast_energy_kwh",
                         zc->source_j[i][1] / CARBON_J_PER_KWH, false);
        strbuf_append_char(sb, '}');
    }
    strbuf_append_str(sb, "]}");
}

enum srv_err carbon_report_run(struct store *st, const char *run_id,
                               struct strbuf *out, struct carbon_report *rep,
                               struct errbuf *eb)
{
    struct run_carbon rc;
    enum srv_err e = store_run_carbon(st, run_id, &rc, eb);
    if (e)
        return e;
    struct carbon_run_input in = {
        .location = {rc.country, rc.region, rc.cloud_provider, rc.cloud_region},
        .pue_tag = rc.pue_tag,
        .default_pue = store_default_pue(st),
    };
    run_carbon_energy(&rc, &in.energy);
    struct carbon_run_result r;
    carbon_account(&in, &r);
    if (rep) {
        rep->has_energy = rc.has_energy;
        rep->energy_kwh = r.energy_kwh;
        rep->co2_g = r.co2_g;
        rep->estimated = rc.estimated_samples > 0;
    }
    const struct grid_cover *zc = &rc.zone_cover;
    struct strbuf *sb = out;
    strbuf_append_char(sb, '{');
    render_key(sb, "run_id", true);
    strbuf_append_json_str(sb, run_id, strlen(run_id));
    render_num_field(sb, "energy_kwh", r.energy_kwh, false);
    render_num_field(sb, "cpu_kwh", rc.cpu_j / CARBON_J_PER_KWH, false);
    render_num_field(sb, "gpu_kwh", rc.gpu_j / CARBON_J_PER_KWH, false);
    render_num_field(sb, "ram_kwh", rc.ram_j / CARBON_J_PER_KWH, false);
    render_num_field(sb, "other_kwh", rc.other_j / CARBON_J_PER_KWH, false);
    render_num_field(sb, "facility_energy_kwh", r.facility_energy_kwh, false);
    render_num_field(
        sb, "duration_s",
        rc.has_energy ? (double)(rc.last_end - rc.first_start) / 1000.0 : 0.0,
        false);
    render_num_field(sb, "pue", r.pue, false);
    render_str_field(sb, "pue_source", r.pue_source, false);
    render_num_field(sb, "intensity_g_per_kwh", r.intensity_g_per_kwh, false);
    struct strbuf src;
    strbuf_init(&src);
    if (rc.measured_j > 0)
        strbuf_printf(&src, "measured with the samples (%s)",
                      rc.intensity_sources ? rc.intensity_sources : "");
    if (zc->covered_j > 0) {
        char label[256];
        grid_cover_label(zc, rc.zone, label, sizeof(label));
        strbuf_printf(&src, "%s%s", src.len ? "; " : "", label);
    }
    if (in.energy.plain_j > 0 || (rc.measured_j <= 0 && zc->covered_j <= 0))
        strbuf_printf(&src, "%s%s", src.len ? "; " : "", r.location.source);
    render_str_field(sb, "intensity_source", src.buf ? src.buf : "", false);
    strbuf_cleanup(&src);
    render_num_field(sb, "co2_g", r.co2_g, false);
    render_key(sb, "methods", false);
    strbuf_append_char(sb, '{');
    csv_array(sb, "cpu", rc.cpu_methods, true);
    csv_array(sb, "gpu", rc.gpu_methods, false);
    csv_array(sb, "ram", rc.ram_methods, false);
    strbuf_append_char(sb, '}');
    render_str_field(sb, "scope", rc.scopes ? rc.scopes : "", false);
    location_object(sb, &in.location, &r.location);
    render_str_field(sb, "zone", rc.zone, false);
    if (rc.zone)
        zone_object(sb, &rc);
    render_key(sb, "samples", false);
    strbuf_append_i64(sb, rc.samples);
    render_key(sb, "estimated", false);
    strbuf_append_str(sb, rc.estimated_samples > 0 ? "true" : "false");
    strbuf_append_char(sb, '}');
    run_carbon_cleanup(&rc);
    return sb->oom ? err_set(eb, SRV_E_NOMEM, "out of memory") : SRV_OK;
}
