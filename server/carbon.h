/* SPDX-License-Identifier: MIT
 *
 * carbon: the pure arithmetic of carbon accounting (DESIGN.md section 6):
 * which grid intensity and PUE apply to a run's location, and how joules
 * become kWh and grams of CO2. No I/O, no allocation; thread-safe.
 */
#ifndef SERVER_CARBON_H
#define SERVER_CARBON_H

#include <stdbool.h>
#include <stdint.h>

#define CARBON_J_PER_KWH 3.6e6

/* The most power one energy sample may imply (its joules over its
 * duration): 10 MW, a large data-centre hall. A sample beyond it is a
 * mistake or an attack, never a measurement, and would let a run's totals
 * overflow to infinity. */
#define CARBON_MAX_SAMPLE_W 1e7

/* Whether 'joules' (finite, >= 0) over 'duration_ms' (> 0) stays within
 * CARBON_MAX_SAMPLE_W. */
bool carbon_sample_power_ok(double joules, int64_t duration_ms);

/* A run's location, from its greentrack.* tags (any may be NULL). */
struct carbon_location {
    const char *country;        /* ISO 3166-1 alpha-3, e.g. "FRA" */
    const char *region;         /* the data's codes: "CA", "QC", "SE3" */
    const char *cloud_provider; /* "aws", "gcp", "azure", ... */
    const char *cloud_region;   /* "us-east-1", "europe-west9", ... */
};

enum carbon_basis {
    CARBON_BASIS_CLOUD_REGION,
    CARBON_BASIS_SUBNATIONAL,
    CARBON_BASIS_COUNTRY,
    CARBON_BASIS_WORLD
};

struct carbon_intensity {
    double g_per_kwh;
    enum carbon_basis basis;
    bool location_known; /* false: the world average applies */
    char source[160];    /* e.g. "country FRA (OWID 2023)" */
};

/* The static-table intensity for a location, most specific first: cloud
 * region, sub-national region, country, then the world average. */
void carbon_intensity_lookup(const struct carbon_location *loc,
                             struct carbon_intensity *out);

/* The country's name in the intensity table ("France" for "FRA"), or
 * NULL. Static storage. */
const char *carbon_country_name(const char *iso3);

/* The PUE for a run: its greentrack.pue tag when it is a number in
 * [1, 5], else the cloud provider's default from the table, else
 * 'default_pue'. '*source' (static) names which. */
double carbon_pue_for(const char *pue_tag, const char *cloud_provider,
                      double default_pue, const char **source);

/* A run's energy, split by whether a sample carried its own measured
 * intensity. */
struct carbon_energy {
    double plain_j;              /* joules of samples without an intensity */
    double measured_j;           /* joules of samples with one */
    double measured_g_per_kwh_j; /* sum of joules x their g/kWh */
};

/* Grams of CO2: PUE x (plain kWh x the location's intensity + the
 * measured samples' kWh x their own intensity). '*weighted' (may be NULL)
 * receives the energy-weighted intensity (the location's when there is no
 * energy). */
double carbon_co2_g(const struct carbon_energy *e, double location_g_per_kwh,
                    double pue, double *weighted);

/* Everything needed to account one run. */
struct carbon_run_input {
    struct carbon_energy energy;
    struct carbon_location location;
    const char *pue_tag; /* greentrack.pue, may be NULL */
    double default_pue;  /* the server's --default-pue */
};

struct carbon_run_result {
    double energy_kwh;          /* IT energy, no PUE */
    double facility_energy_kwh; /* with PUE */
    double co2_g;
    double pue;
    const char *pue_source;           /* static */
    double intensity_g_per_kwh;       /* energy-weighted over the samples */
    struct carbon_intensity location; /* the static-table intensity */
};

void carbon_account(const struct carbon_run_input *in,
                    struct carbon_run_result *out);

#endif
