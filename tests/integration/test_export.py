"""GET /api/2.0/greentrack/runs/export: every matching run with params,
latest metrics, energy and CO2, as CSV or JSON, streamed page by page."""
import csv
import io
import json

from harness import ServerTestCase

GT = "/api/2.0/greentrack/"


class ExportTests(ServerTestCase):
    def export(self, **q):
        return self.get(GT + "runs/export", q)

    def seed(self, exp, n, team):
        ids = []
        for i in range(n):
            rid = self.create_run(exp)["info"]["run_id"]
            self.ok(self.post("runs/log-batch", {
                "run_id": rid,
                "params": [{"key": "lr", "value": "0.%d" % (i + 1)},
                           {"key": "team", "value": team}],
                "metrics": [{"key": "acc", "value": i / 10, "timestamp": 1}],
                "tags": [{"key": "note", "value": 'say "hi", then\nbye'}]}))
            ids.append(rid)
        return ids

    def test_csv_columns_values_and_filter(self):
        exp = self.create_experiment()
        a = self.seed(exp, 2, "x")
        b = self.seed(exp, 1, "y")
        self.ok(self.post(GT + "runs/log-energy", {
            "run_id": a[0], "samples": [{"start_time": 0,
                                         "end_time": 3600000,  # 1 kW
                                         "cpu_energy_j": 3.6e6}]}))
        self.ok(self.post("runs/set-tag", {"run_id": a[0],
                                           "key": "greentrack.country",
                                           "value": "FRA"}))
        r = self.export(experiment_id=exp)
        self.assertEqual(r.status, 200)
        self.assertIn("text/csv", r.headers.get("content-type", ""))
        self.assertIn("attachment", r.headers.get("content-disposition", ""))
        rows = list(csv.DictReader(io.StringIO(r.raw.decode("utf-8"))))
        self.assertEqual(len(rows), 3)
        self.assertEqual(set(rows[0]) >= {"run_id", "run_name", "status",
                                          "energy_kwh", "co2_g", "param.lr",
                                          "param.team", "metric.acc"}, True)
        self.assertNotIn("metric.greentrack.co2_kg", rows[0])
        by = {x["run_id"]: x for x in rows}
        self.assertAlmostEqual(float(by[a[0]]["energy_kwh"]), 1.0)
        self.assertAlmostEqual(float(by[a[0]]["co2_g"]), 56.039)
        self.assertEqual(by[a[1]]["energy_kwh"], "")
        self.assertEqual(by[b[0]]["param.team"], "y")
        self.assertEqual(float(by[a[1]]["metric.acc"]), 0.1)
        only_x = list(csv.DictReader(io.StringIO(self.export(
            experiment_id=exp, filter="params.team = 'x'").raw.decode())))
        self.assertEqual({x["run_id"] for x in only_x}, set(a))

    def test_json_and_paging_across_pages(self):
        exp = self.create_experiment()
        ids = set()
        for i in range(0, 1100, 100):
            # 1100 runs: more than two of the server's 500-run pages
            for _ in range(100):
                ids.add(self.create_run(exp)["info"]["run_id"])
        self.ok(self.post("runs/set-tag", {"run_id": next(iter(ids)),
                                           "key": "t", "value": "v\u00e9"}))
        r = self.export(experiment_id=exp, format="json")
        self.assertEqual(r.status, 200)
        body = json.loads(r.raw)
        self.assertEqual({x["run_id"] for x in body["runs"]}, ids)
        self.assertEqual(len(body["runs"]), 1100)
        rows = list(csv.DictReader(io.StringIO(
            self.export(experiment_id=exp).raw.decode())))
        self.assertEqual(len(rows), 1100)

    def test_tags_with_quotes_and_newlines_survive_json(self):
        exp = self.create_experiment()
        rid = self.seed(exp, 1, "z")[0]
        body = json.loads(self.export(experiment_id=exp, format="json").raw)
        self.assertEqual(body["runs"][0]["tags"]["note"], 'say "hi", then\nbye')
        self.assertEqual(body["runs"][0]["params"]["team"], "z")
        self.assertEqual(body["runs"][0]["run_id"], rid)

    def test_errors(self):
        exp = self.create_experiment()
        self.assertBadParam(self.export(experiment_id=exp, format="xml"))
        self.assertBadParam(self.export(experiment_id=exp,
                                        filter="params.a = b"))
        self.assertNotFound(self.export(experiment_id="987654"))
        self.assertBadParam(self.export())
        empty = self.export(experiment_id=exp)
        self.assertEqual(empty.status, 200)
        self.assertEqual(empty.raw.decode().splitlines()[0].split(",")[0],
                         "run_id")
