"""Browser safety (issue 15, browser_guard.c), with auth off: a web page
the user opens must not reach the API.

- Host must be one of --allowed-hosts: by default the bind address,
  localhost, 127.0.0.1 and [::1] with the port; a DNS-rebinding page
  (Host: its own name) gets 421 for reads and writes; '*' turns the check
  off; /health is exempt and a request without Host (HTTP/1.0) passes.
- A state-changing request with Sec-Fetch-Site: cross-site or a foreign
  Origin is refused with 403 and changes nothing; the UI's own (same
  origin) passes; origins in --cors-origins pass, with CORS headers, and
  get their preflight answered.
- The raw-body routes need their Content-Type: the CSV import refuses
  text/plain and form types (what an HTML form can send) and imports
  nothing; artifact uploads are exempt.
- Bad --allowed-hosts / --cors-origins values stop the server with one
  line.
"""
import base64
import os
import socket
import subprocess

from harness import ServerTestCase, Server, server_binary, uniq, clean_env

GT = "/api/2.0/greentrack/"
ML = "/api/2.0/mlflow/"
AP = "/api/2.0/mlflow-artifacts/artifacts"
CSV = os.path.join(os.path.dirname(__file__), "..", "data", "codecarbon",
                   "emissions_v3.csv")


def raw_http(port, data, timeout=10):
    """Sends bytes 'data' on a fresh connection; returns what came back
    until the server closed it."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
        return out
    finally:
        s.close()


class DefaultGuardTests(ServerTestCase):
    """Default settings: --host 127.0.0.1, no --allowed-hosts, no CORS."""

    def host(self, name):
        return "%s:%d" % (name, self.server.port)

    def exp_count(self):
        b = self.ok(self.post("experiments/search", {"max_results": 1000}))
        return len(b.get("experiments", []))

    def test_default_hosts_allowed(self):
        for name in ("127.0.0.1", "localhost", "LocalHost", "[::1]"):
            r = self.get("/version", headers={"Host": self.host(name)})
            self.assertEqual(r.status, 200, name)

    def test_foreign_host_refused(self):
        # a DNS-rebinding page: the browser sends the page's own name
        for host in (self.host("rebind.attacker.example"),
                     "localhost:%d" % (self.server.port + 1),
                     "localhost", "127.0.0.1.attacker.example:%d"
                     % self.server.port):
            r = self.get(ML + "experiments/search", {"max_results": 1},
                         headers={"Host": host})
            self.assertError(r, 421, "BAD_REQUEST", "--allowed-hosts")
        before = self.exp_count()
        r = self.post("experiments/create", {"name": uniq("rebind")},
                      headers={"Host": self.host("evil.example")})
        self.assertError(r, 421)
        self.assertEqual(self.exp_count(), before)
        # the static UI is refused too (its scripts would run as ours)
        r = self.get("/", headers={"Host": self.host("evil.example")})
        self.assertEqual(r.status, 421)

    def test_health_exempt_and_no_host(self):
        r = self.get("/health", headers={"Host": self.host("probe.example")})
        self.assertEqual(r.status, 200)
        # HTTP/1.0 without Host
        out = raw_http(self.server.port,
                       b"GET /version HTTP/1.0\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.0 200") or
                        out.startswith(b"HTTP/1.1 200"), out[:80])

    def test_cross_site_post_refused(self):
        before = self.exp_count()
        r = self.post("experiments/create", {"name": uniq("xsite")},
                      headers={"Sec-Fetch-Site": "cross-site"})
        self.assertError(r, 403, "PERMISSION_DENIED", "Cross-site")
        for origin in ("http://evil.example", "null",
                       "http://localhost:%d" % self.server.port,
                       "http://127.0.0.1:%d" % (self.server.port + 1)):
            r = self.post("experiments/create", {"name": uniq("origin")},
                          headers={"Origin": origin})
            self.assertError(r, 403, "PERMISSION_DENIED", "origin")
            self.assertNotIn("access-control-allow-origin", r.headers)
        self.assertEqual(self.exp_count(), before)
        # other write methods too (registry PATCH/DELETE, artifact PUT)
        r = self.request("DELETE", ML + "registered-models/delete",
                         body=b'{"name": "x"}',
                         headers={"Content-Type": "application/json",
                                  "Origin": "http://evil.example"})
        self.assertError(r, 403)
        r = self.request("PUT", AP + "/x/y.txt", body=b"data",
                         headers={"Origin": "http://evil.example"})
        self.assertError(r, 403)
        # the connection stays usable after a refused request with a body
        self.assertEqual(self.get("/version").status, 200)

    def test_same_origin_and_clients_pass(self):
        # the UI's own fetches: Origin is the server itself
        r = self.post("experiments/create", {"name": uniq("ui")},
                      headers={"Origin": "http://127.0.0.1:%d"
                               % self.server.port,
                               "Sec-Fetch-Site": "same-origin"})
        self.ok(r)
        # clients (MLflow, curl, libgreentrack) send neither header
        self.ok(self.post("experiments/create", {"name": uniq("cli")}))
        # reads from another site are not refused (the browser keeps the
        # answer from the page: there is no CORS header)
        r = self.get(ML + "experiments/search", {"max_results": 1},
                     headers={"Origin": "http://evil.example",
                              "Sec-Fetch-Site": "cross-site"})
        self.assertEqual(r.status, 200)
        self.assertNotIn("access-control-allow-origin", r.headers)

    def test_csv_import_needs_its_content_type(self):
        exp = self.create_experiment()
        with open(CSV, "rb") as f:
            data = f.read()
        path = GT + "import/codecarbon?experiment_id=%s" % exp
        for ctype in ("text/plain", "text/plain; charset=utf-8",
                      "application/x-www-form-urlencoded",
                      "multipart/form-data; boundary=x", None):
            hdrs = {"Content-Type": ctype} if ctype else {}
            r = self.request("POST", path, body=data, headers=hdrs)
            self.assertBadParam(r, "Content-Type")
        runs = self.ok(self.post("runs/search", {"experiment_ids": [exp]}))
        self.assertEqual(runs.get("runs", []), [])
        b = self.ok(self.request("POST", path, body=data,
                                 headers={"Content-Type": "text/csv"}))
        self.assertEqual(b["imported"], 2)
        # grid/refresh (raw: its zone may come in the query) refuses a
        # form type too
        r = self.request("POST", GT + "grid/refresh?zone=GB", body=b"a=b",
                         headers={"Content-Type":
                                  "application/x-www-form-urlencoded"})
        self.assertBadParam(r, "Content-Type")

    def test_artifact_upload_exempt_from_content_type(self):
        run = self.create_run(self.create_experiment())
        uri = run["info"]["artifact_uri"]
        self.assertTrue(uri.startswith("mlflow-artifacts:/"), uri)
        path = "%s/%s/notes.txt" % (AP, uri[len("mlflow-artifacts:/"):])
        r = self.request("PUT", path, body=b"hello",
                         headers={"Content-Type": "text/plain"})
        self.assertEqual(r.status, 200, r)

    def test_preflight_refused_without_cors_origins(self):
        r = self.request("OPTIONS", ML + "runs/create",
                         headers={"Origin": "http://nb.example:8888",
                                  "Access-Control-Request-Method": "POST"})
        self.assertEqual(r.status, 403)
        self.assertNotIn("access-control-allow-origin", r.headers)


class CorsTests(ServerTestCase):
    server_args = ["--cors-origins",
                   "http://nb.example:8888, https://lab.example"]

    def test_preflight(self):
        r = self.request("OPTIONS", ML + "runs/create",
                         headers={"Origin": "http://nb.example:8888",
                                  "Access-Control-Request-Method": "POST",
                                  "Access-Control-Request-Headers":
                                  "content-type, authorization"})
        self.assertEqual(r.status, 204)
        h = r.headers
        self.assertEqual(h.get("access-control-allow-origin"),
                         "http://nb.example:8888")
        self.assertIn("POST", h.get("access-control-allow-methods", ""))
        allowed = h.get("access-control-allow-headers", "").lower()
        for name in ("content-type", "authorization"):
            self.assertIn(name, allowed)
        self.assertIn("Origin", h.get("vary", ""))
        r = self.request("OPTIONS", ML + "runs/create",
                         headers={"Origin": "http://other.example",
                                  "Access-Control-Request-Method": "POST"})
        self.assertEqual(r.status, 403)
        self.assertNotIn("access-control-allow-origin", r.headers)

    def test_listed_origin_writes(self):
        r = self.post("experiments/create", {"name": uniq("nb")},
                      headers={"Origin": "https://lab.example",
                               "Sec-Fetch-Site": "cross-site"})
        self.ok(r)
        self.assertEqual(r.headers.get("access-control-allow-origin"),
                         "https://lab.example")
        r = self.get(ML + "experiments/search", {"max_results": 1},
                     headers={"Origin": "http://nb.example:8888"})
        self.assertEqual(r.headers.get("access-control-allow-origin"),
                         "http://nb.example:8888")
        # errors carry it too, so the page can read the message
        r = self.post("experiments/create", {},
                      headers={"Origin": "http://nb.example:8888"})
        self.assertEqual(r.status, 400)
        self.assertEqual(r.headers.get("access-control-allow-origin"),
                         "http://nb.example:8888")
        r = self.post("experiments/create", {"name": uniq("x")},
                      headers={"Origin": "http://lab.example"})
        self.assertError(r, 403)


class AllowedHostsTests(ServerTestCase):
    server_args = ["--allowed-hosts", "tracker.example.com,*.corp.example"]

    def test_list(self):
        for host, status in (("tracker.example.com", 200),
                             ("tracker.example.com:%d" % self.server.port,
                              200),
                             ("ml.corp.example", 200),
                             ("corp.example", 421),
                             ("127.0.0.1:%d" % self.server.port, 421),
                             ("localhost:%d" % self.server.port, 421)):
            r = self.get("/version", headers={"Host": host})
            self.assertEqual(r.status, status, host)

    def test_same_origin_through_proxy(self):
        # a TLS-terminating proxy that keeps Host: the page is https
        r = self.post("experiments/create", {"name": uniq("proxy")},
                      headers={"Host": "tracker.example.com",
                               "Origin": "https://tracker.example.com",
                               "Sec-Fetch-Site": "same-origin"})
        self.ok(r)


class AnyHostTests(ServerTestCase):
    server_env = {"GREENTRACK_ALLOWED_HOSTS": "*"}

    def test_any_host(self):
        r = self.get("/version", headers={"Host": "greentrack:5000"})
        self.assertEqual(r.status, 200)
        # '*' is no licence for cross-site writes
        r = self.post("experiments/create", {"name": uniq("x")},
                      headers={"Host": "greentrack:5000",
                               "Origin": "http://evil.example"})
        self.assertError(r, 403)


class WithAuthTests(ServerTestCase):
    """The guard runs before authentication: valid credentials do not
    make a foreign Host or a cross-site write acceptable."""
    server_args = ["--auth"]
    server_env = {"GREENTRACK_ADMIN_USERNAME": "admin",
                  "GREENTRACK_ADMIN_PASSWORD": "guard-test-password-1"}
    AUTH = {"Authorization": "Basic " + base64.b64encode(
        b"admin:guard-test-password-1").decode()}

    def test_guard_before_auth(self):
        self.ok(self.post("experiments/create", {"name": uniq("a")},
                          headers=self.AUTH))
        r = self.post("experiments/create", {"name": uniq("a")},
                      headers=dict(self.AUTH, Origin="http://evil.example"))
        self.assertError(r, 403, "PERMISSION_DENIED")
        r = self.post("experiments/create", {"name": uniq("a")},
                      headers=dict(self.AUTH, **{"Sec-Fetch-Site":
                                                 "cross-site"}))
        self.assertError(r, 403, "PERMISSION_DENIED")
        r = self.get(ML + "experiments/search", {"max_results": 1},
                     headers=dict(self.AUTH, Host="evil.example:%d"
                                  % self.server.port))
        self.assertEqual(r.status, 421)
        # /health stays open, whatever the Host
        r = self.get("/health", headers={"Host": "probe.example"})
        self.assertEqual(r.status, 200)
        # without credentials: 401 (not a guard refusal)
        r = self.get(ML + "experiments/search", {"max_results": 1})
        self.assertEqual(r.status, 401)


class BadListTests(ServerTestCase):
    """The values are checked at start: one line, exit 2."""

    def run_server(self, args):
        p = subprocess.run(
            [server_binary(), "--port", "0", "--db",
             os.path.join(self.server.tmpdir, uniq("db")),
             "--artifact-root", self.server.artifact_root] + args,
            capture_output=True, text=True, timeout=30, env=clean_env())
        return p.returncode, p.stderr.strip().splitlines()

    def test_bad_values(self):
        for args, text in (
                (["--allowed-hosts", "a/b"], "--allowed-hosts"),
                (["--allowed-hosts", ""], "--allowed-hosts"),
                (["--cors-origins", "*"], "--cors-origins"),
                (["--cors-origins", "ftp://x"], "--cors-origins")):
            rc, lines = self.run_server(args)
            self.assertEqual(rc, 2, (args, lines))
            self.assertEqual(len(lines), 1, lines)
            self.assertIn(text, lines[0])


if __name__ == "__main__":
    raise SystemExit("run with tests/integration/harness.py")
