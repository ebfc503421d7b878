/* SPDX-License-Identifier: MIT
 *
 * validate: key, id and name rules (see validate.h).
 */
#include "validate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum srv_err validate_key(const char *key, const char *what, struct errbuf *eb)
{
    size_t len = 0;
    /* switch without default: -Wswitch names a code left out */
    switch (mlflow_key_check(key, NULL, &len)) {
    case MLFLOW_NAME_OK:
    case MLFLOW_NAME_EMPTY:    /* not a key's result */
    case MLFLOW_NAME_RESERVED: /* not a key's result */
        return SRV_OK;
    case MLFLOW_NAME_BAD_CHAR:
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Invalid value \"%.260s\" for parameter 'key' "
                       "supplied. Names may only contain alphanumerics, "
                       "underscores (_), dashes (-), periods (.), spaces "
                       "( ), colon(:) and slashes (/).",
                       key);
    case MLFLOW_NAME_BAD_PATH:
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Invalid value \"%.260s\" for parameter 'key' "
                       "supplied. Names may be treated as files in certain "
                       "cases, and must not resolve to other names when "
                       "treated as such.",
                       key);
    case MLFLOW_NAME_TOO_LONG:
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "%s '%.40s...' is invalid: 'key' exceeds the maximum "
                       "length of %d characters (got %zu)",
                       what, key, MLFLOW_MAX_KEY_CHARS, len);
    }
    return SRV_OK;
}

enum srv_err validate_metric_key(const char *key, struct errbuf *eb)
{
    enum srv_err e = validate_key(key, "Metric name", eb);
    if (e == SRV_OK &&
        mlflow_metric_key_check(key, NULL, NULL) == MLFLOW_NAME_RESERVED)
        e = err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                    "Metric '%.200s' uses the reserved prefix '%s': "
                    "greentrack derives those metrics from the run's "
                    "energy (see runs/log-energy)",
                    key, GREENTRACK_RESERVED_METRIC_PREFIX);
    return e;
}

enum srv_err validate_run_id_format(const char *run_id, struct errbuf *eb)
{
    if (!mlflow_run_id_ok(run_id, MLFLOW_MAX_RUN_ID_CHARS))
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Invalid value \"%.64s\" for parameter 'run_id' "
                       "supplied.",
                       run_id);
    return SRV_OK;
}

bool validate_is_run_uuid(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return n == 32;
}

enum srv_err validate_experiment_name(const char *name, struct errbuf *eb)
{
    size_t len = 0;
    switch (mlflow_experiment_name_check(name, NULL, &len)) {
    case MLFLOW_NAME_OK:
    case MLFLOW_NAME_BAD_CHAR: /* the body was checked to be UTF-8 */
    case MLFLOW_NAME_BAD_PATH:
    case MLFLOW_NAME_RESERVED:
        return SRV_OK;
    case MLFLOW_NAME_EMPTY:
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Invalid experiment name: '%s'. Experiment names "
                       "must be non-empty strings.",
                       name ? name : "");
    case MLFLOW_NAME_TOO_LONG:
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Experiment name '%.40s...' had length %zu, which "
                       "exceeded length limit of %d",
                       name, len, MLFLOW_MAX_EXPERIMENT_NAME_CHARS);
    }
    return SRV_OK;
}

bool validate_parse_experiment_id(const char *s, int64_t *out)
{
    if (!*s || strlen(s) > 15)
        return false;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
    }
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}
