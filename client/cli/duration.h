/* SPDX-License-Identifier: MIT
 *
 * duration.h: the CLI's parser of human durations ("90m", "3h", "1h30m",
 * "45s", a plain number of minutes), shared by `greentrack when` and
 * `greentrack run --when-green`. Pure functions: no I/O, no allocation.
 */
#ifndef CLI_DURATION_H
#define CLI_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* The longest duration accepted, in seconds (10 years): anything longer
 * is a typo, and the bound keeps every sum far from overflowing. */
#define CLI_DURATION_MAX_S ((int64_t)10 * 366 * 24 * 3600)

/* Parses 's' as a duration: one or more NUMBER UNIT groups with units h,
 * m and s in that order, each at most once ("3h", "1h30m", "90m", "45s",
 * "2h0m30s"), or a plain integer meaning minutes ("90"). Units may be
 * upper case. The total must be more than 0 and at most
 * CLI_DURATION_MAX_S. Returns 0 with '*out_s' set (seconds), or -1 with a
 * one-line reason in 'err' (size 'cap'; 'err' may be NULL); '*out_s' is
 * written only on success. 's' is borrowed. */
int cli_parse_duration(const char *s, int64_t *out_s, char *err, size_t cap);

/* Writes 'seconds' compactly into 'out' (size 'cap'): "45s", "5m",
 * "1h30m", "24h", "3d04h" (hours up to 48h), "1m05s"; "0s" for 0 and below. */
void cli_duration_str(int64_t seconds, char *out, size_t cap);

#endif
