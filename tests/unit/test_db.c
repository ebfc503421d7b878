/* SPDX-License-Identifier: MIT
 *
 * test_db: the store's engine-neutral API (server/store/db.h) on SQLite and
 * on a real PostgreSQL 15 (GREENTRACK_TEST_PG, which make test exports;
 * run alone, the test starts its own with tests/pg/cluster.sh). The same
 * checks run on both engines and each writes what it read to a
 * transcript: the engines must agree value for value, bit for bit. Also
 * the pipeline of deferred statements (db_step_deferred, db_flush): order,
 * where a failure surfaces and with what, savepoints after one, round
 * trips, and a connection lost with statements queued.
 */
#include "pg_unit.h"
#include "store/db.h"
#include "store/dialect.h"
#include "test.h"

#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*---- the transcript: what an engine read, to compare across engines ----*/

struct transcript {
    char *buf;
    size_t len, cap;
};

static void note(struct transcript *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void note(struct transcript *t, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t add = strlen(line) + 1;
    if (t->len + add + 1 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 4096;
        while (cap < t->len + add + 1)
            cap *= 2;
        char *nb = realloc(t->buf, cap);
        if (!nb)
            return;
        t->buf = nb;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, line, add - 1);
    t->len += add - 1;
    t->buf[t->len++] = '\n';
    t->buf[t->len] = '\0';
}

/* Notes every column of the current row: type and value (doubles in
 * hexadecimal, so a single bit of difference shows). */
static void note_row(struct transcript *t, struct db_stmt *s)
{
    for (int c = 0; c < db_column_count(s); c++) {
        switch (db_column_type(s, c)) {
        case DB_NULL:
            note(t, "  %d null", c);
            break;
        case DB_INT:
            note(t, "  %d int %" PRId64, c, db_column_int64(s, c));
            break;
        case DB_FLOAT:
            note(t, "  %d float %a", c, db_column_double(s, c));
            break;
        case DB_TEXT:
            note(t, "  %d text %d '%s'", c, db_column_bytes(s, c),
                 db_column_text(s, c));
            break;
        }
    }
}

/* Runs 's' to the end, noting each row; returns the rows or -1. */
static int run_noted(struct transcript *t, struct db_stmt *s)
{
    int rows = 0, rc;
    while ((rc = db_step(s)) == DB_ROW) {
        note(t, " row %d", rows);
        note_row(t, s);
        rows++;
    }
    if (rc != DB_DONE) {
        fprintf(stderr, "step: %s\n", db_errmsg(db_stmt_db(s)));
        return -1;
    }
    note(t, " done, %" PRId64 " changed", db_changes(s));
    return rows;
}

static int exec_ok(struct db *db, const char *sql)
{
    int rc = db_exec(db, sql);
    if (rc != DB_OK)
        fprintf(stderr, "exec failed: %s: %s\n", db_errmsg(db), sql);
    return rc == DB_OK;
}

/*---- placeholder translation (no database) ----*/

static void check_translation(const char *in, const char *want, int want_n)
{
    struct errbuf eb;
    int n = -1;
    char *out = db_sql_to_postgres(in, &n, &eb);
    CHECK(out != NULL);
    if (!out)
        return;
    CHECK_EQ_STR(out, want);
    CHECK_EQ_INT(n, want_n);
    free(out);
}

static void test_translation(void)
{
    check_translation("SELECT 1", "SELECT 1", 0);
    check_translation("SELECT ?, ?", "SELECT $1, $2", 2);
    /* a bare ? follows the largest number so far, as SQLite numbers */
    check_translation("SELECT ?2, ?, ?1, ?", "SELECT $2, $3, $1, $4", 4);
    check_translation("x = ?10 OR y = ?", "x = $10 OR y = $11", 11);
    check_translation("SELECT 'a?b', \"c?\", ? -- ?\n, ? /* ? */",
                      "SELECT 'a?b', \"c?\", $1 -- ?\n, $2 /* ? */", 2);
    check_translation("SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1", 1);
    check_translation("SELECT \"a\"\"?\", ?", "SELECT \"a\"\"?\", $1", 1);
    check_translation("SELECT '?", "SELECT '?", 0); /* the server says */
    struct errbuf eb;
    int n;
    CHECK(db_sql_to_postgres("SELECT ?0", &n, &eb) == NULL);
    CHECK(db_sql_to_postgres("SELECT ?32767", &n, &eb) == NULL);
    CHECK(db_sql_to_postgres("SELECT ?99999999999999999999", &n, &eb) == NULL);
    char *ok = db_sql_to_postgres("SELECT ?32766, ?", &n, &eb);
    CHECK(ok == NULL); /* the bare one would be 32767 */
    free(ok);
    CHECK(db_target_is_postgres("postgresql://u@h/db"));
    CHECK(db_target_is_postgres("postgres://h/db"));
    CHECK(!db_target_is_postgres("/tmp/greentrack.db"));
    CHECK(!db_target_is_postgres("postgresql.db"));
}

/*---- the shared checks ----*/

static const char *ddl(struct db *db)
{
    /* the one statement whose text differs: an auto-numbered key */
    if (db_engine(db) == DB_POSTGRES)
        return "CREATE TABLE kv (k TEXT PRIMARY KEY, i BIGINT, "
               "f DOUBLE PRECISION, s TEXT);"
               "CREATE TABLE seq (id BIGINT GENERATED BY DEFAULT AS "
               "IDENTITY PRIMARY KEY, name TEXT NOT NULL UNIQUE);";
    return "CREATE TABLE kv (k TEXT PRIMARY KEY, i BIGINT, "
           "f DOUBLE PRECISION, s TEXT);"
           "CREATE TABLE seq (id INTEGER PRIMARY KEY, "
           "name TEXT NOT NULL UNIQUE);";
}

static void check_placeholders(struct db *db, struct transcript *t)
{
    note(t, "placeholders");
    struct db_stmt *s =
        db_prepare(db, "SELECT ?2, ?1, ?2, ?, 'it''s ?' /* ? */, ? -- ?\n");
    CHECK(s != NULL);
    if (!s)
        return;
    CHECK_EQ_INT(db_bind_count(s), 4);
    CHECK_EQ_INT(db_bind_text(s, 1, "a", -1), DB_OK);
    CHECK_EQ_INT(db_bind_text(s, 2, "b", -1), DB_OK);
    CHECK_EQ_INT(db_bind_text(s, 3, "c", -1), DB_OK);
    CHECK_EQ_INT(db_bind_text(s, 4, "d", -1), DB_OK);
    CHECK_EQ_INT(db_bind_text(s, 5, "e", -1), DB_ERROR); /* out of range */
    CHECK_EQ_INT(db_bind_int64(s, 0, 1), DB_ERROR);
    CHECK_EQ_INT(db_step(s), DB_ROW);
    CHECK_EQ_INT(db_column_count(s), 6);
    CHECK_EQ_STR(db_column_text(s, 0), "b");
    CHECK_EQ_STR(db_column_text(s, 1), "a");
    CHECK_EQ_STR(db_column_text(s, 2), "b");
    CHECK_EQ_STR(db_column_text(s, 3), "c");
    CHECK_EQ_STR(db_column_text(s, 4), "it's ?");
    CHECK_EQ_STR(db_column_text(s, 5), "d");
    note_row(t, s);
    CHECK_EQ_INT(db_step(s), DB_DONE);
    /* re-executed after reset with other values */
    db_reset(s);
    db_bind_text(s, 1, "x", -1);
    db_bind_text(s, 2, "y", -1);
    CHECK_EQ_INT(db_step(s), DB_ROW);
    CHECK_EQ_STR(db_column_text(s, 0), "y");
    CHECK_EQ_STR(db_column_text(s, 1), "x");
    CHECK(db_column_text(s, 3) == NULL); /* unbound after reset: NULL */
    CHECK_EQ_INT(db_column_type(s, 3), DB_NULL);
    note_row(t, s);
    db_finalize(s);
}

static const int64_t ints[] = {0, 1, -1, INT64_MAX, INT64_MIN, 4294967296LL};

static void check_round_trip(struct db *db, struct transcript *t)
{
    note(t, "round trip");
    const double doubles[] = {0.1,       1e-300,  -0.0,     INFINITY,
                              -INFINITY, DBL_MAX, -DBL_MIN, 1.0 / 3.0,
                              2.5e-07,   1e+300,  5e-324,   123456789.0};
    const size_t nd = sizeof(doubles) / sizeof(doubles[0]);
    const size_t ni = sizeof(ints) / sizeof(ints[0]);
    struct db_stmt *ins =
        db_prepare(db, "INSERT INTO kv (k, i, f, s) VALUES (?, ?, ?, ?)");
    CHECK(ins != NULL);
    if (!ins)
        return;
    size_t rows = nd > ni ? nd : ni;
    for (size_t r = 0; r < rows; r++) {
        char k[16];
        snprintf(k, sizeof(k), "rt%02zu", r);
        db_bind_text(ins, 1, k, -1);
        if (r < ni)
            db_bind_int64(ins, 2, ints[r]);
        if (r < nd)
            db_bind_double(ins, 3, doubles[r]);
        if (r % 3 == 0)
            db_bind_text(ins, 4, "h\xc3\xa9llo \xe2\x9c\x93 and more", 10);
        else if (r % 3 == 1)
            db_bind_text(ins, 4, "", 0);
        else
            db_bind_null(ins, 4);
        if (db_step(ins) != DB_DONE)
            fprintf(stderr, "  insert %s: %s\n", k, db_errmsg(db));
        CHECK_EQ_INT(db_changes(ins), 1);
        db_reset(ins);
    }
    db_finalize(ins);

    struct db_stmt *sel =
        db_prepare(db, "SELECT k, i, f, s FROM kv WHERE k LIKE ? ORDER BY k");
    CHECK(sel != NULL);
    if (!sel)
        return;
    db_bind_text(sel, 1, "rt%", -1);
    size_t r = 0;
    while (db_step(sel) == DB_ROW) {
        if (r < ni) {
            CHECK_EQ_INT(db_column_type(sel, 1), DB_INT);
            CHECK(db_column_int64(sel, 1) == ints[r]);
        } else {
            CHECK_EQ_INT(db_column_type(sel, 1), DB_NULL);
            CHECK_EQ_INT(db_column_int64(sel, 1), 0);
        }
        if (r < nd) {
            double got = db_column_double(sel, 2);
            /* SQLite keeps -0.0 as 0.0 in a REAL column; PostgreSQL's
             * engine folds it the same way so the two agree */
            double want = doubles[r] == 0.0 ? 0.0 : doubles[r];
            CHECK_EQ_INT(db_column_type(sel, 2), DB_FLOAT);
            if (memcmp(&got, &want, sizeof(got)) != 0) {
                fprintf(stderr, "  double %zu: sent %a, read %a\n", r,
                        doubles[r], got);
                CHECK(!"double read back bit for bit");
            }
        }
        const char *s = db_column_text(sel, 3);
        if (r % 3 == 0) {
            CHECK_EQ_STR(s, "h\xc3\xa9llo \xe2\x9c\x93");
            CHECK_EQ_INT(db_column_bytes(sel, 3), 10);
        } else if (r % 3 == 1) {
            CHECK_EQ_STR(s, "");
            CHECK_EQ_INT(db_column_type(sel, 3), DB_TEXT);
        } else {
            CHECK(s == NULL);
            CHECK_EQ_INT(db_column_type(sel, 3), DB_NULL);
        }
        note(t, " row %zu", r);
        note_row(t, sel);
        r++;
    }
    CHECK_EQ_INT(r, rows);
    db_finalize(sel);

    /* a parameter compared with a column: ints and doubles both ways */
    struct db_stmt *cmp = db_prepare(db, "SELECT count(*) FROM kv "
                                         "WHERE i >= ? AND f < ?");
    CHECK(cmp != NULL);
    if (cmp) {
        db_bind_int64(cmp, 1, 0);
        db_bind_double(cmp, 2, 1.0);
        CHECK_EQ_INT(db_step(cmp), DB_ROW);
        CHECK_EQ_INT(db_column_type(cmp, 0), DB_INT);
        note_row(t, cmp);
        db_finalize(cmp);
    }
}

static void check_writes(struct db *db, struct transcript *t)
{
    note(t, "returning");
    struct db_stmt *ins =
        db_prepare(db, "INSERT INTO seq (name) VALUES (?) RETURNING id, name");
    CHECK(ins != NULL);
    if (!ins)
        return;
    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof(name), "n%d", i);
        db_bind_text(ins, 1, name, -1);
        CHECK_EQ_INT(db_step(ins), DB_ROW);
        CHECK_EQ_INT(db_column_int64(ins, 0), i + 1);
        CHECK_EQ_STR(db_column_text(ins, 1), name);
        note_row(t, ins);
        CHECK_EQ_INT(db_step(ins), DB_DONE);
        CHECK_EQ_INT(db_changes(ins), 1);
        int64_t last = 0;
        CHECK_EQ_INT(db_last_insert_id(db, &last), DB_OK);
        CHECK_EQ_INT(last, i + 1);
        db_reset(ins);
    }
    /* a unique violation is told apart from other errors */
    db_bind_text(ins, 1, "n1", -1);
    CHECK_EQ_INT(db_step(ins), DB_ERROR);
    CHECK_EQ_INT(db_error_kind(db), DB_ERR_UNIQUE);
    CHECK(db_errmsg(db)[0] != '\0');
    CHECK_EQ_INT(db_step(ins), DB_ERROR); /* until reset */
    db_reset(ins);
    db_bind_text(ins, 1, "n9", -1);
    CHECK_EQ_INT(db_step(ins), DB_ROW);
    CHECK_EQ_INT(db_error_kind(db), DB_ERR_NONE);
    db_finalize(ins);

    note(t, "upsert");
    struct db_stmt *up = db_prepare(
        db, "INSERT INTO kv (k, i) VALUES (?1, ?2) ON CONFLICT (k) DO UPDATE "
            "SET i = kv.i + excluded.i, s = 'was ' || ?1");
    struct db_stmt *none = db_prepare(
        db, "INSERT INTO kv (k, i) VALUES (?, ?) ON CONFLICT DO NOTHING");
    struct db_stmt *get = db_prepare(db, "SELECT i, s FROM kv WHERE k = ?");
    CHECK(up && none && get);
    if (!up || !none || !get)
        return;
    for (int i = 1; i <= 3; i++) {
        db_bind_text(up, 1, "up", -1);
        db_bind_int64(up, 2, i * 10);
        CHECK_EQ_INT(db_step(up), DB_DONE);
        CHECK_EQ_INT(db_changes(up), 1);
        db_reset(up);
    }
    db_bind_text(none, 1, "up", -1);
    db_bind_int64(none, 2, 1);
    CHECK_EQ_INT(db_step(none), DB_DONE);
    CHECK_EQ_INT(db_changes(none), 0);
    db_bind_text(get, 1, "up", -1);
    CHECK_EQ_INT(db_step(get), DB_ROW);
    CHECK_EQ_INT(db_column_int64(get, 0), 60);
    CHECK_EQ_STR(db_column_text(get, 1), "was up");
    note_row(t, get);
    db_finalize(up);
    db_finalize(none);
    db_finalize(get);

    note(t, "changes");
    struct db_stmt *upd =
        db_prepare(db, "UPDATE kv SET s = ? WHERE k LIKE 'rt%' AND i > ?");
    CHECK(upd != NULL);
    if (upd) {
        db_bind_text(upd, 1, "positive", -1);
        db_bind_int64(upd, 2, 0);
        CHECK_EQ_INT(run_noted(t, upd), 0);
        CHECK_EQ_INT(db_changes(upd), 3); /* 1, INT64_MAX, 2^32 */
        db_finalize(upd);
    }
    struct db_stmt *del = db_prepare(db, "DELETE FROM kv WHERE k = ?");
    CHECK(del != NULL);
    if (del) {
        db_bind_text(del, 1, "no such key", -1);
        CHECK_EQ_INT(db_step(del), DB_DONE);
        CHECK_EQ_INT(db_changes(del), 0);
        db_finalize(del);
    }
}

static void check_transactions(struct db *db, struct transcript *t)
{
    note(t, "transactions");
    /* a failing statement inside a savepoint: roll back to it, go on */
    CHECK(db_begin_write(db) == DB_OK);
    CHECK(exec_ok(db, "SAVEPOINT req"));
    CHECK_EQ_INT(db_exec(db, "INSERT INTO seq (name) VALUES ('n0')"), DB_ERROR);
    CHECK_EQ_INT(db_error_kind(db), DB_ERR_UNIQUE);
    CHECK(exec_ok(db, "ROLLBACK TO SAVEPOINT req; RELEASE SAVEPOINT req"));
    CHECK(exec_ok(db, "SAVEPOINT req"));
    CHECK(exec_ok(db, "INSERT INTO seq (name) VALUES ('tx')"));
    CHECK(exec_ok(db, "RELEASE SAVEPOINT req"));
    CHECK(exec_ok(db, "COMMIT"));
    /* a syntax error is "other", with a message */
    CHECK_EQ_INT(db_exec(db, "SELEC 1"), DB_ERROR);
    CHECK_EQ_INT(db_error_kind(db), DB_ERR_OTHER);
    CHECK(strlen(db_errmsg(db)) > 0);
    struct db_stmt *bad = db_prepare(db, "SELECT * FROM no_such_table");
    /* PostgreSQL prepares at the first step: the error comes there */
    if (bad) {
        CHECK_EQ_INT(db_step(bad), DB_ERROR);
        db_finalize(bad);
    }

    note(t, "many rows");
    struct db_stmt *ins = db_prepare(db, "INSERT INTO kv (k, i, f) "
                                         "VALUES (?, ?, ?)");
    CHECK(ins != NULL);
    if (!ins)
        return;
    CHECK(db_begin_write(db) == DB_OK);
    const int many = 20000;
    for (int i = 0; i < many; i++) {
        char k[24];
        snprintf(k, sizeof(k), "m%06d", i);
        db_bind_text(ins, 1, k, -1);
        db_bind_int64(ins, 2, i);
        db_bind_double(ins, 3, i * 0.5);
        if (db_step(ins) != DB_DONE) {
            CHECK(!"insert of many rows");
            break;
        }
        db_reset(ins);
    }
    CHECK(exec_ok(db, "COMMIT"));
    db_finalize(ins);
    struct db_stmt *sel = db_prepare(
        db, "SELECT k, i, f FROM kv WHERE k >= 'm' AND k < 'n' ORDER BY k");
    CHECK(sel != NULL);
    if (!sel)
        return;
    int n = 0;
    int64_t isum = 0;
    double fsum = 0;
    bool ordered = true;
    while (db_step(sel) == DB_ROW) {
        char k[24];
        snprintf(k, sizeof(k), "m%06d", n);
        ordered = ordered && strcmp(db_column_text(sel, 0), k) == 0;
        isum += db_column_int64(sel, 1);
        fsum += db_column_double(sel, 2);
        n++;
    }
    CHECK_EQ_INT(n, many);
    CHECK(ordered);
    CHECK_EQ_INT(isum, (int64_t)many * (many - 1) / 2);
    CHECK(fsum == (double)many * (many - 1) / 4);
    note(t, " %d rows, sums %" PRId64 " %a", n, isum, fsum);
    db_finalize(sel);
}

/*---- the pipeline: deferred statements ----*/

/* Prepares 'sql', binds 'v' as ?1 (unless negative) and defers it;
 * returns what db_step_deferred did (the statement is finalized; on
 * PostgreSQL what was queued stays queued). */
static int defer_sql(struct db *db, const char *sql, int64_t v)
{
    struct db_stmt *s = db_prepare(db, sql);
    if (!s)
        return DB_ERROR;
    if (v >= 0)
        db_bind_int64(s, 1, v);
    int rc = db_step_deferred(s);
    db_reset(s);
    db_finalize(s);
    return rc;
}

/* The one integer 'sql' reads, or -1. */
static int64_t read_int(struct db *db, const char *sql)
{
    struct db_stmt *s = db_prepare(db, sql);
    if (!s)
        return -1;
    int64_t v = db_step(s) == DB_ROW ? db_column_int64(s, 0) : -1;
    db_finalize(s);
    return v;
}

/* A deferred failure surfaces at db_step_deferred on SQLite (run at
 * once), later on PostgreSQL: 'rc' is the deferred call's, 'later' the
 * call's after it. The engines must agree on the kind. */
static enum db_error_kind failed_kind(struct db *db, int rc, int later)
{
    if (db_engine(db) == DB_SQLITE) {
        CHECK_EQ_INT(rc, DB_ERROR);
        return DB_ERR_NONE; /* read by the caller before 'later' */
    }
    CHECK_EQ_INT(rc, DB_OK);
    CHECK_EQ_INT(later, DB_ERROR);
    CHECK(db_errmsg(db)[0] != '\0');
    return db_error_kind(db);
}

static void check_pipeline(struct db *db, struct transcript *t)
{
    note(t, "pipeline");
    bool pg = db_engine(db) == DB_POSTGRES;
    CHECK(exec_ok(db, "CREATE TABLE pipe (k TEXT PRIMARY KEY, "
                      "i BIGINT CHECK (i >= 0))"));

    /* nothing queued: a flush is no round trip */
    uint64_t trips = db_round_trips(db);
    CHECK_EQ_INT(db_flush(db), DB_OK);
    CHECK_EQ_INT(db_round_trips(db) - trips, 0);

    /* applied in order: (1 * 10) + 1, not (1 + 1) * 10; N deferred
     * statements (prepared in the same pipeline) and one synchronous read
     * are one round trip */
    CHECK_EQ_INT(db_begin_write_deferred(db), DB_OK);
    CHECK_EQ_INT(
        defer_sql(db, "INSERT INTO pipe (k, i) VALUES ('order', ?)", 1), DB_OK);
    CHECK_EQ_INT(
        defer_sql(db, "UPDATE pipe SET i = i * ? WHERE k = 'order'", 10),
        DB_OK);
    CHECK_EQ_INT(
        defer_sql(db, "UPDATE pipe SET i = i + ? WHERE k = 'order'", 1), DB_OK);
    struct db_stmt *get = db_prepare(db, "SELECT i FROM pipe WHERE k = ?");
    CHECK(get != NULL);
    if (!get)
        return;
    db_bind_text(get, 1, "order", -1);
    trips = db_round_trips(db);
    int64_t got = db_step(get) == DB_ROW ? db_column_int64(get, 0) : -1;
    if (pg)
        CHECK_EQ_INT(db_round_trips(db) - trips, 1);
    db_finalize(get);
    CHECK_EQ_INT(got, 11);
    note(t, " in order: %" PRId64, got);

    /* a unique violation surfaces at the flush, with its kind; what was
     * queued after it did not run; ROLLBACK TO keeps the transaction and
     * the work before the savepoint */
    CHECK_EQ_INT(defer_sql(db, "SAVEPOINT w", -1), DB_OK);
    int rc = defer_sql(db, "INSERT INTO pipe (k, i) VALUES ('order', ?)", 5);
    enum db_error_kind kind = db_error_kind(db);
    int rc2 = defer_sql(db, "INSERT INTO pipe (k, i) VALUES ('after', ?)", 6);
    int flushed = db_flush(db);
    enum db_error_kind k2 = failed_kind(db, rc, flushed);
    kind = pg ? k2 : kind;
    CHECK_EQ_INT(kind, DB_ERR_UNIQUE);
    if (pg) {
        CHECK_EQ_INT(rc2, DB_OK);
        CHECK(strstr(db_errmsg(db), "23505") != NULL);
    }
    note(t, " unique at the flush: kind %d", (int)kind);
    CHECK(exec_ok(db, "ROLLBACK TO SAVEPOINT w"));
    CHECK(exec_ok(db, "RELEASE SAVEPOINT w"));
    CHECK_EQ_INT(read_int(db, "SELECT count(*) FROM pipe WHERE k = 'after'"),
                 0);
    CHECK_EQ_INT(read_int(db, "SELECT i FROM pipe WHERE k = 'order'"), 11);

    /* a CHECK violation surfaces at the next synchronous statement, which
     * does not run and reports the original failure */
    CHECK_EQ_INT(defer_sql(db, "SAVEPOINT w", -1), DB_OK);
    CHECK_EQ_INT(defer_sql(db, "INSERT INTO pipe (k, i) VALUES ('fine', ?)", 2),
                 DB_OK);
    rc = defer_sql(db, "UPDATE pipe SET i = -? WHERE k = 'order'", 1);
    kind = db_error_kind(db);
    struct db_stmt *sel = db_prepare(db, "SELECT count(*) FROM pipe");
    CHECK(sel != NULL);
    int stepped = sel ? db_step(sel) : DB_ERROR;
    k2 = failed_kind(db, rc, stepped);
    kind = pg ? k2 : kind;
    CHECK_EQ_INT(kind, DB_ERR_OTHER);
    if (pg)
        CHECK(strstr(db_errmsg(db), "23514") != NULL); /* check_violation */
    note(t, " check at the next statement: kind %d", (int)kind);
    db_finalize(sel);
    CHECK(exec_ok(db, "ROLLBACK TO SAVEPOINT w"));
    CHECK(exec_ok(db, "RELEASE SAVEPOINT w"));
    CHECK_EQ_INT(read_int(db, "SELECT count(*) FROM pipe WHERE k = 'fine'"), 0);

    /* after both: the transaction goes on and commits with the bump */
    CHECK_EQ_INT(defer_sql(db, "INSERT INTO pipe (k, i) VALUES ('kept', ?)", 3),
                 DB_OK);
    int64_t version = -1;
    trips = db_round_trips(db);
    CHECK_EQ_INT(db_commit_write(db, &version), DB_OK);
    if (pg) {
        CHECK_EQ_INT(db_round_trips(db) - trips, 1);
        CHECK(version >= 2);
    } else {
        CHECK_EQ_INT(version, 0);
    }
    CHECK_EQ_INT(read_int(db, "SELECT count(*) FROM pipe"), 2);
    CHECK_EQ_INT(read_int(db, "SELECT i FROM pipe WHERE k = 'order'"), 11);
    note(t, " committed: %" PRId64 " rows",
         read_int(db, "SELECT count(*) FROM pipe"));

    /* a failure in the commit's pipeline: nothing commits, ROLLBACK
     * works, the counter did not move */
    int64_t before =
        pg ? read_int(db, "SELECT n FROM greentrack_generation") : 0;
    CHECK_EQ_INT(db_begin_write_deferred(db), DB_OK);
    CHECK_EQ_INT(defer_sql(db, "INSERT INTO pipe (k, i) VALUES ('lost', ?)", 4),
                 DB_OK);
    rc = defer_sql(db, "INSERT INTO pipe (k, i) VALUES ('kept', ?)", 4);
    kind = db_error_kind(db);
    int committed = pg ? db_commit_write(db, &version) : DB_ERROR;
    k2 = failed_kind(db, rc, committed);
    CHECK_EQ_INT(pg ? k2 : kind, DB_ERR_UNIQUE);
    CHECK(exec_ok(db, "ROLLBACK"));
    CHECK_EQ_INT(read_int(db, "SELECT count(*) FROM pipe WHERE k = 'lost'"), 0);
    if (pg)
        CHECK_EQ_INT(read_int(db, "SELECT n FROM greentrack_generation"),
                     before);

    /* outside a transaction, after a failed pipeline: usable */
    rc = defer_sql(db, "UPDATE pipe SET i = -? WHERE k = 'kept'", 1);
    flushed = db_flush(db);
    if (pg)
        CHECK_EQ_INT(failed_kind(db, rc, flushed), DB_ERR_OTHER);
    else
        CHECK_EQ_INT(rc, DB_ERROR);
    CHECK_EQ_INT(db_flush(db), DB_OK); /* nothing left queued */
    CHECK(exec_ok(db, "UPDATE pipe SET i = 7 WHERE k = 'kept'"));
    CHECK_EQ_INT(defer_sql(db, "UPDATE pipe SET i = i + ? WHERE k = 'kept'", 1),
                 DB_OK);
    CHECK_EQ_INT(db_flush(db), DB_OK);
    CHECK_EQ_INT(read_int(db, "SELECT i FROM pipe WHERE k = 'kept'"), 8);
    note(t, " usable after: %" PRId64,
         read_int(db, "SELECT i FROM pipe WHERE k = 'kept'"));
}

/* PostgreSQL: a statement whose prepare fails inside a pipeline is
 * prepared again next time (the server never kept it). */
static void check_pipeline_prepare(struct db *db)
{
    struct db_stmt *s = db_prepare(db, "INSERT INTO later (v) VALUES (?)");
    CHECK(s != NULL);
    if (!s)
        return;
    db_bind_int64(s, 1, 1);
    CHECK_EQ_INT(db_step_deferred(s), DB_OK);
    CHECK_EQ_INT(db_flush(db), DB_ERROR);
    CHECK(strstr(db_errmsg(db), "42P01") != NULL); /* undefined_table */
    db_reset(s);
    CHECK(exec_ok(db, "CREATE TABLE later (v BIGINT)"));
    db_bind_int64(s, 1, 2);
    CHECK_EQ_INT(db_step_deferred(s), DB_OK);
    db_reset(s);
    db_bind_int64(s, 1, 3);
    CHECK_EQ_INT(db_step_deferred(s), DB_OK);
    CHECK_EQ_INT(db_flush(db), DB_OK);
    db_reset(s);
    db_finalize(s);
    CHECK_EQ_INT(read_int(db, "SELECT sum(v) FROM later"), 5);
    /* finalized with its execution still queued */
    s = db_prepare(db, "INSERT INTO later (v) VALUES (?)");
    if (s) {
        db_bind_int64(s, 1, 4);
        CHECK_EQ_INT(db_step_deferred(s), DB_OK);
        db_finalize(s);
    }
    CHECK_EQ_INT(read_int(db, "SELECT sum(v) FROM later"), 9);
}

/* PostgreSQL: the server ends the session with statements queued: the
 * flush fails with DB_ERR_CONNECTION (the store answers 503) and does
 * not hang. */
static void check_pipeline_connection_lost(const char *target)
{
    struct errbuf eb;
    struct db *a = db_open(target, NULL, &eb);
    struct db *b = db_open(target, NULL, &eb);
    CHECK(a && b);
    if (a && b) {
        int64_t pid = read_int(a, "SELECT pg_backend_pid()");
        CHECK_EQ_INT(db_begin_write_deferred(a), DB_OK);
        CHECK_EQ_INT(defer_sql(a, "UPDATE pipe SET i = ? WHERE k = 'kept'", 9),
                     DB_OK);
        char kill[80];
        snprintf(kill, sizeof(kill), "SELECT pg_terminate_backend(%" PRId64 ")",
                 pid);
        CHECK(exec_ok(b, kill));
        CHECK_EQ_INT(
            defer_sql(a, "UPDATE pipe SET i = ? WHERE k = 'kept'", 10),
            DB_OK); /* sent into the void, or refused: either way queued */
        CHECK_EQ_INT(db_flush(a), DB_ERROR);
        CHECK_EQ_INT(db_error_kind(a), DB_ERR_CONNECTION);
        CHECK(db_connection_lost(a));
        CHECK_EQ_INT(db_exec(a, "SELECT 1"), DB_ERROR);
        CHECK_EQ_INT(db_error_kind(a), DB_ERR_CONNECTION);
        CHECK_EQ_INT(read_int(b, "SELECT i FROM pipe WHERE k = 'kept'"), 8);
    }
    db_close(a);
    db_close(b);
}

/*---- busy and migrations: two connections ----*/

static void check_busy(struct db *a, struct db *b, struct transcript *t)
{
    note(t, "busy");
    CHECK(db_begin_write(a) == DB_OK);
    CHECK(exec_ok(a, "UPDATE kv SET i = 1 WHERE k = 'up'"));
    /* SQLite: the write lock; PostgreSQL: the row lock (lock_timeout) */
    int rc = db_begin_write(b);
    if (rc == DB_OK)
        rc = db_exec(b, "UPDATE kv SET i = 2 WHERE k = 'up'");
    CHECK_EQ_INT(rc, DB_ERROR);
    CHECK_EQ_INT(db_error_kind(b), DB_ERR_BUSY);
    note(t, " kind %d", (int)db_error_kind(b));
    db_exec(b, "ROLLBACK");
    CHECK(exec_ok(a, "COMMIT"));
}

static const struct schema_migration test_migrations[] = {
    {1, "001_first", "CREATE TABLE mig (x BIGINT NOT NULL);"},
    {2, "002_second", "INSERT INTO mig (x) VALUES (2);"},
    {3, "003_third", "INSERT INTO mig (x) VALUES (3);"},
};

struct migrator {
    const char *target;
    enum srv_err result;
    struct errbuf eb;
};

static void *migrate_thread(void *arg)
{
    struct migrator *m = arg;
    struct db_options opt = {.create = true, .busy_timeout_ms = 10000};
    struct db *db = db_open(m->target, &opt, &m->eb);
    if (!db) {
        m->result = SRV_E_INTERNAL;
        return NULL;
    }
    m->result = db_migrate(db, test_migrations, 3, &m->eb);
    db_close(db);
    return NULL;
}

/* Several connections migrating 'target' at once: each succeeds, and
 * each level is applied once (checked by the caller). */
static void race_migrations(const char *target)
{
    enum { RACERS = 4 };
    struct migrator m[RACERS];
    pthread_t th[RACERS];
    for (int i = 0; i < RACERS; i++) {
        m[i] = (struct migrator){.target = target};
        CHECK(pthread_create(&th[i], NULL, migrate_thread, &m[i]) == 0);
    }
    for (int i = 0; i < RACERS; i++) {
        pthread_join(th[i], NULL);
        if (m[i].result != SRV_OK)
            fprintf(stderr, "  migrator %d: %s\n", i, m[i].eb.msg);
        CHECK_EQ_INT(m[i].result, SRV_OK);
    }
}

/* SQLite: a new file switched to WAL by several connections at once used
 * to fail one of them about once in 300 races ("database is locked",
 * with no wait), so the race is run on many new files. */
static void race_new_sqlite_files(const char *dir)
{
    for (int round = 0; round < 20; round++) {
        char file[600];
        snprintf(file, sizeof(file), "%s/race%d.db", dir, round);
        race_migrations(file);
        struct errbuf eb;
        struct db *db = db_open(file, NULL, &eb);
        CHECK(db != NULL);
        int level = -1;
        if (db) {
            CHECK_EQ_INT(db_schema_level(db, &level), DB_OK);
            db_close(db);
        }
        CHECK_EQ_INT(level, 3);
    }
}

static void check_migrations(const char *target, struct transcript *t)
{
    note(t, "migrations");
    race_migrations(target);
    struct errbuf eb;
    struct db *db = db_open(target, NULL, &eb);
    CHECK(db != NULL);
    if (!db)
        return;
    int level = -1;
    CHECK_EQ_INT(db_schema_level(db, &level), DB_OK);
    CHECK_EQ_INT(level, 3);
    struct db_stmt *s = db_prepare(db, "SELECT x FROM mig ORDER BY x");
    CHECK(s != NULL);
    if (s) {
        CHECK_EQ_INT(run_noted(t, s), 2);
        db_finalize(s);
    }
    /* a binary that knows fewer levels refuses the database */
    enum srv_err e = db_migrate(db, test_migrations, 2, &eb);
    CHECK_EQ_INT(e, SRV_E_INTERNAL);
    CHECK(strstr(eb.msg, "newer") != NULL);
    CHECK(strchr(eb.msg, '\n') == NULL);
    note(t, " %s", eb.msg);
    /* a failing migration names itself and leaves the level */
    const struct schema_migration broken[] = {
        test_migrations[0],
        test_migrations[1],
        test_migrations[2],
        {4, "004_broken", "INSERT INTO mig (x) VALUES (4); SELEC;"}};
    e = db_migrate(db, broken, 4, &eb);
    CHECK_EQ_INT(e, SRV_E_INTERNAL);
    CHECK(strstr(eb.msg, "004_broken") != NULL);
    CHECK_EQ_INT(db_schema_level(db, &level), DB_OK);
    CHECK_EQ_INT(level, 3);
    s = db_prepare(db, "SELECT count(*) FROM mig");
    if (s) {
        CHECK_EQ_INT(db_step(s), DB_ROW);
        CHECK_EQ_INT(db_column_int64(s, 0), 2);
        db_finalize(s);
    }
    db_close(db);
}

/* The checks that only make sense on PostgreSQL. */
static void check_postgres_only(struct db *db)
{
    struct db_stmt *s = db_prepare(
        db, "SELECT 'NaN'::float8, true, false, "
            "sum(x) FROM (VALUES (9007199254740993::bigint), (0)) v (x)");
    CHECK(s != NULL);
    if (!s)
        return;
    CHECK_EQ_INT(db_step(s), DB_ROW);
    CHECK(isnan(db_column_double(s, 0)));
    CHECK_EQ_INT(db_column_type(s, 1), DB_INT);
    CHECK_EQ_INT(db_column_int64(s, 1), 1);
    CHECK_EQ_INT(db_column_int64(s, 2), 0);
    /* sum(bigint) is numeric: read exactly all the same */
    CHECK(db_column_int64(s, 3) == INT64_C(9007199254740993));
    db_finalize(s);
    /* NaN goes in and out as NaN */
    s = db_prepare(db, "SELECT ?::float8");
    if (s) {
        db_bind_double(s, 1, NAN);
        CHECK_EQ_INT(db_step(s), DB_ROW);
        CHECK(isnan(db_column_double(s, 0)));
        db_finalize(s);
    }
    /* text with a NUL byte cannot be sent: refused, not cut */
    s = db_prepare(db, "SELECT ?");
    if (s) {
        CHECK_EQ_INT(db_bind_text(s, 1, "a\0b", 3), DB_ERROR);
        db_finalize(s);
    }
}

/*---- engines ----*/

static void run_engine(const char *target, const char *target_b,
                       struct transcript *t)
{
    struct errbuf eb;
    struct db_options opt = {.create = true, .busy_timeout_ms = 200};
    struct db *db = db_open(target, &opt, &eb);
    if (!db) {
        fprintf(stderr, "open %s: %s\n", target, eb.msg);
        CHECK(!"open the database");
        return;
    }
    fprintf(stderr, "-- %s\n",
            db_engine(db) == DB_POSTGRES ? "PostgreSQL" : "SQLite");
    CHECK(exec_ok(db, ddl(db)));
    check_placeholders(db, t);
    check_round_trip(db, t);
    check_writes(db, t);
    check_transactions(db, t);
    if (db_engine(db) == DB_POSTGRES) /* db_commit_write's counter */
        CHECK(exec_ok(db, "CREATE TABLE greentrack_generation ("
                          " only_row BOOLEAN PRIMARY KEY DEFAULT TRUE"
                          " CHECK (only_row), n BIGINT NOT NULL);"
                          "INSERT INTO greentrack_generation (n) VALUES (1)"));
    check_pipeline(db, t);
    struct db *b = db_open(target, &opt, &eb);
    CHECK(b != NULL);
    if (b) {
        check_busy(db, b, t);
        db_close(b);
    }
    if (db_engine(db) == DB_POSTGRES) {
        check_postgres_only(db);
        check_pipeline_prepare(db);
        check_pipeline_connection_lost(target);
    }
    db_close(db);
    check_migrations(target_b, t);
}

/* Every entry of dialect.h has a text for both engines. */
static void test_dialect_tables(void)
{
    for (int i = 0; i < DIALECT_COUNT; i++) {
        CHECK(DIALECT_POSTGRES_ONLY(i)
                  ? !dialect_sqlite_sql[i]
                  : dialect_sqlite_sql[i] && *dialect_sqlite_sql[i]);
        CHECK(dialect_postgres_sql[i] && *dialect_postgres_sql[i]);
    }
}

int main(void)
{
    test_translation();
    test_dialect_tables();

    /* PostgreSQL: make test's, or a private one started here */
    char own_dir[512], own_url[512];
    const char *pg =
        pg_unit_url(own_dir, sizeof(own_dir), own_url, sizeof(own_url));
    if (!pg)
        TEST_MAIN_END("test_db");

    char dir[] = "/tmp/test_db.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char file[600], file_b[600];
    snprintf(file, sizeof(file), "%s/a.db", dir);
    snprintf(file_b, sizeof(file_b), "%s/b.db", dir);
    struct transcript sq = {0}, pq = {0};
    run_engine(file, file_b, &sq);
    race_new_sqlite_files(dir);

    char name[64], name_b[64], url[600], url_b[600];
    snprintf(name, sizeof(name), "test_db_%ld", (long)getpid());
    snprintf(name_b, sizeof(name_b), "test_db_%ld_b", (long)getpid());
    if (pg_unit_fresh_db(pg, name, url, sizeof(url)) &&
        pg_unit_fresh_db(pg, name_b, url_b, sizeof(url_b)))
        run_engine(url, url_b, &pq);
    else
        CHECK(!"fresh PostgreSQL databases");

    /* the engines agree on everything they read */
    bool same = sq.buf && pq.buf && strcmp(sq.buf, pq.buf) == 0;
    if (!same) {
        fprintf(stderr,
                "the engines disagree; SQLite read:\n%s\n"
                "PostgreSQL read:\n%s\n",
                sq.buf ? sq.buf : "", pq.buf ? pq.buf : "");
    }
    CHECK(same);
    free(sq.buf);
    free(pq.buf);

    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    pg_unit_stop(own_dir);
    TEST_MAIN_END("test_db");
}
