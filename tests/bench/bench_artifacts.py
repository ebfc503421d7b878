#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Artifact proxy throughput, memory and interference, each against a
baseline measured in the same run on the same disk:

  upload    PUT of one SIZE file (Content-Length, body sent with sendfile)
            through /api/2.0/mlflow-artifacts/, vs `cp` of the same file
            on the same filesystem followed by an fsync of the copy (the
            server fsyncs every upload before renaming it into place)
  download  GET of that file (read and dropped), vs the same `cp`
  memory    the server's VmRSS sampled every 10 ms during each transfer,
            vs its VmRSS idle just before
  tracking  runs/log-metric latency (one keep-alive connection, one
            request at a time) while 4 uploads of SIZE/4 run at once, vs
            the same calls on the idle server

SIZE is 1 GiB (64 MiB with --smoke / BENCH_SMOKE=1, or --size-mb N).
Throughputs are the better of two tries each (the disk's write-back makes
single fsync-bound figures noisy), the cp tries before and after.
Everything lives in one temporary directory (TMPDIR), so the server's
artifact root, the source file and cp's copy share a filesystem.
Usage: bench_artifacts.py BUILD_DIR [--smoke] [--size-mb N]
Prints RESULT lines (name value target meets) for tests/bench/run.sh."""
import argparse
import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
os.environ.setdefault("GREENTRACK_BUILD", "build/release")

from harness import Server, now_ms  # noqa: E402
import harness  # noqa: E402
# raw requests here send a Host without the port (harness.RAW_HOST_ENV)
harness.SERVER_ENV_DEFAULTS.update(harness.RAW_HOST_ENV)

AP = "/api/2.0/mlflow-artifacts/artifacts/"
MiB = 1 << 20


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class RssSampler:
    """Max VmRSS of 'pid' every 10 ms between start() and stop()."""

    def __init__(self, pid):
        self.pid = pid
        self.max_kb = 0
        self._stop = threading.Event()
        self._t = None

    def start(self):
        self.max_kb = rss_kb(self.pid)
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.max_kb = max(self.max_kb, rss_kb(self.pid))
            time.sleep(0.01)

    def stop(self):
        self._stop.set()
        self._t.join()
        self.max_kb = max(self.max_kb, rss_kb(self.pid))
        return self.max_kb / 1024.0


def make_file(path, size):
    block = os.urandom(16 * MiB)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, len(block))
            f.write(block[:n])
            left -= n
        f.flush()
        os.fsync(f.fileno())


def read_response(sock):
    """Reads one HTTP response with a Content-Length; returns (status,
    body)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("connection closed: %r" % buf[:200])
        buf += chunk
    head, body = buf.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, body


def upload(host, port, path, src):
    """PUT 'src' with sendfile; returns seconds."""
    size = os.path.getsize(src)
    t0 = time.monotonic()
    with socket.create_connection((host, port)) as s, open(src, "rb") as f:
        s.sendall(("PUT %s%s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n"
                   "Content-Type: application/octet-stream\r\n\r\n"
                   % (AP, path, host, size)).encode())
        s.sendfile(f)
        status, body = read_response(s)
    dt = time.monotonic() - t0
    if status != 200:
        raise RuntimeError("upload %s: %d %r" % (path, status, body[:200]))
    return dt


def download(host, port, path, size):
    """GET into a reused buffer (bytes dropped); returns seconds."""
    t0 = time.monotonic()
    with socket.create_connection((host, port)) as s:
        s.sendall(("GET %s%s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n"
                   "\r\n" % (AP, path, host)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(4096)
        head, first = head.split(b"\r\n\r\n", 1)
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError("download: %r" % head[:200])
        got = len(first)
        buf = bytearray(4 * MiB)
        while True:
            n = s.recv_into(buf)
            if not n:
                break
            got += n
    dt = time.monotonic() - t0
    if got != size:
        raise RuntimeError("download: %d bytes, want %d" % (got, size))
    return dt


def cp_seconds(src, dst):
    t0 = time.monotonic()
    subprocess.run(["cp", src, dst], check=True)
    fd = os.open(dst, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    return time.monotonic() - t0


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def metric_latencies(client, run_id, seconds, stop=None, max_calls=None):
    """log-metric one at a time for 'seconds' (or until 'stop' is set);
    each latency in ms."""
    out = []
    end = time.monotonic() + seconds
    step = 0
    while time.monotonic() < end and not (stop and stop.is_set()):
        t0 = time.monotonic()
        r = client.post("runs/log-metric", {
            "run_id": run_id, "key": "loss", "value": step,
            "timestamp": now_ms(), "step": step})
        out.append((time.monotonic() - t0) * 1e3)
        if r.status != 200:
            raise RuntimeError("log-metric: %r" % (r,))
        step += 1
        if max_calls and len(out) >= max_calls:
            break
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--size-mb", type=int, default=0)
    a = ap.parse_args()
    os.environ["GREENTRACK_BUILD"] = a.build
    smoke = a.smoke or os.environ.get("BENCH_SMOKE") == "1"
    size = (a.size_mb or (64 if smoke else 1024)) * MiB
    idle_s = 1.0 if smoke else 3.0

    tmp = tempfile.mkdtemp(prefix="gt-bench-art-")
    try:
        src = os.path.join(tmp, "src.bin")
        make_file(src, size)
        server = Server(tmpdir=tmp, args=["--max-artifact-bytes",
                                          str(size * 2)]).start()
        try:
            host, port, pid = server.host, server.port, server.proc.pid
            c = server.client()
            r = c.post("runs/create", {"experiment_id": "0"})
            run_id = r.body["run"]["info"]["run_id"]
            # warm-up: the connection, the run, the page cache of 'src'
            metric_latencies(c, run_id, 0.3)
            rss_idle = rss_kb(pid) / 1024.0

            def cp_once():
                t = cp_seconds(src, os.path.join(tmp, "cp.bin"))
                os.unlink(os.path.join(tmp, "cp.bin"))
                return t
            cp_s = cp_once()
            smp = RssSampler(pid).start()
            up_s = min(upload(host, port, "bench/try1.bin", src),
                       upload(host, port, "bench/big.bin", src))
            rss_up = smp.stop()
            smp = RssSampler(pid).start()
            down_s = min(download(host, port, "bench/try1.bin", size),
                         download(host, port, "bench/big.bin", size))
            rss_down = smp.stop()
            os.unlink(os.path.join(server.artifact_root, "bench", "try1.bin"))
            cp_s = min(cp_s, cp_once())
            # the file arrived whole
            got = os.path.join(server.artifact_root, "bench", "big.bin")
            if os.path.getsize(got) != size:
                raise RuntimeError("stored size %d" % os.path.getsize(got))
            with open(got, "rb") as f1, open(src, "rb") as f2:
                if f1.read(MiB) != f2.read(MiB):
                    raise RuntimeError("stored bytes differ")

            idle = metric_latencies(c, run_id, idle_s)
            part = os.path.join(tmp, "part.bin")
            with open(src, "rb") as f, open(part, "wb") as g:
                g.write(f.read(size // 4))
            done = threading.Event()
            errors = []

            def one(i):
                try:
                    upload(host, port, "load/%d.bin" % i, part)
                except Exception as e:  # noqa: BLE001
                    errors.append(e)
            threads = [threading.Thread(target=one, args=(i,))
                       for i in range(4)]
            t0 = time.monotonic()
            for t in threads:
                t.start()
            waiter = threading.Thread(
                target=lambda: ([t.join() for t in threads], done.set()))
            waiter.start()
            loaded = metric_latencies(c, run_id, 600, stop=done)
            waiter.join()
            load_s = time.monotonic() - t0
            if errors:
                raise errors[0]
            c.close()
        finally:
            rc, _ = server.stop()
            server.kill()
        if rc != 0:
            raise RuntimeError("server exit status %r after SIGTERM" % rc)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    mb = size / MiB
    print("file %d MiB on %s: cp+fsync %.2f s (%.0f MiB/s), upload %.2f s "
          "(%.0f MiB/s), download %.2f s (%.0f MiB/s)"
          % (mb, tempfile.gettempdir(), cp_s, mb / cp_s, up_s, mb / up_s,
             down_s, mb / down_s))
    print("server RSS: idle %.1f MB, max during upload %.1f MB, during "
          "download %.1f MB" % (rss_idle, rss_up, rss_down))
    print("log-metric: idle %d calls p50 %.2f ms p99 %.2f ms; during 4 "
          "uploads of %d MiB (%.1f s) %d calls p50 %.2f ms p99 %.2f ms"
          % (len(idle), pct(idle, 50), pct(idle, 99), mb / 4, load_s,
             len(loaded), pct(loaded, 50) if loaded else 0,
             pct(loaded, 99) if loaded else 0))
    if not loaded:
        raise RuntimeError("no log-metric call completed during the uploads")
    up_ratio = cp_s / up_s
    down_ratio = cp_s / down_s
    growth = max(rss_up, rss_down) - rss_idle
    p99_ratio = pct(loaded, 99) / max(pct(idle, 99), 1e-3)
    print("RESULT artifacts.upload_mib_s %.0f - -" % (mb / up_s))
    print("RESULT artifacts.upload_vs_cp %.2f >=0.5 %s"
          % (up_ratio, "yes" if up_ratio >= 0.5 else "no"))
    print("RESULT artifacts.download_mib_s %.0f - -" % (mb / down_s))
    print("RESULT artifacts.download_vs_cp %.2f >=0.5 %s"
          % (down_ratio, "yes" if down_ratio >= 0.5 else "no"))
    print("RESULT artifacts.rss_idle_mb %.1f - -" % rss_idle)
    print("RESULT artifacts.rss_growth_mb %.1f <=8 %s"
          % (growth, "yes" if growth <= 8 else "no"))
    print("RESULT artifacts.metric_p99_idle_ms %.2f - -" % pct(idle, 99))
    print("RESULT artifacts.metric_p99_4uploads_ms %.2f - -"
          % pct(loaded, 99))
    print("RESULT artifacts.metric_p99_ratio %.1f - -" % p99_ratio)
    return 0


if __name__ == "__main__":
    sys.exit(main())
