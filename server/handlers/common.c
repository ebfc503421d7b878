/* SPDX-License-Identifier: MIT
 *
 * common: request-parsing and response helpers shared by the handler
 * files (see handlers.h); not a handler itself.
 */
#include "artifact_store.h"
#include "grid_math.h"
#include "handlers.h"
#include "jsonx.h"
#include "messages.h"
#include "render.h"
#include "validate.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum handler_result h_fail(struct response *res, enum srv_err e,
                           const struct errbuf *eb)
{
    api_error(res, e, eb && eb->msg[0] ? eb->msg : err_code_name(e));
    return H_DONE;
}

enum srv_err h_experiment_id(const cJSON *args, const char *field,
                             bool required, int64_t *out, struct errbuf *eb)
{
    char buf[96];
    bool present;
    enum srv_err e =
        jx_id(args, field, required, buf, sizeof(buf), &present, eb);
    if (e)
        return e;
    if (!present) {
        *out = 0; /* the Default experiment */
        return SRV_OK;
    }
    if (!validate_parse_experiment_id(buf, out))
        return err_set(eb, MSG_EXPERIMENT_NOT_FOUND, buf);
    return SRV_OK;
}

enum srv_err h_open_field(const char *value, const char *field,
                          struct errbuf *eb)
{
    size_t chars = value ? jx_utf8_len(value) : 0;
    if (chars <= H_MAX_OPEN_FIELD_CHARS)
        return SRV_OK;
    return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                   "'%s' exceeds the maximum length of %d characters (got "
                   "%zu)",
                   field, H_MAX_OPEN_FIELD_CHARS, chars);
}

enum srv_err h_value(const char *value, const char *what, size_t max,
                     bool truncate, struct strref *out, struct errbuf *eb)
{
    out->s = value ? value : "";
    out->len = strlen(out->s);
    size_t chars = jx_utf8_len(out->s);
    if (chars <= max)
        return SRV_OK;
    if (!truncate)
        return validate_length_error(what, out->s, chars, max, eb);
    out->len = jx_utf8_prefix(out->s, max);
    return SRV_OK;
}

enum srv_err h_kv_list(const cJSON *list, const char *field, const char *entity,
                       size_t max_value, bool truncate, struct kv_ref **out,
                       size_t *n, struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    if (!list)
        return SRV_OK;
    size_t count = (size_t)cJSON_GetArraySize(list);
    if (count == 0)
        return SRV_OK;
    struct kv_ref *a = calloc(count, sizeof(*a));
    if (!a)
        return err_set(eb, SRV_E_NOMEM, "out of memory");
    char key_what[32], value_what[32];
    snprintf(key_what, sizeof(key_what), "%s key", entity);
    snprintf(value_what, sizeof(value_what), "%s value", entity);
    const cJSON *it;
    size_t i = 0;
    enum srv_err e = SRV_OK;
    cJSON_ArrayForEach(it, list)
    {
        const char *key, *value;
        if (!cJSON_IsObject(it)) {
            e = jx_invalid(list, field, eb);
            break;
        }
        /* an absent key is the empty name (protobuf's default), which
         * MLflow's name check refuses */
        if ((e = jx_str(it, "key", false, &key, eb)) ||
            (e = jx_str(it, "value", false, &value, eb)) ||
            (e = validate_key(key ? key : "", key_what, eb)) ||
            (e = h_value(value, value_what, max_value, truncate, &a[i].value,
                         eb)))
            break;
        a[i].key = key ? key : "";
        i++;
    }
    if (e) {
        free(a);
        return e;
    }
    *out = a;
    *n = i;
    return SRV_OK;
}

enum srv_err h_max_results(const cJSON *args, int64_t dflt, int64_t max,
                           bool zero_is_default, int64_t *out,
                           struct errbuf *eb)
{
    bool present;
    int64_t v;
    enum srv_err e = jx_i64(args, "max_results", false, &present, &v, eb);
    if (e)
        return e;
    if (!present || (v == 0 && zero_is_default)) {
        *out = dflt;
        return SRV_OK;
    }
    if (v < 1)
        return err_set(eb, MSG_MAX_RESULTS_POSITIVE, (long long)v);
    if (v > max)
        return err_set(eb, MSG_MAX_RESULTS_AT_MOST, (long long)max,
                       (long long)v);
    *out = v;
    return SRV_OK;
}

enum handler_result h_created(struct response *res, struct strbuf *body)
{
    api_ok(res, body);
    res->status = 201;
    return H_DONE;
}

enum srv_err h_need_grid(const struct request *req, struct errbuf *eb)
{
    return req->app->grid ? SRV_OK
                          : err_set(eb, SRV_E_UNAVAILABLE,
                                    "Grid-intensity providers are not "
                                    "available in this server");
}

void h_iso_field(struct strbuf *sb, const char *key, int64_t ms)
{
    char buf[40];
    render_str_field(sb, key, grid_format_iso(ms, buf, sizeof(buf)), false);
}

/*---- run artifacts (artifacts/list, /get-artifact, upload-artifact) ----*/

enum srv_err h_check_artifact_path(const struct request *req, const char *path,
                                   struct errbuf *eb)
{
    if (req->target_has_nul)
        return err_set(eb, MSG_INVALID_PATH);
    return artifact_path_check(path, strlen(path), eb);
}

int h_artifact_base(const struct request *req, const char *uri, char *rel,
                    size_t rellen, enum srv_err *e, struct errbuf *eb)
{
    const struct config *cfg = req->app->cfg;
    char loc[4096];
    *e = SRV_OK;
    switch (artifact_resolve_uri(cfg->artifact_root, uri, loc, sizeof(loc))) {
    case ARTIFACT_LOC_ROOT: {
        if ((size_t)snprintf(rel, rellen, "%s", loc) >= rellen) {
            *e = err_set(eb, MSG_INVALID_PATH);
            return -1;
        }
        int fd = artifact_open_base(cfg->artifact_root);
        if (fd < 0)
            *e = err_set(eb, SRV_E_INTERNAL,
                         "The artifact root %s cannot be opened",
                         cfg->artifact_root);
        return fd;
    }
    case ARTIFACT_LOC_EXTERNAL: {
        if (!cfg->allow_external_artifacts) {
            *e = err_set(eb, SRV_E_PERMISSION_DENIED,
                         "The run's artifacts are at '%.300s', outside the "
                         "server's artifact root; the server reads such "
                         "locations only with "
                         "--allow-external-artifact-locations",
                         uri);
            return -1;
        }
        rel[0] = '\0';
        int fd = artifact_open_base(loc);
        if (fd < 0 && errno != ENOENT && errno != ENOTDIR)
            *e = err_set(eb, SRV_E_INTERNAL, "Cannot open '%.300s'", loc);
        return fd;
    }
    case ARTIFACT_LOC_INVALID:
        *e = err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                     "The run's artifact location '%.300s' is not a safe "
                     "path under the artifact root",
                     uri);
        return -1;
    case ARTIFACT_LOC_REMOTE:
        break;
    }
    *e = err_set(eb, SRV_E_NOT_IMPLEMENTED,
                 "The server cannot reach artifacts at '%.300s': it reads "
                 "only its own artifact root",
                 uri);
    return -1;
}

enum handler_result h_send_file(struct request *req, struct response *res,
                                int fd, uint64_t size, const char *path)
{
    uint64_t start = 0, len = size;
    char range[96];
    switch (artifact_parse_range(req->range, size, &start, &len)) {
    case ARTIFACT_RANGE_UNSATISFIABLE:
        close(fd);
        snprintf(range, sizeof(range), "bytes */%" PRIu64, size);
        api_error(res, SRV_E_RANGE_NOT_SATISFIABLE,
                  "The requested range is not satisfiable");
        if (!api_add_header(res, "Content-Range", range))
            return h_fail(res, SRV_E_NOMEM, NULL);
        return H_DONE;
    case ARTIFACT_RANGE_PARTIAL:
        res->status = 206;
        snprintf(range, sizeof(range), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64,
                 start, start + len - 1, size);
        if (!api_add_header(res, "Content-Range", range)) {
            close(fd);
            return h_fail(res, SRV_E_NOMEM, NULL);
        }
        break;
    case ARTIFACT_RANGE_NONE:
        res->status = 200;
        break;
    }
    char disposition[512];
    artifact_disposition(disposition, sizeof(disposition), path);
    res->content_type = artifact_mime_type(path);
    res->file = (struct response_file){true, fd, start, len};
    if (!api_add_header(res, "Content-Disposition", disposition) ||
        !api_add_header(res, "X-Content-Type-Options", "nosniff") ||
        !api_add_header(res, "Accept-Ranges", "bytes"))
        return h_fail(res, SRV_E_NOMEM, NULL); /* http.c closes the file */
    return H_DONE;
}

enum handler_result h_send_file_list(struct response *res, struct strbuf *sb,
                                     const char *open, const char *path,
                                     size_t plen, struct artifact_entry *a,
                                     size_t n)
{
    if (n)
        strbuf_append_str(sb, open);
    for (size_t i = 0; i < n; i++) {
        strbuf_append_str(sb, i ? ",{\"path\":" : "{\"path\":");
        if (plen) {
            struct strbuf p;
            strbuf_init(&p);
            strbuf_append(&p, path, plen);
            strbuf_append_char(&p, '/');
            strbuf_append_str(&p, a[i].name);
            strbuf_append_json_str(sb, p.buf ? p.buf : "", p.len);
            strbuf_cleanup(&p);
        } else {
            strbuf_append_json_str(sb, a[i].name, strlen(a[i].name));
        }
        strbuf_append_str(sb, a[i].is_dir ? ",\"is_dir\":true"
                                          : ",\"is_dir\":false");
        if (!a[i].is_dir) {
            strbuf_append_str(sb, ",\"file_size\":");
            strbuf_append_i64(sb, a[i].size);
        }
        strbuf_append_char(sb, '}');
    }
    if (n)
        strbuf_append_char(sb, ']');
    strbuf_append_char(sb, '}');
    artifact_entries_free(a, n);
    if (sb->oom) {
        strbuf_cleanup(sb);
        return h_fail(res, SRV_E_NOMEM, NULL);
    }
    api_ok(res, sb);
    return H_DONE;
}

enum handler_result h_send_artifact(struct request *req, struct response *res,
                                    const char *uri, const char *path)
{
    struct errbuf eb;
    enum srv_err e;
    char rel[ARTIFACT_MAX_PATH * 2 + 2];
    int base = h_artifact_base(req, uri, rel, sizeof(rel), &e, &eb);
    if (base < 0)
        return h_fail(res,
                      e ? e
                        : err_set(&eb, SRV_E_RESOURCE_DOES_NOT_EXIST,
                                  "No artifact '%.300s' under %.300s", path,
                                  uri),
                      &eb);
    size_t rl = strlen(rel);
    if ((size_t)snprintf(rel + rl, sizeof(rel) - rl, "%s%s", rl ? "/" : "",
                         path) >= sizeof(rel) - rl) {
        close(base);
        return h_fail(res, err_set(&eb, MSG_INVALID_PATH), &eb);
    }
    uint64_t size = 0;
    int fd = artifact_open_read(base, rel, &size, &e, &eb);
    close(base);
    if (fd < 0)
        return h_fail(res, e, &eb);
    return h_send_file(req, res, fd, size, path);
}
