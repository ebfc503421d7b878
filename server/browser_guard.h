/* SPDX-License-Identifier: MIT
 *
 * browser_guard: the checks that keep web pages out of the API, with auth
 * on or off. A page the user opens may send requests to greentrack (the
 * browser attaches no credentials with auth off, but none are needed
 * then), and a DNS-rebinding page may even read the answers. So, before
 * a request is routed to its handler:
 *   - its Host must be one of --allowed-hosts (default: the bind address,
 *     localhost, 127.0.0.1 and [::1], each with the server's port; "*"
 *     turns the check off). A request without Host (HTTP/1.0) passes, and
 *     GET /health is exempt (probes use any name);
 *   - a state-changing request (not GET, HEAD or OPTIONS) from another
 *     site (Sec-Fetch-Site: cross-site, or an Origin that is not the
 *     request's own Host) is refused unless its Origin is listed in
 *     --cors-origins;
 *   - a raw-body route (the CSV import, grid/refresh) needs a Content-Type
 *     a plain HTML form cannot send: text/csv (or application/json) for
 *     the CSV import, application/json for the others;
 *   - CORS: a preflight OPTIONS from a listed origin gets 204 and the
 *     Access-Control-* headers; every answer to a listed origin carries
 *     Access-Control-Allow-Origin. No origin is listed by default.
 * Pure functions over strings: no I/O, thread-safe once the config is
 * built.
 */
#ifndef SERVER_BROWSER_GUARD_H
#define SERVER_BROWSER_GUARD_H

#include "err.h"

#include <stdbool.h>
#include <stddef.h>

/* One allowed Host: a name (lower case, IPv6 without brackets), or a
 * suffix ("*.example.com" is stored as ".example.com" with 'suffix'), and
 * a port (0: any port; GUARD_PORT_SELF: the port the request came in on,
 * for the default list, which is built before the port is bound). */
#define GUARD_PORT_SELF 65536u
struct guard_host {
    char name[256];
    bool suffix;
    unsigned port;
};

struct guard_config {
    bool any_host; /* --allowed-hosts '*' */
    struct guard_host *hosts;
    size_t n_hosts;
    char **origins; /* --cors-origins, each "scheme://host[:port]" */
    size_t n_origins;
    bool tls; /* served over HTTPS: a Host without port means 443 */
};

/* Checks the syntax of an --allowed-hosts list ("*", or comma-separated
 * "name", "name:port", "*.domain", "[v6]:port") and of a --cors-origins
 * list (comma-separated "http[s]://host[:port]"; "" is none). 0, or -1
 * with a one-line reason in 'err'. Either list may be NULL (not given). */
int guard_check_hosts(const char *list, char *err, size_t errlen);
int guard_check_origins(const char *list, char *err, size_t errlen);

/* Builds 'cfg' (caller-owned; release with guard_config_free). 'hosts'
 * NULL or "": the default list for 'bind_host' (with the server's port).
 * 'origins' NULL or "": none. 0, or -1 with 'err' set (bad syntax, out
 * of memory). */
int guard_config_init(struct guard_config *cfg, const char *hosts,
                      const char *origins, const char *bind_host, bool tls,
                      char *err, size_t errlen);

/* Frees what guard_config_init allocated; 'cfg' may be zeroed. */
void guard_config_free(struct guard_config *cfg);

/* What the guard needs of a request; header values NULL when absent. */
struct guard_request {
    const char *method;
    const char *path;
    const char *host;
    const char *origin;
    const char *sec_fetch_site;
    const char *content_type;
    const char *acr_method; /* Access-Control-Request-Method */
    bool has_body;          /* Content-Length > 0, or chunked */
    bool raw_body;          /* the route is ROUTE_RAW_BODY (not streamed) */
    bool csv_body;          /* ... and its body is CSV, not JSON */
    unsigned server_port;   /* the port the request came in on */
};

enum guard_verdict {
    GUARD_PASS,      /* route the request */
    GUARD_REFUSE,    /* answer 'err' with 'msg' */
    GUARD_PREFLIGHT, /* answer 204 with the CORS preflight headers */
};

struct guard_decision {
    enum guard_verdict verdict;
    enum srv_err err; /* GUARD_REFUSE */
    char msg[256];    /* GUARD_REFUSE */
    /* The Origin to name in Access-Control-Allow-Origin (it points at the
     * request's Origin value), or NULL: no CORS headers. Set with any
     * verdict when the origin is in --cors-origins. */
    const char *cors_origin;
};

/* Decides what happens to 'req'. Never allocates. */
void guard_check(const struct guard_config *cfg,
                 const struct guard_request *req, struct guard_decision *out);

/* The fixed preflight answer's headers (static strings). */
#define GUARD_CORS_METHODS "GET, HEAD, POST, PUT, PATCH, DELETE"
#define GUARD_CORS_HEADERS "Authorization, Content-Type, Range, X-Greentrack-UI"
#define GUARD_CORS_EXPOSE "Retry-After, Content-Range, Content-Disposition"
#define GUARD_CORS_MAX_AGE "600"

#endif
