"""CodeCarbon interop: POST /api/2.0/greentrack/import/codecarbon with
recorded emissions.csv files (current, 2.x and the oldest column sets)."""
import os
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
