"""Hostile load (issue 17): what one client can make the server hold or do
is bounded by configuration, never by what it sends.

* Replies are paged by bytes as well as rows (--max-response-bytes): a page
  ends early with a next_page_token before the item that would pass the
  cap; an item larger than the cap goes out alone; paging through gives
  every item once, in order (runs/search, experiments/search,
  runs/energy, leaderboard, get-history pages of more than 100,000
  points). Lists without paging in their API (experiments/list,
  get-history-bulk-interval, experiments/summary) are streamed whole.
* get-history without max_results sends at most 100,000 points, with a
  token only when there are more; a page of up to 100,000 points is
  bounded by rows only (streamed, not cut by --max-response-bytes).
* Clients that send a large search or history and never read their reply
  hold at most a piece of it each: the server's RSS (/proc/PID/status)
  grows by a few MB for six of them, not by the reply sizes.
* order_by with more keys than SQLite can join is a 400; energy samples
  are capped at 10 MW (and totals stay finite); free-text fields the spec
  leaves open are capped at 8000 characters; numbers are parsed strictly;
  grid/refresh is rate-limited per zone and its job queue is bounded;
  provider errors name the provider, not its URL or answer; CSV exports
  neutralise formula cells.

Sizes are small and limits are set by flags so the suite runs in seconds;
nothing here judges a wall-clock speed. RSS bounds have an allowance for
sanitizer builds.
"""
import base64
import json
import os
import socket
import subprocess
import threading
import time

from fake_grid import FakeGrid
import harness
from harness import (Client, ServerTestCase, now_ms, server_binary, uniq)

# raw requests here send "Host: x" (harness.RAW_HOST_ENV)
harness.SERVER_ENV_DEFAULTS.update(harness.RAW_HOST_ENV)

GT = "/api/2.0/greentrack/"
CAP = 64 * 1024
FAKE = FakeGrid()


def setUpModule():
    FAKE.start()


def tearDownModule():
    FAKE.stop()


def sanitizer_build():
    try:
        out = subprocess.run(["ldd", server_binary()], capture_output=True,
                             text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "libasan" in out or "libtsan" in out


# RSS bounds are multiplied by this in ASan/TSan builds (shadow memory,
# redzones); their quarantine is kept small for these servers.
RSS_FACTOR = 4 if sanitizer_build() else 1
SAN_ENV = {"ASAN_OPTIONS": (os.environ.get("ASAN_OPTIONS", "") +
                            ":quarantine_size_mb=16").lstrip(":")}


def rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def stalled_request(server, method, path, body=None):
    """Sends one request on a new connection with a tiny receive buffer
    and never reads the answer; returns the socket (close it to end)."""
    s = socket.create_connection((server.host, server.port), timeout=30)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    data = b"" if body is None else json.dumps(body).encode()
    head = "%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n" % (
        method, path, len(data))
    if body is not None:
        head += "Content-Type: application/json\r\n"
    s.sendall(head.encode() + b"\r\n" + data)
    return s


def settled_rss(pid, seconds=3.0):
    """RSS once it stopped growing (polled every 100 ms, at least
    'seconds' of polling): the server has filled what it will."""
    last, stable_since = rss_mb(pid), time.monotonic()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = rss_mb(pid)
        if now > last + 0.5:
            last, stable_since = now, time.monotonic()
        elif time.monotonic() - stable_since >= seconds:
            break
    return max(last, rss_mb(pid))


def token_offset(token):
    return json.loads(base64.b64decode(token))["offset"]


class PagingByBytes(ServerTestCase):
    """--max-response-bytes 65536: pages end early, never past the cap
    unless one item alone is larger."""
    server_args = ["--max-response-bytes", str(CAP)]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        c = cls.client
        exp = c.post("experiments/create", {"name": uniq("bytes")})
        cls.exp = exp.body["experiment_id"]
        cls.run_ids = []
        for i in range(30):
            r = c.post("runs/create", {"experiment_id": cls.exp,
                                       "start_time": 1000 + i})
            rid = r.body["run"]["info"]["run_id"]
            cls.run_ids.append(rid)
            # about 10 KB each; run 7 holds about 100 KB, more than a page
            n = 50 if i == 7 else 5
            tags = [{"key": "t%02d" % k, "value": ("%d-" % i) * 700}
                    for k in range(n)]
            c.post("runs/log-batch", {"run_id": rid, "tags": tags})
        cls.newest_first = list(reversed(cls.run_ids))

    def pages(self, path, body, key, method="POST", limit=200):
        """Every page of a paged list: (items, raw sizes)."""
        items, sizes, token = [], [], None
        for _ in range(limit):
            q = dict(body)
            if token:
                q["page_token"] = token
            r = (self.post(path, q) if method == "POST"
                 else self.get(path, q))
            b = self.ok(r)
            items.append(b.get(key, []))
            sizes.append(len(r.raw))
            token = b.get("next_page_token")
            if not token:
                return items, sizes
        self.fail("more than %d pages" % limit)

    def test_runs_search_pages_end_by_bytes(self):
        pages, sizes = self.pages("runs/search",
                                  {"experiment_ids": [self.exp]}, "runs")
        got = [r["info"]["run_id"] for p in pages for r in p]
        self.assertEqual(got, self.newest_first)  # each once, in order
        self.assertGreater(len(pages), 4)
        for p, size in zip(pages, sizes):
            if len(p) > 1:
                self.assertLessEqual(size, CAP)
            else:
                self.assertGreater(len(p), 0)
        # the run larger than a page went out alone, whole
        big = [p for p in pages if any(r["info"]["run_id"] ==
                                       self.run_ids[7] for r in p)][0]
        self.assertEqual(len(big), 1)
        self.assertEqual(len(big[0]["data"]["tags"]), 50 + 1)  # + runName
        # rows still limit a page too: tokens count items
        b = self.ok(self.search_runs([self.exp], max_results=2))
        self.assertEqual(len(b["runs"]), 2)
        self.assertEqual(token_offset(b["next_page_token"]), 2)

    def test_runs_get_large_run_whole(self):
        r = self.get("runs/get", {"run_id": self.run_ids[7]})
        b = self.ok(r)
        self.assertGreater(len(r.raw), CAP)
        tags = self.run_tags(b["run"])
        self.assertEqual(len(tags), 51)
        self.assertEqual(tags["t49"], "7-" * 700)
        # the same bytes as in the search page (one renderer)
        s = self.ok(self.search_runs([self.exp], filter="attributes.run_id "
                                     "= '%s'" % self.run_ids[7]))
        self.assertEqual(s["runs"][0], b["run"])

    def test_experiments_search_and_list(self):
        ids = []
        for i in range(12):
            tags = [{"key": "k%d" % k, "value": "v" * 4000} for k in range(3)]
            ids.append(self.create_experiment(uniq("e%02d" % i), tags=tags))
        pages, sizes = self.pages("experiments/search",
                                  {"filter": "tags.k0 LIKE 'v%'"},
                                  "experiments")
        got = [e["experiment_id"] for p in pages for e in p]
        self.assertEqual(sorted(got, key=int), ids)
        self.assertGreater(len(pages), 1)
        for p, size in zip(pages, sizes):
            self.assertLessEqual(size, CAP)
            for e in p:
                self.assertEqual(len(e["tags"]), 3)
        # experiments/list has no paging: streamed, every one, no token
        r = self.get("experiments/list")
        b = self.ok(r)
        self.assertGreater(len(r.raw), CAP)
        self.assertNotIn("next_page_token", b)
        self.assertTrue(set(ids) <= {e["experiment_id"]
                                     for e in b["experiments"]})

    def test_history_pages_by_bytes_and_rows(self):
        rid = self.create_run()["info"]["run_id"]
        pts = [{"key": "loss", "value": i / 7, "timestamp": 1000 + i,
                "step": i} for i in range(3000)]
        for k in range(0, 3000, 1000):
            self.ok(self.post("runs/log-batch",
                              {"run_id": rid, "metrics": pts[k:k + 1000]}))
        # up to 100,000 points a page goes by rows only: one streamed
        # reply past the byte cap
        r = self.get("metrics/get-history",
                     {"run_id": rid, "metric_key": "loss"})
        b = self.ok(r)
        self.assertEqual([m["step"] for m in b["metrics"]],
                         list(range(3000)))
        self.assertNotIn("next_page_token", b)
        self.assertGreater(len(r.raw), CAP)
        r = self.get("metrics/get-history",
                     {"run_id": rid, "metric_key": "loss",
                      "max_results": 100000})
        self.assertEqual(len(self.ok(r)["metrics"]), 3000)
        self.assertGreater(len(r.raw), CAP)
        # a larger page also ends by bytes
        pages, sizes = self.pages("metrics/get-history",
                                  {"run_id": rid, "metric_key": "loss",
                                   "max_results": 100001},
                                  "metrics", method="GET")
        got = [m["step"] for p in pages for m in p]
        self.assertEqual(got, list(range(3000)))
        self.assertGreater(len(pages), 2)
        for size in sizes:
            self.assertLessEqual(size, CAP)
        # max_results still pages by rows
        b = self.ok(self.get("metrics/get-history",
                             {"run_id": rid, "metric_key": "loss",
                              "max_results": 100}))
        self.assertEqual(len(b["metrics"]), 100)
        self.assertEqual(token_offset(b["next_page_token"]), 100)
        b = self.ok(self.get("metrics/get-history",
                             {"run_id": rid, "metric_key": "loss",
                              "max_results": 100,
                              "page_token": b["next_page_token"]}))
        self.assertEqual(b["metrics"][0]["step"], 100)
        # bulk-interval has no paging: every sampled point of every run
        r = self.get("metrics/get-history-bulk-interval",
                     {"run_ids": [rid], "metric_key": "loss",
                      "max_results": 2500})
        b = self.ok(r)
        self.assertGreater(len(r.raw), CAP)
        self.assertEqual(len(b["metrics"]), 2500)
        self.assertNotIn("next_page_token", b)

    def test_energy_and_leaderboard_pages(self):
        rid = self.create_run()["info"]["run_id"]
        samples = [{"start_time": i * 60000, "end_time": (i + 1) * 60000,
                    "cpu_energy_j": 1000.0, "cpu_method": "rapl"}
                   for i in range(600)]
        self.ok(self.post(GT + "runs/log-energy",
                          {"run_id": rid, "samples": samples}))
        pages, sizes = self.pages(GT + "runs/energy", {"run_id": rid},
                                  "samples", method="GET")
        self.assertEqual([s["start_time"] for p in pages for s in p],
                         [i * 60000 for i in range(600)])
        self.assertGreater(len(pages), 1)
        for size in sizes:
            self.assertLessEqual(size, CAP)
        # leaderboard rows carry run names up to 8000 characters
        exp = self.create_experiment()
        for i in range(20):
            r = self.create_run(exp, run_name="n%02d-" % i + "x" * 7000)
            self.ok(self.post("runs/log-metric", {
                "run_id": r["info"]["run_id"], "key": "acc",
                "value": i / 20, "timestamp": 1, "step": 0}))
        pages, sizes = self.pages(GT + "leaderboard",
                                  {"experiment_id": exp, "metric": "acc"},
                                  "runs", method="GET")
        self.assertEqual(sum(len(p) for p in pages), 20)
        self.assertGreater(len(pages), 1)
        for size in sizes:
            self.assertLessEqual(size, CAP)
        # experiments/summary is not paged: streamed whole
        b = self.ok(self.get(GT + "experiments/summary"))
        self.assertNotIn("next_page_token", b)
        self.assertIn(exp, [e["experiment_id"] for e in b["experiments"]])


class HistoryDefaultPage(ServerTestCase):
    """get-history without max_results: MLflow sends everything; greentrack
    sends at most 100,000 points, then a token (only when there are
    more)."""

    def test_default_page(self):
        rid = self.create_run()["info"]["run_id"]
        batch = []
        for i in range(100001):
            batch.append({"key": "m", "value": 1.0, "timestamp": i,
                          "step": 0})
            if len(batch) == 1000 or i == 100000:
                self.ok(self.post("runs/log-batch",
                                  {"run_id": rid, "metrics": batch}))
                batch = []
        b = self.ok(self.get("metrics/get-history",
                             {"run_id": rid, "metric_key": "m"}))
        self.assertEqual(len(b["metrics"]), 100000)
        self.assertEqual(token_offset(b["next_page_token"]), 100000)
        b = self.ok(self.get("metrics/get-history",
                             {"run_id": rid, "metric_key": "m",
                              "page_token": b["next_page_token"]}))
        self.assertEqual([m["timestamp"] for m in b["metrics"]], [100000])
        self.assertNotIn("next_page_token", b)
        # a history within the default page has no token (MLflow's shape)
        rid2 = self.create_run()["info"]["run_id"]
        self.ok(self.post("runs/log-metric", {"run_id": rid2, "key": "m",
                                              "value": 1, "timestamp": 1}))
        b = self.ok(self.get("metrics/get-history",
                             {"run_id": rid2, "metric_key": "m"}))
        self.assertEqual(len(b["metrics"]), 1)
        self.assertNotIn("next_page_token", b)


class StalledReaders(ServerTestCase):
    """Six clients send a large search (or history) and never read: each
    holds a piece of its reply, not the reply (default 8 MiB pages)."""
    server_env = SAN_ENV

    def stall_six(self, method, path, body=None):
        pid = self.server.proc.pid
        before = settled_rss(pid, 1.0)
        socks = [stalled_request(self.server, method, path, body)
                 for _ in range(6)]
        try:
            during = settled_rss(pid)
            self.assertServerUp()  # the others are still served
        finally:
            for s in socks:
                s.close()
        return before, during

    def test_stalled_search_clients(self):
        exp = self.create_experiment()
        val = "x" * 8000
        for i in range(8):  # 8 runs of 3.2 MB: 25 MB of tags
            rid = self.create_run(exp)["info"]["run_id"]
            for b in range(4):
                tags = [{"key": "t%d_%03d" % (b, k), "value": val}
                        for k in range(100)]
                self.ok(self.post("runs/log-batch",
                                  {"run_id": rid, "tags": tags}))
        body = {"experiment_ids": [exp]}
        r = self.search_runs([exp])  # warm caches, and see the page
        b = self.ok(r)
        self.assertLessEqual(len(r.raw), 8 << 20)
        self.assertEqual(len(b["runs"]), 2)  # 3.2 MB runs, 8 MiB pages
        before, during = self.stall_six("POST", "/api/2.0/mlflow/runs/search",
                                        body)
        # each stalled reply is 6.4 MB and was 25 MB whole before paging;
        # held whole, six would add 38 MB (150 MB before): a piece each
        # (MHD's connection buffer, under 1 MB) is what is allowed
        self.assertLess(during - before, (6 * 2 + 8) * RSS_FACTOR,
                        "RSS %.1f -> %.1f MB" % (before, during))

    def test_stalled_history_clients(self):
        rid = self.create_run()["info"]["run_id"]
        batch = []
        for i in range(200000):
            batch.append({"key": "h", "value": i * 0.5, "timestamp": i,
                          "step": i})
            if len(batch) == 1000:
                self.ok(self.post("runs/log-batch",
                                  {"run_id": rid, "metrics": batch}))
                batch = []
        path = ("/api/2.0/mlflow/metrics/get-history?run_id=%s&metric_key=h"
                % rid)
        self.ok(self.get(path))
        before, during = self.stall_six("GET", path)
        # a page is 100,000 points, about 8 MB: held whole six would add
        # some 80 MB with the point arrays
        self.assertLess(during - before, (6 * 2 + 8) * RSS_FACTOR,
                        "RSS %.1f -> %.1f MB" % (before, during))


class SmallLimits(ServerTestCase):
    """The smaller bounds: joins, energy, field lengths, numbers, CSV."""

    def test_order_by_join_limit(self):
        exp = self.create_experiment()
        self.create_run(exp)
        order = ["metrics.m%d" % i for i in range(70)]
        r = self.search_runs([exp], order_by=order)
        self.assertBadParam(r, "at most 16 metric, param or tag keys")
        mixed = (["metrics.m%d" % i for i in range(6)] +
                 ["params.p%d" % i for i in range(6)] +
                 ["tags.t%d" % i for i in range(5)])
        self.assertBadParam(self.search_runs([exp], order_by=mixed),
                            "(got 17)")
        # 16 keys, every attribute and the tie-breaks: more ORDER BY terms
        # than anything else allows, and fine (SQLite 3.40 crashed on 21
        # metric keys before the limit)
        ok = (["metrics.m%d" % i for i in range(16)] +
              ["attributes.%s" % a for a in (
                  "run_id", "run_name", "status", "user_id", "artifact_uri",
                  "start_time DESC", "end_time")])
        self.assertEqual(len(self.ok(self.search_runs(
            [exp], order_by=ok)).get("runs", [])), 1)
        for kind in ("params", "tags"):
            self.assertEqual(len(self.ok(self.search_runs(
                [exp], order_by=["%s.k%d" % (kind, i) for i in range(16)]))
                .get("runs", [])), 1)
        # many experiment ids are bound as one value, not 40000
        ids = [str(10 ** 9 + i) for i in range(40000)] + [exp]
        self.assertEqual(len(self.ok(self.search_runs(ids)).get("runs", [])),
                         1)
        self.assertServerUp()

    def energy(self, rid, *samples):
        return self.post(GT + "runs/log-energy",
                         {"run_id": rid, "samples": list(samples)})

    def test_energy_samples_physical_bound(self):
        rid = self.create_run()["info"]["run_id"]
        big = {"start_time": 0, "end_time": 1000, "cpu_energy_j": 1e308}
        r = self.energy(rid, big, dict(big, start_time=1000, end_time=2000))
        self.assertBadParam(r, "W one sample may draw")
        # the sum of parts overflowing is caught as well
        r = self.energy(rid, {"start_time": 0, "end_time": 1000,
                              "cpu_energy_j": 1.7e308,
                              "gpu_energy_j": 1.7e308})
        self.assertBadParam(r)
        # 11 MW for a second: refused; 9 MW: a (large) measurement
        self.assertBadParam(self.energy(rid, {"start_time": 0,
                                              "end_time": 1000,
                                              "cpu_energy_j": 1.1e7}))
        self.ok(self.energy(rid, {"start_time": 0, "end_time": 1000,
                                  "cpu_energy_j": 9e6}))
        # as much as allowed, for as long as times allow: still finite
        year = 366 * 86400 * 1000
        self.ok(self.energy(rid, *[{"start_time": i * year,
                                    "end_time": (i + 1) * year,
                                    "cpu_energy_j": 1e7 * year / 1000}
                                   for i in range(1, 50)]))
        c = self.ok(self.get(GT + "runs/carbon", {"run_id": rid}))
        for k in ("energy_kwh", "co2_g"):
            self.assertIsInstance(c[k], float, "%s=%r" % (k, c[k]))
        run = self.get_run(rid)
        for m in run["data"]["metrics"]:
            self.assertNotIn(m["value"], ("Infinity", "NaN"), m)
        # CodeCarbon's emissions endpoint has the same bound
        ccrun = self.post("/codecarbon/runs",
                          {"experiment_id": self.create_experiment()})
        self.assertIn(ccrun.status, (200, 201), ccrun)
        r = self.post("/codecarbon/emissions", {
            "run_id": ccrun.body["id"], "duration": 1,
            "energy_consumed": 1e300, "emissions_sum": 1})
        self.assertBadParam(r)

    def test_open_fields_capped(self):
        self.assertBadParam(self.post("runs/create", {
            "experiment_id": "0", "run_name": "r" * 100000}),
            "'run_name' exceeds the maximum length of 8000")
        # (a body over 1 MiB is a 413 before any field is read)
        self.assertBadParam(self.post("runs/create", {
            "experiment_id": "0", "user_id": "u" * (1 << 19)}),
            "'user_id' exceeds the maximum length of 8000")
        # characters, not bytes: 8000 two-byte characters are fine
        run = self.create_run(run_name="é" * 8000, user_id="ü" * 8000)
        self.assertEqual(run["info"]["run_name"], "é" * 8000)
        self.assertEqual(run["info"]["user_id"], "ü" * 8000)
        rid = run["info"]["run_id"]
        self.assertBadParam(self.post("runs/update", {
            "run_id": rid, "run_name": "n" * 8001}), "'run_name'")
        self.assertBadParam(self.post("experiments/create", {
            "name": uniq("loc"), "artifact_location": "/x/" + "a" * 8000}),
            "'artifact_location'")
        # MLflow's own limits stay as the spec has them
        self.assertBadParam(self.post("experiments/create",
                                      {"name": "e" * 501}))
        self.ok(self.post("runs/set-tag", {"run_id": rid, "key": "t",
                                           "value": "v" * 9000}))
        self.assertEqual(len(self.run_tags(self.get_run(rid))["t"]), 8000)

    def test_numbers_are_strict(self):
        rid = self.create_run()["info"]["run_id"]
        for bad in ("0x10", "+5", " 5", "5 ", "1e3", "1_0", "Infinity"):
            self.assertBadParam(self.get("metrics/get-history", {
                "run_id": rid, "metric_key": "m", "max_results": bad}),
                bad)
        self.ok(self.get("metrics/get-history", {
            "run_id": rid, "metric_key": "m", "max_results": "16"}))

        def metric(value, ts=1):
            return self.post("runs/log-metric", {
                "run_id": rid, "key": "m", "value": value, "timestamp": ts})
        for bad in ("0x10", "nan", "inf", "+1", " 1", "1_0"):
            self.assertBadParam(metric(bad), None)
        self.assertBadParam(metric(1, ts="0x10"))
        self.assertBadParam(metric(1, ts="+5"))
        # protobuf's spellings, as MLflow takes them
        self.ok(metric("NaN", 2))
        self.ok(metric("Infinity", 3))
        self.ok(metric("-1.5e3", 4))
        self.ok(metric(16, "5"))
        vals = [m["value"] for m in self.history(rid, "m")]
        self.assertEqual(vals, ["NaN", 1.7976931348623157e308, -1500.0, 16])
        # greentrack's own fields
        r = self.energy(rid, {"start_time": 0, "end_time": "0x10",
                              "cpu_energy_j": 1})
        self.assertBadParam(r)
        r = self.energy(rid, {"start_time": 0, "end_time": 1000,
                              "cpu_energy_j": "NaN"})
        self.assertBadParam(r)

    def test_csv_export_neutralises_formulas(self):
        exp = self.create_experiment()
        rid = self.create_run(exp, run_name="=HYPERLINK(\"http://x\",\"y\")")[
            "info"]["run_id"]
        for k, v in (("a", "@SUM(1)"), ("b", "+1+1"), ("c", "-2+3"),
                     ("d", "-0.5"), ("e", "plain")):
            self.ok(self.post("runs/log-parameter",
                              {"run_id": rid, "key": k, "value": v}))
        r = self.get(GT + "runs/export", {"experiment_id": exp,
                                          "format": "csv"})
        self.assertEqual(r.status, 200)
        text = r.raw.decode()
        row = text.splitlines()[1]
        self.assertIn("\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"", row)
        self.assertIn(",'@SUM(1),'+1+1,'-2+3,-0.5,plain", row)
        for line in text.splitlines():
            for cell in line.split(","):
                self.assertFalse(cell[:1] in ("=", "@", "+"), line)


class GridRefreshLimits(ServerTestCase):
    """grid/refresh against a fake provider: once per zone within the
    cache TTL (429 with Retry-After), a bounded job queue (503 with
    Retry-After), and errors that name the provider only."""

    @classmethod
    def setUpClass(cls):
        env = FAKE.server_env(em=True, wt=False)
        env["GREENTRACK_GRID_TTL_S"] = "60"
        env["GREENTRACK_GRID_TIMEOUT_MS"] = "20000"
        env["GREENTRACK_GRID_REFRESH_S"] = "0"
        cls.server_env = env
        super().setUpClass()

    def refresh(self, zone, client=None, **q):
        q["zone"] = zone
        path = GT + "grid/refresh?" + "&".join(
            "%s=%s" % kv for kv in sorted(q.items()))
        return (client or self.client).post(path, {})

    def test_once_per_zone_within_ttl(self):
        FAKE.uk_forecast = FakeGrid.relative_periods([100, 90, 80])
        FAKE.uk_history = FakeGrid.relative_periods([100, 90], actual=True,
                                                    base_ms=now_ms() - 7200000)
        before = FAKE.count("/uk/")
        self.ok(self.refresh("GB"))
        fetched = FAKE.count("/uk/") - before
        self.assertGreater(fetched, 0)
        r = self.refresh("GB")
        self.assertError(r, 429, "REQUEST_LIMIT_EXCEEDED", "Retry after")
        wait = int(r.headers["retry-after"])
        self.assertTrue(0 < wait <= 60, wait)
        for _ in range(5):
            self.assertEqual(self.refresh("GB").status, 429)
        self.assertEqual(FAKE.count("/uk/") - before, fetched)  # no fetch
        # the cache answers meanwhile
        b = self.ok(self.get(GT + "grid/intensity", {"zone": "GB"}))
        self.assertTrue(b["points"])
        # another zone is its own
        FAKE.uk_regional_forecast[3] = FakeGrid.relative_periods([50, 60])
        self.assertNotEqual(self.refresh("GB-3", kind="forecast").status, 429)

    def test_failed_refresh_holds_briefly(self):
        FAKE.fail_next("/regionid/5", 503, count=6)
        r = self.refresh("GB-5", kind="forecast")
        self.assertEqual(r.status, 503, r)
        r = self.refresh("GB-5", kind="forecast")
        self.assertEqual(r.status, 429, r)
        self.assertLessEqual(int(r.headers["retry-after"]), 10)

    def test_provider_errors_name_the_provider_only(self):
        FAKE.fail_next("/regionid/6", 500, count=6,
                       body={"error": "secret-token-abc is invalid",
                             "url": "internal"})
        r = self.refresh("GB-6", kind="forecast")
        self.assertError(r, 503, "TEMPORARILY_UNAVAILABLE",
                         "ukci: the provider answered HTTP 500")
        msg = r.body["message"]
        for leak in ("http://", "127.0.0.1", "secret", "regional",
                     str(FAKE.httpd.server_address[1])):
            self.assertNotIn(leak, msg)
        FAKE.em_token_saved = FAKE.em_token
        FAKE.em_token = "other"  # the server's token is now wrong: 401
        try:
            r = self.refresh("DE", kind="actual")
        finally:
            FAKE.em_token = FAKE.em_token_saved
        self.assertError(r, 503, "TEMPORARILY_UNAVAILABLE",
                         "electricitymaps: the provider answered HTTP 401")
        self.assertNotIn("em-test-token", r.body["message"])
        self.assertNotIn("http://", r.body["message"])

    def test_job_queue_is_bounded(self):
        # every fetch is held at the fake: 2 job threads take 2 refreshes,
        # 64 wait, the rest are 503 at once
        hold = threading.Event()
        FAKE.fail_next("/carbon-intensity/history", None, count=80, hold=hold)
        results = {}

        def one(i):
            c = Client(self.server.host, self.server.port, timeout=60)
            try:
                results[i] = self.refresh("QZ%d" % i, client=c,
                                          source="electricitymaps",
                                          kind="actual")
            finally:
                c.close()
        threads = [threading.Thread(target=one, args=(i,)) for i in range(72)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while len(results) < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        full = [r for r in results.values() if r.status == 503]
        hold.set()
        for t in threads:
            t.join(90)
        FAKE.clear()
        self.assertEqual(len(full), 72 - 66, [r for r in results.values()])
        for r in full:
            self.assertEqual(r.headers.get("retry-after"), "1")
            self.assertIn("job queue is full", r.body["message"])
        self.assertServerUp()
