/* SPDX-License-Identifier: MIT
 *
 * cmd_models.c: `greentrack models ls`, `models show` and `models alias`:
 * the model registry (MLflow's registered-models and model-versions
 * endpoints) through gt_request, printed as `greentrack runs` prints
 * runs: a table, or with --json the server's JSON. `models show` adds
 * each version's CO2 and metric per kg CO2 from greentrack's
 * model-versions/carbon.
 */
#include "cli.h"

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

/*---- JSON helpers (as cmd_runs.c) ----*/

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

/*---- a plain text table (as cmd_runs.c's) ----*/

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

/* Copies at most 'max' code points of the first line of 's', ending in
 * "..." when cut. */
static void clip(const char *s, size_t max, char *out, size_t cap)
{
    size_t w = 0, i = 0;

    for (; s[i] != '\0' && s[i] != '\n' && s[i] != '\r'; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80 && w++ == max) {
            break;
        }
    }
    if (s[i] == '\0') {
        snprintf(out, cap, "%s", s);
    } else {
        size_t keep = i;
        if (s[i] != '\n' && s[i] != '\r') {
            /* back off three code points for the dots */
            for (int d = 0; d < 3 && keep > 0; d++) {
                do {
                    keep--;
                } while (keep > 0 && ((unsigned char)s[keep] & 0xC0) == 0x80);
            }
        }
        snprintf(out, cap, "%.*s...", (int)keep, s);
    }
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
    int64_t va = jint(*(const cJSON *const *)a, "version");
    int64_t vb = jint(*(const cJSON *const *)b, "version");

    return va < vb ? 1 : va > vb ? -1 : 0;
}

static int cmp_alias(const void *a, const void *b)
{
    const char *x = jstr(*(const cJSON *const *)a, "alias");
    const char *y = jstr(*(const cJSON *const *)b, "alias");

    return strcmp(x ? x : "", y ? y : "");
}

/* The items of array 'key' of 'obj' sorted with 'cmp'; caller frees the
 * array (not the items). NULL with *n = 0 when empty. */
static const cJSON **sorted(const cJSON *obj, const char *key,
                            int (*cmp)(const void *, const void *), size_t *n)
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
    qsort(v, k, sizeof *v, cmp);
    *n = k;
    return v;
}

/* "challenger=v4 champion=v3" from a model's aliases; with 'version', only
 * that version's alias names ("champion"). */
static void aliases_cell(const cJSON *model, const char *version, char *out,
                         size_t cap)
{
    size_t n, o = 0;
    const cJSON **a = sorted(model, "aliases", cmp_alias, &n);

    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *name = jstr(a[i], "alias");
        const char *v = jstr(a[i], "version");
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
    const cJSON **v = sorted(model, "latest_versions", cmp_version_desc, &n);

    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *stage = jstr(v[i], "current_stage");
        appendf(out, cap, &o, "%sv%s", i ? ", " : "",
                jstr(v[i], "version") ? jstr(v[i], "version") : "?");
        if (stage != NULL && strcmp(stage, "None") != 0) {
            appendf(out, cap, &o, " %s", stage);
        }
    }
    if (n == 0) {
        snprintf(out, cap, "-");
    }
    free(v);
}

/*---- models ls ----*/

static int models_ls(struct cli_global *g, int argc, char **argv)
{
    const char *filter = NULL, *name = NULL, *v;
    long max = 100;
    int json = 0, rc = CLI_EXIT_ERROR;
    gt_client *client = NULL;
    cJSON *all = NULL, *list, *page = NULL;
    char *expr = NULL, *enc = NULL, *token = NULL, *path = NULL;
    struct table t = {5, 0, 0, NULL};

    for (int i = 0; i < argc; i++) {
        int r;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(USAGE_LS, stdout);
            return CLI_EXIT_OK;
        }
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
            continue;
        }
        if ((r = cli_global_opt(g, argc, argv, &i)) == 0 &&
            (r = cli_opt(argc, argv, &i, "--filter", &filter)) == 0 &&
            (r = cli_opt(argc, argv, &i, "--name", &name)) == 0 &&
            (r = cli_opt(argc, argv, &i, "--max", &v)) > 0 &&
            cli_parse_long(v, 1, 50000, &max) != 0) {
            cli_err("models ls: --max wants 1..50000, not '%s'", v);
            return CLI_EXIT_USAGE;
        }
        if (r < 0) {
            return CLI_EXIT_USAGE;
        }
        if (r == 0) {
            cli_err("models ls: unexpected '%s' (see greentrack models ls "
                    "--help)",
                    argv[i]);
            return CLI_EXIT_USAGE;
        }
    }
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
    for (long got = 0; got < max;) {
        long want = max - got < PAGE_MAX ? max - got : PAGE_MAX;
        size_t n = 128 + (enc ? strlen(enc) : 0) + (token ? strlen(token) : 0);
        cJSON *models, *m;
        const char *next;
        free(path);
        if ((path = malloc(n)) == NULL) {
            goto nomem;
        }
        snprintf(path, n,
                 "/api/2.0/mlflow/registered-models/search?max_results=%ld"
                 "%s%s%s%s",
                 want, enc ? "&filter=" : "", enc ? enc : "",
                 token ? "&page_token=" : "", token ? token : "");
        rc = cli_call(client, "GET", path, NULL, "list models", &page, NULL);
        if (rc != CLI_EXIT_OK) {
            goto out;
        }
        rc = CLI_EXIT_ERROR;
        models = cJSON_GetObjectItemCaseSensitive(page, "registered_models");
        while (cJSON_IsArray(models) &&
               (m = cJSON_DetachItemFromArray(models, 0)) != NULL) {
            cJSON_AddItemToArray(list, m);
            got++;
        }
        next = jstr(page, "next_page_token");
        free(token);
        token = NULL;
        if (next == NULL || *next == '\0') {
            break;
        }
        if ((token = url_encode_dup(next)) == NULL) {
            goto nomem;
        }
        cJSON_Delete(page);
        page = NULL;
    }
    if (json) {
        rc = print_json(all);
        goto out;
    }
    {
        const char *hdr[] = {"NAME", "LATEST VERSIONS", "ALIASES", "UPDATED",
                             "DESCRIPTION"};
        const cJSON *m;
        if (table_add(&t, hdr) != 0) {
            goto nomem;
        }
        cJSON_ArrayForEach(m, list)
        {
            char latest[512], aliases[512], updated[32], desc[256];
            const char *row[5];
            latest_cell(m, latest, sizeof latest);
            aliases_cell(m, NULL, aliases, sizeof aliases);
            cli_format_time(jint(m, "last_updated_timestamp"), updated,
                            sizeof updated);
            clip(jstr(m, "description") ? jstr(m, "description") : "", 40, desc,
                 sizeof desc);
            row[0] = jstr(m, "name");
            row[1] = latest;
            row[2] = aliases[0] ? aliases : "-";
            row[3] = updated;
            row[4] = desc;
            if (table_add(&t, row) != 0) {
                goto nomem;
            }
        }
        if (t.nrows == 1) {
            fprintf(stderr, "greentrack: no registered models%s\n",
                    expr ? " match" : "");
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
    free(path);
    free(token);
    free(enc);
    free(expr);
    cJSON_Delete(page);
    cJSON_Delete(all);
    gt_client_free(client);
    return rc;
}

/*---- models show ----*/

/* The model's versions (model-versions/search, name = NAME, every page)
 * into the new array '*out'. */
static int fetch_versions(gt_client *client, const char *name, cJSON **out)
{
    char *q = filter_quote(name), *expr = NULL, *enc = NULL, *token = NULL;
    char *path = NULL;
    cJSON *page = NULL, *list = cJSON_CreateArray();
    int rc = CLI_EXIT_ERROR;

    if (q == NULL || list == NULL || (expr = malloc(strlen(q) + 8)) == NULL) {
        goto nomem;
    }
    snprintf(expr, strlen(q) + 8, "name = %s", q);
    if ((enc = url_encode_dup(expr)) == NULL) {
        goto nomem;
    }
    for (;;) {
        size_t n = 128 + strlen(enc) + (token ? strlen(token) : 0);
        cJSON *vs, *v;
        const char *next;
        free(path);
        if ((path = malloc(n)) == NULL) {
            goto nomem;
        }
        snprintf(path, n,
                 "/api/2.0/mlflow/model-versions/search?max_results=%d"
                 "&filter=%s%s%s",
                 VERSIONS_PAGE, enc, token ? "&page_token=" : "",
                 token ? token : "");
        cJSON_Delete(page);
        page = NULL;
        rc = cli_call(client, "GET", path, NULL, "list the model's versions",
                      &page, NULL);
        if (rc != CLI_EXIT_OK) {
            goto out;
        }
        rc = CLI_EXIT_ERROR;
        vs = cJSON_GetObjectItemCaseSensitive(page, "model_versions");
        while (cJSON_IsArray(vs) &&
               (v = cJSON_DetachItemFromArray(vs, 0)) != NULL) {
            cJSON_AddItemToArray(list, v);
        }
        next = jstr(page, "next_page_token");
        free(token);
        token = NULL;
        if (next == NULL || *next == '\0') {
            break;
        }
        if ((token = url_encode_dup(next)) == NULL) {
            goto nomem;
        }
    }
    *out = list;
    list = NULL;
    rc = CLI_EXIT_OK;
    goto out;
nomem:
    cli_err("out of memory");
    rc = CLI_EXIT_ERROR;
out:
    free(q);
    free(expr);
    free(enc);
    free(token);
    free(path);
    cJSON_Delete(page);
    cJSON_Delete(list);
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

static void print_tags(const cJSON *model)
{
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(model, "tags");
    const cJSON *t;
    size_t width = 0;
    int n = cJSON_GetArraySize(tags);

    printf("\ntags%s\n", n ? "" : " (none)");
    cJSON_ArrayForEach(t, tags)
    {
        const char *k = jstr(t, "key");
        if (k != NULL && text_width(k) > width) {
            width = text_width(k);
        }
    }
    cJSON_ArrayForEach(t, tags)
    {
        const char *k = jstr(t, "key");
        const char *val = jstr(t, "value");
        if (k == NULL) {
            k = "";
        }
        printf("  %s", k);
        for (size_t w = text_width(k); w < width + 2; w++) {
            putchar(' ');
        }
        puts(val != NULL ? val : "");
    }
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
        const char *k = jstr(m, "key");
        int n = 0;
        if (k == NULL) {
            continue;
        }
        cJSON_ArrayForEach(w, versions)
        {
            const char *k2 = jstr(
                cJSON_GetObjectItemCaseSensitive(
                    cJSON_GetObjectItemCaseSensitive(w, "carbon"), "metric"),
                "key");
            n += k2 != NULL && strcmp(k, k2) == 0;
        }
        if (n > best_n) {
            best = k;
            best_n = n;
            *dir = jstr(m, "direction");
        }
    }
    return best;
}

static int print_versions(const cJSON *versions)
{
    const char *hdr[] = {"VERSION", "STAGE", "ALIASES",    "RUN ID",
                         "METRIC",  "CO2",   "PER KG CO2", "CREATED"};
    struct table t = {8, 0, 0, NULL};
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
    if (table_add(&t, hdr) != 0) {
        goto nomem;
    }
    cJSON_ArrayForEach(v, versions)
    {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(v, "carbon");
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(c, "metric");
        const cJSON *co2 = cJSON_GetObjectItemCaseSensitive(c, "carbon");
        char ver[32], aliases[512], metric[160], co2s[32], perkg[32],
            created[32];
        const char *row[8], *run_id = jstr(c, "run_id");
        double x;
        const cJSON *a;
        size_t o = 0;
        snprintf(ver, sizeof ver, "%s",
                 jstr(v, "version") ? jstr(v, "version") : "?");
        aliases[0] = '\0';
        cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(v, "aliases"))
        {
            if (cJSON_IsString(a)) {
                appendf(aliases, sizeof aliases, &o, "%s%s", o ? "," : "",
                        a->valuestring);
            }
        }
        if (jstr(m, "key") != NULL && jnum(m, "value", &x)) {
            char k[64];
            clip(jstr(m, "key"), 24, k, sizeof k);
            snprintf(metric, sizeof metric, "%s=%.4g", k, x);
        } else {
            snprintf(metric, sizeof metric, "-");
        }
        if (jint(co2, "samples") > 0 && jnum(co2, "co2_g", &x)) {
            format_co2(x, co2s, sizeof co2s);
        } else {
            snprintf(co2s, sizeof co2s, "-");
        }
        if (jnum(c, "metric_per_kg_co2", &x)) {
            snprintf(perkg, sizeof perkg, "%.4g", x);
        } else {
            snprintf(perkg, sizeof perkg, "-");
        }
        cli_format_time(jint(v, "creation_timestamp"), created, sizeof created);
        if (run_id == NULL && jstr(v, "run_id") != NULL && *jstr(v, "run_id")) {
            run_id = jstr(v, "run_id");
        }
        row[0] = ver;
        row[1] = jstr(v, "current_stage") ? jstr(v, "current_stage") : "-";
        row[2] = aliases[0] ? aliases : "-";
        row[3] = run_id ? run_id : "-";
        row[4] = metric;
        row[5] = co2s;
        row[6] = perkg;
        row[7] = created;
        if (table_add(&t, row) != 0) {
            goto nomem;
        }
    }
    table_print(&t);
    table_free(&t);
    return CLI_EXIT_OK;
nomem:
    table_free(&t);
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
    const char *version = jstr(v, "version");
    cJSON *names = cJSON_CreateArray(), *carbon = NULL;
    size_t n;
    const cJSON **a = sorted(model, "aliases", cmp_alias, &n);
    int rc;

    if (names == NULL) {
        free(a);
        return -1;
    }
    for (size_t i = 0; i < n && version != NULL; i++) {
        const char *av = jstr(a[i], "version");
        if (av != NULL && strcmp(av, version) == 0 &&
            jstr(a[i], "alias") != NULL) {
            cJSON_AddItemToArray(names,
                                 cJSON_CreateString(jstr(a[i], "alias")));
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
    char *enc = NULL, *path = NULL;
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
        if (argv[i][0] == '-' || name != NULL) {
            cli_err("models show: unexpected '%s' (see greentrack models "
                    "show --help)",
                    argv[i]);
            return CLI_EXIT_USAGE;
        }
        name = argv[i];
    }
    if (name == NULL) {
        cli_err("models show: which model? (greentrack models show NAME)");
        return CLI_EXIT_USAGE;
    }
    if ((enc = url_encode_dup(name)) == NULL ||
        (path = malloc(strlen(enc) + 64)) == NULL) {
        free(enc);
        cli_err("out of memory");
        return CLI_EXIT_ERROR;
    }
    if ((client = cli_client_new(g)) == NULL) {
        rc = CLI_EXIT_ERROR;
        goto out;
    }
    snprintf(path, strlen(enc) + 64,
             "/api/2.0/mlflow/registered-models/get?name=%s", enc);
    rc = cli_call(client, "GET", path, NULL, "get the model", &resp, &status);
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
        rc = print_json(out);
        goto out;
    }
    {
        char created[32], updated[32], aliases[1024];
        const char *desc = jstr(model, "description");
        cli_format_time(jint(model, "creation_timestamp"), created,
                        sizeof created);
        cli_format_time(jint(model, "last_updated_timestamp"), updated,
                        sizeof updated);
        aliases_cell(model, NULL, aliases, sizeof aliases);
        printf("model        %s\n",
               jstr(model, "name") ? jstr(model, "name") : name);
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
        print_tags(model);
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
    free(path);
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
    char *body = NULL, *enc = NULL, *path = NULL;
    long status = 0;

    for (int i = 0; i < argc; i++) {
        int r;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(USAGE_ALIAS, stdout);
            return CLI_EXIT_OK;
        }
        if ((r = cli_global_opt(g, argc, argv, &i)) < 0) {
            return CLI_EXIT_USAGE;
        }
        if (r > 0) {
            continue;
        }
        if (argv[i][0] == '-' || npos == 3) {
            cli_err("models alias: unexpected '%s' (see greentrack models "
                    "alias --help)",
                    argv[i]);
            return CLI_EXIT_USAGE;
        }
        pos[npos++] = argv[i];
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
        if ((enc = url_encode_dup(pos[0])) == NULL ||
            (path = malloc(strlen(enc) + 64)) == NULL) {
            goto nomem;
        }
        snprintf(path, strlen(enc) + 64,
                 "/api/2.0/mlflow/registered-models/get?name=%s", enc);
        if (cli_call(client, "GET", path, NULL, "get the model", &m, &st2) ==
                CLI_EXIT_OK ||
            st2 != 404) {
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
    free(path);
    gt_client_free(client);
    return rc;
}

int cli_cmd_models(struct cli_global *g, int argc, char **argv)
{
    if (argc < 1) {
        fputs(USAGE_MODELS, stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "--help") == 0) {
        fputs(USAGE_MODELS, stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[0], "ls") == 0 || strcmp(argv[0], "list") == 0) {
        return models_ls(g, argc - 1, argv + 1);
    }
    if (strcmp(argv[0], "show") == 0 || strcmp(argv[0], "get") == 0) {
        return models_show(g, argc - 1, argv + 1);
    }
    if (strcmp(argv[0], "alias") == 0) {
        return models_alias(g, argc - 1, argv + 1);
    }
    cli_err("models: unknown subcommand '%s' (ls, show or alias)", argv[0]);
    return CLI_EXIT_USAGE;
}
