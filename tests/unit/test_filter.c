/* SPDX-License-Identifier: MIT
 *
 * test_filter: table-driven tests of server/filter.c. Checks the generated
 * SQL text and bound parameters for key cases, that bad filters and
 * order_by lists are rejected, and runs the fragments against an in-memory
 * SQLite database built from schema/sqlite/001_tracking.sql to check
 * semantics (missing-last and NaN ordering, LIKE vs ILIKE, IN lists,
 * datasets); the same for the Model Registry's grammar against
 * schema/sqlite/005_registry.sql.
 */
#include "filter.h"
#include "test.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#define MAXO 4

/*---- Helpers
 * ----------------------------------------------------------------*/

static void params_text(const struct sql_frag *f, struct strbuf *sb)
{
    for (size_t i = 0; i < f->nparams; i++) {
        const struct sqlv *v = &f->params[i];
        if (sb->len)
            strbuf_append_char(sb, '|');
        switch (v->type) {
        case SQLV_TEXT:
            strbuf_printf(sb, "T:%s", v->text);
            break;
        case SQLV_INT:
            strbuf_printf(sb, "I:%lld", (long long)v->i);
            break;
        case SQLV_REAL:
            strbuf_printf(sb, "R:%g", v->d);
            break;
        }
    }
}

static size_t count_orders(const char *const *o)
{
    size_t n = 0;
    while (n < MAXO && o[n])
        n++;
    return n;
}

static enum srv_err build(bool runs, const char *filter,
                          const char *const *order, struct search_sql *q,
                          struct errbuf *eb)
{
    size_t n = order ? count_orders(order) : 0;
    search_sql_init(q);
    eb->msg[0] = '\0';
    return runs ? filter_build_runs(filter, order, n, q, eb)
                : filter_build_experiments(filter, order, n, q, eb);
}

/* Checks one compiled SQL text case: the build succeeded ('label' names
 * the case), the fragments' text, their parameters ("T:x|I:1|R:2.5", in
 * joins, where, order order) and that the joins and where hold as many
 * placeholders as parameters. Cleans 'q' up. */
static void check_sql(const char *what, size_t i, const char *label,
                      enum srv_err rc, const struct errbuf *eb,
                      struct search_sql *q, const char *joins,
                      const char *where, const char *orderby,
                      const char *params)
{
    if (rc != SRV_OK)
        fprintf(stderr, "%s %zu (%s): %s\n", what, i, label ? label : "(null)",
                eb->msg);
    CHECK_EQ_INT(rc, SRV_OK);
    CHECK_EQ_STR(q->joins.sql.buf, joins);
    CHECK_EQ_STR(q->where.sql.buf, where);
    CHECK_EQ_STR(q->order.sql.buf, orderby);
    struct strbuf ps;
    strbuf_init(&ps);
    strbuf_append(&ps, "", 0);
    params_text(&q->joins, &ps);
    params_text(&q->where, &ps);
    params_text(&q->order, &ps);
    CHECK_EQ_STR(ps.buf, params);
    /* Placeholder count matches the parameter count. */
    size_t marks = 0;
    for (const char *p = q->joins.sql.buf; *p; p++)
        marks += *p == '?';
    for (const char *p = q->where.sql.buf; *p; p++)
        marks += *p == '?';
    CHECK_EQ_INT(marks, q->joins.nparams + q->where.nparams);
    strbuf_cleanup(&ps);
    search_sql_cleanup(q);
}

/* Checks one refused build: INVALID_PARAMETER_VALUE with a message that
 * holds 'msg_part' (NULL: any). Cleans 'q' up. */
static void check_err(const char *what, size_t i, const char *label,
                      enum srv_err rc, const struct errbuf *eb,
                      struct search_sql *q, const char *msg_part)
{
    if (rc != SRV_E_INVALID_PARAMETER_VALUE)
        fprintf(stderr, "%s %zu (%s) unexpectedly rc=%d\n", what, i, label,
                (int)rc);
    CHECK_EQ_INT(rc, SRV_E_INVALID_PARAMETER_VALUE);
    CHECK(eb->msg[0] != '\0');
    if (msg_part && !strstr(eb->msg, msg_part)) {
        fprintf(stderr, "%s %zu: message '%s' lacks '%s'\n", what, i, eb->msg,
                msg_part);
        CHECK(0);
    }
    search_sql_cleanup(q);
}

/*---- SQL text cases
 * ---------------------------------------------------------*/

struct sql_case {
    bool runs;
    const char *filter;
    const char *order[MAXO];
    const char *joins;
    const char *where;
    const char *orderby;
    const char *params; /* joins, where, order params joined by '|' */
};

static const struct sql_case sql_cases[] = {
    {true, NULL, {NULL}, "", "", "r.start_time DESC, r.run_id ASC", ""},
    {true, "   \t\n", {NULL}, "", "", "r.start_time DESC, r.run_id ASC", ""},
    {true,
     "metrics.acc > 0.5",
     {NULL},
     "",
     " AND (EXISTS (SELECT 1 FROM latest_metrics m WHERE m.run_pk = r.run_pk "
     "AND m.key = ? AND m.is_nan = 0 AND m.value > ?))",
     "r.start_time DESC, r.run_id ASC",
     "T:acc|R:0.5"},
    {true,
     "metrics.acc > 0.5",
     {"metrics.acc DESC", NULL},
     " JOIN latest_metrics o0 ON o0.run_pk = r.run_pk AND o0.key = ? AND "
     "o0.is_nan = 0",
     " AND (o0.value > ?)",
     "o0.value DESC, r.start_time DESC, r.run_id ASC",
     "T:acc|R:0.5"},
    {true,
     "metrics.acc != 1",
     {"metrics.acc", NULL},
     " LEFT JOIN latest_metrics o0 ON o0.run_pk = r.run_pk AND o0.key = ?",
     " AND (EXISTS (SELECT 1 FROM latest_metrics m WHERE m.run_pk = r.run_pk "
     "AND m.key = ? AND (m.is_nan = 1 OR m.value != ?)))",
     "(o0.run_pk IS NULL), o0.is_nan, o0.value ASC, r.start_time DESC, "
     "r.run_id ASC",
     "T:acc|T:acc|R:1"},
    {true,
     "metric.a.b <= -1e3",
     {NULL},
     "",
     " AND (EXISTS (SELECT 1 FROM latest_metrics m WHERE m.run_pk = r.run_pk "
     "AND m.key = ? AND m.is_nan = 0 AND m.value <= ?))",
     "r.start_time DESC, r.run_id ASC",
     "T:a.b|R:-1000"},
    {true,
     "params.`my key` ILIKE '%A'",
     {NULL},
     "",
     " AND (EXISTS (SELECT 1 FROM params x WHERE x.run_pk = r.run_pk AND "
     "x.key = ? AND lower(x.value) LIKE lower(?) ESCAPE '\\'))",
     "r.start_time DESC, r.run_id ASC",
     "T:my key|T:%A"},
    {true,
     "tags.\"user-name\" like \"bob\"",
     {NULL},
     "",
     " AND (EXISTS (SELECT 1 FROM tags x WHERE x.run_pk = r.run_pk AND "
     "x.key = ? AND x.value LIKE ? ESCAPE '\\'))",
     "r.start_time DESC, r.run_id ASC",
     "T:user-name|T:bob"},
    {true,
     "attributes.start_time >= 5 and end_time < 1.5",
     {NULL},
     "",
     " AND (r.start_time >= ?) AND (r.end_time < ?)",
     "r.start_time DESC, r.run_id ASC",
     "I:5|R:1.5"},
    {true,
     "Created = 99999999999999999999",
     {NULL},
     "",
     " AND (r.start_time = ?)",
     "r.start_time DESC, r.run_id ASC",
     "R:1e+20"},
    {true,
     "run_id IN ('a', \"B\",'c')",
     {NULL},
     "",
     " AND (r.run_id IN (?, ?))",
     "r.start_time DESC, r.run_id ASC",
     "T:a|T:c"},
    {true,
     "attribute.run_id in ('A')",
     {NULL},
     "",
     " AND (FALSE)",
     "r.start_time DESC, r.run_id ASC",
     ""},
    {true,
     "run.run_id not in ('A','Bc')",
     {NULL},
     "",
     " AND (TRUE)",
     "r.start_time DESC, r.run_id ASC",
     ""},
    {true,
     "run_id NOT  IN ('ab')",
     {NULL},
     "",
     " AND (r.run_id NOT IN (?))",
     "r.start_time DESC, r.run_id ASC",
     "T:ab"},
    {true,
     "\"Run Name\" = 'x' AND `run name` != 'y'",
     {NULL},
     "",
     " AND (r.run_name = ?) AND (r.run_name != ?)",
     "r.start_time DESC, r.run_id ASC",
     "T:x|T:y"},
    {true,
     "status = 'FINISHED' AND user_id LIKE 'a%' AND artifact_uri ILIKE "
     "'s3%'",
     {NULL},
     "",
     " AND (r.status = ?) AND (r.user_id LIKE ? ESCAPE '\\') AND "
     "(lower(r.artifact_uri) "
     "LIKE lower(?) ESCAPE '\\')",
     "r.start_time DESC, r.run_id ASC",
     "T:FINISHED|T:a%|T:s3%"},
    {true,
     "datasets.name = 'train'",
     {NULL},
     "",
     " AND (EXISTS (SELECT 1 FROM run_inputs ri JOIN datasets d ON "
     "d.dataset_pk = ri.dataset_pk WHERE ri.run_pk = r.run_pk AND d.name = "
     "?))",
     "r.start_time DESC, r.run_id ASC",
     "T:train"},
    {true,
     "`dataset`.digest NOT IN ('x', 'y')",
     {NULL},
     "",
     " AND (EXISTS (SELECT 1 FROM run_inputs ri JOIN datasets d ON "
     "d.dataset_pk = ri.dataset_pk WHERE ri.run_pk = r.run_pk AND d.digest "
     "NOT IN (?, ?)))",
     "r.start_time DESC, r.run_id ASC",
     "T:x|T:y"},
    {true,
     "datasets.context ILIKE 'TR%'",
     {NULL},
     "",
     " AND (EXISTS (SELECT 1 FROM input_tags it WHERE it.run_pk = r.run_pk "
     "AND it.key = ? AND lower(it.value) LIKE lower(?) ESCAPE '\\'))",
     "r.start_time DESC, r.run_id ASC",
     "T:mlflow.data.context|T:TR%"},
    {true,
     "params.x = 'a''; DROP TABLE runs; --'",
     {NULL},
     "",
     " AND (EXISTS (SELECT 1 FROM params x WHERE x.run_pk = r.run_pk AND "
     "x.key = ? AND x.value = ?))",
     "r.start_time DESC, r.run_id ASC",
     "T:x|T:a'; DROP TABLE runs; --"},
    {true,
     "params.x = 'it\\'s \\\\ \\n'",
     {NULL},
     "",
     " AND (EXISTS (SELECT 1 FROM params x WHERE x.run_pk = r.run_pk AND "
     "x.key = ? AND x.value = ?))",
     "r.start_time DESC, r.run_id ASC",
     "T:x|T:it's \\ \\n"},
    {true,
     NULL,
     {"tags.`mlflow.runName` DESC", NULL},
     " LEFT JOIN tags o0 ON o0.run_pk = r.run_pk AND o0.key = ?",
     "",
     "(o0.value IS NULL), o0.value DESC, r.start_time DESC, r.run_id ASC",
     "T:mlflow.runName"},
    {true,
     NULL,
     {"params.lr asc", "metrics.\"my metric\" DESC", NULL},
     " LEFT JOIN params o0 ON o0.run_pk = r.run_pk AND o0.key = ? LEFT JOIN "
     "latest_metrics o1 ON o1.run_pk = r.run_pk AND o1.key = ?",
     "",
     "(o0.value IS NULL), o0.value ASC, (o1.run_pk IS NULL), o1.is_nan, "
     "o1.value DESC, r.start_time DESC, r.run_id ASC",
     "T:lr|T:my metric"},
    {true,
     NULL,
     {"start_time ASC", NULL},
     "",
     "",
     "r.start_time ASC, r.run_id ASC",
     ""},
    {true,
     NULL,
     {"end_time", "run_id DESC", NULL},
     "",
     "",
     "(r.end_time IS NULL), r.end_time ASC, r.run_id DESC, r.start_time DESC",
     ""},
    {true,
     NULL,
     {"attributes.created DESC", NULL},
     "",
     "",
     "r.start_time DESC, r.run_id ASC",
     ""},
    {true,
     "metrics.acc >= 0.1 AND metrics.acc < 0.9 AND metrics.loss = 2",
     {"metrics.acc", NULL},
     " JOIN latest_metrics o0 ON o0.run_pk = r.run_pk AND o0.key = ? AND "
     "o0.is_nan = 0",
     " AND (o0.value >= ?) AND (o0.value < ?) AND (EXISTS (SELECT 1 FROM "
     "latest_metrics m WHERE m.run_pk = r.run_pk AND m.key = ? AND m.is_nan "
     "= 0 AND m.value = ?))",
     "o0.value ASC, r.start_time DESC, r.run_id ASC",
     "T:acc|R:0.1|R:0.9|T:loss|R:2"},
    /* experiments */
    {false,
     NULL,
     {NULL},
     "",
     "",
     "e.creation_time DESC, e.experiment_id ASC",
     ""},
    {false,
     "name LIKE 'a%' AND attribute.creation_time > 5",
     {NULL},
     "",
     " AND (e.name LIKE ? ESCAPE '\\') AND (e.creation_time > ?)",
     "e.creation_time DESC, e.experiment_id ASC",
     "T:a%|I:5"},
    {false,
     "tags.team ilike 'ML' and last_update_time <= 2.5",
     {NULL},
     "",
     " AND (EXISTS (SELECT 1 FROM experiment_tags x WHERE x.experiment_id = "
     "e.experiment_id AND x.key = ? AND lower(x.value) LIKE lower(?) ESCAPE "
     "'\\')) AND "
     "(e.last_update_time <= ?)",
     "e.creation_time DESC, e.experiment_id ASC",
     "T:team|T:ML|R:2.5"},
    {false,
     NULL,
     {"name", "last_update_time DESC", NULL},
     "",
     "",
     "e.name ASC, e.last_update_time DESC, e.experiment_id DESC",
     ""},
    {false,
     NULL,
     {"experiment_id ASC", NULL},
     "",
     "",
     "e.experiment_id ASC",
     ""},
};

static void test_sql_cases(void)
{
    for (size_t i = 0; i < sizeof(sql_cases) / sizeof(sql_cases[0]); i++) {
        const struct sql_case *c = &sql_cases[i];
        struct search_sql q;
        struct errbuf eb;
        enum srv_err rc = build(c->runs, c->filter, c->order, &q, &eb);
        check_sql("case", i, c->filter, rc, &eb, &q, c->joins, c->where,
                  c->orderby, c->params);
    }
}

/*---- Error cases
 * ------------------------------------------------------------*/

struct err_case {
    bool runs;
    const char *filter;
    const char *order[MAXO];
    const char *msg_part; /* expected substring of the message, or NULL */
};

static const struct err_case err_cases[] = {
    {true,
     "metrics.acc > 0.5 OR metrics.acc < 0.1",
     {NULL},
     "Invalid clause(s)"},
    {true, "metrics.acc > 0.5; DROP TABLE runs", {NULL}, "Invalid clause(s)"},
    {true, "params.a = 'x'; DROP TABLE runs", {NULL}, "Invalid clause(s)"},
    {true, "(metrics.acc > 0.5)", {NULL}, "Invalid clause(s)"},
    {true,
     "metrics.acc > 0.5 AND (params.a = 'x')",
     {NULL},
     "Invalid clause(s)"},
    {true, "metrics.acc > 0.5 AND", {NULL}, "Invalid clause(s)"},
    {true, "AND metrics.acc > 0.5", {NULL}, NULL},
    {true, "metrics.acc > 0.5 AND AND metrics.b > 1", {NULL}, NULL},
    {true, "metrics.acc", {NULL}, "Invalid clause(s)"},
    {true, "metrics.acc >", {NULL}, "Invalid clause(s)"},
    {true, "metrics.acc <> 1", {NULL}, "Invalid comparator"},
    {true, "metrics.acc == 1", {NULL}, "Invalid comparator"},
    {true, "metrics.acc => 1", {NULL}, "Invalid comparator"},
    {true, "metrics.acc LIKE '1'", {NULL}, "Invalid comparator 'LIKE'"},
    {true, "metrics.acc IN ('1')", {NULL}, "Invalid comparator 'IN'"},
    {true, "metrics.acc = '1'", {NULL}, "Expected numeric value type"},
    {true, "metrics.acc = \"1\"", {NULL}, "Expected numeric value type"},
    {true, "metrics.acc = abc", {NULL}, "Expected numeric value type"},
    {true, "metrics.acc = 1.2.3", {NULL}, "Invalid clause(s)"},
    {true, "metrics.acc = 1e", {NULL}, "Invalid clause(s)"},
    {true, "metrics.acc = --1", {NULL}, "Invalid clause(s)"},
    {true, "metrics.acc = 0x10", {NULL}, "Invalid clause(s)"},
    {true, "metrics.acc = nan", {NULL}, "Expected numeric value type"},
    {true, "params.a > '1'", {NULL}, "Invalid comparator '>'"},
    {true, "params.a = 1", {NULL}, "not quoted"},
    {true, "params.a = abc", {NULL}, "not quoted"},
    {true, "params.a IN ('x')", {NULL}, "Invalid comparator 'IN'"},
    {true, "tags.a != b", {NULL}, "not quoted"},
    {true, "tags.a = 'unterminated", {NULL}, "unterminated"},
    {true, "tags.`a = 'x'", {NULL}, NULL},
    {true, "tags. = 'x'", {NULL}, NULL},
    {true, "tags.a-b = 'x'", {NULL}, "Invalid clause(s)"},
    {true, "foo.a = 'x'", {NULL}, "Invalid entity type 'foo'"},
    {true, "lifecycle_stage = 'active'", {NULL}, "Invalid attribute key"},
    {true, "experiment_id = '1'", {NULL}, "Invalid attribute key"},
    {true, "run_name IN ('a')", {NULL}, "Invalid comparator 'IN'"},
    {true, "run_id IN 'a'", {NULL}, "list"},
    {true, "run_id IN ()", {NULL}, "Invalid clause(s)"},
    {true, "run_id IN ('a',)", {NULL}, "Invalid clause(s)"},
    {true, "run_id IN ('a' 'b')", {NULL}, "Invalid clause(s)"},
    {true, "run_id IN (1, 2)", {NULL}, "Invalid clause(s)"},
    {true, "run_id = ('a')", {NULL}, "not quoted"},
    {true, "run_id NOT 'a'", {NULL}, "Invalid clause(s)"},
    {true, "run_id IS 'a'", {NULL}, "Invalid comparator"},
    {true, "start_time = '5'", {NULL}, "Expected numeric value type"},
    {true, "start_time LIKE '5'", {NULL}, "Invalid comparator"},
    {true, "status > 'A'", {NULL}, "Invalid comparator '>'"},
    {true, "datasets.name > 'a'", {NULL}, "Invalid comparator '>'"},
    {true, "datasets.foo = 'a'", {NULL}, "Invalid dataset key"},
    {true, "datasets.name IN 'a'", {NULL}, "list"},
    {true, "datasets.name = 3", {NULL}, "not quoted"},
    {true, "metrics.acc > 1 metrics.b > 2", {NULL}, "Invalid clause(s)"},
    {true, "metrics.acc > 1 && metrics.b > 2", {NULL}, "Invalid clause(s)"},
    {true, "NOT metrics.acc > 1", {NULL}, NULL},
    {true, "'x' = params.a", {NULL}, NULL},
    {true, "\"tags\".a = 'x'", {NULL}, "Invalid clause(s)"},
    {true, NULL, {"metrics.acc DESC extra", NULL}, "Could not be parsed"},
    {true, NULL, {"metrics.acc sideways", NULL}, "asc"},
    {true, NULL, {"", NULL}, "order_by"},
    {true, NULL, {"   ", NULL}, "order_by"},
    {true, NULL, {"datasets.name", NULL}, "entity"},
    {true, NULL, {"lifecycle_stage", NULL}, "Invalid order_by attribute"},
    {true, NULL, {"metrics.a", "metrics.a DESC", NULL}, "duplicate"},
    {true, NULL, {"start_time", "created DESC", NULL}, "duplicate"},
    {true, NULL, {"tags.x", "tags.`x`", NULL}, "duplicate"},
    {true, NULL, {"metrics.a,metrics.b", NULL}, NULL},
    {true, NULL, {"foo.bar", NULL}, "Invalid entity type"},
    /* experiments */
    {false, "metrics.acc > 1", {NULL}, "Invalid entity type"},
    {false, "params.a = 'x'", {NULL}, "Invalid entity type"},
    {false, "run_id = 'x'", {NULL}, "Invalid attribute key"},
    {false, "name > 'a'", {NULL}, "Invalid comparator"},
    {false, "name = a", {NULL}, "not quoted"},
    {false, "creation_time = 'a'", {NULL}, "Expected numeric"},
    {false, "tags.a > 'x'", {NULL}, "Invalid comparator"},
    {false, "name IN ('a')", {NULL}, "Invalid comparator"},
    {false, NULL, {"tags.a", NULL}, "entity"},
    {false, NULL, {"start_time", NULL}, "Invalid order_by attribute"},
    {false, NULL, {"name", "name DESC", NULL}, "duplicate"},
    {false, NULL, {"name up", NULL}, "asc"},
};

static void test_err_cases(void)
{
    for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
        const struct err_case *c = &err_cases[i];
        struct search_sql q;
        struct errbuf eb;
        enum srv_err rc = build(c->runs, c->filter, c->order, &q, &eb);
        check_err("err case", i, c->filter ? c->filter : c->order[0], rc, &eb,
                  &q, c->msg_part);
    }
}

static void test_limits(void)
{
    struct strbuf sb;
    struct search_sql q;
    struct errbuf eb;

    /* 100 clauses are fine, 101 are not. */
    strbuf_init(&sb);
    for (int i = 0; i < 100; i++)
        strbuf_printf(&sb, "%smetrics.m%d > %d", i ? " AND " : "", i, i);
    CHECK_EQ_INT(build(true, sb.buf, NULL, &q, &eb), SRV_OK);
    CHECK_EQ_INT(q.where.nparams, 200);
    search_sql_cleanup(&q);
    strbuf_append_str(&sb, " AND metrics.x > 1");
    CHECK_EQ_INT(build(true, sb.buf, NULL, &q, &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    CHECK(strstr(eb.msg, "Too many clauses") != NULL);
    search_sql_cleanup(&q);

    /* 1000 IN items are fine, 1001 are not. */
    strbuf_reset(&sb);
    strbuf_append_str(&sb, "run_id IN (");
    for (int i = 0; i < 1000; i++)
        strbuf_printf(&sb, "%s'r%d'", i ? "," : "", i);
    strbuf_append_str(&sb, ")");
    CHECK_EQ_INT(build(true, sb.buf, NULL, &q, &eb), SRV_OK);
    CHECK_EQ_INT(q.where.nparams, 1000);
    search_sql_cleanup(&q);
    sb.len--; /* drop ')' */
    strbuf_append_str(&sb, ",'x')");
    CHECK_EQ_INT(build(true, sb.buf, NULL, &q, &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    CHECK(strstr(eb.msg, "IN list") != NULL);
    search_sql_cleanup(&q);

    /* Over 64 KiB is rejected before any parsing. */
    strbuf_reset(&sb);
    strbuf_append_str(&sb, "params.a = '");
    for (int i = 0; i < 70000; i++)
        strbuf_append_char(&sb, 'x');
    strbuf_append_str(&sb, "'");
    CHECK_EQ_INT(build(true, sb.buf, NULL, &q, &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    CHECK(strstr(eb.msg, "too long") != NULL);
    search_sql_cleanup(&q);
    CHECK_EQ_INT(build(false, sb.buf, NULL, &q, &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    search_sql_cleanup(&q);

    /* A long but legal value is fine. */
    strbuf_reset(&sb);
    strbuf_append_str(&sb, "params.a = '");
    for (int i = 0; i < 60000; i++)
        strbuf_append_char(&sb, 'x');
    strbuf_append_str(&sb, "'");
    CHECK_EQ_INT(build(true, sb.buf, NULL, &q, &eb), SRV_OK);
    CHECK_EQ_INT(strlen(q.where.params[1].text), 60000);
    search_sql_cleanup(&q);

    /* Too many order_by entries. */
    const char *many[101];
    for (int i = 0; i < 101; i++)
        many[i] = "run_id";
    search_sql_init(&q);
    CHECK_EQ_INT(filter_build_runs(NULL, many, 101, &q, &eb),
                 SRV_E_INVALID_PARAMETER_VALUE);
    search_sql_cleanup(&q);
    /* A NULL entry is an error, not a crash; eb may be NULL. */
    const char *nul[1] = {NULL};
    search_sql_init(&q);
    CHECK_EQ_INT(filter_build_runs(NULL, nul, 1, &q, NULL),
                 SRV_E_INVALID_PARAMETER_VALUE);
    search_sql_cleanup(&q);
    search_sql_init(&q);
    CHECK_EQ_INT(filter_build_runs("bad filter", NULL, 0, &q, NULL),
                 SRV_E_INVALID_PARAMETER_VALUE);
    search_sql_cleanup(&q);
    /* Reuse after cleanup. */
    CHECK_EQ_INT(build(true, "run_id = 'a'", NULL, &q, &eb), SRV_OK);
    search_sql_cleanup(&q);
    search_sql_cleanup(&q);
    strbuf_cleanup(&sb);
}

/*---- Semantics against SQLite
 * ------------------------------------------------*/

static char *read_file_any(const char *name)
{
    static const char *const dirs[] = {"", "../", "../../"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        char path[256];
        snprintf(path, sizeof(path), "%s%s", dirs[i], name);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        struct strbuf sb;
        strbuf_init(&sb);
        char chunk[4096];
        size_t n;
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
            strbuf_append(&sb, chunk, n);
        fclose(f);
        return strbuf_detach(&sb, NULL);
    }
    return NULL;
}

static const char seed_sql[] =
    "PRAGMA case_sensitive_like=ON;"
    "INSERT INTO experiments VALUES (1,'Default','a','active',10,10),"
    " (2,'proj-a','a','active',20,30), (3,'Proj-B','a','active',20,5);"
    "INSERT INTO experiment_tags VALUES (2,'team','ml'), (3,'team','ML');"
    "INSERT INTO runs (run_pk, run_id, experiment_id, run_name, user_id,"
    " status, start_time, end_time, artifact_uri) VALUES"
    " (1,'aaa1',1,'Alpha','u1','FINISHED',100,200,'s3://x/1'),"
    " (2,'bbb2',1,'beta','U2','RUNNING',200,NULL,'file:/2'),"
    " (3,'ccc3',1,'gamma','u3','FAILED',300,400,'S3://x/3'),"
    " (4,'ddd4',1,'delta','u4','RUNNING',150,NULL,'file:/4'),"
    " (5,'eee5',2,'other','u5','FINISHED',500,600,'file:/5');"
    "INSERT INTO latest_metrics VALUES (1,'acc',0.9,1,0,0),"
    " (2,'acc',0,1,0,1), (3,'acc',0.4,1,0,0), (5,'acc',1.0,1,0,0),"
    " (1,'my loss',-2,1,0,0);"
    "INSERT INTO params VALUES (1,'lr','0.1'), (2,'lr','0.01'),"
    " (1,'model','ResNet'), (2,'model','resnet'), (3,'model','VGG');"
    "INSERT INTO tags VALUES (1,'mlflow.runName','Alpha'),"
    " (3,'team','b'), (4,'team','a');"
    "INSERT INTO datasets VALUES (1,1,'train','abc','local','s',NULL,NULL),"
    " (2,1,'eval','def','local','s',NULL,NULL);"
    "INSERT INTO run_inputs VALUES (1,1,0), (1,2,1), (2,2,0);"
    "INSERT INTO input_tags VALUES (1,1,'mlflow.data.context','training'),"
    " (1,2,'mlflow.data.context','eval'), (2,2,'mlflow.data.context','eval');";

static void bind_value(sqlite3_stmt *st, int idx, const struct sqlv *v)
{
    if (v->type == SQLV_TEXT)
        sqlite3_bind_text(st, idx, v->text, -1, SQLITE_TRANSIENT);
    else if (v->type == SQLV_INT)
        sqlite3_bind_int64(st, idx, v->i);
    else
        sqlite3_bind_double(st, idx, v->d);
}

static int bind_frag(sqlite3_stmt *st, int idx, const struct sql_frag *f)
{
    for (size_t i = 0; i < f->nparams; i++, idx++)
        bind_value(st, idx, &f->params[i]);
    return idx;
}

/* An in-memory database made by schema file 'schema' (found from the
 * repository root or a build folder below it), then 'seed'; NULL after a
 * failed check. */
static sqlite3 *open_db(const char *schema, const char *seed)
{
    char *sql = read_file_any(schema);
    CHECK(sql != NULL);
    if (!sql) {
        fprintf(stderr, "%s not found; run from the repository root\n", schema);
        return NULL;
    }
    sqlite3 *db = NULL;
    CHECK_EQ_INT(sqlite3_open(":memory:", &db), SQLITE_OK);
    char *errmsg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &errmsg);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, seed, NULL, NULL, &errmsg);
    if (rc != SQLITE_OK)
        fprintf(stderr, "setup of %s: %s\n", schema, errmsg ? errmsg : "?");
    sqlite3_free(errmsg);
    CHECK_EQ_INT(rc, SQLITE_OK);
    free(sql);
    if (rc != SQLITE_OK) {
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

/* Runs a compiled search (built with result 'built', 'eb'), as
 * "<select><joins><base><where> ORDER BY <order>", with its parameters
 * bound (joins, then 'mid' when not NULL, where, order); returns the first
 * column of the rows joined by ',' (caller frees), or NULL when building
 * or running failed. Cleans 'q' up. */
static char *rows_of(sqlite3 *db, enum srv_err built, const struct errbuf *eb,
                     const char *filter, struct search_sql *q,
                     const char *select, const char *base,
                     const struct sqlv *mid)
{
    if (built != SRV_OK) {
        fprintf(stderr, "build failed for '%s': %s\n", filter, eb->msg);
        search_sql_cleanup(q);
        return NULL;
    }
    struct strbuf sql;
    strbuf_init(&sql);
    strbuf_printf(&sql, "%s%s%s%s ORDER BY %s", select, q->joins.sql.buf, base,
                  q->where.sql.buf, q->order.sql.buf);
    sqlite3_stmt *st = NULL;
    char *res = NULL;
    if (sqlite3_prepare_v2(db, sql.buf, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "prepare failed: %s\n%s\n", sqlite3_errmsg(db),
                sql.buf);
        goto out;
    }
    int idx = bind_frag(st, 1, &q->joins);
    if (mid)
        bind_value(st, idx++, mid);
    idx = bind_frag(st, idx, &q->where);
    idx = bind_frag(st, idx, &q->order);
    CHECK_EQ_INT(idx - 1, sqlite3_bind_parameter_count(st));
    struct strbuf ids;
    strbuf_init(&ids);
    strbuf_append(&ids, "", 0);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (ids.len)
            strbuf_append_char(&ids, ',');
        strbuf_append_str(&ids, (const char *)sqlite3_column_text(st, 0));
    }
    if (step != SQLITE_DONE) {
        fprintf(stderr, "step failed: %s\n", sqlite3_errmsg(db));
        strbuf_cleanup(&ids);
        goto out;
    }
    res = strbuf_detach(&ids, NULL);
out:
    sqlite3_finalize(st);
    strbuf_cleanup(&sql);
    search_sql_cleanup(q);
    return res;
}

/* Runs the compiled query and returns the ids joined by ',' (caller frees),
 * or NULL when building or executing failed. */
static char *query_ids(sqlite3 *db, bool runs, const char *filter,
                       const char *const *order)
{
    struct search_sql q;
    struct errbuf eb;
    enum srv_err rc = build(runs, filter, order, &q, &eb);
    const struct sqlv mid =
        runs ? (struct sqlv){.type = SQLV_INT, .i = 1}
             : (struct sqlv){.type = SQLV_TEXT, .text = (char *)"active"};
    return runs ? rows_of(db, rc, &eb, filter, &q,
                          "SELECT r.run_id FROM runs AS r",
                          " WHERE r.experiment_id = ?", &mid)
                : rows_of(db, rc, &eb, filter, &q,
                          "SELECT e.experiment_id FROM experiments AS e",
                          " WHERE e.lifecycle_stage = ?", &mid);
}

struct sem_case {
    bool runs;
    const char *filter;
    const char *order[MAXO];
    const char *ids;
};

static const struct sem_case sem_cases[] = {
    {true, "", {NULL}, "ccc3,bbb2,ddd4,aaa1"},
    {true, "metrics.acc > 0.5", {NULL}, "aaa1"},
    {true, "metrics.acc >= 0", {NULL}, "ccc3,aaa1"},
    {true, "metrics.acc = 0", {NULL}, ""},
    {true, "metrics.acc != 0.9", {NULL}, "ccc3,bbb2"},
    {true, "metrics.acc = 0.4", {NULL}, "ccc3"},
    {true, "metrics.`my loss` < -1", {NULL}, "aaa1"},
    {true, "metrics.nope > -1e300", {NULL}, ""},
    {true, NULL, {"metrics.acc DESC", NULL}, "aaa1,ccc3,bbb2,ddd4"},
    {true, NULL, {"metrics.acc", NULL}, "ccc3,aaa1,bbb2,ddd4"},
    {true, "metrics.acc > -1", {"metrics.acc DESC", NULL}, "aaa1,ccc3"},
    {true, "metrics.acc >= 0", {"metrics.acc ASC", NULL}, "ccc3,aaa1"},
    {true, "metrics.acc != 0.4", {"metrics.acc ASC", NULL}, "aaa1,bbb2"},
    {true, "params.model LIKE 'Res%'", {NULL}, "aaa1"},
    {true, "params.model LIKE 'res%'", {NULL}, "bbb2"},
    {true, "params.model ILIKE 'RES%'", {NULL}, "bbb2,aaa1"},
    {true, "params.model = 'resnet'", {NULL}, "bbb2"},
    {true, "params.model != 'ResNet'", {NULL}, "ccc3,bbb2"},
    {true, "params.lr = '0.1'", {NULL}, "aaa1"},
    {true, "params.lr != '0.1'", {NULL}, "bbb2"},
    {true, NULL, {"params.lr DESC", NULL}, "aaa1,bbb2,ccc3,ddd4"},
    {true, NULL, {"params.lr ASC", NULL}, "bbb2,aaa1,ccc3,ddd4"},
    {true, NULL, {"tags.team", NULL}, "ddd4,ccc3,bbb2,aaa1"},
    {true, NULL, {"tags.team DESC", NULL}, "ccc3,ddd4,bbb2,aaa1"},
    {true, "tags.team != 'a'", {NULL}, "ccc3"},
    {true, "tags.`mlflow.runName` = 'Alpha'", {NULL}, "aaa1"},
    {true, "run_id IN ('aaa1', 'CCC3', 'ccc3')", {NULL}, "ccc3,aaa1"},
    {true, "run_id IN ('AAA1')", {NULL}, ""},
    {true, "run_id NOT IN ('AAA1')", {NULL}, "ccc3,bbb2,ddd4,aaa1"},
    {true, "run_id NOT IN ('aaa1', 'ddd4')", {NULL}, "ccc3,bbb2"},
    {true, "run_name LIKE 'a%'", {NULL}, ""},
    {true, "run_name ILIKE 'a%'", {NULL}, "aaa1"},
    {true, "\"Run Name\" = 'beta'", {NULL}, "bbb2"},
    {true, "run_name = 'ALPHA'", {NULL}, ""},
    {true, "status = 'RUNNING'", {NULL}, "bbb2,ddd4"},
    {true, "artifact_uri LIKE 's3%'", {NULL}, "aaa1"},
    {true, "artifact_uri ILIKE 's3%'", {NULL}, "ccc3,aaa1"},
    {true, "user_id = 'u2'", {NULL}, ""},
    {true, "end_time > 100", {NULL}, "ccc3,aaa1"},
    {true, "end_time != 200", {NULL}, "ccc3"},
    {true, "created > 150", {NULL}, "ccc3,bbb2"},
    {true, "start_time >= 150 AND start_time < 300", {NULL}, "bbb2,ddd4"},
    {true, "start_time = 100.0", {NULL}, "aaa1"},
    {true, NULL, {"end_time DESC", NULL}, "ccc3,aaa1,bbb2,ddd4"},
    {true, NULL, {"end_time", NULL}, "aaa1,ccc3,bbb2,ddd4"},
    {true, NULL, {"start_time ASC", NULL}, "aaa1,ddd4,bbb2,ccc3"},
    {true, NULL, {"user_id", NULL}, "bbb2,aaa1,ccc3,ddd4"},
    {true, NULL, {"status", "run_id DESC", NULL}, "ccc3,aaa1,ddd4,bbb2"},
    {true, "datasets.name = 'eval'", {NULL}, "bbb2,aaa1"},
    {true, "datasets.name IN ('train')", {NULL}, "aaa1"},
    {true, "datasets.digest NOT IN ('abc')", {NULL}, "bbb2,aaa1"},
    {true, "datasets.digest != 'def'", {NULL}, "aaa1"},
    {true, "datasets.context = 'training'", {NULL}, "aaa1"},
    {true, "datasets.context LIKE 'ev%'", {NULL}, "bbb2,aaa1"},
    {true, "datasets.name ILIKE 'TR%'", {NULL}, "aaa1"},
    {true,
     "metrics.acc > 0.1 AND params.model ILIKE 'res%' AND status = "
     "'FINISHED'",
     {NULL},
     "aaa1"},
    {true, "params.x = 'a''; DROP TABLE runs; --'", {NULL}, ""},
    /* experiments */
    {false, "", {NULL}, "2,3,1"},
    {false, NULL, {"name", NULL}, "1,3,2"},
    {false, NULL, {"creation_time ASC", NULL}, "1,3,2"},
    {false, NULL, {"last_update_time DESC", NULL}, "2,1,3"},
    {false, "name LIKE 'proj%'", {NULL}, "2"},
    {false, "name ILIKE 'proj%'", {NULL}, "2,3"},
    {false, "attribute.name = 'Default'", {NULL}, "1"},
    {false, "name != 'Default'", {NULL}, "2,3"},
    {false, "tags.team = 'ml'", {NULL}, "2"},
    {false, "tags.team ILIKE 'ml'", {NULL}, "2,3"},
    {false, "tags.team != 'ml'", {NULL}, "3"},
    {false, "creation_time > 15", {NULL}, "2,3"},
    {false, "last_update_time <= 10", {NULL}, "3,1"},
};

static void test_semantics(void)
{
    sqlite3 *db = open_db("schema/sqlite/001_tracking.sql", seed_sql);
    if (!db)
        return;
    for (size_t i = 0; i < sizeof(sem_cases) / sizeof(sem_cases[0]); i++) {
        const struct sem_case *c = &sem_cases[i];
        char *ids = query_ids(db, c->runs, c->filter, c->order);
        if (!ids || strcmp(ids, c->ids) != 0)
            fprintf(stderr, "semantic case %zu ('%s' / '%s')\n", i,
                    c->filter ? c->filter : "", c->order[0] ? c->order[0] : "");
        CHECK_EQ_STR(ids, c->ids);
        free(ids);
    }
    /* The injection attempt left the table alone. */
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(db, "SELECT count(*) FROM runs", -1, &st, NULL);
    CHECK_EQ_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_EQ_INT(sqlite3_column_int(st, 0), 5);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/*---- The Model Registry's grammar
 * -------------------------------------------*/

enum reg_kind { REG_MODELS, REG_VERSIONS };

static enum srv_err build_reg(enum reg_kind kind, const char *filter,
                              const char *const *order, struct search_sql *q,
                              struct errbuf *eb)
{
    size_t n = order ? count_orders(order) : 0;
    search_sql_init(q);
    eb->msg[0] = '\0';
    return kind == REG_MODELS
               ? filter_build_registered_models(filter, order, n, q, eb)
               : filter_build_model_versions(filter, order, n, q, eb);
}

struct reg_sql_case {
    enum reg_kind kind;
    const char *filter;
    const char *order[MAXO];
    const char *where;
    const char *orderby;
    const char *params;
};

static const struct reg_sql_case reg_sql_cases[] = {
    {REG_MODELS, NULL, {NULL}, "", "m.name ASC", ""},
    {REG_MODELS,
     "name = 'a'",
     {NULL},
     " AND (m.name = ?)",
     "m.name ASC",
     "T:a"},
    {REG_MODELS,
     "attribute.name != \"a\"",
     {NULL},
     " AND (m.name != ?)",
     "m.name ASC",
     "T:a"},
    {REG_MODELS,
     "name ILIKE 'A%'",
     {NULL},
     " AND (lower(m.name) LIKE lower(?) ESCAPE '\\')",
     "m.name ASC",
     "T:A%"},
    {REG_MODELS,
     "tags.k LIKE 'x%'",
     {NULL},
     " AND (EXISTS (SELECT 1 FROM registered_model_tags x WHERE x.model_pk = "
     "m.model_pk AND x.key = ? AND x.value LIKE ? ESCAPE '\\'))",
     "m.name ASC",
     "T:k|T:x%"},
    {REG_MODELS,
     "tag.`a.b` = 'v' and name LIKE 'm%'",
     {NULL},
     " AND (EXISTS (SELECT 1 FROM registered_model_tags x WHERE x.model_pk = "
     "m.model_pk AND x.key = ? AND x.value = ?)) AND (m.name LIKE ? ESCAPE "
     "'\\')",
     "m.name ASC",
     "T:a.b|T:v|T:m%"},
    {REG_MODELS,
     NULL,
     {"last_updated_timestamp DESC", NULL},
     "",
     "m.last_updated_timestamp DESC, m.name ASC",
     ""},
    {REG_MODELS,
     NULL,
     {"timestamp", "name DESC", NULL},
     "",
     "m.last_updated_timestamp ASC, m.name DESC",
     ""},
    {REG_MODELS, NULL, {"name desc", NULL}, "", "m.name DESC", ""},
    {REG_VERSIONS,
     NULL,
     {NULL},
     "",
     "v.last_updated_timestamp DESC, m.name ASC, v.version DESC",
     ""},
    {REG_VERSIONS,
     "version_number >= 2",
     {NULL},
     " AND (v.version >= ?)",
     "v.last_updated_timestamp DESC, m.name ASC, v.version DESC",
     "I:2"},
    {REG_VERSIONS,
     "version_number = 1.5",
     {NULL},
     " AND (v.version = ?)",
     "v.last_updated_timestamp DESC, m.name ASC, v.version DESC",
     "R:1.5"},
    {REG_VERSIONS,
     "run_id IN ('a', 'B', \"c\")",
     {NULL},
     " AND (v.run_id IN (?, ?))",
     "v.last_updated_timestamp DESC, m.name ASC, v.version DESC",
     "T:a|T:c"},
    {REG_VERSIONS,
     "run_id IN ('B')",
     {NULL},
     " AND (FALSE)",
     "v.last_updated_timestamp DESC, m.name ASC, v.version DESC",
     ""},
    {REG_VERSIONS,
     "source_path != 's3://x' AND run_id = 'r'",
     {NULL},
     " AND (v.source != ?) AND (v.run_id = ?)",
     "v.last_updated_timestamp DESC, m.name ASC, v.version DESC",
     "T:s3://x|T:r"},
    {REG_VERSIONS,
     "tags.k = 'v' AND name = 'm'",
     {NULL},
     " AND (EXISTS (SELECT 1 FROM model_version_tags x WHERE x.model_pk = "
     "v.model_pk AND x.version = v.version AND x.key = ? AND x.value = ?)) "
     "AND (m.name = ?)",
     "v.last_updated_timestamp DESC, m.name ASC, v.version DESC",
     "T:k|T:v|T:m"},
    {REG_VERSIONS,
     NULL,
     {"version_number", NULL},
     "",
     "v.version ASC, m.name ASC",
     ""},
    {REG_VERSIONS,
     NULL,
     {"name DESC", NULL},
     "",
     "m.name DESC, v.version DESC",
     ""},
    {REG_VERSIONS,
     NULL,
     {"creation_timestamp DESC", NULL},
     "",
     "v.creation_timestamp DESC, m.name ASC, v.version DESC",
     ""},
    {REG_VERSIONS,
     NULL,
     {"last_updated_timestamp", "version_number DESC", "name", NULL},
     "",
     "v.last_updated_timestamp ASC, v.version DESC, m.name ASC",
     ""},
};

static void test_reg_sql_cases(void)
{
    for (size_t i = 0; i < sizeof(reg_sql_cases) / sizeof(reg_sql_cases[0]);
         i++) {
        const struct reg_sql_case *c = &reg_sql_cases[i];
        struct search_sql q;
        struct errbuf eb;
        enum srv_err rc = build_reg(c->kind, c->filter, c->order, &q, &eb);
        check_sql("registry case", i, c->filter, rc, &eb, &q, "", c->where,
                  c->orderby, c->params);
    }
}

struct reg_err_case {
    enum reg_kind kind;
    const char *filter;
    const char *order[MAXO];
    const char *msg_part;
};

static const struct reg_err_case reg_err_cases[] = {
    {REG_MODELS, "run_id = 'a'", {NULL}, "Invalid attribute key 'run_id'"},
    {REG_MODELS, "creation_timestamp = 1", {NULL}, "Invalid attribute key"},
    {REG_MODELS, "metrics.a > 1", {NULL}, "Invalid entity type 'metrics'"},
    {REG_MODELS, "params.a = 'x'", {NULL}, "Invalid entity type"},
    {REG_MODELS, "attr.name = 'a'", {NULL}, "Invalid entity type 'attr'"},
    {REG_MODELS, "attributes.name = 'a'", {NULL}, "Invalid entity type"},
    {REG_MODELS, "foo.name = 'a'", {NULL}, "Invalid entity type"},
    {REG_MODELS, "name IN ('a')", {NULL}, "Invalid comparator 'IN'"},
    {REG_MODELS, "name NOT IN ('a')", {NULL}, "Invalid comparator"},
    {REG_MODELS, "name > 'a'", {NULL}, "Invalid comparator '>'"},
    {REG_MODELS, "name = a", {NULL}, "not quoted"},
    {REG_MODELS, "name = 1", {NULL}, "not quoted"},
    {REG_MODELS, "tags.a < 'x'", {NULL}, "Invalid comparator"},
    {REG_MODELS, "tags.a = x", {NULL}, "not quoted"},
    {REG_MODELS, "name = 'a' OR name = 'b'", {NULL}, "Invalid clause(s)"},
    {REG_MODELS, "name = 'a'; DROP TABLE x", {NULL}, "Invalid clause(s)"},
    {REG_MODELS, NULL, {"creation_timestamp", NULL}, "Invalid order by key"},
    {REG_MODELS, NULL, {"tags.a", NULL}, "Invalid order by key"},
    {REG_MODELS, NULL, {"attribute.name", NULL}, "Invalid order by key"},
    {REG_MODELS, NULL, {"version_number", NULL}, "Invalid order by key"},
    {REG_MODELS, NULL, {"name", "name DESC", NULL}, "duplicate"},
    {REG_MODELS,
     NULL,
     {"timestamp", "last_updated_timestamp", NULL},
     "duplicate"},
    {REG_MODELS, NULL, {"name up", NULL}, "asc"},
    {REG_MODELS, NULL, {"", NULL}, "order_by"},
    {REG_VERSIONS, "version_number = '1'", {NULL}, "Expected numeric"},
    {REG_VERSIONS, "version_number = v1", {NULL}, "Expected numeric"},
    {REG_VERSIONS, "version_number LIKE '1'", {NULL}, "Invalid comparator"},
    {REG_VERSIONS, "run_id NOT IN ('a')", {NULL}, "Invalid comparator"},
    {REG_VERSIONS, "run_id IN 'a'", {NULL}, "list"},
    {REG_VERSIONS, "run_id IN ()", {NULL}, "Invalid clause(s)"},
    {REG_VERSIONS, "run_id > 'a'", {NULL}, "Invalid comparator"},
    {REG_VERSIONS, "source_path IN ('a')", {NULL}, "Invalid comparator"},
    {REG_VERSIONS, "name IN ('a')", {NULL}, "Invalid comparator"},
    {REG_VERSIONS, "current_stage = 'None'", {NULL}, "Invalid attribute key"},
    {REG_VERSIONS, "creation_timestamp > 1", {NULL}, "Invalid attribute key"},
    {REG_VERSIONS, "source = 'x'", {NULL}, "Invalid attribute key"},
    {REG_VERSIONS, "metric.x > 1", {NULL}, "Invalid entity type"},
    {REG_VERSIONS, "datasets.name = 'x'", {NULL}, "Invalid entity type"},
    {REG_VERSIONS, NULL, {"timestamp", NULL}, "Invalid order by key"},
    {REG_VERSIONS, NULL, {"current_stage", NULL}, "Invalid order by key"},
    {REG_VERSIONS,
     NULL,
     {"version_number", "version_number DESC", NULL},
     "duplicate"},
    {REG_VERSIONS, NULL, {"name DESC extra", NULL}, "Could not be parsed"},
};

static void test_reg_err_cases(void)
{
    for (size_t i = 0; i < sizeof(reg_err_cases) / sizeof(reg_err_cases[0]);
         i++) {
        const struct reg_err_case *c = &reg_err_cases[i];
        struct search_sql q;
        struct errbuf eb;
        enum srv_err rc = build_reg(c->kind, c->filter, c->order, &q, &eb);
        check_err("registry err case", i, c->filter ? c->filter : c->order[0],
                  rc, &eb, &q, c->msg_part);
    }
}

static const char reg_seed_sql[] =
    "PRAGMA case_sensitive_like=ON;"
    "INSERT INTO registered_models VALUES (1,'alpha',1,50,''),"
    " (2,'Beta',2,40,''), (3,'gamma',3,40,'');"
    "INSERT INTO registered_model_tags VALUES (1,'team','ml'),"
    " (2,'team','ML'), (3,'env','x');"
    "INSERT INTO model_versions VALUES"
    " (1,1,10,10,NULL,'None','s3://a/1','r1','','READY',NULL),"
    " (1,2,20,30,NULL,'Production','s3://a/2','r2','','READY',NULL),"
    " (1,3,25,35,NULL,'Deleted_Internal','REDACTED','r1','','READY',NULL),"
    " (2,1,15,30,NULL,'None','gs://b/1','R3','','READY',NULL),"
    " (3,1,5,5,NULL,'None','gs://c/1','r1','','READY',NULL);"
    "INSERT INTO model_version_tags VALUES (1,2,'k','v'), (3,1,'k','w');";

/* The compiled registry query's rows: model names, or name/version. */
static char *reg_query(sqlite3 *db, enum reg_kind kind, const char *filter,
                       const char *const *order)
{
    struct search_sql q;
    struct errbuf eb;
    enum srv_err rc = build_reg(kind, filter, order, &q, &eb);
    if (kind == REG_MODELS)
        return rows_of(db, rc, &eb, filter, &q,
                       "SELECT m.name FROM registered_models AS m", " WHERE 1",
                       NULL);
    return rows_of(db, rc, &eb, filter, &q,
                   "SELECT m.name || '/' || v.version FROM model_versions "
                   "AS v JOIN registered_models AS m ON m.model_pk = "
                   "v.model_pk",
                   " WHERE v.current_stage != 'Deleted_Internal'", NULL);
}

static const struct {
    enum reg_kind kind;
    const char *filter;
    const char *order[MAXO];
    const char *rows;
} reg_sem_cases[] = {
    {REG_MODELS, NULL, {NULL}, "Beta,alpha,gamma"},
    {REG_MODELS,
     NULL,
     {"last_updated_timestamp DESC", NULL},
     "alpha,Beta,gamma"},
    {REG_MODELS, NULL, {"timestamp", "name DESC", NULL}, "gamma,Beta,alpha"},
    {REG_MODELS, "tags.team = 'ml'", {NULL}, "alpha"},
    {REG_MODELS, "tags.team ILIKE 'ml'", {NULL}, "Beta,alpha"},
    {REG_MODELS, "tags.team != 'ml'", {NULL}, "Beta"},
    {REG_MODELS, "name != 'alpha'", {NULL}, "Beta,gamma"},
    {REG_MODELS, "name LIKE 'b%'", {NULL}, ""},
    {REG_MODELS, "name ILIKE 'b%'", {NULL}, "Beta"},
    {REG_MODELS, "name LIKE '%a' AND tags.env = 'x'", {NULL}, "gamma"},
    {REG_MODELS, "name = 'x''; DROP TABLE registered_models; --'", {NULL}, ""},
    {REG_VERSIONS, NULL, {NULL}, "Beta/1,alpha/2,alpha/1,gamma/1"},
    {REG_VERSIONS, "run_id = 'r1'", {NULL}, "alpha/1,gamma/1"},
    {REG_VERSIONS, "run_id IN ('r1', 'R3')", {NULL}, "alpha/1,gamma/1"},
    {REG_VERSIONS, "run_id IN ('R3')", {NULL}, ""},
    {REG_VERSIONS, "run_id = 'R3'", {NULL}, "Beta/1"},
    {REG_VERSIONS, "version_number > 1", {NULL}, "alpha/2"},
    {REG_VERSIONS, "version_number <= 1.5", {NULL}, "Beta/1,alpha/1,gamma/1"},
    {REG_VERSIONS, "name ILIKE 'b%'", {NULL}, "Beta/1"},
    {REG_VERSIONS, "name LIKE 'b%'", {NULL}, ""},
    {REG_VERSIONS, "tags.k != 'v'", {NULL}, "gamma/1"},
    {REG_VERSIONS, "source_path LIKE 'gs://%'", {NULL}, "Beta/1,gamma/1"},
    {REG_VERSIONS, "source_path = 'REDACTED'", {NULL}, ""},
    {REG_VERSIONS,
     NULL,
     {"version_number DESC", NULL},
     "alpha/2,Beta/1,alpha/1,gamma/1"},
    {REG_VERSIONS,
     NULL,
     {"creation_timestamp", NULL},
     "gamma/1,alpha/1,Beta/1,alpha/2"},
    {REG_VERSIONS, NULL, {"name", NULL}, "Beta/1,alpha/2,alpha/1,gamma/1"},
};

static void test_reg_semantics(void)
{
    sqlite3 *db = open_db("schema/sqlite/005_registry.sql", reg_seed_sql);
    if (!db)
        return;
    for (size_t i = 0; i < sizeof(reg_sem_cases) / sizeof(reg_sem_cases[0]);
         i++) {
        char *rows = reg_query(db, reg_sem_cases[i].kind,
                               reg_sem_cases[i].filter, reg_sem_cases[i].order);
        if (!rows || strcmp(rows, reg_sem_cases[i].rows) != 0)
            fprintf(stderr, "registry semantic case %zu\n", i);
        CHECK_EQ_STR(rows, reg_sem_cases[i].rows);
        free(rows);
    }
    sqlite3_close(db);
}

int main(void)
{
    test_sql_cases();
    test_err_cases();
    test_limits();
    test_semantics();
    test_reg_sql_cases();
    test_reg_err_cases();
    test_reg_semantics();
    TEST_MAIN_END("test_filter");
}
