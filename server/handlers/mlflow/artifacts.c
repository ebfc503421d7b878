/* SPDX-License-Identifier: MIT
 *
 * artifacts: artifacts/list over the local artifact root. A run's
 * artifact_uri is a local path (or file: URI) under --artifact-root, which
 * clients write to directly; listing reads that directory.
 */
#include "handlers/handlers.h"
#include "jsonx.h"
#include "render.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A relative path without "..", "." segments or a leading '/'. */
static bool safe_relative(const char *p)
{
    if (p[0] == '/' || strstr(p, "\\"))
        return false;
    const char *seg = p;
    for (;;) {
        const char *slash = strchr(seg, '/');
        size_t len = slash ? (size_t)(slash - seg) : strlen(seg);
        if ((len == 2 && strncmp(seg, "..", 2) == 0) ||
            (len == 1 && seg[0] == '.'))
            return false;
        if (!slash)
            return true;
        seg = slash + 1;
    }
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

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
    if (*path && !safe_relative(path))
        return h_fail(res,
                      err_set(&eb, SRV_E_INVALID_PARAMETER_VALUE,
                              "Invalid path '%.200s': it must be a relative "
                              "path without '..' segments",
                              path),
                      &eb);
    struct run r;
    if ((e = store_run_get(req->app->store, run_id, &r, &eb)))
        return h_fail(res, e, &eb);
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_str(&sb, "{\"root_uri\":");
    strbuf_append_json_str(&sb, r.artifact_uri, strlen(r.artifact_uri));
    const char *root = r.artifact_uri;
    if (strncmp(root, "file://", 7) == 0)
        root += 7;
    else if (strncmp(root, "file:", 5) == 0)
        root += 5;
    char dir[8192];
    size_t plen = strlen(path);
    while (plen && path[plen - 1] == '/')
        plen--;
    snprintf(dir, sizeof(dir), "%s%s%.*s", root, plen ? "/" : "", (int)plen,
             path);
    DIR *d = root[0] == '/' ? opendir(dir) : NULL;
    if (d) {
        char **names = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                char **p = realloc(names, cap * sizeof(*p));
                if (!p)
                    break;
                names = p;
            }
            names[n] = strdup(de->d_name);
            if (names[n])
                n++;
        }
        closedir(d);
        if (n) {
            qsort(names, n, sizeof(*names), name_cmp);
            strbuf_append_str(&sb, ",\"files\":[");
        }
        for (size_t i = 0; i < n; i++) {
            char full[12288], rel[8192];
            struct stat st;
            snprintf(full, sizeof(full), "%s/%s", dir, names[i]);
            snprintf(rel, sizeof(rel), "%.*s%s%s", (int)plen, path,
                     plen ? "/" : "", names[i]);
            bool is_dir = stat(full, &st) == 0 && S_ISDIR(st.st_mode);
            if (i)
                strbuf_append_char(&sb, ',');
            strbuf_append_str(&sb, "{\"path\":");
            strbuf_append_json_str(&sb, rel, strlen(rel));
            strbuf_append_str(&sb, is_dir ? ",\"is_dir\":true"
                                          : ",\"is_dir\":false");
            if (!is_dir) {
                strbuf_append_str(&sb, ",\"file_size\":");
                strbuf_append_i64(&sb, (int64_t)st.st_size);
            }
            strbuf_append_char(&sb, '}');
            free(names[i]);
        }
        if (n)
            strbuf_append_char(&sb, ']');
        free(names);
    }
    strbuf_append_char(&sb, '}');
    run_cleanup(&r);
    api_ok(res, &sb);
    return H_DONE;
}
