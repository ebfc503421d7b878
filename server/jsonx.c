/* SPDX-License-Identifier: MIT
 *
 * jsonx: request-field getters with MLflow's leniency and messages.
 */
#include "jsonx.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define API_DOCS                                                               \
    "See the API docs for more information about request parameters."

/*---- body checks ----*/

/* Length of the UTF-8 sequence at 'p' (at most 'n' bytes available), or 0
 * when it is not well-formed (overlongs, surrogates, > U+10FFFF). */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return n >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
            return 0;
        if (c == 0xE0 && p[1] < 0xA0)
            return 0;
        if (c == 0xED && p[1] >= 0xA0)
            return 0;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 ||
            (p[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && p[1] < 0x90)
            return 0;
        if (c == 0xF4 && p[1] >= 0x90)
            return 0;
        return 4;
    }
    return 0;
}

/* One pass over the raw text: valid UTF-8 everywhere, and no integer
 * literal (outside strings) whose magnitude exceeds 2^53, because cJSON
 * would round it silently. */
static enum srv_err scan_body(const char *body, size_t len, struct errbuf *eb)
{
    const unsigned char *p = (const unsigned char *)body;
    bool in_str = false;
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        if (c >= 0x80) {
            size_t k = utf8_seq(p + i, len - i);
            if (!k)
                return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                               "Request body is not valid UTF-8 (byte %zu)", i);
            i += k;
            continue;
        }
        if (c == 0 || (in_str && c < 0x20))
            return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                           "Malformed JSON in request body: control "
                           "character at byte %zu",
                           i);
        if (in_str) {
            if (c == '\\' && i + 5 < len && p[i + 1] == 'u' &&
                memcmp(p + i + 2, "0000", 4) == 0)
                return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                               "Strings must not contain NUL characters "
                               "(\\u0000 at byte %zu)",
                               i);
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
            i++;
            continue;
        }
        if (c == '"') {
            in_str = true;
            i++;
            continue;
        }
        if ((c >= '0' && c <= '9') || c == '-') {
            size_t start = i, digits = 0;
            bool integral = true;
            if (p[i] == '-')
                i++;
            while (i < len && p[i] >= '0' && p[i] <= '9') {
                i++;
                digits++;
            }
            while (i < len &&
                   (p[i] == '.' || p[i] == 'e' || p[i] == 'E' || p[i] == '+' ||
                    p[i] == '-' || (p[i] >= '0' && p[i] <= '9'))) {
                integral = false;
                i++;
            }
            if (integral && digits >= 16) {
                char tmp[40];
                size_t n =
                    i - start < sizeof(tmp) - 1 ? i - start : sizeof(tmp) - 1;
                memcpy(tmp, body + start, n);
                tmp[n] = '\0';
                errno = 0;
                long long v = strtoll(tmp, NULL, 10);
                if (errno || v > JX_MAX_SAFE_INT || v < -JX_MAX_SAFE_INT)
                    return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                                   "Integer %s is out of range: integers "
                                   "must be within +/-2^53",
                                   tmp);
            }
            continue;
        }
        i++;
    }
    return SRV_OK;
}

enum srv_err jx_parse_body(const char *body, size_t len, cJSON **out,
                           struct errbuf *eb)
{
    size_t i = 0;
    while (i < len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' ||
                       body[i] == '\t'))
        i++;
    if (i == len) {
        *out = cJSON_CreateObject();
        return *out ? SRV_OK : SRV_E_NOMEM;
    }
    enum srv_err e = scan_body(body, len, eb);
    if (e)
        return e;
    const char *end = NULL;
    /* 'body' is NUL-terminated (the scan rejected NUL bytes inside), and
     * cJSON wants the terminator inside the length to accept the end. */
    cJSON *root = cJSON_ParseWithLengthOpts(body, len + 1, &end, 1);
    if (!root)
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Malformed JSON in request body (at byte %ld)",
                       end ? (long)(end - body) : 0L);
    if (cJSON_IsString(root)) {
        /* A double-encoded body from an old client. */
        const char *inner = root->valuestring;
        cJSON *again = NULL;
        if (scan_body(inner, strlen(inner), eb) == SRV_OK)
            again = cJSON_ParseWithOpts(inner, NULL, 1);
        cJSON_Delete(root);
        root = again;
        if (!root)
            return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                           "Malformed JSON in request body");
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Request body must be a JSON object");
    }
    *out = root;
    return SRV_OK;
}

/*---- field getters ----*/

static const cJSON *field_of(const cJSON *obj, const char *field)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
    if (v && cJSON_IsArray(v) && v->valueint == JX_QUERY_VALUES)
        return v->child; /* a query string: the first value counts */
    if (v && cJSON_IsNull(v))
        return NULL;
    return v;
}

static const char *type_name(const cJSON *v)
{
    if (cJSON_IsBool(v))
        return "bool";
    if (cJSON_IsNumber(v))
        return v->valuedouble == floor(v->valuedouble) ? "int" : "float";
    if (cJSON_IsString(v))
        return "str";
    if (cJSON_IsArray(v))
        return "list";
    if (cJSON_IsObject(v))
        return "dict";
    return "NoneType";
}

static enum srv_err invalid_value(const cJSON *v, const char *field,
                                  struct errbuf *eb)
{
    char shown[64];
    if (cJSON_IsString(v))
        snprintf(shown, sizeof(shown), "'%.48s'", v->valuestring);
    else if (cJSON_IsNumber(v))
        snprintf(shown, sizeof(shown), "%.17g", v->valuedouble);
    else if (cJSON_IsBool(v))
        snprintf(shown, sizeof(shown), "%s",
                 cJSON_IsTrue(v) ? "True" : "False");
    else
        snprintf(shown, sizeof(shown), "%s",
                 cJSON_IsArray(v) ? "[...]" : "{...}");
    return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                   "Invalid value %s for parameter '%s' supplied. Hint: "
                   "Value was of type '%s'. " API_DOCS,
                   shown, field, type_name(v));
}

static enum srv_err missing(const char *field, struct errbuf *eb)
{
    return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                   "Missing value for required parameter '%s'. " API_DOCS,
                   field);
}

enum srv_err jx_str(const cJSON *obj, const char *field, bool required,
                    const char **out, struct errbuf *eb)
{
    const cJSON *v = field_of(obj, field);
    *out = NULL;
    if (!v)
        return required ? missing(field, eb) : SRV_OK;
    if (!cJSON_IsString(v))
        return invalid_value(v, field, eb);
    if (required && v->valuestring[0] == '\0')
        return missing(field, eb);
    *out = v->valuestring;
    return SRV_OK;
}

enum srv_err jx_id(const cJSON *obj, const char *field, bool required,
                   char *buf, size_t buflen, bool *present, struct errbuf *eb)
{
    const cJSON *v = field_of(obj, field);
    *present = false;
    buf[0] = '\0';
    if (v && cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d != floor(d) || d < 0 || d > (double)JX_MAX_SAFE_INT)
            return invalid_value(v, field, eb);
        snprintf(buf, buflen, "%lld", (long long)d);
        *present = true;
        return SRV_OK;
    }
    const char *s;
    enum srv_err e = jx_str(obj, field, required, &s, eb);
    if (e || !s)
        return e;
    if (strlen(s) >= buflen)
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Invalid value for parameter '%s': too long", field);
    memcpy(buf, s, strlen(s) + 1);
    *present = true;
    return SRV_OK;
}

enum srv_err jx_run_id(const cJSON *obj, bool allow_uuid, const char **out,
                       struct errbuf *eb)
{
    enum srv_err e = jx_str(obj, "run_id", false, out, eb);
    if (e)
        return e;
    if (*out && **out)
        return SRV_OK;
    if (allow_uuid) {
        e = jx_str(obj, "run_uuid", false, out, eb);
        if (e)
            return e;
        if (*out && **out)
            return SRV_OK;
    }
    return missing("run_id", eb);
}

static bool parse_i64_text(const char *s, int64_t *out)
{
    char *end;
    while (*s == ' ')
        s++;
    if (!*s)
        return false;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

enum srv_err jx_i64(const cJSON *obj, const char *field, bool required,
                    bool *present, int64_t *out, struct errbuf *eb)
{
    const cJSON *v = field_of(obj, field);
    if (present)
        *present = false;
    if (!v || (cJSON_IsString(v) && v->valuestring[0] == '\0'))
        return required ? missing(field, eb) : SRV_OK;
    int64_t n;
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d != floor(d) || fabs(d) > (double)JX_MAX_SAFE_INT)
            return invalid_value(v, field, eb);
        n = (int64_t)d;
    } else if (cJSON_IsString(v)) {
        if (!parse_i64_text(v->valuestring, &n) || n > JX_MAX_SAFE_INT ||
            n < -JX_MAX_SAFE_INT)
            return invalid_value(v, field, eb);
    } else {
        return invalid_value(v, field, eb);
    }
    *out = n;
    if (present)
        *present = true;
    return SRV_OK;
}

enum srv_err jx_double(const cJSON *obj, const char *field, bool required,
                       bool *present, double *out, struct errbuf *eb)
{
    const cJSON *v = field_of(obj, field);
    if (present)
        *present = false;
    if (!v)
        return required ? missing(field, eb) : SRV_OK;
    double d;
    if (cJSON_IsNumber(v)) {
        d = v->valuedouble;
    } else if (cJSON_IsString(v)) {
        const char *s = v->valuestring;
        if (strcmp(s, "NaN") == 0 || strcasecmp(s, "nan") == 0) {
            d = NAN;
        } else if (strcmp(s, "Infinity") == 0 || strcasecmp(s, "inf") == 0) {
            d = INFINITY;
        } else if (strcmp(s, "-Infinity") == 0 || strcasecmp(s, "-inf") == 0) {
            d = -INFINITY;
        } else {
            char *end;
            if (!*s)
                return required ? missing(field, eb) : SRV_OK;
            errno = 0;
            d = strtod(s, &end);
            if (*end || end == s || isnan(d) || isinf(d))
                return invalid_value(v, field, eb);
        }
    } else {
        return invalid_value(v, field, eb);
    }
    *out = d;
    if (present)
        *present = true;
    return SRV_OK;
}

enum srv_err jx_bool(const cJSON *obj, const char *field, bool *present,
                     bool *out, struct errbuf *eb)
{
    const cJSON *v = field_of(obj, field);
    *present = false;
    if (!v)
        return SRV_OK;
    if (cJSON_IsBool(v)) {
        *out = cJSON_IsTrue(v);
    } else if (cJSON_IsString(v) && strcasecmp(v->valuestring, "true") == 0) {
        *out = true;
    } else if (cJSON_IsString(v) && strcasecmp(v->valuestring, "false") == 0) {
        *out = false;
    } else if (cJSON_IsString(v)) {
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Invalid boolean value: %.64s, must be 'true' or "
                       "'false'.",
                       v->valuestring);
    } else {
        return invalid_value(v, field, eb);
    }
    *present = true;
    return SRV_OK;
}

enum srv_err jx_enum(const cJSON *obj, const char *field,
                     const char *const *names, int count, int first_number,
                     bool *present, int *out, struct errbuf *eb)
{
    const cJSON *v = field_of(obj, field);
    *present = false;
    if (!v)
        return SRV_OK;
    int64_t num = -1;
    if (cJSON_IsString(v)) {
        for (int i = 0; i < count; i++) {
            if (strcmp(v->valuestring, names[i]) == 0) {
                *out = i;
                *present = true;
                return SRV_OK;
            }
        }
        if (!parse_i64_text(v->valuestring, &num))
            return invalid_value(v, field, eb);
    } else if (cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble)) {
        num = (int64_t)v->valuedouble;
    } else {
        return invalid_value(v, field, eb);
    }
    if (num < first_number || num >= first_number + count)
        return invalid_value(v, field, eb);
    *out = (int)(num - first_number);
    *present = true;
    return SRV_OK;
}

enum srv_err jx_str_list(const cJSON *obj, const char *field, const char ***out,
                         size_t *count, struct errbuf *eb)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
    *out = NULL;
    *count = 0;
    if (!v || cJSON_IsNull(v))
        return SRV_OK;
    if (!cJSON_IsArray(v))
        return invalid_value(v, field, eb);
    size_t n = (size_t)cJSON_GetArraySize(v);
    *out = calloc(n ? n : 1, sizeof(char *));
    if (!*out)
        return SRV_E_NOMEM;
    const cJSON *it;
    size_t i = 0;
    cJSON_ArrayForEach(it, v)
    {
        if (!cJSON_IsString(it)) {
            free(*out);
            *out = NULL;
            return invalid_value(it, field, eb);
        }
        (*out)[i++] = it->valuestring;
    }
    *count = i;
    return SRV_OK;
}

enum srv_err jx_array(const cJSON *obj, const char *field, const cJSON **out,
                      struct errbuf *eb)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return SRV_OK;
    if (!cJSON_IsArray(v))
        return invalid_value(v, field, eb);
    *out = v;
    return SRV_OK;
}

size_t jx_utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

size_t jx_utf8_prefix(const char *s, size_t max_chars)
{
    size_t chars = 0, i = 0;
    for (; s[i]; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (chars == max_chars)
                break;
            chars++;
        }
    }
    return i;
}
