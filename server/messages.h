/* SPDX-License-Identifier: MIT
 *
 * messages: MLflow 2.9.2's wording for the failures greentrack reports as
 * MLflow does, in one table, so that one failure reads the same wherever
 * it is found. Each entry is an error code and a printf format, written as
 * the last arguments of err_set:
 *
 *     return err_set(eb, MSG_MISSING_PARAM, "run_id");
 *
 * (the format stays a literal, so -Wformat checks every use). The texts
 * come from mlflow/server/handlers.py, mlflow/utils/validation.py and the
 * SQL store of MLflow 2.9.2; a request value is shown as Python's str()
 * shows it (jx_py_str in jsonx.h: 9.0 for a float, bare text for a
 * string). Messages that are greentrack's own (limits MLflow does not
 * have) stay where they are raised.
 */
#ifndef SERVER_MESSAGES_H
#define SERVER_MESSAGES_H

#include "err.h"

#define MSG_API_DOCS                                                           \
    "See the API docs for more information about request parameters."

/*---- request fields (handlers.py _validate_param_against_schema) ----*/

/* field */
#define MSG_MISSING_PARAM                                                      \
    SRV_E_INVALID_PARAMETER_VALUE,                                             \
        "Missing value for required parameter '%s'. " MSG_API_DOCS
/* value as str(), field, Python type name */
#define MSG_INVALID_PARAM                                                      \
    SRV_E_INVALID_PARAMETER_VALUE,                                             \
        "Invalid value %s for parameter '%s' supplied. Hint: Value was of "    \
        "type '%s'. " MSG_API_DOCS
/* the query value */
#define MSG_INVALID_BOOL                                                       \
    SRV_E_INVALID_PARAMETER_VALUE,                                             \
        "Invalid boolean value: %s, must be 'true' or 'false'."

/*---- names and values (validation.py) ----*/

#define MSG_BAD_CHARACTERS                                                     \
    "Names may only contain alphanumerics, underscores (_), dashes (-), "      \
    "periods (.), spaces ( ), colon(:) and slashes (/)."
/* entity ("metric", "parameter", "tag"), name */
#define MSG_NAME_BAD_CHARS                                                     \
    SRV_E_INVALID_PARAMETER_VALUE, "Invalid %s name: "                         \
                                   "'%s'. " MSG_BAD_CHARACTERS
/* entity, name, posixpath.normpath(name) */
#define MSG_NAME_BAD_PATH                                                      \
    SRV_E_INVALID_PARAMETER_VALUE,                                             \
        "Invalid %s name: '%s'. Names may be treated as files in certain "     \
        "cases, and must not resolve to other names when treated as such. "    \
        "This name would resolve to '%s'"
/* entity ("Metric name", "Param key", "Tag value", ...), the first 250
 * characters (int length, text), length, limit */
#define MSG_LENGTH_LIMIT                                                       \
    SRV_E_INVALID_PARAMETER_VALUE,                                             \
        "%s '%.*s' had length %zu, which exceeded length limit of %zu"
/* run id */
#define MSG_INVALID_RUN_ID SRV_E_INVALID_PARAMETER_VALUE, "Invalid run ID: '%s'"
/* value, key, timestamp (Python str()) */
#define MSG_METRIC_VALUE                                                       \
    SRV_E_INVALID_PARAMETER_VALUE,                                             \
        "Got invalid value %s for metric '%s' (timestamp=%s). Please "         \
        "specify value as a valid double (64-bit floating point)"
/* timestamp, key, value (Python str()); the trailing space is MLflow's */
#define MSG_METRIC_TIMESTAMP                                                   \
    SRV_E_INVALID_PARAMETER_VALUE,                                             \
        "Got invalid timestamp %s for metric '%s' (value=%s). Timestamp "      \
        "must be a nonnegative long (64-bit integer) "
/* limit, entity, count, entity, entity */
#define MSG_BATCH_LIMIT                                                        \
    SRV_E_INVALID_PARAMETER_VALUE,                                             \
        "A batch logging request can contain at most %d %s. Got %zu %s. "      \
        "Please split up %s across multiple requests and try again."
/* the duplicate keys as a Python list */
#define MSG_DUPLICATE_PARAMS                                                   \
    SRV_E_INVALID_PARAMETER_VALUE,                                             \
        "Duplicate parameter keys have been submitted: %s. Please ensure "     \
        "the request contains only one param value per param key."
/* field ("name", "digest", "source", "schema", "profile"), limit */
#define MSG_DATASET_TOO_LONG                                                   \
    SRV_E_INVALID_PARAMETER_VALUE, "Dataset %s exceeds the maximum length of " \
                                   "%d"
/* "key" or "value", limit */
#define MSG_INPUT_TAG_TOO_LONG                                                 \
    SRV_E_INVALID_PARAMETER_VALUE,                                             \
        "InputTag %s exceeds the maximum length of %d"
/* run_name, mlflow.runName tag (int length, text) */
#define MSG_RUN_NAME_CONFLICT                                                  \
    SRV_E_INVALID_PARAMETER_VALUE,                                             \
        "Both 'run_name' argument and 'mlflow.runName' tag are specified, "    \
        "but with different values (run_name='%s', mlflow.runName='%.*s')."
/* model_json */
#define MSG_MODEL_JSON_MALFORMED                                               \
    SRV_E_INVALID_PARAMETER_VALUE,                                             \
        "Malformed model info. \n %s \n is not a valid JSON."
/* the missing fields as a Python set ('a', 'b') */
#define MSG_MODEL_JSON_MISSING                                                 \
    SRV_E_INVALID_PARAMETER_VALUE,                                             \
        "Model json is missing mandatory fields: {%s}"
/* the location */
#define MSG_LOCATION_RUNS_URI                                                  \
    SRV_E_INVALID_PARAMETER_VALUE,                                             \
        "Artifact location cannot be a runs:/ URI. Given: '%s'"

/*---- handlers.py's own checks ----*/

#define MSG_INVALID_PATH SRV_E_INVALID_PARAMETER_VALUE, "Invalid path"
#define MSG_BULK_NO_RUN_ID                                                     \
    SRV_E_INVALID_PARAMETER_VALUE,                                             \
        "GetMetricHistoryBulk request must specify at least one run_id."
/* limit, count */
#define MSG_BULK_TOO_MANY_RUNS                                                 \
    SRV_E_INVALID_PARAMETER_VALUE,                                             \
        "GetMetricHistoryBulk request cannot specify more than %d run_ids. "   \
        "Received %zu run_ids."
#define MSG_BULK_NO_KEY                                                        \
    SRV_E_INVALID_PARAMETER_VALUE,                                             \
        "GetMetricHistoryBulk request must specify a metric_key."
#define MSG_DATASETS_NO_EXPERIMENT                                             \
    SRV_E_INVALID_PARAMETER_VALUE,                                             \
        "SearchDatasets request must specify at least one experiment_id."
/* limit, count */
#define MSG_DATASETS_TOO_MANY                                                  \
    SRV_E_INVALID_PARAMETER_VALUE,                                             \
        "SearchDatasets request cannot specify more than %d experiment_ids. "  \
        "Received %zu experiment_ids."
#define MSG_UPLOAD_NO_RUN                                                      \
    SRV_E_INVALID_PARAMETER_VALUE, "Request must specify run_uuid."
#define MSG_UPLOAD_NO_PATH                                                     \
    SRV_E_INVALID_PARAMETER_VALUE, "Request must specify path."
#define MSG_UPLOAD_NO_DATA                                                     \
    SRV_E_INVALID_PARAMETER_VALUE, "Request must specify data."
#define MSG_UPLOAD_TOO_LARGE                                                   \
    SRV_E_INVALID_PARAMETER_VALUE,                                             \
        "Artifact size is too large. Max size is 10MB."

/*---- the SQL store ----*/

/* run id */
#define MSG_RUN_NOT_FOUND                                                      \
    SRV_E_RESOURCE_DOES_NOT_EXIST, "Run with id=%s not found"
/* experiment id */
#define MSG_EXPERIMENT_NOT_FOUND                                               \
    SRV_E_RESOURCE_DOES_NOT_EXIST, "No Experiment with id=%s exists"
/* max_results (experiments/search; also used for runs/search) */
#define MSG_MAX_RESULTS_POSITIVE                                               \
    SRV_E_INVALID_PARAMETER_VALUE,                                             \
        "Invalid value for max_results. It must be a positive integer, but "   \
        "got %lld"
/* limit, max_results */
#define MSG_MAX_RESULTS_AT_MOST                                                \
    SRV_E_INVALID_PARAMETER_VALUE,                                             \
        "Invalid value for max_results. It must be at most %lld, but got %lld"

#endif
