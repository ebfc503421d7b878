/* SPDX-License-Identifier: MIT
 *
 * model: the tracking entities as plain structs, as the store returns them
 * and render.c writes them. Every struct that holds heap memory has a
 * *_cleanup that frees what it owns (NULL-safe, the struct is zeroed).
 */
#ifndef SERVER_MODEL_H
#define SERVER_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RUN_ID_LEN 32

enum run_status {
    RUN_STATUS_RUNNING,
    RUN_STATUS_SCHEDULED,
    RUN_STATUS_FINISHED,
    RUN_STATUS_FAILED,
    RUN_STATUS_KILLED,
    RUN_STATUS_COUNT
};

/* MLflow's names, index = enum value; the proto numbers are value + 1. */
extern const char *const run_status_names[RUN_STATUS_COUNT];

enum view_type { VIEW_ACTIVE_ONLY, VIEW_DELETED_ONLY, VIEW_ALL, VIEW_COUNT };
extern const char *const view_type_names[VIEW_COUNT];

struct kv {
    char *key;
    char *value;
};

struct metric {
    const char *key;   /* key_storage, or borrowed from the request */
    char *key_storage; /* owned copy, NULL when the key is borrowed */
    double value;      /* NAN for a NaN point */
    int64_t timestamp;
    int64_t step;
    const char *run_id; /* borrowed; set only by bulk history reads */
};

struct dataset_input {
    char *name;
    char *digest;
    char *source_type;
    char *source;
    char *schema;  /* NULL when absent */
    char *profile; /* NULL when absent */
    struct kv *tags;
    size_t n_tags;
};

struct experiment {
    int64_t experiment_id;
    char *name;
    char *artifact_location;
    bool deleted;
    int64_t creation_time;
    int64_t last_update_time;
    struct kv *tags;
    size_t n_tags;
};

struct run {
    int64_t run_pk; /* internal key */
    char run_id[RUN_ID_LEN + 1];
    int64_t experiment_id;
    char *run_name;
    char *user_id;
    enum run_status status;
    int64_t start_time;
    int64_t end_time; /* 0 = not set */
    char *artifact_uri;
    bool deleted;
    struct kv *params;
    size_t n_params;
    struct kv *tags;
    size_t n_tags;
    struct metric *metrics; /* latest value per key */
    size_t n_metrics;
    struct dataset_input *inputs;
    size_t n_inputs;
    char **model_inputs; /* model ids */
    size_t n_model_inputs;
};

/* One run of an experiment's leaderboard: what ranking needs, unranked
 * (store_leaderboard_rows reads them; ranking.c ranks them). */
struct leaderboard_row {
    int64_t run_pk;
    char run_id[RUN_ID_LEN + 1];
    char *run_name;
    enum run_status status;
    int64_t start_time;
    int64_t end_time; /* 0 = not ended */
    bool has_metric;  /* the metric exists and is not NaN */
    double metric;
    bool has_energy;
    double co2_kg, energy_kwh;
    bool estimated;
    bool has_model; /* tagged mlflow.log-model.history (runs/log-model) */
};

void kv_array_free(struct kv *a, size_t n);
void metric_array_free(struct metric *a, size_t n);
void experiment_cleanup(struct experiment *e);
void experiments_free(struct experiment *a, size_t n);
void run_cleanup(struct run *r);
void runs_free(struct run *a, size_t n);

/* Parses a status name ("FINISHED"); -1 when unknown. */
int run_status_parse(const char *s);

#endif
