# SPDX-License-Identifier: MIT
"""GET /api/2.0/greentrack/leaderboard (an experiment's runs ranked by
metric per kg CO2, with the Pareto front of metric against CO2; scores,
paging, filters, the cached board following writes) and GET
/api/2.0/greentrack/experiments/summary. Known inputs are checked against
hand-computed grams."""
from harness import ServerTestCase

GT = "/api/2.0/greentrack/"
MJ36 = 3.6e6  # joules in one kWh
FRA = 56.039   # data/country_carbon_intensity.csv, 2023 ("56.0 g per kWh")


def sample(start, end, **kw):
    s = {"start_time": start, "end_time": end}
    s.update(kw)
    return s


class LeaderboardTests(ServerTestCase):
    def setUp(self):
        self.exp = self.create_experiment()

    def run_with(self, acc=None, kwh=None, country="FRA", start=None, **extra):
        body = {}
        if start is not None:
            body["start_time"] = start
        rid = self.create_run(self.exp, **body)["info"]["run_id"]
        batch = {"run_id": rid, "tags": [
            {"key": "greentrack.country", "value": country}]}
        if acc is not None:
            batch["metrics"] = [{"key": "acc", "value": acc, "timestamp": 1}]
        batch["params"] = [{"key": k, "value": v} for k, v in extra.items()]
        self.ok(self.post("runs/log-batch", batch))
        if kwh is not None:
            self.ok(self.post(GT + "runs/log-energy", {
                "run_id": rid, "samples": [sample(0, 1000,
                                                  cpu_energy_j=kwh * MJ36,
                                                  cpu_method="rapl")]}))
        return rid

    def board(self, **q):
        q.setdefault("experiment_id", self.exp)
        q.setdefault("metric", "acc")
        return self.ok(self.get(GT + "leaderboard", q))

    def test_scores_order_pareto_and_the_unscored_last(self):
        a = self.run_with(0.90, 1.0)            # 56.039 g
        b = self.run_with(0.95, 2.0, "POL")     # 1323.852 g: best accuracy
        c = self.run_with(0.80, 0.1)            # 5.6039 g: least CO2
        g = self.run_with(0.85, 1.5)            # dominated by a
        d = self.run_with(0.99, None)           # no energy
        e = self.run_with(None, 1.0)            # no metric
        f = self.run_with(0.99, 0.01)
        self.ok(self.post("runs/delete", {"run_id": f}))
        runs = self.board()["runs"]
        ids = [r["run_id"] for r in runs]
        self.assertEqual(ids[:4], [c, a, g, b])   # acc per kg, best first
        self.assertEqual(sorted(ids[4:]), sorted([d, e]))
        self.assertNotIn(f, ids)
        by = {r["run_id"]: r for r in runs}
        self.assertAlmostEqual(by[a]["score"], 0.90 / (FRA / 1000))
        self.assertAlmostEqual(by[a]["co2_g"], FRA)
        self.assertAlmostEqual(by[a]["energy_kwh"], 1.0)
        self.assertEqual([by[x]["rank"] for x in (c, a, g, b)], [1, 2, 3, 4])
        self.assertEqual({x for x in by if by[x]["pareto"]}, {a, b, c})
        for x in (d, e):
            self.assertIsNone(by[x]["score"])
            self.assertIsNone(by[x]["rank"])
            self.assertFalse(by[x]["pareto"])
        self.assertIsNone(by[d]["co2_g"])
        self.assertIsNone(by[e]["metric_value"])
        self.assertEqual(by[a]["status"], "RUNNING")
        self.assertFalse(by[a]["estimated"])

    def test_min_direction_paging_and_filter(self):
        low = self.run_with(0.2, 1.0, team="x")
        high = self.run_with(0.4, 1.0, team="x")
        other = self.run_with(0.1, 1.0, team="y")
        b = self.board(direction="min")
        self.assertEqual([r["run_id"] for r in b["runs"]], [other, low, high])
        page1 = self.board(direction="min", max_results=2)
        self.assertEqual(len(page1["runs"]), 2)
        page2 = self.board(direction="min", max_results=2,
                           page_token=page1["next_page_token"])
        self.assertEqual([r["run_id"] for r in page2["runs"]], [high])
        self.assertNotIn("next_page_token", page2)
        narrowed = self.board(filter="params.team = 'x'")
        self.assertEqual({r["run_id"] for r in narrowed["runs"]}, {low, high})
        self.assertBadParam(self.get(GT + "leaderboard", {
            "experiment_id": self.exp, "metric": "acc",
            "filter": "params.team = x"}))
        self.assertBadParam(self.get(GT + "leaderboard", {
            "experiment_id": self.exp, "metric": "acc", "direction": "up"}))
        self.assertNotFound(self.get(GT + "leaderboard", {
            "experiment_id": "424242", "metric": "acc"}))

    def test_cached_board_follows_writes(self):
        a = self.run_with(0.5, 1.0)
        b = self.run_with(0.6, 1.0)
        self.assertEqual([r["run_id"] for r in self.board()["runs"]], [b, a])
        self.assertEqual([r["run_id"] for r in self.board()["runs"]], [b, a])
        self.ok(self.post("runs/log-metric", {"run_id": a, "key": "acc",
                                              "value": 0.9, "timestamp": 2,
                                              "step": 1}))
        self.assertEqual([r["run_id"] for r in self.board()["runs"]], [a, b])
        self.tag(a, "greentrack.country", "POL")  # 12x the CO2 per kWh
        self.assertEqual(self.board()["runs"][0]["run_id"], b)
        self.ok(self.post("runs/delete", {"run_id": b}))
        self.assertEqual([r["run_id"] for r in self.board()["runs"]], [a])

    def tag(self, run_id, key, value):
        self.ok(self.post("runs/set-tag", {"run_id": run_id, "key": key,
                                           "value": value}))

    def test_patched_board_equals_a_fresh_one(self):
        """After each random write, the board patched from the cached one
        (only the changed runs re-read) equals a board built from scratch
        (a filter never seen before forces one), for max and min, with and
        without a filter."""
        import random
        rnd = random.Random(11)
        runs = []
        for i in range(60):
            acc = rnd.choice([None, 0.5, 0.7, rnd.random()])
            kwh = rnd.choice([None, 0.0, 1.0, rnd.random() * 3])
            runs.append(self.run_with(acc, kwh, team=rnd.choice("xy")))
        keys = [dict(), dict(direction="min"),
                dict(filter="params.team = 'x'")]

        def fresh(i, q):
            q = dict(q)
            extra = "attributes.run_name != 'never-%d'" % i
            q["filter"] = (q["filter"] + " and " + extra
                           if "filter" in q else extra)
            return strip(self.board(max_results=1000, **q)["runs"])

        def strip(rows):  # an unended run's duration grows between calls
            for r in rows:
                del r["duration_s"]
            return rows

        for q in keys:
            self.board(max_results=1000, **q)  # cache the first boards
        for i in range(40):
            rid = rnd.choice(runs)
            op = rnd.randrange(6)
            if op == 0:
                self.ok(self.post("runs/log-metric", {
                    "run_id": rid, "key": "acc", "value": rnd.random(),
                    "timestamp": 10 + i, "step": i}))
            elif op == 1:
                self.post("runs/delete", {"run_id": rid})
            elif op == 2:
                self.post("runs/restore", {"run_id": rid})
            elif op == 3:
                self.post("runs/set-tag", {  # 400 for a deleted run
                    "run_id": rid, "key": "greentrack.country",
                    "value": rnd.choice(["FRA", "POL", "DEU"])})
            elif op == 4:
                self.post("runs/update", {
                    "run_id": rid, "status": "FINISHED",
                    "run_name": "r%d" % i})
            else:
                r = self.create_run(self.exp)["info"]["run_id"]
                runs.append(r)
            for j, q in enumerate(keys):
                patched = strip(self.board(max_results=1000, **q)["runs"])
                self.assertEqual(patched, fresh(i * 10 + j, q),
                                 "after op %d on %s, %r" % (op, rid, q))

    def test_zero_co2_gives_a_finite_score(self):
        rid = self.run_with(0.5, 0.0)
        r = self.board()["runs"][0]
        self.assertEqual(r["run_id"], rid)
        self.assertEqual(r["co2_g"], 0)
        self.assertAlmostEqual(r["score"], 0.5 / 1e-6)

    def test_experiment_summary(self):
        self.run_with(0.9, 1.0)
        self.run_with(0.9, 2.0)
        body = self.ok(self.get(GT + "experiments/summary"))
        mine = [x for x in body["experiments"]
                if x["experiment_id"] == self.exp][0]
        self.assertEqual((mine["runs"], mine["running"]), (2, 2))
        self.assertAlmostEqual(mine["energy_kwh"], 3.0)
        self.assertAlmostEqual(mine["co2_g"], 3 * FRA)
        self.assertGreater(mine["last_activity"], 0)
