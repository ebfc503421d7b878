/* SPDX-License-Identifier: MIT
 *
 * mlflow_names: MLflow's key, value, name and run id rules, shared by the
 * server and libgreentrack (see mlflow_names.h).
 */
#include "mlflow_names.h"

#include <stdint.h>
#include <string.h>

#define NOT_UTF8 ((size_t)-1)

/* Non-ASCII bytes belong to UTF-8 letters (Python's \w is Unicode). */
static bool key_char_ok(unsigned char c)
{
    return c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '/' || c == '.' ||
           c == '-' || c == ' ' || c == ':';
}

/* True when posixpath.normpath(key) would not return 'key' unchanged, or
 * the key is one MLflow rejects as a path ("", ".", "..x", "/x"). 'n' is
 * strlen(key). */
static bool path_unsafe(const char *key, size_t n)
{
    if (n == 0 || key[0] == '/' || key[n - 1] == '/' || strcmp(key, ".") == 0 ||
        strncmp(key, "..", 2) == 0 || strncmp(key, "./", 2) == 0)
        return true;
    if (!memchr(key, '/', n))
        return false;
    return strstr(key, "//") || strstr(key, "/./") || strstr(key, "/../") ||
           (n >= 2 && strcmp(key + n - 2, "/.") == 0) ||
           (n >= 3 && strcmp(key + n - 3, "/..") == 0);
}

/* The length of the well-formed UTF-8 sequence at 's' (a non-ASCII lead
 * byte, 'left' bytes up to the terminator), 0 when it is malformed. */
static size_t utf8_seq(const unsigned char *s, size_t left)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
        len = 2;
        cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3;
        cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (len > left)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

size_t mlflow_utf8_chars(const char *s, size_t *bytes)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), chars = 0;
    if (bytes)
        *bytes = n;
    for (size_t i = 0; i < n; chars++) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t l = utf8_seq(p + i, n - i);
        if (!l)
            return NOT_UTF8;
        i += l;
    }
    return chars;
}

enum mlflow_name_rc mlflow_key_check(const char *key, size_t *bytes,
                                     size_t *chars)
{
    const unsigned char *p = (const unsigned char *)key;
    size_t n = 0, nchars;
    bool ascii = true;
    for (; p[n]; n++) {
        if (!key_char_ok(p[n]))
            return MLFLOW_NAME_BAD_CHAR;
        ascii = ascii && p[n] < 0x80;
    }
    nchars = ascii ? n : mlflow_utf8_chars(key, NULL);
    if (nchars == NOT_UTF8)
        return MLFLOW_NAME_BAD_CHAR;
    if (bytes)
        *bytes = n;
    if (chars)
        *chars = nchars;
    if (path_unsafe(key, n))
        return MLFLOW_NAME_BAD_PATH;
    if (nchars > MLFLOW_MAX_KEY_CHARS)
        return MLFLOW_NAME_TOO_LONG;
    return MLFLOW_NAME_OK;
}

enum mlflow_name_rc mlflow_metric_key_check(const char *key, size_t *bytes,
                                            size_t *chars)
{
    enum mlflow_name_rc rc = mlflow_key_check(key, bytes, chars);
    if (rc == MLFLOW_NAME_OK &&
        strncmp(key, GREENTRACK_RESERVED_METRIC_PREFIX,
                sizeof GREENTRACK_RESERVED_METRIC_PREFIX - 1) == 0)
        rc = MLFLOW_NAME_RESERVED;
    return rc;
}

enum mlflow_name_rc mlflow_text_check(const char *s, size_t max_chars,
                                      size_t *bytes, size_t *chars)
{
    size_t n, nchars = mlflow_utf8_chars(s, &n);
    if (nchars == NOT_UTF8)
        return MLFLOW_NAME_BAD_CHAR;
    if (bytes)
        *bytes = n;
    if (chars)
        *chars = nchars;
    return nchars > max_chars ? MLFLOW_NAME_TOO_LONG : MLFLOW_NAME_OK;
}

enum mlflow_name_rc mlflow_experiment_name_check(const char *name,
                                                 size_t *bytes, size_t *chars)
{
    if (!name || !*name)
        return MLFLOW_NAME_EMPTY;
    return mlflow_text_check(name, MLFLOW_MAX_EXPERIMENT_NAME_CHARS, bytes,
                             chars);
}

bool mlflow_run_id_ok(const char *id, size_t max_chars)
{
    size_t n = 0;
    for (; id[n]; n++) {
        char c = id[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || (n > 0 && (c == '_' || c == '-'));
        if (!ok || n >= max_chars)
            return false;
    }
    return n > 0;
}
