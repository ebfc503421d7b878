#!/usr/bin/env python3
"""Zone accounting cost: runs/log-energy to a run tagged greentrack.zone
(each write re-reads the run's samples without a measured intensity to
spread them over the zone's recorded periods) against the same writes to
a run without a zone, measured in the same run on the same server.

A loopback fake of the UK Carbon Intensity API supplies 40 recorded
half-hours; N calls of 20 one-second samples each are logged to each run.
Usage: bench_zone.py BUILD_DIR [--calls N] [--smoke]"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
os.environ.setdefault("GREENTRACK_BUILD", "build/release")

from fake_grid import FakeGrid  # noqa: E402
from harness import Server, now_ms  # noqa: E402

PER_CALL = 20


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--calls", type=int, default=500)
    ap.add_argument("--smoke", action="store_true")
    a = ap.parse_args()
    os.environ["GREENTRACK_BUILD"] = a.build
    if a.smoke:
        a.calls = 20
    fake = FakeGrid().start()
    base = now_ms() - 20 * 3600 * 1000
    fake.uk_history = [{"start_ms": base + i * 1800000,
                        "end_ms": base + (i + 1) * 1800000,
                        "forecast": 100 + i, "actual": 90 + i}
                       for i in range(40)]
    env = fake.server_env(em=False, wt=False)
    env["GREENTRACK_DURABILITY"] = "normal"
    server = Server(env=env).start()
    c = server.client()

    def timed(zone):
        r = c.post("runs/create", {"experiment_id": "0"})
        rid = r.body["run"]["info"]["run_id"]
        if zone:
            c.post("runs/set-tag", {"run_id": rid, "key": "greentrack.zone",
                                    "value": zone})
            r = c.post("/api/2.0/greentrack/grid/refresh?zone=%s&kind=actual"
                       % zone, {})
            assert r.status == 200, r
        k = 0
        t0 = time.monotonic()
        for _ in range(a.calls):
            samples = []
            for _ in range(PER_CALL):
                st = base + k * 1000
                k += 1
                samples.append({"start_time": st, "end_time": st + 1000,
                                "cpu_energy_j": 10.0, "cpu_method": "rapl"})
            r = c.post("/api/2.0/greentrack/runs/log-energy",
                       {"run_id": rid, "samples": samples})
            assert r.status == 200, r
        dt = time.monotonic() - t0
        carbon = c.get("/api/2.0/greentrack/runs/carbon",
                       {"run_id": rid}).body
        return dt, carbon

    plain, _ = timed(None)
    zoned, carbon = timed("GB")
    assert carbon.get("zone") == "GB", carbon
    server.stop()
    server.cleanup()
    fake.stop()
    n = a.calls * PER_CALL
    print("log-energy, %d calls x %d samples (%d samples per run): no zone "
          "%.2f s, zone GB %.2f s (%s)" % (a.calls, PER_CALL, n, plain, zoned,
                                          carbon.get("intensity_source")))
    print("RESULT zone.plain_ms_per_call %.2f - -" % (plain * 1e3 / a.calls))
    print("RESULT zone.zoned_ms_per_call %.2f - -" % (zoned * 1e3 / a.calls))
    print("RESULT zone.zoned_vs_plain %.2f - -" % (zoned / plain))
    return 0


if __name__ == "__main__":
    sys.exit(main())
