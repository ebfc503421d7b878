/* SPDX-License-Identifier: MIT
 *
 * validate: MLflow's name and value rules with MLflow's messages, and the
 * limits greentrack adds. The rules themselves are mlflow_names' (one
 * definition shared with libgreentrack); this adds the server's errors.
 */
#ifndef SERVER_VALIDATE_H
#define SERVER_VALIDATE_H

#include "../client/src/mlflow_names.h"
#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The handlers' names for mlflow_names' limits. */
#define MAX_PARAM_VAL_LENGTH MLFLOW_MAX_PARAM_VALUE_CHARS
#define MAX_TAG_VAL_LENGTH MLFLOW_MAX_TAG_VALUE_CHARS
#define MAX_EXPERIMENT_TAG_VAL_LENGTH MLFLOW_MAX_EXPERIMENT_TAG_VALUE_CHARS
#define MAX_BATCH_METRICS MLFLOW_BATCH_MAX_METRICS
#define MAX_BATCH_PARAMS MLFLOW_BATCH_MAX_PARAMS
#define MAX_BATCH_TAGS MLFLOW_BATCH_MAX_TAGS
#define MAX_BATCH_TOTAL MLFLOW_BATCH_MAX_TOTAL
#define SEARCH_MAX_RESULTS_DEFAULT 1000
#define SEARCH_MAX_RESULTS_THRESHOLD 50000

/* A metric/param/tag key: characters, path normalisation and length, with
 * MLflow's messages. 'what' is the entity as MLflow's length message names
 * it: "Metric name", "Param key" or "Tag key" (the character and path
 * messages then say "metric", "parameter" or "tag" name). */
enum srv_err validate_key(const char *key, const char *what, struct errbuf *eb);

/* MSG_LENGTH_LIMIT for 'value' of 'chars' characters over 'limit' ('what'
 * as MLflow names it: "Param value", "Tag value"...). Returns the error. */
enum srv_err validate_length_error(const char *what, const char *value,
                                   size_t chars, size_t limit,
                                   struct errbuf *eb);

/* A metric key: validate_key, and not under greentrack's reserved prefix
 * (GREENTRACK_RESERVED_METRIC_PREFIX). */
enum srv_err validate_metric_key(const char *key, struct errbuf *eb);

/* run_id in log-batch / log-inputs: ^[a-zA-Z0-9][\w\-]{0,255}$ */
enum srv_err validate_run_id_format(const char *run_id, struct errbuf *eb);

/* 32 lowercase hex characters (greentrack's client-chosen run ids). */
bool validate_is_run_uuid(const char *s);

enum srv_err validate_experiment_name(const char *name, struct errbuf *eb);

/* An experiment id as text: digits only (the SQL store's ids). */
bool validate_parse_experiment_id(const char *s, int64_t *out);

#endif
