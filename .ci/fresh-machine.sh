#!/bin/sh
# CI on a fresh Debian 12 machine: a bookworm root from mmdebstrap --variant=minbase (no python3, no
# venv, no packages beyond the minimal base), a clean clone of HEAD with ../shared beside it, and
# `CI=true bash .ci/run </dev/null` inside it as root, as CI runs it. What this machine has and a new one
# lacks (a Debian package, a pip wheel, a compiled library) shows here, not on the next person's machine.
#   .ci/fresh-machine.sh [--tests-only] [--keep]        (./build.sh fresh-ci; docs/build.md)
#     --tests-only  run `.ci/run --tests-only` (./build.sh test) and skip the amd64 image and its boot test
#     --keep        keep the root file system for inspection (chroot WORK/root); removed otherwise
# The root shares this host's network (a chroot, not a container): apt and pip inside reach the registries
# this host reaches, with its apt sources, apt.conf.d (proxies), pip configuration and PIP_* variables copied
# in, and the local folders pip's configuration names (find-links, file:// indexes) bind-mounted read-only.
# Exit codes: 0 .ci/run passed in the fresh root, 1 it failed there (its output says which step),
# 2 a prerequisite is missing (not root, mmdebstrap, no Debian mirror, the root could not be built), 64 usage.
set -eu

REPO=$(cd "$(dirname "$0")/.." && pwd)
SUITE=bookworm
# Outside the repository: setuptools walks every file under the folder it installs from.
WORK=${TPKIT_FRESH_WORK:-/var/tmp/tpkit-fresh}
ROOTFS=$WORK/root
LOG=$WORK/mmdebstrap.log
# Inside the root: the clone and the shared test data beside it, as CI checks them out.
CI_DIR=/ci
ENV_FILE=/etc/tpkit-fresh-ci.env

ok() { printf '[✓] %s\n' "$*"; }
info() { printf '[i] %s\n' "$*"; }
fail() { printf '[✗] %s\n' "$1" >&2; shift; for line in "$@"; do printf '    %s\n' "$line" >&2; done; exit "${EXIT_CODE:-1}"; }
usage() { printf 'usage: ./build.sh fresh-ci [--tests-only] [--keep]\n' >&2; exit 64; }

TESTS_ONLY=no
KEEP=no
while [ $# -gt 0 ]; do
    case $1 in
        --tests-only) TESTS_ONLY=yes; shift ;;
        --keep) KEEP=yes; shift ;;
        *) usage ;;
    esac
done

[ "$(id -u)" -eq 0 ] || EXIT_CODE=2 fail "A fresh root needs root (mmdebstrap, chroot, mounts)." \
    "Fix: sudo ./build.sh fresh-ci"
command -v mmdebstrap >/dev/null || EXIT_CODE=2 fail "mmdebstrap is not installed." \
    "Fix: sudo apt-get install mmdebstrap   (./build.sh fresh-ci installs it when run as root)"

# The Debian mirror this host uses (TPKIT_FRESH_MIRROR overrides), as images/build-image.sh finds it.
mirror() {
    if [ -n "${TPKIT_FRESH_MIRROR:-}" ]; then printf '%s\n' "$TPKIT_FRESH_MIRROR"; return; fi
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null \
        | sed -n -e 's/^URIs:[[:space:]]*\(http[^ ]*\/debian\)\/*$/\1/p' -e 's/^deb[[:space:]]\{1,\}\(http[^ ]*\/debian\)\/*[[:space:]]\{1,\}bookworm[[:space:]].*/\1/p' \
        | head -n 1
}

# The root itself (bound onto itself) and everything mounted under it.
mounted_under_root() { awk -v root="$ROOTFS" '$5 == root || index($5, root "/") == 1 { print $5 }' /proc/self/mountinfo; }

# Processes still running inside the root (a daemon a test left behind) hold its mounts busy.
stop_processes_in_root() {
    for link in /proc/[0-9]*/root; do
        [ "$(readlink "$link" 2>/dev/null)" = "$ROOTFS" ] || continue
        pid=${link#/proc/}
        pid=${pid%/root}
        kill "$pid" 2>/dev/null || true
    done
}

unmount_all() {
    stop_processes_in_root
    # Deepest first; lazily when something still holds one.
    for target in $(mounted_under_root | sort -r); do
        umount "$target" 2>/dev/null || umount -l "$target" 2>/dev/null || true
    done
}

cleanup() {
    status=$?
    trap - EXIT INT TERM HUP
    unmount_all
    if [ -n "$(mounted_under_root)" ]; then
        printf '[✗] %s\n    %s\n' "Some mounts under $ROOTFS could not be removed." \
            "Fix: umount -R $ROOTFS (after the processes using it end)" >&2
    elif [ "$KEEP" = yes ]; then
        info "Kept the fresh root: chroot $ROOTFS /bin/bash   (remove it with: rm -rf $WORK)"
    else
        rm -rf "$ROOTFS"
    fi
    exit "$status"
}

build_root() {
    # A killed run can leave the host's /dev or /sys mounted inside the old root; removing it would reach them.
    if [ -n "$(mounted_under_root)" ]; then
        EXIT_CODE=2 fail "File systems are still mounted under $ROOTFS (an interrupted run)." \
            "Fix: umount -R $ROOTFS, then run ./build.sh fresh-ci again"
    fi
    rm -rf "$ROOTFS"
    mkdir -p "$WORK"
    url=$(mirror)
    [ -n "$url" ] || EXIT_CODE=2 fail "No Debian mirror found in /etc/apt/sources.list*." \
        "Fix: TPKIT_FRESH_MIRROR=http://deb.debian.org/debian ./build.sh fresh-ci"
    info "Building a fresh $SUITE root (minbase) from $url into $ROOTFS"
    if ! mmdebstrap --variant=minbase --aptopt='Acquire::Retries "3"' "$SUITE" "$ROOTFS" "deb $url $SUITE main" >"$LOG" 2>&1; then
        tail -n 15 "$LOG" >&2
        EXIT_CODE=2 fail "mmdebstrap could not build the root (log: $LOG)." \
            "Fix: check that $url is reachable (apt-get update on this host), or set TPKIT_FRESH_MIRROR."
    fi
    ok "Fresh $SUITE root: $(du -sh "$ROOTFS" | cut -f1)"
}

# apt inside uses this host's sources, keys and apt.conf.d (proxies, retries), as a CI machine is set up.
copy_apt_config() {
    rm -f "$ROOTFS/etc/apt/sources.list" "$ROOTFS"/etc/apt/sources.list.d/*
    [ -f /etc/apt/sources.list ] && cp /etc/apt/sources.list "$ROOTFS/etc/apt/"
    for dir in sources.list.d apt.conf.d auth.conf.d preferences.d trusted.gpg.d keyrings; do
        [ -d "/etc/apt/$dir" ] || continue
        mkdir -p "$ROOTFS/etc/apt/$dir"
        cp -a "/etc/apt/$dir/." "$ROOTFS/etc/apt/$dir/"
    done
    # Keyrings the sources name with Signed-By, where the root has none of its own.
    mkdir -p "$ROOTFS/usr/share/keyrings"
    cp -an /usr/share/keyrings/. "$ROOTFS/usr/share/keyrings/"
    cp -L /etc/resolv.conf "$ROOTFS/etc/resolv.conf"
    # This host's own CAs (an HTTPS proxy's), which update-ca-certificates adds to the bundle when the
    # ca-certificates package is installed inside: without them pip fails on pypi.org with
    # "self-signed certificate in certificate chain".
    if [ -d /usr/local/share/ca-certificates ]; then
        mkdir -p "$ROOTFS/usr/local/share/ca-certificates"
        cp -a /usr/local/share/ca-certificates/. "$ROOTFS/usr/local/share/ca-certificates/"
    fi
    ok "apt configuration copied (sources, apt.conf.d, keyrings, resolv.conf, local CAs)"
}

# Every absolute path and file:// URL in pip's configuration and PIP_* variables (find-links, local indexes,
# a constraints file, a CA bundle). A local index's pages link to files beside its simple/ folder
# (../../files/NAME.whl), so for DIR/simple it is DIR.
pip_paths() {
    { pip3 config list 2>/dev/null || python3 -m pip config list 2>/dev/null || true; env | grep '^PIP_' || true; } \
        | sed -e "s/^[^=]*=//" -e "s/'//g" | tr ' ' '\n' | sed -n -e 's#^file://##p' -e '/^\//p' \
        | sed -e 's#/*$##' -e 's#/simple$##' | sort -u
}

copy_pip_config() {
    for file in /etc/pip.conf /etc/xdg/pip/pip.conf "$HOME/.config/pip/pip.conf" "$HOME/.pip/pip.conf"; do
        [ -f "$file" ] || continue
        case $file in "$HOME"/*) target=/root/${file#"$HOME"/} ;; *) target=$file ;; esac
        mkdir -p "$ROOTFS$(dirname "$target")"
        cp "$file" "$ROOTFS$target"
    done
    # PIP_* and proxy variables for the run inside, quoted for sh; only their names are printed.
    : > "$ROOTFS$ENV_FILE"
    env | grep -E '^(PIP_[A-Z_]*|https?_proxy|HTTPS?_PROXY|no_proxy|NO_PROXY)=' | while IFS= read -r pair; do
        name=${pair%%=*}
        value=$(printf '%s' "${pair#*=}" | sed "s/'/'\\\\''/g")
        printf "export %s='%s'\n" "$name" "$value" >> "$ROOTFS$ENV_FILE"
    done
    names=$(cut -d= -f1 "$ROOTFS$ENV_FILE" | sed 's/^export //' | tr '\n' ' ')
    for path in $(pip_paths); do
        if [ ! -e "$path" ] || [ -e "$ROOTFS$path" ]; then continue; fi
        if [ -d "$path" ]; then
            mkdir -p "$ROOTFS$path"
            mount --bind "$path" "$ROOTFS$path"
            mount -o remount,bind,ro "$ROOTFS$path"
            info "pip's $path is bind-mounted read-only into the root"
        else
            mkdir -p "$ROOTFS$(dirname "$path")"
            cp "$path" "$ROOTFS$path"
        fi
    done
    ok "pip configuration copied (files, and variables: ${names:-none})"
}

copy_sources() {
    head=$(git -C "$REPO" rev-parse HEAD)
    rm -rf "$ROOTFS$CI_DIR"
    mkdir -p "$ROOTFS$CI_DIR"
    git clone --quiet --no-checkout "$REPO" "$ROOTFS$CI_DIR/tpkit"
    git -C "$ROOTFS$CI_DIR/tpkit" -c advice.detachedHead=false checkout --quiet --detach "$head"
    # ../shared of the main checkout (a worktree's ../ is not the main one's): the shared test data.
    shared=${TPKIT_FRESH_SHARED:-$(cd "$(git -C "$REPO" rev-parse --path-format=absolute --git-common-dir)/../.." && pwd)/shared}
    if [ -d "$shared" ]; then
        cp -a "$shared" "$ROOTFS$CI_DIR/shared"
        ok "Clean clone of $(git -C "$REPO" rev-parse --short HEAD) in $CI_DIR/tpkit, $shared copied to $CI_DIR/shared"
    else
        info "No shared test data at $shared: tests that read it will skip (set TPKIT_FRESH_SHARED)."
        ok "Clean clone of $(git -C "$REPO" rev-parse --short HEAD) in $CI_DIR/tpkit"
    fi
    [ -z "$(git -C "$REPO" status --porcelain)" ] \
        || info "The working tree has uncommitted changes; the fresh root runs the commit $head without them."
}

# `ip netns exec` (tests/netlab.py, the image's boot test) makes / a slave mount in its own namespace, which
# fails with "Invalid argument" unless / is a mount point: the root is bound onto itself first, private, so
# nothing mounted under it propagates back to the host.
mount_root() {
    mount --bind "$ROOTFS" "$ROOTFS"
    mount --make-private "$ROOTFS"
}

# The bind mounts are slaves: nothing mounted inside (a tmpfs on /dev/shm) propagates back to the host.
mount_all() {
    mount -t proc proc "$ROOTFS/proc"
    mount --rbind /sys "$ROOTFS/sys"
    mount --make-rslave "$ROOTFS/sys"
    mount --rbind /dev "$ROOTFS/dev"
    mount --make-rslave "$ROOTFS/dev"
    mountpoint -q "$ROOTFS/dev/pts" || mount --bind /dev/pts "$ROOTFS/dev/pts"
    mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$ROOTFS/dev/shm"  # Chromium's shared memory, not the host's
    mount -t tmpfs -o mode=755,nosuid,nodev tmpfs "$ROOTFS/run"
    mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$ROOTFS/tmp"
    ok "Mounted /proc, /sys, /dev, /dev/pts, /dev/shm, /run and a tmpfs /tmp in the root"
}

run_ci() {
    if [ "$TESTS_ONLY" = yes ]; then ci_args=--tests-only; what="the test suite (--tests-only)"; else ci_args=""; what="the test suite, the amd64 image and its boot test"; fi
    info "Running CI=true bash .ci/run $ci_args inside the fresh root: $what"
    started=$(date +%s)
    set +e
    chroot "$ROOTFS" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb CI=true \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        /bin/sh -c ". $ENV_FILE && cd $CI_DIR/tpkit && exec bash .ci/run $ci_args" </dev/null
    status=$?
    set -e
    minutes=$(( ($(date +%s) - started + 59) / 60 ))
    if [ "$status" -eq 0 ]; then
        ok ".ci/run passed on a fresh $SUITE machine in $minutes min."
    else
        fail ".ci/run failed on a fresh $SUITE machine (exit $status, after $minutes min)." \
            "Fix: read its output above. A missing Debian package goes into build.sh's TEST_DEBS, a Python one into pyproject.toml;" \
            "inspect the root with: ./build.sh fresh-ci --keep ...; chroot $ROOTFS /bin/bash"
    fi
}

build_root
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
mount_root
copy_apt_config
copy_pip_config
copy_sources
mount_all
run_ci
