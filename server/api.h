/* SPDX-License-Identifier: MIT
 *
 * api: what handlers see of a request and fill in for a response, and the
 * handler contract. http.c owns both structs; handlers never include
 * microhttpd.h. A handler either completes the response (H_DONE) or hands
 * a store write to http.c (H_PENDING): the connection is suspended, the
 * write is group-committed, and then 'after_write' builds the response
 * (NULL: "{}"; an error response is built by http.c when the write failed).
 * A ROUTE_STREAM_BODY handler may also return H_BODY (request.body_chunk).
 */
#ifndef SERVER_API_H
#define SERVER_API_H

#include "config.h"
#include "err.h"
#include "store.h"
#include "strbuf.h"

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

struct grid;

/* Process-wide state handlers use; read-only after start-up. */
struct app {
    struct store *store;
    const struct config *cfg;
    struct grid *grid; /* grid-intensity providers (grid.h); may be NULL */
};

struct response;

/* Who sent a request, when --auth is on (auth.c fills it before the
 * handler runs; all zero with auth off). */
struct request_user {
    bool set; /* authenticated */
    int64_t id;
    char name[256];
    bool is_admin;    /* the user is an admin */
    bool admin_power; /* ... and its credential keeps that power (a token
                         with a ceiling or a scope does not) */
    int ceiling;      /* a token's ceiling (auth.h enum auth_level); -1:
                         none */
    char scope[64];   /* a token's experiment id; "": any */
    int64_t token_id;
    const char *method; /* "basic", "token", "session" or "none" */
};

struct request {
    const char *method;
    const char *path;
    cJSON *args;      /* body object, or the query string as an object */
    const char *body; /* the raw body of ROUTE_RAW_BODY routes, NUL-ended */
    size_t body_len;
    struct app *app;

    /* set by a handler returning H_PENDING */
    struct store_write *write;
    enum handler_result (*after_write)(struct request *req,
                                       struct response *res);
    void *state; /* handler-owned; freed with state_free at completion */
    void (*state_free)(void *state);
    /* optional with H_PENDING: runs first, on a background thread, for
     * slow outside calls (provider fetches) that must not hold an HTTP
     * thread; it may set 'skip_write' to answer (after_write) with no
     * store write. */
    void (*before_write)(struct request *req);
    bool skip_write;

    /* request details some handlers need (set by http.c) */
    const char *range;      /* the Range header, or NULL */
    int64_t content_length; /* the Content-Length header, -1 when absent */
    bool target_has_nul;    /* the raw request target had a %00 escape,
                               which the decoded path and query cannot show */

    /* ROUTE_STREAM_BODY routes: the handler runs when the headers are in,
     * before any body byte. It answers at once (H_DONE; the body is then
     * not read and the connection closes), or returns H_BODY having set
     * 'body_chunk', which receives the body piece by piece as it arrives
     * (on the connection's thread; an error stops the request and, once
     * the body has ended, is the answer), and 'body_end', which runs like
     * a handler when all of it arrived (H_DONE or H_PENDING, usually with
     * 'before_write' and 'skip_write' for slow work). */
    enum srv_err (*body_chunk)(struct request *req, const char *data,
                               size_t len, struct errbuf *eb);
    enum handler_result (*body_end)(struct request *req, struct response *res);

    /* authentication (set by http.c; auth.c reads them) */
    const char *authorization; /* the Authorization header, or NULL */
    const char *cookie;        /* the Cookie header, or NULL */
    bool from_ui;              /* X-Greentrack-UI: 1 (no Basic dialog) */
    bool over_tls;             /* served over HTTPS (Secure cookies) */
    char client_addr[64];      /* the peer's address, "" when unknown */
    bool form;                 /* ROUTE_FORM_BODY: the body was a form */
    struct request_user user;
    /* auth.c: a failing answer to hold back this long before it is sent
     * (throttled failed logins; http.c's delay queue) */
    unsigned delay_ms;
};

/* A body produced piece by piece (exports): 'next' appends the next piece
 * to 'out' and returns true, or returns false when there is no more
 * ('*failed' set when it stopped on an error: the connection is then
 * closed, so the client sees a truncated body, never a silent end). It
 * runs on the connection's thread. 'free_state' releases 'state' once the
 * response is done. */
struct response_stream {
    bool (*next)(void *state, struct strbuf *out, bool *failed);
    void *state;
    void (*free_state)(void *state);
};

/* A body sent from an open file (downloads): 'length' bytes from
 * 'offset'. http.c owns 'fd' once set and closes it. */
struct response_file {
    bool set;
    int fd;
    uint64_t offset, length;
};

#define RESPONSE_MAX_HEADERS 4

struct response {
    unsigned status;
    const char *content_type; /* static string */
    struct strbuf body;
    unsigned retry_after_s;          /* 0 = no Retry-After header */
    const char *content_disposition; /* static or NULL */
    struct response_stream stream;   /* used when stream.next is set */
    struct response_file file;       /* used when file.set */
    struct {
        const char *name;            /* static */
        char *value;                 /* owned */
    } headers[RESPONSE_MAX_HEADERS]; /* more headers (api_add_header) */
    size_t n_headers;
};

enum handler_result {
    H_DONE,
    H_PENDING,
    H_BODY /* ROUTE_STREAM_BODY: read the body (see request.body_chunk) */
};

typedef enum handler_result (*handler_fn)(struct request *req,
                                          struct response *res);

/* Fills 'res' with MLflow's error JSON for 'e' and 'message'. */
void api_error(struct response *res, enum srv_err e, const char *message);

/* Fills 'res' with 200 and the JSON in 'body' (taken over; 'body' is left
 * empty). */
void api_ok(struct response *res, struct strbuf *body);

/* Fills 'res' with 200 "{}". */
void api_ok_empty(struct response *res);

/* Adds header 'name' (static) with a copy of 'value'; false when out of
 * memory or RESPONSE_MAX_HEADERS are set. */
bool api_add_header(struct response *res, const char *name, const char *value);

/* Prepares a pending write: allocates 'size' zeroed bytes as req->state
 * (freed with free() at completion unless the handler sets state_free),
 * points req->write at the store_write that must be its first member, and
 * returns it. NULL when out of memory. */
void *api_pending(struct request *req, size_t size,
                  enum handler_result (*after_write)(struct request *,
                                                     struct response *));

#endif
