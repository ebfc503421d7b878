/* SPDX-License-Identifier: MIT
 *
 * render: JSON writers for experiments, runs and metrics (see render.h).
 */
#include "render.h"

#include <string.h>

void render_key(struct strbuf *sb, const char *key, bool first)
{
    if (!first)
        strbuf_append_char(sb, ',');
    strbuf_append_json_str(sb, key, strlen(key));
    strbuf_append_char(sb, ':');
}

void render_str_field(struct strbuf *sb, const char *key, const char *value,
                      bool first)
{
    render_key(sb, key, first);
    if (value)
        strbuf_append_json_str(sb, value, strlen(value));
    else
        strbuf_append_str(sb, "null");
}

void render_num_field(struct strbuf *sb, const char *key, double value,
                      bool first)
{
    render_key(sb, key, first);
    strbuf_append_json_double(sb, value);
}

static void i64_field(struct strbuf *sb, const char *key, int64_t v)
{
    render_key(sb, key, false);
    strbuf_append_i64(sb, v);
}

/* "key":[{"key":..,"value":..},...], omitted when empty. */
static void kv_list(struct strbuf *sb, const char *key, const struct kv *a,
                    size_t n, bool *first)
{
    if (n == 0)
        return;
    render_key(sb, key, *first);
    *first = false;
    strbuf_append_char(sb, '[');
    render_kv_items(sb, a, n);
    strbuf_append_char(sb, ']');
}

void render_kv_items(struct strbuf *sb, const struct kv *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i)
            strbuf_append_char(sb, ',');
        strbuf_append_char(sb, '{');
        render_str_field(sb, "key", a[i].key, true);
        render_str_field(sb, "value", a[i].value, false);
        strbuf_append_char(sb, '}');
    }
}

void render_dataset(struct strbuf *sb, const struct dataset_input *d)
{
    strbuf_append_char(sb, '{');
    render_str_field(sb, "name", d->name, true);
    render_str_field(sb, "digest", d->digest, false);
    render_str_field(sb, "source_type", d->source_type, false);
    render_str_field(sb, "source", d->source, false);
    if (d->schema)
        render_str_field(sb, "schema", d->schema, false);
    if (d->profile)
        render_str_field(sb, "profile", d->profile, false);
    strbuf_append_char(sb, '}');
}

void render_experiment_open(struct strbuf *sb, const struct experiment *e)
{
    strbuf_append_str(sb, "{\"experiment_id\":\"");
    strbuf_append_i64(sb, e->experiment_id);
    strbuf_append_char(sb, '"');
    render_str_field(sb, "name", e->name, false);
    render_str_field(sb, "artifact_location", e->artifact_location, false);
    render_str_field(sb, "lifecycle_stage", e->deleted ? "deleted" : "active",
                     false);
    i64_field(sb, "creation_time", e->creation_time);
    i64_field(sb, "last_update_time", e->last_update_time);
}

void render_experiment(struct strbuf *sb, const struct experiment *e)
{
    render_experiment_open(sb, e);
    bool first = false;
    kv_list(sb, "tags", e->tags, e->n_tags, &first);
    strbuf_append_char(sb, '}');
}

void render_run_info(struct strbuf *sb, const struct run *r)
{
    strbuf_append_char(sb, '{');
    render_str_field(sb, "run_id", r->run_id, true);
    render_str_field(sb, "run_uuid", r->run_id, false);
    render_str_field(sb, "run_name", r->run_name, false);
    render_key(sb, "experiment_id", false);
    strbuf_append_char(sb, '"');
    strbuf_append_i64(sb, r->experiment_id);
    strbuf_append_char(sb, '"');
    render_str_field(sb, "user_id", r->user_id, false);
    render_str_field(sb, "status", run_status_names[r->status], false);
    i64_field(sb, "start_time", r->start_time);
    if (r->end_time)
        i64_field(sb, "end_time", r->end_time);
    if (r->artifact_uri[0])
        render_str_field(sb, "artifact_uri", r->artifact_uri, false);
    render_str_field(sb, "lifecycle_stage", r->deleted ? "deleted" : "active",
                     false);
    strbuf_append_char(sb, '}');
}

void render_metric(struct strbuf *sb, const struct metric *m, bool with_run_id)
{
    strbuf_append_char(sb, '{');
    render_str_field(sb, "key", m->key, true);
    render_key(sb, "value", false);
    strbuf_append_json_double(sb, m->value);
    i64_field(sb, "timestamp", m->timestamp);
    i64_field(sb, "step", m->step);
    if (with_run_id && m->run_id)
        render_str_field(sb, "run_id", m->run_id, false);
    strbuf_append_char(sb, '}');
}

void render_metric_items(struct strbuf *sb, const struct metric *m, size_t n,
                         bool with_run_id)
{
    struct strbuf head; /* {"key":"<escaped>","value": for the current key */
    strbuf_init(&head);
    const char *head_key = NULL;
    for (size_t i = 0; i < n && !sb->oom; i++) {
        if (m[i].key != head_key) {
            strbuf_reset(&head);
            strbuf_append_str(&head, "{\"key\":");
            strbuf_append_json_str(&head, m[i].key, strlen(m[i].key));
            strbuf_append_str(&head, ",\"value\":");
            head_key = m[i].key;
        }
        if (i)
            strbuf_append_char(sb, ',');
        strbuf_append(sb, head.buf, head.len);
        strbuf_append_json_double(sb, m[i].value);
        strbuf_append(sb, ",\"timestamp\":", 13);
        strbuf_append_i64(sb, m[i].timestamp);
        strbuf_append(sb, ",\"step\":", 8);
        strbuf_append_i64(sb, m[i].step);
        if (with_run_id && m[i].run_id)
            render_str_field(sb, "run_id", m[i].run_id, false);
        strbuf_append_char(sb, '}');
    }
    strbuf_cleanup(&head);
}

static void render_inputs(struct strbuf *sb, const struct run *r)
{
    strbuf_append_char(sb, '{');
    bool first = true;
    if (r->n_inputs) {
        render_key(sb, "dataset_inputs", true);
        first = false;
        strbuf_append_char(sb, '[');
        for (size_t i = 0; i < r->n_inputs; i++) {
            const struct dataset_input *d = &r->inputs[i];
            if (i)
                strbuf_append_char(sb, ',');
            strbuf_append_char(sb, '{');
            bool f = true;
            kv_list(sb, "tags", d->tags, d->n_tags, &f);
            render_key(sb, "dataset", f);
            render_dataset(sb, d);
            strbuf_append_char(sb, '}');
        }
        strbuf_append_char(sb, ']');
    }
    if (r->n_model_inputs) {
        render_key(sb, "model_inputs", first);
        strbuf_append_char(sb, '[');
        for (size_t i = 0; i < r->n_model_inputs; i++) {
            if (i)
                strbuf_append_char(sb, ',');
            strbuf_append_char(sb, '{');
            render_str_field(sb, "model_id", r->model_inputs[i], true);
            strbuf_append_char(sb, '}');
        }
        strbuf_append_char(sb, ']');
    }
    strbuf_append_char(sb, '}');
}

void render_run(struct strbuf *sb, const struct run *r)
{
    strbuf_append_str(sb, "{\"info\":");
    render_run_info(sb, r);
    strbuf_append_str(sb, ",\"data\":{");
    bool first = true;
    if (r->n_metrics) {
        render_key(sb, "metrics", true);
        first = false;
        strbuf_append_char(sb, '[');
        for (size_t i = 0; i < r->n_metrics; i++) {
            if (i)
                strbuf_append_char(sb, ',');
            render_metric(sb, &r->metrics[i], false);
        }
        strbuf_append_char(sb, ']');
    }
    kv_list(sb, "params", r->params, r->n_params, &first);
    kv_list(sb, "tags", r->tags, r->n_tags, &first);
    strbuf_append_str(sb, "},\"inputs\":");
    render_inputs(sb, r);
    strbuf_append_char(sb, '}');
}

void render_num_or_null(struct strbuf *sb, const char *key, bool has,
                        double value)
{
    render_key(sb, key, false);
    if (has)
        strbuf_append_json_double(sb, value);
    else
        strbuf_append_str(sb, "null");
}

void render_run_row_open(struct strbuf *sb, const char *run_id,
                         const char *run_name, enum run_status status,
                         int64_t start_time)
{
    strbuf_append_char(sb, '{');
    render_str_field(sb, "run_id", run_id, true);
    render_str_field(sb, "run_name", run_name, false);
    render_str_field(sb, "status", run_status_names[status], false);
    i64_field(sb, "start_time", start_time);
}
