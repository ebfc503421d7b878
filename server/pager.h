/* SPDX-License-Identifier: MIT
 *
 * pager: list replies built piece by piece and capped per page by bytes as
 * well as by rows. A handler checks its request, then describes the page
 * (its list's name, the row limit, the byte cap, the offset of its first
 * item) and the list's items (a pager_source); pager_respond sends a reply
 * that fits a small buffer whole (with Content-Length) and streams a
 * larger one through api.h's response_stream, so the memory a reply holds
 * is a piece of it, whatever the data, and a client that does not read
 * holds at most one piece.
 *
 * A page ends before the item that would take it past the byte cap, with a
 * next_page_token (MLflow's offset token) for the items still to come; an
 * item larger than the cap on its own still goes out, alone on its page.
 * Items are measured before they are sent: one up to PAGER_HOLD bytes is
 * held whole; a larger one is rendered once to count it and then again to
 * send it.
 */
#ifndef SERVER_PAGER_H
#define SERVER_PAGER_H

#include "api.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes of reply appended per streamed piece, and the largest reply sent
 * whole. */
#define PAGER_PIECE (64 * 1024)
/* The largest item held whole while deciding whether it fits the page. */
#define PAGER_HOLD (256 * 1024)

/* A list's items, produced in pieces. Every callback gets the source's
 * state; errors set 'eb' and return the error. */
struct pager_source {
    /* Moves to the next item: '*have' false when the list has no more. */
    enum srv_err (*next_item)(void *src, bool *have, struct errbuf *eb);
    /* Appends the next piece of the current item to 'out' (about 'hint'
     * bytes, at least one row of it); '*complete' once the item ended. */
    enum srv_err (*piece)(void *src, struct strbuf *out, size_t hint,
                          bool *complete, struct errbuf *eb);
    /* Starts the current item over: its next piece is its first again.
     * May be NULL when every item comes in one piece. */
    void (*restart)(void *src);
    /* Appends members after the list and the token, each with a leading
     * comma (",\"total\":3"); may be NULL. */
    void (*tail)(void *src, struct strbuf *out);
    /* Frees the state (also when the reply was cut short). */
    void (*free)(void *src);
};

struct pager_page {
    /* JSON members before the list, without braces or a trailing comma
     * ("\"root_uri\":\"x\""), or NULL; copied. */
    const char *head;
    /* The list's member name ("runs"); static. NULL with 'object_key':
     * the reply is {"<object_key>": <the one item>} (runs/get), not a
     * list. */
    const char *list_key;
    const char *object_key;
    bool keep_empty;   /* write "runs":[] for no items (MLflow omits it) */
    int64_t max_items; /* rows per page; <= 0: no row limit */
    size_t max_bytes;  /* byte cap of the page; 0: none (streamed only) */
    int64_t offset;    /* offset of the page's first item (for the token) */
    bool no_token;     /* never write a next_page_token (a list that has
                          no paging: with max_bytes 0) */
};

/* Answers with the page of 'ops' over 'src' (taken over: ops->free runs
 * in every case): 200 with the whole body when it is small, else a
 * stream. An error before anything was produced is the error reply; after
 * the first streamed piece, an error cuts the reply short (api.h). Always
 * H_DONE. */
enum handler_result pager_respond(struct response *res,
                                  const struct pager_page *page,
                                  const struct pager_source *ops, void *src);

#endif
