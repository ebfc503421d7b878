/* SPDX-License-Identifier: MIT
 *
 * cmd_when.c: carbon-aware scheduling on the command line. `greentrack
 * when` asks the server's schedule advice (GET /api/2.0/greentrack/
 * schedule: the greenest window of the grid forecast for a job of a given
 * length) and prints it for people or as JSON; `greentrack run
 * --when-green` (hooks called from cmd_run.c) waits for that window before
 * starting its command and tags the run with the delay and the estimated
 * CO2 saved. Owns nothing beyond one call: every answer is freed here.
 */
#include "duration.h"
#include "when.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SCHEDULE_PATH "/api/2.0/greentrack/schedule"
#define DEFAULT_MAX_DELAY_S (24 * 3600)
#define DEFAULT_RUN_MINUTES 60
#define MAX_WITHIN_S (168 * 3600) /* the server's limit */

static const char USAGE[] =
    "usage: greentrack when [OPTIONS]\n"
    "\n"
    "Asks the server when the grid will be greenest for a job: the start\n"
    "within the next --within hours whose --duration long window has the\n"
    "lowest forecast carbon intensity, and how much less CO2 that is than\n"
    "starting now. With --experiment it also uses the experiment's runs:\n"
    "their zone (tag greentrack.zone), typical duration and energy, to\n"
    "estimate the CO2 of the next run now and at the best start.\n"
    "\n"
    "Options:\n"
    "  --zone ZONE            the grid zone, e.g. GB (default\n"
    "                         $GREENTRACK_ZONE, else the experiment's)\n"
    "  --duration DURATION    how long the job runs (default: the\n"
    "                         experiment's typical run, else 60m)\n"
    "  --within DURATION      how far ahead to look (default 24h, at most\n"
    "                         168h)\n"
    "  -e, --experiment NAME  use this experiment's runs\n"
    "  --source SOURCE        ukci, electricitymaps or watttime (default:\n"
    "                         the server's)\n"
    "  --min-saving PCT       advise waiting only for at least PCT %% less\n"
    "                         CO2 than starting now (default 1)\n"
    "  --json                 print the server's answer as JSON\n"
    "  --tracking-uri URI, --spool-dir DIR, -v  as for greentrack\n"
    "  -h, --help             this text\n"
    "\n"
    "DURATION is 90m, 3h, 1h30m, 45s or a number of minutes.\n"
    "`greentrack run --when-green --max-delay 6h -- CMD` waits for the\n"
    "window itself before running CMD.\n"
    "\n"
    "Exit status: 0 advice printed, 1 no advice (the server or its\n"
    "forecast provider refused or is down; the message says why), 2 bad\n"
    "usage, 3 the server could not be reached.\n";

/*---- the schedule call -----------------------------------------------*/

struct query {
    const char *zone;          /* NULL: none */
    int64_t duration_s;        /* 0: none */
    int64_t within_s;          /* 0: none (the server's 24 h) */
    const char *experiment_id; /* NULL: none */
    const char *source;        /* NULL: none */
    const char *min_saving;    /* NULL: the server's default (1 %) */
};

/* Appends "&name=value" (value percent-encoded) to 'path'. */
static int add_param(char *path, size_t cap, const char *name,
                     const char *value)
{
    char enc[512];
    size_t n = strlen(path);
    int w;

    if (cli_url_encode(value, enc, sizeof enc) != 0) {
        return -1;
    }
    w = snprintf(path + n, cap - n, "%s%s=%s", strchr(path, '?') ? "&" : "?",
                 name, enc);
    return (w < 0 || (size_t)w >= cap - n) ? -1 : 0;
}

/* A percentage 0..100 written as a plain number. */
static int percent_ok(const char *s)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    return *s != '\0' && *end == '\0' && errno == 0 && v >= 0 && v <= 100;
}

static int build_path(const struct query *q, char *path, size_t cap)
{
    char num[32];
    int bad = 0;

    snprintf(path, cap, "%s", SCHEDULE_PATH);
    if (q->zone != NULL) {
        bad |= add_param(path, cap, "zone", q->zone);
    }
    if (q->duration_s > 0) {
        /* whole minutes, rounded up: a 45 s job needs a 1 minute slot */
        snprintf(num, sizeof num, "%lld",
                 (long long)((q->duration_s + 59) / 60));
        bad |= add_param(path, cap, "duration_minutes", num);
    }
    if (q->within_s > 0) {
        snprintf(num, sizeof num, "%lld", (long long)((q->within_s + 59) / 60));
        bad |= add_param(path, cap, "within_minutes", num);
    }
    if (q->experiment_id != NULL) {
        bad |= add_param(path, cap, "experiment_id", q->experiment_id);
    }
    if (q->source != NULL) {
        bad |= add_param(path, cap, "source", q->source);
    }
    if (q->min_saving != NULL) {
        bad |= add_param(path, cap, "min_saving_percent", q->min_saving);
    }
    return bad ? -1 : 0;
}

/* The message of an MLflow error body, else the body's start. */
static void error_message(const char *body, long status, char *err, size_t cap)
{
    cJSON *j = body ? cJSON_Parse(body) : NULL;
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "message");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(j, "error_code");

    if (cJSON_IsString(msg) && cJSON_IsString(code)) {
        snprintf(err, cap, "%s (HTTP %ld %s)", msg->valuestring, status,
                 code->valuestring);
    } else if (status == 404) {
        snprintf(err, cap,
                 "the server has no schedule advice (HTTP 404; an older "
                 "greentrack-server, or not greentrack)");
    } else {
        snprintf(err, cap, "HTTP %ld %.120s", status, body ? body : "");
    }
    cJSON_Delete(j);
}

/* One GET of the schedule. Returns 0 with '*out' (caller frees with
 * cJSON_Delete) and, when 'raw' is not NULL, the body in '*raw' (caller
 * frees with gt_free); else CLI_EXIT_UNREACHABLE or CLI_EXIT_ERROR with
 * the reason in 'err'. */
static int schedule_get(gt_client *client, const struct query *q, cJSON **out,
                        char **raw, char *err, size_t cap)
{
    char path[2048];
    char *body = NULL;
    long status = 0;
    gt_status st;
    cJSON *j;
    const char *end = NULL;

    if (build_path(q, path, sizeof path) != 0) {
        snprintf(err, cap, "an option is too long");
        return CLI_EXIT_ERROR;
    }
    st = gt_request(client, "GET", path, NULL, &body, &status);
    if (st != GT_OK) {
        const char *m = gt_client_errmsg(client);
        snprintf(err, cap, "%s%s%s", gt_strerror(st), (m && *m) ? ": " : "",
                 (m && *m) ? m : "");
        gt_free(body);
        return st == GT_E_NETWORK ? CLI_EXIT_UNREACHABLE : CLI_EXIT_ERROR;
    }
    if (status == 401 || status == 403) {
        /* the library names the missing or refused credential */
        snprintf(err, cap, "%s", gt_client_errmsg(client));
        gt_free(body);
        return CLI_EXIT_ERROR;
    }
    if (status != 200) {
        error_message(body, status, err, cap);
        gt_free(body);
        return CLI_EXIT_ERROR;
    }
    j = cJSON_ParseWithLengthOpts(body ? body : "", body ? strlen(body) + 1 : 1,
                                  &end, 1);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        gt_free(body);
        snprintf(err, cap, "the server's answer is not a JSON object");
        return CLI_EXIT_ERROR;
    }
    *out = j;
    if (raw != NULL) {
        *raw = body;
    } else {
        gt_free(body);
    }
    return CLI_EXIT_OK;
}

/* The id of experiment 'name' into 'id'. Returns 0 when found, -1 when
 * there is none of that name, else an exit code with the reason in
 * 'err'. */
static int experiment_id_of(gt_client *client, const char *name, char *id,
                            size_t idcap, char *err, size_t cap)
{
    char enc[768], path[1024];
    char *body = NULL;
    long status = 0;
    gt_status st;
    cJSON *j, *e, *v;
    int rc = CLI_EXIT_ERROR;

    if (cli_url_encode(name, enc, sizeof enc) != 0) {
        snprintf(err, cap, "experiment name too long");
        return CLI_EXIT_USAGE;
    }
    snprintf(path, sizeof path,
             "/api/2.0/mlflow/experiments/get-by-name?experiment_name=%s", enc);
    st = gt_request(client, "GET", path, NULL, &body, &status);
    if (st != GT_OK) {
        const char *m = gt_client_errmsg(client);
        snprintf(err, cap, "%s%s%s", gt_strerror(st), (m && *m) ? ": " : "",
                 (m && *m) ? m : "");
        gt_free(body);
        return st == GT_E_NETWORK ? CLI_EXIT_UNREACHABLE : CLI_EXIT_ERROR;
    }
    if (status == 404) {
        gt_free(body);
        return -1;
    }
    if (status == 401 || status == 403) {
        /* the library names the missing or refused credential */
        snprintf(err, cap, "%s", gt_client_errmsg(client));
        gt_free(body);
        return CLI_EXIT_ERROR;
    }
    if (status != 200) {
        error_message(body, status, err, cap);
        gt_free(body);
        return CLI_EXIT_ERROR;
    }
    j = cJSON_Parse(body ? body : "");
    gt_free(body);
    e = cJSON_GetObjectItemCaseSensitive(j, "experiment");
    v = cJSON_GetObjectItemCaseSensitive(e, "experiment_id");
    if (cJSON_IsString(v) && strlen(v->valuestring) < idcap) {
        snprintf(id, idcap, "%s", v->valuestring);
        rc = 0;
    } else {
        snprintf(err, cap, "unexpected answer to experiments/get-by-name");
    }
    cJSON_Delete(j);
    return rc;
}

/*---- reading the answer ----------------------------------------------*/

static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* x rounded to the nearest integer (x >= 0 and not huge); the CLI does
 * not link libm. */
static int64_t round_pos(double x)
{
    return (int64_t)(x + 0.5);
}

/* A number field; NAN when missing or null. */
static double jnum(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* 'n' digits at *p as a number; -1 when they are not digits. */
static int digits(const char **p, int n)
{
    int v = 0;

    for (int k = 0; k < n; k++) {
        char c = (*p)[k];
        if (c < '0' || c > '9') {
            return -1;
        }
        v = v * 10 + (c - '0');
    }
    *p += n;
    return v;
}

/* Parses ISO 8601 UTC "YYYY-MM-DDTHH:MM[:SS[.fff]](Z|+00:00)" into Unix
 * seconds; returns 0, or -1 for anything else. */
static int parse_iso_utc(const char *s, int64_t *out)
{
    const char *p = s;
    int y, mo, d, h, mi, sec = 0;

    if (s == NULL || (y = digits(&p, 4)) < 0 || *p++ != '-' ||
        (mo = digits(&p, 2)) < 1 || mo > 12 || *p++ != '-' ||
        (d = digits(&p, 2)) < 1 || d > 31 || (*p != 'T' && *p != ' ')) {
        return -1;
    }
    p++;
    if ((h = digits(&p, 2)) < 0 || h > 23 || *p++ != ':' ||
        (mi = digits(&p, 2)) < 0 || mi > 59) {
        return -1;
    }
    if (*p == ':') {
        p++;
        if ((sec = digits(&p, 2)) < 0 || sec > 60) {
            return -1;
        }
        if (*p == '.') {
            p++;
            while (*p >= '0' && *p <= '9') {
                p++;
            }
        }
    }
    if (!(strcmp(p, "Z") == 0 || strcmp(p, "+00:00") == 0 ||
          strcmp(p, "+0000") == 0)) {
        return -1;
    }
    *out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
    return 0;
}

/* "2026-11-25 17:00 UTC" and, in 'local', "18:00 CET" (with the date
 * when it differs from the UTC one). */
static void format_times(int64_t t, char *utc, size_t ucap, char *local,
                         size_t lcap)
{
    time_t tt = (time_t)t;
    struct tm u, l;

    if (gmtime_r(&tt, &u) == NULL ||
        strftime(utc, ucap, "%Y-%m-%d %H:%M UTC", &u) == 0) {
        snprintf(utc, ucap, "?");
    }
    if (localtime_r(&tt, &l) == NULL ||
        strftime(local, lcap,
                 (l.tm_mday == u.tm_mday) ? "%H:%M %Z" : "%Y-%m-%d %H:%M %Z",
                 &l) == 0) {
        snprintf(local, lcap, "?");
    }
}

static void format_co2(double g, char *out, size_t cap)
{
    if (isnan(g)) {
        snprintf(out, cap, "?");
    } else if ((g < 0 ? -g : g) < 10) {
        snprintf(out, cap, "%.2f g", g);
    } else if ((g < 0 ? -g : g) < 1000) {
        snprintf(out, cap, "%.0f g", g);
    } else {
        snprintf(out, cap, "%.2f kg", g / 1000);
    }
}

/* Seconds from the answer's "now" to its "best_start" (0 when the best
 * start is now or past); -1 when the times are missing or unreadable. */
static int64_t delay_of(const cJSON *a)
{
    int64_t now, best;
    double dm;

    if (parse_iso_utc(jstr(a, "now"), &now) == 0 &&
        parse_iso_utc(jstr(a, "best_start"), &best) == 0) {
        return best > now ? best - now : 0;
    }
    dm = jnum(a, "delay_minutes");
    if (!isnan(dm) && dm >= 0 && dm < 1e7) {
        return round_pos(dm * 60);
    }
    return -1;
}

/* The CO2 a run saves by starting at the best time instead of now: the
 * server's own estimate for the experiment's typical run
 * (expected_co2_g_now - expected_co2_g_best, PUE included as the server
 * accounts it) when it has one; else the typical energy times the drop in
 * mean intensity; else 0 (no energy known for the experiment). */
static double co2_saved_of(const cJSON *a)
{
    double now = jnum(a, "expected_co2_g_now");
    double best = jnum(a, "expected_co2_g_best");
    double kwh = jnum(a, "typical_energy_kwh");
    double inow = jnum(a, "now_mean_intensity_g_per_kwh");
    double ibest = jnum(a, "best_mean_intensity_g_per_kwh");

    if (!isnan(now) && !isnan(best)) {
        return now - best;
    }
    if (!isnan(kwh) && !isnan(inow) && !isnan(ibest)) {
        return kwh * (inow - ibest);
    }
    return 0;
}

/* Prints the advice for people on stdout. */
static void print_advice(const cJSON *a, const char *experiment)
{
    char utc[64], local[64], dur[32], buf[64];
    int64_t best = 0, end = 0, delay = delay_of(a);
    double dmin = jnum(a, "duration_minutes");
    double within = jnum(a, "within_hours");
    double inow = jnum(a, "now_mean_intensity_g_per_kwh");
    double ibest = jnum(a, "best_mean_intensity_g_per_kwh");
    double saving = jnum(a, "saving_percent");
    const char *zone = jstr(a, "zone");
    const char *source = jstr(a, "source");
    const char *basis = jstr(a, "basis");

    cli_duration_str(isnan(dmin) ? 0 : round_pos(dmin * 60), dur, sizeof dur);
    cli_duration_str(isnan(within) ? 0 : round_pos(within * 3600), buf,
                     sizeof buf);
    printf("Greenest start for a %s job in %s within %s", dur,
           zone ? zone : "?", buf);
    if (source != NULL) {
        printf(" (%s%s%s)", source, basis ? ", " : "", basis ? basis : "");
    }
    printf(":\n");
    if (parse_iso_utc(jstr(a, "best_start"), &best) == 0) {
        format_times(best, utc, sizeof utc, local, sizeof local);
        if (delay == 0) {
            printf("  start      now (%s, %s local): nothing greener "
                   "ahead\n",
                   utc, local);
        } else {
            /* to the minute once it is 10 minutes or more away */
            cli_duration_str(delay >= 600 ? (delay + 30) / 60 * 60 : delay, buf,
                             sizeof buf);
            printf("  start      %s (%s local), in %s\n", utc, local,
                   delay < 0 ? "?" : buf);
        }
    }
    if (parse_iso_utc(jstr(a, "best_end"), &end) == 0) {
        format_times(end, utc, sizeof utc, local, sizeof local);
        printf("  end        %s (%s local)\n", utc, local);
    }
    if (!isnan(inow) && !isnan(ibest)) {
        printf("  intensity  %.0f g/kWh if started now, %.0f g/kWh at the "
               "best start",
               inow, ibest);
        if (!isnan(saving)) {
            printf(": %.0f%% less", saving);
        }
        printf("\n");
    }
    if (cJSON_GetObjectItemCaseSensitive(a, "experiment_id") != NULL) {
        double kwh = jnum(a, "typical_energy_kwh");
        double runs = jnum(a, "runs_considered");
        double cnow = jnum(a, "expected_co2_g_now");
        double cbest = jnum(a, "expected_co2_g_best");
        printf("  experiment %s", experiment ? experiment : "");
        if (!isnan(runs)) {
            printf("%s%.0f run%s considered", experiment ? ": " : "", runs,
                   runs == 1 ? "" : "s");
        }
        if (isnan(kwh)) {
            printf("; no energy logged yet, so no CO2 estimate\n");
        } else {
            char now_s[32], best_s[32];
            format_co2(cnow, now_s, sizeof now_s);
            format_co2(cbest, best_s, sizeof best_s);
            printf("; typical run %.3g kWh\n", kwh);
            printf("  CO2        %s if started now, %s at the best start\n",
                   now_s, best_s);
        }
    }
}

/*---- greentrack when ---------------------------------------------------*/

/* A duration option into seconds; prints the reason and returns -1 when
 * it is bad. */
static int duration_opt(const char *cmd, const char *opt, const char *v,
                        int64_t max_s, int64_t *out)
{
    char err[160];

    if (cli_parse_duration(v, out, err, sizeof err) != 0) {
        cli_err("%s: %s: %s", cmd, opt, err);
        return -1;
    }
    if (max_s > 0 && *out > max_s) {
        cli_err("%s: %s %s is more than the %lldh the forecast covers", cmd,
                opt, v, (long long)(max_s / 3600));
        return -1;
    }
    return 0;
}

static const char *env_zone(void)
{
    const char *z = getenv("GREENTRACK_ZONE");

    return (z != NULL && *z != '\0') ? z : NULL;
}

int cli_cmd_when(struct cli_global *g, int argc, char **argv)
{
    const char *zone = NULL, *dur = NULL, *within = NULL, *exp = NULL;
    const char *source = NULL;
    struct query q;
    char exp_id[64], err[512];
    gt_client *client = NULL;
    cJSON *answer = NULL;
    char *raw = NULL;
    int json = 0, rc = CLI_EXIT_USAGE, r;

    memset(&q, 0, sizeof q);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(USAGE, stdout);
            return CLI_EXIT_OK;
        }
        if (strcmp(a, "--json") == 0) {
            json = 1;
            continue;
        }
        if ((r = cli_global_opt(g, argc, argv, &i)) == 0 &&
            (r = cli_opt(argc, argv, &i, "--zone", &zone)) == 0 &&
            (r = cli_opt(argc, argv, &i, "--duration", &dur)) == 0 &&
            (r = cli_opt(argc, argv, &i, "--within", &within)) == 0 &&
            (r = cli_opt(argc, argv, &i, "--experiment", &exp)) == 0 &&
            (r = cli_opt(argc, argv, &i, "-e", &exp)) == 0 &&
            (r = cli_opt(argc, argv, &i, "--source", &source)) == 0 &&
            (r = cli_opt(argc, argv, &i, "--min-saving", &q.min_saving)) == 0) {
            cli_err("when: unknown %s '%s' (see greentrack when --help)",
                    a[0] == '-' ? "option" : "argument", a);
            return CLI_EXIT_USAGE;
        }
        if (r < 0) {
            return CLI_EXIT_USAGE;
        }
    }
    if (zone == NULL) {
        zone = env_zone();
    }
    if (zone != NULL && *zone == '\0') {
        cli_err("when: --zone is empty");
        return CLI_EXIT_USAGE;
    }
    if (zone == NULL && exp == NULL) {
        cli_err("when: say which grid: --zone ZONE (e.g. GB), "
                "$GREENTRACK_ZONE, or --experiment NAME whose runs have the "
                "tag greentrack.zone");
        return CLI_EXIT_USAGE;
    }
    if ((dur != NULL &&
         duration_opt("when", "--duration", dur, 0, &q.duration_s) != 0) ||
        (within != NULL && duration_opt("when", "--within", within,
                                        MAX_WITHIN_S, &q.within_s) != 0)) {
        return CLI_EXIT_USAGE;
    }
    if (q.min_saving != NULL && !percent_ok(q.min_saving)) {
        cli_err("when: --min-saving is a percentage from 0 to 100, not "
                "'%s'",
                q.min_saving);
        return CLI_EXIT_USAGE;
    }
    q.zone = zone;
    q.source = source;
    if ((client = cli_client_new(g)) == NULL) {
        return CLI_EXIT_ERROR;
    }
    if (exp != NULL) {
        r = experiment_id_of(client, exp, exp_id, sizeof exp_id, err,
                             sizeof err);
        if (r < 0) {
            cli_err("when: no experiment named '%s'", exp);
            rc = CLI_EXIT_ERROR;
            goto out;
        }
        if (r != 0) {
            cli_err("cannot find the experiment: %s", err);
            rc = r;
            goto out;
        }
        q.experiment_id = exp_id;
    } else if (q.duration_s == 0) {
        q.duration_s = DEFAULT_RUN_MINUTES * 60;
    }
    rc = schedule_get(client, &q, &answer, json ? &raw : NULL, err, sizeof err);
    if (rc != CLI_EXIT_OK) {
        cli_err("cannot get schedule advice: %s", err);
        goto out;
    }
    if (json) {
        fputs(raw, stdout);
        if (*raw == '\0' || raw[strlen(raw) - 1] != '\n') {
            fputc('\n', stdout);
        }
    } else {
        print_advice(answer, exp);
    }
    if (fflush(stdout) != 0) {
        rc = CLI_EXIT_ERROR;
    }
out:
    cJSON_Delete(answer);
    gt_free(raw);
    gt_client_free(client);
    return rc;
}

/*---- greentrack run --when-green -------------------------------------*/

void cli_when_init(struct cli_when *w)
{
    memset(w, 0, sizeof *w);
}

int cli_when_opt(struct cli_when *w, int argc, char **argv, int *i)
{
    int r;

    if (strcmp(argv[*i], "--when-green") == 0) {
        w->enabled = 1;
        return 1;
    }
    if ((r = cli_opt(argc, argv, i, "--zone", &w->zone)) != 0 ||
        (r = cli_opt(argc, argv, i, "--max-delay", &w->max_delay)) != 0 ||
        (r = cli_opt(argc, argv, i, "--duration", &w->duration)) != 0) {
        return r;
    }
    if ((r = cli_opt(argc, argv, i, "--min-saving", &w->min_saving)) != 0)
        return r;
    return cli_opt(argc, argv, i, "--source", &w->source);
}

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until 'deadline_ms' (mono_ms), with a countdown on a terminal;
 * returns 0, or the stop signal that cancelled the wait. The caller has
 * blocked the signals in 'stop'. */
static int wait_until(int64_t deadline_ms, const sigset_t *stop,
                      const char *at_local)
{
    int tty = isatty(STDERR_FILENO);
    int64_t left;

    while ((left = deadline_ms - mono_ms()) > 0) {
        struct timespec ts;
        siginfo_t info;
        int64_t step = left % 1000 ? left % 1000 : 1000;
        int sig;

        if (tty) {
            long long s = (long long)((left + 999) / 1000);
            fprintf(stderr,
                    "\rgreentrack: starting in %lld:%02lld:%02lld (at %s; "
                    "Ctrl-C cancels) ",
                    s / 3600, s / 60 % 60, s % 60, at_local);
            fflush(stderr);
        }
        ts.tv_sec = (time_t)(step / 1000);
        ts.tv_nsec = (long)(step % 1000) * 1000000L;
        sig = sigtimedwait(stop, &info, &ts);
        if (sig > 0) {
            if (tty) {
                fputc('\n', stderr);
            }
            return sig;
        }
        if (sig < 0 && errno != EAGAIN && errno != EINTR) {
            break; /* cannot wait: start now rather than spin */
        }
    }
    if (tty) {
        fprintf(stderr,
                "\rgreentrack: the greener window has come; "
                "starting%30s\n",
                "");
    }
    return 0;
}

/* Checks the options of `run --when-green`; 0, or -1 after printing. */
static int check_opts(struct cli_when *w, const char *experiment,
                      int64_t *max_delay_s, int64_t *duration_s)
{
    if (!w->enabled) {
        cli_err("run: --zone, --max-delay, --duration, --source and "
                "--min-saving go with --when-green");
        return -1;
    }
    if (w->min_saving != NULL && !percent_ok(w->min_saving)) {
        cli_err("run: --min-saving is a percentage from 0 to 100, not '%s'",
                w->min_saving);
        return -1;
    }
    if (w->zone == NULL) {
        w->zone = env_zone();
    }
    if (w->zone != NULL && *w->zone == '\0') {
        cli_err("run: --zone is empty");
        return -1;
    }
    if (w->zone == NULL && experiment == NULL) {
        cli_err("run: --when-green needs the grid: --zone ZONE (e.g. GB), "
                "$GREENTRACK_ZONE, or --experiment NAME whose runs have the "
                "tag greentrack.zone");
        return -1;
    }
    *max_delay_s = DEFAULT_MAX_DELAY_S;
    *duration_s = 0;
    if ((w->max_delay != NULL &&
         duration_opt("run", "--max-delay", w->max_delay, MAX_WITHIN_S,
                      max_delay_s) != 0) ||
        (w->duration != NULL &&
         duration_opt("run", "--duration", w->duration, 0, duration_s) != 0)) {
        return -1;
    }
    return 0;
}

int cli_when_wait(struct cli_when *w, gt_client *client, const char *experiment)
{
    struct query q;
    char exp_id[64], utc[64], local[64], inb[32];
    cJSON *a = NULL;
    int64_t max_delay_s, duration_s, delay, best, t0;
    sigset_t stop, old;
    int sig;

    if (!w->enabled && w->zone == NULL && w->max_delay == NULL &&
        w->duration == NULL && w->source == NULL && w->min_saving == NULL) {
        return 0;
    }
    if (check_opts(w, experiment, &max_delay_s, &duration_s) != 0) {
        return CLI_EXIT_USAGE;
    }
    w->asked = 1;
    if (w->zone != NULL) {
        snprintf(w->zone_used, sizeof w->zone_used, "%s", w->zone);
    }
    memset(&q, 0, sizeof q);
    q.zone = w->zone;
    q.within_s = max_delay_s;
    q.duration_s = duration_s;
    q.source = w->source;
    q.min_saving = w->min_saving;
    if (experiment != NULL &&
        experiment_id_of(client, experiment, exp_id, sizeof exp_id, w->error,
                         sizeof w->error) == 0) {
        q.experiment_id = exp_id;
    }
    w->error[0] = '\0'; /* a new experiment has no history: not an error */
    if (q.experiment_id == NULL && q.zone == NULL) {
        snprintf(w->error, sizeof w->error,
                 "no zone: experiment '%s' not found", experiment);
    } else if (q.experiment_id == NULL && q.duration_s == 0) {
        q.duration_s = DEFAULT_RUN_MINUTES * 60;
    }
    if (w->error[0] == '\0') {
        int rc = schedule_get(client, &q, &a, NULL, w->error, sizeof w->error);
        if (rc != CLI_EXIT_OK && w->error[0] == '\0') {
            snprintf(w->error, sizeof w->error, "error %d", rc);
        }
    }
    t0 = mono_ms();
    if (w->error[0] != '\0') {
        cli_err("warning: no schedule advice (%s); starting now", w->error);
        return 0;
    }
    if (jstr(a, "zone") != NULL) {
        snprintf(w->zone_used, sizeof w->zone_used, "%s", jstr(a, "zone"));
    }
    if ((delay = delay_of(a)) < 0 ||
        parse_iso_utc(jstr(a, "best_start"), &best) != 0) {
        snprintf(w->error, sizeof w->error,
                 "the server's advice has no readable best_start");
        cli_err("warning: %s; starting now", w->error);
        cJSON_Delete(a);
        return 0;
    }
    if (delay > max_delay_s) {
        delay = max_delay_s; /* never wait longer than asked */
    }
    w->co2_saved_g = delay > 0 ? co2_saved_of(a) : 0;
    format_times(best, utc, sizeof utc, local, sizeof local);
    if (delay == 0) {
        cli_err("the grid in %s is at its greenest for the next %s: "
                "starting now",
                w->zone_used, w->max_delay ? w->max_delay : "24h");
        cJSON_Delete(a);
        return 0;
    }
    cli_duration_str(delay, inb, sizeof inb);
    cli_err("waiting %s for a greener grid in %s: starting at %s (%s "
            "local), %.0f instead of %.0f g/kWh (%.0f%% less)",
            inb, w->zone_used, utc, local,
            jnum(a, "best_mean_intensity_g_per_kwh"),
            jnum(a, "now_mean_intensity_g_per_kwh"), jnum(a, "saving_percent"));
    cJSON_Delete(a);

    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGHUP);
    sigaddset(&stop, SIGQUIT);
    /* Blocked already in `greentrack run`; this keeps the wait correct
     * for any caller. */
    pthread_sigmask(SIG_BLOCK, &stop, &old);
    sig = wait_until(t0 + delay * 1000, &stop, local);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    w->waited_s = (mono_ms() - t0 + 500) / 1000;
    if (sig != 0) {
        cli_err("%s while waiting for the greener window: the command was "
                "not run and no run was created",
                sig == SIGINT    ? "interrupted (SIGINT)"
                : sig == SIGTERM ? "terminated (SIGTERM)"
                : sig == SIGHUP  ? "hung up (SIGHUP)"
                                 : "quit (SIGQUIT)");
        return 128 + sig;
    }
    return 0;
}

void cli_when_tag(const struct cli_when *w, gt_run *run)
{
    char buf[64];

    if (!w->asked) {
        return;
    }
    snprintf(buf, sizeof buf, "%lld", (long long)w->waited_s);
    gt_set_tag(run, "greentrack.schedule.delay_s", buf);
    if (w->error[0] != '\0') {
        gt_set_tag(run, "greentrack.schedule.error", w->error);
    } else {
        snprintf(buf, sizeof buf, "%.1f", w->co2_saved_g);
        gt_set_tag(run, "greentrack.schedule.co2_saved_g", buf);
    }
    if (w->zone_used[0] != '\0') {
        gt_set_tag(run, "greentrack.zone", w->zone_used);
    }
}
