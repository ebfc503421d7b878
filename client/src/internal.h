/* SPDX-License-Identifier: MIT
 *
 * internal.h: libgreentrack's private declarations, shared by the modules
 * under client/src (client.c: handles, options, errors, stats; queue.c: the
 * bounded record queue; batch.c: records to log-batch JSON; mlflow_names.c:
 * MLflow's naming rules, shared with the server; transport.c:
 * libcurl; spool.c: the on-disk spool; worker.c: the worker thread and the
 * send engine; artifacts.c: artifact uploads, their thread, and the tools'
 * transfers; exit.c: process-exit hooks; phase.c: run phases; budget.c:
 * experiments' carbon budgets; creds.c: credentials, the credentials file
 * and the CA bundle). Nothing here is exported.
 */
#ifndef GT_INTERNAL_H
#define GT_INTERNAL_H

#include "greentrack.h"
#include "mlflow_names.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*---- limits (MLflow's own are mlflow_names.h's) ----*/

#define GT_MAX_SAFE_INT 9007199254740992LL /* 2^53 */
#define GT_ID_MAX 64                       /* longest run id we accept */
#define GT_PHASE_NAME_MAX 64 /* a phase name: [A-Za-z0-9_.-], 1..64 */
#define GT_WORK_UNIT_MAX 64  /* a work unit: UTF-8, at most 64 chars */

/*---- a growable byte buffer (curl dynbuf shape) ----*/

/* gt_buf_init cannot fail; a failed append sets 'oom' and later appends
 * are no-ops, so callers check once at the end. Always NUL-terminated once
 * anything was appended. */
struct gt_buf {
    char *p;
    size_t len;
    size_t cap;
    bool oom;
};

void gt_buf_init(struct gt_buf *b);
void gt_buf_cleanup(struct gt_buf *b);
void gt_buf_reset(struct gt_buf *b);
void gt_buf_add(struct gt_buf *b, const void *data, size_t len);
void gt_buf_adds(struct gt_buf *b, const char *s);
/* Appends 's' (len bytes) as a quoted, escaped JSON string. */
void gt_buf_add_json_str(struct gt_buf *b, const char *s, size_t len);
void gt_buf_add_i64(struct gt_buf *b, int64_t v);
/* Exact text for a double; NaN and infinities as MLflow's strings. */
void gt_buf_add_double(struct gt_buf *b, double v);
/* Appends 's' percent-encoded for a query string. */
void gt_buf_add_urlenc(struct gt_buf *b, const char *s);

/*---- records ----*/

enum rec_type {
    REC_METRIC = 1,
    REC_PARAM = 2,
    REC_TAG = 3,
    REC_CREATE = 4, /* key: experiment name, val: run name */
    REC_END = 5,    /* flags: gt_run_status; ts: end time */
    REC_ENERGY = 6, /* val: one runs/log-energy sample, a JSON object */
    /* key: the artifact path, val: the absolute local path; a file's
     * size in 'step' and its mtime (Unix ns) in 'ts' as they were logged;
     * REC_F_DIR: a folder, whose files are found when it is sent */
    REC_ARTIFACT = 7,
    /* one runs/log-phase record (phase.c): key: the phase name, val: the
     * work unit (may be empty); 'step' the start and 'ts' the end time
     * (Unix ms); 'value' the work count when REC_F_HAS_WORK */
    REC_PHASE = 8,
    REC_LAST = REC_PHASE /* the highest type the spool reads */
};

#define REC_F_HAS_EXP 0x01  /* REC_CREATE: an experiment name is given */
#define REC_F_HAS_NAME 0x02 /* REC_CREATE: a run name is given */
/* REC_TAG added by the library (energy.c): not counted in gt_stats */
#define REC_F_AUTO 0x04
#define REC_F_DIR 0x08      /* REC_ARTIFACT: a folder (gt_log_artifacts) */
#define REC_F_HAS_WORK 0x10 /* REC_PHASE: 'value' is the work count */

/* One queued record: this header, then 'klen' key bytes and 'vlen' value
 * bytes (no terminators), padded to 8 bytes. Lives in a queue chunk. */
struct rec {
    uint32_t size; /* header + data, padded */
    uint8_t type;
    uint8_t flags;
    uint16_t klen;
    uint32_t vlen;
    uint32_t unused;
    struct gt_run *run; /* NULL for records read from a spool */
    double value;
    int64_t step;
    int64_t ts; /* metric timestamp, run start or end time (Unix ms) */
};

static inline const char *rec_key(const struct rec *r)
{
    return (const char *)(r + 1);
}

static inline const char *rec_val(const struct rec *r)
{
    return (const char *)(r + 1) + r->klen;
}

static inline uint32_t rec_size_for(size_t klen, size_t vlen)
{
    return (uint32_t)((sizeof(struct rec) + klen + vlen + 7) & ~(size_t)7);
}

static inline bool rec_is_data(const struct rec *r)
{
    return r->type == REC_METRIC || r->type == REC_PARAM || r->type == REC_TAG;
}

/* A data record the caller logged: counted in gt_stats. */
static inline bool rec_is_counted(const struct rec *r)
{
    return rec_is_data(r) && !(r->flags & REC_F_AUTO);
}

/*---- log-batch JSON (batch.c) ----*/

/* Data records waiting for one run, in order (copies of queue records). */
struct pending {
    struct gt_buf recs; /* struct rec images, back to back */
    uint32_t count, metrics, params, tags;
};

void pending_init(struct pending *p);
void pending_cleanup(struct pending *p);
void pending_reset(struct pending *p);
/* Appends a copy of data record 'r'; false when out of memory. */
bool pending_add(struct pending *p, const struct rec *r);
/* True when one more record of 'type' would break a batch limit. */
bool pending_full_for(const struct pending *p, uint8_t type);
/* The i-th record; 'off' walks: start with *off = 0. */
const struct rec *pending_next(const struct pending *p, size_t *off);

/* Records of [from, to) of 'p' that count in gt_stats (rec_is_counted). */
uint32_t pending_counted(const struct pending *p, uint32_t from, uint32_t to);

/* Writes the runs/log-batch body for records [from, to) of 'p' (counting
 * records, not bytes) into 'out' (reset first). */
void batch_json(struct gt_buf *out, const char *run_id, const struct pending *p,
                uint32_t from, uint32_t to);

/*---- the queue (queue.c) ----*/

#define QUEUE_CHUNK_BYTES (64 * 1024)

struct qchunk {
    struct qchunk *next;
    size_t used, cap;
    uint64_t nrecs;
    /* records follow, 8-aligned */
};

static inline char *qchunk_data(struct qchunk *c)
{
    return (char *)(c + 1);
}

struct queue {
    pthread_mutex_t mu;
    pthread_cond_t wake; /* worker: work or stop */
    pthread_cond_t done; /* flushers: done_seq moved */
    struct qchunk *head, *tail;
    struct qchunk *spare; /* free chunks of the standard size */
    int nspare;
    size_t bytes, bound; /* queued record bytes (incl. in the worker) */
    uint64_t enq_seq;    /* records ever enqueued */
    uint64_t done_seq;   /* records sent, spooled or dropped */
    uint64_t enq_data;   /* data records ever enqueued */
    uint64_t done_data;  /* data records finished */
    bool closed;
    bool flush_req;
};

int queue_init(struct queue *q, size_t bound);
void queue_cleanup(struct queue *q);
/* Copies a record in. 'control' records (run create/end) ignore the byte
 * bound. GT_OK, GT_E_QUEUE_FULL, GT_E_NOMEM, GT_E_CLOSED. Never blocks
 * beyond the queue mutex. '*dropped' is incremented on GT_E_QUEUE_FULL. */
gt_status queue_push(struct queue *q, const struct rec *hdr, const char *key,
                     const char *val, bool control, _Atomic uint64_t *dropped);
/* Worker: takes every queued chunk (caller owns the list), NULL if none.
 * Call with q->mu held. */
struct qchunk *queue_take_locked(struct queue *q);
/* Worker: gives a processed chunk back and releases its bytes. */
void queue_release(struct queue *q, struct qchunk *c);
/* Worker: 'nrecs' records ('ndata' of them data) are finished. */
void queue_mark_done(struct queue *q, uint64_t nrecs, uint64_t ndata);

/*---- CRC32 and the spool (spool.c) ----*/

uint32_t gt_crc32(uint32_t crc, const void *data, size_t len);

#define SPOOL_MAGIC "GTSPOOL1"
#define SPOOL_MAGIC_LEN 8
#define SPOOL_MAX_PAYLOAD (1u << 20)

/* Appends one framed record (u32 length, u32 CRC32 of the payload, the
 * payload) naming run 'run_id' to 'out'. */
void spool_frame(struct gt_buf *out, const struct rec *r, const char *run_id);

/* A record read back: 'r' is followed by its key and value in 'buf'. */
struct spool_item {
    struct gt_buf buf;
    char run_id[GT_ID_MAX + 1];
};

struct spool_reader {
    int fd;
    uint64_t off;       /* next record's offset */
    uint64_t end;       /* file size when opened */
    uint64_t skipped;   /* corrupt records skipped */
    bool torn;          /* stopped at a torn or unreadable tail */
    unsigned char *buf; /* read window */
    size_t cap, len;
    uint64_t buf_off;
};

void spool_reader_init(struct spool_reader *r, int fd, uint64_t off);
void spool_reader_cleanup(struct spool_reader *r);

/* Reads the next record at r->off into 'it'. 1: a record; 0: the end (or a
 * torn tail, r->torn set); -1: a read error. Corrupt records (bad CRC or
 * unknown type with a plausible length) are skipped and counted. */
int spool_read_next(struct spool_reader *r, struct spool_item *it);
static inline const struct rec *spool_item_rec(const struct spool_item *it)
{
    return (const struct rec *)(const void *)it->buf.p;
}
/* Counts the valid records from 'off' to the end. */
uint64_t spool_count(int fd, uint64_t off);

/* This process's own spool file, created at first use. */
struct spool {
    char *dir;
    char *path;
    int fd;
    uint64_t end;   /* bytes written */
    uint64_t rd;    /* replay position */
    uint64_t nrecs; /* records not yet replayed */
};

/* "<prefix><what> <path>: <errno text of e>" into 'err'. */
void gt_errno_text(char *err, size_t errlen, const char *prefix,
                   const char *what, const char *path, int e);

void spool_init(struct spool *s);
/* Creates the directory and file, locked with flock. GT_OK or GT_E_IO. */
gt_status spool_open(struct spool *s, char *err, size_t errlen);
gt_status spool_write(struct spool *s, const void *data, size_t len,
                      uint64_t nrecs, char *err, size_t errlen);
/* Everything was replayed: truncates back to the header. */
void spool_reset(struct spool *s);
/* Closes; the file is removed when nothing is left to replay. */
void spool_close(struct spool *s);
/* Resolves the default directory from the environment (malloc'd):
 * $GREENTRACK_SPOOL_DIR, $XDG_CACHE_HOME/greentrack/spool,
 * $HOME/.cache/greentrack/spool, $XDG_RUNTIME_DIR/greentrack-spool,
 * /tmp/greentrack-spool-<uid>. */
char *spool_default_dir(void);
/* Checks the spool directory 'dir' (created, with its missing parents,
 * when 'create'): a real directory (lstat: a symbolic link is refused)
 * owned by this user, with no access for group or others (a directory of
 * ours with a wider mode is set to 0700). 0, or -1 with 'err' set. A
 * missing 'dir' is fine when not 'create' (there is nothing in it). */
int spool_dir_check(const char *dir, bool create, char *err, size_t errlen);
/* Lists "*.spool" files of 'dir' in name order (oldest first), after
 * spool_dir_check (a directory that fails it is an error: its files could
 * be anyone's). Caller frees each name and the array. Returns the count,
 * -1 on error. */
int spool_list(const char *dir, char ***names);

/*---- credentials (creds.c) ----*/

enum cred_kind {
    CRED_NONE,  /* anonymous */
    CRED_BASIC, /* username and password: HTTP Basic */
    CRED_TOKEN  /* an API token: Authorization: Bearer */
};

/* A client's credentials, shared with its transports (each re-applies
 * them when 'gen' moved). Everything under 'mu'. The secrets are owned
 * here and wiped when freed; 'source' and 'note' never hold one. */
struct gt_creds {
    pthread_mutex_t mu;
    unsigned gen; /* bumped at every change */
    enum cred_kind kind;
    char *username;   /* CRED_BASIC; or the token's user (the file's) */
    char *password;   /* CRED_BASIC */
    char *token;      /* CRED_TOKEN */
    char *ca_bundle;  /* $GREENTRACK_CA_BUNDLE or the setter; NULL: curl's
                         default trust store */
    char source[200]; /* where they came from, for messages */
    char note[400];   /* why a credential found was not used ("" if none) */
};

/* Fills 'cr' from the environment, then the credentials file's section
 * for 'uri' (see creds.c for the order). 0, or -1 when out of memory. */
int creds_init(struct gt_creds *cr, const char *uri);
void creds_cleanup(struct gt_creds *cr);
/* Setters (copies; the old secrets are wiped). GT_OK or GT_E_NOMEM. */
gt_status creds_set_basic(struct gt_creds *cr, const char *username,
                          const char *password);
gt_status creds_set_token(struct gt_creds *cr, const char *token);
gt_status creds_set_ca(struct gt_creds *cr, const char *path);
/* One line for a 401 or 403 answer: which credential is missing or was
 * refused and how to set it; 'detail' is the server's message (may be
 * ""). Never contains a secret. */
void creds_explain(struct gt_creds *cr, long status, const char *detail,
                   char *out, size_t outlen);

/* The credentials file's path (malloc'd), NULL when neither
 * $XDG_CONFIG_HOME nor $HOME is an absolute path. */
char *creds_file_path(void);

/* One section of the credentials file. */
struct creds_entry {
    char *token;
    char *token_id;
    char *username;
};
void creds_entry_cleanup(struct creds_entry *e);
/* Reads the section for 'uri' (trailing slashes ignored) of file 'path',
 * which must be a regular file of this user with no access for group or
 * others. 1 with '*out' filled (caller cleans it up; token set), 0 when
 * there is no file or no such section with a token, -1 with 'err' set
 * (refused or unreadable). */
int creds_file_lookup(const char *path, const char *uri,
                      struct creds_entry *out, char *err, size_t errlen);
/* Replaces (or adds) the section for 'uri' in file 'path' (created with
 * its folders, mode 0600, written to a temporary file and renamed).
 * 'username' and 'token_id' may be NULL. GT_OK, GT_E_INVALID (a value
 * with a control character), GT_E_IO, GT_E_NOMEM; 'err' says why. */
gt_status creds_file_store(const char *path, const char *uri,
                           const char *username, const char *token,
                           const char *token_id, char *err, size_t errlen);
/* Removes the section for 'uri'; its token_id (malloc'd, or NULL) goes to
 * '*token_id' when not NULL. GT_OK, GT_E_NOT_FOUND, GT_E_IO, GT_E_NOMEM. */
gt_status creds_file_remove(const char *path, const char *uri, char **token_id,
                            char *err, size_t errlen);

/*---- transport (transport.c) ----*/

/* Progress of an artifact transfer: bytes moved so far of 'total' (0 when
 * unknown). Non-zero cuts the transfer. Called on the transferring thread. */
typedef int (*tp_xfer_fn)(void *ud, uint64_t now, uint64_t total);

enum tp_result {
    TP_OK,       /* 2xx */
    TP_REJECTED, /* 4xx other than 401/403/408/429: never retried */
    TP_RETRY,    /* network error, 5xx, 408, 429 */
    TP_AUTH      /* 401 or 403: never retried; 'err' says which credential
                    is missing (creds_explain) */
};

struct transport;

/* 'cr' (may be NULL: anonymous, default trust) is borrowed: it must
 * outlive the transport; it is read at each request. */
struct transport *transport_new(const char *base_uri, long timeout_ms,
                                struct gt_creds *cr);
void transport_free(struct transport *t);
void transport_set_timeout(struct transport *t, long timeout_ms);
/* One request, no retry. 'method' "GET" or "POST". '*status' gets the HTTP
 * status (0 when none came), the body stays in the transport until the
 * next call (transport_body). '*retry_after_ms' is the server's
 * Retry-After, or -1. 'err' receives a description on failure. */
enum tp_result transport_call(struct transport *t, const char *method,
                              const char *path, const char *body,
                              size_t body_len, long *status,
                              int64_t *retry_after_ms, char *err,
                              size_t errlen);
const char *transport_body(const struct transport *t, size_t *len);
/* PUTs 'size' bytes of file 'fd' (read with pread from offset 0) to the
 * whole URL 'url', streamed. '*sent' gets the bytes read from the file;
 * '*short_read' is set when the file ended (or failed) before 'size'. No
 * total time limit: a connection idle for the transport's timeout is cut.
 * Results and '*status' as transport_call. */
enum tp_result transport_upload(struct transport *t, const char *url, int fd,
                                uint64_t size, tp_xfer_fn fn, void *ud,
                                long *status, int64_t *retry_after_ms,
                                uint64_t *sent, bool *short_read, char *err,
                                size_t errlen);
/* GETs 'url' into file 'fd' (written from offset 0) when the answer is a
 * 2xx; another answer's body stays in the transport. '*write_errno' is set
 * when the file could not be written (the transfer is then cut). */
enum tp_result transport_download(struct transport *t, const char *url, int fd,
                                  tp_xfer_fn fn, void *ud, long *status,
                                  int64_t *retry_after_ms, uint64_t *received,
                                  int *write_errno, char *err, size_t errlen);

/*---- the client ----*/

/* Per-run send state, used by the engine for live runs and for runs read
 * back from a spool. */
struct target {
    char id[GT_ID_MAX + 1];  /* the id records carry */
    char sid[GT_ID_MAX + 1]; /* the id the server knows ("" = id) */
    struct pending pend;
    struct target *next_pend; /* engine's list of targets with records */
    bool in_pend;
    /* live runs, worker only: artifact uploads in flight; the run's end
     * waits in 'end_rec' until they are done (its end is recorded after
     * the artifacts logged before it) */
    int art_pending;
    bool end_deferred;
    struct rec end_rec;
    struct target *next_deferred; /* the worker's list of waiting ends */
};

struct gt_run {
    gt_client *client;
    char id[GT_ID_MAX + 1]; /* client-chosen, immutable */
    /* the server's id: written once by the worker before 'sid_known' is
     * set (release); read after an acquire load */
    char sid[GT_ID_MAX + 1];
    atomic_bool sid_known;
    atomic_bool created; /* the server acknowledged it: heartbeat it */
    struct gt_run *next_open, *prev_open; /* client->open list */
    bool open;
    /* under the client's mu: gt_run_end could not queue the end; the
     * client ends the run with 'end_status' */
    bool end_asked;
    gt_run_status end_status;
    struct target tgt; /* worker only */
    /* energy.c, under the client's energy mutex */
    struct gt_run *e_next, *e_prev; /* runs being measured */
    bool e_listed;
    bool e_host_sent, e_cloud_sent; /* auto tags queued */
    bool e_measured;                /* got at least one window */
    double e_cpu_j, e_gpu_j, e_ram_j;
    const char *e_cpu_method, *e_gpu_method, *e_ram_method, *e_scope;
    int64_t e_start_ms, e_end_ms;
    /* phase.c, under the client's mu: the phase gt_phase_begin opened */
    bool ph_open;
    char ph_name[GT_PHASE_NAME_MAX + 1];
    int64_t ph_start_ms;
};

struct energy_state; /* energy.c */

struct gt_client {
    char *uri;
    char *user;
    struct gt_creds creds; /* creds.c */
    atomic_int flush_interval_ms;
    atomic_int flush_timeout_ms;
    atomic_int request_timeout_ms;
    int heartbeat_ms;
    gt_log_fn log_fn; /* under mu */
    void *log_ud;

    struct queue q;
    pthread_t worker;
    void *worker_state;
    bool worker_started;
    int64_t stop_deadline_ms; /* under q.mu */
    bool stop;                /* under q.mu */

    pthread_mutex_t mu; /* open runs, errmsg, spool dir */
    struct gt_run *open_runs;
    char errmsg[512];
    char *spool_dir;
    bool started; /* a run was started: setters refuse */

    _Atomic uint64_t sent, spooled, replayed, dropped;
    _Atomic uint64_t energy_sent, energy_dropped;
    _Atomic uint64_t art_uploaded, art_spooled, art_changed, art_failed;
    bool art_ready; /* under q.mu: the uploader finished a job */
    atomic_bool exit_hooked;
    struct energy_state *energy; /* energy.c; NULL when out of memory */
};

/* Records an error: errmsg and the log callback (client.c). */
void gt_client_error(gt_client *c, gt_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void gt_client_log(gt_client *c, gt_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Ends every open run with 'status' (enqueues the ends). */
void gt_client_end_open_runs(gt_client *c, gt_run_status status);
/* Removes 'c' from the exit-handler registry (exit.c). */
void gt_exit_unregister(gt_client *c);

/*---- energy measurement (energy.c, cloud.c) ----*/

/* Reads the GREENTRACK_ENERGY* and location variables; allocates
 * c->energy (left NULL, energy off, when out of memory). Starts nothing. */
void energy_init(gt_client *c);
/* Stops the sampler thread, closes the probes, frees c->energy. */
void energy_cleanup(gt_client *c);
/* How long energy windows last (ms) when closing one costs 'take_cpu_us'
 * of CPU: 10 s, longer when closing is costly, at most 60 s. */
int64_t energy_window_ms(int64_t take_cpu_us);
/* A run was started or attached (its create is queued): measure it and
 * queue its greentrack.* tags. Starts the sampler thread when needed. */
void energy_run_join(gt_run *r);
/* The run is about to end: closes the window, queues its (and every other
 * open run's) sample before the caller queues the end, stops measuring it;
 * the sampler thread ends when no run is left. */
void energy_run_leave(gt_run *r);

/* Asks the cloud instance-metadata service at 'base_url' (AWS IMDSv2, GCP,
 * Azure, in this order) which provider and region this machine runs in,
 * within 'budget_ms' in all; 'abort_flag' (may be NULL) set ends it early.
 * 1 with 'provider' ("aws", "gcp", "azure") and 'region' filled, 0 when no
 * service answered. Blocking: call it on a library thread only. */
int cloud_detect(const char *base_url, int budget_ms,
                 const atomic_bool *abort_flag, char *provider,
                 size_t provider_len, char *region, size_t region_len);

/*---- artifacts (artifacts.c) ----*/

#define ART_PATH_MAX 1024 /* the artifact service's limit on a path */

/* A normalized relative artifact path: no leading or trailing '/', no
 * empty, "." or ".." component, no '\\' or '#', 1..ART_PATH_MAX bytes. */
bool art_path_ok(const char *path);

/* Where a run's artifacts go, from its artifact_uri. */
enum art_kind {
    ART_PROXY, /* the MLflow artifact service: 'svc' + "/" + 'root' */
    ART_LOCAL  /* a folder of this machine: 'root' */
};

struct art_dest {
    enum art_kind kind;
    char *svc;  /* ".../api/2.0/mlflow-artifacts/artifacts" (proxy) */
    char *root; /* the run's folder: under 'svc' (may be ""), or local */
};

/* Resolves 'artifact_uri' against the client's 'tracking_uri' as MLflow's
 * client does (mlflow-artifacts.md §2.3): mlflow-artifacts:/p and
 * mlflow-artifacts://host:port/p take the tracking URI's scheme (and its
 * host and path prefix); http(s) URIs are used as they are; a local path
 * or file: URI is a local folder. GT_OK, GT_E_UNSUPPORTED (another
 * scheme, e.g. s3://), GT_E_INVALID (a port without a host), GT_E_NOMEM;
 * 'err' says why. */
gt_status art_resolve(const char *tracking_uri, const char *artifact_uri,
                      struct art_dest *d, char *err, size_t errlen);
void art_dest_cleanup(struct art_dest *d);
/* Appends the URL of artifact 'rel' (may be "": the run's folder) of a
 * proxy destination, 'rel' percent-encoded. */
void art_dest_url(struct gt_buf *b, const struct art_dest *d, const char *rel);

/* One file to upload (or spooled): where it is and what it was. */
struct art_ref {
    char *local; /* absolute path */
    char *rel;   /* artifact path */
    uint64_t size;
    int64_t mtime_ns;
};

struct art_refs {
    struct art_ref *v;
    size_t n, cap;
    size_t skipped; /* names the artifact service cannot store */
};

void art_refs_cleanup(struct art_refs *r);
/* Adds the regular files under folder 'dir' (sorted; symbolic links to
 * files followed, to folders not), as 'prefix'/<path in dir>. 0, or -1
 * with errno set (the folder cannot be read, or ENOMEM). */
int art_walk(const char *dir, const char *prefix, struct art_refs *out);

/* Transfers of one thread: its transport, retry policy, a cache of the
 * last run's destination, progress. */
struct art_ctx {
    gt_client *c;
    struct transport *tp; /* borrowed */
    int64_t budget_ms;    /* retries end this long after a failure */
    int64_t deadline;     /* monotonic ms: cut everything; 0 none */
    bool single_attempt;
    atomic_bool *abort; /* may be NULL; set: cut now */
    gt_progress_fn progress;
    void *ud;
    uint64_t done, total; /* bytes, for 'progress' */
    char sid[GT_ID_MAX + 1];
    struct art_dest dest; /* of run 'sid' when have_dest */
    bool have_dest;
    bool auth_failed; /* a 401 or 403 came back (err says which credential) */
    char err[1024];
};

void art_ctx_init(struct art_ctx *x, gt_client *c, struct transport *tp);
void art_ctx_cleanup(struct art_ctx *x);

/* A spooled artifact record sent again (replays): uploads the file if its
 * size and mtime are those logged, else reports it changed; counts it.
 * false when the server could not be reached (x->err says why): the
 * record stays for later. */
bool art_replay(struct art_ctx *x, const char *sid, const struct rec *r);

/* The image of an artifact record for 'ref' in 'b' (reset first). */
void art_ref_rec(struct gt_buf *b, const struct art_ref *ref);

/* An upload handed from the worker to the uploader thread: one logged
 * file or folder of run 'sid'. Once done, 'left' holds the files that
 * could not be sent (the server was unreachable, or the client is
 * stopping): the worker spools them. */
struct art_job {
    struct art_job *next;
    struct target *t; /* its art_pending counts this job */
    char sid[GT_ID_MAX + 1];
    char *local, *dest;
    bool dir;
    uint64_t size;
    int64_t mtime_ns;
    struct art_refs left;
    bool auth; /* 'left' were refused with 401/403, not unreachable */
    char err[1024];
};

/* A job for record 'r' of target 't' sent as 'sid'; NULL when out of
 * memory. */
struct art_job *art_job_new(const struct rec *r, struct target *t,
                            const char *sid);
void art_job_free(struct art_job *j);

struct uploader;
/* Starts the uploader thread (its own connection). NULL on failure. */
struct uploader *uploader_new(gt_client *c);
/* Hands 'j' over; it comes back through uploader_take_done, after which
 * the uploader sets c->art_ready and wakes the worker. */
void uploader_submit(struct uploader *u, struct art_job *j);
/* The finished jobs (the caller owns the list), NULL if none. */
struct art_job *uploader_take_done(struct uploader *u);
/* Cuts the transfer in progress; jobs not started come back unsent. */
void uploader_abort(struct uploader *u);
/* Joins the thread (after every job came back) and frees it. NULL: no-op. */
void uploader_free(struct uploader *u);

/*---- phases and budgets (phase.c, budget.c) ----*/

/* True when 'name' is a phase name the server accepts. */
bool phase_name_ok(const char *name);
/* The runs/log-phase body of phase record 'r' for run 'run_id' in 'b'
 * (reset first). */
void phase_json(struct gt_buf *b, const char *run_id, const struct rec *r);
/* Queues the end of the phase 'run' has open (now, without a work count);
 * a no-op when none is. Called before a run's end is queued. */
void phase_close_open(gt_run *run);

/* Fills '*out' from an experiments/summary answer 'body' (n bytes): the
 * entry of experiment 'exp_id'. GT_OK, GT_E_NOT_FOUND (no such entry),
 * GT_E_SERVER (not a summary answer). */
gt_status budget_parse(const char *body, size_t n, const char *exp_id,
                       gt_budget *out);
/* The worker, once per experiment after a run's creation: asks the
 * server for experiment 'exp_id''s budget over 'tp' (one request, no
 * retry) and reports an exhausted budget through the log callback (WARN).
 * Silent when the server cannot say (a plain MLflow server). */
void budget_check_on_start(gt_client *c, struct transport *tp,
                           const char *exp_id);

/*---- worker and engine (worker.c) ----*/

int gt_worker_start(gt_client *c);
/* Stops the worker: flushes within the deadline, spools the rest. */
void gt_worker_stop(gt_client *c);

/* The experiment id of an experiments answer 'body' (n bytes): its
 * "experiment_id", inside object 'wrapper' when not NULL (get-by-name's
 * "experiment"), copied into 'id' (idlen bytes). false when the answer
 * has none or it does not fit. */
bool experiment_id_from(const char *body, size_t n, const char *wrapper,
                        char *id, size_t idlen);

int64_t gt_now_ms(void);
int64_t gt_mono_ms(void);
uint64_t gt_random_u64(void);

#endif
