/* SPDX-License-Identifier: MIT
 *
 * itest_client_spool: the spool. A process logs while the server is down
 * and exits; gt_spool_replay (what `greentrack sync` calls) later replays
 * its file in order and removes it, while the file of a live client in
 * the same directory is left alone (flock) and replayed by that client's
 * own worker when the server is back. Then a spool whose last record is
 * torn and one of whose middle records is corrupt: the corrupt record is
 * skipped, the rest replays.
 *
 * Energy measurement is off here (GREENTRACK_ENERGY=off): the exact record
 * counts below would otherwise depend on whether the sampler thread opened
 * its probes (host tags, an energy sample) before the run ended, that is
 * on scheduling. Energy records through the spool: itest_client_energy.
 * Waits are polls bounded by LONG_WAIT_MS, a hang bound, not a speed.
 */
#include "itest.h"

#include <dirent.h>

#define LONG_WAIT_MS 60000

static int count_spools(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (!d)
        return 0;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        n += len > 6 && strcmp(e->d_name + len - 6, ".spool") == 0;
    }
    closedir(d);
    return n;
}

static int first_spool(const char *dir, char *path, size_t len)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int found = -1;
    while (d && (e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n > 6 && strcmp(e->d_name + n - 6, ".spool") == 0) {
            snprintf(path, len, "%s/%s", dir, e->d_name);
            found = 0;
            break;
        }
    }
    if (d)
        closedir(d);
    return found;
}

/* A child process logs 'points' metrics (and a param) while nothing
 * listens at 'uri', ends the run, frees the client and exits. Writes the
 * run id into 'id'. 0 on success. */
static int child_logs_offline(const char *uri, const char *spool, int points,
                              char *id, size_t idlen)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        gt_client *c = gt_client_new(uri);
        gt_run *run = NULL;
        gt_client_set_spool_dir(c, spool);
        gt_client_set_flush_timeout_ms(c, 600);
        if (!c || gt_run_start(c, "itest spool", "offline", &run) != GT_OK)
            _exit(1);
        char rid[64];
        snprintf(rid, sizeof rid, "%s\n", gt_run_id(run));
        gt_log_param(run, "mode", "offline");
        for (int i = 0; i < points; i++)
            gt_log_metric(run, "x", i, i);
        gt_run_end(run, GT_RUN_FINISHED);
        gt_client_free(c);
        if (write(fds[1], rid, strlen(rid)) < 0)
            _exit(1);
        _exit(0);
    }
    close(fds[1]);
    ssize_t n = read(fds[0], id, idlen - 1);
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (n < 33 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    id[32] = '\0';
    return 0;
}

/* Ends 'run' FINISHED with the server up. These clients' flush timeout is
 * 400 ms, so on a busy machine gt_run_end may return GT_E_TIMEOUT with the
 * end still queued (nothing lost): wait for it, so that gt_client_free
 * does not spool it and leave a file behind. */
static void end_run(gt_client *c, gt_run *run)
{
    gt_status rc = gt_run_end(run, GT_RUN_FINISHED);
    CHECK(rc == GT_OK || rc == GT_E_TIMEOUT);
    CHECK_EQ_INT(gt_flush(c, LONG_WAIT_MS), GT_OK);
}

struct progress {
    uint64_t calls, last_done, total;
};

static void on_progress(void *ud, uint64_t done, uint64_t total)
{
    struct progress *p = ud;
    p->calls++;
    p->last_done = done;
    p->total = total;
}

static void test_replay_after_exit(struct it_server *s)
{
    char d1[1100], id[64], status[32];
    snprintf(d1, sizeof d1, "%s/spool1", s->dir);
    it_server_kill(s, SIGKILL);

    /* a process that logged while the server was down, and exited */
    CHECK_EQ_INT(child_logs_offline(s->uri, d1, 1000, id, sizeof id), 0);
    CHECK_EQ_INT(count_spools(d1), 1);

    /* a live client whose records are spooled right now */
    gt_client *a = gt_client_new(s->uri);
    gt_run *ra = NULL;
    gt_client_set_spool_dir(a, d1);
    gt_client_set_flush_timeout_ms(a, 400);
    CHECK_EQ_INT(gt_run_start(a, "itest spool", "live", &ra), GT_OK);
    for (int i = 0; i < 10; i++)
        gt_log_metric(ra, "y", i, i);
    CHECK_EQ_INT(gt_flush(a, LONG_WAIT_MS), GT_OK);
    gt_stats st;
    gt_client_stats(a, &st);
    CHECK_EQ_INT(st.spooled, 10);
    CHECK_EQ_INT(count_spools(d1), 2);

    CHECK_EQ_INT(it_server_start(s), 0);
    gt_client *b = gt_client_new(s->uri);
    struct progress pr = {0, 0, 0};
    gt_client_set_spool_dir(b, d1);
    CHECK_EQ_INT(gt_spool_replay(b, on_progress, &pr, LONG_WAIT_MS), GT_OK);
    CHECK(pr.calls >= 2);
    CHECK_EQ_INT(pr.total, 1003); /* create, param, 1000 points, end */
    CHECK_EQ_INT(pr.last_done, 1003);
    gt_client_stats(b, &st);
    CHECK_EQ_INT(st.replayed, 1001);
    CHECK_EQ_STR(it_run_status(s, id, status, sizeof status), "FINISHED");
    CHECK_EQ_INT(it_history(s, id, "x", NULL, 0), 1000);
    /* the exited process's file is gone; the live one is left alone */
    CHECK_EQ_INT(count_spools(d1), 1);
    gt_client_free(b);

    /* the live client's worker replays its own file once it probes */
    int64_t until = it_mono_ms() + LONG_WAIT_MS;
    do {
        it_sleep_ms(50);
        gt_client_stats(a, &st);
    } while (st.replayed < 10 && it_mono_ms() < until);
    CHECK_EQ_INT(st.replayed, 10);
    CHECK_EQ_INT(it_history(s, gt_run_id(ra), "y", NULL, 0), 10);
    CHECK(gt_run_server_id(ra) != NULL);
    end_run(a, ra);
    gt_client_free(a);
    CHECK_EQ_INT(count_spools(d1), 0);
}

/* The value of tag 'key' of run 'id' on the server, into buf. */
static const char *tag_value(struct it_server *s, const char *id,
                             const char *key, char *buf, size_t len)
{
    cJSON *j = it_run_get(s, id);
    const cJSON *it;
    buf[0] = '\0';
    cJSON_ArrayForEach(
        it, cJSON_GetObjectItemCaseSensitive(it_path(j, "run/data"), "tags"))
    {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(it, "key");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(it, "value");
        if (cJSON_IsString(k) && strcmp(k->valuestring, key) == 0 &&
            cJSON_IsString(v))
            snprintf(buf, len, "%s", v->valuestring);
    }
    cJSON_Delete(j);
    return buf;
}

/* The server dies while metric batches are in flight in parallel: what
 * was not acknowledged is spooled in order with the tags set between
 * them, and the worker's replay ends with the last tag value and every
 * point on the server. */
static void test_parallel_offline(struct it_server *s)
{
    char d2[1100], id[64], val[16], buf[64];
    gt_stats st;
    int bad = 0;
    snprintf(d2, sizeof d2, "%s/spool2", s->dir);
    gt_client *a = gt_client_new(s->uri);
    gt_run *run = NULL;
    gt_client_set_spool_dir(a, d2);
    gt_client_set_flush_timeout_ms(a, 400);
    CHECK_EQ_INT(gt_run_start(a, "itest spool", "parallel", &run), GT_OK);
    snprintf(id, sizeof id, "%s", gt_run_id(run));
    for (int i = 0; i < 6000; i++)
        bad += gt_log_metric(run, "m", i, i) != GT_OK;
    bad += gt_set_tag(run, "t", "v0") != GT_OK;
    CHECK_EQ_INT(gt_flush(a, LONG_WAIT_MS), GT_OK);
    it_server_kill(s, SIGKILL);
    for (int round = 1; round <= 5; round++) {
        for (int i = 0; i < 4000; i++) {
            int step = 6000 + (round - 1) * 4000 + i;
            bad += gt_log_metric(run, "m", step, step) != GT_OK;
        }
        snprintf(val, sizeof val, "v%d", round);
        bad += gt_set_tag(run, "t", val) != GT_OK;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(gt_flush(a, LONG_WAIT_MS), GT_OK);
    gt_client_stats(a, &st);
    CHECK(st.spooled > 0);
    CHECK_EQ_INT(st.sent + st.spooled, 6001 + 5 * 4001);
    uint64_t spooled = st.spooled;

    CHECK_EQ_INT(it_server_start(s), 0);
    int64_t until = it_mono_ms() + LONG_WAIT_MS;
    do {
        it_sleep_ms(50);
        gt_client_stats(a, &st);
    } while (st.replayed < spooled && it_mono_ms() < until);
    CHECK_EQ_INT(st.replayed, spooled);
    CHECK_EQ_INT(st.dropped, 0);
    CHECK_EQ_STR(tag_value(s, id, "t", buf, sizeof buf), "v5");
    int *steps = calloc(26000, sizeof *steps);
    CHECK(steps != NULL);
    if (steps) {
        CHECK(it_history(s, id, "m", steps, 26000) >= 26000);
        int once = 0;
        for (int i = 0; i < 26000; i++)
            once += steps[i] >= 1;
        CHECK_EQ_INT(once, 26000);
        free(steps);
    }
    end_run(a, run);
    gt_client_free(a);
    CHECK_EQ_INT(count_spools(d2), 0);
}

/* Offsets of the records of a spool file (after the 8-byte magic). */
static int record_offsets(const char *path, long *offs, int max, long *size)
{
    FILE *f = fopen(path, "rb");
    int n = 0;
    long off = 8;
    unsigned char h[8];
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    *size = ftell(f);
    while (n < max && off + 8 <= *size) {
        fseek(f, off, SEEK_SET);
        if (fread(h, 1, 8, f) != 8)
            break;
        long len = (long)(h[0] | (h[1] << 8) | (h[2] << 16) |
                          ((unsigned long)h[3] << 24));
        offs[n++] = off;
        off += 8 + len;
    }
    fclose(f);
    return n;
}

static void test_corrupt_spool(struct it_server *s)
{
    char d2[1100], id[64], path[1400], status[32];
    long offs[200], size = 0;
    snprintf(d2, sizeof d2, "%s/spool2", s->dir);
    it_server_kill(s, SIGKILL);
    CHECK_EQ_INT(child_logs_offline(s->uri, d2, 100, id, sizeof id), 0);
    CHECK_EQ_INT(first_spool(d2, path, sizeof path), 0);
    /* records: create, param, 100 points (steps 0..99), end */
    CHECK_EQ_INT(record_offsets(path, offs, 200, &size), 103);

    /* flip a byte inside point 50's payload: its CRC no longer matches */
    int fd = open(path, O_RDWR);
    unsigned char byte;
    long at = offs[2 + 50] + 8 + 20;
    CHECK(pread(fd, &byte, 1, at) == 1);
    byte ^= 0x5A;
    CHECK(pwrite(fd, &byte, 1, at) == 1);
    /* tear the last record (the run's end) as a crash mid-write would */
    CHECK(ftruncate(fd, size - 3) == 0);
    close(fd);

    CHECK_EQ_INT(it_server_start(s), 0);
    gt_client *c = gt_client_new(s->uri);
    struct progress pr = {0, 0, 0};
    gt_client_set_spool_dir(c, d2);
    CHECK_EQ_INT(gt_spool_replay(c, on_progress, &pr, LONG_WAIT_MS), GT_OK);
    CHECK_EQ_INT(pr.total, 101); /* create, param, 99 points */
    int steps[100] = {0};
    CHECK_EQ_INT(it_history(s, id, "x", steps, 100), 99);
    CHECK_EQ_INT(steps[50], 0);
    CHECK_EQ_INT(steps[49] + steps[51] + steps[0] + steps[99], 4);
    /* the end record was torn: the run stays RUNNING */
    CHECK_EQ_STR(it_run_status(s, id, status, sizeof status), "RUNNING");
    CHECK_EQ_INT(count_spools(d2), 0);
    gt_client_free(c);
}

int main(void)
{
    struct it_server s;
    /* before any client: children inherit it */
    setenv("GREENTRACK_ENERGY", "off", 1);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (it_server_new(&s, "its") != 0 || it_server_start(&s) != 0) {
        it_start_failed("itest_client_spool", "no server");
        return 1;
    }
    test_replay_after_exit(&s);
    test_corrupt_spool(&s);
    test_parallel_offline(&s);
    it_server_free(&s);
    curl_global_cleanup();
    TEST_MAIN_END("itest_client_spool");
}
