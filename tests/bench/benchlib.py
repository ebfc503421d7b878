"""What the Python benchmarks share (bench_leaderboard.py,
bench_registry.py): a server on a database seeded directly with SQLite
(started once to create the schema, stopped, seeded, started again), a
keep-alive connection's timed GET, the median, the RESULT lines run.sh
tabulates and the exit status."""
import argparse
import http.client
import json
import os
import signal
import subprocess
import tempfile
import time


def parse_args(sizes, iters, smoke):
    """BUILD_DIR, an --<name> N for each of 'sizes' (name: default), --iters
    (default 'iters') and --smoke, which sets the values of 'smoke'."""
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    for name, default in sizes.items():
        ap.add_argument("--" + name, type=int, default=default)
    ap.add_argument("--iters", type=int, default=iters)
    ap.add_argument("--smoke", action="store_true")
    a = ap.parse_args()
    if a.smoke:
        for name, value in smoke.items():
            setattr(a, name, value)
    return a


def start(server, db, tmp, extra=()):
    """greentrack-server on port 0 with database 'db', artifacts under
    'tmp' and the options 'extra'; returns the process and its port."""
    p = subprocess.Popen([server, "--port", "0", "--db", db, "--artifact-root",
                          os.path.join(tmp, "art"), "--log-level", "warn",
                          *extra],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         text=True)
    line = p.stdout.readline()
    return p, int(line.rsplit(":", 1)[1])


def stop(p):
    """SIGTERM; the exit status."""
    p.send_signal(signal.SIGTERM)
    return p.wait(timeout=10)


def new_db(build, prefix, name):
    """A new database with the server's schema in a new temporary folder:
    (server binary, folder, database path)."""
    server = os.path.join(build, "bin", "greentrack-server")
    tmp = tempfile.mkdtemp(prefix=prefix)
    db = os.path.join(tmp, name)
    p, _ = start(server, db, tmp)
    stop(p)
    return server, tmp, db


def connect(port):
    return http.client.HTTPConnection("127.0.0.1", port, timeout=60)


def timed_get(c, path):
    """GET 'path' on connection 'c': (seconds, parsed body); the answer
    must be 200."""
    t = time.perf_counter()
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    dt = time.perf_counter() - t
    assert r.status == 200, body[:300]
    return dt, json.loads(body)


def p50(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def result(name, value, digits=2, target=None):
    """Prints "RESULT read.<name> <value> <=<target> yes|NO" for run.sh's
    table, or "- -" when the figure has no target."""
    judged = ("<=%g %s" % (target, "yes" if value <= target else "NO")
              if target is not None else "- -")
    print("RESULT read.%s %.*f %s" % (name, digits, value, judged))


def exit_status(bench, rc):
    """0, or 1 (said) when the server did not exit cleanly ('rc')."""
    if rc != 0:
        print("%s: server exited %d" % (bench, rc))
        return 1
    return 0
