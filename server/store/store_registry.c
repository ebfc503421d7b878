/* SPDX-License-Identifier: MIT
 *
 * store_registry: the Model Registry's storage (see store_registry.h):
 * every statement on the tables of schema/005_registry.sql, the write
 * executors the store's writer runs for SW_REGISTRY, and the reads.
 * Sections: statements, rows, writes, reads. Semantics follow MLflow
 * 2.9.2's SQL store (mlflow/store/model_registry/sqlalchemy_store.py).
 */
#include "store_registry.h"

#include "filter.h"
#include "internal.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*---- statements ----*/

/* A version's columns, in the order version_from_row reads them. */
#define VCOLS                                                                  \
    "m.name, v.version, v.creation_timestamp, v.last_updated_timestamp, "      \
    "v.current_stage, v.description, v.source, v.run_id, v.run_link, "         \
    "v.status, v.status_message, v.model_pk"
#define VFROM                                                                  \
    " FROM model_versions AS v JOIN registered_models AS m "                   \
    "ON m.model_pk = v.model_pk "
#define LIVE "v.current_stage != '" REGISTRY_STAGE_DELETED "'"
#define MCOLS                                                                  \
    "m.model_pk, m.name, m.creation_timestamp, m.last_updated_timestamp, "     \
    "m.description"

#define FOR_EACH_REG_STMT(X)                                                   \
    X(R_MODEL_BY_NAME, "SELECT " MCOLS " FROM registered_models AS m "         \
                       "WHERE m.name = ?")                                     \
    X(R_MODEL_INSERT, "INSERT INTO registered_models (name, "                  \
                      "creation_timestamp, last_updated_timestamp, "           \
                      "description) VALUES (?, ?, ?, ?)")                      \
    X(R_MODEL_RENAME, "UPDATE registered_models SET name = ?, "                \
                      "last_updated_timestamp = ? WHERE model_pk = ?")         \
    X(R_MODEL_DESCRIBE, "UPDATE registered_models SET description = ?, "       \
                        "last_updated_timestamp = ? WHERE model_pk = ?")       \
    X(R_MODEL_TOUCH, "UPDATE registered_models SET "                           \
                     "last_updated_timestamp = ? WHERE model_pk = ?")          \
    X(R_MODEL_DEL_ALIASES,                                                     \
      "DELETE FROM registered_model_aliases WHERE model_pk = ?")               \
    X(R_MODEL_DEL_VTAGS, "DELETE FROM model_version_tags WHERE model_pk = ?")  \
    X(R_MODEL_DEL_VERSIONS, "DELETE FROM model_versions WHERE model_pk = ?")   \
    X(R_MODEL_DEL_TAGS,                                                        \
      "DELETE FROM registered_model_tags WHERE model_pk = ?")                  \
    X(R_MODEL_DEL, "DELETE FROM registered_models WHERE model_pk = ?")         \
    X(R_MODEL_TAG_UPSERT,                                                      \
      "INSERT INTO registered_model_tags (model_pk, key, value) "              \
      "VALUES (?, ?, ?) ON CONFLICT (model_pk, key) "                          \
      "DO UPDATE SET value = excluded.value")                                  \
    X(R_MODEL_TAG_DELETE, "DELETE FROM registered_model_tags "                 \
                          "WHERE model_pk = ? AND key = ?")                    \
    X(R_MODEL_TAGS, "SELECT key, value FROM registered_model_tags "            \
                    "WHERE model_pk = ? ORDER BY key")                         \
    X(R_ALIASES, "SELECT alias, version FROM registered_model_aliases "        \
                 "WHERE model_pk = ? ORDER BY alias")                          \
    X(R_ALIAS_UPSERT,                                                          \
      "INSERT INTO registered_model_aliases (model_pk, alias, version) "       \
      "VALUES (?, ?, ?) ON CONFLICT (model_pk, alias) "                        \
      "DO UPDATE SET version = excluded.version")                              \
    X(R_ALIAS_DELETE, "DELETE FROM registered_model_aliases "                  \
                      "WHERE model_pk = ? AND alias = ?")                      \
    X(R_ALIAS_GET, "SELECT a.version FROM registered_model_aliases AS a "      \
                   "JOIN registered_models AS m ON m.model_pk = a.model_pk "   \
                   "WHERE m.name = ? AND a.alias = ?")                         \
    X(R_ALIASES_OF, "SELECT alias FROM registered_model_aliases "              \
                    "WHERE model_pk = ? AND version = ? ORDER BY alias")       \
    X(R_ALIASES_DROP, "DELETE FROM registered_model_aliases "                  \
                      "WHERE model_pk = ? AND version = ?")                    \
    X(R_VERSION_NEXT, "SELECT coalesce(max(version), 0) + 1 "                  \
                      "FROM model_versions WHERE model_pk = ?")                \
    X(R_VERSION_INSERT,                                                        \
      "INSERT INTO model_versions (model_pk, version, creation_timestamp, "    \
      "last_updated_timestamp, description, source, run_id, run_link) "        \
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")                                       \
    X(R_VERSION_LIVE, "SELECT 1 FROM model_versions AS v "                     \
                      "WHERE v.model_pk = ? AND v.version = ? AND " LIVE)      \
    X(R_VERSION_GET, "SELECT " VCOLS VFROM "WHERE m.name = ? AND "             \
                     "v.version = ? AND " LIVE)                                \
    X(R_VERSION_DESCRIBE,                                                      \
      "UPDATE model_versions SET description = ?, "                            \
      "last_updated_timestamp = ? WHERE model_pk = ? AND version = ?")         \
    X(R_VERSION_DELETE,                                                        \
      "UPDATE model_versions SET current_stage = "                             \
      "'" REGISTRY_STAGE_DELETED "', source = 'REDACTED-SOURCE-PATH', "        \
      "run_id = 'REDACTED-RUN-ID', run_link = 'REDACTED-RUN-LINK', "           \
      "description = NULL, status_message = NULL, "                            \
      "last_updated_timestamp = ? WHERE model_pk = ? AND version = ?")         \
    X(R_VERSION_ARCHIVE,                                                       \
      "UPDATE model_versions SET current_stage = 'Archived', "                 \
      "last_updated_timestamp = ?1 WHERE model_pk = ?2 AND version != ?3 "     \
      "AND current_stage = ?4")                                                \
    X(R_VERSION_STAGE,                                                         \
      "UPDATE model_versions SET current_stage = ?, "                          \
      "last_updated_timestamp = ? WHERE model_pk = ? AND version = ?")         \
    X(R_VERSIONS_TOUCH, "UPDATE model_versions SET "                           \
                        "last_updated_timestamp = ? WHERE model_pk = ?")       \
    X(R_VERSION_TAG_UPSERT,                                                    \
      "INSERT INTO model_version_tags (model_pk, version, key, value) "        \
      "VALUES (?, ?, ?, ?) ON CONFLICT (model_pk, version, key) "              \
      "DO UPDATE SET value = excluded.value")                                  \
    X(R_VERSION_TAG_DELETE, "DELETE FROM model_version_tags WHERE "            \
                            "model_pk = ? AND version = ? AND key = ?")        \
    X(R_VERSION_TAGS, "SELECT key, value FROM model_version_tags "             \
                      "WHERE model_pk = ? AND version = ? ORDER BY key")       \
    /* the highest live version per stage, listed as MLflow's dict of          \
     * them fills: by the first version that entered each stage */             \
    X(R_LATEST,                                                                \
      "WITH s AS (SELECT current_stage AS stage, max(version) AS hi, "         \
      "min(version) AS lo FROM model_versions WHERE model_pk = ?1 AND "        \
      "current_stage != '" REGISTRY_STAGE_DELETED "' GROUP BY current_stage) " \
      "SELECT " VCOLS VFROM "JOIN s ON s.hi = v.version "                      \
      "WHERE v.model_pk = ?1 ORDER BY s.lo")                                   \
    X(R_VERSIONS_OF_RUN, "SELECT " VCOLS VFROM "WHERE v.run_id = ? AND " LIVE  \
                         " ORDER BY m.name, v.version")

enum reg_stmt {
#define REG_STMT_ENUM(id, sql) id,
    FOR_EACH_REG_STMT(REG_STMT_ENUM)
#undef REG_STMT_ENUM
        REG_STMT_COUNT
};

static const char *const reg_sql[REG_STMT_COUNT] = {
#define REG_STMT_SQL(id, sql) [id] = sql,
    FOR_EACH_REG_STMT(REG_STMT_SQL)
#undef REG_STMT_SQL
};

_Static_assert(REG_STMT_COUNT <= STORE_DOMAIN_STMTS,
               "raise STORE_DOMAIN_STMTS");

static sqlite3_stmt *stmt(struct conn *c, enum reg_stmt id)
{
    return store_conn_stmt(c, (unsigned)id, reg_sql[id]);
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
    sqlite3_bind_text(s, i, v ? v : "", -1, SQLITE_STATIC);
}

static enum srv_err no_model(struct errbuf *eb, const char *name)
{
    return err_set(eb, SRV_E_RESOURCE_DOES_NOT_EXIST,
                   "Registered Model with name=%s not found", name);
}

static enum srv_err no_version(struct errbuf *eb, const char *name,
                               int64_t version)
{
    return err_set(eb, SRV_E_RESOURCE_DOES_NOT_EXIST,
                   "Model Version (name=%s, version=%lld) not found", name,
                   (long long)version);
}

/*---- rows ----*/

/* A model row (MCOLS) into 'item' (a struct registered_model). */
static enum srv_err model_from_row(sqlite3_stmt *s, void *item,
                                   struct errbuf *eb)
{
    struct registered_model *m = item;
    m->model_pk = sqlite3_column_int64(s, 0);
    m->name = store_col_dup(s, 1);
    m->creation_timestamp = sqlite3_column_int64(s, 2);
    m->last_updated_timestamp = sqlite3_column_int64(s, 3);
    m->description = store_col_dup(s, 4);
    if (!m->name || !m->description)
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    return SRV_OK;
}

/* A version row (VCOLS) into 'v'; '*model_pk' gets its model's key. */
static enum srv_err version_from_row(sqlite3_stmt *s, struct model_version *v,
                                     int64_t *model_pk, struct errbuf *eb)
{
    v->name = store_col_dup(s, 0);
    v->version = sqlite3_column_int64(s, 1);
    v->creation_timestamp = sqlite3_column_int64(s, 2);
    v->last_updated_timestamp = sqlite3_column_int64(s, 3);
    v->current_stage = store_col_dup(s, 4);
    v->description = store_col_dup(s, 5); /* NULL stays NULL */
    v->source = store_col_dup(s, 6);
    v->run_id = store_col_dup(s, 7);
    v->run_link = store_col_dup(s, 8);
    v->status = store_col_dup(s, 9);
    v->status_message = store_col_dup(s, 10);
    *model_pk = sqlite3_column_int64(s, 11);
    if (!v->name || !v->current_stage || !v->source || !v->run_id ||
        !v->run_link || !v->status ||
        (!v->description && sqlite3_column_type(s, 5) != SQLITE_NULL) ||
        (!v->status_message && sqlite3_column_type(s, 10) != SQLITE_NULL))
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    return SRV_OK;
}

/* The tags (and, with 'aliases', the aliases) of version 'v' of model
 * 'model_pk'. */
static enum srv_err version_fill(struct conn *c, struct model_version *v,
                                 int64_t model_pk, bool aliases,
                                 struct errbuf *eb)
{
    sqlite3_stmt *s = stmt(c, R_VERSION_TAGS);
    if (!s)
        return store_conn_error(c, eb, "version tags");
    sqlite3_bind_int64(s, 1, model_pk);
    sqlite3_bind_int64(s, 2, v->version);
    enum srv_err e = store_read_kvs(c, s, &v->tags, &v->n_tags, eb);
    if (e || !aliases)
        return e;
    if (!(s = stmt(c, R_ALIASES_OF)))
        return store_conn_error(c, eb, "version aliases");
    sqlite3_bind_int64(s, 1, model_pk);
    sqlite3_bind_int64(s, 2, v->version);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        char **p = store_grow(v->aliases, v->n_aliases, &cap, sizeof(*p));
        if (!p)
            break;
        v->aliases = p;
        if (!(p[v->n_aliases] = store_col_dup(s, 0)))
            break;
        v->n_aliases++;
    }
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    return rc == SQLITE_DONE ? SRV_OK
                             : store_conn_error(c, eb, "version aliases");
}

/* Steps 's' (bound) and reads every version row into a new array, with
 * tags and, with 'aliases', aliases; appends to '*out' ('*n', '*cap'). */
static enum srv_err read_versions(struct conn *c, sqlite3_stmt *s, bool aliases,
                                  int64_t limit, struct model_version **out,
                                  size_t *n, size_t *cap, bool *more,
                                  struct errbuf *eb)
{
    enum srv_err e = SRV_OK;
    int rc;
    int64_t got = 0;
    size_t first = *n;
    int64_t *pks = NULL;
    size_t pk_cap = 0;
    if (more)
        *more = false;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (limit >= 0 && got == limit) {
            if (more)
                *more = true;
            break;
        }
        struct model_version *p = store_grow(*out, *n, cap, sizeof(*p));
        int64_t *q = store_grow(pks, (size_t)got, &pk_cap, sizeof(*q));
        if (q)
            pks = q;
        if (!p || !q) {
            if (p)
                *out = p;
            e = err_set(eb, SRV_E_NOMEM, "out of memory");
            break;
        }
        *out = p;
        memset(&p[*n], 0, sizeof(*p));
        (*n)++;
        if ((e = version_from_row(s, &p[*n - 1], &pks[got], eb)))
            break;
        got++;
    }
    if (!e && rc != SQLITE_ROW && rc != SQLITE_DONE)
        e = store_conn_error(c, eb, "versions");
    /* The statement is done before the per-version reads run: they may be
     * the same kind of statement on this connection. */
    sqlite3_reset(s);
    for (int64_t i = 0; !e && i < got; i++)
        e = version_fill(c, &(*out)[first + (size_t)i], pks[i], aliases, eb);
    free(pks);
    return e;
}

/*---- writes (the writer thread, inside its transaction) ----*/

/* The key of model 'name'; RESOURCE_DOES_NOT_EXIST when there is none. */
static enum srv_err model_lookup(struct conn *c, const char *name, int64_t *pk,
                                 struct errbuf *eb)
{
    sqlite3_stmt *s = stmt(c, R_MODEL_BY_NAME);
    if (!s)
        return store_conn_error(c, eb, "model lookup");
    bind_text(s, 1, name);
    bool found;
    enum srv_err e = store_step_int64(c, s, pk, &found, eb, "model lookup");
    if (e || found)
        return e;
    return no_model(eb, name);
}

/* RESOURCE_DOES_NOT_EXIST unless version 'version' of 'pk' is live. */
static enum srv_err version_lookup(struct conn *c, int64_t pk, const char *name,
                                   int64_t version, struct errbuf *eb)
{
    sqlite3_stmt *s = stmt(c, R_VERSION_LIVE);
    if (!s)
        return store_conn_error(c, eb, "version lookup");
    sqlite3_bind_int64(s, 1, pk);
    sqlite3_bind_int64(s, 2, version);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
        return SRV_OK;
    return rc == SQLITE_DONE ? no_version(eb, name, version)
                             : store_conn_error(c, eb, "version lookup");
}

static enum srv_err name_taken(struct errbuf *eb, const char *name)
{
    return err_set(eb, SRV_E_RESOURCE_ALREADY_EXISTS,
                   "Registered Model (name=%s) already exists. Error: the "
                   "name is taken by another registered model",
                   name);
}

/* Whether a model named 'name' exists other than 'self' (-1: any). */
static enum srv_err check_free(struct conn *c, const char *name, int64_t self,
                               struct errbuf *eb)
{
    int64_t pk;
    enum srv_err e = model_lookup(c, name, &pk, eb);
    if (e == SRV_E_RESOURCE_DOES_NOT_EXIST)
        return SRV_OK;
    if (e)
        return e;
    return pk == self ? SRV_OK : name_taken(eb, name);
}

static enum srv_err touch_model(struct conn *c, int64_t pk, int64_t now,
                                struct errbuf *eb)
{
    sqlite3_stmt *s = stmt(c, R_MODEL_TOUCH);
    if (s) {
        sqlite3_bind_int64(s, 1, now);
        sqlite3_bind_int64(s, 2, pk);
    }
    return store_step_done(c, s, eb, "model touch");
}

/* Runs statement 'id' on one keyed row of model 'pk': bound with the
 * model's key, '*version' (unless NULL; first, or last when
 * 'version_last'), 'key' and, unless NULL, 'value' of 'value_len' bytes.
 * The tags of models and versions, and the aliases. */
static enum srv_err keyed_row(struct conn *c, struct store_write *w,
                              enum reg_stmt id, int64_t pk,
                              const int64_t *version, bool version_last,
                              const char *key, const char *value,
                              size_t value_len, const char *what)
{
    sqlite3_stmt *s = stmt(c, id);
    if (s) {
        int i = 1;
        sqlite3_bind_int64(s, i++, pk);
        if (version && !version_last)
            sqlite3_bind_int64(s, i++, *version);
        bind_text(s, i++, key);
        if (value)
            sqlite3_bind_text(s, i++, value, (int)value_len, SQLITE_STATIC);
        if (version && version_last)
            sqlite3_bind_int64(s, i, *version);
    }
    return store_step_done(c, s, &w->err, what);
}

/* The tags of a create, on model 'pk' or, unless NULL, its '*version'. */
static enum srv_err insert_tags(struct conn *c, struct store_write *w,
                                const struct registry_write *r, int64_t pk,
                                const int64_t *version)
{
    enum srv_err e = SRV_OK;
    for (size_t i = 0; i < r->n_tags && !e; i++)
        e = keyed_row(c, w, version ? R_VERSION_TAG_UPSERT : R_MODEL_TAG_UPSERT,
                      pk, version, false, r->tags[i].key, r->tags[i].value.s,
                      r->tags[i].value.len,
                      version ? "version tag" : "model tag");
    return e;
}

/* The executors of the writes: each gets the key of the write's model
 * (looked up as execs[] says: none for a model create). */

static enum srv_err w_model_create(struct conn *c, struct store_write *w,
                                   struct registry_write *r, int64_t pk)
{
    enum srv_err e = check_free(c, r->name, pk, &w->err);
    if (e)
        return e;
    int64_t now = store_now_ms();
    sqlite3_stmt *s = stmt(c, R_MODEL_INSERT);
    if (s) {
        bind_text(s, 1, r->name);
        sqlite3_bind_int64(s, 2, now);
        sqlite3_bind_int64(s, 3, now);
        bind_text(s, 4, r->description);
    }
    if ((e = store_step_done(c, s, &w->err, "model insert")))
        return e;
    return insert_tags(c, w, r, sqlite3_last_insert_rowid(store_conn_db(c)),
                       NULL);
}

/* The model keeps its key, so its versions, tags and aliases follow. */
static enum srv_err w_model_rename(struct conn *c, struct store_write *w,
                                   struct registry_write *r, int64_t pk)
{
    enum srv_err e = check_free(c, r->new_name, pk, &w->err);
    if (e)
        return e;
    int64_t now = store_now_ms();
    sqlite3_stmt *s = stmt(c, R_MODEL_RENAME);
    if (s) {
        bind_text(s, 1, r->new_name);
        sqlite3_bind_int64(s, 2, now);
        sqlite3_bind_int64(s, 3, pk);
    }
    if ((e = store_step_done(c, s, &w->err, "model rename")))
        return e;
    if ((s = stmt(c, R_VERSIONS_TOUCH))) {
        sqlite3_bind_int64(s, 1, now);
        sqlite3_bind_int64(s, 2, pk);
    }
    return store_step_done(c, s, &w->err, "model rename");
}

static enum srv_err w_model_update(struct conn *c, struct store_write *w,
                                   struct registry_write *r, int64_t pk)
{
    sqlite3_stmt *s = stmt(c, R_MODEL_DESCRIBE);
    if (s) {
        bind_text(s, 1, r->description);
        sqlite3_bind_int64(s, 2, store_now_ms());
        sqlite3_bind_int64(s, 3, pk);
    }
    return store_step_done(c, s, &w->err, "model update");
}

/* A hard delete of the model and every row of it, children first. */
static enum srv_err w_model_delete(struct conn *c, struct store_write *w,
                                   struct registry_write *r, int64_t pk)
{
    static const enum reg_stmt order[] = {
        R_MODEL_DEL_ALIASES, R_MODEL_DEL_VTAGS, R_MODEL_DEL_VERSIONS,
        R_MODEL_DEL_TAGS,    R_MODEL_DEL,
    };
    (void)r;
    enum srv_err e = SRV_OK;
    for (size_t i = 0; !e && i < sizeof(order) / sizeof(*order); i++) {
        sqlite3_stmt *s = stmt(c, order[i]);
        if (s)
            sqlite3_bind_int64(s, 1, pk);
        e = store_step_done(c, s, &w->err, "model delete");
    }
    return e;
}

/* Sets or deletes a tag of the model or of version r->version. */
static enum srv_err w_tag(struct conn *c, struct store_write *w,
                          struct registry_write *r, int64_t pk)
{
    bool of_version =
        r->op == REG_VERSION_SET_TAG || r->op == REG_VERSION_DELETE_TAG;
    bool delete =
        r->op == REG_MODEL_DELETE_TAG || r->op == REG_VERSION_DELETE_TAG;
    static const enum reg_stmt ids[2][2] = {
        {R_MODEL_TAG_UPSERT, R_MODEL_TAG_DELETE},
        {R_VERSION_TAG_UPSERT, R_VERSION_TAG_DELETE},
    };
    const char *value = delete ? NULL : r->value ? r->value : "";
    return keyed_row(c, w, ids[of_version][delete], pk,
                     of_version ? &r->version : NULL, false, r->key, value,
                     value ? strlen(value) : 0,
                     of_version ? "version tag" : "model tag");
}

/* Sets an alias to version r->version, or deletes it. */
static enum srv_err w_alias(struct conn *c, struct store_write *w,
                            struct registry_write *r, int64_t pk)
{
    bool delete = r->op == REG_ALIAS_DELETE;
    return keyed_row(c, w, delete ? R_ALIAS_DELETE : R_ALIAS_UPSERT, pk,
                     delete ? NULL : &r->version, true, r->alias, NULL, 0,
                     "alias");
}

/* A models:/<name>/<version> source stands for that version's source
 * (MLflow's copy_model_version sends one). */
static enum srv_err resolve_models_source(struct conn *c, const char *source,
                                          char **out, struct errbuf *eb)
{
    char *name = NULL;
    int64_t version = 0;
    *out = NULL;
    enum srv_err e = SRV_OK;
    sqlite3_stmt *s = NULL;
    if (registry_models_uri(source, &name, &version) &&
        (s = stmt(c, R_VERSION_GET))) {
        bind_text(s, 1, name);
        sqlite3_bind_int64(s, 2, version);
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW && !(*out = store_col_dup(s, 6)))
            e = err_set(eb, SRV_E_NOMEM, "out of memory");
        else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            e = store_conn_error(c, eb, "models source");
        sqlite3_reset(s);
    }
    free(name);
    if (e || *out)
        return e;
    /* [rec] 400, where MLflow lets it escape as a 500 */
    return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                   "Unable to fetch model from model URI source artifact "
                   "location '%.200s'. Error: no such model version (a "
                   "models:/ source must be models:/<name>/<version>)",
                   source);
}

static enum srv_err w_version_create(struct conn *c, struct store_write *w,
                                     struct registry_write *r, int64_t pk)
{
    char *resolved = NULL;
    enum srv_err e;
    if (strncasecmp(r->source, "models:", 7) == 0 &&
        (e = resolve_models_source(c, r->source, &resolved, &w->err)))
        return e;
    sqlite3_stmt *s = stmt(c, R_VERSION_NEXT);
    if (!s) {
        free(resolved);
        return store_conn_error(c, &w->err, "version create");
    }
    sqlite3_bind_int64(s, 1, pk);
    int rc = sqlite3_step(s);
    int64_t version = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    if (rc != SQLITE_ROW) {
        free(resolved);
        return store_conn_error(c, &w->err, "version create");
    }
    int64_t now = store_now_ms();
    if ((s = stmt(c, R_VERSION_INSERT))) {
        sqlite3_bind_int64(s, 1, pk);
        sqlite3_bind_int64(s, 2, version);
        sqlite3_bind_int64(s, 3, now);
        sqlite3_bind_int64(s, 4, now);
        bind_text(s, 5, r->description);
        bind_text(s, 6, resolved ? resolved : r->source);
        bind_text(s, 7, r->run_id);
        bind_text(s, 8, r->run_link);
    }
    e = store_step_done(c, s, &w->err, "version insert");
    free(resolved);
    if (e || (e = insert_tags(c, w, r, pk, &version)) ||
        (e = touch_model(c, pk, now, &w->err)))
        return e;
    r->out_version = version;
    return SRV_OK;
}

static enum srv_err w_version_update(struct conn *c, struct store_write *w,
                                     struct registry_write *r, int64_t pk)
{
    sqlite3_stmt *s = stmt(c, R_VERSION_DESCRIBE);
    if (s) {
        if (r->description)
            bind_text(s, 1, r->description);
        else
            sqlite3_bind_null(s, 1);
        sqlite3_bind_int64(s, 2, store_now_ms());
        sqlite3_bind_int64(s, 3, pk);
        sqlite3_bind_int64(s, 4, r->version);
    }
    return store_step_done(c, s, &w->err, "version update");
}

/* A soft delete: the row stays (its number is never given again), its
 * source and run redacted, invisible to every read. The aliases naming it
 * go, as MLflow means to do (its 2.9.2 store compares an integer with the
 * request's string and keeps them dangling). */
static enum srv_err w_version_delete(struct conn *c, struct store_write *w,
                                     struct registry_write *r, int64_t pk)
{
    int64_t now = store_now_ms();
    sqlite3_stmt *s = stmt(c, R_VERSION_DELETE);
    if (s) {
        sqlite3_bind_int64(s, 1, now);
        sqlite3_bind_int64(s, 2, pk);
        sqlite3_bind_int64(s, 3, r->version);
    }
    enum srv_err e = store_step_done(c, s, &w->err, "version delete");
    if (e)
        return e;
    if ((s = stmt(c, R_ALIASES_DROP))) {
        sqlite3_bind_int64(s, 1, pk);
        sqlite3_bind_int64(s, 2, r->version);
    }
    if ((e = store_step_done(c, s, &w->err, "version delete")))
        return e;
    return touch_model(c, pk, now, &w->err);
}

static enum srv_err w_version_transition(struct conn *c, struct store_write *w,
                                         struct registry_write *r, int64_t pk)
{
    int64_t now = store_now_ms();
    const char *stage = registry_stage_names[r->stage];
    sqlite3_stmt *s;
    enum srv_err e;
    if (r->archive_existing) {
        if ((s = stmt(c, R_VERSION_ARCHIVE))) {
            sqlite3_bind_int64(s, 1, now);
            sqlite3_bind_int64(s, 2, pk);
            sqlite3_bind_int64(s, 3, r->version);
            bind_text(s, 4, stage);
        }
        if ((e = store_step_done(c, s, &w->err, "archive versions")))
            return e;
    }
    if ((s = stmt(c, R_VERSION_STAGE))) {
        bind_text(s, 1, stage);
        sqlite3_bind_int64(s, 2, now);
        sqlite3_bind_int64(s, 3, pk);
        sqlite3_bind_int64(s, 4, r->version);
    }
    if ((e = store_step_done(c, s, &w->err, "transition")))
        return e;
    return touch_model(c, pk, now, &w->err);
}

/* What a write looks up before its executor runs: nothing (a model
 * create), its model, or its model with version r->version live. */
enum lookup { LOOKUP_NONE, LOOKUP_MODEL, LOOKUP_VERSION };

static const struct {
    enum srv_err (*exec)(struct conn *, struct store_write *,
                         struct registry_write *, int64_t);
    enum lookup lookup;
} execs[] = {
    [REG_MODEL_CREATE] = {w_model_create, LOOKUP_NONE},
    [REG_MODEL_RENAME] = {w_model_rename, LOOKUP_MODEL},
    [REG_MODEL_UPDATE] = {w_model_update, LOOKUP_MODEL},
    [REG_MODEL_DELETE] = {w_model_delete, LOOKUP_MODEL},
    [REG_MODEL_SET_TAG] = {w_tag, LOOKUP_MODEL},
    [REG_MODEL_DELETE_TAG] = {w_tag, LOOKUP_MODEL},
    [REG_ALIAS_SET] = {w_alias, LOOKUP_VERSION},
    [REG_ALIAS_DELETE] = {w_alias, LOOKUP_MODEL},
    [REG_VERSION_CREATE] = {w_version_create, LOOKUP_MODEL},
    [REG_VERSION_UPDATE] = {w_version_update, LOOKUP_VERSION},
    [REG_VERSION_DELETE] = {w_version_delete, LOOKUP_VERSION},
    [REG_VERSION_TRANSITION] = {w_version_transition, LOOKUP_VERSION},
    [REG_VERSION_SET_TAG] = {w_tag, LOOKUP_VERSION},
    [REG_VERSION_DELETE_TAG] = {w_tag, LOOKUP_VERSION},
};

enum srv_err store_registry_exec(struct conn *c, struct store_write *w)
{
    struct registry_write *r = w->registry;
    if (!r)
        return err_set(&w->err, SRV_E_INTERNAL,
                       "registry write without "
                       "its request");
    if ((size_t)r->op >= sizeof(execs) / sizeof(*execs) || !execs[r->op].exec)
        return err_set(&w->err, SRV_E_INTERNAL, "unknown registry write");
    int64_t pk = -1; /* check_free's "any model" for a create */
    enum srv_err e = SRV_OK;
    if (execs[r->op].lookup != LOOKUP_NONE)
        e = model_lookup(c, r->name, &pk, &w->err);
    if (!e && execs[r->op].lookup == LOOKUP_VERSION)
        e = version_lookup(c, pk, r->name, r->version, &w->err);
    return e ? e : execs[r->op].exec(c, w, r, pk);
}

/*---- reads ----*/

/* The highest live version of model 'pk' in each stage of 'stage_mask',
 * with tags, into '*out' ('*n', '*cap'; on error the caller's to free). */
static enum srv_err latest_versions(struct conn *c, int64_t pk,
                                    unsigned stage_mask,
                                    struct model_version **out, size_t *n,
                                    struct errbuf *eb)
{
    sqlite3_stmt *s = stmt(c, R_LATEST);
    if (!s)
        return store_conn_error(c, eb, "latest versions");
    sqlite3_bind_int64(s, 1, pk);
    size_t cap = 0;
    enum srv_err e = read_versions(c, s, false, -1, out, n, &cap, NULL, eb);
    if (e)
        return e;
    /* keep the stages asked for */
    size_t k = 0;
    for (size_t i = 0; i < *n; i++) {
        unsigned bit = 0;
        for (int j = 0; j < REGISTRY_STAGE_COUNT; j++)
            if (strcmp((*out)[i].current_stage, registry_stage_names[j]) == 0)
                bit = 1u << j;
        if (bit & stage_mask)
            (*out)[k++] = (*out)[i];
        else
            model_version_cleanup(&(*out)[i]);
    }
    *n = k;
    return SRV_OK;
}

/* Fills a model read from its row: latest versions, tags, aliases. */
static enum srv_err model_fill(struct conn *c, struct registered_model *m,
                               unsigned stage_mask, struct errbuf *eb)
{
    enum srv_err e = latest_versions(c, m->model_pk, stage_mask, &m->latest,
                                     &m->n_latest, eb);
    if (e)
        return e;
    sqlite3_stmt *s = stmt(c, R_MODEL_TAGS);
    if (!s)
        return store_conn_error(c, eb, "model tags");
    sqlite3_bind_int64(s, 1, m->model_pk);
    if ((e = store_read_kvs(c, s, &m->tags, &m->n_tags, eb)))
        return e;
    if (!(s = stmt(c, R_ALIASES)))
        return store_conn_error(c, eb, "model aliases");
    sqlite3_bind_int64(s, 1, m->model_pk);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct model_alias *p =
            store_grow(m->aliases, m->n_aliases, &cap, sizeof(*p));
        if (!p)
            break;
        m->aliases = p;
        p[m->n_aliases].version = sqlite3_column_int64(s, 1);
        if (!(p[m->n_aliases].alias = store_col_dup(s, 0)))
            break;
        m->n_aliases++;
    }
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    return rc == SQLITE_DONE ? SRV_OK : store_conn_error(c, eb, "aliases");
}

#define ALL_STAGES ((1u << REGISTRY_STAGE_COUNT) - 1)

/* Reads model 'name' (its row only when !fill). */
static enum srv_err model_get(struct conn *c, const char *name,
                              unsigned stage_mask, bool fill,
                              struct registered_model *out, struct errbuf *eb)
{
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *s = stmt(c, R_MODEL_BY_NAME);
    if (!s)
        return store_conn_error(c, eb, "model get");
    bind_text(s, 1, name);
    int rc = sqlite3_step(s);
    enum srv_err e = rc == SQLITE_ROW    ? model_from_row(s, out, eb)
                     : rc == SQLITE_DONE ? no_model(eb, name)
                                         : store_conn_error(c, eb, "model get");
    sqlite3_reset(s);
    if (!e && fill)
        e = model_fill(c, out, stage_mask, eb);
    if (e)
        registered_model_cleanup(out);
    return e;
}

enum srv_err store_registered_model_get(struct store *st, const char *name,
                                        struct registered_model *out,
                                        struct errbuf *eb)
{
    memset(out, 0, sizeof(*out));
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    return model_get(c, name, ALL_STAGES, true, out, eb);
}

enum srv_err store_latest_versions(struct store *st, const char *name,
                                   unsigned stage_mask,
                                   struct model_version **out, size_t *n,
                                   struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    struct registered_model m;
    enum srv_err e = model_get(c, name, 0, false, &m, eb);
    if (e)
        return e;
    e = latest_versions(c, m.model_pk, stage_mask, out, n, eb);
    registered_model_cleanup(&m);
    if (e) {
        model_versions_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}

/* Version 'version' of model 'name', with its tags and aliases. */
static enum srv_err version_get(struct conn *c, const char *name,
                                int64_t version, struct model_version *out,
                                struct errbuf *eb)
{
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *s = stmt(c, R_VERSION_GET);
    if (!s)
        return store_conn_error(c, eb, "version get");
    bind_text(s, 1, name);
    sqlite3_bind_int64(s, 2, version);
    struct model_version *arr = NULL;
    size_t n = 0, cap = 0;
    enum srv_err e = read_versions(c, s, true, 1, &arr, &n, &cap, NULL, eb);
    if (!e && n == 0)
        e = no_version(eb, name, version);
    if (!e) {
        *out = arr[0];
        free(arr);
        return SRV_OK;
    }
    model_versions_free(arr, n);
    return e;
}

enum srv_err store_model_version_get(struct store *st, const char *name,
                                     int64_t version, struct model_version *out,
                                     struct errbuf *eb)
{
    memset(out, 0, sizeof(*out));
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    return version_get(c, name, version, out, eb);
}

enum srv_err store_model_version_by_alias(struct store *st, const char *name,
                                          const char *alias,
                                          struct model_version *out,
                                          struct errbuf *eb)
{
    memset(out, 0, sizeof(*out));
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    sqlite3_stmt *s = stmt(c, R_ALIAS_GET);
    if (!s)
        return store_conn_error(c, eb, "alias get");
    bind_text(s, 1, name);
    bind_text(s, 2, alias);
    int rc = sqlite3_step(s);
    int64_t version = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Registered model alias %s not found.", alias);
    if (rc != SQLITE_ROW)
        return store_conn_error(c, eb, "alias get");
    return version_get(c, name, version, out, eb);
}

/* Compiles a registry search ('versions': model-versions/search, else
 * registered-models/search) and prepares it on this thread's reader:
 * SELECT <columns> FROM <tables> <joins> WHERE <live> <where> ORDER BY
 * <order> LIMIT max+1 OFFSET offset, bound. '*s' (NULL on error) is the
 * caller's to finalize, 'q' to clean up. */
static enum srv_err search_start(struct store *st,
                                 const struct search_args *args, bool versions,
                                 struct search_sql *q, struct conn **c,
                                 sqlite3_stmt **s, struct errbuf *eb)
{
    *s = NULL;
    search_sql_init(q);
    enum srv_err e =
        versions ? filter_build_model_versions(args->filter, args->order_by,
                                               args->n_order_by, q, eb)
                 : filter_build_registered_models(args->filter, args->order_by,
                                                  args->n_order_by, q, eb);
    if (e)
        return e;
    if (!(*c = store_reader(st, eb)))
        return SRV_E_UNAVAILABLE;
    struct strbuf sql;
    strbuf_init(&sql);
    strbuf_printf(&sql, "SELECT %s%s%s WHERE %s%s ORDER BY %s LIMIT ? OFFSET ?",
                  versions ? VCOLS : MCOLS,
                  versions ? VFROM : " FROM registered_models AS m",
                  q->joins.sql.buf ? q->joins.sql.buf : "",
                  versions ? LIVE : "1",
                  q->where.sql.buf ? q->where.sql.buf : "",
                  q->order.sql.buf ? q->order.sql.buf : "1");
    if (sql.oom)
        e = err_set(eb, SRV_E_NOMEM, "out of memory");
    else if (sqlite3_prepare_v2(store_conn_db(*c), sql.buf, -1, s, NULL) !=
             SQLITE_OK)
        e = store_conn_error(*c, eb, "registry search");
    strbuf_cleanup(&sql);
    if (e)
        return e;
    int pos = 1;
    store_bind_frag(*s, &q->joins, &pos);
    store_bind_frag(*s, &q->where, &pos);
    store_bind_frag(*s, &q->order, &pos);
    sqlite3_bind_int64(*s, pos++, args->max_results + 1);
    sqlite3_bind_int64(*s, pos, args->offset);
    return SRV_OK;
}

/* A page of a registry search: into '*vs' when it is not NULL (versions
 * with their tags), else into '*models' (each filled). */
static enum srv_err search(struct store *st, const struct search_args *args,
                           struct registered_model **models,
                           struct model_version **vs, size_t *n, bool *more,
                           struct errbuf *eb)
{
    *n = 0;
    *more = false;
    struct search_sql q;
    struct conn *c;
    sqlite3_stmt *s;
    size_t cap = 0;
    enum srv_err e = search_start(st, args, vs != NULL, &q, &c, &s, eb);
    if (!e && vs) {
        e = read_versions(c, s, false, args->max_results, vs, n, &cap, more,
                          eb);
    } else if (!e) {
        *models = store_read_page(c, s, args->max_results, sizeof(**models),
                                  model_from_row, n, more, &e, eb);
        for (size_t i = 0; !e && i < *n; i++)
            e = model_fill(c, &(*models)[i], ALL_STAGES, eb);
    }
    sqlite3_finalize(s);
    search_sql_cleanup(&q);
    if (e && vs) {
        model_versions_free(*vs, *n);
        *vs = NULL;
    } else if (e) {
        registered_models_free(*models, *n);
        *models = NULL;
    }
    if (e)
        *n = 0;
    return e;
}

enum srv_err store_registered_models_search(struct store *st,
                                            const struct search_args *args,
                                            struct registered_model **out,
                                            size_t *n, bool *more,
                                            struct errbuf *eb)
{
    *out = NULL;
    return search(st, args, out, NULL, n, more, eb);
}

enum srv_err store_model_versions_search(struct store *st,
                                         const struct search_args *args,
                                         struct model_version **out, size_t *n,
                                         bool *more, struct errbuf *eb)
{
    *out = NULL;
    return search(st, args, NULL, out, n, more, eb);
}

enum srv_err store_model_versions_of_runs(struct store *st,
                                          const char *const *run_ids,
                                          size_t n_runs,
                                          struct model_version **out, size_t *n,
                                          struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    size_t cap = 0;
    enum srv_err e = SRV_OK;
    for (size_t i = 0; !e && i < n_runs; i++) {
        sqlite3_stmt *s = stmt(c, R_VERSIONS_OF_RUN);
        if (!s) {
            e = store_conn_error(c, eb, "versions of runs");
            break;
        }
        bind_text(s, 1, run_ids[i]);
        e = read_versions(c, s, true, -1, out, n, &cap, NULL, eb);
    }
    if (e) {
        model_versions_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}
