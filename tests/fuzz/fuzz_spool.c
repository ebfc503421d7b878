/* SPDX-License-Identifier: MIT
 *
 * fuzz_spool: libgreentrack's spool reader (client/src/spool.c) on any
 * file. The input is a whole spool file; like gt_spool_replay, one without
 * the magic is not read. Every record read back must be well formed (a
 * known type, key and value inside its image, a NUL-terminated run id of
 * the framed length), the reader must only move forward and end at the
 * file's end or at a torn tail, spool_count must agree, and framing each
 * record again with the real writer (spool_frame) must read back to the
 * same record, with nothing skipped or torn. Each input is also read with
 * its frames' checksums set right, so the fuzzer reaches the payloads.
 */
#include "internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Two scratch files, reused for every input (pread/pwrite). */
static int scratch_fd(int i)
{
    static FILE *f[2];
    if (!f[i])
        f[i] = tmpfile();
    return f[i] ? fileno(f[i]) : -1;
}

static int load(int fd, const void *data, size_t size)
{
    if (ftruncate(fd, 0) != 0)
        return -1;
    size_t done = 0;
    while (done < size) {
        ssize_t k =
            pwrite(fd, (const char *)data + done, size - done, (off_t)done);
        if (k <= 0)
            return -1;
        done += (size_t)k;
    }
    return 0;
}

/* One record read back is well formed. */
static void check_item(const struct spool_item *it)
{
    const struct rec *r = spool_item_rec(it);
    size_t idlen = strnlen(it->run_id, sizeof it->run_id);
    if (it->buf.oom || it->buf.len < sizeof *r || idlen == 0 ||
        idlen > GT_ID_MAX || r->type < REC_METRIC || r->type > REC_LAST ||
        r->run != NULL || r->size != rec_size_for(r->klen, r->vlen) ||
        it->buf.len != r->size ||
        sizeof *r + (size_t)r->klen + r->vlen > it->buf.len)
        abort();
}

static bool same_item(const struct spool_item *x, const struct spool_item *y)
{
    const struct rec *a = spool_item_rec(x), *b = spool_item_rec(y);
    return strcmp(x->run_id, y->run_id) == 0 && a->type == b->type &&
           a->flags == b->flags && a->klen == b->klen && a->vlen == b->vlen &&
           memcmp(&a->value, &b->value, sizeof a->value) == 0 &&
           a->step == b->step && a->ts == b->ts &&
           memcmp(rec_key(a), rec_key(b), (size_t)a->klen + a->vlen) == 0;
}

/* Gives every frame that fits the right CRC32, so that what follows the
 * checksum is explored too (a fuzzer seldom guesses a CRC). */
static void fix_crcs(uint8_t *p, size_t size)
{
    size_t off = SPOOL_MAGIC_LEN;
    while (off + 8 <= size) {
        uint32_t plen = (uint32_t)p[off] | (uint32_t)p[off + 1] << 8 |
                        (uint32_t)p[off + 2] << 16 | (uint32_t)p[off + 3] << 24;
        if (plen > SPOOL_MAX_PAYLOAD || plen > size - off - 8)
            return;
        uint32_t crc = gt_crc32(0, p + off + 8, plen);
        for (int i = 0; i < 4; i++)
            p[off + 4 + i] = (uint8_t)(crc >> (8 * i));
        off += 8 + (size_t)plen;
    }
}

static void check_file(const uint8_t *data, size_t size)
{
    int fd = scratch_fd(0), fd2 = scratch_fd(1);
    if (fd < 0 || fd2 < 0 || load(fd, data, size) != 0)
        return;

    /* 1. read it all: every record well formed, the reader moving forward
     * to the end or to a torn tail; the writer frames each again */
    struct spool_reader rd, rd2;
    struct spool_item it, it2;
    struct gt_buf again;
    uint64_t n = 0;
    int rc;
    spool_reader_init(&rd, fd, SPOOL_MAGIC_LEN);
    gt_buf_init(&it.buf);
    gt_buf_init(&it2.buf);
    gt_buf_init(&again);
    gt_buf_add(&again, SPOOL_MAGIC, SPOOL_MAGIC_LEN);
    uint64_t last = rd.off;
    while ((rc = spool_read_next(&rd, &it)) == 1) {
        check_item(&it);
        if (rd.off <= last || rd.off > size)
            abort();
        last = rd.off;
        spool_frame(&again, spool_item_rec(&it), it.run_id);
        n++;
    }
    if (rc != 0 || rd.off > size || (!rd.torn && rd.off != size) ||
        spool_count(fd, SPOOL_MAGIC_LEN) != n || again.oom)
        abort();
    spool_reader_cleanup(&rd);

    /* 2. what the writer framed reads back record for record, with nothing
     * skipped and no torn tail */
    if (load(fd2, again.p, again.len) != 0)
        abort();
    spool_reader_init(&rd, fd, SPOOL_MAGIC_LEN);
    spool_reader_init(&rd2, fd2, SPOOL_MAGIC_LEN);
    for (uint64_t i = 0; i < n; i++) {
        if (spool_read_next(&rd, &it) != 1 ||
            spool_read_next(&rd2, &it2) != 1 || !same_item(&it, &it2))
            abort();
    }
    if (spool_read_next(&rd2, &it2) != 0 || rd2.skipped || rd2.torn ||
        rd2.off != again.len)
        abort();
    spool_reader_cleanup(&rd);
    spool_reader_cleanup(&rd2);
    gt_buf_cleanup(&it.buf);
    gt_buf_cleanup(&it2.buf);
    gt_buf_cleanup(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < SPOOL_MAGIC_LEN ||
        memcmp(data, SPOOL_MAGIC, SPOOL_MAGIC_LEN) != 0)
        return 0;
    check_file(data, size);
    uint8_t *fixed = malloc(size);
    if (!fixed)
        return 0;
    memcpy(fixed, data, size);
    fix_crcs(fixed, size);
    if (memcmp(fixed, data, size) != 0)
        check_file(fixed, size);
    free(fixed);
    return 0;
}
