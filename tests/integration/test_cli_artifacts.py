# SPDX-License-Identifier: MIT
"""`greentrack artifacts log|ls|get` and `greentrack run --artifact` against
a real server: files and folders uploaded through the artifact proxy and
read back byte-identical (over HTTP and with `get`), listings as a table
and as JSON, where `get` puts things (-o), exit codes and messages for
unknown runs, bad paths and an unreachable server, the progress bar (on
a terminal only), and an outage during `run --artifact` that `sync`
repairs (the file referenced from the spool, not copied)."""

import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import tempfile
import unittest

from harness import (Server, ServerTestCase, clean_env, free_port,
                     fresh_db_target, server_binary, uniq)

BUILD = os.path.dirname(os.path.dirname(server_binary()))
CLI = os.path.join(BUILD, "bin", "greentrack")
CLI_TIMEOUT = 120
PY = sys.executable
PROXY = "/api/2.0/mlflow-artifacts/artifacts/"


def cli_env(uri, spool):
    env = {k: v for k, v in clean_env().items()
           if not k.startswith("MLFLOW_")}
    env.update({"GREENTRACK_TRACKING_URI": uri, "GREENTRACK_SPOOL_DIR": spool,
                "GREENTRACK_ENERGY": "off"})
    return env


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def tree(root):
    """{relative path: bytes} of every file under root."""
    out = {}
    for d, _dirs, files in os.walk(root):
        for name in files:
            p = os.path.join(d, name)
            out[os.path.relpath(p, root)] = read(p)
    return out


class ArtifactsCase(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix="gt-cli-art-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()

    def setUp(self):
        self.work = os.path.join(self.tmp, uniq("w"))
        os.makedirs(self.work)

    def cli(self, *args, cwd=None):
        p = subprocess.run([CLI] + list(args), capture_output=True,
                           text=True, timeout=CLI_TIMEOUT, cwd=cwd or self.work,
                           env=cli_env(self.server.url(),
                                       os.path.join(self.tmp, "spool")))
        return p.returncode, p.stdout, p.stderr

    def new_run(self):
        exp = self.create_experiment(uniq("cliart"))
        return self.create_run(exp)["info"]["run_id"]

    def proxy_base(self, run_id):
        uri = self.get_run(run_id)["info"]["artifact_uri"]
        self.assertTrue(uri.startswith("mlflow-artifacts:/"), uri)
        return PROXY + uri[len("mlflow-artifacts:/"):].lstrip("/")

    def fetch(self, run_id, rel):
        r = self.client.request("GET", self.proxy_base(run_id) + "/" + rel)
        return r.status, r.raw

    def sample(self):
        """A file and a folder tree in the work folder."""
        files = {"model.bin": os.urandom(300 * 1024 + 3),
                 "out/metrics.csv": b"step,loss\n1,0.5\n",
                 "out/plots/loss.png": os.urandom(4000),
                 "out/plots/empty.txt": b""}
        for rel, data in files.items():
            write(os.path.join(self.work, rel), data)
        os.makedirs(os.path.join(self.work, "out", "nothing"))
        return files


class LogListGetTest(ArtifactsCase):
    def test_log_file_and_folder_then_read_back(self):
        rid = self.new_run()
        files = self.sample()
        rc, out, err = self.cli("artifacts", "log", rid, "model.bin")
        self.assertEqual(rc, 0, err)
        self.assertIn("uploaded model.bin as model.bin of run " + rid, err)
        rc, out, err = self.cli("artifacts", "log", rid, "out",
                                "--artifact-path", "results/v1")
        self.assertEqual(rc, 0, err)
        self.assertIn("as results/v1/out/", err)
        # a folder given as '.' puts its files at the path itself
        rc, out, err = self.cli("artifacts", "log", rid, ".", "-a", "flat",
                                "-q", cwd=os.path.join(self.work, "out"))
        self.assertEqual((rc, err), (0, ""))

        self.assertEqual(self.fetch(rid, "model.bin"),
                         (200, files["model.bin"]))
        for rel in ("metrics.csv", "plots/loss.png", "plots/empty.txt"):
            self.assertEqual(self.fetch(rid, "results/v1/out/" + rel),
                             (200, files["out/" + rel]), rel)
            self.assertEqual(self.fetch(rid, "flat/" + rel),
                             (200, files["out/" + rel]), rel)
        # empty folders are not made remotely (as MLflow)
        self.assertEqual(self.fetch(rid, "results/v1/out/nothing")[0], 404)

    def test_ls(self):
        rid = self.new_run()
        self.sample()
        self.assertEqual(self.cli("artifacts", "log", rid, "model.bin")[0], 0)
        self.assertEqual(self.cli("artifacts", "log", rid, "out")[0], 0)
        rc, out, err = self.cli("artifacts", "ls", rid)
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["PATH", "SIZE"])
        rows = [ln.split(None, 1) for ln in lines[1:]]
        self.assertEqual(rows, [["model.bin", "300.0 KiB"], ["out/", "-"]])
        rc, out, err = self.cli("artifacts", "ls", rid, "out/plots")
        self.assertEqual(rc, 0, err)
        self.assertEqual([ln.split()[0] for ln in out.splitlines()[1:]],
                         ["out/plots/empty.txt", "out/plots/loss.png"])
        self.assertIn("0 B", out)

        rc, out, err = self.cli("artifacts", "ls", rid, "out", "--json")
        self.assertEqual(rc, 0, err)
        listing = json.loads(out)
        self.assertEqual(listing["root_uri"],
                         self.get_run(rid)["info"]["artifact_uri"])
        self.assertEqual(listing["files"], [
            {"path": "out/metrics.csv", "is_dir": False, "file_size": 16},
            {"path": "out/plots", "is_dir": True}])

        # empty or missing: a note on stderr, success
        rc, out, err = self.cli("artifacts", "ls", rid, "nothing/here")
        self.assertEqual((rc, out), (0, ""))
        self.assertIn("no artifacts in run %s under nothing/here" % rid, err)
        rc, out, err = self.cli("artifacts", "ls", rid, "--json",
                                "nothing/here")
        self.assertEqual((rc, json.loads(out)["files"]), (0, []))

    def test_get(self):
        rid = self.new_run()
        files = self.sample()
        self.assertEqual(self.cli("artifacts", "log", rid, "model.bin")[0], 0)
        self.assertEqual(self.cli("artifacts", "log", rid, "out",
                                  "-a", "a/b")[0], 0)
        dl = os.path.join(self.work, "dl")
        os.makedirs(dl)
        # into an existing folder: under the artifact's own name
        rc, out, err = self.cli("artifacts", "get", rid, "a/b/out", "-o", dl)
        self.assertEqual(rc, 0, err)
        self.assertIn("downloaded a/b/out of run", err)
        got = tree(os.path.join(dl, "out"))
        self.assertEqual(got, {k[len("out/"):]: v for k, v in files.items()
                               if k.startswith("out/")})
        # a file, to a new name
        rc, out, err = self.cli("artifacts", "get", rid, "model.bin", "-o",
                                os.path.join(dl, "renamed.bin"))
        self.assertEqual(rc, 0, err)
        self.assertEqual(read(os.path.join(dl, "renamed.bin")),
                         files["model.bin"])
        # the default: the current folder
        rc, out, err = self.cli("artifacts", "get", rid, "a/b/out/plots",
                                cwd=dl)
        self.assertEqual(rc, 0, err)
        self.assertEqual(read(os.path.join(dl, "plots", "loss.png")),
                         files["out/plots/loss.png"])
        # '.': all of the run, in a folder named after it
        rc, out, err = self.cli("artifacts", "get", rid, ".", "-o", dl, "-q")
        self.assertEqual((rc, err), (0, ""))
        whole = tree(os.path.join(dl, rid))
        self.assertEqual(whole["model.bin"], files["model.bin"])
        self.assertEqual(whole["a/b/out/plots/empty.txt"], b"")
        self.assertEqual(len(whole), 4)
        # no temporary files left behind
        for d, _dirs, names in os.walk(dl):
            for name in names:
                self.assertFalse(name.startswith(".gt-"), name)

    def test_errors(self):
        rid = self.new_run()
        self.sample()
        rc, out, err = self.cli("artifacts", "get", rid, "no/such")
        self.assertEqual(rc, 1)
        self.assertIn("has no artifact 'no/such'", err)
        rc, out, err = self.cli("artifacts", "ls",
                                "0123456789abcdef0123456789abcdef")
        self.assertEqual(rc, 1)
        self.assertIn("not found", err)
        rc, out, err = self.cli("artifacts", "log", rid, "missing.bin")
        self.assertEqual(rc, 1)
        self.assertIn("missing.bin: No such file or directory", err)
        for bad in ("../x", "/abs", "a//b", "a/"):
            rc, out, err = self.cli("artifacts", "log", rid, "model.bin",
                                    "-a", bad)
            self.assertEqual(rc, 2, (bad, err))
            self.assertIn("not a normalized relative path", err)
        rc, out, err = self.cli("artifacts", "log", rid)
        self.assertEqual(rc, 2)
        self.assertIn("which file or folder?", err)
        rc, out, err = self.cli("artifacts", "get", rid, "x", "--bogus")
        self.assertEqual(rc, 2)
        self.assertIn("unexpected '--bogus'", err)
        rc, out, err = self.cli("artifacts", "frobnicate")
        self.assertEqual(rc, 2)
        self.assertIn("unknown subcommand 'frobnicate'", err)
        rc, out, err = self.cli("--tracking-uri", "http://127.0.0.1:9",
                                "artifacts", "ls", rid)
        self.assertEqual(rc, 3)
        self.assertIn("could not be reached", err)

    def test_help(self):
        rc, out, err = self.cli("--help")
        self.assertEqual(rc, 0)
        for line in ("artifacts log RUN_ID PATH", "artifacts ls RUN_ID [PATH]",
                     "artifacts get RUN_ID PATH"):
            self.assertIn(line, out)
        for sub, opt in (("log", "--artifact-path P"), ("ls", "--json"),
                         ("get", "-o, --output DEST")):
            rc, out, err = self.cli("artifacts", sub, "--help")
            self.assertEqual(rc, 0)
            self.assertTrue(out.startswith("usage: greentrack artifacts %s"
                                           % sub), out)
            self.assertIn(opt, out)
            self.assertIn("Exit status:", out)
        rc, out, err = self.cli("run", "--help")
        self.assertIn("--artifact PATH", out)

    def test_progress_bar_only_on_a_terminal(self):
        rid = self.new_run()
        big = os.urandom(6 * 1024 * 1024)
        write(os.path.join(self.work, "big.bin"), big)
        # not a terminal: one summary line, no bar
        rc, out, err = self.cli("artifacts", "log", rid, "big.bin")
        self.assertEqual(rc, 0, err)
        self.assertNotIn("\r", err)
        self.assertEqual(len(err.splitlines()), 1, err)
        # stderr a terminal: the bar, ending at 100%
        for args in (["log", rid, "big.bin", "-a", "tty"],
                     ["get", rid, "big.bin", "-o", "back.bin"]):
            rc, text = self.run_on_pty(["artifacts"] + args)
            self.assertEqual(rc, 0, text)
            self.assertIn("\r", text)
            self.assertRegex(text, r"\[#{30}\] 100% 6\.0 MiB / 6\.0 MiB")
        self.assertEqual(read(os.path.join(self.work, "back.bin")), big)
        # small files: no bar even on a terminal
        write(os.path.join(self.work, "small.txt"), b"tiny")
        rc, text = self.run_on_pty(["artifacts", "log", rid, "small.txt"])
        self.assertEqual(rc, 0, text)
        self.assertNotIn("[", text.replace("[info]", ""))

    def run_on_pty(self, args):
        """Runs the CLI with stderr on a pseudo-terminal; (rc, what it
        wrote there)."""
        master, slave = pty.openpty()
        p = subprocess.Popen([CLI] + args, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=slave,
                             cwd=self.work,
                             env=cli_env(self.server.url(),
                                         os.path.join(self.tmp, "spool")))
        os.close(slave)
        chunks = []
        while True:
            r, _w, _x = select.select([master], [], [], CLI_TIMEOUT)
            if not r:
                break
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        os.close(master)
        rc = p.wait(timeout=CLI_TIMEOUT)
        return rc, b"".join(chunks).decode("utf-8", "replace")


class RunArtifactTest(ArtifactsCase):
    def test_run_uploads_outputs_before_the_end(self):
        exp = uniq("runart")
        child = ("import os\n"
                 "os.makedirs('outputs/sub', exist_ok=True)\n"
                 "open('outputs/sub/w.bin', 'wb').write(b'w' * 70000)\n"
                 "open('outputs/log.txt', 'w').write('done')\n"
                 "open('report.json', 'w').write('{}')\n")
        rc, out, err = self.cli("run", "-e", exp, "--artifact", "outputs",
                                "--artifact", "report.json", "--artifact",
                                "absent.txt", "--", PY, "-c", child)
        self.assertEqual(rc, 0, err)
        self.assertIn("--artifact absent.txt: no such file or folder", err)
        eid = self.ok(self.get("experiments/get-by-name",
                               {"experiment_name": exp}))["experiment"][
            "experiment_id"]
        runs = self.search_run_ids([eid])
        self.assertEqual(len(runs), 1)
        rid = runs[0]
        self.assertEqual(self.get_run(rid)["info"]["status"], "FINISHED")
        self.assertEqual(self.fetch(rid, "outputs/sub/w.bin"),
                         (200, b"w" * 70000))
        self.assertEqual(self.fetch(rid, "outputs/log.txt"), (200, b"done"))
        self.assertEqual(self.fetch(rid, "report.json"), (200, b"{}"))

    def test_failed_command_still_uploads(self):
        exp = uniq("runart")
        rc, out, err = self.cli(
            "run", "-e", exp, "--artifact", "crash.log", "--", PY,
            "-c", "open('crash.log','w').write('boom'); raise SystemExit(4)")
        self.assertEqual(rc, 4, err)
        eid = self.ok(self.get("experiments/get-by-name",
                               {"experiment_name": exp}))["experiment"][
            "experiment_id"]
        rid = self.search_run_ids([eid])[0]
        self.assertEqual(self.get_run(rid)["info"]["status"], "FAILED")
        self.assertEqual(self.fetch(rid, "crash.log"), (200, b"boom"))


class OfflineRunArtifactTest(unittest.TestCase):
    """`run --artifact` while the server is down spools a reference to the
    file; `sync` uploads it once the server is back, if unchanged."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="gt-cli-art-off-")
        self.spool = os.path.join(self.tmp, "spool")
        self.uri = "http://127.0.0.1:%d" % free_port()
        self.server = None

    def tearDown(self):
        if self.server is not None:
            rc, _el = self.server.stop()
            self.server.cleanup()
            self.assertEqual(rc, 0)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def cli(self, *args):
        p = subprocess.run([CLI] + list(args), capture_output=True,
                           text=True, env=cli_env(self.uri, self.spool),
                           timeout=CLI_TIMEOUT, cwd=self.tmp)
        return p.returncode, p.stdout, p.stderr

    def test_spooled_reference_synced_later(self):
        exp = uniq("offart")
        rc, out, err = self.cli(
            "run", "-e", exp, "--artifact", "kept.bin", "--artifact",
            "edited.txt", "--", PY, "-c",
            "import os; open('kept.bin','wb').write(os.urandom(200000)); "
            "open('edited.txt','w').write('v1')")
        self.assertEqual(rc, 0, err)
        self.assertIn("wait in the spool", err)
        kept = read(os.path.join(self.tmp, "kept.bin"))
        # the spool holds references, not the files
        spooled = sum(os.path.getsize(os.path.join(self.spool, f))
                      for f in os.listdir(self.spool))
        self.assertLess(spooled, 50000)
        with open(os.path.join(self.tmp, "edited.txt"), "a") as f:
            f.write(" and v2")

        port = int(self.uri.rsplit(":", 1)[1])
        os.makedirs(os.path.join(self.tmp, "art"))
        self.server = Server(args=["--port", str(port), "--db",
                                   fresh_db_target(self.tmp),
                                   "--artifact-root",
                                   os.path.join(self.tmp, "art"),
                                   "--log-level", "warn"],
                             tmpdir=self.tmp, default_args=False,
                             label="OfflineRunArtifactTest")
        self.server.start()
        rc, out, err = self.cli("-v", "sync")
        self.assertEqual(rc, 0, err)
        self.assertRegex(err, r"artifact edited.txt not sent: \S*edited.txt "
                              r"changed since it was logged")
        c = self.server.client()
        try:
            b = c.get("experiments/get-by-name",
                      {"experiment_name": exp}).body
            eid = b["experiment"]["experiment_id"]
            runs = c.post("runs/search", {"experiment_ids": [eid]}).body
            run = runs["runs"][0]
            self.assertEqual(run["info"]["status"], "FINISHED")
            base = PROXY + run["info"]["artifact_uri"][
                len("mlflow-artifacts:/"):].lstrip("/")
            r = c.request("GET", base + "/kept.bin")
            self.assertEqual((r.status, r.raw), (200, kept))
            r = c.request("GET", base + "/edited.txt")
            self.assertEqual(r.status, 404)
        finally:
            c.close()
        self.assertEqual(os.listdir(self.spool), [])
