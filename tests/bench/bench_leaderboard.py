#!/usr/bin/env python3
"""Leaderboard benchmark: GET /api/2.0/greentrack/leaderboard over an
experiment of N runs (default 100,000), each with a metric and energy.

The database is seeded directly with SQLite (the server creates the schema
first), then the server is restarted on it. Prints:
- cold p50: a write to one run (a new "acc" value for a random run) between
  requests, so every request must re-rank (the server patches its last
  board with the changed run and re-ranks all N);
- full p50: a filter not seen before, so the board is built from scratch;
- warm p50: the same request again (the ranked board is cached);
- as the same-run baseline, the p50 of the SQL join that reads the rows.
Usage: bench_leaderboard.py BUILD_DIR [--runs N] [--iters K] [--smoke]"""
import json
import random
import sqlite3
import sys
import time

from benchlib import (connect, exit_status, new_db, p50, parse_args, result,
                      start, stop, timed_get)


def main():
    a = parse_args({"runs": 100000}, 20, {"runs": 2000, "iters": 3})
    server, tmp, db = new_db(a.build, "gt-lb-", "lb.db")
    con = sqlite3.connect(db)
    rnd = random.Random(7)
    con.execute("INSERT INTO experiments (experiment_id, name, "
                "artifact_location, creation_time, last_update_time) "
                "VALUES (1, 'bench', '/x', 0, 0)")
    con.executemany(
        "INSERT INTO runs (run_pk, run_id, experiment_id, run_name, status, "
        "start_time, artifact_uri) VALUES (?, ?, 1, ?, 'FINISHED', ?, 'x')",
        [(i, "%032x" % i, "run-%d" % i, 1700000000000 + i)
         for i in range(1, a.runs + 1)])
    rows = []
    for i in range(1, a.runs + 1):
        kwh = rnd.random() * 5
        rows += [(i, "acc", rnd.random(), 1), (i, "greentrack.energy_kwh",
                                                kwh, 1),
                 (i, "greentrack.co2_kg", kwh * 0.3, 1)]
    con.executemany("INSERT INTO latest_metrics SELECT ?1, ?2, ?3, ?4, 0, 0, "
                    "experiment_id FROM runs WHERE run_pk = ?1",
                    rows)
    con.executemany("INSERT INTO run_energy VALUES (?, 0, 0, 0, 0, 0, 0, 0, "
                    "0, 1, 1, 0)", [(i,) for i in range(1, a.runs + 1)])
    con.commit()
    raw_sql = ("SELECT r.run_id, r.run_name, r.status, r.start_time, "
               "r.end_time, m.value, c.value, e.value, x.estimated "
               "FROM runs r LEFT JOIN latest_metrics m ON m.run_pk = r.run_pk "
               "AND m.key = 'acc' LEFT JOIN latest_metrics c ON "
               "c.run_pk = r.run_pk AND c.key = 'greentrack.co2_kg' "
               "LEFT JOIN latest_metrics e ON e.run_pk = r.run_pk AND "
               "e.key = 'greentrack.energy_kwh' LEFT JOIN run_energy x ON "
               "x.run_pk = r.run_pk WHERE r.experiment_id = 1 AND "
               "r.lifecycle_stage = 'active'")
    raw = []
    for _ in range(max(3, a.iters // 4)):
        t = time.perf_counter()
        n = sum(1 for _ in con.execute(raw_sql))
        raw.append(time.perf_counter() - t)
    con.close()
    assert n == a.runs, n
    p, port = start(server, db, tmp)
    c = connect(port)
    path = ("/api/2.0/greentrack/leaderboard?experiment_id=1&metric=acc"
            "&max_results=100")

    def get():
        return timed_get(c, path)

    cold, warm, full = [], [], []
    get()  # the first board: built from scratch
    for i in range(a.iters):
        # a write to one run: the next request must re-rank
        c.request("POST", "/api/2.0/mlflow/runs/log-metric",
                  json.dumps({"run_id": "%032x" % rnd.randint(1, a.runs),
                              "key": "acc", "value": rnd.random(),
                              "timestamp": 1700000000000 + i, "step": 0}),
                  {"Content-Type": "application/json"})
        r = c.getresponse()
        assert r.status == 200, r.read()[:200]
        r.read()
        dt, body = get()
        cold.append(dt)
        assert body["total"] == a.runs and len(body["runs"]) == 100
        warm.append(get()[0])
    for i in range(max(3, a.iters // 4)):
        # a filter never seen: a board built from scratch
        full.append(timed_get(c, path + "&filter=attributes.run_name+%21%3D"
                              "+%27x" + str(i) + "%27")[0])
    rc = stop(p)
    print("leaderboard over %d runs: cold p50 %.1f ms, full build p50 %.1f "
          "ms, warm p50 %.2f ms, raw SQL join (Python sqlite3, same rows) "
          "p50 %.1f ms" % (a.runs, p50(cold) * 1e3, p50(full) * 1e3,
                           p50(warm) * 1e3, p50(raw) * 1e3))
    result("leaderboard_cold_p50_ms", p50(cold) * 1e3, 1, 50)
    result("leaderboard_warm_p50_ms", p50(warm) * 1e3, 2, 50)
    result("leaderboard_full_build_p50_ms", p50(full) * 1e3, 1)
    result("leaderboard_raw_join_p50_ms", p50(raw) * 1e3, 1)
    result("leaderboard_cold_vs_raw", p50(cold) / p50(raw))
    return exit_status("bench_leaderboard", rc)

if __name__ == "__main__":
    sys.exit(main())
