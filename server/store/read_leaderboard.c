/* SPDX-License-Identifier: MIT
 *
 * read_leaderboard: an experiment's leaderboard rows (metric, CO2, energy
 * of each active run) and the summaries of all experiments (runs, energy,
 * CO2, last activity), whole or in chunks.
 */
#include "dialect.h"
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
 * has_model, then the metric's value and is_nan, the CO2's value and
 * is_nan, the energy's value and is_nan (each pair NULL when the run has
 * no such key) and run_energy's estimated (0 when the run has none). */
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
    if (db_column_type(s, 8) != DB_NULL) {
        r->metric = db_column_double(s, 7);
        r->has_metric = db_column_int64(s, 8) == 0;
    }
    if (db_column_type(s, 10) != DB_NULL) {
        r->has_energy = true;
        r->co2_kg = db_column_double(s, 9);
    }
    if (db_column_type(s, 12) != DB_NULL)
        r->energy_kwh = db_column_double(s, 11);
    r->estimated = db_column_int64(s, 13) > 0;
    return r->run_name ? SRV_OK : err_set(eb, SRV_E_NOMEM, "out of memory");
}

/* At most this many run_pk placeholders in one statement of
 * store_leaderboard_rows_of (well under both engines' limits). */
#define LB_PKS_PER_STMT 500

/* The leaderboard rows of an experiment, each with its metric, CO2,
 * energy and estimated flag, read by one statement (so in one read
 * transaction: one snapshot, one WAL read lock on SQLite) that joins the
 * runs to latest_metrics on its primary key (run_pk, key) for the three
 * keys and to run_energy. With 'pks' (sorted ascending), only of those
 * runs, LB_PKS_PER_STMT to a statement, in run_pk order (for patching a
 * cached view). */
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
    size_t per = pks ? (n_pks < LB_PKS_PER_STMT ? n_pks : LB_PKS_PER_STMT) : 0;
    strbuf_printf(&sql,
                  "SELECT r.run_pk, r.run_id, r.run_name, r.status, "
                  "r.start_time, r.end_time, EXISTS (SELECT 1 FROM tags "
                  "AS lm WHERE lm.run_pk = r.run_pk AND lm.key = "
                  "'mlflow.log-model.history'), lbm.value, lbm.is_nan, "
                  "lbc.value, lbc.is_nan, lbe.value, lbe.is_nan, "
                  "coalesce(lbr.estimated, 0) FROM runs AS r%s "
                  "LEFT JOIN latest_metrics AS lbm ON lbm.run_pk = r.run_pk "
                  "AND lbm.key = ? "
                  "LEFT JOIN latest_metrics AS lbc ON lbc.run_pk = r.run_pk "
                  "AND lbc.key = 'greentrack.co2_kg' "
                  "LEFT JOIN latest_metrics AS lbe ON lbe.run_pk = r.run_pk "
                  "AND lbe.key = 'greentrack.energy_kwh' "
                  "LEFT JOIN run_energy AS lbr ON lbr.run_pk = r.run_pk "
                  "WHERE r.lifecycle_stage = 'active' AND "
                  "r.experiment_id = ?%s",
                  q.joins.sql.buf ? q.joins.sql.buf : "",
                  q.where.sql.buf ? q.where.sql.buf : "");
    if (per) {
        strbuf_append_str(&sql, " AND r.run_pk IN (?");
        for (size_t i = 1; i < per; i++)
            strbuf_append_str(&sql, ", ?");
        strbuf_append_str(&sql, ") ORDER BY r.run_pk");
    }
    if (sql.oom) {
        e = err_set(eb, SRV_E_NOMEM, "out of memory");
        goto out;
    }
    if (!(s = db_prepare(store_conn_db(c), sql.buf))) {
        e = store_conn_error(c, eb, "leaderboard");
        goto out;
    }
    size_t done = 0;
    do {
        /* db_reset cleared every binding: bind them all again. */
        int pos = 1;
        store_bind_frag(s, &q.joins, &pos);
        db_bind_text(s, pos++, metric, -1);
        db_bind_int64(s, pos++, experiment_id);
        store_bind_frag(s, &q.where, &pos);
        /* the last statement's unused places repeat its last run */
        for (size_t i = 0; i < per; i++)
            db_bind_int64(s, pos++,
                          pks[done + i < n_pks ? done + i : n_pks - 1]);
        size_t got = 0;
        bool more;
        struct leaderboard_row *part =
            store_read_page(c, s, INT64_MAX, sizeof(*part),
                            leaderboard_from_row, &got, &more, &e, eb);
        db_reset(s);
        if (!*out) {
            *out = part;
            *n = got;
        } else if (!e && got) {
            struct leaderboard_row *grown =
                realloc(*out, (*n + got) * sizeof(**out));
            if (grown)
                *out = grown;
            else
                e = err_set(eb, SRV_E_NOMEM, "out of memory");
            if (!e) {
                memcpy(*out + *n, part, got * sizeof(*part));
                *n += got;
                free(part);
            } else {
                leaderboard_rows_free(part, got);
            }
        } else {
            leaderboard_rows_free(part, got);
        }
        done += per;
    } while (!e && per && done < n_pks);
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

/* One experiment's figures (S_EXP_SUMMARY) into 'x' (its name is left
 * alone); SRV_OK with *found false when it is no
 * longer active. */
static enum srv_err summary_read(struct conn *c, int64_t experiment_id,
                                 struct experiment_summary *x, bool *found,
                                 struct errbuf *eb)
{
    *found = false;
    struct db_stmt *s = store_stmt(c, S_EXP_SUMMARY);
    if (!s)
        return store_conn_error(c, eb, "experiment summary");
    db_bind_int64(s, 1, experiment_id);
    int rc = db_step(s);
    if (rc == DB_ROW) {
        *found = true;
        x->runs = db_column_int64(s, 0);
        x->running = db_column_int64(s, 1);
        x->energy_kwh = db_column_double(s, 2);
        x->co2_kg = db_column_double(s, 3);
        x->last_activity = db_column_int64(s, 4);
    }
    db_reset(s);
    return rc == DB_ROW || rc == DB_DONE
               ? SRV_OK
               : store_conn_error(c, eb, "experiment summary");
}

/* Fills 'x' (its id set) from the cache when its generation still holds,
 * else reads it and caches it at the generation read before the rows. */
static enum srv_err summary_fill(struct store *st, struct conn *c,
                                 struct experiment_summary *x,
                                 struct errbuf *eb)
{
    uint64_t gen = store_experiment_generation(st, x->experiment_id);
    struct summary_slot *slot =
        &st->summaries[(uint64_t)x->experiment_id % SUMMARY_CACHE_SLOTS];
    pthread_mutex_lock(&st->summary_mu);
    bool hit = slot->set && slot->experiment_id == x->experiment_id &&
               slot->generation == gen;
    if (hit) {
        x->runs = slot->runs;
        x->running = slot->running;
        x->energy_kwh = slot->energy_kwh;
        x->co2_kg = slot->co2_kg;
        x->last_activity = slot->last_activity;
    }
    pthread_mutex_unlock(&st->summary_mu);
    if (hit)
        return SRV_OK;
    bool found;
    enum srv_err e = summary_read(c, x->experiment_id, x, &found, eb);
    if (e || !found)
        return e; /* deleted since it was listed: zeros this once */
    pthread_mutex_lock(&st->summary_mu);
    *slot = (struct summary_slot){
        true,       x->experiment_id, gen,           x->runs,
        x->running, x->last_activity, x->energy_kwh, x->co2_kg};
    pthread_mutex_unlock(&st->summary_mu);
    return SRV_OK;
}

static enum srv_err summary_head_from_row(struct db_stmt *s, void *item,
                                          struct errbuf *eb)
{
    struct experiment_summary *x = item;
    x->experiment_id = db_column_int64(s, 0);
    x->name = store_col_dup(s, 1);
    return x->name ? SRV_OK : err_set(eb, SRV_E_NOMEM, "out of memory");
}

/* The active experiments of the chunk are listed (ids and names, from
 * experiments alone), then each one's figures come from the summary cache
 * or, for an experiment changed since (its generation moved), from its
 * runs: a summary over all experiments reads the runs of those that
 * changed only, not every run of the database. */
enum srv_err store_summaries_chunk(struct store *st, int64_t after_id,
                                   size_t max_rows,
                                   struct experiment_summary **out, size_t *n,
                                   bool *end, struct errbuf *eb)
{
    static const char list_sql[] =
        "SELECT experiment_id, name FROM experiments "
        "WHERE lifecycle_stage = 'active' AND experiment_id > ?1 "
        "ORDER BY experiment_id LIMIT ?2";
    *out = NULL;
    *n = 0;
    *end = true;
    store_sync_generations(st); /* PostgreSQL: other servers' commits */
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    struct db_stmt *s = db_prepare(store_conn_db(c), list_sql);
    if (!s)
        return store_conn_error(c, eb, "experiment summary");
    db_bind_int64(s, 1, after_id);
    db_bind_int64(s, 2, (int64_t)max_rows + 1);
    enum srv_err e;
    bool more;
    *out = store_read_page(c, s, (int64_t)max_rows, sizeof(**out),
                           summary_head_from_row, n, &more, &e, eb);
    db_finalize(s);
    *end = !more;
    for (size_t i = 0; i < *n && !e; i++)
        e = summary_fill(st, c, &(*out)[i], eb);
    if (e) {
        experiment_summaries_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}
