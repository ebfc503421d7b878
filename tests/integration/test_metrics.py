# SPDX-License-Identifier: MIT
"""Metrics: log-metric, log-batch, get-history (incl. paging),
get-history-bulk-interval (specs/mlflow-rest.md §3.2, §3.3, §5) and the
UI's get-history-bulk as MLflow 2.9.2 answers it. Also writes that fail in
the middle of a group commit: they get their error and leave no trace,
the others of the group commit."""

import subprocess
import threading
import time
import uuid

import pgtest
from harness import MAX_DOUBLE, ON_POSTGRES, ServerTestCase, uniq


class MetricTests(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.eid = cls.client.post("experiments/create",
                                  {"name": uniq("metrics")}).body["experiment_id"]

    def new_run(self):
        return self.create_run(self.eid)["info"]["run_id"]

    def log(self, rid, key, value, ts, step=None, **kw):
        body = {"run_id": rid, "key": key, "value": value, "timestamp": ts}
        if step is not None:
            body["step"] = step
        body.update(kw)
        return self.post("runs/log-metric", body)

    # -- log-metric ------------------------------------------------------
    def test_log_and_history(self):
        rid = self.new_run()
        self.assertEqual(self.ok(self.log(rid, "acc", 0.5, 1000, 0)), {})
        self.ok(self.log(rid, "acc", 0.25, 1001, 1))
        h = self.history(rid, "acc")
        self.assertEqual(h, [
            {"key": "acc", "value": 0.5, "timestamp": 1000, "step": 0},
            {"key": "acc", "value": 0.25, "timestamp": 1001, "step": 1}])
        for m in h:
            self.assertIsInstance(m["timestamp"], int)
            self.assertIsInstance(m["step"], int)

    def test_history_values_shortest_and_exact(self):
        """Doubles go out as the shortest text that reads back to the same
        double (0.1, not 0.10000000000000001), every one exactly."""
        import random
        import struct
        rid = self.new_run()
        rng = random.Random(12)
        vals = [0.1, 1 / 3, 2.5e-7, 1e300, -0.0, 123456.789, 5e-324,
                9007199254740993.0, 1e15, 0.30000000000000004]
        vals += [struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]
                 for _ in range(300)]
        vals += [rng.uniform(-1e6, 1e6) for _ in range(300)]
        vals = [v for v in vals if v == v and abs(v) != float("inf")]
        pts = [{"key": "x", "value": v, "timestamp": 1, "step": i}
               for i, v in enumerate(vals)]
        self.ok(self.post("runs/log-batch", {"run_id": rid, "metrics": pts}))
        r = self.get("metrics/get-history", {"run_id": rid, "metric_key": "x"})
        got = {m["step"]: m["value"] for m in self.ok(r)["metrics"]}
        for i, v in enumerate(vals):
            self.assertEqual(got[i], v)
            if v != 0:  # the same bits (zero's sign is the store's matter)
                self.assertEqual(struct.pack("<d", got[i]),
                                 struct.pack("<d", v))
        raw = r.raw.decode() if isinstance(r.raw, bytes) else r.raw
        self.assertIn('"value":0.1,', raw)
        self.assertIn('"value":0.3333333333333333,', raw)
        self.assertIn('"value":2.5e-07,', raw)
        self.assertIn('"value":1e+300,', raw)
        self.assertNotIn("0000000000000001,", raw)

    def test_step_default_zero_and_negative(self):
        rid = self.new_run()
        self.ok(self.log(rid, "m", 1.0, 10))
        self.ok(self.log(rid, "m", 2.0, 11, -5))
        h = self.history(rid, "m")
        self.assertEqual([(m["step"], m["value"]) for m in h],
                         [(0, 1.0), (-5, 2.0)])

    def test_history_order(self):
        rid = self.new_run()
        pts = [(5, 0, 3.0), (1, 9, 1.0), (5, 0, 2.0), (3, 2, 0.0),
               (1, 1, 7.0)]
        for ts, step, v in pts:
            self.ok(self.log(rid, "o", v, ts, step))
        h = self.history(rid, "o")
        got = [(m["timestamp"], m["step"], m["value"]) for m in h]
        self.assertEqual(got, sorted(pts))

    def test_identical_points_deduplicated(self):
        rid = self.new_run()
        for _ in range(3):
            self.ok(self.log(rid, "d", 1.5, 100, 2))
        self.ok(self.log(rid, "d", 1.5, 100, 3))
        self.assertEqual(len(self.history(rid, "d")), 2)

    def test_run_uuid_and_extra_fields(self):
        rid = self.new_run()
        self.ok(self.post("runs/log-metric", {
            "run_id": rid, "run_uuid": rid, "key": "x", "value": 1,
            "timestamp": 5, "step": 1, "model_id": "m-1",
            "dataset_name": "d", "dataset_digest": "abc"}))
        self.ok(self.post("runs/log-metric", {
            "run_uuid": rid, "key": "x", "value": 2, "timestamp": 6,
            "step": 2}))
        self.assertEqual(len(self.history(rid, "x")), 2)
        b = self.ok(self.get("metrics/get-history", {"run_uuid": rid,
                                                     "metric_key": "x"}))
        self.assertEqual(len(b["metrics"]), 2)

    def test_int64_and_double_as_strings(self):
        rid = self.new_run()
        self.ok(self.log(rid, "s", "2.5", "1700000000001", "7"))
        self.ok(self.log(rid, "s", "NaN", 2, 8))
        self.ok(self.log(rid, "s", "Infinity", 3, 9))
        self.ok(self.log(rid, "s", "-Infinity", 4, 10))
        h = {m["step"]: m for m in self.history(rid, "s")}
        self.assertEqual(h[7]["value"], 2.5)
        self.assertEqual(h[7]["timestamp"], 1700000000001)
        self.assertEqual(h[8]["value"], "NaN")
        self.assertEqual(h[9]["value"], MAX_DOUBLE)
        self.assertEqual(h[10]["value"], -MAX_DOUBLE)

    def test_nan_and_inf_numbers(self):
        rid = self.new_run()
        # Python's json module writes NaN / Infinity literals; the server
        # may accept or reject them, but must not crash. Use strings for
        # the semantic check.
        self.ok(self.log(rid, "n", "NaN", 1, 0))
        run = self.get_run(rid)
        self.assertEqual(self.metrics_of(run)["n"]["value"], "NaN")
        self.ok(self.log(rid, "i", "Infinity", 1, 0))
        self.assertEqual(self.metrics_of(self.get_run(rid))["i"]["value"],
                         MAX_DOUBLE)
        r = self.post("runs/log-metric",
                      b'{"run_id":"%s","key":"lit","value":NaN,"timestamp":1}'
                      % rid.encode())
        self.assertIn(r.status, (200, 400), repr(r))
        self.assertServerUp()

    def test_precise_doubles_roundtrip(self):
        rid = self.new_run()
        vals = [0.1 + 0.2, 1e-300, 123456789.12345679, -2.5e-8,
                1.7976931348623157e308, 5e-324, 1 / 3, 0.0, -0.0 + 0, 42]
        for i, v in enumerate(vals):
            self.ok(self.log(rid, "p", v, 1, i))
        h = self.history(rid, "p")
        self.assertEqual([m["value"] for m in h], [float(v) for v in vals])

    def test_latest_metric_is_max_step_timestamp_value(self):
        rid = self.new_run()
        self.ok(self.log(rid, "l", 1.0, 100, 5))
        self.ok(self.log(rid, "l", 2.0, 200, 3))   # later ts, lower step
        self.ok(self.log(rid, "l", 0.5, 100, 5))   # same step/ts, lower value
        self.ok(self.log(rid, "l", 9.0, 50, 5))    # same step, older ts
        m = self.metrics_of(self.get_run(rid))["l"]
        self.assertEqual((m["step"], m["timestamp"], m["value"]),
                         (5, 100, 1.0))
        self.ok(self.log(rid, "l", -1.0, 101, 5))  # same step, newer ts
        m = self.metrics_of(self.get_run(rid))["l"]
        self.assertEqual((m["step"], m["timestamp"], m["value"]),
                         (5, 101, -1.0))
        self.ok(self.log(rid, "l", -3.0, 1, 6))    # higher step wins
        m = self.metrics_of(self.get_run(rid))["l"]
        self.assertEqual((m["step"], m["timestamp"], m["value"]),
                         (6, 1, -3.0))

    def test_invalid_values(self):
        rid = self.new_run()
        bad = [
            {"value": True, "timestamp": 1},
            {"value": "abc", "timestamp": 1},
            {"value": None, "timestamp": 1},
            {"value": [1], "timestamp": 1},
            {"timestamp": 1},
            {"value": 1},
            {"value": 1, "timestamp": -1},
            {"value": 1, "timestamp": "soon"},
            {"value": 1, "timestamp": 1.5},
            {"value": 1, "timestamp": 1, "step": "abc"},
            {"value": 1, "timestamp": 1, "step": 1.5},
        ]
        for b in bad:
            body = {"run_id": rid, "key": "bad"}
            body.update(b)
            with self.subTest(body=b):
                self.assertBadParam(self.post("runs/log-metric", body))
        self.assertBadParam(self.post("runs/log-metric", {
            "run_id": rid, "value": 1, "timestamp": 1}))
        self.assertEqual(self.history(rid, "bad"), [])

    def test_unknown_run(self):
        rid = uuid.uuid4().hex
        self.assertNotFound(self.log(rid, "m", 1, 1),
                            "Run with id=%s not found" % rid)
        self.assertNotFound(self.get("metrics/get-history",
                                     {"run_id": rid, "metric_key": "m"}))

    # -- get-history -----------------------------------------------------
    def test_history_unknown_key_is_empty(self):
        rid = self.new_run()
        self.assertEqual(self.ok(self.get("metrics/get-history", {
            "run_id": rid, "metric_key": "never"})), {})

    def test_history_required_fields(self):
        rid = self.new_run()
        self.assertBadParam(self.get("metrics/get-history", {"run_id": rid}))
        self.assertBadParam(self.get("metrics/get-history",
                                     {"metric_key": "m"}))

    def test_history_paging(self):
        rid = self.new_run()
        metrics = [{"key": "pg", "value": float(i), "timestamp": 1000 + i,
                    "step": i} for i in range(10)]
        self.ok(self.post("runs/log-batch", {"run_id": rid,
                                             "metrics": metrics}))
        pages, token = [], None
        for _ in range(10):
            q = {"run_id": rid, "metric_key": "pg", "max_results": 3}
            if token:
                q["page_token"] = token
            b = self.ok(self.get("metrics/get-history", q))
            pages.append([m["step"] for m in b.get("metrics", [])])
            token = b.get("next_page_token")
            if not token:
                break
        self.assertEqual(pages, [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]])
        # exact multiple: the last page carries no token
        b = self.ok(self.get("metrics/get-history", {
            "run_id": rid, "metric_key": "pg", "max_results": 5}))
        self.assertEqual(len(b["metrics"]), 5)
        b = self.ok(self.get("metrics/get-history", {
            "run_id": rid, "metric_key": "pg", "max_results": 5,
            "page_token": b["next_page_token"]}))
        self.assertEqual([m["step"] for m in b["metrics"]], [5, 6, 7, 8, 9])
        self.assertNotIn("next_page_token", b)
        # no max_results: everything
        self.assertEqual(len(self.history(rid, "pg")), 10)
        self.assertBadParam(self.get("metrics/get-history", {
            "run_id": rid, "metric_key": "pg", "max_results": 3,
            "page_token": "%%%not-a-token"}))

    def test_history_paging_with_ties(self):
        rid = self.new_run()
        # same timestamp and step, values differ: paging must neither lose
        # nor repeat points
        metrics = [{"key": "tie", "value": float(v), "timestamp": 5,
                    "step": 1} for v in range(17)]
        self.ok(self.post("runs/log-batch", {"run_id": rid,
                                             "metrics": metrics}))
        seen, token = [], None
        for _ in range(20):
            q = {"run_id": rid, "metric_key": "tie", "max_results": 4}
            if token:
                q["page_token"] = token
            b = self.ok(self.get("metrics/get-history", q))
            seen += [m["value"] for m in b.get("metrics", [])]
            token = b.get("next_page_token")
            if not token:
                break
        self.assertEqual(seen, [float(v) for v in range(17)])

    # -- log-batch -------------------------------------------------------
    def test_log_batch(self):
        rid = self.new_run()
        self.assertEqual(self.ok(self.post("runs/log-batch", {
            "run_id": rid,
            "metrics": [{"key": "a", "value": 1, "timestamp": 10, "step": 0},
                        {"key": "a", "value": 2, "timestamp": 11, "step": 1},
                        {"key": "b", "value": "NaN", "timestamp": "12"}],
            "params": [{"key": "p1", "value": "x"}, {"key": "p2"}],
            "tags": [{"key": "t", "value": "first"},
                     {"key": "t", "value": "last"}]})), {})
        run = self.get_run(rid)
        self.assertEqual(self.params_of(run), {"p1": "x", "p2": ""})
        self.assertEqual(self.run_tags(run)["t"], "last")
        ms = self.metrics_of(run)
        self.assertEqual(ms["a"]["value"], 2)
        self.assertEqual(ms["b"]["value"], "NaN")
        self.assertEqual(ms["b"]["step"], 0)
        self.assertEqual(len(self.history(rid, "a")), 2)

    def test_log_batch_duplicate_points(self):
        rid = self.new_run()
        pt = {"key": "dup", "value": 1.25, "timestamp": 3, "step": 4}
        self.ok(self.post("runs/log-batch", {"run_id": rid,
                                             "metrics": [pt, pt, dict(pt)]}))
        self.ok(self.post("runs/log-batch", {"run_id": rid, "metrics": [pt]}))
        self.ok(self.log(rid, "dup", 1.25, 3, 4))
        self.assertEqual(self.history(rid, "dup"), [pt])

    def test_timestamp_zero_and_key_case(self):
        rid = self.new_run()
        self.ok(self.log(rid, "Loss", 1, 0))
        self.ok(self.log(rid, "loss", 2, 0))
        self.assertEqual([m["value"] for m in self.history(rid, "Loss")], [1])
        self.assertEqual([m["value"] for m in self.history(rid, "loss")], [2])
        self.ok(self.post("runs/log-parameter", {"run_id": rid, "key": "LR",
                                                 "value": "a"}))
        self.ok(self.post("runs/log-parameter", {"run_id": rid, "key": "lr",
                                                 "value": "b"}))
        self.assertEqual(self.params_of(self.get_run(rid)),
                         {"LR": "a", "lr": "b"})

    def test_log_batch_empty(self):
        rid = self.new_run()
        self.assertEqual(self.ok(self.post("runs/log-batch",
                                           {"run_id": rid})), {})
        self.assertEqual(self.ok(self.post("runs/log-batch", {
            "run_id": rid, "metrics": [], "params": [], "tags": []})), {})

    def test_log_batch_limits(self):
        rid = self.new_run()

        def ms(n, key="m"):
            return [{"key": key, "value": i, "timestamp": 1, "step": i}
                    for i in range(n)]

        def ps(n):
            return [{"key": "p%d" % i, "value": "v"} for i in range(n)]

        def ts(n):
            return [{"key": "t%d" % i, "value": "v"} for i in range(n)]

        self.ok(self.post("runs/log-batch", {"run_id": rid,
                                             "metrics": ms(1000, "full")}))
        self.assertEqual(len(self.history(rid, "full")), 1000)
        rid2 = self.new_run()
        self.ok(self.post("runs/log-batch", {"run_id": rid2,
                                             "params": ps(100),
                                             "tags": ts(100)}))
        for body in [{"metrics": ms(1001, "over")},
                     {"params": ps(101)},
                     {"tags": ts(101)},
                     {"metrics": ms(900, "over"), "params": ps(100),
                      "tags": ts(1)}]:
            with self.subTest(sizes={k: len(v) for k, v in body.items()}):
                body["run_id"] = self.new_run()
                self.assertBadParam(self.post("runs/log-batch", body),
                                    "A batch logging request can contain at most")
                run = self.get_run(body["run_id"])
                self.assertNotIn("metrics", run.get("data", {}))
                self.assertNotIn("params", run.get("data", {}))

    def test_log_batch_duplicate_param_keys(self):
        rid = self.new_run()
        self.assertBadParam(self.post("runs/log-batch", {
            "run_id": rid, "params": [{"key": "k", "value": "1"},
                                      {"key": "k", "value": "1"}]}),
            "Duplicate parameter keys have been submitted")
        self.assertEqual(self.params_of(self.get_run(rid)), {})

    def test_log_batch_param_change_is_all_or_nothing(self):
        rid = self.new_run()
        self.ok(self.post("runs/log-parameter", {"run_id": rid, "key": "lr",
                                                 "value": "1"}))
        self.assertBadParam(self.post("runs/log-batch", {
            "run_id": rid,
            "metrics": [{"key": "m", "value": 1, "timestamp": 1}],
            "params": [{"key": "new", "value": "n"},
                       {"key": "lr", "value": "2"}],
            "tags": [{"key": "t", "value": "v"}]}),
            "Changing param values is not allowed")
        run = self.get_run(rid)
        self.assertEqual(self.params_of(run), {"lr": "1"})
        self.assertNotIn("metrics", run.get("data", {}))
        self.assertNotIn("t", self.run_tags(run))
        # the same value again is fine
        self.ok(self.post("runs/log-batch", {
            "run_id": rid, "params": [{"key": "lr", "value": "1"}]}))

    def test_log_batch_invalid_entry_is_all_or_nothing(self):
        rid = self.new_run()
        bad_entries = [
            {"metrics": [{"key": "ok", "value": 1, "timestamp": 1},
                         {"key": "a//b", "value": 1, "timestamp": 1}]},
            {"metrics": [{"key": "ok", "value": 1, "timestamp": 1},
                         {"key": "nots", "value": 1}]},
            {"metrics": [{"key": "ok", "value": 1, "timestamp": 1},
                         {"key": "noval", "timestamp": 1}]},
            {"metrics": [{"key": "ok", "value": 1, "timestamp": 1},
                         {"value": 1, "timestamp": 1}]},
            {"metrics": [{"key": "ok", "value": 1, "timestamp": 1}],
             "params": [{"value": "no key"}]},
            {"metrics": [{"key": "ok", "value": 1, "timestamp": 1}],
             "tags": [{"key": "x" * 251, "value": "v"}]},
            {"metrics": [{"key": "ok", "value": 1, "timestamp": 1},
                         {"key": "neg", "value": 1, "timestamp": -5}]},
            {"metrics": {"key": "ok", "value": 1, "timestamp": 1}},
        ]
        for extra in bad_entries:
            body = {"run_id": rid}
            body.update(extra)
            with self.subTest(body=extra):
                self.assertBadParam(self.post("runs/log-batch", body))
        run = self.get_run(rid)
        self.assertNotIn("metrics", run.get("data", {}))
        self.assertNotIn("params", run.get("data", {}))

    def test_log_batch_run_id_format(self):
        for bad in ["-abc", "a b", "a/b", "x" * 300, "a'b"]:
            with self.subTest(run_id=bad):
                self.assertBadParam(self.post("runs/log-batch", {
                    "run_id": bad,
                    "metrics": [{"key": "m", "value": 1, "timestamp": 1}]}))
        self.assertNotFound(self.post("runs/log-batch", {
            "run_id": uuid.uuid4().hex,
            "metrics": [{"key": "m", "value": 1, "timestamp": 1}]}))
        self.assertBadParam(self.post("runs/log-batch", {"metrics": []}))

    def test_log_batch_truncates_long_values(self):
        rid = self.new_run()
        self.ok(self.post("runs/log-batch", {
            "run_id": rid, "params": [{"key": "p", "value": "a" * 6500}],
            "tags": [{"key": "t", "value": "b" * 8500}]}))
        run = self.get_run(rid)
        self.assertEqual(self.params_of(run)["p"], "a" * 6000)
        self.assertEqual(self.run_tags(run)["t"], "b" * 8000)


class BulkIntervalTests(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        c = cls.client
        eid = c.post("experiments/create",
                     {"name": uniq("bulk")}).body["experiment_id"]
        cls.runs = []
        for r in range(2):
            rid = c.post("runs/create", {"experiment_id": eid,
                                         "start_time": 1}).body["run"]["info"]["run_id"]
            cls.runs.append(rid)
            for base in range(0, 10000, 1000):
                resp = c.post("runs/log-batch", {"run_id": rid, "metrics": [
                    {"key": "loss", "value": (i * 0.5) + r,
                     "timestamp": 1000000 + i, "step": i}
                    for i in range(base, base + 1000)]})
                assert resp.status == 200, resp
        cls.small = c.post("runs/create", {"experiment_id": eid,
                                           "start_time": 1}).body["run"]["info"]["run_id"]
        resp = c.post("runs/log-batch", {"run_id": cls.small, "metrics": [
            {"key": "loss", "value": float(i), "timestamp": 10 + i,
             "step": i * 10} for i in range(5)]})
        assert resp.status == 200, resp

    def bulk(self, query):
        return self.get("metrics/get-history-bulk-interval", query)

    def by_run(self, body):
        out = {}
        for m in body.get("metrics", []):
            out.setdefault(m["run_id"], []).append(m)
        return out

    def test_downsampled(self):
        b = self.ok(self.bulk([("run_ids", self.runs[0]),
                               ("run_ids", self.runs[1]),
                               ("metric_key", "loss"),
                               ("max_results", "100")]))
        per = self.by_run(b)
        self.assertEqual(set(per), set(self.runs))
        for r, (rid, pts) in enumerate(sorted(per.items(),
                                              key=lambda kv: self.runs.index(kv[0]))):
            steps = sorted(p["step"] for p in pts)
            self.assertLessEqual(len(steps), 102, "too many points")
            self.assertGreaterEqual(len(steps), 50, "too few points")
            self.assertEqual(len(steps), len(set(steps)))
            self.assertEqual(steps[0], 0)
            self.assertEqual(steps[-1], 9999)
            for p in pts:
                self.assertEqual(p["key"], "loss")
                self.assertEqual(p["value"], p["step"] * 0.5 + r)
                self.assertEqual(p["timestamp"], 1000000 + p["step"])

    def test_default_max_results_small_history(self):
        b = self.ok(self.bulk({"run_ids": [self.small],
                               "metric_key": "loss"}))
        pts = b["metrics"]
        self.assertEqual(sorted(p["step"] for p in pts), [0, 10, 20, 30, 40])
        for p in pts:
            self.assertEqual(p["run_id"], self.small)

    def test_default_max_results_caps_at_2500(self):
        b = self.ok(self.bulk({"run_ids": [self.runs[0]],
                               "metric_key": "loss"}))
        steps = sorted(p["step"] for p in b["metrics"])
        self.assertLessEqual(len(steps), 2502)
        self.assertGreaterEqual(len(steps), 1000)
        self.assertEqual((steps[0], steps[-1]), (0, 9999))

    def test_step_range(self):
        b = self.ok(self.bulk({"run_ids": [self.runs[0]],
                               "metric_key": "loss", "start_step": 100,
                               "end_step": 199, "max_results": 2500}))
        steps = sorted(p["step"] for p in b["metrics"])
        self.assertEqual(steps, list(range(100, 200)))
        b = self.ok(self.bulk({"run_ids": [self.runs[0]],
                               "metric_key": "loss", "start_step": 1000,
                               "end_step": 5000, "max_results": 10}))
        steps = sorted(p["step"] for p in b["metrics"])
        self.assertTrue(all(1000 <= s <= 5000 for s in steps), steps)
        self.assertLessEqual(len(steps), 12)
        self.assertEqual((steps[0], steps[-1]), (1000, 5000))

    def test_full_history_of_10000_points(self):
        h = self.history(self.runs[1], "loss")
        self.assertEqual(len(h), 10000)
        self.assertEqual([m["step"] for m in h], list(range(10000)))
        self.assertEqual(h[1234]["value"], 1234 * 0.5 + 1)

    def test_unknown_key_and_run(self):
        b = self.ok(self.bulk({"run_ids": [self.runs[0]],
                               "metric_key": "nokey"}))
        self.assertNotIn("metrics", b)

    def test_invalid(self):
        rid = self.runs[0]
        cases = [
            {"metric_key": "loss"},
            {"run_ids": [rid]},
            {"run_ids": [rid], "metric_key": "loss", "max_results": 0},
            {"run_ids": [rid], "metric_key": "loss", "max_results": 2501},
            {"run_ids": [rid], "metric_key": "loss", "max_results": -1},
            {"run_ids": [rid], "metric_key": "loss", "max_results": "x"},
            {"run_ids": [rid], "metric_key": "loss", "start_step": 5},
            {"run_ids": [rid], "metric_key": "loss", "end_step": 5},
            {"run_ids": [rid], "metric_key": "loss", "start_step": 10,
             "end_step": 5},
            {"run_ids": [uuid.uuid4().hex for _ in range(101)],
             "metric_key": "loss"},
        ]
        for q in cases:
            with self.subTest(q={k: (v if k != "run_ids" else len(v))
                                 for k, v in q.items()}):
                self.assertBadParam(self.bulk(q))

    def test_hundred_runs_ok(self):
        ids = [self.small] + [uuid.uuid4().hex for _ in range(99)]
        r = self.bulk({"run_ids": ids, "metric_key": "loss"})
        # unknown runs may be ignored or rejected with 404, never 5xx
        self.assertIn(r.status, (200, 404), repr(r))
        if r.status == 200:
            self.assertEqual({m["run_id"] for m in r.body["metrics"]},
                             {self.small})


class HistoryBulkTests(ServerTestCase):
    """GET /ajax-api/2.0/mlflow/metrics/get-history-bulk (MLflow 2.9.2's
    UI): rows ordered by run id, then timestamp, step and value, whatever
    order the ids came in; max_results caps the rows in all."""

    BULK = "/ajax-api/2.0/mlflow/metrics/get-history-bulk"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        c = cls.client
        eid = c.post("experiments/create",
                     {"name": uniq("hbulk")}).body["experiment_id"]
        # three runs with ids in a known order: a... < b... < c...
        cls.ids = ["c" + uuid.uuid4().hex[1:], "a" + uuid.uuid4().hex[1:],
                   "b" + uuid.uuid4().hex[1:]]
        points = [(5, 1, 1.0), (3, 2, 2.0), (3, 1, 3.0), (1, 9, 4.0),
                  (3, 1, 0.5)]  # (timestamp, step, value), out of order
        for n, rid in enumerate(cls.ids):
            r = c.post("runs/create", {"experiment_id": eid, "run_id": rid,
                                       "start_time": 1})
            assert r.status == 200, r
            r = c.post("runs/log-batch", {"run_id": rid, "metrics": [
                {"key": "loss", "value": v + n, "timestamp": t, "step": st}
                for t, st, v in points]})
            assert r.status == 200, r
        cls.points = points

    def bulk(self, ids, **q):
        query = [("run_id", i) for i in ids]
        query += [("metric_key", q.pop("metric_key", "loss"))]
        query += sorted(q.items())
        return self.get(self.BULK, query)

    def expected(self, rid):
        n = self.ids.index(rid)
        return [{"key": "loss", "value": v + n, "timestamp": t, "step": st,
                 "run_id": rid}
                for t, st, v in sorted(self.points)]

    def test_order_is_run_id_then_timestamp_step_value(self):
        for order in (self.ids, list(reversed(self.ids)), sorted(self.ids)):
            with self.subTest(order=[i[0] for i in order]):
                b = self.ok(self.bulk(order))
                want = []
                for rid in sorted(self.ids):
                    want += self.expected(rid)
                self.assertEqual(b["metrics"], want)

    def test_max_results_counts_all_rows(self):
        want = []
        for rid in sorted(self.ids):
            want += self.expected(rid)
        for m in (1, 4, 5, 7, 15, 100):
            with self.subTest(max_results=m):
                b = self.ok(self.bulk(self.ids, max_results=m))
                self.assertEqual(b["metrics"], want[:m])
        # more than 25000 is 25000, not an error
        b = self.ok(self.bulk(self.ids, max_results=10 ** 6))
        self.assertEqual(b["metrics"], want)
        b = self.ok(self.bulk(self.ids, max_results=0))
        self.assertEqual(b, {"metrics": []})

    def test_unknown_runs_keys_and_repeats(self):
        b = self.ok(self.bulk([uuid.uuid4().hex, self.ids[1],
                               self.ids[1]]))
        self.assertEqual(b["metrics"], self.expected(self.ids[1]))
        self.assertEqual(self.ok(self.bulk(self.ids, metric_key="nope")),
                         {"metrics": []})
        self.assertEqual(self.ok(self.bulk([uuid.uuid4().hex])),
                         {"metrics": []})

    def test_mlflow_messages(self):
        r = self.get(self.BULK, {"metric_key": "loss"})
        self.assertBadParam(r)
        self.assertEqual(r.body["message"], "GetMetricHistoryBulk request "
                         "must specify at least one run_id.")
        r = self.get(self.BULK, {"run_id": self.ids[0]})
        self.assertBadParam(r)
        self.assertEqual(r.body["message"], "GetMetricHistoryBulk request "
                         "must specify a metric_key.")
        twenty = self.ids + [uuid.uuid4().hex for _ in range(17)]
        self.ok(self.bulk(twenty))
        r = self.bulk(twenty + [uuid.uuid4().hex])
        self.assertBadParam(r)
        self.assertEqual(r.body["message"], "GetMetricHistoryBulk request "
                         "cannot specify more than 20 run_ids. Received 21 "
                         "run_ids.")
        self.assertBadParam(self.bulk(self.ids, max_results=-1))
        self.assertBadParam(self.bulk(self.ids, max_results="x"))
        # only under /ajax-api/, as in MLflow
        self.assertError(self.get("/api/2.0/mlflow/metrics/get-history-bulk",
                                  {"run_id": self.ids[0],
                                   "metric_key": "loss"}),
                         404, "ENDPOINT_NOT_FOUND")


class GroupCommitTests(ServerTestCase):
    """The writer runs the writes queued together in one transaction, each
    in its savepoint; on PostgreSQL a write's statements are pipelined
    (sent without waiting) and its failure is read before its savepoint is
    released or rolled back to. Writes that fail in the middle of such a
    group: a run that is deleted, a param that changes, and on PostgreSQL a
    latest-metric row locked by another session (the deferred upsert times
    out: the writer's flush at the end of the write reports it)."""

    HOLD_TAG = "gt_group_hold"

    def hold_latest(self, rid, key, seconds):
        """Another session locks the latest_metrics row of (rid, key) for
        'seconds'; returns once the lock is held."""
        sql = ("/* %s */ BEGIN; SELECT 1 FROM latest_metrics WHERE run_pk ="
               " (SELECT run_pk FROM runs WHERE run_id = '%s') AND key = '%s'"
               " FOR UPDATE; SELECT pg_sleep(%g); COMMIT;"
               % (self.HOLD_TAG, rid, key, seconds))
        p = subprocess.Popen([pgtest.PSQL, "-q", "-d", self.server.db, "-c",
                              sql], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        self.holders.append(p)
        for _ in range(200):
            n = pgtest.psql(self.server.db,
                            "SELECT count(*) FROM pg_stat_activity WHERE"
                            " query LIKE '%%pg_sleep(%g)%%' AND"
                            " wait_event = 'PgSleep'" % seconds)
            if n.strip() == "1":
                return
            time.sleep(0.05)
        self.fail("the lock of %s/%s was not taken" % (rid, key))

    def release_holders(self):
        if self.holders:
            pgtest.psql(self.server.db,
                        "SELECT pg_terminate_backend(pid) FROM"
                        " pg_stat_activity WHERE query LIKE '%%%s%%' AND"
                        " pid <> pg_backend_pid()" % self.HOLD_TAG)
        for p in self.holders:
            p.wait(timeout=10)

    def test_failures_in_the_middle_of_a_group(self):
        eid = self.create_experiment()
        ok = [self.create_run(eid)["info"]["run_id"] for _ in range(4)]
        deleted = self.create_run(eid)["info"]["run_id"]
        self.ok(self.post("runs/delete", {"run_id": deleted}))
        conflict = self.create_run(eid)["info"]["run_id"]
        self.ok(self.post("runs/log-parameter",
                          {"run_id": conflict, "key": "p", "value": "v1"}))
        locked = self.create_run(eid)["info"]["run_id"]
        blocker = self.create_run(eid)["info"]["run_id"]
        for rid in (locked, blocker):
            self.ok(self.post("runs/log-metric", {
                "run_id": rid, "key": "m", "value": 1, "timestamp": 1,
                "step": 0}))

        def metric(rid, step):
            return "runs/log-metric", {"run_id": rid, "key": "m",
                                       "value": step / 4, "timestamp": 2,
                                       "step": step}
        writes = [metric(ok[0], 1), metric(deleted, 1), metric(ok[1], 1),
                  ("runs/log-batch", {
                      "run_id": conflict,
                      "params": [{"key": "p", "value": "v2"}],
                      "metrics": [{"key": "m", "value": 1, "timestamp": 2,
                                   "step": 1}]}),
                  metric(ok[2], 1)]
        if ON_POSTGRES:
            # two points: the pipelined path, whose failure the writer
            # reads at the end of the write
            writes.append(("runs/log-batch", {
                "run_id": locked,
                "metrics": [{"key": "m", "value": 2, "timestamp": 2,
                             "step": s} for s in (1, 2)]}))
        writes.append(metric(ok[3], 1))
        results = [None] * len(writes)

        def send(i):
            c = self.server.client()
            try:
                results[i] = c.post(*writes[i])
            finally:
                c.close()

        self.holders = []
        threads = []
        blocked = []  # the blocker's status
        try:
            if ON_POSTGRES:
                # the writer waits on the blocker's row while the writes
                # queue up behind it: they make the next group together
                self.hold_latest(blocker, "m", 1.5)
                self.hold_latest(locked, "m", 20)
                t = threading.Thread(target=lambda: blocked.append(
                    self.post(*metric(blocker, 1)).status))
                t.start()
                threads.append(t)
                time.sleep(0.3)
            for i in range(len(writes)):
                t = threading.Thread(target=send, args=(i,))
                t.start()
                threads.append(t)
                time.sleep(0.02)
            for t in threads:
                t.join(timeout=60)
        finally:
            if ON_POSTGRES:
                self.release_holders()
        want = [200, 400, 200, 400, 200] + ([503] if ON_POSTGRES else []) \
            + [200]
        self.assertEqual([r.status if r else None for r in results], want,
                         [repr(r) for r in results])
        self.assertIn("must be in the 'active' state",
                      results[1].body["message"])
        self.assertEqual(results[3].body["error_code"],
                         "INVALID_PARAMETER_VALUE")
        # the others committed, the failing ones left nothing
        for rid in ok:
            self.assertEqual([m["step"] for m in self.history(rid, "m")],
                             [1], rid)
        self.assertEqual(self.history(deleted, "m"), [])
        self.assertEqual(self.history(conflict, "m"), [])
        run = self.get_run(conflict)
        self.assertEqual({p["key"]: p["value"]
                          for p in run["data"]["params"]}, {"p": "v1"})
        if ON_POSTGRES:
            self.assertIn("retry-after", results[5].headers, repr(results[5]))
            self.assertEqual(blocked, [200])
            self.assertEqual([m["step"] for m in self.history(locked, "m")],
                             [0])
            run = self.get_run(locked)
            self.assertEqual(run["data"]["metrics"][0]["step"], 0)
            self.assertEqual([m["step"] for m in self.history(blocker, "m")],
                             [0, 1])
        # and the writer goes on
        self.ok(self.post(*metric(ok[0], 2)))
        self.assertEqual([m["step"] for m in self.history(ok[0], "m")],
                         [1, 2])
