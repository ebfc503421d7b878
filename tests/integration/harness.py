#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""greentrack integration-test harness (Python 3 standard library only).

Usage:
    python3 tests/integration/harness.py tests/integration/test_X.py [-k PATTERN ...] [-q]

Loads the test module, runs its unittest tests against real greentrack-server
processes and prints, as the LAST line of output, "test_X: N passed, M failed"
(errors count as failed). Exit status 1 when anything failed.

Test modules import the helpers from here:

    from harness import ServerTestCase, Server, Client, uniq, now_ms

ServerTestCase starts one fresh server per test class (port 0, a temporary
directory holding the DB and the artifact root) in setUpClass and stops it
with SIGTERM in tearDownClass, asserting exit status 0 within STOP_TIMEOUT
(10 s).

The server binary is $GREENTRACK_BUILD/bin/greentrack-server, where
GREENTRACK_BUILD defaults to build/release (relative paths are taken from the
current directory, else from the repository root).

GREENTRACK_TEST_BACKEND=postgres runs a suite on PostgreSQL: every Server
made without an explicit db gets a fresh database on the cluster of
pgtest.py (GREENTRACK_TEST_PG), and the suite reports as "test_X-pg".
A test class or method that is about SQLite itself (its file, the sqlite3
shell, PRAGMAs) is marked @SQLITE_ONLY and is skipped, with that reason,
on the PostgreSQL pass.
"""

import base64
import http.client
import importlib.util
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# These bound a hang, never a speed: a busy machine only makes a test
# slower. HTTP_TIMEOUT stays below the server's 30 s connection timeout, so
# a call blocked behind a stalled connection still fails rather than being
# answered when the server drops that connection. STOP_TIMEOUT is also
# asserted (every server must exit 0 within it after SIGTERM): 10 s is
# docker stop's grace period, and a server that kept an idle keep-alive
# connection to its 30 s timeout would exceed it.
HTTP_TIMEOUT = 20.0        # every HTTP call
START_TIMEOUT = 30.0       # waiting for the "listening" line
STOP_TIMEOUT = 10.0        # SIGTERM -> exit
API = "/api/2.0/mlflow/"
# (https:// with --tls-cert, test_tls.py)
BACKEND = os.environ.get("GREENTRACK_TEST_BACKEND", "sqlite")
if BACKEND not in ("sqlite", "postgres"):
    raise SystemExit("GREENTRACK_TEST_BACKEND: sqlite or postgres, not "
                     + BACKEND)
ON_POSTGRES = BACKEND == "postgres"
SQLITE_ONLY = unittest.skipIf(
    ON_POSTGRES, "about SQLite itself (its file or shell); not on PostgreSQL")


def fresh_db_target(tmpdir):
    """Where a new server keeps its data: a file in tmpdir on SQLite, a
    fresh database on the test cluster on PostgreSQL."""
    if not ON_POSTGRES:
        return os.path.join(tmpdir, "greentrack.db")
    import pgtest
    return pgtest.fresh_database("gt_" + uuid.uuid4().hex[:16])


def _psql_script(sql, params):
    """'sql' with each ? replaced by psql's quoted variable :'pN', and the
    -v options that set them: psql quotes the values itself. The SQL of
    the tests holds no ? inside its literals."""
    parts = sql.split("?")
    if len(parts) - 1 != len(params):
        raise ValueError("%d placeholders, %d values: %s"
                         % (len(parts) - 1, len(params), sql))
    out, opts = parts[0], []
    for i, (value, rest) in enumerate(zip(params, parts[1:]), 1):
        if value is None:
            out += "NULL" + rest
            continue
        opts += ["-v", "p%d=%s" % (i, value)]
        out += ":'p%d'" % i + rest
    return out, opts


def db_rows(target, sql, params=()):
    """Runs one statement on a server's database behind its back ('target'
    is Server.db: a SQLite file or a PostgreSQL URL) and returns its rows
    as tuples of Python values (int, float, str, None). Placeholders are
    ?; values are passed bound (SQLite) or quoted by psql (PostgreSQL),
    where a text value is taken as the column's type."""
    if not target.startswith(("postgresql://", "postgres://")):
        import sqlite3
        con = sqlite3.connect(target, timeout=30)
        try:
            with con:
                return [tuple(r) for r in con.execute(sql, params)]
        finally:
            con.close()
    import pgtest
    body, opts = _psql_script(sql.strip().rstrip(";"), params)
    query = re.match(r"(?is)\s*(select|with|values)\b", body)
    returning = query or re.search(r"(?is)\breturning\b", body)
    # rows come back as JSON, which keeps their types; data-modifying
    # statements with RETURNING go in a CTE
    if query:
        body = ("SELECT coalesce(json_agg(to_json(q)), '[]') FROM (%s) AS q"
                % body)
    elif returning:
        body = ("WITH q AS (%s) SELECT coalesce(json_agg(to_json(q)), '[]') "
                "FROM q" % body)
    out = subprocess.run(
        [pgtest.PSQL, "-q", "-A", "-t", "-X", "-v", "ON_ERROR_STOP=1",
         "-d", target] + opts + ["-f", "-"], input=body + ";\n",
        check=True, capture_output=True, text=True)
    if not returning:
        return []
    rows = json.loads(out.stdout.strip() or "[]",
                      object_pairs_hook=lambda pairs: tuple(
                          v for _, v in pairs))
    return list(rows)


def db_execute(target, sql, params=()):
    """db_rows for a statement whose rows are not wanted."""
    db_rows(target, sql, params)


class WriteLock:
    """Holds the lock every write of a server needs, from another session,
    until release(): SQLite's write lock (BEGIN IMMEDIATE) on a file; on
    PostgreSQL the table greentrack_generation, which every server's
    write transaction updates last (db_bump_data_version), locked against
    writes from an open psql transaction. Readers are not blocked."""

    def __init__(self, target):
        self.target = target
        self.con = self.proc = None
        if not target.startswith(("postgresql://", "postgres://")):
            import sqlite3
            self.con = sqlite3.connect(target, timeout=10,
                                       isolation_level=None)
            self.con.execute("BEGIN IMMEDIATE")
            return
        import pgtest
        self.proc = subprocess.Popen(
            [pgtest.PSQL, "-q", "-A", "-t", "-X", "-v", "ON_ERROR_STOP=1",
             "-d", target], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True)
        self.proc.stdin.write("BEGIN;\nLOCK TABLE greentrack_generation "
                              "IN EXCLUSIVE MODE;\n\\echo locked\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if line.strip() != "locked":
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("psql could not take the write lock")

    def release(self, commit=True):
        """Ends the holding transaction (COMMIT or ROLLBACK); idempotent."""
        if self.con:
            self.con.execute("COMMIT" if commit else "ROLLBACK")
            self.con.close()
            self.con = None
        if self.proc:
            self.proc.stdin.write("COMMIT;\n" if commit else "ROLLBACK;\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=HTTP_TIMEOUT)
            self.proc.stdout.close()
            self.proc = None


LISTEN_RE = re.compile(r"^greentrack-server listening on https?://(\S+):(\d+)$")

MAX_DOUBLE = 1.7976931348623157e308


def server_binary():
    build = os.environ.get("GREENTRACK_BUILD", "build/release")
    cands = [build] if os.path.isabs(build) else [
        os.path.abspath(build), os.path.join(ROOT, build)]
    for c in cands:
        p = os.path.join(c, "bin", "greentrack-server")
        if os.path.exists(p):
            return p
    return os.path.join(cands[-1], "bin", "greentrack-server")


def read_version_file():
    try:
        with open(os.path.join(ROOT, "VERSION")) as f:
            return f.read().strip()
    except OSError:
        return None


_counter = [0]
_counter_lock = threading.Lock()


def uniq(prefix="t"):
    """A name unique within this process and across runs."""
    with _counter_lock:
        _counter[0] += 1
        n = _counter[0]
    return "%s-%d-%s" % (prefix, n, uuid.uuid4().hex[:8])


def now_ms():
    return int(time.time() * 1000)


# Settings every server of this test process gets (before its own env):
# suites whose raw-socket requests send a made-up "Host: x" allow it with
# SERVER_ENV_DEFAULTS.update(RAW_HOST_ENV), as the default --allowed-hosts
# (the server's own names and port) answers 421 to it (browser_guard.h).
SERVER_ENV_DEFAULTS = {}
RAW_HOST_ENV = {"GREENTRACK_ALLOWED_HOSTS": "x,127.0.0.1,localhost,[::1]"}


def clean_env(extra=None):
    """The environment for a server: ours minus every GREENTRACK_* variable
    (so the caller's settings cannot leak in), plus SERVER_ENV_DEFAULTS and
    'extra'."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GREENTRACK_")}
    env.update(SERVER_ENV_DEFAULTS)
    # No test may reach a real grid-intensity provider: unless a test
    # points them at a fake, they go to a closed loopback port.
    for var in ("GREENTRACK_UKCI_URL", "GREENTRACK_ELECTRICITYMAPS_URL",
                "GREENTRACK_WATTTIME_URL"):
        env[var] = "http://127.0.0.1:9"
    if extra:
        env.update(extra)
    return env


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


# All servers started by this process, for printing stderr on failure.
ALL_SERVERS = []


class ServerStartError(Exception):
    pass


class Server:
    """One greentrack-server process.

    Server(args=None, tmpdir=None, db=None, artifact_root=None, env=None,
           default_args=True)
    default_args adds --port 0 --db DB --artifact-root DIR --log-level warn.
    """

    def __init__(self, args=None, tmpdir=None, db=None, artifact_root=None,
                 env=None, default_args=True, label=None):
        self.own_tmp = tmpdir is None
        self.tmpdir = tmpdir or tempfile.mkdtemp(prefix="gt-it-")
        self.db = db or fresh_db_target(self.tmpdir)
        self.artifact_root = artifact_root or os.path.join(self.tmpdir,
                                                           "artifacts")
        os.makedirs(self.artifact_root, exist_ok=True)
        self.args = list(args or [])
        self.env = env
        self.default_args = default_args
        self.label = label or "server"
        self.proc = None
        self.host = None
        self.port = None
        self.stdout_lines = []
        self.stderr_path = None
        self._stderr_f = None
        self._lines = queue.Queue()
        self.exit_code = None
        ALL_SERVERS.append(self)

    # -- process ---------------------------------------------------------
    def command(self):
        cmd = [server_binary()]
        if self.default_args:
            cmd += ["--port", "0", "--db", self.db, "--artifact-root",
                    self.artifact_root, "--log-level", "warn"]
        return cmd + self.args

    def spawn(self):
        """Starts the process without waiting for the listening line."""
        self.stderr_path = os.path.join(
            self.tmpdir, "stderr-%s.log" % uuid.uuid4().hex[:6])
        self._stderr_f = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            self.command(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=self._stderr_f, env=clean_env(self.env), cwd=self.tmpdir)
        t = threading.Thread(target=self._pump, daemon=True)
        t.start()
        return self

    def _pump(self):
        for raw in iter(self.proc.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.stdout_lines.append(line)
            self._lines.put(line)
        self._lines.put(None)

    def start(self, timeout=START_TIMEOUT):
        self.spawn()
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise ServerStartError(
                    "no listening line within %.0fs; stderr: %s"
                    % (timeout, self.stderr_text()[-2000:]))
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                rc = self.proc.wait(timeout=5)
                raise ServerStartError(
                    "server exited (%s) before listening; stdout=%r stderr: %s"
                    % (rc, self.stdout_lines, self.stderr_text()[-2000:]))
            m = LISTEN_RE.match(line)
            if m:
                self.host, self.port = m.group(1), int(m.group(2))
                return self

    def wait_exit(self, timeout):
        """Waits for the process to exit by itself; returns the code or None."""
        try:
            self.exit_code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        self._close_stderr()
        return self.exit_code

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM; returns (exit_code, seconds). exit_code is None when the
        process had to be SIGKILLed after 'timeout' (+ grace)."""
        if self.proc is None:
            return (None, 0.0)
        if self.proc.poll() is not None:
            self.exit_code = self.proc.returncode
            self._close_stderr()
            return (self.exit_code, 0.0)
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout + 3)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self._close_stderr()
            self.exit_code = None
            return (None, time.monotonic() - t0)
        el = time.monotonic() - t0
        self.exit_code = rc
        self._close_stderr()
        return (rc, el)

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._close_stderr()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def _close_stderr(self):
        if self._stderr_f is not None:
            try:
                self._stderr_f.close()
            except OSError:
                pass

    def stderr_text(self):
        if not self.stderr_path:
            return ""
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def cleanup(self):
        self.kill()
        if self.own_tmp:
            shutil.rmtree(self.tmpdir, ignore_errors=True)

    def client(self):
        return Client(self.host, self.port)

    def url(self, path=""):
        return "http://%s:%d%s" % (self.host, self.port, path)


class Response:
    """(status, body, headers) also usable by attribute."""

    def __init__(self, status, body, headers, raw):
        self.status = status
        self.body = body
        self.headers = headers
        self.raw = raw

    def __iter__(self):
        return iter((self.status, self.body, self.headers))

    def __repr__(self):
        return "Response(%d, %r)" % (self.status, self.raw[:500])


class Client:
    """A keep-alive HTTP client for one server. Not thread-safe: use one per
    thread. Every call has a timeout (HTTP_TIMEOUT unless given)."""

    def __init__(self, host, port, timeout=HTTP_TIMEOUT, keep_alive=True):
        self.host = host
        self.port = port
        self.timeout = timeout
        self.keep_alive = keep_alive
        self.conn = None

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    @staticmethod
    def full_path(path):
        if path.startswith("/"):
            return path
        return API + path

    def request(self, method, path, body=None, headers=None, raw_path=False):
        hdrs = {} if headers is None else dict(headers)
        hdrs = {k: v for k, v in hdrs.items() if v is not None}
        url = path if raw_path else self.full_path(path)
        for attempt in (0, 1):
            reused = self.conn is not None
            if self.conn is None:
                self.conn = http.client.HTTPConnection(
                    self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, url, body=body, headers=hdrs)
                resp = self.conn.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, BrokenPipeError,
                    ConnectionResetError) as e:
                self.close()
                if reused and attempt == 0:
                    continue  # stale keep-alive connection: retry once
                raise e
            except Exception:
                self.close()
                raise
            break
        headers_out = {k.lower(): v for k, v in resp.getheaders()}
        if not self.keep_alive or resp.will_close:
            self.close()
        ctype = headers_out.get("content-type", "")
        text = data.decode("utf-8", "replace")
        parsed = text
        if "json" in ctype or (text[:1] in ("{", "[")):
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = text
        return Response(resp.status, parsed, headers_out, data)

    def post(self, path, obj=None, headers=None):
        if isinstance(obj, (bytes, bytearray)):
            body = bytes(obj)
        elif isinstance(obj, str):
            body = obj.encode("utf-8")
        else:
            body = json.dumps({} if obj is None else obj).encode("utf-8")
        hdrs = {"Content-Type": "application/json"}
        if headers:
            hdrs.update(headers)
        return self.request("POST", path, body=body, headers=hdrs)

    def get(self, path, query=None, headers=None):
        url = self.full_path(path)
        if query:
            qs = urllib.parse.urlencode(query, doseq=True)
            url += ("&" if "?" in url else "?") + qs
        return self.request("GET", url, headers=headers)


class ServerTestCase(unittest.TestCase):
    """Base class: one fresh server per test class.

    Class attributes: server_args (extra CLI args), server_env (extra env).
    In tests: self.post(path, obj), self.get(path, query), plus helpers.
    """

    server_args = []
    server_env = None
    maxDiff = 4000

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = Server(args=cls.server_args, env=cls.server_env,
                            label=cls.__name__)
        try:
            cls.server.start()
        except Exception:
            cls.server.cleanup()
            raise
        cls.client = cls.server.client()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.client.close()
            rc, el = cls.server.stop()
            if rc != 0 or el > STOP_TIMEOUT:
                raise AssertionError(
                    "server %s: SIGTERM gave exit %r after %.2fs (want 0 "
                    "within %.0fs)" % (cls.__name__, rc, el, STOP_TIMEOUT))
        finally:
            if cls.server.exit_code == 0 and not _had_failures():
                cls.server.cleanup()
            super().tearDownClass()

    # -- HTTP ------------------------------------------------------------
    def post(self, path, obj=None, headers=None):
        return self.client.post(path, obj, headers)

    def get(self, path, query=None, headers=None):
        return self.client.get(path, query, headers)

    def request(self, method, path, body=None, headers=None):
        return self.client.request(method, path, body, headers)

    # -- assertions ------------------------------------------------------
    def ok(self, resp):
        """Asserts 200 and returns the parsed body."""
        self.assertEqual(resp.status, 200, "expected 200, got %r" % (resp,))
        self.assertIsInstance(resp.body, dict, "body not a JSON object: %r"
                              % (resp,))
        return resp.body

    def assertError(self, resp, status, code=None, msg=None):
        self.assertEqual(resp.status, status, "expected %d, got %r"
                         % (status, resp))
        self.assertIsInstance(resp.body, dict, "error body not JSON: %r"
                              % (resp,))
        self.assertIn("application/json",
                      resp.headers.get("content-type", ""))
        if code is not None:
            self.assertEqual(resp.body.get("error_code"), code, repr(resp))
        self.assertIsInstance(resp.body.get("message"), str, repr(resp))
        if msg is not None:
            self.assertIn(msg, resp.body.get("message", ""), repr(resp))
        return resp.body

    def assertBadParam(self, resp, msg=None):
        return self.assertError(resp, 400, "INVALID_PARAMETER_VALUE", msg)

    def assertNotFound(self, resp, msg=None):
        return self.assertError(resp, 404, "RESOURCE_DOES_NOT_EXIST", msg)

    # -- fixtures --------------------------------------------------------
    def create_experiment(self, name=None, **kw):
        body = {"name": name or uniq("exp")}
        body.update(kw)
        b = self.ok(self.post("experiments/create", body))
        self.assertIsInstance(b.get("experiment_id"), str)
        return b["experiment_id"]

    def create_run(self, experiment_id="0", **kw):
        body = {"experiment_id": experiment_id, "start_time": now_ms()}
        body.update(kw)
        b = self.ok(self.post("runs/create", body))
        return b["run"]

    def get_run(self, run_id):
        return self.ok(self.get("runs/get", {"run_id": run_id}))["run"]

    def get_experiment(self, experiment_id):
        return self.ok(self.get("experiments/get",
                                {"experiment_id": experiment_id}))["experiment"]

    def history(self, run_id, key, **q):
        query = {"run_id": run_id, "metric_key": key}
        query.update(q)
        return self.ok(self.get("metrics/get-history", query)).get(
            "metrics", [])

    def search_runs(self, experiment_ids, filter=None, order_by=None, **kw):
        body = {"experiment_ids": list(experiment_ids)}
        if filter is not None:
            body["filter"] = filter
        if order_by is not None:
            body["order_by"] = order_by
        body.update(kw)
        return self.post("runs/search", body)

    def search_run_ids(self, experiment_ids, filter=None, order_by=None,
                       **kw):
        b = self.ok(self.search_runs(experiment_ids, filter, order_by, **kw))
        return [r["info"]["run_id"] for r in b.get("runs", [])]

    @staticmethod
    def tags_of(obj):
        return {t["key"]: t.get("value", "") for t in obj.get("tags", [])}

    @staticmethod
    def params_of(run):
        return {p["key"]: p.get("value", "")
                for p in run.get("data", {}).get("params", [])}

    @staticmethod
    def metrics_of(run):
        return {m["key"]: m for m in run.get("data", {}).get("metrics", [])}

    @staticmethod
    def run_tags(run):
        return {t["key"]: t.get("value", "")
                for t in run.get("data", {}).get("tags", [])}

    def assertServerUp(self):
        r = self.client.get("/health")
        self.assertEqual(r.status, 200, repr(r))


def b64(s):
    return base64.b64encode(s.encode()).decode()


# ---------------------------------------------------------------------------
# runner

_STATE = {"failed": False}


def _had_failures():
    return _STATE["failed"]


class _Result(unittest.TextTestResult):
    def addFailure(self, test, err):
        _STATE["failed"] = True
        super().addFailure(test, err)

    def addError(self, test, err):
        _STATE["failed"] = True
        super().addError(test, err)

    def addUnexpectedSuccess(self, test):
        _STATE["failed"] = True
        super().addUnexpectedSuccess(test)


def _iter_tests(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from _iter_tests(t)
        else:
            yield t


def main(argv):
    # Make "from harness import ..." give this very module.
    sys.modules.setdefault("harness", sys.modules[__name__])
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    args = argv[1:]
    if not args:
        print(__doc__)
        return 2
    path = args[0]
    patterns = []
    verbosity = 2
    i = 1
    while i < len(args):
        if args[i] == "-k" and i + 1 < len(args):
            patterns.append(args[i + 1])
            i += 2
            continue
        if args[i] == "-q":
            verbosity = 1
        i += 1
    name = os.path.splitext(os.path.basename(path))[0]
    if ON_POSTGRES:
        name += "-pg"
    t0 = time.monotonic()
    loader = unittest.TestLoader()
    if patterns:
        loader.testNamePatterns = ["*%s*" % p if "*" not in p else p
                                   for p in patterns]
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
        suite = loader.loadTestsFromModule(mod)
    except Exception:
        import traceback
        traceback.print_exc()
        sys.stdout.flush()
        print("%s: 0 passed, 1 failed" % name)
        return 1

    per_class = {}
    for t in _iter_tests(suite):
        key = "%s.%s" % (type(t).__module__, type(t).__qualname__)
        per_class[key] = per_class.get(key, 0) + 1
    if not os.path.exists(server_binary()):
        print("warning: server binary %s does not exist" % server_binary())

    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=verbosity,
                                     resultclass=_Result)
    result = runner.run(suite)

    failed_tests = set()
    extra_failed = 0
    for holder, _tb in (result.failures + result.errors):
        if isinstance(holder, unittest.TestCase):
            failed_tests.add(holder.id())
            continue
        desc = getattr(holder, "description", str(holder))
        m = re.match(r"(setUpClass|tearDownClass|setUpModule|tearDownModule)"
                     r" \((.*)\)", desc)
        if m and m.group(1) == "setUpClass":
            extra_failed += per_class.get(m.group(2), 1)
        else:
            extra_failed += 1
    failed_tests.update(t.id() for t in result.unexpectedSuccesses)
    skipped = len(result.skipped)
    n_failed = len(failed_tests) + extra_failed
    n_passed = max(0, result.testsRun - len(failed_tests) - skipped)

    if n_failed:
        for s in ALL_SERVERS:
            err = s.stderr_text()
            if err.strip():
                print("---- stderr of %s (%s), last 3000 chars ----"
                      % (s.label, s.command()[0]))
                print(err[-3000:])
    sys.stdout.flush()
    sys.stderr.flush()
    print("elapsed %.1fs" % (time.monotonic() - t0))
    print("%s: %d passed, %d failed" % (name, n_passed, n_failed))
    sys.stdout.flush()
    return 1 if n_failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
