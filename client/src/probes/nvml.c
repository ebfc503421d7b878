/* SPDX-License-Identifier: MIT
 *
 * nvml: NVIDIA GPU energy through NVML, loaded with dlopen so that
 * libgreentrack builds, links and runs without the driver. Owns the
 * library handle and the per-GPU state. Per GPU:
 *   - the total-energy counter, mJ since the driver loaded (Volta and
 *     newer, 64 bits: it never wraps), read only when a window is taken
 *     ("nvml-energy"): one read costs about 4 ms of CPU on an H100 (the
 *     driver waits for the GPU), against 10 us for a power reading, so
 *     reading it every 1 s sample would cost 0.4 % of a core per GPU;
 *   - where that returns NOT_SUPPORTED (Kepler..Pascal, many vGPUs): power
 *     samples (mW) integrated over time with the trapezoid rule between
 *     consecutive samples ("nvml-power"), never a silent 0;
 *   - a GPU with neither is left out with a warning.
 * GPU energy is always the whole device's, in both scopes. Which GPUs:
 * all, or those CUDA_VISIBLE_DEVICES lists (see nvml_parse_visible). We
 * declare the few NVML types we use instead of including nvml.h. Called
 * by meter.c.
 */
#include "probes_int.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#define NVML_SUCCESS 0
#define NVML_ERROR_NOT_SUPPORTED 3
#define NVML_NAME_LEN 96
#define NVML_UUID_LEN 96

typedef void *nvml_device;

struct nvml_api {
    int (*init)(void);
    int (*count)(unsigned *n);
    int (*by_index)(unsigned i, nvml_device *d);
    int (*name)(nvml_device d, char *buf, unsigned len);
    int (*uuid)(nvml_device d, char *buf, unsigned len);
    /* optional: MIG entries of CUDA_VISIBLE_DEVICES */
    int (*by_uuid)(const char *uuid, nvml_device *d);
    int (*mig_parent)(nvml_device mig, nvml_device *parent);
};

/*---- CUDA_VISIBLE_DEVICES ----*/

/* The one index whose UUID starts with 'prefix' (length 'len'), or -1. */
static int uuid_prefix(const char *const *uuids, size_t n, const char *prefix,
                       size_t len)
{
    int found = -1;
    if (len <= 4) { /* "GPU-" alone names nothing */
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (uuids[i] && strncmp(uuids[i], prefix, len) == 0) {
            if (found >= 0) {
                return -1; /* ambiguous */
            }
            found = (int)i;
        }
    }
    return found;
}

size_t nvml_parse_visible(const char *value, const char *const *uuids, size_t n,
                          int (*mig_parent)(void *ud, const char *mig_uuid),
                          void *ud, unsigned *out)
{
    size_t nout = 0;
    const char *p = value ? value : "";
    while (*p) {
        char entry[128];
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        long idx = -1;
        bool dup = false;
        while (len > 0 && (*p == ' ' || *p == '\t')) {
            p++;
            len--;
        }
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t')) {
            len--;
        }
        if (len == 0 || len >= sizeof entry) {
            break;
        }
        memcpy(entry, p, len);
        entry[len] = '\0';
        if (entry[0] >= '0' && entry[0] <= '9') {
            char *e;
            idx = strtol(entry, &e, 10);
            if (*e || idx >= (long)n) {
                idx = -1;
            }
        } else if (strncmp(entry, "GPU-", 4) == 0) {
            idx = uuid_prefix(uuids, n, entry, len);
        } else if (strncmp(entry, "MIG-GPU-", 8) == 0) {
            /* old form MIG-GPU-<parent uuid>/<gi>/<ci> */
            const char *slash = strchr(entry, '/');
            size_t ulen = slash ? (size_t)(slash - entry) - 4 : len - 4;
            idx = uuid_prefix(uuids, n, entry + 4, ulen);
        } else if (strncmp(entry, "MIG-", 4) == 0 && mig_parent) {
            idx = mig_parent(ud, entry);
        }
        if (idx < 0) {
            break; /* CUDA ignores this entry and every later one */
        }
        for (size_t i = 0; i < nout; i++) {
            dup = dup || out[i] == (unsigned)idx;
        }
        if (!dup) {
            out[nout++] = (unsigned)idx;
        }
        if (!end) {
            break;
        }
        p = end + 1;
    }
    return nout;
}

struct mig_ctx {
    const struct nvml_api *api;
    nvml_device *handles;
    size_t n;
};

static int resolve_mig(void *ud, const char *mig_uuid)
{
    const struct mig_ctx *c = ud;
    nvml_device mig, parent;
    if (!c->api->by_uuid || !c->api->mig_parent ||
        c->api->by_uuid(mig_uuid, &mig) != NVML_SUCCESS ||
        c->api->mig_parent(mig, &parent) != NVML_SUCCESS) {
        return -1;
    }
    for (size_t i = 0; i < c->n; i++) {
        if (c->handles[i] == parent) {
            return (int)i;
        }
    }
    return -1;
}

/*---- open, sample, close ----*/

static void unload(struct nvml *g, bool initialised)
{
    if (initialised && g->shutdown) {
        g->shutdown();
    }
    if (g->dl) {
        dlclose(g->dl);
    }
    free(g->gpus);
    memset(g, 0, sizeof *g);
}

/* Picks the selected GPUs and their method; false when out of memory. */
static bool add_gpus(struct nvml *g, const struct nvml_api *api,
                     const struct probe_config *cfg, const struct probe_log *lg,
                     int64_t now_us, unsigned n)
{
    nvml_device *handles = calloc(n ? n : 1, sizeof *handles);
    char(*uuids)[NVML_UUID_LEN] = calloc(n ? n : 1, sizeof *uuids);
    const char **uuidp = calloc(n ? n : 1, sizeof *uuidp);
    unsigned *chosen = calloc(n ? n : 1, sizeof *chosen);
    size_t nchosen = 0;
    bool ok = false;
    if (!handles || !uuids || !uuidp || !chosen) {
        goto out;
    }
    for (unsigned i = 0; i < n; i++) {
        if (api->by_index(i, &handles[i]) != NVML_SUCCESS) {
            handles[i] = NULL;
            continue;
        }
        if (api->uuid(handles[i], uuids[i], NVML_UUID_LEN) == NVML_SUCCESS) {
            uuids[i][NVML_UUID_LEN - 1] = '\0';
            uuidp[i] = uuids[i];
        }
    }
    if (cfg->cuda_visible_set) {
        struct mig_ctx mc = {api, handles, n};
        nchosen = nvml_parse_visible(cfg->cuda_visible_devices, uuidp, n,
                                     resolve_mig, &mc, chosen);
    } else {
        for (unsigned i = 0; i < n; i++) {
            chosen[nchosen++] = i;
        }
    }
    g->gpus = calloc(nchosen ? nchosen : 1, sizeof *g->gpus);
    if (!g->gpus) {
        goto out;
    }
    for (size_t k = 0; k < nchosen; k++) {
        unsigned i = chosen[k];
        struct gpu_dev *d = &g->gpus[g->n];
        unsigned long long mj;
        unsigned mw;
        int rc_e, rc_p = -1;
        if (!handles[i]) {
            probe_logf(lg, GT_LOG_WARN,
                       "NVML: no handle for GPU %u; it is not measured", i);
            continue;
        }
        d->handle = handles[i];
        d->index = i;
        memcpy(d->uuid, uuids[i], sizeof d->uuid);
        if (api->name(handles[i], d->name, sizeof d->name) != NVML_SUCCESS) {
            d->name[0] = '\0';
        }
        d->name[sizeof d->name - 1] = '\0';
        rc_e = g->energy(handles[i], &mj);
        if (rc_e == NVML_SUCCESS) {
            d->last_mj = mj;
        } else if ((rc_p = g->power(handles[i], &mw)) == NVML_SUCCESS) {
            d->power_mode = true;
            d->last_w = mw / 1000.0;
            d->last_us = now_us;
            if (rc_e != NVML_ERROR_NOT_SUPPORTED) {
                probe_logf(lg, GT_LOG_WARN,
                           "NVML: GPU %u energy counter failed (error %d); "
                           "integrating power samples instead",
                           i, rc_e);
            }
        } else {
            probe_logf(lg, GT_LOG_WARN,
                       "NVML: GPU %u (%s) reports neither energy (error %d) "
                       "nor power (error %d); it is not measured",
                       i, d->name, rc_e, rc_p);
            memset(d, 0, sizeof *d);
            continue;
        }
        g->n++;
    }
    ok = true;
out:
    free(handles);
    free(uuids);
    free(uuidp);
    free(chosen);
    return ok;
}

void nvml_open(struct nvml *g, const struct probe_config *cfg,
               const struct probe_log *lg, int64_t now_us)
{
    const char *lib = cfg->nvml_lib ? cfg->nvml_lib : "libnvidia-ml.so.1";
    struct nvml_api api;
    unsigned n = 0;
    int rc;
    memset(g, 0, sizeof *g);
    memset(&api, 0, sizeof api);
    if (cfg->cuda_visible_set &&
        (!cfg->cuda_visible_devices || !cfg->cuda_visible_devices[0])) {
        probe_logf(lg, GT_LOG_INFO,
                   "GPU: CUDA_VISIBLE_DEVICES is empty: no GPU measured");
        return;
    }
    g->dl = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (!g->dl) {
        const char *why = dlerror();
        probe_logf(lg, GT_LOG_INFO, "GPU: NVML not loaded (%s): no GPU energy",
                   why ? why : lib);
        return;
    }
    /* ISO C has no void * to function pointer conversion; POSIX dlsym
     * guarantees it works */
    api.init = (int (*)(void))dlsym(g->dl, "nvmlInit_v2");
    g->shutdown = (int (*)(void))dlsym(g->dl, "nvmlShutdown");
    api.count = (int (*)(unsigned *))dlsym(g->dl, "nvmlDeviceGetCount_v2");
    api.by_index = (int (*)(unsigned, nvml_device *))dlsym(
        g->dl, "nvmlDeviceGetHandleByIndex_v2");
    api.name = (int (*)(nvml_device, char *, unsigned))dlsym(
        g->dl, "nvmlDeviceGetName");
    api.uuid = (int (*)(nvml_device, char *, unsigned))dlsym(
        g->dl, "nvmlDeviceGetUUID");
    g->energy = (int (*)(void *, unsigned long long *))dlsym(
        g->dl, "nvmlDeviceGetTotalEnergyConsumption");
    g->power =
        (int (*)(void *, unsigned *))dlsym(g->dl, "nvmlDeviceGetPowerUsage");
    api.by_uuid = (int (*)(const char *, nvml_device *))dlsym(
        g->dl, "nvmlDeviceGetHandleByUUID");
    api.mig_parent = (int (*)(nvml_device, nvml_device *))dlsym(
        g->dl, "nvmlDeviceGetDeviceHandleFromMigDeviceHandle");
    if (!api.init || !g->shutdown || !api.count || !api.by_index || !api.name ||
        !api.uuid || !g->energy || !g->power) {
        probe_logf(lg, GT_LOG_INFO,
                   "GPU: %s lacks NVML functions: no GPU energy", lib);
        unload(g, false);
        return;
    }
    if ((rc = api.init()) != NVML_SUCCESS) {
        probe_logf(lg, GT_LOG_INFO,
                   "GPU: nvmlInit_v2 failed (error %d): no GPU energy", rc);
        unload(g, false);
        return;
    }
    if ((rc = api.count(&n)) != NVML_SUCCESS) {
        probe_logf(lg, GT_LOG_INFO,
                   "GPU: nvmlDeviceGetCount_v2 failed (error %d): no GPU "
                   "energy",
                   rc);
        n = 0;
    }
    if (n == 0 || !add_gpus(g, &api, cfg, lg, now_us, n) || g->n == 0) {
        if (n > 0) {
            probe_logf(
                lg, GT_LOG_INFO,
                "GPU: none of the %u GPU(s) is measured "
                "(CUDA_VISIBLE_DEVICES=%s)",
                n, cfg->cuda_visible_devices ? cfg->cuda_visible_devices : "");
        }
        unload(g, true);
        return;
    }
    for (size_t i = 0; i < g->n; i++) {
        probe_logf(lg, GT_LOG_INFO, "GPU %u: %s %s, %s", g->gpus[i].index,
                   g->gpus[i].name, g->gpus[i].uuid,
                   g->gpus[i].power_mode ? "nvml-power (no energy counter)"
                                         : "nvml-energy");
    }
}

double nvml_sample_j(struct nvml *g, int64_t now_us, bool counters,
                     bool *power_used, const struct probe_log *lg)
{
    double j = 0;
    for (size_t i = 0; i < g->n; i++) {
        struct gpu_dev *d = &g->gpus[i];
        double dj = 0;
        if (!d->power_mode && !counters) {
            continue; /* read at the window's end */
        }
        if (d->power_mode) {
            unsigned mw;
            *power_used = true;
            if (g->power(d->handle, &mw) != NVML_SUCCESS) {
                continue; /* the next sample spans the gap */
            }
            if (now_us > d->last_us) {
                dj = (d->last_w + mw / 1000.0) / 2 *
                     (double)(now_us - d->last_us) / 1e6;
            }
            d->last_w = mw / 1000.0;
            d->last_us = now_us;
        } else {
            unsigned long long mj;
            if (g->energy(d->handle, &mj) != NVML_SUCCESS) {
                continue; /* counted at the next good read */
            }
            if (mj >= d->last_mj) {
                dj = (double)(mj - d->last_mj) / 1e3;
            } else if (!d->err_warned) {
                d->err_warned = true;
                probe_logf(lg, GT_LOG_WARN,
                           "NVML: GPU %u energy counter went backwards "
                           "(driver reloaded?); restarting from it",
                           d->index);
            }
            d->last_mj = mj;
        }
        d->total_j += dj;
        j += dj;
    }
    return j;
}

void nvml_close(struct nvml *g)
{
    if (g->dl) {
        unload(g, true);
    }
}
