/* SPDX-License-Identifier: MIT */
/*
 * bench_pg_raw: the raw PostgreSQL baselines of tests/bench/bench_pg.py,
 * through libpq on a database that already holds greentrack's schema (a
 * server started once on it has migrated it).
 *   batch  N connections (default 4), each in a loop: BEGIN, a new runs row
 *          (RETURNING run_pk), ONE multi-row INSERT of the rows a log-batch
 *          request carries (4 keys x 250 steps, distinct timestamps; the
 *          server's ON CONFLICT DO NOTHING), COMMIT. Rows/s.
 *   single N connections (default 16), each a run of its own and then a
 *          single-row INSERT per request in autocommit (one COMMIT each).
 *          Rows/s.
 * One thread per connection (libpq's blocking calls). Statements are
 * prepared once per connection, as the server prepares its own.
 * Prints "RESULT name value target meets" lines like the other benches.
 * Exit 0; 1 when a statement failed; 2 on a usage or setup error.
 */
#include "bench_http.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_KEYS 4
#define BATCH_STEPS 250
#define BATCH_POINTS (BATCH_KEYS * BATCH_STEPS)
#define TS_BASE 1700000000000LL

static const char *const batch_keys[BATCH_KEYS] = {"loss", "acc", "lr",
                                                   "grad_norm"};

struct opts {
    const char *url;
    const char *mode;
    double seconds;
    int batch_conns;
    int single_conns;
};

struct worker {
    const struct opts *o;
    int idx;
    int single;
    int64_t deadline_ns;
    long long rows;
    int failed;
    pthread_t th;
};

static atomic_int go; /* set once every worker has connected and prepared */
static atomic_int ready;

static void report(const char *name, double value)
{
    printf("RESULT %s %.*f - -\n", name, value >= 1000 ? 0 : 3, value);
}

/* Runs a statement without parameters; 0, or -1 (message printed). */
static int exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : -1;

    if (rc != 0) {
        fprintf(stderr, "pg raw: %s: %s", sql, PQerrorMessage(c));
    }
    PQclear(r);
    return rc;
}

static int prepare_ok(PGconn *c, const char *name, const char *sql)
{
    PGresult *r = PQprepare(c, name, sql, 0, NULL);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;

    if (rc != 0) {
        fprintf(stderr, "pg raw: prepare %s: %s", name, PQerrorMessage(c));
    }
    PQclear(r);
    return rc;
}

/* "INSERT INTO metrics ... VALUES ($1,$2,$3,$4,$5,0), ..." for n rows; the
 * run_pk is $1 in every row, each row's key, timestamp, step and value are
 * four parameters of their own. Caller frees. */
static char *multi_insert_sql(int n)
{
    struct bh_buf b = {0};

    bh_buf_printf(&b, "INSERT INTO metrics (run_pk, key, timestamp, step,"
                      " value, is_nan) VALUES ");
    for (int i = 0; i < n; i++) {
        int p = 2 + 4 * i;

        bh_buf_printf(&b, "%s($1,$%d,$%d,$%d,$%d,0)", i ? "," : "", p, p + 1,
                      p + 2, p + 3);
    }
    bh_buf_printf(&b, " ON CONFLICT DO NOTHING");
    return b.p;
}

/* Inserts a runs row with a run id unique to (phase, worker, n); its run_pk as
 * text in pk (32 bytes), or -1. */
static int run_insert(PGconn *c, const struct worker *w, long long n,
                      char pk[32])
{
    char run_id[40];
    const char *v[1] = {run_id};
    PGresult *r;
    int rc = -1;

    snprintf(run_id, sizeof run_id, "%08x%04x%04x%016llx", (unsigned)getpid(),
             (unsigned)w->single, (unsigned)w->idx, n);
    r = PQexecPrepared(c, "run", 1, v, NULL, NULL, 0);
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
        snprintf(pk, 32, "%s", PQgetvalue(r, 0, 0));
        rc = 0;
    } else {
        fprintf(stderr, "pg raw: run insert: %s", PQerrorMessage(c));
    }
    PQclear(r);
    return rc;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    PGconn *c = PQconnectdb(w->o->url);
    int nparams = w->single ? 5 : 1 + 4 * BATCH_POINTS;
    char(*text)[32] = calloc((size_t)nparams, sizeof *text);
    const char **v = calloc((size_t)nparams, sizeof *v);
    char *sql = NULL, pk[32];
    long long n = 0;

    if (PQstatus(c) != CONNECTION_OK || text == NULL || v == NULL) {
        fprintf(stderr, "pg raw: connect: %s", PQerrorMessage(c));
        goto fail;
    }
    for (int i = 0; i < nparams; i++) {
        v[i] = text[i];
    }
    sql = multi_insert_sql(w->single ? 1 : BATCH_POINTS);
    if (sql == NULL ||
        prepare_ok(c, "run",
                   "INSERT INTO runs (run_id, experiment_id, start_time,"
                   " artifact_uri) VALUES ($1, 0, 1700000000000,"
                   " '/tmp/a/0/r/artifacts') RETURNING run_pk") != 0 ||
        prepare_ok(c, "metrics", sql) != 0) {
        goto fail;
    }
    if (w->single && run_insert(c, w, 0, pk) != 0) {
        goto fail;
    }
    atomic_fetch_add(&ready, 1);
    while (!atomic_load(&go)) {
        struct timespec ts = {0, 1000000};

        nanosleep(&ts, NULL);
    }
    do {
        PGresult *r;

        if (w->single) {
            /* one point: key, timestamp, step, value; autocommit */
            snprintf(text[0], 32, "%s", pk);
            snprintf(text[1], 32, "m");
            snprintf(text[2], 32, "%lld", TS_BASE + n);
            snprintf(text[3], 32, "%lld", n);
            snprintf(text[4], 32, "0.25");
        } else {
            if (exec_ok(c, "BEGIN") != 0 || run_insert(c, w, n, pk) != 0) {
                goto fail;
            }
            snprintf(text[0], 32, "%s", pk);
            for (int i = 0; i < BATCH_POINTS; i++) {
                int k = i / BATCH_STEPS, j = i % BATCH_STEPS;
                char(*row)[32] = text + 1 + 4 * i;

                snprintf(row[0], 32, "%s", batch_keys[k]);
                snprintf(row[1], 32, "%lld", TS_BASE + n * 1000 + i);
                snprintf(row[2], 32, "%lld", n * BATCH_STEPS + j);
                snprintf(row[3], 32, "%.3f", 0.5 + j * 0.001);
            }
        }
        r = PQexecPrepared(c, "metrics", nparams, v, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            fprintf(stderr, "pg raw: metrics insert: %s", PQerrorMessage(c));
            PQclear(r);
            goto fail;
        }
        PQclear(r);
        if (!w->single && exec_ok(c, "COMMIT") != 0) {
            goto fail;
        }
        w->rows += w->single ? 1 : BATCH_POINTS;
        n++;
    } while (bh_now_ns() < w->deadline_ns);
    goto out;
fail:
    w->failed = 1;
    atomic_fetch_add(&ready, 1);
out:
    free(sql);
    free(text);
    free(v);
    PQfinish(c);
    return NULL;
}

/* Runs one phase; rows/s, or -1 when a connection failed. */
static double phase(const struct opts *o, int single)
{
    int n = single ? o->single_conns : o->batch_conns, failed = 0;
    struct worker *ws = calloc((size_t)n, sizeof *ws);
    long long rows = 0;
    int64_t t0, t1;

    if (ws == NULL) {
        return -1;
    }
    atomic_store(&go, 0);
    atomic_store(&ready, 0);
    for (int i = 0; i < n; i++) {
        ws[i].o = o;
        ws[i].idx = i;
        ws[i].single = single;
        ws[i].deadline_ns = INT64_MAX;
        if (pthread_create(&ws[i].th, NULL, worker_main, &ws[i]) != 0) {
            fprintf(stderr, "pg raw: pthread_create failed\n");
            exit(2);
        }
    }
    while (atomic_load(&ready) < n) {
        struct timespec ts = {0, 1000000};

        nanosleep(&ts, NULL);
    }
    t0 = bh_now_ns();
    for (int i = 0; i < n; i++) {
        ws[i].deadline_ns = t0 + (int64_t)(o->seconds * 1e9);
    }
    atomic_store(&go, 1);
    for (int i = 0; i < n; i++) {
        pthread_join(ws[i].th, NULL);
        rows += ws[i].rows;
        failed |= ws[i].failed;
    }
    t1 = bh_now_ns();
    free(ws);
    if (failed) {
        return -1;
    }
    return (double)rows / ((double)(t1 - t0) / 1e9);
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_pg_raw --url postgresql://... [--mode"
                    " all|batch|single]\n"
                    "  [--seconds S] [--batch-conns 4] [--single-conns 16]"
                    " [--smoke]\n");
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    memset(o, 0, sizeof *o);
    o->mode = "all";
    o->seconds = 4.0;
    o->batch_conns = 4;
    o->single_conns = 16;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;

        if (strcmp(a, "--smoke") == 0) {
            o->seconds = 0.3;
            continue;
        }
        if (v == NULL) {
            return -1;
        }
        i++;
        if (strcmp(a, "--url") == 0) {
            o->url = v;
        } else if (strcmp(a, "--mode") == 0) {
            o->mode = v;
        } else if (strcmp(a, "--seconds") == 0) {
            o->seconds = strtod(v, &end);
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
    if (o->url == NULL || o->seconds <= 0 || o->batch_conns < 1 ||
        o->single_conns < 1 ||
        (strcmp(o->mode, "all") != 0 && strcmp(o->mode, "batch") != 0 &&
         strcmp(o->mode, "single") != 0)) {
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o;
    int all, failed = 0;
    PGconn *c;

    if (parse_args(argc, argv, &o) != 0) {
        usage();
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    all = strcmp(o.mode, "all") == 0;
    /* the runs rows need experiment 0, which a server creates on start */
    c = PQconnectdb(o.url);
    if (PQstatus(c) != CONNECTION_OK ||
        exec_ok(c, "INSERT INTO experiments (experiment_id, name,"
                   " artifact_location, creation_time, last_update_time)"
                   " VALUES (0, 'Default', '/tmp/a/0', 0, 0)"
                   " ON CONFLICT DO NOTHING") != 0) {
        fprintf(stderr, "bench_pg_raw: setup on the database failed: %s",
                PQerrorMessage(c));
        PQfinish(c);
        return 2;
    }
    PQfinish(c);
    if (all || strcmp(o.mode, "batch") == 0) {
        double r = phase(&o, 0);

        if (r < 0) {
            failed = 1;
        } else {
            printf("raw pg batch: %d conns, %.0f rows/s (BEGIN, runs row,"
                   " one %d-row INSERT, COMMIT)\n",
                   o.batch_conns, r, BATCH_POINTS);
            report("pg.raw_batch_rows_per_s", r);
        }
    }
    if (all || strcmp(o.mode, "single") == 0) {
        double r = phase(&o, 1);

        if (r < 0) {
            failed = 1;
        } else {
            printf("raw pg single: %d conns, %.0f rows/s (one INSERT per"
                   " commit, autocommit)\n",
                   o.single_conns, r);
            report("pg.raw_single_rows_per_s", r);
        }
    }
    if (failed) {
        printf("bench_pg_raw: FAILED (see errors above)\n");
    }
    return failed ? 1 : 0;
}
