#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""PostgreSQL benchmark (issue 16): greentrack on PostgreSQL against raw
libpq baselines, two servers against one, and reads at 100,000 runs
against SQLite. Every figure is a ratio to a baseline measured in the same
run; trials alternate (baseline, greentrack, baseline, ...) and each side's
median of --trials is used.

- ingest.batch: runs/log-batch of 1000 points at 4 connections through one
  server, against bench_pg_raw --mode batch (4 connections, one multi-row
  INSERT per 1000 rows plus COMMIT); target >= 0.7.
- ingest.single: runs/log-metric at 16 connections, against bench_pg_raw
  --mode single (16 connections, autocommit single-row INSERTs); target
  >= 3.
- two servers against one on the same database: log-batch (4 connections)
  and runs/search (4 connections), the clients split across both servers.
- runs/search p50 (metrics.acc > 0.5, metrics.acc DESC, 100 results) and
  leaderboard p50 (a log-metric to a random run before each request, so
  each must re-rank) at --runs runs, PostgreSQL against SQLite, both
  seeded directly with SQL (COPY / executemany) with the same rows.
- statements per request (pg_stat_statements, when the cluster loads it):
  how many round trips the server makes per log-batch and log-metric.

Each ingest trial runs on a fresh database copied from a migrated template.
The cluster is tests/pg/cluster.sh's, started here with fsync=on and
pg_stat_statements (--fsync off keeps the test settings), or the one at
GREENTRACK_TEST_PG (its settings are printed, whatever they are).
Exit 0; 1 when a request failed, a check did not hold or a server did not
stop cleanly; never on a figure. Skipped (exit 0) without PostgreSQL.
Usage: bench_pg.py BUILD_DIR [--runs N] [--seconds S] [--trials K]
       [--iters K] [--fsync on|off] [--smoke]   (BENCH_SMOKE=1 = --smoke)"""
import argparse
import csv
import http.client
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

from benchlib import connect, p50, start, stop

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
PSQL = os.path.join(PG_BIN, "psql")
CLUSTER = os.path.join(ROOT, "tests", "pg", "cluster.sh")
TPL = "gtbench_tpl"
SEARCH = {"experiment_ids": ["1"], "filter": "metrics.acc > 0.5",
          "order_by": ["metrics.acc DESC"], "max_results": 100}
LB_PATH = ("/api/2.0/greentrack/leaderboard?experiment_id=1&metric=acc"
           "&max_results=100")
SERVER_ARGS = ("--allowed-hosts", "127.0.0.1,localhost")


class Failed(Exception):
    """A request, a check or a server stop failed."""


def psql(url, sql):
    out = subprocess.run([PSQL, "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                          "-d", url, "-c", sql], capture_output=True,
                         text=True)
    if out.returncode != 0:
        raise Failed("psql: %s: %s" % (sql[:80], out.stderr.strip()))
    return out.stdout.strip()


def url_for(base, name):
    return base.rsplit("/", 1)[0] + "/" + name


def fresh(base, name, template=None):
    """Drops and creates database 'name' (from 'template'); its URL."""
    psql(base, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
    psql(base, "CREATE DATABASE %s%s" % (
        name, " TEMPLATE " + template if template else ""))
    return url_for(base, name)


def results(cmd):
    """Runs a bench program; its RESULT lines as {name: value}. Its output
    is shown; a non-zero exit raises Failed."""
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    figures = {}
    for line in out.stdout.splitlines():
        f = line.split()
        if f and f[0] == "RESULT":
            figures[f[1]] = float(f[2])
        else:
            print("   ", line)
    if out.returncode != 0:
        raise Failed("%s exited %d: %s" % (os.path.basename(cmd[0]),
                                           out.returncode,
                                           out.stderr.strip()[-600:]))
    return figures


class Servers:
    """greentrack servers started by this bench, stopped with a check."""

    def __init__(self, build, tmp):
        self.server = os.path.join(build, "bin", "greentrack-server")
        self.tmp = tmp
        self.procs = []

    def start(self, db):
        p, port = start(self.server, db, self.tmp, SERVER_ARGS)
        self.procs.append(p)
        return p, port

    def stop_all(self):
        bad = []
        for p in self.procs:
            rc = stop(p)
            if rc != 0:
                bad.append(rc)
        self.procs = []
        if bad:
            raise Failed("a server exited %s after SIGTERM" % bad)


def start_cluster(a):
    """(cluster dir or None, base URL). None, None without PostgreSQL."""
    url = os.environ.get("GREENTRACK_TEST_PG", "")
    if url:
        return None, url
    if not os.path.exists(os.path.join(PG_BIN, "initdb")):
        return None, None
    env = dict(os.environ)
    env["PG_SERVER_OPTS"] = ("-c fsync=%s -c shared_preload_libraries="
                             "pg_stat_statements" % a.fsync)
    out = subprocess.run(["sh", CLUSTER, "start"], capture_output=True,
                         text=True, env=env)
    if out.returncode != 0:
        raise Failed("cluster.sh start: " + out.stderr.strip())
    d, url = out.stdout.split()
    return d, url


# ---- ingest: raw baselines against the server ----------------------------

def ingest(a, srv, base):
    bench = os.path.join(a.build, "bench")
    secs = "%g" % a.seconds
    raw_b, gt_b, raw_s, gt_s = [], [], [], []
    for t in range(a.trials):
        url = fresh(base, "gtbench_run", TPL)
        raw_b.append(results([os.path.join(bench, "bench_pg_raw"), "--url",
                              url, "--mode", "batch", "--seconds", secs])
                     ["pg.raw_batch_rows_per_s"])
        url = fresh(base, "gtbench_run", TPL)
        p, port = srv.start(url)
        gt_b.append(results([os.path.join(bench, "bench_ingest"), "--mode",
                             "batch", "--port", str(port), "--pid",
                             str(p.pid), "--seconds", secs])
                    ["ingest.batch_points_per_s"])
        srv.stop_all()
        url = fresh(base, "gtbench_run", TPL)
        raw_s.append(results([os.path.join(bench, "bench_pg_raw"), "--url",
                              url, "--mode", "single", "--seconds", secs])
                     ["pg.raw_single_rows_per_s"])
        url = fresh(base, "gtbench_run", TPL)
        p, port = srv.start(url)
        gt_s.append(results([os.path.join(bench, "bench_ingest"), "--mode",
                             "single", "--port", str(port), "--pid",
                             str(p.pid), "--seconds", secs])
                    ["ingest.single_req_per_s"])
        srv.stop_all()
        print("trial %d: raw batch %.0f rows/s, log-batch %.0f points/s;"
              " raw single %.0f rows/s, log-metric %.0f req/s"
              % (t + 1, raw_b[-1], gt_b[-1], raw_s[-1], gt_s[-1]))
    # PostgreSQL groups the WAL flushes of concurrent commits itself: the
    # single baseline at one connection shows how much
    url = fresh(base, "gtbench_run", TPL)
    raw_1 = results([os.path.join(bench, "bench_pg_raw"), "--url", url,
                     "--mode", "single", "--single-conns", "1", "--seconds",
                     secs])["pg.raw_single_rows_per_s"]
    return raw_b, gt_b, raw_s, gt_s, raw_1


def two_vs_one_batch(a, srv, base):
    bench = os.path.join(a.build, "bench", "bench_ingest")
    one, two = [], []
    for t in range(a.trials):
        url = fresh(base, "gtbench_run", TPL)
        p, port = srv.start(url)
        one.append(results([bench, "--mode", "batch", "--port", str(port),
                            "--seconds", "%g" % a.seconds])
                   ["ingest.batch_points_per_s"])
        srv.stop_all()
        url = fresh(base, "gtbench_run", TPL)
        ports = [str(srv.start(url)[1]) for _ in range(2)]
        two.append(results([bench, "--mode", "batch", "--ports",
                            ",".join(ports), "--seconds", "%g" % a.seconds])
                   ["ingest.batch_points_per_s"])
        srv.stop_all()
        print("trial %d: log-batch through 1 server %.0f points/s, through 2"
              " %.0f points/s" % (t + 1, one[-1], two[-1]))
    return one, two


# ---- statements per request (pg_stat_statements) -------------------------

def has_pgss(base):
    return "pg_stat_statements" in psql(base, "SHOW shared_preload_libraries")


def top_statements(url, requests):
    """(statements per request, the 8 most called as (calls per request,
    query)) in database 'url' since pg_stat_statements_reset()."""
    dbid = psql(url, "SELECT oid FROM pg_database WHERE datname ="
                " current_database()")
    rows = psql(url, "SELECT calls, regexp_replace(query, '\\s+', ' ',"
                " 'g') FROM pg_stat_statements WHERE dbid = %s AND"
                " query NOT LIKE '%%pg_stat_statements%%' ORDER BY calls"
                " DESC" % dbid)
    calls = []
    for line in rows.splitlines():
        n, q = line.split("|", 1)
        calls.append((int(n) / max(requests, 1), q[:110]))
    return sum(c for c, _ in calls), calls[:8]


def statements_per_request(a, srv, base):
    """{mode: (statements per request, [(calls per request, query)])} from
    pg_stat_statements over a short run of each load; {} when the cluster
    does not load it."""
    if not has_pgss(base):
        return {}
    bench = os.path.join(a.build, "bench", "bench_ingest")
    out = {}
    for mode, per in (("batch", 1000), ("single", 1)):
        url = fresh(base, "gtbench_run", TPL)
        p, port = srv.start(url)
        psql(url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        # the runs/create of each connection happen before the load: they
        # are a handful against thousands of requests
        psql(url, "SELECT pg_stat_statements_reset()")
        results([bench, "--mode", mode, "--port", str(port), "--seconds",
                 "%g" % min(a.seconds, 2), "--no-verify"])
        srv.stop_all()
        requests = int(psql(url, "SELECT count(*) FROM metrics")) / per
        out[mode] = top_statements(url, requests)
    return out


# ---- 100,000 runs: PostgreSQL against SQLite -----------------------------

def seed_rows(n):
    """The rows of an experiment of n runs, per table (deterministic)."""
    rnd = random.Random(7)
    t0 = 1700000000000
    countries = ("FRA", "DEU", "POL", "SWE", "USA")
    rows = {"runs": [], "latest_metrics": [], "metrics": [], "params": [],
            "tags": [], "energy_samples": [], "run_energy": []}
    for i in range(1, n + 1):
        acc, kwh = rnd.random(), rnd.random() * 5
        ts = t0 + i
        rows["runs"].append((i, "%032x" % i, 1, "run-%d" % i, "bench",
                             "FINISHED", ts, ts + 1000, "x", "active"))
        for key, v in (("acc", acc), ("loss", 1.0 - acc * 0.9),
                       ("f1", acc * 0.95), ("greentrack.energy_kwh", kwh),
                       ("greentrack.co2_kg", kwh * 0.3)):
            rows["latest_metrics"].append((i, key, v, ts, 0, 0, 1))
            rows["metrics"].append((i, key, ts, 0, v, 0))
        for k in range(5):
            rows["params"].append((i, "p%d" % k, "v%d-%d" % (k, i % 97)))
        rows["tags"] += [(i, "team", "t%d" % (i % 7)),
                         (i, "model", "m%d" % (i % 13)),
                         (i, "greentrack.country", countries[i % 5])]
        j = kwh * 3.6e6
        rows["energy_samples"].append((i, ts, ts + 1000, j, 0, 0, 0, "rapl",
                                       "none", "estimate", "process", None,
                                       None, 0))
        rows["run_energy"].append((i, j, 0, 0, 0, j, 0, 0, ts, ts + 1000, 1,
                                   0))
    return rows


COLUMNS = {
    "runs": "run_pk, run_id, experiment_id, run_name, user_id, status,"
            " start_time, end_time, artifact_uri, lifecycle_stage",
    "latest_metrics": "run_pk, key, value, timestamp, step, is_nan,"
                      " experiment_id",
    "metrics": "run_pk, key, timestamp, step, value, is_nan",
    "params": "run_pk, key, value",
    "tags": "run_pk, key, value",
    "energy_samples": "run_pk, start_time, end_time, cpu_j, gpu_j, ram_j,"
                      " other_j, cpu_method, gpu_method, ram_method, scope,"
                      " intensity_g_per_kwh, intensity_source, estimated",
    "run_energy": "run_pk, cpu_j, gpu_j, ram_j, other_j, plain_j,"
                  " measured_j, measured_gj, first_start, last_end, samples,"
                  " estimated",
}
EXPERIMENT = ("INSERT INTO experiments (experiment_id, name,"
              " artifact_location, creation_time, last_update_time)"
              " VALUES (1, 'bench', '/x', 0, 0)")


def seed_pg(url, rows, tmp):
    psql(url, EXPERIMENT)
    for table, cols in COLUMNS.items():
        path = os.path.join(tmp, table + ".csv")
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            for r in rows[table]:
                w.writerow(r)  # None is written empty: NULL to COPY
        psql(url, "\\copy %s (%s) FROM '%s' WITH (FORMAT csv)"
             % (table, cols, path))
        os.unlink(path)
    psql(url, "SELECT setval(pg_get_serial_sequence('runs', 'run_pk'),"
         " (SELECT max(run_pk) FROM runs)); SELECT setval("
         "pg_get_serial_sequence('experiments', 'experiment_id'), 1)")
    psql(url, "ANALYZE")


def seed_sqlite(db, rows):
    con = sqlite3.connect(db)
    con.execute(EXPERIMENT)
    for table, cols in COLUMNS.items():
        n = cols.count(",") + 1
        con.executemany("INSERT INTO %s (%s) VALUES (%s)"
                        % (table, cols, ",".join("?" * n)), rows[table])
    con.commit()
    con.execute("ANALYZE")
    con.close()


def timed(c, method, path, body=None):
    t = time.perf_counter()
    c.request(method, path, body, {"Content-Type": "application/json"}
              if body else {})
    r = c.getresponse()
    data = r.read()
    dt = time.perf_counter() - t
    if r.status != 200:
        raise Failed("%s %s on port %d: %d %s" % (
            method, path, c.port, r.status, data[:300]))
    return dt, data


def search_block(c, iters):
    """The p50 of 'iters' runs/search after one warm-up; the run ids of
    the last answer."""
    body = json.dumps(SEARCH)
    timed(c, "POST", "/api/2.0/mlflow/runs/search", body)
    ts, ids = [], None
    for _ in range(iters):
        dt, data = timed(c, "POST", "/api/2.0/mlflow/runs/search", body)
        ts.append(dt)
        ids = [r["info"]["run_id"] for r in json.loads(data)["runs"]]
    return p50(ts), ids


def leaderboard_block(c, iters, runs, rnd, step):
    """The p50 of 'iters' leaderboard requests, each after a log-metric
    to a random run."""
    ts = []
    for i in range(iters):
        # a write to one run first: the board must be re-ranked
        timed(c, "POST", "/api/2.0/mlflow/runs/log-metric", json.dumps({
            "run_id": "%032x" % rnd.randint(1, runs), "key": "acc",
            "value": rnd.random(), "timestamp": 1800000000000 + step + i,
            "step": 0}))
        dt, data = timed(c, "GET", LB_PATH)
        ts.append(dt)
        if json.loads(data).get("total") != runs:
            raise Failed("leaderboard: total is not %d" % runs)
    return p50(ts)


def reads(a, srv, base, tmp, fails):
    t = time.perf_counter()
    rows = seed_rows(a.runs)
    pg_url = fresh(base, "gtbench_read", TPL)
    seed_pg(pg_url, rows, tmp)
    t_pg = time.perf_counter()
    sq = os.path.join(tmp, "read.db")
    p, _ = srv.start(sq)  # creates the schema
    srv.stop_all()
    seed_sqlite(sq, rows)
    del rows
    print("seeded %d runs directly: generation + PostgreSQL COPY %.1f s,"
          " SQLite %.1f s" % (a.runs, t_pg - t, time.perf_counter() - t_pg))
    # runs/search throughput first: a server that has served a leaderboard
    # warms that board again after its next start (lbwarm.h), which would
    # load PostgreSQL during the trials. One server against two on the
    # same database, after each server's first search.
    bench = os.path.join(a.build, "bench", "bench_ingest")
    one, two = [], []
    body = json.dumps(SEARCH)
    for t in range(a.trials):
        _, port = srv.start(pg_url)
        search_block(connect(port), 1)  # the server's first search
        one.append(results([bench, "--mode", "search", "--port", str(port),
                            "--search-body", body, "--seconds",
                            "%g" % a.seconds])["search.req_per_s"])
        srv.stop_all()
        ports = [str(srv.start(pg_url)[1]) for _ in range(2)]
        for port in ports:
            search_block(connect(int(port)), 1)
        two.append(results([bench, "--mode", "search", "--ports",
                            ",".join(ports), "--search-body", body,
                            "--seconds", "%g" % a.seconds])
                   ["search.req_per_s"])
        srv.stop_all()
        print("trial %d: runs/search through 1 server %.0f req/s, through 2"
              " %.0f req/s" % (t + 1, one[-1], two[-1]))
    out = {"search_one": one, "search_two": two}
    _, pg_port = srv.start(pg_url)
    _, sq_port = srv.start(sq)
    pgc = http.client.HTTPConnection("127.0.0.1", pg_port, timeout=120)
    sqc = http.client.HTTPConnection("127.0.0.1", sq_port, timeout=120)
    out.update({"search_pg": [], "search_sqlite": [], "lb_pg": [],
                "lb_sqlite": []})
    for _ in range(a.trials):
        s_pg, ids_pg = search_block(pgc, a.iters)
        s_sq, ids_sq = search_block(sqc, a.iters)
        out["search_pg"].append(s_pg)
        out["search_sqlite"].append(s_sq)
        if ids_pg != ids_sq or len(ids_pg) != min(100, a.runs):
            raise Failed("runs/search: PostgreSQL and SQLite returned"
                         " different runs")
    print("runs/search p50 (ms) per block: PostgreSQL %s, SQLite %s" % (
        ["%.2f" % (x * 1e3) for x in out["search_pg"]],
        ["%.2f" % (x * 1e3) for x in out["search_sqlite"]]))
    rnd = random.Random(11)
    try:
        timed(pgc, "GET", LB_PATH)  # the first board
        timed(sqc, "GET", LB_PATH)
        for t in range(a.trials):
            out["lb_pg"].append(leaderboard_block(pgc, a.iters, a.runs, rnd,
                                                  t * 1000))
            out["lb_sqlite"].append(leaderboard_block(
                sqc, a.iters, a.runs, rnd, t * 1000))
        print("leaderboard p50 (ms) per block: PostgreSQL %s, SQLite %s" % (
            ["%.2f" % (x * 1e3) for x in out["lb_pg"]],
            ["%.2f" % (x * 1e3) for x in out["lb_sqlite"]]))
    except Failed as e:
        print("leaderboard: FAILED: %s" % e)
        fails.append("leaderboard")
        out["lb_pg"] = out["lb_sqlite"] = []
    if has_pgss(base):
        # statements per runs/search and per leaderboard request (with the
        # log-metric before it, counted apart)
        psql(pg_url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        psql(pg_url, "SELECT pg_stat_statements_reset()")
        search_block(pgc, a.iters)
        out["stmts_search"] = top_statements(pg_url, a.iters + 1)
        if out["lb_pg"]:
            psql(pg_url, "SELECT pg_stat_statements_reset()")
            leaderboard_block(pgc, a.iters, a.runs, rnd, 99000)
            out["stmts_leaderboard"] = top_statements(pg_url, a.iters)
    pgc.close()
    sqc.close()
    srv.stop_all()
    return out


# ---- report ---------------------------------------------------------------

def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def report(name, value, target=None):
    """RESULT pg.<name> <value> <target> <meets>; target (op, bound)."""
    if target is None:
        judged = "- -"
    else:
        op, bound = target
        ok = value >= bound if op == ">=" else value <= bound
        judged = "%s%g %s" % (op, bound, "yes" if ok else "NO")
    print("RESULT pg.%s %.*f %s" % (name, 0 if value >= 1000 else 3, value,
                                    judged))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--runs", type=int, default=100000)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--fsync", choices=("on", "off"), default="on")
    ap.add_argument("--smoke", action="store_true")
    a = ap.parse_args()
    a.build = os.path.abspath(a.build)
    if a.smoke or os.environ.get("BENCH_SMOKE") == "1":
        a.runs, a.seconds, a.trials, a.iters = 2000, 0.3, 1, 3
    sys.stdout.reconfigure(line_buffering=True)
    cluster, base = start_cluster(a)
    if base is None:
        print("bench_pg: skipped (no PostgreSQL: %s/initdb)" % PG_BIN)
        return 0
    tmp = tempfile.mkdtemp(prefix="gt-pgbench-")
    srv = Servers(a.build, tmp)
    fails = []
    try:
        settings = {k: psql(base, "SHOW " + k) for k in (
            "server_version", "fsync", "synchronous_commit",
            "full_page_writes", "wal_level", "commit_delay",
            "shared_buffers", "max_connections")}
        print("PostgreSQL: " + ", ".join("%s=%s" % kv
                                          for kv in settings.items()))
        fresh(base, TPL)
        srv.start(url_for(base, TPL))  # migrates the template
        srv.stop_all()
        raw_b, gt_b, raw_s, gt_s, raw_1 = ingest(a, srv, base)
        b1, b2 = two_vs_one_batch(a, srv, base)
        stmts = statements_per_request(a, srv, base)
        rd = reads(a, srv, base, tmp, fails)
    except Failed as e:
        print("bench_pg: FAILED: %s" % e)
        srv.stop_all()
        return 1
    finally:
        for p in srv.procs:
            p.kill()
        shutil.rmtree(tmp, ignore_errors=True)
        if cluster:
            subprocess.run(["sh", CLUSTER, "stop", cluster], check=False)
    for k in ("stmts_search", "stmts_leaderboard"):
        if k in rd:
            stmts[k[6:] + " (with a log-metric each)" * (k[6] == "l")] = rd[k]
    for mode, (total, top) in stmts.items():
        print("%s: %.1f statements per request (pg_stat_statements):"
              % (mode, total))
        for n, q in top:
            print("    %8.2f  %s" % (n, q))
    print("medians of %d trials of %g s; each ingest trial on a fresh"
          " database" % (a.trials, a.seconds))
    report("raw_batch_rows_per_s", median(raw_b))
    report("batch_points_per_s", median(gt_b))
    report("batch_vs_raw", median(gt_b) / median(raw_b), (">=", 0.7))
    report("raw_single_rows_per_s", median(raw_s))
    report("single_req_per_s", median(gt_s))
    report("single_vs_raw", median(gt_s) / median(raw_s), (">=", 3))
    report("raw_single_1conn_rows_per_s", raw_1)
    for mode, (total, _) in stmts.items():
        report("%s_stmts_per_request" % mode.split()[0], total)
    report("batch_2_servers_vs_1", median(b2) / median(b1))
    report("search_2_servers_vs_1",
           median(rd["search_two"]) / median(rd["search_one"]))
    report("search_p50_ms", median(rd["search_pg"]) * 1e3)
    report("search_sqlite_p50_ms", median(rd["search_sqlite"]) * 1e3)
    report("search_vs_sqlite",
           median(rd["search_pg"]) / median(rd["search_sqlite"]))
    if rd["lb_pg"]:
        report("leaderboard_p50_ms", median(rd["lb_pg"]) * 1e3)
        report("leaderboard_sqlite_p50_ms", median(rd["lb_sqlite"]) * 1e3)
        report("leaderboard_vs_sqlite",
               median(rd["lb_pg"]) / median(rd["lb_sqlite"]))
    if fails:
        print("bench_pg: FAILED (%s)" % ", ".join(fails))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
