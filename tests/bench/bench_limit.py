"""Ingest against the bare prototype (issue 12, item 1).

The prototype (`server.c`, its wrk scripts) lives outside the repository, in
the shared tools folder (`../shared/tools/limit` from the repository root,
or GREENTRACK_LIMIT_DIR / --limit-dir); nothing of it is copied here. This
builds it with cc into a temporary folder, then runs, for each workload,
alternating trials on fresh servers and fresh databases in the same folder:
prototype, greentrack, prototype, greentrack, ... with the same wrk script,
and prints the median of each and the ratio greentrack / prototype.

  single: runs/log-metric, a distinct step each, wrk -t1 -c16 (metric.lua)
  batch:  runs/log-batch of 1000 distinct points, wrk -t1 -c4 (batch.lua)

Per trial it also prints the server's CPU (cores, and microseconds per
request: the figure that decides the ratio when the CPU is contended), its
threads, its voluntary and involuntary context switches per request, from
/proc, and the load average before the trial: the machine is shared.

  python3 tests/bench/bench_limit.py BUILD_DIR [--trials 3] [--seconds 4]
      [--workloads single,batch] [--server-args "--threads 1"] [--smoke]

Exit 0; 1 when wrk saw an error or a server did not start or stop cleanly;
2 on a usage or setup error. Without wrk, cc or the prototype's folder it
says so and exits 0 (a skip, as in CI without the shared folder). It never
judges the figures.
"""
import argparse
import json
import os
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
RUN_ID_PROTO = "0123456789abcdef0123456789abcdef"
WORKLOADS = {
    # name: (wrk script, connections, prototype path, greentrack path)
    "single": ("metric.lua", 16, "/log-metric",
               "/api/2.0/mlflow/runs/log-metric"),
    "batch": ("batch.lua", 4, "/log-batch", "/api/2.0/mlflow/runs/log-batch"),
}


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--limit-dir", default=os.environ.get(
        "GREENTRACK_LIMIT_DIR",
        os.path.join(os.path.dirname(ROOT), "shared", "tools", "limit")))
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=4)
    ap.add_argument("--workloads", default="single,batch")
    ap.add_argument("--server-args", default="",
                    help="extra greentrack-server options")
    ap.add_argument("--smoke", action="store_true",
                    help="one trial of 1 s each, 2 connections")
    a = ap.parse_args()
    if a.smoke:
        a.trials, a.seconds = 1, 1
    a.workloads = [w for w in a.workloads.split(",") if w]
    for w in a.workloads:
        if w not in WORKLOADS:
            ap.error("unknown workload " + w)
    return a


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what):
    for _ in range(400):
        if proc.poll() is not None:
            raise RuntimeError(what + " exited at start")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.025)
    raise RuntimeError(what + " did not listen")


def proc_counters(pid):
    """(cpu seconds, threads, voluntary, involuntary switches) of 'pid'."""
    tick = os.sysconf("SC_CLK_TCK")
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / tick
    vol = invol = threads = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches"):
                        vol += int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches"):
                        invol += int(line.split()[1])
            threads += 1
        except OSError:
            pass
    return cpu, threads, vol, invol


class Prototype:
    name = "prototype"

    def __init__(self, binary, tmp):
        self.binary, self.tmp = binary, tmp

    def start(self):
        self.port = free_port()
        db = os.path.join(self.tmp, "limit.db")
        self.proc = subprocess.Popen(
            [self.binary, "-p", str(self.port), "-d", db],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, self.proc, "the prototype")
        return RUN_ID_PROTO

    def path(self, w):
        return WORKLOADS[w][2]

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)


class Greentrack:
    name = "greentrack"

    def __init__(self, build, tmp, extra):
        self.binary = os.path.join(build, "bin", "greentrack-server")
        self.tmp, self.extra = tmp, extra

    def start(self):
        d = self.dir = tempfile.mkdtemp(dir=self.tmp)
        self.proc = subprocess.Popen(
            [self.binary, "--port", "0", "--db", os.path.join(d, "gt.db"),
             "--artifact-root", os.path.join(d, "art"), "--allowed-hosts",
             "127.0.0.1,localhost", "--log-level", "warn"] + self.extra,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"http://[^ ]*:(\d+)", line)
        if not m:
            raise RuntimeError("greentrack did not start: " + line)
        self.port = int(m.group(1))
        body = json.dumps({"experiment_id": "0", "start_time": 1}).encode()
        req = urllib.request.Request(
            "http://127.0.0.1:%d/api/2.0/mlflow/runs/create" % self.port,
            body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)["run"]["info"]["run_id"]

    def path(self, w):
        return WORKLOADS[w][3]

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=30)
        self.proc.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        return rc


def trial(server, workload, a, limit_dir):
    """One fresh server, one wrk run: a dict of figures."""
    script, conns, _, _ = WORKLOADS[workload]
    if a.smoke:
        conns = 2
    load = os.getloadavg()[0]
    run_id = server.start()
    pid = server.proc.pid
    before = proc_counters(pid)
    t0 = time.monotonic()
    out = subprocess.run(
        ["wrk", "-t1", "-c%d" % conns, "-d%ds" % a.seconds,
         "-s", os.path.join(limit_dir, script),
         "http://127.0.0.1:%d" % server.port, "--", run_id,
         server.path(workload)],
        env=dict(os.environ, LUA_DIR=limit_dir), capture_output=True,
        text=True, timeout=a.seconds + 60)
    wall = time.monotonic() - t0
    after = proc_counters(pid)
    rc = server.stop()
    m = re.search(r"RESULT reqs=(\d+) rps=(\d+) pts_s=(\d+) p50_ms=([\d.]+) "
                  r"p99_ms=([\d.]+) errs=(\d+)", out.stdout)
    if out.returncode != 0 or not m:
        raise RuntimeError("wrk failed: " + out.stdout + out.stderr)
    reqs = max(int(m.group(1)), 1)
    return {
        "rps": float(m.group(2)), "pts_s": float(m.group(3)),
        "p50": float(m.group(4)), "p99": float(m.group(5)),
        "errs": int(m.group(6)) + (1 if rc != 0 else 0),
        "cpu": (after[0] - before[0]) / wall, "threads": after[1],
        "cpu_us": (after[0] - before[0]) * 1e6 / reqs,
        "vcs": (after[2] - before[2]) / reqs,
        "ivcs": (after[3] - before[3]) / reqs, "load": load,
    }


def build_prototype(limit_dir, tmp):
    binary = os.path.join(tmp, "limit-server")
    subprocess.run(["cc", "-O2", "-o", binary,
                    os.path.join(limit_dir, "server.c"), "-lmicrohttpd",
                    "-lcjson", "-lsqlite3", "-lpthread"], check=True)
    return binary


def main():
    a = parse_args()
    missing = [t for t in ("wrk", "cc") if not shutil.which(t)]
    if not os.path.isfile(os.path.join(a.limit_dir, "server.c")):
        missing.append(a.limit_dir + "/server.c")
    if missing:
        print("bench_limit: skipped, missing: " + ", ".join(missing))
        return 0
    tmp = tempfile.mkdtemp(prefix="gt-limit.")
    failed = False
    try:
        proto = Prototype(build_prototype(a.limit_dir, tmp), tmp)
        gt = Greentrack(a.build, tmp, shlex.split(a.server_args))
        for w in a.workloads:
            figure = "pts_s" if w == "batch" else "rps"
            got = {"prototype": [], "greentrack": []}
            for i in range(a.trials):
                for server in (proto, gt):
                    r = trial(server, w, a, a.limit_dir)
                    got[server.name].append(r)
                    failed |= r["errs"] > 0
                    print("%s trial %d %-10s %s %10.0f p50 %.2f p99 %.2f ms "
                          "cpu %.2f (%.0f us/req) threads %d cs/req %.2f+%.2f "
                          "errs %d load %.2f" % (
                              w, i + 1, server.name, figure, r[figure],
                              r["p50"], r["p99"], r["cpu"], r["cpu_us"],
                              r["threads"], r["vcs"], r["ivcs"], r["errs"],
                              r["load"]), flush=True)
            med = {k: statistics.median(x[figure] for x in v)
                   for k, v in got.items()}
            ratio = med["greentrack"] / med["prototype"] if \
                med["prototype"] else 0.0
            cpu = {k: statistics.median(x["cpu_us"] for x in v)
                   for k, v in got.items()}
            for side, short in (("prototype", "proto"), ("greentrack", "gt")):
                print("RESULT limit.%s_%s_%s %.0f - -" % (w, short, figure,
                                                        med[side]))
                print("RESULT limit.%s_%s_cpu_us %.0f - -" % (w, short,
                                                           cpu[side]))
            print("RESULT limit.%s_vs_prototype %.3f >=0.9 %s" %
                  (w, ratio, "-" if a.smoke else
                   ("yes" if ratio >= 0.9 else "NO")))
    except (RuntimeError, subprocess.SubprocessError, OSError) as e:
        print("bench_limit: " + str(e), file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failed:
        print("bench_limit: a request failed or a server did not stop "
              "cleanly", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
