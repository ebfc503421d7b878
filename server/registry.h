/* SPDX-License-Identifier: MIT
 *
 * registry: MLflow's Model Registry entities (specs/mlflow-registry.md):
 * the registered model and model version structs as the store returns
 * them, MLflow 2.9.2's JSON shapes for them, and its rules for names,
 * aliases, stages, tags, version numbers and version sources, with its
 * messages. Pure: no I/O, no store; safe from any thread. The handlers
 * (handlers/mlflow/registered_models.c, model_versions.c) check requests
 * with these rules; store/read_registry.c fills the structs.
 *
 * Ownership: every struct here owns its strings and arrays; release them
 * with the matching *_cleanup / *_free (NULL-safe; the struct is zeroed).
 */
#ifndef SERVER_REGISTRY_H
#define SERVER_REGISTRY_H

#include "err.h"
#include "model.h"
#include "strbuf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits: the SQL store's column sizes and validation.py's checks. */
#define REGISTRY_MAX_NAME_CHARS 256
#define REGISTRY_MAX_TAG_KEY_CHARS 250
#define REGISTRY_MAX_TAG_VALUE_CHARS 5000
#define REGISTRY_MAX_ALIAS_CHARS 255

/* registered-models/search: default and largest max_results */
#define REGISTRY_MODELS_MAX_RESULTS_DEFAULT 100
#define REGISTRY_MODELS_MAX_RESULTS 1000
/* model-versions/search */
#define REGISTRY_VERSIONS_MAX_RESULTS_DEFAULT 200000
#define REGISTRY_VERSIONS_MAX_RESULTS 200000

/* The stages a version can be in; the SQL store's internal stage of a
 * deleted version is not one of them and never leaves the store. */
enum registry_stage {
    REGISTRY_STAGE_NONE,
    REGISTRY_STAGE_STAGING,
    REGISTRY_STAGE_PRODUCTION,
    REGISTRY_STAGE_ARCHIVED,
    REGISTRY_STAGE_COUNT
};

/* "None", "Staging", "Production", "Archived" (index = enum value). */
extern const char *const registry_stage_names[REGISTRY_STAGE_COUNT];

/* The stage of a deleted version, as the store keeps it. */
#define REGISTRY_STAGE_DELETED "Deleted_Internal"

struct model_version {
    char *name;
    int64_t version;
    int64_t creation_timestamp;
    int64_t last_updated_timestamp;
    char *current_stage;
    char *description; /* NULL: cleared (omitted on the wire) */
    char *source;
    char *run_id;
    char *run_link;
    char *status;         /* "READY" */
    char *status_message; /* NULL or "": omitted */
    struct kv *tags;
    size_t n_tags;
    char **aliases; /* the aliases naming this version */
    size_t n_aliases;
};

struct model_alias {
    char *alias;
    int64_t version;
};

struct registered_model {
    int64_t model_pk; /* internal key */
    char *name;
    int64_t creation_timestamp;
    int64_t last_updated_timestamp;
    char *description;            /* "" when none (omitted on the wire) */
    struct model_version *latest; /* the highest version in each stage */
    size_t n_latest;
    struct kv *tags;
    size_t n_tags;
    struct model_alias *aliases;
    size_t n_aliases;
};

void model_version_cleanup(struct model_version *v);
void model_versions_free(struct model_version *a, size_t n);
void registered_model_cleanup(struct registered_model *m);
void registered_models_free(struct registered_model *a, size_t n);

/*---- JSON (MLflow 2.9.2's to_proto presence rules, spec section 3) ----*/

/* A ModelVersion object: version as a string, status always present,
 * description and run fields when not NULL, status_message when not
 * empty, tags and aliases when there are any. */
void registry_render_version(struct strbuf *sb, const struct model_version *v);

/* A RegisteredModel object: description when not empty, latest_versions,
 * tags and aliases when there are any. */
void registry_render_model(struct strbuf *sb, const struct registered_model *m);

/*---- rules, with MLflow's messages (INVALID_PARAMETER_VALUE) ----*/

/* A registered model name: not NULL or empty ("Registered model name
 * cannot be empty."), at most REGISTRY_MAX_NAME_CHARS characters. */
enum srv_err registry_check_name(const char *name, struct errbuf *eb);

/* A version number as MLflow's int() reads it: optional blanks around an
 * optional sign and decimal digits ("Model version must be an integer,
 * got 'x'"). NULL is missing. */
enum srv_err registry_parse_version(const char *text, int64_t *out,
                                    struct errbuf *eb);

/* A stage, any case, as its canonical value ("Invalid Model Version
 * stage: x. Value must be one of None, Staging, Production, Archived."). */
enum srv_err registry_parse_stage(const char *text, enum registry_stage *out,
                                  struct errbuf *eb);

/* An alias name: non-empty, letters, digits, '_' and '-', at most
 * REGISTRY_MAX_ALIAS_CHARS, not "latest" in any case, not v<digits>. */
enum srv_err registry_check_alias(const char *alias, struct errbuf *eb);

/* A tag of a registered model ('of_version' false) or a model version:
 * the key's characters (MLflow 2.9.2's, without ':') and path safety,
 * then the key's and the value's lengths, never truncated. 'value' NULL
 * counts as "". */
enum srv_err registry_check_tag(const char *key, const char *value,
                                bool of_version, struct errbuf *eb);

/*---- version sources (spec section 4.6) ----*/

enum registry_source_kind {
    REGISTRY_SOURCE_REMOTE, /* a URI with an absolute, normalised path */
    REGISTRY_SOURCE_LOCAL,  /* a path or file: URI on this machine */
    REGISTRY_SOURCE_MODELS  /* models:/<name>/<version>, to be resolved */
};

/* Classifies and checks 'source' as model-versions/create must:
 * REMOTE sources must have an absolute path without "." or ".."
 * segments (after percent-decoding until stable, collapsing "//" and
 * dropping a trailing '/'); LOCAL ones are checked against the run by
 * registry_local_source_ok; a file: URI naming another host is refused.
 * On error the message is MLflow's "Invalid model version source: ...". */
enum srv_err registry_check_source(const char *source,
                                   enum registry_source_kind *kind,
                                   struct errbuf *eb);

/* Whether local source 'source' (a path, relative ones taken from the
 * server's working directory, or a file: URI) lies inside the run's
 * artifact folder 'run_artifact_uri' (a local path or file: URI;
 * anything else holds no local files). Compared lexically, after
 * normalising both. */
bool registry_local_source_ok(const char *source, const char *run_artifact_uri);

/* The message for a local source refused by registry_local_source_ok or
 * given without a run_id. */
enum srv_err registry_local_source_error(const char *source, struct errbuf *eb);

/* Splits "models:/<name>/<version>" into 'name' (a copy the caller frees)
 * and '*version'. False when 'source' is not of that form (a stage,
 * "latest" or an alias instead of a number also fail). */
bool registry_models_uri(const char *source, char **name, int64_t *version);

/* The run a version came from: 'run_id' when not empty, else the id in a
 * "runs:/<id>/..." source, else the run folder of an artifact URI
 * ".../<32 hex id>/artifacts[/...]". Copies it into 'out' ('outlen'
 * bytes) and names how it was found in '*how' (static); false when there
 * is none or it does not fit. */
bool registry_source_run(const char *run_id, const char *source, char *out,
                         size_t outlen, const char **how);

#endif
