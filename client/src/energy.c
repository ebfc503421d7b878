/* SPDX-License-Identifier: MIT
 *
 * energy: wires the probes (probes/) into the client. It owns the client's
 * energy settings (from the environment at gt_client_new, then the
 * setters), the list of runs being measured, the energy_meter and the
 * sampler thread (started with the first measured run, idle with the
 * probes closed while no run is open, stopped by gt_client_free): it reads
 * the counters every interval, and about every 10 s (and whenever a run
 * starts or ends, or gt_run_energy asks) closes a window and queues one
 * energy sample per open run (node scope: every run open in the process
 * gets the machine's energy of the window). It also queues each run's
 * greentrack.host.* and location tags, detecting the cloud region on the
 * sampler thread. Samples and tags travel through the queue, the worker
 * and the spool like any record (REC_ENERGY, REC_TAG with REC_F_AUTO).
 */
#include "internal.h"
#include "probes/probes.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WINDOW_MS 10000     /* a window closes this often at least */
#define MAX_WINDOW_MS 60000 /* and at most this rarely */
/* A window's close may cost at most 1/TAKE_BUDGET of one core. */
#define TAKE_BUDGET 2000
#define CLOUD_BUDGET_MS 300
#define DEFAULT_METADATA_URL "http://169.254.169.254"
#define MAX_WARNINGS 8
#define OPEN_WAIT_MS 2000
#define N_LOC 6

struct loc_tag {
    const char *key; /* static */
    char *value;     /* malloc'ed, NULL when not set or invalid */
};

struct energy_state {
    pthread_mutex_t mu;    /* everything below */
    pthread_cond_t cv;     /* wakes the sampler: stop, or no run left */
    pthread_cond_t opened; /* the sampler opened the probes or ended */

    /* settings */
    bool enabled;
    int interval_ms;
    enum energy_scope scope;
    long pid;
    char *sysfs_root, *procfs_root, *nvml_lib, *cuda;
    bool cuda_set;
    char *metadata_url; /* NULL: detection off */
    struct loc_tag loc[N_LOC];
    bool cloud_env;               /* a cloud provider or region was given */
    char *warnings[MAX_WARNINGS]; /* said once by the sampler */
    int nwarnings;

    /* the sampler */
    pthread_t th;
    bool th_joinable; /* a thread was started and not joined yet */
    bool open_failed; /* the probes could not be opened (out of memory) */
    bool running;     /* the thread has not decided to end */
    bool stop;        /* energy_cleanup: end now */
    atomic_bool abort_detect;
    struct energy_meter *meter; /* NULL until the thread opened it */
    int64_t last_take_mono;
    int64_t window_ms;   /* energy_window_ms of the last close's cost */
    int64_t last_end_ms; /* end of the last window sent */
    gt_run *runs;        /* runs being measured (gt_run.e_next) */

    /* facts, once known */
    bool host_ready;
    struct host_facts host;
    bool cloud_done, cloud_found;
    char cloud_provider[16], cloud_region[64];
};

/*---- settings ----*/

static char *env_dup(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? strdup(v) : NULL;
}

static void warn(struct energy_state *es, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void warn(struct energy_state *es, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    if (es->nwarnings >= MAX_WARNINGS)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    es->warnings[es->nwarnings] = strdup(msg);
    if (es->warnings[es->nwarnings])
        es->nwarnings++;
}

static bool all_chars(const char *s, const char *extra, size_t max)
{
    size_t n = 0;
    for (; s[n]; n++) {
        unsigned char ch = (unsigned char)s[n];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || (ch && strchr(extra, ch));
        if (!ok || n >= max)
            return false;
    }
    return n > 0;
}

static bool country_valid(const char *s)
{
    if (strlen(s) != 3)
        return false;
    for (int i = 0; i < 3; i++) {
        if (s[i] < 'A' || s[i] > 'Z')
            return false;
    }
    return true;
}

static bool pue_valid(const char *s)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    return end != s && *end == '\0' && errno == 0 && isfinite(v) && v >= 1.0 &&
           v <= 3.0;
}

/* One location variable: kept when valid, else a warning. */
static void location_var(struct energy_state *es, int i, const char *var,
                         const char *key, bool (*valid)(const char *),
                         const char *rule)
{
    const char *v = getenv(var);
    es->loc[i].key = key;
    if (!v || !*v)
        return;
    if (!valid(v)) {
        warn(es, "%s='%.64s' is not %s: not sent", var, v, rule);
        return;
    }
    es->loc[i].value = strdup(v);
}

static bool region_valid(const char *s)
{
    return all_chars(s, " _.-", 64);
}

static bool provider_valid(const char *s)
{
    return all_chars(s, "_-", 32);
}

static bool cloud_region_valid(const char *s)
{
    return all_chars(s, "_-", 64);
}

static void read_env(struct energy_state *es)
{
    const char *v = getenv("GREENTRACK_ENERGY");
    es->enabled = true;
    if (v && *v) {
        if (strcmp(v, "off") == 0 || strcmp(v, "0") == 0 ||
            strcmp(v, "false") == 0 || strcmp(v, "no") == 0)
            es->enabled = false;
        else if (strcmp(v, "on") != 0 && strcmp(v, "1") != 0 &&
                 strcmp(v, "true") != 0 && strcmp(v, "yes") != 0)
            warn(es, "GREENTRACK_ENERGY='%.32s' is not on or off: on", v);
    }
    es->interval_ms = 1000;
    v = getenv("GREENTRACK_ENERGY_INTERVAL_MS");
    if (v && *v) {
        char *end;
        long ms = strtol(v, &end, 10);
        if (*end == '\0' && ms >= 10 && ms <= 60000)
            es->interval_ms = (int)ms;
        else
            warn(es,
                 "GREENTRACK_ENERGY_INTERVAL_MS='%.32s' is not 10..60000: "
                 "1000",
                 v);
    }
    es->scope = ENERGY_SCOPE_NODE;
    v = getenv("GREENTRACK_ENERGY_SCOPE");
    if (v && *v) {
        if (strcmp(v, "process") == 0)
            es->scope = ENERGY_SCOPE_PROCESS;
        else if (strcmp(v, "node") != 0)
            warn(es,
                 "GREENTRACK_ENERGY_SCOPE='%.32s' is not node or process: "
                 "node",
                 v);
    }
    es->sysfs_root = env_dup("GREENTRACK_SYSFS_ROOT");
    es->procfs_root = env_dup("GREENTRACK_PROCFS_ROOT");
    es->nvml_lib = env_dup("GREENTRACK_NVML_LIB");
    v = getenv("CUDA_VISIBLE_DEVICES");
    es->cuda_set = v != NULL;
    es->cuda = v ? strdup(v) : NULL;

    location_var(es, 0, "GREENTRACK_COUNTRY", "greentrack.country",
                 country_valid, "an ISO 3166 alpha-3 code (e.g. FRA)");
    location_var(es, 1, "GREENTRACK_REGION", "greentrack.region", region_valid,
                 "a region code (e.g. QC, SE3)");
    location_var(es, 2, "GREENTRACK_CLOUD_PROVIDER",
                 "greentrack.cloud_provider", provider_valid,
                 "a provider name (aws, gcp, azure...)");
    location_var(es, 3, "GREENTRACK_CLOUD_REGION", "greentrack.cloud_region",
                 cloud_region_valid, "a cloud region (e.g. europe-west1)");
    location_var(es, 4, "GREENTRACK_PUE", "greentrack.pue", pue_valid,
                 "a number from 1.0 to 3.0");
    location_var(es, 5, "GREENTRACK_ZONE", "greentrack.zone", region_valid,
                 "a grid zone code (e.g. FR, DE)");
    es->cloud_env = es->loc[2].value || es->loc[3].value ||
                    getenv("GREENTRACK_CLOUD_PROVIDER") ||
                    getenv("GREENTRACK_CLOUD_REGION");

    v = getenv("GREENTRACK_CLOUD_METADATA_URL");
    if (v && strcmp(v, "off") == 0) {
        es->metadata_url = NULL;
    } else if (v && *v) {
        if (strncmp(v, "http://", 7) == 0 || strncmp(v, "https://", 8) == 0)
            es->metadata_url = strdup(v);
        else
            warn(es,
                 "GREENTRACK_CLOUD_METADATA_URL='%.64s' is not http(s) or "
                 "off: cloud detection off",
                 v);
    } else {
        es->metadata_url = strdup(DEFAULT_METADATA_URL);
    }
}

void energy_init(gt_client *c)
{
    struct energy_state *es = calloc(1, sizeof *es);
    if (!es)
        return;
    es->window_ms = WINDOW_MS;
    if (pthread_mutex_init(&es->mu, NULL) != 0) {
        free(es);
        return;
    }
    /* deadlines are monotonic (gt_mono_ms) */
    pthread_condattr_t ca;
    bool ok = pthread_condattr_init(&ca) == 0;
    if (ok) {
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        ok = pthread_cond_init(&es->cv, &ca) == 0;
        if (ok && pthread_cond_init(&es->opened, &ca) != 0) {
            pthread_cond_destroy(&es->cv);
            ok = false;
        }
        pthread_condattr_destroy(&ca);
    }
    if (!ok) {
        pthread_mutex_destroy(&es->mu);
        free(es);
        return;
    }
    atomic_init(&es->abort_detect, false);
    read_env(es);
    c->energy = es;
}

/*---- queueing samples and tags ----*/

static void push_tag(gt_run *r, const char *key, const char *value)
{
    struct rec h;
    size_t klen, vlen;
    if (!value || !*value ||
        mlflow_key_check(key, &klen, NULL) != MLFLOW_NAME_OK ||
        mlflow_text_check(value, MLFLOW_MAX_TAG_VALUE_CHARS, &vlen, NULL) !=
            MLFLOW_NAME_OK)
        return;
    memset(&h, 0, sizeof h);
    h.size = rec_size_for(klen, vlen);
    h.type = REC_TAG;
    h.flags = REC_F_AUTO;
    h.klen = (uint16_t)klen;
    h.vlen = (uint32_t)vlen;
    h.run = r;
    /* control: never refused for the byte bound (a handful per run) */
    (void)queue_push(&r->client->q, &h, key, value, true, &r->client->dropped);
}

static void push_host_tags(struct energy_state *es, gt_run *r)
{
    char buf[64];
    const struct host_facts *h = &es->host;
    push_tag(r, "greentrack.host.cpu", h->cpu);
    snprintf(buf, sizeof buf, "%d", h->sockets);
    push_tag(r, "greentrack.host.sockets", buf);
    snprintf(buf, sizeof buf, "%d", h->gpus);
    push_tag(r, "greentrack.host.gpus", buf);
    if (h->gpus > 0)
        push_tag(r, "greentrack.host.gpu_model", h->gpu_model);
    snprintf(buf, sizeof buf, "%.1f", h->ram_gb);
    push_tag(r, "greentrack.host.ram_gb", buf);
    push_tag(r, "greentrack.host.os", h->os);
    push_tag(r, "greentrack.host.hostname", h->hostname);
    r->e_host_sent = true;
}

static void push_cloud_tags(struct energy_state *es, gt_run *r)
{
    if (es->cloud_found) {
        push_tag(r, "greentrack.cloud_provider", es->cloud_provider);
        push_tag(r, "greentrack.cloud_region", es->cloud_region);
    }
    r->e_cloud_sent = true;
}

/* Tags that became known since 'r' joined. */
static void push_pending_tags(struct energy_state *es, gt_run *r)
{
    if (es->host_ready && !r->e_host_sent)
        push_host_tags(es, r);
    if (es->cloud_done && !r->e_cloud_sent)
        push_cloud_tags(es, r);
}

static double joules(double j)
{
    return isfinite(j) && j > 0 ? j : 0.0;
}

static void push_sample(gt_run *r, const struct energy_window *w)
{
    struct gt_buf b;
    struct rec h;
    gt_buf_init(&b);
    gt_buf_adds(&b, "{\"start_time\":");
    gt_buf_add_i64(&b, w->start_ms);
    gt_buf_adds(&b, ",\"end_time\":");
    gt_buf_add_i64(&b, w->end_ms);
    gt_buf_adds(&b, ",\"cpu_energy_j\":");
    gt_buf_add_double(&b, joules(w->cpu_j));
    gt_buf_adds(&b, ",\"gpu_energy_j\":");
    gt_buf_add_double(&b, joules(w->gpu_j));
    gt_buf_adds(&b, ",\"ram_energy_j\":");
    gt_buf_add_double(&b, joules(w->ram_j));
    gt_buf_adds(&b, ",\"cpu_method\":");
    gt_buf_add_json_str(&b, w->cpu_method, strlen(w->cpu_method));
    gt_buf_adds(&b, ",\"gpu_method\":");
    gt_buf_add_json_str(&b, w->gpu_method, strlen(w->gpu_method));
    gt_buf_adds(&b, ",\"ram_method\":");
    gt_buf_add_json_str(&b, w->ram_method, strlen(w->ram_method));
    gt_buf_adds(&b, ",\"scope\":");
    gt_buf_add_json_str(&b, w->scope, strlen(w->scope));
    gt_buf_add(&b, "}", 1);
    if (!b.oom) {
        memset(&h, 0, sizeof h);
        h.size = rec_size_for(0, b.len);
        h.type = REC_ENERGY;
        h.vlen = (uint32_t)b.len;
        h.run = r;
        h.ts = w->end_ms;
        if (queue_push(&r->client->q, &h, "", b.p, true, &r->client->dropped) !=
            GT_OK)
            atomic_fetch_add_explicit(&r->client->energy_dropped, 1,
                                      memory_order_relaxed);
    }
    gt_buf_cleanup(&b);
}

int64_t energy_window_ms(int64_t take_cpu_us)
{
    /* Closing a window reads every GPU's energy counter, which some
     * drivers make slow (3.4-3.9 ms of CPU per GPU measured on an H100
     * VM): stretch the window so closing costs at most 1/TAKE_BUDGET of a
     * core (0.05 %), which keeps the sampler under 0.1 % on 8 GPUs. */
    int64_t ms = take_cpu_us > 0 ? take_cpu_us * TAKE_BUDGET / 1000 : 0;
    return ms < WINDOW_MS ? WINDOW_MS : ms > MAX_WINDOW_MS ? MAX_WINDOW_MS : ms;
}

static int64_t thread_cpu_us(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static const char *str_or(const char *s, const char *dflt)
{
    return s && *s ? s : dflt;
}

/* Closes the window now and gives it to every measured run. Call with
 * es->mu held and es->meter open. */
static void take_locked(struct energy_state *es)
{
    struct energy_window w;
    memset(&w, 0, sizeof w);
    int64_t cpu0 = thread_cpu_us();
    energy_meter_take(es->meter, &w);
    es->window_ms = energy_window_ms(thread_cpu_us() - cpu0);
    es->last_take_mono = gt_mono_ms();
    w.cpu_method = str_or(w.cpu_method, "unknown");
    w.gpu_method = str_or(w.gpu_method, "none");
    w.ram_method = str_or(w.ram_method, "unknown");
    w.scope = str_or(w.scope, "node");
    /* The server wants end > start, and a sample with the same start and
     * end as another replaces it: windows closed within one millisecond
     * are stretched to 1 ms, and the next one starts after it. */
    if (w.start_ms < es->last_end_ms)
        w.start_ms = es->last_end_ms;
    if (w.end_ms <= w.start_ms)
        w.end_ms = w.start_ms + 1;
    es->last_end_ms = w.end_ms;
    for (gt_run *r = es->runs; r; r = r->e_next) {
        if (!r->e_measured)
            r->e_start_ms = w.start_ms;
        r->e_measured = true;
        r->e_end_ms = w.end_ms;
        r->e_cpu_j += joules(w.cpu_j);
        r->e_gpu_j += joules(w.gpu_j);
        r->e_ram_j += joules(w.ram_j);
        r->e_cpu_method = w.cpu_method;
        r->e_gpu_method = w.gpu_method;
        r->e_ram_method = w.ram_method;
        r->e_scope = w.scope;
        push_sample(r, &w);
    }
}

/*---- the sampler thread ----*/

static void probe_log(void *ud, int level, const char *msg)
{
    gt_client_log(ud, (gt_log_level)level, "energy: %s", msg);
}

/* Measures while runs are open: opens the probes, samples and closes
 * windows until no run is left (or stop), then closes the probes. Called
 * and returns with es->mu held; unlocks it around slow calls. */
static void measure(gt_client *c, struct energy_state *es)
{
    struct probe_config cfg;

    for (int i = 0; i < es->nwarnings; i++) {
        gt_client_log(c, GT_LOG_WARN, "%s", es->warnings[i]);
        free(es->warnings[i]);
        es->warnings[i] = NULL;
    }
    es->nwarnings = 0;
    memset(&cfg, 0, sizeof cfg);
    cfg.sysfs_root = es->sysfs_root;
    cfg.procfs_root = es->procfs_root;
    cfg.nvml_lib = es->nvml_lib;
    cfg.cuda_visible_devices = es->cuda;
    cfg.cuda_visible_set = es->cuda_set;
    cfg.scope = es->scope;
    cfg.pid = (int)es->pid;
    cfg.log = probe_log;
    cfg.log_userdata = c;
    /* the strings stay valid: settings are fixed while runs are open */
    pthread_mutex_unlock(&es->mu);

    struct energy_meter *m = energy_meter_open(&cfg);

    pthread_mutex_lock(&es->mu);
    if (!m) {
        gt_client_log(c, GT_LOG_ERROR, "energy: out of memory: not measured");
        es->open_failed = true;
        pthread_cond_broadcast(&es->opened);
        return;
    }
    es->meter = m;
    pthread_cond_broadcast(&es->opened);
    es->last_take_mono = gt_mono_ms();
    energy_meter_host_facts(m, &es->host);
    es->host_ready = true;
    for (gt_run *r = es->runs; r; r = r->e_next)
        push_pending_tags(es, r);
    if (!es->cloud_done && (es->cloud_env || !es->metadata_url))
        es->cloud_done = true; /* nothing to detect */
    if (!es->cloud_done && !es->stop) {
        char url[512], provider[16], region[64];
        snprintf(url, sizeof url, "%s", es->metadata_url);
        pthread_mutex_unlock(&es->mu);
        int found =
            cloud_detect(url, CLOUD_BUDGET_MS, &es->abort_detect, provider,
                         sizeof provider, region, sizeof region);
        pthread_mutex_lock(&es->mu);
        if (!atomic_load(&es->abort_detect)) {
            es->cloud_done = true;
            es->cloud_found = found == 1;
            if (found == 1) {
                snprintf(es->cloud_provider, sizeof es->cloud_provider, "%s",
                         provider);
                snprintf(es->cloud_region, sizeof es->cloud_region, "%s",
                         region);
                gt_client_log(c, GT_LOG_INFO,
                              "energy: cloud instance metadata: %s %s",
                              provider, region);
            } else {
                gt_client_log(c, GT_LOG_INFO,
                              "energy: no cloud instance metadata answered "
                              "within %d ms: location from the environment "
                              "only",
                              CLOUD_BUDGET_MS);
            }
        }
    }
    for (gt_run *r = es->runs; r; r = r->e_next)
        push_pending_tags(es, r);

    int64_t next_sample = gt_mono_ms() + es->interval_ms;
    while (!es->stop && es->runs) {
        int64_t now = gt_mono_ms();
        int64_t until = next_sample;
        if (es->last_take_mono + es->window_ms < until)
            until = es->last_take_mono + es->window_ms;
        if (until > now) {
            struct timespec ts = {(time_t)(until / 1000),
                                  (long)(until % 1000) * 1000000};
            pthread_cond_timedwait(&es->cv, &es->mu, &ts);
            continue;
        }
        if (now >= next_sample) {
            energy_meter_sample(m);
            next_sample = now + es->interval_ms;
        }
        if (now - es->last_take_mono >= es->window_ms)
            take_locked(es);
    }
    es->meter = NULL;
    pthread_mutex_unlock(&es->mu);
    energy_meter_close(m);
    pthread_mutex_lock(&es->mu);
}

/* The sampler thread: measures whenever runs are open and idles (probes
 * closed) when none is, until energy_cleanup stops it. It never ends on
 * its own, so a program that exits without gt_client_free leaves no
 * finished, unjoined thread behind. */
static void *sampler_main(void *arg)
{
    gt_client *c = arg;
    struct energy_state *es = c->energy;

    pthread_mutex_lock(&es->mu);
    for (;;) {
        while (!es->stop && (!es->runs || es->open_failed))
            pthread_cond_wait(&es->cv, &es->mu);
        if (es->stop)
            break;
        measure(c, es);
    }
    es->running = false;
    pthread_cond_broadcast(&es->opened);
    pthread_mutex_unlock(&es->mu);
    return NULL;
}

/*---- runs ----*/

void energy_run_join(gt_run *r)
{
    gt_client *c = r->client;
    struct energy_state *es = c->energy;
    if (!es)
        return;
    pthread_mutex_lock(&es->mu);
    if (!es->enabled || es->stop || r->e_listed) {
        pthread_mutex_unlock(&es->mu);
        return;
    }
    /* the window so far belongs to the runs already open */
    if (es->meter && es->runs)
        take_locked(es);
    r->e_prev = NULL;
    r->e_next = es->runs;
    if (es->runs)
        es->runs->e_prev = r;
    es->runs = r;
    r->e_listed = true;
    for (int i = 0; i < N_LOC; i++) {
        if (es->loc[i].value)
            push_tag(r, es->loc[i].key, es->loc[i].value);
    }
    push_pending_tags(es, r);
    if (es->running) {
        pthread_cond_signal(&es->cv); /* an idle sampler: measure again */
    } else {
        es->running = true;
        if (pthread_create(&es->th, NULL, sampler_main, c) == 0) {
            es->th_joinable = true;
        } else {
            es->running = false;
            gt_client_log(c, GT_LOG_ERROR,
                          "energy: cannot start the sampler thread");
        }
    }
    pthread_mutex_unlock(&es->mu);
}

static void unlink_locked(struct energy_state *es, gt_run *r)
{
    if (r->e_prev)
        r->e_prev->e_next = r->e_next;
    else
        es->runs = r->e_next;
    if (r->e_next)
        r->e_next->e_prev = r->e_prev;
    r->e_next = r->e_prev = NULL;
    r->e_listed = false;
}

void energy_run_leave(gt_run *r)
{
    struct energy_state *es = r->client->energy;
    if (!es)
        return;
    pthread_mutex_lock(&es->mu);
    if (r->e_listed) {
        if (es->meter)
            take_locked(es);
        unlink_locked(es, r);
        if (!es->runs)
            pthread_cond_signal(&es->cv); /* the sampler closes its probes */
    }
    pthread_mutex_unlock(&es->mu);
}

void energy_cleanup(gt_client *c)
{
    struct energy_state *es = c->energy;
    if (!es)
        return;
    pthread_mutex_lock(&es->mu);
    es->stop = true;
    atomic_store(&es->abort_detect, true);
    while (es->runs)
        unlink_locked(es, es->runs);
    pthread_cond_signal(&es->cv);
    bool joinable = es->th_joinable;
    es->th_joinable = false;
    pthread_mutex_unlock(&es->mu);
    if (joinable)
        pthread_join(es->th, NULL);
    for (int i = 0; i < N_LOC; i++)
        free(es->loc[i].value);
    for (int i = 0; i < es->nwarnings; i++)
        free(es->warnings[i]);
    free(es->sysfs_root);
    free(es->procfs_root);
    free(es->nvml_lib);
    free(es->cuda);
    free(es->metadata_url);
    pthread_cond_destroy(&es->opened);
    pthread_cond_destroy(&es->cv);
    pthread_mutex_destroy(&es->mu);
    free(es);
    c->energy = NULL;
}

/*---- public API ----*/

/* Settings change only while no run is measured (the sampler reads them
 * when it starts). */
static gt_status set_locked_check(gt_client *c, struct energy_state **out)
{
    if (!c)
        return GT_E_INVALID;
    if (!c->energy)
        return GT_E_NOMEM;
    *out = c->energy;
    pthread_mutex_lock(&(*out)->mu);
    if ((*out)->runs) {
        pthread_mutex_unlock(&(*out)->mu);
        gt_client_error(c, GT_LOG_ERROR,
                        "energy settings: runs are being measured: call "
                        "before gt_run_start");
        return GT_E_INVALID;
    }
    return GT_OK;
}

gt_status gt_client_set_energy(gt_client *c, int enabled)
{
    struct energy_state *es;
    gt_status rc = set_locked_check(c, &es);
    if (rc != GT_OK)
        return rc;
    es->enabled = enabled != 0;
    pthread_mutex_unlock(&es->mu);
    return GT_OK;
}

gt_status gt_client_set_energy_interval_ms(gt_client *c, int ms)
{
    struct energy_state *es;
    if (ms < 10 || ms > 60000)
        return GT_E_INVALID;
    gt_status rc = set_locked_check(c, &es);
    if (rc != GT_OK)
        return rc;
    es->interval_ms = ms;
    pthread_mutex_unlock(&es->mu);
    return GT_OK;
}

gt_status gt_client_set_energy_scope(gt_client *c, gt_energy_scope scope,
                                     long pid)
{
    struct energy_state *es;
    if ((scope != GT_ENERGY_NODE && scope != GT_ENERGY_PROCESS) || pid < 0 ||
        pid > 0x7fffffffL)
        return GT_E_INVALID;
    gt_status rc = set_locked_check(c, &es);
    if (rc != GT_OK)
        return rc;
    es->scope =
        scope == GT_ENERGY_PROCESS ? ENERGY_SCOPE_PROCESS : ENERGY_SCOPE_NODE;
    es->pid = pid;
    pthread_mutex_unlock(&es->mu);
    return GT_OK;
}

gt_status gt_client_set_energy_root(gt_client *c, long pid)
{
    if (!c || pid <= 0 || pid > 0x7fffffffL)
        return GT_E_INVALID;
    struct energy_state *es = c->energy;
    if (!es)
        return GT_E_NOMEM;
    gt_status rc = GT_OK;
    pthread_mutex_lock(&es->mu);
    if (es->scope != ENERGY_SCOPE_PROCESS) {
        rc = GT_E_INVALID;
    } else {
        es->pid = pid; /* a meter opened later starts from it */
        /* the sampler samples with es->mu held: safe to re-root here */
        if (es->meter && !energy_meter_set_root(es->meter, (int)pid))
            rc = GT_E_NOMEM;
    }
    pthread_mutex_unlock(&es->mu);
    if (rc == GT_E_INVALID)
        gt_client_error(c, GT_LOG_ERROR,
                        "energy root: only in process scope "
                        "(gt_client_set_energy_scope)");
    return rc;
}

gt_status gt_run_energy(gt_run *run, gt_energy *out)
{
    if (!out)
        return GT_E_INVALID;
    memset(out, 0, sizeof *out);
    out->cpu_method = out->gpu_method = out->ram_method = out->scope = "";
    if (!run)
        return GT_E_INVALID;
    gt_run *r = run; /* take_locked adds the window to it */
    struct energy_state *es = r->client->energy;
    if (!es)
        return GT_E_NOT_FOUND;
    gt_status rc = GT_E_NOT_FOUND;
    pthread_mutex_lock(&es->mu);
    /* just after gt_run_start the sampler may still be opening the probes
     * (file reads, dlopen): wait for it, a bounded time */
    int64_t until = gt_mono_ms() + OPEN_WAIT_MS;
    while (r->e_listed && !es->meter && es->running && !es->stop &&
           !es->open_failed) {
        struct timespec ts = {(time_t)(until / 1000),
                              (long)(until % 1000) * 1000000};
        if (pthread_cond_timedwait(&es->opened, &es->mu, &ts) == ETIMEDOUT)
            break;
    }
    if (r->e_listed && es->meter) {
        take_locked(es);
        rc = GT_OK;
    }
    if (r->e_measured) {
        out->cpu_j = r->e_cpu_j;
        out->gpu_j = r->e_gpu_j;
        out->ram_j = r->e_ram_j;
        out->cpu_method = r->e_cpu_method;
        out->gpu_method = r->e_gpu_method;
        out->ram_method = r->e_ram_method;
        out->scope = r->e_scope;
        out->start_ms = r->e_start_ms;
        out->end_ms = r->e_end_ms;
        rc = GT_OK;
    }
    pthread_mutex_unlock(&es->mu);
    return rc;
}
