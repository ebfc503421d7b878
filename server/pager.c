/* SPDX-License-Identifier: MIT
 *
 * pager: see pager.h. One state machine per reply: the opening brace and
 * head, then item after item (each measured in 'hold' before it is
 * admitted to the page), then the closing bracket, the token and the
 * source's tail. It runs in the handler until the reply is done or
 * PAGER_EAGER bytes are out, and on as response_stream.next (the
 * connection's thread) for the rest.
 */
#include "pager.h"

#include "log.h"
#include "pagetoken.h"
#include "store.h"

#include <stdlib.h>
#include <string.h>

/* Replies up to this size are sent whole, with a Content-Length. */
#define PAGER_EAGER PAGER_PIECE

/* Room kept on a page for what follows its last item: "]", the token
 * (an offset's base64) and the source's tail (a count). */
#define TAIL_RESERVE 160

enum phase { PH_START, PH_ITEMS, PH_BIG, PH_TAIL, PH_DONE };

struct pager {
    struct pager_source ops;
    void *src;
    char *head;
    const char *list_key, *object_key;
    bool keep_empty, no_token;
    int64_t max_items, offset;
    size_t max_bytes;

    enum phase phase;
    size_t bytes;         /* of the reply produced so far */
    int64_t items;        /* on this page */
    bool list_open;       /* "<list_key>":[ is out */
    bool members;         /* a member is out: the next one needs a comma */
    bool more;            /* the page ended before the list did */
    struct strbuf hold;   /* the item being measured */
    struct strbuf prebuf; /* produced in the handler, not yet streamed */
    bool replica;         /* the handler's read route (store.h), kept by
                             the pieces made later, on any thread */
    enum srv_err err;
    struct errbuf eb;
};

static void pager_free(void *state)
{
    struct pager *p = state;
    if (!p)
        return;
    if (p->ops.free)
        p->ops.free(p->src);
    free(p->head);
    strbuf_cleanup(&p->hold);
    strbuf_cleanup(&p->prebuf);
    free(p);
}

static void put(struct pager *p, struct strbuf *out, const char *s, size_t n)
{
    strbuf_append(out, s, n);
    p->bytes += n;
}

static void put_str(struct pager *p, struct strbuf *out, const char *s)
{
    put(p, out, s, strlen(s));
}

/* Bytes that go before the next item: a comma, or the list's opening. */
static size_t sep_len(const struct pager *p)
{
    if (p->list_open)
        return 1;
    return (p->members ? 1 : 0) + strlen(p->list_key) + 4; /* "k":[ */
}

static void open_item(struct pager *p, struct strbuf *out)
{
    if (p->list_open) {
        put(p, out, ",", 1);
        return;
    }
    if (p->members)
        put(p, out, ",", 1);
    size_t before = out->len;
    strbuf_append_json_str(out, p->list_key, strlen(p->list_key));
    strbuf_append_str(out, ":[");
    p->bytes += out->len - before;
    p->list_open = p->members = true;
}

/* The rendered size of the rest of the current item (whose first
 * 'held' bytes are measured), counted up to just past 'room': '*fits'
 * when all of it is within. */
static enum srv_err measure_rest(struct pager *p, size_t held, size_t room,
                                 bool *fits)
{
    struct strbuf scratch;
    strbuf_init(&scratch);
    size_t size = held;
    bool complete = false;
    enum srv_err e = SRV_OK;
    while (!complete && size <= room) {
        strbuf_reset(&scratch);
        if ((e = p->ops.piece(p->src, &scratch, PAGER_PIECE, &complete,
                              &p->eb)))
            break;
        if (scratch.oom) {
            e = err_set(&p->eb, SRV_E_NOMEM, "out of memory");
            break;
        }
        size += scratch.len;
    }
    strbuf_cleanup(&scratch);
    *fits = complete && size <= room;
    return e;
}

/* The next item of a list page. The page's first item, and any item of a
 * list without a byte cap, goes out as it is produced; a later one is
 * measured first (held whole up to PAGER_HOLD bytes, else counted by a
 * first rendering), then sent or left for the next page. */
static int step_item(struct pager *p, struct strbuf *out)
{
    bool have, complete = false;
    if ((p->err = p->ops.next_item(p->src, &have, &p->eb)))
        return -1;
    if (!have) {
        p->phase = PH_TAIL;
        return 1;
    }
    if (p->max_items > 0 && p->items >= p->max_items) {
        p->more = true;
        p->phase = PH_TAIL;
        return 1;
    }
    if (p->items == 0 || !p->max_bytes) {
        open_item(p, out);
        p->phase = PH_BIG;
        return 1;
    }
    size_t need = p->bytes + sep_len(p) + TAIL_RESERVE;
    size_t room = p->max_bytes > need ? p->max_bytes - need : 0;
    size_t limit = room < PAGER_HOLD ? room : PAGER_HOLD;
    strbuf_reset(&p->hold);
    while (!complete && p->hold.len <= limit) {
        if ((p->err = p->ops.piece(p->src, &p->hold, PAGER_PIECE, &complete,
                                   &p->eb)))
            return -1;
    }
    if (p->hold.oom) {
        p->err = err_set(&p->eb, SRV_E_NOMEM, "out of memory");
        return -1;
    }
    bool fits = complete && p->hold.len <= room;
    if (!complete && p->hold.len <= room && p->ops.restart) {
        if ((p->err = measure_rest(p, p->hold.len, room, &fits)))
            return -1;
        if (fits) { /* sent from its start, piece by piece */
            p->ops.restart(p->src);
            strbuf_cleanup(&p->hold);
            open_item(p, out);
            p->phase = PH_BIG;
            return 1;
        }
    }
    if (!fits) {
        p->more = true;
        p->phase = PH_TAIL;
        if (p->hold.cap > 2 * PAGER_PIECE)
            strbuf_cleanup(&p->hold);
        return 1;
    }
    open_item(p, out);
    put(p, out, p->hold.buf ? p->hold.buf : "", p->hold.len);
    if (p->hold.cap > 2 * PAGER_PIECE)
        strbuf_cleanup(&p->hold); /* keep no large buffer between items */
    else
        strbuf_reset(&p->hold);
    p->items++;
    return 1;
}

/* One step of the reply: 1 when more follows, 0 when the reply is done,
 * -1 on an error (p->err, p->eb). */
static int step(struct pager *p, struct strbuf *out)
{
    bool have, complete = false;
    size_t before;
    switch (p->phase) {
    case PH_START:
        put(p, out, "{", 1);
        if (p->object_key) {
            before = out->len;
            strbuf_append_json_str(out, p->object_key, strlen(p->object_key));
            strbuf_append_char(out, ':');
            p->bytes += out->len - before;
            if ((p->err = p->ops.next_item(p->src, &have, &p->eb)))
                return -1;
            if (!have) {
                p->err = err_set(&p->eb, SRV_E_RESOURCE_DOES_NOT_EXIST,
                                 "The object no longer exists");
                return -1;
            }
            p->phase = PH_BIG;
            return 1;
        }
        if (p->head && *p->head) {
            put_str(p, out, p->head);
            p->members = true;
        }
        p->phase = PH_ITEMS;
        return 1;
    case PH_ITEMS:
        return step_item(p, out);
    case PH_BIG:
        before = out->len;
        if ((p->err =
                 p->ops.piece(p->src, out, PAGER_PIECE, &complete, &p->eb)))
            return -1;
        p->bytes += out->len - before;
        if (!complete)
            return 1;
        p->items++;
        if (p->object_key) {
            put(p, out, "}", 1);
            p->phase = PH_DONE;
            return 0;
        }
        p->phase = PH_ITEMS;
        return 1;
    case PH_TAIL:
        if (p->list_open) {
            put(p, out, "]", 1);
        } else if (p->keep_empty) {
            open_item(p, out);
            put(p, out, "]", 1);
        }
        before = out->len;
        if (p->more && !p->no_token) {
            if (p->members)
                strbuf_append_char(out, ',');
            strbuf_append_str(out, "\"next_page_token\":");
            pagetoken_append_json(out, p->offset + p->items);
        }
        if (p->ops.tail)
            p->ops.tail(p->src, out);
        strbuf_append_char(out, '}');
        p->bytes += out->len - before;
        p->phase = PH_DONE;
        return 0;
    case PH_DONE:
        break;
    }
    return 0;
}

/* Steps until 'out' grew by 'want' bytes: 1 when more follows, 0 when
 * the reply is done, -1 on an error. */
static int produce(struct pager *p, struct strbuf *out, size_t want)
{
    size_t start = out->len;
    while (out->len - start < want) {
        int r = step(p, out);
        if (r >= 0 && out->oom) {
            p->err = err_set(&p->eb, SRV_E_NOMEM, "out of memory");
            r = -1;
        }
        if (r <= 0)
            return r;
    }
    return 1;
}

/* response_stream.next */
static bool pager_next(void *state, struct strbuf *out, bool *failed)
{
    struct pager *p = state;
    if (p->prebuf.len) {
        strbuf_append(out, p->prebuf.buf, p->prebuf.len);
        strbuf_cleanup(&p->prebuf);
        return true;
    }
    bool was = store_read_route(p->replica);
    int r = produce(p, out, PAGER_PIECE);
    store_read_route(was);
    if (r < 0) {
        log_warn("a streamed reply was cut short: %s", p->eb.msg);
        *failed = true;
    }
    return r > 0;
}

enum handler_result pager_respond(struct response *res,
                                  const struct pager_page *page,
                                  const struct pager_source *ops, void *src)
{
    struct pager *p = calloc(1, sizeof(*p));
    char *head = page->head ? strdup(page->head) : NULL;
    if (!p || (page->head && !head)) {
        free(p);
        free(head);
        if (ops->free)
            ops->free(src);
        api_error(res, SRV_E_NOMEM, "out of memory");
        return H_DONE;
    }
    p->ops = *ops;
    p->src = src;
    p->head = head;
    p->list_key = page->list_key ? page->list_key : "items";
    p->object_key = page->object_key;
    p->keep_empty = page->keep_empty;
    p->no_token = page->no_token;
    p->max_items = page->max_items;
    p->max_bytes = page->max_bytes;
    p->offset = page->offset;
    p->replica = store_read_route_get();
    strbuf_init(&p->hold);
    strbuf_init(&p->prebuf);
    struct strbuf first;
    strbuf_init(&first);
    int r = produce(p, &first, PAGER_EAGER);
    if (r < 0) {
        strbuf_cleanup(&first);
        api_error(res, p->err, p->eb.msg);
        pager_free(p);
        return H_DONE;
    }
    if (r == 0) {
        api_ok(res, &first);
        pager_free(p);
        return H_DONE;
    }
    p->prebuf = first;
    res->status = 200;
    res->content_type = "application/json";
    res->stream.next = pager_next;
    res->stream.state = p;
    res->stream.free_state = pager_free;
    return H_DONE;
}
