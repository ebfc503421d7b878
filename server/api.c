/* SPDX-License-Identifier: MIT
 *
 * api: response helpers shared by every handler.
 */
#include "api.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void api_error(struct response *res, enum srv_err e, const char *message)
{
    strbuf_reset(&res->body);
    if (res->file.set) { /* an error instead of the file */
        close(res->file.fd);
        res->file.set = false;
    }
    res->status = err_http_status(e);
    res->content_type = "application/json";
    res->retry_after_s = e == SRV_E_UNAVAILABLE ? 1 : 0;
    const char *code = err_code_name(e);
    strbuf_append_str(&res->body, "{\"error_code\":");
    strbuf_append_json_str(&res->body, code, strlen(code));
    strbuf_append_str(&res->body, ",\"message\":");
    strbuf_append_json_str(&res->body, message, strlen(message));
    strbuf_append_char(&res->body, '}');
}

void api_ok(struct response *res, struct strbuf *body)
{
    strbuf_cleanup(&res->body);
    res->body = *body;
    strbuf_init(body);
    res->status = 200;
    res->content_type = "application/json";
}

void api_ok_empty(struct response *res)
{
    strbuf_reset(&res->body);
    strbuf_append_str(&res->body, "{}");
    res->status = 200;
    res->content_type = "application/json";
}

bool api_add_header(struct response *res, const char *name, const char *value)
{
    if (res->n_headers >= RESPONSE_MAX_HEADERS)
        return false;
    char *v = strdup(value);
    if (!v)
        return false;
    res->headers[res->n_headers].name = name;
    res->headers[res->n_headers].value = v;
    res->n_headers++;
    return true;
}

void *api_pending(struct request *req, size_t size,
                  enum handler_result (*after_write)(struct request *,
                                                     struct response *))
{
    void *state = calloc(1, size);
    if (!state)
        return NULL;
    req->state = state;
    req->write = state;
    req->after_write = after_write;
    return state;
}
