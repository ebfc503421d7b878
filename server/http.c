/* SPDX-License-Identifier: MIT
 *
 * http: libmicrohttpd glue (see http.h). Per-request state lives in
 * *con_cls and is freed only in the completion callback. The access handler
 * runs several times per request: headers, each body chunk, end of body,
 * and once more after a suspended request is resumed by the writer.
 */
#include "http.h"

#include "auth.h"
#include "browser_guard.h"
#include "connlimit.h"
#include "jsonx.h"
#include "log.h"
#include "numtext.h"
#include "prescan.h"
#include "router.h"
#include "tls.h"
#include "workq.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#define MAX_DAEMONS 16

/* The largest request head greentrack reads: a request target (path and
 * query) of HTTP_MAX_TARGET bytes and header lines of HTTP_MAX_HEADERS
 * bytes in all; larger ones are answered with a JSON 414 or 431. A query
 * of more than HTTP_MAX_QUERY_KEYS distinct names is a 400 (nothing reads
 * so many, and each costs a lookup).
 *
 * MHD keeps the request head, a record per header line and the response's
 * own header in one pool per connection (MHD_OPTION_CONNECTION_MEMORY_LIMIT,
 * 32 KiB by default), which must hold the largest head with room to spare:
 * HTTP_POOL_BYTES. Keep it no larger: MHD 0.9.75 zeroes the whole pool
 * after every request of a keep-alive connection (MHD_pool_reset), so its
 * size is paid on each request. A 1 MiB pool cost an HTTP thread about
 * 60 us a request on a busy 2-core machine, a third of the server's CPU
 * in single log-metric (BENCHMARKS.md, "Ingest against the bare prototype");
 * 256 KiB costs about 3 us. A head that outgrows even the pool (over
 * about 256 KiB) gets MHD's own 414 or 431,
 * whose body MHD 0.9.75 writes itself (HTML); it still closes at once. The
 * query string is not left to MHD: it would store each argument in the
 * pool, and a query that fills the pool that way made MHD 0.9.75 hang up
 * without an answer (on_uri). */
#define HTTP_MAX_TARGET (128 * 1024)
#define HTTP_MAX_HEADERS (64 * 1024)
#define HTTP_MAX_QUERY_KEYS 256
#define HTTP_POOL_BYTES (256 * 1024)
#define HTTP_POOL_INCREMENT (16 * 1024)

/* Requests whose slow part (a provider fetch, an upload's fsync) may wait
 * for a job thread at once; more are answered 503 with Retry-After. */
#define HTTP_MAX_JOBS 64

/* The in-flight body budget (--max-inflight-body-bytes) holds every body
 * being collected or still in use (until its request completes) and the
 * estimated size of the JSON tree each becomes: HTTP_TREE_VALUE_BYTES per
 * value the prescan counted (a cJSON node, a member name's allocation and
 * malloc's share; the strings' bytes are the body's). Bodies over
 * HTTP_BIG_BODY (the small JSON routes' limit) are admitted only within
 * three quarters of the budget, so that the last quarter stays free for
 * ordinary small requests (and the trees of bodies already in) while
 * large ones wait; any body is admitted when no other holds a byte, so a
 * budget below --max-body-bytes does not lock large bodies out. */
#define HTTP_TREE_VALUE_BYTES 128
#define HTTP_BIG_BODY (1024 * 1024)

/* File descriptors kept beside one per connection: the database and its
 * per-thread connections (3 each), artifact files, the daemons' own. */
#define HTTP_FD_RESERVE 256

struct http_server {
    struct app *app;
    struct MHD_Daemon *daemons[MAX_DAEMONS];
    unsigned n_daemons;
    unsigned port;
    struct connlimit *conns; /* open connections, in all and per client */
    unsigned max_connections;
    unsigned request_timeout_s, keepalive_timeout_s;
    pthread_mutex_t mu;
    bool stopping;
    unsigned inflight;  /* requests suspended at some point and not yet
                           completed (answer sent, or connection gone) */
    unsigned waiting;   /* ... of which not yet answered */
    size_t body_budget; /* --max-inflight-body-bytes */
    size_t body_held;   /* of it, by requests now (see budget_take) */
    struct workq *jobs; /* runs requests' before_write off the HTTP threads */
    /* runs ROUTE_LONG_READ handlers and their streamed bodies' pieces,
     * so that static files and short requests never wait behind them */
    struct workq *reads;
    /* test hook: GREENTRACK_TEST_LONG_READ_GATE names a file; a long
     * read's handler waits on its read thread until the file exists */
    char *long_read_gate;
    /* the delay queue: refusals of throttled logins wait here, their
     * connections suspended, until 'due'; one thread, started on first
     * use, resumes them (no request thread sleeps) */
    pthread_mutex_t delay_mu;
    pthread_cond_t delay_cv;
    pthread_t delay_thread;
    bool delay_started, delay_stop;
    struct http_req *delayed;  /* by due time */
    struct guard_config guard; /* Host, Origin, CORS rules (browser_guard.h) */
    struct tls_pair tls;       /* --tls-cert/--tls-key; cert_pem NULL: HTTP */
};

enum req_state {
    RS_READING,
    RS_WAITING,
    RS_WRITTEN,
    RS_ANSWERED,
    RS_DELAYED, /* a refusal held back by the delay queue (auth) */
    RS_READ     /* a long read's handler returned on a read thread */
};

struct http_req {
    struct http_server *srv; /* NULL until on_access's first call */
    struct MHD_Connection *conn;
    char *query;      /* the raw query string (on_uri), or NULL */
    bool query_taken; /* on_uri took the query from MHD (see on_uri) */
    bool target_long; /* the request target is over HTTP_MAX_TARGET */
    enum route_result route_result; /* set at the request's first call */
    struct route_info route;
    size_t body_limit; /* the route's largest body */
    size_t held;       /* bytes of the body budget held */
    struct strbuf body;
    bool too_large;
    bool over_budget;   /* the body budget had no room: 503 */
    bool counted;       /* holds one 'inflight' */
    bool waiting;       /* holds one 'waiting' */
    bool streaming;     /* ROUTE_STREAM_BODY: the body goes to body_chunk */
    bool stream_failed; /* ... which failed: res holds the error */
    bool refused;       /* the browser guard refused it: res holds the
                           error, sent once the body is read and dropped */
    const char *cors_origin; /* the request's Origin when --cors-origins
                                lists it (MHD's copy), else NULL */
    enum req_state state;
    int64_t due_ms; /* RS_DELAYED: when it is answered */
    struct http_req *delay_next;
    enum handler_result read_result; /* RS_READ: what the handler said */
    struct request req;
    struct response res;
};

/*---- responses ----*/

/* State of a streamed response: the handler's generator and the bytes
 * it produced that MHD has not taken yet. */
struct stream_ctx {
    struct response_stream s;
    struct strbuf pending;
    size_t sent; /* of pending */
    bool done;
    /* ROUTE_LONG_READ: the pieces are made on srv->reads (fill_job)
     * while the connection waits suspended; srv NULL: made here */
    struct http_server *srv;
    struct MHD_Connection *conn;
    atomic_bool busy; /* a fill job owns 'pending', 'done' and 'failed' */
    bool failed;
};

/* A long read's body is made this much at a time on a read thread. */
#define STREAM_FILL_BYTES (64 * 1024)

static void fill_pieces(struct stream_ctx *x)
{
    while (x->pending.len < STREAM_FILL_BYTES && !x->done && !x->failed) {
        bool failed = false;
        if (!x->s.next(x->s.state, &x->pending, &failed))
            x->done = true;
        if (failed || x->pending.oom)
            x->failed = true;
    }
}

/* A job of srv->reads: the next pieces, then the connection resumes
 * (and MHD calls stream_read again). */
static void fill_job(void *arg)
{
    struct stream_ctx *x = arg;
    struct http_server *srv = x->srv;
    fill_pieces(x);
    atomic_store(&x->busy, false);
    pthread_mutex_lock(&srv->mu);
    MHD_resume_connection(x->conn); /* 'x' may be gone from here on */
    srv->inflight--;
    pthread_mutex_unlock(&srv->mu);
}

/* stream_read for a long read: bytes made, or the connection suspended
 * while a read thread makes more (0: MHD asks again once it resumes). */
static ssize_t stream_read_long(struct stream_ctx *x, char *buf, size_t max)
{
    if (atomic_load(&x->busy))
        return 0;
    if (x->sent == x->pending.len) {
        if (x->failed)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (x->done)
            return MHD_CONTENT_READER_END_OF_STREAM;
        strbuf_reset(&x->pending);
        x->sent = 0;
        struct http_server *srv = x->srv;
        if (!workq_reserve(srv->reads)) {
            fill_pieces(x); /* the queue is full: here, as before */
            return stream_read_long(x, buf, max);
        }
        atomic_store(&x->busy, true);
        pthread_mutex_lock(&srv->mu);
        srv->inflight++; /* http_stop waits for it to resume */
        MHD_suspend_connection(x->conn);
        pthread_mutex_unlock(&srv->mu);
        if (!workq_submit_reserved(srv->reads, fill_job, x))
            fill_job(x);
        return 0;
    }
    size_t n = x->pending.len - x->sent;
    if (n > max)
        n = max;
    memcpy(buf, x->pending.buf + x->sent, n);
    x->sent += n;
    return (ssize_t)n;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct stream_ctx *x = cls;
    if (x->srv)
        return stream_read_long(x, buf, max);
    while (x->sent == x->pending.len) {
        if (x->done)
            return MHD_CONTENT_READER_END_OF_STREAM;
        strbuf_reset(&x->pending);
        x->sent = 0;
        bool failed = false;
        if (!x->s.next(x->s.state, &x->pending, &failed))
            x->done = true;
        if (failed || x->pending.oom)
            return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    size_t n = x->pending.len - x->sent;
    if (n > max)
        n = max;
    memcpy(buf, x->pending.buf + x->sent, n);
    x->sent += n;
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    struct stream_ctx *x = cls;
    if (x->s.free_state)
        x->s.free_state(x->s.state);
    strbuf_cleanup(&x->pending);
    free(x);
}

/* A response whose body comes from hr->res.stream: made on the read
 * threads for a ROUTE_LONG_READ route, else on this one. */
static struct MHD_Response *stream_response(struct http_req *hr)
{
    struct response *res = &hr->res;
    struct stream_ctx *x = calloc(1, sizeof(*x));
    if (!x)
        return NULL;
    if (hr->route_result == ROUTE_FOUND &&
        (hr->route.flags & ROUTE_LONG_READ)) {
        x->srv = hr->srv;
        x->conn = hr->conn;
    }
    atomic_init(&x->busy, false);
    x->s = res->stream;
    strbuf_init(&x->pending);
    memset(&res->stream, 0, sizeof(res->stream)); /* now owned by x */
    struct MHD_Response *r = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, 64 * 1024, stream_read, x, stream_free);
    if (!r)
        stream_free(x);
    return r;
}

/* A response sending res->file (MHD takes the descriptor over). */
static struct MHD_Response *file_response(struct response *res)
{
    struct response_file f = res->file;
    res->file.set = false;
    if (f.length == 0) {
        close(f.fd);
        return MHD_create_response_from_buffer(0, (void *)"",
                                               MHD_RESPMEM_PERSISTENT);
    }
    struct MHD_Response *r =
        MHD_create_response_from_fd_at_offset64(f.length, f.fd, f.offset);
    if (!r)
        close(f.fd);
    return r;
}

/* An answer to an origin listed in --cors-origins may be read by its
 * pages (browser_guard.h). */
static void add_cors_headers(const struct http_req *hr, struct MHD_Response *r)
{
    if (!hr->cors_origin)
        return;
    MHD_add_response_header(r, "Access-Control-Allow-Origin", hr->cors_origin);
    MHD_add_response_header(r, "Access-Control-Expose-Headers",
                            GUARD_CORS_EXPOSE);
    MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Origin");
}

static enum MHD_Result queue_response(struct http_req *hr)
{
    struct response *res = &hr->res;
    struct MHD_Response *r;
    if (res->stream.next) {
        r = stream_response(hr);
        if (!r)
            return MHD_NO;
    } else if (res->file.set) {
        r = file_response(res);
        if (!r)
            return MHD_NO;
    } else {
        size_t len = 0;
        char *body = strbuf_detach(&res->body, &len);
        if (!body)
            return MHD_NO;
        r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
        if (!r) {
            free(body);
            return MHD_NO;
        }
    }
    if (res->content_disposition)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_DISPOSITION,
                                res->content_disposition);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            res->content_type ? res->content_type
                                              : "application/json");
    if (res->retry_after_s) {
        char ra[16];
        snprintf(ra, sizeof(ra), "%u", res->retry_after_s);
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    for (size_t i = 0; i < res->n_headers; i++)
        MHD_add_response_header(r, res->headers[i].name, res->headers[i].value);
    add_cors_headers(hr, r);
    enum MHD_Result ret = MHD_queue_response(hr->conn, res->status, r);
    MHD_destroy_response(r);
    hr->state = RS_ANSWERED;
    auth_audit(&hr->req, res->status);
    log_debug("%s %s -> %u", hr->req.method, hr->req.path, res->status);
    return ret;
}

static enum MHD_Result respond_error(struct http_req *hr, enum srv_err e,
                                     const char *msg)
{
    api_error(&hr->res, e, msg);
    return queue_response(hr);
}

/* The request's answer is queued: it no longer waits for its write. */
static void release_waiting(struct http_req *hr)
{
    if (!hr->waiting)
        return;
    hr->waiting = false;
    pthread_mutex_lock(&hr->srv->mu);
    hr->srv->waiting--;
    pthread_mutex_unlock(&hr->srv->mu);
}

/* The request completed (its answer sent, or its connection gone). */
static void release_inflight(struct http_req *hr)
{
    release_waiting(hr);
    if (!hr->counted)
        return;
    hr->counted = false;
    pthread_mutex_lock(&hr->srv->mu);
    hr->srv->inflight--;
    pthread_mutex_unlock(&hr->srv->mu);
}

/*---- the in-flight body budget ----*/

/* Takes 'n' more bytes of the body budget for 'hr'; false, taking none,
 * when there is no room (see HTTP_TREE_VALUE_BYTES for the rules). The
 * big bodies' three quarters bound 'body' bytes; the tree of a body that
 * is in may use the whole budget. */
static bool budget_take(struct http_req *hr, size_t n, bool body)
{
    struct http_server *srv = hr->srv;
    size_t after = hr->held + n;
    size_t room = srv->body_budget;
    if (body && after > HTTP_BIG_BODY)
        room -= room / 4;
    pthread_mutex_lock(&srv->mu);
    bool alone = srv->body_held == hr->held;
    bool ok = alone || (srv->body_held + n >= srv->body_held &&
                        srv->body_held + n <= room);
    if (ok) {
        srv->body_held += n;
        hr->held = after;
    }
    pthread_mutex_unlock(&srv->mu);
    return ok;
}

static void budget_release(struct http_req *hr)
{
    if (!hr->held)
        return;
    pthread_mutex_lock(&hr->srv->mu);
    hr->srv->body_held -= hr->held;
    pthread_mutex_unlock(&hr->srv->mu);
    hr->held = 0;
}

static enum MHD_Result respond_budget_full(struct http_req *hr)
{
    return respond_error(hr, SRV_E_UNAVAILABLE,
                         "The server is busy with other request bodies "
                         "(--max-inflight-body-bytes); retry later");
}

/* The body size limit of 'hr''s route. */
static size_t route_body_limit(const struct http_req *hr)
{
    size_t max = hr->srv->app->cfg->max_body_bytes;
    size_t route = hr->route.body->max_bytes;
    return route && route < max ? route : max;
}

static enum MHD_Result respond_too_large(struct http_req *hr)
{
    char msg[128];
    snprintf(msg, sizeof(msg), "Request body exceeds the limit of %zu bytes",
             hr->body_limit);
    return respond_error(hr, SRV_E_TOO_LARGE, msg);
}

/*---- static files (the web UI) ----*/

static const char *mime_type(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"},
        {".map", "application/json"},
        {".woff2", "font/woff2"},
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof(types) / sizeof(*types); i++) {
        if (strcasecmp(dot, types[i].ext) == 0)
            return types[i].type;
    }
    return "application/octet-stream";
}

static int open_regular(const char *path, struct stat *st)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Whether the last segment of 'url' has a file extension ("/x/app.js"). */
static bool has_extension(const char *url)
{
    const char *last = strrchr(url, '/');
    const char *dot = strrchr(last ? last : url, '.');
    return dot && dot[1] != '\0' && dot != (last ? last + 1 : url);
}

/* Serves a file of the web root. A path that is not a file gets
 * index.html, so the UI's deep links work, unless it names a file (has an
 * extension): that is a JSON 404, never the UI's page. */
static enum MHD_Result serve_static(struct http_req *hr, const char *url)
{
    const char *root = hr->srv->app->cfg->web_root;
    if (!root[0])
        return respond_error(hr, SRV_E_ENDPOINT_NOT_FOUND,
                             "No web UI is installed (see --web-root)");
    char path[8192];
    struct stat st;
    int fd = -1;
    bool safe = url[0] == '/' && !strstr(url, "/..") && !strstr(url, "//");
    if (safe && strcmp(url, "/") != 0 &&
        (size_t)snprintf(path, sizeof(path), "%s%s", root, url) < sizeof(path))
        fd = open_regular(path, &st);
    if (fd < 0 && has_extension(url)) {
        char msg[300];
        snprintf(msg, sizeof(msg), "No file or API endpoint at %.200s", url);
        return respond_error(hr, SRV_E_ENDPOINT_NOT_FOUND, msg);
    }
    if (fd < 0) {
        snprintf(path, sizeof(path), "%s/index.html", root);
        fd = open_regular(path, &st);
    }
    if (fd < 0)
        return respond_error(hr, SRV_E_ENDPOINT_NOT_FOUND,
                             "The web UI has no index.html");
    struct MHD_Response *r =
        MHD_create_response_from_fd((uint64_t)st.st_size, fd);
    if (!r) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, mime_type(path));
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    enum MHD_Result ret = MHD_queue_response(hr->conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    hr->state = RS_ANSWERED;
    return ret;
}

/*---- request arguments ----*/

/* Query-string pairs become a JSON object: each key maps to the array of
 * its values, in order, marked as query values (see jsonx.h). */
static enum MHD_Result add_query_arg(void *cls, enum MHD_ValueKind kind,
                                     const char *key, const char *value)
{
    (void)kind;
    cJSON *obj = cls;
    cJSON *values = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!values) {
        values = cJSON_AddArrayToObject(obj, key);
        if (!values)
            return MHD_NO;
        values->valueint = JX_QUERY_VALUES;
    }
    cJSON *s = cJSON_CreateString(value ? value : "");
    if (!s || !cJSON_AddItemToArray(values, s)) {
        cJSON_Delete(s);
        return MHD_NO;
    }
    return MHD_YES;
}

/* Decodes s[0, len) as MHD decodes query arguments ('+' is a space, %XX
 * a byte, a malformed escape stays as it is, a %00 ends the text) into a
 * new NUL-terminated string; NULL when out of memory. */
static char *query_unescape(const char *s, size_t len)
{
    char *out = malloc(len + 1), *w = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        int hi, lo;
        if (s[i] == '+') {
            *w++ = ' ';
        } else if (s[i] == '%' && i + 2 < len &&
                   (hi = numtext_hex_digit(s[i + 1])) >= 0 &&
                   (lo = numtext_hex_digit(s[i + 2])) >= 0) {
            char c = (char)(hi * 16 + lo);
            if (c == '\0')
                break;
            *w++ = c;
            i += 2;
        } else {
            *w++ = s[i];
        }
    }
    *w = '\0';
    return out;
}

/* Query-string pairs of 'q' become 'obj' as add_query_arg builds it
 * (empty pairs are skipped; a name without '=' has the value ""), with
 * '*n' pairs. A query of more than HTTP_MAX_QUERY_KEYS distinct names is
 * INVALID_PARAMETER_VALUE. One pass, no per-pair work in MHD's pool. */
static enum srv_err parse_query(const char *q, cJSON *obj, size_t *n,
                                struct errbuf *eb)
{
    size_t keys = 0;
    *n = 0;
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', len);
        size_t klen = eq ? (size_t)(eq - q) : len;
        if (len) {
            char *key = query_unescape(q, klen);
            char *value =
                eq ? query_unescape(eq + 1, len - klen - 1) : strdup("");
            enum srv_err e = SRV_OK;
            if (!key || !value) {
                e = SRV_E_NOMEM;
            } else {
                bool known = cJSON_GetObjectItemCaseSensitive(obj, key);
                if (!known && ++keys > HTTP_MAX_QUERY_KEYS)
                    e = err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                                "The query string has more than %d distinct "
                                "parameter names",
                                HTTP_MAX_QUERY_KEYS);
                else if (add_query_arg(obj, MHD_GET_ARGUMENT_KIND, key,
                                       value) != MHD_YES)
                    e = SRV_E_NOMEM;
            }
            free(key);
            free(value);
            if (e)
                return e == SRV_E_NOMEM ? err_set(eb, e, "out of memory") : e;
            (*n)++;
        }
        q = amp ? amp + 1 : NULL;
    }
    return SRV_OK;
}

static bool is_json_type(const char *ct)
{
    static const char json[] = "application/json";
    while (*ct == ' ')
        ct++;
    if (strncasecmp(ct, json, sizeof(json) - 1) != 0)
        return false;
    char next = ct[sizeof(json) - 1];
    return next == '\0' || next == ';' || next == ' ';
}

/* Fills req.args from the body (POST) or the query string (GET). PATCH
 * and DELETE (the model registry's) carry a JSON body, read leniently as
 * MLflow does: no Content-Type check, and a broken body counts as {}; one
 * without a body takes the query string instead. */
static enum srv_err build_args(struct http_req *hr, bool is_post,
                               struct errbuf *eb)
{
    bool json_body = strcmp(hr->req.method, "PATCH") == 0 ||
                     strcmp(hr->req.method, "DELETE") == 0;
    if (json_body && hr->body.len) {
        struct errbuf ignored;
        if (jx_parse_body(hr->body.buf, hr->body.len, &hr->req.args,
                          &ignored) == SRV_OK)
            return SRV_OK;
        hr->req.args = cJSON_CreateObject();
        return hr->req.args ? SRV_OK : SRV_E_NOMEM;
    }
    if (is_post) {
        const char *ct = MHD_lookup_connection_value(
            hr->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
        if (!ct)
            return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                           "Bad Request. Content-Type header is missing.");
        if ((hr->route.flags & ROUTE_FORM_BODY) &&
            strcmp(ct, "application/x-www-form-urlencoded") == 0) {
            /* an HTML form (MLflow's signup page): name=value&... */
            cJSON *form = cJSON_CreateObject();
            size_t n;
            if (!form)
                return SRV_E_NOMEM;
            enum srv_err e =
                parse_query(hr->body.buf ? hr->body.buf : "", form, &n, eb);
            if (e) {
                cJSON_Delete(form);
                return e;
            }
            hr->req.args = form;
            hr->req.form = true;
            return SRV_OK;
        }
        if (!is_json_type(ct))
            return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                           "Bad Request. Content-Type must be one of "
                           "['application/json'].");
        return jx_parse_body(hr->body.buf ? hr->body.buf : "", hr->body.len,
                             &hr->req.args, eb);
    }
    cJSON *obj = cJSON_CreateObject();
    if (!obj)
        return SRV_E_NOMEM;
    size_t n = 0;
    if (hr->query_taken) {
        enum srv_err e = parse_query(hr->query, obj, &n, eb);
        if (e) {
            cJSON_Delete(obj);
            return e;
        }
    } else {
        int got = MHD_get_connection_values(hr->conn, MHD_GET_ARGUMENT_KIND,
                                            add_query_arg, obj);
        n = got > 0 ? (size_t)got : 0;
    }
    if (n == 0 && hr->body.len && strcmp(hr->req.method, "GET") == 0) {
        /* A GET without a query string may carry a JSON body (MLflow). */
        cJSON_Delete(obj);
        return jx_parse_body(hr->body.buf, hr->body.len, &hr->req.args, eb);
    }
    hr->req.args = obj;
    return SRV_OK;
}

/*---- dispatch ----*/

/* Who the request comes from, for read-your-writes with --db-read: the
 * authenticated user, else the peer's address. */
static void client_identity(const struct request *rq, char *out, size_t size)
{
    if (rq->user.set)
        snprintf(out, size, "u:%s", rq->user.name);
    else
        snprintf(out, size, "a:%s", rq->client_addr);
}

static void on_write_done(struct store_write *w, void *userdata)
{
    (void)w;
    struct http_req *hr = userdata;
    hr->state = RS_WRITTEN;
    MHD_resume_connection(hr->conn);
}

/* Hands a suspended request's write to the group-commit writer. */
static void submit_write(struct http_req *hr)
{
    hr->req.write->done = on_write_done;
    hr->req.write->userdata = hr;
    store_submit(hr->srv->app->store, hr->req.write);
}

/* A job of srv->jobs: the handler's slow part, then its write (or, when
 * it needs none, the answer at once). */
static void run_before_write(void *arg)
{
    struct http_req *hr = arg;
    hr->req.before_write(&hr->req);
    if (hr->req.skip_write)
        on_write_done(hr->req.write, hr);
    else
        submit_write(hr);
}

static enum MHD_Result finish_write(struct http_req *hr)
{
    struct store_write *w = hr->req.write;
    if (w->result == SRV_OK && !hr->req.skip_write &&
        store_has_replica(hr->srv->app->store)) {
        char who[320];
        client_identity(&hr->req, who, sizeof(who));
        store_read_note_write(hr->srv->app->store, who);
    }
    if (w->result != SRV_OK)
        api_error(&hr->res, w->result,
                  w->err.msg[0] ? w->err.msg : err_code_name(w->result));
    else if (hr->req.after_write)
        hr->req.after_write(&hr->req, &hr->res);
    else
        api_ok_empty(&hr->res);
    enum MHD_Result ret = queue_response(hr);
    release_waiting(hr);
    return ret;
}

/* Suspends 'hr' and counts it as in flight and waiting, unless the server
 * is stopping: then returns false with the place reserved in 'reserved'
 * (may be NULL) given back, and the caller answers 503. */
static bool suspend_counted(struct http_req *hr, struct workq *reserved)
{
    struct http_server *srv = hr->srv;
    pthread_mutex_lock(&srv->mu);
    if (srv->stopping) {
        pthread_mutex_unlock(&srv->mu);
        if (reserved)
            workq_unreserve(reserved);
        return false;
    }
    srv->inflight++;
    srv->waiting++;
    hr->counted = true;
    hr->waiting = true;
    hr->state = RS_WAITING;
    MHD_suspend_connection(hr->conn);
    pthread_mutex_unlock(&srv->mu);
    return true;
}

/* A write: suspend, then hand it to the group-commit writer (after its
 * before_write job, if any). */
static enum MHD_Result pend(struct http_req *hr)
{
    struct http_server *srv = hr->srv;
    /* A job's place is taken before the request is suspended, so a full
     * queue is a 503 with Retry-After, never an unbounded wait. */
    if (hr->req.before_write && !workq_reserve(srv->jobs))
        return respond_error(hr, SRV_E_UNAVAILABLE,
                             "The server's job queue is full; retry later");
    if (!suspend_counted(hr, hr->req.before_write ? srv->jobs : NULL))
        return respond_error(hr, SRV_E_UNAVAILABLE,
                             "The server is shutting down");
    if (hr->req.before_write &&
        workq_submit_reserved(srv->jobs, run_before_write, hr))
        return MHD_YES;
    if (hr->req.before_write) /* out of memory: run it here */
        run_before_write(hr);
    else
        submit_write(hr);
    return MHD_YES;
}

static bool delay_enqueue(struct http_req *hr);

static int64_t mono_ms(void);

/* Runs 'handler' with this thread's reads routed for the request: to the
 * replica for a ROUTE_REPLICA route when store_read_replica_choose lets
 * this client read there, else to the primary (a streamed reply's pieces
 * keep the route: pager.c). */
static enum handler_result run_handler(struct http_req *hr, handler_fn handler)
{
    struct store *st = hr->srv->app->store;
    bool replica = false;
    if ((hr->route.flags & ROUTE_REPLICA) && store_has_replica(st)) {
        char who[320];
        client_identity(&hr->req, who, sizeof(who));
        replica = store_read_replica_choose(st, who);
    }
    bool was = store_read_route(replica);
    enum handler_result r = handler(&hr->req, &hr->res);
    store_read_route(was);
    return r;
}

/* A job of srv->reads: a long read's handler (after the test gate, when
 * set), then the connection resumes into RS_READ. */
static void run_long_read(void *arg)
{
    struct http_req *hr = arg;
    const char *gate = hr->srv->long_read_gate;
    if (gate) {
        struct stat sb;
        struct timespec nap = {0, 10 * 1000 * 1000};
        log_info("long read %s waits for the test gate", hr->req.path);
        for (int64_t until = mono_ms() + 60000;
             stat(gate, &sb) != 0 && mono_ms() < until;)
            nanosleep(&nap, NULL);
    }
    hr->read_result = run_handler(hr, hr->route.handler);
    hr->state = RS_READ;
    MHD_resume_connection(hr->conn);
}

/* A ROUTE_LONG_READ request: suspended while a read thread runs its
 * handler; 503 with Retry-After when too many wait for one already. */
static enum MHD_Result long_read(struct http_req *hr)
{
    struct http_server *srv = hr->srv;
    if (!workq_reserve(srv->reads))
        return respond_error(hr, SRV_E_UNAVAILABLE,
                             "The server's read queue is full; retry later");
    if (!suspend_counted(hr, srv->reads))
        return respond_error(hr, SRV_E_UNAVAILABLE,
                             "The server is shutting down");
    if (!workq_submit_reserved(srv->reads, run_long_read, hr))
        run_long_read(hr); /* out of memory: here */
    return MHD_YES;
}

/* Answers what a handler returned: at once, or once its write is done. */
static enum MHD_Result answer(struct http_req *hr, enum handler_result r)
{
    switch (r) {
    case H_PENDING:
        return pend(hr);
    case H_BODY: /* only ROUTE_STREAM_BODY handlers, at the headers */
        api_error(&hr->res, SRV_E_INTERNAL, "handler error");
        return queue_response(hr);
    case H_DONE:
        break;
    }
    if (hr->req.delay_ms && hr->res.status >= 400 && delay_enqueue(hr))
        return MHD_YES; /* a throttled failed login (auth/login) */
    return queue_response(hr);
}

static bool has_body(const struct http_req *hr)
{
    return hr->req.content_length > 0 ||
           MHD_lookup_connection_value(hr->conn, MHD_HEADER_KIND,
                                       MHD_HTTP_HEADER_TRANSFER_ENCODING);
}

/* "Expect: 100-continue": the client waits for a go-ahead before the
 * body, so an answer now costs it nothing. */
static bool expects_continue(const struct http_req *hr)
{
    const char *e = MHD_lookup_connection_value(hr->conn, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_EXPECT);
    return e && strcasecmp(e, "100-continue") == 0;
}

/*---- the delay queue ----*/

static socklen_t sockaddr_len(const struct sockaddr *sa);

static void *delay_main(void *arg)
{
    struct http_server *srv = arg;
    pthread_mutex_lock(&srv->delay_mu);
    for (;;) {
        int64_t now = mono_ms();
        while (srv->delayed &&
               (srv->delay_stop || srv->delayed->due_ms <= now)) {
            struct http_req *hr = srv->delayed;
            srv->delayed = hr->delay_next;
            MHD_resume_connection(hr->conn);
        }
        if (srv->delay_stop && !srv->delayed)
            break;
        if (!srv->delayed) {
            pthread_cond_wait(&srv->delay_cv, &srv->delay_mu);
            continue;
        }
        int64_t wait = srv->delayed->due_ms - now;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += wait / 1000;
        ts.tv_nsec += (long)(wait % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&srv->delay_cv, &srv->delay_mu, &ts);
    }
    pthread_mutex_unlock(&srv->delay_mu);
    return NULL;
}

/* Suspends 'hr', whose answer is in hr->res, for req.delay_ms; false
 * (nothing done) when it cannot be queued: the caller answers at once. */
static bool delay_enqueue(struct http_req *hr)
{
    struct http_server *srv = hr->srv;
    pthread_mutex_lock(&srv->delay_mu);
    if (!srv->delay_started) {
        if (pthread_create(&srv->delay_thread, NULL, delay_main, srv) != 0) {
            pthread_mutex_unlock(&srv->delay_mu);
            return false;
        }
        srv->delay_started = true;
    }
    pthread_mutex_unlock(&srv->delay_mu);
    pthread_mutex_lock(&srv->mu);
    if (srv->stopping) {
        pthread_mutex_unlock(&srv->mu);
        return false;
    }
    srv->inflight++;
    srv->waiting++;
    hr->counted = true;
    hr->waiting = true;
    hr->state = RS_DELAYED;
    MHD_suspend_connection(hr->conn);
    pthread_mutex_unlock(&srv->mu);
    pthread_mutex_lock(&srv->delay_mu);
    hr->due_ms = mono_ms() + hr->req.delay_ms;
    struct http_req **pp = &srv->delayed;
    while (*pp && (*pp)->due_ms <= hr->due_ms)
        pp = &(*pp)->delay_next;
    hr->delay_next = *pp;
    *pp = hr;
    pthread_cond_signal(&srv->delay_cv);
    pthread_mutex_unlock(&srv->delay_mu);
    return true;
}

/* Answers every delayed request now and ends the thread. */
static void delay_stop(struct http_server *srv)
{
    pthread_mutex_lock(&srv->delay_mu);
    srv->delay_stop = true;
    bool started = srv->delay_started;
    pthread_cond_signal(&srv->delay_cv);
    pthread_mutex_unlock(&srv->delay_mu);
    if (started)
        pthread_join(srv->delay_thread, NULL);
}

/*---- authentication (auth.h) ----*/

/* The request's credentials and peer for auth.c (MHD's copies, valid
 * until the request completes). */
static void auth_headers(struct http_req *hr)
{
    struct request *rq = &hr->req;
    rq->authorization = MHD_lookup_connection_value(
        hr->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    rq->cookie = MHD_lookup_connection_value(hr->conn, MHD_HEADER_KIND,
                                             MHD_HTTP_HEADER_COOKIE);
    const char *ui = MHD_lookup_connection_value(hr->conn, MHD_HEADER_KIND,
                                                 "X-Greentrack-UI");
    rq->from_ui = ui && strcmp(ui, "1") == 0;
    rq->over_tls = hr->srv->app->cfg->tls_cert[0] != '\0';
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(hr->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    if (!sa ||
        getnameinfo(sa, sockaddr_len(sa), rq->client_addr,
                    sizeof(rq->client_addr), NULL, 0, NI_NUMERICHOST) != 0)
        rq->client_addr[0] = '\0';
}

/* Runs auth_check for a route needing 'perm'; false when refused, with
 * the error answer in hr->res. */
static bool auth_pass(struct http_req *hr, enum route_perm perm)
{
    struct errbuf eb;
    unsigned retry = 0;
    enum srv_err e = auth_check(&hr->req, perm, &retry, &eb);
    if (!e)
        return true;
    auth_error_response(&hr->req, &hr->res, e, eb.msg, retry);
    return false;
}

/* Sends the refusal auth_pass left in hr->res: at once, or after
 * req.delay_ms through the delay queue (a throttled failed login). */
static enum MHD_Result auth_refuse(struct http_req *hr)
{
    if (hr->req.delay_ms && delay_enqueue(hr))
        return MHD_YES;
    return queue_response(hr);
}

/* A ROUTE_STREAM_BODY request, when its headers are in: the handler
 * answers now, or takes the body as it comes (stream_body). */
static enum MHD_Result stream_start(struct http_req *hr, handler_fn handler)
{
    struct errbuf eb;
    enum srv_err e = build_args(hr, false, &eb);
    if (e)
        return respond_error(hr, e, eb.msg);
    if (!auth_pass(hr, hr->route.perm)) {
        if (has_body(hr) && !expects_continue(hr) && !hr->req.delay_ms) {
            /* answered once the body is read and dropped (see below) */
            hr->streaming = true;
            hr->stream_failed = true;
            return MHD_YES;
        }
        return auth_refuse(hr);
    }
    enum handler_result r = handler(&hr->req, &hr->res);
    if (r == H_BODY) {
        hr->streaming = true;
        return MHD_YES;
    }
    if (r == H_DONE && has_body(hr) && !expects_continue(hr)) {
        /* An answer now would close the connection while the client is
         * still sending: most clients then see a broken pipe, not the
         * answer. So the body is read and dropped, and answered after. */
        hr->streaming = true;
        hr->stream_failed = true;
        return MHD_YES;
    }
    return answer(hr, r);
}

/* One piece of a streamed body, or its end (no data). */
static enum MHD_Result stream_body(struct http_req *hr, const char *data,
                                   size_t *size)
{
    if (*size) {
        if (!hr->stream_failed) {
            struct errbuf eb;
            enum srv_err e = hr->req.body_chunk(&hr->req, data, *size, &eb);
            if (e) {
                /* MHD 0.9.75 cannot answer before the body ends: the rest
                 * is read and dropped, then the error is the answer */
                hr->stream_failed = true;
                api_error(&hr->res, e, eb.msg);
            }
        }
        *size = 0;
        return MHD_YES;
    }
    if (hr->stream_failed)
        return queue_response(hr);
    return answer(hr, hr->req.body_end(&hr->req, &hr->res));
}

/* The size scan of a JSON body (prescan.h) with its route's limits, then
 * the estimated size of the tree it becomes taken from the body budget.
 * A double-encoded body (a JSON string holding the object, which
 * jx_parse_body decodes) has its decoded text scanned too. */
static enum srv_err check_json_body(struct http_req *hr, struct errbuf *eb)
{
    const struct prescan_limits *lim = &hr->route.body->json;
    struct prescan_stats st;
    enum srv_err e = prescan_json(hr->body.buf, hr->body.len, lim, &st, eb);
    if (e)
        return e;
    size_t values = st.values;
    if (st.top_string) {
        cJSON *outer =
            cJSON_ParseWithLengthOpts(hr->body.buf, hr->body.len, NULL, 0);
        if (cJSON_IsString(outer)) {
            struct prescan_stats inner;
            e = prescan_json(outer->valuestring, strlen(outer->valuestring),
                             lim, &inner, eb);
            values += inner.values;
        }
        cJSON_Delete(outer);
        if (e)
            return e;
    }
    if (!budget_take(hr, values * HTTP_TREE_VALUE_BYTES, false))
        return err_set(eb, SRV_E_UNAVAILABLE,
                       "The server is busy with other request bodies "
                       "(--max-inflight-body-bytes); retry later");
    return SRV_OK;
}

static enum MHD_Result dispatch(struct http_req *hr, const char *url,
                                const char *method)
{
    handler_fn handler = hr->route.handler;
    unsigned flags = hr->route.flags;
    switch (hr->route_result) {
    case ROUTE_STATIC:
        if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
            return respond_error(hr, SRV_E_METHOD_NOT_ALLOWED,
                                 "Only GET is allowed on this path");
        return serve_static(hr, url);
    case ROUTE_NOT_FOUND: {
        /* with --auth, only a caller learns which API paths exist */
        if (!auth_pass(hr, PERM_ANY_USER))
            return auth_refuse(hr);
        char msg[300];
        snprintf(msg, sizeof(msg), "No API endpoint at %.200s", url);
        return respond_error(hr, SRV_E_ENDPOINT_NOT_FOUND, msg);
    }
    case ROUTE_BAD_METHOD: {
        if (!auth_pass(hr, PERM_ANY_USER))
            return auth_refuse(hr);
        char msg[300];
        snprintf(msg, sizeof(msg), "Method %.16s is not allowed for %.200s",
                 method, url);
        return respond_error(hr, SRV_E_METHOD_NOT_ALLOWED, msg);
    }
    case ROUTE_FOUND:
        break;
    }
    struct errbuf eb;
    bool raw = flags & ROUTE_RAW_BODY;
    enum srv_err e = SRV_OK;
    if (hr->body.len && hr->route.body->json.max_values)
        e = check_json_body(hr, &eb);
    if (!e)
        e = build_args(hr, strcmp(method, "POST") == 0 && !raw, &eb);
    if (e)
        return respond_error(hr, e, eb.msg);
    if (raw) {
        hr->req.body = hr->body.buf ? hr->body.buf : "";
        hr->req.body_len = hr->body.len;
    }
    if (!auth_pass(hr, hr->route.perm))
        return auth_refuse(hr);
    if (flags & ROUTE_LONG_READ)
        return long_read(hr);
    return answer(hr, run_handler(hr, handler));
}

/* The URI log callback: MHD calls it with the raw request target once the
 * request line is in, before it parses the query string, and what it
 * returns becomes *con_cls. It starts the request's state: whether the
 * target is too long, whether it has a %00 escape (MHD decodes it to a NUL
 * that ends the path and query strings, so handlers could not see it
 * otherwise), and a copy of the query string, which parse_query reads.
 *
 * MHD 0.9.75 stores each query argument in the connection's pool; a query
 * of many short arguments fills it, and MHD then hangs up without an
 * answer. So the query is ended right after its '?' in MHD's own buffer
 * (the target is MHD's request-line buffer, writable, that MHD splits at
 * the '?' next): MHD sees an empty query. Should a libmicrohttpd parse the
 * query before this call, the copy is still what counts. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct http_server *srv = cls;
    /* A request has begun: the short timeout until it is answered (the
     * keep-alive one applied since the last request completed). */
    if (srv->keepalive_timeout_s != srv->request_timeout_s)
        MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT,
                                  srv->request_timeout_s);
    struct http_req *hr = calloc(1, sizeof(*hr));
    if (!hr)
        return NULL; /* on_access allocates it, and MHD parses the query */
    for (const char *p = strchr(uri, '%'); p; p = strchr(p + 1, '%')) {
        if (p[1] == '0' && p[2] == '0') {
            hr->req.target_has_nul = true;
            break;
        }
    }
    char *q = strchr(uri, '?');
    if (strlen(uri) > HTTP_MAX_TARGET) {
        hr->target_long = true;
    } else if (q && !(hr->query = strdup(q + 1))) {
        free(hr);
        return NULL;
    }
    if (q && q[1])
        q[1] = '\0';
    hr->query_taken = true;
    return hr;
}

static enum MHD_Result add_header_size(void *cls, enum MHD_ValueKind kind,
                                       const char *key, const char *value)
{
    (void)kind;
    size_t *total = cls;
    *total += strlen(key) + (value ? strlen(value) : 0) + 4; /* ": ", CRLF */
    return MHD_YES;
}

/*---- the browser guard ----*/

static const char *header(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* The port the connection came in on (all daemons share one). */
static unsigned connection_port(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_DAEMON);
    const union MHD_DaemonInfo *di =
        ci ? MHD_get_daemon_info(ci->daemon, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    return di ? di->port : 0;
}

/* The answer to a CORS preflight from a listed origin: 204. */
static enum MHD_Result respond_preflight(struct http_req *hr)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    add_cors_headers(hr, r);
    MHD_add_response_header(r, "Access-Control-Allow-Methods",
                            GUARD_CORS_METHODS);
    MHD_add_response_header(r, "Access-Control-Allow-Headers",
                            GUARD_CORS_HEADERS);
    MHD_add_response_header(r, "Access-Control-Max-Age", GUARD_CORS_MAX_AGE);
    enum MHD_Result ret = MHD_queue_response(hr->conn, MHD_HTTP_NO_CONTENT, r);
    MHD_destroy_response(r);
    hr->state = RS_ANSWERED;
    return ret;
}

/* Runs the browser guard (browser_guard.h) once the request's headers are
 * in and its route is known. '*pass': the request goes on. Otherwise the
 * return value is on_access's: a refusal is answered at once when there
 * is no body to wait for (or it is large, chunked, or the client waits for
 * a go-ahead), else after the body is read and dropped (hr->refused), as
 * an answer sent while the client still sends reaches it as a broken
 * pipe. */
static enum MHD_Result run_guard(struct http_req *hr, const char *url,
                                 const char *method, bool *pass)
{
    struct MHD_Connection *c = hr->conn;
    unsigned flags = hr->route.flags;
    bool raw = hr->route_result == ROUTE_FOUND && (flags & ROUTE_RAW_BODY) &&
               !(flags & ROUTE_STREAM_BODY);
    struct guard_request g = {
        .method = method,
        .path = url,
        .host = header(c, MHD_HTTP_HEADER_HOST),
        .origin = header(c, MHD_HTTP_HEADER_ORIGIN),
        .sec_fetch_site = header(c, "Sec-Fetch-Site"),
        .content_type = header(c, MHD_HTTP_HEADER_CONTENT_TYPE),
        .acr_method = header(c, "Access-Control-Request-Method"),
        .has_body = has_body(hr),
        .raw_body = raw,
        .csv_body = raw && hr->route.body->json.max_values == 0,
        .server_port = connection_port(c),
    };
    struct guard_decision d;
    guard_check(&hr->srv->guard, &g, &d);
    hr->cors_origin = d.cors_origin;
    *pass = d.verdict == GUARD_PASS;
    switch (d.verdict) {
    case GUARD_PASS:
        return MHD_YES;
    case GUARD_PREFLIGHT:
        return respond_preflight(hr);
    case GUARD_REFUSE:
        break;
    }
    log_debug("%s %s refused: %s", method, url, d.msg);
    api_error(&hr->res, d.err, d.msg);
    int64_t n = hr->req.content_length;
    if (!g.has_body || expects_continue(hr) || n < 0 || n > HTTP_BIG_BODY)
        return queue_response(hr);
    hr->refused = true;
    return MHD_YES;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn,
                                 const char *url, const char *method,
                                 const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct http_server *srv = cls;
    struct http_req *hr = *con_cls;
    if (!hr || !hr->srv) {
        if (!hr && !(hr = calloc(1, sizeof(*hr))))
            return MHD_NO;
        hr->srv = srv;
        hr->conn = conn;
        strbuf_init(&hr->body);
        strbuf_init(&hr->res.body);
        hr->req.method = method;
        hr->req.path = url;
        hr->req.app = srv->app;
        hr->req.range = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                    MHD_HTTP_HEADER_RANGE);
        auth_headers(hr);
        *con_cls = hr;
        if (hr->target_long) {
            char msg[128];
            snprintf(msg, sizeof(msg),
                     "The request target exceeds the limit of %d bytes",
                     HTTP_MAX_TARGET);
            return respond_error(hr, SRV_E_URI_TOO_LONG, msg);
        }
        size_t head = 0;
        MHD_get_connection_values(conn, MHD_HEADER_KIND, add_header_size,
                                  &head);
        if (head > HTTP_MAX_HEADERS) {
            char msg[128];
            snprintf(msg, sizeof(msg),
                     "The request's header fields exceed the limit of %d "
                     "bytes",
                     HTTP_MAX_HEADERS);
            return respond_error(hr, SRV_E_HEADERS_TOO_LARGE, msg);
        }
        const char *cl = MHD_lookup_connection_value(
            conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        hr->req.content_length = -1;
        if (cl) {
            char *end;
            errno = 0;
            unsigned long long n = strtoull(cl, &end, 10);
            if (!errno && !*end && n <= INT64_MAX)
                hr->req.content_length = (int64_t)n;
        }
        hr->route_result = route_lookup(url, method, &hr->route);
        bool pass;
        enum MHD_Result guarded = run_guard(hr, url, method, &pass);
        if (!pass)
            return guarded;
        if (hr->route_result == ROUTE_FOUND &&
            (hr->route.flags & ROUTE_STREAM_BODY))
            return stream_start(hr, hr->route.handler);
        hr->body_limit = route_body_limit(hr);
        if (cl) {
            /* A body over the route's limit is answered before it is read
             * (no time or memory is spent on it; MHD closes the
             * connection after). One the budget has no room for is too,
             * when the client waits for a go-ahead (Expect:
             * 100-continue); otherwise it is read and dropped and then
             * answered, as a client that is still sending sees a broken
             * pipe rather than the 503 it should retry after. A body that
             * fits is given its whole buffer now. */
            int64_t n = hr->req.content_length;
            if (n < 0 || (uint64_t)n > hr->body_limit) {
                hr->too_large = true;
                return respond_too_large(hr);
            }
            if (n > 0 && !budget_take(hr, (size_t)n, true)) {
                hr->over_budget = true;
                return expects_continue(hr) ? respond_budget_full(hr) : MHD_YES;
            }
            if (n > 0 && !strbuf_reserve(&hr->body, (size_t)n))
                return MHD_NO;
        }
        return MHD_YES;
    }
    switch (hr->state) {
    case RS_WRITTEN:
        return finish_write(hr);
    case RS_DELAYED: {
        enum MHD_Result ret = queue_response(hr);
        release_waiting(hr);
        return ret;
    }
    case RS_READ:
        /* no longer suspended: counted again if it now writes */
        release_inflight(hr);
        return answer(hr, hr->read_result);
    case RS_WAITING:
    case RS_ANSWERED:
        *upload_data_size = 0;
        return MHD_YES;
    case RS_READING:
        break;
    }
    if (hr->streaming)
        return stream_body(hr, upload_data, upload_data_size);
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (hr->too_large || hr->over_budget || hr->refused)
            return MHD_YES; /* read and dropped; answered at the end */
        size_t len = hr->body.len + n;
        if (len > hr->body_limit) {
            hr->too_large = true;
        } else if (len > hr->held && !budget_take(hr, len - hr->held, true)) {
            hr->over_budget = true; /* a chunked body grew past the room */
        } else {
            strbuf_append(&hr->body, upload_data, n);
            return hr->body.oom ? MHD_NO : MHD_YES;
        }
        strbuf_cleanup(&hr->body);
        budget_release(hr);
        return MHD_YES;
    }
    if (hr->refused)
        return queue_response(hr);
    if (hr->too_large)
        return respond_too_large(hr);
    if (hr->over_budget)
        return respond_budget_full(hr);
    return dispatch(hr, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_server *srv = cls;
    /* Answered, and the connection stays open: it now waits for the next
     * request with the keep-alive timeout. */
    if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK &&
        srv->keepalive_timeout_s != srv->request_timeout_s)
        MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT,
                                  srv->keepalive_timeout_s);
    struct http_req *hr = *con_cls;
    if (!hr)
        return;
    free(hr->query);
    if (!hr->srv) { /* on_uri's, never seen by on_access */
        free(hr);
        *con_cls = NULL;
        return;
    }
    release_inflight(hr);
    budget_release(hr);
    cJSON_Delete(hr->req.args);
    if (hr->res.stream.free_state) /* a stream never handed to MHD */
        hr->res.stream.free_state(hr->res.stream.state);
    if (hr->req.state_free)
        hr->req.state_free(hr->req.state);
    else
        free(hr->req.state);
    strbuf_cleanup(&hr->body);
    strbuf_cleanup(&hr->res.body);
    if (hr->res.file.set) /* a file never handed to MHD */
        close(hr->res.file.fd);
    for (size_t i = 0; i < hr->res.n_headers; i++)
        free(hr->res.headers[i].value);
    free(hr);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    log_debug("libmicrohttpd: %s", line);
}

/*---- connections ----*/

/* The accept policy: a new connection is refused (closed at once, before
 * anything is read or allocated for it) when the server holds
 * --max-connections, or its client address --max-connections-per-ip.
 * Each refusal is logged at debug level: under attack a log line each
 * would itself be the flood. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr,
                                 socklen_t addrlen)
{
    struct http_server *srv = cls;
    if (connlimit_admit(srv->conns, addr, addrlen))
        return MHD_YES;
    log_debug("connection refused: connection limit reached");
    return MHD_NO;
}

static socklen_t sockaddr_len(const struct sockaddr *sa)
{
    if (!sa)
        return 0;
    return sa->sa_family == AF_INET6 ? (socklen_t)sizeof(struct sockaddr_in6)
                                     : (socklen_t)sizeof(struct sockaddr_in);
}

/* MHD reports each connection it opens and closes (once each): the
 * counts the accept policy reads. */
static void on_connection(void *cls, struct MHD_Connection *conn,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    (void)socket_context;
    struct http_server *srv = cls;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    if (code == MHD_CONNECTION_NOTIFY_STARTED)
        connlimit_add(srv->conns, sa, sockaddr_len(sa));
    else
        connlimit_remove(srv->conns, sa, sockaddr_len(sa));
}

/* Every connection is a file descriptor: the soft limit is raised toward
 * the hard one to hold 'want' connections and HTTP_FD_RESERVE more, or
 * the connection limit lowered to what fits. Returns the limit to use. */
static unsigned fit_fd_limit(unsigned want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return want;
    rlim_t need = (rlim_t)want + HTTP_FD_RESERVE;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        struct rlimit up = rl;
        up.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need
                          ? need
                          : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &up) == 0)
            rl.rlim_cur = up.rlim_cur;
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
        return want;
    unsigned fit = rl.rlim_cur > 2 * HTTP_FD_RESERVE
                       ? (unsigned)(rl.rlim_cur - HTTP_FD_RESERVE)
                       : (unsigned)(rl.rlim_cur / 2);
    log_warn("the file descriptor limit (%llu) allows %u connections, not "
             "%u (--max-connections)",
             (unsigned long long)rl.rlim_cur, fit, want);
    return fit ? fit : 1;
}

/*---- start / stop ----*/

/* With SO_REUSEPORT two servers on one port would silently share it, so
 * a busy port is detected first with a plain bind. */
static bool port_is_free(const struct sockaddr *sa, socklen_t len)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    bool ok = bind(fd, sa, len) == 0;
    close(fd);
    return ok;
}

static struct MHD_Daemon *start_daemon(struct http_server *srv,
                                       const struct sockaddr *sa, bool v6,
                                       bool reuse)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
                     (v6 ? MHD_USE_IPv6 : 0) |
                     (srv->tls.cert_pem ? MHD_USE_TLS : 0);
    /* HTTPS (tls.h): the PEM text stays in srv->tls until the daemons
     * stop; without it the array is empty. */
    struct MHD_OptionItem tls_opts[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, srv->tls.cert_pem},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, srv->tls.key_pem},
        {MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)TLS_PRIORITIES},
        {MHD_OPTION_END, 0, NULL},
    };
    /* The connection limits are counted over all daemons (on_accept);
     * MHD's own per-daemon limit is only a backstop at the same total.
     * MHD_OPTION_CONNECTION_TIMEOUT is an inactivity timeout (MHD 0.9.75
     * restarts it at every byte received or sent, and after a suspended
     * connection resumes): the short request timeout applies until a
     * request is answered, the keep-alive one between requests (on_uri,
     * on_completed). The listen backlog stays the system's default. */
    return MHD_start_daemon(
        flags, 0, on_accept, srv, on_access, srv, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, srv, MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
        MHD_OPTION_CONNECTION_LIMIT, srv->max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, srv->request_timeout_s,
        MHD_OPTION_SOCK_ADDR, sa, MHD_OPTION_LISTENING_ADDRESS_REUSE,
        (unsigned)(reuse ? 1 : 0), MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_POOL_BYTES,
        MHD_OPTION_CONNECTION_MEMORY_INCREMENT, (size_t)HTTP_POOL_INCREMENT,
        MHD_OPTION_ARRAY, srv->tls.cert_pem ? tls_opts : tls_opts + 3,
        MHD_OPTION_END);
}

struct http_server *http_start(struct app *app, char *err, size_t errlen)
{
    const struct config *cfg = app->cfg;
    struct http_server *srv = calloc(1, sizeof(*srv));
    if (!srv) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    srv->app = app;
    const char *gate = getenv("GREENTRACK_TEST_LONG_READ_GATE");
    if (gate && *gate) {
        srv->long_read_gate = strdup(gate);
        log_warn("test hook GREENTRACK_TEST_LONG_READ_GATE is set: long "
                 "reads wait for %s",
                 gate);
    }
    srv->request_timeout_s = cfg->request_timeout_s;
    srv->keepalive_timeout_s = cfg->keepalive_timeout_s;
    srv->body_budget = cfg->max_inflight_body_bytes;
    srv->max_connections = fit_fd_limit(cfg->max_connections);
    pthread_mutex_init(&srv->mu, NULL);
    pthread_mutex_init(&srv->delay_mu, NULL);
    pthread_cond_init(&srv->delay_cv, NULL);
    srv->conns =
        connlimit_new(srv->max_connections, cfg->max_connections_per_ip);
    /* two: a slow provider holds one, the other still serves */
    if (!srv->conns || !(srv->jobs = workq_new(2, HTTP_MAX_JOBS)) ||
        !(srv->reads = workq_new(2, HTTP_MAX_JOBS))) {
        snprintf(err, errlen, "cannot start the job threads");
        workq_free(srv->jobs);
        connlimit_free(srv->conns);
        pthread_mutex_destroy(&srv->mu);
        free(srv);
        return NULL;
    }

    struct addrinfo hints = {0}, *ai = NULL;
    if (cfg->tls_cert[0] &&
        tls_load(cfg->tls_cert, cfg->tls_key, &srv->tls, err, errlen))
        goto fail;
    if (guard_config_init(&srv->guard, cfg->allowed_hosts, cfg->cors_origins,
                          cfg->host, srv->tls.cert_pem != NULL, err, errlen))
        goto fail;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char port[16];
    snprintf(port, sizeof(port), "%u", cfg->port);
    int gai = getaddrinfo(cfg->host, port, &hints, &ai);
    if (gai != 0 || !ai) {
        snprintf(err, errlen, "cannot resolve listen address '%s': %s",
                 cfg->host, gai_strerror(gai));
        goto fail;
    }
    bool v6 = ai->ai_family == AF_INET6;
    if (cfg->port != 0 && !port_is_free(ai->ai_addr, ai->ai_addrlen)) {
        snprintf(err, errlen,
                 "cannot listen on %s:%u: address in use or "
                 "not available",
                 cfg->host, cfg->port);
        goto fail;
    }
    unsigned want = cfg->threads < MAX_DAEMONS ? cfg->threads : MAX_DAEMONS;
    bool reuse = want > 1;
    srv->daemons[0] = start_daemon(srv, ai->ai_addr, v6, reuse);
    if (!srv->daemons[0]) {
        snprintf(err, errlen, "cannot listen on %s:%u", cfg->host, cfg->port);
        goto fail;
    }
    srv->n_daemons = 1;
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(srv->daemons[0], MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : cfg->port;
    /* The rest bind the port the first one got. */
    if (ai->ai_family == AF_INET)
        ((struct sockaddr_in *)ai->ai_addr)->sin_port = htons(srv->port);
    else if (ai->ai_family == AF_INET6)
        ((struct sockaddr_in6 *)ai->ai_addr)->sin6_port = htons(srv->port);
    for (unsigned i = 1; i < want; i++) {
        struct MHD_Daemon *d = start_daemon(srv, ai->ai_addr, v6, true);
        if (!d) {
            log_warn("could not start HTTP thread %u; continuing with %u", i,
                     srv->n_daemons);
            break;
        }
        srv->daemons[srv->n_daemons++] = d;
    }
    freeaddrinfo(ai);
    return srv;
fail:
    if (ai)
        freeaddrinfo(ai);
    for (unsigned i = 0; i < srv->n_daemons; i++)
        MHD_stop_daemon(srv->daemons[i]);
    workq_free(srv->jobs);
    workq_free(srv->reads);
    connlimit_free(srv->conns);
    guard_config_free(&srv->guard);
    tls_pair_free(&srv->tls);
    pthread_mutex_destroy(&srv->mu);
    free(srv->long_read_gate);
    free(srv);
    return NULL;
}

unsigned http_port(const struct http_server *srv)
{
    return srv->port;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits, in 2 ms naps, until no request is waiting for its write
 * ('answered_only') or none is in flight at all, or until 'until_ms'
 * (mono_ms; -1: no limit). Returns what is left. */
static unsigned wait_requests(struct http_server *srv, bool answered_only,
                              int64_t until_ms)
{
    struct timespec nap = {0, 2 * 1000 * 1000};
    for (;;) {
        pthread_mutex_lock(&srv->mu);
        unsigned n = answered_only ? srv->waiting : srv->inflight;
        pthread_mutex_unlock(&srv->mu);
        if (!n || (until_ms >= 0 && mono_ms() >= until_ms))
            return n;
        nanosleep(&nap, NULL);
    }
}

/* The drain. New connections stop at once (the listening sockets close),
 * open ones still get answers, and a write that arrives from now on is
 * refused with 503. Every suspended request is then answered: with its
 * commit's result, or, when the writer could not finish it within
 * 'grace_ms' (a lock held by another process), with 503 once the store
 * abandons what is queued (store_abandon): never a 200 for a write that
 * is not in the database, never a write without an answer. The answers
 * then get up to a second more to reach their clients, and only then do
 * the daemons stop, as MHD 0.9.75 aborts the process when a daemon stops
 * with a suspended connection. */
void http_stop(struct http_server *srv, unsigned grace_ms)
{
    if (!srv)
        return;
    int64_t deadline = mono_ms() + grace_ms;
    pthread_mutex_lock(&srv->mu);
    srv->stopping = true; /* new writes are answered 503 from now on */
    pthread_mutex_unlock(&srv->mu);
    for (unsigned i = 0; i < srv->n_daemons; i++) {
        MHD_socket fd = MHD_quiesce_daemon(srv->daemons[i]);
        if (fd != MHD_INVALID_SOCKET)
            close(fd);
    }
    unsigned left = wait_requests(srv, true, deadline);
    if (left) {
        log_warn("%u write(s) not committed within the shutdown grace of "
                 "%u ms: answered 503",
                 left, grace_ms);
        store_abandon(srv->app->store);
        wait_requests(srv, true, -1); /* the writer's group ends promptly */
    }
    int64_t now = mono_ms();
    left = wait_requests(srv, false, (deadline > now ? deadline : now) + 1000);
    if (left)
        log_warn("%u answer(s) still being sent at shutdown", left);
    delay_stop(srv);
    workq_free(srv->jobs); /* idle now: every job's request was answered */
    workq_free(srv->reads);
    for (unsigned i = 0; i < srv->n_daemons; i++)
        MHD_stop_daemon(srv->daemons[i]);
    connlimit_free(srv->conns);
    guard_config_free(&srv->guard);
    tls_pair_free(&srv->tls);
    pthread_mutex_destroy(&srv->mu);
    pthread_mutex_destroy(&srv->delay_mu);
    pthread_cond_destroy(&srv->delay_cv);
    free(srv->long_read_gate);
    free(srv);
}
