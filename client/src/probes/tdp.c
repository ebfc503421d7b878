/* SPDX-License-Identifier: MIT
 *
 * tdp: the CPU power estimate used when RAPL cannot be read. Looks the CPU
 * model up in the compiled-in TDP table (data/cpu_tdp.csv, embedded by
 * tools/embed_cpu_tdp.sh) the way CodeCarbon does, in three steps:
 *   1. exact, case-insensitive (after dropping non-ASCII bytes such as the
 *      table's stray U+00AE and U+200B, and collapsing spaces);
 *   2. both sides normalised: "(R)" and "(TM)" removed, cut at " CPU @ ",
 *      " CPU" dropped, "@ x.xxGHz" dropped, then exact again;
 *   3. a token-set match (one name's words all among the other's, as a
 *      token_set_ratio of 100) that must be unique: ties mean unknown.
 * The table's TDP is per package; meter.c multiplies it by the sockets
 * counted in cpuinfo, once (CodeCarbon also multiplies its per-thread
 * default by the socket count). Unknown models get 85 W for the node.
 * Owns nothing.
 */
#include "probes_int.h"

#include <ctype.h>
#include <string.h>

#define NAME_MAX_LEN 256
#define MAX_TOKENS 32

/* Lower-cased, ASCII only, single spaces, trimmed. */
static void clean(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    bool space = false;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        if (*p >= 0x80) {
            continue;
        }
        if (isspace(*p)) {
            space = n > 0;
            continue;
        }
        if (space && n + 1 < cap) {
            out[n++] = ' ';
        }
        space = false;
        if (n + 1 < cap) {
            out[n++] = (char)tolower(*p);
        }
    }
    out[n] = '\0';
}

/* Removes every occurrence of 'what' from 's' in place. */
static void remove_all(char *s, const char *what)
{
    size_t k = strlen(what);
    char *p;
    while ((p = strstr(s, what))) {
        memmove(p, p + k, strlen(p + k) + 1);
    }
}

/* Removes " @ 2.40ghz" style clock speeds (" @", spaces, d+.d+, "ghz"). */
static void remove_clock(char *s)
{
    char *p = s;
    while ((p = strstr(p, " @"))) {
        char *q = p + 2;
        bool digits = false, frac = false;
        while (*q == ' ') {
            q++;
        }
        while (isdigit((unsigned char)*q)) {
            q++;
            digits = true;
        }
        if (*q == '.') {
            q++;
            while (isdigit((unsigned char)*q)) {
                q++;
                frac = true;
            }
        }
        if (digits && frac && strncmp(q, "ghz", 3) == 0) {
            memmove(p, q + 3, strlen(q + 3) + 1);
        } else {
            p += 2;
        }
    }
}

/* Step 2's normal form of a cleaned name. */
static void normalise(const char *in, char *out, size_t cap)
{
    char tmp[NAME_MAX_LEN];
    char *cut;
    clean(in, tmp, sizeof tmp);
    remove_all(tmp, "(r)");
    remove_all(tmp, "(tm)");
    if ((cut = strstr(tmp, " cpu @ "))) {
        *cut = '\0';
    }
    remove_all(tmp, " cpu");
    remove_clock(tmp);
    clean(tmp, out, cap);
}

/* Splits a cleaned name into at most MAX_TOKENS distinct words (pointers
 * into 'buf', which is modified). */
static int tokens(char *buf, char **tok)
{
    int n = 0;
    char *save = NULL;
    for (char *p = strtok_r(buf, " ", &save); p && n < MAX_TOKENS;
         p = strtok_r(NULL, " ", &save)) {
        bool dup = false;
        for (int i = 0; i < n; i++) {
            dup = dup || strcmp(tok[i], p) == 0;
        }
        if (!dup) {
            tok[n++] = p;
        }
    }
    return n;
}

/* Every token of 'a' is among 'b'. */
static bool subset(char *const *a, int na, char *const *b, int nb)
{
    for (int i = 0; i < na; i++) {
        bool found = false;
        for (int j = 0; j < nb && !found; j++) {
            found = strcmp(a[i], b[j]) == 0;
        }
        if (!found) {
            return false;
        }
    }
    return true;
}

enum tdp_match tdp_lookup(const struct cpu_tdp_entry *table, size_t n,
                          const char *model, double *tdp_w,
                          const char **matched)
{
    char want[NAME_MAX_LEN], have[NAME_MAX_LEN];
    char *wt[MAX_TOKENS], *ht[MAX_TOKENS];
    int nwt;
    size_t hit = n, hits = 0;
    clean(model ? model : "", want, sizeof want);
    if (!want[0]) {
        return TDP_NONE;
    }
    for (size_t i = 0; i < n; i++) {
        clean(table[i].name, have, sizeof have);
        if (strcmp(want, have) == 0) {
            *tdp_w = table[i].tdp_w;
            if (matched) {
                *matched = table[i].name;
            }
            return TDP_EXACT;
        }
    }
    normalise(model, want, sizeof want);
    if (!want[0]) {
        return TDP_NONE;
    }
    for (size_t i = 0; i < n; i++) {
        normalise(table[i].name, have, sizeof have);
        if (strcmp(want, have) == 0) {
            *tdp_w = table[i].tdp_w;
            if (matched) {
                *matched = table[i].name;
            }
            return TDP_NORMALISED;
        }
    }
    nwt = tokens(want, wt);
    for (size_t i = 0; i < n && hits < 2; i++) {
        int nht;
        normalise(table[i].name, have, sizeof have);
        nht = tokens(have, ht);
        if (nht > 0 && (subset(wt, nwt, ht, nht) || subset(ht, nht, wt, nwt))) {
            hit = i;
            hits++;
        }
    }
    if (hits != 1) {
        return TDP_NONE;
    }
    *tdp_w = table[hit].tdp_w;
    if (matched) {
        *matched = table[hit].name;
    }
    return TDP_FUZZY;
}

double tdp_power_w(double tdp_total_w, double u)
{
    if (!(u >= 0)) { /* also NaN */
        u = 0;
    }
    if (u > 1) {
        u = 1;
    }
    return tdp_total_w * (0.1 + 0.9 * u * u * u);
}
