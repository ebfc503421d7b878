# SPDX-License-Identifier: MIT
"""Runs: create/get/update/delete/restore, params, tags, key validation,
client-chosen run ids (specs/mlflow-rest.md §3.2, §4, §5)."""

import json
import os
import re
import subprocess
import threading
import time
import unittest
import uuid

from harness import ON_POSTGRES, ServerTestCase, now_ms, uniq

HEX32 = re.compile(r"^[0-9a-f]{32}$")

VALID_KEYS = ["a", "a/b", "a.b", "a-b c", "a:b", "ключ", "x_1/y.z-2",
              "mlflow.note", "A" * 250]
INVALID_KEYS = ["a//b", "/a", "..x", "a/./b", "a/", ".", "", "a*b", "a\nb",
                "a" * 251]


class RunTests(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.eid = cls.client.post("experiments/create",
                                  {"name": uniq("runs")}).body["experiment_id"]

    def new_run(self, **kw):
        return self.create_run(self.eid, **kw)["info"]["run_id"]

    # -- create / get --------------------------------------------------------
    def test_create_shape(self):
        st = now_ms() - 1234
        b = self.ok(self.post("runs/create", {
            "experiment_id": self.eid, "start_time": st, "run_name": "r1",
            "user_id": "alice",
            "tags": [{"key": "mlflow.user", "value": "bob"}]}))
        run = b["run"]
        info = run["info"]
        self.assertRegex(info["run_id"], HEX32)
        self.assertEqual(info["run_uuid"], info["run_id"])
        self.assertEqual(info["experiment_id"], self.eid)
        self.assertEqual(info["status"], "RUNNING")
        self.assertEqual(info["lifecycle_stage"], "active")
        self.assertEqual(info["start_time"], st)
        self.assertIsInstance(info["start_time"], int)
        self.assertEqual(info["run_name"], "r1")
        self.assertEqual(info["user_id"], "alice")
        self.assertNotIn("end_time", info)
        self.assertEqual(
            info["artifact_uri"],
            "mlflow-artifacts:/%s/%s/artifacts" % (self.eid, info["run_id"]))
        tags = self.run_tags(run)
        self.assertEqual(tags.get("mlflow.user"), "bob")
        self.assertEqual(tags.get("mlflow.runName"), "r1")
        # get returns the same
        got = self.get_run(info["run_id"])
        self.assertEqual(got["info"], info)
        self.assertNotIn("metrics", got.get("data", {}))
        self.assertNotIn("params", got.get("data", {}))

    def test_run_ids_unique(self):
        ids = {self.new_run() for _ in range(20)}
        self.assertEqual(len(ids), 20)
        for i in ids:
            self.assertRegex(i, HEX32)

    def test_generated_run_name(self):
        run = self.create_run(self.eid)
        name = run["info"].get("run_name")
        self.assertTrue(name, "a run name must be generated")
        self.assertEqual(self.run_tags(run).get("mlflow.runName"), name)

    def test_run_name_from_tag(self):
        run = self.create_run(self.eid, tags=[
            {"key": "mlflow.runName", "value": "fromtag"}])
        self.assertEqual(run["info"]["run_name"], "fromtag")

    def test_run_name_conflict(self):
        self.assertBadParam(self.post("runs/create", {
            "experiment_id": self.eid, "run_name": "a",
            "tags": [{"key": "mlflow.runName", "value": "b"}]}))

    def test_start_time_absent_is_now(self):
        b = self.ok(self.post("runs/create", {"experiment_id": self.eid}))
        self.assertLess(abs(b["run"]["info"]["start_time"] - now_ms()), 60000)

    def test_start_time_as_string(self):
        b = self.ok(self.post("runs/create", {"experiment_id": self.eid,
                                              "start_time": "1700000000123"}))
        self.assertEqual(b["run"]["info"]["start_time"], 1700000000123)

    def test_absent_experiment_is_default(self):
        b = self.ok(self.post("runs/create", {"start_time": now_ms()}))
        self.assertEqual(b["run"]["info"]["experiment_id"], "0")

    def test_unknown_experiment(self):
        self.assertNotFound(self.post("runs/create", {
            "experiment_id": "77777777", "start_time": now_ms()}))

    def test_get_unknown_run(self):
        rid = uuid.uuid4().hex
        self.assertNotFound(self.get("runs/get", {"run_id": rid}),
                            "Run with id=%s not found" % rid)

    def test_get_with_run_uuid(self):
        rid = self.new_run()
        b = self.ok(self.get("runs/get", {"run_uuid": rid}))
        self.assertEqual(b["run"]["info"]["run_id"], rid)

    def test_unknown_fields_ignored(self):
        b = self.ok(self.post("runs/create", {
            "experiment_id": self.eid, "start_time": 5, "bogus": [1, {"x": 2}],
            "run_uuid": "ignored"}))
        self.assertEqual(b["run"]["info"]["start_time"], 5)

    def test_double_encoded_body(self):
        rid = self.new_run()
        inner = json.dumps({"run_id": rid, "key": "dbl", "value": "v"})
        self.ok(self.post("runs/log-parameter", json.dumps(inner).encode()))
        self.assertEqual(self.params_of(self.get_run(rid)).get("dbl"), "v")

    # -- client-chosen run ids (greentrack extension) ------------------------
    def test_client_run_id_idempotent(self):
        rid = uuid.uuid4().hex
        b1 = self.ok(self.post("runs/create", {
            "experiment_id": self.eid, "run_id": rid, "start_time": 111,
            "run_name": "offline"}))
        self.assertEqual(b1["run"]["info"]["run_id"], rid)
        self.assertEqual(b1["run"]["info"]["run_uuid"], rid)
        self.ok(self.post("runs/log-parameter",
                          {"run_id": rid, "key": "p", "value": "1"}))
        b2 = self.ok(self.post("runs/create", {
            "experiment_id": self.eid, "run_id": rid, "start_time": 111,
            "run_name": "offline"}))
        self.assertEqual(b2["run"]["info"]["run_id"], rid)
        self.assertEqual(b2["run"]["info"]["start_time"], 111)
        got = self.get_run(rid)
        self.assertEqual(self.params_of(got), {"p": "1"})
        # exactly one run with that id in the experiment
        ids = self.search_run_ids([self.eid], "attributes.run_id = '%s'" % rid)
        self.assertEqual(ids, [rid])

    def test_client_run_id_other_experiment(self):
        rid = uuid.uuid4().hex
        self.ok(self.post("runs/create", {"experiment_id": self.eid,
                                          "run_id": rid}))
        other = self.create_experiment()
        self.assertBadParam(self.post("runs/create", {"experiment_id": other,
                                                      "run_id": rid}))
        self.assertEqual(self.get_run(rid)["info"]["experiment_id"], self.eid)

    def test_client_run_id_bad_format(self):
        for bad in [uuid.uuid4().hex.upper(), uuid.uuid4().hex[:31],
                    uuid.uuid4().hex + "0", "g" * 32, "../" + "a" * 29,
                    "a' OR '1'='1" + "0" * 20]:
            self.assertBadParam(self.post("runs/create", {
                "experiment_id": self.eid, "run_id": bad}), )

    # -- update --------------------------------------------------------------
    def test_update(self):
        rid = self.new_run(run_name="before")
        b = self.ok(self.post("runs/update", {
            "run_id": rid, "status": "FINISHED", "end_time": 1700000009999}))
        ri = b["run_info"]
        self.assertEqual(ri["run_id"], rid)
        self.assertEqual(ri["status"], "FINISHED")
        self.assertEqual(ri["end_time"], 1700000009999)
        self.assertEqual(ri["run_name"], "before")
        got = self.get_run(rid)["info"]
        self.assertEqual(got["status"], "FINISHED")
        self.assertEqual(got["end_time"], 1700000009999)

    def test_update_partial_and_enum_number(self):
        rid = self.new_run()
        self.ok(self.post("runs/update", {"run_id": rid, "status": 4}))
        self.assertEqual(self.get_run(rid)["info"]["status"], "FAILED")
        self.ok(self.post("runs/update", {"run_id": rid, "end_time": "42"}))
        info = self.get_run(rid)["info"]
        self.assertEqual(info["status"], "FAILED")
        self.assertEqual(info["end_time"], 42)
        self.assertBadParam(self.post("runs/update", {"run_id": rid,
                                                      "status": "BOGUS"}))
        self.assertBadParam(self.post("runs/update", {"run_id": rid,
                                                      "status": 99}))

    def test_update_run_name_syncs_tag(self):
        rid = self.new_run(run_name="n1")
        b = self.ok(self.post("runs/update", {"run_uuid": rid,
                                              "run_name": "n2"}))
        self.assertEqual(b["run_info"]["run_name"], "n2")
        run = self.get_run(rid)
        self.assertEqual(run["info"]["run_name"], "n2")
        self.assertEqual(self.run_tags(run)["mlflow.runName"], "n2")

    def test_set_tag_run_name_renames(self):
        rid = self.new_run(run_name="n1")
        self.ok(self.post("runs/set-tag", {"run_id": rid,
                                           "key": "mlflow.runName",
                                           "value": "n3"}))
        self.assertEqual(self.get_run(rid)["info"]["run_name"], "n3")

    # -- delete / restore ----------------------------------------------------
    def test_delete_restore(self):
        rid = self.new_run()
        self.assertEqual(self.ok(self.post("runs/delete", {"run_id": rid})),
                         {})
        self.assertEqual(self.get_run(rid)["info"]["lifecycle_stage"],
                         "deleted")
        self.ok(self.post("runs/delete", {"run_id": rid}))  # twice is fine
        self.assertEqual(self.ok(self.post("runs/restore", {"run_id": rid})),
                         {})
        self.assertEqual(self.get_run(rid)["info"]["lifecycle_stage"],
                         "active")
        self.ok(self.post("runs/log-metric", {"run_id": rid, "key": "m",
                                              "value": 1, "timestamp": 1}))

    def test_writes_to_deleted_run_rejected(self):
        rid = self.new_run()
        self.ok(self.post("runs/set-tag", {"run_id": rid, "key": "t",
                                           "value": "v"}))
        self.ok(self.post("runs/delete", {"run_id": rid}))
        msg = "must be in the 'active' state"
        writes = [
            ("runs/log-metric", {"run_id": rid, "key": "m", "value": 1,
                                 "timestamp": 1}),
            ("runs/log-parameter", {"run_id": rid, "key": "p", "value": "1"}),
            ("runs/set-tag", {"run_id": rid, "key": "t", "value": "w"}),
            ("runs/delete-tag", {"run_id": rid, "key": "t"}),
            ("runs/update", {"run_id": rid, "status": "FINISHED"}),
            ("runs/log-batch", {"run_id": rid, "metrics": [
                {"key": "m", "value": 1, "timestamp": 1}]}),
        ]
        for path, body in writes:
            with self.subTest(path=path):
                self.assertBadParam(self.post(path, body), msg)
        run = self.get_run(rid)
        self.assertEqual(self.run_tags(run).get("t"), "v")
        self.assertEqual(run["info"]["status"], "RUNNING")
        # reads still work
        self.assertEqual(self.history(rid, "m"), [])

    # -- params --------------------------------------------------------------
    def test_params_immutable(self):
        rid = self.new_run()
        self.assertEqual(self.ok(self.post("runs/log-parameter", {
            "run_id": rid, "key": "lr", "value": "0.01"})), {})
        self.ok(self.post("runs/log-parameter", {
            "run_id": rid, "key": "lr", "value": "0.01"}))
        self.assertBadParam(self.post("runs/log-parameter", {
            "run_id": rid, "key": "lr", "value": "0.02"}),
            "Changing param values is not allowed")
        self.assertEqual(self.params_of(self.get_run(rid)), {"lr": "0.01"})

    def test_param_empty_value_and_run_uuid(self):
        rid = self.new_run()
        self.ok(self.post("runs/log-parameter", {"run_uuid": rid,
                                                 "key": "empty"}))
        self.assertEqual(self.params_of(self.get_run(rid)), {"empty": ""})

    def test_param_truncation(self):
        rid = self.new_run()
        self.ok(self.post("runs/log-parameter", {
            "run_id": rid, "key": "p6000", "value": "a" * 6000}))
        self.ok(self.post("runs/log-parameter", {
            "run_id": rid, "key": "p7000", "value": "b" * 7000}))
        p = self.params_of(self.get_run(rid))
        self.assertEqual(p["p6000"], "a" * 6000)
        self.assertEqual(p["p7000"], "b" * 6000)

    def test_param_unicode_roundtrip(self):
        rid = self.new_run()
        v = "héllo \u4e16\u754c \U0001F600 \"q\" \\ \t nl\n"
        self.ok(self.post("runs/log-parameter", {"run_id": rid, "key": "u",
                                                 "value": v}))
        self.assertEqual(self.params_of(self.get_run(rid))["u"], v)

    # -- tags ----------------------------------------------------------------
    def test_tags_upsert_delete(self):
        rid = self.new_run()
        self.assertEqual(self.ok(self.post("runs/set-tag", {
            "run_id": rid, "key": "t", "value": "1"})), {})
        self.ok(self.post("runs/set-tag", {"run_uuid": rid, "key": "t",
                                           "value": "2"}))
        self.assertEqual(self.run_tags(self.get_run(rid))["t"], "2")
        self.assertEqual(self.ok(self.post("runs/delete-tag", {
            "run_id": rid, "key": "t"})), {})
        self.assertNotIn("t", self.run_tags(self.get_run(rid)))
        self.assertNotFound(self.post("runs/delete-tag", {"run_id": rid,
                                                          "key": "t"}),
                            "No tag with name: t")

    def test_tag_truncation(self):
        rid = self.new_run()
        self.ok(self.post("runs/set-tag", {"run_id": rid, "key": "t8000",
                                           "value": "x" * 8000}))
        self.ok(self.post("runs/set-tag", {"run_id": rid, "key": "t9000",
                                           "value": "y" * 9000}))
        tags = self.run_tags(self.get_run(rid))
        self.assertEqual(tags["t8000"], "x" * 8000)
        self.assertEqual(tags["t9000"], "y" * 8000)

    # -- key validation ------------------------------------------------------
    def test_valid_keys(self):
        rid = self.new_run()
        for k in VALID_KEYS:
            with self.subTest(key=k):
                self.ok(self.post("runs/log-parameter",
                                  {"run_id": rid, "key": k, "value": "v"}))
                self.ok(self.post("runs/set-tag",
                                  {"run_id": rid, "key": k, "value": "v"}))
                self.ok(self.post("runs/log-metric", {
                    "run_id": rid, "key": k, "value": 1, "timestamp": 1}))
        run = self.get_run(rid)
        for k in VALID_KEYS:
            self.assertIn(k, self.params_of(run))
            self.assertIn(k, self.metrics_of(run))

    def test_invalid_keys(self):
        rid = self.new_run()
        for k in INVALID_KEYS:
            with self.subTest(key=k):
                self.assertBadParam(self.post("runs/log-parameter", {
                    "run_id": rid, "key": k, "value": "v"}))
                self.assertBadParam(self.post("runs/set-tag", {
                    "run_id": rid, "key": k, "value": "v"}))
                self.assertBadParam(self.post("runs/log-metric", {
                    "run_id": rid, "key": k, "value": 1, "timestamp": 1}))
                self.assertBadParam(self.post("runs/log-batch", {
                    "run_id": rid, "params": [{"key": k, "value": "v"}]}))
        run = self.get_run(rid)
        self.assertNotIn("params", run.get("data", {}))
        self.assertNotIn("metrics", run.get("data", {}))

    def test_create_with_invalid_tag_key(self):
        self.assertBadParam(self.post("runs/create", {
            "experiment_id": self.eid, "tags": [{"key": "a//b",
                                                 "value": "v"}]}))


class ConcurrencyTests(ServerTestCase):
    """Races between clients must resolve the way one client at a time
    would: one winner, consistent state, no 5xx."""

    def race(self, n, fn):
        import threading
        from harness import Client
        results = [None] * n
        barrier = threading.Barrier(n)

        def work(i):
            c = Client(self.server.host, self.server.port)
            try:
                barrier.wait(10)
                results[i] = fn(c, i)
            except Exception as e:  # noqa: BLE001 - reported below
                results[i] = e
            finally:
                c.close()
        ts = [threading.Thread(target=work, args=(i,)) for i in range(n)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(30)
        for r in results:
            self.assertNotIsInstance(r, Exception, repr(r))
        return results

    def test_param_race_one_winner(self):
        rid = self.create_run("0")["info"]["run_id"]
        res = self.race(8, lambda c, i: c.post("runs/log-parameter", {
            "run_id": rid, "key": "race", "value": "v%d" % i}))
        winners = [i for i, r in enumerate(res) if r.status == 200]
        self.assertEqual(len(winners), 1, [r.status for r in res])
        for r in res:
            if r.status != 200:
                self.assertBadParam(r, "Changing param values is not allowed")
        self.assertEqual(self.params_of(self.get_run(rid))["race"],
                         "v%d" % winners[0])

    def test_experiment_name_race(self):
        name = uniq("race")
        res = self.race(8, lambda c, i: c.post("experiments/create",
                                               {"name": name}))
        codes = sorted(r.status for r in res)
        self.assertEqual(codes, [200] + [400] * 7)
        for r in res:
            if r.status == 400:
                self.assertEqual(r.body["error_code"],
                                 "RESOURCE_ALREADY_EXISTS")

    def test_client_run_id_race(self):
        rid = uuid.uuid4().hex
        eid = self.create_experiment()
        res = self.race(8, lambda c, i: c.post("runs/create", {
            "experiment_id": eid, "run_id": rid, "start_time": 5}))
        for r in res:
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.body["run"]["info"]["run_id"], rid)
        self.assertEqual(self.search_run_ids([eid]), [rid])

    def test_concurrent_metrics_latest_consistent(self):
        rid = self.create_run("0")["info"]["run_id"]
        import random

        def work(c, i):
            rnd = random.Random(i)
            out = []
            for _ in range(40):
                p = (rnd.randint(0, 20), rnd.randint(0, 20),
                     float(rnd.randint(-5, 5)))
                r = c.post("runs/log-metric", {
                    "run_id": rid, "key": "lat", "step": p[0],
                    "timestamp": p[1], "value": p[2]})
                if r.status != 200:
                    return r
                out.append(p)
            return out
        res = self.race(6, work)
        sent = set()
        for r in res:
            self.assertIsInstance(r, list, repr(r))
            sent.update(r)
        h = self.history(rid, "lat")
        got = {(m["step"], m["timestamp"], m["value"]) for m in h}
        self.assertEqual(got, sent)
        self.assertEqual(len(h), len(sent))
        m = self.metrics_of(self.get_run(rid))["lat"]
        self.assertEqual((m["step"], m["timestamp"], m["value"]), max(sent))

    def test_rename_visible_to_search(self):
        eid = self.create_experiment()
        rid = self.create_run(eid, run_name="first")["info"]["run_id"]
        self.ok(self.post("runs/update", {"run_id": rid,
                                          "run_name": "second"}))
        self.assertEqual(self.search_run_ids(
            [eid], "attributes.run_name = 'second'"), [rid])
        self.assertEqual(self.search_run_ids(
            [eid], "tags.`mlflow.runName` = 'second'"), [rid])
        self.ok(self.post("runs/set-tag", {"run_id": rid,
                                           "key": "mlflow.runName",
                                           "value": "third"}))
        self.assertEqual(self.search_run_ids(
            [eid], "attributes.run_name = 'third'"), [rid])
        self.assertEqual(self.search_run_ids(
            [eid], "attributes.run_name = 'second'"), [])


class OtherWriterTests(ServerTestCase):
    """Another writer of the same PostgreSQL database (a second server)
    logs a param between this server's check and its insert: the unique
    constraint refuses the insert, the request is answered "retry" (503)
    and the retry compares the values as usual."""

    @unittest.skipUnless(ON_POSTGRES, "needs a second writer at once; "
                         "SQLite lets one write transaction in at a time")
    def test_param_logged_meanwhile_by_another_writer(self):
        rid = self.create_run("0")["info"]["run_id"]
        import pgtest
        other = subprocess.Popen(
            [pgtest.PSQL, "-q", "-X", "-v", "ON_ERROR_STOP=1", "-v",
             "rid=" + rid, "-d", self.server.db],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.addCleanup(other.kill)
        other.stdin.write(
            "BEGIN;\nINSERT INTO params (run_pk, key, value) SELECT run_pk, "
            "'lr', '0.1' FROM runs WHERE run_id = :'rid';\n\\echo held\n")
        other.stdin.flush()
        self.assertEqual(other.stdout.readline().strip(), "held")
        result = {}

        def log():
            result["r"] = self.client.post("runs/log-parameter", {
                "run_id": rid, "key": "lr", "value": "0.2"})
        t = threading.Thread(target=log)
        t.start()
        time.sleep(1.0)  # the insert waits on the uncommitted row
        other.stdin.write("COMMIT;\n")
        other.stdin.close()
        self.assertEqual(other.wait(20), 0)
        t.join(20)
        r = result["r"]
        self.assertEqual(r.status, 503, r)
        self.assertEqual(r.body["error_code"], "TEMPORARILY_UNAVAILABLE")
        self.assertBadParam(self.post("runs/log-parameter", {
            "run_id": rid, "key": "lr", "value": "0.2"}),
            "Changing param values is not allowed")
        self.ok(self.post("runs/log-parameter", {
            "run_id": rid, "key": "lr", "value": "0.1"}))
        # the batch the refused request was in went on
        self.assertEqual(self.params_of(self.get_run(rid)), {"lr": "0.1"})
