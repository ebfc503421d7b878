/* SPDX-License-Identifier: MIT */
/*
 * bench_client: libgreentrack against a running greentrack server.
 *   latency     the cost of one gt_log_metric call (median, p99) over N
 *               calls while the worker ships them to the server, next to
 *               a bare enqueue loop measured in the same run (a mutex-
 *               protected memcpy of the same record into a preallocated
 *               array); both are timed per call the same way, so the
 *               clock's own cost is in both;
 *   throughput  N points from one thread, then 8 threads x N/8, timed
 *               until gt_flush returns (every point acknowledged by the
 *               server); the server's history is checked afterwards.
 * Prints "RESULT name value target meets" lines for tests/bench/run.sh.
 * Exit 0; 1 when a check did not hold; 2 on a usage or setup error.
 */
#include "bench_http.h"

#include <greentrack.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

static int failed;

static void report(const char *name, double value, const char *target,
                   int meets)
{
    printf("RESULT %s %.*f %s %s\n", name, value >= 1000 ? 0 : 3, value,
           target ? target : "-", meets < 0 ? "-" : (meets ? "yes" : "NO"));
}

/*---- the bare enqueue baseline ----*/

/* the size and layout of a queued libgreentrack metric record */
struct bare_rec {
    uint32_t size;
    uint8_t type;
    uint16_t klen;
    /* cppcheck-suppress unusedStructMember */
    unsigned char rest[17]; /* flags, value length, run pointer */
    double value;
    int64_t step, ts;
    char key[8];
};

static pthread_mutex_t bare_mu = PTHREAD_MUTEX_INITIALIZER;
static struct bare_rec *bare_arr;
static size_t bare_n;

static __attribute__((noinline)) int bare_enqueue(const char *key, double value,
                                                  int64_t step)
{
    struct bare_rec r;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts); /* gt_log_metric reads it too */
    memset(&r, 0, sizeof r);
    r.size = sizeof r;
    r.type = 1;
    r.klen = (uint16_t)strlen(key);
    memcpy(r.key, key, r.klen);
    r.value = value;
    r.step = step;
    r.ts = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    pthread_mutex_lock(&bare_mu);
    memcpy(&bare_arr[bare_n++], &r, sizeof r);
    pthread_mutex_unlock(&bare_mu);
    return 0;
}

/*---- helpers ----*/

static long history_count(const char *uri, const char *run_id, const char *key)
{
    /* a separate client keeps the measured one untouched */
    gt_client *c = gt_client_new(uri);
    char *body = NULL;
    long status = 0, n = 0;
    char path[512];
    char token[256] = "";
    for (;;) {
        if (token[0])
            snprintf(path, sizeof path,
                     "/api/2.0/mlflow/metrics/get-history?run_id=%s&"
                     "metric_key=%s&max_results=25000&page_token=%s",
                     run_id, key, token);
        else
            snprintf(path, sizeof path,
                     "/api/2.0/mlflow/metrics/get-history?run_id=%s&"
                     "metric_key=%s&max_results=25000",
                     run_id, key);
        if (gt_request(c, "GET", path, NULL, &body, &status) != GT_OK ||
            status != 200) {
            gt_free(body);
            n = -1;
            break;
        }
        cJSON *j = cJSON_Parse(body);
        gt_free(body);
        body = NULL;
        n += cJSON_GetArraySize(cJSON_GetObjectItem(j, "metrics"));
        const char *tok =
            cJSON_GetStringValue(cJSON_GetObjectItem(j, "next_page_token"));
        token[0] = '\0';
        if (tok && *tok) {
            size_t o = 0;
            for (const char *p = tok; *p && o + 4 < sizeof token; p++) {
                if (*p == '+' || *p == '/' || *p == '=') {
                    o += (size_t)snprintf(token + o, sizeof token - o, "%%%02X",
                                          (unsigned char)*p);
                } else {
                    token[o++] = *p;
                    token[o] = '\0';
                }
            }
        }
        cJSON_Delete(j);
        if (!token[0])
            break;
    }
    gt_client_free(c);
    return n;
}

/*---- latency ----*/

static void latency(const char *uri, const char *spool, long n)
{
    int64_t *gt_ns = malloc((size_t)n * sizeof *gt_ns);
    int64_t *bare_ns = malloc((size_t)n * sizeof *bare_ns);
    bare_arr = malloc((size_t)n * sizeof *bare_arr);
    if (!gt_ns || !bare_ns || !bare_arr) {
        fprintf(stderr, "latency: out of memory\n");
        exit(2);
    }
    memset(bare_arr, 0, (size_t)n * sizeof *bare_arr); /* fault pages in */
    gt_client *c = gt_client_new(uri);
    gt_run *run = NULL;
    gt_client_set_spool_dir(c, spool);
    gt_client_set_flush_timeout_ms(c, 60000);
    if (gt_run_start(c, "bench client", "latency", &run) != GT_OK) {
        fprintf(stderr, "latency: gt_run_start failed\n");
        exit(2);
    }
    gt_flush(c, 10000);

    /* warm-up of both paths */
    for (long i = 0; i < 10000 && i < n; i++)
        gt_log_metric(run, "warm", (double)i, i);
    gt_flush(c, 60000);

    long errors = 0;
    for (long i = 0; i < n; i++) {
        int64_t t0 = bh_now_ns();
        bare_enqueue("loss", (double)i, i);
        bare_ns[i] = bh_now_ns() - t0;
    }
    for (long i = 0; i < n; i++) {
        int64_t t0 = bh_now_ns();
        gt_status rc = gt_log_metric(run, "loss", (double)i, i);
        gt_ns[i] = bh_now_ns() - t0;
        errors += rc != GT_OK;
    }
    if (gt_flush(c, 120000) != GT_OK) {
        fprintf(stderr, "latency: flush timed out\n");
        failed = 1;
    }
    qsort(gt_ns, (size_t)n, sizeof *gt_ns, cmp_i64);
    qsort(bare_ns, (size_t)n, sizeof *bare_ns, cmp_i64);
    double med = bh_pct_ms(gt_ns, (size_t)n, 0.5) * 1e6;
    double p99 = bh_pct_ms(gt_ns, (size_t)n, 0.99) * 1e6;
    double bmed = bh_pct_ms(bare_ns, (size_t)n, 0.5) * 1e6;
    double bp99 = bh_pct_ms(bare_ns, (size_t)n, 0.99) * 1e6;
    printf("latency: %ld calls, gt_log_metric median %.0f ns p99 %.0f ns; "
           "bare enqueue median %.0f ns p99 %.0f ns; %ld errors\n",
           n, med, p99, bmed, bp99, errors);
    report("log_metric_median_ns", med, "<=200", med <= 200);
    report("log_metric_p99_ns", p99, "<=2000", p99 <= 2000);
    report("bare_enqueue_median_ns", bmed, "-", -1);
    report("log_metric_median_vs_bare", bmed > 0 ? med / bmed : 0, "-", -1);
    report("log_metric_p99_vs_bare", bp99 > 0 ? p99 / bp99 : 0, "-", -1);
    if (errors) {
        fprintf(stderr, "latency: %ld calls failed\n", errors);
        failed = 1;
    }
    long got = history_count(uri, gt_run_id(run), "loss");
    if (got != n) {
        fprintf(stderr, "latency: %ld of %ld points on the server\n", got, n);
        failed = 1;
    }
    gt_run_end(run, GT_RUN_FINISHED);
    gt_client_free(c);
    free(gt_ns);
    free(bare_ns);
    free(bare_arr);
}

/*---- throughput ----*/

struct thr {
    gt_run *run;
    long n;
    int id;
    long errors;
};

static void *thr_log(void *arg)
{
    struct thr *t = arg;
    char key[16];
    snprintf(key, sizeof key, "t%d", t->id);
    for (long i = 0; i < t->n; i++)
        t->errors += gt_log_metric(t->run, key, (double)i, i) != GT_OK;
    return NULL;
}

static void throughput(const char *uri, const char *spool, int threads,
                       long total)
{
    char name[64];
    pthread_t th[8];
    struct thr t[8];
    gt_client *c = gt_client_new(uri);
    gt_run *run = NULL;
    gt_client_set_spool_dir(c, spool);
    gt_client_set_flush_timeout_ms(c, 60000);
    snprintf(name, sizeof name, "throughput %d", threads);
    if (gt_run_start(c, "bench client", name, &run) != GT_OK) {
        fprintf(stderr, "throughput: gt_run_start failed\n");
        exit(2);
    }
    gt_flush(c, 10000);
    int64_t t0 = bh_now_ns();
    for (int i = 0; i < threads; i++) {
        t[i] = (struct thr){run, total / threads, i, 0};
        pthread_create(&th[i], NULL, thr_log, &t[i]);
    }
    long errors = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        errors += t[i].errors;
    }
    double log_s = (double)(bh_now_ns() - t0) / 1e9;
    gt_status rc = gt_flush(c, 120000);
    double s = (double)(bh_now_ns() - t0) / 1e9;
    gt_stats st;
    gt_client_stats(c, &st);
    printf("throughput: %d thread(s) x %ld points: logged in %.3f s, all on "
           "the server after %.3f s (%.0f points/s); sent %llu spooled %llu "
           "dropped %llu\n",
           threads, total / threads, log_s, s, (double)total / s,
           (unsigned long long)st.sent, (unsigned long long)st.spooled,
           (unsigned long long)st.dropped);
    snprintf(name, sizeof name, "points_%dthread%s_s", threads,
             threads > 1 ? "s" : "");
    report(name, s, "<=5", s <= 5.0);
    if (rc != GT_OK || errors || st.dropped || st.spooled) {
        fprintf(stderr, "throughput: flush %d, %ld errors\n", (int)rc, errors);
        failed = 1;
    }
    for (int i = 0; i < threads; i++) {
        char key[16];
        snprintf(key, sizeof key, "t%d", i);
        long got = history_count(uri, gt_run_id(run), key);
        if (got != total / threads) {
            fprintf(stderr, "throughput: %s: %ld of %ld on the server\n", key,
                    got, total / threads);
            failed = 1;
        }
    }
    gt_run_end(run, GT_RUN_FINISHED);
    gt_client_free(c);
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *tmpdir = "/tmp";
    int port = 0;
    long n = 1000000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--smoke") == 0) {
            n = 20000;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "usage: bench_client [--smoke] --port N "
                            "[--host H] [--tmpdir D] [--points N]\n");
            return 2;
        }
        if (strcmp(a, "--host") == 0)
            host = argv[++i];
        else if (strcmp(a, "--port") == 0)
            port = (int)strtol(argv[++i], NULL, 10);
        else if (strcmp(a, "--tmpdir") == 0)
            tmpdir = argv[++i];
        else if (strcmp(a, "--points") == 0)
            n = strtol(argv[++i], NULL, 10);
        else if (strcmp(a, "--pid") == 0)
            ++i;
        else {
            fprintf(stderr, "bench_client: unknown option %s\n", a);
            return 2;
        }
    }
    if (port <= 0 || n < 8) {
        fprintf(stderr, "bench_client: --port is required\n");
        return 2;
    }
    char uri[256], spool[1024];
    snprintf(uri, sizeof uri, "http://%s:%d", host, port);
    snprintf(spool, sizeof spool, "%s/client-spool", tmpdir);
    latency(uri, spool, n);
    throughput(uri, spool, 1, n);
    throughput(uri, spool, 8, n);
    return failed;
}
