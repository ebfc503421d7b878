#!/usr/bin/env python3
"""Green-AI leaderboard benchmark: GET /api/2.0/greentrack/leaderboard with
cost=inference and upstream=amortized over an experiment of N runs
(default 100,000), each with a metric, energy (two 1-hour samples), a train
and an inference phase with work, and a greentrack.base_run_id naming one
of 100 base runs of another experiment; against the plain leaderboard of
the same experiment in the same run.

The database is seeded directly with SQLite (the server creates the schema
first), then the server is restarted on it. Prints p50s of:
- full build: a filter not seen before, so the board is built from scratch
  (plain, and with cost=inference&upstream=amortized, and cost=inference
  alone);
- cold: a write to one run (a new "acc" value) before each request (each
  board is patched with the changed run; with upstream= every distinct
  base's figure is computed again, as a base may have changed elsewhere);
- warm: the same request again (the ranked board is cached);
and the Green-AI figures as ratios to the plain ones.
Usage: bench_greenai.py BUILD_DIR [--runs N] [--iters K] [--smoke]"""
import json
import random
import shutil
import sqlite3
import sys

from benchlib import (connect, exit_status, new_db, p50, parse_args, result,
                      start, stop, timed_get)

T0 = 1700000000000
HOUR = 3600000
BASES = 100


def seed(db, runs, rnd):
    con = sqlite3.connect(db)
    for exp in (1, 2):
        con.execute("INSERT INTO experiments (experiment_id, name, "
                    "artifact_location, creation_time, last_update_time) "
                    "VALUES (?, ?, '/x', 0, 0)", (exp, "bench-%d" % exp))
    # runs 1..runs in experiment 1; the bases after them in experiment 2
    con.executemany(
        "INSERT INTO runs (run_pk, run_id, experiment_id, run_name, status, "
        "start_time, artifact_uri) VALUES (?, ?, ?, ?, 'FINISHED', ?, 'x')",
        [(i, "%032x" % i, 1 if i <= runs else 2, "run-%d" % i, T0 + i)
         for i in range(1, runs + BASES + 1)])
    metrics, energy, samples, phases, tags = [], [], [], [], []
    for i in range(1, runs + BASES + 1):
        kwh = rnd.random() * 5 + 0.1
        metrics += [(i, "acc", rnd.random(), 1),
                    (i, "greentrack.energy_kwh", kwh, 1),
                    (i, "greentrack.co2_kg", kwh * 0.3, 1)]
        j = kwh * 3.6e6 / 2
        energy.append((i, j * 2, 2 * j, T0, T0 + 2 * HOUR))
        for k in range(2):
            samples.append((i, T0 + k * HOUR, T0 + (k + 1) * HOUR, j))
        if i <= runs:
            phases += [(i, "train", T0, T0 + HOUR, None, None),
                       (i, "inference", T0 + HOUR, T0 + 2 * HOUR,
                        float(rnd.randint(100, 100000)), "predictions")]
            tags.append((i, "greentrack.base_run_id",
                         "%032x" % (runs + 1 + rnd.randrange(BASES))))
    con.executemany("INSERT INTO latest_metrics SELECT ?1, ?2, ?3, ?4, 0, 0, "
                    "experiment_id FROM runs WHERE run_pk = ?1",
                    metrics)
    con.executemany("INSERT INTO run_energy VALUES (?, ?, 0, 0, 0, ?, 0, 0, "
                    "?, ?, 2, 0)", energy)
    con.executemany("INSERT INTO energy_samples VALUES (?, ?, ?, ?, 0, 0, 0, "
                    "'rapl', 'none', 'none', 'node', NULL, NULL, 0)", samples)
    con.executemany("INSERT INTO run_phases VALUES (?, ?, ?, ?, ?, ?)", phases)
    con.executemany("INSERT INTO tags VALUES (?, ?, ?)", tags)
    con.commit()
    con.close()


def main():
    a = parse_args({"runs": 100000}, 12, {"runs": 2000, "iters": 3})
    server, tmp, db = new_db(a.build, "gt-green-", "green.db")
    rnd = random.Random(11)
    seed(db, a.runs, rnd)
    p, port = start(server, db, tmp)
    c = connect(port)
    plain = ("/api/2.0/greentrack/leaderboard?experiment_id=1&metric=acc"
             "&max_results=100")
    green = plain + "&cost=inference&upstream=amortized"
    inference = plain + "&cost=inference"

    def write(i):
        c.request("POST", "/api/2.0/mlflow/runs/log-metric",
                  json.dumps({"run_id": "%032x" % rnd.randint(1, a.runs),
                              "key": "acc", "value": rnd.random(),
                              "timestamp": T0 + i, "step": 0}),
                  {"Content-Type": "application/json"})
        r = c.getresponse()
        assert r.status == 200, r.read()[:200]
        r.read()

    fig = {k: [] for k in ("full_plain", "full_green", "full_inference",
                           "cold_plain", "cold_green", "cold_inference",
                           "warm_plain", "warm_green")}
    for i in range(max(3, a.iters // 2)):
        f = "&filter=attributes.run_name+%21%3D+%27x" + str(i) + "%27"
        # interleaved, so both see the same machine
        fig["full_plain"].append(timed_get(c, plain + f)[0])
        dt, body = timed_get(c, green + f)
        fig["full_green"].append(dt)
        assert body["total"] == a.runs, body["total"]
        r0 = body["runs"][0]
        assert r0["upstream_co2_g"] == 0 and r0["score"] is not None, r0
        assert r0["inference_co2_g_per_1k_work"] > 0, r0
        fig["full_inference"].append(timed_get(c, inference + f)[0])
    timed_get(c, plain)
    timed_get(c, green)
    timed_get(c, inference)
    for i in range(a.iters):
        write(3 * i)
        fig["cold_plain"].append(timed_get(c, plain)[0])
        fig["warm_plain"].append(timed_get(c, plain)[0])
        write(3 * i + 1)
        fig["cold_green"].append(timed_get(c, green)[0])
        fig["warm_green"].append(timed_get(c, green)[0])
        write(3 * i + 2)
        fig["cold_inference"].append(timed_get(c, inference)[0])
    rc = stop(p)
    shutil.rmtree(tmp, ignore_errors=True)
    m = {k: p50(v) * 1e3 for k, v in fig.items()}
    print("green-AI leaderboard over %d runs with phases and lineage "
          "(p50 ms): full build plain %.1f, cost=inference %.1f, "
          "cost=inference&upstream=amortized %.1f; cold plain %.1f, "
          "cost=inference %.1f, cost=inference&upstream=amortized %.1f; "
          "warm plain %.2f, green %.2f"
          % (a.runs, m["full_plain"], m["full_inference"], m["full_green"],
             m["cold_plain"], m["cold_inference"], m["cold_green"],
             m["warm_plain"], m["warm_green"]))
    result("greenai_full_plain_p50_ms", m["full_plain"], 1)
    result("greenai_full_green_p50_ms", m["full_green"], 1)
    result("greenai_full_green_vs_plain", m["full_green"] / m["full_plain"])
    result("greenai_cold_green_vs_plain", m["cold_green"] / m["cold_plain"])
    result("greenai_cold_inference_vs_plain",
           m["cold_inference"] / m["cold_plain"])
    result("greenai_warm_green_vs_plain", m["warm_green"] / m["warm_plain"])
    return exit_status("bench_greenai", rc)


if __name__ == "__main__":
    sys.exit(main())
