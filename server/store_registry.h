/* SPDX-License-Identifier: MIT
 *
 * store_registry: the Model Registry's part of the store API (tables of
 * schema/005_registry.sql; the SQL is all in store/registry_sql.h). Writes
 * are store_write of kind SW_REGISTRY, run by the store's one writer with
 * everything else (group commit); reads use the calling thread's read
 * connection. Semantics are those of MLflow 2.9.2's SQL store
 * (specs/mlflow-registry.md): hard-deleted models, soft-deleted versions
 * that no read returns and whose numbers are never reused.
 *
 * Ownership as in store.h: a registry_write and what it points to belong
 * to the submitter until its 'done' ran; read results are the caller's,
 * freed with registry.h's cleanup and free functions.
 */
#ifndef SERVER_STORE_REGISTRY_H
#define SERVER_STORE_REGISTRY_H

#include "registry.h"
#include "store.h"

enum registry_op {
    REG_MODEL_CREATE,       /* name, description, tags */
    REG_MODEL_RENAME,       /* name, new_name */
    REG_MODEL_UPDATE,       /* name, description (NULL: "") */
    REG_MODEL_DELETE,       /* name: the model and everything of it */
    REG_MODEL_SET_TAG,      /* name, key, value */
    REG_MODEL_DELETE_TAG,   /* name, key (a missing key is no error) */
    REG_ALIAS_SET,          /* name, alias, version */
    REG_ALIAS_DELETE,       /* name, alias (a missing alias is no error) */
    REG_VERSION_CREATE,     /* name, source, run_id, run_link, description,
                               tags; out_version */
    REG_VERSION_UPDATE,     /* name, version, description (NULL: cleared) */
    REG_VERSION_DELETE,     /* name, version */
    REG_VERSION_TRANSITION, /* name, version, stage, archive_existing */
    REG_VERSION_SET_TAG,    /* name, version, key, value */
    REG_VERSION_DELETE_TAG  /* name, version, key */
};

/* The inputs of one registry write (borrowed; see store.h) and its
 * output. Errors are MLflow's: RESOURCE_DOES_NOT_EXIST "Registered Model
 * with name=X not found" / "Model Version (name=X, version=N) not found",
 * RESOURCE_ALREADY_EXISTS for a taken name. */
struct registry_write {
    enum registry_op op;
    const char *name;
    const char *new_name;
    const char *description;
    const char *key, *value;
    const char *alias;
    int64_t version;
    const char *source; /* a models:/<name>/<version> source is resolved
                           to that version's source */
    const char *run_id, *run_link; /* NULL: "" */
    enum registry_stage stage;
    bool archive_existing;
    const struct kv_ref *tags;
    size_t n_tags;

    int64_t out_version; /* REG_VERSION_CREATE: the number it got */
};

/* A registered model with its latest versions (the highest of each stage,
 * with their tags), tags and aliases. RESOURCE_DOES_NOT_EXIST when there
 * is none of that name. */
enum srv_err store_registered_model_get(struct store *st, const char *name,
                                        struct registered_model *out,
                                        struct errbuf *eb);

/* registered-models/search: 'args' as for runs (filter and order_by in
 * the registry grammar of filter.h, max_results, offset; view unused).
 * Each model as store_registered_model_get gives it. */
enum srv_err store_registered_models_search(struct store *st,
                                            const struct search_args *args,
                                            struct registered_model **out,
                                            size_t *n, bool *more,
                                            struct errbuf *eb);

/* The highest version of model 'name' in each stage of 'stage_mask' (bit
 * 1 << registry_stage), with tags and without aliases, in the order
 * latest_versions lists them. RESOURCE_DOES_NOT_EXIST for no model. */
enum srv_err store_latest_versions(struct store *st, const char *name,
                                   unsigned stage_mask,
                                   struct model_version **out, size_t *n,
                                   struct errbuf *eb);

/* One version with its tags and aliases; RESOURCE_DOES_NOT_EXIST when
 * the model or the version does not exist or the version was deleted. */
enum srv_err store_model_version_get(struct store *st, const char *name,
                                     int64_t version, struct model_version *out,
                                     struct errbuf *eb);

/* The version alias 'alias' of model 'name' names, as
 * store_model_version_get gives it. INVALID_PARAMETER_VALUE "Registered
 * model alias A not found." when the model has no such alias (or there
 * is no such model). */
enum srv_err store_model_version_by_alias(struct store *st, const char *name,
                                          const char *alias,
                                          struct model_version *out,
                                          struct errbuf *eb);

/* model-versions/search: versions with their tags; aliases are left
 * empty, as MLflow 2.9.2's search returns them. */
enum srv_err store_model_versions_search(struct store *st,
                                         const struct search_args *args,
                                         struct model_version **out, size_t *n,
                                         bool *more, struct errbuf *eb);

/* The versions registered from the runs 'run_ids' (their run_id field),
 * with tags and aliases, ordered by run (as given), then model name and
 * version. */
enum srv_err store_model_versions_of_runs(struct store *st,
                                          const char *const *run_ids,
                                          size_t n_runs,
                                          struct model_version **out, size_t *n,
                                          struct errbuf *eb);

#endif
