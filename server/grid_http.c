/* SPDX-License-Identifier: MIT
 *
 * grid_http: libcurl easy handles with bounded timeouts for the provider
 * clients of grid.c (see grid_http.h).
 */
#include "grid_http.h"

#include <ctype.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

/* libcurl is loaded with dlopen at the first fetch, not linked: a server
 * that never asks a provider does not map libcurl and the ~30 libraries
 * under it (TLS, HTTP/2, IDN, Kerberos, LDAP...), about 4 MB of resident
 * memory at start. The headers still come from libcurl's -dev package. */
static struct {
    bool ok;
    char why[256];
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *h, CURLoption opt, ...);
    CURLcode (*easy_perform)(CURL *h);
    CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
    void (*easy_cleanup)(CURL *h);
    const char *(*easy_strerror)(CURLcode code);
    struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
    void (*slist_free_all)(struct curl_slist *l);
} lc;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void *sym(void *lib, const char *name)
{
    void *p = dlsym(lib, name);
    if (!p && !lc.why[0])
        snprintf(lc.why, sizeof(lc.why), "libcurl lacks %s", name);
    return p;
}

static void curl_init_once(void)
{
    void *lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *e = dlerror();
        snprintf(lc.why, sizeof(lc.why),
                 "cannot load libcurl.so.4 (install libcurl4): %s",
                 e ? e : "unknown error");
        return;
    }
    /* POSIX: function pointers round-trip through void * */
    *(void **)&lc.global_init = sym(lib, "curl_global_init");
    *(void **)&lc.easy_init = sym(lib, "curl_easy_init");
    *(void **)&lc.easy_setopt = sym(lib, "curl_easy_setopt");
    *(void **)&lc.easy_perform = sym(lib, "curl_easy_perform");
    *(void **)&lc.easy_getinfo = sym(lib, "curl_easy_getinfo");
    *(void **)&lc.easy_cleanup = sym(lib, "curl_easy_cleanup");
    *(void **)&lc.easy_strerror = sym(lib, "curl_easy_strerror");
    *(void **)&lc.slist_append = sym(lib, "curl_slist_append");
    *(void **)&lc.slist_free_all = sym(lib, "curl_slist_free_all");
    if (lc.why[0])
        return; /* the library stays loaded; nothing else is tried */
    if (lc.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(lc.why, sizeof(lc.why), "curl_global_init failed");
        return;
    }
    lc.ok = true;
}

bool grid_http_global_init(void)
{
    pthread_once(&curl_once, curl_init_once);
    return lc.ok;
}

struct sink {
    struct grid_http_resp *resp;
    size_t max_body;
    int too_big;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct sink *k = userdata;
    size_t n = size * nmemb;
    if (k->resp->body.len + n > k->max_body) {
        k->too_big = 1;
        return 0; /* aborts the transfer */
    }
    strbuf_append(&k->resp->body, data, n);
    return k->resp->body.oom ? 0 : n;
}

/* Picks Retry-After (delta-seconds form) out of the response headers. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct sink *k = userdata;
    size_t n = size * nmemb;
    static const char name[] = "retry-after:";
    if (n > sizeof(name) - 1 &&
        strncasecmp(data, name, sizeof(name) - 1) == 0) {
        size_t i = sizeof(name) - 1;
        while (i < n && (data[i] == ' ' || data[i] == '\t'))
            i++;
        unsigned v = 0;
        bool any = false;
        while (i < n && isdigit((unsigned char)data[i]) && v < 100000) {
            v = v * 10 + (unsigned)(data[i] - '0');
            any = true;
            i++;
        }
        if (any)
            k->resp->retry_after_s = v;
    }
    return n;
}

static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    const atomic_int *abort = userdata;
    return abort && atomic_load(abort) ? 1 : 0;
}

enum srv_err grid_http_get(const struct grid_http_req *rq,
                           struct grid_http_resp *out, struct errbuf *eb)
{
    memset(out, 0, sizeof(*out));
    strbuf_init(&out->body);
    enum srv_err result = SRV_OK;
    struct curl_slist *hdrs = NULL;
    struct sink k = {out, rq->max_body ? rq->max_body : (size_t)8 << 20, 0};
    char errmsg[CURL_ERROR_SIZE] = "";
    if (!grid_http_global_init())
        return err_set(eb, SRV_E_UNAVAILABLE, "%s", lc.why);
    CURL *h = lc.easy_init();
    if (!h)
        return err_set(eb, SRV_E_NOMEM, "cannot create an HTTP handle");
    for (size_t i = 0; i < rq->n_headers; i++) {
        struct curl_slist *n = lc.slist_append(hdrs, rq->headers[i]);
        if (!n) {
            result = err_set(eb, SRV_E_NOMEM, "out of memory");
            goto out;
        }
        hdrs = n;
    }
    lc.easy_setopt(h, CURLOPT_URL, rq->url);
    lc.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    lc.easy_setopt(h, CURLOPT_HTTPGET, 1L);
    lc.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    lc.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    lc.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, rq->connect_timeout_ms);
    lc.easy_setopt(h, CURLOPT_TIMEOUT_MS, rq->timeout_ms);
    lc.easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    lc.easy_setopt(h, CURLOPT_USERAGENT, "greentrack-server");
    lc.easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    lc.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    lc.easy_setopt(h, CURLOPT_WRITEDATA, &k);
    lc.easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    lc.easy_setopt(h, CURLOPT_HEADERDATA, &k);
    lc.easy_setopt(h, CURLOPT_ERRORBUFFER, errmsg);
    if (rq->abort) {
        lc.easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        lc.easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        lc.easy_setopt(h, CURLOPT_XFERINFODATA, (void *)rq->abort);
    }
    if (rq->basic_user) {
        lc.easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        lc.easy_setopt(h, CURLOPT_USERNAME, rq->basic_user);
        lc.easy_setopt(h, CURLOPT_PASSWORD,
                       rq->basic_password ? rq->basic_password : "");
    }
    CURLcode rc = lc.easy_perform(h);
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        result = err_set(eb, SRV_E_UNAVAILABLE, "timed out after %ld ms",
                         rq->timeout_ms);
    } else if (rc == CURLE_ABORTED_BY_CALLBACK) {
        result = err_set(eb, SRV_E_UNAVAILABLE, "the server is shutting down");
    } else if (k.too_big) {
        result = err_set(eb, SRV_E_UNAVAILABLE,
                         "the response is larger than %zu bytes", k.max_body);
    } else if (rc != CURLE_OK) {
        result = err_set(eb, SRV_E_UNAVAILABLE, "%s",
                         errmsg[0] ? errmsg : lc.easy_strerror(rc));
    } else {
        lc.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
        if (out->body.oom)
            result = err_set(eb, SRV_E_NOMEM, "out of memory");
    }
out:
    lc.slist_free_all(hdrs);
    lc.easy_cleanup(h);
    return result;
}
