"""The Model Registry (MLflow 2.9.2's REST API, specs/mlflow-registry.md)
through raw HTTP: registered models (create, get, rename, update, delete,
search, get-latest-versions, tags, aliases), model versions (create, get,
update, delete, search, transition-stage, get-download-uri, tags), their
errors, the search grammar with order_by and paging, the wire sequence of
mlflow.register_model, greentrack's model-versions/carbon and the registry
part of runs/export."""
import json
import threading

from harness import Server, ServerTestCase, now_ms, uniq

API = "/api/2.0/mlflow/"
AJAX = "/ajax-api/2.0/mlflow/"
GT = "/api/2.0/greentrack/"
MJ36 = 3.6e6   # joules in one kWh
FRA = 56.039    # g/kWh, data/country_carbon_intensity.csv (2023)
ALL_STAGES = {"None", "Staging", "Production", "Archived"}


def hex_id(n):
    return "%032x" % n


class RegistryCase(ServerTestCase):
    """HTTP helpers for the registry's verbs."""

    def send(self, method, path, obj=None, raw=None):
        body = raw if raw is not None else (
            None if obj is None else json.dumps(obj).encode())
        hdrs = {"Content-Type": "application/json"} if body else {}
        return self.request(method, path if path.startswith("/")
                            else API + path, body, hdrs)

    def patch(self, path, obj=None, raw=None):
        return self.send("PATCH", path, obj, raw)

    def delete(self, path, obj=None, raw=None):
        return self.send("DELETE", path, obj, raw)

    def create_model(self, name=None, **kw):
        body = {"name": name or uniq("model")}
        body.update(kw)
        return self.ok(self.post("registered-models/create",
                                 body))["registered_model"]

    def create_version(self, name, source="s3://bucket/model", **kw):
        body = {"name": name, "source": source}
        body.update(kw)
        return self.ok(self.post("model-versions/create",
                                 body))["model_version"]

    def model(self, name):
        return self.ok(self.get("registered-models/get",
                                {"name": name}))["registered_model"]

    def version(self, name, version):
        return self.ok(self.get("model-versions/get",
                                {"name": name,
                                 "version": str(version)}))["model_version"]

    def transition(self, name, version, stage, archive=None):
        body = {"name": name, "version": str(version), "stage": stage}
        if archive is not None:
            body["archive_existing_versions"] = archive
        return self.post("model-versions/transition-stage", body)

    def search_models(self, **q):
        return self.get("registered-models/search", q)

    def search_versions(self, **q):
        return self.get("model-versions/search", q)

    def model_names(self, **q):
        b = self.ok(self.search_models(**q))
        return [m["name"] for m in b.get("registered_models", [])]

    def version_keys(self, **q):
        b = self.ok(self.search_versions(**q))
        return [(v["name"], v["version"]) for v in b.get("model_versions", [])]


class RegisteredModelTests(RegistryCase):
    def test_two_servers_create_the_same_names(self):
        """Two servers on one database (on PostgreSQL each has its own
        writer; on SQLite the file's lock orders them) create the same
        names at the same time: each name is made once and every other try
        is RESOURCE_ALREADY_EXISTS, never an internal error."""
        other = Server(db=self.server.db).start()
        names = [uniq("both") for _ in range(25)]
        answers = {}

        def create_all(server, label):
            c = server.client()
            try:
                for name in names:
                    r = c.post("registered-models/create", {"name": name})
                    answers[(label, name)] = r
            finally:
                c.close()

        try:
            threads = [threading.Thread(target=create_all, args=(sv, label))
                       for sv, label in ((self.server, "a"), (other, "b"))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        finally:
            rc, _ = other.stop()
            other.cleanup()
        self.assertEqual(rc, 0)
        for name in names:
            got = sorted(answers[(label, name)].status for label in "ab")
            self.assertEqual(got, [200, 400], name)
            for label in "ab":
                r = answers[(label, name)]
                if r.status == 400:
                    self.assertError(r, 400, "RESOURCE_ALREADY_EXISTS")
            self.assertEqual(self.model(name)["name"], name)

    def test_create_and_get_shape(self):
        t0 = now_ms()
        name = uniq("shape")
        m = self.create_model(name, description="a model",
                              tags=[{"key": "team", "value": "green"},
                                    {"key": "empty"},
                                    {"key": "team", "value": "blue"}])
        self.assertEqual(m["name"], name)
        self.assertIsInstance(m["creation_timestamp"], int)
        self.assertGreaterEqual(m["creation_timestamp"], t0 - 1000)
        self.assertEqual(m["last_updated_timestamp"], m["creation_timestamp"])
        self.assertEqual(m["description"], "a model")
        # a repeated key takes the last value; an absent value is ""
        self.assertEqual(self.tags_of(m), {"team": "blue", "empty": ""})
        for absent in ("latest_versions", "aliases", "user_id"):
            self.assertNotIn(absent, m)
        self.assertEqual(self.model(name), m)
        bare = self.create_model()
        self.assertNotIn("description", bare)
        self.assertNotIn("tags", bare)

    def test_create_errors(self):
        name = uniq("dup")
        self.create_model(name)
        self.assertError(self.post("registered-models/create", {"name": name}),
                         400, "RESOURCE_ALREADY_EXISTS",
                         "Registered Model (name=%s) already exists." % name)
        self.assertBadParam(self.post("registered-models/create", {}),
                            "Missing value for required parameter 'name'")
        self.assertBadParam(self.post("registered-models/create",
                                      {"name": ""}),
                            "Missing value for required parameter 'name'")
        self.assertBadParam(self.post("registered-models/create",
                                      {"name": "x" * 257}),
                            "exceeded length limit of 256")
        self.assertBadParam(self.post("registered-models/create",
                                      {"name": uniq(), "tags": [
                                          {"key": "a:b", "value": "v"}]}),
                            "Invalid tag name: 'a:b'")
        self.assertBadParam(self.post("registered-models/create",
                                      {"name": uniq(), "tags": [
                                          {"key": "a/../b", "value": "v"}]}),
                            "Invalid tag name")
        self.assertBadParam(self.post("registered-models/create",
                                      {"name": uniq(), "tags": [
                                          {"key": "k", "value": "v" * 5001}]}),
                            "Registered model value")
        self.assertBadParam(self.post("registered-models/create",
                                      {"name": uniq(), "tags": [
                                          {"key": "k" * 251, "value": "v"}]}),
                            "Registered model key")
        self.assertBadParam(self.post("registered-models/create",
                                      {"name": uniq(), "tags": "x"}))
        # nothing of the refused requests was stored
        self.assertEqual(self.model_names(filter="name LIKE 'x%'"), [])

    def test_get_errors(self):
        self.assertNotFound(self.get("registered-models/get", {"name": "nope"}),
                            "Registered Model with name=nope not found")
        # GET parameters are not checked field by field in MLflow 2.9.2:
        # the store's own check answers
        self.assertBadParam(self.get("registered-models/get"),
                            "Registered model name cannot be empty.")
        self.assertBadParam(self.get("registered-models/get", {"name": ""}),
                            "Registered model name cannot be empty.")

    def test_rename_keeps_versions_tags_and_aliases(self):
        old, new = uniq("old"), uniq("new")
        self.create_model(old, tags=[{"key": "k", "value": "v"}])
        self.create_version(old)
        v2 = self.create_version(old, source="s3://bucket/m2")
        self.ok(self.post("registered-models/alias",
                          {"name": old, "alias": "champion",
                           "version": "2"}))
        r = self.ok(self.post("registered-models/rename",
                              {"name": old, "new_name": new}))
        m = r["registered_model"]
        self.assertEqual(m["name"], new)
        self.assertEqual(self.tags_of(m), {"k": "v"})
        self.assertEqual(m["aliases"], [{"alias": "champion",
                                         "version": "2"}])
        self.assertGreaterEqual(m["last_updated_timestamp"],
                                v2["last_updated_timestamp"])
        self.assertEqual({v["name"] for v in m["latest_versions"]}, {new})
        self.assertNotFound(self.get("registered-models/get", {"name": old}),
                            "Registered Model with name=%s not found" % old)
        self.assertNotFound(self.get("model-versions/get",
                                     {"name": old, "version": "1"}))
        v = self.version(new, 2)
        self.assertEqual(v["source"], "s3://bucket/m2")
        self.assertEqual(v["aliases"], ["champion"])
        self.assertGreaterEqual(v["last_updated_timestamp"],
                                m["creation_timestamp"])
        self.assertEqual(self.model(new)["aliases"],
                         [{"alias": "champion", "version": "2"}])
        # the old name is free again, and numbering is the model's own
        self.create_model(old)
        self.assertEqual(self.create_version(old)["version"], "1")
        self.assertError(self.post("registered-models/rename",
                                   {"name": new, "new_name": old}), 400,
                         "RESOURCE_ALREADY_EXISTS")
        self.assertNotFound(self.post("registered-models/rename",
                                      {"name": uniq(), "new_name": uniq()}))
        self.assertBadParam(self.post("registered-models/rename",
                                      {"name": new}),
                            "Missing value for required parameter 'new_name'")
        # renaming to its own name changes nothing
        self.ok(self.post("registered-models/rename",
                          {"name": new, "new_name": new}))

    def test_update_description(self):
        name = uniq("upd")
        m0 = self.create_model(name, description="first")
        r = self.ok(self.patch("registered-models/update",
                               {"name": name, "description": "second"}))
        m = r["registered_model"]
        self.assertEqual(m["description"], "second")
        self.assertGreaterEqual(m["last_updated_timestamp"],
                                m0["last_updated_timestamp"])
        self.assertEqual(m["creation_timestamp"], m0["creation_timestamp"])
        # an absent description clears it (omitted when empty)
        m = self.ok(self.patch("registered-models/update",
                               {"name": name}))["registered_model"]
        self.assertNotIn("description", m)
        self.assertNotFound(self.patch("registered-models/update",
                                       {"name": uniq(), "description": "x"}))
        # PATCH bodies are read leniently: a broken one counts as {}
        self.assertBadParam(self.patch("registered-models/update",
                                       raw=b"{not json"),
                            "Missing value for required parameter 'name'")
        self.assertError(self.post("registered-models/update",
                                   {"name": name}), 405)

    def test_delete_cascades(self):
        name = uniq("del")
        self.create_model(name, tags=[{"key": "a", "value": "b"}])
        for i in range(3):
            self.create_version(name, tags=[{"key": "i", "value": str(i)}])
        self.ok(self.post("registered-models/alias",
                          {"name": name, "alias": "x", "version": "1"}))
        self.assertEqual(self.ok(self.delete("registered-models/delete",
                                             {"name": name})), {})
        self.assertNotFound(self.get("registered-models/get", {"name": name}))
        self.assertNotFound(self.get("model-versions/get",
                                     {"name": name, "version": "1"}))
        self.assertEqual(self.version_keys(filter="name = '%s'" % name), [])
        self.assertNotFound(self.delete("registered-models/delete",
                                        {"name": name}))
        # the name starts again at version 1, without the old tags
        m = self.create_model(name)
        self.assertNotIn("tags", m)
        v = self.create_version(name)
        self.assertEqual(v["version"], "1")
        self.assertNotIn("tags", v)
        self.assertNotIn("aliases", self.model(name))
        self.assertBadParam(self.delete("registered-models/delete", {}),
                            "Missing value for required parameter 'name'")

    def test_tags(self):
        name = uniq("tags")
        m0 = self.create_model(name)
        self.assertEqual(self.ok(self.post(
            "registered-models/set-tag",
            {"name": name, "key": "stage", "value": "dev"})), {})
        self.ok(self.post("registered-models/set-tag",
                          {"name": name, "key": "stage", "value": "prod"}))
        self.ok(self.post("registered-models/set-tag",
                          {"name": name, "key": "novalue"}))
        m = self.model(name)
        self.assertEqual(self.tags_of(m), {"stage": "prod", "novalue": ""})
        # tags do not bump last_updated_timestamp
        self.assertEqual(m["last_updated_timestamp"],
                         m0["last_updated_timestamp"])
        self.assertEqual(self.ok(self.delete(
            "registered-models/delete-tag",
            {"name": name, "key": "stage"})), {})
        self.assertEqual(self.tags_of(self.model(name)), {"novalue": ""})
        # a missing key is no error; a missing model is
        self.ok(self.delete("registered-models/delete-tag",
                            {"name": name, "key": "stage"}))
        self.assertNotFound(self.post("registered-models/set-tag",
                                      {"name": uniq(), "key": "k",
                                       "value": "v"}))
        self.assertNotFound(self.delete("registered-models/delete-tag",
                                        {"name": uniq(), "key": "k"}))
        self.assertBadParam(self.post("registered-models/set-tag",
                                      {"name": name, "value": "v"}),
                            "Missing value for required parameter 'key'")
        self.assertBadParam(self.post("registered-models/set-tag",
                                      {"name": name, "key": "k",
                                       "value": "v" * 5001}),
                            "which exceeded length limit of 5000")
        self.assertBadParam(self.post("registered-models/set-tag",
                                      {"name": name, "key": "bad:key",
                                       "value": "v"}), "Invalid tag name")

    def test_aliases(self):
        name = uniq("alias")
        self.create_model(name)
        self.create_version(name, source="s3://b/1")
        self.create_version(name, source="s3://b/2")
        self.assertEqual(self.ok(self.post(
            "registered-models/alias",
            {"name": name, "alias": "champion", "version": "1"})), {})
        self.ok(self.post("registered-models/alias",
                          {"name": name, "alias": "Best_2-a",
                           "version": 1}))
        v = self.ok(self.get("registered-models/alias",
                             {"name": name, "alias": "champion"}))
        self.assertEqual(v["model_version"]["version"], "1")
        self.assertEqual(v["model_version"]["aliases"],
                         ["Best_2-a", "champion"])
        # an alias moves; a version may carry several
        self.ok(self.post("registered-models/alias",
                          {"name": name, "alias": "champion",
                           "version": "2"}))
        self.assertEqual(self.version(name, 2)["aliases"], ["champion"])
        self.assertEqual(self.version(name, 1)["aliases"], ["Best_2-a"])
        self.assertEqual(self.model(name)["aliases"],
                         [{"alias": "Best_2-a", "version": "1"},
                          {"alias": "champion", "version": "2"}])
        # latest_versions entries carry no aliases
        for lv in self.model(name)["latest_versions"]:
            self.assertNotIn("aliases", lv)
        self.assertEqual(self.ok(self.delete(
            "registered-models/alias",
            {"name": name, "alias": "champion"})), {})
        self.assertError(self.get("registered-models/alias",
                                  {"name": name, "alias": "champion"}),
                         400, "INVALID_PARAMETER_VALUE",
                         "Registered model alias champion not found.")
        self.ok(self.delete("registered-models/alias",
                            {"name": name, "alias": "champion"}))
        self.assertError(self.get("registered-models/alias",
                                  {"name": uniq(), "alias": "x"}),
                         400, "INVALID_PARAMETER_VALUE")
        self.assertNotFound(self.post("registered-models/alias",
                                      {"name": name, "alias": "a",
                                       "version": "9"}),
                            "Model Version (name=%s, version=9) not found"
                            % name)
        self.assertNotFound(self.post("registered-models/alias",
                                      {"name": uniq(), "alias": "a",
                                       "version": "1"}))
        self.assertNotFound(self.delete("registered-models/alias",
                                        {"name": uniq(), "alias": "a"}))
        for bad, msg in (("latest", "reserved"), ("LaTeSt", "reserved"),
                         ("v1", "Version alias name 'v1' is reserved."),
                         ("V23", "is reserved"), ("a b", "Invalid alias name"),
                         ("a.b", "Invalid alias name"),
                         ("x" * 256, "exceeded length limit of 255")):
            self.assertBadParam(self.post("registered-models/alias",
                                          {"name": name, "alias": bad,
                                           "version": "1"}), msg)
        self.assertBadParam(self.post("registered-models/alias",
                                      {"name": name, "alias": "ok",
                                       "version": "one"}),
                            "Model version must be an integer, got 'one'")
        # an alias goes with the version it names
        self.ok(self.delete("model-versions/delete",
                            {"name": name, "version": "1"}))
        self.assertError(self.get("registered-models/alias",
                                  {"name": name, "alias": "Best_2-a"}), 400)
        self.assertNotIn("aliases", self.model(name))

    def test_get_latest_versions(self):
        name = uniq("latest")
        self.create_model(name)
        for i in range(6):
            self.create_version(name, source="s3://b/%d" % i)
        for v, stage in ((1, "Production"), (2, "Production"), (3, "Staging"),
                         (4, "Archived")):
            self.ok(self.transition(name, v, stage))
        # 5 and 6 stay None
        got = self.ok(self.post("registered-models/get-latest-versions",
                                {"name": name}))["model_versions"]
        self.assertEqual({(v["current_stage"], v["version"]) for v in got},
                         {("Production", "2"), ("Staging", "3"),
                          ("Archived", "4"), ("None", "6")})
        for v in got:
            self.assertEqual(v["status"], "READY")
            self.assertNotIn("aliases", v)
        got = self.ok(self.post("registered-models/get-latest-versions",
                                {"name": name,
                                 "stages": ["production"]}))["model_versions"]
        self.assertEqual([(v["current_stage"], v["version"]) for v in got],
                         [("Production", "2")])
        got = self.ok(self.get("registered-models/get-latest-versions",
                               {"name": name,
                                "stages": ["STAGING", "None"]}))
        self.assertEqual(sorted(v["version"] for v in got["model_versions"]),
                         ["3", "6"])
        self.assertBadParam(self.post("registered-models/get-latest-versions",
                                      {"name": name, "stages": ["prod"]}),
                            "Invalid Model Version stage: prod. Value must be "
                            "one of None, Staging, Production, Archived.")
        self.assertNotFound(self.post("registered-models/get-latest-versions",
                                      {"name": uniq()}))
        empty = uniq("empty")
        self.create_model(empty)
        self.assertEqual(self.ok(self.post(
            "registered-models/get-latest-versions", {"name": empty})), {})
        # the model's latest_versions: one per stage that has versions
        lv = self.model(name)["latest_versions"]
        self.assertEqual(sorted((v["current_stage"], v["version"])
                                for v in lv),
                         sorted([("Production", "2"), ("Staging", "3"),
                                 ("Archived", "4"), ("None", "6")]))

    def test_ajax_prefix_and_methods(self):
        name = uniq("ajax")
        r = self.post(AJAX + "registered-models/create", {"name": name})
        self.assertEqual(self.ok(r)["registered_model"]["name"], name)
        self.ok(self.get(AJAX + "registered-models/get", {"name": name}))
        self.ok(self.patch(AJAX + "registered-models/update",
                           {"name": name, "description": "d"}))
        self.assertError(self.get("registered-models/create",
                                  {"name": name}), 405)
        self.assertError(self.post("registered-models/delete",
                                   {"name": name}), 405)
        self.assertError(self.post("model-versions/search", {}), 405)
        self.assertError(self.patch("registered-models/alias",
                                    {"name": name}), 405)
        self.assertError(self.get("registered-models/nope"), 404,
                         "ENDPOINT_NOT_FOUND")
        # a GET with a JSON body and no query string
        r = self.request("GET", API + "registered-models/get",
                         json.dumps({"name": name}).encode(),
                         {"Content-Type": "application/json"})
        self.assertEqual(self.ok(r)["registered_model"]["description"], "d")
        # a DELETE without a body takes the query string (the npm client)
        r = self.request("DELETE", API + "registered-models/delete?name=" +
                         name, None, {})
        self.assertEqual(self.ok(r), {})
        self.assertNotFound(self.get("registered-models/get", {"name": name}))
        # POST keeps MLflow's Content-Type rule
        r = self.request("POST", API + "registered-models/create",
                         json.dumps({"name": uniq()}).encode(),
                         {"Content-Type": "text/plain"})
        self.assertBadParam(r, "Content-Type")


class ModelVersionTests(RegistryCase):
    def test_register_model_wire_sequence(self):
        """mlflow.register_model("runs:/<id>/model", name), as it goes over
        the wire (spec section 8)."""
        name = uniq("registered")
        exp = self.create_experiment()
        run = self.create_run(exp)
        run_id = run["info"]["run_id"]
        # 1: create the model; an existing one is fine
        self.ok(self.post("registered-models/create", {"name": name}))
        self.assertError(self.post("registered-models/create",
                                   {"name": name}), 400,
                         "RESOURCE_ALREADY_EXISTS")
        # 2: runs:/ resolves to the run's artifact_uri + path
        artifact_uri = self.get_run(run_id)["info"]["artifact_uri"]
        source = artifact_uri + "/model"
        # 3: create the version
        t0 = now_ms()
        mv = self.ok(self.post("model-versions/create",
                               {"name": name, "source": source,
                                "run_id": run_id,
                                "tags": [{"key": "framework",
                                          "value": "sklearn"}]}))
        mv = mv["model_version"]
        self.assertEqual(mv["version"], "1")
        self.assertEqual(mv["status"], "READY")
        self.assertEqual(mv["source"], source)
        self.assertEqual(mv["run_id"], run_id)
        self.assertEqual(mv["current_stage"], "None")
        self.assertEqual(mv["description"], "")
        self.assertEqual(mv["run_link"], "")
        self.assertEqual(self.tags_of(mv), {"framework": "sklearn"})
        self.assertGreaterEqual(mv["creation_timestamp"], t0 - 1000)
        self.assertEqual(mv["last_updated_timestamp"],
                         mv["creation_timestamp"])
        self.assertNotIn("user_id", mv)
        self.assertNotIn("status_message", mv)
        # 4: poll until READY (it is at once: no wait)
        for _ in range(3):
            got = self.version(name, mv["version"])
            if got["status"] != "PENDING_REGISTRATION":
                break
        self.assertEqual(got["status"], "READY")
        self.assertEqual(got, mv)
        # the model's last_updated_timestamp moved with the new version
        m = self.model(name)
        self.assertEqual(m["last_updated_timestamp"],
                         mv["creation_timestamp"])
        self.assertEqual([v["version"] for v in m["latest_versions"]], ["1"])
        # MlflowClient.create_model_version sends runs:/ unresolved
        mv2 = self.create_version(name, source="runs:/%s/model" % run_id)
        self.assertEqual(mv2["version"], "2")
        self.assertEqual(mv2["run_id"], "")
        self.assertEqual(mv2["source"], "runs:/%s/model" % run_id)

    def test_version_numbers_are_never_reused(self):
        name = uniq("numbers")
        self.create_model(name)
        got = [self.create_version(name)["version"] for _ in range(3)]
        self.assertEqual(got, ["1", "2", "3"])
        self.ok(self.delete("model-versions/delete",
                            {"name": name, "version": "3"}))
        self.assertEqual(self.create_version(name)["version"], "4")
        self.ok(self.delete("model-versions/delete",
                            {"name": name, "version": 2}))
        self.assertEqual(self.create_version(name)["version"], "5")
        self.assertEqual(sorted(int(v) for _, v in self.version_keys(
            filter="name = '%s'" % name)), [1, 4, 5])

    def test_version_fields_and_update(self):
        name = uniq("fields")
        self.create_model(name)
        mv = self.create_version(name, source="s3://b/x", run_id="r1",
                                 run_link="http://ci/1", description="first")
        self.assertEqual((mv["run_id"], mv["run_link"], mv["description"]),
                         ("r1", "http://ci/1", "first"))
        r = self.ok(self.patch("model-versions/update",
                               {"name": name, "version": "1",
                                "description": "second"}))
        v = r["model_version"]
        self.assertEqual(v["description"], "second")
        self.assertGreaterEqual(v["last_updated_timestamp"],
                                mv["last_updated_timestamp"])
        # the model's last_updated_timestamp stays
        m = self.model(name)
        self.assertEqual(m["last_updated_timestamp"],
                         mv["creation_timestamp"])
        # an absent description is cleared: left out
        v = self.ok(self.patch("model-versions/update",
                               {"name": name, "version": "1"}))
        self.assertNotIn("description", v["model_version"])
        self.assertNotIn("description", self.version(name, 1))
        self.assertNotFound(self.patch("model-versions/update",
                                       {"name": name, "version": "7",
                                        "description": "x"}),
                            "Model Version (name=%s, version=7) not found"
                            % name)
        # versions given as numbers, or as strings Python's int() reads
        self.assertEqual(self.ok(self.get(
            "model-versions/get", {"name": name, "version": " 1 "})
        )["model_version"]["version"], "1")
        self.assertEqual(self.ok(self.post(
            "model-versions/set-tag",
            {"name": name, "version": 1, "key": "k", "value": "v"})), {})

    def test_version_errors(self):
        name = uniq("verr")
        self.create_model(name)
        self.create_version(name)
        self.assertBadParam(self.get("model-versions/get",
                                     {"name": name, "version": "x"}),
                            "Model version must be an integer, got 'x'")
        self.assertBadParam(self.get("model-versions/get",
                                     {"name": name, "version": "1.5"}),
                            "Model version must be an integer")
        self.assertBadParam(self.get("model-versions/get", {"name": name}))
        self.assertBadParam(self.get("model-versions/get", {"version": "1"}),
                            "Registered model name cannot be empty.")
        self.assertNotFound(self.get("model-versions/get",
                                     {"name": name, "version": "2"}),
                            "Model Version (name=%s, version=2) not found"
                            % name)
        self.assertNotFound(self.get("model-versions/get",
                                     {"name": uniq(), "version": "1"}))
        self.assertNotFound(self.post("model-versions/create",
                                      {"name": "nope", "source": "s3://b/x"}),
                            "Registered Model with name=nope not found")
        self.assertBadParam(self.post("model-versions/create",
                                      {"name": name}),
                            "Missing value for required parameter 'source'")
        self.assertBadParam(self.post("model-versions/create",
                                      {"source": "s3://b/x"}),
                            "Missing value for required parameter 'name'")
        self.assertBadParam(self.post("model-versions/create",
                                      {"name": name, "source": "s3://b/x",
                                       "tags": [{"key": "k",
                                                 "value": "v" * 5001}]}),
                            "Model version value")
        self.assertBadParam(self.delete("model-versions/delete",
                                        {"name": name}),
                            "Missing value for required parameter 'version'")
        self.assertNotFound(self.delete("model-versions/delete",
                                        {"name": name, "version": "9"}))
        # nothing refused was created
        self.assertEqual(self.version_keys(filter="name = '%s'" % name),
                         [(name, "1")])

    def test_sources(self):
        name = uniq("src")
        self.create_model(name)
        run_id = self.create_run()["info"]["run_id"]
        for ok in ("s3://bucket/path/model", "gs://b/a b/m",
                   "mlflow-artifacts:/0/%s/artifacts/model" % run_id,
                   "mlflow-artifacts://host:5000/0/x/artifacts/m",
                   "https://example.com/models/m?x=1", "runs:/%s/m" % run_id,
                   "dbfs:/databricks/mlflow/m", "s3://b/model/"):
            mv = self.create_version(name, source=ok)
            self.assertEqual(mv["source"], ok)
        for bad, msg in (
                ("relative/path", "the run_id request parameter has to be "
                                  "specified"),
                ("/tmp/model", "To use a local path as a model version "
                               "source"),
                ("file:///tmp/model", "To use a local path"),
                ("s3://bucket", "an absolute path must be provided"),
                ("mlflow-artifacts:1/x", "absolute path"),
                ("s3://b/a/../x", "without relative path references"),
                ("s3://b/a/%2e%2e/x", "relative path"),
                ("s3://b/a/%252e%252e/x", "relative path"),
                ("http://host/a/./b", "relative path"),
                ("s3://b/a%00b", "absolute path"),
                ("file://remote.example.com/m", "is not a valid remote uri")):
            self.assertBadParam(self.post("model-versions/create",
                                          {"name": name, "source": bad}),
                                msg)
        # a local path needs a run whose artifacts hold it: this server
        # serves artifacts, so its runs have none on a local path
        self.assertBadParam(self.post("model-versions/create",
                                      {"name": name, "source": "/tmp/model",
                                       "run_id": run_id}),
                            "Invalid model version source: '/tmp/model'")
        self.assertNotFound(self.post("model-versions/create",
                                      {"name": name, "source": "/tmp/model",
                                       "run_id": hex_id(7)}),
                            "Run with id=%s not found" % hex_id(7))
        # models:/<name>/<version> (copy_model_version) stores that
        # version's source
        copy = uniq("copy")
        self.create_model(copy)
        mv = self.create_version(copy, source="models:/%s/1" % name)
        self.assertEqual(mv["source"], "s3://bucket/path/model")
        self.assertBadParam(self.post("model-versions/create",
                                      {"name": copy,
                                       "source": "models:/%s/99" % name}),
                            "Unable to fetch model from model URI source")

    def test_transition_stage(self):
        name = uniq("stages")
        self.create_model(name)
        for _ in range(4):
            self.create_version(name)
        v1 = self.ok(self.transition(name, 1, "production"))["model_version"]
        self.assertEqual(v1["current_stage"], "Production")
        self.ok(self.transition(name, 2, "Production"))
        # without the flag, both stay in Production
        stages = {v["version"]: v["current_stage"] for v in self.ok(
            self.search_versions(filter="name='%s'" % name))["model_versions"]}
        self.assertEqual(stages, {"1": "Production", "2": "Production",
                                  "3": "None", "4": "None"})
        before = self.version(name, 1)["last_updated_timestamp"]
        v3 = self.ok(self.transition(name, 3, "PRODUCTION",
                                     True))["model_version"]
        self.assertEqual(v3["current_stage"], "Production")
        for v in (1, 2):
            got = self.version(name, v)
            self.assertEqual(got["current_stage"], "Archived")
            self.assertGreaterEqual(got["last_updated_timestamp"], before)
        self.assertEqual(self.version(name, 4)["current_stage"], "None")
        m = self.model(name)
        self.assertEqual(m["last_updated_timestamp"],
                         v3["last_updated_timestamp"])
        # "true" and "false" as strings, archive on Staging
        self.ok(self.transition(name, 4, "staging", "true"))
        self.ok(self.transition(name, 4, "Staging", False))
        # transition to the current stage is allowed
        self.assertEqual(self.ok(self.transition(name, 4, "staging"))
                         ["model_version"]["current_stage"], "Staging")
        self.assertBadParam(self.transition(name, 1, "prod"),
                            "Invalid Model Version stage: prod. Value must "
                            "be one of None, Staging, Production, Archived.")
        self.assertBadParam(self.transition(name, 1, "Archived", True),
                            "is not an Active stage")
        self.assertBadParam(self.transition(name, 1, "None", True),
                            "is not an Active stage")
        self.assertBadParam(self.transition(name, 1, "Staging", "yes"),
                            "Invalid boolean value")
        self.assertBadParam(self.post("model-versions/transition-stage",
                                      {"name": name, "version": "1"}),
                            "Missing value for required parameter 'stage'")
        self.assertNotFound(self.transition(name, 9, "Staging"))
        self.assertNotFound(self.transition(uniq(), 1, "Staging"))

    def test_get_download_uri(self):
        name = uniq("dl")
        self.create_model(name)
        src = "s3://bucket/a%20b/model+x/"
        self.create_version(name, source=src)
        b = self.ok(self.get("model-versions/get-download-uri",
                             {"name": name, "version": "1"}))
        self.assertEqual(b, {"artifact_uri": src})
        self.ok(self.delete("model-versions/delete",
                            {"name": name, "version": "1"}))
        self.assertNotFound(self.get("model-versions/get-download-uri",
                                     {"name": name, "version": "1"}))
        self.assertNotFound(self.get("model-versions/get-download-uri",
                                     {"name": uniq(), "version": "1"}))

    def test_version_tags(self):
        name = uniq("vtags")
        self.create_model(name)
        self.create_version(name)
        self.ok(self.post("model-versions/set-tag",
                          {"name": name, "version": "1", "key": "k",
                           "value": "1"}))
        self.ok(self.post("model-versions/set-tag",
                          {"name": name, "version": "1", "key": "k",
                           "value": "2"}))
        self.ok(self.post("model-versions/set-tag",
                          {"name": name, "version": "1", "key": "other"}))
        self.assertEqual(self.tags_of(self.version(name, 1)),
                         {"k": "2", "other": ""})
        self.assertEqual(self.ok(self.delete(
            "model-versions/delete-tag",
            {"name": name, "version": "1", "key": "k"})), {})
        self.ok(self.delete("model-versions/delete-tag",
                            {"name": name, "version": "1", "key": "k"}))
        self.assertEqual(self.tags_of(self.version(name, 1)), {"other": ""})
        self.assertNotFound(self.post("model-versions/set-tag",
                                      {"name": name, "version": "2",
                                       "key": "k", "value": "v"}))
        self.assertNotFound(self.delete("model-versions/delete-tag",
                                        {"name": name, "version": "2",
                                         "key": "k"}))
        self.assertBadParam(self.post("model-versions/set-tag",
                                      {"name": name, "version": "1",
                                       "key": "k" * 251, "value": "v"}),
                            "Model version key")
        self.assertBadParam(self.post("model-versions/set-tag",
                                      {"name": name, "version": "1",
                                       "key": "a:b", "value": "v"}),
                            "Invalid tag name")

    def test_delete_version(self):
        name = uniq("vdel")
        self.create_model(name)
        self.create_version(name)
        self.create_version(name)
        self.ok(self.transition(name, 2, "Staging"))
        m0 = self.model(name)
        self.assertEqual(self.ok(self.delete(
            "model-versions/delete", {"name": name, "version": "2"})), {})
        self.assertNotFound(self.get("model-versions/get",
                                     {"name": name, "version": "2"}))
        self.assertNotFound(self.delete("model-versions/delete",
                                        {"name": name, "version": "2"}))
        m = self.model(name)
        self.assertEqual([(v["version"], v["current_stage"])
                          for v in m["latest_versions"]], [("1", "None")])
        self.assertGreaterEqual(m["last_updated_timestamp"],
                                m0["last_updated_timestamp"])
        self.assertEqual(self.version_keys(filter="name = '%s'" % name),
                         [(name, "1")])
        self.assertEqual(self.ok(self.post(
            "registered-models/get-latest-versions",
            {"name": name, "stages": ["Staging"]})), {})


class LocalSourceTests(RegistryCase):
    """A server without the artifact proxy: runs keep their artifacts on a
    local path, so a local source inside a run's folder is accepted."""
    server_args = ["--no-serve-artifacts"]

    def test_local_source_inside_the_run(self):
        name = uniq("local")
        self.create_model(name)
        run = self.create_run()
        run_id = run["info"]["run_id"]
        uri = run["info"]["artifact_uri"]
        local = uri[len("file://"):] if uri.startswith("file://") else uri
        self.assertTrue(local.startswith("/"), uri)
        mv = self.create_version(name, source=local + "/model", run_id=run_id)
        self.assertEqual(mv["source"], local + "/model")
        self.create_version(name, source=local, run_id=run_id)
        self.create_version(name, source="file://" + local + "/m",
                            run_id=run_id)
        for bad in (local + "/../../other", "/etc/passwd", local + "x/m"):
            self.assertBadParam(self.post("model-versions/create",
                                          {"name": name, "source": bad,
                                           "run_id": run_id}),
                                "has to be contained within the artifact "
                                "directory of the run")
        self.assertBadParam(self.post("model-versions/create",
                                      {"name": name,
                                       "source": local + "/model"}),
                            "the run_id request parameter has to be "
                            "specified")


class RegistrySearchTests(RegistryCase):
    R1, R2 = hex_id(1), hex_id(2)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        c = cls.client

        def post(path, body):
            r = c.post(path, body)
            assert r.status == 200, r
            return r.body

        post("registered-models/create",
             {"name": "s-alpha", "tags": [{"key": "team", "value": "green"},
                                          {"key": "env", "value": "prod"}]})
        post("registered-models/create",
             {"name": "s-beta", "tags": [{"key": "team", "value": "blue"}]})
        post("registered-models/create", {"name": "s-Gamma"})
        post("registered-models/create",
             {"name": "s-delta", "tags": [{"key": "team", "value": "Green"}]})
        for body in (
                {"name": "s-alpha", "source": "s3://bucket/alpha/1",
                 "run_id": cls.R1, "tags": [{"key": "k", "value": "a1"}]},
                {"name": "s-alpha", "source": "s3://bucket/alpha/2",
                 "run_id": cls.R2},
                {"name": "s-alpha", "source": "mlflow-artifacts:/0/%s/"
                 "artifacts/model" % cls.R1, "run_id": cls.R1},
                {"name": "s-beta", "source": "s3://bucket/beta/1",
                 "run_id": "ABCDEF"},
                {"name": "s-beta", "source": "s3://bucket/beta/2",
                 "run_id": cls.R2, "tags": [{"key": "k", "value": "b2"}]},
                {"name": "s-Gamma", "source": "gs://g/1"},
                {"name": "s-Gamma", "source": "gs://g/2"}):
            post("model-versions/create", body)
        r = c.request("DELETE", API + "model-versions/delete",
                      json.dumps({"name": "s-Gamma", "version": "2"}).encode(),
                      {"Content-Type": "application/json"})
        assert r.status == 200, r
        post("registered-models/alias",
             {"name": "s-alpha", "alias": "champion", "version": "3"})

    def all_versions(self):
        return self.ok(self.search_versions(max_results=1000))[
            "model_versions"]

    def all_models(self):
        return self.ok(self.search_models(max_results=1000))[
            "registered_models"]

    def test_models_filter_forms(self):
        f = self.model_names
        self.assertEqual(f(), ["s-Gamma", "s-alpha", "s-beta", "s-delta"])
        self.assertEqual(f(filter="name = 's-alpha'"), ["s-alpha"])
        self.assertEqual(f(filter='name = "s-alpha"'), ["s-alpha"])
        self.assertEqual(f(filter="attribute.name = 's-beta'"), ["s-beta"])
        self.assertEqual(f(filter="name != 's-alpha'"),
                         ["s-Gamma", "s-beta", "s-delta"])
        self.assertEqual(f(filter="name LIKE 's-_e%'"), ["s-beta", "s-delta"])
        self.assertEqual(f(filter="name LIKE 's-g%'"), [])
        self.assertEqual(f(filter="name like 's-G%'"), ["s-Gamma"])
        self.assertEqual(f(filter="name ILIKE 'S-G%'"), ["s-Gamma"])
        self.assertEqual(f(filter="tags.team = 'green'"), ["s-alpha"])
        self.assertEqual(f(filter="tags.team ILIKE 'green'"),
                         ["s-alpha", "s-delta"])
        # a tag clause needs the tag: s-Gamma has no team
        self.assertEqual(f(filter="tags.team != 'green'"),
                         ["s-beta", "s-delta"])
        self.assertEqual(f(filter="tag.env = 'prod'"), ["s-alpha"])
        self.assertEqual(f(filter="tags.`team` = 'blue'"), ["s-beta"])
        self.assertEqual(f(filter='tags."team" LIKE \'b%\''), ["s-beta"])
        self.assertEqual(f(filter="tags.team ILIKE 'GREEN' and "
                                  "name LIKE '%delta'"), ["s-delta"])
        self.assertEqual(f(filter="tags.team = 'green' AND tags.team = "
                                  "'blue'"), [])
        self.assertEqual(f(filter="name = 'no''such'"), [])
        # each model carries its latest versions and aliases in a search
        alpha = [m for m in self.all_models() if m["name"] == "s-alpha"][0]
        self.assertEqual([v["version"] for v in alpha["latest_versions"]],
                         ["3"])
        self.assertEqual(alpha["aliases"], [{"alias": "champion",
                                             "version": "3"}])
        self.assertEqual(self.tags_of(alpha), {"team": "green",
                                               "env": "prod"})

    def test_models_filter_errors(self):
        for bad, msg in (
                ("creation_timestamp > 1", "Invalid attribute key"),
                ("run_id = 'x'", "Invalid attribute key"),
                ("metric.acc > 1", "Invalid entity type"),
                ("params.x = 'y'", "Invalid entity type"),
                ("attr.name = 'x'", "Invalid entity type"),
                ("name = s-alpha", "not quoted"),
                ("name IN ('a')", "Invalid comparator"),
                ("name > 'a'", "Invalid comparator"),
                ("name = 'a' OR name = 'b'", "AND"),
                ("(name = 'a')", "Invalid clause"),
                ("name = 'a", "unterminated"),
                ("name LIKE", "missing value"),
                ("tags.x > 'a'", "Invalid comparator")):
            self.assertBadParam(self.search_models(filter=bad), msg)

    def test_models_order_by(self):
        f = self.model_names
        self.assertEqual(f(order_by="name DESC"),
                         ["s-delta", "s-beta", "s-alpha", "s-Gamma"])
        self.assertEqual(f(order_by="name asc"),
                         ["s-Gamma", "s-alpha", "s-beta", "s-delta"])
        models = self.all_models()
        want = [m["name"] for m in sorted(
            models, key=lambda m: (-m["last_updated_timestamp"], m["name"]))]
        self.assertEqual(f(order_by="last_updated_timestamp DESC"), want)
        want = [m["name"] for m in sorted(
            models, key=lambda m: (m["last_updated_timestamp"], m["name"]))]
        self.assertEqual(f(order_by="timestamp"), want)
        self.assertEqual(f(order_by=["last_updated_timestamp ASC",
                                     "name DESC"]),
                         [m["name"] for m in sorted(
                             sorted(models, key=lambda m: m["name"],
                                    reverse=True),
                             key=lambda m: m["last_updated_timestamp"])])
        self.assertBadParam(self.search_models(
            order_by="creation_timestamp DESC"), "Invalid order by key")
        self.assertBadParam(self.search_models(order_by="tags.team"),
                            "Invalid order by key")
        self.assertBadParam(self.search_models(order_by=["name", "name DESC"]),
                            "duplicate")
        self.assertBadParam(self.search_models(
            order_by=["timestamp", "last_updated_timestamp"]), "duplicate")
        self.assertBadParam(self.search_models(order_by="name UP"))

    def test_models_paging(self):
        seen, token, pages = [], None, 0
        while True:
            q = {"max_results": 3}
            if token:
                q["page_token"] = token
            b = self.ok(self.search_models(**q))
            pages += 1
            seen += [m["name"] for m in b.get("registered_models", [])]
            token = b.get("next_page_token")
            if not token:
                break
            self.assertLess(pages, 5)
        self.assertEqual(pages, 2)
        self.assertEqual(seen, ["s-Gamma", "s-alpha", "s-beta", "s-delta"])
        # a full last page has no token either
        b = self.ok(self.search_models(max_results=4))
        self.assertNotIn("next_page_token", b)
        self.assertBadParam(self.search_models(max_results=1001),
                            "It must be at most 1000, but got value 1001")
        self.assertBadParam(self.search_models(max_results=0))
        self.assertBadParam(self.search_models(max_results="x"))
        self.assertBadParam(self.search_models(page_token="not a token"),
                            "Invalid page token")
        # a token with offset 0 is refused, as MLflow does
        self.assertBadParam(self.search_models(
            page_token="eyJvZmZzZXQiOiAwfQ=="), "Invalid page token")
        b = self.ok(self.search_models(page_token="eyJvZmZzZXQiOiAzfQ=="))
        self.assertEqual([m["name"] for m in b["registered_models"]],
                         ["s-delta"])
        self.assertEqual(self.ok(self.search_models(
            page_token="eyJvZmZzZXQiOiA5fQ==")), {})

    def test_versions_filter_forms(self):
        f = lambda flt: sorted(self.version_keys(filter=flt))  # noqa: E731
        R1, R2 = self.R1, self.R2
        self.assertEqual(f("name = 's-alpha'"),
                         [("s-alpha", "1"), ("s-alpha", "2"),
                          ("s-alpha", "3")])
        self.assertEqual(f("run_id = '%s'" % R1),
                         [("s-alpha", "1"), ("s-alpha", "3")])
        self.assertEqual(f("run_id IN ('%s', '%s')" % (R1, R2)),
                         [("s-alpha", "1"), ("s-alpha", "2"),
                          ("s-alpha", "3"), ("s-beta", "2")])
        # MLflow drops ids with upper-case letters from IN lists
        self.assertEqual(f("run_id IN ('ABCDEF')"), [])
        self.assertEqual(f("run_id IN ('ABCDEF', '%s')" % R2),
                         [("s-alpha", "2"), ("s-beta", "2")])
        self.assertEqual(f("run_id = 'ABCDEF'"), [("s-beta", "1")])
        self.assertEqual(f("source_path LIKE 's3://bucket/alpha/%'"),
                         [("s-alpha", "1"), ("s-alpha", "2")])
        self.assertEqual(f("source_path = 'gs://g/1'"), [("s-Gamma", "1")])
        self.assertEqual(f("version_number > 1"),
                         [("s-alpha", "2"), ("s-alpha", "3"),
                          ("s-beta", "2")])
        self.assertEqual(f("version_number >= 3"), [("s-alpha", "3")])
        self.assertEqual(f("version_number = 1 AND name = 's-beta'"),
                         [("s-beta", "1")])
        self.assertEqual(f("version_number != 1 and version_number < 3 and "
                           "name LIKE 's-%'"),
                         [("s-alpha", "2"), ("s-beta", "2")])
        self.assertEqual(f("tags.k = 'a1'"), [("s-alpha", "1")])
        self.assertEqual(f("tag.k LIKE '%2'"), [("s-beta", "2")])
        self.assertEqual(f("tags.k != 'a1'"), [("s-beta", "2")])
        self.assertEqual(f("name ILIKE 'S-G%'"), [("s-Gamma", "1")])
        self.assertEqual(f("name LIKE 's-g%'"), [])
        self.assertEqual(f("name != 's-alpha' AND name != 's-beta'"),
                         [("s-Gamma", "1")])
        # deleted versions are never found
        self.assertEqual(f("source_path = 'gs://g/2'"), [])
        # search results carry tags but no aliases (MLflow 2.9.2)
        v3 = [v for v in self.all_versions()
              if (v["name"], v["version"]) == ("s-alpha", "3")][0]
        self.assertNotIn("aliases", v3)
        self.assertEqual(self.version("s-alpha", 3)["aliases"], ["champion"])
        v1 = [v for v in self.all_versions()
              if (v["name"], v["version"]) == ("s-alpha", "1")][0]
        self.assertEqual(self.tags_of(v1), {"k": "a1"})

    def test_versions_filter_errors(self):
        for bad, msg in (
                ("version_number = '1'", "numeric"),
                ("version_number LIKE '1'", "Invalid comparator"),
                ("run_id NOT IN ('a')", "Invalid comparator"),
                ("name IN ('a')", "Invalid comparator"),
                ("source_path IN ('a')", "Invalid comparator"),
                ("run_id IN 'a'", "list"),
                ("current_stage = 'None'", "Invalid attribute key"),
                ("creation_timestamp > 0", "Invalid attribute key"),
                ("metrics.x > 1", "Invalid entity type"),
                ("run_id = 'a' OR run_id = 'b'", "AND"),
                ("run_id = ", "missing value")):
            self.assertBadParam(self.search_versions(filter=bad), msg)

    def test_versions_order_by(self):
        vs = self.all_versions()
        key = lambda v: (v["name"], v["version"])  # noqa: E731
        # the default: last_updated_timestamp DESC, name ASC, version DESC
        want = [key(v) for v in sorted(
            vs, key=lambda v: (-v["last_updated_timestamp"], v["name"],
                               -int(v["version"])))]
        self.assertEqual(self.version_keys(), want)
        want = [key(v) for v in sorted(
            vs, key=lambda v: (int(v["version"]), v["name"]))]
        self.assertEqual(self.version_keys(order_by="version_number ASC"),
                         want)
        want = [key(v) for v in sorted(
            sorted(vs, key=lambda v: -int(v["version"])),
            key=lambda v: v["name"], reverse=True)]
        self.assertEqual(self.version_keys(order_by="name DESC"), want)
        want = [key(v) for v in sorted(
            vs, key=lambda v: (v["creation_timestamp"], v["name"],
                               -int(v["version"])))]
        self.assertEqual(self.version_keys(order_by="creation_timestamp"),
                         want)
        want = [key(v) for v in sorted(
            vs, key=lambda v: (v["name"], -int(v["version"])))]
        self.assertEqual(self.version_keys(order_by="name ASC"), want)
        self.assertBadParam(self.search_versions(order_by="stage"),
                            "Invalid order by key 'stage'")
        self.assertBadParam(self.search_versions(order_by="timestamp"),
                            "Invalid order by key")
        self.assertBadParam(self.search_versions(
            order_by=["version_number", "version_number DESC"]), "duplicate")
        self.assertBadParam(self.search_versions(order_by="name sideways"))

    def test_versions_paging(self):
        full = self.version_keys()
        self.assertEqual(len(full), 6)
        seen, token, pages = [], None, 0
        while True:
            q = {"max_results": 4}
            if token:
                q["page_token"] = token
            b = self.ok(self.search_versions(**q))
            pages += 1
            seen += [(v["name"], v["version"])
                     for v in b.get("model_versions", [])]
            token = b.get("next_page_token")
            if not token:
                break
            self.assertLess(pages, 5)
        self.assertEqual((pages, seen), (2, full))
        self.assertNotIn("next_page_token",
                         self.ok(self.search_versions(max_results=6)))
        self.assertBadParam(self.search_versions(max_results=200001),
                            "It must be at most 200000")
        self.assertBadParam(self.search_versions(max_results=-1))
        self.ok(self.search_versions(max_results=200000))


class RegistryCarbonTests(RegistryCase):
    def energy(self, run_id, kwh, start=1000, end=61000):
        self.ok(self.post(GT + "runs/log-energy",
                          {"run_id": run_id, "samples": [
                              {"start_time": start, "end_time": end,
                               "cpu_energy_j": kwh * MJ36,
                               "cpu_method": "rapl"}]}))

    def metric(self, run_id, key, value):
        self.ok(self.post("runs/log-metric",
                          {"run_id": run_id, "key": key, "value": value,
                           "timestamp": now_ms(), "step": 0}))

    def carbon(self, name, version):
        return self.get(GT + "model-versions/carbon",
                        {"name": name, "version": str(version)})

    def test_carbon_of_a_version(self):
        exp = self.create_experiment()
        run_id = self.create_run(exp)["info"]["run_id"]
        self.ok(self.post("runs/set-tag", {"run_id": run_id,
                                           "key": "greentrack.country",
                                           "value": "FRA"}))
        self.energy(run_id, 1.0)
        self.metric(run_id, "acc", 0.9)
        self.metric(run_id, "loss", 0.2)
        name = uniq("green")
        self.create_model(name, tags=[{"key": "owner", "value": "me"}])
        self.create_version(name, source="runs:/%s/model" % run_id,
                            run_id=run_id, tags=[{"key": "t", "value": "1"}])
        before_m, before_v = self.model(name), self.version(name, 1)
        c = self.ok(self.carbon(name, 1))
        self.assertEqual((c["name"], c["version"], c["run_id"],
                          c["experiment_id"]), (name, "1", run_id, exp))
        self.assertEqual(c["run_id_source"], "the version's run_id")
        # the carbon object is runs/carbon's, number for number
        rc = self.ok(self.get(GT + "runs/carbon", {"run_id": run_id}))
        self.assertEqual(c["carbon"], rc)
        self.assertAlmostEqual(c["carbon"]["energy_kwh"], 1.0, places=9)
        self.assertAlmostEqual(c["carbon"]["co2_g"], FRA, places=6)
        self.assertIn("FRA", c["carbon"]["intensity_source"])
        self.assertEqual(c["carbon"]["methods"]["cpu"], ["rapl"])
        # the leaderboard's default metric of the experiment: acc
        self.assertEqual(c["metric"]["key"], "acc")
        self.assertIn("leaderboard", c["metric"]["key_source"])
        self.assertEqual(c["metric"]["direction"], "max")
        self.assertEqual(c["metric"]["value"], 0.9)
        self.assertAlmostEqual(c["metric_per_kg_co2"], 0.9 / (FRA / 1000),
                               places=6)
        self.assertAlmostEqual(c["score"], c["metric_per_kg_co2"], places=9)
        # the registered model's tag greentrack.metric decides
        self.ok(self.post("registered-models/set-tag",
                          {"name": name, "key": "greentrack.metric",
                           "value": "loss"}))
        c = self.ok(self.carbon(name, 1))
        self.assertEqual(c["metric"]["key"], "loss")
        self.assertIn("greentrack.metric", c["metric"]["key_source"])
        self.assertEqual(c["metric"]["direction"], "min")
        self.assertEqual(c["metric"]["value"], 0.2)
        self.assertAlmostEqual(c["metric_per_kg_co2"], 0.2 / (FRA / 1000),
                               places=6)
        self.assertAlmostEqual(c["score"], 0.2 * (FRA / 1000), places=9)
        # a metric the run lacks
        self.ok(self.post("registered-models/set-tag",
                          {"name": name, "key": "greentrack.metric",
                           "value": "f1"}))
        c = self.ok(self.carbon(name, 1))
        self.assertEqual((c["metric"]["key"], c["metric"]["value"],
                          c["metric_per_kg_co2"], c["score"]),
                         ("f1", None, None, None))
        # nothing was added to the model's or the version's tags
        after_m, after_v = self.model(name), self.version(name, 1)
        self.assertEqual(self.tags_of(after_m),
                         dict(self.tags_of(before_m),
                              **{"greentrack.metric": "f1"}))
        self.assertEqual(after_v, before_v)

    def test_default_metric_and_sources(self):
        exp = self.create_experiment()
        run_id = self.create_run(exp)["info"]["run_id"]
        other = self.create_run(exp)["info"]["run_id"]
        self.metric(run_id, "loss", 0.5)
        self.metric(other, "val_accuracy", 0.7)
        self.energy(run_id, 2.0)
        name = uniq("nometric")
        self.create_model(name)
        # the run of an artifact-URI source without run_id
        uri = self.get_run(run_id)["info"]["artifact_uri"]
        self.create_version(name, source=uri + "/model")
        c = self.ok(self.carbon(name, 1))
        self.assertEqual(c["run_id"], run_id)
        self.assertEqual(c["run_id_source"],
                         "the run folder of the version's source")
        # the experiment's metric keys: one ending in accuracy wins, and
        # this run does not have it
        self.assertEqual(c["metric"]["key"], "val_accuracy")
        self.assertIsNone(c["metric"]["value"])
        self.assertIsNone(c["score"])
        self.assertAlmostEqual(c["carbon"]["energy_kwh"], 2.0, places=9)
        self.assertAlmostEqual(c["carbon"]["co2_g"], 2 * 475.0, places=6)
        # a run without energy: no score
        self.create_version(name, source="runs:/%s/m" % other)
        c = self.ok(self.carbon(name, 2))
        self.assertEqual(c["run_id"], other)
        self.assertEqual(c["metric"]["value"], 0.7)
        self.assertIsNone(c["metric_per_kg_co2"])
        self.assertIsNone(c["score"])
        self.assertEqual(c["carbon"]["samples"], 0)
        # an experiment without metrics
        lone = self.create_run(self.create_experiment())["info"]["run_id"]
        self.create_version(name, source="runs:/%s/m" % lone)
        c = self.ok(self.carbon(name, 3))
        self.assertEqual((c["metric"]["key"], c["metric"]["value"]),
                         (None, None))

    def test_carbon_errors(self):
        name = uniq("cerr")
        self.create_model(name)
        self.create_version(name, source="s3://bucket/model")
        self.assertNotFound(self.carbon(name, 1), "has no source run")
        self.assertNotFound(self.carbon(name, 2),
                            "Model Version (name=%s, version=2) not found"
                            % name)
        self.create_version(name, source="runs:/%s/m" % hex_id(99))
        self.assertNotFound(self.carbon(name, 2),
                            "Run with id=%s not found" % hex_id(99))
        self.assertBadParam(self.get(GT + "model-versions/carbon",
                                     {"version": "1"}),
                            "Registered model name cannot be empty.")
        self.assertBadParam(self.carbon(name, "x"), "must be an integer")
        self.assertError(self.post(GT + "model-versions/carbon",
                                   {"name": name}), 405)


class RegistryExportTests(RegistryCase):
    def test_export_json_with_registry(self):
        exp = self.create_experiment()
        r1 = self.create_run(exp)["info"]["run_id"]
        r2 = self.create_run(exp)["info"]["run_id"]
        name = uniq("exported")
        self.create_model(name, description="the one",
                          tags=[{"key": "team", "value": "g"}])
        self.create_version(name, source="runs:/%s/m" % r1, run_id=r1)
        self.create_version(name, source="runs:/%s/m2" % r1, run_id=r1)
        self.create_version(name, source="runs:/%s/m3" % r1, run_id=r1)
        self.ok(self.delete("model-versions/delete",
                            {"name": name, "version": "3"}))
        self.ok(self.post("registered-models/alias",
                          {"name": name, "alias": "prod", "version": "2"}))
        other = uniq("elsewhere")
        self.create_model(other)
        self.create_version(other, source="runs:/%s/m" % hex_id(5),
                            run_id=hex_id(5))
        q = {"experiment_id": exp, "format": "json"}
        plain = self.ok(self.get(GT + "runs/export", q))
        for run in plain["runs"]:
            self.assertNotIn("model_versions", run)
        self.assertNotIn("registered_models", plain)
        b = self.ok(self.get(GT + "runs/export",
                             dict(q, include_registry="true")))
        runs = {r["run_id"]: r for r in b["runs"]}
        self.assertEqual(set(runs), {r1, r2})
        self.assertEqual(runs[r2]["model_versions"], [])
        mvs = runs[r1]["model_versions"]
        self.assertEqual([v["version"] for v in mvs], ["1", "2"])
        self.assertEqual(mvs[1], self.version(name, 2))
        self.assertEqual(mvs[1]["aliases"], ["prod"])
        self.assertEqual([m["name"] for m in b["registered_models"]], [name])
        self.assertEqual(b["registered_models"][0], self.model(name))
        # the rest of each run is the plain export's
        for run in b["runs"]:
            del run["model_versions"]
        self.assertEqual(b["runs"], plain["runs"])
        self.assertEqual(self.ok(self.get(
            GT + "runs/export", dict(q, include_registry="false"))), plain)
        self.assertBadParam(self.get(GT + "runs/export",
                                     {"experiment_id": exp,
                                      "include_registry": "true"}),
                            "include_registry=true needs format=json")
        self.assertBadParam(self.get(GT + "runs/export",
                                     dict(q, include_registry="maybe")))
        empty = self.create_experiment()
        self.assertEqual(self.ok(self.get(
            GT + "runs/export", {"experiment_id": empty, "format": "json",
                                 "include_registry": "true"})),
            {"runs": [], "registered_models": []})


if __name__ == "__main__":
    raise SystemExit("run with: python3 tests/integration/harness.py " +
                     __file__)
