/* SPDX-License-Identifier: MIT
 *
 * probes_int.h: private declarations shared by the files of
 * client/src/probes (fsread.c: small file reads; procfs.c: /proc/stat,
 * cpuinfo, meminfo; proctree.c: a process tree's CPU time and RSS; rapl.c:
 * powercap zones; tdp.c: the CPU TDP table and load curve; ram.c: the RAM
 * power model; nvml.c: GPUs through a dlopen'ed NVML; meter.c: the
 * energy_meter of probes.h). Nothing here is exported from libgreentrack;
 * unit tests and bench_sampler include it to reach the internals.
 * Ownership: every struct here is embedded by value in the meter; its
 * open/init function fills it and its close/free function releases what
 * it holds.
 */
#ifndef GT_PROBES_INT_H
#define GT_PROBES_INT_H

#include "greentrack.h"
#include "probes.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*---- logging ----*/

/* The meter's log callback; 'fn' may be NULL (silent). */
struct probe_log {
    probe_log_fn fn;
    void *ud;
};

void probe_logf(const struct probe_log *lg, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*---- fsread.c: small file reads ----*/

/* Reads up to 'cap'-1 bytes of 'path' into 'buf' and NUL-terminates it.
 * Returns the length, or -1 with errno set (open or read failed). */
long fs_read_small(const char *path, char *buf, size_t cap);

/* pread at offset 0 of an open fd (sysfs/procfs files regenerate there);
 * same contract as fs_read_small. */
long fs_pread_small(int fd, char *buf, size_t cap);

/* The whole file (up to 64 MiB), NUL-terminated; caller frees with
 * free(). NULL on any error. '*len' (may be NULL) gets its length. */
char *fs_read_all(const char *path, size_t *len);

/* Parses the leading unsigned decimal of 's'; false when there is none. */
bool fs_parse_u64(const char *s, uint64_t *out);

/* snprintf into 'buf' ("%s/%s" style); false when it did not fit. */
bool fs_path(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*---- procfs.c ----*/

/* Node CPU time from the first line of <procfs>/stat, in USER_HZ ticks
 * summed over CPUs: 'total' = user..steal, 'busy' = total - idle - iowait. */
struct cpu_times {
    uint64_t total, busy;
};

/* Parses a /proc/stat text; false when the "cpu " line is missing. */
bool procfs_parse_stat(const char *text, struct cpu_times *out);

/* Facts from <procfs>/cpuinfo: "model name" of the first processor ("" when
 * absent, e.g. on ARM), sockets = distinct "physical id" values (1 when
 * none), logical = "processor" entries (>= 1). */
struct cpuinfo {
    char model[256];
    int sockets;
    int logical;
};

void procfs_parse_cpuinfo(const char *text, struct cpuinfo *out);

/* MemTotal of a /proc/meminfo text in bytes; 0 when absent. */
uint64_t procfs_parse_memtotal(const char *text);

/* Fields of one /proc/<pid>/stat line (the comm may hold spaces and
 * parentheses: fields are counted after its last ')'). */
struct proc_stat {
    int ppid;
    uint64_t ticks; /* utime + stime */
    uint64_t start; /* starttime: with the pid, the process's identity */
    uint64_t rss_pages;
};

bool procfs_parse_pid_stat(const char *text, struct proc_stat *out);

/*---- proctree.c: CPU time and RSS of a process and its descendants ----*/

struct proc_seen {
    int pid;
    uint64_t start, ticks;
};

struct proc_walk {
    int pid;
    bool in_tree;
    struct proc_stat st;
};

struct proctree {
    char *procfs; /* owned */
    int root;
    bool use_children; /* <pid>/task/<tid>/children exists (else scan) */
    bool primed;       /* the first walk set the baselines */
    struct proc_seen *seen, *seen2; /* by pid; seen2: the next walk's */
    size_t nseen, capseen;
    struct proc_walk *walk; /* scratch for a walk */
    size_t nwalk, capwalk;
    long page_size;
};

/* Copies 'procfs'; walks once to set baselines. Returns false only when
 * out of memory. */
bool proctree_init(struct proctree *t, const char *procfs, int root);

/* Walks the tree now. Returns the CPU ticks the tree used since the last
 * walk (new processes: all their ticks; exited ones: what was seen) and
 * stores its current total RSS in '*rss_bytes'. */
uint64_t proctree_sample(struct proctree *t, uint64_t *rss_bytes);

void proctree_free(struct proctree *t);

/*---- rapl.c: powercap (RAPL) package zones ----*/

struct rapl_zone {
    char name[64];  /* "package-0", "psys" */
    char path[512]; /* .../energy_uj */
    int fd;
    uint64_t max_range_uj; /* 0 when unreadable */
    uint64_t last_uj;
};

struct rapl {
    struct rapl_zone *zones;
    size_t n;
    bool wrap_warned;
};

/* Finds the top-level package zones (psys when there is none) under
 * <sysfs>/class/powercap, skipping sub-zones (core, uncore, dram), top-level
 * dram zones and intel-rapl-mmio duplicates, and takes a first reading.
 * Returns true when every chosen zone is readable; false otherwise (none
 * found, or unreadable: then one WARN with the fix was logged through 'lg')
 * and the struct is left empty. */
bool rapl_open(struct rapl *r, const char *sysfs_root,
               const struct probe_log *lg);

/* Joules since the previous reading, summed over zones, one wrap per zone
 * corrected with max_energy_range_uj. A zone that fails to read keeps its
 * previous reading (its energy is counted at the next success). */
double rapl_sample_j(struct rapl *r, const struct probe_log *lg);

void rapl_close(struct rapl *r);

/*---- tdp.c: the CPU TDP table (gen/cpu_tdp_table.c) and the load curve
 * ----*/

struct cpu_tdp_entry {
    const char *name; /* as in data/cpu_tdp.csv (UTF-8, vendor spelling) */
    double tdp_w;     /* per package */
};

extern const struct cpu_tdp_entry cpu_tdp_table[];
extern const size_t cpu_tdp_table_count;

#define TDP_UNKNOWN_W 85.0

enum tdp_match { TDP_EXACT, TDP_NORMALISED, TDP_FUZZY, TDP_NONE };

/* Looks 'model' up in 'table' (CodeCarbon's three steps, see tdp.c).
 * Returns how it matched; '*tdp_w' is the per-package TDP and '*matched'
 * (may be NULL) the table's name (static), both unset on TDP_NONE. */
enum tdp_match tdp_lookup(const struct cpu_tdp_entry *table, size_t n,
                          const char *model, double *tdp_w,
                          const char **matched);

/* Node CPU power at utilisation 'u' (0..1): tdp x (0.1 + 0.9 u^3). */
double tdp_power_w(double tdp_total_w, double u);

/*---- ram.c ----*/

/* Estimated DIMM count for 'gib' of memory (see ram.c). */
int ram_dimms(double gib);

/* Node RAM power in W for 'gib' of memory; 'arm' selects 1.5 W per DIMM
 * instead of 5 W. Monotonic non-decreasing in 'gib'. */
double ram_power_w(double gib, bool arm);

/*---- nvml.c: GPUs ----*/

struct gpu_dev {
    void *handle; /* nvmlDevice_t */
    unsigned index;
    char name[96];
    char uuid[96];
    bool power_mode;  /* integrating power samples ("nvml-power") */
    uint64_t last_mj; /* energy mode: last counter reading */
    double last_w;    /* power mode: last power sample */
    int64_t last_us;  /* power mode: time of last_w */
    double total_j;   /* everything measured since open */
    bool err_warned;
};

struct nvml {
    void *dl; /* dlopen handle, NULL when NVML is unavailable */
    int (*shutdown)(void);
    int (*energy)(void *dev, unsigned long long *mj);
    int (*power)(void *dev, unsigned int *mw);
    struct gpu_dev *gpus;
    size_t n;
};

/* Loads 'lib' (NULL: libnvidia-ml.so.1), initialises NVML and picks the
 * GPUs that 'cfg' makes visible (CUDA_VISIBLE_DEVICES rules, see nvml.c).
 * Never fails: without the library or on any NVML error the struct holds 0
 * GPUs and one INFO was logged. 'now_us' is the monotonic time of the
 * first reading. */
void nvml_open(struct nvml *g, const struct probe_config *cfg,
               const struct probe_log *lg, int64_t now_us);

/* Joules used by the GPUs since the previous call: power-mode GPUs are
 * sampled every call, energy counters only when 'counters' is set (they
 * never wrap; their energy accrues until read). Sets '*power_used' when
 * any GPU is measured by power integration. */
double nvml_sample_j(struct nvml *g, int64_t now_us, bool counters,
                     bool *power_used, const struct probe_log *lg);

/* Shuts NVML down and unloads it; the struct is left empty. */
void nvml_close(struct nvml *g);

/* Parses a CUDA_VISIBLE_DEVICES value against 'n' GPUs with the given
 * UUIDs ("GPU-..."). Writes the chosen NVML indices, each once, in the
 * listed order, to 'out' (room for 'n') and returns how many. Parsing
 * stops at the first entry that names no GPU, as CUDA's does. MIG entries
 * ("MIG-GPU-<uuid>/..." or a MIG UUID that 'mig_parent' resolves) count
 * their parent GPU once. 'mig_parent' may be NULL; it returns the parent's
 * index for a MIG UUID, or -1. */
size_t nvml_parse_visible(const char *value, const char *const *uuids, size_t n,
                          int (*mig_parent)(void *ud, const char *mig_uuid),
                          void *ud, unsigned *out);

/*---- meter.c: test and bench hooks ----*/

/* A clock in microseconds used instead of the real ones (CLOCK_MONOTONIC
 * for integration, CLOCK_REALTIME for window bounds). */
typedef int64_t (*probe_clock_fn)(void *userdata);

/* energy_meter_open with a test clock ('clock' NULL: the real clocks). */
struct energy_meter *energy_meter_open_clock(const struct probe_config *cfg,
                                             probe_clock_fn clock,
                                             void *clock_ud);

/* Per-GPU view for diagnostics (bench_sampler --real). Returns false when
 * 'i' is out of range; 'name', 'uuid', 'method' are borrowed from the meter
 * (valid until energy_meter_close); 'total_j' is everything measured since
 * open. */
bool energy_meter_gpu(const struct energy_meter *m, size_t i, const char **name,
                      const char **uuid, const char **method, double *total_j);

/* The node TDP the meter estimates from (table TDP x sockets, or 85 W
 * when unknown; 0 with RAPL) and the table name it matched ('*matched'
 * may be NULL; "" when unknown, static), for tests and diagnostics. */
double energy_meter_tdp_w(const struct energy_meter *m, const char **matched);

/* The node RAM power the meter uses, W. */
double energy_meter_ram_w(const struct energy_meter *m);

#endif
