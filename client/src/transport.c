/* SPDX-License-Identifier: MIT
 *
 * transport: one libcurl easy handle, reused for every request so the
 * connection stays alive. One call is one attempt: the worker owns the
 * retry policy. Classifies answers as OK (2xx), rejected (4xx, never
 * retried) or retry (no answer, 5xx, 408, 429) and reads Retry-After.
 * curl_global_init runs once per process under pthread_once; the library
 * never calls curl_global_cleanup. Artifact transfers (transport_upload,
 * transport_download) stream between a file descriptor and the network in
 * libcurl's own buffers, bounded by a low-speed limit rather than a total
 * time, and report progress through a callback that can cut them.
 * Each request carries the client's credentials (creds.c: HTTP Basic or
 * a Bearer token) and trusts its CA bundle; TLS verification is never
 * turned off. A 401 or 403 is TP_AUTH, with a message that says which
 * credential is missing or was refused.
 */
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

struct transport {
    CURL *h;
    struct curl_slist *hdrs;
    struct curl_slist *up_hdrs; /* artifact uploads */
    char *base;
    long timeout_ms;
    struct gt_buf body;
    int64_t retry_after_ms;
    char curl_err[CURL_ERROR_SIZE];
    struct gt_creds *cr; /* borrowed; NULL: anonymous */
    unsigned cr_gen;     /* cr->gen last applied */
    bool cr_applied;
};

/* One artifact transfer's file side and progress hook. */
struct xfer {
    struct transport *t;
    int fd;
    uint64_t size; /* uploads: bytes to send */
    uint64_t off;  /* bytes read from or written to fd */
    bool short_read;
    bool write_failed;
    int write_errno;
    tp_xfer_fn fn;
    void *ud;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    struct transport *t = ud;
    gt_buf_add(&t->body, data, size * n);
    return t->body.oom ? 0 : size * n;
}

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
    struct transport *t = ud;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof name - 1 &&
        strncasecmp(data, name, sizeof name - 1) == 0) {
        char tmp[32];
        size_t vl = len - (sizeof name - 1);
        if (vl >= sizeof tmp)
            vl = sizeof tmp - 1;
        memcpy(tmp, data + sizeof name - 1, vl);
        tmp[vl] = '\0';
        char *end;
        long v = strtol(tmp, &end, 10);
        /* delta-seconds only; an HTTP date falls back to our backoff */
        if (end != tmp && v >= 0 && v < 3600)
            t->retry_after_ms = (int64_t)v * 1000;
    }
    return len;
}

struct transport *transport_new(const char *base_uri, long timeout_ms,
                                struct gt_creds *cr)
{
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return NULL;
    struct transport *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    gt_buf_init(&t->body);
    t->timeout_ms = timeout_ms;
    t->cr = cr;
    t->base = strdup(base_uri);
    t->h = curl_easy_init();
    t->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    struct curl_slist *h2 =
        t->hdrs ? curl_slist_append(t->hdrs, "Expect:") : NULL;
    if (!t->base || !t->h || !h2) {
        transport_free(t);
        return NULL;
    }
    t->hdrs = h2;
    t->up_hdrs =
        curl_slist_append(NULL, "Content-Type: application/octet-stream");
    if (!t->up_hdrs) {
        transport_free(t);
        return NULL;
    }
    curl_easy_setopt(t->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(t->h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(t->h, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(t->h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(t->h, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(t->h, CURLOPT_ERRORBUFFER, t->curl_err);
    curl_easy_setopt(t->h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(t->h, CURLOPT_CONNECTTIMEOUT_MS,
                     timeout_ms < 3000 ? timeout_ms : 3000L);
    curl_easy_setopt(t->h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(t->h, CURLOPT_USERAGENT, "libgreentrack/" GT_VERSION);
    curl_easy_setopt(t->h, CURLOPT_PROTOCOLS_STR, "http,https");
    return t;
}

/* Sets the handle's credentials and CA bundle when they changed since
 * the last request. */
static void apply_creds(struct transport *t)
{
    struct gt_creds *cr = t->cr;
    if (!cr)
        return;
    pthread_mutex_lock(&cr->mu);
    if (t->cr_applied && t->cr_gen == cr->gen) {
        pthread_mutex_unlock(&cr->mu);
        return;
    }
    curl_easy_setopt(t->h, CURLOPT_USERNAME, NULL);
    curl_easy_setopt(t->h, CURLOPT_PASSWORD, NULL);
    curl_easy_setopt(t->h, CURLOPT_XOAUTH2_BEARER, NULL);
    curl_easy_setopt(t->h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    if (cr->kind == CRED_BASIC) {
        curl_easy_setopt(t->h, CURLOPT_USERNAME, cr->username);
        curl_easy_setopt(t->h, CURLOPT_PASSWORD, cr->password);
    } else if (cr->kind == CRED_TOKEN) {
        curl_easy_setopt(t->h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
        curl_easy_setopt(t->h, CURLOPT_XOAUTH2_BEARER, cr->token);
    }
    if (cr->ca_bundle)
        curl_easy_setopt(t->h, CURLOPT_CAINFO, cr->ca_bundle);
    t->cr_gen = cr->gen;
    t->cr_applied = true;
    pthread_mutex_unlock(&cr->mu);
}

/* "<what>: <which credential>" for a 401 or 403 answer, into 'err'. */
static void auth_text(struct transport *t, const char *what, long code,
                      char *err, size_t errlen)
{
    char why[1024];
    char detail[256] = "";
    cJSON *j = cJSON_ParseWithLength(t->body.p ? t->body.p : "", t->body.len);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
    if (cJSON_IsString(m))
        snprintf(detail, sizeof detail, "%.200s", m->valuestring);
    cJSON_Delete(j);
    if (t->cr) {
        creds_explain(t->cr, code, detail, why, sizeof why);
    } else {
        snprintf(why, sizeof why, "HTTP %ld %.200s", code, detail);
    }
    snprintf(err, errlen, "%.300s: %s", what, why);
}

void transport_set_timeout(struct transport *t, long timeout_ms)
{
    if (t->timeout_ms == timeout_ms)
        return;
    t->timeout_ms = timeout_ms;
    curl_easy_setopt(t->h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(t->h, CURLOPT_CONNECTTIMEOUT_MS,
                     timeout_ms < 3000 ? timeout_ms : 3000L);
}

void transport_free(struct transport *t)
{
    if (!t)
        return;
    if (t->h)
        curl_easy_cleanup(t->h);
    curl_slist_free_all(t->hdrs);
    curl_slist_free_all(t->up_hdrs);
    free(t->base);
    gt_buf_cleanup(&t->body);
    free(t);
}

enum tp_result transport_call(struct transport *t, const char *method,
                              const char *path, const char *body,
                              size_t body_len, long *status,
                              int64_t *retry_after_ms, char *err, size_t errlen)
{
    char url[4096];
    long code = 0;

    *status = 0;
    *retry_after_ms = -1;
    /* a whole URL (an artifact service elsewhere) is used as it is */
    bool whole =
        strncmp(path, "http://", 7) == 0 || strncmp(path, "https://", 8) == 0;
    if ((size_t)snprintf(url, sizeof url, "%s%s", whole ? "" : t->base, path) >=
        sizeof url) {
        snprintf(err, errlen, "URL too long");
        return TP_REJECTED;
    }
    gt_buf_reset(&t->body);
    t->retry_after_ms = -1;
    t->curl_err[0] = '\0';
    curl_easy_setopt(t->h, CURLOPT_URL, url);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(t->h, CURLOPT_POST, 1L);
        curl_easy_setopt(t->h, CURLOPT_HTTPHEADER, t->hdrs);
        curl_easy_setopt(t->h, CURLOPT_POSTFIELDS, body ? body : "{}");
        curl_easy_setopt(t->h, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)(body ? body_len : 2));
    } else {
        curl_easy_setopt(t->h, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(t->h, CURLOPT_HTTPHEADER, NULL);
    }
    apply_creds(t);
    CURLcode rc = curl_easy_perform(t->h);
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "%s %s: %s", method, path,
                 t->curl_err[0] ? t->curl_err : curl_easy_strerror(rc));
        return TP_RETRY;
    }
    curl_easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &code);
    *status = code;
    *retry_after_ms = t->retry_after_ms;
    if (code >= 200 && code < 300)
        return TP_OK;
    if (code == 401 || code == 403) {
        char what[600];
        snprintf(what, sizeof what, "%s %.500s", method, path);
        auth_text(t, what, code, err, errlen);
        return TP_AUTH;
    }
    snprintf(err, errlen, "%s %s: HTTP %ld %.300s", method, path, code,
             t->body.p ? t->body.p : "");
    if (code == 408 || code == 429 || code >= 500 || code < 200)
        return TP_RETRY;
    return TP_REJECTED;
}

const char *transport_body(const struct transport *t, size_t *len)
{
    *len = t->body.len;
    return t->body.p ? t->body.p : "";
}

/*---- artifact transfers ----*/

static size_t on_read(char *buf, size_t size, size_t n, void *ud)
{
    struct xfer *x = ud;
    size_t want = size * n;
    if (x->off >= x->size)
        return 0;
    if (want > x->size - x->off)
        want = (size_t)(x->size - x->off);
    for (;;) {
        ssize_t k = pread(x->fd, buf, want, (off_t)x->off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            /* the file shrank (or cannot be read) under the upload */
            x->short_read = true;
            return CURL_READFUNC_ABORT;
        }
        x->off += (uint64_t)k;
        return (size_t)k;
    }
}

static int on_xferinfo(void *ud, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow)
{
    struct xfer *x = ud;
    bool up = x->size > 0 || ultotal > 0;
    curl_off_t now = up ? ulnow : dlnow;
    curl_off_t total = up ? ultotal : dltotal;
    if (!x->fn)
        return 0;
    return x->fn(x->ud, now > 0 ? (uint64_t)now : 0,
                 total > 0 ? (uint64_t)total : 0);
}

/* Downloads: a 2xx body goes to the file, any other to t->body. */
static size_t on_file_body(char *data, size_t size, size_t n, void *ud)
{
    struct xfer *x = ud;
    size_t len = size * n, done = 0;
    long code = 0;
    curl_easy_getinfo(x->t->h, CURLINFO_RESPONSE_CODE, &code);
    if (code < 200 || code >= 300)
        return on_body(data, size, n, x->t);
    while (done < len) {
        ssize_t k =
            pwrite(x->fd, data + done, len - done, (off_t)(x->off + done));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            x->write_failed = true;
            x->write_errno = k < 0 ? errno : ENOSPC;
            return 0;
        }
        done += (size_t)k;
    }
    x->off += len;
    return len;
}

/* Sets the handle up for a long transfer: no total time limit, but a
 * connection that moves nothing for the request timeout is cut. */
static void xfer_begin(struct transport *t, const char *url, struct xfer *x)
{
    long idle_s = t->timeout_ms / 1000;
    gt_buf_reset(&t->body);
    t->retry_after_ms = -1;
    t->curl_err[0] = '\0';
    curl_easy_setopt(t->h, CURLOPT_URL, url);
    curl_easy_setopt(t->h, CURLOPT_TIMEOUT_MS, 0L);
    curl_easy_setopt(t->h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(t->h, CURLOPT_LOW_SPEED_TIME, idle_s > 0 ? idle_s : 1L);
    curl_easy_setopt(t->h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(t->h, CURLOPT_XFERINFOFUNCTION, on_xferinfo);
    curl_easy_setopt(t->h, CURLOPT_XFERINFODATA, x);
    apply_creds(t);
}

/* Back to what transport_call expects. */
static void xfer_end(struct transport *t)
{
    curl_easy_setopt(t->h, CURLOPT_UPLOAD, 0L);
    curl_easy_setopt(t->h, CURLOPT_READFUNCTION, NULL);
    curl_easy_setopt(t->h, CURLOPT_READDATA, NULL);
    curl_easy_setopt(t->h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)-1);
    curl_easy_setopt(t->h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(t->h, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(t->h, CURLOPT_NOPROGRESS, 1L);
    curl_easy_setopt(t->h, CURLOPT_XFERINFOFUNCTION, NULL);
    curl_easy_setopt(t->h, CURLOPT_XFERINFODATA, NULL);
    curl_easy_setopt(t->h, CURLOPT_LOW_SPEED_LIMIT, 0L);
    curl_easy_setopt(t->h, CURLOPT_LOW_SPEED_TIME, 0L);
    curl_easy_setopt(t->h, CURLOPT_TIMEOUT_MS, t->timeout_ms);
}

/* The answer to a transfer, classified as transport_call does. */
static enum tp_result xfer_result(struct transport *t, const char *what,
                                  const char *url, CURLcode rc, long *status,
                                  int64_t *retry_after_ms, char *err,
                                  size_t errlen)
{
    long code = 0;
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "%s %s: %s", what, url,
                 t->curl_err[0] ? t->curl_err : curl_easy_strerror(rc));
        return TP_RETRY;
    }
    curl_easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &code);
    *status = code;
    *retry_after_ms = t->retry_after_ms;
    if (code >= 200 && code < 300)
        return TP_OK;
    if (code == 401 || code == 403) {
        char w[600];
        snprintf(w, sizeof w, "%s %.500s", what, url);
        auth_text(t, w, code, err, errlen);
        return TP_AUTH;
    }
    snprintf(err, errlen, "%s %s: HTTP %ld %.300s", what, url, code,
             t->body.p ? t->body.p : "");
    if (code == 408 || code == 429 || code >= 500 || code < 200)
        return TP_RETRY;
    return TP_REJECTED;
}

enum tp_result transport_upload(struct transport *t, const char *url, int fd,
                                uint64_t size, tp_xfer_fn fn, void *ud,
                                long *status, int64_t *retry_after_ms,
                                uint64_t *sent, bool *short_read, char *err,
                                size_t errlen)
{
    struct xfer x = {t, fd, size, 0, false, false, 0, fn, ud};
    *status = 0;
    *retry_after_ms = -1;
    *short_read = false;
    xfer_begin(t, url, &x);
    curl_easy_setopt(t->h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(t->h, CURLOPT_HTTPHEADER, t->up_hdrs);
    curl_easy_setopt(t->h, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(t->h, CURLOPT_READDATA, &x);
    curl_easy_setopt(t->h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)size);
    CURLcode rc = curl_easy_perform(t->h);
    enum tp_result r =
        xfer_result(t, "PUT", url, rc, status, retry_after_ms, err, errlen);
    xfer_end(t);
    *sent = x.off;
    *short_read = x.short_read;
    return r;
}

enum tp_result transport_download(struct transport *t, const char *url, int fd,
                                  tp_xfer_fn fn, void *ud, long *status,
                                  int64_t *retry_after_ms, uint64_t *received,
                                  int *write_errno, char *err, size_t errlen)
{
    struct xfer x = {t, fd, 0, 0, false, false, 0, fn, ud};
    *status = 0;
    *retry_after_ms = -1;
    *write_errno = 0;
    xfer_begin(t, url, &x);
    curl_easy_setopt(t->h, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(t->h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(t->h, CURLOPT_WRITEFUNCTION, on_file_body);
    curl_easy_setopt(t->h, CURLOPT_WRITEDATA, &x);
    CURLcode rc = curl_easy_perform(t->h);
    enum tp_result r =
        xfer_result(t, "GET", url, rc, status, retry_after_ms, err, errlen);
    xfer_end(t);
    *received = x.off;
    if (x.write_failed)
        *write_errno = x.write_errno;
    return r;
}
