/* SPDX-License-Identifier: MIT
 *
 * itest_client_exit: runs of a process that dies never stay RUNNING.
 * gt_install_exit_handlers: a child that calls exit() without gt_run_end
 * leaves its run FAILED; a child killed by SIGTERM leaves it KILLED, and
 * its own previous SIGTERM handler still runs afterwards. Heartbeats: a
 * child that is SIGKILLed stops sending them and a server started with
 * --heartbeat-timeout 3 marks its run KILLED, while it stays RUNNING as
 * long as the child lives (heartbeats every 150 ms: only a stall of 3 s
 * could expire it). Waits are polls bounded by LONG_WAIT_MS, and the
 * children's flush timeout is as long, so that a busy machine makes the
 * exit handlers slower but never sends the records to the spool instead
 * of the (running) server.
 */
#include "itest.h"

#define LONG_WAIT_MS 60000
#define HEARTBEAT_TIMEOUT_S 3

static gt_client *child_client;

static void child_free(void)
{
    gt_client_free(child_client);
}

static void child_on_term(int sig)
{
    (void)sig;
    _exit(42);
}

enum child_mode { CHILD_EXIT, CHILD_SIGTERM, CHILD_HEARTBEAT };

/* Forks a child that starts a run, logs, flushes and reports the run id
 * on a pipe; then it exits (CHILD_EXIT) or waits to be killed. */
static pid_t spawn(const struct it_server *s, enum child_mode mode, char *id,
                   size_t idlen)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        if (mode == CHILD_HEARTBEAT)
            setenv("GREENTRACK_HEARTBEAT_INTERVAL_MS", "150", 1);
        if (mode == CHILD_SIGTERM)
            signal(SIGTERM, child_on_term);
        child_client = gt_client_new(s->uri);
        gt_run *run = NULL;
        if (!child_client)
            _exit(3);
        gt_client_set_flush_timeout_ms(child_client, LONG_WAIT_MS);
        atexit(child_free); /* runs after the library's exit handler */
        if (mode != CHILD_HEARTBEAT &&
            gt_install_exit_handlers(child_client) != GT_OK)
            _exit(4);
        if (gt_run_start(child_client, "itest exit", NULL, &run) != GT_OK)
            _exit(5);
        for (int i = 0; i < 100; i++)
            gt_log_metric(run, "m", i, i);
        if (gt_flush(child_client, LONG_WAIT_MS) != GT_OK)
            _exit(7);
        char line[64];
        snprintf(line, sizeof line, "%s\n", gt_run_id(run));
        if (write(fds[1], line, strlen(line)) < 0)
            _exit(6);
        close(fds[1]);
        if (mode == CHILD_EXIT) {
            for (int i = 100; i < 200; i++)
                gt_log_metric(run, "m", i, i);
            exit(0); /* no gt_run_end */
        }
        for (;;)
            pause();
    }
    close(fds[1]);
    ssize_t n = read(fds[0], id, idlen - 1);
    close(fds[0]);
    if (n < 33) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    id[32] = '\0';
    return pid;
}

static void test_exit_handlers(struct it_server *s)
{
    char id[64], status[32];
    int st = 0;

    pid_t pid = spawn(s, CHILD_EXIT, id, sizeof id);
    CHECK(pid > 0);
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK_EQ_STR(it_run_status(s, id, status, sizeof status), "FAILED");
    /* what was logged before exit() was flushed */
    CHECK_EQ_INT(it_history(s, id, "m", NULL, 0), 200);

    pid = spawn(s, CHILD_SIGTERM, id, sizeof id);
    CHECK(pid > 0);
    kill(pid, SIGTERM);
    waitpid(pid, &st, 0);
    /* the previous disposition was restored and the signal re-raised */
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 42);
    CHECK_EQ_STR(it_run_status(s, id, status, sizeof status), "KILLED");
    cJSON *j = it_run_get(s, id);
    CHECK(cJSON_IsNumber(it_path(j, "run/info/end_time")));
    cJSON_Delete(j);
}

static void test_heartbeat_expiry(void)
{
    struct it_server s;
    char id[64], status[32];
    if (it_server_new(&s, "ith") != 0) {
        CHECK(0);
        return;
    }
    char arg[16];
    snprintf(arg, sizeof arg, "%d", HEARTBEAT_TIMEOUT_S);
    it_server_arg(&s, "--heartbeat-timeout");
    it_server_arg(&s, arg);
    CHECK_EQ_INT(it_server_start(&s), 0);
    pid_t pid = spawn(&s, CHILD_HEARTBEAT, id, sizeof id);
    CHECK(pid > 0);
    /* alive: heartbeats every 150 ms keep the run RUNNING past the
     * timeout (the server checks every timeout/4) */
    it_sleep_ms(HEARTBEAT_TIMEOUT_S * 1000 * 3 / 2);
    CHECK_EQ_STR(it_run_status(&s, id, status, sizeof status), "RUNNING");
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    int64_t until = it_mono_ms() + LONG_WAIT_MS;
    while (strcmp(it_run_status(&s, id, status, sizeof status), "KILLED") &&
           it_mono_ms() < until)
        it_sleep_ms(100);
    CHECK_EQ_STR(status, "KILLED");
    it_server_free(&s);
}

int main(void)
{
    struct it_server s;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (it_server_new(&s, "ite") != 0 || it_server_start(&s) != 0) {
        it_start_failed("itest_client_exit", "no server");
        return 1;
    }
    test_exit_handlers(&s);
    it_server_free(&s);
    test_heartbeat_expiry();
    curl_global_cleanup();
    TEST_MAIN_END("itest_client_exit");
}
