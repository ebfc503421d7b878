/* SPDX-License-Identifier: MIT
 *
 * carbon_tables: the intensity and PUE tables of data/, compiled in by
 * tools/embed_tables.sh (see data/README.md for origins and licences).
 * Read-only, static storage.
 */
#ifndef SERVER_CARBON_TABLES_H
#define SERVER_CARBON_TABLES_H

#include <stddef.h>

struct carbon_country {
    const char *iso3;
    const char *name;
    double g_per_kwh;
    int year;
};

struct carbon_subnational {
    const char *country_iso3;
    const char *code; /* "CA", "QC", "SE3" */
    const char *name;
    double g_per_kwh;
    int year;
};

struct carbon_cloud_region {
    const char *provider; /* "aws", "gcp", "azure", ... */
    const char *region;
    const char *country_iso3;
    double g_per_kwh;
};

struct carbon_pue {
    const char *provider; /* "unknown", "gcp", ... */
    double pue;
};

extern const struct carbon_country carbon_countries[];
extern const size_t carbon_countries_count;
extern const struct carbon_subnational carbon_subnationals[];
extern const size_t carbon_subnationals_count;
extern const struct carbon_cloud_region carbon_cloud_regions[];
extern const size_t carbon_cloud_regions_count;
extern const struct carbon_pue carbon_pues[];
extern const size_t carbon_pues_count;
extern const double carbon_world_average_g_per_kwh;

#endif
