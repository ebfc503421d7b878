/* SPDX-License-Identifier: MIT
 *
 * cmd_run.c: `greentrack run -- CMD [ARGS]`. Starts a run, hands its id and
 * the tracking URI to CMD through the environment (so CMD's own MLflow or
 * libgreentrack client logs into the same run), forwards the signals a
 * supervisor sends, waits, uploads the --artifact outputs, and ends the
 * run FINISHED, FAILED or KILLED from CMD's exit status, which it then
 * exits with. --phase marks CMD's whole life as one phase of the run (with
 * its work count); the experiment's carbon budget is checked before the
 * run starts (a warning, or with --enforce-budget a refusal).
 */
#include "cli.h"
#include "when.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* How long the run's creation may take to reach the server before CMD
 * starts: an MLflow client in CMD attaching to MLFLOW_RUN_ID needs the run
 * to exist. When the server is down CMD starts anyway after this. */
#define START_FLUSH_MS 3000

/* `greentrack run --enforce-budget`: the experiment's carbon budget is
 * spent, or it could not be checked. */
/* libgreentrack's default request timeout (gt_client_set_request_timeout_ms),
 * restored after the budget check's shorter one. */
#define LIB_REQUEST_TIMEOUT_MS 10000
#define RUN_EXIT_OVER_BUDGET 3
#define RUN_EXIT_BUDGET_UNKNOWN 4

static const char USAGE[] =
    "usage: greentrack run [OPTIONS] -- CMD [ARGS]\n"
    "\n"
    "Starts a run, runs CMD with these variables set, and ends the run\n"
    "from CMD's exit status:\n"
    "  GREENTRACK_RUN_ID, MLFLOW_RUN_ID     the run's id\n"
    "  MLFLOW_TRACKING_URI, GREENTRACK_TRACKING_URI  the server\n"
    "  MLFLOW_TRACKING_TOKEN  the token 'greentrack login' stored, when\n"
    "                         no credential variable is set already\n"
    "so an MLflow script (mlflow.start_run() picks up MLFLOW_RUN_ID) or a\n"
    "libgreentrack program (gt_run_attach) logs into the same run.\n"
    "\n"
    "Options:\n"
    "  -e, --experiment NAME  the experiment (created when missing;\n"
    "                         default: Default)\n"
    "  -n, --name NAME        the run's name (default: the server picks)\n"
    "  -p, --param KEY=VALUE  log a parameter (repeatable)\n"
    "  -t, --tag KEY=VALUE    set a tag (repeatable)\n"
    "  --artifact PATH        once CMD has ended, upload PATH (a file or a\n"
    "                         folder, keeping its name) to the run's\n"
    "                         artifacts, before the run ends "
    "(repeatable)\n" CLI_WHEN_RUN_USAGE
    "  --phase NAME           mark CMD, from its start to its exit, as phase\n"
    "                         NAME of the run (train, eval, inference...:\n"
    "                         [A-Za-z0-9_.-], at most 64 characters)\n"
    "  --work-count N         with --phase: the items CMD processed (N >= 0,\n"
    "                         e.g. predictions), for the CO2 per 1000 items\n"
    "  --work-unit UNIT       with --phase: what the items are (predictions)\n"
    "  --enforce-budget       refuse to start when the experiment's carbon\n"
    "                         budget (its tag greentrack.budget_co2_kg) is\n"
    "                         spent (exit 3) or cannot be checked (exit 4);\n"
    "                         without it a spent budget is a warning\n"
    "  --scope node|process   energy charged to the run: the whole machine's\n"
    "                         (node, the default) or the CPU and RAM share\n"
    "                         of CMD's process tree: CMD and every process\n"
    "                         it starts (process)\n"
    "  --tracking-uri URI, --spool-dir DIR, -v  as for greentrack\n"
    "  -h, --help             this text\n"
    "\n"
    "SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 sent to\n"
    "greentrack are passed on to CMD (a terminal's Ctrl-C reaches CMD\n"
    "directly and is not sent twice). The run ends FINISHED when CMD exits\n"
    "0, FAILED when it exits non-zero, KILLED when a signal ends it (or it\n"
    "exits 128+N after signal N was passed on). The tag greentrack.exit_code\n"
    "or greentrack.signal records how CMD ended. If the server cannot be\n"
    "reached, CMD runs anyway and the records wait in the spool (an\n"
    "--artifact as a reference to the file: 'greentrack sync' uploads it\n"
    "later if it has not changed meanwhile). A signal while the artifacts\n"
    "upload stops waiting for them; what is not sent is spooled.\n"
    "\n"
    "Energy is measured while the run is open (unless GREENTRACK_ENERGY=off)\n"
    "and CMD's share, from its start to its exit, is summed up on stderr.\n"
    "CMD gets GREENTRACK_ENERGY=off, so a CMD that links libgreentrack\n"
    "does not count the same energy twice.\n"
    "\n"
    "Exit status: CMD's exit status, 128+N when signal N killed it,\n"
    "126 when CMD cannot be executed, 127 when it is not found, 2 for bad\n"
    "usage, 1 when the run cannot be started; with --enforce-budget, 3 when\n"
    "the experiment is over its carbon budget, 4 when the budget cannot be\n"
    "checked (the server cannot be reached or cannot report budgets).\n";

static const int FORWARDED[] = {SIGINT,  SIGTERM, SIGHUP,
                                SIGQUIT, SIGUSR1, SIGUSR2};
#define N_FORWARDED (sizeof FORWARDED / sizeof FORWARDED[0])

/* The forwarded signals and SIGCHLD stay blocked in every thread (the
 * library's worker inherits the mask) and are taken synchronously with
 * sigwaitinfo by the main thread: no async handler, no lost or early
 * signal, and sanitizers see plain calls. */
static int last_signal; /* the last forwarded signal received, or 0 */

static void signal_set(sigset_t *set, int with_chld)
{
    sigemptyset(set);
    for (size_t i = 0; i < N_FORWARDED; i++) {
        sigaddset(set, FORWARDED[i]);
    }
    if (with_chld) {
        sigaddset(set, SIGCHLD);
    }
}

/* Passes a received signal on to CMD, unless the terminal sent it: the
 * terminal signals its whole foreground process group, CMD included, and
 * passing it on would deliver it twice. */
static void forward(pid_t pid, const siginfo_t *info)
{
    last_signal = info->si_signo;
#ifdef SI_KERNEL
    if (info->si_code == SI_KERNEL) {
        return;
    }
#endif
    kill(pid, info->si_signo);
}

/* Waits for CMD to end, forwarding signals meanwhile; returns its wait
 * status. */
static int wait_child(pid_t pid)
{
    sigset_t set;
    siginfo_t info;
    int wstatus = 1 << 8;

    signal_set(&set, 1);
    for (;;) {
        pid_t r = waitpid(pid, &wstatus, WNOHANG);
        if (r == pid) {
            return wstatus;
        }
        if (r < 0 && errno != EINTR) {
            cli_err("lost the command (waitpid failed)");
            return 1 << 8;
        }
        if (sigwaitinfo(&set, &info) < 0) {
            continue; /* EINTR */
        }
        if (info.si_signo != SIGCHLD) {
            forward(pid, &info);
        }
    }
}

/* Takes the forwarded signals received before CMD started; returns the
 * first that asks to stop (INT, TERM, HUP, QUIT), or 0. */
static int pending_stop(void)
{
    sigset_t set;
    siginfo_t info;
    struct timespec zero = {0, 0};
    int stop = 0;

    signal_set(&set, 0);
    while (sigtimedwait(&set, &info, &zero) > 0) {
        int sig = info.si_signo;
        if (stop == 0 && sig != SIGUSR1 && sig != SIGUSR2) {
            stop = sig;
        }
    }
    return stop;
}

struct kv {
    const char *arg; /* "key=value" as given */
    char *key;       /* malloc'ed copy of the key */
    const char *value;
};

static int parse_kv(const char *opt, const char *arg, struct kv *out)
{
    const char *eq = strchr(arg, '=');

    if (eq == NULL || eq == arg) {
        cli_err("%s wants KEY=VALUE, not '%s'", opt, arg);
        return -1;
    }
    out->arg = arg;
    out->key = strndup(arg, (size_t)(eq - arg));
    out->value = eq + 1;
    if (out->key == NULL) {
        cli_err("out of memory");
        return -1;
    }
    return 0;
}

/* "NAME=value" in a new string. */
static char *env_entry(const char *name, const char *value)
{
    size_t n = strlen(name) + strlen(value) + 2;
    char *s = malloc(n);

    if (s != NULL) {
        snprintf(s, n, "%s=%s", name, value);
    }
    return s;
}

static int env_is(const char *entry, const char *name)
{
    size_t n = strlen(name);

    return strncmp(entry, name, n) == 0 && entry[n] == '=';
}

#define N_CHILD_VARS 7

/* The token `greentrack login` stored for 'uri', for a child that speaks
 * MLflow (MLFLOW_TRACKING_TOKEN), when the environment names no
 * credential of its own; NULL otherwise. Caller frees with gt_free. */
static char *stored_token(const char *uri)
{
    static const char *const creds[] = {
        "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD",
        "MLFLOW_TRACKING_TOKEN", "GREENTRACK_TRACKING_TOKEN"};
    char *token = NULL;

    for (size_t i = 0; i < sizeof creds / sizeof creds[0]; i++) {
        const char *v = getenv(creds[i]);
        if (v != NULL && *v != '\0') {
            return NULL;
        }
    }
    if (gt_credentials_get(uri, NULL, &token, NULL, NULL, 0) != GT_OK) {
        return NULL;
    }
    return token;
}

/* The child's environment: ours, with the run's variables replaced.
 * MLFLOW_RUN_ID is the id the server knows the run by ('server_id': on a
 * plain MLflow server it differs from greentrack's client-chosen one).
 * 'token' (may be NULL) becomes MLFLOW_TRACKING_TOKEN. '*owned' receives
 * the entries to free (NULL-terminated). */
static char **child_env(const struct cli_global *g, const char *run_id,
                        const char *server_id, const char *token, char ***owned)
{
    const char *names[N_CHILD_VARS] = {
        "GREENTRACK_RUN_ID",    "MLFLOW_RUN_ID",
        "MLFLOW_TRACKING_URI",  "GREENTRACK_TRACKING_URI",
        "GREENTRACK_SPOOL_DIR", "GREENTRACK_ENERGY",
        "MLFLOW_TRACKING_TOKEN"};
    /* GREENTRACK_ENERGY=off: this process measures the run's energy */
    const char *values[N_CHILD_VARS] = {run_id,
                                        server_id ? server_id : run_id,
                                        g->tracking_uri,
                                        g->tracking_uri,
                                        g->spool_dir,
                                        "off",
                                        token};
    size_t n_names = sizeof names / sizeof names[0];
    size_t n_env = 0, o = 0, k;
    char **env, **mine;

    while (environ[n_env] != NULL) {
        n_env++;
    }
    env = calloc(n_env + n_names + 1, sizeof *env);
    mine = calloc(n_names + 1, sizeof *mine);
    if (env == NULL || mine == NULL) {
        free(env);
        free(mine);
        return NULL;
    }
    for (size_t i = 0; i < n_env; i++) {
        int replaced = 0;
        for (k = 0; k < n_names; k++) {
            if (values[k] != NULL && env_is(environ[i], names[k])) {
                replaced = 1;
            }
        }
        if (!replaced) {
            env[o++] = environ[i];
        }
    }
    for (k = 0; k < n_names; k++) {
        if (values[k] == NULL) {
            continue;
        }
        mine[k] = env_entry(names[k], values[k]);
        if (mine[k] == NULL) {
            for (size_t j = 0; j < k; j++) {
                free(mine[j]);
            }
            free(env);
            free(mine);
            return NULL;
        }
        env[o++] = mine[k];
    }
    *owned = mine;
    return env;
}

static void free_owned(char **owned)
{
    for (size_t k = 0; owned != NULL && k < N_CHILD_VARS; k++) {
        free(owned[k]);
    }
    free(owned);
}

/* Starts CMD with 'env' and the signal mask and dispositions greentrack
 * started with; returns 0 with *pid set, or an errno value. */
static int spawn(char **cmd, char **env, const sigset_t *mask, pid_t *pid)
{
    posix_spawnattr_t attr;
    sigset_t dfl;
    int err;

    signal_set(&dfl, 1);
    sigaddset(&dfl, SIGPIPE);
    if ((err = posix_spawnattr_init(&attr)) != 0) {
        return err;
    }
    posix_spawnattr_setsigmask(&attr, mask);
    posix_spawnattr_setsigdefault(&attr, &dfl);
    posix_spawnattr_setflags(&attr,
                             POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    err = posix_spawnp(pid, cmd[0], NULL, &attr, cmd, env);
    posix_spawnattr_destroy(&attr);
    return err;
}

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGHUP:
        return "SIGHUP";
    case SIGINT:
        return "SIGINT";
    case SIGQUIT:
        return "SIGQUIT";
    case SIGILL:
        return "SIGILL";
    case SIGABRT:
        return "SIGABRT";
    case SIGBUS:
        return "SIGBUS";
    case SIGFPE:
        return "SIGFPE";
    case SIGKILL:
        return "SIGKILL";
    case SIGUSR1:
        return "SIGUSR1";
    case SIGSEGV:
        return "SIGSEGV";
    case SIGUSR2:
        return "SIGUSR2";
    case SIGPIPE:
        return "SIGPIPE";
    case SIGALRM:
        return "SIGALRM";
    case SIGTERM:
        return "SIGTERM";
    default:
        return NULL;
    }
}

static int spooled(const gt_client *client)
{
    gt_stats s;

    memset(&s, 0, sizeof s);
    gt_client_stats(client, &s);
    return s.spooled > 0;
}

/* The run's energy so far (closes a measurement window); 0 when it is
 * measured, -1 when energy is off. */
static int energy_mark(gt_run *run, gt_energy *e)
{
    return gt_run_energy(run, e) == GT_OK ? 0 : -1;
}

/* One line on stderr: the energy from CMD's start ('before', taken just
 * before it started) to its exit. */
static void energy_summary(gt_run *run, const gt_energy *before)
{
    gt_energy e;
    double kwh = 3.6e6;

    if (energy_mark(run, &e) != 0) {
        return; /* energy off */
    }
    if (before != NULL) {
        e.cpu_j -= before->cpu_j;
        e.gpu_j -= before->gpu_j;
        e.ram_j -= before->ram_j;
        e.start_ms = before->end_ms;
    }
    cli_err("energy: %.6f kWh (cpu %.6f kWh %s, gpu %.6f kWh %s, ram "
            "%.6f kWh %s; %s scope, %.1f s)",
            (e.cpu_j + e.gpu_j + e.ram_j) / kwh, e.cpu_j / kwh, e.cpu_method,
            e.gpu_j / kwh, e.gpu_method, e.ram_j / kwh, e.ram_method, e.scope,
            (double)(e.end_ms - e.start_ms) / 1000.0);
}

/* Queues each --artifact for upload (a file as itself, a folder under its
 * own name) and waits until they are sent, or spooled when the server
 * cannot be reached; a stop signal ends the wait (what is not sent yet is
 * spooled when the client is freed). Problems are warnings: the run ends
 * with CMD's status either way. */
static void upload_outputs(gt_client *client, gt_run *run,
                           const char *const *paths, size_t n)
{
    gt_stats before, after;
    size_t queued = 0;

    memset(&before, 0, sizeof before);
    gt_client_stats(client, &before);
    for (size_t k = 0; k < n; k++) {
        struct stat st;
        gt_status st_rc;
        char name[1024];
        size_t len = strlen(paths[k]), i;
        if (stat(paths[k], &st) != 0) {
            cli_err("warning: --artifact %s: no such file or folder", paths[k]);
            continue;
        }
        /* a folder keeps its name, as a file does */
        while (len > 1 && paths[k][len - 1] == '/') {
            len--;
        }
        for (i = len; i > 0 && paths[k][i - 1] != '/'; i--) {
        }
        snprintf(name, sizeof name, "%.*s", (int)(len - i), paths[k] + i);
        if (S_ISDIR(st.st_mode)) {
            int top = strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
                      name[0] == '\0' || strcmp(name, "/") == 0;
            st_rc = gt_log_artifacts(run, paths[k], top ? NULL : name);
        } else {
            st_rc = gt_log_artifact(run, paths[k], NULL);
        }
        if (st_rc != GT_OK) {
            const char *m = gt_client_errmsg(client);
            cli_err("warning: --artifact %s: %s%s%s", paths[k],
                    gt_strerror(st_rc), *m ? ": " : "", m);
            continue;
        }
        queued++;
    }
    if (queued == 0) {
        return;
    }
    for (;;) {
        gt_status f = gt_flush(client, 200);
        int stop;
        if (f != GT_E_TIMEOUT) {
            break;
        }
        if ((stop = pending_stop()) != 0) {
            cli_err("warning: stopped waiting for the --artifact uploads "
                    "(signal %d); what is not sent waits in the spool",
                    stop);
            break;
        }
    }
    memset(&after, 0, sizeof after);
    gt_client_stats(client, &after);
    if (after.artifacts_failed > before.artifacts_failed ||
        after.artifacts_changed > before.artifacts_changed) {
        cli_err("warning: %llu --artifact file(s) not uploaded (-v says "
                "why)",
                (unsigned long long)(after.artifacts_failed -
                                     before.artifacts_failed +
                                     after.artifacts_changed -
                                     before.artifacts_changed));
    }
    if (after.artifacts_spooled > before.artifacts_spooled) {
        cli_err("warning: %llu --artifact file(s) wait in the spool "
                "('greentrack sync' uploads them if they are unchanged)",
                (unsigned long long)(after.artifacts_spooled -
                                     before.artifacts_spooled));
    }
}

/* A phase name the server accepts: 1..64 of [A-Za-z0-9_.-]. */
static int phase_name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 64) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-')) {
            return 0;
        }
    }
    return 1;
}

/* A work unit: 1 to 64 characters (UTF-8 sequences count once; the
 * library checks the encoding). */
static int work_unit_ok(const char *s)
{
    size_t chars = 0;

    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        chars += (*p & 0xC0) != 0x80;
    }
    return chars >= 1 && chars <= 64;
}

/* The experiment's carbon budget, before the run starts: a warning line
 * when it is spent; with 'enforce', RUN_EXIT_OVER_BUDGET then, and
 * RUN_EXIT_BUDGET_UNKNOWN when it cannot be checked. 0: go on. An
 * experiment that does not exist yet has no budget. */
static int budget_gate(gt_client *client, const char *experiment, int enforce)
{
    const char *shown = experiment != NULL ? experiment : "Default";
    gt_budget b;
    gt_status st;

    /* a check that only warns waits for a hung server no longer than the
     * run's creation does (the library's default timeout is 10 s) */
    if (!enforce) {
        gt_client_set_request_timeout_ms(client, START_FLUSH_MS);
    }
    st = gt_experiment_budget(client, NULL, experiment, &b);
    if (!enforce) {
        gt_client_set_request_timeout_ms(client, LIB_REQUEST_TIMEOUT_MS);
    }

    if (st == GT_E_NOT_FOUND) {
        return 0;
    }
    if (st != GT_OK) {
        if (enforce) {
            const char *m = gt_client_errmsg(client);
            cli_err("--enforce-budget: cannot check the carbon budget of "
                    "experiment '%s' (%s%s%s); not starting",
                    shown, gt_strerror(st), *m ? ": " : "", m);
            return RUN_EXIT_BUDGET_UNKNOWN;
        }
        return 0;
    }
    if (!b.has_budget || !b.over) {
        return 0;
    }
    if (enforce) {
        cli_err("refusing to start: experiment '%s' is over its carbon "
                "budget of %g kg CO2 (greentrack.budget_co2_kg): %g kg "
                "used",
                shown, b.budget_co2_kg, b.used_co2_kg);
        return RUN_EXIT_OVER_BUDGET;
    }
    cli_err("warning: experiment '%s' is over its carbon budget of %g kg "
            "CO2 (greentrack.budget_co2_kg): %g kg used",
            shown, b.budget_co2_kg, b.used_co2_kg);
    return 0;
}

/* Logs how CMD ended and ends the run; returns greentrack's exit code. */
static int finish(gt_run *run, int wstatus)
{
    gt_run_status rs;
    char buf[32];
    int code;
    gt_status st;

    if (WIFSIGNALED(wstatus)) {
        int sig = WTERMSIG(wstatus);
        const char *name = signal_name(sig);
        if (name == NULL) {
            snprintf(buf, sizeof buf, "%d", sig);
            name = buf;
        }
        gt_set_tag(run, "greentrack.signal", name);
        rs = GT_RUN_KILLED;
        code = 128 + sig;
    } else {
        code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 1;
        snprintf(buf, sizeof buf, "%d", code);
        gt_set_tag(run, "greentrack.exit_code", buf);
        if (code == 0) {
            rs = GT_RUN_FINISHED;
        } else if (last_signal != 0 && code == 128 + last_signal) {
            rs = GT_RUN_KILLED; /* handled the signal, then exited by it */
        } else {
            rs = GT_RUN_FAILED;
        }
    }
    st = gt_run_end(run, rs);
    if (st == GT_E_TIMEOUT) {
        cli_err("warning: the server was not reached in time; the run's "
                "end is kept in the spool ('greentrack sync' sends it)");
    } else if (st != GT_OK) {
        cli_err("warning: ending the run: %s", gt_strerror(st));
    }
    return code;
}

int cli_cmd_run(struct cli_global *g, int argc, char **argv)
{
    const char *experiment = NULL, *name = NULL, *v, *scope = NULL;
    const char *phase = NULL, *work_count_s = NULL, *work_unit = NULL;
    double work_count = GT_NO_WORK;
    int enforce_budget = 0;
    struct kv *params = calloc((size_t)argc + 1, sizeof *params);
    struct kv *tags = calloc((size_t)argc + 1, sizeof *tags);
    const char **artifacts = calloc((size_t)argc + 1, sizeof *artifacts);
    size_t n_params = 0, n_tags = 0, n_artifacts = 0;
    char **cmd = NULL, **env = NULL, **owned = NULL;
    gt_client *client = NULL;
    gt_run *run = NULL;
    gt_status st;
    pid_t pid;
    int rc = CLI_EXIT_USAGE;
    int i, r, err, wstatus, stop;
    sigset_t block, old_mask;
    struct cli_when when;

    cli_when_init(&when);
    if (params == NULL || tags == NULL || artifacts == NULL) {
        cli_err("out of memory");
        rc = CLI_EXIT_ERROR;
        goto out;
    }
    for (i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-') {
            break; /* CMD without "--" */
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(USAGE, stdout);
            rc = CLI_EXIT_OK;
            goto out;
        }
        if (strcmp(a, "--enforce-budget") == 0) {
            enforce_budget = 1;
            continue;
        }
        if ((r = cli_global_opt(g, argc, argv, &i)) == 0 &&
            (r = cli_when_opt(&when, argc, argv, &i)) == 0 &&
            (r = cli_opt(argc, argv, &i, "--scope", &scope)) == 0 &&
            (r = cli_opt(argc, argv, &i, "--phase", &phase)) == 0 &&
            (r = cli_opt(argc, argv, &i, "--work-count", &work_count_s)) == 0 &&
            (r = cli_opt(argc, argv, &i, "--work-unit", &work_unit)) == 0 &&
            (r = cli_opt(argc, argv, &i, "--artifact",
                         &artifacts[n_artifacts])) == 0 &&
            (r = cli_opt(argc, argv, &i, "--experiment", &experiment)) == 0 &&
            (r = cli_opt(argc, argv, &i, "-e", &experiment)) == 0 &&
            (r = cli_opt(argc, argv, &i, "--name", &name)) == 0 &&
            (r = cli_opt(argc, argv, &i, "-n", &name)) == 0) {
            if ((r = cli_opt(argc, argv, &i, "--param", &v)) != 0 ||
                (r = cli_opt(argc, argv, &i, "-p", &v)) != 0) {
                if (r > 0 && parse_kv("--param", v, &params[n_params++])) {
                    goto out;
                }
            } else if ((r = cli_opt(argc, argv, &i, "--tag", &v)) != 0 ||
                       (r = cli_opt(argc, argv, &i, "-t", &v)) != 0) {
                if (r > 0 && parse_kv("--tag", v, &tags[n_tags++])) {
                    goto out;
                }
            } else {
                cli_err("run: unknown option '%s' (see greentrack run "
                        "--help)",
                        a);
                goto out;
            }
        }
        if (r < 0) {
            goto out;
        }
        if (artifacts[n_artifacts] != NULL) {
            n_artifacts++;
        }
    }
    if (i >= argc) {
        cli_err("run: no command given (greentrack run [OPTIONS] -- CMD "
                "[ARGS])");
        goto out;
    }
    cmd = argv + i;
    if (scope != NULL && strcmp(scope, "node") != 0 &&
        strcmp(scope, "process") != 0) {
        cli_err("run: --scope is node or process, not '%s'", scope);
        goto out;
    }
    if (phase == NULL && (work_count_s != NULL || work_unit != NULL)) {
        cli_err("run: --work-count and --work-unit need --phase");
        goto out;
    }
    if (phase != NULL && !phase_name_ok(phase)) {
        cli_err("run: --phase wants 1 to 64 characters of [A-Za-z0-9_.-], "
                "not '%s'",
                phase);
        goto out;
    }
    if (work_count_s != NULL) {
        char *end;
        errno = 0;
        work_count = strtod(work_count_s, &end);
        if (end == work_count_s || *end != '\0' || errno != 0 ||
            !isfinite(work_count) || work_count < 0) {
            cli_err("run: --work-count wants a number >= 0, not '%s'",
                    work_count_s);
            goto out;
        }
    }
    if (work_unit != NULL && !work_unit_ok(work_unit)) {
        cli_err("run: --work-unit wants 1 to 64 characters");
        goto out;
    }

    rc = CLI_EXIT_ERROR;
    /* Before the library starts its worker thread, which inherits it. */
    signal_set(&block, 1);
    if (pthread_sigmask(SIG_BLOCK, &block, &old_mask) != 0) {
        cli_err("cannot block signals");
        goto out;
    }
    if ((client = cli_client_new(g)) == NULL) {
        goto out;
    }
    int process_scope = scope != NULL && strcmp(scope, "process") == 0;
    if (process_scope) {
        /* until CMD starts, this process's tree; then CMD's (below) */
        gt_client_set_energy_scope(client, GT_ENERGY_PROCESS, 0);
    }
    if ((r = budget_gate(client, experiment, enforce_budget)) != 0) {
        rc = r;
        goto out;
    }
    /* --when-green: wait for the greener window; a signal cancels */
    if ((r = cli_when_wait(&when, client, experiment)) != 0) {
        rc = r;
        goto out;
    }
    if ((st = gt_run_start(client, experiment, name, &run)) != GT_OK) {
        const char *m = gt_client_errmsg(client);
        cli_err("cannot start the run: %s%s%s", gt_strerror(st), *m ? ": " : "",
                m);
        goto out;
    }
    {
        const char *user = getenv("USER");
        gt_set_tag(run, "mlflow.source.name", cmd[0]);
        gt_set_tag(run, "mlflow.source.type", "LOCAL");
        if (user != NULL && *user != '\0') {
            gt_set_tag(run, "mlflow.user", user);
        }
    }
    cli_when_tag(&when, run);
    for (size_t k = 0; k < n_params + n_tags; k++) {
        int is_param = k < n_params;
        const struct kv *e = is_param ? &params[k] : &tags[k - n_params];
        st = is_param ? gt_log_param(run, e->key, e->value)
                      : gt_set_tag(run, e->key, e->value);
        if (st != GT_OK) {
            cli_err("run: cannot log %s '%s': %s",
                    is_param ? "--param" : "--tag", e->arg, gt_strerror(st));
            gt_set_tag(run, "greentrack.error", "bad --param or --tag");
            gt_run_end(run, GT_RUN_FAILED);
            run = NULL;
            rc = CLI_EXIT_USAGE;
            goto out;
        }
    }
    if (gt_flush(client, START_FLUSH_MS) != GT_OK || spooled(client)) {
        /* the library's message says why (unreachable, or which
         * credential is missing or refused) */
        const char *m = gt_client_errmsg(client);
        cli_err("warning: %s is not answering; CMD runs anyway and the "
                "run's records wait in the spool ('greentrack sync' sends "
                "them later)%s%s",
                g->tracking_uri, *m ? ": " : "", m);
    }
    if ((stop = pending_stop()) != 0) {
        /* Told to stop before CMD started. */
        gt_run_end(run, GT_RUN_KILLED);
        run = NULL;
        rc = 128 + stop;
        goto out;
    }
    char *token = stored_token(g->tracking_uri);
    env = child_env(g, gt_run_id(run), gt_run_server_id(run), token, &owned);
    if (token != NULL) {
        memset(token, 0, strlen(token));
        gt_free(token);
    }
    if (env == NULL) {
        cli_err("out of memory");
        gt_run_end(run, GT_RUN_FAILED);
        run = NULL;
        goto out;
    }
    /* a window boundary at CMD's start (waits for the probes to open) */
    gt_energy e_start;
    int measured = energy_mark(run, &e_start) == 0;
    if ((err = spawn(cmd, env, &old_mask, &pid)) != 0) {
        char msg[128];
        if (strerror_r(err, msg, sizeof msg) != 0) {
            snprintf(msg, sizeof msg, "error %d", err);
        }
        cli_err("cannot run '%s': %s", cmd[0], msg);
        gt_set_tag(run, "greentrack.error", msg);
        gt_run_end(run, GT_RUN_FAILED);
        run = NULL;
        rc = (err == ENOENT) ? CLI_EXIT_NOTFOUND : CLI_EXIT_NOEXEC;
        goto out;
    }
    if (phase != NULL && gt_phase_begin(run, phase) != GT_OK) {
        cli_err("warning: cannot mark phase '%s': %s", phase,
                gt_client_errmsg(client));
        phase = NULL;
    }
    if (process_scope &&
        gt_client_set_energy_root(client, (long)pid) != GT_OK) {
        cli_err("warning: cannot measure CMD's process tree alone: "
                "greentrack's tree (CMD included) is measured");
    }
    wstatus = wait_child(pid);
    energy_summary(run, measured ? &e_start : NULL);
    if (phase != NULL &&
        (st = gt_phase_end(run, work_count, work_unit)) != GT_OK) {
        const char *m = gt_client_errmsg(client);
        cli_err("warning: phase '%s' not recorded: %s%s%s", phase,
                gt_strerror(st), *m ? ": " : "", m);
    }
    upload_outputs(client, run, artifacts, n_artifacts);
    rc = finish(run, wstatus);
    run = NULL;
out:
    if (run != NULL) {
        gt_run_end(run, GT_RUN_FAILED);
    }
    gt_client_free(client);
    free(env);
    free_owned(owned);
    for (size_t k = 0; params != NULL && k < n_params; k++) {
        free(params[k].key);
    }
    for (size_t k = 0; tags != NULL && k < n_tags; k++) {
        free(tags[k].key);
    }
    free(params);
    free(tags);
    free(artifacts);
    return rc;
}
