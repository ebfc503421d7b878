# SPDX-License-Identifier: MIT
"""`greentrack models ls`, `models show` and `models alias` against a real
server and its model registry: the tables (latest versions per stage,
aliases, each version's CO2 and metric per kg CO2 as greentrack's
model-versions/carbon gives them), --json (the server's shapes), the
name search and registry filters, moving aliases, and the errors and exit
codes as the `runs` commands print them."""

import json
import os
import re
import shutil
import subprocess
import tempfile
import time

from harness import (ServerTestCase, clean_env, free_port, server_binary,
                     uniq)

BUILD = os.path.dirname(os.path.dirname(server_binary()))
CLI = os.path.join(BUILD, "bin", "greentrack")
CLI_TIMEOUT = 60
GT = "/api/2.0/greentrack/"
J_PER_KWH = 3.6e6


class ModelsCliCase(ServerTestCase):
    """Seeds one experiment of runs with metrics and energy, and models:
    churn (versions 1-3 from runs, 4 from a bucket; champion -> 2, v2
    Production, v1 Archived), sentiment (one version, judged by loss),
    and a model without versions."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.spool = tempfile.mkdtemp(prefix="gt-cli-models-")
        c = cls.client
        cls.churn = uniq("churn")
        cls.sentiment = uniq("sentiment")
        cls.empty = "zz " + uniq("empty")
        exp = c.post("experiments/create", {"name": uniq("models")}).body[
            "experiment_id"]
        t0 = int(time.time() * 1000) - 3600000
        cls.runs = []
        for i, (acc, loss, kwh) in enumerate(
                [(0.8, 0.5, 0.01), (0.9, 0.3, 0.02), (0.85, 0.4, 0.04)]):
            rid = c.post("runs/create", {
                "experiment_id": exp, "run_name": "r%d" % i,
                "start_time": t0}).body["run"]["info"]["run_id"]
            c.post("runs/log-batch", {"run_id": rid, "metrics": [
                {"key": "acc", "value": acc, "step": 1, "timestamp": t0},
                {"key": "loss", "value": loss, "step": 1, "timestamp": t0}]})
            r = c.post(GT + "runs/log-energy", {"run_id": rid, "samples": [{
                "start_time": t0, "end_time": t0 + 600000,
                "cpu_energy_j": kwh * J_PER_KWH, "cpu_method": "rapl"}]})
            assert r.status == 200, r
            c.post("runs/update", {"run_id": rid, "status": "FINISHED",
                                   "end_time": t0 + 600000})
            cls.runs.append(rid)
        c.post("registered-models/create", {
            "name": cls.churn, "description": "Predicts churn.\nWeekly.",
            "tags": [{"key": "team", "value": "growth"}]})
        for rid in cls.runs:
            r = c.post("model-versions/create", {
                "name": cls.churn, "source": "runs:/%s/model" % rid,
                "run_id": rid})
            assert r.status == 200, r
        r = c.post("model-versions/create", {
            "name": cls.churn, "source": "s3://bucket/churn/4"})
        assert r.status == 200, r
        c.post("registered-models/alias", {
            "name": cls.churn, "alias": "champion", "version": "2"})
        c.post("model-versions/transition-stage", {
            "name": cls.churn, "version": "1", "stage": "Archived"})
        c.post("model-versions/transition-stage", {
            "name": cls.churn, "version": "2", "stage": "Production"})
        c.post("registered-models/create", {"name": cls.sentiment})
        c.post("registered-models/set-tag", {
            "name": cls.sentiment, "key": "greentrack.metric",
            "value": "loss"})
        c.post("model-versions/create", {
            "name": cls.sentiment, "source": "runs:/%s/m" % cls.runs[1],
            "run_id": cls.runs[1]})
        c.post("registered-models/create", {"name": cls.empty})

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.spool, ignore_errors=True)
        super().tearDownClass()

    def cli(self, *args):
        env = {k: v for k, v in clean_env().items()
               if not k.startswith("MLFLOW_")}
        env["GREENTRACK_TRACKING_URI"] = self.server.url()
        env["GREENTRACK_SPOOL_DIR"] = self.spool
        p = subprocess.run([CLI] + list(args), capture_output=True,
                           text=True, env=env, timeout=CLI_TIMEOUT,
                           cwd=self.spool)
        return p.returncode, p.stdout, p.stderr

    def assertSameJson(self, got, want, where="$"):
        """Equal JSON, floats to 1e-14 relative: cJSON (the CLI's parser
        and printer) prints a double with 15 digits when those read back
        within its epsilon, so the last digits may differ."""
        if isinstance(want, float) and isinstance(got, (int, float)):
            self.assertLessEqual(abs(got - want), 1e-14 * abs(want),
                                 "%s: %r != %r" % (where, got, want))
        elif isinstance(want, dict) and isinstance(got, dict):
            self.assertEqual(sorted(got), sorted(want), where)
            for k in want:
                self.assertSameJson(got[k], want[k], "%s.%s" % (where, k))
        elif isinstance(want, list) and isinstance(got, list):
            self.assertEqual(len(got), len(want), where)
            for i, (g, w) in enumerate(zip(got, want)):
                self.assertSameJson(g, w, "%s[%d]" % (where, i))
        else:
            self.assertEqual(got, want, where)

    def carbon(self, name, version):
        return self.ok(self.get(GT + "model-versions/carbon",
                                {"name": name, "version": version}))

    def model(self, name):
        return self.ok(self.get("registered-models/get",
                                {"name": name}))["registered_model"]


class LsTest(ModelsCliCase):
    def test_table(self):
        rc, out, err = self.cli("models", "ls")
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["NAME", "LATEST", "VERSIONS",
                                            "ALIASES", "UPDATED",
                                            "DESCRIPTION"])
        names = [ln.split()[0] for ln in lines[1:]]
        self.assertEqual(names, [self.churn, self.sentiment, "zz"])
        churn = lines[1]
        # the latest version in each stage, newest first
        self.assertIn("v4, v2 Production, v1 Archived", churn)
        self.assertIn("champion=v2", churn)
        self.assertRegex(churn, r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
        # the first line of the description, marked as cut
        self.assertTrue(churn.endswith("Predicts churn...."), churn)
        self.assertRegex(lines[3], r"^zz %s\s+-\s+-\s+\d{4}-"
                         % re.escape(self.empty[3:]))

    def test_json(self):
        rc, out, err = self.cli("models", "ls", "--json")
        self.assertEqual(rc, 0, err)
        want = self.ok(self.get("registered-models/search",
                                {"max_results": 1000}))
        self.assertEqual(json.loads(out), want)

    def test_name_search_and_filter(self):
        rc, out, err = self.cli("models", "ls", "--name",
                                self.churn[:5].upper())
        self.assertEqual(rc, 0, err)
        self.assertEqual([ln.split()[0] for ln in out.splitlines()[1:]],
                         [self.churn])
        rc, out, err = self.cli("models", "ls", "--filter",
                                "tags.team = 'growth'", "--json")
        self.assertEqual(rc, 0, err)
        self.assertEqual([m["name"] for m in
                          json.loads(out)["registered_models"]],
                         [self.churn])
        # --name and --filter both hold
        rc, out, err = self.cli("models", "ls", "--name", "sentiment",
                                "--filter", "tags.team = 'growth'")
        self.assertEqual((rc, out), (0, ""))
        self.assertEqual(err, "greentrack: no registered models match\n")
        # a quote in --name is part of the name, not the filter
        rc, out, err = self.cli("models", "ls", "--name", "it's")
        self.assertEqual((rc, out), (0, ""), err)

    def test_max(self):
        rc, out, err = self.cli("models", "ls", "--max", "2")
        self.assertEqual(rc, 0, err)
        self.assertEqual([ln.split()[0] for ln in out.splitlines()[1:]],
                         [self.churn, self.sentiment])
        rc, out, err = self.cli("models", "ls", "--max", "2", "--json")
        self.assertEqual(len(json.loads(out)["registered_models"]), 2)
        rc, out, err = self.cli("models", "ls", "--max", "0")
        self.assertEqual(rc, 2)
        self.assertIn("--max wants 1..50000", err)

    def test_bad_filter(self):
        rc, out, err = self.cli("models", "ls", "--filter", "name = 'x")
        self.assertEqual(rc, 1)
        self.assertEqual(out, "")
        self.assertEqual(err.count("\n"), 1, err)
        self.assertRegex(err, r"^greentrack: cannot list models: Invalid "
                         r"clause.*\(HTTP 400 INVALID_PARAMETER_VALUE\)$")


class ShowTest(ModelsCliCase):
    def test_table(self):
        rc, out, err = self.cli("models", "show", self.churn)
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"(?m)^model\s+%s$" % re.escape(self.churn))
        self.assertIn("description  Predicts churn.\n             Weekly.\n",
                      out)
        self.assertRegex(out, r"(?m)^aliases\s+champion=v2$")
        self.assertRegex(out, r"(?m)^created\s+\d{4}-\d\d-\d\d ")
        self.assertRegex(out, r"(?m)^  team\s+growth$")
        self.assertIn("\nversions (judged by acc, higher is better)\n", out)
        lines = out.split("versions (judged by acc, higher is better)\n")[
            1].splitlines()
        self.assertEqual(lines[0].split(), [
            "VERSION", "STAGE", "ALIASES", "RUN", "ID", "METRIC", "CO2",
            "PER", "KG", "CO2", "CREATED"])
        rows = {ln.split()[0]: ln for ln in lines[1:]}
        self.assertEqual(list(rows), ["4", "3", "2", "1"])
        for v, rid in (("1", self.runs[0]), ("2", self.runs[1]),
                       ("3", self.runs[2])):
            c = self.carbon(self.churn, v)
            cells = rows[v].split()
            self.assertEqual(cells[3], rid)
            self.assertEqual(cells[4], "acc=%.4g" % c["metric"]["value"])
            self.assertEqual(" ".join(cells[5:7]),
                             "%.3g g" % c["carbon"]["co2_g"])
            self.assertEqual(cells[7], "%.4g" % c["metric_per_kg_co2"])
        self.assertEqual(rows["2"].split()[1:3], ["Production", "champion"])
        self.assertEqual(rows["1"].split()[1:3], ["Archived", "-"])
        # version 4 has no source run: no carbon
        self.assertEqual(rows["4"].split()[1:7], ["None"] + ["-"] * 5)
        self.assertEqual(err, "")

    def test_json(self):
        rc, out, err = self.cli("models", "show", self.churn, "--json")
        self.assertEqual(rc, 0, err)
        got = json.loads(out)
        self.assertEqual(got["registered_model"], self.model(self.churn))
        search = self.ok(self.get("model-versions/search", {
            "filter": "name = '%s'" % self.churn}))["model_versions"]
        by_v = {v["version"]: v for v in search}
        self.assertEqual([v["version"] for v in got["model_versions"]],
                         ["4", "3", "2", "1"])
        for v in got["model_versions"]:
            want = dict(by_v[v["version"]])
            want["aliases"] = ["champion"] if v["version"] == "2" else []
            want["carbon"] = (None if v["version"] == "4"
                              else self.carbon(self.churn, v["version"]))
            self.assertSameJson(v, want, "version " + v["version"])

    def test_judged_by_the_models_tag(self):
        rc, out, err = self.cli("models", "show", self.sentiment)
        self.assertEqual(rc, 0, err)
        self.assertIn("versions (judged by loss, lower is better)", out)
        c = self.carbon(self.sentiment, "1")
        self.assertIn("loss=%.4g" % c["metric"]["value"], out)
        self.assertIn("%.4g" % c["metric_per_kg_co2"], out)

    def test_model_without_versions(self):
        rc, out, err = self.cli("models", "show", self.empty)
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"(?m)^model\s+%s$" % re.escape(self.empty))
        self.assertIn("\ntags (none)\n", out)
        self.assertTrue(out.endswith("\nversions (none)\n"), out)
        rc, out, err = self.cli("models", "show", self.empty, "--json")
        self.assertEqual(json.loads(out)["model_versions"], [])

    def test_unknown_model_and_usage(self):
        rc, out, err = self.cli("models", "show", "no such model")
        self.assertEqual(rc, 1)
        self.assertEqual(err, "greentrack: models show: no registered model "
                         "'no such model'\n")
        rc, out, err = self.cli("models", "show")
        self.assertEqual(rc, 2)
        self.assertIn("which model", err)
        rc, out, err = self.cli("models", "show", "a", "b")
        self.assertEqual(rc, 2)


class AliasTest(ModelsCliCase):
    def alias(self, name, alias):
        r = self.get("registered-models/alias", {"name": name,
                                                 "alias": alias})
        return self.ok(r)["model_version"]["version"]

    def test_set_and_move(self):
        rc, out, err = self.cli("models", "alias", self.churn, "challenger",
                                "3")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out, "%s@challenger -> version 3\n" % self.churn)
        self.assertEqual(self.alias(self.churn, "challenger"), "3")
        rc, out, err = self.cli("models", "alias", self.churn, "challenger",
                                "1")
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.alias(self.churn, "challenger"), "1")
        rc, out, err = self.cli("models", "show", self.churn)
        self.assertRegex(out, r"(?m)^aliases\s+challenger=v1 champion=v2$")
        self.assertRegex(out, r"(?m)^1\s+Archived\s+challenger\s")

    def test_errors(self):
        rc, out, err = self.cli("models", "alias", "no-such", "a", "1")
        self.assertEqual((rc, out), (1, ""))
        self.assertEqual(err, "greentrack: models alias: no registered "
                         "model 'no-such'\n")
        rc, out, err = self.cli("models", "alias", self.churn, "a", "9")
        self.assertEqual((rc, out), (1, ""))
        self.assertEqual(err, "greentrack: models alias: model '%s' has no "
                         "version 9\n" % self.churn)
        rc, out, err = self.cli("models", "alias", self.churn, "latest", "1")
        self.assertEqual(rc, 1)
        self.assertEqual(err.count("\n"), 1, err)
        self.assertRegex(err, r"^greentrack: cannot set the alias: .*reserved"
                         r".*\(HTTP 400 INVALID_PARAMETER_VALUE\)$")
        rc, out, err = self.cli("models", "alias", self.churn, "bad name",
                                "1")
        self.assertEqual(rc, 1)
        self.assertIn("HTTP 400", err)
        for args in ([], [self.churn], [self.churn, "a"],
                     [self.churn, "a", "1", "extra"]):
            rc, out, err = self.cli("models", "alias", *args)
            self.assertEqual(rc, 2, args)
            self.assertEqual(err.count("\n"), 1, err)


class HelpAndErrorsTest(ModelsCliCase):
    def test_help(self):
        for args in (["models", "ls", "--help"], ["models", "show", "--help"],
                     ["models", "alias", "--help"], ["help", "models"]):
            rc, out, err = self.cli(*args)
            self.assertEqual(rc, 0, args)
            self.assertIn("usage: greentrack models", out, args)
        for args in (["models", "ls", "--help"], ["models", "show", "--help"],
                     ["models", "alias", "--help"]):
            rc, out, err = self.cli(*args)
            self.assertIn("Exit status", out, args)
        rc, out, err = self.cli("--help")
        for cmd in ("models ls", "models show NAME",
                    "models alias NAME ALIAS VER"):
            self.assertIn(cmd, out)
        rc, out, err = self.cli("models")
        self.assertEqual(rc, 2)
        rc, out, err = self.cli("models", "frobnicate")
        self.assertEqual(rc, 2)
        self.assertEqual(err, "greentrack: models: unknown subcommand "
                         "'frobnicate' (ls, show or alias)\n")
        rc, out, err = self.cli("models", "ls", "--bogus")
        self.assertEqual(rc, 2)

    def test_unreachable_server_is_exit_3(self):
        dead = "http://127.0.0.1:%d" % free_port()
        for args in (["models", "ls"], ["models", "show", self.churn],
                     ["models", "alias", self.churn, "x", "1"]):
            rc, out, err = self.cli("--tracking-uri", dead, *args)
            self.assertEqual(rc, 3, (args, err))
            self.assertEqual(err.count("\n"), 1, err)
