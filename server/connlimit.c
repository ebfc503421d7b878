/* SPDX-License-Identifier: MIT
 *
 * connlimit: the connection counts (see connlimit.h). Client addresses are
 * keys of an open-addressing table (linear probing, deletion by backward
 * shift) sized for four times the total limit, so it stays at most a
 * quarter full in normal operation. An IPv4 address and its IPv4-mapped
 * IPv6 form are one key; an IPv6 address counts by its /64 prefix, the
 * block a single host is usually given, so one host cannot pass the
 * per-address limit by using a new address for each connection.
 */
#include "connlimit.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct slot {
    uint8_t key[16];
    unsigned count; /* 0: free */
};

struct connlimit {
    pthread_mutex_t mu;
    unsigned total_max, per_addr_max;
    unsigned total;
    struct slot *slots; /* NULL without a per-address limit */
    size_t mask;        /* slots - 1 (a power of two) */
    uint64_t seed;      /* so clients cannot choose colliding keys */
};

struct connlimit *connlimit_new(unsigned total, unsigned per_addr)
{
    struct connlimit *cl = calloc(1, sizeof(*cl));
    if (!cl)
        return NULL;
    cl->total_max = total;
    cl->per_addr_max = per_addr;
    if (per_addr) {
        size_t n = 64;
        while (n < (size_t)total * 4)
            n *= 2;
        cl->slots = calloc(n, sizeof(*cl->slots));
        if (!cl->slots) {
            free(cl);
            return NULL;
        }
        cl->mask = n - 1;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    cl->seed = ((uint64_t)ts.tv_nsec << 32 ^ (uint64_t)ts.tv_sec ^
                (uint64_t)(uintptr_t)cl) |
               1;
    pthread_mutex_init(&cl->mu, NULL);
    return cl;
}

void connlimit_free(struct connlimit *cl)
{
    if (!cl)
        return;
    pthread_mutex_destroy(&cl->mu);
    free(cl->slots);
    free(cl);
}

/* The key of 'sa': 16 bytes, IPv4 as ::ffff:a.b.c.d, IPv6 cut to /64;
 * anything else (not expected from a TCP listener) is the zero key. */
static void key_of(const struct sockaddr *sa, socklen_t len, uint8_t key[16])
{
    memset(key, 0, 16);
    if (sa && sa->sa_family == AF_INET &&
        len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &in->sin_addr, 4);
    } else if (sa && sa->sa_family == AF_INET6 &&
               len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        memcpy(key, &in6->sin6_addr, 16);
        static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0,    0,
                                             0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(key, v4mapped, 12) != 0)
            memset(key + 8, 0, 8);
    }
}

static size_t hash_key(const struct connlimit *cl, const uint8_t key[16])
{
    uint64_t a, b;
    memcpy(&a, key, 8);
    memcpy(&b, key + 8, 8);
    uint64_t h = (a ^ cl->seed) * 0x9e3779b97f4a7c15ull;
    h ^= h >> 29;
    h = (h ^ b) * 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    return (size_t)h & cl->mask;
}

/* The slot holding 'key', or the free slot where it would go; NULL when
 * the table is full (it never is: it holds four times the total limit). */
static struct slot *find(struct connlimit *cl, const uint8_t key[16])
{
    size_t i = hash_key(cl, key);
    for (size_t n = 0; n <= cl->mask; n++, i = (i + 1) & cl->mask) {
        struct slot *s = &cl->slots[i];
        if (!s->count || memcmp(s->key, key, 16) == 0)
            return s;
    }
    return NULL;
}

/* Frees slot 'i', moving later entries of its probe run back so that
 * every key stays reachable from its home slot. */
static void remove_slot(struct connlimit *cl, size_t i)
{
    size_t j = i;
    for (;;) {
        cl->slots[i].count = 0;
        for (;;) {
            j = (j + 1) & cl->mask;
            if (!cl->slots[j].count)
                return;
            size_t home = hash_key(cl, cl->slots[j].key);
            /* j's entry may move to i when its home is not in (i, j] */
            bool stays =
                i <= j ? (home > i && home <= j) : (home > i || home <= j);
            if (!stays)
                break;
        }
        cl->slots[i] = cl->slots[j];
        i = j;
    }
}

bool connlimit_admit(struct connlimit *cl, const struct sockaddr *sa,
                     socklen_t len)
{
    uint8_t key[16];
    key_of(sa, len, key);
    pthread_mutex_lock(&cl->mu);
    bool ok = cl->total < cl->total_max;
    if (ok && cl->slots) {
        const struct slot *s = find(cl, key);
        ok = !s || s->count < cl->per_addr_max;
    }
    pthread_mutex_unlock(&cl->mu);
    return ok;
}

void connlimit_add(struct connlimit *cl, const struct sockaddr *sa,
                   socklen_t len)
{
    uint8_t key[16];
    key_of(sa, len, key);
    pthread_mutex_lock(&cl->mu);
    cl->total++;
    if (cl->slots) {
        struct slot *s = find(cl, key);
        if (s) {
            if (!s->count)
                memcpy(s->key, key, 16);
            s->count++;
        }
    }
    pthread_mutex_unlock(&cl->mu);
}

void connlimit_remove(struct connlimit *cl, const struct sockaddr *sa,
                      socklen_t len)
{
    uint8_t key[16];
    key_of(sa, len, key);
    pthread_mutex_lock(&cl->mu);
    if (cl->total)
        cl->total--;
    if (cl->slots) {
        struct slot *s = find(cl, key);
        if (s && s->count && --s->count == 0)
            remove_slot(cl, (size_t)(s - cl->slots));
    }
    pthread_mutex_unlock(&cl->mu);
}

unsigned connlimit_count(struct connlimit *cl, const struct sockaddr *sa,
                         socklen_t len, unsigned *from_addr)
{
    pthread_mutex_lock(&cl->mu);
    unsigned total = cl->total;
    if (from_addr) {
        *from_addr = 0;
        if (cl->slots && sa) {
            uint8_t key[16];
            key_of(sa, len, key);
            const struct slot *s = find(cl, key);
            *from_addr = s ? s->count : 0;
        }
    }
    pthread_mutex_unlock(&cl->mu);
    return total;
}
