/* SPDX-License-Identifier: MIT
 *
 * carbon: intensity and PUE resolution over the compiled-in tables, and
 * the joules-to-CO2 arithmetic (see carbon.h).
 */
#include "carbon.h"

#include "carbon_tables.h"
#include "numtext.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool given(const char *s)
{
    return s && *s;
}

void carbon_intensity_lookup(const struct carbon_location *loc,
                             struct carbon_intensity *out)
{
    memset(out, 0, sizeof(*out));
    out->location_known = true;
    if (given(loc->cloud_provider) && given(loc->cloud_region)) {
        for (size_t i = 0; i < carbon_cloud_regions_count; i++) {
            const struct carbon_cloud_region *c = &carbon_cloud_regions[i];
            if (strcasecmp(c->provider, loc->cloud_provider) == 0 &&
                strcasecmp(c->region, loc->cloud_region) == 0) {
                out->g_per_kwh = c->g_per_kwh;
                out->basis = CARBON_BASIS_CLOUD_REGION;
                snprintf(out->source, sizeof(out->source),
                         "cloud region %s/%s (static table)", c->provider,
                         c->region);
                return;
            }
        }
    }
    if (given(loc->region)) {
        /* With a country the code must belong to it; without one it must
         * be unique across the table ("SE3" is, "CA" only as a state). */
        const struct carbon_subnational *hit = NULL;
        int hits = 0;
        for (size_t i = 0; i < carbon_subnationals_count; i++) {
            const struct carbon_subnational *s = &carbon_subnationals[i];
            if (strcasecmp(s->code, loc->region) != 0)
                continue;
            if (given(loc->country) &&
                strcasecmp(s->country_iso3, loc->country) != 0)
                continue;
            hit = s;
            hits++;
        }
        if (hits == 1) {
            out->g_per_kwh = hit->g_per_kwh;
            out->basis = CARBON_BASIS_SUBNATIONAL;
            snprintf(out->source, sizeof(out->source), "region %s %s (%s, %d)",
                     hit->country_iso3, hit->code, hit->name, hit->year);
            return;
        }
    }
    if (given(loc->country)) {
        for (size_t i = 0; i < carbon_countries_count; i++) {
            const struct carbon_country *c = &carbon_countries[i];
            if (strcasecmp(c->iso3, loc->country) == 0) {
                out->g_per_kwh = c->g_per_kwh;
                out->basis = CARBON_BASIS_COUNTRY;
                snprintf(out->source, sizeof(out->source),
                         "country %s (%s, %d)", c->iso3, c->name, c->year);
                return;
            }
        }
    }
    out->g_per_kwh = carbon_world_average_g_per_kwh;
    out->basis = CARBON_BASIS_WORLD;
    out->location_known = false;
    snprintf(out->source, sizeof(out->source),
             "world average (location unknown)");
}

const char *carbon_country_name(const char *iso3)
{
    for (size_t i = 0; given(iso3) && i < carbon_countries_count; i++) {
        if (strcasecmp(carbon_countries[i].iso3, iso3) == 0)
            return carbon_countries[i].name;
    }
    return NULL;
}

double carbon_pue_for(const char *pue_tag, const char *cloud_provider,
                      double default_pue, const char **source)
{
    if (given(pue_tag)) {
        double v;
        if (numtext_double(pue_tag, 0, &v) && v >= 1.0 && v <= 5.0) {
            *source = "tag greentrack.pue";
            return v;
        }
    }
    if (given(cloud_provider)) {
        /* The region table says "ovh" where the PUE table says "ovhcloud". */
        const char *p = strcasecmp(cloud_provider, "ovh") == 0 ? "ovhcloud"
                                                               : cloud_provider;
        for (size_t i = 0; i < carbon_pues_count; i++) {
            if (strcasecmp(carbon_pues[i].provider, p) == 0 &&
                strcmp(carbon_pues[i].provider, "unknown") != 0) {
                *source = "cloud provider default (Green Algorithms)";
                return carbon_pues[i].pue;
            }
        }
    }
    *source = "server default (--default-pue)";
    return default_pue;
}

void carbon_account(const struct carbon_run_input *in,
                    struct carbon_run_result *out)
{
    carbon_intensity_lookup(&in->location, &out->location);
    out->pue = carbon_pue_for(in->pue_tag, in->location.cloud_provider,
                              in->default_pue, &out->pue_source);
    out->energy_kwh =
        (in->energy.plain_j + in->energy.measured_j) / CARBON_J_PER_KWH;
    out->facility_energy_kwh = out->energy_kwh * out->pue;
    out->co2_g = carbon_co2_g(&in->energy, out->location.g_per_kwh, out->pue,
                              &out->intensity_g_per_kwh);
}

double carbon_co2_g(const struct carbon_energy *e, double location_g_per_kwh,
                    double pue, double *weighted)
{
    double plain_kwh = e->plain_j / CARBON_J_PER_KWH;
    double measured_g = e->measured_g_per_kwh_j / CARBON_J_PER_KWH;
    double total_kwh = (e->plain_j + e->measured_j) / CARBON_J_PER_KWH;
    double it_g = plain_kwh * location_g_per_kwh + measured_g;
    if (weighted)
        *weighted = total_kwh > 0 ? it_g / total_kwh : location_g_per_kwh;
    return it_g * pue;
}

bool carbon_sample_power_ok(double joules, int64_t duration_ms)
{
    if (!(joules >= 0) || duration_ms <= 0)
        return joules == 0;
    return joules / ((double)duration_ms / 1000.0) <= CARBON_MAX_SAMPLE_W;
}
