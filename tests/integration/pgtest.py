# SPDX-License-Identifier: MIT
"""PostgreSQL for the Python integration suites.

make test (tests/run_all.sh) starts one private PostgreSQL 15 through
tests/pg/cluster.sh and exports its URL as GREENTRACK_TEST_PG (and
GREENTRACK_TEST_PG_REQUIRED=1). Suites use:

    from pgtest import pg_url, fresh_database

    base = pg_url()                 # the cluster's URL; starts a private one
                                    # when run alone, fails (never skips)
                                    # under make test when it is missing
    url = fresh_database("suite_x") # an empty database of that name

A cluster started here is stopped and removed when the interpreter exits.
"""

import atexit
import os
import re
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CLUSTER = os.path.join(ROOT, "tests", "pg", "cluster.sh")
PSQL = os.path.join(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"),
                    "psql")

_own = None  # (dir, url) of a cluster started by this process


class PostgresMissing(AssertionError):
    """No PostgreSQL where one is required: a failure, not a skip."""


def _stop_own():
    global _own
    if _own:
        subprocess.run(["sh", CLUSTER, "stop", _own[0]], check=False)
        _own = None


def pg_url():
    """The test cluster's URL (database greentrack)."""
    global _own
    url = os.environ.get("GREENTRACK_TEST_PG", "")
    if url:
        return url
    if os.environ.get("GREENTRACK_TEST_PG_REQUIRED") == "1":
        raise PostgresMissing(
            "GREENTRACK_TEST_PG is not set (make test starts PostgreSQL)")
    if _own is None:
        out = subprocess.run(["sh", CLUSTER, "start"], capture_output=True,
                             text=True)
        if out.returncode != 0:
            raise PostgresMissing("cannot start PostgreSQL: " +
                                  out.stderr.strip())
        lines = out.stdout.split()
        _own = (lines[0], lines[1])
        atexit.register(_stop_own)
    return _own[1]


def url_for(name):
    """The cluster's URL with database 'name'."""
    return pg_url().rsplit("/", 1)[0] + "/" + name


def fresh_database(name):
    """Drops and creates database 'name' (letters, digits, _) with this
    process's id appended, so suites running side by side (run_all.sh runs
    several at once, a suite's SQLite and PostgreSQL passes included) never
    share one; its URL."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise ValueError("database name: " + name)
    name = "%s_p%d" % (name, os.getpid())
    admin = pg_url()
    for sql in ("DROP DATABASE IF EXISTS %s WITH (FORCE)" % name,
                "CREATE DATABASE %s" % name):
        subprocess.run([PSQL, "-q", "-v", "ON_ERROR_STOP=1", "-d", admin,
                        "-c", sql], check=True, capture_output=True)
    return url_for(name)


def psql(url, sql):
    """Runs 'sql' on 'url'; returns psql's unaligned, tuples-only output."""
    out = subprocess.run([PSQL, "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                          "-d", url, "-c", sql], check=True,
                         capture_output=True, text=True)
    return out.stdout
