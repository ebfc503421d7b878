/* SPDX-License-Identifier: MIT
 *
 * write_grid: the grid-record write (store_grid_exec): fetched grid
 * intensity periods of a zone, and the recomputation of the runs they
 * change. Writer thread, inside its transaction.
 */
#include "internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Records fetched grid periods of one zone (all of one source and kind
 * per call site, though any mix works). Each (source, kind) batch
 * replaces the older periods it overlaps, so a provider that moved its
 * period boundaries leaves no stale overlaps behind. The runs tagged with
 * the zone whose energy overlaps a period that changed are recomputed;
 * w->out_count says how many. */
enum srv_err store_grid_exec(struct store *st, struct store_write *w)
{
    struct conn *c = st->writer;
    st->grid_gen++; /* zone covers memoized so far may change */
    enum srv_err e = SRV_OK;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    bool changed = false;
    for (size_t i = 0; i < w->n_grid_points && !e; i++) {
        const struct grid_point *p = &w->grid_points[i];
        const char *kind = grid_kind_name(p->kind);
        struct db_stmt *s = store_stmt(c, S_GRID_GET_ONE);
        if (!s)
            return store_conn_error(c, &w->err, "grid intensity");
        db_bind_text(s, 1, w->zone, -1);
        db_bind_text(s, 2, p->source, -1);
        db_bind_text(s, 3, kind, -1);
        db_bind_int64(s, 4, p->start_ms);
        int rc = db_step(s);
        bool same = rc == DB_ROW && db_column_double(s, 0) == p->g_per_kwh &&
                    db_column_int64(s, 1) == p->end_ms;
        db_reset(s);
        if (rc != DB_ROW && rc != DB_DONE)
            return store_conn_error(c, &w->err, "grid intensity");
        if (!same) {
            changed = true;
            if (p->start_ms < lo)
                lo = p->start_ms;
            if (p->end_ms > hi)
                hi = p->end_ms;
        }
        if (!(s = store_stmt(c, S_GRID_UPSERT)))
            return store_conn_error(c, &w->err, "grid intensity");
        db_bind_text(s, 1, w->zone, -1);
        db_bind_text(s, 2, p->source, -1);
        db_bind_text(s, 3, p->basis, -1);
        db_bind_text(s, 4, kind, -1);
        db_bind_int64(s, 5, p->start_ms);
        db_bind_int64(s, 6, p->end_ms);
        db_bind_double(s, 7, p->g_per_kwh);
        db_bind_int64(s, 8, p->fetched_ms);
        e = store_step_done(c, s, &w->err, "grid intensity");
    }
    /* Older periods inside each batch's span that the batch did not
     * repeat (boundaries moved) are dropped. */
    for (size_t i = 0; i < w->n_grid_points && !e; i++) {
        const struct grid_point *p = &w->grid_points[i];
        bool first = true;
        int64_t a = p->start_ms, b = p->end_ms;
        for (size_t j = 0; j < w->n_grid_points; j++) {
            const struct grid_point *q = &w->grid_points[j];
            if (q->kind != p->kind || strcmp(q->source, p->source) != 0)
                continue;
            if (j < i) {
                first = false;
                break;
            }
            if (q->start_ms < a)
                a = q->start_ms;
            if (q->end_ms > b)
                b = q->end_ms;
        }
        if (!first)
            continue;
        struct db_stmt *s = store_stmt(c, S_GRID_PRUNE);
        if (!s)
            return store_conn_error(c, &w->err, "grid intensity");
        db_bind_text(s, 1, w->zone, -1);
        db_bind_text(s, 2, p->source, -1);
        db_bind_text(s, 3, grid_kind_name(p->kind), -1);
        db_bind_int64(s, 4, a);
        db_bind_int64(s, 5, b);
        db_bind_int64(s, 6, p->fetched_ms);
        int64_t pruned;
        if ((e = store_step_changes(c, s, &pruned, &w->err, "grid intensity")))
            break;
        if (pruned > 0) {
            changed = true;
            lo = a < lo ? a : lo;
            hi = b > hi ? b : hi;
        }
    }
    if (e || !changed)
        return e;
    /* The runs of the zone whose energy overlaps what changed. */
    int64_t *pks = NULL;
    size_t n = 0, cap = 0;
    struct db_stmt *s = store_stmt(c, S_GRID_ZONE_RUNS);
    if (!s)
        return store_conn_error(c, &w->err, "grid intensity");
    db_bind_text(s, 1, w->zone, -1);
    db_bind_int64(s, 2, hi);
    db_bind_int64(s, 3, lo);
    int rc;
    bool nomem = false;
    while ((rc = db_step(s)) == DB_ROW) {
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            int64_t *np = realloc(pks, nc * sizeof(*pks));
            if (!np) {
                nomem = true;
                break;
            }
            pks = np;
            cap = nc;
        }
        pks[n++] = db_column_int64(s, 0);
    }
    db_reset(s);
    if (nomem || rc != DB_DONE) {
        free(pks);
        return nomem ? err_set(&w->err, SRV_E_NOMEM, "out of memory")
                     : store_conn_error(c, &w->err, "grid intensity");
    }
    for (size_t i = 0; i < n && !e; i++)
        e = store_refresh_derived_metrics(st, pks[i], &w->err);
    free(pks);
    w->out_count = (int64_t)n;
    if (n > 0)
        st->grid_bump_all = true;
    return e;
}
