/* SPDX-License-Identifier: MIT
 *
 * cloud: asks a cloud instance-metadata service where this machine runs
 * (CodeCarbon's geography.py asks the same services; see
 * specs/carbon-method.md 1.8). AWS IMDSv2 (a PUT for a session token, then
 * the placement region), GCP (the instance zone, whose region is the zone
 * without its last "-x"), Azure (the compute location). Everything within
 * one total time budget, with libcurl easy handles of its own (no proxy,
 * no signals). Called by energy.c's sampler thread only, never on a
 * caller's thread.
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#define ANSWER_MAX 1024

struct answer {
    char buf[ANSWER_MAX + 1];
    size_t len;
    bool too_long;
};

static size_t on_data(char *data, size_t size, size_t n, void *ud)
{
    struct answer *a = ud;
    size_t len = size * n;
    if (a->len + len > ANSWER_MAX) {
        a->too_long = true;
        return 0; /* ends the transfer */
    }
    memcpy(a->buf + a->len, data, len);
    a->len += len;
    a->buf[a->len] = '\0';
    return len;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow)
{
    const atomic_bool *abort_flag = ud;
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return abort_flag && atomic_load(abort_flag) ? 1 : 0;
}

/* One request; 1 with a 200 answer in 'a' (trimmed), else 0. */
static int call(const char *base, const char *path, const char *method,
                const char *header, int64_t deadline,
                const atomic_bool *abort_flag, struct answer *a)
{
    char url[1024];
    long status = 0;
    int64_t left = deadline - gt_mono_ms();
    if (left <= 0 || (abort_flag && atomic_load(abort_flag)))
        return 0;
    snprintf(url, sizeof url, "%s%s", base, path);
    memset(a, 0, sizeof *a);
    CURL *h = curl_easy_init();
    if (!h)
        return 0;
    struct curl_slist *hdrs = header ? curl_slist_append(NULL, header) : NULL;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)left);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)left);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, (void *)abort_flag);
    if (hdrs)
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    if (strcmp(method, "PUT") == 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
    }
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    if (rc != CURLE_OK || status != 200 || a->too_long)
        return 0;
    while (a->len > 0 &&
           (a->buf[a->len - 1] == '\n' || a->buf[a->len - 1] == '\r' ||
            a->buf[a->len - 1] == ' '))
        a->buf[--a->len] = '\0';
    return a->len > 0;
}

/* A region name as the providers write them: [a-z0-9-], 1..63. */
static bool region_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '-'))
            return false;
    }
    return true;
}

static int found(const char *prov, const char *region, char *provider,
                 size_t provider_len, char *out, size_t out_len)
{
    if (!region_ok(region))
        return 0;
    snprintf(provider, provider_len, "%s", prov);
    snprintf(out, out_len, "%s", region);
    return 1;
}

int cloud_detect(const char *base_url, int budget_ms,
                 const atomic_bool *abort_flag, char *provider,
                 size_t provider_len, char *region, size_t region_len)
{
    struct answer a;
    int64_t deadline = gt_mono_ms() + budget_ms;

    /* AWS IMDSv2 */
    if (call(base_url, "/latest/api/token", "PUT",
             "X-aws-ec2-metadata-token-ttl-seconds: 60", deadline, abort_flag,
             &a) &&
        strchr(a.buf, '\n') == NULL && strchr(a.buf, '\r') == NULL) {
        char hdr[ANSWER_MAX + 64];
        snprintf(hdr, sizeof hdr, "X-aws-ec2-metadata-token: %s", a.buf);
        if (call(base_url, "/latest/meta-data/placement/region", "GET", hdr,
                 deadline, abort_flag, &a))
            return found("aws", a.buf, provider, provider_len, region,
                         region_len);
    }
    /* GCP: "projects/123/zones/europe-west1-b" */
    if (call(base_url, "/computeMetadata/v1/instance/zone", "GET",
             "Metadata-Flavor: Google", deadline, abort_flag, &a)) {
        char *zone = strrchr(a.buf, '/');
        zone = zone ? zone + 1 : a.buf;
        char *dash = strrchr(zone, '-');
        if (dash && dash != zone && dash[1] != '\0') {
            *dash = '\0';
            return found("gcp", zone, provider, provider_len, region,
                         region_len);
        }
        return 0;
    }
    /* Azure */
    if (call(base_url,
             "/metadata/instance/compute/location?api-version=2021-02-01&"
             "format=text",
             "GET", "Metadata: true", deadline, abort_flag, &a))
        return found("azure", a.buf, provider, provider_len, region,
                     region_len);
    return 0;
}
