/* SPDX-License-Identifier: MIT
 *
 * itest_client_mlflow: the plain-MLflow fallback. A small proxy
 * (mlflow_plain_proxy.py) in front of greentrack drops the client-chosen
 * run_id from runs/create, as a plain MLflow server ignores it, and has no
 * heartbeat endpoint. The library must notice that the server chose its
 * own id and log everything into that run: gt_run_id keeps the client's
 * id, gt_run_server_id gives the server's.
 */
#include "itest.h"

static pid_t proxy_pid;

/* Starts the proxy in front of 'target'; fills 'p' (uri) on success. */
static int proxy_start(const struct it_server *target, struct it_server *p)
{
    int fds[2];
    char port[16], line[64];
    const char *script = getenv("GT_PLAIN_PROXY");
    if (!script)
        script = "tests/integration/mlflow_plain_proxy.py";
    if (pipe(fds) != 0)
        return -1;
    snprintf(port, sizeof port, "%d", target->port);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execlp("python3", "python3", script, port, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t n = 0;
    while (n < sizeof line - 1 && (n == 0 || line[n - 1] != '\n')) {
        ssize_t k = read(fds[0], line + n, sizeof line - 1 - n);
        if (k <= 0)
            break;
        n += (size_t)k;
    }
    close(fds[0]);
    if (n == 0)
        return -1;
    line[n] = '\0';
    memset(p, 0, sizeof *p);
    p->port = (int)strtol(line + strlen("listening "), NULL, 10);
    snprintf(p->uri, sizeof p->uri, "http://127.0.0.1:%d", p->port);
    proxy_pid = pid;
    return p->port > 0 ? 0 : -1;
}

int main(void)
{
    struct it_server s, proxy;
    char spool[1100], status[32];
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (it_server_new(&s, "itm") != 0 || it_server_start(&s) != 0 ||
        proxy_start(&s, &proxy) != 0) {
        it_start_failed("itest_client_mlflow", "no server or proxy");
        it_server_free(&s);
        return 1;
    }
    snprintf(spool, sizeof spool, "%s/spool", s.dir);

    gt_client *c = gt_client_new(proxy.uri);
    gt_run *run = NULL;
    gt_client_set_spool_dir(c, spool);
    /* through a Python proxy on a busy machine the defaults (5 s for
     * gt_run_end, 10 s a request) are not much: these bound a hang only */
    gt_client_set_flush_timeout_ms(c, 60000);
    gt_client_set_request_timeout_ms(c, 60000);
    CHECK_EQ_INT(gt_run_start(c, "itest plain mlflow", "fallback", &run),
                 GT_OK);
    char cid[64];
    snprintf(cid, sizeof cid, "%s", gt_run_id(run));
    CHECK_EQ_INT(gt_log_param(run, "alpha", "0.5"), GT_OK);
    CHECK_EQ_INT(gt_set_tag(run, "via", "proxy"), GT_OK);
    int bad = 0;
    for (int i = 0; i < 1500; i++)
        bad += gt_log_metric(run, "loss", 1.0 / (i + 1), i) != GT_OK;
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(gt_flush(c, 60000), GT_OK);
    const char *sid = gt_run_server_id(run);
    CHECK(sid != NULL);
    char sidbuf[64] = "";
    if (sid)
        snprintf(sidbuf, sizeof sidbuf, "%s", sid);
    CHECK(strcmp(sidbuf, cid) != 0);
    CHECK_EQ_STR(gt_run_id(run), cid); /* never changes */

    /* everything went to the server's run; none under the client's id */
    CHECK_EQ_INT(it_history(&s, sidbuf, "loss", NULL, 0), 1500);
    long st;
    char path[200];
    snprintf(path, sizeof path, "/api/2.0/mlflow/runs/get?run_id=%s", cid);
    cJSON *j = it_http(&s, path, NULL, &st);
    CHECK_EQ_INT(st, 404);
    cJSON_Delete(j);

    CHECK_EQ_INT(gt_run_end(run, GT_RUN_FINISHED), GT_OK);
    CHECK_EQ_STR(it_run_status(&s, sidbuf, status, sizeof status), "FINISHED");
    gt_stats stats;
    gt_client_stats(c, &stats);
    if (stats.dropped)
        fprintf(stderr, "last error: %s\n", gt_client_errmsg(c));
    CHECK_EQ_INT(stats.dropped, 0);
    CHECK_EQ_INT(stats.sent, 1502);
    gt_client_free(c);

    kill(proxy_pid, SIGTERM);
    waitpid(proxy_pid, NULL, 0);
    it_server_free(&s);
    curl_global_cleanup();
    TEST_MAIN_END("itest_client_mlflow");
}
