"""HTTPS (issue 15, tls.c): --tls-cert/--tls-key serve TLS 1.2+ through
libmicrohttpd's GnuTLS support.

A CA, a server certificate it signs (localhost, 127.0.0.1) and an
unrelated key are made in the test with openssl. Checked: curl with
--cacert reads and writes over HTTPS (and refuses the server without it:
verification is never off by default); Python's ssl with the CA file
negotiates TLS 1.2 or 1.3 and a client limited to TLS 1.1 gets no
connection; plain HTTP to the port gets no answer; the environment
variables work as the flags; the browser guard still applies; and every
bad pair (missing or unreadable file, a key that does not match the
certificate, a file that holds no PEM, an encrypted key, one flag
without the other) is a one-line error at start.
"""
import atexit
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import unittest

from harness import ServerTestCase, Server, server_binary, uniq, clean_env

ML = "/api/2.0/mlflow/"


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=60)


def make_pki(d):
    """ca.pem/ca.key, srv.pem/srv.key signed by it (SAN localhost and
    127.0.0.1), other.key (a key of no certificate), enc.key (srv.key
    encrypted). Returns a dict of paths."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key",
            "-out", "ca.pem", "-days", "2", "-subj", "/CN=greentrack test CA",
            cwd=d)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", "srv.key", "-out", "srv.csr", "-subj",
            "/CN=localhost", cwd=d)
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                "extendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey",
            "ca.key", "-CAcreateserial", "-out", "srv.pem", "-days", "2",
            "-extfile", "ext.cnf", cwd=d)
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-out", "other.key", cwd=d)
    openssl("pkey", "-in", "srv.key", "-aes256", "-passout", "pass:secret",
            "-out", "enc.key", cwd=d)
    return {n: os.path.join(d, n) for n in
            ("ca.pem", "srv.pem", "srv.key", "other.key", "enc.key")}


PKI_DIR = tempfile.mkdtemp(prefix="gt-tls-")
atexit.register(shutil.rmtree, PKI_DIR, True)
PKI = make_pki(PKI_DIR)


def curl(*args):
    return subprocess.run(["curl", "-sS", "--max-time", "20"] + list(args),
                          capture_output=True, text=True, timeout=60)


class TlsTests(ServerTestCase):
    server_args = ["--tls-cert", PKI["srv.pem"], "--tls-key", PKI["srv.key"]]

    def url(self, path, host="127.0.0.1"):
        return "https://%s:%d%s" % (host, self.server.port, path)

    def https(self, ctx=None):
        ctx = ctx or ssl.create_default_context(cafile=PKI["ca.pem"])
        return http.client.HTTPSConnection("127.0.0.1", self.server.port,
                                           context=ctx, timeout=20)

    def test_listening_line_says_https(self):
        self.assertTrue(any(line.startswith(
            "greentrack-server listening on https://")
            for line in self.server.stdout_lines), self.server.stdout_lines)

    def test_curl_with_cacert(self):
        p = curl("--cacert", PKI["ca.pem"], self.url("/health"))
        self.assertEqual(p.returncode, 0, p.stderr)
        name = uniq("tls")
        p = curl("--cacert", PKI["ca.pem"], "-H",
                 "Content-Type: application/json", "-d",
                 json.dumps({"name": name}),
                 self.url(ML + "experiments/create"))
        self.assertEqual(p.returncode, 0, p.stderr)
        eid = json.loads(p.stdout)["experiment_id"]
        p = curl("--cacert", PKI["ca.pem"],
                 self.url(ML + "experiments/get?experiment_id=" + eid,
                          host="localhost"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["experiment"]["name"], name)

    def test_verification_is_on_by_default(self):
        p = curl(self.url("/health"))
        self.assertEqual(p.returncode, 60, (p.returncode, p.stderr))
        conn = self.https(ssl.create_default_context())
        with self.assertRaises(ssl.SSLCertVerificationError):
            conn.request("GET", "/health")
        conn.close()

    def test_tls_versions(self):
        conn = self.https()
        conn.request("GET", "/version")
        r = conn.getresponse()
        self.assertEqual(r.status, 200)
        r.read()
        self.assertIn(conn.sock.version(), ("TLSv1.2", "TLSv1.3"))
        conn.close()
        # TLS 1.2 exactly works
        ctx = ssl.create_default_context(cafile=PKI["ca.pem"])
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        conn = self.https(ctx)
        conn.request("GET", "/version")
        self.assertEqual(conn.getresponse().status, 200)
        self.assertEqual(conn.sock.version(), "TLSv1.2")
        conn.close()
        # a client that offers at most TLS 1.1 (allowed on its side) gets
        # no connection
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(PKI["ca.pem"])
        try:
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        except (ValueError, ssl.SSLError):
            self.skipTest("this OpenSSL cannot offer TLS 1.1")
        conn = self.https(ctx)
        with self.assertRaises((ssl.SSLError, ConnectionError)):
            conn.request("GET", "/version")
            conn.getresponse()
        conn.close()

    def test_plain_http_gets_no_answer(self):
        s = socket.create_connection(("127.0.0.1", self.server.port),
                                     timeout=10)
        try:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            try:
                data = s.recv(4096)
            except (ConnectionResetError, socket.timeout):
                data = b""
        finally:
            s.close()
        self.assertFalse(data.startswith(b"HTTP/"), data[:80])
        # and the server still serves HTTPS
        conn = self.https()
        conn.request("GET", "/health")
        self.assertEqual(conn.getresponse().status, 200)
        conn.close()

    def test_guard_applies_over_tls(self):
        conn = self.https()
        conn.request("GET", "/version",
                     headers={"Host": "evil.example:%d" % self.server.port})
        r = conn.getresponse()
        r.read()
        self.assertEqual(r.status, 421)
        conn.request("POST", ML + "experiments/create",
                     body=json.dumps({"name": uniq("x")}),
                     headers={"Content-Type": "application/json",
                              "Origin": "https://evil.example"})
        r = conn.getresponse()
        r.read()
        self.assertEqual(r.status, 403)
        # the same origin over https passes
        conn.request("POST", ML + "experiments/create",
                     body=json.dumps({"name": uniq("x")}),
                     headers={"Content-Type": "application/json",
                              "Origin": "https://127.0.0.1:%d"
                              % self.server.port})
        r = conn.getresponse()
        r.read()
        self.assertEqual(r.status, 200)
        conn.close()


class TlsEnvTests(ServerTestCase):
    server_env = {"GREENTRACK_TLS_CERT": PKI["srv.pem"],
                  "GREENTRACK_TLS_KEY": PKI["srv.key"]}

    def test_env_vars(self):
        p = curl("--cacert", PKI["ca.pem"],
                 "https://localhost:%d/health" % self.server.port)
        self.assertEqual(p.returncode, 0, p.stderr)


class TlsStartErrorTests(unittest.TestCase):
    """Each bad pair: exit non-zero before listening, one stderr line
    (after the migration lines, which are info) naming the problem."""

    def start(self, args):
        d = tempfile.mkdtemp(prefix="gt-tls-err-")
        try:
            # default log level: the error is the only line, as nothing
            # (database, artifact folder) is made before the check
            p = subprocess.run(
                [server_binary(), "--port", "0", "--db",
                 os.path.join(d, "g.db"), "--artifact-root",
                 os.path.join(d, "a")] + args,
                capture_output=True, text=True, timeout=30,
                env=clean_env())
            made = sorted(os.listdir(d))
        finally:
            shutil.rmtree(d, ignore_errors=True)
        if p.returncode != 0 and "--tls" in " ".join(args):
            self.assertEqual(made, [], "created before the TLS check")
        return p.returncode, p.stdout, p.stderr.strip().splitlines()

    def check(self, args, *words):
        rc, out, lines = self.start(args)
        self.assertNotEqual(rc, 0, (args, out, lines))
        self.assertNotIn("listening", out)
        self.assertEqual(len(lines), 1, lines)
        for w in words:
            self.assertIn(w, lines[0])
        return lines[0]

    def test_mismatched_key(self):
        self.check(["--tls-cert", PKI["srv.pem"], "--tls-key",
                    PKI["other.key"]], "does not match", "other.key")

    def test_missing_files(self):
        missing = os.path.join(PKI_DIR, "nope.pem")
        self.check(["--tls-cert", missing, "--tls-key", PKI["srv.key"]],
                   "cannot read --tls-cert", "nope.pem")
        self.check(["--tls-cert", PKI["srv.pem"], "--tls-key", missing],
                   "cannot read --tls-key", "nope.pem")
        # a directory is no file
        self.check(["--tls-cert", PKI_DIR, "--tls-key", PKI["srv.key"]],
                   "cannot read --tls-cert")

    def test_unreadable_file(self):
        if os.geteuid() == 0:
            self.skipTest("root reads any file")
        d = tempfile.mkdtemp(prefix="gt-tls-perm-")
        try:
            key = os.path.join(d, "k.pem")
            shutil.copy(PKI["srv.key"], key)
            os.chmod(key, 0)
            self.check(["--tls-cert", PKI["srv.pem"], "--tls-key", key],
                       "cannot read --tls-key", "ermission denied")
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_not_pem(self):
        self.check(["--tls-cert", PKI["srv.key"], "--tls-key",
                    PKI["srv.key"]], "--tls-cert", "no PEM certificate")
        self.check(["--tls-cert", PKI["srv.pem"], "--tls-key",
                    PKI["srv.pem"]], "--tls-key", "no PEM private key")

    def test_encrypted_key(self):
        self.check(["--tls-cert", PKI["srv.pem"], "--tls-key",
                    PKI["enc.key"]], "encrypted")

    def test_one_without_the_other(self):
        self.check(["--tls-cert", PKI["srv.pem"]], "--tls-key is missing")
        self.check(["--tls-key", PKI["srv.key"]], "--tls-cert is missing")


if __name__ == "__main__":
    raise SystemExit("run with tests/integration/harness.py")
