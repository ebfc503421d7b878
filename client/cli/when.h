/* SPDX-License-Identifier: MIT
 *
 * when.h: carbon-aware scheduling in the `greentrack` command (cmd_when.c).
 * `greentrack when` prints the server's advice on when to start a job
 * (GET /api/2.0/greentrack/schedule); `greentrack run --when-green` asks
 * the same question, waits for the greener window, and tags the run with
 * what it waited and saved. cmd_run.c only calls the three hooks below.
 * Every string here is borrowed from argv or the environment.
 */
#ifndef CLI_WHEN_H
#define CLI_WHEN_H

#include "cli.h"

#include <stdint.h>

/* The options `greentrack run` gains, for its usage text. */
#define CLI_WHEN_RUN_USAGE                                                     \
    "  --when-green           wait for the greenest time to start CMD\n"       \
    "                         within --max-delay (see greentrack when)\n"      \
    "  --zone ZONE            the grid zone (e.g. GB; default\n"               \
    "                         $GREENTRACK_ZONE, else the experiment's)\n"      \
    "  --max-delay DURATION   wait at most this long (default 24h)\n"          \
    "  --duration DURATION    how long CMD runs (default: the\n"               \
    "                         experiment's typical run, else 60m)\n"           \
    "  --source SOURCE        the forecast (ukci, electricitymaps,\n"          \
    "                         watttime; default: the server's)\n"              \
    "  --min-saving PCT       wait only for at least PCT % less CO2\n"         \
    "                         than starting now (default 1)\n"

/* What `run --when-green` was asked and what came of it. Initialise with
 * cli_when_init; the option fields are borrowed from argv. */
struct cli_when {
    int enabled;            /* --when-green given */
    const char *zone;       /* --zone, NULL: $GREENTRACK_ZONE */
    const char *max_delay;  /* --max-delay, NULL: 24h */
    const char *duration;   /* --duration, NULL: the server's default */
    const char *source;     /* --source, NULL: the server's default */
    const char *min_saving; /* --min-saving PCT, NULL: the server's */
    /* Set by cli_when_wait: */
    int asked;          /* the schedule was asked: tags to write */
    int64_t waited_s;   /* seconds actually waited */
    double co2_saved_g; /* estimated saving (see cmd_when.c) */
    char zone_used[64]; /* the zone the advice was for, or "" */
    char error[256];    /* why there was no advice, or "" */
};

/* Sets 'w' to "no --when-green". Cannot fail. */
void cli_when_init(struct cli_when *w);

/* Matches argv[*i] against run's scheduling options into 'w'; returns
 * like cli_opt (1 matched, 0 another word, -1 after printing an error). */
int cli_when_opt(struct cli_when *w, int argc, char **argv, int *i);

/* Called by `greentrack run` after its options are parsed and before the
 * run is created. Without --when-green returns 0 at once. Otherwise checks
 * the options (2 after printing the reason when they are bad), asks the
 * schedule for 'experiment' (may be NULL) and waits until the best start,
 * with a countdown on stderr when it is a terminal. SIGINT, SIGTERM,
 * SIGHUP and SIGQUIT during the wait cancel it: returns 128 + the signal,
 * and no run is created. When the schedule cannot be had (the provider or
 * the server is down), prints a warning and returns 0 at once with
 * w->error set: the job is never lost. Returns 0 when the command should
 * start now. 'client' is borrowed. */
int cli_when_wait(struct cli_when *w, gt_client *client,
                  const char *experiment);

/* Tags 'run' (borrowed) with the outcome of cli_when_wait:
 * greentrack.schedule.delay_s, greentrack.schedule.co2_saved_g (or
 * greentrack.schedule.error) and greentrack.zone. No-op without
 * --when-green. Call before the user's --tag options are set, so that an
 * explicit --tag greentrack.zone=... wins. */
void cli_when_tag(const struct cli_when *w, gt_run *run);

/* `greentrack when`: prints the advice (or the server's JSON). Exit codes
 * as cli.h's. */
int cli_cmd_when(struct cli_global *g, int argc, char **argv);

#endif
