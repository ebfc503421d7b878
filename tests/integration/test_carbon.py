"""Energy samples and carbon accounting: runs/log-energy, runs/carbon,
the derived greentrack.* metrics in runs/get and runs/search, the reserved
metric prefix, and the intensity tables (GET greentrack/intensity).
Known inputs are checked against hand-computed kWh and grams."""
from harness import ServerTestCase

GT = "/api/2.0/greentrack/"
MJ36 = 3.6e6  # joules in one kWh
FRA = 56.039   # data/country_carbon_intensity.csv, 2023 ("56.0 g per kWh")
POL = 661.926


# A sample spans an hour: 1 kWh in it is 1 kW, a physical power (a sample
# may imply at most 10 MW).
HOUR = 3600000


def sample(start, end, **kw):
    s = {"start_time": start, "end_time": end}
    s.update(kw)
    return s


class CarbonTests(ServerTestCase):
    def energy(self, run_id, *samples):
        return self.post(GT + "runs/log-energy",
                         {"run_id": run_id, "samples": list(samples)})

    def carbon(self, run_id):
        return self.ok(self.get(GT + "runs/carbon", {"run_id": run_id}))

    def tag(self, run_id, key, value):
        self.ok(self.post("runs/set-tag", {"run_id": run_id, "key": key,
                                           "value": value}))

    def new_run(self, **tags):
        rid = self.create_run()["info"]["run_id"]
        for k, v in tags.items():
            self.tag(rid, "greentrack." + k, v)
        return rid

    def metrics_of(self, run_id):
        data = self.get_run(run_id)["data"]
        return {m["key"]: m for m in data.get("metrics", [])}

    def test_one_kwh_in_france_is_56_grams(self):
        rid = self.new_run(country="FRA")
        self.ok(self.energy(rid, sample(1000, 61000, cpu_energy_j=MJ36,
                                        cpu_method="rapl")))
        c = self.carbon(rid)
        self.assertAlmostEqual(c["energy_kwh"], 1.0, places=9)
        self.assertAlmostEqual(c["cpu_kwh"], 1.0, places=9)
        self.assertAlmostEqual(c["co2_g"], FRA, places=6)
        self.assertEqual(round(c["co2_g"], 1), 56.0)
        self.assertAlmostEqual(c["pue"], 1.0)
        self.assertAlmostEqual(c["facility_energy_kwh"], 1.0)
        self.assertAlmostEqual(c["duration_s"], 60.0)
        self.assertEqual(c["methods"]["cpu"], ["rapl"])
        self.assertEqual(c["scope"], "node")
        self.assertTrue(c["location"]["known"])
        self.assertIn("FRA", c["intensity_source"])
        self.assertFalse(c["estimated"])
        m = self.metrics_of(rid)
        self.assertAlmostEqual(m["greentrack.co2_kg"]["value"], FRA / 1000)
        self.assertAlmostEqual(m["greentrack.energy_kwh"]["value"], 1.0)
        self.assertEqual(m["greentrack.co2_kg"]["step"], 0)
        self.assertEqual(m["greentrack.co2_kg"]["timestamp"], 61000)

    def test_location_change_recomputes_at_once(self):
        rid = self.new_run(country="FRA")
        self.ok(self.energy(rid, sample(0, 1000, gpu_energy_j=MJ36 * 2,
                                        gpu_method="nvml-energy")))
        self.assertAlmostEqual(self.carbon(rid)["co2_g"], 2 * FRA, places=6)
        self.tag(rid, "greentrack.country", "POL")
        self.assertAlmostEqual(self.carbon(rid)["co2_g"], 2 * POL, places=6)
        self.assertAlmostEqual(
            self.metrics_of(rid)["greentrack.co2_kg"]["value"], 2 * POL / 1000)
        # a tag removed: back to the world average, and the run says so
        self.ok(self.post("runs/delete-tag", {"run_id": rid,
                                              "key": "greentrack.country"}))
        c = self.carbon(rid)
        self.assertAlmostEqual(c["co2_g"], 2 * 475.0, places=6)
        self.assertFalse(c["location"]["known"])
        self.assertIn("world average", c["intensity_source"])

    def test_resent_sample_replaces_the_earlier_one(self):
        rid = self.new_run(country="SWE")
        for _ in range(3):
            self.ok(self.energy(rid, sample(0, HOUR, ram_energy_j=MJ36,
                                            ram_method="ram-model")))
        c = self.carbon(rid)
        self.assertAlmostEqual(c["energy_kwh"], 1.0)
        self.assertEqual(c["samples"], 1)
        self.assertFalse(c["estimated"])  # the RAM model alone is not

    def test_totals_follow_random_resends(self):
        """The run's totals are kept by adding each sample and subtracting
        the one a resend replaces; after random sends and resends (with and
        without a measured intensity, estimated or not) they equal what the
        stored samples add up to."""
        import random
        rnd = random.Random(5)
        rid = self.new_run(country="FRA")
        windows = [(i * 1000, i * 1000 + 1000) for i in range(12)]
        for _ in range(60):
            batch = []
            for _ in range(rnd.randint(1, 4)):
                st, en = rnd.choice(windows)
                x = sample(st, en, cpu_energy_j=rnd.random() * MJ36,
                           gpu_energy_j=rnd.choice([0, rnd.random() * 1e5]),
                           ram_energy_j=rnd.random() * 1e4,
                           cpu_method=rnd.choice(["rapl", "tdp-estimate"]),
                           gpu_method="nvml-energy")
                if rnd.random() < 0.4:
                    x["intensity_g_per_kwh"] = rnd.choice([20.0, 300.0])
                    x["intensity_source"] = "test"
                batch.append(x)
            self.ok(self.energy(rid, *batch))
        stored = self.ok(self.get(GT + "runs/energy",
                                  {"run_id": rid}))["samples"]
        self.assertEqual(len(stored), len({(x["start_time"], x["end_time"])
                                           for x in stored}))
        c = self.carbon(rid)
        self.assertEqual(c["samples"], len(stored))
        kwh = lambda x: (x["cpu_energy_j"] + x["gpu_energy_j"] +
                         x["ram_energy_j"] + x["other_energy_j"]) / MJ36
        self.assertAlmostEqual(c["energy_kwh"], sum(kwh(x) for x in stored),
                               places=9)
        self.assertAlmostEqual(c["cpu_kwh"], sum(x["cpu_energy_j"]
                                                 for x in stored) / MJ36,
                               places=9)
        co2 = sum(kwh(x) * x.get("intensity_g_per_kwh", FRA)
                  if x.get("intensity_g_per_kwh") is not None
                  else kwh(x) * FRA for x in stored)
        self.assertAlmostEqual(c["co2_g"], co2, places=6)
        self.assertEqual(c["estimated"], any(
            x["cpu_method"] == "tdp-estimate" and x["cpu_energy_j"] > 0
            for x in stored))

    def test_measured_intensity_and_pue(self):
        rid = self.new_run(country="POL", pue="1.5")
        self.ok(self.energy(
            rid,
            sample(0, HOUR, cpu_energy_j=MJ36, cpu_method="tdp-estimate",
                   intensity_g_per_kwh=100, intensity_source="ukci"),
            sample(HOUR, 2 * HOUR, cpu_energy_j=MJ36, cpu_method="tdp-estimate")))
        c = self.carbon(rid)
        # (1 kWh x 100 + 1 kWh x Poland's table value) x 1.5
        self.assertAlmostEqual(c["co2_g"], (100 + POL) * 1.5, places=6)
        self.assertAlmostEqual(c["intensity_g_per_kwh"], (100 + POL) / 2)
        self.assertAlmostEqual(c["facility_energy_kwh"], 3.0)
        self.assertEqual(c["pue_source"], "tag greentrack.pue")
        self.assertIn("ukci", c["intensity_source"])
        self.assertTrue(c["estimated"])

    def test_cloud_region_and_provider_pue(self):
        rid = self.new_run(cloud_provider="gcp", cloud_region="europe-west9")
        self.ok(self.energy(rid, sample(0, HOUR, cpu_energy_j=MJ36)))
        c = self.carbon(rid)
        it = self.ok(self.get(GT + "intensity", {
            "cloud_provider": "gcp", "cloud_region": "europe-west9"}))
        self.assertEqual(it["basis"], "cloud_region")
        self.assertAlmostEqual(c["pue"], 1.12)
        self.assertAlmostEqual(c["co2_g"], it["intensity_g_per_kwh"] * 1.12)

    def test_intensity_table_lookups(self):
        fra = self.ok(self.get(GT + "intensity", {"country": "FRA"}))
        self.assertEqual((fra["intensity_g_per_kwh"], fra["basis"]),
                         (FRA, "country"))
        ca = self.ok(self.get(GT + "intensity", {"country": "USA",
                                                 "region": "CA"}))
        self.assertEqual(ca["basis"], "subnational")
        se3 = self.ok(self.get(GT + "intensity", {"region": "SE3"}))
        self.assertEqual(se3["basis"], "subnational")
        unknown = self.ok(self.get(GT + "intensity", {"country": "XXX"}))
        self.assertEqual((unknown["intensity_g_per_kwh"], unknown["basis"],
                          unknown["location_known"]), (475, "world", False))
        self.assertAlmostEqual(self.ok(self.get(GT + "intensity", {}))["pue"],
                               1.0)

    def test_search_and_order_by_co2(self):
        exp = self.create_experiment()
        runs = []
        for country, joules in (("FRA", MJ36), ("POL", MJ36), ("SWE", 0.5)):
            rid = self.create_run(exp)["info"]["run_id"]
            self.tag(rid, "greentrack.country", country)
            self.ok(self.energy(rid, sample(0, HOUR, cpu_energy_j=joules)))
            runs.append(rid)
        body = self.ok(self.post("runs/search", {
            "experiment_ids": [exp],
            "filter": "metrics.greentrack.co2_kg < 0.5",
            "order_by": ["metrics.greentrack.co2_kg ASC"]}))
        self.assertEqual([r["info"]["run_id"] for r in body["runs"]],
                         [runs[2], runs[0]])

    def test_reserved_metric_prefix(self):
        rid = self.new_run()
        self.assertBadParam(self.post("runs/log-metric", {
            "run_id": rid, "key": "greentrack.co2_kg", "value": 1,
            "timestamp": 1}), "reserved")
        self.assertBadParam(self.post("runs/log-batch", {
            "run_id": rid, "metrics": [{"key": "greentrack.x", "value": 1,
                                        "timestamp": 1}]}), "reserved")

    def test_energy_samples_listing(self):
        rid = self.new_run(country="FRA")
        self.ok(self.energy(
            rid,
            sample(2000, 3000, gpu_energy_j=5, gpu_method="nvml-power"),
            sample(0, 1000, cpu_energy_j=1.5, cpu_method="rapl",
                   intensity_g_per_kwh=42, intensity_source="ukci"),
            sample(1000, 2000, ram_energy_j=2, ram_method="ram-model")))
        body = self.ok(self.get(GT + "runs/energy", {"run_id": rid}))
        got = body["samples"]
        self.assertEqual([x["start_time"] for x in got], [0, 1000, 2000])
        self.assertEqual(got[0]["cpu_energy_j"], 1.5)
        self.assertEqual((got[0]["intensity_g_per_kwh"],
                          got[0]["intensity_source"]), (42, "ukci"))
        self.assertNotIn("intensity_g_per_kwh", got[1])
        self.assertEqual(got[2]["gpu_method"], "nvml-power")
        self.assertEqual(got[1]["scope"], "node")
        self.assertNotIn("next_page_token", body)
        page = self.ok(self.get(GT + "runs/energy",
                                {"run_id": rid, "max_results": 2}))
        self.assertEqual(len(page["samples"]), 2)
        rest = self.ok(self.get(GT + "runs/energy", {
            "run_id": rid, "page_token": page["next_page_token"]}))
        self.assertEqual([x["start_time"] for x in rest["samples"]], [2000])
        self.assertNotFound(self.get(GT + "runs/energy", {"run_id": "e" * 32}))

    def test_bad_samples(self):
        rid = self.new_run()
        bad = [
            [],
            [sample(10, 10)],
            [sample(10, 5)],
            [sample(-1, 5)],
            [sample(0, 5, cpu_energy_j=-1)],
            [sample(0, 5, cpu_energy_j="NaN")],
            [sample(0, 5, gpu_energy_j="Infinity")],
            [sample(0, 5, scope="cluster")],
            [sample(0, 5, intensity_g_per_kwh=-3)],
            [sample(0, 5, cpu_method="x" * 65)],
            [{"end_time": 5}],
            ["not an object"],
        ]
        for samples in bad:
            with self.subTest(samples=samples):
                self.assertBadParam(self.post(GT + "runs/log-energy", {
                    "run_id": rid, "samples": samples}))
        self.assertEqual(self.carbon(rid)["samples"], 0)
        self.assertNotFound(self.energy("0" * 32, sample(0, 5)))
        self.ok(self.post("runs/delete", {"run_id": rid}))
        self.assertBadParam(self.energy(rid, sample(0, 5)))
        self.assertNotFound(self.get(GT + "runs/carbon", {"run_id": "f" * 32}))
