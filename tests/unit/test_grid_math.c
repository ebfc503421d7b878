/* SPDX-License-Identifier: MIT
 *
 * test_grid_math: the grid-intensity arithmetic without HTTP: ISO 8601
 * parsing and formatting, the effective timeline of overlapping periods
 * (actual before forecast, newest fetch first), energy spread over it by
 * time overlap, the scheduling window search on non-aligned periods, and
 * which provider a zone resolves to.
 */
#include "config.h"
#include "grid.h"
#include "grid_math.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

#define MIN 60000LL

static struct grid_point pt(int64_t a, int64_t b, double g, enum grid_kind kind,
                            int64_t fetched, const char *src)
{
    struct grid_point p;
    memset(&p, 0, sizeof(p));
    p.start_ms = a;
    p.end_ms = b;
    p.g_per_kwh = g;
    p.kind = kind;
    p.fetched_ms = fetched;
    snprintf(p.source, sizeof(p.source), "%s", src);
    snprintf(p.basis, sizeof(p.basis), "direct");
    return p;
}

static void test_iso(void)
{
    int64_t ms = 0;
    CHECK(grid_parse_iso("1970-01-01T00:00Z", &ms));
    CHECK_EQ_INT(ms, 0);
    CHECK(grid_parse_iso("2018-01-20T12:00Z", &ms));
    CHECK_EQ_INT(ms, 1516449600000LL);
    CHECK(grid_parse_iso("2023-01-23T17:00:00.000Z", &ms));
    CHECK_EQ_INT(ms, 1674493200000LL);
    CHECK(grid_parse_iso("2023-01-23T17:00:05.250Z", &ms));
    CHECK_EQ_INT(ms, 1674493205250LL);
    CHECK(grid_parse_iso("2023-01-23T18:00:00+01:00", &ms));
    CHECK_EQ_INT(ms, 1674493200000LL);
    CHECK(grid_parse_iso("2024-02-29T23:59:59Z", &ms));
    CHECK_EQ_INT(ms, 1709251199000LL);
    CHECK(!grid_parse_iso("2023-01-23T17:00", &ms)); /* no zone */
    CHECK(!grid_parse_iso("2023-13-01T00:00Z", &ms));
    CHECK(!grid_parse_iso("2023-01-23", &ms));
    CHECK(!grid_parse_iso("", &ms));
    CHECK(!grid_parse_iso(NULL, &ms));
    CHECK(!grid_parse_iso("2023-01-23T17:00:00.Z", &ms));
    CHECK(!grid_parse_iso("2023-01-23T17:00Zjunk", &ms));
    char buf[40];
    CHECK_EQ_STR(grid_format_iso(1674493205250LL, buf, sizeof(buf)),
                 "2023-01-23T17:00:05Z");
    CHECK_EQ_STR(grid_format_iso_minute(1674493205250LL, buf, sizeof(buf)),
                 "2023-01-23T17:00Z");
    CHECK_EQ_STR(grid_format_iso(1709251199000LL, buf, sizeof(buf)),
                 "2024-02-29T23:59:59Z");
    /* round trip over a range of days */
    bool ok = true;
    for (int64_t t = 0; t < 4000LL * 86400000; t += 86400000LL * 7 + 12345) {
        int64_t back;
        grid_format_iso(t, buf, sizeof(buf));
        ok = ok && grid_parse_iso(buf, &back) && back == t / 1000 * 1000;
    }
    CHECK(ok);
}

static void test_timeline(void)
{
    /* a forecast 0..60, an actual 10..30 (wins), a newer forecast 40..50
     * (wins over the older one) */
    struct grid_point in[] = {
        pt(0, 60, 100, GRID_FORECAST, 1, "ukci"),
        pt(10, 30, 50, GRID_ACTUAL, 1, "ukci"),
        pt(40, 50, 70, GRID_FORECAST, 2, "ukci"),
    };
    struct grid_point *tl;
    size_t m = grid_timeline(in, 3, &tl);
    CHECK_EQ_INT(m, 5);
    int64_t want[][2] = {{0, 10}, {10, 30}, {30, 40}, {40, 50}, {50, 60}};
    double g[] = {100, 50, 100, 70, 100};
    for (size_t i = 0; i < m && i < 5; i++) {
        CHECK_EQ_INT(tl[i].start_ms, want[i][0]);
        CHECK_EQ_INT(tl[i].end_ms, want[i][1]);
        CHECK_NEAR(tl[i].g_per_kwh, g[i], 1e-12);
    }
    CHECK(tl[1].kind == GRID_ACTUAL);
    free(tl);
    CHECK_EQ_INT(grid_timeline(in, 0, &tl), 0);
    CHECK(tl == NULL);
    /* an empty or reversed period is ignored */
    struct grid_point bad[] = {pt(5, 5, 1, GRID_ACTUAL, 1, "x"),
                               pt(9, 3, 1, GRID_ACTUAL, 1, "x")};
    CHECK_EQ_INT(grid_timeline(bad, 2, &tl), 0);
    /* many overlapping candidates stay within bounds and sorted */
    struct grid_point many[50];
    for (int i = 0; i < 50; i++)
        many[i] = pt(i * 7 % 31, i * 7 % 31 + 1 + i % 9, i,
                     i % 3 ? GRID_FORECAST : GRID_ACTUAL, i, "ukci");
    m = grid_timeline(many, 50, &tl);
    bool sorted = m > 0 && m <= 100;
    for (size_t i = 1; i < m; i++)
        sorted = sorted && tl[i].start_ms >= tl[i - 1].end_ms;
    CHECK(sorted);
    free(tl);
}

static void test_cover(void)
{
    struct grid_point in[] = {
        pt(0, 30 * MIN, 200, GRID_ACTUAL, 1, "ukci"),
        pt(30 * MIN, 60 * MIN, 100, GRID_ACTUAL, 1, "ukci"),
        pt(60 * MIN, 90 * MIN, 80, GRID_FORECAST, 1, "ukci"),
    };
    struct grid_point *tl;
    size_t m = grid_timeline(in, 3, &tl);
    struct grid_cover c;
    memset(&c, 0, sizeof(c));
    grid_cover_add(&c, tl, m, 10 * MIN, 20 * MIN, 1000);
    grid_cover_add(&c, tl, m, 25 * MIN, 35 * MIN, 1000); /* half and half */
    grid_cover_add(&c, tl, m, 85 * MIN, 95 * MIN, 1000); /* half outside */
    grid_cover_add(&c, tl, m, -50 * MIN, -40 * MIN, 1000);
    grid_cover_add(&c, tl, m, 0, 0, 1000); /* empty: ignored */
    CHECK_NEAR(c.covered_j, 2500, 1e-9);
    CHECK_NEAR(c.uncovered_j, 1500, 1e-9);
    CHECK_NEAR(c.actual_j, 2000, 1e-9);
    CHECK_NEAR(c.forecast_j, 500, 1e-9);
    CHECK_NEAR(c.covered_gj, 1000 * 200 + 500 * 200 + 500 * 100 + 500 * 80,
               1e-6);
    char label[128];
    grid_cover_label(&c, "GB", label, sizeof(label));
    CHECK_EQ_STR(label, "ukci:GB actual+forecast");
    CHECK_EQ_STR(c.basis[grid_source_index("ukci")], "direct");
    struct grid_cover empty;
    memset(&empty, 0, sizeof(empty));
    grid_cover_label(&empty, "GB", label, sizeof(label));
    CHECK_EQ_STR(label, "");
    free(tl);
}

static void test_schedule(void)
{
    /* non-aligned boundaries: the first period ends 5 s after now */
    int64_t now = 1700000000123LL;
    double g[] = {400, 100, 100, 300, 300};
    struct grid_point in[5];
    int64_t start = now + 5000 - 30 * MIN;
    for (int i = 0; i < 5; i++)
        in[i] = pt(start + i * 30 * MIN, start + (i + 1) * 30 * MIN, g[i],
                   GRID_FORECAST, 1, "ukci");
    struct grid_point *tl;
    size_t m = grid_timeline(in, 5, &tl);
    struct grid_schedule s;
    CHECK(grid_schedule_best(tl, m, now, 24 * 60 * MIN, 60 * MIN, &s) ==
          GRID_SCHEDULE_OK);
    CHECK_EQ_INT(s.best_start_ms, now + 5000);
    CHECK_NEAR(s.best_mean, 100, 1e-9);
    CHECK_NEAR(s.now_mean,
               (5000.0 * 400 + (60 * MIN - 5000) * 100) / (60 * MIN), 1e-9);
    CHECK_EQ_INT(s.covered_until_ms, start + 150 * MIN);
    /* within too short to reach the second period: now is best */
    CHECK(grid_schedule_best(tl, m, now, 4000, 60 * MIN, &s) ==
          GRID_SCHEDULE_OK);
    CHECK_EQ_INT(s.best_start_ms, now);
    /* a job longer than the forecast */
    CHECK(grid_schedule_best(tl, m, now, 60 * MIN, 200 * MIN, &s) ==
          GRID_SCHEDULE_NOW_NOT_COVERED);
    /* a flat forecast: ties go to now */
    for (size_t i = 0; i < m; i++)
        tl[i].g_per_kwh = 150;
    CHECK(grid_schedule_best(tl, m, now, 24 * 60 * MIN, 30 * MIN, &s) ==
          GRID_SCHEDULE_OK);
    CHECK_EQ_INT(s.best_start_ms, now);
    CHECK_NEAR(s.best_mean, s.now_mean, 1e-12);
    free(tl);
    /* a gap in the forecast is never bridged */
    struct grid_point gap[] = {
        pt(now - MIN, now + 30 * MIN, 300, GRID_FORECAST, 1, "ukci"),
        pt(now + 40 * MIN, now + 70 * MIN, 10, GRID_FORECAST, 1, "ukci"),
        pt(now + 70 * MIN, now + 100 * MIN, 200, GRID_FORECAST, 1, "ukci"),
    };
    m = grid_timeline(gap, 3, &tl);
    CHECK(grid_schedule_best(tl, m, now, 24 * 60 * MIN, 20 * MIN, &s) ==
          GRID_SCHEDULE_OK);
    CHECK_EQ_INT(s.best_start_ms, now + 40 * MIN);
    CHECK_NEAR(s.best_mean, 10, 1e-9);
    CHECK_EQ_INT(s.covered_until_ms, now + 30 * MIN);
    double mean;
    CHECK(!grid_window_mean(tl, m, now, now + 35 * MIN, &mean));
    CHECK(grid_window_mean(tl, m, now + 50 * MIN, now + 80 * MIN, &mean));
    CHECK_NEAR(mean, (20.0 * 10 + 10.0 * 200) / 30, 1e-9);
    free(tl);
    /* nothing at all */
    CHECK(grid_schedule_best(NULL, 0, now, MIN, MIN, &s) ==
          GRID_SCHEDULE_NOW_NOT_COVERED);
}

static void test_resolve(void)
{
    struct config cfg;
    memset(&cfg, 0, sizeof(cfg));
    snprintf(cfg.ukci_url, sizeof(cfg.ukci_url), "http://127.0.0.1:9");
    snprintf(cfg.electricitymaps_url, sizeof(cfg.electricitymaps_url),
             "http://127.0.0.1:9");
    snprintf(cfg.watttime_url, sizeof(cfg.watttime_url), "http://127.0.0.1:9");
    struct grid *g = grid_new(NULL, &cfg);
    enum grid_source s;
    struct errbuf eb;
    CHECK(grid_resolve(g, "GB", NULL, &s, &eb) == SRV_OK && s == GRID_SRC_UKCI);
    CHECK(grid_resolve(g, "GB-17", NULL, &s, &eb) == SRV_OK &&
          s == GRID_SRC_UKCI);
    CHECK(grid_resolve(g, "GB-18", NULL, &s, &eb) == SRV_OK &&
          s == GRID_SRC_ELECTRICITYMAPS);
    CHECK(grid_resolve(g, "GB-01", "ukci", &s, &eb) ==
          SRV_E_INVALID_PARAMETER_VALUE);
    CHECK(grid_resolve(g, "DE", NULL, &s, &eb) == SRV_OK &&
          s == GRID_SRC_ELECTRICITYMAPS);
    CHECK(grid_resolve(g, "CAISO_NORTH", NULL, &s, &eb) == SRV_OK &&
          s == GRID_SRC_WATTTIME);
    snprintf(cfg.electricitymaps_token, sizeof(cfg.electricitymaps_token), "t");
    /* Electricity Maps configured, WattTime not: it gets the id */
    CHECK(grid_resolve(g, "CAISO_NORTH", NULL, &s, &eb) == SRV_OK &&
          s == GRID_SRC_ELECTRICITYMAPS);
    snprintf(cfg.watttime_user, sizeof(cfg.watttime_user), "u");
    CHECK(grid_resolve(g, "CAISO_NORTH", NULL, &s, &eb) == SRV_OK &&
          s == GRID_SRC_WATTTIME);
    CHECK(grid_resolve(g, "US-CAL-CISO", NULL, &s, &eb) == SRV_OK &&
          s == GRID_SRC_ELECTRICITYMAPS);
    CHECK(grid_resolve(g, "GB", "watttime", &s, &eb) == SRV_OK &&
          s == GRID_SRC_WATTTIME);
    CHECK(grid_resolve(g, "DE", "ukci", &s, &eb) ==
          SRV_E_INVALID_PARAMETER_VALUE);
    CHECK(grid_resolve(g, "GB", "bogus", &s, &eb) ==
          SRV_E_INVALID_PARAMETER_VALUE);
    CHECK(grid_resolve(g, "a b", NULL, &s, &eb) ==
          SRV_E_INVALID_PARAMETER_VALUE);
    CHECK(grid_resolve(g, "", NULL, &s, &eb) == SRV_E_INVALID_PARAMETER_VALUE);
    CHECK(!grid_zone_valid("../etc"));
    CHECK(grid_zone_valid("DK-DK1"));
    CHECK_EQ_INT(grid_forecast_horizon(GRID_SRC_UKCI, 3 * 3600000LL), 48);
    CHECK_EQ_INT(grid_forecast_horizon(GRID_SRC_ELECTRICITYMAPS, 7 * 3600000LL),
                 24);
    CHECK_EQ_INT(
        grid_forecast_horizon(GRID_SRC_ELECTRICITYMAPS, 100 * 3600000LL), 72);
    CHECK_EQ_INT(grid_forecast_horizon(GRID_SRC_WATTTIME, 3600001LL), 2);
    grid_free(g);
}

int main(void)
{
    test_iso();
    test_timeline();
    test_cover();
    test_schedule();
    test_resolve();
    TEST_MAIN_END("test_grid_math");
}
