/* SPDX-License-Identifier: MIT
 *
 * registry: the Model Registry's entities, JSON shapes and rules (see
 * registry.h). The rules and messages are MLflow 2.9.2's
 * (mlflow/utils/validation.py, mlflow/server/handlers.py _validate_source,
 * mlflow/entities/model_registry/).
 */
#include "registry.h"

#include "../client/src/mlflow_names.h"
#include "jsonx.h"
#include "numtext.h"
#include "render.h"
#include "validate.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

const char *const registry_stage_names[REGISTRY_STAGE_COUNT] = {
    "None", "Staging", "Production", "Archived"};

/*---- memory ----*/

void model_version_cleanup(struct model_version *v)
{
    if (!v)
        return;
    free(v->name);
    free(v->current_stage);
    free(v->description);
    free(v->source);
    free(v->run_id);
    free(v->run_link);
    free(v->status);
    free(v->status_message);
    kv_array_free(v->tags, v->n_tags);
    for (size_t i = 0; i < v->n_aliases; i++)
        free(v->aliases[i]);
    free(v->aliases);
    memset(v, 0, sizeof(*v));
}

void model_versions_free(struct model_version *a, size_t n)
{
    for (size_t i = 0; a && i < n; i++)
        model_version_cleanup(&a[i]);
    free(a);
}

void registered_model_cleanup(struct registered_model *m)
{
    if (!m)
        return;
    free(m->name);
    free(m->description);
    model_versions_free(m->latest, m->n_latest);
    kv_array_free(m->tags, m->n_tags);
    for (size_t i = 0; i < m->n_aliases; i++)
        free(m->aliases[i].alias);
    free(m->aliases);
    memset(m, 0, sizeof(*m));
}

void registered_models_free(struct registered_model *a, size_t n)
{
    for (size_t i = 0; a && i < n; i++)
        registered_model_cleanup(&a[i]);
    free(a);
}

/*---- JSON ----*/

static void str_field(struct strbuf *sb, const char *key, const char *v)
{
    if (v)
        render_str_field(sb, key, v, false);
}

static void i64_field(struct strbuf *sb, const char *key, int64_t v)
{
    render_key(sb, key, false);
    strbuf_append_i64(sb, v);
}

/* "key":[{"key":..,"value":..},...], omitted when empty. */
static void tag_list(struct strbuf *sb, const struct kv *tags, size_t n)
{
    if (n == 0)
        return;
    render_key(sb, "tags", false);
    strbuf_append_char(sb, '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            strbuf_append_char(sb, ',');
        strbuf_append_char(sb, '{');
        render_str_field(sb, "key", tags[i].key, true);
        render_str_field(sb, "value", tags[i].value, false);
        strbuf_append_char(sb, '}');
    }
    strbuf_append_char(sb, ']');
}

void registry_render_version(struct strbuf *sb, const struct model_version *v)
{
    strbuf_append_char(sb, '{');
    render_str_field(sb, "name", v->name, true);
    render_key(sb, "version", false);
    strbuf_printf(sb, "\"%lld\"", (long long)v->version);
    i64_field(sb, "creation_timestamp", v->creation_timestamp);
    if (v->last_updated_timestamp)
        i64_field(sb, "last_updated_timestamp", v->last_updated_timestamp);
    str_field(sb, "current_stage", v->current_stage);
    str_field(sb, "description", v->description);
    str_field(sb, "source", v->source);
    str_field(sb, "run_id", v->run_id);
    /* Always present: a client reads a missing status as the enum's first
     * value, PENDING_REGISTRATION, and register_model then waits. */
    render_str_field(sb, "status", v->status ? v->status : "READY", false);
    if (v->status_message && v->status_message[0])
        render_str_field(sb, "status_message", v->status_message, false);
    tag_list(sb, v->tags, v->n_tags);
    str_field(sb, "run_link", v->run_link);
    if (v->n_aliases) {
        render_key(sb, "aliases", false);
        strbuf_append_char(sb, '[');
        for (size_t i = 0; i < v->n_aliases; i++) {
            if (i)
                strbuf_append_char(sb, ',');
            strbuf_append_json_str(sb, v->aliases[i], strlen(v->aliases[i]));
        }
        strbuf_append_char(sb, ']');
    }
    strbuf_append_char(sb, '}');
}

void registry_render_model(struct strbuf *sb, const struct registered_model *m)
{
    strbuf_append_char(sb, '{');
    render_str_field(sb, "name", m->name, true);
    i64_field(sb, "creation_timestamp", m->creation_timestamp);
    if (m->last_updated_timestamp)
        i64_field(sb, "last_updated_timestamp", m->last_updated_timestamp);
    if (m->description && m->description[0])
        render_str_field(sb, "description", m->description, false);
    if (m->n_latest) {
        render_key(sb, "latest_versions", false);
        strbuf_append_char(sb, '[');
        for (size_t i = 0; i < m->n_latest; i++) {
            if (i)
                strbuf_append_char(sb, ',');
            registry_render_version(sb, &m->latest[i]);
        }
        strbuf_append_char(sb, ']');
    }
    tag_list(sb, m->tags, m->n_tags);
    if (m->n_aliases) {
        render_key(sb, "aliases", false);
        strbuf_append_char(sb, '[');
        for (size_t i = 0; i < m->n_aliases; i++) {
            if (i)
                strbuf_append_char(sb, ',');
            strbuf_append_char(sb, '{');
            render_str_field(sb, "alias", m->aliases[i].alias, true);
            render_key(sb, "version", false);
            strbuf_printf(sb, "\"%lld\"", (long long)m->aliases[i].version);
            strbuf_append_char(sb, '}');
        }
        strbuf_append_char(sb, ']');
    }
    strbuf_append_char(sb, '}');
}

/*---- rules ----*/

/* validation.py _validate_length_limit: the first 250 characters. */
static enum srv_err length_error(const char *what, const char *value,
                                 size_t chars, size_t limit, struct errbuf *eb)
{
    size_t shown = jx_utf8_prefix(value, 250);
    return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                   "%s '%.*s' had length %zu, which exceeded length limit of "
                   "%zu",
                   what, (int)shown, value, chars, limit);
}

enum srv_err registry_check_name(const char *name, struct errbuf *eb)
{
    if (!name || !*name)
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Registered model name cannot be empty.");
    size_t chars = mlflow_utf8_chars(name, NULL);
    if (chars != (size_t)-1 && chars > REGISTRY_MAX_NAME_CHARS)
        return length_error("Registered model name", name, chars,
                            REGISTRY_MAX_NAME_CHARS, eb);
    return SRV_OK;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
}

enum srv_err registry_parse_version(const char *text, int64_t *out,
                                    struct errbuf *eb)
{
    if (!text)
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Missing value for required parameter 'version'. See "
                       "the API docs for more information about request "
                       "parameters.");
    const char *p = text;
    while (is_blank(*p))
        p++;
    const char *start = p;
    if (*p == '+' || *p == '-')
        p++;
    const char *digits = p;
    while (*p >= '0' && *p <= '9')
        p++;
    const char *end = p;
    while (is_blank(*p))
        p++;
    if (end == digits || *p || end - digits > 15)
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Model version must be an integer, got '%.100s'", text);
    char buf[24];
    memcpy(buf, start, (size_t)(end - start));
    buf[end - start] = '\0';
    *out = strtoll(buf, NULL, 10);
    return SRV_OK;
}

enum srv_err registry_parse_stage(const char *text, enum registry_stage *out,
                                  struct errbuf *eb)
{
    for (int i = 0; text && i < REGISTRY_STAGE_COUNT; i++) {
        if (strcasecmp(text, registry_stage_names[i]) == 0) {
            *out = (enum registry_stage)i;
            return SRV_OK;
        }
    }
    return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                   "Invalid Model Version stage: %.100s. Value must be one "
                   "of None, Staging, Production, Archived.",
                   text ? text : "None");
}

enum srv_err registry_check_alias(const char *alias, struct errbuf *eb)
{
    if (!alias || !*alias)
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Registered model alias name cannot be empty.");
    /* ^[\w\-]*$: Python's \w also takes non-ASCII letters */
    for (const unsigned char *p = (const unsigned char *)alias; *p; p++) {
        bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
                  *p >= 0x80;
        if (!ok)
            return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                           "Invalid alias name: '%.200s'. Names may only "
                           "contain alphanumerics, underscores (_), and "
                           "dashes (-).",
                           alias);
    }
    size_t chars = mlflow_utf8_chars(alias, NULL);
    if (chars != (size_t)-1 && chars > REGISTRY_MAX_ALIAS_CHARS)
        return length_error("Registered model alias name", alias, chars,
                            REGISTRY_MAX_ALIAS_CHARS, eb);
    if (strcasecmp(alias, "latest") == 0)
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "'latest' alias name (case insensitive) is reserved.");
    if ((alias[0] == 'v' || alias[0] == 'V') && alias[1]) {
        const char *p = alias + 1;
        while (*p >= '0' && *p <= '9')
            p++;
        if (!*p)
            return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                           "Version alias name '%s' is reserved.", alias);
    }
    return SRV_OK;
}

enum srv_err registry_check_tag(const char *key, const char *value,
                                bool of_version, struct errbuf *eb)
{
    const char *entity = of_version ? "Model version" : "Registered model";
    if (!key)
        key = "";
    size_t chars = 0;
    enum mlflow_name_rc rc = mlflow_key_check(key, NULL, &chars);
    /* MLflow 2.9.2's key characters have no ':' (later ones do) */
    if (rc == MLFLOW_NAME_BAD_CHAR || strchr(key, ':') != NULL)
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Invalid tag name: '%.250s'. Names may only contain "
                       "alphanumerics, underscores (_), dashes (-), periods "
                       "(.), spaces ( ), and slashes (/).",
                       key);
    if (rc == MLFLOW_NAME_BAD_PATH)
        return validate_key(key, "Tag key", eb); /* its path message */
    if (rc == MLFLOW_NAME_TOO_LONG) {
        char what[40];
        snprintf(what, sizeof(what), "%s key", entity);
        return length_error(what, key, chars, REGISTRY_MAX_TAG_KEY_CHARS, eb);
    }
    if (!value)
        return SRV_OK;
    size_t vchars = mlflow_utf8_chars(value, NULL);
    if (vchars != (size_t)-1 && vchars > REGISTRY_MAX_TAG_VALUE_CHARS) {
        char what[40];
        snprintf(what, sizeof(what), "%s value", entity);
        return length_error(what, value, vchars, REGISTRY_MAX_TAG_VALUE_CHARS,
                            eb);
    }
    return SRV_OK;
}

/*---- sources ----*/

/* urllib.parse.unquote_plus, in place; true when it changed anything. A
 * %00 becomes a NUL kept in the length '*len'. */
static bool unquote_plus(char *s, size_t *len)
{
    size_t r = 0, w = 0, n = *len;
    bool changed = false;
    while (r < n) {
        if (s[r] == '+') {
            s[w++] = ' ';
            r++;
            changed = true;
        } else if (s[r] == '%' && r + 2 < n &&
                   numtext_hex_digit(s[r + 1]) >= 0 &&
                   numtext_hex_digit(s[r + 2]) >= 0) {
            s[w++] = (char)(numtext_hex_digit(s[r + 1]) * 16 +
                            numtext_hex_digit(s[r + 2]));
            r += 3;
            changed = true;
        } else {
            s[w++] = s[r++];
        }
    }
    s[w] = '\0';
    *len = w;
    return changed;
}

/* The parts of a URI as urllib.parse.urlsplit cuts them: the scheme
 * (lower case, "" when none), the netloc and the path, pointers into a
 * copy the caller frees. */
struct uri_parts {
    char *copy;
    char scheme[32];
    const char *netloc; /* NULL when there is no "//" */
    size_t netloc_len;
    const char *path;
    size_t path_len;
};

static bool is_scheme_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
}

static bool uri_split(const char *uri, size_t len, struct uri_parts *u)
{
    memset(u, 0, sizeof(*u));
    u->copy = malloc(len + 1);
    if (!u->copy)
        return false;
    memcpy(u->copy, uri, len);
    u->copy[len] = '\0';
    const char *p = u->copy, *end = u->copy + len;
    const char *colon = memchr(p, ':', len);
    if (colon && colon > p && colon - p < (ptrdiff_t)sizeof(u->scheme) &&
        ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) {
        bool ok = true;
        for (const char *c = p; c < colon; c++)
            ok = ok && is_scheme_char(*c);
        if (ok) {
            size_t n = (size_t)(colon - p);
            for (size_t i = 0; i < n; i++) {
                char c = p[i];
                u->scheme[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
            }
            u->scheme[n] = '\0';
            p = colon + 1;
        }
    }
    if (end - p >= 2 && p[0] == '/' && p[1] == '/') {
        p += 2;
        const char *q = p;
        while (q < end && *q != '/' && *q != '?' && *q != '#')
            q++;
        u->netloc = p;
        u->netloc_len = (size_t)(q - p);
        p = q;
    }
    const char *q = p;
    while (q < end && *q != '?' && *q != '#')
        q++;
    u->path = p;
    u->path_len = (size_t)(q - p);
    return true;
}

/* The hostname of a netloc (no userinfo or port), lower case, in 'out'. */
static void netloc_host(const char *netloc, size_t len, char *out,
                        size_t outlen)
{
    const char *at = NULL;
    for (size_t i = 0; i < len; i++)
        if (netloc[i] == '@')
            at = netloc + i;
    const char *h = at ? at + 1 : netloc;
    size_t n = (size_t)(netloc + len - h);
    size_t w = 0;
    bool bracket = n && h[0] == '[';
    for (size_t i = bracket ? 1 : 0; i < n && w + 1 < outlen; i++) {
        char c = h[i];
        if ((bracket && c == ']') || (!bracket && c == ':'))
            break;
        out[w++] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    out[w] = '\0';
}

static bool host_is_local(const char *host)
{
    return !*host || strcmp(host, ".") == 0 ||
           strncmp(host, "localhost", 9) == 0 ||
           strncmp(host, "127.0.0.1", 9) == 0;
}

/* Whether 'path' (len bytes) is absolute and normalised once "//" runs are
 * collapsed and a trailing '/' dropped: no NUL, no "." or ".." segment,
 * not empty. */
static bool path_is_clean(const char *path, size_t len)
{
    while (len > 0 && path[len - 1] == '/')
        len--;
    if (len == 0 || path[0] != '/' || memchr(path, '\0', len))
        return false;
    size_t i = 0;
    while (i < len) {
        while (i < len && path[i] == '/')
            i++;
        size_t s = i;
        while (i < len && path[i] != '/')
            i++;
        size_t n = i - s;
        if ((n == 1 && path[s] == '.') ||
            (n == 2 && path[s] == '.' && path[s + 1] == '.'))
            return false;
    }
    return true;
}

static enum srv_err relative_error(const char *source, struct errbuf *eb)
{
    return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                   "Invalid model version source: '%.200s'. If supplying a "
                   "source as an http, https, local file path, ftp, "
                   "objectstore, or mlflow-artifacts uri, an absolute path "
                   "must be provided without relative path references "
                   "present. Please provide an absolute path.",
                   source);
}

enum srv_err registry_local_source_error(const char *source, struct errbuf *eb)
{
    return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                   "Invalid model version source: '%.200s'. To use a local "
                   "path as a model version source, the run_id request "
                   "parameter has to be specified and the local path has "
                   "to be contained within the artifact directory of the "
                   "run specified by the run_id.",
                   source);
}

enum srv_err registry_check_source(const char *source,
                                   enum registry_source_kind *kind,
                                   struct errbuf *eb)
{
    size_t len = strlen(source);
    struct uri_parts u;
    if (!uri_split(source, len, &u))
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    enum srv_err e = SRV_OK;
    char host[256] = "";
    if (u.netloc)
        netloc_host(u.netloc, u.netloc_len, host, sizeof(host));
    if (u.scheme[0] == '\0') {
        *kind = REGISTRY_SOURCE_LOCAL;
        goto out;
    }
    if (strcmp(u.scheme, "file") == 0) {
        if (!host_is_local(host))
            e = err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                        "%.200s is not a valid remote uri. For remote "
                        "access on windows, please consider using a "
                        "different scheme such as SMB (e.g. "
                        "smb://<hostname>/<path>).",
                        source);
        *kind = REGISTRY_SOURCE_LOCAL;
        goto out;
    }
    /* handlers.py _validate_non_local_source_contains_relative_paths:
     * decode until stable, then judge the URI's path */
    char *dec = malloc(len + 1);
    if (!dec) {
        e = err_set(eb, SRV_E_NOMEM, "out of memory");
        goto out;
    }
    memcpy(dec, source, len + 1);
    size_t dlen = len;
    for (int round = 0; round < 64 && unquote_plus(dec, &dlen); round++)
        ;
    struct uri_parts d;
    if (!uri_split(dec, dlen, &d)) {
        free(dec);
        e = err_set(eb, SRV_E_NOMEM, "out of memory");
        goto out;
    }
    bool clean = path_is_clean(d.path, d.path_len);
    free(d.copy);
    free(dec);
    if (!clean) {
        e = relative_error(source, eb);
        goto out;
    }
    *kind = strcmp(u.scheme, "models") == 0 ? REGISTRY_SOURCE_MODELS
                                            : REGISTRY_SOURCE_REMOTE;
out:
    free(u.copy);
    return e;
}

/* posixpath.normpath of an absolute path, lexically, into a new string. */
static char *norm_abs(const char *path)
{
    size_t n = strlen(path);
    char *out = malloc(n + 2);
    if (!out)
        return NULL;
    size_t w = 0;
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *s = p;
        while (*p && *p != '/')
            p++;
        size_t len = (size_t)(p - s);
        if (len == 1 && s[0] == '.')
            continue;
        if (len == 2 && s[0] == '.' && s[1] == '.') {
            while (w > 0 && out[w - 1] != '/')
                w--;
            if (w > 0)
                w--;
            continue;
        }
        out[w++] = '/';
        memcpy(out + w, s, len);
        w += len;
    }
    if (w == 0)
        out[w++] = '/';
    out[w] = '\0';
    return out;
}

/* local_file_uri_to_path and resolve(): a local path or file: URI as an
 * absolute normalised path (relative ones from the working directory);
 * NULL for anything else or out of memory. */
static char *local_path_of(const char *uri)
{
    const char *path = uri;
    char *decoded = NULL;
    if (strncasecmp(uri, "file:", 5) == 0) {
        struct uri_parts u;
        if (!uri_split(uri, strlen(uri), &u))
            return NULL;
        decoded = malloc(u.path_len + 1);
        if (decoded) {
            memcpy(decoded, u.path, u.path_len);
            decoded[u.path_len] = '\0';
            size_t dl = u.path_len;
            unquote_plus(decoded, &dl);
            if (strlen(decoded) != dl) { /* a %00 */
                free(decoded);
                decoded = NULL;
            }
        }
        free(u.copy);
        if (!decoded)
            return NULL;
        path = decoded;
    } else {
        const char *c = strchr(uri, ':');
        const char *slash = strchr(uri, '/');
        if (c && (!slash || c < slash))
            return NULL; /* another scheme */
    }
    char *abs = NULL;
    if (path[0] == '/') {
        abs = norm_abs(path);
    } else {
        char cwd[4096];
        if (getcwd(cwd, sizeof(cwd))) {
            size_t n = strlen(cwd) + strlen(path) + 2;
            char *joined = malloc(n);
            if (joined) {
                snprintf(joined, n, "%s/%s", cwd, path);
                abs = norm_abs(joined);
                free(joined);
            }
        }
    }
    free(decoded);
    return abs;
}

bool registry_local_source_ok(const char *source, const char *run_artifact_uri)
{
    char *src = local_path_of(source);
    char *dir = run_artifact_uri ? local_path_of(run_artifact_uri) : NULL;
    bool ok = false;
    if (src && dir) {
        size_t n = strlen(dir);
        ok = strncmp(src, dir, n) == 0 &&
             (src[n] == '\0' || src[n] == '/' || (n == 1 && dir[0] == '/'));
    }
    free(src);
    free(dir);
    return ok;
}

bool registry_models_uri(const char *source, char **name, int64_t *version)
{
    *name = NULL;
    if (strncasecmp(source, "models:/", 8) != 0)
        return false;
    const char *p = source + 8;
    const char *slash = strrchr(p, '/');
    if (!slash || slash == p || strchr(p, '/') != slash)
        return false;
    const char *digits = slash + 1;
    size_t nd = strlen(digits);
    if (nd == 0 || nd > 15 || strspn(digits, "0123456789") != nd)
        return false;
    *version = strtoll(digits, NULL, 10);
    size_t n = (size_t)(slash - p);
    *name = malloc(n + 1);
    if (!*name)
        return false;
    memcpy(*name, p, n);
    (*name)[n] = '\0';
    return true;
}

static bool is_hex32(const char *s, size_t n)
{
    if (n != RUN_ID_LEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

static bool copy_id(const char *s, size_t n, char *out, size_t outlen)
{
    if (n == 0 || n >= outlen)
        return false;
    memcpy(out, s, n);
    out[n] = '\0';
    return true;
}

bool registry_source_run(const char *run_id, const char *source, char *out,
                         size_t outlen, const char **how)
{
    if (run_id && *run_id) {
        *how = "the version's run_id";
        return copy_id(run_id, strlen(run_id), out, outlen);
    }
    if (!source)
        return false;
    if (strncmp(source, "runs:/", 6) == 0) {
        const char *id = source + 6;
        size_t n = strcspn(id, "/");
        *how = "the version's runs:/ source";
        return copy_id(id, n, out, outlen);
    }
    /* .../<run id>/artifacts[/...]: the last such segment pair */
    const char *found = NULL;
    for (const char *p = strstr(source, "/artifacts"); p;
         p = strstr(p + 1, "/artifacts")) {
        if (p[10] != '\0' && p[10] != '/')
            continue;
        const char *s = p;
        while (s > source && s[-1] != '/')
            s--;
        if (is_hex32(s, (size_t)(p - s)))
            found = s;
    }
    if (!found)
        return false;
    *how = "the run folder of the version's source";
    return copy_id(found, RUN_ID_LEN, out, outlen);
}
