/* SPDX-License-Identifier: MIT
 *
 * carbon_report: a run's carbon summary, the JSON object of
 * GET /api/2.0/greentrack/runs/carbon (docs/api.md): IT and facility kWh
 * by component, PUE, grid intensity and CO2, each with where it came from
 * (measured with the samples, the zone's recorded periods, the static
 * tables), the energy methods, the location and the zone's cover. One
 * writer for every answer that shows it: runs/carbon and
 * greentrack/model-versions/carbon. Reads the store; any thread.
 */
#ifndef SERVER_CARBON_REPORT_H
#define SERVER_CARBON_REPORT_H

#include "err.h"
#include "store.h"
#include "strbuf.h"

#include <stdbool.h>

/* The figures of a report that its callers compute with. */
struct carbon_report {
    bool has_energy; /* the run has energy samples */
    bool estimated;  /* some of them estimated CPU or GPU energy */
    double energy_kwh;
    double co2_g;
};

/* Appends run 'run_id''s summary object to 'out' and, when 'rep' is not
 * NULL, fills it. RESOURCE_DOES_NOT_EXIST for an unknown run. */
enum srv_err carbon_report_run(struct store *st, const char *run_id,
                               struct strbuf *out, struct carbon_report *rep,
                               struct errbuf *eb);

#endif
