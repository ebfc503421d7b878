#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Load through the balancer of docker/compose.postgres.yaml while one
greentrack server is SIGKILLed (tests/docker/test_docker.sh, section 6).

    compose_pg_load.py URL USER PASSWORD RUN_ID VICTIM_CONTAINER BATCHES

Sends BATCHES runs/log-batch requests of 50 points each (key "load", steps
0..BATCHES*50-1) through URL, one after another, as a training job with a
retrying client would: a request that fails (connection reset, 502/503 from
haproxy while the victim is still in rotation) is sent again, the same
bytes, until it is answered 200 (writes are idempotent: the same point
twice is one point). After a third of the batches are acknowledged it kills
VICTIM_CONTAINER with `podman kill -s KILL`. At the end it reads the whole
history back through the balancer and prints one line of key=value pairs:
acked (points acknowledged), stored (distinct points read back), missing
(acknowledged but not read back), retries, killed (1 if the kill worked),
and errors (requests that never succeeded). Exit status 0 when nothing
acknowledged is missing and every batch was acknowledged.
"""
import base64
import http.client
import json
import subprocess
import sys
import time
import urllib.parse

PER_BATCH = 50
DEADLINE_S = 300  # bounds a hang, never a speed


def main():
    url, user, password, run_id, victim, batches = sys.argv[1:7]
    batches = int(batches)
    u = urllib.parse.urlsplit(url)
    auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    headers = {"Authorization": auth, "Content-Type": "application/json"}

    def request(method, path, body=None):
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=20)
        try:
            c.request(method, path, body=body, headers=headers)
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    acked, retries, killed, errors = set(), 0, 0, 0
    start = time.monotonic()
    for b in range(batches):
        steps = range(b * PER_BATCH, (b + 1) * PER_BATCH)
        body = json.dumps({"run_id": run_id, "metrics": [
            {"key": "load", "value": s * 0.5, "timestamp": 1700000000000 + s,
             "step": s} for s in steps]})
        while True:
            if time.monotonic() - start > DEADLINE_S:
                errors += 1
                break
            try:
                status, _ = request("POST", "/api/2.0/mlflow/runs/log-batch", body)
            except (OSError, http.client.HTTPException):
                status = None
            if status == 200:
                acked.update(steps)
                break
            retries += 1
            time.sleep(0.1)
        if b == batches // 3 and not killed:
            killed = int(subprocess.run(["podman", "kill", "-s", "KILL", victim],
                                        stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL).returncode == 0)
    stored = set()
    token = None
    while True:
        q = {"run_id": run_id, "metric_key": "load", "max_results": "25000"}
        if token:
            q["page_token"] = token
        status, data = request(
            "GET", "/api/2.0/mlflow/metrics/get-history?" + urllib.parse.urlencode(q))
        if status != 200:
            print(f"get-history -> {status}: {data[:200]!r}", file=sys.stderr)
            break
        reply = json.loads(data)
        stored.update(int(m["step"]) for m in reply.get("metrics", []))
        token = reply.get("next_page_token")
        if not token:
            break
    missing = len(acked - stored)
    print(f"acked={len(acked)} stored={len(stored)} missing={missing} "
          f"retries={retries} killed={killed} errors={errors}")
    return 0 if missing == 0 and errors == 0 and len(acked) == batches * PER_BATCH else 1


if __name__ == "__main__":
    sys.exit(main())
