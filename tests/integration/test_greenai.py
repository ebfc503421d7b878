"""Green-AI decisions (issue 18, docs/api.md "Green-AI decisions"):
runs/log-phase and the phases of runs/carbon (energy split across phases
pro rata by time overlap), lineage (greentrack.base_run_id,
greentrack.base_model, greentrack.base_co2_kg: upstream, sharing_runs,
amortized, the chain and the refusal of cycles), the leaderboard's cost=
and upstream=, GET greentrack/hardware, the cleanest cloud regions and the
best start window over recorded grid data (the fake UK provider), carbon
budgets and potential savings in experiments/summary, and bad input.
Every expected figure is computed by hand from the shipped tables:
FRA 56.039 g/kWh with PUE 1.0; gcp's PUE 1.12."""
import subprocess
import time

from fake_grid import FakeGrid, now_ms
from harness import ServerTestCase, clean_env, server_binary

GT = "/api/2.0/greentrack/"
MJ36 = 3.6e6   # joules in one kWh
FRA = 56.039   # data/country_carbon_intensity.csv
HOUR = 3600000
MIN = 60000
T0 = 1700000000000  # a fixed past time (ms) for runs without a zone

FAKE = FakeGrid()


def setUpModule():
    FAKE.start()


def tearDownModule():
    FAKE.stop()


def kwh_sample(start, end, kwh):
    return {"start_time": start, "end_time": end,
            "cpu_energy_j": kwh * MJ36, "cpu_method": "rapl"}


class GreenCase(ServerTestCase):
    def tag(self, run_id, key, value):
        return self.post("runs/set-tag", {"run_id": run_id, "key": key,
                                          "value": value})

    def new_run(self, exp="0", kwh=None, start=T0, hours=1, metric=None,
                **tags):
        rid = self.create_run(exp, start_time=start)["info"]["run_id"]
        for k, v in tags.items():
            self.ok(self.tag(rid, "greentrack." + k.replace("__", "."), v))
        if kwh is not None:
            per = kwh / hours
            self.energy(rid, *[kwh_sample(start + i * HOUR,
                                          start + (i + 1) * HOUR, per)
                               for i in range(hours)])
        if metric is not None:
            self.ok(self.post("runs/log-metric", {
                "run_id": rid, "key": "acc", "value": metric,
                "timestamp": start, "step": 0}))
        return rid

    def energy(self, rid, *samples):
        self.ok(self.post(GT + "runs/log-energy",
                          {"run_id": rid, "samples": list(samples)}))

    def phase(self, rid, phase, start, end, **kw):
        body = {"run_id": rid, "phase": phase, "start_time": start,
                "end_time": end}
        body.update(kw)
        return self.post(GT + "runs/log-phase", body)

    def carbon(self, rid):
        return self.ok(self.get(GT + "runs/carbon", {"run_id": rid}))

    def board(self, exp, **q):
        q.update({"experiment_id": exp, "metric": "acc"})
        return self.ok(self.get(GT + "leaderboard", q))["runs"]

    def summary(self, exp):
        b = self.ok(self.get(GT + "experiments/summary",
                             {"experiment_id": exp}))
        self.assertEqual(len(b["experiments"]), 1)
        return b["experiments"][0]


class Phases(GreenCase):
    def test_two_hours_split_train_and_inference(self):
        """A 2-hour run of 1 kWh per hour in FRA, 1 h train and 1 h
        inference with 1000 predictions: the inference phase costs
        56.039 g per 1000 predictions."""
        rid = self.new_run(kwh=2, hours=2, country="FRA")
        self.assertEqual(self.ok(self.phase(rid, "train", T0, T0 + HOUR)), {})
        self.ok(self.phase(rid, "inference", T0 + HOUR, T0 + 2 * HOUR,
                           work_count=1000, work_unit="predictions"))
        c = self.carbon(rid)
        self.assertAlmostEqual(c["co2_g"], 2 * FRA, places=6)
        ph = {p["phase"]: p for p in c["phases"]}
        self.assertEqual([p["phase"] for p in c["phases"]],
                         ["train", "inference"])
        inf = ph["inference"]
        self.assertAlmostEqual(inf["energy_kwh"], 1.0, places=9)
        self.assertAlmostEqual(inf["co2_g"], FRA, places=6)
        self.assertAlmostEqual(inf["co2_g_per_1k_work"], 56.039, places=6)
        self.assertEqual(inf["work_count"], 1000)
        self.assertEqual(inf["work_unit"], "predictions")
        self.assertEqual((inf["start_time"], inf["end_time"]),
                         (T0 + HOUR, T0 + 2 * HOUR))
        tr = ph["train"]
        self.assertAlmostEqual(tr["energy_kwh"], 1.0, places=9)
        self.assertIsNone(tr["work_count"])
        self.assertIsNone(tr["work_unit"])
        self.assertIsNone(tr["co2_g_per_1k_work"])

    def test_samples_split_pro_rata_by_overlap(self):
        """One 2 kWh sample over 2 h; a phase over its last 30 min gets
        0.5 kWh; a phase across two 1 kWh samples (20 min of the first,
        40 min of the second) gets 1/3 + 2/3 = 1 kWh."""
        rid = self.new_run(kwh=2, hours=1, country="FRA")
        # the run's one sample is [T0, T0+1h) with 2 kWh
        self.ok(self.phase(rid, "inference", T0 + 30 * MIN, T0 + HOUR,
                           work_count=500))
        c = self.carbon(rid)
        self.assertAlmostEqual(c["phases"][0]["energy_kwh"], 1.0, places=9)
        self.assertAlmostEqual(c["phases"][0]["co2_g_per_1k_work"],
                               2 * FRA, places=6)
        rid2 = self.new_run(kwh=2, hours=2, country="FRA")
        self.ok(self.phase(rid2, "eval", T0 + 40 * MIN, T0 + 100 * MIN))
        e = self.carbon(rid2)["phases"][0]
        self.assertAlmostEqual(e["energy_kwh"], 1.0, places=9)
        self.assertAlmostEqual(e["co2_g"], FRA, places=6)

    def test_resend_replaces(self):
        rid = self.new_run(kwh=1, country="FRA")
        self.ok(self.phase(rid, "inference", T0, T0 + HOUR, work_count=1000))
        self.ok(self.phase(rid, "inference", T0, T0 + HOUR, work_count=2000,
                           work_unit="tokens"))
        ph = self.carbon(rid)["phases"]
        self.assertEqual(len(ph), 1)
        self.assertEqual(ph[0]["work_count"], 2000)
        self.assertEqual(ph[0]["work_unit"], "tokens")
        self.assertAlmostEqual(ph[0]["co2_g_per_1k_work"], FRA / 2, places=6)
        # a new start time is a second record
        self.ok(self.phase(rid, "inference", T0 + 1, T0 + HOUR))
        self.assertEqual(len(self.carbon(rid)["phases"]), 2)

    def test_phases_follow_location_changes(self):
        """CO2 is computed at read time: a new country changes the phases
        at once (POL 661.926 g/kWh)."""
        rid = self.new_run(kwh=1, country="FRA")
        self.ok(self.phase(rid, "inference", T0, T0 + HOUR, work_count=1000))
        self.ok(self.tag(rid, "greentrack.country", "POL"))
        ph = self.carbon(rid)["phases"][0]
        self.assertAlmostEqual(ph["co2_g_per_1k_work"], 661.926, places=6)

    def test_gc_purges_a_deleted_run_with_phases(self):
        rid = self.new_run(kwh=1, country="FRA")
        keep = self.new_run(kwh=1, country="FRA")
        for r in (rid, keep):
            self.ok(self.phase(r, "inference", T0, T0 + HOUR,
                               work_count=10))
        self.ok(self.post("runs/delete", {"run_id": rid}))
        p = subprocess.run(
            [server_binary(), "gc", "--db", self.server.db,
             "--artifact-root", self.server.artifact_root,
             "--log-level", "warn"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=clean_env(), timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("removed 1 run(s)", p.stdout.decode())
        self.assertNotFound(self.get(GT + "runs/carbon", {"run_id": rid}))
        self.assertEqual(len(self.carbon(keep)["phases"]), 1)

    def test_run_without_phases_or_base(self):
        rid = self.new_run(kwh=1, country="FRA")
        c = self.carbon(rid)
        self.assertEqual(c["phases"], [])
        self.assertIsNone(c["upstream"])
        self.assertEqual(c["alternatives"], [])

    def test_bad_phases(self):
        rid = self.new_run(kwh=1, country="FRA")
        for bad in ("", "a b", "x" * 65, "inférence", "a/b"):
            self.assertBadParam(self.phase(rid, bad, T0, T0 + 1))
        self.ok(self.phase(rid, "x" * 64, T0, T0))  # 64 chars, zero length
        self.assertBadParam(self.phase(rid, "p", T0 + 2, T0 + 1),
                            "start_time <= end_time")
        self.assertBadParam(self.phase(rid, "p", -5, 1))
        self.assertBadParam(self.phase(rid, "p", T0, T0 + 1, work_count=-1))
        self.assertBadParam(self.phase(rid, "p", T0, T0 + 1,
                                       work_count="lots"))
        self.assertBadParam(self.phase(rid, "p", T0, T0 + 1,
                                       work_unit="u" * 65))
        self.assertBadParam(self.post(GT + "runs/log-phase",
                                      {"run_id": rid, "phase": "p",
                                       "start_time": T0}))
        self.assertBadParam(self.post(GT + "runs/log-phase",
                                      {"run_id": rid, "phase": "p",
                                       "start_time": T0,
                                       "end_time": 1e300}))
        self.assertNotFound(self.phase("0" * 32, "p", T0, T0 + 1))
        self.assertNotFound(self.phase("not a run id", "p", T0, T0 + 1))
        # a bad value never reached the store
        names = [p["phase"] for p in self.carbon(rid)["phases"]]
        self.assertEqual(names, ["x" * 64])


class Lineage(GreenCase):
    def test_base_shared_by_two_fine_tunes(self):
        """A base of 10 kWh in FRA (560.39 g) shared by two fine-tunes of
        1 kWh each: upstream 560.39 g and amortized 280.195 g each."""
        base = self.new_run(kwh=10, country="FRA")
        fts = [self.new_run(kwh=1, country="FRA", base_run_id=base)
               for _ in range(2)]
        for ft in fts:
            c = self.carbon(ft)
            u = c["upstream"]
            self.assertEqual(u["base_run_id"], base)
            self.assertAlmostEqual(u["upstream_co2_g"], 560.39, places=6)
            self.assertEqual(u["sharing_runs"], 2)
            self.assertAlmostEqual(u["amortized_co2_g"], 280.195, places=6)
            self.assertEqual(u["chain"], [base])
            self.assertAlmostEqual(c["co2_g"], FRA, places=6)  # apart
        # a deleted fine-tune no longer shares the base
        self.ok(self.post("runs/delete", {"run_id": fts[1]}))
        u = self.carbon(fts[0])["upstream"]
        self.assertEqual(u["sharing_runs"], 1)
        self.assertAlmostEqual(u["amortized_co2_g"], 560.39, places=6)

    def test_chain_is_recursive(self):
        """grand -> ft (1 kWh) -> base (10 kWh): 56.039 + 560.39."""
        base = self.new_run(kwh=10, country="FRA")
        ft = self.new_run(kwh=1, country="FRA", base_run_id=base)
        grand = self.new_run(kwh=1, country="FRA", base_run_id=ft)
        u = self.carbon(grand)["upstream"]
        self.assertEqual(u["chain"], [ft, base])
        self.assertAlmostEqual(u["upstream_co2_g"], 616.429, places=6)
        self.assertEqual(u["sharing_runs"], 1)

    def test_external_base(self):
        """A public model trained elsewhere: 2.5 kg, shared by the two
        runs citing the same source."""
        src = "https://example.org/models/bert-base"
        a = self.new_run(kwh=1, country="FRA", base_co2_kg="2.5",
                         base_source=src)
        self.new_run(kwh=1, country="FRA", base_co2_kg="2.5",
                     base_source=src)
        u = self.carbon(a)["upstream"]
        self.assertIsNone(u["base_run_id"])
        self.assertEqual(u["base_source"], src)
        self.assertEqual(u["chain"], [])
        self.assertAlmostEqual(u["upstream_co2_g"], 2500.0, places=6)
        self.assertEqual(u["sharing_runs"], 2)
        self.assertAlmostEqual(u["amortized_co2_g"], 1250.0, places=6)
        # a run on a base that itself builds on the external model
        b = self.new_run(kwh=1, country="FRA", base_run_id=a)
        u = self.carbon(b)["upstream"]
        self.assertAlmostEqual(u["upstream_co2_g"], FRA + 2500.0, places=6)

    def test_base_model_resolves_through_the_registry(self):
        base = self.new_run(kwh=10, country="FRA")
        name = "greenai-base-%d" % now_ms()
        self.ok(self.post("registered-models/create", {"name": name}))
        self.ok(self.post("model-versions/create", {
            "name": name, "source": "runs:/%s/model" % base, "run_id": base}))
        ft = self.new_run(kwh=1, country="FRA", base_model=name + "/1")
        u = self.carbon(ft)["upstream"]
        self.assertEqual(u["base_run_id"], base)
        self.assertEqual(u["base_model"], name + "/1")
        self.assertAlmostEqual(u["upstream_co2_g"], 560.39, places=6)

    def test_cycles_are_refused(self):
        a = self.new_run(kwh=1, country="FRA")
        b = self.new_run(kwh=1, country="FRA", base_run_id=a)
        c = self.new_run(kwh=1, country="FRA", base_run_id=b)
        self.assertBadParam(self.tag(a, "greentrack.base_run_id", c), "cycle")
        self.assertBadParam(self.tag(a, "greentrack.base_run_id", b), "cycle")
        self.assertBadParam(self.tag(a, "greentrack.base_run_id", a),
                            "own base")
        # through log-batch as well, and nothing of the batch is kept
        r = self.post("runs/log-batch", {"run_id": a, "tags": [
            {"key": "note", "value": "x"},
            {"key": "greentrack.base_run_id", "value": c}]})
        self.assertBadParam(r, "cycle")
        self.assertNotIn("note", self.run_tags(self.get_run(a)))
        self.assertIsNone(self.carbon(a)["upstream"])
        # unknown base and bad kg
        self.assertBadParam(self.tag(a, "greentrack.base_run_id", "f" * 32),
                            "no run")
        self.assertBadParam(self.tag(a, "greentrack.base_co2_kg", "lots"))
        self.assertBadParam(self.tag(a, "greentrack.base_co2_kg", "-1"))
        # runs/create's tags are checked too
        r = self.post("runs/create", {"experiment_id": "0", "tags": [
            {"key": "greentrack.base_run_id", "value": "e" * 32}]})
        self.assertBadParam(r, "no run")
        r = self.ok(self.post("runs/create", {"experiment_id": "0", "tags": [
            {"key": "greentrack.base_run_id", "value": c}]}))
        self.assertEqual(self.carbon(r["run"]["info"]["run_id"])[
            "upstream"]["chain"], [c, b, a])
        # a legal change is still accepted
        d = self.new_run(kwh=1, country="FRA")
        self.ok(self.tag(a, "greentrack.base_run_id", d))
        self.assertEqual(self.carbon(c)["upstream"]["chain"], [b, a, d])

    def test_depth_limit(self):
        prev = self.new_run()
        for _ in range(32):
            prev = self.new_run(base_run_id=prev)
        # a chain of 33 runs ends at 'prev': building on it would make
        # 33 bases, more than the 32 followed
        self.assertBadParam(self.tag(self.new_run(), "greentrack.base_run_id",
                                     prev), "deeper")
        u = self.carbon(prev)["upstream"]
        self.assertEqual(len(u["chain"]), 32)


class Leaderboards(GreenCase):
    def test_cost_inference_reorders(self):
        """F: acc 0.92, 1 kWh train + 1 kWh inference for 1000
        predictions; P (pruned): acc 0.90, 2 kWh train + 1 kWh inference
        for 4000. Total ranks F first (0.92/0.112078 > 0.90/0.168117);
        inference ranks P first: 0.90 / 14.00975 kg per 1M predictions
        against 0.92 / 56.039."""
        exp = self.create_experiment()
        f = self.new_run(exp, kwh=2, hours=2, metric=0.92, country="FRA")
        self.ok(self.phase(f, "train", T0, T0 + HOUR))
        self.ok(self.phase(f, "inference", T0 + HOUR, T0 + 2 * HOUR,
                           work_count=1000, work_unit="predictions"))
        p = self.new_run(exp, kwh=3, hours=3, metric=0.90, country="FRA")
        self.ok(self.phase(p, "train", T0, T0 + 2 * HOUR))
        self.ok(self.phase(p, "inference", T0 + 2 * HOUR, T0 + 3 * HOUR,
                           work_count=4000, work_unit="predictions"))
        n = self.new_run(exp, kwh=1, metric=0.99, country="FRA")
        total = self.board(exp)
        self.assertEqual([r["run_id"] for r in total], [n, f, p])
        self.assertNotIn("upstream_co2_g", total[0])  # a plain board
        self.assertEqual([r["run_id"] for r in self.board(exp, cost="total")],
                         [n, f, p])
        inf = self.board(exp, cost="inference")
        self.assertEqual([r["run_id"] for r in inf], [p, f, n])
        self.assertAlmostEqual(inf[0]["score"], 0.90 / 14.00975, places=9)
        self.assertAlmostEqual(inf[0]["inference_co2_g_per_1k_work"],
                               FRA / 4, places=6)
        self.assertAlmostEqual(inf[1]["inference_co2_g_per_1k_work"], FRA,
                               places=6)
        self.assertIsNone(inf[2]["rank"])  # no inference phase: last
        self.assertIsNone(inf[2]["score"])
        self.assertIsNone(inf[2].get("inference_co2_g_per_1k_work"))
        # the runs' own CO2 stays what it is
        self.assertAlmostEqual(inf[0]["co2_g"], 3 * FRA, places=6)
        train = self.board(exp, cost="training")
        self.assertEqual([r["run_id"] for r in train], [n, f, p])
        self.assertAlmostEqual(train[1]["score"], 0.92 / (FRA / 1000),
                               places=6)
        self.assertAlmostEqual(train[1]["co2_g"], FRA, places=6)
        # a new phase shows at once (the board cache follows writes)
        self.ok(self.phase(f, "inference", T0 + HOUR, T0 + 2 * HOUR,
                           work_count=100000))
        inf = self.board(exp, cost="inference")
        self.assertEqual([r["run_id"] for r in inf], [f, p, n])

    def test_upstream_amortized_reorders(self):
        """X: acc 0.90, 1 kWh, no base (16.06 per kg). Y: acc 0.95,
        0.5 kWh, on a 10 kWh base shared with a run elsewhere: none ranks
        Y first (33.9 per kg); amortized adds 280.195 g (3.08 per kg) and
        full 560.39 g: X first."""
        exp = self.create_experiment()
        base = self.new_run(self.create_experiment(), kwh=10, country="FRA")
        self.new_run(self.create_experiment(), kwh=1, country="FRA",
                     base_run_id=base)
        x = self.new_run(exp, kwh=1, metric=0.90, country="FRA")
        y = self.new_run(exp, kwh=0.5, metric=0.95, country="FRA",
                         base_run_id=base)
        none = self.board(exp)
        self.assertEqual([r["run_id"] for r in none], [y, x])
        self.assertEqual([r["run_id"] for r in self.board(
            exp, upstream="none")], [y, x])
        am = self.board(exp, upstream="amortized")
        self.assertEqual([r["run_id"] for r in am], [x, y])
        self.assertAlmostEqual(am[1]["upstream_co2_g"], 280.195, places=6)
        self.assertAlmostEqual(am[1]["co2_g"], FRA / 2 + 280.195, places=6)
        self.assertAlmostEqual(am[1]["score"],
                               0.95 / ((FRA / 2 + 280.195) / 1000), places=6)
        self.assertAlmostEqual(am[0]["upstream_co2_g"], 0.0)
        full = self.board(exp, upstream="full")
        self.assertEqual([r["run_id"] for r in full], [x, y])
        self.assertAlmostEqual(full[1]["upstream_co2_g"], 560.39, places=6)
        # the base lives in another experiment: 10 more kWh there change
        # this board at once (cached boards follow every experiment)
        self.energy(base, kwh_sample(T0 + HOUR, T0 + 2 * HOUR, 10))
        am = self.board(exp, upstream="amortized")
        self.assertAlmostEqual(am[1]["upstream_co2_g"], 560.39, places=6)

    def test_patched_green_boards_equal_fresh_ones(self):
        """After each of many random writes (metrics, phases, energy, base
        tags, energy of a base in another experiment, deletes, restores,
        new runs) the cached board patched from the last one equals a board
        built from scratch (a filter never seen, which keeps every run)."""
        import random
        rnd = random.Random(5)
        exp = self.create_experiment()
        other = self.create_experiment()
        bases = [self.new_run(other, kwh=rnd.uniform(1, 10), country="FRA")
                 for _ in range(3)]
        runs = []
        for i in range(8):
            rid = self.new_run(exp, kwh=rnd.uniform(0.5, 3), hours=2,
                               metric=rnd.random(), country="FRA")
            if i % 2:
                self.ok(self.phase(rid, "inference", T0 + HOUR, T0 + 2 * HOUR,
                                   work_count=rnd.randint(1, 5000)))
            if i % 3:
                self.ok(self.tag(rid, "greentrack.base_run_id",
                                 rnd.choice(bases)))
            runs.append(rid)
        modes = [{"cost": "inference"}, {"cost": "training"},
                 {"upstream": "amortized"},
                 {"cost": "training", "upstream": "full"}]

        def strip(rows):
            return [{k: v for k, v in r.items() if k != "duration_s"}
                    for r in rows]

        def check(step):
            for m in modes:
                cached = self.board(exp, **m)
                fresh = self.board(exp, filter="attributes.run_name != "
                                   "'never-%d'" % rnd.randrange(10 ** 9), **m)
                self.assertEqual(strip(cached), strip(fresh),
                                 "%s after %s" % (m, step))
        check("start")
        deleted = set()
        for i in range(30):
            rid = rnd.choice(runs)
            k = rnd.randrange(8)
            if k == 0:
                self.ok(self.post("runs/log-metric", {
                    "run_id": rid, "key": "acc", "value": rnd.random(),
                    "timestamp": T0 + 10 + i, "step": 0}))
            elif k == 1 and rid not in deleted:
                self.ok(self.phase(rid, "inference", T0 + HOUR,
                                   T0 + 2 * HOUR,
                                   work_count=rnd.randint(0, 5000)))
            elif k == 2 and rid not in deleted:
                self.energy(rid, kwh_sample(T0 + 3 * HOUR, T0 + 4 * HOUR,
                                            rnd.uniform(0.1, 2)))
            elif k == 3 and rid not in deleted:
                self.ok(self.tag(rid, "greentrack.base_run_id",
                                 rnd.choice(bases)))
            elif k == 4:
                b = rnd.choice(bases)
                self.energy(b, kwh_sample(T0 + (5 + i) * HOUR,
                                          T0 + (6 + i) * HOUR, 1))
            elif k == 5:
                if rid in deleted:
                    self.ok(self.post("runs/restore", {"run_id": rid}))
                    deleted.discard(rid)
                else:
                    self.ok(self.post("runs/delete", {"run_id": rid}))
                    deleted.add(rid)
            elif k == 6:
                # a run elsewhere starts sharing a base: amortized moves
                self.new_run(other, kwh=1, country="FRA",
                             base_run_id=rnd.choice(bases))
            else:
                runs.append(self.new_run(exp, kwh=1, metric=rnd.random(),
                                         country="FRA",
                                         base_run_id=rnd.choice(bases)))
            check("write %d (kind %d)" % (i, k))

    def test_bad_leaderboard_options(self):
        exp = self.create_experiment()
        for q in ({"cost": "cheap"}, {"upstream": "some"}, {"cost": ""},
                  {"direction": "up"}):
            q.update({"experiment_id": exp, "metric": "acc"})
            self.assertBadParam(self.get(GT + "leaderboard", q))


class Hardware(GreenCase):
    def test_groups_and_medians(self):
        """A100 x1: 1, 2 and 4 kWh (median 2 kWh = 112.078 g); H100 x2:
        1 and 1.5 kWh (median 1.25 kWh = 70.04875 g, the mean of the two
        middle values): H100 first."""
        exp = self.create_experiment()
        runs = []
        for kwh, acc, gpu, n in ((1, 0.7, "A100", "1"), (2, 0.8, "A100", "1"),
                                 (4, 0.9, "A100", "1"), (1, 0.8, "H100", "2"),
                                 (1.5, 0.9, "H100", "2")):
            runs.append(self.new_run(exp, kwh=kwh, metric=acc, country="FRA",
                                     host__cpu="Xeon 8480",
                                     host__gpu_model=gpu, host__gpus=n))
            self.ok(self.post("runs/update", {
                "run_id": runs[-1], "status": "FINISHED",
                "end_time": T0 + int(kwh * HOUR)}))
        self.new_run(exp, country="FRA")  # no energy: not in any group
        g = self.ok(self.get(GT + "hardware", {"experiment_id": exp,
                                               "metric": "acc"}))["groups"]
        self.assertEqual([x["gpu_model"] for x in g], ["H100", "A100"])
        h, a = g
        self.assertEqual((h["cpu"], h["gpus"], h["runs"]), ("Xeon 8480", 2, 2))
        self.assertIsInstance(h["runs"], int)
        self.assertAlmostEqual(h["median_energy_kwh"], 1.25, places=9)
        self.assertAlmostEqual(h["median_co2_g"], 1.25 * FRA, places=6)
        self.assertAlmostEqual(h["median_metric"], 0.85, places=9)
        self.assertAlmostEqual(h["median_duration_s"], 1.25 * 3600, places=6)
        self.assertEqual(h["best_run_id"], runs[3])  # 0.8/0.056 > 0.9/0.084
        self.assertEqual((a["gpus"], a["runs"]), (1, 3))
        self.assertAlmostEqual(a["median_energy_kwh"], 2.0, places=9)
        self.assertAlmostEqual(a["median_co2_g"], 2 * FRA, places=6)
        self.assertAlmostEqual(a["median_metric"], 0.8, places=9)
        self.assertEqual(a["best_run_id"], runs[0])  # 0.7/0.056 is best
        # without a metric: no median metric, best is the lowest CO2
        g = self.ok(self.get(GT + "hardware",
                             {"experiment_id": exp}))["groups"]
        self.assertIsNone(g[0]["median_metric"])
        self.assertEqual(g[1]["best_run_id"], runs[0])

    def test_bad_hardware_queries(self):
        self.assertBadParam(self.get(GT + "hardware"))
        self.assertNotFound(self.get(GT + "hardware",
                                     {"experiment_id": "x"}))
        self.assertNotFound(self.get(GT + "hardware",
                                     {"experiment_id": "987654"}))
        self.assertEqual(self.ok(self.get(GT + "hardware", {
            "experiment_id": self.create_experiment()})), {"groups": []})
        self.assertBadParam(self.get(GT + "hardware", {
            "experiment_id": self.create_experiment(), "direction": "up"}),
            "Invalid direction 'up': expected 'max' or 'min'")


class Alternatives(GreenCase):
    def test_cheapest_cloud_regions(self):
        """1 kWh in gcp asia-south1 (648 g/kWh, PUE 1.12: 725.76 g); the
        three cleanest gcp regions are northamerica-northeast1 (2),
        europe-west9 (34) and europe-north1 (46)."""
        exp = self.create_experiment()
        rid = self.new_run(exp, kwh=1, cloud_provider="gcp",
                           cloud_region="asia-south1")
        c = self.carbon(rid)
        self.assertAlmostEqual(c["co2_g"], 725.76, places=6)
        alts = c["alternatives"]
        self.assertEqual([(a["kind"], a["provider"], a["region"])
                          for a in alts],
                         [("cloud_region", "gcp", "northamerica-northeast1"),
                          ("cloud_region", "gcp", "europe-west9"),
                          ("cloud_region", "gcp", "europe-north1")])
        self.assertEqual([a["intensity_g_per_kwh"] for a in alts],
                         [2, 34, 46])
        self.assertAlmostEqual(alts[0]["co2_g"], 2.24, places=6)
        self.assertAlmostEqual(alts[0]["saving_g"], 723.52, places=6)
        self.assertAlmostEqual(alts[1]["co2_g"], 38.08, places=6)
        self.assertAlmostEqual(alts[2]["saving_g"], 725.76 - 51.52, places=6)
        # potential saving: the sum of each run's largest saving
        self.new_run(exp, kwh=2, cloud_provider="gcp",
                     cloud_region="asia-south1")
        self.new_run(exp, kwh=1, country="FRA")  # no alternative
        s = self.summary(exp)
        self.assertAlmostEqual(s["potential_saving_g"], 3 * 723.52, places=6)


class BestWindow(GreenCase):
    """Recorded half hours of zone GB from the fake UK provider: 300, 300,
    200, 200, 100, 100, 50, 50, 250, 250, 300, 300 g/kWh. A 1 kWh run over
    the third and fourth half hours (200 g) would have emitted 50 g in the
    seventh and eighth: start 3 h after the base, saving 150 g."""

    @classmethod
    def setUpClass(cls):
        env = FAKE.server_env(em=False, wt=False)
        env["GREENTRACK_GRID_TIMEOUT_MS"] = "1000"
        env["GREENTRACK_GRID_TTL_S"] = "0"
        cls.server_env = env
        super().setUpClass()

    def test_best_window_over_recorded_data(self):
        base = (now_ms() - 8 * HOUR) // (30 * MIN) * (30 * MIN)
        values = [300, 300, 200, 200, 100, 100, 50, 50, 250, 250, 300, 300]
        FAKE.uk_history = [
            {"start_ms": base + i * 30 * MIN,
             "end_ms": base + (i + 1) * 30 * MIN,
             "forecast": v, "actual": v} for i, v in enumerate(values)]
        exp = self.create_experiment()
        rid = self.new_run(exp, start=base + HOUR, country="GBR", zone="GB")
        self.energy(rid, kwh_sample(base + HOUR, base + 2 * HOUR, 1))
        deadline = time.monotonic() + 60
        while True:
            c = self.carbon(rid)
            if (c.get("zone_intensity") or {}).get("covered_fraction") == 1:
                break
            self.assertLess(time.monotonic(), deadline, repr(c))
            time.sleep(0.1)
        self.assertAlmostEqual(c["co2_g"], 200.0, places=6)
        w = [a for a in c["alternatives"] if a["kind"] == "best_window"]
        self.assertEqual(len(w), 1, repr(c["alternatives"]))
        self.assertEqual(w[0]["start_time"], base + 3 * HOUR)
        self.assertAlmostEqual(w[0]["co2_g"], 50.0, places=6)
        self.assertAlmostEqual(w[0]["saving_g"], 150.0, places=6)
        self.assertAlmostEqual(self.summary(exp)["potential_saving_g"],
                               150.0, places=6)


class Budgets(GreenCase):
    def test_budget_fields(self):
        exp = self.create_experiment()
        s = self.summary(exp)
        for k in ("budget_co2_kg", "used_co2_kg", "budget_used_fraction"):
            self.assertNotIn(k, s)
        self.assertEqual(s["potential_saving_g"], 0)
        self.ok(self.post("experiments/set-experiment-tag", {
            "experiment_id": exp, "key": "greentrack.budget_co2_kg",
            "value": "0.1"}))
        self.new_run(exp, kwh=1, country="FRA")
        s = self.summary(exp)
        self.assertEqual(s["budget_co2_kg"], 0.1)
        self.assertAlmostEqual(s["used_co2_kg"], 0.056039, places=9)
        self.assertAlmostEqual(s["budget_used_fraction"], 0.56039, places=9)
        self.new_run(exp, kwh=1, country="FRA")
        s = self.summary(exp)
        self.assertAlmostEqual(s["budget_used_fraction"], 1.12078, places=9)
        # the list form carries the budget too
        all_ = self.ok(self.get(GT + "experiments/summary"))["experiments"]
        mine = [x for x in all_ if x["experiment_id"] == exp][0]
        self.assertAlmostEqual(mine["budget_used_fraction"], 1.12078,
                               places=9)
        self.assertNotIn("potential_saving_g", mine)
        # a tag that is not a number counts as no budget
        self.ok(self.post("experiments/set-experiment-tag", {
            "experiment_id": exp, "key": "greentrack.budget_co2_kg",
            "value": "soon"}))
        self.assertNotIn("budget_co2_kg", self.summary(exp))

    def test_bad_summary_queries(self):
        self.assertNotFound(self.get(GT + "experiments/summary",
                                     {"experiment_id": "abc"}))
        self.assertNotFound(self.get(GT + "experiments/summary",
                                     {"experiment_id": "987654"}))
        exp = self.create_experiment()
        self.ok(self.post("experiments/delete", {"experiment_id": exp}))
        self.assertNotFound(self.get(GT + "experiments/summary",
                                     {"experiment_id": exp}))
