/* SPDX-License-Identifier: MIT
 *
 * test_client_probes: libgreentrack's energy probes (client/src/probes)
 * against fake sysfs/procfs trees built in a temporary directory and the
 * fake NVML library tests/fakes/fake_nvml.c ($(BUILD)/tests/
 * libfake_nvml.so, found next to this binary). A test clock makes every
 * expected joule exact; the expected values are worked out in comments.
 * Real-NVML checks run only where libnvidia-ml.so.1 loads (else skipped).
 */
#define _XOPEN_SOURCE 700 /* nftw */

#include "probes/probes_int.h"
#include "test.h"

#include <dlfcn.h>
#include <errno.h>
#include <ftw.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[256];       /* the temporary directory */
static char fake_nvml[1024]; /* path of libfake_nvml.so */
static int64_t now_us;       /* the test clock */

static int64_t test_clock(void *ud)
{
    (void)ud;
    return now_us;
}

/*---- log capture ----*/

struct logcap {
    int n;
    int n_energy_uj; /* messages that name energy_uj */
    int n_nvml;      /* messages that start with "GPU" or "NVML" */
    int n_warn;
    char last[1024];
    char rapl_msg[1024];
};

static void on_log(void *ud, int level, const char *msg)
{
    struct logcap *c = ud;
    c->n++;
    c->n_warn += level == GT_LOG_WARN;
    if (strstr(msg, "energy_uj")) {
        c->n_energy_uj++;
        snprintf(c->rapl_msg, sizeof c->rapl_msg, "%s", msg);
    }
    if (strncmp(msg, "GPU", 3) == 0 || strncmp(msg, "NVML", 4) == 0) {
        c->n_nvml++;
    }
    snprintf(c->last, sizeof c->last, "%s", msg);
    if (getenv("PROBES_VERBOSE")) {
        fprintf(stderr, "log[%d]: %s\n", level, msg);
    }
}

/*---- fake trees ----*/

static void mkdirs(const char *path)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(tmp, 0755);
            *p = '/';
        }
    }
    mkdir(tmp, 0755);
}

/* Writes 'fmt' to <root>/<rel> in place (the probes keep some files open,
 * so the inode must stay the same), creating directories. */
static void put(const char *rel, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void put(const char *rel, const char *fmt, ...)
{
    char path[1024], dir[1024];
    FILE *f;
    va_list ap;
    snprintf(path, sizeof path, "%s/%s", root, rel);
    snprintf(dir, sizeof dir, "%s", path);
    mkdirs(dirname(dir));
    f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fclose(f);
}

static int rm_one(const char *p, const struct stat *sb, int flag,
                  struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

/* Empties the temporary directory (a fresh tree per test). */
static void reset_tree(void)
{
    nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    mkdir(root, 0700);
}

static void zone(const char *dir, const char *name, unsigned long long uj,
                 unsigned long long max_uj)
{
    char rel[512];
    snprintf(rel, sizeof rel, "sys/class/powercap/%s/name", dir);
    put(rel, "%s\n", name);
    snprintf(rel, sizeof rel, "sys/class/powercap/%s/energy_uj", dir);
    put(rel, "%llu\n", uj);
    snprintf(rel, sizeof rel, "sys/class/powercap/%s/max_energy_range_uj", dir);
    put(rel, "%llu\n", max_uj);
}

static void set_uj(const char *dir, unsigned long long uj)
{
    char rel[512];
    snprintf(rel, sizeof rel, "sys/class/powercap/%s/energy_uj", dir);
    put(rel, "%llu\n", uj);
}

/* /proc/stat's first line: user nice system idle iowait irq softirq steal. */
static void put_stat(unsigned long long user, unsigned long long system,
                     unsigned long long idle, unsigned long long iowait)
{
    put("proc/stat",
        "cpu  %llu 0 %llu %llu %llu 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\n"
        "intr 1 2 3\nctxt 100\n",
        user, system, idle, iowait);
}

static void put_cpuinfo(const char *model, int sockets, int per_socket)
{
    char rel[] = "proc/cpuinfo";
    char text[8192];
    size_t n = 0;
    for (int s = 0; s < sockets; s++) {
        for (int c = 0; c < per_socket; c++) {
            n += (size_t)snprintf(text + n, sizeof text - n,
                                  "processor\t: %d\nvendor_id\t: x\n"
                                  "model name\t: %s\nphysical id\t: %d\n"
                                  "core id\t\t: %d\n\n",
                                  s * per_socket + c, model, s, c);
        }
    }
    put(rel, "%s", text);
}

static void put_meminfo(unsigned long long kb)
{
    put("proc/meminfo", "MemTotal:       %llu kB\nMemFree:  1000 kB\n", kb);
}

/* A /proc/<pid>/stat line; the comm holds a space and parentheses. */
static void put_pid(int pid, int ppid, unsigned long long utime,
                    unsigned long long stime, unsigned long long start,
                    unsigned long long rss_pages)
{
    char rel[64];
    snprintf(rel, sizeof rel, "proc/%d/stat", pid);
    put(rel,
        "%d (my (train) job) S %d %d %d 0 -1 4194304 10 0 0 0 %llu %llu 0 0 "
        "20 0 1 0 %llu 100000 %llu 18446744073709551615 1 2 3 4 0 0 0 0 0 "
        "0 0 0 17 1 0 0 0 0 0\n",
        pid, ppid, pid, pid, utime, stime, start, rss_pages);
}

static struct probe_config config(struct logcap *lc)
{
    static char sys[512], proc[512];
    struct probe_config c;
    memset(&c, 0, sizeof c);
    snprintf(sys, sizeof sys, "%s/sys", root);
    snprintf(proc, sizeof proc, "%s/proc", root);
    c.sysfs_root = sys;
    c.procfs_root = proc;
    c.nvml_lib = "/nonexistent/libnvidia-ml.so.1";
    c.scope = ENERGY_SCOPE_NODE;
    c.log = on_log;
    c.log_userdata = lc;
    return c;
}

/* A plain machine: 1 socket x 4 CPUs of an unknown model, 16 GiB. */
static void base_procfs(void)
{
    put_stat(100, 100, 800, 0);
    put_cpuinfo("Mystery CPU 9000", 1, 4);
    put_meminfo(16ull * 1024 * 1024);
}

/*---- RAPL ----*/

static void test_rapl_zones(void)
{
    struct logcap lc = {0};
    struct probe_config c;
    struct energy_meter *m;
    struct energy_window w;
    const unsigned long long big = 262143328850ull;
    reset_tree();
    base_procfs();
    /* control-type dirs, a 2-package Intel server with core/uncore/dram
     * sub-zones, a psys zone, a top-level dram zone and an MMIO copy of
     * package-0 */
    put("sys/class/powercap/intel-rapl/enabled", "1\n");
    put("sys/class/powercap/intel-rapl-mmio/enabled", "1\n");
    zone("intel-rapl:0", "package-0", 1000000, big);
    zone("intel-rapl:0:0", "core", 500000, big);
    zone("intel-rapl:0:1", "uncore", 100000, big);
    zone("intel-rapl:0:2", "dram", 100000, big);
    zone("intel-rapl:1", "package-1", 2000000, big);
    zone("intel-rapl:1:0", "core", 500000, big);
    zone("intel-rapl:2", "psys", 9000000, big);
    zone("intel-rapl:3", "dram", 9000000, big);
    zone("intel-rapl-mmio:0", "package-0", 7000000, big);
    c = config(&lc);
    now_us = 1000000;
    m = energy_meter_open_clock(&c, test_clock, NULL);
    CHECK(m != NULL);
    if (!m) {
        return;
    }
    CHECK_NEAR(energy_meter_tdp_w(m, NULL), 0, 0);
    /* package-0 +3 J, package-1 +5 J; everything else moves a lot and must
     * not count: expected 8 J exactly */
    set_uj("intel-rapl:0", 4000000);
    set_uj("intel-rapl:1", 7000000);
    set_uj("intel-rapl:0:0", 90000000);
    set_uj("intel-rapl:0:1", 90000000);
    set_uj("intel-rapl:0:2", 90000000);
    set_uj("intel-rapl:1:0", 90000000);
    set_uj("intel-rapl:2", 990000000);
    set_uj("intel-rapl:3", 990000000);
    set_uj("intel-rapl-mmio:0", 990000000);
    now_us += 1000000;
    energy_meter_take(m, &w);
    CHECK_NEAR(w.cpu_j, 8.0, 1e-9);
    CHECK_EQ_STR(w.cpu_method, "rapl");
    CHECK_EQ_STR(w.scope, "node");
    CHECK_EQ_INT(lc.n_energy_uj, 0);
    /* a failed read is skipped; the energy shows up at the next one */
    put("sys/class/powercap/intel-rapl:1/energy_uj", "garbage\n");
    set_uj("intel-rapl:0", 5000000); /* +1 J */
    now_us += 1000000;
    energy_meter_sample(m);
    set_uj("intel-rapl:1", 9000000); /* +2 J over two intervals */
    now_us += 1000000;
    energy_meter_take(m, &w);
    CHECK_NEAR(w.cpu_j, 3.0, 1e-9);
    energy_meter_close(m);

    /* no package zone: psys alone is used */
    reset_tree();
    base_procfs();
    zone("intel-rapl:0", "psys", 1000000, big);
    zone("intel-rapl:1", "dram", 1000000, big);
    c = config(&lc);
    m = energy_meter_open_clock(&c, test_clock, NULL);
    set_uj("intel-rapl:0", 3500000);
    set_uj("intel-rapl:1", 9500000);
    now_us += 1000000;
    energy_meter_take(m, &w);
    CHECK_NEAR(w.cpu_j, 2.5, 1e-9);
    CHECK_EQ_STR(w.cpu_method, "rapl");
    energy_meter_close(m);
}

static void test_rapl_wrap(void)
{
    struct logcap lc = {0};
    struct probe_config c;
    struct energy_meter *m;
    struct energy_window w;
    reset_tree();
    base_procfs();
    /* range 1000 J; start 999 J */
    zone("intel-rapl:0", "package-0", 999000000, 1000000000);
    c = config(&lc);
    now_us = 5000000;
    m = energy_meter_open_clock(&c, test_clock, NULL);
    set_uj("intel-rapl:0", 999500000); /* +0.5 J */
    now_us += 1000000;
    energy_meter_sample(m);
    set_uj("intel-rapl:0", 200000); /* wrap: +0.5 J to the top, +0.2 J */
    now_us += 1000000;
    energy_meter_sample(m);
    set_uj("intel-rapl:0", 1200000); /* +1 J */
    now_us += 1000000;
    energy_meter_take(m, &w);
    /* 0.5 + 0.7 + 1.0 = 2.2 J */
    CHECK_NEAR(w.cpu_j, 2.2, 1e-9);
    CHECK_EQ_INT(lc.n_warn, 0);
    energy_meter_close(m);

    /* a wrap with an unreadable range: what came after it, one warning */
    reset_tree();
    base_procfs();
    zone("intel-rapl:0", "package-0", 900000000, 0);
    put("sys/class/powercap/intel-rapl:0/max_energy_range_uj", "n/a\n");
    memset(&lc, 0, sizeof lc);
    c = config(&lc);
    m = energy_meter_open_clock(&c, test_clock, NULL);
    set_uj("intel-rapl:0", 300000);
    now_us += 1000000;
    energy_meter_sample(m);
    set_uj("intel-rapl:0", 100000);
    now_us += 1000000;
    energy_meter_take(m, &w);
    CHECK_NEAR(w.cpu_j, 0.4, 1e-9);
    CHECK_EQ_INT(lc.n_warn, 1);
    energy_meter_close(m);
}

/* energy_uj unreadable: one WARN with the fix, then the TDP estimate. As
 * root chmod 000 does not stop a read, so energy_uj is made a directory
 * (read fails with EISDIR) or a dangling symlink (open fails). */
static void test_rapl_unreadable(void)
{
    for (int variant = 0; variant < 2; variant++) {
        struct logcap lc = {0};
        struct probe_config c;
        struct energy_meter *m;
        struct energy_window w;
        char path[1024];
        reset_tree();
        base_procfs();
        zone("intel-rapl:0", "package-0", 1000, 262143328850ull);
        zone("intel-rapl:1", "package-1", 1000, 262143328850ull);
        snprintf(path, sizeof path,
                 "%s/sys/class/powercap/intel-rapl:1/energy_uj", root);
        unlink(path);
        if (variant == 0) {
            CHECK(mkdir(path, 0755) == 0);
        } else {
            CHECK(symlink("/nonexistent/energy_uj", path) == 0);
        }
        c = config(&lc);
        now_us = 1000000;
        m = energy_meter_open_clock(&c, test_clock, NULL);
        for (int i = 0; i < 3; i++) {
            now_us += 1000000;
            energy_meter_sample(m);
        }
        now_us += 1000000;
        energy_meter_take(m, &w);
        CHECK_EQ_STR(w.cpu_method, "tdp-estimate");
        CHECK_EQ_INT(lc.n_energy_uj, 1);
        CHECK(strstr(lc.rapl_msg, "chmod a+r") != NULL);
        CHECK(strstr(lc.rapl_msg, "intel-rapl:1/energy_uj") != NULL);
        /* 85 W (unknown model), load 0 (stat unchanged): 8.5 W x 4 s */
        CHECK_NEAR(w.cpu_j, 34.0, 1e-9);
        energy_meter_close(m);
    }
}

/*---- TDP ----*/

static void test_tdp_lookup(void)
{
    double w = 0;
    const char *name = NULL;
    static const struct cpu_tdp_entry tiny[] = {
        {"Foo X1", 10}, {"Foo X1 Pro", 20}, {"Bar Z9", 30}};
    CHECK(cpu_tdp_table_count > 4000);
    CHECK_EQ_INT(tdp_lookup(cpu_tdp_table, cpu_tdp_table_count,
                            "Intel Xeon Gold 6148", &w, &name),
                 TDP_EXACT);
    CHECK_NEAR(w, 150, 0);
    CHECK_EQ_STR(name, "Intel Xeon Gold 6148");
    CHECK_EQ_INT(tdp_lookup(cpu_tdp_table, cpu_tdp_table_count,
                            "intel  XEON gold 6148 ", &w, NULL),
                 TDP_EXACT);
    /* the table's name carries an invisible U+200B */
    CHECK_EQ_INT(tdp_lookup(cpu_tdp_table, cpu_tdp_table_count,
                            "AMD Ryzen 5 6600HS", &w, NULL),
                 TDP_EXACT);
    CHECK_NEAR(w, 35, 0);
    CHECK_EQ_INT(tdp_lookup(cpu_tdp_table, cpu_tdp_table_count,
                            "Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz", &w,
                            NULL),
                 TDP_NORMALISED);
    CHECK_NEAR(w, 150, 0);
    CHECK_EQ_INT(tdp_lookup(cpu_tdp_table, cpu_tdp_table_count,
                            "Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz", &w,
                            NULL),
                 TDP_NORMALISED);
    CHECK_NEAR(w, 65, 0);
    /* " CPU" dropped on both sides: the table says "Intel Xeon CPU Max" */
    CHECK_EQ_INT(tdp_lookup(cpu_tdp_table, cpu_tdp_table_count,
                            "Intel(R) Xeon(R) CPU Max 9460", &w, NULL),
                 TDP_NORMALISED);
    CHECK_NEAR(w, 350, 0);
    CHECK_EQ_INT(tdp_lookup(cpu_tdp_table, cpu_tdp_table_count,
                            "AMD EPYC 7763 64-Core Processor", &w, &name),
                 TDP_FUZZY);
    CHECK_NEAR(w, 280, 0);
    CHECK_EQ_STR(name, "AMD EPYC 7763");
    CHECK_EQ_INT(tdp_lookup(cpu_tdp_table, cpu_tdp_table_count,
                            "13th Gen Intel(R) Core(TM) i9-13900K", &w, NULL),
                 TDP_FUZZY);
    CHECK_NEAR(w, 125, 0);
    /* "AMD EPYC" is inside hundreds of names: ambiguous */
    CHECK_EQ_INT(
        tdp_lookup(cpu_tdp_table, cpu_tdp_table_count, "AMD EPYC", &w, NULL),
        TDP_NONE);
    CHECK_EQ_INT(tdp_lookup(cpu_tdp_table, cpu_tdp_table_count,
                            "Mystery CPU 9000", &w, NULL),
                 TDP_NONE);
    CHECK_EQ_INT(tdp_lookup(cpu_tdp_table, cpu_tdp_table_count, "", &w, NULL),
                 TDP_NONE);
    CHECK_EQ_INT(tdp_lookup(cpu_tdp_table, cpu_tdp_table_count, NULL, &w, NULL),
                 TDP_NONE);
    /* ties are unknown; a unique token-set match is taken */
    CHECK_EQ_INT(tdp_lookup(tiny, 3, "Foo X1 Pro Max", &w, NULL), TDP_NONE);
    CHECK_EQ_INT(tdp_lookup(tiny, 3, "Bar Z9 Turbo", &w, NULL), TDP_FUZZY);
    CHECK_NEAR(w, 30, 0);
    CHECK_EQ_INT(tdp_lookup(tiny, 3, "foo x1", &w, NULL), TDP_EXACT);
    CHECK_NEAR(w, 10, 0);
    /* the load curve */
    CHECK_NEAR(tdp_power_w(100, 0), 10, 1e-12);
    CHECK_NEAR(tdp_power_w(100, 1), 100, 1e-12);
    CHECK_NEAR(tdp_power_w(100, 0.5), 21.25, 1e-12);
    CHECK_NEAR(tdp_power_w(100, 7), 100, 1e-12);
    CHECK_NEAR(tdp_power_w(100, -1), 10, 1e-12);
}

static void test_tdp_meter(void)
{
    struct logcap lc = {0};
    struct probe_config c;
    struct energy_meter *m;
    struct energy_window w;
    struct host_facts hf;
    const char *matched = NULL;
    reset_tree();
    /* 2 sockets x 2 CPUs of a Xeon Gold 6148 (150 W per package); no
     * powercap at all; stat: total 1000 ticks, busy 200 */
    put_cpuinfo("Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz", 2, 2);
    put_meminfo(16ull * 1024 * 1024);
    put_stat(100, 100, 800, 0);
    c = config(&lc);
    now_us = 1700000000000000; /* the test clock is also the wall clock */
    m = energy_meter_open_clock(&c, test_clock, NULL);
    CHECK_NEAR(energy_meter_tdp_w(m, &matched), 300, 0); /* 150 x 2, once */
    CHECK_EQ_STR(matched, "Intel Xeon Gold 6148");
    /* +2 s: total 2000 (+1000), idle 1300 + iowait 100 -> busy 600 (+400):
     * u = 0.4; P = 300 x (0.1 + 0.9 x 0.064) = 47.28 W; x 2 s = 94.56 J.
     * RAM: 16 GiB -> 2 DIMMs -> 10 W x 2 s = 20 J */
    put_stat(400, 200, 1300, 100);
    now_us += 2000000;
    energy_meter_take(m, &w);
    CHECK_NEAR(w.cpu_j, 94.56, 1e-9);
    CHECK_NEAR(w.ram_j, 20, 1e-9);
    CHECK_NEAR(w.gpu_j, 0, 0);
    CHECK_EQ_STR(w.cpu_method, "tdp-estimate");
    CHECK_EQ_STR(w.ram_method, "ram-model");
    CHECK_EQ_STR(w.gpu_method, "none");
    CHECK_EQ_INT(w.start_ms, 1700000000000);
    CHECK_EQ_INT(w.end_ms, 1700000002000);
    /* the next window starts where this one ended; no tick passed since,
     * so the last load (0.4) is kept: 47.28 W x 0.5 s */
    now_us += 500000;
    energy_meter_take(m, &w);
    CHECK_EQ_INT(w.start_ms, 1700000002000);
    CHECK_EQ_INT(w.end_ms, 1700000002500);
    CHECK_NEAR(w.cpu_j, 23.64, 1e-9);
    CHECK_NEAR(w.ram_j, 5, 1e-9);
    energy_meter_host_facts(m, &hf);
    CHECK_EQ_STR(hf.cpu, "Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz");
    CHECK_EQ_INT(hf.sockets, 2);
    CHECK_EQ_INT(hf.logical_cpus, 4);
    CHECK_NEAR(hf.ram_gb, 16, 1e-12);
    CHECK_EQ_INT(hf.gpus, 0);
    CHECK_EQ_STR(hf.gpu_model, "");
    CHECK(strncmp(hf.os, "Linux ", 6) == 0);
    CHECK(hf.hostname[0] != '\0');
    energy_meter_close(m);

    /* unknown model on 2 sockets: 85 W for the node, not per socket;
     * u = 0.4 over 2 s: 85 x 0.1576 x 2 = 26.792 J */
    reset_tree();
    put_cpuinfo("Mystery CPU 9000", 2, 2);
    put_meminfo(16ull * 1024 * 1024);
    put_stat(100, 100, 800, 0);
    m = energy_meter_open_clock(&c, test_clock, NULL);
    CHECK_NEAR(energy_meter_tdp_w(m, &matched), 85, 0);
    CHECK_EQ_STR(matched, "");
    put_stat(400, 200, 1300, 100);
    now_us += 2000000;
    energy_meter_take(m, &w);
    CHECK_NEAR(w.cpu_j, 26.792, 1e-9);
    energy_meter_close(m);

    /* no cpuinfo, stat or meminfo at all: estimates, no crash */
    reset_tree();
    memset(&lc, 0, sizeof lc);
    m = energy_meter_open_clock(&c, test_clock, NULL);
    CHECK(m != NULL);
    if (!m) {
        return;
    }
    now_us += 1000000;
    energy_meter_take(m, &w);
    CHECK_NEAR(w.cpu_j, 8.5, 1e-9); /* 85 W x 0.1 x 1 s */
    CHECK_NEAR(w.ram_j, 10, 1e-9);  /* unknown size: 2 DIMMs */
    energy_meter_host_facts(m, &hf);
    CHECK_EQ_INT(hf.sockets, 1);
    CHECK_EQ_INT(hf.logical_cpus, 1);
    energy_meter_close(m);
}

/*---- process scope ----*/

static void process_tree_common(bool children_files, bool rapl)
{
    struct logcap lc = {0};
    struct probe_config c;
    struct energy_meter *m;
    struct energy_window w;
    double page = (double)sysconf(_SC_PAGESIZE);
    double rss_share, node_cpu;
    reset_tree();
    put_cpuinfo("Mystery CPU 9000", 1, 4);
    put_meminfo(16ull * 1024 * 1024);
    put_stat(100, 100, 800, 0);
    if (rapl) {
        zone("intel-rapl:0", "package-0", 1000000, 262143328850ull);
    }
    /* 100 = the measured process; 101 its child; 102 a grandchild that
     * exits; 200 an unrelated process; 1 = init */
    put_pid(1, 0, 7, 7, 1, 100);
    put_pid(100, 1, 50, 10, 1000, 25600);
    put_pid(101, 100, 20, 0, 1100, 12800);
    put_pid(102, 101, 5, 0, 1200, 1000);
    put_pid(200, 1, 500, 0, 900, 99999);
    if (children_files) {
        put("proc/1/task/1/children", "100 200 ");
        put("proc/100/task/100/children", "101 ");
        put("proc/100/task/150/children", "%s", "");
        put("proc/101/task/101/children", "102 ");
        put("proc/102/task/102/children", "%s", "");
        put("proc/200/task/200/children", "%s", "");
    }
    c = config(&lc);
    c.scope = ENERGY_SCOPE_PROCESS;
    c.pid = 100;
    now_us = 1000000;
    m = energy_meter_open_clock(&c, test_clock, NULL);
    /* one second later: node +1000 ticks, busy +600 (u = 0.6); 100 +40
     * ticks, 101 +40, 102 exited (its last 5 seen ticks were already the
     * baseline: nothing more), 103 a new child (thread 150 forked it) with
     * 20 ticks, all counted; 200 +300 not ours. Tree: 100 of 1000 ticks =
     * share 0.1 */
    put_stat(500, 300, 1200, 0);
    put_pid(100, 1, 80, 20, 1000, 25600);
    put_pid(101, 100, 60, 0, 1100, 12800);
    {
        char p[1024];
        snprintf(p, sizeof p, "%s/proc/102/stat", root);
        unlink(p);
    }
    put_pid(103, 100, 15, 5, 1300, 2560);
    put_pid(200, 1, 800, 0, 900, 99999);
    if (children_files) {
        put("proc/100/task/150/children", "103 ");
        put("proc/101/task/101/children", "%s", "");
        put("proc/103/task/103/children", "%s", "");
    }
    if (rapl) {
        set_uj("intel-rapl:0", 11000000); /* +10 J for the node */
    }
    now_us += 1000000;
    energy_meter_take(m, &w);
    /* CPU: RAPL 10 J x 0.1 = 1 J; or unknown model 85 W x (0.1 + 0.9 x
     * 0.216) = 25.024 W x 1 s x 0.1 = 2.5024 J */
    node_cpu = rapl ? 10.0 : 25.024;
    CHECK_NEAR(w.cpu_j, node_cpu * 0.1, 1e-9);
    CHECK_EQ_STR(w.cpu_method, rapl ? "rapl" : "tdp-estimate");
    CHECK_EQ_STR(w.scope, "process");
    /* RAM: RSS 25600 + 12800 + 2560 = 40960 pages (160 MiB with 4 KiB
     * pages) of 16 GiB; 10 W x share x 1 s */
    rss_share = 40960.0 * page / (16.0 * 1024 * 1024 * 1024);
    CHECK_NEAR(w.ram_j, 10 * rss_share, 1e-9);
    /* a pid reused by a new process counts from zero: 101 replaced with a
     * process started later holding 7 ticks; 100 idle; node +1000 */
    put_stat(800, 400, 1800, 0);
    put_pid(101, 100, 7, 0, 5000, 0);
    put_pid(103, 100, 15, 5, 1300, 0);
    put_pid(100, 1, 80, 20, 1000, 0);
    if (rapl) {
        set_uj("intel-rapl:0", 21000000); /* +10 J */
    }
    now_us += 1000000;
    energy_meter_take(m, &w);
    if (rapl) {
        CHECK_NEAR(w.cpu_j, 10.0 * 7 / 1000, 1e-9);
    }
    CHECK_NEAR(w.ram_j, 0, 1e-12);
    energy_meter_close(m);
}

/* A command started after the meter opened: re-rooting moves the share
 * to its tree from then on, and the old tree's ticks until then stay. */
static void test_set_root(void)
{
    struct logcap lc = {0};
    struct probe_config c;
    struct energy_meter *m;
    struct energy_window w;
    reset_tree();
    put_cpuinfo("Mystery CPU 9000", 1, 4);
    put_meminfo(16ull * 1024 * 1024);
    put_stat(100, 100, 800, 0);
    zone("intel-rapl:0", "package-0", 1000000, 262143328850ull);
    put_pid(1, 0, 7, 7, 1, 100);
    put_pid(100, 1, 10, 0, 1000, 100); /* greentrack */
    put_pid(200, 1, 10, 0, 900, 200);  /* CMD, once started */
    c = config(&lc);
    c.scope = ENERGY_SCOPE_PROCESS;
    c.pid = 100;
    now_us = 1000000;
    m = energy_meter_open_clock(&c, test_clock, NULL);
    /* 1 s: node +1000 ticks, 100 +100 (share 0.1), RAPL +10 J -> 1 J */
    put_stat(300, 100, 1600, 0);
    put_pid(100, 1, 110, 0, 1000, 100);
    put_pid(200, 1, 310, 0, 900, 200);
    set_uj("intel-rapl:0", 11000000);
    now_us += 1000000;
    CHECK(energy_meter_set_root(m, 200));
    /* 1 s more: node +1000, 100 +400 (no longer ours), 200 +250 (share
     * 0.25), RAPL +10 J -> 2.5 J; the window holds 1 + 2.5 J */
    put_stat(400, 100, 2500, 0);
    put_pid(100, 1, 510, 0, 1000, 100);
    put_pid(200, 1, 560, 0, 900, 200);
    set_uj("intel-rapl:0", 21000000);
    now_us += 1000000;
    energy_meter_take(m, &w);
    CHECK_NEAR(w.cpu_j, 3.5, 1e-9);
    CHECK_EQ_STR(w.scope, "process");
    CHECK(!energy_meter_set_root(m, 0));
    energy_meter_close(m);
    /* node scope has no tree to move */
    c.scope = ENERGY_SCOPE_NODE;
    m = energy_meter_open_clock(&c, test_clock, NULL);
    CHECK(!energy_meter_set_root(m, 200));
    energy_meter_close(m);
}

static void test_process_scope(void)
{
    process_tree_common(false, false); /* parent links, TDP */
    process_tree_common(true, true);   /* children files, RAPL */
    process_tree_common(true, false);
}

static void test_parsers(void)
{
    struct proc_stat ps;
    struct cpu_times ct;
    struct cpuinfo ci;
    CHECK(procfs_parse_pid_stat("42 (a) b) c) R 7 1 1 0 -1 0 0 0 0 0 11 22 "
                                "0 0 20 -5 1 0 99 100 33 0",
                                &ps));
    CHECK_EQ_INT(ps.ppid, 7);
    CHECK_EQ_INT(ps.ticks, 33);
    CHECK_EQ_INT(ps.start, 99);
    CHECK_EQ_INT(ps.rss_pages, 33);
    CHECK(!procfs_parse_pid_stat("42 (x) R 1 2", &ps));
    CHECK(!procfs_parse_pid_stat("", &ps));
    CHECK(!procfs_parse_pid_stat("no parens at all", &ps));
    CHECK(procfs_parse_stat("cpu  1 2 3 4 5 6 7 8 9 10\n", &ct));
    CHECK_EQ_INT(ct.total, 36); /* guest (9, 10) is inside user already */
    CHECK_EQ_INT(ct.busy, 27);
    CHECK(procfs_parse_stat("intr 5\ncpu  1 2 3 4\n", &ct));
    CHECK_EQ_INT(ct.total, 10);
    CHECK(!procfs_parse_stat("cpu  x y\n", &ct));
    CHECK(!procfs_parse_stat("garbage", &ct));
    procfs_parse_cpuinfo("processor : 0\nCPU part : 0xd0c\n", &ci);
    CHECK_EQ_STR(ci.model, "");
    CHECK_EQ_INT(ci.sockets, 1);
    CHECK_EQ_INT(ci.logical, 1);
    procfs_parse_cpuinfo("", &ci);
    CHECK_EQ_INT(ci.logical, 1);
    CHECK_EQ_INT(procfs_parse_memtotal("MemTotal:   1024 kB\n"), 1048576);
    CHECK_EQ_INT(procfs_parse_memtotal("nothing"), 0);
}

/*---- RAM ----*/

static void test_ram_model(void)
{
    double prev = 0;
    bool monotonic = true;
    CHECK_EQ_INT(ram_dimms(8), 2);
    CHECK_NEAR(ram_power_w(8, false), 10, 1e-12);
    CHECK_NEAR(ram_power_w(16, false), 10, 1e-12);
    CHECK_NEAR(ram_power_w(32, false), 20, 1e-12);
    CHECK_NEAR(ram_power_w(64, false), 20, 1e-12);
    /* 8 DIMMs: 4 x 5 + 4 x 4.5 = 38 W */
    CHECK_NEAR(ram_power_w(100, false), 38, 1e-12);
    CHECK_NEAR(ram_power_w(128, false), 38, 1e-12);
    /* 200 GiB: ceil(200/16) = 13 DIMMs: 20 + 18 + 5 x 4 = 58 W */
    CHECK_EQ_INT(ram_dimms(200), 13);
    CHECK_NEAR(ram_power_w(200, false), 58, 1e-12);
    /* CodeCarbon: 251.5 GiB -> 70 W but 256 GiB -> 38 W; here 70 and 70 */
    CHECK_NEAR(ram_power_w(251.5, false), 70, 1e-12);
    CHECK_NEAR(ram_power_w(256, false), 70, 1e-12);
    /* 32 DIMMs: 20 + 18 + 8 x 4 + 16 x 3.5 = 126 W */
    CHECK_NEAR(ram_power_w(512, false), 126, 1e-12);
    CHECK_NEAR(ram_power_w(1024, false), 126, 1e-12);
    CHECK_NEAR(ram_power_w(16, true), 3, 1e-12);
    CHECK_NEAR(ram_power_w(-1, false), 10, 1e-12);
    for (double g = 0.5; g <= 4096; g += 0.25) {
        double p = ram_power_w(g, false);
        monotonic = monotonic && p >= prev;
        prev = p;
    }
    CHECK(monotonic);
}

/*---- NVML ----*/

static void set_env(const char *k, const char *v)
{
    if (v) {
        setenv(k, v, 1);
    } else {
        unsetenv(k);
    }
}

static void clear_fake_env(void)
{
    static const char *keys[] = {"FAKE_NVML_GPUS",  "FAKE_NVML_MODE",
                                 "FAKE_NVML_STATE", "FAKE_NVML_INIT_FAIL",
                                 "FAKE_NVML_NAME",  "FAKE_NVML_POWER_MW"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        unsetenv(keys[i]);
    }
}

static char state_file[1024];

static void gpu_state(const char *text)
{
    put("nvml_state", "%s", text);
}

/* A node-scope meter on a plain fake machine with the fake NVML. */
static struct energy_meter *gpu_meter(struct logcap *lc, const char *visible)
{
    struct probe_config c = config(lc);
    c.nvml_lib = fake_nvml;
    c.cuda_visible_set = visible != NULL;
    c.cuda_visible_devices = visible;
    return energy_meter_open_clock(&c, test_clock, NULL);
}

static int visible_count(const char *visible, char *first_name, size_t cap)
{
    struct logcap lc = {0};
    struct energy_meter *m = gpu_meter(&lc, visible);
    struct host_facts hf;
    energy_meter_host_facts(m, &hf);
    snprintf(first_name, cap, "%s", hf.gpu_model);
    energy_meter_close(m);
    return hf.gpus;
}

static void test_nvml(void)
{
    struct logcap lc = {0};
    struct energy_meter *m;
    struct energy_window w;
    struct host_facts hf;
    char name[256];
    void *self;
    int (*live)(void) = NULL;
    const char *gname, *guuid, *gmethod;
    double gj;
    if (access(fake_nvml, R_OK) != 0) {
        fprintf(stderr, "FAIL: %s is missing (make test-bins builds it)\n",
                fake_nvml);
        test_failed++;
        return;
    }
    /* the same instance the meters load (dlopen is refcounted) */
    self = dlopen(fake_nvml, RTLD_NOW | RTLD_LOCAL);
    CHECK(self != NULL);
    if (self) {
        live = (int (*)(void))dlsym(self, "fake_nvml_live");
    }
    reset_tree();
    base_procfs();
    snprintf(state_file, sizeof state_file, "%s/nvml_state", root);
    clear_fake_env();

    /* energy counters: GPU0 1000 -> 4000 mJ, GPU1 2000 -> 7000 mJ: 8 J */
    set_env("FAKE_NVML_GPUS", "2");
    set_env("FAKE_NVML_STATE", state_file);
    gpu_state("1000 50000\n2000 60000\n");
    now_us = 1000000;
    m = gpu_meter(&lc, NULL);
    gpu_state("4000 50000\n7000 60000\n");
    now_us += 1000000;
    energy_meter_take(m, &w);
    CHECK_NEAR(w.gpu_j, 8.0, 1e-9);
    CHECK_EQ_STR(w.gpu_method, "nvml-energy");
    energy_meter_host_facts(m, &hf);
    CHECK_EQ_INT(hf.gpus, 2);
    CHECK_EQ_STR(hf.gpu_model, "Fake GPU 0");
    CHECK(energy_meter_gpu(m, 1, &gname, &guuid, &gmethod, &gj));
    CHECK_EQ_STR(guuid, "GPU-00000001-1111-2222-3333-444455556666");
    CHECK_EQ_STR(gmethod, "nvml-energy");
    CHECK_NEAR(gj, 5.0, 1e-9);
    CHECK(!energy_meter_gpu(m, 2, &gname, &guuid, &gmethod, &gj));
    if (live) {
        CHECK_EQ_INT(live(), 1);
    }
    energy_meter_close(m);
    if (live) {
        CHECK_EQ_INT(live(), 0); /* close called nvmlShutdown */
    }

    /* the counters are read at takes only (a read costs ms on real GPUs):
     * without a state file each read advances GPU i by (i+1) x 1000 mJ, so
     * open + 5 samples + take = 2 reads: 1 J + 2 J (7 reads would be 18) */
    unsetenv("FAKE_NVML_STATE");
    m = gpu_meter(&lc, NULL);
    for (int i = 0; i < 5; i++) {
        now_us += 1000000;
        energy_meter_sample(m);
    }
    now_us += 1000000;
    energy_meter_take(m, &w);
    CHECK_NEAR(w.gpu_j, 3.0, 1e-9);
    energy_meter_close(m);
    set_env("FAKE_NVML_STATE", state_file);

    /* NOT_SUPPORTED energy: power integrated, trapezoid. 100 W at open,
     * 200 W 2 s later: (100 + 200) / 2 x 2 = 300 J; 200 W 1 s later: +200 J */
    set_env("FAKE_NVML_GPUS", "1");
    set_env("FAKE_NVML_MODE", "power");
    gpu_state("0 100000\n");
    m = gpu_meter(&lc, NULL);
    gpu_state("0 200000\n");
    now_us += 2000000;
    energy_meter_sample(m);
    now_us += 1000000;
    energy_meter_take(m, &w);
    CHECK_NEAR(w.gpu_j, 500.0, 1e-9);
    CHECK_EQ_STR(w.gpu_method, "nvml-power");
    energy_meter_close(m);

    /* mixed: GPU0 counter +1500 mJ, GPU1 power 50 W -> 70 W over 4 s:
     * 1.5 + 240 = 241.5 J, reported as nvml-power */
    set_env("FAKE_NVML_GPUS", "2");
    set_env("FAKE_NVML_MODE", "mixed");
    gpu_state("500 0\n0 50000\n");
    m = gpu_meter(&lc, NULL);
    gpu_state("2000 0\n0 70000\n");
    now_us += 4000000;
    energy_meter_take(m, &w);
    CHECK_NEAR(w.gpu_j, 241.5, 1e-9);
    CHECK_EQ_STR(w.gpu_method, "nvml-power");
    CHECK(energy_meter_gpu(m, 0, &gname, &guuid, &gmethod, &gj));
    CHECK_EQ_STR(gmethod, "nvml-energy");
    CHECK(energy_meter_gpu(m, 1, &gname, &guuid, &gmethod, &gj));
    CHECK_EQ_STR(gmethod, "nvml-power");
    energy_meter_close(m);

    /* neither energy nor power: the GPU is left out with a warning */
    set_env("FAKE_NVML_GPUS", "1");
    set_env("FAKE_NVML_MODE", "none");
    memset(&lc, 0, sizeof lc);
    m = gpu_meter(&lc, NULL);
    now_us += 1000000;
    energy_meter_take(m, &w);
    CHECK_EQ_STR(w.gpu_method, "none");
    CHECK_EQ_INT(lc.n_warn, 1);
    energy_meter_close(m);

    /* CUDA_VISIBLE_DEVICES over 4 GPUs */
    unsetenv("FAKE_NVML_STATE");
    set_env("FAKE_NVML_MODE", "energy");
    set_env("FAKE_NVML_GPUS", "4");
    CHECK_EQ_INT(visible_count(NULL, name, sizeof name), 4);
    CHECK_EQ_INT(visible_count("2,0", name, sizeof name), 2);
    CHECK_EQ_STR(name, "Fake GPU 2");
    CHECK_EQ_INT(visible_count("GPU-00000003", name, sizeof name), 1);
    CHECK_EQ_STR(name, "Fake GPU 3");
    CHECK_EQ_INT(visible_count("1,7,2", name, sizeof name), 1); /* stops */
    CHECK_EQ_INT(visible_count("0,0, 1", name, sizeof name), 2);
    CHECK_EQ_INT(visible_count("-1", name, sizeof name), 0);
    CHECK_EQ_INT(visible_count("GPU-0000", name, sizeof name), 0); /* 4 match */
    CHECK_EQ_INT(visible_count("MIG-fake-1-0,MIG-fake-1-1", name, sizeof name),
                 1);
    CHECK_EQ_STR(name, "Fake GPU 1");
    CHECK_EQ_INT(
        visible_count("MIG-GPU-00000002-1111-2222-3333-444455556666/1/0", name,
                      sizeof name),
        1);
    CHECK_EQ_STR(name, "Fake GPU 2");
    memset(&lc, 0, sizeof lc);
    m = gpu_meter(&lc, ""); /* set but empty: no GPU */
    now_us += 1000000;
    energy_meter_take(m, &w);
    CHECK_EQ_STR(w.gpu_method, "none");
    CHECK_NEAR(w.gpu_j, 0, 0);
    energy_meter_close(m);

    /* no library; init failure: 0 GPUs, "none", one INFO */
    memset(&lc, 0, sizeof lc);
    {
        struct probe_config c = config(&lc);
        m = energy_meter_open_clock(&c, test_clock, NULL);
    }
    now_us += 1000000;
    energy_meter_take(m, &w);
    CHECK_EQ_STR(w.gpu_method, "none");
    CHECK_EQ_INT(lc.n_nvml, 1);
    energy_meter_host_facts(m, &hf);
    CHECK_EQ_INT(hf.gpus, 0);
    energy_meter_close(m);
    set_env("FAKE_NVML_INIT_FAIL", "1");
    memset(&lc, 0, sizeof lc);
    m = gpu_meter(&lc, NULL);
    energy_meter_take(m, &w);
    CHECK_EQ_STR(w.gpu_method, "none");
    CHECK_EQ_INT(lc.n_nvml, 1);
    energy_meter_close(m);
    if (live) {
        CHECK_EQ_INT(live(), 0);
    }
    clear_fake_env();
    if (self) {
        dlclose(self);
    }
}

static void test_parse_visible(void)
{
    const char *uuids[3] = {"GPU-aaaa1", "GPU-aaaa2", "GPU-bbbb"};
    unsigned out[3];
    CHECK_EQ_INT(nvml_parse_visible("", uuids, 3, NULL, NULL, out), 0);
    CHECK_EQ_INT(nvml_parse_visible("2,1", uuids, 3, NULL, NULL, out), 2);
    CHECK_EQ_INT(out[0], 2);
    CHECK_EQ_INT(out[1], 1);
    CHECK_EQ_INT(nvml_parse_visible("GPU-b", uuids, 3, NULL, NULL, out), 1);
    CHECK_EQ_INT(out[0], 2);
    CHECK_EQ_INT(nvml_parse_visible("GPU-aaaa", uuids, 3, NULL, NULL, out), 0);
    CHECK_EQ_INT(nvml_parse_visible("0,,1", uuids, 3, NULL, NULL, out), 1);
    CHECK_EQ_INT(nvml_parse_visible("MIG-xyz", uuids, 3, NULL, NULL, out), 0);
    CHECK_EQ_INT(nvml_parse_visible("1x", uuids, 3, NULL, NULL, out), 0);
    CHECK_EQ_INT(nvml_parse_visible("GPU-", uuids, 3, NULL, NULL, out), 0);
}

/* The real machine, only where NVML loads: every method string is one of
 * the documented ones and nothing is negative. */
static void test_real_nvml(void)
{
    void *lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    struct probe_config c;
    struct energy_meter *m;
    struct energy_window w;
    struct host_facts hf;
    m = energy_meter_open(NULL); /* NULL: the defaults, this machine */
    CHECK(m != NULL);
    energy_meter_close(m);
    if (!lib) {
        printf("skip: real NVML checks (no libnvidia-ml.so.1)\n");
        return;
    }
    dlclose(lib);
    memset(&c, 0, sizeof c);
    m = energy_meter_open(&c);
    CHECK(m != NULL);
    if (!m) {
        return;
    }
    usleep(200000);
    energy_meter_take(m, &w);
    energy_meter_host_facts(m, &hf);
    CHECK(w.gpu_j >= 0 && w.cpu_j >= 0 && w.ram_j > 0);
    CHECK(strcmp(w.gpu_method, "nvml-energy") == 0 ||
          strcmp(w.gpu_method, "nvml-power") == 0 ||
          (strcmp(w.gpu_method, "none") == 0 && hf.gpus == 0));
    printf("real: %d GPU(s) (%s), gpu %.3f J %s, cpu %.3f J %s\n", hf.gpus,
           hf.gpu_model, w.gpu_j, w.gpu_method, w.cpu_j, w.cpu_method);
    energy_meter_close(m);
}

int main(void)
{
    char exe[1024];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        fprintf(stderr, "cannot read /proc/self/exe\n");
        return 2;
    }
    exe[n] = '\0';
    snprintf(fake_nvml, sizeof fake_nvml, "%s/libfake_nvml.so", dirname(exe));
    snprintf(root, sizeof root, "%s/gt-probes-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(root)) {
        fprintf(stderr, "mkdtemp: %d\n", errno);
        return 2;
    }
    test_parsers();
    test_rapl_zones();
    test_rapl_wrap();
    test_rapl_unreadable();
    test_tdp_lookup();
    test_tdp_meter();
    test_process_scope();
    test_set_root();
    test_ram_model();
    test_parse_visible();
    test_nvml();
    test_real_nvml();
    nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    TEST_MAIN_END("test_client_probes");
}
