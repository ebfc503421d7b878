/* SPDX-License-Identifier: MIT
 *
 * table.h: what the listing commands (`runs`, `models`) print with: the
 * words every subcommand of theirs takes, readers of the server's JSON,
 * a plain-text table with UTF-8 aware widths, and the "key  value" lists
 * of a show.
 */
#ifndef CLI_TABLE_H
#define CLI_TABLE_H

#include "cli.h"

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/*---- subcommands and their words ----*/

/* A subcommand: its name, another name for it (or NULL), its function
 * (given the words after it). A list of them ends with a NULL name. */
struct cli_subcmd {
    const char *name, *alias;
    int (*run)(struct cli_global *g, int argc, char **argv);
};

/* Runs the subcommand of command 'cmd' that argv[0] names; 'usage' (on
 * stderr) when there is none, on stdout for -h/--help; an unknown one is
 * "<cmd>: unknown subcommand '<word>' (<names>)". */
int cli_dispatch(struct cli_global *g, int argc, char **argv, const char *cmd,
                 const char *usage, const char *names,
                 const struct cli_subcmd *subs);

/* An option with a value ("--max N" or "--max=N"): the value into
 * '*value', or, when 'num' is not NULL, parsed as a number in [min, max]
 * into '*num'. A list of them ends with a NULL name. */
struct cli_optspec {
    const char *name;  /* "--filter" */
    const char *alias; /* "-e", or NULL */
    const char **value;
    long *num;
    long min, max;
};

#define CLI_ARGS_OK (-1) /* every word parsed: go on */

/* Parses the words after subcommand 'cmd' ("runs list"): -h/--help
 * (prints 'usage' on stdout), --json (only when 'json' is not NULL: sets
 * *json), the global options (cli_global_opt), the options of 'opts'
 * (may be NULL), and up to 'max_pos' positional words into 'pos' ('*npos'
 * of them; 'npos' may be NULL when 'max_pos' is 0). Returns CLI_ARGS_OK,
 * or the exit code the subcommand returns at once: CLI_EXIT_OK after the
 * usage, CLI_EXIT_USAGE after printing what is wrong. */
int cli_parse_args(struct cli_global *g, int argc, char **argv, const char *cmd,
                   const char *usage, int *json, const struct cli_optspec *opts,
                   const char **pos, int max_pos, int *npos);

/*---- JSON ----*/

/* Member 'key' of 'obj' when it is a string, else NULL. */
const char *cli_jstr(const cJSON *obj, const char *key);

/* Member 'key' of 'obj' as an integer (a number or a decimal string);
 * 0 when absent. */
int64_t cli_jint(const cJSON *obj, const char *key);

/* A metric value: a number with 'digits' significant digits, or
 * "NaN"/"Infinity" as the server writes them; "-" when absent. */
void cli_jvalue(const cJSON *obj, const char *key, int digits, char *out,
                size_t cap);

/* Prints 'j' indented on stdout; CLI_EXIT_OK, or CLI_EXIT_ERROR after
 * printing "out of memory". */
int cli_print_json(const cJSON *j);

/* The items of array 'key' of 'obj' sorted with 'cmp' (NULL: by their
 * "key"); caller frees the array (not the items). NULL with *n = 0 when
 * empty. */
const cJSON **cli_sorted(const cJSON *obj, const char *key,
                         int (*cmp)(const void *, const void *), size_t *n);

/*---- text ----*/

/* Display width of UTF-8 text: its code points. */
size_t cli_text_width(const char *s);

/* Copies at most 'max' code points of 's' (with 'first_line', of its
 * first line), ending in "..." when cut. */
void cli_clip(const char *s, size_t max, int first_line, char *out, size_t cap);

#define CLI_TABLE_MAX_COLS 8

/* A table of 'ncols' (at most CLI_TABLE_MAX_COLS) columns of text, the
 * first row its header: {ncols, 0, 0, NULL} is an empty one. */
struct cli_table {
    size_t ncols;
    size_t nrows;
    size_t cap;
    char **cells; /* nrows * ncols, malloc'ed */
};

/* Appends a copy of 'row' (ncols cells, NULL for ""); 0, or -1 when out
 * of memory. */
int cli_table_add(struct cli_table *t, const char *const *row);

/* Prints the table, each column as wide as its widest cell plus two
 * spaces, without padding after a row's last filled cell; or, when it has
 * no row but its header, nothing. Returns whether it printed. */
int cli_table_print(const struct cli_table *t);

void cli_table_free(struct cli_table *t);

/* Prints "\n<title>" (" (none)" when empty), then the "key  value" pairs
 * of array 'key' of 'obj' sorted by key, keys padded to one width; with
 * 'metrics', each value as a metric with its step. */
void cli_print_pairs(const char *title, const cJSON *obj, const char *key,
                     int metrics);

#endif
