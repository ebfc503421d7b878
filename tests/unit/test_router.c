/* SPDX-License-Identifier: MIT
 *
 * test_router: the route table: prefixes, methods, static paths, and
 * that paths reach the handler the URL-to-file rule names (router.c).
 */
#include "handlers/handlers.h"
#include "router.h"
#include "test.h"

static void test_router(void)
{
    handler_fn h;
    CHECK_EQ_INT(route_match("/api/2.0/mlflow/runs/create", "POST", &h),
                 ROUTE_FOUND);
    CHECK_EQ_INT(route_match("/ajax-api/2.0/mlflow/runs/get", "GET", &h),
                 ROUTE_FOUND);
    CHECK_EQ_INT(route_match("/api/2.0/mlflow/runs/create", "GET", &h),
                 ROUTE_BAD_METHOD);
    CHECK_EQ_INT(route_match("/api/2.0/mlflow/experiments/search", "GET", &h),
                 ROUTE_FOUND);
    CHECK_EQ_INT(route_match("/api/2.0/mlflow/experiments/search", "POST", &h),
                 ROUTE_FOUND);
    CHECK_EQ_INT(route_match("/api/2.0/mlflow/nope", "GET", &h),
                 ROUTE_NOT_FOUND);
    CHECK_EQ_INT(route_match("/api/2.0/other", "GET", &h), ROUTE_NOT_FOUND);
    CHECK_EQ_INT(route_match("/health", "GET", &h), ROUTE_FOUND);
    CHECK_EQ_INT(route_match("/health", "POST", &h), ROUTE_BAD_METHOD);
    CHECK_EQ_INT(route_match("/experiments/3/runs", "GET", &h), ROUTE_STATIC);
}

/* Paths whose handlers moved when handlers were laid out by URL: each
 * reaches the function its file (named by the rule) defines. */
static void test_routes_reach_their_handlers(void)
{
    static const struct {
        const char *path, *method;
        handler_fn fn;
    } routes[] = {
        {"/api/2.0/mlflow/runs/log-batch", "POST", h_runs_log_batch},
        {"/ajax-api/2.0/mlflow/artifacts/list", "GET", h_artifacts_list},
        {"/api/2.0/greentrack/runs/heartbeat", "POST", h_runs_heartbeat},
        {"/api/2.0/greentrack/runs/log-energy", "POST", h_runs_log_energy},
        {"/api/2.0/greentrack/runs/export", "GET", h_runs_export},
        {"/api/2.0/greentrack/experiments/summary", "GET",
         h_experiments_summary},
        {"/api/2.0/greentrack/intensity", "GET", h_intensity},
        {"/api/2.0/greentrack/leaderboard", "GET", h_leaderboard},
        {"/api/2.0/greentrack/schedule", "GET", h_schedule},
        {"/api/2.0/greentrack/grid/refresh", "POST", h_grid_refresh},
        {"/codecarbon/experiments", "POST", h_cc_experiments},
        {"/codecarbon/emissions", "POST", h_cc_emissions},
        {"/health", "GET", h_health},
        {"/version", "GET", h_version},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(*routes); i++) {
        handler_fn h = NULL;
        CHECK_EQ_INT(route_match(routes[i].path, routes[i].method, &h),
                     ROUTE_FOUND);
        CHECK(h == routes[i].fn);
    }
    /* greentrack's runs/ and experiments/ are not MLflow's */
    handler_fn h = NULL;
    CHECK_EQ_INT(route_match("/api/2.0/greentrack/runs/get", "GET", &h),
                 ROUTE_NOT_FOUND);
    CHECK_EQ_INT(route_match("/api/2.0/mlflow/runs/heartbeat", "POST", &h),
                 ROUTE_NOT_FOUND);
}

/* The artifact proxy: a path parameter after artifacts/ (one or more
 * characters), one row per method, flags for the streamed upload. */
static void test_artifact_routes(void)
{
    static const struct {
        const char *path, *method;
        handler_fn fn;
        unsigned flags;
    } routes[] = {
        {"/api/2.0/mlflow-artifacts/artifacts", "GET", h_mlflow_artifacts_list,
         0},
        {"/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/MLmodel", "GET",
         h_mlflow_artifacts_download, ROUTE_PREFIX},
        {"/api/2.0/mlflow-artifacts/artifacts/x", "HEAD",
         h_mlflow_artifacts_download, ROUTE_PREFIX},
        {"/ajax-api/2.0/mlflow-artifacts/artifacts/a/b", "PUT",
         h_mlflow_artifacts_upload, ROUTE_PREFIX | ROUTE_STREAM_BODY},
        {"/api/2.0/mlflow-artifacts/artifacts/a/", "DELETE",
         h_mlflow_artifacts_delete, ROUTE_PREFIX},
        {"/api/2.0/mlflow-artifacts/mpu/create/a", "POST",
         h_mlflow_artifacts_mpu, ROUTE_PREFIX},
        {"/api/2.0/mlflow-artifacts/mpu/abort/a", "POST",
         h_mlflow_artifacts_mpu, ROUTE_PREFIX},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(*routes); i++) {
        handler_fn h = NULL;
        unsigned flags = 0;
        CHECK_EQ_INT(
            route_match_flags(routes[i].path, routes[i].method, &h, &flags),
            ROUTE_FOUND);
        CHECK(h == routes[i].fn);
        CHECK_EQ_INT(flags, routes[i].flags);
    }
    handler_fn h;
    /* no path after artifacts/: not a route (Flask's <path:> needs one) */
    CHECK_EQ_INT(route_match("/api/2.0/mlflow-artifacts/artifacts/", "GET", &h),
                 ROUTE_NOT_FOUND);
    CHECK_EQ_INT(route_match("/api/2.0/mlflow-artifacts/artifacts", "PUT", &h),
                 ROUTE_BAD_METHOD);
    CHECK_EQ_INT(
        route_match("/api/2.0/mlflow-artifacts/artifacts/x", "POST", &h),
        ROUTE_BAD_METHOD);
    CHECK_EQ_INT(
        route_match("/api/2.0/mlflow-artifacts/mpu/create/a", "GET", &h),
        ROUTE_BAD_METHOD);
    CHECK_EQ_INT(route_match("/api/2.0/mlflow-artifacts/nope", "GET", &h),
                 ROUTE_NOT_FOUND);
    CHECK_EQ_INT(route_match("/api/2.0/mlflow/runs/get", "DELETE", &h),
                 ROUTE_BAD_METHOD);
}

/* MLflow's UI endpoints: /ajax-api/2.0/mlflow/ only for its own ones,
 * root downloads, and no web UI for paths MLflow serves. */
static void test_ui_routes(void)
{
    static const struct {
        const char *path, *method;
        handler_fn fn;
        unsigned flags;
    } routes[] = {
        {"/ajax-api/2.0/mlflow/metrics/get-history-bulk", "GET",
         h_metrics_get_history_bulk, ROUTE_AJAX_ONLY | ROUTE_REPLICA},
        {"/ajax-api/2.0/mlflow/experiments/search-datasets", "POST",
         h_experiments_search_datasets, ROUTE_AJAX_ONLY},
        {"/ajax-api/2.0/mlflow/upload-artifact", "POST", h_upload_artifact,
         ROUTE_AJAX_ONLY | ROUTE_STREAM_BODY},
        {"/get-artifact", "GET", h_get_artifact, 0},
        {"/model-versions/get-artifact", "GET", h_model_versions_get_artifact,
         0},
        {"//model-versions/get-artifact", "GET", h_model_versions_get_artifact,
         0},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(*routes); i++) {
        handler_fn h = NULL;
        unsigned flags = 0;
        CHECK_EQ_INT(
            route_match_flags(routes[i].path, routes[i].method, &h, &flags),
            ROUTE_FOUND);
        CHECK(h == routes[i].fn);
        CHECK_EQ_INT(flags, routes[i].flags);
    }
    handler_fn h;
    static const char *const absent[] = {
        "/api/2.0/mlflow/metrics/get-history-bulk",
        "/api/2.0/mlflow/experiments/search-datasets",
        "/api/2.0/mlflow/upload-artifact",
        "/ajax-api/2.0/mlflow/runs/create-promptlab-run",
        "/ajax-api/2.0/mlflow/gateway-proxy",
        "/get-artifact/x",
        "/model-versions/x",
        "/model-versions/",
        "//model-versions/x",
    };
    for (size_t i = 0; i < sizeof(absent) / sizeof(*absent); i++) {
        CHECK_EQ_INT(route_match(absent[i], "GET", &h), ROUTE_NOT_FOUND);
        CHECK_EQ_INT(route_match(absent[i], "POST", &h), ROUTE_NOT_FOUND);
    }
    CHECK_EQ_INT(route_match("/get-artifact", "POST", &h), ROUTE_BAD_METHOD);
    CHECK_EQ_INT(route_match("/get-artifacts", "GET", &h), ROUTE_STATIC);
    CHECK_EQ_INT(route_match("/model-versions", "GET", &h), ROUTE_STATIC);
}

/* Body rules: log-batch, log-energy and the CSV import take
 * --max-body-bytes (max_bytes 0), with their own JSON limits; every other
 * route, and paths without one, the small JSON rule. */
static void test_body_rules(void)
{
    struct route_info ri;
    CHECK_EQ_INT(route_lookup("/api/2.0/mlflow/runs/log-batch", "POST", &ri),
                 ROUTE_FOUND);
    CHECK_EQ_INT(ri.body->max_bytes, 0);
    CHECK_EQ_INT(ri.body->json.max_values, 16384);
    CHECK(ri.handler == h_runs_log_batch);
    CHECK_EQ_INT(
        route_lookup("/ajax-api/2.0/mlflow/runs/log-batch", "POST", &ri),
        ROUTE_FOUND);
    CHECK_EQ_INT(ri.body->json.max_values, 16384);
    CHECK_EQ_INT(
        route_lookup("/api/2.0/greentrack/runs/log-energy", "POST", &ri),
        ROUTE_FOUND);
    CHECK_EQ_INT(ri.body->max_bytes, 0);
    CHECK(ri.body->json.max_values >= 10000 * 13);
    CHECK_EQ_INT(
        route_lookup("/api/2.0/greentrack/import/codecarbon", "POST", &ri),
        ROUTE_FOUND);
    CHECK_EQ_INT(ri.body->max_bytes, 0);
    CHECK_EQ_INT(ri.body->json.max_values, 0); /* CSV: no JSON scan */
    CHECK(ri.flags & ROUTE_RAW_BODY);
    static const char *const small[] = {
        "/api/2.0/mlflow/runs/log-metric",    "/api/2.0/mlflow/runs/set-tag",
        "/api/2.0/mlflow/experiments/create", "/api/2.0/mlflow/runs/search",
        "/api/2.0/greentrack/grid/refresh",   "/codecarbon/emissions"};
    for (size_t i = 0; i < sizeof(small) / sizeof(*small); i++) {
        CHECK_EQ_INT(route_lookup(small[i], "POST", &ri), ROUTE_FOUND);
        CHECK_EQ_INT(ri.body->max_bytes, 1u << 20);
        CHECK_EQ_INT(ri.body->json.max_values, 65536);
        CHECK_EQ_INT(ri.body->json.max_depth, 32);
    }
    CHECK_EQ_INT(route_lookup("/api/2.0/mlflow/nope", "POST", &ri),
                 ROUTE_NOT_FOUND);
    CHECK(ri.handler == NULL);
    CHECK_EQ_INT(ri.body->max_bytes, 1u << 20);
    CHECK_EQ_INT(route_lookup("/some/ui/page", "GET", &ri), ROUTE_STATIC);
    CHECK_EQ_INT(ri.body->max_bytes, 1u << 20);
}

int main(void)
{
    test_ui_routes();
    test_router();
    test_routes_reach_their_handlers();
    test_artifact_routes();
    test_body_rules();
    TEST_MAIN_END("test_router");
}
