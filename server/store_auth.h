/* SPDX-License-Identifier: MIT
 *
 * store_auth: the authentication and permission part of the store API
 * (tables of schema/007_auth.sql; the SQL is all in store/auth_sql.h). Writes
 * are store_write of kind SW_AUTH, run by the store's one writer with
 * everything else (group commit); reads use the calling thread's read
 * connection.
 *
 * Ownership as in store.h: an auth_write and the strings it points to
 * belong to the submitter until its 'done' ran; read results are the
 * caller's (plain structs with fixed buffers, or malloc'd arrays freed
 * with free()).
 */
#ifndef SERVER_STORE_AUTH_H
#define SERVER_STORE_AUTH_H

#include "store.h"

#include <stdbool.h>
#include <stdint.h>

/* Slots of the auth statements (store/auth_sql.h) among a connection's domain
 * statements (store/internal.h): other domains use the slots below. */
#define STORE_AUTH_STMT_BASE 80

enum auth_op {
    AUTH_USER_CREATE,       /* username, password_hash, is_admin; out_id */
    AUTH_USER_SET_PASSWORD, /* username, password_hash: also ends the
                               user's sessions and revokes its tokens */
    AUTH_USER_SET_ADMIN,    /* username, is_admin */
    AUTH_USER_DELETE,       /* username: and every row of the user */
    AUTH_EXP_PERM_CREATE,   /* resource (experiment id), username,
                               permission */
    AUTH_EXP_PERM_UPDATE,   /* resource, username, permission */
    AUTH_EXP_PERM_DELETE,   /* resource, username */
    AUTH_MODEL_PERM_CREATE, /* resource (model name), username, permission */
    AUTH_MODEL_PERM_UPDATE,
    AUTH_MODEL_PERM_DELETE,
    AUTH_TOKEN_CREATE,   /* user_id, name, secret_hash, now, expires,
                            permission (ceiling, or NULL), resource
                            (experiment id, or NULL); out_id */
    AUTH_TOKEN_REVOKE,   /* id; user_id (0: any user's) */
    AUTH_TOKEN_TOUCH,    /* id, now: last_used */
    AUTH_SESSION_CREATE, /* secret_hash, user_id, now, expires */
    AUTH_SESSION_DELETE, /* secret_hash */
    AUTH_SESSION_TOUCH   /* secret_hash, now, expires */
};

/* The inputs of one auth write (borrowed) and its output. Errors are
 * MLflow's: RESOURCE_DOES_NOT_EXIST "User with username=X not found",
 * RESOURCE_ALREADY_EXISTS for a taken name or an existing grant. */
struct auth_write {
    enum auth_op op;
    const char *username;
    const char *password_hash;
    bool is_admin;
    const char *resource;
    const char *permission;
    const char *name;
    const char *secret_hash;
    int64_t user_id;
    int64_t id;
    int64_t now, expires; /* ms since the epoch; expires 0: never */

    int64_t out_id;
};

struct auth_user_row {
    int64_t id;
    char username[256];
    char password_hash[256];
    bool is_admin;
};

struct auth_perm_row {
    char resource[256]; /* experiment id or model name */
    char username[256];
    int64_t user_id;
    char permission[16];
};

struct auth_token_row {
    int64_t id;
    int64_t user_id;
    char name[256];
    int64_t created, expires, last_used; /* 0: none */
    bool revoked;
    char permission_ceiling[16]; /* "" when none */
    char experiment_id[64];      /* "" when any */
};

/* Number of users. */
enum srv_err store_auth_user_count(struct store *st, int64_t *n,
                                   struct errbuf *eb);

/* The user named 'username' (RESOURCE_DOES_NOT_EXIST "User with
 * username=X not found" when there is none). */
enum srv_err store_auth_user_by_name(struct store *st, const char *username,
                                     struct auth_user_row *out,
                                     struct errbuf *eb);

/* The user with id 'id' (RESOURCE_DOES_NOT_EXIST when none). */
enum srv_err store_auth_user_by_id(struct store *st, int64_t id,
                                   struct auth_user_row *out,
                                   struct errbuf *eb);

/* Every user by name; '*out' malloc'd (caller frees; NULL when none). */
enum srv_err store_auth_users(struct store *st, struct auth_user_row **out,
                              size_t *n, struct errbuf *eb);

/* The explicit permission of user 'user_id' on experiment 'experiment_id'
 * (models: on model 'name'): '*found' false when there is no row. */
enum srv_err store_auth_exp_perm(struct store *st, const char *experiment_id,
                                 int64_t user_id, char perm[16], bool *found,
                                 struct errbuf *eb);
enum srv_err store_auth_model_perm(struct store *st, const char *name,
                                   int64_t user_id, char perm[16], bool *found,
                                   struct errbuf *eb);

/* The grants of experiment 'experiment_id' (models: of model 'name'),
 * or, when 'user_id' > 0, every grant of that user (the resource NULL);
 * '*out' malloc'd (caller frees). */
enum srv_err store_auth_exp_perms(struct store *st, const char *experiment_id,
                                  int64_t user_id, struct auth_perm_row **out,
                                  size_t *n, struct errbuf *eb);
enum srv_err store_auth_model_perms(struct store *st, const char *name,
                                    int64_t user_id, struct auth_perm_row **out,
                                    size_t *n, struct errbuf *eb);

/* The token whose secret hashes to 'secret_hash' ('*found' false when
 * none, revoked or not). */
enum srv_err store_auth_token_by_hash(struct store *st, const char *secret_hash,
                                      struct auth_token_row *out, bool *found,
                                      struct errbuf *eb);

/* The tokens of user 'user_id', newest first; '*out' malloc'd. */
enum srv_err store_auth_tokens(struct store *st, int64_t user_id,
                               struct auth_token_row **out, size_t *n,
                               struct errbuf *eb);

/* The session whose id hashes to 'id_hash': its user, expiry and last
 * use; '*found' false when none. */
enum srv_err store_auth_session(struct store *st, const char *id_hash,
                                int64_t *user_id, int64_t *expires,
                                int64_t *last_seen, bool *found,
                                struct errbuf *eb);

/* The experiment of run 'run_id' (RESOURCE_DOES_NOT_EXIST "Run with id=X
 * not found"). */
enum srv_err store_auth_run_experiment(struct store *st, const char *run_id,
                                       int64_t *experiment_id,
                                       struct errbuf *eb);

/* The id of the experiment named 'name'; '*found' false when none. */
enum srv_err store_auth_experiment_by_name(struct store *st, const char *name,
                                           int64_t *experiment_id, bool *found,
                                           struct errbuf *eb);

#endif
