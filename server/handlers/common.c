/* SPDX-License-Identifier: MIT
 *
 * common: request-parsing and response helpers shared by the handler
 * files (see handlers.h); not a handler itself.
 */
#include "grid_math.h"
#include "handlers.h"
#include "jsonx.h"
#include "render.h"
#include "validate.h"

#include <stdlib.h>
#include <string.h>

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
        return err_set(eb, SRV_E_RESOURCE_DOES_NOT_EXIST,
                       "No Experiment with id=%s exists", buf);
    return SRV_OK;
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
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "%s '%.40s...' had length %zu, which exceeded length "
                       "limit of %zu",
                       what, out->s, chars, max);
    out->len = jx_utf8_prefix(out->s, max);
    return SRV_OK;
}

enum srv_err h_kv_list(const cJSON *list, const char *what, size_t max_value,
                       bool truncate, struct kv_ref **out, size_t *n,
                       struct errbuf *eb)
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
    const cJSON *it;
    size_t i = 0;
    enum srv_err e = SRV_OK;
    cJSON_ArrayForEach(it, list)
    {
        const char *key, *value;
        if (!cJSON_IsObject(it)) {
            e = err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                        "Invalid value for parameter 'tags': each entry "
                        "must be an object with 'key' and 'value'");
            break;
        }
        if ((e = jx_str(it, "key", true, &key, eb)) ||
            (e = jx_str(it, "value", false, &value, eb)) ||
            (e = validate_key(key, what, eb)) ||
            (e = h_value(value, what, max_value, truncate, &a[i].value, eb)))
            break;
        a[i].key = key;
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
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Invalid value %lld for parameter 'max_results' "
                       "supplied. It must be at least 1",
                       (long long)v);
    if (v > max)
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Invalid value %lld for parameter 'max_results' "
                       "supplied. It must be at most %lld",
                       (long long)v, (long long)max);
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
