/* SPDX-License-Identifier: MIT
 *
 * main: greentrack-server start-up and shutdown. Reads the configuration,
 * opens the store, starts HTTP, prints the listening line, starts the
 * leaderboard warm-up (lbwarm.h), and on SIGTERM/SIGINT stops accepting,
 * lets in-flight writes commit (or answers them 503 past
 * --shutdown-grace-ms; see http_stop), closes the database and exits 0.
 */
#include "auth.h"
#include "config.h"
#include "gc.h"
#include "grid.h"
#include "http.h"
#include "lbwarm.h"
#include "log.h"
#include "migrate.h"
#include "store.h"
#include "tls.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* Creates 'dir' and its parents (mkdir -p); 0 on success. */
static int make_dirs(const char *dir)
{
    char tmp[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof(tmp))
        return -1;
    memcpy(tmp, dir, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(tmp, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* True for an address only this machine reaches. */
static bool host_is_loopback(const char *host)
{
    return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 ||
           strcmp(host, "localhost") == 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "gc") == 0)
        return gc_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "migrate") == 0)
        return migrate_main(argc - 1, argv + 1);
    struct config cfg;
    char err[512];
    switch (config_load(&cfg, argc, argv, err, sizeof(err))) {
    case CONFIG_EXIT_OK:
        return 0;
    case CONFIG_ERROR:
        fprintf(stderr, "greentrack-server: %s\n", err);
        return 2;
    case CONFIG_OK:
        break;
    }
    log_current_level = cfg.log_level;

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* Blocked here and in every thread started below (they inherit the
     * mask); only sigsuspend in this thread receives them. */
    sigset_t stop_signals, old_mask;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, &old_mask);

    /* A bad certificate or key stops the server before anything is
     * created (http_start loads them again for the daemons). */
    if (cfg.tls_cert[0]) {
        struct tls_pair tls;
        if (tls_load(cfg.tls_cert, cfg.tls_key, &tls, err, sizeof(err)) != 0) {
            fprintf(stderr, "greentrack-server: %s\n", err);
            return 1;
        }
        tls_pair_free(&tls);
    }

    if (make_dirs(cfg.artifact_root) != 0)
        log_warn("cannot create the artifact root %s", cfg.artifact_root);

    /* SQLite keeps memory statistics (sqlite3_memory_used, the heap
     * limits; nothing here reads them) under one process-wide mutex taken
     * on every allocation: the writer and every reader would take it
     * thousands of times per request. Off, before any other SQLite call. */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);

    struct errbuf eb;
    struct store_config scfg = {
        .db_path = cfg.db_path,
        .db_read = cfg.db_read,
        .artifact_root = cfg.artifact_root,
        .serve_artifacts = cfg.serve_artifacts,
        .durable_full = cfg.durability == DURABILITY_FULL,
        .heartbeat_timeout_ms = (int64_t)cfg.heartbeat_timeout_s * 1000,
        .default_pue = cfg.default_pue,
    };
    struct store *st = store_open(&scfg, &eb);
    if (!st) {
        fprintf(stderr, "greentrack-server: %s\n", eb.msg);
        return 1;
    }
    struct grid *grid = grid_new(st, &cfg);
    if (!grid || grid_start(grid) != 0) {
        fprintf(stderr, "greentrack-server: cannot start the grid module\n");
        grid_free(grid);
        store_close(st);
        return 1;
    }
    struct app app = {.store = st, .cfg = &cfg, .grid = grid};
    if (auth_init(&app, err, sizeof(err)) != 0) {
        fprintf(stderr, "greentrack-server: %s\n", err);
        grid_free(grid);
        store_close(st);
        return 1;
    }
    if (!cfg.auth && !host_is_loopback(cfg.host))
        log_warn("listening on %s without --auth: anyone who can reach it "
                 "can read and change everything",
                 cfg.host);
    struct http_server *http = http_start(&app, err, sizeof(err));
    if (!http) {
        fprintf(stderr, "greentrack-server: %s\n", err);
        grid_free(grid);
        store_close(st);
        return 1;
    }
    const char *shown_host = cfg.host;
    printf("greentrack-server listening on %s://%s%s%s:%u\n",
           cfg.tls_cert[0] ? "https" : "http",
           strchr(shown_host, ':') ? "[" : "", shown_host,
           strchr(shown_host, ':') ? "]" : "", http_port(http));
    fflush(stdout);
    char db_shown[sizeof(cfg.db_path)];
    config_db_display(cfg.db_path, db_shown, sizeof(db_shown));
    log_info("database %s, artifacts %s, web UI %s", db_shown,
             cfg.artifact_root, cfg.web_root[0] ? cfg.web_root : "(none)");
    if (cfg.db_read[0]) {
        config_db_display(cfg.db_read, db_shown, sizeof(db_shown));
        log_info("searches, histories and leaderboards read from the "
                 "replica %s",
                 db_shown);
    }
    /* listening already: the warm-up delays no request */
    struct lbwarm *warm = lbwarm_start(st);

    while (!stop_requested)
        sigsuspend(&old_mask);

    log_info("shutting down");
    grid_abort(grid); /* provider fetches in flight give up at once */
    http_stop(http, cfg.shutdown_grace_ms);
    lbwarm_stop(warm); /* after the board it is building */
    grid_free(grid);   /* joins the refresh thread, which may still write */
    store_close(st);
    auth_shutdown();
    log_info("stopped");
    return 0;
}
