/* SPDX-License-Identifier: MIT
 *
 * model: the entity structs' cleanup functions and enum names.
 */
#include "model.h"

#include <stdlib.h>
#include <string.h>

const char *const run_status_names[RUN_STATUS_COUNT] = {
    "RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"};

const char *const view_type_names[VIEW_COUNT] = {"ACTIVE_ONLY", "DELETED_ONLY",
                                                 "ALL"};

void kv_array_free(struct kv *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(a[i].key);
        free(a[i].value);
    }
    free(a);
}

void metric_array_free(struct metric *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(a[i].key_storage);
    free(a);
}

void experiment_cleanup(struct experiment *e)
{
    if (!e)
        return;
    free(e->name);
    free(e->artifact_location);
    kv_array_free(e->tags, e->n_tags);
    memset(e, 0, sizeof(*e));
}

void experiments_free(struct experiment *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        experiment_cleanup(&a[i]);
    free(a);
}

void run_cleanup(struct run *r)
{
    if (!r)
        return;
    free(r->run_name);
    free(r->user_id);
    free(r->artifact_uri);
    kv_array_free(r->params, r->n_params);
    kv_array_free(r->tags, r->n_tags);
    metric_array_free(r->metrics, r->n_metrics);
    for (size_t i = 0; i < r->n_inputs; i++) {
        struct dataset_input *d = &r->inputs[i];
        free(d->name);
        free(d->digest);
        free(d->source_type);
        free(d->source);
        free(d->schema);
        free(d->profile);
        kv_array_free(d->tags, d->n_tags);
    }
    free(r->inputs);
    for (size_t i = 0; i < r->n_model_inputs; i++)
        free(r->model_inputs[i]);
    free(r->model_inputs);
    memset(r, 0, sizeof(*r));
}

void runs_free(struct run *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        run_cleanup(&a[i]);
    free(a);
}

int run_status_parse(const char *s)
{
    for (int i = 0; i < RUN_STATUS_COUNT; i++) {
        if (strcmp(s, run_status_names[i]) == 0)
            return i;
    }
    return -1;
}
