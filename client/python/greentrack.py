# SPDX-License-Identifier: MIT
"""greentrack: log training runs to a greentrack (or MLflow) server from
Python through libgreentrack, the C client library (a ctypes binding; the
standard library only).

    import greentrack

    with greentrack.Client() as client:            # $GREENTRACK_TRACKING_URI,
        with client.start_run("mnist", "lr-0.01",  # $MLFLOW_TRACKING_URI or
                              params={"lr": 0.01}) as run:  # 127.0.0.1:5000
            for step in range(100):
                run.log_metric("loss", 1.0 / (step + 1), step)
            run.log_artifact("model.pt", "checkpoints")  # uploaded by a
            run.log_artifacts("plots")                  # library thread
            with run.phase("inference", unit="predictions") as p:
                for batch in batches:
                    p.work(len(batch))  # CO2 per 1000 predictions
    # the run ended FINISHED, or FAILED if the block raised (KILLED for
    # KeyboardInterrupt); closing the client sent everything (or spooled it
    # when the server was down, for the next client or `greentrack sync`).

Logging calls only enqueue and return (about a microsecond); a worker
thread in the library sends them, retries, and spools to disk while the
server is down. Started by `greentrack run -- python train.py`, a script
logs into that run with client.attach_run() ($GREENTRACK_RUN_ID).

Errors raise GreentrackError (its .status is the library's gt_status
value, .code its name). A record dropped because the memory queue is full
does not raise: the log call returns False and Client.stats() counts it,
so telemetry never stops a training.

The library is found at $GREENTRACK_LIB (a path), next to this module, in
the build directory of a source checkout ($GREENTRACK_BUILD/lib, default
build/release/lib), in ../../lib of an installed copy, or by
ctypes.util.find_library("greentrack").

Credentials (a server run with --auth) are the library's: username= and
password=, or token=, given to Client(); else $MLFLOW_TRACKING_USERNAME and
$MLFLOW_TRACKING_PASSWORD, $GREENTRACK_TRACKING_TOKEN or
$MLFLOW_TRACKING_TOKEN, else the token `greentrack login` stored in
~/.config/greentrack/credentials (used only when mode 0600). A 401 or 403
keeps the run's records in the spool; the log callback and
GreentrackError (GT_E_AUTH) say which credential is missing. https://
servers are verified against the system's CAs, or ca_bundle= (else
$GREENTRACK_CA_BUNDLE), a PEM file.

Threads: any thread may log to any run at the same time; a Run must not be
used once end() returned, nor a Client after close().
"""

import atexit
import ctypes
import ctypes.util
import json
import os
import threading
import weakref

__all__ = ["Client", "Run", "Phase", "GreentrackError", "library_version",
           "find_library", "STATUS_NAMES"]

# gt_status values (append-only in the C header).
GT_OK = 0
STATUS_NAMES = {
    0: "GT_OK", 1: "GT_E_INVALID", 2: "GT_E_NOMEM", 3: "GT_E_QUEUE_FULL",
    4: "GT_E_TIMEOUT", 5: "GT_E_CLOSED", 6: "GT_E_SERVER", 7: "GT_E_NETWORK",
    8: "GT_E_IO", 9: "GT_E_NOT_FOUND", 10: "GT_E_UNSUPPORTED",
    11: "GT_E_AUTH",
}
GT_E_INVALID = 1
GT_E_NOMEM = 2
GT_E_QUEUE_FULL = 3
GT_E_TIMEOUT = 4
GT_E_CLOSED = 5
GT_E_SERVER = 6
GT_E_NETWORK = 7
GT_E_IO = 8
GT_E_NOT_FOUND = 9
GT_E_UNSUPPORTED = 10
GT_E_AUTH = 11

# gt_run_status values.
RUN_STATUSES = {"FINISHED": 0, "FAILED": 1, "KILLED": 2}
LOG_LEVELS = {0: "error", 1: "warn", 2: "info", 3: "debug"}


class GreentrackError(Exception):
    """A libgreentrack call failed. .status: the gt_status number; .code:
    its name (e.g. "GT_E_INVALID"); str(): the library's text and, when the
    client has one, the detail from gt_client_errmsg."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.code = STATUS_NAMES.get(status, "GT_E_%d" % status)


class GtStats(ctypes.Structure):
    _fields_ = [("sent", ctypes.c_uint64), ("spooled", ctypes.c_uint64),
                ("replayed", ctypes.c_uint64), ("dropped", ctypes.c_uint64),
                ("queued", ctypes.c_uint64),
                ("energy_sent", ctypes.c_uint64),
                ("energy_dropped", ctypes.c_uint64),
                ("artifacts_uploaded", ctypes.c_uint64),
                ("artifacts_spooled", ctypes.c_uint64),
                ("artifacts_changed", ctypes.c_uint64),
                ("artifacts_failed", ctypes.c_uint64)]


LOG_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int,
                          ctypes.c_char_p)
PROGRESS_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint64,
                               ctypes.c_uint64)

_LIB = None
_LIB_LOCK = threading.Lock()


class GtEnergy(ctypes.Structure):
    """gt_energy of greentrack.h (field order and types must match)."""
    _fields_ = [("cpu_j", ctypes.c_double), ("gpu_j", ctypes.c_double),
                ("ram_j", ctypes.c_double), ("cpu_method", ctypes.c_char_p),
                ("gpu_method", ctypes.c_char_p),
                ("ram_method", ctypes.c_char_p), ("scope", ctypes.c_char_p),
                ("start_ms", ctypes.c_int64), ("end_ms", ctypes.c_int64)]


class GtBudget(ctypes.Structure):
    """gt_budget of greentrack.h (field order and types must match)."""
    _fields_ = [("experiment_id", ctypes.c_char * 32),
                ("has_budget", ctypes.c_int),
                ("budget_co2_kg", ctypes.c_double),
                ("used_co2_kg", ctypes.c_double),
                ("used_fraction", ctypes.c_double),
                ("over", ctypes.c_int)]


def find_library():
    """The path (or name) of libgreentrack.so this module would load."""
    env = os.environ.get("GREENTRACK_LIB")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    cands = [os.path.join(here, "libgreentrack.so"),
             os.path.join(here, "libgreentrack.so.0")]
    build = os.environ.get("GREENTRACK_BUILD", os.path.join("build",
                                                            "release"))
    root = os.path.dirname(os.path.dirname(here))  # client/python -> repo
    if os.path.isabs(build):
        cands.append(os.path.join(build, "lib", "libgreentrack.so"))
    else:
        cands.append(os.path.join(root, build, "lib", "libgreentrack.so"))
        cands.append(os.path.join(os.path.abspath(build), "lib",
                                  "libgreentrack.so"))
    # installed: PREFIX/share/greentrack/python -> PREFIX/lib
    cands.append(os.path.join(here, "..", "..", "..", "lib",
                              "libgreentrack.so"))
    for c in cands:
        if os.path.exists(c):
            return os.path.abspath(c)
    return ctypes.util.find_library("greentrack")


def _declare(lib):
    c_void_p, c_char_p, c_int = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    sigs = {
        "gt_version_number": (ctypes.c_uint, []),
        "gt_version": (c_char_p, []),
        "gt_client_new": (c_void_p, [c_char_p]),
        "gt_client_new_ex": (c_void_p, [c_char_p, ctypes.POINTER(c_int)]),
        "gt_client_free": (None, [c_void_p]),
        "gt_client_set_flush_interval_ms": (c_int, [c_void_p, c_int]),
        "gt_client_set_flush_timeout_ms": (c_int, [c_void_p, c_int]),
        "gt_client_set_queue_bytes": (c_int, [c_void_p, ctypes.c_size_t]),
        "gt_client_set_spool_dir": (c_int, [c_void_p, c_char_p]),
        "gt_client_set_request_timeout_ms": (c_int, [c_void_p, c_int]),
        "gt_client_set_log_callback": (c_int, [c_void_p, LOG_FN, c_void_p]),
        "gt_client_errmsg": (c_char_p, [c_void_p]),
        "gt_strerror": (c_char_p, [c_int]),
        "gt_client_stats": (None, [c_void_p, ctypes.POINTER(GtStats)]),
        "gt_flush": (c_int, [c_void_p, c_int]),
        "gt_run_start": (c_int, [c_void_p, c_char_p, c_char_p,
                                 ctypes.POINTER(c_void_p)]),
        "gt_run_attach": (c_int, [c_void_p, c_char_p,
                                  ctypes.POINTER(c_void_p)]),
        "gt_run_id": (c_char_p, [c_void_p]),
        "gt_log_param": (c_int, [c_void_p, c_char_p, c_char_p]),
        "gt_log_metric": (c_int, [c_void_p, c_char_p, ctypes.c_double,
                                  ctypes.c_int64]),
        "gt_log_metric_at": (c_int, [c_void_p, c_char_p, ctypes.c_double,
                                     ctypes.c_int64, ctypes.c_int64]),
        "gt_set_tag": (c_int, [c_void_p, c_char_p, c_char_p]),
        "gt_log_artifact": (c_int, [c_void_p, c_char_p, c_char_p]),
        "gt_log_artifacts": (c_int, [c_void_p, c_char_p, c_char_p]),
        "gt_run_end": (c_int, [c_void_p, c_int]),
        "gt_spool_replay": (c_int, [c_void_p, PROGRESS_FN, c_void_p, c_int]),
        "gt_request": (c_int, [c_void_p, c_char_p, c_char_p, c_char_p,
                               ctypes.POINTER(c_void_p),
                               ctypes.POINTER(ctypes.c_long)]),
        "gt_free": (None, [c_void_p]),
        "gt_run_energy": (c_int, [c_void_p, ctypes.POINTER(GtEnergy)]),
        "gt_phase_begin": (c_int, [c_void_p, c_char_p]),
        "gt_phase_end": (c_int, [c_void_p, ctypes.c_double, c_char_p]),
        "gt_log_phase": (c_int, [c_void_p, c_char_p, ctypes.c_int64,
                                 ctypes.c_int64, ctypes.c_double, c_char_p]),
        "gt_experiment_budget": (c_int, [c_void_p, c_char_p, c_char_p,
                                         ctypes.POINTER(GtBudget)]),
        "gt_client_set_basic_auth": (c_int, [c_void_p, c_char_p, c_char_p]),
        "gt_client_set_token": (c_int, [c_void_p, c_char_p]),
        "gt_client_set_ca_bundle": (c_int, [c_void_p, c_char_p]),
    }
    for name, (res, args) in sigs.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args


def _lib():
    global _LIB
    if _LIB is not None:
        return _LIB
    with _LIB_LOCK:
        if _LIB is None:
            path = find_library()
            if path is None:
                raise OSError(
                    "libgreentrack.so not found: set GREENTRACK_LIB to its "
                    "path, or build it (make) or install it (make install)")
            lib = ctypes.CDLL(path)
            _declare(lib)
            _LIB = lib
    return _LIB


def library_version():
    """The loaded library's version string, e.g. "0.1.0"."""
    return _lib().gt_version().decode()


def _b(s):
    """str (or anything printable) -> UTF-8 bytes; None stays None."""
    if s is None:
        return None
    if isinstance(s, bytes):
        return s
    return str(s).encode("utf-8")


def _strerror(status):
    return _lib().gt_strerror(status).decode("utf-8", "replace")


_LIVE_CLIENTS = weakref.WeakSet()


@atexit.register
def _close_all():
    # Clients the program did not close: send (or spool) what they hold
    # and end their open runs FAILED, as gt_client_free does.
    for c in list(_LIVE_CLIENTS):
        try:
            c.close()
        except Exception:  # noqa: BLE001 (exit must go on)
            pass


class Client:
    """A connection to a tracking server (one libgreentrack client: its
    queue and worker thread). A context manager; close() sends what is
    queued within the flush timeout (the rest is spooled) and frees it.

    tracking_uri: None means $GREENTRACK_TRACKING_URI, then
    $MLFLOW_TRACKING_URI, then http://127.0.0.1:5000. The options map to
    the gt_client_set_* setters; log is a callable(level, message) that
    receives the library's diagnostics on its worker thread. username and
    password (both), or token, override the credentials the library finds
    (see the module's text); ca_bundle is a PEM file of CAs to trust."""

    def __init__(self, tracking_uri=None, *, flush_interval_ms=None,
                 flush_timeout_ms=None, queue_bytes=None, spool_dir=None,
                 request_timeout_ms=None, log=None, username=None,
                 password=None, token=None, ca_bundle=None):
        if (username is None) != (password is None):
            raise GreentrackError(GT_E_INVALID,
                                  "give username and password together")
        if token is not None and username is not None:
            raise GreentrackError(GT_E_INVALID,
                                  "give a token or a username and password, "
                                  "not both")
        lib = _lib()
        self._lock = threading.Lock()
        self._runs = set()
        self._log_fn = None
        err = ctypes.c_int(GT_OK)
        h = lib.gt_client_new_ex(_b(tracking_uri), ctypes.byref(err))
        if not h:
            if err.value != GT_E_INVALID:
                raise GreentrackError(err.value, "cannot create a client: %s"
                                      % _strerror(err.value))
            where = ("tracking URI %r" % (tracking_uri,) if tracking_uri
                     else "the tracking URI of $GREENTRACK_TRACKING_URI or "
                     "$MLFLOW_TRACKING_URI")
            raise GreentrackError(
                GT_E_INVALID, "cannot create a client for %s (want http:// "
                "or https://)" % (where,))
        self._h = h
        try:
            for setter, value in (
                    (lib.gt_client_set_flush_interval_ms, flush_interval_ms),
                    (lib.gt_client_set_flush_timeout_ms, flush_timeout_ms),
                    (lib.gt_client_set_queue_bytes, queue_bytes),
                    (lib.gt_client_set_spool_dir, _b(spool_dir)),
                    (lib.gt_client_set_request_timeout_ms,
                     request_timeout_ms)):
                if value is not None:
                    self._check(setter(h, value))
            if username is not None:
                self._check(lib.gt_client_set_basic_auth(
                    h, _b(username), _b(password)))
            if token is not None:
                self._check(lib.gt_client_set_token(h, _b(token)))
            if ca_bundle is not None:
                self._check(lib.gt_client_set_ca_bundle(
                    h, _b(os.fspath(ca_bundle))))
            if log is not None:
                def on_log(_ud, level, msg, _fn=log):
                    try:
                        _fn(LOG_LEVELS.get(level, str(level)),
                            msg.decode("utf-8", "replace"))
                    except Exception:  # noqa: BLE001 (a C thread: no raise)
                        pass
                self._log_fn = LOG_FN(on_log)  # kept alive with the client
                self._check(lib.gt_client_set_log_callback(
                    h, self._log_fn, None))
        except Exception:
            self.close()
            raise
        _LIVE_CLIENTS.add(self)

    # -- plumbing ---------------------------------------------------------
    def _handle(self):
        h = self._h
        if h is None:
            raise GreentrackError(GT_E_CLOSED, "the client is closed")
        return h

    def _error(self, status):
        msg = _strerror(status)
        h = self._h
        if h is not None:
            detail = _lib().gt_client_errmsg(h)
            if detail:
                msg = "%s: %s" % (msg, detail.decode("utf-8", "replace"))
        return GreentrackError(status, msg)

    def _check(self, status):
        if status != GT_OK:
            raise self._error(status)

    # -- public -----------------------------------------------------------
    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 (interpreter teardown)
            pass

    @property
    def closed(self):
        return self._h is None

    @property
    def last_error(self):
        """The library's last error text ("" when none): e.g. which
        credential a 401 or 403 wanted. Never holds a secret."""
        h = self._h
        if h is None:
            return ""
        return _lib().gt_client_errmsg(h).decode("utf-8", "replace")

    def close(self):
        """Ends runs still open FAILED, sends what is queued (within the
        flush timeout; the rest is spooled), joins the worker. Idempotent."""
        with self._lock:
            h, self._h = self._h, None
            runs, self._runs = self._runs, set()
        if h is None:
            return
        for r in runs:
            r._h = None  # freed by gt_client_free
        _lib().gt_client_free(h)
        _LIVE_CLIENTS.discard(self)

    def start_run(self, experiment=None, name=None, params=None, tags=None):
        """Starts a run (never waits for the server) in 'experiment' (None:
        Default; created when missing), logs 'params' and 'tags' (dicts)
        and returns it. Use it as a context manager to end it."""
        out = ctypes.c_void_p()
        self._check(_lib().gt_run_start(self._handle(), _b(experiment),
                                        _b(name), ctypes.byref(out)))
        return self._adopt(out, params, tags)

    def attach_run(self, run_id=None, params=None, tags=None):
        """A Run for an existing run id; None means $GREENTRACK_RUN_ID (set
        by `greentrack run`). Ending it ends that run."""
        if run_id is None:
            run_id = os.environ.get("GREENTRACK_RUN_ID")
            if not run_id:
                raise GreentrackError(
                    GT_E_INVALID, "no run id given and $GREENTRACK_RUN_ID is not set")
        out = ctypes.c_void_p()
        self._check(_lib().gt_run_attach(self._handle(), _b(run_id),
                                         ctypes.byref(out)))
        return self._adopt(out, params, tags)

    def _adopt(self, out, params, tags):
        run = Run(self, out.value)
        with self._lock:
            self._runs.add(run)
        try:
            for k, v in (params or {}).items():
                run.log_param(k, v)
            for k, v in (tags or {}).items():
                run.set_tag(k, v)
        except Exception:
            run.end("FAILED")
            raise
        return run

    def flush(self, timeout_ms=-1):
        """Waits until everything logged so far is acknowledged by the
        server or spooled; returns True, or False on timeout (nothing is
        lost). timeout_ms < 0 waits forever."""
        st = _lib().gt_flush(self._handle(), int(timeout_ms))
        if st == GT_E_TIMEOUT:
            return False
        self._check(st)
        return True

    def stats(self):
        """The gt_stats counters as a dict: "sent", "spooled", "replayed",
        "dropped", "queued", "energy_sent", "energy_dropped" and the
        artifact files "artifacts_uploaded", "artifacts_spooled",
        "artifacts_changed", "artifacts_failed"."""
        s = GtStats()
        _lib().gt_client_stats(self._handle(), ctypes.byref(s))
        return {name: getattr(s, name) for name, _t in GtStats._fields_}

    def sync(self, progress=None, timeout_ms=-1):
        """Replays the spool (what processes left while the server was
        down), like `greentrack sync`. progress: callable(done, total)."""
        cb = PROGRESS_FN(lambda _ud, done, total: progress(done, total)
                         if progress else None)
        st = _lib().gt_spool_replay(self._handle(), cb, None, int(timeout_ms))
        if st != GT_E_NOT_FOUND:  # nothing to replay is fine
            self._check(st)

    def request(self, method, path, body=None):
        """One synchronous REST call ("GET"/"POST", a path such as
        "/api/2.0/mlflow/runs/get?run_id=..."); body: a dict (sent as JSON)
        or str. Returns (http_status, parsed JSON or text)."""
        if body is not None and not isinstance(body, (str, bytes)):
            body = json.dumps(body)
        resp = ctypes.c_void_p()
        status = ctypes.c_long()
        lib = _lib()
        self._check(lib.gt_request(self._handle(), _b(method), _b(path),
                                   _b(body), ctypes.byref(resp),
                                   ctypes.byref(status)))
        try:
            text = (ctypes.string_at(resp.value).decode("utf-8", "replace")
                    if resp.value else "")
        finally:
            lib.gt_free(resp)
        try:
            return status.value, json.loads(text)
        except ValueError:
            return status.value, text

    def budget(self, experiment_id=None, experiment=None):
        """The carbon budget of the experiment with id experiment_id (or,
        when None, of the one named experiment; both None: Default), as
        greentrack's experiments/summary reports it: a dict with
        "experiment_id", "budget_co2_kg", "used_co2_kg",
        "budget_used_fraction" (None for a budget of 0) and "over" (True
        when used > budget, or for a budget of 0), or
        None when the experiment has no greentrack.budget_co2_kg tag.
        Blocking (one or two requests, no retry). Raises GreentrackError:
        GT_E_NOT_FOUND (no such experiment), GT_E_NETWORK (server
        unreachable), GT_E_SERVER (it cannot report budgets)."""
        b = GtBudget()
        self._check(_lib().gt_experiment_budget(
            self._handle(), _b(None if experiment_id is None
                               else str(experiment_id)),
            _b(experiment), ctypes.byref(b)))
        if not b.has_budget:
            return None
        return {"experiment_id": b.experiment_id.decode(),
                "budget_co2_kg": b.budget_co2_kg,
                "used_co2_kg": b.used_co2_kg,
                "budget_used_fraction": (b.used_fraction
                                         if b.budget_co2_kg > 0 else None),
                "over": bool(b.over)}

    def _forget(self, run):
        with self._lock:
            self._runs.discard(run)


class Run:
    """One run of a Client (from Client.start_run or attach_run). As a
    context manager it ends FINISHED, or FAILED when the block raises
    (KILLED for KeyboardInterrupt), recording the exception in the tag
    greentrack.exception."""

    def __init__(self, client, handle):
        self._client = client
        self._h = handle
        self.id = _lib().gt_run_id(handle).decode()

    def __repr__(self):
        return "<greentrack.Run %s%s>" % (self.id,
                                          "" if self._h else " (ended)")

    def _handle(self):
        h = self._h
        if h is None:
            raise GreentrackError(GT_E_CLOSED, "the run has ended")
        return h

    def _logged(self, status):
        if status == GT_E_QUEUE_FULL:
            return False  # dropped and counted: never stop the training
        self._client._check(status)
        return True

    def log_param(self, key, value):
        """Logs a parameter (value converted with str()). Returns True, or
        False when the record was dropped because the queue is full."""
        return self._logged(_lib().gt_log_param(self._handle(), _b(key),
                                                _b(value)))

    def log_params(self, params):
        return all([self.log_param(k, v) for k, v in params.items()])

    def log_metric(self, key, value, step=0, timestamp_ms=None):
        """Logs a metric point (timestamp: now unless given, Unix ms).
        Returns True, or False when dropped because the queue is full."""
        lib = _lib()
        if timestamp_ms is None:
            st = lib.gt_log_metric(self._handle(), _b(key), float(value),
                                   int(step))
        else:
            st = lib.gt_log_metric_at(self._handle(), _b(key), float(value),
                                      int(step), int(timestamp_ms))
        return self._logged(st)

    def log_metrics(self, metrics, step=0):
        return all([self.log_metric(k, v, step) for k, v in metrics.items()])

    def set_tag(self, key, value):
        """Sets a tag. Returns True, or False when dropped (queue full)."""
        return self._logged(_lib().gt_set_tag(self._handle(), _b(key),
                                              _b(value)))

    def log_artifact(self, local_path, artifact_path=None):
        """Uploads the file local_path (a str, bytes or os.PathLike) as
        <artifact_path>/<its name> among the run's artifacts, like
        mlflow.log_artifact. Returns at once: the file is read when the
        library's uploader sends it (metrics keep flowing meanwhile), so
        do not change it until Client.flush() returned; a file changed
        before it is sent is reported and not sent (stats()
        "artifacts_changed"). The run's end waits for it; end() and
        close() wait only the flush timeout, then spool what is left, so
        call Client.flush() first for a large file. Raises
        GreentrackError for a missing file (GT_E_NOT_FOUND), a folder or a
        bad artifact_path (GT_E_INVALID)."""
        return self._logged(_lib().gt_log_artifact(
            self._handle(), os.fsencode(local_path), _b(artifact_path)))

    def log_artifacts(self, local_dir, artifact_path=None):
        """Uploads every file under the folder local_dir as
        <artifact_path>/<its path under local_dir>, like
        mlflow.log_artifacts; as log_artifact otherwise."""
        return self._logged(_lib().gt_log_artifacts(
            self._handle(), os.fsencode(local_dir), _b(artifact_path)))

    def phase(self, name, unit=None):
        """A Phase of this run named name ("train", "eval", "inference":
        1 to 64 characters of [A-Za-z0-9_.-]), to use as a context manager:
        it begins on entry and ends on exit with the work counted by
        Phase.work() (in unit, e.g. "predictions"). The server splits the
        run's energy across its phases by time, and reports each phase's
        CO2 per 1000 units of work. One phase is open at a time."""
        return Phase(self, name, unit)

    def log_phase(self, name, start_ms, end_ms, work_count=None,
                  work_unit=None):
        """Logs a phase whose times (Unix ms) are known; work_count None
        for none. Returns True, or False when dropped (queue full)."""
        return self._logged(_lib().gt_log_phase(
            self._handle(), _b(name), int(start_ms), int(end_ms),
            -1.0 if work_count is None else float(work_count),
            _b(work_unit)))

    def end(self, status="FINISHED"):
        """Sends the run's records (within the flush timeout), records its
        end and status ("FINISHED", "FAILED" or "KILLED") and frees it.
        Returns True, or False when the server was not reached in time
        (the end is spooled and sent later). The run is done with even
        when this raises (out of memory: the client ends it with this
        status when it closes)."""
        code = RUN_STATUSES.get(str(status).upper())
        if code is None:
            raise GreentrackError(GT_E_INVALID, "run status must be FINISHED, FAILED or "
                                     "KILLED, not %r" % (status,))
        h = self._handle()
        self._h = None
        self._client._forget(self)
        st = _lib().gt_run_end(h, code)
        if st == GT_E_TIMEOUT:
            return False
        self._client._check(st)
        return True

    def energy(self):
        """The energy measured for this run so far (closes the current
        measurement window): a dict with cpu_j, gpu_j, ram_j, kwh, the
        methods, scope, start_ms and end_ms; None when energy is not
        measured (GREENTRACK_ENERGY=off, or not started yet)."""
        e = GtEnergy()
        st = _lib().gt_run_energy(self._handle(), ctypes.byref(e))
        if st == GT_E_NOT_FOUND:
            return None
        self._client._check(st)
        d = {k: getattr(e, k) for k, _ in GtEnergy._fields_}
        for k in ("cpu_method", "gpu_method", "ram_method", "scope"):
            d[k] = (d[k] or b"").decode()
        d["kwh"] = (e.cpu_j + e.gpu_j + e.ram_j) / 3.6e6
        return d

    @property
    def ended(self):
        return self._h is None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if self._h is None:
            return False  # ended inside the block (or the client closed)
        clean_exit = exc_type is not None and \
            issubclass(exc_type, SystemExit) and exc.code in (0, None)
        if exc_type is None or clean_exit:
            self.end("FINISHED")
            return False
        try:
            text = "%s: %s" % (exc_type.__name__, exc)
            self.set_tag("greentrack.exception", text[:5000])
        except Exception:  # noqa: BLE001 (keep the user's exception)
            pass
        try:
            self.end("KILLED" if issubclass(exc_type, KeyboardInterrupt)
                     else "FAILED")
        except GreentrackError:
            pass
        return False


class Phase:
    """One phase of a Run (from Run.phase): begins when the with block is
    entered, ends when it is left (also when it raises), with the work
    count that work() added up."""

    def __init__(self, run, name, unit=None):
        self.run = run
        self.name = name
        self.unit = unit
        self.count = None
        self._open = False

    def __repr__(self):
        return "<greentrack.Phase %s of run %s%s>" % (
            self.name, self.run.id, "" if self._open else " (not open)")

    def work(self, n=1, unit=None):
        """Adds n (>= 0) items of work done in this phase (e.g. predictions
        or tokens); unit, when given, names them."""
        n = float(n)
        if not n >= 0 or n == float("inf"):
            raise GreentrackError(GT_E_INVALID,
                                  "work must be a finite number >= 0, not %r"
                                  % (n,))
        self.count = n if self.count is None else self.count + n
        if unit is not None:
            self.unit = unit
        return self.count

    def begin(self):
        self.run._client._check(_lib().gt_phase_begin(self.run._handle(),
                                                      _b(self.name)))
        self._open = True
        return self

    def end(self):
        """Ends the phase (queued, never waits). Returns True, or False
        when dropped because the queue is full."""
        if not self._open:
            raise GreentrackError(GT_E_INVALID, "phase %s is not open"
                                  % (self.name,))
        self._open = False
        return self.run._logged(_lib().gt_phase_end(
            self.run._handle(),
            -1.0 if self.count is None else self.count, _b(self.unit)))

    def __enter__(self):
        return self.begin()

    def __exit__(self, exc_type, exc, tb):
        if self._open and not self.run.ended:
            try:
                self.end()
            except GreentrackError:
                if exc_type is None:
                    raise
        return False
