/* SPDX-License-Identifier: MIT
 *
 * itest.h: helpers for the C integration tests of libgreentrack
 * (tests/integration/itest_*.c): a real greentrack-server child
 * ($GREENTRACK_BUILD/bin/greentrack-server, port 0, a temporary DB) that
 * can be SIGKILLed and restarted on the same port and DB, raw libcurl +
 * cJSON reads of the REST API, and the CHECK counters of tests/unit/test.h.
 * Header-only: each test is one program.
 *
 * GREENTRACK_TEST_BACKEND=postgres runs a test on PostgreSQL: each server
 * gets a fresh database on the cluster GREENTRACK_TEST_PG names (made
 * with psql; $PG_BIN or /usr/lib/postgresql/15/bin), dropped by
 * it_server_free, and the test reports as "<name>-pg" (TEST_MAIN_END,
 * it_start_failed).
 */
#ifndef TESTS_ITEST_H
#define TESTS_ITEST_H

#include "greentrack.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#define IT_UNUSED __attribute__((unused))

/* CHECK, CHECK_EQ_INT, CHECK_EQ_STR, TEST_MAIN_END and their counters. */
#include "../unit/test.h"

/*---- the database engine ----*/

/* True when GREENTRACK_TEST_BACKEND asks for PostgreSQL. */
static IT_UNUSED int it_on_postgres(void)
{
    const char *b = getenv("GREENTRACK_TEST_BACKEND");
    return b && strcmp(b, "postgres") == 0;
}

/* "-pg" on PostgreSQL, "" on SQLite: the suffix of the suite's name. */
static IT_UNUSED const char *it_suite_suffix(void)
{
    return it_on_postgres() ? "-pg" : "";
}

/* The summary line, with the suite's name suffixed on PostgreSQL. */
#undef TEST_MAIN_END
#define TEST_MAIN_END(name)                                                    \
    do {                                                                       \
        printf("%s%s: %d passed, %d failed\n", name, it_suite_suffix(),        \
               test_passed, test_failed);                                      \
        return test_failed ? 1 : 0;                                            \
    } while (0)

/* Prints the summary of a test that could not start: one failure. */
static IT_UNUSED void it_start_failed(const char *name, const char *why)
{
    printf("%s%s: 0 passed, 1 failed (%s)\n", name, it_suite_suffix(), why);
}

/* Runs psql on 'url' with one SQL command; 0 when it succeeded. */
static IT_UNUSED int it_psql(const char *url, const char *sql)
{
    const char *bin = getenv("PG_BIN");
    char psql[1100];
    snprintf(psql, sizeof psql, "%s/psql",
             bin && *bin ? bin : "/usr/lib/postgresql/15/bin");
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execl(psql, psql, "-q", "-X", "-v", "ON_ERROR_STOP=1", "-d", url, "-c",
              sql, (char *)NULL);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* The cluster's URL with its database name replaced by 'name'. */
static IT_UNUSED int it_pg_url(char *buf, size_t len, const char *name)
{
    const char *base = getenv("GREENTRACK_TEST_PG");
    const char *slash = base ? strrchr(base, '/') : NULL;
    if (!slash || slash - base < 12)
        return -1;
    int n = snprintf(buf, len, "%.*s/%s", (int)(slash - base), base, name);
    return n > 0 && (size_t)n < len ? 0 : -1;
}

static IT_UNUSED int64_t it_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static IT_UNUSED void it_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/*---- a temporary directory ----*/

static IT_UNUSED int it_rm_rf(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

/* mkdtemp under $TMPDIR; 'buf' receives the path. */
static IT_UNUSED int it_tmpdir(char *buf, size_t len, const char *tag)
{
    const char *t = getenv("TMPDIR");
    snprintf(buf, len, "%s/gt-%s.XXXXXX", t && *t ? t : "/tmp", tag);
    return mkdtemp(buf) ? 0 : -1;
}

/*---- the server ----*/

struct it_server {
    pid_t pid;
    int port;
    char dir[1024];
    char uri[128];
    char extra[8][64]; /* extra server arguments */
    int nextra;
    char pg_name[64]; /* PostgreSQL: the server's own database, else "" */
    char db[1100];    /* the --db target */
};

static IT_UNUSED const char *it_server_binary(void)
{
    static char path[1200];
    const char *b = getenv("GREENTRACK_BUILD");
    snprintf(path, sizeof path, "%s/bin/greentrack-server",
             b && *b ? b : "build/release");
    return path;
}

/* Starts the server on s->port (0 picks one; the first start records it).
 * A start that fails (e.g. the port still busy after a SIGKILL) is retried.
 * 0 on success; -1 when no start printed its listening line within 60 s
 * (a bound on a hang: a busy machine only makes a start slower). */
static IT_UNUSED int it_server_start(struct it_server *s)
{
    char art[1100], out[1100], port[16];
    const char *db = s->db;
    int64_t deadline = it_mono_ms() + 60000;
    snprintf(art, sizeof art, "%s/artifacts", s->dir);
    snprintf(out, sizeof out, "%s/server.out", s->dir);
    snprintf(port, sizeof port, "%d", s->port);
    mkdir(art, 0700);
    unlink(out);
    while (it_mono_ms() < deadline) {
        pid_t pid = fork();
        if (pid < 0)
            return -1;
        if (pid == 0) {
            const char *argv[32] = {it_server_binary(),
                                    "--port",
                                    port,
                                    "--db",
                                    db,
                                    "--artifact-root",
                                    art,
                                    "--log-level",
                                    "warn",
                                    "--threads",
                                    "4"};
            int n = 11;
            for (int i = 0; i < s->nextra; i++)
                argv[n++] = s->extra[i];
            argv[n] = NULL;
            int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
                close(fd);
            }
            execv(argv[0], (char *const *)argv);
            _exit(127);
        }
        s->pid = pid;
        while (it_mono_ms() < deadline) {
            char line[512];
            FILE *f = fopen(out, "r");
            int found = 0;
            while (f && fgets(line, sizeof line, f)) {
                const char *p = strstr(line, "listening on http://");
                const char *colon = p ? strrchr(p, ':') : NULL;
                if (colon) {
                    char *end;
                    long v = strtol(colon + 1, &end, 10);
                    if (end != colon + 1 && v > 0) {
                        s->port = (int)v;
                        found = 1;
                    }
                }
            }
            if (f)
                fclose(f);
            if (found) {
                snprintf(s->uri, sizeof s->uri, "http://127.0.0.1:%d", s->port);
                return 0;
            }
            int st;
            if (waitpid(pid, &st, WNOHANG) == pid) {
                s->pid = 0;
                break; /* e.g. the port is still busy: try again */
            }
            it_sleep_ms(10);
        }
        if (s->pid) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, NULL, 0);
            s->pid = 0;
        }
        it_sleep_ms(50);
    }
    return -1;
}

/* A server in a new temporary directory; its data is a file there, or on
 * PostgreSQL a fresh database named after that directory. 0 or -1. */
static IT_UNUSED int it_server_new(struct it_server *s, const char *tag)
{
    memset(s, 0, sizeof *s);
    if (it_tmpdir(s->dir, sizeof s->dir, tag) != 0)
        return -1;
    if (!it_on_postgres()) {
        snprintf(s->db, sizeof s->db, "%s/gt.db", s->dir);
        return 0;
    }
    /* mkdtemp's suffix, lowered: letters and digits only */
    const char *suffix = strrchr(s->dir, '.');
    snprintf(s->pg_name, sizeof s->pg_name, "it_%d_%s", (int)getpid(),
             suffix ? suffix + 1 : "x");
    for (char *p = s->pg_name; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
        else if (!(*p >= 'a' && *p <= 'z') && !(*p >= '0' && *p <= '9'))
            *p = '_';
    char admin[1100], sql[160];
    if (it_pg_url(admin, sizeof admin, "postgres") != 0 ||
        it_pg_url(s->db, sizeof s->db, s->pg_name) != 0) {
        fprintf(stderr, "itest: GREENTRACK_TEST_PG is not a PostgreSQL URL\n");
        s->pg_name[0] = '\0';
        return -1;
    }
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", s->pg_name);
    if (it_psql(admin, sql) != 0) {
        fprintf(stderr, "itest: cannot create database %s\n", s->pg_name);
        s->pg_name[0] = '\0';
        return -1;
    }
    return 0;
}

static IT_UNUSED void it_server_arg(struct it_server *s, const char *arg)
{
    if (s->nextra < 8)
        snprintf(s->extra[s->nextra++], sizeof s->extra[0], "%s", arg);
}

static IT_UNUSED void it_server_kill(struct it_server *s, int sig)
{
    if (s->pid > 0) {
        kill(s->pid, sig);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
}

static IT_UNUSED void it_server_free(struct it_server *s)
{
    it_server_kill(s, SIGTERM);
    it_rm_rf(s->dir);
    char admin[1100];
    if (s->pg_name[0] && it_pg_url(admin, sizeof admin, "postgres") == 0) {
        char sql[160];
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)",
                 s->pg_name);
        it_psql(admin, sql);
        s->pg_name[0] = '\0';
    }
}

/*---- raw HTTP ----*/

struct it_buf {
    char *p;
    size_t n;
};

static size_t it_write(char *d, size_t sz, size_t n, void *ud)
{
    struct it_buf *b = ud;
    char *np = realloc(b->p, b->n + sz * n + 1);
    if (!np)
        return 0;
    b->p = np;
    memcpy(b->p + b->n, d, sz * n);
    b->n += sz * n;
    b->p[b->n] = '\0';
    return sz * n;
}

/* GET (body NULL) or POST; returns the parsed answer (caller deletes) and
 * the status in *status; NULL when no answer or not JSON. */
static IT_UNUSED cJSON *it_http(const struct it_server *s, const char *path,
                                const char *body, long *status)
{
    char url[2048];
    struct it_buf b = {NULL, 0};
    struct curl_slist *h = NULL;
    CURL *c = curl_easy_init();
    cJSON *j = NULL;
    long code = 0;
    snprintf(url, sizeof url, "%s%s", s->uri, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L); /* bounds a hang */
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, it_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (body) {
        h = curl_slist_append(NULL, "Content-Type: application/json");
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    }
    if (curl_easy_perform(c) == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        if (b.p)
            j = cJSON_Parse(b.p);
    }
    if (status)
        *status = code;
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    free(b.p);
    return j;
}

/* runs/get: the "run" object's "info" status string etc. Caller deletes. */
static IT_UNUSED cJSON *it_run_get(const struct it_server *s, const char *id)
{
    char path[256];
    snprintf(path, sizeof path, "/api/2.0/mlflow/runs/get?run_id=%s", id);
    return it_http(s, path, NULL, NULL);
}

/* The item at 'path' ("run/info/status") under j, or NULL. */
static IT_UNUSED const cJSON *it_path(const cJSON *j, const char *path)
{
    char key[128];
    while (j && *path) {
        size_t n = strcspn(path, "/");
        snprintf(key, sizeof key, "%.*s", (int)n, path);
        j = cJSON_GetObjectItemCaseSensitive(j, key);
        path += n + (path[n] == '/');
    }
    return j;
}

/* The run's status ("RUNNING", ...) into buf; "" if unknown. */
static IT_UNUSED const char *
it_run_status(const struct it_server *s, const char *id, char *buf, size_t len)
{
    cJSON *j = it_run_get(s, id);
    const cJSON *st = it_path(j, "run/info/status");
    snprintf(buf, len, "%s", cJSON_IsString(st) ? st->valuestring : "");
    cJSON_Delete(j);
    return buf;
}

/* Number of points of metric 'key' of run 'id' (pages through history);
 * 'steps' (if not NULL) counts each step seen, up to nsteps. */
static IT_UNUSED long it_history(const struct it_server *s, const char *id,
                                 const char *key, int *steps, long nsteps)
{
    char path[512];
    char token[256] = "";
    long n = 0;
    for (;;) {
        if (token[0])
            snprintf(path, sizeof path,
                     "/api/2.0/mlflow/metrics/get-history?run_id=%s&"
                     "metric_key=%s&max_results=25000&page_token=%s",
                     id, key, token);
        else
            snprintf(path, sizeof path,
                     "/api/2.0/mlflow/metrics/get-history?run_id=%s&"
                     "metric_key=%s&max_results=25000",
                     id, key);
        long status;
        cJSON *j = it_http(s, path, NULL, &status);
        if (!j || status != 200) {
            cJSON_Delete(j);
            return -1;
        }
        const cJSON *m;
        cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(j, "metrics"))
        {
            const cJSON *step = cJSON_GetObjectItemCaseSensitive(m, "step");
            long v = cJSON_IsNumber(step) ? (long)step->valuedouble : -1;
            if (steps && v >= 0 && v < nsteps)
                steps[v]++;
            n++;
        }
        const cJSON *tok =
            cJSON_GetObjectItemCaseSensitive(j, "next_page_token");
        if (cJSON_IsString(tok) && tok->valuestring[0]) {
            char *enc = curl_easy_escape(NULL, tok->valuestring, 0);
            snprintf(token, sizeof token, "%s", enc ? enc : "");
            curl_free(enc);
        } else {
            token[0] = '\0';
        }
        cJSON_Delete(j);
        if (!token[0])
            return n;
    }
}

/* A private spool directory for this test, exported for every client. */
static IT_UNUSED void it_spool_env(const char *dir)
{
    setenv("GREENTRACK_SPOOL_DIR", dir, 1);
}

#endif
