#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs the benchmarks against BUILD_DIR (default build/release): a fresh
# server (port 0, temporary DB) for bench_ingest, another for bench_read,
# then a summary table. BENCH_SMOKE=1 runs everything briefly (CI): it never
# judges the figures, it only fails when a request failed, a check did not
# hold, a bench crashed, or the server did not start or stop cleanly.
# BENCH_SERVER_ARGS adds server options (e.g. "--durability normal").
set -u
BUILD=${1:-build/release}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
cd "$(dirname "$0")/../.." || exit 2
SMOKE=${BENCH_SMOKE:-0}
SERVER=$BUILD/bin/greentrack-server
SERVER_ARGS=${BENCH_SERVER_ARGS:-}
if [ "$SMOKE" = 1 ]; then MODE=--smoke; else MODE=; fi

for f in "$SERVER" "$BUILD/bench/bench_ingest" "$BUILD/bench/bench_read" \
    "$BUILD/bench/bench_history"; do
    if [ ! -x "$f" ]; then
        echo "bench: $f is missing (run make test-bins)" >&2
        exit 2
    fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gt-bench.XXXXXX") || exit 2
srv_pid=
failed=0
cleanup() {
    if [ -n "$srv_pid" ]; then
        kill -TERM "$srv_pid" 2>/dev/null
        wait "$srv_pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_server NAME: sets srv_pid, srv_port, srv_db; 0 or 1.
start_server() {
    dir=$tmp/$1
    mkdir -p "$dir/artifacts"
    srv_db=$dir/greentrack.db
    # bench_http.h sends "Host: 127.0.0.1" (no port): allowed on any port
    # shellcheck disable=SC2086 # SERVER_ARGS is a list of options
    "$SERVER" --port 0 --db "$srv_db" --artifact-root "$dir/artifacts" \
        --allowed-hosts 127.0.0.1,localhost \
        --log-level warn $SERVER_ARGS >"$dir/stdout" 2>"$dir/stderr" &
    srv_pid=$!
    i=0
    while [ $i -lt 200 ]; do
        line=$(grep -m1 'listening on http://' "$dir/stdout" 2>/dev/null)
        if [ -n "$line" ]; then
            srv_port=$(echo "$line" | sed -n 's|.*http://[^ ]*:\([0-9][0-9]*\).*|\1|p')
            [ -n "$srv_port" ] && return 0
        fi
        if ! kill -0 "$srv_pid" 2>/dev/null; then
            break
        fi
        sleep 0.05
        i=$((i + 1))
    done
    echo "bench: server did not start ($1):" >&2
    cat "$dir/stdout" "$dir/stderr" >&2
    return 1
}

# stop_server NAME: SIGTERM, wait, non-zero exit is a failure.
stop_server() {
    kill -TERM "$srv_pid" 2>/dev/null
    wait "$srv_pid"
    rc=$?
    srv_pid=
    if [ "$rc" -ne 0 ]; then
        echo "bench: server ($1) exited with status $rc after SIGTERM:" >&2
        tail -5 "$tmp/$1/stderr" >&2
        failed=1
    fi
}

# run_bench NAME CMD...: runs a bench, keeps its output for the summary.
run_bench() {
    name=$1
    shift
    echo "== $name"
    "$@" >"$tmp/$name.out" 2>&1
    rc=$?
    cat "$tmp/$name.out"
    if [ "$rc" -ne 0 ]; then
        echo "bench: $name failed (exit $rc)" >&2
        failed=1
    fi
}

start=$(date +%s)
if start_server ingest; then
    run_bench ingest "$BUILD/bench/bench_ingest" $MODE --host 127.0.0.1 \
        --port "$srv_port" --pid "$srv_pid" --tmpdir "$tmp" \
        --schema schema/sqlite/001_tracking.sql
    stop_server ingest
else
    failed=1
fi
if start_server read; then
    run_bench read "$BUILD/bench/bench_read" $MODE --host 127.0.0.1 \
        --port "$srv_port" --pid "$srv_pid" --db "$srv_db"
    stop_server read
else
    failed=1
fi
# get-history of one 100,000-point curve against sqlite3 -json printing
# the same rows (a fresh server; bench_history seeds it over HTTP).
if start_server history; then
    run_bench history "$BUILD/bench/bench_history" $MODE --host 127.0.0.1 \
        --port "$srv_port" --db "$srv_db"
    stop_server history
else
    failed=1
fi
# Ingest against the bare prototype in ../shared/tools/limit (issue 12):
# alternating wrk trials, its own servers; skipped without wrk or the folder.
run_bench limit python3 tests/bench/bench_limit.py "$BUILD" $MODE
# The leaderboard bench seeds its own database and starts its own server.
run_bench leaderboard python3 tests/bench/bench_leaderboard.py "$BUILD" $MODE
# The model registry's searches over 10,000 models x 10 versions (seeded
# directly, its own server), against the same statements run from Python.
run_bench registry python3 tests/bench/bench_registry.py "$BUILD" $MODE
# The leaderboard with cost=inference&upstream=amortized over runs with
# phases and lineage, against the plain one (its own seeded server).
run_bench greenai python3 tests/bench/bench_greenai.py "$BUILD" $MODE
# The carbon-budget check of a run's start (gt_experiment_budget) against
# experiments/get and both forms of experiments/summary (its own server).
run_bench budget python3 tests/bench/bench_budget.py "$BUILD" $MODE
# Zone accounting: log-energy to a run with and without greentrack.zone
# (its own server and a loopback fake of the UK Carbon Intensity API).
run_bench zone python3 tests/bench/bench_zone.py "$BUILD" $MODE
# The artifact proxy: upload/download of a 1 GiB file (64 MiB in a smoke
# run) against cp on the same disk, server RSS, log-metric p99 meanwhile
# (its own server; the files live under TMPDIR).
run_bench artifacts python3 tests/bench/bench_artifacts.py "$BUILD" $MODE
# The scale benchmark (make bench-scale, long) only as a smoke: 1,000 runs,
# every figure once, so CI shows it still runs.
if [ "$SMOKE" = 1 ]; then
    run_bench scale python3 tests/bench/bench_scale.py "$BUILD" --smoke
fi
# PostgreSQL (make bench-pg, several minutes) only as a smoke: its own
# private cluster (tests/pg/cluster.sh), every figure once, tiny; skipped
# without PostgreSQL.
if [ "$SMOKE" = 1 ]; then
    run_bench pg python3 tests/bench/bench_pg.py "$BUILD" --smoke
fi

if [ -x "$BUILD/bench/bench_client" ] && start_server client; then
    run_bench client "$BUILD/bench/bench_client" $MODE --host 127.0.0.1 \
        --port "$srv_port" --tmpdir "$tmp"
    stop_server client
elif [ -x "$BUILD/bench/bench_client" ]; then
    failed=1
fi

# libgreentrack's energy sampler: fake sysfs tree + fake NVML, no server
if [ -x "$BUILD/bench/bench_sampler" ]; then
    run_bench sampler "$BUILD/bench/bench_sampler" $MODE
fi

echo
if [ "$SMOKE" = 1 ]; then kind="smoke run"; else kind="full run"; fi
echo "== summary ($kind, $(nproc 2>/dev/null || echo '?') cores," \
    "$(($(date +%s) - start)) s)"
printf '%-32s %14s %10s %6s\n' figure value target meets
cat "$tmp"/ingest.out "$tmp"/limit.out "$tmp"/read.out "$tmp"/history.out "$tmp"/leaderboard.out \
    "$tmp"/registry.out "$tmp"/greenai.out "$tmp"/zone.out "$tmp"/artifacts.out "$tmp"/client.out \
    "$tmp"/sampler.out "$tmp"/pg.out 2>/dev/null | awk '
    $1 == "RESULT" { printf "%-32s %14s %10s %6s\n", $2, $3, $4, $5 }'
if [ "$SMOKE" = 1 ]; then
    echo "(smoke run: the figures are not meaningful; targets are not checked)"
fi
if [ "$failed" -ne 0 ]; then
    echo "bench: FAILED"
    exit 1
fi
echo "bench: ok"
