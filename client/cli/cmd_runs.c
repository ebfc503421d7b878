/* SPDX-License-Identifier: MIT
 *
 * cmd_runs.c: `greentrack runs list` and `greentrack runs show`. Reads runs
 * with gt_request (runs/search, runs/get) and prints them as a table or,
 * with --json, as the server's JSON (MLflow's shapes).
 */
#include "table.h"

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

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Duration of a run: to its end, or to now while it runs. */
static void run_duration(const cJSON *info, char *out, size_t cap)
{
    int64_t start = cli_jint(info, "start_time");
    int64_t end = cli_jint(info, "end_time");
    const char *status = cli_jstr(info, "status");

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
 * id -> name in '*names' ({"experiments": [...]}, every page of
 * experiments/search). */
static int experiment_ids(gt_client *client, const char *name, cJSON **ids,
                          cJSON **names)
{
    cJSON *resp = NULL;
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
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(resp, "experiment");
        if (cli_jstr(e, "experiment_id") == NULL) {
            cli_err("runs list: unexpected answer from the server");
            cJSON_Delete(resp);
            return CLI_EXIT_ERROR;
        }
        cJSON_AddItemToArray(*ids,
                             cJSON_CreateString(cli_jstr(e, "experiment_id")));
        cJSON_Delete(resp);
        return CLI_EXIT_OK;
    }
    /* experiments/search, page by page: on a server with --auth it holds
     * the experiments this user may read (experiments/list is for
     * admins there) */
    cJSON *all = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(all, "experiments");
    char token[1024] = "";
    if (arr == NULL) {
        cJSON_Delete(all);
        return CLI_EXIT_ERROR;
    }
    do {
        char path[2200], enc[1400];
        if (cli_url_encode(token, enc, sizeof enc) != 0) {
            cJSON_Delete(all);
            cli_err("runs list: the server's page token is too long");
            return CLI_EXIT_ERROR;
        }
        snprintf(path, sizeof path,
                 "/api/2.0/mlflow/experiments/search?max_results=1000%s%s",
                 token[0] ? "&page_token=" : "", enc);
        rc = cli_call(client, "GET", path, NULL, "list experiments", &resp,
                      NULL);
        if (rc != CLI_EXIT_OK) {
            cJSON_Delete(all);
            return rc;
        }
        cJSON *list = cJSON_GetObjectItemCaseSensitive(resp, "experiments");
        cJSON *x;
        while (cJSON_IsArray(list) &&
               (x = cJSON_DetachItemFromArray(list, 0)) != NULL) {
            if (cli_jstr(x, "experiment_id") != NULL) {
                cJSON_AddItemToArray(
                    *ids, cJSON_CreateString(cli_jstr(x, "experiment_id")));
            }
            cJSON_AddItemToArray(arr, x);
        }
        const char *next = cli_jstr(resp, "next_page_token");
        snprintf(token, sizeof token, "%s",
                 next != NULL && strlen(next) < sizeof token ? next : "");
        cJSON_Delete(resp);
    } while (token[0] != '\0');
    *names = all;
    return CLI_EXIT_OK;
}

static const char *experiment_name(const cJSON *list, const char *id)
{
    const cJSON *e;

    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(list, "experiments"))
    {
        const char *eid = cli_jstr(e, "experiment_id");
        if (eid != NULL && id != NULL && strcmp(eid, id) == 0) {
            return cli_jstr(e, "name");
        }
    }
    return id;
}

/* "acc=0.91 loss=0.12 +2" from a run's latest metrics. */
static void metrics_cell(const cJSON *data, char *out, size_t cap)
{
    size_t n, o = 0;
    const cJSON **m = cli_sorted(data, "metrics", NULL, &n);

    out[0] = '\0';
    for (size_t i = 0; i < n && i < LIST_METRICS; i++) {
        char val[64], key[40];
        int w;
        cli_clip(cli_jstr(m[i], "key") ? cli_jstr(m[i], "key") : "?", 24, 0,
                 key, sizeof key);
        cli_jvalue(m[i], "value", 4, val, sizeof val);
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
    const char *experiment = NULL, *filter = NULL;
    long max = 20;
    int json = 0, rc;
    gt_client *client = NULL;
    cJSON *ids = NULL, *names = NULL, *req = NULL, *resp = NULL;
    char *body = NULL;
    struct cli_table t = {0, 0, 0, NULL};

    const struct cli_optspec opts[] = {
        {"--experiment", "-e", &experiment, NULL, 0, 0},
        {"--filter", NULL, &filter, NULL, 0, 0},
        {"--max", NULL, NULL, &max, 1, 50000},
        {NULL, NULL, NULL, NULL, 0, 0},
    };

    rc = cli_parse_args(g, argc, argv, "runs list", USAGE_LIST, &json, opts,
                        NULL, 0, NULL);
    if (rc != CLI_ARGS_OK) {
        return rc;
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
        rc = cli_print_json(resp);
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
        if (cli_table_add(&t, hdr) != 0) {
            goto nomem;
        }
        cJSON_ArrayForEach(run, cJSON_GetObjectItemCaseSensitive(resp, "runs"))
        {
            const cJSON *info = cJSON_GetObjectItemCaseSensitive(run, "info");
            const cJSON *data = cJSON_GetObjectItemCaseSensitive(run, "data");
            char name[128], exp[64], start[32], dur[32], metrics[512];
            const char *row[7];
            size_t c = 0;
            cli_clip(cli_jstr(info, "run_name") ? cli_jstr(info, "run_name")
                                                : "",
                     30, 0, name, sizeof name);
            cli_clip(
                all ? experiment_name(names, cli_jstr(info, "experiment_id"))
                    : "",
                20, 0, exp, sizeof exp);
            cli_format_time(cli_jint(info, "start_time"), start, sizeof start);
            run_duration(info, dur, sizeof dur);
            metrics_cell(data, metrics, sizeof metrics);
            row[c++] = cli_jstr(info, "run_id");
            row[c++] = name;
            if (all) {
                row[c++] = exp;
            }
            row[c++] = cli_jstr(info, "status");
            row[c++] = start;
            row[c++] = dur;
            row[c++] = metrics;
            if (cli_table_add(&t, row) != 0) {
                goto nomem;
            }
        }
        if (!cli_table_print(&t)) {
            fprintf(stderr, "greentrack: no runs%s%s\n",
                    experiment ? " in experiment " : "",
                    experiment ? experiment : "");
        }
        rc = CLI_EXIT_OK;
        goto out;
    }
nomem:
    cli_err("out of memory");
    rc = CLI_EXIT_ERROR;
out:
    cli_table_free(&t);
    cJSON_free(body);
    cJSON_Delete(req);
    cJSON_Delete(ids);
    cJSON_Delete(names);
    cJSON_Delete(resp);
    gt_client_free(client);
    return rc;
}

/*---- runs show ----*/

static int runs_show(struct cli_global *g, int argc, char **argv)
{
    const char *run_id = NULL;
    int json = 0, rc;
    gt_client *client;
    cJSON *resp = NULL, *exp = NULL;
    char path[256], enc[200];
    long status = 0;

    rc = cli_parse_args(g, argc, argv, "runs show", USAGE_SHOW, &json, NULL,
                        &run_id, 1, NULL);
    if (rc != CLI_ARGS_OK) {
        return rc;
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
        rc = cli_print_json(resp);
        goto out;
    }
    {
        const cJSON *run = cJSON_GetObjectItemCaseSensitive(resp, "run");
        const cJSON *info = cJSON_GetObjectItemCaseSensitive(run, "info");
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(run, "data");
        const char *exp_id = cli_jstr(info, "experiment_id");
        const char *exp_name = NULL;
        char start[32], end[32], dur[32];
        if (exp_id != NULL && cli_url_encode(exp_id, enc, sizeof enc) == 0) {
            long st2 = 0;
            snprintf(path, sizeof path,
                     "/api/2.0/mlflow/experiments/get?experiment_id=%s", enc);
            if (cli_call(client, "GET", path, NULL, "get the experiment", &exp,
                         &st2) == CLI_EXIT_OK) {
                exp_name = cli_jstr(
                    cJSON_GetObjectItemCaseSensitive(exp, "experiment"),
                    "name");
            }
        }
        cli_format_time(cli_jint(info, "start_time"), start, sizeof start);
        cli_format_time(cli_jint(info, "end_time"), end, sizeof end);
        run_duration(info, dur, sizeof dur);
        printf("run         %s\n",
               cli_jstr(info, "run_id") ? cli_jstr(info, "run_id") : run_id);
        printf("name        %s\n",
               cli_jstr(info, "run_name") ? cli_jstr(info, "run_name") : "");
        printf("experiment  %s (id %s)\n", exp_name ? exp_name : "?",
               exp_id ? exp_id : "?");
        printf("status      %s\n",
               cli_jstr(info, "status") ? cli_jstr(info, "status") : "?");
        printf("start       %s\n", start);
        printf("end         %s\n", end);
        printf("duration    %s\n", dur);
        if (cli_jstr(info, "user_id") != NULL && *cli_jstr(info, "user_id")) {
            printf("user        %s\n", cli_jstr(info, "user_id"));
        }
        if (cli_jstr(info, "artifact_uri") != NULL) {
            printf("artifacts   %s\n", cli_jstr(info, "artifact_uri"));
        }
        cli_print_pairs("params", data, "params", 0);
        cli_print_pairs("metrics (latest)", data, "metrics", 1);
        cli_print_pairs("tags", data, "tags", 0);
    }
out:
    cJSON_Delete(exp);
    cJSON_Delete(resp);
    gt_client_free(client);
    return rc;
}

int cli_cmd_runs(struct cli_global *g, int argc, char **argv)
{
    static const struct cli_subcmd subs[] = {
        {"list", "ls", runs_list},
        {"show", "get", runs_show},
        {NULL, NULL, NULL},
    };

    return cli_dispatch(g, argc, argv, "runs", USAGE_RUNS, "list or show",
                        subs);
}
