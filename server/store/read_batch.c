/* SPDX-License-Identifier: MIT
 *
 * read_batch: the runs of a page read per kind, not per run: the runs'
 * rows, params, tags, latest metrics, dataset inputs, their tags and model
 * inputs each with one statement for all the page's runs (the D_S_BATCH_*
 * entries of dialect.h, which take the run_pks as one bound JSON array),
 * whose rows come in run_pk order and are handed to the runs by a walk
 * over the runs sorted by run_pk. One run (runs/get) reads through the
 * same code with statements.h's S_RUN1_*, which bind its run_pk alone. On
 * PostgreSQL each statement is a round trip, so a page of 100 runs costs 6 or 7
 * of them rather than 600. Within a run every list keeps the order of the
 * per-run reads (key; inputs by their sequence number). store_runs_search,
 * store_run_get and the streamed runs of listsrc.c read through here.
 */
#include "dialect.h"
#include "internal.h"
#include "strbuf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(DIALECT_COUNT <=
                   STORE_REPLICA_STMT_BASE - STORE_DIALECT_STMT_BASE,
               "every dialect entry has a statement slot");

/* One run of the read, in run_pk order. */
struct fill {
    int64_t pk;
    struct run *r;
    size_t at; /* its place in the caller's array */
    size_t cap_params, cap_tags, cap_metrics, cap_inputs, cap_models;
    int64_t *ds_pks;                  /* the dataset_pk of each input */
    size_t cur_input, cap_input_tags; /* the input whose tags come in */
};

/* One kind of read: its statement for several runs (dialect.h) and for
 * one (statements.h). */
struct kind {
    enum dialect_id many;
    enum stmt_id one;
};

static const struct kind K_ROWS = {D_S_BATCH_RUNS, S_RUN1_ROWS},
                         K_PARAMS = {D_S_BATCH_PARAMS, S_RUN1_PARAMS},
                         K_TAGS = {D_S_BATCH_TAGS, S_RUN1_TAGS},
                         K_LATEST = {D_S_BATCH_LATEST, S_RUN1_LATEST},
                         K_DATASETS = {D_S_BATCH_DATASETS, S_RUN1_DATASETS},
                         K_INPUT_TAGS = {D_S_BATCH_INPUT_TAGS,
                                         S_RUN1_INPUT_TAGS},
                         K_MODEL_INPUTS = {D_S_BATCH_MODEL_INPUTS,
                                           S_RUN1_MODEL_INPUTS};

/* The cached statement of 'k' for the 'n' runs 'f[0..n)' ('ids' their
 * JSON array when n > 1), with them bound at 1; NULL when it cannot be
 * prepared. Dialect statements are in the slots from
 * STORE_DIALECT_STMT_BASE by their entry's number, as write_tracking.c's
 * are, so no two share a slot. */
static struct db_stmt *kind_stmt(struct conn *c, const struct kind *k,
                                 const struct fill *f, size_t n,
                                 const struct strbuf *ids)
{
    if (n == 1) {
        struct db_stmt *s = store_stmt(c, k->one);
        if (s)
            db_bind_int64(s, 1, f[0].pk);
        return s;
    }
    struct db_stmt *s =
        store_conn_stmt(c, STORE_DIALECT_STMT_BASE + (unsigned)k->many,
                        dialect_sql(store_conn_db(c), k->many));
    if (s)
        db_bind_text(s, 1, ids->buf, (int)ids->len);
    return s;
}

static int fill_cmp(const void *a, const void *b)
{
    int64_t x = ((const struct fill *)a)->pk, y = ((const struct fill *)b)->pk;
    return (x > y) - (x < y);
}

/* Takes one row (column 0 its run_pk) into 'f'; false when out of
 * memory. */
typedef bool (*batch_row)(struct db_stmt *s, struct fill *f);

static bool kv_push(struct db_stmt *s, int col, struct kv **a, size_t *n,
                    size_t *cap)
{
    struct kv *p = store_grow(*a, *n, cap, sizeof(*p));
    if (!p)
        return false;
    *a = p;
    struct kv *x = &p[(*n)++];
    x->key = store_col_dup(s, col);
    x->value = store_col_dup(s, col + 1);
    return x->key && x->value;
}

static bool param_row(struct db_stmt *s, struct fill *f)
{
    return kv_push(s, 1, &f->r->params, &f->r->n_params, &f->cap_params);
}

static bool tag_row(struct db_stmt *s, struct fill *f)
{
    return kv_push(s, 1, &f->r->tags, &f->r->n_tags, &f->cap_tags);
}

static bool latest_row(struct db_stmt *s, struct fill *f)
{
    struct run *r = f->r;
    struct metric *p =
        store_grow(r->metrics, r->n_metrics, &f->cap_metrics, sizeof(*p));
    if (!p)
        return false;
    r->metrics = p;
    struct metric *m = &p[r->n_metrics++];
    memset(m, 0, sizeof(*m));
    m->key = m->key_storage = store_col_dup(s, 1);
    m->value = (int)db_column_int64(s, 5) ? NAN : db_column_double(s, 2);
    m->timestamp = db_column_int64(s, 3);
    m->step = db_column_int64(s, 4);
    return m->key != NULL;
}

static bool dataset_row(struct db_stmt *s, struct fill *f)
{
    struct run *r = f->r;
    size_t cap = f->cap_inputs;
    struct dataset_input *p =
        store_grow(r->inputs, r->n_inputs, &f->cap_inputs, sizeof(*p));
    if (!p)
        return false;
    r->inputs = p;
    if (f->cap_inputs != cap) {
        int64_t *q = realloc(f->ds_pks, f->cap_inputs * sizeof(*q));
        if (!q)
            return false;
        f->ds_pks = q;
    }
    f->ds_pks[r->n_inputs] = db_column_int64(s, 1);
    struct dataset_input *d = &p[r->n_inputs++];
    memset(d, 0, sizeof(*d));
    d->name = store_col_dup(s, 2);
    d->digest = store_col_dup(s, 3);
    d->source_type = store_col_dup(s, 4);
    d->source = store_col_dup(s, 5);
    d->schema = store_col_dup(s, 6);
    d->profile = store_col_dup(s, 7);
    return d->name && d->digest && d->source_type && d->source &&
           (d->schema || db_column_type(s, 6) == DB_NULL) &&
           (d->profile || db_column_type(s, 7) == DB_NULL);
}

/* Rows come by dataset_pk within a run: the input they belong to is
 * found once per dataset (the run's inputs are in their own order). */
static bool input_tag_row(struct db_stmt *s, struct fill *f)
{
    struct run *r = f->r;
    int64_t ds = db_column_int64(s, 1);
    if (f->cur_input >= r->n_inputs || f->ds_pks[f->cur_input] != ds) {
        size_t j = 0;
        while (j < r->n_inputs && f->ds_pks[j] != ds)
            j++;
        if (j == r->n_inputs)
            return true; /* an input added since its datasets were read */
        f->cur_input = j;
        f->cap_input_tags = r->inputs[j].n_tags;
    }
    struct dataset_input *d = &r->inputs[f->cur_input];
    return kv_push(s, 2, &d->tags, &d->n_tags, &f->cap_input_tags);
}

static bool model_input_row(struct db_stmt *s, struct fill *f)
{
    struct run *r = f->r;
    char **p = store_grow(r->model_inputs, r->n_model_inputs, &f->cap_models,
                          sizeof(*p));
    if (!p)
        return false;
    r->model_inputs = p;
    char *id = store_col_dup(s, 1);
    if (!id)
        return false;
    p[r->n_model_inputs++] = id;
    return true;
}

/* Reads one kind for the runs 'f' (sorted by pk, 'ids' their JSON
 * array): its rows, by run_pk, go to their run through 'from_row'. */
static enum srv_err read_kind(struct conn *c, const struct kind *k,
                              const struct strbuf *ids, struct fill *f,
                              size_t n, batch_row from_row, struct errbuf *eb)
{
    struct db_stmt *s = kind_stmt(c, k, f, n, ids);
    if (!s)
        return store_conn_error(c, eb, "runs read");
    size_t cur = 0;
    enum srv_err e = SRV_OK;
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        int64_t pk = db_column_int64(s, 0);
        while (cur < n && f[cur].pk < pk)
            cur++;
        if (cur == n || f[cur].pk != pk)
            continue; /* not asked (cannot happen) */
        if (!from_row(s, &f[cur])) {
            e = err_set(eb, SRV_E_NOMEM, "out of memory");
            break;
        }
    }
    db_reset(s);
    if (!e && rc != DB_ROW && rc != DB_DONE)
        e = store_conn_error(c, eb, "runs read");
    return e;
}

/* The run_pks of 'f[0..n)' as a JSON array into 'ids' (initialised;
 * the caller cleans it up), when there are several. */
static enum srv_err ids_json(struct strbuf *ids, const struct fill *f, size_t n,
                             struct errbuf *eb)
{
    if (n == 1)
        return SRV_OK;
    strbuf_append_char(ids, '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            strbuf_append_char(ids, ',');
        strbuf_append_i64(ids, f[i].pk);
    }
    strbuf_append_char(ids, ']');
    return ids->oom ? err_set(eb, SRV_E_NOMEM, "out of memory") : SRV_OK;
}

/* Fills the lists of 'f[0..n)' (sorted by pk, their infos read). */
static enum srv_err fill_lists(struct conn *c, struct fill *f, size_t n,
                               struct errbuf *eb)
{
    if (n == 0)
        return SRV_OK;
    struct strbuf ids;
    strbuf_init(&ids);
    enum srv_err e = ids_json(&ids, f, n, eb);
    if (e) {
        strbuf_cleanup(&ids);
        return e;
    }
    if (!(e = read_kind(c, &K_LATEST, &ids, f, n, latest_row, eb)) &&
        !(e = read_kind(c, &K_PARAMS, &ids, f, n, param_row, eb)) &&
        !(e = read_kind(c, &K_TAGS, &ids, f, n, tag_row, eb)) &&
        !(e = read_kind(c, &K_DATASETS, &ids, f, n, dataset_row, eb))) {
        bool inputs = false;
        for (size_t i = 0; i < n && !inputs; i++)
            inputs = f[i].r->n_inputs > 0;
        /* the tags of dataset inputs: only when a run has inputs */
        if (inputs)
            e = read_kind(c, &K_INPUT_TAGS, &ids, f, n, input_tag_row, eb);
        if (!e)
            e = read_kind(c, &K_MODEL_INPUTS, &ids, f, n, model_input_row, eb);
    }
    strbuf_cleanup(&ids);
    return e;
}

static void fills_free(struct fill *f, size_t n)
{
    for (size_t i = 0; f && i < n; i++)
        free(f[i].ds_pks);
    free(f);
}

enum srv_err store_runs_fill(struct conn *c, struct run *runs, size_t n,
                             struct errbuf *eb)
{
    if (n == 0)
        return SRV_OK;
    struct fill *f = calloc(n, sizeof(*f));
    if (!f)
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        f[i].pk = runs[i].run_pk;
        f[i].r = &runs[i];
    }
    qsort(f, n, sizeof(*f), fill_cmp);
    enum srv_err e = fill_lists(c, f, n, eb);
    fills_free(f, n);
    return e;
}

/* Reads the rows of the runs 'f[0..n)' (sorted by pk) into theirs in
 * 'out' and sets their 'found'. */
static enum srv_err read_infos(struct conn *c, struct fill *f, size_t n,
                               struct store_run_read *out, struct errbuf *eb)
{
    struct strbuf ids;
    strbuf_init(&ids);
    enum srv_err e = ids_json(&ids, f, n, eb);
    struct db_stmt *s = e ? NULL : kind_stmt(c, &K_ROWS, f, n, &ids);
    if (!s) {
        strbuf_cleanup(&ids);
        return e ? e : store_conn_error(c, eb, "runs read");
    }
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        struct fill key = {.pk = db_column_int64(s, 0)};
        struct fill *hit = bsearch(&key, f, n, sizeof(*f), fill_cmp);
        if (!hit || out[hit->at].found)
            continue; /* not asked, or asked twice */
        out[hit->at].found = true;
        int64_t chars = db_column_int64(s, 10);
        out[hit->at].chars = chars > 0 ? (size_t)chars : 0;
        if ((e = store_run_from_row(s, hit->r, eb)))
            break;
    }
    db_reset(s);
    strbuf_cleanup(&ids);
    if (!e && rc != DB_ROW && rc != DB_DONE)
        e = store_conn_error(c, eb, "runs read");
    return e;
}

void store_runs_read_free(struct store_run_read *a, size_t n)
{
    for (size_t i = 0; a && i < n; i++)
        run_cleanup(&a[i].run);
}

enum srv_err store_runs_read(struct store *st, const int64_t *pks, size_t n,
                             size_t max_run_chars, size_t max_chars,
                             struct store_run_read *out, struct errbuf *eb)
{
    memset(out, 0, n * sizeof(*out));
    if (n == 0)
        return SRV_OK;
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    struct fill *f = calloc(n, sizeof(*f));
    if (!f)
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        f[i].pk = pks[i];
        f[i].r = &out[i].run;
        f[i].at = i;
    }
    qsort(f, n, sizeof(*f), fill_cmp);
    enum srv_err e = read_infos(c, f, n, out, eb);
    /* the runs whose lists are read, in the caller's order while they fit
     * (a run purged since the search is not found) */
    size_t total = 0;
    for (size_t i = 0; i < n && !e; i++) {
        struct store_run_read *x = &out[i];
        if (x->found && x->chars <= max_run_chars &&
            x->chars <= max_chars - total) {
            x->whole = true;
            total += x->chars;
        }
    }
    size_t m = 0;
    for (size_t i = 0; i < n && !e; i++) {
        if (out[f[i].at].whole)
            f[m++] = f[i];
    }
    if (!e)
        e = fill_lists(c, f, m, eb);
    fills_free(f, m); /* f[m..n) hold no inputs */
    if (e) {
        store_runs_read_free(out, n);
        memset(out, 0, n * sizeof(*out));
    }
    return e;
}
