/* SPDX-License-Identifier: MIT
 *
 * model_versions: GET /model-versions/get-artifact?path=..&name=..&
 * version=.., the download of one file of a registered model version that
 * MLflow's web UI uses (MLflow 2.9.2's get_model_version_artifact_handler;
 * the UI asks for //model-versions/get-artifact, which the router takes
 * too). The path is checked first, then the name and version, then the
 * registry (store_registry.h) resolves them to the version's source, and
 * the file is sent from under that source (h_send_artifact). A source
 * "runs:/<run_id>/<path>" is the run's artifact folder; models:/ sources
 * are not followed.
 */
#include "handlers/handlers.h"
#include "jsonx.h"
#include "messages.h"
#include "registry.h"
#include "store_registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The artifact URI of 'source' into a new string (caller frees), or NULL
 * with '*e' and 'eb' set. */
static char *source_uri(struct request *req, const char *source,
                        enum srv_err *e, struct errbuf *eb)
{
    static const char runs[] = "runs:/";
    if (strncmp(source, "models:", 7) == 0) {
        *e = err_set(eb, SRV_E_NOT_IMPLEMENTED,
                     "The model version's source '%.300s' names another "
                     "model version; the server does not follow it",
                     source);
        return NULL;
    }
    if (strncmp(source, runs, sizeof(runs) - 1) != 0) {
        char *copy = strdup(source);
        if (!copy)
            *e = err_set(eb, SRV_E_NOMEM, "out of memory");
        return copy;
    }
    const char *id = source + sizeof(runs) - 1;
    const char *slash = strchr(id, '/');
    size_t idlen = slash ? (size_t)(slash - id) : strlen(id);
    char run_id[300];
    if (idlen == 0 || idlen >= sizeof(run_id)) {
        *e = err_set(eb, MSG_RUN_NOT_FOUND, "");
        return NULL;
    }
    memcpy(run_id, id, idlen);
    run_id[idlen] = '\0';
    struct run r;
    if ((*e = store_run_get(req->app->store, run_id, &r, eb)))
        return NULL;
    const char *rest = slash ? slash : "";
    size_t n = strlen(r.artifact_uri) + strlen(rest) + 1;
    char *uri = malloc(n);
    if (uri)
        snprintf(uri, n, "%s%s", r.artifact_uri, rest);
    else
        *e = err_set(eb, SRV_E_NOMEM, "out of memory");
    run_cleanup(&r);
    return uri;
}

enum handler_result h_model_versions_get_artifact(struct request *req,
                                                  struct response *res)
{
    struct errbuf eb;
    const char *path, *name, *version_text;
    int64_t version;
    enum srv_err e;
    if ((e = jx_str(req->args, "path", false, &path, &eb)) ||
        (e = jx_str(req->args, "name", false, &name, &eb)) ||
        (e = jx_str(req->args, "version", false, &version_text, &eb)))
        return h_fail(res, e, &eb);
    if (!path)
        return h_fail(res, err_set(&eb, MSG_MISSING_PARAM, "path"), &eb);
    struct model_version v;
    if ((e = h_check_artifact_path(req, path, &eb)) ||
        (e = registry_check_name(name, &eb)) ||
        (e = registry_parse_version(version_text, &version, &eb)) ||
        (e = store_model_version_get(req->app->store, name, version, &v, &eb)))
        return h_fail(res, e, &eb);
    char *uri = source_uri(req, v.source, &e, &eb);
    model_version_cleanup(&v);
    if (!uri)
        return h_fail(res, e, &eb);
    enum handler_result hr = h_send_artifact(req, res, uri, path);
    free(uri);
    return hr;
}
