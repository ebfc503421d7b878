"""Run heartbeats (POST /api/2.0/greentrack/runs/heartbeat) and the
server's expiry of runs whose heartbeats stop (--heartbeat-timeout)."""
import time

from harness import ServerTestCase

GT = "/api/2.0/greentrack/"


# The expiry under test is timed by nature: a run is KILLED once no
# heartbeat came for this long. The beating run below gets one every
# ~0.2 s, so only a stall of the whole timeout could expire it; waits for
# the silent run's expiry are bounded at 60 s, not at a few seconds.
TIMEOUT_S = 3


class HeartbeatTests(ServerTestCase):
    server_args = ["--heartbeat-timeout", str(TIMEOUT_S)]

    def heartbeat(self, run_id):
        return self.post(GT + "runs/heartbeat", {"run_id": run_id})

    def test_silent_run_is_killed_at_its_last_heartbeat(self):
        beating, silent, plain, finished = (
            self.create_run()["info"]["run_id"] for _ in range(4))
        # 'plain' never sends a heartbeat, as plain MLflow clients
        for rid in (beating, silent, finished):
            self.ok(self.heartbeat(rid))
        self.ok(self.post("runs/update", {"run_id": finished,
                                          "status": "FINISHED",
                                          "end_time": 5}))
        before_ms = int(time.time() * 1000)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            self.ok(self.heartbeat(beating))
            info = self.get_run(silent)["info"]
            if info["status"] == "KILLED":
                break
            time.sleep(0.2)
        info = self.get_run(silent)["info"]
        self.assertEqual(info["status"], "KILLED")
        # the end time is the last heartbeat, not the moment of expiry
        self.assertLessEqual(info["end_time"], before_ms + 50)
        self.assertEqual(self.get_run(beating)["info"]["status"], "RUNNING")
        self.assertEqual(self.get_run(plain)["info"]["status"], "RUNNING")
        done = self.get_run(finished)["info"]
        self.assertEqual((done["status"], done["end_time"]), ("FINISHED", 5))

    def test_unknown_run_and_missing_id(self):
        self.assertNotFound(self.heartbeat("0" * 32))
        self.assertBadParam(self.post(GT + "runs/heartbeat", {}))

    def test_wrong_method(self):
        r = self.get(GT + "runs/heartbeat", {"run_id": "x"})
        self.assertEqual(r.status, 405)
