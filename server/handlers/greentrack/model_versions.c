/* SPDX-License-Identifier: MIT
 *
 * model_versions: greentrack's own model-version endpoint,
 * GET /api/2.0/greentrack/model-versions/carbon?name=&version=: what a
 * registered model version cost the planet. The version's source run
 * gives the energy and CO2 (carbon_report.h, as runs/carbon shows them);
 * the metric the model is judged by is the registered model's tag
 * greentrack.metric, else the metric the experiment's leaderboard opens
 * with; its latest value on the run over the run's kg of CO2 is the
 * leaderboard's score (ranking.h). Reads only: nothing is written to the
 * model's or the version's tags.
 */
#include "carbon_report.h"
#include "greenai_report.h"
#include "handlers/handlers.h"
#include "jsonx.h"
#include "ranking.h"
#include "registry.h"
#include "render.h"
#include "store_registry.h"
#include "validate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The registered-model tag naming the metric a model is judged by. */
#define METRIC_TAG "greentrack.metric"

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

/* Whether 'key' ends in acc or accuracy after a separator (or is one):
 * the leaderboard's /(^|[._/-])(acc|accuracy)$/i. */
static bool ends_in_accuracy(const char *key)
{
    static const char *const words[] = {"acc", "accuracy"};
    size_t n = strlen(key);
    for (size_t i = 0; i < 2; i++) {
        size_t w = strlen(words[i]);
        if (n < w || strcasecmp(key + n - w, words[i]) != 0)
            continue;
        if (n == w || strchr("._/-", key[n - w - 1]))
            return true;
    }
    return false;
}

/* Whether lower is better for 'key': the leaderboard's
 * /(loss|err|error|mse|mae|rmse|perplexity|ppl|wer|cer|latency|time)/i. */
static bool lower_is_better(const char *key)
{
    static const char *const words[] = {"loss",    "err", "mse",        "mae",
                                        "ppl",     "wer", "perplexity", "cer",
                                        "latency", "time"};
    size_t n = strlen(key);
    for (size_t i = 0; i < sizeof(words) / sizeof(*words); i++) {
        size_t w = strlen(words[i]);
        for (size_t at = 0; at + w <= n; at++) {
            size_t j = 0;
            while (j < w && lower(key[at + j]) == words[i][j])
                j++;
            if (j == w)
                return true;
        }
    }
    return false;
}

/* The metric the experiment's leaderboard opens with (web/js/views/
 * leaderboard.js pickMetric): among the latest-metric keys of its active
 * runs, without greentrack's own, "acc" or "accuracy" (any case), else
 * one ending in them, else the first in order. NULL when there is none;
 * the caller frees it. */
static enum srv_err leaderboard_metric(struct store *st, int64_t exp_id,
                                       char **out, struct errbuf *eb)
{
    char **keys;
    size_t n;
    *out = NULL;
    enum srv_err e =
        store_experiment_keys(st, exp_id, STORE_METRIC_KEYS, &keys, &n, eb);
    if (e)
        return e;
    size_t pick = n, first = n, suffix = n;
    for (size_t i = 0; i < n; i++) {
        const char *k = keys[i];
        if (strncmp(k, GREENTRACK_RESERVED_METRIC_PREFIX,
                    strlen(GREENTRACK_RESERVED_METRIC_PREFIX)) == 0)
            continue;
        if (first == n)
            first = i;
        if (pick == n &&
            (strcasecmp(k, "acc") == 0 || strcasecmp(k, "accuracy") == 0))
            pick = i;
        if (suffix == n && ends_in_accuracy(k))
            suffix = i;
    }
    if (pick == n)
        pick = suffix != n ? suffix : first;
    if (pick < n) {
        *out = keys[pick];
        keys[pick] = NULL;
    }
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
    return SRV_OK;
}

static const struct kv *find_kv(const struct kv *a, size_t n, const char *k)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(a[i].key, k) == 0)
            return &a[i];
    return NULL;
}

/* GET /api/2.0/greentrack/model-versions/carbon?name=&version= */
enum handler_result h_model_versions_carbon(struct request *req,
                                            struct response *res)
{
    struct errbuf eb;
    const char *name;
    char vbuf[64], run_id[RUN_ID_LEN + 1];
    bool present;
    int64_t version;
    enum srv_err e;
    if ((e = jx_str(req->args, "name", false, &name, &eb)) ||
        (e = registry_check_name(name, &eb)) ||
        (e = jx_id(req->args, "version", false, vbuf, sizeof(vbuf), &present,
                   &eb)) ||
        (e = registry_parse_version(present ? vbuf : NULL, &version, &eb)))
        return h_fail(res, e, &eb);
    struct store *st = req->app->store;
    struct model_version v;
    struct registered_model m;
    struct run run;
    memset(&m, 0, sizeof(m));
    memset(&run, 0, sizeof(run));
    if ((e = store_model_version_get(st, name, version, &v, &eb)))
        return h_fail(res, e, &eb);
    struct strbuf sb;
    strbuf_init(&sb);
    char *metric = NULL;
    const char *how = NULL, *metric_source = NULL;
    if (!registry_source_run(v.run_id, v.source, run_id, sizeof(run_id),
                             &how)) {
        e = err_set(&eb, SRV_E_RESOURCE_DOES_NOT_EXIST,
                    "Model Version (name=%s, version=%lld) has no source "
                    "run: it has no run_id, and its source is neither a "
                    "runs:/ URI nor in a run's artifact folder",
                    name, (long long)version);
        goto out;
    }
    struct carbon_report rep;
    if ((e = store_registered_model_get(st, name, &m, &eb)) ||
        (e = store_run_get(st, run_id, &run, &eb)))
        goto out;
    const struct kv *tag = find_kv(m.tags, m.n_tags, METRIC_TAG);
    if (tag && *tag->value) {
        metric = strdup(tag->value);
        metric_source = "the registered model's tag " METRIC_TAG;
        if (!metric) {
            e = err_set(&eb, SRV_E_NOMEM, "out of memory");
            goto out;
        }
    } else {
        if ((e = leaderboard_metric(st, run.experiment_id, &metric, &eb)))
            goto out;
        metric_source = "the leaderboard's default metric of the run's "
                        "experiment";
    }
    strbuf_append_char(&sb, '{');
    render_str_field(&sb, "name", v.name, true);
    render_key(&sb, "version", false);
    strbuf_printf(&sb, "\"%lld\"", (long long)v.version);
    render_str_field(&sb, "run_id", run_id, false);
    render_str_field(&sb, "run_id_source", how, false);
    render_key(&sb, "experiment_id", false);
    strbuf_printf(&sb, "\"%lld\"", (long long)run.experiment_id);
    render_key(&sb, "carbon", false);
    if ((e = greenai_carbon_run(st, run_id, &sb, &rep, &eb)))
        goto out;
    /* the metric's latest value on the run */
    struct leaderboard_row row = {.has_energy = rep.has_energy,
                                  .co2_kg = rep.co2_g / 1000.0,
                                  .energy_kwh = rep.energy_kwh,
                                  .estimated = rep.estimated};
    for (size_t i = 0; metric && i < run.n_metrics; i++) {
        if (strcmp(run.metrics[i].key, metric) == 0 &&
            !isnan(run.metrics[i].value)) {
            row.has_metric = true;
            row.metric = run.metrics[i].value;
        }
    }
    bool maximize = !metric || !lower_is_better(metric);
    struct ranked r = ranking_score(&row, maximize);
    render_key(&sb, "metric", false);
    strbuf_append_char(&sb, '{');
    render_str_field(&sb, "key", metric, true);
    render_str_field(&sb, "key_source", metric ? metric_source : NULL, false);
    render_str_field(&sb, "direction", maximize ? "max" : "min", false);
    render_num_or_null(&sb, "value", row.has_metric, row.metric);
    strbuf_append_char(&sb, '}');
    bool per_kg = row.has_metric && row.has_energy && isfinite(row.metric);
    render_num_or_null(&sb, "metric_per_kg_co2", per_kg,
                       row.metric / fmax(row.co2_kg, RANKING_MIN_CO2_KG));
    render_num_or_null(&sb, "score", r.scored, r.score);
    strbuf_append_char(&sb, '}');
    if (sb.oom)
        e = err_set(&eb, SRV_E_NOMEM, "out of memory");
out:
    free(metric);
    run_cleanup(&run);
    registered_model_cleanup(&m);
    model_version_cleanup(&v);
    if (e) {
        strbuf_cleanup(&sb);
        return h_fail(res, e, &eb);
    }
    api_ok(res, &sb);
    return H_DONE;
}
