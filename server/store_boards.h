/* SPDX-License-Identifier: MIT
 *
 * store_boards: the leaderboard keys served recently
 * (schema/009_boards.sql), remembered so that a restarted server can
 * build those boards before they are asked for again (lbwarm.h). A key
 * is written by the store's one writer (a store_write of kind
 * SW_BOARD_KEY, queued without waiting) and read on the calling thread's
 * read connection.
 *
 * Ownership: strings passed in are copied; the array a read returns is
 * the caller's, freed with board_keys_free.
 */
#ifndef SERVER_STORE_BOARDS_H
#define SERVER_STORE_BOARDS_H

#include "err.h"
#include "store.h"

#include <stddef.h>
#include <stdint.h>

/* How many keys the table keeps (the newest by seen_time). */
#define BOARD_KEYS_KEPT 64

/* One leaderboard key. 'options' is the leaderboard handler's own
 * spelling of its other parameters; the store does not look inside. */
struct board_key {
    int64_t experiment_id;
    char *metric;
    char *filter; /* "" for none */
    char *options;
};

void board_keys_free(struct board_key *a, size_t n);

/* Queues a write that records 'k' (copied) as seen at 'seen_ms' and
 * trims the table to BOARD_KEYS_KEPT keys. Returns at once; the write
 * commits with the writer's next group and changes no generation. False
 * when out of memory (nothing queued). */
bool store_board_key_note(struct store *st, const struct board_key *k,
                          int64_t seen_ms);

/* The newest 'max' keys, newest first, into '*out' (caller frees with
 * board_keys_free; NULL when none) and '*n'. */
enum srv_err store_board_keys_recent(struct store *st, size_t max,
                                     struct board_key **out, size_t *n,
                                     struct errbuf *eb);

#endif
