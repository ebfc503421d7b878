# SPDX-License-Identifier: MIT
"""Carbon-aware scheduling in the `greentrack` CLI against the real server,
whose grid provider (UK Carbon Intensity) is the loopback fake of
tests/integration/fake_grid.py: `greentrack when` (advice for people and
--json, with an experiment's typical run, errors: bad durations and options
exit 2, provider down exits 1 with the server's message, server unreachable
exits 3) and `greentrack run --when-green` (waits for a best start a few
seconds ahead and tags the run; provider down runs at once with the error
tag; SIGTERM while waiting runs nothing and creates no run)."""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from fake_grid import FakeGrid, now_ms
from harness import ServerTestCase, clean_env, free_port, server_binary, uniq

BUILD = os.path.dirname(os.path.dirname(server_binary()))
CLI = os.path.join(BUILD, "bin", "greentrack")
CLI_TIMEOUT = 60
J_PER_KWH = 3.6e6


def cli_env(uri, spool, **extra):
    env = {k: v for k, v in clean_env().items()
           if not k.startswith("MLFLOW_")}
    env["GREENTRACK_TRACKING_URI"] = uri
    env["GREENTRACK_SPOOL_DIR"] = spool
    env["TZ"] = "UTC"
    env.update(extra)
    return env


def set_forecast(fake, spans):
    """The fake UK API's forecast: (from_s, to_s, g_per_kwh) spans in
    seconds relative to now."""
    base = now_ms()
    fake.uk_forecast = [{"start_ms": base + int(a * 1000),
                         "end_ms": base + int(b * 1000), "forecast": g,
                         "actual": None} for a, b, g in spans]


class WhenCase(ServerTestCase):
    """One fake provider and one server configured to use it (forecasts
    never cached, so each test's forecast is fetched afresh). With
    fake_down the server's provider address has nobody listening."""

    fake_down = False

    @classmethod
    def setUpClass(cls):
        cls.fake = FakeGrid().start()
        env = {"GREENTRACK_GRID_TTL_S": "0", "GREENTRACK_GRID_REFRESH_S": "0"}
        if not cls.fake_down:
            env.update(cls.fake.server_env(em=False, wt=False))
        cls.server_env = env
        cls.spool = tempfile.mkdtemp(prefix="gt-when-spool-")
        try:
            super().setUpClass()
        except Exception:
            cls.fake.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.fake.stop()
            shutil.rmtree(cls.spool, ignore_errors=True)

    def env(self, **extra):
        return cli_env(self.server.url(), self.spool, **extra)

    def cli(self, *args, env=None, timeout=CLI_TIMEOUT):
        p = subprocess.run([CLI] + list(args), capture_output=True,
                           text=True, env=env or self.env(),
                           timeout=timeout, cwd=self.spool)
        return p.returncode, p.stdout, p.stderr

    def experiment_id(self, name):
        r = self.get("experiments/get-by-name", {"experiment_name": name})
        return self.ok(r)["experiment"]["experiment_id"]

    def runs_of(self, name):
        r = self.get("experiments/get-by-name", {"experiment_name": name})
        if r.status == 404:
            return []
        exp = self.ok(r)["experiment"]["experiment_id"]
        return self.ok(self.search_runs([exp])).get("runs", [])

    def seed_experiment(self, name, zone="GB", kwh=0.5, minutes=30, n=3):
        """n FINISHED runs tagged with 'zone', each 'minutes' long with
        'kwh' of energy logged."""
        exp = self.create_experiment(name)
        end = int(time.time() * 1000) - 3600 * 1000
        for _ in range(n):
            start = end - minutes * 60 * 1000
            run = self.create_run(exp, start_time=start)
            rid = run["info"]["run_id"]
            self.ok(self.post("runs/set-tag", {
                "run_id": rid, "key": "greentrack.zone", "value": zone}))
            self.ok(self.post("/api/2.0/greentrack/runs/log-energy", {
                "run_id": rid, "samples": [{
                    "start_time": start, "end_time": end,
                    "cpu_energy_j": kwh * J_PER_KWH,
                    "cpu_method": "rapl"}]}))
            self.ok(self.post("runs/update", {
                "run_id": rid, "status": "FINISHED", "end_time": end}))
        return exp


class WhenAdviceTest(WhenCase):
    def setUp(self):
        # 300 g/kWh for the next hour, then 100 g/kWh for 2 hours, then
        # 300 again: a 1 h job is best started in an hour.
        set_forecast(self.fake, [(-600, 3600, 300), (3600, 3 * 3600, 100),
                                 (3 * 3600, 48 * 3600, 300)])

    def test_json_is_the_servers_answer(self):
        rc, out, err = self.cli("when", "--zone", "GB", "--duration", "1h",
                                "--within", "6h", "--json")
        self.assertEqual(rc, 0, err)
        a = json.loads(out)
        self.assertEqual(a["zone"], "GB")
        self.assertEqual(a["source"], "ukci")
        self.assertEqual(a["duration_minutes"], 60)
        self.assertAlmostEqual(float(a["within_hours"]), 6.0)
        self.assertGreater(a["now_mean_intensity_g_per_kwh"],
                           a["best_mean_intensity_g_per_kwh"])
        self.assertAlmostEqual(a["best_mean_intensity_g_per_kwh"], 100,
                               delta=1)
        self.assertAlmostEqual(a["now_mean_intensity_g_per_kwh"], 300,
                               delta=1)
        self.assertAlmostEqual(a["saving_percent"], 100 * 200 / 300,
                               delta=1)
        self.assertTrue(a["best_start"].endswith("Z"), a)
        self.assertGreaterEqual(a["delay_minutes"], 55)
        self.assertLessEqual(a["delay_minutes"], 61)
        self.assertIsInstance(a["forecast"], list)
        self.assertGreater(len(a["forecast"]), 0)
        self.assertEqual(a["min_saving_percent"], 1)  # the server's default
        # a 67 % saving is below a 70 % threshold: start now
        rc, out, err = self.cli("when", "--zone", "GB", "--duration", "1h",
                                "--within", "6h", "--min-saving", "70",
                                "--json")
        self.assertEqual(rc, 0, err)
        a = json.loads(out)
        self.assertEqual(a["min_saving_percent"], 70)
        self.assertEqual(a["delay_minutes"], 0)
        self.assertAlmostEqual(a["skipped_saving_percent"], 100 * 200 / 300,
                               delta=1)

    def test_human_advice(self):
        rc, out, err = self.cli("when", "--zone", "GB", "--duration", "1h")
        self.assertEqual(rc, 0, err)
        self.assertIn("Greenest start for a 1h job in GB within 24h", out)
        self.assertIn("(ukci", out)
        self.assertRegex(out, r"start +\d{4}-\d\d-\d\d \d\d:\d\d UTC "
                              r"\(\d\d:\d\d UTC local\), in 1h\n")
        self.assertRegex(out, r"end +\d{4}-\d\d-\d\d \d\d:\d\d UTC")
        self.assertIn("300 g/kWh if started now, 100 g/kWh at the best "
                      "start", out)
        self.assertIn("at the best start: 67% less", out)

    def test_zone_from_the_environment(self):
        rc, out, err = self.cli("when", "--json",
                                env=self.env(GREENTRACK_ZONE="GB"))
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out)["zone"], "GB")

    def test_experiment_typical_run(self):
        name = uniq("when-exp")
        exp = self.seed_experiment(name, kwh=0.5, minutes=30)
        rc, out, err = self.cli("when", "--experiment", name, "--json")
        self.assertEqual(rc, 0, err)
        a = json.loads(out)
        self.assertEqual(str(a["experiment_id"]), exp)
        self.assertEqual(a["zone"], "GB")
        self.assertEqual(a["duration_minutes"], 30)
        self.assertEqual(a["runs_considered"], 3)
        self.assertAlmostEqual(a["typical_energy_kwh"], 0.5, 3)
        self.assertGreater(a["expected_co2_g_now"], a["expected_co2_g_best"])
        rc, out, err = self.cli("when", "-e", name)
        self.assertEqual(rc, 0, err)
        self.assertIn("Greenest start for a 30m job in GB", out)
        self.assertIn("experiment %s: 3 runs considered; typical run 0.5 kWh"
                      % name, out)
        self.assertRegex(out, r"CO2 +\d+ g if started now, \d+ g at the best "
                              r"start")

    def test_experiment_without_energy(self):
        name = uniq("when-noenergy")
        exp = self.create_experiment(name)
        run = self.create_run(exp)
        self.ok(self.post("runs/set-tag", {"run_id": run["info"]["run_id"],
                                           "key": "greentrack.zone",
                                           "value": "GB"}))
        rc, out, err = self.cli("when", "-e", name, "--json")
        self.assertEqual(rc, 0, err)
        a = json.loads(out)
        self.assertIsNone(a["typical_energy_kwh"])
        self.assertIsNone(a["expected_co2_g_now"])
        rc, out, err = self.cli("when", "-e", name)
        self.assertEqual(rc, 0, err)
        self.assertIn("no energy logged yet", out)

    def test_unknown_experiment(self):
        rc, out, err = self.cli("when", "-e", uniq("nope"))
        self.assertEqual(rc, 1)
        self.assertIn("no experiment named", err)

    def test_experiment_without_zone_is_the_servers_400(self):
        name = uniq("when-nozone")
        self.create_run(self.create_experiment(name))
        rc, out, err = self.cli("when", "-e", name)
        self.assertEqual(rc, 1, out)
        self.assertIn("cannot get schedule advice", err)
        self.assertIn("HTTP 400", err)

    def test_bad_usage_exits_2(self):
        cases = [
            (["--duration", ""], "empty"),
            (["--duration", "h"], "expected a number"),
            (["--duration", "3x"], "unknown unit"),
            (["--duration", "2d"], "unknown unit"),
            (["--duration", "0"], "more than zero"),
            (["--duration", "99999999999999999999h"], "too long"),
            (["--duration", "1.5h"], "whole numbers"),
            (["--within", "200h"], "168h"),
            (["--min-saving", "101"], "from 0 to 100"),
            (["--min-saving", "x"], "from 0 to 100"),
            (["--duration"], "needs a value"),
            (["--bogus"], "unknown option"),
        ]
        for args, msg in cases:
            with self.subTest(args=args):
                rc, out, err = self.cli("when", "--zone", "GB", *args)
                self.assertEqual(rc, 2, (out, err))
                self.assertIn(msg, err)
                self.assertEqual(out, "")
        rc, out, err = self.cli("when")
        self.assertEqual(rc, 2)
        self.assertIn("--zone", err)

    def test_help(self):
        rc, out, err = self.cli("when", "--help")
        self.assertEqual(rc, 0)
        self.assertIn("usage: greentrack when", out)
        rc, out, err = self.cli("--help")
        self.assertIn("when [OPTIONS]", out)
        rc, out, err = self.cli("run", "--help")
        self.assertIn("--when-green", out)
        self.assertIn("--max-delay", out)

    def test_unreachable_server_exits_3(self):
        env = cli_env("http://127.0.0.1:%d" % free_port(), self.spool)
        rc, out, err = self.cli("when", "--zone", "GB", env=env)
        self.assertEqual(rc, 3, err)
        self.assertIn("cannot get schedule advice", err)


class RunWhenGreenTest(WhenCase):
    def test_waits_for_the_best_start_and_tags_the_run(self):
        # now: 400 g/kWh; from 8 s ahead on: 100 g/kWh (the CLI must ask
        # before then: a slow machine has 7 s, the wait is >= 1 s)
        set_forecast(self.fake, [(-1800, 8, 400), (8, 48 * 3600, 100)])
        name = uniq("green")
        self.seed_experiment(name, kwh=0.2, minutes=1)
        t0 = time.monotonic()
        rc, out, err = self.cli("run", "--when-green", "--zone", "GB",
                                "--max-delay", "10m", "--duration", "1m",
                                "-e", name, "--", "sh", "-c",
                                "echo ran $GREENTRACK_RUN_ID")
        elapsed = time.monotonic() - t0
        self.assertEqual(rc, 0, err)
        self.assertIn("waiting", err)
        self.assertIn("for a greener grid in GB", err)
        rid = out.split()[-1]
        run = self.get_run(rid)
        tags = self.run_tags(run)
        self.assertEqual(run["info"]["status"], "FINISHED")
        delay = int(tags["greentrack.schedule.delay_s"])
        self.assertGreaterEqual(delay, 1, tags)
        self.assertLessEqual(delay, 10, tags)
        self.assertGreaterEqual(elapsed, delay - 1)
        # the experiment's typical run: 0.2 kWh; 400 -> 100 g/kWh
        self.assertGreater(float(tags["greentrack.schedule.co2_saved_g"]), 0)
        self.assertEqual(tags["greentrack.zone"], "GB")
        self.assertNotIn("greentrack.schedule.error", tags)
        # the run started after the wait
        self.assertGreaterEqual(int(run["info"]["start_time"]) / 1000.0,
                                time.time() - elapsed + delay - 2)

    def test_greenest_now_starts_at_once(self):
        set_forecast(self.fake, [(-1800, 48 * 3600, 100)])
        rc, out, err = self.cli("run", "--when-green", "--zone", "GB",
                                "--max-delay", "2h", "--tag",
                                "greentrack.zone=GB-custom", "--",
                                "sh", "-c", "echo $GREENTRACK_RUN_ID")
        self.assertEqual(rc, 0, err)
        self.assertIn("starting now", err)
        tags = self.run_tags(self.get_run(out.split()[-1]))
        self.assertEqual(tags["greentrack.schedule.delay_s"], "0")
        self.assertEqual(tags["greentrack.schedule.co2_saved_g"], "0.0")
        # an explicit --tag wins over the zone of the advice
        self.assertEqual(tags["greentrack.zone"], "GB-custom")

    def test_sigterm_while_waiting_runs_nothing(self):
        set_forecast(self.fake, [(-1800, 120, 400), (120, 48 * 3600, 50)])
        name = uniq("cancel")
        marker = os.path.join(self.spool, uniq("marker"))
        p = subprocess.Popen(
            [CLI, "run", "--when-green", "--zone", "GB", "--max-delay",
             "1h", "-e", name, "--", "touch", marker],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=self.env(), cwd=self.spool)
        try:
            line = p.stderr.readline()  # the "waiting ..." notice
            self.assertIn("waiting", line)
            p.send_signal(signal.SIGTERM)
            rc = p.wait(timeout=CLI_TIMEOUT)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        rest = p.stderr.read()
        p.stdout.close()
        p.stderr.close()
        self.assertEqual(rc, 128 + signal.SIGTERM, rest)
        self.assertIn("no run was created", rest)
        self.assertFalse(os.path.exists(marker))
        self.assertEqual(self.runs_of(name), [])

    def test_bad_options_exit_2_and_run_nothing(self):
        cases = [
            (["--when-green", "--zone", "GB", "--max-delay", "3x"],
             "unknown unit"),
            (["--when-green", "--zone", "GB", "--max-delay", "169h"],
             "168h"),
            (["--when-green", "--zone", "GB", "--duration", "0"],
             "more than zero"),
            (["--zone", "GB"], "go with --when-green"),
            (["--when-green"], "--zone"),  # no zone, no experiment
        ]
        for args, msg in cases:
            with self.subTest(args=args):
                name = uniq("bad")
                exp = ["-e", name] if len(args) > 1 else []
                rc, out, err = self.cli("run", *exp, *args, "--", "true")
                self.assertEqual(rc, 2, err)
                self.assertIn(msg, err)
                self.assertEqual(self.runs_of(name), [])


class ProviderDownTest(WhenCase):
    """The server's provider URL points at a port nobody listens on."""

    fake_down = True

    def test_when_exits_1_with_the_servers_message(self):
        rc, out, err = self.cli("when", "--zone", "GB")
        self.assertEqual(rc, 1, out)
        self.assertEqual(out, "")
        self.assertIn("cannot get schedule advice", err)
        self.assertIn("TEMPORARILY_UNAVAILABLE", err)

    def test_run_starts_at_once_with_the_error_tag(self):
        name = uniq("down")
        t0 = time.monotonic()
        rc, out, err = self.cli("run", "--when-green", "--zone", "GB",
                                "--max-delay", "6h", "-e", name, "--",
                                "sh", "-c", "echo $GREENTRACK_RUN_ID")
        self.assertEqual(rc, 0, err)
        self.assertIn("warning: no schedule advice", err)
        self.assertIn("starting now", err)
        self.assertLess(time.monotonic() - t0, 30)
        run = self.get_run(out.split()[-1])
        tags = self.run_tags(run)
        self.assertEqual(run["info"]["status"], "FINISHED")
        self.assertEqual(tags["greentrack.schedule.delay_s"], "0")
        self.assertIn("TEMPORARILY_UNAVAILABLE",
                      tags["greentrack.schedule.error"])
        self.assertNotIn("greentrack.schedule.co2_saved_g", tags)
        self.assertEqual(tags["greentrack.zone"], "GB")


if __name__ == "__main__":
    unittest.main()
