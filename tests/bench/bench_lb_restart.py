#!/usr/bin/env python3
"""The leaderboard's first request after a server restart (issue 12: p50
<= 50 ms at 10^6 runs "including the first request after a restart"),
this build against a baseline build in the same run.

Data: bench_scale.py's (imported): 100 experiments, the first holding
runs 1..10,000 (the "10k" board), every tenth later run in the second
(the "10%" board: 9,000 runs at 10^5, 99,000 at 10^6), seeded straight
into SQLite with the same SQL. The baseline and this build each get their
own copy of the file at every stage (this build's schema is newer, which
the baseline would refuse).

Per stage and build, --restarts times, in turn (baseline, this, baseline,
this, ...) so both see the same machine load:
- "at once": start the server, GET /health, then the 10k board, then the
  10% board, each timed from the request to the last byte, sent right
  after the listening line. For this build the warm-up thread is building
  the same boards meanwhile (at idle priority): a request does not wait
  for it, so this is the cost of building the board in the request.
- "after warm-up" (this build only): start the server, wait for its log
  line "leaderboard warm-up: N of M boards ready in T ms" (T is reported
  too), then the same three requests (/health not counted: it makes the
  board requests the second and third on their connection, as above).
Before the rounds, one run of each server asks for both boards, so this
build remembers their keys (as a server that served them before the
restart would). The OS page cache stays warm: "restart" is a process
restart, not a cold disk.

Usage: bench_lb_restart.py BASE_BUILD_DIR BUILD_DIR
       [--stages 10000,100000] [--restarts 5] [--tmpdir DIR] [--keep]
Prints one line per measurement and a table of medians."""
import argparse
import http.client
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_scale  # noqa: E402  (seeding and the experiment layout)

LB = ("/api/2.0/greentrack/leaderboard?experiment_id=%d&metric=acc"
      "&max_results=100")


def pct(xs, q):
    return bench_scale.pct(xs, q)

# the server's statement (server/store/read_leaderboard.c), no filter
JOINED = (
    "SELECT r.run_pk, r.run_id, r.run_name, r.status, r.start_time, "
    "r.end_time, EXISTS (SELECT 1 FROM tags AS lm WHERE lm.run_pk = "
    "r.run_pk AND lm.key = 'mlflow.log-model.history'), lbm.value, "
    "lbm.is_nan, lbc.value, lbc.is_nan, lbe.value, lbe.is_nan, "
    "coalesce(lbr.estimated, 0) FROM runs AS r "
    "LEFT JOIN latest_metrics AS lbm ON lbm.run_pk = r.run_pk AND lbm.key = ? "
    "LEFT JOIN latest_metrics AS lbc ON lbc.run_pk = r.run_pk "
    "AND lbc.key = 'greentrack.co2_kg' "
    "LEFT JOIN latest_metrics AS lbe ON lbe.run_pk = r.run_pk "
    "AND lbe.key = 'greentrack.energy_kwh' "
    "LEFT JOIN run_energy AS lbr ON lbr.run_pk = r.run_pk "
    "WHERE r.lifecycle_stage = 'active' AND r.experiment_id = ?")


def rchar():
    with open("/proc/self/io") as f:
        return int(f.read().split("rchar:")[1].split()[0])


def joined_probe(db, exp):
    """The board's statement from Python's sqlite3 on a fresh read-only
    connection with the server's 16 MB cache: (rows, ms, MB read) of the
    first run, then ms of a second run on the same connection."""
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    con.execute("PRAGMA cache_size = -16000")
    r0, t = rchar(), time.perf_counter()
    n = len(con.execute(JOINED, ("acc", exp)).fetchall())
    first, mb = (time.perf_counter() - t) * 1e3, (rchar() - r0) / 1e6
    t = time.perf_counter()
    con.execute(JOINED, ("acc", exp)).fetchall()
    second = (time.perf_counter() - t) * 1e3
    con.close()
    return n, first, mb, second


class Srv:
    """A server with its stderr in a file (for the warm-up's log line)."""

    def __init__(self, binary, db, tmp):
        self.err_path = os.path.join(tmp, "stderr-%d.log" % time.monotonic_ns())
        self.err = open(self.err_path, "wb")
        self.p = subprocess.Popen(
            [binary, "--port", "0", "--db", db, "--artifact-root",
             os.path.join(tmp, "art"), "--log-level", "info",
             "--allowed-hosts", "127.0.0.1,localhost"],
            stdout=subprocess.PIPE, stderr=self.err, text=True)
        line = self.p.stdout.readline()
        if "listening" not in line:
            raise RuntimeError("server did not start: %r" % line)
        self.port = int(line.rsplit(":", 1)[1])
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                               timeout=600)

    def get(self, path):
        t = time.perf_counter()
        self.conn.request("GET", path)
        r = self.conn.getresponse()
        raw = r.read()
        dt = time.perf_counter() - t
        if r.status != 200:
            raise RuntimeError("GET %s: %d %s" % (path, r.status, raw[:300]))
        return dt

    def warm_line(self, timeout=600):
        """The warm-up's summary line (waits for it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(self.err_path, "rb") as f:
                for line in f.read().decode("utf-8", "replace").splitlines():
                    if "leaderboard warm-up: " in line and "ready" in line:
                        return line
            time.sleep(0.02)
        raise RuntimeError("no warm-up line in %d s" % timeout)

    def stop(self):
        self.conn.close()
        self.p.terminate()
        rc = self.p.wait(timeout=600)
        self.err.close()
        if rc != 0:
            raise RuntimeError("server exited %d" % rc)


def boards(s, first_exp, n_runs):
    """(10k board seconds, 10% board seconds or None)."""
    a = s.get(LB % first_exp)
    b = s.get(LB % (first_exp + 1)) if n_runs > bench_scale.BOARD_RUNS \
        else None
    return a, b


def table(rows):
    """The medians and maxima so far, as a Markdown table."""
    print("\nload average now: %s" % " ".join(
        "%.2f" % x for x in os.getloadavg()))
    print("| runs | figure (ms) | baseline p50 / max | this build p50 / max "
          "|")
    print("|---|---|---|---|")
    names = (("health", "/health at once"),
             ("10k", "10k-run board, first request at once"),
             ("10%", "10% board, first request at once"))
    for n_runs, f in rows:
        for k, label in names:
            if "base " + k in f:
                b, n = f["base " + k], f["new " + k]
                print("| %d | %s | %.1f / %.1f | %.1f / %.1f |" % (
                    n_runs, label, b[0], b[1], n[0], n[1]))
        for k, label in (("warm 10k", "10k-run board, first after warm-up"),
                         ("warm 10%", "10% board, first after warm-up"),
                         ("warm-up ms", "warm-up of both boards (its log)")):
            if k in f:
                print("| %d | %s | – | %.1f / %.1f |" % (
                    n_runs, label, f[k][0], f[k][1]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("build")
    ap.add_argument("--stages", default="10000,100000")
    ap.add_argument("--restarts", type=int, default=5)
    ap.add_argument("--tmpdir", default="/tmp")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    bins = {name: os.path.join(d, "bin", "greentrack-server")
            for name, d in (("base", a.base), ("new", a.build))}
    stages = [int(x) for x in a.stages.split(",")]
    tmp = tempfile.mkdtemp(prefix="gt-lbr-", dir=a.tmpdir)
    db = os.path.join(tmp, "seed.db")
    print("bench_lb_restart: %s; load average %s" % (
        tmp, " ".join("%.2f" % x for x in os.getloadavg())), flush=True)
    rows = []
    try:
        # the baseline's schema (older) for the seed file; each build
        # opens its own copy
        templates = bench_scale.calibrate(bins["base"], tmp)
        s = bench_scale.Server(bins["base"], db, tmp)
        first_exp = bench_scale.create_experiments(s)
        s.stop()
        have = 0
        for n_runs in stages:
            t = time.perf_counter()
            bench_scale.seed(db, first_exp, have + 1, n_runs, [have + 1], 10,
                             templates)
            have = n_runs
            print("stage %d runs: seeded in %.0f s" % (
                n_runs, time.perf_counter() - t), flush=True)
            dbs = {}
            for name in bins:
                dbs[name] = os.path.join(tmp, "%s-%d.db" % (name, n_runs))
                shutil.copyfile(db, dbs[name])
                s = Srv(bins[name], dbs[name], tmp)  # migrates; remembers
                boards(s, first_exp, n_runs)
                s.stop()
            res = {k: [] for k in ("base health", "base 10k", "base 10%",
                                   "new health", "new 10k", "new 10%",
                                   "warm 10k", "warm 10%", "warm-up ms")}
            for r in range(a.restarts):
                for name in ("base", "new"):
                    s = Srv(bins[name], dbs[name], tmp)
                    res[name + " health"].append(s.get("/health"))
                    x, y = boards(s, first_exp, n_runs)
                    res[name + " 10k"].append(x)
                    if y is not None:
                        res[name + " 10%"].append(y)
                    s.stop()
                s = Srv(bins["new"], dbs["new"], tmp)
                line = s.warm_line()
                ms = float(line.rsplit(" in ", 1)[1].split()[0])
                res["warm-up ms"].append(ms / 1e3)
                s.get("/health")  # the connection's first request, as above
                x, y = boards(s, first_exp, n_runs)
                res["warm 10k"].append(x)
                if y is not None:
                    res["warm 10%"].append(y)
                s.stop()
                print("  round %d: " % (r + 1) + ", ".join(
                    "%s %.1f" % (k, v[-1] * 1e3) for k, v in res.items()
                    if v), flush=True)
            rows.append((n_runs, {k: (pct(v, .5) * 1e3, max(v) * 1e3)
                                  for k, v in res.items() if v}))
            for name, exp in (("10k", first_exp), ("10%", first_exp + 1)):
                n, first, mb, second = joined_probe(dbs["new"], exp)
                print("  joined statement, %s board (%d rows), from Python: "
                      "%.1f ms and %.1f MB read on a fresh connection, "
                      "%.1f ms again" % (name, n, first, mb, second),
                      flush=True)
            for name in bins:
                os.remove(dbs[name])
                for suffix in ("-wal", "-shm"):
                    if os.path.exists(dbs[name] + suffix):
                        os.remove(dbs[name] + suffix)
            table(rows)
    finally:
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
