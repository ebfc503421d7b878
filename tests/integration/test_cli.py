# SPDX-License-Identifier: MIT
"""The `greentrack` CLI and the C example (train-example) against a real
server: `greentrack run` (statuses, exit codes, the child's environment,
--param/--tag, signal forwarding), `runs list`/`runs show` (table and
--json), `sync` of a spool left while the server was down, and the
example's training curve."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from harness import (ROOT, Server, ServerTestCase, clean_env, free_port,
                     fresh_db_target, read_version_file, server_binary,
                     uniq)

BUILD = os.path.dirname(os.path.dirname(server_binary()))
CLI = os.path.join(BUILD, "bin", "greentrack")
TRAIN = os.path.join(BUILD, "bin", "train-example")
PY = sys.executable
CLI_TIMEOUT = 60

# A child that reports what `greentrack run` gave it.
ENV_CHILD = r"""
import json, os, sys, urllib.request
names = ["GREENTRACK_RUN_ID", "MLFLOW_RUN_ID", "MLFLOW_TRACKING_URI",
         "GREENTRACK_TRACKING_URI"]
out = {n: os.environ.get(n) for n in names}
uri = os.environ["MLFLOW_TRACKING_URI"]
rid = os.environ["MLFLOW_RUN_ID"]
# what an MLflow script does: read the run, then log into it
with urllib.request.urlopen(uri + "/api/2.0/mlflow/runs/get?run_id=" + rid,
                            timeout=10) as r:
    out["status_at_start"] = json.load(r)["run"]["info"]["status"]
body = json.dumps({"run_id": rid, "key": "child_metric", "value": 42.5,
                   "timestamp": 1700000000000, "step": 3}).encode()
req = urllib.request.Request(uri + "/api/2.0/mlflow/runs/log-metric",
                             data=body,
                             headers={"Content-Type": "application/json"})
with urllib.request.urlopen(req, timeout=10) as r:
    out["log_status"] = r.status
print(json.dumps(out))
sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
"""

# Prints "ready", then reports each forwarded signal; exits on SIGTERM
# with 128+15 (a program that handles the signal and then dies "by" it).
SIGNAL_CHILD = r"""
import os, signal, sys, time
def on(sig, _frame):
    # os.write, not print: the next signal can arrive while print is still
    # inside the buffered stdout (the test sends it once the line is read),
    # and a handler that prints then would raise "reentrant call" and end
    # the child
    os.write(1, ("got %s\n" % signal.Signals(sig).name).encode())
    if sig == signal.SIGTERM:
        sys.exit(128 + sig)
for s in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM, signal.SIGUSR1):
    signal.signal(s, on)
print("ready", os.environ["GREENTRACK_RUN_ID"], flush=True)
deadline = time.time() + 30
while time.time() < deadline:
    time.sleep(0.05)
sys.exit(9)
"""


def cli_env(uri, spool):
    env = {k: v for k, v in clean_env().items()
           if not k.startswith("MLFLOW_")}
    env["GREENTRACK_TRACKING_URI"] = uri
    env["GREENTRACK_SPOOL_DIR"] = spool
    return env


class CliCase(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.spool = tempfile.mkdtemp(prefix="gt-cli-spool-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.spool, ignore_errors=True)
        super().tearDownClass()

    def env(self, **extra):
        e = cli_env(self.server.url(), self.spool)
        e.update(extra)
        return e

    def cli(self, *args, env=None, timeout=CLI_TIMEOUT):
        p = subprocess.run([CLI] + list(args), capture_output=True,
                           text=True, env=env or self.env(),
                           timeout=timeout, cwd=self.spool)
        return p.returncode, p.stdout, p.stderr

    def run_child(self, code, *cli_args, child_args=()):
        """greentrack run [cli_args] -- python3 -c CODE [child_args]."""
        return self.cli("run", *cli_args, "--", PY, "-c", code,
                        *child_args)

    def experiment_id(self, name):
        r = self.get("experiments/get-by-name", {"experiment_name": name})
        return self.ok(r)["experiment"]["experiment_id"]

    def runs_in(self, exp_name):
        b = self.ok(self.search_runs([self.experiment_id(exp_name)]))
        return b.get("runs", [])


class RunCommandTest(CliCase):
    def test_exit_0_is_finished(self):
        exp, name = uniq("cli"), uniq("run")
        rc, out, err = self.run_child(ENV_CHILD, "--experiment", exp,
                                      "--name", name, child_args=("0",))
        self.assertEqual(rc, 0, err)
        rid = json.loads(out.strip().splitlines()[-1])["GREENTRACK_RUN_ID"]
        run = self.get_run(rid)
        self.assertEqual(run["info"]["status"], "FINISHED")
        self.assertEqual(run["info"]["run_name"], name)
        self.assertGreaterEqual(int(run["info"]["end_time"]),
                                int(run["info"]["start_time"]))
        self.assertEqual(self.run_tags(run)["greentrack.exit_code"], "0")
        self.assertEqual([r["info"]["run_id"] for r in self.runs_in(exp)],
                         [rid])

    def test_exit_3_is_failed_and_exit_code_passed_on(self):
        exp = uniq("cli")
        rc, out, err = self.run_child(ENV_CHILD, "-e", exp,
                                      child_args=("3",))
        self.assertEqual(rc, 3, err)
        rid = json.loads(out.strip().splitlines()[-1])["GREENTRACK_RUN_ID"]
        run = self.get_run(rid)
        self.assertEqual(run["info"]["status"], "FAILED")
        self.assertEqual(self.run_tags(run)["greentrack.exit_code"], "3")

    def test_killed_by_sigterm_is_killed_128_plus_15(self):
        exp = uniq("cli")
        code = ("import os, signal\n"
                "print(os.environ['GREENTRACK_RUN_ID'], flush=True)\n"
                "os.kill(os.getpid(), signal.SIGTERM)\n")
        rc, out, err = self.run_child(code, "-e", exp)
        self.assertEqual(rc, 128 + signal.SIGTERM, err)
        run = self.get_run(out.split()[0])
        self.assertEqual(run["info"]["status"], "KILLED")
        self.assertEqual(self.run_tags(run)["greentrack.signal"], "SIGTERM")

    def test_child_environment_and_mlflow_style_logging(self):
        exp = uniq("cli")
        env = self.env(MLFLOW_RUN_ID="stale", GREENTRACK_RUN_ID="stale")
        p = subprocess.run([CLI, "run", "-e", exp, "--", PY, "-c",
                            ENV_CHILD], capture_output=True, text=True,
                           env=env, timeout=CLI_TIMEOUT)
        self.assertEqual(p.returncode, 0, p.stderr)
        got = json.loads(p.stdout.strip().splitlines()[-1])
        rid = got["GREENTRACK_RUN_ID"]
        self.assertRegex(rid, r"^[0-9a-f]{32}$")
        self.assertEqual(got["MLFLOW_RUN_ID"], rid)
        self.assertEqual(got["MLFLOW_TRACKING_URI"], self.server.url())
        self.assertEqual(got["GREENTRACK_TRACKING_URI"], self.server.url())
        # the run existed and was RUNNING when the child started
        self.assertEqual(got["status_at_start"], "RUNNING")
        self.assertEqual(got["log_status"], 200)
        run = self.get_run(rid)
        self.assertEqual(run["info"]["status"], "FINISHED")
        self.assertEqual(self.metrics_of(run)["child_metric"]["value"], 42.5)

    def test_tracking_uri_flag_wins_over_environment(self):
        exp = uniq("cli")
        env = self.env(GREENTRACK_TRACKING_URI="http://127.0.0.1:1",
                       MLFLOW_TRACKING_URI="http://127.0.0.1:1")
        p = subprocess.run([CLI, "run", "--tracking-uri", self.server.url(),
                            "-e", exp, "--", PY, "-c", ENV_CHILD],
                           capture_output=True, text=True, env=env,
                           timeout=CLI_TIMEOUT)
        self.assertEqual(p.returncode, 0, p.stderr)
        got = json.loads(p.stdout.strip().splitlines()[-1])
        self.assertEqual(got["MLFLOW_TRACKING_URI"], self.server.url())
        self.assertEqual(self.get_run(got["MLFLOW_RUN_ID"])["info"]
                         ["status"], "FINISHED")

    def test_params_and_tags_stored(self):
        exp, name = uniq("cli"), uniq("run")
        rc, out, err = self.cli(
            "run", "--experiment", exp, "--name", name, "--param", "lr=0.01",
            "-p", "epochs=3", "--param=note=a=b", "--tag", "team=vision",
            "-t", "empty=", "--", PY, "-c",
            "import os; print(os.environ['GREENTRACK_RUN_ID'])")
        self.assertEqual(rc, 0, err)
        run = self.get_run(out.split()[0])
        self.assertEqual(self.params_of(run),
                         {"lr": "0.01", "epochs": "3", "note": "a=b"})
        tags = self.run_tags(run)
        self.assertEqual(tags["team"], "vision")
        self.assertEqual(tags["empty"], "")
        self.assertEqual(tags["mlflow.source.type"], "LOCAL")
        self.assertEqual(tags["mlflow.source.name"], PY)
        self.assertEqual(run["info"]["run_name"], name)
        self.assertEqual(run["info"]["experiment_id"],
                         self.experiment_id(exp))

    def test_signals_are_forwarded(self):
        exp = uniq("cli")
        p = subprocess.Popen([CLI, "run", "-e", exp, "--", PY, "-c",
                              SIGNAL_CHILD], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True,
                             env=self.env())
        try:
            first = p.stdout.readline().split()
            self.assertEqual(first[0], "ready", first)
            rid = first[1]
            self.assertEqual(self.get_run(rid)["info"]["status"], "RUNNING")
            lines = []
            for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGUSR1,
                        signal.SIGTERM):
                p.send_signal(sig)
                lines.append(p.stdout.readline().strip())
            rc = p.wait(timeout=CLI_TIMEOUT)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdout.close()
            p.stderr.close()
        self.assertEqual(lines, ["got SIGHUP", "got SIGINT", "got SIGUSR1",
                                 "got SIGTERM"])
        # the child handled SIGTERM and exited 128+15: KILLED
        self.assertEqual(rc, 128 + signal.SIGTERM)
        run = self.get_run(rid)
        self.assertEqual(run["info"]["status"], "KILLED")
        self.assertEqual(self.run_tags(run)["greentrack.exit_code"], "143")

    def test_terminal_ctrl_c_reaches_the_child_once(self):
        # On a terminal, Ctrl-C signals the whole foreground process group:
        # the child gets it (once: greentrack does not pass on what the
        # terminal sent, though a near-simultaneous second SIGINT would
        # usually merge with the first anyway), greentrack survives it, and
        # the run ends from the child's exit. The child counts C-level
        # deliveries through set_wakeup_fd.
        import fcntl
        import pty
        import termios
        child = (
            "import os, signal, sys, time\n"
            "r, w = os.pipe()\n"
            "os.set_blocking(w, False)\n"
            "signal.signal(signal.SIGINT, lambda *a: None)\n"
            "signal.set_wakeup_fd(w)\n"
            "print('ready', os.environ['GREENTRACK_RUN_ID'], flush=True)\n"
            "n = len(os.read(r, 64))\n"
            "time.sleep(0.5)\n"
            "os.set_blocking(r, False)\n"
            "try:\n"
            "    n += len(os.read(r, 64))\n"
            "except BlockingIOError:\n"
            "    pass\n"
            "print('sigints', n, flush=True)\n"
            "sys.exit(0)\n")
        master, slave = pty.openpty()

        def take_tty():
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        p = subprocess.Popen([CLI, "run", "-e", uniq("cli"), "--", PY, "-c",
                              child], stdin=slave, stdout=slave,
                             stderr=slave, env=self.env(),
                             start_new_session=True, preexec_fn=take_tty)
        os.close(slave)
        buf = b""
        try:
            deadline = time.monotonic() + 20
            while b"ready" not in buf and time.monotonic() < deadline:
                buf += os.read(master, 4096)
            while not buf.rstrip().endswith(b"\n") and b"\n" not in \
                    buf[buf.index(b"ready"):]:
                buf += os.read(master, 4096)
            os.write(master, b"\x03")  # Ctrl-C
            rc = p.wait(timeout=CLI_TIMEOUT)
            while True:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                buf += chunk
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            os.close(master)
        text = buf.decode("utf-8", "replace")
        self.assertEqual(rc, 0, text)
        self.assertIn("sigints 1\r\n", text)
        rid = re.search(r"ready ([0-9a-f]{32})", text).group(1)
        self.assertEqual(self.get_run(rid)["info"]["status"], "FINISHED")

    def test_sigterm_to_cli_ends_a_sleeping_child(self):
        exp = uniq("cli")
        p = subprocess.Popen(
            [CLI, "run", "-e", exp, "--", "sh", "-c",
             'echo "$GREENTRACK_RUN_ID"; exec sleep 600'],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=self.env())
        try:
            rid = p.stdout.readline().strip()
            time.sleep(0.2)  # let the exec happen
            t0 = time.monotonic()
            p.send_signal(signal.SIGTERM)
            rc = p.wait(timeout=CLI_TIMEOUT)
            took = time.monotonic() - t0
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdout.close()
            p.stderr.close()
        self.assertEqual(rc, 128 + signal.SIGTERM)
        # the child sleeps 600 s unless the signal reached it
        self.assertLess(took, 60)
        run = self.get_run(rid)
        self.assertEqual(run["info"]["status"], "KILLED")
        self.assertEqual(self.run_tags(run)["greentrack.signal"], "SIGTERM")

    def test_command_not_found_is_127_and_failed(self):
        exp = uniq("cli")
        rc, out, err = self.cli("run", "-e", exp, "--",
                                "/nonexistent/command-" + uniq())
        self.assertEqual(rc, 127)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertIn("cannot run", err)
        runs = self.runs_in(exp)
        self.assertEqual(len(runs), 1)
        self.assertEqual(runs[0]["info"]["status"], "FAILED")

    def test_usage_errors_and_help(self):
        rc, out, err = self.cli("run")
        self.assertEqual(rc, 2)
        self.assertIn("no command", err)
        rc, out, err = self.cli("run", "--param", "novalue", "--", "true")
        self.assertEqual(rc, 2)
        self.assertIn("KEY=VALUE", err)
        rc, out, err = self.cli("frobnicate")
        self.assertEqual(rc, 2)
        self.assertEqual(err.count("\n"), 1, err)
        rc, out, err = self.cli("runs", "list", "--max", "0")
        self.assertEqual(rc, 2)
        rc, out, err = self.cli()
        self.assertEqual(rc, 2)
        for args in (["--help"], ["run", "--help"], ["sync", "--help"],
                     ["runs", "list", "--help"], ["runs", "show", "--help"],
                     ["help", "run"]):
            rc, out, err = self.cli(*args)
            self.assertEqual(rc, 0, args)
            self.assertIn("usage: greentrack", out, args)
            self.assertIn("Exit status", out, args)
        rc, out, err = self.cli("--version")
        self.assertEqual(rc, 0)
        self.assertTrue(out.startswith("greentrack %s " % read_version_file()),
                        out)


class RunsCommandTest(CliCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.exp = uniq("list")
        cls.ids = []
        c = cls.client
        exp_id = c.post("experiments/create", {"name": cls.exp}).body[
            "experiment_id"]
        t0 = int(time.time() * 1000) - 60000
        for i in range(3):
            run = c.post("runs/create", {
                "experiment_id": exp_id, "run_name": "r%d" % i,
                "start_time": t0 + i * 1000}).body["run"]
            rid = run["info"]["run_id"]
            cls.ids.append(rid)
            c.post("runs/log-batch", {
                "run_id": rid,
                "params": [{"key": "lr", "value": "0.%d" % (i + 1)}],
                "tags": [{"key": "team", "value": "t%d" % i}],
                "metrics": [
                    {"key": "acc", "value": 0.5 + i / 10, "step": 1,
                     "timestamp": t0},
                    {"key": "loss", "value": 1.0 / (i + 1), "step": 1,
                     "timestamp": t0}]})
        c.post("runs/update", {"run_id": cls.ids[0], "status": "FINISHED",
                               "end_time": t0 + 65000})

    def test_list_table(self):
        rc, out, err = self.cli("runs", "list", "--experiment", self.exp)
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertEqual(lines[0].split()[:4], ["RUN", "ID", "NAME",
                                                "STATUS"])
        self.assertIn("METRICS", lines[0])
        self.assertEqual(len(lines), 4, out)
        # newest first
        self.assertEqual([ln.split()[0] for ln in lines[1:]],
                         list(reversed(self.ids)))
        first = [ln for ln in lines if ln.startswith(self.ids[0])][0]
        self.assertIn(" r0 ", first)
        self.assertIn("FINISHED", first)
        self.assertIn("1m05s", first)  # duration
        self.assertIn("acc=0.5 loss=1", first)
        self.assertRegex(first, r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
        last = [ln for ln in lines if ln.startswith(self.ids[2])][0]
        self.assertIn("RUNNING", last)
        self.assertIn("acc=0.7 loss=0.3333", last)

    def test_list_all_experiments_and_max(self):
        rc, out, err = self.cli("runs", "list", "--max", "2")
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertIn("EXPERIMENT", lines[0])
        self.assertEqual(len(lines), 3, out)

    def test_list_json(self):
        rc, out, err = self.cli("runs", "list", "-e", self.exp, "--json")
        self.assertEqual(rc, 0, err)
        b = json.loads(out)
        self.assertEqual(sorted(r["info"]["run_id"] for r in b["runs"]),
                         sorted(self.ids))
        rc, out, err = self.cli("runs", "list", "-e", self.exp, "--json",
                                "--filter", "metrics.acc > 0.55")
        self.assertEqual(rc, 0, err)
        self.assertEqual(sorted(r["info"]["run_id"]
                                for r in json.loads(out)["runs"]),
                         sorted(self.ids[1:]))

    def test_list_unknown_experiment(self):
        rc, out, err = self.cli("runs", "list", "-e", uniq("missing"))
        self.assertEqual(rc, 1)
        self.assertIn("no experiment named", err)
        self.assertEqual(err.count("\n"), 1, err)

    def test_list_empty_experiment(self):
        name = uniq("empty")
        self.create_experiment(name)
        rc, out, err = self.cli("runs", "list", "-e", name)
        self.assertEqual((rc, out), (0, ""))
        self.assertIn("no runs", err)
        rc, out, err = self.cli("runs", "list", "-e", name, "--json")
        self.assertEqual(json.loads(out), {"runs": []})

    def test_show(self):
        rid = self.ids[0]
        rc, out, err = self.cli("runs", "show", rid)
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"(?m)^run\s+%s$" % rid)
        self.assertRegex(out, r"(?m)^name\s+r0$")
        self.assertRegex(out, r"(?m)^experiment\s+%s \(id \d+\)$"
                         % re.escape(self.exp))
        self.assertRegex(out, r"(?m)^status\s+FINISHED$")
        self.assertRegex(out, r"(?m)^duration\s+1m05s$")
        self.assertRegex(out, r"(?m)^  lr\s+0\.1$")
        self.assertRegex(out, r"(?m)^  team\s+t0$")
        self.assertRegex(out, r"(?m)^  acc\s+0\.5\s+step 1$")
        self.assertRegex(out, r"(?m)^  loss\s+1\s+step 1$")
        rc, out, err = self.cli("runs", "show", rid, "--json")
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out), self.ok(self.get(
            "runs/get", {"run_id": rid})))

    def test_show_unknown_run(self):
        rc, out, err = self.cli("runs", "show", "0" * 32)
        self.assertEqual(rc, 1)
        self.assertEqual(err.strip(),
                         "greentrack: runs show: no run '%s'" % ("0" * 32))
        rc, out, err = self.cli("runs", "show")
        self.assertEqual(rc, 2)

    def test_unreachable_server_is_exit_3(self):
        dead = "http://127.0.0.1:%d" % free_port()
        for args in (["runs", "list"], ["runs", "show", self.ids[0]]):
            rc, out, err = self.cli("--tracking-uri", dead, *args)
            self.assertEqual(rc, 3, (args, err))
            self.assertEqual(err.count("\n"), 1, err)
        rc, out, err = self.cli("runs", "list", "--tracking-uri", "ftp://x")
        self.assertEqual(rc, 1)
        self.assertIn("tracking URI", err)


class ExampleTest(CliCase):
    def accuracy(self, rid, key="accuracy"):
        pts = self.history(rid, key, max_results=1000)
        return [p["value"] for p in sorted(pts, key=lambda p: p["step"])]

    def test_train_example_curve_rises(self):
        exp = uniq("train")
        p = subprocess.run([TRAIN, "--experiment", exp, "--epochs", "40",
                            "--seed", "7"], capture_output=True, text=True,
                           env=self.env(), timeout=CLI_TIMEOUT)
        self.assertEqual(p.returncode, 0, p.stderr)
        runs = self.runs_in(exp)
        self.assertEqual(len(runs), 1)
        run = self.get_run(runs[0]["info"]["run_id"])
        self.assertEqual(run["info"]["status"], "FINISHED")
        self.assertIn(run["info"]["run_id"], p.stdout)
        self.assertEqual(self.params_of(run), {
            "lr": "0.5", "epochs": "40", "seed": "7", "samples": "1000"})
        acc = self.accuracy(run["info"]["run_id"])
        loss = self.accuracy(run["info"]["run_id"], "loss")
        self.assertEqual((len(acc), len(loss)), (40, 40))
        self.assertLess(acc[0], 0.65)
        self.assertGreater(acc[-1], 0.8)
        self.assertGreater(acc[-1], acc[0] + 0.2)
        self.assertLess(loss[-1], loss[0])
        self.assertTrue(all(b <= a + 1e-12 for a, b in zip(loss, loss[1:])),
                        "loss should fall at every step: %r" % loss)

    def test_train_example_under_greentrack_run(self):
        exp = uniq("train")
        rc, out, err = self.cli("run", "-e", exp, "-n", "wrapped",
                                "--param", "by=cli", "--", TRAIN,
                                "--epochs", "25")
        self.assertEqual(rc, 0, err)
        runs = self.runs_in(exp)
        self.assertEqual(len(runs), 1, "the example attached to the run")
        rid = runs[0]["info"]["run_id"]
        self.assertIn(rid, out)
        run = self.get_run(rid)
        self.assertEqual(run["info"]["status"], "FINISHED")
        self.assertEqual(run["info"]["run_name"], "wrapped")
        self.assertEqual(self.params_of(run)["by"], "cli")
        self.assertEqual(self.params_of(run)["epochs"], "25")
        self.assertEqual(len(self.accuracy(rid)), 25)


class SyncTest(unittest.TestCase):
    """A `greentrack run` while the server is down leaves a spool; once the
    server is up, `greentrack sync` sends it all."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="gt-cli-sync-")
        self.spool = os.path.join(self.tmp, "spool")
        self.port = free_port()
        self.uri = "http://127.0.0.1:%d" % self.port
        self.server = None

    def tearDown(self):
        if self.server is not None:
            rc, _el = self.server.stop()
            self.server.cleanup()
            self.assertEqual(rc, 0)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def cli(self, *args, timeout=CLI_TIMEOUT):
        p = subprocess.run([CLI] + list(args), capture_output=True,
                           text=True, env=cli_env(self.uri, self.spool),
                           timeout=timeout, cwd=self.tmp)
        return p.returncode, p.stdout, p.stderr

    def spool_bytes(self):
        total = 0
        for dirpath, _dirs, files in os.walk(self.spool):
            for f in files:
                total += os.path.getsize(os.path.join(dirpath, f))
        return total

    def test_sync_after_outage(self):
        exp = uniq("offline")
        t0 = time.monotonic()
        rc, out, err = self.cli("run", "-e", exp, "-n", "offline-run",
                                "--param", "mode=offline", "--tag", "k=v",
                                "--", TRAIN, "--epochs", "30")
        took = time.monotonic() - t0
        self.assertEqual(rc, 0, err)
        self.assertLess(took, 30, "an outage must not stall the run")
        rid = re.search(r"run ([0-9a-f]{32})", out).group(1)
        self.assertGreater(self.spool_bytes(), 0, "nothing was spooled")

        # still down: sync keeps the spool and says so
        rc, out, err = self.cli("sync")
        self.assertEqual(rc, 3, err)
        self.assertIn("cannot reach", err)
        self.assertGreater(self.spool_bytes(), 0)

        self.server = Server(args=["--port", str(self.port), "--db",
                                   fresh_db_target(self.tmp),
                                   "--artifact-root",
                                   os.path.join(self.tmp, "art"),
                                   "--log-level", "warn"],
                             tmpdir=self.tmp, default_args=False,
                             label="SyncTest")
        os.makedirs(os.path.join(self.tmp, "art"), exist_ok=True)
        self.server.start()
        c = self.server.client()
        try:
            rc, out, err = self.cli("sync")
            self.assertEqual(rc, 0, err)
            prog = re.findall(r"greentrack sync: (\d+)/(\d+) records", err)
            self.assertTrue(prog, err)
            done, total = prog[-1]  # the last progress line: all of them
            self.assertEqual(done, total, err)
            self.assertGreaterEqual(int(total), 60)  # 2 x 30 metrics, ...
            self.assertIn("records sent to %s" % self.uri, err)

            b = c.get("runs/get", {"run_id": rid}).body
            run = b["run"]
            self.assertEqual(run["info"]["status"], "FINISHED")
            self.assertEqual(run["info"]["run_name"], "offline-run")
            params = {p["key"]: p["value"] for p in run["data"]["params"]}
            self.assertEqual(params["mode"], "offline")
            self.assertEqual(params["epochs"], "30")
            tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
            self.assertEqual(tags["k"], "v")
            self.assertEqual(tags["greentrack.exit_code"], "0")
            for key in ("loss", "accuracy"):
                h = c.get("metrics/get-history",
                          {"run_id": rid, "metric_key": key}).body
                self.assertEqual(sorted(p["step"] for p in h["metrics"]),
                                 list(range(30)), key)
            exp_b = c.get("experiments/get-by-name",
                          {"experiment_name": exp}).body
            self.assertIn("experiment", exp_b)

            # nothing left: a second sync sends nothing and succeeds
            rc, out, err = self.cli("sync")
            self.assertEqual(rc, 0, err)
            self.assertIn("0 records sent", err)
            h = c.get("metrics/get-history",
                      {"run_id": rid, "metric_key": "loss"}).body
            self.assertEqual(len(h["metrics"]), 30, "no duplicates")
        finally:
            c.close()


class ImportCodeCarbonCommandTest(CliCase):
    DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                        "data", "codecarbon")

    def test_import_creates_the_experiment_and_is_idempotent(self):
        path = os.path.join(self.DATA, "emissions_v2.csv")
        name = "cc-import-%d" % os.getpid()
        rc, out, err = self.cli("import-codecarbon", path,
                                "--experiment", name)
        self.assertEqual(rc, 0, err)
        ids = out.split()
        self.assertEqual(ids, ["1c9b2f3e0a4d4e5f8b6a7c8d9e0f1a2b"])
        self.assertIn("imported 1 run", err)
        runs = self.runs_in(name)
        self.assertEqual([r["info"]["run_id"] for r in runs], ids)
        self.assertEqual(runs[0]["info"]["status"], "FINISHED")
        rc, out, err = self.cli("import-codecarbon", path, "--experiment",
                                name, "--json")
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out)["run_ids"], ids)
        self.assertEqual(len(self.runs_in(name)), 1)

    def test_errors(self):
        rc, _, err = self.cli("import-codecarbon")
        self.assertEqual(rc, 2)
        rc, _, err = self.cli("import-codecarbon", "/nonexistent.csv")
        self.assertEqual(rc, 1)
        self.assertIn("cannot open", err)
        bad = os.path.join(self.spool, "bad.csv")
        with open(bad, "w") as f:
            f.write("a,b\n1,2\n")
        rc, _, err = self.cli("import-codecarbon", bad)
        self.assertEqual(rc, 1)
        self.assertIn("CodeCarbon", err)
        rc, out, _ = self.cli("import-codecarbon", "--help")
        self.assertEqual(rc, 0)
        self.assertIn("emissions.csv", out)
