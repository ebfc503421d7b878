/* SPDX-License-Identifier: MIT
 *
 * mpu: the artifact proxy's multipart-upload routes,
 * /api/2.0/mlflow-artifacts/mpu/{create,complete,abort}/<path>. MLflow
 * supports them only for S3 and GCS destinations and answers 501 for a
 * local one; its client matches that message and falls back to one PUT
 * (specs/mlflow-artifacts.md sections 6 and 7), so we answer the same.
 */
#include "artifact_store.h"
#include "handlers/handlers.h"
#include "jsonx.h"

#include <stdio.h>
#include <string.h>

enum handler_result h_mlflow_artifacts_mpu(struct request *req,
                                           struct response *res)
{
    static const char mark[] = "/mlflow-artifacts/mpu/";
    const char *op = strstr(req->path, mark);
    op = op ? op + sizeof(mark) - 1 : "";
    const char *path = strchr(op, '/');
    path = path ? path + 1 : "";
    if (!req->app->cfg->serve_artifacts) {
        char msg[320];
        snprintf(msg, sizeof(msg),
                 "Endpoint: /api/2.0/mlflow-artifacts/mpu/%.*s/<path:path> "
                 "disabled due to the greentrack server running with "
                 "`--no-serve-artifacts`. To enable artifacts server "
                 "functionality, run greentrack-server with "
                 "`--serve-artifacts`",
                 (int)(path - op > 0 ? path - op - 1 : 0), op);
        api_error(res, SRV_E_UNAVAILABLE, msg);
        res->retry_after_s = 0;
        return H_DONE;
    }
    struct errbuf eb;
    enum srv_err e;
    const char *body_path;
    if (req->target_has_nul)
        return h_fail(
            res, err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE, "Invalid path"),
            &eb);
    if ((e = artifact_path_check(path, strlen(path), &eb)) ||
        (e = jx_str(req->args, "path", true, &body_path, &eb)))
        return h_fail(res, e, &eb);
    return h_fail(res,
                  err_set(&eb, SRV_E_NOT_IMPLEMENTED,
                          "Multipart upload is not supported for the current "
                          "artifact repository"),
                  &eb);
}
