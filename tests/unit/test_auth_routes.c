/* SPDX-License-Identifier: MIT
 *
 * test_auth_routes: walks the whole route table and checks each row's
 * permission (router.h enum route_perm) against the map written out below
 * from specs/mlflow-auth.md section 5 and issue 15 (greentrack's own
 * endpoints): a row missing from the map, a row the map does not know or
 * a row without a permission fails. Also the lookups under both MLflow
 * prefixes, the auth API's absence under /ajax-api/, and auth.c's small
 * pure helpers.
 */
#include "auth.h"
#include "router.h"
#include "test.h"

#include <stdio.h>
#include <string.h>

struct expect {
    const char *path; /* prefix + name */
    unsigned method;  /* one ROUTE_* bit */
    enum route_perm perm;
    int seen;
};

#define M "/api/2.0/mlflow/"
#define G "/api/2.0/greentrack/"
#define A "/api/2.0/mlflow-artifacts/"
#define C "/codecarbon/"

static struct expect map[] = {
    /* 5.1 experiments and runs */
    {M "experiments/create", ROUTE_POST, PERM_CREATE, 0},
    {M "experiments/get", ROUTE_GET, PERM_EXP_READ, 0},
    {M "experiments/get-by-name", ROUTE_GET, PERM_EXP_NAME_READ, 0},
    {M "experiments/search", ROUTE_GET, PERM_ANY_USER, 0},
    {M "experiments/search", ROUTE_POST, PERM_ANY_USER, 0},
    {M "experiments/list", ROUTE_GET, PERM_ADMIN, 0},
    {M "experiments/update", ROUTE_POST, PERM_EXP_EDIT, 0},
    {M "experiments/delete", ROUTE_POST, PERM_EXP_MANAGE, 0},
    {M "experiments/restore", ROUTE_POST, PERM_EXP_MANAGE, 0},
    {M "experiments/set-experiment-tag", ROUTE_POST, PERM_EXP_EDIT, 0},
    {M "experiments/delete-experiment-tag", ROUTE_POST, PERM_EXP_EDIT, 0},
    {M "experiments/search-datasets", ROUTE_POST, PERM_EXP_IDS_READ, 0},
    {M "runs/create", ROUTE_POST, PERM_EXP_EDIT, 0},
    {M "runs/get", ROUTE_GET, PERM_RUN_READ, 0},
    {M "runs/update", ROUTE_POST, PERM_RUN_EDIT, 0},
    {M "runs/delete", ROUTE_POST, PERM_RUN_MANAGE, 0},
    {M "runs/restore", ROUTE_POST, PERM_RUN_MANAGE, 0},
    {M "runs/search", ROUTE_POST, PERM_RUNS_SEARCH, 0},
    {M "runs/log-metric", ROUTE_POST, PERM_RUN_EDIT, 0},
    {M "runs/log-parameter", ROUTE_POST, PERM_RUN_EDIT, 0},
    {M "runs/set-tag", ROUTE_POST, PERM_RUN_EDIT, 0},
    {M "runs/delete-tag", ROUTE_POST, PERM_RUN_EDIT, 0},
    {M "runs/log-batch", ROUTE_POST, PERM_RUN_EDIT, 0},
    {M "runs/log-inputs", ROUTE_POST, PERM_RUN_EDIT, 0}, /* 5.5 leak closed */
    {M "runs/log-model", ROUTE_POST, PERM_RUN_EDIT, 0},
    {M "metrics/get-history", ROUTE_GET, PERM_RUN_READ, 0},
    {M "metrics/get-history-bulk-interval", ROUTE_GET, PERM_RUN_IDS_READ, 0},
    {M "metrics/get-history-bulk", ROUTE_GET, PERM_RUN_IDS_READ, 0},
    {M "artifacts/list", ROUTE_GET, PERM_RUN_READ, 0},
    {M "upload-artifact", ROUTE_POST, PERM_RUN_EDIT, 0},
    /* 5.2 the registry */
    {M "registered-models/create", ROUTE_POST, PERM_CREATE, 0},
    {M "registered-models/get", ROUTE_GET, PERM_MODEL_READ, 0},
    {M "registered-models/rename", ROUTE_POST, PERM_MODEL_EDIT, 0},
    {M "registered-models/update", ROUTE_PATCH, PERM_MODEL_EDIT, 0},
    {M "registered-models/delete", ROUTE_DELETE, PERM_MODEL_MANAGE, 0},
    {M "registered-models/search", ROUTE_GET, PERM_ANY_USER, 0},
    {M "registered-models/get-latest-versions", ROUTE_GET, PERM_MODEL_READ, 0},
    {M "registered-models/get-latest-versions", ROUTE_POST, PERM_MODEL_READ, 0},
    {M "registered-models/set-tag", ROUTE_POST, PERM_MODEL_EDIT, 0},
    {M "registered-models/delete-tag", ROUTE_DELETE, PERM_MODEL_EDIT, 0},
    {M "registered-models/alias", ROUTE_POST, PERM_MODEL_EDIT, 0},
    {M "registered-models/alias", ROUTE_DELETE, PERM_MODEL_MANAGE, 0},
    {M "registered-models/alias", ROUTE_GET, PERM_MODEL_READ, 0},
    {M "model-versions/create", ROUTE_POST, PERM_MODEL_EDIT, 0},
    {M "model-versions/get", ROUTE_GET, PERM_MODEL_READ, 0},
    {M "model-versions/update", ROUTE_PATCH, PERM_MODEL_EDIT, 0},
    {M "model-versions/delete", ROUTE_DELETE, PERM_MODEL_MANAGE, 0},
    {M "model-versions/search", ROUTE_GET, PERM_ANY_USER, 0},
    {M "model-versions/transition-stage", ROUTE_POST, PERM_MODEL_EDIT, 0},
    {M "model-versions/get-download-uri", ROUTE_GET, PERM_MODEL_READ, 0},
    {M "model-versions/set-tag", ROUTE_POST, PERM_MODEL_EDIT, 0},
    {M "model-versions/delete-tag", ROUTE_DELETE, PERM_MODEL_MANAGE, 0},
    /* 5.3 the auth API */
    {M "users/create", ROUTE_POST, PERM_ADMIN, 0},
    {M "users/get", ROUTE_GET, PERM_SELF, 0},
    {M "users/update-password", ROUTE_PATCH, PERM_SELF, 0},
    {M "users/update-admin", ROUTE_PATCH, PERM_ADMIN, 0},
    {M "users/delete", ROUTE_DELETE, PERM_ADMIN, 0},
    {M "experiments/permissions/create", ROUTE_POST, PERM_EXP_MANAGE, 0},
    {M "experiments/permissions/get", ROUTE_GET, PERM_EXP_MANAGE, 0},
    {M "experiments/permissions/update", ROUTE_PATCH, PERM_EXP_MANAGE, 0},
    {M "experiments/permissions/delete", ROUTE_DELETE, PERM_EXP_MANAGE, 0},
    {M "registered-models/permissions/create", ROUTE_POST, PERM_MODEL_MANAGE,
     0},
    {M "registered-models/permissions/get", ROUTE_GET, PERM_MODEL_MANAGE, 0},
    {M "registered-models/permissions/update", ROUTE_PATCH, PERM_MODEL_MANAGE,
     0},
    {M "registered-models/permissions/delete", ROUTE_DELETE, PERM_MODEL_MANAGE,
     0},
    /* greentrack's: READ to look, EDIT to log, admin for the grid */
    {G "runs/heartbeat", ROUTE_POST, PERM_RUN_EDIT, 0},
    {G "runs/log-energy", ROUTE_POST, PERM_RUN_EDIT, 0},
    {G "runs/carbon", ROUTE_GET, PERM_RUN_READ, 0},
    {G "runs/log-phase", ROUTE_POST, PERM_RUN_EDIT, 0},
    {G "hardware", ROUTE_GET, PERM_EXP_READ, 0},
    {G "intensity", ROUTE_GET, PERM_ANY_USER, 0},
    {G "runs/energy", ROUTE_GET, PERM_RUN_READ, 0},
    {G "runs/export", ROUTE_GET, PERM_EXP_READ, 0},
    {G "leaderboard", ROUTE_GET, PERM_EXP_READ, 0},
    {G "experiments/summary", ROUTE_GET, PERM_ANY_USER, 0},
    {G "import/codecarbon", ROUTE_POST, PERM_EXP_EDIT, 0},
    {G "schedule", ROUTE_GET, PERM_EXP_READ, 0},
    {G "grid/intensity", ROUTE_GET, PERM_ANY_USER, 0},
    {G "grid/refresh", ROUTE_POST, PERM_ADMIN, 0},
    {G "model-versions/carbon", ROUTE_GET, PERM_MODEL_READ, 0},
    {G "auth/login", ROUTE_POST, PERM_NONE, 0},
    {G "auth/logout", ROUTE_POST, PERM_NONE, 0},
    {G "auth/whoami", ROUTE_GET, PERM_NONE, 0},
    {G "tokens/create", ROUTE_POST, PERM_ANY_USER, 0},
    {G "tokens/list", ROUTE_GET, PERM_ANY_USER, 0},
    {G "tokens/revoke", ROUTE_POST, PERM_ANY_USER, 0},
    {G "users/list", ROUTE_GET, PERM_ADMIN, 0},
    {G "experiments/permissions/list", ROUTE_GET, PERM_EXP_MANAGE, 0},
    /* 5.4 the artifact proxy (the list route too, unlike MLflow) */
    {A "artifacts", ROUTE_GET, PERM_ARTIFACT_LIST, 0},
    {A "artifacts/", ROUTE_GET, PERM_ARTIFACT, 0},
    {A "artifacts/", ROUTE_PUT, PERM_ARTIFACT, 0},
    {A "artifacts/", ROUTE_DELETE, PERM_ARTIFACT, 0},
    {A "mpu/create/", ROUTE_POST, PERM_ARTIFACT, 0},
    {A "mpu/complete/", ROUTE_POST, PERM_ARTIFACT, 0},
    {A "mpu/abort/", ROUTE_POST, PERM_ARTIFACT, 0},
    /* CodeCarbon's API */
    {C "experiments", ROUTE_POST, PERM_CREATE, 0},
    {C "runs", ROUTE_POST, PERM_EXP_EDIT, 0},
    {C "emissions", ROUTE_POST, PERM_RUN_EDIT, 0},
    /* root */
    {"/health", ROUTE_GET, PERM_NONE, 0},
    {"/version", ROUTE_GET, PERM_NONE, 0},
    {"/signup", ROUTE_GET, PERM_ADMIN, 0},
    {"/get-artifact", ROUTE_GET, PERM_RUN_READ, 0},
    {"/model-versions/get-artifact", ROUTE_GET, PERM_MODEL_READ, 0},
};

static struct expect *find(const char *path, unsigned method)
{
    for (size_t i = 0; i < sizeof(map) / sizeof(*map); i++) {
        if (map[i].method == method && strcmp(map[i].path, path) == 0)
            return &map[i];
    }
    return NULL;
}

static void test_every_row_is_mapped(void)
{
    const char *prefix, *name;
    unsigned methods, flags;
    enum route_perm perm;
    size_t rows = 0;
    for (size_t i = 0; route_row(i, &prefix, &name, &methods, &flags, &perm);
         i++) {
        rows++;
        CHECK(perm != PERM_UNSET && perm < PERM_COUNT);
        for (unsigned bit = 1; bit <= ROUTE_PATCH; bit <<= 1) {
            if (!(methods & bit))
                continue;
            char path[256];
            snprintf(path, sizeof(path), "%s%s", prefix, name);
            struct expect *e = find(path, bit);
            if (!e) {
                fprintf(stderr, "FAIL unmapped route %s (method bit %u)\n",
                        path, bit);
                test_failed++;
                continue;
            }
            e->seen++;
            if (e->perm != perm)
                fprintf(stderr, "FAIL %s (method bit %u): perm %d, want %d\n",
                        path, bit, (int)perm, (int)e->perm);
            CHECK_EQ_INT(perm, e->perm);
        }
    }
    CHECK(rows > 90);
    for (size_t i = 0; i < sizeof(map) / sizeof(*map); i++) {
        if (map[i].seen != 1)
            fprintf(stderr, "FAIL %s seen %d times\n", map[i].path,
                    map[i].seen);
        CHECK_EQ_INT(map[i].seen, 1);
    }
}

static void test_lookups_carry_the_permission(void)
{
    struct route_info ri;
    CHECK_EQ_INT(route_lookup("/api/2.0/mlflow/runs/create", "POST", &ri),
                 ROUTE_FOUND);
    CHECK_EQ_INT(ri.perm, PERM_EXP_EDIT);
    CHECK_EQ_INT(route_lookup("/ajax-api/2.0/mlflow/runs/delete", "POST", &ri),
                 ROUTE_FOUND);
    CHECK_EQ_INT(ri.perm, PERM_RUN_MANAGE);
    CHECK_EQ_INT(
        route_lookup("/api/2.0/mlflow/registered-models/alias", "DELETE", &ri),
        ROUTE_FOUND);
    CHECK_EQ_INT(ri.perm, PERM_MODEL_MANAGE);
    CHECK_EQ_INT(route_lookup("/ajax-api/2.0/mlflow-artifacts/artifacts/1/x",
                              "DELETE", &ri),
                 ROUTE_FOUND);
    CHECK_EQ_INT(ri.perm, PERM_ARTIFACT);
    CHECK_EQ_INT(route_lookup("/health", "GET", &ri), ROUTE_FOUND);
    CHECK_EQ_INT(ri.perm, PERM_NONE);
    /* the auth API exists only under /api/2.0 (spec section 6) */
    CHECK_EQ_INT(route_lookup("/api/2.0/mlflow/users/get", "GET", &ri),
                 ROUTE_FOUND);
    CHECK_EQ_INT(route_lookup("/ajax-api/2.0/mlflow/users/get", "GET", &ri),
                 ROUTE_NOT_FOUND);
    CHECK_EQ_INT(ri.perm, PERM_UNSET);
    CHECK_EQ_INT(route_lookup("/ajax-api/2.0/mlflow/experiments/permissions/"
                              "create",
                              "POST", &ri),
                 ROUTE_NOT_FOUND);
    CHECK_EQ_INT(route_lookup("/some/ui/page", "GET", &ri), ROUTE_STATIC);
    CHECK_EQ_INT(ri.perm, PERM_UNSET);
}

static void test_helpers(void)
{
    CHECK_EQ_INT(auth_level_parse("READ"), AUTH_READ);
    CHECK_EQ_INT(auth_level_parse("EDIT"), AUTH_EDIT);
    CHECK_EQ_INT(auth_level_parse("MANAGE"), AUTH_MANAGE);
    CHECK_EQ_INT(auth_level_parse("NO_PERMISSIONS"), AUTH_NO_PERMISSIONS);
    CHECK_EQ_INT(auth_level_parse("read"), -1);
    CHECK_EQ_INT(auth_level_parse(""), -1);
    CHECK_EQ_INT(auth_level_parse(NULL), -1);
    CHECK_EQ_STR(auth_level_name(AUTH_EDIT), "EDIT");
    CHECK_EQ_STR(auth_level_name(9), "NO_PERMISSIONS");
    struct errbuf eb;
    CHECK_EQ_INT(auth_validate_username("alice", &eb), SRV_OK);
    CHECK_EQ_INT(auth_validate_username("", &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    CHECK_EQ_STR(eb.msg, "Username cannot be empty.");
    CHECK_EQ_INT(auth_validate_username("a:b", &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    CHECK_EQ_INT(auth_validate_username("a\nb", &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    char longname[300];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    CHECK_EQ_INT(auth_validate_username(longname, &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    /* secrets: hashes are fixed-length hex, different per input */
    char h1[65], h2[65];
    auth_secret_hash("gtk_a", h1);
    auth_secret_hash("gtk_b", h2);
    CHECK_EQ_INT(strlen(h1), 64);
    CHECK(strcmp(h1, h2) != 0);
    char r1[65], r2[65];
    auth_random_hex(r1, 32);
    auth_random_hex(r2, 32);
    CHECK_EQ_INT(strlen(r1), 64);
    CHECK(strcmp(r1, r2) != 0);
}

int main(void)
{
    test_every_row_is_mapped();
    test_lookups_carry_the_permission();
    test_helpers();
    TEST_MAIN_END("test_auth_routes");
}
