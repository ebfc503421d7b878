/* SPDX-License-Identifier: MIT */
/*
 * bench_http.h: the load engine and helpers shared by tests/bench/bench_*.c.
 * One thread drives N non-blocking HTTP/1.1 keep-alive sockets through epoll,
 * one request in flight per connection; requests come from a caller callback
 * and responses (status plus de-chunked body, borrowed) go back to another.
 * It is header-only because the Makefile builds each bench_*.c on its own.
 * Also: clocks, a growable buffer, percentiles and /proc readers.
 */
#ifndef TESTS_BENCH_HTTP_H
#define TESTS_BENCH_HTTP_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BH_UNUSED __attribute__((unused))

/*---- Clocks and small helpers ----*/

static BH_UNUSED int64_t bh_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Wall-clock Unix milliseconds, for metric timestamps. */
static BH_UNUSED int64_t bh_unix_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes v as exactly width decimal digits ending at p[width - 1]. */
static BH_UNUSED void bh_digits_put(char *p, int width, int64_t v)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* Process CPU (user + system) in seconds, of this process. */
static BH_UNUSED double bh_self_cpu_s(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) != 0) {
        return 0.0;
    }
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/*
 * CPU seconds (utime + stime) used so far by process pid, from
 * /proc/<pid>/stat; -1 when pid <= 0 or the file cannot be read.
 */
static BH_UNUSED double bh_proc_cpu_s(int pid)
{
    char path[64], line[1024];
    FILE *f;
    const char *p;
    long long utime, stime;
    long tck = sysconf(_SC_CLK_TCK);

    if (pid <= 0 || tck <= 0) {
        return -1.0;
    }
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return -1.0;
    }
    p = fgets(line, sizeof line, f);
    fclose(f);
    if (p == NULL || (p = strrchr(line, ')')) == NULL) {
        return -1.0;
    }
    /* After "pid (comm)" come fields 3..; utime and stime are 14 and 15. */
    p++;
    for (int field = 3; field <= 13; field++) {
        while (*p == ' ') {
            p++;
        }
        while (*p != ' ' && *p != '\0') {
            p++;
        }
    }
    {
        char *end;

        utime = strtoll(p, &end, 10);
        stime = strtoll(end, &end, 10);
    }
    return (double)(utime + stime) / (double)tck;
}

/* VmRSS of process pid in KiB, or -1. */
static BH_UNUSED long bh_proc_rss_kb(int pid)
{
    char path[64], line[256];
    FILE *f;
    long kb = -1;

    if (pid <= 0) {
        return -1;
    }
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb;
}

static BH_UNUSED int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

/* Nearest-rank percentile (q in [0,1]) of n sorted values, in ms. */
static BH_UNUSED double bh_pct_ms(const int64_t *sorted_ns, size_t n, double q)
{
    size_t i;

    if (n == 0) {
        return 0.0;
    }
    i = (size_t)(q * (double)(n - 1) + 0.5);
    return (double)sorted_ns[i] / 1e6;
}

/*---- Growable buffer ----*/

struct bh_buf {
    char *p;
    size_t len, cap;
};

/* Makes room for extra more bytes (plus a NUL); 0 or -1 (out of memory). */
static BH_UNUSED int bh_buf_reserve(struct bh_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1, cap = b->cap ? b->cap : 256;
    char *np;

    if (need <= b->cap) {
        return 0;
    }
    while (cap < need) {
        cap *= 2;
    }
    np = realloc(b->p, cap);
    if (np == NULL) {
        return -1;
    }
    b->p = np;
    b->cap = cap;
    return 0;
}

static BH_UNUSED int bh_buf_append(struct bh_buf *b, const void *d, size_t n)
{
    if (bh_buf_reserve(b, n) != 0) {
        return -1;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static BH_UNUSED __attribute__((format(printf, 2, 3))) int
bh_buf_printf(struct bh_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || bh_buf_reserve(b, (size_t)n) != 0) {
        return -1;
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

static BH_UNUSED void bh_buf_free(struct bh_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/*
 * Appends a complete POST request (headers and body) to b. The Content-Length
 * is exact, so a caller may later rewrite digits inside the body in place as
 * long as their count stays the same.
 */
static BH_UNUSED int bh_request_post(struct bh_buf *b, const char *path,
                                     const char *body, size_t body_len)
{
    if (bh_buf_printf(b,
                      "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Content-Type: application/json\r\n"
                      "Content-Length: %zu\r\n\r\n",
                      path, body_len) != 0) {
        return -1;
    }
    return bh_buf_append(b, body, body_len);
}

static BH_UNUSED int bh_request_get(struct bh_buf *b, const char *path_query)
{
    return bh_buf_printf(b, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                         path_query);
}

/* First occurrence of needle (nlen bytes) in h[0..hlen), or NULL. */
static BH_UNUSED const char *bh_find(const char *h, size_t hlen,
                                     const char *needle, size_t nlen)
{
    const char *end = h + hlen, *p = h;

    while (nlen <= (size_t)(end - p)) {
        p = memchr(p, needle[0], (size_t)(end - p) - nlen + 1);
        if (p == NULL) {
            return NULL;
        }
        if (memcmp(p, needle, nlen) == 0) {
            return p;
        }
        p++;
    }
    return NULL;
}

/* Counts occurrences of needle in h[0..hlen). */
static BH_UNUSED size_t bh_count(const char *h, size_t hlen, const char *needle)
{
    size_t n = 0, nlen = strlen(needle);
    const char *p = h, *end = h + hlen;

    while ((p = bh_find(p, (size_t)(end - p), needle, nlen)) != NULL) {
        n++;
        p += nlen;
    }
    return n;
}

/*---- The engine ----*/

struct bh_resp {
    int status;
    const char *body; /* borrowed until the callback returns */
    size_t body_len;
};

struct bh_ops {
    /*
     * The next request for connection conn: sets *req and *req_len (borrowed
     * until its response has been delivered) and returns 1, or returns 0
     * when the connection has nothing more to send.
     */
    int (*next)(void *ctx, int conn, const char **req, size_t *req_len);
    /*
     * One complete response; latency_ns runs from the first write to the
     * last byte. A non-zero return stops the whole run.
     */
    int (*done)(void *ctx, int conn, const struct bh_resp *resp,
                int64_t latency_ns);
};

struct bh_conn {
    int fd;
    int busy;
    int want_out;
    const char *out;
    size_t out_len, out_off;
    int64_t sent_ns;
    struct bh_buf in;   /* raw bytes received */
    struct bh_buf body; /* de-chunked body (chunked responses only) */
    size_t hdr_len;     /* 0 until the header block is complete */
    int status;
    long long content_len; /* -1: chunked */
    size_t chunk_off;
    int close_after;
};

/* Connects a blocking TCP socket, then makes it non-blocking; fd or -1. */
static BH_UNUSED int bh_connect(const char *host, int port)
{
    struct sockaddr_in a;
    int fd, one = 1;

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
        return -1;
    }
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/*
 * Looks for one complete response in c->in. Returns 1 (complete; *resp and
 * *consumed set), 0 (need more bytes) or -1 (malformed).
 */
static BH_UNUSED int bh_parse(struct bh_conn *c, struct bh_resp *resp,
                              size_t *consumed)
{
    const char *p = c->in.p;

    if (c->hdr_len == 0) {
        const char *eoh = bh_find(p, c->in.len, "\r\n\r\n", 4), *line;
        int has_len = 0;

        if (eoh == NULL) {
            return c->in.len > 65536 ? -1 : 0;
        }
        c->hdr_len = (size_t)(eoh - p) + 4;
        if (c->hdr_len < 13 || strncmp(p, "HTTP/1.", 7) != 0) {
            return -1;
        }
        c->status = (int)strtol(p + 9, NULL, 10);
        c->content_len = 0;
        c->close_after = 0;
        for (line = memchr(p, '\n', c->hdr_len); line != NULL && line < eoh;
             line = memchr(line, '\n', (size_t)(eoh - line))) {
            line++;
            if (strncasecmp(line, "content-length:", 15) == 0) {
                c->content_len = strtoll(line + 15, NULL, 10);
                has_len = 1;
            } else if (strncasecmp(line, "transfer-encoding:", 18) == 0) {
                c->content_len = -1;
                has_len = 1;
            } else if (strncasecmp(line, "connection:", 11) == 0) {
                const char *v = line + 11;

                while (*v == ' ') {
                    v++;
                }
                c->close_after = strncasecmp(v, "close", 5) == 0;
            }
        }
        if (!has_len && c->status != 204 && c->status != 304) {
            return -1; /* body delimited by close: not expected here */
        }
        c->chunk_off = c->hdr_len;
        c->body.len = 0;
    }
    resp->status = c->status;
    if (c->content_len >= 0) {
        size_t total = c->hdr_len + (size_t)c->content_len;

        if (c->in.len < total) {
            return 0;
        }
        resp->body = p + c->hdr_len;
        resp->body_len = (size_t)c->content_len;
        *consumed = total;
        return 1;
    }
    for (;;) {
        const char *nl =
            bh_find(p + c->chunk_off, c->in.len - c->chunk_off, "\r\n", 2);
        size_t size, data;
        char *end;

        if (nl == NULL) {
            return 0;
        }
        size = strtoul(p + c->chunk_off, &end, 16);
        if (end == p + c->chunk_off) {
            return -1;
        }
        if (size == 0) {
            const char *fin = bh_find(p + c->chunk_off,
                                      c->in.len - c->chunk_off, "\r\n\r\n", 4);

            if (fin == NULL) {
                return 0;
            }
            if (bh_buf_reserve(&c->body, 0) != 0) {
                return -1;
            }
            c->body.p[c->body.len] = '\0';
            resp->body = c->body.p;
            resp->body_len = c->body.len;
            *consumed = (size_t)(fin - p) + 4;
            return 1;
        }
        data = (size_t)(nl - p) + 2;
        if (c->in.len < data + size + 2) {
            return 0;
        }
        if (bh_buf_append(&c->body, p + data, size) != 0) {
            return -1;
        }
        c->chunk_off = data + size + 2;
    }
}

struct bh_engine {
    const char *host;
    const int *ports; /* connection i goes to ports[i % nports] */
    int nports;
    int epfd;
    int nconn;
    struct bh_conn *conns;
    const struct bh_ops *ops;
    void *ctx;
    char err[256];
};

static BH_UNUSED int bh_watch(struct bh_engine *e, int i, int op, int out)
{
    struct epoll_event ev;

    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN | (out ? EPOLLOUT : 0);
    ev.data.u32 = (uint32_t)i;
    return epoll_ctl(e->epfd, op, e->conns[i].fd, &ev);
}

/* Writes what the socket takes; 0, or -1 on a socket error. */
static BH_UNUSED int bh_send(struct bh_engine *e, int i)
{
    struct bh_conn *c = &e->conns[i];

    while (c->out_off < c->out_len) {
        ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (!c->want_out) {
                    c->want_out = 1;
                    return bh_watch(e, i, EPOLL_CTL_MOD, 1);
                }
                return 0;
            }
            snprintf(e->err, sizeof e->err, "write failed (errno %d)", errno);
            return -1;
        }
        c->out_off += (size_t)n;
    }
    if (c->want_out) {
        c->want_out = 0;
        return bh_watch(e, i, EPOLL_CTL_MOD, 0);
    }
    return 0;
}

/* Asks the caller for the next request of connection i and starts it. */
static BH_UNUSED int bh_start(struct bh_engine *e, int i)
{
    struct bh_conn *c = &e->conns[i];

    if (!e->ops->next(e->ctx, i, &c->out, &c->out_len)) {
        c->busy = 0;
        return 0;
    }
    c->busy = 1;
    c->out_off = 0;
    c->hdr_len = 0;
    c->sent_ns = bh_now_ns();
    return bh_send(e, i);
}

/*
 * Reads what is available on connection i and delivers a complete response.
 * Returns 0 (fine), 1 (the caller's done() asked to stop) or -1 (error).
 */
static BH_UNUSED int bh_recv(struct bh_engine *e, int i)
{
    struct bh_conn *c = &e->conns[i];

    for (;;) {
        struct bh_resp resp;
        size_t consumed = 0;
        ssize_t n;
        int rc;

        if (bh_buf_reserve(&c->in, 65536) != 0) {
            snprintf(e->err, sizeof e->err, "out of memory");
            return -1;
        }
        n = read(c->fd, c->in.p + c->in.len, c->in.cap - c->in.len - 1);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return 0;
            }
            snprintf(e->err, sizeof e->err, "read failed (errno %d)", errno);
            return -1;
        }
        if (n == 0) {
            if (!c->busy) { /* an idle keep-alive timeout: fine */
                epoll_ctl(e->epfd, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                c->fd = -1;
                return 0;
            }
            snprintf(e->err, sizeof e->err,
                     "server closed connection %d with a request in flight", i);
            return -1;
        }
        c->in.len += (size_t)n;
        if (!c->busy) {
            snprintf(e->err, sizeof e->err, "unexpected bytes on idle conn");
            return -1;
        }
        rc = bh_parse(c, &resp, &consumed);
        if (rc < 0) {
            snprintf(e->err, sizeof e->err, "malformed HTTP response");
            return -1;
        }
        if (rc == 0) {
            continue;
        }
        if (e->ops->done(e->ctx, i, &resp, bh_now_ns() - c->sent_ns) != 0) {
            return 1;
        }
        memmove(c->in.p, c->in.p + consumed, c->in.len - consumed);
        c->in.len -= consumed;
        c->hdr_len = 0;
        if (c->close_after) {
            epoll_ctl(e->epfd, EPOLL_CTL_DEL, c->fd, NULL);
            close(c->fd);
            c->want_out = 0;
            c->in.len = 0;
            c->fd = bh_connect(e->host, e->ports[i % e->nports]);
            if (c->fd < 0 || bh_watch(e, i, EPOLL_CTL_ADD, 0) != 0) {
                snprintf(e->err, sizeof e->err, "reconnect failed");
                return -1;
            }
        }
        return bh_start(e, i) == 0 ? 0 : -1;
    }
}

/*
 * Runs nconn keep-alive connections until every connection's next() has
 * returned 0 and its last response came back; connection i goes to
 * host:ports[i % nports] (several servers on one database share the load
 * round-robin). Returns 0, 1 when a done() callback stopped the run, or -1
 * on a transport error or a stall of stall_s seconds (message in err).
 */
static BH_UNUSED int bh_run_ports(const char *host, const int *ports,
                                  int nports, int nconn,
                                  const struct bh_ops *ops, void *ctx,
                                  double stall_s, char *err, size_t errlen)
{
    struct bh_engine e;
    struct epoll_event evs[64];
    int result = 0;
    int64_t last_progress = bh_now_ns();

    memset(&e, 0, sizeof e);
    e.host = host;
    e.ports = ports;
    e.nports = nports;
    e.nconn = nconn;
    e.ops = ops;
    e.ctx = ctx;
    e.epfd = epoll_create1(EPOLL_CLOEXEC);
    e.conns = calloc((size_t)nconn, sizeof *e.conns);
    if (e.epfd < 0 || e.conns == NULL) {
        snprintf(e.err, sizeof e.err, "epoll/calloc failed");
        result = -1;
        goto out;
    }
    for (int i = 0; i < nconn; i++) {
        e.conns[i].fd = -1;
    }
    for (int i = 0; i < nconn; i++) {
        e.conns[i].fd = bh_connect(host, ports[i % nports]);
        if (e.conns[i].fd < 0 || bh_watch(&e, i, EPOLL_CTL_ADD, 0) != 0) {
            snprintf(e.err, sizeof e.err, "cannot connect to %s:%d", host,
                     ports[i % nports]);
            result = -1;
            goto out;
        }
    }
    for (int i = 0; i < nconn; i++) {
        if (bh_start(&e, i) != 0) {
            result = -1;
            goto out;
        }
    }
    for (;;) {
        int busy = 0, n;

        for (int i = 0; i < nconn; i++) {
            busy += e.conns[i].busy;
        }
        if (busy == 0) {
            break;
        }
        n = epoll_wait(e.epfd, evs, 64, 200);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            snprintf(e.err, sizeof e.err, "epoll_wait failed");
            result = -1;
            goto out;
        }
        if (n == 0) {
            if ((double)(bh_now_ns() - last_progress) / 1e9 > stall_s) {
                snprintf(e.err, sizeof e.err,
                         "no response for %.0f s (%d requests in flight)",
                         stall_s, busy);
                result = -1;
                goto out;
            }
            continue;
        }
        last_progress = bh_now_ns();
        for (int k = 0; k < n; k++) {
            int i = (int)evs[k].data.u32, rc = 0;

            if ((evs[k].events & EPOLLOUT) && e.conns[i].want_out) {
                rc = bh_send(&e, i);
            }
            if (rc == 0 && (evs[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
                rc = bh_recv(&e, i);
            }
            if (rc != 0) {
                result = rc;
                goto out;
            }
        }
    }
out:
    if (err != NULL && errlen > 0) {
        snprintf(err, errlen, "%s", e.err);
    }
    if (e.conns != NULL) {
        for (int i = 0; i < nconn; i++) {
            if (e.conns[i].fd >= 0) {
                close(e.conns[i].fd);
            }
            bh_buf_free(&e.conns[i].in);
            bh_buf_free(&e.conns[i].body);
        }
        free(e.conns);
    }
    if (e.epfd >= 0) {
        close(e.epfd);
    }
    return result;
}

/* bh_run_ports with one server, host:port. */
static BH_UNUSED int bh_run(const char *host, int port, int nconn,
                            const struct bh_ops *ops, void *ctx, double stall_s,
                            char *err, size_t errlen)
{
    return bh_run_ports(host, &port, 1, nconn, ops, ctx, stall_s, err, errlen);
}

/*---- One-shot requests ----*/

struct bh_once {
    const char *req;
    size_t req_len;
    int sent;
    int status;
    struct bh_buf body;
};

static BH_UNUSED int once_next(void *ctx, int conn, const char **req,
                               size_t *req_len)
{
    struct bh_once *o = ctx;

    (void)conn;
    if (o->sent) {
        return 0;
    }
    o->sent = 1;
    *req = o->req;
    *req_len = o->req_len;
    return 1;
}

static BH_UNUSED int once_done(void *ctx, int conn, const struct bh_resp *resp,
                               int64_t latency_ns)
{
    struct bh_once *o = ctx;

    (void)conn;
    (void)latency_ns;
    o->status = resp->status;
    o->body.len = 0;
    return bh_buf_append(&o->body, resp->body, resp->body_len) != 0;
}

/*
 * Sends one complete request (from bh_request_post/get) on a fresh
 * connection. Returns the HTTP status, or -1 on a transport error; the body
 * goes to *body (caller frees with bh_buf_free).
 */
static BH_UNUSED int bh_once(const char *host, int port,
                             const struct bh_buf *req, struct bh_buf *body,
                             char *err, size_t errlen)
{
    static const struct bh_ops ops = {once_next, once_done};
    struct bh_once o;

    memset(&o, 0, sizeof o);
    o.req = req->p;
    o.req_len = req->len;
    if (bh_run(host, port, 1, &ops, &o, 60.0, err, errlen) != 0) {
        bh_buf_free(&o.body);
        return -1;
    }
    *body = o.body;
    return o.status;
}

#endif /* TESTS_BENCH_HTTP_H */
