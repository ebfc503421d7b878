/* SPDX-License-Identifier: MIT
 *
 * rows: the helpers that every file of the store uses to bind values,
 * step statements and turn rows into arrays (store_bind_*, store_step_*,
 * store_col_dup, store_grow, store_read_page, store_read_kvs), declared in
 * internal.h.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

void store_bind_ref(struct db_stmt *s, int i, struct strref r)
{
    db_bind_text(s, i, r.s, (int)r.len);
}

void store_bind_str(struct db_stmt *s, int i, const char *v)
{
    if (v)
        db_bind_text(s, i, v, -1);
    else
        db_bind_null(s, i);
}

/* Runs a statement that returns no rows. */
enum srv_err store_step_done(struct conn *c, struct db_stmt *s,
                             struct errbuf *eb, const char *what)
{
    if (!s)
        return store_conn_error(c, eb, what);
    int rc = db_step(s);
    db_reset(s);
    if (rc != DB_DONE)
        return store_conn_error(c, eb, what);
    return SRV_OK;
}

enum srv_err store_step_deferred(struct conn *c, struct db_stmt *s,
                                 struct errbuf *eb, const char *what)
{
    if (!s)
        return store_conn_error(c, eb, what);
    int rc = db_step_deferred(s);
    db_reset(s);
    if (rc != DB_OK)
        return store_conn_error(c, eb, what);
    return SRV_OK;
}

enum srv_err store_step_changes(struct conn *c, struct db_stmt *s,
                                int64_t *changed, struct errbuf *eb,
                                const char *what)
{
    *changed = 0;
    if (!s)
        return store_conn_error(c, eb, what);
    int rc = db_step(s);
    if (rc == DB_DONE)
        *changed = db_changes(s);
    db_reset(s);
    if (rc != DB_DONE)
        return store_conn_error(c, eb, what);
    return SRV_OK;
}

/* Steps a statement that returns one row or none and resets it: '*found'
 * tells whether there was a row, whose column 0 is then in '*v'. */
enum srv_err store_step_int64(struct conn *c, struct db_stmt *s, int64_t *v,
                              bool *found, struct errbuf *eb, const char *what)
{
    *found = false;
    if (!s)
        return store_conn_error(c, eb, what);
    int rc = db_step(s);
    if (rc == DB_ROW) {
        *v = db_column_int64(s, 0);
        *found = true;
    }
    db_reset(s);
    if (rc != DB_ROW && rc != DB_DONE)
        return store_conn_error(c, eb, what);
    return SRV_OK;
}

char *store_col_dup(struct db_stmt *s, int i)
{
    const char *t = db_column_text(s, i);
    if (!t)
        return NULL;
    size_t n = (size_t)db_column_bytes(s, i);
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, t, n);
        p[n] = '\0';
    }
    return p;
}

/* Makes room for element 'n' of an array of 'elem'-sized items with
 * '*cap' allocated: returns the (possibly moved) array, or NULL when out
 * of memory, leaving the old array valid. */
void *store_grow(void *arr, size_t n, size_t *cap, size_t elem)
{
    if (n < *cap)
        return arr;
    size_t ncap = *cap ? *cap * 2 : 8;
    void *p = realloc(arr, ncap * elem);
    if (p)
        *cap = ncap;
    return p;
}

/* Steps a search statement (whose LIMIT asked for max+1 rows) and turns
 * up to 'max' rows into an array of zeroed 'elem'-sized items with
 * 'from_row'; '*more' tells whether a further row exists. Returns the
 * array (with '*n' items, also on error, for the caller to free). */
void *store_read_page(struct conn *c, struct db_stmt *s, int64_t max,
                      size_t elem, store_row_reader from_row, size_t *n,
                      bool *more, enum srv_err *e, struct errbuf *eb)
{
    char *arr = NULL;
    size_t cap = 0;
    int rc;
    *n = 0;
    *more = false;
    *e = SRV_OK;
    while ((rc = db_step(s)) == DB_ROW) {
        if (*n == (size_t)max) {
            *more = true;
            return arr;
        }
        char *p = store_grow(arr, *n, &cap, elem);
        if (!p) {
            *e = err_set(eb, SRV_E_NOMEM, "out of memory");
            return arr;
        }
        arr = p;
        void *item = arr + *n * elem;
        memset(item, 0, elem);
        (*n)++;
        if ((*e = from_row(s, item, eb)))
            return arr;
    }
    if (rc != DB_DONE)
        *e = store_conn_error(c, eb, "search");
    return arr;
}

enum srv_err store_read_kvs(struct conn *c, struct db_stmt *s, struct kv **out,
                            size_t *n, struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    size_t cap = 0;
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        struct kv *p = store_grow(*out, *n, &cap, sizeof(*p));
        if (!p)
            goto nomem;
        *out = p;
        struct kv *e = &(*out)[*n];
        e->key = store_col_dup(s, 0);
        e->value = store_col_dup(s, 1);
        (*n)++;
        if (!e->key || !e->value)
            goto nomem;
    }
    db_reset(s);
    if (rc != DB_DONE)
        return store_conn_error(c, eb, "read");
    return SRV_OK;
nomem:
    db_reset(s);
    return err_set(eb, SRV_E_NOMEM, "out of memory");
}

/* Binds the parameters of a filter fragment from position '*pos' on. */
void store_bind_frag(struct db_stmt *s, const struct sql_frag *f, int *pos)
{
    for (size_t i = 0; i < f->nparams; i++) {
        const struct sqlv *v = &f->params[i];
        int at = (*pos)++;
        switch (v->type) {
        case SQLV_TEXT:
            db_bind_text(s, at, v->text, -1);
            break;
        case SQLV_INT:
            db_bind_int64(s, at, v->i);
            break;
        case SQLV_REAL:
            db_bind_double(s, at, v->d);
            break;
        }
    }
}
