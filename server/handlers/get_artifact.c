/* SPDX-License-Identifier: MIT
 *
 * get_artifact: GET /get-artifact?path=..&run_uuid=.. (or run_id), the
 * download of one run file that MLflow's web UI uses (MLflow 2.9.2's
 * get_artifact_handler). The path is checked first, then the run is
 * looked up, then the file is sent from the run's artifact folder with
 * MLflow's download headers (h_send_artifact).
 */
#include "handlers/handlers.h"
#include "jsonx.h"
#include "messages.h"

enum handler_result h_get_artifact(struct request *req, struct response *res)
{
    struct errbuf eb;
    const char *path, *run_id, *run_uuid;
    enum srv_err e;
    if ((e = jx_str(req->args, "path", false, &path, &eb)) ||
        (e = jx_str(req->args, "run_id", false, &run_id, &eb)) ||
        (e = jx_str(req->args, "run_uuid", false, &run_uuid, &eb)))
        return h_fail(res, e, &eb);
    if (!path)
        return h_fail(res, err_set(&eb, MSG_MISSING_PARAM, "path"), &eb);
    if ((e = h_check_artifact_path(req, path, &eb)))
        return h_fail(res, e, &eb);
    if (!run_id || !*run_id)
        run_id = run_uuid;
    if (!run_id || !*run_id) /* MLflow looks up run None */
        return h_fail(res, err_set(&eb, MSG_RUN_NOT_FOUND, "None"), &eb);
    struct run r;
    if ((e = store_run_get(req->app->store, run_id, &r, &eb)))
        return h_fail(res, e, &eb);
    enum handler_result hr = h_send_artifact(req, res, r.artifact_uri, path);
    run_cleanup(&r);
    return hr;
}
