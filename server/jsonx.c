/* SPDX-License-Identifier: MIT
 *
 * jsonx: request-field getters with MLflow's leniency and messages.
 */
#include "jsonx.h"

#include "messages.h"
#include "numtext.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* Moves '*pos' past the next number literal of text[0, len) outside
 * strings; true when it has a fraction or an exponent. */
static bool next_number_is_float(const char *text, size_t len, size_t *pos)
{
    size_t i = *pos;
    bool in_str = false;
    for (; i < len; i++) {
        char c = text[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            break;
        }
    }
    bool fl = false;
    for (; i < len; i++) {
        char c = text[i];
        if (c == '.' || c == 'e' || c == 'E')
            fl = true;
        else if (!(c == '-' || c == '+' || (c >= '0' && c <= '9')))
            break;
    }
    *pos = i;
    return fl;
}

/* Sets JX_FLOAT_LITERAL on the numbers of 'v' that 'text' wrote as
 * floats. The text's numbers (outside strings) and the tree's (depth
 * first, in order) are the same sequence; '*pos' is the text cursor. The
 * recursion is bounded by cJSON's nesting limit. */
static void mark_floats(cJSON *v, const char *text, size_t len, size_t *pos)
{
    for (; v; v = v->next) {
        if (cJSON_IsNumber(v)) {
            if (next_number_is_float(text, len, pos))
                v->type |= JX_FLOAT_LITERAL;
        } else if (v->child) {
            mark_floats(v->child, text, len, pos);
        }
    }
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
        if (again) {
            size_t pos = 0;
            mark_floats(again, inner, strlen(inner), &pos);
        }
        cJSON_Delete(root);
        root = again;
        if (!root)
            return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                           "Malformed JSON in request body");
    } else {
        size_t pos = 0;
        mark_floats(root, body, len, &pos);
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

/*---- values as Python shows them ----*/

const char *jx_py_type(const cJSON *v)
{
    if (cJSON_IsBool(v))
        return "bool";
    if (cJSON_IsNumber(v))
        return v->type & JX_FLOAT_LITERAL ? "float" : "int";
    if (cJSON_IsString(v))
        return "str";
    if (cJSON_IsArray(v))
        return "list";
    if (cJSON_IsObject(v))
        return "dict";
    return "NoneType";
}

const char *jx_py_float(double d, char *buf, size_t len)
{
    if (isnan(d)) {
        snprintf(buf, len, "nan");
        return buf;
    }
    if (isinf(d)) {
        snprintf(buf, len, d < 0 ? "-inf" : "inf");
        return buf;
    }
    /* The shortest digits that read back as 'd' (Python's repr), then
     * Python's layout: positional for exponents -4..15, else d.ddde+XX. */
    char e[40];
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(e, sizeof(e), "%.*e", prec - 1, d);
        if (strtod(e, NULL) == d)
            break;
    }
    snprintf(e, sizeof(e), "%.*e", prec - 1, d);
    char digits[24] = {0};
    size_t nd = 0;
    const char *p = e;
    bool neg = *p == '-';
    if (neg)
        p++;
    for (; *p && *p != 'e'; p++) {
        if (*p >= '0' && *p <= '9' && nd < sizeof(digits) - 1)
            digits[nd++] = *p;
    }
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';
    int exp = *p == 'e' ? (int)strtol(p + 1, NULL, 10) : 0;
    struct strbuf sb;
    strbuf_init(&sb);
    if (neg)
        strbuf_append_char(&sb, '-');
    if (exp < -4 || exp >= 16) {
        strbuf_append_char(&sb, digits[0]);
        if (nd > 1) {
            strbuf_append_char(&sb, '.');
            strbuf_append_str(&sb, digits + 1);
        }
        strbuf_printf(&sb, "e%c%02d", exp < 0 ? '-' : '+', abs(exp));
    } else if (exp < 0) {
        strbuf_append_str(&sb, "0.");
        for (int i = -1; i > exp; i--)
            strbuf_append_char(&sb, '0');
        strbuf_append_str(&sb, digits);
    } else {
        for (int i = 0; i <= exp; i++)
            strbuf_append_char(&sb, (size_t)i < nd ? digits[i] : '0');
        strbuf_append_char(&sb, '.');
        if ((size_t)exp + 1 < nd)
            strbuf_append_str(&sb, digits + exp + 1);
        else
            strbuf_append_char(&sb, '0');
    }
    snprintf(buf, len, "%s", sb.buf && !sb.oom ? sb.buf : "?");
    strbuf_cleanup(&sb);
    return buf;
}

/* Python's repr() of a str: single quotes unless the text has one and no
 * double quote; escapes for the quote, backslash and control characters.
 * Other characters (UTF-8) are shown as they are. */
void jx_py_repr_str(struct strbuf *sb, const char *s)
{
    char q = strchr(s, '\'') && !strchr(s, '"') ? '"' : '\'';
    strbuf_append_char(sb, q);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == q || *p == '\\') {
            strbuf_append_char(sb, '\\');
            strbuf_append_char(sb, (char)*p);
        } else if (*p == '\n') {
            strbuf_append_str(sb, "\\n");
        } else if (*p == '\r') {
            strbuf_append_str(sb, "\\r");
        } else if (*p == '\t') {
            strbuf_append_str(sb, "\\t");
        } else if (*p < 0x20 || *p == 0x7f) {
            strbuf_printf(sb, "\\x%02x", *p);
        } else {
            strbuf_append_char(sb, (char)*p);
        }
    }
    strbuf_append_char(sb, q);
}

static void py_repr(struct strbuf *sb, const cJSON *v)
{
    if (cJSON_IsString(v)) {
        jx_py_repr_str(sb, v->valuestring);
    } else if (cJSON_IsArray(v) || cJSON_IsObject(v)) {
        bool obj = cJSON_IsObject(v);
        strbuf_append_char(sb, obj ? '{' : '[');
        for (const cJSON *it = v->child; it && !sb->oom; it = it->next) {
            if (it != v->child)
                strbuf_append_str(sb, ", ");
            if (obj) {
                jx_py_repr_str(sb, it->string ? it->string : "");
                strbuf_append_str(sb, ": ");
            }
            py_repr(sb, it);
        }
        strbuf_append_char(sb, obj ? '}' : ']');
    } else {
        jx_py_str(sb, v);
    }
}

void jx_py_str(struct strbuf *sb, const cJSON *v)
{
    char num[40];
    if (cJSON_IsString(v))
        strbuf_append_str(sb, v->valuestring);
    else if (cJSON_IsNumber(v) && (v->type & JX_FLOAT_LITERAL))
        strbuf_append_str(sb, jx_py_float(v->valuedouble, num, sizeof(num)));
    else if (cJSON_IsNumber(v))
        strbuf_printf(sb, "%lld", (long long)v->valuedouble);
    else if (cJSON_IsBool(v))
        strbuf_append_str(sb, cJSON_IsTrue(v) ? "True" : "False");
    else if (cJSON_IsArray(v) || cJSON_IsObject(v))
        py_repr(sb, v);
    else
        strbuf_append_str(sb, "None");
}

enum srv_err jx_invalid(const cJSON *v, const char *field, struct errbuf *eb)
{
    struct strbuf sb;
    strbuf_init(&sb);
    jx_py_str(&sb, v);
    enum srv_err e =
        err_set(eb, MSG_INVALID_PARAM, sb.buf && !sb.oom ? sb.buf : "", field,
                jx_py_type(v));
    strbuf_cleanup(&sb);
    return e;
}

static enum srv_err invalid_value(const cJSON *v, const char *field,
                                  struct errbuf *eb)
{
    return jx_invalid(v, field, eb);
}

static enum srv_err missing(const char *field, struct errbuf *eb)
{
    return err_set(eb, MSG_MISSING_PARAM, field);
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

/* An int64 sent as text: a strict decimal integer (numtext.h). */
static bool parse_i64_text(const char *s, int64_t *out)
{
    return numtext_i64(s, out);
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
        /* protobuf's spellings "NaN", "Infinity", "-Infinity", else a
         * strict decimal (numtext.h): not "nan" (MLflow refuses it), not
         * hex, no '+' or spaces. A decimal past the double range is an
         * infinity, as in MLflow (which then stores the largest double). */
        const char *s = v->valuestring;
        if (!*s)
            return required ? missing(field, eb) : SRV_OK;
        if (!numtext_double(s, NUMTEXT_SPECIALS | NUMTEXT_OVERFLOW, &d))
            return invalid_value(v, field, eb);
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
        return err_set(eb, MSG_INVALID_BOOL, v->valuestring);
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
