/* SPDX-License-Identifier: MIT
 *
 * browser_guard: Host, Origin, Sec-Fetch-Site and Content-Type rules and
 * CORS (see browser_guard.h). Owns the parsed --allowed-hosts and
 * --cors-origins lists.
 */
#include "browser_guard.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*---- parsing ----*/

/* An authority's host part may hold letters, digits, '.', '-', '_', ':'
 * (IPv6) and '%' (an IPv6 zone); nothing that could end or confuse it. */
static bool host_char(char c)
{
    return isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_' ||
           c == ':' || c == '%';
}

/* Splits the authority a[0, len) ("name", "name:port", "[v6]:port",
 * "[v6]") into 'host' (lower case, without brackets or a trailing dot)
 * and '*port' (0 when absent or empty). A bare IPv6 address (more than
 * one ':', no brackets) is all host. 'wild' allows a leading "*." (then
 * '*suffix' is set and 'host' keeps the leading dot). 0, or -1 when it is
 * not an authority. */
static int split_authority(const char *a, size_t len, bool wild, char *host,
                           size_t hostcap, unsigned *port, bool *suffix)
{
    const char *h = a, *p = NULL;
    size_t hlen;
    *port = 0;
    if (suffix)
        *suffix = false;
    if (len && a[0] == '[') {
        const char *close = memchr(a, ']', len);
        if (!close)
            return -1;
        h = a + 1;
        hlen = (size_t)(close - h);
        size_t rest = len - (size_t)(close + 1 - a);
        if (rest) {
            if (close[1] != ':')
                return -1;
            p = close + 2;
        }
    } else {
        const char *colon = memchr(a, ':', len);
        const char *last = colon;
        for (const char *c = colon; c;
             c = memchr(c + 1, ':', len - (size_t)(c + 1 - a)))
            last = c;
        if (colon && colon == last) {
            hlen = (size_t)(colon - a);
            p = colon + 1;
        } else {
            hlen = len;
        }
    }
    if (p) {
        size_t plen = len - (size_t)(p - a);
        unsigned long v = 0;
        if (plen > 5)
            return -1;
        for (size_t i = 0; i < plen; i++) {
            if (!isdigit((unsigned char)p[i]))
                return -1;
            v = v * 10 + (unsigned long)(p[i] - '0');
        }
        if (v > 65535)
            return -1;
        *port = (unsigned)v;
    }
    if (wild && hlen > 2 && h[0] == '*' && h[1] == '.') {
        h++;
        hlen--;
        *suffix = true;
    }
    if (hlen && h[hlen - 1] == '.' && !(suffix && *suffix && hlen == 1))
        hlen--;
    if (hlen == 0 || hlen >= hostcap)
        return -1;
    bool v6 = memchr(h, ':', hlen) != NULL; /* only hex digits, ':', '.' */
    for (size_t i = 0; i < hlen; i++) {
        if (!host_char(h[i]) || (v6 && !isxdigit((unsigned char)h[i]) &&
                                 h[i] != ':' && h[i] != '.' && h[i] != '%'))
            return -1;
        host[i] = (char)tolower((unsigned char)h[i]);
    }
    host[hlen] = '\0';
    return 0;
}

/* An origin "scheme://authority" (a trailing '/' tolerated): 'host',
 * '*port' (the scheme's default when absent) and '*https'. 0 or -1. */
static int split_origin(const char *o, size_t len, char *host, size_t hostcap,
                        unsigned *port, bool *https)
{
    size_t skip;
    if (len > 7 && strncasecmp(o, "http://", 7) == 0) {
        skip = 7;
        *https = false;
    } else if (len > 8 && strncasecmp(o, "https://", 8) == 0) {
        skip = 8;
        *https = true;
    } else {
        return -1;
    }
    o += skip;
    len -= skip;
    if (len && o[len - 1] == '/')
        len--;
    if (!len || memchr(o, '/', len) || memchr(o, '@', len))
        return -1;
    if (split_authority(o, len, false, host, hostcap, port, NULL))
        return -1;
    if (!*port)
        *port = *https ? 443 : 80;
    return 0;
}

/* The next comma-separated item of '*list' (spaces around it trimmed):
 * its start and '*len'; NULL at the end. Empty items are skipped. */
static const char *next_item(const char **list, size_t *len)
{
    const char *s = *list;
    for (;;) {
        while (*s == ' ' || *s == ',')
            s++;
        if (!*s) {
            *list = s;
            return NULL;
        }
        const char *end = strchr(s, ',');
        if (!end)
            end = s + strlen(s);
        size_t n = (size_t)(end - s);
        while (n && s[n - 1] == ' ')
            n--;
        *list = end;
        if (n) {
            *len = n;
            return s;
        }
        s = end;
    }
}

static bool is_star(const char *list)
{
    while (*list == ' ')
        list++;
    size_t n = strlen(list);
    while (n && list[n - 1] == ' ')
        n--;
    return n == 1 && list[0] == '*';
}

int guard_check_hosts(const char *list, char *err, size_t errlen)
{
    if (!list || is_star(list))
        return 0;
    const char *item;
    size_t len;
    char host[256];
    unsigned port;
    bool suffix;
    size_t n = 0;
    while ((item = next_item(&list, &len))) {
        if (split_authority(item, len, true, host, sizeof(host), &port,
                            &suffix)) {
            snprintf(err, errlen,
                     "invalid --allowed-hosts entry '%.*s' (expected "
                     "name, name:port, *.domain or *)",
                     (int)(len > 200 ? 200 : len), item);
            return -1;
        }
        n++;
    }
    if (!n) {
        snprintf(err, errlen, "--allowed-hosts is empty (use * to allow any)");
        return -1;
    }
    return 0;
}

int guard_check_origins(const char *list, char *err, size_t errlen)
{
    if (!list)
        return 0;
    const char *item;
    size_t len;
    char host[256];
    unsigned port;
    bool https;
    while ((item = next_item(&list, &len))) {
        if (split_origin(item, len, host, sizeof(host), &port, &https)) {
            snprintf(err, errlen,
                     "invalid --cors-origins entry '%.*s' (expected "
                     "http://host[:port] or https://host[:port])",
                     (int)(len > 200 ? 200 : len), item);
            return -1;
        }
    }
    return 0;
}

/*---- the configuration ----*/

/* Adds the entry name[0, len) ('wild': "*.domain" allowed) with 'port'
 * when it names none. 0, or -1 (out of memory, not an authority). */
static int add_host(struct guard_config *cfg, const char *name, size_t len,
                    unsigned port, bool wild)
{
    struct guard_host *h =
        realloc(cfg->hosts, (cfg->n_hosts + 1) * sizeof(*cfg->hosts));
    if (!h)
        return -1;
    cfg->hosts = h;
    h = &cfg->hosts[cfg->n_hosts];
    memset(h, 0, sizeof(*h));
    unsigned p;
    if (split_authority(name, len, wild, h->name, sizeof(h->name), &p,
                        &h->suffix))
        return -1;
    h->port = p ? p : port;
    cfg->n_hosts++;
    return 0;
}

/* The canonical text of an origin: "scheme://host:port". */
static void origin_text(char *out, size_t cap, const char *host, unsigned port,
                        bool https)
{
    bool v6 = strchr(host, ':') != NULL;
    snprintf(out, cap, "%s://%s%s%s:%u", https ? "https" : "http",
             v6 ? "[" : "", host, v6 ? "]" : "", port);
}

int guard_config_init(struct guard_config *cfg, const char *hosts,
                      const char *origins, const char *bind_host, bool tls,
                      char *err, size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->tls = tls;
    if (hosts && !*hosts)
        hosts = NULL;
    if (guard_check_hosts(hosts, err, errlen) ||
        guard_check_origins(origins, err, errlen))
        return -1;
    if (hosts && *hosts && is_star(hosts)) {
        cfg->any_host = true;
    } else if (hosts && *hosts) {
        const char *item;
        size_t len;
        while ((item = next_item(&hosts, &len))) {
            if (add_host(cfg, item, len, 0, true))
                goto nomem;
        }
    } else {
        static const char *const local[] = {"localhost", "127.0.0.1", "[::1]"};
        for (size_t i = 0; i < sizeof(local) / sizeof(*local); i++) {
            if (add_host(cfg, local[i], strlen(local[i]), GUARD_PORT_SELF,
                         false))
                goto nomem;
        }
        char b[300];
        /* the bind address as it is written in a Host: [v6] bracketed */
        snprintf(b, sizeof(b), strchr(bind_host, ':') ? "[%s]" : "%s",
                 bind_host);
        /* a bind name that is no authority is just not added */
        (void)add_host(cfg, b, strlen(b), GUARD_PORT_SELF, false);
    }
    if (origins) {
        const char *item;
        size_t len;
        while ((item = next_item(&origins, &len))) {
            char host[256], text[300];
            unsigned p;
            bool https;
            if (split_origin(item, len, host, sizeof(host), &p, &https))
                continue; /* checked above */
            origin_text(text, sizeof(text), host, p, https);
            char **o = realloc(cfg->origins, (cfg->n_origins + 1) * sizeof(*o));
            if (!o)
                goto nomem;
            cfg->origins = o;
            if (!(o[cfg->n_origins] = strdup(text)))
                goto nomem;
            cfg->n_origins++;
        }
    }
    return 0;
nomem:
    guard_config_free(cfg);
    snprintf(err, errlen, "out of memory");
    return -1;
}

void guard_config_free(struct guard_config *cfg)
{
    free(cfg->hosts);
    for (size_t i = 0; i < cfg->n_origins; i++)
        free(cfg->origins[i]);
    free(cfg->origins);
    memset(cfg, 0, sizeof(*cfg));
}

/*---- the checks ----*/

static bool host_allowed(const struct guard_config *cfg, const char *value,
                         unsigned server_port)
{
    char host[256];
    unsigned port;
    if (split_authority(value, strlen(value), false, host, sizeof(host), &port,
                        NULL))
        return false;
    if (!port)
        port = cfg->tls ? 443 : 80;
    size_t hlen = strlen(host);
    for (size_t i = 0; i < cfg->n_hosts; i++) {
        const struct guard_host *h = &cfg->hosts[i];
        unsigned want = h->port == GUARD_PORT_SELF ? server_port : h->port;
        if (want && want != port)
            continue;
        if (h->suffix) {
            size_t slen = strlen(h->name);
            if (hlen > slen && strcmp(host + hlen - slen, h->name) == 0)
                return true;
        } else if (strcmp(host, h->name) == 0) {
            return true;
        }
    }
    return false;
}

/* Whether 'origin' is listed in --cors-origins. */
static bool origin_listed(const struct guard_config *cfg, const char *origin)
{
    char host[256], text[300];
    unsigned port;
    bool https;
    if (!cfg->n_origins ||
        split_origin(origin, strlen(origin), host, sizeof(host), &port, &https))
        return false;
    origin_text(text, sizeof(text), host, port, https);
    for (size_t i = 0; i < cfg->n_origins; i++) {
        if (strcmp(cfg->origins[i], text) == 0)
            return true;
    }
    return false;
}

/* Whether 'origin' names the server the request was sent to (its Host).
 * The scheme is not compared: behind a TLS-terminating proxy the page is
 * https while the server speaks http. */
static bool same_origin(const char *origin, const char *host_hdr)
{
    char oh[256], hh[256];
    unsigned op, hp;
    bool https;
    if (!host_hdr ||
        split_origin(origin, strlen(origin), oh, sizeof(oh), &op, &https) ||
        split_authority(host_hdr, strlen(host_hdr), false, hh, sizeof(hh), &hp,
                        NULL))
        return false;
    if (!hp)
        hp = https ? 443 : 80;
    return op == hp && strcmp(oh, hh) == 0;
}

/* Whether Content-Type 'ct' has the media type 'type' (parameters after
 * ';' ignored, case-insensitive). */
static bool media_type_is(const char *ct, const char *type)
{
    while (*ct == ' ' || *ct == '\t')
        ct++;
    size_t n = strlen(type);
    if (strncasecmp(ct, type, n) != 0)
        return false;
    ct += n;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    return *ct == '\0' || *ct == ';';
}

static bool safe_method(const char *m)
{
    return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 ||
           strcmp(m, "OPTIONS") == 0;
}

static void refuse(struct guard_decision *out, enum srv_err e, const char *msg)
{
    out->verdict = GUARD_REFUSE;
    out->err = e;
    snprintf(out->msg, sizeof(out->msg), "%s", msg);
}

void guard_check(const struct guard_config *cfg,
                 const struct guard_request *req, struct guard_decision *out)
{
    memset(out, 0, sizeof(*out));
    out->verdict = GUARD_PASS;
    bool health = strcmp(req->path, "/health") == 0;
    if (req->host && !cfg->any_host && !health &&
        !host_allowed(cfg, req->host, req->server_port)) {
        out->verdict = GUARD_REFUSE;
        out->err = SRV_E_MISDIRECTED;
        snprintf(out->msg, sizeof(out->msg),
                 "Host '%.100s' is not one this server answers to (see "
                 "--allowed-hosts)",
                 req->host);
        return;
    }
    bool listed = req->origin && origin_listed(cfg, req->origin);
    if (listed)
        out->cors_origin = req->origin;
    if (strcmp(req->method, "OPTIONS") == 0 && req->origin && req->acr_method) {
        if (listed)
            out->verdict = GUARD_PREFLIGHT;
        else
            refuse(out, SRV_E_PERMISSION_DENIED,
                   "Cross-origin requests from this origin are not allowed "
                   "(see --cors-origins)");
        return;
    }
    if (!safe_method(req->method) && !listed) {
        if (req->sec_fetch_site &&
            strcasecmp(req->sec_fetch_site, "cross-site") == 0) {
            refuse(out, SRV_E_PERMISSION_DENIED,
                   "Cross-site requests may not change anything (see "
                   "--cors-origins)");
            return;
        }
        if (req->origin && !same_origin(req->origin, req->host)) {
            refuse(out, SRV_E_PERMISSION_DENIED,
                   "Requests from another origin may not change anything "
                   "(see --cors-origins)");
            return;
        }
    }
    if (req->raw_body) {
        const char *ct = req->content_type;
        bool ok;
        if (!ct || !*ct)
            ok = !req->has_body;
        else if (req->csv_body)
            ok = media_type_is(ct, "text/csv") ||
                 media_type_is(ct, "application/json");
        else
            ok = media_type_is(ct, "application/json");
        if (!ok)
            refuse(out, SRV_E_INVALID_PARAMETER_VALUE,
                   req->csv_body ? "Bad Request. Content-Type must be one of "
                                   "['text/csv', 'application/json']."
                                 : "Bad Request. Content-Type must be one of "
                                   "['application/json'].");
    }
}
