/* SPDX-License-Identifier: MIT
 *
 * artifacts: artifacts/list, a run's files as the tracking API shows them
 * (specs/mlflow-artifacts.md section 8). The run's artifact_uri is mapped
 * to a folder by h_artifact_base (handlers.h): mlflow-artifacts: URIs
 * (and local paths) under --artifact-root are listed from there with
 * artifact_store, which never follows a symbolic link below the root; a
 * local folder elsewhere only with --allow-external-artifact-locations;
 * other schemes not at all.
 */
#include "artifact_store.h"
#include "handlers/handlers.h"
#include "jsonx.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum handler_result h_artifacts_list(struct request *req, struct response *res)
{
    struct errbuf eb;
    const char *run_id, *path;
    enum srv_err e;
    if ((e = jx_run_id(req->args, true, &run_id, &eb)) ||
        (e = jx_str(req->args, "path", false, &path, &eb)))
        return h_fail(res, e, &eb);
    if (!path)
        path = "";
    if ((e = h_check_artifact_path(req, path, &eb)))
        return h_fail(res, e, &eb);
    struct run r;
    if ((e = store_run_get(req->app->store, run_id, &r, &eb)))
        return h_fail(res, e, &eb);
    char rel[ARTIFACT_MAX_PATH * 2 + 2];
    int base = h_artifact_base(req, r.artifact_uri, rel, sizeof(rel), &e, &eb);
    if (base < 0 && e) {
        run_cleanup(&r);
        return h_fail(res, e, &eb);
    }
    size_t plen = strlen(path);
    while (plen && path[plen - 1] == '/')
        plen--;
    struct artifact_entry *a = NULL;
    size_t n = 0;
    if (base >= 0) {
        size_t rl = strlen(rel);
        snprintf(rel + rl, sizeof(rel) - rl, "%s%.*s", rl ? "/" : "", (int)plen,
                 path);
        e = artifact_list(base, rel, &a, &n, &eb);
        close(base);
        if (e) {
            run_cleanup(&r);
            return h_fail(res, e, &eb);
        }
    }
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_str(&sb, "{\"root_uri\":");
    strbuf_append_json_str(&sb, r.artifact_uri, strlen(r.artifact_uri));
    run_cleanup(&r);
    return h_send_file_list(res, &sb, ",\"files\":[", path, plen, a, n);
}
