/* SPDX-License-Identifier: MIT
 *
 * test_carbon_model: the carbon arithmetic and the compiled-in tables: lookup
 * order (cloud region, sub-national, country, world), PUE resolution, and
 * joules to kWh to grams on hand-computed inputs.
 */
#include "carbon.h"
#include "carbon_tables.h"
#include "test.h"

#include <string.h>

static struct carbon_intensity lookup(const char *country, const char *region,
                                      const char *provider, const char *cloud)
{
    struct carbon_location loc = {country, region, provider, cloud};
    struct carbon_intensity ci;
    carbon_intensity_lookup(&loc, &ci);
    return ci;
}

int main(void)
{
    CHECK_EQ_INT(carbon_countries_count, 213);
    CHECK_EQ_INT(carbon_subnationals_count, 74);
    CHECK_EQ_INT(carbon_cloud_regions_count, 100);
    CHECK_EQ_INT(carbon_pues_count, 6);
    CHECK_NEAR(carbon_world_average_g_per_kwh, 475, 1e-9);

    struct carbon_intensity ci = lookup("FRA", NULL, NULL, NULL);
    CHECK_NEAR(ci.g_per_kwh, 56.039, 1e-9);
    CHECK_EQ_INT(ci.basis, CARBON_BASIS_COUNTRY);
    ci = lookup("fra", NULL, NULL, NULL); /* case-insensitive */
    CHECK_EQ_INT(ci.basis, CARBON_BASIS_COUNTRY);
    ci = lookup("USA", "WA", NULL, NULL);
    CHECK_EQ_INT(ci.basis, CARBON_BASIS_SUBNATIONAL);
    CHECK(ci.g_per_kwh < 100); /* Washington: hydro */
    ci = lookup("CAN", "QC", NULL, NULL);
    CHECK_EQ_INT(ci.basis, CARBON_BASIS_SUBNATIONAL);
    ci = lookup(NULL, "SE3", NULL, NULL); /* unique code, no country */
    CHECK_EQ_INT(ci.basis, CARBON_BASIS_SUBNATIONAL);
    ci = lookup("FRA", "QC", NULL, NULL); /* not a region of France */
    CHECK_EQ_INT(ci.basis, CARBON_BASIS_COUNTRY);
    ci = lookup("FRA", NULL, "gcp", "europe-west9"); /* cloud wins */
    CHECK_EQ_INT(ci.basis, CARBON_BASIS_CLOUD_REGION);
    ci = lookup(NULL, NULL, "aws", "no-such-region");
    CHECK_EQ_INT(ci.basis, CARBON_BASIS_WORLD);
    CHECK(!ci.location_known);
    CHECK(strstr(ci.source, "world") != NULL);

    const char *src;
    CHECK_NEAR(carbon_pue_for("1.4", "gcp", 1.0, &src), 1.4, 1e-12);
    CHECK_EQ_STR(src, "tag greentrack.pue");
    CHECK_NEAR(carbon_pue_for("0.5", "gcp", 1.0, &src), 1.12, 1e-12);
    CHECK_NEAR(carbon_pue_for("abc", NULL, 1.3, &src), 1.3, 1e-12);
    CHECK_NEAR(carbon_pue_for(NULL, "ovh", 1.0, &src), 1.09, 1e-12);
    CHECK_NEAR(carbon_pue_for(NULL, "unknown", 1.0, &src), 1.0, 1e-12);

    /* 3.6 MJ at 56.039 g/kWh, PUE 1: 56.039 g. */
    struct carbon_energy e = {3.6e6, 0, 0};
    double w;
    CHECK_NEAR(carbon_co2_g(&e, 56.039, 1.0, &w), 56.039, 1e-9);
    CHECK_NEAR(w, 56.039, 1e-9);
    /* Half measured at 100 g/kWh, half at the location's 600; PUE 1.5. */
    struct carbon_energy mixed = {3.6e6, 3.6e6, 3.6e6 * 100};
    CHECK_NEAR(carbon_co2_g(&mixed, 600, 1.5, &w), (600 + 100) * 1.5, 1e-9);
    CHECK_NEAR(w, 350, 1e-9);
    struct carbon_energy none = {0, 0, 0};
    CHECK_NEAR(carbon_co2_g(&none, 600, 1.5, &w), 0, 1e-12);
    CHECK_NEAR(w, 600, 1e-12);

    struct carbon_run_input in = {
        {7.2e6, 0, 0}, {"POL", NULL, NULL, NULL}, "1.2", 1.0};
    struct carbon_run_result r;
    carbon_account(&in, &r);
    CHECK_NEAR(r.energy_kwh, 2.0, 1e-12);
    CHECK_NEAR(r.facility_energy_kwh, 2.4, 1e-12);
    CHECK_NEAR(r.co2_g, 2.0 * 661.926 * 1.2, 1e-9);
    TEST_MAIN_END("test_carbon_model");
}
