/* SPDX-License-Identifier: MIT
 *
 * health: GET /health, 200 "OK" as MLflow when the database answers,
 * else 503 JSON.
 */
#include "handlers.h"

enum handler_result h_health(struct request *req, struct response *res)
{
    if (store_ping(req->app->store) != SRV_OK) {
        api_error(res, SRV_E_UNAVAILABLE, "The database does not answer");
        return H_DONE;
    }
    strbuf_reset(&res->body);
    strbuf_append_str(&res->body, "OK");
    res->status = 200;
    res->content_type = "text/plain; charset=utf-8";
    return H_DONE;
}
