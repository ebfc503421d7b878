#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Loopback fakes of the grid carbon-intensity providers, for tests.

One ThreadingHTTPServer on 127.0.0.1 (port 0) serves, in the exact JSON
shapes of specs/carbon-method.md section 4:

  /uk/...      the UK Carbon Intensity API (no key): /intensity/{from}/fw48h,
               /intensity/{from}/pt24h, and the regional
               /regional/intensity/{from}/fw48h|pt24h/regionid/{id}
               (regional data nested under data.data, forecast only)
  /em/v3/...   Electricity Maps v3 (header auth-token): /carbon-intensity/
               latest, /history, /forecast with zone=
  /wt/...      WattTime v3: GET /login (HTTP Basic) -> {"token": JWT};
               /v3/forecast and /v3/historical (Bearer token), values in
               lbs_co2_per_mwh

Usage:

    from fake_grid import FakeGrid, now_ms
    fake = FakeGrid().start()
    fake.uk_forecast = FakeGrid.relative_periods([300, 120, 80], period_s=1800)
    env = fake.server_env()           # GREENTRACK_UKCI_URL=... for Server(env=)
    ...
    fake.count("/uk/intensity")       # requests seen whose path has this
    fake.requests                     # every request: method, path, query, headers
    fake.fail_next("/em/", 503)       # the next matching request fails
    fake.stop()

Series are lists of dicts in Unix milliseconds:
  UK:  {"start_ms", "end_ms", "forecast", "actual"}   (actual may be None)
  EM:  {"t_ms", "g"}       hourly by default (em_granularity)
  WT:  {"t_ms", "lb"}      every wt_period_s seconds, lb CO2/MWh

relative_periods() builds periods relative to now with arbitrary (not
half-hour aligned) boundaries, so a test can put the best start a few
seconds after now. Nothing here touches the network beyond 127.0.0.1.
"""

import base64
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def now_ms():
    return int(time.time() * 1000)


def iso(ms, minutes_only=False):
    """UTC ISO 8601: "2026-11-25T17:00Z" when on a whole minute and
    minutes_only, else with seconds (and milliseconds when there are)."""
    secs, rem = divmod(int(ms), 1000)
    t = time.gmtime(secs)
    if minutes_only and t.tm_sec == 0 and rem == 0:
        return time.strftime("%Y-%m-%dT%H:%MZ", t)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", t)
    return base + (".%03dZ" % rem if rem else "Z")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class FakeGrid:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []
        self.faults = []
        # UK Carbon Intensity API
        self.uk_forecast = []
        self.uk_history = []
        self.uk_regional_forecast = {}   # region id (int) -> periods
        self.uk_regional_history = {}
        # Electricity Maps
        self.em_token = "em-test-token"
        self.em_history = {}    # zone -> points
        self.em_forecast = {}
        self.em_latest = {}     # zone -> one point
        self.em_factor = "lifecycle"
        self.em_granularity = "hourly"
        # WattTime
        self.wt_user = "wt-user"
        self.wt_password = "wt-pass"
        self.wt_token_lifetime_s = 1800
        self.wt_valid_tokens = set()
        self.wt_logins = 0
        self.wt_forecast = {}   # region -> points
        self.wt_historical = {}
        self.wt_period_s = 300
        self.httpd = None
        self.thread = None

    # -- life cycle -----------------------------------------------------
    def start(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                fake._handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.httpd.server_address[1]

    def server_env(self, em=True, wt=True):
        """Environment for a greentrack-server using these fakes."""
        env = {"GREENTRACK_UKCI_URL": self.url + "/uk",
               "GREENTRACK_ELECTRICITYMAPS_URL": self.url + "/em/v3",
               "GREENTRACK_WATTTIME_URL": self.url + "/wt"}
        if em:
            env["GREENTRACK_ELECTRICITYMAPS_TOKEN"] = self.em_token
        if wt:
            env["GREENTRACK_WATTTIME_USER"] = self.wt_user
            env["GREENTRACK_WATTTIME_PASSWORD"] = self.wt_password
        return env

    # -- control --------------------------------------------------------
    def fail_next(self, path_part, status, count=1, headers=None, body=None,
                  sleep_s=0.0, hold=None):
        """The next 'count' requests whose path contains 'path_part' get
        'status' (after sleeping sleep_s, or, with 'hold' (a
        threading.Event), after waiting until the test sets it, 120 s at
        most; status None = wait, then serve normally). A hold is the
        deterministic way to keep a fetch pending: the fake answers when
        the test says so, however slow the machine."""
        with self.lock:
            for _ in range(count):
                self.faults.append((path_part, status, headers or {}, body,
                                    sleep_s, hold))

    def clear(self):
        with self.lock:
            self.requests = []
            self.faults = []

    def count(self, path_part):
        with self.lock:
            return sum(1 for r in self.requests if path_part in r["path"])

    def matching(self, path_part):
        with self.lock:
            return [r for r in self.requests if path_part in r["path"]]

    @staticmethod
    def relative_periods(values, period_s=1800, first_end_s=None,
                         base_ms=None, actual=False):
        """UK-style periods from the given values: the first one contains
        now and ends first_end_s seconds from now (default: a full period
        from now - 60 s), the others follow back to back, period_s long."""
        base = now_ms() if base_ms is None else base_ms
        if first_end_s is None:
            start = base - 60000
            end = start + period_s * 1000
        else:
            end = base + int(first_end_s * 1000)
            start = end - period_s * 1000
        out = []
        for v in values:
            out.append({"start_ms": start, "end_ms": end, "forecast": v,
                        "actual": v if actual else None})
            start, end = end, end + period_s * 1000
        return out

    # -- serving --------------------------------------------------------
    def _handle(self, h):
        parsed = urllib.parse.urlsplit(h.path)
        path = parsed.path
        query = dict(urllib.parse.parse_qsl(parsed.query))
        headers = {k.lower(): v for k, v in h.headers.items()}
        with self.lock:
            self.requests.append({"method": "GET", "path": path,
                                  "query": query, "headers": headers,
                                  "time_ms": now_ms()})
            fault = None
            for i, f in enumerate(self.faults):
                if f[0] in path:
                    fault = self.faults.pop(i)
                    break
        if fault:
            _, status, fheaders, body, sleep_s, hold = fault
            if sleep_s:
                time.sleep(sleep_s)
            if hold is not None:
                hold.wait(120)
            if status is not None:
                return self._send(h, status, body if body is not None else
                                  {"error": "injected %d" % status}, fheaders)
        try:
            if path.startswith("/uk/"):
                return self._uk(h, path[3:])
            if path.startswith("/em/v3/"):
                return self._em(h, path[6:], query, headers)
            if path.startswith("/wt/"):
                return self._wt(h, path[3:], query, headers)
        except Exception as e:  # a bug in the fake: make it visible
            return self._send(h, 500, {"error": "fake: %r" % (e,)})
        return self._send(h, 404, {"error": "no such path"})

    def _send(self, h, status, obj, headers=None):
        data = (obj if isinstance(obj, (bytes, bytearray))
                else json.dumps(obj).encode())
        try:
            h.send_response(status)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                h.send_header(k, str(v))
            h.end_headers()
            h.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    # UK: /intensity/{from}/fw48h|pt24h, /regional/intensity/{from}/
    # fw48h|pt24h/regionid/{id}
    def _uk(self, h, path):
        parts = [p for p in path.split("/") if p]
        def entry(p, regional):
            inten = {"forecast": p["forecast"], "index": "moderate"}
            if not regional:
                inten["actual"] = p.get("actual")
            e = {"from": iso(p["start_ms"], True), "to": iso(p["end_ms"], True),
                 "intensity": inten}
            if regional:
                e["generationmix"] = [{"fuel": "gas", "perc": 43.6},
                                      {"fuel": "wind", "perc": 56.4}]
            return e
        if len(parts) == 3 and parts[0] == "intensity":
            series = (self.uk_forecast if parts[2] == "fw48h"
                      else self.uk_history if parts[2] == "pt24h" else None)
            if series is None:
                return self._send(h, 400, {"error": {
                    "code": "400 Bad Request", "message": "bad range"}})
            return self._send(h, 200, {"data": [entry(p, False)
                                                for p in series]})
        if (len(parts) == 6 and parts[0] == "regional" and
                parts[1] == "intensity" and parts[4] == "regionid"):
            rid = int(parts[5])
            table = (self.uk_regional_forecast if parts[3] == "fw48h"
                     else self.uk_regional_history)
            series = table.get(rid, [])
            return self._send(h, 200, {"data": {
                "regionid": rid, "dnoregion": "Test DNO",
                "shortname": "Region %d" % rid,
                "data": [entry(p, True) for p in series]}})
        return self._send(h, 400, {"error": {"code": "400 Bad Request",
                                             "message": "unknown path"}})

    def _em_point(self, zone, p):
        return {"zone": zone, "carbonIntensity": p["g"],
                "datetime": iso(p["t_ms"]) if p["t_ms"] % 1000 else
                iso(p["t_ms"]).replace("Z", ".000Z"),
                "updatedAt": iso(now_ms()), "createdAt": iso(now_ms()),
                "emissionFactorType": self.em_factor,
                "isEstimated": False, "estimationMethod": None,
                "temporalGranularity": self.em_granularity}

    def _em(self, h, path, query, headers):
        if headers.get("auth-token") != self.em_token:
            return self._send(h, 401, {"status": "error",
                                       "message": "Invalid auth-token"})
        zone = query.get("zone")
        if not zone:
            return self._send(h, 400, {"status": "error",
                                       "message": "zone is required"})
        if path == "/carbon-intensity/latest":
            p = self.em_latest.get(zone)
            if p is None:
                return self._send(h, 404, {"status": "error",
                                           "message": "Zone not found"})
            return self._send(h, 200, self._em_point(zone, p))
        if path == "/carbon-intensity/history":
            if zone not in self.em_history:
                return self._send(h, 404, {"status": "error",
                                           "message": "Zone not found"})
            return self._send(h, 200, {"zone": zone, "history": [
                self._em_point(zone, p) for p in self.em_history[zone]]})
        if path == "/carbon-intensity/forecast":
            if zone not in self.em_forecast:
                return self._send(h, 404, {"status": "error",
                                           "message": "Zone not found"})
            return self._send(h, 200, {"zone": zone, "forecast": [
                {"carbonIntensity": p["g"], "datetime": iso(p["t_ms"])}
                for p in self.em_forecast[zone]],
                "updatedAt": iso(now_ms())})
        return self._send(h, 404, {"status": "error", "message": "no route"})

    def _wt(self, h, path, query, headers):
        if path == "/login":
            auth = headers.get("authorization", "")
            want = "Basic " + base64.b64encode(
                ("%s:%s" % (self.wt_user, self.wt_password)).encode()).decode()
            if auth != want:
                return self._send(h, 401, {"error": "bad credentials"})
            with self.lock:
                self.wt_logins += 1
                n = self.wt_logins
            payload = {"sub": self.wt_user, "n": n,
                       "exp": int(time.time()) + self.wt_token_lifetime_s}
            token = "%s.%s.%s" % (b64url(b'{"alg":"HS256","typ":"JWT"}'),
                                  b64url(json.dumps(payload).encode()),
                                  b64url(b"sig%d" % n))
            with self.lock:
                self.wt_valid_tokens.add(token)
            return self._send(h, 200, {"token": token})
        auth = headers.get("authorization", "")
        tok = auth[7:] if auth.startswith("Bearer ") else None
        with self.lock:
            ok = tok in self.wt_valid_tokens
        if not ok:
            return self._send(h, 401, {"error": "invalid or expired token"})
        region = query.get("region")
        if path in ("/v3/forecast", "/v3/historical"):
            table = self.wt_forecast if path == "/v3/forecast" \
                else self.wt_historical
            if region not in table:
                return self._send(h, 400, {"error": "unknown region"})
            return self._send(h, 200, {
                "data": [{"point_time": iso(p["t_ms"]), "value": p["lb"]}
                         for p in table[region]],
                "meta": {"region": region,
                         "signal_type": query.get("signal_type"),
                         "model": {"date": "2024-01-01"},
                         "units": "lbs_co2_per_mwh",
                         "generated_at": iso(now_ms()),
                         "data_point_period_seconds": self.wt_period_s}})
        return self._send(h, 404, {"error": "no route"})
