/* SPDX-License-Identifier: MIT
 *
 * config: the server's settings from command-line flags and GREENTRACK_*
 * environment variables (a flag wins over its variable). Owned by main;
 * read-only once the server starts.
 */
#ifndef SERVER_CONFIG_H
#define SERVER_CONFIG_H

#include "log.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum durability { DURABILITY_FULL, DURABILITY_NORMAL };

struct config {
    char host[256];
    unsigned port;
    char db_path[4096];
    char db_read[4096];       /* --db-read: a streaming replica; "" = none */
    char artifact_root[4096]; /* made absolute by config_load */
    char web_root[4096];      /* "" when no UI directory was found */
    unsigned threads;
    size_t max_body_bytes;
    /* hostile load (http.c) */
    size_t max_inflight_body_bytes;  /* bodies held at once, all requests */
    unsigned max_connections;        /* open connections in all */
    unsigned max_connections_per_ip; /* ... from one address; 0 = any */
    unsigned request_timeout_s;      /* inactivity while a request is open */
    unsigned keepalive_timeout_s;    /* inactivity between requests */
    unsigned shutdown_grace_ms;      /* queued writes' time to commit */
    enum durability durability;
    enum log_level log_level;
    unsigned heartbeat_timeout_s; /* 0 disables heartbeat expiry */
    double default_pue;
    /* grid-intensity providers (grid.c); "" = not configured */
    char ukci_url[512];
    char electricitymaps_url[512];
    char electricitymaps_token[512];
    char watttime_url[512];
    char watttime_user[256];
    char watttime_password[256];
    unsigned grid_timeout_ms; /* one provider request, all included */
    unsigned grid_ttl_s;      /* forecasts older than this are refetched */
    unsigned grid_refresh_s;  /* background fetch of actuals; 0 = never */
    /* artifacts (specs/mlflow-artifacts.md) */
    bool serve_artifacts;          /* the mlflow-artifacts proxy is on */
    bool allow_external_artifacts; /* artifacts/list outside the root */
    uint64_t max_artifact_bytes;   /* largest upload */
    size_t max_response_bytes;     /* a list page ends before passing it
                                      (pager.h) */
    /* authentication (auth.c; specs/mlflow-auth.md) */
    bool auth;                        /* --auth: users, permissions, tokens */
    char auth_default_permission[16]; /* READ, EDIT, MANAGE or
                                         NO_PERMISSIONS (default READ) */
    /* TLS and browser safety (browser_guard.h, tls.h); "" = not given */
    char tls_cert[4096];      /* PEM certificate (chain) file */
    char tls_key[4096];       /* PEM private key file */
    char allowed_hosts[4096]; /* "" = the default list; "*" = any */
    char cors_origins[4096];  /* "" = none */
};

enum config_result { CONFIG_OK, CONFIG_EXIT_OK, CONFIG_ERROR };

/* Fills 'cfg' from argv and the environment. CONFIG_EXIT_OK: --help or
 * --version was printed to stdout. CONFIG_ERROR: a one-line message is in
 * 'err'. 'argv0' is used to find the web UI next to the binary. */
enum config_result config_load(struct config *cfg, int argc, char **argv,
                               char *err, size_t errlen);

/* Writes 'db' (a --db value) into 'out' as logs may show it: a
 * postgresql:// URL's password, in its user-info or as password=, becomes
 * "***"; a file path is copied. Always NUL-terminates 'out'. */
void config_db_display(const char *db, char *out, size_t size);

#endif
