/* SPDX-License-Identifier: MIT
 *
 * write_auth: the write executors of users, permissions, tokens and
 * sessions, which the store's writer runs for SW_AUTH inside its
 * transaction (store_auth_exec), and the owner grants that experiment and
 * model creation add in the same transaction. Secrets never reach this
 * file: it stores hashes only.
 */
#include "auth_sql.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum srv_err user_id_of(struct conn *c, const char *username,
                               int64_t *id, struct errbuf *eb)
{
    struct db_stmt *s = store_auth_stmt(c, A_USER_BY_NAME);
    if (!s)
        return store_conn_error(c, eb, "user lookup");
    store_bind_str(s, 1, username);
    bool found;
    enum srv_err e = store_step_int64(c, s, id, &found, eb, "user lookup");
    if (e || found)
        return e;
    return err_set(eb, SRV_E_RESOURCE_DOES_NOT_EXIST,
                   "User with username=%.250s not found", username);
}

/* Steps 's' (a write, or an insert whose RETURNING gives the new row's
 * id, written to '*id' when not NULL); a unique-key clash is 'exists', no
 * row changed 'missing' (when not NULL). */
static enum srv_err step_write_id(struct conn *c, struct db_stmt *s,
                                  struct errbuf *eb, const char *what,
                                  const char *exists, const char *missing,
                                  int64_t *id)
{
    if (!s)
        return store_conn_error(c, eb, what);
    int rc = db_step(s);
    if (rc == DB_ROW && id) {
        *id = db_column_int64(s, 0);
        rc = DB_DONE;
    }
    int64_t changed = rc == DB_DONE && !id ? db_changes(s) : 1;
    db_reset(s);
    if (rc == DB_ERROR && exists &&
        db_error_kind(store_conn_db(c)) == DB_ERR_UNIQUE)
        return err_set(eb, SRV_E_RESOURCE_ALREADY_EXISTS, "%s", exists);
    if (rc != DB_DONE)
        return store_conn_error(c, eb, what);
    if (missing && changed == 0)
        return err_set(eb, SRV_E_RESOURCE_DOES_NOT_EXIST, "%s", missing);
    return SRV_OK;
}

/* step_write_id for a write that returns no row. */
static enum srv_err step_write(struct conn *c, struct db_stmt *s,
                               struct errbuf *eb, const char *what,
                               const char *exists, const char *missing)
{
    return step_write_id(c, s, eb, what, exists, missing, NULL);
}

static enum srv_err w_perm(struct conn *c, struct auth_write *a,
                           struct errbuf *eb)
{
    int64_t uid;
    enum srv_err e = user_id_of(c, a->username, &uid, eb);
    if (e)
        return e;
    bool model = a->op == AUTH_MODEL_PERM_CREATE ||
                 a->op == AUTH_MODEL_PERM_UPDATE ||
                 a->op == AUTH_MODEL_PERM_DELETE;
    char exists[600], missing[600];
    if (model) {
        snprintf(exists, sizeof(exists),
                 "Registered model permission (name=%.250s, username=%.250s) "
                 "already exists",
                 a->resource, a->username);
        snprintf(missing, sizeof(missing),
                 "Registered model permission with name=%.250s and "
                 "username=%.250s not found",
                 a->resource, a->username);
    } else {
        snprintf(exists, sizeof(exists),
                 "Experiment permission (experiment_id=%.250s, "
                 "username=%.250s) already exists",
                 a->resource, a->username);
        snprintf(missing, sizeof(missing),
                 "Experiment permission with experiment_id=%.250s and "
                 "username=%.250s not found",
                 a->resource, a->username);
    }
    struct db_stmt *s;
    switch (a->op) {
    case AUTH_EXP_PERM_CREATE:
    case AUTH_MODEL_PERM_CREATE:
        s = store_auth_stmt(c, model ? A_MODEL_PERM_INSERT : A_EXP_PERM_INSERT);
        if (!s)
            return store_conn_error(c, eb, "grant");
        store_bind_str(s, 1, a->resource);
        db_bind_int64(s, 2, uid);
        store_bind_str(s, 3, a->permission);
        return step_write(c, s, eb, "grant", exists, NULL);
    case AUTH_EXP_PERM_UPDATE:
    case AUTH_MODEL_PERM_UPDATE:
        s = store_auth_stmt(c, model ? A_MODEL_PERM_UPDATE : A_EXP_PERM_UPDATE);
        if (!s)
            return store_conn_error(c, eb, "grant update");
        store_bind_str(s, 1, a->permission);
        store_bind_str(s, 2, a->resource);
        db_bind_int64(s, 3, uid);
        return step_write(c, s, eb, "grant update", NULL, missing);
    default:
        s = store_auth_stmt(c, model ? A_MODEL_PERM_DELETE : A_EXP_PERM_DELETE);
        if (!s)
            return store_conn_error(c, eb, "grant delete");
        store_bind_str(s, 1, a->resource);
        db_bind_int64(s, 2, uid);
        return step_write(c, s, eb, "grant delete", NULL, missing);
    }
}

static enum srv_err w_user(struct conn *c, struct auth_write *a,
                           struct errbuf *eb)
{
    struct db_stmt *s;
    if (a->op == AUTH_USER_CREATE) {
        char exists[400];
        snprintf(exists, sizeof(exists), "User '%.250s' already exists.",
                 a->username);
        if (!(s = store_auth_stmt(c, A_USER_INSERT)))
            return store_conn_error(c, eb, "user create");
        store_bind_str(s, 1, a->username);
        store_bind_str(s, 2, a->password_hash);
        db_bind_int64(s, 3, a->is_admin);
        db_bind_int64(s, 4, a->now);
        return step_write_id(c, s, eb, "user create", exists, NULL, &a->out_id);
    }
    int64_t uid;
    enum srv_err e = user_id_of(c, a->username, &uid, eb);
    if (e)
        return e;
    a->out_id = uid;
    switch (a->op) {
    case AUTH_USER_SET_PASSWORD:
        if (!(s = store_auth_stmt(c, A_USER_SET_PW)))
            return store_conn_error(c, eb, "password update");
        store_bind_str(s, 1, a->password_hash);
        db_bind_int64(s, 2, a->now);
        db_bind_int64(s, 3, uid);
        if ((e = step_write(c, s, eb, "password update", NULL, NULL)))
            return e;
        s = store_auth_stmt(c, A_USER_END_SESSIONS);
        if (s)
            db_bind_int64(s, 1, uid);
        if ((e = step_write(c, s, eb, "end sessions", NULL, NULL)))
            return e;
        s = store_auth_stmt(c, A_USER_REVOKE_TOKENS);
        if (s)
            db_bind_int64(s, 1, uid);
        return step_write(c, s, eb, "revoke tokens", NULL, NULL);
    case AUTH_USER_SET_ADMIN:
        if (!(s = store_auth_stmt(c, A_USER_SET_ADMIN)))
            return store_conn_error(c, eb, "admin update");
        db_bind_int64(s, 1, a->is_admin);
        db_bind_int64(s, 2, uid);
        return step_write(c, s, eb, "admin update", NULL, NULL);
    default: /* AUTH_USER_DELETE: rows of the user go by ON DELETE CASCADE */
        if (!(s = store_auth_stmt(c, A_USER_DELETE)))
            return store_conn_error(c, eb, "user delete");
        db_bind_int64(s, 1, uid);
        return step_write(c, s, eb, "user delete", NULL, NULL);
    }
}

static enum srv_err w_token(struct conn *c, struct auth_write *a,
                            struct errbuf *eb)
{
    struct db_stmt *s;
    char missing[128];
    snprintf(missing, sizeof(missing), "Token with id=%" PRId64 " not found",
             a->id);
    switch (a->op) {
    case AUTH_TOKEN_CREATE: {
        if (!(s = store_auth_stmt(c, A_TOKEN_INSERT)))
            return store_conn_error(c, eb, "token create");
        db_bind_int64(s, 1, a->user_id);
        store_bind_str(s, 2, a->name);
        store_bind_str(s, 3, a->secret_hash);
        db_bind_int64(s, 4, a->now);
        if (a->expires)
            db_bind_int64(s, 5, a->expires);
        else
            db_bind_null(s, 5);
        store_bind_str(s, 6, a->permission);
        store_bind_str(s, 7, a->resource);
        return step_write_id(c, s, eb, "token create", NULL, NULL, &a->out_id);
    }
    case AUTH_TOKEN_REVOKE:
        if (a->user_id > 0) {
            if (!(s = store_auth_stmt(c, A_TOKEN_REVOKE_OWN)))
                return store_conn_error(c, eb, "token revoke");
            db_bind_int64(s, 1, a->id);
            db_bind_int64(s, 2, a->user_id);
        } else {
            if (!(s = store_auth_stmt(c, A_TOKEN_REVOKE)))
                return store_conn_error(c, eb, "token revoke");
            db_bind_int64(s, 1, a->id);
        }
        return step_write(c, s, eb, "token revoke", NULL, missing);
    default: /* AUTH_TOKEN_TOUCH */
        if (!(s = store_auth_stmt(c, A_TOKEN_TOUCH)))
            return store_conn_error(c, eb, "token use");
        db_bind_int64(s, 1, a->now);
        db_bind_int64(s, 2, a->id);
        return step_write(c, s, eb, "token use", NULL, NULL);
    }
}

static enum srv_err w_session(struct conn *c, struct auth_write *a,
                              struct errbuf *eb)
{
    struct db_stmt *s;
    switch (a->op) {
    case AUTH_SESSION_CREATE: {
        /* expired sessions go when a new one comes */
        if ((s = store_auth_stmt(c, A_SESSIONS_EXPIRED))) {
            db_bind_int64(s, 1, a->now);
            enum srv_err e = step_write(c, s, eb, "session gc", NULL, NULL);
            if (e)
                return e;
        }
        if (!(s = store_auth_stmt(c, A_SESSION_INSERT)))
            return store_conn_error(c, eb, "session create");
        store_bind_str(s, 1, a->secret_hash);
        db_bind_int64(s, 2, a->user_id);
        db_bind_int64(s, 3, a->now);
        db_bind_int64(s, 4, a->now);
        db_bind_int64(s, 5, a->expires);
        return step_write(c, s, eb, "session create", NULL, NULL);
    }
    case AUTH_SESSION_DELETE:
        if (!(s = store_auth_stmt(c, A_SESSION_DELETE)))
            return store_conn_error(c, eb, "session delete");
        store_bind_str(s, 1, a->secret_hash);
        return step_write(c, s, eb, "session delete", NULL, NULL);
    default: /* AUTH_SESSION_TOUCH */
        if (!(s = store_auth_stmt(c, A_SESSION_TOUCH)))
            return store_conn_error(c, eb, "session use");
        db_bind_int64(s, 1, a->now);
        db_bind_int64(s, 2, a->expires);
        store_bind_str(s, 3, a->secret_hash);
        return step_write(c, s, eb, "session use", NULL, NULL);
    }
}

enum srv_err store_auth_exec(struct conn *c, struct store_write *w)
{
    struct auth_write *a = w->auth;
    if (!a)
        return err_set(&w->err, SRV_E_INTERNAL, "auth write without its data");
    switch (a->op) {
    case AUTH_USER_CREATE:
    case AUTH_USER_SET_PASSWORD:
    case AUTH_USER_SET_ADMIN:
    case AUTH_USER_DELETE:
        return w_user(c, a, &w->err);
    case AUTH_EXP_PERM_CREATE:
    case AUTH_EXP_PERM_UPDATE:
    case AUTH_EXP_PERM_DELETE:
    case AUTH_MODEL_PERM_CREATE:
    case AUTH_MODEL_PERM_UPDATE:
    case AUTH_MODEL_PERM_DELETE:
        return w_perm(c, a, &w->err);
    case AUTH_TOKEN_CREATE:
    case AUTH_TOKEN_REVOKE:
    case AUTH_TOKEN_TOUCH:
        return w_token(c, a, &w->err);
    case AUTH_SESSION_CREATE:
    case AUTH_SESSION_DELETE:
    case AUTH_SESSION_TOUCH:
        return w_session(c, a, &w->err);
    }
    return err_set(&w->err, SRV_E_INTERNAL, "unknown auth write");
}

enum srv_err store_auth_grant_owner(struct conn *c, bool model,
                                    const char *resource, int64_t user_id,
                                    struct errbuf *eb)
{
    struct db_stmt *s =
        store_auth_stmt(c, model ? A_MODEL_PERM_UPSERT : A_EXP_PERM_UPSERT);
    if (!s)
        return store_conn_error(c, eb, "owner grant");
    store_bind_str(s, 1, resource);
    db_bind_int64(s, 2, user_id);
    store_bind_str(s, 3, "MANAGE");
    return step_write(c, s, eb, "owner grant", NULL, NULL);
}

enum srv_err store_auth_model_moved(struct conn *c, const char *name,
                                    const char *new_name, struct errbuf *eb)
{
    struct db_stmt *s;
    if (!new_name) {
        if (!(s = store_auth_stmt(c, A_MODEL_PERMS_DROP)))
            return store_conn_error(c, eb, "model grants");
        store_bind_str(s, 1, name);
        return step_write(c, s, eb, "model grants", NULL, NULL);
    }
    if (strcmp(name, new_name) == 0)
        return SRV_OK;
    static const enum auth_stmt steps[] = {A_MODEL_PERMS_RENAME_CLEAR,
                                           A_MODEL_PERMS_RENAME};
    enum srv_err e = SRV_OK;
    for (size_t i = 0; i < sizeof(steps) / sizeof(*steps) && !e; i++) {
        if (!(s = store_auth_stmt(c, steps[i])))
            return store_conn_error(c, eb, "model grants");
        store_bind_str(s, 1, new_name);
        store_bind_str(s, 2, name);
        e = step_write(c, s, eb, "model grants", NULL, NULL);
    }
    return e;
}
