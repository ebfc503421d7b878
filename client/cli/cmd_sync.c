/* SPDX-License-Identifier: MIT
 *
 * cmd_sync.c: `greentrack sync`. Replays what processes left in the spool
 * while the server was down (gt_spool_replay), with a progress line on
 * stderr: rewritten in place on a terminal, a line per second otherwise.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char USAGE[] =
    "usage: greentrack sync [OPTIONS]\n"
    "\n"
    "Sends the records that programs using libgreentrack left in the spool\n"
    "while the tracking server was down, in order, then removes them.\n"
    "Sending twice never duplicates anything, so it is safe to repeat.\n"
    "\n"
    "Options:\n"
    "  --timeout SECONDS  give up after this long (default: no limit)\n"
    "  -q, --quiet        no progress line\n"
    "  --tracking-uri URI, --spool-dir DIR, -v  as for greentrack\n"
    "  -h, --help         this text\n"
    "\n"
    "Exit status: 0 all sent (or nothing to send), 1 an error (what was\n"
    "not sent stays in the spool), 2 bad usage, 3 the server could not be\n"
    "reached.\n";

struct progress {
    int tty;
    int quiet;
    int printed;
    uint64_t done;
    uint64_t total;
    struct timespec last;
};

static void on_progress(void *userdata, uint64_t done, uint64_t total)
{
    struct progress *p = userdata;
    struct timespec now;
    double since;

    p->done = done;
    p->total = total;
    if (p->quiet) {
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    since = (double)(now.tv_sec - p->last.tv_sec) +
            (double)(now.tv_nsec - p->last.tv_nsec) / 1e9;
    if (p->printed && since < (p->tty ? 0.1 : 1.0) && done < total) {
        return;
    }
    p->last = now;
    p->printed = 1;
    fprintf(stderr, "%sgreentrack sync: %llu/%llu records%s",
            p->tty ? "\r" : "", (unsigned long long)done,
            (unsigned long long)total, p->tty ? "" : "\n");
    fflush(stderr);
}

int cli_cmd_sync(struct cli_global *g, int argc, char **argv)
{
    struct progress p;
    long timeout_s = -1;
    const char *v;
    gt_client *client;
    gt_status st;
    int rc;

    memset(&p, 0, sizeof p);
    for (int i = 0; i < argc; i++) {
        int r;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(USAGE, stdout);
            return CLI_EXIT_OK;
        }
        if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0) {
            p.quiet = 1;
            continue;
        }
        if ((r = cli_global_opt(g, argc, argv, &i)) == 0 &&
            (r = cli_opt(argc, argv, &i, "--timeout", &v)) > 0 &&
            cli_parse_long(v, 0, 2000000, &timeout_s) != 0) {
            cli_err("sync: --timeout wants seconds, not '%s'", v);
            return CLI_EXIT_USAGE;
        }
        if (r < 0) {
            return CLI_EXIT_USAGE;
        }
        if (r == 0) {
            cli_err("sync: unexpected '%s' (see greentrack sync --help)",
                    argv[i]);
            return CLI_EXIT_USAGE;
        }
    }
    if ((client = cli_client_new(g)) == NULL) {
        return CLI_EXIT_ERROR;
    }
    p.tty = isatty(STDERR_FILENO);
    st = gt_spool_replay(client, on_progress, &p,
                         timeout_s < 0 ? -1 : (int)(timeout_s * 1000));
    if (p.tty && p.printed) {
        fputc('\n', stderr);
    }
    switch (st) {
    case GT_OK:
    case GT_E_NOT_FOUND:
        if (!p.quiet) {
            fprintf(stderr, "greentrack sync: %llu records sent to %s\n",
                    (unsigned long long)p.done, g->tracking_uri);
        }
        rc = CLI_EXIT_OK;
        break;
    case GT_E_NETWORK:
        cli_err("sync: cannot reach %s; the spool is kept (%s)",
                g->tracking_uri, gt_client_errmsg(client));
        rc = CLI_EXIT_UNREACHABLE;
        break;
    default:
        cli_err("sync: %s%s%s; what was not sent stays in the spool",
                gt_strerror(st), *gt_client_errmsg(client) ? ": " : "",
                gt_client_errmsg(client));
        rc = CLI_EXIT_ERROR;
        break;
    }
    gt_client_free(client);
    return rc;
}
