/* SPDX-License-Identifier: MIT
 *
 * rapl: CPU energy from the Linux powercap (RAPL) counters under
 * <sysfs>/class/powercap. Owns the chosen zones and their open energy_uj
 * descriptors. Zone choice, as CodeCarbon 3 does by default:
 *   - top-level zones only ("intel-rapl:N"); sub-zones ("intel-rapl:N:M":
 *     core, uncore, dram) lie inside their package and are never added;
 *   - every "package-*" zone (AMD Zen shows its packages under the same
 *     driver); "psys" (the whole platform, a superset of the packages)
 *     only when there is no package zone;
 *   - top-level "dram" zones are left out: RAM has its own model (ram.c),
 *     so adding them would count memory twice;
 *   - "intel-rapl-mmio:N" repeats a package through MMIO: a zone whose
 *     name an intel-rapl zone already has is dropped.
 * Counters wrap at max_energy_range_uj (about 262 kJ on Intel, 65.5 kJ on
 * AMD); one wrap per zone between two samples is corrected, which the 1 s
 * default sampling interval leaves a wide margin for. Called by meter.c.
 */
#include "probes_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct candidate {
    char dir[256]; /* entry name under class/powercap */
    char name[64]; /* its 'name' file */
    bool mmio;
    bool readable;
    int err; /* errno of the failed read */
};

/* "intel-rapl:0" or "intel-rapl-mmio:0": a top-level zone (one colon,
 * digits after it). */
static bool top_level_zone(const char *d, bool *mmio)
{
    const char *colon = strchr(d, ':');
    if (strncmp(d, "intel-rapl", 10) != 0 || !colon || !colon[1] ||
        strchr(colon + 1, ':')) {
        return false;
    }
    for (const char *p = colon + 1; *p; p++) {
        if (*p < '0' || *p > '9') {
            return false;
        }
    }
    *mmio = (size_t)(colon - d) == strlen("intel-rapl-mmio") &&
            strncmp(d, "intel-rapl-mmio", 15) == 0;
    return (size_t)(colon - d) == 10 || *mmio;
}

static int cand_cmp(const void *a, const void *b)
{
    const struct candidate *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c) {
        return c;
    }
    /* the same name: a readable zone first, then MSR before MMIO */
    if (x->readable != y->readable) {
        return x->readable ? -1 : 1;
    }
    return (int)x->mmio - (int)y->mmio;
}

static bool read_u64_file(const char *path, uint64_t *v)
{
    char buf[64];
    return fs_read_small(path, buf, sizeof buf) > 0 && fs_parse_u64(buf, v);
}

static void warn_unreadable(const struct probe_log *lg, const char *base,
                            const struct candidate *c)
{
    char why[128];
    if (strerror_r(c->err, why, sizeof why) != 0) {
        why[0] = '\0';
    }
    probe_logf(
        lg, GT_LOG_WARN,
        "RAPL: cannot read %s/%s/energy_uj (%s); CPU energy is estimated "
        "from the CPU's TDP instead (method tdp-estimate). Since "
        "CVE-2020-8694 the counters are readable by root only. To measure: "
        "sudo chmod a+r %s/intel-rapl:*/energy_uj (until reboot), or "
        "persistently a line 'mode class/powercap/intel-rapl:0/energy_uj = "
        "0444' per package in /etc/sysfs.conf (sysfsutils), or a udev rule "
        "ACTION==\"add\", SUBSYSTEM==\"powercap\", RUN+=\"/bin/chmod a+r "
        "/sys%%p/energy_uj\"",
        base, c->dir, why[0] ? why : "unreadable", base);
}

bool rapl_open(struct rapl *r, const char *sysfs_root,
               const struct probe_log *lg)
{
    char base[512], path[800];
    struct candidate *cand = NULL;
    size_t ncand = 0, cap = 0, npkg = 0, chosen = 0;
    DIR *d;
    struct dirent *e;
    bool ok = false;
    memset(r, 0, sizeof *r);
    if (!fs_path(base, sizeof base, "%s/class/powercap", sysfs_root) ||
        !(d = opendir(base))) {
        return false;
    }
    while ((e = readdir(d))) {
        struct candidate c;
        char buf[128];
        long len;
        memset(&c, 0, sizeof c);
        if (!top_level_zone(e->d_name, &c.mmio) ||
            strlen(e->d_name) >= sizeof c.dir ||
            !fs_path(path, sizeof path, "%s/%s/name", base, e->d_name) ||
            (len = fs_read_small(path, buf, sizeof buf)) <= 0) {
            continue;
        }
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' ')) {
            buf[--len] = '\0';
        }
        if (strncmp(buf, "package", 7) != 0 && strcmp(buf, "psys") != 0) {
            continue; /* "dram" and anything unknown */
        }
        memcpy(c.dir, e->d_name, strlen(e->d_name) + 1);
        memcpy(c.name, buf,
               (size_t)len < sizeof c.name ? (size_t)len + 1
                                           : sizeof c.name - 1);
        c.name[sizeof c.name - 1] = '\0';
        c.readable =
            fs_path(path, sizeof path, "%s/%s/energy_uj", base, c.dir) &&
            fs_read_small(path, buf, sizeof buf) > 0;
        c.err = c.readable ? 0 : (errno ? errno : EIO);
        if (ncand == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            struct candidate *p = realloc(cand, ncap * sizeof *p);
            if (!p) {
                break;
            }
            cand = p;
            cap = ncap;
        }
        cand[ncand++] = c;
    }
    closedir(d);
    if (ncand == 0) {
        goto out;
    }
    /* one zone per name (drops MMIO duplicates), sorted by name */
    qsort(cand, ncand, sizeof *cand, cand_cmp);
    {
        size_t w = 0;
        for (size_t i = 0; i < ncand; i++) {
            if (w > 0 && strcmp(cand[w - 1].name, cand[i].name) == 0) {
                continue;
            }
            cand[w++] = cand[i];
        }
        ncand = w;
    }
    for (size_t i = 0; i < ncand; i++) {
        npkg += strncmp(cand[i].name, "package", 7) == 0;
    }
    /* keep the packages, or psys when there is none */
    for (size_t i = 0; i < ncand; i++) {
        bool pkg = strncmp(cand[i].name, "package", 7) == 0;
        if (pkg == (npkg > 0)) {
            cand[chosen++] = cand[i];
        }
    }
    for (size_t i = 0; i < chosen; i++) {
        if (!cand[i].readable) {
            warn_unreadable(lg, base, &cand[i]);
            goto out;
        }
    }
    r->zones = calloc(chosen, sizeof *r->zones);
    if (!r->zones) {
        goto out;
    }
    for (size_t i = 0; i < chosen; i++) {
        struct rapl_zone *z = &r->zones[r->n];
        char buf[64];
        memcpy(z->name, cand[i].name, sizeof z->name);
        if (!fs_path(z->path, sizeof z->path, "%s/%s/energy_uj", base,
                     cand[i].dir) ||
            !fs_path(path, sizeof path, "%s/%s/max_energy_range_uj", base,
                     cand[i].dir)) {
            goto out;
        }
        if (!read_u64_file(path, &z->max_range_uj)) {
            z->max_range_uj = 0;
        }
        z->fd = open(z->path, O_RDONLY | O_CLOEXEC);
        if (z->fd < 0 || fs_pread_small(z->fd, buf, sizeof buf) <= 0 ||
            !fs_parse_u64(buf, &z->last_uj)) {
            cand[i].err = errno ? errno : EIO;
            if (z->fd >= 0) {
                close(z->fd);
            }
            warn_unreadable(lg, base, &cand[i]);
            goto out;
        }
        r->n++;
    }
    ok = r->n > 0;
out:
    free(cand);
    if (!ok) {
        rapl_close(r);
    }
    return ok;
}

double rapl_sample_j(struct rapl *r, const struct probe_log *lg)
{
    uint64_t uj = 0;
    for (size_t i = 0; i < r->n; i++) {
        struct rapl_zone *z = &r->zones[i];
        char buf[64];
        uint64_t now;
        if (fs_pread_small(z->fd, buf, sizeof buf) <= 0 ||
            !fs_parse_u64(buf, &now)) {
            continue; /* counted at the next good read */
        }
        if (now >= z->last_uj) {
            uj += now - z->last_uj;
        } else if (z->max_range_uj >= z->last_uj) {
            uj += z->max_range_uj - z->last_uj + now; /* one wrap */
        } else {
            /* a wrap without a usable range: at least what came after */
            uj += now;
            if (!r->wrap_warned) {
                r->wrap_warned = true;
                probe_logf(lg, GT_LOG_WARN,
                           "RAPL: %s wrapped but max_energy_range_uj is "
                           "unreadable; energy before the wrap is lost",
                           z->name);
            }
        }
        z->last_uj = now;
    }
    return (double)uj / 1e6;
}

void rapl_close(struct rapl *r)
{
    for (size_t i = 0; i < r->n; i++) {
        close(r->zones[i].fd);
    }
    free(r->zones);
    memset(r, 0, sizeof *r);
}
