/* SPDX-License-Identifier: MIT
 *
 * write_energy: the log-energy write (store_energy_exec: samples, the
 * run's run_energy totals) and the derived latest metrics
 * greentrack.energy_kwh and greentrack.co2_kg that follow a run's energy,
 * location tags or zone (store_refresh_derived_metrics,
 * store_refresh_if_location), with the writer's memo of zoned runs' grid
 * cover. Writer thread, inside its transaction.
 */
#include "carbon.h"
#include "internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool is_location_tag(const char *key)
{
    static const char *const keys[] = {"greentrack.country",
                                       "greentrack.region",
                                       "greentrack.cloud_provider",
                                       "greentrack.cloud_region",
                                       "greentrack.pue",
                                       "greentrack.zone"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
        if (strcmp(key, keys[i]) == 0)
            return true;
    }
    return false;
}

/* Rewrites the derived latest metrics greentrack.energy_kwh and
 * greentrack.co2_kg of a run from its totals and current location, so
 * search, filters and ordering see CO2 like any metric. */
/* A change to a run's samples without a measured intensity: 'joules'
 * over [start, end) added (sign 1) or removed by a resend (sign -1). */
struct plain_delta {
    int64_t start, end;
    double joules;
    int sign;
};

static void cover_sub(struct grid_cover *acc, const struct grid_cover *x)
{
    acc->covered_j -= x->covered_j;
    acc->covered_gj -= x->covered_gj;
    acc->actual_j -= x->actual_j;
    acc->forecast_j -= x->forecast_j;
    acc->uncovered_j -= x->uncovered_j;
    for (int i = 0; i < GRID_COVER_SOURCES; i++) {
        acc->source_j[i][0] -= x->source_j[i][0];
        acc->source_j[i][1] -= x->source_j[i][1];
    }
}

/* Applies 'd' (n of them) to a memoized cover: the periods they touch are
 * read, the added samples' cover is added and the removed ones' taken
 * away. */
static enum srv_err cover_apply(struct conn *c, const char *zone,
                                struct grid_cover *cover,
                                const struct plain_delta *d, size_t n,
                                struct errbuf *eb)
{
    if (n == 0)
        return SRV_OK;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        lo = d[i].start < lo ? d[i].start : lo;
        hi = d[i].end > hi ? d[i].end : hi;
    }
    struct grid_point *pts, *tl = NULL;
    size_t np;
    enum srv_err e =
        store_grid_read(c, zone, NULL, NULL, lo, hi, 1000000, &pts, &np, eb);
    if (e)
        return e;
    size_t m = grid_timeline(pts, np, &tl);
    free(pts);
    if (m == (size_t)-1)
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    struct grid_cover gone;
    memset(&gone, 0, sizeof(gone));
    for (size_t i = 0; i < n; i++)
        grid_cover_add(d[i].sign > 0 ? cover : &gone, tl, m, d[i].start,
                       d[i].end, d[i].joules);
    for (int i = 0; i < GRID_COVER_SOURCES; i++) {
        if (!cover->basis[i][0] && gone.basis[i][0])
            memcpy(cover->basis[i], gone.basis[i], sizeof(cover->basis[i]));
    }
    cover_sub(cover, &gone);
    free(tl);
    return SRV_OK;
}

/* The zone cover of run 'pk' (writer): the memo plus 'deltas' when the
 * memo is current and deltas are given, else spread from every sample
 * (and memoized). */
static enum srv_err writer_zone_cover(struct store *st, int64_t pk,
                                      struct run_carbon *rc,
                                      const struct plain_delta *deltas,
                                      size_t n_deltas, struct errbuf *eb)
{
    struct zone_memo *z = &st->zone_memo[(uint64_t)pk % ZONE_MEMO_SLOTS];
    enum srv_err e;
    if (deltas && z->run_pk == pk && z->grid_gen == st->grid_gen &&
        strcmp(z->zone, rc->zone) == 0) {
        if ((e = cover_apply(st->writer, rc->zone, &z->cover, deltas, n_deltas,
                             eb))) {
            z->run_pk = 0;
            return e;
        }
        rc->zone_cover = z->cover;
        return SRV_OK;
    }
    z->run_pk = 0;
    memset(&rc->zone_cover, 0, sizeof(rc->zone_cover));
    if (rc->plain_j > 0 && (e = store_zone_cover(st->writer, pk, rc, eb)))
        return e;
    if (strlen(rc->zone) < sizeof(z->zone)) {
        z->run_pk = pk;
        z->grid_gen = st->grid_gen;
        memcpy(z->zone, rc->zone, strlen(rc->zone) + 1);
        z->cover = rc->zone_cover;
    }
    return SRV_OK;
}

static enum srv_err refresh_derived_delta(struct store *st, int64_t run_pk,
                                          const struct plain_delta *deltas,
                                          size_t n_deltas, struct errbuf *eb)
{
    struct conn *c = st->writer;
    struct run_carbon rc;
    enum srv_err e = store_read_run_carbon(c, run_pk, false, &rc, eb);
    if (!e && rc.zone && rc.has_energy)
        e = writer_zone_cover(st, run_pk, &rc, deltas, n_deltas, eb);
    if (e || !rc.has_energy) {
        run_carbon_cleanup(&rc);
        return e;
    }
    struct carbon_run_input in = {
        .location = {rc.country, rc.region, rc.cloud_provider, rc.cloud_region},
        .pue_tag = rc.pue_tag,
        .default_pue = st->default_pue,
    };
    run_carbon_energy(&rc, &in.energy);
    if (rc.zone)
        st->zone_dirty = true;
    struct carbon_run_result res;
    carbon_account(&in, &res);
    const struct {
        const char *key;
        double value;
    } derived[] = {{"greentrack.energy_kwh", res.energy_kwh},
                   {"greentrack.co2_kg", res.co2_g / 1000.0}};
    for (size_t i = 0; i < 2 && !e; i++) {
        struct db_stmt *s = store_stmt(c, S_LATEST_SET);
        if (!s) {
            e = store_conn_error(c, eb, "derived metric");
            break;
        }
        db_bind_int64(s, 1, run_pk);
        db_bind_text(s, 2, derived[i].key, -1);
        db_bind_double(s, 3, derived[i].value);
        db_bind_int64(s, 4, rc.last_end);
        e = store_step_done(c, s, eb, "derived metric");
    }
    run_carbon_cleanup(&rc);
    return e;
}

/* The same after a change that is not a list of samples (a location tag,
 * new grid data): the zone cover is spread from every sample again. */
enum srv_err store_refresh_derived_metrics(struct store *st, int64_t run_pk,
                                           struct errbuf *eb)
{
    return refresh_derived_delta(st, run_pk, NULL, 0, eb);
}

/* After a write that may have changed a run's location tags. */
enum srv_err store_refresh_if_location(struct store *st, struct store_write *w)
{
    bool touched = w->key && is_location_tag(w->key);
    for (size_t i = 0; i < w->n_tags && !touched; i++)
        touched = is_location_tag(w->tags[i].key);
    if (!touched)
        return SRV_OK;
    bool zone = w->key && strcmp(w->key, "greentrack.zone") == 0;
    for (size_t i = 0; i < w->n_tags && !zone; i++)
        zone = strcmp(w->tags[i].key, "greentrack.zone") == 0;
    if (zone)
        st->zone_dirty = true;
    struct run_state rs;
    enum srv_err e =
        store_run_lookup(st->writer, w->run_id, false, &rs, &w->err);
    return e ? e : store_refresh_derived_metrics(st, rs.run_pk, &w->err);
}

/* log-energy: samples replace earlier ones with the same (run, start,
 * end), so resends are harmless; then the run's totals and its derived
 * greentrack.* metrics are brought up to date. */
/* One sample's share of the run_energy totals. */
struct energy_delta {
    double cpu_j, gpu_j, ram_j, other_j, plain_j, measured_j, measured_gj;
    int64_t samples, estimated;
};

static void delta_add(struct energy_delta *d, double sign, double cpu_j,
                      double gpu_j, double ram_j, double other_j,
                      bool has_intensity, double intensity, bool estimated)
{
    double all = cpu_j + gpu_j + ram_j + other_j;
    d->cpu_j += sign * cpu_j;
    d->gpu_j += sign * gpu_j;
    d->ram_j += sign * ram_j;
    d->other_j += sign * other_j;
    if (has_intensity) {
        d->measured_j += sign * all;
        d->measured_gj += sign * all * intensity;
    } else {
        d->plain_j += sign * all;
    }
    d->samples += sign > 0 ? 1 : -1;
    d->estimated += estimated ? (sign > 0 ? 1 : -1) : 0;
}

/* Subtracts from 'd' the sample a resend replaces, if there is one, and
 * records it in 'pd' (*n_pd grows) when it had no measured intensity. */
static enum srv_err delta_old(struct conn *c, int64_t run_pk,
                              const struct energy_sample_in *x,
                              struct energy_delta *d, struct plain_delta *pd,
                              size_t *n_pd, struct errbuf *eb)
{
    struct db_stmt *s = store_stmt(c, S_ENERGY_OLD);
    if (!s)
        return store_conn_error(c, eb, "energy sample");
    db_bind_int64(s, 1, run_pk);
    db_bind_int64(s, 2, x->start_time);
    db_bind_int64(s, 3, x->end_time);
    int rc = db_step(s);
    if (rc == DB_ROW) {
        double j[4];
        for (int k = 0; k < 4; k++)
            j[k] = db_column_double(s, k);
        bool measured = db_column_type(s, 4) != DB_NULL;
        delta_add(d, -1, j[0], j[1], j[2], j[3], measured,
                  db_column_double(s, 4), (int)db_column_int64(s, 5) != 0);
        if (!measured)
            pd[(*n_pd)++] = (struct plain_delta){x->start_time, x->end_time,
                                                 j[0] + j[1] + j[2] + j[3], -1};
    }
    db_reset(s);
    return rc == DB_ROW || rc == DB_DONE
               ? SRV_OK
               : store_conn_error(c, eb, "energy sample");
}

/* log-energy: samples replace earlier ones with the same (run, start,
 * end), so resends are harmless. The run's totals (run_energy) change by
 * what each sample adds minus what it replaces, so a write costs the same
 * however many samples the run already has; then its derived greentrack.*
 * metrics are brought up to date. */
enum srv_err store_energy_exec(struct store *st, struct store_write *w)
{
    struct conn *c = st->writer;
    struct run_state rs;
    struct energy_delta d = {0};
    int64_t first = INT64_MAX, last = INT64_MIN;
    enum srv_err e = store_run_lookup(c, w->run_id, true, &rs, &w->err);
    if (e)
        return e;
    /* the samples' own changes, for a zoned run's memoized cover */
    size_t n_pd = 0;
    struct plain_delta *pd = malloc((2 * w->n_samples + 1) * sizeof(*pd));
    if (!pd)
        return err_set(&w->err, SRV_E_NOMEM, "out of memory");
    for (size_t i = 0; i < w->n_samples && !e; i++) {
        const struct energy_sample_in *x = &w->samples[i];
        if ((e = delta_old(c, rs.run_pk, x, &d, pd, &n_pd, &w->err)))
            break;
        struct db_stmt *s = store_stmt(c, S_ENERGY_UPSERT);
        if (!s) {
            e = store_conn_error(c, &w->err, "energy sample");
            break;
        }
        db_bind_int64(s, 1, rs.run_pk);
        db_bind_int64(s, 2, x->start_time);
        db_bind_int64(s, 3, x->end_time);
        db_bind_double(s, 4, x->cpu_j);
        db_bind_double(s, 5, x->gpu_j);
        db_bind_double(s, 6, x->ram_j);
        db_bind_double(s, 7, x->other_j);
        store_bind_str(s, 8, x->cpu_method);
        store_bind_str(s, 9, x->gpu_method);
        store_bind_str(s, 10, x->ram_method);
        store_bind_str(s, 11, x->scope);
        if (x->has_intensity)
            db_bind_double(s, 12, x->intensity_g_per_kwh);
        store_bind_str(s, 13, x->has_intensity ? x->intensity_source : NULL);
        /* Estimated: CPU or GPU energy that no hardware counter measured
         * (the RAM model alone does not make a run estimated). */
        bool cpu_counter = strcmp(x->cpu_method, "rapl") == 0;
        bool gpu_counter = strcmp(x->gpu_method, "nvml-energy") == 0;
        bool estimated =
            (x->cpu_j > 0 && !cpu_counter) || (x->gpu_j > 0 && !gpu_counter);
        db_bind_int64(s, 14, estimated);
        e = store_step_done(c, s, &w->err, "energy sample");
        delta_add(&d, 1, x->cpu_j, x->gpu_j, x->ram_j, x->other_j,
                  x->has_intensity, x->intensity_g_per_kwh, estimated);
        if (!x->has_intensity)
            pd[n_pd++] = (struct plain_delta){
                x->start_time, x->end_time,
                x->cpu_j + x->gpu_j + x->ram_j + x->other_j, 1};
        if (x->start_time < first)
            first = x->start_time;
        if (x->end_time > last)
            last = x->end_time;
    }
    if (e || w->n_samples == 0) {
        free(pd);
        return e;
    }
    struct db_stmt *s = store_stmt(c, S_RUN_ENERGY_ADD);
    if (!s) {
        free(pd);
        return store_conn_error(c, &w->err, "run energy");
    }
    db_bind_int64(s, 1, rs.run_pk);
    db_bind_double(s, 2, d.cpu_j);
    db_bind_double(s, 3, d.gpu_j);
    db_bind_double(s, 4, d.ram_j);
    db_bind_double(s, 5, d.other_j);
    db_bind_double(s, 6, d.plain_j);
    db_bind_double(s, 7, d.measured_j);
    db_bind_double(s, 8, d.measured_gj);
    db_bind_int64(s, 9, first);
    db_bind_int64(s, 10, last);
    db_bind_int64(s, 11, d.samples);
    db_bind_int64(s, 12, d.estimated);
    if (!(e = store_step_done(c, s, &w->err, "run energy")))
        e = refresh_derived_delta(st, rs.run_pk, pd, n_pd, &w->err);
    free(pd);
    return e;
}
