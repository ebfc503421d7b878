/* SPDX-License-Identifier: MIT
 *
 * export: an experiment's runs as a streamed body (api.h's
 * response_stream) in CSV, JSON or CodeCarbon's emissions.csv, read from
 * the store one page at a time. Not a handler: runs/export
 * (handlers/greentrack/runs.c) checks the request, then starts one.
 */
#ifndef SERVER_EXPORT_H
#define SERVER_EXPORT_H

#include "store.h"
#include "strbuf.h"

#include <stdbool.h>
#include <stdint.h>

enum export_format { EXPORT_CSV, EXPORT_JSON, EXPORT_CODECARBON };

/* The format named 'name' ("csv", "json", "codecarbon"; NULL: csv).
 * False when 'name' names none. */
bool export_format_parse(const char *name, enum export_format *out);

/* The Content-Type and Content-Disposition of an export (static). */
const char *export_content_type(enum export_format f);
const char *export_content_disposition(enum export_format f);

struct export_state;

/* A new export of the active runs of experiment 'experiment_id' (named
 * 'experiment_name') that match 'filter' (MLflow grammar, may be NULL; a
 * bad filter must be rejected before, as the export can only fail by
 * cutting the body short). The strings are copied; 'st' is borrowed and
 * must outlive the export. NULL when out of memory; free with
 * export_free. */
struct export_state *export_new(struct store *st, int64_t experiment_id,
                                const char *experiment_name, const char *filter,
                                enum export_format f);

/* With 'on', a JSON export also carries the registry entries of its runs:
 * each run's "model_versions" (the versions registered from it), and
 * after the runs "registered_models", each model that has one of them,
 * once. */
void export_include_registry(struct export_state *x, bool on);

/* response_stream.next for an export_state: appends the header first,
 * then one page of rows per call (see api.h). */
bool export_next(void *state, struct strbuf *out, bool *failed);

/* response_stream.free_state: frees an export_state (NULL: no-op). */
void export_free(void *state);

#endif
