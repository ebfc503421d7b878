/* SPDX-License-Identifier: MIT
 *
 * client: the public handles (gt_client, gt_run), their options, errors
 * and counters, and the logging calls. A logging call checks its
 * arguments, copies them into the queue and returns; everything else
 * happens on the worker (worker.c). Also gt_request for tools. The
 * artifact calls are artifacts.c's.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_URI "http://127.0.0.1:5000"

/*---- version and status text ----*/

unsigned gt_version_number(void)
{
    return GT_VERSION_NUM;
}

const char *gt_version(void)
{
    return GT_VERSION;
}

const char *gt_strerror(gt_status status)
{
    /* a switch without default: -Wswitch reports a missing case */
    switch (status) {
    case GT_OK:
        return "no error";
    case GT_E_INVALID:
        return "invalid argument";
    case GT_E_NOMEM:
        return "out of memory";
    case GT_E_QUEUE_FULL:
        return "queue full: record dropped";
    case GT_E_TIMEOUT:
        return "timed out (data is kept)";
    case GT_E_CLOSED:
        return "client closing or run ended";
    case GT_E_SERVER:
        return "the server rejected the request";
    case GT_E_NETWORK:
        return "the server could not be reached";
    case GT_E_IO:
        return "I/O error (spool or artifact file)";
    case GT_E_NOT_FOUND:
        return "not found";
    case GT_E_UNSUPPORTED:
        return "artifact location not supported by this client";
    case GT_E_AUTH:
        return "the server refused the credentials or the permission "
               "(HTTP 401 or 403)";
    }
    return "unknown status";
}

void gt_free(void *ptr)
{
    free(ptr);
}

/*---- diagnostics ----*/

static void vreport(gt_client *c, gt_log_level level, bool keep,
                    const char *fmt, va_list ap)
{
    char msg[sizeof c->errmsg];
    vsnprintf(msg, sizeof msg, fmt, ap);
    pthread_mutex_lock(&c->mu);
    if (keep)
        memcpy(c->errmsg, msg, sizeof msg);
    gt_log_fn fn = c->log_fn;
    void *ud = c->log_ud;
    pthread_mutex_unlock(&c->mu);
    if (fn)
        fn(ud, level, msg);
}

void gt_client_error(gt_client *c, gt_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(c, level, true, fmt, ap);
    va_end(ap);
}

void gt_client_log(gt_client *c, gt_log_level level, const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&c->mu);
    bool on = c->log_fn != NULL;
    pthread_mutex_unlock(&c->mu);
    if (!on)
        return;
    va_start(ap, fmt);
    vreport(c, level, false, fmt, ap);
    va_end(ap);
}

const char *gt_client_errmsg(const gt_client *client)
{
    static _Thread_local char copy[512];
    gt_client *c = (gt_client *)client;
    if (!c)
        return "";
    pthread_mutex_lock(&c->mu);
    memcpy(copy, c->errmsg, sizeof copy);
    pthread_mutex_unlock(&c->mu);
    return copy;
}

/*---- client ----*/

/* The tracking URI to use (see gt_client_new), trailing slashes removed,
 * into '*out' (malloc'd). GT_OK, GT_E_INVALID (not http(s)), GT_E_NOMEM. */
static gt_status uri_resolve(const char *uri, char **out)
{
    *out = NULL;
    if (!uri || !*uri)
        uri = getenv("GREENTRACK_TRACKING_URI");
    if (!uri || !*uri)
        uri = getenv("MLFLOW_TRACKING_URI");
    if (!uri || !*uri)
        uri = DEFAULT_URI;
    if (strncmp(uri, "http://", 7) != 0 && strncmp(uri, "https://", 8) != 0)
        return GT_E_INVALID;
    char *copy = strdup(uri);
    if (!copy)
        return GT_E_NOMEM;
    size_t n = strlen(copy);
    while (n > 8 && copy[n - 1] == '/')
        copy[--n] = '\0';
    *out = copy;
    return GT_OK;
}

static gt_client *client_fail(gt_client *c, gt_status rc, gt_status *err,
                              bool creds)
{
    if (c) {
        if (creds)
            creds_cleanup(&c->creds);
        free(c->uri);
        free(c->spool_dir);
        free(c->user);
        free(c);
    }
    if (err)
        *err = rc;
    return NULL;
}

gt_client *gt_client_new_ex(const char *tracking_uri, gt_status *err)
{
    gt_client *c = calloc(1, sizeof *c);
    if (!c)
        return client_fail(NULL, GT_E_NOMEM, err, false);
    gt_status rc = uri_resolve(tracking_uri, &c->uri);
    if (rc != GT_OK)
        return client_fail(c, rc, err, false);
    if (creds_init(&c->creds, c->uri) != 0)
        return client_fail(c, GT_E_NOMEM, err, false);
    c->spool_dir = spool_default_dir();
    const char *user = getenv("USER");
    if (!user || !*user)
        user = getenv("LOGNAME");
    if (user && *user)
        c->user = strdup(user);
    atomic_init(&c->flush_interval_ms, 200);
    atomic_init(&c->flush_timeout_ms, 5000);
    atomic_init(&c->request_timeout_ms, 10000);
    c->heartbeat_ms = 30000;
    const char *hb = getenv("GREENTRACK_HEARTBEAT_INTERVAL_MS");
    if (hb && *hb) {
        char *end;
        long v = strtol(hb, &end, 10);
        if (*end == '\0' && v >= 10 && v <= 3600000)
            c->heartbeat_ms = (int)v;
    }
    if (!c->spool_dir || pthread_mutex_init(&c->mu, NULL) != 0)
        return client_fail(c, GT_E_NOMEM, err, true);
    if (queue_init(&c->q, (size_t)64 << 20) != 0) {
        pthread_mutex_destroy(&c->mu);
        return client_fail(c, GT_E_NOMEM, err, true);
    }
    energy_init(c);
    if (gt_worker_start(c) != 0) {
        energy_cleanup(c);
        queue_cleanup(&c->q);
        pthread_mutex_destroy(&c->mu);
        return client_fail(c, GT_E_NOMEM, err, true);
    }
    if (err)
        *err = GT_OK;
    return c;
}

gt_client *gt_client_new(const char *tracking_uri)
{
    return gt_client_new_ex(tracking_uri, NULL);
}

void gt_client_free(gt_client *c)
{
    if (!c)
        return;
    gt_exit_unregister(c);
    gt_client_end_open_runs(c, GT_RUN_FAILED);
    energy_cleanup(c); /* no run is measured now: the sampler ends */
    pthread_mutex_lock(&c->q.mu);
    c->q.closed = true;
    pthread_mutex_unlock(&c->q.mu);
    gt_worker_stop(c);
    /* runs whose end could not be queued */
    while (c->open_runs) {
        gt_run *r = c->open_runs;
        c->open_runs = r->next_open;
        pending_cleanup(&r->tgt.pend);
        free(r);
    }
    queue_cleanup(&c->q);
    pthread_mutex_destroy(&c->mu);
    creds_cleanup(&c->creds);
    free(c->uri);
    free(c->spool_dir);
    free(c->user);
    free(c);
}

gt_status gt_client_set_flush_interval_ms(gt_client *c, int ms)
{
    if (!c || ms < 1 || ms > 60000)
        return GT_E_INVALID;
    atomic_store(&c->flush_interval_ms, ms);
    return GT_OK;
}

gt_status gt_client_set_flush_timeout_ms(gt_client *c, int ms)
{
    if (!c || ms < 0 || ms > 600000)
        return GT_E_INVALID;
    atomic_store(&c->flush_timeout_ms, ms);
    return GT_OK;
}

gt_status gt_client_set_queue_bytes(gt_client *c, size_t bytes)
{
    if (!c || bytes < (size_t)64 * 1024)
        return GT_E_INVALID;
    pthread_mutex_lock(&c->q.mu);
    c->q.bound = bytes;
    pthread_mutex_unlock(&c->q.mu);
    return GT_OK;
}

gt_status gt_client_set_spool_dir(gt_client *c, const char *dir)
{
    char *copy;
    if (!c || !dir || !*dir || (copy = strdup(dir)) == NULL)
        return c && dir && *dir ? GT_E_NOMEM : GT_E_INVALID;
    pthread_mutex_lock(&c->mu);
    free(c->spool_dir);
    c->spool_dir = copy;
    pthread_mutex_unlock(&c->mu);
    return GT_OK;
}

gt_status gt_client_set_request_timeout_ms(gt_client *c, int ms)
{
    if (!c || ms < 100 || ms > 600000)
        return GT_E_INVALID;
    atomic_store(&c->request_timeout_ms, ms);
    return GT_OK;
}

gt_status gt_client_set_log_callback(gt_client *c, gt_log_fn fn, void *userdata)
{
    if (!c)
        return GT_E_INVALID;
    pthread_mutex_lock(&c->mu);
    c->log_fn = fn;
    c->log_ud = fn ? userdata : NULL;
    pthread_mutex_unlock(&c->mu);
    return GT_OK;
}

/*---- credentials ----*/

/* A value curl can send in a header: non-empty, no control character. */
static bool cred_ok(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    }
    return true;
}

gt_status gt_client_set_basic_auth(gt_client *c, const char *username,
                                   const char *password)
{
    if (!c || !cred_ok(username) || !cred_ok(password) || strchr(username, ':'))
        return GT_E_INVALID;
    return creds_set_basic(&c->creds, username, password);
}

gt_status gt_client_set_token(gt_client *c, const char *token)
{
    if (!c || !cred_ok(token))
        return GT_E_INVALID;
    return creds_set_token(&c->creds, token);
}

gt_status gt_client_set_ca_bundle(gt_client *c, const char *path)
{
    if (!c || !path || !*path)
        return GT_E_INVALID;
    return creds_set_ca(&c->creds, path);
}

char *gt_credentials_path(void)
{
    return creds_file_path();
}

/* The gt_credentials_* calls' error buffer: 'err' itself, cleared, or
 * 'scratch' (of 'n' bytes, '*errlen' set to n) when the caller gave none. */
static char *err_or_scratch(char *err, size_t *errlen, char *scratch, size_t n)
{
    if (!err || *errlen == 0) {
        err = scratch;
        *errlen = n;
    }
    err[0] = '\0';
    return err;
}

/* uri_resolve for the gt_credentials_* calls: says in 'err' why a URI is
 * refused. '*uri' is malloc'd, the caller frees it. */
static gt_status creds_uri_resolve(const char *tracking_uri, char **uri,
                                   char *err, size_t errlen)
{
    gt_status rc = uri_resolve(tracking_uri, uri);
    if (rc != GT_OK)
        snprintf(err, errlen, "not an http:// or https:// tracking URI");
    return rc;
}

/* creds_file_path (malloc'd, the caller frees it), or NULL with 'err'
 * saying why. */
static char *creds_path_or_err(char *err, size_t errlen)
{
    char *path = creds_file_path();
    if (!path)
        snprintf(err, errlen, "neither $XDG_CONFIG_HOME nor $HOME is set");
    return path;
}

gt_status gt_credentials_save(const char *tracking_uri, const char *username,
                              const char *token, const char *token_id,
                              char *err, size_t errlen)
{
    char dummy[8], *uri, *path;
    err = err_or_scratch(err, &errlen, dummy, sizeof dummy);
    if (!cred_ok(token) || (username && !cred_ok(username)) ||
        (token_id && !cred_ok(token_id))) {
        snprintf(err, errlen,
                 "a token, user name or id that cannot be "
                 "stored");
        return GT_E_INVALID;
    }
    gt_status rc = creds_uri_resolve(tracking_uri, &uri, err, errlen);
    if (rc != GT_OK)
        return rc;
    path = creds_path_or_err(err, errlen);
    if (!path) {
        rc = GT_E_IO;
    } else {
        rc =
            creds_file_store(path, uri, username, token, token_id, err, errlen);
    }
    free(path);
    free(uri);
    return rc;
}

gt_status gt_credentials_get(const char *tracking_uri, char **username,
                             char **token, char **token_id, char *err,
                             size_t errlen)
{
    char dummy[8], *uri, *path;
    struct creds_entry e;
    if (username)
        *username = NULL;
    if (token)
        *token = NULL;
    if (token_id)
        *token_id = NULL;
    err = err_or_scratch(err, &errlen, dummy, sizeof dummy);
    gt_status rc = creds_uri_resolve(tracking_uri, &uri, err, errlen);
    if (rc != GT_OK)
        return rc;
    path = creds_file_path();
    int r = path ? creds_file_lookup(path, uri, &e, err, errlen) : 0;
    if (r > 0) {
        if (username) {
            *username = e.username;
            e.username = NULL;
        }
        if (token) {
            *token = e.token;
            e.token = NULL;
        }
        if (token_id) {
            *token_id = e.token_id;
            e.token_id = NULL;
        }
        creds_entry_cleanup(&e);
    } else if (r == 0) {
        snprintf(err, errlen, "no stored credentials for %s", uri);
    }
    free(path);
    free(uri);
    return r > 0 ? GT_OK : r == 0 ? GT_E_NOT_FOUND : GT_E_IO;
}

gt_status gt_credentials_remove(const char *tracking_uri, char *err,
                                size_t errlen)
{
    char dummy[8], *uri, *path;
    err = err_or_scratch(err, &errlen, dummy, sizeof dummy);
    gt_status rc = creds_uri_resolve(tracking_uri, &uri, err, errlen);
    if (rc != GT_OK)
        return rc;
    path = creds_path_or_err(err, errlen);
    if (!path) {
        rc = GT_E_NOT_FOUND;
    } else {
        rc = creds_file_remove(path, uri, NULL, err, errlen);
    }
    free(path);
    free(uri);
    return rc;
}

void gt_client_stats(const gt_client *client, gt_stats *out)
{
    gt_client *c = (gt_client *)client;
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (!c)
        return;
    out->sent = atomic_load(&c->sent);
    out->spooled = atomic_load(&c->spooled);
    out->replayed = atomic_load(&c->replayed);
    out->dropped = atomic_load(&c->dropped);
    out->energy_sent = atomic_load(&c->energy_sent);
    out->energy_dropped = atomic_load(&c->energy_dropped);
    out->artifacts_uploaded = atomic_load(&c->art_uploaded);
    out->artifacts_spooled = atomic_load(&c->art_spooled);
    out->artifacts_changed = atomic_load(&c->art_changed);
    out->artifacts_failed = atomic_load(&c->art_failed);
    pthread_mutex_lock(&c->q.mu);
    out->queued = c->q.enq_data - c->q.done_data;
    pthread_mutex_unlock(&c->q.mu);
}

gt_status gt_flush(gt_client *c, int timeout_ms)
{
    struct timespec ts;
    gt_status rc = GT_OK;
    if (!c)
        return GT_E_INVALID;
    int64_t until = gt_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    ts.tv_sec = (time_t)(until / 1000);
    ts.tv_nsec = (long)(until % 1000) * 1000000;
    pthread_mutex_lock(&c->q.mu);
    if (c->q.closed) {
        pthread_mutex_unlock(&c->q.mu);
        return GT_E_CLOSED;
    }
    uint64_t target = c->q.enq_seq;
    if (c->q.done_seq < target) {
        c->q.flush_req = true;
        pthread_cond_signal(&c->q.wake);
    }
    while (c->q.done_seq < target) {
        if (timeout_ms < 0) {
            pthread_cond_wait(&c->q.done, &c->q.mu);
        } else if (pthread_cond_timedwait(&c->q.done, &c->q.mu, &ts) != 0 &&
                   c->q.done_seq < target) {
            rc = GT_E_TIMEOUT;
            break;
        }
    }
    pthread_mutex_unlock(&c->q.mu);
    return rc;
}

/*---- runs ----*/

static void open_add_locked(gt_client *c, gt_run *r)
{
    r->prev_open = NULL;
    r->next_open = c->open_runs;
    if (c->open_runs)
        c->open_runs->prev_open = r;
    c->open_runs = r;
    r->open = true;
}

static void open_remove_locked(gt_client *c, gt_run *r)
{
    if (!r->open)
        return;
    if (r->prev_open)
        r->prev_open->next_open = r->next_open;
    else
        c->open_runs = r->next_open;
    if (r->next_open)
        r->next_open->prev_open = r->prev_open;
    r->next_open = r->prev_open = NULL;
    r->open = false;
}

static gt_run *run_new(gt_client *c, const char *id)
{
    gt_run *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->client = c;
    snprintf(r->id, sizeof r->id, "%s", id);
    snprintf(r->tgt.id, sizeof r->tgt.id, "%s", id);
    pending_init(&r->tgt.pend);
    return r;
}

static gt_status invalid(gt_client *c, const char *what)
{
    if (c)
        gt_client_error(c, GT_LOG_ERROR, "invalid argument: %s", what);
    return GT_E_INVALID;
}

/* GT_E_INVALID for 'name' (a key, value or name: 'what') that failed
 * mlflow_names' check with 'rc', saying why. */
static gt_status invalid_name(gt_client *c, const char *what, const char *name,
                              enum mlflow_name_rc rc)
{
    const char *why = "invalid";
    switch (rc) {
    case MLFLOW_NAME_OK:
        break;
    case MLFLOW_NAME_BAD_CHAR:
        why = "a character MLflow does not allow, or bad UTF-8";
        break;
    case MLFLOW_NAME_BAD_PATH:
        why = "not a normalized relative path";
        break;
    case MLFLOW_NAME_TOO_LONG:
        why = "too long";
        break;
    case MLFLOW_NAME_EMPTY:
        why = "empty";
        break;
    case MLFLOW_NAME_RESERVED:
        why = "the prefix '" GREENTRACK_RESERVED_METRIC_PREFIX
              "' is reserved for greentrack's own metrics";
        break;
    }
    if (c)
        gt_client_error(c, GT_LOG_ERROR, "invalid argument: %s '%.64s%s': %s",
                        what, name, strlen(name) > 64 ? "..." : "", why);
    return GT_E_INVALID;
}

gt_status gt_run_start(gt_client *c, const char *experiment_name,
                       const char *run_name, gt_run **out)
{
    size_t elen = 0, nlen = 0;
    enum mlflow_name_rc nrc;
    char id[33];
    if (!c || !out)
        return invalid(c, "NULL client or out");
    *out = NULL;
    if (experiment_name &&
        (nrc = mlflow_experiment_name_check(experiment_name, &elen, NULL)))
        return invalid_name(c, "experiment name", experiment_name, nrc);
    if (run_name && (nrc = mlflow_text_check(
                         run_name, MLFLOW_MAX_RUN_NAME_CHARS, &nlen, NULL)))
        return invalid_name(c, "run name", run_name, nrc);
    uint64_t a = gt_random_u64(), b = gt_random_u64();
    snprintf(id, sizeof id, "%016llx%016llx", (unsigned long long)a,
             (unsigned long long)b);
    gt_run *r = run_new(c, id);
    if (!r)
        return GT_E_NOMEM;

    struct rec h;
    memset(&h, 0, sizeof h);
    h.type = REC_CREATE;
    h.flags = (uint8_t)((experiment_name ? REC_F_HAS_EXP : 0) |
                        (run_name ? REC_F_HAS_NAME : 0));
    h.klen = (uint16_t)elen;
    h.vlen = (uint32_t)nlen;
    h.size = rec_size_for(elen, nlen);
    h.run = r;
    h.ts = gt_now_ms();
    pthread_mutex_lock(&c->mu);
    open_add_locked(c, r);
    c->started = true;
    pthread_mutex_unlock(&c->mu);
    gt_status rc = queue_push(&c->q, &h, experiment_name ? experiment_name : "",
                              run_name, true, &c->dropped);
    if (rc != GT_OK) {
        pthread_mutex_lock(&c->mu);
        open_remove_locked(c, r);
        pthread_mutex_unlock(&c->mu);
        pending_cleanup(&r->tgt.pend);
        free(r);
        return rc;
    }
    energy_run_join(r);
    *out = r;
    return GT_OK;
}

gt_status gt_run_attach(gt_client *c, const char *run_id, gt_run **out)
{
    if (!c || !out || !run_id || !mlflow_run_id_ok(run_id, GT_ID_MAX))
        return invalid(c, "run id");
    *out = NULL;
    gt_run *r = run_new(c, run_id);
    if (!r)
        return GT_E_NOMEM;
    snprintf(r->sid, sizeof r->sid, "%s", run_id);
    atomic_store(&r->sid_known, true);
    atomic_store(&r->created, true);
    pthread_mutex_lock(&c->mu);
    open_add_locked(c, r);
    c->started = true;
    pthread_mutex_unlock(&c->mu);
    energy_run_join(r);
    *out = r;
    return GT_OK;
}

const char *gt_run_id(const gt_run *run)
{
    return run ? run->id : "";
}

const char *gt_run_server_id(const gt_run *run)
{
    if (!run || !atomic_load_explicit(&((gt_run *)run)->sid_known,
                                      memory_order_acquire))
        return NULL;
    return run->sid;
}

gt_status gt_log_metric_at(gt_run *run, const char *key, double value,
                           int64_t step, int64_t timestamp_ms)
{
    struct rec h;
    size_t klen;
    enum mlflow_name_rc nrc;
    if (!run || !key)
        return invalid(run ? run->client : NULL, "NULL run or key");
    if ((nrc = mlflow_metric_key_check(key, &klen, NULL)))
        return invalid_name(run->client, "metric key", key, nrc);
    if (step > GT_MAX_SAFE_INT || step < -GT_MAX_SAFE_INT || timestamp_ms < 0 ||
        timestamp_ms > GT_MAX_SAFE_INT)
        return invalid(run->client, "step or timestamp beyond 2^53");
    h.size = rec_size_for(klen, 0);
    h.type = REC_METRIC;
    h.flags = 0;
    h.klen = (uint16_t)klen;
    h.vlen = 0;
    h.unused = 0;
    h.run = run;
    h.value = value;
    h.step = step;
    h.ts = timestamp_ms;
    return queue_push(&run->client->q, &h, key, NULL, false,
                      &run->client->dropped);
}

gt_status gt_log_metric(gt_run *run, const char *key, double value,
                        int64_t step)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return gt_log_metric_at(run, key, value, step,
                            (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static gt_status log_text(gt_run *run, uint8_t type, const char *key,
                          const char *value, size_t max_chars)
{
    struct rec h;
    size_t klen, vlen;
    enum mlflow_name_rc nrc;
    if (!run || !key || !value)
        return invalid(run ? run->client : NULL, "NULL run, key or value");
    if ((nrc = mlflow_key_check(key, &klen, NULL)))
        return invalid_name(
            run->client, type == REC_PARAM ? "param key" : "tag key", key, nrc);
    if ((nrc = mlflow_text_check(value, max_chars, &vlen, NULL)))
        return invalid_name(run->client,
                            type == REC_PARAM ? "param value" : "tag value",
                            value, nrc);
    memset(&h, 0, sizeof h);
    h.size = rec_size_for(klen, vlen);
    h.type = type;
    h.klen = (uint16_t)klen;
    h.vlen = (uint32_t)vlen;
    h.run = run;
    return queue_push(&run->client->q, &h, key, value, false,
                      &run->client->dropped);
}

gt_status gt_log_param(gt_run *run, const char *key, const char *value)
{
    return log_text(run, REC_PARAM, key, value, MLFLOW_MAX_PARAM_VALUE_CHARS);
}

gt_status gt_set_tag(gt_run *run, const char *key, const char *value)
{
    return log_text(run, REC_TAG, key, value, MLFLOW_MAX_TAG_VALUE_CHARS);
}

static gt_status push_end(gt_run *r, gt_run_status status)
{
    struct rec h;
    memset(&h, 0, sizeof h);
    h.size = rec_size_for(0, 0);
    h.type = REC_END;
    h.flags = (uint8_t)status;
    h.run = r;
    h.ts = gt_now_ms();
    return queue_push(&r->client->q, &h, "", NULL, true, &r->client->dropped);
}

gt_status gt_run_end(gt_run *run, gt_run_status status)
{
    if (!run)
        return GT_E_INVALID;
    gt_client *c = run->client;
    if ((int)status < GT_RUN_FINISHED || status > GT_RUN_KILLED)
        status = GT_RUN_FAILED;
    pthread_mutex_lock(&c->mu);
    bool was_open = run->open;
    open_remove_locked(c, run);
    pthread_mutex_unlock(&c->mu);
    if (!was_open)
        return GT_E_CLOSED; /* being ended by an exit handler */
    phase_close_open(run);  /* an open phase ends with the run */
    energy_run_leave(run);  /* its last energy sample goes before the end */
    gt_status rc = push_end(run, status);
    if (rc != GT_OK) {
        /* keep it: gt_client_free (or an exit handler) ends it with the
         * status asked for here, and frees it */
        pthread_mutex_lock(&c->mu);
        run->end_asked = true;
        run->end_status = status;
        open_add_locked(c, run);
        pthread_mutex_unlock(&c->mu);
        return rc;
    }
    /* the worker frees 'run' once its end is sent or spooled */
    return gt_flush(c, atomic_load(&c->flush_timeout_ms));
}

void gt_client_end_open_runs(gt_client *c, gt_run_status status)
{
    for (;;) {
        pthread_mutex_lock(&c->mu);
        gt_run *r = c->open_runs;
        gt_run_status st = status;
        if (r) {
            open_remove_locked(c, r);
            if (r->end_asked)
                st = r->end_status; /* gt_run_end could not queue it */
        }
        pthread_mutex_unlock(&c->mu);
        if (!r)
            return;
        phase_close_open(r);
        energy_run_leave(r);
        if (push_end(r, st) != GT_OK) {
            pthread_mutex_lock(&c->mu);
            open_add_locked(c, r);
            pthread_mutex_unlock(&c->mu);
            return;
        }
    }
}

/*---- one synchronous request for tools ----*/

gt_status gt_request(gt_client *c, const char *method, const char *path,
                     const char *json_body, char **response, long *http_status)
{
    char err[512];
    int64_t retry_after;
    long status = 0;
    if (response)
        *response = NULL;
    if (http_status)
        *http_status = 0;
    if (!c || !method || !path || path[0] != '/' ||
        (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0))
        return invalid(c, "gt_request method or path");
    struct transport *t =
        transport_new(c->uri, atomic_load(&c->request_timeout_ms), &c->creds);
    if (!t)
        return GT_E_NOMEM;
    enum tp_result r = transport_call(t, method, path, json_body,
                                      json_body ? strlen(json_body) : 0,
                                      &status, &retry_after, err, sizeof err);
    gt_status rc = GT_OK;
    if (status == 0) {
        gt_client_error(c, GT_LOG_ERROR, "%s", err);
        rc = GT_E_NETWORK;
    } else {
        /* a 401 or 403 is an answer too; errmsg says which credential */
        if (r == TP_AUTH)
            gt_client_error(c, GT_LOG_ERROR, "%s", err);
        size_t n;
        const char *body = transport_body(t, &n);
        if (response) {
            *response = malloc(n + 1);
            if (*response) {
                memcpy(*response, body, n);
                (*response)[n] = '\0';
            } else {
                rc = GT_E_NOMEM;
            }
        }
        if (http_status)
            *http_status = status;
    }
    transport_free(t);
    return rc;
}
