/* SPDX-License-Identifier: MIT
 *
 * handlers: one function per endpoint, h_<resource>_<action>, grouped one
 * file per resource. The router maps paths to them; each validates its
 * request completely before touching the store (see api.h).
 */
#ifndef SERVER_HANDLERS_H
#define SERVER_HANDLERS_H

#include "api.h"

#define HANDLER(name)                                                          \
    enum handler_result name(struct request *, struct response *)

HANDLER(h_experiments_create);
HANDLER(h_experiments_get);
HANDLER(h_experiments_get_by_name);
HANDLER(h_experiments_search);
HANDLER(h_experiments_list);
HANDLER(h_experiments_update);
HANDLER(h_experiments_delete);
HANDLER(h_experiments_restore);
HANDLER(h_experiments_set_tag);
HANDLER(h_experiments_delete_tag);

HANDLER(h_runs_create);
HANDLER(h_runs_get);
HANDLER(h_runs_update);
HANDLER(h_runs_delete);
HANDLER(h_runs_restore);
HANDLER(h_runs_search);
HANDLER(h_runs_log_metric);
HANDLER(h_runs_log_parameter);
HANDLER(h_runs_set_tag);
HANDLER(h_runs_delete_tag);
HANDLER(h_runs_log_batch);
HANDLER(h_runs_log_inputs);
HANDLER(h_runs_log_model);

HANDLER(h_metrics_get_history);
HANDLER(h_metrics_get_history_bulk_interval);
HANDLER(h_metrics_get_history_bulk);

HANDLER(h_artifacts_list);

HANDLER(h_runs_heartbeat);
HANDLER(h_runs_log_energy);
HANDLER(h_runs_carbon);
HANDLER(h_intensity);
HANDLER(h_runs_energy);
HANDLER(h_runs_export);
HANDLER(h_import_codecarbon);
HANDLER(h_cc_experiments);
HANDLER(h_cc_runs);
HANDLER(h_cc_emissions);
HANDLER(h_leaderboard);
HANDLER(h_experiments_summary);
HANDLER(h_schedule);
HANDLER(h_grid_intensity);
HANDLER(h_grid_refresh);

HANDLER(h_health);
HANDLER(h_version);

/*---- helpers shared by the handler files (handlers/common.c) ----*/

/* Ends a handler with an error response. */
enum handler_result h_fail(struct response *res, enum srv_err e,
                           const struct errbuf *eb);

/* Reads a required experiment id; an id that cannot exist (not digits)
 * is RESOURCE_DOES_NOT_EXIST, as MLflow's store answers. */
enum srv_err h_experiment_id(const cJSON *args, const char *field,
                             bool required, int64_t *out, struct errbuf *eb);

/* Parses a [{"key":..,"value":..}] list into a new kv_ref array (caller
 * frees the array; strings are borrowed from 'list'). Keys are validated
 * with 'what'; values longer than 'max_value' code points are truncated
 * when 'truncate', else rejected. */
enum srv_err h_kv_list(const cJSON *list, const char *what, size_t max_value,
                       bool truncate, struct kv_ref **out, size_t *n,
                       struct errbuf *eb);

/* A value limited to 'max' code points: truncated when 'truncate'. */
enum srv_err h_value(const char *value, const char *what, size_t max,
                     bool truncate, struct strref *out, struct errbuf *eb);

/* max_results for searches: absent = default; 1..threshold. */
enum srv_err h_max_results(const cJSON *args, int64_t dflt, int64_t max,
                           bool zero_is_default, int64_t *out,
                           struct errbuf *eb);

#endif
