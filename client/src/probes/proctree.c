/* SPDX-License-Identifier: MIT
 *
 * proctree: the CPU time and resident memory of a process and all its
 * descendants, for the "process" scope. A walk follows the kernel's
 * <procfs>/<pid>/task/<tid>/children lists when the kernel has them
 * (CONFIG_PROC_CHILDREN), else scans every <procfs>/<pid>/stat for parent
 * links. Between walks it remembers each process's utime+stime by (pid,
 * starttime), so a reused pid is a new process; a process that exits
 * between walks counts what was seen of it. Called by meter.c.
 */
#include "probes_int.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool walk_push(struct proctree *t, int pid, const struct proc_stat *st)
{
    if (t->nwalk == t->capwalk) {
        size_t cap = t->capwalk ? t->capwalk * 2 : 64;
        struct proc_walk *w = realloc(t->walk, cap * sizeof *w);
        if (!w) {
            return false;
        }
        t->walk = w;
        t->capwalk = cap;
    }
    t->walk[t->nwalk].pid = pid;
    t->walk[t->nwalk].in_tree = false;
    t->walk[t->nwalk].st = *st;
    t->nwalk++;
    return true;
}

static bool read_pid_stat(const struct proctree *t, int pid,
                          struct proc_stat *st)
{
    char path[512], buf[1024];
    if (!fs_path(path, sizeof path, "%s/%d/stat", t->procfs, pid) ||
        fs_read_small(path, buf, sizeof buf) < 0) {
        return false;
    }
    return procfs_parse_pid_stat(buf, st);
}

static bool walked(const struct proctree *t, int pid)
{
    for (size_t i = 0; i < t->nwalk; i++) {
        if (t->walk[i].pid == pid) {
            return true;
        }
    }
    return false;
}

/* Adds the pids listed in every <pid>/task/<tid>/children file. */
static void add_children(struct proctree *t, int pid)
{
    char path[512], buf[4096];
    DIR *d;
    struct dirent *e;
    if (!fs_path(path, sizeof path, "%s/%d/task", t->procfs, pid) ||
        !(d = opendir(path))) {
        return;
    }
    while ((e = readdir(d))) {
        char *p, *end;
        if (e->d_name[0] < '0' || e->d_name[0] > '9' ||
            !fs_path(path, sizeof path, "%s/%d/task/%s/children", t->procfs,
                     pid, e->d_name) ||
            fs_read_small(path, buf, sizeof buf) < 0) {
            continue;
        }
        for (p = buf;; p = end) {
            long child = strtol(p, &end, 10);
            struct proc_stat st;
            if (end == p) {
                break;
            }
            if (child > 0 && !walked(t, (int)child) &&
                read_pid_stat(t, (int)child, &st) &&
                !walk_push(t, (int)child, &st)) {
                break;
            }
        }
    }
    closedir(d);
}

/* Children mode: breadth-first from the root over the children lists. */
static void walk_children(struct proctree *t)
{
    struct proc_stat st;
    if (!read_pid_stat(t, t->root, &st) || !walk_push(t, t->root, &st)) {
        return;
    }
    for (size_t i = 0; i < t->nwalk; i++) {
        t->walk[i].in_tree = true;
        add_children(t, t->walk[i].pid);
    }
}

/* Scan mode: every process's stat, then the root's descendants through the
 * parent links; the tree is moved to the front of t->walk. */
static void walk_scan(struct proctree *t)
{
    DIR *d = opendir(t->procfs);
    struct dirent *e;
    size_t ntree = 0;
    if (!d) {
        return;
    }
    while ((e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        struct proc_stat st;
        if (end == e->d_name || *end || pid <= 0) {
            continue;
        }
        if (read_pid_stat(t, (int)pid, &st) && !walk_push(t, (int)pid, &st)) {
            break;
        }
    }
    closedir(d);
    for (size_t i = 0; i < t->nwalk; i++) {
        if (t->walk[i].pid == t->root) {
            struct proc_walk tmp = t->walk[0];
            t->walk[0] = t->walk[i];
            t->walk[i] = tmp;
            t->walk[0].in_tree = true;
            ntree = 1;
            break;
        }
    }
    /* t->walk[0..ntree) is the tree found so far; grow it by the children
     * of each member in turn */
    for (size_t k = 0; k < ntree; k++) {
        int parent = t->walk[k].pid;
        for (size_t j = ntree; j < t->nwalk; j++) {
            if (t->walk[j].st.ppid == parent) {
                struct proc_walk tmp = t->walk[ntree];
                t->walk[ntree] = t->walk[j];
                t->walk[j] = tmp;
                t->walk[ntree++].in_tree = true;
            }
        }
    }
    t->nwalk = ntree;
}

static int seen_cmp(const void *a, const void *b)
{
    int x = ((const struct proc_seen *)a)->pid;
    int y = ((const struct proc_seen *)b)->pid;
    return (x > y) - (x < y);
}

bool proctree_init(struct proctree *t, const char *procfs, int root)
{
    char path[512];
    uint64_t rss;
    memset(t, 0, sizeof *t);
    t->procfs = strdup(procfs);
    if (!t->procfs) {
        return false;
    }
    t->root = root;
    t->page_size = sysconf(_SC_PAGESIZE);
    if (t->page_size <= 0) {
        t->page_size = 4096;
    }
    t->use_children = fs_path(path, sizeof path, "%s/%d/task/%d/children",
                              procfs, root, root) &&
                      access(path, R_OK) == 0;
    (void)proctree_sample(t, &rss);
    t->primed = true;
    return true;
}

uint64_t proctree_sample(struct proctree *t, uint64_t *rss_bytes)
{
    uint64_t delta = 0, rss_pages = 0;
    size_t n;
    struct proc_seen *next;
    t->nwalk = 0;
    if (t->use_children) {
        walk_children(t);
    } else {
        walk_scan(t);
    }
    n = t->nwalk;
    if (n > t->capseen) {
        struct proc_seen *a = realloc(t->seen, n * sizeof *a);
        struct proc_seen *b;
        if (!a) {
            *rss_bytes = 0;
            return 0;
        }
        t->seen = a;
        b = realloc(t->seen2, n * sizeof *b);
        if (!b) {
            *rss_bytes = 0;
            return 0;
        }
        t->seen2 = b;
        t->capseen = n;
    }
    next = t->seen2;
    for (size_t i = 0; i < n; i++) {
        const struct proc_walk *w = &t->walk[i];
        struct proc_seen key = {.pid = w->pid};
        const struct proc_seen *old =
            t->nseen ? bsearch(&key, t->seen, t->nseen, sizeof key, seen_cmp)
                     : NULL;
        if (old && old->start == w->st.start) {
            delta += w->st.ticks >= old->ticks ? w->st.ticks - old->ticks : 0;
        } else if (t->primed) {
            delta += w->st.ticks; /* born since the last walk */
        }
        rss_pages += w->st.rss_pages;
        next[i].pid = w->pid;
        next[i].start = w->st.start;
        next[i].ticks = w->st.ticks;
    }
    qsort(next, n, sizeof *next, seen_cmp);
    t->seen2 = t->seen;
    t->seen = next;
    t->nseen = n;
    *rss_bytes = rss_pages * (uint64_t)t->page_size;
    return delta;
}

void proctree_free(struct proctree *t)
{
    free(t->procfs);
    free(t->seen);
    free(t->seen2);
    free(t->walk);
    memset(t, 0, sizeof *t);
}
