/* SPDX-License-Identifier: MIT
 *
 * table.c: the listing commands' words, JSON readers, text table and
 * "key  value" lists (see table.h).
 */
#include "table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*---- subcommands and their words ----*/

int cli_dispatch(struct cli_global *g, int argc, char **argv, const char *cmd,
                 const char *usage, const char *names,
                 const struct cli_subcmd *subs)
{
    if (argc < 1) {
        fputs(usage, stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "--help") == 0) {
        fputs(usage, stdout);
        return CLI_EXIT_OK;
    }
    for (const struct cli_subcmd *c = subs; c->name; c++) {
        if (strcmp(argv[0], c->name) == 0 ||
            (c->alias && strcmp(argv[0], c->alias) == 0)) {
            return c->run(g, argc - 1, argv + 1);
        }
    }
    cli_err("%s: unknown subcommand '%s' (%s)", cmd, argv[0], names);
    return CLI_EXIT_USAGE;
}

/* Matches argv[*i] against the options of 'opts': 1 (taken), 0 (none of
 * them) or -1 (a missing value or a bad number, printed). */
static int match_opt(const char *cmd, const struct cli_optspec *opts, int argc,
                     char **argv, int *i)
{
    for (const struct cli_optspec *o = opts; o && o->name; o++) {
        const char *v;
        int r = cli_opt(argc, argv, i, o->name, &v);
        if (r == 0 && o->alias != NULL) {
            r = cli_opt(argc, argv, i, o->alias, &v);
        }
        if (r == 0) {
            continue;
        }
        if (r < 0) {
            return -1;
        }
        if (o->num == NULL) {
            *o->value = v;
        } else if (cli_parse_long(v, o->min, o->max, o->num) != 0) {
            cli_err("%s: %s wants %ld..%ld, not '%s'", cmd, o->name, o->min,
                    o->max, v);
            return -1;
        }
        return 1;
    }
    return 0;
}

int cli_parse_args(struct cli_global *g, int argc, char **argv, const char *cmd,
                   const char *usage, int *json, const struct cli_optspec *opts,
                   const char **pos, int max_pos, int *npos)
{
    int n = 0;

    for (int i = 0; i < argc; i++) {
        int r;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(usage, stdout);
            return CLI_EXIT_OK;
        }
        if (json != NULL && strcmp(argv[i], "--json") == 0) {
            *json = 1;
            continue;
        }
        if ((r = cli_global_opt(g, argc, argv, &i)) == 0) {
            r = match_opt(cmd, opts, argc, argv, &i);
        }
        if (r < 0) {
            return CLI_EXIT_USAGE;
        }
        if (r > 0) {
            continue;
        }
        if (argv[i][0] == '-' || n == max_pos) {
            cli_err("%s: unexpected '%s' (see greentrack %s --help)", cmd,
                    argv[i], cmd);
            return CLI_EXIT_USAGE;
        }
        pos[n++] = argv[i];
    }
    if (npos != NULL) {
        *npos = n;
    }
    return CLI_ARGS_OK;
}

/*---- JSON ----*/

const char *cli_jstr(const cJSON *obj, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

    return cJSON_IsString(it) ? it->valuestring : NULL;
}

int64_t cli_jint(const cJSON *obj, const char *key)
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

void cli_jvalue(const cJSON *obj, const char *key, int digits, char *out,
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

int cli_print_json(const cJSON *j)
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
    const char *ka = cli_jstr(*(const cJSON *const *)a, "key");
    const char *kb = cli_jstr(*(const cJSON *const *)b, "key");

    return strcmp(ka ? ka : "", kb ? kb : "");
}

const cJSON **cli_sorted(const cJSON *obj, const char *key,
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
    qsort(v, k, sizeof *v, cmp ? cmp : cmp_key);
    *n = k;
    return v;
}

/*---- text ----*/

size_t cli_text_width(const char *s)
{
    size_t w = 0;

    for (; *s; s++) {
        w += ((unsigned char)*s & 0xC0) != 0x80;
    }
    return w;
}

void cli_clip(const char *s, size_t max, int first_line, char *out, size_t cap)
{
    size_t w = 0, i = 0;
#define CLIP_EOL(c) (first_line && ((c) == '\n' || (c) == '\r'))

    for (; s[i] != '\0' && !CLIP_EOL(s[i]); i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80 && w++ == max) {
            break;
        }
    }
    if (s[i] == '\0') {
        snprintf(out, cap, "%s", s);
    } else {
        size_t keep = i;
        if (!CLIP_EOL(s[i])) {
            /* back off three code points for the dots */
            for (int d = 0; d < 3 && keep > 0; d++) {
                do {
                    keep--;
                } while (keep > 0 && ((unsigned char)s[keep] & 0xC0) == 0x80);
            }
        }
        snprintf(out, cap, "%.*s...", (int)keep, s);
    }
#undef CLIP_EOL
}

int cli_table_add(struct cli_table *t, const char *const *row)
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

int cli_table_print(const struct cli_table *t)
{
    size_t width[CLI_TABLE_MAX_COLS] = {0};

    if (t->nrows <= 1) {
        return 0;
    }
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            size_t w = cli_text_width(t->cells[r * t->ncols + c]);
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
            for (size_t w = cli_text_width(s); c + 1 < last && w < width[c] + 2;
                 w++) {
                putchar(' ');
            }
        }
        putchar('\n');
    }
    return 1;
}

void cli_table_free(struct cli_table *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++) {
        free(t->cells[i]);
    }
    free(t->cells);
}

void cli_print_pairs(const char *title, const cJSON *obj, const char *key,
                     int metrics)
{
    size_t n, width = 0;
    const cJSON **v = cli_sorted(obj, key, NULL, &n);

    printf("\n%s%s\n", title, n ? "" : " (none)");
    for (size_t i = 0; i < n; i++) {
        const char *k = cli_jstr(v[i], "key");
        size_t w = k ? cli_text_width(k) : 0;
        if (w > width) {
            width = w;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const char *k = cli_jstr(v[i], "key");
        if (k == NULL) {
            k = "";
        }
        printf("  %s", k);
        for (size_t w = cli_text_width(k); w < width + 2; w++) {
            putchar(' ');
        }
        if (metrics) {
            char val[64];
            cli_jvalue(v[i], "value", 10, val, sizeof val);
            printf("%-12s step %lld\n", val, (long long)cli_jint(v[i], "step"));
        } else {
            const char *s = cli_jstr(v[i], "value");
            printf("%s\n", s ? s : "");
        }
    }
    free(v);
}
