# SPDX-License-Identifier: MIT
"""The MLflow artifact proxy, /api/2.0/mlflow-artifacts/ (specs/
mlflow-artifacts.md, MLflow 2.9.2's wire shapes), with raw HTTP as the
Python client sends it: upload, download (Range too), list, delete of files
and folders, nested folders, a 30 MiB file byte for byte, content types and
headers, multipart routes answered 501, path traversal in every spelling
and symbolic links (proxy and tracking artifacts/list) with nothing written
outside the root, a cut upload leaving nothing behind, 413 above
--max-artifact-bytes, --no-serve-artifacts, artifact_uri shapes, file: URIs
for --artifact-root, the root holding exactly what was uploaded, a slow
upload not holding the only HTTP thread, and greentrack-server gc."""

import hashlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid

import harness
from harness import (Client, Server, ServerTestCase, clean_env, now_ms,
                     server_binary, uniq)

# raw requests here send "Host: x" (harness.RAW_HOST_ENV)
harness.SERVER_ENV_DEFAULTS.update(harness.RAW_HOST_ENV)

AP = "/api/2.0/mlflow-artifacts/artifacts"
AJAX = "/ajax-api/2.0/mlflow-artifacts/artifacts"
MPU = "/api/2.0/mlflow-artifacts/mpu"


def tree(root):
    """Every path below 'root' (folders end in '/'), links not followed."""
    out = set()
    for d, dirs, files in os.walk(root):
        rel = os.path.relpath(d, root)
        for n in dirs:
            p = os.path.normpath(os.path.join(rel, n))
            out.add(p + ("" if os.path.islink(os.path.join(d, n)) else "/"))
        for n in files:
            out.add(os.path.normpath(os.path.join(rel, n)))
    return out


def run_gc(server, *args):
    return subprocess.run(
        [server_binary(), "gc", "--db", server.db, "--artifact-root",
         server.artifact_root, "--log-level", "warn"] + list(args),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=clean_env(), timeout=30)


class ArtifactCase(ServerTestCase):

    def put(self, path, data, headers=None, prefix=AP):
        return self.request("PUT", prefix + "/" + path, body=data,
                            headers=headers)

    def download(self, path, headers=None, prefix=AP):
        return self.request("GET", prefix + "/" + path, headers=headers)

    def delete(self, path, prefix=AP):
        return self.request("DELETE", prefix + "/" + path)

    def listing(self, path=None, raw_query=None):
        url = AP
        if raw_query is not None:
            url += "?" + raw_query
        elif path is not None:
            url += "?" + "path=" + path
        return self.request("GET", url)

    def run_root(self, run):
        uri = run["info"]["artifact_uri"]
        self.assertTrue(uri.startswith("mlflow-artifacts:/"), uri)
        return uri[len("mlflow-artifacts:/"):]

    def assertInvalidPath(self, resp):
        self.assertBadParam(resp)

    def local(self, rel):
        return os.path.join(self.server.artifact_root, rel)


class ProxyTests(ArtifactCase):

    def test_upload_download_list_delete(self):
        run = self.create_run()
        root = self.run_root(run)
        mlmodel = b"artifact_path: model\nflavors: {}\n"
        r = self.put(root + "/model/MLmodel", mlmodel,
                     {"Content-Type": "text/plain",
                      "User-Agent": "mlflow-python-client/2.9.2"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, {})
        self.assertIn("application/json", r.headers["content-type"])
        self.assertEqual(self.ok(self.put(root + "/model/model.pkl",
                                          b"\x80\x04pickle")), {})
        self.assertEqual(self.ok(self.put(root + "/model/data/w.bin",
                                          b"\0" * 1000)), {})
        # bytes land at DIR/<path>
        with open(self.local(root + "/model/MLmodel"), "rb") as f:
            self.assertEqual(f.read(), mlmodel)

        r = self.download(root + "/model/MLmodel")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.raw, mlmodel)
        self.assertEqual(r.headers["content-type"], "text/plain")
        self.assertEqual(r.headers["content-disposition"],
                         "attachment; filename=MLmodel")
        self.assertEqual(r.headers["x-content-type-options"], "nosniff")
        self.assertEqual(r.headers["content-length"], str(len(mlmodel)))
        r = self.download(root + "/model/model.pkl")
        self.assertEqual(r.headers["content-type"],
                         "application/octet-stream")
        self.assertEqual(r.raw, b"\x80\x04pickle")

        b = self.ok(self.listing(root))
        self.assertEqual(b, {"files": [{"path": "model", "is_dir": True}]})
        b = self.ok(self.listing(root + "/model"))
        self.assertEqual(b["files"], [
            {"path": "MLmodel", "is_dir": False,
             "file_size": len(mlmodel)},
            {"path": "data", "is_dir": True},
            {"path": "model.pkl", "is_dir": False, "file_size": 8}])
        self.assertIsInstance(b["files"][0]["file_size"], int)
        # a file or a missing path lists as {}
        self.assertEqual(self.ok(self.listing(root + "/model/MLmodel")), {})
        self.assertEqual(self.ok(self.listing(root + "/nope")), {})

        # delete a file, then a folder tree, then something missing
        self.assertEqual(self.ok(self.delete(root + "/model/model.pkl")), {})
        self.assertFalse(os.path.exists(self.local(root + "/model/model.pkl")))
        self.assertEqual(self.ok(self.delete(root + "/model/data/")), {})
        self.assertFalse(os.path.exists(self.local(root + "/model/data")))
        self.assertEqual(self.ok(self.delete(root + "/model/nope")), {})
        b = self.ok(self.listing(root + "/model"))
        self.assertEqual([f["path"] for f in b["files"]], ["MLmodel"])
        self.assertNotFound(self.download(root + "/model/model.pkl"))

    def test_content_types(self):
        base = "ct-" + uuid.uuid4().hex[:8]
        cases = {"conda.yaml": "text/plain", "requirements.txt": "text/plain",
                 "MLproject": "text/plain", "x.json": "text/plain",
                 "plot.png": "image/png", "page.html": "text/html",
                 "a.tar.gz": "application/x-tar",
                 "weights": "application/octet-stream"}
        for name, ctype in cases.items():
            self.ok(self.put(base + "/" + name, b"x"))
            r = self.download(base + "/" + name)
            self.assertEqual(r.headers.get("content-type"), ctype, name)

    def test_nested_overwrite_empty_and_ajax(self):
        base = "n-" + uuid.uuid4().hex[:8]
        self.ok(self.put(base + "/a/b/c/d/e.txt", b"first"))
        self.ok(self.put(base + "/a/b/c/d/e.txt", b"second, longer"))
        self.assertEqual(self.download(base + "/a/b/c/d/e.txt").raw,
                         b"second, longer")
        self.ok(self.put(base + "/empty", b""))
        r = self.download(base + "/empty")
        self.assertEqual((r.status, r.raw), (200, b""))
        # the /ajax-api/ copy of every route
        self.ok(self.put(base + "/ajax.txt", b"via ajax", prefix=AJAX))
        self.assertEqual(self.download(base + "/ajax.txt", prefix=AJAX).raw,
                         b"via ajax")
        r = self.request("GET", AJAX + "?path=" + base)
        self.assertEqual([f["path"] for f in self.ok(r)["files"]],
                         ["a", "ajax.txt", "empty"])
        self.ok(self.delete(base + "/ajax.txt", prefix=AJAX))
        # a folder cannot be downloaded or overwritten by a file
        self.assertBadParam(self.download(base + "/a/b"))
        self.assertBadParam(self.put(base + "/a/b", b"x"))
        self.assertBadParam(self.put(base + "/a/", b"x"))
        # a file cannot be a folder
        self.assertBadParam(self.put(base + "/empty/x", b"x"))
        self.assertNotFound(self.download(base + "/empty/x"))
        # other methods
        self.assertError(self.request("POST", AP + "/" + base + "/empty",
                                      body=b"{}",
                                      headers={"Content-Type":
                                               "application/json"}), 405)
        self.assertError(self.request("PUT", AP, body=b"x"), 405)
        # HEAD: the headers of a download
        r = self.request("HEAD", AP + "/" + base + "/a/b/c/d/e.txt")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers["content-length"], "14")
        self.assertEqual(r.raw, b"")

    def test_missing_file_is_404(self):
        r = self.download("nope/" + uuid.uuid4().hex)
        self.assertNotFound(r)

    def test_range(self):
        base = "rg-" + uuid.uuid4().hex[:8]
        data = bytes(range(256)) * 4  # 1024 bytes
        self.ok(self.put(base + "/f.bin", data))
        r = self.download(base + "/f.bin", {"Range": "bytes=0-99"})
        self.assertEqual(r.status, 206, r)
        self.assertEqual(r.raw, data[:100])
        self.assertEqual(r.headers["content-range"], "bytes 0-99/1024")
        self.assertEqual(r.headers["content-length"], "100")
        self.assertEqual(r.headers["content-type"],
                         "application/octet-stream")
        r = self.download(base + "/f.bin", {"Range": "bytes=1000-"})
        self.assertEqual((r.status, r.raw), (206, data[1000:]))
        self.assertEqual(r.headers["content-range"], "bytes 1000-1023/1024")
        r = self.download(base + "/f.bin", {"Range": "bytes=-24"})
        self.assertEqual((r.status, r.raw), (206, data[-24:]))
        r = self.download(base + "/f.bin", {"Range": "bytes=500-99999"})
        self.assertEqual((r.status, r.raw), (206, data[500:]))
        r = self.download(base + "/f.bin", {"Range": "bytes=1024-"})
        self.assertError(r, 416, "INVALID_PARAMETER_VALUE")
        self.assertEqual(r.headers["content-range"], "bytes */1024")
        # several ranges, or a malformed one: the whole file
        r = self.download(base + "/f.bin", {"Range": "bytes=0-1,5-6"})
        self.assertEqual((r.status, r.raw), (200, data))
        r = self.download(base + "/f.bin", {"Range": "bytes=9-1"})
        self.assertEqual((r.status, r.raw), (200, data))
        self.assertEqual(r.headers.get("accept-ranges"), "bytes")

    def test_30mib_byte_identical(self):
        base = "big-" + uuid.uuid4().hex[:8]
        data = os.urandom(1 << 20) * 30
        data = data[:-7] + b"the end"  # not a multiple of anything
        r = self.put(base + "/weights.bin", data)
        self.assertEqual(r.status, 200, r)
        with open(self.local(base + "/weights.bin"), "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).digest(),
                             hashlib.sha256(data).digest())
        r = self.download(base + "/weights.bin")
        self.assertEqual(r.status, 200)
        self.assertEqual(len(r.raw), len(data))
        self.assertEqual(hashlib.sha256(r.raw).digest(),
                         hashlib.sha256(data).digest())
        b = self.ok(self.listing(base))
        self.assertEqual(b["files"], [{"path": "weights.bin", "is_dir": False,
                                       "file_size": len(data)}])

    def test_multipart_routes_fall_back(self):
        msg = ("Multipart upload is not supported for the current artifact "
               "repository")
        for op, body in (("create", {"path": "/tmp/x/model.pkl",
                                     "num_parts": 3}),
                         ("complete", {"path": "/tmp/x/model.pkl",
                                       "upload_id": "u", "parts": []}),
                         ("abort", {"path": "/tmp/x/model.pkl",
                                    "upload_id": "u"})):
            with self.subTest(op=op):
                r = self.post(MPU + "/%s/1/run/artifacts" % op, body)
                self.assertError(r, 501, "NOT_IMPLEMENTED")
                self.assertEqual(r.body["message"], msg)
        self.assertBadParam(self.post(MPU + "/create/../x",
                                      {"path": "m", "num_parts": 1}))
        self.assertBadParam(self.post(MPU + "/create/1/r", {"num_parts": 1}))
        r = self.request("POST", MPU + "/create/1/r", body=b"{}",
                         headers={"Content-Type": "text/plain"})
        self.assertBadParam(r)
        self.assertError(self.request("GET", MPU + "/create/1/r"), 405)


class TraversalTests(ArtifactCase):
    """Every spelling of a path leaving the root is 400 "Invalid path" for
    PUT, GET, DELETE and list, and writes nothing anywhere."""

    def test_traversal_forms(self):
        tag = "gt-esc-" + uuid.uuid4().hex[:8]
        self.ok(self.put("keep/" + tag, b"victim"))  # DELETE must not reach
        forms = [
            "../" + tag,                      # raw ..
            "a/../../" + tag,
            "keep/../../" + tag,
            "%2e%2e/" + tag,                  # encoded dots
            "%2E%2E%2f" + tag,                # encoded dots and slash
            "..%2f" + tag,                    # raw dots, encoded slash
            "a/%2e%2e/%2e%2e/" + tag,
            "%252e%252e/" + tag,              # double-encoded
            "/tmp/" + tag,                    # absolute (//tmp/... in URL)
            "%2ftmp%2f" + tag,
            "file:///tmp/" + tag,             # a file: URI
            "C:/" + tag,                      # a Windows drive
            "a\\..\\..\\" + tag,              # backslashes
            "a%5c..%5c" + tag,
            "a%00b",                          # NUL
            tag + "%00.txt",
            "a%23b",                          # '#'
            "x" * 1025,                       # too long
            "a/" + "y" * 1030,
        ]
        before = tree(self.server.tmpdir)
        for p in forms:
            with self.subTest(path=p):
                self.assertInvalidPath(self.put(p, b"pwned"))
                self.assertInvalidPath(self.download(p))
                self.assertInvalidPath(self.delete(p))
                self.assertInvalidPath(self.listing(p))
                # the /ajax-api/ copy, and a path query of the same
                self.assertInvalidPath(self.put(p, b"pwned", prefix=AJAX))
        self.assertEqual(tree(self.server.tmpdir), before)
        self.assertFalse(os.path.exists("/tmp/" + tag))
        self.assertFalse(os.path.exists(
            os.path.join(os.path.dirname(self.server.tmpdir), tag)))
        with open(self.local("keep/" + tag), "rb") as f:
            self.assertEqual(f.read(), b"victim")
        # not rejected: ".", "a..b", "..a", "a//b", a trailing '/'
        for ok in ("./dot/x.txt", "dots/a..b", "dots/..a", "dots//twice.txt"):
            with self.subTest(ok=ok):
                self.assertEqual(self.ok(self.put(ok, b"fine")), {})
        self.assertTrue(os.path.isfile(self.local("dot/x.txt")))
        self.assertTrue(os.path.isfile(self.local("dots/twice.txt")))
        b = self.ok(self.listing("dots/"))
        self.assertEqual([f["path"] for f in b["files"]],
                         ["..a", "a..b", "twice.txt"])

    def test_symlink_escapes_proxy(self):
        outside = tempfile.mkdtemp(prefix="gt-outside-")
        self.addCleanup(shutil.rmtree, outside, True)
        with open(os.path.join(outside, "secret"), "w") as f:
            f.write("secret")
        sl = "sl-" + uuid.uuid4().hex[:8]
        os.makedirs(self.local(sl))
        os.symlink("/", self.local(sl + "/lnk"))
        os.symlink(outside, self.local(sl + "/out"))
        os.symlink(os.path.join(outside, "secret"), self.local(sl + "/file"))
        for p in (sl + "/lnk/etc/passwd", sl + "/out/secret", sl + "/file"):
            with self.subTest(get=p):
                self.assertInvalidPath(self.download(p))
        self.assertInvalidPath(self.put(sl + "/out/new.txt", b"x"))
        self.assertInvalidPath(self.put(sl + "/out/deep/new.txt", b"x"))
        self.assertInvalidPath(self.delete(sl + "/out/secret"))
        self.assertInvalidPath(self.listing(sl + "/lnk"))
        self.assertInvalidPath(self.listing(sl + "/lnk/etc"))
        self.assertEqual(sorted(os.listdir(outside)), ["secret"])
        # links are left out of listings
        self.assertEqual(self.ok(self.listing(sl)), {})
        # a PUT over a link replaces the link, never writes its target
        self.ok(self.put(sl + "/file", b"replaced"))
        self.assertFalse(os.path.islink(self.local(sl + "/file")))
        with open(os.path.join(outside, "secret")) as f:
            self.assertEqual(f.read(), "secret")
        # deleting a folder holding links removes the links, not targets
        self.ok(self.delete(sl))
        self.assertFalse(os.path.lexists(self.local(sl)))
        self.assertEqual(sorted(os.listdir(outside)), ["secret"])
        self.assertTrue(os.path.exists("/etc/passwd"))

    def test_symlink_escape_tracking_list(self):
        run = self.create_run()
        rid = run["info"]["run_id"]
        root = self.local(self.run_root(run))
        os.makedirs(os.path.join(root, "model"))
        with open(os.path.join(root, "model", "MLmodel"), "w") as f:
            f.write("x")
        os.symlink("/", os.path.join(root, "lnk"))
        b = self.ok(self.get("artifacts/list", {"run_id": rid}))
        self.assertEqual(b["files"], [{"path": "model", "is_dir": True}])
        for p in ("lnk", "lnk/etc", "model/../lnk"):
            with self.subTest(path=p):
                self.assertBadParam(self.get("artifacts/list",
                                             {"run_id": rid, "path": p}))
        # the run's own root being a link is refused too
        run2 = self.create_run()
        root2 = self.local(self.run_root(run2))
        os.makedirs(os.path.dirname(root2), exist_ok=True)
        os.symlink("/etc", root2)
        self.assertBadParam(self.get("artifacts/list",
                                     {"run_id": run2["info"]["run_id"]}))


class LimitTests(ArtifactCase):
    server_args = ["--max-artifact-bytes", str(1 << 20)]

    def test_413_content_length(self):
        before = tree(self.server.artifact_root)
        r = self.put("big/over.bin", b"x" * ((1 << 20) + 1))
        self.assertError(r, 413, "INVALID_PARAMETER_VALUE",
                         "--max-artifact-bytes")
        self.assertEqual(tree(self.server.artifact_root), before)
        self.assertEqual(self.ok(self.put("big/at-limit.bin",
                                          b"x" * (1 << 20))), {})
        self.assertServerUp()

    def test_413_chunked(self):
        def body():
            for _ in range(20):
                yield b"y" * 65536
        c = Client(self.server.host, self.server.port)
        try:
            c.conn = __import__("http.client").client.HTTPConnection(
                self.server.host, self.server.port, timeout=10)
            c.conn.request("PUT", AP + "/chunked/over.bin", body=body(),
                           encode_chunked=True)
            resp = c.conn.getresponse()
            data = json.loads(resp.read())
            self.assertEqual(resp.status, 413)
            self.assertEqual(data["error_code"], "INVALID_PARAMETER_VALUE")
        finally:
            c.close()
        self.assertFalse(os.path.exists(self.local("chunked")))
        self.assertServerUp()

    def test_cut_upload_leaves_nothing(self):
        before = tree(self.server.artifact_root)
        s = socket.create_connection((self.server.host, self.server.port))
        s.sendall(("PUT %s/cut/deep/partial.bin HTTP/1.1\r\nHost: x\r\n"
                   "Content-Length: 500000\r\n\r\n" % AP).encode()
                  + b"z" * 200000)
        # the upload is in progress: no file under its final name (waits
        # here bound a hang, 60 s: a busy machine only makes them longer)
        deadline = time.monotonic() + 60
        while (time.monotonic() < deadline
               and not os.path.isdir(self.local("cut/deep"))):
            time.sleep(0.02)
        self.assertFalse(os.path.exists(self.local("cut/deep/partial.bin")))
        s.close()  # cut
        deadline = time.monotonic() + 60
        while (time.monotonic() < deadline
               and tree(self.server.artifact_root) != before):
            time.sleep(0.05)
        # no final file, no temp file, and the folders it made are gone
        self.assertEqual(tree(self.server.artifact_root), before)
        # an existing file is untouched by a cut overwrite
        self.ok(self.put("keep.txt", b"original"))
        s = socket.create_connection((self.server.host, self.server.port))
        s.sendall(("PUT %s/keep.txt HTTP/1.1\r\nHost: x\r\n"
                   "Content-Length: 1000\r\n\r\n" % AP).encode() + b"n" * 10)
        time.sleep(0.2)
        s.close()
        # the server drops the cut upload's temporary file when it notices
        deadline = time.monotonic() + 60
        while (time.monotonic() < deadline and
               tree(self.server.artifact_root) != before | {"keep.txt"}):
            time.sleep(0.05)
        self.assertEqual(self.download("keep.txt").raw, b"original")
        self.assertEqual(tree(self.server.artifact_root),
                         before | {"keep.txt"})
        self.assertServerUp()


class SlowUploadTests(ArtifactCase):
    """One HTTP thread: a PUT that trickles must not keep tracking writes
    waiting."""
    server_args = ["--threads", "1"]

    def test_slow_upload_does_not_block_tracking(self):
        run = self.create_run()
        rid = run["info"]["run_id"]
        root = self.run_root(run)
        s = socket.create_connection((self.server.host, self.server.port))
        s.settimeout(30)
        total = 100
        s.sendall(("PUT %s/%s/slow.txt HTTP/1.1\r\nHost: x\r\n"
                   "Content-Length: %d\r\n\r\n" % (AP, root, total)).encode()
                  + b"s")
        sent = 1
        c = Client(self.server.host, self.server.port)
        try:
            for step in range(20):
                r = c.post("runs/log-metric", {
                    "run_id": rid, "key": "loss", "value": step,
                    "timestamp": now_ms(), "step": step})
                self.assertEqual(r.status, 200, r)
                if step % 4 == 0 and sent < total - 1:
                    s.sendall(b"s")  # the upload trickles on
                    sent += 1
            # all of them done while the upload is still open
            s.setblocking(False)
            try:
                early = s.recv(100)
            except BlockingIOError:
                early = None
            self.assertIsNone(early, "the upload was answered early")
            s.setblocking(True)
            self.assertEqual(len(self.history(rid, "loss")), 20)
        finally:
            c.close()
        s.sendall(b"s" * (total - sent))
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = s.recv(4096)
            if not chunk:
                break
            answer += chunk
        s.close()
        self.assertTrue(answer.startswith(b"HTTP/1.1 200"), answer)
        self.assertEqual(self.download(root + "/slow.txt").raw, b"s" * total)


class RootContentsTests(ArtifactCase):
    """The root holds exactly what was uploaded: no temp files, nothing
    else."""

    def test_root_listed_exactly(self):
        files = {"1/r1/artifacts/model/MLmodel": b"m",
                 "1/r1/artifacts/model/conda.yaml": b"c",
                 "1/r1/artifacts/plot.png": b"\x89PNG",
                 "2/r2/artifacts/a/b/c.txt": b"deep",
                 "top.txt": b"t"}
        threads = []
        errors = []

        def upload(path, data):
            c = Client(self.server.host, self.server.port)
            try:
                r = c.request("PUT", AP + "/" + path, body=data)
                if r.status != 200:
                    errors.append((path, r))
            finally:
                c.close()
        for p, d in files.items():
            threads.append(threading.Thread(target=upload, args=(p, d)))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        want = set(files)
        for p in files:
            parts = p.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                want.add("/".join(parts[:i]) + "/")
        self.assertEqual(tree(self.server.artifact_root), want)
        b = self.ok(self.listing())
        self.assertEqual(b["files"], [
            {"path": "1", "is_dir": True}, {"path": "2", "is_dir": True},
            {"path": "top.txt", "is_dir": False, "file_size": 1}])
        self.assertEqual(self.ok(self.listing(raw_query="path=")), b)


class UriTests(ArtifactCase):

    def test_artifact_uri_shapes(self):
        self.assertEqual(self.get_experiment("0")["artifact_location"],
                         "mlflow-artifacts:/0")
        eid = self.create_experiment()
        self.assertEqual(self.get_experiment(eid)["artifact_location"],
                         "mlflow-artifacts:/" + eid)
        run = self.create_run(eid)
        self.assertEqual(run["info"]["artifact_uri"],
                         "mlflow-artifacts:/%s/%s/artifacts"
                         % (eid, run["info"]["run_id"]))
        # a client-supplied location is kept as given
        for loc in ("mlflow-artifacts:/team-a", "mlflow-artifacts:/team-b/",
                    "s3://bucket/prefix", "/tmp/gt-elsewhere-" + uniq()):
            with self.subTest(loc=loc):
                e2 = self.create_experiment(artifact_location=loc)
                self.assertEqual(
                    self.get_experiment(e2)["artifact_location"], loc)
                r2 = self.create_run(e2)
                self.assertEqual(r2["info"]["artifact_uri"],
                                 loc.rstrip("/") + "/%s/artifacts"
                                 % r2["info"]["run_id"])

    def test_tracking_list_sees_served_files(self):
        run = self.create_run()
        rid = run["info"]["run_id"]
        root = self.run_root(run)
        self.ok(self.put(root + "/model/MLmodel", b"flavors: {}\n"))
        self.ok(self.put(root + "/metrics.csv", b"a,b\n"))
        b = self.ok(self.get("artifacts/list", {"run_id": rid}))
        self.assertEqual(b["root_uri"], run["info"]["artifact_uri"])
        self.assertEqual(b["files"], [
            {"path": "metrics.csv", "is_dir": False, "file_size": 4},
            {"path": "model", "is_dir": True}])
        b = self.ok(self.get("artifacts/list", {"run_id": rid,
                                                "path": "model"}))
        self.assertEqual(b["files"], [{"path": "model/MLmodel",
                                       "is_dir": False, "file_size": 12}])

    def test_tracking_list_refuses_external_and_remote(self):
        outside = tempfile.mkdtemp(prefix="gt-ext-")
        self.addCleanup(shutil.rmtree, outside, True)
        eid = self.create_experiment(artifact_location=outside)
        run = self.create_run(eid)
        os.makedirs(os.path.join(outside, run["info"]["run_id"], "artifacts"))
        self.assertError(self.get("artifacts/list",
                                  {"run_id": run["info"]["run_id"]}), 403,
                         "PERMISSION_DENIED",
                         "--allow-external-artifact-locations")
        eid = self.create_experiment(artifact_location="s3://b/p")
        run = self.create_run(eid)
        self.assertError(self.get("artifacts/list",
                                  {"run_id": run["info"]["run_id"]}), 501,
                         "NOT_IMPLEMENTED")
        eid = self.create_experiment(
            artifact_location="mlflow-artifacts:/../../etc")
        run = self.create_run(eid)
        self.assertBadParam(self.get("artifacts/list",
                                     {"run_id": run["info"]["run_id"]}))


class ExternalAllowedTests(ArtifactCase):
    server_args = ["--allow-external-artifact-locations"]

    def test_external_listed_when_allowed(self):
        outside = tempfile.mkdtemp(prefix="gt-ext-")
        self.addCleanup(shutil.rmtree, outside, True)
        eid = self.create_experiment(artifact_location="file://" + outside)
        run = self.create_run(eid)
        rid = run["info"]["run_id"]
        d = os.path.join(outside, rid, "artifacts")
        os.makedirs(d)
        with open(os.path.join(d, "f.txt"), "w") as f:
            f.write("abc")
        b = self.ok(self.get("artifacts/list", {"run_id": rid}))
        self.assertEqual(b["files"], [{"path": "f.txt", "is_dir": False,
                                       "file_size": 3}])


class NoServeTests(ArtifactCase):
    server_args = ["--no-serve-artifacts"]

    def test_routes_answer_503(self):
        before = tree(self.server.artifact_root)
        for method, path in (("GET", AP + "/1/x"), ("PUT", AP + "/1/x"),
                             ("DELETE", AP + "/1/x"), ("GET", AP),
                             ("GET", AP + "?path=1"), ("GET", AJAX + "/1/x")):
            with self.subTest(method=method, path=path):
                r = self.request(method, path,
                                 body=b"data" if method == "PUT" else None)
                self.assertError(r, 503, "TEMPORARILY_UNAVAILABLE",
                                 "--no-serve-artifacts")
        r = self.post(MPU + "/create/1/x", {"path": "p", "num_parts": 1})
        self.assertError(r, 503, "TEMPORARILY_UNAVAILABLE")
        self.assertEqual(tree(self.server.artifact_root), before)

    def test_local_locations(self):
        # file: URIs of the root, as MLflow forms them
        root = self.server.artifact_root
        self.assertEqual(self.get_experiment("0")["artifact_location"],
                         "file://" + os.path.join(root, "0"))
        eid = self.create_experiment()
        self.assertEqual(self.get_experiment(eid)["artifact_location"],
                         "file://" + os.path.join(root, eid))
        run = self.create_run(eid)
        rid = run["info"]["run_id"]
        uri = run["info"]["artifact_uri"]
        self.assertEqual(uri, "file://" + os.path.join(root, eid, rid,
                                                       "artifacts"))
        os.makedirs(os.path.join(uri[len("file://"):], "m"))
        b = self.ok(self.get("artifacts/list", {"run_id": rid}))
        self.assertEqual(b["files"], [{"path": "m", "is_dir": True}])


class RestartTests(ArtifactCase):
    """Runs created without serving keep their local URIs once serving is
    on, and stay listable; --artifact-root takes a file: URI."""

    def test_old_runs_keep_working(self):
        tmp = tempfile.mkdtemp(prefix="gt-restart-")
        self.addCleanup(shutil.rmtree, tmp, True)
        art = os.path.join(tmp, "art")
        old = Server(args=["--no-serve-artifacts"], tmpdir=tmp,
                     artifact_root=art, label="old").start()
        try:
            c = old.client()
            r = c.post("runs/create", {"experiment_id": "0"})
            old_run = r.body["run"]["info"]
            c.close()
        finally:
            self.assertEqual(old.stop()[0], 0)
        self.assertTrue(old_run["artifact_uri"].startswith("file:///"))
        os.makedirs(os.path.join(old_run["artifact_uri"][len("file://"):],
                                 "model"))
        new = Server(args=["--artifact-root", "file://" + art], tmpdir=tmp,
                     default_args=False, label="new")
        new.args = ["--port", "0", "--db", old.db, "--log-level", "warn",
                    "--artifact-root", "file://" + art]
        new.start()
        try:
            c = new.client()
            r = c.get("runs/get", {"run_id": old_run["run_id"]})
            self.assertEqual(r.body["run"]["info"]["artifact_uri"],
                             old_run["artifact_uri"])
            r = c.get("artifacts/list", {"run_id": old_run["run_id"]})
            self.assertEqual(r.body["files"], [{"path": "model",
                                                "is_dir": True}])
            # the Default experiment keeps its stored location; new ones
            # are served
            r = c.get("experiments/get", {"experiment_id": "0"})
            self.assertEqual(r.body["experiment"]["artifact_location"],
                             "file://" + os.path.join(art, "0"))
            r = c.post("runs/create", {"experiment_id": "0"})
            self.assertEqual(r.status, 200)
            r = c.post("experiments/create", {"name": uniq("e")})
            eid = r.body["experiment_id"]
            r = c.get("experiments/get", {"experiment_id": eid})
            self.assertEqual(r.body["experiment"]["artifact_location"],
                             "mlflow-artifacts:/" + eid)
            # file:// root: uploads land in the folder, not in "file:"
            r = c.request("PUT", AP + "/" + eid + "/x.txt", body=b"x")
            self.assertEqual(r.status, 200, r)
            self.assertTrue(os.path.isfile(os.path.join(art, eid, "x.txt")))
            self.assertFalse(os.path.exists(os.path.join(tmp, "file:")))
            c.close()
        finally:
            self.assertEqual(new.stop()[0], 0)


class GcTests(ArtifactCase):

    def make_run(self):
        run = self.create_run()
        root = self.run_root(run)
        self.ok(self.put(root + "/model/MLmodel", b"m"))
        self.ok(self.post("runs/log-metric", {
            "run_id": run["info"]["run_id"], "key": "acc", "value": 0.5,
            "timestamp": now_ms(), "step": 0}))
        self.ok(self.post("runs/log-parameter", {
            "run_id": run["info"]["run_id"], "key": "lr", "value": "0.1"}))
        return run["info"]["run_id"], root

    def test_gc_dry_run_then_gc(self):
        keep, keep_root = self.make_run()
        gone1, root1 = self.make_run()
        gone2, root2 = self.make_run()
        self.ok(self.post("runs/delete", {"run_id": gone1}))
        self.ok(self.post("runs/delete", {"run_id": gone2}))
        # a link in a deleted run's folder: removed, never followed
        victim = tempfile.mkdtemp(prefix="gt-victim-")
        self.addCleanup(shutil.rmtree, victim, True)
        with open(os.path.join(victim, "keep"), "w") as f:
            f.write("k")
        os.symlink(victim, self.local(root2 + "/lnk"))
        before = tree(self.server.artifact_root)

        p = run_gc(self.server, "--dry-run")
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout.decode()
        self.assertIn("would remove run " + gone1, out)
        self.assertIn("would remove run " + gone2, out)
        self.assertNotIn(keep, out)
        self.assertIn("2 deleted run(s) would be removed", out)
        self.assertEqual(tree(self.server.artifact_root), before)
        self.assertEqual(self.get_run(gone1)["info"]["lifecycle_stage"],
                         "deleted")

        # deleted just now: not older than a day
        p = run_gc(self.server, "--older-than", "1d")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("removed 0 run(s)", p.stdout.decode())
        self.assertEqual(tree(self.server.artifact_root), before)
        p = run_gc(self.server, "--older-than", "nonsense")
        self.assertEqual(p.returncode, 2)

        time.sleep(1.1)
        p = run_gc(self.server, "--older-than", "1s")
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout.decode()
        self.assertIn("removed 2 run(s)", out)
        for rid in (gone1, gone2):
            self.assertNotFound(self.get("runs/get", {"run_id": rid}))
            self.assertNotFound(self.get("metrics/get-history",
                                         {"run_id": rid, "metric_key": "acc"}))
        self.assertFalse(os.path.lexists(self.local(root1)))
        self.assertFalse(os.path.lexists(self.local(root2)))
        self.assertFalse(os.path.lexists(os.path.dirname(self.local(root1))))
        self.assertEqual(os.listdir(victim), ["keep"])
        # the kept run is whole, and the server goes on writing
        self.assertEqual(self.download(keep_root + "/model/MLmodel").raw,
                         b"m")
        self.assertEqual(len(self.history(keep, "acc")), 1)
        new = self.create_run()
        self.ok(self.post("runs/log-metric", {
            "run_id": new["info"]["run_id"], "key": "acc", "value": 1,
            "timestamp": now_ms(), "step": 0}))
        p = run_gc(self.server)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("removed 0 run(s)", p.stdout.decode())

    def test_gc_leaves_outside_locations(self):
        outside = tempfile.mkdtemp(prefix="gt-gcext-")
        self.addCleanup(shutil.rmtree, outside, True)
        eid = self.create_experiment(artifact_location=outside)
        run = self.create_run(eid)
        rid = run["info"]["run_id"]
        d = os.path.join(outside, rid, "artifacts")
        os.makedirs(d)
        self.ok(self.post("runs/delete", {"run_id": rid}))
        p = run_gc(self.server)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("outside the artifact root", p.stdout.decode())
        self.assertNotFound(self.get("runs/get", {"run_id": rid}))
        self.assertTrue(os.path.isdir(d))

    def test_gc_help(self):
        p = subprocess.run([server_binary(), "gc", "--help"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=clean_env(), timeout=10)
        self.assertEqual(p.returncode, 0)
        for w in (b"--older-than", b"--dry-run"):
            self.assertIn(w, p.stdout)
