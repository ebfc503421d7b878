/* SPDX-License-Identifier: MIT
 *
 * store: the store API's life cycle (see store.h): store_open and
 * store_close, the generations and the change journal that let readers
 * patch cached views, and the queue of writes (store_submit,
 * store_abandon) that the writer thread (writer.c) takes them from. The
 * rest of the store is in this folder: conn.c holds the connections,
 * write_*.c execute each kind of write and read_*.c answer the reads
 * (internal.h lists who owns what).
 */
#include "store.h"

#include "internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static atomic_uint_fast64_t store_serials;

uint64_t store_experiment_generation(struct store *st, int64_t experiment_id)
{
    return atomic_load(
        &st->generations[(uint64_t)experiment_id % STORE_GENERATION_SLOTS]);
}

static int cmp_i64(const void *pa, const void *pb)
{
    int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
    return (a > b) - (a < b);
}

bool store_changed_runs(struct store *st, int64_t experiment_id, uint64_t from,
                        uint64_t to, int64_t **pks, size_t *n)
{
    *pks = NULL;
    *n = 0;
    if (to < from || to - from > STORE_JOURNAL_SIZE)
        return false;
    int64_t *out = malloc((size_t)(to - from + 1) * sizeof(*out));
    if (!out)
        return false;
    uint64_t slot = (uint64_t)experiment_id % STORE_GENERATION_SLOTS;
    uint64_t seen = 0;
    bool ok = true;
    size_t m = 0;
    pthread_mutex_lock(&st->journal_mu);
    uint64_t have = st->journal_next;
    if (have > STORE_JOURNAL_SIZE)
        have = STORE_JOURNAL_SIZE;
    for (uint64_t i = 0; i < have && ok; i++) {
        const struct change *ch = &st->journal[i];
        if ((uint64_t)ch->experiment_id % STORE_GENERATION_SLOTS != slot ||
            ch->generation <= from || ch->generation > to)
            continue;
        seen++;
        if (ch->experiment_id != experiment_id || ch->run_pk == 0)
            continue;
        if (ch->run_pk < 0)
            ok = false;
        else
            out[m++] = ch->run_pk;
    }
    pthread_mutex_unlock(&st->journal_mu);
    /* Every generation step in (from, to] must have its entry; one that
     * has none was overwritten or came from a bulk change. */
    if (!ok || seen != to - from) {
        free(out);
        return false;
    }
    qsort(out, m, sizeof(*out), cmp_i64);
    size_t u = 0;
    for (size_t i = 0; i < m; i++) {
        if (u == 0 || out[u - 1] != out[i])
            out[u++] = out[i];
    }
    if (u == 0) {
        free(out);
        out = NULL;
    }
    *pks = out;
    *n = u;
    return true;
}

int64_t store_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double store_default_pue(const struct store *st)
{
    return st->default_pue;
}

uint64_t store_grid_zone_epoch(struct store *st)
{
    return atomic_load(&st->zone_epoch);
}

/*---- the queue of writes ----*/

static const char abandoned_msg[] =
    "The server is shutting down and could not commit this write in time; "
    "nothing was written";

/* Completes 'w' with the abandoned failure. */
static void fail_abandoned(struct store_write *w)
{
    w->next = NULL;
    w->result = err_set(&w->err, SRV_E_UNAVAILABLE, "%s", abandoned_msg);
    w->done(w, w->userdata);
}

void store_abandon(struct store *st)
{
    pthread_mutex_lock(&st->mu);
    atomic_store(&st->abandoned, true);
    struct store_write *head = st->queue_head;
    st->queue_head = st->queue_tail = NULL;
    pthread_mutex_unlock(&st->mu);
    struct store_write *next;
    for (struct store_write *w = head; w; w = next) {
        next = w->next; /* 'done' may free w */
        fail_abandoned(w);
    }
}

void store_submit(struct store *st, struct store_write *w)
{
    w->next = NULL;
    w->result = SRV_OK;
    w->err.msg[0] = '\0';
    pthread_mutex_lock(&st->mu);
    if (atomic_load(&st->abandoned)) {
        pthread_mutex_unlock(&st->mu);
        fail_abandoned(w);
        return;
    }
    if (st->queue_tail)
        st->queue_tail->next = w;
    else
        st->queue_head = w;
    st->queue_tail = w;
    pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
}

struct store *store_open(const struct store_config *cfg, struct errbuf *eb)
{
    struct store *st = calloc(1, sizeof(*st));
    if (!st) {
        err_set(eb, SRV_E_NOMEM, "out of memory");
        return NULL;
    }
    st->db_path = strdup(cfg->db_path);
    if (cfg->db_read && *cfg->db_read &&
        !(st->db_read = strdup(cfg->db_read))) {
        err_set(eb, SRV_E_NOMEM, "out of memory");
        free(st->db_path);
        free(st);
        return NULL;
    }
    st->artifact_root = strdup(cfg->artifact_root);
    st->serve_artifacts = cfg->serve_artifacts;
    st->durable_full = cfg->durable_full;
    st->heartbeat_timeout_ms = cfg->heartbeat_timeout_ms;
    st->default_pue = cfg->default_pue >= 1.0 ? cfg->default_pue : 1.0;
    st->serial = atomic_fetch_add(&store_serials, 1) + 1;
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->cv, NULL);
    pthread_mutex_init(&st->readers_mu, NULL);
    pthread_mutex_init(&st->journal_mu, NULL);
    pthread_mutex_init(&st->summary_mu, NULL);
    pthread_mutex_init(&st->singleton_mu, NULL);
    if (!st->db_path || !st->artifact_root) {
        err_set(eb, SRV_E_NOMEM, "out of memory");
        goto fail;
    }
    st->writer = store_conn_open(st, true, eb);
    if (!st->writer)
        goto fail;
    if (store_migrate(st->writer, eb) != SRV_OK ||
        store_ensure_default_experiment(st, eb) != SRV_OK ||
        store_relocate_local_locations(st, eb) != SRV_OK)
        goto fail;
    store_notice_outside_writes(st); /* the baseline */
    if (st->db_read)
        store_replica_probe(st);
    store_writer_busy_handler(st);
    if (pthread_create(&st->writer_thread, NULL, store_writer_main, st) != 0) {
        err_set(eb, SRV_E_INTERNAL, "cannot start the writer thread");
        goto fail;
    }
    return st;
fail:
    store_conn_close(st->writer);
    free(st->db_path);
    free(st->db_read);
    free(st->artifact_root);
    pthread_mutex_destroy(&st->mu);
    pthread_cond_destroy(&st->cv);
    pthread_mutex_destroy(&st->readers_mu);
    pthread_mutex_destroy(&st->journal_mu);
    pthread_mutex_destroy(&st->summary_mu);
    pthread_mutex_destroy(&st->singleton_mu);
    free(st);
    return NULL;
}

void store_close(struct store *st)
{
    if (!st)
        return;
    pthread_mutex_lock(&st->mu);
    st->stopping = true;
    pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
    pthread_join(st->writer_thread, NULL);
    store_conns_close(st);
    store_singletons_close(st);
    pthread_mutex_destroy(&st->mu);
    pthread_cond_destroy(&st->cv);
    pthread_mutex_destroy(&st->readers_mu);
    pthread_mutex_destroy(&st->journal_mu);
    pthread_mutex_destroy(&st->summary_mu);
    pthread_mutex_destroy(&st->singleton_mu);
    free(st->db_path);
    free(st->db_read);
    free(st->artifact_root);
    free(st);
}
