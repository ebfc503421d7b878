#!/bin/sh
# Runs every test suite against build dir $1 and prints the closing
# "N passed, N failed" line. TESTS=unit|integration narrows the run.
# Each suite prints lines "<suite>: N passed, N failed"; this adds them up.
set -u
BUILD=${1:-build/release}
TESTS=${TESTS:-all}
export GREENTRACK_BUILD="$BUILD"
log=$(mktemp)
units=$(mktemp)
jobs=$(mktemp)
pg_dir=""
trap 'rm -f "$log" "$units" "$jobs"; [ -z "$pg_dir" ] || sh tests/pg/cluster.sh stop "$pg_dir"' EXIT
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

# Every suite runs through tests/run_jobs.py, which prints its output as
# one block and counts a suite with no "NAME: N passed, M failed" line, or
# a non-zero exit after "0 failed", as one failure.
run_suite() { # name, command...: queued for run_units
    name=$1; shift
    argv=""
    for a in "$@"; do argv="$argv${argv:+, }\"$a\""; done
    printf '%s\t-\t[%s]\n' "$name" "$argv" >>"$units"
}
run_units() { # the queued unit suites, one at a time, in order
    [ -s "$units" ] && GREENTRACK_TEST_JOBS=1 python3 tests/run_jobs.py "$units" "$log"
    : >"$units"
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
    run_units
fi
# Integration and browser suites run side by side (tests/run_jobs.py,
# GREENTRACK_TEST_JOBS at once, default 3): each spends most of its time
# waiting on its servers. Every integration suite that starts servers
# through the harness (Python, the C client tests, the npm client, the
# browser) runs twice: on SQLite, then with GREENTRACK_TEST_BACKEND=postgres
# on the cluster above (reported as NAME-pg); GREENTRACK_TEST_PG_PASS=only
# runs that pass alone (make test-pg). GREENTRACK_TEST_PG_PASS=0
# leaves the second pass out (make asan: the engine code of PostgreSQL
# runs under the sanitizers in test_db, test_domain_sql, test_db_copy,
# test_two_servers and test_migrate, which use PostgreSQL in every pass).
pg_pass=${GREENTRACK_TEST_PG_PASS:-1}
[ -n "${GREENTRACK_TEST_PG:-}" ] || pg_pass=0
# Suites that use PostgreSQL whatever the pass (their own servers and
# databases on the cluster): the second pass would repeat them as they are.
PG_ALWAYS="test_two_servers test_migrate test_pg_cluster test_replica"
# The slowest suites first, so that the last to start are short.
SLOW="test_auth test_hostile test_hostile_http test_client_auth test_cli_artifacts test_cli"
add_job() { # name env argv-json
    # GREENTRACK_TEST_PG_PASS=only (make test-pg): the PostgreSQL pass alone
    [ "$pg_pass" = only ] && [ "$2" = - ] && return 0
    printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$jobs"
}
add_both() { # name argv-json: the suite on SQLite, then on PostgreSQL
    add_job "$1" - "$2"
    case " $PG_ALWAYS " in *" $1 "*) return 0 ;; esac
    [ "$pg_pass" != 0 ] && add_job "$1-pg" GREENTRACK_TEST_BACKEND=postgres "$2"
    return 0
}
add_python() { # path
    add_both "$(basename "$1" .py)" \
        "[\"python3\", \"tests/integration/harness.py\", \"$1\"]"
}
if [ "$TESTS" = all ] || [ "$TESTS" = integration ]; then
    for n in $SLOW; do
        [ -f "tests/integration/$n.py" ] && add_python "tests/integration/$n.py"
    done
    for t in tests/integration/test_*.py; do
        [ -f "$t" ] || continue
        case " $SLOW " in *" $(basename "$t" .py) "*) continue ;; esac
        add_python "$t"
    done
    # The shell suites install and run the server on a SQLite file of
    # their own: nothing of theirs changes with the engine.
    for t in tests/integration/test_*.sh; do
        [ -f "$t" ] || continue
        add_job "$(basename "$t" .sh)" - "[\"sh\", \"$t\"]"
    done
    for t in tests/integration/test_*.mjs; do
        [ -f "$t" ] || continue
        add_both "$(basename "$t" .mjs)" "[\"node\", \"$t\"]"
    done
    # libgreentrack's C integration tests (tests/integration/itest_*.c)
    for t in "$BUILD"/tests/itest_*; do
        [ -x "$t" ] || continue
        add_both "$(basename "$t")" "[\"$t\"]"
    done
fi
# The web UI in headless Chromium (tests/browser/test_*.mjs); TESTS=browser
# runs only these.
if [ "$TESTS" = all ] || [ "$TESTS" = browser ]; then
    for t in tests/browser/test_*.mjs; do
        [ -f "$t" ] || continue
        add_both "$(basename "$t" .mjs)" "[\"node\", \"$t\"]"
    done
fi
if [ -s "$jobs" ]; then
    python3 tests/run_jobs.py "$jobs" "$log"
fi
# TESTS=client-unit: only libgreentrack's unit tests (make tsan runs them)
if [ "$TESTS" = client-unit ]; then
    for t in "$BUILD"/tests/test_client_*; do
        [ -x "$t" ] || continue
        run_suite "$(basename "$t")" "$t"
    done
    run_units
fi

passed=$(grep -aE '^[A-Za-z0-9_.-]+: [0-9]+ passed, [0-9]+ failed' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -aE '^[A-Za-z0-9_.-]+: [0-9]+ passed, [0-9]+ failed' "$log" | awk '{s+=$4} END {print s+0}')
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
