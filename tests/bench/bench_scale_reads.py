# SPDX-License-Identifier: MIT
"""Before/after of issue 12's read misses on a file seeded by
bench_scale.py --seed-only --keep: runs/search in one experiment and over
all, experiments/summary (first after a start, warm), /app.css while a
summary is being computed, the UI's leaderboard page, RSS, and the first
start of BUILD on the file (migration 010 included). Each build gets its
own copy of FILE. Checks that both builds return the same runs in the
same order.

Usage: bench_scale_reads.py BASE_BUILD BUILD FILE [--iters N]
       [--summary-iters N] [--no-ui] [--tmpdir DIR]"""
import argparse
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import threading
import time

from bench_scale import Server, pct, ui_ready, N_EXPERIMENTS


def timed(s, method, path, body, n, warm=2):
    for _ in range(warm):
        s.ok(method, path, body)
    return [s.ok(method, path, body)[0] for _ in range(n)]


def measure(a, build, src, label):
    tmp = tempfile.mkdtemp(prefix="gt-reads-", dir=a.tmpdir)
    db = os.path.join(tmp, "scale.db")
    shutil.copyfile(src, db)
    os.makedirs(os.path.join(tmp, "art"), exist_ok=True)
    binary = os.path.join(build, "bin", "greentrack-server")
    fig = {}
    con = sqlite3.connect(db)
    first = con.execute("SELECT experiment_id FROM experiments WHERE name ="
                        " 'scale-000'").fetchone()[0]
    con.close()
    s = Server(binary, db, tmp)
    fig["first start to listening (s) (with migration 010: this build)"] = \
        s.start_s
    s.stop()
    s = Server(binary, db, tmp)
    fig["start to listening (ms)"] = s.start_s * 1e3
    summary = "/api/2.0/greentrack/experiments/summary"
    # a summary right after the start, with /app.css fetched meanwhile
    css = []

    def get_css():
        time.sleep(0.05)
        c = Server.__new__(Server)
        import http.client
        c.conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=600)
        css.append(c.call("GET", "/app.css")[0])
    t = threading.Thread(target=get_css)
    t.start()
    fig["summary, first after start (ms)"] = s.ok("GET", summary)[0] * 1e3
    t.join()
    fig["/app.css sent 50 ms into that summary (ms)"] = css[0] * 1e3
    w = timed(s, "GET", summary, None, a.summary_iters, warm=0)
    fig["summary, warm p50 (ms)"] = pct(w, .5) * 1e3
    q = {"filter": "metrics.acc > 0.5", "order_by": ["metrics.acc DESC"],
         "max_results": 100}
    alle = [str(first + e) for e in range(N_EXPERIMENTS)]
    got = {}
    for name, ids in (("one 10k-run exp", [str(first)]),
                      ("all 100 exps", alle)):
        body = dict(q, experiment_ids=ids)
        w = timed(s, "POST", "/api/2.0/mlflow/runs/search", body, a.iters)
        fig["runs/search %s p50 (ms)" % name] = pct(w, .5) * 1e3
        fig["runs/search %s p99 (ms)" % name] = pct(w, .99) * 1e3
        raw = s.ok("POST", "/api/2.0/mlflow/runs/search", body)[1]
        got[name] = [r["info"]["run_id"] for r in json.loads(raw)["runs"]]
    if not a.no_ui:
        ready, _ = ui_ready(s, first, a.ui_loads)
        fig["UI leaderboard usable p50 (ms)"] = pct(ready, .5)
        fig["UI leaderboard usable best (ms)"] = min(ready)
    rss, hwm = s.status()
    fig["VmRSS / VmHWM (MB)"] = "%.1f / %.1f" % (rss, hwm)
    s.stop()
    shutil.rmtree(tmp)
    for k, v in fig.items():
        print("  %-8s %-62s %s" % (label, k, v if isinstance(v, str)
                                   else "%.1f" % v), flush=True)
    return fig, got


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("build")
    ap.add_argument("file")
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--summary-iters", type=int, default=5)
    ap.add_argument("--ui-loads", type=int, default=3)
    ap.add_argument("--no-ui", action="store_true")
    ap.add_argument("--tmpdir", default="/tmp")
    a = ap.parse_args()
    res = {}
    for label, build in (("base", a.base), ("this", a.build)):
        res[label] = measure(a, build, a.file, label)
    same = res["base"][1] == res["this"][1]
    print("same runs in the same order in both builds: %s" % same)
    names = list(res["base"][0]) + [k for k in res["this"][0]
                                    if k not in res["base"][0]]
    print("\n| figure | base | this |\n|---|---|---|")
    for k in names:
        row = [res[x][0].get(k, "-") for x in ("base", "this")]
        print("| %s | %s |" % (k, " | ".join(
            v if isinstance(v, str) else "%.1f" % v for v in row)))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
