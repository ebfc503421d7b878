/* SPDX-License-Identifier: MIT
 *
 * gc: `greentrack-server gc`, which permanently removes runs deleted
 * (lifecycle stage deleted) longer ago than --older-than, and their
 * artifact folders under --artifact-root, as `mlflow gc` does.
 */
#ifndef SERVER_GC_H
#define SERVER_GC_H

#include <stdbool.h>
#include <stdint.h>

/* Runs the gc subcommand: argv[0] is "gc", the rest its flags and the
 * server's own (--db, --artifact-root, ...). Returns the exit status. */
int gc_main(int argc, char **argv);

/* Parses MLflow's --older-than format, "#d#h#m#s" with each part optional
 * (at least one) and decimal numbers allowed ("1d2h", "1.5d", "30m",
 * "0s"), into milliseconds. False when malformed or absurdly large. */
bool gc_parse_duration(const char *s, int64_t *ms);

#endif
