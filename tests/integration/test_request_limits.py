# SPDX-License-Identifier: MIT
"""Request heads of every size get an answer, and a JSON one up to the
server's limits: long query strings (the UI's get-history-bulk with 1000
run ids; many tiny arguments), a request target over 128 KiB (414), header
fields over 64 KiB (431), and heads past even MHD's connection memory
(MHD's own 414/431, at once). Query strings are decoded as MHD decodes
them ('+' is a space, %XX a byte)."""

import socket
import time
import urllib.parse
import uuid

import harness
from harness import ServerTestCase

# raw requests here send "Host: x" (harness.RAW_HOST_ENV)
harness.SERVER_ENV_DEFAULTS.update(harness.RAW_HOST_ENV)

BULK = "/ajax-api/2.0/mlflow/metrics/get-history-bulk"


class RequestLimitTests(ServerTestCase):

    def raw(self, head, timeout=20):
        """Sends 'head' on a fresh connection; returns (status, headers
        text, body bytes, seconds) once the server closes it."""
        s = socket.create_connection((self.server.host, self.server.port),
                                     timeout=timeout)
        t0 = time.monotonic()
        data = b""
        try:
            try:
                s.sendall(head)
            except (BrokenPipeError, ConnectionResetError):
                pass  # answered and closed before all of it was sent
            while True:
                try:
                    part = s.recv(65536)
                except ConnectionResetError:
                    break
                if not part:
                    break
                data += part
        finally:
            s.close()
        took = time.monotonic() - t0
        self.assertIn(b"\r\n\r\n", data, "no answer: %r" % data[:200])
        head_text, body = data.split(b"\r\n\r\n", 1)
        status = int(head_text.split(b" ", 2)[1])
        return status, head_text.decode("latin-1"), body, took

    def get_target(self, target, extra=b""):
        return self.raw(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n" +
                        extra + b"Connection: close\r\n\r\n")

    def test_thousand_run_ids_get_mlflows_answer(self):
        ids = [uuid.uuid4().hex for _ in range(1000)]
        r = self.get(BULK, [("run_id", i) for i in ids] +
                     [("metric_key", "m")])
        self.assertBadParam(r)
        self.assertEqual(r.body["message"],
                         "GetMetricHistoryBulk request cannot specify more "
                         "than 20 run_ids. Received 1000 run_ids.")

    def test_every_query_size_up_to_the_limit_is_answered(self):
        # 400..800 ids (16..32 kB) hung MHD's default 32 KiB pool
        for n in (21, 400, 600, 800, 1500, 3000):
            with self.subTest(run_ids=n):
                q = "&".join("run_id=%032x" % i for i in range(n))
                status, _, body, _ = self.get_target(
                    (BULK + "?" + q + "&metric_key=m").encode())
                self.assertEqual(status, 400)
                self.assertIn(b"cannot specify more than 20 run_ids. "
                              b"Received %d run_ids." % n, body)

    def test_many_tiny_arguments(self):
        # 60000 arguments in 120 kB: each was a record in MHD's pool
        status, _, body, _ = self.get_target(
            b"/api/2.0/mlflow/runs/get?" + b"a&" * 60000)
        self.assertEqual(status, 400)
        self.assertIn(b"Missing value for required parameter 'run_id'", body)
        # a name repeated any number of times is one name
        status, _, body, _ = self.get_target(
            b"/api/2.0/mlflow/runs/get?" + b"run_id=x&" * 10000)
        self.assertEqual(status, 404)
        self.assertIn(b"Run with id=x not found", body)
        # but not thousands of distinct names
        status, headers, body, _ = self.get_target(
            b"/api/2.0/mlflow/runs/get?" +
            b"&".join(b"k%d=1" % i for i in range(257)))
        self.assertEqual(status, 400)
        self.assertIn("application/json", headers)
        self.assertIn(b"more than 256 distinct parameter names", body)

    def test_target_over_limit_is_json_414(self):
        status, headers, body, took = self.get_target(
            b"/api/2.0/mlflow/runs/get?run_id=" + b"a" * (140 * 1024))
        self.assertEqual(status, 414)
        self.assertIn("application/json", headers)
        self.assertIn(b'"error_code":"INVALID_PARAMETER_VALUE"', body)
        self.assertIn(b"request target exceeds the limit of 131072 bytes",
                      body)
        # just under the limit is an ordinary request
        status, _, body, _ = self.get_target(
            b"/api/2.0/mlflow/runs/get?run_id=" + b"a" * (120 * 1024))
        self.assertEqual(status, 404)

    def test_headers_over_limit_are_json_431(self):
        status, headers, body, _ = self.get_target(
            b"/health", b"X-Big: " + b"b" * (70 * 1024) + b"\r\n")
        self.assertEqual(status, 431)
        self.assertIn("application/json", headers)
        self.assertIn(b"header fields exceed the limit of 65536 bytes", body)
        status, _, body, _ = self.get_target(
            b"/health", b"X-Big: " + b"b" * (60 * 1024) + b"\r\n")
        self.assertEqual(status, 200)

    def test_head_past_connection_memory_is_answered_at_once(self):
        # MHD answers these itself (its body is HTML), and closes
        for target, extra, want in [
                (b"/health?q=" + b"a" * (2 << 20), b"", 414),
                (b"/health", b"X: " + b"b" * (2 << 20) + b"\r\n", 431)]:
            with self.subTest(want=want):
                status, _, _, took = self.get_target(target, extra)
                self.assertEqual(status, want)
                self.assertLess(took, 15)
        self.assertServerUp()

    def test_query_decoding(self):
        name = "a b+c&d=e%/é"
        eid = self.create_experiment(name)
        # '+' for the space, everything else escaped
        q = urllib.parse.urlencode({"experiment_name": name})
        self.assertIn("+", q)
        b = self.ok(self.request(
            "GET", "/api/2.0/mlflow/experiments/get-by-name?" + q))
        self.assertEqual(b["experiment"]["experiment_id"], eid)
        # %20 too; a malformed escape stays as written; empty pairs skipped
        q = "experiment_name=" + urllib.parse.quote(name) + "&&x&%zz=1"
        b = self.ok(self.request(
            "GET", "/api/2.0/mlflow/experiments/get-by-name?" + q))
        self.assertEqual(b["experiment"]["experiment_id"], eid)
        self.assertNotFound(self.request(
            "GET", "/api/2.0/mlflow/experiments/get-by-name?"
            "experiment_name=%zz"),
            "Could not find experiment with name '%zz'")
        # the first of repeated scalar values counts
        b = self.ok(self.request(
            "GET", "/api/2.0/mlflow/experiments/get-by-name?experiment_name="
            + urllib.parse.quote(name) + "&experiment_name=other"))
        self.assertEqual(b["experiment"]["experiment_id"], eid)

    def test_zz_still_serving(self):
        self.assertServerUp()
        self.create_experiment()
