#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_docker.sh: builds docker/Dockerfile and runs the image for real, with
# rootful podman (no Docker engine and no registry needed):
#
#   1. installs podman, runc, podman-compose, debootstrap... with apt-get if
#      missing, and configures podman only if a container cannot start as is;
#   2. creates a local debian:bookworm-slim base image with debootstrap when
#      none is in podman's storage (kept there: reruns skip this);
#   3. builds the image, checks its metadata (non-root user, env, health check);
#   4. starts it on a named volume with a published port, logs a run through
#      the REST API from the host and an artifact through the MLflow artifact
#      proxy (PUT from the host, with no mount of the volume: listed and
#      downloaded byte-identical; the image's own `greentrack artifacts`
#      from another container too), restarts it, checks the run and the
#      artifact survived;
#      `podman stop` (SIGTERM) must end the server with exit code 0 (before
#      podman's SIGKILL),
#      a metric logged just before it must be on the volume for a new container;
#      the image without auth warns about it, and refuses a foreign Host;
#   5. brings docker/compose.yaml up with podman-compose (auth on, the admin
#      from an env file made here, passed as GREENTRACK_ADMIN_ENV), probes it
#      through the published port: 401 without or with wrong credentials,
#      then as the admin a run, and an artifact PUT and read back (the
#      compose file keeps artifacts on its volume and serves them); takes
#      it down;
#   6. builds docker/postgres.Dockerfile and docker/haproxy.Dockerfile and
#      brings docker/compose.postgres.yaml up (PostgreSQL 15, two servers,
#      haproxy on the published port): all healthy, a run and an artifact
#      through the balancer seen by both servers, one server SIGKILLed under
#      log-batch load with no acknowledged point lost
#      (tests/docker/compose_pg_load.py); takes it down;
#   7. removes every container, volume and network it created (the base image
#      and the built images stay, as the build cache for the next run).
#
# Run as root (re-executes itself with sudo otherwise). Ends with
# "test_docker: N passed, M failed"; exit status 1 on any failure.
# Knobs: DOCKER_TEST_IMAGE (default localhost/greentrack:docker-test),
#        DOCKER_TEST_WAIT (seconds to wait for /health, default 30),
#        DOCKER_TEST_REBUILD_BASE=1 (recreate the base image).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1

SUITE=test_docker
# say, ok, bad, check, fatal, secs, need_root, pm, podman_setup (shared with
# test_fresh.sh)
# shellcheck source=tests/docker/podman_env.sh
source "$ROOT/tests/docker/podman_env.sh"
need_root "$0" "$@"

IMAGE=${DOCKER_TEST_IMAGE:-localhost/greentrack:docker-test}
# The web and build stages are tagged too, so that their layers (npm, the
# -dev packages) stay cached for the next run; nothing else is kept.
STAGE_TAGS=("web:$IMAGE-web" "build:$IMAGE-build")
BASE=localhost/debian:bookworm-slim
WAIT_S=${DOCKER_TEST_WAIT:-30}
PREFIX=greentrack-dtest-
TAG=$PREFIX$$
CTR=$TAG
VOL=$TAG-data
PROJ=$TAG
CONF=/etc/containers/containers.conf.d/50-greentrack-docker-test.conf
API_PATH=/api/2.0/mlflow
export BUILDAH_FORMAT=docker # keep HEALTHCHECK (also for podman-compose's build)
export DEBIAN_FRONTEND=noninteractive

T0=$(date +%s)
WORK=$(mktemp -d /tmp/greentrack-dtest.XXXXXX)
ROOTFS=""

quiet() { "$@" >/dev/null; }
ms_now() { date +%s%3N; }

pmc() { timeout --foreground -k 10 "${PM_TIMEOUT:-300}" podman-compose "$@" 7>&- 8>&- 9>&-; }

# Everything this test creates is named greentrack-dtest-*; holding the lock,
# any such leftover is from an interrupted earlier run.
ours() { # ours REGEX: names of our containers, volumes and networks
    {
        pm ps -a --format 'container {{.Names}}'
        pm volume ls --format 'volume {{.Name}}'
        pm network ls --format 'network {{.Name}}'
    } 2>/dev/null | grep -E " $1"
}
remove_ours() { # remove_ours REGEX
    local kind name
    ours "$1" | while read -r kind name; do
        case $kind in
        container) pm rm -f -t 2 "$name" ;;
        *) pm "$kind" rm -f "$name" ;;
        esac >/dev/null 2>&1
    done
}

finish() {
    local rc=$? left
    trap - EXIT INT TERM
    exec 1>&7 2>&8
    [ "$rc" != 0 ] && [ "$failed" = 0 ] && bad "aborted (exit status $rc)"
    if command -v podman >/dev/null 2>&1; then
        if [ -f docker/compose.yaml ] && command -v podman-compose >/dev/null 2>&1 &&
            pm ps -a --format '{{.Names}}' 2>/dev/null | grep -q "^${PROJ}_"; then
            PM_TIMEOUT=60 pmc -p "$PROJ" -f docker/compose.yaml down -v >/dev/null 2>&1
        fi
        if [ -f docker/compose.postgres.yaml ] && command -v podman-compose >/dev/null 2>&1 &&
            pm ps -a --format '{{.Names}}' 2>/dev/null | grep -q "^${PROJ}-pg_"; then
            PM_TIMEOUT=60 pmc -p "$PROJ-pg" -f docker/compose.postgres.yaml down -v >/dev/null 2>&1
        fi
        remove_ours "$TAG([-_]|$)"
        # Images this run left untagged (the previous build, a build-stage
        # rebuilt because the sources changed): removing one removes its
        # parents down to the layers still shared (apt installs, base).
        if [ -n "${DANGLING0+x}" ]; then
            pm images -q --no-trunc --filter dangling=true 2>/dev/null | sort >"$WORK/dangling1"
            comm -13 "$WORK/dangling0" "$WORK/dangling1" |
                xargs -r timeout 120 podman rmi >/dev/null 2>&1 7>&- 8>&- 9>&-
        fi
        left=$(ours "$TAG([-_]|$)")
        [ -z "$left" ] || bad "cleanup left: $(echo $left)"
    fi
    [ -n "$ROOTFS" ] && rm -rf "$ROOTFS" "$ROOTFS.log"
    rm -rf "$WORK"
    [ "$failed" -gt 0 ] && rc=1
    say "total $(secs "$T0") s"
    echo "test_docker: $passed passed, $failed failed"
    exit "$rc"
}
exec 7>&1 8>&2
trap finish EXIT
trap 'exec 1>&7 2>&8; bad "interrupted"; exit 1' INT TERM

mkdir -p /run/lock
exec 9>/run/lock/greentrack-docker-test.lock
flock -w 1200 9 || fatal "another test_docker run holds /run/lock/greentrack-docker-test.lock"

# ---- 1. packages, base image, podman configuration ---------------------
podman_setup
remove_ours "$PREFIX"

# ---- 3. build --------------------------------------------------------------
t=$(date +%s)
pm images -q --no-trunc --filter dangling=true 2>/dev/null | sort >"$WORK/dangling0"
DANGLING0=1
# npm in the build trusts what this host trusts (a TLS-intercepting proxy's CA
# included); a build secret, so it is in no layer and in no cache key.
secret=()
if [ -s /etc/ssl/certs/ca-certificates.crt ]; then
    # shellcheck disable=SC2054 # the comma is part of the flag's value
    secret=(--secret id=ca_bundle,src=/etc/ssl/certs/ca-certificates.crt)
fi
build() { # build [ARGS...]
    PM_TIMEOUT=1200 pm build --pull=never --format docker "${secret[@]}" \
        -f docker/Dockerfile "$@" . >>"$WORK/build.log" 2>&1
}
built=1
for st in "${STAGE_TAGS[@]}"; do
    build --target "${st%%:*}" -t "${st#*:}" || {
        built=0
        break
    }
done
if [ $built = 0 ] || ! build -t "$IMAGE"; then
    tail -40 "$WORK/build.log"
    fatal "podman build -f docker/Dockerfile"
fi
ok "image builds from docker/Dockerfile ($(secs "$t") s)"

size=$(pm image inspect --format '{{.Size}}' "$IMAGE")
base_size=$(pm image inspect --format '{{.Size}}' debian:bookworm-slim 2>/dev/null || echo 0)
say "image $IMAGE: $((size / 1000000)) MB (base debian:bookworm-slim $((base_size / 1000000)) MB, greentrack layers $(((size - base_size) / 1000000)) MB)"
pm image inspect "$IMAGE" >"$WORK/inspect.json"
check "image runs as non-root user greentrack" \
    test "$(pm image inspect --format '{{.Config.User}}' "$IMAGE")" = greentrack:greentrack
for e in GREENTRACK_HOST=0.0.0.0 GREENTRACK_DB=/data/greentrack.db \
    GREENTRACK_ARTIFACT_ROOT=/data/artifacts; do
    check "image env $e" grep -q "\"$e\"" "$WORK/inspect.json"
done
check "image declares VOLUME /data and EXPOSE 5000" \
    grep -q '"5000/tcp"' "$WORK/inspect.json"
check "image has a HEALTHCHECK" grep -q 'greentrack-healthcheck' "$WORK/inspect.json"
check "image has the web UI where the server looks for it" \
    quiet pm run --rm --entrypoint test "$IMAGE" -f /usr/local/share/greentrack/web/index.html
if pm run --rm --entrypoint test "$IMAGE" -x /usr/local/bin/greentrack 2>/dev/null; then
    check "the CLI in the image runs (greentrack --version)" \
        quiet pm run --rm --entrypoint greentrack "$IMAGE" --version
else
    say "no CLI (build/release/bin/greentrack) in this tree's image"
fi

# ---- 4. run, log through the REST API, restart, stop -----------------------
free_port() {
    local p
    for _ in $(seq 50); do
        p=$((20000 + RANDOM % 20000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    return 1
}
running() { [ "$(pm inspect --format '{{.State.Running}}' "$1" 2>/dev/null)" = true ]; }
wait_health() { # wait_health URL [CONTAINER]
    local deadline=$(($(date +%s) + WAIT_S))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        if curl -fsS -m 2 "$1" >/dev/null 2>&1; then return 0; fi
        if [ -n "${2:-}" ] && ! running "$2"; then break; fi
        sleep 0.2
    done
    [ -n "${2:-}" ] && pm logs "$2" 2>&1 | tail -20
    return 1
}
BODY=$WORK/body
# Credentials of the compose service (auth on): curl reads them from a
# file, so they are in no process's arguments. Empty: none.
NETRC=""
cred() { if [ -n "$NETRC" ]; then echo "--netrc-file $NETRC"; fi; }
api() { # api METHOD PATH [JSON]: body in $BODY, succeeds on HTTP 200
    local code
    # shellcheck disable=SC2046 # cred's words are two arguments
    if [ "$1" = POST ]; then
        code=$(curl -sS -m 10 $(cred) -o "$BODY" -w '%{http_code}' -X POST \
            -H 'Content-Type: application/json' -d "$3" "$URL$API_PATH/$2")
    else
        code=$(curl -sS -m 10 $(cred) -o "$BODY" -w '%{http_code}' "$URL$API_PATH/$2")
    fi
    [ "$code" = 200 ] || {
        echo "  $1 $2 -> HTTP $code: $(head -c 300 "$BODY")"
        return 1
    }
}
json_str() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" "$BODY" | head -1; }
run_ctr() { # run_ctr NAME PORT VOLUME: the image as a user would run it
    pm run -d --name "$1" -p "127.0.0.1:$2:5000" -v "$3:/data" \
        -e GREENTRACK_MAX_BODY_BYTES=8192 "$IMAGE" >/dev/null
}
ART_API=/api/2.0/mlflow-artifacts/artifacts
# The run's folder in the artifact service: its artifact_uri without the
# mlflow-artifacts:/ scheme (the server serves artifacts by default).
art_root() { # art_root RUN_ID
    api GET "runs/get?run_id=$1" &&
        sed -n 's/.*"artifact_uri":"mlflow-artifacts:\/\([^"]*\)".*/\1/p' "$BODY" | head -1
}
art_put() { # art_put LOCAL_FILE ARTIFACT_PATH: PUT through the proxy
    # shellcheck disable=SC2046
    test "$(curl -sS -m 60 $(cred) -o "$BODY" -w '%{http_code}' -T "$1" \
        "$URL$ART_API/$2")" = 200 || {
        echo "  PUT $2 -> $(head -c 300 "$BODY")"
        return 1
    }
}
art_same() { # art_same LOCAL_FILE ARTIFACT_PATH: GET it back, compare
    # shellcheck disable=SC2046
    curl -fsS -m 60 $(cred) -o "$WORK/art.got" "$URL$ART_API/$2" && cmp -s "$1" "$WORK/art.got"
}
art_listed() { # art_listed FOLDER NAME SIZE: in the proxy's listing
    curl -fsS -m 10 -G --data-urlencode "path=$1" "$URL$ART_API" >"$BODY" &&
        grep -q "{\"path\":\"$2\",\"is_dir\":false,\"file_size\":$3}" "$BODY"
}
metric_points() { # number of points in the metric history of acc
    api GET "metrics/get-history?run_id=$RUN&metric_key=acc" && grep -o '"step":' "$BODY" | wc -l
}

PORT=$(free_port) || fatal "no free port"
URL=http://127.0.0.1:$PORT
pm volume create "$VOL" >/dev/null || fatal "podman volume create $VOL"
run_ctr "$CTR" "$PORT" "$VOL" || fatal "podman run $IMAGE"
t=$(ms_now)
wait_health "$URL/health" "$CTR" || fatal "container answers GET /health within ${WAIT_S} s"
ok "container answers GET /health on a published port ($(($(ms_now) - t)) ms)"
check "the server runs as uid 10001, not root" \
    test "$(pm exec "$CTR" sh -c 'id -u' 2>/dev/null)" = 10001
check "HEALTHCHECK passes (podman healthcheck run)" pm healthcheck run "$CTR"
check "web UI is served at /" sh -c "curl -fsS -m 5 '$URL/' | grep -qi '<html'"
check "without --auth on 0.0.0.0 the server logs a WARN line" sh -c \
    "podman logs '$CTR' 2>&1 | grep -q 'without --auth'"
check "a foreign Host is refused (421: DNS rebinding)" \
    test "$(curl -s -m 10 -o /dev/null -w '%{http_code}' -H 'Host: rebind.example' \
        "$URL$API_PATH/experiments/search?max_results=1")" = 421
big=$(head -c 9000 /dev/zero | tr '\0' a)
check "GREENTRACK_* settings reach the server (-e GREENTRACK_MAX_BODY_BYTES=8192 -> 413)" \
    test "$(curl -s -m 10 -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        -d "{\"name\":\"$big\"}" "$URL$API_PATH/experiments/create")" = 413

EXP="" RUN=""
if api POST experiments/create '{"name": "docker-test"}'; then EXP=$(json_str experiment_id); fi
check "experiments/create" test -n "$EXP"
if [ -n "$EXP" ] && api POST runs/create "{\"experiment_id\": \"$EXP\", \"run_name\": \"in-a-container\"}"; then
    RUN=$(json_str run_id)
fi
check "runs/create" test -n "$RUN"
check "runs/log-batch" api POST runs/log-batch "{\"run_id\": \"$RUN\",
    \"params\": [{\"key\": \"lr\", \"value\": \"0.01\"}],
    \"metrics\": [{\"key\": \"acc\", \"value\": 0.5, \"timestamp\": 1700000000000, \"step\": 1},
                  {\"key\": \"acc\", \"value\": 0.75, \"timestamp\": 1700000001000, \"step\": 2},
                  {\"key\": \"acc\", \"value\": 0.875, \"timestamp\": 1700000002000, \"step\": 3}]}"

# An artifact from outside the container, through the proxy: nothing of the
# volume is mounted on this side.
ART=$(art_root "$RUN")
check "runs get mlflow-artifacts:/ locations (served artifacts, the default)" \
    test "$ART" = "$EXP/$RUN/artifacts"
head -c 3000000 /dev/urandom >"$WORK/model.bin"
check "artifact PUT through the published port" art_put "$WORK/model.bin" "$ART/model/model.bin"
check "artifact listed by the proxy (name, 3000000 bytes)" \
    art_listed "$ART/model" model.bin 3000000
check "artifact listed by artifacts/list" sh -c \
    "curl -fsS -m 10 '$URL$API_PATH/artifacts/list?run_id=$RUN&path=model' | grep -q '\"path\":\"model/model.bin\"'"
check "artifact downloaded byte-identical" art_same "$WORK/model.bin" "$ART/model/model.bin"
# libgreentrack's CLI from the image, in a container of its own (host
# network, a folder of the host mounted; the server's volume is not)
mkdir -m 0777 "$WORK/cli"
printf 'step,loss\n1,0.5\n' >"$WORK/cli/curve.csv"
gt_cli() { # gt_cli ARGS...: the image's greentrack against the published port
    pm run --rm --network host -v "$WORK/cli:/w" --entrypoint greentrack \
        -e GREENTRACK_TRACKING_URI="$URL" -e GREENTRACK_SPOOL_DIR=/tmp/spool \
        "$IMAGE" "$@"
}
cli_ls() { gt_cli artifacts ls "$RUN" plots | grep -q '^plots/curve.csv '; }
cli_get() {
    gt_cli artifacts get "$RUN" plots/curve.csv -o /w/curve.got -q &&
        cmp -s "$WORK/cli/curve.csv" "$WORK/cli/curve.got"
}
if pm run --rm --entrypoint test "$IMAGE" -x /usr/local/bin/greentrack 2>/dev/null; then
    check "greentrack artifacts log, from another container" \
        quiet gt_cli artifacts log "$RUN" /w/curve.csv -a plots -q
    check "greentrack artifacts ls lists it" cli_ls
    check "greentrack artifacts get: byte-identical" cli_get
fi
check "runs/update FINISHED" api POST runs/update \
    "{\"run_id\": \"$RUN\", \"status\": \"FINISHED\", \"end_time\": 1700000003000}"

check "podman restart" quiet pm restart -t 10 "$CTR"
check "container answers /health after the restart" wait_health "$URL/health" "$CTR"
check "run survived the restart (FINISHED, param lr)" sh -c \
    "curl -fsS -m 10 '$URL$API_PATH/runs/get?run_id=$RUN' | grep -q '\"status\":\"FINISHED\"' &&
     curl -fsS -m 10 '$URL$API_PATH/runs/get?run_id=$RUN' | grep -q '\"key\":\"lr\",\"value\":\"0.01\"'"
check "metric history survived the restart (3 points)" test "$(metric_points)" = 3
check "artifact survived the restart" art_same "$WORK/model.bin" "$ART/model/model.bin"

# A write answered just before SIGTERM must be on the volume afterwards.
check "runs/log-batch just before stopping" api POST runs/log-batch "{\"run_id\": \"$RUN\",
    \"metrics\": [{\"key\": \"acc\", \"value\": 0.9375, \"timestamp\": 1700000004000, \"step\": 4}]}"
# Timed from the start of `podman stop` to the container's exit as podman
# recorded it; the CLI's own cleanup afterwards (a few hundred ms, more on a
# loaded machine) is not the server's and is only bounded by the 10 s after
# which podman would SIGKILL (that would also make the exit status 137).
t=$(ms_now)
pm stop -t 10 "$CTR" >/dev/null
stop_ms=$(($(ms_now) - t))
fin=$(pm inspect --format '{{.State.FinishedAt.UnixMilli}}' "$CTR" 2>/dev/null)
case $fin in '' | *[!0-9]*) exit_ms=$stop_ms ;; *) exit_ms=$((fin - t)) ;; esac
sig=$(pm logs "$CTR" 2>&1 | grep 'shutting down' | tail -1 | cut -d' ' -f1)
shut_ms=$(($(date -d "$sig" +%s%3N 2>/dev/null || echo "$t") - t))
say "podman stop: SIGTERM seen by the server after $shut_ms ms, exit after $exit_ms ms, podman stop returned after $stop_ms ms"
# Exit status 0 (not 137) is what proves the server ended on SIGTERM, before
# podman's SIGKILL; the durations above are reported, not judged.
check "the server exits 0 on SIGTERM (not killed at the 10 s timeout)" \
    test "$(pm inspect --format '{{.State.ExitCode}}' "$CTR")" = 0
check "the server logged a clean shutdown" sh -c "podman logs '$CTR' 2>&1 | grep -q 'info  stopped'"

# A new container on the same volume sees everything: the data lives in /data.
pm rm -f "$CTR" >/dev/null
check "database is on the named volume, owned by the container user" sh -c \
    "mp=\$(podman volume inspect --format '{{.Mountpoint}}' '$VOL') &&
     test -s \"\$mp/greentrack.db\" && test \"\$(stat -c %u \"\$mp/greentrack.db\")\" = 10001"
run_ctr "$CTR-2" "$PORT" "$VOL" || bad "podman run a second container on $VOL"
check "a new container on the same volume answers /health" wait_health "$URL/health" "$CTR-2"
check "metrics survived on the volume, the last one logged before SIGTERM included (4 points)" \
    test "$(metric_points)" = 4
check "artifacts live on the volume (/data/artifacts), served to a new container" \
    art_same "$WORK/model.bin" "$ART/model/model.bin"
pm rm -f -t 5 "$CTR-2" >/dev/null
pm volume rm -f "$VOL" >/dev/null

# ---- 5. compose ------------------------------------------------------------
CPORT=$(free_port) || fatal "no free port"
URL=http://127.0.0.1:$CPORT
t=$(date +%s)
export GREENTRACK_PUBLISH=127.0.0.1:$CPORT GREENTRACK_IMAGE=$IMAGE
# the admin's secret, in an env file as docker/admin.env.example shows
ADMIN_PW=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
printf 'GREENTRACK_ADMIN_USERNAME=admin\nGREENTRACK_ADMIN_PASSWORD=%s\n' "$ADMIN_PW" \
    >"$WORK/admin.env"
chmod 600 "$WORK/admin.env"
export GREENTRACK_ADMIN_ENV=$WORK/admin.env
printf 'machine 127.0.0.1 login admin password %s\n' "$ADMIN_PW" >"$WORK/netrc"
printf 'machine 127.0.0.1 login admin password wrong-%s\n' "$ADMIN_PW" >"$WORK/netrc.bad"
chmod 600 "$WORK/netrc" "$WORK/netrc.bad"
if pmc -p "$PROJ" -f docker/compose.yaml up -d --build >"$WORK/compose.log" 2>&1; then
    ok "podman-compose -f docker/compose.yaml up -d --build ($(secs "$t") s)"
    if wait_health "$URL/health" "${PROJ}_greentrack_1"; then
        ok "compose service answers /health on the published port"
    else
        bad "compose service answers /health on the published port"
        pmc -p "$PROJ" -f docker/compose.yaml logs 2>&1 | tail -20
    fi
    status_as() { # status_as NETRC|"" PATH: the HTTP status of a GET
        NETRC=$1
        # shellcheck disable=SC2046
        curl -s -m 10 $(cred) -D "$WORK/hdrs" -o /dev/null -w '%{http_code}' "$URL$2"
        NETRC=""
    }
    check "compose service (auth on): 401 without credentials" \
        test "$(status_as "" "$API_PATH/experiments/search?max_results=1")" = 401
    check "... with WWW-Authenticate: Basic" grep -qi '^WWW-Authenticate: Basic' "$WORK/hdrs"
    check "compose service: 401 for a wrong password" \
        test "$(status_as "$WORK/netrc.bad" "$API_PATH/experiments/search?max_results=1")" = 401
    check "compose service: /health stays open" test "$(status_as "" /health)" = 200
    NETRC=$WORK/netrc
    CEXP="" CRUN=""
    if api POST experiments/create '{"name": "compose"}'; then CEXP=$(json_str experiment_id); fi
    check "compose service: experiments/create" test -n "$CEXP"
    if [ -n "$CEXP" ] && api POST runs/create "{\"experiment_id\": \"$CEXP\"}"; then
        CRUN=$(json_str run_id)
    fi
    CART=$(art_root "$CRUN")
    compose_art() {
        test -n "$CART" && art_put "$WORK/model.bin" "$CART/m.bin" &&
            art_same "$WORK/model.bin" "$CART/m.bin"
    }
    check "compose service serves artifacts: PUT, then GET byte-identical" compose_art
    NETRC=""
    check "compose service keeps /data on the named volume ${PROJ}_greentrack-data" sh -c \
        "mp=\$(podman volume inspect --format '{{.Mountpoint}}' '${PROJ}_greentrack-data') &&
         test -s \"\$mp/greentrack.db\" && cmp -s '$WORK/model.bin' \"\$mp/artifacts/$CART/m.bin\""
    t=$(ms_now)
    check "podman-compose down" sh -c \
        "timeout 120 podman-compose -p '$PROJ' -f docker/compose.yaml down -v >>'$WORK/compose.log' 2>&1 7>&- 8>&- 9>&-"
    say "podman-compose down took $(($(ms_now) - t)) ms"
else
    tail -30 "$WORK/compose.log"
    bad "podman-compose -f docker/compose.yaml up -d --build"
fi

# ---- 6. compose.postgres: two servers, one PostgreSQL, haproxy -------------
# docker/compose.postgres.yaml with the image built above and the two
# images it adds (PostgreSQL 15 and haproxy, both Debian's packages): up,
# both servers healthy behind the balancer, a run logged through it, one
# server SIGKILLed under log-batch load (tests/docker/compose_pg_load.py):
# every acknowledged point is read back through the balancer; down.
PGPROJ=$PROJ-pg
PG_IMAGE=$IMAGE-postgres
HA_IMAGE=$IMAGE-haproxy
t=$(date +%s)
build_file() { # build_file DOCKERFILE TAG
    PM_TIMEOUT=1200 pm build --pull=never --format docker -f "$1" -t "$2" . >>"$WORK/build.log" 2>&1
}
if build_file docker/postgres.Dockerfile "$PG_IMAGE" && build_file docker/haproxy.Dockerfile "$HA_IMAGE"; then
    ok "images build from docker/postgres.Dockerfile and docker/haproxy.Dockerfile ($(secs "$t") s)"
else
    tail -30 "$WORK/build.log"
    bad "images build from docker/postgres.Dockerfile and docker/haproxy.Dockerfile"
fi
CPORT=$(free_port) || fatal "no free port"
URL=http://127.0.0.1:$CPORT
PG_PW=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
printf 'POSTGRES_PASSWORD=%s\n' "$PG_PW" >>"$WORK/admin.env"
export GREENTRACK_PUBLISH=127.0.0.1:$CPORT GREENTRACK_PG_IMAGE=$PG_IMAGE GREENTRACK_HAPROXY_IMAGE=$HA_IMAGE
pgc() { pmc -p "$PGPROJ" -f docker/compose.postgres.yaml "$@"; }
healthy() { # healthy CONTAINER: its image's HEALTHCHECK passes now
    pm healthcheck run "$1" >/dev/null 2>&1
}
wait_healthy() { # wait_healthy SECONDS CONTAINER...
    local deadline=$(($(date +%s) + $1)) c all
    shift
    while [ "$(date +%s)" -lt "$deadline" ]; do
        all=1
        for c in "$@"; do healthy "$c" || all=0; done
        [ $all = 1 ] && return 0
        sleep 0.5
    done
    return 1
}
t=$(date +%s)
if pgc up -d >"$WORK/compose-pg.log" 2>&1; then
    ok "podman-compose -f docker/compose.postgres.yaml up -d ($(secs "$t") s)"
    G1=${PGPROJ}_greentrack1_1 G2=${PGPROJ}_greentrack2_1 HA=${PGPROJ}_haproxy_1
    if wait_healthy 90 "${PGPROJ}_postgres_1" "$G1" "$G2" "$HA"; then
        ok "postgres, both greentrack servers and haproxy report healthy"
    else
        bad "postgres, both greentrack servers and haproxy report healthy"
        pgc logs 2>&1 | tail -40
    fi
    check "the balancer answers /health on the published port" wait_health "$URL/health"
    check "both servers run on PostgreSQL (each logged the postgresql:// target, password masked)" sh -c \
        "for c in '$G1' '$G2'; do podman logs \"\$c\" 2>&1 | grep -q 'postgresql://greentrack:\\*\\*\\*@postgres' || exit 1; done;
         ! podman logs '$G1' 2>&1 | grep -qF '$PG_PW' && ! podman logs '$G2' 2>&1 | grep -qF '$PG_PW'"
    NETRC=$WORK/netrc
    check "through the balancer: 401 without credentials" \
        test "$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$URL$API_PATH/experiments/search?max_results=1")" = 401
    PEXP="" PRUN=""
    if api POST experiments/create '{"name": "two-servers"}'; then PEXP=$(json_str experiment_id); fi
    check "through the balancer: experiments/create (the admin made by whichever server migrated)" test -n "$PEXP"
    if [ -n "$PEXP" ] && api POST runs/create "{\"experiment_id\": \"$PEXP\"}"; then
        PRUN=$(json_str run_id)
    fi
    check "through the balancer: runs/create" test -n "$PRUN"
    # Round robin: consecutive reads go to both servers; all must see the run.
    seen_by_all() {
        for _ in 1 2 3 4 5 6; do
            api GET "runs/get?run_id=$PRUN" || return 1
        done
    }
    check "six reads in a row (both servers) all find the new run" seen_by_all
    PART=$(art_root "$PRUN")
    pg_art() {
        test -n "$PART" && art_put "$WORK/model.bin" "$PART/m.bin" &&
            for _ in 1 2 3 4; do art_same "$WORK/model.bin" "$PART/m.bin" || return 1; done
    }
    check "an artifact PUT through one server is read back byte-identical through both" pg_art
    NETRC=""
    t=$(ms_now)
    if python3 tests/docker/compose_pg_load.py "$URL" admin "$ADMIN_PW" "$PRUN" "$G2" 60 \
        >"$WORK/load.out" 2>&1; then
        ok "SIGKILL of one server under log-batch load: no acknowledged point lost ($(cat "$WORK/load.out"))"
    else
        cat "$WORK/load.out"
        bad "SIGKILL of one server under log-batch load: no acknowledged point lost"
    fi
    say "load with the kill took $(($(ms_now) - t)) ms"
    check "the load script really killed a server (killed=1)" grep -q 'killed=1' "$WORK/load.out"
    t=$(ms_now)
    check "podman-compose -f docker/compose.postgres.yaml down -v" sh -c \
        "timeout 120 podman-compose -p '$PGPROJ' -f docker/compose.postgres.yaml down -v >>'$WORK/compose-pg.log' 2>&1 7>&- 8>&- 9>&-"
    say "podman-compose down took $(($(ms_now) - t)) ms"
else
    tail -30 "$WORK/compose-pg.log"
    bad "podman-compose -f docker/compose.postgres.yaml up -d"
fi

exit 0
