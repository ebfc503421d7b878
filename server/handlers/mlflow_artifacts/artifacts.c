/* SPDX-License-Identifier: MIT
 *
 * artifacts: the MLflow artifact proxy, /api/2.0/mlflow-artifacts/artifacts
 * (and /ajax-api/...), over --artifact-root (specs/mlflow-artifacts.md,
 * MLflow 2.9.2's wire shapes). Files are read, written and listed by
 * artifact_store, which never follows a symbolic link below the root.
 *
 * Uploads are streamed: the handler runs when the headers are in, each
 * body piece is written to an unnamed file in the destination folder as it
 * arrives, and the fsync and rename into place run on a job thread while
 * the connection waits suspended, so neither a slow uploader nor a large
 * file holds an HTTP thread or any memory. Downloads are sent from the
 * open file (with Range support). None of this touches the store.
 */
#include "artifact_store.h"
#include "handlers/handlers.h"
#include "jsonx.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RULE_PATH "/api/2.0/mlflow-artifacts/artifacts/<path:artifact_path>"
#define RULE_LIST "/api/2.0/mlflow-artifacts/artifacts"

/* Answers 503 when the proxy is off, as MLflow does (JSON here, as every
 * API error of this server). No Retry-After: waiting will not help. */
static bool proxy_off(struct request *req, struct response *res,
                      const char *rule)
{
    if (req->app->cfg->serve_artifacts)
        return false;
    char msg[320];
    snprintf(msg, sizeof(msg),
             "Endpoint: %s disabled due to the greentrack server running "
             "with `--no-serve-artifacts`. To enable artifacts server "
             "functionality, run greentrack-server with `--serve-artifacts`",
             rule);
    api_error(res, SRV_E_UNAVAILABLE, msg);
    res->retry_after_s = 0;
    return true;
}

/* The <path> of .../mlflow-artifacts/artifacts/<path>: the router only
 * sends paths with that prefix here. */
static const char *artifact_path(const struct request *req)
{
    static const char mark[] = "/mlflow-artifacts/artifacts/";
    const char *p = strstr(req->path, mark);
    return p ? p + sizeof(mark) - 1 : "";
}

/* Checks 'path' (a %00 in the request target counts as a NUL in it). */
static enum srv_err check_path(const struct request *req, const char *path,
                               struct errbuf *eb)
{
    if (req->target_has_nul)
        return err_set(eb, SRV_E_INVALID_PARAMETER_VALUE, "Invalid path");
    return artifact_path_check(path, strlen(path), eb);
}

/* A descriptor of the artifact root, or -1 with 'eb' set. */
static int open_root(const struct request *req, struct errbuf *eb)
{
    int fd = artifact_open_base(req->app->cfg->artifact_root);
    if (fd < 0)
        err_set(eb, SRV_E_INTERNAL, "The artifact root %s cannot be opened",
                req->app->cfg->artifact_root);
    return fd;
}

/*---- GET artifacts?path=: list ----*/

enum handler_result h_mlflow_artifacts_list(struct request *req,
                                            struct response *res)
{
    if (proxy_off(req, res, RULE_LIST))
        return H_DONE;
    struct errbuf eb;
    const char *path;
    enum srv_err e;
    if ((e = jx_str(req->args, "path", false, &path, &eb)))
        return h_fail(res, e, &eb);
    if (!path)
        path = "";
    if ((e = check_path(req, path, &eb)))
        return h_fail(res, e, &eb);
    int root = open_root(req, &eb);
    if (root < 0)
        return h_fail(res, SRV_E_INTERNAL, &eb);
    struct artifact_entry *a;
    size_t n;
    e = artifact_list(root, path, &a, &n, &eb);
    close(root);
    if (e)
        return h_fail(res, e, &eb);
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_char(&sb, '{');
    return h_send_file_list(res, &sb, "\"files\":[", path, 0, a, n);
}

/*---- GET artifacts/<path>: download ----*/

enum handler_result h_mlflow_artifacts_download(struct request *req,
                                                struct response *res)
{
    if (proxy_off(req, res, RULE_PATH))
        return H_DONE;
    struct errbuf eb;
    const char *path = artifact_path(req);
    enum srv_err e;
    if ((e = check_path(req, path, &eb)))
        return h_fail(res, e, &eb);
    int root = open_root(req, &eb);
    if (root < 0)
        return h_fail(res, SRV_E_INTERNAL, &eb);
    uint64_t size = 0;
    int fd = artifact_open_read(root, path, &size, &e, &eb);
    close(root);
    if (fd < 0)
        return h_fail(res, e, &eb);
    return h_send_file(req, res, fd, size, path);
}

/*---- PUT artifacts/<path>: upload ----*/

struct upload {
    struct store_write w; /* first: http.c's pending contract (api.h) */
    struct artifact_upload u;
    uint64_t max;
};

static void upload_free(void *state)
{
    struct upload *up = state;
    artifact_upload_abort(&up->u); /* a no-op once committed */
    free(up);
}

static enum srv_err too_large(struct errbuf *eb, uint64_t max)
{
    return err_set(eb, SRV_E_TOO_LARGE,
                   "The artifact exceeds the limit of %" PRIu64
                   " bytes (--max-artifact-bytes)",
                   max);
}

static enum srv_err upload_chunk(struct request *req, const char *data,
                                 size_t len, struct errbuf *eb)
{
    struct upload *up = req->state;
    if (up->u.written + len > up->max) {
        artifact_upload_abort(&up->u); /* the partial data goes now */
        return too_large(eb, up->max);
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
    (void)res;
    struct upload *up = req->state;
    req->write = &up->w;
    req->before_write = upload_commit;
    req->after_write = NULL; /* {} */
    return H_PENDING;
}

enum handler_result h_mlflow_artifacts_upload(struct request *req,
                                              struct response *res)
{
    if (proxy_off(req, res, RULE_PATH))
        return H_DONE;
    struct errbuf eb;
    const char *path = artifact_path(req);
    enum srv_err e;
    if ((e = check_path(req, path, &eb)))
        return h_fail(res, e, &eb);
    uint64_t max = req->app->cfg->max_artifact_bytes;
    if (req->content_length >= 0 && (uint64_t)req->content_length > max)
        return h_fail(res, too_large(&eb, max), &eb);
    struct upload *up = calloc(1, sizeof(*up));
    if (!up)
        return h_fail(res, SRV_E_NOMEM, NULL);
    up->u.fd = up->u.dirfd = up->u.basefd = -1;
    up->max = max;
    req->state = up;
    req->state_free = upload_free;
    int root = open_root(req, &eb);
    if (root < 0)
        return h_fail(res, SRV_E_INTERNAL, &eb);
    e = artifact_upload_begin(&up->u, root, path, &eb);
    close(root);
    if (e)
        return h_fail(res, e, &eb);
    req->body_chunk = upload_chunk;
    req->body_end = upload_end;
    return H_BODY;
}

/*---- DELETE artifacts/<path> ----*/

struct removal {
    struct store_write w; /* first: http.c's pending contract (api.h) */
    const char *path;     /* borrowed from the request */
    const char *root;
};

/* A job thread: a folder tree may take a while. */
static void removal_run(struct request *req)
{
    struct removal *rm = req->state;
    req->skip_write = true;
    int root = artifact_open_base(rm->root);
    if (root < 0) {
        rm->w.result =
            err_set(&rm->w.err, SRV_E_INTERNAL,
                    "The artifact root %s cannot be opened", rm->root);
        return;
    }
    rm->w.result = artifact_remove(root, rm->path, NULL, &rm->w.err);
    close(root);
}

enum handler_result h_mlflow_artifacts_delete(struct request *req,
                                              struct response *res)
{
    if (proxy_off(req, res, RULE_PATH))
        return H_DONE;
    struct errbuf eb;
    const char *path = artifact_path(req);
    enum srv_err e;
    if ((e = check_path(req, path, &eb)))
        return h_fail(res, e, &eb);
    struct removal *rm = api_pending(req, sizeof(*rm), NULL);
    if (!rm)
        return h_fail(res, SRV_E_NOMEM, NULL);
    rm->path = path;
    rm->root = req->app->cfg->artifact_root;
    req->before_write = removal_run;
    return H_PENDING;
}
