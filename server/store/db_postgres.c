/* SPDX-License-Identifier: MIT
 *
 * db_postgres: the PostgreSQL engine of db.h, on libpq. Owns the PGconn,
 * its lazily prepared statements (named gt<N>, unique per connection),
 * their text-format parameters and results, the mapping of SQLSTATEs to
 * db.h's error kinds, and the PostgreSQL side of migrations (the
 * greentrack_schema level table and the advisory lock), and the pipeline
 * of deferred calls (db_step_deferred, db_flush): libpq's pipeline mode,
 * entered for the first queued call and left when a synchronous call or a
 * flush has read every result, so everything else here runs in libpq's
 * ordinary mode. Reached only through db.c.
 */
#include "db_int.h"
#include "log.h"
#include "numtext.h"
#include "strbuf.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Type OIDs of pg_type (stable since PostgreSQL 7). */
#define PG_BOOLOID 16
#define PG_INT8OID 20
#define PG_INT2OID 21
#define PG_INT4OID 23
#define PG_OIDOID 26
#define PG_FLOAT4OID 700
#define PG_FLOAT8OID 701
#define PG_NUMERICOID 1700

struct pg_stmt;

/* What a queued call of the pipeline is, for reading its result. */
enum pending_kind {
    PENDING_PREPARE,  /* PQsendPrepare of 'stmt' */
    PENDING_DEFERRED, /* a deferred call: only its status matters */
    PENDING_ANSWER    /* the result the caller reads (one per pipeline) */
};

struct pending {
    enum pending_kind kind;
    struct pg_stmt *stmt; /* PENDING_PREPARE: NULL once finalized */
};

struct pg_db {
    struct db base;
    PGconn *conn;
    /* the pipeline: calls sent and not yet read, in order (libpq is in
     * pipeline mode exactly while there are some) */
    struct pending *pending;
    int npending, pending_cap;
    uint64_t next_stmt; /* for statement names */
    int lock_timeout_ms;
    /* a COPY in progress (db_copy_*) */
    enum { COPY_NONE, COPY_IN, COPY_OUT } copy;
    struct strbuf copy_buf; /* COPY IN: rows not sent yet */
    bool copy_row_started;  /* COPY IN: a field of this row was put */
    char *out_row;          /* COPY OUT: PQgetCopyData's row (PQfreemem) */
    const char **out_fields;
    size_t *out_lens;
    int out_cap;
};

/* One parameter's value in text format. */
struct pg_param {
    char *text; /* NULL: SQL NULL; else 'num' or a heap copy */
    bool heap;
    Oid type; /* what the binder said, for the lazy prepare */
    char num[32];
};

struct pg_stmt {
    struct db_stmt base;
    char *sql; /* with $N placeholders */
    char name[24];
    bool prepared;
    struct pg_param *params; /* base.nparams of them */
    const char **values;     /* PQexecPrepared's view of 'params' */
    /* the execution */
    bool executed, failed, done;
    PGresult *res;
    int row, nrows;
    int64_t changes;
};

static PGconn *conn_of(struct db *db)
{
    return ((struct pg_db *)db)->conn;
}

static struct pg_stmt *pq(struct db_stmt *s)
{
    return (struct pg_stmt *)s;
}

static const struct pg_stmt *cpq(const struct db_stmt *s)
{
    return (const struct pg_stmt *)s;
}

/* Copies 'msg' without its trailing newlines into 'out'. */
static void one_line(char *out, size_t size, const char *msg)
{
    snprintf(out, size, "%s", msg ? msg : "");
    size_t n = strlen(out);
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = '\0';
}

static enum db_error_kind kind_of_sqlstate(const char *state)
{
    if (!state)
        return DB_ERR_OTHER;
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
        strcmp(state, "55P03") == 0 || strcmp(state, "57014") == 0)
        return DB_ERR_BUSY;
    if (strcmp(state, "23505") == 0)
        return DB_ERR_UNIQUE;
    if (strcmp(state, "53200") == 0)
        return DB_ERR_NOMEM;
    if (strcmp(state, "22021") == 0 || strcmp(state, "22P05") == 0)
        return DB_ERR_ENCODING;
    if (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0)
        return DB_ERR_CONNECTION;
    return DB_ERR_OTHER;
}

/* Records the failure 'res' describes (or the connection's, when 'res'
 * is NULL or says nothing); returns DB_ERROR. Does not clear 'res'. */
static int fail_pg(struct db *db, const PGresult *res)
{
    PGconn *conn = conn_of(db);
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary =
        res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char msg[400];
    one_line(msg, sizeof(msg), primary ? primary : PQerrorMessage(conn));
    enum db_error_kind kind = kind_of_sqlstate(state);
    if (PQstatus(conn) == CONNECTION_BAD)
        kind = DB_ERR_CONNECTION;
    return db_fail(db, kind, "%s (SQLSTATE %s)", msg[0] ? msg : "error",
                   state ? state : "none");
}

static int pipeline_finish(struct pg_db *d, PGresult **answer);
static int queue_sql(struct pg_db *d, const char *sql, enum pending_kind kind);

/* PQexec of 'sql' (which may hold several statements), after the queued
 * calls of the pipeline (their failure is this call's, and 'sql' does
 * not run then); on success returns DB_OK and the result in *out when
 * 'out' is not NULL (caller clears), else clears it. */
static int run_simple(struct db *db, const char *sql, PGresult **out)
{
    struct pg_db *d = (struct pg_db *)db;
    if (d->npending > 0 && pipeline_finish(d, NULL) != DB_OK)
        return DB_ERROR;
    db->round_trips++;
    PGresult *res = PQexec(conn_of(db), sql);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK &&
        st != PGRES_EMPTY_QUERY) {
        fail_pg(db, res);
        PQclear(res);
        return DB_ERROR;
    }
    if (out)
        *out = res;
    else
        PQclear(res);
    return DB_OK;
}

/* As run_simple for 'sql' holding one statement: when calls are queued
 * it joins them, one round trip for all. */
static int run_one(struct db *db, const char *sql, PGresult **out)
{
    struct pg_db *d = (struct pg_db *)db;
    if (d->npending == 0)
        return run_simple(db, sql, out);
    PGresult *res = NULL;
    if (queue_sql(d, sql, PENDING_ANSWER) != DB_OK ||
        pipeline_finish(d, &res) != DB_OK) {
        PQclear(res);
        return DB_ERROR;
    }
    if (out)
        *out = res;
    else
        PQclear(res);
    return DB_OK;
}

/* Reads the single integer of 'res' (which it clears; 'sql' made it)
 * into *v. */
static int read_int(struct db *db, PGresult *res, const char *sql, int64_t *v)
{
    if (PQntuples(res) != 1 || PQnfields(res) < 1 || PQgetisnull(res, 0, 0)) {
        PQclear(res);
        return db_fail(db, DB_ERR_OTHER, "expected one value from: %s", sql);
    }
    *v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return DB_OK;
}

/* Reads the single integer 'sql' returns into *v. */
static int query_int(struct db *db, const char *sql, int64_t *v)
{
    PGresult *res;
    if (run_one(db, sql, &res) != DB_OK)
        return DB_ERROR;
    return read_int(db, res, sql, v);
}

/* libpq prints notices (CREATE ... IF NOT EXISTS skipping) to stderr by
 * default; the server's log is the place for them. */
static void on_notice(void *arg, const char *message)
{
    (void)arg;
    char line[400];
    one_line(line, sizeof(line), message);
    log_debug("postgresql: %s", line);
}

/*---- connections ----*/

static void pg_close(struct db *db)
{
    struct pg_db *d = (struct pg_db *)db;
    PQfinish(d->conn);
    free(d->pending);
    strbuf_cleanup(&d->copy_buf);
    if (d->out_row)
        PQfreemem(d->out_row);
    free(d->out_fields);
    free(d->out_lens);
    free(db);
}

static int pg_exec(struct db *db, const char *sql)
{
    return run_simple(db, sql, NULL);
}

static int pg_begin_write(struct db *db)
{
    return run_one(db, "BEGIN", NULL);
}

static int pg_begin_write_deferred(struct db *db)
{
    return queue_sql((struct pg_db *)db, "BEGIN", PENDING_DEFERRED);
}

static int pg_last_insert_id(struct db *db, int64_t *id)
{
    return query_int(db, "SELECT lastval()", id);
}

static int pg_data_version(struct db *db, int64_t *version)
{
    return query_int(db, "SELECT n FROM greentrack_generation", version);
}

#define BUMP_SQL "UPDATE greentrack_generation SET n = n + 1 RETURNING n"

static int pg_bump_data_version(struct db *db, int64_t *version)
{
    return query_int(db, BUMP_SQL, version);
}

/* The bump and COMMIT in one pipeline: one round trip (with whatever was
 * queued before them). */
static int pg_commit_write(struct db *db, int64_t *version)
{
    struct pg_db *d = (struct pg_db *)db;
    PGresult *res = NULL;
    if (queue_sql(d, BUMP_SQL, PENDING_ANSWER) != DB_OK ||
        queue_sql(d, "COMMIT", PENDING_DEFERRED) != DB_OK)
        return DB_ERROR;
    if (pipeline_finish(d, &res) != DB_OK) {
        PQclear(res);
        return DB_ERROR;
    }
    return read_int(db, res, BUMP_SQL, version);
}

static void pg_set_busy_handler(struct db *db, int (*fn)(void *, int),
                                void *arg)
{
    (void)db;
    (void)fn;
    (void)arg;
}

static int pg_checkpoint(struct db *db)
{
    (void)db;
    return DB_OK;
}

static int set_lock_timeout(struct db *db, int ms)
{
    char sql[64];
    snprintf(sql, sizeof(sql), "SET lock_timeout = %d", ms);
    return run_simple(db, sql, NULL);
}

static enum srv_err pg_migrate_begin(struct db *db, struct errbuf *eb)
{
    /* Waiting for another server's migration is the point: no timeout. */
    char lock[80];
    snprintf(lock, sizeof(lock), "SELECT pg_advisory_lock(%" PRId64 ")",
             DB_MIGRATION_LOCK_KEY);
    if (set_lock_timeout(db, 0) != DB_OK ||
        run_simple(db, lock, NULL) != DB_OK) {
        enum srv_err e = err_set(eb, SRV_E_INTERNAL,
                                 "cannot lock the schema: %s", db_errmsg(db));
        set_lock_timeout(db, ((struct pg_db *)db)->lock_timeout_ms);
        return e;
    }
    if (run_simple(db,
                   "CREATE TABLE IF NOT EXISTS greentrack_schema ("
                   " only_row BOOLEAN PRIMARY KEY DEFAULT TRUE"
                   " CHECK (only_row), level INTEGER NOT NULL);"
                   "INSERT INTO greentrack_schema (level) VALUES (0)"
                   " ON CONFLICT DO NOTHING;"
                   /* db_data_version's counter */
                   "CREATE TABLE IF NOT EXISTS greentrack_generation ("
                   " only_row BOOLEAN PRIMARY KEY DEFAULT TRUE"
                   " CHECK (only_row), n BIGINT NOT NULL);"
                   "INSERT INTO greentrack_generation (n) VALUES (1)"
                   " ON CONFLICT DO NOTHING",
                   NULL) != DB_OK) {
        enum srv_err e =
            err_set(eb, SRV_E_INTERNAL, "cannot create greentrack_schema: %s",
                    db_errmsg(db));
        db->ops->migrate_end(db);
        return e;
    }
    return SRV_OK;
}

static int pg_schema_level(struct db *db, int *level)
{
    int64_t v;
    if (query_int(db,
                  "SELECT CASE WHEN to_regclass('greentrack_schema') IS NULL"
                  " THEN 0 ELSE -1 END",
                  &v) != DB_OK)
        return DB_ERROR;
    if (v == 0) {
        *level = 0;
        return DB_OK;
    }
    if (query_int(db, "SELECT level FROM greentrack_schema", &v) != DB_OK)
        return DB_ERROR;
    *level = (int)v;
    return DB_OK;
}

static int pg_record_level(struct db *db, int level)
{
    char sql[64];
    snprintf(sql, sizeof(sql), "UPDATE greentrack_schema SET level = %d",
             level);
    return run_simple(db, sql, NULL);
}

static void pg_migrate_end(struct db *db)
{
    char unlock[80];
    snprintf(unlock, sizeof(unlock), "SELECT pg_advisory_unlock(%" PRId64 ")",
             DB_MIGRATION_LOCK_KEY);
    /* Failures here leave the lock to the end of the session. */
    if (run_simple(db, unlock, NULL) != DB_OK ||
        set_lock_timeout(db, ((struct pg_db *)db)->lock_timeout_ms) != DB_OK)
        log_warn("postgresql: after migrating: %s", db_errmsg(db));
}

/*---- statements ----*/

static void clear_param(struct pg_param *p)
{
    if (p->heap)
        free(p->text);
    p->text = NULL;
    p->heap = false;
    p->type = 0;
}

static void clear_result(struct pg_stmt *s)
{
    PQclear(s->res);
    s->res = NULL;
    s->executed = s->failed = s->done = false;
    s->row = -1;
    s->nrows = 0;
}

static struct db_stmt *pg_prepare(struct db *db, const char *sql)
{
    struct pg_db *d = (struct pg_db *)db;
    struct pg_stmt *s = calloc(1, sizeof(*s));
    if (!s) {
        db_fail(db, DB_ERR_NOMEM, "out of memory");
        return NULL;
    }
    struct errbuf eb;
    int n = 0;
    s->sql = db_sql_to_postgres(sql, &n, &eb);
    if (!s->sql) {
        db_fail(db, DB_ERR_OTHER, "%s", eb.msg);
        free(s);
        return NULL;
    }
    size_t slots = n > 0 ? (size_t)n : 1;
    s->params = calloc(slots, sizeof(*s->params));
    s->values = calloc(slots, sizeof(*s->values));
    if (!s->params || !s->values) {
        free(s->params);
        free(s->values);
        free(s->sql);
        free(s);
        db_fail(db, DB_ERR_NOMEM, "out of memory");
        return NULL;
    }
    s->base.db = db;
    s->base.nparams = n;
    s->row = -1;
    snprintf(s->name, sizeof(s->name), "gt%" PRIu64, ++d->next_stmt);
    return &s->base;
}

static void pg_finalize(struct db_stmt *base)
{
    struct pg_stmt *s = pq(base);
    struct pg_db *d = (struct pg_db *)base->db;
    PGconn *conn = d->conn;
    /* The pipeline's entries forget it; its prepare may be queued. */
    for (int i = 0; i < d->npending; i++)
        if (d->pending[i].stmt == s)
            d->pending[i].stmt = NULL;
    /* DEALLOCATE would fail (and abort) inside a failed transaction, and
     * would wait for the pipeline; the statement then lives on until the
     * session ends. */
    if (s->prepared && d->npending == 0 && PQstatus(conn) == CONNECTION_OK &&
        (PQtransactionStatus(conn) == PQTRANS_IDLE ||
         PQtransactionStatus(conn) == PQTRANS_INTRANS)) {
        char sql[48];
        snprintf(sql, sizeof(sql), "DEALLOCATE %s", s->name);
        d->base.round_trips++;
        PQclear(PQexec(conn, sql));
    }
    clear_result(s);
    for (int i = 0; i < base->nparams; i++)
        clear_param(&s->params[i]);
    free(s->params);
    free(s->values);
    free(s->sql);
    free(s);
}

/* The parameter 'i' (1-based) ready to receive a value, or NULL (error
 * recorded) when the statement has run and not been reset. */
static struct pg_param *param_slot(struct db_stmt *base, int i)
{
    struct pg_stmt *s = pq(base);
    if (s->executed) {
        db_fail(base->db, DB_ERR_OTHER,
                "bind after step without reset (statement %s)", s->name);
        return NULL;
    }
    struct pg_param *p = &s->params[i - 1];
    clear_param(p);
    return p;
}

static int pg_bind_int64(struct db_stmt *s, int i, int64_t v)
{
    struct pg_param *p = param_slot(s, i);
    if (!p)
        return DB_ERROR;
    snprintf(p->num, sizeof(p->num), "%" PRId64, v);
    p->text = p->num;
    p->type = PG_INT8OID;
    return DB_OK;
}

static int pg_bind_double(struct db_stmt *s, int i, double v)
{
    struct pg_param *p = param_slot(s, i);
    if (!p)
        return DB_ERROR;
    if (isnan(v))
        snprintf(p->num, sizeof(p->num), "NaN");
    else if (v == 0.0) /* -0.0 too: SQLite stores both as 0 */
        snprintf(p->num, sizeof(p->num), "0");
    else if (isinf(v))
        snprintf(p->num, sizeof(p->num), "%sInfinity", v < 0 ? "-" : "");
    else /* 17 significant digits read back to the same bits */
        snprintf(p->num, sizeof(p->num), "%.17g", v);
    p->text = p->num;
    p->type = PG_FLOAT8OID;
    return DB_OK;
}

static int pg_bind_text(struct db_stmt *s, int i, const char *v, int len)
{
    size_t n = len < 0 ? strlen(v) : (size_t)len;
    if (memchr(v, '\0', n))
        return db_fail(s->db, DB_ERR_OTHER,
                       "text parameter %d holds a NUL byte", i);
    struct pg_param *p = param_slot(s, i);
    if (!p)
        return DB_ERROR;
    char *copy = malloc(n + 1);
    if (!copy)
        return db_fail(s->db, DB_ERR_NOMEM, "out of memory");
    memcpy(copy, v, n);
    copy[n] = '\0';
    p->text = copy;
    p->heap = true;
    return DB_OK;
}

static int pg_bind_null(struct db_stmt *s, int i)
{
    return param_slot(s, i) ? DB_OK : DB_ERROR;
}

/* The parameter types of the current binds, for a prepare (caller
 * frees); NULL (failure recorded) when out of memory. */
static Oid *bind_types(struct pg_stmt *s)
{
    int n = s->base.nparams;
    Oid *types = calloc(n > 0 ? (size_t)n : 1, sizeof(*types));
    if (!types) {
        db_fail(s->base.db, DB_ERR_NOMEM, "out of memory");
        return NULL;
    }
    for (int i = 0; i < n; i++)
        types[i] = s->params[i].type;
    return types;
}

/* Prepares 's' on the server with the types of the current binds. */
static int prepare_now(struct pg_stmt *s)
{
    struct db *db = s->base.db;
    Oid *types = bind_types(s);
    if (!types)
        return DB_ERROR;
    db->round_trips++;
    PGresult *res =
        PQprepare(conn_of(db), s->name, s->sql, s->base.nparams, types);
    free(types);
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
        fail_pg(db, res);
        PQclear(res);
        return DB_ERROR;
    }
    PQclear(res);
    s->prepared = true;
    return DB_OK;
}

/*---- the pipeline ----*/

/* Room for 'more' entries in the queue; DB_ERROR (recorded) if not. */
static int pending_reserve(struct pg_db *d, int more)
{
    if (d->npending + more <= d->pending_cap)
        return DB_OK;
    int cap = d->pending_cap ? d->pending_cap * 2 : 16;
    while (cap < d->npending + more)
        cap *= 2;
    struct pending *p = realloc(d->pending, sizeof(*p) * (size_t)cap);
    if (!p)
        return db_fail(&d->base, DB_ERR_NOMEM, "out of memory");
    d->pending = p;
    d->pending_cap = cap;
    return DB_OK;
}

/* Records a failure to queue a call and empties the queue (what was sent
 * before runs or not; the caller's failure is the one reported).
 * Returns DB_ERROR. */
static int queue_failed(struct pg_db *d)
{
    struct db *db = &d->base;
    char msg[sizeof(db->errmsg)];
    fail_pg(db, NULL);
    snprintf(msg, sizeof(msg), "%s", db->errmsg);
    enum db_error_kind kind = db->err_kind;
    if (d->npending > 0)
        pipeline_finish(d, NULL);
    return db_fail(db, kind, "%s", msg);
}

/* Enters pipeline mode for the first call queued; room for 'more'. */
static int queue_open(struct pg_db *d, int more)
{
    if (pending_reserve(d, more) != DB_OK)
        return DB_ERROR;
    if (PQpipelineStatus(d->conn) == PQ_PIPELINE_OFF &&
        PQenterPipelineMode(d->conn) != 1)
        return queue_failed(d);
    return DB_OK;
}

/* Queues 'sql' (one statement, no parameters) as a call of 'kind'. */
static int queue_sql(struct pg_db *d, const char *sql, enum pending_kind kind)
{
    if (queue_open(d, 1) != DB_OK)
        return DB_ERROR;
    if (PQsendQueryParams(d->conn, sql, 0, NULL, NULL, NULL, NULL, 0) != 1)
        return queue_failed(d);
    d->pending[d->npending++] = (struct pending){kind, NULL};
    return DB_OK;
}

/* Queues an execution of 's' with its current binds as a call of 'kind',
 * preceded by its prepare the first time. */
static int queue_stmt(struct pg_db *d, struct pg_stmt *s,
                      enum pending_kind kind)
{
    if (queue_open(d, 2) != DB_OK)
        return DB_ERROR;
    int n = s->base.nparams;
    if (!s->prepared) {
        Oid *types = bind_types(s);
        if (!types)
            return DB_ERROR;
        int sent = PQsendPrepare(d->conn, s->name, s->sql, n, types);
        free(types);
        if (sent != 1)
            return queue_failed(d);
        /* taken back by pipeline_finish if the server refuses it */
        s->prepared = true;
        d->pending[d->npending++] = (struct pending){PENDING_PREPARE, s};
    }
    for (int i = 0; i < n; i++)
        s->values[i] = s->params[i].text;
    if (PQsendQueryPrepared(d->conn, s->name, n, s->values, NULL, NULL, 0) != 1)
        return queue_failed(d);
    d->pending[d->npending++] = (struct pending){kind, NULL};
    return DB_OK;
}

/* Reads and frees what is left of one call's results (the NULL that ends
 * them); a few at most, unless the connection is gone. */
static void skip_to_end_of_call(PGconn *conn)
{
    PGresult *res;
    for (int i = 0; i < 8 && (res = PQgetResult(conn)) != NULL; i++)
        PQclear(res);
}

/* Sends the queue with a sync, reads every call's result in order and
 * leaves pipeline mode: one round trip. DB_OK when every call succeeded,
 * with the PENDING_ANSWER call's result in *answer (caller clears; when
 * 'answer' is not NULL); else DB_ERROR with the first failure recorded
 * (the calls after it were skipped by the server: PGRES_PIPELINE_ABORTED).
 * The queue is empty after it, whatever happened. */
static int pipeline_finish(struct pg_db *d, PGresult **answer)
{
    struct db *db = &d->base;
    PGconn *conn = d->conn;
    bool failed = false;
    db->round_trips++;
    bool reading = PQpipelineSync(conn) == 1;
    if (!reading) {
        fail_pg(db, NULL);
        failed = true;
    }
    for (int i = 0; i < d->npending; i++) {
        struct pending *p = &d->pending[i];
        PGresult *res = reading ? PQgetResult(conn) : NULL;
        bool got = res != NULL;
        ExecStatusType st = got ? PQresultStatus(res) : PGRES_FATAL_ERROR;
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
            if (p->kind == PENDING_ANSWER && answer) {
                *answer = res;
                res = NULL;
            }
        } else {
            if (p->kind == PENDING_PREPARE && p->stmt)
                p->stmt->prepared = false;
            if (!failed) {
                fail_pg(db, res);
                failed = true;
            }
        }
        PQclear(res);
        if (got)
            skip_to_end_of_call(conn);
        if (PQstatus(conn) != CONNECTION_OK)
            reading = false; /* nothing more will come */
    }
    d->npending = 0;
    if (reading) {
        PGresult *res = PQgetResult(conn);
        if (!res || PQresultStatus(res) != PGRES_PIPELINE_SYNC) {
            if (!failed)
                fail_pg(db, res);
            failed = true;
        }
        PQclear(res);
    }
    if (PQexitPipelineMode(conn) != 1 && PQstatus(conn) == CONNECTION_OK) {
        /* not expected: results the counting missed */
        skip_to_end_of_call(conn);
        if (PQexitPipelineMode(conn) != 1 && !failed) {
            fail_pg(db, NULL);
            failed = true;
        }
    }
    if (failed && answer) {
        PQclear(*answer);
        *answer = NULL;
    }
    return failed ? DB_ERROR : DB_OK;
}

static int pg_flush(struct db *db)
{
    struct pg_db *d = (struct pg_db *)db;
    return d->npending > 0 ? pipeline_finish(d, NULL) : DB_OK;
}

/* Runs 's' and keeps its result: alone, or as the last call of the
 * pipeline when calls are queued. */
static int execute(struct pg_stmt *s)
{
    struct db *db = s->base.db;
    struct pg_db *d = (struct pg_db *)db;
    s->executed = true;
    db_clear_error(db);
    PGresult *res = NULL;
    if (d->npending > 0) {
        if (queue_stmt(d, s, PENDING_ANSWER) != DB_OK ||
            pipeline_finish(d, &res) != DB_OK) {
            PQclear(res);
            s->failed = true;
            return DB_ERROR;
        }
    } else {
        if (!s->prepared && prepare_now(s) != DB_OK) {
            s->failed = true;
            return DB_ERROR;
        }
        for (int i = 0; i < s->base.nparams; i++)
            s->values[i] = s->params[i].text;
        db->round_trips++;
        res = PQexecPrepared(conn_of(db), s->name, s->base.nparams, s->values,
                             NULL, NULL, 0);
    }
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        fail_pg(db, res);
        PQclear(res);
        s->failed = true;
        return DB_ERROR;
    }
    s->res = res;
    s->nrows = st == PGRES_TUPLES_OK ? PQntuples(res) : 0;
    s->row = -1;
    /* PQcmdTuples counts a SELECT's rows too; SQLite counts only DML */
    const char *tag = PQcmdStatus(res);
    bool dml = strncmp(tag, "INSERT", 6) == 0 ||
               strncmp(tag, "UPDATE", 6) == 0 ||
               strncmp(tag, "DELETE", 6) == 0 || strncmp(tag, "MERGE", 5) == 0;
    s->changes = dml ? strtoll(PQcmdTuples(res), NULL, 10) : 0;
    return DB_OK;
}

/* Queues 's' (db_step_deferred): done at once as far as the caller can
 * tell, with no rows and no changes counted. */
static int pg_step_deferred(struct db_stmt *base)
{
    struct pg_stmt *s = pq(base);
    struct pg_db *d = (struct pg_db *)base->db;
    if (s->failed || s->executed)
        return db_fail(base->db, DB_ERR_OTHER,
                       "statement %s has run; reset it to run it again",
                       s->name);
    s->executed = s->done = true;
    s->changes = 0;
    if (queue_stmt(d, s, PENDING_DEFERRED) != DB_OK) {
        s->failed = true;
        return DB_ERROR;
    }
    return DB_OK;
}

static int pg_step(struct db_stmt *base)
{
    struct pg_stmt *s = pq(base);
    if (s->failed)
        return db_fail(base->db, DB_ERR_OTHER,
                       "statement %s failed; reset it to run it again",
                       s->name);
    if (!s->executed && execute(s) != DB_OK)
        return DB_ERROR;
    if (s->done)
        return DB_DONE;
    if (++s->row < s->nrows)
        return DB_ROW;
    s->done = true;
    return DB_DONE;
}

static int pg_reset(struct db_stmt *base)
{
    struct pg_stmt *s = pq(base);
    clear_result(s);
    for (int i = 0; i < base->nparams; i++)
        clear_param(&s->params[i]);
    return DB_OK;
}

static int64_t pg_changes(const struct db_stmt *s)
{
    return cpq(s)->done ? cpq(s)->changes : 0;
}

static int pg_column_count(const struct db_stmt *s)
{
    return cpq(s)->res ? PQnfields(cpq(s)->res) : 0;
}

/* The current row's value of 'col', or NULL when there is none or it is
 * NULL. */
static const char *cell(const struct db_stmt *base, int col)
{
    const struct pg_stmt *s = cpq(base);
    if (!s->res || s->row < 0 || s->row >= s->nrows || col < 0 ||
        col >= PQnfields(s->res) || PQgetisnull(s->res, s->row, col))
        return NULL;
    return PQgetvalue(s->res, s->row, col);
}

static enum db_type pg_column_type(const struct db_stmt *s, int col)
{
    if (!cell(s, col))
        return DB_NULL;
    switch (PQftype(cpq(s)->res, col)) {
    case PG_BOOLOID:
    case PG_INT2OID:
    case PG_INT4OID:
    case PG_INT8OID:
    case PG_OIDOID:
        return DB_INT;
    case PG_FLOAT4OID:
    case PG_FLOAT8OID:
    case PG_NUMERICOID:
        return DB_FLOAT;
    default:
        return DB_TEXT;
    }
}

static double pg_column_double(const struct db_stmt *s, int col)
{
    const char *v = cell(s, col);
    if (!v)
        return 0.0;
    if (PQftype(cpq(s)->res, col) == PG_BOOLOID)
        return v[0] == 't' ? 1.0 : 0.0;
    return strtod(v, NULL);
}

static int64_t pg_column_int64(const struct db_stmt *s, int col)
{
    const char *v = cell(s, col);
    if (!v)
        return 0;
    if (PQftype(cpq(s)->res, col) == PG_BOOLOID)
        return v[0] == 't';
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (*end == '.' || *end == 'e' || *end == 'E' || end == v) {
        /* a float, numeric or "NaN"/"Infinity": as SQLite converts */
        double d = strtod(v, NULL);
        if (isnan(d))
            return 0;
        if (d >= 9223372036854775807.0)
            return INT64_MAX;
        if (d <= -9223372036854775808.0)
            return INT64_MIN;
        return (int64_t)d;
    }
    return (int64_t)n;
}

static const char *pg_column_text(const struct db_stmt *s, int col)
{
    return cell(s, col);
}

static int pg_column_bytes(const struct db_stmt *s, int col)
{
    return cell(s, col) ? PQgetlength(cpq(s)->res, cpq(s)->row, col) : 0;
}

/*---- bulk copy ----*/

/* Send COPY data in blocks of about this many bytes. */
#define COPY_BLOCK (256 * 1024)

size_t db_copy_escape(char *out, const char *v, size_t len)
{
    char *o = out;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)v[i];
        char e = 0;
        switch (c) {
        case '\0':
            return (size_t)-1;
        case '\\':
            e = '\\';
            break;
        case '\t':
            e = 't';
            break;
        case '\n':
            e = 'n';
            break;
        case '\r':
            e = 'r';
            break;
        case '\b':
            e = 'b';
            break;
        case '\f':
            e = 'f';
            break;
        case '\v':
            e = 'v';
            break;
        default:
            break;
        }
        if (e) {
            *o++ = '\\';
            *o++ = e;
        } else {
            *o++ = (char)c;
        }
    }
    return (size_t)(o - out);
}

size_t db_copy_unescape(char *v, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (v[i] != '\\' || i + 1 == len) {
            v[o++] = v[i];
            continue;
        }
        char c = v[++i];
        switch (c) {
        case 't':
            v[o++] = '\t';
            break;
        case 'n':
            v[o++] = '\n';
            break;
        case 'r':
            v[o++] = '\r';
            break;
        case 'b':
            v[o++] = '\b';
            break;
        case 'f':
            v[o++] = '\f';
            break;
        case 'v':
            v[o++] = '\v';
            break;
        case 'x': { /* \xH or \xHH */
            int h = i + 1 < len ? numtext_hex_digit(v[i + 1]) : -1;
            if (h < 0) {
                v[o++] = 'x';
                break;
            }
            i++;
            int h2 = i + 1 < len ? numtext_hex_digit(v[i + 1]) : -1;
            if (h2 >= 0) {
                h = h * 16 + h2;
                i++;
            }
            v[o++] = (char)h;
            break;
        }
        default:
            if (c >= '0' && c <= '7') { /* \ooo, one to three digits */
                int n = c - '0';
                for (int k = 0;
                     k < 2 && i + 1 < len && v[i + 1] >= '0' && v[i + 1] <= '7';
                     k++)
                    n = n * 8 + (v[++i] - '0');
                v[o++] = (char)n;
            } else {
                v[o++] = c; /* \\ and any other character as itself */
            }
            break;
        }
    }
    return o;
}

size_t db_copy_format_double(double v, char *buf)
{
    const char *special = NULL;
    if (isnan(v))
        special = "NaN";
    else if (isinf(v))
        special = v > 0 ? "Infinity" : "-Infinity";
    if (special) {
        size_t n = strlen(special);
        memcpy(buf, special, n + 1);
        return n;
    }
    return numtext_format_double(v, buf);
}

/* The copy in progress as the given mode, or NULL (failure recorded). */
static struct pg_db *copying(struct db *db, int mode)
{
    if (db->engine != DB_POSTGRES) {
        db_fail(db, DB_ERR_OTHER, "COPY needs PostgreSQL");
        return NULL;
    }
    struct pg_db *d = (struct pg_db *)db;
    if ((int)d->copy != mode) {
        db_fail(db, DB_ERR_OTHER, "no COPY of that direction in progress");
        return NULL;
    }
    return d;
}

/* Runs COPY "table" (cols) 'dir'; DB_OK when the server is ready. */
static int copy_start(struct db *db, const char *table, const char *const *cols,
                      int ncols, bool in)
{
    if (db->engine != DB_POSTGRES)
        return db_fail(db, DB_ERR_OTHER, "COPY needs PostgreSQL");
    struct pg_db *d = (struct pg_db *)db;
    if (d->copy != COPY_NONE)
        return db_fail(db, DB_ERR_OTHER, "a COPY is already in progress");
    db_clear_error(db);
    struct strbuf sql;
    strbuf_init(&sql);
    char *id = PQescapeIdentifier(d->conn, table, strlen(table));
    strbuf_printf(&sql, "COPY %s (", id ? id : "");
    PQfreemem(id);
    for (int i = 0; i < ncols; i++) {
        id = PQescapeIdentifier(d->conn, cols[i], strlen(cols[i]));
        strbuf_printf(&sql, "%s%s", i ? ", " : "", id ? id : "");
        PQfreemem(id);
    }
    strbuf_append_str(&sql, in ? ") FROM STDIN" : ") TO STDOUT");
    if (sql.oom) {
        strbuf_cleanup(&sql);
        return db_fail(db, DB_ERR_NOMEM, "out of memory");
    }
    if (d->npending > 0 && pipeline_finish(d, NULL) != DB_OK) {
        strbuf_cleanup(&sql);
        return DB_ERROR;
    }
    db->round_trips++;
    PGresult *res = PQexec(d->conn, sql.buf);
    strbuf_cleanup(&sql);
    ExecStatusType want = in ? PGRES_COPY_IN : PGRES_COPY_OUT;
    if (!res || PQresultStatus(res) != want) {
        fail_pg(db, res);
        PQclear(res);
        return DB_ERROR;
    }
    PQclear(res);
    d->copy = in ? COPY_IN : COPY_OUT;
    strbuf_reset(&d->copy_buf);
    d->copy_row_started = false;
    return DB_OK;
}

int db_copy_in_begin(struct db *db, const char *table, const char *const *cols,
                     int ncols)
{
    return copy_start(db, table, cols, ncols, true);
}

int db_copy_out_begin(struct db *db, const char *table, const char *const *cols,
                      int ncols)
{
    return copy_start(db, table, cols, ncols, false);
}

/* Starts a field: the separator unless it is the row's first. */
static struct pg_db *field(struct db *db)
{
    struct pg_db *d = copying(db, COPY_IN);
    if (!d)
        return NULL;
    if (d->copy_row_started)
        strbuf_append_char(&d->copy_buf, '\t');
    d->copy_row_started = true;
    return d;
}

static int field_done(struct pg_db *d)
{
    return d->copy_buf.oom ? db_fail(&d->base, DB_ERR_NOMEM, "out of memory")
                           : DB_OK;
}

int db_copy_put_null(struct db *db)
{
    struct pg_db *d = field(db);
    if (!d)
        return DB_ERROR;
    strbuf_append(&d->copy_buf, "\\N", 2);
    return field_done(d);
}

int db_copy_put_int64(struct db *db, int64_t v)
{
    struct pg_db *d = field(db);
    if (!d)
        return DB_ERROR;
    char num[24];
    int n = snprintf(num, sizeof(num), "%" PRId64, v);
    strbuf_append(&d->copy_buf, num, (size_t)n);
    return field_done(d);
}

int db_copy_put_bool(struct db *db, bool v)
{
    struct pg_db *d = field(db);
    if (!d)
        return DB_ERROR;
    strbuf_append_char(&d->copy_buf, v ? 't' : 'f');
    return field_done(d);
}

int db_copy_put_double(struct db *db, double v)
{
    struct pg_db *d = field(db);
    if (!d)
        return DB_ERROR;
    char num[NUMTEXT_DOUBLE_MAX];
    size_t n = db_copy_format_double(v, num);
    strbuf_append(&d->copy_buf, num, n);
    return field_done(d);
}

int db_copy_put_text(struct db *db, const char *v, size_t len)
{
    struct pg_db *d = field(db);
    if (!d)
        return DB_ERROR;
    if (len > SIZE_MAX / 2 - 1 || !strbuf_reserve(&d->copy_buf, 2 * len))
        return db_fail(db, DB_ERR_NOMEM, "out of memory");
    size_t n = db_copy_escape(d->copy_buf.buf + d->copy_buf.len, v, len);
    if (n == (size_t)-1) {
        d->copy_buf.buf[d->copy_buf.len] = '\0';
        return db_fail(db, DB_ERR_OTHER,
                       "text holds a NUL byte, which PostgreSQL cannot "
                       "store");
    }
    d->copy_buf.len += n;
    d->copy_buf.buf[d->copy_buf.len] = '\0';
    return DB_OK;
}

/* Sends the buffered rows. */
static int copy_flush(struct pg_db *d)
{
    if (d->copy_buf.len == 0)
        return DB_OK;
    if (PQputCopyData(d->conn, d->copy_buf.buf, (int)d->copy_buf.len) != 1)
        return fail_pg(&d->base, NULL);
    strbuf_reset(&d->copy_buf);
    return DB_OK;
}

int db_copy_end_row(struct db *db)
{
    struct pg_db *d = copying(db, COPY_IN);
    if (!d)
        return DB_ERROR;
    strbuf_append_char(&d->copy_buf, '\n');
    d->copy_row_started = false;
    if (d->copy_buf.oom)
        return db_fail(db, DB_ERR_NOMEM, "out of memory");
    return d->copy_buf.len >= COPY_BLOCK ? copy_flush(d) : DB_OK;
}

/* Reads the results that end a COPY; DB_OK when the last says so. */
static int copy_results(struct pg_db *d)
{
    int rc = DB_OK;
    PGresult *res;
    while ((res = PQgetResult(d->conn)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == DB_OK)
            rc = fail_pg(&d->base, res);
        PQclear(res);
    }
    return rc;
}

int db_copy_in_end(struct db *db, bool cancel)
{
    struct pg_db *d = copying(db, COPY_IN);
    if (!d)
        return DB_ERROR;
    char saved[sizeof(db->errmsg)];
    snprintf(saved, sizeof(saved), "%s", db->errmsg);
    enum db_error_kind saved_kind = db->err_kind;
    int rc = cancel ? DB_ERROR : copy_flush(d);
    if (PQputCopyEnd(d->conn, rc == DB_OK ? NULL : "copy cancelled") != 1)
        rc = fail_pg(db, NULL);
    d->copy = COPY_NONE;
    strbuf_reset(&d->copy_buf);
    int end = copy_results(d);
    if (cancel && saved[0]) /* the caller's reason is the one to keep */
        return db_fail(db, saved_kind, "%s", saved);
    return rc == DB_OK ? end : DB_ERROR;
}

int db_copy_out_next(struct db *db, int *nfields, const char *const **fields,
                     const size_t **lens)
{
    struct pg_db *d = copying(db, COPY_OUT);
    if (!d)
        return DB_ERROR;
    if (d->out_row) {
        PQfreemem(d->out_row);
        d->out_row = NULL;
    }
    char *row = NULL;
    int n = PQgetCopyData(d->conn, &row, 0);
    if (n == -1) { /* done */
        d->copy = COPY_NONE;
        return copy_results(d) == DB_OK ? DB_DONE : DB_ERROR;
    }
    if (n < 0) {
        d->copy = COPY_NONE;
        fail_pg(db, NULL);
        copy_results(d);
        return DB_ERROR;
    }
    d->out_row = row;
    if (n > 0 && row[n - 1] == '\n')
        n--;
    int count = 0;
    size_t start = 0;
    for (size_t i = 0;; i++) {
        if (i < (size_t)n && row[i] != '\t')
            continue;
        if (count == d->out_cap) {
            int cap = d->out_cap ? d->out_cap * 2 : 16;
            const char **f = realloc(d->out_fields, sizeof(*f) * (size_t)cap);
            if (f)
                d->out_fields = f;
            size_t *l = realloc(d->out_lens, sizeof(*l) * (size_t)cap);
            if (l)
                d->out_lens = l;
            if (!f || !l)
                return db_fail(db, DB_ERR_NOMEM, "out of memory");
            d->out_cap = cap;
        }
        size_t len = i - start;
        if (len == 2 && row[start] == '\\' && row[start + 1] == 'N') {
            d->out_fields[count] = NULL;
            d->out_lens[count] = 0;
        } else {
            len = db_copy_unescape(row + start, len);
            row[start + len] = '\0';
            d->out_fields[count] = row + start;
            d->out_lens[count] = len;
        }
        count++;
        start = i + 1;
        if (i >= (size_t)n)
            break;
    }
    *nfields = count;
    *fields = d->out_fields;
    *lens = d->out_lens;
    return DB_ROW;
}

static bool pg_connection_lost(const struct db *db)
{
    return PQstatus(((const struct pg_db *)db)->conn) == CONNECTION_BAD;
}

static const struct db_ops postgres_ops = {
    .close = pg_close,
    .exec = pg_exec,
    .begin_write = pg_begin_write,
    .begin_write_deferred = pg_begin_write_deferred,
    .flush = pg_flush,
    .commit_write = pg_commit_write,
    .last_insert_id = pg_last_insert_id,
    .data_version = pg_data_version,
    .bump_data_version = pg_bump_data_version,
    .set_busy_handler = pg_set_busy_handler,
    .checkpoint = pg_checkpoint,
    .connection_lost = pg_connection_lost,
    .migrate_begin = pg_migrate_begin,
    .schema_level = pg_schema_level,
    .record_level = pg_record_level,
    .migrate_end = pg_migrate_end,
    .prepare = pg_prepare,
    .finalize = pg_finalize,
    .bind_int64 = pg_bind_int64,
    .bind_double = pg_bind_double,
    .bind_text = pg_bind_text,
    .bind_null = pg_bind_null,
    .step = pg_step,
    .step_deferred = pg_step_deferred,
    .reset = pg_reset,
    .changes = pg_changes,
    .column_count = pg_column_count,
    .column_type = pg_column_type,
    .column_int64 = pg_column_int64,
    .column_double = pg_column_double,
    .column_text = pg_column_text,
    .column_bytes = pg_column_bytes,
};

struct db *db_postgres_open(const char *uri, const struct db_options *opt,
                            struct errbuf *eb)
{
    struct pg_db *d = calloc(1, sizeof(*d));
    if (!d) {
        err_set(eb, SRV_E_NOMEM, "out of memory");
        return NULL;
    }
    d->base.ops = &postgres_ops;
    d->base.engine = DB_POSTGRES;
    d->lock_timeout_ms = opt->busy_timeout_ms > 0 ? opt->busy_timeout_ms : 0;
    d->conn = PQconnectdb(uri);
    if (!d->conn || PQstatus(d->conn) != CONNECTION_OK) {
        char msg[400];
        one_line(msg, sizeof(msg),
                 d->conn ? PQerrorMessage(d->conn) : "out of memory");
        /* libpq's message names host and port, never the password */
        err_set(eb, SRV_E_INTERNAL, "cannot connect to PostgreSQL: %s", msg);
        pg_close(&d->base);
        return NULL;
    }
    PQsetNoticeProcessor(d->conn, on_notice, NULL);
    char setup[160];
    snprintf(setup, sizeof(setup),
             "SET client_encoding = 'UTF8'; SET extra_float_digits = 3; "
             "SET lock_timeout = %d",
             d->lock_timeout_ms);
    if (pg_exec(&d->base, setup) != DB_OK) {
        err_set(eb, SRV_E_INTERNAL,
                "cannot configure the PostgreSQL "
                "session: %s",
                db_errmsg(&d->base));
        pg_close(&d->base);
        return NULL;
    }
    return &d->base;
}
