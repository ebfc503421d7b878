/* SPDX-License-Identifier: MIT */
/*
 * bench_history: metrics/get-history of one 100,000-point curve against the
 * sqlite3 command line printing the same rows (issue 12, item 4). Seeds a
 * run of a running server with P points of one key (log-batch, 1000 at a
 * time; values like a training loss, full-precision doubles), then
 * alternates trials of
 *   (a) sqlite3 -json DB "SELECT key, value, timestamp, step FROM metrics
 *       WHERE run_pk=(SELECT run_pk FROM runs WHERE run_id='..')
 *       AND key='..'" (process start included, its output read whole);
 *   (b) one GET metrics/get-history?max_results=P over a fresh connection,
 *       the reply read whole (Connection: close), no JSON parsing;
 * and prints the p50 of each and the ratio b/a (target <= 0.6). After the
 * timing, each get-history reply is checked: status 200, P points, no
 * next_page_token (one reply, not cut by --max-response-bytes).
 * Prints "RESULT name value target meets" lines for tests/bench/run.sh.
 * Exit 0; 1 when a request failed or a check did not hold; 2 on setup error.
 */
#include "bench_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct opts {
    const char *host;
    int port;
    const char *db;
    const char *sqlite3;
    int points;
    int trials;
};

/* One HTTP exchange over a fresh connection (Connection: close): the whole
 * reply into 'out' (reset first); 0, or -1 on a socket error. */
static int http_exchange(const struct opts *o, const char *method,
                         const char *path, const char *body, struct bh_buf *out)
{
    struct bh_buf req = {0};
    size_t blen = body ? strlen(body) : 0;
    if (bh_buf_printf(&req,
                      "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Connection: close\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\n\r\n",
                      method, path, blen) != 0 ||
        (blen && bh_buf_append(&req, body, blen) != 0)) {
        bh_buf_free(&req);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)o->port)};
    if (fd < 0 || inet_pton(AF_INET, o->host, &sa.sin_addr) != 1 ||
        connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        if (fd >= 0)
            close(fd);
        bh_buf_free(&req);
        return -1;
    }
    size_t sent = 0;
    while (sent < req.len) {
        ssize_t n = send(fd, req.p + sent, req.len - sent, MSG_NOSIGNAL);
        if (n <= 0) {
            close(fd);
            bh_buf_free(&req);
            return -1;
        }
        sent += (size_t)n;
    }
    bh_buf_free(&req);
    out->len = 0;
    for (;;) {
        if (bh_buf_reserve(out, 256 * 1024) != 0) {
            close(fd);
            return -1;
        }
        ssize_t n = recv(fd, out->p + out->len, out->cap - out->len - 1, 0);
        if (n < 0) {
            close(fd);
            return -1;
        }
        if (n == 0)
            break;
        out->len += (size_t)n;
    }
    out->p[out->len] = '\0';
    close(fd);
    return 0;
}

static bool status_ok(const struct bh_buf *b)
{
    return b->len > 12 && memcmp(b->p, "HTTP/1.1 200", 12) == 0;
}

/* The value of JSON member 'name' (a string) in the reply, into 'out'. */
static int reply_str(const struct bh_buf *b, const char *name, char *out,
                     size_t outlen)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\":\"", name);
    const char *p = bh_find(b->p, b->len, pat, strlen(pat));
    if (!p)
        return -1;
    p += strlen(pat);
    size_t i = 0;
    while (*p && *p != '"' && i + 1 < outlen)
        out[i++] = *p++;
    out[i] = '\0';
    return *p == '"' ? 0 : -1;
}

static int seed(const struct opts *o, char *run_id, size_t run_id_len)
{
    struct bh_buf resp = {0}, body = {0};
    char exp_id[64], name[64];
    int rc = -1;
    snprintf(name, sizeof(name), "bench-history-%lld", (long long)bh_now_ns());
    bh_buf_printf(&body, "{\"name\":\"%s\"}", name);
    if (http_exchange(o, "POST", "/api/2.0/mlflow/experiments/create", body.p,
                      &resp) != 0 ||
        !status_ok(&resp) ||
        reply_str(&resp, "experiment_id", exp_id, sizeof(exp_id)) != 0)
        goto out;
    body.len = 0;
    bh_buf_printf(&body, "{\"experiment_id\":\"%s\",\"start_time\":%lld}",
                  exp_id, (long long)bh_unix_ms());
    if (http_exchange(o, "POST", "/api/2.0/mlflow/runs/create", body.p,
                      &resp) != 0 ||
        !status_ok(&resp) ||
        reply_str(&resp, "run_id", run_id, run_id_len) != 0)
        goto out;
    int64_t ts0 = bh_unix_ms();
    for (int b = 0; b < o->points; b += 1000) {
        body.len = 0;
        bh_buf_printf(&body, "{\"run_id\":\"%s\",\"metrics\":[", run_id);
        for (int i = b; i < b + 1000 && i < o->points; i++) {
            /* a decaying loss with noise: 16-17 significant digits */
            double v =
                2.5 / (1.0 + i * 0.001) +
                0.01 * (double)((uint64_t)i * 2654435761u % 1000) / 1000.0;
            bh_buf_printf(&body,
                          "%s{\"key\":\"loss\",\"value\":%.17g,"
                          "\"timestamp\":%lld,\"step\":%d}",
                          i > b ? "," : "", v, (long long)(ts0 + i), i);
        }
        bh_buf_printf(&body, "]}");
        if (http_exchange(o, "POST", "/api/2.0/mlflow/runs/log-batch", body.p,
                          &resp) != 0 ||
            !status_ok(&resp)) {
            fprintf(stderr, "log-batch failed: %.200s\n", resp.p ? resp.p : "");
            goto out;
        }
    }
    rc = 0;
out:
    bh_buf_free(&resp);
    bh_buf_free(&body);
    return rc;
}

/* Runs sqlite3 -json with the query, reading its output whole;
 * the bytes read, or -1. */
static long sqlite_trial(const struct opts *o, const char *sql)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    char *argv[] = {(char *)o->sqlite3, (char *)"-json", (char *)o->db,
                    (char *)sql, NULL};
    pid_t pid;
    int err = posix_spawn(&pid, o->sqlite3, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (err != 0) {
        close(fds[0]);
        return -1;
    }
    static char buf[256 * 1024];
    long total = 0;
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof(buf))) > 0)
        total += n;
    close(fds[0]);
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
        return -1;
    return total;
}

static void report(const char *name, double value, const char *target,
                   int meets)
{
    printf("RESULT %s %.3f %s %s\n", name, value, target ? target : "-",
           meets < 0 ? "-" : (meets ? "yes" : "NO"));
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_history --port N --db PATH [--host H] "
                    "[--points P] [--trials T] [--sqlite3 PATH] [--smoke]\n");
}

int main(int argc, char **argv)
{
    struct opts o = {.host = "127.0.0.1",
                     .sqlite3 = "/usr/bin/sqlite3",
                     .points = 100000,
                     .trials = 15};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--smoke")) {
            o.points = 2000;
            o.trials = 3;
            continue;
        }
        if (!v) {
            usage();
            return 2;
        }
        i++;
        if (!strcmp(a, "--host"))
            o.host = v;
        else if (!strcmp(a, "--port"))
            o.port = (int)strtol(v, NULL, 10);
        else if (!strcmp(a, "--db"))
            o.db = v;
        else if (!strcmp(a, "--sqlite3"))
            o.sqlite3 = v;
        else if (!strcmp(a, "--points"))
            o.points = (int)strtol(v, NULL, 10);
        else if (!strcmp(a, "--trials"))
            o.trials = (int)strtol(v, NULL, 10);
        else if (strcmp(a, "--pid") != 0) {
            usage();
            return 2;
        }
    }
    if (o.port <= 0 || !o.db || o.points < 1 || o.trials < 1) {
        usage();
        return 2;
    }
    if (access(o.sqlite3, X_OK) != 0) {
        fprintf(stderr, "bench_history: %s is missing (apt install sqlite3)\n",
                o.sqlite3);
        return 2;
    }
    char run_id[64];
    int64_t t0 = bh_now_ns();
    if (seed(&o, run_id, sizeof(run_id)) != 0) {
        fprintf(stderr, "bench_history: seeding failed\n");
        return 2;
    }
    printf("seeded %d points of 'loss' in run %s in %.1f s\n", o.points, run_id,
           (double)(bh_now_ns() - t0) / 1e9);
    char sql[256], path[256];
    snprintf(sql, sizeof(sql),
             "SELECT key, value, timestamp, step FROM metrics WHERE "
             "run_pk=(SELECT run_pk FROM runs WHERE run_id='%s') AND "
             "key='loss'",
             run_id);
    snprintf(path, sizeof(path),
             "/api/2.0/mlflow/metrics/get-history?run_id=%s&metric_key=loss"
             "&max_results=%d",
             run_id, o.points);
    int64_t *ta = calloc((size_t)o.trials, sizeof(*ta));
    int64_t *tb = calloc((size_t)o.trials, sizeof(*tb));
    struct bh_buf resp = {0};
    int failed = 0;
    long sql_bytes = 0;
    size_t http_bytes = 0;
    if (!ta || !tb)
        return 2;
    for (int t = 0; t < o.trials; t++) {
        int64_t s = bh_now_ns();
        long n = sqlite_trial(&o, sql);
        ta[t] = bh_now_ns() - s;
        if (n <= 0) {
            fprintf(stderr, "sqlite3 trial failed\n");
            failed = 1;
            break;
        }
        sql_bytes = n;
        s = bh_now_ns();
        int rc = http_exchange(&o, "GET", path, NULL, &resp);
        tb[t] = bh_now_ns() - s;
        http_bytes = resp.len;
        size_t pts = rc == 0 ? bh_count(resp.p, resp.len, "\"step\":") : 0;
        if (rc != 0 || !status_ok(&resp) || pts != (size_t)o.points ||
            bh_find(resp.p, resp.len, "next_page_token", 15)) {
            fprintf(stderr,
                    "get-history trial failed: rc %d, %zu points of %d, "
                    "%.80s\n",
                    rc, pts, o.points, resp.p ? resp.p : "");
            failed = 1;
            break;
        }
    }
    if (!failed) {
        qsort(ta, (size_t)o.trials, sizeof(*ta), cmp_i64);
        qsort(tb, (size_t)o.trials, sizeof(*tb), cmp_i64);
        double a = bh_pct_ms(ta, (size_t)o.trials, 0.5);
        double b = bh_pct_ms(tb, (size_t)o.trials, 0.5);
        printf("%d points, %d alternating trials: sqlite3 -json p50 %.1f ms "
               "(%ld bytes), get-history p50 %.1f ms (%zu bytes)\n",
               o.points, o.trials, a, sql_bytes, b, http_bytes);
        report("history_sqlite3_json_p50_ms", a, NULL, -1);
        report("history_get_p50_ms", b, NULL, -1);
        report("history_vs_sqlite3_ratio", b / a, "<=0.6", b / a <= 0.6);
    }
    free(ta);
    free(tb);
    bh_buf_free(&resp);
    return failed;
}
