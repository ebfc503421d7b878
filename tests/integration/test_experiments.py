# SPDX-License-Identifier: MIT
"""Experiments: create/get/get-by-name/update/delete/restore and tags
(specs/mlflow-rest.md §3.1, §4, §5)."""

import time

from harness import ServerTestCase, now_ms, uniq


class ExperimentTests(ServerTestCase):

    def test_default_experiment_exists(self):
        e = self.get_experiment("0")
        self.assertEqual(e["experiment_id"], "0")
        self.assertEqual(e["name"], "Default")
        self.assertEqual(e["lifecycle_stage"], "active")
        self.assertTrue(e["artifact_location"].endswith("/0"),
                        e["artifact_location"])
        b = self.ok(self.get("experiments/get-by-name",
                             {"experiment_name": "Default"}))
        self.assertEqual(b["experiment"]["experiment_id"], "0")

    def test_create_and_get_shape(self):
        name = uniq("shape")
        t0 = now_ms()
        eid = self.create_experiment(
            name, tags=[{"key": "team", "value": "ml"},
                        {"key": "a:b", "value": ""}])
        self.assertRegex(eid, r"^[0-9A-Za-z][\w\-]{0,63}$")
        self.assertNotEqual(eid, "0")
        e = self.get_experiment(eid)
        self.assertEqual(e["experiment_id"], eid)
        self.assertEqual(e["name"], name)
        self.assertEqual(e["lifecycle_stage"], "active")
        for f in ("creation_time", "last_update_time"):
            self.assertIsInstance(e[f], int, "%s must be a JSON number" % f)
            self.assertGreaterEqual(e[f], t0 - 5000)
            self.assertLessEqual(e[f], now_ms() + 5000)
        self.assertEqual(e["artifact_location"], "mlflow-artifacts:/" + eid)
        self.assertEqual(self.tags_of(e), {"team": "ml", "a:b": ""})
        b = self.ok(self.get("experiments/get-by-name",
                             {"experiment_name": name}))
        self.assertEqual(b["experiment"]["experiment_id"], eid)

    def test_ids_are_distinct_strings(self):
        ids = {self.create_experiment() for _ in range(5)}
        self.assertEqual(len(ids), 5)

    def test_tags_omitted_when_empty(self):
        e = self.get_experiment(self.create_experiment())
        self.assertNotIn("tags", e)

    def test_custom_artifact_location(self):
        loc = "/tmp/gt-custom-%s" % uniq("loc")
        eid = self.create_experiment(artifact_location=loc)
        e = self.get_experiment(eid)
        self.assertEqual(e["artifact_location"], loc)
        run = self.create_run(eid)
        self.assertEqual(run["info"]["artifact_uri"],
                         "%s/%s/artifacts" % (loc, run["info"]["run_id"]))

    def test_artifact_location_runs_scheme_rejected(self):
        self.assertBadParam(self.post("experiments/create", {
            "name": uniq("bad"), "artifact_location": "runs:/abc/x"}))

    def test_get_by_name_missing(self):
        name = uniq("missing")
        self.assertNotFound(
            self.get("experiments/get-by-name", {"experiment_name": name}),
            "Could not find experiment with name '%s'" % name)

    def test_get_unknown_id(self):
        self.assertNotFound(
            self.get("experiments/get", {"experiment_id": "987654321"}),
            "No Experiment with id=987654321 exists")

    def test_duplicate_name(self):
        name = uniq("dup")
        eid = self.create_experiment(name)
        self.assertError(self.post("experiments/create", {"name": name}),
                         400, "RESOURCE_ALREADY_EXISTS")
        self.ok(self.post("experiments/delete", {"experiment_id": eid}))
        # still taken while deleted
        self.assertError(self.post("experiments/create", {"name": name}),
                         400, "RESOURCE_ALREADY_EXISTS")

    def test_name_length(self):
        n500 = uniq("n")
        n500 = n500 + "x" * (500 - len(n500))
        eid = self.create_experiment(n500)
        self.assertEqual(self.get_experiment(eid)["name"], n500)
        self.assertBadParam(self.post("experiments/create",
                                      {"name": "y" * 501}))
        self.assertBadParam(self.post("experiments/create", {"name": ""}))
        self.assertBadParam(self.post("experiments/create", {}))

    def test_name_unicode_and_quotes_roundtrip(self):
        name = uniq("ünï'cødé \"q\" 实验 %_")
        eid = self.create_experiment(name)
        self.assertEqual(self.get_experiment(eid)["name"], name)
        b = self.ok(self.get("experiments/get-by-name",
                             {"experiment_name": name}))
        self.assertEqual(b["experiment"]["experiment_id"], eid)

    def test_query_string_decoding(self):
        # Python requests encodes a space as '+', and '+' as %2B
        for raw in ["a b+c&d=e%f/\u00fc?#;", "  lead and trail  ",
                    "plus+only", "x%20y"]:
            name = raw + uniq("")
            with self.subTest(name=name):
                eid = self.create_experiment(name)
                b = self.ok(self.get("experiments/get-by-name",
                                     {"experiment_name": name}))
                self.assertEqual(b["experiment"]["experiment_id"], eid)
                self.assertEqual(b["experiment"]["name"], name)
        # %20 encoding of a space works too
        name = "pct space " + uniq("")
        eid = self.create_experiment(name)
        r = self.request("GET", "/api/2.0/mlflow/experiments/get-by-name"
                         "?experiment_name=" + name.replace(" ", "%20"))
        self.assertEqual(self.ok(r)["experiment"]["experiment_id"], eid)

    def test_rename(self):
        old, new = uniq("old"), uniq("new")
        eid = self.create_experiment(old)
        before = self.get_experiment(eid)["last_update_time"]
        time.sleep(0.01)
        self.assertEqual(self.ok(self.post("experiments/update", {
            "experiment_id": eid, "new_name": new})), {})
        e = self.get_experiment(eid)
        self.assertEqual(e["name"], new)
        self.assertGreaterEqual(e["last_update_time"], before)
        self.assertNotFound(self.get("experiments/get-by-name",
                                     {"experiment_name": old}))
        b = self.ok(self.get("experiments/get-by-name",
                             {"experiment_name": new}))
        self.assertEqual(b["experiment"]["experiment_id"], eid)

    def test_rename_to_existing_name(self):
        a, b = uniq("a"), uniq("b")
        self.create_experiment(a)
        eb = self.create_experiment(b)
        self.assertError(self.post("experiments/update", {
            "experiment_id": eb, "new_name": a}), 400,
            "RESOURCE_ALREADY_EXISTS")
        self.assertEqual(self.get_experiment(eb)["name"], b)

    def test_rename_requires_new_name(self):
        eid = self.create_experiment()
        self.assertBadParam(self.post("experiments/update",
                                      {"experiment_id": eid}))
        self.assertBadParam(self.post("experiments/update",
                                      {"experiment_id": eid, "new_name": ""}))

    def test_rename_deleted_is_invalid_state(self):
        eid = self.create_experiment()
        self.ok(self.post("experiments/delete", {"experiment_id": eid}))
        self.assertError(self.post("experiments/update", {
            "experiment_id": eid, "new_name": uniq("x")}), 500,
            "INVALID_STATE", "Cannot rename a non-active experiment")

    def test_delete_restore_cascades_to_runs(self):
        eid = self.create_experiment()
        r1 = self.create_run(eid)["info"]["run_id"]
        r2 = self.create_run(eid)["info"]["run_id"]
        # a run deleted before the experiment
        self.ok(self.post("runs/delete", {"run_id": r2}))
        before = self.get_experiment(eid)["last_update_time"]
        time.sleep(0.01)
        self.assertEqual(self.ok(self.post("experiments/delete",
                                           {"experiment_id": eid})), {})
        e = self.get_experiment(eid)
        self.assertEqual(e["lifecycle_stage"], "deleted")
        self.assertGreaterEqual(e["last_update_time"], before)
        # get-by-name still finds it
        b = self.ok(self.get("experiments/get-by-name",
                             {"experiment_name": e["name"]}))
        self.assertEqual(b["experiment"]["lifecycle_stage"], "deleted")
        self.assertEqual(self.get_run(r1)["info"]["lifecycle_stage"],
                         "deleted")
        self.assertEqual(self.search_run_ids([eid]), [])
        self.assertEqual(
            sorted(self.search_run_ids([eid], run_view_type="DELETED_ONLY")),
            sorted([r1, r2]))
        # deleting twice
        self.assertNotFound(self.post("experiments/delete",
                                      {"experiment_id": eid}))
        # restore
        self.assertEqual(self.ok(self.post("experiments/restore",
                                           {"experiment_id": eid})), {})
        self.assertEqual(self.get_experiment(eid)["lifecycle_stage"],
                         "active")
        self.assertEqual(self.get_run(r1)["info"]["lifecycle_stage"],
                         "active")
        self.assertIn(r1, self.search_run_ids([eid]))
        # restoring an active experiment
        self.assertNotFound(self.post("experiments/restore",
                                      {"experiment_id": eid}))

    def test_delete_unknown(self):
        self.assertNotFound(self.post("experiments/delete",
                                      {"experiment_id": "99999999"}))
        self.assertNotFound(self.post("experiments/restore",
                                      {"experiment_id": "99999999"}))

    def test_create_run_in_deleted_experiment(self):
        eid = self.create_experiment()
        self.ok(self.post("experiments/delete", {"experiment_id": eid}))
        self.assertBadParam(
            self.post("runs/create", {"experiment_id": eid,
                                      "start_time": now_ms()}),
            "must be in the 'active' state")

    def test_write_to_run_of_deleted_experiment(self):
        eid = self.create_experiment()
        rid = self.create_run(eid)["info"]["run_id"]
        self.ok(self.post("experiments/delete", {"experiment_id": eid}))
        self.assertBadParam(self.post("runs/log-metric", {
            "run_id": rid, "key": "m", "value": 1, "timestamp": 1}),
            "must be in the 'active' state")

    def test_experiment_tags(self):
        eid = self.create_experiment()
        self.assertEqual(self.ok(self.post(
            "experiments/set-experiment-tag",
            {"experiment_id": eid, "key": "k", "value": "v1"})), {})
        self.ok(self.post("experiments/set-experiment-tag",
                          {"experiment_id": eid, "key": "k", "value": "v2"}))
        self.ok(self.post("experiments/set-experiment-tag",
                          {"experiment_id": eid, "key": "other"}))
        tags = self.tags_of(self.get_experiment(eid))
        self.assertEqual(tags, {"k": "v2", "other": ""})
        self.assertEqual(self.ok(self.post(
            "experiments/delete-experiment-tag",
            {"experiment_id": eid, "key": "k"})), {})
        self.assertEqual(self.tags_of(self.get_experiment(eid)),
                         {"other": ""})
        self.assertNotFound(self.post("experiments/delete-experiment-tag",
                                      {"experiment_id": eid, "key": "k"}))

    def test_experiment_tag_limits(self):
        eid = self.create_experiment()
        self.ok(self.post("experiments/set-experiment-tag", {
            "experiment_id": eid, "key": "k" * 250, "value": "v" * 5000}))
        tags = self.tags_of(self.get_experiment(eid))
        self.assertEqual(tags["k" * 250], "v" * 5000)
        # not truncated: rejected
        self.assertBadParam(self.post("experiments/set-experiment-tag", {
            "experiment_id": eid, "key": "long", "value": "v" * 5001}))
        self.assertBadParam(self.post("experiments/set-experiment-tag", {
            "experiment_id": eid, "key": "k" * 251, "value": "v"}))
        self.assertBadParam(self.post("experiments/set-experiment-tag", {
            "experiment_id": eid, "key": "a//b", "value": "v"}))
        self.assertNotIn("long", self.tags_of(self.get_experiment(eid)))

    def test_experiment_tag_on_deleted_experiment(self):
        eid = self.create_experiment()
        self.ok(self.post("experiments/delete", {"experiment_id": eid}))
        self.assertBadParam(self.post("experiments/set-experiment-tag", {
            "experiment_id": eid, "key": "k", "value": "v"}),
            "must be in the 'active' state")

    def test_experiment_tag_unknown_experiment(self):
        self.assertNotFound(self.post("experiments/set-experiment-tag", {
            "experiment_id": "88888888", "key": "k", "value": "v"}))

    def test_numeric_experiment_id_input(self):
        eid = self.create_experiment()
        # a numeric experiment_id is turned into a string
        b = self.ok(self.post("runs/create", {"experiment_id": int(eid),
                                              "start_time": now_ms()}))
        self.assertEqual(b["run"]["info"]["experiment_id"], eid)
        b = self.ok(self.post("experiments/set-experiment-tag", {
            "experiment_id": int(eid), "key": "n", "value": "1"}))
        self.assertEqual(self.tags_of(self.get_experiment(eid)).get("n"), "1")

    def test_get_requires_id(self):
        self.assertBadParam(self.get("experiments/get"),
                            "Missing value for required parameter")
        self.assertBadParam(self.get("experiments/get-by-name"))

    def test_legacy_list(self):
        b = self.ok(self.get("experiments/list"))
        self.assertIn("experiments", b)
        self.assertIn("0", [e["experiment_id"] for e in b["experiments"]])
