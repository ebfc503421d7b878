/* SPDX-License-Identifier: MIT
 *
 * test_db_copy: the COPY API of server/store/db.h (used by
 * greentrack-server migrate). The text-format escaping, unescaping and
 * double formatting as pure functions, then a round trip through a real
 * PostgreSQL (GREENTRACK_TEST_PG, which make test exports; without it the
 * round trip is skipped unless GREENTRACK_TEST_PG_REQUIRED=1): every
 * awkward text and double goes in by COPY FROM STDIN and comes back, by
 * COPY TO STDOUT and by SELECT, byte for byte and bit for bit.
 */
#include "store/db.h"
#include "test.h"

#include <float.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const texts[] = {
    "",
    "plain",
    "tab\there",
    "new\nline and \r return",
    "back\\slash \\N \\. \\t",
    "\\.",
    "\b\f\v\x01\x1f controls",
    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
    "trailing backslash\\",
};

static const double doubles[] = {
    0.0,       -0.0,          1.0,    -1.0,    0.1,
    1.0 / 3.0, 1e-300,        5e-324, DBL_MIN, DBL_MAX,
    -DBL_MAX,  123456789.125, 1e15,   1e16,    0.30000000000000004,
    INFINITY,  -INFINITY,
};

static bool same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof(a)) == 0;
}

static void test_pure(void)
{
    char out[256];
    for (size_t i = 0; i < sizeof(texts) / sizeof(*texts); i++) {
        size_t len = strlen(texts[i]);
        size_t n = db_copy_escape(out, texts[i], len);
        CHECK(n != (size_t)-1);
        out[n] = '\0';
        /* nothing that splits fields or rows, and no lone backslash-dot */
        CHECK(strchr(out, '\t') == NULL);
        CHECK(strchr(out, '\n') == NULL);
        CHECK(strchr(out, '\r') == NULL);
        CHECK_EQ_INT(db_copy_unescape(out, n), len);
        CHECK(memcmp(out, texts[i], len) == 0);
    }
    CHECK_EQ_INT(db_copy_escape(out, "a\0b", 3), (size_t)-1);
    size_t n = db_copy_escape(out, "a\\b\tc", 5);
    out[n] = '\0';
    CHECK_EQ_STR(out, "a\\\\b\\tc");
    /* PostgreSQL's other escapes read back too */
    char oct[] = "\\101\\x42\\x4a\\7z";
    n = db_copy_unescape(oct, strlen(oct));
    oct[n] = '\0';
    CHECK_EQ_STR(oct, "ABJ\x07z");

    char buf[32];
    db_copy_format_double(NAN, buf);
    CHECK_EQ_STR(buf, "NaN");
    db_copy_format_double(INFINITY, buf);
    CHECK_EQ_STR(buf, "Infinity");
    db_copy_format_double(-INFINITY, buf);
    CHECK_EQ_STR(buf, "-Infinity");
    db_copy_format_double(-0.0, buf);
    CHECK_EQ_STR(buf, "-0");
    db_copy_format_double(0.1, buf);
    CHECK_EQ_STR(buf, "0.1");
    for (size_t i = 0; i < sizeof(doubles) / sizeof(*doubles); i++) {
        db_copy_format_double(doubles[i], buf);
        CHECK(same_bits(strtod(buf, NULL), doubles[i]));
    }
}

static void test_round_trip(const char *url)
{
    struct errbuf eb;
    struct db *db = db_open(url, NULL, &eb);
    CHECK(db != NULL);
    if (!db)
        return;
    CHECK_EQ_INT(db_exec(db, "CREATE TEMP TABLE copy_t (id BIGINT PRIMARY "
                             "KEY, t TEXT, d DOUBLE PRECISION, b BOOLEAN)"),
                 DB_OK);
    const char *cols[] = {"id", "t", "d", "b"};
    CHECK_EQ_INT(db_copy_in_begin(db, "copy_t", cols, 4), DB_OK);
    size_t nt = sizeof(texts) / sizeof(*texts);
    size_t nd = sizeof(doubles) / sizeof(*doubles);
    _Static_assert(sizeof(texts) / sizeof(*texts) <=
                       sizeof(doubles) / sizeof(*doubles),
                   "one row per double holds every text");
    size_t rows = nd;
    for (size_t i = 0; i < rows + 2; i++) {
        CHECK_EQ_INT(db_copy_put_int64(db, (int64_t)i - 1), DB_OK);
        if (i < nt)
            CHECK_EQ_INT(db_copy_put_text(db, texts[i], strlen(texts[i])),
                         DB_OK);
        else
            CHECK_EQ_INT(db_copy_put_null(db), DB_OK);
        if (i < nd)
            CHECK_EQ_INT(db_copy_put_double(db, doubles[i]), DB_OK);
        else if (i == nd)
            CHECK_EQ_INT(db_copy_put_double(db, NAN), DB_OK);
        else
            CHECK_EQ_INT(db_copy_put_null(db), DB_OK);
        CHECK_EQ_INT(db_copy_put_bool(db, i % 2), DB_OK);
        CHECK_EQ_INT(db_copy_end_row(db), DB_OK);
    }
    CHECK_EQ_INT(db_copy_in_end(db, false), DB_OK);

    /* back by COPY TO STDOUT */
    CHECK_EQ_INT(db_copy_out_begin(db, "copy_t", cols, 4), DB_OK);
    int nf, rc, seen = 0;
    const char *const *f;
    const size_t *len;
    while ((rc = db_copy_out_next(db, &nf, &f, &len)) == DB_ROW) {
        CHECK_EQ_INT(nf, 4);
        size_t i = (size_t)(strtoll(f[0], NULL, 10) + 1);
        if (i < nt)
            CHECK(f[1] && len[1] == strlen(texts[i]) &&
                  memcmp(f[1], texts[i], len[1]) == 0);
        else
            CHECK(f[1] == NULL);
        if (i < nd)
            CHECK(f[2] && same_bits(strtod(f[2], NULL), doubles[i]));
        else if (i == nd)
            CHECK(f[2] && isnan(strtod(f[2], NULL)));
        else
            CHECK(f[2] == NULL);
        CHECK_EQ_STR(f[3], i % 2 ? "t" : "f");
        seen++;
    }
    CHECK_EQ_INT(rc, DB_DONE);
    CHECK_EQ_INT(seen, rows + 2);

    /* and by SELECT, as the server reads them */
    struct db_stmt *s = db_prepare(db, "SELECT id, t, d FROM copy_t "
                                       "ORDER BY id");
    CHECK(s != NULL);
    while (s && db_step(s) == DB_ROW) {
        size_t i = (size_t)(db_column_int64(s, 0) + 1);
        if (i < nt)
            CHECK(db_column_bytes(s, 1) == (int)strlen(texts[i]) &&
                  memcmp(db_column_text(s, 1), texts[i], strlen(texts[i])) ==
                      0);
        if (i < nd)
            CHECK(same_bits(db_column_double(s, 2), doubles[i]));
    }
    db_finalize(s);

    /* a NUL byte is refused; the cancelled copy leaves nothing */
    CHECK_EQ_INT(db_copy_in_begin(db, "copy_t", cols, 4), DB_OK);
    CHECK_EQ_INT(db_copy_put_int64(db, 1000), DB_OK);
    CHECK_EQ_INT(db_copy_put_text(db, "a\0b", 3), DB_ERROR);
    CHECK(strstr(db_errmsg(db), "NUL") != NULL);
    CHECK_EQ_INT(db_copy_in_end(db, true), DB_ERROR);
    CHECK(strstr(db_errmsg(db), "NUL") != NULL);
    /* a duplicate key fails the whole COPY */
    CHECK_EQ_INT(db_copy_in_begin(db, "copy_t", cols, 1), DB_OK);
    CHECK_EQ_INT(db_copy_put_int64(db, 5000), DB_OK);
    CHECK_EQ_INT(db_copy_end_row(db), DB_OK);
    CHECK_EQ_INT(db_copy_put_int64(db, 0), DB_OK);
    CHECK_EQ_INT(db_copy_end_row(db), DB_OK);
    CHECK_EQ_INT(db_copy_in_end(db, false), DB_ERROR);
    CHECK_EQ_INT(db_error_kind(db), DB_ERR_UNIQUE);
    s = db_prepare(db, "SELECT count(*) FROM copy_t");
    CHECK(s && db_step(s) == DB_ROW);
    if (s)
        CHECK_EQ_INT(db_column_int64(s, 0), rows + 2);
    db_finalize(s);
    db_close(db);

    /* SQLite has no COPY */
    struct db *lite = db_open(":memory:", NULL, &eb);
    CHECK(lite != NULL);
    if (lite) {
        CHECK_EQ_INT(db_copy_in_begin(lite, "x", cols, 1), DB_ERROR);
        db_close(lite);
    }
}

int main(void)
{
    test_pure();
    const char *pg = getenv("GREENTRACK_TEST_PG");
    const char *required = getenv("GREENTRACK_TEST_PG_REQUIRED");
    if (pg && *pg)
        test_round_trip(pg);
    else if (required && strcmp(required, "1") == 0)
        CHECK(!"GREENTRACK_TEST_PG is set (make test starts PostgreSQL)");
    else
        fprintf(stderr, "test_db_copy: no GREENTRACK_TEST_PG, PostgreSQL "
                        "round trip skipped\n");
    TEST_MAIN_END("test_db_copy");
}
