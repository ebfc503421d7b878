# SPDX-License-Identifier: MIT
"""Errors: every row of specs/mlflow-rest.md §2 and §5, transport errors
(content type, malformed/invalid JSON, unknown routes, wrong methods, body
size), hostile input (deep nesting, invalid UTF-8, huge keys/numbers, SQL
injection) - and the server stays up through all of it."""

import base64
import http.client
import json
import socket
import uuid

import harness
from harness import ServerTestCase, now_ms, uniq

# raw requests here send "Host: x" (harness.RAW_HOST_ENV)
harness.SERVER_ENV_DEFAULTS.update(harness.RAW_HOST_ENV)

RUN_ENDPOINTS_POST = [
    ("runs/update", {"status": "FINISHED"}),
    ("runs/delete", {}),
    ("runs/restore", {}),
    ("runs/log-metric", {"key": "m", "value": 1, "timestamp": 1}),
    ("runs/log-parameter", {"key": "p", "value": "v"}),
    ("runs/set-tag", {"key": "t", "value": "v"}),
    ("runs/delete-tag", {"key": "t"}),
    ("runs/log-batch", {"metrics": [{"key": "m", "value": 1,
                                     "timestamp": 1}]}),
    ("runs/log-inputs", {"datasets": []}),
    ("runs/log-model", {"model_json": json.dumps({
        "artifact_path": "m", "flavors": {}, "utc_time_created": "x",
        "run_id": "x"})}),
]

# (method, path, a valid body or query minus the field, required fields)
REQUIRED = [
    ("POST", "experiments/create", {}, ["name"]),
    ("GET", "experiments/get", {}, ["experiment_id"]),
    ("GET", "experiments/get-by-name", {}, ["experiment_name"]),
    ("POST", "experiments/update", {"experiment_id": "0", "new_name": "x"},
     ["experiment_id", "new_name"]),
    ("POST", "experiments/delete", {}, ["experiment_id"]),
    ("POST", "experiments/restore", {}, ["experiment_id"]),
    ("POST", "experiments/set-experiment-tag",
     {"experiment_id": "0", "key": "k", "value": "v"},
     ["experiment_id", "key"]),
    ("POST", "experiments/delete-experiment-tag",
     {"experiment_id": "0", "key": "k"}, ["experiment_id", "key"]),
    ("GET", "runs/get", {}, ["run_id"]),
    ("POST", "runs/update", {"run_id": "RID"}, ["run_id"]),
    ("POST", "runs/delete", {}, ["run_id"]),
    ("POST", "runs/restore", {}, ["run_id"]),
    ("POST", "runs/log-metric",
     {"run_id": "RID", "key": "m", "value": 1, "timestamp": 1},
     ["run_id", "key", "value", "timestamp"]),
    ("POST", "runs/log-parameter", {"run_id": "RID", "key": "p",
                                    "value": "v"}, ["run_id", "key"]),
    ("POST", "runs/set-tag", {"run_id": "RID", "key": "t", "value": "v"},
     ["run_id", "key"]),
    ("POST", "runs/delete-tag", {"run_id": "RID", "key": "t"},
     ["run_id", "key"]),
    ("POST", "runs/log-batch", {"run_id": "RID"}, ["run_id"]),
    ("POST", "runs/log-inputs", {"run_id": "RID"}, ["run_id"]),
    ("POST", "runs/log-model", {"run_id": "RID", "model_json": "{}"},
     ["run_id", "model_json"]),
    ("GET", "metrics/get-history", {"run_id": "RID", "metric_key": "m"},
     ["run_id", "metric_key"]),
    ("GET", "artifacts/list", {}, ["run_id"]),
]


class ErrorTests(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        c = cls.client
        cls.eid = c.post("experiments/create",
                         {"name": uniq("errors")}).body["experiment_id"]
        r = c.post("runs/create", {"experiment_id": cls.eid,
                                   "start_time": 1, "run_name": "keep"})
        cls.rid = r.body["run"]["info"]["run_id"]
        c.post("runs/log-parameter", {"run_id": cls.rid, "key": "lr",
                                      "value": "0.01"})
        c.post("runs/log-metric", {"run_id": cls.rid, "key": "acc",
                                   "value": 0.5, "timestamp": 7, "step": 1})
        c.post("runs/set-tag", {"run_id": cls.rid, "key": "t",
                                "value": "keep"})

    def assertFixtureIntact(self):
        run = self.get_run(self.rid)
        self.assertEqual(self.params_of(run), {"lr": "0.01"})
        self.assertEqual(self.run_tags(run).get("t"), "keep")
        self.assertEqual(self.history(self.rid, "acc"), [
            {"key": "acc", "value": 0.5, "timestamp": 7, "step": 1}])
        self.assertEqual(self.get_experiment(self.eid)["lifecycle_stage"],
                         "active")
        self.assertEqual(self.get_experiment("0")["name"], "Default")

    # -- transport ---------------------------------------------------------
    def test_unknown_route(self):
        for path in ["/api/2.0/mlflow/nope", "/api/2.0/mlflow/runs/nope",
                     "/api/2.0/mlflow/experiments/get/extra",
                     "/ajax-api/2.0/mlflow/nope", "/api/2.0/nope"]:
            with self.subTest(path=path):
                self.assertError(self.get(path), 404, "ENDPOINT_NOT_FOUND")
                self.assertError(self.post(path, {}), 404,
                                 "ENDPOINT_NOT_FOUND")

    def test_wrong_method(self):
        for method, path in [("GET", "runs/create"), ("GET", "runs/search"),
                             ("GET", "runs/log-batch"),
                             ("POST", "runs/get"),
                             ("POST", "metrics/get-history"),
                             ("DELETE", "runs/get"),
                             ("PUT", "experiments/create"),
                             ("PATCH", "experiments/search")]:
            with self.subTest(method=method, path=path):
                body = b"{}" if method != "GET" else None
                hdrs = {"Content-Type": "application/json"} if body else {}
                self.assertError(self.request(method, path, body, hdrs), 405,
                                 "BAD_REQUEST")

    def test_content_type(self):
        body = json.dumps({"name": uniq("ct")}).encode()
        r = self.request("POST", "experiments/create", body, {})
        self.assertBadParam(r, "Content-Type header is missing")
        r = self.post("experiments/create", body,
                      {"Content-Type": "text/plain"})
        self.assertBadParam(r, "Content-Type must be one of")
        r = self.post("experiments/create", body,
                      {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertBadParam(r)
        # nothing was created by the rejected requests
        name = json.loads(body)["name"]
        self.assertNotFound(self.get("experiments/get-by-name",
                                     {"experiment_name": name}))
        for ct in ["application/json; charset=utf-8",
                   "Application/JSON", "application/json;charset=UTF-8"]:
            with self.subTest(ct=ct):
                b = {"name": uniq("ct")}
                self.ok(self.post("experiments/create", b,
                                  {"Content-Type": ct}))

    def test_malformed_json(self):
        for raw in [b"{", b"{\"name\": }", b"nul", b"{'name': 'x'}",
                    b"{\"name\": \"x\",}", b"\"unterminated",
                    b"{\"name\": \"x\"} trailing", b"\x00\x01"]:
            with self.subTest(raw=raw):
                self.assertBadParam(self.post("experiments/create", raw))

    def test_non_object_bodies(self):
        for raw in [b"[]", b"[1,2]", b"42", b"null", b"true", b"\"str\""]:
            with self.subTest(raw=raw):
                self.assertBadParam(self.post("experiments/create", raw))
        self.assertBadParam(self.post("experiments/create", b""))

    def test_required_fields(self):
        for method, path, base, fields in REQUIRED:
            for f in fields:
                for variant in ("absent", "empty"):
                    q = {k: (self.rid if v == "RID" else v)
                         for k, v in base.items()}
                    if variant == "absent":
                        q.pop(f, None)
                    else:
                        if f in ("value", "timestamp"):
                            continue  # "" is not a number
                        q[f] = ""
                    with self.subTest(path=path, field=f, variant=variant):
                        if method == "GET":
                            r = self.get(path, q)
                        else:
                            r = self.post(path, q)
                        self.assertBadParam(r, "Missing value for required "
                                               "parameter")
                        self.assertIn(f, r.body["message"])

    def test_field_type_errors(self):
        cases = [
            ("experiments/create", {"name": 123}),
            ("experiments/create", {"name": ["a"]}),
            ("experiments/create", {"name": {"x": 1}}),
            ("experiments/create", {"name": uniq("t"), "tags": "notalist"}),
            ("experiments/create", {"name": uniq("t"), "tags": [1]}),
            ("runs/log-parameter", {"run_id": 123, "key": "k", "value": "v"}),
            ("runs/log-parameter", {"run_id": self.rid, "key": 5,
                                    "value": "v"}),
            ("runs/log-parameter", {"run_id": self.rid, "key": "k2",
                                    "value": {"a": 1}}),
            ("runs/set-tag", {"run_id": self.rid, "key": "k", "value": True}),
            ("runs/update", {"run_id": self.rid, "end_time": "soon"}),
            ("runs/update", {"run_id": self.rid, "end_time": 1.5}),
            ("runs/search", {"experiment_ids": "0"}),
            ("runs/search", {"experiment_ids": [self.eid],
                             "order_by": "start_time"}),
            ("runs/search", {"experiment_ids": [self.eid], "filter": 5}),
            ("runs/log-batch", {"run_id": self.rid, "metrics": "x"}),
        ]
        for path, body in cases:
            with self.subTest(path=path, body=body):
                self.assertBadParam(self.post(path, body))
        self.assertFixtureIntact()

    # -- §2 condition table ------------------------------------------------
    def test_run_not_found_everywhere(self):
        missing = uuid.uuid4().hex
        for path, extra in RUN_ENDPOINTS_POST:
            body = {"run_id": missing}
            body.update(extra)
            with self.subTest(path=path):
                self.assertNotFound(self.post(path, body),
                                    "Run with id=%s not found" % missing)
        for path, q in [("runs/get", {}),
                        ("metrics/get-history", {"metric_key": "m"}),
                        ("artifacts/list", {})]:
            q = dict(q, run_id=missing)
            with self.subTest(path=path):
                self.assertNotFound(self.get(path, q),
                                    "Run with id=%s not found" % missing)

    def test_experiment_not_found_everywhere(self):
        missing = "55555555"
        msg = "No Experiment with id=%s exists" % missing
        self.assertNotFound(self.get("experiments/get",
                                     {"experiment_id": missing}), msg)
        for path, extra in [("experiments/delete", {}),
                            ("experiments/restore", {}),
                            ("experiments/update", {"new_name": uniq("n")}),
                            ("experiments/set-experiment-tag",
                             {"key": "k", "value": "v"}),
                            ("experiments/delete-experiment-tag",
                             {"key": "k"}),
                            ("runs/create", {"start_time": 1})]:
            body = {"experiment_id": missing}
            body.update(extra)
            with self.subTest(path=path):
                self.assertNotFound(self.post(path, body))
        # non-numeric ids are just unknown ids, never 500
        for weird in ["abc", "-1", "1e3", "0x10", " 1", "99999999999999999999"]:
            with self.subTest(experiment_id=weird):
                r = self.get("experiments/get", {"experiment_id": weird})
                self.assertIn(r.status, (400, 404), repr(r))
                self.assertIn(r.body.get("error_code"),
                              ("INVALID_PARAMETER_VALUE",
                               "RESOURCE_DOES_NOT_EXIST"))

    def test_get_by_name_not_found(self):
        self.assertNotFound(self.get("experiments/get-by-name",
                                     {"experiment_name": "nope-" + uniq()}),
                            "Could not find experiment with name")

    def test_create_name_taken(self):
        name = uniq("taken")
        self.create_experiment(name)
        self.assertError(self.post("experiments/create", {"name": name}),
                         400, "RESOURCE_ALREADY_EXISTS",
                         "Experiment(name=%s) already exists" % name)

    def test_deleted_run_and_experiment_states(self):
        eid = self.create_experiment()
        rid = self.create_run(eid)["info"]["run_id"]
        self.ok(self.post("runs/delete", {"run_id": rid}))
        self.assertBadParam(self.post("runs/set-tag", {
            "run_id": rid, "key": "a", "value": "b"}),
            "The run %s must be in the 'active' state. Current state is "
            "deleted." % rid)
        self.ok(self.post("experiments/delete", {"experiment_id": eid}))
        self.assertBadParam(self.post("runs/create", {
            "experiment_id": eid}),
            "The experiment %s must be in the 'active' state" % eid)
        self.assertBadParam(self.post("experiments/set-experiment-tag", {
            "experiment_id": eid, "key": "a", "value": "b"}),
            "must be in the 'active' state")
        self.assertError(self.post("experiments/update", {
            "experiment_id": eid, "new_name": uniq("r")}), 500,
            "INVALID_STATE", "Cannot rename a non-active experiment.")

    def test_param_change_messages(self):
        self.assertBadParam(self.post("runs/log-parameter", {
            "run_id": self.rid, "key": "lr", "value": "0.02"}),
            "Changing param values is not allowed. Param with key='lr' was "
            "already logged with value='0.01' for run ID='%s'. Attempted "
            "logging new value '0.02'." % self.rid)
        self.assertBadParam(self.post("runs/log-batch", {
            "run_id": self.rid, "params": [{"key": "lr", "value": "0.03"}]}),
            "Changing param values is not allowed")
        self.assertFixtureIntact()

    def test_delete_tag_missing(self):
        self.assertNotFound(self.post("runs/delete-tag", {
            "run_id": self.rid, "key": "nope"}),
            "No tag with name: nope in run with id %s" % self.rid)

    # -- §5 limits ---------------------------------------------------------
    def test_key_length_message(self):
        r = self.post("runs/log-parameter", {
            "run_id": self.rid, "key": "k" * 251, "value": "v"})
        self.assertBadParam(r)
        self.assertEqual(r.body["message"], "Param key '%s' had length 251, "
                         "which exceeded length limit of 250" % ("k" * 250))
        # characters count, not bytes
        r = self.post("runs/set-tag", {
            "run_id": self.rid, "key": "\u00e9" * 251, "value": "v"})
        self.assertEqual(r.body["message"], "Tag key '%s' had length 251, "
                         "which exceeded length limit of 250"
                         % ("\u00e9" * 250))

    def test_messages_match_mlflow(self):
        """The message MLflow 2.9.2 gives for the same failure, word for
        word (mlflow/server/handlers.py, mlflow/utils/validation.py)."""
        rid = self.rid
        docs = (" See the API docs for more information about request "
                "parameters.")

        def invalid(value, field, typ):
            return ("Invalid value %s for parameter '%s' supplied. Hint: "
                    "Value was of type '%s'.%s" % (value, field, typ, docs))

        bad_chars = ("Names may only contain alphanumerics, underscores (_), "
                     "dashes (-), periods (.), spaces ( ), colon(:) and "
                     "slashes (/).")
        bad_path = ("Names may be treated as files in certain cases, and "
                    "must not resolve to other names when treated as such. "
                    "This name would resolve to ")
        name = uniq("msg")
        cases = [
            # a value of the wrong type, as Python's str() shows it
            ("experiments/create", {"name": 123}, invalid(123, "name", "int")),
            ("experiments/create", {"name": name, "artifact_location": 9.0},
             invalid("9.0", "artifact_location", "float")),
            ("experiments/create", {"name": name, "artifact_location": 1e16},
             invalid("1e+16", "artifact_location", "float")),
            ("runs/log-parameter", {"run_id": rid, "key": 5, "value": "v"},
             invalid(5, "key", "int")),
            ("runs/log-parameter", {"run_id": rid, "key": "k", "value": 0.5},
             invalid("0.5", "value", "float")),
            ("runs/set-tag", {"run_id": rid, "key": "k", "value": True},
             invalid("True", "value", "bool")),
            ("runs/set-tag", {"run_id": rid, "key": "k", "value": ["a", 1]},
             invalid("['a', 1]", "value", "list")),
            ("runs/update", {"run_id": rid, "end_time": "soon"},
             invalid("soon", "end_time", "str")),
            ("runs/log-metric", {"run_id": rid, "key": "m", "value": "x",
                                 "timestamp": 1},
             invalid("x", "value", "str")),
            ("runs/search", {"experiment_ids": "5"},
             invalid("5", "experiment_ids", "str")),
            ("runs/search", {"experiment_ids": [self.eid],
                             "order_by": "start_time"},
             invalid("start_time", "order_by", "str")),
            ("runs/search", {"experiment_ids": [self.eid],
                             "max_results": 50001},
             invalid(50001, "max_results", "int")),
            # required fields
            ("runs/log-parameter", {"key": "k", "value": "v"},
             "Missing value for required parameter 'run_id'." + docs),
            ("runs/log-inputs", {"run_id": rid},
             "Missing value for required parameter 'datasets'." + docs),
            # log-batch: a metric without its timestamp makes the whole
            # list the invalid value
            ("runs/log-batch", {"run_id": rid, "metrics": [
                {"key": "m", "value": 1}]},
             invalid("[{'key': 'm', 'value': 1}]", "metrics", "list")),
            ("runs/log-batch", {"run_id": rid, "metrics": [
                {"key": "m", "value": 1.5, "timestamp": 1},
                {"key": "m", "value": 2, "timestamp": None}]},
             invalid("[{'key': 'm', 'value': 1.5, 'timestamp': 1}, "
                     "{'key': 'm', 'value': 2, 'timestamp': None}]",
                     "metrics", "list")),
            ("runs/log-batch", {"run_id": rid, "tags": [{"value": "it's"}]},
             invalid("[{'value': \"it's\"}]", "tags", "list")),
            ("runs/log-batch", {"run_id": "-bad"}, "Invalid run ID: '-bad'"),
            ("runs/log-batch", {"run_id": rid, "params": [
                {"key": "a", "value": "1"}, {"key": "a", "value": "2"}]},
             "Duplicate parameter keys have been submitted: ['a']. Please "
             "ensure the request contains only one param value per param "
             "key."),
            ("runs/log-batch", {"run_id": rid, "metrics": [
                {"key": "m", "value": 1, "timestamp": 1}] * 1001},
             "A batch logging request can contain at most 1000 metrics. Got "
             "1001 metrics. Please split up metrics across multiple requests "
             "and try again."),
            # names and values
            ("runs/log-metric", {"run_id": rid, "key": "a!b", "value": 1,
                                 "timestamp": 1},
             "Invalid metric name: 'a!b'. " + bad_chars),
            ("runs/log-parameter", {"run_id": rid, "key": "a//b",
                                    "value": "v"},
             "Invalid parameter name: 'a//b'. " + bad_path + "'a/b'"),
            ("runs/set-tag", {"run_id": rid, "key": "x/../y", "value": "v"},
             "Invalid tag name: 'x/../y'. " + bad_path + "'y'"),
            ("runs/log-metric", {"run_id": rid, "key": "m", "value": 1,
                                 "timestamp": -1},
             "Got invalid timestamp -1 for metric 'm' (value=1.0). Timestamp "
             "must be a nonnegative long (64-bit integer) "),
            ("runs/log-metric", {"run_id": rid, "key": "m", "value": True,
                                 "timestamp": 5},
             "Got invalid value True for metric 'm' (timestamp=5). Please "
             "specify value as a valid double (64-bit floating point)"),
            ("experiments/create", {"name": name,
                                    "artifact_location": "runs:/x/y"},
             "Artifact location cannot be a runs:/ URI. Given: 'runs:/x/y'"),
            ("experiments/set-experiment-tag", {
                "experiment_id": self.eid, "key": "k", "value": "v" * 5001},
             "Tag value '%s' had length 5001, which exceeded length limit of "
             "5000" % ("v" * 250)),
            ("experiments/search", {"max_results": 50001},
             "Invalid value for max_results. It must be at most 50000, but "
             "got 50001"),
            ("experiments/search", {"max_results": -1},
             "Invalid value for max_results. It must be a positive integer, "
             "but got -1"),
            ("runs/create", {"experiment_id": self.eid, "run_name": "a",
                             "tags": [{"key": "mlflow.runName",
                                       "value": "b"}]},
             "Both 'run_name' argument and 'mlflow.runName' tag are "
             "specified, but with different values (run_name='a', "
             "mlflow.runName='b')."),
        ]
        for path, body, msg in cases:
            with self.subTest(path=path, body=str(body)[:80]):
                r = self.post(path, body)
                self.assertBadParam(r)
                self.assertEqual(r.body["message"], msg)
        for path, query, msg in [
                ("artifacts/list", {"run_id": rid, "path": "../x"},
                 "Invalid path"),
                ("artifacts/list", {"run_id": rid, "path": "/etc"},
                 "Invalid path"),
                ("/ajax-api/2.0/mlflow/metrics/get-history-bulk",
                 {"metric_key": "m"},
                 "GetMetricHistoryBulk request must specify at least one "
                 "run_id.")]:
            with self.subTest(path=path, query=query):
                r = self.get(path, query)
                self.assertBadParam(r)
                self.assertEqual(r.body["message"], msg)
        self.assertFixtureIntact()

    def test_oversized_keys(self):
        for n in (1000, 100000):
            with self.subTest(n=n):
                k = "k" * n
                self.assertBadParam(self.post("runs/log-metric", {
                    "run_id": self.rid, "key": k, "value": 1,
                    "timestamp": 1}))
                self.assertBadParam(self.post("runs/set-tag", {
                    "run_id": self.rid, "key": k, "value": "v"}))
                self.assertBadParam(self.post("experiments/create",
                                              {"name": k}))
                r = self.get("experiments/get-by-name",
                             {"experiment_name": k})
                self.assertIn(r.status, (400, 404, 414, 431), repr(r))
        self.assertFixtureIntact()

    def test_metric_value_messages(self):
        self.assertBadParam(self.post("runs/log-metric", {
            "run_id": self.rid, "key": "m", "value": "x", "timestamp": 1}))
        self.assertBadParam(self.post("runs/log-metric", {
            "run_id": self.rid, "key": "m", "value": 1, "timestamp": -1}))

    def test_absurd_max_results(self):
        for v in [0, -1, 50001, 2 ** 31, 2 ** 62, "1e400", "abc", 1.5]:
            with self.subTest(max_results=v):
                self.assertBadParam(self.post("runs/search", {
                    "experiment_ids": [self.eid], "max_results": v}))
                if v != 0:  # experiments/search: absent/0 means 1000
                    self.assertBadParam(self.get("experiments/search",
                                                 {"max_results": v}))
        for v in ["abc", 2 ** 63, "1.5"]:
            with self.subTest(history_max_results=v):
                r = self.get("metrics/get-history", {
                    "run_id": self.rid, "metric_key": "acc",
                    "max_results": v})
                self.assertBadParam(r)

    def test_bad_page_tokens(self):
        toks = ["!!!", "a", base64.b64encode(b"garbage").decode(),
                base64.b64encode(b'{"offset": -5}').decode(),
                base64.b64encode(b'{"offset": "x"}').decode(),
                base64.b64encode(b'{}').decode(),
                base64.b64encode(b'[]').decode(),
                "A" * 5000]
        for t in toks:
            with self.subTest(token=t[:40]):
                self.assertBadParam(self.post("runs/search", {
                    "experiment_ids": [self.eid], "page_token": t}))
                self.assertBadParam(self.post("experiments/search",
                                              {"page_token": t}))
                self.assertBadParam(self.get("metrics/get-history", {
                    "run_id": self.rid, "metric_key": "acc",
                    "max_results": 1, "page_token": t}))
        # a valid but far-away offset is just an empty page
        far = base64.b64encode(b'{"offset": 1000000}').decode()
        r = self.post("runs/search", {"experiment_ids": [self.eid],
                                      "page_token": far})
        self.assertIn(r.status, (200, 400), repr(r))
        if r.status == 200:
            self.assertNotIn("runs", r.body)

    def test_big_integers(self):
        big = [2 ** 53 + 1, 2 ** 63, 2 ** 64 + 5, 10 ** 30, -(2 ** 63) - 1]
        for n in big:
            with self.subTest(n=n):
                self.assertBadParam(self.post("runs/log-metric", {
                    "run_id": self.rid, "key": "big", "value": 1,
                    "timestamp": n}))
                self.assertBadParam(self.post("runs/log-metric", {
                    "run_id": self.rid, "key": "big", "value": 1,
                    "timestamp": 1, "step": n}))
                self.assertBadParam(self.post("runs/update", {
                    "run_id": self.rid, "end_time": n}))
        self.assertEqual(self.history(self.rid, "big"), [])
        self.assertNotIn("end_time", self.get_run(self.rid)["info"])
        # large but exact values are fine
        self.ok(self.post("runs/log-metric", {
            "run_id": self.rid, "key": "big2", "value": 1,
            "timestamp": 2 ** 53 - 1, "step": -(2 ** 53 - 1)}))
        h = self.history(self.rid, "big2")
        self.assertEqual((h[0]["timestamp"], h[0]["step"]),
                         (2 ** 53 - 1, -(2 ** 53 - 1)))

    # -- hostile input -----------------------------------------------------
    def test_deep_nesting(self):
        for depth in (1000, 10000, 100000):
            # 100000 levels is 200 kB+: over a small body limit, 413 is fine
            want = (400,) if depth < 100000 else (400, 413)
            with self.subTest(depth=depth):
                raw = b'{"name": ' + b"[" * depth + b"]" * depth + b"}"
                r = self.post("experiments/create", raw)
                self.assertIn(r.status, want, repr(r))
                self.assertEqual(r.body["error_code"],
                                 "INVALID_PARAMETER_VALUE")
                raw = b'{"x": ' + b'{"a":' * depth + b"1" + b"}" * depth + \
                    b', "name": "deep"}'
                r = self.post("experiments/create", raw)
                self.assertIn(r.status, want, repr(r))
                # unclosed
                raw = b"[" * depth
                r = self.post("experiments/create", raw)
                self.assertIn(r.status, want, repr(r))
        self.assertServerUp()

    def test_invalid_utf8(self):
        for raw in [b'{"name": "\xff\xfe"}', b'{"name": "a\xc3"}',
                    b'{"name": "\xed\xa0\x80"}',  # surrogate
                    b'{"name": "\xc0\xaf"}',      # overlong
                    b'{"na\xffme": "x"}']:
            with self.subTest(raw=raw):
                self.assertBadParam(self.post("experiments/create", raw))
        # lone surrogate escapes are not valid text either
        r = self.post("experiments/create", b'{"name": "bad\\ud800x"}')
        self.assertIn(r.status, (200, 400), repr(r))
        if r.status == 200:
            # whatever was stored must come back as valid JSON
            self.ok(self.get("experiments/get", {
                "experiment_id": r.body["experiment_id"]}))
        # invalid UTF-8 in a query string
        r = self.request("GET", "/api/2.0/mlflow/experiments/get-by-name"
                         "?experiment_name=%FF%FE")
        self.assertIn(r.status, (400, 404), repr(r))
        self.assertIsInstance(r.body, dict)
        self.assertServerUp()

    def test_nul_in_strings(self):
        r = self.post("runs/set-tag", {"run_id": self.rid, "key": "nul",
                                       "value": "a\u0000b"})
        self.assertIn(r.status, (200, 400), repr(r))
        if r.status == 200:
            self.assertEqual(self.run_tags(self.get_run(self.rid))["nul"],
                             "a\u0000b")
            self.ok(self.post("runs/delete-tag", {"run_id": self.rid,
                                                  "key": "nul"}))
        self.assertBadParam(self.post("runs/set-tag", {
            "run_id": self.rid, "key": "k\u0000", "value": "v"}))

    def test_sql_injection(self):
        evil_names = ["x'; DROP TABLE runs; --", "x\"; DELETE FROM metrics;",
                      "Robert'); DROP TABLE experiments;--",
                      "' OR '1'='1", "%' OR 1=1 --"]
        for n in evil_names:
            name = n + uniq("")
            eid = self.create_experiment(name)
            self.assertEqual(self.get_experiment(eid)["name"], name)
            b = self.ok(self.get("experiments/get-by-name",
                                 {"experiment_name": name}))
            self.assertEqual(b["experiment"]["experiment_id"], eid)
        filters = [
            "params.lr = '1'' OR ''1''=''1'",
            "params.lr = '0.01' OR 1=1",
            "params.lr = '' OR 1=1 --'",
            "metrics.`acc'; DROP TABLE metrics;--` > 0",
            "tags.\"t\" = 'x\"; DROP TABLE tags; --'",
            "params.lr = '0.01'; DROP TABLE params",
            "attributes.run_id IN ('a'); DELETE FROM runs; --')",
            "attributes.run_name LIKE '%' UNION SELECT * FROM runs --",
            "metrics.acc > 0 UNION SELECT 1",
            "params.`lr) OR (1=1` = 'x'",
            "tags.t = 'keep' AND 1=1",
            "attributes.start_time > 0 OR 1",
            "metrics.acc > (SELECT 1)",
            "attributes.status = 'RUNNING' /* */",
            "datasets.name = 'x' OR datasets.name LIKE '%'",
        ]
        for f in filters:
            with self.subTest(filter=f):
                r = self.post("runs/search", {"experiment_ids": [self.eid],
                                              "filter": f})
                self.assertIn(r.status, (200, 400), repr(r))
                if r.status == 200:
                    # harmless: at most the fixture run, matched honestly
                    ids = [x["info"]["run_id"] for x in r.body.get("runs", [])]
                    self.assertLessEqual(set(ids), {self.rid}, f)
                else:
                    self.assertEqual(r.body["error_code"],
                                     "INVALID_PARAMETER_VALUE")
        for ob in ["start_time; DROP TABLE runs", "metrics.acc DESC; --",
                   "(SELECT 1)", "params.`lr; DROP TABLE params` DESC",
                   "start_time DESC, run_id"]:
            with self.subTest(order_by=ob):
                r = self.post("runs/search", {"experiment_ids": [self.eid],
                                              "order_by": [ob]})
                self.assertIn(r.status, (200, 400), repr(r))
        for f in ["name = 'x' OR 1=1", "name = ''; DROP TABLE experiments",
                  "tags.`a'; --` = 'b'"]:
            with self.subTest(exp_filter=f):
                r = self.post("experiments/search", {"filter": f})
                self.assertIn(r.status, (200, 400), repr(r))
                if r.status == 200:
                    self.assertNotIn("experiments", r.body, f)
        # key and value text with SQL in it are stored verbatim
        self.ok(self.post("runs/set-tag", {
            "run_id": self.rid, "key": "sql", "value": "'); DROP TABLE tags;--"}))
        self.assertEqual(self.run_tags(self.get_run(self.rid))["sql"],
                         "'); DROP TABLE tags;--")
        self.ok(self.post("runs/delete-tag", {"run_id": self.rid,
                                              "key": "sql"}))
        self.assertFixtureIntact()

    def test_odd_requests(self):
        # HEAD, OPTIONS, absolute-form targets and junk must not crash
        for method in ("HEAD", "OPTIONS", "TRACE"):
            r = self.request(method, "runs/get?run_id=" + self.rid)
            self.assertLess(r.status, 500, (method, r.status))
        r = self.request("GET", "/api/2.0/mlflow/runs/get?run_id=" +
                         self.rid + "&run_id=" + ("x" * 10))
        self.assertEqual(r.status, 200)  # first value wins
        r = self.request("GET", "/api/2.0/mlflow/runs/get?run_id=%zz")
        self.assertIn(r.status, (400, 404), repr(r))
        self.assertServerUp()

    def test_raw_garbage_on_socket(self):
        for payload in [b"GARBAGE\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
                        b"POST /api/2.0/mlflow/runs/create HTTP/1.1\r\n"
                        b"Content-Length: -5\r\n\r\n",
                        b"POST /api/2.0/mlflow/runs/create HTTP/1.1\r\n"
                        b"Transfer-Encoding: chunked\r\n"
                        b"Content-Type: application/json\r\n\r\n"
                        b"zz\r\n{}\r\n0\r\n\r\n",
                        b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\n\r\n",
                        b"GET / HTTP/1.1\r\n" + b"X: " + b"b" * 100000 +
                        b"\r\n\r\n"]:
            # 2 s: a half-closed, incomplete request may simply be left to
            # the server's idle timeout
            s = socket.create_connection((self.server.host,
                                          self.server.port), timeout=2)
            try:
                s.sendall(payload)
                s.shutdown(socket.SHUT_WR)
                try:
                    s.recv(65536)
                except (ConnectionResetError, socket.timeout):
                    pass
            except OSError:
                pass  # the server may hang up on garbage at any point
            finally:
                s.close()
        self.assertServerUp()
        self.assertFixtureIntact()

    def test_zz_server_still_up(self):
        self.assertServerUp()
        self.assertFixtureIntact()
        # and it still does real work
        rid = self.create_run(self.eid)["info"]["run_id"]
        self.ok(self.post("runs/log-metric", {"run_id": rid, "key": "m",
                                              "value": 1,
                                              "timestamp": now_ms()}))


class BodyLimitTests(ServerTestCase):
    server_args = ["--max-body-bytes", "4096"]

    def test_body_over_limit(self):
        big = {"name": "x" * 5000}
        r = self.post("experiments/create", big)
        self.assertError(r, 413, "INVALID_PARAMETER_VALUE")
        r = self.post("experiments/create", b" " * 100000 + b"{}")
        self.assertError(r, 413, "INVALID_PARAMETER_VALUE")
        self.assertServerUp()

    def test_chunked_body_over_limit(self):
        conn = http.client.HTTPConnection(self.server.host, self.server.port,
                                          timeout=10)
        try:
            chunks = (b"{\"name\": \"" if i == 0 else b"y" * 1000
                      for i in range(20))
            conn.request("POST", "/api/2.0/mlflow/experiments/create",
                         body=chunks, headers={
                             "Content-Type": "application/json"},
                         encode_chunked=True)
            resp = conn.getresponse()
            data = resp.read()
            self.assertEqual(resp.status, 413, data)
            self.assertEqual(json.loads(data)["error_code"],
                             "INVALID_PARAMETER_VALUE")
        except (BrokenPipeError, ConnectionResetError):
            pass  # closing the connection after the answer is acceptable
        finally:
            conn.close()
        self.assertServerUp()

    def test_declared_length_over_limit(self):
        # Content-Length says too much: answered without reading the body
        s = socket.create_connection((self.server.host, self.server.port),
                                     timeout=10)
        try:
            s.sendall(b"POST /api/2.0/mlflow/experiments/create HTTP/1.1\r\n"
                      b"Host: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 100000000\r\n\r\n{")
            data = b""
            while b"\r\n\r\n" not in data:
                part = s.recv(4096)
                if not part:
                    break
                data += part
            self.assertTrue(data.startswith(b"HTTP/1.1 413"), data[:100])
        finally:
            s.close()
        self.assertServerUp()

    def test_under_limit_ok(self):
        # about 3.1 kB of JSON: under the 4096-byte limit
        eid = self.create_experiment(tags=[{"key": "k", "value": "z" * 3000}])
        self.assertEqual(self.tags_of(self.get_experiment(eid))["k"],
                         "z" * 3000)
