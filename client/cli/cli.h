/* SPDX-License-Identifier: MIT
 *
 * cli.h: what the `greentrack` command's modules share. main.c parses the
 * global options and dispatches to one cli_cmd_* per command; each command
 * owns its argument parsing, prints its own errors (one line on stderr,
 * prefixed "greentrack: ") and returns the process exit code. The CLI uses
 * libgreentrack's public API only.
 */
#ifndef CLI_CLI_H
#define CLI_CLI_H

#include "greentrack.h"

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* Exit codes of every command but `run` (which exits with its child's). */
#define CLI_EXIT_OK 0
#define CLI_EXIT_ERROR 1       /* the server refused, I/O error, timeout */
#define CLI_EXIT_USAGE 2       /* bad command line */
#define CLI_EXIT_UNREACHABLE 3 /* the tracking server could not be reached */

/* `greentrack run` when it cannot start its command (as the shells do). */
#define CLI_EXIT_NOEXEC 126   /* found but not executable */
#define CLI_EXIT_NOTFOUND 127 /* not found */

/* Global options, filled by main.c and the commands' parsers. Strings are
 * borrowed from argv or the environment and live as long as the process. */
struct cli_global {
    const char *tracking_uri; /* resolved: never NULL */
    const char *spool_dir;    /* NULL: the library's default */
};

/* Each command gets argv after its name (argv[0] is the first argument). */
int cli_cmd_run(struct cli_global *g, int argc, char **argv);
int cli_cmd_sync(struct cli_global *g, int argc, char **argv);
int cli_cmd_runs(struct cli_global *g, int argc, char **argv);
int cli_cmd_artifacts(struct cli_global *g, int argc, char **argv);
int cli_cmd_import_codecarbon(struct cli_global *g, int argc, char **argv);
int cli_cmd_models(struct cli_global *g, int argc, char **argv);
int cli_cmd_login(struct cli_global *g, int argc, char **argv);
int cli_cmd_logout(struct cli_global *g, int argc, char **argv);
int cli_cmd_whoami(struct cli_global *g, int argc, char **argv);

/* Matches argv[*i] against option 'name' ("--max"), as "--max N" or
 * "--max=N". Returns 1 with '*value' set (and *i advanced past a separate
 * value), 0 when argv[*i] is another word, -1 after printing an error when
 * the value is missing. */
int cli_opt(int argc, char **argv, int *i, const char *name,
            const char **value);

/* Matches the options every command accepts (--tracking-uri, --spool-dir)
 * into 'g'; returns like cli_opt. */
int cli_global_opt(struct cli_global *g, int argc, char **argv, int *i);

/* Prints "greentrack: <message>\n" on stderr. */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A client for g->tracking_uri with g's options, or NULL after printing
 * the reason. Caller frees with gt_client_free. */
gt_client *cli_client_new(const struct cli_global *g);

/* Parses a decimal integer in [min, max]; 0 on success, -1 otherwise. */
int cli_parse_long(const char *s, long min, long max, long *out);

/* Percent-encodes 's' for a URL query into 'out' (size 'cap'); returns 0,
 * or -1 when it does not fit. */
int cli_url_encode(const char *s, char *out, size_t cap);

/* Makes one REST call and parses the JSON answer. On success returns 0
 * with '*out' (caller frees with cJSON_Delete). Otherwise prints a one-line
 * error (what = what was being done, e.g. "list runs") and returns the exit
 * code: CLI_EXIT_UNREACHABLE or CLI_EXIT_ERROR. When 'http_status' is not
 * NULL, a 404 is not printed but returned as CLI_EXIT_ERROR with
 * *http_status = 404, so callers can word it themselves. */
int cli_call(gt_client *client, const char *method, const char *path,
             const char *body, const char *what, cJSON **out,
             long *http_status);

/* Local time "YYYY-MM-DD HH:MM:SS" of a Unix time in ms into 'out'. */
void cli_format_time(int64_t ms, char *out, size_t cap);

/* A short duration ("850ms", "12.3s", "4m05s", "2h03m", "3d04h"). */
void cli_format_duration(int64_t ms, char *out, size_t cap);

#endif
