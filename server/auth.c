/* SPDX-License-Identifier: MIT
 *
 * auth: authentication, permission checks, the failed-login throttle,
 * password hashing and the admin bootstrap (see auth.h). Sections:
 * state, secrets, throttle, verification cache, writes, authentication,
 * authorisation, audit, start-up.
 *
 * Secrets (passwords, token secrets, session ids) live only in the
 * request that carries them: the store gets hashes, the cache keys are
 * keyed hashes, and no log line names them.
 */
#include "auth.h"

#include "jsonx.h"
#include "log.h"
#include "store_auth.h"

#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*---- state ----*/

static struct app *g_app;
static bool g_on;
static int g_default_level = AUTH_READ;

/* A verification whose password was wrong costs as much for an unknown
 * user as for a known one: this hash is checked instead. */
static char g_dummy_hash[crypto_pwhash_STRBYTES];

/* At most AUTH_MAX_HASHING password checks run at once (each takes
 * crypto_pwhash_MEMLIMIT_INTERACTIVE bytes); more wait for a turn. */
#define AUTH_MAX_HASHING 4
static pthread_mutex_t g_hash_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_hash_cv = PTHREAD_COND_INITIALIZER;
static unsigned g_hashing;

static const char *const level_names[] = {"NO_PERMISSIONS", "READ", "EDIT",
                                          "MANAGE"};

int auth_level_parse(const char *name)
{
    for (int i = 0; i < 4; i++) {
        if (name && strcmp(name, level_names[i]) == 0)
            return i;
    }
    return -1;
}

const char *auth_level_name(int level)
{
    return level >= 0 && level < 4 ? level_names[level] : "NO_PERMISSIONS";
}

/*---- secrets ----*/

void auth_random_hex(char *out, size_t n)
{
    unsigned char buf[64];
    if (n > sizeof(buf))
        n = sizeof(buf);
    randombytes_buf(buf, n);
    sodium_bin2hex(out, 2 * n + 1, buf, n);
}

void auth_secret_hash(const char *secret, char out[65])
{
    unsigned char h[32];
    crypto_generichash(h, sizeof(h), (const unsigned char *)secret,
                       strlen(secret), NULL, 0);
    sodium_bin2hex(out, 65, h, sizeof(h));
}

int auth_hash_password(const char *password, char *out, size_t outlen)
{
    if (outlen < crypto_pwhash_STRBYTES)
        return -1;
    return crypto_pwhash_str(out, password, strlen(password),
                             crypto_pwhash_OPSLIMIT_INTERACTIVE,
                             crypto_pwhash_MEMLIMIT_INTERACTIVE);
}

/* crypto_pwhash_str_verify within the bound on concurrent checks. */
static bool verify_hash(const char *hash, const char *password)
{
    pthread_mutex_lock(&g_hash_mu);
    while (g_hashing >= AUTH_MAX_HASHING)
        pthread_cond_wait(&g_hash_cv, &g_hash_mu);
    g_hashing++;
    pthread_mutex_unlock(&g_hash_mu);
    bool ok = crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
    pthread_mutex_lock(&g_hash_mu);
    g_hashing--;
    pthread_cond_signal(&g_hash_cv);
    pthread_mutex_unlock(&g_hash_mu);
    return ok;
}

enum srv_err auth_need_on(const struct request *req, struct errbuf *eb)
{
    if (req->app->cfg->auth)
        return SRV_OK;
    return err_set(eb, SRV_E_BAD_REQUEST,
                   "Authentication is off (start the server with --auth)");
}

enum srv_err auth_validate_username(const char *name, struct errbuf *eb)
{
    if (!name || !*name)
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Username cannot be empty.");
    if (strlen(name) > 255)
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Username is longer than 255 characters");
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (*p < 0x20 || *p == 0x7f || *p == ':')
            return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                           "Username must not hold control characters or "
                           "':'");
    }
    return SRV_OK;
}

/*---- throttle ----*/

/* Failed logins per key ("u:<user>" or "a:<address>") in a fixed window
 * that starts at the first failure. A full table replaces the entry
 * whose window is oldest. */
#define THROTTLE_SLOTS 4096
struct fail_slot {
    char key[300];
    int64_t first_ms;
    unsigned count;
};
static struct fail_slot *g_fails;
static pthread_mutex_t g_fail_mu = PTHREAD_MUTEX_INITIALIZER;

static struct fail_slot *fail_find(const char *key, int64_t now, bool add)
{
    if (!g_fails)
        return NULL;
    struct fail_slot *free_slot = NULL, *oldest = NULL;
    for (size_t i = 0; i < THROTTLE_SLOTS; i++) {
        struct fail_slot *f = &g_fails[i];
        if (f->count && now - f->first_ms >= AUTH_FAIL_WINDOW_MS)
            f->count = 0; /* its window ended */
        if (!f->count) {
            if (!free_slot)
                free_slot = f;
            continue;
        }
        if (strcmp(f->key, key) == 0)
            return f;
        if (!oldest || f->first_ms < oldest->first_ms)
            oldest = f;
    }
    if (!add)
        return NULL;
    struct fail_slot *f = free_slot ? free_slot : oldest;
    snprintf(f->key, sizeof(f->key), "%s", key);
    f->first_ms = now;
    f->count = 0;
    return f;
}

/* Counts one failure of 'user' (NULL: none) from 'addr'; returns what
 * the failing answer must be: SRV_E_UNAUTHENTICATED (maybe with
 * '*delay_ms'), or SRV_E_RATE_LIMITED with '*retry_s'. */
static enum srv_err fail_note(const char *user, const char *addr,
                              unsigned *delay_ms, unsigned *retry_s)
{
    int64_t now = store_now_ms();
    char key[300];
    unsigned uc = 0, ac = 0;
    int64_t first = now;
    pthread_mutex_lock(&g_fail_mu);
    if (user) {
        snprintf(key, sizeof(key), "u:%s", user);
        struct fail_slot *f = fail_find(key, now, true);
        if (f) {
            uc = ++f->count;
            if (f->first_ms < first)
                first = f->first_ms;
        }
    }
    snprintf(key, sizeof(key), "a:%s", addr);
    struct fail_slot *f = fail_find(key, now, true);
    if (f) {
        ac = ++f->count;
        if (f->first_ms < first)
            first = f->first_ms;
    }
    pthread_mutex_unlock(&g_fail_mu);
    if (uc > 2 * AUTH_FAILS_PER_USER || ac > 2 * AUTH_FAILS_PER_ADDR) {
        int64_t left = first + AUTH_FAIL_WINDOW_MS - now;
        *retry_s = left > 1000 ? (unsigned)((left + 999) / 1000) : 1;
        return SRV_E_RATE_LIMITED;
    }
    if (uc > AUTH_FAILS_PER_USER || ac > AUTH_FAILS_PER_ADDR)
        *delay_ms = 1000;
    return SRV_E_UNAUTHENTICATED;
}

/* True when 'user' or 'addr' is past the 429 mark now ('*retry_s' set):
 * such a login is checked against the cache only, never hashed, so a
 * flood of guesses costs no CPU once it is throttled. */
static bool fail_locked(const char *user, const char *addr, unsigned *retry_s)
{
    int64_t now = store_now_ms();
    char key[300];
    bool locked = false;
    int64_t first = now;
    pthread_mutex_lock(&g_fail_mu);
    snprintf(key, sizeof(key), "u:%s", user);
    struct fail_slot *f = fail_find(key, now, false);
    if (f && f->count >= 2 * AUTH_FAILS_PER_USER) {
        locked = true;
        first = f->first_ms;
    }
    snprintf(key, sizeof(key), "a:%s", addr);
    f = fail_find(key, now, false);
    if (f && f->count >= 2 * AUTH_FAILS_PER_ADDR) {
        locked = true;
        if (f->first_ms < first)
            first = f->first_ms;
    }
    pthread_mutex_unlock(&g_fail_mu);
    int64_t left = first + AUTH_FAIL_WINDOW_MS - now;
    *retry_s = left > 1000 ? (unsigned)((left + 999) / 1000) : 1;
    return locked;
}

/*---- verification cache ----*/

/* A recent successful check of (user, password): keyed by a keyed hash
 * of both, and bound to the stored hash it passed, so a password change
 * makes it useless at once (auth_forget_user also drops it). */
#define CACHE_SLOTS 512
#define CACHE_TTL_MS (5 * 60 * 1000)
struct cache_slot {
    unsigned char key[32];
    unsigned char stored[32]; /* hash of the user's password_hash */
    int64_t user_id;
    int64_t expires;
};
static struct cache_slot *g_cache;
static unsigned char g_cache_key[crypto_generichash_KEYBYTES];
static pthread_mutex_t g_cache_mu = PTHREAD_MUTEX_INITIALIZER;

static void cache_key_of(const char *user, const char *password,
                         unsigned char out[32])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, g_cache_key, sizeof(g_cache_key), 32);
    crypto_generichash_update(&st, (const unsigned char *)user,
                              strlen(user) + 1);
    crypto_generichash_update(&st, (const unsigned char *)password,
                              strlen(password));
    crypto_generichash_final(&st, out, 32);
}

static void stored_digest(const char *hash, unsigned char out[32])
{
    crypto_generichash(out, 32, (const unsigned char *)hash, strlen(hash), NULL,
                       0);
}

static bool cache_hit(const unsigned char key[32], const char *stored_hash,
                      int64_t user_id)
{
    if (!g_cache)
        return false;
    unsigned char sd[32];
    stored_digest(stored_hash, sd);
    int64_t now = store_now_ms();
    bool hit = false;
    pthread_mutex_lock(&g_cache_mu);
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        struct cache_slot *c = &g_cache[i];
        if (c->expires > now && c->user_id == user_id &&
            sodium_memcmp(c->key, key, 32) == 0 &&
            sodium_memcmp(c->stored, sd, 32) == 0) {
            hit = true;
            break;
        }
    }
    pthread_mutex_unlock(&g_cache_mu);
    return hit;
}

static void cache_put(const unsigned char key[32], const char *stored_hash,
                      int64_t user_id)
{
    if (!g_cache)
        return;
    int64_t now = store_now_ms();
    pthread_mutex_lock(&g_cache_mu);
    struct cache_slot *pick = &g_cache[0];
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        if (g_cache[i].expires < pick->expires)
            pick = &g_cache[i];
    }
    memcpy(pick->key, key, 32);
    stored_digest(stored_hash, pick->stored);
    pick->user_id = user_id;
    pick->expires = now + CACHE_TTL_MS;
    pthread_mutex_unlock(&g_cache_mu);
}

void auth_forget_user(int64_t user_id)
{
    if (!g_cache)
        return;
    pthread_mutex_lock(&g_cache_mu);
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        if (g_cache[i].user_id == user_id)
            memset(&g_cache[i], 0, sizeof(g_cache[i]));
    }
    pthread_mutex_unlock(&g_cache_mu);
}

/*---- writes ----*/

/* A write nobody waits for (last use of a token or session): freed by
 * its completion on the writer thread. */
struct detached {
    struct store_write w;
    struct auth_write a;
    char hash[65];
};

static void detached_done(struct store_write *w, void *userdata)
{
    (void)w;
    free(userdata);
}

static void submit_touch(enum auth_op op, int64_t id, const char *hash,
                         int64_t now, int64_t expires)
{
    struct detached *d = calloc(1, sizeof(*d));
    if (!d)
        return;
    d->w.kind = SW_AUTH;
    d->w.auth = &d->a;
    d->a.op = op;
    d->a.id = id;
    d->a.now = now;
    d->a.expires = expires;
    if (hash) {
        snprintf(d->hash, sizeof(d->hash), "%s", hash);
        d->a.secret_hash = d->hash;
    }
    d->w.done = detached_done;
    d->w.userdata = d;
    store_submit(g_app->store, &d->w);
}

/* A write waited for (start-up). */
struct waited {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
};

static void waited_done(struct store_write *w, void *userdata)
{
    (void)w;
    struct waited *wt = userdata;
    pthread_mutex_lock(&wt->mu);
    wt->done = true;
    pthread_cond_signal(&wt->cv);
    pthread_mutex_unlock(&wt->mu);
}

static enum srv_err submit_wait(struct store_write *w)
{
    struct waited wt = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
                        false};
    w->done = waited_done;
    /* 'wt' outlives the write: this function waits for its 'done' */
    /* cppcheck-suppress autoVariables */
    w->userdata = &wt;
    store_submit(g_app->store, w);
    pthread_mutex_lock(&wt.mu);
    while (!wt.done)
        pthread_cond_wait(&wt.cv, &wt.mu);
    pthread_mutex_unlock(&wt.mu);
    return w->result;
}

struct auth_pending *auth_pending_new(
    struct request *req, enum auth_op op,
    enum handler_result (*after)(struct request *, struct response *))
{
    struct auth_pending *p = api_pending(req, sizeof(*p), after);
    if (!p)
        return NULL;
    p->w.kind = SW_AUTH;
    p->w.auth = &p->a;
    p->a.op = op;
    p->a.now = store_now_ms();
    return p;
}

/*---- authentication ----*/

static const char unauth_msg[] =
    "You are not authenticated. Please see the greentrack documentation "
    "(docs/api.md, Authentication) on how to authenticate.";

static void user_set(struct request_user *u, const struct auth_user_row *row,
                     const char *method)
{
    memset(u, 0, sizeof(*u));
    u->set = true;
    u->id = row->id;
    snprintf(u->name, sizeof(u->name), "%s", row->username);
    u->is_admin = row->is_admin;
    u->admin_power = row->is_admin;
    u->ceiling = -1;
    u->method = method;
}

enum srv_err auth_password_login(struct request *req, const char *username,
                                 const char *password, struct request_user *u,
                                 unsigned *retry_after_s, struct errbuf *eb)
{
    struct auth_user_row row;
    struct errbuf leb;
    enum srv_err e =
        store_auth_user_by_name(req->app->store, username, &row, &leb);
    if (e && e != SRV_E_RESOURCE_DOES_NOT_EXIST)
        return err_set(eb, e, "%s", leb.msg);
    bool ok = false;
    bool locked = fail_locked(username, req->client_addr, retry_after_s);
    if (!e) {
        unsigned char key[32];
        cache_key_of(username, password, key);
        if (cache_hit(key, row.password_hash, row.id)) {
            ok = true;
        } else if (locked) {
            ok = false; /* throttled: no hash for guesses */
        } else if (verify_hash(row.password_hash, password)) {
            cache_put(key, row.password_hash, row.id);
            ok = true;
        }
    } else if (!locked) {
        verify_hash(g_dummy_hash, password); /* same cost as a known user */
    }
    if (ok) {
        user_set(u, &row, "basic");
        return SRV_OK;
    }
    if (locked)
        return err_set(eb, SRV_E_RATE_LIMITED,
                       "Too many failed logins; retry in %u seconds",
                       *retry_after_s);
    enum srv_err r =
        fail_note(username, req->client_addr, &req->delay_ms, retry_after_s);
    if (r == SRV_E_RATE_LIMITED)
        return err_set(eb, r, "Too many failed logins; retry in %u seconds",
                       *retry_after_s);
    return err_set(eb, r, "%s", unauth_msg);
}

static enum srv_err auth_basic(struct request *req, const char *b64,
                               unsigned *retry_s, struct errbuf *eb)
{
    char decoded[1024];
    size_t n = 0;
    while (*b64 == ' ')
        b64++;
    if (sodium_base642bin((unsigned char *)decoded, sizeof(decoded) - 1, b64,
                          strlen(b64), " ", &n, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        return err_set(eb, SRV_E_UNAUTHENTICATED, "%s", unauth_msg);
    decoded[n] = '\0';
    char *colon = strchr(decoded, ':');
    if (!colon || memchr(decoded, '\0', n))
        return err_set(eb, SRV_E_UNAUTHENTICATED, "%s", unauth_msg);
    *colon = '\0';
    enum srv_err e =
        auth_password_login(req, decoded, colon + 1, &req->user, retry_s, eb);
    sodium_memzero(decoded, sizeof(decoded));
    return e;
}

static enum srv_err auth_bearer(struct request *req, const char *secret,
                                unsigned *retry_s, struct errbuf *eb)
{
    while (*secret == ' ')
        secret++;
    char hash[65];
    auth_secret_hash(secret, hash);
    struct auth_token_row t;
    bool found;
    struct errbuf leb;
    enum srv_err e =
        store_auth_token_by_hash(req->app->store, hash, &t, &found, &leb);
    if (e)
        return err_set(eb, e, "%s", leb.msg);
    int64_t now = store_now_ms();
    struct auth_user_row row;
    if (!found || t.revoked || (t.expires && t.expires <= now) ||
        store_auth_user_by_id(req->app->store, t.user_id, &row, &leb)) {
        enum srv_err r =
            fail_note(NULL, req->client_addr, &req->delay_ms, retry_s);
        if (r == SRV_E_RATE_LIMITED)
            return err_set(eb, r, "Too many failed logins; retry in %u seconds",
                           *retry_s);
        return err_set(eb, SRV_E_UNAUTHENTICATED,
                       "The token is unknown, revoked or expired");
    }
    user_set(&req->user, &row, "token");
    req->user.token_id = t.id;
    req->user.ceiling = auth_level_parse(t.permission_ceiling);
    snprintf(req->user.scope, sizeof(req->user.scope), "%s", t.experiment_id);
    if (req->user.ceiling >= 0 || req->user.scope[0])
        req->user.admin_power = false;
    if (now - t.last_used > 60 * 1000)
        submit_touch(AUTH_TOKEN_TOUCH, t.id, NULL, now, 0);
    return SRV_OK;
}

/* The gt_session cookie's value in a Cookie header, into 'out'. */
static bool cookie_value(const char *cookie, char *out, size_t cap)
{
    const size_t klen = sizeof(AUTH_COOKIE) - 1;
    for (const char *p = cookie; p && *p;) {
        while (*p == ' ' || *p == ';')
            p++;
        if (strncmp(p, AUTH_COOKIE, klen) == 0 && p[klen] == '=') {
            p += klen + 1;
            size_t n = strcspn(p, "; ");
            if (n == 0 || n >= cap)
                return false;
            memcpy(out, p, n);
            out[n] = '\0';
            return true;
        }
        p = strchr(p, ';');
    }
    return false;
}

static enum srv_err auth_session(struct request *req, const char *sid,
                                 struct errbuf *eb)
{
    char hash[65];
    auth_secret_hash(sid, hash);
    int64_t uid, expires, last_seen;
    bool found;
    struct errbuf leb;
    enum srv_err e = store_auth_session(req->app->store, hash, &uid, &expires,
                                        &last_seen, &found, &leb);
    if (e)
        return err_set(eb, e, "%s", leb.msg);
    int64_t now = store_now_ms();
    struct auth_user_row row;
    if (!found || expires <= now ||
        store_auth_user_by_id(req->app->store, uid, &row, &leb))
        return err_set(eb, SRV_E_UNAUTHENTICATED,
                       "The session has ended; log in again");
    user_set(&req->user, &row, "session");
    if (now - last_seen > 60 * 1000)
        submit_touch(AUTH_SESSION_TOUCH, 0, hash, now,
                     now + AUTH_SESSION_IDLE_MS);
    return SRV_OK;
}

/* Who sent 'req': req->user set, or an error. With 'optional', no
 * credentials at all is no error (req->user stays unset). */
static enum srv_err authenticate(struct request *req, bool optional,
                                 unsigned *retry_s, struct errbuf *eb)
{
    const char *a = req->authorization;
    if (a && strncasecmp(a, "Basic ", 6) == 0)
        return auth_basic(req, a + 6, retry_s, eb);
    if (a && strncasecmp(a, "Bearer ", 7) == 0)
        return auth_bearer(req, a + 7, retry_s, eb);
    if (a && *a)
        return err_set(eb, SRV_E_UNAUTHENTICATED, "%s", unauth_msg);
    char sid[128];
    if (req->cookie && cookie_value(req->cookie, sid, sizeof(sid)))
        return auth_session(req, sid, eb);
    if (optional)
        return SRV_OK;
    return err_set(eb, SRV_E_UNAUTHENTICATED, "%s", unauth_msg);
}

/*---- authorisation ----*/

static int cap_level(const struct request *req, int level, bool model,
                     const char *experiment_id)
{
    const struct request_user *u = &req->user;
    if (u->scope[0] && (model || strcmp(u->scope, experiment_id) != 0))
        level = AUTH_NO_PERMISSIONS;
    if (u->ceiling >= 0 && level > u->ceiling)
        level = u->ceiling;
    return level;
}

/* The request user's level on registered model 'resource' ('model') or
 * on experiment id 'resource': an admin's MANAGE, else its grant, else
 * the default; capped by its token. */
static int resource_level(struct request *req, bool model, const char *resource)
{
    if (!g_on)
        return AUTH_MANAGE;
    int level = g_default_level;
    if (req->user.is_admin) {
        level = AUTH_MANAGE;
    } else {
        char perm[16];
        bool found;
        struct errbuf eb;
        enum srv_err e =
            model ? store_auth_model_perm(req->app->store, resource,
                                          req->user.id, perm, &found, &eb)
                  : store_auth_exp_perm(req->app->store, resource, req->user.id,
                                        perm, &found, &eb);
        if (e)
            level = AUTH_NO_PERMISSIONS; /* fail closed */
        else if (found)
            level = auth_level_parse(perm) < 0 ? AUTH_NO_PERMISSIONS
                                               : auth_level_parse(perm);
    }
    return cap_level(req, level, model, model ? "" : resource);
}

static int exp_level_text(struct request *req, const char *experiment_id)
{
    return resource_level(req, false, experiment_id);
}

int auth_experiment_level(struct request *req, int64_t experiment_id)
{
    char id[32];
    snprintf(id, sizeof(id), "%" PRId64, experiment_id);
    return exp_level_text(req, id);
}

static int model_level(struct request *req, const char *name)
{
    return resource_level(req, true, name);
}

bool auth_can_read_model(struct request *req, const char *name)
{
    return !g_on || req->user.admin_power ||
           model_level(req, name) >= AUTH_READ;
}

void auth_filter_experiments(struct request *req, int64_t *ids, size_t *n)
{
    if (!g_on || req->user.admin_power)
        return;
    size_t k = 0;
    for (size_t i = 0; i < *n; i++) {
        if (auth_experiment_level(req, ids[i]) >= AUTH_READ)
            ids[k++] = ids[i];
    }
    *n = k;
}

static enum srv_err denied(struct errbuf *eb)
{
    return err_set(eb, SRV_E_PERMISSION_DENIED, "Permission denied");
}

static enum srv_err need(int have, int want, struct errbuf *eb)
{
    return have >= want ? SRV_OK : denied(eb);
}

static enum srv_err run_level(struct request *req, const char *run_id,
                              int *level, struct errbuf *eb)
{
    int64_t exp;
    enum srv_err e =
        store_auth_run_experiment(req->app->store, run_id, &exp, eb);
    if (e)
        return e;
    *level = auth_experiment_level(req, exp);
    return SRV_OK;
}

/* The experiment of an artifact path: its leading digits before a '/'
 * (or the end); "" when it has none (the default permission applies). */
static void artifact_experiment(const char *path, char *out, size_t cap)
{
    out[0] = '\0';
    if (!path)
        return;
    while (*path == '/')
        path++;
    size_t n = strspn(path, "0123456789");
    if (n == 0 || n >= cap || (path[n] != '/' && path[n] != '\0'))
        return;
    memcpy(out, path, n);
    out[n] = '\0';
}

static enum srv_err check_artifact(struct request *req, const char *path,
                                   int want, struct errbuf *eb)
{
    char id[32];
    artifact_experiment(path, id, sizeof(id));
    int level =
        id[0]
            ? exp_level_text(req, id)
            : cap_level(req, req->user.is_admin ? AUTH_MANAGE : g_default_level,
                        false, "");
    return need(level, want, eb);
}

static enum srv_err check_ids(struct request *req, const char *field, bool runs,
                              struct errbuf *eb)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req->args, field);
    if (!v || cJSON_IsNull(v))
        return SRV_OK;
    const cJSON *it;
    const cJSON *list = v;
    cJSON *tmp = NULL;
    if (!cJSON_IsArray(v)) {
        tmp = cJSON_CreateArray();
        if (!tmp || !cJSON_AddItemToArray(tmp, cJSON_Duplicate(v, true))) {
            cJSON_Delete(tmp);
            return err_set(eb, SRV_E_NOMEM, "out of memory");
        }
        list = tmp;
    }
    enum srv_err e = SRV_OK;
    cJSON_ArrayForEach(it, list)
    {
        char buf[64];
        const char *s = NULL;
        if (cJSON_IsString(it)) {
            s = it->valuestring;
        } else if (cJSON_IsNumber(it)) {
            snprintf(buf, sizeof(buf), "%.0f", it->valuedouble);
            s = buf;
        } else {
            continue; /* the handler rejects it */
        }
        int level;
        if (runs) {
            if ((e = run_level(req, s, &level, eb)))
                break;
        } else {
            level = exp_level_text(req, s);
        }
        if ((e = need(level, AUTH_READ, eb)))
            break;
    }
    cJSON_Delete(tmp);
    return e;
}

/* The path after the artifact proxy's route name ("artifacts/",
 * "mpu/create/", ...), or NULL. */
static const char *artifact_path(const char *path)
{
    const char *p = strstr(path, "/mlflow-artifacts/");
    if (!p)
        return NULL;
    p += strlen("/mlflow-artifacts/");
    if (strncmp(p, "artifacts/", 10) == 0)
        return p + 10;
    if (strncmp(p, "mpu/", 4) == 0) {
        const char *s = strchr(p + 4, '/');
        return s ? s + 1 : NULL;
    }
    return NULL;
}

/* The level a PERM_{EXP,RUN,MODEL}_{READ,EDIT,MANAGE} route needs. */
static int perm_level(enum route_perm perm)
{
    switch (perm) {
    case PERM_EXP_READ:
    case PERM_RUN_READ:
    case PERM_MODEL_READ:
        return AUTH_READ;
    case PERM_EXP_EDIT:
    case PERM_RUN_EDIT:
    case PERM_MODEL_EDIT:
        return AUTH_EDIT;
    default:
        return AUTH_MANAGE;
    }
}

static enum srv_err authorize(struct request *req, enum route_perm perm,
                              struct errbuf *eb)
{
    const struct request_user *u = &req->user;
    if (perm == PERM_NONE)
        return SRV_OK;
    if (perm == PERM_UNSET || perm >= PERM_COUNT)
        return denied(eb); /* unmapped: fail closed */
    if (u->admin_power)
        return SRV_OK;
    enum srv_err e;
    char idbuf[64];
    bool present;
    const char *s;
    int level;
    switch (perm) {
    case PERM_NONE:
    case PERM_ANY_USER:
    case PERM_RUNS_SEARCH: /* the handler narrows experiment_ids */
        return SRV_OK;
    case PERM_CREATE:
        if (u->scope[0] || (u->ceiling >= 0 && u->ceiling < AUTH_EDIT))
            return denied(eb);
        return SRV_OK;
    case PERM_ADMIN:
        return denied(eb);
    case PERM_SELF:
        if ((e = jx_str(req->args, "username", true, &s, eb)))
            return e;
        return strcmp(s, u->name) == 0 ? SRV_OK : denied(eb);
    case PERM_EXP_READ:
    case PERM_EXP_EDIT:
    case PERM_EXP_MANAGE:
        if ((e = jx_id(req->args, "experiment_id", false, idbuf, sizeof(idbuf),
                       &present, eb)))
            return e;
        if (!present) /* greentrack's handlers take the Default one */
            snprintf(idbuf, sizeof(idbuf), "0");
        level = exp_level_text(req, idbuf);
        return need(level, perm_level(perm), eb);
    case PERM_EXP_NAME_READ: {
        if ((e = jx_str(req->args, "experiment_name", true, &s, eb)))
            return e;
        int64_t id;
        bool found;
        if ((e = store_auth_experiment_by_name(req->app->store, s, &id, &found,
                                               eb)))
            return e;
        if (!found)
            return err_set(eb, SRV_E_RESOURCE_DOES_NOT_EXIST,
                           "Could not find experiment with name '%.250s'", s);
        return need(auth_experiment_level(req, id), AUTH_READ, eb);
    }
    case PERM_EXP_IDS_READ:
        return check_ids(req, "experiment_ids", false, eb);
    case PERM_RUN_IDS_READ:
        if ((e = check_ids(req, "run_ids", true, eb)))
            return e;
        return check_ids(req, "run_id", true, eb);
    case PERM_RUN_READ:
    case PERM_RUN_EDIT:
    case PERM_RUN_MANAGE:
        if ((e = jx_run_id(req->args, true, &s, eb)))
            return e;
        if ((e = run_level(req, s, &level, eb)))
            return e;
        return need(level, perm_level(perm), eb);
    case PERM_MODEL_READ:
    case PERM_MODEL_EDIT:
    case PERM_MODEL_MANAGE:
        if ((e = jx_str(req->args, "name", true, &s, eb)))
            return e;
        level = model_level(req, s);
        return need(level, perm_level(perm), eb);
    case PERM_ARTIFACT:
        return check_artifact(req, artifact_path(req->path),
                              strcmp(req->method, "GET") == 0 ||
                                      strcmp(req->method, "HEAD") == 0
                                  ? AUTH_READ
                                  : AUTH_EDIT,
                              eb);
    case PERM_ARTIFACT_LIST:
        if ((e = jx_str(req->args, "path", false, &s, eb)))
            return e;
        return check_artifact(req, s, AUTH_READ, eb);
    case PERM_UNSET:
    case PERM_COUNT:
        break;
    }
    return denied(eb);
}

enum srv_err auth_check(struct request *req, enum route_perm perm,
                        unsigned *retry_after_s, struct errbuf *eb)
{
    memset(&req->user, 0, sizeof(req->user));
    req->user.ceiling = -1;
    req->user.method = "none";
    if (!g_on)
        return SRV_OK;
    /* login, logout and whoami take credentials when sent, and answer
     * without them */
    enum srv_err e = authenticate(req, perm == PERM_NONE, retry_after_s, eb);
    if (e && perm == PERM_NONE) {
        /* an open route answers with bad credentials as without any */
        memset(&req->user, 0, sizeof(req->user));
        req->user.ceiling = -1;
        req->user.method = "none";
        req->delay_ms = 0;
        return SRV_OK;
    }
    if (e)
        return e;
    return authorize(req, perm, eb);
}

void auth_error_response(const struct request *req, struct response *res,
                         enum srv_err e, const char *msg,
                         unsigned retry_after_s)
{
    api_error(res, e, msg);
    if (e == SRV_E_UNAUTHENTICATED && !req->from_ui)
        api_add_header(res, "WWW-Authenticate", "Basic realm=\"greentrack\"");
    if (e == SRV_E_RATE_LIMITED)
        res->retry_after_s = retry_after_s ? retry_after_s : 1;
}

/*---- audit ----*/

void auth_audit(const struct request *req, unsigned status)
{
    if (!g_on || !req->method || strcmp(req->method, "GET") == 0 ||
        strcmp(req->method, "HEAD") == 0 || strcmp(req->method, "OPTIONS") == 0)
        return;
    char exp[64] = "", run[64] = "";
    bool present;
    struct errbuf eb;
    const char *run_id = NULL;
    if (req->args) {
        if (jx_id(req->args, "experiment_id", false, exp, sizeof(exp), &present,
                  &eb) ||
            !present)
            exp[0] = '\0';
        if (jx_run_id(req->args, true, &run_id, &eb) || !run_id)
            run_id = NULL;
    }
    if (run_id)
        snprintf(run, sizeof(run), "%.40s", run_id);
    /* names are printed with %.Ns and only from validated rows or the
     * route; no body, no header, no secret */
    log_audit("user=%s method=%.10s path=%.200s status=%u "
              "experiment_id=%s run_id=%s",
              req->user.set ? req->user.name : "-", req->method, req->path,
              status, exp[0] ? exp : "-", run[0] ? run : "-");
}

/*---- start-up ----*/

int auth_init(struct app *app, char *err, size_t errlen)
{
    g_app = app;
    if (sodium_init() < 0) {
        snprintf(err, errlen, "cannot initialise libsodium");
        return -1;
    }
    g_on = app->cfg->auth;
    if (!g_on)
        return 0;
    g_default_level = auth_level_parse(app->cfg->auth_default_permission);
    if (g_default_level < 0)
        g_default_level = AUTH_READ;
    randombytes_buf(g_cache_key, sizeof(g_cache_key));
    g_cache = calloc(CACHE_SLOTS, sizeof(*g_cache));
    g_fails = calloc(THROTTLE_SLOTS, sizeof(*g_fails));
    if (!g_cache || !g_fails) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char rnd[33];
    auth_random_hex(rnd, 16);
    if (auth_hash_password(rnd, g_dummy_hash, sizeof(g_dummy_hash))) {
        snprintf(err, errlen, "cannot hash a password (out of memory?)");
        return -1;
    }
    int64_t n;
    struct errbuf eb;
    if (store_auth_user_count(app->store, &n, &eb)) {
        snprintf(err, errlen, "cannot read the users: %s", eb.msg);
        return -1;
    }
    if (n > 0)
        return 0;
    const char *user = getenv("GREENTRACK_ADMIN_USERNAME");
    const char *pw = getenv("GREENTRACK_ADMIN_PASSWORD");
    if (!user || !*user || !pw || !*pw) {
        snprintf(err, errlen,
                 "--auth on a database without users needs "
                 "GREENTRACK_ADMIN_USERNAME and GREENTRACK_ADMIN_PASSWORD "
                 "(there is no default password)");
        return -1;
    }
    if (auth_validate_username(user, &eb)) {
        snprintf(err, errlen, "GREENTRACK_ADMIN_USERNAME: %s", eb.msg);
        return -1;
    }
    char hash[crypto_pwhash_STRBYTES];
    if (auth_hash_password(pw, hash, sizeof(hash))) {
        snprintf(err, errlen, "cannot hash the admin password");
        return -1;
    }
    struct auth_write a = {.op = AUTH_USER_CREATE,
                           .username = user,
                           .password_hash = hash,
                           .is_admin = true,
                           .now = store_now_ms()};
    struct store_write w = {.kind = SW_AUTH, .auth = &a};
    if (submit_wait(&w) != SRV_OK) {
        snprintf(err, errlen, "cannot create the admin user: %s", w.err.msg);
        return -1;
    }
    log_info("created the admin user %s", user);
    return 0;
}

void auth_shutdown(void)
{
    free(g_cache);
    g_cache = NULL;
    free(g_fails);
    g_fails = NULL;
}
