/* SPDX-License-Identifier: MIT
 *
 * config: flag and environment parsing. Each option is one row of a table,
 * so the flag, its variable, its default and its help line stay together.
 */
#include "config.h"

#include "artifact_store.h"
#include "browser_guard.h"
#include "numtext.h"
#include "store/db.h"
#include "version.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

enum opt_id {
    OPT_HOST,
    OPT_PORT,
    OPT_DB,
    OPT_DB_READ,
    OPT_ARTIFACT_ROOT,
    OPT_WEB_ROOT,
    OPT_THREADS,
    OPT_MAX_BODY_BYTES,
    OPT_MAX_INFLIGHT_BODY_BYTES,
    OPT_MAX_CONNECTIONS,
    OPT_MAX_CONNECTIONS_PER_IP,
    OPT_REQUEST_TIMEOUT,
    OPT_KEEPALIVE_TIMEOUT,
    OPT_SHUTDOWN_GRACE_MS,
    OPT_DURABILITY,
    OPT_LOG_LEVEL,
    OPT_HEARTBEAT_TIMEOUT,
    OPT_DEFAULT_PUE,
    OPT_UKCI_URL,
    OPT_ELECTRICITYMAPS_URL,
    OPT_ELECTRICITYMAPS_TOKEN,
    OPT_WATTTIME_URL,
    OPT_WATTTIME_USER,
    OPT_WATTTIME_PASSWORD,
    OPT_GRID_TIMEOUT_MS,
    OPT_GRID_TTL,
    OPT_GRID_REFRESH,
    OPT_SERVE_ARTIFACTS,
    OPT_ALLOW_EXTERNAL_ARTIFACTS,
    OPT_MAX_ARTIFACT_BYTES,
    OPT_MAX_RESPONSE_BYTES,
    OPT_AUTH,
    OPT_AUTH_DEFAULT_PERMISSION,
    OPT_TLS_CERT,
    OPT_TLS_KEY,
    OPT_ALLOWED_HOSTS,
    OPT_CORS_ORIGINS,
    OPT_COUNT
};

struct opt {
    const char *flag; /* without the leading "--" */
    const char *env;
    const char *metavar; /* NULL: a value-less flag (--x sets 1, --no-x 0;
                            its variable takes 1|0|true|false) */
    const char *help;
};

static const struct opt opts[OPT_COUNT] = {
    [OPT_HOST] = {"host", "GREENTRACK_HOST", "ADDR",
                  "address to listen on (default 127.0.0.1)"},
    [OPT_PORT] = {"port", "GREENTRACK_PORT", "N",
                  "TCP port (default 5000; 0 picks a free port)"},
    [OPT_DB] = {"db", "GREENTRACK_DB", "PATH|URL",
                "SQLite database file (default ./greentrack.db), or "
                "postgresql://USER:PASSWORD@HOST:PORT/DBNAME?sslmode=..."},
    [OPT_DB_READ] = {"db-read", "GREENTRACK_DB_READ", "URL",
                     "PostgreSQL streaming replica of --db: runs/search, "
                     "metric histories and leaderboards read from it; a "
                     "client that wrote reads from the primary until the "
                     "replica replayed its write (PostgreSQL --db only)"},
    [OPT_ARTIFACT_ROOT] = {"artifact-root", "GREENTRACK_ARTIFACT_ROOT", "DIR",
                           "folder (or file: URI) of run artifacts "
                           "(default ./mlartifacts)"},
    [OPT_WEB_ROOT] = {"web-root", "GREENTRACK_WEB_ROOT", "DIR",
                      "built web UI (default: next to the binary)"},
    [OPT_THREADS] = {"threads", "GREENTRACK_THREADS", "N",
                     "HTTP threads (default: number of CPUs)"},
    [OPT_MAX_BODY_BYTES] = {"max-body-bytes", "GREENTRACK_MAX_BODY_BYTES", "N",
                            "largest request body of log-batch, log-energy "
                            "and the imports (default 16 MiB; other "
                            "endpoints take at most 1 MiB)"},
    [OPT_MAX_INFLIGHT_BODY_BYTES] = {"max-inflight-body-bytes",
                                     "GREENTRACK_MAX_INFLIGHT_BODY_BYTES", "N",
                                     "request bodies held at once, with their "
                                     "parsed JSON; past it a new one gets 503 "
                                     "and Retry-After (default 64 MiB)"},
    [OPT_MAX_CONNECTIONS] = {"max-connections", "GREENTRACK_MAX_CONNECTIONS",
                             "N",
                             "open connections; more are closed at once "
                             "(default 2048)"},
    [OPT_MAX_CONNECTIONS_PER_IP] = {"max-connections-per-ip",
                                    "GREENTRACK_MAX_CONNECTIONS_PER_IP", "N",
                                    "open connections from one client "
                                    "address (IPv6: one /64); more are closed "
                                    "at once (default 128; 0 = no limit)"},
    [OPT_REQUEST_TIMEOUT] = {"request-timeout-s",
                             "GREENTRACK_REQUEST_TIMEOUT_S", "SECONDS",
                             "close a connection whose request (head, body "
                             "or answer) moves no byte for this long "
                             "(default 10)"},
    [OPT_KEEPALIVE_TIMEOUT] = {"keepalive-timeout-s",
                               "GREENTRACK_KEEPALIVE_TIMEOUT_S", "SECONDS",
                               "close an idle keep-alive connection after "
                               "this long (default 30)"},
    [OPT_SHUTDOWN_GRACE_MS] = {"shutdown-grace-ms",
                               "GREENTRACK_SHUTDOWN_GRACE_MS", "MS",
                               "on SIGTERM, time for queued writes to commit; "
                               "those that cannot are answered 503 (default "
                               "8000)"},
    [OPT_DURABILITY] = {"durability", "GREENTRACK_DURABILITY", "full|normal",
                        "full: survives power loss (default); normal: "
                        "survives a crash of the process"},
    [OPT_LOG_LEVEL] = {"log-level", "GREENTRACK_LOG_LEVEL",
                       "error|warn|info|debug", "log verbosity (default info)"},
    [OPT_HEARTBEAT_TIMEOUT] = {"heartbeat-timeout",
                               "GREENTRACK_HEARTBEAT_TIMEOUT", "SECONDS",
                               "mark a RUNNING run KILLED when its heartbeats "
                               "stop this long (default 300; 0 = never)"},
    [OPT_DEFAULT_PUE] = {"default-pue", "GREENTRACK_DEFAULT_PUE", "X",
                         "PUE of runs that name no PUE and no cloud "
                         "provider (default 1.0, as CodeCarbon)"},
    [OPT_UKCI_URL] = {"ukci-url", "GREENTRACK_UKCI_URL", "URL",
                      "UK Carbon Intensity API (default "
                      "https://api.carbonintensity.org.uk)"},
    [OPT_ELECTRICITYMAPS_URL] = {"electricitymaps-url",
                                 "GREENTRACK_ELECTRICITYMAPS_URL", "URL",
                                 "Electricity Maps API (default "
                                 "https://api.electricitymap.org/v3)"},
    [OPT_ELECTRICITYMAPS_TOKEN] = {"electricitymaps-token",
                                   "GREENTRACK_ELECTRICITYMAPS_TOKEN", "TOKEN",
                                   "Electricity Maps auth-token (none: "
                                   "Electricity Maps is not used)"},
    [OPT_WATTTIME_URL] = {"watttime-url", "GREENTRACK_WATTTIME_URL", "URL",
                          "WattTime API (default https://api.watttime.org)"},
    [OPT_WATTTIME_USER] = {"watttime-user", "GREENTRACK_WATTTIME_USER", "NAME",
                           "WattTime account (none: WattTime is not used)"},
    [OPT_WATTTIME_PASSWORD] = {"watttime-password",
                               "GREENTRACK_WATTTIME_PASSWORD", "PASSWORD",
                               "WattTime password"},
    [OPT_GRID_TIMEOUT_MS] = {"grid-timeout-ms", "GREENTRACK_GRID_TIMEOUT_MS",
                             "MS",
                             "limit of one provider request (default 5000; "
                             "connecting at most 2000)"},
    [OPT_GRID_TTL] = {"grid-ttl-s", "GREENTRACK_GRID_TTL_S", "SECONDS",
                      "refetch forecasts older than this (default 900)"},
    [OPT_GRID_REFRESH] = {"grid-refresh-s", "GREENTRACK_GRID_REFRESH_S",
                          "SECONDS",
                          "fetch recorded intensity for the zones of runs "
                          "this often (default 600; 0 = never)"},
    [OPT_SERVE_ARTIFACTS] = {"serve-artifacts", "GREENTRACK_SERVE_ARTIFACTS",
                             NULL,
                             "serve the MLflow artifact proxy "
                             "(/api/2.0/mlflow-artifacts/) and give new "
                             "experiments mlflow-artifacts:/ locations "
                             "(default on; --no-serve-artifacts: off)"},
    [OPT_ALLOW_EXTERNAL_ARTIFACTS] = {"allow-external-artifact-locations",
                                      "GREENTRACK_ALLOW_EXTERNAL_ARTIFACT_"
                                      "LOCATIONS",
                                      NULL,
                                      "let artifacts/list read runs whose "
                                      "artifact location is a local folder "
                                      "outside --artifact-root (default off)"},
    [OPT_MAX_ARTIFACT_BYTES] = {"max-artifact-bytes",
                                "GREENTRACK_MAX_ARTIFACT_BYTES", "N",
                                "largest artifact upload (default 5 GiB)"},
    [OPT_MAX_RESPONSE_BYTES] = {"max-response-bytes",
                                "GREENTRACK_MAX_RESPONSE_BYTES", "N",
                                "a list page ends early, with a "
                                "next_page_token, before it would pass this "
                                "size (default 8 MiB; one item larger than "
                                "it still goes out alone)"},
    [OPT_AUTH] = {"auth", "GREENTRACK_AUTH", NULL,
                  "require users (Basic, Bearer token or session); a new "
                  "database needs GREENTRACK_ADMIN_USERNAME and "
                  "GREENTRACK_ADMIN_PASSWORD"},
    [OPT_AUTH_DEFAULT_PERMISSION] = {"auth-default-permission",
                                     "GREENTRACK_AUTH_DEFAULT_PERMISSION",
                                     "READ|EDIT|MANAGE|NO_PERMISSIONS",
                                     "permission of a user on a resource "
                                     "without a grant (default READ)"},
    [OPT_TLS_CERT] = {"tls-cert", "GREENTRACK_TLS_CERT", "FILE",
                      "serve HTTPS (TLS 1.2+) with this PEM certificate "
                      "(chain); needs --tls-key; reload = restart"},
    [OPT_TLS_KEY] = {"tls-key", "GREENTRACK_TLS_KEY", "FILE",
                     "the PEM private key of --tls-cert (unencrypted)"},
    [OPT_ALLOWED_HOSTS] = {"allowed-hosts", "GREENTRACK_ALLOWED_HOSTS", "LIST",
                           "Host header values answered, comma-separated "
                           "name, name:port or *.domain (default: the bind "
                           "address, localhost, 127.0.0.1 and [::1] with the "
                           "port; * = any); others get 421"},
    [OPT_CORS_ORIGINS] = {"cors-origins", "GREENTRACK_CORS_ORIGINS", "LIST",
                          "origins (https://host[:port], comma-separated) "
                          "whose pages may call the API, CORS included "
                          "(default: none)"},
};

static void print_help(void)
{
    printf("Usage: greentrack-server [OPTION]...\n"
           "       greentrack-server gc [--older-than DURATION] [--dry-run] "
           "[OPTION]...\n"
           "       greentrack-server migrate --from PATH.db --to "
           "postgresql://... [--append] [--verify-only]\n"
           "Experiment-tracking server speaking the MLflow Tracking REST API "
           "2.0, with carbon accounting.\n"
           "gc permanently removes deleted runs and their artifacts (see "
           "greentrack-server gc --help); migrate copies a SQLite database "
           "into PostgreSQL (see greentrack-server migrate --help).\n\n");
    for (int i = 0; i < OPT_COUNT; i++) {
        char left[64];
        if (opts[i].metavar)
            snprintf(left, sizeof(left), "--%s %s", opts[i].flag,
                     opts[i].metavar);
        else
            snprintf(left, sizeof(left), "--%s", opts[i].flag);
        printf("  %-36s %s\n", left, opts[i].help);
        printf("  %-36s   env: %s%s\n", "", opts[i].env,
               opts[i].metavar ? "" : "=1|0");
    }
    printf("  %-36s %s\n", "--help", "show this help and exit");
    printf("  %-36s %s\n", "--version", "show the version and exit");
}

/* A strict decimal (numtext.h) in [0, max]. */
static int parse_uint(const char *s, unsigned long long max,
                      unsigned long long *out)
{
    int64_t v;
    if (*s == '-' || !numtext_i64(s, &v) || v < 0 ||
        (unsigned long long)v > max)
        return -1;
    *out = (unsigned long long)v;
    return 0;
}

static int copy_str(char *dst, size_t dstlen, const char *src)
{
    size_t n = strlen(src);
    if (n >= dstlen)
        return -1;
    memcpy(dst, src, n + 1);
    return 0;
}

/* A provider's base URL: http:// or https://, kept without a trailing
 * slash (paths are appended to it). */
static int base_url(char *dst, size_t dstlen, const char *val)
{
    if (strncmp(val, "http://", 7) != 0 && strncmp(val, "https://", 8) != 0)
        return -1;
    if (copy_str(dst, dstlen, val))
        return -1;
    size_t n = strlen(dst);
    while (n > 8 && dst[n - 1] == '/')
        dst[--n] = '\0';
    return 0;
}

/* A value-less flag's value: "1"/"true"/"yes" or "0"/"false"/"no". */
static int parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

/* An artifact root: a path, or a file: URI of one ("file:///x",
 * "file://localhost/x", "file:/x"), percent-escapes decoded. */
static int artifact_root(char *dst, size_t dstlen, const char *val)
{
    if (strncasecmp(val, "file:", 5) == 0) {
        val += 5;
        if (val[0] == '/' && val[1] == '/') {
            const char *slash = strchr(val + 2, '/');
            size_t host = slash ? (size_t)(slash - val - 2) : strlen(val + 2);
            if (host && !(host == 9 && strncmp(val + 2, "localhost", 9) == 0))
                return -1; /* a remote host: not a local folder */
            val = slash ? slash : "/";
        }
    }
    if (!*val || copy_str(dst, dstlen, val))
        return -1;
    return artifact_percent_decode(dst) ? 0 : -1; /* no %00 */
}

/* Applies one option value; returns 0 or -1 with 'err' set. 'source' names
 * where the value came from, for the message. */
static int apply(struct config *cfg, enum opt_id id, const char *val,
                 const char *source, char *err, size_t errlen)
{
    unsigned long long n;
    switch (id) {
    case OPT_HOST:
        if (!*val || copy_str(cfg->host, sizeof(cfg->host), val))
            goto bad;
        return 0;
    case OPT_PORT:
        if (parse_uint(val, 65535, &n))
            goto bad;
        cfg->port = (unsigned)n;
        return 0;
    case OPT_DB:
        if (!*val || copy_str(cfg->db_path, sizeof(cfg->db_path), val))
            goto bad;
        return 0;
    case OPT_DB_READ:
        if (!db_target_is_postgres(val) ||
            copy_str(cfg->db_read, sizeof(cfg->db_read), val))
            goto bad;
        return 0;
    case OPT_ARTIFACT_ROOT:
        if (artifact_root(cfg->artifact_root, sizeof(cfg->artifact_root), val))
            goto bad;
        return 0;
    case OPT_WEB_ROOT:
        if (copy_str(cfg->web_root, sizeof(cfg->web_root), val))
            goto bad;
        return 0;
    case OPT_THREADS:
        if (parse_uint(val, 256, &n) || n == 0)
            goto bad;
        cfg->threads = (unsigned)n;
        return 0;
    case OPT_MAX_BODY_BYTES:
        if (parse_uint(val, (unsigned long long)1 << 32, &n) || n < 1024)
            goto bad;
        cfg->max_body_bytes = (size_t)n;
        return 0;
    case OPT_MAX_INFLIGHT_BODY_BYTES:
        if (parse_uint(val, (unsigned long long)1 << 40, &n) || n < 1024)
            goto bad;
        cfg->max_inflight_body_bytes = (size_t)n;
        return 0;
    case OPT_MAX_CONNECTIONS:
        if (parse_uint(val, 1000000, &n) || n == 0)
            goto bad;
        cfg->max_connections = (unsigned)n;
        return 0;
    case OPT_MAX_CONNECTIONS_PER_IP:
        if (parse_uint(val, 1000000, &n))
            goto bad;
        cfg->max_connections_per_ip = (unsigned)n;
        return 0;
    case OPT_REQUEST_TIMEOUT:
        if (parse_uint(val, 3600, &n) || n == 0)
            goto bad;
        cfg->request_timeout_s = (unsigned)n;
        return 0;
    case OPT_KEEPALIVE_TIMEOUT:
        if (parse_uint(val, 3600, &n) || n == 0)
            goto bad;
        cfg->keepalive_timeout_s = (unsigned)n;
        return 0;
    case OPT_SHUTDOWN_GRACE_MS:
        if (parse_uint(val, 600000, &n))
            goto bad;
        cfg->shutdown_grace_ms = (unsigned)n;
        return 0;
    case OPT_DURABILITY:
        if (strcmp(val, "full") == 0)
            cfg->durability = DURABILITY_FULL;
        else if (strcmp(val, "normal") == 0)
            cfg->durability = DURABILITY_NORMAL;
        else
            goto bad;
        return 0;
    case OPT_LOG_LEVEL:
        if (log_level_parse(val, &cfg->log_level))
            goto bad;
        return 0;
    case OPT_HEARTBEAT_TIMEOUT:
        if (parse_uint(val, 30u * 24 * 3600, &n))
            goto bad;
        cfg->heartbeat_timeout_s = (unsigned)n;
        return 0;
    case OPT_DEFAULT_PUE: {
        double v;
        if (!numtext_double(val, 0, &v) || !(v >= 1.0 && v <= 5.0))
            goto bad;
        cfg->default_pue = v;
        return 0;
    }
    case OPT_UKCI_URL:
        if (base_url(cfg->ukci_url, sizeof(cfg->ukci_url), val))
            goto bad;
        return 0;
    case OPT_ELECTRICITYMAPS_URL:
        if (base_url(cfg->electricitymaps_url, sizeof(cfg->electricitymaps_url),
                     val))
            goto bad;
        return 0;
    case OPT_WATTTIME_URL:
        if (base_url(cfg->watttime_url, sizeof(cfg->watttime_url), val))
            goto bad;
        return 0;
    case OPT_ELECTRICITYMAPS_TOKEN:
        if (copy_str(cfg->electricitymaps_token,
                     sizeof(cfg->electricitymaps_token), val))
            goto bad;
        return 0;
    case OPT_WATTTIME_USER:
        if (copy_str(cfg->watttime_user, sizeof(cfg->watttime_user), val))
            goto bad;
        return 0;
    case OPT_WATTTIME_PASSWORD:
        if (copy_str(cfg->watttime_password, sizeof(cfg->watttime_password),
                     val))
            goto bad;
        return 0;
    case OPT_GRID_TIMEOUT_MS:
        if (parse_uint(val, 120000, &n) || n < 10)
            goto bad;
        cfg->grid_timeout_ms = (unsigned)n;
        return 0;
    case OPT_GRID_TTL:
        if (parse_uint(val, 7u * 24 * 3600, &n))
            goto bad;
        cfg->grid_ttl_s = (unsigned)n;
        return 0;
    case OPT_GRID_REFRESH:
        if (parse_uint(val, 7u * 24 * 3600, &n))
            goto bad;
        cfg->grid_refresh_s = (unsigned)n;
        return 0;
    case OPT_SERVE_ARTIFACTS:
        if (parse_bool(val, &cfg->serve_artifacts))
            goto bad;
        return 0;
    case OPT_ALLOW_EXTERNAL_ARTIFACTS:
        if (parse_bool(val, &cfg->allow_external_artifacts))
            goto bad;
        return 0;
    case OPT_MAX_ARTIFACT_BYTES:
        if (parse_uint(val, UINT64_MAX >> 1, &n))
            goto bad;
        cfg->max_artifact_bytes = (uint64_t)n;
        return 0;
    case OPT_MAX_RESPONSE_BYTES:
        if (parse_uint(val, (unsigned long long)1 << 32, &n) || n < 1024)
            goto bad;
        cfg->max_response_bytes = (size_t)n;
        return 0;
    case OPT_TLS_CERT:
        if (!*val || copy_str(cfg->tls_cert, sizeof(cfg->tls_cert), val))
            goto bad;
        return 0;
    case OPT_TLS_KEY:
        if (!*val || copy_str(cfg->tls_key, sizeof(cfg->tls_key), val))
            goto bad;
        return 0;
    case OPT_ALLOWED_HOSTS:
        if (guard_check_hosts(val, err, errlen))
            return -1;
        if (copy_str(cfg->allowed_hosts, sizeof(cfg->allowed_hosts), val))
            goto bad;
        return 0;
    case OPT_CORS_ORIGINS:
        if (guard_check_origins(val, err, errlen))
            return -1;
        if (copy_str(cfg->cors_origins, sizeof(cfg->cors_origins), val))
            goto bad;
        return 0;
    case OPT_AUTH:
        if (parse_bool(val, &cfg->auth))
            goto bad;
        return 0;
    case OPT_AUTH_DEFAULT_PERMISSION:
        if (strcmp(val, "READ") != 0 && strcmp(val, "EDIT") != 0 &&
            strcmp(val, "MANAGE") != 0 && strcmp(val, "NO_PERMISSIONS") != 0)
            goto bad;
        snprintf(cfg->auth_default_permission,
                 sizeof(cfg->auth_default_permission), "%s", val);
        return 0;
    case OPT_COUNT:
        break;
    }
bad:
    /* secrets are never echoed */
    if (id == OPT_WATTTIME_PASSWORD || id == OPT_ELECTRICITYMAPS_TOKEN)
        val = "(hidden)";
    snprintf(err, errlen, "invalid value '%s' for %s (expected %s)", val,
             source, opts[id].metavar ? opts[id].metavar : "1 or 0");
    return -1;
}

/* The option named name[0, len); '*negated' when it was "no-<flag>" of
 * a value-less flag. */
static int find_opt(const char *name, size_t len, bool *negated)
{
    *negated = false;
    for (int i = 0; i < OPT_COUNT; i++) {
        if (strlen(opts[i].flag) == len &&
            strncmp(opts[i].flag, name, len) == 0)
            return i;
    }
    if (len > 3 && strncmp(name, "no-", 3) == 0) {
        int i = find_opt(name + 3, len - 3, negated);
        if (i >= 0 && !opts[i].metavar) {
            *negated = true;
            return i;
        }
    }
    return -1;
}

static int is_dir_with_index(const char *dir)
{
    char path[4200];
    struct stat st;
    snprintf(path, sizeof(path), "%s/index.html", dir);
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The UI ships next to the binary: <bindir>/../share/greentrack/web, which
 * is both the build tree's layout and the install prefix's. */
static void find_web_root(struct config *cfg)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return;
    *slash = '\0';
    char cand[PATH_MAX + 64];
    snprintf(cand, sizeof(cand), "%s/../share/greentrack/web", exe);
    char real[PATH_MAX];
    if (realpath(cand, real) && is_dir_with_index(real))
        copy_str(cfg->web_root, sizeof(cfg->web_root), real);
}

enum config_result config_load(struct config *cfg, int argc, char **argv,
                               char *err, size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->host, sizeof(cfg->host), "127.0.0.1");
    cfg->port = 5000;
    snprintf(cfg->db_path, sizeof(cfg->db_path), "./greentrack.db");
    snprintf(cfg->artifact_root, sizeof(cfg->artifact_root), "./mlartifacts");
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->threads = ncpu > 0 ? (unsigned)(ncpu > 64 ? 64 : ncpu) : 2;
    cfg->max_body_bytes = 16u << 20;
    cfg->max_inflight_body_bytes = (size_t)64 << 20;
    cfg->max_connections = 2048;
    cfg->max_connections_per_ip = 128;
    cfg->request_timeout_s = 10;
    cfg->keepalive_timeout_s = 30;
    cfg->shutdown_grace_ms = 8000;
    cfg->durability = DURABILITY_FULL;
    cfg->log_level = LOG_INFO;
    cfg->heartbeat_timeout_s = 300;
    cfg->default_pue = 1.0;
    snprintf(cfg->ukci_url, sizeof(cfg->ukci_url),
             "https://api.carbonintensity.org.uk");
    snprintf(cfg->electricitymaps_url, sizeof(cfg->electricitymaps_url),
             "https://api.electricitymap.org/v3");
    snprintf(cfg->watttime_url, sizeof(cfg->watttime_url),
             "https://api.watttime.org");
    cfg->grid_timeout_ms = 5000;
    cfg->grid_ttl_s = 900;
    cfg->grid_refresh_s = 600;
    cfg->serve_artifacts = true;
    cfg->max_artifact_bytes = (uint64_t)5 << 30;
    cfg->max_response_bytes = (size_t)8 << 20;
    snprintf(cfg->auth_default_permission, sizeof(cfg->auth_default_permission),
             "READ");
    bool web_root_set = false;

    for (int i = 0; i < OPT_COUNT; i++) {
        const char *v = getenv(opts[i].env);
        if (!v)
            continue;
        if (apply(cfg, (enum opt_id)i, v, opts[i].env, err, errlen))
            return CONFIG_ERROR;
        if (i == OPT_WEB_ROOT)
            web_root_set = true;
    }

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            print_help();
            return CONFIG_EXIT_OK;
        }
        if (strcmp(a, "--version") == 0) {
            printf("greentrack-server %s\n", GREENTRACK_VERSION);
            return CONFIG_EXIT_OK;
        }
        if (strncmp(a, "--", 2) != 0) {
            snprintf(err, errlen, "unexpected argument '%s' (see --help)", a);
            return CONFIG_ERROR;
        }
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        bool negated;
        int id = find_opt(name, len, &negated);
        if (id < 0) {
            snprintf(err, errlen, "unknown option '%.*s' (see --help)",
                     (int)(len + 2), a);
            return CONFIG_ERROR;
        }
        const char *val = eq ? eq + 1 : NULL;
        if (!opts[id].metavar) {
            if (val) {
                snprintf(err, errlen, "option '--%.*s' takes no value",
                         (int)len, name);
                return CONFIG_ERROR;
            }
            val = negated ? "0" : "1";
        } else if (!val) {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "option '--%s' needs a value",
                         opts[id].flag);
                return CONFIG_ERROR;
            }
            val = argv[++i];
        }
        char source[64];
        snprintf(source, sizeof(source), "--%s", opts[id].flag);
        if (apply(cfg, (enum opt_id)id, val, source, err, errlen))
            return CONFIG_ERROR;
        if (id == OPT_WEB_ROOT)
            web_root_set = true;
    }

    /* Artifact URIs handed to clients must not depend on the server's
     * working directory, so the root is made absolute. */
    if (cfg->artifact_root[0] != '/') {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof(cwd))) {
            snprintf(err, errlen, "cannot read the working directory");
            return CONFIG_ERROR;
        }
        char abs[sizeof(cfg->artifact_root)];
        const char *rel = cfg->artifact_root;
        if (strncmp(rel, "./", 2) == 0)
            rel += 2;
        if ((size_t)snprintf(abs, sizeof(abs), "%s/%s", cwd, rel) >=
            sizeof(abs)) {
            snprintf(err, errlen, "artifact root path too long");
            return CONFIG_ERROR;
        }
        memcpy(cfg->artifact_root, abs, sizeof(abs));
    }
    size_t alen = strlen(cfg->artifact_root);
    while (alen > 1 && cfg->artifact_root[alen - 1] == '/')
        cfg->artifact_root[--alen] = '\0';
    if (!cfg->tls_cert[0] != !cfg->tls_key[0]) {
        snprintf(err, errlen, "--tls-cert and --tls-key go together: %s",
                 cfg->tls_cert[0] ? "--tls-key is missing"
                                  : "--tls-cert is missing");
        return CONFIG_ERROR;
    }
    if (cfg->db_read[0] && !db_target_is_postgres(cfg->db_path)) {
        snprintf(err, errlen,
                 "--db-read needs a PostgreSQL --db (postgresql://...): a "
                 "SQLite database has no replicas");
        return CONFIG_ERROR;
    }
    if (!web_root_set)
        find_web_root(cfg);
    return CONFIG_OK;
}

void config_db_display(const char *db, char *out, size_t size)
{
    if (size == 0)
        return;
    out[0] = '\0';
    if (!db_target_is_postgres(db)) {
        snprintf(out, size, "%s", db);
        return;
    }
    size_t o = 0;
    const char *p = db;
    const char *authority = strstr(db, "://") + 3;
    const char *at = strchr(authority, '@');
    const char *slash = strchr(authority, '/');
    const char *colon = strchr(authority, ':');
    bool has_password = at && (!slash || at < slash) && colon && colon < at;
    while (*p && o + 1 < size) {
        if (has_password && p == colon + 1) {
            for (const char *m = "***"; *m && o + 1 < size; m++)
                out[o++] = *m;
            p = at;
            continue;
        }
        if (strncmp(p, "password=", 9) == 0 && (p[-1] == '?' || p[-1] == '&')) {
            for (const char *m = "password=***"; *m && o + 1 < size; m++)
                out[o++] = *m;
            p += 9;
            while (*p && *p != '&')
                p++;
            continue;
        }
        out[o++] = *p++;
    }
    out[o] = '\0';
}
