/* SPDX-License-Identifier: MIT
 *
 * http: libmicrohttpd glue (see http.h). Per-request state lives in
 * *con_cls and is freed only in the completion callback. The access handler
 * runs several times per request: headers, each body chunk, end of body,
 * and once more after a suspended request is resumed by the writer.
 */
#include "http.h"

#include "jsonx.h"
#include "log.h"
#include "router.h"
#include "workq.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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
 * HTTP_POOL_BYTES. Only the pages a request uses are touched. A head that
 * outgrows even the pool (over about 1 MiB) gets MHD's own 414 or 431,
 * whose body MHD 0.9.75 writes itself (HTML); it still closes at once. The
 * query string is not left to MHD: it would store each argument in the
 * pool, and a query that fills the pool that way made MHD 0.9.75 hang up
 * without an answer (on_uri). */
#define HTTP_MAX_TARGET (128 * 1024)
#define HTTP_MAX_HEADERS (64 * 1024)
#define HTTP_MAX_QUERY_KEYS 256
#define HTTP_POOL_BYTES (1024 * 1024)
#define HTTP_POOL_INCREMENT (16 * 1024)

/* Requests whose slow part (a provider fetch, an upload's fsync) may wait
 * for a job thread at once; more are answered 503 with Retry-After. */
#define HTTP_MAX_JOBS 64

struct http_server {
    struct app *app;
    struct MHD_Daemon *daemons[MAX_DAEMONS];
    unsigned n_daemons;
    unsigned port;
    pthread_mutex_t mu;
    bool stopping;
    unsigned inflight;  /* requests suspended or resumed, not yet answered */
    struct workq *jobs; /* runs requests' before_write off the HTTP threads */
};

enum req_state { RS_READING, RS_WAITING, RS_WRITTEN, RS_ANSWERED };

struct http_req {
    struct http_server *srv; /* NULL until on_access's first call */
    struct MHD_Connection *conn;
    char *query;      /* the raw query string (on_uri), or NULL */
    bool query_taken; /* on_uri took the query from MHD (see on_uri) */
    bool target_long; /* the request target is over HTTP_MAX_TARGET */
    struct strbuf body;
    bool too_large;
    bool counted;       /* holds one 'inflight' */
    bool streaming;     /* ROUTE_STREAM_BODY: the body goes to body_chunk */
    bool stream_failed; /* ... which failed: res holds the error */
    enum req_state state;
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
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct stream_ctx *x = cls;
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

/* A response whose body comes from res->stream. */
static struct MHD_Response *stream_response(struct response *res)
{
    struct stream_ctx *x = calloc(1, sizeof(*x));
    if (!x)
        return NULL;
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

static enum MHD_Result queue_response(struct http_req *hr)
{
    struct response *res = &hr->res;
    struct MHD_Response *r;
    if (res->stream.next) {
        r = stream_response(res);
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
    enum MHD_Result ret = MHD_queue_response(hr->conn, res->status, r);
    MHD_destroy_response(r);
    hr->state = RS_ANSWERED;
    log_debug("%s %s -> %u", hr->req.method, hr->req.path, res->status);
    return ret;
}

static enum MHD_Result respond_error(struct http_req *hr, enum srv_err e,
                                     const char *msg)
{
    api_error(&hr->res, e, msg);
    return queue_response(hr);
}

static void release_inflight(struct http_req *hr)
{
    if (!hr->counted)
        return;
    hr->counted = false;
    pthread_mutex_lock(&hr->srv->mu);
    hr->srv->inflight--;
    pthread_mutex_unlock(&hr->srv->mu);
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

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
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
                   (hi = hex_digit(s[i + 1])) >= 0 &&
                   (lo = hex_digit(s[i + 2])) >= 0) {
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
    if (w->result != SRV_OK)
        api_error(&hr->res, w->result,
                  w->err.msg[0] ? w->err.msg : err_code_name(w->result));
    else if (hr->req.after_write)
        hr->req.after_write(&hr->req, &hr->res);
    else
        api_ok_empty(&hr->res);
    enum MHD_Result ret = queue_response(hr);
    release_inflight(hr);
    return ret;
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
    pthread_mutex_lock(&srv->mu);
    if (srv->stopping) {
        pthread_mutex_unlock(&srv->mu);
        if (hr->req.before_write)
            workq_unreserve(srv->jobs);
        return respond_error(hr, SRV_E_UNAVAILABLE,
                             "The server is shutting down");
    }
    srv->inflight++;
    hr->counted = true;
    hr->state = RS_WAITING;
    MHD_suspend_connection(hr->conn);
    pthread_mutex_unlock(&srv->mu);
    if (hr->req.before_write &&
        workq_submit_reserved(srv->jobs, run_before_write, hr))
        return MHD_YES;
    if (hr->req.before_write) /* out of memory: run it here */
        run_before_write(hr);
    else
        submit_write(hr);
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

/* A ROUTE_STREAM_BODY request, when its headers are in: the handler
 * answers now, or takes the body as it comes (stream_body). */
static enum MHD_Result stream_start(struct http_req *hr, handler_fn handler)
{
    struct errbuf eb;
    enum srv_err e = build_args(hr, false, &eb);
    if (e)
        return respond_error(hr, e, eb.msg);
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

static enum MHD_Result dispatch(struct http_req *hr, const char *url,
                                const char *method)
{
    handler_fn handler = NULL;
    unsigned flags = 0;
    switch (route_match_flags(url, method, &handler, &flags)) {
    case ROUTE_STATIC:
        if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
            return respond_error(hr, SRV_E_METHOD_NOT_ALLOWED,
                                 "Only GET is allowed on this path");
        return serve_static(hr, url);
    case ROUTE_NOT_FOUND: {
        char msg[300];
        snprintf(msg, sizeof(msg), "No API endpoint at %.200s", url);
        return respond_error(hr, SRV_E_ENDPOINT_NOT_FOUND, msg);
    }
    case ROUTE_BAD_METHOD: {
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
    enum srv_err e = build_args(hr, strcmp(method, "POST") == 0 && !raw, &eb);
    if (e)
        return respond_error(hr, e, eb.msg);
    if (raw) {
        hr->req.body = hr->body.buf ? hr->body.buf : "";
        hr->req.body_len = hr->body.len;
    }
    return answer(hr, handler(&hr->req, &hr->res));
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
    (void)cls;
    (void)conn;
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

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn,
                                 const char *url, const char *method,
                                 const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct http_server *srv = cls;
    struct http_req *hr = *con_cls;
    size_t max_body = srv->app->cfg->max_body_bytes;
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
        handler_fn handler;
        unsigned flags;
        if (route_match_flags(url, method, &handler, &flags) == ROUTE_FOUND &&
            (flags & ROUTE_STREAM_BODY))
            return stream_start(hr, handler);
        if (cl) {
            char *end;
            errno = 0;
            unsigned long long n = strtoull(cl, &end, 10);
            if (errno || *end || n > max_body) {
                /* Answered before the body is read: no time or memory is
                 * spent on it, and MHD closes the connection after. */
                char msg[128];
                snprintf(msg, sizeof(msg),
                         "Request body exceeds the limit of %zu bytes",
                         max_body);
                hr->too_large = true;
                api_error(&hr->res, SRV_E_TOO_LARGE, msg);
                return queue_response(hr);
            }
        }
        return MHD_YES;
    }
    switch (hr->state) {
    case RS_WRITTEN:
        return finish_write(hr);
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
        if (!hr->too_large) {
            if (hr->body.len + *upload_data_size > max_body) {
                hr->too_large = true;
                strbuf_cleanup(&hr->body);
            } else {
                strbuf_append(&hr->body, upload_data, *upload_data_size);
                if (hr->body.oom)
                    return MHD_NO;
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (hr->too_large) {
        char msg[128];
        snprintf(msg, sizeof(msg),
                 "Request body exceeds the limit of %zu bytes", max_body);
        return respond_error(hr, SRV_E_TOO_LARGE, msg);
    }
    return dispatch(hr, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
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
                     (v6 ? MHD_USE_IPv6 : 0);
    return MHD_start_daemon(
        flags, 0, NULL, NULL, on_access, srv, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, srv, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
        MHD_OPTION_SOCK_ADDR, sa, MHD_OPTION_LISTENING_ADDRESS_REUSE,
        (unsigned)(reuse ? 1 : 0), MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_POOL_BYTES,
        MHD_OPTION_CONNECTION_MEMORY_INCREMENT, (size_t)HTTP_POOL_INCREMENT,
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
    pthread_mutex_init(&srv->mu, NULL);
    /* two: a slow provider holds one, the other still serves */
    if (!(srv->jobs = workq_new(2, HTTP_MAX_JOBS))) {
        snprintf(err, errlen, "cannot start the job threads");
        pthread_mutex_destroy(&srv->mu);
        free(srv);
        return NULL;
    }

    struct addrinfo hints = {0}, *ai = NULL;
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
    pthread_mutex_destroy(&srv->mu);
    free(srv);
    return NULL;
}

unsigned http_port(const struct http_server *srv)
{
    return srv->port;
}

static unsigned inflight_now(struct http_server *srv)
{
    pthread_mutex_lock(&srv->mu);
    unsigned n = srv->inflight;
    pthread_mutex_unlock(&srv->mu);
    return n;
}

void http_stop(struct http_server *srv, unsigned grace_ms)
{
    if (!srv)
        return;
    pthread_mutex_lock(&srv->mu);
    srv->stopping = true; /* new writes are answered 503 from now on */
    pthread_mutex_unlock(&srv->mu);
    for (unsigned i = 0; i < srv->n_daemons; i++) {
        MHD_socket fd = MHD_quiesce_daemon(srv->daemons[i]);
        if (fd != MHD_INVALID_SOCKET)
            close(fd);
    }
    /* Stopping a daemon with a suspended connection aborts the process
     * (MHD 0.9.75), so wait for every in-flight write to be answered. */
    struct timespec nap = {0, 2 * 1000 * 1000};
    for (unsigned waited = 0; inflight_now(srv) && waited < grace_ms / 2;
         waited++)
        nanosleep(&nap, NULL);
    if (inflight_now(srv))
        log_warn("%u requests still in flight at shutdown", inflight_now(srv));
    workq_free(srv->jobs); /* jobs resume connections: before the daemons */
    for (unsigned i = 0; i < srv->n_daemons; i++)
        MHD_stop_daemon(srv->daemons[i]);
    pthread_mutex_destroy(&srv->mu);
    free(srv);
}
