/* SPDX-License-Identifier: MIT
 *
 * budget.c: experiments' carbon budgets (the experiment tag
 * greentrack.budget_co2_kg), read from greentrack's experiments/summary:
 * gt_experiment_budget for tools (blocking, its own connection), and the
 * worker's check when a run starts, which reports a spent budget through
 * the log callback. Owns nothing beyond each call.
 */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

/* The list form: its entries carry the budget fields too. The form for
 * one experiment (?experiment_id=) adds potential_saving_g, which reads
 * the carbon of each of its runs: about 0.45 ms a run, 450 ms for 1000
 * runs, measured, against 30 ms for the list of a few experiments and
 * 140 ms for 2000 (tests/bench/bench_budget.py). A check at every run
 * start wants the cost that does not grow with the experiment's runs. */
#define SUMMARY_PATH "/api/2.0/greentrack/experiments/summary"
#define BY_NAME_PATH "/api/2.0/mlflow/experiments/get-by-name?experiment_name="

/* The id of a summary entry as text (string or number), or "". */
static void entry_id(const cJSON *e, char *buf, size_t len)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "experiment_id");
    buf[0] = '\0';
    if (cJSON_IsString(id))
        snprintf(buf, len, "%s", id->valuestring);
    else if (cJSON_IsNumber(id) && id->valuedouble >= 0 &&
             id->valuedouble < 9e15)
        snprintf(buf, len, "%.0f", id->valuedouble);
}

static bool num_of(const cJSON *e, const char *key, double *out)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(e, key);
    if (!cJSON_IsNumber(x) || !isfinite(x->valuedouble))
        return false;
    *out = x->valuedouble;
    return true;
}

gt_status budget_parse(const char *body, size_t n, const char *exp_id,
                       gt_budget *out)
{
    char id[64];
    memset(out, 0, sizeof *out);
    snprintf(out->experiment_id, sizeof out->experiment_id, "%s", exp_id);
    cJSON *j = body ? cJSON_ParseWithLength(body, n) : NULL;
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return GT_E_SERVER;
    }
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(j, "experiments");
    const cJSON *found = NULL, *e;
    if (cJSON_IsArray(list)) {
        cJSON_ArrayForEach(e, list)
        {
            entry_id(e, id, sizeof id);
            if (strcmp(id, exp_id) == 0) {
                found = e;
                break;
            }
        }
    } else {
        entry_id(j, id, sizeof id); /* one experiment's object */
        if (id[0] == '\0') {
            cJSON_Delete(j);
            return GT_E_SERVER;
        }
        if (strcmp(id, exp_id) == 0)
            found = j;
    }
    if (!found) {
        cJSON_Delete(j);
        return GT_E_NOT_FOUND;
    }
    double budget, used, co2_g;
    if (num_of(found, "budget_co2_kg", &budget) && budget >= 0) {
        out->has_budget = 1;
        out->budget_co2_kg = budget;
        if (!num_of(found, "used_co2_kg", &used))
            used = num_of(found, "co2_g", &co2_g) ? co2_g / 1000.0 : 0;
        out->used_co2_kg = used;
        /* the server's fraction is null for a budget of 0 */
        if (!num_of(found, "budget_used_fraction", &out->used_fraction))
            out->used_fraction =
                budget > 0 ? used / budget : (used > 0 ? INFINITY : 0.0);
        /* over: a fraction above 1, as the server and the UI say; a
         * budget of 0 allows nothing */
        out->over = used > budget || budget == 0;
    }
    cJSON_Delete(j);
    return GT_OK;
}

/* GET 'path' on 't': GT_OK with '*status' (any answer), or GT_E_NETWORK
 * with 'err' set. */
static gt_status get(struct transport *t, const char *path, long *status,
                     char *err, size_t errlen)
{
    int64_t retry_after;
    *status = 0;
    transport_call(t, "GET", path, NULL, 0, status, &retry_after, err, errlen);
    return *status == 0 ? GT_E_NETWORK : GT_OK;
}

/* The budget of experiment 'exp_id' over 't'; 'err' says why not. */
static gt_status fetch(struct transport *t, const char *exp_id, gt_budget *out,
                       char *err, size_t errlen)
{
    long status;
    size_t n;
    gt_status rc = get(t, SUMMARY_PATH, &status, err, errlen);
    if (rc != GT_OK)
        return rc;
    if (status < 200 || status > 299) {
        snprintf(err, errlen,
                 "experiments/summary answered HTTP %ld (a server "
                 "without carbon budgets?)",
                 status);
        return GT_E_SERVER;
    }
    const char *body = transport_body(t, &n);
    rc = budget_parse(body, n, exp_id, out);
    if (rc == GT_E_NOT_FOUND)
        snprintf(err, errlen, "no experiment with id %s (or it is deleted)",
                 exp_id);
    else if (rc != GT_OK)
        snprintf(err, errlen, "experiments/summary: unexpected answer");
    return rc;
}

/* Experiment 'name''s id into 'id' over 't'. */
static gt_status lookup(struct transport *t, const char *name, char *id,
                        size_t idlen, char *err, size_t errlen)
{
    struct gt_buf path;
    long status;
    size_t n;
    gt_buf_init(&path);
    gt_buf_adds(&path, BY_NAME_PATH);
    gt_buf_add_urlenc(&path, name);
    if (path.oom) {
        gt_buf_cleanup(&path);
        return GT_E_NOMEM;
    }
    gt_status rc = get(t, path.p, &status, err, errlen);
    gt_buf_cleanup(&path);
    if (rc != GT_OK)
        return rc;
    if (status == 404) {
        snprintf(err, errlen, "no experiment named '%.200s'", name);
        return GT_E_NOT_FOUND;
    }
    if (status < 200 || status > 299) {
        snprintf(err, errlen, "experiments/get-by-name answered HTTP %ld",
                 status);
        return GT_E_SERVER;
    }
    const char *body = transport_body(t, &n);
    if (experiment_id_from(body, n, "experiment", id, idlen))
        return GT_OK;
    snprintf(err, errlen, "experiments/get-by-name: unexpected answer");
    return GT_E_SERVER;
}

gt_status gt_experiment_budget(gt_client *c, const char *experiment_id,
                               const char *experiment_name, gt_budget *out)
{
    char id[sizeof out->experiment_id], err[512] = "";
    if (out)
        memset(out, 0, sizeof *out);
    if (!c || !out) {
        if (c)
            gt_client_error(c, GT_LOG_ERROR, "invalid argument: NULL out");
        return GT_E_INVALID;
    }
    if (experiment_id && (!*experiment_id ||
                          strlen(experiment_id) >= sizeof out->experiment_id)) {
        gt_client_error(c, GT_LOG_ERROR,
                        "invalid argument: experiment id '%.40s'",
                        experiment_id);
        return GT_E_INVALID;
    }
    struct transport *t =
        transport_new(c->uri, atomic_load(&c->request_timeout_ms), &c->creds);
    if (!t)
        return GT_E_NOMEM;
    gt_status rc = GT_OK;
    if (experiment_id)
        snprintf(id, sizeof id, "%s", experiment_id);
    else if (experiment_name)
        rc = lookup(t, experiment_name, id, sizeof id, err, sizeof err);
    else
        snprintf(id, sizeof id, "0");
    if (rc == GT_OK)
        rc = fetch(t, id, out, err, sizeof err);
    transport_free(t);
    if (rc != GT_OK && rc != GT_E_NOMEM)
        gt_client_error(c, GT_LOG_ERROR, "carbon budget: %s", err);
    return rc;
}

void budget_check_on_start(gt_client *c, struct transport *tp,
                           const char *exp_id)
{
    gt_budget b;
    char err[512];
    gt_status rc = fetch(tp, exp_id, &b, err, sizeof err);
    if (rc != GT_OK) {
        gt_client_log(c, GT_LOG_DEBUG, "carbon budget not checked: %s", err);
        return;
    }
    if (b.has_budget && b.over)
        gt_client_log(c, GT_LOG_WARN,
                      "experiment %s is over its carbon budget: %.6g kg CO2 "
                      "used of %.6g kg (greentrack.budget_co2_kg)",
                      exp_id, b.used_co2_kg, b.budget_co2_kg);
    else if (b.has_budget)
        gt_client_log(c, GT_LOG_INFO,
                      "experiment %s has used %.1f%% of its carbon budget "
                      "(%.6g of %.6g kg CO2)",
                      exp_id, b.used_fraction * 100.0, b.used_co2_kg,
                      b.budget_co2_kg);
}
