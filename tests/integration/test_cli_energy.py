# SPDX-License-Identifier: MIT
"""`greentrack run` measures energy, against a real server: with a fake
sysfs RAPL tree that the child itself advances by a known amount, the run's
CPU energy on runs/carbon is exactly that, with CO2, and the summary line
on stderr says so; an MLflow-style script (standard library only, MLflow's
REST calls) gets energy and CO2 without a change; the child sees
GREENTRACK_ENERGY=off; GREENTRACK_ENERGY=off measures nothing; --scope
process with the real /proc charges a busy child more than a sleeping one
(0 < share <= the node's energy); against a plain MLflow server the
samples are dropped and the run still finishes."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

from harness import ServerTestCase, clean_env, server_binary, uniq

BUILD = os.path.dirname(os.path.dirname(server_binary()))
CLI = os.path.join(BUILD, "bin", "greentrack")
PY = sys.executable
CLI_TIMEOUT = 60

# Advances the fake RAPL counter (in place: the probes keep it open) by
# argv[1] joules in argv[2] steps over about argv[3] seconds, busy or
# sleeping (argv[4]), then logs a metric the way MLflow's REST client does
# and reports what it saw.
CHILD = r"""
import json, os, sys, time, urllib.request
path = os.environ["FAKE_RAPL"]
joules, steps, secs, mode = float(sys.argv[1]), int(sys.argv[2]), \
    float(sys.argv[3]), sys.argv[4]
def read():
    with open(path) as f:
        return int(f.read())
def write(v):
    fd = os.open(path, os.O_WRONLY)
    os.pwrite(fd, b"%020d\n" % v, 0)
    os.close(fd)
for i in range(steps):
    end = time.time() + secs / steps
    if mode == "busy":
        x = 0
        while time.time() < end:
            x += 1
    else:
        time.sleep(secs / steps)
    write(read() + int(joules * 1e6 / steps))
uri = os.environ["MLFLOW_TRACKING_URI"]
rid = os.environ["MLFLOW_RUN_ID"]
body = json.dumps({"run_id": rid, "key": "accuracy", "value": 0.93,
                   "timestamp": int(time.time() * 1000), "step": 1}).encode()
req = urllib.request.Request(uri + "/api/2.0/mlflow/runs/log-metric",
                             data=body,
                             headers={"Content-Type": "application/json"})
with urllib.request.urlopen(req, timeout=10) as r:
    status = r.status
print(json.dumps({"energy_env": os.environ.get("GREENTRACK_ENERGY"),
                  "run_id": os.environ["GREENTRACK_RUN_ID"],
                  "mlflow_run_id": rid,
                  "log_status": status}))
"""


class CliEnergyTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix="gt-cli-energy-")
        cls.spool = os.path.join(cls.tmp, "spool")
        cls.sysfs = os.path.join(cls.tmp, "sys")
        cls.procfs = os.path.join(cls.tmp, "proc")
        zone = os.path.join(cls.sysfs, "class", "powercap", "intel-rapl:0")
        os.makedirs(zone)
        os.makedirs(cls.procfs)
        cls.rapl = os.path.join(zone, "energy_uj")
        with open(os.path.join(zone, "name"), "w") as f:
            f.write("package-0\n")
        with open(os.path.join(zone, "max_energy_range_uj"), "w") as f:
            f.write("262143328850\n")
        with open(cls.rapl, "w") as f:
            f.write("%020d\n" % 1000000)
        with open(os.path.join(cls.procfs, "meminfo"), "w") as f:
            f.write("MemTotal:       16384000 kB\n"
                    "MemAvailable:   12000000 kB\n")
        with open(os.path.join(cls.procfs, "cpuinfo"), "w") as f:
            f.write("processor\t: 0\nmodel name\t: Fake CPU 9000\n"
                    "physical id\t: 0\n\n")
        with open(os.path.join(cls.procfs, "stat"), "w") as f:
            f.write("cpu  100 0 100 1000 0 0 0 0 0 0\n"
                    "cpu0 100 0 100 1000 0 0 0 0 0 0\n")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()

    def env(self, **extra):
        env = {k: v for k, v in clean_env().items()
               if not k.startswith("MLFLOW_")}
        env.update({
            "GREENTRACK_TRACKING_URI": self.server.url(),
            "GREENTRACK_SPOOL_DIR": self.spool,
            "GREENTRACK_SYSFS_ROOT": self.sysfs,
            "GREENTRACK_PROCFS_ROOT": self.procfs,
            "GREENTRACK_NVML_LIB": "/nonexistent/libnvidia-ml.so.1",
            "GREENTRACK_CLOUD_METADATA_URL": "off",
            "GREENTRACK_ENERGY_INTERVAL_MS": "20",
            "GREENTRACK_COUNTRY": "FRA",
            "FAKE_RAPL": self.rapl,
        })
        env.update(extra)
        return env

    def run_child(self, *cli_args, child=("3600", "4", "0.2", "sleep"),
                  env=None):
        p = subprocess.run([CLI, "run", *cli_args, "--", PY, "-c", CHILD,
                            *child], capture_output=True, text=True,
                           env=env or self.env(), timeout=CLI_TIMEOUT,
                           cwd=self.tmp)
        self.assertEqual(p.returncode, 0, p.stderr)
        out = json.loads(p.stdout.strip().splitlines()[-1])
        return out, p.stderr

    def carbon(self, rid):
        return self.ok(self.get("/api/2.0/greentrack/runs/carbon",
                                {"run_id": rid}))

    def test_node_scope_known_energy_and_co2(self):
        out, err = self.run_child("--experiment", uniq("energy"))
        self.assertEqual(out["energy_env"], "off")
        self.assertEqual(out["log_status"], 200)
        rid = out["run_id"]
        c = self.carbon(rid)
        self.assertAlmostEqual(c["cpu_kwh"], 3600 / 3.6e6, places=12)
        self.assertGreater(c["ram_kwh"], 0)
        self.assertAlmostEqual(c["energy_kwh"],
                               c["cpu_kwh"] + c["gpu_kwh"] + c["ram_kwh"],
                               places=12)
        self.assertEqual(c["methods"]["cpu"], ["rapl"])
        self.assertEqual(c["scope"], "node")
        self.assertTrue(c["location"]["known"])
        self.assertEqual(c["location"]["country"], "FRA")
        g = self.ok(self.get("/api/2.0/greentrack/intensity",
                             {"country": "FRA"}))["intensity_g_per_kwh"]
        self.assertAlmostEqual(c["co2_g"], c["energy_kwh"] * g, places=9)
        # the summary line: CMD's share, with the methods
        m = re.search(r"energy: ([0-9.]+) kWh \(cpu ([0-9.]+) kWh rapl, "
                      r"gpu [0-9.]+ kWh none, ram [0-9.]+ kWh ram-model; "
                      r"node scope", err)
        self.assertIsNotNone(m, err)
        self.assertAlmostEqual(float(m.group(2)), 0.001, places=6)
        run = self.get_run(rid)
        tags = self.run_tags(run)
        self.assertEqual(tags["greentrack.country"], "FRA")
        self.assertIn("greentrack.host.cpu", tags)
        self.assertEqual(run["info"]["status"], "FINISHED")
        # the MLflow-style script's metric and the derived ones
        metrics = {m["key"]: m["value"] for m in run["data"]["metrics"]}
        self.assertEqual(metrics["accuracy"], 0.93)
        self.assertGreater(metrics["greentrack.co2_kg"], 0)
        self.assertGreater(metrics["greentrack.energy_kwh"], 0)

    def test_energy_off(self):
        out, err = self.run_child(
            "-e", uniq("energy"), env=self.env(GREENTRACK_ENERGY="off"))
        c = self.carbon(out["run_id"])
        self.assertEqual(c["samples"], 0)
        self.assertNotIn("energy:", err)
        self.assertNotIn("greentrack.host.cpu",
                         self.run_tags(self.get_run(out["run_id"])))

    def test_bad_scope_is_usage_error(self):
        p = subprocess.run([CLI, "run", "--scope", "rack", "--", "true"],
                           capture_output=True, text=True, env=self.env(),
                           timeout=CLI_TIMEOUT)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--scope", p.stderr)

    def test_plain_mlflow_server_drops_energy_run_goes_on(self):
        proxy = subprocess.Popen(
            [PY, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                              "mlflow_plain_proxy.py"),
             str(self.server.port)], stdout=subprocess.PIPE, text=True)
        try:
            port = int(proxy.stdout.readline().split()[1])
            uri = "http://127.0.0.1:%d" % port
            out, err = self.run_child(
                "-e", uniq("energy"), env=self.env(GREENTRACK_TRACKING_URI=uri))
        finally:
            proxy.terminate()
            proxy.wait(timeout=10)
        self.assertEqual(out["log_status"], 200)
        self.assertIn("energy:", err)  # measured, though not stored
        rid = out["mlflow_run_id"]  # the id the plain server chose
        self.assertNotEqual(rid, out["run_id"])
        self.assertEqual(self.get_run(rid)["info"]["status"], "FINISHED")
        self.assertEqual(self.carbon(rid)["samples"], 0)

    def test_process_scope_busy_child_gets_more(self):
        # the real /proc: the share is real CPU time of greentrack's tree
        # (CMD and its children) over the machine's
        env = self.env()
        del env["GREENTRACK_PROCFS_ROOT"]
        cpu = {}
        for mode in ("busy", "sleep"):
            out, err = self.run_child("--scope", "process", "-e",
                                      uniq("energy"),
                                      child=("1000", "20", "1.0", mode),
                                      env=env)
            c = self.carbon(out["run_id"])
            self.assertEqual(c["scope"], "process")
            self.assertIn("process scope", err)
            cpu[mode] = c["cpu_kwh"] * 3.6e6
        self.assertGreater(cpu["busy"], 0)
        self.assertLessEqual(cpu["busy"], 1000 + 1e-6)
        self.assertGreaterEqual(cpu["sleep"], 0)
        self.assertGreater(cpu["busy"], cpu["sleep"])


if __name__ == "__main__":
    unittest.main()
