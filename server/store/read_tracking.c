/* SPDX-License-Identifier: MIT
 *
 * read_tracking: the readers of experiments and runs: get by id or name,
 * search (the SQL that filter.c compiles; a page's params, tags, latest
 * metrics and inputs are read_batch.c's), the keys and datasets of an
 * experiment, the deleted runs gc purges, and the single row that a
 * streamed experiment starts with (store_experiment_info).
 */
#include "dialect.h"
#include "internal.h"
#include "strbuf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads (key, value) rows of a statement whose first bind is 'id1' and,
 * when n_binds is 2, second is 'id2'. */
static enum srv_err read_kvs(struct conn *c, enum stmt_id id, int64_t id1,
                             int64_t id2, int n_binds, struct kv **out,
                             size_t *n, struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    struct db_stmt *s = store_stmt(c, id);
    if (!s)
        return store_conn_error(c, eb, "read");
    db_bind_int64(s, 1, id1);
    if (n_binds == 2)
        db_bind_int64(s, 2, id2);
    return store_read_kvs(c, s, out, n, eb);
}

/*---- experiments ----*/

static enum srv_err exp_from_row(struct db_stmt *s, void *item,
                                 struct errbuf *eb)
{
    struct experiment *e = item;
    e->experiment_id = db_column_int64(s, 0);
    e->name = store_col_dup(s, 1);
    e->artifact_location = store_col_dup(s, 2);
    e->deleted = strcmp(db_column_text(s, 3), "deleted") == 0;
    e->creation_time = db_column_int64(s, 4);
    e->last_update_time = db_column_int64(s, 5);
    if (!e->name || !e->artifact_location)
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    return SRV_OK;
}

static enum srv_err exp_get(struct store *st, enum stmt_id id, int64_t num,
                            const char *name, struct experiment *out,
                            struct errbuf *eb)
{
    memset(out, 0, sizeof(*out));
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    struct db_stmt *s = store_stmt(c, id);
    if (!s)
        return store_conn_error(c, eb, "experiment get");
    if (name)
        db_bind_text(s, 1, name, -1);
    else
        db_bind_int64(s, 1, num);
    int rc = db_step(s);
    if (rc != DB_ROW) {
        db_reset(s);
        if (rc != DB_DONE)
            return store_conn_error(c, eb, "experiment get");
        if (name)
            return err_set(eb, SRV_E_RESOURCE_DOES_NOT_EXIST,
                           "Could not find experiment with name '%s'", name);
        return store_no_experiment(eb, num);
    }
    enum srv_err e = exp_from_row(s, out, eb);
    db_reset(s);
    if (!e)
        e = read_kvs(c, S_EXP_TAGS, out->experiment_id, 0, 1, &out->tags,
                     &out->n_tags, eb);
    if (e)
        experiment_cleanup(out);
    return e;
}

enum srv_err store_experiment_get(struct store *st, int64_t experiment_id,
                                  struct experiment *out, struct errbuf *eb)
{
    return exp_get(st, S_EXP_BY_ID, experiment_id, NULL, out, eb);
}

enum srv_err store_experiment_get_by_name(struct store *st, const char *name,
                                          struct experiment *out,
                                          struct errbuf *eb)
{
    return exp_get(st, S_EXP_BY_NAME, 0, name, out, eb);
}

/* The lifecycle condition of a view, for runs (r) or experiments (e). */
static const char *view_condition(enum view_type view, bool runs)
{
    switch (view) {
    case VIEW_ACTIVE_ONLY:
        return runs ? "r.lifecycle_stage = 'active'"
                    : "e.lifecycle_stage = 'active'";
    case VIEW_DELETED_ONLY:
        return runs ? "r.lifecycle_stage = 'deleted'"
                    : "e.lifecycle_stage = 'deleted'";
    case VIEW_ALL:
    case VIEW_COUNT:
        break;
    }
    return "TRUE";
}

/* Prepares one experiments/search page query selecting 'cols' (of
 * experiments AS e), as runs_search_prepare. */
static enum srv_err experiments_search_prepare(struct conn *c, const char *cols,
                                               const struct search_args *args,
                                               struct search_sql *qp,
                                               struct db_stmt **s,
                                               struct errbuf *eb)
{
    *s = NULL;
    enum srv_err e = filter_build_experiments(args->filter, args->order_by,
                                              args->n_order_by, qp, eb);
    if (e)
        return e;
    struct strbuf sql;
    strbuf_init(&sql);
    strbuf_printf(&sql,
                  "SELECT %s FROM experiments AS e%s WHERE %s%s ORDER BY %s "
                  "LIMIT ? OFFSET ?",
                  cols, qp->joins.sql.buf ? qp->joins.sql.buf : "",
                  view_condition(args->view, false),
                  qp->where.sql.buf ? qp->where.sql.buf : "",
                  qp->order.sql.buf ? qp->order.sql.buf : "e.experiment_id");
    if (sql.oom) {
        e = err_set(eb, SRV_E_NOMEM, "out of memory");
        goto out;
    }
    if (!(*s = db_prepare(store_conn_db(c), sql.buf))) {
        e = store_conn_error(c, eb, "experiments search");
        goto out;
    }
    int pos = 1;
    store_bind_frag(*s, &qp->joins, &pos);
    store_bind_frag(*s, &qp->where, &pos);
    store_bind_frag(*s, &qp->order, &pos);
    db_bind_int64(*s, pos++, args->max_results + 1);
    db_bind_int64(*s, pos++, args->offset);
out:
    strbuf_cleanup(&sql);
    return e;
}

enum srv_err store_experiments_search(struct store *st,
                                      const struct search_args *args,
                                      struct experiment **out, size_t *n,
                                      bool *more, struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    *more = false;
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    struct db_stmt *s;
    struct search_sql q;
    search_sql_init(&q);
    enum srv_err e = experiments_search_prepare(
        c,
        "e.experiment_id, e.name, e.artifact_location, e.lifecycle_stage, "
        "e.creation_time, e.last_update_time",
        args, &q, &s, eb);
    if (!e) {
        *out = store_read_page(c, s, args->max_results, sizeof(**out),
                               exp_from_row, n, more, &e, eb);
        for (size_t i = 0; i < *n && !e; i++)
            e = read_kvs(c, S_EXP_TAGS, (*out)[i].experiment_id, 0, 1,
                         &(*out)[i].tags, &(*out)[i].n_tags, eb);
    }
    db_finalize(s);
    search_sql_cleanup(&q);
    if (e) {
        experiments_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}

static enum srv_err read_ids(struct conn *c, struct db_stmt *s, int64_t **out,
                             size_t *n, struct errbuf *eb);

enum srv_err store_experiments_search_ids(struct store *st,
                                          const struct search_args *args,
                                          int64_t **ids, size_t *n,
                                          struct errbuf *eb)
{
    *ids = NULL;
    *n = 0;
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    struct db_stmt *s;
    struct search_sql q;
    search_sql_init(&q);
    enum srv_err e =
        experiments_search_prepare(c, "e.experiment_id", args, &q, &s, eb);
    if (!e)
        e = read_ids(c, s, ids, n, eb);
    db_finalize(s);
    search_sql_cleanup(&q);
    if (e) {
        free(*ids);
        *ids = NULL;
        *n = 0;
    }
    return e;
}

/* Columns: run_pk, run_id, experiment_id, run_name, user_id, status,
 * start_time, end_time, artifact_uri, lifecycle_stage. */
enum srv_err store_run_from_row(struct db_stmt *s, void *item,
                                struct errbuf *eb)
{
    struct run *r = item;
    r->run_pk = db_column_int64(s, 0);
    const char *id = db_column_text(s, 1);
    snprintf(r->run_id, sizeof(r->run_id), "%s", id ? id : "");
    r->experiment_id = db_column_int64(s, 2);
    r->run_name = store_col_dup(s, 3);
    r->user_id = store_col_dup(s, 4);
    int status = run_status_parse(db_column_text(s, 5));
    r->status = status < 0 ? RUN_STATUS_RUNNING : (enum run_status)status;
    r->start_time = db_column_int64(s, 6);
    r->end_time = db_column_type(s, 7) == DB_NULL ? 0 : db_column_int64(s, 7);
    r->artifact_uri = store_col_dup(s, 8);
    r->deleted = strcmp(db_column_text(s, 9), "deleted") == 0;
    if (!r->run_name || !r->user_id || !r->artifact_uri)
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    return SRV_OK;
}

enum srv_err store_run_get(struct store *st, const char *run_id,
                           struct run *out, struct errbuf *eb)
{
    memset(out, 0, sizeof(*out));
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    struct db_stmt *s = store_stmt(c, S_RUN_BY_ID);
    if (!s)
        return store_conn_error(c, eb, "run get");
    db_bind_text(s, 1, run_id, -1);
    int rc = db_step(s);
    if (rc != DB_ROW) {
        db_reset(s);
        if (rc != DB_DONE)
            return store_conn_error(c, eb, "run get");
        return err_set(eb, SRV_E_RESOURCE_DOES_NOT_EXIST,
                       "Run with id=%s not found", run_id);
    }
    enum srv_err e = store_run_from_row(s, out, eb);
    db_reset(s);
    if (!e)
        e = store_runs_fill(c, out, 1, eb);
    if (e)
        run_cleanup(out);
    return e;
}

/* Experiment ids up to this many are bound one by one; a longer list is
 * bound as one JSON array (SQLite allows 32766 bound values in all),
 * which dialect.h's D_F_JSON_IDS turns into rows. */
#define SEARCH_INLINE_IDS 100

/* Prepares one runs/search page query selecting 'cols' (of runs AS r):
 * the filter and order compiled by filter.c into 'q' (which the caller
 * initialised and cleans up after the last step: the statement's text
 * values point into it), the experiments, LIMIT max_results + 1 from
 * args->offset. '*s' is NULL when no experiment is given (nothing
 * matches). The caller finalizes '*s'. */
static enum srv_err runs_search_prepare(struct conn *c, const char *cols,
                                        const int64_t *experiment_ids,
                                        size_t n_experiments,
                                        const struct search_args *args,
                                        struct search_sql *qp,
                                        struct db_stmt **s, struct errbuf *eb)
{
    *s = NULL;
    /* one experiment: its own metric index (filter.h, one_experiment);
     * several: the walk over all of them, which stops at the LIMIT */
    if (n_experiments == 1)
        qp->one_experiment = experiment_ids[0];
    enum srv_err e = filter_build_runs(args->filter, args->order_by,
                                       args->n_order_by, qp, eb);
    if (e || n_experiments == 0)
        return e;
    bool json_ids = n_experiments > SEARCH_INLINE_IDS;
    struct strbuf sql, ids;
    strbuf_init(&sql);
    strbuf_init(&ids);
    strbuf_printf(
        &sql, "SELECT %s FROM runs AS r%s WHERE %s AND r.experiment_id IN (",
        cols, qp->joins.sql.buf ? qp->joins.sql.buf : "",
        view_condition(args->view, true));
    if (json_ids) {
        strbuf_append_str(&sql, dialect_sql(store_conn_db(c), D_F_JSON_IDS));
        strbuf_append_char(&ids, '[');
        for (size_t i = 0; i < n_experiments; i++) {
            if (i)
                strbuf_append_char(&ids, ',');
            strbuf_append_i64(&ids, experiment_ids[i]);
        }
        strbuf_append_char(&ids, ']');
    } else {
        for (size_t i = 0; i < n_experiments; i++)
            strbuf_append_str(&sql, i ? ", ?" : "?");
    }
    strbuf_printf(&sql, ")%s ORDER BY %s LIMIT ? OFFSET ?",
                  qp->where.sql.buf ? qp->where.sql.buf : "",
                  qp->order.sql.buf ? qp->order.sql.buf : "r.run_id");
    if (sql.oom || ids.oom) {
        e = err_set(eb, SRV_E_NOMEM, "out of memory");
        goto out;
    }
    if (!(*s = db_prepare(store_conn_db(c), sql.buf))) {
        e = store_conn_error(c, eb, "runs search");
        goto out;
    }
    int pos = 1;
    store_bind_frag(*s, &qp->joins, &pos);
    if (json_ids)
        db_bind_text(*s, pos++, ids.buf, (int)ids.len);
    else
        for (size_t i = 0; i < n_experiments; i++)
            db_bind_int64(*s, pos++, experiment_ids[i]);
    store_bind_frag(*s, &qp->where, &pos);
    store_bind_frag(*s, &qp->order, &pos);
    db_bind_int64(*s, pos++, args->max_results + 1);
    db_bind_int64(*s, pos++, args->offset);
out:
    strbuf_cleanup(&sql);
    strbuf_cleanup(&ids);
    return e;
}

enum srv_err store_runs_search(struct store *st, const int64_t *experiment_ids,
                               size_t n_experiments,
                               const struct search_args *args, struct run **out,
                               size_t *n, bool *more, struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    *more = false;
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    struct db_stmt *s;
    struct search_sql q;
    search_sql_init(&q);
    enum srv_err e = runs_search_prepare(
        c,
        "r.run_pk, r.run_id, r.experiment_id, r.run_name, r.user_id, "
        "r.status, r.start_time, r.end_time, r.artifact_uri, "
        "r.lifecycle_stage",
        experiment_ids, n_experiments, args, &q, &s, eb);
    if (!e && s) {
        *out = store_read_page(c, s, args->max_results, sizeof(**out),
                               store_run_from_row, n, more, &e, eb);
        if (!e)
            e = store_runs_fill(c, *out, *n, eb);
    }
    db_finalize(s);
    search_sql_cleanup(&q);
    if (e) {
        runs_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}

/* Steps 's' for one int64 column into a new array ('*out', caller frees):
 * every row. */
static enum srv_err read_ids(struct conn *c, struct db_stmt *s, int64_t **out,
                             size_t *n, struct errbuf *eb)
{
    size_t cap = 0;
    int rc;
    *out = NULL;
    *n = 0;
    while ((rc = db_step(s)) == DB_ROW) {
        int64_t *p = store_grow(*out, *n, &cap, sizeof(*p));
        if (!p)
            return err_set(eb, SRV_E_NOMEM, "out of memory");
        *out = p;
        (*out)[(*n)++] = db_column_int64(s, 0);
    }
    return rc == DB_DONE ? SRV_OK : store_conn_error(c, eb, "search");
}

enum srv_err store_runs_search_pks(struct store *st,
                                   const int64_t *experiment_ids,
                                   size_t n_experiments,
                                   const struct search_args *args,
                                   int64_t **pks, size_t *n, struct errbuf *eb)
{
    *pks = NULL;
    *n = 0;
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    struct db_stmt *s;
    struct search_sql q;
    search_sql_init(&q);
    enum srv_err e = runs_search_prepare(c, "r.run_pk", experiment_ids,
                                         n_experiments, args, &q, &s, eb);
    if (!e && s)
        e = read_ids(c, s, pks, n, eb);
    db_finalize(s);
    search_sql_cleanup(&q);
    if (e) {
        free(*pks);
        *pks = NULL;
        *n = 0;
    }
    return e;
}

static enum srv_err key_from_row(struct db_stmt *s, void *item,
                                 struct errbuf *eb)
{
    char **k = item;
    *k = store_col_dup(s, 0);
    return *k ? SRV_OK : err_set(eb, SRV_E_NOMEM, "out of memory");
}

enum srv_err store_experiment_keys(struct store *st, int64_t experiment_id,
                                   enum store_key_kind kind, char ***out,
                                   size_t *n, struct errbuf *eb)
{
    static const char *const sql[] = {
        [STORE_PARAM_KEYS] =
            "SELECT DISTINCT x.key FROM runs AS r JOIN params AS x "
            "ON x.run_pk = r.run_pk WHERE r.experiment_id = ? "
            "AND r.lifecycle_stage = 'active' ORDER BY 1",
        [STORE_METRIC_KEYS] =
            "SELECT DISTINCT x.key FROM runs AS r JOIN latest_metrics AS x "
            "ON x.run_pk = r.run_pk WHERE r.experiment_id = ? "
            "AND r.lifecycle_stage = 'active' ORDER BY 1",
        [STORE_TAG_KEYS] =
            "SELECT DISTINCT x.key FROM runs AS r JOIN tags AS x "
            "ON x.run_pk = r.run_pk WHERE r.experiment_id = ? "
            "AND r.lifecycle_stage = 'active' ORDER BY 1",
    };
    *out = NULL;
    *n = 0;
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    struct db_stmt *s = NULL;
    if (!(s = db_prepare(store_conn_db(c), sql[kind])))
        return store_conn_error(c, eb, "experiment keys");
    db_bind_int64(s, 1, experiment_id);
    enum srv_err e;
    bool more;
    *out = store_read_page(c, s, INT64_MAX, sizeof(**out), key_from_row, n,
                           &more, &e, eb);
    db_finalize(s);
    if (e) {
        for (size_t i = 0; i < *n; i++)
            free((*out)[i]);
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return e;
}

enum srv_err store_dataset_summaries(struct store *st,
                                     const int64_t *experiment_ids,
                                     size_t n_ids, struct dataset_summary **out,
                                     size_t *n, struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    if (n_ids == 0)
        return SRV_OK;
    struct strbuf sql;
    strbuf_init(&sql);
    strbuf_append_str(&sql, "SELECT DISTINCT d.experiment_id, d.name, "
                            "d.digest, t.value FROM datasets AS d "
                            "JOIN run_inputs AS i ON i.dataset_pk = "
                            "d.dataset_pk LEFT JOIN input_tags AS t "
                            "ON t.run_pk = i.run_pk AND t.dataset_pk = "
                            "i.dataset_pk AND t.key = 'mlflow.data.context' "
                            "WHERE d.experiment_id IN (");
    for (size_t i = 0; i < n_ids; i++)
        strbuf_append_str(&sql, i ? ",?" : "?");
    strbuf_append_str(&sql, ") ORDER BY 1, 2, 3, 4 LIMIT 1000");
    if (sql.oom) {
        strbuf_cleanup(&sql);
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    }
    struct conn *c = store_reader(st, eb);
    if (!c) {
        strbuf_cleanup(&sql);
        return SRV_E_UNAVAILABLE;
    }
    struct db_stmt *s = db_prepare(store_conn_db(c), sql.buf);
    strbuf_cleanup(&sql);
    if (!s)
        return store_conn_error(c, eb, "dataset summaries");
    int rc;
    for (size_t i = 0; i < n_ids; i++)
        db_bind_int64(s, (int)i + 1, experiment_ids[i]);
    enum srv_err e = SRV_OK;
    size_t cap = 0;
    while ((rc = db_step(s)) == DB_ROW) {
        struct dataset_summary *p = store_grow(*out, *n, &cap, sizeof(*p));
        if (!p) {
            e = err_set(eb, SRV_E_NOMEM, "out of memory");
            break;
        }
        *out = p;
        struct dataset_summary *d = &p[(*n)++];
        d->experiment_id = db_column_int64(s, 0);
        d->name = store_col_dup(s, 1);
        d->digest = store_col_dup(s, 2);
        d->context =
            db_column_type(s, 3) == DB_NULL ? NULL : store_col_dup(s, 3);
        if (!d->name || !d->digest ||
            (db_column_type(s, 3) != DB_NULL && !d->context)) {
            e = err_set(eb, SRV_E_NOMEM, "out of memory");
            break;
        }
    }
    if (!e && rc != DB_ROW && rc != DB_DONE)
        e = store_conn_error(c, eb, "dataset summaries");
    db_finalize(s);
    if (e) {
        dataset_summaries_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}

void dataset_summaries_free(struct dataset_summary *a, size_t n)
{
    for (size_t i = 0; a && i < n; i++) {
        free(a[i].name);
        free(a[i].digest);
        free(a[i].context);
    }
    free(a);
}

/*---- gc ----*/

void deleted_runs_free(struct deleted_run *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(a[i].run_id);
        free(a[i].artifact_uri);
    }
    free(a);
}

enum srv_err store_deleted_runs(struct store *st, int64_t deleted_before,
                                struct deleted_run **out, size_t *n,
                                struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    struct db_stmt *s = NULL;
    if (!(s = db_prepare(store_conn_db(c),
                         "SELECT run_id, experiment_id, artifact_uri, "
                         "coalesce(deleted_time, 0) FROM runs "
                         "WHERE lifecycle_stage = 'deleted' "
                         "AND (?1 < 0 OR deleted_time <= ?1) "
                         "ORDER BY deleted_time, run_pk")))
        return store_conn_error(c, eb, "deleted runs");
    db_bind_int64(s, 1, deleted_before);
    struct deleted_run *a = NULL;
    size_t cnt = 0, cap = 0;
    enum srv_err e = SRV_OK;
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        struct deleted_run *p = store_grow(a, cnt, &cap, sizeof(*a));
        if (!p) {
            e = err_set(eb, SRV_E_NOMEM, "out of memory");
            break;
        }
        a = p;
        a[cnt] = (struct deleted_run){
            .run_id = store_col_dup(s, 0),
            .experiment_id = db_column_int64(s, 1),
            .artifact_uri = store_col_dup(s, 2),
            .deleted_time = db_column_int64(s, 3),
        };
        cnt++;
        if (!a[cnt - 1].run_id || !a[cnt - 1].artifact_uri) {
            e = err_set(eb, SRV_E_NOMEM, "out of memory");
            break;
        }
    }
    if (!e && rc != DB_DONE)
        e = store_conn_error(c, eb, "deleted runs");
    db_finalize(s);
    if (e) {
        deleted_runs_free(a, cnt);
        return e;
    }
    *out = a;
    *n = cnt;
    return SRV_OK;
}

/*---- single rows of streamed replies ----*/

enum srv_err store_experiment_info(struct store *st, int64_t experiment_id,
                                   struct experiment *out, struct errbuf *eb)
{
    memset(out, 0, sizeof(*out));
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    struct db_stmt *s = store_stmt(c, S_EXP_BY_ID);
    if (!s)
        return store_conn_error(c, eb, "experiment get");
    db_bind_int64(s, 1, experiment_id);
    int rc = db_step(s);
    enum srv_err e;
    if (rc == DB_ROW)
        e = exp_from_row(s, out, eb);
    else if (rc == DB_DONE)
        e = store_no_experiment(eb, experiment_id);
    else
        e = store_conn_error(c, eb, "experiment get");
    db_reset(s);
    if (e)
        experiment_cleanup(out);
    return e;
}

enum srv_err store_experiment_id_by_name(struct store *st, const char *name,
                                         int64_t *id, struct errbuf *eb)
{
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    struct db_stmt *s = store_stmt(c, S_EXP_BY_NAME);
    if (!s)
        return store_conn_error(c, eb, "experiment get");
    db_bind_text(s, 1, name, -1);
    bool found;
    enum srv_err e = store_step_int64(c, s, id, &found, eb, "experiment get");
    if (!e && !found)
        e = err_set(eb, SRV_E_RESOURCE_DOES_NOT_EXIST,
                    "Could not find experiment with name '%s'", name);
    return e;
}
