/* SPDX-License-Identifier: MIT
 *
 * cmd_artifacts.c: `greentrack artifacts log|ls|get`. Uploads a file or a
 * folder to a run, lists a run's artifacts, downloads one (a folder with
 * everything in it), through libgreentrack's blocking artifact calls
 * (gt_artifact_upload, gt_artifact_list, gt_artifact_download), with a
 * progress bar on stderr for large transfers when it is a terminal.
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char USAGE_LOG[] =
    "usage: greentrack artifacts log RUN_ID PATH [OPTIONS]\n"
    "\n"
    "Uploads PATH, a file or a folder, to the run's artifacts (through the\n"
    "server's MLflow artifact proxy, or into the run's artifact folder when\n"
    "it is a local one). It keeps its name: a file becomes P/NAME, a\n"
    "folder's files P/NAME/..., where P is --artifact-path (a folder\n"
    "given as '.' puts its files at P itself). Existing files of the same\n"
    "name are replaced.\n"
    "\n"
    "Options:\n"
    "  -a, --artifact-path P  the folder among the run's artifacts\n"
    "                         (default: the top), e.g. model or plots/a\n"
    "  -q, --quiet            no progress bar, no summary line\n"
    "  --tracking-uri URI, -v  as for greentrack\n"
    "  -h, --help             this text\n"
    "\n"
    "Exit status: 0 uploaded, 1 error (e.g. no such run or file, the server\n"
    "refused), 2 bad usage, 3 the server could not be reached.\n";

static const char USAGE_LS[] =
    "usage: greentrack artifacts ls RUN_ID [PATH] [OPTIONS]\n"
    "\n"
    "Lists the run's artifacts in folder PATH (default: the top), one\n"
    "level: folders end with '/', files show their size.\n"
    "\n"
    "Options:\n"
    "  --json                 the listing as JSON: {\"root_uri\", \"files\":\n"
    "                         [{\"path\", \"is_dir\", \"file_size\"}]}\n"
    "  --tracking-uri URI, -v  as for greentrack\n"
    "  -h, --help             this text\n"
    "\n"
    "Exit status: 0 success (also for an empty folder), 1 error (e.g. no\n"
    "such run), 2 bad usage, 3 the server could not be reached.\n";

static const char USAGE_GET[] =
    "usage: greentrack artifacts get RUN_ID PATH [OPTIONS]\n"
    "\n"
    "Downloads the run's artifact PATH: a file, or a folder with everything\n"
    "in it ('.' for all of the run's artifacts). Each file is written to a\n"
    "temporary name and renamed once complete.\n"
    "\n"
    "Options:\n"
    "  -o, --output DEST  where to: into DEST when it is a folder (the\n"
    "                     default is the current folder), keeping PATH's\n"
    "                     last part as the name (the run id for '.');\n"
    "                     otherwise DEST is the new file or folder\n"
    "  -q, --quiet        no progress bar, no summary line\n"
    "  --tracking-uri URI, -v  as for greentrack\n"
    "  -h, --help         this text\n"
    "\n"
    "Exit status: 0 downloaded, 1 error (e.g. no such run or artifact, a\n"
    "file could not be written), 2 bad usage, 3 the server could not be\n"
    "reached.\n";

static const char USAGE_ARTIFACTS[] =
    "usage: greentrack artifacts log RUN_ID PATH [--artifact-path P]\n"
    "       greentrack artifacts ls RUN_ID [PATH] [--json]\n"
    "       greentrack artifacts get RUN_ID PATH [-o DEST]\n"
    "('greentrack artifacts log --help', ... for each)\n";

/* A progress bar is drawn for transfers of at least this many bytes. */
#define BAR_MIN_BYTES (1024 * 1024)
#define BAR_WIDTH 30

/*---- sizes and the progress bar ----*/

/* "532 B", "12.3 KiB", "1.5 GiB". */
static void human_size(double bytes, char *out, size_t cap)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;

    while (bytes >= 1024.0 && u < 4) {
        bytes /= 1024.0;
        u++;
    }
    if (u == 0) {
        snprintf(out, cap, "%.0f B", bytes);
    } else {
        snprintf(out, cap, "%.1f %s", bytes, units[u]);
    }
}

struct bar {
    int on;    /* stderr is a terminal and not --quiet */
    int drawn; /* something is on the line */
    uint64_t done, total;
    struct timespec last;
};

static void bar_draw(struct bar *b)
{
    char done[32], total[32], line[BAR_WIDTH + 1];
    int fill =
        b->total ? (int)((double)b->done / (double)b->total * BAR_WIDTH) : 0;

    for (int i = 0; i < BAR_WIDTH; i++) {
        line[i] = i < fill ? '#' : '-';
    }
    line[BAR_WIDTH] = '\0';
    human_size((double)b->done, done, sizeof done);
    human_size((double)b->total, total, sizeof total);
    fprintf(stderr, "\rgreentrack: [%s] %3d%% %s / %s\033[K", line,
            b->total ? (int)((double)b->done * 100.0 / (double)b->total) : 0,
            done, total);
    fflush(stderr);
    b->drawn = 1;
}

/* gt_progress_fn: redraws at most ten times a second, and at the end. */
static void on_progress(void *userdata, uint64_t done, uint64_t total)
{
    struct bar *b = userdata;
    struct timespec now;
    double since;

    b->done = done;
    b->total = total;
    if (!b->on || total < BAR_MIN_BYTES) {
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    since = (double)(now.tv_sec - b->last.tv_sec) +
            (double)(now.tv_nsec - b->last.tv_nsec) / 1e9;
    if (b->drawn && since < 0.1 && done < total) {
        return;
    }
    b->last = now;
    bar_draw(b);
}

static void bar_end(struct bar *b)
{
    if (b->drawn) {
        fputc('\n', stderr);
    }
}

/*---- shared ----*/

/* The exit code for a failed artifact call, after printing why (the
 * library's message, which names the problem, or the status's text). */
static int fail(gt_client *client, const char *what, gt_status st)
{
    const char *m = gt_client_errmsg(client);

    if (*m && st != GT_E_NETWORK) {
        cli_err("%s: %s", what, m);
    } else {
        cli_err("%s: %s%s%s", what, gt_strerror(st), *m ? ": " : "", m);
    }
    if (st == GT_E_NETWORK) {
        return CLI_EXIT_UNREACHABLE;
    }
    return st == GT_E_INVALID ? CLI_EXIT_USAGE : CLI_EXIT_ERROR;
}

/* The last part of 'path' (trailing '/' ignored) into 'out'; "" for "",
 * ".", "/" and paths ending in "/." or "..". */
static void last_part(const char *path, char *out, size_t cap)
{
    size_t n = strlen(path), i;

    while (n > 0 && path[n - 1] == '/') {
        n--;
    }
    i = n;
    while (i > 0 && path[i - 1] != '/') {
        i--;
    }
    snprintf(out, cap, "%.*s", (int)(n - i), path + i);
    if (strcmp(out, ".") == 0 || strcmp(out, "..") == 0) {
        out[0] = '\0';
    }
}

/* Parses RUN_ID, [PATH...] and the options every subcommand shares;
 * 'opt' matches the subcommand's own (returns like cli_opt). */
struct args {
    const char *pos[3];
    int npos;
    int quiet;
    int json;
    const char *artifact_path;
    const char *output;
};

static int parse(struct cli_global *g, int argc, char **argv, const char *usage,
                 const char *name, int max_pos, struct args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 0; i < argc; i++) {
        int r;
        const char *s = argv[i];
        if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
            fputs(usage, stdout);
            return -1;
        }
        if (strcmp(s, "-q") == 0 || strcmp(s, "--quiet") == 0) {
            a->quiet = 1;
            continue;
        }
        if (strcmp(s, "--json") == 0 && strcmp(name, "ls") == 0) {
            a->json = 1;
            continue;
        }
        if ((r = cli_global_opt(g, argc, argv, &i)) == 0 &&
            strcmp(name, "log") == 0 &&
            (r = cli_opt(argc, argv, &i, "--artifact-path",
                         &a->artifact_path)) == 0) {
            r = cli_opt(argc, argv, &i, "-a", &a->artifact_path);
        }
        if (r == 0 && strcmp(name, "get") == 0 &&
            (r = cli_opt(argc, argv, &i, "--output", &a->output)) == 0) {
            r = cli_opt(argc, argv, &i, "-o", &a->output);
        }
        if (r < 0) {
            return CLI_EXIT_USAGE;
        }
        if (r > 0) {
            continue;
        }
        if ((s[0] == '-' && s[1] != '\0') || a->npos >= max_pos) {
            cli_err("artifacts %s: unexpected '%s' (see greentrack "
                    "artifacts %s --help)",
                    name, s, name);
            return CLI_EXIT_USAGE;
        }
        a->pos[a->npos++] = s;
    }
    return 0;
}

/*---- artifacts log ----*/

static int cmd_log(struct cli_global *g, int argc, char **argv)
{
    struct args a;
    struct bar bar;
    struct stat st;
    char name[1024], *dest = NULL;
    gt_client *client;
    gt_status s;
    int rc = parse(g, argc, argv, USAGE_LOG, "log", 2, &a);

    if (rc != 0) {
        return rc < 0 ? CLI_EXIT_OK : rc;
    }
    if (a.npos < 2) {
        cli_err("artifacts log: %s (greentrack artifacts log RUN_ID PATH)",
                a.npos ? "which file or folder?" : "which run and path?");
        return CLI_EXIT_USAGE;
    }
    if (stat(a.pos[1], &st) != 0) {
        char msg[128];
        if (strerror_r(errno, msg, sizeof msg) != 0) {
            snprintf(msg, sizeof msg, "cannot read it");
        }
        cli_err("artifacts log: %s: %s", a.pos[1], msg);
        return CLI_EXIT_ERROR;
    }
    /* a folder keeps its name as a file does (gt_artifact_upload puts a
     * folder's files directly under the path it is given) */
    last_part(a.pos[1], name, sizeof name);
    if (S_ISDIR(st.st_mode) && name[0]) {
        const char *p = a.artifact_path ? a.artifact_path : "";
        size_t n = strlen(p) + strlen(name) + 2;
        if ((dest = malloc(n)) == NULL) {
            cli_err("out of memory");
            return CLI_EXIT_ERROR;
        }
        snprintf(dest, n, "%s%s%s", p, *p ? "/" : "", name);
    }
    if ((client = cli_client_new(g)) == NULL) {
        free(dest);
        return CLI_EXIT_ERROR;
    }
    memset(&bar, 0, sizeof bar);
    bar.on = !a.quiet && isatty(STDERR_FILENO);
    s = gt_artifact_upload(client, a.pos[0], a.pos[1],
                           dest ? dest : a.artifact_path, on_progress, &bar);
    bar_end(&bar);
    if (s != GT_OK) {
        char what[1200];
        snprintf(what, sizeof what, "cannot upload %.1000s", a.pos[1]);
        rc = fail(client, what, s);
    } else if (!a.quiet) {
        char size[32], where[1200];
        const char *ap = dest ? dest : a.artifact_path;
        human_size((double)bar.total, size, sizeof size);
        if (S_ISDIR(st.st_mode)) {
            snprintf(where, sizeof where, "%.1000s/", ap && *ap ? ap : ".");
        } else {
            snprintf(where, sizeof where, "%.500s%s%.500s", ap && *ap ? ap : "",
                     ap && *ap ? "/" : "", name);
        }
        fprintf(stderr, "greentrack: uploaded %s as %s of run %s (%s)\n",
                a.pos[1], where, a.pos[0], size);
    }
    free(dest);
    gt_client_free(client);
    return rc;
}

/*---- artifacts ls ----*/

static int cmd_ls(struct cli_global *g, int argc, char **argv)
{
    struct args a;
    gt_client *client;
    gt_status s;
    char *json = NULL;
    cJSON *j = NULL;
    const cJSON *f;
    int rc = parse(g, argc, argv, USAGE_LS, "ls", 2, &a);

    if (rc != 0) {
        return rc < 0 ? CLI_EXIT_OK : rc;
    }
    if (a.npos < 1) {
        cli_err("artifacts ls: which run? (greentrack artifacts ls RUN_ID "
                "[PATH])");
        return CLI_EXIT_USAGE;
    }
    if ((client = cli_client_new(g)) == NULL) {
        return CLI_EXIT_ERROR;
    }
    s = gt_artifact_list(client, a.pos[0], a.npos > 1 ? a.pos[1] : NULL, &json);
    if (s != GT_OK) {
        rc = fail(client, "cannot list the artifacts", s);
        goto out;
    }
    if ((j = cJSON_Parse(json)) == NULL) {
        cli_err("artifacts ls: out of memory");
        rc = CLI_EXIT_ERROR;
        goto out;
    }
    if (a.json) {
        char *text = cJSON_Print(j);
        if (text == NULL) {
            cli_err("out of memory");
            rc = CLI_EXIT_ERROR;
            goto out;
        }
        puts(text);
        cJSON_free(text);
        goto out;
    }
    {
        const cJSON *files = cJSON_GetObjectItemCaseSensitive(j, "files");
        size_t width = 4;
        if (cJSON_GetArraySize(files) == 0) {
            fprintf(stderr, "greentrack: no artifacts in run %s%s%s\n",
                    a.pos[0], a.npos > 1 ? " under " : "",
                    a.npos > 1 ? a.pos[1] : "");
            goto out;
        }
        cJSON_ArrayForEach(f, files)
        {
            const cJSON *p = cJSON_GetObjectItemCaseSensitive(f, "path");
            size_t w = cJSON_IsString(p) ? strlen(p->valuestring) + 1 : 0;
            width = w > width ? w : width;
        }
        printf("%-*s  %s\n", (int)width, "PATH", "SIZE");
        cJSON_ArrayForEach(f, files)
        {
            const cJSON *p = cJSON_GetObjectItemCaseSensitive(f, "path");
            const cJSON *size =
                cJSON_GetObjectItemCaseSensitive(f, "file_size");
            int dir =
                cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "is_dir"));
            char name[2048], hs[32] = "-";
            if (!cJSON_IsString(p)) {
                continue;
            }
            snprintf(name, sizeof name, "%s%s", p->valuestring, dir ? "/" : "");
            if (!dir && cJSON_IsNumber(size)) {
                human_size(size->valuedouble, hs, sizeof hs);
            }
            printf("%-*s  %s\n", (int)width, name, hs);
        }
    }
out:
    cJSON_Delete(j);
    gt_free(json);
    gt_client_free(client);
    return rc;
}

/*---- artifacts get ----*/

static int cmd_get(struct cli_global *g, int argc, char **argv)
{
    struct args a;
    struct bar bar;
    struct stat st;
    char name[1024], *dest = NULL;
    const char *out;
    gt_client *client;
    gt_status s;
    int rc = parse(g, argc, argv, USAGE_GET, "get", 2, &a);

    if (rc != 0) {
        return rc < 0 ? CLI_EXIT_OK : rc;
    }
    if (a.npos < 2) {
        cli_err("artifacts get: %s (greentrack artifacts get RUN_ID PATH)",
                a.npos ? "which artifact? ('.' for all)"
                       : "which run and artifact?");
        return CLI_EXIT_USAGE;
    }
    out = a.output ? a.output : ".";
    last_part(a.pos[1], name, sizeof name);
    if (stat(out, &st) == 0 && S_ISDIR(st.st_mode)) {
        /* into the folder, under the artifact's own name */
        const char *nm = name[0] ? name : a.pos[0];
        size_t n = strlen(out) + strlen(nm) + 2;
        if ((dest = malloc(n)) == NULL) {
            cli_err("out of memory");
            return CLI_EXIT_ERROR;
        }
        snprintf(dest, n, "%s/%s", out, nm);
    }
    if ((client = cli_client_new(g)) == NULL) {
        free(dest);
        return CLI_EXIT_ERROR;
    }
    memset(&bar, 0, sizeof bar);
    bar.on = !a.quiet && isatty(STDERR_FILENO);
    s = gt_artifact_download(client, a.pos[0], a.pos[1], dest ? dest : out,
                             on_progress, &bar);
    bar_end(&bar);
    if (s != GT_OK) {
        char what[1200];
        snprintf(what, sizeof what, "cannot download %.1000s", a.pos[1]);
        rc = fail(client, what, s);
    } else if (!a.quiet) {
        char size[32];
        human_size((double)bar.done, size, sizeof size);
        fprintf(stderr, "greentrack: downloaded %s of run %s to %s (%s)\n",
                a.pos[1], a.pos[0], dest ? dest : out, size);
    }
    free(dest);
    gt_client_free(client);
    return rc;
}

int cli_cmd_artifacts(struct cli_global *g, int argc, char **argv)
{
    if (argc < 1) {
        fputs(USAGE_ARTIFACTS, stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "--help") == 0) {
        fputs(USAGE_ARTIFACTS, stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[0], "log") == 0 || strcmp(argv[0], "upload") == 0) {
        return cmd_log(g, argc - 1, argv + 1);
    }
    if (strcmp(argv[0], "ls") == 0 || strcmp(argv[0], "list") == 0) {
        return cmd_ls(g, argc - 1, argv + 1);
    }
    if (strcmp(argv[0], "get") == 0 || strcmp(argv[0], "download") == 0) {
        return cmd_get(g, argc - 1, argv + 1);
    }
    cli_err("artifacts: unknown subcommand '%s' (log, ls or get)", argv[0]);
    return CLI_EXIT_USAGE;
}
