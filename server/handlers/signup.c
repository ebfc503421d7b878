/* SPDX-License-Identifier: MIT
 *
 * signup: GET /signup, MLflow's page for admins to add a user
 * (specs/mlflow-auth.md section 7): a static form posting
 * application/x-www-form-urlencoded to /api/2.0/mlflow/users/create, which
 * answers it with a page (mlflow/users.c). Admins only (router.c). No
 * request data is echoed.
 */
#include "auth.h"
#include "handlers/handlers.h"

#include <string.h>

static const char page[] =
    "<!doctype html><html><head><meta charset=\"utf-8\">"
    "<title>greentrack: sign up a user</title></head><body>"
    "<h1>Sign up a user</h1>"
    "<form method=\"post\" action=\"/api/2.0/mlflow/users/create\" "
    "enctype=\"application/x-www-form-urlencoded\">"
    "<p><label>Username <input name=\"username\" required "
    "autocomplete=\"off\"></label></p>"
    "<p><label>Password <input name=\"password\" type=\"password\" "
    "autocomplete=\"new-password\"></label></p>"
    "<p><button type=\"submit\">Sign up</button></p></form></body></html>";

enum handler_result h_signup(struct request *req, struct response *res)
{
    struct errbuf off;
    if (auth_need_on(req, &off))
        return h_fail(res, SRV_E_BAD_REQUEST, &off);
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append(&sb, page, sizeof(page) - 1);
    api_ok(res, &sb);
    res->content_type = "text/html; charset=utf-8";
    return H_DONE;
}
