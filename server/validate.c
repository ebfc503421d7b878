/* SPDX-License-Identifier: MIT
 *
 * validate: key, id and name rules (see validate.h).
 */
#include "validate.h"

#include "jsonx.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool key_char_ok(unsigned char c)
{
    /* Non-ASCII bytes belong to UTF-8 letters (Python's \w is Unicode);
     * the body was checked to be valid UTF-8. */
    return c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '/' || c == '.' ||
           c == '-' || c == ' ' || c == ':';
}

/* True when posixpath.normpath(key) would not return 'key' unchanged, or
 * the key is one MLflow rejects as a path ("", ".", "..x", "/x"). */
static bool path_unsafe(const char *key)
{
    size_t n = strlen(key);
    if (n == 0 || key[0] == '/' || strcmp(key, ".") == 0 ||
        strncmp(key, "..", 2) == 0 || strncmp(key, "./", 2) == 0)
        return true;
    if (key[n - 1] == '/')
        return true;
    if (strstr(key, "//") || strstr(key, "/./") || strstr(key, "/../"))
        return true;
    if ((n >= 2 && strcmp(key + n - 2, "/.") == 0) ||
        (n >= 3 && strcmp(key + n - 3, "/..") == 0))
        return true;
    return false;
}

enum srv_err validate_key(const char *key, const char *what, struct errbuf *eb)
{
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        if (!key_char_ok(*p))
            return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                           "Invalid value \"%.260s\" for parameter 'key' "
                           "supplied. Names may only contain alphanumerics, "
                           "underscores (_), dashes (-), periods (.), spaces "
                           "( ), colon(:) and slashes (/).",
                           key);
    }
    if (path_unsafe(key))
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Invalid value \"%.260s\" for parameter 'key' "
                       "supplied. Names may be treated as files in certain "
                       "cases, and must not resolve to other names when "
                       "treated as such.",
                       key);
    size_t len = jx_utf8_len(key);
    if (len > MAX_ENTITY_KEY_LENGTH)
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "%s '%.40s...' is invalid: 'key' exceeds the maximum "
                       "length of %d characters (got %zu)",
                       what, key, MAX_ENTITY_KEY_LENGTH, len);
    return SRV_OK;
}

static bool word_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_';
}

enum srv_err validate_run_id_format(const char *run_id, struct errbuf *eb)
{
    size_t n = strlen(run_id);
    bool ok = n >= 1 && n <= 256 && word_char((unsigned char)run_id[0]) &&
              run_id[0] != '_';
    for (size_t i = 1; ok && i < n; i++)
        ok = word_char((unsigned char)run_id[i]) || run_id[i] == '-';
    if (!ok)
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
    if (!name || !*name)
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Invalid experiment name: '%s'. Experiment names "
                       "must be non-empty strings.",
                       name ? name : "");
    size_t len = jx_utf8_len(name);
    if (len > MAX_EXPERIMENT_NAME_LENGTH)
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Experiment name '%.40s...' had length %zu, which "
                       "exceeded length limit of %d",
                       name, len, MAX_EXPERIMENT_NAME_LENGTH);
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
