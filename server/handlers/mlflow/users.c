/* SPDX-License-Identifier: MIT
 *
 * users: MLflow's basic-auth users API under /api/2.0/mlflow/users/
 * (specs/mlflow-auth.md section 6): create, get, update-password,
 * update-admin, delete. Who may call which is the route table's
 * (router.c: admins, or the user itself for get and update-password).
 * Passwords are hashed here (Argon2id, auth.c) and never echoed.
 * users/create also takes the /signup page's form (signup.c) and answers
 * it with a page, as MLflow does.
 */
#include "auth.h"
#include "handlers/handlers.h"
#include "jsonx.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Appends MLflow's User entity of 'u' with its grants. */
static enum srv_err user_json(struct store *st, const struct auth_user_row *u,
                              struct strbuf *sb, struct errbuf *eb)
{
    struct auth_perm_row *ep = NULL, *mp = NULL;
    size_t ne = 0, nm = 0;
    enum srv_err e = store_auth_exp_perms(st, NULL, u->id, &ep, &ne, eb);
    if (!e)
        e = store_auth_model_perms(st, NULL, u->id, &mp, &nm, eb);
    if (e) {
        free(ep);
        free(mp);
        return e;
    }
    strbuf_printf(sb, "{\"id\":%" PRId64 ",\"username\":", u->id);
    strbuf_append_json_str(sb, u->username, strlen(u->username));
    strbuf_printf(sb, ",\"is_admin\":%s,\"experiment_permissions\":[",
                  u->is_admin ? "true" : "false");
    for (size_t i = 0; i < ne; i++) {
        strbuf_append_str(sb,
                          i ? ",{\"experiment_id\":" : "{\"experiment_id\":");
        strbuf_append_json_str(sb, ep[i].resource, strlen(ep[i].resource));
        strbuf_printf(sb, ",\"user_id\":%" PRId64 ",\"permission\":\"%s\"}",
                      ep[i].user_id,
                      auth_level_name(auth_level_parse(ep[i].permission)));
    }
    strbuf_append_str(sb, "],\"registered_model_permissions\":[");
    for (size_t i = 0; i < nm; i++) {
        strbuf_append_str(sb, i ? ",{\"name\":" : "{\"name\":");
        strbuf_append_json_str(sb, mp[i].resource, strlen(mp[i].resource));
        strbuf_printf(sb, ",\"user_id\":%" PRId64 ",\"permission\":\"%s\"}",
                      mp[i].user_id,
                      auth_level_name(auth_level_parse(mp[i].permission)));
    }
    strbuf_append_str(sb, "]}");
    free(ep);
    free(mp);
    return SRV_OK;
}

static enum handler_result send_user(struct request *req, struct response *res,
                                     const char *username)
{
    struct errbuf eb;
    struct auth_user_row u;
    enum srv_err e =
        store_auth_user_by_name(req->app->store, username, &u, &eb);
    if (e)
        return h_fail(res, e, &eb);
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_str(&sb, "{\"user\":");
    if ((e = user_json(req->app->store, &u, &sb, &eb))) {
        strbuf_cleanup(&sb);
        return h_fail(res, e, &eb);
    }
    strbuf_append_char(&sb, '}');
    api_ok(res, &sb);
    return H_DONE;
}

/* Appends 's' with HTML's special characters escaped. */
static void html_text(struct strbuf *sb, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<':
            strbuf_append_str(sb, "&lt;");
            break;
        case '>':
            strbuf_append_str(sb, "&gt;");
            break;
        case '&':
            strbuf_append_str(sb, "&amp;");
            break;
        case '"':
            strbuf_append_str(sb, "&quot;");
            break;
        case '\'':
            strbuf_append_str(sb, "&#39;");
            break;
        default:
            strbuf_append_char(sb, *s);
        }
    }
}

/* The answer to the signup form (MLflow: a page that says what happened
 * and goes on to 'next'): 200 HTML; the name shown as text, never as
 * markup or script. */
static enum handler_result form_answer(struct response *res, const char *what,
                                       const char *username, const char *next)
{
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_printf(&sb,
                  "<!doctype html><html><head><meta charset=\"utf-8\">"
                  "<meta http-equiv=\"refresh\" content=\"3; url=%s\">"
                  "<title>greentrack signup</title></head><body><p>",
                  next);
    strbuf_append_str(&sb, what);
    html_text(&sb, username);
    strbuf_printf(&sb, "</p><p><a href=\"%s\">Continue</a></p></body></html>",
                  next);
    api_ok(res, &sb);
    res->content_type = "text/html; charset=utf-8";
    return H_DONE;
}

static enum handler_result after_create(struct request *req,
                                        struct response *res)
{
    struct auth_pending *p = req->state;
    if (req->form)
        return form_answer(res, "Successfully signed up user: ", p->a.username,
                           "/");
    return send_user(req, res, p->a.username);
}

/* MLflow's error for required parameter 'name' missing. */
static enum srv_err missing_arg(struct errbuf *eb, const char *name)
{
    return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                   "Missing value for required parameter '%s'. See the API "
                   "docs for more information about request parameters.",
                   name);
}

/* A string field 'name' that must be present but may be "". */
static enum srv_err present_str(const cJSON *args, const char *name,
                                const char **out, struct errbuf *eb)
{
    enum srv_err e = jx_str(args, name, false, out, eb);
    if (e)
        return e;
    return *out ? SRV_OK : missing_arg(eb, name);
}

/* A password field: present (it may be empty, as in MLflow). */
static enum srv_err password_arg(const cJSON *args, const char **out,
                                 struct errbuf *eb)
{
    return present_str(args, "password", out, eb);
}

/* A username field that may be "" (which the check refuses). */
static enum srv_err username_arg(const cJSON *args, const char **out,
                                 struct errbuf *eb)
{
    enum srv_err e = present_str(args, "username", out, eb);
    if (e)
        return e;
    return auth_validate_username(*out, eb);
}

/* Queues write 'op' (answered by 'after') of user 'username' with the hash
 * of 'password'. */
static enum handler_result queue_password(
    struct request *req, struct response *res, enum auth_op op,
    enum handler_result (*after)(struct request *, struct response *),
    const char *username, const char *password)
{
    struct auth_pending *p = auth_pending_new(req, op, after);
    if (!p)
        return h_fail(res, SRV_E_NOMEM, NULL);
    if (auth_hash_password(password, p->hash, sizeof(p->hash)))
        return h_fail(res, SRV_E_NOMEM, NULL);
    p->a.username = username;
    p->a.password_hash = p->hash;
    return H_PENDING;
}

/* The check that auth is on (BAD_REQUEST otherwise) and the required
 * 'username' of the users calls that name an existing user. */
static enum srv_err user_call(const struct request *req, const char **username,
                              struct errbuf *eb)
{
    enum srv_err e = auth_need_on(req, eb);
    if (e)
        return e;
    return jx_str(req->args, "username", true, username, eb);
}

/* POST users/create {username, password} -> {"user": User} */
enum handler_result h_users_create(struct request *req, struct response *res)
{
    struct errbuf off;
    if (auth_need_on(req, &off))
        return h_fail(res, SRV_E_BAD_REQUEST, &off);
    struct errbuf eb;
    const char *username = NULL, *password = NULL;
    enum srv_err e;
    if ((e = username_arg(req->args, &username, &eb)) ||
        (e = password_arg(req->args, &password, &eb)))
        return h_fail(res, e, &eb);
    if (req->form) { /* the signup page: a taken name is a page too */
        struct auth_user_row u;
        e = store_auth_user_by_name(req->app->store, username, &u, &eb);
        if (!e)
            return form_answer(
                res, "Username has already been taken: ", username, "/signup");
        if (e != SRV_E_RESOURCE_DOES_NOT_EXIST)
            return h_fail(res, e, &eb);
    }
    return queue_password(req, res, AUTH_USER_CREATE, after_create, username,
                          password);
}

/* GET users/get?username= -> {"user": User} */
enum handler_result h_users_get(struct request *req, struct response *res)
{
    struct errbuf eb;
    const char *username;
    enum srv_err e = user_call(req, &username, &eb);
    if (e)
        return h_fail(res, e, &eb);
    return send_user(req, res, username);
}

static enum handler_result after_password(struct request *req,
                                          struct response *res)
{
    struct auth_pending *p = req->state;
    auth_forget_user(p->a.out_id);
    api_ok_empty(res);
    return H_DONE;
}

/* PATCH users/update-password {username, password} -> {}: also ends the
 * user's sessions and revokes its tokens. */
enum handler_result h_users_update_password(struct request *req,
                                            struct response *res)
{
    struct errbuf eb;
    const char *username = NULL, *password = NULL;
    enum srv_err e;
    if ((e = user_call(req, &username, &eb)) ||
        (e = password_arg(req->args, &password, &eb)))
        return h_fail(res, e, &eb);
    return queue_password(req, res, AUTH_USER_SET_PASSWORD, after_password,
                          username, password);
}

/* PATCH users/update-admin {username, is_admin} -> {} */
enum handler_result h_users_update_admin(struct request *req,
                                         struct response *res)
{
    struct errbuf eb;
    const char *username;
    bool present = false, is_admin = false;
    enum srv_err e;
    if ((e = user_call(req, &username, &eb)) ||
        (e = jx_bool(req->args, "is_admin", &present, &is_admin, &eb)))
        return h_fail(res, e, &eb);
    if (!present)
        return h_fail(res, missing_arg(&eb, "is_admin"), &eb);
    struct auth_pending *p = auth_pending_new(req, AUTH_USER_SET_ADMIN, NULL);
    if (!p)
        return h_fail(res, SRV_E_NOMEM, NULL);
    p->a.username = username;
    p->a.is_admin = is_admin;
    return H_PENDING;
}

/* DELETE users/delete {username} -> {}: the user's grants, tokens and
 * sessions go with it. */
enum handler_result h_users_delete(struct request *req, struct response *res)
{
    struct errbuf eb;
    const char *username;
    enum srv_err e = user_call(req, &username, &eb);
    if (e)
        return h_fail(res, e, &eb);
    struct auth_pending *p =
        auth_pending_new(req, AUTH_USER_DELETE, after_password);
    if (!p)
        return h_fail(res, SRV_E_NOMEM, NULL);
    p->a.username = username;
    return H_PENDING;
}
