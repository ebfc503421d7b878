# SPDX-License-Identifier: MIT
"""Green-AI decisions from the client side, against a real server: the
Python binding's phases (Run.phase as a context manager with Phase.work,
Run.log_phase) reach runs/carbon with the hand-computed figures (two hours
of 1 kWh each in FRA, the second hour inference with 1000 predictions:
56.039 g per 1000 predictions) and Client.budget reads an experiment's
carbon budget (none, then 0.1 kg against 0.112078 kg used); `greentrack
run --phase inference --work-count N --work-unit U` marks the command as
one phase; a spent budget is a warning line, and with --enforce-budget a
refusal (exit 3, naming the budget; the command never runs), exit 4 when
the server cannot be reached; bad --phase/--work-count usage is exit 2."""

import json
import os
import shutil
import subprocess
import sys
import tempfile

from harness import (ROOT, ServerTestCase, clean_env, free_port,
                     server_binary, uniq)

BUILD = os.path.dirname(os.path.dirname(server_binary()))
LIB = os.path.join(BUILD, "lib", "libgreentrack.so")
CLI = os.path.join(BUILD, "bin", "greentrack")
BINDING_DIR = os.path.join(ROOT, "client", "python")
GT = "/api/2.0/greentrack/"
FRA = 56.039          # g/kWh, data/country_carbon_intensity.csv
HOUR = 3600000
T0 = 1000000          # the hand-computed phases start here (Unix ms)
MJ36 = 3600000        # joules in 1 kWh
TIMEOUT = 60

SCRIPT = r"""
import json, os, sys, time
sys.path.insert(0, os.environ["BINDING_DIR"])
import greentrack

uri, exp, T0, HOUR = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
    int(sys.argv[4])
out = {}
logs = []
with greentrack.Client(uri, flush_interval_ms=20,
                       log=lambda lvl, msg: logs.append([lvl, msg])) as c:
    with c.start_run(exp, "phases", tags={"greentrack.country": "FRA"}) as run:
        out["hand"] = run.id
        assert run.log_phase("train", T0, T0 + HOUR)
        assert run.log_phase("inference", T0 + HOUR, T0 + 2 * HOUR, 1000,
                             "predictions")
    with c.start_run(exp, "live") as run:
        out["live"] = run.id
        t = time.time() * 1000
        with run.phase("eval", unit="images") as p:
            p.work(600)
            p.work(400)
            time.sleep(0.03)
            try:
                run.phase("nested").begin()
            except greentrack.GreentrackError as e:
                out["nested"] = e.code
            try:
                p.work(-1)
            except greentrack.GreentrackError as e:
                out["negative"] = e.code
        out["eval_count"] = p.count
        with run.phase("inference") as q:
            pass  # no work counted: none sent
        try:
            run.phase("bad name").begin()
        except greentrack.GreentrackError as e:
            out["bad_name"] = [e.code, str(e)]
        # a phase whose block raises is still recorded
        try:
            with run.phase("warmup") as w:
                w.work(3, unit="batches")
                raise ValueError("boom")
        except ValueError:
            out["raised"] = True
    c.flush(10000)
    out["logs"] = logs
print(json.dumps(out))
"""

BUDGET_SCRIPT = r"""
import json, os, sys
sys.path.insert(0, os.environ["BINDING_DIR"])
import greentrack

uri, exp, exp_id = sys.argv[1], sys.argv[2], sys.argv[3]
out = {}
logs = []
with greentrack.Client(uri, flush_interval_ms=20,
                       log=lambda lvl, msg: logs.append([lvl, msg])) as c:
    out["by_id"] = c.budget(exp_id)
    out["by_name"] = c.budget(experiment=exp)
    try:
        c.budget(experiment="no such experiment " + exp)
    except greentrack.GreentrackError as e:
        out["missing"] = e.code
    with c.start_run(exp, "after the budget"):
        pass
    c.flush(10000)
    out["logs"] = logs
print(json.dumps(out))
"""


def sanitizer_env():
    """A sanitizer build of the library loads into a plain python only
    with its runtime preloaded (as test_python_binding does)."""
    try:
        text = subprocess.run(["ldd", LIB], capture_output=True, text=True,
                              timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    for line in text.splitlines():
        parts = line.split()
        if parts and parts[0].startswith(("libasan.", "libtsan.")) and \
                len(parts) >= 3 and parts[1] == "=>":
            return {"LD_PRELOAD": parts[2], "ASAN_OPTIONS": "detect_leaks=0"}
    return {}


class ClientGreenTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix="gt-green-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()

    # -- helpers ------------------------------------------------------------
    def env(self, extra=None):
        env = {k: v for k, v in clean_env().items()
               if not k.startswith(("MLFLOW_", "GREENTRACK_"))}
        env.update({"GREENTRACK_LIB": LIB, "BINDING_DIR": BINDING_DIR,
                    "GREENTRACK_SPOOL_DIR": os.path.join(self.tmp, "spool"),
                    "GREENTRACK_ENERGY": "off",
                    "GREENTRACK_CLOUD_METADATA_URL": "off"})
        env.update(sanitizer_env())
        env.update(extra or {})
        return env

    def script(self, text, *args):
        path = os.path.join(self.tmp, "script_%s.py" % uniq())
        with open(path, "w") as f:
            f.write(text)
        p = subprocess.run([sys.executable, path] + [str(a) for a in args],
                           capture_output=True, text=True, env=self.env(),
                           timeout=TIMEOUT, cwd=self.tmp)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout.strip().splitlines()[-1])

    def cli(self, *args, uri=None):
        cmd = [CLI, "--tracking-uri", uri or self.server.url()] + list(args)
        return subprocess.run(cmd, capture_output=True, text=True,
                              env=self.env(), timeout=TIMEOUT, cwd=self.tmp)

    def one_kwh(self, run_id, start, end):
        self.ok(self.post(GT + "runs/log-energy", {
            "run_id": run_id,
            "samples": [{"start_time": start, "end_time": end,
                         "cpu_energy_j": MJ36, "cpu_method": "rapl"}]}))

    def carbon(self, run_id):
        return self.ok(self.get(GT + "runs/carbon", {"run_id": run_id}))

    @staticmethod
    def phases(carbon):
        return {p["phase"]: p for p in carbon.get("phases", [])}

    def set_budget(self, exp_id, kg):
        self.ok(self.post("experiments/set-experiment-tag", {
            "experiment_id": exp_id, "key": "greentrack.budget_co2_kg",
            "value": str(kg)}))

    def spent_experiment(self):
        """An experiment with one run of 2 kWh in FRA (112.078 g) and a
        budget of 0.1 kg: spent."""
        name = uniq("budget")
        exp_id = self.create_experiment(name)
        rid = self.create_run(exp_id)["info"]["run_id"]
        self.ok(self.post("runs/set-tag", {"run_id": rid,
                                           "key": "greentrack.country",
                                           "value": "FRA"}))
        self.one_kwh(rid, T0, T0 + HOUR)
        self.one_kwh(rid, T0 + HOUR, T0 + 2 * HOUR)
        self.set_budget(exp_id, 0.1)
        return name, exp_id

    def run_ids(self, exp_id):
        return self.search_run_ids([exp_id])

    # -- the Python binding -------------------------------------------------
    def test_binding_phases(self):
        out = self.script(SCRIPT, self.server.url(), uniq("py-phases"), T0,
                          HOUR)
        self.one_kwh(out["hand"], T0, T0 + HOUR)
        self.one_kwh(out["hand"], T0 + HOUR, T0 + 2 * HOUR)
        ph = self.phases(self.carbon(out["hand"]))
        inf, train = ph["inference"], ph["train"]
        self.assertAlmostEqual(inf["energy_kwh"], 1.0, places=9)
        self.assertAlmostEqual(inf["co2_g"], FRA, places=6)
        self.assertEqual(inf["work_count"], 1000)
        self.assertEqual(inf["work_unit"], "predictions")
        self.assertAlmostEqual(inf["co2_g_per_1k_work"], FRA, places=6)
        self.assertAlmostEqual(train["co2_g"], FRA, places=6)
        self.assertIsNone(train.get("co2_g_per_1k_work"))

        live = self.phases(self.carbon(out["live"]))
        self.assertEqual(sorted(live), ["eval", "inference", "warmup"])
        ev = live["eval"]
        self.assertEqual((ev["work_count"], ev["work_unit"]),
                         (1000, "images"))
        self.assertGreaterEqual(ev["end_time"] - ev["start_time"], 25)
        self.assertIsNone(live["inference"].get("work_count"))
        self.assertEqual((live["warmup"]["work_count"],
                          live["warmup"]["work_unit"]), (3, "batches"))
        self.assertEqual(out["eval_count"], 1000)
        self.assertEqual(out["nested"], "GT_E_INVALID")
        self.assertEqual(out["negative"], "GT_E_INVALID")
        self.assertEqual(out["bad_name"][0], "GT_E_INVALID")
        self.assertIn("phase name", out["bad_name"][1])
        self.assertTrue(out["raised"])

    def test_binding_budget(self):
        name, exp_id = self.spent_experiment()
        out = self.script(BUDGET_SCRIPT, self.server.url(), name, exp_id)
        b = out["by_id"]
        self.assertEqual(b["experiment_id"], exp_id)
        self.assertAlmostEqual(b["budget_co2_kg"], 0.1)
        self.assertAlmostEqual(b["used_co2_kg"], 2 * FRA / 1000, places=9)
        self.assertAlmostEqual(b["budget_used_fraction"], 2 * FRA / 100,
                               places=9)
        self.assertTrue(b["over"])
        self.assertEqual(out["by_name"], b)
        self.assertEqual(out["missing"], "GT_E_NOT_FOUND")
        warns = [m for lvl, m in out["logs"]
                 if lvl == "warn" and "over its carbon budget" in m]
        self.assertEqual(len(warns), 1, out["logs"])
        self.assertIn("greentrack.budget_co2_kg", warns[0])

        # no budget tag: None
        other = self.create_experiment(uniq("nobudget"))
        out = self.script(BUDGET_SCRIPT, self.server.url(),
                          self.get_experiment(other)["name"], other)
        self.assertIsNone(out["by_id"])
        self.assertIsNone(out["by_name"])
        self.assertEqual([m for lvl, m in out["logs"] if lvl == "warn"], [])

    # -- greentrack run -----------------------------------------------------
    def test_cli_phase(self):
        name = uniq("cli-phase")
        p = self.cli("run", "-e", name, "--phase", "inference",
                     "--work-count", "1000", "--work-unit", "predictions",
                     "--", sys.executable, "-c",
                     "import time; time.sleep(0.2)")
        self.assertEqual(p.returncode, 0, p.stderr)
        exp_id = self.ok(self.get("experiments/get-by-name",
                                  {"experiment_name": name}))[
                                      "experiment"]["experiment_id"]
        ids = self.run_ids(exp_id)
        self.assertEqual(len(ids), 1)
        run = self.get_run(ids[0])
        ph = self.phases(self.carbon(ids[0]))
        self.assertEqual(list(ph), ["inference"])
        inf = ph["inference"]
        self.assertEqual((inf["work_count"], inf["work_unit"]),
                         (1000, "predictions"))
        self.assertGreaterEqual(inf["end_time"] - inf["start_time"], 150)
        self.assertGreaterEqual(inf["start_time"], run["info"]["start_time"])
        self.assertLessEqual(inf["end_time"], run["info"]["end_time"])

        # without a count: the phase alone
        p = self.cli("run", "-e", name, "--phase", "train", "--", "true")
        self.assertEqual(p.returncode, 0, p.stderr)
        ids = [i for i in self.run_ids(exp_id) if i not in ids]
        ph = self.phases(self.carbon(ids[0]))
        self.assertEqual(list(ph), ["train"])
        self.assertIsNone(ph["train"].get("work_count"))

    def test_cli_bad_usage(self):
        for args, what in ((["--work-count", "3"], "need --phase"),
                           (["--phase", "a b"], "--phase wants"),
                           (["--phase", "x" * 65], "--phase wants"),
                           (["--phase", "x", "--work-count", "-1"],
                            "--work-count wants"),
                           (["--phase", "x", "--work-count", "nan"],
                            "--work-count wants"),
                           (["--phase", "x", "--work-count", "12abc"],
                            "--work-count wants"),
                           (["--phase", "x", "--work-unit", "u" * 65],
                            "--work-unit wants"),
                           (["--phase", "x", "--work-unit", ""],
                            "--work-unit wants")):
            p = self.cli("run", *args, "--", "true")
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            self.assertIn(what, p.stderr)

    def test_cli_budget(self):
        name, exp_id = self.spent_experiment()
        marker = os.path.join(self.tmp, "ran-" + uniq())
        touch = [sys.executable, "-c",
                 "import sys; open(sys.argv[1], 'w').close()", marker]
        before = len(self.run_ids(exp_id))

        # over budget: a warning line, and the command runs
        p = self.cli("run", "-e", name, "--", *touch)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(os.path.exists(marker))
        warn = [ln for ln in p.stderr.splitlines()
                if "over its carbon budget" in ln]
        self.assertEqual(len(warn), 1, p.stderr)
        self.assertIn("warning:", warn[0])
        self.assertIn("0.1 kg CO2 (greentrack.budget_co2_kg)", warn[0])
        self.assertIn("0.112078 kg used", warn[0])
        os.unlink(marker)
        self.assertEqual(len(self.run_ids(exp_id)), before + 1)

        # --enforce-budget: refused, exit 3, nothing runs, no run made
        p = self.cli("run", "-e", name, "--enforce-budget", "--", *touch)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertFalse(os.path.exists(marker))
        self.assertIn("refusing to start", p.stderr)
        self.assertIn("'%s'" % name, p.stderr)
        self.assertIn("carbon budget of 0.1 kg CO2", p.stderr)
        self.assertIn("greentrack.budget_co2_kg", p.stderr)
        self.assertEqual(len(self.run_ids(exp_id)), before + 1)

        # a budget with room left: it runs
        self.set_budget(exp_id, 1)
        p = self.cli("run", "-e", name, "--enforce-budget", "--", *touch)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(os.path.exists(marker))
        self.assertNotIn("budget", p.stderr)
        os.unlink(marker)

        # a budget of 0 allows nothing, even before any CO2
        zero = uniq("zero")
        self.set_budget(self.create_experiment(zero), 0)
        p = self.cli("run", "-e", zero, "--enforce-budget", "--", *touch)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("carbon budget of 0 kg CO2", p.stderr)
        self.assertFalse(os.path.exists(marker))

        # an experiment that does not exist yet has no budget
        p = self.cli("run", "-e", uniq("new"), "--enforce-budget", "--",
                     "true")
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_cli_budget_unreachable(self):
        marker = os.path.join(self.tmp, "ran-" + uniq())
        uri = "http://127.0.0.1:%d" % free_port()
        p = self.cli("run", "-e", "x", "--enforce-budget", "--", "touch",
                     marker, uri=uri)
        self.assertEqual(p.returncode, 4, p.stderr)
        self.assertFalse(os.path.exists(marker))
        self.assertIn("cannot check the carbon budget", p.stderr)
        # without --enforce-budget it runs (and spools)
        p = self.cli("run", "-e", "x", "--", "touch", marker, uri=uri)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(os.path.exists(marker))
