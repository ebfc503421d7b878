"""Carbon-aware scheduling and live grid intensity, against loopback fakes
of the three providers (fake_grid.py): GET greentrack/schedule, GET
greentrack/grid/intensity, POST greentrack/grid/refresh, zone accounting
of runs tagged greentrack.zone (runs/carbon, the derived greentrack.co2_kg
metric, the leaderboard), provider errors, timeouts, 429 with Retry-After,
the Electricity Maps token header and the WattTime login and token
renewal. No test reaches the internet."""
import base64
import re
import threading
import time

from fake_grid import FakeGrid, now_ms
from harness import Client, ServerTestCase

GT = "/api/2.0/greentrack/"
MJ36 = 3.6e6
LB = 0.45359237
ISO_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
MIN = 60000

FAKE = FakeGrid()


def setUpModule():
    FAKE.start()


def tearDownModule():
    FAKE.stop()


def window_mean(periods, start, end):
    """Overlap-weighted mean of UK-style periods over [start, end)."""
    s = 0.0
    for p in periods:
        a, b = max(start, p["start_ms"]), min(end, p["end_ms"])
        if b > a:
            s += p["forecast"] * (b - a)
    return s / (end - start)


class GridCase(ServerTestCase):
    em = True
    wt = True
    extra_env = {}

    @classmethod
    def setUpClass(cls):
        env = FAKE.server_env(em=cls.em, wt=cls.wt)
        env["GREENTRACK_GRID_TIMEOUT_MS"] = "1000"
        env.update(cls.extra_env)
        cls.server_env = env
        super().setUpClass()

    def schedule(self, **q):
        return self.get(GT + "schedule", q)

    def sched_ok(self, **q):
        return self.ok(self.schedule(**q))

    def assertUnavailable(self, resp, msg=None):
        return self.assertError(resp, 503, "TEMPORARILY_UNAVAILABLE", msg)


class UkSchedule(GridCase):
    def test_best_start_seconds_after_now(self):
        # the cleaner period begins 30 s from now: the two schedule calls
        # below must come before that, which leaves a slow machine 30 s
        FAKE.uk_forecast = FakeGrid.relative_periods(
            [400, 100, 100, 300, 300, 300, 300], period_s=1800,
            first_end_s=30)
        before = FAKE.count("/uk/intensity/")
        # waiting 30 s saves 2.4 % here; min_saving_percent=0 takes any
        # saving (see the tiny-saving test for the default threshold)
        b = self.sched_ok(zone="GB", duration_minutes=60, within_hours=2,
                          min_saving_percent=0)
        self.assertEqual(FAKE.count("/uk/intensity/"), before + 1)
        req = FAKE.matching("/uk/intensity/")[-1]
        self.assertTrue(req["path"].endswith("/fw48h"), req["path"])
        self.assertRegex(req["path"],
                         r"^/uk/intensity/\d{4}-\d\d-\d\dT\d\d:\d\dZ/fw48h$")
        self.assertEqual(req["headers"].get("accept"), "application/json")
        p = FAKE.uk_forecast
        self.assertEqual(b["zone"], "GB")
        self.assertEqual(b["source"], "ukci")
        self.assertEqual(b["basis"], "direct")
        self.assertEqual(b["duration_minutes"], 60)
        self.assertEqual(b["within_hours"], 2)
        for k in ("now", "best_start", "best_end"):
            self.assertRegex(b[k], ISO_RE)
        # the cleanest hour starts at the second period, 30 s from now
        self.assertEqual(b["best_start_ms"], p[1]["start_ms"])
        self.assertEqual(b["best_end_ms"], p[1]["start_ms"] + 60 * MIN)
        self.assertLess(b["delay_minutes"], 1)
        self.assertGreater(b["delay_minutes"], 0)
        self.assertAlmostEqual(b["best_mean_intensity_g_per_kwh"], 100.0)
        now = b["now_ms"]
        want_now = window_mean(p, now, now + 60 * MIN)
        self.assertAlmostEqual(b["now_mean_intensity_g_per_kwh"], want_now,
                               places=6)
        self.assertAlmostEqual(b["saving_percent"],
                               (want_now - 100) / want_now * 100, places=6)
        self.assertFalse(b["cached"])
        self.assertTrue(b["forecast"])
        self.assertEqual(b["forecast"][1]["intensity_g_per_kwh"], 100)
        for f in b["forecast"]:
            self.assertRegex(f["from"], ISO_RE)
            self.assertRegex(f["to"], ISO_RE)
        # the second call is answered from the cache
        b2 = self.sched_ok(zone="GB", duration_minutes=60, within_hours=2,
                           min_saving_percent=0)
        self.assertEqual(FAKE.count("/uk/intensity/"), before + 1)
        self.assertTrue(b2["cached"])
        self.assertEqual(b2["best_start_ms"], p[1]["start_ms"])

    def test_regional_forecast(self):
        FAKE.uk_regional_forecast[13] = FakeGrid.relative_periods(
            [250, 240, 30, 260], period_s=1800)
        b = self.sched_ok(zone="GB-13", duration_minutes=30, within_hours=3)
        req = FAKE.matching("/uk/regional/")[-1]
        self.assertRegex(req["path"], r"^/uk/regional/intensity/"
                         r"\d{4}-\d\d-\d\dT\d\d:\d\dZ/fw48h/regionid/13$")
        self.assertEqual(b["best_start_ms"],
                         FAKE.uk_regional_forecast[13][2]["start_ms"])
        self.assertAlmostEqual(b["best_mean_intensity_g_per_kwh"], 30)
        self.assertEqual(b["source"], "ukci")

    def test_flat_forecast_means_run_now(self):
        FAKE.uk_regional_forecast[2] = FakeGrid.relative_periods(
            [150] * 6, period_s=1800)
        b = self.sched_ok(zone="GB-2", duration_minutes=45, within_hours=1.5)
        self.assertEqual(b["best_start_ms"], b["now_ms"])
        self.assertEqual(b["best_start"], b["now"])
        self.assertEqual(b["saving_percent"], 0)
        self.assertEqual(b["delay_minutes"], 0)

    def test_a_tiny_saving_is_not_worth_waiting_for(self):
        # 300 now, 297 from the next period on: 1 % at most, below the
        # default threshold
        FAKE.uk_regional_forecast[14] = FakeGrid.relative_periods(
            [300, 297, 297, 297], period_s=1800)
        b = self.sched_ok(zone="GB-14", duration_minutes=30, within_hours=1.5)
        self.assertEqual(b["best_start_ms"], b["now_ms"])
        self.assertEqual(b["saving_percent"], 0)
        self.assertEqual(b["min_saving_percent"], 1)
        self.assertGreater(b["skipped_saving_percent"], 0)
        self.assertLess(b["skipped_saving_percent"], 1)
        # asked to take any saving, it waits for the next period
        b = self.sched_ok(zone="GB-14", duration_minutes=30, within_hours=1.5,
                          min_saving_percent=0)
        self.assertGreater(b["best_start_ms"], b["now_ms"])
        self.assertAlmostEqual(b["best_mean_intensity_g_per_kwh"], 297)
        self.assertNotIn("skipped_saving_percent", b)
        for bad in ("-1", "101", "x"):
            r = self.get(GT + "schedule", {"zone": "GB-14",
                                           "duration_minutes": 30,
                                           "min_saving_percent": bad})
            self.assertBadParam(r)

    def test_short_forecast_clamps_candidates(self):
        # 3 periods; a 60-minute job fits only in the first ~90 minutes
        FAKE.uk_regional_forecast[3] = FakeGrid.relative_periods(
            [300, 200, 10], period_s=1800)
        p = FAKE.uk_regional_forecast[3]
        b = self.sched_ok(zone="GB-3", duration_minutes=60, within_hours=24)
        # the 10 g period cannot be reached for a whole hour: the best
        # covered window starts at the second period
        self.assertEqual(b["best_start_ms"], p[1]["start_ms"])
        self.assertAlmostEqual(b["best_mean_intensity_g_per_kwh"], 105)
        r = self.schedule(zone="GB-3", duration_minutes=600)
        self.assertUnavailable(r, "covers only until")

    def test_within_minutes_and_decimals(self):
        FAKE.uk_regional_forecast[4] = FakeGrid.relative_periods(
            [100, 50, 20, 10], period_s=1800)
        b = self.sched_ok(zone="GB-4", duration_minutes=30, within_hours=0.5)
        self.assertEqual(b["within_hours"], 0.5)
        self.assertEqual(b["best_start_ms"],
                         FAKE.uk_regional_forecast[4][1]["start_ms"])
        b = self.sched_ok(zone="GB-4", duration_minutes=30, within_minutes=90)
        self.assertEqual(b["within_hours"], 1.5)
        self.assertEqual(b["best_start_ms"],
                         FAKE.uk_regional_forecast[4][3]["start_ms"])

    def test_bad_parameters(self):
        bad = [
            dict(zone="GB", duration_minutes=0),
            dict(zone="GB", duration_minutes=10081),
            dict(zone="GB", duration_minutes="abc"),
            dict(zone="GB", duration_minutes="1.5"),
            dict(zone="GB", duration_minutes=60, within_hours=0),
            dict(zone="GB", duration_minutes=60, within_hours=169),
            dict(zone="GB", duration_minutes=60, within_hours="x"),
            dict(zone="GB", duration_minutes=60, within_hours=1,
                 within_minutes=60),
            dict(zone="GB", duration_minutes=60, within_minutes=0),
            dict(zone="bad zone!", duration_minutes=60),
            dict(zone="GB", duration_minutes=60, source="nope"),
            dict(zone="DE", duration_minutes=60, source="ukci"),
            dict(zone="GB-18", duration_minutes=60, source="ukci"),
            dict(duration_minutes=60),
            dict(zone="GB"),
        ]
        for q in bad:
            with self.subTest(q=q):
                self.assertBadParam(self.schedule(**q))
        self.assertBadParam(self.schedule(duration_minutes=60), "zone")
        self.assertBadParam(self.schedule(zone="GB"), "duration_minutes")
        self.assertNotFound(self.schedule(zone="GB", duration_minutes=60,
                                          experiment_id="987654"))
        self.assertServerUp()

    def test_grid_intensity_lists_the_cache(self):
        FAKE.uk_regional_forecast[6] = FakeGrid.relative_periods(
            [111, 222], period_s=1800)
        self.sched_ok(zone="GB-6", duration_minutes=30)
        b = self.ok(self.get(GT + "grid/intensity", {"zone": "GB-6"}))
        self.assertEqual(b["zone"], "GB-6")
        vals = [(x["intensity_g_per_kwh"], x["kind"], x["source"], x["basis"])
                for x in b["points"]]
        self.assertEqual(vals, [(111, "forecast", "ukci", "direct"),
                                (222, "forecast", "ukci", "direct")])
        x = b["points"][0]
        self.assertEqual(x["start_ms"],
                         FAKE.uk_regional_forecast[6][0]["start_ms"])
        self.assertRegex(x["from"], ISO_RE)
        self.assertRegex(x["fetched_at"], ISO_RE)
        b = self.ok(self.get(GT + "grid/intensity",
                             {"zone": "GB-6", "kind": "actual"}))
        self.assertEqual(b["points"], [])
        self.assertBadParam(self.get(GT + "grid/intensity", {}))
        self.assertBadParam(self.get(GT + "grid/intensity",
                                     {"zone": "GB", "kind": "x"}))
        self.assertBadParam(self.get(GT + "grid/intensity",
                                     {"zone": "GB", "start_ms": 5,
                                      "end_ms": 1}))


    def test_regional_history_refresh(self):
        t0 = now_ms() - 2 * 3600000
        FAKE.uk_regional_history[5] = FakeGrid.relative_periods(
            [140, 150], base_ms=t0)
        b = self.ok(self.post(GT + "grid/refresh?zone=GB-5&kind=actual", {}))
        req = FAKE.matching("/regionid/5")[-1]
        self.assertRegex(req["path"], r"/regional/intensity/"
                         r"\d{4}-\d\d-\d\dT\d\d:\d\dZ/pt24h/regionid/5$")
        # the regional API has forecasts only, also for the past
        self.assertEqual((b["actual_points"], b["forecast_points"]), (0, 2))
        pts = self.ok(self.get(GT + "grid/intensity", {
            "zone": "GB-5", "start_ms": t0 - 3600000}))["points"]
        self.assertEqual([p["intensity_g_per_kwh"] for p in pts], [140, 150])


class Configuration(GridCase):
    def test_bad_provider_settings_refuse_to_start(self):
        from harness import Server
        for args in (["--ukci-url", "ftp://example"],
                     ["--grid-timeout-ms", "5"],
                     ["--grid-ttl-s", "-1"],
                     ["--watttime-url", ""]):
            with self.subTest(args=args):
                s = Server(args=args)
                try:
                    s.spawn()
                    self.assertEqual(s.wait_exit(10), 2)
                    self.assertIn("invalid value", s.stderr_text())
                finally:
                    s.cleanup()


class ProviderErrors(GridCase):
    em = False
    wt = False

    def test_http_500_is_503_naming_provider(self):
        FAKE.uk_regional_forecast[7] = FakeGrid.relative_periods([100, 90])
        before = FAKE.count("/regionid/7")
        FAKE.fail_next("/regionid/7", 500, count=3)
        r = self.schedule(zone="GB-7", duration_minutes=30)
        # the provider is named; its URL and answer stay in the log
        self.assertUnavailable(r, "ukci: the provider answered HTTP 500")
        self.assertNotIn("http://", r.body["message"])
        self.assertNotIn("/regional/intensity/", r.body["message"])
        # retried with backoff: three attempts in all
        self.assertEqual(FAKE.count("/regionid/7"), before + 3)
        # the provider is back: the same request works
        self.sched_ok(zone="GB-7", duration_minutes=30)

    def test_timeout(self):
        FAKE.uk_regional_forecast[8] = FakeGrid.relative_periods([100, 90])
        # the fake answers only once the server has given up (1 s grid
        # timeout), however slow the machine
        hold = threading.Event()
        FAKE.fail_next("/regionid/8", None, hold=hold)
        try:
            r = self.schedule(zone="GB-8", duration_minutes=30)
        finally:
            hold.set()
        self.assertUnavailable(r, "timed out")
        self.assertIn("ukci", r.body["message"])

    def test_429_with_retry_after_then_success(self):
        FAKE.uk_regional_forecast[9] = FakeGrid.relative_periods([70, 60])
        before = FAKE.count("/regionid/9")
        FAKE.fail_next("/regionid/9", 429, headers={"Retry-After": "1"})
        b = self.sched_ok(zone="GB-9", duration_minutes=30)
        self.assertEqual(FAKE.count("/regionid/9"), before + 2)
        reqs = FAKE.matching("/regionid/9")[-2:]
        # the retry honoured Retry-After (the fake logs arrival times)
        self.assertGreaterEqual(reqs[1]["time_ms"] - reqs[0]["time_ms"], 900)
        self.assertAlmostEqual(b["best_mean_intensity_g_per_kwh"], 60)

    def test_unconfigured_providers(self):
        r = self.schedule(zone="DE", duration_minutes=60)
        self.assertUnavailable(r, "electricitymaps: no API token configured")
        r = self.schedule(zone="CAISO_NORTH", duration_minutes=60,
                          source="watttime")
        self.assertUnavailable(r, "watttime: no account configured")
        # a WattTime-like id, neither provider configured: WattTime says so
        r = self.schedule(zone="CAISO_NORTH", duration_minutes=60)
        self.assertUnavailable(r, "watttime: no account configured")

    def test_refresh_errors(self):
        FAKE.fail_next("/uk/intensity/", 503, count=6)
        r = self.post(GT + "grid/refresh?zone=GB", {})
        self.assertUnavailable(r, "ukci: the provider answered HTTP 503")
        self.assertBadParam(self.post(GT + "grid/refresh?zone=%20", {}))
        self.assertBadParam(self.post(GT + "grid/refresh", {}))
        self.assertServerUp()


class SlowProviderOffTheHttpThreads(GridCase):
    """A provider fetch runs on a job thread, not on one of the threads
    that serve the API: with a single HTTP thread, tracking calls are
    answered while a schedule (or a refresh) waits on a provider that
    answers only when the test lets it. Were the fetch on the HTTP thread,
    the tracking call would wait for the fetch, which the test releases
    only after that call: its 20 s client timeout (the grid timeout is
    60 s) would fail the test. No sleep decides the outcome."""
    server_args = ["--threads", "1"]
    extra_env = {"GREENTRACK_GRID_TIMEOUT_MS": "60000"}

    def slow_call_then_track(self, start_slow, path_part):
        before = FAKE.count(path_part)
        hold = threading.Event()
        FAKE.fail_next(path_part, None, hold=hold)  # held, then served
        out = {}
        t = threading.Thread(target=lambda: out.update(r=start_slow()))
        try:
            t.start()
            deadline = time.monotonic() + 60
            while FAKE.count(path_part) == before and \
                    time.monotonic() < deadline:
                time.sleep(0.01)
            self.assertGreater(FAKE.count(path_part), before,
                               "the fetch never reached the provider")
            quick = Client(self.server.host, self.server.port, timeout=20)
            try:
                self.ok(quick.post("experiments/search", {"max_results": 1}))
                self.ok(quick.get("experiments/get", {"experiment_id": "0"}))
            finally:
                quick.close()
            # answered while the fetch was still held at the provider
            self.assertTrue(t.is_alive() and "r" not in out,
                            "the slow call ended before the release: %r"
                            % (out,))
        finally:
            hold.set()
            t.join(60)
        self.assertFalse(t.is_alive(), "the slow call never ended")
        self.assertEqual(out["r"].status, 200, out["r"])

    def test_schedule_fetch(self):
        FAKE.uk_regional_forecast[11] = FakeGrid.relative_periods([100, 90])
        self.slow_call_then_track(
            lambda: self.server.client().get(
                GT + "schedule", {"zone": "GB-11", "duration_minutes": 30}),
            "/regionid/11")

    def test_refresh_fetch(self):
        FAKE.uk_regional_forecast[15] = FakeGrid.relative_periods([100, 90])
        self.slow_call_then_track(
            lambda: self.server.client().post(
                GT + "grid/refresh?zone=GB-15&kind=forecast", {}),
            "/regionid/15")


class StaleCache(GridCase):
    em = False
    wt = False
    extra_env = {"GREENTRACK_GRID_TTL_S": "0"}  # every call refetches

    def test_cache_answers_while_provider_is_down(self):
        FAKE.uk_regional_forecast[10] = FakeGrid.relative_periods(
            [500, 20, 500, 500])
        b = self.sched_ok(zone="GB-10", duration_minutes=30)
        self.assertFalse(b["cached"])
        FAKE.fail_next("/regionid/10", 503, count=3)
        b = self.sched_ok(zone="GB-10", duration_minutes=30)
        self.assertTrue(b["cached"])
        self.assertIn("ukci: the provider answered HTTP 503", b["warning"])
        self.assertAlmostEqual(b["best_mean_intensity_g_per_kwh"], 20)
        # nothing cached for this zone: 503
        FAKE.fail_next("/regionid/11", 503, count=3)
        self.assertUnavailable(self.schedule(zone="GB-11",
                                             duration_minutes=30))


class ElectricityMaps(GridCase):
    def em_series(self, values, step_ms=3600000, start=None):
        t0 = (now_ms() - 600000) if start is None else start
        return [{"t_ms": t0 + i * step_ms, "g": v}
                for i, v in enumerate(values)]

    def test_forecast_with_token_header(self):
        FAKE.em_forecast["DE"] = self.em_series([380, 390, 120, 400, 410])
        b = self.sched_ok(zone="DE", duration_minutes=60, within_hours=4)
        self.assertEqual(b["source"], "electricitymaps")
        self.assertEqual(b["basis"], "lifecycle")
        self.assertEqual(b["best_start_ms"], FAKE.em_forecast["DE"][2]["t_ms"])
        self.assertAlmostEqual(b["best_mean_intensity_g_per_kwh"], 120)
        req = FAKE.matching("/em/v3/carbon-intensity/forecast")[-1]
        self.assertEqual(req["headers"].get("auth-token"), FAKE.em_token)
        self.assertEqual(req["query"]["zone"], "DE")
        self.assertIn(req["query"].get("horizonHours"), ("6", "24"))

    def test_wrong_token_is_a_clear_error(self):
        FAKE.em_forecast["FR"] = self.em_series([50, 60])
        good = FAKE.em_token
        FAKE.em_token = "another-token"
        try:
            r = self.schedule(zone="FR", duration_minutes=30)
        finally:
            FAKE.em_token = good
        self.assertUnavailable(r, "electricitymaps: the provider answered "
                                  "HTTP 401")
        self.assertNotIn("Invalid auth-token", r.body["message"])
        self.assertNotIn("http://", r.body["message"])
        self.assertNotIn(good, r.body["message"])
        self.sched_ok(zone="FR", duration_minutes=30)

    def test_refresh_latest_and_history(self):
        t0 = now_ms() - 5 * 3600000
        FAKE.em_history["US-CAL-CISO"] = self.em_series([200, 210, 220],
                                                        start=t0)
        FAKE.em_latest["US-CAL-CISO"] = {"t_ms": t0 + 3 * 3600000, "g": 230}
        FAKE.em_forecast["US-CAL-CISO"] = self.em_series([240, 250])
        b = self.ok(self.post(GT + "grid/refresh?zone=US-CAL-CISO", {}))
        self.assertEqual(b["source"], "electricitymaps")
        self.assertEqual(b["actual_points"], 4)
        self.assertEqual(b["forecast_points"], 2)
        self.assertEqual(b["errors"], [])
        for path in ("latest", "history", "forecast"):
            r = FAKE.matching("/em/v3/carbon-intensity/" + path)[-1]
            self.assertEqual(r["headers"].get("auth-token"), FAKE.em_token)
            self.assertEqual(r["query"]["zone"], "US-CAL-CISO")
        pts = self.ok(self.get(GT + "grid/intensity", {
            "zone": "US-CAL-CISO", "kind": "actual",
            "start_ms": t0 - 1, "end_ms": now_ms()}))["points"]
        self.assertEqual([p["intensity_g_per_kwh"] for p in pts],
                         [200, 210, 220, 230])
        self.assertEqual(pts[0]["end_ms"] - pts[0]["start_ms"], 3600000)
        self.assertTrue(all(p["basis"] == "lifecycle" and
                            p["source"] == "electricitymaps" for p in pts))


class WattTime(GridCase):
    # refreshes one zone again and again: no cache TTL, so no refresh
    # rate limit (it follows the TTL)
    extra_env = {"GREENTRACK_GRID_TTL_S": "0"}

    def wt_series(self, lbs, start=None):
        t0 = (now_ms() - 60000) if start is None else start
        return [{"t_ms": t0 + i * 300000, "lb": v} for i, v in enumerate(lbs)]

    def test_login_token_reuse_renewal_and_conversion(self):
        FAKE.wt_forecast["CAISO_NORTH"] = self.wt_series(
            [900, 900, 400, 400, 900, 900, 900, 900])
        with FAKE.lock:  # whatever token the server holds is now refused
            FAKE.wt_valid_tokens.clear()
        logins = FAKE.wt_logins
        b = self.sched_ok(zone="CAISO_NORTH", duration_minutes=10,
                          within_hours=0.5)
        self.assertEqual(b["source"], "watttime")
        self.assertEqual(b["basis"], "marginal")
        self.assertAlmostEqual(b["best_mean_intensity_g_per_kwh"], 400 * LB)
        self.assertEqual(b["best_start_ms"],
                         FAKE.wt_forecast["CAISO_NORTH"][2]["t_ms"])
        self.assertEqual(FAKE.wt_logins, logins + 1)
        login = FAKE.matching("/wt/login")[-1]
        self.assertEqual(login["headers"]["authorization"],
                         "Basic " + base64.b64encode(
                             b"wt-user:wt-pass").decode())
        data = FAKE.matching("/wt/v3/forecast")[-1]
        self.assertTrue(data["headers"]["authorization"].startswith(
            "Bearer "))
        self.assertEqual(data["query"]["region"], "CAISO_NORTH")
        self.assertEqual(data["query"]["signal_type"], "co2_moer")
        # the token is reused
        self.ok(self.post(GT + "grid/refresh?zone=CAISO_NORTH&kind=forecast",
                          {}))
        self.assertEqual(FAKE.wt_logins, logins + 1)
        # revoked (401): one new login, then the request succeeds
        with FAKE.lock:
            FAKE.wt_valid_tokens.clear()
        b = self.ok(self.post(
            GT + "grid/refresh?zone=CAISO_NORTH&kind=forecast", {}))
        self.assertEqual(b["forecast_points"], 8)
        self.assertEqual(FAKE.wt_logins, logins + 2)
        # a token whose JWT exp has passed is renewed before use
        FAKE.wt_token_lifetime_s = -60
        try:
            with FAKE.lock:
                FAKE.wt_valid_tokens.clear()
            self.ok(self.post(
                GT + "grid/refresh?zone=CAISO_NORTH&kind=forecast", {}))
            self.assertEqual(FAKE.wt_logins, logins + 3)
            n_data = FAKE.count("/wt/v3/forecast")
            self.ok(self.post(
                GT + "grid/refresh?zone=CAISO_NORTH&kind=forecast", {}))
            self.assertEqual(FAKE.wt_logins, logins + 4)
            self.assertEqual(FAKE.count("/wt/v3/forecast"), n_data + 1)
        finally:
            FAKE.wt_token_lifetime_s = 1800

    def test_historical_in_g_per_kwh(self):
        t0 = now_ms() - 3600000
        FAKE.wt_historical["PJM_DC"] = self.wt_series([1000, 500], start=t0)
        b = self.ok(self.post(
            GT + "grid/refresh", {"zone": "PJM_DC", "kind": "actual"}))
        self.assertEqual(b["actual_points"], 2)
        r = FAKE.matching("/wt/v3/historical")[-1]
        self.assertIn("start", r["query"])
        self.assertIn("end", r["query"])
        pts = self.ok(self.get(GT + "grid/intensity", {
            "zone": "PJM_DC", "start_ms": t0 - 1}))["points"]
        self.assertEqual(len(pts), 2)
        self.assertAlmostEqual(pts[0]["intensity_g_per_kwh"], 1000 * LB)
        self.assertAlmostEqual(pts[1]["intensity_g_per_kwh"], 500 * LB)
        self.assertEqual(pts[0]["end_ms"] - pts[0]["start_ms"], 300000)
        self.assertEqual(pts[0]["basis"], "marginal")

    def test_bad_password(self):
        good = FAKE.wt_password
        FAKE.wt_password = "changed"
        try:
            FAKE.wt_forecast["MISO_X"] = self.wt_series([1, 2])
            with FAKE.lock:
                FAKE.wt_valid_tokens.clear()
            r = self.schedule(zone="MISO_X", duration_minutes=5)
        finally:
            FAKE.wt_password = good
        self.assertUnavailable(r, "watttime: login refused")


class ZoneAccounting(GridCase):
    """A run tagged greentrack.zone takes the intensity of its samples'
    own time from the zone's recorded periods; the grid thread fetches
    them by itself once the zone is in use."""
    # refreshes zone GB again: no cache TTL, so no refresh rate limit
    extra_env = {"GREENTRACK_GRID_TTL_S": "0"}

    def setUp(self):
        base = now_ms() - 3 * 3600000
        self.base = base
        # two settled half hours, one without an actual yet
        FAKE.uk_history = [
            {"start_ms": base, "end_ms": base + 30 * MIN,
             "forecast": 999, "actual": 200},
            {"start_ms": base + 30 * MIN, "end_ms": base + 60 * MIN,
             "forecast": 999, "actual": 100},
            {"start_ms": base + 60 * MIN, "end_ms": base + 90 * MIN,
             "forecast": 80, "actual": None},
        ]

    def tag(self, run_id, key, value):
        self.ok(self.post("runs/set-tag", {"run_id": run_id, "key": key,
                                           "value": value}))

    def carbon(self, run_id):
        return self.ok(self.get(GT + "runs/carbon", {"run_id": run_id}))

    def wait_covered(self, run_id, timeout=60.0):
        deadline = time.monotonic() + timeout
        while True:
            c = self.carbon(run_id)
            zi = c.get("zone_intensity") or {}
            if zi.get("covered_energy_kwh", 0) > 0:
                return c
            if time.monotonic() > deadline:
                self.fail("zone data never arrived: %r" % (c,))
            time.sleep(0.1)

    def co2_metric(self, run_id):
        data = self.get_run(run_id)["data"]
        return {m["key"]: m["value"] for m in data["metrics"]}[
            "greentrack.co2_kg"]

    def test_zone_then_incremental_cover_equals_a_full_one(self):
        """Each log-energy to a zoned run adds its own samples' cover to
        the one the writer remembers (and takes away what a resend
        replaces); the derived greentrack.co2_kg it writes must equal the
        CO2 that runs/carbon computes from every sample, after each of
        many random sends and resends, a zone change and new grid data."""
        import random
        rnd = random.Random(3)
        rid = self.create_run(self.create_experiment())["info"]["run_id"]
        self.tag(rid, "greentrack.country", "GBR")
        self.tag(rid, "greentrack.zone", "GB")
        self.wait_covered_after(rid, [{
            "start_time": self.base + 1 * MIN, "end_time": self.base + 2 * MIN,
            "cpu_energy_j": MJ36, "cpu_method": "rapl"}])
        b = self.base
        windows = [(b + i * 7 * MIN, b + i * 7 * MIN + 9 * MIN)
                   for i in range(-3, 16)]  # some outside every period

        def check(step):
            c = self.carbon(rid)
            self.assertAlmostEqual(self.co2_metric(rid) * 1000, c["co2_g"],
                                   places=6, msg="after %s" % step)
        for i in range(40):
            batch = []
            for _ in range(rnd.randint(1, 3)):
                st, en = rnd.choice(windows)
                x = {"start_time": st, "end_time": en,
                     "cpu_energy_j": rnd.random() * MJ36,
                     "cpu_method": "rapl"}
                if rnd.random() < 0.2:
                    x["intensity_g_per_kwh"] = 10
                    x["intensity_source"] = "meter"
                batch.append(x)
            self.ok(self.post(GT + "runs/log-energy",
                              {"run_id": rid, "samples": batch}))
            check("send %d" % i)
            if i == 15:
                self.tag(rid, "greentrack.zone", "GB-1")  # no data there
                check("zone GB-1")
                self.tag(rid, "greentrack.zone", "GB")
                check("zone GB again")
            if i == 25:  # new recorded data for the zone
                FAKE.uk_history[2]["actual"] = 70
                self.ok(self.post(GT + "grid/refresh?zone=GB&kind=actual",
                                  {}))
                check("new grid data")

    def wait_covered_after(self, run_id, samples):
        self.ok(self.post(GT + "runs/log-energy",
                          {"run_id": run_id, "samples": samples}))
        return self.wait_covered(run_id)

    def test_zone_accounting_follows_the_grid(self):
        exp = self.create_experiment()
        rid = self.create_run(exp)["info"]["run_id"]
        self.tag(rid, "greentrack.country", "GBR")
        b = self.base
        samples = [
            # 1 kWh inside the 200 g half hour
            {"start_time": b + 10 * MIN, "end_time": b + 20 * MIN,
             "cpu_energy_j": MJ36, "cpu_method": "rapl"},
            # 1 kWh across the 200 and 100 g half hours, half in each
            {"start_time": b + 25 * MIN, "end_time": b + 35 * MIN,
             "gpu_energy_j": MJ36, "gpu_method": "nvml-energy"},
            # 1 kWh in the half hour with only a forecast (80 g)
            {"start_time": b + 65 * MIN, "end_time": b + 75 * MIN,
             "cpu_energy_j": MJ36, "cpu_method": "rapl"},
            # 1 kWh long before any recorded period: the static table
            {"start_time": b - 10 * 3600000, "end_time": b - 9 * 3600000,
             "cpu_energy_j": MJ36, "cpu_method": "rapl"},
            # 1 kWh with its own measured intensity: untouched
            {"start_time": b + 40 * MIN, "end_time": b + 50 * MIN,
             "cpu_energy_j": MJ36, "cpu_method": "rapl",
             "intensity_g_per_kwh": 10, "intensity_source": "meter"},
        ]
        self.ok(self.post(GT + "runs/log-energy",
                          {"run_id": rid, "samples": samples}))
        static = self.carbon(rid)["location"]["table_intensity_g_per_kwh"]
        before = FAKE.count("/uk/intensity/")
        self.tag(rid, "greentrack.zone", "GB")
        c = self.wait_covered(rid)
        self.assertGreater(FAKE.count("/uk/intensity/"), before)
        self.assertTrue(FAKE.matching("/uk/intensity/")[-1]["path"]
                        .endswith("/pt24h"))
        want = 200 + (100 + 50) + 80 + static + 10
        self.assertAlmostEqual(c["co2_g"], want, places=6)
        self.assertAlmostEqual(c["energy_kwh"], 5.0)
        self.assertEqual(c["zone"], "GB")
        zi = c["zone_intensity"]
        self.assertAlmostEqual(zi["covered_energy_kwh"], 3.0)
        self.assertAlmostEqual(zi["actual_energy_kwh"], 2.0)
        self.assertAlmostEqual(zi["forecast_energy_kwh"], 1.0)
        self.assertAlmostEqual(zi["uncovered_energy_kwh"], 1.0)
        self.assertAlmostEqual(zi["covered_fraction"], 0.75)
        self.assertAlmostEqual(zi["intensity_g_per_kwh"], 430 / 3)
        self.assertEqual(zi["sources"], [{
            "source": "ukci", "basis": "direct", "actual_energy_kwh": 2.0,
            "forecast_energy_kwh": 1.0}])
        self.assertIn("ukci:GB actual+forecast", c["intensity_source"])
        self.assertIn("measured with the samples", c["intensity_source"])
        self.assertIn("GBR", c["intensity_source"])
        self.assertAlmostEqual(self.co2_metric(rid), want / 1000)
        self.ok(self.post("runs/log-metric", {
            "run_id": rid, "key": "acc", "value": 0.5,
            "timestamp": now_ms(), "step": 0}))
        board = self.ok(self.get(GT + "leaderboard", {
            "experiment_id": exp, "metric": "acc"}))["runs"]
        self.assertAlmostEqual(board[0]["co2_g"], want, places=6)

        # a zone without recorded data: the static table at once
        self.tag(rid, "greentrack.zone", "GB-16")
        c = self.carbon(rid)
        self.assertEqual(c["zone"], "GB-16")
        self.assertEqual(c["zone_intensity"]["covered_energy_kwh"], 0)
        self.assertAlmostEqual(c["co2_g"], 4 * static + 10, places=6)
        self.assertAlmostEqual(self.co2_metric(rid), (4 * static + 10) / 1000)
        board = self.ok(self.get(GT + "leaderboard", {
            "experiment_id": exp, "metric": "acc"}))["runs"]
        self.assertAlmostEqual(board[0]["co2_g"], 4 * static + 10, places=6)
        # back to GB: its recorded data applies again, no fetch needed
        self.tag(rid, "greentrack.zone", "GB")
        self.assertAlmostEqual(self.carbon(rid)["co2_g"], want, places=6)
        self.assertAlmostEqual(self.co2_metric(rid), want / 1000)

        # new data for the zone: the runs it covers are recomputed
        FAKE.uk_history[2]["actual"] = 40
        FAKE.uk_history[0]["actual"] = 300
        r = self.ok(self.post(GT + "grid/refresh?zone=GB&kind=actual", {}))
        self.assertGreaterEqual(r["runs_recomputed"], 1)
        want2 = 300 + (150 + 50) + 40 + static + 10
        c = self.carbon(rid)
        self.assertAlmostEqual(c["co2_g"], want2, places=6)
        self.assertIn("ukci:GB actual", c["intensity_source"])
        self.assertNotIn("forecast", c["intensity_source"])
        self.assertAlmostEqual(self.co2_metric(rid), want2 / 1000)
        board = self.ok(self.get(GT + "leaderboard", {
            "experiment_id": exp, "metric": "acc"}))["runs"]
        self.assertAlmostEqual(board[0]["co2_g"], want2, places=6)
        # removing the tag returns to the yearly table
        self.ok(self.post("runs/delete-tag", {"run_id": rid,
                                              "key": "greentrack.zone"}))
        c = self.carbon(rid)
        self.assertIsNone(c["zone"])
        self.assertNotIn("zone_intensity", c)
        self.assertAlmostEqual(c["co2_g"], 4 * static + 10, places=6)

    def test_experiment_schedule(self):
        exp = self.create_experiment()
        for i, (minutes, kwh) in enumerate([(50, 1.0), (70, 3.0),
                                            (65, 2.0)]):
            run = self.create_run(exp, start_time=self.base)
            rid = run["info"]["run_id"]
            self.tag(rid, "greentrack.zone", "GB-12")
            self.ok(self.post(GT + "runs/log-energy", {
                "run_id": rid, "samples": [{
                    "start_time": self.base, "end_time": self.base + MIN,
                    "cpu_energy_j": kwh * MJ36}]}))
            self.ok(self.post("runs/update", {
                "run_id": rid, "status": "FINISHED",
                "end_time": self.base + minutes * MIN + 1}))
        # a running run and another zone's run do not count
        self.create_run(exp)
        FAKE.uk_regional_forecast[12] = FakeGrid.relative_periods(
            [300, 300, 100, 100, 100, 300, 300])
        b = self.sched_ok(experiment_id=exp)
        self.assertEqual(b["zone"], "GB-12")
        self.assertEqual(b["experiment_id"], exp)
        self.assertEqual(b["duration_minutes"], 66)  # median 65 min + 1 ms
        self.assertEqual(b["duration_from"], "experiment")
        self.assertEqual(b["runs_considered"], 3)
        self.assertAlmostEqual(b["typical_energy_kwh"], 2.0)
        self.assertAlmostEqual(b["expected_co2_g_now"],
                               2.0 * b["now_mean_intensity_g_per_kwh"])
        self.assertAlmostEqual(b["expected_co2_g_best"],
                               2.0 * b["best_mean_intensity_g_per_kwh"])
        self.assertEqual(b["best_start_ms"],
                         FAKE.uk_regional_forecast[12][2]["start_ms"])
        # explicit parameters win
        b = self.sched_ok(experiment_id=exp, zone="GB-12",
                          duration_minutes=30)
        self.assertEqual(b["duration_minutes"], 30)
        # an experiment without zones or finished runs
        empty = self.create_experiment()
        self.assertBadParam(self.schedule(experiment_id=empty), "zone")
        b = self.sched_ok(experiment_id=empty, zone="GB-12")
        self.assertEqual(b["duration_minutes"], 60)
        self.assertEqual(b["duration_from"], "default")
        self.assertIsNone(b["typical_energy_kwh"])
        self.assertIsNone(b["expected_co2_g_now"])
        self.assertEqual(b["runs_considered"], 0)
