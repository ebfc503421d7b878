/* SPDX-License-Identifier: MIT
 *
 * test_client_api: what greentrack.h promises, against a fake tracking
 * server on a loopback socket (a thread per connection, canned answers):
 * records the server refuses one by one (a 400 for the all-or-nothing
 * log-batch) are found by halving the batch, on the one bisect path,
 * whether the batch went out on the worker's connection (params, tags) or
 * on a parallel slot (metrics only); any other refusal drops the batch
 * unsplit; a reserved or invalid key never reaches the server; an end
 * that could not be queued is sent later with the status asked for;
 * gt_client_new_ex says why it failed.
 */
#include "internal.h"
#include "test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/*---- the fake server ----*/

#define MAX_CONNS 64

struct fake {
    int lfd;
    int port;
    pthread_t accept_th;
    pthread_mutex_t mu; /* everything below */
    int nconns;
    int conn_fd[MAX_CONNS];
    pthread_t conn_th[MAX_CONNS];
    int batches;    /* runs/log-batch requests */
    int records_ok; /* records in the batches answered 200 */
    int updates;    /* runs/update requests */
    char last_update[512];
};

static struct fake fk;

static size_t count_of(const char *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle), c = 0;
    for (size_t i = 0; i + k <= n; i++)
        c += memcmp(hay + i, needle, k) == 0;
    return c;
}

static bool has(const char *hay, size_t n, const char *needle)
{
    return count_of(hay, n, needle) > 0;
}

/* The end of the header block in buf[0, n), or NULL. */
static char *head_end(char *buf, size_t n)
{
    for (size_t i = 0; i + 4 <= n; i++) {
        if (memcmp(buf + i, "\r\n\r\n", 4) == 0)
            return buf + i;
    }
    return NULL;
}

/* The answer to one request: status and JSON body. */
static int answer(const char *line, const char *body, size_t blen,
                  const char **out)
{
    int status = 200;
    *out = "{}";
    pthread_mutex_lock(&fk.mu);
    if (strstr(line, "experiments/get-by-name")) {
        *out = "{\"experiment\":{\"experiment_id\":\"1\"}}";
    } else if (strstr(line, "runs/log-batch")) {
        fk.batches++;
        if (has(body, blen, "forbid")) {
            status = 409;
            *out = "{\"error_code\":\"RESOURCE_CONFLICT\",\"message\":\"no\"}";
        } else if (has(body, blen, "poison")) {
            status = 400;
            *out = "{\"error_code\":\"INVALID_PARAMETER_VALUE\","
                   "\"message\":\"poison refused\"}";
        } else {
            fk.records_ok += (int)count_of(body, blen, "{\"key\":");
        }
    } else if (strstr(line, "runs/update")) {
        fk.updates++;
        snprintf(fk.last_update, sizeof fk.last_update, "%.*s",
                 (int)(blen < 500 ? blen : 500), body);
    }
    pthread_mutex_unlock(&fk.mu);
    return status;
}

static void *conn_main(void *arg)
{
    int fd = (int)(intptr_t)arg;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    for (;;) {
        char *end = head_end(buf, len);
        size_t hlen = end ? (size_t)(end - buf) + 4 : 0, blen = 0;
        if (end) {
            for (char *p = buf; p < end; p++) {
                if (strncasecmp(p, "\r\ncontent-length:", 17) == 0) {
                    blen = strtoul(p + 17, NULL, 10);
                    break;
                }
            }
        }
        if (!end || len < hlen + blen) {
            if (len == cap) {
                char *nb = realloc(buf, cap * 2);
                if (!nb)
                    break;
                buf = nb;
                cap *= 2;
            }
            ssize_t k = read(fd, buf + len, cap - len);
            if (k <= 0)
                break;
            len += (size_t)k;
            continue;
        }
        char line[256];
        size_t ll = (size_t)(strchr(buf, '\r') - buf);
        snprintf(line, sizeof line, "%.*s", (int)(ll < 255 ? ll : 255), buf);
        const char *reply;
        int status = answer(line, buf + hlen, blen, &reply);
        char head[256];
        int hn = snprintf(head, sizeof head,
                          "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                          "Content-Length: %zu\r\n\r\n",
                          status, strlen(reply));
        if (write(fd, head, (size_t)hn) != hn ||
            write(fd, reply, strlen(reply)) != (ssize_t)strlen(reply))
            break;
        memmove(buf, buf + hlen + blen, len - hlen - blen);
        len -= hlen + blen;
    }
    free(buf);
    return NULL;
}

static void *accept_main(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = accept(fk.lfd, NULL, NULL);
        if (fd < 0)
            return NULL;
        pthread_mutex_lock(&fk.mu);
        if (fk.nconns == MAX_CONNS ||
            pthread_create(&fk.conn_th[fk.nconns], NULL, conn_main,
                           (void *)(intptr_t)fd) != 0) {
            pthread_mutex_unlock(&fk.mu);
            close(fd);
            continue;
        }
        fk.conn_fd[fk.nconns++] = fd;
        pthread_mutex_unlock(&fk.mu);
    }
}

static int fake_start(void)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    memset(&fk, 0, sizeof fk);
    pthread_mutex_init(&fk.mu, NULL);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fk.lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (fk.lfd < 0 || bind(fk.lfd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(fk.lfd, 16) != 0 ||
        getsockname(fk.lfd, (struct sockaddr *)&a, &alen) != 0)
        return -1;
    fk.port = ntohs(a.sin_port);
    return pthread_create(&fk.accept_th, NULL, accept_main, NULL);
}

static void fake_stop(void)
{
    shutdown(fk.lfd, SHUT_RDWR);
    pthread_join(fk.accept_th, NULL);
    close(fk.lfd);
    for (int i = 0; i < fk.nconns; i++) {
        shutdown(fk.conn_fd[i], SHUT_RDWR);
        pthread_join(fk.conn_th[i], NULL);
        close(fk.conn_fd[i]);
    }
    pthread_mutex_destroy(&fk.mu);
}

static void fake_counts(int *batches, int *records_ok)
{
    pthread_mutex_lock(&fk.mu);
    *batches = fk.batches;
    *records_ok = fk.records_ok;
    pthread_mutex_unlock(&fk.mu);
}

/*---- the tests ----*/

static char uri[64], spool_dir[64];

/* A client that sends only when asked (gt_flush): each test's records go
 * out as one batch. */
static gt_client *client_for_test(void)
{
    gt_client *c = gt_client_new(uri);
    CHECK(c != NULL);
    CHECK_EQ_INT(gt_client_set_spool_dir(c, spool_dir), GT_OK);
    CHECK_EQ_INT(gt_client_set_flush_interval_ms(c, 60000), GT_OK);
    CHECK_EQ_INT(gt_client_set_energy(c, 0), GT_OK);
    return c;
}

/* One test's client and run, created on the fake server before the test
 * logs; session_sent flushes and says what the fake saw since. */
struct session {
    gt_client *c;
    gt_run *run;
    int batches0, records_ok0;
    int batches, records_ok; /* since session_begin */
    gt_stats st;
};

static void session_begin(struct session *s, const char *name)
{
    memset(s, 0, sizeof *s);
    s->c = client_for_test();
    CHECK_EQ_INT(gt_run_start(s->c, "api", name, &s->run), GT_OK);
    CHECK_EQ_INT(gt_flush(s->c, 10000), GT_OK);
    fake_counts(&s->batches0, &s->records_ok0);
}

static void session_sent(struct session *s)
{
    int b, ok;
    CHECK_EQ_INT(gt_flush(s->c, 20000), GT_OK);
    fake_counts(&b, &ok);
    s->batches = b - s->batches0;
    s->records_ok = ok - s->records_ok0;
    gt_client_stats(s->c, &s->st);
}

static void session_end(struct session *s)
{
    CHECK_EQ_INT(gt_run_end(s->run, GT_RUN_FINISHED), GT_OK);
    gt_client_free(s->c);
}

/* The requests a batch of n records costs when the server refuses the
 * one at 'bad': the whole batch, then both halves at each level down to
 * that record alone. */
static int bisect_requests(int n, int bad)
{
    int from = 0, to = n, requests = 1;
    while (to - from > 1) {
        int mid = from + (to - from) / 2;
        requests += 2;
        if (bad < mid)
            to = mid;
        else
            from = mid;
    }
    return requests;
}

/* After n records of which the server refused the one at 'bad': only that
 * one was dropped, at the cost of the halvings and no more. */
static void check_one_refused(struct session *s, int n, int bad)
{
    CHECK_EQ_INT(s->st.sent, n - 1);
    CHECK_EQ_INT(s->st.dropped, 1);
    CHECK_EQ_INT(s->records_ok, n - 1);
    CHECK_EQ_INT(s->batches, bisect_requests(n, bad));
    CHECK(strstr(gt_client_errmsg(s->c), "rejected 1 record") != NULL);
    CHECK(strstr(gt_client_errmsg(s->c), "poison refused") != NULL);
}

/* 1000 metrics, one of which the server refuses: a metric-only batch goes
 * out on a slot; its 400 is split on the worker. */
static void test_bisect_slot(void)
{
    struct session s;
    int bad = 0;
    session_begin(&s, "slot");
    for (int i = 0; i < 1000; i++)
        bad += gt_log_metric(s.run, i == 400 ? "poison" : "m", i, i) != GT_OK;
    CHECK_EQ_INT(bad, 0);
    session_sent(&s);
    check_one_refused(&s, 1000, 400);
    session_end(&s);
}

/* Params and metrics, one param refused: the batch goes out on the
 * worker's own connection and is split there, the same way. */
static void test_bisect_worker(void)
{
    struct session s;
    char key[16];
    int bad = 0;
    session_begin(&s, "worker");
    for (int i = 0; i < 40; i++) {
        snprintf(key, sizeof key, "p%d", i);
        bad += gt_log_param(s.run, key, i == 17 ? "poison" : "v") != GT_OK;
        if (i < 10)
            bad += gt_log_metric(s.run, "m", i, i) != GT_OK;
    }
    CHECK_EQ_INT(bad, 0);
    session_sent(&s);
    /* ranges count records in logging order: p0 m0 ... p9 m9 p10 ...,
     * so p17 is record 27 */
    check_one_refused(&s, 50, 27);
    session_end(&s);
}

/* A refusal other than 400 is about the request, not a record: the batch
 * is dropped in one piece, without splitting. (401 and 403 are not
 * refusals of the data: their records stay spooled, see
 * test_client_creds.) */
static void test_reject_unsplit(void)
{
    struct session s;
    session_begin(&s, "forbidden");
    CHECK_EQ_INT(gt_set_tag(s.run, "a", "1"), GT_OK);
    CHECK_EQ_INT(gt_set_tag(s.run, "b", "forbid"), GT_OK);
    CHECK_EQ_INT(gt_set_tag(s.run, "c", "3"), GT_OK);
    session_sent(&s);
    CHECK_EQ_INT(s.batches, 1);
    CHECK_EQ_INT(s.records_ok, 0);
    CHECK_EQ_INT(s.st.sent, 0);
    CHECK_EQ_INT(s.st.dropped, 3);
    CHECK(strstr(gt_client_errmsg(s.c), "409") != NULL);
    session_end(&s);
}

/* A reserved or invalid key is refused at the call: nothing is sent. */
static void test_refused_locally(void)
{
    struct session s;
    session_begin(&s, "local");
    CHECK_EQ_INT(gt_log_metric(s.run, "greentrack.co2_kg", 1, 0), GT_E_INVALID);
    CHECK_EQ_INT(gt_log_metric(s.run, "../up", 1, 0), GT_E_INVALID);
    CHECK_EQ_INT(gt_log_param(s.run, "p*", "v"), GT_E_INVALID);
    CHECK_EQ_INT(gt_set_tag(s.run, "t", "\xc3"), GT_E_INVALID);
    session_sent(&s);
    CHECK_EQ_INT(s.batches, 0);
    CHECK_EQ_INT(s.st.dropped, 0);
    CHECK_EQ_INT(s.st.sent, 0);
    session_end(&s);
}

/* gt_run_end whose end cannot be queued: the client keeps the run and
 * ends it at gt_client_free with the status asked for, not FAILED. */
static void test_run_end_kept(void)
{
    struct session s;
    session_begin(&s, "kept");
    gt_client *c = s.c;
    gt_run *run = s.run;
    pthread_mutex_lock(&c->q.mu);
    c->q.closed = true; /* push_end fails as it would out of memory */
    pthread_mutex_unlock(&c->q.mu);
    CHECK_EQ_INT(gt_run_end(run, GT_RUN_FINISHED), GT_E_CLOSED);
    pthread_mutex_lock(&c->mu);
    CHECK(c->open_runs == run);
    CHECK(run->end_asked);
    CHECK_EQ_INT(run->end_status, GT_RUN_FINISHED);
    pthread_mutex_unlock(&c->mu);
    pthread_mutex_lock(&c->q.mu);
    c->q.closed = false;
    pthread_mutex_unlock(&c->q.mu);
    pthread_mutex_lock(&fk.mu);
    int updates = fk.updates;
    pthread_mutex_unlock(&fk.mu);
    gt_client_free(c);
    pthread_mutex_lock(&fk.mu);
    CHECK_EQ_INT(fk.updates, updates + 1);
    CHECK(strstr(fk.last_update, "\"FINISHED\"") != NULL);
    pthread_mutex_unlock(&fk.mu);
}

static void test_client_new_ex(void)
{
    gt_status err = GT_E_IO;
    CHECK(gt_client_new_ex("ftp://x", &err) == NULL);
    CHECK_EQ_INT(err, GT_E_INVALID);
    CHECK(gt_client_new_ex("ftp://x", NULL) == NULL);
    CHECK(gt_client_new("ftp://x") == NULL);
    err = GT_E_IO;
    gt_client *c = gt_client_new_ex(uri, &err);
    CHECK(c != NULL);
    CHECK_EQ_INT(err, GT_OK);
    gt_client_free(c);
    /* NULL and "" take the URI from the environment */
    setenv("GREENTRACK_TRACKING_URI", "file:///tmp/x", 1);
    CHECK(gt_client_new_ex(NULL, &err) == NULL);
    CHECK_EQ_INT(err, GT_E_INVALID);
    CHECK(gt_client_new_ex("", &err) == NULL);
    CHECK_EQ_INT(err, GT_E_INVALID);
    setenv("GREENTRACK_TRACKING_URI", uri, 1);
    c = gt_client_new_ex(NULL, &err);
    CHECK(c != NULL);
    CHECK_EQ_INT(err, GT_OK);
    gt_client_free(c);
    unsetenv("GREENTRACK_TRACKING_URI");
}

int main(void)
{
    char dir[] = "/tmp/gt-api-XXXXXX";
    if (fake_start() != 0 || !mkdtemp(dir)) {
        printf("test_client_api: 0 passed, 1 failed (no fake server)\n");
        return 1;
    }
    snprintf(uri, sizeof uri, "http://127.0.0.1:%d", fk.port);
    snprintf(spool_dir, sizeof spool_dir, "%s/spool", dir);
    test_bisect_slot();
    test_bisect_worker();
    test_reject_unsplit();
    test_refused_locally();
    test_run_end_kept();
    test_client_new_ex();
    fake_stop();
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK_EQ_INT(system(cmd), 0);
    TEST_MAIN_END("test_client_api");
}
