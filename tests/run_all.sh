#!/bin/sh
# Runs every test suite against build dir $1 and prints the closing
# "N passed, N failed" line. TESTS=unit|integration|browser|client-unit
# narrows the run; TESTS=pg runs only the PostgreSQL pass (make test-pg).
# Each suite prints lines "<suite>: N passed, N failed"; this adds them up.
#
# TESTS=all runs the unit tests, then every integration and browser suite
# on SQLite, then the PostgreSQL pass: the integration suites (Python,
# npm, the C itests) and the browser suites again with
# GREENTRACK_TEST_BACKEND=postgres on the cluster started below, each
# server on a fresh database, reporting as "<suite>-pg".
set -u
BUILD=${1:-build/release}
TESTS=${TESTS:-all}
export GREENTRACK_BUILD="$BUILD"
log=$(mktemp)
pg_dir=""
trap 'rm -f "$log"; [ -z "$pg_dir" ] || sh tests/pg/cluster.sh stop "$pg_dir"' EXIT
trap 'exit 130' INT TERM
status=0

# One private PostgreSQL 15 for every suite (tests/pg/cluster.sh), unless
# GREENTRACK_TEST_PG already names one. Suites that need it fail without
# it (GREENTRACK_TEST_PG_REQUIRED=1), never skip.
export GREENTRACK_TEST_PG_REQUIRED=1
if [ -z "${GREENTRACK_TEST_PG:-}" ] && [ "$TESTS" != browser ] &&
    [ "$TESTS" != client-unit ]; then
    if pg_out=$(sh tests/pg/cluster.sh start 2>"$log"); then
        pg_dir=$(echo "$pg_out" | sed -n 1p)
        GREENTRACK_TEST_PG=$(echo "$pg_out" | sed -n 2p)
        export GREENTRACK_TEST_PG
        echo "== postgresql: $GREENTRACK_TEST_PG"
    else
        echo "postgresql: 0 passed, 1 failed ($(tail -1 "$log"))" | tee "$log"
    fi
fi

run_suite() { # name, command...
    name=$1; shift
    echo "== $name"
    out=$(mktemp)
    "$@" >"$out" 2>&1
    rc=$?
    cat "$out"
    cat "$out" >>"$log"
    if ! grep -aq "^$name: [0-9]* passed, [0-9]* failed" "$out"; then
        echo "$name: 0 passed, 1 failed (no summary; exit $rc)" | tee -a "$log"
    elif [ "$rc" -ne 0 ] && grep -aq "^$name: [0-9]* passed, 0 failed" "$out"; then
        # e.g. a sanitizer report at exit after all checks passed
        echo "$name-exit: 0 passed, 1 failed (exit $rc)" | tee -a "$log"
    fi
    rm -f "$out"
}

if [ "$TESTS" = all ] || [ "$TESTS" = unit ]; then
    for t in "$BUILD"/tests/test_*; do
        [ -x "$t" ] || continue
        run_suite "$(basename "$t")" "$t"
    done
    for r in "$BUILD"/tests/replay_fuzz_*; do
        [ -x "$r" ] || continue
        n=$(basename "$r" | sed 's/^replay_//')
        run_suite "$(basename "$r")" "$r" "tests/fuzz/corpus/$n"
    done
fi
# The integration suites on the engine GREENTRACK_TEST_BACKEND names; $1 is
# the suffix of their names ("" or "-pg").
integration_pass() {
    sfx=$1
    for t in tests/integration/test_*.py; do
        [ -f "$t" ] || continue
        run_suite "$(basename "$t" .py)$sfx" python3 tests/integration/harness.py "$t"
    done
    # The shell suites install and run the server on a SQLite file of
    # their own: nothing of theirs changes with the engine.
    if [ -z "$sfx" ]; then
        for t in tests/integration/test_*.sh; do
            [ -f "$t" ] || continue
            run_suite "$(basename "$t" .sh)" sh "$t"
        done
    fi
    for t in tests/integration/test_*.mjs; do
        [ -f "$t" ] || continue
        run_suite "$(basename "$t" .mjs)$sfx" node "$t"
    done
    # libgreentrack's C integration tests (tests/integration/itest_*.c)
    for t in "$BUILD"/tests/itest_*; do
        [ -x "$t" ] || continue
        run_suite "$(basename "$t")$sfx" "$t"
    done
}

# The web UI in headless Chromium (tests/browser/test_*.mjs).
browser_pass() {
    for t in tests/browser/test_*.mjs; do
        [ -f "$t" ] || continue
        run_suite "$(basename "$t" .mjs)$1" node "$t"
    done
}

if [ "$TESTS" = all ] || [ "$TESTS" = integration ]; then
    integration_pass ""
fi
# TESTS=browser runs only these.
if [ "$TESTS" = all ] || [ "$TESTS" = browser ]; then
    browser_pass ""
fi
# The PostgreSQL pass (TESTS=pg alone: make test-pg).
if [ "$TESTS" = all ] || [ "$TESTS" = pg ]; then
    echo "== the PostgreSQL pass"
    if [ -z "${GREENTRACK_TEST_PG:-}" ]; then
        echo "postgresql-pass: 0 passed, 1 failed (no PostgreSQL)" | tee -a "$log"
    else
        pg_start=$(date +%s)
        GREENTRACK_TEST_BACKEND=postgres
        export GREENTRACK_TEST_BACKEND
        integration_pass -pg
        browser_pass -pg
        unset GREENTRACK_TEST_BACKEND
        echo "== the PostgreSQL pass took $(($(date +%s) - pg_start)) s"
    fi
fi
# TESTS=client-unit: only libgreentrack's unit tests (make tsan runs them)
if [ "$TESTS" = client-unit ]; then
    for t in "$BUILD"/tests/test_client_*; do
        [ -x "$t" ] || continue
        run_suite "$(basename "$t")" "$t"
    done
fi

passed=$(grep -aE '^[A-Za-z0-9_.-]+: [0-9]+ passed, [0-9]+ failed' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -aE '^[A-Za-z0-9_.-]+: [0-9]+ passed, [0-9]+ failed' "$log" | awk '{s+=$4} END {print s+0}')
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
