/* SPDX-License-Identifier: MIT
 *
 * export: the body of GET /api/2.0/greentrack/runs/export (see export.h;
 * the handler is in handlers/greentrack/runs.c): every active run of an
 * experiment matching the filter, with its params, latest metrics,
 * energy and CO2, streamed page by page so an export of 100,000 runs
 * never sits in memory at once. The CSV has one column per param
 * (param.<key>) and metric (metric.<key>) of the experiment, found before
 * the first row. format=codecarbon writes CodeCarbon's emissions.csv
 * columns instead (its energies include PUE), so CodeCarbon's dashboards
 * and notebooks read greentrack runs. A JSON export may carry the Model
 * Registry's entries of its runs (export_include_registry): read per page
 * with one indexed lookup per run, the models' names gathered as the runs
 * go and the models written once at the end.
 */
#include "export.h"

#include "carbon.h"
#include "numtext.h"
#include "registry.h"
#include "render.h"
#include "store_registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Runs read per piece: from EXPORT_PAGE_MIN, doubled while a piece stays
 * under EXPORT_PIECE_LOW bytes, cut to a quarter when it passes
 * EXPORT_PIECE_HIGH, so runs with large params or tags are read a few at
 * a time and a client slow to read holds one small piece. */
#define EXPORT_PAGE 500
#define EXPORT_PAGE_MIN 8
#define EXPORT_PIECE_LOW (256 * 1024)
#define EXPORT_PIECE_HIGH (1024 * 1024)

struct export_state {
    struct store *store;
    int64_t experiment_id;
    char *filter;
    enum export_format format;
    int64_t offset;
    int64_t page; /* runs read per piece (see EXPORT_PAGE) */
    char *experiment_name;
    bool header_done, finished;
    size_t emitted;
    char **params, **metrics; /* CSV columns */
    size_t n_params, n_metrics;
    bool registry;      /* export_include_registry */
    char **model_names; /* of the versions written so far (repeats) */
    size_t n_model_names, cap_model_names;
};

static void free_keys(char **k, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(k[i]);
    free(k);
}

void export_free(void *p)
{
    struct export_state *x = p;
    if (!x)
        return;
    free(x->filter);
    free(x->experiment_name);
    free_keys(x->params, x->n_params);
    free_keys(x->metrics, x->n_metrics);
    free_keys(x->model_names, x->n_model_names);
    free(x);
}

void export_include_registry(struct export_state *x, bool on)
{
    x->registry = on;
}

/* A text cell, as RFC 4180 writes it: quoted when it holds a comma, a
 * quote or a line break. A cell a spreadsheet would take for a formula
 * (starting with = + - @, a tab or a carriage return) gets a leading
 * single quote, as OWASP's CSV-injection advice says, so "=HYPERLINK(..)"
 * in a run name is shown as text, never run. A cell that is just a
 * decimal number ("-0.5", a param) cannot be a formula and stays as it
 * is; csv_number writes the numeric columns. */
static void csv_field(struct strbuf *sb, const char *v)
{
    double num;
    bool formula =
        v[0] != '\0' && strchr("=+-@\t\r", v[0]) && !numtext_double(v, 0, &num);
    if (!strpbrk(v, ",\"\r\n")) {
        if (formula)
            strbuf_append_char(sb, '\'');
        strbuf_append_str(sb, v);
        return;
    }
    strbuf_append_char(sb, '"');
    if (formula)
        strbuf_append_char(sb, '\'');
    for (const char *p = v; *p; p++) {
        if (*p == '"')
            strbuf_append_char(sb, '"');
        strbuf_append_char(sb, *p);
    }
    strbuf_append_char(sb, '"');
}

static const struct kv *find_kv(const struct kv *a, size_t n, const char *k)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(a[i].key, k) == 0)
            return &a[i];
    }
    return NULL;
}

static const struct metric *find_metric(const struct run *r, const char *k)
{
    for (size_t i = 0; i < r->n_metrics; i++) {
        if (strcmp(r->metrics[i].key, k) == 0)
            return &r->metrics[i];
    }
    return NULL;
}

static bool is_carbon_metric(const char *key)
{
    return strcmp(key, "greentrack.energy_kwh") == 0 ||
           strcmp(key, "greentrack.co2_kg") == 0;
}

static void csv_header(struct export_state *x, struct strbuf *sb)
{
    strbuf_append_str(sb, "run_id,run_name,status,start_time,end_time,"
                          "duration_s,energy_kwh,co2_g");
    for (size_t i = 0; i < x->n_params; i++) {
        strbuf_append_str(sb, ",param.");
        csv_field(sb, x->params[i]);
    }
    for (size_t i = 0; i < x->n_metrics; i++) {
        if (is_carbon_metric(x->metrics[i]))
            continue;
        strbuf_append_str(sb, ",metric.");
        csv_field(sb, x->metrics[i]);
    }
    strbuf_append_str(sb, "\r\n");
}

static void csv_number(struct strbuf *sb, const struct metric *m, double mul)
{
    strbuf_append_char(sb, ',');
    if (m)
        strbuf_append_json_double(sb, m->value * mul);
}

static void csv_row(struct export_state *x, const struct run *r,
                    struct strbuf *sb)
{
    csv_field(sb, r->run_id);
    strbuf_append_char(sb, ',');
    csv_field(sb, r->run_name);
    strbuf_printf(sb, ",%s,", run_status_names[r->status]);
    strbuf_append_i64(sb, r->start_time);
    strbuf_append_char(sb, ',');
    if (r->end_time) {
        strbuf_append_i64(sb, r->end_time);
        strbuf_append_char(sb, ',');
        strbuf_append_json_double(sb,
                                  (double)(r->end_time - r->start_time) / 1e3);
    } else {
        strbuf_append_char(sb, ',');
    }
    csv_number(sb, find_metric(r, "greentrack.energy_kwh"), 1.0);
    csv_number(sb, find_metric(r, "greentrack.co2_kg"), 1000.0);
    for (size_t i = 0; i < x->n_params; i++) {
        const struct kv *p = find_kv(r->params, r->n_params, x->params[i]);
        strbuf_append_char(sb, ',');
        if (p)
            csv_field(sb, p->value);
    }
    for (size_t i = 0; i < x->n_metrics; i++) {
        if (!is_carbon_metric(x->metrics[i]))
            csv_number(sb, find_metric(r, x->metrics[i]), 1.0);
    }
    strbuf_append_str(sb, "\r\n");
}

static void json_kvs(struct strbuf *sb, const char *key, const struct kv *a,
                     size_t n)
{
    render_key(sb, key, false);
    strbuf_append_char(sb, '{');
    for (size_t i = 0; i < n; i++) {
        render_key(sb, a[i].key, i == 0);
        strbuf_append_json_str(sb, a[i].value, strlen(a[i].value));
    }
    strbuf_append_char(sb, '}');
}

/* The "model_versions" of run 'r': the entries of 'v' (n, in run order)
 * from '*at' on that belong to it ('*at' moves past them). Their model
 * names are kept for the registered_models at the end. */
static bool json_versions(struct export_state *x, const struct run *r,
                          const struct model_version *v, size_t n, size_t *at,
                          struct strbuf *sb)
{
    render_key(sb, "model_versions", false);
    strbuf_append_char(sb, '[');
    bool first = true;
    for (; *at < n && strcmp(v[*at].run_id, r->run_id) == 0; (*at)++) {
        if (!first)
            strbuf_append_char(sb, ',');
        first = false;
        registry_render_version(sb, &v[*at]);
        if (x->n_model_names == x->cap_model_names) {
            size_t cap = x->cap_model_names ? x->cap_model_names * 2 : 16;
            char **p = realloc(x->model_names, cap * sizeof(*p));
            if (!p)
                return false;
            x->model_names = p;
            x->cap_model_names = cap;
        }
        if (!(x->model_names[x->n_model_names] = strdup(v[*at].name)))
            return false;
        x->n_model_names++;
    }
    strbuf_append_char(sb, ']');
    return true;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ,"registered_models":[...] for the names gathered, each once (a model
 * deleted meanwhile is left out). */
static bool json_models(struct export_state *x, struct strbuf *sb)
{
    if (x->n_model_names) /* qsort wants an array, even of none */
        qsort(x->model_names, x->n_model_names, sizeof(char *), cmp_str);
    render_key(sb, "registered_models", false);
    strbuf_append_char(sb, '[');
    bool first = true;
    for (size_t i = 0; i < x->n_model_names; i++) {
        if (i && strcmp(x->model_names[i], x->model_names[i - 1]) == 0)
            continue;
        struct registered_model m;
        struct errbuf eb;
        enum srv_err e =
            store_registered_model_get(x->store, x->model_names[i], &m, &eb);
        if (e == SRV_E_RESOURCE_DOES_NOT_EXIST)
            continue;
        if (e)
            return false;
        if (!first)
            strbuf_append_char(sb, ',');
        first = false;
        registry_render_model(sb, &m);
        registered_model_cleanup(&m);
    }
    strbuf_append_char(sb, ']');
    return true;
}

/* A run's JSON object, left open (the caller may add fields). */
static void json_row(const struct run *r, struct strbuf *sb)
{
    const struct metric *en = find_metric(r, "greentrack.energy_kwh");
    const struct metric *co = find_metric(r, "greentrack.co2_kg");
    render_run_row_open(sb, r->run_id, r->run_name, r->status, r->start_time);
    render_key(sb, "end_time", false);
    if (r->end_time)
        strbuf_append_i64(sb, r->end_time);
    else
        strbuf_append_str(sb, "null");
    render_num_or_null(sb, "energy_kwh", en != NULL, en ? en->value : 0);
    render_num_or_null(sb, "co2_g", co != NULL, co ? co->value * 1000.0 : 0);
    json_kvs(sb, "params", r->params, r->n_params);
    render_key(sb, "metrics", false);
    strbuf_append_char(sb, '{');
    bool first = true;
    for (size_t i = 0; i < r->n_metrics; i++) {
        if (is_carbon_metric(r->metrics[i].key))
            continue;
        render_key(sb, r->metrics[i].key, first);
        first = false;
        strbuf_append_json_double(sb, r->metrics[i].value);
    }
    strbuf_append_char(sb, '}');
    json_kvs(sb, "tags", r->tags, r->n_tags);
}

/*---- CodeCarbon's emissions.csv ----*/

static const char codecarbon_header[] =
    "timestamp,project_name,run_id,experiment_id,duration,emissions,"
    "emissions_rate,cpu_power,gpu_power,ram_power,cpu_energy,gpu_energy,"
    "ram_energy,energy_consumed,country_name,country_iso_code,region,"
    "cloud_provider,cloud_region,os,python_version,codecarbon_version,"
    "cpu_count,cpu_model,gpu_count,gpu_model,longitude,latitude,"
    "ram_total_size,tracking_mode,on_cloud,pue\r\n";

static const char *tag_of(const struct run *r, const char *key)
{
    const struct kv *t = find_kv(r->tags, r->n_tags, key);
    return t ? t->value : NULL;
}

static void csv_opt(struct strbuf *sb, const char *v)
{
    strbuf_append_char(sb, ',');
    if (v)
        csv_field(sb, v);
}

static void csv_num(struct strbuf *sb, double v)
{
    strbuf_append_char(sb, ',');
    strbuf_append_json_double(sb, v);
}

/* One emissions.csv row for a run with energy (others are skipped:
 * CodeCarbon has no row without a measurement). */
static void codecarbon_row(struct export_state *x, const struct run *r,
                           struct strbuf *sb)
{
    struct run_carbon rc;
    struct errbuf eb;
    if (store_run_carbon(x->store, r->run_id, &rc, &eb) != SRV_OK)
        return;
    if (!rc.has_energy) {
        run_carbon_cleanup(&rc);
        return;
    }
    struct carbon_run_input in = {
        .energy = {rc.plain_j, rc.measured_j, rc.measured_gj},
        .location = {rc.country, rc.region, rc.cloud_provider, rc.cloud_region},
        .pue_tag = rc.pue_tag,
        .default_pue = store_default_pue(x->store),
    };
    struct carbon_run_result res;
    carbon_account(&in, &res);
    int64_t end = r->end_time ? r->end_time : rc.last_end;
    int64_t start = r->end_time ? r->start_time : rc.first_start;
    double duration = end > start ? (double)(end - start) / 1000.0 : 0.0;
    double kg = res.co2_g / 1000.0;
    time_t secs = (time_t)(end / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char ts[32];
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    char uuid[40];
    snprintf(uuid, sizeof(uuid), "%.8s-%.4s-%.4s-%.4s-%.12s", r->run_id,
             r->run_id + 8, r->run_id + 12, r->run_id + 16, r->run_id + 20);
    strbuf_append_str(sb, ts);
    csv_opt(sb, x->experiment_name);
    csv_opt(sb, uuid);
    strbuf_append_char(sb, ',');
    strbuf_append_i64(sb, r->experiment_id);
    csv_num(sb, duration);
    csv_num(sb, kg);
    csv_num(sb, duration > 0 ? kg / duration : 0.0);
    csv_num(sb, duration > 0 ? rc.cpu_j / duration : 0.0);
    csv_num(sb, duration > 0 ? rc.gpu_j / duration : 0.0);
    csv_num(sb, duration > 0 ? rc.ram_j / duration : 0.0);
    csv_num(sb, rc.cpu_j / CARBON_J_PER_KWH * res.pue);
    csv_num(sb, rc.gpu_j / CARBON_J_PER_KWH * res.pue);
    csv_num(sb, rc.ram_j / CARBON_J_PER_KWH * res.pue);
    csv_num(sb, res.facility_energy_kwh);
    csv_opt(sb, carbon_country_name(rc.country));
    csv_opt(sb, rc.country);
    csv_opt(sb, rc.region);
    csv_opt(sb, rc.cloud_provider);
    csv_opt(sb, rc.cloud_region);
    csv_opt(sb, tag_of(r, "greentrack.host.os")
                    ? tag_of(r, "greentrack.host.os")
                    : tag_of(r, "codecarbon.os"));
    csv_opt(sb, tag_of(r, "codecarbon.python_version"));
    csv_opt(sb, tag_of(r, "codecarbon.codecarbon_version"));
    csv_opt(sb, tag_of(r, "codecarbon.cpu_count"));
    csv_opt(sb, tag_of(r, "greentrack.host.cpu")
                    ? tag_of(r, "greentrack.host.cpu")
                    : tag_of(r, "codecarbon.cpu_model"));
    csv_opt(sb, tag_of(r, "greentrack.host.gpus")
                    ? tag_of(r, "greentrack.host.gpus")
                    : tag_of(r, "codecarbon.gpu_count"));
    csv_opt(sb, tag_of(r, "codecarbon.gpu_model"));
    strbuf_append_str(sb, ",,"); /* longitude, latitude: never recorded */
    csv_opt(sb, tag_of(r, "greentrack.host.ram_gb")
                    ? tag_of(r, "greentrack.host.ram_gb")
                    : tag_of(r, "codecarbon.ram_total_size"));
    csv_opt(sb,
            rc.scopes && strstr(rc.scopes, "process") ? "process" : "machine");
    csv_opt(sb, rc.cloud_provider ? "Y" : "N");
    csv_num(sb, res.pue);
    strbuf_append_str(sb, "\r\n");
    run_carbon_cleanup(&rc);
}

/* The stream's generator: the header (and CSV columns) first, then one
 * page of runs per call. */
bool export_next(void *state, struct strbuf *out, bool *failed)
{
    struct export_state *x = state;
    if (x->finished)
        return false;
    struct errbuf eb;
    if (!x->header_done) {
        x->header_done = true;
        if (x->format == EXPORT_JSON) {
            strbuf_append_str(out, "{\"runs\":[");
            return true;
        }
        if (x->format == EXPORT_CODECARBON) {
            strbuf_append_str(out, codecarbon_header);
            return true;
        }
        if (store_experiment_keys(x->store, x->experiment_id, STORE_PARAM_KEYS,
                                  &x->params, &x->n_params, &eb) ||
            store_experiment_keys(x->store, x->experiment_id, STORE_METRIC_KEYS,
                                  &x->metrics, &x->n_metrics, &eb)) {
            *failed = true;
            return false;
        }
        csv_header(x, out);
        return true;
    }
    struct search_args a = {.filter = x->filter,
                            .view = VIEW_ACTIVE_ONLY,
                            .max_results = x->page ? x->page : EXPORT_PAGE_MIN,
                            .offset = x->offset};
    size_t start_len = out->len;
    struct run *runs;
    size_t n;
    bool more;
    if (store_runs_search(x->store, &x->experiment_id, 1, &a, &runs, &n, &more,
                          &eb)) {
        *failed = true;
        return false;
    }
    struct model_version *versions = NULL;
    size_t n_versions = 0, at = 0;
    bool ok = true;
    if (x->registry && n) {
        const char **ids = malloc(n * sizeof(*ids));
        ok = ids != NULL;
        for (size_t i = 0; ok && i < n; i++)
            ids[i] = runs[i].run_id;
        ok = ok && store_model_versions_of_runs(x->store, ids, n, &versions,
                                                &n_versions, &eb) == SRV_OK;
        free(ids);
    }
    for (size_t i = 0; ok && i < n; i++) {
        if (x->format == EXPORT_CSV) {
            csv_row(x, &runs[i], out);
        } else if (x->format == EXPORT_CODECARBON) {
            codecarbon_row(x, &runs[i], out);
        } else {
            if (x->emitted)
                strbuf_append_char(out, ',');
            json_row(&runs[i], out);
            if (x->registry)
                ok = json_versions(x, &runs[i], versions, n_versions, &at, out);
            strbuf_append_char(out, '}');
        }
        x->emitted++;
    }
    model_versions_free(versions, n_versions);
    runs_free(runs, n);
    if (!ok) {
        *failed = true;
        return false;
    }
    x->offset += (int64_t)n;
    size_t piece = out->len - start_len;
    x->page = a.max_results;
    if (piece > EXPORT_PIECE_HIGH && x->page > 1)
        x->page = x->page / 4 ? x->page / 4 : 1;
    else if (piece < EXPORT_PIECE_LOW && x->page < EXPORT_PAGE)
        x->page = x->page * 2 < EXPORT_PAGE ? x->page * 2 : EXPORT_PAGE;
    if (!more) {
        x->finished = true;
        if (x->format == EXPORT_JSON) {
            strbuf_append_char(out, ']');
            if (x->registry && !json_models(x, out)) {
                *failed = true;
                return false;
            }
            strbuf_append_char(out, '}');
        }
    }
    return true;
}

bool export_format_parse(const char *name, enum export_format *out)
{
    if (!name || strcmp(name, "csv") == 0)
        *out = EXPORT_CSV;
    else if (strcmp(name, "json") == 0)
        *out = EXPORT_JSON;
    else if (strcmp(name, "codecarbon") == 0)
        *out = EXPORT_CODECARBON;
    else
        return false;
    return true;
}

const char *export_content_type(enum export_format f)
{
    return f == EXPORT_JSON ? "application/json" : "text/csv; charset=utf-8";
}

const char *export_content_disposition(enum export_format f)
{
    return f == EXPORT_JSON         ? "attachment; filename=\"runs.json\""
           : f == EXPORT_CODECARBON ? "attachment; filename=\"emissions.csv\""
                                    : "attachment; filename=\"runs.csv\"";
}

struct export_state *export_new(struct store *st, int64_t experiment_id,
                                const char *experiment_name, const char *filter,
                                enum export_format f)
{
    struct export_state *x = calloc(1, sizeof(*x));
    if (!x)
        return NULL;
    x->store = st;
    x->experiment_id = experiment_id;
    x->format = f;
    if (!(x->experiment_name = strdup(experiment_name)) ||
        (filter && !(x->filter = strdup(filter)))) {
        export_free(x);
        return NULL;
    }
    return x;
}
