/* SPDX-License-Identifier: MIT
 *
 * artifact_store: run artifacts as files under the artifact root, for the
 * MLflow artifact proxy (specs/mlflow-artifacts.md) and artifacts/list.
 * Pure filesystem logic: no HTTP, no SQLite, no global state.
 *
 * Safety: a client path is first checked with artifact_path_check (the
 * rules of MLflow's validate_path_is_safe, plus NUL and a length limit),
 * then resolved one component at a time with openat(O_NOFOLLOW) from a
 * descriptor of the base directory, so no symbolic link under the base is
 * ever followed: a path through a link fails with ELOOP, whatever the link
 * points at, and a race that swaps a folder for a link cannot escape.
 * Uploads go to a file in the destination folder that has no name until
 * it is complete (O_TMPFILE where the filesystem has it, else a
 * ".gt-upload-*" name removed on abort), fsynced, then renamed over the
 * final name: readers see the old file or the whole new one.
 *
 * Functions returning enum srv_err write a one-line reason into 'eb'.
 * Every function may be called from any thread.
 */
#ifndef SERVER_ARTIFACT_STORE_H
#define SERVER_ARTIFACT_STORE_H

#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Longest accepted artifact path, in bytes (after percent-decoding). */
#define ARTIFACT_MAX_PATH 1024

/* Name prefix of in-progress uploads where O_TMPFILE is unavailable;
 * listings hide such names. */
#define ARTIFACT_TMP_PREFIX ".gt-upload-"

/*---- locations and URIs ----*/

/* Absolute path 'path' as a file: URI, "file:///a/b%20c", percent-encoded
 * as Python's pathlib as_uri() writes it (letters, digits, "/-._~" stay).
 * 0, or -1 when 'out' is too small. */
int artifact_file_uri(char *out, size_t outlen, const char *path);

/* The artifact_location of a new experiment 'experiment_id', as MLflow
 * 2.9.2 forms it: "mlflow-artifacts:/<id>" when the server serves
 * artifacts, else the file: URI of "<root>/<id>" (artifact_file_uri). The
 * one place where the scheme of new locations is decided. Returns 0, or
 * -1 when 'out' is too small. */
int artifact_experiment_location(char *out, size_t outlen, bool served,
                                 const char *root, int64_t experiment_id);

/* An experiment's artifact_location as the client gave it, made absolute
 * as MLflow's resolve_uri_if_local does: a relative path is joined to
 * 'cwd' (the server's working directory) and stays a path ("x/y" ->
 * "<cwd>/x/y"), a relative file: URI becomes "file://<cwd>/x/y"; absolute
 * paths and any other URI are kept as given. 0, or -1 when too long. */
int artifact_absolute_location(char *out, size_t outlen, const char *location,
                               const char *cwd);

/* A run's artifact_uri: "<experiment location>/<run_id>/artifacts",
 * joined without doubling a trailing '/'. 0, or -1 when too long. */
int artifact_run_uri(char *out, size_t outlen, const char *location,
                     const char *run_id);

enum artifact_loc {
    ARTIFACT_LOC_ROOT,     /* under the root: 'out' is relative to it */
    ARTIFACT_LOC_EXTERNAL, /* a local folder elsewhere: 'out' is absolute */
    ARTIFACT_LOC_INVALID,  /* an mlflow-artifacts path failing the rules */
    ARTIFACT_LOC_REMOTE    /* s3://, gs://, ...: not readable here */
};

/* Where the files of 'uri' (a run's artifact_uri or an experiment's
 * location) live. mlflow-artifacts:[//host]/p and
 * http(s)://.../api/2.0/mlflow-artifacts/artifacts/p map to p under
 * 'root' (spec section 2.4); local paths and file: URIs under 'root' map
 * to their part below it, others are EXTERNAL. 'out' gets the relative
 * ("" for the root itself) or absolute path. 'root' is absolute, without
 * a trailing '/'. */
enum artifact_loc artifact_resolve_uri(const char *root, const char *uri,
                                       char *out, size_t outlen);

/* Decodes %XX escapes of 's' in place ("%zz" stays as is). Returns false
 * when a %00 decoded to a NUL byte (the string then ends there). */
bool artifact_percent_decode(char *s);

/*---- paths ----*/

/* Checks a client-supplied relative path (already percent-decoded once):
 * INVALID_PARAMETER_VALUE "Invalid path" when it is longer than
 * ARTIFACT_MAX_PATH, has a NUL, '#' or '\\', is absolute (POSIX, a
 * Windows drive, or a file: URI with an absolute path), or has a ".."
 * component, in any of up to 10 further rounds of percent-decoding (as
 * MLflow decodes until stable). "." components, "a//b" and a trailing '/'
 * pass. 'len' is the byte length (a NUL inside it fails). */
enum srv_err artifact_path_check(const char *path, size_t len,
                                 struct errbuf *eb);

/* Opens 'dir' (the root, or an external base) as a directory descriptor
 * for the functions below; -1 with errno when it cannot. The base itself
 * may be a symbolic link: only what is below it is guarded. */
int artifact_open_base(const char *dir);

/*---- reading ----*/

/* Opens the regular file 'rel' below 'basefd' for reading, '*size' set.
 * RESOURCE_DOES_NOT_EXIST when missing; INVALID_PARAMETER_VALUE for a
 * directory, a symbolic link on the way, or anything but a plain file.
 * Returns the descriptor, or -1 with '*e' and 'eb' set. */
int artifact_open_read(int basefd, const char *rel, uint64_t *size,
                       enum srv_err *e, struct errbuf *eb);

struct artifact_entry {
    char *name; /* basename */
    bool is_dir;
    int64_t size; /* files only */
};

/* The direct children of folder 'rel' below 'basefd' that are plain files
 * or folders, sorted by name (symbolic links, other kinds and in-progress
 * uploads are left out). A missing 'rel', or one that is a file, gives
 * none (MLflow answers {} for both). A symbolic link on the way is
 * INVALID_PARAMETER_VALUE. '*out' is freed with artifact_entries_free. */
enum srv_err artifact_list(int basefd, const char *rel,
                           struct artifact_entry **out, size_t *n,
                           struct errbuf *eb);

void artifact_entries_free(struct artifact_entry *a, size_t n);

/*---- writing ----*/

/* An upload in progress. Zero it, then artifact_upload_begin; end with
 * artifact_upload_commit or artifact_upload_abort (abort after commit, or
 * twice, is harmless). */
struct artifact_upload {
    int dirfd; /* the destination folder */
    int fd;    /* the data, no name yet (O_TMPFILE) or 'tmpname' */
    bool named_tmp;
    bool committed;
    char name[256];   /* final basename */
    char tmpname[64]; /* ARTIFACT_TMP_PREFIX + random, when named_tmp */
    char rel[ARTIFACT_MAX_PATH + 1]; /* the path, for abort's clean-up */
    int basefd;                      /* a dup of the base */
    int created_from; /* index of the first folder this upload created, or
                         -1: abort removes them again if still empty */
    uint64_t written;
    uint64_t flushed; /* bytes whose write-back was started */
};

/* Creates the missing folders of 'rel' below 'basefd' and the unnamed
 * data file in the last one. INVALID_PARAMETER_VALUE when 'rel' names no
 * file (empty, ends in '/' or '.'), when it is an existing folder, or when
 * a component is a link or a file. */
enum srv_err artifact_upload_begin(struct artifact_upload *u, int basefd,
                                   const char *rel, struct errbuf *eb);

/* Appends 'len' bytes. INTERNAL_ERROR on a write error (ENOSPC, EIO). */
enum srv_err artifact_upload_write(struct artifact_upload *u, const void *data,
                                   size_t len, struct errbuf *eb);

/* fsyncs the data, renames it over the final name and fsyncs the folders
 * it changed. Slow (fsync): run it off the HTTP threads. */
enum srv_err artifact_upload_commit(struct artifact_upload *u,
                                    struct errbuf *eb);

/* Drops an unfinished upload: the data file goes, and so do the folders
 * begin created if they are still empty. Closes the descriptors. */
void artifact_upload_abort(struct artifact_upload *u);

/* Removes 'rel' below 'basefd': a file, a link (itself, never its target)
 * or a whole folder tree (links inside are removed, never followed).
 * A missing 'rel' is SRV_OK. An empty 'rel' (the base itself) is
 * INVALID_PARAMETER_VALUE. '*removed' (may be NULL) counts the entries
 * removed. */
enum srv_err artifact_remove(int basefd, const char *rel, uint64_t *removed,
                             struct errbuf *eb);

/* Removes folder 'rel' below 'basefd' if it is empty; true when it is
 * gone (or was not there). Never follows links. */
bool artifact_remove_empty_dir(int basefd, const char *rel);

/*---- downloads ----*/

/* The Content-Type MLflow 2.9.2 sends for a file named 'name' (spec
 * section 4): text/plain for its text extensions and MLmodel/MLproject,
 * else Python's mimetypes table, else application/octet-stream. */
const char *artifact_mime_type(const char *name);

enum artifact_range {
    ARTIFACT_RANGE_NONE,         /* no (usable) Range: send it all */
    ARTIFACT_RANGE_PARTIAL,      /* 206 with [*start, *start + *len) */
    ARTIFACT_RANGE_UNSATISFIABLE /* 416 */
};

/* Reads a Range header ('value' may be NULL) for a file of 'size' bytes:
 * one "bytes=a-b", "bytes=a-" or "bytes=-n" range. Several ranges or a
 * malformed header are ignored (the whole file is sent), as RFC 9110
 * allows. */
enum artifact_range artifact_parse_range(const char *value, uint64_t size,
                                         uint64_t *start, uint64_t *len);

/* "attachment; filename=<basename of path>" with control characters
 * replaced by '_' (they cannot go in a header). */
void artifact_disposition(char *out, size_t outlen, const char *path);

#endif
