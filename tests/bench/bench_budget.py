#!/usr/bin/env python3
"""The carbon-budget check that `greentrack run` and libgreentrack make
when a run starts: gt_experiment_budget (through the Python binding of
the library, a new connection per call, as the CLI makes it) on an
experiment of N runs with energy (default 1000) among E other
experiments (default 100), each with a budget. Against, on the same
server in the same run: a plain GET experiments/get (the cheapest call
there is), the list form of experiments/summary (what the check reads),
and the one-experiment form (?experiment_id=, which adds
potential_saving_g and so reads every run's carbon). Seeded through the
API. Prints p50s and the check's ratio to experiments/get.
Usage: bench_budget.py BUILD_DIR [--runs N] [--exps E] [--iters K]
[--smoke]"""
import json
import os
import sys
import time

from benchlib import (connect, exit_status, new_db, p50, parse_args, result,
                      start, stop, timed_get)

HERE = os.path.dirname(os.path.abspath(__file__))
HOUR = 3600000


def post(c, path, body):
    c.request("POST", path, json.dumps(body),
              {"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    assert r.status == 200, data[:300]
    return json.loads(data)


def seed_experiment(c, name, runs, budget_kg):
    exp = post(c, "/api/2.0/mlflow/experiments/create",
               {"name": name})["experiment_id"]
    post(c, "/api/2.0/mlflow/experiments/set-experiment-tag",
         {"experiment_id": exp, "key": "greentrack.budget_co2_kg",
          "value": str(budget_kg)})
    for i in range(runs):
        rid = post(c, "/api/2.0/mlflow/runs/create",
                   {"experiment_id": exp, "start_time": 1000 + i})[
                       "run"]["info"]["run_id"]
        post(c, "/api/2.0/greentrack/runs/log-energy",
             {"run_id": rid, "samples": [{"start_time": 1000,
                                          "end_time": 1000 + HOUR,
                                          "cpu_energy_j": 36000,
                                          "cpu_method": "rapl"}]})
    return exp


def main():
    a = parse_args({"runs": 1000, "exps": 100}, 30,
                   {"runs": 50, "exps": 5, "iters": 5})
    os.environ["GREENTRACK_LIB"] = os.path.join(a.build, "lib",
                                                "libgreentrack.so")
    sys.path.insert(0, os.path.join(HERE, "..", "..", "client", "python"))
    import greentrack  # noqa: E402 (the build's library, set just above)

    server, tmp, db = new_db(a.build, "gt-budget-", "budget.db")
    p, port = start(server, db, tmp)
    c = connect(port)
    for i in range(a.exps):
        seed_experiment(c, "other-%d" % i, 1, 1)
    exp = seed_experiment(c, "checked", a.runs, 0.001)
    client = greentrack.Client("http://127.0.0.1:%d" % port)
    fig = {k: [] for k in ("check", "get", "list", "one")}
    for _ in range(a.iters):
        # interleaved, so all see the same machine
        t = time.perf_counter()
        b = client.budget(exp)
        fig["check"].append(time.perf_counter() - t)
        assert b is not None and b["over"] and b["used_co2_kg"] > 0, b
        fig["get"].append(timed_get(
            c, "/api/2.0/mlflow/experiments/get?experiment_id=" + exp)[0])
        fig["list"].append(timed_get(
            c, "/api/2.0/greentrack/experiments/summary")[0])
        fig["one"].append(timed_get(
            c, "/api/2.0/greentrack/experiments/summary?experiment_id="
            + exp)[0])
    client.close()
    rc = stop(p)
    m = {k: p50(v) * 1e3 for k, v in fig.items()}
    print("budget check on an experiment of %d runs among %d experiments "
          "(p50 ms): gt_experiment_budget %.1f; experiments/get %.1f; "
          "experiments/summary list %.1f, ?experiment_id= %.1f"
          % (a.runs, a.exps + 1, m["check"], m["get"], m["list"], m["one"]))
    result("budget_check_p50_ms", m["check"], 1)
    result("budget_check_vs_experiments_get", m["check"] / m["get"])
    result("budget_summary_one_vs_list", m["one"] / m["list"])
    return exit_status("bench_budget", rc)


if __name__ == "__main__":
    sys.exit(main())
