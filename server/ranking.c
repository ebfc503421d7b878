/* SPDX-License-Identifier: MIT
 *
 * ranking: leaderboard scores, rank order and the Pareto front (see
 * ranking.h). Pure computation over caller-provided rows.
 */
#include "ranking.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RANKING_MAX_ROWS ((size_t)UINT32_MAX)
#define DROPPED UINT32_MAX

/* Scored runs first, by score (best first), then start_time DESC, run_id
 * ASC as MLflow breaks ties; the unscored after them in the same order. */
static int by_score(const void *pa, const void *pb, bool maximize)
{
    const struct ranked *a = pa, *b = pb;
    if (a->scored != b->scored)
        return a->scored ? -1 : 1;
    if (a->scored && a->score != b->score)
        return (a->score > b->score) == maximize ? -1 : 1;
    if (a->row->start_time != b->row->start_time)
        return a->row->start_time > b->row->start_time ? -1 : 1;
    return strcmp(a->row->run_id, b->row->run_id);
}

static int by_score_max(const void *a, const void *b)
{
    return by_score(a, b, true);
}

static int by_score_min(const void *a, const void *b)
{
    return by_score(a, b, false);
}

/* Lower CO2 first, then the better metric first: the order the Pareto
 * sweep walks. */
static int front_cmp(const struct ranked *a, const struct ranked *b)
{
    if (a->row->co2_kg != b->row->co2_kg)
        return a->row->co2_kg < b->row->co2_kg ? -1 : 1;
    return a->goodness > b->goodness ? -1 : a->goodness < b->goodness;
}

/* A run is on the front when no other is at least as good on both the
 * metric and CO2 and strictly better on one: walking 'order' (indices of
 * the scored runs in front_cmp order), it is on the front when its metric
 * beats every run before it, or ties the best one exactly. */
static void sweep_pareto(struct ranked *r, const uint32_t *order, size_t m)
{
    double best = 0, best_co2 = 0;
    for (size_t i = 0; i < m; i++) {
        struct ranked *x = &r[order[i]];
        if (i == 0 || x->goodness > best ||
            (x->goodness == best && x->row->co2_kg == best_co2)) {
            x->pareto = true;
            if (i == 0 || x->goodness > best) {
                best = x->goodness;
                best_co2 = x->row->co2_kg;
            }
        }
    }
}

struct ranked ranking_score(const struct leaderboard_row *row, bool maximize)
{
    struct ranked r = {.row = row};
    r.scored = row->has_metric && row->has_energy && isfinite(row->metric);
    double kg = fmax(row->co2_kg, RANKING_MIN_CO2_KG);
    r.score = maximize ? row->metric / kg : row->metric * kg;
    r.goodness = maximize ? row->metric : -row->metric;
    if (!isfinite(r.score))
        r.scored = false;
    return r;
}

/* Room for 'n' rows and 'name_bytes' of names in 'b'. */
static bool ranking_alloc(struct ranking *b, size_t n, size_t name_bytes)
{
    b->rows = malloc((n ? n : 1) * sizeof(*b->rows));
    b->ranked = malloc((n ? n : 1) * sizeof(*b->ranked));
    b->front = malloc((n ? n : 1) * sizeof(*b->front));
    b->names = malloc(name_bytes ? name_bytes : 1);
    return b->rows && b->ranked && b->front && b->names &&
           n <= RANKING_MAX_ROWS;
}

/* Appends 'src' (scored, not ranked) as the next row of 'b', its name
 * copied into the arena at '*name_at'. */
static void ranking_append(struct ranking *b, const struct ranked *src,
                           size_t *name_at)
{
    size_t i = b->n++;
    b->rows[i] = *src->row;
    size_t len = strlen(src->row->run_name) + 1;
    memcpy(b->names + *name_at, src->row->run_name, len);
    b->rows[i].run_name = b->names + *name_at;
    *name_at += len;
    b->ranked[i] = *src;
    b->ranked[i].row = &b->rows[i];
    b->ranked[i].pareto = false;
    b->ranked[i].rank = (int64_t)i + 1;
}

/* What sorting into front order needs, compact so it stays in cache. */
struct front_key {
    double co2;
    double goodness;
    uint32_t idx;
};

static int by_front_key(const void *pa, const void *pb)
{
    const struct front_key *a = pa, *b = pb;
    if (a->co2 != b->co2)
        return a->co2 < b->co2 ? -1 : 1;
    return a->goodness > b->goodness ? -1 : a->goodness < b->goodness;
}

/* Writes into out[] the indices of the scored rows of 'b' among 'idx'
 * (n of them; NULL: the first n rows) in front order; returns how many. */
static size_t front_sorted(const struct ranking *b, const uint32_t *idx,
                           size_t n, uint32_t *out, bool *oom)
{
    struct front_key *k = malloc((n ? n : 1) * sizeof(*k));
    if (!k) {
        *oom = true;
        return 0;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const struct ranked *r = &b->ranked[idx ? idx[i] : i];
        if (r->scored)
            k[m++] = (struct front_key){r->row->co2_kg, r->goodness,
                                        idx ? idx[i] : (uint32_t)i};
    }
    qsort(k, m, sizeof(*k), by_front_key);
    for (size_t i = 0; i < m; i++)
        out[i] = k[i].idx;
    free(k);
    return m;
}

bool ranking_build(struct ranking *out, const struct leaderboard_row *rows,
                   size_t n, bool maximize)
{
    memset(out, 0, sizeof(*out));
    out->maximize = maximize;
    struct ranked *tmp = malloc((n ? n : 1) * sizeof(*tmp));
    if (!tmp)
        return false;
    bool ok = false;
    size_t name_bytes = 0;
    for (size_t i = 0; i < n; i++) {
        tmp[i] = ranking_score(&rows[i], maximize);
        name_bytes += strlen(rows[i].run_name) + 1;
    }
    qsort(tmp, n, sizeof(*tmp), maximize ? by_score_max : by_score_min);
    if (!ranking_alloc(out, n, name_bytes))
        goto out;
    size_t at = 0;
    for (size_t i = 0; i < n; i++)
        ranking_append(out, &tmp[i], &at);
    bool oom = false;
    out->n_front = front_sorted(out, NULL, out->n, out->front, &oom);
    if (oom)
        goto out;
    sweep_pareto(out->ranked, out->front, out->n_front);
    ok = true;
out:
    free(tmp);
    if (!ok)
        ranking_cleanup(out);
    return ok;
}

static bool pk_listed(const int64_t *pks, size_t n, int64_t pk)
{
    size_t lo = 0, hi = n; /* pks is sorted */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (pks[mid] == pk)
            return true;
        if (pks[mid] < pk)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* The rows of 'old' that did not change keep their order, so the new
 * ranking is a merge of old and fresh rows in rank order and, likewise,
 * in front order, with no full sort: a write to one run of a 100k-run
 * experiment costs two linear passes. */
bool ranking_patch(struct ranking *out, const struct ranking *old,
                   const int64_t *changed, size_t n_changed,
                   const struct leaderboard_row *fresh, size_t k)
{
    memset(out, 0, sizeof(*out));
    out->maximize = old->maximize;
    bool ok = false;
    struct ranked *fr = NULL;
    uint32_t *newpos = NULL, *fresh_front = NULL;
    size_t name_bytes =
        old->n ? (size_t)(old->rows[old->n - 1].run_name - old->names) +
                     strlen(old->rows[old->n - 1].run_name) + 1
               : 0;
    if (!(fr = malloc((k ? k : 1) * sizeof(*fr))) ||
        !(newpos = malloc((old->n ? old->n : 1) * sizeof(*newpos))) ||
        !(fresh_front = malloc((k ? k : 1) * sizeof(*fresh_front))))
        goto out;
    for (size_t j = 0; j < k; j++) {
        fr[j] = ranking_score(&fresh[j], old->maximize);
        name_bytes += strlen(fresh[j].run_name) + 1;
    }
    int (*cmp)(const void *, const void *) =
        old->maximize ? by_score_max : by_score_min;
    qsort(fr, k, sizeof(*fr), cmp);
    if (!ranking_alloc(out, old->n + k, name_bytes))
        goto out;
    /* rank order: merge the old rows that did not change with the fresh */
    size_t at = 0, i = 0, j = 0;
    while (i < old->n || j < k) {
        if (i < old->n && pk_listed(changed, n_changed, old->rows[i].run_pk)) {
            newpos[i++] = DROPPED;
            continue;
        }
        if (j == k || (i < old->n && cmp(&old->ranked[i], &fr[j]) <= 0)) {
            newpos[i] = (uint32_t)out->n;
            ranking_append(out, &old->ranked[i++], &at);
        } else {
            fresh_front[j] = (uint32_t)out->n;
            ranking_append(out, &fr[j++], &at);
        }
    }
    /* front order: the old order without the dropped, merged with the
     * fresh scored rows sorted on their own */
    bool oom = false;
    size_t m = front_sorted(out, fresh_front, k, fresh_front, &oom);
    if (oom)
        goto out;
    size_t p = 0, q = 0;
    while (p < old->n_front || q < m) {
        uint32_t oi = p < old->n_front ? newpos[old->front[p]] : DROPPED;
        if (p < old->n_front && oi == DROPPED) {
            p++;
            continue;
        }
        if (q == m ||
            (p < old->n_front &&
             front_cmp(&out->ranked[oi], &out->ranked[fresh_front[q]]) <= 0)) {
            out->front[out->n_front++] = oi;
            p++;
        } else {
            out->front[out->n_front++] = fresh_front[q++];
        }
    }
    sweep_pareto(out->ranked, out->front, out->n_front);
    ok = true;
out:
    free(fr);
    free(newpos);
    free(fresh_front);
    if (!ok)
        ranking_cleanup(out);
    return ok;
}

void ranking_cleanup(struct ranking *r)
{
    if (!r)
        return;
    free(r->rows);
    free(r->ranked);
    free(r->front);
    free(r->names);
    memset(r, 0, sizeof(*r));
}
