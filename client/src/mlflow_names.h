/* SPDX-License-Identifier: MIT
 *
 * mlflow_names: MLflow's naming rules (mlflow/utils/validation.py) and the
 * one greentrack adds, defined once for both sides: the server
 * (server/validate.c) and libgreentrack (client.c, batch.c, energy.c) link
 * this one object, so a name the library accepts is a name the server
 * accepts. Key characters and path safety, lengths in characters (keys,
 * param and tag values, experiment names), the run id format, the
 * log-batch limits, and the reserved "greentrack." metric prefix.
 * Pure functions over NUL-terminated strings: libc only, no allocation,
 * no state, safe from any thread. The messages are each side's own.
 */
#ifndef MLFLOW_NAMES_H
#define MLFLOW_NAMES_H

#include <stdbool.h>
#include <stddef.h>

/* Lengths in Unicode characters (code points), as MLflow counts them. */
#define MLFLOW_MAX_KEY_CHARS 250
#define MLFLOW_MAX_PARAM_VALUE_CHARS 6000
#define MLFLOW_MAX_TAG_VALUE_CHARS 8000
#define MLFLOW_MAX_EXPERIMENT_TAG_VALUE_CHARS 5000
#define MLFLOW_MAX_EXPERIMENT_NAME_CHARS 500
/* runs.name of MLflow's SQL store (greentrack's server keeps longer names
 * in the mlflow.runName tag; libgreentrack refuses them) */
#define MLFLOW_MAX_RUN_NAME_CHARS 250
/* run_id in log-batch: ^[a-zA-Z0-9][\w\-]{0,255}$ */
#define MLFLOW_MAX_RUN_ID_CHARS 256

/* One runs/log-batch request holds at most this many records. */
#define MLFLOW_BATCH_MAX_METRICS 1000
#define MLFLOW_BATCH_MAX_PARAMS 100
#define MLFLOW_BATCH_MAX_TAGS 100
#define MLFLOW_BATCH_MAX_TOTAL 1000

/* Metric keys under this prefix are greentrack's own (derived from a
 * run's energy): logging one is refused. Tags under it are allowed. */
#define GREENTRACK_RESERVED_METRIC_PREFIX "greentrack."

enum mlflow_name_rc {
    MLFLOW_NAME_OK = 0,
    MLFLOW_NAME_BAD_CHAR, /* a key character outside MLflow's set, or a
                             malformed UTF-8 sequence */
    MLFLOW_NAME_BAD_PATH, /* a key that posixpath.normpath would change, or
                             "", ".", "..x", "/x" */
    MLFLOW_NAME_TOO_LONG, /* more characters than the limit */
    MLFLOW_NAME_EMPTY,    /* an empty experiment name */
    MLFLOW_NAME_RESERVED  /* a metric key under the reserved prefix */
};

/* Counts the characters of 's': its code points when it is well-formed
 * UTF-8 (no overlong forms, surrogates or values past U+10FFFF), and
 * (size_t)-1 when it is not. '*bytes' (may be NULL) receives strlen(s). */
size_t mlflow_utf8_chars(const char *s, size_t *bytes);

/* A metric, param or tag key: characters ([A-Za-z0-9_./ :-] and UTF-8
 * letters), path safety, at most MLFLOW_MAX_KEY_CHARS characters, checked
 * in that order. '*bytes' and '*chars' (either may be NULL) receive its
 * length in bytes and characters when the key's characters are valid
 * (also for MLFLOW_NAME_BAD_PATH and MLFLOW_NAME_TOO_LONG). */
enum mlflow_name_rc mlflow_key_check(const char *key, size_t *bytes,
                                     size_t *chars);

/* mlflow_key_check, then MLFLOW_NAME_RESERVED for a key under
 * GREENTRACK_RESERVED_METRIC_PREFIX. */
enum mlflow_name_rc mlflow_metric_key_check(const char *key, size_t *bytes,
                                            size_t *chars);

/* A value or name: well-formed UTF-8 (MLFLOW_NAME_BAD_CHAR otherwise) of
 * at most 'max_chars' characters (MLFLOW_NAME_TOO_LONG). '*bytes' and
 * '*chars' (either may be NULL) as for mlflow_key_check. */
enum mlflow_name_rc mlflow_text_check(const char *s, size_t max_chars,
                                      size_t *bytes, size_t *chars);

/* An experiment name: MLFLOW_NAME_EMPTY for NULL or "", then
 * mlflow_text_check with MLFLOW_MAX_EXPERIMENT_NAME_CHARS. */
enum mlflow_name_rc mlflow_experiment_name_check(const char *name,
                                                 size_t *bytes, size_t *chars);

/* A run id as MLflow's log-batch takes it: [A-Za-z0-9][A-Za-z0-9_-]*, at
 * most 'max_chars' characters (MLFLOW_MAX_RUN_ID_CHARS, or less where the
 * caller stores ids in a smaller buffer). */
bool mlflow_run_id_ok(const char *id, size_t max_chars);

#endif
