/* SPDX-License-Identifier: MIT
 *
 * tokens: API tokens under /api/2.0/greentrack/tokens/ (create, list,
 * revoke). A token acts as its user, capped by its permission ceiling
 * and, when it names one, limited to one experiment (auth.c). The secret
 * ("gtk_" and 64 hex digits) is answered once, by create; the store keeps
 * its hash. Only callers whose credential is not itself capped may create
 * tokens, so a token can never mint a stronger one.
 */
#include "auth.h"
#include "handlers/handlers.h"
#include "jsonx.h"
#include "validate.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum srv_err need_user(const struct request *req, struct errbuf *eb)
{
    if (req->user.set)
        return SRV_OK;
    return err_set(eb, SRV_E_BAD_REQUEST,
                   "Authentication is off (start the server with --auth): "
                   "there are no tokens");
}

static void ms_or_null(struct strbuf *sb, const char *key, int64_t ms)
{
    if (ms)
        strbuf_printf(sb, ",\"%s\":%" PRId64, key, ms);
    else
        strbuf_printf(sb, ",\"%s\":null", key);
}

static void str_or_null(struct strbuf *sb, const char *key, const char *v)
{
    strbuf_printf(sb, ",\"%s\":", key);
    if (v && *v)
        strbuf_append_json_str(sb, v, strlen(v));
    else
        strbuf_append_str(sb, "null");
}

static void token_json(struct strbuf *sb, const struct auth_token_row *t,
                       bool full)
{
    strbuf_printf(sb, "{\"id\":%" PRId64 ",\"name\":", t->id);
    strbuf_append_json_str(sb, t->name, strlen(t->name));
    ms_or_null(sb, "created", t->created);
    ms_or_null(sb, "expires", t->expires);
    str_or_null(sb, "permission_ceiling", t->permission_ceiling);
    str_or_null(sb, "experiment_id", t->experiment_id);
    if (full) {
        ms_or_null(sb, "last_used", t->last_used);
        strbuf_printf(sb, ",\"revoked\":%s", t->revoked ? "true" : "false");
    }
    strbuf_append_char(sb, '}');
}

struct token_pending {
    struct auth_pending p; /* first */
    struct auth_token_row row;
};

static enum handler_result after_create(struct request *req,
                                        struct response *res)
{
    struct token_pending *tp = req->state;
    tp->row.id = tp->p.a.out_id;
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_str(&sb, "{\"token\":");
    token_json(&sb, &tp->row, false);
    strbuf_append_str(&sb, ",\"secret\":");
    strbuf_append_json_str(&sb, tp->p.secret, strlen(tp->p.secret));
    strbuf_append_char(&sb, '}');
    api_ok(res, &sb);
    return H_DONE;
}

/* POST tokens/create {name, expires_in_days?, permission_ceiling?,
 * experiment_id?} -> {"token": {...}, "secret": "gtk_..."} */
enum handler_result h_tokens_create(struct request *req, struct response *res)
{
    struct errbuf eb;
    const char *name, *ceiling;
    int64_t days = 0, exp_id;
    bool has_days, has_exp;
    char exp[64];
    enum srv_err e;
    if ((e = need_user(req, &eb)) ||
        (e = jx_str(req->args, "name", true, &name, &eb)) ||
        (e = jx_i64(req->args, "expires_in_days", false, &has_days, &days,
                    &eb)) ||
        (e = jx_str(req->args, "permission_ceiling", false, &ceiling, &eb)) ||
        (e = jx_id(req->args, "experiment_id", false, exp, sizeof(exp),
                   &has_exp, &eb)))
        return h_fail(res, e, &eb);
    if (strlen(name) > 255)
        return h_fail(res,
                      err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                              "Token name is longer than 255 characters"),
                      &eb);
    if (has_days && (days < 1 || days > 3650))
        return h_fail(res,
                      err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                              "expires_in_days must be between 1 and 3650"),
                      &eb);
    int level = -1;
    if (ceiling && *ceiling) {
        level = auth_level_parse(ceiling);
        if (level < AUTH_READ)
            return h_fail(res,
                          err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                                  "Invalid permission_ceiling '%.50s': one "
                                  "of READ, EDIT, MANAGE",
                                  ceiling),
                          &eb);
    }
    if (has_exp && !validate_parse_experiment_id(exp, &exp_id))
        return h_fail(res,
                      err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                              "Invalid experiment_id '%.50s'", exp),
                      &eb);
    if (req->user.ceiling >= 0 || req->user.scope[0])
        return h_fail(res,
                      err_set(&eb, SRV_E_PERMISSION_DENIED,
                              "A token with a ceiling or an experiment "
                              "cannot create tokens"),
                      &eb);
    struct token_pending *tp = api_pending(req, sizeof(*tp), after_create);
    if (!tp)
        return h_fail(res, SRV_E_NOMEM, NULL);
    struct auth_pending *p = &tp->p;
    p->w.kind = SW_AUTH;
    p->w.auth = &p->a;
    p->a.op = AUTH_TOKEN_CREATE;
    p->a.now = store_now_ms();
    memcpy(p->secret, "gtk_", 4);
    auth_random_hex(p->secret + 4, 32);
    auth_secret_hash(p->secret, p->hash);
    p->a.secret_hash = p->hash;
    p->a.user_id = req->user.id;
    p->a.name = name;
    p->a.expires = has_days ? p->a.now + days * 86400 * 1000 : 0;
    p->a.permission = level >= 0 ? auth_level_name(level) : NULL;
    if (has_exp) {
        snprintf(p->resource, sizeof(p->resource), "%" PRId64, exp_id);
        p->a.resource = p->resource;
    }
    struct auth_token_row *r = &tp->row;
    r->user_id = req->user.id;
    snprintf(r->name, sizeof(r->name), "%s", name);
    r->created = p->a.now;
    r->expires = p->a.expires;
    snprintf(r->permission_ceiling, sizeof(r->permission_ceiling), "%s",
             p->a.permission ? p->a.permission : "");
    snprintf(r->experiment_id, sizeof(r->experiment_id), "%s",
             has_exp ? p->resource : "");
    return H_PENDING;
}

/* GET tokens/list[?username=] -> {"tokens": [...]} (no secrets): the
 * caller's, or an admin's pick. */
enum handler_result h_tokens_list(struct request *req, struct response *res)
{
    struct errbuf eb;
    const char *username;
    enum srv_err e;
    if ((e = need_user(req, &eb)) ||
        (e = jx_str(req->args, "username", false, &username, &eb)))
        return h_fail(res, e, &eb);
    int64_t uid = req->user.id;
    if (username && strcmp(username, req->user.name) != 0) {
        if (!req->user.admin_power)
            return h_fail(
                res, err_set(&eb, SRV_E_PERMISSION_DENIED, "Permission denied"),
                &eb);
        struct auth_user_row u;
        if ((e = store_auth_user_by_name(req->app->store, username, &u, &eb)))
            return h_fail(res, e, &eb);
        uid = u.id;
    }
    struct auth_token_row *rows;
    size_t n;
    if ((e = store_auth_tokens(req->app->store, uid, &rows, &n, &eb)))
        return h_fail(res, e, &eb);
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_str(&sb, "{\"tokens\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            strbuf_append_char(&sb, ',');
        token_json(&sb, &rows[i], true);
    }
    strbuf_append_str(&sb, "]}");
    free(rows);
    api_ok(res, &sb);
    return H_DONE;
}

/* POST tokens/revoke {id} -> {}: one of the caller's tokens (an admin:
 * anyone's). */
enum handler_result h_tokens_revoke(struct request *req, struct response *res)
{
    struct errbuf eb;
    int64_t id;
    bool present;
    enum srv_err e;
    if ((e = need_user(req, &eb)) ||
        (e = jx_i64(req->args, "id", true, &present, &id, &eb)))
        return h_fail(res, e, &eb);
    struct auth_pending *p = auth_pending_new(req, AUTH_TOKEN_REVOKE, NULL);
    if (!p)
        return h_fail(res, SRV_E_NOMEM, NULL);
    p->a.id = id;
    p->a.user_id = req->user.admin_power ? 0 : req->user.id;
    return H_PENDING;
}
