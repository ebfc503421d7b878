/* SPDX-License-Identifier: MIT
 *
 * itest_client_artifacts: gt_log_artifact and gt_log_artifacts against a
 * real greentrack-server. A file and a folder are read back byte-identical
 * through the artifact proxy (and with gt_artifact_list/_download); a
 * 64 MiB upload is held mid-way by a relay in this test while metrics
 * keep arriving on the server, the client's RSS stays far below the
 * file's size, and the run's end is recorded only after the upload; the
 * server is SIGKILLed mid-upload and restarted: the file arrives whole,
 * never partial under its name; while the server is down references are
 * spooled, then sent by the worker once it is back, or by
 * gt_spool_replay, which reports a file changed since and does not send
 * it; runs with a local artifact location get a copy, others a report.
 * Every wait polls against a generous deadline; the relay (not timing)
 * is what keeps an upload in flight.
 */
#include "itest.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>

#define MIB (1024 * 1024)
#define DEADLINE_MS 120000
#define PATH_BUF 4096

/* What a 64 MiB upload may add to RSS: libcurl's buffers, the uploader's
 * thread and connection. ThreadSanitizer's shadow memory triples what
 * each touched page costs, still far below the file's size (read whole it
 * would cost 64 MiB, four times that under TSan). */
#if defined(__SANITIZE_THREAD__)
#define RSS_GROWTH_KIB (48 * 1024)
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RSS_GROWTH_KIB (48 * 1024)
#endif
#endif
#ifndef RSS_GROWTH_KIB
#define RSS_GROWTH_KIB (16 * 1024)
#endif

/*---- files ----*/

/* Writes 'size' pseudo-random bytes (seeded) to 'path', 1 MiB at a time. */
static int write_file(const char *path, size_t size, unsigned seed)
{
    static unsigned char buf[MIB];
    FILE *f = fopen(path, "wb");
    uint64_t x = 0x9E3779B97F4A7C15ull * (seed + 1);
    if (!f)
        return -1;
    while (size > 0) {
        size_t n = sizeof buf;
        if (size < n)
            n = size;
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf[i] = (unsigned char)x;
        }
        if (fwrite(buf, 1, n, f) != n) {
            fclose(f);
            return -1;
        }
        size -= n;
    }
    return fclose(f);
}

static int same_files(const char *a, const char *b)
{
    static unsigned char ba[MIB], bb[MIB];
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    while (same) {
        size_t na = fread(ba, 1, sizeof ba, fa);
        size_t nb = fread(bb, 1, sizeof bb, fb);
        if (na != nb || memcmp(ba, bb, na) != 0)
            same = 0;
        if (na == 0 || na != nb)
            break;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return same;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static long rss_kb(void)
{
    char line[256];
    long kb = -1;
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    }
    if (f)
        fclose(f);
    return kb;
}

/* GET <server>/api/2.0/mlflow-artifacts/artifacts/<path> into 'dest';
 * returns the HTTP status (0: no answer). */
static long proxy_get(const struct it_server *s, const char *path,
                      const char *dest)
{
    char url[2048];
    long code = 0;
    FILE *f = fopen(dest, "wb");
    CURL *c = curl_easy_init();
    snprintf(url, sizeof url, "%s/api/2.0/mlflow-artifacts/artifacts/%s",
             s->uri, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
    if (f && curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    if (f)
        fclose(f);
    return code;
}

/* The run's folder under the artifact root: its artifact_uri's path
 * ("1/<run>/artifacts"), into buf. */
static const char *run_art_path(const struct it_server *s, const char *run_id,
                                char *buf, size_t len)
{
    cJSON *j = it_run_get(s, run_id);
    const cJSON *u = it_path(j, "run/info/artifact_uri");
    const char *p = cJSON_IsString(u) ? u->valuestring : "";
    if (strncmp(p, "mlflow-artifacts:", 17) == 0) {
        p += 17;
        if (strncmp(p, "//", 2) == 0)
            p = strchr(p + 2, '/') ? strchr(p + 2, '/') : "";
        while (*p == '/')
            p++;
    } else if (strncmp(p, "file://", 7) == 0) {
        p += 7; /* a local folder (no escapes in this test's paths) */
    }
    snprintf(buf, len, "%s", p);
    cJSON_Delete(j);
    return buf;
}

static gt_stats stats(gt_client *c)
{
    gt_stats st;
    gt_client_stats(c, &st);
    return st;
}

/* Polls until stats(c).artifacts_uploaded reaches n. */
static int wait_uploaded(gt_client *c, uint64_t n)
{
    int64_t end = it_mono_ms() + DEADLINE_MS;
    while (stats(c).artifacts_uploaded < n && it_mono_ms() < end)
        it_sleep_ms(20);
    return stats(c).artifacts_uploaded >= n;
}

static int wait_status(const struct it_server *s, const char *id,
                       const char *want)
{
    char st[32];
    int64_t end = it_mono_ms() + DEADLINE_MS;
    while (strcmp(it_run_status(s, id, st, sizeof st), want) != 0 &&
           it_mono_ms() < end)
        it_sleep_ms(50);
    return strcmp(st, want) == 0;
}

/* Creates experiment 'name' with 'location'; 0 on success. */
static int create_experiment(const struct it_server *s, const char *name,
                             const char *location)
{
    char body[1024];
    long status = 0;
    snprintf(body, sizeof body,
             "{\"name\":\"%s\",\"artifact_location\":\"%s\"}", name, location);
    cJSON *j = it_http(s, "/api/2.0/mlflow/experiments/create", body, &status);
    cJSON_Delete(j);
    return status == 200 ? 0 : -1;
}

/*---- the library's diagnostics ----*/

struct logcap {
    pthread_mutex_t mu;
    char text[16384];
    size_t len;
};

static void on_log(void *ud, gt_log_level level, const char *msg)
{
    struct logcap *l = ud;
    (void)level;
    pthread_mutex_lock(&l->mu);
    int n = snprintf(l->text + l->len, sizeof l->text - l->len, "%s\n", msg);
    if (n > 0 && l->len + (size_t)n < sizeof l->text)
        l->len += (size_t)n;
    pthread_mutex_unlock(&l->mu);
}

static int log_has(struct logcap *l, const char *needle)
{
    pthread_mutex_lock(&l->mu);
    int found = strstr(l->text, needle) != NULL;
    pthread_mutex_unlock(&l->mu);
    return found;
}

/*---- a relay that can hold an upload mid-way ----*/

/* Forwards TCP connections from its port to the server's. The first
 * connection's client-to-server bytes stop at 'hold_at' until release
 * (the client's sends then block, as they would on a slow link); a
 * connection whose other side closes is closed both ways. */
#define RELAY_PAIRS 16

struct relay {
    int lfd, port, up_port;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    long long hold_at; /* < 0: hold nothing */
    int holding;       /* the first connection reached hold_at */
    int released, quit;
    int conns;
};

struct pair {
    int cfd, ufd;
    long long fwd;
    int held;
};

static void pair_close(struct pair *p)
{
    if (p->cfd >= 0)
        close(p->cfd);
    if (p->ufd >= 0)
        close(p->ufd);
    p->cfd = p->ufd = -1;
}

static int write_all(int fd, const char *b, ssize_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, b, (size_t)n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        b += k;
        n -= k;
    }
    return 0;
}

static int connect_port(int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static void *relay_main(void *arg)
{
    struct relay *r = arg;
    struct pair pairs[RELAY_PAIRS];
    static char buf[64 * 1024];
    int held_given = 0;
    for (int i = 0; i < RELAY_PAIRS; i++)
        pairs[i] = (struct pair){-1, -1, 0, 0};
    for (;;) {
        struct pollfd pf[1 + 2 * RELAY_PAIRS];
        int map[1 + 2 * RELAY_PAIRS], n = 0;
        pthread_mutex_lock(&r->mu);
        int quit = r->quit, released = r->released;
        long long hold_at = r->hold_at;
        pthread_mutex_unlock(&r->mu);
        if (quit)
            break;
        pf[n] = (struct pollfd){r->lfd, POLLIN, 0};
        map[n++] = -1;
        for (int i = 0; i < RELAY_PAIRS; i++) {
            struct pair *p = &pairs[i];
            if (p->cfd < 0)
                continue;
            int stop = p->held && !released && p->fwd >= hold_at;
            /* a held client is not read, but a close on it is seen */
            pf[n] = (struct pollfd){p->cfd, stop ? 0 : POLLIN, 0};
            map[n++] = 2 * i;
            pf[n] = (struct pollfd){p->ufd, POLLIN, 0};
            map[n++] = 2 * i + 1;
        }
        if (poll(pf, (nfds_t)n, 20) < 0)
            continue;
        for (int k = 0; k < n; k++) {
            if (!pf[k].revents)
                continue;
            if (map[k] < 0) {
                int cfd = accept(r->lfd, NULL, NULL);
                int slot = -1;
                for (int i = 0; i < RELAY_PAIRS && slot < 0; i++)
                    slot = pairs[i].cfd < 0 ? i : -1;
                int ufd = cfd >= 0 ? connect_port(r->up_port) : -1;
                if (cfd >= 0 && (ufd < 0 || slot < 0)) {
                    close(cfd);
                    if (ufd >= 0)
                        close(ufd);
                } else if (cfd >= 0) {
                    pairs[slot] = (struct pair){cfd, ufd, 0, 0};
                    if (hold_at >= 0 && !held_given) {
                        pairs[slot].held = 1;
                        held_given = 1;
                    }
                    pthread_mutex_lock(&r->mu);
                    r->conns++;
                    pthread_mutex_unlock(&r->mu);
                }
                continue;
            }
            struct pair *p = &pairs[map[k] / 2];
            int from_client = map[k] % 2 == 0;
            int src = from_client ? p->cfd : p->ufd;
            int dst = from_client ? p->ufd : p->cfd;
            if (src < 0)
                continue;
            size_t want = sizeof buf;
            if (from_client && p->held && !released) {
                if (p->fwd >= hold_at) {
                    if (pf[k].revents & (POLLHUP | POLLERR))
                        pair_close(p);
                    continue;
                }
                if ((long long)want > hold_at - p->fwd)
                    want = (size_t)(hold_at - p->fwd);
            }
            ssize_t got = recv(src, buf, want, 0);
            if (got <= 0 || write_all(dst, buf, got) != 0) {
                pair_close(p);
                continue;
            }
            if (from_client) {
                p->fwd += got;
                if (p->held && p->fwd >= hold_at) {
                    pthread_mutex_lock(&r->mu);
                    r->holding = 1;
                    pthread_cond_broadcast(&r->cv);
                    pthread_mutex_unlock(&r->mu);
                }
            }
        }
    }
    for (int i = 0; i < RELAY_PAIRS; i++)
        pair_close(&pairs[i]);
    return NULL;
}

static int relay_start(struct relay *r, int up_port, long long hold_at)
{
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    memset(r, 0, sizeof *r);
    r->up_port = up_port;
    r->hold_at = hold_at;
    r->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (r->lfd < 0 || bind(r->lfd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(r->lfd, 16) != 0 ||
        getsockname(r->lfd, (struct sockaddr *)&a, &al) != 0)
        return -1;
    r->port = ntohs(a.sin_port);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    return pthread_create(&r->th, NULL, relay_main, r);
}

/* Waits until the held connection reached hold_at; 1 when it did. */
static int relay_wait_holding(struct relay *r)
{
    int64_t end = it_mono_ms() + DEADLINE_MS;
    pthread_mutex_lock(&r->mu);
    while (!r->holding && it_mono_ms() < end) {
        pthread_mutex_unlock(&r->mu);
        it_sleep_ms(10);
        pthread_mutex_lock(&r->mu);
    }
    int h = r->holding;
    pthread_mutex_unlock(&r->mu);
    return h;
}

static void relay_release(struct relay *r)
{
    pthread_mutex_lock(&r->mu);
    r->released = 1;
    pthread_mutex_unlock(&r->mu);
}

static void relay_stop(struct relay *r)
{
    pthread_mutex_lock(&r->mu);
    r->quit = 1;
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->th, NULL);
    close(r->lfd);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
}

/*---- tests ----*/

static char tmp[1024];

static gt_client *client_for(const struct it_server *s)
{
    gt_client *c = gt_client_new(s->uri);
    CHECK(c != NULL);
    gt_client_set_flush_interval_ms(c, 20);
    return c;
}

static void test_arguments(struct it_server *s)
{
    char f[PATH_BUF], d[PATH_BUF], hash[PATH_BUF];
    gt_client *c = client_for(s);
    gt_run *run;
    CHECK_EQ_INT(gt_run_start(c, "art-args", NULL, &run), GT_OK);
    snprintf(f, sizeof f, "%s/args.txt", tmp);
    snprintf(d, sizeof d, "%s/argsdir", tmp);
    snprintf(hash, sizeof hash, "%s/a#b.txt", tmp);
    write_file(f, 10, 1);
    write_file(hash, 10, 1);
    mkdir(d, 0700);
    CHECK_EQ_INT(gt_log_artifact(NULL, f, NULL), GT_E_INVALID);
    CHECK_EQ_INT(gt_log_artifact(run, NULL, NULL), GT_E_INVALID);
    CHECK_EQ_INT(gt_log_artifact(run, "", NULL), GT_E_INVALID);
    CHECK_EQ_INT(gt_log_artifacts(NULL, d, NULL), GT_E_INVALID);
    CHECK_EQ_INT(gt_log_artifact(run, "/nonexistent/gt/file", NULL),
                 GT_E_NOT_FOUND);
    CHECK_EQ_INT(gt_log_artifact(run, d, NULL), GT_E_INVALID);
    CHECK_EQ_INT(gt_log_artifacts(run, f, NULL), GT_E_INVALID);
    CHECK_EQ_INT(gt_log_artifact(run, hash, NULL), GT_E_INVALID);
    const char *bad[] = {"../x", "/abs", "a//b", "a/", ".", "a/./b", "x#y"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK_EQ_INT(gt_log_artifact(run, f, bad[i]), GT_E_INVALID);
        CHECK_EQ_INT(gt_log_artifacts(run, d, bad[i]), GT_E_INVALID);
    }
    CHECK(strstr(gt_client_errmsg(c), "artifact path") != NULL);
    /* the empty folder: nothing to send, and fine */
    CHECK_EQ_INT(gt_log_artifacts(run, d, "empty"), GT_OK);
    CHECK_EQ_INT(gt_run_end(run, GT_RUN_FINISHED), GT_OK);
    gt_stats st = stats(c);
    CHECK_EQ_INT(st.artifacts_uploaded + st.artifacts_failed, 0);
    gt_client_free(c);
    CHECK(strcmp(gt_strerror(GT_E_UNSUPPORTED), "unknown status") != 0);
}

/* A file (twice, at the top and in a folder) and a folder tree, read back
 * through the proxy byte-identical, then with the tools' calls. */
static void test_file_and_folder(struct it_server *s)
{
    char f[PATH_BUF], d[PATH_BUF], p[2 * PATH_BUF], got[PATH_BUF],
        path[2 * PATH_BUF], ap[1024];
    gt_client *c = client_for(s);
    gt_run *run;
    snprintf(f, sizeof f, "%s/weights.bin", tmp);
    snprintf(d, sizeof d, "%s/tree", tmp);
    write_file(f, 300 * 1000 + 7, 2);
    mkdir(d, 0700);
    snprintf(p, sizeof p, "%s/sub", d);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/empty", d);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/notes.txt", d);
    write_file(p, 5, 3);
    snprintf(p, sizeof p, "%s/sub/blob.bin", d);
    write_file(p, 2 * MIB + 1, 4);
    snprintf(p, sizeof p, "%s/sub/empty.txt", d);
    write_file(p, 0, 5);

    CHECK_EQ_INT(gt_run_start(c, "art-basic", "files", &run), GT_OK);
    /* a relative path is made absolute at the call */
    char cwd[PATH_BUF];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK_EQ_INT(chdir(tmp), 0);
    CHECK_EQ_INT(gt_log_artifact(run, "./weights.bin", NULL), GT_OK);
    CHECK_EQ_INT(chdir(cwd), 0); /* the server binary's path is relative */
    CHECK_EQ_INT(gt_log_artifact(run, f, "copies/deep"), GT_OK);
    CHECK_EQ_INT(gt_log_artifacts(run, d, "tree"), GT_OK);
    CHECK_EQ_INT(gt_log_metric(run, "m", 1.0, 0), GT_OK);
    char id[64];
    snprintf(id, sizeof id, "%s", gt_run_id(run));
    CHECK_EQ_INT(gt_run_end(run, GT_RUN_FINISHED), GT_OK);
    gt_stats st = stats(c);
    CHECK_EQ_INT(st.artifacts_uploaded, 5);
    CHECK_EQ_INT(st.artifacts_failed + st.artifacts_changed, 0);
    char status[32];
    CHECK_EQ_STR(it_run_status(s, id, status, sizeof status), "FINISHED");

    run_art_path(s, id, ap, sizeof ap);
    CHECK(strstr(ap, id) != NULL);
    const char *rel[] = {"weights.bin", "copies/deep/weights.bin",
                         "tree/notes.txt", "tree/sub/blob.bin",
                         "tree/sub/empty.txt"};
    const char *src[] = {"weights.bin", "weights.bin", "tree/notes.txt",
                         "tree/sub/blob.bin", "tree/sub/empty.txt"};
    for (size_t i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/%s", ap, rel[i]);
        snprintf(got, sizeof got, "%s/got.bin", tmp);
        snprintf(p, sizeof p, "%s/%s", tmp, src[i]);
        CHECK_EQ_INT(proxy_get(s, path, got), 200);
        CHECK(same_files(p, got));
    }

    /* the tools' calls: list, download a folder and a file */
    char *json = NULL;
    CHECK_EQ_INT(gt_artifact_list(c, id, "tree", &json), GT_OK);
    cJSON *j = json ? cJSON_Parse(json) : NULL;
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(j, "files");
    CHECK_EQ_INT(cJSON_GetArraySize(files), 2);
    const cJSON *first = cJSON_GetArrayItem(files, 0);
    const cJSON *second = cJSON_GetArrayItem(files, 1);
    CHECK(cJSON_IsString(cJSON_GetObjectItem(first, "path")) &&
          strcmp(cJSON_GetObjectItem(first, "path")->valuestring,
                 "tree/notes.txt") == 0);
    CHECK(cJSON_IsNumber(cJSON_GetObjectItem(first, "file_size")));
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(second, "is_dir")));
    CHECK(strncmp(cJSON_GetObjectItem(j, "root_uri")->valuestring,
                  "mlflow-artifacts:/", 18) == 0);
    cJSON_Delete(j);
    gt_free(json);
    CHECK_EQ_INT(gt_artifact_list(c, id, "nothing-here", &json), GT_OK);
    CHECK(json && strstr(json, "\"files\":[]") != NULL);
    gt_free(json);

    snprintf(got, sizeof got, "%s/down", tmp);
    CHECK_EQ_INT(gt_artifact_download(c, id, "tree", got, NULL, NULL), GT_OK);
    snprintf(path, sizeof path, "%s/down/sub/blob.bin", tmp);
    snprintf(p, sizeof p, "%s/sub/blob.bin", d);
    CHECK(same_files(p, path));
    snprintf(path, sizeof path, "%s/down/sub/empty.txt", tmp);
    CHECK(exists(path));
    snprintf(got, sizeof got, "%s/one.bin", tmp);
    CHECK_EQ_INT(
        gt_artifact_download(c, id, "copies/deep/weights.bin", got, NULL, NULL),
        GT_OK);
    CHECK(same_files(f, got));
    CHECK_EQ_INT(gt_artifact_download(c, id, "no/such", got, NULL, NULL),
                 GT_E_NOT_FOUND);
    CHECK_EQ_INT(gt_artifact_download(c, "0123456789abcdef0123456789abcdef",
                                      "x", got, NULL, NULL),
                 GT_E_NOT_FOUND);

    /* a blocking upload by a tool, into the same run */
    CHECK_EQ_INT(gt_artifact_upload(c, id, d, "again", NULL, NULL), GT_OK);
    snprintf(path, sizeof path, "%s/again/sub/blob.bin", ap);
    snprintf(got, sizeof got, "%s/got.bin", tmp);
    CHECK_EQ_INT(proxy_get(s, path, got), 200);
    snprintf(p, sizeof p, "%s/sub/blob.bin", d);
    CHECK(same_files(p, got));
    gt_client_free(c);
}

/* 64 MiB held mid-way by the relay: metrics logged meanwhile reach the
 * server, RSS does not grow with the file, and the run's end waits. */
static void test_large_with_metrics(struct it_server *s)
{
    struct relay r;
    char loc[128], f[PATH_BUF], path[2 * PATH_BUF], ap[1024], got[PATH_BUF],
        status[32];
    const long n_metrics = 3000;
    CHECK_EQ_INT(relay_start(&r, s->port, 8LL * MIB), 0);
    snprintf(loc, sizeof loc, "mlflow-artifacts://127.0.0.1:%d/relayed",
             r.port);
    CHECK_EQ_INT(create_experiment(s, "art-large", loc), 0);
    snprintf(f, sizeof f, "%s/big.bin", tmp);
    CHECK_EQ_INT(write_file(f, 64 * MIB, 6), 0);

    gt_client *c = client_for(s);
    /* the held connection must not be cut as idle meanwhile */
    gt_client_set_request_timeout_ms(c, 600000);
    gt_client_set_flush_timeout_ms(c, 300);
    gt_run *run;
    CHECK_EQ_INT(gt_run_start(c, "art-large", "big", &run), GT_OK);
    char id[64];
    snprintf(id, sizeof id, "%s", gt_run_id(run));
    CHECK_EQ_INT(gt_flush(c, 60000), GT_OK);
    long rss0 = rss_kb(), rss_max = rss0;
    CHECK_EQ_INT(gt_log_artifact(run, f, "model"), GT_OK);
    CHECK(relay_wait_holding(&r));

    /* the upload is held: metrics keep going to the server */
    long refused = 0;
    for (long i = 0; i < n_metrics; i++) {
        refused += gt_log_metric(run, "during", (double)i, i) != GT_OK;
        if (i % 500 == 0) {
            long now = rss_kb();
            rss_max = now > rss_max ? now : rss_max;
        }
    }
    CHECK_EQ_INT(refused, 0);
    int64_t end = it_mono_ms() + DEADLINE_MS;
    long seen = 0;
    while ((seen = it_history(s, id, "during", NULL, 0)) < n_metrics &&
           it_mono_ms() < end)
        it_sleep_ms(50);
    CHECK_EQ_INT(seen, n_metrics);
    CHECK_EQ_INT(stats(c).artifacts_uploaded, 0); /* still held */
    long now = rss_kb();
    rss_max = now > rss_max ? now : rss_max;

    /* the end waits for the upload: gt_run_end times out, run RUNNING */
    CHECK_EQ_INT(gt_run_end(run, GT_RUN_FINISHED), GT_E_TIMEOUT);
    CHECK_EQ_STR(it_run_status(s, id, status, sizeof status), "RUNNING");

    relay_release(&r);
    CHECK(wait_status(s, id, "FINISHED"));
    /* once FINISHED is recorded the file must be there, whole */
    run_art_path(s, id, ap, sizeof ap);
    snprintf(path, sizeof path, "%s/artifacts/%s/model/big.bin", s->dir, ap);
    CHECK(exists(path) && same_files(f, path));
    CHECK_EQ_INT(gt_flush(c, DEADLINE_MS), GT_OK);
    gt_stats st = stats(c);
    CHECK_EQ_INT(st.artifacts_uploaded, 1);
    CHECK_EQ_INT(st.sent, n_metrics);
    CHECK_EQ_INT(st.dropped, 0);
    now = rss_kb();
    rss_max = now > rss_max ? now : rss_max;
    printf("itest_client_artifacts: 64 MiB upload, RSS %ld -> max %ld KiB\n",
           rss0, rss_max);
    CHECK(rss_max - rss0 < RSS_GROWTH_KIB); /* far below the 64 MiB file */

    /* and through the proxy, as any client reads it */
    snprintf(path, sizeof path, "%s/model/big.bin", ap);
    snprintf(got, sizeof got, "%s/big.got", tmp);
    CHECK_EQ_INT(proxy_get(s, path, got), 200);
    CHECK(same_files(f, got));
    unlink(got);
    gt_client_free(c);
    relay_stop(&r);
}

static int leftovers(const char *dir, const char *keep)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
            strcmp(e->d_name, keep) != 0) {
            fprintf(stderr, "leftover %s/%s\n", dir, e->d_name);
            n++;
        }
    }
    if (d)
        closedir(d);
    return n;
}

/* The server dies mid-upload (SIGKILL) and comes back: the file arrives
 * whole, retried by the uploader or replayed from the spool. */
static void test_server_killed_mid_upload(struct it_server *s)
{
    struct relay r;
    char loc[128], f[PATH_BUF], dir[PATH_BUF], path[2 * PATH_BUF], ap[1024],
        spool[PATH_BUF];
    CHECK_EQ_INT(relay_start(&r, s->port, 1LL * MIB), 0);
    snprintf(loc, sizeof loc, "mlflow-artifacts://127.0.0.1:%d/killed", r.port);
    CHECK_EQ_INT(create_experiment(s, "art-killed", loc), 0);
    snprintf(f, sizeof f, "%s/mid.bin", tmp);
    CHECK_EQ_INT(write_file(f, 32 * MIB, 7), 0);
    snprintf(spool, sizeof spool, "%s/spool-killed", tmp);

    gt_client *c = client_for(s);
    gt_client_set_spool_dir(c, spool);
    gt_run *run;
    CHECK_EQ_INT(gt_run_start(c, "art-killed", NULL, &run), GT_OK);
    char id[64];
    snprintf(id, sizeof id, "%s", gt_run_id(run));
    CHECK_EQ_INT(gt_flush(c, 60000), GT_OK);
    run_art_path(s, id, ap, sizeof ap);
    snprintf(dir, sizeof dir, "%s/artifacts/%s/ckpt", s->dir, ap);
    snprintf(path, sizeof path, "%s/mid.bin", dir);

    CHECK_EQ_INT(gt_log_artifact(run, f, "ckpt"), GT_OK);
    CHECK(relay_wait_holding(&r)); /* the server has 1 MiB of it */
    it_server_kill(s, SIGKILL);
    CHECK(!exists(path)); /* nothing partial under the final name */
    CHECK_EQ_INT(it_server_start(s), 0);

    CHECK(wait_uploaded(c, 1));
    CHECK(exists(path) && same_files(f, path));
    CHECK_EQ_INT(leftovers(dir, "mid.bin"), 0);
    pthread_mutex_lock(&r.mu);
    int conns = r.conns;
    pthread_mutex_unlock(&r.mu);
    CHECK(conns >= 2); /* sent again after the cut */
    printf("itest_client_artifacts: cut upload sent again (%d connections, "
           "%llu reference(s) spooled meanwhile)\n",
           conns, (unsigned long long)stats(c).artifacts_spooled);
    CHECK_EQ_INT(gt_run_end(run, GT_RUN_FINISHED), GT_OK);
    CHECK(wait_status(s, id, "FINISHED"));
    gt_stats st = stats(c);
    CHECK_EQ_INT(st.artifacts_uploaded, 1);
    CHECK_EQ_INT(st.artifacts_failed + st.artifacts_changed, 0);
    gt_client_free(c);
    relay_stop(&r);
    unlink(f);
}

static int spool_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)) != NULL)
        n += strstr(e->d_name, ".spool") != NULL;
    if (d)
        closedir(d);
    return n;
}

/* Server down: references are spooled (files not copied); the worker
 * sends them when the server is back; a spool left behind is replayed by
 * gt_spool_replay, which sends unchanged files and reports changed
 * ones. */
static void test_offline_spool(struct it_server *s)
{
    char spool[PATH_BUF], a[PATH_BUF], u[PATH_BUF], ch[PATH_BUF], d[PATH_BUF],
        p[2 * PATH_BUF];
    char ap[1024], got[PATH_BUF], id[64], id2[64];
    struct logcap logs;
    memset(&logs, 0, sizeof logs);
    pthread_mutex_init(&logs.mu, NULL);
    snprintf(spool, sizeof spool, "%s/spool-offline", tmp);
    snprintf(a, sizeof a, "%s/a.bin", tmp);
    snprintf(u, sizeof u, "%s/unchanged.bin", tmp);
    snprintf(ch, sizeof ch, "%s/changed.bin", tmp);
    snprintf(d, sizeof d, "%s/outdir", tmp);
    write_file(a, 100 * 1000, 8);
    write_file(u, 200 * 1000, 9);
    write_file(ch, 300 * 1000, 10);
    mkdir(d, 0700);
    snprintf(p, sizeof p, "%s/one.txt", d);
    write_file(p, 11, 11);
    snprintf(p, sizeof p, "%s/two.txt", d);
    write_file(p, 22, 12);

    /* 1. in-process: spooled while down, sent by the worker after */
    gt_client *c = client_for(s);
    gt_client_set_spool_dir(c, spool);
    gt_client_set_flush_timeout_ms(c, 400);
    gt_run *run;
    CHECK_EQ_INT(gt_run_start(c, "art-offline", NULL, &run), GT_OK);
    snprintf(id, sizeof id, "%s", gt_run_id(run));
    CHECK_EQ_INT(gt_flush(c, 60000), GT_OK);
    it_server_kill(s, SIGKILL);
    CHECK_EQ_INT(gt_log_artifact(run, a, NULL), GT_OK);
    CHECK_EQ_INT(gt_flush(c, DEADLINE_MS), GT_OK);
    gt_stats st = stats(c);
    CHECK_EQ_INT(st.artifacts_spooled, 1);
    CHECK_EQ_INT(st.artifacts_uploaded, 0);
    CHECK_EQ_INT(it_server_start(s), 0);
    CHECK(wait_uploaded(c, 1));
    CHECK_EQ_INT(gt_run_end(run, GT_RUN_FINISHED), GT_OK);
    CHECK(wait_status(s, id, "FINISHED"));
    run_art_path(s, id, ap, sizeof ap);
    snprintf(p, sizeof p, "%s/a.bin", ap);
    snprintf(got, sizeof got, "%s/got.bin", tmp);
    CHECK_EQ_INT(proxy_get(s, p, got), 200);
    CHECK(same_files(a, got));
    gt_client_free(c);
    CHECK_EQ_INT(spool_files(spool), 0);

    /* 2. a spool left by a process that ended while the server was down */
    c = client_for(s);
    gt_client_set_spool_dir(c, spool);
    gt_client_set_flush_timeout_ms(c, 400);
    CHECK_EQ_INT(gt_run_start(c, "art-offline", "left", &run), GT_OK);
    snprintf(id2, sizeof id2, "%s", gt_run_id(run));
    CHECK_EQ_INT(gt_flush(c, 60000), GT_OK);
    it_server_kill(s, SIGKILL);
    CHECK_EQ_INT(gt_log_artifact(run, u, "keep"), GT_OK);
    CHECK_EQ_INT(gt_log_artifact(run, ch, "keep"), GT_OK);
    CHECK_EQ_INT(gt_log_artifacts(run, d, "dir"), GT_OK);
    gt_run_end(run, GT_RUN_FINISHED); /* spooled after the artifacts */
    CHECK_EQ_INT(gt_flush(c, DEADLINE_MS), GT_OK);
    st = stats(c);
    CHECK_EQ_INT(st.artifacts_spooled, 4);
    CHECK_EQ_INT(st.artifacts_uploaded, 0);
    gt_client_free(c);
    CHECK_EQ_INT(spool_files(spool), 1);

    /* the spool keeps references, not copies: rewrite one file */
    FILE *fh = fopen(ch, "ab");
    CHECK(fh != NULL);
    if (fh) {
        fputs("appended after logging", fh);
        fclose(fh);
    }
    CHECK_EQ_INT(it_server_start(s), 0);
    c = client_for(s);
    gt_client_set_spool_dir(c, spool);
    gt_client_set_log_callback(c, on_log, &logs);
    CHECK_EQ_INT(gt_spool_replay(c, NULL, NULL, DEADLINE_MS), GT_OK);
    st = stats(c);
    CHECK_EQ_INT(st.artifacts_uploaded, 3);
    CHECK_EQ_INT(st.artifacts_changed, 1);
    CHECK_EQ_INT(st.artifacts_failed, 0);
    CHECK(log_has(&logs, "changed.bin changed since it was logged"));
    CHECK_EQ_INT(spool_files(spool), 0);
    char status[32];
    CHECK_EQ_STR(it_run_status(s, id2, status, sizeof status), "FINISHED");
    run_art_path(s, id2, ap, sizeof ap);
    snprintf(p, sizeof p, "%s/keep/unchanged.bin", ap);
    CHECK_EQ_INT(proxy_get(s, p, got), 200);
    CHECK(same_files(u, got));
    snprintf(p, sizeof p, "%s/keep/changed.bin", ap);
    CHECK_EQ_INT(proxy_get(s, p, got), 404);
    snprintf(p, sizeof p, "%s/dir/two.txt", ap);
    CHECK_EQ_INT(proxy_get(s, p, got), 200);
    snprintf(p, sizeof p, "%s/two.txt", d);
    CHECK(same_files(p, got));
    gt_client_free(c);
    pthread_mutex_destroy(&logs.mu);
}

/* --no-serve-artifacts: runs get local locations, and a client on the
 * same machine copies into them; a location it cannot write, or an s3://
 * one, is reported and counted. */
static void test_local_locations(void)
{
    struct it_server s2;
    char f[PATH_BUF], path[2 * PATH_BUF], ap[1024], id[64], id2[64], id3[64];
    struct logcap logs;
    memset(&logs, 0, sizeof logs);
    pthread_mutex_init(&logs.mu, NULL);
    CHECK_EQ_INT(it_server_new(&s2, "art-local"), 0);
    it_server_arg(&s2, "--no-serve-artifacts");
    CHECK_EQ_INT(it_server_start(&s2), 0);
    snprintf(f, sizeof f, "%s/local.bin", tmp);
    write_file(f, 4 * MIB + 3, 13);
    CHECK_EQ_INT(create_experiment(&s2, "art-readonly", "/proc/gt-no-such"), 0);
    CHECK_EQ_INT(create_experiment(&s2, "art-s3", "s3://bucket/x"), 0);

    gt_client *c = client_for(&s2);
    gt_client_set_log_callback(c, on_log, &logs);
    gt_run *run, *ro, *s3;
    CHECK_EQ_INT(gt_run_start(c, "art-local", NULL, &run), GT_OK);
    CHECK_EQ_INT(gt_run_start(c, "art-readonly", NULL, &ro), GT_OK);
    CHECK_EQ_INT(gt_run_start(c, "art-s3", NULL, &s3), GT_OK);
    snprintf(id, sizeof id, "%s", gt_run_id(run));
    snprintf(id2, sizeof id2, "%s", gt_run_id(ro));
    snprintf(id3, sizeof id3, "%s", gt_run_id(s3));
    CHECK_EQ_INT(gt_log_artifact(run, f, "x"), GT_OK);
    CHECK_EQ_INT(gt_log_artifact(ro, f, NULL), GT_OK);
    CHECK_EQ_INT(gt_log_artifact(s3, f, NULL), GT_OK);
    CHECK_EQ_INT(gt_run_end(run, GT_RUN_FINISHED), GT_OK);
    CHECK_EQ_INT(gt_run_end(ro, GT_RUN_FINISHED), GT_OK);
    CHECK_EQ_INT(gt_run_end(s3, GT_RUN_FINISHED), GT_OK);
    gt_stats st = stats(c);
    CHECK_EQ_INT(st.artifacts_uploaded, 1);
    CHECK_EQ_INT(st.artifacts_failed, 2);
    CHECK(log_has(&logs, "not writable from this machine"));
    CHECK(log_has(&logs, "s3://bucket/x"));
    run_art_path(&s2, id, ap, sizeof ap);
    CHECK(ap[0] == '/');
    snprintf(path, sizeof path, "%s/x/local.bin", ap);
    CHECK(same_files(f, path));
    char status[32];
    CHECK_EQ_STR(it_run_status(&s2, id2, status, sizeof status), "FINISHED");
    CHECK_EQ_STR(it_run_status(&s2, id3, status, sizeof status), "FINISHED");

    /* the tools read a local location too; s3:// is unsupported */
    char *json = NULL;
    CHECK_EQ_INT(gt_artifact_list(c, id, "x", &json), GT_OK);
    CHECK(json && strstr(json, "\"path\":\"x/local.bin\"") != NULL);
    gt_free(json);
    CHECK_EQ_INT(gt_artifact_list(c, id3, NULL, &json), GT_E_UNSUPPORTED);
    snprintf(path, sizeof path, "%s/local.down", tmp);
    CHECK_EQ_INT(gt_artifact_download(c, id, "x/local.bin", path, NULL, NULL),
                 GT_OK);
    CHECK(same_files(f, path));
    gt_client_free(c);
    it_server_free(&s2);
    pthread_mutex_destroy(&logs.mu);
}

int main(void)
{
    struct it_server s;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (it_tmpdir(tmp, sizeof tmp, "artc") != 0 ||
        it_server_new(&s, "art") != 0) {
        fprintf(stderr, "cannot make the test's folders\n");
        CHECK(0);
        TEST_MAIN_END("itest_client_artifacts");
    }
    /* Uploads through the relay name its port in Host: the server's
     * default --allowed-hosts (its own port only) would refuse them. */
    it_server_arg(&s, "--allowed-hosts");
    it_server_arg(&s, "127.0.0.1,localhost");
    if (it_server_start(&s) != 0) {
        fprintf(stderr, "cannot start the server\n");
        CHECK(0);
        TEST_MAIN_END("itest_client_artifacts");
    }
    char spool[PATH_BUF];
    snprintf(spool, sizeof spool, "%s/spool", tmp);
    it_spool_env(spool);
    setenv("GREENTRACK_ENERGY", "off", 1);

    /* ITEST_ONLY=name,name runs only those (for debugging) */
    const char *only = getenv("ITEST_ONLY");
#define RUN(name, call)                                                        \
    if (!only || strstr(only, name))                                           \
    call
    RUN("arguments", test_arguments(&s));
    RUN("files", test_file_and_folder(&s));
    RUN("large", test_large_with_metrics(&s));
    RUN("killed", test_server_killed_mid_upload(&s));
    RUN("offline", test_offline_spool(&s));
    RUN("local", test_local_locations());

    it_server_free(&s);
    it_rm_rf(tmp);
    curl_global_cleanup();
    TEST_MAIN_END("itest_client_artifacts");
}
