# SPDX-License-Identifier: MIT
"""Reads from a PostgreSQL streaming replica (--db-read, issue 16 item
5): a private primary and a pg_basebackup standby of it
(tests/pg/replica.sh, started here whatever the pass's backend, apart
from make test's cluster), and a server on the pair. With replay paused
on the standby, a write through the server is invisible to another
client's search, history and leaderboard (they read the replica) but
visible at once to the client that wrote (read-your-writes: it reads
the primary until the replica replayed its write); writes keep working;
after resume everyone sees it. The leaderboard built from the replica is
never stale against the replica's counter. A server whose replica is
down starts, answers /health and reads from the primary; one whose
replica stops while it runs falls back too."""
import http.client
import os
import shutil
import subprocess
import time
import unittest

from harness import Client, Server, uniq

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
REPLICA_SH = os.path.join(ROOT, "tests", "pg", "replica.sh")
PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
PSQL = os.path.join(PG_BIN, "psql")
GT = "/api/2.0/greentrack/"
MJ36 = 3.6e6  # joules in one kWh


def psql(url, sql):
    return subprocess.run([PSQL, "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                           "-d", url, "-c", sql], check=True,
                          capture_output=True, text=True).stdout.strip()


class From(Client):
    """A client whose connections come from 'source' (a loopback address
    other than 127.0.0.1 is another client identity for the server)."""

    def __init__(self, host, port, source):
        super().__init__(host, port, keep_alive=False)
        self.source = source

    def request(self, *args, **kw):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(
                self.host, self.port, timeout=self.timeout,
                source_address=(self.source, 0))
        return super().request(*args, **kw)


def wait_for(pred, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return pred()


@unittest.skipIf(not os.path.exists(os.path.join(PG_BIN, "pg_basebackup")),
                 "pg_basebackup is missing (Debian package postgresql-15)")
class Replica(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        out = subprocess.run(["sh", REPLICA_SH, "start"], capture_output=True,
                             text=True)
        if out.returncode != 0:
            raise AssertionError("cannot start the PostgreSQL pair: " +
                                 out.stderr.strip())
        cls.dir, cls.primary, cls.standby = out.stdout.split()[:3]
        cls.servers = []
        try:
            cls.server = cls.start_server(cls.standby, "replica")
        except Exception:
            cls.tearDownClass()
            raise
        s = cls.server
        cls.writer = From(s.host, s.port, "127.0.0.2")
        cls.other = From(s.host, s.port, "127.0.0.3")

    @classmethod
    def start_server(cls, read_url, label):
        s = Server(db=cls.primary, label=label,
                   args=["--db-read", read_url, "--log-level", "info"])
        cls.servers.append(s)
        s.start()
        return s

    @classmethod
    def tearDownClass(cls):
        try:
            psql(cls.standby, "SELECT pg_wal_replay_resume()")
        except Exception:
            pass
        for s in getattr(cls, "servers", []):
            s.stop()
            s.cleanup()
        subprocess.run(["sh", REPLICA_SH, "stop", cls.dir], check=False)

    def ok(self, resp):
        self.assertEqual(resp.status, 200, resp)
        return resp.body

    def pause(self):
        psql(self.standby, "SELECT pg_wal_replay_pause()")
        self.assertTrue(wait_for(lambda: psql(
            self.standby, "SELECT pg_get_wal_replay_pause_state()") ==
            "paused"))

    def resume(self):
        psql(self.standby, "SELECT pg_wal_replay_resume()")

    def caught_up(self):
        lsn = psql(self.primary, "SELECT pg_current_wal_insert_lsn()")
        return wait_for(lambda: psql(
            self.standby, "SELECT pg_last_wal_replay_lsn() >= '%s'" % lsn)
            == "t")

    def search(self, via, exp):
        body = self.ok(via.post("runs/search", {"experiment_ids": [exp]}))
        return sorted(r["info"]["run_id"] for r in body.get("runs", []))

    def history(self, via, rid, key="loss"):
        return [m["value"] for m in self.ok(via.get(
            "metrics/get-history", {"run_id": rid, "metric_key": key}))
            .get("metrics", [])]

    def board(self, via, exp):
        return [x["run_id"] for x in self.ok(via.get(
            GT + "leaderboard", {"experiment_id": exp, "metric": "acc"}))
            ["runs"]]

    def new_experiment(self):
        return self.ok(self.writer.post(
            "experiments/create", {"name": uniq("replica")}))["experiment_id"]

    def new_run(self, exp):
        return self.ok(self.writer.post(
            "runs/create", {"experiment_id": exp}))["run"]["info"]["run_id"]

    def energy(self, rid, acc):
        self.ok(self.writer.post("runs/log-batch", {
            "run_id": rid,
            "metrics": [{"key": "acc", "value": acc, "timestamp": 1}],
            "tags": [{"key": "greentrack.country", "value": "FRA"}]}))
        self.ok(self.writer.post(GT + "runs/log-energy", {
            "run_id": rid, "samples": [{
                "start_time": 0, "end_time": 1000,
                "cpu_energy_j": MJ36, "cpu_method": "rapl"}]}))

    def test_reads_come_from_the_replica_and_follow_the_writer(self):
        exp = self.new_experiment()
        first = self.new_run(exp)
        self.ok(self.writer.post("runs/log-metric", {
            "run_id": first, "key": "loss", "value": 1.0, "timestamp": 1,
            "step": 0}))
        self.assertTrue(self.caught_up())
        # the other client reads what was replayed
        self.assertTrue(wait_for(lambda: self.search(self.other, exp) ==
                                 [first]))
        self.pause()
        try:
            # writes still succeed while replay is paused
            second = self.new_run(exp)
            self.ok(self.writer.post("runs/log-metric", {
                "run_id": first, "key": "loss", "value": 0.5,
                "timestamp": 2, "step": 1}))
            # the writer reads its own writes at once (from the primary)
            self.assertEqual(self.search(self.writer, exp),
                             sorted([first, second]))
            self.assertEqual(self.history(self.writer, first), [1.0, 0.5])
            # another client reads the replica, which has not replayed them
            for _ in range(3):
                self.assertEqual(self.search(self.other, exp), [first])
                self.assertEqual(self.history(self.other, first), [1.0])
        finally:
            self.resume()
        self.assertTrue(wait_for(lambda: self.search(self.other, exp) ==
                                 sorted([first, second])))
        self.assertEqual(self.history(self.other, first), [1.0, 0.5])
        # once the replica replayed the write, the writer reads it too
        self.assertEqual(self.search(self.writer, exp),
                         sorted([first, second]))

    def test_leaderboard_on_the_replica_follows_its_counter(self):
        exp = self.new_experiment()
        low, high = self.new_run(exp), self.new_run(exp)
        self.energy(low, 0.5)
        self.energy(high, 0.6)
        self.assertTrue(self.caught_up())
        self.assertTrue(wait_for(lambda: self.board(self.other, exp) ==
                                 [high, low]))
        self.assertEqual(self.board(self.other, exp), [high, low])  # cached
        self.pause()
        try:
            # 12x the CO2 per kWh for 'high': the order flips
            self.ok(self.writer.post("runs/set-tag", {
                "run_id": high, "key": "greentrack.country",
                "value": "POL"}))
            self.assertEqual(self.board(self.writer, exp), [low, high])
            # the replica's board is the replica's data, cached or not
            self.assertEqual(self.board(self.other, exp), [high, low])
            self.assertEqual(self.board(self.other, exp), [high, low])
        finally:
            self.resume()
        # the replica's counter moved with the replay: rebuilt, never stale
        self.assertTrue(wait_for(lambda: self.board(self.other, exp) ==
                                 [low, high]))
        self.ok(self.writer.post("runs/delete", {"run_id": low}))
        self.assertEqual(self.board(self.writer, exp), [high])
        self.assertTrue(wait_for(lambda: self.board(self.other, exp) ==
                                 [high]))

    def test_replica_down_at_start(self):
        # nothing listens on port 1: the replica is unreachable
        s = self.start_server(
            "postgresql://postgres@127.0.0.1:1/greentrack?connect_timeout=2",
            "replica-down")
        c = s.client()
        try:
            self.assertEqual(c.get("/health").status, 200)
            exp = self.ok(c.post("experiments/create",
                                 {"name": uniq("down")}))["experiment_id"]
            rid = self.ok(c.post("runs/create", {"experiment_id": exp}))[
                "run"]["info"]["run_id"]
            other = From(s.host, s.port, "127.0.0.4")
            self.assertEqual(self.search(other, exp), [rid])
            self.assertEqual(self.board(other, exp), [rid])
        finally:
            c.close()
        log = s.stderr_text()
        self.assertEqual(log.count("read replica unreachable"), 1, log)

    def test_zz_replica_stops_while_running(self):
        exp = self.new_experiment()
        rid = self.new_run(exp)
        self.assertTrue(self.caught_up())
        self.assertTrue(wait_for(lambda: self.search(self.other, exp) ==
                                 [rid]))
        subprocess.run(["sh", REPLICA_SH, "stop-standby", self.dir],
                       check=True)
        try:
            # a read on the lost connection may fail once (503, retryable);
            # the next ones read the primary
            got = None
            for _ in range(3):
                r = self.other.post("runs/search", {"experiment_ids": [exp]})
                if r.status == 200:
                    got = r
                    break
                self.assertEqual(r.status, 503, r)
            self.assertIsNotNone(got)
            self.assertEqual([x["info"]["run_id"] for x in got.body["runs"]],
                             [rid])
            self.assertEqual(self.search(self.other, exp), [rid])
        finally:
            subprocess.run(["sh", REPLICA_SH, "start-standby", self.dir],
                           check=True)
        self.assertIn("read replica unreachable",
                      self.server.stderr_text())


if __name__ == "__main__":
    unittest.main()
