/* SPDX-License-Identifier: MIT
 *
 * fuzz_json_body: the request-body parser and every endpoint's validation.
 * The first input byte picks an endpoint, the rest is its JSON body. The
 * handler runs for real against a store on a temporary database (reads
 * are executed; a write that passes validation is dropped, not submitted),
 * so any crash, leak or UB in parsing or validation shows up here. The
 * size scan that runs before parsing (prescan.c) is checked on every body:
 * its counts must bound the tree cJSON builds (values, depth, longest
 * string), and the endpoint's own limits are applied as http.c does.
 */
#include "api.h"
#include "jsonx.h"
#include "log.h"
#include "prescan.h"
#include "router.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const paths[] = {
    "experiments/create",
    "experiments/get",
    "experiments/get-by-name",
    "experiments/search",
    "experiments/list",
    "experiments/update",
    "experiments/delete",
    "experiments/restore",
    "experiments/set-experiment-tag",
    "experiments/delete-experiment-tag",
    "runs/create",
    "runs/get",
    "runs/update",
    "runs/delete",
    "runs/restore",
    "runs/search",
    "runs/log-metric",
    "runs/log-parameter",
    "runs/set-tag",
    "runs/delete-tag",
    "runs/log-batch",
    "runs/log-inputs",
    "runs/log-model",
    "metrics/get-history",
    "metrics/get-history-bulk-interval",
    "metrics/get-history-bulk",
    "artifacts/list",
};
#define N_PATHS (sizeof(paths) / sizeof(*paths))

static struct app app;
static struct config cfg;
static char dir[] = "/tmp/gt-fuzz-XXXXXX";

static void cleanup_db(void)
{
    store_close(app.store);
    char path[sizeof(cfg.db_path) + 8];
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s%s", cfg.db_path, suffixes[i]);
        unlink(path);
    }
    rmdir(cfg.artifact_root);
    rmdir(dir);
}

static int setup(void)
{
    if (app.store)
        return 0;
    log_current_level = LOG_WARN;
    if (!mkdtemp(dir))
        return -1;
    snprintf(cfg.db_path, sizeof(cfg.db_path), "%s/fuzz.db", dir);
    snprintf(cfg.artifact_root, sizeof(cfg.artifact_root), "%s/art", dir);
    cfg.max_body_bytes = 1 << 20;
    struct store_config sc = {.db_path = cfg.db_path,
                              .artifact_root = cfg.artifact_root};
    struct errbuf eb;
    app.store = store_open(&sc, &eb);
    app.cfg = &cfg;
    if (!app.store)
        return -1;
    atexit(cleanup_db);
    return 0;
}

/* Values, depth and longest string (or name) of a parsed tree. */
static void tree_stats(const cJSON *v, unsigned level, struct prescan_stats *st)
{
    for (; v; v = v->next) {
        st->values++;
        if (v->string && strlen(v->string) > st->longest_string)
            st->longest_string = strlen(v->string);
        if (cJSON_IsString(v) && strlen(v->valuestring) > st->longest_string)
            st->longest_string = strlen(v->valuestring);
        if (cJSON_IsArray(v) || cJSON_IsObject(v)) {
            if (level + 1 > st->depth)
                st->depth = level + 1;
            tree_stats(v->child, level + 1, st);
        }
    }
}

/* The scan's counts bound the tree's: a scan that says less than the tree
 * holds would let a hostile body through. */
static void check_prescan(const char *body, size_t len)
{
    static const struct prescan_limits all = {~0u, (size_t)-1, (size_t)-1};
    struct prescan_stats scan;
    if (prescan_json(body, len, &all, &scan, NULL) != SRV_OK)
        abort();
    cJSON *tree = cJSON_ParseWithLengthOpts(body, len, NULL, 0);
    if (!tree)
        return;
    struct prescan_stats got = {0};
    tree_stats(tree, 0, &got);
    cJSON_Delete(tree);
    if (got.values > scan.values || got.depth > scan.depth ||
        got.longest_string > scan.longest_string)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || setup() != 0)
        return 0;
    char url[128];
    snprintf(url, sizeof(url), "/api/2.0/mlflow/%s", paths[data[0] % N_PATHS]);
    char *body = malloc(size);
    if (!body)
        return 0;
    memcpy(body, data + 1, size - 1);
    body[size - 1] = '\0';
    struct errbuf eb;
    cJSON *args = NULL;
    check_prescan(body, size - 1);
    /* as http.c: the endpoint's scan limits first, then the parse */
    struct route_info ri;
    if (route_lookup(url, "POST", &ri) != ROUTE_FOUND)
        route_lookup(url, "GET", &ri);
    if (prescan_json(body, size - 1, &ri.body->json, NULL, &eb) == SRV_OK &&
        jx_parse_body(body, size - 1, &args, &eb) == SRV_OK) {
        handler_fn h = NULL;
        const char *method = "POST";
        if (route_match(url, method, &h) != ROUTE_FOUND) {
            method = "GET";
            route_match(url, method, &h);
        }
        struct request req = {
            .method = method, .path = url, .args = args, .app = &app};
        struct response res = {0};
        strbuf_init(&res.body);
        if (h)
            h(&req, &res); /* H_PENDING: validated; the write is dropped */
        if (res.stream.free_state) /* an export's generator, never run */
            res.stream.free_state(res.stream.state);
        if (req.state_free)
            req.state_free(req.state);
        else
            free(req.state);
        strbuf_cleanup(&res.body);
        cJSON_Delete(args);
    }
    free(body);
    return 0;
}
