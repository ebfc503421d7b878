/* SPDX-License-Identifier: MIT
 *
 * grid_http: libcurl easy handles with bounded timeouts for the provider
 * clients of grid.c (see grid_http.h).
 */
#include "grid_http.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

void grid_http_global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
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
    CURL *h = curl_easy_init();
    if (!h)
        return err_set(eb, SRV_E_NOMEM, "cannot create an HTTP handle");
    for (size_t i = 0; i < rq->n_headers; i++) {
        struct curl_slist *n = curl_slist_append(hdrs, rq->headers[i]);
        if (!n) {
            result = err_set(eb, SRV_E_NOMEM, "out of memory");
            goto out;
        }
        hdrs = n;
    }
    curl_easy_setopt(h, CURLOPT_URL, rq->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, rq->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, rq->timeout_ms);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "greentrack-server");
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &k);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &k);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errmsg);
    if (rq->abort) {
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, (void *)rq->abort);
    }
    if (rq->basic_user) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, rq->basic_user);
        curl_easy_setopt(h, CURLOPT_PASSWORD,
                         rq->basic_password ? rq->basic_password : "");
    }
    CURLcode rc = curl_easy_perform(h);
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
                         errmsg[0] ? errmsg : curl_easy_strerror(rc));
    } else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
        if (out->body.oom)
            result = err_set(eb, SRV_E_NOMEM, "out of memory");
    }
out:
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return result;
}
