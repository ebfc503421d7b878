/* SPDX-License-Identifier: MIT
 *
 * phase.c: a run's phases (gt_phase_begin, gt_phase_end, gt_log_phase).
 * A phase is a named stretch of a run ("train", "inference") with an
 * optional count of the work it did; the server splits the run's energy
 * across phases by time overlap (runs/carbon's "phases"). This file owns
 * the checks, the open phase of each run (gt_run.ph_*, under the
 * client's mu) and the REC_PHASE record and its runs/log-phase JSON; the
 * worker sends the record (worker.c) and the spool keeps it like any
 * other.
 */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

bool phase_name_ok(const char *name)
{
    size_t n = 0;
    if (!name)
        return false;
    for (const char *p = name; *p; p++, n++) {
        char ch = *p;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' ||
                  ch == '-';
        if (!ok || n >= GT_PHASE_NAME_MAX)
            return false;
    }
    return n > 0;
}

void phase_json(struct gt_buf *b, const char *run_id, const struct rec *r)
{
    gt_buf_reset(b);
    gt_buf_adds(b, "{\"run_id\":");
    gt_buf_add_json_str(b, run_id, strlen(run_id));
    gt_buf_adds(b, ",\"phase\":");
    gt_buf_add_json_str(b, rec_key(r), r->klen);
    gt_buf_adds(b, ",\"start_time\":");
    gt_buf_add_i64(b, r->step);
    gt_buf_adds(b, ",\"end_time\":");
    gt_buf_add_i64(b, r->ts);
    if (r->flags & REC_F_HAS_WORK) {
        gt_buf_adds(b, ",\"work_count\":");
        gt_buf_add_double(b, r->value);
    }
    if (r->vlen > 0) {
        gt_buf_adds(b, ",\"work_unit\":");
        gt_buf_add_json_str(b, rec_val(r), r->vlen);
    }
    gt_buf_add(b, "}", 1);
}

static gt_status phase_invalid(gt_client *c, const char *what)
{
    if (c)
        gt_client_error(c, GT_LOG_ERROR, "invalid argument: %s", what);
    return GT_E_INVALID;
}

/* Checks a run and phase name given to gt_phase_begin or gt_log_phase. */
static gt_status phase_args_check(gt_run *run, const char *phase)
{
    gt_client *c = run ? run->client : NULL;
    if (!run || !phase)
        return phase_invalid(c, "NULL run or phase");
    if (!phase_name_ok(phase))
        return phase_invalid(c, "phase name: 1 to 64 characters of "
                                "[A-Za-z0-9_.-]");
    return GT_OK;
}

/* Checks the work count and unit; '*ulen' receives the unit's bytes. */
static gt_status work_check(gt_client *c, double work_count,
                            const char *work_unit, size_t *ulen)
{
    *ulen = 0;
    if (isnan(work_count) || isinf(work_count))
        return phase_invalid(c, "work count is NaN or infinite");
    if (work_unit && *work_unit &&
        mlflow_text_check(work_unit, GT_WORK_UNIT_MAX, ulen, NULL) !=
            MLFLOW_NAME_OK)
        return phase_invalid(c, "work unit is not UTF-8 of at most 64 "
                                "characters");
    return GT_OK;
}

/* Queues one REC_PHASE record (arguments already checked). */
static gt_status phase_push(gt_run *run, const char *phase, int64_t start_ms,
                            int64_t end_ms, double work_count,
                            const char *work_unit, size_t ulen)
{
    struct rec h;
    size_t klen = strlen(phase);
    memset(&h, 0, sizeof h);
    h.size = rec_size_for(klen, ulen);
    h.type = REC_PHASE;
    h.flags = work_count >= 0 ? REC_F_HAS_WORK : 0;
    h.klen = (uint16_t)klen;
    h.vlen = (uint32_t)ulen;
    h.run = run;
    h.value = work_count >= 0 ? work_count : 0;
    h.step = start_ms;
    h.ts = end_ms;
    return queue_push(&run->client->q, &h, phase, ulen ? work_unit : NULL,
                      false, &run->client->dropped);
}

/* Closes 'run''s open phase: its name into 'name' (GT_PHASE_NAME_MAX + 1
 * bytes) and its start into '*start'; '*end' (the time now) is moved up to
 * the start if the clock stepped back. false when no phase was open. */
static bool phase_take_open(gt_run *run, char *name, int64_t *start,
                            int64_t *end)
{
    gt_client *c = run->client;
    pthread_mutex_lock(&c->mu);
    bool open = run->ph_open;
    run->ph_open = false;
    snprintf(name, GT_PHASE_NAME_MAX + 1, "%s", run->ph_name);
    *start = run->ph_start_ms;
    pthread_mutex_unlock(&c->mu);
    if (open && *end < *start)
        *end = *start; /* the clock stepped back */
    return open;
}

gt_status gt_phase_begin(gt_run *run, const char *phase)
{
    gt_status rc = phase_args_check(run, phase);
    if (rc != GT_OK)
        return rc;
    gt_client *c = run->client;
    pthread_mutex_lock(&c->mu);
    bool busy = run->ph_open;
    if (!busy) {
        snprintf(run->ph_name, sizeof run->ph_name, "%s", phase);
        run->ph_start_ms = gt_now_ms();
        run->ph_open = true;
    }
    pthread_mutex_unlock(&c->mu);
    if (busy)
        return phase_invalid(c, "a phase is already open (gt_phase_end it "
                                "first)");
    return GT_OK;
}

gt_status gt_phase_end(gt_run *run, double work_count, const char *work_unit)
{
    char name[GT_PHASE_NAME_MAX + 1];
    int64_t start, end = gt_now_ms();
    size_t ulen;
    gt_client *c = run ? run->client : NULL;
    if (!run)
        return phase_invalid(c, "NULL run");
    gt_status rc = work_check(c, work_count, work_unit, &ulen);
    if (rc != GT_OK)
        return rc;
    if (!phase_take_open(run, name, &start, &end))
        return phase_invalid(c, "no phase is open (gt_phase_begin first)");
    return phase_push(run, name, start, end, work_count, work_unit, ulen);
}

gt_status gt_log_phase(gt_run *run, const char *phase, int64_t start_ms,
                       int64_t end_ms, double work_count, const char *work_unit)
{
    size_t ulen;
    gt_status rc = phase_args_check(run, phase);
    if (rc != GT_OK)
        return rc;
    gt_client *c = run->client;
    if (start_ms < 0 || end_ms < start_ms || end_ms > GT_MAX_SAFE_INT)
        return phase_invalid(c, "phase times: want 0 <= start <= end < 2^53");
    rc = work_check(c, work_count, work_unit, &ulen);
    if (rc != GT_OK)
        return rc;
    return phase_push(run, phase, start_ms, end_ms, work_count, work_unit,
                      ulen);
}

void phase_close_open(gt_run *run)
{
    char name[GT_PHASE_NAME_MAX + 1];
    gt_client *c = run->client;
    int64_t end = gt_now_ms(), start;
    if (!phase_take_open(run, name, &start, &end))
        return;
    if (phase_push(run, name, start, end, GT_NO_WORK, NULL, 0) != GT_OK)
        gt_client_error(c, GT_LOG_WARN,
                        "phase %s of run %s not recorded: the queue is full",
                        name, run->id);
}
