/* SPDX-License-Identifier: MIT
 *
 * csv: the RFC 4180 reader (see csv.h). Two passes over the input: the
 * first unescapes fields into one buffer, NUL-separated, and counts; the
 * second indexes rows and fields, so the parse allocates four blocks.
 */
#include "csv.h"

#include <stdlib.h>
#include <string.h>

void csv_doc_cleanup(struct csv_doc *doc)
{
    if (doc->rows) {
        for (size_t i = 0; i < doc->n_rows; i++)
            free(doc->rows[i]);
    }
    free(doc->rows);
    free(doc->n_fields);
    free(doc->text);
    memset(doc, 0, sizeof(*doc));
}

enum srv_err csv_parse(const char *data, size_t len, size_t max_rows,
                       size_t max_fields, struct csv_doc *doc,
                       struct errbuf *eb)
{
    memset(doc, 0, sizeof(*doc));
    /* Unescaped text is never longer than the input plus one NUL per
     * field (at most one per input byte, plus one). */
    doc->text = malloc(2 * len + 2);
    size_t row_cap = 64;
    doc->rows = calloc(row_cap, sizeof(*doc->rows));
    doc->n_fields = calloc(row_cap, sizeof(*doc->n_fields));
    if (!doc->text || !doc->rows || !doc->n_fields)
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    char *out = doc->text;
    size_t i = 0;
    while (i < len) {
        /* one row */
        if (data[i] == '\n' ||
            (data[i] == '\r' && i + 1 < len && data[i + 1] == '\n')) {
            i += data[i] == '\r' ? 2 : 1; /* blank line */
            continue;
        }
        if (doc->n_rows == max_rows)
            return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                           "CSV has more than %zu rows", max_rows);
        if (doc->n_rows == row_cap) {
            row_cap *= 2;
            char ***r = realloc(doc->rows, row_cap * sizeof(*r));
            if (r)
                doc->rows = r;
            size_t *f = realloc(doc->n_fields, row_cap * sizeof(*f));
            if (f)
                doc->n_fields = f;
            if (!r || !f)
                return err_set(eb, SRV_E_NOMEM, "out of memory");
        }
        size_t field_cap = 16, nf = 0;
        char **fields = malloc(field_cap * sizeof(*fields));
        if (!fields)
            return err_set(eb, SRV_E_NOMEM, "out of memory");
        doc->rows[doc->n_rows] = fields;
        doc->n_fields[doc->n_rows] = 0;
        doc->n_rows++;
        for (;;) {
            /* one field */
            if (nf == max_fields)
                return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                               "CSV row %zu has more than %zu fields",
                               doc->n_rows, max_fields);
            if (nf == field_cap) {
                field_cap *= 2;
                char **p = realloc(fields, field_cap * sizeof(*p));
                if (!p)
                    return err_set(eb, SRV_E_NOMEM, "out of memory");
                fields = doc->rows[doc->n_rows - 1] = p;
            }
            fields[nf++] = out;
            doc->n_fields[doc->n_rows - 1] = nf;
            if (i < len && data[i] == '"') {
                i++;
                for (;;) {
                    if (i >= len)
                        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                                       "CSV row %zu has an unclosed quote",
                                       doc->n_rows);
                    if (data[i] == '"') {
                        if (i + 1 < len && data[i + 1] == '"') {
                            *out++ = '"';
                            i += 2;
                            continue;
                        }
                        i++;
                        break;
                    }
                    *out++ = data[i++];
                }
            }
            while (i < len && data[i] != ',' && data[i] != '\n' &&
                   !(data[i] == '\r' && i + 1 < len && data[i + 1] == '\n'))
                *out++ = data[i++];
            *out++ = '\0';
            if (i < len && data[i] == ',') {
                i++;
                continue;
            }
            if (i < len)
                i += data[i] == '\r' ? 2 : 1;
            break;
        }
    }
    return SRV_OK;
}
