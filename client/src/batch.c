/* SPDX-License-Identifier: MIT
 *
 * batch: the growable buffer and the per-run list of pending records turned
 * into runs/log-batch bodies within MLflow's limits (mlflow_names.h).
 * Used by the worker.
 */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*---- gt_buf ----*/

void gt_buf_init(struct gt_buf *b)
{
    memset(b, 0, sizeof *b);
}

void gt_buf_cleanup(struct gt_buf *b)
{
    free(b->p);
    gt_buf_init(b);
}

void gt_buf_reset(struct gt_buf *b)
{
    b->len = 0;
    b->oom = false;
    if (b->p)
        b->p[0] = '\0';
}

static bool grow(struct gt_buf *b, size_t extra)
{
    if (b->oom)
        return false;
    if (b->len + extra + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) {
        if (cap > SIZE_MAX / 2) {
            b->oom = true;
            return false;
        }
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void gt_buf_add(struct gt_buf *b, const void *data, size_t len)
{
    if (!grow(b, len))
        return;
    if (len)
        memcpy(b->p + b->len, data, len);
    b->len += len;
    b->p[b->len] = '\0';
}

void gt_buf_adds(struct gt_buf *b, const char *s)
{
    gt_buf_add(b, s, strlen(s));
}

void gt_buf_add_json_str(struct gt_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    /* worst case: every byte becomes \u00XX */
    if (!grow(b, len * 6 + 2))
        return;
    char *o = b->p + b->len;
    *o++ = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            *o++ = '\\';
            *o++ = (char)ch;
        } else if (ch < 0x20) {
            *o++ = '\\';
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = hex[ch >> 4];
            *o++ = hex[ch & 15];
        } else {
            *o++ = (char)ch;
        }
    }
    *o++ = '"';
    b->len = (size_t)(o - b->p);
    b->p[b->len] = '\0';
}

void gt_buf_add_i64(struct gt_buf *b, int64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%lld", (long long)v);
    gt_buf_add(b, tmp, (size_t)n);
}

void gt_buf_add_double(struct gt_buf *b, double v)
{
    char tmp[40];
    int n;
    if (isnan(v)) {
        gt_buf_adds(b, "\"NaN\"");
        return;
    }
    if (isinf(v)) {
        gt_buf_adds(b, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        return;
    }
    if (v == (double)(int64_t)v && fabs(v) < 1e15)
        n = snprintf(tmp, sizeof tmp, "%lld", (long long)v);
    else
        n = snprintf(tmp, sizeof tmp, "%.17g", v);
    gt_buf_add(b, tmp, (size_t)n);
}

void gt_buf_add_urlenc(struct gt_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char ch = *p;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
            (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' ||
            ch == '~') {
            gt_buf_add(b, p, 1);
        } else {
            char esc[3] = {'%', hex[ch >> 4], hex[ch & 15]};
            gt_buf_add(b, esc, 3);
        }
    }
}

/*---- pending records of one run ----*/

void pending_init(struct pending *p)
{
    memset(p, 0, sizeof *p);
    gt_buf_init(&p->recs);
}

void pending_cleanup(struct pending *p)
{
    gt_buf_cleanup(&p->recs);
    pending_init(p);
}

void pending_reset(struct pending *p)
{
    gt_buf_reset(&p->recs);
    p->count = p->metrics = p->params = p->tags = 0;
}

bool pending_add(struct pending *p, const struct rec *r)
{
    gt_buf_add(&p->recs, r, r->size);
    if (p->recs.oom)
        return false;
    p->count++;
    if (r->type == REC_METRIC)
        p->metrics++;
    else if (r->type == REC_PARAM)
        p->params++;
    else
        p->tags++;
    return true;
}

bool pending_full_for(const struct pending *p, uint8_t type)
{
    if (p->count + 1 > MLFLOW_BATCH_MAX_TOTAL)
        return true;
    switch (type) {
    case REC_METRIC:
        return p->metrics + 1 > MLFLOW_BATCH_MAX_METRICS;
    case REC_PARAM:
        return p->params + 1 > MLFLOW_BATCH_MAX_PARAMS;
    default:
        return p->tags + 1 > MLFLOW_BATCH_MAX_TAGS;
    }
}

const struct rec *pending_next(const struct pending *p, size_t *off)
{
    if (*off >= p->recs.len)
        return NULL;
    const struct rec *r = (const struct rec *)(const void *)(p->recs.p + *off);
    *off += r->size;
    return r;
}

uint32_t pending_counted(const struct pending *p, uint32_t from, uint32_t to)
{
    size_t off = 0;
    uint32_t i = 0, n = 0;
    const struct rec *r;
    while ((r = pending_next(p, &off)) != NULL && i < to) {
        if (i++ >= from && rec_is_counted(r))
            n++;
    }
    return n;
}

/*---- runs/log-batch bodies ----*/

static void add_kv(struct gt_buf *b, const struct rec *r)
{
    gt_buf_adds(b, "{\"key\":");
    gt_buf_add_json_str(b, rec_key(r), r->klen);
    gt_buf_adds(b, ",\"value\":");
    gt_buf_add_json_str(b, rec_val(r), r->vlen);
    gt_buf_add(b, "}", 1);
}

void batch_json(struct gt_buf *out, const char *run_id, const struct pending *p,
                uint32_t from, uint32_t to)
{
    static const struct {
        uint8_t type;
        const char *name;
    } groups[] = {
        {REC_METRIC, "metrics"}, {REC_PARAM, "params"}, {REC_TAG, "tags"}};

    gt_buf_reset(out);
    gt_buf_adds(out, "{\"run_id\":");
    gt_buf_add_json_str(out, run_id, strlen(run_id));
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        size_t off = 0;
        uint32_t i = 0, n = 0;
        const struct rec *r;
        while ((r = pending_next(p, &off)) != NULL && i < to) {
            if (i++ < from || r->type != groups[g].type)
                continue;
            if (n++ == 0) {
                gt_buf_adds(out, ",\"");
                gt_buf_adds(out, groups[g].name);
                gt_buf_adds(out, "\":[");
            } else {
                gt_buf_add(out, ",", 1);
            }
            if (r->type != REC_METRIC) {
                add_kv(out, r);
                continue;
            }
            gt_buf_adds(out, "{\"key\":");
            gt_buf_add_json_str(out, rec_key(r), r->klen);
            gt_buf_adds(out, ",\"value\":");
            gt_buf_add_double(out, r->value);
            gt_buf_adds(out, ",\"timestamp\":");
            gt_buf_add_i64(out, r->ts);
            gt_buf_adds(out, ",\"step\":");
            gt_buf_add_i64(out, r->step);
            gt_buf_add(out, "}", 1);
        }
        if (n)
            gt_buf_add(out, "]", 1);
    }
    gt_buf_add(out, "}", 1);
}
