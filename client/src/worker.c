/* SPDX-License-Identifier: MIT
 *
 * worker: the client's single worker thread and the send engine it shares
 * with gt_spool_replay. The worker takes every queued chunk at each wake-up
 * (flush interval, a filled chunk, gt_flush, a run's create or end),
 * gathers data records per run into log-batch requests within MLflow's
 * limits, creates runs (resolving experiments by name) and ends them,
 * sends heartbeats, and retries with exponential backoff and jitter. When
 * the server cannot be reached it goes offline: from then on every record
 * is appended to the spool, in order, until a probe replays the spool and
 * the worker goes back online. Only this thread touches the spool of its
 * client and, but for the uploader thread (artifacts.c) and the parallel
 * metric batches below, the network: logged artifacts are handed to the
 * uploader, and a run's end waits until the artifacts logged before it
 * are sent (or spooled).
 * A 401 or 403 is not retried: the worker goes offline as for an outage,
 * so the records stay in the spool, says once which credential is missing
 * or refused, and sends nothing more by itself (a probe every few seconds
 * would only feed the server's login throttle) until a setter changes the
 * credentials; else `greentrack sync` sends them once they are fixed.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#define API "/api/2.0/mlflow/"
#define BACKOFF_BASE_MS 50
#define BACKOFF_CAP_MS 2000
#define PROBE_FIRST_MS 100
#define SPOOL_BUF_FLUSH (1u << 20)
#define REPLAY_COMMIT_RECS 4000
/* metric-only log-batch requests the worker keeps in flight at once */
#define PAR_SLOTS 4

/*---- clocks and randomness ----*/

int64_t gt_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t gt_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t gt_random_u64(void)
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t)sizeof v) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        v ^= (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^
             ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)&v;
    }
    return v;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
    while (ms > 0 && nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/*---- the engine ----*/

enum send_rc {
    S_OK,       /* acknowledged */
    S_REJECTED, /* a 4xx: reported, the records dropped */
    S_FAILED    /* not reachable within the retry budget, or refused
                   with 401/403 (auth_failed set) */
};

struct exp_entry {
    char *name;
    char id[32];
    bool budget_checked; /* budget_check_on_start ran for it */
};

enum slot_state {
    SL_FREE,  /* the worker's */
    SL_BUSY,  /* the slot thread's: its request is in flight */
    SL_DONE,  /* answered: the worker handles it */
    SL_FAILED /* not sent: the worker spools it */
};

/* A metric-only log-batch sent by its own thread over its own keep-alive
 * connection, in parallel with the others (see target_stage). It owns a
 * copy of its records and the run's server id, so it outlives its run's
 * end. 'state' is under the engine's pmu; the rest belongs to whoever the
 * state says. */
struct slot {
    struct engine *e;
    struct transport *tp; /* created at first use */
    struct pending pend;
    char sid[GT_ID_MAX + 1];
    struct gt_buf json;
    enum send_rc rc;
    long status;
    char err[1024];
    int state;
    pthread_t th;
    bool has_thread;
};

struct engine {
    gt_client *c;
    struct transport *tp;
    struct exp_entry *exps;
    size_t nexps;
    struct target *pend_head; /* targets holding pending records */
    bool worker;              /* the client's worker (may touch live runs) */
    bool replaying;           /* records come from a spool: count replayed */
    bool single_attempt;      /* probes: no retry */
    bool no_heartbeat;        /* the server has no heartbeat endpoint */
    bool no_energy;           /* the server has no log-energy endpoint */
    bool no_phase;            /* the server has no log-phase endpoint */
    bool budget_default_done; /* the Default experiment's budget checked */
    atomic_bool auth_failed;  /* a request got 401 or 403 (e->err or the
                                 slot's err says which credential) */
    int64_t deadline;         /* monotonic ms retries must end by; 0: none */
    struct gt_buf json;
    struct gt_buf path;
    char err[1024];
    /* metric-only batches in flight (the worker's engine only, never
     * while replaying) */
    struct slot slots[PAR_SLOTS];
    pthread_mutex_t pmu;
    pthread_cond_t pwork, pdone;
    bool pquit;          /* under pmu: slot threads exit */
    struct art_ctx *art; /* spooled artifacts sent again (replays) */
};

static int engine_init(struct engine *e, gt_client *c, bool worker)
{
    memset(e, 0, sizeof *e);
    e->c = c;
    e->worker = worker;
    gt_buf_init(&e->json);
    gt_buf_init(&e->path);
    for (int i = 0; i < PAR_SLOTS; i++) {
        e->slots[i].e = e;
        pending_init(&e->slots[i].pend);
        gt_buf_init(&e->slots[i].json);
    }
    pthread_mutex_init(&e->pmu, NULL);
    pthread_cond_init(&e->pwork, NULL);
    pthread_cond_init(&e->pdone, NULL);
    e->tp =
        transport_new(c->uri, atomic_load(&c->request_timeout_ms), &c->creds);
    return e->tp ? 0 : -1;
}

static void engine_cleanup(struct engine *e)
{
    pthread_mutex_lock(&e->pmu);
    e->pquit = true;
    pthread_cond_broadcast(&e->pwork);
    pthread_mutex_unlock(&e->pmu);
    for (int i = 0; i < PAR_SLOTS; i++) {
        if (e->slots[i].has_thread)
            pthread_join(e->slots[i].th, NULL);
    }
    pthread_mutex_destroy(&e->pmu);
    pthread_cond_destroy(&e->pwork);
    pthread_cond_destroy(&e->pdone);
    if (e->art) {
        art_ctx_cleanup(e->art);
        free(e->art);
    }
    transport_free(e->tp);
    for (int i = 0; i < PAR_SLOTS; i++) {
        transport_free(e->slots[i].tp);
        pending_cleanup(&e->slots[i].pend);
        gt_buf_cleanup(&e->slots[i].json);
    }
    for (size_t i = 0; i < e->nexps; i++)
        free(e->exps[i].name);
    free(e->exps);
    gt_buf_cleanup(&e->json);
    gt_buf_cleanup(&e->path);
}

static const char *send_id(const struct target *t)
{
    return t->sid[0] ? t->sid : t->id;
}

/* The 'error_code' of the last answer, into buf ("" when none). */
static void answer_code(struct engine *e, char *buf, size_t len)
{
    size_t n;
    const char *body = transport_body(e->tp, &n);
    cJSON *j = cJSON_ParseWithLength(body, n);
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(j, "error_code");
    snprintf(buf, len, "%s", cJSON_IsString(code) ? code->valuestring : "");
    cJSON_Delete(j);
}

/* One request over 'tp' with retries on connection errors, 5xx, 408 and
 * 429, with exponential backoff and full jitter, honouring Retry-After,
 * within the retry budget and the stop deadline. A 4xx is returned at
 * once. Only reads 'e' (slot threads call it in parallel); 'on_worker':
 * the caller runs on the worker thread and may log. */
static enum send_rc request_via(struct engine *e, struct transport *tp,
                                char *err, size_t errlen, bool on_worker,
                                const char *method, const char *path,
                                const char *body, size_t len, long *status)
{
    int64_t budget =
        atomic_load_explicit(&e->c->flush_timeout_ms, memory_order_relaxed) / 2;
    budget = budget < 100 ? 100 : budget > 2000 ? 2000 : budget;
    int64_t end = gt_mono_ms() + budget;
    transport_set_timeout(tp, atomic_load_explicit(&e->c->request_timeout_ms,
                                                   memory_order_relaxed));
    if (e->deadline && e->deadline < end)
        end = e->deadline;
    for (int attempt = 0;; attempt++) {
        int64_t retry_after;
        enum tp_result r = transport_call(tp, method, path, body, len, status,
                                          &retry_after, err, errlen);
        if (r == TP_OK)
            return S_OK;
        if (r == TP_REJECTED)
            return S_REJECTED;
        if (r == TP_AUTH) {
            atomic_store(&e->auth_failed, true);
            return S_FAILED;
        }
        if (e->single_attempt)
            return S_FAILED;
        int64_t cap = BACKOFF_BASE_MS << (attempt < 6 ? attempt : 6);
        if (cap > BACKOFF_CAP_MS)
            cap = BACKOFF_CAP_MS;
        int64_t delay =
            cap / 2 + (int64_t)(gt_random_u64() % (uint64_t)(cap / 2 + 1));
        if (retry_after > delay)
            delay = retry_after;
        if (gt_mono_ms() + delay > end)
            return S_FAILED;
        if (on_worker)
            gt_client_log(e->c, GT_LOG_DEBUG, "retrying in %lld ms: %s",
                          (long long)delay, err);
        sleep_ms(delay);
    }
}

static enum send_rc request(struct engine *e, const char *method,
                            const char *path, const char *body, size_t len,
                            long *status)
{
    return request_via(e, e->tp, e->err, sizeof e->err, true, method, path,
                       body, len, status);
}

static void report_rejected(struct engine *e, uint64_t nrecs)
{
    if (nrecs)
        atomic_fetch_add_explicit(&e->c->dropped, nrecs, memory_order_relaxed);
    gt_client_error(e->c, GT_LOG_ERROR, "server rejected %llu record(s): %s",
                    (unsigned long long)nrecs, e->err);
}

/*---- experiments ----*/

bool experiment_id_from(const char *body, size_t n, const char *wrapper,
                        char *id, size_t idlen)
{
    cJSON *j = cJSON_ParseWithLength(body, n);
    const cJSON *o = wrapper ? cJSON_GetObjectItemCaseSensitive(j, wrapper) : j;
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, "experiment_id");
    bool ok = cJSON_IsString(x) && strlen(x->valuestring) < idlen;
    if (ok)
        snprintf(id, idlen, "%s", x->valuestring);
    cJSON_Delete(j);
    return ok;
}

static enum send_rc exp_lookup(struct engine *e, const char *name, char *id,
                               size_t idlen, long *status)
{
    gt_buf_reset(&e->path);
    gt_buf_adds(&e->path, API "experiments/get-by-name?experiment_name=");
    gt_buf_add_urlenc(&e->path, name);
    if (e->path.oom)
        return S_FAILED;
    enum send_rc rc = request(e, "GET", e->path.p, NULL, 0, status);
    if (rc != S_OK)
        return rc;
    size_t n;
    const char *body = transport_body(e->tp, &n);
    if (experiment_id_from(body, n, "experiment", id, idlen))
        return S_OK;
    snprintf(e->err, sizeof e->err, "get-by-name: unexpected answer");
    return S_REJECTED;
}

/* The id of experiment 'name' (NULL: the Default one), created when
 * missing; a concurrent creation (RESOURCE_ALREADY_EXISTS) is looked up. */
static enum send_rc exp_resolve(struct engine *e, const char *name, char *id,
                                size_t idlen)
{
    long status;
    if (!name) {
        snprintf(id, idlen, "0");
        return S_OK;
    }
    for (size_t i = 0; i < e->nexps; i++) {
        if (strcmp(e->exps[i].name, name) == 0) {
            snprintf(id, idlen, "%s", e->exps[i].id);
            return S_OK;
        }
    }
    enum send_rc rc = exp_lookup(e, name, id, idlen, &status);
    if (rc == S_REJECTED && status == 404) {
        cJSON *b = cJSON_CreateObject();
        char *text = NULL;
        if (b && cJSON_AddStringToObject(b, "name", name))
            text = cJSON_PrintUnformatted(b);
        cJSON_Delete(b);
        if (!text)
            return S_FAILED;
        rc = request(e, "POST", API "experiments/create", text, strlen(text),
                     &status);
        cJSON_free(text);
        if (rc == S_OK) {
            size_t n;
            const char *body = transport_body(e->tp, &n);
            rc = experiment_id_from(body, n, NULL, id, idlen) ? S_OK
                                                              : S_REJECTED;
        } else if (rc == S_REJECTED) {
            char code[64];
            answer_code(e, code, sizeof code);
            if (strcmp(code, "RESOURCE_ALREADY_EXISTS") == 0)
                rc = exp_lookup(e, name, id, idlen, &status);
        }
    }
    if (rc != S_OK)
        return rc;
    struct exp_entry *v = realloc(e->exps, (e->nexps + 1) * sizeof *v);
    if (v) {
        e->exps = v;
        v[e->nexps].name = strdup(name);
        v[e->nexps].budget_checked = false;
        if (v[e->nexps].name) {
            snprintf(v[e->nexps].id, sizeof v[e->nexps].id, "%s", id);
            e->nexps++;
        }
    }
    return S_OK;
}

/* Once per experiment of the client's worker: the carbon budget check of
 * a run's start (budget.c), reported through the log callback. */
static void budget_once(struct engine *e, const char *exp_name,
                        const char *exp_id)
{
    bool *done = exp_name ? NULL : &e->budget_default_done;
    if (!e->worker || e->replaying)
        return;
    for (size_t i = 0; exp_name && i < e->nexps; i++) {
        if (strcmp(e->exps[i].name, exp_name) == 0)
            done = &e->exps[i].budget_checked;
    }
    if (!done || *done)
        return;
    *done = true;
    budget_check_on_start(e->c, e->tp, exp_id);
}

/*---- runs ----*/

/* The live run with client id 'id' (worker only), NULL if none is open. */
static gt_run *live_run(struct engine *e, const char *id)
{
    gt_run *found = NULL;
    if (!e->worker)
        return NULL;
    pthread_mutex_lock(&e->c->mu);
    for (gt_run *r = e->c->open_runs; r; r = r->next_open) {
        if (strcmp(r->id, id) == 0) {
            found = r;
            break;
        }
    }
    pthread_mutex_unlock(&e->c->mu);
    return found;
}

static void run_acknowledged(gt_run *run, const char *sid)
{
    if (!atomic_load_explicit(&run->sid_known, memory_order_acquire)) {
        snprintf(run->sid, sizeof run->sid, "%s", sid);
        if (run->tgt.sid != sid)
            snprintf(run->tgt.sid, sizeof run->tgt.sid, "%s", sid);
        atomic_store_explicit(&run->sid_known, true, memory_order_release);
    }
    atomic_store_explicit(&run->created, true, memory_order_release);
}

/* runs/create with the client's id (idempotent on greentrack). A plain
 * MLflow server ignores the id and answers its own: that id is used for
 * everything the run sends from then on. */
static enum send_rc run_create(struct engine *e, struct target *t,
                               const struct rec *r, gt_run *run)
{
    char exp_id[32], name[MLFLOW_MAX_EXPERIMENT_NAME_CHARS * 4 + 1];
    const char *exp_name = NULL;
    if (r->flags & REC_F_HAS_EXP) {
        size_t n = r->klen < sizeof name ? r->klen : sizeof name - 1;
        memcpy(name, rec_key(r), n);
        name[n] = '\0';
        exp_name = name;
    }
    enum send_rc rc = exp_resolve(e, exp_name, exp_id, sizeof exp_id);
    if (rc == S_REJECTED)
        report_rejected(e, 0);
    if (rc != S_OK)
        return rc;

    struct gt_buf *b = &e->json;
    gt_buf_reset(b);
    gt_buf_adds(b, "{\"experiment_id\":");
    gt_buf_add_json_str(b, exp_id, strlen(exp_id));
    gt_buf_adds(b, ",\"run_id\":");
    gt_buf_add_json_str(b, t->id, strlen(t->id));
    gt_buf_adds(b, ",\"start_time\":");
    gt_buf_add_i64(b, r->ts);
    if (r->flags & REC_F_HAS_NAME) {
        gt_buf_adds(b, ",\"run_name\":");
        gt_buf_add_json_str(b, rec_val(r), r->vlen);
    }
    if (e->c->user) {
        gt_buf_adds(b, ",\"user_id\":");
        gt_buf_add_json_str(b, e->c->user, strlen(e->c->user));
    }
    gt_buf_add(b, "}", 1);
    if (b->oom)
        return S_FAILED;
    long status;
    rc = request(e, "POST", API "runs/create", b->p, b->len, &status);
    if (rc == S_REJECTED) {
        report_rejected(e, 0);
        return rc;
    }
    if (rc != S_OK)
        return rc;
    size_t n;
    const char *body = transport_body(e->tp, &n);
    cJSON *j = cJSON_ParseWithLength(body, n);
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(j, "run"), "info"),
        "run_id");
    if (cJSON_IsString(x) && mlflow_run_id_ok(x->valuestring, GT_ID_MAX) &&
        strcmp(x->valuestring, t->id) != 0) {
        snprintf(t->sid, sizeof t->sid, "%s", x->valuestring);
        gt_client_log(e->c, GT_LOG_WARN,
                      "the server ignored run id %s and created %s (a plain "
                      "MLflow server?): using the server's id",
                      t->id, t->sid);
    }
    cJSON_Delete(j);
    if (!run)
        run = live_run(e, t->id);
    if (run)
        run_acknowledged(run, send_id(t));
    budget_once(e, exp_name, exp_id);
    return S_OK;
}

static enum send_rc run_end(struct engine *e, struct target *t,
                            const struct rec *r)
{
    static const char *const names[] = {"FINISHED", "FAILED", "KILLED"};
    struct gt_buf *b = &e->json;
    long status;
    gt_buf_reset(b);
    gt_buf_adds(b, "{\"run_id\":");
    gt_buf_add_json_str(b, send_id(t), strlen(send_id(t)));
    gt_buf_adds(b, ",\"status\":\"");
    gt_buf_adds(b, names[r->flags <= GT_RUN_KILLED ? r->flags : 1]);
    gt_buf_adds(b, "\",\"end_time\":");
    gt_buf_add_i64(b, r->ts);
    gt_buf_add(b, "}", 1);
    if (b->oom)
        return S_FAILED;
    enum send_rc rc =
        request(e, "POST", API "runs/update", b->p, b->len, &status);
    if (rc == S_REJECTED)
        report_rejected(e, 0);
    return rc;
}

/*---- batches ----*/

static enum send_rc send_range(struct engine *e, const char *sid,
                               const struct pending *p, uint32_t from,
                               uint32_t to);

/* Acts on the answer ('rc', HTTP 'status') to the log-batch of records
 * [from, to) of 'p' for run 'sid', sent by send_range or a slot thread:
 * the one place a rejected batch is split. log-batch is all or nothing,
 * so a 400 for several records halves the range and sends each half
 * (recursively), and only the records the server refuses on their own are
 * dropped and counted; any other rejection drops the whole range. S_OK
 * when handled (sent or dropped), S_FAILED when a request did not get
 * through (the caller keeps every record of the range). */
static enum send_rc batch_answered(struct engine *e, const char *sid,
                                   const struct pending *p, uint32_t from,
                                   uint32_t to, enum send_rc rc, long status)
{
    if (rc == S_OK) {
        /* a replay counts at its commit points: a failed replay sends
         * some records again, and they must not count twice */
        if (!e->replaying)
            atomic_fetch_add_explicit(&e->c->sent, pending_counted(p, from, to),
                                      memory_order_relaxed);
        return S_OK;
    }
    if (rc == S_REJECTED && status == 400 && to - from > 1) {
        uint32_t mid = from + (to - from) / 2;
        if (send_range(e, sid, p, from, mid) == S_FAILED ||
            send_range(e, sid, p, mid, to) == S_FAILED)
            return S_FAILED;
        return S_OK;
    }
    if (rc == S_REJECTED) {
        report_rejected(e, pending_counted(p, from, to));
        return S_OK; /* handled: dropped */
    }
    return S_FAILED;
}

/* Sends records [from, to) of 'p' as one log-batch for run 'sid' on the
 * engine's own connection; see batch_answered. */
static enum send_rc send_range(struct engine *e, const char *sid,
                               const struct pending *p, uint32_t from,
                               uint32_t to)
{
    long status;
    batch_json(&e->json, sid, p, from, to);
    if (e->json.oom)
        return S_FAILED;
    enum send_rc rc = request(e, "POST", API "runs/log-batch", e->json.p,
                              e->json.len, &status);
    return batch_answered(e, sid, p, from, to, rc, status);
}

/*---- artifacts sent again from a spool ----*/

/* Uploads the file of spooled artifact record r, on the engine's own
 * connection (order holds: the run's end comes after it in the spool);
 * a file that changed since it was logged is reported and dropped.
 * S_FAILED when the server could not be reached. */
static enum send_rc send_artifact(struct engine *e, struct target *t,
                                  const struct rec *r)
{
    if (!e->art) {
        e->art = malloc(sizeof *e->art);
        if (!e->art) {
            snprintf(e->err, sizeof e->err, "artifact: out of memory");
            return S_FAILED;
        }
        art_ctx_init(e->art, e->c, e->tp);
    }
    e->art->single_attempt = e->single_attempt;
    e->art->deadline = e->deadline;
    if (art_replay(e->art, send_id(t), r))
        return S_OK;
    if (e->art->auth_failed)
        atomic_store(&e->auth_failed, true);
    snprintf(e->err, sizeof e->err, "%s", e->art->err);
    return S_FAILED;
}

/*---- energy samples ----*/

/* One runs/log-energy request for sample record r. A 404 other than "no
 * such run" means the server has no such endpoint (a plain MLflow server):
 * said once at INFO, and from then on samples are dropped and counted. */
static enum send_rc send_energy(struct engine *e, struct target *t,
                                const struct rec *r)
{
    gt_client *c = e->c;
    if (e->no_energy) {
        atomic_fetch_add_explicit(&c->energy_dropped, 1, memory_order_relaxed);
        return S_OK;
    }
    struct gt_buf *b = &e->json;
    long status;
    gt_buf_reset(b);
    gt_buf_adds(b, "{\"run_id\":");
    gt_buf_add_json_str(b, send_id(t), strlen(send_id(t)));
    gt_buf_adds(b, ",\"samples\":[");
    gt_buf_add(b, rec_val(r), r->vlen);
    gt_buf_adds(b, "]}");
    if (b->oom)
        return S_FAILED;
    enum send_rc rc = request(e, "POST", "/api/2.0/greentrack/runs/log-energy",
                              b->p, b->len, &status);
    if (rc == S_OK) {
        atomic_fetch_add_explicit(&c->energy_sent, 1, memory_order_relaxed);
        return S_OK;
    }
    if (rc != S_REJECTED)
        return rc;
    atomic_fetch_add_explicit(&c->energy_dropped, 1, memory_order_relaxed);
    char code[64];
    answer_code(e, code, sizeof code);
    if (status == 404 && strcmp(code, "RESOURCE_DOES_NOT_EXIST") != 0) {
        e->no_energy = true;
        gt_client_log(c, GT_LOG_INFO,
                      "the server has no log-energy endpoint (a plain MLflow "
                      "server?): energy samples are dropped");
    } else {
        gt_client_error(c, GT_LOG_ERROR, "server rejected an energy sample: %s",
                        e->err);
    }
    return S_OK;
}

/*---- phases ----*/

/* One runs/log-phase request for phase record r; as send_energy, a 404
 * other than "no such run" means a server without phases (said once). */
static enum send_rc send_phase(struct engine *e, struct target *t,
                               const struct rec *r)
{
    long status;
    if (e->no_phase)
        return S_OK;
    phase_json(&e->json, send_id(t), r);
    if (e->json.oom)
        return S_FAILED;
    enum send_rc rc = request(e, "POST", "/api/2.0/greentrack/runs/log-phase",
                              e->json.p, e->json.len, &status);
    if (rc != S_REJECTED)
        return rc;
    char code[64];
    answer_code(e, code, sizeof code);
    if (status == 404 && strcmp(code, "RESOURCE_DOES_NOT_EXIST") != 0) {
        e->no_phase = true;
        gt_client_log(e->c, GT_LOG_INFO,
                      "the server has no log-phase endpoint (a plain MLflow "
                      "server?): phases are dropped");
    } else {
        gt_client_error(e->c, GT_LOG_ERROR, "server rejected phase %.*s: %s",
                        (int)r->klen, rec_key(r), e->err);
    }
    return S_OK;
}

static void pend_unlink(struct engine *e, struct target *t)
{
    struct target **pp = &e->pend_head;
    while (*pp && *pp != t)
        pp = &(*pp)->next_pend;
    if (*pp)
        *pp = t->next_pend;
    t->next_pend = NULL;
    t->in_pend = false;
}

/* Sends t's pending records; S_FAILED keeps them pending. */
static enum send_rc target_flush(struct engine *e, struct target *t)
{
    if (t->pend.count == 0)
        return S_OK;
    if (send_range(e, send_id(t), &t->pend, 0, t->pend.count) == S_FAILED)
        return S_FAILED;
    pending_reset(&t->pend);
    pend_unlink(e, t);
    return S_OK;
}

/*---- parallel metric batches ----*/

/* A slot's thread: sends its batch each time the worker hands it one. */
static void *slot_main(void *arg)
{
    struct slot *s = arg;
    struct engine *e = s->e;
    pthread_mutex_lock(&e->pmu);
    for (;;) {
        while (s->state != SL_BUSY && !e->pquit)
            pthread_cond_wait(&e->pwork, &e->pmu);
        if (s->state != SL_BUSY)
            break;
        pthread_mutex_unlock(&e->pmu);
        s->rc = request_via(e, s->tp, s->err, sizeof s->err, false, "POST",
                            API "runs/log-batch", s->json.p, s->json.len,
                            &s->status);
        pthread_mutex_lock(&e->pmu);
        s->state = SL_DONE;
        pthread_cond_signal(&e->pdone);
    }
    pthread_mutex_unlock(&e->pmu);
    return NULL;
}

/* Handles a finished slot's answer on the worker (a rejected batch is
 * split there, sequentially); S_FAILED keeps it. */
static enum send_rc slot_finish(struct engine *e, struct slot *s)
{
    if (s->rc != S_OK)
        snprintf(e->err, sizeof e->err, "%s", s->err);
    return batch_answered(e, s->sid, &s->pend, 0, s->pend.count, s->rc,
                          s->status);
}

/* Waits until a slot is not busy ('all': until none is), then handles
 * every finished one. S_FAILED when a batch failed: it stays in its slot
 * (SL_FAILED) for go_offline to spool. */
static enum send_rc slots_wait(struct engine *e, bool all)
{
    int state[PAR_SLOTS];
    bool failed = false;
    pthread_mutex_lock(&e->pmu);
    for (;;) {
        int busy = 0;
        for (int i = 0; i < PAR_SLOTS; i++)
            busy += e->slots[i].state == SL_BUSY;
        if (busy == 0 || (!all && busy < PAR_SLOTS))
            break;
        pthread_cond_wait(&e->pdone, &e->pmu);
    }
    for (int i = 0; i < PAR_SLOTS; i++)
        state[i] = e->slots[i].state;
    pthread_mutex_unlock(&e->pmu);
    for (int i = 0; i < PAR_SLOTS; i++) {
        struct slot *s = &e->slots[i];
        int st = state[i];
        if (st == SL_DONE) {
            if (slot_finish(e, s) == S_FAILED) {
                st = SL_FAILED;
            } else {
                pending_reset(&s->pend);
                st = SL_FREE;
            }
            pthread_mutex_lock(&e->pmu);
            s->state = st;
            pthread_mutex_unlock(&e->pmu);
        }
        failed |= st == SL_FAILED;
    }
    return failed ? S_FAILED : S_OK;
}

/* Sends every staged batch and waits for all of them. */
static enum send_rc drain(struct engine *e)
{
    return e->worker ? slots_wait(e, true) : S_OK;
}

/* Hands t's pending metric-only records to a free slot's thread. */
static enum send_rc slot_submit(struct engine *e, struct target *t)
{
    struct slot *s = NULL;
    if (slots_wait(e, false) == S_FAILED)
        return S_FAILED;
    pthread_mutex_lock(&e->pmu);
    for (int i = 0; i < PAR_SLOTS && !s; i++) {
        if (e->slots[i].state == SL_FREE)
            s = &e->slots[i];
    }
    pthread_mutex_unlock(&e->pmu);
    if (!s)
        return S_FAILED; /* cannot happen: slots_wait left one free */
    struct pending p = s->pend;
    s->pend = t->pend;
    t->pend = p;
    pending_reset(&t->pend);
    snprintf(s->sid, sizeof s->sid, "%s", send_id(t));
    pend_unlink(e, t);
    batch_json(&s->json, s->sid, &s->pend, 0, s->pend.count);
    if (!s->tp)
        s->tp = transport_new(e->c->uri,
                              atomic_load_explicit(&e->c->request_timeout_ms,
                                                   memory_order_relaxed),
                              &e->c->creds);
    if (s->tp && !s->json.oom && !s->has_thread)
        s->has_thread = pthread_create(&s->th, NULL, slot_main, s) == 0;
    if (!s->tp || s->json.oom || !s->has_thread) {
        /* out of resources: this batch waits in its slot to be spooled */
        snprintf(e->err, sizeof e->err, "log-batch: out of resources");
        pthread_mutex_lock(&e->pmu);
        s->state = SL_FAILED;
        pthread_mutex_unlock(&e->pmu);
        return S_FAILED;
    }
    pthread_mutex_lock(&e->pmu);
    s->state = SL_BUSY;
    pthread_cond_broadcast(&e->pwork);
    pthread_mutex_unlock(&e->pmu);
    return S_OK;
}

/* Sends (or hands off) t's pending records. Metric-only batches go out in
 * parallel, up to PAR_SLOTS at once: metrics are order-independent on the
 * server. Anything with params or tags is a barrier: every batch in flight
 * is acknowledged first, then it goes alone, so they keep their order. */
static enum send_rc target_stage(struct engine *e, struct target *t)
{
    if (t->pend.count == 0) {
        if (t->in_pend)
            pend_unlink(e, t);
        return S_OK;
    }
    if (!e->worker || e->replaying || e->single_attempt || t->pend.params ||
        t->pend.tags) {
        if (drain(e) == S_FAILED)
            return S_FAILED;
        return target_flush(e, t);
    }
    return slot_submit(e, t);
}

static enum send_rc flush_all(struct engine *e)
{
    while (e->pend_head) {
        if (target_stage(e, e->pend_head) == S_FAILED)
            return S_FAILED;
    }
    return drain(e);
}

/* Queues data record r for t; S_FAILED when a full batch could not be
 * sent (r is then not added). */
static enum send_rc target_add(struct engine *e, struct target *t,
                               const struct rec *r)
{
    if (pending_full_for(&t->pend, r->type) && target_stage(e, t) == S_FAILED)
        return S_FAILED;
    if (!pending_add(&t->pend, r)) {
        atomic_fetch_add_explicit(&e->c->dropped, 1, memory_order_relaxed);
        gt_client_error(e->c, GT_LOG_ERROR, "out of memory: record dropped");
        return S_OK;
    }
    if (!t->in_pend) {
        t->in_pend = true;
        t->next_pend = e->pend_head;
        e->pend_head = t;
    }
    return S_OK;
}

/* Handles one record online. S_FAILED: nothing of r was done (the caller
 * spools it after the pending records). */
static enum send_rc engine_record(struct engine *e, struct target *t,
                                  const struct rec *r, gt_run *run)
{
    switch (r->type) {
    case REC_CREATE:
        return run_create(e, t, r, run) == S_FAILED ? S_FAILED : S_OK;
    case REC_END:
        /* every record of the run is acknowledged before its end */
        if (target_stage(e, t) == S_FAILED || drain(e) == S_FAILED)
            return S_FAILED;
        return run_end(e, t, r) == S_FAILED ? S_FAILED : S_OK;
    case REC_ENERGY:
        return send_energy(e, t, r);
    case REC_PHASE:
        return send_phase(e, t, r);
    case REC_ARTIFACT:
        /* (replays only: the worker hands live ones to the uploader)
         * every record before it is sent first, so that the commit after
         * it holds (replay_fd) and the file is not sent twice */
        if (flush_all(e) == S_FAILED)
            return S_FAILED;
        return send_artifact(e, t, r);
    default:
        return target_add(e, t, r);
    }
}

/*---- replaying a spool file ----*/

struct replay_targets {
    struct target **v;
    size_t n;
};

static struct target *replay_target(struct replay_targets *rt, const char *id)
{
    for (size_t i = 0; i < rt->n; i++) {
        if (strcmp(rt->v[i]->id, id) == 0)
            return rt->v[i];
    }
    struct target **v = realloc(rt->v, (rt->n + 1) * sizeof *v);
    if (!v)
        return NULL;
    rt->v = v;
    struct target *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    snprintf(t->id, sizeof t->id, "%s", id);
    pending_init(&t->pend);
    v[rt->n++] = t;
    return t;
}

static void replay_targets_free(struct engine *e, struct replay_targets *rt)
{
    for (size_t i = 0; i < rt->n; i++) {
        if (rt->v[i]->in_pend)
            pend_unlink(e, rt->v[i]);
        pending_cleanup(&rt->v[i]->pend);
        free(rt->v[i]);
    }
    free(rt->v);
    rt->v = NULL;
    rt->n = 0;
}

/* Acknowledged spooled records (rejected ones were counted as dropped,
 * and count here too: they left the spool). */
static void count_replayed(struct engine *e, uint64_t n)
{
    atomic_fetch_add_explicit(&e->c->sent, n, memory_order_relaxed);
    atomic_fetch_add_explicit(&e->c->replayed, n, memory_order_relaxed);
}

/* Replays the records of 'fd' from '*off' to its end, in order. '*off'
 * advances past what the server acknowledged (commit points every few
 * thousand records; anything after the last one is sent again next time,
 * which the server's idempotence makes harmless). GT_OK at the end,
 * GT_E_NETWORK when the server failed, GT_E_TIMEOUT past 'deadline_mono'
 * (0: none), GT_E_IO on a read error. */
static gt_status replay_fd(struct engine *e, int fd, uint64_t *off,
                           uint64_t *done, int64_t deadline_mono,
                           gt_progress_fn progress, void *ud, uint64_t total)
{
    struct spool_reader rd;
    struct spool_item it;
    struct replay_targets rt = {NULL, 0};
    gt_status st = GT_OK;
    uint64_t since = 0, since_data = 0, committed_done = *done;
    int rc;

    spool_reader_init(&rd, fd, *off);
    gt_buf_init(&it.buf);
    e->replaying = true;
    while ((rc = spool_read_next(&rd, &it)) == 1) {
        const struct rec *r = spool_item_rec(&it);
        struct target *t = replay_target(&rt, it.run_id);
        if (!t) {
            st = GT_E_NOMEM;
            break;
        }
        if (engine_record(e, t, r, NULL) == S_FAILED) {
            st = GT_E_NETWORK;
            break;
        }
        (*done)++;
        since_data += rec_is_counted(r);
        /* after an uploaded artifact, commit: a failure later must not
         * send the file again */
        if (++since >= REPLAY_COMMIT_RECS || r->type == REC_ARTIFACT) {
            if (flush_all(e) == S_FAILED) {
                st = GT_E_NETWORK;
                break;
            }
            count_replayed(e, since_data);
            since_data = 0;
            *off = rd.off;
            committed_done = *done;
            since = 0;
            if (progress)
                progress(ud, *done, total);
            if (deadline_mono && gt_mono_ms() >= deadline_mono) {
                st = GT_E_TIMEOUT;
                break;
            }
        }
    }
    if (st == GT_OK && rc < 0)
        st = GT_E_IO;
    if (st == GT_OK && flush_all(e) == S_FAILED)
        st = GT_E_NETWORK;
    if (st == GT_OK) {
        count_replayed(e, since_data);
        *off = rd.off;
        if (rd.skipped || rd.torn)
            gt_client_log(e->c, GT_LOG_WARN,
                          "spool: skipped %llu corrupt record(s)%s",
                          (unsigned long long)rd.skipped,
                          rd.torn ? " and a torn tail" : "");
    } else {
        *done = committed_done;
    }
    e->replaying = false;
    replay_targets_free(e, &rt);
    gt_buf_cleanup(&it.buf);
    spool_reader_cleanup(&rd);
    return st;
}

/*---- the worker thread ----*/

struct worker {
    gt_client *c;
    struct engine e;
    struct spool sp;
    bool offline;
    bool auth_blocked; /* offline after a 401/403: no more probes until
                          the credentials change (creds.gen != auth_gen) */
    unsigned auth_gen;
    int64_t probe_backoff;
    int64_t next_probe;
    struct gt_buf sbuf; /* framed records for the spool */
    uint64_t sbuf_recs, sbuf_data, sbuf_arts;
    int64_t next_hb;
    struct uploader *up;     /* started at the first artifact */
    int art_outstanding;     /* jobs handed to it and not back yet */
    bool art_cut;            /* stopping: told it to cut its transfers */
    struct target *deferred; /* runs whose end waits for their uploads */
    struct gt_buf abuf;      /* an artifact record being spooled */
};

static void spool_flush_buf(struct worker *w)
{
    char err[512];
    if (w->sbuf.len == 0)
        return;
    if (w->sp.fd < 0) {
        /* the directory may have been set since the last try */
        pthread_mutex_lock(&w->c->mu);
        char *dir = w->c->spool_dir ? strdup(w->c->spool_dir) : NULL;
        pthread_mutex_unlock(&w->c->mu);
        free(w->sp.dir);
        w->sp.dir = dir;
    }
    if (w->sbuf.oom || spool_write(&w->sp, w->sbuf.p, w->sbuf.len, w->sbuf_recs,
                                   err, sizeof err) != GT_OK) {
        atomic_fetch_add_explicit(&w->c->dropped, w->sbuf_data,
                                  memory_order_relaxed);
        atomic_fetch_add(&w->c->art_failed, w->sbuf_arts);
        gt_client_error(w->c, GT_LOG_ERROR, "%s: %llu record(s) lost",
                        w->sbuf.oom ? "spool: out of memory" : err,
                        (unsigned long long)(w->sbuf_data + w->sbuf_arts));
    } else {
        atomic_fetch_add_explicit(&w->c->spooled, w->sbuf_data,
                                  memory_order_relaxed);
        atomic_fetch_add(&w->c->art_spooled, w->sbuf_arts);
    }
    gt_buf_reset(&w->sbuf);
    w->sbuf_recs = w->sbuf_data = w->sbuf_arts = 0;
}

static void spool_rec(struct worker *w, const struct rec *r, const char *id)
{
    spool_frame(&w->sbuf, r, id);
    w->sbuf_recs++;
    if (rec_is_counted(r))
        w->sbuf_data++;
    if (r->type == REC_ARTIFACT)
        w->sbuf_arts++;
    if (w->sbuf.len >= SPOOL_BUF_FLUSH)
        spool_flush_buf(w);
}

static void spool_target(struct worker *w, struct target *t)
{
    size_t off = 0;
    const struct rec *r;
    while ((r = pending_next(&t->pend, &off)) != NULL)
        spool_rec(w, r, send_id(t));
    pending_reset(&t->pend);
}

static void go_offline(struct worker *w, const char *why)
{
    if (atomic_exchange(&w->e.auth_failed, false)) {
        if (!w->auth_blocked)
            gt_client_error(w->c, GT_LOG_ERROR,
                            "not authorized: %s; records are kept in the "
                            "spool (`greentrack sync` sends them once "
                            "this is fixed)",
                            why);
        w->auth_blocked = true;
        pthread_mutex_lock(&w->c->creds.mu);
        w->auth_gen = w->c->creds.gen;
        pthread_mutex_unlock(&w->c->creds.mu);
    } else if (!w->offline) {
        gt_client_error(w->c, GT_LOG_WARN,
                        "server unreachable, spooling records: %s", why);
    }
    w->offline = true;
    /* batches in flight hold older records than any pending ones: wait
     * for their answers and spool those that failed */
    slots_wait(&w->e, true);
    for (int i = 0; i < PAR_SLOTS; i++) {
        struct slot *s = &w->e.slots[i];
        size_t off = 0;
        const struct rec *r;
        if (s->state != SL_FAILED)
            continue;
        while ((r = pending_next(&s->pend, &off)) != NULL)
            spool_rec(w, r, s->sid);
        pending_reset(&s->pend);
        pthread_mutex_lock(&w->e.pmu);
        s->state = SL_FREE;
        pthread_mutex_unlock(&w->e.pmu);
    }
    while (w->e.pend_head) {
        struct target *t = w->e.pend_head;
        spool_target(w, t);
        pend_unlink(&w->e, t);
    }
    w->next_probe =
        w->auth_blocked ? INT64_MAX : gt_mono_ms() + w->probe_backoff;
}

/* Sends record r of live run 'run' or, offline, spools it; frees the run
 * after its end. */
static void handle_record(struct worker *w, const struct rec *r, gt_run *run)
{
    struct target *t = &run->tgt;
    if (!w->offline && engine_record(&w->e, t, r, run) == S_FAILED)
        go_offline(w, w->e.err);
    if (w->offline) {
        /* pending records of t were spooled by go_offline: order holds */
        spool_rec(w, r, send_id(t));
    }
    if (r->type == REC_END) {
        if (t->in_pend)
            pend_unlink(&w->e, t);
        pending_cleanup(&t->pend);
        free(run);
    }
}

/* Spools the reference of one artifact file of run 'sid'. */
static void spool_ref(struct worker *w, const struct art_ref *ref,
                      const char *sid)
{
    art_ref_rec(&w->abuf, ref);
    if (w->abuf.oom) {
        atomic_fetch_add(&w->c->art_failed, 1);
        gt_client_error(w->c, GT_LOG_ERROR,
                        "spool: out of memory: artifact %s lost", ref->rel);
        return;
    }
    spool_rec(w, (const struct rec *)(void *)w->abuf.p, sid);
}

/* Spools artifact record r: a file as it was logged, a folder as one
 * reference per file found now (with its size and mtime now). */
static void spool_artifact(struct worker *w, const struct rec *r,
                           const char *sid)
{
    struct art_refs refs;
    if (!(r->flags & REC_F_DIR)) {
        spool_rec(w, r, sid);
        return;
    }
    memset(&refs, 0, sizeof refs);
    char *dir = strndup(rec_val(r), r->vlen);
    char *prefix = strndup(rec_key(r), r->klen);
    if (!dir || !prefix || art_walk(dir, prefix, &refs) != 0) {
        atomic_fetch_add(&w->c->art_changed, 1);
        gt_client_error(w->c, GT_LOG_WARN,
                        "artifacts %s not spooled: folder %s cannot be read",
                        prefix ? prefix : "?", dir ? dir : "?");
    }
    for (size_t i = 0; i < refs.n; i++)
        spool_ref(w, &refs.v[i], sid);
    art_refs_cleanup(&refs);
    free(dir);
    free(prefix);
}

/* A live artifact record: online, handed to the uploader (false: it is
 * finished when the upload comes back); offline, spooled (true). */
static bool artifact_record(struct worker *w, const struct rec *r)
{
    struct target *t = &r->run->tgt;
    if (w->offline) {
        spool_artifact(w, r, send_id(t));
        return true;
    }
    struct art_job *j = art_job_new(r, t, send_id(t));
    if (j && !w->up)
        w->up = uploader_new(w->c);
    if (!j || !w->up) {
        art_job_free(j);
        atomic_fetch_add(&w->c->art_failed, 1);
        gt_client_error(w->c, GT_LOG_ERROR,
                        "artifact %.*s not sent: out of memory or threads",
                        (int)r->klen, rec_key(r));
        return true;
    }
    t->art_pending++;
    w->art_outstanding++;
    uploader_submit(w->up, j);
    return false;
}

/* Handles one live record. false when it is not finished yet (an upload,
 * or an end waiting for uploads): it is marked done later. */
static bool process_record(struct worker *w, const struct rec *r)
{
    struct target *t = &r->run->tgt;
    if (r->type == REC_ARTIFACT)
        return artifact_record(w, r);
    if (r->type == REC_END && t->art_pending > 0) {
        t->end_rec = *r; /* an end carries no key or value */
        t->end_deferred = true;
        t->next_deferred = w->deferred;
        w->deferred = t;
        return false;
    }
    handle_record(w, r, r->run);
    return true;
}

/* The end of run t, which waited for its uploads (the caller marks it
 * done). */
static void finish_deferred(struct worker *w, struct target *t)
{
    struct target **pp = &w->deferred;
    while (*pp && *pp != t)
        pp = &(*pp)->next_deferred;
    if (*pp)
        *pp = t->next_deferred;
    t->end_deferred = false;
    struct rec r = t->end_rec;
    handle_record(w, &r, r.run); /* frees the run, t included */
}

/* Takes the uploads that came back: spools what could not be sent (the
 * server is unreachable: the worker goes offline, and its probe replays
 * them) and ends runs that waited for them. Returns how many records
 * (artifacts and ends) are now finished. */
static uint64_t collect_uploads(struct worker *w)
{
    uint64_t finished = 0;
    struct art_job *j = w->up ? uploader_take_done(w->up) : NULL;
    while (j) {
        struct art_job *next = j->next;
        struct target *t = j->t;
        if (j->left.n) {
            if (j->auth)
                atomic_store(&w->e.auth_failed, true);
            if (!w->offline || j->auth)
                go_offline(w, j->err);
            for (size_t i = 0; i < j->left.n; i++)
                spool_ref(w, &j->left.v[i], j->sid);
        }
        art_job_free(j);
        w->art_outstanding--;
        finished++;
        if (--t->art_pending == 0 && t->end_deferred) {
            finish_deferred(w, t);
            finished++;
        }
        j = next;
    }
    return finished;
}

/* Tries to replay this process's spool; back online when it is empty. */
static void probe(struct worker *w)
{
    uint64_t done = 0;
    spool_flush_buf(w);
    if (w->sp.fd < 0 || w->sp.nrecs == 0) {
        w->offline = false;
        return;
    }
    /* the first request is the probe: no retries while still offline */
    w->e.single_attempt = true;
    gt_status st =
        replay_fd(&w->e, w->sp.fd, &w->sp.rd, &done, 0, NULL, NULL, 0);
    w->e.single_attempt = false;
    if (st == GT_OK) {
        spool_reset(&w->sp);
        w->offline = false;
        w->probe_backoff = PROBE_FIRST_MS;
        gt_client_log(w->c, GT_LOG_INFO,
                      "server reachable again: spool "
                      "replayed");
        return;
    }
    int64_t b = w->probe_backoff;
    w->next_probe = gt_mono_ms() + b / 2 +
                    (int64_t)(gt_random_u64() % (uint64_t)(b / 2 + 1));
    w->probe_backoff = b * 2 > BACKOFF_CAP_MS ? BACKOFF_CAP_MS : b * 2;
}

static void heartbeats(struct worker *w)
{
    gt_client *c = w->c;
    char(*ids)[GT_ID_MAX + 1] = NULL;
    size_t n = 0, cap = 0;

    pthread_mutex_lock(&c->mu);
    for (gt_run *r = c->open_runs; r; r = r->next_open) {
        if (!atomic_load_explicit(&r->created, memory_order_acquire))
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            void *nv = realloc(ids, ncap * sizeof *ids);
            if (!nv)
                break;
            ids = nv;
            cap = ncap;
        }
        snprintf(ids[n++], sizeof ids[0], "%s", r->sid);
    }
    pthread_mutex_unlock(&c->mu);
    /* ended runs still uploading are alive too */
    for (struct target *t = w->deferred; t; t = t->next_deferred) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            void *nv = realloc(ids, ncap * sizeof *ids);
            if (!nv)
                break;
            ids = nv;
            cap = ncap;
        }
        snprintf(ids[n++], sizeof ids[0], "%s", send_id(t));
    }

    w->e.single_attempt = true;
    for (size_t i = 0; i < n && !w->e.no_heartbeat; i++) {
        struct gt_buf *b = &w->e.json;
        long status;
        gt_buf_reset(b);
        gt_buf_adds(b, "{\"run_id\":");
        gt_buf_add_json_str(b, ids[i], strlen(ids[i]));
        gt_buf_add(b, "}", 1);
        if (b->oom)
            break;
        enum send_rc rc =
            request(&w->e, "POST", "/api/2.0/greentrack/runs/heartbeat", b->p,
                    b->len, &status);
        if (rc == S_REJECTED) {
            char code[64];
            answer_code(&w->e, code, sizeof code);
            if (strcmp(code, "RESOURCE_DOES_NOT_EXIST") != 0) {
                w->e.no_heartbeat = true;
                gt_client_log(c, GT_LOG_INFO,
                              "no heartbeat endpoint (plain MLflow?): "
                              "heartbeats off");
            }
        } else if (rc == S_FAILED) {
            break;
        }
    }
    w->e.single_attempt = false;
    /* a refused heartbeat is not a reason to go offline */
    atomic_store(&w->e.auth_failed, false);
    free(ids);
}

/* Waits for work; returns the taken chunks (maybe NULL) with q->mu
 * released. Sets *stopping and *deadline. */
static struct qchunk *wait_work(struct worker *w, int64_t *next_flush,
                                bool *stopping, int64_t *deadline)
{
    gt_client *c = w->c;
    struct queue *q = &c->q;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        int64_t now = gt_mono_ms();
        if (q->flush_req || c->art_ready)
            break;
        if (c->stop) {
            if (w->art_outstanding == 0 || q->head)
                break;
            /* only uploads left: sleep until one comes back or the
             * deadline (after it, until the cut ones come back) */
            int64_t until =
                now < c->stop_deadline_ms ? c->stop_deadline_ms : now + 50;
            struct timespec ts = {(time_t)(until / 1000),
                                  (long)(until % 1000) * 1000000};
            pthread_cond_timedwait(&q->wake, &q->mu, &ts);
            if (c->art_ready || gt_mono_ms() >= c->stop_deadline_ms)
                break;
            continue;
        }
        if (q->head && (now >= *next_flush || q->head != q->tail))
            break;
        if (now >= w->next_hb && !w->offline)
            break;
        if (w->offline && now >= w->next_probe)
            break;
        int64_t until = w->next_hb;
        if (q->head && *next_flush < until)
            until = *next_flush;
        if (w->offline && w->next_probe < until)
            until = w->next_probe;
        if (until < now + 1)
            until = now + 1;
        struct timespec ts = {(time_t)(until / 1000),
                              (long)(until % 1000) * 1000000};
        pthread_cond_timedwait(&q->wake, &q->mu, &ts);
    }
    q->flush_req = false;
    c->art_ready = false;
    *stopping = c->stop;
    *deadline = c->stop_deadline_ms;
    struct qchunk *chunks = queue_take_locked(q);
    pthread_mutex_unlock(&q->mu);
    *next_flush = gt_mono_ms() + atomic_load_explicit(&c->flush_interval_ms,
                                                      memory_order_relaxed);
    return chunks;
}

static bool queue_empty(gt_client *c)
{
    pthread_mutex_lock(&c->q.mu);
    bool empty = c->q.head == NULL;
    pthread_mutex_unlock(&c->q.mu);
    return empty;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    gt_client *c = w->c;
    int64_t next_flush = gt_mono_ms() + atomic_load(&c->flush_interval_ms);

    for (;;) {
        bool stopping;
        int64_t deadline;
        struct qchunk *chunks = wait_work(w, &next_flush, &stopping, &deadline);
        int64_t now = gt_mono_ms();
        if (stopping) {
            w->e.deadline = deadline;
            if (now >= deadline && !w->offline)
                go_offline(w, "flush timeout reached while stopping");
            if (now >= deadline && w->art_outstanding && !w->art_cut) {
                /* what they could not send comes back to be spooled */
                uploader_abort(w->up);
                w->art_cut = true;
            }
        }
        if (w->auth_blocked) {
            /* new credentials (a setter): try again */
            pthread_mutex_lock(&c->creds.mu);
            bool changed = c->creds.gen != w->auth_gen;
            pthread_mutex_unlock(&c->creds.mu);
            if (changed) {
                w->auth_blocked = false;
                w->probe_backoff = PROBE_FIRST_MS;
                w->next_probe = now;
            }
        }
        if (w->offline && !w->auth_blocked &&
            (now >= w->next_probe || stopping) && (!stopping || now < deadline))
            probe(w);

        uint64_t nrecs = 0, ndata = 0;
        while (chunks) {
            struct qchunk *next = chunks->next;
            char *p = qchunk_data(chunks), *end = p + chunks->used;
            while (p < end) {
                const struct rec *r = (const struct rec *)(void *)p;
                p += r->size;
                if (rec_is_counted(r))
                    ndata++;
                nrecs += process_record(w, r);
            }
            queue_release(&c->q, chunks);
            chunks = next;
        }
        if (!w->offline && flush_all(&w->e) == S_FAILED)
            go_offline(w, w->e.err);
        nrecs += collect_uploads(w);
        spool_flush_buf(w);
        if (nrecs || ndata)
            queue_mark_done(&c->q, nrecs, ndata);

        now = gt_mono_ms();
        if (!w->offline && now >= w->next_hb) {
            heartbeats(w);
            w->next_hb = gt_mono_ms() + c->heartbeat_ms;
        }
        if (stopping && queue_empty(c) && w->art_outstanding == 0 &&
            (w->offline || w->sp.nrecs == 0 || gt_mono_ms() >= deadline))
            break;
    }
    return NULL;
}

int gt_worker_start(gt_client *c)
{
    struct worker *w = calloc(1, sizeof *w);
    if (!w)
        return -1;
    w->c = c;
    spool_init(&w->sp);
    gt_buf_init(&w->sbuf);
    gt_buf_init(&w->abuf);
    w->probe_backoff = PROBE_FIRST_MS;
    w->next_hb = gt_mono_ms() + c->heartbeat_ms;
    if (engine_init(&w->e, c, true) != 0) {
        free(w);
        return -1;
    }
    if (pthread_create(&c->worker, NULL, worker_main, w) != 0) {
        engine_cleanup(&w->e);
        free(w);
        return -1;
    }
    c->worker_state = w;
    c->worker_started = true;
    return 0;
}

void gt_worker_stop(gt_client *c)
{
    if (!c->worker_started)
        return;
    pthread_mutex_lock(&c->q.mu);
    c->stop = true;
    c->stop_deadline_ms = gt_mono_ms() + atomic_load(&c->flush_timeout_ms);
    pthread_cond_signal(&c->q.wake);
    pthread_mutex_unlock(&c->q.mu);
    pthread_join(c->worker, NULL);
    struct worker *w = c->worker_state;
    uploader_free(w->up); /* idle: every job came back */
    spool_flush_buf(w);
    spool_close(&w->sp);
    engine_cleanup(&w->e);
    gt_buf_cleanup(&w->sbuf);
    gt_buf_cleanup(&w->abuf);
    free(w);
    c->worker_state = NULL;
    c->worker_started = false;
}

/*---- gt_spool_replay ----*/

static gt_status replay_file(struct engine *e, const char *path, uint64_t *done,
                             uint64_t total, int64_t deadline,
                             gt_progress_fn progress, void *ud)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    struct stat st;
    char magic[SPOOL_MAGIC_LEN];
    if (fd < 0)
        return errno == ENOENT ? GT_OK : GT_E_IO;
    /* a live process holds its file: skip it */
    if (flock(fd, LOCK_EX | LOCK_NB) != 0 || fstat(fd, &st) != 0 ||
        st.st_nlink == 0) {
        close(fd);
        return GT_OK;
    }
    if (pread(fd, magic, sizeof magic, 0) != (ssize_t)sizeof magic ||
        memcmp(magic, SPOOL_MAGIC, sizeof magic) != 0) {
        gt_client_log(e->c, GT_LOG_WARN, "spool: %s is not a spool file", path);
        close(fd);
        return GT_OK;
    }
    uint64_t off = SPOOL_MAGIC_LEN;
    gt_status rc = replay_fd(e, fd, &off, done, deadline, progress, ud, total);
    if (rc == GT_OK)
        unlink(path);
    close(fd);
    return rc;
}

gt_status gt_spool_replay(gt_client *c, gt_progress_fn progress, void *userdata,
                          int timeout_ms)
{
    struct engine e;
    char **names = NULL;
    gt_status rc = GT_OK;
    uint64_t total = 0, done = 0;
    int n;

    if (!c)
        return GT_E_INVALID;
    int64_t deadline = timeout_ms >= 0 ? gt_mono_ms() + timeout_ms : 0;
    pthread_mutex_lock(&c->mu);
    char *dir = c->spool_dir ? strdup(c->spool_dir) : NULL;
    pthread_mutex_unlock(&c->mu);
    if (!dir)
        return GT_E_NOMEM;
    n = spool_list(dir, &names);
    if (n < 0) {
        gt_client_error(c, GT_LOG_ERROR, "spool: cannot list %s", dir);
        free(dir);
        return GT_E_IO;
    }
    if (engine_init(&e, c, false) != 0) {
        rc = GT_E_NOMEM;
        goto out;
    }
    e.deadline = deadline;
    size_t dl = strlen(dir);
    char **paths = calloc((size_t)n + 1, sizeof *paths);
    for (int i = 0; paths && i < n; i++) {
        size_t len = dl + strlen(names[i]) + 2;
        paths[i] = malloc(len);
        if (paths[i])
            snprintf(paths[i], len, "%s/%s", dir, names[i]);
    }
    for (int i = 0; paths && i < n; i++) {
        int fd = paths[i] ? open(paths[i], O_RDONLY | O_CLOEXEC) : -1;
        if (fd >= 0) {
            /* a live process's file is not counted (nor replayed) */
            if (flock(fd, LOCK_SH | LOCK_NB) == 0)
                total += spool_count(fd, SPOOL_MAGIC_LEN);
            close(fd);
        }
    }
    if (progress)
        progress(userdata, 0, total);
    for (int i = 0; paths && i < n && rc == GT_OK; i++) {
        if (!paths[i]) {
            rc = GT_E_NOMEM;
            break;
        }
        rc = replay_file(&e, paths[i], &done, total, deadline, progress,
                         userdata);
        if (rc == GT_OK && deadline && gt_mono_ms() >= deadline && i + 1 < n)
            rc = GT_E_TIMEOUT;
    }
    if (!paths)
        rc = GT_E_NOMEM;
    if (rc == GT_E_NETWORK && atomic_load(&e.auth_failed))
        rc = GT_E_AUTH;
    if (rc == GT_E_NETWORK || rc == GT_E_AUTH)
        gt_client_error(c, GT_LOG_ERROR, "spool replay: %s", e.err);
    if (progress && rc == GT_OK)
        progress(userdata, done, total);
    for (int i = 0; paths && i < n; i++)
        free(paths[i]);
    free(paths);
    engine_cleanup(&e);
out:
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(dir);
    return rc;
}
