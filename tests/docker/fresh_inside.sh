#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# fresh_inside.sh: what test_fresh.sh runs inside a clean Debian 12
# container, as a newcomer would on a new machine: install only
# build-essential, git and ca-certificates; clone the committed checkout
# (mounted read-only at /repo); `make run` until /health answers on port
# 5000; stop it; `make test` once. Prints one "fresh: ..." line per step with
# its duration, and "fresh: OK" only when both commands passed first time.
# Limits: /health within FRESH_RUN_LIMIT s (900) of the start; make test
# within what is left of FRESH_TOTAL_LIMIT s (1800).
set -u
export DEBIAN_FRONTEND=noninteractive
RUN_LIMIT=${FRESH_RUN_LIMIT:-900}
TOTAL_LIMIT=${FRESH_TOTAL_LIMIT:-1800}
T0=$(date +%s)
since() { echo $(($(date +%s) - $1)); }
say() { echo "fresh: $*"; }
die() {
    say "FAILED: $*"
    exit 1
}

# ---- the machine as a newcomer has it -----------------------------------
t=$(date +%s)
apt-get update -qq >/tmp/apt.log 2>&1 &&
    apt-get install -y -qq build-essential git ca-certificates >>/tmp/apt.log 2>&1 ||
    { tail -20 /tmp/apt.log; die "apt-get install build-essential git ca-certificates"; }
say "installed build-essential git ca-certificates in $(since "$t") s"
git config --global --add safe.directory '*'
git clone -q /repo /src || die "git clone"
cd /src || die "cd /src"
say "cloned $(git log -1 --format='%h %s' | cut -c1-72)"

# ---- command 1: make run, until /health answers -----------------------------
# GET /health on 127.0.0.1:5000 answers 200: the image's own probe (bash's
# /dev/tcp; the container has no curl yet).
health() { bash docker/healthcheck.sh >/dev/null 2>&1; }
t=$(date +%s)
setsid make run >/tmp/run.log 2>&1 &
run_pid=$!
up=0
while [ "$(since "$T0")" -lt "$RUN_LIMIT" ]; do
    if health; then
        up=1
        break
    fi
    kill -0 "$run_pid" 2>/dev/null || break
    sleep 2
done
if [ $up = 0 ]; then
    tail -40 /tmp/run.log
    kill -TERM -- "-$run_pid" 2>/dev/null
    if kill -0 "$run_pid" 2>/dev/null; then
        die "make run: /health did not answer within $RUN_LIMIT s of the start"
    fi
    die "make run exited before /health answered"
fi
grep -E '^deps:' /tmp/run.log
say "make run serves /health after $(since "$t") s (cold start to /health: $(since "$T0") s)"
kill -TERM -- "-$run_pid" 2>/dev/null
wait "$run_pid" 2>/dev/null
health && die "the server still answers after make run was stopped"

# ---- command 2: make test, once ---------------------------------------------
t=$(date +%s)
left=$((TOTAL_LIMIT - $(since "$T0")))
[ "$left" -gt 60 ] || die "no time left for make test"
# Every line goes to the log; suite summaries, failures and install steps
# are shown as they come.
timeout -k 10 "$left" make test 2>&1 | tee /tmp/test.log |
    grep --line-buffered -E '^(deps:|FAIL|[A-Za-z0-9_.-]+: [0-9]+ passed, [0-9]+ failed|[0-9]+ passed, [0-9]+ failed)'
rc=${PIPESTATUS[0]}
last=$(grep -E '^[0-9]+ passed, [0-9]+ failed' /tmp/test.log | tail -1)
say "make test ended '$last' (exit $rc) after $(since "$t") s"
if [ "$rc" != 0 ]; then
    [ "$rc" = 124 ] && die "make test did not finish within the $TOTAL_LIMIT s limit"
    # each failure with its traceback, so a one-off is diagnosable
    grep -E -A25 '^(FAIL|ERROR):|^not ok' /tmp/test.log | head -150
    tail -30 /tmp/test.log
    die "make test failed on its first run"
fi
case $last in *" passed, 0 failed") ;; *) die "make test printed no '0 failed' closing line" ;; esac
say "total $(since "$T0") s"
say "OK"
