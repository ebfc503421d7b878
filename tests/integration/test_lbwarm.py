# SPDX-License-Identifier: MIT
"""The leaderboard warm-up after a restart (server/lbwarm.h): the keys a
server served are remembered in the database (schema 009), and the next
start builds their boards in the background. Checked here: the keys are
recorded; after a restart a board is served from the warm cache (an
out-of-band change to the database, which the server cannot see, is not
in it); /health, writes and board requests are answered while the
warm-up is held at its test gate; a write made while a board was being
warmed is in the next answer; bad remembered keys are skipped. Nothing
here depends on timing: the warm-up is observed through its log lines
and held by the gate file."""
import os
import time
import unittest

from harness import Client, Server, ServerTestCase, db_execute, db_rows

GT = "/api/2.0/greentrack/"
WAIT_S = 60  # generous bound for a log line to appear (never a timing test)


def wait_for_line(srv, needle, timeout=WAIT_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = srv.stderr_text()
        for line in text.splitlines():
            if needle in line:
                return line
        if not srv.alive():
            break
        time.sleep(0.05)
    raise AssertionError("no log line with %r; stderr:\n%s"
                         % (needle, srv.stderr_text()[-3000:]))


class WarmupTests(unittest.TestCase):
    maxDiff = 4000

    def ok(self, resp):
        self.assertEqual(resp.status, 200, "expected 200, got %r" % (resp,))
        return resp.body

    def start(self, tmpdir=None, db=None, env=None):
        srv = Server(args=["--log-level", "info"], tmpdir=tmpdir, db=db,
                     env=env, label="lbwarm").start()
        self.servers.append(srv)
        return srv, Client(srv.host, srv.port)

    def setUp(self):
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            rc, _ = s.stop()
            self.assertEqual(rc, 0, s.stderr_text()[-2000:])
        for s in self.servers:
            s.cleanup()  # removes the directory only for its owner

    def board(self, c, **q):
        q.setdefault("metric", "acc")
        return self.ok(c.get(GT + "leaderboard", q))

    @staticmethod
    def accs(board):
        return {r["run_id"]: r["metric_value"] for r in board["runs"]}

    def seed(self, c):
        """An experiment of 4 runs with acc and energy; returns (exp, runs)."""
        exp = self.ok(c.post("experiments/create",
                             {"name": "warm-%d" % os.getpid()}))[
                                 "experiment_id"]
        runs = []
        for i in range(4):
            rid = self.ok(c.post("runs/create", {"experiment_id": exp}))[
                "run"]["info"]["run_id"]
            self.ok(c.post("runs/log-batch", {
                "run_id": rid,
                "metrics": [{"key": "acc", "value": 0.5 + i / 10,
                             "timestamp": 1}],
                "params": [{"key": "lr", "value": str(i)}],
                "tags": [{"key": "greentrack.country", "value": "FRA"}]}))
            self.ok(c.post(GT + "runs/log-energy", {
                "run_id": rid, "samples": [{
                    "start_time": 0, "end_time": 1000,
                    "cpu_energy_j": (i + 1) * 1000.0,
                    "cpu_method": "rapl"}]}))
            runs.append(rid)
        return exp, runs

    def first_life(self):
        """A server that serves two boards and stops; returns (srv, exp,
        runs, keys) with keys the two queries."""
        srv, c = self.start()
        exp, runs = self.seed(c)
        k1 = {"experiment_id": exp}
        k2 = {"experiment_id": exp, "direction": "min",
              "filter": "params.lr != '3'"}
        self.assertEqual(len(self.board(c, **k1)["runs"]), 4)
        self.assertEqual(len(self.board(c, **k2)["runs"]), 3)
        self.board(c, **k1)  # served again: recorded once
        c.close()
        rc, _ = srv.stop()
        self.assertEqual(rc, 0)
        return srv, exp, runs, (k1, k2)

    def keys_in_db(self, db):
        return sorted(db_rows(
            db, "SELECT experiment_id, metric, filter, options "
            "FROM leaderboard_keys"))

    def test_keys_recorded_and_board_served_warm_after_restart(self):
        srv, exp, runs, (k1, k2) = self.first_life()
        self.assertEqual(self.keys_in_db(srv.db), sorted([
            (int(exp), "acc", "", "direction=max"),
            (int(exp), "acc", "params.lr != '3'", "direction=min")]))
        # Each life: once warm, change run 0's acc behind the server's
        # back; a board built now would show it, the warm one does not.
        # (Only the first board request of a life can tell: the server
        # notices the outside write at its next commit, such as the one
        # recording the key, and then rebuilds every board.)
        old = 0.5
        for i, key in enumerate((k1, k2, k1)):
            srv2, c = self.start(tmpdir=srv.tmpdir, db=srv.db)
            line = wait_for_line(srv2, "leaderboard warm-up: ")
            self.assertIn("2 of 2 boards ready", line)
            db_execute(srv.db, "UPDATE latest_metrics SET value = ? WHERE "
                       "key = 'acc' AND run_pk = (SELECT run_pk FROM runs "
                       "WHERE run_id = ?)", (0.01 * (i + 1), runs[0]))
            self.assertEqual(self.accs(self.board(c, **key))[runs[0]], old)
            old = 0.01 * (i + 1)
            if i < 2:
                c.close()
                self.assertEqual(srv2.stop()[0], 0)
        # A write through the server reaches the boards.
        self.ok(c.post("runs/log-metric", {"run_id": runs[1], "key": "acc",
                                          "value": 0.99, "timestamp": 2}))
        self.assertEqual(self.accs(self.board(c, **k1))[runs[1]], 0.99)
        self.assertEqual(self.accs(self.board(c, **k2))[runs[1]], 0.99)
        c.close()
        self.assertEqual(self.keys_in_db(srv.db), sorted([
            (int(exp), "acc", "", "direction=max"),
            (int(exp), "acc", "params.lr != '3'", "direction=min")]))

    def test_health_writes_and_requests_while_warmup_is_held(self):
        srv, exp, runs, (k1, k2) = self.first_life()
        gate = os.path.join(srv.tmpdir, "gate")
        srv2, c = self.start(tmpdir=srv.tmpdir, db=srv.db,
                             env={"GREENTRACK_TEST_WARMUP_GATE": gate})
        # The first board to warm has read its generation and waits.
        held = wait_for_line(srv2, "waits for the test gate")
        held_min = "direction=min" in held
        self.assertEqual(c.get("/health").status, 200)
        self.ok(c.post("runs/log-metric", {"run_id": runs[2], "key": "acc",
                                          "value": 0.77, "timestamp": 2}))
        # The other board is asked for now: answered, with the write.
        other = k1 if held_min else k2
        self.assertEqual(self.accs(self.board(c, **other))[runs[2]], 0.77)
        self.assertNotIn("boards ready", srv2.stderr_text())
        open(gate, "w").close()
        self.assertIn("2 of 2 boards ready",
                      wait_for_line(srv2, "leaderboard warm-up: 2 of"))
        # The held board was warmed at the generation before the write:
        # the next request sees the write all the same.
        held_key = k2 if held_min else k1
        self.assertEqual(self.accs(self.board(c, **held_key))[runs[2]], 0.77)
        self.assertEqual(self.accs(self.board(c, **other))[runs[2]], 0.77)
        c.close()

    def test_bad_keys_are_skipped(self):
        srv, exp, runs, (k1, k2) = self.first_life()
        db_execute(srv.db, "INSERT INTO leaderboard_keys VALUES "
                   "(?, 'acc', '', 'direction=sideways', 1), "
                   "(987654, 'acc', '', 'direction=max', 2), "
                   "(?, 'acc', 'no such ((', 'direction=max', 3)", (exp, exp))
        srv2, c = self.start(tmpdir=srv.tmpdir, db=srv.db)
        self.assertIn("2 of 5 boards ready",
                      wait_for_line(srv2, "leaderboard warm-up: 2 of"))
        self.assertIn("direction=sideways", srv2.stderr_text())
        self.assertEqual(len(self.board(c, **k1)["runs"]), 4)
        c.close()


class JoinedReadTests(ServerTestCase):
    """The board's rows come from one joined statement; a board patched
    after writes to more runs than one statement takes (500) reads them in
    several, and must equal the values written."""

    def test_patch_of_many_runs(self):
        exp = self.create_experiment()
        runs = []
        for i in range(620):
            rid = self.create_run(exp)["info"]["run_id"]
            self.ok(self.post("runs/log-batch", {"run_id": rid, "metrics": [
                {"key": "acc", "value": i / 1000, "timestamp": 1}]}))
            runs.append(rid)
        q = {"experiment_id": exp, "metric": "acc", "max_results": 1000}
        first = self.ok(self.get(GT + "leaderboard", q))
        self.assertEqual(len(first["runs"]), 620)
        # 610 runs change (and one more is deleted): the next request
        # patches the cached board with their rows
        for i, rid in enumerate(runs[:610]):
            self.ok(self.post("runs/log-batch", {"run_id": rid, "metrics": [
                {"key": "acc", "value": 1 + i / 1000, "timestamp": 2}]}))
        self.ok(self.post("runs/delete", {"run_id": runs[615]}))
        got = {r["run_id"]: r["metric_value"]
               for r in self.ok(self.get(GT + "leaderboard", q))["runs"]}
        want = {rid: (1 + i / 1000 if i < 610 else i / 1000)
                for i, rid in enumerate(runs) if i != 615}
        self.assertEqual(got, want)


if __name__ == "__main__":
    unittest.main()
