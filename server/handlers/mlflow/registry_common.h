/* SPDX-License-Identifier: MIT
 *
 * registry_common: what the Model Registry's two handler files
 * (registered_models.c, model_versions.c) share: reading the model name
 * and version of a request, the tag list of a create, submitting a
 * registry write, the answers with one version or a list, the two
 * searches, and the set-tag and delete-tag endpoints of models and
 * versions alike.
 */
#ifndef SERVER_HANDLERS_MLFLOW_REGISTRY_COMMON_H
#define SERVER_HANDLERS_MLFLOW_REGISTRY_COMMON_H

#include "handlers/handlers.h"
#include "store_registry.h"

/* A model name field: required in a JSON body; on a GET (whose query
 * MLflow 2.9.2 never checks field by field) absent reads as empty, which
 * the store's check words as "Registered model name cannot be empty.". */
enum srv_err reg_model_name(const struct request *req, const char *field,
                            const char **out, struct errbuf *eb);

/* The version field, given as a string or a number. */
enum srv_err reg_version(const struct request *req, bool required, int64_t *out,
                         struct errbuf *eb);

/* name and version, required in a JSON body; on a GET an absent one
 * fails the store's own checks, as in MLflow 2.9.2. */
enum srv_err reg_name_version(const struct request *req, const char **name,
                              int64_t *version, struct errbuf *eb);

/* The [{"key","value"}] of a create, checked as MLflow does (as model
 * version tags when 'of_version'); an absent value is "". '*out' is the
 * caller's to free (NULL when there are none). */
enum srv_err reg_tag_list(const cJSON *args, bool of_version,
                          struct kv_ref **out, size_t *n, struct errbuf *eb);

/* Submits a copy of 'w' to the store's writer and returns H_PENDING; the
 * request keeps 'tags' (w->tags' array, may be NULL) until it is done.
 * 'after' (NULL: an empty answer) answers once the write committed. On no
 * memory, frees 'tags' and answers the error. */
enum handler_result
reg_submit(struct request *req, struct response *res,
           const struct registry_write *w, struct kv_ref *tags,
           enum handler_result (*after)(struct request *, struct response *));

/* Ends a handler with {"model_version": 'v'}; cleans 'v' up. */
enum handler_result reg_answer_version(struct response *res,
                                       struct model_version *v);

/* Ends a handler with {"model_versions": [...]} (left out when 'n' is 0);
 * frees 'list'. */
enum handler_result reg_answer_versions(struct response *res,
                                        struct model_version *list, size_t n);

/* registered-models/search (!versions) or model-versions/search:
 * max_results (1 to the endpoint's most), filter, order_by and
 * page_token (an offset of 0 is refused, as MLflow does). */
enum handler_result reg_search(struct request *req, struct response *res,
                               bool versions);

/* set-tag (an upsert) or, with 'delete', delete-tag (a missing key is no
 * error) of a registered model or, with 'of_version', a model version. */
enum handler_result reg_tag(struct request *req, struct response *res,
                            bool of_version, bool delete);

#endif
