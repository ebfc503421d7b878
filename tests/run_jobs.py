#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs test suites side by side for tests/run_all.sh.

Usage: run_jobs.py JOBS_FILE LOG_FILE

JOBS_FILE holds one suite per line: NAME<TAB>ENV<TAB>ARGV, where ENV is
space-separated KEY=VALUE pairs (or "-") and ARGV a JSON list. Up to
GREENTRACK_TEST_JOBS suites (default 3) run at once: most of a suite's
time is spent waiting on servers and sockets, not on the CPU, so a few at
once finish sooner on the same cores. Each suite's output is printed as one
block when it ends (never interleaved) and appended to LOG_FILE, followed by
the same checks run_all.sh makes of a suite run alone: a suite that prints
no "NAME: N passed, M failed" line, or exits non-zero after "0 failed",
counts as one failure. Suites start in file order; the caller lists the
longest first.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time


def parse(line):
    name, env, argv = line.rstrip("\n").split("\t", 2)
    extra = {}
    if env != "-":
        for pair in env.split(" "):
            k, _, v = pair.partition("=")
            extra[k] = v
    return name, extra, json.loads(argv)


def run_one(name, extra, argv, log_path, lock):
    env = dict(os.environ)
    env.update(extra)
    t0 = time.monotonic()
    with tempfile.TemporaryFile() as out:
        try:
            rc = subprocess.call(argv, stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.STDOUT, env=env)
        except OSError as e:
            out.write(("cannot run %r: %s\n" % (argv, e)).encode())
            rc = 127
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    secs = time.monotonic() - t0
    lines = text.splitlines()
    summary = re.compile(r"^%s: [0-9]+ passed, ([0-9]+) failed" % re.escape(name))
    found = [summary.match(l) for l in lines]
    has_summary = any(found)
    zero_failed = any(m and m.group(1) == "0" for m in found)
    extra_lines = []
    if not has_summary:
        extra_lines.append("%s: 0 passed, 1 failed (no summary; exit %d)"
                           % (name, rc))
    elif rc != 0 and zero_failed:
        # e.g. a sanitizer report at exit after all checks passed
        extra_lines.append("%s-exit: 0 passed, 1 failed (exit %d)"
                           % (name, rc))
    block = "== %s (%.0f s)\n%s" % (name, secs, text)
    if block and not block.endswith("\n"):
        block += "\n"
    block += "".join(l + "\n" for l in extra_lines)
    with lock:
        sys.stdout.write(block)
        sys.stdout.flush()
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(text if text.endswith("\n") or not text else text + "\n")
            log.write("".join(l + "\n" for l in extra_lines))


def main(argv):
    if len(argv) != 3:
        print(__doc__)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        jobs = [parse(l) for l in f if l.strip()]
    width = max(1, int(os.environ.get("GREENTRACK_TEST_JOBS", "3")))
    lock = threading.Lock()
    pending = list(jobs)
    running = []
    while pending or running:
        running = [t for t in running if t.is_alive()]
        while pending and len(running) < width:
            name, extra, args = pending.pop(0)
            t = threading.Thread(target=run_one,
                                 args=(name, extra, args, argv[2], lock))
            t.start()
            running.append(t)
        time.sleep(0.05)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
