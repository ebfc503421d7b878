/* SPDX-License-Identifier: MIT
 *
 * http: the HTTP front end on libmicrohttpd (the only file that includes
 * microhttpd.h). Several daemons share the port (SO_REUSEPORT) so the
 * kernel spreads connections over threads; each request's body is
 * collected (413 beyond its route's limit, 503 past the in-flight body
 * budget), its JSON size-scanned (prescan.h) before it is parsed, routed,
 * and either answered at once or suspended while its write is
 * group-committed. Routes marked ROUTE_STREAM_BODY (artifact uploads) are
 * routed when their headers are in and get their body piece by piece as
 * it arrives, never collected (nor counted in the budget: no piece is
 * kept). Connections are limited in all and per client address
 * (connlimit.h), with a short inactivity timeout while a request is open
 * and a longer one between keep-alive requests.
 */
#ifndef SERVER_HTTP_H
#define SERVER_HTTP_H

#include "api.h"

#include <stddef.h>

struct http_server;

/* Starts listening. NULL on failure with a one-line reason in 'err'. */
struct http_server *http_start(struct app *app, char *err, size_t errlen);

/* The bound port (useful with --port 0). */
unsigned http_port(const struct http_server *srv);

/* Stops accepting and drains: writes arriving from now on get 503, and
 * every suspended request is answered with its write's result, or with
 * 503 when it could not commit within 'grace_ms' (the store then abandons
 * what is queued, store_abandon). Then the daemons stop and 'srv' is
 * freed. A write answered 200 is in the database. */
void http_stop(struct http_server *srv, unsigned grace_ms);

#endif
