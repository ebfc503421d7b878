/* SPDX-License-Identifier: MIT
 *
 * registry_sql: the Model Registry's statements, every one on the tables
 * of schema/005_registry.sql (an X-macro table, numbered among the
 * connection's domain statements from 0), and the helpers that its two
 * halves share: write_registry.c (the writes) and read_registry.c (the
 * reads).
 */
#ifndef SERVER_STORE_REGISTRY_SQL_H
#define SERVER_STORE_REGISTRY_SQL_H

#include "internal.h"
#include "store_registry.h"

/* A version's columns, in the order version_from_row reads them. */
#define VCOLS                                                                  \
    "m.name, v.version, v.creation_timestamp, v.last_updated_timestamp, "      \
    "v.current_stage, v.description, v.source, v.run_id, v.run_link, "         \
    "v.status, v.status_message, v.model_pk"
#define VFROM                                                                  \
    " FROM model_versions AS v JOIN registered_models AS m "                   \
    "ON m.model_pk = v.model_pk "
#define LIVE "v.current_stage != '" REGISTRY_STAGE_DELETED "'"
#define MCOLS                                                                  \
    "m.model_pk, m.name, m.creation_timestamp, m.last_updated_timestamp, "     \
    "m.description"

#define FOR_EACH_REG_STMT(X)                                                   \
    X(R_MODEL_BY_NAME, "SELECT " MCOLS " FROM registered_models AS m "         \
                       "WHERE m.name = ?")                                     \
    X(R_MODEL_INSERT, "INSERT INTO registered_models (name, "                  \
                      "creation_timestamp, last_updated_timestamp, "           \
                      "description) VALUES (?, ?, ?, ?) "                      \
                      "RETURNING model_pk")                                    \
    X(R_MODEL_RENAME, "UPDATE registered_models SET name = ?, "                \
                      "last_updated_timestamp = ? WHERE model_pk = ?")         \
    X(R_MODEL_DESCRIBE, "UPDATE registered_models SET description = ?, "       \
                        "last_updated_timestamp = ? WHERE model_pk = ?")       \
    X(R_MODEL_TOUCH, "UPDATE registered_models SET "                           \
                     "last_updated_timestamp = ? WHERE model_pk = ?")          \
    X(R_MODEL_DEL_ALIASES,                                                     \
      "DELETE FROM registered_model_aliases WHERE model_pk = ?")               \
    X(R_MODEL_DEL_VTAGS, "DELETE FROM model_version_tags WHERE model_pk = ?")  \
    X(R_MODEL_DEL_VERSIONS, "DELETE FROM model_versions WHERE model_pk = ?")   \
    X(R_MODEL_DEL_TAGS,                                                        \
      "DELETE FROM registered_model_tags WHERE model_pk = ?")                  \
    X(R_MODEL_DEL, "DELETE FROM registered_models WHERE model_pk = ?")         \
    X(R_MODEL_TAG_UPSERT,                                                      \
      "INSERT INTO registered_model_tags (model_pk, key, value) "              \
      "VALUES (?, ?, ?) ON CONFLICT (model_pk, key) "                          \
      "DO UPDATE SET value = excluded.value")                                  \
    X(R_MODEL_TAG_DELETE, "DELETE FROM registered_model_tags "                 \
                          "WHERE model_pk = ? AND key = ?")                    \
    X(R_MODEL_TAGS, "SELECT key, value FROM registered_model_tags "            \
                    "WHERE model_pk = ? ORDER BY key")                         \
    X(R_ALIASES, "SELECT alias, version FROM registered_model_aliases "        \
                 "WHERE model_pk = ? ORDER BY alias")                          \
    X(R_ALIAS_UPSERT,                                                          \
      "INSERT INTO registered_model_aliases (model_pk, alias, version) "       \
      "VALUES (?, ?, ?) ON CONFLICT (model_pk, alias) "                        \
      "DO UPDATE SET version = excluded.version")                              \
    X(R_ALIAS_DELETE, "DELETE FROM registered_model_aliases "                  \
                      "WHERE model_pk = ? AND alias = ?")                      \
    X(R_ALIAS_GET, "SELECT a.version FROM registered_model_aliases AS a "      \
                   "JOIN registered_models AS m ON m.model_pk = a.model_pk "   \
                   "WHERE m.name = ? AND a.alias = ?")                         \
    X(R_ALIASES_OF, "SELECT alias FROM registered_model_aliases "              \
                    "WHERE model_pk = ? AND version = ? ORDER BY alias")       \
    X(R_ALIASES_DROP, "DELETE FROM registered_model_aliases "                  \
                      "WHERE model_pk = ? AND version = ?")                    \
    X(R_VERSION_NEXT, "SELECT coalesce(max(version), 0) + 1 "                  \
                      "FROM model_versions WHERE model_pk = ?")                \
    X(R_VERSION_INSERT,                                                        \
      "INSERT INTO model_versions (model_pk, version, creation_timestamp, "    \
      "last_updated_timestamp, description, source, run_id, run_link) "        \
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")                                       \
    X(R_VERSION_LIVE, "SELECT 1 FROM model_versions AS v "                     \
                      "WHERE v.model_pk = ? AND v.version = ? AND " LIVE)      \
    X(R_VERSION_GET, "SELECT " VCOLS VFROM "WHERE m.name = ? AND "             \
                     "v.version = ? AND " LIVE)                                \
    X(R_VERSION_DESCRIBE,                                                      \
      "UPDATE model_versions SET description = ?, "                            \
      "last_updated_timestamp = ? WHERE model_pk = ? AND version = ?")         \
    X(R_VERSION_DELETE,                                                        \
      "UPDATE model_versions SET current_stage = "                             \
      "'" REGISTRY_STAGE_DELETED "', source = 'REDACTED-SOURCE-PATH', "        \
      "run_id = 'REDACTED-RUN-ID', run_link = 'REDACTED-RUN-LINK', "           \
      "description = NULL, status_message = NULL, "                            \
      "last_updated_timestamp = ? WHERE model_pk = ? AND version = ?")         \
    X(R_VERSION_ARCHIVE,                                                       \
      "UPDATE model_versions SET current_stage = 'Archived', "                 \
      "last_updated_timestamp = ?1 WHERE model_pk = ?2 AND version != ?3 "     \
      "AND current_stage = ?4")                                                \
    X(R_VERSION_STAGE,                                                         \
      "UPDATE model_versions SET current_stage = ?, "                          \
      "last_updated_timestamp = ? WHERE model_pk = ? AND version = ?")         \
    X(R_VERSIONS_TOUCH, "UPDATE model_versions SET "                           \
                        "last_updated_timestamp = ? WHERE model_pk = ?")       \
    X(R_VERSION_TAG_UPSERT,                                                    \
      "INSERT INTO model_version_tags (model_pk, version, key, value) "        \
      "VALUES (?, ?, ?, ?) ON CONFLICT (model_pk, version, key) "              \
      "DO UPDATE SET value = excluded.value")                                  \
    X(R_VERSION_TAG_DELETE, "DELETE FROM model_version_tags WHERE "            \
                            "model_pk = ? AND version = ? AND key = ?")        \
    X(R_VERSION_TAGS, "SELECT key, value FROM model_version_tags "             \
                      "WHERE model_pk = ? AND version = ? ORDER BY key")       \
    /* the highest live version per stage, listed as MLflow's dict of          \
     * them fills: by the first version that entered each stage */             \
    X(R_LATEST,                                                                \
      "WITH s AS (SELECT current_stage AS stage, max(version) AS hi, "         \
      "min(version) AS lo FROM model_versions WHERE model_pk = ?1 AND "        \
      "current_stage != '" REGISTRY_STAGE_DELETED "' GROUP BY current_stage) " \
      "SELECT " VCOLS VFROM "JOIN s ON s.hi = v.version "                      \
      "WHERE v.model_pk = ?1 ORDER BY s.lo")                                   \
    X(R_VERSIONS_OF_RUN, "SELECT " VCOLS VFROM "WHERE v.run_id = ? AND " LIVE  \
                         " ORDER BY m.name, v.version")

enum reg_stmt {
#define REG_STMT_ENUM(id, sql) id,
    FOR_EACH_REG_STMT(REG_STMT_ENUM)
#undef REG_STMT_ENUM
        REG_STMT_COUNT
};

/* Statement 'id' on connection 'c', prepared on first use
 * and reset for reuse; NULL (logged) when it cannot be
 * prepared (store_conn_stmt). */
struct db_stmt *store_registry_stmt(struct conn *c, enum reg_stmt id);

/* Binds 'v' at 'i', '' when NULL. */
void store_registry_bind_text(struct db_stmt *s, int i, const char *v);

/* RESOURCE_DOES_NOT_EXIST for model 'name', in MLflow's
 * words. */
enum srv_err store_registry_no_model(struct errbuf *eb, const char *name);

/* RESOURCE_DOES_NOT_EXIST for version 'version' of model
 * 'name'. */
enum srv_err store_registry_no_version(struct errbuf *eb, const char *name,
                                       int64_t version);

#endif
