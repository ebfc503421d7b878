/* SPDX-License-Identifier: MIT
 *
 * test_ranking: the leaderboard's computation (ranking.c): scores, rank
 * order and its tie-breaks, the Pareto front, and that a patched ranking
 * equals one built from scratch over the same rows.
 */
#include "ranking.h"
#include "test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rows whose names live in the rows themselves (names[i]). */
struct rows {
    struct leaderboard_row r[512];
    char names[512][24];
    size_t n;
};

static struct leaderboard_row *add(struct rows *t, int64_t pk, int64_t start,
                                   bool has_metric, double metric,
                                   bool has_energy, double co2_kg)
{
    struct leaderboard_row *w = &t->r[t->n];
    memset(w, 0, sizeof(*w));
    snprintf(w->run_id, sizeof(w->run_id), "%032lld", (long long)pk);
    snprintf(t->names[t->n], sizeof(t->names[t->n]), "run-%lld", (long long)pk);
    w->run_name = t->names[t->n];
    w->run_pk = pk;
    w->start_time = start;
    w->has_metric = has_metric;
    w->metric = metric;
    w->has_energy = has_energy;
    w->co2_kg = co2_kg;
    w->energy_kwh = co2_kg * 10;
    t->n++;
    return w;
}

/* The position of run 'pk' in 'r', or -1. */
static long pos(const struct ranking *r, int64_t pk)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->rows[i].run_pk == pk)
            return (long)i;
    return -1;
}

static void test_scores(void)
{
    struct rows t = {.n = 0};
    const struct leaderboard_row *a = add(&t, 1, 0, true, 0.9, true, 0.05);
    struct ranked r = ranking_score(a, true);
    CHECK(r.scored);
    CHECK_NEAR(r.score, 0.9 / 0.05, 1e-9);
    CHECK_NEAR(r.goodness, 0.9, 0);
    r = ranking_score(a, false);
    CHECK(r.scored);
    CHECK_NEAR(r.score, 0.9 * 0.05, 1e-12);
    CHECK_NEAR(r.goodness, -0.9, 0);
    /* no measurable CO2: scored as RANKING_MIN_CO2_KG, a finite score */
    r = ranking_score(add(&t, 2, 0, true, 0.5, true, 0.0), true);
    CHECK(r.scored);
    CHECK_NEAR(r.score, 0.5 / RANKING_MIN_CO2_KG, 1e-3);
    r = ranking_score(add(&t, 3, 0, true, 0.5, true, 1e-9), false);
    CHECK_NEAR(r.score, 0.5 * RANKING_MIN_CO2_KG, 1e-15);
    /* unscored: no metric, no energy, a NaN metric, an infinite score */
    CHECK(!ranking_score(add(&t, 4, 0, false, 0, true, 1), true).scored);
    CHECK(!ranking_score(add(&t, 5, 0, true, 1, false, 0), true).scored);
    CHECK(!ranking_score(add(&t, 6, 0, true, NAN, true, 1), true).scored);
    CHECK(!ranking_score(add(&t, 7, 0, true, 1e308, true, 0), true).scored);
    CHECK(!ranking_score(add(&t, 8, 0, true, INFINITY, true, 1), false).scored);
}

/* The integration tests' board (test_leaderboard.py): FRA at 56.039 g
 * per kWh, POL at 661.926. */
static void test_order_and_front(void)
{
    struct rows t = {.n = 0};
    add(&t, 1, 10, true, 0.90, true, 0.056039);  /* a */
    add(&t, 2, 20, true, 0.95, true, 1.323852);  /* b: best metric */
    add(&t, 3, 30, true, 0.80, true, 0.0056039); /* c: least CO2 */
    add(&t, 4, 40, true, 0.85, true, 0.0840585); /* g: dominated by a */
    add(&t, 5, 50, true, 0.99, false, 0);        /* d: no energy */
    add(&t, 6, 60, false, 0, true, 0.056039);    /* e: no metric */
    struct ranking r;
    CHECK(ranking_build(&r, t.r, t.n, true));
    CHECK_EQ_INT(r.n, 6);
    static const int64_t want[] = {3, 1, 4, 2, 6, 5}; /* unscored: newest */
    for (size_t i = 0; i < 6 && i < r.n; i++) {
        CHECK_EQ_INT(r.rows[i].run_pk, want[i]);
        CHECK(r.ranked[i].row == &r.rows[i]);
        CHECK_EQ_INT(r.ranked[i].rank, (int64_t)i + 1);
        CHECK(r.ranked[i].scored == (i < 4));
    }
    bool on_front[7] = {false};
    for (size_t i = 0; i < r.n; i++)
        on_front[r.rows[i].run_pk] = r.ranked[i].pareto;
    CHECK(on_front[1] && on_front[2] && on_front[3]);
    CHECK(!on_front[4] && !on_front[5] && !on_front[6]);
    CHECK_EQ_INT(r.n_front, 4);
    /* the rows are copies: names included */
    t.names[0][0] = 'X';
    CHECK_EQ_STR(r.rows[pos(&r, 1)].run_name, "run-1");
    CHECK(r.rows[pos(&r, 1)].run_name != t.r[0].run_name);
    ranking_cleanup(&r);
    CHECK(r.n == 0 && r.rows == NULL);
    ranking_cleanup(&r); /* idempotent */
    ranking_cleanup(NULL);
}

static void test_ties_and_min(void)
{
    struct rows t = {.n = 0};
    /* equal scores: start_time DESC, then run_id ASC */
    add(&t, 9, 100, true, 0.5, true, 0.5);
    add(&t, 7, 200, true, 0.5, true, 0.5);
    add(&t, 8, 200, true, 0.5, true, 0.5);
    /* equal metric, more CO2: not on the front; an exact tie of the best
     * is */
    add(&t, 4, 0, true, 0.5, true, 0.6);
    struct ranking r;
    CHECK(ranking_build(&r, t.r, t.n, true));
    CHECK_EQ_INT(r.rows[0].run_pk, 7);
    CHECK_EQ_INT(r.rows[1].run_pk, 8);
    CHECK_EQ_INT(r.rows[2].run_pk, 9);
    CHECK_EQ_INT(r.rows[3].run_pk, 4);
    CHECK(r.ranked[0].pareto && r.ranked[1].pareto && r.ranked[2].pareto);
    CHECK(!r.ranked[3].pareto);
    ranking_cleanup(&r);

    /* min: lowest metric x CO2 first; the front trades a lower metric
     * against CO2 */
    t.n = 0;
    add(&t, 1, 0, true, 0.2, true, 1.0); /* 0.2 */
    add(&t, 2, 0, true, 0.4, true, 1.0); /* 0.4, dominated by 1 */
    add(&t, 3, 0, true, 0.1, true, 2.0); /* 0.2: tie with 1, lowest metric */
    add(&t, 4, 0, true, 0.3, true, 0.1); /* 0.03: least CO2 */
    CHECK(ranking_build(&r, t.r, t.n, false));
    CHECK_EQ_INT(r.rows[0].run_pk, 4);
    CHECK_EQ_INT(r.rows[1].run_pk, 1); /* run_id breaks the 0.2 tie */
    CHECK_EQ_INT(r.rows[2].run_pk, 3);
    CHECK_EQ_INT(r.rows[3].run_pk, 2);
    CHECK(r.ranked[pos(&r, 4)].pareto);
    CHECK(r.ranked[pos(&r, 1)].pareto);
    CHECK(r.ranked[pos(&r, 3)].pareto);
    CHECK(!r.ranked[pos(&r, 2)].pareto);
    ranking_cleanup(&r);

    /* empty */
    CHECK(ranking_build(&r, t.r, 0, true));
    CHECK_EQ_INT(r.n, 0);
    CHECK_EQ_INT(r.n_front, 0);
    ranking_cleanup(&r);
}

/*---- patch == build ----*/

static unsigned long long rnd_state = 11;

static unsigned rnd(unsigned n)
{
    rnd_state = rnd_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)((rnd_state >> 33) % n);
}

/* A random row for run 'pk' with values from small sets, so ties in
 * score, metric and CO2 are common. */
static void random_row(struct rows *t, int64_t pk)
{
    static const double metrics[] = {0.5, 0.7, 0.25, 0.9};
    static const double co2[] = {0.0, 0.01, 0.02, 0.5};
    add(t, pk, (int64_t)rnd(4) * 1000, rnd(6) != 0, metrics[rnd(4)],
        rnd(6) != 0, co2[rnd(4)]);
}

/* Whether 'a' and 'b' rank the same rows the same way. */
static bool same(const struct ranking *a, const struct ranking *b)
{
    if (a->n != b->n || a->n_front != b->n_front)
        return false;
    for (size_t i = 0; i < a->n; i++) {
        const struct ranked *x = &a->ranked[i], *y = &b->ranked[i];
        if (x->row->run_pk != y->row->run_pk || x->scored != y->scored ||
            x->pareto != y->pareto || x->rank != y->rank ||
            (x->scored && x->score != y->score) ||
            strcmp(x->row->run_name, y->row->run_name) != 0)
            return false;
    }
    return true;
}

static int cmp_pk(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void patch_rounds(bool maximize)
{
    static struct rows live, fresh; /* the experiment now; changed rows */
    live.n = 0;
    int64_t next_pk = 1;
    for (int i = 0; i < 200; i++)
        random_row(&live, next_pk++);
    struct ranking old;
    CHECK(ranking_build(&old, live.r, live.n, maximize));
    int mismatches = 0;
    for (int round = 0; round < 60; round++) {
        /* change a few runs: rescored, deleted, or new */
        int64_t changed[16];
        size_t n_changed = 0;
        fresh.n = 0;
        unsigned k = 1 + rnd(8);
        for (unsigned j = 0; j < k && live.n; j++) {
            size_t victim = rnd((unsigned)live.n);
            int64_t pk = live.r[victim].run_pk;
            bool dup = false;
            for (size_t c = 0; c < n_changed; c++)
                dup = dup || changed[c] == pk;
            if (dup)
                continue;
            changed[n_changed++] = pk;
            /* remove from live (swap in the last) */
            live.r[victim] = live.r[live.n - 1];
            memcpy(live.names[victim], live.names[live.n - 1],
                   sizeof(live.names[victim]));
            live.r[victim].run_name = live.names[victim];
            live.n--;
            if (rnd(3) != 0)
                random_row(&fresh, pk); /* rescored; else deleted */
        }
        if (rnd(2) && live.n + fresh.n < 480) {
            changed[n_changed++] = next_pk;
            random_row(&fresh, next_pk++);
        }
        qsort(changed, n_changed, sizeof(*changed), cmp_pk);
        for (size_t j = 0; j < fresh.n; j++) {
            live.r[live.n] = fresh.r[j];
            memcpy(live.names[live.n], fresh.names[j],
                   sizeof(live.names[live.n]));
            live.r[live.n].run_name = live.names[live.n];
            live.n++;
        }
        struct ranking patched, built;
        bool ok = ranking_patch(&patched, &old, changed, n_changed, fresh.r,
                                fresh.n) &&
                  ranking_build(&built, live.r, live.n, maximize);
        CHECK(ok);
        if (!ok)
            break;
        if (!same(&patched, &built))
            mismatches++;
        ranking_cleanup(&built);
        ranking_cleanup(&old);
        old = patched; /* the next round patches the patched */
    }
    CHECK_EQ_INT(mismatches, 0);
    ranking_cleanup(&old);
}

static void test_patch_equals_build(void)
{
    patch_rounds(true);
    patch_rounds(false);
}

int main(void)
{
    test_scores();
    test_order_and_front();
    test_ties_and_min();
    test_patch_equals_build();
    TEST_MAIN_END("test_ranking");
}
