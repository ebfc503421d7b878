/* SPDX-License-Identifier: MIT
 *
 * csv: an RFC 4180 reader (quoted fields with "" escapes and line breaks,
 * CRLF or LF rows) over a caller's buffer, for CSV imports. Fields are
 * unescaped into a csv_doc that owns them. Pure; no I/O.
 */
#ifndef SERVER_CSV_H
#define SERVER_CSV_H

#include "err.h"

#include <stddef.h>

struct csv_doc {
    char *text;       /* all fields, NUL-separated */
    char ***rows;     /* rows[r][f] point into text */
    size_t *n_fields; /* per row */
    size_t n_rows;
};

/* Parses 'len' bytes of 'data' into 'doc' (the caller cleans it up with
 * csv_doc_cleanup in every case). Blank lines are skipped. At most
 * 'max_rows' rows and 'max_fields' fields per row; more, or an unclosed
 * quote, is SRV_E_INVALID_PARAMETER_VALUE. */
enum srv_err csv_parse(const char *data, size_t len, size_t max_rows,
                       size_t max_fields, struct csv_doc *doc,
                       struct errbuf *eb);

void csv_doc_cleanup(struct csv_doc *doc);

#endif
