/* SPDX-License-Identifier: MIT
 *
 * test_greenai: the pure arithmetic of Green-AI decisions (greenai.c)
 * with hand-computed values: phase split pro rata by time overlap,
 * medians (odd, even, empty), upstream chains (ok, cycle through self and
 * within, depth limit, unknown base, ids too long), the cleanest cloud
 * regions of a provider from the shipped table, and the best window of
 * an energy profile over a grid timeline.
 */
#include "carbon.h"
#include "greenai.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

#define H 3600000LL
#define MIN 60000LL

static void test_phase_split(void)
{
    /* two hours, 1 kWh each; train the first, inference the second */
    struct greenai_sample s[] = {{0, H, CARBON_J_PER_KWH},
                                 {H, 2 * H, CARBON_J_PER_KWH}};
    struct greenai_span p[] = {{0, H},
                               {H, 2 * H},
                               {40 * MIN, 100 * MIN},
                               {3 * H, 4 * H},
                               {30 * MIN, 30 * MIN}};
    double out[5];
    greenai_phase_split(s, 2, p, 5, out);
    CHECK_NEAR(out[0], CARBON_J_PER_KWH, 1e-6);
    CHECK_NEAR(out[1], CARBON_J_PER_KWH, 1e-6);
    /* 20 min of the first (1/3) and 40 min of the second (2/3) */
    CHECK_NEAR(out[2], CARBON_J_PER_KWH, 1e-6);
    CHECK_NEAR(out[3], 0, 1e-12);
    CHECK_NEAR(out[4], 0, 1e-12); /* an instant of a long sample */
    /* a zero-length sample counts wholly where its instant is */
    struct greenai_sample z[] = {{90 * MIN, 90 * MIN, 100}};
    greenai_phase_split(z, 1, p, 3, out);
    CHECK_NEAR(out[0], 0, 1e-12);
    CHECK_NEAR(out[1], 100, 1e-12);
    CHECK_NEAR(out[2], 100, 1e-12);
    /* one 2 kWh sample, last half hour of its hour: a quarter */
    struct greenai_sample one[] = {{0, H, 2 * CARBON_J_PER_KWH}};
    struct greenai_span last[] = {{45 * MIN, 2 * H}};
    greenai_phase_split(one, 1, last, 1, out);
    CHECK_NEAR(out[0], 0.5 * CARBON_J_PER_KWH, 1e-6);
}

static void test_median(void)
{
    double a[] = {4, 1, 2};
    CHECK_NEAR(greenai_median(a, 3), 2, 0);
    double b[] = {1.5, 1};
    CHECK_NEAR(greenai_median(b, 2), 1.25, 0);
    double c[] = {9, 1, 3, 7};
    CHECK_NEAR(greenai_median(c, 4), 5, 0);
    CHECK_NEAR(greenai_median(NULL, 0), 0, 0);
}

/* A little store: run i ("r<i>") has base bases[i] (-1 none; -2 a run
 * that does not exist). */
struct fake {
    int bases[40];
    int n;
    char buf[16];
};

static bool fake_base(void *ctx, const char *run_id, const char **base)
{
    struct fake *f = ctx;
    int i = (int)strtol(run_id + 1, NULL, 10);
    *base = NULL;
    if (run_id[0] != 'r' || i < 0 || i >= f->n)
        return false;
    if (f->bases[i] == -2) {
        *base = "nope";
        return true;
    }
    if (f->bases[i] >= 0) {
        snprintf(f->buf, sizeof(f->buf), "r%d", f->bases[i]);
        *base = f->buf;
    }
    return true;
}

static void test_chain(void)
{
    struct fake f = {.n = 40};
    for (int i = 0; i < 40; i++)
        f.bases[i] = i - 1; /* r0 has none, r1 -> r0, ... */
    char chain[GREENAI_MAX_DEPTH][33];
    size_t n;
    CHECK_EQ_INT(greenai_chain("r3", "r2", fake_base, &f, &chain[0][0], 33, &n),
                 GREENAI_CHAIN_OK);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_STR(chain[0], "r2");
    CHECK_EQ_STR(chain[2], "r0");
    /* r0 declaring r2 would close r0 -> r2 -> r1 -> r0 */
    CHECK_EQ_INT(greenai_chain("r0", "r2", fake_base, &f, &chain[0][0], 33, &n),
                 GREENAI_CHAIN_CYCLE);
    /* a cycle that does not pass through the declaring run */
    f.bases[0] = 2;
    CHECK_EQ_INT(greenai_chain(NULL, "r2", fake_base, &f, &chain[0][0], 33, &n),
                 GREENAI_CHAIN_CYCLE);
    CHECK_EQ_INT(n, 3);
    f.bases[0] = -1;
    /* 32 bases are followed, a 33rd is too deep */
    CHECK_EQ_INT(
        greenai_chain(NULL, "r31", fake_base, &f, &chain[0][0], 33, &n),
        GREENAI_CHAIN_OK);
    CHECK_EQ_INT(n, 32);
    CHECK_EQ_INT(
        greenai_chain(NULL, "r32", fake_base, &f, &chain[0][0], 33, &n),
        GREENAI_CHAIN_TOO_DEEP);
    CHECK_EQ_INT(n, 32);
    /* a base that is not a run, first or further down */
    CHECK_EQ_INT(greenai_chain(NULL, "x9", fake_base, &f, &chain[0][0], 33, &n),
                 GREENAI_CHAIN_UNKNOWN);
    f.bases[1] = -2;
    CHECK_EQ_INT(greenai_chain(NULL, "r2", fake_base, &f, &chain[0][0], 33, &n),
                 GREENAI_CHAIN_UNKNOWN);
    CHECK_EQ_INT(n, 3); /* r2, r1, "nope" */
    /* an id longer than the slots */
    CHECK_EQ_INT(
        greenai_chain(NULL, "r123456789", fake_base, &f, &chain[0][0], 8, &n),
        GREENAI_CHAIN_UNKNOWN);
}

static void test_regions(void)
{
    /* data/cloud_region_carbon_intensity.csv: gcp's cleanest are
     * northamerica-northeast1 (2), europe-west9 (34), europe-north1 (46) */
    struct greenai_region r[3];
    size_t n = greenai_cleanest_regions("gcp", r, 3);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_STR(r[0].region, "northamerica-northeast1");
    CHECK_NEAR(r[0].g_per_kwh, 2, 0);
    CHECK_EQ_STR(r[1].region, "europe-west9");
    CHECK_NEAR(r[1].g_per_kwh, 34, 0);
    CHECK_EQ_STR(r[2].region, "europe-north1");
    CHECK_EQ_STR(r[2].provider, "gcp");
    n = greenai_cleanest_regions("GCP", r, 1); /* case-insensitive */
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_STR(r[0].region, "northamerica-northeast1");
    CHECK_EQ_INT(greenai_cleanest_regions("nocloud", r, 3), 0);
    CHECK_EQ_INT(greenai_cleanest_regions(NULL, r, 3), 0);
}

static struct grid_point gp(int64_t a, int64_t b, double g)
{
    struct grid_point p;
    memset(&p, 0, sizeof(p));
    p.start_ms = a;
    p.end_ms = b;
    p.g_per_kwh = g;
    p.kind = GRID_ACTUAL;
    return p;
}

static void test_best_window(void)
{
    /* half hours 300 300 200 200 100 100 50 50 250 250 from t = 0 */
    double v[] = {300, 300, 200, 200, 100, 100, 50, 50, 250, 250};
    struct grid_point tl[10];
    for (int i = 0; i < 10; i++)
        tl[i] = gp(i * 30 * MIN, (i + 1) * 30 * MIN, v[i]);
    /* 1 kWh over [1 h, 2 h): 200 g; best at 3 h: 50 g */
    struct greenai_sample s[] = {{H, 2 * H, CARBON_J_PER_KWH}};
    int64_t start;
    double g;
    CHECK(greenai_best_window(tl, 10, s, 1, H, 24 * H, &start, &g));
    CHECK_EQ_INT(start, 3 * H);
    CHECK_NEAR(g, 50, 1e-9);
    /* a window of 30 min allows starts in [30 min, 1.5 h] only: the best
     * is 1.5 h, half an hour at 200 and half an hour at 100: 150 g */
    CHECK(greenai_best_window(tl, 10, s, 1, H, 30 * MIN, &start, &g));
    CHECK_EQ_INT(start, H + 30 * MIN);
    CHECK_NEAR(g, 150, 1e-9);
    /* two samples of one profile move together: 0.5 kWh in each half
     * hour [1 h, 1.5 h) and [1.5 h, 2 h) */
    struct greenai_sample two[] = {{H + 30 * MIN, 2 * H, CARBON_J_PER_KWH / 2},
                                   {H, H + 30 * MIN, CARBON_J_PER_KWH / 2}};
    CHECK(greenai_best_window(tl, 10, two, 2, H, 24 * H, &start, &g));
    CHECK_EQ_INT(start, 3 * H);
    CHECK_NEAR(g, 50, 1e-9);
    /* a profile longer than the data is never covered */
    struct greenai_sample big[] = {{0, 6 * H, CARBON_J_PER_KWH}};
    CHECK(!greenai_best_window(tl, 10, big, 1, 0, 24 * H, &start, &g));
    CHECK(!greenai_best_window(tl, 0, s, 1, H, 24 * H, &start, &g));
    CHECK(!greenai_best_window(tl, 10, s, 0, H, 24 * H, &start, &g));
}

int main(void)
{
    test_phase_split();
    test_median();
    test_chain();
    test_regions();
    test_best_window();
    TEST_MAIN_END("test_greenai");
}
