/* SPDX-License-Identifier: MIT
 *
 * version: GET /version, the server's version as plain text.
 */
#include "version.h"

#include "handlers.h"

enum handler_result h_version(struct request *req, struct response *res)
{
    (void)req;
    strbuf_reset(&res->body);
    strbuf_append_str(&res->body, GREENTRACK_VERSION);
    res->status = 200;
    res->content_type = "text/plain; charset=utf-8";
    return H_DONE;
}
