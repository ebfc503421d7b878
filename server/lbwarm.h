/* SPDX-License-Identifier: MIT
 *
 * lbwarm: the leaderboard warm-up after a start. Once the server listens,
 * a background thread at the lowest CPU priority (SCHED_IDLE) builds the
 * boards of the keys served most recently before the restart
 * (store_boards.h) into the leaderboard cache, newest last, so that their
 * first request finds them ready. Nothing waits for it: /health, writes
 * and requests run as without it (a request for a board still being
 * warmed builds its own, as it would have anyway). After the boards it
 * fills the store's experiments/summary cache (store_summaries_chunk)
 * for every active experiment.
 *
 * Test hook: when the environment names a file in
 * GREENTRACK_TEST_WARMUP_GATE, each board's build waits (after reading
 * the generation, before any row) until that file exists.
 *
 * Ownership: lbwarm_start returns a handle that lbwarm_stop joins and
 * frees; 'st' must outlive it.
 */
#ifndef SERVER_LBWARM_H
#define SERVER_LBWARM_H

#include "store.h"

struct lbwarm;

/* Starts the warm-up thread; NULL when it cannot (logged; the server
 * runs without warm-up). */
struct lbwarm *lbwarm_start(struct store *st);

/* Asks the thread to stop after the board it is building, waits for it
 * and frees 'w'; NULL is a no-op. */
void lbwarm_stop(struct lbwarm *w);

#endif
