/* SPDX-License-Identifier: MIT
 *
 * read_carbon: the readers of energy and carbon: a run's energy totals,
 * location and zone cover (also read by the writer for the derived
 * metrics: store_read_run_carbon), its energy samples, the grid intensity
 * periods and zones in use, and an experiment's schedule statistics.
 */
#include "carbon.h"
#include "dialect.h"
#include "internal.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*---- a run's carbon ----*/

static enum srv_err grid_row(struct db_stmt *s, struct grid_point *p)
{
    memset(p, 0, sizeof(*p));
    p->start_ms = db_column_int64(s, 0);
    p->end_ms = db_column_int64(s, 1);
    p->g_per_kwh = db_column_double(s, 2);
    const char *kind = db_column_text(s, 3);
    p->kind = kind && strcmp(kind, "actual") == 0 ? GRID_ACTUAL : GRID_FORECAST;
    p->fetched_ms = db_column_int64(s, 4);
    const char *src = db_column_text(s, 5);
    const char *basis = db_column_text(s, 6);
    snprintf(p->source, sizeof(p->source), "%s", src ? src : "");
    snprintf(p->basis, sizeof(p->basis), "%s", basis ? basis : "");
    return SRV_OK;
}

/* Reads the periods of 'zone' overlapping [start_ms, end_ms) with
 * statement S_GRID_POINTS into a new array (caller frees). */
enum srv_err store_grid_read(struct conn *c, const char *zone,
                             const char *source, const char *kind,
                             int64_t start_ms, int64_t end_ms, size_t limit,
                             struct grid_point **out, size_t *n,
                             struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    struct db_stmt *s = store_stmt(c, S_GRID_POINTS);
    if (!s)
        return store_conn_error(c, eb, "grid intensity");
    db_bind_text(s, 1, zone, -1);
    if (source)
        db_bind_text(s, 2, source, -1);
    if (kind)
        db_bind_text(s, 3, kind, -1);
    db_bind_int64(s, 4, start_ms);
    db_bind_int64(s, 5, end_ms);
    db_bind_int64(s, 6, (int64_t)limit);
    struct grid_point *a = NULL;
    size_t cap = 0, m = 0;
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        if (m == cap) {
            size_t nc = cap ? cap * 2 : 64;
            struct grid_point *na = realloc(a, nc * sizeof(*a));
            if (!na) {
                db_reset(s);
                free(a);
                return err_set(eb, SRV_E_NOMEM, "out of memory");
            }
            a = na;
            cap = nc;
        }
        grid_row(s, &a[m++]);
    }
    db_reset(s);
    if (rc != DB_DONE) {
        free(a);
        return store_conn_error(c, eb, "grid intensity");
    }
    *out = a;
    *n = m;
    return SRV_OK;
}

/* Zone accounting: spreads the run's samples that carry no measured
 * intensity over the recorded periods of its zone (actual before
 * forecast; see grid_timeline), in proportion to time overlap, into
 * out->zone_cover. Samples outside every period stay with the static
 * table. */
enum srv_err store_zone_cover(struct conn *c, int64_t run_pk,
                              struct run_carbon *out, struct errbuf *eb)
{
    struct grid_point *pts, *tl = NULL;
    size_t n;
    enum srv_err e = store_grid_read(c, out->zone, NULL, NULL, out->first_start,
                                     out->last_end, 1000000, &pts, &n, eb);
    if (e || n == 0)
        return e;
    size_t m = grid_timeline(pts, n, &tl);
    free(pts);
    if (m == (size_t)-1)
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    struct db_stmt *s = store_stmt(c, S_PLAIN_SAMPLES);
    if (!s) {
        free(tl);
        return store_conn_error(c, eb, "zone accounting");
    }
    db_bind_int64(s, 1, run_pk);
    int rc;
    while ((rc = db_step(s)) == DB_ROW)
        grid_cover_add(&out->zone_cover, tl, m, db_column_int64(s, 0),
                       db_column_int64(s, 1), db_column_double(s, 2));
    db_reset(s);
    free(tl);
    return rc == DB_DONE ? SRV_OK : store_conn_error(c, eb, "zone accounting");
}

/* Reads run_energy and the location tags of a run into 'out' (zeroed
 * first); out->has_energy is false when the run has no samples. */
enum srv_err store_read_run_carbon(struct conn *c, int64_t run_pk,
                                   bool with_zone, struct run_carbon *out,
                                   struct errbuf *eb)
{
    memset(out, 0, sizeof(*out));
    struct db_stmt *s = store_stmt(c, S_RUN_ENERGY_GET);
    if (!s)
        return store_conn_error(c, eb, "run energy");
    db_bind_int64(s, 1, run_pk);
    int rc = db_step(s);
    if (rc == DB_ROW) {
        out->has_energy = true;
        out->cpu_j = db_column_double(s, 0);
        out->gpu_j = db_column_double(s, 1);
        out->ram_j = db_column_double(s, 2);
        out->other_j = db_column_double(s, 3);
        out->plain_j = db_column_double(s, 4);
        out->measured_j = db_column_double(s, 5);
        out->measured_gj = db_column_double(s, 6);
        out->first_start = db_column_int64(s, 7);
        out->last_end = db_column_int64(s, 8);
        out->samples = db_column_int64(s, 9);
        out->estimated_samples = db_column_int64(s, 10);
        /* totals kept by adding and subtracting samples: a replaced
         * sample may leave a rounding residue just below zero */
        double *sums[] = {&out->cpu_j,      &out->gpu_j,   &out->ram_j,
                          &out->other_j,    &out->plain_j, &out->measured_j,
                          &out->measured_gj};
        for (size_t i = 0; i < sizeof(sums) / sizeof(*sums); i++) {
            if (*sums[i] < 0)
                *sums[i] = 0;
        }
    }
    db_reset(s);
    if (rc != DB_ROW && rc != DB_DONE)
        return store_conn_error(c, eb, "run energy");
    s = store_stmt(c, S_RUN_LOCATION_TAGS);
    if (!s)
        return store_conn_error(c, eb, "run location");
    db_bind_int64(s, 1, run_pk);
    while ((rc = db_step(s)) == DB_ROW) {
        const char *k = db_column_text(s, 0) + sizeof("greentrack.") - 1;
        char **slot = strcmp(k, "country") == 0          ? &out->country
                      : strcmp(k, "region") == 0         ? &out->region
                      : strcmp(k, "cloud_provider") == 0 ? &out->cloud_provider
                      : strcmp(k, "cloud_region") == 0   ? &out->cloud_region
                      : strcmp(k, "zone") == 0           ? &out->zone
                                                         : &out->pue_tag;
        free(*slot);
        *slot = store_col_dup(s, 1);
    }
    db_reset(s);
    if (rc != DB_DONE) {
        run_carbon_cleanup(out);
        return store_conn_error(c, eb, "run location");
    }
    enum srv_err e = SRV_OK;
    if (with_zone && out->zone && out->has_energy && out->plain_j > 0 &&
        (e = store_zone_cover(c, run_pk, out, eb)))
        run_carbon_cleanup(out);
    return e;
}

void run_carbon_cleanup(struct run_carbon *rc)
{
    if (!rc)
        return;
    free(rc->country);
    free(rc->region);
    free(rc->cloud_provider);
    free(rc->cloud_region);
    free(rc->pue_tag);
    free(rc->cpu_methods);
    free(rc->gpu_methods);
    free(rc->ram_methods);
    free(rc->scopes);
    free(rc->intensity_sources);
    free(rc->zone);
    memset(rc, 0, sizeof(*rc));
}

void run_carbon_energy(const struct run_carbon *rc, struct carbon_energy *out)
{
    double zone_j = rc->zone_cover.covered_j;
    out->plain_j = rc->plain_j - zone_j > 0 ? rc->plain_j - zone_j : 0;
    out->measured_j = rc->measured_j + zone_j;
    out->measured_g_per_kwh_j = rc->measured_gj + rc->zone_cover.covered_gj;
}

enum srv_err store_run_carbon(struct store *st, const char *run_id,
                              struct run_carbon *out, struct errbuf *eb)
{
    memset(out, 0, sizeof(*out));
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    struct run_state rs;
    enum srv_err e = store_run_lookup(c, run_id, false, &rs, eb);
    if (e || (e = store_read_run_carbon(c, rs.run_pk, true, out, eb)))
        return e;
    /* The aggregate differs between the engines (dialect.h), so this one
     * is prepared per call rather than kept in statements.h. */
    struct db_stmt *s = store_prepare(
        c, dialect_sql(store_conn_db(c), D_S_RUN_METHODS), "energy methods");
    if (!s) {
        run_carbon_cleanup(out);
        return store_conn_error(c, eb, "energy methods");
    }
    db_bind_int64(s, 1, rs.run_pk);
    int rc = db_step(s);
    if (rc == DB_ROW) {
        out->cpu_methods = store_col_dup(s, 0);
        out->gpu_methods = store_col_dup(s, 1);
        out->ram_methods = store_col_dup(s, 2);
        out->scopes = store_col_dup(s, 3);
        out->intensity_sources = store_col_dup(s, 4);
    }
    if (rc != DB_ROW && rc != DB_DONE)
        e = store_conn_error(c, eb, "energy methods");
    db_finalize(s);
    if (e)
        run_carbon_cleanup(out);
    return e;
}

/*---- energy samples ----*/

void energy_samples_free(struct energy_sample *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(a[i].cpu_method);
        free(a[i].gpu_method);
        free(a[i].ram_method);
        free(a[i].scope);
        free(a[i].intensity_source);
    }
    free(a);
}

static enum srv_err sample_from_row(struct db_stmt *s, void *item,
                                    struct errbuf *eb)
{
    struct energy_sample *x = item;
    x->start_time = db_column_int64(s, 0);
    x->end_time = db_column_int64(s, 1);
    x->cpu_j = db_column_double(s, 2);
    x->gpu_j = db_column_double(s, 3);
    x->ram_j = db_column_double(s, 4);
    x->other_j = db_column_double(s, 5);
    x->cpu_method = store_col_dup(s, 6);
    x->gpu_method = store_col_dup(s, 7);
    x->ram_method = store_col_dup(s, 8);
    x->scope = store_col_dup(s, 9);
    x->has_intensity = db_column_type(s, 10) != DB_NULL;
    x->intensity_g_per_kwh = db_column_double(s, 10);
    x->intensity_source = store_col_dup(s, 11); /* NULL without an intensity */
    if (!x->cpu_method || !x->gpu_method || !x->ram_method || !x->scope)
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    return SRV_OK;
}

enum srv_err store_energy_samples(struct store *st, const char *run_id,
                                  int64_t offset, int64_t limit,
                                  struct energy_sample **out, size_t *n,
                                  bool *more, struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    *more = false;
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    struct run_state rs;
    enum srv_err e = store_run_lookup(c, run_id, false, &rs, eb);
    if (e)
        return e;
    struct db_stmt *s = store_stmt(c, S_ENERGY_SAMPLES);
    if (!s)
        return store_conn_error(c, eb, "energy samples");
    db_bind_int64(s, 1, rs.run_pk);
    db_bind_int64(s, 2, limit + 1);
    db_bind_int64(s, 3, offset);
    *out = store_read_page(c, s, limit, sizeof(**out), sample_from_row, n, more,
                           &e, eb);
    db_reset(s);
    if (e) {
        energy_samples_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}

enum srv_err store_energy_chunk(struct store *st, int64_t run_pk,
                                int64_t offset, const int64_t *after,
                                size_t max_rows, struct energy_sample **out,
                                size_t *n, bool *end, struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    *end = true;
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    struct db_stmt *s =
        store_stmt(c, after ? S_CHUNK_ENERGY_AFTER : S_CHUNK_ENERGY_FROM);
    if (!s)
        return store_conn_error(c, eb, "energy samples");
    db_bind_int64(s, 1, run_pk);
    db_bind_int64(s, 2, (int64_t)max_rows + 1);
    if (after) {
        db_bind_int64(s, 3, after[0]);
        db_bind_int64(s, 4, after[1]);
    } else {
        db_bind_int64(s, 3, offset);
    }
    enum srv_err e;
    bool more;
    *out = store_read_page(c, s, (int64_t)max_rows, sizeof(**out),
                           sample_from_row, n, &more, &e, eb);
    db_reset(s);
    *end = !more;
    if (e) {
        energy_samples_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}

/*---- grid intensity ----*/

enum srv_err store_grid_points(struct store *st, const char *zone,
                               const char *source, bool any_kind,
                               enum grid_kind kind, int64_t start_ms,
                               int64_t end_ms, size_t limit,
                               struct grid_point **out, size_t *n,
                               struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    return store_grid_read(c, zone, source,
                           any_kind ? NULL : grid_kind_name(kind), start_ms,
                           end_ms, limit, out, n, eb);
}

enum srv_err store_grid_zones_in_use(struct store *st, int64_t since_ms,
                                     char ***out, size_t *n, struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    struct db_stmt *s = store_stmt(c, S_GRID_ZONES);
    if (!s)
        return store_conn_error(c, eb, "grid zones");
    db_bind_int64(s, 1, since_ms);
    char **a = NULL;
    size_t m = 0, cap = 0;
    enum srv_err e = SRV_OK;
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        if (m == cap) {
            size_t nc = cap ? cap * 2 : 8;
            char **na = realloc(a, nc * sizeof(*a));
            if (!na) {
                e = err_set(eb, SRV_E_NOMEM, "out of memory");
                break;
            }
            a = na;
            cap = nc;
        }
        if (!(a[m] = store_col_dup(s, 0))) {
            e = err_set(eb, SRV_E_NOMEM, "out of memory");
            break;
        }
        m++;
    }
    db_reset(s);
    if (!e && rc != DB_DONE)
        e = store_conn_error(c, eb, "grid zones");
    if (e) {
        for (size_t i = 0; i < m; i++)
            free(a[i]);
        free(a);
        return e;
    }
    *out = a;
    *n = m;
    return SRV_OK;
}

void schedule_stats_cleanup(struct schedule_stats *s)
{
    if (!s)
        return;
    free(s->zone);
    memset(s, 0, sizeof(*s));
}

/* The median of the first column of 's' (rows in ascending order). */
static enum srv_err median_of(struct conn *c, struct db_stmt *s, double *median,
                              int64_t *count, struct errbuf *eb)
{
    double *v = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            double *nv = realloc(v, nc * sizeof(*v));
            if (!nv) {
                db_reset(s);
                free(v);
                return err_set(eb, SRV_E_NOMEM, "out of memory");
            }
            v = nv;
            cap = nc;
        }
        v[n++] = db_column_double(s, 0);
    }
    db_reset(s);
    if (rc != DB_DONE) {
        free(v);
        return store_conn_error(c, eb, "experiment statistics");
    }
    *count = (int64_t)n;
    *median = n == 0       ? 0
              : n % 2 == 1 ? v[n / 2]
                           : (v[n / 2 - 1] + v[n / 2]) / 2;
    free(v);
    return SRV_OK;
}

enum srv_err store_schedule_stats(struct store *st, int64_t experiment_id,
                                  struct schedule_stats *out, struct errbuf *eb)
{
    memset(out, 0, sizeof(*out));
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    struct db_stmt *s = store_stmt(c, S_EXP_TOP_ZONE);
    if (!s)
        return store_conn_error(c, eb, "experiment statistics");
    db_bind_int64(s, 1, experiment_id);
    int rc = db_step(s);
    if (rc == DB_ROW && !(out->zone = store_col_dup(s, 0))) {
        db_reset(s);
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    }
    db_reset(s);
    if (rc != DB_ROW && rc != DB_DONE)
        return store_conn_error(c, eb, "experiment statistics");
    double median;
    enum srv_err e;
    if (!(s = store_stmt(c, S_EXP_DURATIONS)))
        e = store_conn_error(c, eb, "experiment statistics");
    else {
        db_bind_int64(s, 1, experiment_id);
        e = median_of(c, s, &median, &out->finished_runs, eb);
        out->median_duration_ms = (int64_t)ceil(median);
    }
    if (!e && !(s = store_stmt(c, S_EXP_ENERGIES)))
        e = store_conn_error(c, eb, "experiment statistics");
    else if (!e) {
        db_bind_int64(s, 1, experiment_id);
        e = median_of(c, s, &median, &out->energy_runs, eb);
        out->median_energy_kwh = median / CARBON_J_PER_KWH;
    }
    if (e)
        schedule_stats_cleanup(out);
    return e;
}
