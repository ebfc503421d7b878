/* SPDX-License-Identifier: MIT
 *
 * validate: MLflow's name and value rules (specs/mlflow-rest.md section 5)
 * and the limits greentrack adds. Pure functions with MLflow's messages.
 */
#ifndef SERVER_VALIDATE_H
#define SERVER_VALIDATE_H

#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_ENTITY_KEY_LENGTH 250
#define MAX_PARAM_VAL_LENGTH 6000
#define MAX_TAG_VAL_LENGTH 8000
#define MAX_EXPERIMENT_TAG_VAL_LENGTH 5000
#define MAX_EXPERIMENT_NAME_LENGTH 500
#define MAX_BATCH_METRICS 1000
#define MAX_BATCH_PARAMS 100
#define MAX_BATCH_TAGS 100
#define MAX_BATCH_TOTAL 1000
#define SEARCH_MAX_RESULTS_DEFAULT 1000
#define SEARCH_MAX_RESULTS_THRESHOLD 50000

/* A metric/param/tag key: characters, path normalisation and length.
 * 'what' names the entity in messages ("Metric name", "Param key"...). */
enum srv_err validate_key(const char *key, const char *what, struct errbuf *eb);

/* run_id in log-batch / log-inputs: ^[a-zA-Z0-9][\w\-]{0,255}$ */
enum srv_err validate_run_id_format(const char *run_id, struct errbuf *eb);

/* 32 lowercase hex characters (greentrack's client-chosen run ids). */
bool validate_is_run_uuid(const char *s);

enum srv_err validate_experiment_name(const char *name, struct errbuf *eb);

/* An experiment id as text: digits only (the SQL store's ids). */
bool validate_parse_experiment_id(const char *s, int64_t *out);

#endif
