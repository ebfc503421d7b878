/* SPDX-License-Identifier: MIT
 *
 * common: request-parsing and response helpers shared by the handler
 * files (see handlers.h); not a handler itself.
 */
#include "grid_math.h"
#include "handlers.h"
#include "jsonx.h"
#include "messages.h"
#include "render.h"
#include "validate.h"

#include <stdio.h>
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
        return err_set(eb, MSG_EXPERIMENT_NOT_FOUND, buf);
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
