/* SPDX-License-Identifier: MIT
 *
 * router: the static table from URL paths to handlers. MLflow endpoints
 * answer under both /api/2.0/mlflow/ and /ajax-api/2.0/mlflow/ (and the
 * artifact proxy under both .../mlflow-artifacts/); greentrack's own under
 * /api/2.0/greentrack/. Pure lookup, thread-safe.
 */
#ifndef SERVER_ROUTER_H
#define SERVER_ROUTER_H

#include "api.h"
#include "prescan.h"

enum route_method {
    ROUTE_GET = 1, /* and HEAD */
    ROUTE_POST = 2,
    ROUTE_PUT = 4,
    ROUTE_DELETE = 8,
    ROUTE_PATCH = 16
};

/* Route flags: ROUTE_RAW_BODY routes take a non-JSON POST body (a CSV
 * upload) in request.body, and their arguments from the query string.
 * ROUTE_PREFIX: the route's name ends in '/' and matches any longer path
 * (the handler reads the rest from request.path). ROUTE_STREAM_BODY: the
 * handler runs when the headers are in and takes the body chunk by chunk
 * as it arrives (see request.body_chunk); it is never collected. */
enum route_flag {
    ROUTE_RAW_BODY = 1,
    ROUTE_PREFIX = 2,
    ROUTE_STREAM_BODY = 4,
    ROUTE_AJAX_ONLY = 8,  /* MLflow serves it for its UI only: not under
                            /api/2.0/mlflow/, only /ajax-api/2.0/mlflow/ */
    ROUTE_API_ONLY = 16,  /* only under /api/2.0/mlflow/ (the auth API) */
    ROUTE_FORM_BODY = 32, /* also takes an HTML form's body (exactly
                             application/x-www-form-urlencoded): users/create
                             from the /signup page; request.form is set */
    ROUTE_LONG_READ = 64, /* a read that may take long (summaries, exports,
                             searches, boards): http.c runs the handler and
                             makes a streamed body's pieces on its read
                             threads, never on an HTTP thread */
    ROUTE_REPLICA = 128   /* --db-read: its reads may go to the replica
                             (store_read_replica_choose decides per
                             client) */
};

/* What a route needs from its caller when --auth is on (auth.c checks
 * it; specs/mlflow-auth.md section 5 is the map). PERM_UNSET is a row
 * nobody mapped: it is refused (fail closed). EXP_* take the experiment
 * from 'experiment_id', RUN_* from 'run_id'/'run_uuid' (the run's
 * experiment), MODEL_* from 'name'. Admins pass every check. */
enum route_perm {
    PERM_UNSET = 0,
    PERM_NONE,          /* open to anyone (/health, /version, login) */
    PERM_ANY_USER,      /* any authenticated caller */
    PERM_CREATE,        /* any user, but not a token with a scope or a READ
                           ceiling (experiments/create, models/create) */
    PERM_ADMIN,         /* admins only */
    PERM_SELF,          /* 'username' is the caller's own, or an admin */
    PERM_EXP_READ,      /* READ on the experiment */
    PERM_EXP_EDIT,      /* EDIT */
    PERM_EXP_MANAGE,    /* MANAGE (MLflow's can_delete and can_manage) */
    PERM_EXP_NAME_READ, /* READ on the experiment named 'experiment_name' */
    PERM_EXP_IDS_READ,  /* READ on each of 'experiment_ids' */
    PERM_RUN_READ,
    PERM_RUN_EDIT,
    PERM_RUN_MANAGE,
    PERM_RUN_IDS_READ, /* READ on each run of 'run_ids' / 'run_id' list */
    PERM_RUNS_SEARCH,  /* any user; 'experiment_ids' narrowed to readable */
    PERM_MODEL_READ,
    PERM_MODEL_EDIT,
    PERM_MODEL_MANAGE,
    PERM_ARTIFACT,      /* the artifact proxy: the experiment is the path's
                           leading digits (else the default permission);
                           GET needs READ, other methods EDIT */
    PERM_ARTIFACT_LIST, /* as PERM_ARTIFACT from the 'path' argument */
    PERM_COUNT
};

enum route_result {
    ROUTE_FOUND,
    ROUTE_NOT_FOUND,  /* an API path nobody serves: 404 JSON */
    ROUTE_BAD_METHOD, /* the path exists for other methods: 405 JSON */
    ROUTE_STATIC      /* not an API path: the web UI's files (http.c
                         answers a JSON 404 for a missing one with a file
                         extension, index.html for the UI's deep links) */
};

/* What a route's request body may be: at most 'max_bytes' (0: the
 * server's --max-body-bytes, the larger limit), and, when 'json' has a
 * value limit, JSON whose raw text passes prescan_json with 'json'
 * before it is parsed (max_values 0: not JSON, or never collected). */
struct route_body {
    size_t max_bytes;
    struct prescan_limits json;
};

/* A route found by route_lookup. */
struct route_info {
    handler_fn handler;
    unsigned flags;                /* enum route_flag */
    enum route_perm perm;          /* PERM_UNSET unless ROUTE_FOUND */
    const struct route_body *body; /* never NULL */
};

/* Looks up 'path' for 'method' ("GET", "POST", ...) and fills '*out':
 * handler and flags on ROUTE_FOUND, and always the body rules (for a path
 * that has no route, the small JSON body's). */
enum route_result route_lookup(const char *path, const char *method,
                               struct route_info *out);

/* Looks up 'path' for 'method' ("GET", "POST", ...). On ROUTE_FOUND,
 * '*handler' is set. */
enum route_result route_match(const char *path, const char *method,
                              handler_fn *handler);

/* route_match, also giving the route's flags ('*flags' set on
 * ROUTE_FOUND). */
enum route_result route_match_flags(const char *path, const char *method,
                                    handler_fn *handler, unsigned *flags);

/* Row 'i' of the route table (for tests that walk it): its URL prefix
 * (the first one for MLflow's two), name, methods and permission. False
 * past the last row. */
bool route_row(size_t i, const char **prefix, const char **name,
               unsigned *methods, unsigned *flags, enum route_perm *perm);

#endif
