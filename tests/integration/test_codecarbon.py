"""CodeCarbon interop: POST /api/2.0/greentrack/import/codecarbon with
recorded emissions.csv files (current, 2.x and the oldest column sets)."""
import os
import threading
import uuid

from harness import ServerTestCase

GT = "/api/2.0/greentrack/"
DATA = os.path.join(os.path.dirname(__file__), "..", "data", "codecarbon")


def read(name):
    with open(os.path.join(DATA, name), "rb") as f:
        return f.read()


class CodeCarbonImportTests(ServerTestCase):
    def upload(self, exp, body, ctype="text/csv"):
        return self.request_raw(exp, body, ctype)

    def request_raw(self, exp, body, ctype):
        return self.client.request(
            "POST", GT + "import/codecarbon?experiment_id=%s" % exp,
            body=body, headers={"Content-Type": ctype})

    def carbon(self, rid):
        return self.ok(self.get(GT + "runs/carbon", {"run_id": rid}))

    def tags(self, rid):
        return {t["key"]: t["value"]
                for t in self.get_run(rid)["data"].get("tags", [])}

    def test_current_columns(self):
        exp = self.create_experiment()
        body = self.ok(self.upload(exp, read("emissions_v3.csv")))
        self.assertEqual(body["imported"], 2)
        a, b = body["run_ids"]
        self.assertEqual(a, "5f3c2a109b7e4c1d8a2b0123456789ab")
        info = self.get_run(a)["info"]
        self.assertEqual(info["status"], "FINISHED")
        self.assertEqual(info["end_time"], 1772446530000)  # 10:15:30 UTC
        self.assertEqual(info["end_time"] - info["start_time"], 3600500)
        c = self.carbon(a)
        # CO2 equals CodeCarbon's own figure; energies match its kWh / PUE
        self.assertAlmostEqual(c["co2_g"], 67.2468, places=6)
        self.assertAlmostEqual(c["energy_kwh"], 0.30190, places=9)
        self.assertAlmostEqual(c["gpu_kwh"], 0.25010, places=9)
        self.assertEqual(c["methods"]["cpu"], ["codecarbon"])
        self.assertIn("codecarbon", c["intensity_source"])
        t = self.tags(a)
        self.assertEqual(t["greentrack.country"], "FRA")
        self.assertEqual(t["codecarbon.project_name"], "resnet")
        self.assertEqual(t["codecarbon.cpu_model"],
                         "AMD EPYC 7B13 64-Core Processor")
        # second row: a time zone offset, a cloud region and PUE 1.12
        info_b = self.get_run(b)["info"]
        self.assertEqual(info_b["end_time"], 1772449200000)  # 11:00 UTC
        cb = self.carbon(b)
        self.assertAlmostEqual(cb["pue"], 1.12)
        self.assertAlmostEqual(cb["facility_energy_kwh"], 0.018, places=9)
        self.assertAlmostEqual(cb["co2_g"], 25.0, places=6)
        self.assertEqual(cb["scope"], "process")
        self.assertEqual(self.tags(b)["greentrack.cloud_region"], "us-west1")

    def test_reimport_is_idempotent(self):
        exp = self.create_experiment()
        text = read("emissions_v3.csv")
        # fresh run ids: the class's server already holds the file's own
        for old in (b"5F3C2A10-9B7E-4C1D-8A2B-0123456789AB",
                    b"7d1e0c42-5a6b-4f3e-9d8c-abcdefabcdef"):
            text = text.replace(old, str(uuid.uuid4()).encode())
        first = self.ok(self.upload(exp, text))
        again = self.ok(self.upload(exp, text))
        self.assertEqual(first["run_ids"], again["run_ids"])
        runs = self.ok(self.post("runs/search", {"experiment_ids": [exp]}))
        self.assertEqual(len(runs["runs"]), 2)
        self.assertEqual(self.carbon(first["run_ids"][0])["samples"], 1)
        # the same run ids in another experiment are refused, all or nothing
        other = self.create_experiment()
        self.assertBadParam(self.upload(other, text))
        self.assertNotIn("runs", self.ok(self.post(
            "runs/search", {"experiment_ids": [other]})))

    def test_older_column_sets(self):
        exp = self.create_experiment()
        v2 = self.ok(self.upload(exp, read("emissions_v2.csv")))
        c = self.carbon(v2["run_ids"][0])
        self.assertAlmostEqual(c["co2_g"], 0.713, places=9)
        self.assertAlmostEqual(c["cpu_kwh"], 0.0014167, places=12)
        old = self.ok(self.upload(exp, read("emissions_v1_minimal.csv")))
        rid = old["run_ids"][0]
        self.assertEqual(len(rid), 32)  # no run_id column: a hash of the row
        c = self.carbon(rid)
        self.assertAlmostEqual(c["other_kwh"], 0.004, places=12)
        self.assertAlmostEqual(c["co2_g"], 2.0, places=9)
        again = self.ok(self.upload(exp, read("emissions_v1_minimal.csv")))
        self.assertEqual(again["run_ids"], [rid])

    def test_bad_files(self):
        exp = self.create_experiment()
        for body in (b"", b"timestamp,duration\n", b"a,b,c\n1,2,3\n",
                     b"timestamp,duration,energy_consumed\nnot-a-date,1,2\n",
                     b"timestamp,duration,energy_consumed\n"
                     b"2024-01-01T00:00:00,10,-1\n",
                     b'timestamp,duration,energy_consumed\n"unclosed,1,2\n'):
            with self.subTest(body=body):
                self.assertBadParam(self.upload(exp, body))
        self.assertNotFound(self.upload("98765", read("emissions_v2.csv")))


class CodeCarbonExportTests(ServerTestCase):
    def test_round_trip_through_codecarbon_columns(self):
        import csv
        import io
        exp = self.create_experiment()
        text = read("emissions_v3.csv")
        ids = [str(uuid.uuid4()) for _ in range(2)]
        for old, new in zip((b"5F3C2A10-9B7E-4C1D-8A2B-0123456789AB",
                             b"7d1e0c42-5a6b-4f3e-9d8c-abcdefabcdef"), ids):
            text = text.replace(old, new.encode())
        self.ok(self.client.request(
            "POST", GT + "import/codecarbon?experiment_id=%s" % exp,
            body=text, headers={"Content-Type": "text/csv"}))
        self.create_run(exp)  # a run without energy: no CodeCarbon row
        r = self.get(GT + "runs/export", {"experiment_id": exp,
                                          "format": "codecarbon"})
        self.assertEqual(r.status, 200)
        self.assertIn("emissions.csv", r.headers["content-disposition"])
        rows = {x["run_id"]: x for x in
                csv.DictReader(io.StringIO(r.raw.decode("utf-8")))}
        self.assertEqual(set(rows), set(ids))
        a, b = rows[ids[0]], rows[ids[1]]
        self.assertAlmostEqual(float(a["emissions"]), 0.0672468, places=9)
        self.assertAlmostEqual(float(a["energy_consumed"]), 0.30190,
                               places=9)
        self.assertAlmostEqual(float(a["duration"]), 3600.5)
        self.assertEqual(a["timestamp"], "2026-03-02T10:15:30")
        self.assertEqual((a["country_name"], a["country_iso_code"]),
                         ("France", "FRA"))
        self.assertEqual(a["cpu_model"], "AMD EPYC 7B13 64-Core Processor")
        self.assertEqual((a["on_cloud"], a["tracking_mode"]),
                         ("N", "machine"))
        # CodeCarbon's energies include PUE: 1.12 here
        self.assertAlmostEqual(float(b["energy_consumed"]), 0.018, places=9)
        self.assertAlmostEqual(float(b["pue"]), 1.12)
        self.assertEqual((b["on_cloud"], b["cloud_region"]), ("Y", "us-west1"))


class CodeCarbonApiTests(ServerTestCase):
    """What CodeCarbon's tracker sends with api_endpoint=<server>/codecarbon."""

    def cc(self, path, body):
        return self.post("/codecarbon/" + path, body)

    def test_tracker_sequence(self):
        name = "cc-%s" % uuid.uuid4()
        r = self.cc("experiments", {"name": name, "description": "d",
                                    "project_id": str(uuid.uuid4())})
        self.assertEqual(r.status, 201)
        exp = r.body["id"]
        again = self.cc("experiments", {"name": name})
        self.assertEqual((again.status, again.body["id"]), (201, exp))
        run = self.cc("runs", {
            "timestamp": "2026-03-02T10:00:00+00:00", "experiment_id": exp,
            "os": "Linux", "python_version": "3.11.7",
            "codecarbon_version": "3.2.1", "cpu_count": 16,
            "cpu_model": "AMD EPYC", "gpu_count": 1, "gpu_model": "A100",
            "ram_total_size": 62.8, "tracking_mode": "machine"})
        self.assertEqual(run.status, 201)
        run_uuid = run.body["id"]
        self.assertEqual(str(uuid.UUID(run_uuid)), run_uuid)
        rid = run_uuid.replace("-", "")
        for energy, co2 in ((0.010, 0.004), (0.020, 0.006)):
            e = self.cc("emissions", {
                "timestamp": "2026-03-02T10:05:00+00:00", "run_id": run_uuid,
                "duration": 60, "emissions_sum": co2, "emissions_rate": 1e-4,
                "cpu_power": 40, "gpu_power": 200, "ram_power": 5,
                "cpu_energy": energy / 2, "gpu_energy": energy / 2,
                "ram_energy": 0, "energy_consumed": energy})
            self.assertEqual(e.status, 201)
            self.assertEqual(str(uuid.UUID(e.body)), e.body)
        c = self.ok(self.get(GT + "runs/carbon", {"run_id": rid}))
        self.assertEqual(c["samples"], 2)
        self.assertAlmostEqual(c["energy_kwh"], 0.030, places=9)
        self.assertAlmostEqual(c["co2_g"], 10.0, places=6)
        info = self.get_run(rid)["info"]
        self.assertEqual(info["experiment_id"], exp)
        self.assertEqual(info["status"], "RUNNING")
        self.assertIn("end_time", info)
        tags = {t["key"]: t["value"]
                for t in self.get_run(rid)["data"]["tags"]}
        self.assertEqual(tags["codecarbon.cpu_model"], "AMD EPYC")

    def test_concurrent_emissions_all_kept(self):
        # Emissions carry no time of their own: the server stamps them. Two
        # arriving in the same millisecond must both count.
        exp = self.cc("experiments", {"name": "cc-%s" % uuid.uuid4()})
        run = self.cc("runs", {"experiment_id": exp.body["id"]}).body["id"]
        errors = []

        def send(n):
            client = self.server.client()
            try:
                for _ in range(n):
                    r = client.post("/codecarbon/emissions", {
                        "run_id": run, "duration": 1, "energy_consumed": 0.001,
                        "emissions_sum": 0.0004})
                    if r.status != 201:
                        errors.append(r)
            finally:
                client.close()
        threads = [threading.Thread(target=send, args=(25,))
                   for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        c = self.ok(self.get(GT + "runs/carbon",
                             {"run_id": run.replace("-", "")}))
        self.assertEqual(c["samples"], 200)
        self.assertAlmostEqual(c["energy_kwh"], 0.2, places=9)
        self.assertAlmostEqual(c["co2_g"], 80.0, places=6)

    def test_uuid_experiments_and_errors(self):
        unknown = str(uuid.uuid4())
        self.assertNotFound(self.cc("runs", {"experiment_id": unknown}))
        # the UUID CodeCarbon was configured with names an experiment
        self.assertEqual(self.cc("experiments",
                                 {"name": "codecarbon " + unknown}).status,
                         201)
        run = self.cc("runs", {"experiment_id": unknown})
        self.assertEqual(run.status, 201)
        self.assertBadParam(self.cc("emissions", {
            "run_id": run.body["id"], "duration": 0, "energy_consumed": 1}))
        self.assertBadParam(self.cc("emissions", {"run_id": "not-a-uuid",
                                                  "duration": 5}))
        self.assertNotFound(self.cc("emissions", {
            "run_id": str(uuid.uuid4()), "duration": 5,
            "energy_consumed": 0.1, "emissions_sum": 0.01}))
        self.assertBadParam(self.cc("experiments", {}))
