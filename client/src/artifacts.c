/* SPDX-License-Identifier: MIT
 *
 * artifacts: run artifacts. gt_log_artifact and gt_log_artifacts check
 * their arguments, stat the path once and queue a reference to it; the
 * worker hands the reference to the uploader, a thread of the client with
 * its own connection, which streams each file from disk (libcurl reads it
 * piece by piece: a file is never held in memory) to the MLflow artifact
 * service URL the run's artifact_uri resolves to (mlflow-artifacts.md
 * §2.3), or copies it into a local artifact location. What cannot be sent
 * comes back to the worker, which spools the references; a replay sends a
 * file only if its size and mtime are still those logged. Also the
 * blocking transfers for tools: gt_artifact_upload, gt_artifact_list and
 * gt_artifact_download.
 */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#define ART_SVC "/api/2.0/mlflow-artifacts/artifacts"
#define ART_SVC_TAIL "/mlflow-artifacts/artifacts"
#define WALK_DEPTH 64
#define COPY_CHUNK (256 * 1024)
#define PUT_MAX_ATTEMPTS 8

/*---- paths ----*/

bool art_path_ok(const char *p)
{
    size_t n = strlen(p);
    if (n == 0 || n > ART_PATH_MAX || p[0] == '/' || p[n - 1] == '/' ||
        strpbrk(p, "\\#"))
        return false;
    for (const char *s = p;;) {
        size_t k = strcspn(s, "/");
        if (k == 0 || (k == 1 && s[0] == '.') ||
            (k == 2 && s[0] == '.' && s[1] == '.'))
            return false;
        if (s[k] == '\0')
            return true;
        s += k + 1;
    }
}

/* One path component the service can store. */
static bool name_ok(const char *name)
{
    return !strchr(name, '/') && art_path_ok(name);
}

/* "a/b" of 'a' (may be "" or NULL) and 'b' (may be ""), malloc'd. */
static char *join(const char *a, const char *b)
{
    size_t la = a ? strlen(a) : 0, lb = strlen(b);
    char *s = malloc(la + lb + 2);
    if (!s)
        return NULL;
    if (la && lb)
        snprintf(s, la + lb + 2, "%s/%s", a, b);
    else
        snprintf(s, la + lb + 2, "%s", la ? a : b);
    return s;
}

/* The last component of 'path' ("" for "/" or ""); trailing slashes are
 * ignored. Into 'out'. */
static void base_name(const char *path, char *out, size_t cap)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    size_t i = n;
    while (i > 0 && path[i - 1] != '/')
        i--;
    snprintf(out, cap, "%.*s", (int)(n - i), path + i);
}

static bool unreserved(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' ||
           ch == '~';
}

/* Appends 'p' with every byte but unreserved ones and '/' percent-encoded
 * ('keep_pct': '%' and URI sub-delimiters too stay, for a path that is
 * already part of a URI). */
static void add_path(struct gt_buf *b, const char *p, bool keep_pct)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (unreserved(ch) || ch == '/' ||
            (keep_pct && strchr("%!$&'()*+,;=:@", ch) && ch)) {
            gt_buf_add(b, p, 1);
        } else {
            char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
            gt_buf_add(b, e, 3);
        }
    }
}

/* Appends s[0..n) with runs of '/' collapsed (also across what 'b' ends
 * with) and no trailing '/'. */
static void add_collapsed(struct gt_buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '/' && b->len && b->p[b->len - 1] == '/')
            continue;
        gt_buf_add(b, s + i, 1);
    }
    while (b->len && b->p[b->len - 1] == '/' && !b->oom)
        b->p[--b->len] = '\0';
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* A file: URI's path, percent-decoded, malloc'd; NULL when it names
 * another host or holds %00. */
static char *file_uri_path(const char *uri)
{
    const char *p = uri + 5; /* after "file:" */
    if (strncmp(p, "//", 2) == 0) {
        p += 2;
        if (strncmp(p, "localhost/", 10) == 0)
            p += 9;
        else if (*p != '/')
            return NULL;
    }
    char *out = malloc(strlen(p) + 1);
    size_t o = 0;
    if (!out)
        return NULL;
    for (; *p && *p != '?' && *p != '#'; p++) {
        int hi, lo;
        if (*p == '%' && (hi = hexval(p[1])) >= 0 && (lo = hexval(p[2])) >= 0) {
            if (hi == 0 && lo == 0) {
                free(out);
                return NULL;
            }
            out[o++] = (char)(hi * 16 + lo);
            p += 2;
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
    return out;
}

/*---- resolving a run's artifact_uri ----*/

void art_dest_cleanup(struct art_dest *d)
{
    free(d->svc);
    free(d->root);
    memset(d, 0, sizeof *d);
}

/* Moves 'b' into a string (NULL when out of memory). */
static char *buf_take(struct gt_buf *b)
{
    bool oom = b->oom;
    char *s = oom ? NULL : b->p;
    if (!s) {
        gt_buf_cleanup(b);
        return oom ? NULL : strdup("");
    }
    gt_buf_init(b);
    return s;
}

gt_status art_resolve(const char *tracking_uri, const char *uri,
                      struct art_dest *d, char *err, size_t errlen)
{
    struct gt_buf svc, root;
    memset(d, 0, sizeof *d);
    gt_buf_init(&svc);
    gt_buf_init(&root);

    if (strncmp(uri, "mlflow-artifacts:", 17) == 0) {
        const char *p = uri + 17, *host = NULL;
        size_t hostlen = 0;
        if (p[0] == '/' && p[1] == '/') {
            host = p + 2;
            hostlen = strcspn(host, "/?#");
            p = host + hostlen;
        }
        if (hostlen && strspn(host, "0123456789") == hostlen) {
            snprintf(err, errlen,
                     "artifact URI %s has a port but no host (want "
                     "mlflow-artifacts://host:port/...)",
                     uri);
            return GT_E_INVALID;
        }
        const char *sep = strstr(tracking_uri, "://");
        size_t slen = sep ? (size_t)(sep - tracking_uri) : 0;
        if (!sep || !((slen == 4 && strncmp(tracking_uri, "http", 4) == 0) ||
                      (slen == 5 && strncmp(tracking_uri, "https", 5) == 0))) {
            snprintf(err, errlen,
                     "the tracking URI %s is not http(s): cannot resolve %s",
                     tracking_uri, uri);
            return GT_E_INVALID;
        }
        const char *tnet = sep + 3;
        size_t tnetlen = strcspn(tnet, "/?#");
        const char *tpath = tnet + tnetlen;
        size_t tpathlen = strcspn(tpath, "?#");
        if (!hostlen) {
            host = tnet;
            hostlen = tnetlen;
        }
        add_collapsed(&root, p, strcspn(p, "?#"));
        gt_buf_add(&svc, tracking_uri, slen + 3);
        gt_buf_add(&svc, host, hostlen);
        /* MLflow's quirk: the bare root drops the tracking path prefix */
        if (root.len)
            add_collapsed(&svc, tpath, tpathlen);
        add_collapsed(&svc, ART_SVC, strlen(ART_SVC));
        d->kind = ART_PROXY;
    } else if (strncmp(uri, "http://", 7) == 0 ||
               strncmp(uri, "https://", 8) == 0) {
        const char *tail = strstr(uri, ART_SVC_TAIL);
        size_t end = strcspn(uri, "?#");
        if (tail && (size_t)(tail - uri) < end) {
            size_t at = (size_t)(tail - uri) + strlen(ART_SVC_TAIL);
            gt_buf_add(&svc, uri, at);
            add_collapsed(&root, uri + at, end - at);
        } else {
            gt_buf_add(&svc, uri, end);
            while (svc.len && svc.p[svc.len - 1] == '/')
                svc.p[--svc.len] = '\0';
        }
        d->kind = ART_PROXY;
    } else if (strncmp(uri, "file:", 5) == 0 || uri[0] == '/') {
        char *path = uri[0] == '/' ? strdup(uri) : file_uri_path(uri);
        if (!path && uri[0] == '/')
            return GT_E_NOMEM;
        if (!path) {
            snprintf(err, errlen,
                     "artifact location %s is not a file on this machine", uri);
            return GT_E_UNSUPPORTED;
        }
        add_collapsed(&root, path, strlen(path));
        free(path);
        if (root.len == 0)
            gt_buf_add(&root, "/", 1);
        d->kind = ART_LOCAL;
    } else {
        snprintf(err, errlen,
                 "artifact location %s: only mlflow-artifacts:, http(s): and "
                 "local paths are supported by this client",
                 uri);
        return GT_E_UNSUPPORTED;
    }
    /* the service's root has no leading '/' */
    if (d->kind == ART_PROXY && root.len && root.p[0] == '/') {
        memmove(root.p, root.p + 1, root.len);
        root.len--;
    }
    d->svc = d->kind == ART_PROXY ? buf_take(&svc) : NULL;
    d->root = buf_take(&root);
    gt_buf_cleanup(&svc);
    if ((d->kind == ART_PROXY && !d->svc) || !d->root) {
        art_dest_cleanup(d);
        return GT_E_NOMEM;
    }
    return GT_OK;
}

void art_dest_url(struct gt_buf *b, const struct art_dest *d, const char *rel)
{
    gt_buf_adds(b, d->svc);
    if (d->root[0]) {
        gt_buf_add(b, "/", 1);
        add_path(b, d->root, true);
    }
    if (rel[0]) {
        gt_buf_add(b, "/", 1);
        add_path(b, rel, false);
    }
}

/*---- walking a folder ----*/

void art_refs_cleanup(struct art_refs *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].local);
        free(r->v[i].rel);
    }
    free(r->v);
    memset(r, 0, sizeof *r);
}

static int refs_add(struct art_refs *r, const char *local, const char *rel,
                    uint64_t size, int64_t mtime_ns)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        struct art_ref *v = realloc(r->v, cap * sizeof *v);
        if (!v)
            return -1;
        r->v = v;
        r->cap = cap;
    }
    struct art_ref *f = &r->v[r->n];
    f->local = strdup(local);
    f->rel = strdup(rel);
    f->size = size;
    f->mtime_ns = mtime_ns;
    if (!f->local || !f->rel) {
        free(f->local);
        free(f->rel);
        return -1;
    }
    r->n++;
    return 0;
}

static int64_t mtime_ns(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk(const char *dir, const char *prefix, struct art_refs *out,
                int depth)
{
    DIR *d = opendir(dir);
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 32;
            char **v = realloc(names, ncap * sizeof *v);
            if (!v) {
                rc = -1;
                break;
            }
            names = v;
            cap = ncap;
        }
        if ((names[n] = strdup(e->d_name)) == NULL) {
            rc = -1;
            break;
        }
        n++;
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof *names, name_cmp);
    for (size_t i = 0; i < n && rc == 0; i++) {
        char *local = join(dir, names[i]);
        char *rel = join(prefix, names[i]);
        struct stat st, lst;
        if (!local || !rel) {
            rc = -1;
        } else if (!name_ok(names[i]) || strlen(rel) > ART_PATH_MAX) {
            out->skipped++;
        } else if (stat(local, &st) != 0) {
            /* a dangling link, or gone meanwhile */
        } else if (S_ISREG(st.st_mode)) {
            rc = refs_add(out, local, rel, (uint64_t)st.st_size, mtime_ns(&st));
        } else if (S_ISDIR(st.st_mode) && lstat(local, &lst) == 0 &&
                   S_ISDIR(lst.st_mode) && depth < WALK_DEPTH) {
            rc = walk(local, rel, out, depth + 1);
        }
        free(local);
        free(rel);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (rc != 0 && errno == 0)
        errno = ENOMEM;
    return rc;
}

int art_walk(const char *dir, const char *prefix, struct art_refs *out)
{
    errno = 0;
    return walk(dir, prefix, out, 0);
}

/*---- records ----*/

void art_ref_rec(struct gt_buf *b, const struct art_ref *ref)
{
    struct rec h;
    size_t kl = strlen(ref->rel), vl = strlen(ref->local);
    memset(&h, 0, sizeof h);
    h.type = REC_ARTIFACT;
    h.klen = (uint16_t)kl;
    h.vlen = (uint32_t)vl;
    h.size = rec_size_for(kl, vl);
    h.step = (int64_t)ref->size;
    h.ts = ref->mtime_ns;
    gt_buf_reset(b);
    gt_buf_add(b, &h, sizeof h);
    gt_buf_add(b, ref->rel, kl);
    gt_buf_add(b, ref->local, vl);
    while (!b->oom && b->len < h.size)
        gt_buf_add(b, "", 1);
}

/* The record's key or value as a string, malloc'd. */
static char *rec_str(const char *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

/*---- one thread's transfers: retries, the run's destination ----*/

static int64_t clamp_budget(gt_client *c)
{
    int64_t b =
        atomic_load_explicit(&c->flush_timeout_ms, memory_order_relaxed) / 2;
    return b < 100 ? 100 : b > 2000 ? 2000 : b;
}

void art_ctx_init(struct art_ctx *x, gt_client *c, struct transport *tp)
{
    memset(x, 0, sizeof *x);
    x->c = c;
    x->tp = tp;
    x->budget_ms = clamp_budget(c);
}

void art_ctx_cleanup(struct art_ctx *x)
{
    art_dest_cleanup(&x->dest);
    x->have_dest = false;
}

static bool cut(const struct art_ctx *x)
{
    return (x->abort && atomic_load(x->abort)) ||
           (x->deadline && gt_mono_ms() >= x->deadline);
}

static void pause_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* After failed attempt number 'attempt': waits the backoff (with jitter,
 * at least the server's Retry-After) and returns true; false when
 * retrying is over (a single attempt, cut, or past 'since' plus the
 * budget, or the deadline). */
static bool backoff(struct art_ctx *x, int attempt, int64_t retry_after,
                    int64_t since)
{
    if (x->single_attempt || cut(x))
        return false;
    int64_t cap = (int64_t)50 << (attempt < 6 ? attempt : 6);
    if (cap > 2000)
        cap = 2000;
    int64_t delay =
        cap / 2 + (int64_t)(gt_random_u64() % (uint64_t)(cap / 2 + 1));
    if (retry_after > delay)
        delay = retry_after;
    int64_t end = since + x->budget_ms;
    if (x->deadline && x->deadline < end)
        end = x->deadline;
    int64_t until = gt_mono_ms() + delay;
    if (until > end)
        return false;
    for (int64_t now = gt_mono_ms(); now < until; now = gt_mono_ms()) {
        if (cut(x))
            return false;
        pause_ms(until - now < 50 ? until - now : 50);
    }
    return true;
}

/* A REST call with retries. GT_OK with any answer but 401/403 (*status),
 * GT_E_AUTH for those (x->auth_failed set), or GT_E_NETWORK. */
static gt_status call(struct art_ctx *x, const char *path, long *status)
{
    int64_t since = gt_mono_ms();
    transport_set_timeout(x->tp, atomic_load(&x->c->request_timeout_ms));
    for (int attempt = 0;; attempt++) {
        int64_t ra;
        enum tp_result r = transport_call(x->tp, "GET", path, NULL, 0, status,
                                          &ra, x->err, sizeof x->err);
        if (r == TP_AUTH) {
            x->auth_failed = true;
            return GT_E_AUTH;
        }
        if (r != TP_RETRY)
            return GT_OK;
        if (!backoff(x, attempt, ra, since))
            return GT_E_NETWORK;
    }
}

/* The answer's MLflow message, or the raw body, into x->err. */
static void answer_text(struct art_ctx *x, const char *what, long status)
{
    size_t n;
    const char *body = transport_body(x->tp, &n);
    cJSON *j = cJSON_ParseWithLength(body, n);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
    snprintf(x->err, sizeof x->err, "%s: %.300s (HTTP %ld)", what,
             cJSON_IsString(m) ? m->valuestring : body, status);
    cJSON_Delete(j);
}

/* Parses runs/get's answer in the transport: returns it (for cJSON_Delete)
 * with '*uri' its run's artifact_uri, or "" where it has none. */
static cJSON *runs_get_uri(struct art_ctx *x, const char **uri)
{
    size_t n;
    const char *body = transport_body(x->tp, &n);
    cJSON *j = cJSON_ParseWithLength(body, n);
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(j, "run"), "info"),
        "artifact_uri");
    *uri = cJSON_IsString(u) ? u->valuestring : "";
    return j;
}

/* Where run 'sid' keeps its artifacts (runs/get, then art_resolve; the
 * last run's answer is kept). GT_OK, GT_E_NETWORK, GT_E_NOT_FOUND,
 * GT_E_SERVER, GT_E_UNSUPPORTED, GT_E_INVALID, GT_E_NOMEM; x->err says
 * why. */
static gt_status run_dest(struct art_ctx *x, const char *sid,
                          const struct art_dest **out)
{
    char path[64 + GT_ID_MAX];
    long status = 0;
    if (x->have_dest && strcmp(x->sid, sid) == 0) {
        *out = &x->dest;
        return GT_OK;
    }
    art_ctx_cleanup(x);
    snprintf(path, sizeof path, "/api/2.0/mlflow/runs/get?run_id=%s", sid);
    gt_status rc = call(x, path, &status);
    if (rc != GT_OK)
        return rc;
    if (status != 200) {
        answer_text(x, "runs/get", status);
        return status == 404 ? GT_E_NOT_FOUND : GT_E_SERVER;
    }
    const char *u;
    cJSON *j = runs_get_uri(x, &u);
    if (!u[0]) {
        snprintf(x->err, sizeof x->err, "run %s has no artifact_uri", sid);
        rc = GT_E_SERVER;
    } else {
        rc = art_resolve(x->c->uri, u, &x->dest, x->err, sizeof x->err);
    }
    cJSON_Delete(j);
    if (rc == GT_OK) {
        snprintf(x->sid, sizeof x->sid, "%s", sid);
        x->have_dest = true;
        *out = &x->dest;
    }
    return rc;
}

/* The run's artifact_uri as runs/get gave it (for listings), or "". */
static const char *dest_uri(struct art_ctx *x, char *buf, size_t len)
{
    const char *u;
    cJSON *j = runs_get_uri(x, &u);
    snprintf(buf, len, "%s", u);
    cJSON_Delete(j);
    return buf;
}

static int on_progress(void *ud, uint64_t now, uint64_t total)
{
    struct art_ctx *x = ud;
    if (cut(x))
        return 1;
    if (x->progress)
        x->progress(x->ud, x->done + now, x->total ? x->total : total);
    return 0;
}

static void errno_text(char *err, size_t errlen, const char *what,
                       const char *path, int e)
{
    gt_errno_text(err, errlen, "", what, path, e);
}

/*---- one file ----*/

enum art_rc {
    ART_OK,
    ART_CHANGED,  /* the file is not what was logged (or changed meanwhile) */
    ART_REJECTED, /* the server refused it (4xx) */
    ART_UNUSABLE, /* unreadable, unwritable location, unsupported */
    ART_FAILED    /* not reached (or cut): try again later */
};

static int mkdirs(const char *dir)
{
    char path[4096];
    size_t n = strlen(dir);
    struct stat st;
    if (n == 0 || n >= sizeof path)
        return -1;
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        char saved = path[i];
        path[i] = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            return -1;
        path[i] = saved;
    }
    return stat(dir, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

/* The folder part of 'path' into 'out' ("." when none). */
static void dir_name(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(out, cap, ".");
    else if (slash == path)
        snprintf(out, cap, "/");
    else
        snprintf(out, cap, "%.*s", (int)(slash - path), path);
}

/* Writes what 'read_fd' holds (size bytes) to 'path' through a temporary
 * file beside it, renamed into place. 0, or -1 with errno (EAGAIN: the
 * source ended early). */
static int copy_into(int read_fd, uint64_t size, const char *path)
{
    char dir[4096], tmp[4200];
    dir_name(path, dir, sizeof dir);
    if (mkdirs(dir) != 0)
        return -1;
    snprintf(tmp, sizeof tmp, "%s/.gt-upload-XXXXXX", dir);
    int out = mkstemp(tmp);
    if (out < 0)
        return -1;
    char *buf = malloc(COPY_CHUNK);
    uint64_t off = 0;
    int rc = buf ? 0 : -1, e = ENOMEM;
    while (rc == 0 && off < size) {
        size_t want =
            size - off < COPY_CHUNK ? (size_t)(size - off) : (size_t)COPY_CHUNK;
        ssize_t k = pread(read_fd, buf, want, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            e = k < 0 ? errno : EAGAIN;
            rc = -1;
            break;
        }
        for (ssize_t w = 0; w < k;) {
            ssize_t m = write(out, buf + w, (size_t)(k - w));
            if (m < 0 && errno == EINTR)
                continue;
            if (m <= 0) {
                e = m < 0 ? errno : ENOSPC;
                rc = -1;
                break;
            }
            w += m;
        }
        off += (uint64_t)k;
    }
    free(buf);
    if (rc == 0 && (fchmod(out, 0644) != 0 || fdatasync(out) != 0))
        e = errno, rc = -1;
    if (close(out) != 0 && rc == 0)
        e = errno, rc = -1;
    if (rc == 0 && rename(tmp, path) != 0)
        e = errno, rc = -1;
    if (rc != 0) {
        unlink(tmp);
        errno = e;
    }
    return rc;
}

static enum art_rc put_local(struct art_ctx *x, int fd, uint64_t size,
                             const struct art_dest *d, const char *rel)
{
    char *path = join(d->root, rel);
    if (!path) {
        snprintf(x->err, sizeof x->err, "out of memory");
        return ART_UNUSABLE;
    }
    enum art_rc rc = ART_OK;
    if (copy_into(fd, size, path) != 0) {
        if (errno == EAGAIN) {
            snprintf(x->err, sizeof x->err,
                     "it shrank while it was being copied");
            rc = ART_CHANGED;
        } else {
            errno_text(x->err, sizeof x->err,
                       "the run's local artifact location is not writable "
                       "from this machine:",
                       path, errno);
            rc = ART_UNUSABLE;
        }
    }
    free(path);
    return rc;
}

static enum art_rc put_proxy(struct art_ctx *x, int fd, uint64_t size,
                             const struct art_dest *d, const char *rel)
{
    struct gt_buf url;
    enum art_rc rc = ART_FAILED;
    int64_t since = gt_mono_ms();
    gt_buf_init(&url);
    art_dest_url(&url, d, rel);
    if (url.oom) {
        snprintf(x->err, sizeof x->err, "out of memory");
        gt_buf_cleanup(&url);
        return ART_UNUSABLE;
    }
    transport_set_timeout(x->tp, atomic_load(&x->c->request_timeout_ms));
    for (int attempt = 0; attempt < PUT_MAX_ATTEMPTS; attempt++) {
        long status;
        int64_t ra;
        uint64_t sent = 0;
        bool short_read = false;
        enum tp_result r =
            transport_upload(x->tp, url.p, fd, size, on_progress, x, &status,
                             &ra, &sent, &short_read, x->err, sizeof x->err);
        if (short_read) {
            snprintf(x->err, sizeof x->err,
                     "it shrank while it was being uploaded");
            rc = ART_CHANGED;
            break;
        }
        if (r == TP_OK) {
            rc = ART_OK;
            break;
        }
        if (r == TP_REJECTED) {
            answer_text(x, "PUT", status);
            rc = ART_REJECTED;
            break;
        }
        if (r == TP_AUTH) {
            /* kept for later, as when unreachable (x->err says why) */
            x->auth_failed = true;
            break;
        }
        /* cut mid-file (a server restart): the budget starts again */
        if (sent > 0)
            since = gt_mono_ms();
        if (!backoff(x, attempt, ra, since))
            break;
    }
    gt_buf_cleanup(&url);
    return rc;
}

/* Uploads (or copies) local file 'local' as artifact 'rel'. With 'check',
 * only if its size and mtime are 'size' and 'mtime'. Sets x->err unless
 * ART_OK. */
static enum art_rc put_file(struct art_ctx *x, const struct art_dest *d,
                            const char *local, const char *rel, bool check,
                            uint64_t size, int64_t mtime)
{
    struct stat st, after;
    int fd = open(local, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        errno_text(x->err, sizeof x->err, "cannot open", local, e);
        if (check && (e == ENOENT || e == ENOTDIR)) {
            snprintf(x->err, sizeof x->err, "%s no longer exists", local);
            return ART_CHANGED;
        }
        return ART_UNUSABLE;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(x->err, sizeof x->err, "%s is not a regular file", local);
        close(fd);
        return check ? ART_CHANGED : ART_UNUSABLE;
    }
    if (check && ((uint64_t)st.st_size != size || mtime_ns(&st) != mtime)) {
        snprintf(x->err, sizeof x->err,
                 "%s changed since it was logged (size %llu, was %llu; "
                 "mtime %s)",
                 local, (unsigned long long)st.st_size,
                 (unsigned long long)size,
                 mtime_ns(&st) != mtime ? "differs" : "same");
        close(fd);
        return ART_CHANGED;
    }
    enum art_rc rc = d->kind == ART_LOCAL
                         ? put_local(x, fd, (uint64_t)st.st_size, d, rel)
                         : put_proxy(x, fd, (uint64_t)st.st_size, d, rel);
    if (rc == ART_CHANGED) {
        char why[128];
        snprintf(why, sizeof why, "%.100s", x->err);
        snprintf(x->err, sizeof x->err, "%.800s changed: %s", local, why);
    } else if (rc == ART_OK &&
               (fstat(fd, &after) != 0 || after.st_size != st.st_size ||
                mtime_ns(&after) != mtime_ns(&st))) {
        snprintf(x->err, sizeof x->err,
                 "%s changed while it was being sent: the stored copy may "
                 "mix old and new bytes",
                 local);
        rc = ART_CHANGED;
    }
    if (rc == ART_OK)
        x->done += (uint64_t)st.st_size;
    close(fd);
    return rc;
}

/* Counts and reports the outcome of one file (the async and replay
 * paths). */
static void account(gt_client *c, enum art_rc rc, const char *rel,
                    const char *err)
{
    switch (rc) {
    case ART_OK:
        atomic_fetch_add(&c->art_uploaded, 1);
        gt_client_log(c, GT_LOG_DEBUG, "artifact %s uploaded", rel);
        break;
    case ART_CHANGED:
        atomic_fetch_add(&c->art_changed, 1);
        gt_client_error(c, GT_LOG_WARN, "artifact %s not sent: %s", rel, err);
        break;
    case ART_REJECTED:
    case ART_UNUSABLE:
        atomic_fetch_add(&c->art_failed, 1);
        gt_client_error(c, GT_LOG_ERROR, "artifact %s not sent: %s", rel, err);
        break;
    case ART_FAILED:
        break;
    }
}

/* A run whose destination cannot be found or used: its 'n' files are
 * counted failed (GT_E_NETWORK is not final: the caller keeps them). */
static void account_run_failure(gt_client *c, size_t n, const char *sid,
                                const char *err)
{
    atomic_fetch_add(&c->art_failed, n);
    gt_client_error(c, GT_LOG_ERROR,
                    "%zu artifact file(s) of run %s not sent: %s", n, sid, err);
}

/*---- replays ----*/

bool art_replay(struct art_ctx *x, const char *sid, const struct rec *r)
{
    struct art_refs refs;
    const struct art_dest *d = NULL;
    bool sent_all = true;
    char *rel = rec_str(rec_key(r), r->klen);
    char *local = rec_str(rec_val(r), r->vlen);
    memset(&refs, 0, sizeof refs);
    x->budget_ms = clamp_budget(x->c);
    x->auth_failed = false;
    if (!rel || !local) {
        snprintf(x->err, sizeof x->err, "out of memory");
        free(rel);
        free(local);
        return false;
    }
    bool dir = (r->flags & REC_F_DIR) != 0;
    if (dir && art_walk(local, rel, &refs) != 0) {
        atomic_fetch_add(&x->c->art_changed, 1);
        gt_client_error(x->c, GT_LOG_WARN,
                        "artifacts %s not sent: folder %s cannot be read", rel,
                        local);
        goto out;
    }
    size_t n = dir ? refs.n : 1;
    gt_status st = n ? run_dest(x, sid, &d) : GT_OK;
    if (st == GT_E_NETWORK || st == GT_E_AUTH) {
        sent_all = false;
        goto out;
    }
    if (st != GT_OK) {
        account_run_failure(x->c, n, sid, x->err);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const char *l = dir ? refs.v[i].local : local;
        const char *a = dir ? refs.v[i].rel : rel;
        enum art_rc rc =
            put_file(x, d, l, a, true, dir ? refs.v[i].size : (uint64_t)r->step,
                     dir ? refs.v[i].mtime_ns : r->ts);
        if (rc == ART_FAILED) {
            /* a folder is sent again whole: PUT replaces the files */
            sent_all = false;
            break;
        }
        account(x->c, rc, a, x->err);
    }
out:
    art_refs_cleanup(&refs);
    free(rel);
    free(local);
    return sent_all;
}

/*---- the uploader thread ----*/

struct art_job *art_job_new(const struct rec *r, struct target *t,
                            const char *sid)
{
    struct art_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->t = t;
    snprintf(j->sid, sizeof j->sid, "%s", sid);
    j->dest = rec_str(rec_key(r), r->klen);
    j->local = rec_str(rec_val(r), r->vlen);
    j->dir = (r->flags & REC_F_DIR) != 0;
    j->size = (uint64_t)r->step;
    j->mtime_ns = r->ts;
    if (!j->dest || !j->local) {
        art_job_free(j);
        return NULL;
    }
    return j;
}

void art_job_free(struct art_job *j)
{
    if (!j)
        return;
    free(j->local);
    free(j->dest);
    art_refs_cleanup(&j->left);
    free(j);
}

struct uploader {
    gt_client *c;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct art_job *todo, *todo_tail;
    struct art_job *done, *done_tail;
    bool quit;
    atomic_bool abort;
    struct transport *tp;
    struct art_ctx x;
};

/* Moves refs [from, n) of 'all' into 'left'. false when out of memory. */
static bool keep_rest(struct art_refs *all, size_t from, struct art_refs *left)
{
    for (size_t i = from; i < all->n; i++) {
        struct art_ref *f = &all->v[i];
        if (refs_add(left, f->local, f->rel, f->size, f->mtime_ns) != 0)
            return false;
    }
    return true;
}

static void job_run(struct uploader *u, struct art_job *j)
{
    struct art_ctx *x = &u->x;
    gt_client *c = u->c;
    struct art_refs refs;
    const struct art_dest *d = NULL;
    size_t i = 0;
    memset(&refs, 0, sizeof refs);
    x->budget_ms = clamp_budget(c);
    x->auth_failed = false;
    if (j->dir) {
        if (art_walk(j->local, j->dest, &refs) != 0) {
            atomic_fetch_add(&c->art_changed, 1);
            gt_client_error(c, GT_LOG_WARN,
                            "artifacts %s not sent: folder %s cannot be read",
                            j->dest[0] ? j->dest : "(top)", j->local);
            goto out;
        }
        if (refs.skipped)
            gt_client_error(c, GT_LOG_WARN,
                            "artifacts of %s: %zu file(s) skipped (a name "
                            "with '#' or '\\', or a path over %d bytes)",
                            j->local, refs.skipped, ART_PATH_MAX);
    } else if (refs_add(&refs, j->local, j->dest, j->size, j->mtime_ns) != 0) {
        snprintf(j->err, sizeof j->err, "out of memory");
        atomic_fetch_add(&c->art_failed, 1);
        goto out;
    }
    if (refs.n == 0)
        goto out;
    if (atomic_load(&u->abort)) {
        snprintf(j->err, sizeof j->err, "the client is stopping");
        goto rest;
    }
    gt_status st = run_dest(x, j->sid, &d);
    if (st == GT_E_NETWORK || st == GT_E_AUTH) {
        snprintf(j->err, sizeof j->err, "%s", x->err);
        goto rest;
    }
    if (st != GT_OK) {
        account_run_failure(c, refs.n, j->sid, x->err);
        goto out;
    }
    for (; i < refs.n; i++) {
        struct art_ref *f = &refs.v[i];
        enum art_rc rc =
            put_file(x, d, f->local, f->rel, true, f->size, f->mtime_ns);
        if (rc == ART_FAILED) {
            snprintf(j->err, sizeof j->err, "%s", x->err);
            goto rest;
        }
        account(c, rc, f->rel, x->err);
    }
    goto out;
rest:
    j->auth = x->auth_failed;
    if (!keep_rest(&refs, i, &j->left)) {
        atomic_fetch_add(&c->art_failed, refs.n - i - j->left.n);
        gt_client_error(c, GT_LOG_ERROR, "out of memory: artifacts lost");
    }
out:
    art_refs_cleanup(&refs);
}

static void *uploader_main(void *arg)
{
    struct uploader *u = arg;
    pthread_mutex_lock(&u->mu);
    for (;;) {
        while (!u->todo && !u->quit)
            pthread_cond_wait(&u->cv, &u->mu);
        struct art_job *j = u->todo;
        if (!j)
            break;
        u->todo = j->next;
        if (!u->todo)
            u->todo_tail = NULL;
        pthread_mutex_unlock(&u->mu);

        job_run(u, j);

        pthread_mutex_lock(&u->mu);
        j->next = NULL;
        if (u->done_tail)
            u->done_tail->next = j;
        else
            u->done = j;
        u->done_tail = j;
        pthread_mutex_unlock(&u->mu);
        pthread_mutex_lock(&u->c->q.mu);
        u->c->art_ready = true;
        pthread_cond_signal(&u->c->q.wake);
        pthread_mutex_unlock(&u->c->q.mu);
        pthread_mutex_lock(&u->mu);
    }
    pthread_mutex_unlock(&u->mu);
    return NULL;
}

struct uploader *uploader_new(gt_client *c)
{
    struct uploader *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->c = c;
    atomic_init(&u->abort, false);
    u->tp =
        transport_new(c->uri, atomic_load(&c->request_timeout_ms), &c->creds);
    if (!u->tp) {
        free(u);
        return NULL;
    }
    art_ctx_init(&u->x, c, u->tp);
    u->x.abort = &u->abort;
    pthread_mutex_init(&u->mu, NULL);
    pthread_cond_init(&u->cv, NULL);
    if (pthread_create(&u->th, NULL, uploader_main, u) != 0) {
        pthread_mutex_destroy(&u->mu);
        pthread_cond_destroy(&u->cv);
        transport_free(u->tp);
        free(u);
        return NULL;
    }
    return u;
}

void uploader_submit(struct uploader *u, struct art_job *j)
{
    j->next = NULL;
    pthread_mutex_lock(&u->mu);
    if (u->todo_tail)
        u->todo_tail->next = j;
    else
        u->todo = j;
    u->todo_tail = j;
    pthread_cond_signal(&u->cv);
    pthread_mutex_unlock(&u->mu);
}

struct art_job *uploader_take_done(struct uploader *u)
{
    pthread_mutex_lock(&u->mu);
    struct art_job *j = u->done;
    u->done = u->done_tail = NULL;
    pthread_mutex_unlock(&u->mu);
    return j;
}

void uploader_abort(struct uploader *u)
{
    atomic_store(&u->abort, true);
}

void uploader_free(struct uploader *u)
{
    if (!u)
        return;
    pthread_mutex_lock(&u->mu);
    u->quit = true;
    pthread_cond_signal(&u->cv);
    pthread_mutex_unlock(&u->mu);
    pthread_join(u->th, NULL);
    for (struct art_job *j = u->done; j;) {
        struct art_job *next = j->next;
        art_job_free(j);
        j = next;
    }
    for (struct art_job *j = u->todo; j;) {
        struct art_job *next = j->next;
        art_job_free(j);
        j = next;
    }
    art_ctx_cleanup(&u->x);
    transport_free(u->tp);
    pthread_mutex_destroy(&u->mu);
    pthread_cond_destroy(&u->cv);
    free(u);
}

/*---- gt_log_artifact, gt_log_artifacts ----*/

static gt_status bad(gt_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static gt_status bad(gt_client *c, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c)
        gt_client_error(c, GT_LOG_ERROR, "%s", msg);
    return GT_E_INVALID;
}

/* 'path' made absolute (not resolved: no disk access), malloc'd. */
static char *absolute(const char *path)
{
    char cwd[4096];
    if (path[0] == '/')
        return strdup(path);
    if (!getcwd(cwd, sizeof cwd))
        return NULL;
    const char *p = path;
    while (p[0] == '.' && p[1] == '/')
        p += 2;
    return join(cwd, strcmp(p, ".") == 0 ? "" : p);
}

static gt_status log_artifact(gt_run *run, const char *local,
                              const char *artifact_path, bool dir)
{
    struct stat st;
    gt_client *c = run ? run->client : NULL;
    const char *fn = dir ? "gt_log_artifacts" : "gt_log_artifact";
    if (!run || !local || !local[0])
        return bad(c, "invalid argument: %s: NULL run or empty path", fn);
    if (artifact_path && artifact_path[0] && !art_path_ok(artifact_path))
        return bad(c,
                   "invalid argument: artifact path '%.200s': not a "
                   "normalized relative path (no leading or trailing '/', no "
                   "'.' or '..', no '//', '\\' or '#', at most 1024 bytes)",
                   artifact_path);
    if (stat(local, &st) != 0) {
        int e = errno;
        char msg[512];
        errno_text(msg, sizeof msg, fn, local, e);
        gt_client_error(c, GT_LOG_ERROR, "%s", msg);
        return e == ENOENT || e == ENOTDIR ? GT_E_NOT_FOUND : GT_E_IO;
    }
    if (dir && !S_ISDIR(st.st_mode))
        return bad(c,
                   "invalid argument: gt_log_artifacts: %.300s is not a "
                   "folder",
                   local);
    if (!dir && !S_ISREG(st.st_mode))
        return bad(c,
                   "invalid argument: gt_log_artifact: %.300s is not a "
                   "regular file (gt_log_artifacts logs a folder)",
                   local);
    char *dest, *abs = absolute(local);
    if (!abs) {
        if (errno == ENOMEM)
            return GT_E_NOMEM;
        gt_client_error(c, GT_LOG_ERROR,
                        "%s: cannot read the current folder to make %s "
                        "absolute",
                        fn, local);
        return GT_E_IO;
    }
    if (dir) {
        dest = strdup(artifact_path ? artifact_path : "");
    } else {
        char name[1024];
        base_name(local, name, sizeof name);
        if (!name_ok(name)) {
            free(abs);
            return bad(c,
                       "invalid argument: gt_log_artifact: the file name "
                       "'%.200s' cannot be stored (no '#' or '\\')",
                       name);
        }
        dest = join(artifact_path, name);
    }
    if (!dest) {
        free(abs);
        return GT_E_NOMEM;
    }
    size_t kl = strlen(dest), vl = strlen(abs);
    if (kl > ART_PATH_MAX || vl > SPOOL_MAX_PAYLOAD / 2) {
        free(abs);
        free(dest);
        return bad(c, "invalid argument: %s: path too long", fn);
    }
    struct rec h;
    memset(&h, 0, sizeof h);
    h.type = REC_ARTIFACT;
    h.flags = dir ? REC_F_DIR : 0;
    h.klen = (uint16_t)kl;
    h.vlen = (uint32_t)vl;
    h.size = rec_size_for(kl, vl);
    h.run = run;
    h.step = dir ? 0 : (int64_t)st.st_size;
    h.ts = dir ? 0 : mtime_ns(&st);
    /* a control record: it wakes the worker, so the upload starts now */
    gt_status rc = queue_push(&c->q, &h, dest, abs, true, &c->dropped);
    free(abs);
    free(dest);
    return rc;
}

gt_status gt_log_artifact(gt_run *run, const char *local_path,
                          const char *artifact_path)
{
    return log_artifact(run, local_path, artifact_path, false);
}

gt_status gt_log_artifacts(gt_run *run, const char *local_dir,
                           const char *artifact_path)
{
    return log_artifact(run, local_dir, artifact_path, true);
}

/*---- tools: blocking transfers ----*/

/* A transport and context for one tool call; GT_OK or GT_E_NOMEM. */
static gt_status tool_begin(gt_client *c, struct art_ctx *x,
                            gt_progress_fn progress, void *ud)
{
    int timeout = atomic_load(&c->request_timeout_ms);
    struct transport *tp = transport_new(c->uri, timeout, &c->creds);
    if (!tp)
        return GT_E_NOMEM;
    art_ctx_init(x, c, tp);
    x->budget_ms = timeout; /* a tool waits longer than the worker */
    x->progress = progress;
    x->ud = ud;
    return GT_OK;
}

static void tool_end(struct art_ctx *x)
{
    struct transport *tp = x->tp;
    art_ctx_cleanup(x);
    transport_free(tp);
}

/* Reports 'rc' of a tool call through errmsg (unless GT_OK). */
static gt_status tool_fail(struct art_ctx *x, gt_status rc)
{
    if (x->auth_failed && rc == GT_E_NETWORK)
        rc = GT_E_AUTH;
    if (rc != GT_OK)
        gt_client_error(x->c, GT_LOG_ERROR, "%s", x->err);
    return rc;
}

static gt_status from_art_rc(enum art_rc rc)
{
    switch (rc) {
    case ART_OK:
        return GT_OK;
    case ART_CHANGED:
    case ART_UNUSABLE:
        return GT_E_IO;
    case ART_REJECTED:
        return GT_E_SERVER;
    case ART_FAILED:
        return GT_E_NETWORK;
    }
    return GT_E_IO;
}

gt_status gt_artifact_upload(gt_client *c, const char *run_id,
                             const char *local_path, const char *artifact_path,
                             gt_progress_fn progress, void *userdata)
{
    struct art_ctx x;
    struct art_refs refs;
    struct stat st;
    const struct art_dest *d;
    char name[1024];
    gt_status rc;
    if (!c || !run_id || !mlflow_run_id_ok(run_id, GT_ID_MAX) || !local_path ||
        !local_path[0])
        return bad(c, "invalid argument: gt_artifact_upload: %s",
                   "NULL client, bad run id or empty path");
    if (artifact_path && artifact_path[0] && !art_path_ok(artifact_path))
        return bad(c,
                   "invalid argument: artifact path '%.200s': not a "
                   "normalized relative path",
                   artifact_path);
    if (stat(local_path, &st) != 0) {
        int e = errno;
        char msg[512];
        errno_text(msg, sizeof msg, "cannot upload", local_path, e);
        gt_client_error(c, GT_LOG_ERROR, "%s", msg);
        return e == ENOENT || e == ENOTDIR ? GT_E_NOT_FOUND : GT_E_IO;
    }
    memset(&refs, 0, sizeof refs);
    if (S_ISDIR(st.st_mode)) {
        if (art_walk(local_path, artifact_path, &refs) != 0) {
            int e = errno;
            char msg[512];
            errno_text(msg, sizeof msg, "cannot read folder", local_path, e);
            gt_client_error(c, GT_LOG_ERROR, "%s", msg);
            art_refs_cleanup(&refs);
            return e == ENOMEM ? GT_E_NOMEM : GT_E_IO;
        }
    } else if (S_ISREG(st.st_mode)) {
        base_name(local_path, name, sizeof name);
        char *rel = join(artifact_path, name);
        if (!name_ok(name)) {
            free(rel);
            return bad(c,
                       "invalid argument: the file name '%.200s' cannot "
                       "be stored (no '#' or '\\')",
                       name);
        }
        if (!rel || refs_add(&refs, local_path, rel, (uint64_t)st.st_size,
                             mtime_ns(&st)) != 0) {
            free(rel);
            art_refs_cleanup(&refs);
            return GT_E_NOMEM;
        }
        free(rel);
    } else {
        return bad(c, "invalid argument: %.300s is not a file or a folder",
                   local_path);
    }
    if ((rc = tool_begin(c, &x, progress, userdata)) != GT_OK) {
        art_refs_cleanup(&refs);
        return rc;
    }
    for (size_t i = 0; i < refs.n; i++)
        x.total += refs.v[i].size;
    if (progress)
        progress(userdata, 0, x.total);
    rc = run_dest(&x, run_id, &d);
    for (size_t i = 0; rc == GT_OK && i < refs.n; i++) {
        struct art_ref *f = &refs.v[i];
        rc = from_art_rc(put_file(&x, d, f->local, f->rel, false, 0, 0));
    }
    if (rc == GT_OK && refs.skipped) {
        snprintf(x.err, sizeof x.err,
                 "%zu file(s) skipped: a name with '#' or '\\', or a path "
                 "over %d bytes",
                 refs.skipped, ART_PATH_MAX);
        gt_client_log(c, GT_LOG_WARN, "%s", x.err);
    }
    if (rc == GT_OK && progress)
        progress(userdata, x.total, x.total);
    rc = tool_fail(&x, rc);
    tool_end(&x);
    art_refs_cleanup(&refs);
    return rc;
}

/* The entries of folder 'path' of the run: a new array of
 * {"path": run-relative, "is_dir", "file_size"} sorted by path, in '*out'.
 * GT_OK (an empty array when the folder is empty, missing or a file). */
static gt_status list_dir(struct art_ctx *x, const struct art_dest *d,
                          const char *path, cJSON **out)
{
    cJSON *arr = cJSON_CreateArray();
    gt_status rc = GT_OK;
    *out = NULL;
    if (!arr)
        return GT_E_NOMEM;
    if (d->kind == ART_PROXY) {
        struct gt_buf url;
        long status = 0;
        gt_buf_init(&url);
        gt_buf_adds(&url, d->svc);
        gt_buf_adds(&url, "?path=");
        char *q = join(d->root, path);
        if (q)
            gt_buf_add_urlenc(&url, q);
        free(q);
        if (!q || url.oom) {
            gt_buf_cleanup(&url);
            cJSON_Delete(arr);
            return GT_E_NOMEM;
        }
        rc = call(x, url.p, &status);
        gt_buf_cleanup(&url);
        if (rc == GT_OK && status != 200) {
            answer_text(x, "list", status);
            rc = status == 404 ? GT_E_NOT_FOUND : GT_E_SERVER;
        }
        if (rc == GT_OK) {
            size_t n;
            const char *body = transport_body(x->tp, &n);
            cJSON *j = cJSON_ParseWithLength(body, n);
            const cJSON *f;
            cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(j, "files"))
            {
                const cJSON *p = cJSON_GetObjectItemCaseSensitive(f, "path");
                const cJSON *isdir =
                    cJSON_GetObjectItemCaseSensitive(f, "is_dir");
                const cJSON *size =
                    cJSON_GetObjectItemCaseSensitive(f, "file_size");
                char nm[1024];
                if (!cJSON_IsString(p))
                    continue;
                /* a service may answer full paths: keep the last part */
                base_name(p->valuestring, nm, sizeof nm);
                if (!name_ok(nm)) {
                    snprintf(x->err, sizeof x->err,
                             "the server listed an unsafe name '%.200s'",
                             p->valuestring);
                    rc = GT_E_SERVER;
                    break;
                }
                char *rel = join(path, nm);
                cJSON *e = cJSON_CreateObject();
                if (!rel || !e || !cJSON_AddStringToObject(e, "path", rel) ||
                    !cJSON_AddBoolToObject(e, "is_dir", cJSON_IsTrue(isdir)) ||
                    (!cJSON_IsTrue(isdir) && cJSON_IsNumber(size) &&
                     !cJSON_AddNumberToObject(e, "file_size",
                                              size->valuedouble))) {
                    free(rel);
                    cJSON_Delete(e);
                    rc = GT_E_NOMEM;
                    break;
                }
                free(rel);
                cJSON_AddItemToArray(arr, e);
            }
            cJSON_Delete(j);
        }
    } else {
        char *dir = join(d->root, path);
        DIR *dd = dir ? opendir(dir) : NULL;
        struct dirent *de;
        while (dd && rc == GT_OK && (de = readdir(dd)) != NULL) {
            struct stat st;
            if (de->d_name[0] == '.' &&
                (de->d_name[1] == '\0' ||
                 (de->d_name[1] == '.' && de->d_name[2] == '\0')))
                continue;
            char *full = join(dir, de->d_name), *rel = join(path, de->d_name);
            cJSON *e = NULL;
            if (full && rel && lstat(full, &st) == 0 &&
                (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) &&
                name_ok(de->d_name)) {
                e = cJSON_CreateObject();
                if (!e || !cJSON_AddStringToObject(e, "path", rel) ||
                    !cJSON_AddBoolToObject(e, "is_dir", S_ISDIR(st.st_mode)) ||
                    (S_ISREG(st.st_mode) &&
                     !cJSON_AddNumberToObject(e, "file_size",
                                              (double)st.st_size)))
                    rc = GT_E_NOMEM;
                else
                    cJSON_AddItemToArray(arr, e), e = NULL;
            } else if (!full || !rel) {
                rc = GT_E_NOMEM;
            }
            cJSON_Delete(e);
            free(full);
            free(rel);
        }
        if (!dir)
            rc = GT_E_NOMEM;
        if (dd)
            closedir(dd);
        free(dir);
    }
    if (rc != GT_OK) {
        cJSON_Delete(arr);
        return rc;
    }
    /* sorted by path (the service sorts; a local folder does not) */
    int n = cJSON_GetArraySize(arr);
    for (int i = 1; i < n; i++) {
        for (int k = i; k > 0; k--) {
            cJSON *a = cJSON_GetArrayItem(arr, k - 1);
            cJSON *b = cJSON_GetArrayItem(arr, k);
            const char *pa = cJSON_GetObjectItem(a, "path")->valuestring;
            const char *pb = cJSON_GetObjectItem(b, "path")->valuestring;
            if (strcmp(pa, pb) <= 0)
                break;
            cJSON *moved = cJSON_DetachItemFromArray(arr, k);
            cJSON_InsertItemInArray(arr, k - 1, moved);
        }
    }
    *out = arr;
    return GT_OK;
}

/* "" for the run's top, else a normalized 'path' (trailing '/' and a
 * leading "./" dropped) in 'out'; false when it is not one. */
static bool norm_path(const char *path, char *out, size_t cap)
{
    size_t n;
    if (!path)
        path = "";
    while (path[0] == '.' && path[1] == '/')
        path += 2;
    if (strcmp(path, ".") == 0 || strcmp(path, "/") == 0)
        path = "";
    n = strlen(path);
    while (n > 0 && path[n - 1] == '/')
        n--;
    if (n >= cap)
        return false;
    snprintf(out, cap, "%.*s", (int)n, path);
    return n == 0 || art_path_ok(out);
}

gt_status gt_artifact_list(gt_client *c, const char *run_id, const char *path,
                           char **json)
{
    struct art_ctx x;
    const struct art_dest *d;
    char p[ART_PATH_MAX + 1], uri[4096];
    cJSON *files = NULL;
    gt_status rc;
    if (json)
        *json = NULL;
    if (!c || !json || !run_id || !mlflow_run_id_ok(run_id, GT_ID_MAX))
        return bad(c, "invalid argument: gt_artifact_list: %s",
                   "NULL client or json, or a bad run id");
    if (!norm_path(path, p, sizeof p))
        return bad(c, "invalid argument: artifact path '%.200s'", path);
    if ((rc = tool_begin(c, &x, NULL, NULL)) != GT_OK)
        return rc;
    rc = run_dest(&x, run_id, &d);
    if (rc == GT_OK) {
        dest_uri(&x, uri, sizeof uri);
        rc = list_dir(&x, d, p, &files);
    }
    if (rc == GT_OK) {
        cJSON *o = cJSON_CreateObject();
        char *text = NULL;
        if (o && cJSON_AddStringToObject(o, "root_uri", uri)) {
            cJSON_AddItemToObject(o, "files", files);
            files = NULL;
            text = cJSON_PrintUnformatted(o);
        }
        if (text && (*json = malloc(strlen(text) + 1)) != NULL)
            memcpy(*json, text, strlen(text) + 1);
        if (!*json)
            rc = GT_E_NOMEM;
        cJSON_free(text);
        cJSON_Delete(o);
    }
    cJSON_Delete(files);
    rc = tool_fail(&x, rc);
    tool_end(&x);
    return rc;
}

/* Downloads artifact 'rel' (a file) to 'path'. */
static gt_status get_file(struct art_ctx *x, const struct art_dest *d,
                          const char *rel, const char *path)
{
    char dir[4096], tmp[4200];
    if (d->kind == ART_LOCAL) {
        char *src = join(d->root, rel);
        struct stat st;
        int fd = src ? open(src, O_RDONLY | O_CLOEXEC) : -1;
        gt_status rc = GT_OK;
        if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            int e = fd < 0 ? errno : EISDIR;
            errno_text(x->err, sizeof x->err, "cannot read", src ? src : rel,
                       e);
            rc = e == ENOENT ? GT_E_NOT_FOUND : GT_E_IO;
        } else if (copy_into(fd, (uint64_t)st.st_size, path) != 0) {
            errno_text(x->err, sizeof x->err, "cannot write", path, errno);
            rc = GT_E_IO;
        } else {
            x->done += (uint64_t)st.st_size;
        }
        if (fd >= 0)
            close(fd);
        free(src);
        return rc;
    }
    dir_name(path, dir, sizeof dir);
    if (mkdirs(dir) != 0) {
        errno_text(x->err, sizeof x->err, "cannot create", dir, errno);
        return GT_E_IO;
    }
    snprintf(tmp, sizeof tmp, "%s/.gt-download-XXXXXX", dir);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        errno_text(x->err, sizeof x->err, "cannot write in", dir, errno);
        return GT_E_IO;
    }
    struct gt_buf url;
    gt_status rc = GT_E_NETWORK;
    int64_t since = gt_mono_ms();
    gt_buf_init(&url);
    art_dest_url(&url, d, rel);
    transport_set_timeout(x->tp, atomic_load(&x->c->request_timeout_ms));
    for (int attempt = 0; !url.oom && attempt < PUT_MAX_ATTEMPTS; attempt++) {
        long status;
        int64_t ra;
        uint64_t got = 0;
        int werr = 0;
        if (ftruncate(fd, 0) != 0) {
            errno_text(x->err, sizeof x->err, "cannot write", tmp, errno);
            rc = GT_E_IO;
            break;
        }
        enum tp_result r =
            transport_download(x->tp, url.p, fd, on_progress, x, &status, &ra,
                               &got, &werr, x->err, sizeof x->err);
        if (werr) {
            errno_text(x->err, sizeof x->err, "cannot write", tmp, werr);
            rc = GT_E_IO;
            break;
        }
        if (r == TP_OK) {
            x->done += got;
            rc = GT_OK;
            break;
        }
        if (r == TP_REJECTED) {
            answer_text(x, rel, status);
            rc = status == 404 ? GT_E_NOT_FOUND : GT_E_SERVER;
            break;
        }
        if (r == TP_AUTH) {
            x->auth_failed = true;
            rc = GT_E_AUTH;
            break;
        }
        if (got > 0)
            since = gt_mono_ms();
        if (!backoff(x, attempt, ra, since))
            break;
    }
    if (url.oom)
        rc = GT_E_NOMEM;
    gt_buf_cleanup(&url);
    if (rc == GT_OK && (fchmod(fd, 0644) != 0 || fdatasync(fd) != 0)) {
        errno_text(x->err, sizeof x->err, "cannot write", tmp, errno);
        rc = GT_E_IO;
    }
    if (close(fd) != 0 && rc == GT_OK) {
        errno_text(x->err, sizeof x->err, "cannot write", tmp, errno);
        rc = GT_E_IO;
    }
    if (rc == GT_OK && rename(tmp, path) != 0) {
        errno_text(x->err, sizeof x->err, "cannot write", path, errno);
        rc = GT_E_IO;
    }
    if (rc != GT_OK)
        unlink(tmp);
    return rc;
}

/* Adds every file under folder 'rel' of the run to 'files' (run-relative
 * paths and sizes) and every folder to 'dirs', recursively. */
static gt_status collect(struct art_ctx *x, const struct art_dest *d,
                         const char *rel, cJSON *files, cJSON *dirs, int depth)
{
    cJSON *entries, *e;
    gt_status rc = list_dir(x, d, rel, &entries);
    if (rc != GT_OK)
        return rc;
    cJSON_ArrayForEach(e, entries)
    {
        const char *p = cJSON_GetObjectItem(e, "path")->valuestring;
        if (cJSON_IsTrue(cJSON_GetObjectItem(e, "is_dir"))) {
            cJSON_AddItemToArray(dirs, cJSON_CreateString(p));
            if (depth < WALK_DEPTH)
                rc = collect(x, d, p, files, dirs, depth + 1);
        } else {
            cJSON_AddItemReferenceToArray(files, e);
        }
        if (rc != GT_OK)
            break;
    }
    /* 'files' refers to items of 'entries': keep them alive with it */
    cJSON_AddItemToArray(dirs, entries);
    return rc;
}

gt_status gt_artifact_download(gt_client *c, const char *run_id,
                               const char *path, const char *dest,
                               gt_progress_fn progress, void *userdata)
{
    struct art_ctx x;
    const struct art_dest *d;
    char p[ART_PATH_MAX + 1];
    cJSON *files = NULL, *dirs = NULL, *e;
    gt_status rc;
    if (!c || !run_id || !mlflow_run_id_ok(run_id, GT_ID_MAX) || !dest ||
        !dest[0])
        return bad(c, "invalid argument: gt_artifact_download: %s",
                   "NULL client or destination, or a bad run id");
    if (!norm_path(path, p, sizeof p))
        return bad(c, "invalid argument: artifact path '%.200s'", path);
    if ((rc = tool_begin(c, &x, progress, userdata)) != GT_OK)
        return rc;
    files = cJSON_CreateArray();
    dirs = cJSON_CreateArray();
    rc = files && dirs ? run_dest(&x, run_id, &d) : GT_E_NOMEM;
    if (rc == GT_OK)
        rc = collect(&x, d, p, files, dirs, 0);
    if (rc == GT_OK && cJSON_GetArraySize(files) == 0 &&
        cJSON_GetArraySize(dirs) <= 1) {
        /* nothing listed: 'path' is a file, or nothing (or an empty
         * folder, which a GET refuses) */
        if (!p[0]) {
            rc = mkdirs(dest) == 0 ? GT_OK : GT_E_IO;
            if (rc != GT_OK)
                errno_text(x.err, sizeof x.err, "cannot create", dest, errno);
        } else {
            if (progress)
                progress(userdata, 0, 0);
            rc = get_file(&x, d, p, dest);
            if (rc == GT_E_NOT_FOUND)
                snprintf(x.err, sizeof x.err,
                         "run %.64s has no artifact '%.900s'", run_id, p);
        }
        goto out;
    }
    if (rc == GT_OK && mkdirs(dest) != 0) {
        errno_text(x.err, sizeof x.err, "cannot create", dest, errno);
        rc = GT_E_IO;
    }
    size_t plen = strlen(p);
    cJSON_ArrayForEach(e, dirs)
    {
        char *local;
        if (rc != GT_OK || !cJSON_IsString(e))
            continue;
        local = join(dest, e->valuestring + plen + (plen ? 1 : 0));
        if (!local || mkdirs(local) != 0) {
            errno_text(x.err, sizeof x.err, "cannot create",
                       local ? local : dest, errno);
            rc = local ? GT_E_IO : GT_E_NOMEM;
        }
        free(local);
    }
    cJSON_ArrayForEach(e, files)
    {
        const cJSON *s = cJSON_GetObjectItem(e, "file_size");
        if (cJSON_IsNumber(s))
            x.total += (uint64_t)s->valuedouble;
    }
    if (rc == GT_OK && progress)
        progress(userdata, 0, x.total);
    cJSON_ArrayForEach(e, files)
    {
        const char *rel = cJSON_GetObjectItem(e, "path")->valuestring;
        char *local;
        if (rc != GT_OK)
            break;
        local = join(dest, rel + plen + (plen ? 1 : 0));
        rc = local ? get_file(&x, d, rel, local) : GT_E_NOMEM;
        free(local);
    }
    if (rc == GT_OK && progress)
        progress(userdata, x.total, x.total);
out:
    cJSON_Delete(files);
    cJSON_Delete(dirs);
    rc = tool_fail(&x, rc);
    tool_end(&x);
    return rc;
}
