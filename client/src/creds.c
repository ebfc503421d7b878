/* SPDX-License-Identifier: MIT
 *
 * creds: a client's credentials and TLS trust. Where they come from (the
 * setters; $MLFLOW_TRACKING_USERNAME with $MLFLOW_TRACKING_PASSWORD;
 * $GREENTRACK_TRACKING_TOKEN; $MLFLOW_TRACKING_TOKEN; the credentials file
 * that `greentrack login` writes), that file's format, its checks on read
 * and its atomic rewrite, $GREENTRACK_CA_BUNDLE, and the text that says
 * which credential is missing when a server answers 401 or 403. Secrets
 * live in this struct and in libcurl's copies only: no message, log line
 * or error text ever contains one.
 *
 * The credentials file ($XDG_CONFIG_HOME/greentrack/credentials, else
 * ~/.config/greentrack/credentials) holds one section per tracking URI:
 *
 *     [https://tracking.example:5000]
 *     username = alice
 *     token = gtk_...
 *     token_id = 7
 *
 * It is read only when it is a regular file owned by the user with no
 * access for group or others (mode 0600); otherwise it is ignored and the
 * reason is kept for the 401 message.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CREDS_FILE_MAX (256 * 1024)
#define CREDS_VALUE_MAX 4096

/*---- small helpers ----*/

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Frees a secret after overwriting it. */
static void free_secret(char *s)
{
    if (!s)
        return;
    volatile char *p = s;
    while (*p)
        *p++ = '\0';
    free(s);
}

static const char *env_set(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* A value the file can hold on one line: printable, no leading or
 * trailing blank, at most CREDS_VALUE_MAX bytes. */
static bool value_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > CREDS_VALUE_MAX || s[0] == ' ' || s[n - 1] == ' ')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return false;
    }
    return true;
}

/* 'uri' without trailing slashes (as the client keeps it), malloc'd. */
static char *uri_key(const char *uri)
{
    char *k = strdup(uri);
    if (!k)
        return NULL;
    size_t n = strlen(k);
    while (n > 8 && k[n - 1] == '/')
        k[--n] = '\0';
    return k;
}

/*---- the credentials file ----*/

char *creds_file_path(void)
{
    const char *base = getenv("XDG_CONFIG_HOME");
    const char *suffix = "/greentrack/credentials";
    if (!base || base[0] != '/') {
        base = getenv("HOME");
        suffix = "/.config/greentrack/credentials";
    }
    if (!base || base[0] != '/')
        return NULL;
    size_t n = strlen(base) + strlen(suffix) + 1;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s%s", base, suffix);
    return p;
}

/* Reads the whole file 'path' after checking it (regular, ours, no access
 * for group or others, unless 'any_mode'). 1 with '*text' (malloc'd,
 * NUL-terminated), 0 when it does not exist, -1 with 'err' set. */
static int file_read_checked(const char *path, bool any_mode, char **text,
                             char *err, size_t errlen)
{
    struct stat st;
    *text = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return 0;
        gt_errno_text(err, errlen, "", "cannot open credentials file", path,
                      errno);
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "credentials file %s is not a regular file",
                 path);
        close(fd);
        return -1;
    }
    if (st.st_uid != geteuid()) {
        snprintf(err, errlen,
                 "credentials file %s is not owned by this user: ignored",
                 path);
        close(fd);
        return -1;
    }
    if ((st.st_mode & 077) && !any_mode) {
        snprintf(err, errlen,
                 "credentials file %s can be read by group or others "
                 "(mode %03o): ignored; chmod 600 it",
                 path, (unsigned)(st.st_mode & 0777));
        close(fd);
        return -1;
    }
    if (st.st_size > CREDS_FILE_MAX) {
        snprintf(err, errlen, "credentials file %s is too large", path);
        close(fd);
        return -1;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (buf && got < (size_t)st.st_size) {
        ssize_t k = read(fd, buf + got, (size_t)st.st_size - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(fd);
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    buf[got] = '\0';
    *text = buf;
    return 1;
}

/* Splits the next line off '*p' (NUL-terminating it in place), trimmed of
 * blanks and '\r'. NULL at the end. */
static char *next_line(char **p)
{
    char *s = *p;
    if (!s || !*s)
        return NULL;
    char *nl = strchr(s, '\n');
    if (nl) {
        *nl = '\0';
        *p = nl + 1;
    } else {
        *p = s + strlen(s);
    }
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* A "[name]" line: its name (in place, trailing slashes removed), else
 * NULL. */
static char *section_name(char *line)
{
    size_t n = strlen(line);
    if (n < 2 || line[0] != '[' || line[n - 1] != ']')
        return NULL;
    line[n - 1] = '\0';
    n -= 2;
    while (n > 8 && line[n] == '/')
        line[n--] = '\0';
    return line + 1;
}

int creds_file_lookup(const char *path, const char *uri,
                      struct creds_entry *out, char *err, size_t errlen)
{
    char *text;
    memset(out, 0, sizeof *out);
    int r = file_read_checked(path, false, &text, err, errlen);
    if (r <= 0)
        return r;
    char *key = uri_key(uri);
    if (!key) {
        free_secret(text);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    bool in = false, found = false, oom = false;
    char *p = text, *line;
    while ((line = next_line(&p)) != NULL) {
        if (line[0] == '#' || line[0] == ';' || line[0] == '\0')
            continue;
        char *sec = section_name(line);
        if (sec) {
            in = strcmp(sec, key) == 0;
            found = found || in;
            continue;
        }
        char *eq = strchr(line, '=');
        if (!in || !eq)
            continue;
        char *k = line, *v = eq + 1;
        size_t kn = (size_t)(eq - line);
        while (kn > 0 && (k[kn - 1] == ' ' || k[kn - 1] == '\t'))
            kn--;
        k[kn] = '\0';
        while (*v == ' ' || *v == '\t')
            v++;
        char **slot = strcmp(k, "token") == 0      ? &out->token
                      : strcmp(k, "token_id") == 0 ? &out->token_id
                      : strcmp(k, "username") == 0 ? &out->username
                                                   : NULL;
        if (!slot || !*v)
            continue;
        free_secret(*slot);
        *slot = strdup(v);
        oom = oom || !*slot;
    }
    free(key);
    free_secret(text);
    if (oom) {
        creds_entry_cleanup(out);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (!found || !out->token) {
        creds_entry_cleanup(out);
        return 0;
    }
    return 1;
}

void creds_entry_cleanup(struct creds_entry *e)
{
    free_secret(e->token);
    free(e->token_id);
    free(e->username);
    memset(e, 0, sizeof *e);
}

/* Creates the parents of 'path' (mode 0700). 0 or -1 with errno. */
static int make_parents(const char *path)
{
    char dir[4096];
    size_t n = strlen(path);
    if (n >= sizeof dir) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(dir, path, n + 1);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    for (char *s = dir + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(dir, 0700) != 0 && errno != EEXIST)
                return -1;
            *s = c;
            if (c == '\0')
                break;
        }
    }
    return 0;
}

/* Writes 'b' to a new file beside 'path' (mode 0600) and renames it over
 * 'path'. GT_OK or GT_E_IO with 'err' set. */
static gt_status write_replace(const char *path, const struct gt_buf *b,
                               char *err, size_t errlen)
{
    char tmp[4200];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid()) >=
        sizeof tmp) {
        snprintf(err, errlen, "credentials path too long");
        return GT_E_IO;
    }
    if (make_parents(path) != 0) {
        gt_errno_text(err, errlen, "", "cannot create the folder of", path,
                      errno);
        return GT_E_IO;
    }
    unlink(tmp);
    int fd =
        open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        gt_errno_text(err, errlen, "", "cannot create", tmp, errno);
        return GT_E_IO;
    }
    size_t done = 0;
    int e = 0;
    while (done < b->len) {
        ssize_t k = write(fd, b->p + done, b->len - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            e = k < 0 ? errno : ENOSPC;
            break;
        }
        done += (size_t)k;
    }
    if (!e && fchmod(fd, 0600) != 0)
        e = errno;
    if (!e && fsync(fd) != 0)
        e = errno;
    if (close(fd) != 0 && !e)
        e = errno;
    if (!e && rename(tmp, path) != 0)
        e = errno;
    if (e) {
        unlink(tmp);
        gt_errno_text(err, errlen, "", "cannot write", path, e);
        return GT_E_IO;
    }
    return GT_OK;
}

/* Copies the file's text into 'b' without the section of 'key' (whose
 * token_id, if any, goes to '*token_id' when not NULL). '*had' says
 * whether the section was there. */
static void copy_without(char *text, const char *key, struct gt_buf *b,
                         bool *had, char **token_id)
{
    bool skip = false;
    char *p = text, *line;
    while ((line = next_line(&p)) != NULL) {
        if (line[0] == '[') {
            char name[4200];
            snprintf(name, sizeof name, "%s", line);
            char *sec = section_name(name);
            skip = sec && strcmp(sec, key) == 0;
            *had = *had || skip;
        }
        if (skip) {
            char *eq = strchr(line, '=');
            if (token_id && eq && strncmp(line, "token_id", 8) == 0 &&
                (line[8] == ' ' || line[8] == '=' || line[8] == '\t')) {
                char *v = eq + 1;
                while (*v == ' ' || *v == '\t')
                    v++;
                free(*token_id);
                *token_id = strdup(v);
            }
            continue;
        }
        if (line[0] == '\0' && b->len == 0)
            continue;
        gt_buf_adds(b, line);
        gt_buf_add(b, "\n", 1);
    }
}

/* The end of a change to file 'path': writes 'b' (its new text) over it,
 * then wipes and frees 'b', 'text' (the old text, may be NULL) and 'key'
 * (uri_key's, NULL when out of memory). GT_E_NOMEM when 'key' is NULL or
 * 'b' ran out, GT_E_NOT_FOUND when '!found' (the file has no section
 * 'key'), else write_replace's; 'err' says why. */
static gt_status rewrite_and_free(const char *path, struct gt_buf *b,
                                  char *text, char *key, bool found, char *err,
                                  size_t errlen)
{
    gt_status rc;
    if (!key || b->oom) {
        snprintf(err, errlen, "out of memory");
        rc = GT_E_NOMEM;
    } else if (!found) {
        snprintf(err, errlen, "no credentials for %s in %s", key, path);
        rc = GT_E_NOT_FOUND;
    } else {
        rc = write_replace(path, b, err, errlen);
    }
    if (b->p)
        memset(b->p, 0, b->len);
    gt_buf_cleanup(b);
    free_secret(text);
    free(key);
    return rc;
}

gt_status creds_file_store(const char *path, const char *uri,
                           const char *username, const char *token,
                           const char *token_id, char *err, size_t errlen)
{
    if (!path || !uri || !token || !value_ok(token) || !value_ok(uri) ||
        (username && !value_ok(username)) ||
        (token_id && !value_ok(token_id))) {
        snprintf(err, errlen, "a credential or URI that cannot be stored");
        return GT_E_INVALID;
    }
    char *text = NULL;
    /* an old file with a wider mode is rewritten 0600; one that is not
     * ours (or not a file) is left alone */
    if (file_read_checked(path, true, &text, err, errlen) < 0)
        return GT_E_IO;
    char *key = uri_key(uri);
    struct gt_buf b;
    gt_buf_init(&b);
    bool had = false;
    if (!text)
        gt_buf_adds(&b, "# greentrack credentials, written by `greentrack "
                        "login`: keep this file mode 0600\n");
    else if (key)
        copy_without(text, key, &b, &had, NULL);
    if (b.len > 0 && b.p[b.len - 1] != '\n')
        gt_buf_add(&b, "\n", 1);
    gt_buf_adds(&b, "[");
    gt_buf_adds(&b, key ? key : "");
    gt_buf_adds(&b, "]\n");
    if (username) {
        gt_buf_adds(&b, "username = ");
        gt_buf_adds(&b, username);
        gt_buf_add(&b, "\n", 1);
    }
    gt_buf_adds(&b, "token = ");
    gt_buf_adds(&b, token);
    gt_buf_add(&b, "\n", 1);
    if (token_id) {
        gt_buf_adds(&b, "token_id = ");
        gt_buf_adds(&b, token_id);
        gt_buf_add(&b, "\n", 1);
    }
    return rewrite_and_free(path, &b, text, key, true, err, errlen);
}

gt_status creds_file_remove(const char *path, const char *uri, char **token_id,
                            char *err, size_t errlen)
{
    char *text = NULL;
    if (token_id)
        *token_id = NULL;
    int r = file_read_checked(path, true, &text, err, errlen);
    if (r < 0)
        return GT_E_IO;
    if (r == 0) {
        snprintf(err, errlen, "no credentials file %s", path);
        return GT_E_NOT_FOUND;
    }
    char *key = uri_key(uri);
    struct gt_buf b;
    gt_buf_init(&b);
    bool had = false;
    if (key)
        copy_without(text, key, &b, &had, token_id);
    gt_status rc = rewrite_and_free(path, &b, text, key, had, err, errlen);
    if (rc != GT_OK && token_id) {
        free(*token_id);
        *token_id = NULL;
    }
    return rc;
}

/*---- a client's credentials ----*/

static void creds_clear_locked(struct gt_creds *cr)
{
    free(cr->username);
    free_secret(cr->password);
    free_secret(cr->token);
    cr->username = cr->password = cr->token = NULL;
    cr->kind = CRED_NONE;
    cr->source[0] = '\0';
}

int creds_init(struct gt_creds *cr, const char *uri)
{
    memset(cr, 0, sizeof *cr);
    if (pthread_mutex_init(&cr->mu, NULL) != 0)
        return -1;
    const char *user = env_set("MLFLOW_TRACKING_USERNAME");
    const char *pass = env_set("MLFLOW_TRACKING_PASSWORD");
    const char *gtok = env_set("GREENTRACK_TRACKING_TOKEN");
    const char *mtok = env_set("MLFLOW_TRACKING_TOKEN");
    const char *ca = env_set("GREENTRACK_CA_BUNDLE");
    bool oom = false;

    if (ca) {
        cr->ca_bundle = strdup(ca);
        oom = !cr->ca_bundle;
    }
    if (user && pass) {
        cr->kind = CRED_BASIC;
        cr->username = strdup(user);
        cr->password = strdup(pass);
        oom = oom || !cr->username || !cr->password;
        snprintf(cr->source, sizeof cr->source,
                 "$MLFLOW_TRACKING_USERNAME and $MLFLOW_TRACKING_PASSWORD");
        return oom ? (creds_cleanup(cr), -1) : 0;
    }
    if (user || pass)
        snprintf(cr->note, sizeof cr->note, "%s is set but %s is not",
                 user ? "MLFLOW_TRACKING_USERNAME" : "MLFLOW_TRACKING_PASSWORD",
                 user ? "MLFLOW_TRACKING_PASSWORD"
                      : "MLFLOW_TRACKING_USERNAME");
    if (gtok || mtok) {
        cr->kind = CRED_TOKEN;
        cr->token = strdup(gtok ? gtok : mtok);
        oom = oom || !cr->token;
        snprintf(cr->source, sizeof cr->source, "%s",
                 gtok ? "$GREENTRACK_TRACKING_TOKEN"
                      : "$MLFLOW_TRACKING_TOKEN");
        return oom ? (creds_cleanup(cr), -1) : 0;
    }
    char *path = creds_file_path();
    if (path && uri) {
        struct creds_entry e;
        char err[sizeof cr->note];
        int r = creds_file_lookup(path, uri, &e, err, sizeof err);
        if (r > 0) {
            cr->kind = CRED_TOKEN;
            cr->token = e.token;
            cr->username = e.username;
            e.token = e.username = NULL;
            creds_entry_cleanup(&e);
            snprintf(cr->source, sizeof cr->source,
                     "the credentials file %.140s", path);
        } else if (r < 0) {
            size_t n = strlen(cr->note);
            snprintf(cr->note + n, sizeof cr->note - n, "%s%s", n ? "; " : "",
                     err);
        }
    }
    free(path);
    return oom ? (creds_cleanup(cr), -1) : 0;
}

void creds_cleanup(struct gt_creds *cr)
{
    creds_clear_locked(cr);
    free(cr->ca_bundle);
    cr->ca_bundle = NULL;
    pthread_mutex_destroy(&cr->mu);
}

/* Replaces the credentials by ones a setter ('source') gave: takes
 * 'username', 'password' and 'token' (each may be NULL); the old secrets
 * are wiped. */
static void creds_replace(struct gt_creds *cr, enum cred_kind kind,
                          char *username, char *password, char *token,
                          const char *source)
{
    pthread_mutex_lock(&cr->mu);
    creds_clear_locked(cr);
    cr->kind = kind;
    cr->username = username;
    cr->password = password;
    cr->token = token;
    cr->note[0] = '\0';
    snprintf(cr->source, sizeof cr->source, "%s", source);
    cr->gen++;
    pthread_mutex_unlock(&cr->mu);
}

gt_status creds_set_basic(struct gt_creds *cr, const char *username,
                          const char *password)
{
    char *u = strdup(username), *p = strdup(password);
    if (!u || !p) {
        free(u);
        free_secret(p);
        return GT_E_NOMEM;
    }
    creds_replace(cr, CRED_BASIC, u, p, NULL, "gt_client_set_basic_auth");
    return GT_OK;
}

gt_status creds_set_token(struct gt_creds *cr, const char *token)
{
    char *t = strdup(token);
    if (!t)
        return GT_E_NOMEM;
    creds_replace(cr, CRED_TOKEN, NULL, NULL, t, "gt_client_set_token");
    return GT_OK;
}

gt_status creds_set_ca(struct gt_creds *cr, const char *path)
{
    char *p = dup_or_null(path);
    if (path && !p)
        return GT_E_NOMEM;
    pthread_mutex_lock(&cr->mu);
    free(cr->ca_bundle);
    cr->ca_bundle = p;
    cr->gen++;
    pthread_mutex_unlock(&cr->mu);
    return GT_OK;
}

void creds_explain(struct gt_creds *cr, long status, const char *detail,
                   char *out, size_t outlen)
{
    static const char how[] =
        "set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or "
        "MLFLOW_TRACKING_TOKEN (or GREENTRACK_TRACKING_TOKEN), or run "
        "`greentrack login`";
    char who[256];
    pthread_mutex_lock(&cr->mu);
    if (cr->kind == CRED_BASIC)
        snprintf(who, sizeof who, "user '%.60s' (from %.160s)", cr->username,
                 cr->source);
    else if (cr->kind == CRED_TOKEN && cr->username)
        snprintf(who, sizeof who, "the token of user '%.60s' (from %.160s)",
                 cr->username, cr->source);
    else if (cr->kind == CRED_TOKEN)
        snprintf(who, sizeof who, "the token from %.200s", cr->source);
    else
        who[0] = '\0';
    const char *note = cr->note;
    if (status == 403) {
        snprintf(out, outlen,
                 "permission denied (HTTP 403) for %s%s%.200s: ask an admin "
                 "for the permission (EDIT on the experiment to log)",
                 who[0] ? who : "anonymous access", detail[0] ? ": " : "",
                 detail);
    } else if (cr->kind == CRED_NONE) {
        snprintf(out, outlen,
                 "the server requires credentials (HTTP 401) and none are "
                 "set%s%.300s%s: %s",
                 note[0] ? " (" : "", note, note[0] ? ")" : "", how);
    } else {
        snprintf(out, outlen,
                 "the server refused %s (HTTP 401: wrong password, deleted "
                 "user, or a revoked or expired token): %s",
                 who, how);
    }
    pthread_mutex_unlock(&cr->mu);
}
