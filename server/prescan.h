/* SPDX-License-Identifier: MIT
 *
 * prescan: one pass over a raw JSON body, before cJSON builds its tree,
 * counting what the tree would hold: the deepest nesting, the number of
 * values (each would be a cJSON node, some 80 bytes with malloc's share)
 * and the longest string. A body past its route's limits is refused on
 * this count, so a hostile body ([0,0,0,...] is 2 bytes a node) costs its
 * own bytes and one scan, never a tree many times its size. Pure, no
 * allocation, thread-safe; http.c calls it with the route's limits.
 */
#ifndef SERVER_PRESCAN_H
#define SERVER_PRESCAN_H

#include "err.h"

#include <stdbool.h>
#include <stddef.h>

struct prescan_limits {
    unsigned max_depth; /* arrays and objects nested in one another */
    size_t max_values;  /* scalars, arrays and objects (not member names) */
    size_t max_string;  /* longest string or member name, raw bytes */
};

/* What a scan saw (up to where it stopped, when a limit was passed). Each
 * count is an upper bound of the parsed tree's: a string's raw bytes are
 * at least its decoded ones, and text that is not valid JSON is counted
 * as the parser might read it, or fails to parse. */
struct prescan_stats {
    unsigned depth;
    size_t values;
    size_t longest_string;
    bool top_string; /* the first value is a string (a double-encoded
                        body, whose decoded text needs a scan of its own) */
};

/* Scans body[0, len) (no terminator needed). SRV_OK when every count is
 * within 'lim'; otherwise SRV_E_INVALID_PARAMETER_VALUE with a message
 * naming the limit in 'eb' (may be NULL), having stopped at the byte that
 * passed it. It judges only size: malformed JSON is left to the parser.
 * '*out' (may be NULL) receives the counts either way. */
enum srv_err prescan_json(const char *body, size_t len,
                          const struct prescan_limits *lim,
                          struct prescan_stats *out, struct errbuf *eb);

#endif
