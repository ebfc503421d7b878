# SPDX-License-Identifier: MIT
"""Issue 12's scale paths, checked for correctness (timing is in
BENCHMARKS.md): runs/search within one experiment (migration 010's
latest_metrics_by_experiment) answers the same runs in the same order as
the walk over several experiments, NaN and ties included; the
experiments/summary cache (per experiment generation) follows every
write; and a long read runs on the read threads, so /health and a static
file are answered while one is held (test hook
GREENTRACK_TEST_LONG_READ_GATE, read only when set)."""
import math
import os
import threading
import time
import unittest

from harness import Client, Server, ServerTestCase

GT = "/api/2.0/greentrack/"
WAIT_S = 60


class SearchAndSummaryTests(ServerTestCase):
    def new_run(self, exp, **kw):
        return self.create_run(exp, **kw)["info"]["run_id"]

    def log(self, run_id, key, value, step=0):
        self.ok(self.post("runs/log-metric", {
            "run_id": run_id, "key": key,
            "value": "NaN" if math.isnan(value) else value,
            "timestamp": 1000 + step, "step": step}))

    def test_one_experiment_search_same_as_walk(self):
        a = self.create_experiment("lr-a")
        b = self.create_experiment("lr-b-empty")
        other = self.create_experiment("lr-other")
        vals = [0.9, 0.5, 0.5, 0.5, float("nan"), 0.7, 0.2, 0.9, 0.05]
        want = []
        for i, v in enumerate(vals):
            rid = self.new_run(a, start_time=5000 + (i % 3))
            self.log(rid, "acc", v)
            if not math.isnan(v) and v > 0.1:
                want.append((-v, -(5000 + i % 3), rid))
        for i in range(20):  # other experiments' runs in the same index
            self.log(self.new_run(other), "acc", 0.95 - i / 100.0)
        want = [r for _, _, r in sorted(want)]
        for limit in (100, 3):
            one = self.search_run_ids([a], "metrics.acc > 0.1",
                                      ["metrics.acc DESC"],
                                      max_results=limit)
            walk = self.search_run_ids([a, b], "metrics.acc > 0.1",
                                       ["metrics.acc DESC"],
                                       max_results=limit)
            self.assertEqual(one, walk)
            self.assertEqual(one, want[:limit])
        asc = self.search_run_ids([a], "metrics.acc >= 0.5",
                                  ["metrics.acc ASC"])
        self.assertEqual(asc, self.search_run_ids(
            [a, b], "metrics.acc >= 0.5", ["metrics.acc ASC"]))

    def summaries(self):
        b = self.ok(self.get(GT + "experiments/summary"))
        return {x["experiment_id"]: x for x in b["experiments"]}

    def test_summary_follows_writes(self):
        e = self.create_experiment("sum-a")
        f = self.create_experiment("sum-b")
        self.assertEqual(self.summaries()[e]["runs"], 0)
        r1 = self.new_run(e)
        r2 = self.new_run(e)
        s = self.summaries()
        self.assertEqual((s[e]["runs"], s[e]["running"]), (2, 2))
        self.assertEqual(s[f]["runs"], 0)
        self.ok(self.post("runs/update", {"run_id": r1,
                                          "status": "FINISHED",
                                          "end_time": 9000}))
        s = self.summaries()
        self.assertEqual((s[e]["runs"], s[e]["running"]), (2, 1))
        self.ok(self.post("runs/delete", {"run_id": r2}))
        s = self.summaries()
        self.assertEqual((s[e]["runs"], s[e]["running"]), (1, 0))
        self.ok(self.post("runs/restore", {"run_id": r2}))
        self.assertEqual(self.summaries()[e]["runs"], 2)
        # the list form agrees with the one-experiment form
        one = self.ok(self.get(GT + "experiments/summary",
                               {"experiment_id": e}))["experiments"][0]
        for k in ("runs", "running", "energy_kwh", "co2_g",
                  "last_activity"):
            self.assertEqual(one[k], self.summaries()[e][k], k)
        self.ok(self.post("experiments/delete", {"experiment_id": f}))
        self.assertNotIn(f, self.summaries())


class LongReadTests(unittest.TestCase):
    def test_health_and_static_answered_during_long_read(self):
        srv = Server(args=["--log-level", "info", "--threads", "1"],
                     label="longread")
        gate = os.path.join(srv.tmpdir, "gate")
        srv.env = dict(srv.env or {}, GREENTRACK_TEST_LONG_READ_GATE=gate)
        srv.start()
        try:
            got = {}

            def summary():
                got["r"] = Client(srv.host, srv.port).get(
                    GT + "experiments/summary")

            t = threading.Thread(target=summary)
            t.start()
            deadline = time.monotonic() + WAIT_S
            while "waits for the test gate" not in srv.stderr_text():
                self.assertLess(time.monotonic(), deadline,
                                srv.stderr_text()[-2000:])
                time.sleep(0.05)
            # one HTTP thread, and the summary is held: both still answer
            c = Client(srv.host, srv.port)
            self.assertEqual(c.get("/health").status, 200)
            r = c.request("GET", "/app.css", raw_path=True)
            self.assertEqual(r.status, 200)
            self.assertTrue(t.is_alive(), "the summary was not held")
            open(gate, "w").close()
            t.join(WAIT_S)
            self.assertFalse(t.is_alive())
            self.assertEqual(got["r"].status, 200)
        finally:
            rc, _ = srv.stop()
            srv.cleanup()
        self.assertEqual(rc, 0)


if __name__ == "__main__":
    unittest.main()
