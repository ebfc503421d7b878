/* SPDX-License-Identifier: MIT
 *
 * read_registry: the Model Registry's reads (see store_registry.h):
 * models with their latest versions, tags and aliases, versions by number
 * or alias, searches and the versions of runs. Semantics follow MLflow
 * 2.9.2's SQL store (mlflow/store/model_registry/sqlalchemy_store.py).
 */
#include "filter.h"
#include "log.h"
#include "registry_sql.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*---- rows ----*/

/* A model row (MCOLS) into 'item' (a struct registered_model). */
static enum srv_err model_from_row(struct db_stmt *s, void *item,
                                   struct errbuf *eb)
{
    struct registered_model *m = item;
    m->model_pk = db_column_int64(s, 0);
    m->name = store_col_dup(s, 1);
    m->creation_timestamp = db_column_int64(s, 2);
    m->last_updated_timestamp = db_column_int64(s, 3);
    m->description = store_col_dup(s, 4);
    if (!m->name || !m->description)
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    return SRV_OK;
}

/* A version row (VCOLS) into 'v'; '*model_pk' gets its model's key. */
static enum srv_err version_from_row(struct db_stmt *s, struct model_version *v,
                                     int64_t *model_pk, struct errbuf *eb)
{
    v->name = store_col_dup(s, 0);
    v->version = db_column_int64(s, 1);
    v->creation_timestamp = db_column_int64(s, 2);
    v->last_updated_timestamp = db_column_int64(s, 3);
    v->current_stage = store_col_dup(s, 4);
    v->description = store_col_dup(s, 5); /* NULL stays NULL */
    v->source = store_col_dup(s, 6);
    v->run_id = store_col_dup(s, 7);
    v->run_link = store_col_dup(s, 8);
    v->status = store_col_dup(s, 9);
    v->status_message = store_col_dup(s, 10);
    *model_pk = db_column_int64(s, 11);
    if (!v->name || !v->current_stage || !v->source || !v->run_id ||
        !v->run_link || !v->status ||
        (!v->description && db_column_type(s, 5) != DB_NULL) ||
        (!v->status_message && db_column_type(s, 10) != DB_NULL))
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    return SRV_OK;
}

/* The tags (and, with 'aliases', the aliases) of version 'v' of model
 * 'model_pk'. */
static enum srv_err version_fill(struct conn *c, struct model_version *v,
                                 int64_t model_pk, bool aliases,
                                 struct errbuf *eb)
{
    struct db_stmt *s = store_registry_stmt(c, R_VERSION_TAGS);
    if (!s)
        return store_conn_error(c, eb, "version tags");
    db_bind_int64(s, 1, model_pk);
    db_bind_int64(s, 2, v->version);
    enum srv_err e = store_read_kvs(c, s, &v->tags, &v->n_tags, eb);
    if (e || !aliases)
        return e;
    if (!(s = store_registry_stmt(c, R_ALIASES_OF)))
        return store_conn_error(c, eb, "version aliases");
    db_bind_int64(s, 1, model_pk);
    db_bind_int64(s, 2, v->version);
    size_t cap = 0;
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        char **p = store_grow(v->aliases, v->n_aliases, &cap, sizeof(*p));
        if (!p)
            break;
        v->aliases = p;
        if (!(p[v->n_aliases] = store_col_dup(s, 0)))
            break;
        v->n_aliases++;
    }
    db_reset(s);
    if (rc == DB_ROW)
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    return rc == DB_DONE ? SRV_OK : store_conn_error(c, eb, "version aliases");
}

/* Steps 's' (bound) and reads every version row into a new array, with
 * tags and, with 'aliases', aliases; appends to '*out' ('*n', '*cap'). */
static enum srv_err read_versions(struct conn *c, struct db_stmt *s,
                                  bool aliases, int64_t limit,
                                  struct model_version **out, size_t *n,
                                  size_t *cap, bool *more, struct errbuf *eb)
{
    enum srv_err e = SRV_OK;
    int rc;
    int64_t got = 0;
    size_t first = *n;
    int64_t *pks = NULL;
    size_t pk_cap = 0;
    if (more)
        *more = false;
    while ((rc = db_step(s)) == DB_ROW) {
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
    if (!e && rc != DB_ROW && rc != DB_DONE)
        e = store_conn_error(c, eb, "versions");
    /* The statement is done before the per-version reads run: they may be
     * the same kind of statement on this connection. */
    db_reset(s);
    for (int64_t i = 0; !e && i < got; i++)
        e = version_fill(c, &(*out)[first + (size_t)i], pks[i], aliases, eb);
    free(pks);
    return e;
}

/*---- reads ----*/

/* The highest live version of model 'pk' in each stage of 'stage_mask',
 * with tags, into '*out' ('*n', '*cap'; on error the caller's to free). */
static enum srv_err latest_versions(struct conn *c, int64_t pk,
                                    unsigned stage_mask,
                                    struct model_version **out, size_t *n,
                                    struct errbuf *eb)
{
    struct db_stmt *s = store_registry_stmt(c, R_LATEST);
    if (!s)
        return store_conn_error(c, eb, "latest versions");
    db_bind_int64(s, 1, pk);
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
    struct db_stmt *s = store_registry_stmt(c, R_MODEL_TAGS);
    if (!s)
        return store_conn_error(c, eb, "model tags");
    db_bind_int64(s, 1, m->model_pk);
    if ((e = store_read_kvs(c, s, &m->tags, &m->n_tags, eb)))
        return e;
    if (!(s = store_registry_stmt(c, R_ALIASES)))
        return store_conn_error(c, eb, "model aliases");
    db_bind_int64(s, 1, m->model_pk);
    size_t cap = 0;
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        struct model_alias *p =
            store_grow(m->aliases, m->n_aliases, &cap, sizeof(*p));
        if (!p)
            break;
        m->aliases = p;
        p[m->n_aliases].version = db_column_int64(s, 1);
        if (!(p[m->n_aliases].alias = store_col_dup(s, 0)))
            break;
        m->n_aliases++;
    }
    db_reset(s);
    if (rc == DB_ROW)
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    return rc == DB_DONE ? SRV_OK : store_conn_error(c, eb, "aliases");
}

#define ALL_STAGES ((1u << REGISTRY_STAGE_COUNT) - 1)

/* Reads model 'name' (its row only when !fill). */
static enum srv_err model_get(struct conn *c, const char *name,
                              unsigned stage_mask, bool fill,
                              struct registered_model *out, struct errbuf *eb)
{
    memset(out, 0, sizeof(*out));
    struct db_stmt *s = store_registry_stmt(c, R_MODEL_BY_NAME);
    if (!s)
        return store_conn_error(c, eb, "model get");
    store_registry_bind_text(s, 1, name);
    int rc = db_step(s);
    enum srv_err e = rc == DB_ROW    ? model_from_row(s, out, eb)
                     : rc == DB_DONE ? store_registry_no_model(eb, name)
                                     : store_conn_error(c, eb, "model get");
    db_reset(s);
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
    struct db_stmt *s = store_registry_stmt(c, R_VERSION_GET);
    if (!s)
        return store_conn_error(c, eb, "version get");
    store_registry_bind_text(s, 1, name);
    db_bind_int64(s, 2, version);
    struct model_version *arr = NULL;
    size_t n = 0, cap = 0;
    enum srv_err e = read_versions(c, s, true, 1, &arr, &n, &cap, NULL, eb);
    if (!e && n == 0)
        e = store_registry_no_version(eb, name, version);
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
    struct db_stmt *s = store_registry_stmt(c, R_ALIAS_GET);
    if (!s)
        return store_conn_error(c, eb, "alias get");
    store_registry_bind_text(s, 1, name);
    store_registry_bind_text(s, 2, alias);
    int rc = db_step(s);
    int64_t version = rc == DB_ROW ? db_column_int64(s, 0) : 0;
    db_reset(s);
    if (rc == DB_DONE)
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Registered model alias %s not found.", alias);
    if (rc != DB_ROW)
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
                                 struct db_stmt **s, struct errbuf *eb)
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
                  versions ? LIVE : "TRUE",
                  q->where.sql.buf ? q->where.sql.buf : "",
                  q->order.sql.buf ? q->order.sql.buf : "1");
    if (sql.oom)
        e = err_set(eb, SRV_E_NOMEM, "out of memory");
    else if (!(*s = db_prepare(store_conn_db(*c), sql.buf)))
        e = store_conn_error(*c, eb, "registry search");
    strbuf_cleanup(&sql);
    if (e)
        return e;
    int pos = 1;
    store_bind_frag(*s, &q->joins, &pos);
    store_bind_frag(*s, &q->where, &pos);
    store_bind_frag(*s, &q->order, &pos);
    db_bind_int64(*s, pos++, args->max_results + 1);
    db_bind_int64(*s, pos, args->offset);
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
    struct db_stmt *s;
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
    db_finalize(s);
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
        struct db_stmt *s = store_registry_stmt(c, R_VERSIONS_OF_RUN);
        if (!s) {
            e = store_conn_error(c, eb, "versions of runs");
            break;
        }
        store_registry_bind_text(s, 1, run_ids[i]);
        e = read_versions(c, s, true, -1, out, n, &cap, NULL, eb);
    }
    if (e) {
        model_versions_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}
