/* SPDX-License-Identifier: MIT
 *
 * write_greenai: the write executor the store's writer runs for
 * SW_GREENAI inside its transaction (run phases), and the writer's check
 * of greentrack.base_run_id tag writes (no cycles, known bases).
 */
#include "greenai_sql.h"

#include <stdlib.h>
#include <string.h>

static enum srv_err log_phase(struct conn *c, struct store_write *w,
                              const struct greenai_write *g)
{
    int64_t pk, exp;
    if (!store_greenai_run_find(c, w->run_id, &pk, &exp))
        return store_greenai_no_run(&w->err, w->run_id);
    w->experiment_id = exp; /* the leaderboard's cost= reads phases */
    store_conn_note_run(c, pk);
    struct db_stmt *s = store_greenai_stmt(c, G_PHASE_UPSERT);
    if (!s)
        return store_conn_error(c, &w->err, "log phase");
    db_bind_int64(s, 1, pk);
    db_bind_text(s, 2, g->phase, -1);
    db_bind_int64(s, 3, g->start_time);
    db_bind_int64(s, 4, g->end_time);
    if (g->has_work)
        db_bind_double(s, 5, g->work_count);
    else
        db_bind_null(s, 5);
    if (g->work_unit && *g->work_unit)
        db_bind_text(s, 6, g->work_unit, -1);
    else
        db_bind_null(s, 6);
    return store_step_done(c, s, &w->err, "log phase");
}

enum srv_err store_greenai_exec(struct conn *c, struct store_write *w)
{
    const struct greenai_write *g = w->greenai;
    if (!g)
        return err_set(&w->err, SRV_E_INTERNAL, "greenai write without input");
    switch (g->op) {
    case GREENAI_LOG_PHASE:
        return log_phase(c, w, g);
    }
    return err_set(&w->err, SRV_E_INTERNAL, "unknown greenai write");
}

enum srv_err store_greenai_check_tags(struct conn *c, const char *run_id,
                                      const struct kv_ref *tags, size_t n,
                                      struct errbuf *eb)
{
    for (size_t i = 0; i < n; i++) {
        const struct kv_ref *t = &tags[i];
        char v[128];
        if (strcmp(t->key, GREENAI_TAG_BASE_CO2) == 0) {
            double kg;
            bool fits = t->value.len < sizeof(v);
            if (fits) {
                if (t->value.len)
                    memcpy(v, t->value.s, t->value.len);
                v[t->value.len] = '\0';
            }
            if (!fits || !store_greenai_parse_kg(v, &kg))
                return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                               "Invalid value for tag '%s': expected a "
                               "finite number of kg >= 0",
                               GREENAI_TAG_BASE_CO2);
            continue;
        }
        if (strcmp(t->key, GREENAI_TAG_BASE_RUN) != 0)
            continue;
        int64_t pk;
        if (t->value.len >= sizeof(v) ||
            (t->value.len && memchr(t->value.s, '\0', t->value.len)))
            return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                           "Invalid value for tag '%s': not a run id",
                           GREENAI_TAG_BASE_RUN);
        if (t->value.len)
            memcpy(v, t->value.s, t->value.len);
        v[t->value.len] = '\0';
        if (strcmp(v, run_id) == 0)
            return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                           "Invalid value for tag '%s': a run cannot be its "
                           "own base",
                           GREENAI_TAG_BASE_RUN);
        if (!store_greenai_run_find(c, v, &pk, NULL))
            return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                           "Invalid value for tag '%s': no run with id '%s' "
                           "on this server",
                           GREENAI_TAG_BASE_RUN, v);
        char(*chain)[RUN_ID_LEN + 1] =
            calloc(GREENAI_MAX_DEPTH, sizeof(*chain));
        if (!chain)
            return err_set(eb, SRV_E_NOMEM, "out of memory");
        struct chain_ctx ctx = {.c = c};
        size_t k;
        enum greenai_chain_result r =
            greenai_chain(run_id, v, store_greenai_chain_base, &ctx,
                          (char *)chain, sizeof(*chain), &k);
        free(chain);
        if (ctx.failed)
            return store_conn_error(c, eb, "base check");
        if (r == GREENAI_CHAIN_CYCLE)
            return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                           "Invalid value for tag '%s': run %s builds on "
                           "%s, which would make a cycle of bases",
                           GREENAI_TAG_BASE_RUN, run_id, v);
        if (r == GREENAI_CHAIN_TOO_DEEP)
            return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                           "Invalid value for tag '%s': the chain of bases "
                           "from %s is deeper than %d",
                           GREENAI_TAG_BASE_RUN, v, GREENAI_MAX_DEPTH);
    }
    return SRV_OK;
}
