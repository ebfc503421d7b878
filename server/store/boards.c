/* SPDX-License-Identifier: MIT
 *
 * boards: the leaderboard keys served recently (store_boards.h): the
 * SW_BOARD_KEY write (writer thread, inside its transaction), its
 * fire-and-forget submission, and the read of the newest keys.
 */
#include "internal.h"
#include "log.h"
#include "store_boards.h"

#include <stdlib.h>
#include <string.h>

void board_keys_free(struct board_key *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(a[i].metric);
        free(a[i].filter);
        free(a[i].options);
    }
    free(a);
}

enum srv_err store_board_key_exec(struct conn *c, struct store_write *w)
{
    const struct board_key *k = w->board_key;
    struct db_stmt *s = store_stmt(c, S_BOARD_KEY_UPSERT);
    if (!s)
        return store_conn_error(c, &w->err, "leaderboard key");
    db_bind_int64(s, 1, k->experiment_id);
    db_bind_text(s, 2, k->metric, -1);
    db_bind_text(s, 3, k->filter, -1);
    db_bind_text(s, 4, k->options, -1);
    db_bind_int64(s, 5, w->seen_time);
    enum srv_err e = store_step_done(c, s, &w->err, "leaderboard key");
    if (e)
        return e;
    if (!(s = store_stmt(c, S_BOARD_KEY_TRIM)))
        return store_conn_error(c, &w->err, "leaderboard key");
    db_bind_int64(s, 1, BOARD_KEYS_KEPT - 1);
    return store_step_done(c, s, &w->err, "leaderboard key");
}

/* A queued SW_BOARD_KEY write with its own copy of the key; freed when
 * it completes. */
struct key_write {
    struct store_write w;
    struct board_key k;
};

static void key_write_done(struct store_write *w, void *userdata)
{
    struct key_write *x = userdata;
    if (w->result != SRV_OK)
        log_warn("could not remember a leaderboard key: %s", w->err.msg);
    free(x->k.metric);
    free(x->k.filter);
    free(x->k.options);
    free(x);
}

bool store_board_key_note(struct store *st, const struct board_key *k,
                          int64_t seen_ms)
{
    struct key_write *x = calloc(1, sizeof(*x));
    if (!x)
        return false;
    x->k.experiment_id = k->experiment_id;
    x->k.metric = strdup(k->metric);
    x->k.filter = strdup(k->filter);
    x->k.options = strdup(k->options);
    if (!x->k.metric || !x->k.filter || !x->k.options) {
        free(x->k.metric);
        free(x->k.filter);
        free(x->k.options);
        free(x);
        return false;
    }
    x->w.kind = SW_BOARD_KEY;
    x->w.board_key = &x->k;
    x->w.seen_time = seen_ms;
    x->w.done = key_write_done;
    x->w.userdata = x;
    store_submit(st, &x->w);
    return true;
}

/* Columns: experiment_id, metric, filter, options. */
static enum srv_err key_from_row(struct db_stmt *s, void *item,
                                 struct errbuf *eb)
{
    struct board_key *k = item;
    k->experiment_id = db_column_int64(s, 0);
    k->metric = store_col_dup(s, 1);
    k->filter = store_col_dup(s, 2);
    k->options = store_col_dup(s, 3);
    return k->metric && k->filter && k->options
               ? SRV_OK
               : err_set(eb, SRV_E_NOMEM, "out of memory");
}

enum srv_err store_board_keys_recent(struct store *st, size_t max,
                                     struct board_key **out, size_t *n,
                                     struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_UNAVAILABLE;
    struct db_stmt *s = store_stmt(c, S_BOARD_KEYS_RECENT);
    if (!s)
        return store_conn_error(c, eb, "leaderboard keys");
    db_bind_int64(s, 1, (int64_t)max);
    enum srv_err e;
    bool more;
    *out = store_read_page(c, s, (int64_t)max, sizeof(**out), key_from_row, n,
                           &more, &e, eb);
    db_reset(s);
    if (e) {
        board_keys_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}
