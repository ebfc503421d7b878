#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# podman_env.sh: sourced by test_docker.sh and test_fresh.sh. Gets rootful
# podman ready on this host, the same way for both:
#   podman_setup  installs podman, runc, podman-compose, debootstrap... with
#                 apt-get when missing; creates the local debian:bookworm-slim
#                 base image with debootstrap when podman's storage has none
#                 (kept: later runs skip this); writes a containers.conf
#                 drop-in only when a container cannot start as is.
#   pm ARGS       podman with a timeout (PM_TIMEOUT, default 120 s).
#   say, ok, bad, check, fatal, secs, need_root: the suites' reporting, with
#                 the suite's name in SUITE.
# The caller sets SUITE, WORK (a scratch folder),
# BASE (the base image's name) and CONF (the drop-in's path); ROOTFS names a
# half-made root file system for the caller's cleanup while one exists.


# ---- reporting (SUITE names the suite) -------------------------------------
passed=0
failed=0
say() { echo "$SUITE: $*"; }
ok() {
    passed=$((passed + 1))
    echo "ok   $*"
}
bad() {
    failed=$((failed + 1))
    echo "FAIL $*"
}
check() { # check NAME COMMAND...
    local name=$1
    shift
    if "$@"; then ok "$name"; else bad "$name"; fi
}
fatal() { # a step the rest depends on failed
    bad "$*"
    exit 1
}
secs() { echo $(($(date +%s) - $1)); }

# need_root "$0" "$@": re-executes the script with sudo when not root (rootful
# podman), or ends the suite with one failure.
need_root() {
    local script=$1
    shift
    [ "$(id -u)" = 0 ] && return 0
    if command -v sudo >/dev/null 2>&1; then
        exec sudo -E bash "$script" "$@"
    fi
    echo "$SUITE: needs root (rootful podman) or sudo"
    echo "$SUITE: 0 passed, 1 failed"
    exit 1
}

# --foreground: Ctrl-C reaches podman too. Long-lived children (conmon) must not inherit the lock's descriptor (9) nor
# the saved stdout/stderr (7, 8: a trap may fire inside a redirection, so
# finish writes there).
# Without systemd, podman logs an error for each health-check timer it cannot
# create (the check itself works: `podman healthcheck run`); drop that noise.
pm() {
    timeout --foreground -k 10 "${PM_TIMEOUT:-120}" podman "$@" 7>&- 8>&- 9>&- \
        2> >(grep -v -e 'unable to get systemd connection' -e 'healthcheck: unable to' >&2)
}

# ---- packages ---------------------------------------------------------------
podman_packages() {
    t=$(date +%s)
    need=(podman runc conmon containernetworking-plugins iptables podman-compose
        golang-github-containernetworking-plugin-dnsname
        debootstrap debian-archive-keyring curl ca-certificates)
    missing=()
    for p in "${need[@]}"; do
        dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        say "installing ${missing[*]}"
        if ! { timeout 600 apt-get -o DPkg::Lock::Timeout=300 update -qq &&
            timeout 900 apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
                --no-install-recommends "${missing[@]}"; } >"$WORK/apt.log" 2>&1; then
            tail -20 "$WORK/apt.log"
            fatal "apt-get install ${missing[*]}"
        fi
        say "packages installed in $(secs "$t") s"
    fi
    say "$(podman --version), $(podman-compose version 2>/dev/null | grep -m1 -i 'compose.* version')"
}

# ---- base image ---------------------------------------------------------------
# debian:bookworm-slim from the host's own Debian mirror: debootstrap minbase,
# trimmed like the official slim variant, imported into podman's storage.
# podman resolves the Dockerfile's short name to localhost/ from local storage.
make_base() {
    local mirror sources
    mirror=$(apt-get indextargets --format '$(REPO_URI)' 'Identifier: Packages' \
        'Release: bookworm' 2>/dev/null | head -1)
    [ -n "$mirror" ] || return 1
    ROOTFS=$(mktemp -d /var/tmp/greentrack-rootfs.XXXXXX)
    if ! timeout 600 debootstrap --variant=minbase --components=main bookworm \
        "$ROOTFS" "$mirror" >"$ROOTFS.log" 2>&1; then
        tail -20 "$ROOTFS.log"
        return 1
    fi
    # apt inside the image: the same Debian suites as this host (deb822),
    # and the host's Acquire settings (proxy, Check-Valid-Until for snapshots).
    rm -f "$ROOTFS/etc/apt/sources.list"
    sources=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' \
        'Identifier: Packages' 2>/dev/null |
        awk '$2 ~ /^bookworm(-updates|-security)?$/ { k = $1 " " $2;
                 if (!(k in c)) order[n++] = k; if (index(" " c[k] " ", " " $3 " ") == 0) c[k] = c[k] " " $3 }
             END { for (i = 0; i < n; i++) { split(order[i], a, " ");
                 printf "Types: deb\nURIs: %s\nSuites: %s\nComponents:%s\n\n", a[1], a[2], c[order[i]] } }')
    [ -n "$sources" ] || return 1
    printf '%s\n' "$sources" >"$ROOTFS/etc/apt/sources.list.d/debian.sources"
    for f in /etc/apt/apt.conf.d/*; do
        [ -f "$f" ] && grep -q 'Acquire' "$f" && cp "$f" "$ROOTFS/etc/apt/apt.conf.d/"
    done
    # The official slim variant's dpkg excludes and apt settings.
    mkdir -p "$ROOTFS/etc/dpkg/dpkg.cfg.d"
    printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
        'path-exclude /usr/share/groff/*' 'path-exclude /usr/share/info/*' \
        'path-exclude /usr/share/linda/*' 'path-exclude /usr/share/lintian/overrides/*' \
        'path-exclude /usr/share/locale/*' 'path-exclude /usr/share/man/*' \
        >"$ROOTFS/etc/dpkg/dpkg.cfg.d/docker"
    printf '%s\n' 'Acquire::Languages "none";' >"$ROOTFS/etc/apt/apt.conf.d/docker-no-languages"
    printf '%s\n' 'APT::AutoRemove::SuggestsImportant "false";' \
        >"$ROOTFS/etc/apt/apt.conf.d/docker-autoremove-suggests"
    find "$ROOTFS/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
    find "$ROOTFS/usr/share/doc" -mindepth 1 -type d -empty -delete
    rm -rf "$ROOTFS"/usr/share/{groff,info,linda,lintian/overrides,locale,man}/* \
        "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/cache/apt/*.bin \
        "$ROOTFS"/var/lib/apt/lists/* "${ROOTFS:?}"/var/log/* "${ROOTFS:?}"/dev/*
    mkdir -p "$ROOTFS/var/lib/apt/lists/partial"
    tar -C "$ROOTFS" --numeric-owner --xattrs -c . |
        pm import --change 'CMD ["bash"]' \
            --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            - "$BASE" >/dev/null 2>"$WORK/import.log" || { cat "$WORK/import.log"; return 1; }
    rm -rf "$ROOTFS" "$ROOTFS.log"
    ROOTFS=""
}
podman_base_image() {
    local t
    t=$(date +%s)
    if [ "${DOCKER_TEST_REBUILD_BASE:-0}" = 1 ] || ! pm image exists debian:bookworm-slim; then
        say "creating $BASE with debootstrap"
        make_base || fatal "base image $BASE"
        say "base image created in $(secs "$t") s"
    fi
}

# ---- podman configuration (only when a container cannot start as is) ------
# Hosts like this CI VM need: runc (crun rejects a hybrid cgroup layout),
# default_ulimits within the host's hard limits (podman asks for 1048576 and
# CAP_SYS_RESOURCE is missing), cgroupfs and file events (no systemd).
smoke() { pm run --rm --network=none debian:bookworm-slim true >"$WORK/smoke.log" 2>&1; }
write_conf() { # write_conf NOFILE NPROC
    mkdir -p "$(dirname "$CONF")"
    printf '%s\n' "# written by greentrack tests/docker/podman_env.sh" \
        "[containers]" "default_ulimits = [\"nofile=$1:$1\", \"nproc=$2:$2\"]" "" \
        "[engine]" 'runtime = "runc"' 'cgroup_manager = "cgroupfs"' 'events_logger = "file"' \
        >"$CONF"
    say "wrote $CONF (nofile=$1 nproc=$2)"
}
podman_configure() {
    if ! smoke; then
        hard_n=$(ulimit -Hn)
        [ "$hard_n" = unlimited ] && hard_n=1048576
        hard_u=$(ulimit -Hu)
        [ "$hard_u" = unlimited ] && hard_u=1048576
        pid_max=$(cat /proc/sys/kernel/pid_max 2>/dev/null || echo 32768)
        nofile=$((hard_n < 1048576 ? hard_n : 1048576))
        nproc=$((hard_u < pid_max ? hard_u : pid_max))
        [ "$nproc" -gt 32768 ] && nproc=32768
        write_conf "$nofile" "$nproc"
        if ! smoke && grep -qi rlimit "$WORK/smoke.log"; then
            write_conf 4096 4096
        fi
        smoke || { cat "$WORK/smoke.log"; fatal "podman cannot start a container"; }
    fi
    say "podman: $(pm info --format 'storage={{.Store.GraphDriverName}} runtime={{.Host.OCIRuntime.Name}} cgroups={{.Host.CgroupManager}} network={{.Host.NetworkBackend}}' 2>/dev/null)"
}

podman_setup() {
    podman_packages
    podman_base_image
    podman_configure
}
