# SPDX-License-Identifier: MIT
"""The test PostgreSQL (tests/pg/cluster.sh, tests/integration/pgtest.py):
make test's cluster answers, is PostgreSQL 15 on 127.0.0.1 with trust
authentication and UTF-8, and fresh_database gives an empty database."""

import unittest

import pgtest


class PgClusterTest(unittest.TestCase):
    def test_cluster_answers(self):
        url = pgtest.pg_url()
        self.assertTrue(url.startswith("postgresql://postgres@127.0.0.1:"))
        self.assertEqual(pgtest.psql(url, "SHOW server_version_num")[:2], "15")
        self.assertEqual(pgtest.psql(url, "SHOW server_encoding").strip(),
                         "UTF8")

    def test_fresh_database_is_empty(self):
        url = pgtest.fresh_database("pg_cluster_fresh")
        pgtest.psql(url, "CREATE TABLE t (x int)")
        url = pgtest.fresh_database("pg_cluster_fresh")
        self.assertEqual(pgtest.psql(
            url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).strip(), "0")
