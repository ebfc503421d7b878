#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Hostile load against one greentrack-server binary with its default
settings (issue 17), for BENCHMARKS.md's before/after table:

  bodies    30 connections each send a log-batch head declaring 16 MiB and
            then 8 MiB of it (all at once), and hold; the server's peak RSS
            over idle (VmHWM, and VmRSS sampled every 10 ms) and /health's
            latency from another address meanwhile; then the rest of each
            body, and what each got
  zeros     one 16 MiB log-batch body of [0,0,0,...]: its answer, the time
            to it and the peak RSS; then four at once with /health probed
            from another address throughout
  conns     127.0.0.2 opens 2100 connections and sends half a request head
            on each; /health from 127.0.0.3 (5 s limit per try)
  shutdown  SQLite's write lock held from outside (BEGIN IMMEDIATE), five
            log-metric requests, SIGTERM, the lock kept: the exit status
            and what each request got

Usage: GREENTRACK_BUILD=build/release python3 tests/bench/bench_hostile.py
       [ATTACK ...]   (all four by default)
The binary is $GREENTRACK_BUILD/bin/greentrack-server (the harness's rule),
so an older build (a worktree of an earlier commit) runs the same attacks.
"""
import json
import os
import resource
import signal
import socket
import sqlite3
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
os.environ.setdefault("GREENTRACK_BUILD", "build/release")

from harness import Server, now_ms, server_binary  # noqa: E402
import harness  # noqa: E402
# raw requests here send a Host without the port (harness.RAW_HOST_ENV)
harness.SERVER_ENV_DEFAULTS.update(harness.RAW_HOST_ENV)

API = "/api/2.0/mlflow/"
MiB = 1 << 20


def mem_kb(pid, field):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Sampler:
    """Max VmRSS of 'pid' every 10 ms while running."""

    def __init__(self, pid):
        self.pid, self.max_kb = pid, 0
        self.stop_ev = threading.Event()
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()

    def loop(self):
        while not self.stop_ev.is_set():
            self.max_kb = max(self.max_kb, mem_kb(self.pid, "VmRSS"))
            time.sleep(0.01)

    def stop(self):
        self.stop_ev.set()
        self.t.join()
        return self.max_kb


def connect(srv, source=None, timeout=30):
    return socket.create_connection(
        (srv.host, srv.port), timeout=timeout,
        source_address=(source, 0) if source else None)


def head(path, length):
    return (b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
            b"\r\nContent-Length: %d\r\n\r\n" % (path.encode(), length))


def status_of(s, timeout):
    s.settimeout(timeout)
    data = b""
    try:
        while b"\r\n" not in data:
            part = s.recv(4096)
            if not part:
                return None
            data += part
        return int(data.split()[1])
    except (OSError, ValueError, IndexError):
        return None


def health_ms(srv, source, timeout=5.0):
    """/health's latency in ms from 'source', or None (no answer)."""
    t0 = time.monotonic()
    try:
        s = connect(srv, source, timeout)
    except OSError:
        return None
    try:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close"
                  b"\r\n\r\n")
        st = status_of(s, max(0.1, timeout - (time.monotonic() - t0)))
    except OSError:
        st = None
    finally:
        s.close()
    return (time.monotonic() - t0) * 1000 if st == 200 else None


def fmt_ms(xs):
    ok = [x for x in xs if x is not None]
    miss = len(xs) - len(ok)
    if not ok:
        return "no answer in %d tries" % len(xs)
    s = "median %.1f ms, max %.1f ms" % (statistics.median(ok), max(ok))
    return s + (", %d of %d unanswered" % (miss, len(xs)) if miss else "")


def new_server(label, args=None):
    srv = Server(args=args or [], label=label)
    srv.start()
    return srv


def create_run(srv):
    c = srv.client()
    r = c.post("runs/create", {"experiment_id": "0", "start_time": now_ms()})
    c.close()
    return r.body["run"]["info"]["run_id"]


def attack_bodies():
    srv = new_server("bodies")
    try:
        pid = srv.proc.pid
        idle = mem_kb(pid, "VmRSS")
        smp = Sampler(pid)
        socks = [connect(srv) for _ in range(30)]

        def start(s):
            try:
                s.sendall(head(API + "runs/log-batch", 16 * MiB) +
                          b" " * (8 * MiB))
            except OSError:
                pass

        threads = [threading.Thread(target=start, args=(s,)) for s in socks]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        time.sleep(0.5)
        lat = [health_ms(srv, "127.0.0.3") for _ in range(10)]
        peak = max(smp.stop(), mem_kb(pid, "VmHWM"))
        # the rest of each body (all at once: a connection left waiting
        # its turn would meet the request timeout), then what each got
        answers = {}

        def finish(s):
            try:
                s.sendall(b" " * (8 * MiB - 2) + b"{}")
            except OSError:
                pass
            st = status_of(s, 60)
            answers[st] = answers.get(st, 0) + 1
            s.close()

        threads = [threading.Thread(target=finish, args=(s,)) for s in socks]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print("bodies: 30 x (16 MiB declared, 8 MiB sent, held): peak RSS "
              "+%.0f MiB over idle %.0f MiB; /health from 127.0.0.3: %s; "
              "once sent in full, answers %s"
              % ((peak - idle) / 1024, idle / 1024, fmt_ms(lat),
                 dict(sorted(answers.items(), key=str))))
    finally:
        print("  server exit: %r" % (srv.stop()[0],))
        srv.cleanup()


def zeros(size):
    n = (size - 40) // 2
    return b'{"run_id":"x","metrics":[' + b"0," * (n - 1) + b"0]}"


def post_status(srv, path, body, source=None, timeout=60):
    s = connect(srv, source, timeout)
    try:
        s.sendall(head(path, len(body)) + body)
        return status_of(s, timeout)
    except OSError:
        return None
    finally:
        s.close()


def attack_zeros():
    srv = new_server("zeros")
    try:
        pid = srv.proc.pid
        body = zeros(16 * MiB)
        idle = mem_kb(pid, "VmRSS")
        smp = Sampler(pid)
        t0 = time.monotonic()
        st = post_status(srv, API + "runs/log-batch", body)
        el = time.monotonic() - t0
        peak = max(smp.stop(), mem_kb(pid, "VmHWM"))
        print("zeros: one 16 MiB [0,0,...] log-batch: %s in %.2f s; peak RSS "
              "+%.0f MiB over idle %.0f MiB" % (st, el, (peak - idle) / 1024,
                                                 idle / 1024))
        results = []
        threads = [threading.Thread(target=lambda: results.append(
            post_status(srv, API + "runs/log-batch", body))) for _ in range(4)]
        smp = Sampler(pid)
        for t in threads:
            t.start()
        lat = []
        while any(t.is_alive() for t in threads):
            lat.append(health_ms(srv, "127.0.0.3"))
        for t in threads:
            t.join()
        peak4 = max(smp.stop(), mem_kb(pid, "VmHWM"))
        print("  four at once: %s; peak RSS +%.0f MiB; /health from "
              "127.0.0.3 meanwhile: %s" % (sorted(results, key=str),
                                          (peak4 - idle) / 1024, fmt_ms(lat)))
    finally:
        print("  server exit: %r" % (srv.stop()[0],))
        srv.cleanup()


def attack_conns():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    srv = new_server("conns")
    socks = []
    try:
        pid = srv.proc.pid
        idle = mem_kb(pid, "VmRSS")
        t0 = time.monotonic()
        for _ in range(2100):
            try:
                s = socket.socket()
                s.setblocking(False)
                s.bind(("127.0.0.2", 0))
                s.connect_ex((srv.host, srv.port))
                socks.append(s)
            except OSError:
                break
        time.sleep(1.0)
        for s in socks:
            try:
                s.send(b"GET /health HTTP/1.1\r\nHost: x\r\n")
            except OSError:
                pass
        opened = time.monotonic() - t0
        time.sleep(1.0)
        lat = [health_ms(srv, "127.0.0.3") for _ in range(5)]
        alive = 0
        for s in socks:
            try:
                alive += s.recv(1) != b""
            except BlockingIOError:
                alive += 1
            except OSError:
                pass
        print("conns: 2100 half-sent heads from 127.0.0.2 (%.1f s): %d still "
              "open after 2 s; RSS +%.0f MiB; /health from 127.0.0.3: %s"
              % (opened, alive, (mem_kb(pid, "VmRSS") - idle) / 1024,
                 fmt_ms(lat)))
    finally:
        for s in socks:
            s.close()
        print("  server exit: %r" % (srv.stop()[0],))
        srv.cleanup()


def attack_shutdown():
    srv = new_server("shutdown")
    try:
        rid = create_run(srv)
        db = sqlite3.connect(srv.db, timeout=10, isolation_level=None)
        db.execute("BEGIN IMMEDIATE")
        results = [None] * 5

        def send(i):
            body = json.dumps({"run_id": rid, "key": "k", "value": i,
                               "timestamp": now_ms(), "step": i}).encode()
            results[i] = post_status(srv, API + "runs/log-metric", body,
                                     timeout=30)

        threads = [threading.Thread(target=send, args=(i,))
                   for i in range(5)]
        for t in threads:
            t.start()
        time.sleep(0.7)
        t0 = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        rc = srv.wait_exit(20)
        el = time.monotonic() - t0
        for t in threads:
            t.join(30)
        db.execute("ROLLBACK")
        db.close()
        print("shutdown: lock held, 5 log-metric, SIGTERM: exit %r after "
              "%.1f s; answers %s" % (rc, el, ["reset" if r is None else r
                                                for r in results]))
    finally:
        srv.kill()
        srv.cleanup()


ATTACKS = {"bodies": attack_bodies, "zeros": attack_zeros,
           "conns": attack_conns, "shutdown": attack_shutdown}


def main(argv):
    names = argv[1:] or list(ATTACKS)
    print("server: %s" % server_binary())
    for n in names:
        ATTACKS[n]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
