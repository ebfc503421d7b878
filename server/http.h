/* SPDX-License-Identifier: MIT
 *
 * http: the HTTP front end on libmicrohttpd (the only file that includes
 * microhttpd.h). Several daemons share the port (SO_REUSEPORT) so the
 * kernel spreads connections over threads; each request's body is
 * collected (413 beyond --max-body-bytes), routed, and either answered at
 * once or suspended while its write is group-committed. Routes marked
 * ROUTE_STREAM_BODY (artifact uploads) are routed when their headers are
 * in and get their body piece by piece as it arrives, never collected.
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

/* Stops accepting, waits (up to 'grace_ms') for requests whose writes are
 * in flight to be answered, then stops the daemons and frees 'srv'. */
void http_stop(struct http_server *srv, unsigned grace_ms);

#endif
