/* SPDX-License-Identifier: MIT
 *
 * grid: the provider clients (URLs, authentication, response shapes of
 * specs/carbon-method.md section 4), the retry policy, the per-zone
 * memory of what was fetched, and the background refresh thread (see
 * grid.h). HTTP itself is grid_http.c; storage is the store
 * (store/write_grid.c, store/read_carbon.c).
 */
#include "grid.h"

#include "grid_http.h"
#include "log.h"
#include "strbuf.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#define LB_PER_MWH_TO_G_PER_KWH 0.45359237
#define DAY_MS (24 * 3600 * 1000LL)
#define MAX_ZONES 256
#define MAX_ATTEMPTS 3
#define MAX_WAIT_MS 5000 /* all backoff sleeps of one request together */

struct zone_state {
    char zone[72];
    enum grid_source src;
    int64_t actual_attempt_ms; /* last background fetch of actuals */
    int forecast_horizon_h;    /* of the last forecast fetch; 0 unknown */
    int64_t used_ms;           /* for replacing the least recent entry */
};

/* grid/refresh's rate limit: one entry per (zone, source) asked for
 * lately, the least recent replaced when the table is full. */
#define MAX_REFRESHES 256
/* How long a failed refresh holds its zone (a success holds it for the
 * cache TTL). */
#define REFRESH_FAILED_HOLD_MS 10000LL

struct refresh_state {
    char zone[72];
    enum grid_source src;
    int64_t until_ms; /* no new refresh before this */
    bool running;
};

struct grid {
    struct store *store;
    const struct config *cfg;
    atomic_int abort;

    pthread_mutex_t refresh_mu; /* refreshes */
    struct refresh_state refreshes[MAX_REFRESHES];

    pthread_mutex_t mu; /* zones, WattTime token */
    struct zone_state zones[MAX_ZONES];
    size_t n_zones;
    char wt_token[4096];
    int64_t wt_expiry_ms;

    pthread_t thread;
    bool started;
    pthread_mutex_t wake_mu;
    pthread_cond_t wake_cv;
    bool stopping;
};

const char *grid_source_str(enum grid_source s)
{
    switch (s) {
    case GRID_SRC_UKCI:
        return "ukci";
    case GRID_SRC_ELECTRICITYMAPS:
        return "electricitymaps";
    case GRID_SRC_WATTTIME:
        return "watttime";
    }
    return "unknown";
}

const char *grid_source_basis(enum grid_source s)
{
    switch (s) {
    case GRID_SRC_UKCI:
        return "direct";
    case GRID_SRC_ELECTRICITYMAPS:
        return "lifecycle";
    case GRID_SRC_WATTTIME:
        return "marginal";
    }
    return "unknown";
}

bool grid_zone_valid(const char *zone)
{
    size_t n = zone ? strlen(zone) : 0;
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)zone[i];
        if (!isalnum(c) && c != '_' && c != '-')
            return false;
    }
    return true;
}

/* GB-n with n in 1..17: 'region' gets n; GB alone: 0. -1 otherwise. */
static int uk_region(const char *zone)
{
    if (strcmp(zone, "GB") == 0)
        return 0;
    if (strncmp(zone, "GB-", 3) != 0)
        return -1;
    const char *p = zone + 3;
    int v = 0;
    for (int i = 0; p[i]; i++) {
        if (i >= 2 || !isdigit((unsigned char)p[i]))
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return *p && p[0] != '0' && v >= 1 && v <= 17 ? v : -1;
}

static bool watttime_like(const char *zone)
{
    bool underscore = false;
    for (const char *p = zone; *p; p++) {
        if (*p == '_')
            underscore = true;
        else if (!isupper((unsigned char)*p) && !isdigit((unsigned char)*p))
            return false;
    }
    return underscore;
}

bool grid_source_configured(const struct grid *g, enum grid_source src)
{
    switch (src) {
    case GRID_SRC_UKCI:
        return g->cfg->ukci_url[0] != '\0';
    case GRID_SRC_ELECTRICITYMAPS:
        return g->cfg->electricitymaps_url[0] &&
               g->cfg->electricitymaps_token[0];
    case GRID_SRC_WATTTIME:
        return g->cfg->watttime_url[0] && g->cfg->watttime_user[0];
    }
    return false;
}

enum srv_err grid_resolve(const struct grid *g, const char *zone,
                          const char *source, enum grid_source *out,
                          struct errbuf *eb)
{
    if (!grid_zone_valid(zone))
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Invalid zone '%.80s': expected a provider's zone id "
                       "such as GB, GB-13, DE, US-CAL-CISO or CAISO_NORTH",
                       zone ? zone : "");
    if (source && *source) {
        if (strcmp(source, "ukci") == 0)
            *out = GRID_SRC_UKCI;
        else if (strcmp(source, "electricitymaps") == 0)
            *out = GRID_SRC_ELECTRICITYMAPS;
        else if (strcmp(source, "watttime") == 0)
            *out = GRID_SRC_WATTTIME;
        else
            return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                           "Invalid source '%.40s': expected ukci, "
                           "electricitymaps or watttime",
                           source);
        if (*out == GRID_SRC_UKCI && uk_region(zone) < 0)
            return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                           "The UK Carbon Intensity API (ukci) serves only "
                           "zones GB and GB-1 to GB-17, not '%s'",
                           zone);
        return SRV_OK;
    }
    if (uk_region(zone) >= 0)
        *out = GRID_SRC_UKCI;
    else if (watttime_like(zone) &&
             (grid_source_configured(g, GRID_SRC_WATTTIME) ||
              !grid_source_configured(g, GRID_SRC_ELECTRICITYMAPS)))
        *out = GRID_SRC_WATTTIME;
    else
        *out = GRID_SRC_ELECTRICITYMAPS;
    return SRV_OK;
}

/*---- lifecycle ----*/

struct grid *grid_new(struct store *st, const struct config *cfg)
{
    struct grid *g = calloc(1, sizeof(*g));
    if (!g)
        return NULL;
    g->store = st;
    g->cfg = cfg;
    atomic_init(&g->abort, 0);
    pthread_mutex_init(&g->mu, NULL);
    pthread_mutex_init(&g->refresh_mu, NULL);
    pthread_mutex_init(&g->wake_mu, NULL);
    pthread_cond_init(&g->wake_cv, NULL);
    return g;
}

bool grid_refresh_claim(struct grid *g, const char *zone, enum grid_source src,
                        unsigned *retry_after_s)
{
    int64_t now = store_now_ms();
    struct refresh_state *slot = NULL, *oldest = NULL;
    pthread_mutex_lock(&g->refresh_mu);
    for (size_t i = 0; i < MAX_REFRESHES; i++) {
        struct refresh_state *r = &g->refreshes[i];
        if (r->zone[0] && r->src == src && strcmp(r->zone, zone) == 0) {
            slot = r;
            break;
        }
        if (!r->running && (!oldest || r->until_ms < oldest->until_ms))
            oldest = r;
    }
    bool ok = true;
    if (slot && (slot->running || now < slot->until_ms)) {
        int64_t wait = slot->running ? 1000 : slot->until_ms - now;
        *retry_after_s = (unsigned)((wait + 999) / 1000);
        ok = false;
    } else {
        if (!slot)
            slot = oldest; /* the least recent, or a free one */
        if (!slot) {
            *retry_after_s = 1; /* every entry is running */
            ok = false;
        } else {
            snprintf(slot->zone, sizeof(slot->zone), "%s", zone);
            slot->src = src;
            slot->running = true;
            slot->until_ms = now;
        }
    }
    pthread_mutex_unlock(&g->refresh_mu);
    return ok;
}

void grid_refresh_done(struct grid *g, const char *zone, enum grid_source src,
                       bool ok)
{
    int64_t now = store_now_ms();
    int64_t hold = (int64_t)g->cfg->grid_ttl_s * 1000;
    if (!ok && hold > REFRESH_FAILED_HOLD_MS)
        hold = REFRESH_FAILED_HOLD_MS;
    pthread_mutex_lock(&g->refresh_mu);
    for (size_t i = 0; i < MAX_REFRESHES; i++) {
        struct refresh_state *r = &g->refreshes[i];
        if (r->running && r->src == src && strcmp(r->zone, zone) == 0) {
            r->running = false;
            r->until_ms = now + hold;
            break;
        }
    }
    pthread_mutex_unlock(&g->refresh_mu);
}

void grid_abort(struct grid *g)
{
    if (!g)
        return;
    atomic_store(&g->abort, 1);
    pthread_mutex_lock(&g->wake_mu);
    g->stopping = true;
    pthread_cond_broadcast(&g->wake_cv);
    pthread_mutex_unlock(&g->wake_mu);
}

void grid_stop(struct grid *g)
{
    if (!g)
        return;
    grid_abort(g);
    if (g->started) {
        pthread_join(g->thread, NULL);
        g->started = false;
    }
}

void grid_free(struct grid *g)
{
    if (!g)
        return;
    grid_stop(g);
    pthread_mutex_destroy(&g->mu);
    pthread_mutex_destroy(&g->refresh_mu);
    pthread_mutex_destroy(&g->wake_mu);
    pthread_cond_destroy(&g->wake_cv);
    free(g);
}

/* Sleeps 'ms' unless the module is stopping; false when it is. */
static bool nap(struct grid *g, int64_t ms)
{
    int64_t until = store_now_ms() + ms;
    struct timespec ts = {(time_t)(until / 1000),
                          (long)(until % 1000) * 1000000L};
    pthread_mutex_lock(&g->wake_mu);
    while (!g->stopping && store_now_ms() < until)
        if (pthread_cond_timedwait(&g->wake_cv, &g->wake_mu, &ts) != 0)
            break;
    bool ok = !g->stopping;
    pthread_mutex_unlock(&g->wake_mu);
    return ok;
}

/*---- per-zone memory ----*/

/* The entry of (zone, src), created (replacing the least recently used
 * one when full). Call with g->mu held. */
static struct zone_state *zone_entry(struct grid *g, const char *zone,
                                     enum grid_source src)
{
    int64_t now = store_now_ms();
    size_t victim = 0;
    for (size_t i = 0; i < g->n_zones; i++) {
        struct zone_state *z = &g->zones[i];
        if (z->src == src && strcmp(z->zone, zone) == 0) {
            z->used_ms = now;
            return z;
        }
        if (z->used_ms < g->zones[victim].used_ms)
            victim = i;
    }
    size_t i = g->n_zones < MAX_ZONES ? g->n_zones++ : victim;
    struct zone_state *z = &g->zones[i];
    memset(z, 0, sizeof(*z));
    snprintf(z->zone, sizeof(z->zone), "%s", zone);
    z->src = src;
    z->used_ms = now;
    return z;
}

int grid_forecast_horizon(enum grid_source src, int64_t need_ms)
{
    double hours = (double)need_ms / 3600000.0;
    switch (src) {
    case GRID_SRC_UKCI:
        return 48;
    case GRID_SRC_ELECTRICITYMAPS: {
        static const int allowed[] = {6, 24, 48, 72};
        for (size_t i = 0; i < 4; i++) {
            if (hours <= allowed[i])
                return allowed[i];
        }
        return 72;
    }
    case GRID_SRC_WATTTIME: {
        int h = (int)ceil(hours);
        return h < 1 ? 1 : h > 72 ? 72 : h;
    }
    }
    return 24;
}

void grid_note_forecast(struct grid *g, const char *zone, enum grid_source src,
                        int horizon_h)
{
    pthread_mutex_lock(&g->mu);
    zone_entry(g, zone, src)->forecast_horizon_h = horizon_h;
    pthread_mutex_unlock(&g->mu);
}

bool grid_forecast_stale(struct grid *g, const char *zone, enum grid_source src,
                         const struct grid_point *tl, size_t m, int64_t now_ms,
                         int64_t min_end_ms, int64_t need_end_ms)
{
    if (m == 0)
        return true;
    int64_t newest = 0;
    for (size_t i = 0; i < m; i++) {
        if (tl[i].fetched_ms > newest)
            newest = tl[i].fetched_ms;
    }
    if (now_ms - newest > (int64_t)g->cfg->grid_ttl_s * 1000)
        return true;
    double mean;
    if (!grid_window_mean(tl, m, now_ms, min_end_ms, &mean))
        return true;
    if (grid_window_mean(tl, m, now_ms, need_end_ms, &mean))
        return false;
    /* It stops early: worth asking again only with a longer horizon. */
    pthread_mutex_lock(&g->mu);
    int asked = zone_entry(g, zone, src)->forecast_horizon_h;
    pthread_mutex_unlock(&g->mu);
    return asked < grid_forecast_horizon(src, need_end_ms - now_ms);
}

/*---- HTTP with retries ----*/

static void url_append_escaped(struct strbuf *sb, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            strbuf_append_char(sb, (char)c);
        } else {
            strbuf_append_char(sb, '%');
            strbuf_append_char(sb, hex[c >> 4]);
            strbuf_append_char(sb, hex[c & 15]);
        }
    }
}

/* A short printable excerpt of a provider's error body. */
static void excerpt(const struct strbuf *body, char *out, size_t len)
{
    size_t j = 0;
    for (size_t i = 0; body->buf && i < body->len && j + 1 < len && j < 160;
         i++) {
        unsigned char c = (unsigned char)body->buf[i];
        out[j++] = c >= 0x20 && c < 0x7f ? (char)c : ' ';
    }
    out[j] = '\0';
}

struct fetch {
    const char *provider;
    const char *url;
    const char *headers[2];
    size_t n_headers;
    const char *user, *password;
};

/* GETs f->url and parses its JSON body into '*json'. Retries a 429
 * after its Retry-After (1 s when absent) and a 5xx after 250 ms, then
 * 500 ms, within MAX_ATTEMPTS and MAX_WAIT_MS of sleeping; never retries
 * a timeout (already the longest wait). '*status' is the last HTTP
 * status (0 without one), so callers can react to 401. */
static enum srv_err fetch_json(struct grid *g, const struct fetch *f,
                               cJSON **json, long *status, struct errbuf *eb)
{
    *json = NULL;
    *status = 0;
    long timeout = g->cfg->grid_timeout_ms;
    struct grid_http_req rq = {
        .url = f->url,
        .headers = f->headers,
        .n_headers = f->n_headers,
        .basic_user = f->user,
        .basic_password = f->password,
        .connect_timeout_ms = timeout < 2000 ? timeout : 2000,
        .timeout_ms = timeout,
        .abort = &g->abort,
        .max_body = (size_t)16 << 20,
    };
    int64_t waited = 0;
    for (int attempt = 1;; attempt++) {
        struct grid_http_resp resp;
        struct errbuf heb;
        enum srv_err e = grid_http_get(&rq, &resp, &heb);
        if (e) {
            strbuf_cleanup(&resp.body);
            log_debug("%s: cannot reach %s: %s", f->provider, f->url, heb.msg);
            /* grid_http's own words name no host; curl's may */
            bool own = strncmp(heb.msg, "timed out", 9) == 0 ||
                       strncmp(heb.msg, "the ", 4) == 0;
            return err_set(eb, SRV_E_UNAVAILABLE,
                           "%s: the provider cannot be reached%s%s",
                           f->provider, own ? ": " : "", own ? heb.msg : "");
        }
        *status = resp.status;
        if (resp.status >= 200 && resp.status < 300) {
            cJSON *j = resp.body.buf
                           ? cJSON_ParseWithLengthOpts(resp.body.buf,
                                                       resp.body.len, NULL, 0)
                           : NULL;
            strbuf_cleanup(&resp.body);
            if (!j) {
                log_debug("%s: the response from %s is not JSON", f->provider,
                          f->url);
                return err_set(eb, SRV_E_UNAVAILABLE,
                               "%s: the provider's answer is not JSON",
                               f->provider);
            }
            *json = j;
            return SRV_OK;
        }
        int64_t wait_ms = -1;
        if (resp.status == 429)
            wait_ms =
                resp.retry_after_s ? (int64_t)resp.retry_after_s * 1000 : 1000;
        else if (resp.status >= 500)
            wait_ms = 250LL << (attempt - 1);
        if (wait_ms >= 0 && attempt < MAX_ATTEMPTS &&
            waited + wait_ms <= MAX_WAIT_MS) {
            log_debug("%s: HTTP %ld from %s; retrying in %lld ms", f->provider,
                      resp.status, f->url, (long long)wait_ms);
            strbuf_cleanup(&resp.body);
            waited += wait_ms;
            if (!nap(g, wait_ms))
                return err_set(eb, SRV_E_UNAVAILABLE,
                               "%s: the server is shutting down", f->provider);
            continue;
        }
        /* The URL and the body are for the log: the client learns which
         * provider refused and its status, never the provider's address
         * (it may carry a token) or what it wrote back. */
        char body[200];
        excerpt(&resp.body, body, sizeof(body));
        strbuf_cleanup(&resp.body);
        log_debug("%s: HTTP %ld from %s%s%s%s", f->provider, resp.status,
                  f->url, body[0] ? " (" : "", body, body[0] ? ")" : "");
        enum srv_err code = resp.status == 400 || resp.status == 404
                                ? SRV_E_INVALID_PARAMETER_VALUE
                                : SRV_E_UNAVAILABLE;
        return err_set(eb, code, "%s: the provider answered HTTP %ld%s",
                       f->provider, resp.status,
                       code == SRV_E_INVALID_PARAMETER_VALUE
                           ? " (it does not know the zone)"
                           : "");
    }
}

/*---- point lists ----*/

struct points {
    struct grid_point *a;
    size_t n, cap;
    bool oom;
};

static void points_add(struct points *p, int64_t start, int64_t end, double g,
                       enum grid_kind kind, enum grid_source src,
                       const char *basis, int64_t fetched)
{
    if (p->oom || end <= start || !isfinite(g) || g < 0 || g > 100000)
        return;
    if (p->n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 128;
        struct grid_point *na = realloc(p->a, nc * sizeof(*na));
        if (!na) {
            p->oom = true;
            return;
        }
        p->a = na;
        p->cap = nc;
    }
    struct grid_point *x = &p->a[p->n++];
    memset(x, 0, sizeof(*x));
    x->start_ms = start;
    x->end_ms = end;
    x->g_per_kwh = g;
    x->kind = kind;
    x->fetched_ms = fetched;
    snprintf(x->source, sizeof(x->source), "%s", grid_source_str(src));
    snprintf(x->basis, sizeof(x->basis), "%s", basis);
}

static const char *json_str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool json_num(const cJSON *obj, const char *key, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsNumber(v))
        return false;
    *out = v->valuedouble;
    return true;
}

/* A time series of instants (EM 'datetime', WattTime 'point_time'): each
 * point lasts until the next one, the last one 'period_ms'. */
struct instant {
    int64_t t;
    double g;
    char basis[16];
};

static int by_instant(const void *pa, const void *pb)
{
    const struct instant *a = pa, *b = pb;
    return (a->t > b->t) - (a->t < b->t);
}

static void add_instants(struct points *p, struct instant *v, size_t n,
                         int64_t period_ms, enum grid_kind kind,
                         enum grid_source src, int64_t fetched)
{
    qsort(v, n, sizeof(*v), by_instant);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && v[i].t == v[i - 1].t)
            continue;
        int64_t end = v[i].t + period_ms;
        if (i + 1 < n && v[i + 1].t > v[i].t && v[i + 1].t < end)
            end = v[i + 1].t;
        points_add(p, v[i].t, end, v[i].g, kind, src, v[i].basis, fetched);
    }
}

/*---- UK Carbon Intensity API ----*/

/* National: {"data":[{"from","to","intensity":{"forecast","actual"}}]};
 * regional: {"data":{"regionid",..,"data":[{"from","to","intensity":
 * {"forecast"}}]}} (or that object inside a one-element array). */
static enum srv_err ukci_parse(const cJSON *json, struct points *p,
                               int64_t fetched, struct errbuf *eb)
{
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(json, "data");
    if (cJSON_IsArray(data) && cJSON_GetArraySize(data) > 0) {
        const cJSON *first = cJSON_GetArrayItem(data, 0);
        const cJSON *inner = cJSON_GetObjectItemCaseSensitive(first, "data");
        if (cJSON_IsArray(inner))
            data = inner;
    } else if (cJSON_IsObject(data)) {
        data = cJSON_GetObjectItemCaseSensitive(data, "data");
    }
    if (!cJSON_IsArray(data))
        return err_set(eb, SRV_E_UNAVAILABLE,
                       "ukci: unexpected response shape (no data array)");
    const cJSON *it;
    cJSON_ArrayForEach(it, data)
    {
        int64_t from, to;
        const cJSON *in = cJSON_GetObjectItemCaseSensitive(it, "intensity");
        if (!grid_parse_iso(json_str(it, "from"), &from) ||
            !grid_parse_iso(json_str(it, "to"), &to) || !cJSON_IsObject(in))
            continue;
        double v;
        if (json_num(in, "actual", &v))
            points_add(p, from, to, v, GRID_ACTUAL, GRID_SRC_UKCI, "direct",
                       fetched);
        if (json_num(in, "forecast", &v))
            points_add(p, from, to, v, GRID_FORECAST, GRID_SRC_UKCI, "direct",
                       fetched);
    }
    return SRV_OK;
}

static enum srv_err ukci_fetch(struct grid *g, const char *zone,
                               enum grid_kind kind, struct points *p,
                               struct errbuf *eb)
{
    int64_t now = store_now_ms();
    int region = uk_region(zone);
    char from[40];
    /* The forecast starts half an hour back so the period holding 'now'
     * is always among the answers. */
    grid_format_iso_minute(kind == GRID_FORECAST ? now - 30 * 60000 : now, from,
                           sizeof(from));
    struct strbuf url;
    strbuf_init(&url);
    strbuf_append_str(&url, g->cfg->ukci_url);
    const char *span = kind == GRID_FORECAST ? "fw48h" : "pt24h";
    if (region == 0)
        strbuf_printf(&url, "/intensity/%s/%s", from, span);
    else
        strbuf_printf(&url, "/regional/intensity/%s/%s/regionid/%d", from, span,
                      region);
    if (url.oom) {
        strbuf_cleanup(&url);
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    }
    struct fetch f = {"ukci", url.buf, {"Accept: application/json"},
                      1,      NULL,    NULL};
    cJSON *json;
    long status;
    enum srv_err e = fetch_json(g, &f, &json, &status, eb);
    if (!e) {
        e = ukci_parse(json, p, now, eb);
        cJSON_Delete(json);
    }
    strbuf_cleanup(&url);
    return e;
}

/*---- Electricity Maps ----*/

static int64_t em_granularity_ms(const char *g)
{
    if (!g)
        return 0;
    if (strcmp(g, "5_minutes") == 0)
        return 5 * 60000;
    if (strcmp(g, "15_minutes") == 0)
        return 15 * 60000;
    if (strcmp(g, "hourly") == 0)
        return 3600000;
    if (strcmp(g, "daily") == 0)
        return DAY_MS;
    return 0;
}

/* Entries {"carbonIntensity","datetime","emissionFactorType",
 * "temporalGranularity"} from 'list' (an array) or one object. */
static enum srv_err em_parse(const cJSON *list, enum grid_kind kind,
                             struct points *p, int64_t fetched,
                             struct errbuf *eb)
{
    size_t n = cJSON_IsArray(list) ? (size_t)cJSON_GetArraySize(list) : 1;
    struct instant *v = calloc(n ? n : 1, sizeof(*v));
    if (!v)
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    size_t m = 0;
    int64_t period = 0;
    const cJSON *it = cJSON_IsArray(list) ? list->child : list;
    for (; it && m < n; it = cJSON_IsArray(list) ? it->next : NULL) {
        double ci;
        int64_t t;
        if (!json_num(it, "carbonIntensity", &ci) ||
            !grid_parse_iso(json_str(it, "datetime"), &t))
            continue;
        const char *ef = json_str(it, "emissionFactorType");
        snprintf(
            v[m].basis, sizeof(v[m].basis), "%s",
            ef && (strcmp(ef, "direct") == 0 || strcmp(ef, "lifecycle") == 0)
                ? ef
                : "lifecycle");
        v[m].t = t;
        v[m].g = ci;
        if (!period)
            period = em_granularity_ms(json_str(it, "temporalGranularity"));
        m++;
    }
    add_instants(p, v, m, period ? period : 3600000, kind,
                 GRID_SRC_ELECTRICITYMAPS, fetched);
    free(v);
    return SRV_OK;
}

static enum srv_err em_get(struct grid *g, const char *path, const char *zone,
                           const char *extra, cJSON **json, struct errbuf *eb)
{
    struct strbuf url, auth;
    strbuf_init(&url);
    strbuf_init(&auth);
    strbuf_printf(&url,
                  "%s/carbon-intensity/%s?zone=", g->cfg->electricitymaps_url,
                  path);
    url_append_escaped(&url, zone);
    strbuf_printf(&url, "&emissionFactorType=lifecycle%s", extra);
    strbuf_printf(&auth, "auth-token: %s", g->cfg->electricitymaps_token);
    enum srv_err e;
    if (url.oom || auth.oom) {
        e = err_set(eb, SRV_E_NOMEM, "out of memory");
    } else {
        struct fetch f = {"electricitymaps",
                          url.buf,
                          {auth.buf, "Accept: application/json"},
                          2,
                          NULL,
                          NULL};
        long status;
        e = fetch_json(g, &f, json, &status, eb);
    }
    strbuf_cleanup(&url);
    strbuf_cleanup(&auth);
    return e;
}

static enum srv_err em_fetch(struct grid *g, const char *zone,
                             enum grid_kind kind, int horizon_h,
                             struct points *p, struct errbuf *eb)
{
    if (!g->cfg->electricitymaps_token[0])
        return err_set(eb, SRV_E_UNAVAILABLE,
                       "electricitymaps: no API token configured (set "
                       "GREENTRACK_ELECTRICITYMAPS_TOKEN); zone %s has no "
                       "other provider",
                       zone);
    int64_t now = store_now_ms();
    cJSON *json = NULL;
    enum srv_err e;
    if (kind == GRID_FORECAST) {
        char extra[32];
        snprintf(extra, sizeof(extra), "&horizonHours=%d", horizon_h);
        if ((e = em_get(g, "forecast", zone, extra, &json, eb)))
            return e;
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(json, "forecast");
        e = cJSON_IsArray(list)
                ? em_parse(list, GRID_FORECAST, p, now, eb)
                : err_set(eb, SRV_E_UNAVAILABLE,
                          "electricitymaps: unexpected forecast response "
                          "(no forecast array)");
        cJSON_Delete(json);
        return e;
    }
    if ((e = em_get(g, "history", zone, "", &json, eb)))
        return e;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(json, "history");
    e = cJSON_IsArray(list) ? em_parse(list, GRID_ACTUAL, p, now, eb)
                            : err_set(eb, SRV_E_UNAVAILABLE,
                                      "electricitymaps: unexpected history "
                                      "response (no history array)");
    cJSON_Delete(json);
    if (e)
        return e;
    /* The latest hour may be newer than the history's last point. */
    struct errbuf leb;
    if (em_get(g, "latest", zone, "", &json, &leb) == SRV_OK) {
        if (cJSON_IsObject(json))
            em_parse(json, GRID_ACTUAL, p, now, &leb);
        cJSON_Delete(json);
    } else {
        log_warn("%s", leb.msg);
    }
    return SRV_OK;
}

/*---- WattTime ----*/

static int b64url_value(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-' || c == '+')
        return 62;
    if (c == '_' || c == '/')
        return 63;
    return -1;
}

/* The "exp" claim (seconds) of a JWT, or 0 when it has none. */
static int64_t jwt_exp_ms(const char *token)
{
    const char *a = strchr(token, '.');
    const char *b = a ? strchr(a + 1, '.') : NULL;
    if (!b || b - a - 1 > 4096)
        return 0;
    char out[3100];
    size_t n = 0;
    unsigned acc = 0;
    int bits = 0;
    for (const char *p = a + 1; p < b; p++) {
        int v = b64url_value((unsigned char)*p);
        if (v < 0)
            break;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n + 1 < sizeof(out))
                out[n++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[n] = '\0';
    cJSON *j = cJSON_ParseWithLengthOpts(out, n, NULL, 0);
    double exp = 0;
    json_num(j, "exp", &exp);
    cJSON_Delete(j);
    return exp > 0 && exp < 1e11 ? (int64_t)exp * 1000 : 0;
}

/* A valid WattTime token in 'tok': the cached one unless 'renew' or
 * expired (30 s of margin), else a new one from GET /login with HTTP
 * Basic. Tokens last 30 minutes; a JWT's own "exp" wins when present. */
static enum srv_err wt_token(struct grid *g, bool renew, char *tok, size_t len,
                             struct errbuf *eb)
{
    int64_t now = store_now_ms();
    pthread_mutex_lock(&g->mu);
    bool have = !renew && g->wt_token[0] && now < g->wt_expiry_ms;
    if (have)
        snprintf(tok, len, "%s", g->wt_token);
    pthread_mutex_unlock(&g->mu);
    if (have)
        return SRV_OK;
    struct strbuf url;
    strbuf_init(&url);
    strbuf_printf(&url, "%s/login", g->cfg->watttime_url);
    struct fetch f = {"watttime",
                      url.buf,
                      {"Accept: application/json"},
                      1,
                      g->cfg->watttime_user,
                      g->cfg->watttime_password};
    cJSON *json = NULL;
    long status;
    enum srv_err e = url.oom ? err_set(eb, SRV_E_NOMEM, "out of memory")
                             : fetch_json(g, &f, &json, &status, eb);
    if (e == SRV_E_INVALID_PARAMETER_VALUE || (e && status == 401)) {
        log_debug("watttime: login refused (HTTP %ld from %s)", status,
                  url.buf);
        e = err_set(eb, SRV_E_UNAVAILABLE,
                    "watttime: login refused (HTTP %ld); check "
                    "GREENTRACK_WATTTIME_USER and "
                    "GREENTRACK_WATTTIME_PASSWORD",
                    status);
    }
    strbuf_cleanup(&url);
    if (e)
        return e;
    const char *t = json_str(json, "token");
    if (!t || !*t || strlen(t) >= sizeof(g->wt_token) || strlen(t) >= len) {
        cJSON_Delete(json);
        return err_set(eb, SRV_E_UNAVAILABLE,
                       "watttime: the login answer holds no token");
    }
    int64_t exp = jwt_exp_ms(t);
    pthread_mutex_lock(&g->mu);
    snprintf(g->wt_token, sizeof(g->wt_token), "%s", t);
    g->wt_expiry_ms = (exp ? exp : now + 30 * 60000) - 30000;
    snprintf(tok, len, "%s", t);
    pthread_mutex_unlock(&g->mu);
    cJSON_Delete(json);
    return SRV_OK;
}

/* {"data":[{"point_time","value"}],"meta":{"units":"lbs_co2_per_mwh",
 * "data_point_period_seconds":300}} */
static enum srv_err wt_parse(const cJSON *json, enum grid_kind kind,
                             struct points *p, int64_t fetched,
                             struct errbuf *eb)
{
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(json, "data");
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(json, "meta");
    if (!cJSON_IsArray(data))
        return err_set(eb, SRV_E_UNAVAILABLE,
                       "watttime: unexpected response (no data array)");
    const char *units = json_str(meta, "units");
    double factor = LB_PER_MWH_TO_G_PER_KWH;
    if (units && strcmp(units, "lbs_co2_per_mwh") != 0) {
        if (strcmp(units, "g_co2_per_kwh") != 0 &&
            strcmp(units, "kg_co2_per_mwh") != 0)
            return err_set(eb, SRV_E_UNAVAILABLE,
                           "watttime: unsupported units '%.40s'", units);
        factor = 1.0;
    }
    double period_s = 300;
    json_num(meta, "data_point_period_seconds", &period_s);
    if (!(period_s >= 1 && period_s <= 86400))
        period_s = 300;
    size_t n = (size_t)cJSON_GetArraySize(data);
    struct instant *v = calloc(n ? n : 1, sizeof(*v));
    if (!v)
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    size_t m = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, data)
    {
        double val;
        int64_t t;
        if (m == n)
            break;
        if (!json_num(it, "value", &val) ||
            !grid_parse_iso(json_str(it, "point_time"), &t))
            continue;
        v[m].t = t;
        v[m].g = val * factor;
        snprintf(v[m].basis, sizeof(v[m].basis), "marginal");
        m++;
    }
    add_instants(p, v, m, (int64_t)(period_s * 1000), kind, GRID_SRC_WATTTIME,
                 fetched);
    free(v);
    return SRV_OK;
}

static enum srv_err wt_fetch(struct grid *g, const char *zone,
                             enum grid_kind kind, int horizon_h,
                             struct points *p, struct errbuf *eb)
{
    if (!g->cfg->watttime_user[0])
        return err_set(eb, SRV_E_UNAVAILABLE,
                       "watttime: no account configured (set "
                       "GREENTRACK_WATTTIME_USER and "
                       "GREENTRACK_WATTTIME_PASSWORD)");
    int64_t now = store_now_ms();
    struct strbuf url;
    strbuf_init(&url);
    strbuf_printf(&url, "%s/v3/%s?region=", g->cfg->watttime_url,
                  kind == GRID_FORECAST ? "forecast" : "historical");
    url_append_escaped(&url, zone);
    strbuf_append_str(&url, "&signal_type=co2_moer");
    if (kind == GRID_FORECAST) {
        strbuf_printf(&url, "&horizon_hours=%d", horizon_h);
    } else {
        char a[40], b[40];
        strbuf_append_str(&url, "&start=");
        url_append_escaped(&url, grid_format_iso(now - DAY_MS, a, sizeof(a)));
        strbuf_append_str(&url, "&end=");
        url_append_escaped(&url, grid_format_iso(now, b, sizeof(b)));
    }
    if (url.oom) {
        strbuf_cleanup(&url);
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    }
    enum srv_err e = SRV_OK;
    cJSON *json = NULL;
    /* A 401 means the cached token went stale early: renew once. */
    for (int round = 0; round < 2; round++) {
        char tok[4096], auth[4200];
        if ((e = wt_token(g, round > 0, tok, sizeof(tok), eb)))
            break;
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
        struct fetch f = {
            "watttime", url.buf, {auth, "Accept: application/json"},
            2,          NULL,    NULL};
        long status;
        e = fetch_json(g, &f, &json, &status, eb);
        if (!e || status != 401)
            break;
    }
    if (!e) {
        e = wt_parse(json, kind, p, now, eb);
        cJSON_Delete(json);
    }
    strbuf_cleanup(&url);
    return e;
}

enum srv_err grid_fetch(struct grid *g, const char *zone, enum grid_source src,
                        enum grid_kind kind, int horizon_h,
                        struct grid_point **out, size_t *n, struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    if (atomic_load(&g->abort))
        return err_set(eb, SRV_E_UNAVAILABLE, "%s: the server is shutting down",
                       grid_source_str(src));
    struct points p = {0};
    enum srv_err e = SRV_OK;
    switch (src) {
    case GRID_SRC_UKCI:
        e = ukci_fetch(g, zone, kind, &p, eb);
        break;
    case GRID_SRC_ELECTRICITYMAPS:
        e = em_fetch(g, zone, kind, horizon_h, &p, eb);
        break;
    case GRID_SRC_WATTTIME:
        e = wt_fetch(g, zone, kind, horizon_h, &p, eb);
        break;
    }
    if (!e && p.oom)
        e = err_set(eb, SRV_E_NOMEM, "out of memory");
    if (e) {
        free(p.a);
        return e;
    }
    if (kind == GRID_FORECAST)
        grid_note_forecast(g, zone, src, horizon_h);
    *out = p.a;
    *n = p.n;
    return SRV_OK;
}

/*---- the background thread ----*/

struct wait_write {
    struct store_write w; /* first */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
};

static void on_recorded(struct store_write *w, void *userdata)
{
    (void)w;
    struct wait_write *x = userdata;
    pthread_mutex_lock(&x->mu);
    x->done = true;
    pthread_cond_signal(&x->cv);
    pthread_mutex_unlock(&x->mu);
}

/* Records 'pts' through the writer and waits for the commit. */
static enum srv_err record_wait(struct grid *g, const char *zone,
                                const struct grid_point *pts, size_t n,
                                int64_t *recomputed, struct errbuf *eb)
{
    struct wait_write x;
    memset(&x, 0, sizeof(x));
    pthread_mutex_init(&x.mu, NULL);
    pthread_cond_init(&x.cv, NULL);
    x.w.kind = SW_GRID_RECORD;
    x.w.zone = zone;
    x.w.grid_points = pts;
    x.w.n_grid_points = n;
    x.w.done = on_recorded;
    x.w.userdata = &x;
    store_submit(g->store, &x.w);
    pthread_mutex_lock(&x.mu);
    while (!x.done)
        pthread_cond_wait(&x.cv, &x.mu);
    pthread_mutex_unlock(&x.mu);
    pthread_mutex_destroy(&x.mu);
    pthread_cond_destroy(&x.cv);
    *recomputed = x.w.out_count;
    if (x.w.result && eb)
        *eb = x.w.err;
    return x.w.result;
}

/* Fetches the recorded intensity of 'zone' if its last try is older than
 * the refresh interval, and records it. */
static void refresh_zone(struct grid *g, const char *zone, int64_t now)
{
    enum grid_source src;
    struct errbuf eb;
    if (!grid_zone_valid(zone) || grid_resolve(g, zone, NULL, &src, &eb) ||
        !grid_source_configured(g, src))
        return;
    pthread_mutex_lock(&g->mu);
    struct zone_state *z = zone_entry(g, zone, src);
    bool due =
        z->actual_attempt_ms == 0 ||
        now - z->actual_attempt_ms >= (int64_t)g->cfg->grid_refresh_s * 1000;
    if (due)
        z->actual_attempt_ms = now;
    pthread_mutex_unlock(&g->mu);
    if (!due)
        return;
    struct grid_point *pts;
    size_t n;
    if (grid_fetch(g, zone, src, GRID_ACTUAL, 0, &pts, &n, &eb)) {
        if (!atomic_load(&g->abort))
            log_warn("grid refresh of zone %s: %s", zone, eb.msg);
        return;
    }
    int64_t recomputed = 0;
    if (n && record_wait(g, zone, pts, n, &recomputed, &eb) == SRV_OK)
        log_debug("grid refresh of zone %s: %zu periods from %s, %lld runs "
                  "recomputed",
                  zone, n, grid_source_str(src), (long long)recomputed);
    else if (n)
        log_warn("grid refresh of zone %s: %s", zone, eb.msg);
    free(pts);
}

static void *grid_main(void *arg)
{
    struct grid *g = arg;
    uint64_t seen_epoch = 0;
    int64_t next_full = 0;
    bool first = true;
    while (nap(g, first ? 0 : 500)) {
        first = false;
        int64_t now = store_now_ms();
        uint64_t epoch = store_grid_zone_epoch(g->store);
        if (epoch == seen_epoch && now < next_full)
            continue;
        seen_epoch = epoch;
        if (now >= next_full)
            next_full = now + (int64_t)g->cfg->grid_refresh_s * 1000;
        if (!store_singleton_held(g->store, STORE_SINGLETON_GRID))
            continue; /* another server on the database refreshes */
        char **zones;
        size_t n;
        struct errbuf eb;
        if (store_grid_zones_in_use(g->store, now - DAY_MS - 3600000, &zones,
                                    &n, &eb)) {
            log_warn("grid refresh: %s", eb.msg);
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            if (!atomic_load(&g->abort))
                refresh_zone(g, zones[i], now);
            free(zones[i]);
        }
        free(zones);
    }
    return NULL;
}

int grid_start(struct grid *g)
{
    if (!g->cfg->grid_refresh_s)
        return 0;
    if (pthread_create(&g->thread, NULL, grid_main, g) != 0)
        return -1;
    g->started = true;
    return 0;
}
