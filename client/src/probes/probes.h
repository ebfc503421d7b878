/* SPDX-License-Identifier: MIT
 *
 * probes.h: libgreentrack's energy measurement (internal, not exported).
 * An energy_meter reads the machine's counters and models:
 *   CPU  RAPL package zones under <sysfs>/class/powercap ("rapl"), else the
 *        CPU's TDP (compiled-in CPU TDP table, 85 W when unknown) times a
 *        CPU-load curve from <procfs>/stat ("tdp-estimate");
 *   GPU  NVML loaded with dlopen: the total-energy counter ("nvml-energy"),
 *        else integrated power samples ("nvml-power"); "none" without GPUs;
 *   RAM  a documented power model ("ram-model").
 * Scope "node" is the whole machine; "process" attributes CPU and RAM
 * energy by the process tree's share of CPU time and memory, read from
 * <procfs>. Paths are taken under configurable roots so tests use fake
 * trees and a fake NVML library.
 *
 * Threading: an energy_meter is used by one thread at a time.
 * Ownership: energy_meter_open copies the strings of its config; the
 * caller frees the meter with energy_meter_close.
 */
#ifndef GT_PROBES_H
#define GT_PROBES_H

#include <stdbool.h>
#include <stdint.h>

enum energy_scope { ENERGY_SCOPE_NODE, ENERGY_SCOPE_PROCESS };

/* Diagnostics; 'level' is a gt_log_level value, 'msg' valid during the
 * call only. */
typedef void (*probe_log_fn)(void *userdata, int level, const char *msg);

struct probe_config {
    const char *sysfs_root;           /* NULL: "/sys" */
    const char *procfs_root;          /* NULL: "/proc" */
    const char *nvml_lib;             /* NULL: "libnvidia-ml.so.1" */
    const char *cuda_visible_devices; /* NULL or "": every GPU; else the
                                         indices/UUIDs listed, "" after an
                                         explicit empty value = none */
    bool cuda_visible_set; /* CUDA_VISIBLE_DEVICES was set (even empty) */
    enum energy_scope scope;
    int pid; /* process scope: root of the measured tree; 0 = this process */
    probe_log_fn log;
    void *log_userdata;
};

/* Energy measured between two energy_meter_take calls. Method and scope
 * strings are static. */
struct energy_window {
    int64_t start_ms, end_ms; /* Unix ms (CLOCK_REALTIME) */
    double cpu_j, gpu_j, ram_j;
    const char *cpu_method; /* "rapl" | "tdp-estimate" */
    const char *gpu_method; /* "nvml-energy" | "nvml-power" | "none" */
    const char *ram_method; /* "ram-model" */
    const char *scope;      /* "node" | "process" */
};

/* Facts about the host, sent once per run as greentrack.host.* tags. */
struct host_facts {
    char cpu[256];       /* model name, "" when unknown */
    int sockets;         /* >= 1 */
    int logical_cpus;    /* >= 1 */
    int gpus;            /* GPUs measured (after CUDA_VISIBLE_DEVICES) */
    char gpu_model[256]; /* first GPU's name, "" without */
    double ram_gb;       /* total memory, GiB */
    char os[256];        /* e.g. "Linux 6.1.0-18-amd64" */
    char hostname[256];
};

/* Opens the probes (probing RAPL zones, NVML, the TDP table) and takes the
 * first reading at 'now'. Returns NULL only when out of memory; a machine
 * with nothing readable still gets estimates. */
struct energy_meter *energy_meter_open(const struct probe_config *cfg);

/* Reads every counter and accumulates energy since the last call; call at
 * least every sampling interval (counter wraps and power integration
 * depend on it). Cheap: a handful of small file reads. */
void energy_meter_sample(struct energy_meter *m);

/* Samples once more, then moves the energy accumulated since the previous
 * take (or open) into '*out'. */
void energy_meter_take(struct energy_meter *m, struct energy_window *out);

/* Process scope: from now on measure the tree rooted at 'pid' (e.g. a
 * command started after the meter opened); what the old tree used until
 * now stays in the current window. False (nothing changes) for node scope,
 * a pid <= 0, or when out of memory. */
bool energy_meter_set_root(struct energy_meter *m, int pid);

/* Fills '*out' (static facts gathered at open). */
void energy_meter_host_facts(const struct energy_meter *m,
                             struct host_facts *out);

/* Unloads NVML, frees everything. NULL is a no-op. */
void energy_meter_close(struct energy_meter *m);

#endif
