/* SPDX-License-Identifier: MIT
 *
 * procfs: parsers for the procfs texts the probes read: the node's CPU
 * time (/proc/stat), the CPU model, sockets and logical CPUs
 * (/proc/cpuinfo), MemTotal (/proc/meminfo) and one process's stat line.
 * Pure functions over text; the callers do the reading.
 */
#include "probes_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

bool procfs_parse_stat(const char *text, struct cpu_times *out)
{
    /* "cpu  user nice system idle iowait irq softirq steal guest gnice";
     * guest time is already inside user/nice, so it is not added again */
    uint64_t v[8] = {0};
    const char *p;
    if (strncmp(text, "cpu ", 4) != 0) {
        p = strstr(text, "\ncpu ");
        if (!p) {
            return false;
        }
        text = p + 1;
    }
    p = text + 3;
    for (int i = 0; i < 8; i++) {
        char *end;
        while (*p == ' ') {
            p++;
        }
        if (*p < '0' || *p > '9') {
            if (i < 4) {
                return false; /* old kernels stop after idle at worst */
            }
            break;
        }
        v[i] = strtoull(p, &end, 10);
        p = end;
    }
    out->total = 0;
    for (int i = 0; i < 8; i++) {
        out->total += v[i];
    }
    out->busy = out->total - v[3] - v[4];
    return true;
}

/* The value after "key<spaces>:" on a cpuinfo line, or NULL. */
static const char *cpuinfo_value(const char *line, const char *key)
{
    size_t k = strlen(key);
    if (strncmp(line, key, k) != 0) {
        return NULL;
    }
    line += k;
    while (*line == ' ' || *line == '\t') {
        line++;
    }
    if (*line != ':') {
        return NULL;
    }
    line++;
    while (*line == ' ' || *line == '\t') {
        line++;
    }
    return line;
}

void procfs_parse_cpuinfo(const char *text, struct cpuinfo *out)
{
    /* distinct physical ids; more than 64 sockets do not exist */
    long ids[64];
    int nids = 0;
    memset(out, 0, sizeof *out);
    for (const char *line = text; line && *line;) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        const char *v;
        if (cpuinfo_value(line, "processor")) {
            out->logical++;
        } else if (!out->model[0] && (v = cpuinfo_value(line, "model name"))) {
            size_t n = len - (size_t)(v - line);
            if (n >= sizeof out->model) {
                n = sizeof out->model - 1;
            }
            memcpy(out->model, v, n);
            out->model[n] = '\0';
            while (n > 0 && isspace((unsigned char)out->model[n - 1])) {
                out->model[--n] = '\0';
            }
        } else if ((v = cpuinfo_value(line, "physical id"))) {
            char *end;
            long id = strtol(v, &end, 10);
            bool known = end == v; /* no number: ignored */
            for (int i = 0; i < nids; i++) {
                known = known || ids[i] == id;
            }
            if (!known && nids < (int)(sizeof ids / sizeof ids[0])) {
                ids[nids++] = id;
            }
        }
        line = eol ? eol + 1 : NULL;
    }
    out->sockets = nids > 0 ? nids : 1;
    if (out->logical < 1) {
        out->logical = 1;
    }
}

uint64_t procfs_parse_memtotal(const char *text)
{
    const char *p = strstr(text, "MemTotal:");
    uint64_t kb;
    if (!p || !fs_parse_u64(p + 9, &kb)) {
        return 0;
    }
    return kb * 1024;
}

bool procfs_parse_pid_stat(const char *text, struct proc_stat *out)
{
    /* after "pid (comm) ": state ppid pgrp session tty tpgid flags minflt
     * cminflt majflt cmajflt utime stime cutime cstime priority nice
     * num_threads itrealvalue starttime vsize rss: indices 0..21 */
    const char *p = strrchr(text, ')');
    uint64_t f[22];
    if (!p) {
        return false;
    }
    p++;
    for (int i = 0; i < 22; i++) {
        while (*p == ' ') {
            p++;
        }
        if (i == 0) { /* the state letter */
            if (!*p || *p == '\n') {
                return false;
            }
            while (*p && *p != ' ') {
                p++;
            }
            f[0] = 0;
            continue;
        }
        if (*p == '-') { /* tty_nr, priority and nice can be negative */
            p++;
        }
        if (!fs_parse_u64(p, &f[i])) {
            return false;
        }
        while (*p >= '0' && *p <= '9') {
            p++;
        }
    }
    out->ppid = (int)f[1];
    out->ticks = f[11] + f[12];
    out->start = f[19];
    out->rss_pages = f[21];
    return true;
}
