# SPDX-License-Identifier: MIT
"""Crash durability: SIGKILL the server during a multi-threaded write load,
restart it on the same DB, and check that every acknowledged write is there
exactly as sent, that no log-batch is half-written, and that nothing appears
that was never sent."""

import threading
import time
import unittest

from harness import Client, Server, uniq

THREADS = 5
BATCH_METRICS = 20
MIN_ACKED = 50  # acknowledged writes before the kill, at least
TS0 = 1700000000000


def value_of(thread, n, j=0):
    return thread * 1000.0 + n / 7.0 + j / 3.0


class Load:
    """One writer thread: its own run, its own keys."""

    def __init__(self, srv, rid, idx):
        self.srv, self.rid, self.idx = srv, rid, idx
        self.acked = set()       # request numbers answered 200
        self.unknown = set()     # sent, no answer (may or may not be stored)
        self.rejected = {}       # answered non-200: n -> status
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def request(self, n):
        if n % 2 == 0:
            return "runs/log-metric", {
                "run_id": self.rid, "key": "m", "value": value_of(self.idx, n),
                "timestamp": TS0 + n, "step": n}
        return "runs/log-batch", {
            "run_id": self.rid,
            "metrics": [{"key": "b", "value": value_of(self.idx, n, j),
                         "timestamp": TS0 + n, "step": n * 100 + j}
                        for j in range(BATCH_METRICS)],
            "params": [{"key": "p%d" % n, "value": "v%d" % n}],
            "tags": [{"key": "t%d" % n, "value": "w%d" % n}]}

    def loop(self):
        c = Client(self.srv.host, self.srv.port, timeout=10)
        n = 0
        while not self.stop.is_set():
            path, body = self.request(n)
            try:
                r = c.post(path, body)
            except Exception:
                self.unknown.add(n)
                c.close()
                if not self.srv.alive():
                    break
                n += 1
                continue
            if r.status == 200:
                self.acked.add(n)
            else:
                self.rejected[n] = r.status
            n += 1
        self.sent = n
        c.close()


class DurabilityTests(unittest.TestCase):
    maxDiff = 2000

    def crash_and_check(self, load_seconds, extra_args):
        srv = Server(args=extra_args, label="durability-1").start()
        c = srv.client()
        eid = c.post("experiments/create",
                     {"name": uniq("dur")}).body["experiment_id"]
        rids = []
        for _ in range(THREADS):
            r = c.post("runs/create", {"experiment_id": eid, "start_time": 1})
            self.assertEqual(r.status, 200, r)
            rids.append(r.body["run"]["info"]["run_id"])
        c.close()
        loads = [Load(srv, rid, i) for i, rid in enumerate(rids)]
        for ld in loads:
            ld.thread.start()
        # load for load_seconds, and on a slow machine until enough writes
        # were acknowledged to mean something (60 s at most): the kill may
        # land anywhere, the checks below hold for every interleaving
        t0 = time.monotonic()
        while time.monotonic() - t0 < load_seconds or (
                sum(len(ld.acked) for ld in loads) <= MIN_ACKED and
                time.monotonic() - t0 < 60):
            time.sleep(0.05)
        srv.kill()  # SIGKILL, mid-load
        for ld in loads:
            ld.stop.set()
        for ld in loads:
            ld.thread.join(15)
            self.assertFalse(ld.thread.is_alive(), "writer hung")
        total_acked = sum(len(ld.acked) for ld in loads)
        print("\n  %s: %d writes acknowledged, %d unanswered at the kill"
              % (extra_args or "default", total_acked,
                 sum(len(ld.unknown) for ld in loads)), end=" ")
        self.assertGreater(total_acked, MIN_ACKED,
                           "load too small to mean much")
        for ld in loads:
            self.assertEqual(ld.rejected, {},
                             "writes rejected before the crash")

        srv2 = Server(tmpdir=srv.tmpdir, db=srv.db,
                      artifact_root=srv.artifact_root,
                      label="durability-2").start()
        try:
            c = srv2.client()
            for ld in loads:
                self.check_run(c, ld)
            # and the server works normally
            r = c.post("runs/log-metric", {"run_id": rids[0], "key": "after",
                                           "value": 1.5, "timestamp": 5})
            self.assertEqual(r.status, 200, r)
            r = c.get("metrics/get-history", {"run_id": rids[0],
                                              "metric_key": "after"})
            self.assertEqual(r.body["metrics"], [{"key": "after",
                                                  "value": 1.5,
                                                  "timestamp": 5,
                                                  "step": 0}])
            r = c.post("experiments/create", {"name": uniq("after")})
            self.assertEqual(r.status, 200, r)
            r = c.post("runs/search", {"experiment_ids": [eid]})
            self.assertEqual(len(r.body["runs"]), THREADS)
            c.close()
        finally:
            rc, _ = srv2.stop()
        self.assertEqual(rc, 0)
        srv.cleanup()
        return total_acked

    def check_run(self, c, ld):
        sent_ok = ld.acked | ld.unknown
        r = c.get("metrics/get-history", {"run_id": ld.rid, "metric_key": "m"})
        self.assertEqual(r.status, 200, r)
        got_m = {}
        for p in r.body.get("metrics", []):
            n = p["step"]
            self.assertNotIn(n, got_m, "duplicate point %r" % p)
            got_m[n] = p
        for n, p in got_m.items():
            self.assertIn(n, sent_ok, "point never sent: %r" % p)
            self.assertEqual(n % 2, 0)
            self.assertEqual(p, {"key": "m", "value": value_of(ld.idx, n),
                                 "timestamp": TS0 + n, "step": n})
        missing = sorted(n for n in ld.acked if n % 2 == 0 and n not in got_m)
        self.assertEqual(missing, [], "acknowledged log-metric lost")

        r = c.get("metrics/get-history", {"run_id": ld.rid, "metric_key": "b"})
        self.assertEqual(r.status, 200, r)
        groups = {}
        for p in r.body.get("metrics", []):
            n, j = divmod(p["step"], 100)
            self.assertEqual(p, {"key": "b", "value": value_of(ld.idx, n, j),
                                 "timestamp": TS0 + n, "step": n * 100 + j})
            groups.setdefault(n, set()).add(j)
        for n, js in groups.items():
            self.assertIn(n, sent_ok, "batch never sent: %d" % n)
            self.assertEqual(js, set(range(BATCH_METRICS)),
                             "log-batch %d half-written" % n)
        missing = sorted(n for n in ld.acked if n % 2 and n not in groups)
        self.assertEqual(missing, [], "acknowledged log-batch lost")

        r = c.get("runs/get", {"run_id": ld.rid})
        self.assertEqual(r.status, 200, r)
        data = r.body["run"].get("data", {})
        params = {p["key"]: p["value"] for p in data.get("params", [])}
        tags = {t["key"]: t["value"] for t in data.get("tags", [])
                if t["key"].startswith("t")}
        pn = {int(k[1:]) for k in params}
        tn = {int(k[1:]) for k in tags}
        self.assertEqual(pn, set(groups), "params and metrics of a batch "
                         "must be all-or-nothing")
        self.assertEqual(tn, set(groups), "tags and metrics of a batch "
                         "must be all-or-nothing")
        for n in pn:
            self.assertEqual(params["p%d" % n], "v%d" % n)
            self.assertEqual(tags["t%d" % n], "w%d" % n)
        latest = {m["key"]: m for m in data.get("metrics", [])}
        if got_m:
            top = max(got_m)
            self.assertEqual(latest["m"]["step"], top,
                             "latest metric inconsistent with history")

    def test_sigkill_during_load_default(self):
        self.crash_and_check(6.0, [])

    def test_sigkill_during_load_normal_durability(self):
        # a process crash (not a power cut) loses nothing even in 'normal'
        self.crash_and_check(3.0, ["--durability", "normal"])


if __name__ == "__main__":
    unittest.main()
