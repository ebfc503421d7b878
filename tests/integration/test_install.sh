#!/bin/sh
# SPDX-License-Identifier: MIT
# `make install DESTDIR=<tmp> PREFIX=/usr`, then checks the staged tree:
# the header, libgreentrack.so (soname, symlinks, only gt_* exported) and
# .a, greentrack.pc, the binaries and the web files; compiles a program
# against the installed copy with pkg-config (shared and static), runs it
# against the installed server and reads its run back with the installed
# CLI. Last line: "test_install: N passed, M failed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${GREENTRACK_BUILD:-build/release}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
CONFIG=$(basename "$BUILD")
VERSION=$(cat "$ROOT/VERSION")
CC=${CC:-cc}
SAN=
case $CONFIG in
asan) SAN="-fsanitize=address,undefined" ;;
tsan) SAN="-fsanitize=thread" ;;
esac

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "FAIL - $1"; }
check() { # description, command...
    d=$1
    shift
    if "$@"; then ok "$d"; else bad "$d"; fi
}

TMP=$(mktemp -d /tmp/gt-install-XXXXXX)
STAGE=$TMP/stage
SRV_PID=
finish() {
    [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID"
    rm -rf "$TMP"
    echo "test_install: $pass passed, $fail failed"
    [ "$fail" -eq 0 ]
    exit $?
}

if make -C "$ROOT" --no-print-directory CONFIG="$CONFIG" install \
    DESTDIR="$STAGE" PREFIX=/usr >"$TMP/make.log" 2>&1; then
    ok "make install DESTDIR=... PREFIX=/usr"
else
    bad "make install DESTDIR=... PREFIX=/usr"
    tail -30 "$TMP/make.log"
    finish
fi

U=$STAGE/usr
check "header installed" cmp -s "$ROOT/client/include/greentrack.h" \
    "$U/include/greentrack.h"
check "libgreentrack.a installed" test -f "$U/lib/libgreentrack.a"
check "libgreentrack.so is a symlink" test -L "$U/lib/libgreentrack.so"
check "libgreentrack.so.0 present" test -e "$U/lib/libgreentrack.so.0"
real=$(readlink -f "$U/lib/libgreentrack.so")
case $real in
"$U"/lib/libgreentrack.so.*) ok "symlinks resolve inside the lib dir" ;;
*) bad "symlinks resolve inside the lib dir ($real)" ;;
esac
soname=$(readelf -d "$U/lib/libgreentrack.so" 2>/dev/null |
    sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
check "soname is libgreentrack.so.0 ($soname)" \
    test "$soname" = libgreentrack.so.0
other=$(nm -D --defined-only "$U/lib/libgreentrack.so" |
    awk '{print $3}' | grep -v '^gt_' | grep -v '^_' | head -5)
check "only gt_* symbols exported${other:+ (also: $other)}" test -z "$other"
check "greentrack.pc installed" test -f "$U/lib/pkgconfig/greentrack.pc"
check "greentrack.pc names the real prefix" \
    grep -q '^prefix=/usr$' "$U/lib/pkgconfig/greentrack.pc"
check "greentrack CLI installed" test -x "$U/bin/greentrack"
check "greentrack-server installed" test -x "$U/bin/greentrack-server"
check "web files installed" test -f "$U/share/greentrack/web/index.html"
check "python binding installed" \
    test -f "$U/share/greentrack/python/greentrack.py"

export PKG_CONFIG_PATH="$U/lib/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$STAGE"
check "pkg-config --modversion is $VERSION" \
    test "$(pkg-config --modversion greentrack 2>&1)" = "$VERSION"
flags=$(pkg-config --cflags --libs greentrack 2>&1)
echo "pkg-config --cflags --libs greentrack: $flags"
case " $flags " in
*" -I$U/include "*"-L$U/lib "*"-lgreentrack "*) ok "pkg-config flags" ;;
*) bad "pkg-config flags" ;;
esac
check "Requires.private names libcurl and libcjson" \
    grep -Eq '^Requires.private:.*libcurl.*libcjson' \
    "$U/lib/pkgconfig/greentrack.pc"

cat >"$TMP/prog.c" <<'PROG'
#include <greentrack.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    gt_client *c;
    gt_run *run;
    gt_status st;

    if (argc != 3 || gt_version_number() != GT_VERSION_NUM ||
        strcmp(gt_version(), GT_VERSION) != 0) {
        fprintf(stderr, "usage or header/library mismatch\n");
        return 2;
    }
    if ((c = gt_client_new(argv[1])) == NULL ||
        gt_run_start(c, argv[2], "installed", &run) != GT_OK) {
        return 3;
    }
    gt_log_param(run, "built_with", "pkg-config");
    for (int i = 0; i < 10; i++) {
        gt_log_metric(run, "x", i * 0.5, i);
    }
    printf("%s\n", gt_run_id(run));
    st = gt_run_end(run, GT_RUN_FINISHED);
    gt_client_free(c);
    return st == GT_OK ? 0 : 4;
}
PROG
# shellcheck disable=SC2086 # word splitting of the flags is wanted
if $CC $SAN -o "$TMP/prog" "$TMP/prog.c" $flags >"$TMP/cc.log" 2>&1; then
    ok "compile against the installed copy (shared)"
else
    bad "compile against the installed copy (shared)"
    cat "$TMP/cc.log"
fi
# shellcheck disable=SC2086
if $CC $SAN -o "$TMP/prog_static" "$TMP/prog.c" \
    $(pkg-config --cflags greentrack) "$U/lib/libgreentrack.a" \
    $(pkg-config --libs libcurl libcjson) -lpthread -ldl -lm \
    >"$TMP/cc2.log" 2>&1; then
    ok "compile against the installed copy (static .a)"
else
    bad "compile against the installed copy (static .a)"
    cat "$TMP/cc2.log"
fi
if ldd "$TMP/prog_static" 2>/dev/null | grep -q libgreentrack; then
    bad "the static program does not need libgreentrack.so"
else
    ok "the static program does not need libgreentrack.so"
fi
check "the shared program uses the staged library" sh -c \
    "LD_LIBRARY_PATH='$U/lib' ldd '$TMP/prog' | grep -q '$U/lib/libgreentrack.so.0'"

# the installed server, on a free port
mkdir -p "$TMP/art"
"$U/bin/greentrack-server" --port 0 --db "$TMP/gt.db" \
    --artifact-root "$TMP/art" --log-level warn >"$TMP/srv.out" \
    2>"$TMP/srv.err" &
SRV_PID=$!
URI=
i=0
while [ $i -lt 600 ]; do # up to 60 s: a bound on a hang, not a speed
    URI=$(sed -n 's/^greentrack-server listening on \(http:.*\)$/\1/p' \
        "$TMP/srv.out")
    [ -n "$URI" ] && break
    sleep 0.1
    i=$((i + 1))
done
if [ -z "$URI" ]; then
    bad "installed server starts"
    cat "$TMP/srv.err"
    finish
fi
ok "installed server starts ($URI)"
check "installed server serves the web files" sh -c \
    "curl -sf '$URI/' | grep -qi '<html'"

spool=$TMP/spool
for p in prog prog_static; do
    [ -x "$TMP/$p" ] || continue
    id=$(GREENTRACK_SPOOL_DIR=$spool LD_LIBRARY_PATH="$U/lib" \
        "$TMP/$p" "$URI" "installed-$p")
    rc=$?
    check "$p ran (exit $rc)" test "$rc" -eq 0
    # read it back with the installed CLI (it finds its library by rpath)
    json=$(GREENTRACK_SPOOL_DIR=$spool "$U/bin/greentrack" \
        --tracking-uri "$URI" runs show "$id" --json 2>&1)
    check "$p: run $id is FINISHED with its param and metric" python3 -c '
import json, sys
run = json.loads(sys.argv[1])["run"]
assert run["info"]["status"] == "FINISHED", run["info"]
params = {p["key"]: p["value"] for p in run["data"]["params"]}
assert params["built_with"] == "pkg-config", params
metrics = {m["key"]: m for m in run["data"]["metrics"]}
assert metrics["x"]["value"] == 4.5 and metrics["x"]["step"] == 9, metrics
' "$json"
done
check "installed CLI --version" sh -c \
    "'$U/bin/greentrack' --version | grep -q '^greentrack $VERSION '"

if make -C "$ROOT" --no-print-directory CONFIG="$CONFIG" uninstall \
    DESTDIR="$STAGE" PREFIX=/usr >"$TMP/make2.log" 2>&1 &&
    [ -z "$(find "$STAGE" -type f -o -type l)" ]; then
    ok "make uninstall removes every installed file"
else
    bad "make uninstall removes every installed file"
    find "$STAGE" -type f -o -type l | head
fi
finish
