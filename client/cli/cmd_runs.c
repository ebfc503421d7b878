/* SPDX-License-Identifier: MIT
 *
 * cmd_runs.c: `greentrack runs list` and `greentrack runs show`. Reads runs
 * with gt_request (runs/search, runs/get) and prints them as a table or,
 * with --json, as the server's JSON (MLflow's shapes).
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char USAGE_LIST[] =
    "usage: greentrack runs list [OPTIONS]\n"
    "\n"
    "Lists runs, newest first: id, name, status, start time, duration and\n"
    "a few latest metrics.\n"
    "\n"
    "Options:\n"
    "  -e, --experiment NAME  only this experiment (default: all)\n"
    "  --filter EXPR          an MLflow search filter, e.g.\n"
    "                         \"metrics.acc > 0.9 AND params.lr = '0.01'\"\n"
    "  --max N                at most N runs (1..50000, default 20)\n"
    "  --json                 the server's runs/search answer as JSON\n"
    "  --tracking-uri URI, -v  as for greentrack\n"
    "  -h, --help             this text\n"
    "\n"
    "Exit status: 0 success, 1 error (e.g. no such experiment), 2 bad\n"
    "usage, 3 the server could not be reached.\n";

static const char USAGE_SHOW[] =
    "usage: greentrack runs show RUN_ID [OPTIONS]\n"
    "\n"
    "Shows a run: its info, params, tags and latest metrics.\n"
    "\n"
    "Options:\n"
    "  --json                 the server's runs/get answer as JSON\n"
    "  --tracking-uri URI, -v  as for greentrack\n"
    "  -h, --help             this text\n"
    "\n"
    "Exit status: 0 success, 1 error (e.g. no such run), 2 bad usage,\n"
    "3 the server could not be reached.\n";

static const char USAGE_RUNS[] =
    "usage: greentrack runs list [OPTIONS]\n"
    "       greentrack runs show RUN_ID [OPTIONS]\n"
    "('greentrack runs list --help', 'greentrack runs show --help')\n";

#define LIST_METRICS 3 /* metrics shown per row */

/*---- JSON helpers ----*/

static const char *jstr(const cJSON *obj, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

    return cJSON_IsString(it) ? it->valuestring : NULL;
}

static int64_t jint(const cJSON *obj, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (cJSON_IsNumber(it)) {
        return (int64_t)it->valuedouble;
    }
    if (cJSON_IsString(it)) {
        return strtoll(it->valuestring, NULL, 10);
    }
    return 0;
}

/* A metric value: a number, or "NaN"/"Infinity" as the server writes. */
static void jvalue(const cJSON *obj, const char *key, int digits, char *out,
                   size_t cap)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (cJSON_IsNumber(it)) {
        snprintf(out, cap, "%.*g", digits, it->valuedouble);
    } else if (cJSON_IsString(it)) {
        snprintf(out, cap, "%s", it->valuestring);
    } else {
        snprintf(out, cap, "-");
    }
}

static int print_json(const cJSON *j)
{
    char *s = cJSON_Print(j);

    if (s == NULL) {
        cli_err("out of memory");
        return CLI_EXIT_ERROR;
    }
    puts(s);
    cJSON_free(s);
    return CLI_EXIT_OK;
}

static int cmp_key(const void *a, const void *b)
{
    const char *ka = jstr(*(const cJSON *const *)a, "key");
    const char *kb = jstr(*(const cJSON *const *)b, "key");

    return strcmp(ka ? ka : "", kb ? kb : "");
}

/* The items of array 'key' of 'obj' sorted by their "key"; caller frees
 * the array (not the items). NULL with *n = 0 when empty. */
static const cJSON **sorted_items(const cJSON *obj, const char *key, size_t *n)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, key);
    const cJSON *it;
    const cJSON **v;
    size_t k = 0;

    *n = 0;
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0) {
        return NULL;
    }
    v = calloc((size_t)cJSON_GetArraySize(arr), sizeof *v);
    if (v == NULL) {
        return NULL;
    }
    cJSON_ArrayForEach(it, arr)
    {
        v[k++] = it;
    }
    qsort(v, k, sizeof *v, cmp_key);
    *n = k;
    return v;
}

/*---- a plain text table ----*/

/* Display width of UTF-8 text: its code points. */
static size_t text_width(const char *s)
{
    size_t w = 0;

    for (; *s; s++) {
        w += ((unsigned char)*s & 0xC0) != 0x80;
    }
    return w;
}

#define MAX_COLS 8

struct table {
    size_t ncols;
    size_t nrows;
    size_t cap;
    char **cells; /* nrows * ncols, malloc'ed */
};

static int table_add(struct table *t, const char *const *row)
{
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **c = realloc(t->cells, cap * t->ncols * sizeof *c);
        if (c == NULL) {
            return -1;
        }
        t->cells = c;
        t->cap = cap;
    }
    for (size_t i = 0; i < t->ncols; i++) {
        t->cells[t->nrows * t->ncols + i] = strdup(row[i] ? row[i] : "");
        if (t->cells[t->nrows * t->ncols + i] == NULL) {
            for (size_t j = 0; j < i; j++) {
                free(t->cells[t->nrows * t->ncols + j]);
            }
            return -1;
        }
    }
    t->nrows++;
    return 0;
}

static void table_print(const struct table *t)
{
    size_t width[MAX_COLS] = {0};

    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            size_t w = text_width(t->cells[r * t->ncols + c]);
            if (w > width[c]) {
                width[c] = w;
            }
        }
    }
    for (size_t r = 0; r < t->nrows; r++) {
        size_t last = t->ncols; /* no padding after the last filled cell */
        while (last > 1 && t->cells[r * t->ncols + last - 1][0] == '\0') {
            last--;
        }
        for (size_t c = 0; c < last; c++) {
            const char *s = t->cells[r * t->ncols + c];
            fputs(s, stdout);
            for (size_t w = text_width(s); c + 1 < last && w < width[c] + 2;
                 w++) {
                putchar(' ');
            }
        }
        putchar('\n');
    }
}

static void table_free(struct table *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++) {
        free(t->cells[i]);
    }
    free(t->cells);
}

/* Copies at most 'max' code points of 's', ending in "..." when cut. */
static void clip(const char *s, size_t max, char *out, size_t cap)
{
    size_t w = 0, i = 0;

    for (; s[i] != '\0'; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80 && w++ == max) {
            break;
        }
    }
    if (s[i] == '\0') {
        snprintf(out, cap, "%s", s);
    } else {
        size_t keep = i;
        /* back off three code points for the dots */
        for (int d = 0; d < 3 && keep > 0; d++) {
            do {
                keep--;
            } while (keep > 0 && ((unsigned char)s[keep] & 0xC0) == 0x80);
        }
        snprintf(out, cap, "%.*s...", (int)keep, s);
    }
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Duration of a run: to its end, or to now while it runs. */
static void run_duration(const cJSON *info, char *out, size_t cap)
{
    int64_t start = jint(info, "start_time");
    int64_t end = jint(info, "end_time");
    const char *status = jstr(info, "status");

    if (start <= 0) {
        snprintf(out, cap, "-");
        return;
    }
    if (end <= 0) {
        if (status == NULL || strcmp(status, "RUNNING") != 0) {
            snprintf(out, cap, "-");
            return;
        }
        end = now_ms();
    }
    cli_format_duration(end - start, out, cap);
}

/*---- runs list ----*/

/* The experiment ids to search (a JSON array) and, for listing all, a map
 * id -> name in '*names' (the experiments/list answer). */
static int experiment_ids(gt_client *client, const char *name, cJSON **ids,
                          cJSON **names)
{
    cJSON *resp = NULL;
    const cJSON *e;
    long status = 0;
    int rc;

    *ids = cJSON_CreateArray();
    *names = NULL;
    if (*ids == NULL) {
        return CLI_EXIT_ERROR;
    }
    if (name != NULL) {
        char path[1600], enc[1400];
        if (cli_url_encode(name, enc, sizeof enc) != 0) {
            cli_err("runs list: experiment name too long");
            return CLI_EXIT_USAGE;
        }
        snprintf(path, sizeof path,
                 "/api/2.0/mlflow/experiments/get-by-name?experiment_name=%s",
                 enc);
        rc = cli_call(client, "GET", path, NULL, "find the experiment", &resp,
                      &status);
        if (rc != CLI_EXIT_OK) {
            if (status == 404) {
                cli_err("runs list: no experiment named '%s'", name);
            }
            return rc;
        }
        e = cJSON_GetObjectItemCaseSensitive(resp, "experiment");
        if (jstr(e, "experiment_id") == NULL) {
            cli_err("runs list: unexpected answer from the server");
            cJSON_Delete(resp);
            return CLI_EXIT_ERROR;
        }
        cJSON_AddItemToArray(*ids,
                             cJSON_CreateString(jstr(e, "experiment_id")));
        cJSON_Delete(resp);
        return CLI_EXIT_OK;
    }
    rc = cli_call(client, "GET", "/api/2.0/mlflow/experiments/list", NULL,
                  "list experiments", &resp, NULL);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(resp, "experiments"))
    {
        if (jstr(e, "experiment_id") != NULL) {
            cJSON_AddItemToArray(*ids,
                                 cJSON_CreateString(jstr(e, "experiment_id")));
        }
    }
    *names = resp;
    return CLI_EXIT_OK;
}

static const char *experiment_name(const cJSON *list, const char *id)
{
    const cJSON *e;

    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(list, "experiments"))
    {
        const char *eid = jstr(e, "experiment_id");
        if (eid != NULL && id != NULL && strcmp(eid, id) == 0) {
            return jstr(e, "name");
        }
    }
    return id;
}

/* "acc=0.91 loss=0.12 +2" from a run's latest metrics. */
static void metrics_cell(const cJSON *data, char *out, size_t cap)
{
    size_t n, o = 0;
    const cJSON **m = sorted_items(data, "metrics", &n);

    out[0] = '\0';
    for (size_t i = 0; i < n && i < LIST_METRICS; i++) {
        char val[64], key[40];
        int w;
        clip(jstr(m[i], "key") ? jstr(m[i], "key") : "?", 24, key, sizeof key);
        jvalue(m[i], "value", 4, val, sizeof val);
        w = snprintf(out + o, cap - o, "%s%s=%s", i ? " " : "", key, val);
        if (w < 0 || (size_t)w >= cap - o) {
            break;
        }
        o += (size_t)w;
    }
    if (n > LIST_METRICS && o < cap) {
        snprintf(out + o, cap - o, " (+%zu)", n - LIST_METRICS);
    }
    free(m);
}

static int runs_list(struct cli_global *g, int argc, char **argv)
{
    const char *experiment = NULL, *filter = NULL, *v;
    long max = 20;
    int json = 0, rc;
    gt_client *client = NULL;
    cJSON *ids = NULL, *names = NULL, *req = NULL, *resp = NULL;
    char *body = NULL;
    struct table t = {0, 0, 0, NULL};

    for (int i = 0; i < argc; i++) {
        int r;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(USAGE_LIST, stdout);
            return CLI_EXIT_OK;
        }
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
            continue;
        }
        if ((r = cli_global_opt(g, argc, argv, &i)) == 0 &&
            (r = cli_opt(argc, argv, &i, "--experiment", &experiment)) == 0 &&
            (r = cli_opt(argc, argv, &i, "-e", &experiment)) == 0 &&
            (r = cli_opt(argc, argv, &i, "--filter", &filter)) == 0 &&
            (r = cli_opt(argc, argv, &i, "--max", &v)) > 0 &&
            cli_parse_long(v, 1, 50000, &max) != 0) {
            cli_err("runs list: --max wants 1..50000, not '%s'", v);
            return CLI_EXIT_USAGE;
        }
        if (r < 0) {
            return CLI_EXIT_USAGE;
        }
        if (r == 0) {
            cli_err("runs list: unexpected '%s' (see greentrack runs list "
                    "--help)",
                    argv[i]);
            return CLI_EXIT_USAGE;
        }
    }
    if ((client = cli_client_new(g)) == NULL) {
        return CLI_EXIT_ERROR;
    }
    if ((rc = experiment_ids(client, experiment, &ids, &names)) != 0) {
        goto out;
    }
    rc = CLI_EXIT_ERROR;
    if (cJSON_GetArraySize(ids) == 0) {
        if (json) {
            puts("{\n\t\"runs\":\t[]\n}");
        }
        rc = CLI_EXIT_OK;
        goto out;
    }
    if ((req = cJSON_CreateObject()) == NULL) {
        goto out;
    }
    cJSON_AddItemToObject(req, "experiment_ids", ids);
    ids = NULL;
    cJSON_AddNumberToObject(req, "max_results", (double)max);
    cJSON_AddItemToObject(
        req, "order_by",
        cJSON_CreateStringArray((const char *const[]){"start_time DESC"}, 1));
    if (filter != NULL) {
        cJSON_AddStringToObject(req, "filter", filter);
    }
    if ((body = cJSON_PrintUnformatted(req)) == NULL) {
        cli_err("out of memory");
        goto out;
    }
    rc = cli_call(client, "POST", "/api/2.0/mlflow/runs/search", body,
                  "list runs", &resp, NULL);
    if (rc != CLI_EXIT_OK) {
        goto out;
    }
    if (json) {
        if (cJSON_GetObjectItemCaseSensitive(resp, "runs") == NULL) {
            cJSON_AddItemToObject(resp, "runs", cJSON_CreateArray());
        }
        rc = print_json(resp);
        goto out;
    }
    {
        const char *hdr[] = {"RUN ID", "NAME",     "EXPERIMENT", "STATUS",
                             "START",  "DURATION", "METRICS"};
        const cJSON *run;
        int all = experiment == NULL;
        /* Listing one experiment, its column is left out. */
        t.ncols = 7;
        if (!all) {
            t.ncols = 6;
            hdr[2] = "STATUS";
            hdr[3] = "START";
            hdr[4] = "DURATION";
            hdr[5] = "METRICS";
        }
        if (table_add(&t, hdr) != 0) {
            goto nomem;
        }
        cJSON_ArrayForEach(run, cJSON_GetObjectItemCaseSensitive(resp, "runs"))
        {
            const cJSON *info = cJSON_GetObjectItemCaseSensitive(run, "info");
            const cJSON *data = cJSON_GetObjectItemCaseSensitive(run, "data");
            char name[128], exp[64], start[32], dur[32], metrics[512];
            const char *row[7];
            size_t c = 0;
            clip(jstr(info, "run_name") ? jstr(info, "run_name") : "", 30, name,
                 sizeof name);
            clip(all ? experiment_name(names, jstr(info, "experiment_id")) : "",
                 20, exp, sizeof exp);
            cli_format_time(jint(info, "start_time"), start, sizeof start);
            run_duration(info, dur, sizeof dur);
            metrics_cell(data, metrics, sizeof metrics);
            row[c++] = jstr(info, "run_id");
            row[c++] = name;
            if (all) {
                row[c++] = exp;
            }
            row[c++] = jstr(info, "status");
            row[c++] = start;
            row[c++] = dur;
            row[c++] = metrics;
            if (table_add(&t, row) != 0) {
                goto nomem;
            }
        }
        if (t.nrows == 1) {
            fprintf(stderr, "greentrack: no runs%s%s\n",
                    experiment ? " in experiment " : "",
                    experiment ? experiment : "");
        } else {
            table_print(&t);
        }
        rc = CLI_EXIT_OK;
        goto out;
    }
nomem:
    cli_err("out of memory");
    rc = CLI_EXIT_ERROR;
out:
    table_free(&t);
    cJSON_free(body);
    cJSON_Delete(req);
    cJSON_Delete(ids);
    cJSON_Delete(names);
    cJSON_Delete(resp);
    gt_client_free(client);
    return rc;
}

/*---- runs show ----*/

/* Prints the "key  value" pairs of array 'key' of 'obj', sorted. */
static void print_pairs(const char *title, const cJSON *obj, const char *key,
                        int metrics)
{
    size_t n, width = 0;
    const cJSON **v = sorted_items(obj, key, &n);

    printf("\n%s%s\n", title, n ? "" : " (none)");
    for (size_t i = 0; i < n; i++) {
        const char *k = jstr(v[i], "key");
        size_t w = k ? text_width(k) : 0;
        if (w > width) {
            width = w;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const char *k = jstr(v[i], "key");
        if (k == NULL) {
            k = "";
        }
        printf("  %s", k);
        for (size_t w = text_width(k); w < width + 2; w++) {
            putchar(' ');
        }
        if (metrics) {
            char val[64];
            jvalue(v[i], "value", 10, val, sizeof val);
            printf("%-12s step %lld\n", val, (long long)jint(v[i], "step"));
        } else {
            const char *s = jstr(v[i], "value");
            printf("%s\n", s ? s : "");
        }
    }
    free(v);
}

static int runs_show(struct cli_global *g, int argc, char **argv)
{
    const char *run_id = NULL;
    int json = 0, rc;
    gt_client *client;
    cJSON *resp = NULL, *exp = NULL;
    char path[256], enc[200];
    long status = 0;

    for (int i = 0; i < argc; i++) {
        int r;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(USAGE_SHOW, stdout);
            return CLI_EXIT_OK;
        }
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
            continue;
        }
        if ((r = cli_global_opt(g, argc, argv, &i)) < 0) {
            return CLI_EXIT_USAGE;
        }
        if (r > 0) {
            continue;
        }
        if (argv[i][0] == '-' || run_id != NULL) {
            cli_err("runs show: unexpected '%s' (see greentrack runs show "
                    "--help)",
                    argv[i]);
            return CLI_EXIT_USAGE;
        }
        run_id = argv[i];
    }
    if (run_id == NULL) {
        cli_err("runs show: which run? (greentrack runs show RUN_ID)");
        return CLI_EXIT_USAGE;
    }
    if (cli_url_encode(run_id, enc, sizeof enc) != 0) {
        cli_err("runs show: no run '%.64s...'", run_id);
        return CLI_EXIT_ERROR;
    }
    if ((client = cli_client_new(g)) == NULL) {
        return CLI_EXIT_ERROR;
    }
    snprintf(path, sizeof path, "/api/2.0/mlflow/runs/get?run_id=%s", enc);
    rc = cli_call(client, "GET", path, NULL, "get the run", &resp, &status);
    if (rc != CLI_EXIT_OK) {
        if (status == 404) {
            cli_err("runs show: no run '%s'", run_id);
        }
        goto out;
    }
    if (json) {
        rc = print_json(resp);
        goto out;
    }
    {
        const cJSON *run = cJSON_GetObjectItemCaseSensitive(resp, "run");
        const cJSON *info = cJSON_GetObjectItemCaseSensitive(run, "info");
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(run, "data");
        const char *exp_id = jstr(info, "experiment_id");
        const char *exp_name = NULL;
        char start[32], end[32], dur[32];
        if (exp_id != NULL && cli_url_encode(exp_id, enc, sizeof enc) == 0) {
            long st2 = 0;
            snprintf(path, sizeof path,
                     "/api/2.0/mlflow/experiments/get?experiment_id=%s", enc);
            if (cli_call(client, "GET", path, NULL, "get the experiment", &exp,
                         &st2) == CLI_EXIT_OK) {
                exp_name =
                    jstr(cJSON_GetObjectItemCaseSensitive(exp, "experiment"),
                         "name");
            }
        }
        cli_format_time(jint(info, "start_time"), start, sizeof start);
        cli_format_time(jint(info, "end_time"), end, sizeof end);
        run_duration(info, dur, sizeof dur);
        printf("run         %s\n",
               jstr(info, "run_id") ? jstr(info, "run_id") : run_id);
        printf("name        %s\n",
               jstr(info, "run_name") ? jstr(info, "run_name") : "");
        printf("experiment  %s (id %s)\n", exp_name ? exp_name : "?",
               exp_id ? exp_id : "?");
        printf("status      %s\n",
               jstr(info, "status") ? jstr(info, "status") : "?");
        printf("start       %s\n", start);
        printf("end         %s\n", end);
        printf("duration    %s\n", dur);
        if (jstr(info, "user_id") != NULL && *jstr(info, "user_id")) {
            printf("user        %s\n", jstr(info, "user_id"));
        }
        if (jstr(info, "artifact_uri") != NULL) {
            printf("artifacts   %s\n", jstr(info, "artifact_uri"));
        }
        print_pairs("params", data, "params", 0);
        print_pairs("metrics (latest)", data, "metrics", 1);
        print_pairs("tags", data, "tags", 0);
    }
out:
    cJSON_Delete(exp);
    cJSON_Delete(resp);
    gt_client_free(client);
    return rc;
}

int cli_cmd_runs(struct cli_global *g, int argc, char **argv)
{
    if (argc < 1) {
        fputs(USAGE_RUNS, stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "--help") == 0) {
        fputs(USAGE_RUNS, stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[0], "list") == 0 || strcmp(argv[0], "ls") == 0) {
        return runs_list(g, argc - 1, argv + 1);
    }
    if (strcmp(argv[0], "show") == 0 || strcmp(argv[0], "get") == 0) {
        return runs_show(g, argc - 1, argv + 1);
    }
    cli_err("runs: unknown subcommand '%s' (list or show)", argv[0]);
    return CLI_EXIT_USAGE;
}
