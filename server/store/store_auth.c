/* SPDX-License-Identifier: MIT
 *
 * store_auth: storage of users, permissions, tokens and sessions (see
 * store_auth.h): every statement on the tables of schema/007_auth.sql,
 * the write executors the store's writer runs for SW_AUTH, the owner
 * grants that experiment and model creation add in the same transaction,
 * and the reads. Secrets never reach this file: it stores hashes only.
 */
#include "store_auth.h"

#include "internal.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*---- statements ----*/

#define FOR_EACH_AUTH_STMT(X)                                                  \
    X(A_USER_COUNT, "SELECT count(*) FROM users")                              \
    X(A_USER_BY_NAME, "SELECT id, username, password_hash, is_admin "          \
                      "FROM users WHERE username = ?")                         \
    X(A_USER_BY_ID, "SELECT id, username, password_hash, is_admin "            \
                    "FROM users WHERE id = ?")                                 \
    X(A_USERS, "SELECT id, username, '', is_admin FROM users "                 \
               "ORDER BY username")                                            \
    X(A_USER_INSERT, "INSERT INTO users (username, password_hash, is_admin, "  \
                     "pw_changed) VALUES (?, ?, ?, ?)")                        \
    X(A_USER_SET_PW, "UPDATE users SET password_hash = ?, pw_changed = ? "     \
                     "WHERE id = ?")                                           \
    X(A_USER_SET_ADMIN, "UPDATE users SET is_admin = ? WHERE id = ?")          \
    X(A_USER_DELETE, "DELETE FROM users WHERE id = ?")                         \
    X(A_USER_END_SESSIONS, "DELETE FROM sessions WHERE user_id = ?")           \
    X(A_USER_REVOKE_TOKENS, "UPDATE tokens SET revoked = 1 WHERE user_id = ?") \
    X(A_EXP_PERM_GET, "SELECT permission FROM experiment_permissions "         \
                      "WHERE experiment_id = ? AND user_id = ?")               \
    X(A_EXP_PERM_INSERT, "INSERT INTO experiment_permissions (experiment_id, " \
                         "user_id, permission) VALUES (?, ?, ?)")              \
    X(A_EXP_PERM_UPSERT,                                                       \
      "INSERT INTO experiment_permissions (experiment_id, user_id, "           \
      "permission) VALUES (?, ?, ?) ON CONFLICT (experiment_id, user_id) "     \
      "DO UPDATE SET permission = excluded.permission")                        \
    X(A_EXP_PERM_UPDATE, "UPDATE experiment_permissions SET permission = ? "   \
                         "WHERE experiment_id = ? AND user_id = ?")            \
    X(A_EXP_PERM_DELETE, "DELETE FROM experiment_permissions "                 \
                         "WHERE experiment_id = ? AND user_id = ?")            \
    X(A_EXP_PERMS_OF, "SELECT p.experiment_id, u.username, p.user_id, "        \
                      "p.permission FROM experiment_permissions AS p "         \
                      "JOIN users AS u ON u.id = p.user_id "                   \
                      "WHERE p.experiment_id = ? ORDER BY u.username")         \
    X(A_EXP_PERMS_OF_USER,                                                     \
      "SELECT p.experiment_id, u.username, p.user_id, p.permission "           \
      "FROM experiment_permissions AS p JOIN users AS u ON u.id = p.user_id "  \
      "WHERE p.user_id = ? ORDER BY p.experiment_id")                          \
    X(A_MODEL_PERM_GET, "SELECT permission FROM registered_model_permissions " \
                        "WHERE name = ? AND user_id = ?")                      \
    X(A_MODEL_PERM_INSERT, "INSERT INTO registered_model_permissions (name, "  \
                           "user_id, permission) VALUES (?, ?, ?)")            \
    X(A_MODEL_PERM_UPSERT,                                                     \
      "INSERT INTO registered_model_permissions (name, user_id, permission) "  \
      "VALUES (?, ?, ?) ON CONFLICT (name, user_id) "                          \
      "DO UPDATE SET permission = excluded.permission")                        \
    X(A_MODEL_PERM_UPDATE, "UPDATE registered_model_permissions SET "          \
                           "permission = ? WHERE name = ? AND user_id = ?")    \
    X(A_MODEL_PERM_DELETE, "DELETE FROM registered_model_permissions "         \
                           "WHERE name = ? AND user_id = ?")                   \
    X(A_MODEL_PERMS_OF, "SELECT p.name, u.username, p.user_id, p.permission "  \
                        "FROM registered_model_permissions AS p "              \
                        "JOIN users AS u ON u.id = p.user_id "                 \
                        "WHERE p.name = ? ORDER BY u.username")                \
    X(A_MODEL_PERMS_OF_USER,                                                   \
      "SELECT p.name, u.username, p.user_id, p.permission "                    \
      "FROM registered_model_permissions AS p "                                \
      "JOIN users AS u ON u.id = p.user_id "                                   \
      "WHERE p.user_id = ? ORDER BY p.name")                                   \
    X(A_TOKEN_INSERT, "INSERT INTO tokens (user_id, name, secret_hash, "       \
                      "created, expires, permission_ceiling, experiment_id) "  \
                      "VALUES (?, ?, ?, ?, ?, ?, ?)")                          \
    X(A_TOKEN_REVOKE, "UPDATE tokens SET revoked = 1 WHERE id = ?")            \
    X(A_TOKEN_REVOKE_OWN,                                                      \
      "UPDATE tokens SET revoked = 1 WHERE id = ? AND user_id = ?")            \
    X(A_TOKEN_TOUCH, "UPDATE tokens SET last_used = ? WHERE id = ?")           \
    X(A_TOKEN_BY_HASH, "SELECT id, user_id, name, created, expires, "          \
                       "last_used, revoked, permission_ceiling, "              \
                       "experiment_id FROM tokens WHERE secret_hash = ?")      \
    X(A_TOKENS_OF, "SELECT id, user_id, name, created, expires, last_used, "   \
                   "revoked, permission_ceiling, experiment_id FROM tokens "   \
                   "WHERE user_id = ? ORDER BY id DESC")                       \
    X(A_SESSION_INSERT, "INSERT INTO sessions (id_hash, user_id, created, "    \
                        "last_seen, expires) VALUES (?, ?, ?, ?, ?)")          \
    X(A_SESSION_DELETE, "DELETE FROM sessions WHERE id_hash = ?")              \
    X(A_SESSION_TOUCH, "UPDATE sessions SET last_seen = ?, expires = ? "       \
                       "WHERE id_hash = ?")                                    \
    X(A_SESSION_GET, "SELECT user_id, expires, last_seen FROM sessions "       \
                     "WHERE id_hash = ?")                                      \
    X(A_SESSIONS_EXPIRED, "DELETE FROM sessions WHERE expires < ?")            \
    X(A_MODEL_PERMS_RENAME, "UPDATE OR REPLACE registered_model_permissions "  \
                            "SET name = ? WHERE name = ?")                     \
    X(A_MODEL_PERMS_DROP,                                                      \
      "DELETE FROM registered_model_permissions WHERE name = ?")               \
    X(A_RUN_EXPERIMENT, "SELECT experiment_id FROM runs WHERE run_id = ?")     \
    X(A_EXPERIMENT_BY_NAME,                                                    \
      "SELECT experiment_id FROM experiments WHERE name = ?")

enum auth_stmt {
#define AUTH_STMT_ENUM(id, sql) id,
    FOR_EACH_AUTH_STMT(AUTH_STMT_ENUM)
#undef AUTH_STMT_ENUM
        AUTH_STMT_COUNT
};

static const char *const auth_sql[AUTH_STMT_COUNT] = {
#define AUTH_STMT_SQL(id, sql) [id] = sql,
    FOR_EACH_AUTH_STMT(AUTH_STMT_SQL)
#undef AUTH_STMT_SQL
};

_Static_assert(STORE_AUTH_STMT_BASE + AUTH_STMT_COUNT <= STORE_DOMAIN_STMTS,
               "raise STORE_DOMAIN_STMTS");

static sqlite3_stmt *stmt(struct conn *c, enum auth_stmt id)
{
    return store_conn_stmt(c, STORE_AUTH_STMT_BASE + (unsigned)id,
                           auth_sql[id]);
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, i);
}

static void col_copy(sqlite3_stmt *s, int i, char *buf, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    snprintf(buf, cap, "%s", t ? (const char *)t : "");
}

/*---- rows ----*/

static void user_from_row(sqlite3_stmt *s, struct auth_user_row *u)
{
    memset(u, 0, sizeof(*u));
    u->id = sqlite3_column_int64(s, 0);
    col_copy(s, 1, u->username, sizeof(u->username));
    col_copy(s, 2, u->password_hash, sizeof(u->password_hash));
    u->is_admin = sqlite3_column_int(s, 3) != 0;
}

static void token_from_row(sqlite3_stmt *s, struct auth_token_row *t)
{
    memset(t, 0, sizeof(*t));
    t->id = sqlite3_column_int64(s, 0);
    t->user_id = sqlite3_column_int64(s, 1);
    col_copy(s, 2, t->name, sizeof(t->name));
    t->created = sqlite3_column_int64(s, 3);
    t->expires = sqlite3_column_int64(s, 4);
    t->last_used = sqlite3_column_int64(s, 5);
    t->revoked = sqlite3_column_int(s, 6) != 0;
    col_copy(s, 7, t->permission_ceiling, sizeof(t->permission_ceiling));
    col_copy(s, 8, t->experiment_id, sizeof(t->experiment_id));
}

static void perm_from_row(sqlite3_stmt *s, struct auth_perm_row *p)
{
    memset(p, 0, sizeof(*p));
    col_copy(s, 0, p->resource, sizeof(p->resource));
    col_copy(s, 1, p->username, sizeof(p->username));
    p->user_id = sqlite3_column_int64(s, 2);
    col_copy(s, 3, p->permission, sizeof(p->permission));
}

/*---- writes ----*/

static enum srv_err user_id_of(struct conn *c, const char *username,
                               int64_t *id, struct errbuf *eb)
{
    sqlite3_stmt *s = stmt(c, A_USER_BY_NAME);
    if (!s)
        return store_conn_error(c, eb, "user lookup");
    bind_text(s, 1, username);
    bool found;
    enum srv_err e = store_step_int64(c, s, id, &found, eb, "user lookup");
    if (e || found)
        return e;
    return err_set(eb, SRV_E_RESOURCE_DOES_NOT_EXIST,
                   "User with username=%.250s not found", username);
}

/* Steps 's' (a write); a unique-key clash is 'exists', no row changed
 * 'missing' (when not NULL). */
static enum srv_err step_write(struct conn *c, sqlite3_stmt *s,
                               struct errbuf *eb, const char *what,
                               const char *exists, const char *missing)
{
    if (!s)
        return store_conn_error(c, eb, what);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if ((rc & 0xff) == SQLITE_CONSTRAINT && exists)
        return err_set(eb, SRV_E_RESOURCE_ALREADY_EXISTS, "%s", exists);
    if (rc != SQLITE_DONE)
        return store_conn_error(c, eb, what);
    if (missing && sqlite3_changes(store_conn_db(c)) == 0)
        return err_set(eb, SRV_E_RESOURCE_DOES_NOT_EXIST, "%s", missing);
    return SRV_OK;
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
    sqlite3_stmt *s;
    switch (a->op) {
    case AUTH_EXP_PERM_CREATE:
    case AUTH_MODEL_PERM_CREATE:
        s = stmt(c, model ? A_MODEL_PERM_INSERT : A_EXP_PERM_INSERT);
        if (!s)
            return store_conn_error(c, eb, "grant");
        bind_text(s, 1, a->resource);
        sqlite3_bind_int64(s, 2, uid);
        bind_text(s, 3, a->permission);
        return step_write(c, s, eb, "grant", exists, NULL);
    case AUTH_EXP_PERM_UPDATE:
    case AUTH_MODEL_PERM_UPDATE:
        s = stmt(c, model ? A_MODEL_PERM_UPDATE : A_EXP_PERM_UPDATE);
        if (!s)
            return store_conn_error(c, eb, "grant update");
        bind_text(s, 1, a->permission);
        bind_text(s, 2, a->resource);
        sqlite3_bind_int64(s, 3, uid);
        return step_write(c, s, eb, "grant update", NULL, missing);
    default:
        s = stmt(c, model ? A_MODEL_PERM_DELETE : A_EXP_PERM_DELETE);
        if (!s)
            return store_conn_error(c, eb, "grant delete");
        bind_text(s, 1, a->resource);
        sqlite3_bind_int64(s, 2, uid);
        return step_write(c, s, eb, "grant delete", NULL, missing);
    }
}

static enum srv_err w_user(struct conn *c, struct auth_write *a,
                           struct errbuf *eb)
{
    sqlite3_stmt *s;
    if (a->op == AUTH_USER_CREATE) {
        char exists[400];
        snprintf(exists, sizeof(exists), "User '%.250s' already exists.",
                 a->username);
        if (!(s = stmt(c, A_USER_INSERT)))
            return store_conn_error(c, eb, "user create");
        bind_text(s, 1, a->username);
        bind_text(s, 2, a->password_hash);
        sqlite3_bind_int(s, 3, a->is_admin);
        sqlite3_bind_int64(s, 4, a->now);
        enum srv_err e = step_write(c, s, eb, "user create", exists, NULL);
        if (!e)
            a->out_id = sqlite3_last_insert_rowid(store_conn_db(c));
        return e;
    }
    int64_t uid;
    enum srv_err e = user_id_of(c, a->username, &uid, eb);
    if (e)
        return e;
    a->out_id = uid;
    switch (a->op) {
    case AUTH_USER_SET_PASSWORD:
        if (!(s = stmt(c, A_USER_SET_PW)))
            return store_conn_error(c, eb, "password update");
        bind_text(s, 1, a->password_hash);
        sqlite3_bind_int64(s, 2, a->now);
        sqlite3_bind_int64(s, 3, uid);
        if ((e = step_write(c, s, eb, "password update", NULL, NULL)))
            return e;
        s = stmt(c, A_USER_END_SESSIONS);
        if (s)
            sqlite3_bind_int64(s, 1, uid);
        if ((e = step_write(c, s, eb, "end sessions", NULL, NULL)))
            return e;
        s = stmt(c, A_USER_REVOKE_TOKENS);
        if (s)
            sqlite3_bind_int64(s, 1, uid);
        return step_write(c, s, eb, "revoke tokens", NULL, NULL);
    case AUTH_USER_SET_ADMIN:
        if (!(s = stmt(c, A_USER_SET_ADMIN)))
            return store_conn_error(c, eb, "admin update");
        sqlite3_bind_int(s, 1, a->is_admin);
        sqlite3_bind_int64(s, 2, uid);
        return step_write(c, s, eb, "admin update", NULL, NULL);
    default: /* AUTH_USER_DELETE: rows of the user go by ON DELETE CASCADE */
        if (!(s = stmt(c, A_USER_DELETE)))
            return store_conn_error(c, eb, "user delete");
        sqlite3_bind_int64(s, 1, uid);
        return step_write(c, s, eb, "user delete", NULL, NULL);
    }
}

static enum srv_err w_token(struct conn *c, struct auth_write *a,
                            struct errbuf *eb)
{
    sqlite3_stmt *s;
    char missing[128];
    snprintf(missing, sizeof(missing), "Token with id=%" PRId64 " not found",
             a->id);
    switch (a->op) {
    case AUTH_TOKEN_CREATE: {
        if (!(s = stmt(c, A_TOKEN_INSERT)))
            return store_conn_error(c, eb, "token create");
        sqlite3_bind_int64(s, 1, a->user_id);
        bind_text(s, 2, a->name);
        bind_text(s, 3, a->secret_hash);
        sqlite3_bind_int64(s, 4, a->now);
        if (a->expires)
            sqlite3_bind_int64(s, 5, a->expires);
        else
            sqlite3_bind_null(s, 5);
        bind_text(s, 6, a->permission);
        bind_text(s, 7, a->resource);
        enum srv_err e = step_write(c, s, eb, "token create", NULL, NULL);
        if (!e)
            a->out_id = sqlite3_last_insert_rowid(store_conn_db(c));
        return e;
    }
    case AUTH_TOKEN_REVOKE:
        if (a->user_id > 0) {
            if (!(s = stmt(c, A_TOKEN_REVOKE_OWN)))
                return store_conn_error(c, eb, "token revoke");
            sqlite3_bind_int64(s, 1, a->id);
            sqlite3_bind_int64(s, 2, a->user_id);
        } else {
            if (!(s = stmt(c, A_TOKEN_REVOKE)))
                return store_conn_error(c, eb, "token revoke");
            sqlite3_bind_int64(s, 1, a->id);
        }
        return step_write(c, s, eb, "token revoke", NULL, missing);
    default: /* AUTH_TOKEN_TOUCH */
        if (!(s = stmt(c, A_TOKEN_TOUCH)))
            return store_conn_error(c, eb, "token use");
        sqlite3_bind_int64(s, 1, a->now);
        sqlite3_bind_int64(s, 2, a->id);
        return step_write(c, s, eb, "token use", NULL, NULL);
    }
}

static enum srv_err w_session(struct conn *c, struct auth_write *a,
                              struct errbuf *eb)
{
    sqlite3_stmt *s;
    switch (a->op) {
    case AUTH_SESSION_CREATE: {
        /* expired sessions go when a new one comes */
        if ((s = stmt(c, A_SESSIONS_EXPIRED))) {
            sqlite3_bind_int64(s, 1, a->now);
            enum srv_err e = step_write(c, s, eb, "session gc", NULL, NULL);
            if (e)
                return e;
        }
        if (!(s = stmt(c, A_SESSION_INSERT)))
            return store_conn_error(c, eb, "session create");
        bind_text(s, 1, a->secret_hash);
        sqlite3_bind_int64(s, 2, a->user_id);
        sqlite3_bind_int64(s, 3, a->now);
        sqlite3_bind_int64(s, 4, a->now);
        sqlite3_bind_int64(s, 5, a->expires);
        return step_write(c, s, eb, "session create", NULL, NULL);
    }
    case AUTH_SESSION_DELETE:
        if (!(s = stmt(c, A_SESSION_DELETE)))
            return store_conn_error(c, eb, "session delete");
        bind_text(s, 1, a->secret_hash);
        return step_write(c, s, eb, "session delete", NULL, NULL);
    default: /* AUTH_SESSION_TOUCH */
        if (!(s = stmt(c, A_SESSION_TOUCH)))
            return store_conn_error(c, eb, "session use");
        sqlite3_bind_int64(s, 1, a->now);
        sqlite3_bind_int64(s, 2, a->expires);
        bind_text(s, 3, a->secret_hash);
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
    sqlite3_stmt *s = stmt(c, model ? A_MODEL_PERM_UPSERT : A_EXP_PERM_UPSERT);
    if (!s)
        return store_conn_error(c, eb, "owner grant");
    bind_text(s, 1, resource);
    sqlite3_bind_int64(s, 2, user_id);
    bind_text(s, 3, "MANAGE");
    return step_write(c, s, eb, "owner grant", NULL, NULL);
}

enum srv_err store_auth_model_moved(struct conn *c, const char *name,
                                    const char *new_name, struct errbuf *eb)
{
    sqlite3_stmt *s =
        stmt(c, new_name ? A_MODEL_PERMS_RENAME : A_MODEL_PERMS_DROP);
    if (!s)
        return store_conn_error(c, eb, "model grants");
    if (new_name) {
        bind_text(s, 1, new_name);
        bind_text(s, 2, name);
    } else {
        bind_text(s, 1, name);
    }
    return step_write(c, s, eb, "model grants", NULL, NULL);
}

/*---- reads ----*/

enum srv_err store_auth_user_count(struct store *st, int64_t *n,
                                   struct errbuf *eb)
{
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_INTERNAL;
    sqlite3_stmt *s = stmt(c, A_USER_COUNT);
    if (!s || sqlite3_step(s) != SQLITE_ROW) {
        if (s)
            sqlite3_reset(s);
        return store_conn_error(c, eb, "user count");
    }
    *n = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return SRV_OK;
}

static enum srv_err user_read(struct store *st, enum auth_stmt id,
                              const char *name, int64_t uid,
                              struct auth_user_row *out, struct errbuf *eb)
{
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_INTERNAL;
    sqlite3_stmt *s = stmt(c, id);
    if (!s)
        return store_conn_error(c, eb, "user read");
    if (name)
        bind_text(s, 1, name);
    else
        sqlite3_bind_int64(s, 1, uid);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        user_from_row(s, out);
        sqlite3_reset(s);
        return SRV_OK;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return store_conn_error(c, eb, "user read");
    if (name)
        return err_set(eb, SRV_E_RESOURCE_DOES_NOT_EXIST,
                       "User with username=%.250s not found", name);
    return err_set(eb, SRV_E_RESOURCE_DOES_NOT_EXIST,
                   "User with id=%" PRId64 " not found", uid);
}

enum srv_err store_auth_user_by_name(struct store *st, const char *username,
                                     struct auth_user_row *out,
                                     struct errbuf *eb)
{
    return user_read(st, A_USER_BY_NAME, username, 0, out, eb);
}

enum srv_err store_auth_user_by_id(struct store *st, int64_t id,
                                   struct auth_user_row *out, struct errbuf *eb)
{
    return user_read(st, A_USER_BY_ID, NULL, id, out, eb);
}

/* Reads every row of 's' (bound) into a malloc'd array of 'elem'-sized
 * items with 'fill'. */
static enum srv_err read_all(struct conn *c, sqlite3_stmt *s, size_t elem,
                             void (*fill)(sqlite3_stmt *, void *), void **out,
                             size_t *n, struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        void *grown = store_grow(*out, *n, &cap, elem);
        if (!grown) {
            sqlite3_reset(s);
            return err_set(eb, SRV_E_NOMEM, "out of memory");
        }
        *out = grown;
        fill(s, (char *)*out + *n * elem);
        (*n)++;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return store_conn_error(c, eb, "auth read");
    return SRV_OK;
}

static void fill_user(sqlite3_stmt *s, void *p)
{
    user_from_row(s, p);
}

static void fill_perm(sqlite3_stmt *s, void *p)
{
    perm_from_row(s, p);
}

static void fill_token(sqlite3_stmt *s, void *p)
{
    token_from_row(s, p);
}

enum srv_err store_auth_users(struct store *st, struct auth_user_row **out,
                              size_t *n, struct errbuf *eb)
{
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_INTERNAL;
    sqlite3_stmt *s = stmt(c, A_USERS);
    if (!s)
        return store_conn_error(c, eb, "users");
    void *rows;
    enum srv_err e = read_all(c, s, sizeof(**out), fill_user, &rows, n, eb);
    *out = rows;
    return e;
}

static enum srv_err perm_get(struct store *st, enum auth_stmt id,
                             const char *resource, int64_t user_id,
                             char perm[16], bool *found, struct errbuf *eb)
{
    *found = false;
    perm[0] = '\0';
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_INTERNAL;
    sqlite3_stmt *s = stmt(c, id);
    if (!s)
        return store_conn_error(c, eb, "permission");
    bind_text(s, 1, resource);
    sqlite3_bind_int64(s, 2, user_id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        col_copy(s, 0, perm, 16);
        *found = true;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_conn_error(c, eb, "permission");
    return SRV_OK;
}

enum srv_err store_auth_exp_perm(struct store *st, const char *experiment_id,
                                 int64_t user_id, char perm[16], bool *found,
                                 struct errbuf *eb)
{
    return perm_get(st, A_EXP_PERM_GET, experiment_id, user_id, perm, found,
                    eb);
}

enum srv_err store_auth_model_perm(struct store *st, const char *name,
                                   int64_t user_id, char perm[16], bool *found,
                                   struct errbuf *eb)
{
    return perm_get(st, A_MODEL_PERM_GET, name, user_id, perm, found, eb);
}

static enum srv_err perms_list(struct store *st, enum auth_stmt of,
                               enum auth_stmt of_user, const char *resource,
                               int64_t user_id, struct auth_perm_row **out,
                               size_t *n, struct errbuf *eb)
{
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_INTERNAL;
    sqlite3_stmt *s = stmt(c, user_id > 0 ? of_user : of);
    if (!s)
        return store_conn_error(c, eb, "permissions");
    if (user_id > 0)
        sqlite3_bind_int64(s, 1, user_id);
    else
        bind_text(s, 1, resource);
    void *rows;
    enum srv_err e = read_all(c, s, sizeof(**out), fill_perm, &rows, n, eb);
    *out = rows;
    return e;
}

enum srv_err store_auth_exp_perms(struct store *st, const char *experiment_id,
                                  int64_t user_id, struct auth_perm_row **out,
                                  size_t *n, struct errbuf *eb)
{
    return perms_list(st, A_EXP_PERMS_OF, A_EXP_PERMS_OF_USER, experiment_id,
                      user_id, out, n, eb);
}

enum srv_err store_auth_model_perms(struct store *st, const char *name,
                                    int64_t user_id, struct auth_perm_row **out,
                                    size_t *n, struct errbuf *eb)
{
    return perms_list(st, A_MODEL_PERMS_OF, A_MODEL_PERMS_OF_USER, name,
                      user_id, out, n, eb);
}

enum srv_err store_auth_token_by_hash(struct store *st, const char *secret_hash,
                                      struct auth_token_row *out, bool *found,
                                      struct errbuf *eb)
{
    *found = false;
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_INTERNAL;
    sqlite3_stmt *s = stmt(c, A_TOKEN_BY_HASH);
    if (!s)
        return store_conn_error(c, eb, "token");
    bind_text(s, 1, secret_hash);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        token_from_row(s, out);
        *found = true;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_conn_error(c, eb, "token");
    return SRV_OK;
}

enum srv_err store_auth_tokens(struct store *st, int64_t user_id,
                               struct auth_token_row **out, size_t *n,
                               struct errbuf *eb)
{
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_INTERNAL;
    sqlite3_stmt *s = stmt(c, A_TOKENS_OF);
    if (!s)
        return store_conn_error(c, eb, "tokens");
    sqlite3_bind_int64(s, 1, user_id);
    void *rows;
    enum srv_err e = read_all(c, s, sizeof(**out), fill_token, &rows, n, eb);
    *out = rows;
    return e;
}

enum srv_err store_auth_session(struct store *st, const char *id_hash,
                                int64_t *user_id, int64_t *expires,
                                int64_t *last_seen, bool *found,
                                struct errbuf *eb)
{
    *found = false;
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_INTERNAL;
    sqlite3_stmt *s = stmt(c, A_SESSION_GET);
    if (!s)
        return store_conn_error(c, eb, "session");
    bind_text(s, 1, id_hash);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *user_id = sqlite3_column_int64(s, 0);
        *expires = sqlite3_column_int64(s, 1);
        *last_seen = sqlite3_column_int64(s, 2);
        *found = true;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_conn_error(c, eb, "session");
    return SRV_OK;
}

static enum srv_err id_by_text(struct store *st, enum auth_stmt id,
                               const char *key, int64_t *out, bool *found,
                               struct errbuf *eb)
{
    *found = false;
    struct conn *c = store_reader(st, eb);
    if (!c)
        return SRV_E_INTERNAL;
    sqlite3_stmt *s = stmt(c, id);
    if (!s)
        return store_conn_error(c, eb, "lookup");
    bind_text(s, 1, key);
    return store_step_int64(c, s, out, found, eb, "lookup");
}

enum srv_err store_auth_run_experiment(struct store *st, const char *run_id,
                                       int64_t *experiment_id,
                                       struct errbuf *eb)
{
    bool found;
    enum srv_err e =
        id_by_text(st, A_RUN_EXPERIMENT, run_id, experiment_id, &found, eb);
    if (e)
        return e;
    if (!found)
        return err_set(eb, SRV_E_RESOURCE_DOES_NOT_EXIST,
                       "Run with id=%.250s not found", run_id);
    return SRV_OK;
}

enum srv_err store_auth_experiment_by_name(struct store *st, const char *name,
                                           int64_t *experiment_id, bool *found,
                                           struct errbuf *eb)
{
    return id_by_text(st, A_EXPERIMENT_BY_NAME, name, experiment_id, found, eb);
}
