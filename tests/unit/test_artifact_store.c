/* SPDX-License-Identifier: MIT
 *
 * Unit tests of artifact_store: the path rules, URI resolution, location
 * formation, content types, Range parsing, and the filesystem operations
 * in a temporary directory (uploads committed and aborted, listings,
 * downloads, deletes, and symbolic links that must never be followed).
 */
#include "artifact_store.h"
#include "test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];

static bool path_ok(const char *p)
{
    struct errbuf eb;
    return artifact_path_check(p, strlen(p), &eb) == SRV_OK;
}

static void test_path_rules(void)
{
    const char *good[] = {"a",     "a/b/c.txt", "./a",     "a/./b", "a//b",
                          "a/",    "a..b",      "..a",     "a/..b", "b..",
                          "%41",   "file:x",    "MLmodel", "a b",   "é/ü",
                          "a:b/c", ".hidden"};
    for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
        if (!path_ok(good[i]))
            fprintf(stderr, "should pass: %s\n", good[i]);
        CHECK(path_ok(good[i]));
    }
    const char *bad[] = {"..",
                         "../x",
                         "a/../../b",
                         "a/..",
                         "/etc/passwd",
                         "/",
                         "a\\b",
                         "..\\x",
                         "a#b",
                         "%2e%2e",
                         "%2e%2e/x",
                         "a/%2E%2E/b",
                         "..%2fx",
                         "%252e%252e",
                         "%25252e%25252e/x",
                         "%2fetc",
                         "%5c",
                         "%23",
                         "C:/x",
                         "c:\\x",
                         "file:///etc/passwd",
                         "file:/etc",
                         "file://host/etc",
                         "file:../x",
                         "a%00b",
                         "%2500"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        if (path_ok(bad[i]))
            fprintf(stderr, "should fail: %s\n", bad[i]);
        CHECK(!path_ok(bad[i]));
    }
    /* NUL inside the given length, and the length limit */
    struct errbuf eb;
    CHECK_EQ_INT(artifact_path_check("a\0b", 3, &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    CHECK_EQ_STR(eb.msg, "Invalid path");
    char longp[ARTIFACT_MAX_PATH + 2];
    memset(longp, 'a', sizeof(longp));
    longp[ARTIFACT_MAX_PATH] = '\0';
    for (size_t i = 100; i < ARTIFACT_MAX_PATH; i += 100)
        longp[i] = '/';
    CHECK(path_ok(longp));
    longp[ARTIFACT_MAX_PATH] = 'a';
    longp[ARTIFACT_MAX_PATH + 1] = '\0';
    CHECK(!path_ok(longp));
    /* never settles within 10 rounds */
    char deep[256] = "%2e";
    for (int i = 0; i < 12; i++) { /* %2e -> %252e -> %25252e ... */
        size_t n = strlen(deep);
        memmove(deep + 3, deep + 1, n);
        memcpy(deep + 1, "25", 2);
    }
    CHECK(!path_ok(deep));
}

static void test_percent_decode(void)
{
    char s[64] = "a%41%2fb%zz%4";
    CHECK(artifact_percent_decode(s));
    CHECK_EQ_STR(s, "aA/b%zz%4");
    char n[16] = "x%00y";
    CHECK(!artifact_percent_decode(n));
    CHECK_EQ_STR(n, "x");
}

static void test_locations(void)
{
    char out[256];
    CHECK_EQ_INT(artifact_experiment_location(out, sizeof(out), true, "/r", 7),
                 0);
    CHECK_EQ_STR(out, "mlflow-artifacts:/7");
    CHECK_EQ_INT(artifact_experiment_location(out, sizeof(out), false, "/r", 0),
                 0);
    CHECK_EQ_STR(out, "file:///r/0");
    /* percent-encoded as pathlib's as_uri() */
    CHECK_EQ_INT(artifact_experiment_location(out, sizeof(out), false,
                                              "/my root/%x+é", 12),
                 0);
    CHECK_EQ_STR(out, "file:///my%20root/%25x%2B%C3%A9/12");
    CHECK_EQ_INT(artifact_experiment_location(out, 11, false, "/r", 7), -1);
    CHECK_EQ_INT(artifact_experiment_location(out, 12, false, "/r", 7), 0);
    static const struct {
        const char *given, *cwd, *want;
    } locs[] = {
        {"rel/x", "/srv", "/srv/rel/x"},
        {"./a//b/", "/srv/", "/srv/a/b"},
        {"../up", "/srv", "/srv/../up"},
        {".", "/srv", "/srv"},
        {"x", "/", "/x"},
        {"file:rel/y", "/srv", "file:///srv/rel/y"},
        {"file:./z", "/srv", "file:///srv/z"},
        {"/abs/p/", "/srv", "/abs/p/"},
        {"file:///abs", "/srv", "file:///abs"},
        {"file://localhost/abs", "/srv", "file://localhost/abs"},
        {"s3://b/p", "/srv", "s3://b/p"},
        {"mlflow-artifacts:/t", "/srv", "mlflow-artifacts:/t"},
    };
    for (size_t i = 0; i < sizeof(locs) / sizeof(*locs); i++) {
        CHECK_EQ_INT(artifact_absolute_location(out, sizeof(out), locs[i].given,
                                                locs[i].cwd),
                     0);
        CHECK_EQ_STR(out, locs[i].want);
    }
    CHECK_EQ_INT(artifact_absolute_location(out, 8, "rel/x", "/srv"), -1);
    CHECK_EQ_INT(artifact_file_uri(out, sizeof(out), "/a-b_c.d~e/f"), 0);
    CHECK_EQ_STR(out, "file:///a-b_c.d~e/f");
    /* a file: URI of the root resolves back to it */
    char rel[64];
    artifact_experiment_location(out, sizeof(out), false, "/my root", 3);
    CHECK_EQ_INT(artifact_resolve_uri("/my root", out, rel, sizeof(rel)),
                 ARTIFACT_LOC_ROOT);
    CHECK_EQ_STR(rel, "3");
    CHECK_EQ_INT(artifact_experiment_location(out, 5, true, "/r", 7), -1);
    CHECK_EQ_INT(
        artifact_run_uri(out, sizeof(out), "mlflow-artifacts:/1", "ab"), 0);
    CHECK_EQ_STR(out, "mlflow-artifacts:/1/ab/artifacts");
    artifact_run_uri(out, sizeof(out), "mlflow-artifacts:/", "ab");
    CHECK_EQ_STR(out, "mlflow-artifacts:/ab/artifacts");
    artifact_run_uri(out, sizeof(out), "file:///x/", "ab");
    CHECK_EQ_STR(out, "file:///x/ab/artifacts");
    CHECK_EQ_INT(artifact_run_uri(out, 10, "/long/location", "ab"), -1);
}

static void test_resolve(void)
{
    char out[512];
    const char *root = "/srv/art";
    CHECK_EQ_INT(artifact_resolve_uri(root, "mlflow-artifacts:/1/r/artifacts",
                                      out, sizeof(out)),
                 ARTIFACT_LOC_ROOT);
    CHECK_EQ_STR(out, "1/r/artifacts");
    CHECK_EQ_INT(artifact_resolve_uri(root,
                                      "mlflow-artifacts://h:5000/1/r/artifacts",
                                      out, sizeof(out)),
                 ARTIFACT_LOC_ROOT);
    CHECK_EQ_STR(out, "1/r/artifacts");
    CHECK_EQ_INT(
        artifact_resolve_uri(root, "mlflow-artifacts:/", out, sizeof(out)),
        ARTIFACT_LOC_ROOT);
    CHECK_EQ_STR(out, "");
    CHECK_EQ_INT(artifact_resolve_uri(root, "mlflow-artifacts:/../etc", out,
                                      sizeof(out)),
                 ARTIFACT_LOC_INVALID);
    CHECK_EQ_INT(artifact_resolve_uri(
                     root,
                     "https://h/p/api/2.0/mlflow-artifacts/artifacts/1/r/a",
                     out, sizeof(out)),
                 ARTIFACT_LOC_ROOT);
    CHECK_EQ_STR(out, "1/r/a");
    CHECK_EQ_INT(
        artifact_resolve_uri(root, "https://h/other/1", out, sizeof(out)),
        ARTIFACT_LOC_REMOTE);
    CHECK_EQ_INT(artifact_resolve_uri(root, "s3://bucket/1", out, sizeof(out)),
                 ARTIFACT_LOC_REMOTE);
    CHECK_EQ_INT(
        artifact_resolve_uri(root, "/srv/art/0/r/artifacts", out, sizeof(out)),
        ARTIFACT_LOC_ROOT);
    CHECK_EQ_STR(out, "0/r/artifacts");
    CHECK_EQ_INT(artifact_resolve_uri(root, "/srv/art", out, sizeof(out)),
                 ARTIFACT_LOC_ROOT);
    CHECK_EQ_STR(out, "");
    CHECK_EQ_INT(
        artifact_resolve_uri(root, "file:///srv/art/1/x", out, sizeof(out)),
        ARTIFACT_LOC_ROOT);
    CHECK_EQ_STR(out, "1/x");
    CHECK_EQ_INT(
        artifact_resolve_uri(root, "file:/srv/art/1/a%20b", out, sizeof(out)),
        ARTIFACT_LOC_ROOT);
    CHECK_EQ_STR(out, "1/a b");
    /* lexically outside, whatever the spelling */
    CHECK_EQ_INT(
        artifact_resolve_uri(root, "/srv/art/../etc", out, sizeof(out)),
        ARTIFACT_LOC_EXTERNAL);
    CHECK_EQ_STR(out, "/srv/etc");
    CHECK_EQ_INT(artifact_resolve_uri(root, "/srv/artx/1", out, sizeof(out)),
                 ARTIFACT_LOC_EXTERNAL);
    CHECK_EQ_INT(artifact_resolve_uri(root, "/tmp/x", out, sizeof(out)),
                 ARTIFACT_LOC_EXTERNAL);
    CHECK_EQ_STR(out, "/tmp/x");
    CHECK_EQ_INT(artifact_resolve_uri(root, "rel/x", out, sizeof(out)),
                 ARTIFACT_LOC_EXTERNAL);
    CHECK_EQ_INT(artifact_resolve_uri(root, "C:/x", out, sizeof(out)),
                 ARTIFACT_LOC_EXTERNAL);
}

static void test_mime(void)
{
    CHECK_EQ_STR(artifact_mime_type("MLmodel"), "text/plain");
    CHECK_EQ_STR(artifact_mime_type("model/MLproject"), "text/plain");
    CHECK_EQ_STR(artifact_mime_type("conda.yaml"), "text/plain");
    CHECK_EQ_STR(artifact_mime_type("a.json"), "text/plain");
    CHECK_EQ_STR(artifact_mime_type("a.py"), "text/plain");
    CHECK_EQ_STR(artifact_mime_type("requirements.txt"), "text/plain");
    CHECK_EQ_STR(artifact_mime_type("txt"), "text/plain");
    CHECK_EQ_STR(artifact_mime_type("a.png"), "image/png");
    CHECK_EQ_STR(artifact_mime_type("A.PNG"), "image/png");
    CHECK_EQ_STR(artifact_mime_type("a.html"), "text/html");
    CHECK_EQ_STR(artifact_mime_type("model.pkl"), "application/octet-stream");
    CHECK_EQ_STR(artifact_mime_type("x.gz"), "application/octet-stream");
    CHECK_EQ_STR(artifact_mime_type("x.tar.gz"), "application/x-tar");
    CHECK_EQ_STR(artifact_mime_type("x.tgz"), "application/x-tar");
    CHECK_EQ_STR(artifact_mime_type("x.svgz"), "image/svg+xml");
    CHECK_EQ_STR(artifact_mime_type(".bashrc"), "application/octet-stream");
    CHECK_EQ_STR(artifact_mime_type("noext"), "application/octet-stream");
    CHECK_EQ_STR(artifact_mime_type("a.TXT"), "text/plain");
    CHECK_EQ_STR(artifact_mime_type("a.YAML"), "application/octet-stream");
}

static void test_range(void)
{
    uint64_t s = 0, l = 0;
    CHECK_EQ_INT(artifact_parse_range(NULL, 100, &s, &l), ARTIFACT_RANGE_NONE);
    CHECK_EQ_INT(artifact_parse_range("bytes=0-9", 100, &s, &l),
                 ARTIFACT_RANGE_PARTIAL);
    CHECK(s == 0 && l == 10);
    CHECK_EQ_INT(artifact_parse_range("bytes=90-", 100, &s, &l),
                 ARTIFACT_RANGE_PARTIAL);
    CHECK(s == 90 && l == 10);
    CHECK_EQ_INT(artifact_parse_range("bytes=-5", 100, &s, &l),
                 ARTIFACT_RANGE_PARTIAL);
    CHECK(s == 95 && l == 5);
    CHECK_EQ_INT(artifact_parse_range("bytes=-500", 100, &s, &l),
                 ARTIFACT_RANGE_PARTIAL);
    CHECK(s == 0 && l == 100);
    CHECK_EQ_INT(artifact_parse_range("bytes=50-5000", 100, &s, &l),
                 ARTIFACT_RANGE_PARTIAL);
    CHECK(s == 50 && l == 50);
    CHECK_EQ_INT(artifact_parse_range("bytes=100-", 100, &s, &l),
                 ARTIFACT_RANGE_UNSATISFIABLE);
    CHECK_EQ_INT(artifact_parse_range("bytes=100-200", 100, &s, &l),
                 ARTIFACT_RANGE_UNSATISFIABLE);
    CHECK_EQ_INT(artifact_parse_range("bytes=-0", 100, &s, &l),
                 ARTIFACT_RANGE_UNSATISFIABLE);
    CHECK_EQ_INT(artifact_parse_range("bytes=0-", 0, &s, &l),
                 ARTIFACT_RANGE_UNSATISFIABLE);
    /* ignored: send it all */
    CHECK_EQ_INT(artifact_parse_range("bytes=5-1", 100, &s, &l),
                 ARTIFACT_RANGE_NONE);
    CHECK_EQ_INT(artifact_parse_range("bytes=0-1,5-6", 100, &s, &l),
                 ARTIFACT_RANGE_NONE);
    CHECK_EQ_INT(artifact_parse_range("items=0-1", 100, &s, &l),
                 ARTIFACT_RANGE_NONE);
    CHECK_EQ_INT(artifact_parse_range("bytes=x-1", 100, &s, &l),
                 ARTIFACT_RANGE_NONE);
    CHECK_EQ_INT(artifact_parse_range("bytes=-", 100, &s, &l),
                 ARTIFACT_RANGE_NONE);
    CHECK_EQ_INT(
        artifact_parse_range("bytes=99999999999999999999999-", 100, &s, &l),
        ARTIFACT_RANGE_NONE);
}

static void test_disposition(void)
{
    char out[128];
    artifact_disposition(out, sizeof(out), "1/r/artifacts/model/MLmodel");
    CHECK_EQ_STR(out, "attachment; filename=MLmodel");
    artifact_disposition(out, sizeof(out), "a\r\nX-Evil: 1");
    CHECK_EQ_STR(out, "attachment; filename=a__X-Evil: 1");
}

/*---- filesystem ----*/

static void write_file(const char *rel, const char *data)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", tmpdir, rel);
    FILE *f = fopen(p, "w");
    if (f) {
        fputs(data, f);
        fclose(f);
    }
}

static bool exists(const char *rel)
{
    char p[512];
    struct stat st;
    snprintf(p, sizeof(p), "%s/%s", tmpdir, rel);
    return lstat(p, &st) == 0;
}

/* Entries of folder 'rel' of tmpdir, "." and ".." excluded. */
static int count_entries(const char *rel)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", tmpdir, rel);
    DIR *d = opendir(p);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            n++;
    }
    closedir(d);
    return n;
}

static char *read_all(int fd, uint64_t size)
{
    char *buf = calloc(1, size + 1);
    if (buf && pread(fd, buf, size, 0) != (ssize_t)size) {
        free(buf);
        return NULL;
    }
    return buf;
}

static void test_upload(int base)
{
    struct errbuf eb;
    struct artifact_upload u;
    CHECK_EQ_INT(artifact_upload_begin(&u, base, "1/run/artifacts/m.txt", &eb),
                 SRV_OK);
    printf("uploads here use %s\n",
           u.named_tmp ? "a named temp file" : "O_TMPFILE");
    /* nothing under a name yet (O_TMPFILE), or only a hidden temp file */
    CHECK(!exists("1/run/artifacts/m.txt"));
    CHECK_EQ_INT(artifact_upload_write(&u, "hello ", 6, &eb), SRV_OK);
    CHECK_EQ_INT(artifact_upload_write(&u, "world", 5, &eb), SRV_OK);
    CHECK_EQ_INT(u.written, 11);
    CHECK_EQ_INT(artifact_upload_commit(&u, &eb), SRV_OK);
    artifact_upload_abort(&u); /* harmless after commit */
    CHECK(exists("1/run/artifacts/m.txt"));
    CHECK_EQ_INT(count_entries("1/run/artifacts"), 1);

    uint64_t size = 0;
    enum srv_err e;
    int fd = artifact_open_read(base, "1/run/artifacts/m.txt", &size, &e, &eb);
    CHECK(fd >= 0);
    CHECK_EQ_INT(size, 11);
    char *got = fd >= 0 ? read_all(fd, size) : NULL;
    CHECK(got && strcmp(got, "hello world") == 0);
    free(got);
    if (fd >= 0)
        close(fd);

    /* overwrite */
    CHECK_EQ_INT(artifact_upload_begin(&u, base, "1/run/artifacts/m.txt", &eb),
                 SRV_OK);
    CHECK_EQ_INT(artifact_upload_write(&u, "new", 3, &eb), SRV_OK);
    CHECK_EQ_INT(artifact_upload_commit(&u, &eb), SRV_OK);
    fd = artifact_open_read(base, "1/run/artifacts/m.txt", &size, &e, &eb);
    CHECK_EQ_INT(size, 3);
    if (fd >= 0)
        close(fd);
    CHECK_EQ_INT(count_entries("1/run/artifacts"), 1);

    /* an empty body makes an empty file */
    CHECK_EQ_INT(artifact_upload_begin(&u, base, "1/empty", &eb), SRV_OK);
    CHECK_EQ_INT(artifact_upload_commit(&u, &eb), SRV_OK);
    fd = artifact_open_read(base, "1/empty", &size, &e, &eb);
    CHECK(fd >= 0 && size == 0);
    if (fd >= 0)
        close(fd);

    /* abort: no file, no temp file, and the folders it made are gone */
    CHECK_EQ_INT(artifact_upload_begin(&u, base, "2/new/deep/x.bin", &eb),
                 SRV_OK);
    CHECK(exists("2/new/deep"));
    CHECK_EQ_INT(artifact_upload_write(&u, "partial", 7, &eb), SRV_OK);
    artifact_upload_abort(&u);
    artifact_upload_abort(&u); /* twice is harmless */
    CHECK(!exists("2"));
    /* abort keeps folders that existed before */
    CHECK_EQ_INT(
        artifact_upload_begin(&u, base, "1/run/artifacts/n/y.bin", &eb),
        SRV_OK);
    artifact_upload_abort(&u);
    CHECK(!exists("1/run/artifacts/n"));
    CHECK(exists("1/run/artifacts"));
    CHECK_EQ_INT(count_entries("1/run/artifacts"), 1);

    /* two uploads into a folder the first one made: the first is cut and
     * removes the folder (the second's data has no name there yet), the
     * second still lands */
    struct artifact_upload u2;
    CHECK_EQ_INT(artifact_upload_begin(&u, base, "race/d/a.bin", &eb), SRV_OK);
    CHECK_EQ_INT(artifact_upload_begin(&u2, base, "race/d/b.bin", &eb), SRV_OK);
    CHECK_EQ_INT(artifact_upload_write(&u2, "bb", 2, &eb), SRV_OK);
    artifact_upload_abort(&u);
    if (!u2.named_tmp)
        CHECK(!exists("race")); /* gone from under the second upload */
    CHECK_EQ_INT(artifact_upload_commit(&u2, &eb), SRV_OK);
    CHECK(exists("race/d/b.bin"));
    CHECK_EQ_INT(artifact_remove(base, "race", NULL, &eb), SRV_OK);

    /* names no file, or a folder */
    CHECK_EQ_INT(artifact_upload_begin(&u, base, "1/run/", &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    CHECK_EQ_INT(artifact_upload_begin(&u, base, "1/run/.", &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    CHECK_EQ_INT(artifact_upload_begin(&u, base, "1/run", &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    /* a parent that is a file */
    CHECK_EQ_INT(artifact_upload_begin(&u, base, "1/empty/x", &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    /* a name longer than NAME_MAX */
    char longname[400];
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    CHECK_EQ_INT(artifact_upload_begin(&u, base, longname, &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    CHECK_EQ_INT(count_entries(""), 1);
}

static void test_read_errors(int base)
{
    struct errbuf eb;
    enum srv_err e;
    uint64_t size;
    CHECK_EQ_INT(artifact_open_read(base, "1/nope", &size, &e, &eb), -1);
    CHECK_EQ_INT(e, SRV_E_RESOURCE_DOES_NOT_EXIST);
    CHECK_EQ_INT(artifact_open_read(base, "nope/x", &size, &e, &eb), -1);
    CHECK_EQ_INT(e, SRV_E_RESOURCE_DOES_NOT_EXIST);
    CHECK_EQ_INT(artifact_open_read(base, "1/empty/x", &size, &e, &eb), -1);
    CHECK_EQ_INT(e, SRV_E_RESOURCE_DOES_NOT_EXIST);
    CHECK_EQ_INT(artifact_open_read(base, "1/run", &size, &e, &eb), -1);
    CHECK_EQ_INT(e, SRV_E_INVALID_PARAMETER_VALUE);
    CHECK_EQ_INT(artifact_open_read(base, ".", &size, &e, &eb), -1);
    CHECK_EQ_INT(e, SRV_E_INVALID_PARAMETER_VALUE);
    int fd = artifact_open_read(base, "1/run/artifacts/m.txt/", &size, &e, &eb);
    CHECK(fd >= 0); /* a trailing '/' is trimmed */
    if (fd >= 0)
        close(fd);
    char p[512];
    snprintf(p, sizeof(p), "%s/fifo", tmpdir);
    if (mkfifo(p, 0600) == 0) {
        CHECK_EQ_INT(artifact_open_read(base, "fifo", &size, &e, &eb), -1);
        CHECK_EQ_INT(e, SRV_E_INVALID_PARAMETER_VALUE);
        unlink(p);
    }
}

static void test_list(int base)
{
    struct errbuf eb;
    struct artifact_entry *a;
    size_t n;
    CHECK_EQ_INT(artifact_list(base, "", &a, &n, &eb), SRV_OK);
    CHECK_EQ_INT(n, 1);
    CHECK(n == 1 && strcmp(a[0].name, "1") == 0 && a[0].is_dir);
    artifact_entries_free(a, n);
    write_file("1/zz.txt", "12345");
    CHECK_EQ_INT(artifact_list(base, "1/", &a, &n, &eb), SRV_OK);
    CHECK_EQ_INT(n, 3); /* empty, run, zz.txt: sorted */
    if (n == 3) {
        CHECK_EQ_STR(a[0].name, "empty");
        CHECK(!a[0].is_dir && a[0].size == 0);
        CHECK_EQ_STR(a[1].name, "run");
        CHECK(a[1].is_dir);
        CHECK_EQ_STR(a[2].name, "zz.txt");
        CHECK(!a[2].is_dir && a[2].size == 5);
    }
    artifact_entries_free(a, n);
    /* a file, or a missing path: nothing */
    CHECK_EQ_INT(artifact_list(base, "1/zz.txt", &a, &n, &eb), SRV_OK);
    CHECK_EQ_INT(n, 0);
    artifact_entries_free(a, n);
    CHECK_EQ_INT(artifact_list(base, "nope/deeper", &a, &n, &eb), SRV_OK);
    CHECK_EQ_INT(n, 0);
    artifact_entries_free(a, n);
    /* in-progress named uploads are hidden */
    write_file("1/" ARTIFACT_TMP_PREFIX "0123", "x");
    CHECK_EQ_INT(artifact_list(base, "1", &a, &n, &eb), SRV_OK);
    CHECK_EQ_INT(n, 3);
    artifact_entries_free(a, n);
    char p[512];
    snprintf(p, sizeof(p), "%s/1/" ARTIFACT_TMP_PREFIX "0123", tmpdir);
    unlink(p);
}

static void test_symlinks(int base)
{
    struct errbuf eb;
    char p[512];
    /* lnk -> /, esc -> /etc, and a folder holding a link to a file */
    snprintf(p, sizeof(p), "%s/1/lnk", tmpdir);
    CHECK_EQ_INT(symlink("/", p), 0);
    snprintf(p, sizeof(p), "%s/1/run/artifacts/passwd", tmpdir);
    CHECK_EQ_INT(symlink("/etc/passwd", p), 0);

    struct artifact_entry *a;
    size_t n;
    CHECK_EQ_INT(artifact_list(base, "1/lnk", &a, &n, &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    CHECK_EQ_INT(artifact_list(base, "1/lnk/etc", &a, &n, &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    /* listings leave links out */
    CHECK_EQ_INT(artifact_list(base, "1", &a, &n, &eb), SRV_OK);
    for (size_t i = 0; i < n; i++)
        CHECK(strcmp(a[i].name, "lnk") != 0);
    artifact_entries_free(a, n);
    CHECK_EQ_INT(artifact_list(base, "1/run/artifacts", &a, &n, &eb), SRV_OK);
    CHECK_EQ_INT(n, 1); /* m.txt only */
    artifact_entries_free(a, n);

    enum srv_err e;
    uint64_t size;
    CHECK_EQ_INT(artifact_open_read(base, "1/lnk/etc/passwd", &size, &e, &eb),
                 -1);
    CHECK_EQ_INT(e, SRV_E_INVALID_PARAMETER_VALUE);
    CHECK_EQ_INT(
        artifact_open_read(base, "1/run/artifacts/passwd", &size, &e, &eb), -1);
    CHECK_EQ_INT(e, SRV_E_INVALID_PARAMETER_VALUE);

    /* uploads through a link are refused and write nothing */
    struct artifact_upload u;
    CHECK_EQ_INT(artifact_upload_begin(&u, base, "1/lnk/tmp/gt-escape", &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    struct stat st;
    CHECK(stat("/tmp/gt-escape", &st) != 0);
    /* uploading over a link replaces the link, not its target */
    snprintf(p, sizeof(p), "%s/target.txt", tmpdir);
    write_file("target.txt", "keep");
    snprintf(p, sizeof(p), "%s/1/tlink", tmpdir);
    char target[512];
    snprintf(target, sizeof(target), "%s/target.txt", tmpdir);
    CHECK_EQ_INT(symlink(target, p), 0);
    CHECK_EQ_INT(artifact_upload_begin(&u, base, "1/tlink", &eb), SRV_OK);
    CHECK_EQ_INT(artifact_upload_write(&u, "x", 1, &eb), SRV_OK);
    CHECK_EQ_INT(artifact_upload_commit(&u, &eb), SRV_OK);
    CHECK(lstat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 1);
    CHECK(stat(target, &st) == 0 && st.st_size == 4);

    /* deleting through a link is refused; deleting a link removes only it;
     * deleting a folder holding links never follows them */
    CHECK_EQ_INT(artifact_remove(base, "1/lnk/tmp", NULL, &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    CHECK_EQ_INT(artifact_remove(base, "1/lnk", NULL, &eb), SRV_OK);
    CHECK(!exists("1/lnk"));
    CHECK(stat("/etc/passwd", &st) == 0);
    snprintf(p, sizeof(p), "%s/1/run/artifacts/tgt", tmpdir);
    CHECK_EQ_INT(symlink(tmpdir, p), 0);
    uint64_t removed = 0;
    CHECK_EQ_INT(artifact_remove(base, "1/run/", &removed, &eb), SRV_OK);
    CHECK(!exists("1/run"));
    CHECK_EQ_INT(removed, 5); /* m.txt passwd tgt artifacts run */
    CHECK(stat("/etc/passwd", &st) == 0);
    CHECK(exists("target.txt"));
    CHECK(exists("1/zz.txt"));
}

static void test_remove(int base)
{
    struct errbuf eb;
    CHECK_EQ_INT(artifact_remove(base, "", NULL, &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    CHECK_EQ_INT(artifact_remove(base, "./", NULL, &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    CHECK_EQ_INT(artifact_remove(base, "nope/x", NULL, &eb), SRV_OK);
    CHECK_EQ_INT(artifact_remove(base, "1/zz.txt/x", NULL, &eb), SRV_OK);
    uint64_t removed = 0;
    CHECK_EQ_INT(artifact_remove(base, "1/zz.txt", &removed, &eb), SRV_OK);
    CHECK_EQ_INT(removed, 1);
    CHECK(!exists("1/zz.txt"));
    CHECK(exists("1"));
}

static void rm_rf(const char *path)
{
    int base = artifact_open_base("/");
    if (base < 0)
        return;
    struct errbuf eb;
    artifact_remove(base, path + 1, NULL, &eb);
    close(base);
}

int main(void)
{
    test_path_rules();
    test_percent_decode();
    test_locations();
    test_resolve();
    test_mime();
    test_range();
    test_disposition();

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/gt-test-artifacts-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    int base = artifact_open_base(tmpdir);
    CHECK(base >= 0);
    if (base >= 0) {
        test_upload(base);
        test_read_errors(base);
        test_list(base);
        test_symlinks(base);
        test_remove(base);
        close(base);
    }
    rm_rf(tmpdir);
    TEST_MAIN_END("test_artifact_store");
}
