/* SPDX-License-Identifier: MIT
 *
 * itest_client_energy: libgreentrack's energy measurement against a real
 * greentrack-server, with a fake sysfs RAPL tree the test advances by a
 * known amount and a fake procfs: the run's CPU energy and CO2 on
 * runs/carbon equal the hand-computed figures for GREENTRACK_COUNTRY=FRA,
 * host and location tags arrive (an invalid PUE is not sent), energy off
 * sends nothing, samples spooled while the server is down are replayed,
 * an unknown location is reported as such, and cloud instance-metadata
 * detection against loopback fakes (GCP, AWS IMDSv2, one that never
 * answers).
 */
#include "itest.h"

#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>

/* bounds a wait (a hang), never a speed: a busy machine is only slower */
#define LONG_WAIT_MS 60000

static char spool_dir[1100];
static char sysfs[1100], procfs[1100];
static double rapl_uj = 1e6; /* the fake counter, microjoules */

/*---- fake trees ----*/

static void write_file(const char *dir, const char *rel, const char *text)
{
    char path[1400], tmp[1500];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    fputs(text, f);
    fclose(f);
    rename(tmp, path); /* a reader never sees a half-written value */
}

/* In place, fixed width, one pwrite: the probes keep energy_uj open. */
static void set_rapl(double uj)
{
    char path[1400], buf[64];
    rapl_uj = uj;
    snprintf(path, sizeof path, "%s/class/powercap/intel-rapl:0/energy_uj",
             sysfs);
    int n = snprintf(buf, sizeof buf, "%020.0f\n", uj);
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0 && pwrite(fd, buf, (size_t)n, 0) == n);
    if (fd >= 0)
        close(fd);
}

static void make_trees(void)
{
    char d[1400];
    snprintf(d, sizeof d, "%s/class/powercap/intel-rapl:0", sysfs);
    char cmd[3200];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' '%s/self'", d, procfs);
    CHECK_EQ_INT(system(cmd), 0);
    write_file(sysfs, "class/powercap/intel-rapl:0/name", "package-0\n");
    write_file(sysfs, "class/powercap/intel-rapl:0/max_energy_range_uj",
               "262143328850\n");
    set_rapl(1e6);
    write_file(procfs, "meminfo",
               "MemTotal:       16384000 kB\nMemFree:         8000000 kB\n"
               "MemAvailable:   12000000 kB\n");
    write_file(procfs, "cpuinfo",
               "processor\t: 0\nmodel name\t: Fake CPU 9000\nphysical id\t: "
               "0\n\nprocessor\t: 1\nmodel name\t: Fake CPU 9000\nphysical "
               "id\t: 0\n\n");
    write_file(procfs, "stat",
               "cpu  100 0 100 1000 0 0 0 0 0 0\ncpu0 50 0 50 500 0 0 0 0 0 "
               "0\ncpu1 50 0 50 500 0 0 0 0 0 0\n");
}

/*---- reading the server ----*/

static const char *tag_of(const cJSON *run, const char *key)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, it_path(run, "run/data/tags"))
    {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(it, "key");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(it, "value");
        if (cJSON_IsString(k) && strcmp(k->valuestring, key) == 0)
            return cJSON_IsString(v) ? v->valuestring : NULL;
    }
    return NULL;
}

/* Flushes until the run has tag 'key' on the server (up to LONG_WAIT_MS). */
static bool wait_tag(struct it_server *s, gt_client *c, const char *id,
                     const char *key)
{
    int64_t until = it_mono_ms() + LONG_WAIT_MS;
    while (it_mono_ms() < until) {
        gt_flush(c, LONG_WAIT_MS);
        cJSON *j = it_run_get(s, id);
        bool found = tag_of(j, key) != NULL;
        cJSON_Delete(j);
        if (found)
            return true;
        it_sleep_ms(50);
    }
    return false;
}

static cJSON *carbon(struct it_server *s, const char *id)
{
    char path[256];
    long st;
    snprintf(path, sizeof path, "/api/2.0/greentrack/runs/carbon?run_id=%s",
             id);
    cJSON *j = it_http(s, path, NULL, &st);
    CHECK_EQ_INT(st, 200);
    return j;
}

static double num(const cJSON *j, const char *path)
{
    const cJSON *x = it_path(j, path);
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

static bool near(double a, double b)
{
    return fabs(a - b) <= 1e-9 + 1e-6 * fabs(b);
}

static gt_client *client_new(struct it_server *s)
{
    gt_client *c = gt_client_new(s->uri);
    CHECK(c != NULL);
    gt_client_set_spool_dir(c, spool_dir);
    /* gt_run_end waits this long for a running server's answer (the
     * default, 5 s, is not much on a busy machine); with the server down
     * retries still give up after 2 s */
    gt_client_set_flush_timeout_ms(c, LONG_WAIT_MS);
    return c;
}

/*---- tests ----*/

static void test_known_energy(struct it_server *s)
{
    char id[64];
    gt_run *run = NULL;
    gt_client *c = client_new(s);
    CHECK_EQ_INT(gt_run_start(c, "energy", "known", &run), GT_OK);
    snprintf(id, sizeof id, "%s", gt_run_id(run));
    CHECK_EQ_INT(gt_log_metric(run, "loss", 0.5, 1), GT_OK);
    /* the probes are open once the host tags are there */
    CHECK(wait_tag(s, c, id, "greentrack.host.cpu"));
    set_rapl(rapl_uj + 3600e6); /* 3600 J: 0.001 kWh */
    gt_energy e;
    CHECK_EQ_INT(gt_run_energy(run, &e), GT_OK);
    CHECK(near(e.cpu_j, 3600.0));
    CHECK_EQ_STR(e.cpu_method, "rapl");
    CHECK_EQ_STR(e.scope, "node");
    CHECK(e.end_ms > e.start_ms);
    set_rapl(rapl_uj + 360e6); /* 360 J more after gt_run_energy */
    CHECK_EQ_INT(gt_run_end(run, GT_RUN_FINISHED), GT_OK);

    cJSON *j = carbon(s, id);
    double cpu_kwh = num(j, "cpu_kwh"), ram_kwh = num(j, "ram_kwh");
    double gpu_kwh = num(j, "gpu_kwh"), kwh = num(j, "energy_kwh");
    CHECK(near(cpu_kwh, 3960.0 / 3.6e6));
    CHECK(ram_kwh > 0);
    CHECK(near(kwh, cpu_kwh + ram_kwh + gpu_kwh));
    CHECK(num(j, "samples") >= 2);
    CHECK(cJSON_IsTrue(it_path(j, "location/known")));
    CHECK_EQ_STR(cJSON_GetStringValue(it_path(j, "location/country")), "FRA");
    CHECK_EQ_STR(cJSON_GetStringValue(it_path(j, "scope")), "node");
    CHECK(num(j, "pue") == 1.0); /* GREENTRACK_PUE=7 was not sent */
    /* CO2 by hand: kWh x France's table intensity x PUE 1 */
    long st;
    cJSON *in =
        it_http(s, "/api/2.0/greentrack/intensity?country=FRA", NULL, &st);
    double g = num(in, "intensity_g_per_kwh");
    CHECK(g > 0 && g < 475);
    CHECK(near(num(j, "co2_g"), kwh * g));
    cJSON_Delete(in);
    cJSON_Delete(j);

    j = it_run_get(s, id);
    CHECK_EQ_STR(tag_of(j, "greentrack.country"), "FRA");
    CHECK_EQ_STR(tag_of(j, "greentrack.zone"), "FR");
    CHECK(tag_of(j, "greentrack.pue") == NULL);
    CHECK(tag_of(j, "greentrack.cloud_provider") == NULL);
    CHECK(tag_of(j, "greentrack.host.cpu") != NULL);
    CHECK(tag_of(j, "greentrack.host.sockets") != NULL);
    CHECK_EQ_STR(tag_of(j, "greentrack.host.gpus"), "0");
    CHECK(tag_of(j, "greentrack.host.ram_gb") != NULL);
    CHECK(tag_of(j, "greentrack.host.os") != NULL);
    CHECK(tag_of(j, "greentrack.host.hostname") != NULL);
    CHECK_EQ_STR(cJSON_GetStringValue(it_path(j, "run/info/status")),
                 "FINISHED");
    cJSON_Delete(j);

    gt_stats stats;
    gt_client_stats(c, &stats);
    CHECK_EQ_INT(stats.sent, 1); /* the metric: energy is counted apart */
    CHECK(stats.energy_sent >= 2);
    CHECK_EQ_INT(stats.energy_dropped, 0);
    gt_client_free(c);
}

/* Two runs open at once both get the machine's energy (node scope). */
static void test_two_runs(struct it_server *s)
{
    char a[64], b[64];
    gt_run *ra, *rb;
    gt_client *c = client_new(s);
    CHECK_EQ_INT(gt_run_start(c, "energy", "a", &ra), GT_OK);
    snprintf(a, sizeof a, "%s", gt_run_id(ra));
    CHECK(wait_tag(s, c, a, "greentrack.host.cpu"));
    set_rapl(rapl_uj + 1000e6); /* a alone: 1000 J */
    CHECK_EQ_INT(gt_run_start(c, "energy", "b", &rb), GT_OK);
    snprintf(b, sizeof b, "%s", gt_run_id(rb));
    set_rapl(rapl_uj + 500e6); /* both: 500 J */
    CHECK_EQ_INT(gt_run_end(ra, GT_RUN_FINISHED), GT_OK);
    set_rapl(rapl_uj + 200e6); /* b alone: 200 J */
    CHECK_EQ_INT(gt_run_end(rb, GT_RUN_FINISHED), GT_OK);
    cJSON *j = carbon(s, a);
    CHECK(near(num(j, "cpu_kwh"), 1500.0 / 3.6e6));
    cJSON_Delete(j);
    j = carbon(s, b);
    CHECK(near(num(j, "cpu_kwh"), 700.0 / 3.6e6));
    cJSON_Delete(j);
    gt_client_free(c);
}

static void test_energy_off(struct it_server *s)
{
    char id[64], id2[64];
    gt_run *run;
    setenv("GREENTRACK_ENERGY", "off", 1);
    gt_client *c = client_new(s);
    unsetenv("GREENTRACK_ENERGY");
    CHECK_EQ_INT(gt_run_start(c, "energy", "off", &run), GT_OK);
    snprintf(id, sizeof id, "%s", gt_run_id(run));
    gt_energy e;
    CHECK_EQ_INT(gt_run_energy(run, &e), GT_E_NOT_FOUND);
    set_rapl(rapl_uj + 100e6);
    CHECK_EQ_INT(gt_run_end(run, GT_RUN_FINISHED), GT_OK);
    gt_client_free(c);

    /* the setter wins over the environment (which says on here) */
    c = client_new(s);
    CHECK_EQ_INT(gt_client_set_energy(c, 0), GT_OK);
    CHECK_EQ_INT(gt_client_set_energy_interval_ms(c, 5), GT_E_INVALID);
    CHECK_EQ_INT(gt_client_set_energy_scope(c, (gt_energy_scope)7, 0),
                 GT_E_INVALID);
    /* re-rooting is for process scope only, and needs a real pid */
    CHECK_EQ_INT(gt_client_set_energy_root(c, (long)getpid()), GT_E_INVALID);
    CHECK_EQ_INT(gt_client_set_energy_scope(c, GT_ENERGY_PROCESS, 0), GT_OK);
    CHECK_EQ_INT(gt_client_set_energy_root(c, 0), GT_E_INVALID);
    CHECK_EQ_INT(gt_client_set_energy_root(c, (long)getpid()), GT_OK);
    CHECK_EQ_INT(gt_client_set_energy_scope(c, GT_ENERGY_NODE, 0), GT_OK);
    CHECK_EQ_INT(gt_run_start(c, "energy", "off2", &run), GT_OK);
    snprintf(id2, sizeof id2, "%s", gt_run_id(run));
    /* settings cannot change under a measured run; this one is not */
    CHECK_EQ_INT(gt_run_end(run, GT_RUN_FINISHED), GT_OK);
    gt_stats stats;
    gt_client_stats(c, &stats);
    CHECK_EQ_INT(stats.energy_sent, 0);
    gt_client_free(c);

    for (int k = 0; k < 2; k++) {
        const char *rid = k ? id2 : id;
        cJSON *j = carbon(s, rid);
        CHECK_EQ_INT((int)num(j, "samples"), 0);
        cJSON_Delete(j);
        j = it_run_get(s, rid);
        CHECK(tag_of(j, "greentrack.host.cpu") == NULL);
        CHECK(tag_of(j, "greentrack.country") == NULL);
        cJSON_Delete(j);
    }
}

/* Samples taken while the server is down wait in the spool. */
static void test_spooled(struct it_server *s)
{
    char id[64];
    gt_run *run;
    gt_client *c = client_new(s);
    gt_client_set_flush_timeout_ms(c, 500);
    CHECK_EQ_INT(gt_run_start(c, "energy", "spooled", &run), GT_OK);
    snprintf(id, sizeof id, "%s", gt_run_id(run));
    CHECK(wait_tag(s, c, id, "greentrack.host.cpu"));
    it_server_kill(s, SIGKILL);
    set_rapl(rapl_uj + 7200e6); /* 0.002 kWh */
    gt_energy e;
    CHECK_EQ_INT(gt_run_energy(run, &e), GT_OK);
    CHECK(near(e.cpu_j, 7200.0));
    gt_status st = gt_run_end(run, GT_RUN_FINISHED);
    CHECK(st == GT_E_TIMEOUT || st == GT_OK);
    gt_client_free(c);

    CHECK_EQ_INT(it_server_start(s), 0);
    c = client_new(s);
    CHECK_EQ_INT(gt_spool_replay(c, NULL, NULL, LONG_WAIT_MS), GT_OK);
    gt_client_free(c);
    cJSON *j = carbon(s, id);
    CHECK(near(num(j, "cpu_kwh"), 7200.0 / 3.6e6));
    cJSON_Delete(j);
    char status[32];
    CHECK_EQ_STR(it_run_status(s, id, status, sizeof status), "FINISHED");
}

static void test_unknown_location(struct it_server *s)
{
    char id[64];
    gt_run *run;
    unsetenv("GREENTRACK_COUNTRY");
    gt_client *c = client_new(s);
    setenv("GREENTRACK_COUNTRY", "FRA", 1);
    CHECK_EQ_INT(gt_run_start(c, "energy", "nowhere", &run), GT_OK);
    snprintf(id, sizeof id, "%s", gt_run_id(run));
    CHECK(wait_tag(s, c, id, "greentrack.host.cpu"));
    set_rapl(rapl_uj + 36e6);
    CHECK_EQ_INT(gt_run_end(run, GT_RUN_FINISHED), GT_OK);
    gt_client_free(c);
    cJSON *j = carbon(s, id);
    CHECK(cJSON_IsFalse(it_path(j, "location/known")));
    CHECK(near(num(j, "intensity_g_per_kwh"), 475.0));
    CHECK(near(num(j, "co2_g"), num(j, "energy_kwh") * 475.0));
    cJSON_Delete(j);
}

/*---- cloud instance metadata: a loopback fake ----*/

enum fake_mode { FAKE_GCP, FAKE_AWS, FAKE_SILENT };

struct fake_md {
    int fd, port;
    enum fake_mode mode;
    atomic_bool stop;
    pthread_t th;
    int requests;
};

static void reply(int fd, int status, const char *body)
{
    char buf[1024];
    int n = snprintf(buf, sizeof buf,
                     "HTTP/1.1 %d X\r\nContent-Type: text/plain\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                     status, strlen(body), body);
    if (write(fd, buf, (size_t)n) < 0) {
    }
}

static void *fake_main(void *arg)
{
    struct fake_md *f = arg;
    while (!atomic_load(&f->stop)) {
        struct pollfd p = {f->fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int c = accept(f->fd, NULL, NULL);
        if (c < 0)
            continue;
        char req[4096];
        size_t n = 0;
        req[0] = '\0';
        while (n < sizeof req - 1 && !strstr(req, "\r\n\r\n")) {
            struct pollfd q = {c, POLLIN, 0};
            if (poll(&q, 1, 1000) <= 0)
                break;
            ssize_t k = read(c, req + n, sizeof req - 1 - n);
            if (k <= 0)
                break;
            n += (size_t)k;
            req[n] = '\0';
        }
        req[n] = '\0';
        f->requests++;
        if (f->mode == FAKE_SILENT) {
            /* holds the connection without a word until the end */
            while (!atomic_load(&f->stop))
                it_sleep_ms(20);
        } else if (f->mode == FAKE_GCP &&
                   strncmp(req, "GET /computeMetadata/v1/instance/zone ", 38) ==
                       0 &&
                   strstr(req, "Metadata-Flavor: Google")) {
            reply(c, 200, "projects/123456/zones/europe-west1-b");
        } else if (f->mode == FAKE_AWS &&
                   strncmp(req, "PUT /latest/api/token ", 22) == 0 &&
                   strstr(req, "X-aws-ec2-metadata-token-ttl-seconds:")) {
            reply(c, 200, "tok-123");
        } else if (f->mode == FAKE_AWS &&
                   strncmp(req, "GET /latest/meta-data/placement/region ",
                           39) == 0 &&
                   strstr(req, "X-aws-ec2-metadata-token: tok-123")) {
            reply(c, 200, "eu-west-3");
        } else {
            reply(c, 404, "not found");
        }
        close(c);
    }
    return NULL;
}

static int fake_start(struct fake_md *f, enum fake_mode mode)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    memset(f, 0, sizeof *f);
    f->mode = mode;
    f->fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (f->fd < 0 || bind(f->fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(f->fd, 8) != 0 ||
        getsockname(f->fd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    f->port = ntohs(a.sin_port);
    atomic_init(&f->stop, false);
    return pthread_create(&f->th, NULL, fake_main, f);
}

static void fake_stop(struct fake_md *f)
{
    atomic_store(&f->stop, true);
    pthread_join(f->th, NULL);
    close(f->fd);
}

struct logsink {
    pthread_mutex_t mu;
    bool gave_up;
};

static void on_log(void *ud, gt_log_level level, const char *msg)
{
    struct logsink *l = ud;
    (void)level;
    pthread_mutex_lock(&l->mu);
    if (strstr(msg, "no cloud instance metadata answered"))
        l->gave_up = true;
    pthread_mutex_unlock(&l->mu);
}

static void cloud_case(struct it_server *s, enum fake_mode mode,
                       const char *provider, const char *region)
{
    struct fake_md f;
    char url[64], id[64];
    gt_run *run;
    struct logsink sink;
    pthread_mutex_init(&sink.mu, NULL);
    sink.gave_up = false;
    CHECK_EQ_INT(fake_start(&f, mode), 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", f.port);
    setenv("GREENTRACK_CLOUD_METADATA_URL", url, 1);
    gt_client *c = client_new(s);
    gt_client_set_log_callback(c, on_log, &sink);
    setenv("GREENTRACK_CLOUD_METADATA_URL", "off", 1);
    CHECK_EQ_INT(gt_run_start(c, "energy", "cloud", &run), GT_OK);
    snprintf(id, sizeof id, "%s", gt_run_id(run));
    if (provider) {
        CHECK(wait_tag(s, c, id, "greentrack.cloud_region"));
    } else {
        /* detection gives up by itself (the fake never answers) */
        bool gave_up = false;
        int64_t until = it_mono_ms() + LONG_WAIT_MS;
        while (!gave_up && it_mono_ms() < until) {
            pthread_mutex_lock(&sink.mu);
            gave_up = sink.gave_up;
            pthread_mutex_unlock(&sink.mu);
            if (!gave_up)
                it_sleep_ms(25);
        }
        CHECK(gave_up);
    }
    set_rapl(rapl_uj + 36e6);
    CHECK_EQ_INT(gt_log_metric(run, "m", 1, 0), GT_OK);
    CHECK_EQ_INT(gt_run_end(run, GT_RUN_FINISHED), GT_OK);
    gt_client_free(c);
    fake_stop(&f);
    CHECK(f.requests >= 1);

    cJSON *j = it_run_get(s, id);
    CHECK_EQ_STR(cJSON_GetStringValue(it_path(j, "run/info/status")),
                 "FINISHED");
    if (provider) {
        CHECK_EQ_STR(tag_of(j, "greentrack.cloud_provider"), provider);
        CHECK_EQ_STR(tag_of(j, "greentrack.cloud_region"), region);
    } else {
        CHECK(tag_of(j, "greentrack.cloud_provider") == NULL);
        CHECK(tag_of(j, "greentrack.cloud_region") == NULL);
    }
    cJSON_Delete(j);
    j = carbon(s, id);
    CHECK(num(j, "cpu_kwh") > 0);
    if (provider)
        CHECK_EQ_STR(cJSON_GetStringValue(it_path(j, "location/cloud_region")),
                     region);
    cJSON_Delete(j);
}

int main(void)
{
    struct it_server s;
    char tmp[900];
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (it_server_new(&s, "energy") != 0 || it_server_start(&s) != 0) {
        fprintf(stderr, "cannot start the server\n");
        CHECK(0);
        TEST_MAIN_END("itest_client_energy");
    }
    CHECK(it_tmpdir(tmp, sizeof tmp, "energy-trees") == 0);
    snprintf(spool_dir, sizeof spool_dir, "%s/spool", tmp);
    snprintf(sysfs, sizeof sysfs, "%s/sys", tmp);
    snprintf(procfs, sizeof procfs, "%s/proc", tmp);
    make_trees();
    setenv("GREENTRACK_SYSFS_ROOT", sysfs, 1);
    setenv("GREENTRACK_PROCFS_ROOT", procfs, 1);
    setenv("GREENTRACK_NVML_LIB", "/nonexistent/libnvidia-ml.so.1", 1);
    setenv("GREENTRACK_ENERGY_INTERVAL_MS", "20", 1);
    setenv("GREENTRACK_CLOUD_METADATA_URL", "off", 1);
    setenv("GREENTRACK_COUNTRY", "FRA", 1);
    setenv("GREENTRACK_ZONE", "FR", 1);
    setenv("GREENTRACK_PUE", "7", 1); /* invalid: WARN, not sent */
    unsetenv("GREENTRACK_ENERGY");
    unsetenv("GREENTRACK_REGION");
    unsetenv("GREENTRACK_CLOUD_PROVIDER");
    unsetenv("GREENTRACK_CLOUD_REGION");
    unsetenv("GREENTRACK_ENERGY_SCOPE");
    it_spool_env(spool_dir);

    test_known_energy(&s);
    test_two_runs(&s);
    test_energy_off(&s);
    test_unknown_location(&s);
    unsetenv("GREENTRACK_COUNTRY");
    cloud_case(&s, FAKE_GCP, "gcp", "europe-west1");
    cloud_case(&s, FAKE_AWS, "aws", "eu-west-3");
    cloud_case(&s, FAKE_SILENT, NULL, NULL);
    setenv("GREENTRACK_COUNTRY", "FRA", 1);
    test_spooled(&s);

    it_server_free(&s);
    it_rm_rf(tmp);
    TEST_MAIN_END("itest_client_energy");
}
