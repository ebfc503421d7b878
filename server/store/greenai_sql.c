/* SPDX-License-Identifier: MIT
 *
 * greenai_sql: the text of the Green-AI statements and the helpers both
 * halves of its storage share (greenai_sql.h), the lineage walk among
 * them.
 */
#include "greenai_sql.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const greenai_sql[G_STMT_COUNT] = {
#define G_STMT_SQL(id, sql) [id] = sql,
    FOR_EACH_GREENAI_STMT(G_STMT_SQL)
#undef G_STMT_SQL
};

_Static_assert(G_STMT_COUNT <= 32, "greenai owns slots 48..79");
_Static_assert(STORE_GREENAI_STMT_BASE + 32 <= STORE_DOMAIN_STMTS,
               "raise STORE_DOMAIN_STMTS");

struct db_stmt *store_greenai_stmt(struct conn *c, enum greenai_stmt id)
{
    return store_conn_stmt(c, STORE_GREENAI_STMT_BASE + (unsigned)id,
                           greenai_sql[id]);
}

/* Looks a run up by id: false when there is none (or on error). */
bool store_greenai_run_find(struct conn *c, const char *run_id, int64_t *pk,
                            int64_t *experiment_id)
{
    struct db_stmt *s = store_greenai_stmt(c, G_RUN_LOOKUP);
    if (!s)
        return false;
    db_bind_text(s, 1, run_id, -1);
    bool found = db_step(s) == DB_ROW;
    if (found) {
        *pk = db_column_int64(s, 0);
        if (experiment_id)
            *experiment_id = db_column_int64(s, 1);
    }
    db_reset(s);
    return found;
}

enum srv_err store_greenai_no_run(struct errbuf *eb, const char *run_id)
{
    return err_set(eb, SRV_E_RESOURCE_DOES_NOT_EXIST,
                   "Run with id=%s not found", run_id);
}

/* A finite number >= 0 in 's' (all of it). */
bool store_greenai_parse_kg(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v) || v < 0)
        return false;
    *out = v;
    return true;
}

/* Adds one (key, value) tag to 'd'; false when out of memory. */
bool store_greenai_decl_add(struct greenai_decl *d, const char *key,
                            const char *value)
{
    char **slot = strcmp(key, GREENAI_TAG_BASE_RUN) == 0      ? &d->base_run_id
                  : strcmp(key, GREENAI_TAG_BASE_MODEL) == 0  ? &d->base_model
                  : strcmp(key, GREENAI_TAG_BASE_SOURCE) == 0 ? &d->base_source
                                                              : NULL;
    if (!slot) {
        d->has_co2 = store_greenai_parse_kg(value, &d->co2_kg);
        return true;
    }
    free(*slot);
    *slot = *value ? strdup(value) : NULL;
    return !*value || *slot;
}

enum srv_err store_greenai_decl_read(struct conn *c, int64_t run_pk,
                                     struct greenai_decl *d, struct errbuf *eb)
{
    memset(d, 0, sizeof(*d));
    struct db_stmt *s = store_greenai_stmt(c, G_LINEAGE_TAGS);
    if (!s)
        return store_conn_error(c, eb, "lineage tags");
    db_bind_int64(s, 1, run_pk);
    int rc;
    bool ok = true;
    while ((rc = db_step(s)) == DB_ROW)
        ok = ok && store_greenai_decl_add(d, db_column_text(s, 0),
                                          db_column_text(s, 1));
    db_reset(s);
    if (rc != DB_DONE) {
        greenai_decl_cleanup(d);
        return store_conn_error(c, eb, "lineage tags");
    }
    if (!ok) {
        greenai_decl_cleanup(d);
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    }
    return SRV_OK;
}

/* The run a declaration's base resolves to, into 'buf': its
 * greentrack.base_run_id, else the source run of greentrack.base_model
 * ("name/version") in the registry. False when neither names a run. */
bool store_greenai_decl_base_run(struct conn *c, const struct greenai_decl *d,
                                 char *buf, size_t len)
{
    if (d->base_run_id) {
        if (strlen(d->base_run_id) >= len)
            return false;
        memcpy(buf, d->base_run_id, strlen(d->base_run_id) + 1);
        return true;
    }
    if (!d->base_model)
        return false;
    const char *slash = strrchr(d->base_model, '/');
    if (!slash || slash == d->base_model || !slash[1])
        return false;
    char *end;
    errno = 0;
    long long version = strtoll(slash + 1, &end, 10);
    if (*end || errno || version <= 0)
        return false;
    struct db_stmt *s = store_greenai_stmt(c, G_MODEL_RUN);
    if (!s)
        return false;
    db_bind_text(s, 1, d->base_model, (int)(slash - d->base_model));
    db_bind_int64(s, 2, version);
    bool found = false;
    if (db_step(s) == DB_ROW) {
        const char *id = db_column_text(s, 0);
        if (id && strlen(id) < len) {
            memcpy(buf, id, strlen(id) + 1);
            found = true;
        }
    }
    db_reset(s);
    return found;
}

bool store_greenai_chain_base(void *p, const char *run_id, const char **base)
{
    struct chain_ctx *x = p;
    int64_t pk;
    *base = NULL;
    if (!store_greenai_run_find(x->c, run_id, &pk, NULL))
        return false;
    struct greenai_decl d;
    struct errbuf eb;
    if (store_greenai_decl_read(x->c, pk, &d, &eb)) {
        x->failed = true;
        return false;
    }
    if (store_greenai_decl_base_run(x->c, &d, x->base, sizeof(x->base)))
        *base = x->base;
    greenai_decl_cleanup(&d);
    return true;
}
