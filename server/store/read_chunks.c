/* SPDX-License-Identifier: MIT
 *
 * read_chunks: metric history (paged and sampled) and the chunked reads
 * behind streamed replies: params, tags, latest metrics, datasets, model
 * inputs and history, each resumed from a position the caller keeps.
 */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/*---- metric history ----*/

static enum srv_err run_pk_of(struct conn *c, const char *run_id, int64_t *pk,
                              struct errbuf *eb)
{
    struct run_state rs;
    enum srv_err e = store_run_lookup(c, run_id, false, &rs, eb);
    if (!e)
        *pk = rs.run_pk;
    return e;
}

static enum srv_err push_metric(struct metric **out, size_t *n, size_t *cap,
                                const char *key, struct db_stmt *s, int ts_col,
                                int step_col, int val_col, int nan_col,
                                struct errbuf *eb)
{
    struct metric *p = store_grow(*out, *n, cap, sizeof(*p));
    if (!p)
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    *out = p;
    struct metric *m = &(*out)[(*n)++];
    memset(m, 0, sizeof(*m));
    m->key = key; /* borrowed from the caller, as the store.h contract says */
    m->timestamp = db_column_int64(s, ts_col);
    m->step = db_column_int64(s, step_col);
    m->value =
        (int)db_column_int64(s, nan_col) ? NAN : db_column_double(s, val_col);
    return SRV_OK;
}

enum srv_err store_metric_history(struct store *st, const char *run_id,
                                  const char *key, int64_t offset,
                                  int64_t limit, struct metric **out, size_t *n,
                                  bool *more, struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    *more = false;
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    int64_t pk = 0;
    enum srv_err e = run_pk_of(c, run_id, &pk, eb);
    if (e)
        return e;
    struct db_stmt *s = store_stmt(c, S_HISTORY);
    if (!s)
        return store_conn_error(c, eb, "history");
    db_bind_int64(s, 1, pk);
    db_bind_text(s, 2, key, -1);
    db_bind_int64(s, 3, limit < 0 ? -1 : limit + 1);
    db_bind_int64(s, 4, offset);
    size_t cap = 0;
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        if (limit >= 0 && *n == (size_t)limit) {
            *more = true;
            break;
        }
        if ((e = push_metric(out, n, &cap, key, s, 0, 1, 2, 3, eb)))
            break;
    }
    db_reset(s);
    if (!e && rc != DB_ROW && rc != DB_DONE)
        e = store_conn_error(c, eb, "history");
    if (e) {
        metric_array_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}

enum srv_err store_metric_history_sampled(
    struct store *st, const char *const *run_ids, size_t n_runs,
    const char *key, bool has_range, int64_t start_step, int64_t end_step,
    int64_t max_results, struct metric **out, size_t *n, struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    size_t cap = 0;
    enum srv_err e = SRV_OK;
    for (size_t r = 0; r < n_runs && !e; r++) {
        int64_t pk = 0;
        if ((e = run_pk_of(c, run_ids[r], &pk, eb)))
            break;
        struct db_stmt *s = store_stmt(c, S_HISTORY_BY_STEP);
        if (!s) {
            e = store_conn_error(c, eb, "history");
            break;
        }
        db_bind_int64(s, 1, pk);
        db_bind_text(s, 2, key, -1);
        db_bind_int64(s, 3, has_range ? start_step : INT64_MIN);
        db_bind_int64(s, 4, has_range ? end_step : INT64_MAX);
        /* Read this run's points (ordered by step), then keep those whose
         * step is one of 'max_results' steps spread evenly. */
        size_t first = *n;
        int rc;
        while ((rc = db_step(s)) == DB_ROW) {
            if ((e = push_metric(out, n, &cap, key, s, 1, 0, 2, 3, eb)))
                break;
            (*out)[*n - 1].run_id = run_ids[r];
        }
        db_reset(s);
        if (!e && rc != DB_DONE && rc != DB_ROW)
            e = store_conn_error(c, eb, "history");
        if (e)
            break;
        size_t distinct = 0;
        for (size_t i = first; i < *n; i++)
            distinct += i == first || (*out)[i].step != (*out)[i - 1].step;
        if (distinct <= (size_t)max_results)
            continue;
        /* Step index k is kept when it is round(j * (distinct-1) /
         * (max-1)) for some j: the first and last are always kept. */
        size_t keep_to = first, k = 0, j = 0;
        size_t m = (size_t)max_results;
        for (size_t i = first; i < *n; i++) {
            if (i > first && (*out)[i].step != (*out)[i - 1].step)
                k++;
            while (m > 1 && j < m &&
                   (j * (distinct - 1) + (m - 1) / 2) / (m - 1) < k)
                j++;
            bool keep =
                m == 1 ? k == 0
                       : (j < m &&
                          (j * (distinct - 1) + (m - 1) / 2) / (m - 1) == k);
            if (keep)
                (*out)[keep_to++] = (*out)[i];
        }
        *n = keep_to;
    }
    if (e) {
        metric_array_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}

/*---- chunked reads (streamed replies) ----*/

/* Binds a text keyset position at 'pos': after 'key', or '' from the
 * start. The statements compare with >=, so "after" is the key's
 * immediate successor in byte order: the key plus the byte 0x01, as keys
 * hold no NUL (which PostgreSQL refuses in text besides). Returns false
 * when out of memory. */
static bool bind_after(struct db_stmt *s, int pos, const char *key)
{
    if (!key)
        return db_bind_text(s, pos, "", 0) == DB_OK;
    size_t len = strlen(key);
    char *next = malloc(len + 2);
    if (!next)
        return false;
    memcpy(next, key, len);
    next[len] = '\x01';
    next[len + 1] = '\0';
    int rc = db_bind_text(s, pos, next, (int)len + 1);
    free(next);
    return rc == DB_OK;
}

/* Text bytes of the row's columns [0, cols). */
static size_t row_bytes(struct db_stmt *s, int cols)
{
    size_t n = 0;
    for (int i = 0; i < cols; i++)
        n += (size_t)db_column_bytes(s, i);
    return n;
}

/* After a chunk's rows: resets 's', and '*end' when it had no more rows
 * (rc is the last step's result). */
static enum srv_err chunk_done(struct conn *c, struct db_stmt *s, int rc,
                               bool *end, struct errbuf *eb)
{
    db_reset(s);
    *end = rc == DB_DONE;
    if (rc != DB_DONE && rc != DB_ROW)
        return store_conn_error(c, eb, "read");
    return SRV_OK;
}

enum srv_err store_run_pk(struct store *st, const char *run_id, int64_t *pk,
                          struct errbuf *eb)
{
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    return run_pk_of(c, run_id, pk, eb);
}

/* Fills a chunk's zeroed 'item' from the statement's row and adds the
 * row's weight to '*bytes'; false when out of memory. */
typedef bool (*chunk_row)(struct db_stmt *s, void *item, void *ctx,
                          size_t *bytes);

/* Steps 's' into an array of 'elem'-sized items, filled by 'from_row',
 * until the rows read weigh 'max_bytes' (at least one row), then resets
 * 's' and sets '*end' when it had no more rows. Leaves the array (with
 * '*n' items, also on error, for the caller to free) in '*out'. */
static enum srv_err read_chunk(struct conn *c, struct db_stmt *s,
                               size_t max_bytes, size_t elem,
                               chunk_row from_row, void *ctx, void **out,
                               size_t *n, bool *end, struct errbuf *eb)
{
    char *arr = NULL;
    size_t cap = 0, bytes = 0;
    int rc = DB_ROW;
    enum srv_err e = SRV_OK;
    while ((*n == 0 || bytes < max_bytes) && (rc = db_step(s)) == DB_ROW) {
        char *p = store_grow(arr, *n, &cap, elem);
        if (!p) {
            e = err_set(eb, SRV_E_NOMEM, "out of memory");
            break;
        }
        arr = p;
        void *item = arr + *n * elem;
        memset(item, 0, elem);
        (*n)++;
        if (!from_row(s, item, ctx, &bytes)) {
            e = err_set(eb, SRV_E_NOMEM, "out of memory");
            break;
        }
    }
    *out = arr;
    if (!e)
        e = chunk_done(c, s, rc, end, eb);
    else
        db_reset(s);
    return e;
}

static bool kv_chunk_row(struct db_stmt *s, void *item, void *ctx,
                         size_t *bytes)
{
    (void)ctx;
    struct kv *x = item;
    x->key = store_col_dup(s, 0);
    x->value = store_col_dup(s, 1);
    *bytes += row_bytes(s, 2);
    return x->key && x->value;
}

enum srv_err store_kv_chunk(struct store *st, enum store_kv_list list,
                            int64_t owner, int64_t dataset_pk,
                            const char *after, size_t max_bytes,
                            struct kv **out, size_t *n, bool *end,
                            struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    *end = true;
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    static const enum stmt_id ids[] = {
        [STORE_KV_PARAMS] = S_CHUNK_PARAMS,
        [STORE_KV_TAGS] = S_CHUNK_TAGS,
        [STORE_KV_EXPERIMENT_TAGS] = S_CHUNK_EXP_TAGS,
        [STORE_KV_INPUT_TAGS] = S_CHUNK_INPUT_TAGS,
    };
    struct db_stmt *s = store_stmt(c, ids[list]);
    if (!s)
        return store_conn_error(c, eb, "read");
    db_bind_int64(s, 1, owner);
    if (!bind_after(s, 2, after))
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    if (list == STORE_KV_INPUT_TAGS)
        db_bind_int64(s, 3, dataset_pk);
    void *arr;
    enum srv_err e = read_chunk(c, s, max_bytes, sizeof(**out), kv_chunk_row,
                                NULL, &arr, n, end, eb);
    *out = arr;
    if (e) {
        kv_array_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}

static bool latest_chunk_row(struct db_stmt *s, void *item, void *ctx,
                             size_t *bytes)
{
    (void)ctx;
    struct metric *m = item;
    m->key = m->key_storage = store_col_dup(s, 0);
    m->value = (int)db_column_int64(s, 4) ? NAN : db_column_double(s, 1);
    m->timestamp = db_column_int64(s, 2);
    m->step = db_column_int64(s, 3);
    *bytes += row_bytes(s, 1) + 48;
    return m->key != NULL;
}

enum srv_err store_latest_chunk(struct store *st, int64_t run_pk,
                                const char *after, size_t max_bytes,
                                struct metric **out, size_t *n, bool *end,
                                struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    *end = true;
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    struct db_stmt *s = store_stmt(c, S_CHUNK_LATEST);
    if (!s)
        return store_conn_error(c, eb, "latest metrics");
    db_bind_int64(s, 1, run_pk);
    if (!bind_after(s, 2, after))
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    void *arr;
    enum srv_err e = read_chunk(c, s, max_bytes, sizeof(**out),
                                latest_chunk_row, NULL, &arr, n, end, eb);
    *out = arr;
    if (e) {
        metric_array_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}

void store_datasets_free(struct store_dataset *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct dataset_input *d = &a[i].in;
        free(d->name);
        free(d->digest);
        free(d->source_type);
        free(d->source);
        free(d->schema);
        free(d->profile);
        kv_array_free(d->tags, d->n_tags);
    }
    free(a);
}

static bool dataset_chunk_row(struct db_stmt *s, void *item, void *ctx,
                              size_t *bytes)
{
    (void)ctx;
    struct store_dataset *x = item;
    x->dataset_pk = db_column_int64(s, 0);
    x->in.name = store_col_dup(s, 1);
    x->in.digest = store_col_dup(s, 2);
    x->in.source_type = store_col_dup(s, 3);
    x->in.source = store_col_dup(s, 4);
    x->in.schema = store_col_dup(s, 5);
    x->in.profile = store_col_dup(s, 6);
    x->seq = db_column_int64(s, 7);
    *bytes += row_bytes(s, 7);
    return x->in.name && x->in.digest && x->in.source_type && x->in.source;
}

enum srv_err store_datasets_chunk(struct store *st, int64_t run_pk,
                                  int64_t after_seq, size_t max_bytes,
                                  struct store_dataset **out, size_t *n,
                                  bool *end, struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    *end = true;
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    struct db_stmt *s = store_stmt(c, S_CHUNK_DATASETS);
    if (!s)
        return store_conn_error(c, eb, "inputs");
    db_bind_int64(s, 1, run_pk);
    db_bind_int64(s, 2, after_seq);
    void *arr;
    enum srv_err e = read_chunk(c, s, max_bytes, sizeof(**out),
                                dataset_chunk_row, NULL, &arr, n, end, eb);
    *out = arr;
    if (e) {
        store_datasets_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}

/* ctx: the int64_t that takes the last row's sequence number. */
static bool model_input_chunk_row(struct db_stmt *s, void *item, void *ctx,
                                  size_t *bytes)
{
    char **id = item;
    if (!(*id = store_col_dup(s, 0)))
        return false;
    *(int64_t *)ctx = db_column_int64(s, 1);
    *bytes += row_bytes(s, 1);
    return true;
}

enum srv_err store_model_inputs_chunk(struct store *st, int64_t run_pk,
                                      int64_t after_seq, size_t max_bytes,
                                      char ***ids, size_t *n, int64_t *last_seq,
                                      bool *end, struct errbuf *eb)
{
    *ids = NULL;
    *n = 0;
    *end = true;
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    struct db_stmt *s = store_stmt(c, S_CHUNK_MODEL_INPUTS);
    if (!s)
        return store_conn_error(c, eb, "model inputs");
    db_bind_int64(s, 1, run_pk);
    db_bind_int64(s, 2, after_seq);
    void *arr;
    enum srv_err e =
        read_chunk(c, s, max_bytes, sizeof(**ids), model_input_chunk_row,
                   last_seq, &arr, n, end, eb);
    *ids = arr;
    if (e) {
        for (size_t i = 0; i < *n; i++)
            free((*ids)[i]);
        free(*ids);
        *ids = NULL;
        *n = 0;
    }
    return e;
}

enum srv_err store_history_chunk(struct store *st, int64_t run_pk,
                                 const char *key, int64_t offset,
                                 const struct store_point *after,
                                 size_t max_rows, struct metric **out,
                                 size_t *n, bool *end, struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    *end = true;
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    struct db_stmt *s =
        store_stmt(c, after ? S_CHUNK_HISTORY_AFTER : S_CHUNK_HISTORY_FROM);
    if (!s)
        return store_conn_error(c, eb, "history");
    db_bind_int64(s, 1, run_pk);
    db_bind_text(s, 2, key, -1);
    db_bind_int64(s, 3, (int64_t)max_rows + 1);
    if (after) {
        db_bind_int64(s, 4, after->timestamp);
        db_bind_int64(s, 5, after->step);
        db_bind_double(s, 6, after->value);
        db_bind_int64(s, 7, after->is_nan);
    } else {
        db_bind_int64(s, 4, offset);
    }
    size_t cap = 0;
    int rc;
    enum srv_err e = SRV_OK;
    while ((rc = db_step(s)) == DB_ROW) {
        if (*n == max_rows)
            break;
        if ((e = push_metric(out, n, &cap, key, s, 0, 1, 2, 3, eb)))
            break;
    }
    if (!e)
        e = chunk_done(c, s, rc, end, eb);
    else
        db_reset(s);
    if (e) {
        metric_array_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}

void store_point_of(const struct metric *m, struct store_point *out)
{
    out->timestamp = m->timestamp;
    out->step = m->step;
    out->is_nan = isnan(m->value);
    out->value = out->is_nan ? 0 : m->value;
}
