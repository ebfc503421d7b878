/* SPDX-License-Identifier: MIT
 *
 * users: the admin page's lists under /api/2.0/greentrack/ (MLflow has
 * none): users/list (admins) and experiments/permissions/list (MANAGE on
 * the experiment). Read-only; no password hash leaves the store.
 */
#include "auth.h"
#include "handlers/handlers.h"
#include "jsonx.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* GET users/list -> {"users": [{id, username, is_admin}]} */
enum handler_result h_gt_users_list(struct request *req, struct response *res)
{
    struct errbuf off;
    if (auth_need_on(req, &off))
        return h_fail(res, SRV_E_BAD_REQUEST, &off);
    struct errbuf eb;
    struct auth_user_row *rows;
    size_t n;
    enum srv_err e = store_auth_users(req->app->store, &rows, &n, &eb);
    if (e)
        return h_fail(res, e, &eb);
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_str(&sb, "{\"users\":[");
    for (size_t i = 0; i < n; i++) {
        strbuf_printf(&sb, "%s{\"id\":%" PRId64 ",\"username\":", i ? "," : "",
                      rows[i].id);
        strbuf_append_json_str(&sb, rows[i].username, strlen(rows[i].username));
        strbuf_printf(&sb, ",\"is_admin\":%s}",
                      rows[i].is_admin ? "true" : "false");
    }
    strbuf_append_str(&sb, "]}");
    free(rows);
    api_ok(res, &sb);
    return H_DONE;
}

/* GET experiments/permissions/list?experiment_id= ->
 * {"permissions": [{username, user_id, permission}]} */
enum handler_result h_gt_experiment_permissions_list(struct request *req,
                                                     struct response *res)
{
    struct errbuf off;
    if (auth_need_on(req, &off))
        return h_fail(res, SRV_E_BAD_REQUEST, &off);
    struct errbuf eb;
    char id[64];
    bool present;
    enum srv_err e =
        jx_id(req->args, "experiment_id", true, id, sizeof(id), &present, &eb);
    if (e)
        return h_fail(res, e, &eb);
    struct auth_perm_row *rows;
    size_t n;
    if ((e = store_auth_exp_perms(req->app->store, id, 0, &rows, &n, &eb)))
        return h_fail(res, e, &eb);
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_str(&sb, "{\"permissions\":[");
    for (size_t i = 0; i < n; i++) {
        strbuf_append_str(&sb, i ? ",{\"username\":" : "{\"username\":");
        strbuf_append_json_str(&sb, rows[i].username, strlen(rows[i].username));
        strbuf_printf(&sb, ",\"user_id\":%" PRId64 ",\"permission\":\"%s\"}",
                      rows[i].user_id,
                      auth_level_name(auth_level_parse(rows[i].permission)));
    }
    strbuf_append_str(&sb, "]}");
    free(rows);
    api_ok(res, &sb);
    return H_DONE;
}
