# SPDX-License-Identifier: MIT
"""client/python/greentrack.py (the ctypes binding of libgreentrack): a
Python script logs through it into a real server (runs, metrics, energy,
artifacts); the test reads the runs and the artifacts back over HTTP."""

import json
import os
import shutil
import subprocess
import sys
import tempfile

from harness import ROOT, ServerTestCase, clean_env, server_binary, uniq

BUILD = os.path.dirname(os.path.dirname(server_binary()))
LIB = os.path.join(BUILD, "lib", "libgreentrack.so")
BINDING_DIR = os.path.join(ROOT, "client", "python")

SCRIPT = r"""
import json, os, sys
sys.path.insert(0, os.environ["BINDING_DIR"])
import greentrack

uri, exp, attach_id = sys.argv[1], sys.argv[2], sys.argv[3]
out = {"version": greentrack.library_version()}

with greentrack.Client(uri, flush_interval_ms=50) as client:
    # a run that finishes
    with client.start_run(exp, "good", params={"lr": 0.01, "epochs": 5},
                          tags={"team": "py"}) as run:
        out["good"] = run.id
        for step in range(5):
            assert run.log_metric("loss", 1.0 / (step + 1), step)
            run.log_metrics({"acc": step / 10.0}, step=step)
        run.log_param("optimizer", "sgd")
        run.set_tag("phase", "done")
        run.log_metric("at", 7.5, step=9, timestamp_ms=1700000000123)

    # a run whose block raises: FAILED, the exception in a tag
    try:
        with client.start_run(exp, "bad") as run:
            out["bad"] = run.id
            run.log_metric("loss", 9.0)
            raise ValueError("diverged")
    except ValueError:
        out["bad_raised"] = True

    # KeyboardInterrupt: KILLED
    try:
        with client.start_run(exp, "stopped") as run:
            out["stopped"] = run.id
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass

    # ended explicitly inside the block, then used: GT_E_CLOSED
    with client.start_run(exp, "explicit") as run:
        out["explicit"] = run.id
        run.end("FAILED")
        try:
            run.log_metric("x", 1.0)
        except greentrack.GreentrackError as e:
            out["after_end"] = e.code
        try:
            run.end()
        except greentrack.GreentrackError as e:
            out["end_twice"] = e.code

    # attach to a run made by someone else ($GREENTRACK_RUN_ID)
    os.environ["GREENTRACK_RUN_ID"] = attach_id
    with client.attach_run() as run:
        run.log_metric("attached", 1.5, step=2)

    # bad input is an error with the library's text
    run = client.start_run(exp, "errors")
    out["errors"] = run.id
    try:
        run.log_metric("bad key!", 1.0)
    except greentrack.GreentrackError as e:
        out["bad_key"] = [e.code, e.status, str(e)]
    try:
        run.end("DONE")
    except greentrack.GreentrackError as e:
        out["bad_status"] = e.code
    run.end()

    assert client.flush(10000)
    st, body = client.request("GET", "/api/2.0/mlflow/runs/get?run_id="
                              + out["good"])
    out["request"] = [st, body["run"]["info"]["status"]]
    st, body = client.request("POST", "/api/2.0/mlflow/runs/search",
                              {"experiment_ids": ["0"], "max_results": 1})
    out["request_post"] = st
    out["stats"] = client.stats()

    # a run left open is ended FAILED when the client closes
    out["left_open"] = client.start_run(exp, "left-open").id

try:
    greentrack.Client("ftp://nowhere")
except greentrack.GreentrackError as e:
    out["bad_uri"] = e.code
try:
    client.start_run(exp)
except greentrack.GreentrackError as e:
    out["closed"] = e.code
print(json.dumps(out))
"""


def sanitizer_env():
    """A sanitizer build of the library (make asan / tsan) loads into a
    plain python only with its runtime preloaded; CPython's own
    allocations are not ours to leak-check."""
    try:
        out = subprocess.run(["ldd", LIB], capture_output=True, text=True,
                             timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0].startswith(("libasan.", "libtsan.")) and \
                len(parts) >= 3 and parts[1] == "=>":
            return {"LD_PRELOAD": parts[2],
                    "ASAN_OPTIONS": "detect_leaks=0"}
    return {}


class PythonBindingTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix="gt-py-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()

    def run_script(self, script, *args, env_extra=None):
        path = os.path.join(self.tmp, "script_%s.py" % uniq())
        with open(path, "w") as f:
            f.write(script)
        env = {k: v for k, v in clean_env().items()
               if not k.startswith("MLFLOW_")}
        env.update({"GREENTRACK_LIB": LIB, "BINDING_DIR": BINDING_DIR,
                    "GREENTRACK_SPOOL_DIR": os.path.join(self.tmp, "spool")})
        env.update(sanitizer_env())
        env.update(env_extra or {})
        p = subprocess.run([sys.executable, path] + list(args),
                           capture_output=True, text=True, env=env,
                           timeout=60, cwd=self.tmp)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout.strip().splitlines()[-1])

    def test_logging_through_the_binding(self):
        exp = uniq("py")
        attach = self.create_run()["info"]["run_id"]
        out = self.run_script(SCRIPT, self.server.url(), exp, attach)

        with open(os.path.join(ROOT, "VERSION")) as f:
            self.assertEqual(out["version"], f.read().strip())

        good = self.get_run(out["good"])
        self.assertEqual(good["info"]["status"], "FINISHED")
        self.assertEqual(good["info"]["run_name"], "good")
        self.assertEqual(self.params_of(good), {"lr": "0.01", "epochs": "5",
                                                "optimizer": "sgd"})
        tags = self.run_tags(good)
        self.assertEqual((tags["team"], tags["phase"]), ("py", "done"))
        loss = sorted(self.history(out["good"], "loss"),
                      key=lambda p: p["step"])
        self.assertEqual([(p["step"], p["value"]) for p in loss],
                         [(s, 1.0 / (s + 1)) for s in range(5)])
        acc = self.history(out["good"], "acc")
        self.assertEqual(sorted(p["value"] for p in acc),
                         [s / 10.0 for s in range(5)])
        at = self.history(out["good"], "at")
        self.assertEqual([(p["step"], p["timestamp"], p["value"])
                          for p in at], [(9, 1700000000123, 7.5)])

        bad = self.get_run(out["bad"])
        self.assertTrue(out["bad_raised"])
        self.assertEqual(bad["info"]["status"], "FAILED")
        self.assertEqual(self.run_tags(bad)["greentrack.exception"],
                         "ValueError: diverged")
        self.assertEqual(self.metrics_of(bad)["loss"]["value"], 9.0)

        self.assertEqual(self.get_run(out["stopped"])["info"]["status"],
                         "KILLED")
        self.assertEqual(self.get_run(out["explicit"])["info"]["status"],
                         "FAILED")
        self.assertEqual(out["after_end"], "GT_E_CLOSED")
        self.assertEqual(out["end_twice"], "GT_E_CLOSED")

        att = self.get_run(attach)
        self.assertEqual(att["info"]["status"], "FINISHED")
        self.assertEqual(self.metrics_of(att)["attached"]["value"], 1.5)

        code, status, text = out["bad_key"]
        self.assertEqual((code, status), ("GT_E_INVALID", 1))
        self.assertTrue(text, "the error has a message")
        self.assertEqual(out["bad_status"], "GT_E_INVALID")
        self.assertEqual(self.get_run(out["errors"])["info"]["status"],
                         "FINISHED")

        self.assertEqual(out["request"], [200, "FINISHED"])
        self.assertEqual(out["request_post"], 200)
        self.assertGreater(out["stats"]["sent"], 10)
        self.assertEqual(out["stats"]["dropped"], 0)
        self.assertEqual(self.get_run(out["left_open"])["info"]["status"],
                         "FAILED")
        self.assertEqual(out["bad_uri"], "GT_E_INVALID")
        self.assertEqual(out["closed"], "GT_E_CLOSED")

        runs = self.search_run_ids([self.get(
            "experiments/get-by-name", {"experiment_name": exp}).body[
                "experiment"]["experiment_id"]])
        self.assertEqual(len(runs), 6)

    def test_run_energy(self):
        script = (
            "import json, os, sys, time\n"
            "sys.path.insert(0, os.environ['BINDING_DIR'])\n"
            "import greentrack\n"
            "out = {}\n"
            "with greentrack.Client(sys.argv[1]) as c:\n"
            "    with c.start_run(sys.argv[2], 'energy') as run:\n"
            "        out['id'] = run.id\n"
            "        e, t = None, time.monotonic()\n"
            "        while e is None and time.monotonic() - t < 60:\n"
            "            time.sleep(0.05)\n"
            "            e = run.energy()\n"
            "        time.sleep(0.3)\n"
            "        out['e'] = run.energy()\n"
            "print(json.dumps(out))\n")
        exp = uniq("pye")
        out = self.run_script(script, self.server.url(), exp, env_extra={
            "GREENTRACK_CLOUD_METADATA_URL": "off",
            "GREENTRACK_COUNTRY": "FRA"})
        e = out["e"]
        self.assertIsNotNone(e, "energy is measured by default")
        self.assertIn(e["cpu_method"], ("rapl", "tdp-estimate"))
        self.assertEqual(e["ram_method"], "ram-model")
        self.assertEqual(e["scope"], "node")
        self.assertGreater(e["kwh"], 0)
        self.assertAlmostEqual(e["kwh"], (e["cpu_j"] + e["gpu_j"] +
                                          e["ram_j"]) / 3.6e6)
        self.assertGreater(e["end_ms"], e["start_ms"])
        carbon = self.get("/api/2.0/greentrack/runs/carbon",
                          {"run_id": out["id"]}).body
        # the server has every window up to the run's end: at least as much
        self.assertGreaterEqual(carbon["energy_kwh"], e["kwh"] * (1 - 1e-9))
        # energy off: None, not an error
        off = self.run_script(script.replace("while e is None", "while False"),
                              self.server.url(), exp,
                              env_extra={"GREENTRACK_ENERGY": "off"})
        self.assertIsNone(off["e"])

    def test_artifacts(self):
        script = (
            "import json, os, sys\n"
            "sys.path.insert(0, os.environ['BINDING_DIR'])\n"
            "import greentrack, pathlib\n"
            "d = pathlib.Path(sys.argv[2])\n"
            "out = {}\n"
            "with greentrack.Client(sys.argv[1]) as c:\n"
            "    with c.start_run('pyart', 'artifacts') as run:\n"
            "        out['id'] = run.id\n"
            "        out['file'] = run.log_artifact(d / 'model.bin')\n"
            "        out['dir'] = run.log_artifacts(str(d / 'plots'),\n"
            "                                       'figures')\n"
            "        for args, key in (((d / 'missing.bin',), 'missing'),\n"
            "                          ((d / 'plots',), 'folder'),\n"
            "                          ((d / 'model.bin', '../up'), 'bad')):\n"
            "            try:\n"
            "                run.log_artifact(*args)\n"
            "            except greentrack.GreentrackError as e:\n"
            "                out[key] = e.code\n"
            "    out['stats'] = c.stats()\n"
            "print(json.dumps(out))\n")
        d = os.path.join(self.tmp, uniq("art"))
        os.makedirs(os.path.join(d, "plots", "sub"))
        model = os.urandom(3 * 1024 * 1024 + 5)
        files = {"model.bin": model, "plots/loss.png": os.urandom(1000),
                 "plots/sub/acc.csv": b"step,acc\n1,0.5\n"}
        for rel, data in files.items():
            with open(os.path.join(d, rel), "wb") as f:
                f.write(data)
        out = self.run_script(script, self.server.url(), d)
        self.assertEqual((out["file"], out["dir"]), (True, True))
        self.assertEqual(out["missing"], "GT_E_NOT_FOUND")
        self.assertEqual(out["folder"], "GT_E_INVALID")
        self.assertEqual(out["bad"], "GT_E_INVALID")
        self.assertEqual(out["stats"]["artifacts_uploaded"], 3)
        self.assertEqual(out["stats"]["artifacts_failed"], 0)
        run = self.get_run(out["id"])
        self.assertEqual(run["info"]["status"], "FINISHED")
        uri = run["info"]["artifact_uri"]
        self.assertTrue(uri.startswith("mlflow-artifacts:/"), uri)
        base = "/api/2.0/mlflow-artifacts/artifacts/" + \
            uri[len("mlflow-artifacts:/"):].lstrip("/")
        for rel, want in (("model.bin", model),
                          ("figures/loss.png", files["plots/loss.png"]),
                          ("figures/sub/acc.csv",
                           files["plots/sub/acc.csv"])):
            r = self.client.request("GET", base + "/" + rel)
            self.assertEqual(r.status, 200, rel)
            self.assertEqual(r.raw, want, rel)

    def test_library_lookup(self):
        script = ("import os, sys\n"
                  "sys.path.insert(0, os.environ['BINDING_DIR'])\n"
                  "import greentrack, json\n"
                  "print(json.dumps([greentrack.find_library(), "
                  "greentrack.library_version()]))\n")
        # without $GREENTRACK_LIB it finds the build directory's copy
        out = self.run_script(script, env_extra={
            "GREENTRACK_LIB": "", "GREENTRACK_BUILD": BUILD})
        self.assertEqual(os.path.realpath(out[0]), os.path.realpath(LIB))

    def test_missing_library_is_a_clear_error(self):
        script = ("import os, sys\n"
                  "sys.path.insert(0, os.environ['BINDING_DIR'])\n"
                  "import greentrack, json\n"
                  "try:\n"
                  "    greentrack.Client()\n"
                  "except OSError as e:\n"
                  "    print(json.dumps(str(e)))\n")
        out = self.run_script(script, env_extra={
            "GREENTRACK_LIB": os.path.join(self.tmp, "nope.so")})
        self.assertIn("nope.so", out)
