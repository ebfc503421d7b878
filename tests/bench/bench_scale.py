#!/usr/bin/env python3
"""Scale benchmark (issue 12, item 2): how the cost of each operation grows
with the database, in stages of 10^4, 10^5 and 10^6 runs (100 experiments)
holding about 100 metric points per run.

Data (cumulative from stage to stage):
- 100 experiments, created through the API. The first ("scale-000") holds
  runs 1..10,000: the 10,000-run experiment whose leaderboard the UI loads.
  Of the runs after those, every tenth goes to the second ("scale-001",
  10% of the data: 0 / 9,000 / 99,000 runs) and the rest are spread over
  the other 98.
- every run: FINISHED, 5 params, 3 tags, 5 metric keys of 10 steps each
  (so 5 latest metrics), 2 energy samples (run_energy and the derived
  greentrack.energy_kwh / greentrack.co2_kg latest metrics);
- a few long curves: the "loss" key of the first runs of a stage gets
  min(10^6, points) steps, one per 10^6 points of the stage's target
  (1 at 10^6 points, 5 at 10^7, 50 at 10^8).

Seeding: the experiments go through the API; the bulk (runs, params, tags,
metrics, latest_metrics, energy) is written into the server's own SQLite
file with the server stopped, by SQL run inside SQLite (recursive CTEs), so
10^8 points take minutes, not hours. latest_metrics is derived from the
metrics table with the server's rule (the point of highest step per key);
the energy rows and derived metrics are copied from runs the server itself
wrote in a throwaway database (log-energy through the API; "calibration").
Every measured operation goes through the real server.

At each stage: the server's start time; the first leaderboard after each
of --restarts restarts and the warm one; runs/search (filter plus order_by,
100 results, over all experiments and over one); experiments/search;
get-history of a long curve (all pages) with the server's RSS during it;
the UI's leaderboard of the 10,000-run experiment in headless Chromium;
the database size and the server's RSS; and the log-batch ingest rate
(bench_ingest, 4 connections, 1000 points a request) at that size against
a fresh empty database measured right after it. Prints a table and the
growth exponent of every figure (log-log slope between stages).

--existing DIR measures, at its size and without seeding, the directory
an earlier `--seed-only --keep` run left (its scale.db is migrated by the
server first, if it is older): a 10^6-run stage is then measured in
minutes, not after the quarter hour of seeding.

Usage: bench_scale.py BUILD_DIR [--stages 10000,100000,1000000]
       [--keep] [--tmpdir DIR] [--no-ui] [--ingest-seconds S] [--iters K]
       bench_scale.py BUILD_DIR --existing DIR [--no-ui] ...
Not in CI except as `--stages 1000` from bench-smoke (figures unjudged)."""
import argparse
import http.client
import json
import math
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

from benchlib import start, stop

T0 = 1700000000000  # the first run's start_time (ms)
RUN_SPACING_MS = 60000
SHORT_STEPS = 10
KEYS = ("acc", "loss", "lr", "val_acc", "val_loss")  # sorted: PK order
LONG_MAX = 1000000
N_EXPERIMENTS = 100
BOARD_RUNS = 10000  # runs of the first experiment
N_TEMPLATES = 8  # energy templates (run_pk % 8)

# a run's "accuracy" in [0, 1) from its run_pk, as SQL
HASH01 = "((({i}) * 2654435761) % 4294967296) / 4294967296.0"


def now():
    return time.perf_counter()


def pct(xs, q):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


class Server:
    """A greentrack-server on 'db' with its /proc sampler."""

    def __init__(self, binary, db, tmp):
        t = now()
        # bench_ingest sends "Host: 127.0.0.1" (no port)
        self.p, self.port = start(binary, db, tmp,
                                  ("--allowed-hosts", "127.0.0.1,localhost"))
        self.start_s = now() - t
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                               timeout=600)

    def status(self):
        """(VmRSS, VmHWM) in MB."""
        with open("/proc/%d/status" % self.p.pid) as f:
            text = f.read()
        get = lambda k: int(re.search(k + r":\s+(\d+)", text).group(1)) / 1024
        return get("VmRSS"), get("VmHWM")

    def call(self, method, path, body=None):
        """(seconds, status, raw body)."""
        data = json.dumps(body) if body is not None else None
        hdr = {"Content-Type": "application/json"} if data else {}
        t = now()
        self.conn.request(method, path, data, hdr)
        r = self.conn.getresponse()
        raw = r.read()
        return now() - t, r.status, raw

    def ok(self, method, path, body=None):
        dt, status, raw = self.call(method, path, body)
        if status != 200:
            raise RuntimeError("%s %s: %d %s" % (method, path, status,
                                                 raw[:300]))
        return dt, raw

    def stop(self):
        self.conn.close()
        rc = stop(self.p)
        if rc != 0:
            raise RuntimeError("server exited %d" % rc)


# ---------------------------------------------------------------- seeding
def calibrate(binary, tmp):
    """Energy templates written by the server itself: for each template t,
    two samples logged through runs/log-energy to a run of a throwaway
    database; returns (samples, run_energy, derived latest metrics) with
    times relative to the run's start. Checks that the derived values do
    not depend on the start time."""
    d = tempfile.mkdtemp(prefix="cal-", dir=tmp)
    db = os.path.join(d, "cal.db")
    s = Server(binary, db, d)
    starts = [T0 + t * RUN_SPACING_MS for t in range(N_TEMPLATES)]
    starts.append(T0 + 987654321)  # template 0 again, another time
    for n, st in enumerate(starts):
        t = n % N_TEMPLATES
        _, raw = s.ok("POST", "/api/2.0/mlflow/runs/create",
                      {"experiment_id": "0", "start_time": st,
                       "run_name": "cal-%d" % n})
        rid = json.loads(raw)["run"]["info"]["run_id"]
        samples = [{"start_time": st + k * 300000,
                    "end_time": st + (k + 1) * 300000,
                    "cpu_energy_j": 4000.0 * (t + 1) + k * 10,
                    "gpu_energy_j": 15000.0 * (t + 1) if t % 2 else 0.0,
                    "ram_energy_j": 900.0 + t,
                    "cpu_method": "rapl" if t % 3 else "tdp",
                    "gpu_method": "nvml-energy"} for k in range(2)]
        s.ok("POST", "/api/2.0/greentrack/runs/log-energy",
             {"run_id": rid, "samples": samples})
    s.stop()
    con = sqlite3.connect(db)
    pks = [r[0] for r in con.execute(
        "SELECT run_pk FROM runs ORDER BY run_pk")]
    assert len(pks) == len(starts), pks
    samples, energy, derived = [], [], []
    for n, pk in enumerate(pks[:N_TEMPLATES]):
        st = starts[n]
        for row in con.execute("SELECT * FROM energy_samples WHERE run_pk=? "
                               "ORDER BY start_time", (pk,)):
            samples.append((n, row[1] - st, row[2] - st) + row[3:])
        row = con.execute("SELECT * FROM run_energy WHERE run_pk=?",
                          (pk,)).fetchone()
        energy.append((n,) + row[1:8] + (row[8] - st, row[9] - st)
                      + row[10:])
        for key, value, ts, step, nan in con.execute(
                "SELECT key, value, timestamp, step, is_nan FROM "
                "latest_metrics WHERE run_pk=? AND key LIKE 'greentrack.%'",
                (pk,)):
            derived.append((n, key, value, ts - st, step, nan))
    again = dict(con.execute("SELECT key, value FROM latest_metrics WHERE "
                             "run_pk=? AND key LIKE 'greentrack.%'",
                             (pks[-1],)).fetchall())
    first = {k: v for n, k, v, *_ in derived if n == 0}
    assert again == first and len(first) == 2, (again, first)
    con.close()
    shutil.rmtree(d)
    return samples, energy, derived


def create_experiments(server):
    ids = []
    for e in range(N_EXPERIMENTS):
        _, raw = server.ok("POST", "/api/2.0/mlflow/experiments/create",
                           {"name": "scale-%03d" % e})
        ids.append(int(json.loads(raw)["experiment_id"]))
    assert ids == list(range(ids[0], ids[0] + N_EXPERIMENTS)), ids
    return ids[0]


def seed(db, first_exp, lo, hi, long_runs, long_len, templates):
    """Runs lo..hi (run_pk) and all they hold, with the server stopped.
    'long_runs': run_pks among them whose "loss" has long_len points."""
    samples, energy, derived = templates
    con = sqlite3.connect(db, isolation_level=None)
    for p in ("journal_mode = OFF", "synchronous = OFF",
              "cache_size = -1000000", "temp_store = MEMORY"):
        con.execute("PRAGMA " + p)
    con.execute("CREATE TEMP TABLE t_samples (t, rs, re, cpu_j, gpu_j, ram_j,"
                " other_j, cm, gm, rm, scope, ig, isrc, est)")
    con.executemany("INSERT INTO t_samples VALUES (%s)" % ",".join("?" * 14),
                    samples)
    con.execute("CREATE TEMP TABLE t_energy (t, cpu_j, gpu_j, ram_j, other_j,"
                " plain_j, measured_j, measured_gj, rf, rl, n, est)")
    con.executemany("INSERT INTO t_energy VALUES (%s)" % ",".join("?" * 12),
                    energy)
    con.execute("CREATE TEMP TABLE t_derived (t, key, value, rts, step, nan)")
    con.executemany("INSERT INTO t_derived VALUES (?,?,?,?,?,?)", derived)
    con.execute("CREATE TEMP TABLE t_long (run_pk INTEGER PRIMARY KEY)")
    con.executemany("INSERT INTO t_long VALUES (?)", [(x,) for x in long_runs])
    board, big = first_exp, first_exp + 1
    h = HASH01.format(i="r.i")
    start_ms = "(%d + r.i * %d)" % (T0, RUN_SPACING_MS)
    keys = " UNION ALL ".join("SELECT '%s', %d" % (k, n)
                              for n, k in enumerate(KEYS))
    chunk = 50000
    for a in range(lo, hi + 1, chunk):
        b = min(hi, a + chunk - 1)
        rng = ("WITH RECURSIVE r(i) AS (SELECT %d UNION ALL SELECT i + 1 "
               "FROM r WHERE i < %d)" % (a, b))
        con.execute("BEGIN")
        con.execute(
            rng + " INSERT INTO runs (run_pk, run_id, experiment_id, run_name,"
            " user_id, status, start_time, end_time, artifact_uri,"
            " lifecycle_stage) SELECT r.i, id, e.experiment_id, 'run-' || r.i,"
            " 'user' || (r.i %% 20), 'FINISHED', %s, %s + 600000,"
            " e.artifact_location || CASE WHEN substr(e.artifact_location, -1)"
            " = '/' THEN '' ELSE '/' END || id || '/artifacts', 'active'"
            " FROM (SELECT i, printf('%%08x%%024x', (i * 2654435761) %%"
            " 4294967296, i) AS id FROM r) AS r JOIN experiments AS e ON"
            " e.experiment_id = CASE WHEN r.i <= %d THEN %d WHEN r.i %% 10 = 0"
            " THEN %d ELSE %d + r.i %% %d END"
            % (start_ms, start_ms, BOARD_RUNS, board, big, big + 1,
               N_EXPERIMENTS - 2))
        con.execute(
            rng + " INSERT INTO params SELECT r.i, p.k, CASE p.k"
            " WHEN 'batch_size' THEN (32 << (r.i % 4))"
            " WHEN 'lr' THEN printf('%.0e', 1e-4 * (1 + r.i % 9))"
            " WHEN 'model' THEN 'resnet' || (18 + 16 * (r.i % 3))"
            " WHEN 'optimizer' THEN CASE r.i % 2 WHEN 0 THEN 'adam'"
            " ELSE 'sgd' END ELSE r.i END FROM r CROSS JOIN (SELECT"
            " 'batch_size' AS k UNION ALL SELECT 'lr' UNION ALL SELECT"
            " 'model' UNION ALL SELECT 'optimizer' UNION ALL SELECT 'seed')"
            " AS p")
        con.execute(
            rng + " INSERT INTO tags SELECT r.i, t.k, CASE t.k"
            " WHEN 'mlflow.runName' THEN 'run-' || r.i"
            " WHEN 'mlflow.user' THEN 'user' || (r.i % 20)"
            " ELSE 'team' || (r.i % 7) END FROM r CROSS JOIN (SELECT"
            " 'mlflow.runName' AS k UNION ALL SELECT 'mlflow.user' UNION ALL"
            " SELECT 'team') AS t")
        # short curves (every key but a long run's "loss")
        con.execute(
            rng + ", s(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM s WHERE"
            " x < %d), k(key, kn) AS (%s)"
            " INSERT INTO metrics SELECT r.i, k.key, %s + s.x * 1000, s.x,"
            " CASE k.kn WHEN 0 THEN %s * (s.x + 1) / %d.0"
            " WHEN 1 THEN (1.0 - %s) * exp(-s.x / 4.0) + 0.01"
            " WHEN 2 THEN 0.001 * exp(-s.x / 10.0)"
            " WHEN 3 THEN 0.97 * %s * (s.x + 1) / %d.0"
            " ELSE 1.1 * (1.0 - %s) * exp(-s.x / 4.0) + 0.02 END, 0"
            " FROM r CROSS JOIN k CROSS JOIN s WHERE NOT (k.kn = 1 AND r.i IN"
            " (SELECT run_pk FROM t_long))"
            % (SHORT_STEPS - 1, keys, start_ms, h, SHORT_STEPS, h, h,
               SHORT_STEPS, h))
        con.execute(
            rng + " INSERT INTO energy_samples SELECT r.i, %s + rs, %s + re,"
            " cpu_j, gpu_j, ram_j, other_j, cm, gm, rm, scope, ig, isrc, est"
            " FROM r CROSS JOIN t_samples AS t WHERE t.t = r.i %% %d"
            % (start_ms, start_ms, N_TEMPLATES))
        con.execute(
            rng + " INSERT INTO run_energy SELECT r.i, cpu_j, gpu_j, ram_j,"
            " other_j, plain_j, measured_j, measured_gj, %s + rf, %s + rl, n,"
            " est FROM r CROSS JOIN t_energy AS t WHERE t.t = r.i %% %d"
            % (start_ms, start_ms, N_TEMPLATES))
        con.execute("COMMIT")
    # long curves
    h_l = HASH01.format(i="l.run_pk")
    for pk in long_runs:
        con.execute("BEGIN")
        con.execute(
            "WITH RECURSIVE s(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM s"
            " WHERE x < ?1 - 1) INSERT INTO metrics SELECT l.run_pk, 'loss',"
            " %d + l.run_pk * %d + s.x * 10, s.x, (1.0 - %s) *"
            " exp(-s.x / (?1 / 5.0)) + 0.01 + ((l.run_pk * 31 + s.x * 7919)"
            " %% 1000) / 100000.0, 0 FROM (SELECT ?2 AS run_pk) AS l"
            " CROSS JOIN s" % (T0, RUN_SPACING_MS, h_l), (long_len, pk))
        con.execute("COMMIT")
    # latest_metrics: the point of highest step of each (run, key), as
    # the server's log-batch keeps it; then the energy-derived ones
    # (since migration 010 a row also carries its run's experiment_id;
    # a file seeded by an older server has no such column)
    cols = [c[1] for c in con.execute("PRAGMA table_info(latest_metrics)")]
    ex = "experiment_id" in cols
    lm = ("INSERT INTO latest_metrics (run_pk, key, value, timestamp, step,"
          " is_nan%s)" % (", experiment_id" if ex else ""))
    con.execute("BEGIN")
    con.execute(lm + " SELECT m.run_pk, m.key, m.value, m.timestamp,"
                " max(m.step), m.is_nan%s FROM metrics AS m%s WHERE m.run_pk"
                " BETWEEN ? AND ? GROUP BY m.run_pk, m.key"
                % ((", ru.experiment_id", " JOIN runs AS ru ON ru.run_pk ="
                    " m.run_pk") if ex else ("", "")), (lo, hi))
    con.execute(
        "WITH RECURSIVE r(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM r"
        " WHERE i < ?2) " + lm + " SELECT r.i, d.key,"
        " d.value, %s + d.rts, d.step, d.nan%s FROM r CROSS JOIN t_derived"
        " AS d%s WHERE d.t = r.i %% %d"
        % (start_ms, ", ru.experiment_id" if ex else "",
           " JOIN runs AS ru ON ru.run_pk = r.i" if ex else "", N_TEMPLATES),
        (lo, hi))
    con.execute("COMMIT")
    con.execute("PRAGMA journal_mode = WAL")
    con.close()


# ------------------------------------------------------------ measurement
def run_id_of(db, pk):
    con = sqlite3.connect(db)
    rid = con.execute("SELECT run_id FROM runs WHERE run_pk=?",
                      (pk,)).fetchone()[0]
    con.close()
    return rid


def db_bytes(db):
    return sum(os.path.getsize(db + s) for s in ("", "-wal", "-shm")
               if os.path.exists(db + s))


def timed(server, method, path, body, iters, warm=2):
    for _ in range(warm):
        server.ok(method, path, body)
    return [server.ok(method, path, body)[0] for _ in range(iters)]


def history(server, run_id, points):
    """Seconds to read every page of run_id's "loss" and the largest
    server VmRSS (MB) sampled every 5 ms meanwhile; checks the count."""
    peak = [0.0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], server.status()[0])
            time.sleep(0.005)

    th = threading.Thread(target=sample)
    th.start()
    t = now()
    token, n, pages = None, 0, 0
    while True:
        path = ("/api/2.0/mlflow/metrics/get-history?run_id=%s&metric_key="
                "loss&max_results=1000000" % run_id)
        if token:
            path += "&page_token=" + token
        _, raw = server.ok("GET", path)
        n += raw.count(b'"step"')
        pages += 1
        m = re.search(rb'"next_page_token"\s*:\s*"([^"]+)"', raw[-400:])
        if not m:
            break
        token = m.group(1).decode()
    dt = now() - t
    done.set()
    th.join()
    assert n == points, (n, points)
    return dt, peak[0], pages


def ingest(build, server, seconds):
    """log-batch points/s of bench_ingest (4 connections, 1000 points)."""
    out = subprocess.run(
        [os.path.join(build, "bench", "bench_ingest"), "--mode", "batch",
         "--port", str(server.port), "--pid", str(server.p.pid),
         "--seconds", str(seconds), "--batch-conns", "4"],
        capture_output=True, text=True, timeout=600)
    m = re.search(r"RESULT ingest.batch_points_per_s (\S+)", out.stdout)
    if out.returncode != 0 or not m:
        raise RuntimeError("bench_ingest: %s %s" % (out.stdout[-500:],
                                                    out.stderr[-500:]))
    return float(m.group(1))


def ui_ready(server, exp, loads):
    here = os.path.dirname(os.path.abspath(__file__))
    out = subprocess.run(
        ["node", os.path.join(here, "bench_scale_ui.mjs"),
         "http://127.0.0.1:%d" % server.port, str(exp), "acc", str(loads)],
        capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError("bench_scale_ui: " + out.stderr[-800:])
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["rows"] > 0, r
    print("  UI, API requests of the last load: " + "; ".join(r["api"]),
          flush=True)
    return r["ready_ms"], r["rows"]


def measure(a, binary, db, tmp, first_exp, n_runs, long_pk, long_len, fig):
    """Every figure of one stage into 'fig' (name -> value)."""
    board = first_exp
    big = first_exp + 1
    lb = "/api/2.0/greentrack/leaderboard?experiment_id=%d&metric=acc" \
         "&max_results=100"
    firsts, firsts_big, starts = [], [], []
    for _ in range(a.restarts):
        s = Server(binary, db, tmp)
        starts.append(s.start_s)
        firsts.append(s.ok("GET", lb % board)[0])
        if n_runs > BOARD_RUNS:
            firsts_big.append(s.ok("GET", lb % big)[0])
        s.stop()
    fig["server start to listening (ms)"] = pct(starts, .5) * 1e3
    s = Server(binary, db, tmp)
    try:
        rss0 = s.status()[0]
        fig["RSS after start (MB)"] = rss0
        # the restart order: the big board first on this one
        if n_runs > BOARD_RUNS:
            firsts_big.append(s.ok("GET", lb % big)[0])
        firsts.append(s.ok("GET", lb % board)[0])
        fig["leaderboard 10k-run exp, first after restart p50 (ms)"] = \
            pct(firsts, .5) * 1e3
        fig["leaderboard 10k-run exp, first after restart max (ms)"] = \
            max(firsts) * 1e3
        w = timed(s, "GET", lb % board, None, a.iters)
        fig["leaderboard 10k-run exp, warm p50 (ms)"] = pct(w, .5) * 1e3
        fig["leaderboard 10k-run exp, warm p99 (ms)"] = pct(w, .99) * 1e3
        if firsts_big:
            big_runs = (n_runs - BOARD_RUNS) // 10
            fig["leaderboard 10%-of-runs exp: runs"] = big_runs
            fig["leaderboard 10%-of-runs exp, first after restart p50 "
                "(ms)"] = pct(firsts_big, .5) * 1e3
            w = timed(s, "GET", lb % big, None, a.iters)
            fig["leaderboard 10%-of-runs exp, warm p50 (ms)"] = \
                pct(w, .5) * 1e3
        q = {"filter": "metrics.acc > 0.5", "order_by": ["metrics.acc DESC"],
             "max_results": 100}
        all_exps = [str(first_exp + e) for e in range(N_EXPERIMENTS)]
        w = timed(s, "POST", "/api/2.0/mlflow/runs/search",
                  dict(q, experiment_ids=all_exps), a.iters)
        fig["runs/search all 100 exps p50 (ms)"] = pct(w, .5) * 1e3
        fig["runs/search all 100 exps p99 (ms)"] = pct(w, .99) * 1e3
        w = timed(s, "POST", "/api/2.0/mlflow/runs/search",
                  dict(q, experiment_ids=[str(board)]), a.iters)
        fig["runs/search 10k-run exp p50 (ms)"] = pct(w, .5) * 1e3
        fig["runs/search 10k-run exp p99 (ms)"] = pct(w, .99) * 1e3
        w = timed(s, "GET", "/api/2.0/mlflow/experiments/search?"
                  "max_results=100", None, a.iters)
        fig["experiments/search p50 (ms)"] = pct(w, .5) * 1e3
        fig["experiments/search p99 (ms)"] = pct(w, .99) * 1e3
        rid = run_id_of(db, long_pk)
        hs = [history(s, rid, long_len) for _ in range(a.history_iters)]
        fig["get-history: points"] = long_len
        fig["get-history all pages p50 (ms)"] = \
            pct([x[0] for x in hs], .5) * 1e3
        fig["get-history: pages"] = hs[0][2]
        fig["get-history: server RSS peak during (MB)"] = \
            max(x[1] for x in hs)
        if not a.no_ui:
            ready, rows = ui_ready(s, board, a.ui_loads)
            fig["UI leaderboard of the 10k-run exp: rows"] = rows
            fig["UI leaderboard usable p50 (ms)"] = pct(ready, .5)
            fig["UI leaderboard usable best (ms)"] = min(ready)
        rss, hwm = s.status()
        fig["server VmRSS after the reads (MB)"] = rss
        fig["server VmHWM (MB)"] = hwm
        fig["database size (MB)"] = db_bytes(db) / 1e6
        rate = ingest(a.build, s, a.ingest_seconds)
        fig["log-batch ingest at this size (points/s)"] = rate
    finally:
        s.stop()
    # the same on an empty database, right after
    d = tempfile.mkdtemp(prefix="empty-", dir=tmp)
    e = Server(binary, os.path.join(d, "e.db"), d)
    try:
        empty = ingest(a.build, e, a.ingest_seconds)
    finally:
        e.stop()
        shutil.rmtree(d)
    fig["log-batch ingest, empty database (points/s)"] = empty
    fig["ingest ratio (at size / empty)"] = rate / empty


def ingested_points(db, seeded_hi):
    """Points bench_ingest left in runs after the seeded ones."""
    con = sqlite3.connect(db)
    n = con.execute("SELECT count(*) FROM metrics WHERE run_pk > ?",
                    (seeded_hi,)).fetchone()[0]
    con.close()
    return n


def max_run_pk(db):
    con = sqlite3.connect(db)
    n = con.execute("SELECT max(run_pk) FROM runs").fetchone()[0]
    con.close()
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--stages", default="10000,100000,1000000",
                    help="run counts, comma-separated (points: 100 a run)")
    ap.add_argument("--tmpdir", default="/tmp")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--no-ui", action="store_true")
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--history-iters", type=int, default=3)
    ap.add_argument("--restarts", type=int, default=3)
    ap.add_argument("--ui-loads", type=int, default=3)
    ap.add_argument("--ingest-seconds", type=float, default=4)
    ap.add_argument("--seed-only", action="store_true",
                    help="seed the stages, measure nothing (with --keep: a "
                    "file for bench_scale_reads.py)")
    ap.add_argument("--existing", metavar="DIR",
                    help="measure DIR/scale.db of an earlier --seed-only "
                    "--keep run at its size, no seeding")
    ap.add_argument("--smoke", action="store_true",
                    help="1,000 runs, every figure once (bench-smoke)")
    a = ap.parse_args()
    if a.smoke:
        a.stages, a.iters, a.history_iters, a.restarts = "1000", 3, 1, 1
        a.ui_loads, a.ingest_seconds = 1, 1
    here = os.path.dirname(os.path.abspath(__file__))
    if not a.no_ui and not (
            os.path.exists(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
            and os.path.isdir(os.path.join(here, "..", "browser",
                                           "node_modules", "playwright-core"))):
        print("bench_scale: no Chromium or playwright-core (tests/browser): "
              "the UI figure is skipped")
        a.no_ui = True
    binary = os.path.join(a.build, "bin", "greentrack-server")
    if a.existing:
        return measure_existing(a, binary, a.existing)
    stages = [int(x) for x in a.stages.split(",")]
    assert stages == sorted(stages) and stages[0] >= 1, stages
    tmp = tempfile.mkdtemp(prefix="gt-scale-", dir=a.tmpdir)
    db = os.path.join(tmp, "scale.db")
    print("bench_scale: database %s" % db, flush=True)
    results = []
    try:
        templates = calibrate(binary, tmp)
        s = Server(binary, db, tmp)
        first_exp = create_experiments(s)
        s.stop()
        have_runs, have_long, n_points = 0, 0, 0
        for n_runs in stages:
            points = n_runs * 100
            long_len = min(LONG_MAX, points)
            n_long = max(1, points // 2 // long_len)
            new_long = list(range(have_runs + 1,
                                  have_runs + 1 + n_long - have_long))
            have_runs_before = have_runs
            t = now()
            seed(db, first_exp, have_runs + 1, n_runs, new_long, long_len,
                 templates)
            seed_s = now() - t
            have_long, have_runs = n_long, n_runs
            n_points += ((n_runs - have_runs_before) * len(KEYS) *
                         SHORT_STEPS + len(new_long) *
                         (long_len - SHORT_STEPS))
            print("stage %d runs: seeded in %.0f s, %d points, %d long "
                  "curves of %d" % (n_runs, seed_s, n_points, n_long,
                                    long_len), flush=True)
            if a.seed_only:
                continue
            fig = {"runs": n_runs, "metric points": n_points,
                   "seeding time (s)": seed_s}
            if new_long:
                last_long = (new_long[0], long_len)
            measure(a, binary, db, tmp, first_exp, n_runs, last_long[0],
                    last_long[1], fig)
            # bench_ingest's own 4 runs stay: the next stage counts them
            have_runs = max_run_pk(db)
            n_points += ingested_points(db, n_runs)
            results.append(fig)
            for k, v in fig.items():
                print("  %-62s %14.2f" % (k, v), flush=True)
            table(results)
    finally:
        if a.keep:
            print("bench_scale: kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


def measure_existing(a, binary, tmp):
    """--existing: one stage's figures for the seeded file in 'tmp'."""
    db = os.path.join(tmp, "scale.db")
    t = now()
    s = Server(binary, db, tmp)  # migrates an older file
    print("bench_scale: %s ready (migrated if older) in %.0f s"
          % (db, now() - t), flush=True)
    s.stop()
    con = sqlite3.connect(db)
    first_exp = con.execute("SELECT experiment_id FROM experiments"
                            " WHERE name = 'scale-000'").fetchone()[0]
    n_runs = con.execute("SELECT count(*) FROM runs").fetchone()[0]
    long_pk = con.execute("SELECT min(run_pk) FROM runs"
                          " WHERE experiment_id = ?",
                          (first_exp,)).fetchone()[0]
    long_len = con.execute("SELECT count(*) FROM metrics WHERE run_pk = ?"
                           " AND key = 'loss'", (long_pk,)).fetchone()[0]
    n_points = con.execute("SELECT count(*) FROM metrics").fetchone()[0]
    con.close()
    fig = {"runs": n_runs, "metric points": n_points}
    measure(a, binary, db, tmp, first_exp, n_runs, long_pk, long_len, fig)
    for k, v in fig.items():
        print("  %-62s %14.2f" % (k, v), flush=True)
    table([fig])
    return 0


def table(results):
    names = []
    for r in results:
        names += [k for k in r if k not in names]
    head = ["figure"] + ["%d runs" % r["runs"] for r in results]
    head += ["slope %d-%d" % (i + 1, i + 2) for i in range(len(results) - 1)]
    print("\n| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for k in names:
        row = [k]
        for r in results:
            v = r.get(k)
            row.append("-" if v is None else
                       ("%.0f" % v if abs(v) >= 100 else "%.3g" % v))
        for x, y in zip(results, results[1:]):
            if k in x and k in y and x[k] > 0 and y[k] > 0:
                row.append("%.2f" % (math.log(y[k] / x[k]) /
                                     math.log(y["runs"] / x["runs"])))
            else:
                row.append("-")
        print("| " + " | ".join(row) + " |")
    print("\nslope: log(figure ratio) / log(runs ratio) between stages "
          "(runs and points grow by the same factor): 0 = flat, 1 = "
          "linear in the data, below 0.1 for a 10x step ~ logarithmic")


if __name__ == "__main__":
    sys.exit(main())
