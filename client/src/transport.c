/* SPDX-License-Identifier: MIT
 *
 * transport: one libcurl easy handle, reused for every request so the
 * connection stays alive. One call is one attempt: the worker owns the
 * retry policy. Classifies answers as OK (2xx), rejected (4xx, never
 * retried) or retry (no answer, 5xx, 408, 429) and reads Retry-After.
 * curl_global_init runs once per process under pthread_once; the library
 * never calls curl_global_cleanup.
 */
#include "internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

struct transport {
    CURL *h;
    struct curl_slist *hdrs;
    char *base;
    long timeout_ms;
    struct gt_buf body;
    int64_t retry_after_ms;
    char curl_err[CURL_ERROR_SIZE];
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

struct transport *transport_new(const char *base_uri, long timeout_ms)
{
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return NULL;
    struct transport *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    gt_buf_init(&t->body);
    t->timeout_ms = timeout_ms;
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
    if ((size_t)snprintf(url, sizeof url, "%s%s", t->base, path) >=
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
