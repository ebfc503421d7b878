#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_fresh.sh (make fresh-test): README's two commands on a fresh Debian 12
# machine, for real. A plain container of the debootstrapped
# debian:bookworm-slim base image that `make docker-test` makes (rootful
# podman; no extra capabilities, the default 64 MiB /dev/shm) clones the
# committed checkout (HEAD: uncommitted changes are not tested), installs only
# build-essential, git and ca-certificates, runs `make run` until /health
# answers, stops it, then runs `make test` once (tests/docker/fresh_inside.sh).
# Passes only when both pass on the first try; prints each step's duration.
#
# This network re-signs TLS: the host's CA bundle is handed to the container
# read-only, and npm (Node) trusts it through NODE_EXTRA_CA_CERTS.
# Knobs: FRESH_RUN_LIMIT (900 s to /health), FRESH_TOTAL_LIMIT (1800 s),
# DOCKER_TEST_REBUILD_BASE=1 (recreate the base image).
# Ends with "test_fresh: N passed, M failed"; exit status 1 on any failure.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1

SUITE=test_fresh
# shellcheck source=tests/docker/podman_env.sh
source "$ROOT/tests/docker/podman_env.sh"
need_root "$0" "$@"

BASE=localhost/debian:bookworm-slim
CONF=/etc/containers/containers.conf.d/50-greentrack-docker-test.conf
CTR=greentrack-fresh-$$
TOTAL_LIMIT=${FRESH_TOTAL_LIMIT:-1800}
export DEBIAN_FRONTEND=noninteractive

T0=$(date +%s)
WORK=$(mktemp -d /tmp/greentrack-fresh.XXXXXX)
ROOTFS=""

finish() {
    local rc=$?
    trap - EXIT INT TERM
    [ "$rc" != 0 ] && [ "$failed" = 0 ] && bad "aborted (exit status $rc)"
    if command -v podman >/dev/null 2>&1; then
        timeout 60 podman rm -f -t 2 "$CTR" >/dev/null 2>&1
    fi
    [ -n "$ROOTFS" ] && rm -rf "$ROOTFS" "$ROOTFS.log"
    rm -rf "$WORK"
    [ "$failed" -gt 0 ] && rc=1
    say "total $(secs "$T0") s"
    echo "test_fresh: $passed passed, $failed failed"
    exit "$rc"
}
trap finish EXIT
trap 'bad "interrupted"; exit 1' INT TERM

# one podman user at a time (shared with make docker-test)
mkdir -p /run/lock
exec 9>/run/lock/greentrack-docker-test.lock
flock -w 1200 9 || fatal "another podman test holds /run/lock/greentrack-docker-test.lock"

git -C "$ROOT" rev-parse --verify -q HEAD >/dev/null || fatal "$ROOT is not a git checkout with a commit"
if [ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    say "note: uncommitted changes in $ROOT are not part of this test (it clones HEAD)"
fi

t=$(date +%s)
podman_setup
say "podman ready in $(secs "$t") s"

# The container clones a bare copy of HEAD (a worktree's .git is only a
# pointer to a folder the container cannot see).
git clone -q --bare --no-local "$ROOT" "$WORK/repo.git" || fatal "git clone --bare $ROOT"

ca=()
if [ -s /etc/ssl/certs/ca-certificates.crt ]; then
    ca=(-v /etc/ssl/certs/ca-certificates.crt:/host-ca.crt:ro
        -e NODE_EXTRA_CA_CERTS=/host-ca.crt)
fi
say "clean container of $BASE: $(git -C "$ROOT" log -1 --format='%h %s' | cut -c1-60)"
t=$(date +%s)
# 9>&-: the container must not hold the lock's descriptor.
PM_TIMEOUT=$((TOTAL_LIMIT + 120)) pm run -i --rm --name "$CTR" \
    -v "$WORK/repo.git:/repo:ro" "${ca[@]}" \
    -e FRESH_RUN_LIMIT="${FRESH_RUN_LIMIT:-900}" -e FRESH_TOTAL_LIMIT="$TOTAL_LIMIT" \
    "$BASE" bash -s <tests/docker/fresh_inside.sh 2>&1 9>&- | tee "$WORK/inside.log"
rc=${PIPESTATUS[0]}
say "container finished in $(secs "$t") s (exit $rc)"

if grep -q '^fresh: make run serves /health' "$WORK/inside.log"; then
    ok "make run serves /health on a fresh Debian 12 ($(grep -o 'cold start to /health: [0-9]* s' "$WORK/inside.log"))"
else
    bad "make run did not serve /health on a fresh Debian 12"
fi
if grep -q "^fresh: make test ended '[0-9]* passed, 0 failed' (exit 0)" "$WORK/inside.log"; then
    ok "make test passes on its first run: $(grep -o "ended '[0-9]* passed, 0 failed'" "$WORK/inside.log")"
else
    bad "make test did not pass on its first run"
fi
if [ "$rc" = 0 ] && grep -q '^fresh: OK$' "$WORK/inside.log"; then
    ok "the whole fresh run ended OK"
else
    bad "the fresh run did not end OK (exit $rc)"
fi
