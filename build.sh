#!/bin/sh
# tpkit's one entry point. See README.md and docs/build.md for the exit codes.
#   ./build.sh run    start the kit on http://127.0.0.1:8080 with demo content
#   ./build.sh test   install what the tests need and run the whole suite
#   ./build.sh messages   extract the messages, update the .po catalogues, compile them (docs/translating.md)
#   ./build.sh check  ruff (lint and format), mypy and vulture: what CI holds the code to
#   ./build.sh image --arch amd64|arm64        build a flashable image (images/, docs/image.md)
#   ./build.sh image-test --arch amd64|arm64   boot it in qemu and wait for the home page
#   ./build.sh image-test --arch amd64 --power-cuts N [--seed S]   opt-in: N power cuts at random moments (docs/image.md)
#   ./build.sh image-test --arch arm64 --raspi3b   opt-in: the boot test on qemu's Raspberry Pi 3 board (SD card, USB NICs)
#   ./build.sh fresh-ci [--tests-only] [--keep]  run CI (.ci/run) in a fresh Debian 12 root (.ci/fresh-machine.sh)
set -eu

cd "$(dirname "$0")"
ROOT=$(pwd)
VENV="$ROOT/.venv"
RUN_DIR="$ROOT/run-data"
# Debian packages the tests use: rsync for sync, kiwix-tools (3.3.0; the parity tests' 3.7.0 is unpacked
# from trixie by scripts/kiwix-reference.sh, not installed),
# chromium for page tests, fonts-noto-cjk so Chinese renders in screenshots, shellcheck for scripts;
# fdisk (sfdisk), mtools and dosfstools (mkfs.vfat) for `tpkit provision --image` on a real small image;
# postgresql: the county hub's tests run against a throwaway server as well as SQLite.
# A fresh Debian 12 (./build.sh fresh-ci) lacks what a workstation has: git (tests/test_scripts.py lists the
# scripts with `git ls-files`), iproute2 (ip netns and tc for tests/netlab.py), systemd (systemd-analyze verify,
# sysusers and tmpfiles for tests/test_systemd.py; installing it starts nothing in a chroot or container),
# libatomic1 (Playwright's bundled node driver links it: without it every browser test fails with "Connection
# closed while reading from the driver"). g++ builds the Kiwix OPDS client test's program against trixie's
# libkiwix (scripts/kiwix-reference.sh --opds-client). ffmpeg and poppler-utils: `tpkit pack` re-encodes video and
# renders PDF pages on the county's machine, and its tests make their own short video (docs/textbook-units.md).
# libnss3-tools (certutil): the HTTPS browser tests trust their test CA through an NSS database, as Chromium on Linux
# does (tests/web/trusted_https.py).
TEST_DEBS="python3-venv rsync kiwix-tools chromium ffmpeg poppler-utils fonts-noto-cjk shellcheck wrk dbus-daemon util-linux minisign fdisk mtools dosfstools postgresql git iproute2 systemd libatomic1 nftables g++ libnss3-tools"
# avahi is unpacked, never installed: an installed avahi-daemon would start and talk on the real LAN.
# The mDNS interop test runs its own copy on loopback only (tests/edges/test_mdns_avahi.py).
AVAHI_DEBS="avahi-daemon avahi-utils libavahi-core7 libdaemon0"
AVAHI_ROOT="$ROOT/.cache/avahi-root"
# promtool (Prometheus' rule and exposition checker, tests/hub/test_alert_rules.py) is a static program in Debian's
# prometheus package: unpacked, never installed (an installed prometheus would start a server).
PROMTOOL_DEB="prometheus"
PROMTOOL_ROOT="$ROOT/.cache/promtool-root"
# Ralph (openfun's xAPI LRS, tests/hub/test_lrs_ralph.py) pins its own FastAPI, uvicorn and pydantic: it lives in
# a venv of its own, never in .venv. Its LRS stores statements in files (the fs backend): no database to start.
# requests: Ralph's LRS imports it (its OIDC login) without any of its extras asking for it.
RALPH_PIP="ralph-malph[cli,lrs]==5.1.0 requests"
RALPH_VENV="$ROOT/.cache/ralph-venv"
RUN_DEBS="python3-venv"

ok() { printf '[✓] %s\n' "$*"; }
info() { printf '[i] %s\n' "$*"; }
fail() { printf '[✗] %s\n' "$1" >&2; shift; for line in "$@"; do printf '    %s\n' "$line" >&2; done; exit "${EXIT_CODE:-1}"; }

have_deb() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

ensure_debs() {
    missing=""
    for pkg in "$@"; do
        have_deb "$pkg" || missing="$missing $pkg"
    done
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" -eq 0 ]; then
        info "Installing Debian packages:$missing"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null \
            || EXIT_CODE=2 fail "apt-get update failed." "Fix: check the network and /etc/apt/sources.list, then run ./build.sh again."
        # shellcheck disable=SC2086 # word splitting of the package list is intended
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null \
            || EXIT_CODE=2 fail "apt-get install$missing failed." "Fix: run 'sudo apt-get install$missing' and read its error."
        ok "Installed$missing"
    else
        EXIT_CODE=2 fail "Missing Debian packages:$missing" "Fix: sudo apt-get install$missing   (then run ./build.sh again)"
    fi
}

ensure_venv() {
    command -v python3 >/dev/null || EXIT_CODE=2 fail "python3 is not installed." "Fix: sudo apt-get install python3 python3-venv"
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || EXIT_CODE=2 fail "Python 3.11 or newer is needed; found $(python3 --version)." "Fix: use Debian 12 (bookworm) or newer."
    if [ ! -x "$VENV/bin/python" ]; then
        python3 -m venv "$VENV" || EXIT_CODE=2 fail "Cannot create $VENV." "Fix: sudo apt-get install python3-venv"
    fi
    stamp="$VENV/.installed-$(cksum < pyproject.toml | cut -d' ' -f1)-$1"
    if [ ! -f "$stamp" ]; then
        info "Installing Python packages into $VENV"
        "$VENV/bin/pip" install -q --disable-pip-version-check -e ".[$1]" \
            || EXIT_CODE=2 fail "pip could not install tpkit's dependencies." "Fix: check that PyPI is reachable (pip config list), then run ./build.sh again."
        rm -f "$VENV"/.installed-*
        touch "$stamp"
    fi
}

cmd_run() {
    [ "$(id -u)" -eq 0 ] && ensure_debs $RUN_DEBS
    ensure_venv test
    mkdir -p "$RUN_DIR"
    exec "$VENV/bin/tpkit" serve --demo-if-empty --data-dir "$RUN_DIR/data" --content-dir "$RUN_DIR/content" "$@"
}

unpack_avahi() {
    [ -x "$AVAHI_ROOT/usr/sbin/avahi-daemon" ] && return 0
    debs="$ROOT/.cache/debs"
    mkdir -p "$debs" "$AVAHI_ROOT"
    # shellcheck disable=SC2086 # word splitting of the package list is intended
    if (cd "$debs" && apt-get download -qq $AVAHI_DEBS >/dev/null 2>&1); then
        for deb in "$debs"/*.deb; do dpkg -x "$deb" "$AVAHI_ROOT"; done
        ok "Unpacked avahi for the mDNS interop test into $AVAHI_ROOT"
    else
        info "Could not download avahi; the avahi-browse interop test will be skipped (needs: apt-get download $AVAHI_DEBS)."
    fi
}

unpack_promtool() {
    [ -x "$PROMTOOL_ROOT/usr/bin/promtool" ] && return 0
    debs="$ROOT/.cache/debs-promtool"
    mkdir -p "$debs" "$PROMTOOL_ROOT"
    if (cd "$debs" && apt-get download -qq $PROMTOOL_DEB >/dev/null 2>&1); then
        dpkg -x "$debs"/prometheus_*.deb "$PROMTOOL_ROOT"
        ok "Unpacked promtool for the hub's Prometheus tests into $PROMTOOL_ROOT"
    elif [ "${CI:-}" = "true" ]; then
        EXIT_CODE=2 fail "CI cannot run the hub's Prometheus tests without promtool." \
            "Fix: make Debian's archive reachable (apt-get download $PROMTOOL_DEB), then run ./build.sh test again."
    else
        info "Could not download $PROMTOOL_DEB; the hub's Prometheus tests will be skipped (needs: apt-get download $PROMTOOL_DEB)."
    fi
}

ensure_ralph() {
    stamp="$RALPH_VENV/.installed-$(printf '%s' "$RALPH_PIP" | cksum | cut -d' ' -f1)"
    # Installed and runnable: a venv copied from another checkout keeps scripts whose #! names a path gone since.
    [ -f "$stamp" ] && "$RALPH_VENV/bin/ralph" --help >/dev/null 2>&1 && return 0
    rm -rf "$RALPH_VENV"
    # shellcheck disable=SC2086 # word splitting of the package list is intended
    if python3 -m venv "$RALPH_VENV" >/dev/null 2>&1 \
        && "$RALPH_VENV/bin/pip" install -q --disable-pip-version-check $RALPH_PIP >/dev/null 2>&1; then
        touch "$stamp"
        ok "Installed Ralph (xAPI LRS) for the hub's LRS tests into $RALPH_VENV"
    elif [ "${CI:-}" = "true" ]; then
        EXIT_CODE=2 fail "CI cannot run the hub's Ralph LRS tests without Ralph." \
            "Fix: make PyPI reachable ($RALPH_VENV/bin/pip install $RALPH_PIP), then run ./build.sh test again."
    else
        info "Could not install $RALPH_PIP; the hub's Ralph LRS tests will be skipped (needs PyPI)."
    fi
}

# Run a PostgreSQL command as the postgres user when we are root (initdb refuses root; CI runs as root).
as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# A throwaway PostgreSQL for the hub's tests: a fresh cluster in /tmp, reachable only by its unix socket
# there (no TCP port to collide with anything), stopped and deleted when the tests end.
start_postgres() {
    PG_BIN=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
        EXIT_CODE=2 fail "No PostgreSQL server under /usr/lib/postgresql: the hub's tests need one." \
            "Fix: sudo apt-get install postgresql   (then run ./build.sh test again)"
    fi
    PG_DIR=$(mktemp -d /tmp/tpkit-pg.XXXXXX)
    [ "$(id -u)" -eq 0 ] && chown postgres "$PG_DIR"
    trap stop_postgres EXIT
    as_postgres "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust --no-sync >"$PG_DIR/initdb.log" 2>&1 \
        || fail "initdb failed; see $PG_DIR/initdb.log." "Fix: check that /tmp is writable by the postgres user."
    as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -s \
        -o "-k $PG_DIR -c listen_addresses= -c max_connections=200" start \
        || fail "PostgreSQL did not start; see $PG_DIR/server.log." "Fix: read the log's last lines."
    export TPKIT_TEST_POSTGRES_URL="postgresql://postgres@/postgres?host=$PG_DIR"
    export TPKIT_TEST_POSTGRES_CTL="$PG_BIN/pg_ctl" TPKIT_TEST_POSTGRES_DATA="$PG_DIR/data"
    ok "PostgreSQL for the hub's tests on $PG_DIR (unix socket only)"
}

stop_postgres() {
    if [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR" ]; then
        as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -s stop >/dev/null 2>&1 || true
        rm -rf "$PG_DIR"
    fi
}

# kiwix-serve 3.7.0, the reference of the Kiwix parity tests and the benchmark, is not in bookworm: it is
# Debian 13's, unpacked into .cache/kiwix-3.7 with a private apt state (scripts/kiwix-reference.sh; the system's
# apt is untouched). Once there this takes a tenth of a second. Without the archive the parity tests skip with
# the fix, except on CI (CI=true), where the archive is reachable and a missing reference must fail loudly.
ensure_kiwix_reference() {
    scripts/kiwix-reference.sh && return 0
    [ "${CI:-}" = "true" ] && EXIT_CODE=2 fail "CI cannot run the Kiwix parity tests without kiwix-serve 3.7.0." \
        "Fix: make Debian's archive reachable from CI, then run ./build.sh test again."
    info "The Kiwix parity tests will be skipped (kiwix-serve 3.7.0 reference missing; see the lines above)."
}

cmd_test() {
    # shellcheck disable=SC2086 # word splitting of the package list is intended
    ensure_debs $TEST_DEBS
    [ "$(id -u)" -eq 0 ] && unpack_avahi
    [ -x "$AVAHI_ROOT/usr/sbin/avahi-daemon" ] && export TPKIT_TEST_AVAHI_ROOT="$AVAHI_ROOT"
    ensure_kiwix_reference
    unpack_promtool
    [ -x "$PROMTOOL_ROOT/usr/bin/promtool" ] && export TPKIT_TEST_PROMTOOL="$PROMTOOL_ROOT/usr/bin/promtool"
    ensure_ralph
    [ -x "$RALPH_VENV/bin/ralph" ] && export TPKIT_TEST_RALPH="$RALPH_VENV/bin/ralph"
    ensure_venv test
    start_postgres
    info "Running the test suite"
    set +e
    "$VENV/bin/python" -m pytest "$@"
    status=$?
    set -e
    case $status in
        0) ok "All tests passed." ;;
        5) fail "pytest collected no tests." "Fix: run ./build.sh test from the repository root; tests live in tests/." ;;
        *) fail "Tests failed (pytest exit $status)." "Fix: read the failures above; rerun one with ./build.sh test -k NAME." ;;
    esac
}

# The catalogues of both message domains (docs/translating.md): extract the keys used in code and templates into
# appliance/locale/<domain>.pot, merge them into every language's .po (new keys come in empty, removed ones go),
# then compile the .mo files the kit and the hub read at start-up. Keys, not English, are the msgids, so no fuzzy
# guesses; locations name files without line numbers, and output is sorted by key, to keep diffs and merges small.
cmd_messages() {
    ensure_venv test
    locale=appliance/locale
    babel="$VENV/bin/pybabel"
    common="--no-wrap --sort-output --add-location=file --project=tpkit --copyright-holder=tpkit"
    # shellcheck disable=SC2086 # word splitting of the options is intended
    "$babel" -q extract -F babel.cfg $common -o "$locale/tpkit.pot" appliance \
        || fail "Extracting the kit's messages failed." "Fix: read the error above (a template that does not parse?)."
    # shellcheck disable=SC2086
    "$babel" -q extract -F babel-hub.cfg -k t $common -o "$locale/hub.pot" appliance/hub \
        || fail "Extracting the hub's messages failed." "Fix: read the error above (a template that does not parse?)."
    for domain in tpkit hub; do
        "$babel" -q update -D "$domain" -i "$locale/$domain.pot" -d "$locale" --no-wrap --no-fuzzy-matching \
            --ignore-obsolete || fail "Updating the $domain catalogues failed." "Fix: read the error above."
        "$VENV/bin/python" tools/po_placeholders.py "$locale" "$domain"
    done
    # A file whose only change is its new POT-Creation-Date goes back to the committed one (fewer merge conflicts).
    for file in "$locale"/*.pot "$locale"/*/LC_MESSAGES/*.po; do
        if git diff --quiet -I '^"POT-Creation-Date: ' -- "$file" 2>/dev/null; then
            git checkout -q -- "$file" 2>/dev/null || true
        fi
    done
    for domain in tpkit hub; do
        "$babel" -q compile -D "$domain" -d "$locale" \
            || fail "Compiling the $domain catalogues failed." "Fix: fill in the empty messages shown above."
    done
    ok "Messages extracted, merged into $locale/*/LC_MESSAGES/*.po and compiled."
    info "Fill in every empty msgstr in each language (git diff $locale), then run ./build.sh messages again."
}

# The static checks (as encode/starlette's scripts/check): each one runs and gets its line, then one verdict.
# Configuration is in pyproject.toml ([tool.ruff], [tool.mypy]) and vulture_whitelist.py.
check_step() {
    name=$1
    shift
    if "$@"; then ok "$name"; else printf '[✗] %s\n' "$name" >&2; failed="$failed
    $name"; fi
}

cmd_check() {
    ensure_venv test
    failed=""
    check_step "ruff check (lint)" "$VENV/bin/ruff" check "$@"
    check_step "ruff format --check" "$VENV/bin/ruff" format --check --output-format concise "$@"
    check_step "mypy appliance" "$VENV/bin/mypy"
    check_step "vulture appliance (no dead code)" "$VENV/bin/vulture" appliance vulture_whitelist.py --min-confidence 60
    [ -z "$failed" ] || fail "Checks failed:$failed" \
        "Fix: read the findings above; '.venv/bin/ruff check --fix' and '.venv/bin/ruff format' mend the mechanical ones."
    ok "All checks passed."
}

case "${1:-}" in
    run) shift; cmd_run "$@" ;;
    test) shift; cmd_test "$@" ;;
    messages) shift; cmd_messages "$@" ;;
    check) shift; cmd_check "$@" ;;
    image) shift; exec "$ROOT/images/build-image.sh" "$@" ;;
    image-test) shift; exec "$ROOT/images/image-test.sh" "$@" ;;
    fresh-ci) shift; [ "$(id -u)" -eq 0 ] && ensure_debs mmdebstrap; exec "$ROOT/.ci/fresh-machine.sh" "$@" ;;
    *) printf 'usage: ./build.sh run|test|check|messages|image|image-test|fresh-ci [args]\n  run         start the kit on http://127.0.0.1:8080 with demo content\n  test        install test dependencies and run the whole suite\n  check       ruff (lint, format), mypy and vulture\n  messages    extract messages, update the .po catalogues, compile them (docs/translating.md)\n  image       --arch amd64|arm64: build a flashable image into images/out/\n  image-test  --arch amd64|arm64: boot the built image in qemu and wait for its home page;\n              with --power-cuts N [--seed S]: cut its power N times at random moments (opt-in)\n              with --class-load [--minutes M]: a class of 40 while a USB stick patch applies: memory, SD writes (opt-in)\n              with --radio [--phones N] [--max-clients N] [--security wpa2|wpa2-wpa3|wpa3]: simulated phones join the kit'"'"'s own Wi-Fi (opt-in)\n              with --raspi3b (arm64): the boot test on qemu'"'"'s Raspberry Pi 3 board, root on its SD card (opt-in)\n              --memory MB: the guest RAM (default 1024, a 1 GB Pi)\n  fresh-ci    [--tests-only] [--keep]: run CI (.ci/run) as root in a fresh Debian 12 root from mmdebstrap\n' >&2; exit 64 ;;
esac
