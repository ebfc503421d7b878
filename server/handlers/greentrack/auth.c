/* SPDX-License-Identifier: MIT
 *
 * auth: the web UI's sign-in under /api/2.0/greentrack/auth/: login
 * (a password check throttled like Basic, then the gt_session cookie:
 * HttpOnly, SameSite=Strict, Path=/, Secure over TLS, idle expiry),
 * logout (ends the session and clears the cookie) and whoami (who the
 * request's credentials name, and whether --auth is on at all). The
 * session id goes out once, in Set-Cookie; the store keeps its hash.
 */
#include "auth.h"

#include "handlers/handlers.h"
#include "jsonx.h"

#include <stdio.h>
#include <string.h>

static void user_object(struct strbuf *sb, const struct request_user *u)
{
    strbuf_append_str(sb, "{\"username\":");
    strbuf_append_json_str(sb, u->name, strlen(u->name));
    strbuf_printf(sb, ",\"is_admin\":%s}", u->is_admin ? "true" : "false");
}

static enum handler_result after_login(struct request *req,
                                       struct response *res)
{
    struct auth_pending *p = req->state;
    char cookie[256];
    snprintf(cookie, sizeof(cookie),
             AUTH_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; "
                         "Max-Age=%d%s",
             p->secret, (int)(AUTH_SESSION_IDLE_MS / 1000),
             req->over_tls ? "; Secure" : "");
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_str(&sb, "{\"user\":");
    user_object(&sb, &p->user);
    strbuf_append_char(&sb, '}');
    api_ok(res, &sb);
    if (!api_add_header(res, "Set-Cookie", cookie))
        api_error(res, SRV_E_NOMEM, "out of memory");
    return H_DONE;
}

/* POST auth/login {username, password} -> {"user": {username, is_admin}}
 * and the session cookie; 401 (or 429 when throttled) otherwise. */
enum handler_result h_auth_login(struct request *req, struct response *res)
{
    struct errbuf eb;
    const char *username, *password;
    enum srv_err e;
    if (!req->app->cfg->auth)
        return h_fail(res,
                      err_set(&eb, SRV_E_BAD_REQUEST,
                              "Authentication is off (start the server "
                              "with --auth)"),
                      &eb);
    if ((e = jx_str(req->args, "username", true, &username, &eb)))
        return h_fail(res, e, &eb);
    const cJSON *pw = cJSON_GetObjectItemCaseSensitive(req->args, "password");
    if (!cJSON_IsString(pw))
        return h_fail(res,
                      err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                              "Missing value for required parameter "
                              "'password'."),
                      &eb);
    password = pw->valuestring;
    struct request_user u;
    unsigned retry = 0;
    if ((e = auth_password_login(req, username, password, &u, &retry, &eb))) {
        auth_error_response(req, res, e, eb.msg, retry);
        return H_DONE;
    }
    struct auth_pending *p =
        auth_pending_new(req, AUTH_SESSION_CREATE, after_login);
    if (!p)
        return h_fail(res, SRV_E_NOMEM, NULL);
    p->user = u;
    p->user.method = "session";
    auth_random_hex(p->secret, 32);
    auth_secret_hash(p->secret, p->hash);
    p->a.secret_hash = p->hash;
    p->a.user_id = u.id;
    p->a.expires = p->a.now + AUTH_SESSION_IDLE_MS;
    return H_PENDING;
}

static enum handler_result after_logout(struct request *req,
                                        struct response *res)
{
    (void)req;
    api_ok_empty(res);
    if (!api_add_header(res, "Set-Cookie",
                        AUTH_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; "
                                    "Max-Age=0"))
        api_error(res, SRV_E_NOMEM, "out of memory");
    return H_DONE;
}

/* POST auth/logout -> {}: ends the session of the request's cookie (if
 * any) and clears the cookie. */
enum handler_result h_auth_logout(struct request *req, struct response *res)
{
    const char *c = req->cookie;
    const char *v = NULL;
    const size_t klen = sizeof(AUTH_COOKIE) - 1;
    for (const char *p = c; p && *p; p = strchr(p, ';')) {
        while (*p == ';' || *p == ' ')
            p++;
        if (strncmp(p, AUTH_COOKIE, klen) == 0 && p[klen] == '=') {
            v = p + klen + 1;
            break;
        }
    }
    size_t n = v ? strcspn(v, "; ") : 0;
    if (!n || n >= 96 || !req->app->cfg->auth)
        return after_logout(req, res);
    struct auth_pending *p =
        auth_pending_new(req, AUTH_SESSION_DELETE, after_logout);
    if (!p)
        return h_fail(res, SRV_E_NOMEM, NULL);
    memcpy(p->secret, v, n);
    p->secret[n] = '\0';
    auth_secret_hash(p->secret, p->hash);
    p->a.secret_hash = p->hash;
    return H_PENDING;
}

/* GET auth/whoami -> {"auth_enabled", "user": {username, is_admin} or
 * null, "auth_method": "basic|token|session|none"} (a token adds
 * "token": {id, permission_ceiling, experiment_id}). */
enum handler_result h_auth_whoami(struct request *req, struct response *res)
{
    const struct request_user *u = &req->user;
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_printf(&sb, "{\"auth_enabled\":%s,\"user\":",
                  req->app->cfg->auth ? "true" : "false");
    if (u->set)
        user_object(&sb, u);
    else
        strbuf_append_str(&sb, "null");
    strbuf_printf(&sb, ",\"auth_method\":\"%s\"",
                  u->set && u->method ? u->method : "none");
    if (u->set && u->token_id) {
        strbuf_printf(&sb, ",\"token\":{\"id\":%lld,\"permission_ceiling\":",
                      (long long)u->token_id);
        if (u->ceiling >= 0)
            strbuf_printf(&sb, "\"%s\"", auth_level_name(u->ceiling));
        else
            strbuf_append_str(&sb, "null");
        strbuf_append_str(&sb, ",\"experiment_id\":");
        if (u->scope[0])
            strbuf_append_json_str(&sb, u->scope, strlen(u->scope));
        else
            strbuf_append_str(&sb, "null");
        strbuf_append_char(&sb, '}');
    }
    strbuf_append_char(&sb, '}');
    api_ok(res, &sb);
    return H_DONE;
}
