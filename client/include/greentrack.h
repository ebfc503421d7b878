/* SPDX-License-Identifier: MIT
 *
 * greentrack.h: the one public header of libgreentrack, the C client of a
 * greentrack (or MLflow) tracking server. Anything not declared here is not
 * a published API.
 *
 * THREAD SAFETY. Every function may be called from any thread. Any thread
 * may log to any run at the same time; runs of one client share its queue.
 * A gt_run must not be used after gt_run_end() returned (whatever it
 * returned), and a gt_client not after gt_client_free(). The log callback
 * runs on the client's worker or energy sampler thread (or on the calling
 * thread for argument errors) and must not call back into libgreentrack.
 *
 * OWNERSHIP. Every function copies the strings it is given: callers keep
 * and may free their buffers as soon as the call returns. Strings returned
 * by the library are owned by the object they come from and stay valid as
 * that object's comment says.
 *
 * NEVER HURTS THE HOST. Logging calls only enqueue into a bounded memory
 * queue and return; one worker thread per client talks to the server over
 * a reused keep-alive connection, retries with backoff, and moves records
 * to an append-only spool file when the server cannot be reached. The
 * library never prints, aborts, calls exit() or raises signals (except
 * re-raising a handled signal, see gt_install_exit_handlers).
 *
 * WHAT CAN BE LOST. Nothing through server outages of any length, server
 * restarts, gt_run_end, gt_client_free, exit() or a handled signal (within
 * the flush timeout, what is not sent is spooled). A SIGKILL of the
 * logging process itself loses what was still in memory: at most about
 * one flush interval of records (the spool is written without fsync, so
 * it survives the process, not a power loss). Artifacts are files the
 * library reads when it sends them: the spool keeps a reference to the
 * file, not a copy, so a file changed or removed before it is sent is
 * reported and not sent (gt_stats.artifacts_changed).
 */
#ifndef GT_H
#define GT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(GT_BUILDING_LIBRARY) && defined(__GNUC__)
#define GT_API __attribute__((visibility("default")))
#else
#define GT_API
#endif

/*---- version ----*/

#define GT_VERSION_MAJOR 0
#define GT_VERSION_MINOR 1
#define GT_VERSION_PATCH 0
#define GT_VERSION "0.1.0"
/* 0xMMmmpp, comparable with GT_VERSION_NUM >= 0x000100 */
#define GT_VERSION_NUM                                                         \
    ((GT_VERSION_MAJOR << 16) | (GT_VERSION_MINOR << 8) | GT_VERSION_PATCH)
#define GT_AT_LEAST_VERSION(x, y, z)                                           \
    (GT_VERSION_NUM >= (((x) << 16) | ((y) << 8) | (z)))

/* The library's GT_VERSION_NUM at run time, to check that header and
 * library match. Available since 0.1.0. */
GT_API unsigned gt_version_number(void);
/* The library's GT_VERSION string (static storage). Since 0.1.0. */
GT_API const char *gt_version(void);

/*---- types ----*/

typedef struct gt_client gt_client;
typedef struct gt_run gt_run;

/* Result codes. Append-only: values are never renumbered or reused. Each
 * function below lists the codes it returns. */
typedef enum gt_status {
    GT_OK = 0,
    GT_E_INVALID = 1,      /* a bad argument (NULL, bad key, bad value) */
    GT_E_NOMEM = 2,        /* out of memory */
    GT_E_QUEUE_FULL = 3,   /* the memory queue is full: the record dropped */
    GT_E_TIMEOUT = 4,      /* a flush did not finish in time (data is kept) */
    GT_E_CLOSED = 5,       /* the client is shutting down or the run ended */
    GT_E_SERVER = 6,       /* the server refused (4xx): returned by the
                              gt_artifact_* tools only; records it rejects
                              are dropped, counted in gt_stats.dropped and
                              said by gt_client_errmsg and the log
                              callback */
    GT_E_NETWORK = 7,      /* the server could not be reached */
    GT_E_IO = 8,           /* the spool (or an artifact's local file)
                              could not be read or written */
    GT_E_NOT_FOUND = 9,    /* no such run, experiment, spool or file */
    GT_E_UNSUPPORTED = 10, /* a run's artifact location this client cannot
                              write or read (e.g. s3://). Since 0.1.0. */
    GT_E_AUTH = 11 /* the server refused the credentials (HTTP 401: none,
                      wrong, or a revoked token) or the permission (403);
                      gt_client_errmsg says which credential is missing.
                      Since 0.1.0. */
} gt_status;

typedef enum gt_run_status {
    GT_RUN_FINISHED,
    GT_RUN_FAILED,
    GT_RUN_KILLED
} gt_run_status;

typedef enum gt_log_level {
    GT_LOG_ERROR,
    GT_LOG_WARN,
    GT_LOG_INFO,
    GT_LOG_DEBUG
} gt_log_level;

/* Receives the library's diagnostics. 'message' is valid during the call
 * only. Called on the worker or sampler thread; must not call
 * libgreentrack. */
typedef void (*gt_log_fn)(void *userdata, gt_log_level level,
                          const char *message);

/* Counters since gt_client_new (records = one param, tag or metric point). */
typedef struct gt_stats {
    uint64_t sent;     /* records the server acknowledged (replayed ones
                          included) */
    uint64_t spooled;  /* records written to the spool (server unreachable) */
    uint64_t replayed; /* spooled records later acknowledged by the server */
    uint64_t dropped;  /* records refused with GT_E_QUEUE_FULL or rejected
                          by the server (4xx) */
    uint64_t queued;   /* records waiting in memory right now */
    /* Energy samples (see gt_client_set_energy) are not records: they and
     * the greentrack.* tags the library adds count only here. Since
     * 0.1.0. */
    uint64_t energy_sent;    /* samples the server acknowledged */
    uint64_t energy_dropped; /* samples the server refused, or dropped
                                because it has no log-energy endpoint
                                (a plain MLflow server) */
    /* Artifact files (gt_log_artifact, gt_log_artifacts; a folder counts
     * its files). Since 0.1.0. */
    uint64_t artifacts_uploaded; /* stored by the server (or copied into
                                    a local artifact location) */
    uint64_t artifacts_spooled;  /* references written to the spool while
                                    the server could not be reached */
    uint64_t artifacts_changed;  /* not sent: the file changed or vanished
                                    after it was logged */
    uint64_t artifacts_failed;   /* not sent: refused by the server (4xx),
                                    unreadable, or a location this client
                                    cannot write; or lost with the spool */
} gt_stats;

/*---- client ----*/

/* Creates a client for 'tracking_uri' (e.g. "http://127.0.0.1:5000");
 * NULL or "" means $GREENTRACK_TRACKING_URI, then $MLFLOW_TRACKING_URI,
 * then http://127.0.0.1:5000. Starts the worker thread; never touches the
 * network. Returns the client (the caller frees it with gt_client_free),
 * or NULL when the URI is not http:// or https:// or when out of memory;
 * gt_client_new_ex says which. Since 0.1.0. */
GT_API gt_client *gt_client_new(const char *tracking_uri);

/* gt_client_new that says why it failed: '*err' (may be NULL) receives
 * GT_OK with a client, else GT_E_INVALID (the URI, or the variable it
 * came from, is not http:// or https://) or GT_E_NOMEM (out of memory,
 * or a thread could not be started) with NULL. Since 0.1.0. */
GT_API gt_client *gt_client_new_ex(const char *tracking_uri, gt_status *err);

/* Ends runs still open as FAILED (a program that frees its client without
 * ending a run did not finish it), flushes within the client's flush
 * timeout (what cannot be sent is spooled), joins the worker and frees
 * everything, runs included. NULL is a no-op. Since 0.1.0. */
GT_API void gt_client_free(gt_client *client);

/* Option setters: call them before gt_run_start. Each returns GT_OK, or
 * GT_E_INVALID for a NULL client or a value out of range (NULL or "" for
 * the spool directory); gt_client_set_spool_dir also GT_E_NOMEM.
 * Since 0.1.0.
 *
 * The spool directory is by default $GREENTRACK_SPOOL_DIR, else
 * $XDG_CACHE_HOME/greentrack/spool, else $HOME/.cache/greentrack/spool,
 * else $XDG_RUNTIME_DIR/greentrack-spool, else /tmp/greentrack-spool-<uid>.
 * Whichever it is, the library uses it only when it is a real directory
 * (checked with lstat: a symbolic link is refused) owned by the user the
 * process runs as, with no access for group or others: it creates it (and
 * missing parents) with mode 0700, and sets a directory of the user's own
 * with a wider mode to 0700. Otherwise nothing is spooled (records that
 * cannot be sent are dropped and counted, and the log callback says why)
 * and gt_spool_replay returns GT_E_IO: spool files are sent as this user,
 * so files in someone else's directory are never read. */
GT_API gt_status gt_client_set_flush_interval_ms(gt_client *client,
                                                 int ms); /* 1..60000, 200 */
GT_API gt_status gt_client_set_flush_timeout_ms(gt_client *client,
                                                int ms); /* 0..600000, 5000 */
GT_API gt_status gt_client_set_queue_bytes(gt_client *client,
                                           size_t bytes); /* >= 64 KiB,
                                                             64 MiB */
GT_API gt_status gt_client_set_spool_dir(gt_client *client,
                                         const char *dir); /* copied */
GT_API gt_status gt_client_set_request_timeout_ms(gt_client *client,
                                                  int ms); /* 100..600000,
                                                              10000 */
/* 'fn' NULL silences the library (the default); 'userdata' is passed to
 * it as is (not owned). GT_OK, or GT_E_INVALID for a NULL client. */
GT_API gt_status gt_client_set_log_callback(gt_client *client, gt_log_fn fn,
                                            void *userdata);

/*---- credentials and TLS ----*/

/* CREDENTIALS. A server run with --auth wants every request
 * authenticated. gt_client_new takes, in this order, the first that is
 * set: $MLFLOW_TRACKING_USERNAME with $MLFLOW_TRACKING_PASSWORD (HTTP
 * Basic, as MLflow's clients send); $GREENTRACK_TRACKING_TOKEN, then
 * $MLFLOW_TRACKING_TOKEN (an API token, sent as "Authorization: Bearer");
 * the token `greentrack login` stored for this tracking URI in the
 * credentials file (see gt_credentials_path). The file is used only when
 * it is a regular file owned by this user with no access for group or
 * others (mode 0600): otherwise it is ignored and the 401 message says
 * why. A setter below wins over all of them.
 * A 401 or 403 is never retried: the worker keeps the run's records in
 * the spool (as when the server is down), reports once through
 * gt_client_errmsg and the log callback which credential is missing or
 * was refused, and sends nothing more by itself until a setter below
 * changes the credentials; gt_spool_replay
 * (`greentrack sync`) sends them once the credentials are fixed. The
 * blocking calls return GT_E_AUTH (gt_request returns GT_OK with the
 * status, and sets gt_client_errmsg). Secrets are never written to a log
 * line or an error message.
 *
 * TLS. https:// servers are verified against the system's trust store,
 * or against the PEM file $GREENTRACK_CA_BUNDLE (or the setter) names;
 * verification cannot be turned off.
 *
 * The setters copy their arguments and may be called at any time (the
 * next request uses them). GT_OK; GT_E_INVALID (a NULL client, an empty
 * value or one with a control character, a user name with ':'; an empty
 * path); GT_E_NOMEM. Since 0.1.0. */
GT_API gt_status gt_client_set_basic_auth(gt_client *client,
                                          const char *username,
                                          const char *password);
GT_API gt_status gt_client_set_token(gt_client *client, const char *token);
/* 'path': a PEM file of the certificate authorities to trust (instead of
 * the system's store) from the next connection on. */
GT_API gt_status gt_client_set_ca_bundle(gt_client *client, const char *path);

/* The credentials file: $XDG_CONFIG_HOME/greentrack/credentials, else
 * $HOME/.config/greentrack/credentials. Returns the path (caller frees
 * with gt_free), NULL when neither variable is an absolute path or out
 * of memory. Since 0.1.0. */
GT_API char *gt_credentials_path(void);

/* Stores 'token' (and, may be NULL, the user name and the token's id on
 * the server) for 'tracking_uri' (NULL or "": resolved as gt_client_new
 * does) in the credentials file, replacing that URI's entry: the file and
 * its folders are created as needed, mode 0600 (0700), written to a
 * temporary file and renamed. GT_OK; GT_E_INVALID (a bad URI or value);
 * GT_E_IO; GT_E_NOMEM. 'err' (may be NULL) receives the reason. Since
 * 0.1.0. */
GT_API gt_status gt_credentials_save(const char *tracking_uri,
                                     const char *username, const char *token,
                                     const char *token_id, char *err,
                                     size_t errlen);

/* Reads the entry of 'tracking_uri' (NULL or "": as gt_client_new) from
 * the credentials file, under the checks gt_client_new applies: each of
 * '*username', '*token', '*token_id' (any may be NULL; caller frees with
 * gt_free) receives the stored value or NULL. GT_OK; GT_E_NOT_FOUND (no
 * file or no entry); GT_E_IO (unreadable, or refused: not this user's,
 * or readable by group or others); GT_E_INVALID; GT_E_NOMEM. 'err' as
 * above. Since 0.1.0. */
GT_API gt_status gt_credentials_get(const char *tracking_uri, char **username,
                                    char **token, char **token_id, char *err,
                                    size_t errlen);

/* Removes the entry of 'tracking_uri' from the credentials file. GT_OK,
 * GT_E_NOT_FOUND (no file or no entry), GT_E_IO, GT_E_INVALID,
 * GT_E_NOMEM; 'err' as above. Since 0.1.0. */
GT_API gt_status gt_credentials_remove(const char *tracking_uri, char *err,
                                       size_t errlen);

/*---- energy ----*/

/* Which energy a run is charged. GT_ENERGY_NODE: the whole machine's (as
 * CodeCarbon's default "machine" mode reports it); every run open in the
 * process gets the same energy for the time they overlap. GT_ENERGY_PROCESS:
 * CPU and RAM energy shared out by the CPU time and memory of one process
 * tree (GPUs are always whole devices). */
typedef enum gt_energy_scope {
    GT_ENERGY_NODE,
    GT_ENERGY_PROCESS
} gt_energy_scope;

/* Energy measurement: on for every run unless $GREENTRACK_ENERGY is "off",
 * "0" or "false", or this setter says 0. While a run is open a sampler
 * thread of the client reads the energy counters every interval (RAPL,
 * NVML, else a CPU-load model; see README "Energy") and about every 10 s,
 * at gt_run_start of another run, at gt_run_energy and at gt_run_end sends
 * one energy sample per open run (greentrack's runs/log-energy, through the
 * same queue and spool as metrics: never blocking, kept through outages,
 * after the run's creation and before its end). Each run also gets the
 * tags greentrack.host.* (cpu, sockets, gpus, gpu_model, ram_gb, os,
 * hostname) and the location tags greentrack.country, .region,
 * .cloud_provider, .cloud_region, .pue, .zone from $GREENTRACK_COUNTRY,
 * $GREENTRACK_REGION, $GREENTRACK_CLOUD_PROVIDER, $GREENTRACK_CLOUD_REGION,
 * $GREENTRACK_PUE, $GREENTRACK_ZONE (invalid values are logged as WARN and
 * not sent) or, without cloud variables, from the cloud's instance
 * metadata service (300 ms at most, on the sampler thread;
 * $GREENTRACK_CLOUD_METADATA_URL=off disables it). A plain MLflow server
 * cannot store energy: samples are dropped (gt_stats.energy_dropped) and
 * the run goes on. Call before gt_run_start; the variables are read by
 * gt_client_new and a setter wins over them. The three energy setters
 * return GT_OK; GT_E_INVALID for a NULL client, a value out of range, or
 * a call while runs are measured; GT_E_NOMEM when the client could not
 * allocate its energy state (energy is then off). Since 0.1.0. */
GT_API gt_status gt_client_set_energy(gt_client *client, int enabled);
/* How often the counters are read, 10..60000 ms (default 1000, or
 * $GREENTRACK_ENERGY_INTERVAL_MS). Codes as gt_client_set_energy.
 * Since 0.1.0. */
GT_API gt_status gt_client_set_energy_interval_ms(gt_client *client, int ms);
/* GT_ENERGY_NODE (the default; $GREENTRACK_ENERGY_SCOPE=node) or
 * GT_ENERGY_PROCESS ($GREENTRACK_ENERGY_SCOPE=process) for the process
 * tree rooted at 'pid' (0: this process; the tree includes its children).
 * Codes as gt_client_set_energy (GT_E_INVALID for another scope or a
 * negative pid). Since 0.1.0. */
GT_API gt_status gt_client_set_energy_scope(gt_client *client,
                                            gt_energy_scope scope, long pid);
/* Process scope only, and callable while runs are measured: from now on
 * measure the process tree rooted at 'pid' (> 0), e.g. a command started
 * after gt_run_start (what `greentrack run --scope process` does with its
 * command); energy measured until now stays with the runs. GT_OK,
 * GT_E_INVALID (a NULL client, node scope, or a bad pid), GT_E_NOMEM.
 * Since 0.1.0. */
GT_API gt_status gt_client_set_energy_root(gt_client *client, long pid);

/* A run's energy so far (IT energy, no PUE). Strings are static. */
typedef struct gt_energy {
    double cpu_j, gpu_j, ram_j; /* joules since the run started */
    const char *cpu_method;     /* "rapl", "tdp-estimate"; "" before the
                                   first measurement */
    const char *gpu_method;     /* "nvml-energy", "nvml-power", "none" */
    const char *ram_method;     /* "ram-model" */
    const char *scope;          /* "node" or "process" */
    int64_t start_ms, end_ms;   /* the interval measured (Unix ms) */
} gt_energy;

/* Closes the current measurement window now (each open run, 'run'
 * included, is charged its share and gets its sample) and fills '*out'
 * with the energy of 'run' from its start until now. GT_OK;
 * GT_E_INVALID for NULL arguments; GT_E_NOT_FOUND when energy is not
 * measured for this run (off, or the probes not started yet: '*out' is
 * then zeroed with "" methods). Since 0.1.0. */
GT_API gt_status gt_run_energy(gt_run *run, gt_energy *out);

/* The last error's text ("" when none, or for a NULL client): a copy
 * owned by the calling thread, valid until this thread calls
 * gt_client_errmsg again. Since 0.1.0. */
GT_API const char *gt_client_errmsg(const gt_client *client);

/* Static text for a status ("unknown status" for a value not in
 * gt_status). Since 0.1.0. */
GT_API const char *gt_strerror(gt_status status);

/* Fills '*out' with the client's counters (all zero for a NULL client;
 * a NULL 'out' is a no-op). Since 0.1.0. */
GT_API void gt_client_stats(const gt_client *client, gt_stats *out);

/* Waits until everything enqueued so far is acknowledged by the server or
 * written to the spool (retries last at most half the flush timeout, at
 * most 2 s, before records are spooled; spooled records are replayed by
 * the worker once the server answers again). GT_OK, GT_E_TIMEOUT (still
 * queued; nothing lost), GT_E_CLOSED (the client is being freed),
 * GT_E_INVALID (a NULL client). timeout_ms < 0 waits forever.
 * Since 0.1.0. */
GT_API gt_status gt_flush(gt_client *client, int timeout_ms);

/*---- runs ----*/

/* Starts a run in 'experiment_name' (NULL: the Default experiment; else
 * non-empty UTF-8 of at most 500 characters), creating the experiment
 * when missing; 'run_name' may be NULL (else UTF-8 of at most 250
 * characters). The run id is chosen here, so this never waits for the
 * network: the server learns of the run from the worker. '*out' (NULL on
 * failure) belongs to the caller until gt_run_end. GT_OK, GT_E_INVALID
 * (NULL client or out, a bad name), GT_E_NOMEM, GT_E_CLOSED (the client is
 * being freed). Since 0.1.0. */
GT_API gt_status gt_run_start(gt_client *client, const char *experiment_name,
                              const char *run_name, gt_run **out);

/* Attaches to an existing run (e.g. $GREENTRACK_RUN_ID set by `greentrack
 * run`) to log into it; gt_run_end on it ends it. '*out' as for
 * gt_run_start. GT_OK, GT_E_INVALID (NULL client or out, or a run id not
 * [A-Za-z0-9][A-Za-z0-9_-]* of at most 64 characters), GT_E_NOMEM.
 * Since 0.1.0. */
GT_API gt_status gt_run_attach(gt_client *client, const char *run_id,
                               gt_run **out);

/* 32 lowercase hex characters, owned by the run ("" for NULL). Since 0.1.0.
 * This is always the id the client chose (for an attached run, the id
 * given to gt_run_attach), even against a plain MLflow server that ignores
 * it and creates the run under an id of its own; see gt_run_server_id. */
GT_API const char *gt_run_id(const gt_run *run);

/* The id the server knows the run by, owned by the run: gt_run_id's on a
 * greentrack server, the server's own id on a plain MLflow server. NULL
 * until the worker has created the run on the server (gt_flush first to
 * wait for it); once set it never changes. Since 0.1.0. */
GT_API const char *gt_run_server_id(const gt_run *run);

/* Logging: check, copy, enqueue, return. A name the server would refuse is
 * refused here, at the call, so it never costs the rest of a batch. Keys
 * follow MLflow's rules: letters, digits, '_', '-', '.', ' ', ':' and '/'
 * (UTF-8 letters too), a normalized relative path ("a/b", not "/a",
 * "a//b", "a/../b", "..a" or "a/"), 1 to 250 characters; metric keys must
 * not start with "greentrack." (greentrack's own metrics). Values are
 * UTF-8 of at most 6000 (params) or 8000 (tags) characters. GT_OK,
 * GT_E_INVALID (a NULL argument, a bad key or value, a step or timestamp
 * beyond 2^53, a negative timestamp; gt_client_errmsg says which),
 * GT_E_QUEUE_FULL (dropped and counted), GT_E_NOMEM, GT_E_CLOSED (the
 * client is being freed). Since 0.1.0. */
GT_API gt_status gt_log_param(gt_run *run, const char *key, const char *value);
GT_API gt_status gt_log_metric(gt_run *run, const char *key, double value,
                               int64_t step);
/* The same with an explicit timestamp (Unix ms). */
GT_API gt_status gt_log_metric_at(gt_run *run, const char *key, double value,
                                  int64_t step, int64_t timestamp_ms);
GT_API gt_status gt_set_tag(gt_run *run, const char *key, const char *value);

/* Queues the run's end time and 'status' (a value outside gt_run_status
 * counts as GT_RUN_FAILED) after its records, then flushes within the
 * flush timeout. The caller gives 'run' up in every case: it must not be
 * used after this call, whatever it returns; the library frees it once
 * its end is sent or spooled. GT_OK (the end was acknowledged or
 * spooled); GT_E_TIMEOUT (not yet: the worker goes on sending it, or
 * spools it, nothing is lost); GT_E_INVALID ('run' is NULL); GT_E_CLOSED
 * (an exit handler is ending the run at the same moment, with its own
 * status, or the client is being freed); GT_E_NOMEM (the end could not be
 * queued: the client keeps the run open and ends it with 'status' at
 * gt_client_free or in an exit handler). Since 0.1.0. */
GT_API gt_status gt_run_end(gt_run *run, gt_run_status status);

/*---- phases: what a stretch of the run did (Green-AI decisions) ----*/

/* The work count of gt_phase_end and gt_log_phase when there is none. */
#define GT_NO_WORK (-1.0)

/* Marks the start (now) of phase 'phase' of the run, e.g. "train", "eval"
 * or "inference": 1 to 64 characters of [A-Za-z0-9_.-]. The server splits
 * each energy sample across the run's phases by time overlap, so that
 * runs/carbon reports each phase's kWh and CO2 and, given a work count,
 * its CO2 per 1000 units of work (the leaderboard's cost=inference ranks
 * by the "inference" phase's). One phase is open at a time per run.
 * Never waits for the network. GT_OK; GT_E_INVALID (NULL run or phase, a
 * bad name, a phase already open: gt_phase_end it first). Since 0.1.0. */
GT_API gt_status gt_phase_begin(gt_run *run, const char *phase);

/* Ends the run's open phase now and queues it (runs/log-phase, through
 * the queue and spool like any record; a server without that endpoint,
 * such as a plain MLflow server, drops it and the log callback says so
 * once). 'work_count' is the items the phase processed (predictions,
 * tokens...), >= 0, or GT_NO_WORK (any negative value) for none;
 * 'work_unit' names them (NULL or "": none; UTF-8, at most 64
 * characters). A run ended (gt_run_end, gt_client_free, an exit handler)
 * with a phase open ends it then, without a work count. GT_OK;
 * GT_E_INVALID (NULL run, no phase open, a NaN or infinite count, a bad
 * unit: the phase stays open), GT_E_QUEUE_FULL (dropped), GT_E_NOMEM,
 * GT_E_CLOSED. Since 0.1.0. */
GT_API gt_status gt_phase_end(gt_run *run, double work_count,
                              const char *work_unit);

/* Logs a phase whose times are known: from 'start_ms' to 'end_ms' (Unix
 * ms, 0 <= start_ms <= end_ms < 2^53); other arguments and codes as
 * gt_phase_begin and gt_phase_end. Logging the same phase and start
 * again replaces the earlier record on the server. Independent of the
 * phase gt_phase_begin opened. Since 0.1.0. */
GT_API gt_status gt_log_phase(gt_run *run, const char *phase, int64_t start_ms,
                              int64_t end_ms, double work_count,
                              const char *work_unit);

/*---- artifacts ----*/

/* Uploads the regular file 'local_path' as '<artifact_path>/<its name>'
 * among the run's artifacts ('artifact_path' NULL or "": at the top), as
 * mlflow.log_artifact does. Like the logging calls it returns at once: it
 * reads nothing of the file, only stat(2)s it, and queues a reference
 * (the path, made absolute, with the file's size and mtime). The worker
 * hands it to the client's uploader thread, which streams the file from
 * disk over a connection of its own (metrics keep flowing meanwhile) to
 * the MLflow artifact service the run's artifact_uri names, resolved
 * against the tracking URI as MLflow's client does (mlflow-artifacts:/...
 * on the tracking server, mlflow-artifacts://host:port/..., http(s)://...);
 * a run whose artifact_uri is a local path or file: URI gets a copy there
 * if this machine can write it. The run's end (gt_run_end) is recorded
 * only after the artifacts logged before it; gt_flush waits for them too
 * (gt_run_end and gt_client_free wait only the flush timeout, then spool
 * what is left: call gt_flush(client, -1) first to wait for a large
 * upload).
 * The file is read when it is sent: if its size or mtime is no longer
 * what was logged it is not sent, but reported through the log callback
 * and counted in gt_stats.artifacts_changed; so do not rewrite a file
 * until gt_flush says it was sent. When the server cannot be reached the
 * reference is spooled (the file is not copied) and sent once the server
 * answers again, by this client or by gt_spool_replay (`greentrack
 * sync`), under the same rule. Failures are reported, never returned
 * later: see the gt_stats.artifacts_* counters.
 * 'artifact_path' is a normalized relative path ("model", "plots/a", not
 * "/x", "a/../b", "a//b" or "a/") of at most 1024 bytes without '\' or
 * '#'. Returns GT_OK; GT_E_INVALID (a NULL argument, a bad
 * 'artifact_path', a file name the artifact service cannot store, a path
 * that is not a regular file, e.g. a folder: see gt_log_artifacts);
 * GT_E_NOT_FOUND (no such file); GT_E_IO (it cannot be stat'ed, or the
 * current directory cannot be read to make it absolute); GT_E_NOMEM;
 * GT_E_CLOSED (the client is being freed). Since 0.1.0. */
GT_API gt_status gt_log_artifact(gt_run *run, const char *local_path,
                                 const char *artifact_path);

/* The same for every regular file under the folder 'local_dir', each as
 * '<artifact_path>/<its path under local_dir>' (mlflow.log_artifacts):
 * symbolic links to files are followed, to folders not, empty folders are
 * not created, names the service cannot store are skipped and reported.
 * The folder is read when it is sent (files added until then are sent
 * too); each file's size and mtime then are what a spooled reference
 * keeps. Codes as gt_log_artifact (GT_E_INVALID when 'local_dir' is not a
 * folder). Since 0.1.0. */
GT_API gt_status gt_log_artifacts(gt_run *run, const char *local_dir,
                                  const char *artifact_path);

/* Progress of gt_spool_replay (records replayed so far of 'total') and of
 * gt_artifact_upload and gt_artifact_download (bytes so far of 'total';
 * 'total' 0 while unknown). Called on the calling thread. */
typedef void (*gt_progress_fn)(void *userdata, uint64_t done, uint64_t total);

/* For tools (`greentrack artifacts`): blocking transfers of one run's
 * artifacts, on the calling thread, with their own connection; they use
 * no queue, no spool and no worker, and retry for up to the request
 * timeout when the server fails. 'run_id' is the id the server knows the
 * run by. 'progress' may be NULL.
 *
 * gt_artifact_upload: uploads 'local_path' now: a regular file as
 * '<artifact_path>/<its name>', a folder's files as
 * '<artifact_path>/<path under it>' (the rules of gt_log_artifact and
 * gt_log_artifacts). Stops at the first file that fails. GT_OK;
 * GT_E_INVALID (NULL client, run id or path, a bad 'artifact_path');
 * GT_E_NOT_FOUND (no such run, or no such local file); GT_E_NETWORK (the
 * server could not be reached); GT_E_SERVER (the server refused, e.g. a
 * file over its size limit); GT_E_UNSUPPORTED (the run's artifact
 * location, e.g. s3://); GT_E_IO (a file could not be read, changed while
 * it was sent, or a local location could not be written); GT_E_NOMEM.
 * gt_client_errmsg says more. Since 0.1.0. */
GT_API gt_status gt_artifact_upload(gt_client *client, const char *run_id,
                                    const char *local_path,
                                    const char *artifact_path,
                                    gt_progress_fn progress, void *userdata);

/* Lists the artifacts directly in folder 'path' of the run (NULL or "":
 * its top): '*json' (caller frees with gt_free) receives MLflow's
 * artifacts/list shape, {"root_uri": the run's artifact_uri, "files":
 * [{"path": run-relative path, "is_dir": bool, "file_size": bytes (files
 * only)}]}, sorted by path; "files" is [] when the folder is empty or
 * missing or 'path' is a file. Codes as gt_artifact_upload (GT_E_INVALID
 * also for a NULL 'json'). Since 0.1.0. */
GT_API gt_status gt_artifact_list(gt_client *client, const char *run_id,
                                  const char *path, char **json);

/* Downloads artifact 'path' of the run (NULL or "": all of them) to the
 * local path 'dest': a file is written as 'dest', a folder's tree under
 * the folder 'dest' (created, with empty folders; existing files are
 * replaced). Each file is written to a temporary file beside it and
 * renamed into place once complete. Codes as gt_artifact_upload
 * (GT_E_NOT_FOUND also when the run has no artifact 'path'; GT_E_IO when
 * 'dest' cannot be written); what was downloaded before a failure stays.
 * Since 0.1.0. */
GT_API gt_status gt_artifact_download(gt_client *client, const char *run_id,
                                      const char *path, const char *dest,
                                      gt_progress_fn progress, void *userdata);

/*---- process exit ----*/

/* Opt-in: on SIGTERM/SIGINT ends open runs KILLED and on exit() without
 * gt_run_end ends them FAILED, flushing within the flush timeout; the
 * previous signal disposition is then restored and the signal re-raised.
 * The handlers are installed at the first call in the process; each
 * client to cover is registered by its own call (again is a no-op) and
 * unregistered by gt_client_free. GT_OK; GT_E_INVALID (a NULL client, or
 * the handlers could not be installed: no pipe or thread); GT_E_NOMEM.
 * Since 0.1.0. */
GT_API gt_status gt_install_exit_handlers(gt_client *client);

/*---- spool and tools ----*/

/* Replays the spool directory's files (what processes left when the
 * server was down) to the server, in order, then removes them (records
 * the server rejects are dropped and counted as in gt_stats). Blocking;
 * for tools such as `greentrack sync`; 'progress' may be NULL. GT_OK,
 * GT_E_INVALID (a NULL client), GT_E_NOMEM, GT_E_NETWORK (the server
 * could not be reached: what was not acknowledged stays in the files),
 * GT_E_IO (the directory or a file could not be read, or the directory
 * failed the checks described at gt_client_set_spool_dir), GT_E_TIMEOUT
 * ('timeout_ms' >= 0 passed; the rest stays). Since 0.1.0. */
GT_API gt_status gt_spool_replay(gt_client *client, gt_progress_fn progress,
                                 void *userdata, int timeout_ms);

/* One synchronous REST call for tools (`greentrack runs list`): 'method'
 * "GET" or "POST", 'path' relative to the tracking URI (e.g.
 * "/api/2.0/mlflow/runs/search"), 'json_body' for POST (may be NULL).
 * '*response' (caller frees with gt_free) receives the body and
 * '*http_status' the status; either pointer may be NULL. GT_OK when an
 * answer came back (any status: a 4xx is GT_OK too; on a 401 or 403
 * gt_client_errmsg says which credential is missing), GT_E_NETWORK when
 * none did, GT_E_INVALID (a NULL client, method or path, a method other
 * than GET or POST, a path not starting with '/'), GT_E_NOMEM.
 * Since 0.1.0. */
GT_API gt_status gt_request(gt_client *client, const char *method,
                            const char *path, const char *json_body,
                            char **response, long *http_status);

/*---- carbon budgets ----*/

/* An experiment's carbon budget, as experiments/summary reports it. */
typedef struct gt_budget {
    char experiment_id[32]; /* the experiment asked about */
    int has_budget;         /* 1: the experiment has the tag
                               greentrack.budget_co2_kg; the fields below
                               are then set (else 0) */
    double budget_co2_kg;   /* the budget */
    double used_co2_kg;     /* the CO2 of its runs so far */
    double used_fraction;   /* used_co2_kg / budget_co2_kg (for a budget
                               of 0: infinite once any CO2 is used, else
                               0) */
    int over;               /* 1: over budget (used > budget, or a budget
                               of 0, which allows nothing) */
} gt_budget;

/* Blocking, for tools (`greentrack run` checks it before it starts a
 * run): fills '*out' with the budget of the experiment with id
 * 'experiment_id', or, when that is NULL, of the experiment named
 * 'experiment_name' (both NULL: the Default experiment, id "0"). One
 * request or two (the name is looked up first), no retry. GT_OK (a
 * budget or none: see has_budget); GT_E_NOT_FOUND (no such experiment);
 * GT_E_NETWORK (the server could not be reached); GT_E_SERVER (it
 * refused, or cannot report budgets: a plain MLflow server);
 * GT_E_INVALID (a NULL client or out); GT_E_NOMEM. gt_client_errmsg
 * says more. When a run starts, the worker makes the same check once per
 * experiment and reports a spent budget through the log callback (WARN).
 * Since 0.1.0. */
GT_API gt_status gt_experiment_budget(gt_client *client,
                                      const char *experiment_id,
                                      const char *experiment_name,
                                      gt_budget *out);

/* Frees memory returned by libgreentrack. NULL is a no-op. */
GT_API void gt_free(void *ptr);

#ifdef __cplusplus
}
#endif

#endif
