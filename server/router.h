/* SPDX-License-Identifier: MIT
 *
 * router: the static table from URL paths to handlers. MLflow endpoints
 * answer under both /api/2.0/mlflow/ and /ajax-api/2.0/mlflow/; greentrack's
 * own under /api/2.0/greentrack/. Pure lookup, thread-safe.
 */
#ifndef SERVER_ROUTER_H
#define SERVER_ROUTER_H

#include "api.h"

enum route_method { ROUTE_GET = 1, ROUTE_POST = 2 };

enum route_result {
    ROUTE_FOUND,
    ROUTE_NOT_FOUND,  /* an API path nobody serves: 404 JSON */
    ROUTE_BAD_METHOD, /* the path exists for other methods: 405 JSON */
    ROUTE_STATIC      /* not an API path: the web UI's files */
};

/* Looks up 'path' for 'method' ("GET", "POST", ...). On ROUTE_FOUND,
 * '*handler' is set. */
enum route_result route_match(const char *path, const char *method,
                              handler_fn *handler);

#endif
