/* SPDX-License-Identifier: MIT
 *
 * upload_artifact: POST /ajax-api/2.0/mlflow/upload-artifact?run_uuid=..&
 * path=.. (MLflow 2.9.2's upload_artifact_handler, which its web UI
 * uses): the raw body, at most 10 MB and not empty, becomes file 'path'
 * of the run's artifact folder. MLflow's checks, in its order: run_uuid,
 * path, the path's safety, the size, the data, the run. Any Content-Type.
 *
 * The body is streamed into artifact_store's unnamed upload file as it
 * arrives (ROUTE_STREAM_BODY), then fsynced and renamed into place on a
 * job thread, as the artifact proxy's PUT does.
 */
#include "artifact_store.h"
#include "handlers/handlers.h"
#include "jsonx.h"
#include "messages.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_UPLOAD_BYTES (10u * 1024 * 1024) /* MLflow's 10 MB */

struct upload {
    struct store_write w; /* first: http.c's pending contract (api.h) */
    struct artifact_upload u;
};

static void upload_free(void *state)
{
    struct upload *up = state;
    artifact_upload_abort(&up->u); /* a no-op once committed */
    free(up);
}

static enum srv_err upload_chunk(struct request *req, const char *data,
                                 size_t len, struct errbuf *eb)
{
    struct upload *up = req->state;
    if (up->u.written + len > MAX_UPLOAD_BYTES) {
        artifact_upload_abort(&up->u);
        return err_set(eb, MSG_UPLOAD_TOO_LARGE);
    }
    return artifact_upload_write(&up->u, data, len, eb);
}

/* A job thread: fsync and rename (slow) off the HTTP threads. */
static void upload_commit(struct request *req)
{
    struct upload *up = req->state;
    req->skip_write = true;
    up->w.result = artifact_upload_commit(&up->u, &up->w.err);
}

static enum handler_result upload_end(struct request *req, struct response *res)
{
    struct upload *up = req->state;
    if (up->u.written == 0) { /* a chunked body that held nothing */
        struct errbuf eb;
        artifact_upload_abort(&up->u);
        return h_fail(res, err_set(&eb, MSG_UPLOAD_NO_DATA), &eb);
    }
    req->write = &up->w;
    req->before_write = upload_commit;
    req->after_write = NULL; /* {} */
    return H_PENDING;
}

enum handler_result h_upload_artifact(struct request *req, struct response *res)
{
    struct errbuf eb;
    const char *run_id, *path;
    enum srv_err e;
    if ((e = jx_str(req->args, "run_uuid", false, &run_id, &eb)) ||
        (e = jx_str(req->args, "path", false, &path, &eb)))
        return h_fail(res, e, &eb);
    if (!run_id || !*run_id)
        return h_fail(res, err_set(&eb, MSG_UPLOAD_NO_RUN), &eb);
    if (!path || !*path)
        return h_fail(res, err_set(&eb, MSG_UPLOAD_NO_PATH), &eb);
    if ((e = h_check_artifact_path(req, path, &eb)))
        return h_fail(res, e, &eb);
    if (req->content_length > (int64_t)MAX_UPLOAD_BYTES)
        return h_fail(res, err_set(&eb, MSG_UPLOAD_TOO_LARGE), &eb);
    if (req->content_length == 0)
        return h_fail(res, err_set(&eb, MSG_UPLOAD_NO_DATA), &eb);
    struct run r;
    if ((e = store_run_get(req->app->store, run_id, &r, &eb)))
        return h_fail(res, e, &eb);
    char rel[ARTIFACT_MAX_PATH * 2 + 2];
    int base = h_artifact_base(req, r.artifact_uri, rel, sizeof(rel), &e, &eb);
    if (base < 0 && !e)
        e = err_set(&eb, SRV_E_RESOURCE_DOES_NOT_EXIST,
                    "The run's artifact folder '%.300s' does not exist",
                    r.artifact_uri);
    run_cleanup(&r);
    if (base < 0)
        return h_fail(res, e, &eb);
    size_t rl = strlen(rel);
    if ((size_t)snprintf(rel + rl, sizeof(rel) - rl, "%s%s", rl ? "/" : "",
                         path) >= sizeof(rel) - rl) {
        close(base);
        return h_fail(res, err_set(&eb, MSG_INVALID_PATH), &eb);
    }
    struct upload *up = calloc(1, sizeof(*up));
    if (!up) {
        close(base);
        return h_fail(res, SRV_E_NOMEM, NULL);
    }
    up->u.fd = up->u.dirfd = up->u.basefd = -1;
    req->state = up;
    req->state_free = upload_free;
    e = artifact_upload_begin(&up->u, base, rel, &eb);
    close(base);
    if (e)
        return h_fail(res, e, &eb);
    req->body_chunk = upload_chunk;
    req->body_end = upload_end;
    return H_BODY;
}
