/* SPDX-License-Identifier: MIT
 *
 * cmd_models.c: `greentrack models ls`, `models show` and `models alias`:
 * the model registry (MLflow's registered-models and model-versions
 * endpoints) through gt_request, printed as `greentrack runs` prints
 * runs: a table, or with --json the server's JSON. `models show` adds
 * each version's CO2 and metric per kg CO2 from greentrack's
 * model-versions/carbon.
 */
#include "table.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char USAGE_LS[] =
    "usage: greentrack models ls [OPTIONS]\n"
    "\n"
    "Lists registered models by name: the latest version in each stage,\n"
    "aliases, last update and description.\n"
    "\n"
    "Options:\n"
    "  --name TEXT            only models whose name contains TEXT (any\n"
    "                         case; % and _ are wildcards)\n"
    "  --filter EXPR          a registry search filter, e.g.\n"
    "                         \"name LIKE 'churn%' AND tags.team = 'growth'\"\n"
    "  --max N                at most N models (1..50000, default 100)\n"
    "  --json                 the server's registered-models/search answer\n"
    "                         as JSON (all pages in one)\n"
    "  --tracking-uri URI, -v  as for greentrack\n"
    "  -h, --help             this text\n"
    "\n"
    "Exit status: 0 success, 1 error (e.g. a bad filter), 2 bad usage,\n"
    "3 the server could not be reached.\n";

static const char USAGE_SHOW[] =
    "usage: greentrack models show NAME [OPTIONS]\n"
    "\n"
    "Shows a registered model: description, aliases, tags, and its\n"
    "versions newest first with stage, aliases, source run, the metric the\n"
    "model is judged by (tag greentrack.metric, else the leaderboard's\n"
    "metric of the run's experiment), the run's CO2 and metric per kg CO2.\n"
    "\n"
    "Options:\n"
    "  --json                 {\"registered_model\": as registered-models/get\n"
    "                         gives it, \"model_versions\": [each version as\n"
    "                         model-versions/search gives it, with its\n"
    "                         \"aliases\" and \"carbon\" (the answer of\n"
    "                         model-versions/carbon, null when none)]}\n"
    "  --tracking-uri URI, -v  as for greentrack\n"
    "  -h, --help             this text\n"
    "\n"
    "Exit status: 0 success, 1 error (e.g. no such model), 2 bad usage,\n"
    "3 the server could not be reached.\n";

static const char USAGE_ALIAS[] =
    "usage: greentrack models alias NAME ALIAS VERSION [OPTIONS]\n"
    "\n"
    "Points ALIAS of model NAME at VERSION (registered-models/alias), so\n"
    "models:/NAME@ALIAS loads it; an alias already set moves.\n"
    "\n"
    "Options:\n"
    "  --tracking-uri URI, -v  as for greentrack\n"
    "  -h, --help             this text\n"
    "\n"
    "Exit status: 0 success, 1 error (e.g. no such model or version, an\n"
    "alias the registry refuses), 2 bad usage, 3 the server could not be\n"
    "reached.\n";

static const char USAGE_MODELS[] =
    "usage: greentrack models ls [OPTIONS]\n"
    "       greentrack models show NAME [OPTIONS]\n"
    "       greentrack models alias NAME ALIAS VERSION [OPTIONS]\n"
    "('greentrack models ls --help', 'greentrack models show --help',\n"
    "'greentrack models alias --help')\n";

#define PAGE_MAX 1000       /* registered-models/search's largest page */
#define VERSIONS_PAGE 10000 /* as MLflow's Python client asks */

/*---- JSON ----*/

/* A number of 'obj' (JSON number, or "NaN"/"Infinity" as the server
 * writes them); 0 when absent or null. */
static int jnum(const cJSON *obj, const char *key, double *out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (cJSON_IsNumber(it)) {
        *out = it->valuedouble;
        return 1;
    }
    if (cJSON_IsString(it)) {
        char *end;
        *out = strtod(it->valuestring, &end);
        return end != it->valuestring;
    }
    return 0;
}

/* 's' percent-encoded into a new string (caller frees), or NULL. */
static char *url_encode_dup(const char *s)
{
    size_t cap = strlen(s) * 3 + 1;
    char *out = malloc(cap);

    if (out != NULL && cli_url_encode(s, out, cap) != 0) {
        free(out);
        out = NULL;
    }
    return out;
}

/* 's' as a quoted string of the registry's filter grammar ('%' and '_'
 * left as they are); caller frees. */
static char *filter_quote(const char *s)
{
    char *out = malloc(strlen(s) * 2 + 3);
    size_t o = 0;

    if (out == NULL) {
        return NULL;
    }
    out[o++] = '\'';
    for (; *s; s++) {
        if (*s == '\'' || *s == '\\') {
            out[o++] = *s;
        }
        out[o++] = *s;
    }
    out[o++] = '\'';
    out[o] = '\0';
    return out;
}

/* Appends printf output to out[*o .. cap); stops quietly when full. */
static void appendf(char *out, size_t cap, size_t *o, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void appendf(char *out, size_t cap, size_t *o, const char *fmt, ...)
{
    va_list ap;
    int w;

    if (*o >= cap) {
        return;
    }
    va_start(ap, fmt);
    w = vsnprintf(out + *o, cap - *o, fmt, ap);
    va_end(ap);
    if (w > 0) {
        *o += (size_t)w < cap - *o ? (size_t)w : cap - *o - 1;
    }
}

/* CO2 in grams as the web UI shows it: mg, g, kg or t, 3 digits. */
static void format_co2(double g, char *out, size_t cap)
{
    double a = g < 0 ? -g : g;

    if (a == 0) {
        snprintf(out, cap, "0 g");
    } else if (a < 1) {
        snprintf(out, cap, "%.3g mg", g * 1000);
    } else if (a < 1000) {
        snprintf(out, cap, "%.3g g", g);
    } else if (a < 1e6) {
        snprintf(out, cap, "%.3g kg", g / 1000);
    } else {
        snprintf(out, cap, "%.3g t", g / 1e6);
    }
}

static int cmp_version_desc(const void *a, const void *b)
{
    int64_t va = cli_jint(*(const cJSON *const *)a, "version");
    int64_t vb = cli_jint(*(const cJSON *const *)b, "version");

    return va < vb ? 1 : va > vb ? -1 : 0;
}

static int cmp_alias(const void *a, const void *b)
{
    const char *x = cli_jstr(*(const cJSON *const *)a, "alias");
    const char *y = cli_jstr(*(const cJSON *const *)b, "alias");

    return strcmp(x ? x : "", y ? y : "");
}

/* "challenger=v4 champion=v3" from a model's aliases; with 'version', only
 * that version's alias names ("champion"). */
static void aliases_cell(const cJSON *model, const char *version, char *out,
                         size_t cap)
{
    size_t n, o = 0;
    const cJSON **a = cli_sorted(model, "aliases", cmp_alias, &n);

    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *name = cli_jstr(a[i], "alias");
        const char *v = cli_jstr(a[i], "version");
        if (name == NULL || v == NULL) {
            continue;
        }
        if (version == NULL) {
            appendf(out, cap, &o, "%s%s=v%s", o ? " " : "", name, v);
        } else if (strcmp(v, version) == 0) {
            appendf(out, cap, &o, "%s%s", o ? "," : "", name);
        }
    }
    free(a);
}

/* "v4, v3 Production, v2 Staging" from a model's latest_versions. */
static void latest_cell(const cJSON *model, char *out, size_t cap)
{
    size_t n, o = 0;
    const cJSON **v =
        cli_sorted(model, "latest_versions", cmp_version_desc, &n);

    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *stage = cli_jstr(v[i], "current_stage");
        appendf(out, cap, &o, "%sv%s", i ? ", " : "",
                cli_jstr(v[i], "version") ? cli_jstr(v[i], "version") : "?");
        if (stage != NULL && strcmp(stage, "None") != 0) {
            appendf(out, cap, &o, " %s", stage);
        }
    }
    if (n == 0) {
        snprintf(out, cap, "-");
    }
    free(v);
}

/* Pages through GET /api/2.0/mlflow/<endpoint>?max_results=N[&filter=
 * 'enc_filter'][&page_token=...] (pages of 'page_max'), moving the items
 * of 'key' of each page into 'list', until 'max' items (-1: every page)
 * or the last page. As cli_call ('what' names the call) when a call
 * fails. */
static int search_pages(gt_client *client, const char *endpoint,
                        const char *key, const char *enc_filter, long page_max,
                        long max, const char *what, cJSON *list)
{
    char *token = NULL, *path = NULL;
    cJSON *page = NULL;
    int rc = CLI_EXIT_OK;

    for (long got = 0; max < 0 || got < max;) {
        long want = max >= 0 && max - got < page_max ? max - got : page_max;
        size_t n = 128 + strlen(endpoint) +
                   (enc_filter ? strlen(enc_filter) : 0) +
                   (token ? strlen(token) : 0);
        cJSON *items, *it;
        const char *next;
        free(path);
        if ((path = malloc(n)) == NULL) {
            goto nomem;
        }
        snprintf(path, n, "/api/2.0/mlflow/%s?max_results=%ld%s%s%s%s",
                 endpoint, want, enc_filter ? "&filter=" : "",
                 enc_filter ? enc_filter : "", token ? "&page_token=" : "",
                 token ? token : "");
        cJSON_Delete(page);
        page = NULL;
        rc = cli_call(client, "GET", path, NULL, what, &page, NULL);
        if (rc != CLI_EXIT_OK) {
            goto out;
        }
        items = cJSON_GetObjectItemCaseSensitive(page, key);
        while (cJSON_IsArray(items) &&
               (it = cJSON_DetachItemFromArray(items, 0)) != NULL) {
            cJSON_AddItemToArray(list, it);
            got++;
        }
        next = cli_jstr(page, "next_page_token");
        free(token);
        token = NULL;
        if (next == NULL || *next == '\0') {
            break;
        }
        if ((token = url_encode_dup(next)) == NULL) {
            goto nomem;
        }
    }
    goto out;
nomem:
    cli_err("out of memory");
    rc = CLI_EXIT_ERROR;
out:
    free(token);
    free(path);
    cJSON_Delete(page);
    return rc;
}

/*---- models ls ----*/

static int models_ls(struct cli_global *g, int argc, char **argv)
{
    const char *filter = NULL, *name = NULL;
    long max = 100;
    int json = 0, rc = CLI_EXIT_ERROR;
    gt_client *client = NULL;
    cJSON *all = NULL, *list;
    char *expr = NULL, *enc = NULL;
    struct cli_table t = {5, 0, 0, NULL};

    const struct cli_optspec opts[] = {
        {"--filter", NULL, &filter, NULL, 0, 0},
        {"--name", NULL, &name, NULL, 0, 0},
        {"--max", NULL, NULL, &max, 1, 50000},
        {NULL, NULL, NULL, NULL, 0, 0},
    };

    rc = cli_parse_args(g, argc, argv, "models ls", USAGE_LS, &json, opts, NULL,
                        0, NULL);
    if (rc != CLI_ARGS_OK) {
        return rc;
    }
    rc = CLI_EXIT_ERROR;
    /* --name and --filter together: both must hold */
    if (name != NULL) {
        size_t n = strlen(name) + 2;
        char *like = malloc(n + 1), *q;
        if (like == NULL) {
            goto nomem;
        }
        snprintf(like, n + 1, "%%%s%%", name);
        q = filter_quote(like);
        free(like);
        if (q == NULL) {
            goto nomem;
        }
        n = strlen(q) + (filter ? strlen(filter) : 0) + 32;
        if ((expr = malloc(n)) == NULL) {
            free(q);
            goto nomem;
        }
        snprintf(expr, n, "name ILIKE %s%s%s", q, filter ? " AND " : "",
                 filter ? filter : "");
        free(q);
    } else if (filter != NULL && (expr = strdup(filter)) == NULL) {
        goto nomem;
    }
    if (expr != NULL && (enc = url_encode_dup(expr)) == NULL) {
        goto nomem;
    }
    if ((client = cli_client_new(g)) == NULL) {
        goto out;
    }
    if ((all = cJSON_CreateObject()) == NULL ||
        (list = cJSON_AddArrayToObject(all, "registered_models")) == NULL) {
        goto nomem;
    }
    /* page through the search until 'max' models or the last page */
    if ((rc = search_pages(client, "registered-models/search",
                           "registered_models", enc, PAGE_MAX, max,
                           "list models", list)) != CLI_EXIT_OK) {
        goto out;
    }
    if (json) {
        rc = cli_print_json(all);
        goto out;
    }
    {
        const char *hdr[] = {"NAME", "LATEST VERSIONS", "ALIASES", "UPDATED",
                             "DESCRIPTION"};
        const cJSON *m;
        if (cli_table_add(&t, hdr) != 0) {
            goto nomem;
        }
        cJSON_ArrayForEach(m, list)
        {
            char latest[512], aliases[512], updated[32], desc[256];
            const char *row[5];
            latest_cell(m, latest, sizeof latest);
            aliases_cell(m, NULL, aliases, sizeof aliases);
            cli_format_time(cli_jint(m, "last_updated_timestamp"), updated,
                            sizeof updated);
            cli_clip(cli_jstr(m, "description") ? cli_jstr(m, "description")
                                                : "",
                     40, 1, desc, sizeof desc);
            row[0] = cli_jstr(m, "name");
            row[1] = latest;
            row[2] = aliases[0] ? aliases : "-";
            row[3] = updated;
            row[4] = desc;
            if (cli_table_add(&t, row) != 0) {
                goto nomem;
            }
        }
        if (!cli_table_print(&t)) {
            fprintf(stderr, "greentrack: no registered models%s\n",
                    expr ? " match" : "");
        }
        rc = CLI_EXIT_OK;
        goto out;
    }
nomem:
    cli_err("out of memory");
    rc = CLI_EXIT_ERROR;
out:
    cli_table_free(&t);
    free(enc);
    free(expr);
    cJSON_Delete(all);
    gt_client_free(client);
    return rc;
}

/*---- models show ----*/

/* The model's versions (model-versions/search, name = NAME, every page)
 * into the new array '*out'. */
static int fetch_versions(gt_client *client, const char *name, cJSON **out)
{
    char *q = filter_quote(name), *expr = NULL, *enc = NULL;
    cJSON *list = cJSON_CreateArray();
    int rc;

    if (q == NULL || list == NULL || (expr = malloc(strlen(q) + 8)) == NULL) {
        goto nomem;
    }
    snprintf(expr, strlen(q) + 8, "name = %s", q);
    if ((enc = url_encode_dup(expr)) == NULL) {
        goto nomem;
    }
    rc = search_pages(client, "model-versions/search", "model_versions", enc,
                      VERSIONS_PAGE, -1, "list the model's versions", list);
    if (rc == CLI_EXIT_OK) {
        *out = list;
        list = NULL;
    }
    goto out;
nomem:
    cli_err("out of memory");
    rc = CLI_EXIT_ERROR;
out:
    free(q);
    free(expr);
    free(enc);
    cJSON_Delete(list);
    return rc;
}

/* GET registered-models/get of the model named 'enc_name' (URL-encoded),
 * as cli_call. */
static int get_model(gt_client *client, const char *enc_name, cJSON **out,
                     long *status)
{
    size_t n = strlen(enc_name) + 64;
    char *path = malloc(n);
    int rc;

    if (path == NULL) {
        cli_err("out of memory");
        return CLI_EXIT_ERROR;
    }
    snprintf(path, n, "/api/2.0/mlflow/registered-models/get?name=%s",
             enc_name);
    rc = cli_call(client, "GET", path, NULL, "get the model", out, status);
    free(path);
    return rc;
}

/* The version's model-versions/carbon answer into '*out', or NULL when
 * the server has none (no source run, no such endpoint). Returns
 * CLI_EXIT_UNREACHABLE when the server went away, else CLI_EXIT_OK. */
static int fetch_carbon(gt_client *client, const char *enc_name,
                        const char *version, cJSON **out)
{
    char *enc_v = url_encode_dup(version);
    size_t n = strlen(enc_name) + (enc_v ? strlen(enc_v) : 0) + 96;
    char *path = malloc(n);
    long status = 0;
    int rc;

    *out = NULL;
    if (enc_v == NULL || path == NULL) {
        free(enc_v);
        free(path);
        cli_err("out of memory");
        return CLI_EXIT_ERROR;
    }
    snprintf(path, n,
             "/api/2.0/greentrack/model-versions/carbon?name=%s&version=%s",
             enc_name, enc_v);
    rc = cli_call(client, "GET", path, NULL, "read the version's carbon", out,
                  &status);
    free(enc_v);
    free(path);
    if (rc == CLI_EXIT_UNREACHABLE) {
        return rc;
    }
    if (rc != CLI_EXIT_OK) {
        *out = NULL;
    }
    return CLI_EXIT_OK;
}

/* The metric key most versions are judged by, for the heading. */
static const char *main_metric(const cJSON *versions, const char **dir)
{
    const cJSON *v, *w;
    const char *best = NULL;
    int best_n = 0;

    *dir = NULL;
    cJSON_ArrayForEach(v, versions)
    {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(v, "carbon"), "metric");
        const char *k = cli_jstr(m, "key");
        int n = 0;
        if (k == NULL) {
            continue;
        }
        cJSON_ArrayForEach(w, versions)
        {
            const char *k2 = cli_jstr(
                cJSON_GetObjectItemCaseSensitive(
                    cJSON_GetObjectItemCaseSensitive(w, "carbon"), "metric"),
                "key");
            n += k2 != NULL && strcmp(k, k2) == 0;
        }
        if (n > best_n) {
            best = k;
            best_n = n;
            *dir = cli_jstr(m, "direction");
        }
    }
    return best;
}

static int print_versions(const cJSON *versions)
{
    const char *hdr[] = {"VERSION", "STAGE", "ALIASES",    "RUN ID",
                         "METRIC",  "CO2",   "PER KG CO2", "CREATED"};
    struct cli_table t = {8, 0, 0, NULL};
    const cJSON *v;
    const char *dir;
    const char *key = main_metric(versions, &dir);
    int n = cJSON_GetArraySize(versions);

    if (n == 0) {
        printf("\nversions (none)\n");
        return CLI_EXIT_OK;
    }
    if (key != NULL) {
        printf("\nversions (judged by %s, %s is better)\n", key,
               dir != NULL && strcmp(dir, "min") == 0 ? "lower" : "higher");
    } else {
        printf("\nversions\n");
    }
    if (cli_table_add(&t, hdr) != 0) {
        goto nomem;
    }
    cJSON_ArrayForEach(v, versions)
    {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(v, "carbon");
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(c, "metric");
        const cJSON *co2 = cJSON_GetObjectItemCaseSensitive(c, "carbon");
        char ver[32], aliases[512], metric[160], co2s[32], perkg[32],
            created[32];
        const char *row[8], *run_id = cli_jstr(c, "run_id");
        double x;
        const cJSON *a;
        size_t o = 0;
        snprintf(ver, sizeof ver, "%s",
                 cli_jstr(v, "version") ? cli_jstr(v, "version") : "?");
        aliases[0] = '\0';
        cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(v, "aliases"))
        {
            if (cJSON_IsString(a)) {
                appendf(aliases, sizeof aliases, &o, "%s%s", o ? "," : "",
                        a->valuestring);
            }
        }
        if (cli_jstr(m, "key") != NULL && jnum(m, "value", &x)) {
            char k[64];
            cli_clip(cli_jstr(m, "key"), 24, 1, k, sizeof k);
            snprintf(metric, sizeof metric, "%s=%.4g", k, x);
        } else {
            snprintf(metric, sizeof metric, "-");
        }
        if (cli_jint(co2, "samples") > 0 && jnum(co2, "co2_g", &x)) {
            format_co2(x, co2s, sizeof co2s);
        } else {
            snprintf(co2s, sizeof co2s, "-");
        }
        if (jnum(c, "metric_per_kg_co2", &x)) {
            snprintf(perkg, sizeof perkg, "%.4g", x);
        } else {
            snprintf(perkg, sizeof perkg, "-");
        }
        cli_format_time(cli_jint(v, "creation_timestamp"), created,
                        sizeof created);
        if (run_id == NULL && cli_jstr(v, "run_id") != NULL &&
            *cli_jstr(v, "run_id")) {
            run_id = cli_jstr(v, "run_id");
        }
        row[0] = ver;
        row[1] =
            cli_jstr(v, "current_stage") ? cli_jstr(v, "current_stage") : "-";
        row[2] = aliases[0] ? aliases : "-";
        row[3] = run_id ? run_id : "-";
        row[4] = metric;
        row[5] = co2s;
        row[6] = perkg;
        row[7] = created;
        if (cli_table_add(&t, row) != 0) {
            goto nomem;
        }
    }
    cli_table_print(&t);
    cli_table_free(&t);
    return CLI_EXIT_OK;
nomem:
    cli_table_free(&t);
    cli_err("out of memory");
    return CLI_EXIT_ERROR;
}

/* Sorts the array's items newest version first, in place. */
static int sort_versions(cJSON *arr)
{
    int n = cJSON_GetArraySize(arr);
    cJSON **v;

    if (n < 2) {
        return 0;
    }
    if ((v = calloc((size_t)n, sizeof *v)) == NULL) {
        return -1;
    }
    for (int i = 0; i < n; i++) {
        v[i] = cJSON_DetachItemFromArray(arr, 0);
    }
    qsort(v, (size_t)n, sizeof *v, cmp_version_desc);
    for (int i = 0; i < n; i++) {
        cJSON_AddItemToArray(arr, v[i]);
    }
    free(v);
    return 0;
}

/* Sets the version's "aliases" to the model's aliases pointing at it
 * (model-versions/search leaves them out) and adds "carbon". */
static int complete_version(gt_client *client, const char *enc_name,
                            const cJSON *model, cJSON *v)
{
    const char *version = cli_jstr(v, "version");
    cJSON *names = cJSON_CreateArray(), *carbon = NULL;
    size_t n;
    const cJSON **a = cli_sorted(model, "aliases", cmp_alias, &n);
    int rc;

    if (names == NULL) {
        free(a);
        return -1;
    }
    for (size_t i = 0; i < n && version != NULL; i++) {
        const char *av = cli_jstr(a[i], "version");
        if (av != NULL && strcmp(av, version) == 0 &&
            cli_jstr(a[i], "alias") != NULL) {
            cJSON_AddItemToArray(names,
                                 cJSON_CreateString(cli_jstr(a[i], "alias")));
        }
    }
    free(a);
    cJSON_DeleteItemFromObjectCaseSensitive(v, "aliases");
    cJSON_AddItemToObject(v, "aliases", names);
    if (version == NULL) {
        cJSON_AddNullToObject(v, "carbon");
        return CLI_EXIT_OK;
    }
    rc = fetch_carbon(client, enc_name, version, &carbon);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    if (carbon != NULL) {
        cJSON_AddItemToObject(v, "carbon", carbon);
    } else {
        cJSON_AddNullToObject(v, "carbon");
    }
    return CLI_EXIT_OK;
}

static int models_show(struct cli_global *g, int argc, char **argv)
{
    const char *name = NULL;
    int json = 0, rc;
    gt_client *client = NULL;
    cJSON *resp = NULL, *versions = NULL, *out = NULL, *model, *v;
    char *enc = NULL;
    long status = 0;

    rc = cli_parse_args(g, argc, argv, "models show", USAGE_SHOW, &json, NULL,
                        &name, 1, NULL);
    if (rc != CLI_ARGS_OK) {
        return rc;
    }
    if (name == NULL) {
        cli_err("models show: which model? (greentrack models show NAME)");
        return CLI_EXIT_USAGE;
    }
    if ((enc = url_encode_dup(name)) == NULL) {
        cli_err("out of memory");
        return CLI_EXIT_ERROR;
    }
    if ((client = cli_client_new(g)) == NULL) {
        rc = CLI_EXIT_ERROR;
        goto out;
    }
    rc = get_model(client, enc, &resp, &status);
    if (rc != CLI_EXIT_OK) {
        if (status == 404) {
            cli_err("models show: no registered model '%s'", name);
        }
        goto out;
    }
    model = cJSON_GetObjectItemCaseSensitive(resp, "registered_model");
    if (!cJSON_IsObject(model)) {
        cli_err("models show: unexpected answer from the server");
        rc = CLI_EXIT_ERROR;
        goto out;
    }
    if ((rc = fetch_versions(client, name, &versions)) != CLI_EXIT_OK) {
        goto out;
    }
    if (sort_versions(versions) != 0) {
        goto nomem;
    }
    cJSON_ArrayForEach(v, versions)
    {
        if ((rc = complete_version(client, enc, model, v)) != CLI_EXIT_OK) {
            if (rc < 0) {
                goto nomem;
            }
            goto out;
        }
    }
    if (json) {
        if ((out = cJSON_CreateObject()) == NULL) {
            goto nomem;
        }
        cJSON_AddItemToObject(
            out, "registered_model",
            cJSON_DetachItemFromObjectCaseSensitive(resp, "registered_model"));
        cJSON_AddItemToObject(out, "model_versions", versions);
        versions = NULL;
        rc = cli_print_json(out);
        goto out;
    }
    {
        char created[32], updated[32], aliases[1024];
        const char *desc = cli_jstr(model, "description");
        cli_format_time(cli_jint(model, "creation_timestamp"), created,
                        sizeof created);
        cli_format_time(cli_jint(model, "last_updated_timestamp"), updated,
                        sizeof updated);
        aliases_cell(model, NULL, aliases, sizeof aliases);
        printf("model        %s\n",
               cli_jstr(model, "name") ? cli_jstr(model, "name") : name);
        printf("description  ");
        /* a description of several lines keeps its lines, indented */
        for (const char *p = desc ? desc : ""; *p; p++) {
            putchar(*p);
            if (*p == '\n' && p[1] != '\0') {
                fputs("             ", stdout);
            }
        }
        putchar('\n');
        printf("created      %s\n", created);
        printf("updated      %s\n", updated);
        printf("aliases      %s\n", aliases[0] ? aliases : "-");
        cli_print_pairs("tags", model, "tags", 0);
        rc = print_versions(versions);
    }
    goto out;
nomem:
    cli_err("out of memory");
    rc = CLI_EXIT_ERROR;
out:
    cJSON_Delete(out);
    cJSON_Delete(versions);
    cJSON_Delete(resp);
    free(enc);
    gt_client_free(client);
    return rc;
}

/*---- models alias ----*/

static int models_alias(struct cli_global *g, int argc, char **argv)
{
    const char *pos[3] = {NULL, NULL, NULL};
    int npos = 0, rc;
    gt_client *client = NULL;
    cJSON *req = NULL, *resp = NULL;
    char *body = NULL, *enc = NULL;
    long status = 0;

    rc = cli_parse_args(g, argc, argv, "models alias", USAGE_ALIAS, NULL, NULL,
                        pos, 3, &npos);
    if (rc != CLI_ARGS_OK) {
        return rc;
    }
    if (npos != 3) {
        cli_err("models alias: want NAME ALIAS VERSION (greentrack models "
                "alias churn champion 3)");
        return CLI_EXIT_USAGE;
    }
    if ((client = cli_client_new(g)) == NULL) {
        return CLI_EXIT_ERROR;
    }
    if ((req = cJSON_CreateObject()) == NULL ||
        cJSON_AddStringToObject(req, "name", pos[0]) == NULL ||
        cJSON_AddStringToObject(req, "alias", pos[1]) == NULL ||
        cJSON_AddStringToObject(req, "version", pos[2]) == NULL ||
        (body = cJSON_PrintUnformatted(req)) == NULL) {
        goto nomem;
    }
    rc = cli_call(client, "POST", "/api/2.0/mlflow/registered-models/alias",
                  body, "set the alias", &resp, &status);
    if (rc == CLI_EXIT_OK) {
        printf("%s@%s -> version %s\n", pos[0], pos[1], pos[2]);
        goto out;
    }
    if (status == 404) {
        /* the model or the version: ask which */
        long st2 = 0;
        cJSON *m = NULL;
        if ((enc = url_encode_dup(pos[0])) == NULL) {
            goto nomem;
        }
        if (get_model(client, enc, &m, &st2) == CLI_EXIT_OK || st2 != 404) {
            cli_err("models alias: model '%s' has no version %s", pos[0],
                    pos[2]);
        } else {
            cli_err("models alias: no registered model '%s'", pos[0]);
        }
        cJSON_Delete(m);
    }
    goto out;
nomem:
    cli_err("out of memory");
    rc = CLI_EXIT_ERROR;
out:
    cJSON_free(body);
    cJSON_Delete(req);
    cJSON_Delete(resp);
    free(enc);
    gt_client_free(client);
    return rc;
}

int cli_cmd_models(struct cli_global *g, int argc, char **argv)
{
    static const struct cli_subcmd subs[] = {
        {"ls", "list", models_ls},
        {"show", "get", models_show},
        {"alias", NULL, models_alias},
        {NULL, NULL, NULL},
    };

    return cli_dispatch(g, argc, argv, "models", USAGE_MODELS,
                        "ls, show or alias", subs);
}
