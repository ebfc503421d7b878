/* SPDX-License-Identifier: MIT
 *
 * handlers: one function per endpoint, h_<resource>_<action>. A handler
 * lives in the file its URL names (see router.c): the prefix names the
 * folder, the first path segment after it the file ('-' written '_').
 * The router maps paths to them; each validates its request completely
 * before touching the store (see api.h). Declarations below are grouped
 * by file.
 */
#ifndef SERVER_HANDLERS_H
#define SERVER_HANDLERS_H

#include "api.h"

struct artifact_entry;

#define HANDLER(name)                                                          \
    enum handler_result name(struct request *, struct response *)

/*---- /api/2.0/mlflow/ (and /ajax-api/2.0/mlflow/): handlers/mlflow/ ----*/

/* mlflow/experiments.c */
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
HANDLER(h_experiments_search_datasets); /* the UI's, /ajax-api/ only */

/* mlflow/runs.c */
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

/* mlflow/metrics.c */
HANDLER(h_metrics_get_history);
HANDLER(h_metrics_get_history_bulk_interval);
HANDLER(h_metrics_get_history_bulk);

/* mlflow/artifacts.c */
HANDLER(h_artifacts_list);

/* mlflow/upload_artifact.c: POST /ajax-api/2.0/mlflow/upload-artifact
 * (the UI's upload of one run file; streamed) */
HANDLER(h_upload_artifact);

/* mlflow/registered_models.c: the Model Registry (MLflow 2.9.2,
 * specs/mlflow-registry.md) */
HANDLER(h_registered_models_create);
HANDLER(h_registered_models_get);
HANDLER(h_registered_models_rename);
HANDLER(h_registered_models_update);
HANDLER(h_registered_models_delete);
HANDLER(h_registered_models_search);
HANDLER(h_registered_models_get_latest_versions);
HANDLER(h_registered_models_set_tag);
HANDLER(h_registered_models_delete_tag);
HANDLER(h_registered_models_alias_set);    /* POST alias */
HANDLER(h_registered_models_alias_delete); /* DELETE alias */
HANDLER(h_registered_models_alias_get);    /* GET alias */

/* mlflow/model_versions.c */
HANDLER(h_model_versions_create);
HANDLER(h_model_versions_get);
HANDLER(h_model_versions_update);
HANDLER(h_model_versions_delete);
HANDLER(h_model_versions_search);
HANDLER(h_model_versions_transition_stage);
HANDLER(h_model_versions_get_download_uri);
HANDLER(h_model_versions_set_tag);
HANDLER(h_model_versions_delete_tag);

/*---- /api/2.0/greentrack/: handlers/greentrack/ ----*/

/* greentrack/runs.c */
HANDLER(h_runs_heartbeat);
HANDLER(h_runs_log_energy);
HANDLER(h_runs_carbon);
HANDLER(h_runs_energy);
HANDLER(h_runs_export);
HANDLER(h_runs_log_phase);

/* greentrack/hardware.c */
HANDLER(h_hardware);

/* greentrack/experiments.c */
HANDLER(h_experiments_summary);

/* greentrack/leaderboard.c */
HANDLER(h_leaderboard);

struct board_key;

/* How many ranked boards the leaderboard keeps cached. */
#define H_LEADERBOARD_CACHE_SIZE 8

/* Puts the board of 'k' (a key the leaderboard recorded, store_boards.h)
 * at the store's current generation into the leaderboard cache, unless it
 * is there already; a later request for the key then finds it (or patches
 * it, after writes). 'pause' (may be NULL) runs with 'arg' after the
 * generation is read and before any row is (a test's gate). SRV_OK;
 * RESOURCE_DOES_NOT_EXIST for a gone experiment; INVALID_PARAMETER_VALUE
 * for options it does not know; store errors. 'k' is only read. */
enum srv_err h_leaderboard_warm(struct store *st, const struct board_key *k,
                                void (*pause)(void *arg), void *arg,
                                struct errbuf *eb);

/* greentrack/intensity.c */
HANDLER(h_intensity);

/* greentrack/import.c */
HANDLER(h_import_codecarbon);

/* greentrack/schedule.c */
HANDLER(h_schedule);

/* greentrack/grid.c */
HANDLER(h_grid_intensity);
HANDLER(h_grid_refresh);

/* greentrack/model_versions.c */
HANDLER(h_model_versions_carbon);

/*---- /api/2.0/mlflow-artifacts/ (and /ajax-api/2.0/mlflow-artifacts/):
 * handlers/mlflow_artifacts/ ----*/

/* mlflow_artifacts/artifacts.c: the artifact proxy (MLflow 2.9.2,
 * specs/mlflow-artifacts.md) over --artifact-root */
HANDLER(h_mlflow_artifacts_list);     /* GET artifacts?path= */
HANDLER(h_mlflow_artifacts_download); /* GET artifacts/<path> */
HANDLER(h_mlflow_artifacts_upload);   /* PUT artifacts/<path> (streamed) */
HANDLER(h_mlflow_artifacts_delete);   /* DELETE artifacts/<path> */

/* mlflow_artifacts/mpu.c: multipart uploads, answered 501 as for a local
 * destination, so clients fall back to one PUT */
HANDLER(h_mlflow_artifacts_mpu);

/*---- /codecarbon/: handlers/codecarbon/ ----*/

/* The part of CodeCarbon's dashboard API that its tracker calls, so a
 * tracker configured with api_endpoint=http://HOST:5000/codecarbon logs
 * into greentrack. The x-api-token header is not checked: greentrack has
 * no authentication yet. */

/* codecarbon/experiments.c */
HANDLER(h_cc_experiments);

/* codecarbon/runs.c */
HANDLER(h_cc_runs);

/* codecarbon/emissions.c */
HANDLER(h_cc_emissions);

/*---- root paths: handlers/ ----*/

/* get_artifact.c: GET /get-artifact?path=&run_uuid= (the UI's download
 * of one run file) */
HANDLER(h_get_artifact);

/* health.c */
HANDLER(h_health);

/* model_versions.c: GET /model-versions/get-artifact?path=&name=&version=
 * (also //model-versions/..., as MLflow's UI sends it) */
HANDLER(h_model_versions_get_artifact);

/* version.c */
HANDLER(h_version);

/*---- helpers shared by the handler files (handlers/common.c) ----*/

/* Ends a handler with an error response. */
enum handler_result h_fail(struct response *res, enum srv_err e,
                           const struct errbuf *eb);

/* Reads a required experiment id; an id that cannot exist (not digits)
 * is RESOURCE_DOES_NOT_EXIST, as MLflow's store answers. */
enum srv_err h_experiment_id(const cJSON *args, const char *field,
                             bool required, int64_t *out, struct errbuf *eb);

/* Parses a [{"key":..,"value":..}] list (request field 'field') into a
 * new kv_ref array (caller frees the array; strings are borrowed from
 * 'list'). Keys are checked as MLflow names them ('entity' "Tag" or
 * "Param": "Tag key", "Tag value"); values longer than 'max_value' code
 * points are truncated when 'truncate', else rejected. */
enum srv_err h_kv_list(const cJSON *list, const char *field, const char *entity,
                       size_t max_value, bool truncate, struct kv_ref **out,
                       size_t *n, struct errbuf *eb);

/* The longest value of a free-text field that MLflow's spec leaves
 * unbounded (runs/create's user_id and run_name, an experiment's
 * artifact_location): the longest tag value. */
#define H_MAX_OPEN_FIELD_CHARS 8000

/* INVALID_PARAMETER_VALUE when 'value' (may be NULL) is longer than
 * H_MAX_OPEN_FIELD_CHARS code points; 'field' names it. */
enum srv_err h_open_field(const char *value, const char *field,
                          struct errbuf *eb);

/* A value limited to 'max' code points: truncated when 'truncate', else
 * MLflow's length message naming it 'what' ("Tag value"). */
enum srv_err h_value(const char *value, const char *what, size_t max,
                     bool truncate, struct strref *out, struct errbuf *eb);

/* max_results for searches: absent = default; 1..threshold. */
enum srv_err h_max_results(const cJSON *args, int64_t dflt, int64_t max,
                           bool zero_is_default, int64_t *out,
                           struct errbuf *eb);

/* A board's direction argument (may be NULL: "max"): '*maximize' for
 * "max", not for "min", else INVALID_PARAMETER_VALUE (leaderboard.c; the
 * leaderboard and hardware handlers). */
enum srv_err h_direction(const char *direction, bool *maximize,
                         struct errbuf *eb);

/* Ends a handler with 201 and the JSON in 'body' (taken over, as
 * api_ok). */
enum handler_result h_created(struct response *res, struct strbuf *body);

/* SRV_OK when the server has grid-intensity providers, else
 * SRV_E_UNAVAILABLE. */
enum srv_err h_need_grid(const struct request *req, struct errbuf *eb);

/* A client's artifact path (MLflow's validate_path_is_safe, see
 * artifact_path_check; a %00 in the request target counts as a NUL in
 * it): INVALID_PARAMETER_VALUE "Invalid path". */
enum srv_err h_check_artifact_path(const struct request *req, const char *path,
                                   struct errbuf *eb);

/* Opens the folder of artifact URI 'uri' (a run's artifact_uri, a model
 * version's source) as a base descriptor for artifact_store, with the
 * part of it below the base in 'rel' (may be ""): mlflow-artifacts: URIs
 * and local paths under --artifact-root from the root; a local folder
 * elsewhere only with --allow-external-artifact-locations (else
 * PERMISSION_DENIED); other schemes NOT_IMPLEMENTED. Returns -1 with '*e'
 * and 'eb' set, or -1 with '*e' SRV_OK when the folder does not exist. */
int h_artifact_base(const struct request *req, const char *uri, char *rel,
                    size_t rellen, enum srv_err *e, struct errbuf *eb);

/* Ends a handler by sending open file 'fd' ('size' bytes, named by
 * 'path') as h_send_artifact does: Range requests answered 206/416 and
 * MLflow's download headers. Takes 'fd' over. */
enum handler_result h_send_file(struct request *req, struct response *res,
                                int fd, uint64_t size, const char *path);

/* Ends a handler by closing JSON object 'sb' with the artifact entries
 * 'a' (taken over) as a list of file infos after 'open' ("files":[ and
 * what goes before it), each path under 'path' (its first 'plen' bytes;
 * 0: the bare names), and sending it. */
enum handler_result h_send_file_list(struct response *res, struct strbuf *sb,
                                     const char *open, const char *path,
                                     size_t plen, struct artifact_entry *a,
                                     size_t n);

/* Ends a handler by sending file 'path' (checked with
 * h_check_artifact_path) from under artifact URI 'uri': MLflow's download
 * headers (its content type, Content-Disposition: attachment, nosniff),
 * Range requests answered 206/416, RESOURCE_DOES_NOT_EXIST when missing,
 * INVALID_PARAMETER_VALUE for a folder or a link on the way. */
enum handler_result h_send_artifact(struct request *req, struct response *res,
                                    const char *uri, const char *path);

/* Appends ,"key":"<ms as ISO 8601 UTC>". */
void h_iso_field(struct strbuf *sb, const char *key, int64_t ms);

/*---- authentication (--auth; specs/mlflow-auth.md) ----*/

/* mlflow/users.c: MLflow's users API, under /api/2.0/mlflow/ only */
HANDLER(h_users_create);
HANDLER(h_users_get);
HANDLER(h_users_update_password);
HANDLER(h_users_update_admin);
HANDLER(h_users_delete);

/* mlflow/permissions.c: experiments/permissions/... and
 * registered-models/permissions/... */
HANDLER(h_experiment_permissions_create);
HANDLER(h_experiment_permissions_get);
HANDLER(h_experiment_permissions_update);
HANDLER(h_experiment_permissions_delete);
HANDLER(h_model_permissions_create);
HANDLER(h_model_permissions_get);
HANDLER(h_model_permissions_update);
HANDLER(h_model_permissions_delete);

/* signup.c: GET /signup, MLflow's form to add a user (admins) */
HANDLER(h_signup);

/* greentrack/auth.c: login, logout, whoami */
HANDLER(h_auth_login);
HANDLER(h_auth_logout);
HANDLER(h_auth_whoami);

/* greentrack/tokens.c: API tokens */
HANDLER(h_tokens_create);
HANDLER(h_tokens_list);
HANDLER(h_tokens_revoke);

/* greentrack/users.c: the admin page's lists */
HANDLER(h_gt_users_list);
HANDLER(h_gt_experiment_permissions_list);

#endif
