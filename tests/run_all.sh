#!/bin/sh
# Runs every test suite against build dir $1 and prints the closing
# "N passed, N failed" line. TESTS=unit|integration narrows the run.
# Each suite prints lines "<suite>: N passed, N failed"; this adds them up.
set -u
BUILD=${1:-build/release}
TESTS=${TESTS:-all}
export GREENTRACK_BUILD="$BUILD"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0

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
if [ "$TESTS" = all ] || [ "$TESTS" = integration ]; then
    for t in tests/integration/test_*.py; do
        [ -f "$t" ] || continue
        run_suite "$(basename "$t" .py)" python3 tests/integration/harness.py "$t"
    done
    for t in tests/integration/test_*.sh; do
        [ -f "$t" ] || continue
        run_suite "$(basename "$t" .sh)" sh "$t"
    done
    for t in tests/integration/test_*.mjs; do
        [ -f "$t" ] || continue
        run_suite "$(basename "$t" .mjs)" node "$t"
    done
    # libgreentrack's C integration tests (tests/integration/itest_*.c)
    for t in "$BUILD"/tests/itest_*; do
        [ -x "$t" ] || continue
        run_suite "$(basename "$t")" "$t"
    done
fi
# The web UI in headless Chromium (tests/browser/test_*.mjs); TESTS=browser
# runs only these.
if [ "$TESTS" = all ] || [ "$TESTS" = browser ]; then
    for t in tests/browser/test_*.mjs; do
        [ -f "$t" ] || continue
        run_suite "$(basename "$t" .mjs)" node "$t"
    done
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
