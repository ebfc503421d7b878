# SPDX-License-Identifier: MIT
"""The clients against a real server run with --auth (issue 15, part 8):
libgreentrack through the Python binding and the `greentrack` CLI with a
user and password (MLFLOW_TRACKING_USERNAME/PASSWORD), with an API token
(MLFLOW_TRACKING_TOKEN, GREENTRACK_TRACKING_TOKEN, token=), and with the
credentials file `greentrack login` writes (mode 0600, refused when group
or others may read it; logout revokes the token). A 401 (no credentials, a
revoked token) and a 403 (a READ user logging into someone else's
experiment) keep the run's records in the spool with a message naming the
credential, and `greentrack sync` sends them once the credentials (or the
permission) are right. HTTPS: a CA made here with openssl, trusted through
GREENTRACK_CA_BUNDLE (or ca_bundle=), and refused without it."""

import base64
import fcntl
import json
import os
import pty
import re
import select
import shutil
import stat
import subprocess
import sys
import tempfile
import termios
import time
import unittest

from harness import (ROOT, Server, ServerTestCase, clean_env, server_binary,
                     uniq)

BUILD = os.path.dirname(os.path.dirname(server_binary()))
LIB = os.path.join(BUILD, "lib", "libgreentrack.so")
CLI = os.path.join(BUILD, "bin", "greentrack")
BINDING_DIR = os.path.join(ROOT, "client", "python")
ADMIN, ADMIN_PW = "admin", "admin-Secret-1"
AUTH_ENV = {"GREENTRACK_ADMIN_USERNAME": ADMIN,
            "GREENTRACK_ADMIN_PASSWORD": ADMIN_PW}
TIMEOUT = 60

# Logs one run through the binding; prints what happened as JSON.
LOG_SCRIPT = r"""
import json, os, sys
sys.path.insert(0, os.environ["BINDING_DIR"])
import greentrack

uri, exp = sys.argv[1], sys.argv[2]
kw = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
out = {}
client = greentrack.Client(uri, flush_interval_ms=50, flush_timeout_ms=3000,
                           **kw)
with client.start_run(exp, "auth", params={"lr": 0.5}) as run:
    out["run"] = run.id
    for step in range(5):
        run.log_metric("loss", 1.0 / (step + 1), step)
    if os.environ.get("LOG_ARTIFACT"):
        run.log_artifact(os.environ["LOG_ARTIFACT"], "out")
client.flush(10000)
out["error"] = client.last_error
s = client.stats()
out["stats"] = {"sent": s["sent"], "spooled": s["spooled"],
                "dropped": s["dropped"],
                "uploaded": s["artifacts_uploaded"]}
client.close()
print(json.dumps(out))
"""


def basic(user, password):
    raw = ("%s:%s" % (user, password)).encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def bearer(token):
    return {"Authorization": "Bearer " + token}


def sanitizer_env():
    """A sanitizer build of the library loads into python only with its
    runtime preloaded (see test_python_binding)."""
    try:
        out = subprocess.run(["ldd", LIB], capture_output=True, text=True,
                             timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0].startswith(("libasan.", "libtsan.")) and \
                len(parts) >= 3 and parts[1] == "=>":
            return {"LD_PRELOAD": parts[2], "ASAN_OPTIONS": "detect_leaks=0"}
    return {}


class ClientEnv:
    """A home, a spool and an environment with no credential in it."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="gt-cauth-")
        self.home = os.path.join(self.tmp, "home")
        self.spool = os.path.join(self.tmp, "spool")
        os.makedirs(self.home)

    def env(self, extra=None):
        env = {k: v for k, v in clean_env().items()
               if not k.startswith("MLFLOW_") and k != "XDG_CONFIG_HOME"}
        env.update({"HOME": self.home, "GREENTRACK_SPOOL_DIR": self.spool,
                    "GREENTRACK_ENERGY": "off", "GREENTRACK_LIB": LIB,
                    "BINDING_DIR": BINDING_DIR,
                    "GREENTRACK_CLOUD_METADATA_URL": "off"})
        env.update(sanitizer_env())
        env.update(extra or {})
        return env

    def creds_file(self):
        return os.path.join(self.home, ".config", "greentrack",
                            "credentials")

    def spooled_files(self):
        if not os.path.isdir(self.spool):
            return []
        return [f for f in os.listdir(self.spool) if f.endswith(".spool")]

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


class AuthClientsTest(ServerTestCase):
    server_args = ["--auth"]
    server_env = AUTH_ENV

    def setUp(self):
        self.ce = ClientEnv()

    def tearDown(self):
        self.ce.cleanup()

    # -- helpers ---------------------------------------------------------
    def admin_post(self, path, obj):
        return self.post(path, obj, headers=basic(ADMIN, ADMIN_PW))

    def admin_get(self, path, query=None):
        return self.get(path, query, headers=basic(ADMIN, ADMIN_PW))

    def admin_req(self, method, path, obj):
        return self.request(method, "/api/2.0/mlflow/" + path,
                            body=json.dumps(obj).encode(),
                            headers=dict(basic(ADMIN, ADMIN_PW),
                                         **{"Content-Type":
                                            "application/json"}))

    def make_user(self, name, password):
        r = self.admin_post("users/create", {"username": name,
                                             "password": password})
        self.assertEqual(r.status, 200, r)

    def make_token(self, headers, **body):
        body.setdefault("name", uniq("tok"))
        r = self.post("/api/2.0/greentrack/tokens/create", body,
                      headers=headers)
        self.assertEqual(r.status, 200, r)
        return r.body

    def run_of(self, run_id):
        r = self.admin_get("runs/get", {"run_id": run_id})
        return r.body["run"] if r.status == 200 else None

    def metrics_of(self, run_id):
        run = self.run_of(run_id)
        if run is None:
            return None
        return {m["key"]: m["value"] for m in run["data"].get("metrics", [])}

    def log(self, exp, env_extra=None, **kw):
        path = os.path.join(self.ce.tmp, "log_%s.py" % uniq())
        with open(path, "w") as f:
            f.write(LOG_SCRIPT)
        p = subprocess.run([sys.executable, path, self.server.url(), exp,
                            json.dumps(kw)], capture_output=True, text=True,
                           env=self.ce.env(env_extra), timeout=TIMEOUT,
                           cwd=self.ce.tmp)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout.strip().splitlines()[-1])

    def cli(self, *args, env_extra=None, stdin=None):
        return subprocess.run([CLI, "--tracking-uri", self.server.url()]
                              + list(args), capture_output=True, text=True,
                              input=stdin, env=self.ce.env(env_extra),
                              timeout=TIMEOUT, cwd=self.ce.tmp)

    def assert_sent(self, out, n=5):
        self.assertEqual(out["stats"]["spooled"], 0, out)
        self.assertEqual(out["stats"]["dropped"], 0, out)
        self.assertEqual(self.metrics_of(out["run"]), {"loss": 0.2})
        self.assertEqual(self.ce.spooled_files(), [])

    def assert_kept(self, out):
        """Refused: nothing reached the server, nothing was dropped."""
        self.assertEqual(out["stats"]["dropped"], 0, out)
        self.assertGreaterEqual(out["stats"]["spooled"], 6, out)
        self.assertIsNone(self.run_of(out["run"]))
        self.assertEqual(len(self.ce.spooled_files()), 1)

    # -- library / Python binding ---------------------------------------
    def test_user_and_password_from_the_environment(self):
        art = os.path.join(self.ce.tmp, "model.bin")
        with open(art, "wb") as f:
            f.write(b"weights" * 1000)
        out = self.log(uniq("pw"), {"MLFLOW_TRACKING_USERNAME": ADMIN,
                                    "MLFLOW_TRACKING_PASSWORD": ADMIN_PW,
                                    "LOG_ARTIFACT": art})
        self.assert_sent(out)
        self.assertEqual(out["error"], "")
        # the artifact went through the artifact proxy with the same
        # credentials
        self.assertEqual(out["stats"]["uploaded"], 1, out)
        r = self.admin_get("artifacts/list", {"run_id": out["run"],
                                              "path": "out"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual([f["path"] for f in r.body.get("files", [])],
                         ["out/model.bin"])

    def test_each_source_and_the_binding_arguments(self):
        secret = self.make_token(basic(ADMIN, ADMIN_PW))["secret"]
        self.assertTrue(secret.startswith("gtk_"), secret)
        for extra, kw in (({"MLFLOW_TRACKING_TOKEN": secret}, {}),
                          ({"GREENTRACK_TRACKING_TOKEN": secret}, {}),
                          ({}, {"token": secret}),
                          ({}, {"username": ADMIN, "password": ADMIN_PW})):
            out = self.log(uniq("tok"), extra, **kw)
            self.assert_sent(out)

    def test_no_credentials_keeps_the_records_and_says_which(self):
        out = self.log(uniq("none"))
        self.assert_kept(out)
        self.assertIn("none are set", out["error"])
        self.assertIn("MLFLOW_TRACKING_USERNAME", out["error"])
        # sync with the right credentials sends what was kept
        p = self.cli("sync", env_extra={"MLFLOW_TRACKING_USERNAME": ADMIN,
                                        "MLFLOW_TRACKING_PASSWORD": ADMIN_PW})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.metrics_of(out["run"]), {"loss": 0.2})
        self.assertEqual(self.ce.spooled_files(), [])

    def test_wrong_password_and_revoked_token_are_kept(self):
        out = self.log(uniq("wrong"), {"MLFLOW_TRACKING_USERNAME": ADMIN,
                                       "MLFLOW_TRACKING_PASSWORD": "nope"})
        self.assert_kept(out)
        self.assertIn("'%s'" % ADMIN, out["error"])
        self.assertNotIn("nope", out["error"])
        tok = self.make_token(basic(ADMIN, ADMIN_PW))
        r = self.post("/api/2.0/greentrack/tokens/revoke",
                      {"id": tok["token"]["id"]},
                      headers=basic(ADMIN, ADMIN_PW))
        self.assertEqual(r.status, 200, r)
        out2 = self.log(uniq("revoked"), token=tok["secret"])
        self.assertEqual(out2["stats"]["dropped"], 0, out2)
        self.assertIsNone(self.run_of(out2["run"]))
        self.assertIn("token", out2["error"])
        self.assertNotIn(tok["secret"], out2["error"])
        # sync: GT_E_AUTH (exit 1) with the same bad token; nothing lost
        p = self.cli("sync", env_extra={"MLFLOW_TRACKING_TOKEN":
                                        tok["secret"]})
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("401", p.stderr)
        self.assertEqual(len(self.ce.spooled_files()), 2)

    def test_forbidden_is_kept_until_granted(self):
        user, pw = uniq("bob"), "bob-Secret-2"
        self.make_user(user, pw)
        exp = uniq("admins")
        r = self.admin_post("experiments/create", {"name": exp})
        self.assertEqual(r.status, 200, r)
        exp_id = r.body["experiment_id"]
        creds = {"MLFLOW_TRACKING_USERNAME": user,
                 "MLFLOW_TRACKING_PASSWORD": pw}
        out = self.log(exp, creds)
        self.assert_kept(out)
        self.assertIn("403", out["error"])
        self.assertIn(user, out["error"])
        r = self.admin_post("experiments/permissions/create",
                            {"experiment_id": exp_id, "username": user,
                             "permission": "EDIT"})
        self.assertEqual(r.status, 200, r)
        p = self.cli("sync", env_extra=creds)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.metrics_of(out["run"]), {"loss": 0.2})
        # the user's own experiment needs no grant (MANAGE as creator)
        self.assert_sent(self.log(uniq("bobs"), creds))

    # -- CLI -------------------------------------------------------------
    def test_login_run_logout(self):
        p = self.cli("login", "--username", ADMIN, "--password-stdin",
                     "--name", "ci", stdin="wrong\n")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertFalse(os.path.exists(self.ce.creds_file()))

        p = self.cli("login", "--username", ADMIN, "--password-stdin",
                     "--name", "ci", stdin=ADMIN_PW + "\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn(ADMIN_PW, p.stderr + p.stdout)
        path = self.ce.creds_file()
        st = os.stat(path)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(path))
                                      .st_mode), 0o700)
        with open(path) as f:
            text = f.read()
        self.assertIn("[%s]" % self.server.url(), text)
        self.assertNotIn(ADMIN_PW, text)
        token = [ln.split("=", 1)[1].strip() for ln in text.splitlines()
                 if ln.startswith("token =")][0]
        self.assertEqual(self.get("experiments/search", {"max_results": 5},
                                  headers=bearer(token)).status, 200)

        # the CLI, the library and `greentrack run`'s child use it
        p = self.cli("whoami")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("%s (admin) on %s, by token" % (ADMIN,
                                                      self.server.url()),
                      p.stdout)
        p = self.cli("runs", "list", "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assert_sent(self.log(uniq("file")))
        exp = uniq("cli")
        child = ("import os,sys; t=os.environ.get('MLFLOW_TRACKING_TOKEN',"
                 "''); sys.exit(0 if t.startswith('gtk_') else 9)")
        p = self.cli("run", "-e", exp, "--param", "a=1", "--",
                     sys.executable, "-c", child)
        self.assertEqual(p.returncode, 0, p.stderr)
        r = self.admin_get("experiments/get-by-name",
                           {"experiment_name": exp})
        self.assertEqual(r.status, 200, r)

        # group/other-readable: refused, and the message says why
        os.chmod(path, 0o644)
        p = self.cli("runs", "list")
        self.assertEqual(p.returncode, 1)
        self.assertIn("chmod 600", p.stderr)
        os.chmod(path, 0o600)

        p = self.cli("logout")
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(path) as f:
            self.assertNotIn("token", f.read())
        self.assertEqual(self.get("experiments/search", {"max_results": 5},
                                  headers=bearer(token)).status, 401)
        p = self.cli("logout")
        self.assertEqual(p.returncode, 1)
        p = self.cli("whoami")
        self.assertEqual(p.returncode, 1)
        self.assertIn("not authenticated", p.stderr)
        p = self.cli("whoami", env_extra={"MLFLOW_TRACKING_USERNAME": ADMIN,
                                          "MLFLOW_TRACKING_PASSWORD":
                                          ADMIN_PW})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("by basic", p.stdout)

    def test_login_asks_on_the_terminal_without_echo(self):
        master, slave = pty.openpty()

        def own_tty():
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        proc = subprocess.Popen(
            [CLI, "--tracking-uri", self.server.url(), "login"],
            stdin=slave, stdout=slave, stderr=slave, env=self.ce.env(),
            preexec_fn=own_tty, cwd=self.ce.tmp)
        os.close(slave)
        seen = b""

        def until(text):
            nonlocal seen
            deadline = time.monotonic() + TIMEOUT
            while text not in seen:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                ready, _, _ = select.select([master], [], [], min(left, 1.0))
                if not ready:
                    continue
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                seen += chunk
            self.assertIn(text, seen)

        try:
            until(b"Username: ")
            os.write(master, ADMIN.encode() + b"\n")
            until(b"Password: ")
            os.write(master, ADMIN_PW.encode() + b"\n")
            until(b"logged in")
            self.assertEqual(proc.wait(timeout=TIMEOUT), 0, seen)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            os.close(master)
        self.assertNotIn(ADMIN_PW.encode(), seen)  # no echo
        self.assertTrue(os.path.exists(self.ce.creds_file()))

    def test_login_options_and_refusals(self):
        p = self.cli("login", "--username", ADMIN, "--password", ADMIN_PW)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--password-stdin", p.stderr)
        p = self.cli("login", "--password-stdin", stdin=ADMIN_PW + "\n")
        self.assertEqual(p.returncode, 2)  # no user name
        p = self.cli("login", "--username", ADMIN, "--password-stdin",
                     "--permission-ceiling", "ALL", stdin=ADMIN_PW + "\n")
        self.assertEqual(p.returncode, 2)
        # a READ-capped token: reads work, logging is refused (403)
        p = self.cli("login", "--username", ADMIN, "--password-stdin",
                     "--permission-ceiling", "READ", "--expires-in-days", "2",
                     stdin=ADMIN_PW + "\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.cli("whoami")
        self.assertIn("(ceiling READ)", p.stdout)
        p = self.cli("runs", "list")
        self.assertEqual(p.returncode, 0, p.stderr)
        out = self.log(uniq("capped"))
        self.assertEqual(out["stats"]["dropped"], 0, out)
        self.assertIn("403", out["error"])

    def test_cli_without_credentials_names_them(self):
        for args in (["runs", "list"], ["models", "ls"],
                     ["when", "--zone", "GB", "-e", "x"],
                     ["artifacts", "ls", "0123456789abcdef0123456789abcdef"]):
            p = self.cli(*args)
            self.assertEqual(p.returncode, 1, (args, p.stderr))
            self.assertIn("MLFLOW_TRACKING_TOKEN", p.stderr, args)
            self.assertIn("greentrack login", p.stderr, args)


def have_openssl():
    return shutil.which("openssl") is not None


def make_ca(d):
    """A CA and a server certificate for localhost/127.0.0.1 it signed."""
    def run(*args):
        subprocess.run(["openssl"] + list(args), check=True, cwd=d,
                       capture_output=True, timeout=60)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=greentrack test CA", "-keyout", "ca.key",
        "-out", "ca.pem")
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
        "-keyout", "server.key", "-out", "server.csr")
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                "basicConstraints=CA:FALSE\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey",
        "ca.key", "-CAcreateserial", "-days", "2", "-out", "server.pem",
        "-extfile", "ext.cnf")
    return (os.path.join(d, "ca.pem"), os.path.join(d, "server.pem"),
            os.path.join(d, "server.key"))


@unittest.skipUnless(have_openssl(), "openssl is not installed")
class HttpsClientsTest(unittest.TestCase):
    """libgreentrack over HTTPS: trusts the test CA through
    GREENTRACK_CA_BUNDLE or ca_bundle=, and refuses the server without it
    (verification is never off)."""

    @classmethod
    def setUpClass(cls):
        cls.certs = tempfile.mkdtemp(prefix="gt-ca-")
        cls.ca, cert, key = make_ca(cls.certs)
        cls.server = Server(args=["--auth", "--tls-cert", cert,
                                  "--tls-key", key], env=AUTH_ENV,
                            label="https")
        cls.server.spawn()
        # the listening line says https:// (harness.LISTEN_RE wants http)
        deadline = time.monotonic() + 30
        while cls.server.port is None:
            line = cls.server._lines.get(
                timeout=max(0.1, deadline - time.monotonic()))
            if line is None or time.monotonic() > deadline:
                cls.server.cleanup()
                raise AssertionError("no listening line: %s"
                                     % cls.server.stderr_text()[-2000:])
            m = re.match(r"^greentrack-server listening on https?://(\S+):"
                         r"(\d+)$", line)
            if m:
                cls.server.host, cls.server.port = m.group(1), int(m.group(2))
        cls.url = "https://localhost:%d" % cls.server.port

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.server.cleanup()
        shutil.rmtree(cls.certs, ignore_errors=True)

    def setUp(self):
        self.ce = ClientEnv()

    def tearDown(self):
        self.ce.cleanup()

    def log(self, extra=None, **kw):
        path = os.path.join(self.ce.tmp, "log.py")
        with open(path, "w") as f:
            f.write(LOG_SCRIPT)
        p = subprocess.run([sys.executable, path, self.url, uniq("tls"),
                            json.dumps(kw)], capture_output=True, text=True,
                           env=self.ce.env(extra), timeout=TIMEOUT)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout.strip().splitlines()[-1])

    def test_ca_bundle(self):
        creds = {"MLFLOW_TRACKING_USERNAME": ADMIN,
                 "MLFLOW_TRACKING_PASSWORD": ADMIN_PW}
        out = self.log(dict(creds, GREENTRACK_CA_BUNDLE=self.ca))
        self.assertEqual(out["stats"]["spooled"], 0, out)
        self.assertEqual(out["stats"]["sent"], 6, out)
        out = self.log(creds, ca_bundle=self.ca)
        self.assertEqual(out["stats"]["sent"], 6, out)
        # not trusted: nothing sent, kept in the spool
        out = self.log(creds)
        self.assertEqual(out["stats"]["sent"], 0, out)
        self.assertEqual(out["stats"]["dropped"], 0, out)
        self.assertIn("certificate", out["error"].lower())
        # the CLI too
        p = subprocess.run([CLI, "--tracking-uri", self.url, "runs", "list"],
                           capture_output=True, text=True, timeout=TIMEOUT,
                           env=self.ce.env(dict(creds,
                                                GREENTRACK_CA_BUNDLE=self.ca)))
        self.assertEqual(p.returncode, 0, p.stderr)
        p = subprocess.run([CLI, "--tracking-uri", self.url, "runs", "list"],
                           capture_output=True, text=True, timeout=TIMEOUT,
                           env=self.ce.env(creds))
        self.assertEqual(p.returncode, 3, p.stderr)
