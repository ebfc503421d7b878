/* SPDX-License-Identifier: MIT
 *
 * gc: permanently removes deleted runs and their artifacts (see gc.h).
 *
 * Each run is purged from the database first (one write through the
 * store's writer, which skips a run restored meanwhile), then its artifact
 * folder is removed, so a restored run never loses its files. Only folders
 * under the artifact root are touched, only the run's own (a path with the
 * run id as a component), and links are removed, never followed. It may
 * run while a server uses the same database: SQLite serializes the writes,
 * and the server notices the change (PRAGMA data_version).
 */
#include "gc.h"

#include "artifact_store.h"
#include "config.h"
#include "log.h"
#include "store.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

bool gc_parse_duration(const char *s, int64_t *ms)
{
    static const struct {
        char unit;
        double ms;
    } units[] = {{'d', 86400e3}, {'h', 3600e3}, {'m', 60e3}, {'s', 1e3}};
    double total = 0;
    size_t next = 0; /* units must come in order, each at most once */
    bool any = false;
    while (*s) {
        if (!((*s >= '0' && *s <= '9') || *s == '.'))
            return false;
        char *end;
        double v = strtod(s, &end);
        if (end == s || !(v >= 0) || !isfinite(v))
            return false;
        for (const char *c = s; c < end; c++) {
            if (!((*c >= '0' && *c <= '9') || *c == '.'))
                return false; /* "1e3" */
        }
        size_t u = next;
        while (u < sizeof(units) / sizeof(*units) && units[u].unit != *end)
            u++;
        if (u == sizeof(units) / sizeof(*units))
            return false;
        total += v * units[u].ms;
        next = u + 1;
        any = true;
        s = end + 1;
    }
    if (!any || total > 1e15) /* some 30,000 years */
        return false;
    *ms = (int64_t)total;
    return true;
}

static void print_help(void)
{
    printf(
        "Usage: greentrack-server gc [--older-than DURATION] [--dry-run] "
        "[OPTION]...\n"
        "Permanently removes runs in the deleted lifecycle stage, with their "
        "metrics,\nparams, tags, inputs and energy, and their artifact "
        "folders under the artifact\nroot (as `mlflow gc`). Artifact "
        "locations outside the root are left alone.\n\n"
        "  --older-than DURATION  only runs deleted at least this long ago: "
        "#d#h#m#s,\n"
        "                         e.g. 30d, 1d12h, 1.5h (default: all "
        "deleted runs)\n"
        "  --dry-run              list what would be removed, remove "
        "nothing\n"
        "  --db PATH, --artifact-root DIR, --log-level LEVEL and the other\n"
        "  server options (and their GREENTRACK_* variables) name the data "
        "to clean;\n"
        "  see greentrack-server --help.\n");
}

static void iso_time(char *out, size_t outlen, int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (ms <= 0 || !gmtime_r(&t, &tm) ||
        strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, outlen, "(time not recorded)");
}

/* A write submitted and waited for. */
struct sync_write {
    struct store_write w;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
};

static void sync_done(struct store_write *w, void *userdata)
{
    (void)w;
    struct sync_write *sw = userdata;
    pthread_mutex_lock(&sw->mu);
    sw->done = true;
    pthread_cond_signal(&sw->cv);
    pthread_mutex_unlock(&sw->mu);
}

/* Purges one run; 1 purged, 0 skipped, -1 failed (message printed). */
static int purge(struct store *st, const char *run_id, int64_t deleted_before)
{
    struct sync_write sw;
    memset(&sw, 0, sizeof(sw));
    pthread_mutex_init(&sw.mu, NULL);
    pthread_cond_init(&sw.cv, NULL);
    sw.w.kind = SW_RUN_PURGE;
    sw.w.run_id = run_id;
    sw.w.deleted_before = deleted_before;
    sw.w.done = sync_done;
    sw.w.userdata = &sw;
    store_submit(st, &sw.w);
    pthread_mutex_lock(&sw.mu);
    while (!sw.done)
        pthread_cond_wait(&sw.cv, &sw.mu);
    pthread_mutex_unlock(&sw.mu);
    pthread_mutex_destroy(&sw.mu);
    pthread_cond_destroy(&sw.cv);
    if (sw.w.result != SRV_OK) {
        fprintf(stderr, "gc: run %s: %s\n", run_id, sw.w.err.msg);
        return -1;
    }
    return (int)sw.w.out_count;
}

/* Whether 'rel' has 'run_id' as one of its components. */
static bool names_run(const char *rel, const char *run_id)
{
    size_t n = strlen(run_id);
    for (const char *c = rel; *c;) {
        const char *slash = strchr(c, '/');
        size_t len = slash ? (size_t)(slash - c) : strlen(c);
        if (len == n && strncmp(c, run_id, n) == 0)
            return true;
        if (!slash)
            break;
        c = slash + 1;
    }
    return false;
}

/* The artifact folder of 'r' below the root, in 'rel'; false (with the
 * reason in 'why') when gc must leave its artifacts alone. */
static bool run_folder(const struct config *cfg, const struct deleted_run *r,
                       char *rel, size_t rellen, const char **why)
{
    switch (artifact_resolve_uri(cfg->artifact_root, r->artifact_uri, rel,
                                 rellen)) {
    case ARTIFACT_LOC_ROOT:
        if (!names_run(rel, r->run_id)) {
            *why = "not a folder of this run";
            return false;
        }
        return true;
    case ARTIFACT_LOC_EXTERNAL:
        *why = "outside the artifact root";
        return false;
    case ARTIFACT_LOC_REMOTE:
        *why = "not a local folder";
        return false;
    case ARTIFACT_LOC_INVALID:
        break;
    }
    *why = "not a safe path";
    return false;
}

int gc_main(int argc, char **argv)
{
    int64_t older_ms = -1;
    bool dry_run = false;
    char **rest = calloc((size_t)argc + 1, sizeof(*rest));
    if (!rest)
        return 1;
    int nrest = 0;
    rest[nrest++] = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            print_help();
            free(rest);
            return 0;
        }
        if (strcmp(a, "--dry-run") == 0) {
            dry_run = true;
        } else if (strcmp(a, "--older-than") == 0 ||
                   strncmp(a, "--older-than=", 13) == 0) {
            const char *v = a[12] == '=' ? a + 13 : NULL;
            if (!v && i + 1 < argc)
                v = argv[++i];
            if (!v || !gc_parse_duration(v, &older_ms)) {
                fprintf(stderr,
                        "greentrack-server gc: invalid --older-than '%s' "
                        "(expected #d#h#m#s, e.g. 30d or 1d12h)\n",
                        v ? v : "");
                free(rest);
                return 2;
            }
        } else {
            rest[nrest++] = argv[i];
        }
    }
    struct config cfg;
    char err[512];
    enum config_result cr = config_load(&cfg, nrest, rest, err, sizeof(err));
    free(rest);
    if (cr == CONFIG_EXIT_OK)
        return 0;
    if (cr == CONFIG_ERROR) {
        fprintf(stderr, "greentrack-server gc: %s\n", err);
        return 2;
    }
    log_current_level = cfg.log_level;

    struct errbuf eb;
    struct store_config scfg = {
        .db_path = cfg.db_path,
        .artifact_root = cfg.artifact_root,
        .serve_artifacts = cfg.serve_artifacts,
        .durable_full = cfg.durability == DURABILITY_FULL,
        .heartbeat_timeout_ms = 0, /* gc never expires runs */
        .default_pue = cfg.default_pue,
    };
    struct store *st = store_open(&scfg, &eb);
    if (!st) {
        fprintf(stderr, "greentrack-server gc: %s\n", eb.msg);
        return 1;
    }
    int64_t deleted_before = older_ms < 0 ? -1 : store_now_ms() - older_ms;
    struct deleted_run *runs;
    size_t n;
    if (store_deleted_runs(st, deleted_before, &runs, &n, &eb) != SRV_OK) {
        fprintf(stderr, "greentrack-server gc: %s\n", eb.msg);
        store_close(st);
        return 1;
    }
    int root = artifact_open_base(cfg.artifact_root);
    size_t purged = 0;
    uint64_t entries = 0;
    int status = 0;
    for (size_t i = 0; i < n; i++) {
        const struct deleted_run *r = &runs[i];
        char when[32], rel[4096], where[8400];
        const char *why = NULL;
        iso_time(when, sizeof(when), r->deleted_time);
        bool own = run_folder(&cfg, r, rel, sizeof(rel), &why);
        if (own)
            snprintf(where, sizeof(where), "%s/%s", cfg.artifact_root, rel);
        else
            snprintf(where, sizeof(where), "%s (left alone: %s)",
                     r->artifact_uri, why);
        if (dry_run) {
            printf("would remove run %s (experiment %lld, deleted %s), "
                   "artifacts %s\n",
                   r->run_id, (long long)r->experiment_id, when, where);
            purged++;
            continue;
        }
        int p = purge(st, r->run_id, deleted_before);
        if (p < 0) {
            status = 1;
            continue;
        }
        if (p == 0) {
            printf("skipped run %s: restored or deleted again meanwhile\n",
                   r->run_id);
            continue;
        }
        purged++;
        uint64_t removed = 0;
        if (own && root >= 0) {
            if (artifact_remove(root, rel, &removed, &eb) != SRV_OK) {
                fprintf(stderr, "gc: run %s: artifacts: %s\n", r->run_id,
                        eb.msg);
                status = 1;
            }
            /* the run's own folder (<experiment>/<run_id>) too, if empty */
            char parent[4096];
            snprintf(parent, sizeof(parent), "%s", rel);
            char *slash = strrchr(parent, '/');
            if (slash && strcmp(slash + 1, "artifacts") == 0) {
                *slash = '\0';
                slash = strrchr(parent, '/');
                if (strcmp(slash ? slash + 1 : parent, r->run_id) == 0)
                    artifact_remove_empty_dir(root, parent);
            }
            entries += removed;
        }
        printf("removed run %s (experiment %lld, deleted %s), artifacts %s: "
               "%llu entries\n",
               r->run_id, (long long)r->experiment_id, when, where,
               (unsigned long long)removed);
    }
    if (root >= 0)
        close(root);
    else if (n)
        log_warn("the artifact root %s cannot be opened: artifacts left",
                 cfg.artifact_root);
    if (dry_run)
        printf("gc (dry run): %zu deleted run(s) would be removed\n", purged);
    else
        printf("gc: removed %zu run(s) and %llu artifact entries\n", purged,
               (unsigned long long)entries);
    deleted_runs_free(runs, n);
    store_close(st);
    return status;
}
