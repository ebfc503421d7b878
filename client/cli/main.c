/* SPDX-License-Identifier: MIT
 *
 * main.c: the `greentrack` command. Parses the global options, resolves
 * the tracking URI and dispatches to the commands (run, sync, runs,
 * artifacts, models, ...); also holds the helpers the commands share (option
 * matching, errors, REST calls through gt_request, time formatting). Uses
 * libgreentrack's public API only.
 */
#include "cli.h"
#include "when.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef __has_include
#if __has_include("version.h")
#include "version.h"
#endif
#endif
#ifndef GREENTRACK_VERSION
#define GREENTRACK_VERSION GT_VERSION
#endif

#define DEFAULT_URI "http://127.0.0.1:5000"

static const char USAGE[] =
    "usage: greentrack [OPTIONS] COMMAND [ARGS]\n"
    "\n"
    "Logs training runs to a greentrack (or MLflow) tracking server.\n"
    "\n"
    "Commands:\n"
    "  run [OPTIONS] -- CMD [ARGS]  run CMD as a tracked run\n"
    "  sync                         send what processes left in the spool\n"
    "                               while the server was down\n"
    "  runs list [OPTIONS]          list runs as a table (or --json)\n"
    "  runs show RUN_ID             a run's params, tags and metrics\n"
    "  artifacts log RUN_ID PATH    upload a file or folder to a run\n"
    "  artifacts ls RUN_ID [PATH]   list a run's artifacts\n"
    "  artifacts get RUN_ID PATH    download an artifact (file or folder)\n"
    "  models ls [OPTIONS]          list registered models: latest versions,\n"
    "                               aliases (or --json)\n"
    "  models show NAME             a model's versions with their CO2 and\n"
    "                               metric per kg CO2\n"
    "  models alias NAME ALIAS VER  point an alias at a version\n"
    "  import-codecarbon FILE       import a CodeCarbon emissions.csv\n"
    "  when [OPTIONS]               when the grid will be greenest for a\n"
    "                               job (run --when-green waits for it)\n"
    "  login [OPTIONS]              store an API token for a server that\n"
    "                               runs with --auth\n"
    "  logout                       revoke and forget that token\n"
    "  whoami                       who the server takes you for\n"
    "\n"
    "Options (also accepted after the command name):\n"
    "  --tracking-uri URI  the server; else $GREENTRACK_TRACKING_URI, else\n"
    "                      $MLFLOW_TRACKING_URI, else " DEFAULT_URI "\n"
    "  --spool-dir DIR     where records wait while the server is down;\n"
    "                      else $GREENTRACK_SPOOL_DIR, else\n"
    "                      $XDG_CACHE_HOME/greentrack/spool, else\n"
    "                      ~/.cache/greentrack/spool\n"
    "  -v, --verbose       print the library's diagnostics on stderr\n"
    "\n"
    "Credentials (a server with --auth): $MLFLOW_TRACKING_USERNAME and\n"
    "$MLFLOW_TRACKING_PASSWORD, else $GREENTRACK_TRACKING_TOKEN or\n"
    "$MLFLOW_TRACKING_TOKEN, else the token 'greentrack login' stored.\n"
    "https:// servers are verified against the system's CAs or the PEM\n"
    "file $GREENTRACK_CA_BUNDLE names.\n"
    "  -h, --help          this text ('greentrack COMMAND --help' for one\n"
    "                      command)\n"
    "  -V, --version       print the version and exit\n"
    "\n"
    "Exit status: 0 success, 1 error (the server refused, I/O, timeout),\n"
    "2 bad usage, 3 the server could not be reached. 'greentrack run'\n"
    "exits with its command's status (128+N when killed by signal N).\n";

static int verbose;

void cli_err(const char *fmt, ...)
{
    va_list ap;
    char msg[1024];

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "greentrack: %s\n", msg);
}

int cli_opt(int argc, char **argv, int *i, const char *name, const char **value)
{
    const char *a = argv[*i];
    size_t n = strlen(name);

    if (strncmp(a, name, n) != 0) {
        return 0;
    }
    if (a[n] == '=') {
        *value = a + n + 1;
        return 1;
    }
    if (a[n] != '\0') {
        return 0;
    }
    if (*i + 1 >= argc) {
        cli_err("option %s needs a value", name);
        return -1;
    }
    *i += 1;
    *value = argv[*i];
    return 1;
}

int cli_global_opt(struct cli_global *g, int argc, char **argv, int *i)
{
    int r;

    if (strcmp(argv[*i], "-v") == 0 || strcmp(argv[*i], "--verbose") == 0) {
        verbose = 1;
        return 1;
    }
    if ((r = cli_opt(argc, argv, i, "--tracking-uri", &g->tracking_uri))) {
        return r;
    }
    return cli_opt(argc, argv, i, "--spool-dir", &g->spool_dir);
}

int cli_parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

int cli_url_encode(const char *s, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        int plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                    c == '.' || c == '~';
        if (o + (plain ? 1 : 3) >= cap) {
            return -1;
        }
        if (plain) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
    return 0;
}

static void log_to_stderr(void *userdata, gt_log_level level,
                          const char *message)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};

    (void)userdata;
    fprintf(stderr, "greentrack: [%s] %s\n",
            (unsigned)level < 4 ? names[level] : "?", message);
}

gt_client *cli_client_new(const struct cli_global *g)
{
    gt_status err = GT_OK;
    gt_client *c = gt_client_new_ex(g->tracking_uri, &err);

    if (c == NULL && err == GT_E_INVALID) {
        cli_err("cannot use tracking URI '%s' (want http://HOST:PORT or "
                "https://...)",
                g->tracking_uri);
        return NULL;
    }
    if (c == NULL) {
        cli_err("cannot create a client: %s", gt_strerror(err));
        return NULL;
    }
    if (g->spool_dir != NULL &&
        gt_client_set_spool_dir(c, g->spool_dir) != GT_OK) {
        cli_err("cannot use spool directory '%s'", g->spool_dir);
        gt_client_free(c);
        return NULL;
    }
    if (verbose) {
        gt_client_set_log_callback(c, log_to_stderr, NULL);
    }
    return c;
}

/* The server's {"error_code","message"} as one line, or the raw body. */
static void print_http_error(const char *what, long status, const char *body)
{
    cJSON *j = body ? cJSON_Parse(body) : NULL;
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(j, "error_code");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "message");

    if (cJSON_IsString(msg) && cJSON_IsString(code)) {
        cli_err("cannot %s: %s (HTTP %ld %s)", what, msg->valuestring, status,
                code->valuestring);
    } else {
        cli_err("cannot %s: HTTP %ld %.200s", what, status, body ? body : "");
    }
    cJSON_Delete(j);
}

int cli_call(gt_client *client, const char *method, const char *path,
             const char *body, const char *what, cJSON **out, long *http_status)
{
    char *resp = NULL;
    long status = 0;
    gt_status st = gt_request(client, method, path, body, &resp, &status);
    cJSON *j;
    const char *end = NULL;

    if (st != GT_OK) {
        const char *m = gt_client_errmsg(client);
        cli_err("cannot %s: %s%s%s", what, gt_strerror(st),
                (m && *m) ? ": " : "", (m && *m) ? m : "");
        gt_free(resp);
        return st == GT_E_NETWORK ? CLI_EXIT_UNREACHABLE : CLI_EXIT_ERROR;
    }
    if (http_status != NULL) {
        *http_status = status;
    }
    if (status == 404 && http_status != NULL) {
        gt_free(resp);
        return CLI_EXIT_ERROR;
    }
    if (status == 401 || status == 403) {
        /* the library says which credential is missing or refused */
        const char *m = gt_client_errmsg(client);
        cli_err("cannot %s: %s", what,
                (m && *m) ? m : "not authorized (HTTP 401 or 403)");
        gt_free(resp);
        return CLI_EXIT_ERROR;
    }
    if (status != 200) {
        print_http_error(what, status, resp);
        gt_free(resp);
        return CLI_EXIT_ERROR;
    }
    /* The length counts the terminator, which cJSON then requires. */
    j = cJSON_ParseWithLengthOpts(resp ? resp : "{}",
                                  resp ? strlen(resp) + 1 : 3, &end, 1);
    gt_free(resp);
    if (j == NULL) {
        cli_err("cannot %s: the server's answer is not JSON", what);
        return CLI_EXIT_ERROR;
    }
    *out = j;
    return CLI_EXIT_OK;
}

void cli_format_time(int64_t ms, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (ms <= 0 || localtime_r(&t, &tm) == NULL ||
        strftime(out, cap, "%Y-%m-%d %H:%M:%S", &tm) == 0) {
        snprintf(out, cap, "-");
    }
}

void cli_format_duration(int64_t ms, char *out, size_t cap)
{
    int64_t s = ms / 1000;

    if (ms < 0) {
        snprintf(out, cap, "-");
    } else if (ms < 1000) {
        snprintf(out, cap, "%lldms", (long long)ms);
    } else if (ms < 60000) {
        snprintf(out, cap, "%.1fs", (double)ms / 1000.0);
    } else if (s < 3600) {
        snprintf(out, cap, "%lldm%02llds", (long long)(s / 60),
                 (long long)(s % 60));
    } else if (s < 86400) {
        snprintf(out, cap, "%lldh%02lldm", (long long)(s / 3600),
                 (long long)(s % 3600 / 60));
    } else {
        snprintf(out, cap, "%lldd%02lldh", (long long)(s / 86400),
                 (long long)(s % 86400 / 3600));
    }
}

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);

    return (v != NULL && *v != '\0') ? v : NULL;
}

int main(int argc, char **argv)
{
    struct cli_global g = {NULL, NULL};
    const char *cmd;
    int i = 1;
    int rc;

    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        int r;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(USAGE, stdout);
            return CLI_EXIT_OK;
        }
        if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
            printf("greentrack %s (libgreentrack %s)\n", GREENTRACK_VERSION,
                   gt_version());
            return CLI_EXIT_OK;
        }
        if ((r = cli_global_opt(&g, argc, argv, &i)) < 0) {
            return CLI_EXIT_USAGE;
        }
        if (r == 0) {
            cli_err("unknown option '%s' (see greentrack --help)", a);
            return CLI_EXIT_USAGE;
        }
    }
    if (i >= argc) {
        fputs(USAGE, stderr);
        return CLI_EXIT_USAGE;
    }
    cmd = argv[i++];
    if (strcmp(cmd, "help") == 0) {
        if (i >= argc) {
            fputs(USAGE, stdout);
            return CLI_EXIT_OK;
        }
        /* "greentrack help run" is "greentrack run --help". */
        static char help_opt[] = "--help";
        static char *help_argv[] = {help_opt, NULL};
        cmd = argv[i];
        argc = 1;
        argv = help_argv;
        i = 0;
    }
    if (g.tracking_uri == NULL) {
        g.tracking_uri = env_nonempty("GREENTRACK_TRACKING_URI");
    }
    if (g.tracking_uri == NULL) {
        g.tracking_uri = env_nonempty("MLFLOW_TRACKING_URI");
    }
    if (g.tracking_uri == NULL) {
        g.tracking_uri = DEFAULT_URI;
    }
    if (strcmp(cmd, "run") == 0) {
        rc = cli_cmd_run(&g, argc - i, argv + i);
    } else if (strcmp(cmd, "sync") == 0) {
        rc = cli_cmd_sync(&g, argc - i, argv + i);
    } else if (strcmp(cmd, "runs") == 0) {
        rc = cli_cmd_runs(&g, argc - i, argv + i);
    } else if (strcmp(cmd, "artifacts") == 0) {
        rc = cli_cmd_artifacts(&g, argc - i, argv + i);
    } else if (strcmp(cmd, "models") == 0) {
        rc = cli_cmd_models(&g, argc - i, argv + i);
    } else if (strcmp(cmd, "import-codecarbon") == 0) {
        rc = cli_cmd_import_codecarbon(&g, argc - i, argv + i);
    } else if (strcmp(cmd, "when") == 0) {
        rc = cli_cmd_when(&g, argc - i, argv + i);
    } else if (strcmp(cmd, "login") == 0) {
        rc = cli_cmd_login(&g, argc - i, argv + i);
    } else if (strcmp(cmd, "logout") == 0) {
        rc = cli_cmd_logout(&g, argc - i, argv + i);
    } else if (strcmp(cmd, "whoami") == 0) {
        rc = cli_cmd_whoami(&g, argc - i, argv + i);
    } else {
        cli_err("unknown command '%s' (see greentrack --help)", cmd);
        rc = CLI_EXIT_USAGE;
    }
    return rc;
}
