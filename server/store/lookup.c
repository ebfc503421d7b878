/* SPDX-License-Identifier: MIT
 *
 * lookup: finding an experiment's or a run's row by its id, for the write
 * executors and the readers alike, with MLflow's wording when it is
 * missing.
 */
#include "internal.h"

#include <string.h>

enum srv_err store_no_experiment(struct errbuf *eb, int64_t id)
{
    return err_set(eb, SRV_E_RESOURCE_DOES_NOT_EXIST,
                   "No Experiment with id=%lld exists", (long long)id);
}

/* Looks a run up; RESOURCE_DOES_NOT_EXIST when missing, and, when
 * 'must_be_active', INVALID_PARAMETER_VALUE for a deleted run. */
enum srv_err store_run_lookup_step(struct conn *c, struct db_stmt *s,
                                   const char *run_id, bool must_be_active,
                                   struct run_state *out, struct errbuf *eb)
{
    if (!s)
        return store_conn_error(c, eb, "run lookup");
    int rc = db_step(s);
    if (rc != DB_ROW) {
        db_reset(s);
        if (rc != DB_DONE)
            return store_conn_error(c, eb, "run lookup");
        return err_set(eb, SRV_E_RESOURCE_DOES_NOT_EXIST,
                       "Run with id=%s not found", run_id);
    }
    out->run_pk = db_column_int64(s, 0);
    out->experiment_id = db_column_int64(s, 1);
    store_conn_notes(c)->last_experiment = out->experiment_id;
    store_conn_note_run(c, out->run_pk);
    out->deleted = strcmp(db_column_text(s, 2), "deleted") == 0;
    db_reset(s);
    if (must_be_active && out->deleted)
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "The run %s must be in the 'active' state. Current "
                       "state is deleted.",
                       run_id);
    return SRV_OK;
}

enum srv_err store_run_lookup(struct conn *c, const char *run_id,
                              bool must_be_active, struct run_state *out,
                              struct errbuf *eb)
{
    struct db_stmt *s = store_stmt(c, S_RUN_LOOKUP);
    if (s)
        db_bind_text(s, 1, run_id, -1);
    return store_run_lookup_step(c, s, run_id, must_be_active, out, eb);
}
