# SPDX-License-Identifier: MIT
"""greentrack-server migrate against psql's \\copy (issue 16, item 6).

Seeds a SQLite database with about --rows rows, nearly all of them metric
points (--runs runs, four keys each, one point in 50 NaN, a few
infinities), plus their latest_metrics, params and tags; the server
creates the schema, the rows go in directly with Python's sqlite3. Then,
in the same run on the same PostgreSQL:

  migrate    greentrack-server migrate --from DB --to URL (fresh database):
             the copy (the "copied N rows in S s" line) and the whole
             command with its verification of every table
  baseline   psql -c "\\copy metrics_plain FROM FILE" of the same metric
             rows, already in COPY's text format in a file and in primary-key
             order (as migrate sends them), into a table
             with the metrics table's columns and primary key (no foreign
             key), in a fresh database

and prints the seconds and the ratios. Needs PostgreSQL 15: the URL in
GREENTRACK_TEST_PG, or a private cluster started by tests/pg/cluster.sh
(through tests/integration/pgtest.py).

    python3 tests/bench/bench_migrate.py build/release [--rows 1000000]
        [--runs 200] [--batch-rows 50000] [--smoke]
"""
import math
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
sys.path.insert(0, HERE)

import benchlib  # noqa: E402
from pgtest import PSQL, fresh_database  # noqa: E402

KEYS = ("loss", "accuracy", "val/loss", "lr")


def seed(db, rows, runs):
    """Runs, params, tags, metrics and latest_metrics; the metric rows."""
    random.seed(16)
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("BEGIN")
    con.execute("INSERT INTO experiments (experiment_id, name, "
                "artifact_location, creation_time, last_update_time) VALUES "
                "(1, 'bench', 'file:///tmp/bench/1', 1, 1)")
    per_key = max(1, rows // (runs * len(KEYS)))
    metrics = []
    for r in range(1, runs + 1):
        con.execute("INSERT INTO runs (run_pk, run_id, experiment_id, "
                    "run_name, start_time, artifact_uri) VALUES "
                    "(?, ?, 1, ?, ?, ?)",
                    (r, "%032x" % r, "run %d" % r, 1700000000000 + r,
                     "file:///tmp/bench/1/%032x/artifacts" % r))
        con.executemany("INSERT INTO params (run_pk, key, value) VALUES "
                        "(?, ?, ?)",
                        [(r, "p%d" % k, str(random.random()))
                         for k in range(5)])
        con.executemany("INSERT INTO tags (run_pk, key, value) VALUES "
                        "(?, ?, ?)", [(r, "mlflow.runName", "run %d" % r)])
        for key in KEYS:
            last = None
            for step in range(per_key):
                v = random.gauss(0, 1)
                is_nan = 0
                if step % 50 == 7:
                    v, is_nan = 0.0, 1
                elif step % 997 == 3:
                    v = math.inf if step % 2 else -math.inf
                row = (r, key, 1700000000000 + step * 1000, step, v, is_nan)
                metrics.append(row)
                last = row
            con.execute("INSERT INTO latest_metrics (run_pk, key, value, "
                        "timestamp, step, is_nan) VALUES (?, ?, ?, ?, ?, ?)",
                        (r, key, last[4], last[2], last[3], last[5]))
    con.executemany("INSERT INTO metrics (run_pk, key, timestamp, step, "
                    "value, is_nan) VALUES (?, ?, ?, ?, ?, ?)", metrics)
    con.commit()
    con.close()
    return metrics


def copy_text(v):
    if isinstance(v, float):
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        return repr(v)
    return str(v)


def main():
    a = benchlib.parse_args({"rows": 1000000, "runs": 200,
                             "batch-rows": 50000}, 1,
                            {"rows": 20000, "runs": 10})
    server, tmp, db = benchlib.new_db(a.build, "gt-bench-migrate-", "src.db")
    try:
        t0 = time.monotonic()
        metrics = seed(db, a.rows, a.runs)
        print("seeded %d metric rows (%d runs) in %.1f s"
              % (len(metrics), a.runs, time.monotonic() - t0))
        # the baseline's input: the same rows in COPY's text format, in
        # primary-key order as migrate sends them (the index then grows at
        # its right edge in both)
        metrics.sort()
        tsv = os.path.join(tmp, "metrics.tsv")
        with open(tsv, "w") as f:
            for row in metrics:
                f.write("\t".join(copy_text(v) for v in row) + "\n")
        del metrics

        url = fresh_database("bench_migrate")
        t0 = time.monotonic()
        out = subprocess.run([server, "migrate", "--from", db, "--to", url,
                              "--batch-rows", str(a.batch_rows)],
                             capture_output=True, text=True)
        total_s = time.monotonic() - t0
        if out.returncode != 0:
            print(out.stdout + out.stderr)
            print("bench_migrate: migrate failed")
            return 1
        m = re.search(r"^copied (\d+) rows in ([\d.]+) s", out.stdout, re.M)
        copied, copy_s = int(m.group(1)), float(m.group(2))

        base = fresh_database("bench_migrate_psql")
        subprocess.run([PSQL, "-qX", "-v", "ON_ERROR_STOP=1", "-d", base,
                        "-c", "CREATE TABLE metrics_plain (run_pk BIGINT "
                        "NOT NULL, key TEXT COLLATE \"C\" NOT NULL, "
                        "timestamp BIGINT NOT NULL, step BIGINT NOT NULL, "
                        "value DOUBLE PRECISION NOT NULL, is_nan BIGINT NOT "
                        "NULL, PRIMARY KEY (run_pk, key, timestamp, step, "
                        "value, is_nan))"], check=True)
        t0 = time.monotonic()
        subprocess.run([PSQL, "-qX", "-v", "ON_ERROR_STOP=1", "-d", base,
                        "-c", "\\copy metrics_plain FROM '%s'" % tsv],
                       check=True)
        psql_s = time.monotonic() - t0
        n_psql = int(subprocess.run(
            [PSQL, "-qAtX", "-d", base, "-c",
             "SELECT count(*) FROM metrics_plain"],
            capture_output=True, text=True, check=True).stdout)

        print("migrate: %d rows copied in %.2f s (%.0f rows/s); whole "
              "command with verification %.2f s"
              % (copied, copy_s, copied / copy_s, total_s))
        print("psql \\copy: %d metric rows in %.2f s (%.0f rows/s)"
              % (n_psql, psql_s, n_psql / psql_s))
        print("RESULT migrate.copy_s %.2f - -" % copy_s)
        print("RESULT migrate.total_s %.2f - -" % total_s)
        print("RESULT migrate.psql_copy_s %.2f - -" % psql_s)
        print("RESULT migrate.copy_over_psql %.2f - -"
              % ((copy_s / copied) / (psql_s / n_psql)))
        print("RESULT migrate.total_over_psql %.2f - -"
              % ((total_s / copied) / (psql_s / n_psql)))
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
