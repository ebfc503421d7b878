#!/bin/sh
# SPDX-License-Identifier: MIT
#
# deps.sh: the one install step. Every make goal that builds or tests runs
# it first (the Makefile's "deps" stamp), so nothing compiles and no suite
# starts before what it needs is on the machine. The packages are named here
# and nowhere else.
#
#   sh tools/deps.sh build   what `make` / `make run` need: the -dev
#                            libraries, pkg-config, and Node + npm for the
#                            web UI's one library (uPlot)
#   sh tools/deps.sh test    all of build, plus what the suites run:
#                            python3, Chromium, curl, PostgreSQL 15, the npm
#                            packages of tests/browser and tests/integration
#   sh tools/deps.sh bench   all of test, plus wrk (the load generator of
#                            tests/bench/bench_limit.py)
#   sh tools/deps.sh fuzz    all of build, plus clang and its libFuzzer runtime
#   sh tools/deps.sh lint    clang-format and cppcheck
#
# Debian packages are installed with apt-get (through sudo when not root)
# only when `dpkg -s` says they are missing; npm packages with `npm ci` only
# when a folder's node_modules is older than its package-lock.json. A second
# run does nothing and takes well under a second. When something cannot be
# installed, it prints one line saying what is missing and why, and fails.
set -u

profile=${1:-build}

# ---- the packages ---------------------------------------------------------
# Debian 12 names. NAME=COMMAND: the package is not needed when COMMAND is
# already on PATH (a machine may carry Node from elsewhere, whose npm conflicts
# with Debian's). Build: the product's libraries (found with pkg-config), and
# Node + npm for the UI's uPlot.
DEB_BUILD="pkg-config libmicrohttpd-dev libcjson-dev libsqlite3-dev
           libcurl4-openssl-dev libsodium-dev libgnutls28-dev libpq-dev
           nodejs=node npm=npm"
# Test: the test drivers (Python stdlib, Node), the browser the UI tests
# drive (at /usr/bin/chromium), and curl (test_install.sh fetches the
# installed server's UI with it; test_tls.py talks HTTPS with it), and
# openssl (test_tls.py makes its CA and certificates with it), and
# PostgreSQL 15, which tests/pg/cluster.sh starts privately for the suites
# (its initdb, pg_ctl and psql).
DEB_TEST="python3=python3 chromium curl=curl openssl=openssl postgresql-15"
# Bench: wrk drives the same load against greentrack and the ingest
# prototype (tests/bench/bench_limit.py).
DEB_BENCH="wrk=wrk"
DEB_FUZZ="clang libclang-rt-14-dev"
DEB_LINT="clang-format cppcheck"
# npm folders (each has package.json + package-lock.json, versions pinned)
NPM_BUILD="web"
NPM_TEST="tests/browser tests/integration"

case $profile in
build) deb=$DEB_BUILD npm_dirs=$NPM_BUILD ;;
test) deb="$DEB_BUILD $DEB_TEST" npm_dirs="$NPM_BUILD $NPM_TEST" ;;
bench) deb="$DEB_BUILD $DEB_TEST $DEB_BENCH" npm_dirs="$NPM_BUILD $NPM_TEST" ;;
fuzz) deb="$DEB_BUILD $DEB_FUZZ" npm_dirs=$NPM_BUILD ;;
lint) deb=$DEB_LINT npm_dirs="" ;;
*)
    echo "deps: unknown profile '$profile' (build, test, bench, fuzz or lint)" >&2
    exit 2
    ;;
esac

say() { echo "deps: $*"; }
die() {
    echo "deps: $*" >&2
    exit 1
}

cd "$(dirname "$0")/.." || die "cannot enter the source tree"

# ---- Debian packages --------------------------------------------------------
installed() { dpkg-query -W -f '${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }
missing=""
for spec in $deb; do
    p=${spec%%=*}
    if [ "$p" != "$spec" ] && command -v "${spec#*=}" >/dev/null 2>&1; then
        continue
    fi
    installed "$p" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ]; then
        sudo=""
    elif command -v sudo >/dev/null 2>&1; then
        sudo="sudo"
    else
        die "missing Debian packages:$missing (not root, and no sudo to install them)"
    fi
    command -v apt-get >/dev/null 2>&1 ||
        die "missing Debian packages:$missing (no apt-get: this is not Debian)"
    say "installing Debian packages:$missing"
    log=$(mktemp)
    t0=$(date +%s)
    if ! { $sudo env DEBIAN_FRONTEND=noninteractive apt-get \
        -o DPkg::Lock::Timeout=300 update -qq &&
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get \
            -o DPkg::Lock::Timeout=300 install -y -qq $missing; } \
        >"$log" 2>&1; then
        why=$(grep -E '^(E|Err):' "$log" | head -1)
        [ -n "$why" ] || why=$(tail -1 "$log")
        rm -f "$log"
        die "could not install Debian packages:$missing (apt-get: $why)"
    fi
    rm -f "$log"
    still=""
    for p in $missing; do
        installed "$p" || still="$still $p"
    done
    [ -z "$still" ] || die "apt-get finished but these are still missing:$still"
    say "Debian packages installed in $(($(date +%s) - t0)) s"
fi

# ---- npm packages -----------------------------------------------------------
# node_modules/.package-lock.json is npm's record of what it installed: when
# it is missing or older than package-lock.json, install again.
for d in $npm_dirs; do
    [ -f "$d/package-lock.json" ] || die "$d/package-lock.json is missing"
    rec="$d/node_modules/.package-lock.json"
    if [ -f "$rec" ] && [ ! "$d/package-lock.json" -nt "$rec" ]; then
        continue
    fi
    command -v npm >/dev/null 2>&1 || die "npm is missing (Debian package npm)"
    say "npm ci in $d"
    log=$(mktemp)
    if ! (cd "$d" && npm ci --no-audit --no-fund) >"$log" 2>&1; then
        why=$(grep -m1 -E 'npm (ERR!|error)' "$log")
        [ -n "$why" ] || why=$(tail -1 "$log")
        rm -f "$log"
        die "npm ci in $d failed: $why"
    fi
    rm -f "$log"
    touch "$rec"
done
exit 0
