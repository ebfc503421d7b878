/* SPDX-License-Identifier: MIT
 *
 * fuzz_filter: libFuzzer target for server/filter.c. The input is copied to
 * a NUL-terminated buffer and split at the first '\n': the part before is the
 * filter string, each further '\n'-separated line is one order_by entry.
 * All four builders (runs, experiments, and the Model Registry's registered
 * models and model versions) run on it; on success the invariants of
 * filter.h are checked (one bound parameter per '?', a non-empty ORDER BY
 * list).
 */
#include "filter.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ORDER_LINES 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t count_marks(const struct sql_frag *f)
{
    size_t n = 0;
    for (size_t i = 0; i < f->sql.len; i++)
        n += f->sql.buf[i] == '?';
    return n;
}

static void check(enum srv_err rc, const struct search_sql *q)
{
    if (rc != SRV_OK)
        return;
    if (!q->joins.sql.buf || !q->where.sql.buf || !q->order.sql.buf ||
        q->order.sql.len == 0)
        abort();
    if (count_marks(&q->joins) != q->joins.nparams ||
        count_marks(&q->where) != q->where.nparams ||
        count_marks(&q->order) != q->order.nparams)
        abort();
    for (size_t i = 0; i < q->where.nparams; i++)
        if (q->where.params[i].type == SQLV_TEXT && !q->where.params[i].text)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);
    buf[size] = '\0';

    const char *order[MAX_ORDER_LINES];
    size_t n_order = 0;
    char *nl = memchr(buf, '\n', size);
    if (nl) {
        *nl = '\0';
        char *line = nl + 1;
        while (n_order < MAX_ORDER_LINES) {
            order[n_order++] = line;
            char *next = strchr(line, '\n');
            if (!next)
                break;
            *next = '\0';
            line = next + 1;
        }
    }

    struct search_sql q;
    struct errbuf eb;
    search_sql_init(&q);
    check(filter_build_runs(buf, order, n_order, &q, &eb), &q);
    search_sql_cleanup(&q);

    search_sql_init(&q);
    check(filter_build_experiments(buf, order, n_order, &q, &eb), &q);
    search_sql_cleanup(&q);

    search_sql_init(&q);
    check(filter_build_registered_models(buf, order, n_order, &q, &eb), &q);
    search_sql_cleanup(&q);

    search_sql_init(&q);
    check(filter_build_model_versions(buf, order, n_order, &q, &eb), &q);
    search_sql_cleanup(&q);

    free(buf);
    return 0;
}
