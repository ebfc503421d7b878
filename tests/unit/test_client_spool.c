/* SPDX-License-Identifier: MIT
 *
 * test_client_spool: CRC32 (the IEEE check value), the spool file of one
 * process (created under a fresh directory, locked, removed when empty),
 * framing and reading back every field, a corrupt record in the middle
 * (skipped, the rest read), a torn last record (the end), an implausible
 * length (the end), a checksummed record whose run id is not one
 * (skipped), the default directory from the environment, and the
 * directory's checks (owner, mode 0700, no symbolic link).
 */
#include "internal.h"
#include "test.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static struct rec *make(uint8_t type, const char *key, const char *val,
                        double value, int64_t step)
{
    size_t kl = strlen(key), vl = val ? strlen(val) : 0;
    uint32_t size = rec_size_for(kl, vl);
    struct rec *r = calloc(1, size);
    r->size = size;
    r->type = type;
    r->flags = 3;
    r->klen = (uint16_t)kl;
    r->vlen = (uint32_t)vl;
    r->value = value;
    r->step = step;
    r->ts = 1700000000000 + step;
    memcpy((char *)(r + 1), key, kl);
    if (vl)
        memcpy((char *)(r + 1) + kl, val, vl);
    return r;
}

static void test_crc(void)
{
    CHECK_EQ_INT(gt_crc32(0, "123456789", 9), 0xCBF43926u);
    CHECK_EQ_INT(gt_crc32(0, "", 0), 0);
    uint32_t part = gt_crc32(0, "12345", 5);
    CHECK_EQ_INT(gt_crc32(part, "6789", 4), 0xCBF43926u);
}

/* Writes 10 records: create, 8 metrics (steps 0..7), a param. */
static void write_records(struct spool *s, long *offs)
{
    struct gt_buf b;
    char err[256];
    gt_buf_init(&b);
    for (int i = 0; i < 10; i++) {
        struct rec *r = i == 0   ? make(REC_CREATE, "exp", "name", 0, 0)
                        : i == 9 ? make(REC_PARAM, "p", "v\n1", 0, 0)
                                 : make(REC_METRIC, "m", NULL, i * 1.5, i - 1);
        offs[i] = (long)(s->end + b.len);
        spool_frame(&b, r, "0123456789abcdef0123456789abcdef");
        free(r);
    }
    CHECK_EQ_INT(spool_write(s, b.p, b.len, 10, err, sizeof err), GT_OK);
    gt_buf_cleanup(&b);
}

static int read_all(int fd, int64_t *steps, int max, struct spool_reader *out)
{
    struct spool_reader r;
    struct spool_item it;
    int n = 0, rc;
    spool_reader_init(&r, fd, SPOOL_MAGIC_LEN);
    gt_buf_init(&it.buf);
    while ((rc = spool_read_next(&r, &it)) == 1) {
        const struct rec *x = spool_item_rec(&it);
        if (n < max)
            steps[n] = x->type == REC_METRIC ? x->step : -x->type;
        n++;
    }
    gt_buf_cleanup(&it.buf);
    spool_reader_cleanup(&r);
    *out = r;
    return rc < 0 ? -1 : n;
}

static void test_file(void)
{
    char dir[256], err[256];
    snprintf(dir, sizeof dir, "/tmp/gt-spool-unit.XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    struct spool s;
    spool_init(&s);
    size_t n = strlen(dir) + 16;
    s.dir = malloc(n);
    snprintf(s.dir, n, "%s/a/b", dir); /* created on demand */
    CHECK_EQ_INT(spool_open(&s, err, sizeof err), GT_OK);
    char **names;
    CHECK_EQ_INT(spool_list(s.dir, &names), 1);
    free(names[0]);
    free(names);
    /* held with flock: another open file description cannot lock it */
    int other = open(s.path, O_RDONLY);
    CHECK(flock(other, LOCK_EX | LOCK_NB) != 0);
    close(other);

    long offs[10];
    write_records(&s, offs);
    CHECK_EQ_INT(s.nrecs, 10);

    /* every field comes back */
    struct spool_reader r;
    struct spool_item it;
    spool_reader_init(&r, s.fd, SPOOL_MAGIC_LEN);
    gt_buf_init(&it.buf);
    CHECK_EQ_INT(spool_read_next(&r, &it), 1);
    const struct rec *x = spool_item_rec(&it);
    CHECK_EQ_INT(x->type, REC_CREATE);
    CHECK_EQ_INT(x->flags, 3);
    CHECK(x->klen == 3 && memcmp(rec_key(x), "exp", 3) == 0);
    CHECK(x->vlen == 4 && memcmp(rec_val(x), "name", 4) == 0);
    CHECK_EQ_STR(it.run_id, "0123456789abcdef0123456789abcdef");
    CHECK_EQ_INT(spool_read_next(&r, &it), 1);
    x = spool_item_rec(&it);
    CHECK(x->type == REC_METRIC && x->step == 0 && x->value == 1.5 &&
          x->ts == 1700000000000);
    gt_buf_cleanup(&it.buf);
    spool_reader_cleanup(&r);
    CHECK_EQ_INT(spool_count(s.fd, SPOOL_MAGIC_LEN), 10);

    /* corrupt record 4 (metric step 3) in the middle: skipped */
    unsigned char byte;
    CHECK(pread(s.fd, &byte, 1, offs[4] + 20) == 1);
    byte ^= 0xFF;
    CHECK(pwrite(s.fd, &byte, 1, offs[4] + 20) == 1);
    int64_t steps[16];
    CHECK_EQ_INT(read_all(s.fd, steps, 16, &r), 9);
    CHECK_EQ_INT(r.skipped, 1);
    CHECK(!r.torn);
    CHECK(steps[3] == 2 && steps[4] == 4);

    /* tear the last record: read up to it */
    CHECK(ftruncate(s.fd, (off_t)s.end - 2) == 0);
    CHECK_EQ_INT(read_all(s.fd, steps, 16, &r), 8);
    CHECK(r.torn);
    CHECK_EQ_INT(steps[7], 7);
    /* only a few bytes of a frame header */
    CHECK(ftruncate(s.fd, offs[9] + 3) == 0);
    CHECK_EQ_INT(read_all(s.fd, steps, 16, &r), 8);
    CHECK(r.torn);
    /* an implausible length ends the file too */
    unsigned char huge[4] = {0xFF, 0xFF, 0xFF, 0x7F};
    CHECK(pwrite(s.fd, huge, 4, offs[8]) == 4);
    CHECK_EQ_INT(read_all(s.fd, steps, 16, &r), 7);
    CHECK(r.torn);

    /* everything replayed: back to the header; the empty file goes away */
    spool_reset(&s);
    CHECK_EQ_INT(s.end, SPOOL_MAGIC_LEN);
    char *path = strdup(s.path);
    spool_close(&s);
    CHECK(access(path, F_OK) != 0);
    free(path);

    /* a file with records stays for `greentrack sync` */
    spool_init(&s);
    s.dir = strdup(dir);
    write_records(&s, offs);
    path = strdup(s.path);
    spool_close(&s);
    CHECK(access(path, F_OK) == 0);
    free(path);

    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

/* A frame with a right checksum but a run id the writer never writes (a
 * NUL inside, a character outside MLflow's run id format) is skipped as
 * corrupt, and the records after it are read (found by fuzz_spool). */
static void test_bad_run_id(void)
{
    static const char *const bad[] = {"0123456789abcdef\0"
                                      "123456789abcdef",
                                      "\0"
                                      "123",
                                      "ab cd", "-abc", "a/b"};
    static const size_t badlen[] = {32, 4, 5, 4, 3};
    char path[] = "/tmp/gt-spool-id.XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct gt_buf b;
        struct rec *r = make(REC_METRIC, "m", NULL, 1, 7);
        gt_buf_init(&b);
        gt_buf_add(&b, SPOOL_MAGIC, SPOOL_MAGIC_LEN);
        /* framed with a good id of the same length, then the id bytes
         * replaced and the checksum made right again */
        char good[40];
        memset(good, 'a', badlen[i]);
        good[badlen[i]] = '\0';
        spool_frame(&b, r, good);
        size_t first = b.len;
        spool_frame(&b, r, "run-2");
        unsigned char *f = (unsigned char *)b.p + SPOOL_MAGIC_LEN;
        memcpy(f + 8 + 40, bad[i], badlen[i]);
        uint32_t plen = (uint32_t)(first - SPOOL_MAGIC_LEN - 8);
        uint32_t crc = gt_crc32(0, f + 8, plen);
        for (int k = 0; k < 4; k++)
            f[4 + k] = (unsigned char)(crc >> (8 * k));
        CHECK(ftruncate(fd, 0) == 0);
        CHECK(pwrite(fd, b.p, b.len, 0) == (ssize_t)b.len);

        struct spool_reader rd;
        struct spool_item it;
        spool_reader_init(&rd, fd, SPOOL_MAGIC_LEN);
        gt_buf_init(&it.buf);
        CHECK_EQ_INT(spool_read_next(&rd, &it), 1);
        CHECK_EQ_STR(it.run_id, "run-2");
        CHECK_EQ_INT(spool_read_next(&rd, &it), 0);
        CHECK_EQ_INT(rd.skipped, 1);
        CHECK(!rd.torn);
        gt_buf_cleanup(&it.buf);
        spool_reader_cleanup(&rd);
        gt_buf_cleanup(&b);
        free(r);
    }
    close(fd);
}

static void test_default_dir(void)
{
    setenv("GREENTRACK_SPOOL_DIR", "/x/spool", 1);
    char *d = spool_default_dir();
    CHECK_EQ_STR(d, "/x/spool");
    free(d);
    unsetenv("GREENTRACK_SPOOL_DIR");
    setenv("XDG_CACHE_HOME", "/c", 1);
    d = spool_default_dir();
    CHECK_EQ_STR(d, "/c/greentrack/spool");
    free(d);
    unsetenv("XDG_CACHE_HOME");
    setenv("HOME", "/h", 1);
    d = spool_default_dir();
    CHECK_EQ_STR(d, "/h/.cache/greentrack/spool");
    free(d);
    /* no home: the user's runtime directory before /tmp */
    unsetenv("HOME");
    setenv("XDG_RUNTIME_DIR", "/run/user/7", 1);
    d = spool_default_dir();
    CHECK_EQ_STR(d, "/run/user/7/greentrack-spool");
    free(d);
    unsetenv("XDG_RUNTIME_DIR");
    d = spool_default_dir();
    char want[64];
    snprintf(want, sizeof want, "/tmp/greentrack-spool-%lu",
             (unsigned long)geteuid());
    CHECK_EQ_STR(d, want);
    free(d);
    setenv("HOME", "relative", 1); /* not a path: skipped */
    d = spool_default_dir();
    CHECK_EQ_STR(d, want);
    free(d);
    unsetenv("HOME");
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

/* The spool directory's checks (spool_dir_check, and through it
 * spool_open and spool_list): created 0700 with its parents; a directory
 * of ours with a wider mode is narrowed; a symbolic link, a file, or a
 * directory of another user is refused, and nothing is written there. */
static void test_dir_checks(void)
{
    char base[] = "/tmp/gt-spool-dirs.XXXXXX";
    CHECK(mkdtemp(base) != NULL);
    char dir[256], link[256], file[256], other[256], err[256];
    snprintf(dir, sizeof dir, "%s/a/b/spool", base);
    CHECK_EQ_INT(spool_dir_check(dir, true, err, sizeof err), 0);
    CHECK_EQ_INT(mode_of(dir), 0700);
    /* a missing directory is fine to list (nothing in it) */
    char missing[256];
    snprintf(missing, sizeof missing, "%s/none", base);
    CHECK_EQ_INT(spool_dir_check(missing, false, err, sizeof err), 0);
    char **names;
    CHECK_EQ_INT(spool_list(missing, &names), 0);
    /* ours, too open: set to 0700 */
    CHECK(chmod(dir, 0777) == 0);
    CHECK_EQ_INT(spool_dir_check(dir, true, err, sizeof err), 0);
    CHECK_EQ_INT(mode_of(dir), 0700);
    /* a symbolic link to a directory of ours: refused all the same */
    snprintf(link, sizeof link, "%s/link", base);
    CHECK(symlink(dir, link) == 0);
    CHECK_EQ_INT(spool_dir_check(link, true, err, sizeof err), -1);
    CHECK(strstr(err, "symbolic link") != NULL);
    CHECK_EQ_INT(spool_list(link, &names), -1);
    struct spool s;
    spool_init(&s);
    s.dir = strdup(link);
    CHECK_EQ_INT(spool_open(&s, err, sizeof err), GT_E_IO);
    spool_close(&s);
    CHECK_EQ_INT(spool_list(dir, &names), 0); /* nothing was written */
    /* a file */
    snprintf(file, sizeof file, "%s/file", base);
    int fd = open(file, O_CREAT | O_WRONLY, 0600);
    CHECK(fd >= 0);
    close(fd);
    CHECK_EQ_INT(spool_dir_check(file, true, err, sizeof err), -1);
    CHECK(strstr(err, "not a directory") != NULL);
    /* another user's directory (as /tmp/greentrack-spool-<uid> made
     * first by someone else): needs root to make one */
    snprintf(other, sizeof other, "%s/other", base);
    CHECK(mkdir(other, 0700) == 0 && chmod(other, 0777) == 0);
    if (geteuid() == 0 && chown(other, 65534, 65534) == 0) {
        CHECK_EQ_INT(spool_dir_check(other, true, err, sizeof err), -1);
        CHECK(strstr(err, "belongs to uid 65534") != NULL);
        CHECK_EQ_INT(mode_of(other), 0777); /* not touched */
        CHECK_EQ_INT(spool_list(other, &names), -1);
    }
    /* a good one is used: spool_open writes its file there */
    spool_init(&s);
    s.dir = strdup(dir);
    CHECK_EQ_INT(spool_open(&s, err, sizeof err), GT_OK);
    CHECK_EQ_INT(mode_of(s.path) & 0777, 0600);
    spool_close(&s);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    CHECK(system(cmd) == 0);
}

int main(void)
{
    test_crc();
    test_file();
    test_bad_run_id();
    test_default_dir();
    test_dir_checks();
    TEST_MAIN_END("test_client_spool");
}
