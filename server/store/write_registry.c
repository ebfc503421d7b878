/* SPDX-License-Identifier: MIT
 *
 * write_registry: the Model Registry's write executors, which the store's
 * writer runs for SW_REGISTRY inside its transaction
 * (store_registry_exec): models, versions, tags, aliases and stage
 * transitions. Semantics follow MLflow 2.9.2's SQL store
 * (mlflow/store/model_registry/sqlalchemy_store.py).
 */
#include "registry_sql.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The key of model 'name'; RESOURCE_DOES_NOT_EXIST when there is none. */
static enum srv_err model_lookup(struct conn *c, const char *name, int64_t *pk,
                                 struct errbuf *eb)
{
    struct db_stmt *s = store_registry_stmt(c, R_MODEL_BY_NAME);
    if (!s)
        return store_conn_error(c, eb, "model lookup");
    store_registry_bind_text(s, 1, name);
    bool found;
    enum srv_err e = store_step_int64(c, s, pk, &found, eb, "model lookup");
    if (e || found)
        return e;
    return store_registry_no_model(eb, name);
}

/* RESOURCE_DOES_NOT_EXIST unless version 'version' of 'pk' is live. */
static enum srv_err version_lookup(struct conn *c, int64_t pk, const char *name,
                                   int64_t version, struct errbuf *eb)
{
    struct db_stmt *s = store_registry_stmt(c, R_VERSION_LIVE);
    if (!s)
        return store_conn_error(c, eb, "version lookup");
    db_bind_int64(s, 1, pk);
    db_bind_int64(s, 2, version);
    int rc = db_step(s);
    db_reset(s);
    if (rc == DB_ROW)
        return SRV_OK;
    return rc == DB_DONE ? store_registry_no_version(eb, name, version)
                         : store_conn_error(c, eb, "version lookup");
}

static enum srv_err name_taken(struct errbuf *eb, const char *name)
{
    return err_set(eb, SRV_E_RESOURCE_ALREADY_EXISTS,
                   "Registered Model (name=%s) already exists. Error: the "
                   "name is taken by another registered model",
                   name);
}

/* After a failed insert or rename of a model: a unique-key clash means
 * another writer (a second server on the same PostgreSQL database) took
 * the name since check_free looked, which the client hears as for a
 * name taken before. Any other failure 'e' is returned as it is. */
static enum srv_err name_clash(struct conn *c, enum srv_err e,
                               struct errbuf *eb, const char *name)
{
    if (e && db_error_kind(store_conn_db(c)) == DB_ERR_UNIQUE)
        return name_taken(eb, name);
    return e;
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
    struct db_stmt *s = store_registry_stmt(c, R_MODEL_TOUCH);
    if (s) {
        db_bind_int64(s, 1, now);
        db_bind_int64(s, 2, pk);
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
    struct db_stmt *s = store_registry_stmt(c, id);
    if (s) {
        int i = 1;
        db_bind_int64(s, i++, pk);
        if (version && !version_last)
            db_bind_int64(s, i++, *version);
        store_registry_bind_text(s, i++, key);
        if (value)
            db_bind_text(s, i++, value, (int)value_len);
        if (version && version_last)
            db_bind_int64(s, i, *version);
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
    struct db_stmt *s = store_registry_stmt(c, R_MODEL_INSERT);
    if (s) {
        store_registry_bind_text(s, 1, r->name);
        db_bind_int64(s, 2, now);
        db_bind_int64(s, 3, now);
        store_registry_bind_text(s, 4, r->description);
    }
    int64_t model_pk = 0;
    bool found;
    if ((e = store_step_int64(c, s, &model_pk, &found, &w->err,
                              "model insert")))
        return name_clash(c, e, &w->err, r->name);
    return insert_tags(c, w, r, model_pk, NULL);
}

/* The model keeps its key, so its versions, tags and aliases follow. */
static enum srv_err w_model_rename(struct conn *c, struct store_write *w,
                                   struct registry_write *r, int64_t pk)
{
    enum srv_err e = check_free(c, r->new_name, pk, &w->err);
    if (e)
        return e;
    int64_t now = store_now_ms();
    struct db_stmt *s = store_registry_stmt(c, R_MODEL_RENAME);
    if (s) {
        store_registry_bind_text(s, 1, r->new_name);
        db_bind_int64(s, 2, now);
        db_bind_int64(s, 3, pk);
    }
    if ((e = store_step_done(c, s, &w->err, "model rename")))
        return name_clash(c, e, &w->err, r->new_name);
    if ((s = store_registry_stmt(c, R_VERSIONS_TOUCH))) {
        db_bind_int64(s, 1, now);
        db_bind_int64(s, 2, pk);
    }
    return store_step_done(c, s, &w->err, "model rename");
}

static enum srv_err w_model_update(struct conn *c, struct store_write *w,
                                   struct registry_write *r, int64_t pk)
{
    struct db_stmt *s = store_registry_stmt(c, R_MODEL_DESCRIBE);
    if (s) {
        store_registry_bind_text(s, 1, r->description);
        db_bind_int64(s, 2, store_now_ms());
        db_bind_int64(s, 3, pk);
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
        struct db_stmt *s = store_registry_stmt(c, order[i]);
        if (s)
            db_bind_int64(s, 1, pk);
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
    struct db_stmt *s = NULL;
    if (registry_models_uri(source, &name, &version) &&
        (s = store_registry_stmt(c, R_VERSION_GET))) {
        store_registry_bind_text(s, 1, name);
        db_bind_int64(s, 2, version);
        int rc = db_step(s);
        if (rc == DB_ROW && !(*out = store_col_dup(s, 6)))
            e = err_set(eb, SRV_E_NOMEM, "out of memory");
        else if (rc != DB_ROW && rc != DB_DONE)
            e = store_conn_error(c, eb, "models source");
        db_reset(s);
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
    struct db_stmt *s = store_registry_stmt(c, R_VERSION_NEXT);
    if (!s) {
        free(resolved);
        return store_conn_error(c, &w->err, "version create");
    }
    db_bind_int64(s, 1, pk);
    int rc = db_step(s);
    int64_t version = db_column_int64(s, 0);
    db_reset(s);
    if (rc != DB_ROW) {
        free(resolved);
        return store_conn_error(c, &w->err, "version create");
    }
    int64_t now = store_now_ms();
    if ((s = store_registry_stmt(c, R_VERSION_INSERT))) {
        db_bind_int64(s, 1, pk);
        db_bind_int64(s, 2, version);
        db_bind_int64(s, 3, now);
        db_bind_int64(s, 4, now);
        store_registry_bind_text(s, 5, r->description);
        store_registry_bind_text(s, 6, resolved ? resolved : r->source);
        store_registry_bind_text(s, 7, r->run_id);
        store_registry_bind_text(s, 8, r->run_link);
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
    struct db_stmt *s = store_registry_stmt(c, R_VERSION_DESCRIBE);
    if (s) {
        if (r->description)
            store_registry_bind_text(s, 1, r->description);
        else
            db_bind_null(s, 1);
        db_bind_int64(s, 2, store_now_ms());
        db_bind_int64(s, 3, pk);
        db_bind_int64(s, 4, r->version);
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
    struct db_stmt *s = store_registry_stmt(c, R_VERSION_DELETE);
    if (s) {
        db_bind_int64(s, 1, now);
        db_bind_int64(s, 2, pk);
        db_bind_int64(s, 3, r->version);
    }
    enum srv_err e = store_step_done(c, s, &w->err, "version delete");
    if (e)
        return e;
    if ((s = store_registry_stmt(c, R_ALIASES_DROP))) {
        db_bind_int64(s, 1, pk);
        db_bind_int64(s, 2, r->version);
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
    struct db_stmt *s;
    enum srv_err e;
    if (r->archive_existing) {
        if ((s = store_registry_stmt(c, R_VERSION_ARCHIVE))) {
            db_bind_int64(s, 1, now);
            db_bind_int64(s, 2, pk);
            db_bind_int64(s, 3, r->version);
            store_registry_bind_text(s, 4, stage);
        }
        if ((e = store_step_done(c, s, &w->err, "archive versions")))
            return e;
    }
    if ((s = store_registry_stmt(c, R_VERSION_STAGE))) {
        store_registry_bind_text(s, 1, stage);
        db_bind_int64(s, 2, now);
        db_bind_int64(s, 3, pk);
        db_bind_int64(s, 4, r->version);
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
