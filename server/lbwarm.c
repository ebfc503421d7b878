/* SPDX-License-Identifier: MIT
 *
 * lbwarm: the leaderboard warm-up thread (see lbwarm.h).
 */
#include "lbwarm.h"

#include "handlers/handlers.h"
#include "log.h"
#include "store_boards.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#if defined(__linux__) && !defined(SCHED_IDLE)
#define SCHED_IDLE 5 /* Linux's; sched.h declares it only with _GNU_SOURCE */
#endif

struct lbwarm {
    struct store *st;
    pthread_t thread;
    atomic_bool stop;
    const char *gate;            /* the test hook's file, or NULL */
    const struct board_key *cur; /* the key being built */
};

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* The test gate: waits until the file exists (or the thread is asked to
 * stop). */
static void gate_wait(void *arg)
{
    struct lbwarm *w = arg;
    struct stat sb;
    log_info("leaderboard warm-up: experiment %lld, metric '%.64s', "
             "options '%.96s' waits for the test gate",
             (long long)w->cur->experiment_id, w->cur->metric, w->cur->options);
    while (!atomic_load(&w->stop) && stat(w->gate, &sb) != 0)
        sleep_ms(10);
}

/* The lowest CPU priority this thread can get: SCHED_IDLE (runs only on
 * a core nothing else wants), else nice 19. */
static void lower_priority(void)
{
#ifdef SCHED_IDLE
    struct sched_param p = {.sched_priority = 0};
    if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &p) == 0)
        return;
#endif
    /* on Linux, nice applies to the calling thread only */
    if (setpriority(PRIO_PROCESS, 0, 19) != 0)
        log_warn("leaderboard warm-up: cannot lower its priority");
}

/* experiments/summary's figures of every active experiment into the
 * store's summary cache, a few experiments at a time, so that the first
 * summary after a start reads no runs. */
static void warm_summaries(struct lbwarm *w)
{
    int64_t t0 = store_now_ms(), after = -1;
    size_t total = 0;
    bool end = false;
    struct errbuf eb;
    while (!end && !atomic_load(&w->stop)) {
        struct experiment_summary *a = NULL;
        size_t n = 0;
        if (store_summaries_chunk(w->st, after, 8, &a, &n, &end, &eb) !=
            SRV_OK) {
            log_warn("summary warm-up: %s", eb.msg);
            return;
        }
        total += n;
        if (n)
            after = a[n - 1].experiment_id;
        experiment_summaries_free(a, n);
        if (!n)
            break;
    }
    log_info("summary warm-up: %zu experiments ready in %lld ms", total,
             (long long)(store_now_ms() - t0));
}

static void *warm_main(void *arg)
{
    struct lbwarm *w = arg;
    lower_priority();
    int64_t t0 = store_now_ms();
    struct errbuf eb;
    struct board_key *keys = NULL;
    size_t n = 0, ready = 0;
    if (store_board_keys_recent(w->st, H_LEADERBOARD_CACHE_SIZE, &keys, &n,
                                &eb) != SRV_OK) {
        log_warn("leaderboard warm-up: cannot read the keys: %s", eb.msg);
        return NULL;
    }
    /* oldest first: the cache evicts in insertion order */
    for (size_t i = n; i-- > 0 && !atomic_load(&w->stop);) {
        w->cur = &keys[i];
        enum srv_err e = h_leaderboard_warm(w->st, &keys[i],
                                            w->gate ? gate_wait : NULL, w, &eb);
        if (e == SRV_OK)
            ready++;
        else if (e != SRV_E_RESOURCE_DOES_NOT_EXIST)
            log_warn("leaderboard warm-up: experiment %lld, metric '%.64s': "
                     "%s",
                     (long long)keys[i].experiment_id, keys[i].metric, eb.msg);
    }
    log_info("leaderboard warm-up: %zu of %zu boards ready in %lld ms", ready,
             n, (long long)(store_now_ms() - t0));
    board_keys_free(keys, n);
    warm_summaries(w);
    return NULL;
}

struct lbwarm *lbwarm_start(struct store *st)
{
    struct lbwarm *w = calloc(1, sizeof(*w));
    if (!w) {
        log_warn("leaderboard warm-up: out of memory");
        return NULL;
    }
    w->st = st;
    atomic_init(&w->stop, false);
    const char *gate = getenv("GREENTRACK_TEST_WARMUP_GATE");
    w->gate = gate && *gate ? gate : NULL;
    if (pthread_create(&w->thread, NULL, warm_main, w) != 0) {
        log_warn("leaderboard warm-up: cannot start its thread");
        free(w);
        return NULL;
    }
    return w;
}

void lbwarm_stop(struct lbwarm *w)
{
    if (!w)
        return;
    atomic_store(&w->stop, true);
    pthread_join(w->thread, NULL);
    free(w);
}
