# SPDX-License-Identifier: MIT
"""greentrack-server migrate: a SQLite installation moved to PostgreSQL.

One SQLite server (--auth, the fake grid providers) is filled with a bit
of everything: experiments with tags and a custom artifact location, runs
with params, tags, 1000-point histories holding NaN, +-Infinity and -0.0,
inputs, heartbeats, energy samples, grid periods, registered models with
versions, tags and aliases, users, a permission and a token. It is stopped,
and each test migrates it into a fresh PostgreSQL database
(GREENTRACK_TEST_PG, see pgtest.py), then checks the command's own report
and what a server started on the target answers through the REST API
against the SQLite server's answers. Also: SIGKILL in the middle and
resume, the lock, a non-empty target, --append, --verify-only catching a
row changed behind its back, a source at another schema level.
"""

import base64
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
import unittest

from fake_grid import FakeGrid
from harness import Server, server_binary
from pgtest import PSQL, fresh_database

GT = "/api/2.0/greentrack/"
ADMIN, ADMIN_PW = "root", "root-pw-1"
USER, USER_PW = "alice", "alice pw\twith tab"
POINTS = 1000

FAKE = FakeGrid()
STATE = {}


def basic(user, pw):
    tok = base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()
    return {"Authorization": "Basic " + tok}


ADMIN_H = basic(ADMIN, ADMIN_PW)


def server_env():
    env = FAKE.server_env()
    env.update({"GREENTRACK_ADMIN_USERNAME": ADMIN,
                "GREENTRACK_ADMIN_PASSWORD": ADMIN_PW})
    return env


def call(client, method, path, obj=None, headers=None):
    hdrs = dict(ADMIN_H if headers is None else headers)
    body = None
    if obj is not None:
        body = json.dumps(obj).encode()
        hdrs["Content-Type"] = "application/json"
    url = path if path.startswith("/") else "/api/2.0/mlflow/" + path
    return client.request(method, url, body, hdrs)


def ok(resp):
    assert resp.status == 200, resp
    return resp.body


def psql(url, sql):
    out = subprocess.run([PSQL, "-qAtX", "-v", "ON_ERROR_STOP=1", "-d", url,
                          "-c", sql], capture_output=True, text=True)
    if out.returncode != 0:
        raise AssertionError("psql: " + out.stderr)
    return out.stdout.strip()


def migrate(*args, timeout=120):
    return subprocess.run([server_binary(), "migrate"] + list(args),
                          capture_output=True, text=True, timeout=timeout)


def history_values(n, phase):
    """Values with every special the history must keep."""
    vals = []
    for i in range(n):
        r = (i + phase) % 10
        if r == 0:
            vals.append("NaN")
        elif r == 1:
            vals.append("Infinity")
        elif r == 2:
            vals.append("-Infinity")
        elif r == 3:
            vals.append(-0.0)
        else:
            vals.append((i * 0.1 + phase) / 3.0 * (-1) ** i)
    return vals


def fill(c):
    """Everything a greentrack database can hold, through the API."""
    exp = ok(call(c, "POST", "experiments/create", {
        "name": "móvil\ttab\nline\\back",
        "artifact_location": "s3://bucket/some where/exp",
        "tags": [{"key": "team", "value": "ml\tops\n\\"}]}))["experiment_id"]
    exp2 = ok(call(c, "POST", "experiments/create",
                   {"name": "second"}))["experiment_id"]
    runs = []
    for i, e in enumerate((exp, exp, exp2)):
        run = ok(call(c, "POST", "runs/create", {
            "experiment_id": e, "start_time": 1700000000000 + i,
            "run_name": "run %d" % i,
            "tags": [{"key": "mlflow.user", "value": "u%d" % i}]}))["run"]
        rid = run["info"]["run_id"]
        runs.append(rid)
        for key, phase in (("loss", i), ("acc: x/y", i + 5)):
            vals = history_values(POINTS, phase)
            for start in range(0, POINTS, 500):
                ms = [{"key": key, "value": vals[j],
                       "timestamp": 1700000000000 + j, "step": j}
                      for j in range(start, start + 500)]
                ok(call(c, "POST", "runs/log-batch",
                        {"run_id": rid, "metrics": ms}))
        ok(call(c, "POST", "runs/log-batch", {
            "run_id": rid,
            "params": [{"key": "lr", "value": "0.%d" % (i + 1)},
                       {"key": "path", "value": "C:\\data\\new\n"}],
            "tags": [{"key": "note", "value": "tab\there \\N null?"}]}))
        ok(call(c, "POST", "runs/log-inputs", {
            "run_id": rid, "datasets": [{"dataset": {
                "name": "train", "digest": "d%d" % i,
                "source_type": "local", "source": "/data/train",
                "schema": '{"a": 1}'},
                "tags": [{"key": "mlflow.data.context",
                          "value": "training"}]}]}))
        ok(call(c, "POST", GT + "runs/log-energy", {"run_id": rid, "samples": [
            {"start_time": 1700000000000 + 60000 * k,
             "end_time": 1700000060000 + 60000 * k,
             "cpu_energy_j": 1234.5 + k / 3.0, "cpu_method": "rapl",
             "gpu_energy_j": 0.1 * k, "gpu_method": "nvml-energy"}
            for k in range(5)]}))
        ok(call(c, "POST", GT + "runs/heartbeat", {"run_id": rid}))
    ok(call(c, "POST", "runs/update", {"run_id": runs[2],
                                        "status": "FINISHED",
                                        "end_time": 1700000999000}))
    ok(call(c, "POST", "runs/delete", {"run_id": runs[1]}))
    # registry
    ok(call(c, "POST", "registered-models/create", {
        "name": "model\tone", "description": "a model",
        "tags": [{"key": "k", "value": "v"}]}))
    for i in range(2):
        ok(call(c, "POST", "model-versions/create", {
            "name": "model\tone", "source": "runs:/%s/model" % runs[i],
            "run_id": runs[i], "tags": [{"key": "n", "value": str(i)}]}))
    ok(call(c, "POST", "registered-models/alias",
            {"name": "model\tone", "alias": "champion", "version": "2"}))
    # auth
    ok(call(c, "POST", "users/create", {"username": USER,
                                         "password": USER_PW}))
    ok(call(c, "POST", "experiments/permissions/create", {
        "experiment_id": exp, "username": USER, "permission": "EDIT"}))
    token = ok(call(c, "POST", GT + "tokens/create", {"name": "ci"},
                    basic(USER, USER_PW)))["secret"]
    # the grid cache (through the fake providers)
    FAKE.uk_regional_history[5] = FakeGrid.relative_periods(
        [140, 150.25], base_ms=int(time.time() * 1000) - 2 * 3600000)
    ok(call(c, "POST", GT + "grid/refresh?zone=GB-5&kind=actual", {}))
    return {"exp": exp, "exp2": exp2, "runs": runs, "token": token}


def sort_lists(obj):
    """JSON with lists of objects sorted, for order-free comparison."""
    if isinstance(obj, dict):
        return {k: sort_lists(v) for k, v in obj.items()}
    if isinstance(obj, list):
        items = [sort_lists(v) for v in obj]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    return obj


def answers(c, data):
    """What a server says about the filled data (order-free)."""
    out = {}
    for rid in data["runs"]:
        out["run " + rid] = ok(call(c, "GET", "runs/get?run_id=" + rid))
        for key in ("loss", "acc: x/y"):
            from urllib.parse import quote
            h = ok(call(c, "GET", "metrics/get-history?run_id=%s&metric_key=%s"
                        "&max_results=25000" % (rid, quote(key))))
            out["history %s %s" % (rid, key)] = h
        out["carbon " + rid] = ok(call(c, "GET", GT + "runs/carbon?run_id="
                                       + rid))
    for e in ("0", data["exp"], data["exp2"]):
        out["exp " + e] = ok(call(c, "GET",
                                  "experiments/get?experiment_id=" + e))
    for view in ("ACTIVE_ONLY", "DELETED_ONLY", "ALL"):
        out["search " + view] = ok(call(c, "POST", "runs/search", {
            "experiment_ids": [data["exp"], data["exp2"]],
            "run_view_type": view, "filter": "metrics.loss >= -1000",
            "order_by": ["metrics.loss DESC"], "max_results": 100}))
    out["model"] = ok(call(c, "GET", "registered-models/get?name=model%09one"))
    out["versions"] = ok(call(c, "GET", "model-versions/search?filter="
                              "name%3D%27model%09one%27"))
    out["users"] = ok(call(c, "GET", GT + "users/list"))
    out["grid"] = ok(call(c, "GET", GT + "grid/intensity?zone=GB-5&start_ms=0"))
    return sort_lists(out)


def setUpModule():
    FAKE.start()
    STATE["dir"] = tempfile.mkdtemp(prefix="gt-migrate-")
    s = Server(args=["--auth"], tmpdir=STATE["dir"],
               db=os.path.join(STATE["dir"], "source.db"),
               env=server_env()).start()
    try:
        data = fill(s.client())
        STATE["data"] = data
        STATE["answers"] = answers(s.client(), data)
    finally:
        rc, _ = s.stop()
    assert rc == 0, s.stderr_text()
    STATE["db"] = s.db
    STATE["artifacts"] = s.artifact_root


def tearDownModule():
    FAKE.stop()
    shutil.rmtree(STATE.get("dir", ""), ignore_errors=True)


class Migrate(unittest.TestCase):
    maxDiff = None

    def pg_server(self, url):
        s = Server(args=["--auth"], tmpdir=STATE["dir"], db=url,
                   artifact_root=STATE["artifacts"], env=server_env())
        s.own_tmp = False
        return s.start()

    def migrated(self, name, *extra):
        url = fresh_database(name)
        out = migrate("--from", STATE["db"], "--to", url, *extra)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertRegex(out.stdout, r"all \d+ tables match")
        return url, out

    def test_same_answers_on_postgresql(self):
        url, out = self.migrated("mig_full")
        # the report names every table, metrics with all its points
        n_metrics = 3 * 2 * POINTS
        self.assertRegex(out.stdout, r"\nmetrics +%d +%d +match\n"
                         % (n_metrics, n_metrics))
        for table in ("energy_samples", "grid_intensity", "model_versions",
                      "registered_model_aliases", "users", "tokens",
                      "run_heartbeats", "datasets", "experiment_permissions"):
            self.assertRegex(out.stdout, r"\n%s +[1-9]\d* +[1-9]\d* +match\n"
                             % table)
        s = self.pg_server(url)
        try:
            c = s.client()
            self.assertEqual(answers(c, STATE["data"]), STATE["answers"])
            # the same password and the same token
            r = call(c, "POST", GT + "auth/login",
                     {"username": USER, "password": USER_PW}, {})
            self.assertEqual(r.status, 200, r)
            r = c.request("GET", "/api/2.0/mlflow/experiments/get?"
                          "experiment_id=" + STATE["data"]["exp"], None,
                          {"Authorization": "Bearer " + STATE["data"]["token"]})
            self.assertEqual(r.status, 200, r)
            # new rows take ids past the copied ones
            e = ok(call(c, "POST", "experiments/create", {"name": "new"}))
            self.assertGreater(int(e["experiment_id"]),
                               int(STATE["data"]["exp2"]))
            ok(call(c, "POST", "registered-models/create", {"name": "m2"}))
            ok(call(c, "POST", "users/create", {"username": "bob",
                                                 "password": "x"}))
            ok(call(c, "POST", GT + "tokens/create", {"name": "t2"}))
        finally:
            rc, _ = s.stop()
        self.assertEqual(rc, 0, s.stderr_text())
        # artifact references are copied as they are
        self.assertEqual(psql(url, "SELECT artifact_location FROM experiments"
                              " WHERE experiment_id = %s"
                              % STATE["data"]["exp"]),
                         "s3://bucket/some where/exp")
        # running it again copies nothing and still verifies (the new
        # rows above now differ: exit 1)
        again = migrate("--from", STATE["db"], "--to", url)
        self.assertEqual(again.returncode, 1, again.stdout + again.stderr)
        self.assertIn("MISMATCH", again.stdout)
        self.assertNotIn("copied experiments", again.stdout)

    def test_sigkill_and_resume(self):
        url = fresh_database("mig_kill")
        kills = 0
        for attempt in range(40):
            p = subprocess.Popen([server_binary(), "migrate", "--from",
                                  STATE["db"], "--to", url,
                                  "--batch-rows", "37"],
                                 stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 60
            target = (attempt + 1) * 300
            while p.poll() is None and time.monotonic() < deadline:
                try:
                    got = psql(url, "SELECT coalesce(sum(rows_copied), 0) "
                               "FROM greentrack_migrate")
                except AssertionError:
                    got = "0"
                if int(got or 0) >= target:
                    p.send_signal(signal.SIGKILL)
                    kills += 1
                    break
                time.sleep(0.005)
            p.wait()
            done = psql(url, "SELECT bool_and(done) FROM greentrack_migrate")
            if done == "t":
                break
            # what is committed is whole chunks and their progress
            copied = psql(url, "SELECT rows_copied FROM greentrack_migrate "
                          "WHERE tbl = 'metrics'")
            self.assertEqual(int(psql(url, "SELECT count(*) FROM metrics")),
                             int(copied))
            if kills >= 3:
                break
        self.assertGreaterEqual(kills, 1)
        out = migrate("--from", STATE["db"], "--to", url,
                      "--batch-rows", "37")
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertRegex(out.stdout, r"all \d+ tables match")
        self.assertEqual(int(psql(url, "SELECT count(*) FROM metrics")),
                         3 * 2 * POINTS)

    def test_lock_keeps_two_migrations_apart(self):
        url = fresh_database("mig_lock")
        holder = subprocess.Popen([PSQL, "-qAtX", "-d", url],
                                  stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        try:
            holder.stdin.write("SELECT pg_advisory_lock(%d);\n"
                               "SELECT 'held';\n" % 0x67746d6967726174)
            holder.stdin.flush()
            self.assertEqual(holder.stdout.readline().strip(), "")
            self.assertEqual(holder.stdout.readline().strip(), "held")
            out = migrate("--from", STATE["db"], "--to", url)
            self.assertEqual(out.returncode, 1)
            self.assertIn("another migrate is running", out.stderr)
        finally:
            holder.stdin.close()
            holder.wait()

    def test_refuses_a_non_empty_target(self):
        url = fresh_database("mig_busy")
        s = self.pg_server(url)
        try:
            ok(call(s.client(), "POST", "experiments/create",
                    {"name": "already here"}))
        finally:
            s.stop()
        out = migrate("--from", STATE["db"], "--to", url)
        self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
        self.assertIn("not empty", out.stderr)
        self.assertIn("--append", out.stderr)
        # nothing was copied
        self.assertEqual(psql(url, "SELECT count(*) FROM runs"), "0")
        # --append: the target's experiment 1 is another one: refused,
        # nothing of that chunk written
        out = migrate("--from", STATE["db"], "--to", url, "--append")
        self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
        self.assertIn("experiments", out.stderr)
        self.assertEqual(psql(url, "SELECT name FROM experiments "
                              "ORDER BY experiment_id"),
                         "Default\nalready here")

    def test_append(self):
        # a finished migration appended again: every row is identical
        url, _ = self.migrated("mig_append")
        psql(url, "DROP TABLE greentrack_migrate")
        out = migrate("--from", STATE["db"], "--to", url, "--append")
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("source rows in target", out.stdout)
        self.assertRegex(out.stdout, r"all \d+ tables match")
        # rows the target has besides the source's stay; a key clash
        # with other values is refused
        url = fresh_database("mig_append2")
        psql(url, "SELECT 1")  # exists
        mig = migrate("--from", STATE["db"], "--to", url, "--verify-only")
        self.assertEqual(mig.returncode, 1)  # empty target: mismatches
        psql(url, "INSERT INTO experiments (experiment_id, name, "
             "artifact_location, creation_time, last_update_time) VALUES "
             "(0, 'Default', 'x', 1, 1), (1000, 'theirs', 'y', 1, 1)")
        out = migrate("--from", STATE["db"], "--to", url, "--append")
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertRegex(out.stdout, r"\nexperiments +3 +4 +all\n")
        self.assertEqual(psql(url, "SELECT artifact_location FROM experiments"
                              " WHERE experiment_id = 0"), "x")
        psql(url, "UPDATE params SET value = 'changed' WHERE key = 'lr'")
        psql(url, "DROP TABLE greentrack_migrate")
        out = migrate("--from", STATE["db"], "--to", url, "--append")
        self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
        self.assertRegex(out.stderr, r"params: 3 rows of the source have a "
                         r"key that the target holds with other values")

    def test_verify_only_sees_a_changed_row(self):
        url, _ = self.migrated("mig_verify")
        out = migrate("--from", STATE["db"], "--to", url, "--verify-only")
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertNotIn("copied", out.stdout)
        psql(url, "UPDATE metrics SET value = 'NaN' WHERE step = 7 "
             "AND key = 'loss' AND is_nan = 0")
        psql(url, "UPDATE tokens SET revoked = 1")
        out = migrate("--from", STATE["db"], "--to", url, "--verify-only")
        self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
        self.assertRegex(out.stdout, r"\nmetrics +6000 +6000 +MISMATCH\n")
        self.assertRegex(out.stdout, r"\ntokens +1 +1 +MISMATCH\n")
        self.assertRegex(out.stdout, r"\nparams +\d+ +\d+ +match\n")
        self.assertIn("2 tables differ", out.stdout)
        psql(url, "DELETE FROM run_heartbeats")
        out = migrate("--from", STATE["db"], "--to", url, "--verify-only")
        self.assertRegex(out.stdout, r"\nrun_heartbeats +3 +0 +MISMATCH\n")

    def test_foreign_keys_are_checked(self):
        """A row whose parent is missing (possible in a SQLite file written
        with foreign_keys off) fails the migration."""
        bad = os.path.join(STATE["dir"], "orphan.db")
        shutil.copy(STATE["db"], bad)
        con = sqlite3.connect(bad)
        con.execute("INSERT INTO params (run_pk, key, value) "
                    "VALUES (99999, 'orphan', 'x')")
        con.commit()
        con.close()
        url = fresh_database("mig_orphan")
        out = migrate("--from", bad, "--to", url)
        self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
        self.assertRegex(out.stderr, r"foreign key \S+ \(params -> runs\): "
                         r"1 rows reference a row that does not exist")
        # not a superuser: the keys are checked row by row, by PostgreSQL
        # (a role per process: make test runs suites side by side)
        role = "gt_migrator_p%d" % os.getpid()
        url = fresh_database("mig_nosu")
        dbname = url.rsplit("/", 1)[1].split("?")[0]
        psql(url, "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE "
             "rolname = '%s') THEN CREATE ROLE %s LOGIN; "
             "END IF; END $$" % (role, role))
        psql(url, "ALTER DATABASE %s OWNER TO %s" % (dbname, role))
        user_url = re.sub(r"//[^@/]*@", "//%s@" % role, url)
        out = migrate("--from", bad, "--to", user_url)
        self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
        self.assertIn("checked row by row", out.stdout)
        self.assertIn("foreign key", out.stderr)
        self.assertEqual(psql(url, "SELECT count(*) FROM params"), "0")
        url = fresh_database("mig_nosu")
        psql(url, "ALTER DATABASE %s OWNER TO %s" % (dbname, role))
        out = migrate("--from", STATE["db"], "--to", user_url)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertRegex(out.stdout, r"all \d+ tables match")

    def test_refuses_a_source_in_use(self):
        busy = os.path.join(STATE["dir"], "busy.db")
        shutil.copy(STATE["db"], busy)  # a server may write: not the source
        s = Server(tmpdir=STATE["dir"], db=busy,
                   artifact_root=STATE["artifacts"], args=["--auth"],
                   env=server_env())
        s.own_tmp = False
        s.start()
        try:
            url = fresh_database("mig_inuse")
            out = migrate("--from", busy, "--to", url)
            self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
            self.assertIn("is open in another process (pid %d"
                          % s.proc.pid, out.stderr)
        finally:
            rc, _ = s.stop()
        self.assertEqual(rc, 0)
        self.assertEqual(psql(url, "SELECT count(*) FROM pg_tables WHERE "
                              "tablename = 'runs'"), "0")

    def test_refuses_another_schema_level_and_bad_usage(self):
        old = os.path.join(STATE["dir"], "old.db")
        shutil.copy(STATE["db"], old)
        con = sqlite3.connect(old)
        con.execute("PRAGMA user_version = 3")
        con.commit()
        con.close()
        url = fresh_database("mig_level")
        out = migrate("--from", old, "--to", url)
        self.assertEqual(out.returncode, 1)
        self.assertRegex(out.stderr, r"schema level 3, this "
                         r"greentrack-server's is \d+: start")
        self.assertEqual(len(out.stderr.strip().splitlines()), 1,
                         out.stderr)
        out = migrate("--from", STATE["db"])
        self.assertEqual(out.returncode, 2)
        out = migrate("--from", STATE["db"], "--to", STATE["db"])
        self.assertEqual(out.returncode, 1)
        self.assertIn("postgresql://", out.stderr)
        out = migrate("--help")
        self.assertEqual(out.returncode, 0)
        self.assertIn("artifact_uri", out.stdout)
        self.assertTrue(re.search(r"--append", out.stdout))


if __name__ == "__main__":
    unittest.main()
