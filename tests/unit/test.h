/* SPDX-License-Identifier: MIT
 *
 * test.h: the tiny unit-test harness (hiredis test.c style). Each test file
 * is one program; TEST_MAIN_END prints "<name>: N passed, N failed" and
 * exits non-zero on any failure. tests/run_all.sh adds the counts up.
 */
#ifndef TESTS_TEST_H
#define TESTS_TEST_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int test_passed, test_failed;

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (cond) {                                                            \
            test_passed++;                                                     \
        } else {                                                               \
            test_failed++;                                                     \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);    \
        }                                                                      \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                     \
    do {                                                                       \
        long long va_ = (long long)(a), vb_ = (long long)(b);                  \
        if (va_ == vb_) {                                                      \
            test_passed++;                                                     \
        } else {                                                               \
            test_failed++;                                                     \
            fprintf(stderr, "FAIL %s:%d: %s == %s (%lld != %lld)\n", __FILE__, \
                    __LINE__, #a, #b, va_, vb_);                               \
        }                                                                      \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                     \
    do {                                                                       \
        const char *sa_ = (a), *sb_ = (b);                                     \
        if (sa_ && sb_ && strcmp(sa_, sb_) == 0) {                             \
            test_passed++;                                                     \
        } else {                                                               \
            test_failed++;                                                     \
            fprintf(stderr, "FAIL %s:%d: %s == %s (\"%s\" != \"%s\")\n",       \
                    __FILE__, __LINE__, #a, #b, sa_ ? sa_ : "(null)",          \
                    sb_ ? sb_ : "(null)");                                     \
        }                                                                      \
    } while (0)

#define CHECK_NEAR(a, b, tol) CHECK(fabs((double)(a) - (double)(b)) <= (tol))

#define TEST_MAIN_END(name)                                                    \
    do {                                                                       \
        printf("%s: %d passed, %d failed\n", name, test_passed, test_failed);  \
        return test_failed ? 1 : 0;                                            \
    } while (0)

#endif
