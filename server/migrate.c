/* SPDX-License-Identifier: MIT
 *
 * migrate: copies a SQLite greentrack database into PostgreSQL (see
 * migrate.h). The tables come from the source's own schema (sqlite_master
 * and its foreign keys give the order), so a table added by a later
 * migration is copied without a change here; the target must hold the
 * same tables with the same columns, and any other table there must be
 * one of the few listed as needing no copy. Rows travel through COPY FROM
 * STDIN in chunks of --batch-rows; each chunk commits together with the
 * table's progress (the primary key of its last row) in greentrack_migrate
 * on the target, so a migration killed anywhere resumes after the last
 * committed chunk and copies nothing twice. At the end every table is
 * read back from both sides and compared: row count and an
 * order-independent digest of each row's canonical bytes.
 */
#include "migrate.h"

#include "schema.h"
#include "store/db.h"
#include "strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

/* Session advisory lock held on the target for the whole run
 * ("gtmigrat"). */
#define MIGRATE_LOCK_KEY INT64_C(0x67746d6967726174)

#define MAX_TABLES 64
#define MAX_COLS 48
#define NAME_MAX_LEN 64

/* Tables on the target that are PostgreSQL's bookkeeping, not data: the
 * schema level and the data-version counter db_migrate keeps, and this
 * command's own progress. Every other target table must come from the
 * source. */
static const char *const not_copied[] = {
    "greentrack_schema",
    "greentrack_generation",
    "greentrack_migrate",
};

/* How a column's values travel and are compared (from the target's type). */
enum col_kind { K_INT, K_BOOL, K_FLOAT, K_TEXT };

struct col {
    char name[NAME_MAX_LEN];
    enum col_kind kind;
};

struct table {
    char name[NAME_MAX_LEN];
    struct col cols[MAX_COLS];
    int ncols;
    int pk[MAX_COLS];            /* indexes into cols, in key order */
    int npk;                     /* 0: ordered by the source's rowid */
    char identity[NAME_MAX_LEN]; /* the target's identity column, or "" */
    char deps[8][NAME_MAX_LEN];  /* tables its foreign keys name */
    int ndeps;
    bool placed; /* topological sort */
    /* progress (greentrack_migrate) */
    bool done;
    int64_t rows_copied;
    char *last_key; /* malloc'ed, NULL before the first chunk */
};

struct migration {
    const char *from, *to;
    bool append, verify_only;
    bool fk_at_end; /* foreign-key triggers off, checked in bulk after */
    int batch_rows;
    sqlite3 *src;
    struct db *dst;
    struct table tables[MAX_TABLES];
    int ntables;
};

static void print_help(void)
{
    printf(
        "Usage: greentrack-server migrate --from PATH.db --to "
        "postgresql://... [--append]\n"
        "                                 [--verify-only] [--batch-rows "
        "N]\n"
        "Copies a greentrack SQLite database into PostgreSQL, then checks "
        "every table\n"
        "(row count and a checksum of every row, computed alike on both "
        "sides) and\n"
        "prints the result. Stop the servers that use the SQLite file "
        "first: a file that\n"
        "another process has open is refused. It is opened read-only and "
        "read inside\n"
        "one transaction, a consistent snapshot.\n\n"
        "  --from PATH      the SQLite database (greentrack-server --db "
        "PATH); its schema\n"
        "                   level must be this binary's (start this "
        "version's server on\n"
        "                   it once, or use the version that wrote it)\n"
        "  --to URL         the PostgreSQL database; it is first brought "
        "to this\n"
        "                   binary's schema level\n"
        "  --append         copy into a target that already holds data; a "
        "row whose key\n"
        "                   exists there already is accepted only when "
        "identical (the\n"
        "                   Default experiment 0 excepted: the target's is "
        "kept), any\n"
        "                   other is an error and nothing of that chunk is "
        "written, so\n"
        "                   no row of either side is silently dropped or "
        "overwritten.\n"
        "                   The check at the end then asks that every source "
        "row be in\n"
        "                   the target. Without --append a target holding "
        "anything but\n"
        "                   the Default experiment is refused.\n"
        "  --verify-only    copy nothing, only compare the two databases\n"
        "  --batch-rows N   rows per committed chunk (default 50000)\n\n"
        "Resumable: each chunk commits with the table's progress in the "
        "target's table\n"
        "greentrack_migrate, so run the same command again after an "
        "interruption and\n"
        "it continues after the last committed chunk (it may be dropped "
        "once the\n"
        "migration is done). An advisory lock on the target keeps two "
        "migrations apart.\n"
        "Foreign keys: as a PostgreSQL superuser the copy skips the per-row "
        "checks\n"
        "(session_replication_role = replica) and checks every key in one "
        "query at the\n"
        "end; otherwise PostgreSQL checks each row (slower). A row whose "
        "parent is\n"
        "missing fails the migration.\n"
        "Identity sequences are moved past the largest copied id. "
        "Artifacts are not\n"
        "moved: runs' artifact_uri and experiments' artifact_location are "
        "copied as\n"
        "they are, so the new server must reach the same artifact store "
        "(same\n"
        "--artifact-root, or the same proxied or remote locations).\n"
        "Exit status: 0 when every table matches, 1 on a mismatch or "
        "error, 2 on bad\n"
        "usage.\n");
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Schema names are plain lower-case identifiers; anything else is refused
 * rather than quoted, so the SQL built from them needs no escaping. */
static bool plain_name(const char *s)
{
    if (!s || !*s || strlen(s) >= NAME_MAX_LEN)
        return false;
    if (!((*s >= 'a' && *s <= 'z') || *s == '_'))
        return false;
    for (const char *p = s; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return false;
    }
    return true;
}

static struct table *find_table(struct migration *m, const char *name)
{
    for (int i = 0; i < m->ntables; i++) {
        if (strcmp(m->tables[i].name, name) == 0)
            return &m->tables[i];
    }
    return NULL;
}

static int col_index(const struct table *t, const char *name)
{
    for (int i = 0; i < t->ncols; i++) {
        if (strcmp(t->cols[i].name, name) == 0)
            return i;
    }
    return -1;
}

/*---- the source's schema ----*/

/* Reads the source's tables (creation order), columns, primary keys and
 * foreign keys, then orders them so that every table comes after those
 * it references. 0, or -1 with a message printed. */
static int read_source_schema(struct migration *m)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(m->src,
                           "SELECT name FROM sqlite_master WHERE type = "
                           "'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE "
                           "'\\' ORDER BY rowid",
                           -1, &q, NULL) != SQLITE_OK)
        goto sqlfail;
    struct table unordered[MAX_TABLES];
    int n = 0;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(q, 0);
        if (!plain_name(name)) {
            fprintf(stderr,
                    "migrate: source table name \"%s\" is not a "
                    "greentrack table name\n",
                    name ? name : "");
            sqlite3_finalize(q);
            return -1;
        }
        if (n == MAX_TABLES) {
            fprintf(stderr, "migrate: more than %d tables in the source\n",
                    MAX_TABLES);
            sqlite3_finalize(q);
            return -1;
        }
        memset(&unordered[n], 0, sizeof(unordered[n]));
        snprintf(unordered[n].name, sizeof(unordered[n].name), "%s", name);
        n++;
    }
    sqlite3_finalize(q);
    q = NULL;
    if (rc != SQLITE_DONE)
        goto sqlfail;

    for (int i = 0; i < n; i++) {
        struct table *t = &unordered[i];
        if (sqlite3_prepare_v2(m->src,
                               "SELECT name, pk FROM pragma_table_info(?1) "
                               "ORDER BY cid",
                               -1, &q, NULL) != SQLITE_OK)
            goto sqlfail;
        sqlite3_bind_text(q, 1, t->name, -1, SQLITE_TRANSIENT);
        int pkpos[MAX_COLS];
        while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
            const char *c = (const char *)sqlite3_column_text(q, 0);
            if (!plain_name(c) || t->ncols == MAX_COLS) {
                fprintf(stderr,
                        "migrate: table %s: column \"%s\" cannot be "
                        "copied\n",
                        t->name, c ? c : "");
                sqlite3_finalize(q);
                return -1;
            }
            snprintf(t->cols[t->ncols].name, NAME_MAX_LEN, "%s", c);
            pkpos[t->ncols] = sqlite3_column_int(q, 1);
            t->ncols++;
        }
        sqlite3_finalize(q);
        q = NULL;
        if (rc != SQLITE_DONE)
            goto sqlfail;
        for (int k = 1; k <= t->ncols; k++) {
            for (int c = 0; c < t->ncols; c++) {
                if (pkpos[c] == k)
                    t->pk[t->npk++] = c;
            }
        }
        if (sqlite3_prepare_v2(m->src,
                               "SELECT DISTINCT \"table\" FROM "
                               "pragma_foreign_key_list(?1)",
                               -1, &q, NULL) != SQLITE_OK)
            goto sqlfail;
        sqlite3_bind_text(q, 1, t->name, -1, SQLITE_TRANSIENT);
        while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
            const char *d = (const char *)sqlite3_column_text(q, 0);
            if (d && t->ndeps < 8 && strcmp(d, t->name) != 0)
                snprintf(t->deps[t->ndeps++], NAME_MAX_LEN, "%s", d);
        }
        sqlite3_finalize(q);
        q = NULL;
        if (rc != SQLITE_DONE)
            goto sqlfail;
    }

    /* Foreign-key order: repeatedly take the first table whose
     * references are all placed (creation order breaks ties). */
    while (m->ntables < n) {
        bool progress = false;
        for (int i = 0; i < n; i++) {
            struct table *t = &unordered[i];
            if (t->placed)
                continue;
            bool ready = true;
            for (int d = 0; d < t->ndeps && ready; d++) {
                bool found = false, placed = false;
                for (int j = 0; j < n; j++) {
                    if (strcmp(unordered[j].name, t->deps[d]) == 0) {
                        found = true;
                        placed = unordered[j].placed;
                    }
                }
                ready = !found || placed;
            }
            if (!ready)
                continue;
            t->placed = true;
            m->tables[m->ntables++] = *t;
            progress = true;
            break;
        }
        if (!progress) {
            fprintf(stderr, "migrate: the source's foreign keys form a "
                            "cycle\n");
            return -1;
        }
    }
    return 0;

sqlfail:
    fprintf(stderr, "migrate: reading the source's schema: %s\n",
            sqlite3_errmsg(m->src));
    sqlite3_finalize(q);
    return -1;
}

/*---- the target's schema ----*/

/* Matches the target's tables and columns to the source's and takes
 * each column's kind and each table's identity column from it. 0, or -1
 * with a message printed. */
static int read_target_schema(struct migration *m)
{
    struct db_stmt *q =
        db_prepare(m->dst, "SELECT table_name::text, column_name::text, "
                           "data_type::text, is_identity::text "
                           "FROM information_schema.columns "
                           "WHERE table_schema = current_schema() "
                           "ORDER BY table_name, ordinal_position");
    if (!q) {
        fprintf(stderr, "migrate: %s\n", db_errmsg(m->dst));
        return -1;
    }
    bool seen[MAX_TABLES][MAX_COLS];
    memset(seen, 0, sizeof(seen));
    int rc, bad = 0;
    while ((rc = db_step(q)) == DB_ROW) {
        const char *tn = db_column_text(q, 0);
        const char *cn = db_column_text(q, 1);
        const char *type = db_column_text(q, 2);
        const char *ident = db_column_text(q, 3);
        struct table *t = find_table(m, tn);
        if (!t) {
            bool skip = false;
            for (size_t i = 0; i < sizeof(not_copied) / sizeof(*not_copied);
                 i++)
                skip = skip || strcmp(tn, not_copied[i]) == 0;
            if (!skip && !bad++)
                fprintf(stderr,
                        "migrate: table %s on the target is neither in "
                        "the source nor known to need no copy\n",
                        tn);
            continue;
        }
        int c = col_index(t, cn);
        if (c < 0) {
            if (!bad++)
                fprintf(stderr,
                        "migrate: column %s.%s on the target is not in "
                        "the source\n",
                        tn, cn);
            continue;
        }
        seen[t - m->tables][c] = true;
        if (strcmp(type, "bigint") == 0 || strcmp(type, "integer") == 0 ||
            strcmp(type, "smallint") == 0)
            t->cols[c].kind = K_INT;
        else if (strcmp(type, "boolean") == 0)
            t->cols[c].kind = K_BOOL;
        else if (strcmp(type, "double precision") == 0 ||
                 strcmp(type, "real") == 0)
            t->cols[c].kind = K_FLOAT;
        else if (strcmp(type, "text") == 0 ||
                 strcmp(type, "character varying") == 0)
            t->cols[c].kind = K_TEXT;
        else if (!bad++)
            fprintf(stderr,
                    "migrate: column %s.%s has type %s, which "
                    "migrate cannot copy\n",
                    tn, cn, type);
        if (ident && strcmp(ident, "YES") == 0)
            snprintf(t->identity, sizeof(t->identity), "%s", cn);
    }
    db_finalize(q);
    if (rc != DB_DONE) {
        fprintf(stderr, "migrate: %s\n", db_errmsg(m->dst));
        return -1;
    }
    for (int i = 0; i < m->ntables && !bad; i++) {
        for (int c = 0; c < m->tables[i].ncols; c++) {
            if (!seen[i][c]) {
                fprintf(stderr,
                        "migrate: %s.%s of the source has no column on "
                        "the target\n",
                        m->tables[i].name, m->tables[i].cols[c].name);
                bad++;
                break;
            }
        }
    }
    return bad ? -1 : 0;
}

/*---- keys: the progress of a table as the key of its last row ----*/

/* Appends column 'c' of the current source row to 'sb' as a key part:
 * "n;" NULL, "i<decimal>;", "f<%a>;", "t<hex>;". */
static void key_part(struct strbuf *sb, sqlite3_stmt *q, int c,
                     enum col_kind kind)
{
    if (sqlite3_column_type(q, c) == SQLITE_NULL) {
        strbuf_append_str(sb, "n;");
        return;
    }
    switch (kind) {
    case K_INT:
    case K_BOOL:
        strbuf_printf(sb, "i%" PRId64 ";", (int64_t)sqlite3_column_int64(q, c));
        return;
    case K_FLOAT:
        strbuf_printf(sb, "f%a;", sqlite3_column_double(q, c));
        return;
    case K_TEXT: {
        const unsigned char *v = sqlite3_column_text(q, c);
        int len = sqlite3_column_bytes(q, c);
        strbuf_append_char(sb, 't');
        for (int i = 0; i < len; i++)
            strbuf_printf(sb, "%02x", v[i]);
        strbuf_append_char(sb, ';');
        return;
    }
    }
}

/* Binds the key parts of 'key' to parameters 1.. of 'q'; the number
 * bound, or -1 when 'key' is malformed. */
static int bind_key(sqlite3_stmt *q, const char *key)
{
    int n = 0;
    const char *p = key;
    while (*p) {
        const char *end = strchr(p, ';');
        if (!end)
            return -1;
        n++;
        char tag = *p++;
        if (tag == 'n') {
            sqlite3_bind_null(q, n);
        } else if (tag == 'i') {
            char *e;
            errno = 0;
            long long v = strtoll(p, &e, 10);
            if (e != end || errno)
                return -1;
            sqlite3_bind_int64(q, n, v);
        } else if (tag == 'f') {
            char *e;
            double v = strtod(p, &e);
            if (e != end)
                return -1;
            sqlite3_bind_double(q, n, v);
        } else if (tag == 't') {
            size_t hex = (size_t)(end - p);
            if (hex % 2)
                return -1;
            char *v = malloc(hex / 2 + 1);
            if (!v)
                return -1;
            for (size_t i = 0; i < hex / 2; i++) {
                char pair[3] = {p[2 * i], p[2 * i + 1], '\0'};
                v[i] = (char)strtol(pair, NULL, 16);
            }
            sqlite3_bind_text(q, n, v, (int)(hex / 2), free);
        } else {
            return -1;
        }
        p = end + 1;
    }
    return n;
}

/* SELECT of the source's rows in key order, after 'after_key' when not
 * NULL; the rowid comes last when the table has no primary key. */
static sqlite3_stmt *source_select(struct migration *m, const struct table *t,
                                   const char *after_key)
{
    struct strbuf sql;
    strbuf_init(&sql);
    strbuf_append_str(&sql, "SELECT ");
    for (int c = 0; c < t->ncols; c++)
        strbuf_printf(&sql, "%s\"%s\"", c ? ", " : "", t->cols[c].name);
    if (t->npk == 0)
        strbuf_append_str(&sql, ", rowid");
    strbuf_printf(&sql, " FROM \"%s\"", t->name);
    struct strbuf keys;
    strbuf_init(&keys);
    if (t->npk == 0)
        strbuf_append_str(&keys, "rowid");
    for (int k = 0; k < t->npk; k++)
        strbuf_printf(&keys, "%s\"%s\"", k ? ", " : "", t->cols[t->pk[k]].name);
    int nkeys = t->npk ? t->npk : 1;
    if (after_key) {
        strbuf_printf(&sql, " WHERE (%s) > (", keys.buf);
        for (int k = 0; k < nkeys; k++)
            strbuf_printf(&sql, "%s?%d", k ? ", " : "", k + 1);
        strbuf_append_str(&sql, ")");
    }
    strbuf_printf(&sql, " ORDER BY %s", keys.buf);
    strbuf_cleanup(&keys);
    sqlite3_stmt *q = NULL;
    if (sql.oom ||
        sqlite3_prepare_v2(m->src, sql.buf, -1, &q, NULL) != SQLITE_OK) {
        fprintf(stderr, "migrate: reading %s: %s\n", t->name,
                sqlite3_errmsg(m->src));
        strbuf_cleanup(&sql);
        return NULL;
    }
    strbuf_cleanup(&sql);
    if (after_key && bind_key(q, after_key) != nkeys) {
        fprintf(stderr,
                "migrate: %s: the recorded progress (%s) is not a "
                "key of this table\n",
                t->name, after_key);
        sqlite3_finalize(q);
        return NULL;
    }
    return q;
}

/*---- target helpers ----*/

/* Runs 'sql' on the target; 0, or -1 with the error printed. */
static int dst_exec(struct migration *m, const char *sql)
{
    if (db_exec(m->dst, sql) == DB_OK)
        return 0;
    fprintf(stderr, "migrate: %s\n", db_errmsg(m->dst));
    return -1;
}

/* The single integer a query returns, with text parameter 'p1' (may be
 * NULL); 0 with *v, or -1 with the error printed. */
static int dst_int(struct migration *m, const char *sql, const char *p1,
                   int64_t *v)
{
    struct db_stmt *q = db_prepare(m->dst, sql);
    int rc = DB_ERROR;
    if (q) {
        if (p1)
            db_bind_text(q, 1, p1, -1);
        rc = db_step(q);
        if (rc == DB_ROW)
            *v = db_column_int64(q, 0);
        else if (rc == DB_DONE)
            *v = 0;
    }
    if (rc == DB_ERROR)
        fprintf(stderr, "migrate: %s\n", db_errmsg(m->dst));
    db_finalize(q);
    return rc == DB_ERROR ? -1 : 0;
}

/* Appends ("c1", "c2", ...) of 't' to 'sb'. */
static void col_list(struct strbuf *sb, const struct table *t,
                     const char *prefix)
{
    for (int c = 0; c < t->ncols; c++)
        strbuf_printf(sb, "%s%s\"%s\"", c ? ", " : "", prefix, t->cols[c].name);
}

/*---- progress ----*/

/* Creates greentrack_migrate and loads or starts the progress of every
 * table. A target that holds data and no progress of this source is
 * refused unless --append. 0, or -1 with a message printed. */
static int load_progress(struct migration *m)
{
    if (dst_exec(m, "CREATE TABLE IF NOT EXISTS greentrack_migrate ("
                    "tbl TEXT PRIMARY KEY, source TEXT NOT NULL, "
                    "mode TEXT NOT NULL, last_key TEXT, "
                    "rows_copied BIGINT NOT NULL DEFAULT 0, "
                    "done BOOLEAN NOT NULL DEFAULT false)") != 0)
        return -1;
    const char *mode = m->append ? "append" : "copy";
    struct db_stmt *q =
        db_prepare(m->dst, "SELECT tbl, source, mode, last_key, "
                           "rows_copied, done FROM greentrack_migrate");
    if (!q)
        return -1;
    int rc, nrows = 0, bad = 0;
    while ((rc = db_step(q)) == DB_ROW) {
        nrows++;
        const char *src = db_column_text(q, 1);
        const char *md = db_column_text(q, 2);
        if ((strcmp(src, m->from) != 0 || strcmp(md, mode) != 0) && !bad++)
            fprintf(stderr,
                    "migrate: the target holds a migration (%s) from %s; "
                    "resume it with the same --from and %s, or drop the "
                    "table greentrack_migrate to start another\n",
                    md, src,
                    strcmp(md, "append") == 0 ? "--append"
                                              : "without --append");
        struct table *t = find_table(m, db_column_text(q, 0));
        if (!t)
            continue;
        const char *key = db_column_text(q, 3);
        t->last_key = key ? strdup(key) : NULL;
        t->rows_copied = db_column_int64(q, 4);
        t->done = db_column_int64(q, 5) != 0;
    }
    db_finalize(q);
    if (rc != DB_DONE) {
        fprintf(stderr, "migrate: %s\n", db_errmsg(m->dst));
        return -1;
    }
    if (bad)
        return -1;

    if (nrows == 0 && !m->append) {
        /* a fresh target: nothing but the Default experiment a server
         * creates may be there */
        for (int i = 0; i < m->ntables; i++) {
            struct table *t = &m->tables[i];
            struct strbuf sql;
            strbuf_init(&sql);
            strbuf_printf(&sql, "SELECT count(*) FROM \"%s\"", t->name);
            if (strcmp(t->name, "experiments") == 0)
                strbuf_append_str(&sql, " WHERE experiment_id <> 0");
            int64_t n = 0;
            int r = sql.oom ? -1 : dst_int(m, sql.buf, NULL, &n);
            strbuf_cleanup(&sql);
            if (r != 0)
                return -1;
            if (n > 0) {
                fprintf(stderr,
                        "migrate: the target is not empty (%s holds %" PRId64
                        " rows); migrate into an empty database, or pass "
                        "--append to add to it\n",
                        t->name, n);
                return -1;
            }
        }
    }
    /* every table gets a row (also one that a newer schema added) */
    for (int i = 0; i < m->ntables; i++) {
        struct db_stmt *ins =
            db_prepare(m->dst, "INSERT INTO greentrack_migrate "
                               "(tbl, source, mode) VALUES (?1, ?2, ?3) "
                               "ON CONFLICT (tbl) DO NOTHING");
        if (!ins)
            return -1;
        db_bind_text(ins, 1, m->tables[i].name, -1);
        db_bind_text(ins, 2, m->from, -1);
        db_bind_text(ins, 3, mode, -1);
        rc = db_step(ins);
        db_finalize(ins);
        if (rc != DB_DONE) {
            fprintf(stderr, "migrate: %s\n", db_errmsg(m->dst));
            return -1;
        }
    }
    return 0;
}

/*---- copying ----*/

/* Puts column 'c' of the source row as 'kind'. DB_OK or DB_ERROR. */
static int put_value(struct db *dst, sqlite3_stmt *q, int c, enum col_kind kind)
{
    if (sqlite3_column_type(q, c) == SQLITE_NULL)
        return db_copy_put_null(dst);
    switch (kind) {
    case K_INT:
        return db_copy_put_int64(dst, sqlite3_column_int64(q, c));
    case K_BOOL:
        return db_copy_put_bool(dst, sqlite3_column_int64(q, c) != 0);
    case K_FLOAT:
        return db_copy_put_double(dst, sqlite3_column_double(q, c));
    case K_TEXT:
        return db_copy_put_text(dst, (const char *)sqlite3_column_text(q, c),
                                (size_t)sqlite3_column_bytes(q, c));
    }
    return DB_ERROR;
}

/* The staging table of 't' for --append (a temporary copy of its shape). */
static void stage_name(char *out, size_t size, const struct table *t)
{
    snprintf(out, size, "gt_stage_%s", t->name);
}

/* The WHERE condition under which a staged row 's' and the target row
 * 'd' with the same key count as the same (--append). */
static void same_row(struct strbuf *sb, const struct table *t)
{
    strbuf_append_str(sb, "ROW(");
    col_list(sb, t, "s.");
    strbuf_append_str(sb, ")::text = ROW(");
    col_list(sb, t, "d.");
    strbuf_append_str(sb, ")::text");
    /* the Default experiment exists on both sides: the target's stays */
    if (strcmp(t->name, "experiments") == 0)
        strbuf_append_str(sb, " OR s.experiment_id = 0");
}

/* Appends the join of staged rows to target rows on the key. */
static void key_join(struct strbuf *sb, const struct table *t)
{
    for (int k = 0; k < t->npk; k++)
        strbuf_printf(sb, "%sd.\"%s\" = s.\"%s\"", k ? " AND " : "",
                      t->cols[t->pk[k]].name, t->cols[t->pk[k]].name);
}

/* --append, inside the chunk's transaction: moves the staged rows into
 * the table, refusing rows whose key exists with other values. 0, or -1
 * with a message printed. */
static int merge_stage(struct migration *m, const struct table *t)
{
    char stage[NAME_MAX_LEN + 16];
    stage_name(stage, sizeof(stage), t);
    struct strbuf sql;
    strbuf_init(&sql);
    strbuf_printf(&sql, "SELECT count(*) FROM \"%s\" s JOIN \"%s\" d ON ",
                  stage, t->name);
    key_join(&sql, t);
    strbuf_append_str(&sql, " WHERE NOT (");
    same_row(&sql, t);
    strbuf_append_str(&sql, ")");
    int64_t clash = 0;
    int rc = sql.oom ? -1 : dst_int(m, sql.buf, NULL, &clash);
    strbuf_reset(&sql);
    if (rc == 0 && clash > 0) {
        fprintf(stderr,
                "migrate: %s: %" PRId64 " rows of the source have a key "
                "that the target holds with other values; nothing of this "
                "chunk was written\n",
                t->name, clash);
        rc = -1;
    }
    if (rc == 0) {
        strbuf_printf(&sql, "INSERT INTO \"%s\" (", t->name);
        col_list(&sql, t, "");
        strbuf_append_str(&sql, ") SELECT ");
        col_list(&sql, t, "");
        strbuf_printf(&sql, " FROM \"%s\" ON CONFLICT (", stage);
        for (int k = 0; k < t->npk; k++)
            strbuf_printf(&sql, "%s\"%s\"", k ? ", " : "",
                          t->cols[t->pk[k]].name);
        strbuf_append_str(&sql, ") DO NOTHING");
        rc = sql.oom ? -1 : dst_exec(m, sql.buf);
    }
    strbuf_cleanup(&sql);
    return rc;
}

/* Creates the temporary staging table of 't' (--append); 0 or -1. */
static int make_stage(struct migration *m, const struct table *t)
{
    char stage[NAME_MAX_LEN + 16];
    stage_name(stage, sizeof(stage), t);
    char sql[256];
    snprintf(sql, sizeof(sql),
             "CREATE TEMP TABLE IF NOT EXISTS \"%s\" (LIKE \"%s\")", stage,
             t->name);
    if (t->npk == 0) {
        fprintf(stderr,
                "migrate: %s has no primary key: --append cannot "
                "tell its rows apart\n",
                t->name);
        return -1;
    }
    return dst_exec(m, sql);
}

/* Copies the rest of 't', one transaction per chunk. 0, or -1 with a
 * message printed (the chunk in flight is rolled back). */
static int copy_table(struct migration *m, struct table *t)
{
    if (m->append && make_stage(m, t) != 0)
        return -1;
    sqlite3_stmt *q = source_select(m, t, t->last_key);
    if (!q)
        return -1;
    const char *cols[MAX_COLS];
    for (int c = 0; c < t->ncols; c++)
        cols[c] = t->cols[c].name;
    char stage[NAME_MAX_LEN + 16];
    stage_name(stage, sizeof(stage), t);
    double t0 = now_s();
    int64_t copied = 0;
    struct strbuf key;
    strbuf_init(&key);
    int src_rc = SQLITE_ROW;
    while (!t->done) {
        if (dst_exec(m, "BEGIN") != 0)
            goto fail;
        if (!m->append && t->rows_copied == 0 &&
            strcmp(t->name, "experiments") == 0 &&
            dst_exec(m, "DELETE FROM experiments WHERE experiment_id = 0") != 0)
            goto rollback;
        if (m->append) {
            char sql[128];
            snprintf(sql, sizeof(sql), "TRUNCATE \"%s\"", stage);
            if (dst_exec(m, sql) != 0)
                goto rollback;
        }
        if (db_copy_in_begin(m->dst, m->append ? stage : t->name, cols,
                             t->ncols) != DB_OK) {
            fprintf(stderr, "migrate: %s: %s\n", t->name, db_errmsg(m->dst));
            goto rollback;
        }
        int64_t n = 0;
        int put = DB_OK;
        while (n < m->batch_rows && put == DB_OK &&
               (src_rc = sqlite3_step(q)) == SQLITE_ROW) {
            for (int c = 0; c < t->ncols && put == DB_OK; c++)
                put = put_value(m->dst, q, c, t->cols[c].kind);
            if (put == DB_OK)
                put = db_copy_end_row(m->dst);
            n++;
            if (n == m->batch_rows || put != DB_OK) {
                /* the chunk's last row: its key is the progress */
                strbuf_reset(&key);
                if (t->npk == 0)
                    key_part(&key, q, t->ncols, K_INT);
                for (int k = 0; k < t->npk; k++)
                    key_part(&key, q, t->pk[k], t->cols[t->pk[k]].kind);
            }
        }
        if (put != DB_OK) {
            fprintf(stderr, "migrate: %s, the row after key %s: %s\n", t->name,
                    t->last_key ? t->last_key : "(none)", db_errmsg(m->dst));
            db_copy_in_end(m->dst, true);
            goto rollback;
        }
        if (src_rc != SQLITE_ROW && src_rc != SQLITE_DONE) {
            fprintf(stderr, "migrate: reading %s: %s\n", t->name,
                    sqlite3_errmsg(m->src));
            db_copy_in_end(m->dst, true);
            goto rollback;
        }
        if (db_copy_in_end(m->dst, false) != DB_OK) {
            fprintf(stderr, "migrate: %s: %s\n", t->name, db_errmsg(m->dst));
            goto rollback;
        }
        if (m->append && merge_stage(m, t) != 0)
            goto rollback;
        bool last = src_rc == SQLITE_DONE;
        struct db_stmt *up = db_prepare(
            m->dst, "UPDATE greentrack_migrate SET last_key = coalesce(?1, "
                    "last_key), rows_copied = rows_copied + ?2, done = ?3 "
                    "WHERE tbl = ?4");
        if (!up)
            goto rollback;
        if (n == m->batch_rows)
            db_bind_text(up, 1, key.buf, (int)key.len);
        db_bind_int64(up, 2, n);
        db_bind_text(up, 3, last ? "true" : "false", -1);
        db_bind_text(up, 4, t->name, -1);
        int urc = db_step(up);
        db_finalize(up);
        if (urc != DB_DONE) {
            fprintf(stderr, "migrate: %s\n", db_errmsg(m->dst));
            goto rollback;
        }
        if (dst_exec(m, "COMMIT") != 0)
            goto fail;
        t->rows_copied += n;
        copied += n;
        if (n == m->batch_rows) {
            free(t->last_key);
            t->last_key = strdup(key.buf);
        }
        t->done = last;
    }
    sqlite3_finalize(q);
    strbuf_cleanup(&key);
    double dt = now_s() - t0;
    printf("copied %-30s %10" PRId64 " rows in %.2f s\n", t->name, copied, dt);
    fflush(stdout);
    return 0;

rollback:
    db_exec(m->dst, "ROLLBACK");
fail:
    sqlite3_finalize(q);
    strbuf_cleanup(&key);
    return -1;
}

/* Moves the identity sequence of 't' past its largest id, so that rows
 * the server inserts later never take a copied id. 0 or -1. */
static int move_identity(struct migration *m, const struct table *t)
{
    if (!t->identity[0])
        return 0;
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT setval(x.s, GREATEST(x.m, "
             "coalesce(pg_sequence_last_value(x.s), x.m))) FROM ("
             "SELECT pg_get_serial_sequence(?1, ?2)::regclass AS s, "
             "(SELECT max(\"%s\") FROM \"%s\") AS m) x WHERE x.m >= 1",
             t->identity, t->name);
    struct db_stmt *q = db_prepare(m->dst, sql);
    int rc = DB_ERROR;
    if (q) {
        db_bind_text(q, 1, t->name, -1);
        db_bind_text(q, 2, t->identity, -1);
        while ((rc = db_step(q)) == DB_ROW)
            ;
    }
    if (rc != DB_DONE)
        fprintf(stderr, "migrate: %s: moving the identity: %s\n", t->name,
                db_errmsg(m->dst));
    db_finalize(q);
    return rc == DB_DONE ? 0 : -1;
}

/*---- verification ----*/

/* An order-independent digest: the sums of two 64-bit hashes of each
 * row's canonical bytes (a kind tag per value, integers and the bits of
 * doubles as 8 bytes, text with its length), and the row count. */
struct digest {
    uint64_t a, b;
    int64_t rows;
};

struct row_hash {
    uint64_t a, b;
};

static void hash_bytes(struct row_hash *h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h->a = (h->a ^ p[i]) * UINT64_C(0x100000001b3);
        h->b = (h->b ^ p[i]) * UINT64_C(0x9e3779b97f4a7c15) +
               UINT64_C(0x632be59bd9b4e019);
    }
}

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static void hash_tag_u64(struct row_hash *h, char tag, uint64_t v)
{
    unsigned char b[9];
    b[0] = (unsigned char)tag;
    for (int i = 0; i < 8; i++)
        b[1 + i] = (unsigned char)(v >> (8 * i));
    hash_bytes(h, b, sizeof(b));
}

static void hash_null(struct row_hash *h)
{
    hash_bytes(h, "N", 1);
}

static void hash_int(struct row_hash *h, int64_t v)
{
    hash_tag_u64(h, 'I', (uint64_t)v);
}

static void hash_double(struct row_hash *h, double v)
{
    uint64_t bits;
    if (isnan(v))
        v = NAN; /* one NaN */
    memcpy(&bits, &v, sizeof(bits));
    hash_tag_u64(h, 'F', bits);
}

static void hash_text(struct row_hash *h, const void *v, size_t len)
{
    hash_tag_u64(h, 'T', (uint64_t)len);
    hash_bytes(h, v, len);
}

static void digest_add(struct digest *d, const struct row_hash *h)
{
    d->a += mix64(h->a);
    d->b += mix64(h->b ^ UINT64_C(0x5bd1e9955bd1e995));
    d->rows++;
}

static void row_hash_init(struct row_hash *h)
{
    h->a = UINT64_C(0xcbf29ce484222325);
    h->b = UINT64_C(0x84222325cbf29ce4);
}

/* The digest of the source's 't' (inside the open read transaction). */
static int digest_source(struct migration *m, const struct table *t,
                         struct digest *d)
{
    memset(d, 0, sizeof(*d));
    sqlite3_stmt *q = source_select(m, t, NULL);
    if (!q)
        return -1;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct row_hash h;
        row_hash_init(&h);
        for (int c = 0; c < t->ncols; c++) {
            if (sqlite3_column_type(q, c) == SQLITE_NULL) {
                hash_null(&h);
                continue;
            }
            switch (t->cols[c].kind) {
            case K_INT:
                hash_int(&h, sqlite3_column_int64(q, c));
                break;
            case K_BOOL:
                hash_int(&h, sqlite3_column_int64(q, c) != 0);
                break;
            case K_FLOAT:
                hash_double(&h, sqlite3_column_double(q, c));
                break;
            case K_TEXT:
                hash_text(&h, sqlite3_column_text(q, c),
                          (size_t)sqlite3_column_bytes(q, c));
                break;
            }
        }
        digest_add(d, &h);
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "migrate: reading %s: %s\n", t->name,
                sqlite3_errmsg(m->src));
        return -1;
    }
    return 0;
}

/* The digest of the target's 't', read through COPY TO STDOUT. */
static int digest_target(struct migration *m, const struct table *t,
                         struct digest *d)
{
    memset(d, 0, sizeof(*d));
    const char *cols[MAX_COLS];
    for (int c = 0; c < t->ncols; c++)
        cols[c] = t->cols[c].name;
    if (db_copy_out_begin(m->dst, t->name, cols, t->ncols) != DB_OK) {
        fprintf(stderr, "migrate: %s: %s\n", t->name, db_errmsg(m->dst));
        return -1;
    }
    int rc, nf;
    const char *const *f;
    const size_t *len;
    while ((rc = db_copy_out_next(m->dst, &nf, &f, &len)) == DB_ROW) {
        struct row_hash h;
        row_hash_init(&h);
        for (int c = 0; c < t->ncols; c++) {
            if (c >= nf || !f[c]) {
                hash_null(&h);
                continue;
            }
            switch (t->cols[c].kind) {
            case K_INT:
                hash_int(&h, strtoll(f[c], NULL, 10));
                break;
            case K_BOOL:
                hash_int(&h, f[c][0] == 't');
                break;
            case K_FLOAT:
                hash_double(&h, strtod(f[c], NULL));
                break;
            case K_TEXT:
                hash_text(&h, f[c], len[c]);
                break;
            }
        }
        digest_add(d, &h);
    }
    if (rc != DB_DONE) {
        fprintf(stderr, "migrate: reading %s from the target: %s\n", t->name,
                db_errmsg(m->dst));
        return -1;
    }
    return 0;
}

/* --append: how many of the source's rows of 't' the target holds
 * identically (staged chunk by chunk, joined on the key). */
static int contained_rows(struct migration *m, const struct table *t,
                          int64_t *found)
{
    *found = 0;
    if (make_stage(m, t) != 0)
        return -1;
    sqlite3_stmt *q = source_select(m, t, NULL);
    if (!q)
        return -1;
    const char *cols[MAX_COLS];
    for (int c = 0; c < t->ncols; c++)
        cols[c] = t->cols[c].name;
    char stage[NAME_MAX_LEN + 16];
    stage_name(stage, sizeof(stage), t);
    struct strbuf count;
    strbuf_init(&count);
    strbuf_printf(&count, "SELECT count(*) FROM \"%s\" s JOIN \"%s\" d ON ",
                  stage, t->name);
    key_join(&count, t);
    strbuf_append_str(&count, " WHERE ");
    same_row(&count, t);
    int src_rc = SQLITE_ROW, rc = 0;
    while (src_rc == SQLITE_ROW && rc == 0) {
        char sql[128];
        snprintf(sql, sizeof(sql), "TRUNCATE \"%s\"", stage);
        if (dst_exec(m, sql) != 0 ||
            db_copy_in_begin(m->dst, stage, cols, t->ncols) != DB_OK) {
            rc = -1;
            break;
        }
        int64_t n = 0;
        int put = DB_OK;
        while (n < m->batch_rows && put == DB_OK &&
               (src_rc = sqlite3_step(q)) == SQLITE_ROW) {
            for (int c = 0; c < t->ncols && put == DB_OK; c++)
                put = put_value(m->dst, q, c, t->cols[c].kind);
            if (put == DB_OK)
                put = db_copy_end_row(m->dst);
            n++;
        }
        if (db_copy_in_end(m->dst, put != DB_OK) != DB_OK) {
            fprintf(stderr, "migrate: %s: %s\n", t->name, db_errmsg(m->dst));
            rc = -1;
            break;
        }
        int64_t k = 0;
        if (count.oom || dst_int(m, count.buf, NULL, &k) != 0)
            rc = -1;
        *found += k;
    }
    strbuf_cleanup(&count);
    sqlite3_finalize(q);
    return rc;
}

/* Compares every table; prints the table of results. 0 when all match,
 * 1 on a mismatch, -1 on an error. */
static int verify(struct migration *m)
{
    printf("%-30s %12s %12s  %s\n", "table", "rows source", "rows target",
           m->append ? "source rows in target" : "checksum");
    int mismatches = 0;
    for (int i = 0; i < m->ntables; i++) {
        const struct table *t = &m->tables[i];
        struct digest s, d;
        if (digest_source(m, t, &s) != 0 || digest_target(m, t, &d) != 0)
            return -1;
        if (m->append) {
            int64_t found;
            if (contained_rows(m, t, &found) != 0)
                return -1;
            bool ok = found == s.rows;
            printf("%-30s %12" PRId64 " %12" PRId64 "  %s", t->name, s.rows,
                   d.rows, ok ? "all" : "MISSING");
            if (!ok)
                printf(" (%" PRId64 " of %" PRId64 ")", found, s.rows);
            printf("\n");
            mismatches += !ok;
        } else {
            bool ok = s.rows == d.rows && s.a == d.a && s.b == d.b;
            printf("%-30s %12" PRId64 " %12" PRId64 "  %s\n", t->name, s.rows,
                   d.rows, ok ? "match" : "MISMATCH");
            mismatches += !ok;
        }
    }
    if (mismatches)
        printf("%d table%s differ\n", mismatches, mismatches == 1 ? "" : "s");
    else
        printf("all %d tables match\n", m->ntables);
    fflush(stdout);
    return mismatches ? 1 : 0;
}

/*---- foreign keys ----*/

/* Checks every foreign key of the target's schema in one query each (the
 * copy ran with session_replication_role = replica, which skips the
 * per-row checks: a row at a time they cost more than the copy itself).
 * 0 when no row references a missing one, -1 (said) otherwise. */
static int check_foreign_keys(struct migration *m)
{
    struct db_stmt *q = db_prepare(
        m->dst, "SELECT c.conname::text, cl.relname::text, pl.relname::text, "
                "string_agg(ca.attname::text, ',' ORDER BY k.n), "
                "string_agg(pa.attname::text, ',' ORDER BY k.n) "
                "FROM pg_constraint c "
                "JOIN pg_class cl ON cl.oid = c.conrelid "
                "JOIN pg_class pl ON pl.oid = c.confrelid "
                "JOIN pg_namespace ns ON ns.oid = cl.relnamespace "
                "CROSS JOIN LATERAL unnest(c.conkey, c.confkey) "
                "WITH ORDINALITY AS k(ck, pk, n) "
                "JOIN pg_attribute ca ON ca.attrelid = c.conrelid "
                "AND ca.attnum = k.ck "
                "JOIN pg_attribute pa ON pa.attrelid = c.confrelid "
                "AND pa.attnum = k.pk "
                "WHERE c.contype = 'f' AND ns.nspname = current_schema() "
                "GROUP BY c.conname, cl.relname, pl.relname ORDER BY 1");
    if (!q) {
        fprintf(stderr, "migrate: %s\n", db_errmsg(m->dst));
        return -1;
    }
    struct strbuf checks; /* one query per key, NUL-separated */
    strbuf_init(&checks);
    struct strbuf names;
    strbuf_init(&names);
    int rc, bad = 0, nkeys = 0;
    while ((rc = db_step(q)) == DB_ROW) {
        const char *v[5];
        for (int i = 0; i < 5; i++)
            v[i] = db_column_text(q, i);
        if (!plain_name(v[1]) || !plain_name(v[2])) {
            bad++;
            continue;
        }
        strbuf_printf(&checks, "SELECT count(*) FROM \"%s\" c WHERE ", v[1]);
        struct strbuf notnull, join;
        strbuf_init(&notnull);
        strbuf_init(&join);
        char ccols[512], pcols[512];
        snprintf(ccols, sizeof(ccols), "%s", v[3]);
        snprintf(pcols, sizeof(pcols), "%s", v[4]);
        char *cs = ccols, *ps = pcols;
        for (int k = 0; cs && ps; k++) {
            char *cn = strchr(cs, ','), *pn = strchr(ps, ',');
            if (cn)
                *cn = '\0';
            if (pn)
                *pn = '\0';
            if (!plain_name(cs) || !plain_name(ps))
                bad++;
            strbuf_printf(&notnull, "%sc.\"%s\" IS NOT NULL", k ? " AND " : "",
                          cs);
            strbuf_printf(&join, "%sp.\"%s\" = c.\"%s\"", k ? " AND " : "", ps,
                          cs);
            cs = cn ? cn + 1 : NULL;
            ps = pn ? pn + 1 : NULL;
        }
        strbuf_printf(&checks,
                      "%s AND NOT EXISTS (SELECT 1 FROM \"%s\" p WHERE %s)",
                      notnull.buf, v[2], join.buf);
        strbuf_append_char(&checks, '\0');
        strbuf_printf(&names, "%s (%s -> %s)", v[0], v[1], v[2]);
        strbuf_append_char(&names, '\0');
        strbuf_cleanup(&notnull);
        strbuf_cleanup(&join);
        nkeys++;
    }
    db_finalize(q);
    if (rc != DB_DONE || checks.oom || names.oom || bad) {
        fprintf(stderr, "migrate: reading the target's foreign keys: %s\n",
                rc != DB_DONE ? db_errmsg(m->dst) : "unexpected names");
        strbuf_cleanup(&checks);
        strbuf_cleanup(&names);
        return -1;
    }
    const char *sql = checks.buf, *name = names.buf;
    for (int i = 0; i < nkeys; i++) {
        int64_t orphans = 0;
        if (dst_int(m, sql, NULL, &orphans) != 0) {
            bad++;
        } else if (orphans > 0) {
            fprintf(stderr,
                    "migrate: foreign key %s: %" PRId64 " rows reference "
                    "a row that does not exist\n",
                    name, orphans);
            bad++;
        }
        sql += strlen(sql) + 1;
        name += strlen(name) + 1;
    }
    strbuf_cleanup(&checks);
    strbuf_cleanup(&names);
    if (!bad) {
        printf("checked %d foreign keys\n", nkeys);
        fflush(stdout);
    }
    return bad ? -1 : 0;
}

/*---- the command ----*/

/* Opens the source read-only and starts the read transaction that every
 * later read shares. 0, or -1 with a message printed. */
/* The pid of another process that has the SQLite database at 'path' open
 * in WAL mode (as every greentrack-server does), or 0. Each such
 * connection holds a shared POSIX lock on byte 128 of the "-shm" file
 * (SQLite's unix VFS: the DMS slot after the eight WAL-index locks at
 * 120), idle or not; F_GETLK reports it. */
static long source_user(const char *path)
{
    char shm[4200];
    if (snprintf(shm, sizeof(shm), "%s-shm", path) >= (int)sizeof(shm))
        return 0;
    int fd = open(shm, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct flock fl;
    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = 128;
    fl.l_len = 1;
    long pid = 0;
    if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
        pid = fl.l_pid > 0 ? (long)fl.l_pid : -1;
    close(fd);
    return pid;
}

static int open_source(struct migration *m)
{
    long user = source_user(m->from);
    if (user != 0) {
        fprintf(stderr,
                "migrate: %s is open in another process (pid %ld, a "
                "running greentrack-server?); stop it first, so that "
                "nothing is written after the copy\n",
                m->from, user);
        return -1;
    }
    int rc = sqlite3_open_v2(m->from, &m->src,
                             SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        fprintf(stderr, "migrate: cannot open %s: %s\n", m->from,
                m->src ? sqlite3_errmsg(m->src) : "out of memory");
        return -1;
    }
    sqlite3_busy_timeout(m->src, 5000);
    int64_t level = -1;
    sqlite3_stmt *q = NULL;
    if (sqlite3_exec(m->src, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(m->src,
                           "SELECT (SELECT count(*) FROM sqlite_master), "
                           "user_version FROM pragma_user_version",
                           -1, &q, NULL) != SQLITE_OK ||
        sqlite3_step(q) != SQLITE_ROW) {
        fprintf(stderr, "migrate: cannot read %s: %s\n", m->from,
                sqlite3_errmsg(m->src));
        sqlite3_finalize(q);
        return -1;
    }
    level = sqlite3_column_int64(q, 1);
    sqlite3_finalize(q);
    int want = schema_migrations[schema_migration_count - 1].level;
    if (level != want) {
        if (level < want)
            fprintf(stderr,
                    "migrate: %s is at schema level %" PRId64 ", this "
                    "greentrack-server's is %d: start this version's "
                    "greentrack-server --db %s once (it upgrades the "
                    "file), stop it, then migrate\n",
                    m->from, level, want, m->from);
        else
            fprintf(stderr,
                    "migrate: %s is at schema level %" PRId64 ", newer than "
                    "this greentrack-server's %d: run the migrate of the "
                    "version that wrote it\n",
                    m->from, level, want);
        return -1;
    }
    return 0;
}

/* Opens the target, takes the migration lock and brings its schema to
 * this binary's level. 0, or -1 with a message printed. */
static int open_target(struct migration *m)
{
    if (!db_target_is_postgres(m->to)) {
        fprintf(stderr, "migrate: --to must be a postgresql:// URL\n");
        return -1;
    }
    struct errbuf eb;
    m->dst = db_open(m->to, NULL, &eb);
    if (!m->dst) {
        fprintf(stderr, "migrate: %s\n", eb.msg);
        return -1;
    }
    int64_t got = 0;
    char sql[80];
    snprintf(sql, sizeof(sql), "SELECT pg_try_advisory_lock(%" PRId64 ")",
             MIGRATE_LOCK_KEY);
    if (dst_int(m, sql, NULL, &got) != 0)
        return -1;
    if (!got) {
        fprintf(stderr, "migrate: another migrate is running on this "
                        "database (advisory lock held)\n");
        return -1;
    }
    if (db_migrate(m->dst, schema_pg_migrations, schema_pg_migration_count,
                   &eb) != SRV_OK) {
        fprintf(stderr, "migrate: %s\n", eb.msg);
        return -1;
    }
    return 0;
}

static int run(struct migration *m)
{
    if (open_source(m) != 0 || open_target(m) != 0 ||
        read_source_schema(m) != 0 || read_target_schema(m) != 0)
        return 1;
    if (!m->verify_only) {
        if (load_progress(m) != 0)
            return 1;
        /* A superuser may skip the per-row foreign-key triggers; the
         * keys are then checked in bulk once everything is copied. */
        m->fk_at_end =
            db_exec(m->dst, "SET session_replication_role = replica") == DB_OK;
        if (!m->fk_at_end)
            printf("foreign keys checked row by row (not a superuser: "
                   "session_replication_role cannot be set)\n");
        double t0 = now_s();
        int64_t total = 0;
        for (int i = 0; i < m->ntables; i++) {
            struct table *t = &m->tables[i];
            int64_t before = t->rows_copied;
            if (!t->done && copy_table(m, t) != 0)
                return 1;
            if (move_identity(m, t) != 0)
                return 1;
            total += t->rows_copied - before;
        }
        double dt = now_s() - t0;
        printf("copied %" PRId64 " rows in %.2f s (%.0f rows/s)\n", total, dt,
               dt > 0 ? (double)total / dt : 0.0);
        fflush(stdout);
        if (m->fk_at_end) {
            if (db_exec(m->dst, "SET session_replication_role = origin") !=
                    DB_OK ||
                check_foreign_keys(m) != 0)
                return 1;
        }
    }
    int v = verify(m);
    return v == 0 ? 0 : 1;
}

int migrate_main(int argc, char **argv)
{
    struct migration m;
    memset(&m, 0, sizeof(m));
    m.batch_rows = 50000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            print_help();
            return 0;
        }
        if (strcmp(a, "--append") == 0) {
            m.append = true;
            continue;
        }
        if (strcmp(a, "--verify-only") == 0) {
            m.verify_only = true;
            continue;
        }
        const char *names[] = {"--from", "--to", "--batch-rows"};
        int which = -1;
        for (int k = 0; k < 3; k++) {
            size_t n = strlen(names[k]);
            if (strncmp(a, names[k], n) == 0 && a[n] == '=') {
                which = k;
                v = a + n + 1;
            } else if (strcmp(a, names[k]) == 0) {
                which = k;
                if (i + 1 >= argc) {
                    fprintf(stderr, "migrate: %s needs a value\n", a);
                    return 2;
                }
                v = argv[++i];
            }
        }
        if (which == 0) {
            m.from = v;
        } else if (which == 1) {
            m.to = v;
        } else if (which == 2) {
            char *end;
            errno = 0;
            long n = strtol(v, &end, 10);
            if (*end || end == v || errno || n < 1 || n > 10000000) {
                fprintf(stderr, "migrate: --batch-rows takes 1 to "
                                "10000000\n");
                return 2;
            }
            m.batch_rows = (int)n;
        } else {
            fprintf(stderr,
                    "migrate: unknown option %s (see greentrack-server "
                    "migrate --help)\n",
                    a);
            return 2;
        }
    }
    if (!m.from || !m.to || !*m.from || !*m.to) {
        fprintf(stderr, "migrate: --from PATH.db and --to postgresql://... "
                        "are required (see --help)\n");
        return 2;
    }
    /* the progress names the source by its absolute path */
    char *abs = realpath(m.from, NULL);
    if (!abs) {
        fprintf(stderr, "migrate: %s: %s\n", m.from,
                errno == ENOENT ? "no such file" : "cannot resolve the path");
        return 1;
    }
    m.from = abs;
    int rc = run(&m);
    for (int i = 0; i < m.ntables; i++)
        free(m.tables[i].last_key);
    db_close(m.dst);
    if (m.src) {
        sqlite3_exec(m.src, "COMMIT", NULL, NULL, NULL);
        sqlite3_close(m.src);
    }
    free(abs);
    return rc;
}
