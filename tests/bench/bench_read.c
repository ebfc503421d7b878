/* SPDX-License-Identifier: MIT */
/*
 * bench_read: read-path latency and memory of a running greentrack server.
 * Seeds N runs (5 params, metrics acc/loss/f1, 2 tags; runs/create plus one
 * runs/log-batch each) and one run whose metric "big" has P points, then
 * times runs/search (filter metrics.acc > 0.5, order metrics.acc DESC, 100
 * results) and metrics/get-history of the big metric. Samples the server's
 * VmRSS (idle before seeding, maximum during load). Then runs the equivalent
 * SQL read-only on the server's own DB file as the same-run baseline and
 * checks that the server returned the same runs in the same order.
 * Prints "RESULT name value target meets" lines for tests/bench/run.sh.
 * Exit 0; 1 when a request failed or a check did not hold; 2 on setup error.
 */
#include "bench_http.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sqlite3.h>

#define RUN_ID_LEN 32
#define TOP_N 100

struct opts {
    const char *host;
    int port;
    int pid;
    const char *db;
    int runs;
    int history_points;
    int search_iters;
    int history_iters;
    int conns;
};

static void report(const char *name, double value, const char *target,
                   int meets)
{
    printf("RESULT %s %.*f %s %s\n", name, value >= 1000 ? 0 : 3, value,
           target ? target : "-", meets < 0 ? "-" : (meets ? "yes" : "NO"));
}

/* Deterministic uniform double in [0, 1) for run i (splitmix64). */
static double unit_rand(uint64_t i)
{
    uint64_t z = i + 0x9e3779b97f4a7c15ULL;

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0;
}

/*---- RSS sampler ----*/

struct sampler {
    int pid;
    atomic_int stop;
    atomic_long max_kb;
};

static void *sampler_main(void *arg)
{
    struct sampler *s = arg;
    struct timespec ts = {0, 10 * 1000 * 1000};

    while (!atomic_load(&s->stop)) {
        long kb = bh_proc_rss_kb(s->pid);

        if (kb > atomic_load(&s->max_kb)) {
            atomic_store(&s->max_kb, kb);
        }
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/*---- Seeding ----*/

struct seed_conn {
    int run;   /* index of the run this connection works on */
    int phase; /* 0: create next, 1: log-batch for run_id */
    char run_id[RUN_ID_LEN + 1];
    struct bh_buf req;
};

struct seed {
    const struct opts *o;
    const char *exp_id;
    int64_t base_ms;
    int next_run;
    int nruns;
    char (*run_ids)[RUN_ID_LEN + 1]; /* by run index */
    struct seed_conn *conns;
    int64_t requests;
    int bad_status;
    char bad[300];
};

static int seed_next(void *ctx, int conn, const char **req, size_t *req_len)
{
    struct seed *s = ctx;
    struct seed_conn *c = &s->conns[conn];
    struct bh_buf body = {0};

    c->req.len = 0;
    if (c->phase == 0) {
        if (s->next_run >= s->nruns) {
            return 0;
        }
        c->run = s->next_run++;
        bh_buf_printf(&body,
                      "{\"experiment_id\":\"%s\",\"run_name\":\"seed-%d\","
                      "\"start_time\":%lld}",
                      s->exp_id, c->run, (long long)(s->base_ms + c->run));
        bh_request_post(&c->req, "/api/2.0/mlflow/runs/create", body.p,
                        body.len);
    } else {
        double acc = unit_rand((uint64_t)c->run);
        int i = c->run;

        bh_buf_printf(&body, "{\"run_id\":\"%s\",\"params\":[", c->run_id);
        for (int p = 0; p < 5; p++) {
            bh_buf_printf(&body, "%s{\"key\":\"p%d\",\"value\":\"v%d-%d\"}",
                          p ? "," : "", p, p, i % 97);
        }
        bh_buf_printf(&body,
                      "],\"metrics\":["
                      "{\"key\":\"acc\",\"value\":%.17g,\"timestamp\":%lld,"
                      "\"step\":0},"
                      "{\"key\":\"loss\",\"value\":%.17g,\"timestamp\":%lld,"
                      "\"step\":0},"
                      "{\"key\":\"f1\",\"value\":%.17g,\"timestamp\":%lld,"
                      "\"step\":0}],\"tags\":["
                      "{\"key\":\"team\",\"value\":\"t%d\"},"
                      "{\"key\":\"model\",\"value\":\"m%d\"}]}",
                      acc, (long long)(s->base_ms + i), 1.0 - acc * 0.9,
                      (long long)(s->base_ms + i), acc * 0.95,
                      (long long)(s->base_ms + i), i % 7, i % 13);
        bh_request_post(&c->req, "/api/2.0/mlflow/runs/log-batch", body.p,
                        body.len);
    }
    bh_buf_free(&body);
    if (c->req.p == NULL) {
        return 0;
    }
    *req = c->req.p;
    *req_len = c->req.len;
    return 1;
}

/* Copies run.info.run_id of a runs/create response; 0 or -1. */
static int run_id_parse(const char *body, size_t len, char out[RUN_ID_LEN + 1])
{
    cJSON *root = cJSON_ParseWithLength(body, len);
    cJSON *rid = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(root, "run"), "info"),
        "run_id");
    int rc = -1;

    if (cJSON_IsString(rid) && strlen(rid->valuestring) == RUN_ID_LEN) {
        memcpy(out, rid->valuestring, RUN_ID_LEN + 1);
        rc = 0;
    }
    cJSON_Delete(root);
    return rc;
}

static int seed_done(void *ctx, int conn, const struct bh_resp *resp,
                     int64_t latency_ns)
{
    struct seed *s = ctx;
    struct seed_conn *c = &s->conns[conn];

    (void)latency_ns;
    s->requests++;
    if (resp->status != 200 ||
        (c->phase == 0 &&
         run_id_parse(resp->body, resp->body_len, c->run_id) != 0)) {
        s->bad_status = resp->status;
        snprintf(s->bad, sizeof s->bad, "%s: %.*s",
                 c->phase == 0 ? "runs/create" : "runs/log-batch",
                 (int)(resp->body_len < 200 ? resp->body_len : 200),
                 resp->body);
        return 1;
    }
    if (c->phase == 0) {
        memcpy(s->run_ids[c->run], c->run_id, RUN_ID_LEN + 1);
    }
    c->phase = !c->phase;
    return 0;
}

/* Creates the N runs; 0 or -1 (cause printed). */
static int seed_runs(const struct opts *o, const char *exp_id,
                     char (*run_ids)[RUN_ID_LEN + 1])
{
    static const struct bh_ops ops = {seed_next, seed_done};
    struct seed s;
    char err[256] = "";
    int64_t t0 = bh_now_ns();
    int rc;

    memset(&s, 0, sizeof s);
    s.o = o;
    s.exp_id = exp_id;
    s.base_ms = bh_unix_ms() - o->runs;
    s.nruns = o->runs;
    s.run_ids = run_ids;
    s.conns = calloc((size_t)o->conns, sizeof *s.conns);
    if (s.conns == NULL) {
        return -1;
    }
    rc = bh_run(o->host, o->port, o->conns, &ops, &s, 60.0, err, sizeof err);
    for (int i = 0; i < o->conns; i++) {
        bh_buf_free(&s.conns[i].req);
    }
    free(s.conns);
    if (rc != 0) {
        fprintf(stderr, "seed: %s status %d %s\n", err, s.bad_status, s.bad);
        return -1;
    }
    printf("seeded %d runs (%lld requests) in %.2f s\n", o->runs,
           (long long)s.requests, (double)(bh_now_ns() - t0) / 1e9);
    return 0;
}

/*---- Fixed-request loops (history seeding, timed queries) ----*/

struct loop {
    int total, started;
    struct bh_buf *reqs; /* one per request index, or one shared */
    int nreqs;
    int64_t *lat;
    int nlat;
    int bad_status;
    char bad[300];
    struct bh_buf first; /* body of the first response */
};

static int loop_next(void *ctx, int conn, const char **req, size_t *req_len)
{
    struct loop *l = ctx;
    const struct bh_buf *r;

    (void)conn;
    if (l->started >= l->total) {
        return 0;
    }
    r = &l->reqs[l->nreqs > 1 ? l->started : 0];
    l->started++;
    *req = r->p;
    *req_len = r->len;
    return 1;
}

static int loop_done(void *ctx, int conn, const struct bh_resp *resp,
                     int64_t latency_ns)
{
    struct loop *l = ctx;

    (void)conn;
    if (resp->status != 200) {
        l->bad_status = resp->status;
        snprintf(l->bad, sizeof l->bad, "%.*s",
                 (int)(resp->body_len < 200 ? resp->body_len : 200),
                 resp->body);
        return 1;
    }
    if (l->nlat == 0 &&
        bh_buf_append(&l->first, resp->body, resp->body_len) != 0) {
        return 1;
    }
    l->lat[l->nlat++] = latency_ns;
    return 0;
}

/*
 * Sends total requests (reqs[i], or reqs[0] for all when nreqs is 1) over
 * nconn connections. Latencies go to l->lat, sorted; the first response
 * body is kept in l->first. Returns 0 or -1 (cause printed).
 */
static int loop_run(const struct opts *o, const char *what, struct loop *l,
                    int nconn)
{
    static const struct bh_ops ops = {loop_next, loop_done};
    char err[256] = "";

    l->lat = calloc((size_t)l->total + 1, sizeof *l->lat);
    if (l->lat == NULL) {
        return -1;
    }
    if (bh_run(o->host, o->port, nconn, &ops, l, 60.0, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s status %d %s\n", what, err, l->bad_status,
                l->bad);
        return -1;
    }
    qsort(l->lat, (size_t)l->nlat, sizeof *l->lat, cmp_i64);
    return 0;
}

static void loop_free(struct loop *l)
{
    free(l->lat);
    bh_buf_free(&l->first);
    l->lat = NULL;
    l->nlat = 0;
    l->started = 0;
}

/*---- Raw SQL baseline ----*/

static const char raw_search_sql[] =
    "SELECT r.run_pk, r.run_id, r.run_name, r.experiment_id, r.user_id,"
    " r.status, r.start_time, r.end_time, r.artifact_uri, r.lifecycle_stage"
    " FROM latest_metrics lm JOIN runs r ON r.run_pk = lm.run_pk"
    " WHERE lm.key = 'acc' AND lm.is_nan = 0 AND lm.value > 0.5"
    " AND r.experiment_id = ? AND r.lifecycle_stage = 'active'"
    " ORDER BY lm.value DESC, r.start_time DESC, r.run_id ASC LIMIT 100";

struct raw_stmts {
    sqlite3_stmt *search, *params, *tags, *metrics;
};

/* Reads every column of every row of st (as a client would). */
static long raw_drain(sqlite3_stmt *st)
{
    long bytes = 0;

    while (sqlite3_step(st) == SQLITE_ROW) {
        for (int c = 0; c < sqlite3_column_count(st); c++) {
            bytes += sqlite3_column_bytes(st, c);
            (void)sqlite3_column_text(st, c);
        }
    }
    sqlite3_reset(st);
    return bytes;
}

/*
 * One search: the top-100 query and, when hydrate is set, the params, tags
 * and latest metrics of each run (what a runs/search response carries).
 * Run ids go to ids when it is not NULL. Returns the number of runs.
 */
static int raw_search_once(struct raw_stmts *s, sqlite3_int64 exp_id,
                           int hydrate, char (*ids)[RUN_ID_LEN + 1])
{
    sqlite3_int64 pks[TOP_N];
    int n = 0;

    sqlite3_bind_int64(s->search, 1, exp_id);
    while (sqlite3_step(s->search) == SQLITE_ROW && n < TOP_N) {
        const unsigned char *rid;

        for (int c = 0; c < sqlite3_column_count(s->search); c++) {
            (void)sqlite3_column_text(s->search, c);
        }
        pks[n] = sqlite3_column_int64(s->search, 0);
        rid = sqlite3_column_text(s->search, 1);
        if (ids != NULL) {
            snprintf(ids[n], RUN_ID_LEN + 1, "%s",
                     rid ? (const char *)rid : "");
        }
        n++;
    }
    sqlite3_reset(s->search);
    if (hydrate) {
        for (int i = 0; i < n; i++) {
            sqlite3_stmt *st[3] = {s->params, s->tags, s->metrics};

            for (int k = 0; k < 3; k++) {
                sqlite3_bind_int64(st[k], 1, pks[i]);
                raw_drain(st[k]);
            }
        }
    }
    return n;
}

struct raw_result {
    double query_p50, query_p95, full_p50, full_p95;
    int n;
    char ids[TOP_N][RUN_ID_LEN + 1];
};

/* Times the raw search on the server's DB file (read-only); 0 or -1. */
static int raw_bench(const struct opts *o, const char *exp_id, int iters,
                     struct raw_result *r)
{
    sqlite3 *db = NULL;
    struct raw_stmts s = {NULL, NULL, NULL, NULL};
    int64_t *lat = calloc((size_t)iters, sizeof *lat);
    sqlite3_int64 eid = strtoll(exp_id, NULL, 10);
    int rc = -1;

    if (lat == NULL) {
        return -1;
    }
    if (sqlite3_open_v2(o->db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, raw_search_sql, -1, &s.search, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT key, value FROM params WHERE run_pk = ?",
                           -1, &s.params, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT key, value FROM tags WHERE run_pk = ?",
                           -1, &s.tags, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "SELECT key, value, timestamp, step, is_nan"
                           " FROM latest_metrics WHERE run_pk = ?",
                           -1, &s.metrics, NULL) != SQLITE_OK) {
        fprintf(stderr, "raw: %s: %s\n", o->db, sqlite3_errmsg(db));
        goto out;
    }
    r->n = raw_search_once(&s, eid, 1, r->ids); /* warm-up */
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < iters; i++) {
            int64_t t0 = bh_now_ns();

            raw_search_once(&s, eid, pass, NULL);
            lat[i] = bh_now_ns() - t0;
        }
        qsort(lat, (size_t)iters, sizeof *lat, cmp_i64);
        if (pass == 0) {
            r->query_p50 = bh_pct_ms(lat, (size_t)iters, 0.50);
            r->query_p95 = bh_pct_ms(lat, (size_t)iters, 0.95);
        } else {
            r->full_p50 = bh_pct_ms(lat, (size_t)iters, 0.50);
            r->full_p95 = bh_pct_ms(lat, (size_t)iters, 0.95);
        }
    }
    rc = 0;
out:
    sqlite3_finalize(s.search);
    sqlite3_finalize(s.params);
    sqlite3_finalize(s.tags);
    sqlite3_finalize(s.metrics);
    sqlite3_close(db);
    free(lat);
    return rc;
}

/*---- Checks ----*/

/*
 * Checks a runs/search body: TOP_N runs (or all matches when fewer), acc
 * above 0.5 and non-increasing, ids equal to the raw query's. 0 or -1.
 */
static int search_check(const struct bh_buf *body, const struct raw_result *r,
                        int want)
{
    cJSON *root = cJSON_ParseWithLength(body->p, body->len);
    cJSON *runs = cJSON_GetObjectItemCaseSensitive(root, "runs"), *run;
    double prev = 2.0;
    int n = 0, rc = 0;

    cJSON_ArrayForEach(run, runs)
    {
        cJSON *info = cJSON_GetObjectItemCaseSensitive(run, "info");
        cJSON *rid = cJSON_GetObjectItemCaseSensitive(info, "run_id");
        cJSON *data = cJSON_GetObjectItemCaseSensitive(run, "data");
        cJSON *m, *acc = NULL;

        cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(data, "metrics"))
        {
            cJSON *k = cJSON_GetObjectItemCaseSensitive(m, "key");

            if (cJSON_IsString(k) && strcmp(k->valuestring, "acc") == 0) {
                acc = cJSON_GetObjectItemCaseSensitive(m, "value");
            }
        }
        if (!cJSON_IsNumber(acc) || acc->valuedouble <= 0.5 ||
            acc->valuedouble > prev) {
            fprintf(stderr, "search check: run %d has acc %s (previous %g)\n",
                    n, cJSON_IsNumber(acc) ? "out of order" : "missing", prev);
            rc = -1;
            break;
        }
        prev = acc->valuedouble;
        if (n < r->n && (!cJSON_IsString(rid) ||
                         strcmp(rid->valuestring, r->ids[n]) != 0)) {
            fprintf(stderr, "search check: run %d is %s, raw SQL says %s\n", n,
                    cJSON_IsString(rid) ? rid->valuestring : "?", r->ids[n]);
            rc = -1;
            break;
        }
        n++;
    }
    if (rc == 0 && n != want) {
        fprintf(stderr, "search check: %d runs returned, expected %d\n", n,
                want);
        rc = -1;
    }
    cJSON_Delete(root);
    return rc;
}

/*---- Main ----*/

static int experiment_create(const struct opts *o, char *id, size_t idlen)
{
    struct bh_buf req = {0}, body = {0}, resp = {0};
    char err[256] = "";
    cJSON *root = NULL, *eid;
    int status, rc = -1;

    bh_buf_printf(&body, "{\"name\":\"bench-read-%d-%lld\"}", (int)getpid(),
                  (long long)bh_unix_ms());
    bh_request_post(&req, "/api/2.0/mlflow/experiments/create", body.p,
                    body.len);
    status = bh_once(o->host, o->port, &req, &resp, err, sizeof err);
    root = status == 200 ? cJSON_ParseWithLength(resp.p, resp.len) : NULL;
    eid = cJSON_GetObjectItemCaseSensitive(root, "experiment_id");
    if (cJSON_IsString(eid)) {
        snprintf(id, idlen, "%s", eid->valuestring);
        rc = 0;
    } else {
        fprintf(stderr, "experiments/create: status %d %s %.200s\n", status,
                err, resp.p ? resp.p : "");
    }
    cJSON_Delete(root);
    bh_buf_free(&req);
    bh_buf_free(&body);
    bh_buf_free(&resp);
    return rc;
}

/* Creates the history run and logs P points of "big" in 1000-point batches. */
static int seed_history(const struct opts *o, const char *exp_id,
                        char run_id[RUN_ID_LEN + 1])
{
    struct loop l;
    struct bh_buf body = {0};
    int nb = (o->history_points + 999) / 1000, rc = -1;
    int64_t t0 = bh_now_ns(), ts = bh_unix_ms();

    memset(&l, 0, sizeof l);
    l.reqs = calloc((size_t)nb + 1, sizeof *l.reqs);
    if (l.reqs == NULL) {
        return -1;
    }
    bh_buf_printf(&body, "{\"experiment_id\":\"%s\",\"run_name\":\"history\"}",
                  exp_id);
    bh_request_post(&l.reqs[0], "/api/2.0/mlflow/runs/create", body.p,
                    body.len);
    l.total = l.nreqs = 1;
    if (loop_run(o, "history runs/create", &l, 1) != 0 ||
        run_id_parse(l.first.p, l.first.len, run_id) != 0) {
        goto out;
    }
    loop_free(&l);
    bh_buf_free(&l.reqs[0]);
    for (int b = 0; b < nb; b++) {
        body.len = 0;
        bh_buf_printf(&body, "{\"run_id\":\"%s\",\"metrics\":[", run_id);
        for (int i = b * 1000; i < (b + 1) * 1000 && i < o->history_points;
             i++) {
            bh_buf_printf(&body,
                          "%s{\"key\":\"big\",\"value\":%.6f,\"timestamp\":"
                          "%lld,\"step\":%d}",
                          i % 1000 ? "," : "", 1.0 / (1.0 + i),
                          (long long)(ts + i), i);
        }
        bh_buf_printf(&body, "]}");
        bh_request_post(&l.reqs[b], "/api/2.0/mlflow/runs/log-batch", body.p,
                        body.len);
    }
    l.total = l.nreqs = nb;
    l.started = 0;
    if (loop_run(o, "history log-batch", &l, 4) != 0) {
        goto out;
    }
    printf("seeded %d points of metric \"big\" in run %s in %.2f s\n",
           o->history_points, run_id, (double)(bh_now_ns() - t0) / 1e9);
    rc = 0;
out:
    for (int b = 0; b < nb; b++) {
        bh_buf_free(&l.reqs[b]);
    }
    free(l.reqs);
    loop_free(&l);
    bh_buf_free(&body);
    return rc;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_read --port N --pid SERVER_PID --db PATH"
                    " [--host IP] [--runs 100000]\n"
                    "  [--history-points 100000] [--search-iters 100]"
                    " [--history-iters 20] [--conns 16] [--smoke]\n");
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->runs = 100000;
    o->history_points = 100000;
    o->search_iters = 100;
    o->history_iters = 20;
    o->conns = 16;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        long n = 0;

        if (strcmp(a, "--smoke") == 0) {
            o->runs = 2000;
            o->history_points = 10000;
            o->search_iters = 10;
            o->history_iters = 3;
            continue;
        }
        if (v == NULL) {
            return -1;
        }
        i++;
        if (strcmp(a, "--host") == 0) {
            o->host = v;
            continue;
        }
        if (strcmp(a, "--db") == 0) {
            o->db = v;
            continue;
        }
        n = strtol(v, &end, 10);
        if (*end != '\0' || end == v || n < 0 || n > 100000000) {
            return -1;
        }
        if (strcmp(a, "--port") == 0) {
            o->port = (int)n;
        } else if (strcmp(a, "--pid") == 0) {
            o->pid = (int)n;
        } else if (strcmp(a, "--runs") == 0) {
            o->runs = (int)n;
        } else if (strcmp(a, "--history-points") == 0) {
            o->history_points = (int)n;
        } else if (strcmp(a, "--search-iters") == 0) {
            o->search_iters = (int)n;
        } else if (strcmp(a, "--history-iters") == 0) {
            o->history_iters = (int)n;
        } else if (strcmp(a, "--conns") == 0) {
            o->conns = (int)n;
        } else {
            return -1;
        }
    }
    if (o->port <= 0 || o->db == NULL || o->runs < 1 || o->conns < 1 ||
        o->search_iters < 1 || o->history_iters < 1 || o->history_points < 1) {
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o;
    struct sampler smp;
    pthread_t th;
    char exp_id[64], hist_run[RUN_ID_LEN + 1], path[256];
    char(*run_ids)[RUN_ID_LEN + 1] = NULL;
    struct loop search, hist;
    struct raw_result *raw = calloc(1, sizeof *raw);
    struct bh_buf body = {0};
    long idle_kb;
    int expect = 0, failed = 0, sampling = 0;
    double s50 = 0, s95 = 0, h50 = 0, h95 = 0;

    memset(&search, 0, sizeof search);
    memset(&hist, 0, sizeof hist);
    if (parse_args(argc, argv, &o) != 0 || raw == NULL) {
        usage();
        free(raw);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    run_ids = calloc((size_t)o.runs, sizeof *run_ids);
    if (run_ids == NULL) {
        free(raw);
        return 2;
    }
    idle_kb = bh_proc_rss_kb(o.pid);
    memset(&smp, 0, sizeof smp);
    smp.pid = o.pid;
    atomic_store(&smp.max_kb, idle_kb);
    if (o.pid > 0 && pthread_create(&th, NULL, sampler_main, &smp) == 0) {
        sampling = 1;
    }
    if (experiment_create(&o, exp_id, sizeof exp_id) != 0 ||
        seed_runs(&o, exp_id, run_ids) != 0 ||
        seed_history(&o, exp_id, hist_run) != 0) {
        failed = 1;
        goto out;
    }
    for (int i = 0; i < o.runs; i++) {
        expect += unit_rand((uint64_t)i) > 0.5;
    }
    expect = expect < TOP_N ? expect : TOP_N;

    /* runs/search: 2 warm-up requests, then search_iters timed ones. */
    bh_buf_printf(&body,
                  "{\"experiment_ids\":[\"%s\"],\"filter\":\"metrics.acc >"
                  " 0.5\",\"order_by\":[\"metrics.acc DESC\"],"
                  "\"max_results\":%d}",
                  exp_id, TOP_N);
    search.reqs = calloc(1, sizeof *search.reqs);
    if (search.reqs == NULL) {
        failed = 1;
        goto out;
    }
    bh_request_post(&search.reqs[0], "/api/2.0/mlflow/runs/search", body.p,
                    body.len);
    search.nreqs = 1;
    search.total = 2;
    if (loop_run(&o, "runs/search warm-up", &search, 1) != 0) {
        failed = 1;
        goto out;
    }
    loop_free(&search);
    search.started = search.nlat = 0;
    search.total = o.search_iters;
    if (loop_run(&o, "runs/search", &search, 1) != 0) {
        failed = 1;
        goto out;
    }
    s50 = bh_pct_ms(search.lat, (size_t)search.nlat, 0.50);
    s95 = bh_pct_ms(search.lat, (size_t)search.nlat, 0.95);
    printf("runs/search (%d runs, top %d of acc > 0.5): p50 %.2f ms, p95 %.2f"
           " ms, %zu-byte response\n",
           o.runs, TOP_N, s50, s95, search.first.len);

    /* get-history of the big metric: 1 warm-up, then history_iters. */
    snprintf(path, sizeof path,
             "/api/2.0/mlflow/metrics/get-history?run_id=%s&metric_key=big",
             hist_run);
    hist.reqs = calloc(1, sizeof *hist.reqs);
    if (hist.reqs == NULL) {
        failed = 1;
        goto out;
    }
    bh_request_get(&hist.reqs[0], path);
    hist.nreqs = 1;
    hist.total = 1;
    if (loop_run(&o, "get-history warm-up", &hist, 1) != 0) {
        failed = 1;
        goto out;
    }
    {
        size_t got = bh_count(hist.first.p, hist.first.len, "\"timestamp\"");

        if (got != (size_t)o.history_points) {
            fprintf(stderr, "get-history check: %zu points, expected %d\n", got,
                    o.history_points);
            failed = 1;
        }
    }
    loop_free(&hist);
    hist.started = hist.nlat = 0;
    hist.total = o.history_iters;
    if (loop_run(&o, "get-history", &hist, 1) != 0) {
        failed = 1;
        goto out;
    }
    h50 = bh_pct_ms(hist.lat, (size_t)hist.nlat, 0.50);
    h95 = bh_pct_ms(hist.lat, (size_t)hist.nlat, 0.95);
    printf("get-history (%d points): p50 %.2f ms, p95 %.2f ms, %zu-byte"
           " response\n",
           o.history_points, h50, h95, hist.first.len);
    if (sampling) {
        atomic_store(&smp.stop, 1);
        pthread_join(th, NULL);
        sampling = 0;
    }

    /* The same-run baseline on the server's own DB file. */
    if (raw_bench(&o, exp_id, o.search_iters, raw) != 0) {
        fprintf(stderr, "raw baseline failed (schema changed?); no ratio\n");
    } else {
        printf("raw SQL search on %s: query p50 %.2f ms (p95 %.2f), query"
               " + params/tags/metrics of %d runs p50 %.2f ms (p95 %.2f)\n",
               o.db, raw->query_p50, raw->query_p95, raw->n, raw->full_p50,
               raw->full_p95);
        if (search_check(&search.first, raw, expect) != 0) {
            failed = 1;
        }
    }
    report("read.search_p50_ms", s50, "<=20", s50 <= 20.0);
    report("read.search_p95_ms", s95, NULL, -1);
    if (raw->full_p50 > 0) {
        report("read.raw_search_p50_ms", raw->full_p50, NULL, -1);
        report("read.search_vs_raw", s50 / raw->full_p50, NULL, -1);
    }
    report("read.history_p50_ms", h50, "<=100", h50 <= 100.0);
    report("read.history_p95_ms", h95, NULL, -1);
    if (o.pid > 0) {
        report("read.rss_idle_mb", idle_kb / 1024.0, "<=10",
               idle_kb <= 10 * 1024);
        report("read.rss_max_mb", atomic_load(&smp.max_kb) / 1024.0, "<=100",
               atomic_load(&smp.max_kb) <= 100 * 1024);
    }
out:
    if (sampling) {
        atomic_store(&smp.stop, 1);
        pthread_join(th, NULL);
    }
    if (search.reqs != NULL) {
        bh_buf_free(&search.reqs[0]);
    }
    if (hist.reqs != NULL) {
        bh_buf_free(&hist.reqs[0]);
    }
    free(search.reqs);
    free(hist.reqs);
    loop_free(&search);
    loop_free(&hist);
    bh_buf_free(&body);
    free(run_ids);
    free(raw);
    if (failed) {
        printf("bench_read: FAILED (see errors above)\n");
    }
    return failed ? 1 : 0;
}
