/* SPDX-License-Identifier: MIT
 *
 * import: POST /api/2.0/greentrack/import/codecarbon?experiment_id=..
 * with a CodeCarbon emissions.csv as the body. Columns are found by header
 * name, so old and new column sets both work. Each row becomes a FINISHED
 * run with one energy sample labelled `codecarbon`, its location as
 * greentrack.* tags and CodeCarbon's machine facts as codecarbon.* tags.
 * CodeCarbon's energies include its PUE; the sample stores IT energy
 * (divided by that PUE, also stored as greentrack.pue) and CodeCarbon's
 * own intensity (emissions / energy), so greentrack's CO2 for the run
 * equals CodeCarbon's figure. Run ids come from CodeCarbon's run_id (or a
 * hash of the row), so importing the same file twice changes nothing.
 */
#include "carbon.h"
#include "csv.h"
#include "handlers/handlers.h"
#include "jsonx.h"
#include "numtext.h"
#include "render.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define IMPORT_MAX_ROWS 10000
#define IMPORT_MAX_FIELDS 200
#define J_PER_KWH 3.6e6

enum col {
    C_TIMESTAMP,
    C_PROJECT,
    C_RUN_ID,
    C_DURATION,
    C_EMISSIONS,
    C_CPU_ENERGY,
    C_GPU_ENERGY,
    C_RAM_ENERGY,
    C_ENERGY,
    C_COUNTRY,
    C_REGION,
    C_CLOUD_PROVIDER,
    C_CLOUD_REGION,
    C_PUE,
    C_OS,
    C_PYTHON,
    C_CC_VERSION,
    C_CPU_MODEL,
    C_GPU_MODEL,
    C_TRACKING_MODE,
    C_COUNT
};

static const char *const col_names[C_COUNT] = {"timestamp",
                                               "project_name",
                                               "run_id",
                                               "duration",
                                               "emissions",
                                               "cpu_energy",
                                               "gpu_energy",
                                               "ram_energy",
                                               "energy_consumed",
                                               "country_iso_code",
                                               "region",
                                               "cloud_provider",
                                               "cloud_region",
                                               "pue",
                                               "os",
                                               "python_version",
                                               "codecarbon_version",
                                               "cpu_model",
                                               "gpu_model",
                                               "tracking_mode"};

/* Tags copied as they are: codecarbon.<column>. */
static const enum col info_cols[] = {C_PROJECT,       C_OS,        C_PYTHON,
                                     C_CC_VERSION,    C_CPU_MODEL, C_GPU_MODEL,
                                     C_TRACKING_MODE, C_REGION};

#define TAGS_PER_ROW 16

struct import_row {
    char run_id[RUN_ID_LEN + 1];
    char run_name[96];
    char pue_text[32];
    struct kv_ref tags[TAGS_PER_ROW];
    char tag_keys[TAGS_PER_ROW][48];
    struct energy_sample_in sample;
};

struct import_state {
    struct store_write w; /* first: api_pending relies on it */
    struct csv_doc doc;
    struct import_row *rows;
    struct store_write *subs;
    size_t n_rows;
};

static void import_free(void *p)
{
    struct import_state *x = p;
    csv_doc_cleanup(&x->doc);
    free(x->rows);
    free(x->subs);
    free(x);
}

static const char *field(const struct csv_doc *d, size_t row, int idx)
{
    if (idx < 0 || (size_t)idx >= d->n_fields[row])
        return NULL;
    const char *v = d->rows[row][idx];
    return *v ? v : NULL;
}

/* A CSV cell holding a finite decimal (numtext.h: no hex, inf or nan). */
static bool number(const char *s, double *out)
{
    return s && numtext_double(s, 0, out);
}

/* CodeCarbon writes local time "YYYY-MM-DDTHH:MM:SS[.ffffff]" without a
 * zone (read as UTC) or with one ("+02:00", "Z"). */
static bool parse_time_ms(const char *s, int64_t *out)
{
    if (!s)
        return false;
    int vals[6] = {0};
    const char *p = s;
    static const char seps[] = "--T::";
    for (int i = 0; i < 6; i++) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p)
            return false;
        vals[i] = (int)v;
        p = end;
        if (i < 5) {
            if (*p != seps[i] && !(i == 2 && *p == ' '))
                return false;
            p++;
        }
    }
    double frac = 0;
    if (*p == '.') {
        char *end;
        frac = strtod(p, &end);
        p = end;
    }
    long offset_s = 0;
    if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        int hh = 0, mm = 0;
        if (strlen(p) < 3)
            return false;
        hh = (p[1] - '0') * 10 + (p[2] - '0');
        p += 3;
        if (*p == ':')
            p++;
        if (p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9') {
            mm = (p[0] - '0') * 10 + (p[1] - '0');
            p += 2;
        }
        offset_s = sign * (hh * 3600L + mm * 60L);
    } else if (*p == 'Z') {
        p++;
    }
    if (*p)
        return false;
    struct tm tm = {0};
    tm.tm_year = vals[0] - 1900;
    tm.tm_mon = vals[1] - 1;
    tm.tm_mday = vals[2];
    tm.tm_hour = vals[3];
    tm.tm_min = vals[4];
    tm.tm_sec = vals[5];
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return false;
    *out = ((int64_t)t - offset_s) * 1000 + (int64_t)llround(frac * 1000);
    return true;
}

/* 32 lowercase hex from CodeCarbon's UUID, else from a hash of the row. */
static void row_run_id(const struct csv_doc *d, size_t row, int run_col,
                       char out[RUN_ID_LEN + 1])
{
    const char *uuid = field(d, row, run_col);
    size_t n = 0;
    for (const char *p = uuid; p && *p && n < RUN_ID_LEN; p++) {
        char c = *p >= 'A' && *p <= 'F' ? (char)(*p - 'A' + 'a') : *p;
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))
            out[n++] = c;
        else if (c != '-')
            break;
    }
    if (n == RUN_ID_LEN) {
        out[n] = '\0';
        return;
    }
    uint64_t h1 = 1469598103934665603ull, h2 = 0x9E3779B97F4A7C15ull;
    for (size_t f = 0; f < d->n_fields[row]; f++) {
        for (const char *p = d->rows[row][f]; *p; p++) {
            h1 = (h1 ^ (unsigned char)*p) * 1099511628211ull;
            h2 = (h2 ^ (unsigned char)*p) * 0x100000001b3ull + 7;
        }
        h1 = (h1 ^ 0x1f) * 1099511628211ull;
    }
    snprintf(out, RUN_ID_LEN + 1, "%016llx%016llx", (unsigned long long)h1,
             (unsigned long long)h2);
}

static void add_tag(struct import_row *r, size_t *n, const char *key,
                    const char *value)
{
    if (!value || *n >= TAGS_PER_ROW)
        return;
    snprintf(r->tag_keys[*n], sizeof(r->tag_keys[*n]), "%s", key);
    r->tags[*n].key = r->tag_keys[*n];
    r->tags[*n].value.s = value;
    r->tags[*n].value.len = jx_utf8_prefix(value, 8000);
    (*n)++;
}

static enum handler_result after_import(struct request *req,
                                        struct response *res)
{
    struct import_state *x = req->state;
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_str(&sb, "{\"imported\":");
    strbuf_append_i64(&sb, (int64_t)x->n_rows);
    strbuf_append_str(&sb, ",\"run_ids\":[");
    for (size_t i = 0; i < x->n_rows; i++) {
        if (i)
            strbuf_append_char(&sb, ',');
        strbuf_append_json_str(&sb, x->rows[i].run_id, RUN_ID_LEN);
    }
    strbuf_append_str(&sb, "]}");
    api_ok(res, &sb);
    return H_DONE;
}

enum handler_result h_import_codecarbon(struct request *req,
                                        struct response *res)
{
    struct errbuf eb;
    int64_t exp_id;
    enum srv_err e =
        h_experiment_id(req->args, "experiment_id", true, &exp_id, &eb);
    if (e)
        return h_fail(res, e, &eb);
    struct import_state *x = api_pending(req, sizeof(*x), after_import);
    if (!x)
        return h_fail(res, SRV_E_NOMEM, NULL);
    req->state_free = import_free;
    if ((e = csv_parse(req->body, req->body_len, IMPORT_MAX_ROWS + 1,
                       IMPORT_MAX_FIELDS, &x->doc, &eb)))
        return h_fail(res, e, &eb);
    const struct csv_doc *d = &x->doc;
    if (d->n_rows < 2)
        return h_fail(res,
                      err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                              "Expected a CodeCarbon emissions.csv: a header "
                              "row and at least one data row"),
                      &eb);
    int idx[C_COUNT];
    for (int c = 0; c < C_COUNT; c++) {
        idx[c] = -1;
        for (size_t f = 0; f < d->n_fields[0]; f++) {
            if (strcasecmp(d->rows[0][f], col_names[c]) == 0)
                idx[c] = (int)f;
        }
    }
    if (idx[C_TIMESTAMP] < 0 || idx[C_DURATION] < 0 ||
        (idx[C_ENERGY] < 0 && idx[C_CPU_ENERGY] < 0))
        return h_fail(res,
                      err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                              "Not a CodeCarbon emissions.csv: the header "
                              "needs timestamp, duration and energy_consumed "
                              "(or cpu_energy, gpu_energy, ram_energy)"),
                      &eb);
    x->n_rows = d->n_rows - 1;
    x->rows = calloc(x->n_rows, sizeof(*x->rows));
    x->subs = calloc(3 * x->n_rows, sizeof(*x->subs));
    if (!x->rows || !x->subs)
        return h_fail(res, SRV_E_NOMEM, NULL);
    for (size_t i = 0; i < x->n_rows; i++) {
        size_t row = i + 1;
        struct import_row *r = &x->rows[i];
        int64_t end_ms;
        double duration, pue = 1.0, cpu = 0, gpu = 0, ram = 0, total = 0,
                         emissions;
        if (!parse_time_ms(field(d, row, idx[C_TIMESTAMP]), &end_ms) ||
            !number(field(d, row, idx[C_DURATION]), &duration) || duration < 0)
            return h_fail(res,
                          err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                                  "Row %zu: timestamp or duration is not "
                                  "valid",
                                  row + 1),
                          &eb);
        number(field(d, row, idx[C_PUE]), &pue);
        if (!(pue >= 1.0 && pue <= 5.0))
            pue = 1.0;
        bool split = number(field(d, row, idx[C_CPU_ENERGY]), &cpu);
        split |= number(field(d, row, idx[C_GPU_ENERGY]), &gpu);
        split |= number(field(d, row, idx[C_RAM_ENERGY]), &ram);
        if (!number(field(d, row, idx[C_ENERGY]), &total))
            total = cpu + gpu + ram;
        if (cpu < 0 || gpu < 0 || ram < 0 || total < 0)
            return h_fail(res,
                          err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                                  "Row %zu: energies must be >= 0", row + 1),
                          &eb);
        /* Physical bounds, as log-energy's (carbon.h). */
        double row_j = (split ? cpu + gpu + ram : total) * J_PER_KWH / pue;
        if (duration > 366.0 * 86400 ||
            !carbon_sample_power_ok(
                row_j,
                duration >= 0.001 ? (int64_t)llround(duration * 1000) : 1))
            return h_fail(res,
                          err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                                  "Row %zu: a row needs a duration up to a "
                                  "year and at most %g W",
                                  row + 1, CARBON_MAX_SAMPLE_W),
                          &eb);
        struct energy_sample_in *s = &r->sample;
        s->end_time = end_ms;
        s->start_time = end_ms - (int64_t)llround(duration * 1000);
        if (s->start_time >= s->end_time)
            s->start_time = s->end_time - 1;
        /* CodeCarbon's kWh include its PUE: store IT joules. */
        s->cpu_j = cpu * J_PER_KWH / pue;
        s->gpu_j = gpu * J_PER_KWH / pue;
        s->ram_j = ram * J_PER_KWH / pue;
        s->other_j = split ? 0 : total * J_PER_KWH / pue;
        s->cpu_method = s->gpu_method = s->ram_method = "codecarbon";
        const char *mode = field(d, row, idx[C_TRACKING_MODE]);
        s->scope = mode && strcmp(mode, "process") == 0 ? "process" : "node";
        if (number(field(d, row, idx[C_EMISSIONS]), &emissions) &&
            emissions >= 0 && total > 0) {
            s->has_intensity = true;
            s->intensity_g_per_kwh = emissions * 1000.0 / total;
            s->intensity_source = "codecarbon";
            if (!(s->intensity_g_per_kwh <= 5000))
                return h_fail(res,
                              err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                                      "Row %zu: emissions imply more than "
                                      "5000 g of CO2 per kWh",
                                      row + 1),
                              &eb);
        }
        row_run_id(d, row, idx[C_RUN_ID], r->run_id);
        const char *project = field(d, row, idx[C_PROJECT]);
        const char *when = field(d, row, idx[C_TIMESTAMP]);
        snprintf(r->run_name, sizeof(r->run_name), "%.40s %.40s",
                 project ? project : "codecarbon", when);
        snprintf(r->pue_text, sizeof(r->pue_text), "%.6g", pue);
        size_t nt = 0;
        add_tag(r, &nt, "mlflow.runName", r->run_name);
        add_tag(r, &nt, "greentrack.country", field(d, row, idx[C_COUNTRY]));
        add_tag(r, &nt, "greentrack.cloud_provider",
                field(d, row, idx[C_CLOUD_PROVIDER]));
        add_tag(r, &nt, "greentrack.cloud_region",
                field(d, row, idx[C_CLOUD_REGION]));
        add_tag(r, &nt, "greentrack.pue", r->pue_text);
        for (size_t k = 0; k < sizeof(info_cols) / sizeof(*info_cols); k++) {
            char key[48];
            snprintf(key, sizeof(key), "codecarbon.%s",
                     col_names[info_cols[k]]);
            add_tag(r, &nt, key, field(d, row, idx[info_cols[k]]));
        }
        struct store_write *c = &x->subs[3 * i];
        c[0].kind = SW_RUN_CREATE;
        c[0].run_id = r->run_id;
        c[0].experiment_id = exp_id;
        c[0].start_time = s->start_time;
        c[0].tags = r->tags;
        c[0].n_tags = nt;
        c[1].kind = SW_RUN_LOG_ENERGY;
        c[1].run_id = r->run_id;
        c[1].samples = s;
        c[1].n_samples = 1;
        c[2].kind = SW_RUN_UPDATE;
        c[2].run_id = r->run_id;
        c[2].has_status = c[2].has_end_time = true;
        c[2].status = RUN_STATUS_FINISHED;
        c[2].end_time = end_ms;
    }
    x->w.kind = SW_MULTI;
    x->w.subs = x->subs;
    x->w.n_subs = 3 * x->n_rows;
    return H_PENDING;
}
