/* SPDX-License-Identifier: MIT
 *
 * grid_http: one bounded HTTP GET for the grid-intensity providers, the
 * only server file that includes curl.h. Each call uses its own easy
 * handle (no shared state), so any thread may call it at once. A call
 * never outlives its timeout and stops early when '*abort' becomes
 * nonzero (server shutdown). Used by grid.c only.
 */
#ifndef SERVER_GRID_HTTP_H
#define SERVER_GRID_HTTP_H

#include "err.h"
#include "strbuf.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

/* Loads and initialises libcurl once per process (grid_http_get calls it;
 * any thread may). False when libcurl cannot be loaded; grid_http_get
 * then fails with the reason. */
bool grid_http_global_init(void);

struct grid_http_req {
    const char *url;
    const char *const *headers; /* "Name: value" lines, borrowed */
    size_t n_headers;
    const char *basic_user; /* HTTP Basic auth when non-NULL */
    const char *basic_password;
    long connect_timeout_ms;
    long timeout_ms;         /* the whole transfer */
    const atomic_int *abort; /* may be NULL */
    size_t max_body;         /* larger bodies fail the call */
};

struct grid_http_resp {
    long status;
    struct strbuf body;     /* caller cleans up (strbuf_cleanup) */
    unsigned retry_after_s; /* from a Retry-After header in seconds; 0 none */
};

/* Performs the GET. SRV_OK when an HTTP response arrived (any status,
 * in out->status); otherwise SRV_E_UNAVAILABLE with why in 'eb'
 * ("timed out after 5000 ms", "Couldn't connect to server", ...). 'out'
 * is initialised in every case and must be cleaned up by the caller. */
enum srv_err grid_http_get(const struct grid_http_req *rq,
                           struct grid_http_resp *out, struct errbuf *eb);

#endif
