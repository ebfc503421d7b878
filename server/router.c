/* SPDX-License-Identifier: MIT
 *
 * router: the route table (see router.h).
 */
#include "router.h"

#include "handlers/handlers.h"

#include <string.h>

struct route {
    const char *name; /* path after the prefix */
    unsigned methods;
    handler_fn fn;
};

#define GET ROUTE_GET
#define POST ROUTE_POST

static const struct route mlflow_routes[] = {
    {"experiments/create", POST, h_experiments_create},
    {"experiments/get", GET, h_experiments_get},
    {"experiments/get-by-name", GET, h_experiments_get_by_name},
    {"experiments/search", GET | POST, h_experiments_search},
    {"experiments/list", GET, h_experiments_list},
    {"experiments/update", POST, h_experiments_update},
    {"experiments/delete", POST, h_experiments_delete},
    {"experiments/restore", POST, h_experiments_restore},
    {"experiments/set-experiment-tag", POST, h_experiments_set_tag},
    {"experiments/delete-experiment-tag", POST, h_experiments_delete_tag},
    {"runs/create", POST, h_runs_create},
    {"runs/get", GET, h_runs_get},
    {"runs/update", POST, h_runs_update},
    {"runs/delete", POST, h_runs_delete},
    {"runs/restore", POST, h_runs_restore},
    {"runs/search", POST, h_runs_search},
    {"runs/log-metric", POST, h_runs_log_metric},
    {"runs/log-parameter", POST, h_runs_log_parameter},
    {"runs/set-tag", POST, h_runs_set_tag},
    {"runs/delete-tag", POST, h_runs_delete_tag},
    {"runs/log-batch", POST, h_runs_log_batch},
    {"runs/log-inputs", POST, h_runs_log_inputs},
    {"runs/log-model", POST, h_runs_log_model},
    {"metrics/get-history", GET, h_metrics_get_history},
    {"metrics/get-history-bulk-interval", GET,
     h_metrics_get_history_bulk_interval},
    {"metrics/get-history-bulk", GET, h_metrics_get_history_bulk},
    {"artifacts/list", GET, h_artifacts_list},
};

static const struct route greentrack_routes[] = {
    {"runs/heartbeat", POST, h_runs_heartbeat},
    {"runs/log-energy", POST, h_runs_log_energy},
    {"runs/carbon", GET, h_runs_carbon},
    {"intensity", GET, h_intensity},
    {"runs/energy", GET, h_runs_energy},
    {"runs/export", GET, h_runs_export},
    {"leaderboard", GET, h_leaderboard},
    {"experiments/summary", GET, h_experiments_summary},
};

static const struct route root_routes[] = {
    {"health", GET, h_health},
    {"version", GET, h_version},
};

static const char *const mlflow_prefixes[] = {"/api/2.0/mlflow/",
                                              "/ajax-api/2.0/mlflow/"};

static unsigned method_bit(const char *method)
{
    if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
        return ROUTE_GET;
    if (strcmp(method, "POST") == 0)
        return ROUTE_POST;
    return 0;
}

static enum route_result lookup(const struct route *table, size_t n,
                                const char *name, unsigned bit,
                                handler_fn *handler)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(table[i].name, name) != 0)
            continue;
        if (!(table[i].methods & bit))
            return ROUTE_BAD_METHOD;
        *handler = table[i].fn;
        return ROUTE_FOUND;
    }
    return ROUTE_NOT_FOUND;
}

enum route_result route_match(const char *path, const char *method,
                              handler_fn *handler)
{
    unsigned bit = method_bit(method);
    for (size_t i = 0; i < sizeof(mlflow_prefixes) / sizeof(*mlflow_prefixes);
         i++) {
        size_t plen = strlen(mlflow_prefixes[i]);
        if (strncmp(path, mlflow_prefixes[i], plen) == 0)
            return lookup(mlflow_routes,
                          sizeof(mlflow_routes) / sizeof(*mlflow_routes),
                          path + plen, bit, handler);
    }
    static const char greentrack_prefix[] = "/api/2.0/greentrack/";
    if (strncmp(path, greentrack_prefix, sizeof(greentrack_prefix) - 1) == 0)
        return lookup(greentrack_routes,
                      sizeof(greentrack_routes) / sizeof(*greentrack_routes),
                      path + sizeof(greentrack_prefix) - 1, bit, handler);
    if (strncmp(path, "/api/", 5) == 0 || strncmp(path, "/ajax-api/", 10) == 0)
        return ROUTE_NOT_FOUND;
    enum route_result r =
        lookup(root_routes, sizeof(root_routes) / sizeof(*root_routes),
               path + 1, bit, handler);
    return r == ROUTE_NOT_FOUND ? ROUTE_STATIC : r;
}
