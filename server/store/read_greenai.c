/* SPDX-License-Identifier: MIT
 *
 * read_greenai: the reads of Green-AI decisions (see store_greenai.h):
 * lineage (declarations, upstream chains and the runs that share a base),
 * run phases, inference, hardware, budgets and what-if inputs.
 */
#include "greenai_sql.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/*---- lineage ----*/

void greenai_decl_cleanup(struct greenai_decl *d)
{
    free(d->base_run_id);
    free(d->base_model);
    free(d->base_source);
    memset(d, 0, sizeof(*d));
}

bool greenai_decl_any(const struct greenai_decl *d)
{
    return d->base_run_id || d->base_model || d->has_co2 || d->base_source;
}

static double run_co2_g(struct conn *c, const char *run_id)
{
    struct db_stmt *s = store_greenai_stmt(c, G_RUN_CO2);
    if (!s)
        return 0;
    db_bind_text(s, 1, run_id, -1);
    double g = db_step(s) == DB_ROW ? db_column_double(s, 0) * 1000.0 : 0;
    db_reset(s);
    return g;
}

static int64_t count_sharing(struct conn *c, enum greenai_stmt id,
                             const char *value)
{
    struct db_stmt *s = store_greenai_stmt(c, id);
    if (!s)
        return 1;
    db_bind_text(s, 1, value, -1);
    int64_t n = db_step(s) == DB_ROW ? db_column_int64(s, 0) : 1;
    db_reset(s);
    return n > 0 ? n : 1;
}

void greenai_upstream_cleanup(struct greenai_upstream *u)
{
    free(u->base_run_id);
    free(u->base_model);
    free(u->base_source);
    free(u->chain);
    memset(u, 0, sizeof(*u));
}

/* The upstream of what 'd' declares: the chain of runs from its base
 * (each run's CO2) plus an external base's greentrack.base_co2_kg at the
 * chain's end (or of 'd' itself when it names no run). */
static enum srv_err upstream_of(struct conn *c, const struct greenai_decl *d,
                                struct greenai_upstream *out, struct errbuf *eb)
{
    memset(out, 0, sizeof(*out));
    out->declared = greenai_decl_any(d);
    out->sharing_runs = 1;
    if (!out->declared)
        return SRV_OK;
    if ((d->base_model && !(out->base_model = strdup(d->base_model))) ||
        (d->base_source && !(out->base_source = strdup(d->base_source))))
        goto oom;
    char first[128];
    double external_g = d->has_co2 ? d->co2_kg * 1000.0 : 0;
    if (store_greenai_decl_base_run(c, d, first, sizeof(first))) {
        out->chain = calloc(GREENAI_MAX_DEPTH, sizeof(*out->chain));
        if (!out->chain || !(out->base_run_id = strdup(first)))
            goto oom;
        struct chain_ctx ctx = {.c = c};
        enum greenai_chain_result r = greenai_chain(
            NULL, first, store_greenai_chain_base, &ctx, (char *)out->chain,
            sizeof(*out->chain), &out->n_chain);
        if (ctx.failed)
            return store_conn_error(c, eb, "upstream chain");
        out->truncated =
            r == GREENAI_CHAIN_CYCLE || r == GREENAI_CHAIN_TOO_DEEP;
        if (r == GREENAI_CHAIN_UNKNOWN && out->n_chain)
            out->n_chain--; /* the last one is not a run */
        external_g = 0;
        for (size_t i = 0; i < out->n_chain; i++)
            out->upstream_co2_g += run_co2_g(c, out->chain[i]);
        /* an external base where the chain ends */
        if (r == GREENAI_CHAIN_OK && out->n_chain) {
            int64_t pk;
            struct greenai_decl last;
            if (store_greenai_run_find(c, out->chain[out->n_chain - 1], &pk,
                                       NULL) &&
                store_greenai_decl_read(c, pk, &last, eb) == SRV_OK) {
                if (last.has_co2)
                    external_g = last.co2_kg * 1000.0;
                greenai_decl_cleanup(&last);
            }
        }
    }
    out->upstream_co2_g += external_g;
    out->sharing_runs =
        d->base_run_id   ? count_sharing(c, G_SHARE_RUN, d->base_run_id)
        : d->base_model  ? count_sharing(c, G_SHARE_MODEL, d->base_model)
        : d->base_source ? count_sharing(c, G_SHARE_SOURCE, d->base_source)
                         : 1;
    out->amortized_co2_g = out->upstream_co2_g / (double)out->sharing_runs;
    return SRV_OK;
oom:
    greenai_upstream_cleanup(out);
    return err_set(eb, SRV_E_NOMEM, "out of memory");
}

enum srv_err store_greenai_upstream(struct store *st, const char *run_id,
                                    struct greenai_upstream *out,
                                    struct errbuf *eb)
{
    memset(out, 0, sizeof(*out));
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    int64_t pk;
    if (!store_greenai_run_find(c, run_id, &pk, NULL))
        return store_greenai_no_run(eb, run_id);
    struct greenai_decl d;
    enum srv_err e = store_greenai_decl_read(c, pk, &d, eb);
    if (e)
        return e;
    e = upstream_of(c, &d, out, eb);
    greenai_decl_cleanup(&d);
    return e;
}

/*---- reads ----*/

void run_phases_free(struct run_phase *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(a[i].phase);
        free(a[i].work_unit);
    }
    free(a);
}

/* What a row's filler made of it: an item, nothing, or out of memory. */
enum row_fill { ROW_KEEP, ROW_SKIP, ROW_NOMEM };

/* Steps 's' (bound) and adds its rows, each filled by 'fill' into a
 * zeroed 'elem'-sized item, to the array 'arr' of '*n' items with '*cap'
 * allocated; an item whose filling ran out of memory is counted, for the
 * caller to free with the array. Resets 's'; 'what' names it in the log.
 * Returns the (possibly moved) array, with '*e' set. */
static void *read_rows(struct conn *c, struct db_stmt *s, void *arr,
                       size_t elem, size_t *n, size_t *cap,
                       enum row_fill (*fill)(struct db_stmt *, void *),
                       const char *what, enum srv_err *e, struct errbuf *eb)
{
    int rc;
    *e = SRV_OK;
    while ((rc = db_step(s)) == DB_ROW) {
        char *a = store_grow(arr, *n, cap, elem);
        if (!a) {
            *e = err_set(eb, SRV_E_NOMEM, "out of memory");
            break;
        }
        arr = a;
        void *item = a + *n * elem;
        memset(item, 0, elem);
        enum row_fill f = fill(s, item);
        if (f != ROW_SKIP)
            (*n)++;
        if (f == ROW_NOMEM) {
            *e = err_set(eb, SRV_E_NOMEM, "out of memory");
            break;
        }
    }
    db_reset(s);
    if (!*e && rc != DB_DONE)
        *e = store_conn_error(c, eb, what);
    return arr;
}

static enum row_fill phase_fill(struct db_stmt *s, void *item)
{
    struct run_phase *p = item;
    p->phase = store_col_dup(s, 0);
    p->start_time = db_column_int64(s, 1);
    p->end_time = db_column_int64(s, 2);
    p->has_work = db_column_type(s, 3) != DB_NULL;
    p->work_count = db_column_double(s, 3);
    p->work_unit = store_col_dup(s, 4);
    if (!p->phase || (!p->work_unit && db_column_type(s, 4) != DB_NULL))
        return ROW_NOMEM;
    return ROW_KEEP;
}

static enum row_fill sample_fill(struct db_stmt *s, void *item)
{
    struct greenai_sample *x = item;
    x->start_ms = db_column_int64(s, 0);
    x->end_ms = db_column_int64(s, 1);
    x->joules = db_column_double(s, 2);
    return ROW_KEEP;
}

enum srv_err store_greenai_run_phases(struct store *st, const char *run_id,
                                      bool samples_always,
                                      struct run_phase **phases, size_t *n,
                                      struct greenai_sample **samples,
                                      size_t *n_samples, struct errbuf *eb)
{
    *phases = NULL;
    *samples = NULL;
    *n = *n_samples = 0;
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    int64_t pk;
    if (!store_greenai_run_find(c, run_id, &pk, NULL))
        return store_greenai_no_run(eb, run_id);
    struct db_stmt *s = store_greenai_stmt(c, G_PHASES);
    if (!s)
        return store_conn_error(c, eb, "phases");
    db_bind_int64(s, 1, pk);
    size_t cap = 0;
    enum srv_err e;
    *phases = read_rows(c, s, *phases, sizeof(**phases), n, &cap, phase_fill,
                        "phases", &e, eb);
    if (!e && (samples_always || *n)) {
        s = store_greenai_stmt(c, G_SAMPLES);
        if (!s)
            e = store_conn_error(c, eb, "samples");
        else {
            db_bind_int64(s, 1, pk);
            cap = 0;
            *samples = read_rows(c, s, *samples, sizeof(**samples), n_samples,
                                 &cap, sample_fill, "samples", &e, eb);
        }
    }
    if (e) {
        run_phases_free(*phases, *n);
        free(*samples);
        *phases = NULL;
        *samples = NULL;
        *n = *n_samples = 0;
    }
    return e;
}

/* The declaration's kind, for ordering: a base run, a registered model,
 * an external base. */
static int decl_kind(const struct greenai_decl *d)
{
    return d->base_run_id ? 0 : d->base_model ? 1 : 2;
}

static const char *decl_key(const struct greenai_decl *d)
{
    return d->base_run_id   ? d->base_run_id
           : d->base_model  ? d->base_model
           : d->base_source ? d->base_source
                            : "";
}

int greenai_decl_cmp(const struct greenai_decl *a, const struct greenai_decl *b)
{
    int ka = decl_kind(a), kb = decl_kind(b);
    if (ka != kb)
        return ka - kb;
    int k = strcmp(decl_key(a), decl_key(b));
    if (k)
        return k;
    /* an external base's kg may differ from run to run */
    double ca = a->has_co2 ? a->co2_kg : -1, cb = b->has_co2 ? b->co2_kg : -1;
    return (ca > cb) - (ca < cb);
}

bool greenai_decl_copy(struct greenai_decl *dst, const struct greenai_decl *src)
{
    memset(dst, 0, sizeof(*dst));
    dst->has_co2 = src->has_co2;
    dst->co2_kg = src->co2_kg;
    if ((src->base_run_id && !(dst->base_run_id = strdup(src->base_run_id))) ||
        (src->base_model && !(dst->base_model = strdup(src->base_model))) ||
        (src->base_source && !(dst->base_source = strdup(src->base_source)))) {
        greenai_decl_cleanup(dst);
        return false;
    }
    return true;
}

void greenai_run_decls_free(struct greenai_run_decl *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        greenai_decl_cleanup(&a[i].d);
    free(a);
}

/* Adds the rows of 's' (bound, stepped here) to the array '*arr' of '*n'
 * items with '*cap' allocated, for read_per_run. */
typedef enum srv_err (*run_rows_fn)(struct conn *c, struct db_stmt *s,
                                    void *arr, size_t *n, size_t *cap,
                                    struct errbuf *eb);

/* Steps statement 'exp_id' for experiment 'experiment_id' when 'pks' is
 * NULL, else statement 'run_id' for each of the 'n_pks' runs of 'pks',
 * and adds their rows to the array '*arr' (NULL at first) with 'read'.
 * On error '*arr' keeps what was read, with '*n' items, for the caller
 * to free. */
static enum srv_err read_per_run(struct store *st, enum greenai_stmt exp_id,
                                 enum greenai_stmt run_id,
                                 int64_t experiment_id, const int64_t *pks,
                                 size_t n_pks, run_rows_fn read, void *arr,
                                 size_t *n, const char *what, struct errbuf *eb)
{
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    size_t cap = 0;
    enum srv_err e = SRV_OK;
    for (size_t i = 0; !e && (pks ? i < n_pks : i < 1); i++) {
        struct db_stmt *s = store_greenai_stmt(c, pks ? run_id : exp_id);
        if (!s)
            return store_conn_error(c, eb, what);
        db_bind_int64(s, 1, pks ? pks[i] : experiment_id);
        e = read(c, s, arr, n, &cap, eb);
    }
    return e;
}

/* Adds the (pk, key, value) rows of 's' (stepped here) to '*out'. */
static enum srv_err read_decl_rows(struct conn *c, struct db_stmt *s, void *arr,
                                   size_t *n, size_t *cap, struct errbuf *eb)
{
    struct greenai_run_decl **out = arr;
    int rc;
    enum srv_err e = SRV_OK;
    size_t first = *n; /* rows of one run are adjacent */
    while ((rc = db_step(s)) == DB_ROW) {
        int64_t pk = db_column_int64(s, 0);
        if (*n == first || (*out)[*n - 1].run_pk != pk) {
            struct greenai_run_decl *m =
                store_grow(*out, *n, cap, sizeof(**out));
            if (!m) {
                e = err_set(eb, SRV_E_NOMEM, "out of memory");
                break;
            }
            *out = m;
            memset(&m[*n], 0, sizeof(m[*n]));
            m[(*n)++].run_pk = pk;
        }
        if (!store_greenai_decl_add(&(*out)[*n - 1].d, db_column_text(s, 1),
                                    db_column_text(s, 2))) {
            e = err_set(eb, SRV_E_NOMEM, "out of memory");
            break;
        }
    }
    db_reset(s);
    if (!e && rc != DB_DONE)
        e = store_conn_error(c, eb, "lineage");
    return e;
}

enum srv_err store_greenai_run_decls(struct store *st, int64_t experiment_id,
                                     const int64_t *pks, size_t n_pks,
                                     struct greenai_run_decl **out, size_t *n,
                                     struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    enum srv_err e =
        read_per_run(st, G_EXP_LINEAGE, G_RUN_LINEAGE, experiment_id, pks,
                     n_pks, read_decl_rows, out, n, "lineage", eb);
    if (e) {
        greenai_run_decls_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}

enum srv_err store_greenai_decl_upstream(struct store *st,
                                         const struct greenai_decl *d,
                                         double *upstream_g,
                                         double *amortized_g, struct errbuf *eb)
{
    *upstream_g = *amortized_g = 0;
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    struct greenai_upstream u;
    enum srv_err e = upstream_of(c, d, &u, eb);
    if (e)
        return e;
    *upstream_g = u.upstream_co2_g;
    *amortized_g = u.amortized_co2_g;
    greenai_upstream_cleanup(&u);
    return SRV_OK;
}

/* Adds the (pk, work, joules) rows of 's' (stepped here) to '*out'. */
static enum row_fill inference_fill(struct db_stmt *s, void *item)
{
    if (db_column_type(s, 0) == DB_NULL)
        return ROW_SKIP; /* the aggregate of no row */
    struct greenai_inference *x = item;
    x->run_pk = db_column_int64(s, 0);
    x->work = db_column_double(s, 1);
    x->joules = db_column_double(s, 2);
    return ROW_KEEP;
}

static enum srv_err read_inference_rows(struct conn *c, struct db_stmt *s,
                                        void *arr, size_t *n, size_t *cap,
                                        struct errbuf *eb)
{
    struct greenai_inference **out = arr;
    enum srv_err e;
    *out = read_rows(c, s, *out, sizeof(**out), n, cap, inference_fill,
                     "inference phases", &e, eb);
    return e;
}

enum srv_err store_greenai_inference(struct store *st, int64_t experiment_id,
                                     const int64_t *pks, size_t n_pks,
                                     struct greenai_inference **out, size_t *n,
                                     struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    enum srv_err e = read_per_run(
        st, G_EXP_INFERENCE, G_RUN_INFERENCE, experiment_id, pks, n_pks,
        read_inference_rows, out, n, "inference phases", eb);
    if (e) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return e;
}

/* Statement 'id' on this thread's reader ('*c') with its first parameter
 * bound to experiment 'experiment_id'; NULL with '*e' and 'eb' set when
 * the reader or the statement ('what' in the log) is not to be had. */
static struct db_stmt *experiment_stmt(struct store *st, enum greenai_stmt id,
                                       int64_t experiment_id, struct conn **c,
                                       const char *what, enum srv_err *e,
                                       struct errbuf *eb)
{
    *e = SRV_OK;
    if (!(*c = store_reader(st, eb))) {
        *e = SRV_E_UNAVAILABLE;
        return NULL;
    }
    struct db_stmt *s = store_greenai_stmt(*c, id);
    if (!s) {
        *e = store_conn_error(*c, eb, what);
        return NULL;
    }
    db_bind_int64(s, 1, experiment_id);
    return s;
}

void greenai_hosts_free(struct greenai_host *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(a[i].cpu);
        free(a[i].gpu_model);
        free(a[i].gpus);
    }
    free(a);
}

enum srv_err store_greenai_hosts(struct store *st, int64_t experiment_id,
                                 struct greenai_host **out, size_t *n,
                                 struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    struct conn *c;
    enum srv_err e;
    struct db_stmt *s =
        experiment_stmt(st, G_EXP_HOSTS, experiment_id, &c, "hosts", &e, eb);
    if (!s)
        return e;
    size_t cap = 0;
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        int64_t pk = db_column_int64(s, 0);
        if (!*n || (*out)[*n - 1].run_pk != pk) {
            struct greenai_host *h = store_grow(*out, *n, &cap, sizeof(**out));
            if (!h) {
                e = err_set(eb, SRV_E_NOMEM, "out of memory");
                break;
            }
            *out = h;
            memset(&h[*n], 0, sizeof(h[*n]));
            h[(*n)++].run_pk = pk;
        }
        struct greenai_host *h = &(*out)[*n - 1];
        const char *key = db_column_text(s, 1);
        char **slot = strcmp(key, "greentrack.host.cpu") == 0 ? &h->cpu
                      : strcmp(key, "greentrack.host.gpu_model") == 0
                          ? &h->gpu_model
                          : &h->gpus;
        free(*slot);
        if (!(*slot = store_col_dup(s, 2))) {
            e = err_set(eb, SRV_E_NOMEM, "out of memory");
            break;
        }
    }
    db_reset(s);
    if (!e && rc != DB_DONE)
        e = store_conn_error(c, eb, "hosts");
    if (e) {
        greenai_hosts_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}

enum srv_err store_greenai_budget(struct store *st, int64_t experiment_id,
                                  bool *has, double *budget_kg,
                                  struct errbuf *eb)
{
    *has = false;
    struct conn *c;
    enum srv_err e;
    struct db_stmt *s =
        experiment_stmt(st, G_EXP_BUDGET, experiment_id, &c, "budget", &e, eb);
    if (!s)
        return e;
    int rc = db_step(s);
    if (rc == DB_ROW)
        *has = store_greenai_parse_kg(db_column_text(s, 0), budget_kg);
    db_reset(s);
    if (rc != DB_ROW && rc != DB_DONE)
        return store_conn_error(c, eb, "budget");
    return SRV_OK;
}

static enum row_fill run_id_fill(struct db_stmt *s, void *item)
{
    char **id = item;
    return (*id = store_col_dup(s, 0)) ? ROW_KEEP : ROW_NOMEM;
}

enum srv_err store_greenai_alt_run_ids(struct store *st, int64_t experiment_id,
                                       char ***out, size_t *n,
                                       struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    struct conn *c;
    enum srv_err e;
    struct db_stmt *s = experiment_stmt(st, G_EXP_RUN_IDS, experiment_id, &c,
                                        "run ids", &e, eb);
    if (!s)
        return e;
    size_t cap = 0;
    *out = read_rows(c, s, *out, sizeof(**out), n, &cap, run_id_fill, "run ids",
                     &e, eb);
    if (e) {
        for (size_t i = 0; i < *n; i++)
            free((*out)[i]);
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return e;
}

enum srv_err store_greenai_referenced(struct store *st, const int64_t *pks,
                                      size_t n, bool *any, struct errbuf *eb)
{
    *any = false;
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    for (size_t i = 0; i < n && !*any; i++) {
        struct db_stmt *s = store_greenai_stmt(c, G_REFERENCED);
        if (!s)
            return store_conn_error(c, eb, "referenced");
        db_bind_int64(s, 1, pks[i]);
        int rc = db_step(s);
        db_reset(s);
        if (rc != DB_ROW && rc != DB_DONE)
            return store_conn_error(c, eb, "referenced");
        *any = rc == DB_ROW;
    }
    return SRV_OK;
}

enum srv_err store_greenai_slot_shared(struct store *st, int64_t experiment_id,
                                       int64_t slots, bool *shared,
                                       struct errbuf *eb)
{
    *shared = true;
    struct conn *c;
    enum srv_err e;
    struct db_stmt *s = experiment_stmt(st, G_SLOT_SHARED, experiment_id, &c,
                                        "experiment slots", &e, eb);
    if (!s)
        return e;
    db_bind_int64(s, 2, slots);
    int rc = db_step(s);
    db_reset(s);
    if (rc != DB_ROW && rc != DB_DONE)
        return store_conn_error(c, eb, "experiment slots");
    *shared = rc == DB_ROW;
    return SRV_OK;
}
