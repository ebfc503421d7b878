/* SPDX-License-Identifier: MIT
 *
 * test_connlimit: connection counts in all and per client address
 * (connlimit.c): both limits, IPv4 and its mapped IPv6 form as one
 * address, IPv6 counted by /64, no per-address limit at 0, and the table
 * against a plain reference under many random adds and removes (which
 * exercises deletion inside probe runs).
 */
#include "connlimit.h"
#include "test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>

static struct sockaddr_in v4(const char *ip)
{
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(1234);
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

static struct sockaddr_in6 v6(const char *ip)
{
    struct sockaddr_in6 a = {0};
    a.sin6_family = AF_INET6;
    inet_pton(AF_INET6, ip, &a.sin6_addr);
    return a;
}

#define SA(x) ((const struct sockaddr *)&(x)), sizeof(x)

static void test_limits(void)
{
    struct connlimit *cl = connlimit_new(5, 2);
    CHECK(cl != NULL);
    struct sockaddr_in a = v4("127.0.0.2"), b = v4("127.0.0.3");
    CHECK(connlimit_admit(cl, SA(a)));
    connlimit_add(cl, SA(a));
    CHECK(connlimit_admit(cl, SA(a)));
    connlimit_add(cl, SA(a));
    CHECK(!connlimit_admit(cl, SA(a))); /* two from a */
    CHECK(connlimit_admit(cl, SA(b)));  /* b is another address */
    connlimit_add(cl, SA(b));
    connlimit_add(cl, SA(b));
    unsigned from = 0;
    CHECK_EQ_INT(connlimit_count(cl, SA(a), &from), 4);
    CHECK_EQ_INT(from, 2);
    struct sockaddr_in c = v4("10.0.0.1");
    connlimit_add(cl, SA(c));
    CHECK(!connlimit_admit(cl, SA(c))); /* five in all */
    struct sockaddr_in d = v4("10.0.0.9");
    CHECK(!connlimit_admit(cl, SA(d)));
    connlimit_remove(cl, SA(a));
    CHECK(connlimit_admit(cl, SA(a)));
    CHECK(connlimit_admit(cl, SA(d)));
    CHECK_EQ_INT(connlimit_count(cl, SA(a), &from), 4);
    CHECK_EQ_INT(from, 1);
    connlimit_free(cl);
    connlimit_free(NULL);
}

static void test_address_forms(void)
{
    struct connlimit *cl = connlimit_new(100, 1);
    struct sockaddr_in a = v4("192.0.2.7");
    struct sockaddr_in6 mapped = v6("::ffff:192.0.2.7");
    connlimit_add(cl, SA(a));
    CHECK(!connlimit_admit(cl, SA(mapped)));
    /* one /64 is one client; the next /64 is another */
    struct sockaddr_in6 h1 = v6("2001:db8:1:2::1"),
                        h2 = v6("2001:db8:1:2:ffff:1:2:3"),
                        other = v6("2001:db8:1:3::1");
    connlimit_add(cl, SA(h1));
    CHECK(!connlimit_admit(cl, SA(h2)));
    CHECK(connlimit_admit(cl, SA(other)));
    connlimit_remove(cl, SA(h2)); /* the same client's */
    CHECK(connlimit_admit(cl, SA(h1)));
    connlimit_free(cl);

    /* 0: no per-address limit, only the total */
    cl = connlimit_new(3, 0);
    for (int i = 0; i < 3; i++) {
        CHECK(connlimit_admit(cl, SA(a)));
        connlimit_add(cl, SA(a));
    }
    CHECK(!connlimit_admit(cl, SA(a)));
    unsigned from = 7;
    CHECK_EQ_INT(connlimit_count(cl, SA(a), &from), 3);
    CHECK_EQ_INT(from, 0);
    connlimit_free(cl);
}

/* Random adds and removes over 300 addresses in a small table (total 64:
 * 256 slots, so long probe runs), checked against plain counters. */
static void test_against_reference(void)
{
    enum { N = 300 };
    static unsigned ref[N];
    struct connlimit *cl = connlimit_new(64, 1000);
    srand(17);
    unsigned total = 0;
    int bad = 0;
    for (int step = 0; step < 200000; step++) {
        int k = rand() % N;
        char ip[32];
        snprintf(ip, sizeof(ip), "10.%d.%d.1", k / 256, k % 256);
        struct sockaddr_in a = v4(ip);
        /* keep about 60 open: add below, remove above */
        bool add = total < 60 ? rand() % 3 != 0 : rand() % 3 == 0;
        if (add) {
            connlimit_add(cl, SA(a));
            ref[k]++;
            total++;
        } else if (ref[k]) {
            connlimit_remove(cl, SA(a));
            ref[k]--;
            total--;
        }
        unsigned from;
        if (connlimit_count(cl, SA(a), &from) != total || from != ref[k])
            bad++;
    }
    for (int k = 0; k < N; k++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "10.%d.%d.1", k / 256, k % 256);
        struct sockaddr_in a = v4(ip);
        unsigned from;
        connlimit_count(cl, SA(a), &from);
        if (from != ref[k])
            bad++;
    }
    CHECK_EQ_INT(bad, 0);
    connlimit_free(cl);
}

int main(void)
{
    test_limits();
    test_address_forms();
    test_against_reference();
    TEST_MAIN_END("test_connlimit");
}
