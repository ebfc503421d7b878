/* SPDX-License-Identifier: MIT
 *
 * spool: the append-only, checksummed files where the worker moves records
 * while the server cannot be reached. One file per client and process
 * ("gt-<start ms>-<pid>-<random>.spool" in the spool directory), held with
 * flock(LOCK_EX) for the client's life, so a replay by another process
 * (gt_spool_replay, `greentrack sync`) never takes a live file. The file
 * is an 8-byte magic, then records: u32 payload length, u32 CRC32 of the
 * payload, the payload (all little-endian). A record with a bad checksum,
 * or with fields the writer never writes (an unknown type, lengths that do
 * not add up, a run id that is not one), is skipped; a torn tail (a short
 * or implausible frame) ends the file.
 * Payload: type u8, flags u8, key length u16, value length u32, value
 * (IEEE bits) u64, step i64, timestamp i64, run-id length u8, 7 reserved
 * bytes, then run id, key and value bytes. Types 1..5 (metric, param,
 * tag, create, end) since the first version; types 6 (an energy sample,
 * its log-energy JSON as the value) and 7 (a reference to an artifact
 * file: artifact path as the key, local path as the value, size in step,
 * mtime in ns as the timestamp) and 8 (a phase: its name as the key, the
 * work unit as the value, start in step, end as the timestamp, the work
 * count as the value bits) were added later in the same frame, so old
 * files read unchanged (an older reader skips such records as corrupt).
 */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define FRAME_HDR 8
#define PAYLOAD_FIXED 40
#define READ_CHUNK (1u << 20)

/*---- CRC32 (IEEE 802.3, reflected, as zlib) ----*/

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

uint32_t gt_crc32(uint32_t crc, const void *data, size_t len)
{
    const unsigned char *p = data;
    pthread_once(&crc_once, crc_init);
    crc = ~crc;
    while (len--)
        crc = crc_table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

/*---- little-endian fields ----*/

static void put_u16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint16_t get_u16(const unsigned char *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/*---- framing ----*/

void spool_frame(struct gt_buf *out, const struct rec *r, const char *run_id)
{
    size_t idlen = strlen(run_id);
    size_t plen = PAYLOAD_FIXED + idlen + r->klen + r->vlen;
    unsigned char fixed[FRAME_HDR + PAYLOAD_FIXED];
    uint64_t bits;

    memset(fixed, 0, sizeof fixed);
    unsigned char *p = fixed + FRAME_HDR;
    p[0] = r->type;
    p[1] = r->flags;
    put_u16(p + 2, r->klen);
    put_u32(p + 4, r->vlen);
    memcpy(&bits, &r->value, sizeof bits);
    put_u64(p + 8, bits);
    put_u64(p + 16, (uint64_t)r->step);
    put_u64(p + 24, (uint64_t)r->ts);
    p[32] = (unsigned char)idlen;
    put_u32(fixed, (uint32_t)plen);

    size_t start = out->len;
    gt_buf_add(out, fixed, sizeof fixed);
    gt_buf_add(out, run_id, idlen);
    gt_buf_add(out, rec_key(r), r->klen);
    gt_buf_add(out, rec_val(r), r->vlen);
    if (out->oom)
        return;
    uint32_t crc = gt_crc32(0, out->p + start + FRAME_HDR, plen);
    put_u32((unsigned char *)out->p + start + 4, crc);
}

/*---- reading ----*/

void spool_reader_init(struct spool_reader *r, int fd, uint64_t off)
{
    struct stat st;
    memset(r, 0, sizeof *r);
    r->fd = fd;
    r->off = off;
    r->end = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
}

void spool_reader_cleanup(struct spool_reader *r)
{
    free(r->buf);
    r->buf = NULL;
    r->cap = r->len = 0;
}

/* Makes bytes [off, off + n) of the file available. NULL past the end, or
 * on a read error (*err set). */
static const unsigned char *window(struct spool_reader *r, uint64_t off,
                                   size_t n, bool *err)
{
    if (off + n > r->end)
        return NULL;
    if (off >= r->buf_off && off + n <= r->buf_off + r->len)
        return r->buf + (off - r->buf_off);
    size_t want = n > READ_CHUNK ? n : READ_CHUNK;
    if (want > r->end - off)
        want = (size_t)(r->end - off);
    if (r->cap < want) {
        unsigned char *nb = realloc(r->buf, want);
        if (!nb) {
            *err = true;
            return NULL;
        }
        r->buf = nb;
        r->cap = want;
    }
    size_t got = 0;
    while (got < want) {
        ssize_t k = pread(r->fd, r->buf + got, want - got, (off_t)(off + got));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    r->buf_off = off;
    r->len = got;
    if (got < n) {
        /* the file is shorter than fstat said: treat as its end */
        r->end = off + got;
        return NULL;
    }
    return r->buf;
}

int spool_read_next(struct spool_reader *r, struct spool_item *it)
{
    for (;;) {
        bool err = false;
        const unsigned char *h = window(r, r->off, FRAME_HDR, &err);
        if (!h) {
            if (err)
                return -1;
            r->torn = r->off < r->end;
            return 0;
        }
        uint32_t plen = get_u32(h), crc = get_u32(h + 4);
        if (plen < PAYLOAD_FIXED || plen > SPOOL_MAX_PAYLOAD) {
            r->torn = true; /* no way to find the next frame */
            return 0;
        }
        const unsigned char *p = window(r, r->off + FRAME_HDR, plen, &err);
        if (!p) {
            if (err)
                return -1;
            r->torn = true;
            return 0;
        }
        r->off += FRAME_HDR + plen;
        size_t idlen = p[32];
        uint16_t klen = get_u16(p + 2);
        uint32_t vlen = get_u32(p + 4);
        uint8_t type = p[0];
        char id[GT_ID_MAX + 1];
        bool corrupt = gt_crc32(0, p, plen) != crc || idlen == 0 ||
                       idlen > GT_ID_MAX ||
                       (uint64_t)PAYLOAD_FIXED + idlen + klen + vlen != plen ||
                       type < REC_METRIC || type > REC_LAST;
        if (!corrupt) {
            /* the writer only frames run ids (no NUL, MLflow's format) */
            memcpy(id, p + PAYLOAD_FIXED, idlen);
            id[idlen] = '\0';
            corrupt = strlen(id) != idlen || !mlflow_run_id_ok(id, GT_ID_MAX);
        }
        if (corrupt) {
            r->skipped++;
            continue;
        }
        struct rec hdr;
        uint64_t bits;
        memset(&hdr, 0, sizeof hdr);
        hdr.type = type;
        hdr.flags = p[1];
        hdr.klen = klen;
        hdr.vlen = vlen;
        hdr.size = rec_size_for(klen, vlen);
        bits = get_u64(p + 8);
        memcpy(&hdr.value, &bits, sizeof bits);
        hdr.step = (int64_t)get_u64(p + 16);
        hdr.ts = (int64_t)get_u64(p + 24);
        memcpy(it->run_id, id, idlen + 1);
        gt_buf_reset(&it->buf);
        gt_buf_add(&it->buf, &hdr, sizeof hdr);
        gt_buf_add(&it->buf, p + PAYLOAD_FIXED + idlen, (size_t)klen + vlen);
        /* pad to hdr.size so the image can be copied as a whole */
        while (!it->buf.oom && it->buf.len < hdr.size)
            gt_buf_add(&it->buf, "", 1);
        if (it->buf.oom)
            return -1;
        return 1;
    }
}

uint64_t spool_count(int fd, uint64_t off)
{
    struct spool_reader r;
    struct spool_item it;
    uint64_t n = 0;
    spool_reader_init(&r, fd, off);
    gt_buf_init(&it.buf);
    while (spool_read_next(&r, &it) == 1)
        n++;
    gt_buf_cleanup(&it.buf);
    spool_reader_cleanup(&r);
    return n;
}

/*---- this process's file ----*/

void spool_init(struct spool *s)
{
    memset(s, 0, sizeof *s);
    s->fd = -1;
}

static void errtext(char *err, size_t errlen, const char *what,
                    const char *path, int e);

/* Creates 'dir' and its missing parents, each 0700. */
static int mkdirs(const char *dir)
{
    char path[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof path)
        return -1;
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        char saved = path[i];
        path[i] = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return -1;
        path[i] = saved;
    }
    return 0;
}

/* The spool may hold anything a program logs, and gt_spool_replay sends
 * what it finds there as this user: a directory someone else made (a
 * predictable /tmp name created first, or a link to theirs) must never be
 * used. The checks run on the opened directory, not only on its name, so
 * it cannot be swapped between check and use. */
int spool_dir_check(const char *dir, bool create, char *err, size_t errlen)
{
    struct stat st;
    if (!dir || !*dir) {
        snprintf(err, errlen, "spool: no directory");
        return -1;
    }
    if (create && mkdirs(dir) != 0) {
        errtext(err, errlen, "cannot create directory", dir, errno);
        return -1;
    }
    if (lstat(dir, &st) != 0) {
        if (errno == ENOENT && !create)
            return 0;
        errtext(err, errlen, "cannot stat", dir, errno);
        return -1;
    }
    if (S_ISLNK(st.st_mode)) {
        snprintf(err, errlen,
                 "spool: %s is a symbolic link; refusing to use it", dir);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "spool: %s is not a directory", dir);
        return -1;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat fst;
    if (fd < 0 || fstat(fd, &fst) != 0 || fst.st_dev != st.st_dev ||
        fst.st_ino != st.st_ino) {
        int e = fd < 0 ? errno : EAGAIN;
        if (fd >= 0)
            close(fd);
        errtext(err, errlen, "cannot open directory", dir, e);
        return -1;
    }
    int rc = 0;
    if (fst.st_uid != geteuid()) {
        snprintf(err, errlen,
                 "spool: %s belongs to uid %lu, not to this user (uid "
                 "%lu); refusing to use it",
                 dir, (unsigned long)fst.st_uid, (unsigned long)geteuid());
        rc = -1;
    } else if ((fst.st_mode & 077) && fchmod(fd, 0700) != 0) {
        errtext(err, errlen, "cannot make private (mode 0700)", dir, errno);
        rc = -1;
    }
    close(fd);
    return rc;
}

void gt_errno_text(char *err, size_t errlen, const char *prefix,
                   const char *what, const char *path, int e)
{
    char msg[128] = "";
    /* XSI strerror_r returns int, GNU's a pointer: handle both */
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
    const char *m = strerror_r(e, msg, sizeof msg);
#else
    const char *m = msg;
    if (strerror_r(e, msg, sizeof msg) != 0)
        snprintf(msg, sizeof msg, "error %d", e);
#endif
    snprintf(err, errlen, "%s%s %s: %s", prefix, what, path, m);
}

static void errtext(char *err, size_t errlen, const char *what,
                    const char *path, int e)
{
    gt_errno_text(err, errlen, "spool: ", what, path, e);
}

gt_status spool_open(struct spool *s, char *err, size_t errlen)
{
    char name[128];
    if (s->fd >= 0)
        return GT_OK;
    if (spool_dir_check(s->dir, true, err, errlen) != 0)
        return GT_E_IO;
    snprintf(name, sizeof name, "gt-%013lld-%ld-%08x.spool",
             (long long)gt_now_ms(), (long)getpid(),
             (unsigned)(gt_random_u64() & 0xFFFFFFFFu));
    size_t n = strlen(s->dir) + strlen(name) + 2;
    char *path = malloc(n);
    if (!path) {
        snprintf(err, errlen, "spool: out of memory");
        return GT_E_NOMEM;
    }
    snprintf(path, n, "%s/%s", s->dir, name);
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        errtext(err, errlen, "cannot create", path, errno);
        free(path);
        return GT_E_IO;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0 ||
        pwrite(fd, SPOOL_MAGIC, SPOOL_MAGIC_LEN, 0) != SPOOL_MAGIC_LEN) {
        errtext(err, errlen, "cannot lock or write", path, errno);
        unlink(path);
        close(fd);
        free(path);
        return GT_E_IO;
    }
    s->fd = fd;
    s->path = path;
    s->end = s->rd = SPOOL_MAGIC_LEN;
    s->nrecs = 0;
    return GT_OK;
}

gt_status spool_write(struct spool *s, const void *data, size_t len,
                      uint64_t nrecs, char *err, size_t errlen)
{
    gt_status rc = spool_open(s, err, errlen);
    if (rc != GT_OK)
        return rc;
    size_t done = 0;
    while (done < len) {
        ssize_t k = pwrite(s->fd, (const char *)data + done, len - done,
                           (off_t)(s->end + done));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            errtext(err, errlen, "cannot write", s->path, k < 0 ? errno : EIO);
            /* never leave a torn record behind our own end */
            if (ftruncate(s->fd, (off_t)s->end) != 0) {
                /* the reader skips a torn tail anyway */
            }
            return GT_E_IO;
        }
        done += (size_t)k;
    }
    s->end += len;
    s->nrecs += nrecs;
    return GT_OK;
}

void spool_reset(struct spool *s)
{
    if (s->fd < 0)
        return;
    if (ftruncate(s->fd, SPOOL_MAGIC_LEN) == 0) {
        s->end = s->rd = SPOOL_MAGIC_LEN;
    } else {
        s->rd = s->end; /* replayed anyway; the file keeps growing */
    }
    s->nrecs = 0;
}

void spool_close(struct spool *s)
{
    if (s->fd >= 0) {
        if (s->nrecs == 0)
            unlink(s->path);
        else
            fdatasync(s->fd);
        close(s->fd); /* drops the lock */
    }
    free(s->path);
    free(s->dir);
    spool_init(s);
}

char *spool_default_dir(void)
{
    const char *env = getenv("GREENTRACK_SPOOL_DIR");
    const char *base, *suffix;
    if (env && *env)
        return strdup(env);
    char tmp_suffix[48];
    if ((env = getenv("XDG_CACHE_HOME")) != NULL && *env == '/') {
        base = env;
        suffix = "/greentrack/spool";
    } else if ((env = getenv("HOME")) != NULL && *env == '/') {
        base = env;
        suffix = "/.cache/greentrack/spool";
    } else if ((env = getenv("XDG_RUNTIME_DIR")) != NULL && *env == '/') {
        base = env; /* the user's own 0700 tmpfs: better than /tmp */
        suffix = "/greentrack-spool";
    } else {
        /* shared: a per-user name, checked by spool_dir_check */
        snprintf(tmp_suffix, sizeof tmp_suffix, "/greentrack-spool-%lu",
                 (unsigned long)geteuid());
        base = "/tmp";
        suffix = tmp_suffix;
    }
    size_t n = strlen(base) + strlen(suffix) + 1;
    char *dir = malloc(n);
    if (dir)
        snprintf(dir, n, "%s%s", base, suffix);
    return dir;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int spool_list(const char *dir, char ***names)
{
    char why[256];
    *names = NULL;
    if (spool_dir_check(dir, false, why, sizeof why) != 0)
        return -1;
    DIR *d = opendir(dir);
    char **v = NULL;
    int n = 0, cap = 0;
    struct dirent *e;
    if (!d)
        return errno == ENOENT ? 0 : -1;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 7 || strcmp(e->d_name + len - 6, ".spool") != 0)
            continue;
        if (n == cap) {
            int ncap = cap ? cap * 2 : 16;
            char **nv = realloc(v, (size_t)ncap * sizeof *nv);
            if (!nv)
                goto fail;
            v = nv;
            cap = ncap;
        }
        if ((v[n] = strdup(e->d_name)) == NULL)
            goto fail;
        n++;
    }
    closedir(d);
    if (n > 1)
        qsort(v, (size_t)n, sizeof *v, name_cmp);
    *names = v;
    return n;
fail:
    closedir(d);
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
    return -1;
}
