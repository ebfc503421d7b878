# SPDX-License-Identifier: MIT
"""The server process: CLI flags and env vars, start-up failures, /health,
/version, both API prefixes, legacy experiments/list, static web root with
index.html for deep links, refusing a newer DB schema, SIGTERM during load,
slow clients not blocking others."""

import json
import os
import re
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import shutil

import harness
from harness import (Client, Server, ServerTestCase, STOP_TIMEOUT, clean_env,
                     free_port, now_ms, read_version_file, server_binary,
                     uniq)

# raw requests here send "Host: x" (harness.RAW_HOST_ENV)
harness.SERVER_ENV_DEFAULTS.update(harness.RAW_HOST_ENV)


def run_cli(args, env=None, timeout=60):
    return subprocess.run([server_binary()] + args, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=clean_env(env), timeout=timeout)


class CliTests(ServerTestCase):
    """Processes started by each test; the class server is only a control."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="gt-cli-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def assertStartFails(self, args, env=None, want_in_stderr=None,
                         quiet=True):
        # --log-level warn keeps info lines (e.g. migrations) out of stderr;
        # the failure itself must then be exactly one line.
        if quiet and "--log-level" not in args:
            args = args + ["--log-level", "warn"]
        p = run_cli(args, env)
        self.assertNotEqual(p.returncode, 0,
                            "should fail: %r stdout=%r" % (args, p.stdout))
        err = p.stderr.decode("utf-8", "replace").strip()
        self.assertTrue(err, "no message on stderr for %r" % (args,))
        self.assertEqual(len(err.splitlines()), 1,
                         "want one line on stderr, got %r" % err)
        self.assertNotIn(b"listening", p.stdout)
        if want_in_stderr:
            self.assertTrue(any(w in err.lower() for w in want_in_stderr),
                            err)
        return err

    def db_for(self, name):
        """A new server's data: the file <name>.db in the test's folder,
        or a fresh database on PostgreSQL."""
        if harness.ON_POSTGRES:
            return harness.fresh_db_target(self.tmp)
        return os.path.join(self.tmp, name + ".db")

    def base_args(self, name="x"):
        return ["--port", "0", "--db", os.path.join(self.tmp, name + ".db"),
                "--artifact-root", os.path.join(self.tmp, "art")]

    def test_help(self):
        p = run_cli(["--help"])
        self.assertEqual(p.returncode, 0, p.stderr)
        out = (p.stdout + p.stderr).decode()
        for flag in ("--port", "--db", "--artifact-root", "--max-body-bytes",
                     "--log-level", "--durability", "--host"):
            self.assertIn(flag, out)

    def test_version(self):
        p = run_cli(["--version"])
        self.assertEqual(p.returncode, 0, p.stderr)
        v = read_version_file()
        if v:
            self.assertIn(v, p.stdout.decode())

    def test_bad_flag(self):
        self.assertStartFails(self.base_args() + ["--no-such-flag"])
        self.assertStartFails(["--port"], quiet=False)  # missing value

    def test_bad_flag_values(self):
        for extra in (["--port", "abc"], ["--port", "70000"],
                      ["--port", "-1"], ["--max-body-bytes", "lots"],
                      ["--durability", "sometimes"],
                      ["--log-level", "chatty"]):
            with self.subTest(extra=extra):
                args = [a for a in self.base_args()]
                if extra[0] == "--port":
                    args = args[2:]
                self.assertStartFails(args + extra)

    def test_port_in_use(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        try:
            args = self.base_args()[2:] + ["--port", str(port),
                                           "--host", "127.0.0.1"]
            self.assertStartFails(args)
        finally:
            s.close()

    def test_unopenable_db(self):
        target = "/nonexistent/dir/x.db"
        if harness.ON_POSTGRES:  # a database the cluster does not have
            import pgtest
            target = pgtest.url_for("gt_no_such_database")
        args = ["--port", "0", "--db", target,
                "--artifact-root", os.path.join(self.tmp, "art")]
        self.assertStartFails(args)

    @harness.SQLITE_ONLY
    def test_db_is_not_sqlite(self):
        db = os.path.join(self.tmp, "junk.db")
        with open(db, "wb") as f:
            f.write(b"this is not a database" * 200)
        args = ["--port", "0", "--db", db, "--artifact-root",
                os.path.join(self.tmp, "art")]
        self.assertStartFails(args)
        with open(db, "rb") as f:
            self.assertEqual(f.read(), b"this is not a database" * 200)

    def test_newer_db_version_refused(self):
        if harness.ON_POSTGRES:
            return self.newer_pg_schema_refused()
        db = os.path.join(self.tmp, "future.db")
        con = sqlite3.connect(db)
        con.execute("CREATE TABLE future_thing (x)")
        con.execute("PRAGMA user_version=999")
        con.commit()
        con.close()
        args = ["--port", "0", "--db", db, "--artifact-root",
                os.path.join(self.tmp, "art")]
        self.assertStartFails(args, want_in_stderr=("version", "newer",
                                                    "schema"))
        con = sqlite3.connect(db)
        self.assertEqual(con.execute("PRAGMA user_version").fetchone()[0],
                         999)
        self.assertEqual(con.execute(
            "SELECT count(*) FROM sqlite_master WHERE name='runs'")
            .fetchone()[0], 0, "must not migrate a newer DB")
        con.close()

    def newer_pg_schema_refused(self):
        # PostgreSQL's level is the one row of greentrack_schema
        db = harness.fresh_db_target(self.tmp)
        harness.db_execute(db, "CREATE TABLE greentrack_schema (only_row "
                           "BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK "
                           "(only_row), level INTEGER NOT NULL)")
        harness.db_execute(db, "INSERT INTO greentrack_schema (level) "
                           "VALUES (999)")
        args = ["--port", "0", "--db", db, "--artifact-root",
                os.path.join(self.tmp, "art")]
        self.assertStartFails(args, want_in_stderr=("version", "newer",
                                                    "schema"))
        self.assertEqual(harness.db_rows(
            db, "SELECT level FROM greentrack_schema"), [(999,)])
        self.assertEqual(harness.db_rows(
            db, "SELECT to_regclass('runs') IS NULL"), [(True,)],
            "must not migrate a newer DB")

    def test_env_config(self):
        port = free_port()
        db = os.path.join(self.tmp, "env.db")
        art = os.path.join(self.tmp, "envart")
        srv = Server(default_args=False, tmpdir=self.tmp, env={
            "GREENTRACK_PORT": str(port), "GREENTRACK_DB": db,
            "GREENTRACK_ARTIFACT_ROOT": art, "GREENTRACK_LOG_LEVEL": "warn",
            "GREENTRACK_HOST": "127.0.0.1",
            "GREENTRACK_SERVE_ARTIFACTS": "0"}, label="env")
        srv.start()
        try:
            self.assertEqual(srv.port, port)
            self.assertEqual(srv.host, "127.0.0.1")
            c = srv.client()
            r = c.post("runs/create", {"experiment_id": "0"})
            self.assertEqual(r.status, 200, r)
            self.assertTrue(r.body["run"]["info"]["artifact_uri"]
                            .startswith("file://" + art), r.body)
            c.close()
            self.assertTrue(os.path.exists(db))
        finally:
            rc, el = srv.stop()
        self.assertEqual(rc, 0)

    def test_flag_overrides_env(self):
        env_port = free_port()
        flag_port = free_port()
        while flag_port == env_port:
            flag_port = free_port()
        srv = Server(args=["--port", str(flag_port)], tmpdir=self.tmp,
                     default_args=False, env={
                         "GREENTRACK_PORT": str(env_port),
                         "GREENTRACK_DB": os.path.join(self.tmp, "e.db"),
                         "GREENTRACK_ARTIFACT_ROOT": os.path.join(self.tmp,
                                                                  "a"),
                         "GREENTRACK_MAX_BODY_BYTES": "1024"},
                     label="override")
        srv.args += ["--max-body-bytes", "100000",
                     "--db", os.path.join(self.tmp, "f.db")]
        srv.start()
        try:
            self.assertEqual(srv.port, flag_port)
            c = srv.client()
            r = c.post("experiments/create", {"name": "n" * 300,
                                              "tags": [{"key": "k",
                                                        "value": "v" * 4000}]})
            self.assertEqual(r.status, 200, r)  # env limit 1024 overridden
            c.close()
            self.assertTrue(os.path.exists(os.path.join(self.tmp, "f.db")))
            self.assertFalse(os.path.exists(os.path.join(self.tmp, "e.db")))
        finally:
            rc, _ = srv.stop()
        self.assertEqual(rc, 0)

    def test_bad_env_value(self):
        self.assertStartFails(self.base_args()[2:],
                              env={"GREENTRACK_PORT": "notaport"})

    def test_durability_modes_start(self):
        for mode in ("full", "normal"):
            with self.subTest(mode=mode):
                srv = Server(args=["--durability", mode], tmpdir=self.tmp,
                             db=self.db_for(mode), label=mode)
                srv.start()
                try:
                    c = srv.client()
                    self.assertEqual(c.get("/health").status, 200)
                    c.close()
                finally:
                    rc, _ = srv.stop()
                self.assertEqual(rc, 0)

    def test_listening_line_exact(self):
        srv = Server(args=["--host", "127.0.0.1"], tmpdir=self.tmp,
                     db=self.db_for("ll"), label="ll")
        srv.start()
        try:
            self.assertEqual(srv.host, "127.0.0.1")
            self.assertGreater(srv.port, 0)
            c = srv.client()
            c.get("/health")
            c.close()
        finally:
            rc, el = srv.stop()
        self.assertEqual(rc, 0)
        self.assertLessEqual(el, STOP_TIMEOUT)
        self.assertEqual(srv.stdout_lines, [
            "greentrack-server listening on http://127.0.0.1:%d" % srv.port])

    def test_restart_keeps_data_and_one_default(self):
        db = self.db_for("restart")
        srv = Server(tmpdir=self.tmp, db=db, label="restart1").start()
        c = srv.client()
        eid = c.post("experiments/create",
                     {"name": "persist"}).body["experiment_id"]
        rid = c.post("runs/create", {"experiment_id": eid}).body["run"]["info"]["run_id"]
        c.post("runs/log-metric", {"run_id": rid, "key": "m", "value": 3.25,
                                   "timestamp": 9, "step": 2})
        c.close()
        self.assertEqual(srv.stop()[0], 0)
        srv2 = Server(tmpdir=self.tmp, db=db, label="restart2").start()
        try:
            c = srv2.client()
            b = c.get("metrics/get-history", {"run_id": rid,
                                              "metric_key": "m"}).body
            self.assertEqual(b["metrics"], [{"key": "m", "value": 3.25,
                                             "timestamp": 9, "step": 2}])
            b = c.post("experiments/search", {"filter": "name = 'Default'",
                                              "view_type": "ALL"}).body
            self.assertEqual(len(b["experiments"]), 1)
            c.close()
        finally:
            self.assertEqual(srv2.stop()[0], 0)


class EndpointTests(ServerTestCase):

    def test_health(self):
        r = self.get("/health")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.raw.strip(), b"OK")
        self.assertIn("text/plain", r.headers.get("content-type", ""))

    def test_version(self):
        r = self.get("/version")
        self.assertEqual(r.status, 200)
        v = read_version_file()
        if v:
            self.assertIn(v, r.raw.decode())

    def test_both_prefixes(self):
        for prefix in ("/api/2.0/mlflow/", "/ajax-api/2.0/mlflow/"):
            with self.subTest(prefix=prefix):
                r = self.get(prefix + "experiments/get",
                             {"experiment_id": "0"})
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body["experiment"]["name"], "Default")
                r = self.post(prefix + "experiments/create",
                              {"name": uniq("pfx")})
                self.assertEqual(r.status, 200, r)
                r = self.post(prefix + "runs/search",
                              {"experiment_ids": ["0"]})
                self.assertEqual(r.status, 200, r)

    def test_json_content_type(self):
        r = self.get("experiments/get", {"experiment_id": "0"})
        self.assertIn("application/json", r.headers["content-type"])
        r = self.get("experiments/get", {"experiment_id": "424242"})
        self.assertIn("application/json", r.headers["content-type"])

    def test_legacy_experiments_list(self):
        r = self.get("experiments/list")
        self.assertEqual(r.status, 200, r)
        self.assertIsInstance(r.body.get("experiments"), list)
        self.assertIn("Default", [e["name"] for e in r.body["experiments"]])

    def test_get_with_json_body(self):
        # GET with no query string falls back to a JSON body
        r = self.request("GET", "experiments/get",
                         b'{"experiment_id": "0"}',
                         {"Content-Type": "application/json"})
        self.assertIn(r.status, (200, 400), r)
        if r.status == 200:
            self.assertEqual(r.body["experiment"]["experiment_id"], "0")

    @staticmethod
    def complete_responses(data):
        """How many whole responses (headers and Content-Length body) 'data'
        holds."""
        n, pos = 0, 0
        while True:
            end = data.find(b"\r\n\r\n", pos)
            if end < 0:
                return n
            m = re.search(rb"(?im)^content-length:\s*(\d+)\s*$",
                          data[pos:end])
            body_end = end + 4 + (int(m.group(1)) if m else 0)
            if len(data) < body_end:
                return n
            n, pos = n + 1, body_end

    def raw_exchange(self, payload, want_responses, timeout=30):
        """Sends 'payload' and reads until 'want_responses' whole responses
        arrived (or the server closed, or 'timeout' bounding a hang)."""
        s = socket.create_connection((self.server.host, self.server.port),
                                     timeout=timeout)
        try:
            s.sendall(payload)
            data = b""
            while self.complete_responses(data) < want_responses:
                part = s.recv(65536)
                if not part:
                    break
                data += part
            return data
        finally:
            s.close()

    def test_pipelined_requests(self):
        req = (b"GET /api/2.0/mlflow/experiments/get?experiment_id=0 "
               b"HTTP/1.1\r\nHost: x\r\n\r\n")
        body = json.dumps({"name": uniq("pipe")}).encode()
        post = (b"POST /api/2.0/mlflow/experiments/create HTTP/1.1\r\n"
                b"Host: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n" % len(body)) + body
        data = self.raw_exchange(req + post + req, 3)
        self.assertEqual(data.count(b"HTTP/1.1 200"), 3, data[:2000])
        self.assertEqual(data.count(b'"Default"'), 2)
        self.assertEqual(data.count(b'"experiment_id"'), 3)

    def test_expect_100_continue(self):
        body = json.dumps({"name": uniq("expect")}).encode()
        s = socket.create_connection((self.server.host, self.server.port),
                                     timeout=5)
        try:
            s.sendall(b"POST /api/2.0/mlflow/experiments/create HTTP/1.1\r\n"
                      b"Host: x\r\nContent-Type: application/json\r\n"
                      b"Expect: 100-continue\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(body))
            first = s.recv(4096)
            self.assertTrue(first.startswith(b"HTTP/1.1 100"), first)
            s.sendall(body)
            data = b""
            while b"experiment_id" not in data:
                part = s.recv(4096)
                if not part:
                    break
                data += part
            self.assertIn(b"HTTP/1.1 200", data)
        finally:
            s.close()

    def test_head_health(self):
        r = self.request("HEAD", "/health")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.raw, b"")

    def test_keep_alive_many_requests(self):
        # all 200 on one connection (the client opens a new one when the
        # server closes it), whatever time they take
        c = Client(self.server.host, self.server.port)
        r = c.get("experiments/get", {"experiment_id": "0"})
        self.assertEqual(r.status, 200)
        conn, local = c.conn, c.conn.sock.getsockname()
        for _ in range(199):
            r = c.get("experiments/get", {"experiment_id": "0"})
            self.assertEqual(r.status, 200)
            self.assertIs(c.conn, conn, "the server closed the connection")
        self.assertEqual(c.conn.sock.getsockname(), local)
        c.close()

    def test_slow_client_does_not_block(self):
        socks = []
        try:
            for i in range(8):
                s = socket.create_connection((self.server.host,
                                              self.server.port), timeout=10)
                if i % 2:
                    s.sendall(b"POST /api/2.0/mlflow/runs/create HTTP/1.1\r\n"
                              b"Host: x\r\nContent-Ty")
                else:
                    s.sendall(b"POST /api/2.0/mlflow/runs/create HTTP/1.1\r\n"
                              b"Host: x\r\nContent-Type: application/json\r\n"
                              b"Content-Length: 100\r\n\r\n{\"exp")
                socks.append(s)
            time.sleep(0.2)
            # a request blocked by the slow clients would wait for their
            # 30 s connection timeout: the 15 s client timeout fails it,
            # however slow the machine otherwise is
            c = Client(self.server.host, self.server.port, timeout=15)
            for i in range(20):
                if i % 2:
                    r = c.get("experiments/get", {"experiment_id": "0"})
                else:
                    r = c.post("runs/create", {"experiment_id": "0"})
                self.assertEqual(r.status, 200, r)
                if i % 5 == 4:
                    c.close()  # also new connections
            c.close()
        finally:
            for s in socks:
                s.close()
        self.assertServerUp()


class ShutdownTests(ServerTestCase):

    def test_sigterm_with_open_connections(self):
        srv = Server(label="sigterm-open").start()
        idle = Client(srv.host, srv.port)
        self.assertEqual(idle.get("/health").status, 200)  # kept alive
        half = socket.create_connection((srv.host, srv.port), timeout=5)
        half.sendall(b"POST /api/2.0/mlflow/runs/create HTTP/1.1\r\n"
                     b"Host: x\r\nContent-Length: 50\r\n\r\n{")
        time.sleep(0.2)
        try:
            rc, el = srv.stop()
        finally:
            idle.close()
            half.close()
        self.assertEqual(rc, 0, srv.stderr_text()[-1000:])
        self.assertLessEqual(el, STOP_TIMEOUT)
        srv.cleanup()

    def test_sigint(self):
        import signal
        srv = Server(label="sigint").start()
        t0 = time.monotonic()
        srv.proc.send_signal(signal.SIGINT)
        rc = srv.wait_exit(STOP_TIMEOUT + 3)
        self.assertEqual(rc, 0)
        self.assertLessEqual(time.monotonic() - t0, STOP_TIMEOUT)
        srv.cleanup()


class WebRootTests(ServerTestCase):
    INDEX = b"<!doctype html><title>greentrack-test-index</title>"

    @classmethod
    def setUpClass(cls):
        cls.web = tempfile.mkdtemp(prefix="gt-web-")
        with open(os.path.join(cls.web, "index.html"), "wb") as f:
            f.write(cls.INDEX)
        with open(os.path.join(cls.web, "app.js"), "wb") as f:
            f.write(b"console.log('app');\n")
        os.makedirs(os.path.join(cls.web, "assets"))
        with open(os.path.join(cls.web, "assets", "style.css"), "wb") as f:
            f.write(b"body{}\n")
        cls.server_args = ["--web-root", cls.web]
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.web, ignore_errors=True)

    def test_index_for_deep_links(self):
        for path in ("/", "/some/deep/link", "/experiments/1/runs/abc",
                     "/index.html"):
            with self.subTest(path=path):
                r = self.get(path)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.raw, self.INDEX)
                self.assertIn("text/html", r.headers.get("content-type", ""))

    def test_static_files(self):
        r = self.get("/app.js")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.raw, b"console.log('app');\n")
        self.assertIn("javascript", r.headers.get("content-type", ""))
        r = self.get("/assets/style.css")
        self.assertEqual(r.raw, b"body{}\n")
        self.assertIn("text/css", r.headers.get("content-type", ""))

    def test_no_traversal(self):
        secret_dir = os.path.dirname(self.web)
        for path in ("/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
                     "/assets/../../../../../etc/passwd",
                     "/..%2f..%2f..%2fetc%2fpasswd", "/%2e%2e%2f" * 8 +
                     "etc/passwd", "//etc/passwd"):
            with self.subTest(path=path):
                r = self.request("GET", path)
                self.assertNotIn(b"root:", r.raw)
                self.assertIn(r.status, (200, 400, 403, 404), r)
                if r.status == 200:
                    self.assertEqual(r.raw, self.INDEX)
        del secret_dir

    def test_api_still_json(self):
        r = self.get("experiments/get", {"experiment_id": "0"})
        self.assertEqual(r.status, 200)
        self.assertError(self.get("/api/2.0/mlflow/nope"), 404,
                         "ENDPOINT_NOT_FOUND")
        self.assertEqual(self.get("/health").raw.strip(), b"OK")


class SigtermUnderLoadTests(ServerTestCase):

    def test_sigterm_during_load(self):
        srv = Server(label="sigterm-load").start()
        c = srv.client()
        rid = c.post("runs/create", {"experiment_id": "0"}).body["run"]["info"]["run_id"]
        c.close()
        stop = threading.Event()
        counts = [0] * 4

        def worker(i):
            cl = Client(srv.host, srv.port, timeout=5)
            n = 0
            while not stop.is_set():
                try:
                    if n % 3 == 2:
                        cl.post("runs/log-batch", {"run_id": rid, "metrics": [
                            {"key": "b%d" % i, "value": n, "timestamp": n,
                             "step": j} for j in range(50)]})
                    else:
                        cl.post("runs/log-metric", {
                            "run_id": rid, "key": "m%d" % i, "value": n,
                            "timestamp": now_ms(), "step": n})
                    counts[i] += 1
                except Exception:
                    cl.close()
                    if not srv.alive():
                        break
                    time.sleep(0.01)
                n += 1
            cl.close()

        threads = [threading.Thread(target=worker, args=(i,), daemon=True)
                   for i in range(4)]
        for t in threads:
            t.start()
        # 1.5 s of load, and on a slow machine until more than 10 calls
        # were answered (60 s at most)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 1.5 or (
                sum(counts) <= 10 and time.monotonic() - t0 < 60):
            time.sleep(0.05)
        rc, el = srv.stop()
        stop.set()
        for t in threads:
            t.join(10)
        self.assertGreater(sum(counts), 10, "load did not run")
        self.assertEqual(rc, 0, srv.stderr_text()[-2000:])
        self.assertLessEqual(el, STOP_TIMEOUT)
        # the DB is usable afterwards
        srv2 = Server(tmpdir=srv.tmpdir, db=srv.db,
                      artifact_root=srv.artifact_root,
                      label="sigterm-restart").start()
        try:
            c = srv2.client()
            r = c.get("runs/get", {"run_id": rid})
            self.assertEqual(r.status, 200, r)
            c.close()
        finally:
            self.assertEqual(srv2.stop()[0], 0)
        srv.cleanup()
