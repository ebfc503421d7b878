/* SPDX-License-Identifier: MIT */
/*
 * bench_ingest: ingest throughput of a running greentrack server, next to a
 * raw SQLite baseline measured in the same process and run.
 *   raw    1000-row transactions of INSERT OR IGNORE into `metrics` (the
 *          physical limit of the storage engine on this machine);
 *   batch  4 keep-alive clients, runs/log-batch with 1000 distinct points;
 *   single 16 keep-alive clients, runs/log-metric with distinct steps;
 *   search the same fixed runs/search request (--search-body) over
 *          --search-conns clients, for read throughput (bench_pg.py).
 * --ports P1,P2,.. spreads the connections round-robin over several servers
 * on one database (runs are created through the first).
 * Request bodies are built once; only fixed-width step/timestamp digits are
 * rewritten in place before each send, so every point is distinct (nothing
 * is an ignored duplicate) and the client stays far cheaper than the server.
 * Prints "RESULT name value target meets" lines that tests/bench/run.sh
 * tabulates. Exit 0; 1 when a request failed or a check did not hold; 2 on
 * a usage or setup error.
 */
#include "bench_http.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sqlite3.h>

#define BATCH_KEYS 4
#define BATCH_STEPS 250
#define BATCH_POINTS (BATCH_KEYS * BATCH_STEPS)
#define STEP_BASE 100000000LL    /* 9 digits */
#define TS_BASE 1700000000000LL  /* 13 digits */
#define SINGLE_BASE 1000000000LL /* 10 digits */
#define RUN_ID_LEN 32
#define MAX_PORTS 8

static const char *const batch_keys[BATCH_KEYS] = {"loss", "acc", "lr",
                                                   "grad_norm"};

struct opts {
    const char *host;
    int port; /* ports[0] */
    int ports[MAX_PORTS];
    int nports;
    int pid;
    double seconds;
    double raw_seconds;
    const char *mode;
    const char *schema;
    const char *tmpdir;
    int batch_conns;
    int single_conns;
    int search_conns;
    const char *search_body;
    int verify;
};

/* What a load phase sends. */
enum phase { PH_BATCH, PH_SINGLE, PH_SEARCH };

static const char *const phase_names[] = {"batch", "single", "search"};

/*---- Results ----*/

static int failed;

/* One machine-readable line; target is e.g. ">=0.7", meets 1/0/-1 (n/a). */
static void report(const char *name, double value, const char *target,
                   int meets)
{
    printf("RESULT %s %.*f %s %s\n", name, value >= 1000 ? 0 : 3, value,
           target ? target : "-", meets < 0 ? "-" : (meets ? "yes" : "NO"));
}

/*---- Raw SQLite baseline ----*/

static char *file_read(const char *path)
{
    FILE *f = fopen(path, "rb");
    struct bh_buf b = {0};
    char chunk[4096];
    size_t n;

    if (f == NULL) {
        return NULL;
    }
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (bh_buf_append(&b, chunk, n) != 0) {
            fclose(f);
            bh_buf_free(&b);
            return NULL;
        }
    }
    fclose(f);
    return b.p;
}

static int sql_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "raw: %s\n", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/*
 * The raw limit: a fresh WAL database with the project schema,
 * synchronous=FULL, one new runs row per transaction and then the same rows
 * a log-batch request carries (4 keys x 250 steps, distinct timestamps)
 * through a prepared INSERT OR IGNORE, 'rows_per_txn' (at most 1000) rows
 * per transaction. Returns rows/s, or -1.
 */
static double raw_bench(const struct opts *o, int rows_per_txn, double seconds)
{
    char path[1024], wal[1100], shm[1100], run_id[RUN_ID_LEN + 1];
    char *schema = file_read(o->schema);
    sqlite3 *db = NULL;
    sqlite3_stmt *ins_run = NULL, *ins_metric = NULL;
    double rate = -1.0;
    long long rows = 0, txns = 0;
    int64_t start, end;

    snprintf(path, sizeof path, "%s/bench-raw-%d.db", o->tmpdir, (int)getpid());
    snprintf(wal, sizeof wal, "%s-wal", path);
    snprintf(shm, sizeof shm, "%s-shm", path);
    unlink(path);
    unlink(wal);
    unlink(shm);
    if (schema == NULL) {
        fprintf(stderr, "raw: cannot read schema %s\n", o->schema);
        goto out;
    }
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sql_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                     "PRAGMA foreign_keys=ON;") != 0 ||
        sql_exec(db, schema) != 0 ||
        sql_exec(db, "INSERT INTO experiments (experiment_id, name,"
                     " artifact_location, creation_time, last_update_time)"
                     " VALUES (0, 'Default', '/tmp/a/0', 0, 0)") != 0) {
        fprintf(stderr, "raw: setup of %s failed\n", path);
        goto out;
    }
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO runs (run_id, experiment_id,"
                           " start_time, artifact_uri) VALUES (?, 0, ?, ?)",
                           -1, &ins_run, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "INSERT OR IGNORE INTO metrics (run_pk, key,"
                           " timestamp, step, value, is_nan)"
                           " VALUES (?, ?, ?, ?, ?, 0)",
                           -1, &ins_metric, NULL) != SQLITE_OK) {
        fprintf(stderr, "raw: prepare: %s\n", sqlite3_errmsg(db));
        goto out;
    }
    start = bh_now_ns();
    end = start + (int64_t)(seconds * 1e9);
    const int n_points =
        rows_per_txn < BATCH_POINTS ? rows_per_txn : BATCH_POINTS;
    do {
        sqlite3_int64 run_pk;

        snprintf(run_id, sizeof run_id, "%032llx", (unsigned long long)txns);
        if (sql_exec(db, "BEGIN") != 0) {
            goto out;
        }
        sqlite3_bind_text(ins_run, 1, run_id, RUN_ID_LEN, SQLITE_STATIC);
        sqlite3_bind_int64(ins_run, 2, TS_BASE);
        sqlite3_bind_text(ins_run, 3, "/tmp/a/0/r/artifacts", -1,
                          SQLITE_STATIC);
        if (sqlite3_step(ins_run) != SQLITE_DONE) {
            fprintf(stderr, "raw: run insert: %s\n", sqlite3_errmsg(db));
            goto out;
        }
        sqlite3_reset(ins_run);
        run_pk = sqlite3_last_insert_rowid(db);
        for (int i = 0; i < n_points; i++) {
            int k = i / BATCH_STEPS, j = i % BATCH_STEPS;

            sqlite3_bind_int64(ins_metric, 1, run_pk);
            sqlite3_bind_text(ins_metric, 2, batch_keys[k], -1, SQLITE_STATIC);
            sqlite3_bind_int64(ins_metric, 3, TS_BASE + txns * 1000 + i);
            sqlite3_bind_int64(ins_metric, 4,
                               STEP_BASE + txns * BATCH_STEPS + j);
            sqlite3_bind_double(ins_metric, 5, 0.5 + j * 0.001);
            if (sqlite3_step(ins_metric) != SQLITE_DONE) {
                fprintf(stderr, "raw: insert: %s\n", sqlite3_errmsg(db));
                goto out;
            }
            sqlite3_reset(ins_metric);
        }
        if (sql_exec(db, "COMMIT") != 0) {
            goto out;
        }
        rows += n_points;
        txns++;
    } while (bh_now_ns() < end);
    rate = (double)rows / ((double)(bh_now_ns() - start) / 1e9);
    printf("raw sqlite: %lld rows in %lld transactions, %.0f rows/s"
           " (WAL, synchronous=FULL, INSERT OR IGNORE, %d rows/txn)\n",
           rows, txns, rate, n_points);
out:
    sqlite3_finalize(ins_run);
    sqlite3_finalize(ins_metric);
    sqlite3_close(db);
    free(schema);
    unlink(path);
    unlink(wal);
    unlink(shm);
    return rate;
}

/*---- Server helpers ----*/

/* Creates a run in experiment "0"; writes its 32-char id. 0 or -1. */
static int run_create(const struct opts *o, char id[RUN_ID_LEN + 1])
{
    static const char body[] = "{\"experiment_id\":\"0\"}";
    struct bh_buf req = {0}, resp = {0};
    char err[256] = "";
    cJSON *root = NULL, *rid;
    int status, rc = -1;

    bh_request_post(&req, "/api/2.0/mlflow/runs/create", body, sizeof body - 1);
    status = bh_once(o->host, o->port, &req, &resp, err, sizeof err);
    if (status != 200) {
        fprintf(stderr, "runs/create: status %d %s %.300s\n", status, err,
                resp.p ? resp.p : "");
        goto out;
    }
    root = cJSON_ParseWithLength(resp.p, resp.len);
    rid = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(root, "run"), "info"),
        "run_id");
    if (!cJSON_IsString(rid) || strlen(rid->valuestring) != RUN_ID_LEN) {
        fprintf(stderr, "runs/create: no 32-char run.info.run_id in %.300s\n",
                resp.p);
        goto out;
    }
    memcpy(id, rid->valuestring, RUN_ID_LEN + 1);
    rc = 0;
out:
    cJSON_Delete(root);
    bh_buf_free(&req);
    bh_buf_free(&resp);
    return rc;
}

/*
 * Number of points get-history returns for (run, key), counted as
 * occurrences of "timestamp" in the body; -1 on error.
 */
static long long history_count(const struct opts *o, const char *run_id,
                               const char *key)
{
    struct bh_buf req = {0}, resp = {0};
    char path[256], err[256] = "";
    long long n = -1;
    int status;

    snprintf(path, sizeof path,
             "/api/2.0/mlflow/metrics/get-history?run_id=%s&metric_key=%s",
             run_id, key);
    bh_request_get(&req, path);
    status = bh_once(o->host, o->port, &req, &resp, err, sizeof err);
    if (status == 200) {
        n = (long long)bh_count(resp.p, resp.len, "\"timestamp\"");
    } else {
        fprintf(stderr, "get-history: status %d %s\n", status, err);
    }
    bh_buf_free(&req);
    bh_buf_free(&resp);
    return n;
}

/*---- Load generation ----*/

struct load_conn {
    struct bh_buf req;
    size_t *step_off; /* offsets of fixed-width digits inside req */
    size_t *ts_off;
    int npoints;
    int64_t sent; /* requests started */
    int64_t ok;
    char run_id[RUN_ID_LEN + 1];
};

struct load {
    enum phase phase;
    int64_t duration_ns;
    int64_t start_ns; /* set by the first next(), after all connects */
    int64_t deadline_ns;
    struct load_conn *conns;
    int nconn;
    int64_t ok, bad;
    int bad_status;
    char bad_body[256];
    int64_t *lat;
    size_t nlat, cap_lat;
};

static int load_next(void *ctx, int conn, const char **req, size_t *req_len)
{
    struct load *l = ctx;
    struct load_conn *c = &l->conns[conn];
    int64_t n = c->sent, now = bh_now_ns();

    if (l->start_ns == 0) {
        l->start_ns = now;
        l->deadline_ns = now + l->duration_ns;
    }
    if (now >= l->deadline_ns) {
        return 0;
    }
    if (l->phase == PH_SINGLE) {
        bh_digits_put(c->req.p + c->step_off[0], 10, SINGLE_BASE + n);
        bh_digits_put(c->req.p + c->ts_off[0], 13, TS_BASE + n);
    } else if (l->phase == PH_BATCH) {
        for (int i = 0; i < c->npoints; i++) {
            bh_digits_put(c->req.p + c->step_off[i], 9,
                          STEP_BASE + n * BATCH_STEPS + i % BATCH_STEPS);
            bh_digits_put(c->req.p + c->ts_off[i], 13, TS_BASE + n * 1000 + i);
        }
    }
    c->sent++;
    *req = c->req.p;
    *req_len = c->req.len;
    return 1;
}

static int load_done(void *ctx, int conn, const struct bh_resp *resp,
                     int64_t latency_ns)
{
    struct load *l = ctx;

    if (resp->status != 200) {
        if (l->bad++ == 0) {
            l->bad_status = resp->status;
            snprintf(l->bad_body, sizeof l->bad_body, "%.*s",
                     (int)(resp->body_len < 200 ? resp->body_len : 200),
                     resp->body);
        }
        return 0;
    }
    l->ok++;
    l->conns[conn].ok++;
    if (l->nlat == l->cap_lat) {
        size_t cap = l->cap_lat ? l->cap_lat * 2 : 65536;
        int64_t *p = realloc(l->lat, cap * sizeof *p);

        if (p == NULL) {
            return 1;
        }
        l->lat = p;
        l->cap_lat = cap;
    }
    l->lat[l->nlat++] = latency_ns;
    return 0;
}

/*
 * Builds connection c's request template: a run of its own, a body whose
 * step and timestamp numbers have fixed widths, and the digit offsets; for
 * PH_SEARCH only the fixed runs/search request.
 */
static int conn_build(const struct opts *o, enum phase ph, struct load_conn *c)
{
    struct bh_buf body = {0};
    int single = ph == PH_SINGLE;
    size_t hdr;
    int rc = -1;

    if (ph == PH_SEARCH) {
        return bh_request_post(&c->req, "/api/2.0/mlflow/runs/search",
                               o->search_body, strlen(o->search_body));
    }
    if (run_create(o, c->run_id) != 0) {
        return -1;
    }
    c->npoints = single ? 1 : BATCH_POINTS;
    c->step_off = calloc((size_t)c->npoints, sizeof *c->step_off);
    c->ts_off = calloc((size_t)c->npoints, sizeof *c->ts_off);
    if (c->step_off == NULL || c->ts_off == NULL) {
        goto out;
    }
    if (single) {
        bh_buf_printf(&body,
                      "{\"run_id\":\"%s\",\"key\":\"m\",\"value\":0.25,"
                      "\"timestamp\":",
                      c->run_id);
        c->ts_off[0] = body.len;
        bh_buf_printf(&body, "%lld,\"step\":", TS_BASE);
        c->step_off[0] = body.len;
        bh_buf_printf(&body, "%lld}", SINGLE_BASE);
    } else {
        bh_buf_printf(&body, "{\"run_id\":\"%s\",\"metrics\":[", c->run_id);
        for (int i = 0; i < BATCH_POINTS; i++) {
            int k = i / BATCH_STEPS, j = i % BATCH_STEPS;

            bh_buf_printf(&body,
                          "%s{\"key\":\"%s\",\"value\":%.3f,\"timestamp\":",
                          i ? "," : "", batch_keys[k], 0.5 + j * 0.001);
            c->ts_off[i] = body.len;
            bh_buf_printf(&body, "%lld,\"step\":", TS_BASE);
            c->step_off[i] = body.len;
            bh_buf_printf(&body, "%lld}", STEP_BASE);
        }
        bh_buf_printf(&body, "]}");
    }
    if (body.p == NULL ||
        bh_request_post(&c->req,
                        single ? "/api/2.0/mlflow/runs/log-metric"
                               : "/api/2.0/mlflow/runs/log-batch",
                        body.p, body.len) != 0) {
        goto out;
    }
    hdr = c->req.len - body.len;
    for (int i = 0; i < c->npoints; i++) {
        c->step_off[i] += hdr;
        c->ts_off[i] += hdr;
    }
    rc = 0;
out:
    bh_buf_free(&body);
    return rc;
}

static void load_free(struct load *l)
{
    for (int i = 0; i < l->nconn; i++) {
        bh_buf_free(&l->conns[i].req);
        free(l->conns[i].step_off);
        free(l->conns[i].ts_off);
    }
    free(l->conns);
    free(l->lat);
}

struct load_stats {
    double rate; /* requests/s */
    double p50_ms, p99_ms;
    double server_cpu, client_cpu; /* in cores */
    long rss_kb;
};

/*
 * Runs one load phase for o->seconds and checks that the server stored every
 * acknowledged point of the first connection's run. Returns 0, or -1 when a
 * request failed or the check did not hold (the cause is printed).
 */
static int load_run(const struct opts *o, enum phase ph, struct load_stats *st)
{
    static const struct bh_ops ops = {load_next, load_done};
    struct load l;
    char err[256] = "";
    int64_t t0, t1;
    double srv0, cli0, secs;
    int rc;

    memset(&l, 0, sizeof l);
    memset(st, 0, sizeof *st);
    l.phase = ph;
    l.nconn = ph == PH_SINGLE  ? o->single_conns
              : ph == PH_BATCH ? o->batch_conns
                               : o->search_conns;
    l.conns = calloc((size_t)l.nconn, sizeof *l.conns);
    if (l.conns == NULL) {
        return -1;
    }
    for (int i = 0; i < l.nconn; i++) {
        if (conn_build(o, ph, &l.conns[i]) != 0) {
            load_free(&l);
            return -1;
        }
    }
    srv0 = bh_proc_cpu_s(o->pid);
    cli0 = bh_self_cpu_s();
    l.duration_ns = (int64_t)(o->seconds * 1e9);
    rc = bh_run_ports(o->host, o->ports, o->nports, l.nconn, &ops, &l, 30.0,
                      err, sizeof err);
    t1 = bh_now_ns();
    t0 = l.start_ns ? l.start_ns : t1 - 1;
    secs = (double)(t1 - t0) / 1e9;
    st->client_cpu = (bh_self_cpu_s() - cli0) / secs;
    st->server_cpu = o->pid > 0 ? (bh_proc_cpu_s(o->pid) - srv0) / secs : -1;
    st->rss_kb = bh_proc_rss_kb(o->pid);
    st->rate = (double)l.ok / secs;
    qsort(l.lat, l.nlat, sizeof *l.lat, cmp_i64);
    st->p50_ms = bh_pct_ms(l.lat, l.nlat, 0.50);
    st->p99_ms = bh_pct_ms(l.lat, l.nlat, 0.99);
    if (rc != 0) {
        fprintf(stderr, "%s: transport error: %s\n", phase_names[ph], err);
    }
    if (rc == 0 && l.ok == 0) {
        fprintf(stderr, "%s: no request completed\n", phase_names[ph]);
        rc = -1;
    }
    if (l.bad > 0) {
        fprintf(stderr, "%s: %lld requests answered non-200 (first: %d %s)\n",
                phase_names[ph], (long long)l.bad, l.bad_status, l.bad_body);
        rc = -1;
    }
    if (rc == 0 && o->verify && ph != PH_SEARCH) {
        int single = ph == PH_SINGLE;
        long long want = l.conns[0].ok * (single ? 1 : BATCH_STEPS);
        long long got =
            history_count(o, l.conns[0].run_id, single ? "m" : batch_keys[0]);

        if (got != want) {
            fprintf(stderr,
                    "%s: get-history of run %s returned %lld points, %lld"
                    " were acknowledged\n",
                    single ? "single" : "batch", l.conns[0].run_id, got, want);
            rc = -1;
        }
    }
    load_free(&l);
    return rc == 0 ? 0 : -1;
}

/*---- Main ----*/

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_ingest [--mode all|raw|batch|single|search]"
            " [--host IP]\n"
            "  [--port N | --ports N,N,..]"
            " [--search-conns 4 --search-body JSON]\n"
            "  [--pid SERVER_PID] [--seconds S] [--raw-seconds S] [--smoke]\n"
            "  [--schema schema/sqlite/001_tracking.sql] [--tmpdir DIR]"
            " [--batch-conns 4]\n"
            "  [--single-conns 16] [--no-verify]\n");
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    const char *env = getenv("GREENTRACK_SCHEMA");

    o->host = "127.0.0.1";
    o->port = 0;
    o->pid = 0;
    o->seconds = 5.0;
    o->raw_seconds = 4.0;
    o->mode = "all";
    o->schema = env ? env : "schema/sqlite/001_tracking.sql";
    o->tmpdir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    o->batch_conns = 4;
    o->single_conns = 16;
    o->search_conns = 4;
    o->search_body = NULL;
    o->verify = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;

        if (strcmp(a, "--smoke") == 0) {
            o->seconds = 0.5;
            o->raw_seconds = 0.5;
            continue;
        }
        if (strcmp(a, "--no-verify") == 0) {
            o->verify = 0;
            continue;
        }
        if (v == NULL) {
            return -1;
        }
        i++;
        if (strcmp(a, "--mode") == 0) {
            o->mode = v;
        } else if (strcmp(a, "--host") == 0) {
            o->host = v;
        } else if (strcmp(a, "--schema") == 0) {
            o->schema = v;
        } else if (strcmp(a, "--tmpdir") == 0) {
            o->tmpdir = v;
        } else if (strcmp(a, "--seconds") == 0) {
            o->seconds = strtod(v, &end);
        } else if (strcmp(a, "--raw-seconds") == 0) {
            o->raw_seconds = strtod(v, &end);
        } else if (strcmp(a, "--port") == 0) {
            o->port = (int)strtol(v, &end, 10);
            o->ports[0] = o->port;
            o->nports = 1;
        } else if (strcmp(a, "--ports") == 0) {
            const char *p = v;

            for (o->nports = 0; o->nports < MAX_PORTS; o->nports++) {
                o->ports[o->nports] = (int)strtol(p, &end, 10);
                if (end == p || o->ports[o->nports] <= 0) {
                    return -1;
                }
                if (*end != ',') {
                    o->nports++;
                    break;
                }
                p = end + 1;
            }
            o->port = o->ports[0];
        } else if (strcmp(a, "--search-body") == 0) {
            o->search_body = v;
        } else if (strcmp(a, "--search-conns") == 0) {
            o->search_conns = (int)strtol(v, &end, 10);
        } else if (strcmp(a, "--pid") == 0) {
            o->pid = (int)strtol(v, &end, 10);
        } else if (strcmp(a, "--batch-conns") == 0) {
            o->batch_conns = (int)strtol(v, &end, 10);
        } else if (strcmp(a, "--single-conns") == 0) {
            o->single_conns = (int)strtol(v, &end, 10);
        } else {
            return -1;
        }
        if (end != NULL && (*end != '\0' || end == v)) {
            return -1;
        }
    }
    if (o->seconds <= 0 || o->raw_seconds <= 0 || o->batch_conns < 1 ||
        o->single_conns < 1 || o->search_conns < 1) {
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o;
    int do_raw, do_batch, do_single, do_search;
    double raw = -1, raw_single = -1;
    struct load_stats b, s, q;

    if (parse_args(argc, argv, &o) != 0) {
        usage();
        return 2;
    }
    do_raw = strcmp(o.mode, "all") == 0 || strcmp(o.mode, "raw") == 0;
    do_batch = strcmp(o.mode, "all") == 0 || strcmp(o.mode, "batch") == 0;
    do_single = strcmp(o.mode, "all") == 0 || strcmp(o.mode, "single") == 0;
    do_search = strcmp(o.mode, "search") == 0;
    if ((do_batch || do_single || do_search) && o.port <= 0) {
        fprintf(stderr, "bench_ingest: --port is required for server modes\n");
        return 2;
    }
    if (do_search && o.search_body == NULL) {
        fprintf(stderr, "bench_ingest: --mode search needs --search-body\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (do_raw) {
        raw = raw_bench(&o, BATCH_POINTS, o.raw_seconds);
        if (raw < 0) {
            return 2;
        }
        report("ingest.raw_sqlite_rows_per_s", raw, NULL, -1);
        /* The limit for writes that each must be durable on their own:
         * one row per transaction, one fsync each. */
        raw_single = raw_bench(&o, 1, o.raw_seconds / 2);
        if (raw_single < 0) {
            return 2;
        }
        report("ingest.raw_sqlite_commits_per_s", raw_single, NULL, -1);
    }
    if (do_batch) {
        int rc = load_run(&o, PH_BATCH, &b);
        double pts = b.rate * BATCH_POINTS;

        printf("batch: %d conns, %.0f points/s (%.0f req/s of 1000 points),"
               " p50 %.2f ms, p99 %.2f ms, server CPU %.2f cores, client"
               " CPU %.2f cores, server RSS %ld KiB\n",
               o.batch_conns, pts, b.rate, b.p50_ms, b.p99_ms, b.server_cpu,
               b.client_cpu, b.rss_kb);
        report("ingest.batch_points_per_s", pts, NULL, -1);
        report("ingest.batch_p99_ms", b.p99_ms, NULL, -1);
        if (raw > 0) {
            report("ingest.batch_vs_raw", pts / raw, ">=0.7", pts / raw >= 0.7);
        }
        if (rc != 0) {
            failed = 1;
        }
    }
    if (do_single) {
        int rc = load_run(&o, PH_SINGLE, &s);

        printf("single: %d conns, %.0f req/s, p50 %.3f ms, p99 %.3f ms,"
               " server CPU %.2f cores, client CPU %.2f cores, server RSS"
               " %ld KiB\n",
               o.single_conns, s.rate, s.p50_ms, s.p99_ms, s.server_cpu,
               s.client_cpu, s.rss_kb);
        report("ingest.single_req_per_s", s.rate, ">=30000", s.rate >= 30000);
        if (raw_single > 0) {
            report("ingest.single_vs_raw_commits", s.rate / raw_single, NULL,
                   -1);
        }
        report("ingest.single_p50_ms", s.p50_ms, NULL, -1);
        report("ingest.single_p99_ms", s.p99_ms, "<=2", s.p99_ms <= 2.0);
        if (rc != 0) {
            failed = 1;
        }
    }
    if (do_search) {
        int rc = load_run(&o, PH_SEARCH, &q);

        printf("search: %d conns over %d server(s), %.0f req/s, p50 %.3f ms,"
               " p99 %.3f ms, server CPU %.2f cores (first server)\n",
               o.search_conns, o.nports, q.rate, q.p50_ms, q.p99_ms,
               q.server_cpu);
        report("search.req_per_s", q.rate, NULL, -1);
        report("search.p50_ms", q.p50_ms, NULL, -1);
        if (rc != 0) {
            failed = 1;
        }
    }
    if (failed) {
        printf("bench_ingest: FAILED (see errors above)\n");
    }
    return failed ? 1 : 0;
}
