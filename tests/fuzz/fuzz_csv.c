/* SPDX-License-Identifier: MIT
 *
 * fuzz_csv: the RFC 4180 reader behind CSV imports (server/csv.c). Any
 * input must parse or fail cleanly, and every field of a parsed document
 * must be a NUL-terminated string inside its text buffer.
 */
#include "csv.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct csv_doc doc;
    struct errbuf eb;
    if (csv_parse((const char *)data, size, 1000, 64, &doc, &eb) == SRV_OK) {
        size_t total = 0;
        for (size_t r = 0; r < doc.n_rows; r++) {
            for (size_t f = 0; f < doc.n_fields[r]; f++)
                total += strlen(doc.rows[r][f]);
        }
        if (total > 2 * size + 2)
            abort();
    }
    csv_doc_cleanup(&doc);
    return 0;
}
