/* SPDX-License-Identifier: MIT
 *
 * render: MLflow's JSON shapes for the model structs, appended to a strbuf
 * (int64 as JSON numbers, empty lists omitted, NaN and infinities as
 * strings, enums by name). Pure functions; inputs are borrowed.
 */
#ifndef SERVER_RENDER_H
#define SERVER_RENDER_H

#include "model.h"
#include "strbuf.h"

/* Appends "key": (with a leading comma unless 'first'). */
void render_key(struct strbuf *sb, const char *key, bool first);

/* "key":"value" ('value' NULL: null) and "key":number, each with a
 * leading comma unless 'first'. */
void render_str_field(struct strbuf *sb, const char *key, const char *value,
                      bool first);
void render_num_field(struct strbuf *sb, const char *key, double value,
                      bool first);

/* The elements of a [{"key":..,"value":..}] list, comma-separated (no
 * brackets). */
void render_kv_items(struct strbuf *sb, const struct kv *a, size_t n);

/* A Dataset object ({"name":..,"digest":..,...}). */
void render_dataset(struct strbuf *sb, const struct dataset_input *d);

void render_experiment(struct strbuf *sb, const struct experiment *e);
/* An Experiment without its tags and closing brace (streamed replies add
 * them). */
void render_experiment_open(struct strbuf *sb, const struct experiment *e);
void render_run_info(struct strbuf *sb, const struct run *r);
void render_run(struct strbuf *sb, const struct run *r);
/* A Metric; with 'with_run_id', MetricWithRunId. */
void render_metric(struct strbuf *sb, const struct metric *m, bool with_run_id);

/* The elements of a JSON array of metrics, comma-separated (no
 * brackets). Faster than render_metric per point: each distinct key is
 * escaped once, which matters for 100,000-point histories. */
void render_metric_items(struct strbuf *sb, const struct metric *m, size_t n,
                         bool with_run_id);

/* ,"key":number, or ,"key":null when !has. */
void render_num_or_null(struct strbuf *sb, const char *key, bool has,
                        double value);

/* {"run_id":..,"run_name":..,"status":..,"start_time":..: the opening of
 * a run's row in greentrack's own answers (leaderboard, export), left
 * open for the caller's fields. */
void render_run_row_open(struct strbuf *sb, const char *run_id,
                         const char *run_name, enum run_status status,
                         int64_t start_time);

#endif
