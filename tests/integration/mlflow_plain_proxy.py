#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Emulates a plain MLflow tracking server in front of greentrack.

Usage: mlflow_plain_proxy.py TARGET_PORT

Listens on 127.0.0.1, port 0, prints "listening PORT" and forwards every
request to http://127.0.0.1:TARGET_PORT, except that it drops the `run_id`
field of runs/create bodies (MLflow ignores unknown fields and chooses its
own run id) and answers 404 ENDPOINT_NOT_FOUND under /api/2.0/greentrack/
(MLflow has no heartbeat endpoint). Standard library only.
"""
import http.client
import http.server
import json
import os
import sys


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    target = None

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body, ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def forward(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        if "/greentrack/" in self.path:
            self.reply(404, json.dumps({
                "error_code": "ENDPOINT_NOT_FOUND",
                "message": "No API endpoint found"}).encode())
            return
        if method == "POST" and self.path.endswith("/runs/create") and body:
            try:
                obj = json.loads(body)
                obj.pop("run_id", None)
                body = json.dumps(obj).encode()
            except ValueError:
                pass
        conn = http.client.HTTPConnection("127.0.0.1", self.target, timeout=30)
        headers = {"Content-Type": self.headers.get("Content-Type",
                                                    "application/json")}
        try:
            conn.request(method, self.path, body=body, headers=headers)
            r = conn.getresponse()
            data = r.read()
            self.reply(r.status, data,
                       r.getheader("Content-Type", "application/json"))
        except OSError:
            self.reply(502, b'{"error_code":"BAD_GATEWAY"}')
        finally:
            conn.close()

    def do_GET(self):
        self.forward("GET")

    def do_POST(self):
        self.forward("POST")


def main():
    Proxy.target = int(sys.argv[1])
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    srv.daemon_threads = True
    # one write: the reader may close the pipe as soon as it has the line
    os.write(1, b"listening %d\n" % srv.server_address[1])
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
