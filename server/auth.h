/* SPDX-License-Identifier: MIT
 *
 * auth: authentication and permissions under --auth (issue 15,
 * specs/mlflow-auth.md). Who a request comes from (Basic, Bearer token or
 * the gt_session cookie), whether the route's permission (router.h enum
 * route_perm) lets it through, the failed-login throttle, the password
 * hashes (Argon2id) and their short-lived verification cache, the admin
 * bootstrap and the audit line. Thread-safe after auth_init; all state is
 * process-wide and freed by auth_shutdown.
 */
#ifndef SERVER_AUTH_H
#define SERVER_AUTH_H

#include "api.h"
#include "router.h"
#include "store_auth.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum auth_level {
    AUTH_NO_PERMISSIONS = 0,
    AUTH_READ = 1,
    AUTH_EDIT = 2,
    AUTH_MANAGE = 3
};

/* Failed logins allowed per user (per client address) in the window
 * before failing answers are delayed; at twice as many they get 429. */
#define AUTH_FAILS_PER_USER 10
#define AUTH_FAILS_PER_ADDR 50
#define AUTH_FAIL_WINDOW_MS (15 * 60 * 1000)

/* The name of the session cookie. */
#define AUTH_COOKIE "gt_session"

/* Idle lifetime of a session. */
#define AUTH_SESSION_IDLE_MS ((int64_t)12 * 3600 * 1000)

/* Starts the module: libsodium, and with cfg->auth on a database without
 * users, the admin from GREENTRACK_ADMIN_USERNAME/_PASSWORD (refused
 * without them). Returns 0, or -1 with a one-line message in 'err'. */
int auth_init(struct app *app, char *err, size_t errlen);

/* Frees the caches. */
void auth_shutdown(void);

/* The level named 'name' ("READ", ...); -1 when it is none. */
int auth_level_parse(const char *name);

/* The name of 'level' (static). */
const char *auth_level_name(int level);

/* The check of one request to a route with permission 'perm', run after
 * its arguments are parsed: authenticates (req->user) and authorises.
 * SRV_OK to run the handler; otherwise 'eb' holds the message and the
 * error is UNAUTHENTICATED, PERMISSION_DENIED, RATE_LIMITED (with
 * '*retry_after_s'), or the lookup's (a missing run: 404, a missing
 * parameter: 400). req->delay_ms may be set for a throttled failure.
 * May rewrite req->args (runs/search's experiment_ids). */
enum srv_err auth_check(struct request *req, enum route_perm perm,
                        unsigned *retry_after_s, struct errbuf *eb);

/* Fills 'res' with the error of a failed auth_check: JSON, with
 * WWW-Authenticate on a 401 unless the request came from the web UI, and
 * Retry-After on a 429. */
void auth_error_response(const struct request *req, struct response *res,
                         enum srv_err e, const char *msg,
                         unsigned retry_after_s);

/* The caller's level on experiment 'experiment_id' (admins: MANAGE;
 * capped by a token's ceiling and scope). */
int auth_experiment_level(struct request *req, int64_t experiment_id);

/* Keeps of 'ids' ('*n' of them) those the caller may READ, in order.
 * With auth off, or for an admin, nothing changes. */
void auth_filter_experiments(struct request *req, int64_t *ids, size_t *n);

/* True when the caller may READ registered model 'name'. */
bool auth_can_read_model(struct request *req, const char *name);

/* With auth on, for a state-changing request: logs one line with the
 * user, method, path, status and the experiment / run id it named. */
void auth_audit(const struct request *req, unsigned status);

/* Verifies 'password' for user 'username' (throttled and cached as for
 * Basic): SRV_OK and '*user' set, UNAUTHENTICATED, or RATE_LIMITED with
 * '*retry_after_s'. req->delay_ms may be set. */
enum srv_err auth_password_login(struct request *req, const char *username,
                                 const char *password, struct request_user *u,
                                 unsigned *retry_after_s, struct errbuf *eb);

/* Hashes 'password' (Argon2id, interactive limits) into 'out' (at least
 * 128 bytes). 0, or -1 when out of memory. */
int auth_hash_password(const char *password, char *out, size_t outlen);

/* Forgets the cached verifications of user 'user_id' (password change,
 * deletion). */
void auth_forget_user(int64_t user_id);

/* A handler's auth write (H_PENDING): api_pending's state, with room
 * for what the write borrows. */
struct auth_pending {
    struct store_write w; /* first, as api_pending wants */
    struct auth_write a;
    char hash[160];    /* a password hash or a secret's hash */
    char secret[96];   /* a new token or session id, sent once */
    char resource[64]; /* an experiment id as text */
    struct request_user user;
};

/* Starts a pending auth write of 'op' for 'req' (see api_pending), whose
 * answer 'after' builds; NULL when out of memory. */
struct auth_pending *auth_pending_new(
    struct request *req, enum auth_op op,
    enum handler_result (*after)(struct request *, struct response *));

/* BAD_REQUEST "Authentication is off ..." unless --auth is on: the users
 * and permissions API exists only then (as MLflow's basic-auth app), so a
 * server without auth cannot be seeded with users for a later --auth. */
enum srv_err auth_need_on(const struct request *req, struct errbuf *eb);

/* A username's check: non-empty, at most 255 bytes, no control
 * character and no ':' (Basic credentials cannot carry it). */
enum srv_err auth_validate_username(const char *name, struct errbuf *eb);

/* 'n' random bytes as lowercase hex into 'out' (2n + 1 bytes). */
void auth_random_hex(char *out, size_t n);

/* The hex hash (64 characters + NUL) of a secret (token, session id). */
void auth_secret_hash(const char *secret, char out[65]);

#endif
