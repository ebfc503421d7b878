/* SPDX-License-Identifier: MIT
 *
 * fake_nvml: a stand-in for libnvidia-ml.so.1 that the probes' tests and
 * bench_sampler dlopen (built as $(BUILD)/tests/libfake_nvml.so). It
 * exports the NVML functions libgreentrack resolves, driven by env vars
 * read at nvmlInit_v2:
 *   FAKE_NVML_GPUS       number of GPUs (default 1, at most 64)
 *   FAKE_NVML_MODE       energy | power | mixed | none (default energy):
 *                        which of the energy counter and power reading are
 *                        supported; mixed = even GPUs energy, odd power
 *   FAKE_NVML_STATE      a file whose line i is "<energy mJ> <power mW>"
 *                        for GPU i, re-read at every reading, so a test
 *                        sets exact values; without it GPU i's counter
 *                        advances (i+1) x FAKE_NVML_ENERGY_STEP_MJ (1000)
 *                        per call and its power is FAKE_NVML_POWER_MW
 *                        (100000)
 *   FAKE_NVML_INIT_FAIL  1: nvmlInit_v2 fails
 *   FAKE_NVML_NAME       device name (default "Fake GPU")
 * UUIDs are "GPU-0000000i-1111-2222-3333-444455556666" (i in hex); MIG
 * UUIDs "MIG-fake-<i>-<k>" resolve to GPU i. fake_nvml_live() tells a test
 * how many nvmlInit_v2 calls are not yet shut down. Test code only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NVML_SUCCESS 0
#define NVML_ERROR_UNINITIALIZED 1
#define NVML_ERROR_INVALID_ARGUMENT 2
#define NVML_ERROR_NOT_SUPPORTED 3
#define NVML_ERROR_NOT_FOUND 6
#define MAX_GPUS 64

typedef struct fake_dev *nvmlDevice_t;

struct fake_dev {
    unsigned idx;
    unsigned long long calls;
};

static struct fake_dev devs[MAX_GPUS], migs[MAX_GPUS];
static unsigned ngpus;
static int live;
static char mode[16] = "energy";
static char state_path[512];
static unsigned long long step_mj = 1000;
static unsigned power_mw = 100000;
static char dev_name[64] = "Fake GPU";

/* The library's public entry points (exported, so prototypes here). */
int fake_nvml_live(void);
int nvmlInit_v2(void);
int nvmlShutdown(void);
int nvmlDeviceGetCount_v2(unsigned *n);
int nvmlDeviceGetHandleByIndex_v2(unsigned i, nvmlDevice_t *d);
int nvmlDeviceGetHandleByUUID(const char *uuid, nvmlDevice_t *d);
int nvmlDeviceGetDeviceHandleFromMigDeviceHandle(nvmlDevice_t mig,
                                                 nvmlDevice_t *parent);
int nvmlDeviceGetName(nvmlDevice_t d, char *buf, unsigned len);
int nvmlDeviceGetUUID(nvmlDevice_t d, char *buf, unsigned len);
int nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t d, unsigned long long *mj);
int nvmlDeviceGetPowerUsage(nvmlDevice_t d, unsigned *mw);

static unsigned long long env_ull(const char *name, unsigned long long dflt)
{
    const char *v = getenv(name);
    char *end;
    unsigned long long x;
    if (!v || !*v) {
        return dflt;
    }
    x = strtoull(v, &end, 10);
    return *end ? dflt : x;
}

static void env_str(const char *name, char *dst, size_t cap)
{
    const char *v = getenv(name);
    if (v && strlen(v) < cap) {
        memcpy(dst, v, strlen(v) + 1);
    }
}

int fake_nvml_live(void)
{
    return live;
}

int nvmlInit_v2(void)
{
    if (env_ull("FAKE_NVML_INIT_FAIL", 0)) {
        return NVML_ERROR_UNINITIALIZED;
    }
    ngpus = (unsigned)env_ull("FAKE_NVML_GPUS", 1);
    if (ngpus > MAX_GPUS) {
        ngpus = MAX_GPUS;
    }
    memcpy(mode, "energy", 7);
    env_str("FAKE_NVML_MODE", mode, sizeof mode);
    state_path[0] = '\0';
    env_str("FAKE_NVML_STATE", state_path, sizeof state_path);
    step_mj = env_ull("FAKE_NVML_ENERGY_STEP_MJ", 1000);
    power_mw = (unsigned)env_ull("FAKE_NVML_POWER_MW", 100000);
    memcpy(dev_name, "Fake GPU", 9);
    env_str("FAKE_NVML_NAME", dev_name, sizeof dev_name);
    for (unsigned i = 0; i < MAX_GPUS; i++) {
        devs[i].idx = i;
        devs[i].calls = 0;
        migs[i].idx = i;
    }
    live++;
    return NVML_SUCCESS;
}

int nvmlShutdown(void)
{
    if (live == 0) {
        return NVML_ERROR_UNINITIALIZED;
    }
    live--;
    return NVML_SUCCESS;
}

int nvmlDeviceGetCount_v2(unsigned *n)
{
    if (!live) {
        return NVML_ERROR_UNINITIALIZED;
    }
    *n = ngpus;
    return NVML_SUCCESS;
}

int nvmlDeviceGetHandleByIndex_v2(unsigned i, nvmlDevice_t *d)
{
    if (!live) {
        return NVML_ERROR_UNINITIALIZED;
    }
    if (i >= ngpus) {
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    *d = &devs[i];
    return NVML_SUCCESS;
}

int nvmlDeviceGetHandleByUUID(const char *uuid, nvmlDevice_t *d)
{
    char *end;
    unsigned long i;
    if (!live) {
        return NVML_ERROR_UNINITIALIZED;
    }
    if (strncmp(uuid, "MIG-fake-", 9) != 0) {
        return NVML_ERROR_NOT_FOUND;
    }
    i = strtoul(uuid + 9, &end, 10);
    if (end == uuid + 9 || *end != '-' || i >= ngpus) {
        return NVML_ERROR_NOT_FOUND;
    }
    *d = &migs[i];
    return NVML_SUCCESS;
}

int nvmlDeviceGetDeviceHandleFromMigDeviceHandle(nvmlDevice_t mig,
                                                 nvmlDevice_t *parent)
{
    if (mig < &migs[0] || mig >= &migs[MAX_GPUS]) {
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    *parent = &devs[mig->idx];
    return NVML_SUCCESS;
}

int nvmlDeviceGetName(nvmlDevice_t d, char *buf, unsigned len)
{
    int n = snprintf(buf, len, "%s %u", dev_name, d->idx);
    return n < 0 || (unsigned)n >= len ? NVML_ERROR_INVALID_ARGUMENT
                                       : NVML_SUCCESS;
}

int nvmlDeviceGetUUID(nvmlDevice_t d, char *buf, unsigned len)
{
    int n = snprintf(buf, len, "GPU-%08x-1111-2222-3333-444455556666", d->idx);
    return n < 0 || (unsigned)n >= len ? NVML_ERROR_INVALID_ARGUMENT
                                       : NVML_SUCCESS;
}

static int supports(const nvmlDevice_t d, int energy)
{
    if (strcmp(mode, "none") == 0) {
        return 0;
    }
    if (strcmp(mode, "mixed") == 0) {
        return (d->idx % 2 == 0) == (energy != 0);
    }
    return (strcmp(mode, "energy") == 0) == (energy != 0);
}

/* Line 'idx' of the state file: energy and power. */
static int state_line(unsigned idx, unsigned long long *mj, unsigned *mw)
{
    FILE *f = fopen(state_path, "r");
    char line[128];
    unsigned i = 0;
    int ok = 0;
    if (!f) {
        return 0;
    }
    while (fgets(line, sizeof line, f)) {
        if (i++ == idx) {
            char *end;
            *mj = strtoull(line, &end, 10);
            *mw = (unsigned)strtoul(end, &end, 10);
            ok = 1;
            break;
        }
    }
    fclose(f);
    return ok;
}

int nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t d, unsigned long long *mj)
{
    unsigned mw;
    if (!live) {
        return NVML_ERROR_UNINITIALIZED;
    }
    if (!supports(d, 1)) {
        return NVML_ERROR_NOT_SUPPORTED;
    }
    if (state_path[0]) {
        return state_line(d->idx, mj, &mw) ? NVML_SUCCESS
                                           : NVML_ERROR_NOT_FOUND;
    }
    d->calls++;
    *mj = d->calls * step_mj * (d->idx + 1);
    return NVML_SUCCESS;
}

int nvmlDeviceGetPowerUsage(nvmlDevice_t d, unsigned *mw)
{
    unsigned long long mj;
    if (!live) {
        return NVML_ERROR_UNINITIALIZED;
    }
    if (!supports(d, 0)) {
        return NVML_ERROR_NOT_SUPPORTED;
    }
    if (state_path[0]) {
        return state_line(d->idx, &mj, mw) ? NVML_SUCCESS
                                           : NVML_ERROR_NOT_FOUND;
    }
    *mw = power_mw;
    return NVML_SUCCESS;
}
