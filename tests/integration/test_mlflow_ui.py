# SPDX-License-Identifier: MIT
"""The endpoints MLflow 2.9.2's web UI calls, and what is not the UI:
/get-artifact and /model-versions/get-artifact (also //model-versions/...)
downloads, /ajax-api/2.0/mlflow/upload-artifact and
experiments/search-datasets with MLflow's checks and messages, the UI-only
routes absent under /api/2.0/mlflow/, create-promptlab-run and
gateway-proxy a JSON 404, and the web UI's index.html only for UI paths:
an unknown path under /api/, /ajax-api/, /get-artifact, /model-versions/
or with a file extension is a JSON 404 ENDPOINT_NOT_FOUND."""

import http.client
import os
import shutil
import tempfile
import urllib.parse
import uuid

from harness import ServerTestCase, uniq

AJAX = "/ajax-api/2.0/mlflow/"
INDEX = b"<!doctype html><title>greentrack-ui-index</title>"


def ds(name, digest, context=None):
    d = {"dataset": {"name": name, "digest": digest, "source_type": "local",
                     "source": "{}"}}
    if context:
        d["tags"] = [{"key": "mlflow.data.context", "value": context}]
    return d


class MlflowUiTests(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        cls.web = tempfile.mkdtemp(prefix="gt-ui-web-")
        with open(os.path.join(cls.web, "index.html"), "wb") as f:
            f.write(INDEX)
        with open(os.path.join(cls.web, "app.js"), "wb") as f:
            f.write(b"console.log(1);\n")
        cls.server_args = ["--web-root", cls.web]
        super().setUpClass()
        c = cls.client
        cls.eid = c.post("experiments/create",
                         {"name": uniq("ui")}).body["experiment_id"]
        run = c.post("runs/create", {"experiment_id": cls.eid,
                                     "start_time": 1}).body["run"]
        cls.rid = run["info"]["run_id"]
        cls.uri = run["info"]["artifact_uri"]

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.web, ignore_errors=True)

    def upload(self, path, data, run_uuid=None, headers=None):
        q = {}
        if run_uuid is not False:
            q["run_uuid"] = run_uuid or self.rid
        if path is not None:
            q["path"] = path
        hdrs = {"Content-Type": "application/octet-stream"}
        hdrs.update(headers or {})
        return self.request("POST", AJAX + "upload-artifact?" +
                            urllib.parse.urlencode(q), data, hdrs)

    def get_artifact(self, query, prefix="/", headers=None):
        return self.request("GET", prefix + "get-artifact?" +
                            urllib.parse.urlencode(query), None, headers)

    def assertMessage(self, resp, status, code, message):
        self.assertError(resp, status, code)
        self.assertEqual(resp.body["message"], message)

    # -- what is not the UI -----------------------------------------------
    def test_api_paths_never_get_the_ui(self):
        for method, path in [
                ("GET", "/api/2.0/mlflow/nope"),
                ("GET", "/ajax-api/2.0/mlflow/nope"),
                ("GET", "/api/2.0/nope"),
                ("GET", "/get-artifact/x"),
                ("GET", "/model-versions/nope"),
                ("GET", "/model-versions/"),
                ("GET", "//model-versions/nope"),
                ("GET", "/missing.js"),
                ("GET", "/assets/missing.css"),
                ("GET", "/favicon.ico"),
                ("GET", "/experiments/1/data.json"),
                ("POST", AJAX + "runs/create-promptlab-run"),
                ("GET", AJAX + "gateway-proxy"),
                ("POST", AJAX + "gateway-proxy"),
                # the UI's own endpoints exist under /ajax-api/ only
                ("POST", "/api/2.0/mlflow/experiments/search-datasets"),
                ("POST", "/api/2.0/mlflow/upload-artifact"),
                ("GET", "/api/2.0/mlflow/metrics/get-history-bulk"),
                ("PUT", "/api/2.0/mlflow/upload-artifact")]:
            with self.subTest(method=method, path=path):
                body = b"{}" if method != "GET" else None
                hdrs = {"Content-Type": "application/json"} if body else {}
                r = self.request(method, path, body, hdrs)
                self.assertError(r, 404, "ENDPOINT_NOT_FOUND")
                self.assertNotIn(b"greentrack-ui-index", r.raw)
        # the UI's pages and files still are
        for path in ("/", "/experiments/1", "/runs/" + self.rid,
                     "/compare", "/get-artifacts", "/model-versions"):
            with self.subTest(path=path):
                r = self.request("GET", path)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.raw, INDEX)
        self.assertEqual(self.request("GET", "/app.js").raw,
                         b"console.log(1);\n")

    # -- /get-artifact ----------------------------------------------------
    def test_get_artifact(self):
        self.ok(self.upload("notes/a.txt", b"hello ui"))
        for key in ("run_uuid", "run_id"):
            with self.subTest(key=key):
                r = self.get_artifact({"path": "notes/a.txt", key: self.rid})
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.raw, b"hello ui")
                self.assertEqual(r.headers["content-type"], "text/plain")
                self.assertEqual(r.headers["content-disposition"],
                                 "attachment; filename=a.txt")
                self.assertEqual(r.headers["x-content-type-options"],
                                 "nosniff")
                self.assertEqual(r.headers["content-length"], "8")
        r = self.get_artifact({"path": "notes/a.txt", "run_uuid": self.rid},
                              headers={"Range": "bytes=6-"})
        self.assertEqual(r.status, 206, r)
        self.assertEqual(r.raw, b"ui")
        self.assertNotFound(self.get_artifact(
            {"path": "notes/none.txt", "run_uuid": self.rid}))
        self.assertBadParam(self.get_artifact({"path": "notes",
                                               "run_uuid": self.rid}))

    def test_get_artifact_checks_the_path_first(self):
        for run in (self.rid, uuid.uuid4().hex, None):
            for p in ("../x", "/etc/passwd", "a/../../b", "%2e%2e/x",
                      "notes/../../x", "a#b"):
                with self.subTest(run=run, path=p):
                    q = {"path": p}
                    if run:
                        q["run_uuid"] = run
                    self.assertMessage(self.get_artifact(q), 400,
                                       "INVALID_PARAMETER_VALUE",
                                       "Invalid path")
        self.assertBadParam(self.get_artifact({"run_uuid": self.rid}),
                            "'path'")
        missing = uuid.uuid4().hex
        self.assertMessage(self.get_artifact({"path": "a", "run_id": missing}),
                           404, "RESOURCE_DOES_NOT_EXIST",
                           "Run with id=%s not found" % missing)
        self.assertMessage(self.get_artifact({"path": "a"}), 404,
                           "RESOURCE_DOES_NOT_EXIST",
                           "Run with id=None not found")

    # -- /model-versions/get-artifact ------------------------------------
    def test_model_version_artifact(self):
        self.ok(self.upload("model/MLmodel", b"flavors: {}\n"))
        name = uniq("uimodel")
        self.ok(self.post("registered-models/create", {"name": name}))
        v1 = self.ok(self.post("model-versions/create", {
            "name": name, "source": self.uri + "/model",
            "run_id": self.rid}))["model_version"]["version"]
        v2 = self.ok(self.post("model-versions/create", {
            "name": name, "source": "runs:/%s/model" % self.rid,
            "run_id": self.rid}))["model_version"]["version"]
        for version in (v1, v2):
            for prefix in ("/", "//"):
                with self.subTest(version=version, prefix=prefix):
                    r = self.request("GET", prefix +
                                     "model-versions/get-artifact?" +
                                     urllib.parse.urlencode({
                                         "path": "MLmodel", "name": name,
                                         "version": version}))
                    self.assertEqual(r.status, 200, r)
                    self.assertEqual(r.raw, b"flavors: {}\n")
                    self.assertEqual(r.headers["content-disposition"],
                                     "attachment; filename=MLmodel")
        q = {"path": "MLmodel", "name": name, "version": "99"}
        r = self.get_artifact(q, "/model-versions/")
        self.assertError(r, 404, "RESOURCE_DOES_NOT_EXIST")
        self.assertIn("not found", r.body["message"])
        self.assertError(self.get_artifact(
            {"path": "nope", "name": name, "version": v1},
            "/model-versions/"), 404, "RESOURCE_DOES_NOT_EXIST")

    def test_model_version_artifact_checks_the_path_first(self):
        for prefix in ("/model-versions/", "//model-versions/"):
            for q in ({"path": "../x", "name": "no-such-model",
                       "version": "1"},
                      {"path": "/etc/passwd"},
                      {"path": "a/../../b", "name": "", "version": "x"}):
                with self.subTest(prefix=prefix, q=q):
                    self.assertMessage(self.get_artifact(q, prefix), 400,
                                       "INVALID_PARAMETER_VALUE",
                                       "Invalid path")
        r = self.get_artifact({"path": "MLmodel", "name": uniq("none"),
                               "version": "1"}, "/model-versions/")
        self.assertError(r, 404, "RESOURCE_DOES_NOT_EXIST")

    # -- upload-artifact --------------------------------------------------
    def test_upload_artifact(self):
        data = os.urandom(300000)
        r = self.upload("up/deep/blob.bin", data,
                        headers={"Content-Type": "image/png"})
        self.assertEqual(r.status, 200, r)
        r = self.get_artifact({"path": "up/deep/blob.bin",
                               "run_uuid": self.rid})
        self.assertEqual(r.raw, data)
        b = self.ok(self.get("artifacts/list", {"run_id": self.rid,
                                                "path": "up/deep"}))
        self.assertEqual(b["files"], [{"path": "up/deep/blob.bin",
                                       "is_dir": False,
                                       "file_size": 300000}])
        # an upload replaces the file
        self.ok(self.upload("up/deep/blob.bin", b"small"))
        self.assertEqual(self.get_artifact({"path": "up/deep/blob.bin",
                                            "run_uuid": self.rid}).raw,
                         b"small")

    def test_upload_artifact_checks(self):
        missing = uuid.uuid4().hex
        for args, status, code, msg in [
                ((None, b"x"), 400, "INVALID_PARAMETER_VALUE",
                 "Request must specify path."),
                (("a.txt", b"x", False), 400, "INVALID_PARAMETER_VALUE",
                 "Request must specify run_uuid."),
                (("../a.txt", b"x"), 400, "INVALID_PARAMETER_VALUE",
                 "Invalid path"),
                (("../a.txt", b"x", missing), 400, "INVALID_PARAMETER_VALUE",
                 "Invalid path"),
                (("a.txt", b""), 400, "INVALID_PARAMETER_VALUE",
                 "Request must specify data."),
                (("a.txt", b"x" * (10 * 1024 * 1024 + 1)), 400,
                 "INVALID_PARAMETER_VALUE",
                 "Artifact size is too large. Max size is 10MB."),
                (("a.txt", b"", missing), 400, "INVALID_PARAMETER_VALUE",
                 "Request must specify data."),
                (("a.txt", b"x", missing), 404, "RESOURCE_DOES_NOT_EXIST",
                 "Run with id=%s not found" % missing)]:
            with self.subTest(args=[a[:20] if isinstance(a, bytes) else a
                                    for a in args]):
                self.assertMessage(self.upload(*args), status, code, msg)
        # exactly 10 MB is fine
        self.ok(self.upload("ten.bin", b"y" * (10 * 1024 * 1024)))
        # a chunked body is held to the same limits
        conn = http.client.HTTPConnection(self.server.host, self.server.port,
                                          timeout=30)
        try:
            conn.request("POST", AJAX + "upload-artifact?" +
                         urllib.parse.urlencode({"run_uuid": self.rid,
                                                 "path": "chunked.bin"}),
                         body=(b"z" * 65536 for _ in range(200)),
                         headers={"Content-Type": "text/plain"},
                         encode_chunked=True)
            resp = conn.getresponse()
            self.assertEqual(resp.status, 400)
            self.assertIn(b"Max size is 10MB", resp.read())
        finally:
            conn.close()
        self.assertNotFound(self.get_artifact({"path": "chunked.bin",
                                               "run_uuid": self.rid}))

    # -- experiments/search-datasets -------------------------------------
    def test_search_datasets(self):
        e2 = self.create_experiment()
        r2 = self.create_run(e2)["info"]["run_id"]
        self.ok(self.post("runs/log-inputs", {"run_id": self.rid, "datasets": [
            ds("train", "d1", "training"), ds("eval", "d2")]}))
        self.ok(self.post("runs/log-inputs", {"run_id": r2, "datasets": [
            ds("train", "d1", "validation")]}))
        b = self.ok(self.post(AJAX + "experiments/search-datasets",
                              {"experiment_ids": [self.eid, e2]}))
        got = sorted((d["experiment_id"], d["name"], d["digest"],
                      d["context"]) for d in b["dataset_summaries"])
        self.assertEqual(got, sorted([
            (self.eid, "eval", "d2", None),
            (self.eid, "train", "d1", "training"),
            (e2, "train", "d1", "validation")]))
        b = self.ok(self.post(AJAX + "experiments/search-datasets",
                              {"experiment_ids": [e2, "999999", "x"]}))
        self.assertEqual(b["dataset_summaries"], [
            {"experiment_id": e2, "name": "train", "digest": "d1",
             "context": "validation"}])
        empty = self.create_experiment()
        self.assertEqual(self.ok(self.post(
            AJAX + "experiments/search-datasets",
            {"experiment_ids": [empty]})), {"dataset_summaries": []})

    def test_search_datasets_checks(self):
        path = AJAX + "experiments/search-datasets"
        for body in ({}, {"experiment_ids": []}, {"experiment_ids": None}):
            with self.subTest(body=body):
                self.assertMessage(self.post(path, body), 400,
                                   "INVALID_PARAMETER_VALUE",
                                   "SearchDatasets request must specify at "
                                   "least one experiment_id.")
        self.assertMessage(self.post(path, {"experiment_ids": [
            str(i) for i in range(21)]}), 400, "INVALID_PARAMETER_VALUE",
            "SearchDatasets request cannot specify more than 20 "
            "experiment_ids. Received 21 experiment_ids.")
        self.ok(self.post(path, {"experiment_ids": [str(i)
                                                    for i in range(20)]}))
        self.assertBadParam(self.post(path, {"experiment_ids": "1"}))
        self.assertBadParam(self.request("POST", path, b"{}",
                                         {"Content-Type": "text/plain"}),
                            "Content-Type must be one of")
