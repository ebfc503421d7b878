# SPDX-License-Identifier: MIT
"""Artifacts: GET /api/2.0/mlflow/artifacts/list over a run's local
artifact directory: the root and subdirectories, a missing directory,
paths that would leave the run's root, unknown runs
(specs/mlflow-rest.md §3.3)."""

import os
import uuid

from harness import ServerTestCase


class ArtifactListTests(ServerTestCase):

    def make_tree(self, run):
        root = run["info"]["artifact_uri"]
        if root.startswith("file://"):
            root = root[len("file://"):]
        if root.startswith("mlflow-artifacts:/"):  # served: under the root
            root = os.path.join(self.server.artifact_root,
                                root[len("mlflow-artifacts:/"):])
        self.assertTrue(os.path.isabs(root), root)
        os.makedirs(os.path.join(root, "model", "sub"), exist_ok=True)
        with open(os.path.join(root, "model", "MLmodel"), "w") as f:
            f.write("flavors: {}\n")
        with open(os.path.join(root, "model", "sub", "w.bin"), "wb") as f:
            f.write(b"\0" * 1000)
        with open(os.path.join(root, "top.txt"), "w") as f:
            f.write("hello")
        return root

    def test_list_root_and_subdir(self):
        run = self.create_run("0")
        rid = run["info"]["run_id"]
        self.make_tree(run)
        b = self.ok(self.get("artifacts/list", {"run_id": rid}))
        self.assertEqual(b["root_uri"], run["info"]["artifact_uri"])
        files = {f["path"]: f for f in b["files"]}
        self.assertEqual(set(files), {"model", "top.txt"})
        self.assertTrue(files["model"]["is_dir"])
        self.assertNotIn("file_size", files["model"])
        self.assertFalse(files["top.txt"].get("is_dir", False))
        self.assertEqual(files["top.txt"]["file_size"], 5)
        b = self.ok(self.get("artifacts/list", {"run_uuid": rid,
                                                "path": "model"}))
        files = {f["path"]: f for f in b["files"]}
        self.assertEqual(set(files), {"model/MLmodel", "model/sub"})
        self.assertEqual(files["model/MLmodel"]["file_size"], 12)
        self.assertTrue(files["model/sub"]["is_dir"])
        b = self.ok(self.get("artifacts/list", {"run_id": rid,
                                                "path": "model/sub"}))
        self.assertEqual(b["files"], [{"path": "model/sub/w.bin",
                                       "is_dir": False, "file_size": 1000}])

    def test_missing_dir(self):
        run = self.create_run("0")
        b = self.ok(self.get("artifacts/list",
                             {"run_id": run["info"]["run_id"]}))
        self.assertEqual(b.get("root_uri"), run["info"]["artifact_uri"])
        self.assertNotIn("files", b)
        b = self.ok(self.get("artifacts/list",
                             {"run_id": run["info"]["run_id"],
                              "path": "nope"}))
        self.assertNotIn("files", b)

    def test_unsafe_paths(self):
        run = self.create_run("0")
        rid = run["info"]["run_id"]
        self.make_tree(run)
        for p in ["..", "../..", "model/../..", "/etc", "/", "model/../../x",
                  "../" + rid]:
            with self.subTest(path=p):
                self.assertBadParam(self.get("artifacts/list",
                                             {"run_id": rid, "path": p}))

    def test_unknown_run(self):
        self.assertNotFound(self.get("artifacts/list",
                                     {"run_id": uuid.uuid4().hex}))
        self.assertBadParam(self.get("artifacts/list"))
