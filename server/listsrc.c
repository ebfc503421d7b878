/* SPDX-License-Identifier: MIT
 *
 * listsrc: the pager sources (see listsrc.h). Runs are read RUNS_BATCH at
 * a time, each kind of list with one statement for all of them
 * (store_runs_read), and a run read whole is rendered by render_run. A
 * run whose lists are too large for that is written section by section
 * (info, then "data": metrics, params, tags, then "inputs": dataset inputs
 * with their tags, model inputs), each section read in chunks of about
 * CHUNK_BYTES that resume after the last key or sequence number read, so
 * the output is render_run's, byte for byte, while no more than a chunk
 * of such a run is in memory.
 */
#include "listsrc.h"

#include "greenai_report.h"
#include "render.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Text read from the store per chunk. */
#define CHUNK_BYTES (32 * 1024)
/* Rows per chunk of fixed-size rows (history points, samples). */
#define CHUNK_ROWS 512
/* Runs read together, and the characters of their lists read whole at
 * most: in all, and per run (the others are read chunk by chunk). */
#define RUNS_BATCH 100
#define BATCH_CHARS (512 * 1024)
#define RUN_WHOLE_CHARS (64 * 1024)

/*---- runs ----*/

enum run_sec {
    RS_INFO,
    RS_METRICS,
    RS_PARAMS,
    RS_TAGS,
    RS_DATASETS,
    RS_MODELS,
    RS_END
};

struct runs_src {
    struct store *st;
    int64_t *pks;
    size_t n, next;
    struct store_run_read *batch; /* runs read, from pks[next - n_batch] */
    size_t n_batch, batch_at;
    struct run info; /* the current run's info */
    bool whole;      /* ... and its lists, to render whole */
    /* position in the current run */
    enum run_sec sec;
    char *after;              /* the last key read in a keyed section */
    bool sec_open;            /* the section's "key":[ is out */
    bool members;             /* "data":{ or "inputs":{ has a member */
    int64_t seq;              /* the last dataset or model input read */
    struct store_dataset *ds; /* a chunk of datasets */
    size_t n_ds, ds_i;
    bool ds_end;    /* no chunk after this one */
    bool ds_open;   /* the current dataset's "{" is out */
    bool tags_open; /* ... and its "tags":[ */
    bool tags_done;
};

static void runs_item_reset(struct runs_src *x)
{
    free(x->after);
    x->after = NULL;
    store_datasets_free(x->ds, x->n_ds);
    x->ds = NULL;
    x->n_ds = x->ds_i = 0;
    x->ds_end = x->ds_open = x->tags_open = x->tags_done = false;
    x->sec = RS_INFO;
    x->sec_open = x->members = false;
    x->seq = -1;
}

static void runs_src_free(void *p)
{
    struct runs_src *x = p;
    if (!x)
        return;
    runs_item_reset(x);
    run_cleanup(&x->info);
    store_runs_read_free(x->batch, x->n_batch);
    free(x->batch);
    free(x->pks);
    free(x);
}

void *listsrc_runs_new(struct store *st, int64_t *pks, size_t n)
{
    struct runs_src *x = calloc(1, sizeof(*x));
    if (!x) {
        free(pks);
        return NULL;
    }
    x->st = st;
    x->pks = pks;
    x->n = n;
    x->seq = -1;
    return x;
}

/* Reads the next RUNS_BATCH runs of the list, or RUNS_BATCH + 1 when
 * that leaves one: a search's list holds one run more than its page (the
 * pager's sign of a next page), which costs no round trips of its own. */
static enum srv_err runs_batch(struct runs_src *x, struct errbuf *eb)
{
    store_runs_read_free(x->batch, x->n_batch);
    x->n_batch = x->batch_at = 0;
    size_t n = x->n - x->next;
    if (n > RUNS_BATCH + 1)
        n = RUNS_BATCH;
    /* room for every batch: a list of one run (runs/get) gets one */
    size_t cap = x->n < RUNS_BATCH + 1 ? x->n : RUNS_BATCH + 1;
    if (!x->batch && !(x->batch = calloc(cap, sizeof(*x->batch))))
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    enum srv_err e = store_runs_read(
        x->st, x->pks + x->next, n, RUN_WHOLE_CHARS, BATCH_CHARS, x->batch, eb);
    if (e)
        return e;
    x->n_batch = n;
    x->next += n;
    return SRV_OK;
}

static enum srv_err runs_next(void *p, bool *have, struct errbuf *eb)
{
    struct runs_src *x = p;
    runs_item_reset(x);
    run_cleanup(&x->info);
    *have = false;
    for (;;) {
        if (x->batch_at == x->n_batch) {
            if (x->next == x->n)
                return SRV_OK;
            enum srv_err e = runs_batch(x, eb);
            if (e)
                return e;
        }
        struct store_run_read *r = &x->batch[x->batch_at++];
        if (!r->found)
            continue;     /* purged since the search */
        x->info = r->run; /* taken over */
        memset(&r->run, 0, sizeof(r->run));
        x->whole = r->whole;
        *have = true;
        return SRV_OK;
    }
}

static void runs_restart(void *p)
{
    runs_item_reset(p);
}

/* Opens list 'key' ("key":[, after a comma unless 'first') and sets
 * '*open' or, when '*open', writes the comma between two chunks of it. */
static void list_sep(struct strbuf *out, const char *key, bool first,
                     bool *open)
{
    if (*open) {
        strbuf_append_char(out, ',');
        return;
    }
    render_key(out, key, first);
    strbuf_append_char(out, '[');
    *open = true;
}

/* Reads the chunk of key-value list 'list' (of 'owner' and, for input
 * tags, dataset 'dataset_pk') after '*after' and appends its items to
 * list 'key' of 'out' (see list_sep); '*after' moves to the chunk's last
 * key, and '*end' tells that the list has no more. */
static enum srv_err kv_list_chunk(struct store *st, enum store_kv_list list,
                                  int64_t owner, int64_t dataset_pk,
                                  char **after, struct strbuf *out,
                                  const char *key, bool first, bool *open,
                                  bool *end, struct errbuf *eb)
{
    struct kv *a;
    size_t n;
    enum srv_err e = store_kv_chunk(st, list, owner, dataset_pk, *after,
                                    CHUNK_BYTES, &a, &n, end, eb);
    if (e)
        return e;
    if (n) {
        list_sep(out, key, first, open);
        render_kv_items(out, a, n);
        free(*after);
        *after = strdup(a[n - 1].key);
    }
    kv_array_free(a, n);
    if (n && !*after)
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    return SRV_OK;
}

/* Opens list 'key' of the current object ("data" or "inputs") or writes
 * the comma between two chunks of it. */
static void sec_sep(struct runs_src *x, struct strbuf *out, const char *key)
{
    list_sep(out, key, !x->members, &x->sec_open);
    x->members = true;
}

/* Ends the current keyed section; 'next' follows. */
static void sec_end(struct runs_src *x, struct strbuf *out, enum run_sec next)
{
    if (x->sec_open)
        strbuf_append_char(out, ']');
    x->sec_open = false;
    free(x->after);
    x->after = NULL;
    x->sec = next;
}

static enum srv_err run_metrics(struct runs_src *x, struct strbuf *out,
                                struct errbuf *eb)
{
    struct metric *m;
    size_t n;
    bool end;
    enum srv_err e = store_latest_chunk(x->st, x->info.run_pk, x->after,
                                        CHUNK_BYTES, &m, &n, &end, eb);
    if (e)
        return e;
    if (n) {
        sec_sep(x, out, "metrics");
        for (size_t i = 0; i < n; i++) {
            if (i)
                strbuf_append_char(out, ',');
            render_metric(out, &m[i], false);
        }
        free(x->after);
        x->after = strdup(m[n - 1].key);
    }
    metric_array_free(m, n);
    if (n && !x->after)
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    if (end)
        sec_end(x, out, RS_PARAMS);
    return SRV_OK;
}

static enum srv_err run_kvs(struct runs_src *x, struct strbuf *out,
                            enum store_kv_list list, const char *key,
                            enum run_sec next, struct errbuf *eb)
{
    bool end;
    enum srv_err e =
        kv_list_chunk(x->st, list, x->info.run_pk, 0, &x->after, out, key,
                      !x->members, &x->sec_open, &end, eb);
    if (e)
        return e;
    if (x->sec_open)
        x->members = true;
    if (end)
        sec_end(x, out, next);
    return SRV_OK;
}

/* One step through the dataset inputs: the next chunk of datasets, the
 * next chunk of the current dataset's tags, or the dataset itself. */
static enum srv_err run_datasets(struct runs_src *x, struct strbuf *out,
                                 struct errbuf *eb)
{
    if (x->ds_i == x->n_ds) {
        store_datasets_free(x->ds, x->n_ds);
        x->ds = NULL;
        x->n_ds = x->ds_i = 0;
        if (x->ds_end) {
            if (x->sec_open)
                strbuf_append_char(out, ']');
            x->sec_open = false;
            x->seq = -1;
            x->sec = RS_MODELS;
            return SRV_OK;
        }
        return store_datasets_chunk(x->st, x->info.run_pk, x->seq, CHUNK_BYTES,
                                    &x->ds, &x->n_ds, &x->ds_end, eb);
    }
    struct store_dataset *d = &x->ds[x->ds_i];
    if (!x->ds_open) {
        sec_sep(x, out, "dataset_inputs");
        strbuf_append_char(out, '{');
        x->ds_open = true;
    }
    if (!x->tags_done) {
        bool end;
        enum srv_err e;
        if ((e = kv_list_chunk(x->st, STORE_KV_INPUT_TAGS, x->info.run_pk,
                               d->dataset_pk, &x->after, out, "tags", true,
                               &x->tags_open, &end, eb)))
            return e;
        if (end) {
            if (x->tags_open)
                strbuf_append_char(out, ']');
            x->tags_done = true;
        }
        return SRV_OK;
    }
    render_key(out, "dataset", !x->tags_open);
    render_dataset(out, &d->in);
    strbuf_append_char(out, '}');
    x->seq = d->seq;
    x->ds_i++;
    x->ds_open = x->tags_open = x->tags_done = false;
    free(x->after);
    x->after = NULL;
    return SRV_OK;
}

static enum srv_err run_models(struct runs_src *x, struct strbuf *out,
                               bool *complete, struct errbuf *eb)
{
    char **ids;
    size_t n;
    bool end;
    int64_t last = x->seq;
    enum srv_err e = store_model_inputs_chunk(
        x->st, x->info.run_pk, x->seq, CHUNK_BYTES, &ids, &n, &last, &end, eb);
    if (e)
        return e;
    if (n)
        sec_sep(x, out, "model_inputs");
    for (size_t i = 0; i < n; i++) {
        if (i)
            strbuf_append_char(out, ',');
        strbuf_append_char(out, '{');
        render_str_field(out, "model_id", ids[i], true);
        strbuf_append_char(out, '}');
        free(ids[i]);
    }
    free(ids);
    x->seq = last;
    if (end) {
        if (x->sec_open)
            strbuf_append_char(out, ']');
        x->sec_open = false;
        strbuf_append_str(out, "}}"); /* inputs, run */
        x->sec = RS_END;
        *complete = true;
    }
    return SRV_OK;
}

static enum srv_err runs_piece(void *p, struct strbuf *out, size_t hint,
                               bool *complete, struct errbuf *eb)
{
    struct runs_src *x = p;
    size_t start = out->len;
    enum srv_err e = SRV_OK;
    *complete = false;
    if (x->whole) { /* read with its batch: in one piece */
        render_run(out, &x->info);
        *complete = true;
        return SRV_OK;
    }
    while (!e && !*complete && out->len - start < hint) {
        switch (x->sec) {
        case RS_INFO:
            strbuf_append_str(out, "{\"info\":");
            render_run_info(out, &x->info);
            strbuf_append_str(out, ",\"data\":{");
            x->members = false;
            x->sec = RS_METRICS;
            break;
        case RS_METRICS:
            e = run_metrics(x, out, eb);
            break;
        case RS_PARAMS:
            e = run_kvs(x, out, STORE_KV_PARAMS, "params", RS_TAGS, eb);
            break;
        case RS_TAGS:
            e = run_kvs(x, out, STORE_KV_TAGS, "tags", RS_DATASETS, eb);
            if (!e && x->sec == RS_DATASETS) {
                strbuf_append_str(out, "},\"inputs\":{");
                x->members = false;
                x->seq = -1;
            }
            break;
        case RS_DATASETS:
            e = run_datasets(x, out, eb);
            break;
        case RS_MODELS:
            e = run_models(x, out, complete, eb);
            break;
        case RS_END:
            *complete = true;
            break;
        }
    }
    return e;
}

const struct pager_source listsrc_runs_ops = {
    .next_item = runs_next,
    .piece = runs_piece,
    .restart = runs_restart,
    .free = runs_src_free,
};

/*---- experiments ----*/

#define EXP_BATCH 1000

struct exps_src {
    struct store *st;
    int64_t *ids;
    size_t n, next;
    bool all;            /* experiments/list: ids come in batches */
    enum view_type view; /* ... of this view */
    int64_t taken;       /* ids read so far (the next batch's offset) */
    bool all_end;        /* no batch after this one */
    struct experiment info;
    bool head_done, tags_open, tags_done;
    char *after;
};

static void exps_item_reset(struct exps_src *x)
{
    x->head_done = x->tags_open = x->tags_done = false;
    free(x->after);
    x->after = NULL;
}

static void exps_free(void *p)
{
    struct exps_src *x = p;
    if (!x)
        return;
    exps_item_reset(x);
    experiment_cleanup(&x->info);
    free(x->ids);
    free(x);
}

void *listsrc_experiments_new(struct store *st, int64_t *ids, size_t n)
{
    struct exps_src *x = calloc(1, sizeof(*x));
    if (!x) {
        free(ids);
        return NULL;
    }
    x->st = st;
    x->ids = ids;
    x->n = n;
    return x;
}

void *listsrc_experiments_all_new(struct store *st, enum view_type view)
{
    struct exps_src *x = listsrc_experiments_new(st, NULL, 0);
    if (x) {
        x->all = true;
        x->view = view;
    }
    return x;
}

/* experiments/list: the next batch of ids once this one is used up. */
static enum srv_err exps_batch(struct exps_src *x, struct errbuf *eb)
{
    if (!x->all || x->next < x->n || x->all_end)
        return SRV_OK;
    free(x->ids);
    x->ids = NULL;
    x->n = x->next = 0;
    struct search_args a = {
        .view = x->view, .max_results = EXP_BATCH, .offset = x->taken};
    enum srv_err e =
        store_experiments_search_ids(x->st, &a, &x->ids, &x->n, eb);
    if (e)
        return e;
    if (x->n <= EXP_BATCH)
        x->all_end = true;
    else
        x->n = EXP_BATCH;
    x->taken += (int64_t)x->n;
    return SRV_OK;
}

static enum srv_err exps_next(void *p, bool *have, struct errbuf *eb)
{
    struct exps_src *x = p;
    exps_item_reset(x);
    experiment_cleanup(&x->info);
    *have = false;
    for (;;) {
        enum srv_err e = exps_batch(x, eb);
        if (e)
            return e;
        if (x->next >= x->n)
            return SRV_OK;
        e = store_experiment_info(x->st, x->ids[x->next++], &x->info, eb);
        if (e == SRV_E_RESOURCE_DOES_NOT_EXIST)
            continue;
        if (e)
            return e;
        *have = true;
        return SRV_OK;
    }
}

static void exps_restart(void *p)
{
    exps_item_reset(p);
}

static enum srv_err exps_piece(void *p, struct strbuf *out, size_t hint,
                               bool *complete, struct errbuf *eb)
{
    struct exps_src *x = p;
    size_t start = out->len;
    *complete = false;
    if (!x->head_done) {
        render_experiment_open(out, &x->info);
        x->head_done = true;
    }
    while (!x->tags_done && out->len - start < hint) {
        bool end;
        enum srv_err e = kv_list_chunk(x->st, STORE_KV_EXPERIMENT_TAGS,
                                       x->info.experiment_id, 0, &x->after, out,
                                       "tags", false, &x->tags_open, &end, eb);
        if (e)
            return e;
        if (end) {
            if (x->tags_open)
                strbuf_append_char(out, ']');
            x->tags_done = true;
        }
    }
    if (x->tags_done) {
        strbuf_append_char(out, '}');
        *complete = true;
    }
    return SRV_OK;
}

const struct pager_source listsrc_experiments_ops = {
    .next_item = exps_next,
    .piece = exps_piece,
    .restart = exps_restart,
    .free = exps_free,
};

/*---- metric points ----*/

/* Appends point 'm' as render_metric does, with the key's escaped
 * opening ("{\"key\":\"k\",\"value\":") in 'head'. */
static void point(struct strbuf *out, const struct strbuf *head,
                  const struct metric *m, const char *run_id)
{
    strbuf_append(out, head->buf, head->len);
    strbuf_append_json_double(out, m->value);
    strbuf_append(out, ",\"timestamp\":", 13);
    strbuf_append_i64(out, m->timestamp);
    strbuf_append(out, ",\"step\":", 8);
    strbuf_append_i64(out, m->step);
    if (run_id)
        render_str_field(out, "run_id", run_id, false);
    strbuf_append_char(out, '}');
}

static void key_head(struct strbuf *head, const char *key)
{
    strbuf_init(head);
    strbuf_append_str(head, "{\"key\":");
    strbuf_append_json_str(head, key, strlen(key));
    strbuf_append_str(head, ",\"value\":");
}

struct history_src {
    struct store *st;
    int64_t run_pk, offset;
    char *key;
    struct strbuf head;
    struct metric *m;
    size_t n, cur; /* m[cur - 1] is the current point; 0: none yet */
    bool end, started;
};

static void history_free(void *p)
{
    struct history_src *x = p;
    if (!x)
        return;
    metric_array_free(x->m, x->n);
    strbuf_cleanup(&x->head);
    free(x->key);
    free(x);
}

void *listsrc_history_new(struct store *st, int64_t run_pk, const char *key,
                          int64_t offset)
{
    struct history_src *x = calloc(1, sizeof(*x));
    if (!x)
        return NULL;
    x->st = st;
    x->run_pk = run_pk;
    x->offset = offset;
    x->key = strdup(key);
    key_head(&x->head, key);
    if (!x->key || x->head.oom) {
        history_free(x);
        return NULL;
    }
    return x;
}

static enum srv_err history_next(void *p, bool *have, struct errbuf *eb)
{
    struct history_src *x = p;
    *have = false;
    if (x->cur < x->n) {
        x->cur++;
        *have = true;
        return SRV_OK;
    }
    if (x->started && x->end)
        return SRV_OK;
    struct store_point after;
    bool resume = x->n > 0;
    if (resume)
        store_point_of(&x->m[x->n - 1], &after);
    metric_array_free(x->m, x->n);
    x->m = NULL;
    x->n = x->cur = 0;
    enum srv_err e = store_history_chunk(x->st, x->run_pk, x->key, x->offset,
                                         resume ? &after : NULL, CHUNK_ROWS,
                                         &x->m, &x->n, &x->end, eb);
    if (e)
        return e;
    x->started = true;
    if (x->n) {
        x->cur = 1;
        *have = true;
    }
    return SRV_OK;
}

static enum srv_err history_piece(void *p, struct strbuf *out, size_t hint,
                                  bool *complete, struct errbuf *eb)
{
    (void)hint;
    (void)eb;
    struct history_src *x = p;
    point(out, &x->head, &x->m[x->cur - 1], NULL);
    *complete = true;
    return SRV_OK;
}

const struct pager_source listsrc_history_ops = {
    .next_item = history_next,
    .piece = history_piece,
    .free = history_free,
};

/*---- sampled histories of several runs (get-history-bulk-interval) ----*/

struct sampled_src {
    struct store *st;
    char **run_ids;
    size_t n_runs, run; /* the next run to read */
    char *key;
    struct strbuf head;
    bool has_range;
    int64_t start_step, end_step, max_per_run;
    struct metric *m;
    size_t n, cur;
    const char *cur_run;
};

static void sampled_free(void *p)
{
    struct sampled_src *x = p;
    if (!x)
        return;
    for (size_t i = 0; i < x->n_runs; i++)
        free(x->run_ids[i]);
    free(x->run_ids);
    metric_array_free(x->m, x->n);
    strbuf_cleanup(&x->head);
    free(x->key);
    free(x);
}

void *listsrc_sampled_new(struct store *st, const char *const *run_ids,
                          size_t n, const char *key, bool has_range,
                          int64_t start_step, int64_t end_step,
                          int64_t max_per_run)
{
    struct sampled_src *x = calloc(1, sizeof(*x));
    if (!x)
        return NULL;
    x->st = st;
    x->run_ids = calloc(n ? n : 1, sizeof(*x->run_ids));
    x->key = strdup(key);
    key_head(&x->head, key);
    x->has_range = has_range;
    x->start_step = start_step;
    x->end_step = end_step;
    x->max_per_run = max_per_run;
    bool ok = x->run_ids && x->key && !x->head.oom;
    for (size_t i = 0; ok && i < n; i++) {
        if (!(x->run_ids[i] = strdup(run_ids[i])))
            ok = false;
        else
            x->n_runs++;
    }
    if (!ok) {
        sampled_free(x);
        return NULL;
    }
    return x;
}

static enum srv_err sampled_next(void *p, bool *have, struct errbuf *eb)
{
    struct sampled_src *x = p;
    *have = false;
    if (x->cur < x->n) {
        x->cur++;
        *have = true;
        return SRV_OK;
    }
    while (x->run < x->n_runs) {
        metric_array_free(x->m, x->n);
        x->m = NULL;
        x->n = x->cur = 0;
        const char *id = x->run_ids[x->run++];
        const char *one[1] = {id};
        enum srv_err e = store_metric_history_sampled(
            x->st, one, 1, x->key, x->has_range, x->start_step, x->end_step,
            x->max_per_run, &x->m, &x->n, eb);
        if (e)
            return e;
        if (x->n == 0)
            continue;
        /* keep only what is kept: the read held every point in range */
        struct metric *fit = realloc(x->m, x->n * sizeof(*fit));
        if (fit)
            x->m = fit;
        x->cur_run = id;
        x->cur = 1;
        *have = true;
        return SRV_OK;
    }
    return SRV_OK;
}

static enum srv_err sampled_piece(void *p, struct strbuf *out, size_t hint,
                                  bool *complete, struct errbuf *eb)
{
    (void)hint;
    (void)eb;
    struct sampled_src *x = p;
    point(out, &x->head, &x->m[x->cur - 1], x->cur_run);
    *complete = true;
    return SRV_OK;
}

const struct pager_source listsrc_sampled_ops = {
    .next_item = sampled_next,
    .piece = sampled_piece,
    .free = sampled_free,
};

/*---- energy samples ----*/

struct energy_src {
    struct store *st;
    int64_t run_pk, offset;
    struct energy_sample *a;
    size_t n, cur;
    bool end, started;
};

static void energy_free(void *p)
{
    struct energy_src *x = p;
    if (!x)
        return;
    energy_samples_free(x->a, x->n);
    free(x);
}

void *listsrc_energy_new(struct store *st, int64_t run_pk, int64_t offset)
{
    struct energy_src *x = calloc(1, sizeof(*x));
    if (x) {
        x->st = st;
        x->run_pk = run_pk;
        x->offset = offset;
    }
    return x;
}

static enum srv_err energy_next(void *p, bool *have, struct errbuf *eb)
{
    struct energy_src *x = p;
    *have = false;
    if (x->cur < x->n) {
        x->cur++;
        *have = true;
        return SRV_OK;
    }
    if (x->started && x->end)
        return SRV_OK;
    int64_t after[2];
    bool resume = x->n > 0;
    if (resume) {
        after[0] = x->a[x->n - 1].start_time;
        after[1] = x->a[x->n - 1].end_time;
    }
    energy_samples_free(x->a, x->n);
    x->a = NULL;
    x->n = x->cur = 0;
    enum srv_err e =
        store_energy_chunk(x->st, x->run_pk, x->offset, resume ? after : NULL,
                           CHUNK_ROWS, &x->a, &x->n, &x->end, eb);
    if (e)
        return e;
    x->started = true;
    if (x->n) {
        x->cur = 1;
        *have = true;
    }
    return SRV_OK;
}

static enum srv_err energy_piece(void *p, struct strbuf *out, size_t hint,
                                 bool *complete, struct errbuf *eb)
{
    (void)hint;
    (void)eb;
    struct energy_src *s = p;
    const struct energy_sample *x = &s->a[s->cur - 1];
    strbuf_append_str(out, "{\"start_time\":");
    strbuf_append_i64(out, x->start_time);
    render_key(out, "end_time", false);
    strbuf_append_i64(out, x->end_time);
    render_num_field(out, "cpu_energy_j", x->cpu_j, false);
    render_num_field(out, "gpu_energy_j", x->gpu_j, false);
    render_num_field(out, "ram_energy_j", x->ram_j, false);
    render_num_field(out, "other_energy_j", x->other_j, false);
    render_str_field(out, "cpu_method", x->cpu_method, false);
    render_str_field(out, "gpu_method", x->gpu_method, false);
    render_str_field(out, "ram_method", x->ram_method, false);
    render_str_field(out, "scope", x->scope, false);
    if (x->has_intensity) {
        render_num_field(out, "intensity_g_per_kwh", x->intensity_g_per_kwh,
                         false);
        render_str_field(out, "intensity_source", x->intensity_source, false);
    }
    strbuf_append_char(out, '}');
    *complete = true;
    return SRV_OK;
}

const struct pager_source listsrc_energy_ops = {
    .next_item = energy_next,
    .piece = energy_piece,
    .free = energy_free,
};

/*---- experiment summaries ----*/

struct summaries_src {
    struct store *st;
    struct experiment_summary *a;
    size_t n, cur;
    bool end, started;
    bool (*keep)(void *ctx, int64_t experiment_id); /* NULL: all */
    void *keep_ctx;
};

static void summaries_free(void *p)
{
    struct summaries_src *x = p;
    if (!x)
        return;
    experiment_summaries_free(x->a, x->n);
    free(x);
}

void *listsrc_summaries_new(struct store *st)
{
    struct summaries_src *x = calloc(1, sizeof(*x));
    if (x)
        x->st = st;
    return x;
}

void *listsrc_summaries_new_filtered(
    struct store *st, bool (*keep)(void *ctx, int64_t experiment_id), void *ctx)
{
    struct summaries_src *x = listsrc_summaries_new(st);
    if (x) {
        x->keep = keep;
        x->keep_ctx = ctx;
    }
    return x;
}

static enum srv_err summaries_step(void *p, bool *have, struct errbuf *eb)
{
    struct summaries_src *x = p;
    *have = false;
    if (x->cur < x->n) {
        x->cur++;
        *have = true;
        return SRV_OK;
    }
    if (x->started && x->end)
        return SRV_OK;
    int64_t after = x->n ? x->a[x->n - 1].experiment_id : -1;
    experiment_summaries_free(x->a, x->n);
    x->a = NULL;
    x->n = x->cur = 0;
    enum srv_err e = store_summaries_chunk(x->st, after, CHUNK_ROWS, &x->a,
                                           &x->n, &x->end, eb);
    if (e)
        return e;
    x->started = true;
    if (x->n) {
        x->cur = 1;
        *have = true;
    }
    return SRV_OK;
}

static enum srv_err summaries_next(void *p, bool *have, struct errbuf *eb)
{
    struct summaries_src *x = p;
    for (;;) {
        enum srv_err e = summaries_step(x, have, eb);
        if (e || !*have || !x->keep ||
            x->keep(x->keep_ctx, x->a[x->cur - 1].experiment_id))
            return e;
    }
}

static enum srv_err summaries_piece(void *p, struct strbuf *out, size_t hint,
                                    bool *complete, struct errbuf *eb)
{
    (void)hint;
    (void)eb;
    struct summaries_src *s = p;
    const struct experiment_summary *x = &s->a[s->cur - 1];
    strbuf_append_str(out, "{\"experiment_id\":\"");
    strbuf_append_i64(out, x->experiment_id);
    strbuf_append_char(out, '"');
    render_key(out, "name", false);
    strbuf_append_json_str(out, x->name, strlen(x->name));
    render_key(out, "runs", false);
    strbuf_append_i64(out, x->runs);
    render_key(out, "running", false);
    strbuf_append_i64(out, x->running);
    render_key(out, "energy_kwh", false);
    strbuf_append_json_double(out, x->energy_kwh);
    render_key(out, "co2_g", false);
    strbuf_append_json_double(out, x->co2_kg * 1000.0);
    render_key(out, "last_activity", false);
    strbuf_append_i64(out, x->last_activity);
    /* a budget's figures (greenai_report.h); a failed read omits them */
    struct errbuf beb;
    greenai_render_budget(s->st, x->experiment_id, x->co2_kg, out, &beb);
    strbuf_append_char(out, '}');
    *complete = true;
    return SRV_OK;
}

const struct pager_source listsrc_summaries_ops = {
    .next_item = summaries_next,
    .piece = summaries_piece,
    .free = summaries_free,
};
