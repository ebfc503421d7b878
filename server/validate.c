/* SPDX-License-Identifier: MIT
 *
 * validate: key, id and name rules (see validate.h).
 */
#include "validate.h"

#include "jsonx.h"
#include "messages.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* posixpath.normpath(path) into 'out' (as long as 'path' at most). */
static void normpath(const char *path, char *out)
{
    size_t lead = 0;
    if (path[0] == '/')
        lead = path[1] == '/' && path[2] != '/' ? 2 : 1;
    char *w = out;
    for (size_t i = 0; i < lead; i++)
        *w++ = '/';
    char *start = w;
    size_t kept = 0; /* components in out, some of them ".." */
    for (const char *c = path; *c;) {
        while (*c == '/')
            c++;
        if (!*c)
            break;
        const char *end = strchr(c, '/');
        size_t n = end ? (size_t)(end - c) : strlen(c);
        bool dot = n == 1 && c[0] == '.';
        bool dotdot = n == 2 && c[0] == '.' && c[1] == '.';
        char *last = w;
        while (last > start && last[-1] != '/')
            last--;
        bool last_dotdot = w - last == 2 && last[0] == '.' && last[1] == '.';
        if (dot) {
            /* dropped */
        } else if (dotdot && kept && !last_dotdot) {
            w = last > start ? last - 1 : start; /* pop */
            kept--;
        } else if (!(dotdot && lead && !kept)) {
            if (w > start)
                *w++ = '/';
            memcpy(w, c, n);
            w += n;
            kept++;
        }
        c += n;
    }
    if (w == out)
        *w++ = '.';
    *w = '\0';
}

/* MLflow's lower-case entity in name messages for 'what' (the length
 * message's "Metric name", "Param key", "Tag key"). */
static const char *name_entity(const char *what)
{
    if (what[0] == 'M')
        return "metric";
    if (what[0] == 'P')
        return "parameter";
    return "tag";
}

enum srv_err validate_key(const char *key, const char *what, struct errbuf *eb)
{
    size_t chars = 0;
    /* switch without default: -Wswitch names a code left out */
    switch (mlflow_key_check(key, NULL, &chars)) {
    case MLFLOW_NAME_OK:
    case MLFLOW_NAME_EMPTY:    /* not a key's result */
    case MLFLOW_NAME_RESERVED: /* not a key's result */
        return SRV_OK;
    case MLFLOW_NAME_BAD_CHAR:
        return err_set(eb, MSG_NAME_BAD_CHARS, name_entity(what), key);
    case MLFLOW_NAME_BAD_PATH: {
        char *norm = malloc(strlen(key) + 2);
        if (!norm)
            return err_set(eb, SRV_E_NOMEM, "out of memory");
        normpath(key, norm);
        enum srv_err e =
            err_set(eb, MSG_NAME_BAD_PATH, name_entity(what), key, norm);
        free(norm);
        return e;
    }
    case MLFLOW_NAME_TOO_LONG:
        return validate_length_error(what, key, chars, MLFLOW_MAX_KEY_CHARS,
                                     eb);
    }
    return SRV_OK;
}

enum srv_err validate_length_error(const char *what, const char *value,
                                   size_t chars, size_t limit,
                                   struct errbuf *eb)
{
    size_t shown = jx_utf8_prefix(value, 250);
    return err_set(eb, MSG_LENGTH_LIMIT, what, (int)shown, value, chars, limit);
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
        return err_set(eb, MSG_INVALID_RUN_ID, run_id);
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
