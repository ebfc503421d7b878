#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Soak under hostile load (issue 17; `make bench-soak`, not in CI).

Two phases, each on a fresh server with the same seeded data:

  baseline  64 well-behaved clients (8 processes x 8 threads) doing mixed
            tracking for SOAK_BASELINE_MINUTES (default: SOAK_MINUTES)
  hostile   the same 64 clients for SOAK_MINUTES (default 30), plus one
            hostile client cycling the attacks of issue 17: runs/search
            and get-history replies it never reads (six sockets held),
            order_by with 70 metric keys, energy samples of 1e308 J, a
            100 KB run_name and a 1 MB user_id, numbers as "0x10",
            grid/refresh of many zones, CSV exports of formula names

Each well-behaved client creates runs in its own experiment and loops over
log-metric (45 %), log-batch of 50 points (20 %), set-tag (5 %), runs/get
(10 %), runs/search of its experiment (10 %) and get-history (10 %), with
20 ms of think time, ending and starting runs as it goes. Reported: the
server's RSS every second (min, median, max, and the curve in tenths of
the phase), each phase's request and error counts, p50/p99/max latency of
the well-behaved requests, the hostile client's answers by status.

It fails (exit 1) only when a well-behaved request failed or the server
died; it never judges a time. Usage:

  SOAK_MINUTES=3 python3 tests/bench/bench_soak.py build/release [--json F]
"""
import http.client
import json
import multiprocessing as mp
import os
import random
import socket
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402  (Server: port 0, temporary DB, clean env)
# raw requests here send a Host without the port (harness.RAW_HOST_ENV)
harness.SERVER_ENV_DEFAULTS.update(harness.RAW_HOST_ENV)

API = "/api/2.0/mlflow/"
GT = "/api/2.0/greentrack/"
PROCS, THREADS = 8, 8
THINK_S = 0.020


def rss_mb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


class Conn:
    def __init__(self, host, port, timeout=60):
        self.host, self.port, self.timeout = host, port, timeout
        self.c = None

    def req(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        hdrs = {"Content-Type": "application/json"} if data else {}
        for attempt in (0, 1):
            if self.c is None:
                self.c = http.client.HTTPConnection(self.host, self.port,
                                                    timeout=self.timeout)
            try:
                self.c.request(method, path, data, hdrs)
                r = self.c.getresponse()
                raw = r.read()
                if r.will_close:
                    self.c.close()
                    self.c = None
                return r.status, raw
            except (http.client.RemoteDisconnected, BrokenPipeError,
                    ConnectionResetError):
                self.c.close()
                self.c = None
                if attempt:
                    raise
        return 0, b""

    def post(self, path, body):
        return self.req("POST", path, body)

    def get(self, path):
        return self.req("GET", path)


def seed(host, port):
    """The hostile client's data: 8 runs with 3.2 MB of tags each, a
    200,000-point metric, runs named as spreadsheet formulas."""
    c = Conn(host, port)
    st, raw = c.post(API + "experiments/create", {"name": "hostile-data"})
    exp = json.loads(raw)["experiment_id"]
    val = "x" * 8000
    for i in range(8):
        st, raw = c.post(API + "runs/create",
                         {"experiment_id": exp,
                          "run_name": '=HYPERLINK("http://x/%d","y")' % i})
        rid = json.loads(raw)["run"]["info"]["run_id"]
        for b in range(4):
            tags = [{"key": "t%d_%03d" % (b, k), "value": val}
                    for k in range(100)]
            c.post(API + "runs/log-batch", {"run_id": rid, "tags": tags})
    st, raw = c.post(API + "runs/create", {"experiment_id": exp})
    hist = json.loads(raw)["run"]["info"]["run_id"]
    for k in range(200):
        pts = [{"key": "h", "value": i * 0.5, "timestamp": i, "step": i}
               for i in range(k * 1000, (k + 1) * 1000)]
        c.post(API + "runs/log-batch", {"run_id": hist, "metrics": pts})
    return exp, hist


# ---- well-behaved clients ---------------------------------------------------

def client_thread(host, port, cid, stop_at, out):
    rnd = random.Random(cid)
    c = Conn(host, port)
    lat, errors, count = [], 0, 0

    def call(method, path, body=None, expect=200):
        nonlocal errors, count
        t0 = time.perf_counter()
        try:
            st, raw = c.req(method, path, body)
        except (OSError, http.client.HTTPException):
            st, raw = 0, b""
        lat.append(time.perf_counter() - t0)
        count += 1
        if st != expect:
            errors += 1
            if errors <= 3:
                print("client %d: %s %s -> %s %r" % (cid, method, path, st,
                                                     raw[:200]),
                      file=sys.stderr)
            return None
        return raw

    raw = call("POST", API + "experiments/create",
               {"name": "soak-%d-%d" % (os.getpid(), cid)})
    exp = json.loads(raw)["experiment_id"] if raw else "0"
    run, step, ops = None, 0, 0
    while time.monotonic() < stop_at:
        if run is None or ops > 400:
            if run:
                call("POST", API + "runs/update",
                     {"run_id": run, "status": "FINISHED",
                      "end_time": harness.now_ms()})
            raw = call("POST", API + "runs/create",
                       {"experiment_id": exp, "start_time": harness.now_ms()})
            run = json.loads(raw)["run"]["info"]["run_id"] if raw else None
            ops = 0
            if not run:
                time.sleep(THINK_S)
                continue
        x = rnd.random()
        step += 1
        ops += 1
        ts = harness.now_ms()
        if x < 0.45:
            call("POST", API + "runs/log-metric",
                 {"run_id": run, "key": "loss", "value": rnd.random(),
                  "timestamp": ts, "step": step})
        elif x < 0.65:
            pts = [{"key": "acc", "value": rnd.random(), "timestamp": ts,
                    "step": step * 100 + i} for i in range(50)]
            call("POST", API + "runs/log-batch",
                 {"run_id": run, "metrics": pts})
        elif x < 0.70:
            call("POST", API + "runs/set-tag",
                 {"run_id": run, "key": "phase", "value": str(step)})
        elif x < 0.80:
            call("GET", API + "runs/get?run_id=" + run)
        elif x < 0.90:
            call("POST", API + "runs/search",
                 {"experiment_ids": [exp], "max_results": 50,
                  "order_by": ["metrics.loss"]})
        else:
            call("GET", API + "metrics/get-history?run_id=%s&metric_key=acc"
                 "&max_results=1000" % run)
        time.sleep(THINK_S)
    out.append((lat, errors, count))


def client_proc(host, port, base_id, stop_at, q):
    out = []
    threads = [threading.Thread(target=client_thread,
                                args=(host, port, base_id + i, stop_at, out))
               for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lat = [x for o in out for x in o[0]]
    q.put((lat, sum(o[1] for o in out), sum(o[2] for o in out)))


# ---- the hostile client -----------------------------------------------------

def stalled(host, port, method, path, body=None):
    s = socket.create_connection((host, port), timeout=10)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    data = b"" if body is None else json.dumps(body).encode()
    head = "%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n" % (
        method, path, len(data))
    if body is not None:
        head += "Content-Type: application/json\r\n"
    s.sendall(head.encode() + b"\r\n" + data)
    return s


def hostile(host, port, exp, hist, stop, tally):
    c = Conn(host, port, timeout=60)
    held = []
    rid = None
    n = 0

    def note(name, st):
        key = "%s %s" % (name, st)
        tally[key] = tally.get(key, 0) + 1

    while not stop.is_set():
        n += 1
        try:
            k = n % 9
            if k in (0, 1):
                path = (API + "runs/search" if k == 0 else
                        API + "metrics/get-history?run_id=%s&metric_key=h"
                        % hist)
                body = {"experiment_ids": [exp]} if k == 0 else None
                held.append(stalled(host, port, "POST" if k == 0 else "GET",
                                    path, body))
                note("stalled-" + ("search" if k == 0 else "history"),
                     "sent")
                while len(held) > 6:
                    held.pop(0).close()
            elif k == 2:
                st, _ = c.post(API + "runs/search", {
                    "experiment_ids": [exp],
                    "order_by": ["metrics.m%d" % i for i in range(70)]})
                note("order_by-70", st)
            elif k == 3:
                if not rid:
                    st, raw = c.post(API + "runs/create",
                                     {"experiment_id": exp})
                    rid = json.loads(raw)["run"]["info"]["run_id"]
                st, _ = c.post(GT + "runs/log-energy", {
                    "run_id": rid, "samples": [
                        {"start_time": 0, "end_time": 1000,
                         "cpu_energy_j": 1e308},
                        {"start_time": 1000, "end_time": 2000,
                         "cpu_energy_j": 1e308}]})
                note("energy-1e308", st)
            elif k == 4:
                st, _ = c.post(API + "runs/create", {
                    "experiment_id": exp, "run_name": "r" * 100000})
                note("run_name-100KB", st)
                st, _ = c.post(API + "runs/create", {
                    "experiment_id": exp, "user_id": "u" * (1 << 20)})
                note("user_id-1MB", st)
            elif k == 5:
                st, _ = c.get(API + "metrics/get-history?run_id=%s&"
                              "metric_key=h&max_results=0x10" % hist)
                note("max_results-0x10", st)
            elif k == 6:
                st, _ = c.post(GT + "grid/refresh?zone=GB-%d" % (n % 17 + 1),
                               {})
                note("grid-refresh", st)
            elif k == 7:
                st, raw = c.get(GT + "runs/export?experiment_id=%s" % exp)
                note("csv-export", st)
                if b"\n=HYPERLINK" in raw or b",=HYPERLINK" in raw:
                    note("csv-export-formula-cell", "seen")
            else:
                st, raw = c.post(API + "runs/search",
                                 {"experiment_ids": [exp]})
                note("search-read", st)
        except (OSError, http.client.HTTPException, ValueError) as e:
            note("hostile-error", type(e).__name__)
            c = Conn(host, port, timeout=60)
        stop.wait(0.05)
    for s in held:
        s.close()


# ---- phases -----------------------------------------------------------------

def pct(xs, p):
    if not xs:
        return 0.0
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100.0 * len(xs)))]


def phase(build, name, minutes, with_hostile):
    os.environ["GREENTRACK_BUILD"] = build
    srv = harness.Server(args=["--log-level", "error"],
                         label="soak-" + name).start()
    try:
        print("[%s] seeding ..." % name, flush=True)
        exp, hist = seed(srv.host, srv.port)
        pid = srv.proc.pid
        stop_at = time.monotonic() + minutes * 60
        q = mp.Queue()
        procs = [mp.Process(target=client_proc,
                            args=(srv.host, srv.port, i * THREADS, stop_at, q))
                 for i in range(PROCS)]
        stop = threading.Event()
        tally = {}
        h = None
        if with_hostile:
            h = threading.Thread(target=hostile,
                                 args=(srv.host, srv.port, exp, hist, stop,
                                       tally))
        t0 = time.monotonic()
        for p in procs:
            p.start()
        if h:
            h.start()
        rss = []
        print("[%s] %d clients%s for %.1f min" % (
            name, PROCS * THREADS, " + hostile" if h else "", minutes),
            flush=True)
        while time.monotonic() < stop_at:
            rss.append((time.monotonic() - t0, rss_mb(pid)))
            if not srv.alive():
                break
            time.sleep(1.0)
        results = [q.get(timeout=300) for _ in procs]
        for p in procs:
            p.join(60)
        stop.set()
        if h:
            h.join(120)
        alive = srv.alive()
        lat = [x for r in results for x in r[0]]
        errors = sum(r[1] for r in results)
        count = sum(r[2] for r in results)
        vals = [v for _, v in rss]
        curve = []
        for i in range(1, 11):
            want = minutes * 60 * i / 10
            pts = [v for t, v in rss if t <= want]
            curve.append(round(pts[-1], 1) if pts else 0.0)
        out = {
            "phase": name, "minutes": minutes, "clients": PROCS * THREADS,
            "hostile": with_hostile, "requests": count, "errors": errors,
            "req_per_s": round(count / (minutes * 60), 1),
            "p50_ms": round(pct(lat, 50) * 1000, 2),
            "p99_ms": round(pct(lat, 99) * 1000, 2),
            "max_ms": round(max(lat) * 1000, 1) if lat else 0.0,
            "rss_min_mb": round(min(vals), 1) if vals else 0.0,
            "rss_median_mb": round(statistics.median(vals), 1) if vals else 0,
            "rss_max_mb": round(max(vals), 1) if vals else 0.0,
            "rss_curve_mb": curve, "hostile_answers": tally,
            "server_alive": alive,
        }
    finally:
        rc, _ = srv.stop()
        srv.cleanup()
    out["server_exit"] = rc
    return out


def main(argv):
    build = argv[1] if len(argv) > 1 else "build/release"
    json_out = None
    if "--json" in argv:
        json_out = argv[argv.index("--json") + 1]
    minutes = float(os.environ.get("SOAK_MINUTES", "30"))
    base_minutes = float(os.environ.get("SOAK_BASELINE_MINUTES", minutes))
    res = [phase(build, "baseline", base_minutes, False),
           phase(build, "hostile", minutes, True)]
    print()
    print("%-9s %6s %9s %7s %8s %8s %8s %8s %8s %8s" % (
        "phase", "min", "requests", "errors", "req/s", "p50 ms", "p99 ms",
        "max ms", "RSS med", "RSS max"))
    for r in res:
        print("%-9s %6.1f %9d %7d %8.1f %8.2f %8.2f %8.1f %8.1f %8.1f" % (
            r["phase"], r["minutes"], r["requests"], r["errors"],
            r["req_per_s"], r["p50_ms"], r["p99_ms"], r["max_ms"],
            r["rss_median_mb"], r["rss_max_mb"]))
    for r in res:
        print("%s RSS by tenth of the phase (MB): %s" % (
            r["phase"], " ".join("%.1f" % v for v in r["rss_curve_mb"])))
    b, h = res
    if b["p99_ms"]:
        print("p99 with the hostile client / without: %.2f" % (
            h["p99_ms"] / b["p99_ms"]))
    print("hostile client's answers: %s" % json.dumps(
        h["hostile_answers"], sort_keys=True))
    if json_out:
        with open(json_out, "w") as f:
            json.dump(res, f, indent=1)
    bad = [r for r in res if r["errors"] or not r["server_alive"] or
           r["server_exit"] != 0]
    if bad:
        print("bench_soak: FAILED (well-behaved errors or the server died)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
