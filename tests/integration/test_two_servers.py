# SPDX-License-Identifier: MIT
"""Two greentrack servers on one PostgreSQL database behave as one
(issue 16): what either writes, the other reads at once (experiments,
runs, a 1000-point history written half through each, searches, deletes,
the leaderboard after a location change made through the other server,
with both boards cached first), ids stay unique without coordination, a
client-chosen run id is idempotent across them, and races on a name end
as the database's constraint says: one server wins, the other answers
RESOURCE_ALREADY_EXISTS. Always on PostgreSQL (the make test cluster),
whichever backend the pass is for: it is a PostgreSQL feature."""
import threading
import time
import unittest
import uuid

import pgtest
from harness import Server, uniq

GT = "/api/2.0/greentrack/"
MJ36 = 3.6e6  # joules in one kWh


class TwoServers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        url = pgtest.fresh_database("gt_two_servers")
        cls.servers = []
        try:
            for label in ("A", "B"):
                s = Server(db=url, label="server" + label)
                s.start()
                cls.servers.append(s)
        except Exception:
            for s in cls.servers:
                s.stop()
            raise
        cls.a = cls.servers[0].client()
        cls.b = cls.servers[1].client()

    @classmethod
    def tearDownClass(cls):
        for c in (cls.a, cls.b):
            c.close()
        for s in cls.servers:
            rc, _ = s.stop()
            assert rc == 0, "%s exited %r" % (s.label, rc)
            s.cleanup()

    def ok(self, resp):
        self.assertEqual(resp.status, 200, resp)
        return resp.body

    def pair(self):
        return ((self.a, self.b), (self.b, self.a))

    def new_experiment(self, via):
        return self.ok(via.post("experiments/create",
                                {"name": uniq("two")}))["experiment_id"]

    def new_run(self, via, exp, **kw):
        body = {"experiment_id": exp}
        body.update(kw)
        return self.ok(via.post("runs/create", body))["run"]["info"]["run_id"]

    def test_experiments_and_runs_either_way(self):
        for w, r in self.pair():
            exp = self.new_experiment(w)
            got = self.ok(r.get("experiments/get", {"experiment_id": exp}))
            self.assertEqual(got["experiment"]["experiment_id"], exp)
            rid = self.new_run(w, exp)
            self.ok(w.post("runs/log-batch", {
                "run_id": rid, "params": [{"key": "lr", "value": "0.1"}],
                "tags": [{"key": "team", "value": "x"}]}))
            run = self.ok(r.get("runs/get", {"run_id": rid}))["run"]
            self.assertEqual(run["data"]["params"],
                             [{"key": "lr", "value": "0.1"}])
            self.assertIn({"key": "team", "value": "x"}, run["data"]["tags"])

    def test_history_written_through_both(self):
        exp = self.new_experiment(self.a)
        rid = self.new_run(self.a, exp)
        for half, via in enumerate((self.a, self.b)):
            for first in range(0, 500, 100):
                metrics = [{"key": "loss", "value": step * 0.5,
                            "timestamp": 1000 + step, "step": step}
                           for step in range(half * 500 + first,
                                             half * 500 + first + 100)]
                self.ok(via.post("runs/log-batch",
                                 {"run_id": rid, "metrics": metrics}))
        for via in (self.a, self.b):
            hist = self.ok(via.get("metrics/get-history", {
                "run_id": rid, "metric_key": "loss",
                "max_results": 5000}))["metrics"]
            self.assertEqual(len(hist), 1000)
            self.assertEqual(sorted(m["step"] for m in hist),
                             list(range(1000)))
            run = self.ok(via.get("runs/get", {"run_id": rid}))["run"]
            latest = {m["key"]: m for m in run["data"]["metrics"]}
            self.assertEqual(latest["loss"]["step"], 999)

    def test_search_and_delete_either_way(self):
        for w, r in self.pair():
            exp = self.new_experiment(w)
            rids = [self.new_run(w, exp) for _ in range(3)]
            for i, rid in enumerate(rids):
                self.ok(w.post("runs/log-metric", {
                    "run_id": rid, "key": "acc", "value": 0.1 * (i + 1),
                    "timestamp": 1, "step": 0}))
            found = self.ok(r.post("runs/search", {
                "experiment_ids": [exp], "filter": "metrics.acc > 0.15",
                "order_by": ["metrics.acc DESC"]}))["runs"]
            self.assertEqual([x["info"]["run_id"] for x in found],
                             [rids[2], rids[1]])
            self.ok(w.post("runs/delete", {"run_id": rids[2]}))
            found = self.ok(r.post("runs/search", {
                "experiment_ids": [exp], "filter": "metrics.acc > 0.15"}))
            self.assertEqual([x["info"]["run_id"] for x in found["runs"]],
                             [rids[1]])
            run = self.ok(r.get("runs/get", {"run_id": rids[2]}))["run"]
            self.assertEqual(run["info"]["lifecycle_stage"], "deleted")
            self.ok(w.post("experiments/delete", {"experiment_id": exp}))
            got = self.ok(r.get("experiments/get", {"experiment_id": exp}))
            self.assertEqual(got["experiment"]["lifecycle_stage"], "deleted")

    def board(self, via, exp):
        return [x["run_id"] for x in self.ok(via.get(
            GT + "leaderboard",
            {"experiment_id": exp, "metric": "acc"}))["runs"]]

    def test_leaderboard_sees_the_other_servers_writes(self):
        for w, r in self.pair():
            exp = self.new_experiment(w)
            runs = []
            for acc in (0.5, 0.6):
                rid = self.new_run(w, exp)
                self.ok(w.post("runs/log-batch", {
                    "run_id": rid,
                    "metrics": [{"key": "acc", "value": acc,
                                 "timestamp": 1}],
                    "tags": [{"key": "greentrack.country", "value": "FRA"}]}))
                self.ok(w.post(GT + "runs/log-energy", {
                    "run_id": rid, "samples": [{
                        "start_time": 0, "end_time": 1000,
                        "cpu_energy_j": MJ36, "cpu_method": "rapl"}]}))
                runs.append(rid)
            low, high = runs
            # both servers cache the board first
            for via in (r, w, r):
                self.assertEqual(self.board(via, exp), [high, low])
            # a location change through the writer: 12x the CO2 per kWh
            self.ok(w.post("runs/set-tag", {
                "run_id": high, "key": "greentrack.country", "value": "POL"}))
            self.assertEqual(self.board(r, exp), [low, high])
            # a metric through the reader's peer, read on the other
            self.ok(r.post("runs/log-metric", {
                "run_id": low, "key": "acc", "value": 0.01, "timestamp": 2,
                "step": 1}))
            self.assertEqual(self.board(w, exp), [high, low])
            self.ok(w.post("runs/delete", {"run_id": high}))
            self.assertEqual(self.board(r, exp), [low])

    def test_ids_unique_without_coordination(self):
        exps, rids = [], []
        for i in range(20):
            via = (self.a, self.b)[i % 2]
            exps.append(self.new_experiment(via))
            rids.append(self.new_run(via, exps[-1]))
        self.assertEqual(len(set(exps)), 20)
        self.assertEqual(len(set(rids)), 20)

    def test_client_chosen_run_id_is_idempotent_across_servers(self):
        exp = self.new_experiment(self.a)
        chosen = uuid.uuid4().hex
        first = self.ok(self.a.post("runs/create", {
            "experiment_id": exp, "run_id": chosen}))["run"]["info"]
        again = self.ok(self.b.post("runs/create", {
            "experiment_id": exp, "run_id": chosen}))["run"]["info"]
        self.assertEqual(first["run_id"], chosen)
        self.assertEqual(again["run_id"], chosen)
        found = self.ok(self.b.post("runs/search",
                                    {"experiment_ids": [exp]}))["runs"]
        self.assertEqual(len(found), 1)

    def test_name_races_end_as_the_constraint_says(self):
        for round_ in range(10):
            name = uniq("race%d" % round_)
            results = [None, None]
            gate = threading.Barrier(2)

            def create(i, server):
                c = server.client()
                try:
                    gate.wait()
                    results[i] = c.post("experiments/create", {"name": name})
                finally:
                    c.close()
            threads = [threading.Thread(target=create, args=(i, s))
                       for i, s in enumerate(self.servers)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            codes = sorted(r.status for r in results)
            self.assertEqual(codes, [200, 400], results)
            loser = [r for r in results if r.status == 400][0]
            self.assertEqual(loser.body["error_code"],
                             "RESOURCE_ALREADY_EXISTS", loser)
            winner = [r for r in results if r.status == 200][0]
            for via in (self.a, self.b):
                got = self.ok(via.get("experiments/get-by-name",
                                      {"experiment_name": name}))
                self.assertEqual(got["experiment"]["experiment_id"],
                                 winner.body["experiment_id"])


def wait_for(pred, seconds=60):
    """Polls 'pred' until true or 'seconds' pass (a bound on a hang, never
    a speed); returns its last value."""
    deadline = time.monotonic() + seconds
    while True:
        v = pred()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(0.2)


class Singletons(unittest.TestCase):
    """The heartbeat reaper (and the grid refresh, by the same lock code)
    runs on one server at a time; when that server dies, another takes the
    work over and stale runs still end KILLED."""

    def test_one_reaper_and_a_takeover(self):
        url = pgtest.fresh_database("gt_two_singletons")
        args = ["--heartbeat-timeout", "2", "--log-level", "info"]
        servers = [Server(db=url, args=args, label="reap" + x).start()
                   for x in ("A", "B")]
        try:
            def holders():
                return [s for s in servers if "singleton heartbeat reaper: "
                        "this server runs it" in s.stderr_text()]
            self.assertTrue(wait_for(lambda: len(holders()) == 1
                                     and all("singleton heartbeat reaper"
                                             in s.stderr_text()
                                             for s in servers)))
            holder = holders()[0]
            other = [s for s in servers if s is not holder][0]
            self.assertIn("singleton heartbeat reaper: another server holds "
                          "it", other.stderr_text())
            holder.kill()  # SIGKILL: its session, and the lock, end
            self.assertTrue(wait_for(lambda: "this server runs it"
                                     in other.stderr_text()))
            c = other.client()
            try:
                rid = self.create_beating_run(c)
                self.assertTrue(wait_for(lambda: c.get(
                    "runs/get", {"run_id": rid}).body["run"]["info"]
                    ["status"] == "KILLED"))
            finally:
                c.close()
        finally:
            for s in servers:
                s.stop()
                s.cleanup()

    def create_beating_run(self, c):
        r = c.post("runs/create", {"experiment_id": "0"})
        self.assertEqual(r.status, 200, r)
        rid = r.body["run"]["info"]["run_id"]
        r = c.post(GT + "runs/heartbeat", {"run_id": rid})
        self.assertEqual(r.status, 200, r)
        return rid


if __name__ == "__main__":
    unittest.main()
