/* SPDX-License-Identifier: MIT
 *
 * test_client_artifacts: libgreentrack's artifact plumbing without a
 * server: how a run's artifact_uri resolves against the tracking URI (the
 * table of mlflow-artifacts.md §2.3, http(s) URIs, local paths and file:
 * URIs, unsupported schemes), the URLs files are PUT to (percent-encoded),
 * the artifact path rule, the folder walk (sorted, nested, links, names
 * the service cannot store) and the spooled record of a file reference.
 */
#include "internal.h"
#include "test.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* The base URL (or local folder) 'uri' resolves to, or "error:<code>". */
static const char *resolve(const char *tracking, const char *uri)
{
    static char out[1024];
    struct art_dest d;
    char err[256];
    gt_status rc = art_resolve(tracking, uri, &d, err, sizeof err);
    if (rc != GT_OK) {
        snprintf(out, sizeof out, "error:%d", (int)rc);
        return out;
    }
    if (d.kind == ART_LOCAL) {
        snprintf(out, sizeof out, "local:%s", d.root);
    } else {
        struct gt_buf b;
        gt_buf_init(&b);
        art_dest_url(&b, &d, "");
        snprintf(out, sizeof out, "%s", b.p ? b.p : "");
        gt_buf_cleanup(&b);
    }
    art_dest_cleanup(&d);
    return out;
}

static void test_resolve(void)
{
    /* mlflow-artifacts.md §2.3, row by row */
    CHECK_EQ_STR(
        resolve("http://localhost:5000", "mlflow-artifacts:/1/abc/artifacts"),
        "http://localhost:5000/api/2.0/mlflow-artifacts/artifacts/1/"
        "abc/artifacts");
    CHECK_EQ_STR(resolve("https://proxy.example/mlflow",
                         "mlflow-artifacts:/1/abc/artifacts"),
                 "https://proxy.example/mlflow/api/2.0/mlflow-artifacts/"
                 "artifacts/1/abc/artifacts");
    CHECK_EQ_STR(resolve("http://localhost:5000",
                         "mlflow-artifacts://other:8080/1/abc/artifacts"),
                 "http://other:8080/api/2.0/mlflow-artifacts/artifacts/1/abc/"
                 "artifacts");
    CHECK_EQ_STR(resolve("https://h/prefix", "mlflow-artifacts:/"),
                 "https://h/api/2.0/mlflow-artifacts/artifacts");
    /* the tracking scheme wins; runs of '/' collapse; no trailing '/' */
    CHECK_EQ_STR(resolve("https://h:1/p/", "mlflow-artifacts://o:2//1//r/"),
                 "https://o:2/p/api/2.0/mlflow-artifacts/artifacts/1/r");
    CHECK_EQ_STR(resolve("http://h", "mlflow-artifacts:///0/r/artifacts"),
                 "http://h/api/2.0/mlflow-artifacts/artifacts/0/r/artifacts");
    CHECK_EQ_STR(resolve("http://h", "mlflow-artifacts://5000/x"),
                 "error:1"); /* a port without a host */
    /* http(s): used as given */
    CHECK_EQ_STR(resolve("http://h",
                         "https://a.example/base/api/2.0/mlflow-artifacts/"
                         "artifacts/2/r/artifacts/"),
                 "https://a.example/base/api/2.0/mlflow-artifacts/artifacts/2/"
                 "r/artifacts");
    CHECK_EQ_STR(resolve("http://h", "http://plain.example/store/"),
                 "http://plain.example/store");
    /* local folders */
    CHECK_EQ_STR(resolve("http://h", "/srv/art/1/r/artifacts"),
                 "local:/srv/art/1/r/artifacts");
    CHECK_EQ_STR(resolve("http://h", "file:///srv/a%20b//r/"),
                 "local:/srv/a b/r");
    CHECK_EQ_STR(resolve("http://h", "file:/srv/x"), "local:/srv/x");
    CHECK_EQ_STR(resolve("http://h", "file://localhost/srv/x"), "local:/srv/x");
    CHECK_EQ_STR(resolve("http://h", "file://elsewhere/srv/x"), "error:10");
    CHECK_EQ_STR(resolve("http://h", "s3://bucket/1/r/artifacts"), "error:10");
    CHECK_EQ_STR(resolve("http://h", "relative/path"), "error:10");
}

static void test_urls(void)
{
    struct art_dest d;
    struct gt_buf b;
    char err[128];
    gt_buf_init(&b);
    CHECK_EQ_INT(art_resolve("http://h:5", "mlflow-artifacts:/1/r/artifacts",
                             &d, err, sizeof err),
                 GT_OK);
    art_dest_url(&b, &d, "model/my file#?.bin");
    CHECK_EQ_STR(b.p, "http://h:5/api/2.0/mlflow-artifacts/artifacts/1/r/"
                      "artifacts/model/my%20file%23%3F.bin");
    gt_buf_reset(&b);
    art_dest_url(&b, &d, "caf\xc3\xa9/100%.txt");
    CHECK_EQ_STR(b.p, "http://h:5/api/2.0/mlflow-artifacts/artifacts/1/r/"
                      "artifacts/caf%C3%A9/100%25.txt");
    art_dest_cleanup(&d);
    gt_buf_cleanup(&b);
}

static void test_path_rule(void)
{
    const char *good[] = {"a",   "model",   "a/b/c.txt", "..a",
                          "a..", ".hidden", "x y",       "caf\xc3\xa9"};
    const char *bad[] = {"",    "/a",   "a/",   "a//b",  ".",    "..",
                         "./a", "a/..", "../a", "a/./b", "a\\b", "a#b"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        CHECK(art_path_ok(good[i]));
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(!art_path_ok(bad[i]));
    char longp[ART_PATH_MAX + 2];
    memset(longp, 'a', sizeof longp);
    longp[ART_PATH_MAX] = '\0';
    CHECK(art_path_ok(longp));
    longp[ART_PATH_MAX] = 'a';
    longp[ART_PATH_MAX + 1] = '\0';
    CHECK(!art_path_ok(longp));
}

static void touch(const char *dir, const char *name, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_walk(void)
{
    char dir[] = "/tmp/gt-walk.XXXXXX", sub[1100], cmd[1200];
    struct art_refs refs;
    if (!mkdtemp(dir)) {
        CHECK(0);
        return;
    }
    snprintf(sub, sizeof sub, "%s/sub", dir);
    mkdir(sub, 0700);
    snprintf(sub, sizeof sub, "%s/sub/deeper", dir);
    mkdir(sub, 0700);
    snprintf(sub, sizeof sub, "%s/empty", dir);
    mkdir(sub, 0700);
    touch(dir, "b.txt", "bb");
    touch(dir, "a.txt", "a");
    touch(dir, "sub/c.bin", "ccc");
    touch(dir, "sub/deeper/d", "");
    touch(dir, "bad#name", "x");
    snprintf(sub, sizeof sub, "%s/a.txt", dir);
    snprintf(cmd, sizeof cmd, "%s/link-to-a", dir);
    CHECK_EQ_INT(symlink(sub, cmd), 0);
    snprintf(cmd, sizeof cmd, "%s/link-to-sub", dir);
    snprintf(sub, sizeof sub, "%s/sub", dir);
    CHECK_EQ_INT(symlink(sub, cmd), 0); /* not followed */

    memset(&refs, 0, sizeof refs);
    CHECK_EQ_INT(art_walk(dir, "out", &refs), 0);
    CHECK_EQ_INT(refs.n, 5);
    CHECK_EQ_INT(refs.skipped, 1);
    const char *want[] = {"out/a.txt", "out/b.txt", "out/link-to-a",
                          "out/sub/c.bin", "out/sub/deeper/d"};
    const uint64_t sizes[] = {1, 2, 1, 3, 0};
    for (size_t i = 0; i < 5 && i < refs.n; i++) {
        CHECK_EQ_STR(refs.v[i].rel, want[i]);
        CHECK_EQ_INT(refs.v[i].size, sizes[i]);
        CHECK(refs.v[i].local[0] == '/');
        CHECK(refs.v[i].mtime_ns > 0);
    }
    art_refs_cleanup(&refs);

    /* no prefix: paths relative to the folder */
    CHECK_EQ_INT(art_walk(dir, "", &refs), 0);
    CHECK(refs.n > 0 && strcmp(refs.v[0].rel, "a.txt") == 0);
    art_refs_cleanup(&refs);

    snprintf(sub, sizeof sub, "%s/missing", dir);
    CHECK_EQ_INT(art_walk(sub, "", &refs), -1);
    CHECK_EQ_INT(refs.n, 0);
    art_refs_cleanup(&refs);

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK_EQ_INT(system(cmd), 0);
}

static void test_ref_record(void)
{
    struct art_ref ref = {(char *)"/data/model.pt", (char *)"ckpt/model.pt",
                          123456789012ull, 1700000000123456789ll};
    struct gt_buf b, framed;
    struct spool_reader rd;
    struct spool_item it;
    char path[] = "/tmp/gt-artrec.XXXXXX";
    gt_buf_init(&b);
    gt_buf_init(&framed);
    art_ref_rec(&b, &ref);
    const struct rec *r = (const struct rec *)(void *)b.p;
    CHECK_EQ_INT(r->type, REC_ARTIFACT);
    CHECK_EQ_INT(b.len, r->size);
    CHECK(!rec_is_data(r));

    /* through the spool and back, every field intact */
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    gt_buf_add(&framed, SPOOL_MAGIC, SPOOL_MAGIC_LEN);
    spool_frame(&framed, r, "0123456789abcdef0123456789abcdef");
    CHECK_EQ_INT(write(fd, framed.p, framed.len), (long long)framed.len);
    spool_reader_init(&rd, fd, SPOOL_MAGIC_LEN);
    gt_buf_init(&it.buf);
    CHECK_EQ_INT(spool_read_next(&rd, &it), 1);
    const struct rec *back = spool_item_rec(&it);
    CHECK_EQ_INT(back->type, REC_ARTIFACT);
    CHECK_EQ_INT(back->step, (long long)123456789012ull);
    CHECK_EQ_INT(back->ts, 1700000000123456789ll);
    CHECK(back->klen == strlen("ckpt/model.pt") &&
          memcmp(rec_key(back), "ckpt/model.pt", back->klen) == 0);
    CHECK(back->vlen == strlen("/data/model.pt") &&
          memcmp(rec_val(back), "/data/model.pt", back->vlen) == 0);
    CHECK_EQ_INT(rd.skipped, 0);
    gt_buf_cleanup(&it.buf);
    spool_reader_cleanup(&rd);
    close(fd);
    unlink(path);
    gt_buf_cleanup(&b);
    gt_buf_cleanup(&framed);
}

int main(void)
{
    test_resolve();
    test_urls();
    test_path_rule();
    test_walk();
    test_ref_record();
    TEST_MAIN_END("test_client_artifacts");
}
