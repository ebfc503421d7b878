/* SPDX-License-Identifier: MIT
 *
 * pg_unit: the PostgreSQL of the unit tests that need one (test_db,
 * test_domain_sql): make test's cluster (GREENTRACK_TEST_PG), or a private
 * one started with tests/pg/cluster.sh when the test runs alone, and fresh
 * databases on it. Header-only: each test is one program.
 */
#ifndef TESTS_UNIT_PG_UNIT_H
#define TESTS_UNIT_PG_UNIT_H

#include "store/db.h"
#include "test.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The cluster's URL: GREENTRACK_TEST_PG, else a private cluster whose
 * folder is written to 'own_dir' (stop it with pg_unit_stop) and URL to
 * 'own_url'. NULL when none is available (a failed CHECK says why; with
 * GREENTRACK_TEST_PG_REQUIRED=1 a missing GREENTRACK_TEST_PG is one). */
static const char *pg_unit_url(char *own_dir, size_t dir_size, char *own_url,
                               size_t url_size)
{
    *own_dir = *own_url = '\0';
    const char *pg = getenv("GREENTRACK_TEST_PG");
    if (pg && *pg)
        return pg;
    const char *required = getenv("GREENTRACK_TEST_PG_REQUIRED");
    if (required && strcmp(required, "1") == 0) {
        CHECK(!"GREENTRACK_TEST_PG is set (make test starts PostgreSQL)");
        return NULL;
    }
    FILE *p = popen("sh tests/pg/cluster.sh start", "r");
    if (p) {
        if (fgets(own_dir, (int)dir_size, p))
            own_dir[strcspn(own_dir, "\n")] = '\0';
        if (fgets(own_url, (int)url_size, p))
            own_url[strcspn(own_url, "\n")] = '\0';
        pclose(p);
    }
    if (strncmp(own_url, "postgresql://", 13) != 0) {
        CHECK(!"started a private PostgreSQL (tests/pg/cluster.sh)");
        return NULL;
    }
    return own_url;
}

/* Stops the private cluster of pg_unit_url, if it started one. */
static void pg_unit_stop(const char *own_dir)
{
    if (!*own_dir)
        return;
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "sh tests/pg/cluster.sh stop '%s'", own_dir);
    CHECK(system(cmd) == 0);
}

/* Drops and creates database 'name' (letters, digits, _) on the cluster
 * of 'base'; its URL in 'url'. */
static bool pg_unit_fresh_db(const char *base, const char *name, char *url,
                             size_t size)
{
    struct errbuf eb;
    struct db *admin = db_open(base, NULL, &eb);
    if (!admin) {
        fprintf(stderr, "postgresql: %s\n", eb.msg);
        return false;
    }
    char sql[128];
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", name);
    bool ok = db_exec(admin, sql) == DB_OK;
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
    ok = ok && db_exec(admin, sql) == DB_OK;
    db_close(admin);
    const char *slash = strrchr(base, '/');
    int keep = slash ? (int)(slash - base) : (int)strlen(base);
    snprintf(url, size, "%.*s/%s", keep, base, name);
    return ok;
}

#endif
