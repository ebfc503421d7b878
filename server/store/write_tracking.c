/* SPDX-License-Identifier: MIT
 *
 * write_tracking: the executors of the experiment and run writes
 * (writer thread, inside its transaction): experiments (create, rename,
 * delete/restore, tags), runs (create, update, delete/restore), params,
 * metrics and tags, inputs, logged models, heartbeats and gc's purge,
 * behind one entry point, store_tracking_exec. Also the writes store_open
 * makes before the writer starts (the Default experiment, old artifact
 * locations).
 */
#include "artifact_store.h"
#include "dialect.h"
#include "internal.h"
#include "log.h"
#include "strbuf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

/*---- at open, before the writer thread starts ----*/

enum srv_err store_ensure_default_experiment(struct store *st,
                                             struct errbuf *eb)
{
    char loc[4200];
    if (artifact_experiment_location(loc, sizeof(loc), st->serve_artifacts,
                                     st->artifact_root, 0))
        return err_set(eb, SRV_E_INTERNAL, "artifact root path too long");
    struct db_stmt *s = store_stmt(st->writer, S_EXP_DEFAULT);
    if (!s)
        return store_conn_error(st->writer, eb, "default experiment");
    int64_t now = store_now_ms();
    db_bind_text(s, 1, loc, -1);
    db_bind_int64(s, 2, now);
    db_bind_int64(s, 3, now);
    if (db_step(s) != DB_DONE)
        return store_conn_error(st->writer, eb, "default experiment");
    return SRV_OK;
}

/* Locations the server formed from its root before they were file: URIs
 * (greentrack up to 0.x without the artifact proxy wrote "<root>/<id>")
 * become the URIs it forms now, when it does not serve artifacts: the
 * experiments' "<root>/<id>" and their runs' "<root>/<id>/<run>/artifacts"
 * under the current root. Locations a client chose, and those formed under
 * another root, stay as stored (they name the same folders). */
enum srv_err store_relocate_local_locations(struct store *st, struct errbuf *eb)
{
    if (st->serve_artifacts)
        return SRV_OK;
    char uri[4200], bare[4200];
    if (artifact_file_uri(uri, sizeof(uri) - 1, st->artifact_root) ||
        (size_t)snprintf(bare, sizeof(bare), "%s/", st->artifact_root) >=
            sizeof(bare))
        return err_set(eb, SRV_E_INTERNAL, "artifact root path too long");
    size_t ul = strlen(uri);
    uri[ul] = '/';
    uri[ul + 1] = '\0';
    static const char *const sql[] = {
        "UPDATE experiments SET artifact_location = ?1 || experiment_id "
        "WHERE artifact_location = ?2 || experiment_id",
        "UPDATE runs SET artifact_uri = ?1 || experiment_id || '/' || run_id "
        "|| '/artifacts' WHERE artifact_uri = ?2 || experiment_id || '/' || "
        "run_id || '/artifacts'",
    };
    struct conn *c = st->writer;
    if (db_begin_write(store_conn_db(c)) != DB_OK)
        return store_conn_error(c, eb, "relocate");
    for (size_t i = 0; i < sizeof(sql) / sizeof(*sql); i++) {
        struct db_stmt *s = db_prepare(store_conn_db(c), sql[i]);
        int rc = DB_ERROR;
        int64_t changed = 0;
        if (s) {
            db_bind_text(s, 1, uri, -1);
            db_bind_text(s, 2, bare, -1);
            rc = db_step(s);
            changed = db_changes(s);
        }
        db_finalize(s);
        if (rc != DB_DONE) {
            enum srv_err e = store_conn_error(c, eb, "relocate");
            store_exec_sql(store_conn_db(c), "ROLLBACK");
            return e;
        }
        if (changed > 0)
            log_info("%lld %s given file: URIs", (long long)changed,
                     i ? "run artifact locations" : "experiment locations");
    }
    if (store_exec_sql(store_conn_db(c), "COMMIT") != DB_OK) {
        enum srv_err e = store_conn_error(c, eb, "relocate");
        store_exec_sql(store_conn_db(c), "ROLLBACK");
        return e;
    }
    return SRV_OK;
}

/*---- experiments ----*/

struct exp_state {
    bool exists;
    bool deleted;
    char *artifact_location; /* malloc'd */
};

static enum srv_err exp_lookup(struct conn *c, int64_t id,
                               struct exp_state *out, struct errbuf *eb)
{
    memset(out, 0, sizeof(*out));
    struct db_stmt *s = store_stmt(c, S_EXP_BY_ID);
    if (!s)
        return store_conn_error(c, eb, "experiment lookup");
    db_bind_int64(s, 1, id);
    int rc = db_step(s);
    if (rc == DB_ROW) {
        out->exists = true;
        out->deleted = strcmp(db_column_text(s, 3), "deleted") == 0;
        const char *loc = db_column_text(s, 2);
        out->artifact_location = strdup(loc ? loc : "");
        db_reset(s);
        return out->artifact_location ? SRV_OK : SRV_E_NOMEM;
    }
    db_reset(s);
    if (rc != DB_DONE)
        return store_conn_error(c, eb, "experiment lookup");
    return SRV_OK;
}

static enum srv_err experiment_name_taken(struct store_write *w)
{
    return err_set(&w->err, SRV_E_RESOURCE_ALREADY_EXISTS,
                   "Experiment(name=%s) already exists. Error: the name is "
                   "taken by an active or deleted experiment",
                   w->name);
}

static enum srv_err w_experiment_create(struct conn *c, struct store *st,
                                        struct store_write *w)
{
    struct db_stmt *s = store_stmt(c, S_EXP_BY_NAME);
    if (!s)
        return store_conn_error(c, &w->err, "experiment create");
    db_bind_text(s, 1, w->name, -1);
    int rc = db_step(s);
    db_reset(s);
    if (rc == DB_ROW)
        return experiment_name_taken(w);
    if (rc != DB_DONE)
        return store_conn_error(c, &w->err, "experiment create");
    int64_t now = store_now_ms();
    s = store_stmt(c, S_EXP_INSERT);
    if (!s)
        return store_conn_error(c, &w->err, "experiment create");
    db_bind_text(s, 1, w->name, -1);
    db_bind_text(s, 2, w->artifact_location ? w->artifact_location : "", -1);
    db_bind_int64(s, 3, now);
    db_bind_int64(s, 4, now);
    rc = db_step(s);
    if (rc == DB_ROW)
        w->out_experiment_id = db_column_int64(s, 0);
    /* Another server on the same PostgreSQL database took the name
     * between the lookup and the insert: its constraint decides. */
    bool raced =
        rc != DB_ROW && db_error_kind(store_conn_db(c)) == DB_ERR_UNIQUE;
    db_reset(s);
    if (raced)
        return experiment_name_taken(w);
    if (rc != DB_ROW)
        return store_conn_error(c, &w->err, "experiment insert");
    enum srv_err e = SRV_OK;
    for (size_t i = 0; i < w->n_tags && !e; i++) {
        s = store_stmt(c, S_EXP_TAG_UPSERT);
        if (!s)
            return store_conn_error(c, &w->err, "experiment tag");
        db_bind_int64(s, 1, w->out_experiment_id);
        db_bind_text(s, 2, w->tags[i].key, -1);
        store_bind_ref(s, 3, w->tags[i].value);
        e = store_step_done(c, s, &w->err, "experiment tag");
    }
    if (e || w->artifact_location)
        return e;
    char loc[4200];
    if (artifact_experiment_location(loc, sizeof(loc), st->serve_artifacts,
                                     st->artifact_root, w->out_experiment_id))
        return err_set(&w->err, SRV_E_INTERNAL, "artifact root path too long");
    s = store_stmt(c, S_EXP_SET_LOCATION);
    if (!s)
        return store_conn_error(c, &w->err, "experiment create");
    db_bind_text(s, 1, loc, -1);
    db_bind_int64(s, 2, w->out_experiment_id);
    return store_step_done(c, s, &w->err, "experiment location");
}

static enum srv_err w_experiment_rename(struct conn *c, struct store_write *w)
{
    struct exp_state ex;
    enum srv_err e = exp_lookup(c, w->experiment_id, &ex, &w->err);
    free(ex.artifact_location);
    if (e)
        return e;
    if (!ex.exists)
        return store_no_experiment(&w->err, w->experiment_id);
    if (ex.deleted)
        return err_set(&w->err, SRV_E_INVALID_STATE,
                       "Cannot rename a non-active experiment.");
    struct db_stmt *s = store_stmt(c, S_EXP_BY_NAME);
    if (!s)
        return store_conn_error(c, &w->err, "experiment rename");
    db_bind_text(s, 1, w->name, -1);
    int rc = db_step(s);
    int64_t other = rc == DB_ROW ? db_column_int64(s, 0) : -1;
    db_reset(s);
    if (rc == DB_ROW && other != w->experiment_id)
        return err_set(&w->err, SRV_E_RESOURCE_ALREADY_EXISTS,
                       "Experiment(name=%s) already exists.", w->name);
    s = store_stmt(c, S_EXP_RENAME);
    if (!s)
        return store_conn_error(c, &w->err, "experiment rename");
    db_bind_text(s, 1, w->name, -1);
    db_bind_int64(s, 2, store_now_ms());
    db_bind_int64(s, 3, w->experiment_id);
    return store_step_done(c, s, &w->err, "experiment rename");
}

/* Delete or restore an experiment and, as MLflow's SQL store does, its
 * runs. Only a transition is allowed: deleting a deleted experiment or
 * restoring an active one is RESOURCE_DOES_NOT_EXIST. */
static enum srv_err w_experiment_set_stage(struct conn *c,
                                           struct store_write *w, bool delete)
{
    struct exp_state ex;
    enum srv_err e = exp_lookup(c, w->experiment_id, &ex, &w->err);
    free(ex.artifact_location);
    if (e)
        return e;
    if (!ex.exists || ex.deleted != !delete)
        return store_no_experiment(&w->err, w->experiment_id);
    int64_t now = store_now_ms();
    const char *stage = delete ? "deleted" : "active";
    struct db_stmt *s = store_stmt(c, S_EXP_SET_STAGE);
    if (!s)
        return store_conn_error(c, &w->err, "experiment stage");
    db_bind_text(s, 1, stage, -1);
    db_bind_int64(s, 2, now);
    db_bind_int64(s, 3, w->experiment_id);
    if ((e = store_step_done(c, s, &w->err, "experiment stage")))
        return e;
    s = store_stmt(c, S_EXP_RUNS_SET_STAGE);
    if (!s)
        return store_conn_error(c, &w->err, "experiment runs stage");
    db_bind_text(s, 1, stage, -1);
    if (delete)
        db_bind_int64(s, 2, now);
    else
        db_bind_null(s, 2);
    db_bind_int64(s, 3, w->experiment_id);
    return store_step_done(c, s, &w->err, "experiment runs stage");
}

static enum srv_err w_experiment_tag(struct conn *c, struct store_write *w,
                                     bool delete)
{
    struct exp_state ex;
    enum srv_err e = exp_lookup(c, w->experiment_id, &ex, &w->err);
    free(ex.artifact_location);
    if (e)
        return e;
    if (!ex.exists)
        return store_no_experiment(&w->err, w->experiment_id);
    if (ex.deleted)
        return err_set(&w->err, SRV_E_INVALID_PARAMETER_VALUE,
                       "The experiment %lld must be in the 'active' state. "
                       "Current state is deleted.",
                       (long long)w->experiment_id);
    struct db_stmt *s =
        store_stmt(c, delete ? S_EXP_TAG_DELETE : S_EXP_TAG_UPSERT);
    if (!s)
        return store_conn_error(c, &w->err, "experiment tag");
    db_bind_int64(s, 1, w->experiment_id);
    db_bind_text(s, 2, w->key, -1);
    if (!delete)
        db_bind_text(s, 3, w->value, -1);
    int64_t changed;
    if ((e = store_step_changes(c, s, &changed, &w->err, "experiment tag")))
        return e;
    if (delete &&changed == 0)
        return err_set(&w->err, SRV_E_RESOURCE_DOES_NOT_EXIST,
                       "No tag with name: %s in experiment with id %lld",
                       w->key, (long long)w->experiment_id);
    return SRV_OK;
}

/*---- runs ----*/

static enum srv_err tag_upsert(struct conn *c, int64_t run_pk, const char *key,
                               struct strref value, struct errbuf *eb)
{
    struct db_stmt *s = store_stmt(c, S_TAG_UPSERT);
    if (!s)
        return store_conn_error(c, eb, "tag upsert");
    db_bind_int64(s, 1, run_pk);
    db_bind_text(s, 2, key, -1);
    store_bind_ref(s, 3, value);
    enum srv_err e = store_step_done(c, s, eb, "tag upsert");
    if (e || strcmp(key, "mlflow.runName") != 0)
        return e;
    /* The run name and its tag are one value, as in MLflow. */
    s = store_stmt(c, S_RUN_UPDATE);
    if (!s)
        return store_conn_error(c, eb, "run rename");
    store_bind_ref(s, 3, value);
    db_bind_int64(s, 4, run_pk);
    return store_step_done(c, s, eb, "run rename");
}

static enum srv_err w_run_create(struct conn *c, struct store_write *w)
{
    struct exp_state ex;
    enum srv_err e = exp_lookup(c, w->experiment_id, &ex, &w->err);
    if (e)
        goto out;
    if (!ex.exists) {
        e = store_no_experiment(&w->err, w->experiment_id);
        goto out;
    }
    if (ex.deleted) {
        e = err_set(&w->err, SRV_E_INVALID_PARAMETER_VALUE,
                    "The experiment %lld must be in the 'active' state. "
                    "Current state is deleted.",
                    (long long)w->experiment_id);
        goto out;
    }
    struct run_state rs;
    struct errbuf ignored;
    e = store_run_lookup(c, w->run_id, false, &rs, &ignored);
    if (e == SRV_OK) {
        /* A client-chosen id that exists: the retry of a create. */
        if (rs.experiment_id != w->experiment_id)
            e = err_set(&w->err, SRV_E_INVALID_PARAMETER_VALUE,
                        "Run with id=%s already exists in experiment %lld",
                        w->run_id, (long long)rs.experiment_id);
        goto out;
    }
    if (e != SRV_E_RESOURCE_DOES_NOT_EXIST) {
        w->err = ignored;
        goto out;
    }
    char uri[4300];
    if (artifact_run_uri(uri, sizeof(uri), ex.artifact_location, w->run_id)) {
        e = err_set(&w->err, SRV_E_INVALID_PARAMETER_VALUE,
                    "The experiment's artifact location is too long");
        goto out;
    }
    struct db_stmt *s = store_stmt(c, S_RUN_INSERT);
    if (!s) {
        e = store_conn_error(c, &w->err, "run insert");
        goto out;
    }
    db_bind_text(s, 1, w->run_id, -1);
    db_bind_int64(s, 2, w->experiment_id);
    store_bind_str(s, 3, w->name ? w->name : "");
    store_bind_str(s, 4, w->user_id ? w->user_id : "");
    db_bind_int64(s, 5, w->start_time);
    db_bind_text(s, 6, uri, -1);
    int64_t run_pk = 0;
    int rc = db_step(s);
    if (rc == DB_ROW)
        run_pk = db_column_int64(s, 0);
    /* The same client-chosen id created at once through another server
     * on the same PostgreSQL database: the retry finds that run. */
    bool raced =
        rc != DB_ROW && db_error_kind(store_conn_db(c)) == DB_ERR_UNIQUE;
    db_reset(s);
    if (raced) {
        e = err_set(&w->err, SRV_E_UNAVAILABLE,
                    "Run %s is being created by another request; retry",
                    w->run_id);
        goto out;
    }
    if (rc != DB_ROW) {
        e = store_conn_error(c, &w->err, "run insert");
        goto out;
    }
    store_conn_note_run(c, run_pk);
    if (w->n_tags)
        e = store_greenai_check_tags(c, w->run_id, w->tags, w->n_tags, &w->err);
    for (size_t i = 0; i < w->n_tags && !e; i++)
        e = tag_upsert(c, run_pk, w->tags[i].key, w->tags[i].value, &w->err);
out:
    free(ex.artifact_location);
    return e;
}

static enum srv_err w_run_update(struct conn *c, struct store_write *w)
{
    struct run_state rs;
    enum srv_err e = store_run_lookup(c, w->run_id, true, &rs, &w->err);
    if (e)
        return e;
    struct db_stmt *s = store_stmt(c, S_RUN_UPDATE);
    if (!s)
        return store_conn_error(c, &w->err, "run update");
    if (w->has_status)
        db_bind_text(s, 1, run_status_names[w->status], -1);
    if (w->has_end_time)
        db_bind_int64(s, 2, w->end_time);
    if (w->name)
        db_bind_text(s, 3, w->name, -1);
    db_bind_int64(s, 4, rs.run_pk);
    if ((e = store_step_done(c, s, &w->err, "run update")))
        return e;
    if (w->name) {
        struct strref v = {w->name, strlen(w->name)};
        e = tag_upsert(c, rs.run_pk, "mlflow.runName", v, &w->err);
    }
    return e;
}

static enum srv_err w_run_set_stage(struct conn *c, struct store_write *w,
                                    bool delete)
{
    struct run_state rs;
    enum srv_err e = store_run_lookup(c, w->run_id, false, &rs, &w->err);
    if (e)
        return e;
    struct db_stmt *s = store_stmt(c, S_RUN_SET_STAGE);
    if (!s)
        return store_conn_error(c, &w->err, "run stage");
    db_bind_text(s, 1, delete ? "deleted" : "active", -1);
    if (delete)
        db_bind_int64(s, 2, store_now_ms());
    db_bind_int64(s, 3, rs.run_pk);
    return store_step_done(c, s, &w->err, "run stage");
}

/* Param immutability: the whole request is checked before anything is
 * written, and the message keeps MLflow's wording, which clients match. */
static enum srv_err check_params(struct conn *c, struct store_write *w,
                                 int64_t run_pk, bool *skip)
{
    struct strbuf conflicts;
    strbuf_init(&conflicts);
    size_t n_conflicts = 0;
    enum srv_err e = SRV_OK;
    for (size_t i = 0; i < w->n_params; i++) {
        struct db_stmt *s = store_stmt(c, S_PARAM_GET);
        if (!s)
            return store_conn_error(c, &w->err, "param check");
        db_bind_int64(s, 1, run_pk);
        db_bind_text(s, 2, w->params[i].key, -1);
        int rc = db_step(s);
        skip[i] = false;
        if (rc == DB_ROW) {
            const char *old = db_column_text(s, 0);
            size_t oldlen = (size_t)db_column_bytes(s, 0);
            struct strref nv = w->params[i].value;
            if (oldlen == nv.len && memcmp(old, nv.s, nv.len) == 0) {
                skip[i] = true;
            } else if (w->single_param) {
                err_set(&w->err, SRV_E_INVALID_PARAMETER_VALUE,
                        "Changing param values is not allowed. Param with "
                        "key='%s' was already logged with value='%.100s' "
                        "for run ID='%s'. Attempted logging new value "
                        "'%.*s'.",
                        w->params[i].key, old, w->run_id,
                        (int)(nv.len > 100 ? 100 : nv.len), nv.s);
                e = SRV_E_INVALID_PARAMETER_VALUE;
            } else {
                strbuf_printf(&conflicts,
                              "%s{'key': '%s', 'old_value': '%.100s', "
                              "'new_value': '%.*s'}",
                              n_conflicts ? ", " : "", w->params[i].key, old,
                              (int)(nv.len > 100 ? 100 : nv.len), nv.s);
                n_conflicts++;
            }
        } else if (rc != DB_DONE) {
            e = store_conn_error(c, &w->err, "param check");
        }
        db_reset(s);
        if (e)
            break;
    }
    if (!e && n_conflicts)
        e = err_set(&w->err, SRV_E_INVALID_PARAMETER_VALUE,
                    "Changing param values is not allowed. Params were "
                    "already logged='[%s]' for run ID='%s'.",
                    conflicts.buf ? conflicts.buf : "", w->run_id);
    strbuf_cleanup(&conflicts);
    return e;
}

/* The latest point of each key in this request (greatest step, timestamp,
 * value), so latest_metrics gets one upsert per key, not per point. */
static int latest_cmp(const struct metric_in *a, const struct metric_in *b)
{
    double av = isnan(a->value) ? 0 : a->value;
    double bv = isnan(b->value) ? 0 : b->value;
    if (a->step != b->step)
        return a->step < b->step ? -1 : 1;
    if (a->timestamp != b->timestamp)
        return a->timestamp < b->timestamp ? -1 : 1;
    return av < bv ? -1 : av > bv;
}

/* Points per statement of insert_metric_arrays: a 1000-point batch is
 * one round trip, and the array literals of a chunk stay near 100 kB. */
#define METRICS_PER_STATEMENT 2000

/* Appends 'key' as an element of a PostgreSQL array literal. */
static void append_array_text(struct strbuf *sb, const char *key)
{
    strbuf_append_char(sb, '"');
    for (const char *p = key; *p; p++) {
        if (*p == '"' || *p == '\\')
            strbuf_append_char(sb, '\\');
        strbuf_append_char(sb, *p);
    }
    strbuf_append_char(sb, '"');
}

/* PostgreSQL: the request's points as parallel arrays, unnested by the
 * server in one statement per METRICS_PER_STATEMENT points, rather than
 * one round trip per point. Same rows and the same duplicate rule (ON
 * CONFLICT DO NOTHING) as S_METRIC_INSERT. */
static enum srv_err insert_metric_arrays(struct conn *c, struct store_write *w,
                                         int64_t run_pk)
{
    struct db *db = store_conn_db(c);
    struct strbuf col[5];
    for (int j = 0; j < 5; j++)
        strbuf_init(&col[j]);
    enum srv_err e = SRV_OK;
    for (size_t first = 0; first < w->n_metrics && !e;
         first += METRICS_PER_STATEMENT) {
        size_t end = first + METRICS_PER_STATEMENT;
        if (end > w->n_metrics)
            end = w->n_metrics;
        for (int j = 0; j < 5; j++) {
            strbuf_reset(&col[j]);
            strbuf_append_char(&col[j], '{');
        }
        for (size_t i = first; i < end; i++) {
            const struct metric_in *m = &w->metrics[i];
            bool nan = isnan(m->value);
            if (i > first)
                for (int j = 0; j < 5; j++)
                    strbuf_append_char(&col[j], ',');
            append_array_text(&col[0], m->key);
            strbuf_append_i64(&col[1], m->timestamp);
            strbuf_append_i64(&col[2], m->step);
            strbuf_printf(&col[3], "%.17g", nan ? 0.0 : m->value);
            strbuf_append_i64(&col[4], nan);
        }
        bool oom = false;
        for (int j = 0; j < 5; j++) {
            strbuf_append_char(&col[j], '}');
            oom = oom || col[j].oom;
        }
        if (oom) {
            e = err_set(&w->err, SRV_E_NOMEM, "out of memory");
            break;
        }
        struct db_stmt *s = store_conn_stmt(
            c, STORE_DIALECT_STMT_BASE + D_S_METRICS_FROM_ARRAYS,
            dialect_sql(db, D_S_METRICS_FROM_ARRAYS));
        if (!s) {
            e = store_conn_error(c, &w->err, "metric insert");
            break;
        }
        db_bind_int64(s, 1, run_pk);
        for (int j = 0; j < 5; j++)
            db_bind_text(s, j + 2, col[j].buf, (int)col[j].len);
        /* deferred: nothing of it is read; the writer flushes */
        e = store_step_deferred(c, s, &w->err, "metric insert");
    }
    for (int j = 0; j < 5; j++)
        strbuf_cleanup(&col[j]);
    return e;
}

/* PostgreSQL, log-metric (one point, nothing else): the lookup, the
 * insert and the latest-metric upsert in one statement
 * (D_S_METRIC_LOG_ONE), one round trip. */
static enum srv_err log_one_metric(struct conn *c, struct store_write *w)
{
    const struct metric_in *m = &w->metrics[0];
    bool nan = isnan(m->value);
    struct db_stmt *s =
        store_conn_stmt(c, STORE_DIALECT_STMT_BASE + D_S_METRIC_LOG_ONE,
                        dialect_sql(store_conn_db(c), D_S_METRIC_LOG_ONE));
    if (s) {
        db_bind_text(s, 1, w->run_id, -1);
        db_bind_text(s, 2, m->key, -1);
        db_bind_int64(s, 3, m->timestamp);
        db_bind_int64(s, 4, m->step);
        db_bind_double(s, 5, nan ? 0.0 : m->value);
        db_bind_int64(s, 6, nan);
    }
    struct run_state rs;
    return store_run_lookup_step(c, s, w->run_id, true, &rs, &w->err);
}

/* log-batch and log-metric. The metric inserts and the latest-metric
 * upserts are deferred (db_step_deferred): on PostgreSQL they go in the
 * round trip of the writer's flush (or of the next synchronous statement,
 * which then reports their failure). Params stay synchronous: their
 * unique violation is read at once. */
static enum srv_err w_run_log(struct conn *c, struct store_write *w)
{
    if (w->n_metrics == 1 && !w->n_params && !w->n_tags &&
        db_engine(store_conn_db(c)) == DB_POSTGRES)
        return log_one_metric(c, w);
    struct run_state rs;
    enum srv_err e = store_run_lookup(c, w->run_id, true, &rs, &w->err);
    if (e)
        return e;
    bool skip_small[16];
    bool *skip =
        w->n_params <= 16 ? skip_small : calloc(w->n_params, sizeof(bool));
    if (!skip)
        return err_set(&w->err, SRV_E_NOMEM, "out of memory");
    if ((e = check_params(c, w, rs.run_pk, skip)))
        goto out;
    for (size_t i = 0; i < w->n_params && !e; i++) {
        if (skip[i])
            continue;
        struct db_stmt *s = store_stmt(c, S_PARAM_INSERT);
        if (!s) {
            e = store_conn_error(c, &w->err, "param insert");
            break;
        }
        db_bind_int64(s, 1, rs.run_pk);
        db_bind_text(s, 2, w->params[i].key, -1);
        store_bind_ref(s, 3, w->params[i].value);
        e = store_step_done(c, s, &w->err, "param insert");
        /* Another server on the same PostgreSQL database logged the key
         * since check_params read it: the retry compares the values. */
        if (e && db_error_kind(store_conn_db(c)) == DB_ERR_UNIQUE)
            e = err_set(&w->err, SRV_E_UNAVAILABLE,
                        "Param %s of run %s is being logged by another "
                        "request; retry",
                        w->params[i].key, w->run_id);
    }
    if (e)
        goto out;

    bool arrays =
        w->n_metrics > 1 && db_engine(store_conn_db(c)) == DB_POSTGRES;
    if (arrays && (e = insert_metric_arrays(c, w, rs.run_pk)))
        goto out;
    struct db_stmt *ins =
        w->n_metrics && !arrays ? store_stmt(c, S_METRIC_INSERT) : NULL;
    if (w->n_metrics && !arrays && !ins) {
        e = store_conn_error(c, &w->err, "metric insert");
        goto out;
    }
    /* Latest per key: keys in a batch are few, so a linear table works. */
    const struct metric_in *latest_small[32];
    const struct metric_in **latest = latest_small;
    size_t n_latest = 0, cap_latest = 32;
    for (size_t i = 0; i < w->n_metrics; i++) {
        const struct metric_in *m = &w->metrics[i];
        if (ins) {
            bool nan = isnan(m->value);
            db_bind_int64(ins, 1, rs.run_pk);
            db_bind_text(ins, 2, m->key, -1);
            db_bind_int64(ins, 3, m->timestamp);
            db_bind_int64(ins, 4, m->step);
            db_bind_double(ins, 5, nan ? 0.0 : m->value);
            db_bind_int64(ins, 6, nan);
            if ((e = store_step_deferred(c, ins, &w->err, "metric insert")))
                break;
        }
        size_t k = 0;
        while (k < n_latest && strcmp(latest[k]->key, m->key) != 0)
            k++;
        if (k == n_latest) {
            if (n_latest == cap_latest) {
                size_t ncap = cap_latest * 4;
                const struct metric_in **p =
                    latest == latest_small ? malloc(ncap * sizeof(*p))
                                           : realloc(latest, ncap * sizeof(*p));
                if (!p) {
                    e = err_set(&w->err, SRV_E_NOMEM, "out of memory");
                    break;
                }
                if (latest == latest_small)
                    memcpy(p, latest_small, sizeof(latest_small));
                latest = p;
                cap_latest = ncap;
            }
            latest[n_latest++] = m;
        } else if (latest_cmp(m, latest[k]) > 0) {
            latest[k] = m;
        }
    }
    for (size_t k = 0; k < n_latest && !e; k++) {
        const struct metric_in *m = latest[k];
        bool nan = isnan(m->value);
        struct db_stmt *s = store_stmt(c, S_LATEST_UPSERT);
        if (!s) {
            e = store_conn_error(c, &w->err, "latest metric");
            break;
        }
        db_bind_int64(s, 1, rs.run_pk);
        db_bind_text(s, 2, m->key, -1);
        db_bind_double(s, 3, nan ? 0.0 : m->value);
        db_bind_int64(s, 4, m->timestamp);
        db_bind_int64(s, 5, m->step);
        db_bind_int64(s, 6, nan);
        e = store_step_deferred(c, s, &w->err, "latest metric");
    }
    if (latest != latest_small)
        free(latest);
    if (!e && w->n_tags)
        e = store_greenai_check_tags(c, w->run_id, w->tags, w->n_tags, &w->err);
    for (size_t i = 0; i < w->n_tags && !e; i++)
        e = tag_upsert(c, rs.run_pk, w->tags[i].key, w->tags[i].value, &w->err);
out:
    if (skip != skip_small)
        free(skip);
    return e;
}

static enum srv_err w_run_delete_tag(struct conn *c, struct store_write *w)
{
    struct run_state rs;
    enum srv_err e = store_run_lookup(c, w->run_id, true, &rs, &w->err);
    if (e)
        return e;
    struct db_stmt *s = store_stmt(c, S_TAG_DELETE);
    if (!s)
        return store_conn_error(c, &w->err, "tag delete");
    db_bind_int64(s, 1, rs.run_pk);
    db_bind_text(s, 2, w->key, -1);
    int64_t changed;
    if ((e = store_step_changes(c, s, &changed, &w->err, "tag delete")))
        return e;
    if (changed == 0)
        return err_set(&w->err, SRV_E_RESOURCE_DOES_NOT_EXIST,
                       "No tag with name: %s in run with id %s", w->key,
                       w->run_id);
    return SRV_OK;
}

static enum srv_err dataset_pk_for(struct conn *c, int64_t experiment_id,
                                   const struct dataset_in *d, int64_t *pk,
                                   struct errbuf *eb)
{
    struct db_stmt *s = store_stmt(c, S_DATASET_FIND);
    if (!s)
        return store_conn_error(c, eb, "dataset find");
    db_bind_int64(s, 1, experiment_id);
    db_bind_text(s, 2, d->name, -1);
    db_bind_text(s, 3, d->digest, -1);
    bool found;
    enum srv_err e = store_step_int64(c, s, pk, &found, eb, "dataset find");
    if (e || found)
        return e;
    s = store_stmt(c, S_DATASET_INSERT);
    if (!s)
        return store_conn_error(c, eb, "dataset insert");
    db_bind_int64(s, 1, experiment_id);
    store_bind_str(s, 2, d->name);
    store_bind_str(s, 3, d->digest);
    store_bind_str(s, 4, d->source_type);
    store_bind_str(s, 5, d->source);
    store_bind_str(s, 6, d->schema);
    store_bind_str(s, 7, d->profile);
    return store_step_int64(c, s, pk, &found, eb, "dataset insert");
}

static enum srv_err w_run_log_inputs(struct conn *c, struct store_write *w)
{
    struct run_state rs;
    enum srv_err e = store_run_lookup(c, w->run_id, true, &rs, &w->err);
    for (size_t i = 0; i < w->n_datasets && !e; i++) {
        const struct dataset_in *d = &w->datasets[i];
        int64_t pk = 0;
        if ((e = dataset_pk_for(c, rs.experiment_id, d, &pk, &w->err)))
            break;
        struct db_stmt *s = store_stmt(c, S_RUN_INPUT_INSERT);
        if (!s)
            return store_conn_error(c, &w->err, "run input");
        db_bind_int64(s, 1, rs.run_pk);
        db_bind_int64(s, 2, pk);
        if ((e = store_step_done(c, s, &w->err, "run input")))
            break;
        for (size_t t = 0; t < d->n_tags && !e; t++) {
            s = store_stmt(c, S_INPUT_TAG_UPSERT);
            if (!s)
                return store_conn_error(c, &w->err, "input tag");
            db_bind_int64(s, 1, rs.run_pk);
            db_bind_int64(s, 2, pk);
            db_bind_text(s, 3, d->tags[t].key, -1);
            store_bind_ref(s, 4, d->tags[t].value);
            e = store_step_done(c, s, &w->err, "input tag");
        }
    }
    for (size_t i = 0; i < w->n_model_ids && !e; i++) {
        struct db_stmt *s = store_stmt(c, S_MODEL_INPUT_INSERT);
        if (!s)
            return store_conn_error(c, &w->err, "model input");
        db_bind_int64(s, 1, rs.run_pk);
        db_bind_text(s, 2, w->model_ids[i], -1);
        e = store_step_done(c, s, &w->err, "model input");
    }
    return e;
}

/* log-model appends the model dict to the JSON-array tag
 * mlflow.log-model.history, as MLflow's store does. */
static enum srv_err w_run_log_model(struct conn *c, struct store_write *w)
{
    struct run_state rs;
    enum srv_err e = store_run_lookup(c, w->run_id, true, &rs, &w->err);
    if (e)
        return e;
    struct db_stmt *s = store_stmt(c, S_TAG_GET);
    if (!s)
        return store_conn_error(c, &w->err, "log model");
    db_bind_int64(s, 1, rs.run_pk);
    db_bind_text(s, 2, "mlflow.log-model.history", -1);
    cJSON *history = NULL;
    if (db_step(s) == DB_ROW) {
        const char *old = db_column_text(s, 0);
        history = old ? cJSON_Parse(old) : NULL;
        if (history && !cJSON_IsArray(history)) {
            cJSON_Delete(history);
            history = NULL;
        }
    }
    db_reset(s);
    if (!history)
        history = cJSON_CreateArray();
    cJSON *model = cJSON_Parse(w->model_json);
    char *text = NULL;
    if (!history || !model || !cJSON_AddItemToArray(history, model)) {
        cJSON_Delete(model);
        e = err_set(&w->err, SRV_E_NOMEM, "out of memory");
        goto out;
    }
    text = cJSON_PrintUnformatted(history);
    if (!text) {
        e = err_set(&w->err, SRV_E_NOMEM, "out of memory");
        goto out;
    }
    struct strref v = {text, strlen(text)};
    e = tag_upsert(c, rs.run_pk, "mlflow.log-model.history", v, &w->err);
out:
    cJSON_free(text);
    cJSON_Delete(history);
    return e;
}

/* A heartbeat: the run must exist; its time is the server's clock, so
 * clients with skewed clocks are judged fairly. */
static enum srv_err w_run_heartbeat(struct conn *c, struct store_write *w)
{
    struct run_state rs;
    enum srv_err e = store_run_lookup(c, w->run_id, false, &rs, &w->err);
    if (e)
        return e;
    struct db_stmt *s = store_stmt(c, S_HEARTBEAT_UPSERT);
    if (!s)
        return store_conn_error(c, &w->err, "heartbeat");
    db_bind_int64(s, 1, rs.run_pk);
    db_bind_int64(s, 2, store_now_ms());
    return store_step_done(c, s, &w->err, "heartbeat");
}

/* gc: removes a deleted run and every row that refers to it. A run that
 * was restored since gc listed it (or deleted again, later than
 * 'deleted_before') is left alone: out_count 0. */
static enum srv_err w_run_purge(struct conn *c, struct store_write *w)
{
    static const char *const deletes[] = {
        "DELETE FROM input_tags WHERE run_pk = ?",
        "DELETE FROM run_inputs WHERE run_pk = ?",
        "DELETE FROM run_model_inputs WHERE run_pk = ?",
        "DELETE FROM params WHERE run_pk = ?",
        "DELETE FROM tags WHERE run_pk = ?",
        "DELETE FROM metrics WHERE run_pk = ?",
        "DELETE FROM latest_metrics WHERE run_pk = ?",
        "DELETE FROM run_heartbeats WHERE run_pk = ?",
        "DELETE FROM energy_samples WHERE run_pk = ?",
        "DELETE FROM run_energy WHERE run_pk = ?",
        "DELETE FROM run_phases WHERE run_pk = ?",
        "DELETE FROM runs WHERE run_pk = ?",
    };
    w->out_count = 0;
    struct db_stmt *s = NULL;
    if (!(s = db_prepare(store_conn_db(c),
                         "SELECT run_pk, experiment_id FROM runs "
                         "WHERE run_id = ?1 AND lifecycle_stage = 'deleted' "
                         "AND (?2 < 0 OR deleted_time <= ?2)")))
        return store_conn_error(c, &w->err, "run purge");
    db_bind_text(s, 1, w->run_id, -1);
    db_bind_int64(s, 2, w->deleted_before);
    int rc = db_step(s);
    int64_t pk = rc == DB_ROW ? db_column_int64(s, 0) : 0;
    int64_t experiment_id = rc == DB_ROW ? db_column_int64(s, 1) : -1;
    db_finalize(s);
    if (rc != DB_ROW)
        return rc == DB_DONE ? SRV_OK
                             : store_conn_error(c, &w->err, "run purge");
    store_conn_notes(c)->last_experiment = experiment_id;
    for (size_t i = 0; i < sizeof(deletes) / sizeof(*deletes); i++) {
        if (!(s = db_prepare(store_conn_db(c), deletes[i])))
            return store_conn_error(c, &w->err, "run purge");
        db_bind_int64(s, 1, pk);
        rc = db_step(s);
        db_finalize(s);
        if (rc != DB_DONE)
            return store_conn_error(c, &w->err, "run purge");
    }
    w->out_count = 1;
    return SRV_OK;
}

/*---- the entry point ----*/

enum srv_err store_tracking_exec(struct store *st, struct store_write *w)
{
    struct conn *c = st->writer;
    switch (w->kind) {
    case SW_EXPERIMENT_CREATE:
        return w_experiment_create(c, st, w);
    case SW_EXPERIMENT_RENAME:
        return w_experiment_rename(c, w);
    case SW_EXPERIMENT_DELETE:
        return w_experiment_set_stage(c, w, true);
    case SW_EXPERIMENT_RESTORE:
        return w_experiment_set_stage(c, w, false);
    case SW_EXPERIMENT_SET_TAG:
        return w_experiment_tag(c, w, false);
    case SW_EXPERIMENT_DELETE_TAG:
        return w_experiment_tag(c, w, true);
    case SW_RUN_CREATE:
        return w_run_create(c, w);
    case SW_RUN_UPDATE:
        return w_run_update(c, w);
    case SW_RUN_DELETE:
        return w_run_set_stage(c, w, true);
    case SW_RUN_RESTORE:
        return w_run_set_stage(c, w, false);
    case SW_RUN_LOG:
        return w_run_log(c, w);
    case SW_RUN_DELETE_TAG:
        return w_run_delete_tag(c, w);
    case SW_RUN_LOG_INPUTS:
        return w_run_log_inputs(c, w);
    case SW_RUN_LOG_MODEL:
        return w_run_log_model(c, w);
    case SW_RUN_HEARTBEAT:
        return w_run_heartbeat(c, w);
    case SW_RUN_PURGE:
        return w_run_purge(c, w);
    case SW_RUN_LOG_ENERGY: /* the other domains' (writer.c) */
    case SW_GRID_RECORD:
    case SW_MULTI:
    case SW_REGISTRY:
    case SW_GREENAI:
    case SW_AUTH:
    case SW_BOARD_KEY:
        break;
    }
    return err_set(&w->err, SRV_E_INTERNAL, "unknown write");
}
