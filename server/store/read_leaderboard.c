/* SPDX-License-Identifier: MIT
 *
 * read_leaderboard: an experiment's leaderboard rows (metric, CO2, energy
 * of each active run) and the summaries of all experiments (runs, energy,
 * CO2, last activity), whole or in chunks.
 */
#include "internal.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void leaderboard_rows_free(struct leaderboard_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(rows[i].run_name);
    free(rows);
}

/* Columns: run_pk, run_id, run_name, status, start_time, end_time,
 * has_model. */
static enum srv_err leaderboard_from_row(struct db_stmt *s, void *item,
                                         struct errbuf *eb)
{
    struct leaderboard_row *r = item;
    r->run_pk = db_column_int64(s, 0);
    snprintf(r->run_id, sizeof(r->run_id), "%s", db_column_text(s, 1));
    r->run_name = store_col_dup(s, 2);
    int status = run_status_parse(db_column_text(s, 3));
    r->status = status < 0 ? RUN_STATUS_RUNNING : (enum run_status)status;
    r->start_time = db_column_int64(s, 4);
    r->end_time = db_column_type(s, 5) == DB_NULL ? 0 : db_column_int64(s, 5);
    r->has_model = (int)db_column_int64(s, 6) != 0;
    return r->run_name ? SRV_OK : err_set(eb, SRV_E_NOMEM, "out of memory");
}

/* run_pk -> row index, open addressing (run_pk >= 1; 0 marks empty). */
struct pk_index {
    int64_t *keys;
    size_t *rows;
    size_t mask;
};

static bool pk_index_init(struct pk_index *x, const struct leaderboard_row *r,
                          size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    x->keys = calloc(cap, sizeof(*x->keys));
    x->rows = malloc(cap * sizeof(*x->rows));
    x->mask = cap - 1;
    if (!x->keys || !x->rows)
        return false;
    for (size_t i = 0; i < n; i++) {
        size_t h = (size_t)r[i].run_pk * 0x9E3779B97F4A7C15ull & x->mask;
        while (x->keys[h])
            h = (h + 1) & x->mask;
        x->keys[h] = r[i].run_pk;
        x->rows[h] = i;
    }
    return true;
}

static struct leaderboard_row *pk_find(const struct pk_index *x,
                                       struct leaderboard_row *r, int64_t pk)
{
    size_t h = (size_t)pk * 0x9E3779B97F4A7C15ull & x->mask;
    while (x->keys[h]) {
        if (x->keys[h] == pk)
            return &r[x->rows[h]];
        h = (h + 1) & x->mask;
    }
    return NULL;
}

enum lb_field { LB_METRIC, LB_CO2, LB_ENERGY };

static void lb_set(struct leaderboard_row *r, enum lb_field f, double v,
                   bool is_nan)
{
    switch (f) {
    case LB_METRIC:
        r->has_metric = !is_nan;
        r->metric = v;
        break;
    case LB_CO2:
        r->has_energy = true;
        r->co2_kg = v;
        break;
    case LB_ENERGY:
        r->energy_kwh = v;
        break;
    }
}

/* Fills metric, CO2, energy and the estimated flag of the rows. An
 * experiment holding a good share of all runs reads each key in one scan
 * of the (key, ...) index and joins in memory, several times faster than
 * a lookup per run; a small one is looked up run by run. */
static enum srv_err lb_fill(struct conn *c, const char *metric,
                            struct leaderboard_row *rows, size_t n,
                            struct errbuf *eb)
{
    const char *keys[] = {metric, "greentrack.co2_kg", "greentrack.energy_kwh"};
    struct db_stmt *s = NULL;
    int64_t total = 0;
    if (!(s = db_prepare(store_conn_db(c), "SELECT max(run_pk) FROM runs")))
        return store_conn_error(c, eb, "leaderboard");
    if (db_step(s) == DB_ROW)
        total = db_column_int64(s, 0);
    db_finalize(s);
    if ((int64_t)n * 8 < total) {
        for (size_t i = 0; i < n; i++) {
            for (int f = LB_METRIC; f <= LB_ENERGY; f++) {
                struct db_stmt *q = store_stmt(c, S_LATEST_ONE);
                if (!q)
                    return store_conn_error(c, eb, "leaderboard");
                db_bind_int64(q, 1, rows[i].run_pk);
                db_bind_text(q, 2, keys[f], -1);
                if (db_step(q) == DB_ROW)
                    lb_set(&rows[i], (enum lb_field)f, db_column_double(q, 0),
                           (int)db_column_int64(q, 1) != 0);
                db_reset(q);
            }
            struct db_stmt *q = store_stmt(c, S_RUN_ESTIMATED);
            if (!q)
                return store_conn_error(c, eb, "leaderboard");
            db_bind_int64(q, 1, rows[i].run_pk);
            if (db_step(q) == DB_ROW)
                rows[i].estimated = db_column_int64(q, 0) > 0;
            db_reset(q);
        }
        return SRV_OK;
    }
    struct pk_index x;
    enum srv_err e = SRV_OK;
    if (!pk_index_init(&x, rows, n)) {
        e = err_set(eb, SRV_E_NOMEM, "out of memory");
        goto out;
    }
    for (int f = LB_METRIC; f <= LB_ENERGY && !e; f++) {
        struct db_stmt *q = store_stmt(c, S_LATEST_BY_KEY);
        if (!q) {
            e = store_conn_error(c, eb, "leaderboard");
            break;
        }
        db_bind_text(q, 1, keys[f], -1);
        int rc;
        while ((rc = db_step(q)) == DB_ROW) {
            struct leaderboard_row *r =
                pk_find(&x, rows, db_column_int64(q, 0));
            if (r)
                lb_set(r, (enum lb_field)f, db_column_double(q, 1),
                       (int)db_column_int64(q, 2) != 0);
        }
        db_reset(q);
        if (rc != DB_DONE)
            e = store_conn_error(c, eb, "leaderboard");
    }
    struct db_stmt *q = e ? NULL : store_stmt(c, S_ALL_ESTIMATED);
    if (!e && !q)
        e = store_conn_error(c, eb, "leaderboard");
    if (q) {
        while (db_step(q) == DB_ROW) {
            struct leaderboard_row *r =
                pk_find(&x, rows, db_column_int64(q, 0));
            if (r)
                r->estimated = true;
        }
        db_reset(q);
    }
out:
    free(x.keys);
    free(x.rows);
    return e;
}

/* The leaderboard rows of an experiment; with 'pks', only of those runs
 * (one indexed query each, for patching a cached view). */
static enum srv_err leaderboard_rows(struct store *st, int64_t experiment_id,
                                     const char *metric, const char *filter,
                                     const int64_t *pks, size_t n_pks,
                                     struct leaderboard_row **out, size_t *n,
                                     struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    struct search_sql q;
    search_sql_init(&q);
    enum srv_err e = filter_build_runs(filter, NULL, 0, &q, eb);
    struct conn *c = e ? NULL : store_reader(st, eb);
    struct strbuf sql;
    strbuf_init(&sql);
    struct db_stmt *s = NULL;
    if (e || !c) {
        e = e ? e : SRV_E_UNAVAILABLE;
        goto out;
    }
    strbuf_printf(&sql,
                  "SELECT r.run_pk, r.run_id, r.run_name, r.status, "
                  "r.start_time, r.end_time, EXISTS (SELECT 1 FROM tags "
                  "AS lm WHERE lm.run_pk = r.run_pk AND lm.key = "
                  "'mlflow.log-model.history') FROM runs AS r%s "
                  "WHERE r.lifecycle_stage = 'active' AND "
                  "r.experiment_id = ?%s%s",
                  q.joins.sql.buf ? q.joins.sql.buf : "",
                  q.where.sql.buf ? q.where.sql.buf : "",
                  pks ? " AND r.run_pk = ?" : "");
    if (sql.oom) {
        e = err_set(eb, SRV_E_NOMEM, "out of memory");
        goto out;
    }
    if (!(s = db_prepare(store_conn_db(c), sql.buf))) {
        e = store_conn_error(c, eb, "leaderboard");
        goto out;
    }
    int pos = 1;
    store_bind_frag(s, &q.joins, &pos);
    db_bind_int64(s, pos++, experiment_id);
    store_bind_frag(s, &q.where, &pos);
    bool more;
    if (!pks) {
        *out = store_read_page(c, s, INT64_MAX, sizeof(**out),
                               leaderboard_from_row, n, &more, &e, eb);
    } else {
        size_t cap = 0;
        for (size_t i = 0; i < n_pks && !e; i++) {
            /* db_reset cleared every binding: bind them all again. */
            pos = 1;
            store_bind_frag(s, &q.joins, &pos);
            db_bind_int64(s, pos++, experiment_id);
            store_bind_frag(s, &q.where, &pos);
            db_bind_int64(s, pos, pks[i]);
            size_t got = 0;
            struct leaderboard_row *one =
                store_read_page(c, s, 1, sizeof(*one), leaderboard_from_row,
                                &got, &more, &e, eb);
            db_reset(s);
            if (!e && got) {
                struct leaderboard_row *grown =
                    store_grow(*out, *n, &cap, sizeof(**out));
                if (!grown) {
                    leaderboard_rows_free(one, got);
                    e = err_set(eb, SRV_E_NOMEM, "out of memory");
                    break;
                }
                *out = grown;
                (*out)[(*n)++] = one[0];
                free(one);
            } else {
                leaderboard_rows_free(one, got);
            }
        }
    }
    if (!e && *n)
        e = lb_fill(c, metric, *out, *n, eb);
out:
    db_finalize(s);
    strbuf_cleanup(&sql);
    search_sql_cleanup(&q);
    if (e) {
        leaderboard_rows_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}

enum srv_err store_leaderboard_rows(struct store *st, int64_t experiment_id,
                                    const char *metric, const char *filter,
                                    struct leaderboard_row **out, size_t *n,
                                    struct errbuf *eb)
{
    return leaderboard_rows(st, experiment_id, metric, filter, NULL, 0, out, n,
                            eb);
}

enum srv_err store_leaderboard_rows_of(struct store *st, int64_t experiment_id,
                                       const char *metric, const char *filter,
                                       const int64_t *pks, size_t n_pks,
                                       struct leaderboard_row **out, size_t *n,
                                       struct errbuf *eb)
{
    if (n_pks == 0) {
        *out = NULL;
        *n = 0;
        return SRV_OK;
    }
    return leaderboard_rows(st, experiment_id, metric, filter, pks, n_pks, out,
                            n, eb);
}

/*---- experiment summaries ----*/

void experiment_summaries_free(struct experiment_summary *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(a[i].name);
    free(a);
}

static enum srv_err summary_from_row(struct db_stmt *s, void *item,
                                     struct errbuf *eb)
{
    struct experiment_summary *x = item;
    x->experiment_id = db_column_int64(s, 0);
    x->name = store_col_dup(s, 1);
    x->runs = db_column_int64(s, 2);
    x->running = db_column_int64(s, 3);
    x->energy_kwh = db_column_double(s, 4);
    x->co2_kg = db_column_double(s, 5);
    x->last_activity = db_column_int64(s, 6);
    return x->name ? SRV_OK : err_set(eb, SRV_E_NOMEM, "out of memory");
}

enum srv_err store_experiment_summaries(struct store *st,
                                        struct experiment_summary **out,
                                        size_t *n, struct errbuf *eb)
{
    static const char sql[] =
        "SELECT e.experiment_id, e.name, count(r.run_pk), "
        "coalesce(sum(r.status = 'RUNNING'), 0), coalesce(sum(en.value), 0), "
        "coalesce(sum(co.value), 0), max(e.last_update_time, "
        "coalesce(max(max(r.start_time, coalesce(r.end_time, 0), "
        "coalesce(en.timestamp, 0))), 0)) "
        "FROM experiments AS e "
        "LEFT JOIN runs AS r ON r.experiment_id = e.experiment_id "
        "AND r.lifecycle_stage = 'active' "
        "LEFT JOIN latest_metrics AS en ON en.run_pk = r.run_pk "
        "AND en.key = 'greentrack.energy_kwh' "
        "LEFT JOIN latest_metrics AS co ON co.run_pk = r.run_pk "
        "AND co.key = 'greentrack.co2_kg' "
        "WHERE e.lifecycle_stage = 'active' "
        "GROUP BY e.experiment_id ORDER BY e.experiment_id";
    *out = NULL;
    *n = 0;
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    struct db_stmt *s = NULL;
    if (!(s = db_prepare(store_conn_db(c), sql)))
        return store_conn_error(c, eb, "experiment summary");
    enum srv_err e;
    bool more;
    *out = store_read_page(c, s, INT64_MAX, sizeof(**out), summary_from_row, n,
                           &more, &e, eb);
    db_finalize(s);
    if (e) {
        experiment_summaries_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}

enum srv_err store_summaries_chunk(struct store *st, int64_t after_id,
                                   size_t max_rows,
                                   struct experiment_summary **out, size_t *n,
                                   bool *end, struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    *end = true;
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    struct db_stmt *s = store_stmt(c, S_CHUNK_SUMMARIES);
    if (!s)
        return store_conn_error(c, eb, "experiment summary");
    db_bind_int64(s, 1, after_id);
    db_bind_int64(s, 2, (int64_t)max_rows + 1);
    enum srv_err e;
    bool more;
    *out = store_read_page(c, s, (int64_t)max_rows, sizeof(**out),
                           summary_from_row, n, &more, &e, eb);
    db_reset(s);
    *end = !more;
    if (e) {
        experiment_summaries_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}
