# SPDX-License-Identifier: MIT
"""Artifact locations as MLflow 2.9.2 reports them: a relative
artifact_location in experiments/create is taken from the server's working
directory (a path stays a path, file:rel becomes file:///<cwd>/rel), any
other location is kept as given; without the artifact proxy the locations
the server forms from its root are file:// URIs (percent-encoded as
pathlib writes them), whether --artifact-root is a path or a file: URI;
those runs' files are listed, downloaded and uploaded through the tracking
API; a database written before (bare "<root>/<id>" locations) gets the
URIs at start-up, and locations a client chose stay as they were."""

import os
import shutil
import tempfile
import urllib.parse

from harness import Server, ServerTestCase, db_execute, uniq

AJAX = "/ajax-api/2.0/mlflow/"


def file_uri(path):
    return "file://" + urllib.parse.quote(path, safe="/")


class ClientLocationTests(ServerTestCase):
    """With the proxy on (the default)."""

    def location(self, loc):
        eid = self.create_experiment(artifact_location=loc)
        got = self.get_experiment(eid)["artifact_location"]
        run = self.create_run(eid)
        self.assertEqual(run["info"]["artifact_uri"],
                         got.rstrip("/") + "/%s/artifacts"
                         % run["info"]["run_id"])
        return got

    def test_relative_locations_are_made_absolute(self):
        cwd = os.path.realpath(self.server.tmpdir)
        for loc, want in [
                ("rel/x", cwd + "/rel/x"),
                ("./a//b/", cwd + "/a/b"),
                ("../up", cwd + "/../up"),
                ("file:rel/y", "file://" + cwd + "/rel/y"),
                ("file:./z", "file://" + cwd + "/z")]:
            with self.subTest(loc=loc):
                self.assertEqual(self.location(loc), want)

    def test_other_locations_are_kept_as_given(self):
        for loc in ("/tmp/gt-abs-" + uniq(), "/tmp/gt-abs-" + uniq() + "/",
                    "file:///tmp/gt-f-" + uniq(), "file://localhost/tmp/x",
                    "s3://bucket/prefix", "mlflow-artifacts:/team-a",
                    "gs://b/p with space"):
            with self.subTest(loc=loc):
                self.assertEqual(self.location(loc), loc)

    def test_served_locations(self):
        self.assertEqual(self.get_experiment("0")["artifact_location"],
                         "mlflow-artifacts:/0")
        eid = self.create_experiment()
        self.assertEqual(self.get_experiment(eid)["artifact_location"],
                         "mlflow-artifacts:/" + eid)


class LocalRootTests(ServerTestCase):
    """--no-serve-artifacts, a root whose name needs escaping."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="gt-loc-")
        cls.root = os.path.join(os.path.realpath(cls.tmp), "my art%s+é")
        cls.server_args = ["--no-serve-artifacts", "--artifact-root",
                           cls.root]
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_locations_are_file_uris(self):
        base = file_uri(self.root)
        self.assertIn("%20", base)
        self.assertEqual(self.get_experiment("0")["artifact_location"],
                         base + "/0")
        eid = self.create_experiment()
        self.assertEqual(self.get_experiment(eid)["artifact_location"],
                         base + "/" + eid)
        run = self.create_run(eid)
        rid = run["info"]["run_id"]
        self.assertEqual(run["info"]["artifact_uri"],
                         "%s/%s/%s/artifacts" % (base, eid, rid))
        # the tracking API reaches those files
        folder = os.path.join(self.root, eid, rid, "artifacts")
        os.makedirs(os.path.join(folder, "m"))
        with open(os.path.join(folder, "m", "f.txt"), "w") as f:
            f.write("local")
        b = self.ok(self.get("artifacts/list", {"run_id": rid}))
        self.assertEqual(b["root_uri"], run["info"]["artifact_uri"])
        self.assertEqual(b["files"], [{"path": "m", "is_dir": True}])
        r = self.request("GET", "/get-artifact?" + urllib.parse.urlencode(
            {"path": "m/f.txt", "run_uuid": rid}))
        self.assertEqual((r.status, r.raw), (200, b"local"))
        r = self.request("POST", AJAX + "upload-artifact?" +
                         urllib.parse.urlencode({"run_uuid": rid,
                                                 "path": "m/up.txt"}),
                         b"up", {"Content-Type": "text/plain"})
        self.assertEqual(r.status, 200, r)
        with open(os.path.join(folder, "m", "up.txt"), "rb") as f:
            self.assertEqual(f.read(), b"up")


class FileUriRootTests(ServerTestCase):
    """--artifact-root file:///x is the folder /x."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = os.path.realpath(tempfile.mkdtemp(prefix="gt-furi-"))
        cls.root = os.path.join(cls.tmp, "root")
        cls.server_args = ["--no-serve-artifacts", "--artifact-root",
                           "file://" + cls.root]
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_file_uri_root(self):
        eid = self.create_experiment()
        self.assertEqual(self.get_experiment(eid)["artifact_location"],
                         "file://%s/%s" % (self.root, eid))
        self.assertFalse(os.path.exists(os.path.join(self.server.tmpdir,
                                                     "file:")))


class OldDatabaseTests(ServerTestCase):
    """Locations an older greentrack stored as "<root>/<id>"."""

    def test_bare_locations_become_file_uris(self):
        tmp = os.path.realpath(tempfile.mkdtemp(prefix="gt-old-"))
        self.addCleanup(shutil.rmtree, tmp, True)
        art = os.path.join(tmp, "art")
        first = Server(args=["--no-serve-artifacts"], tmpdir=tmp,
                       artifact_root=art, label="first").start()
        try:
            c = first.client()
            eid = c.post("experiments/create",
                         {"name": uniq("old")}).body["experiment_id"]
            rid = c.post("runs/create", {"experiment_id": eid}).body[
                "run"]["info"]["run_id"]
            chosen = os.path.join(tmp, "chosen")
            e2 = c.post("experiments/create", {
                "name": uniq("chosen"),
                "artifact_location": chosen}).body["experiment_id"]
            r2 = c.post("runs/create", {"experiment_id": e2}).body[
                "run"]["info"]["run_id"]
            c.close()
        finally:
            self.assertEqual(first.stop()[0], 0)
        # as an older server wrote them
        db_execute(first.db, "UPDATE experiments SET artifact_location = ? "
                   "WHERE experiment_id = 0", (art + "/0",))
        db_execute(first.db, "UPDATE experiments SET artifact_location = ? "
                   "WHERE experiment_id = ?", (art + "/" + eid, int(eid)))
        db_execute(first.db, "UPDATE runs SET artifact_uri = ? "
                   "WHERE run_id = ?",
                   ("%s/%s/%s/artifacts" % (art, eid, rid), rid))
        os.makedirs(os.path.join(art, eid, rid, "artifacts", "m"))
        for serve in (True, False):
            args = [] if serve else ["--no-serve-artifacts"]
            srv = Server(args=args, tmpdir=tmp, db=first.db,
                         artifact_root=art, label="again").start()
            try:
                c = srv.client()
                e = c.get("experiments/get", {"experiment_id": eid}).body
                run = c.get("runs/get", {"run_id": rid}).body["run"]
                if serve:  # serving: stored locations are left alone
                    self.assertEqual(e["experiment"]["artifact_location"],
                                     art + "/" + eid)
                else:
                    self.assertEqual(e["experiment"]["artifact_location"],
                                     "file://%s/%s" % (art, eid))
                    self.assertEqual(run["info"]["artifact_uri"],
                                     "file://%s/%s/%s/artifacts"
                                     % (art, eid, rid))
                    d = c.get("experiments/get", {"experiment_id": "0"}).body
                    self.assertEqual(d["experiment"]["artifact_location"],
                                     "file://%s/0" % art)
                # either way the files are listed
                b = c.get("artifacts/list", {"run_id": rid}).body
                self.assertEqual(b["files"], [{"path": "m", "is_dir": True}])
                # a location the client chose is never rewritten
                e = c.get("experiments/get", {"experiment_id": e2}).body
                self.assertEqual(e["experiment"]["artifact_location"],
                                 chosen)
                run2 = c.get("runs/get", {"run_id": r2}).body["run"]
                self.assertEqual(run2["info"]["artifact_uri"],
                                 "%s/%s/artifacts" % (chosen, r2))
                c.close()
            finally:
                self.assertEqual(srv.stop()[0], 0)
