/* SPDX-License-Identifier: MIT
 *
 * test_client_phase: libgreentrack's phases and budgets without a server:
 * the phase-name rule, the runs/log-phase JSON of a phase record, the
 * argument checks of gt_phase_begin, gt_phase_end and gt_log_phase, the
 * phase records a client spools when its server cannot be reached (one
 * left open is ended with its run), the parsing of experiments/summary
 * into a gt_budget (hand-written answers), and gt_experiment_budget's
 * codes for bad arguments and an unreachable server.
 */
#include "internal.h"
#include "test.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

/*---- names and JSON ----*/

static void test_names(void)
{
    char long_name[80];
    CHECK(phase_name_ok("train"));
    CHECK(phase_name_ok("inference"));
    CHECK(phase_name_ok("eval-2.b_x"));
    CHECK(!phase_name_ok(""));
    CHECK(!phase_name_ok(NULL));
    CHECK(!phase_name_ok("two words"));
    CHECK(!phase_name_ok("a/b"));
    CHECK(!phase_name_ok("caf\xc3\xa9"));
    memset(long_name, 'a', 64);
    long_name[64] = '\0';
    CHECK(phase_name_ok(long_name)); /* 64: the longest */
    long_name[64] = 'a';
    long_name[65] = '\0';
    CHECK(!phase_name_ok(long_name));
}

/* A phase record in a malloc'd buffer (caller frees). */
static struct rec *make(const char *phase, const char *unit, bool has_work,
                        double work, int64_t start, int64_t end)
{
    size_t klen = strlen(phase), vlen = unit ? strlen(unit) : 0;
    struct rec *r = calloc(1, rec_size_for(klen, vlen));
    r->size = rec_size_for(klen, vlen);
    r->type = REC_PHASE;
    r->flags = has_work ? REC_F_HAS_WORK : 0;
    r->klen = (uint16_t)klen;
    r->vlen = (uint32_t)vlen;
    r->value = work;
    r->step = start;
    r->ts = end;
    memcpy((char *)(r + 1), phase, klen);
    if (vlen)
        memcpy((char *)(r + 1) + klen, unit, vlen);
    return r;
}

static void test_json(void)
{
    struct gt_buf b;
    gt_buf_init(&b);
    struct rec *r =
        make("inference", "predictions", true, 1000, 3600000, 7200000);
    phase_json(&b, "0123abcd", r);
    CHECK_EQ_STR(b.p, "{\"run_id\":\"0123abcd\",\"phase\":\"inference\","
                      "\"start_time\":3600000,\"end_time\":7200000,"
                      "\"work_count\":1000,\"work_unit\":\"predictions\"}");
    free(r);
    r = make("train", NULL, false, 0, 5, 5);
    phase_json(&b, "r1", r);
    CHECK_EQ_STR(b.p, "{\"run_id\":\"r1\",\"phase\":\"train\","
                      "\"start_time\":5,\"end_time\":5}");
    free(r);
    /* a unit is JSON-escaped; a fractional count keeps its digits */
    r = make("eval", "to\"ken", true, 2.5, 1, 2);
    phase_json(&b, "r1", r);
    CHECK_EQ_STR(b.p, "{\"run_id\":\"r1\",\"phase\":\"eval\","
                      "\"start_time\":1,\"end_time\":2,\"work_count\":2.5,"
                      "\"work_unit\":\"to\\\"ken\"}");
    free(r);
    gt_buf_cleanup(&b);
}

/*---- the API against an unreachable server: records are spooled ----*/

struct found {
    int n;
    char name[8][GT_PHASE_NAME_MAX + 1];
    char unit[8][80];
    int has_work[8];
    double work[8];
    int64_t start[8], end[8];
};

static void read_spool(const char *dir, struct found *f)
{
    char **names = NULL;
    int n = spool_list(dir, &names);
    memset(f, 0, sizeof *f);
    CHECK(n >= 1);
    for (int i = 0; i < n; i++) {
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        int fd = open(path, O_RDONLY);
        CHECK(fd >= 0);
        struct spool_reader rd;
        struct spool_item it;
        spool_reader_init(&rd, fd, SPOOL_MAGIC_LEN);
        gt_buf_init(&it.buf);
        while (fd >= 0 && spool_read_next(&rd, &it) == 1) {
            const struct rec *r = spool_item_rec(&it);
            if (r->type != REC_PHASE || f->n >= 8)
                continue;
            snprintf(f->name[f->n], sizeof f->name[0], "%.*s", (int)r->klen,
                     rec_key(r));
            snprintf(f->unit[f->n], sizeof f->unit[0], "%.*s", (int)r->vlen,
                     rec_val(r));
            f->has_work[f->n] = (r->flags & REC_F_HAS_WORK) != 0;
            f->work[f->n] = r->value;
            f->start[f->n] = r->step;
            f->end[f->n] = r->ts;
            f->n++;
        }
        gt_buf_cleanup(&it.buf);
        spool_reader_cleanup(&rd);
        if (fd >= 0)
            close(fd);
        free(names[i]);
    }
    free(names);
}

static void test_api(void)
{
    char dir[256], cmd[400], unit65[70];
    gt_run *run = NULL;
    snprintf(dir, sizeof dir, "/tmp/gt-phase-unit.XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    gt_client *c = gt_client_new("http://127.0.0.1:1");
    CHECK(c != NULL);
    CHECK_EQ_INT(gt_client_set_spool_dir(c, dir), GT_OK);
    CHECK_EQ_INT(gt_client_set_energy(c, 0), GT_OK);
    CHECK_EQ_INT(gt_client_set_flush_timeout_ms(c, 300), GT_OK);
    CHECK_EQ_INT(gt_run_start(c, "phases", NULL, &run), GT_OK);
    int64_t t0 = gt_now_ms();

    /* argument checks: nothing is queued */
    CHECK_EQ_INT(gt_phase_begin(NULL, "train"), GT_E_INVALID);
    CHECK_EQ_INT(gt_phase_begin(run, NULL), GT_E_INVALID);
    CHECK_EQ_INT(gt_phase_begin(run, "no spaces"), GT_E_INVALID);
    CHECK(strstr(gt_client_errmsg(c), "phase name") != NULL);
    CHECK_EQ_INT(gt_phase_end(run, 1, NULL), GT_E_INVALID); /* none open */
    CHECK_EQ_INT(gt_phase_end(NULL, 1, NULL), GT_E_INVALID);

    CHECK_EQ_INT(gt_phase_begin(run, "train"), GT_OK);
    CHECK_EQ_INT(gt_phase_begin(run, "eval"), GT_E_INVALID); /* one open */
    CHECK(strstr(gt_client_errmsg(c), "already open") != NULL);
    CHECK_EQ_INT(gt_phase_end(run, NAN, "items"), GT_E_INVALID);
    CHECK_EQ_INT(gt_phase_end(run, INFINITY, "items"), GT_E_INVALID);
    memset(unit65, 'u', 65);
    unit65[65] = '\0';
    CHECK_EQ_INT(gt_phase_end(run, 5, unit65), GT_E_INVALID);
    CHECK_EQ_INT(gt_phase_end(run, 5, "\xff\xfe"), GT_E_INVALID);
    /* still open after the refusals */
    CHECK_EQ_INT(gt_phase_end(run, 5, "items"), GT_OK);
    CHECK_EQ_INT(gt_phase_end(run, 5, "items"), GT_E_INVALID);

    CHECK_EQ_INT(
        gt_log_phase(run, "inference", 1000, 2000, 1000, "predictions"), GT_OK);
    CHECK_EQ_INT(gt_log_phase(run, "inference", 2000, 1000, 1, NULL),
                 GT_E_INVALID);
    CHECK_EQ_INT(gt_log_phase(run, "inference", -1, 1000, 1, NULL),
                 GT_E_INVALID);
    CHECK_EQ_INT(
        gt_log_phase(run, "inference", 0, GT_MAX_SAFE_INT + 1, 1, NULL),
        GT_E_INVALID);
    CHECK_EQ_INT(gt_log_phase(run, "", 0, 1, 1, NULL), GT_E_INVALID);
    CHECK_EQ_INT(gt_log_phase(run, "warmup", 10, 10, GT_NO_WORK, ""), GT_OK);

    /* left open: the run's end ends it, without a work count */
    CHECK_EQ_INT(gt_phase_begin(run, "eval"), GT_OK);
    gt_status st = gt_run_end(run, GT_RUN_FINISHED);
    CHECK(st == GT_OK || st == GT_E_TIMEOUT);
    gt_client_free(c);
    int64_t t1 = gt_now_ms();

    struct found f;
    read_spool(dir, &f);
    CHECK_EQ_INT(f.n, 4);
    if (f.n == 4) {
        CHECK_EQ_STR(f.name[0], "train");
        CHECK_EQ_STR(f.unit[0], "items");
        CHECK(f.has_work[0] && f.work[0] == 5);
        CHECK(f.start[0] >= t0 && f.start[0] <= f.end[0] && f.end[0] <= t1);
        CHECK_EQ_STR(f.name[1], "inference");
        CHECK_EQ_STR(f.unit[1], "predictions");
        CHECK(f.has_work[1] && f.work[1] == 1000);
        CHECK_EQ_INT(f.start[1], 1000);
        CHECK_EQ_INT(f.end[1], 2000);
        CHECK_EQ_STR(f.name[2], "warmup");
        CHECK_EQ_STR(f.unit[2], "");
        CHECK(!f.has_work[2]);
        CHECK_EQ_STR(f.name[3], "eval");
        CHECK(!f.has_work[3]);
        CHECK(f.start[3] >= f.end[0] && f.end[3] <= t1);
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK_EQ_INT(system(cmd), 0);
}

/*---- budgets ----*/

static gt_status parse(const char *body, const char *id, gt_budget *b)
{
    return budget_parse(body, strlen(body), id, b);
}

static void test_budget_parse(void)
{
    gt_budget b;
    const char *two =
        "{\"experiments\":[{\"experiment_id\":\"1\",\"name\":\"a\","
        "\"co2_g\":10},{\"experiment_id\":\"2\",\"name\":\"b\","
        "\"co2_g\":2000,\"budget_co2_kg\":1.5,\"used_co2_kg\":2.0,"
        "\"budget_used_fraction\":1.3333333333}]}";
    CHECK_EQ_INT(parse(two, "2", &b), GT_OK);
    CHECK_EQ_STR(b.experiment_id, "2");
    CHECK_EQ_INT(b.has_budget, 1);
    CHECK_NEAR(b.budget_co2_kg, 1.5, 1e-12);
    CHECK_NEAR(b.used_co2_kg, 2.0, 1e-12);
    CHECK_NEAR(b.used_fraction, 1.3333333333, 1e-9);
    CHECK_EQ_INT(b.over, 1);
    /* no budget tag */
    CHECK_EQ_INT(parse(two, "1", &b), GT_OK);
    CHECK_EQ_INT(b.has_budget, 0);
    CHECK_EQ_INT(b.over, 0);
    CHECK_EQ_INT(parse(two, "3", &b), GT_E_NOT_FOUND);
    /* used from co2_g, the fraction computed: 500 g of 1 kg */
    CHECK_EQ_INT(parse("{\"experiments\":[{\"experiment_id\":\"7\","
                       "\"co2_g\":500,\"budget_co2_kg\":1}]}",
                       "7", &b),
                 GT_OK);
    CHECK_NEAR(b.used_co2_kg, 0.5, 1e-12);
    CHECK_NEAR(b.used_fraction, 0.5, 1e-12);
    CHECK_EQ_INT(b.over, 0);
    /* exactly spent is not over (a fraction above 1 is) */
    CHECK_EQ_INT(parse("{\"experiments\":[{\"experiment_id\":\"7\","
                       "\"budget_co2_kg\":0.25,\"used_co2_kg\":0.25}]}",
                       "7", &b),
                 GT_OK);
    CHECK_EQ_INT(b.over, 0);
    CHECK_NEAR(b.used_fraction, 1.0, 1e-12);
    /* a budget of 0 allows nothing: over, even with nothing used; the
     * server's fraction is null then */
    CHECK_EQ_INT(parse("{\"experiments\":[{\"experiment_id\":\"7\","
                       "\"budget_co2_kg\":0,\"used_co2_kg\":0,"
                       "\"budget_used_fraction\":null}]}",
                       "7", &b),
                 GT_OK);
    CHECK_EQ_INT(b.has_budget, 1);
    CHECK_EQ_INT(b.over, 1);
    CHECK_NEAR(b.used_fraction, 0.0, 0);
    CHECK_EQ_INT(parse("{\"experiments\":[{\"experiment_id\":\"7\","
                       "\"budget_co2_kg\":0,\"used_co2_kg\":0.5}]}",
                       "7", &b),
                 GT_OK);
    CHECK(isinf(b.used_fraction));
    CHECK_EQ_INT(b.over, 1);
    /* one experiment's object, numeric id */
    CHECK_EQ_INT(parse("{\"experiment_id\":12,\"budget_co2_kg\":2,"
                       "\"used_co2_kg\":1}",
                       "12", &b),
                 GT_OK);
    CHECK_EQ_INT(b.has_budget, 1);
    CHECK_EQ_INT(b.over, 0);
    /* not a summary */
    CHECK_EQ_INT(parse("not json", "1", &b), GT_E_SERVER);
    CHECK_EQ_INT(parse("[1,2]", "1", &b), GT_E_SERVER);
    CHECK_EQ_INT(parse("{\"other\":1}", "1", &b), GT_E_SERVER);
    CHECK_EQ_INT(budget_parse(NULL, 0, "1", &b), GT_E_SERVER);
    /* a negative budget is no budget */
    CHECK_EQ_INT(parse("{\"experiments\":[{\"experiment_id\":\"7\","
                       "\"budget_co2_kg\":-1,\"used_co2_kg\":3}]}",
                       "7", &b),
                 GT_OK);
    CHECK_EQ_INT(b.has_budget, 0);
}

static void test_budget_calls(void)
{
    gt_budget b;
    gt_client *c = gt_client_new("http://127.0.0.1:1");
    CHECK(c != NULL);
    CHECK_EQ_INT(gt_experiment_budget(NULL, "1", NULL, &b), GT_E_INVALID);
    CHECK_EQ_INT(gt_experiment_budget(c, "1", NULL, NULL), GT_E_INVALID);
    CHECK_EQ_INT(gt_experiment_budget(c, "", NULL, &b), GT_E_INVALID);
    CHECK_EQ_INT(gt_experiment_budget(c, "1", NULL, &b), GT_E_NETWORK);
    CHECK(strstr(gt_client_errmsg(c), "carbon budget") != NULL);
    CHECK_EQ_INT(gt_experiment_budget(c, NULL, "by name", &b), GT_E_NETWORK);
    CHECK_EQ_INT(gt_experiment_budget(c, NULL, NULL, &b), GT_E_NETWORK);
    CHECK_EQ_INT(b.has_budget, 0);
    gt_client_free(c);
}

int main(void)
{
    test_names();
    test_json();
    test_api();
    test_budget_parse();
    test_budget_calls();
    TEST_MAIN_END("test_client_phase");
}
