/* SPDX-License-Identifier: MIT
 *
 * meter: the energy_meter of probes.h. Owns the probes (RAPL zones or the
 * TDP estimate, the process tree, NVML) and the energy accumulated since
 * the last take. Each sample adds, for the time since the previous one:
 *   CPU  node: RAPL joules, or TDP x (0.1 + 0.9 u^3) x dt with u the node
 *        utilisation from <procfs>/stat deltas; process: that node energy
 *        x the tree's CPU ticks / the node's CPU ticks over the interval;
 *   RAM  node: the model's power (ram.c) x dt; process: x the tree's RSS /
 *        MemTotal at the sample;
 *   GPU  NVML joules (whole devices, in both scopes); energy counters are
 *        read at takes only, power-mode GPUs at every sample (nvml.c).
 * Called by libgreentrack's sampler (one thread at a time).
 */
#include "probes_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

struct energy_meter {
    struct probe_log lg;
    char *sysfs, *procfs;
    enum energy_scope scope;
    probe_clock_fn clock;
    void *clock_ud;
    int64_t last_us;         /* monotonic time of the last sample */
    int64_t window_start_ms; /* Unix ms of the last take (or open) */

    bool use_rapl;
    struct rapl rapl;
    int stat_fd; /* <procfs>/stat, -1 when not needed or unreadable */
    struct cpu_times last_ct;
    double last_u;
    double tdp_pkg_w, tdp_total_w;
    const char *tdp_matched;

    bool tree_ok;
    struct proctree tree;
    uint64_t memtotal_bytes;
    double pend_cpu_j;   /* process scope: node energy of intervals */
    uint64_t pend_ticks; /* without a node tick count yet */

    double ram_w;
    struct nvml nvml;
    bool gpu_power;

    double cpu_j, gpu_j, ram_j;
    struct host_facts facts;
};

static int64_t clock_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t mono_us(const struct energy_meter *m)
{
    return m->clock ? m->clock(m->clock_ud) : clock_us(CLOCK_MONOTONIC);
}

static int64_t unix_ms(const struct energy_meter *m)
{
    return (m->clock ? m->clock(m->clock_ud) : clock_us(CLOCK_REALTIME)) / 1000;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap) {
        n = cap - 1;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static bool read_stat(struct energy_meter *m, struct cpu_times *ct)
{
    char buf[4096];
    return m->stat_fd >= 0 && fs_pread_small(m->stat_fd, buf, sizeof buf) > 0 &&
           procfs_parse_stat(buf, ct);
}

/* The CPU model, sockets and logical CPUs; the TDP when RAPL is not used. */
static void open_cpu(struct energy_meter *m)
{
    char path[512];
    char *text;
    struct cpuinfo ci = {.sockets = 1, .logical = 1};
    if (fs_path(path, sizeof path, "%s/cpuinfo", m->procfs) &&
        (text = fs_read_all(path, NULL))) {
        procfs_parse_cpuinfo(text, &ci);
        free(text);
    }
    copy_str(m->facts.cpu, sizeof m->facts.cpu, ci.model);
    m->facts.sockets = ci.sockets;
    m->facts.logical_cpus = ci.logical;
    m->use_rapl = rapl_open(&m->rapl, m->sysfs, &m->lg);
    if (m->use_rapl) {
        probe_logf(&m->lg, GT_LOG_INFO, "CPU: RAPL, %zu zone(s) (%s%s)",
                   m->rapl.n, m->rapl.zones[0].name,
                   m->rapl.n > 1 ? ", ..." : "");
        return;
    }
    m->tdp_matched = "";
    if (tdp_lookup(cpu_tdp_table, cpu_tdp_table_count, ci.model, &m->tdp_pkg_w,
                   &m->tdp_matched) == TDP_NONE) {
        m->tdp_pkg_w = 0;
        m->tdp_total_w = TDP_UNKNOWN_W;
        probe_logf(&m->lg, GT_LOG_INFO,
                   "CPU: model \"%s\" not in the TDP table; estimating from "
                   "%.0f W x load (tdp-estimate)",
                   ci.model, TDP_UNKNOWN_W);
    } else {
        m->tdp_total_w = m->tdp_pkg_w * ci.sockets;
        probe_logf(&m->lg, GT_LOG_INFO,
                   "CPU: \"%s\" = \"%s\", TDP %.0f W x %d socket(s); "
                   "estimating from TDP x load (tdp-estimate)",
                   ci.model, m->tdp_matched, m->tdp_pkg_w, ci.sockets);
    }
}

static void open_memory(struct energy_meter *m)
{
    char path[512], buf[4096];
    struct utsname u;
    bool arm = false;
    if (fs_path(path, sizeof path, "%s/meminfo", m->procfs) &&
        fs_read_small(path, buf, sizeof buf) > 0) {
        m->memtotal_bytes = procfs_parse_memtotal(buf);
    }
    m->facts.ram_gb = (double)m->memtotal_bytes / (1024.0 * 1024 * 1024);
    if (uname(&u) == 0) {
        arm = strncmp(u.machine, "arm", 3) == 0 ||
              strncmp(u.machine, "aarch64", 7) == 0;
        snprintf(m->facts.os, sizeof m->facts.os, "%s %s", u.sysname,
                 u.release);
        copy_str(m->facts.hostname, sizeof m->facts.hostname, u.nodename);
    }
    m->ram_w = ram_power_w(m->facts.ram_gb, arm);
}

struct energy_meter *energy_meter_open_clock(const struct probe_config *cfg,
                                             probe_clock_fn clock,
                                             void *clock_ud)
{
    static const struct probe_config defaults; /* NULL cfg: all defaults */
    struct energy_meter *m = calloc(1, sizeof *m);
    if (!m) {
        return NULL;
    }
    if (!cfg) {
        cfg = &defaults;
    }
    m->stat_fd = -1;
    m->lg.fn = cfg->log;
    m->lg.ud = cfg->log_userdata;
    m->clock = clock;
    m->clock_ud = clock_ud;
    m->scope = cfg->scope;
    m->sysfs = strdup(cfg->sysfs_root ? cfg->sysfs_root : "/sys");
    m->procfs = strdup(cfg->procfs_root ? cfg->procfs_root : "/proc");
    if (!m->sysfs || !m->procfs) {
        energy_meter_close(m);
        return NULL;
    }
    m->facts.sockets = 1;
    m->facts.logical_cpus = 1;
    open_cpu(m);
    open_memory(m);
    if (!m->use_rapl || m->scope == ENERGY_SCOPE_PROCESS) {
        char path[512];
        if (fs_path(path, sizeof path, "%s/stat", m->procfs)) {
            m->stat_fd = open(path, O_RDONLY | O_CLOEXEC);
        }
        if (!read_stat(m, &m->last_ct)) {
            probe_logf(&m->lg, GT_LOG_WARN,
                       "CPU: %s/stat is unreadable: CPU load counts as 0",
                       m->procfs);
        }
    }
    if (m->scope == ENERGY_SCOPE_PROCESS) {
        int pid = cfg->pid > 0 ? cfg->pid : (int)getpid();
        if (!proctree_init(&m->tree, m->procfs, pid)) {
            energy_meter_close(m);
            return NULL;
        }
        m->tree_ok = true;
        if (m->tree.nseen == 0) {
            probe_logf(&m->lg, GT_LOG_WARN,
                       "process scope: %s/%d/stat is unreadable: the "
                       "process tree counts as idle",
                       m->procfs, pid);
        }
    }
    m->last_us = mono_us(m);
    nvml_open(&m->nvml, cfg, &m->lg, m->last_us);
    m->facts.gpus = (int)m->nvml.n;
    for (size_t i = 0; i < m->nvml.n; i++) {
        m->gpu_power = m->gpu_power || m->nvml.gpus[i].power_mode;
    }
    if (m->nvml.n > 0) {
        copy_str(m->facts.gpu_model, sizeof m->facts.gpu_model,
                 m->nvml.gpus[0].name);
    }
    m->window_start_ms = unix_ms(m);
    return m;
}

struct energy_meter *energy_meter_open(const struct probe_config *cfg)
{
    return energy_meter_open_clock(cfg, NULL, NULL);
}

/* One sample; 'window_end' also reads the GPU energy counters. */
static void sample(struct energy_meter *m, bool window_end)
{
    int64_t now = mono_us(m);
    double dt = now > m->last_us ? (double)(now - m->last_us) / 1e6 : 0;
    struct cpu_times ct = m->last_ct;
    uint64_t dtot = 0, dbusy = 0;
    double node_cpu_j;
    bool power_used = false;
    if (m->stat_fd >= 0 && read_stat(m, &ct) && ct.total >= m->last_ct.total &&
        ct.busy >= m->last_ct.busy) {
        dtot = ct.total - m->last_ct.total;
        dbusy = ct.busy - m->last_ct.busy;
        m->last_ct = ct;
    }
    if (m->use_rapl) {
        node_cpu_j = rapl_sample_j(&m->rapl, &m->lg);
    } else {
        if (dtot > 0) {
            m->last_u = (double)dbusy / (double)dtot;
        }
        node_cpu_j = tdp_power_w(m->tdp_total_w, m->last_u) * dt;
    }
    if (m->scope == ENERGY_SCOPE_PROCESS) {
        uint64_t rss = 0;
        m->pend_cpu_j += node_cpu_j;
        m->pend_ticks += m->tree_ok ? proctree_sample(&m->tree, &rss) : 0;
        if (dtot > 0) {
            double share = (double)m->pend_ticks / (double)dtot;
            m->cpu_j += m->pend_cpu_j * (share < 1 ? share : 1);
            m->pend_cpu_j = 0;
            m->pend_ticks = 0;
        }
        if (m->memtotal_bytes > 0) {
            double share = (double)rss / (double)m->memtotal_bytes;
            m->ram_j += m->ram_w * (share < 1 ? share : 1) * dt;
        }
    } else {
        m->cpu_j += node_cpu_j;
        m->ram_j += m->ram_w * dt;
    }
    m->gpu_j += nvml_sample_j(&m->nvml, now, window_end, &power_used, &m->lg);
    m->last_us = now;
}

void energy_meter_sample(struct energy_meter *m)
{
    sample(m, false);
}

void energy_meter_take(struct energy_meter *m, struct energy_window *out)
{
    sample(m, true);
    memset(out, 0, sizeof *out);
    out->start_ms = m->window_start_ms;
    out->end_ms = unix_ms(m);
    if (out->end_ms < out->start_ms) {
        out->end_ms = out->start_ms; /* the wall clock stepped back */
    }
    out->cpu_j = m->cpu_j;
    out->gpu_j = m->gpu_j;
    out->ram_j = m->ram_j;
    out->cpu_method = m->use_rapl ? "rapl" : "tdp-estimate";
    out->gpu_method = m->nvml.n == 0 ? "none"
                      : m->gpu_power ? "nvml-power"
                                     : "nvml-energy";
    out->ram_method = "ram-model";
    out->scope = m->scope == ENERGY_SCOPE_PROCESS ? "process" : "node";
    m->cpu_j = m->gpu_j = m->ram_j = 0;
    m->window_start_ms = out->end_ms;
}

bool energy_meter_set_root(struct energy_meter *m, int pid)
{
    struct proctree fresh;
    if (m->scope != ENERGY_SCOPE_PROCESS || pid <= 0) {
        return false;
    }
    sample(m, false); /* what the old tree used so far stays counted */
    if (!proctree_init(&fresh, m->procfs, pid)) {
        return false;
    }
    if (m->tree_ok) {
        proctree_free(&m->tree);
    }
    m->tree = fresh;
    m->tree_ok = true;
    return true;
}

void energy_meter_host_facts(const struct energy_meter *m,
                             struct host_facts *out)
{
    *out = m->facts;
}

bool energy_meter_gpu(const struct energy_meter *m, size_t i, const char **name,
                      const char **uuid, const char **method, double *total_j)
{
    const struct gpu_dev *d;
    if (i >= m->nvml.n) {
        return false;
    }
    d = &m->nvml.gpus[i];
    *name = d->name;
    *uuid = d->uuid;
    *method = d->power_mode ? "nvml-power" : "nvml-energy";
    *total_j = d->total_j;
    return true;
}

double energy_meter_tdp_w(const struct energy_meter *m, const char **matched)
{
    if (matched) {
        *matched = m->tdp_matched ? m->tdp_matched : "";
    }
    return m->use_rapl ? 0 : m->tdp_total_w;
}

double energy_meter_ram_w(const struct energy_meter *m)
{
    return m->ram_w;
}

void energy_meter_close(struct energy_meter *m)
{
    if (!m) {
        return;
    }
    nvml_close(&m->nvml);
    rapl_close(&m->rapl);
    if (m->tree_ok) {
        proctree_free(&m->tree);
    }
    if (m->stat_fd >= 0) {
        close(m->stat_fd);
    }
    free(m->sysfs);
    free(m->procfs);
    free(m);
}
