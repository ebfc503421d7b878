/* SPDX-License-Identifier: MIT
 *
 * read_auth: the reads of users, permissions, tokens and sessions (see
 * store_auth.h). Secrets never reach this file: it reads hashes only.
 */
#include "auth_sql.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void col_copy(struct db_stmt *s, int i, char *buf, size_t cap)
{
    const char *t = db_column_text(s, i);
    snprintf(buf, cap, "%s", t ? (const char *)t : "");
}

/*---- rows ----*/

static void user_from_row(struct db_stmt *s, struct auth_user_row *u)
{
    memset(u, 0, sizeof(*u));
    u->id = db_column_int64(s, 0);
    col_copy(s, 1, u->username, sizeof(u->username));
    col_copy(s, 2, u->password_hash, sizeof(u->password_hash));
    u->is_admin = (int)db_column_int64(s, 3) != 0;
}

static void token_from_row(struct db_stmt *s, struct auth_token_row *t)
{
    memset(t, 0, sizeof(*t));
    t->id = db_column_int64(s, 0);
    t->user_id = db_column_int64(s, 1);
    col_copy(s, 2, t->name, sizeof(t->name));
    t->created = db_column_int64(s, 3);
    t->expires = db_column_int64(s, 4);
    t->last_used = db_column_int64(s, 5);
    t->revoked = (int)db_column_int64(s, 6) != 0;
    col_copy(s, 7, t->permission_ceiling, sizeof(t->permission_ceiling));
    col_copy(s, 8, t->experiment_id, sizeof(t->experiment_id));
}

static void perm_from_row(struct db_stmt *s, struct auth_perm_row *p)
{
    memset(p, 0, sizeof(*p));
    col_copy(s, 0, p->resource, sizeof(p->resource));
    col_copy(s, 1, p->username, sizeof(p->username));
    p->user_id = db_column_int64(s, 2);
    col_copy(s, 3, p->permission, sizeof(p->permission));
}

enum srv_err store_auth_user_count(struct store *st, int64_t *n,
                                   struct errbuf *eb)
{
    struct conn *c = store_reader_primary(st, eb);
    if (!c)
        return SRV_E_INTERNAL;
    struct db_stmt *s = store_auth_stmt(c, A_USER_COUNT);
    if (!s || db_step(s) != DB_ROW) {
        if (s)
            db_reset(s);
        return store_conn_error(c, eb, "user count");
    }
    *n = db_column_int64(s, 0);
    db_reset(s);
    return SRV_OK;
}

static enum srv_err user_read(struct store *st, enum auth_stmt id,
                              const char *name, int64_t uid,
                              struct auth_user_row *out, struct errbuf *eb)
{
    struct conn *c = store_reader_primary(st, eb);
    if (!c)
        return SRV_E_INTERNAL;
    struct db_stmt *s = store_auth_stmt(c, id);
    if (!s)
        return store_conn_error(c, eb, "user read");
    if (name)
        store_bind_str(s, 1, name);
    else
        db_bind_int64(s, 1, uid);
    int rc = db_step(s);
    if (rc == DB_ROW) {
        user_from_row(s, out);
        db_reset(s);
        return SRV_OK;
    }
    db_reset(s);
    if (rc != DB_DONE)
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
static enum srv_err read_all(struct conn *c, struct db_stmt *s, size_t elem,
                             void (*fill)(struct db_stmt *, void *), void **out,
                             size_t *n, struct errbuf *eb)
{
    *out = NULL;
    *n = 0;
    size_t cap = 0;
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        void *grown = store_grow(*out, *n, &cap, elem);
        if (!grown) {
            db_reset(s);
            return err_set(eb, SRV_E_NOMEM, "out of memory");
        }
        *out = grown;
        fill(s, (char *)*out + *n * elem);
        (*n)++;
    }
    db_reset(s);
    if (rc != DB_DONE)
        return store_conn_error(c, eb, "auth read");
    return SRV_OK;
}

static void fill_user(struct db_stmt *s, void *p)
{
    user_from_row(s, p);
}

static void fill_perm(struct db_stmt *s, void *p)
{
    perm_from_row(s, p);
}

static void fill_token(struct db_stmt *s, void *p)
{
    token_from_row(s, p);
}

enum srv_err store_auth_users(struct store *st, struct auth_user_row **out,
                              size_t *n, struct errbuf *eb)
{
    struct conn *c = store_reader_primary(st, eb);
    if (!c)
        return SRV_E_INTERNAL;
    struct db_stmt *s = store_auth_stmt(c, A_USERS);
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
    struct conn *c = store_reader_primary(st, eb);
    if (!c)
        return SRV_E_INTERNAL;
    struct db_stmt *s = store_auth_stmt(c, id);
    if (!s)
        return store_conn_error(c, eb, "permission");
    store_bind_str(s, 1, resource);
    db_bind_int64(s, 2, user_id);
    int rc = db_step(s);
    if (rc == DB_ROW) {
        col_copy(s, 0, perm, 16);
        *found = true;
    }
    db_reset(s);
    if (rc != DB_ROW && rc != DB_DONE)
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
    struct conn *c = store_reader_primary(st, eb);
    if (!c)
        return SRV_E_INTERNAL;
    struct db_stmt *s = store_auth_stmt(c, user_id > 0 ? of_user : of);
    if (!s)
        return store_conn_error(c, eb, "permissions");
    if (user_id > 0)
        db_bind_int64(s, 1, user_id);
    else
        store_bind_str(s, 1, resource);
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
    struct conn *c = store_reader_primary(st, eb);
    if (!c)
        return SRV_E_INTERNAL;
    struct db_stmt *s = store_auth_stmt(c, A_TOKEN_BY_HASH);
    if (!s)
        return store_conn_error(c, eb, "token");
    store_bind_str(s, 1, secret_hash);
    int rc = db_step(s);
    if (rc == DB_ROW) {
        token_from_row(s, out);
        *found = true;
    }
    db_reset(s);
    if (rc != DB_ROW && rc != DB_DONE)
        return store_conn_error(c, eb, "token");
    return SRV_OK;
}

enum srv_err store_auth_tokens(struct store *st, int64_t user_id,
                               struct auth_token_row **out, size_t *n,
                               struct errbuf *eb)
{
    struct conn *c = store_reader_primary(st, eb);
    if (!c)
        return SRV_E_INTERNAL;
    struct db_stmt *s = store_auth_stmt(c, A_TOKENS_OF);
    if (!s)
        return store_conn_error(c, eb, "tokens");
    db_bind_int64(s, 1, user_id);
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
    struct conn *c = store_reader_primary(st, eb);
    if (!c)
        return SRV_E_INTERNAL;
    struct db_stmt *s = store_auth_stmt(c, A_SESSION_GET);
    if (!s)
        return store_conn_error(c, eb, "session");
    store_bind_str(s, 1, id_hash);
    int rc = db_step(s);
    if (rc == DB_ROW) {
        *user_id = db_column_int64(s, 0);
        *expires = db_column_int64(s, 1);
        *last_seen = db_column_int64(s, 2);
        *found = true;
    }
    db_reset(s);
    if (rc != DB_ROW && rc != DB_DONE)
        return store_conn_error(c, eb, "session");
    return SRV_OK;
}

static enum srv_err id_by_text(struct store *st, enum auth_stmt id,
                               const char *key, int64_t *out, bool *found,
                               struct errbuf *eb)
{
    *found = false;
    struct conn *c = store_reader_primary(st, eb);
    if (!c)
        return SRV_E_INTERNAL;
    struct db_stmt *s = store_auth_stmt(c, id);
    if (!s)
        return store_conn_error(c, eb, "lookup");
    store_bind_str(s, 1, key);
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
