/* SPDX-License-Identifier: MIT
 *
 * router: the route table (see router.h).
 *
 * Where a handler lives: the URL prefix names a folder under
 * server/handlers/ and the first path segment after it names the file,
 * with '-' written as '_' (/api/2.0/mlflow/runs/get -> mlflow/runs.c,
 * /api/2.0/greentrack/runs/log-energy -> greentrack/runs.c,
 * /api/2.0/mlflow-artifacts/artifacts/.. -> mlflow_artifacts/artifacts.c,
 * /codecarbon/emissions -> codecarbon/emissions.c, /health ->
 * health.c); README.md's Layout section has the table of prefixes.
 * Other root paths are the web UI's (ROUTE_STATIC), except those under
 * /get-artifact and /model-versions/ (MLflow's, a JSON 404 when unknown).
 */
#include "router.h"

#include "handlers/handlers.h"

#include <string.h>

struct route {
    const char *name; /* path after the prefix */
    unsigned methods;
    handler_fn fn;
    unsigned flags;       /* enum route_flag */
    enum route_perm perm; /* what the caller needs under --auth */
    /* What its request body may be; left out (NULL): BODY_JSON. A
     * handler has one rule, whichever of its rows names it. */
    const struct route_body *body;
};

/* Request bodies. Most endpoints take a small JSON object: 1 MiB, and a
 * tree of at most 65536 values (about 7 MiB of cJSON at most), room for
 * log-inputs' 1000 datasets and 1000 models, or runs/search over 40000
 * experiment ids. The larger ones take
 * --max-body-bytes (max_bytes 0): log-batch (1000 metrics, 100 params and
 * 1000 tags are 8305 values; strings up to MLflow's 8000 characters, 96000
 * bytes when each is a \ud83d\ude00-style escape), log-energy (10000
 * samples of up to 15 fields) and the CodeCarbon CSV import, which is not
 * JSON. A streamed upload (ROUTE_STREAM_BODY) is never collected. */
static const struct route_body BODY_JSON = {1u << 20, {32, 65536, 1u << 20}};
static const struct route_body BODY_BATCH = {0, {32, 16384, 128u << 10}};
static const struct route_body BODY_ENERGY = {0, {32, 160000, 64u << 10}};
static const struct route_body BODY_CSV = {0, {0, 0, 0}};

/* Rows leave their body rule out unless it is not BODY_JSON. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define GET ROUTE_GET
#define POST ROUTE_POST
#define PUT ROUTE_PUT
#define DELETE ROUTE_DELETE
#define PATCH ROUTE_PATCH

/* /api/2.0/mlflow/ and /ajax-api/2.0/mlflow/: handlers/mlflow/ */
static const struct route mlflow_routes[] = {
    {"experiments/create", POST, h_experiments_create, 0, PERM_CREATE},
    {"experiments/get", GET, h_experiments_get, 0, PERM_EXP_READ},
    {"experiments/get-by-name", GET, h_experiments_get_by_name, 0,
     PERM_EXP_NAME_READ},
    {"experiments/search", GET | POST, h_experiments_search, 0, PERM_ANY_USER},
    /* unpaged and unfiltered: admins only under --auth */
    {"experiments/list", GET, h_experiments_list, 0, PERM_ADMIN},
    {"experiments/update", POST, h_experiments_update, 0, PERM_EXP_EDIT},
    {"experiments/delete", POST, h_experiments_delete, 0, PERM_EXP_MANAGE},
    {"experiments/restore", POST, h_experiments_restore, 0, PERM_EXP_MANAGE},
    {"experiments/set-experiment-tag", POST, h_experiments_set_tag, 0,
     PERM_EXP_EDIT},
    {"experiments/delete-experiment-tag", POST, h_experiments_delete_tag, 0,
     PERM_EXP_EDIT},
    {"experiments/search-datasets", POST, h_experiments_search_datasets,
     ROUTE_AJAX_ONLY, PERM_EXP_IDS_READ},
    {"runs/create", POST, h_runs_create, 0, PERM_EXP_EDIT},
    {"runs/get", GET, h_runs_get, 0, PERM_RUN_READ},
    {"runs/update", POST, h_runs_update, 0, PERM_RUN_EDIT},
    {"runs/delete", POST, h_runs_delete, 0, PERM_RUN_MANAGE},
    {"runs/restore", POST, h_runs_restore, 0, PERM_RUN_MANAGE},
    {"runs/search", POST, h_runs_search, ROUTE_LONG_READ | ROUTE_REPLICA,
     PERM_RUNS_SEARCH},
    {"runs/log-metric", POST, h_runs_log_metric, 0, PERM_RUN_EDIT},
    {"runs/log-parameter", POST, h_runs_log_parameter, 0, PERM_RUN_EDIT},
    {"runs/set-tag", POST, h_runs_set_tag, 0, PERM_RUN_EDIT},
    {"runs/delete-tag", POST, h_runs_delete_tag, 0, PERM_RUN_EDIT},
    {"runs/log-batch", POST, h_runs_log_batch, 0, PERM_RUN_EDIT, &BODY_BATCH},
    {"runs/log-inputs", POST, h_runs_log_inputs, 0, PERM_RUN_EDIT},
    {"runs/log-model", POST, h_runs_log_model, 0, PERM_RUN_EDIT},
    {"metrics/get-history", GET, h_metrics_get_history, ROUTE_REPLICA,
     PERM_RUN_READ},
    {"metrics/get-history-bulk-interval", GET,
     h_metrics_get_history_bulk_interval, ROUTE_REPLICA, PERM_RUN_IDS_READ},
    {"metrics/get-history-bulk", GET, h_metrics_get_history_bulk,
     ROUTE_AJAX_ONLY | ROUTE_REPLICA, PERM_RUN_IDS_READ},
    {"artifacts/list", GET, h_artifacts_list, 0, PERM_RUN_READ},
    {"upload-artifact", POST, h_upload_artifact,
     ROUTE_AJAX_ONLY | ROUTE_STREAM_BODY, PERM_RUN_EDIT},
    {"registered-models/create", POST, h_registered_models_create, 0,
     PERM_CREATE},
    {"registered-models/get", GET, h_registered_models_get, 0, PERM_MODEL_READ},
    {"registered-models/rename", POST, h_registered_models_rename, 0,
     PERM_MODEL_EDIT},
    {"registered-models/update", PATCH, h_registered_models_update, 0,
     PERM_MODEL_EDIT},
    {"registered-models/delete", DELETE, h_registered_models_delete, 0,
     PERM_MODEL_MANAGE},
    {"registered-models/search", GET, h_registered_models_search, 0,
     PERM_ANY_USER},
    {"registered-models/get-latest-versions", GET | POST,
     h_registered_models_get_latest_versions, 0, PERM_MODEL_READ},
    {"registered-models/set-tag", POST, h_registered_models_set_tag, 0,
     PERM_MODEL_EDIT},
    {"registered-models/delete-tag", DELETE, h_registered_models_delete_tag, 0,
     PERM_MODEL_EDIT},
    {"registered-models/alias", POST, h_registered_models_alias_set, 0,
     PERM_MODEL_EDIT},
    {"registered-models/alias", DELETE, h_registered_models_alias_delete, 0,
     PERM_MODEL_MANAGE},
    {"registered-models/alias", GET, h_registered_models_alias_get, 0,
     PERM_MODEL_READ},
    {"model-versions/create", POST, h_model_versions_create, 0,
     PERM_MODEL_EDIT},
    {"model-versions/get", GET, h_model_versions_get, 0, PERM_MODEL_READ},
    {"model-versions/update", PATCH, h_model_versions_update, 0,
     PERM_MODEL_EDIT},
    {"model-versions/delete", DELETE, h_model_versions_delete, 0,
     PERM_MODEL_MANAGE},
    {"model-versions/search", GET, h_model_versions_search, 0, PERM_ANY_USER},
    {"model-versions/transition-stage", POST, h_model_versions_transition_stage,
     0, PERM_MODEL_EDIT},
    {"model-versions/get-download-uri", GET, h_model_versions_get_download_uri,
     0, PERM_MODEL_READ},
    {"model-versions/set-tag", POST, h_model_versions_set_tag, 0,
     PERM_MODEL_EDIT},
    {"model-versions/delete-tag", DELETE, h_model_versions_delete_tag, 0,
     PERM_MODEL_MANAGE},
    /* MLflow's basic-auth API (specs/mlflow-auth.md section 6): only
     * under /api/2.0/mlflow/ */
    {"users/create", POST, h_users_create, ROUTE_API_ONLY | ROUTE_FORM_BODY,
     PERM_ADMIN},
    {"users/get", GET, h_users_get, ROUTE_API_ONLY, PERM_SELF},
    {"users/update-password", PATCH, h_users_update_password, ROUTE_API_ONLY,
     PERM_SELF},
    {"users/update-admin", PATCH, h_users_update_admin, ROUTE_API_ONLY,
     PERM_ADMIN},
    {"users/delete", DELETE, h_users_delete, ROUTE_API_ONLY, PERM_ADMIN},
    {"experiments/permissions/create", POST, h_experiment_permissions_create,
     ROUTE_API_ONLY, PERM_EXP_MANAGE},
    {"experiments/permissions/get", GET, h_experiment_permissions_get,
     ROUTE_API_ONLY, PERM_EXP_MANAGE},
    {"experiments/permissions/update", PATCH, h_experiment_permissions_update,
     ROUTE_API_ONLY, PERM_EXP_MANAGE},
    {"experiments/permissions/delete", DELETE, h_experiment_permissions_delete,
     ROUTE_API_ONLY, PERM_EXP_MANAGE},
    {"registered-models/permissions/create", POST, h_model_permissions_create,
     ROUTE_API_ONLY, PERM_MODEL_MANAGE},
    {"registered-models/permissions/get", GET, h_model_permissions_get,
     ROUTE_API_ONLY, PERM_MODEL_MANAGE},
    {"registered-models/permissions/update", PATCH, h_model_permissions_update,
     ROUTE_API_ONLY, PERM_MODEL_MANAGE},
    {"registered-models/permissions/delete", DELETE, h_model_permissions_delete,
     ROUTE_API_ONLY, PERM_MODEL_MANAGE},
};

/* /api/2.0/greentrack/: handlers/greentrack/ */
static const struct route greentrack_routes[] = {
    {"runs/heartbeat", POST, h_runs_heartbeat, 0, PERM_RUN_EDIT},
    {"runs/log-energy", POST, h_runs_log_energy, 0, PERM_RUN_EDIT,
     &BODY_ENERGY},
    {"runs/carbon", GET, h_runs_carbon, 0, PERM_RUN_READ},
    {"runs/log-phase", POST, h_runs_log_phase, 0, PERM_RUN_EDIT},
    {"hardware", GET, h_hardware, 0, PERM_EXP_READ},
    {"intensity", GET, h_intensity, 0, PERM_ANY_USER},
    {"runs/energy", GET, h_runs_energy, 0, PERM_RUN_READ},
    {"runs/export", GET, h_runs_export, ROUTE_LONG_READ, PERM_EXP_READ},
    {"leaderboard", GET, h_leaderboard, ROUTE_LONG_READ | ROUTE_REPLICA,
     PERM_EXP_READ},
    {"experiments/summary", GET, h_experiments_summary, ROUTE_LONG_READ,
     PERM_ANY_USER},
    {"import/codecarbon", POST, h_import_codecarbon, ROUTE_RAW_BODY,
     PERM_EXP_EDIT, &BODY_CSV},
    {"schedule", GET, h_schedule, 0, PERM_EXP_READ},
    {"grid/intensity", GET, h_grid_intensity, 0, PERM_ANY_USER},
    /* raw: takes ?zone= in the query (no body needed) or a JSON body */
    {"grid/refresh", POST, h_grid_refresh, ROUTE_RAW_BODY, PERM_ADMIN},
    {"model-versions/carbon", GET, h_model_versions_carbon, 0, PERM_MODEL_READ},
    /* authentication (auth.c): login, logout, whoami, tokens, users */
    {"auth/login", POST, h_auth_login, 0, PERM_NONE},
    {"auth/logout", POST, h_auth_logout, 0, PERM_NONE},
    {"auth/whoami", GET, h_auth_whoami, 0, PERM_NONE},
    {"tokens/create", POST, h_tokens_create, 0, PERM_ANY_USER},
    {"tokens/list", GET, h_tokens_list, 0, PERM_ANY_USER},
    {"tokens/revoke", POST, h_tokens_revoke, 0, PERM_ANY_USER},
    {"users/list", GET, h_gt_users_list, 0, PERM_ADMIN},
    {"experiments/permissions/list", GET, h_gt_experiment_permissions_list, 0,
     PERM_EXP_MANAGE},
};

/* /api/2.0/mlflow-artifacts/ and /ajax-api/2.0/mlflow-artifacts/:
 * handlers/mlflow_artifacts/. A name ending in '/' with ROUTE_PREFIX
 * matches it followed by one or more characters (Flask's <path:...>). */
static const struct route mlflow_artifacts_routes[] = {
    {"artifacts", GET, h_mlflow_artifacts_list, 0, PERM_ARTIFACT_LIST},
    {"artifacts/", GET, h_mlflow_artifacts_download, ROUTE_PREFIX,
     PERM_ARTIFACT},
    {"artifacts/", PUT, h_mlflow_artifacts_upload,
     ROUTE_PREFIX | ROUTE_STREAM_BODY, PERM_ARTIFACT},
    {"artifacts/", DELETE, h_mlflow_artifacts_delete, ROUTE_PREFIX,
     PERM_ARTIFACT},
    {"mpu/create/", POST, h_mlflow_artifacts_mpu, ROUTE_PREFIX, PERM_ARTIFACT},
    {"mpu/complete/", POST, h_mlflow_artifacts_mpu, ROUTE_PREFIX,
     PERM_ARTIFACT},
    {"mpu/abort/", POST, h_mlflow_artifacts_mpu, ROUTE_PREFIX, PERM_ARTIFACT},
};

/* /codecarbon/: handlers/codecarbon/ */
static const struct route codecarbon_routes[] = {
    {"experiments", POST, h_cc_experiments, 0, PERM_CREATE},
    {"runs", POST, h_cc_runs, 0, PERM_EXP_EDIT},
    {"emissions", POST, h_cc_emissions, 0, PERM_RUN_EDIT},
};

/* /: handlers/ */
static const struct route root_routes[] = {
    {"health", GET, h_health, 0, PERM_NONE},
    {"version", GET, h_version, 0, PERM_NONE},
    {"signup", GET, h_signup, 0, PERM_ADMIN},
    {"get-artifact", GET, h_get_artifact, 0, PERM_RUN_READ},
    {"model-versions/get-artifact", GET, h_model_versions_get_artifact, 0,
     PERM_MODEL_READ},
};

static const char *const mlflow_prefixes[] = {"/api/2.0/mlflow/",
                                              "/ajax-api/2.0/mlflow/"};
static const char *const mlflow_artifacts_prefixes[] = {
    "/api/2.0/mlflow-artifacts/", "/ajax-api/2.0/mlflow-artifacts/"};

static unsigned method_bit(const char *method)
{
    if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
        return ROUTE_GET;
    if (strcmp(method, "POST") == 0)
        return ROUTE_POST;
    if (strcmp(method, "PUT") == 0)
        return ROUTE_PUT;
    if (strcmp(method, "DELETE") == 0)
        return ROUTE_DELETE;
    if (strcmp(method, "PATCH") == 0)
        return ROUTE_PATCH;
    return 0;
}

static bool name_matches(const struct route *r, const char *name)
{
    if (!(r->flags & ROUTE_PREFIX))
        return strcmp(r->name, name) == 0;
    size_t n = strlen(r->name);
    return strncmp(r->name, name, n) == 0 && name[n] != '\0';
}

/* A path may have several rows, one per method: 405 only when none
 * takes 'bit'. Rows with a flag in 'skip' do not exist here. */
/* The permission of the row the last lookup on this thread found. */
static _Thread_local enum route_perm found_perm;

static enum route_result lookup_skip(const struct route *table, size_t n,
                                     const char *name, unsigned bit,
                                     unsigned skip, handler_fn *handler,
                                     unsigned *flags)
{
    enum route_result r = ROUTE_NOT_FOUND;
    found_perm = PERM_UNSET;
    for (size_t i = 0; i < n; i++) {
        if ((table[i].flags & skip) || !name_matches(&table[i], name))
            continue;
        if (!(table[i].methods & bit)) {
            r = ROUTE_BAD_METHOD;
            continue;
        }
        *handler = table[i].fn;
        *flags = table[i].flags;
        found_perm = table[i].perm;
        return ROUTE_FOUND;
    }
    return r;
}

static enum route_result lookup(const struct route *table, size_t n,
                                const char *name, unsigned bit,
                                handler_fn *handler, unsigned *flags)
{
    return lookup_skip(table, n, name, bit, 0, handler, flags);
}

/* Root paths that are never the web UI's: unknown ones are a JSON 404. */
static bool api_root_path(const char *path)
{
    static const char get_artifact[] = "/get-artifact";
    size_t n = sizeof(get_artifact) - 1;
    return (strncmp(path, get_artifact, n) == 0 &&
            (path[n] == '\0' || path[n] == '/')) ||
           strncmp(path, "/model-versions/", 16) == 0;
}

enum route_result route_match(const char *path, const char *method,
                              handler_fn *handler)
{
    unsigned flags;
    return route_match_flags(path, method, handler, &flags);
}

enum route_result route_match_flags(const char *path, const char *method,
                                    handler_fn *handler, unsigned *flags)
{
    *flags = 0;
    unsigned bit = method_bit(method);
    for (size_t i = 0; i < sizeof(mlflow_prefixes) / sizeof(*mlflow_prefixes);
         i++) {
        size_t plen = strlen(mlflow_prefixes[i]);
        if (strncmp(path, mlflow_prefixes[i], plen) == 0)
            return lookup_skip(
                mlflow_routes, sizeof(mlflow_routes) / sizeof(*mlflow_routes),
                path + plen, bit, i == 0 ? ROUTE_AJAX_ONLY : ROUTE_API_ONLY,
                handler, flags);
    }
    for (size_t i = 0; i < sizeof(mlflow_artifacts_prefixes) /
                               sizeof(*mlflow_artifacts_prefixes);
         i++) {
        size_t plen = strlen(mlflow_artifacts_prefixes[i]);
        if (strncmp(path, mlflow_artifacts_prefixes[i], plen) == 0)
            return lookup(mlflow_artifacts_routes,
                          sizeof(mlflow_artifacts_routes) /
                              sizeof(*mlflow_artifacts_routes),
                          path + plen, bit, handler, flags);
    }
    static const char greentrack_prefix[] = "/api/2.0/greentrack/";
    if (strncmp(path, greentrack_prefix, sizeof(greentrack_prefix) - 1) == 0)
        return lookup(greentrack_routes,
                      sizeof(greentrack_routes) / sizeof(*greentrack_routes),
                      path + sizeof(greentrack_prefix) - 1, bit, handler,
                      flags);
    static const char cc_prefix[] = "/codecarbon/";
    if (strncmp(path, cc_prefix, sizeof(cc_prefix) - 1) == 0)
        return lookup(codecarbon_routes,
                      sizeof(codecarbon_routes) / sizeof(*codecarbon_routes),
                      path + sizeof(cc_prefix) - 1, bit, handler, flags);
    if (strncmp(path, "/api/", 5) == 0 || strncmp(path, "/ajax-api/", 10) == 0)
        return ROUTE_NOT_FOUND;
    /* MLflow's UI asks for //model-versions/get-artifact */
    if (strncmp(path, "//model-versions/", 17) == 0)
        path++;
    enum route_result r =
        lookup(root_routes, sizeof(root_routes) / sizeof(*root_routes),
               path + 1, bit, handler, flags);
    if (r == ROUTE_NOT_FOUND && !api_root_path(path))
        return ROUTE_STATIC;
    return r;
}

/* The body rule of the row that 'fn' handles (see struct route). */
static const struct route_body *body_of(handler_fn fn)
{
    static const struct {
        const struct route *rows;
        size_t n;
    } tables[] = {
        {mlflow_routes, sizeof(mlflow_routes) / sizeof(*mlflow_routes)},
        {greentrack_routes,
         sizeof(greentrack_routes) / sizeof(*greentrack_routes)},
        {mlflow_artifacts_routes,
         sizeof(mlflow_artifacts_routes) / sizeof(*mlflow_artifacts_routes)},
        {codecarbon_routes,
         sizeof(codecarbon_routes) / sizeof(*codecarbon_routes)},
        {root_routes, sizeof(root_routes) / sizeof(*root_routes)},
    };
    for (size_t t = 0; t < sizeof(tables) / sizeof(*tables); t++) {
        for (size_t i = 0; i < tables[t].n; i++) {
            if (tables[t].rows[i].fn == fn && tables[t].rows[i].body)
                return tables[t].rows[i].body;
        }
    }
    return &BODY_JSON;
}

enum route_result route_lookup(const char *path, const char *method,
                               struct route_info *out)
{
    out->handler = NULL;
    enum route_result r =
        route_match_flags(path, method, &out->handler, &out->flags);
    out->body = r == ROUTE_FOUND ? body_of(out->handler) : &BODY_JSON;
    out->perm = r == ROUTE_FOUND ? found_perm : PERM_UNSET;
    return r;
}

bool route_row(size_t i, const char **prefix, const char **name,
               unsigned *methods, unsigned *flags, enum route_perm *perm)
{
    static const struct {
        const char *prefix;
        const struct route *rows;
        size_t n;
    } tables[] = {
        {"/api/2.0/mlflow/", mlflow_routes,
         sizeof(mlflow_routes) / sizeof(*mlflow_routes)},
        {"/api/2.0/greentrack/", greentrack_routes,
         sizeof(greentrack_routes) / sizeof(*greentrack_routes)},
        {"/api/2.0/mlflow-artifacts/", mlflow_artifacts_routes,
         sizeof(mlflow_artifacts_routes) / sizeof(*mlflow_artifacts_routes)},
        {"/codecarbon/", codecarbon_routes,
         sizeof(codecarbon_routes) / sizeof(*codecarbon_routes)},
        {"/", root_routes, sizeof(root_routes) / sizeof(*root_routes)},
    };
    for (size_t t = 0; t < sizeof(tables) / sizeof(*tables); t++) {
        if (i < tables[t].n) {
            const struct route *r = &tables[t].rows[i];
            *prefix = tables[t].prefix;
            *name = r->name;
            *methods = r->methods;
            *flags = r->flags;
            *perm = r->perm;
            return true;
        }
        i -= tables[t].n;
    }
    return false;
}
