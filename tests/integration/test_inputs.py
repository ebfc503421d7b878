# SPDX-License-Identifier: MIT
"""runs/log-inputs (datasets, de-duplication, context tag), runs/log-model
(mlflow.log-model.history) and datasets.* search filters
(specs/mlflow-rest.md §3.2, §5, §6.1)."""

import json
import uuid

from harness import ServerTestCase, uniq


def ds(name, digest, context=None, **kw):
    d = {"dataset": {"name": name, "digest": digest, "source_type": "local",
                     "source": '{"uri": "/data/%s"}' % name}}
    d["dataset"].update(kw)
    if context is not None:
        d["tags"] = [{"key": "mlflow.data.context", "value": context}]
    return d


class InputTests(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.eid = cls.client.post("experiments/create",
                                  {"name": uniq("inputs")}).body["experiment_id"]

    def new_run(self, eid=None):
        return self.create_run(eid or self.eid)["info"]["run_id"]

    def inputs(self, rid):
        return self.get_run(rid).get("inputs", {}).get("dataset_inputs", [])

    def test_log_inputs_and_get(self):
        rid = self.new_run()
        self.assertEqual(self.ok(self.post("runs/log-inputs", {
            "run_id": rid,
            "datasets": [ds("train", "d1", "training", schema='{"a":1}',
                            profile='{"rows":10}'),
                         ds("eval", "d2", "evaluation")]})), {})
        got = self.inputs(rid)
        self.assertEqual(len(got), 2)
        by = {i["dataset"]["name"]: i for i in got}
        t = by["train"]
        self.assertEqual(t["dataset"]["digest"], "d1")
        self.assertEqual(t["dataset"]["source_type"], "local")
        self.assertEqual(t["dataset"]["source"], '{"uri": "/data/train"}')
        self.assertEqual(t["dataset"]["schema"], '{"a":1}')
        self.assertEqual(t["dataset"]["profile"], '{"rows":10}')
        self.assertEqual(self.tags_of(t),
                         {"mlflow.data.context": "training"})
        self.assertEqual(self.tags_of(by["eval"]),
                         {"mlflow.data.context": "evaluation"})
        # inputs are also in search results
        b = self.ok(self.search_runs([self.eid],
                                     "attributes.run_id = '%s'" % rid))
        self.assertEqual(
            len(b["runs"][0]["inputs"]["dataset_inputs"]), 2)

    def test_dedupe(self):
        rid = self.new_run()
        self.ok(self.post("runs/log-inputs", {
            "run_id": rid, "datasets": [ds("a", "d1", "training"),
                                        ds("a", "d1", "training")]}))
        self.assertEqual(len(self.inputs(rid)), 1)
        self.ok(self.post("runs/log-inputs", {
            "run_id": rid, "datasets": [ds("a", "d1", "training")]}))
        self.assertEqual(len(self.inputs(rid)), 1)
        self.ok(self.post("runs/log-inputs", {
            "run_id": rid, "datasets": [ds("a", "d2")]}))
        got = sorted((i["dataset"]["name"], i["dataset"]["digest"])
                     for i in self.inputs(rid))
        self.assertEqual(got, [("a", "d1"), ("a", "d2")])

    def test_same_dataset_in_two_runs(self):
        r1, r2 = self.new_run(), self.new_run()
        for r in (r1, r2):
            self.ok(self.post("runs/log-inputs", {
                "run_id": r, "datasets": [ds("shared", "s1", "training")]}))
        for r in (r1, r2):
            self.assertEqual(len(self.inputs(r)), 1)

    def test_empty_and_models(self):
        rid = self.new_run()
        # MLflow 2.9.2 requires datasets (an empty list will do) ...
        r = self.post("runs/log-inputs", {"run_id": rid})
        self.assertBadParam(r)
        self.assertEqual(r.body["message"],
                         "Missing value for required parameter 'datasets'. "
                         "See the API docs for more information about "
                         "request parameters.")
        r = self.post("runs/log-inputs", {"run_id": rid, "datasets": None})
        self.assertBadParam(r, "'datasets'")
        # ... after run_id, and before the run id's format and the run
        self.assertBadParam(self.post("runs/log-inputs", {}), "'run_id'")
        self.assertBadParam(self.post("runs/log-inputs", {"run_id": "-x"}),
                            "'datasets'")
        self.assertEqual(self.ok(self.post("runs/log-inputs", {
            "run_id": rid, "datasets": []})), {})
        # MLflow 3's clients send models, with or without datasets
        self.assertEqual(self.ok(self.post("runs/log-inputs", {
            "run_id": rid, "models": [{"model_id": "m-123"}]})), {})
        run = self.get_run(rid)
        self.assertFalse(run.get("inputs", {}).get("dataset_inputs"))

    def test_required_fields_and_limits(self):
        rid = self.new_run()
        for missing in ("name", "digest", "source_type", "source"):
            d = ds("x", "y")
            del d["dataset"][missing]
            with self.subTest(missing=missing):
                self.assertBadParam(self.post("runs/log-inputs", {
                    "run_id": rid, "datasets": [d]}))
        for field, n in (("name", 501), ("digest", 37)):
            d = ds("x", "y")
            d["dataset"][field] = "z" * n
            with self.subTest(field=field, length=n):
                self.assertBadParam(self.post("runs/log-inputs", {
                    "run_id": rid, "datasets": [d]}))
        d = ds("x", "y")
        d["tags"] = [{"key": "k" * 256, "value": "v"}]
        self.assertBadParam(self.post("runs/log-inputs", {
            "run_id": rid, "datasets": [d]}))
        d["tags"] = [{"key": "k", "value": "v" * 501}]
        self.assertBadParam(self.post("runs/log-inputs", {
            "run_id": rid, "datasets": [d]}))
        self.assertBadParam(self.post("runs/log-inputs", {
            "run_id": rid, "datasets": [{"tags": []}]}))
        self.assertEqual(self.inputs(rid), [])
        # boundaries accepted
        ok = ds("n" * 500, "d" * 36)
        ok["tags"] = [{"key": "k" * 255, "value": "v" * 500}]
        self.ok(self.post("runs/log-inputs", {"run_id": rid,
                                              "datasets": [ok]}))
        self.assertEqual(len(self.inputs(rid)), 1)

    def test_run_checks(self):
        self.assertBadParam(self.post("runs/log-inputs", {
            "run_id": "-bad id", "datasets": [ds("a", "b")]}))
        self.assertNotFound(self.post("runs/log-inputs", {
            "run_id": uuid.uuid4().hex, "datasets": [ds("a", "b")]}))
        self.assertBadParam(self.post("runs/log-inputs", {
            "datasets": [ds("a", "b")]}))
        rid = self.new_run()
        self.ok(self.post("runs/delete", {"run_id": rid}))
        self.assertBadParam(self.post("runs/log-inputs", {
            "run_id": rid, "datasets": [ds("a", "b")]}),
            "must be in the 'active' state")

    # -- log-model -----------------------------------------------------------
    def model(self, rid, path="model"):
        return {"artifact_path": path, "flavors": {"python_function": {}},
                "utc_time_created": "2024-01-01 00:00:00.000000",
                "run_id": rid}

    def test_log_model_history(self):
        rid = self.new_run()
        m1, m2 = self.model(rid, "m1"), self.model(rid, "m2")
        self.assertEqual(self.ok(self.post("runs/log-model", {
            "run_id": rid, "model_json": json.dumps(m1)})), {})
        hist = json.loads(self.run_tags(self.get_run(rid))
                          ["mlflow.log-model.history"])
        self.assertEqual(hist, [m1])
        self.ok(self.post("runs/log-model", {"run_id": rid,
                                             "model_json": json.dumps(m2)}))
        hist = json.loads(self.run_tags(self.get_run(rid))
                          ["mlflow.log-model.history"])
        self.assertEqual(hist, [m1, m2])

    def test_log_model_invalid(self):
        rid = self.new_run()
        m = self.model(rid)
        del m["flavors"]
        self.assertBadParam(self.post("runs/log-model", {
            "run_id": rid, "model_json": json.dumps(m)}),
            "Model json is missing mandatory fields")
        self.assertBadParam(self.post("runs/log-model", {
            "run_id": rid, "model_json": "{not json"}))
        self.assertBadParam(self.post("runs/log-model", {
            "run_id": rid, "model_json": "[1, 2]"}))
        self.assertBadParam(self.post("runs/log-model", {"run_id": rid}))
        self.assertBadParam(self.post("runs/log-model", {
            "run_id": rid, "model_json": self.model(rid)}))  # not a string
        self.assertNotFound(self.post("runs/log-model", {
            "run_id": uuid.uuid4().hex,
            "model_json": json.dumps(self.model(rid))}))
        self.assertNotIn("mlflow.log-model.history",
                         self.run_tags(self.get_run(rid)))


class DatasetSearchTests(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        c = cls.client
        cls.eid = c.post("experiments/create",
                         {"name": uniq("dsearch")}).body["experiment_id"]

        def run(name, start, datasets):
            rid = c.post("runs/create", {"experiment_id": cls.eid,
                                         "run_name": name,
                                         "start_time": start}).body["run"]["info"]["run_id"]
            if datasets:
                r = c.post("runs/log-inputs", {"run_id": rid,
                                               "datasets": datasets})
                assert r.status == 200, r
            return rid

        cls.r1 = run("r1", 1, [ds("Train", "d1", "training"),
                               ds("eval", "d2", "evaluation")])
        cls.r2 = run("r2", 2, [ds("train", "d3", "training")])
        cls.r3 = run("r3", 3, [ds("other", "d4")])
        cls.r4 = run("r4", 4, [])

    def same(self, flt, expected):
        got = self.search_run_ids([self.eid], flt)
        self.assertEqual(sorted(got), sorted(expected), flt)

    def test_dataset_filters(self):
        r1, r2, r3 = self.r1, self.r2, self.r3
        self.same("datasets.name = 'train'", [r2])
        self.same("datasets.name = 'Train'", [r1])
        self.same("datasets.name LIKE 't%'", [r2])
        self.same("datasets.name ILIKE 't%'", [r1, r2])
        self.same("datasets.name != 'Train'", [r1, r2, r3])  # any input
        self.same("datasets.digest = 'd4'", [r3])
        self.same("datasets.digest IN ('d1', 'd4')", [r1, r3])
        self.same("datasets.digest NOT IN ('d1', 'd2', 'd3')", [r3])
        self.same("datasets.context = 'training'", [r1, r2])
        self.same("datasets.context = 'evaluation'", [r1])
        self.same("datasets.context IN ('evaluation')", [r1])
        self.same("dataset.name = 'eval'", [r1])
        self.same("datasets.name = 'Train' AND datasets.context = "
                  "'training'", [r1])
        self.same("datasets.name = 'nothing'", [])

    def test_dataset_invalid(self):
        for f in ["datasets.name > 'a'", "datasets.size = 'a'",
                  "datasets.name = 1"]:
            with self.subTest(filter=f):
                self.assertBadParam(self.search_runs([self.eid], f))
