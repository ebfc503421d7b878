/* SPDX-License-Identifier: MIT
 *
 * cmd_import.c: `greentrack import-codecarbon FILE --experiment NAME`:
 * sends a CodeCarbon emissions.csv to the server's
 * /api/2.0/greentrack/import/codecarbon, creating the experiment when it
 * does not exist, and prints one line per imported run id.
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char USAGE[] =
    "usage: greentrack import-codecarbon FILE [--experiment NAME] [--json]\n"
    "\n"
    "Imports a CodeCarbon emissions.csv (any CodeCarbon version: columns\n"
    "are found by name). Each row becomes a FINISHED run with its energy,\n"
    "location and CodeCarbon's CO2; importing the same file again changes\n"
    "nothing. The experiment (default: Default) is created if missing.\n"
    "  --experiment NAME  the experiment to import into\n"
    "  --json             print the server's answer as JSON\n";

/* Reads a whole file; NULL (error printed) on failure. */
static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        char why[128];
        strerror_r(errno, why, sizeof why);
        cli_err("cannot open %s: %s", path, why);
        return NULL;
    }
    size_t cap = 65536, len = 0, n;
    char *buf = malloc(cap + 1);
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            char *p = realloc(buf, 2 * cap + 1);
            if (!p) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = p;
            cap *= 2;
        }
    }
    int failed = ferror(f);
    fclose(f);
    if (!buf || failed) {
        cli_err("cannot read %s", path);
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

/* The id of experiment 'name', created when missing; 0 or an exit code. */
static int experiment_id(gt_client *client, const char *name, char *id,
                         size_t cap)
{
    char enc[1024], path[1200];
    if (cli_url_encode(name, enc, sizeof enc) != 0) {
        cli_err("experiment name too long");
        return CLI_EXIT_USAGE;
    }
    snprintf(path, sizeof path,
             "/api/2.0/mlflow/experiments/get-by-name?experiment_name=%s", enc);
    cJSON *out = NULL;
    long status = 0;
    int rc = cli_call(client, "GET", path, NULL, "look up the experiment", &out,
                      &status);
    const cJSON *v = NULL;
    if (rc == 0) {
        v = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(out, "experiment"),
            "experiment_id");
    } else if (status == 404) {
        cJSON *body = cJSON_CreateObject();
        char *text = body && cJSON_AddStringToObject(body, "name", name)
                         ? cJSON_PrintUnformatted(body)
                         : NULL;
        cJSON_Delete(body);
        if (!text) {
            cli_err("out of memory");
            return CLI_EXIT_ERROR;
        }
        rc = cli_call(client, "POST", "/api/2.0/mlflow/experiments/create",
                      text, "create the experiment", &out, NULL);
        cJSON_free(text);
        if (rc == 0)
            v = cJSON_GetObjectItemCaseSensitive(out, "experiment_id");
    }
    if (rc != 0) {
        cJSON_Delete(out);
        return rc;
    }
    if (!cJSON_IsString(v)) {
        cli_err("unexpected answer from the server");
        cJSON_Delete(out);
        return CLI_EXIT_ERROR;
    }
    snprintf(id, cap, "%s", v->valuestring);
    cJSON_Delete(out);
    return 0;
}

int cli_cmd_import_codecarbon(struct cli_global *g, int argc, char **argv)
{
    const char *file = NULL, *experiment = "Default";
    int json = 0;
    for (int i = 0; i < argc; i++) {
        const char *v;
        int m;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(USAGE, stdout);
            return CLI_EXIT_OK;
        }
        if ((m = cli_global_opt(g, argc, argv, &i)) != 0) {
            if (m < 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        if ((m = cli_opt(argc, argv, &i, "--experiment", &v)) != 0) {
            if (m < 0)
                return CLI_EXIT_USAGE;
            experiment = v;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (argv[i][0] == '-' || file) {
            cli_err("unexpected argument '%s' (see --help)", argv[i]);
            return CLI_EXIT_USAGE;
        } else {
            file = argv[i];
        }
    }
    if (!file) {
        cli_err("which file? (see --help)");
        return CLI_EXIT_USAGE;
    }
    char *csv = read_file(file);
    if (!csv)
        return CLI_EXIT_ERROR;
    gt_client *client = cli_client_new(g);
    if (!client) {
        free(csv);
        return CLI_EXIT_ERROR;
    }
    char id[64];
    cJSON *out = NULL;
    int rc = experiment_id(client, experiment, id, sizeof id);
    if (rc == 0) {
        char path[128];
        snprintf(path, sizeof path,
                 "/api/2.0/greentrack/import/codecarbon?experiment_id=%s", id);
        rc = cli_call(client, "POST", path, csv, "import", &out, NULL);
    }
    if (rc == 0 && json) {
        char *text = cJSON_Print(out);
        if (text)
            puts(text);
        cJSON_free(text);
    } else if (rc == 0) {
        const cJSON *ids = cJSON_GetObjectItemCaseSensitive(out, "run_ids");
        const cJSON *it;
        cJSON_ArrayForEach(it, ids)
        {
            if (cJSON_IsString(it))
                puts(it->valuestring);
        }
        fprintf(stderr, "greentrack: imported %d run(s) into '%s'\n",
                cJSON_GetArraySize(ids), experiment);
    }
    cJSON_Delete(out);
    gt_client_free(client);
    free(csv);
    return rc;
}
