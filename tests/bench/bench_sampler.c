/* SPDX-License-Identifier: MIT
 *
 * bench_sampler: the cost of libgreentrack's energy sampling
 * (energy_meter_sample), which runs every GREENTRACK_ENERGY_INTERVAL_MS
 * (default 1000) inside the user's program.
 *   baseline  open + read + close of one sysfs-style file (a fake
 *             energy_uj on the same filesystem as the fake tree), and of
 *             one real sysfs file;
 *   node      one sample on a fake 2-package Intel tree (core, uncore,
 *             dram, psys, an MMIO copy) with 8 GPUs of the fake NVML
 *             (libfake_nvml.so next to bench's tests/ dir) and the real
 *             /proc: CPU time per sample, and the share of one core that
 *             costs at a 1 s interval (target < 0.1 %);
 *   process   the same in process scope (this process's tree in the real
 *             /proc, walked every sample).
 * --real: the real /sys, /proc and libnvidia-ml.so.1 (CUDA_VISIBLE_DEVICES
 * honoured): per-GPU methods and joules over a 2 s window sampled every
 * 100 ms, the cost of a real sample and of a take (which also reads the
 * GPU energy counters), and of a sample without GPUs; for a GPU machine.
 * Prints "RESULT name value target meets" lines for tests/bench/run.sh.
 * Exit 0; 1 when a check did not hold; 2 on a usage or setup error.
 */
#include "../../client/src/probes/probes_int.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int failed;
static char root[256];

static void report(const char *name, double value, const char *target,
                   int meets)
{
    printf("RESULT %s %.*f %s %s\n", name,
           value >= 1000 ? 0 : (value < 1 ? 5 : 3), value,
           target ? target : "-", meets < 0 ? "-" : (meets ? "yes" : "NO"));
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_log(void *ud, int level, const char *msg)
{
    (void)ud;
    if (level <= GT_LOG_WARN || getenv("BENCH_VERBOSE")) {
        fprintf(stderr, "probes[%d]: %s\n", level, msg);
    }
}

/*---- the fake tree ----*/

static void put(const char *rel, const char *text)
{
    char path[1024];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", root, rel);
    for (char *p = path + strlen(root) + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0755);
            *p = '/';
        }
    }
    f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "bench_sampler: cannot write %s\n", path);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
}

static void zone(const char *dir, const char *name)
{
    char rel[256], text[64];
    snprintf(rel, sizeof rel, "sys/class/powercap/%s/name", dir);
    snprintf(text, sizeof text, "%s\n", name);
    put(rel, text);
    snprintf(rel, sizeof rel, "sys/class/powercap/%s/energy_uj", dir);
    put(rel, "123456789012\n");
    snprintf(rel, sizeof rel, "sys/class/powercap/%s/max_energy_range_uj", dir);
    put(rel, "262143328850\n");
}

static void build_tree(void)
{
    zone("intel-rapl:0", "package-0");
    zone("intel-rapl:0:0", "core");
    zone("intel-rapl:0:1", "uncore");
    zone("intel-rapl:0:2", "dram");
    zone("intel-rapl:1", "package-1");
    zone("intel-rapl:1:0", "core");
    zone("intel-rapl:1:2", "dram");
    zone("intel-rapl:2", "psys");
    zone("intel-rapl-mmio:0", "package-0");
}

/*---- measurements ----*/

static double one_file_us(const char *path, long n)
{
    char buf[64];
    double t0 = cpu_s();
    for (long i = 0; i < n; i++) {
        if (fs_read_small(path, buf, sizeof buf) < 0) {
            return -1;
        }
    }
    return (cpu_s() - t0) / (double)n * 1e6;
}

/* CPU microseconds per energy_meter_sample over 'n' samples. */
static double sample_us(struct energy_meter *m, long n)
{
    double t0;
    energy_meter_sample(m); /* warm */
    t0 = cpu_s();
    for (long i = 0; i < n; i++) {
        energy_meter_sample(m);
    }
    return (cpu_s() - t0) / (double)n * 1e6;
}

static int run_fake(long n, const char *fake_nvml)
{
    char sys[512], energy[600];
    struct probe_config c;
    struct energy_meter *m;
    struct energy_window w;
    double base, base_sys, node, proc;
    snprintf(sys, sizeof sys, "%s/sys", root);
    snprintf(energy, sizeof energy, "%s/class/powercap/intel-rapl:0/energy_uj",
             sys);
    build_tree();
    setenv("FAKE_NVML_GPUS", "8", 1);
    setenv("FAKE_NVML_MODE", "energy", 1);

    base = one_file_us(energy, n);
    base_sys = one_file_us("/sys/devices/system/cpu/online", n);
    report("sampler.read_one_file_us", base, NULL, -1);
    if (base_sys >= 0) {
        report("sampler.read_one_sysfs_file_us", base_sys, NULL, -1);
    }

    memset(&c, 0, sizeof c);
    c.sysfs_root = sys;
    c.nvml_lib = fake_nvml;
    c.log = on_log;
    m = energy_meter_open(&c);
    if (!m) {
        return 2;
    }
    node = sample_us(m, n);
    energy_meter_take(m, &w);
    if (strcmp(w.cpu_method, "rapl") != 0 ||
        strcmp(w.gpu_method, "nvml-energy") != 0 || !(w.gpu_j > 0)) {
        fprintf(stderr, "bench_sampler: node meter: cpu %s, gpu %s %.3f J\n",
                w.cpu_method, w.gpu_method, w.gpu_j);
        failed = 1;
    }
    energy_meter_close(m);
    report("sampler.node_us_per_sample", node, NULL, -1);
    report("sampler.node_vs_one_file", node / base, NULL, -1);
    report("sampler.node_core_pct_at_1s", node / 1e6 * 100, "<0.1",
           node / 1e6 * 100 < 0.1);

    c.scope = ENERGY_SCOPE_PROCESS;
    m = energy_meter_open(&c);
    if (!m) {
        return 2;
    }
    proc = sample_us(m, n);
    energy_meter_take(m, &w);
    if (strcmp(w.scope, "process") != 0 || !(w.ram_j > 0)) {
        fprintf(stderr, "bench_sampler: process meter: scope %s, ram %.6f J\n",
                w.scope, w.ram_j);
        failed = 1;
    }
    energy_meter_close(m);
    report("sampler.process_us_per_sample", proc, NULL, -1);
    report("sampler.process_core_pct_at_1s", proc / 1e6 * 100, "<0.1",
           proc / 1e6 * 100 < 0.1);
    return 0;
}

/*---- --real ----*/

static int run_real(long n)
{
    struct probe_config c;
    struct energy_meter *m;
    struct energy_window w;
    struct host_facts hf;
    const char *cvd = getenv("CUDA_VISIBLE_DEVICES");
    const char *name, *uuid, *method;
    double j, us;
    struct timespec pause = {0, 100000000};
    memset(&c, 0, sizeof c);
    c.cuda_visible_devices = cvd;
    c.cuda_visible_set = cvd != NULL;
    c.log = on_log;
    setenv("BENCH_VERBOSE", "1", 1);
    m = energy_meter_open(&c);
    if (!m) {
        return 2;
    }
    energy_meter_host_facts(m, &hf);
    printf("host: cpu \"%s\" x %d socket(s), %d logical, %.1f GiB, %s, %s\n",
           hf.cpu, hf.sockets, hf.logical_cpus, hf.ram_gb, hf.os, hf.hostname);
    printf("host: %d GPU(s), first \"%s\"\n", hf.gpus, hf.gpu_model);
    for (int i = 0; i < 20; i++) {
        nanosleep(&pause, NULL);
        energy_meter_sample(m);
    }
    energy_meter_take(m, &w);
    printf("window: %lld ms, cpu %.3f J (%s), gpu %.3f J (%s), ram %.3f J "
           "(%s), scope %s\n",
           (long long)(w.end_ms - w.start_ms), w.cpu_j, w.cpu_method, w.gpu_j,
           w.gpu_method, w.ram_j, w.ram_method, w.scope);
    for (size_t i = 0; energy_meter_gpu(m, i, &name, &uuid, &method, &j); i++) {
        printf("gpu %zu: %s %s %s %.3f J (%.1f W average)\n", i, name, uuid,
               method, j, j / ((double)(w.end_ms - w.start_ms) / 1000));
    }
    us = sample_us(m, n);
    {
        /* a take also reads the GPU energy counters */
        double t0 = cpu_s();
        for (int i = 0; i < 20; i++) {
            energy_meter_take(m, &w);
        }
        report("sampler.real_take_us", (cpu_s() - t0) / 20 * 1e6, NULL, -1);
    }
    report("sampler.real_us_per_sample", us, NULL, -1);
    report("sampler.real_core_pct_at_1s", us / 1e6 * 100, "<0.1",
           us / 1e6 * 100 < 0.1);
    energy_meter_close(m);
    /* the same without GPUs: what the CPU and RAM side costs */
    c.cuda_visible_devices = "";
    c.cuda_visible_set = true;
    m = energy_meter_open(&c);
    if (!m) {
        return 2;
    }
    report("sampler.real_no_gpu_us_per_sample", sample_us(m, n), NULL, -1);
    energy_meter_close(m);
    return 0;
}

static int rm_tree(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

int main(int argc, char **argv)
{
    long n = 20000;
    bool real = false;
    char exe[1024], fake_nvml[1100];
    ssize_t len;
    int rc;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--smoke") == 0) {
            n = 200;
        } else if (strcmp(argv[i], "--real") == 0) {
            real = true;
        } else if (strcmp(argv[i], "--samples") == 0 && i + 1 < argc) {
            n = strtol(argv[++i], NULL, 10);
        } else {
            fprintf(stderr, "usage: bench_sampler [--smoke] [--real] "
                            "[--samples N]\n");
            return 2;
        }
    }
    if (n < 1) {
        n = 1;
    }
    if (real) {
        return run_real(n < 2000 ? n : 2000) ? 2 : failed;
    }
    len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) {
        return 2;
    }
    exe[len] = '\0';
    /* $(BUILD)/bench/bench_sampler -> $(BUILD)/tests/libfake_nvml.so */
    snprintf(fake_nvml, sizeof fake_nvml, "%s/../tests/libfake_nvml.so",
             dirname(exe));
    if (access(fake_nvml, R_OK) != 0) {
        fprintf(stderr, "bench_sampler: %s is missing (make test-bins)\n",
                fake_nvml);
        return 2;
    }
    snprintf(root, sizeof root, "%s/gt-sampler-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(root)) {
        fprintf(stderr, "bench_sampler: mkdtemp: %d\n", errno);
        return 2;
    }
    rc = run_fake(n, fake_nvml);
    if (rm_tree(root) != 0) {
        fprintf(stderr, "bench_sampler: could not remove %s\n", root);
    }
    return rc ? rc : failed;
}
