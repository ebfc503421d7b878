/* SPDX-License-Identifier: MIT
 *
 * filter: MLflow's search grammar (runs/search, experiments/search and the
 * Model Registry's searches: filter strings and order_by lists) compiled to
 * parameterised SQL fragments for the SQLite schema in schema/. No user text
 * ever becomes SQL text: keys and values are bound as parameters, column names
 * come from a whitelist. Called by the search handlers through the store
 * (store/read_tracking.c, store/read_registry.c); pure, no I/O, thread-safe.
 *
 * Query shape the fragments fit (aliases are fixed):
 *   runs:        SELECT ... FROM runs AS r <joins>
 *                WHERE <caller's conditions> <where> ORDER BY <order>
 *   experiments: SELECT ... FROM experiments AS e <joins>
 *                WHERE <caller's conditions> <where> ORDER BY <order>
 * Parameters are bound positionally in text order: joins.params first, then
 * the caller's own, then where.params, then order.params.
 */
#ifndef SERVER_FILTER_H
#define SERVER_FILTER_H

#include "err.h"
#include "strbuf.h"

#include <stddef.h>
#include <stdint.h>

enum sqlv_type { SQLV_TEXT, SQLV_INT, SQLV_REAL };

/* One bound value. 'text' is owned by the fragment (freed on cleanup). */
struct sqlv {
    enum sqlv_type type;
    char *text;
    int64_t i;
    double d;
};

/* SQL text plus the values for its '?' placeholders, in order. */
struct sql_frag {
    struct strbuf sql;
    struct sqlv *params;
    size_t nparams;
    size_t cap;
};

struct search_sql {
    struct sql_frag joins; /* "" or " LEFT JOIN ... ON ..." (each with a
                              leading space) */
    struct sql_frag where; /* "" or " AND (...) AND (...)" */
    struct sql_frag order; /* never empty: "a, b, ..." including MLflow's
                              tie-breaks, without the ORDER BY keyword */
    /* Input of filter_build_runs, set by the caller after search_sql_init
     * (which makes it -1): the one experiment a runs/search is limited to.
     * A metric that is ordered on and filtered then also matches on
     * latest_metrics.experiment_id, so the engine walks that experiment's
     * values in order (latest_metrics_by_experiment) rather than every
     * experiment's. The caller must still limit r.experiment_id itself. */
    int64_t one_experiment;
};

void search_sql_init(struct search_sql *q);
void search_sql_cleanup(struct search_sql *q);

/* Compiles a runs/search filter (NULL or "" = match all) and order_by list
 * (n_order may be 0) into 'out', which the caller initialised. On error
 * returns SRV_E_INVALID_PARAMETER_VALUE with an MLflow-style message in 'eb';
 * 'out' must still be cleaned up. */
enum srv_err filter_build_runs(const char *filter, const char *const *order_by,
                               size_t n_order, struct search_sql *out,
                               struct errbuf *eb);

/* The same for experiments/search (attributes name, creation_time,
 * last_update_time, experiment_id for ordering, and tags). */
enum srv_err filter_build_experiments(const char *filter,
                                      const char *const *order_by,
                                      size_t n_order, struct search_sql *out,
                                      struct errbuf *eb);

/* The Model Registry's grammar (specs/mlflow-registry.md section 5), the
 * same parser with its own whitelist. Clauses are joined by AND; an
 * identifier is a bare attribute or attribute.<key>, tag.<key> or
 * tags.<key>. Query shapes (aliases fixed):
 *   registered-models/search: SELECT ... FROM registered_models AS m
 *     <joins> WHERE <caller's conditions> <where> ORDER BY <order>
 *     filter: name (=, !=, LIKE, ILIKE) and tags; order_by: name,
 *     last_updated_timestamp (or timestamp); name ASC is appended unless
 *     ordered on.
 *   model-versions/search: SELECT ... FROM model_versions AS v JOIN
 *     registered_models AS m ON m.model_pk = v.model_pk <joins> WHERE
 *     <caller's conditions> <where> ORDER BY <order>
 *     filter: name, run_id (also IN with a list: ids with upper-case
 *     letters never match, as MLflow drops them), source_path (the
 *     version's source) with string comparators, version_number with
 *     numeric ones, and tags; order_by: name, version_number,
 *     creation_timestamp, last_updated_timestamp; default
 *     last_updated_timestamp DESC, name ASC, version_number DESC, and
 *     name ASC then version_number DESC appended to a given order
 *     unless ordered on.
 * Errors as for filter_build_runs. */
enum srv_err filter_build_registered_models(const char *filter,
                                            const char *const *order_by,
                                            size_t n_order,
                                            struct search_sql *out,
                                            struct errbuf *eb);
enum srv_err filter_build_model_versions(const char *filter,
                                         const char *const *order_by,
                                         size_t n_order, struct search_sql *out,
                                         struct errbuf *eb);

#endif
