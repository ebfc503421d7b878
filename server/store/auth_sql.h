/* SPDX-License-Identifier: MIT
 *
 * auth_sql: the statements of users, permissions, tokens and sessions,
 * every one on the tables of schema/007_auth.sql (an X-macro table,
 * numbered among the connection's domain statements from
 * STORE_AUTH_STMT_BASE), shared by write_auth.c and read_auth.c.
 */
#ifndef SERVER_STORE_AUTH_SQL_H
#define SERVER_STORE_AUTH_SQL_H

#include "internal.h"
#include "store_auth.h"

#define FOR_EACH_AUTH_STMT(X)                                                  \
    X(A_USER_COUNT, "SELECT count(*) FROM users")                              \
    X(A_USER_BY_NAME, "SELECT id, username, password_hash, is_admin "          \
                      "FROM users WHERE username = ?")                         \
    X(A_USER_BY_ID, "SELECT id, username, password_hash, is_admin "            \
                    "FROM users WHERE id = ?")                                 \
    X(A_USERS, "SELECT id, username, '', is_admin FROM users "                 \
               "ORDER BY username")                                            \
    X(A_USER_INSERT, "INSERT INTO users (username, password_hash, is_admin, "  \
                     "pw_changed) VALUES (?, ?, ?, ?) RETURNING id")           \
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
                      "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id")             \
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
    /* a rename moves the grants of ?2 to ?1; a user's grant on the old        \
     * name replaces one on the new name (cleared first, as UPDATE OR          \
     * REPLACE would, in SQL both engines run) */                              \
    X(A_MODEL_PERMS_RENAME_CLEAR,                                              \
      "DELETE FROM registered_model_permissions WHERE name = ?1 AND "          \
      "user_id IN (SELECT user_id FROM registered_model_permissions "          \
      "WHERE name = ?2)")                                                      \
    X(A_MODEL_PERMS_RENAME, "UPDATE registered_model_permissions "             \
                            "SET name = ?1 WHERE name = ?2")                   \
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

/* Statement 'id' on connection 'c', prepared on first use and reset for
 * reuse; NULL (logged) when it cannot be prepared (store_conn_stmt). */
struct db_stmt *store_auth_stmt(struct conn *c, enum auth_stmt id);

#endif
