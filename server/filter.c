/* SPDX-License-Identifier: MIT
 *
 * filter: a hand-written scanner for MLflow's search grammar (spec section 6)
 * that compiles runs/search and experiments/search filters and order_by lists
 * into parameterised SQL fragments (see filter.h). Parsing is a single
 * left-to-right pass with no recursion; every key and value is copied into
 * the fragment's bound parameters, never into SQL text. Input size, clause
 * count and IN-list length are capped so the work is bounded.
 */
#include "filter.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILTER_LEN (64 * 1024)
#define MAX_CLAUSES 100
#define MAX_IN_ITEMS 1000
#define MAX_ORDER 100
/* Each metric, param or tag in a runs/search order_by is one more table in
 * the query's join (SQLite allows 64) and two or three ORDER BY terms
 * (missing last, NaN last, the value). SQLite 3.40 crashes on a query
 * with more than 64 ORDER BY terms, so 16 keys (at most 48 terms) leave
 * room for every attribute and the tie-breaks. */
#define MAX_ORDER_JOINS 16
#define MAX_ORDER_LEN (64 * 1024)

/*---- Fragments ----------------------------------------------------------*/

static void frag_init(struct sql_frag *f)
{
    strbuf_init(&f->sql);
    f->params = NULL;
    f->nparams = 0;
    f->cap = 0;
}

static void frag_cleanup(struct sql_frag *f)
{
    for (size_t i = 0; i < f->nparams; i++)
        free(f->params[i].text);
    free(f->params);
    strbuf_cleanup(&f->sql);
    frag_init(f);
}

void search_sql_init(struct search_sql *q)
{
    frag_init(&q->joins);
    frag_init(&q->where);
    frag_init(&q->order);
    q->one_experiment = -1;
}

void search_sql_cleanup(struct search_sql *q)
{
    frag_cleanup(&q->joins);
    frag_cleanup(&q->where);
    frag_cleanup(&q->order);
}

/* Reserves one more parameter slot; on failure marks the fragment's SQL
 * buffer failed (sql.oom), which the builders report as SRV_E_NOMEM. */
static struct sqlv *frag_slot(struct sql_frag *f)
{
    if (f->sql.oom)
        return NULL;
    if (f->nparams == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        struct sqlv *p = realloc(f->params, cap * sizeof(*p));
        if (!p) {
            f->sql.oom = true;
            return NULL;
        }
        f->params = p;
        f->cap = cap;
    }
    struct sqlv *v = &f->params[f->nparams++];
    v->type = SQLV_INT;
    v->text = NULL;
    v->i = 0;
    v->d = 0;
    return v;
}

/* Binds 'copy' (a heap string, or NULL when its malloc failed), which the
 * fragment takes. */
static void frag_take_text(struct sql_frag *f, char *copy)
{
    if (!copy) {
        f->sql.oom = true;
        return;
    }
    struct sqlv *v = frag_slot(f);
    if (!v) {
        free(copy);
        return;
    }
    v->type = SQLV_TEXT;
    v->text = copy;
}

static void frag_text(struct sql_frag *f, const char *s, size_t len)
{
    char *copy = malloc(len + 1);
    if (copy) {
        memcpy(copy, s, len);
        copy[len] = '\0';
    }
    frag_take_text(f, copy);
}

/* A LIKE pattern for "LIKE ? ESCAPE '\'": each backslash doubled, so
 * that it matches itself, as in SQLite's LIKE without ESCAPE, where
 * PostgreSQL's LIKE would take it as an escape by default. One SQL text
 * then means the same on both engines. */
static void frag_like_pattern(struct sql_frag *f, const char *s, size_t len)
{
    size_t extra = 0;
    for (size_t i = 0; i < len; i++)
        extra += s[i] == '\\';
    char *copy = malloc(len + extra + 1);
    if (copy) {
        size_t k = 0;
        for (size_t i = 0; i < len; i++) {
            if (s[i] == '\\')
                copy[k++] = '\\';
            copy[k++] = s[i];
        }
        copy[k] = '\0';
    }
    frag_take_text(f, copy);
}

static void frag_int(struct sql_frag *f, int64_t i)
{
    struct sqlv *v = frag_slot(f);
    if (v) {
        v->type = SQLV_INT;
        v->i = i;
    }
}

static void frag_real(struct sql_frag *f, double d)
{
    struct sqlv *v = frag_slot(f);
    if (v) {
        v->type = SQLV_REAL;
        v->d = d;
    }
}

/*---- Tokens ---------------------------------------------------------------*/

/* A string owned by the parser (unescaped quoted text or a bare word). */
struct str {
    char *s;
    size_t len;
};

enum entity { ENT_ATTR, ENT_METRIC, ENT_PARAM, ENT_TAG, ENT_DATASET };

enum cmp {
    CMP_EQ,
    CMP_NE,
    CMP_GT,
    CMP_GE,
    CMP_LT,
    CMP_LE,
    CMP_LIKE,
    CMP_ILIKE,
    CMP_IN,
    CMP_NOT_IN
};

static const char *const cmp_names[] = {"=",  "!=",   ">",     ">=", "<",
                                        "<=", "LIKE", "ILIKE", "IN", "NOT IN"};
static const char *const cmp_sql[] = {"=", "!=", ">", ">=", "<", "<="};

enum vkind { V_STR, V_NUM, V_LIST, V_WORD };

struct value {
    enum vkind kind;
    struct str str; /* V_STR, V_WORD; V_NUM: the number's text */
    bool is_int;
    int64_t i;
    double d;
    struct str *items; /* V_LIST */
    size_t nitems;
};

struct ident {
    enum entity entity;
    struct str entity_text; /* as written, for messages ("" if none) */
    struct str key;
};

struct clause {
    struct ident id;
    enum cmp cmp;
    struct value val;
    int join_alias; /* runs: ordering join this metric clause rides, or -1 */
};

struct order_item {
    struct ident id;
    bool desc;
    const char *column; /* attributes: SQL column; NULL for others */
    bool numeric_nullable;
    bool inner; /* metric join made INNER (see build_runs) */
};

static void str_free(struct str *s)
{
    free(s->s);
    s->s = NULL;
    s->len = 0;
}

static void value_free(struct value *v)
{
    str_free(&v->str);
    for (size_t i = 0; i < v->nitems; i++)
        str_free(&v->items[i]);
    free(v->items);
    v->items = NULL;
    v->nitems = 0;
}

static void ident_free(struct ident *id)
{
    str_free(&id->entity_text);
    str_free(&id->key);
}

static bool str_set(struct str *dst, const char *s, size_t len)
{
    dst->s = malloc(len + 1);
    if (!dst->s) {
        dst->len = 0;
        return false;
    }
    memcpy(dst->s, s, len);
    dst->s[len] = '\0';
    dst->len = len;
    return true;
}

static bool str_is(const struct str *s, const char *lit)
{
    return s->s && s->len == strlen(lit) && memcmp(s->s, lit, s->len) == 0;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Characters of a bare word: ASCII letters, digits, '_' and any non-ASCII
 * byte (UTF-8 key names). '.' is handled by the callers. */
static bool is_word(char c)
{
    return is_alpha(c) || is_digit(c) || c == '_' || (unsigned char)c >= 0x80;
}

static const char *skip_space(const char *p)
{
    while (is_space(*p))
        p++;
    return p;
}

static char lower_ascii(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Case-insensitive match of 'len' bytes of p against the lowercase 'lit'. */
static bool word_is(const char *p, size_t len, const char *lit)
{
    if (strlen(lit) != len)
        return false;
    for (size_t i = 0; i < len; i++)
        if (lower_ascii(p[i]) != lit[i])
            return false;
    return true;
}

/* Scans a quoted string starting at *pp (the opening quote). Inside, the
 * quote doubled or backslash-escaped stands for itself and "\\" for one
 * backslash; any other backslash is literal. Fails (with a message)
 * when the string is unterminated or when memory runs out. */
static enum srv_err scan_quoted(const char **pp, struct str *out,
                                struct errbuf *eb)
{
    const char *p = *pp;
    char q = *p++;
    struct strbuf sb;
    strbuf_init(&sb);
    for (;;) {
        char c = *p;
        if (c == '\0') {
            strbuf_cleanup(&sb);
            return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                           "Invalid clause(s) in filter string: unterminated "
                           "quoted string starting at '%.40s'",
                           *pp);
        }
        if (c == q) {
            if (q != '`' && p[1] == q) {
                strbuf_append_char(&sb, q);
                p += 2;
                continue;
            }
            p++;
            break;
        }
        if (c == '\\' && q != '`' && (p[1] == q || p[1] == '\\')) {
            strbuf_append_char(&sb, p[1]);
            p += 2;
            continue;
        }
        strbuf_append_char(&sb, c);
        p++;
    }
    size_t len = 0;
    char *s = strbuf_detach(&sb, &len);
    if (!s)
        return SRV_E_NOMEM;
    out->s = s;
    out->len = len;
    *pp = p;
    return SRV_OK;
}

static bool entity_from(const struct str *w, enum entity *e)
{
    static const struct {
        const char *name;
        enum entity e;
    } names[] = {
        {"metric", ENT_METRIC},   {"metrics", ENT_METRIC},
        {"param", ENT_PARAM},     {"params", ENT_PARAM},
        {"parameter", ENT_PARAM}, {"parameters", ENT_PARAM},
        {"tag", ENT_TAG},         {"tags", ENT_TAG},
        {"attribute", ENT_ATTR},  {"attributes", ENT_ATTR},
        {"attr", ENT_ATTR},       {"run", ENT_ATTR},
        {"dataset", ENT_DATASET}, {"datasets", ENT_DATASET},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (str_is(w, names[i].name)) {
            *e = names[i].e;
            return true;
        }
    }
    return false;
}

/* Parses "[entity.]key" at *pp (leading space allowed). The identifier is
 * split at the first '.'; the entity may be backticked, the key bare,
 * "double quoted" or `backticked`. 'what' names the input for messages. */
static enum srv_err parse_ident(const char **pp, struct ident *id,
                                const char *what, struct errbuf *eb)
{
    const char *p = skip_space(*pp);
    const char *start = p;
    struct str first = {NULL, 0};
    bool first_bare = false;
    enum srv_err rc;

    if (*p == '`' || *p == '"') {
        rc = scan_quoted(&p, &first, eb);
        if (rc != SRV_OK)
            return rc;
    } else if (is_word(*p)) {
        const char *w = p;
        while (is_word(*p))
            p++;
        if (!str_set(&first, w, (size_t)(p - w)))
            return SRV_E_NOMEM;
        first_bare = true;
    } else {
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Invalid %s: expected an identifier at '%.40s'", what,
                       start);
    }

    if (*p == '.' && (first_bare || *start == '`')) {
        /* entity.key */
        enum entity e;
        if (!entity_from(&first, &e)) {
            err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                    "Invalid entity type '%.60s'. Valid values are "
                    "['metric', 'parameter', 'tag', 'attribute', 'dataset']",
                    first.s);
            str_free(&first);
            return SRV_E_INVALID_PARAMETER_VALUE;
        }
        p++;
        struct str key = {NULL, 0};
        if (*p == '`' || *p == '"') {
            rc = scan_quoted(&p, &key, eb);
            if (rc != SRV_OK) {
                str_free(&first);
                return rc;
            }
        } else {
            const char *k = p;
            while (is_word(*p) || *p == '.')
                p++;
            if (!str_set(&key, k, (size_t)(p - k))) {
                str_free(&first);
                return SRV_E_NOMEM;
            }
        }
        id->entity = e;
        id->entity_text = first;
        id->key = key;
    } else {
        id->entity = ENT_ATTR;
        id->entity_text.s = NULL;
        id->entity_text.len = 0;
        id->key = first;
    }
    if (id->key.len == 0) {
        ident_free(id);
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Invalid %s: empty key in '%.60s'", what, start);
    }
    /* The identifier must end here: space, a comparator or the end. */
    if (*p != '\0' && !is_space(*p) && !strchr("=!<>", *p)) {
        ident_free(id);
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Invalid %s: unexpected character '%c' in identifier "
                       "'%.60s'",
                       what, *p, start);
    }
    *pp = p;
    return SRV_OK;
}

static enum srv_err invalid_clause(struct errbuf *eb, const char *filter,
                                   const char *detail)
{
    return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                   "Invalid clause(s) in filter string: '%.200s' (%s)", filter,
                   detail);
}

static enum srv_err parse_cmp(const char **pp, enum cmp *out,
                              const char *filter, struct errbuf *eb)
{
    const char *p = skip_space(*pp);
    const char *s = p;
    if (*p == '!' && p[1] == '=') {
        *out = CMP_NE;
        p += 2;
    } else if (*p == '>' && p[1] == '=') {
        *out = CMP_GE;
        p += 2;
    } else if (*p == '<' && p[1] == '=') {
        *out = CMP_LE;
        p += 2;
    } else if (*p == '=') {
        *out = CMP_EQ;
        p++;
    } else if (*p == '>') {
        *out = CMP_GT;
        p++;
    } else if (*p == '<') {
        *out = CMP_LT;
        p++;
    } else if (is_alpha(*p)) {
        while (is_alpha(*p))
            p++;
        size_t n = (size_t)(p - s);
        if (word_is(s, n, "like")) {
            *out = CMP_LIKE;
        } else if (word_is(s, n, "ilike")) {
            *out = CMP_ILIKE;
        } else if (word_is(s, n, "in")) {
            *out = CMP_IN;
        } else if (word_is(s, n, "not")) {
            const char *q = skip_space(p);
            const char *w = q;
            while (is_alpha(*q))
                q++;
            if (q == p || w == p || !word_is(w, (size_t)(q - w), "in"))
                return invalid_clause(eb, filter,
                                      "NOT is only valid in "
                                      "NOT IN");
            *out = CMP_NOT_IN;
            p = q;
        } else {
            return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                           "Invalid comparator '%.*s' in filter string "
                           "'%.200s'",
                           (int)(n > 40 ? 40 : n), s, filter);
        }
        if (*p != '\0' && !is_space(*p) && *p != '\'' && *p != '"' && *p != '(')
            return invalid_clause(eb, filter, "malformed comparator");
        *pp = p;
        return SRV_OK;
    } else {
        return invalid_clause(eb, filter, "expected a comparator");
    }
    if (*p == '=' || *p == '!' || *p == '<' || *p == '>') {
        size_t n = strspn(s, "=!<>");
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Invalid comparator '%.*s' in filter string '%.200s'",
                       (int)(n > 8 ? 8 : n), s, filter);
    }
    *pp = p;
    return SRV_OK;
}

/* Scans a number: [-] digits [. digits] [e [+-] digits], at least one
 * digit in the mantissa. Integers that fit int64 are flagged is_int. */
static enum srv_err scan_number(const char **pp, struct value *v)
{
    const char *p = *pp;
    const char *s = p;
    bool integral = true;
    size_t digits = 0;
    if (*p == '-')
        p++;
    while (is_digit(*p)) {
        p++;
        digits++;
    }
    if (*p == '.') {
        integral = false;
        p++;
        while (is_digit(*p)) {
            p++;
            digits++;
        }
    }
    if (digits == 0)
        return SRV_E_INVALID_PARAMETER_VALUE;
    if (*p == 'e' || *p == 'E') {
        integral = false;
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!is_digit(*p))
            return SRV_E_INVALID_PARAMETER_VALUE;
        while (is_digit(*p))
            p++;
    }
    if (*p != '\0' && !is_space(*p))
        return SRV_E_INVALID_PARAMETER_VALUE;
    size_t len = (size_t)(p - s);
    if (!str_set(&v->str, s, len))
        return SRV_E_NOMEM;
    char *end = NULL;
    errno = 0;
    v->d = strtod(v->str.s, &end);
    if (end != v->str.s + len) {
        str_free(&v->str);
        return SRV_E_INVALID_PARAMETER_VALUE;
    }
    v->is_int = false;
    if (integral) {
        errno = 0;
        long long ll = strtoll(v->str.s, &end, 10);
        if (errno == 0 && end == v->str.s + len) {
            v->is_int = true;
            v->i = (int64_t)ll;
        }
    }
    v->kind = V_NUM;
    *pp = p;
    return SRV_OK;
}

static enum srv_err parse_value(const char **pp, struct value *v,
                                const char *filter, struct errbuf *eb)
{
    const char *p = skip_space(*pp);
    enum srv_err rc;
    if (*p == '\'' || *p == '"') {
        rc = scan_quoted(&p, &v->str, eb);
        if (rc != SRV_OK)
            return rc;
        v->kind = V_STR;
    } else if (*p == '(') {
        p++;
        v->kind = V_LIST;
        size_t cap = 0;
        for (;;) {
            p = skip_space(p);
            if (*p != '\'' && *p != '"')
                return invalid_clause(eb, filter,
                                      "IN lists hold quoted strings");
            if (v->nitems == MAX_IN_ITEMS)
                return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                               "Too many values in IN list (at most %d)",
                               MAX_IN_ITEMS);
            if (v->nitems == cap) {
                size_t ncap = cap ? cap * 2 : 8;
                struct str *ni = realloc(v->items, ncap * sizeof(*ni));
                if (!ni)
                    return SRV_E_NOMEM;
                v->items = ni;
                cap = ncap;
            }
            struct str *item = &v->items[v->nitems];
            rc = scan_quoted(&p, item, eb);
            if (rc != SRV_OK)
                return rc;
            v->nitems++;
            p = skip_space(p);
            if (*p == ',') {
                p++;
                continue;
            }
            if (*p == ')') {
                p++;
                break;
            }
            return invalid_clause(eb, filter, "malformed IN list");
        }
    } else if (*p == '-' || *p == '.' || is_digit(*p)) {
        rc = scan_number(&p, v);
        if (rc == SRV_E_NOMEM)
            return rc;
        if (rc != SRV_OK)
            return invalid_clause(eb, filter, "malformed number");
    } else if (is_word(*p)) {
        const char *w = p;
        while (is_word(*p) || *p == '.' || *p == '-')
            p++;
        if (!str_set(&v->str, w, (size_t)(p - w)))
            return SRV_E_NOMEM;
        v->kind = V_WORD;
    } else if (*p == '\0') {
        return invalid_clause(eb, filter, "missing value");
    } else {
        return invalid_clause(eb, filter, "unexpected character");
    }
    *pp = p;
    return SRV_OK;
}

/*---- Clause validation
 * ------------------------------------------------------*/

static const char *entity_label(enum entity e)
{
    switch (e) {
    case ENT_ATTR:
        return "attribute";
    case ENT_METRIC:
        return "metric";
    case ENT_PARAM:
        return "parameter";
    case ENT_TAG:
        return "tag";
    case ENT_DATASET:
        return "dataset";
    }
    return "?";
}

static bool cmp_numeric(enum cmp c)
{
    return c <= CMP_LE;
}

static bool cmp_string(enum cmp c)
{
    return c == CMP_EQ || c == CMP_NE || c == CMP_LIKE || c == CMP_ILIKE;
}

static enum srv_err bad_cmp(struct errbuf *eb, enum cmp c, const char *valid,
                            const char *label, const struct str *key)
{
    return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                   "Invalid comparator '%s' not one of '%s' for %s '%.100s'",
                   cmp_names[c], valid, label, key->s);
}

static enum srv_err need_string(struct errbuf *eb, const struct clause *c,
                                const char *label)
{
    if (c->val.kind == V_STR)
        return SRV_OK;
    return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                   "%s value is either not quoted or unidentified quote types "
                   "used for string value '%.100s' of '%.100s'",
                   label, c->val.kind == V_LIST ? "(...)" : c->val.str.s,
                   c->id.key.s);
}

static enum srv_err need_number(struct errbuf *eb, const struct clause *c,
                                const char *label)
{
    if (c->val.kind == V_NUM)
        return SRV_OK;
    return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                   "Expected numeric value type for %s '%.100s'. Found "
                   "'%.100s'",
                   label, c->id.key.s,
                   c->val.kind == V_LIST ? "(...)" : c->val.str.s);
}

/* The search a filter and an order_by are compiled for. */
enum target { T_RUNS, T_EXPERIMENTS, T_MODELS, T_VERSIONS };

/* Column of a string or numeric attribute (aliases resolved). */
struct attr_col {
    const char *name;
    const char *column;
    bool numeric;
};

static const struct attr_col run_attrs[] = {
    {"run_id", "r.run_id", false},
    {"run_name", "r.run_name", false},
    {"run name", "r.run_name", false},
    {"Run name", "r.run_name", false},
    {"Run Name", "r.run_name", false},
    {"status", "r.status", false},
    {"user_id", "r.user_id", false},
    {"artifact_uri", "r.artifact_uri", false},
    {"start_time", "r.start_time", true},
    {"created", "r.start_time", true},
    {"Created", "r.start_time", true},
    {"end_time", "r.end_time", true},
};

static const struct attr_col exp_filter_attrs[] = {
    {"name", "e.name", false},
    {"creation_time", "e.creation_time", true},
    {"last_update_time", "e.last_update_time", true},
};

static const struct attr_col exp_order_attrs[] = {
    {"name", "e.name", false},
    {"experiment_id", "e.experiment_id", true},
    {"creation_time", "e.creation_time", true},
    {"last_update_time", "e.last_update_time", true},
};

static const struct attr_col model_filter_attrs[] = {
    {"name", "m.name", false},
};

static const struct attr_col version_filter_attrs[] = {
    {"name", "m.name", false},
    {"run_id", "v.run_id", false},
    {"source_path", "v.source", false},
    {"version_number", "v.version", true},
};

static const struct attr_col model_order_attrs[] = {
    {"name", "m.name", false},
    {"last_updated_timestamp", "m.last_updated_timestamp", true},
    {"timestamp", "m.last_updated_timestamp", true},
};

static const struct attr_col version_order_attrs[] = {
    {"name", "m.name", false},
    {"version_number", "v.version", true},
    {"creation_timestamp", "v.creation_timestamp", true},
    {"last_updated_timestamp", "v.last_updated_timestamp", true},
};

/* A target's attributes, with the list of them its messages give. */
struct attr_table {
    const struct attr_col *cols;
    size_t n;
    const char *keys;
};

#define ATTR_TABLE(cols, keys)                                                 \
    {                                                                          \
        cols, sizeof(cols) / sizeof(cols[0]), keys                             \
    }

#define RUN_ATTR_KEYS                                                          \
    "['run_id', 'run_name', 'status', 'user_id', 'artifact_uri', "             \
    "'start_time', 'end_time', 'created']"

/* The attributes a filter may compare, and those an order_by may name. */
static const struct attr_table filter_attrs[] = {
    [T_RUNS] = ATTR_TABLE(run_attrs, RUN_ATTR_KEYS),
    [T_EXPERIMENTS] = ATTR_TABLE(exp_filter_attrs, "['name', 'creation_time', "
                                                   "'last_update_time']"),
    [T_MODELS] = ATTR_TABLE(model_filter_attrs, "['name']"),
    [T_VERSIONS] =
        ATTR_TABLE(version_filter_attrs, "['name', 'run_id', 'source_path', "
                                         "'version_number']"),
};

static const struct attr_table order_attrs[] = {
    [T_RUNS] = ATTR_TABLE(run_attrs, RUN_ATTR_KEYS),
    [T_EXPERIMENTS] = ATTR_TABLE(exp_order_attrs,
                                 "['name', 'experiment_id', 'creation_time', "
                                 "'last_update_time']"),
    [T_MODELS] =
        ATTR_TABLE(model_order_attrs, "['name', 'last_updated_timestamp']"),
    [T_VERSIONS] = ATTR_TABLE(version_order_attrs, "['name', 'version_number', "
                                                   "'creation_timestamp', "
                                                   "'last_updated_timestamp']"),
};

static const struct attr_col *find_attr(const struct attr_table *tab,
                                        const struct str *key)
{
    for (size_t i = 0; i < tab->n; i++)
        if (str_is(key, tab->cols[i].name))
            return &tab->cols[i];
    return NULL;
}

/* The subqueries of a tag (or a run's param) compared with "x.value":
 * each up to "x.key = ? AND ". */
static const char *const tag_exists[] = {
    [T_RUNS] = "EXISTS (SELECT 1 FROM tags x WHERE x.run_pk = r.run_pk AND "
               "x.key = ? AND ",
    [T_EXPERIMENTS] = "EXISTS (SELECT 1 FROM experiment_tags x WHERE "
                      "x.experiment_id = e.experiment_id AND x.key = ? AND ",
    [T_MODELS] = "EXISTS (SELECT 1 FROM registered_model_tags x WHERE "
                 "x.model_pk = m.model_pk AND x.key = ? AND ",
    [T_VERSIONS] = "EXISTS (SELECT 1 FROM model_version_tags x WHERE "
                   "x.model_pk = v.model_pk AND x.version = v.version AND "
                   "x.key = ? AND ",
};

#define PARAM_EXISTS                                                           \
    "EXISTS (SELECT 1 FROM params x WHERE x.run_pk = r.run_pk AND x.key = ? "  \
    "AND "

/*---- SQL emission ---------------------------------------------------------*/

static void emit_num(struct sql_frag *f, const struct value *v)
{
    if (v->is_int)
        frag_int(f, v->i);
    else
        frag_real(f, v->d);
}

/* "<col> <op> ?" for string comparators; ILIKE lowers both sides. LIKE
 * names its escape character so that both engines read a pattern alike
 * (frag_like_pattern). */
static void emit_str_cmp(struct sql_frag *f, const char *col, enum cmp c,
                         const struct str *val)
{
    if (c == CMP_ILIKE)
        strbuf_printf(&f->sql, "lower(%s) LIKE lower(?) ESCAPE '\\'", col);
    else if (c == CMP_LIKE)
        strbuf_printf(&f->sql, "%s LIKE ? ESCAPE '\\'", col);
    else
        strbuf_printf(&f->sql, "%s %s ?", col, cmp_sql[c]);
    if (c == CMP_LIKE || c == CMP_ILIKE)
        frag_like_pattern(f, val->s, val->len);
    else
        frag_text(f, val->s, val->len);
}

/* "<col> [NOT] IN (?, ...)" over the given items (n > 0). */
static void emit_in(struct sql_frag *f, const char *col, bool negate,
                    const struct str *items, const bool *keep, size_t n)
{
    strbuf_printf(&f->sql, "%s %sIN (", col, negate ? "NOT " : "");
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        if (keep && !keep[i])
            continue;
        strbuf_append_str(&f->sql, first ? "?" : ", ?");
        frag_text(f, items[i].s, items[i].len);
        first = false;
    }
    strbuf_append_char(&f->sql, ')');
}

static bool has_upper(const struct str *s)
{
    for (size_t i = 0; i < s->len; i++)
        if (s->s[i] >= 'A' && s->s[i] <= 'Z')
            return true;
    return false;
}

/* The attribute a filter clause names in target 't''s table; else
 * INVALID_PARAMETER_VALUE with the valid keys. */
static enum srv_err filter_attr(enum target t, const struct ident *id,
                                const struct attr_col **a, struct errbuf *eb)
{
    const struct attr_table *tab = &filter_attrs[t];
    if ((*a = find_attr(tab, &id->key)))
        return SRV_OK;
    return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                   "Invalid attribute key '%.100s' specified. Valid keys are "
                   "%s",
                   id->key.s, tab->keys);
}

/* "<col> <op> ?" of attribute 'a': a number with the numeric comparators,
 * a string with the string ones ('valid' lists them for the message). */
static enum srv_err emit_attr_cmp(struct sql_frag *w, const struct clause *c,
                                  const struct attr_col *a, const char *valid,
                                  struct errbuf *eb)
{
    enum srv_err rc;
    if (a->numeric) {
        if (!cmp_numeric(c->cmp))
            return bad_cmp(eb, c->cmp, "=, !=, >, >=, <, <=", "attribute",
                           &c->id.key);
        if ((rc = need_number(eb, c, "attribute")) != SRV_OK)
            return rc;
        strbuf_printf(&w->sql, "%s %s ?", a->column, cmp_sql[c->cmp]);
        emit_num(w, &c->val);
        return SRV_OK;
    }
    if (!cmp_string(c->cmp))
        return bad_cmp(eb, c->cmp, valid, "attribute", &c->id.key);
    if ((rc = need_string(eb, c, "Attribute")) != SRV_OK)
        return rc;
    emit_str_cmp(w, a->column, c->cmp, &c->val.str);
    return SRV_OK;
}

/* A tag (or param: 'label' and 'what' name it in messages) compared as a
 * string: 'exists', its key, then "x.value <op> ?)". */
static enum srv_err emit_kv_exists(struct sql_frag *w, const struct clause *c,
                                   const char *label, const char *what,
                                   const char *exists, struct errbuf *eb)
{
    enum srv_err rc;
    if (!cmp_string(c->cmp))
        return bad_cmp(eb, c->cmp, "=, !=, LIKE, ILIKE", label, &c->id.key);
    if ((rc = need_string(eb, c, what)) != SRV_OK)
        return rc;
    strbuf_append_str(&w->sql, exists);
    frag_text(w, c->id.key.s, c->id.key.len);
    emit_str_cmp(w, "x.value", c->cmp, &c->val.str);
    strbuf_append_char(&w->sql, ')');
    return SRV_OK;
}

/* "<col> [NOT] IN (...)" of the listed ids without upper-case letters
 * (MLflow keeps only those); FALSE (IN) or TRUE (NOT IN) when none is
 * left, which both engines take as a condition (PostgreSQL not 0 or 1). */
static enum srv_err emit_ids_in(struct sql_frag *w, const char *col,
                                const struct clause *c)
{
    bool negate = c->cmp == CMP_NOT_IN;
    bool *keep = calloc(c->val.nitems, sizeof(*keep));
    if (!keep)
        return SRV_E_NOMEM;
    size_t kept = 0;
    for (size_t i = 0; i < c->val.nitems; i++) {
        keep[i] = !has_upper(&c->val.items[i]);
        kept += keep[i];
    }
    if (kept == 0)
        strbuf_append_str(&w->sql, negate ? "TRUE" : "FALSE");
    else
        emit_in(w, col, negate, c->val.items, keep, c->val.nitems);
    free(keep);
    return SRV_OK;
}

/* Emits one runs/search clause into 'w' (already " AND (" opened). */
static enum srv_err emit_run_clause(struct sql_frag *w, const struct clause *c,
                                    struct errbuf *eb)
{
    const struct ident *id = &c->id;
    enum srv_err rc;
    switch (id->entity) {
    case ENT_METRIC:
        if (!cmp_numeric(c->cmp))
            return bad_cmp(eb, c->cmp, "=, !=, >, >=, <, <=", "metric",
                           &id->key);
        if ((rc = need_number(eb, c, "metric")) != SRV_OK)
            return rc;
        if (c->join_alias >= 0) {
            strbuf_printf(&w->sql, "o%d.value %s ?", c->join_alias,
                          cmp_sql[c->cmp]);
            frag_real(w, c->val.d);
            return SRV_OK;
        }
        strbuf_append_str(&w->sql, "EXISTS (SELECT 1 FROM latest_metrics m "
                                   "WHERE m.run_pk = r.run_pk AND m.key = ?");
        frag_text(w, id->key.s, id->key.len);
        if (c->cmp == CMP_NE)
            strbuf_append_str(&w->sql, " AND (m.is_nan = 1 OR m.value != ?))");
        else
            strbuf_printf(&w->sql, " AND m.is_nan = 0 AND m.value %s ?)",
                          cmp_sql[c->cmp]);
        frag_real(w, c->val.d);
        return SRV_OK;
    case ENT_PARAM:
        return emit_kv_exists(w, c, "param", "Parameter", PARAM_EXISTS, eb);
    case ENT_TAG:
        return emit_kv_exists(w, c, "tag", "Tag", tag_exists[T_RUNS], eb);
    case ENT_DATASET: {
        const char *col = NULL;
        if (str_is(&id->key, "name"))
            col = "d.name";
        else if (str_is(&id->key, "digest"))
            col = "d.digest";
        else if (str_is(&id->key, "context"))
            col = "it.value";
        else
            return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                           "Invalid dataset key '%.100s' specified. Valid "
                           "keys are ['name', 'digest', 'context']",
                           id->key.s);
        bool list = c->cmp == CMP_IN || c->cmp == CMP_NOT_IN;
        if (cmp_numeric(c->cmp) && c->cmp != CMP_EQ && c->cmp != CMP_NE)
            return bad_cmp(eb, c->cmp, "=, !=, LIKE, ILIKE, IN, NOT IN",
                           "dataset", &id->key);
        if (list && c->val.kind != V_LIST)
            return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                           "While parsing a list in the query, expected a "
                           "non-empty list of string values for dataset "
                           "'%.100s'",
                           id->key.s);
        if (!list && (rc = need_string(eb, c, "Dataset")) != SRV_OK)
            return rc;
        if (col[0] == 'i') {
            strbuf_append_str(&w->sql,
                              "EXISTS (SELECT 1 FROM input_tags it WHERE "
                              "it.run_pk = r.run_pk AND it.key = ? AND ");
            frag_text(w, "mlflow.data.context", 19);
        } else {
            strbuf_append_str(&w->sql,
                              "EXISTS (SELECT 1 FROM run_inputs ri JOIN "
                              "datasets d ON d.dataset_pk = ri.dataset_pk "
                              "WHERE ri.run_pk = r.run_pk AND ");
        }
        if (list)
            emit_in(w, col, c->cmp == CMP_NOT_IN, c->val.items, NULL,
                    c->val.nitems);
        else
            emit_str_cmp(w, col, c->cmp, &c->val.str);
        strbuf_append_char(&w->sql, ')');
        return SRV_OK;
    }
    case ENT_ATTR: {
        const struct attr_col *a;
        if ((rc = filter_attr(T_RUNS, id, &a, eb)) != SRV_OK)
            return rc;
        if (!a->numeric && (c->cmp == CMP_IN || c->cmp == CMP_NOT_IN)) {
            if (strcmp(a->column, "r.run_id") != 0)
                return bad_cmp(eb, c->cmp, "=, !=, LIKE, ILIKE", "attribute",
                               &id->key);
            if (c->val.kind != V_LIST)
                return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                               "While parsing a list in the query, expected "
                               "a non-empty list of string values for "
                               "attribute '%.100s'",
                               id->key.s);
            return emit_ids_in(w, a->column, c);
        }
        return emit_attr_cmp(w, c, a, "=, !=, LIKE, ILIKE", eb);
    }
    }
    return SRV_E_INTERNAL;
}

static enum srv_err emit_exp_clause(struct sql_frag *w, const struct clause *c,
                                    struct errbuf *eb)
{
    const struct ident *id = &c->id;
    enum srv_err rc;
    if (id->entity == ENT_TAG)
        return emit_kv_exists(w, c, "tag", "Tag", tag_exists[T_EXPERIMENTS],
                              eb);
    if (id->entity != ENT_ATTR)
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Invalid entity type '%s' for experiments/search. "
                       "Valid values are ['attribute', 'tag']",
                       entity_label(id->entity));
    const struct attr_col *a;
    if ((rc = filter_attr(T_EXPERIMENTS, id, &a, eb)) != SRV_OK)
        return rc;
    return emit_attr_cmp(w, c, a, "=, !=, LIKE, ILIKE", eb);
}

/* The registry's entities are attribute, tag and tags only. */
static enum srv_err registry_entity(const struct ident *id, struct errbuf *eb)
{
    const struct str *t = &id->entity_text;
    bool ok = !t->s || str_is(t, "attribute") || str_is(t, "tag") ||
              str_is(t, "tags");
    if (ok)
        return SRV_OK;
    return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                   "Invalid entity type '%.60s'. Valid values are ['tag', "
                   "'attribute']",
                   t->s);
}

/* Emits one registry clause into 'w' (already " AND (" opened). */
static enum srv_err emit_registry_clause(struct sql_frag *w,
                                         const struct clause *c, enum target t,
                                         struct errbuf *eb)
{
    const struct ident *id = &c->id;
    enum srv_err rc = registry_entity(id, eb);
    if (rc != SRV_OK)
        return rc;
    if (id->entity == ENT_TAG)
        return emit_kv_exists(w, c, "tag", "Tag", tag_exists[t], eb);
    const struct attr_col *a;
    if ((rc = filter_attr(t, id, &a, eb)) != SRV_OK)
        return rc;
    bool run_id = strcmp(a->column, "v.run_id") == 0;
    if (c->cmp == CMP_IN && run_id) {
        if (c->val.kind != V_LIST)
            return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                           "While parsing a list in the query, expected a "
                           "non-empty list of string values, but got "
                           "'%.100s'",
                           c->val.str.s ? c->val.str.s : "");
        return emit_ids_in(w, a->column, c);
    }
    return emit_attr_cmp(
        w, c, a, run_id ? "=, !=, LIKE, ILIKE, IN" : "=, !=, LIKE, ILIKE", eb);
}

/*---- Filter parsing -------------------------------------------------------*/

struct clauses {
    struct clause items[MAX_CLAUSES];
    size_t n;
};

static void clauses_free(struct clauses *cl)
{
    for (size_t i = 0; i < cl->n; i++) {
        ident_free(&cl->items[i].id);
        value_free(&cl->items[i].val);
    }
    cl->n = 0;
}

/* Splits the filter into clauses joined by AND. A NULL, empty or blank
 * filter yields none. Values are checked per entity later, at emission. */
static enum srv_err parse_filter(const char *filter, struct clauses *cl,
                                 struct errbuf *eb)
{
    if (!filter)
        return SRV_OK;
    if (strlen(filter) > MAX_FILTER_LEN)
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Filter string is too long (more than %d bytes)",
                       MAX_FILTER_LEN);
    const char *p = skip_space(filter);
    if (*p == '\0')
        return SRV_OK;
    for (;;) {
        if (cl->n == MAX_CLAUSES)
            return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                           "Too many clauses in filter string (at most %d)",
                           MAX_CLAUSES);
        struct clause *c = &cl->items[cl->n];
        memset(c, 0, sizeof(*c));
        c->join_alias = -1;
        enum srv_err rc = parse_ident(&p, &c->id, "filter", eb);
        if (rc != SRV_OK) {
            if (rc == SRV_E_NOMEM || !eb)
                return rc;
            char detail[sizeof(eb->msg)];
            memcpy(detail, eb->msg, sizeof(detail));
            return invalid_clause(eb, filter, detail);
        }
        cl->n++; /* owned from here on, freed by clauses_free */
        if ((rc = parse_cmp(&p, &c->cmp, filter, eb)) != SRV_OK)
            return rc;
        if ((rc = parse_value(&p, &c->val, filter, eb)) != SRV_OK)
            return rc;
        p = skip_space(p);
        if (*p == '\0')
            return SRV_OK;
        const char *w = p;
        while (is_alpha(*p))
            p++;
        if (!word_is(w, (size_t)(p - w), "and") || !is_space(*p))
            return invalid_clause(eb, filter,
                                  "clauses must be joined by AND; OR, ';' "
                                  "and parentheses are not supported");
        p = skip_space(p);
        if (*p == '\0')
            return invalid_clause(eb, filter, "dangling AND");
    }
}

/*---- order_by parsing -----------------------------------------------------*/

static enum srv_err parse_order(const char *s, struct order_item *o,
                                struct errbuf *eb)
{
    if (!s || strlen(s) > MAX_ORDER_LEN)
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Invalid order_by clause: missing or too long");
    const char *p = s;
    enum srv_err rc = parse_ident(&p, &o->id, "order_by clause", eb);
    if (rc != SRV_OK)
        return rc;
    o->desc = false;
    p = skip_space(p);
    if (*p != '\0') {
        const char *w = p;
        while (*p != '\0' && !is_space(*p))
            p++;
        size_t n = (size_t)(p - w);
        if (word_is(w, n, "desc"))
            o->desc = true;
        else if (!word_is(w, n, "asc"))
            return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                           "Invalid ordering key in order_by clause "
                           "'%.200s'. Valid values are 'asc' and 'desc'",
                           s);
        p = skip_space(p);
        if (*p != '\0')
            return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                           "Invalid order_by clause '%.200s'. Could not be "
                           "parsed.",
                           s);
    }
    return SRV_OK;
}

struct orders {
    struct order_item items[MAX_ORDER];
    size_t n;
};

static void orders_free(struct orders *os)
{
    for (size_t i = 0; i < os->n; i++)
        ident_free(&os->items[i].id);
    os->n = 0;
}

/* Parses every order_by entry of a target's search, resolves attribute
 * columns and rejects duplicates and unorderable entities (the registry
 * orders on attributes only); at most MAX_ORDER_JOINS keys of runs. */
static enum srv_err parse_orders(const char *const *order_by, size_t n_order,
                                 enum target t, struct orders *os,
                                 struct errbuf *eb)
{
    bool registry = t == T_MODELS || t == T_VERSIONS;
    if (n_order > MAX_ORDER)
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Too many order_by clauses (at most %d)", MAX_ORDER);
    size_t joins = 0;
    for (size_t i = 0; i < n_order; i++) {
        struct order_item *o = &os->items[os->n];
        memset(o, 0, sizeof(*o));
        os->n++; /* owned from here on, freed by orders_free */
        enum srv_err rc = parse_order(order_by ? order_by[i] : NULL, o, eb);
        if (rc != SRV_OK)
            return rc;
        enum entity e = o->id.entity;
        const struct attr_col *a = NULL;
        if (e == ENT_ATTR && !(registry && o->id.entity_text.s))
            a = find_attr(&order_attrs[t], &o->id.key);
        if (!a && registry)
            return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                           "Invalid order by key '%.100s' specified. Valid "
                           "keys are %s",
                           o->id.key.s, order_attrs[t].keys);
        if (!a && e == ENT_ATTR)
            return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                           "Invalid order_by attribute key '%.100s'. "
                           "Valid keys are %s",
                           o->id.key.s, order_attrs[t].keys);
        if (a) {
            o->column = a->column;
            o->numeric_nullable =
                t == T_RUNS && strcmp(a->column, "r.end_time") == 0;
        } else if (t != T_RUNS || e == ENT_DATASET) {
            return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                           "Invalid order_by entity type '%s' in '%.200s'",
                           entity_label(e), order_by[i]);
        } else {
            joins++;
        }
        for (size_t j = 0; j + 1 < os->n; j++) {
            const struct order_item *prev = &os->items[j];
            bool same = prev->id.entity == e &&
                        (e == ENT_ATTR ? strcmp(prev->column, o->column) == 0
                                       : prev->id.key.len == o->id.key.len &&
                                             memcmp(prev->id.key.s, o->id.key.s,
                                                    o->id.key.len) == 0);
            if (same)
                /* [rec] 400 (for the registry: MLflow raises it without a
                 * code, 500) */
                return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                               "`order_by` contains duplicate fields: "
                               "'%.200s'",
                               order_by[i]);
        }
    }
    if (joins > MAX_ORDER_JOINS)
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE,
                       "Invalid order_by: at most %d metric, param or tag "
                       "keys can be ordered on in one search (got %zu)",
                       MAX_ORDER_JOINS, joins);
    return SRV_OK;
}

static bool sql_failed(const struct search_sql *q)
{
    return q->joins.sql.oom || q->where.sql.oom || q->order.sql.oom;
}

/* Makes the fragments' SQL text non-NULL even when nothing was appended. */
static void touch(struct search_sql *q)
{
    strbuf_append(&q->joins.sql, "", 0);
    strbuf_append(&q->where.sql, "", 0);
    strbuf_append(&q->order.sql, "", 0);
}

/*---- Builders -------------------------------------------------------------*/

static bool same_key(const struct str *a, const struct str *b)
{
    return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
}

/* runs/search's joins and ORDER BY. A metric that is both ordered on and
 * filtered with a comparator other than != gets an INNER JOIN carrying
 * the filter (the run must have a real value anyway), so SQLite can walk
 * latest_metrics' (key, is_nan, value) index in order and stop at the
 * LIMIT instead of sorting every run. */
static enum srv_err order_runs(struct clauses *cl, struct orders *os,
                               struct search_sql *out)
{
    for (size_t i = 0; i < cl->n; i++) {
        struct clause *c = &cl->items[i];
        if (c->id.entity != ENT_METRIC || !cmp_numeric(c->cmp) ||
            c->cmp == CMP_NE || c->val.kind != V_NUM)
            continue;
        for (size_t j = 0; j < os->n; j++) {
            struct order_item *o = &os->items[j];
            if (o->id.entity == ENT_METRIC &&
                same_key(&o->id.key, &c->id.key)) {
                o->inner = true;
                c->join_alias = (int)j;
            }
        }
    }

    /* Joins and order terms. */
    bool start_used = false, run_id_used = false;
    for (size_t j = 0; j < os->n; j++) {
        struct order_item *o = &os->items[j];
        const char *dir = o->desc ? "DESC" : "ASC";
        struct strbuf *ob = &out->order.sql;
        if (j > 0)
            strbuf_append_str(ob, ", ");
        switch (o->id.entity) {
        case ENT_ATTR:
            if (strcmp(o->column, "r.start_time") == 0)
                start_used = true;
            if (strcmp(o->column, "r.run_id") == 0)
                run_id_used = true;
            if (o->numeric_nullable)
                strbuf_printf(ob, "(%s IS NULL), %s %s", o->column, o->column,
                              dir);
            else
                strbuf_printf(ob, "%s %s", o->column, dir);
            break;
        case ENT_METRIC:
            if (o->inner) {
                strbuf_printf(&out->joins.sql,
                              " JOIN latest_metrics o%zu ON o%zu.run_pk = "
                              "r.run_pk AND o%zu.key = ? AND o%zu.is_nan = 0",
                              j, j, j, j);
                strbuf_printf(ob, "o%zu.value %s", j, dir);
            } else {
                strbuf_printf(&out->joins.sql,
                              " LEFT JOIN latest_metrics o%zu ON o%zu.run_pk "
                              "= r.run_pk AND o%zu.key = ?",
                              j, j, j);
                strbuf_printf(ob,
                              "(o%zu.run_pk IS NULL), o%zu.is_nan, o%zu.value "
                              "%s",
                              j, j, j, dir);
            }
            frag_text(&out->joins, o->id.key.s, o->id.key.len);
            if (o->inner && out->one_experiment >= 0) {
                strbuf_printf(&out->joins.sql, " AND o%zu.experiment_id = ?",
                              j);
                frag_int(&out->joins, out->one_experiment);
            }
            break;
        case ENT_PARAM:
        case ENT_TAG:
            strbuf_printf(&out->joins.sql,
                          " LEFT JOIN %s o%zu ON o%zu.run_pk = r.run_pk AND "
                          "o%zu.key = ?",
                          o->id.entity == ENT_PARAM ? "params" : "tags", j, j,
                          j);
            frag_text(&out->joins, o->id.key.s, o->id.key.len);
            strbuf_printf(ob, "(o%zu.value IS NULL), o%zu.value %s", j, j, dir);
            break;
        case ENT_DATASET:
            return SRV_E_INTERNAL; /* rejected in parse_orders */
        }
    }
    if (!start_used)
        strbuf_printf(&out->order.sql, "%sr.start_time DESC",
                      os->n ? ", " : "");
    if (!run_id_used)
        strbuf_append_str(&out->order.sql, ", r.run_id ASC");

    return SRV_OK;
}

/* experiments/search's ORDER BY. */
static void order_experiments(const struct orders *os, struct search_sql *out)
{
    if (os->n == 0) {
        strbuf_append_str(&out->order.sql,
                          "e.creation_time DESC, e.experiment_id ASC");
        return;
    }
    bool id_used = false;
    for (size_t j = 0; j < os->n; j++) {
        const struct order_item *o = &os->items[j];
        if (strcmp(o->column, "e.experiment_id") == 0)
            id_used = true;
        strbuf_printf(&out->order.sql, "%s%s %s", j ? ", " : "", o->column,
                      o->desc ? "DESC" : "ASC");
    }
    if (!id_used)
        strbuf_append_str(&out->order.sql, ", e.experiment_id DESC");
}

/* The registry's ORDER BY: by name (then version) after the keys given;
 * versions default to the latest updated first. */
static void order_registry(const struct orders *os, enum target t,
                           struct search_sql *out)
{
    struct strbuf *ob = &out->order.sql;
    if (os->n == 0 && t == T_VERSIONS) {
        strbuf_append_str(ob, "v.last_updated_timestamp DESC, m.name ASC, "
                              "v.version DESC");
        return;
    }
    bool name_used = false, version_used = false;
    for (size_t j = 0; j < os->n; j++) {
        const struct order_item *o = &os->items[j];
        name_used = name_used || strcmp(o->column, "m.name") == 0;
        version_used = version_used || strcmp(o->column, "v.version") == 0;
        strbuf_printf(ob, "%s%s %s", j ? ", " : "", o->column,
                      o->desc ? "DESC" : "ASC");
    }
    if (!name_used)
        strbuf_printf(ob, "%sm.name ASC", os->n ? ", " : "");
    if (t == T_VERSIONS && !version_used)
        strbuf_append_str(ob, ", v.version DESC");
}

/* Emits one clause of target 't' into 'w' (already " AND (" opened). */
static enum srv_err emit_clause(struct sql_frag *w, const struct clause *c,
                                enum target t, struct errbuf *eb)
{
    switch (t) {
    case T_RUNS:
        return emit_run_clause(w, c, eb);
    case T_EXPERIMENTS:
        return emit_exp_clause(w, c, eb);
    case T_MODELS:
    case T_VERSIONS:
        break;
    }
    return emit_registry_clause(w, c, t, eb);
}

/* Compiles a filter and an order_by for target 't' into 'out'. */
static enum srv_err build(const char *filter, const char *const *order_by,
                          size_t n_order, enum target t, struct search_sql *out,
                          struct errbuf *eb)
{
    enum srv_err result = SRV_OK;
    struct clauses *cl = calloc(1, sizeof(*cl));
    struct orders *os = calloc(1, sizeof(*os));
    if (!cl || !os) {
        result = SRV_E_NOMEM;
        goto out;
    }
    if ((result = parse_filter(filter, cl, eb)) != SRV_OK ||
        (result = parse_orders(order_by, n_order, t, os, eb)) != SRV_OK)
        goto out;
    /* the order first: it marks the runs' clauses its joins carry */
    if (t == T_RUNS)
        result = order_runs(cl, os, out);
    else if (t == T_EXPERIMENTS)
        order_experiments(os, out);
    else
        order_registry(os, t, out);
    for (size_t i = 0; result == SRV_OK && i < cl->n; i++) {
        strbuf_append_str(&out->where.sql, " AND (");
        result = emit_clause(&out->where, &cl->items[i], t, eb);
        strbuf_append_char(&out->where.sql, ')');
    }
out:
    if (cl)
        clauses_free(cl);
    if (os)
        orders_free(os);
    free(cl);
    free(os);
    touch(out);
    if (result == SRV_OK && sql_failed(out))
        result = SRV_E_NOMEM;
    if (result == SRV_E_NOMEM)
        err_set(eb, result, "out of memory compiling the search filter");
    return result;
}

enum srv_err filter_build_runs(const char *filter, const char *const *order_by,
                               size_t n_order, struct search_sql *out,
                               struct errbuf *eb)
{
    return build(filter, order_by, n_order, T_RUNS, out, eb);
}

enum srv_err filter_build_experiments(const char *filter,
                                      const char *const *order_by,
                                      size_t n_order, struct search_sql *out,
                                      struct errbuf *eb)
{
    return build(filter, order_by, n_order, T_EXPERIMENTS, out, eb);
}

enum srv_err filter_build_registered_models(const char *filter,
                                            const char *const *order_by,
                                            size_t n_order,
                                            struct search_sql *out,
                                            struct errbuf *eb)
{
    return build(filter, order_by, n_order, T_MODELS, out, eb);
}

enum srv_err filter_build_model_versions(const char *filter,
                                         const char *const *order_by,
                                         size_t n_order, struct search_sql *out,
                                         struct errbuf *eb)
{
    return build(filter, order_by, n_order, T_VERSIONS, out, eb);
}
