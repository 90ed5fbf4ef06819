#!/bin/sh
# Install kiwix-serve 3.7.0 (Debian 13 "trixie": libkiwix 14, libzim 9.2) as the reference the Kiwix parity
# tests and the benchmark compare tpkit with, on a Debian 12 machine, without touching the system's apt or dpkg.
#
#   scripts/kiwix-reference.sh                download and unpack once; fast (no network) when already there
#   scripts/kiwix-reference.sh --prefix       print the command that runs kiwix-serve 3.7, one word a line
#   scripts/kiwix-reference.sh --opds-client  also build tests/kiwix_opds_client.cpp (a Kiwix client's OPDS
#                                             reading, libkiwix's own) and print the command that runs it
#   scripts/kiwix-reference.sh --zimdiff      unpack trixie's zim-tools 3.5.0 (openZIM's zimdiff, the peer
#                                             bench/publish.py measures patch publishing against) into
#                                             .cache/zim-tools-3.5/ and print the command that runs zimdiff
#
# How: `kiwix-tools` and its whole library closure are resolved against an EMPTY dpkg status (so every library,
# glibc included, comes from trixie) and downloaded by apt with a private state under .cache/kiwix-apt/: its own
# sources.list naming trixie on the mirror this machine already uses, its own lists, cache and status. The
# packages are checked by apt against the machine's debian-archive-keyring (Signed-By), unpacked with `dpkg -x`
# into .cache/kiwix-3.7/, and kiwix-serve runs through the unpacked trixie loader:
#   .cache/kiwix-3.7/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 --library-path <unpacked lib dirs> \
#       .cache/kiwix-3.7/usr/bin/kiwix-serve
# The OPDS client needs trixie's libkiwix-dev and libzim-dev (headers only, `apt-get download`, same private
# state) and the machine's g++; it links against the unpacked libkiwix.so.14 and runs through the same loader.
# Nothing is written under /etc/apt, /var/lib/apt, /var/lib/dpkg or /var/cache/apt; nothing comes from outside
# Debian's archive. docs/kiwix-compatibility.md has the measured download size, unpack time and version.
#
# zim-tools is resolved the same way (its own closure against an empty status, its own archive folder
# .cache/kiwix-apt/cache/zim-tools/) and unpacked into its own tree; it runs through that tree's loader.
#
# Exit codes: 0 ready; 3 the archive could not be reached or the packages not verified; 4 no C++ compiler for
# the OPDS client (each message says the fix).
set -eu

cd "$(dirname "$0")/.."
ROOT=$(pwd)
DEST="$ROOT/.cache/kiwix-3.7"
STATE="$ROOT/.cache/kiwix-apt"
SUITE=trixie
PACKAGES="kiwix-tools"
DEV_PACKAGES="libkiwix-dev libzim-dev"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
STAMP="$DEST/.complete"
ZIM_TOOLS_DEST="$ROOT/.cache/zim-tools-3.5"
ZIM_TOOLS_ARCHIVES="$STATE/cache/zim-tools"
CLIENT_SOURCE="$ROOT/tests/kiwix_opds_client.cpp"
CLIENT="$DEST/opds-client"

ok() { printf '[✓] %s\n' "$*" >&2; }
info() { printf '[i] %s\n' "$*" >&2; }
fail() { printf '[✗] %s\n' "$1" >&2; shift; for line in "$@"; do printf '    %s\n' "$line" >&2; done; exit "${EXIT_CODE:-3}"; }

arch=$(dpkg --print-architecture)
# The glibc loader's name differs per architecture; trixie's libc6 (merged /usr) ships it in the triplet's
# directory and links it from /usr/lib64 (amd64) or /usr/lib (arm64). amd64 is run here; for arm64 the path was
# read from trixie's libc6:arm64 package and kiwix-tools 3.7.0-1.1 exists there, but it has not been run.
case "$arch" in
    amd64) LOADER="usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"; TRIPLET="x86_64-linux-gnu" ;;
    arm64) LOADER="usr/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1"; TRIPLET="aarch64-linux-gnu" ;;
    *) fail "No kiwix-serve 3.7 reference for architecture $arch." "Fix: run the Kiwix parity tests on amd64 or arm64." ;;
esac

# An unpacked tree's library directories (kiwix-serve's unless named), in the order the trixie loader should search them.
library_path() {
    tree=${1:-$DEST}
    printf '%s' "$tree/usr/lib/$TRIPLET:$tree/lib/$TRIPLET:$tree/usr/lib"
}

# The command that runs one unpacked program (of kiwix-serve's tree unless named) through its trixie loader, one word a line.
print_prefix() {
    tree=${2:-$DEST}
    printf '%s\n' "$tree/$LOADER" --library-path "$(library_path "$tree")" "$1"
}

works() {
    [ -f "$STAMP" ] && "$DEST/$LOADER" --library-path "$(library_path)" "$DEST/usr/bin/kiwix-serve" --version >/dev/null 2>&1
}

# The Debian mirror this machine already uses (deb822 sources first, then the one-line format).
find_mirror() {
    mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\/debian\)\/\{0,1\}[[:space:]]*$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
    [ -n "$mirror" ] || mirror=$(sed -n 's/^deb[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]\{1,\}\)\{0,1\}\([^[:space:]]*\/debian\)\/\{0,1\}[[:space:]].*/\2/p' /etc/apt/sources.list 2>/dev/null | head -n 1)
    [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
}

private_apt() {
    apt-get -q \
        -o Dir::State="$STATE" -o Dir::State::Lists="$STATE/lists" -o Dir::State::status="$STATE/status" \
        -o Dir::Cache="$STATE/cache" -o Dir::Cache::Archives="$STATE/cache/archives" \
        -o Dir::Cache::pkgcache="" -o Dir::Cache::srcpkgcache="" \
        -o Dir::Etc::SourceList="$STATE/etc/sources.list" -o Dir::Etc::SourceParts="$STATE/etc/sources.list.d" \
        -o Dir::Etc::Preferences="$STATE/etc/preferences" -o Dir::Etc::PreferencesParts="$STATE/etc/preferences.d" \
        -o APT::Architecture="$arch" -o APT::Architectures="$arch" \
        -o APT::Get::AllowUnauthenticated=false -o Acquire::AllowInsecureRepositories=false \
        -o Debug::NoLocking=true "$@"
}

# The private apt state and trixie's package lists; `prepare_apt fresh` always reads the lists again.
prepare_apt() {
    find_mirror
    [ -r "$KEYRING" ] || fail "$KEYRING is missing: apt could not verify trixie's packages." "Fix: sudo apt-get install debian-archive-keyring"
    mkdir -p "$STATE/etc/sources.list.d" "$STATE/etc/preferences.d" "$STATE/lists/partial" "$STATE/cache/archives/partial" "$STATE/dev"
    printf 'deb [signed-by=%s] %s %s main\n' "$KEYRING" "$mirror" "$SUITE" >"$STATE/etc/sources.list"
    : >"$STATE/status"
    # apt fetches as the unprivileged _apt user when run as root; let it write only into this private state.
    if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then
        chown _apt "$STATE/lists/partial" "$STATE/cache/archives/partial" "$STATE/dev"
    fi
    [ "${1:-}" != fresh ] && [ -n "$(find "$STATE/lists" -maxdepth 1 -name '*_Packages*' 2>/dev/null)" ] && return 0
    info "Fetching trixie's package lists from $mirror into $STATE (private apt state; the system's apt is untouched)"
    private_apt update >"$STATE/update.log" 2>&1 \
        || fail "Could not read trixie's package lists from $mirror (see $STATE/update.log)." \
            "Fix: check that $mirror is reachable (the tests need it once to install the kiwix-serve 3.7 reference)," \
            "then run scripts/kiwix-reference.sh again."
    if grep -q '^W: \|^E: ' "$STATE/update.log"; then
        rm -f "$STATE"/lists/*_Packages*
        fail "apt reported problems reading trixie from $mirror (see $STATE/update.log)." \
            "Fix: read the W:/E: lines (a signature apt could not check means debian-archive-keyring is too old:" \
            "sudo apt-get install debian-archive-keyring), then run scripts/kiwix-reference.sh again."
    fi
}

install_reference() {
    prepare_apt fresh
    info "Downloading $PACKAGES and its library closure (resolved against an empty dpkg status)"
    # shellcheck disable=SC2086 # word splitting of the package list is intended
    private_apt install --download-only --no-install-recommends -y $PACKAGES >"$STATE/download.log" 2>&1 \
        || fail "apt could not download $PACKAGES from trixie (see $STATE/download.log)." \
            "Fix: read its last lines; run scripts/kiwix-reference.sh again once $mirror answers."
    started=$(date +%s.%N)
    rm -rf "$DEST"
    mkdir -p "$DEST"
    for deb in "$STATE"/cache/archives/*.deb; do
        dpkg -x "$deb" "$DEST"
    done
    finished=$(date +%s.%N)
    "$DEST/$LOADER" --library-path "$(library_path)" "$DEST/usr/bin/kiwix-serve" --version >"$DEST/version.txt" 2>&1 \
        || fail "The unpacked kiwix-serve does not run (see $DEST/version.txt)." \
            "Fix: delete $DEST and $STATE and run scripts/kiwix-reference.sh again."
    touch "$STAMP"
    size=$(du -ck "$STATE"/cache/archives/*.deb | tail -n 1 | cut -f1)
    count=$(find "$STATE/cache/archives" -maxdepth 1 -name '*.deb' | wc -l)
    ok "kiwix-serve 3.7 reference in $DEST: $count packages, ${size} KiB downloaded, unpacked in $(awk "BEGIN { printf \"%.1f\", $finished - $started }") s"
    head -n 3 "$DEST/version.txt" >&2
}

zimdiff_works() {
    [ -f "$ZIM_TOOLS_DEST/.complete" ] && [ -x "$ZIM_TOOLS_DEST/usr/bin/zimdiff" ]
}

install_zim_tools() {
    prepare_apt
    mkdir -p "$ZIM_TOOLS_ARCHIVES/partial"
    if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then
        chown _apt "$ZIM_TOOLS_ARCHIVES/partial"
    fi
    info "Downloading zim-tools and its library closure (resolved against an empty dpkg status)"
    fetch_zim_tools() {
        private_apt -o Dir::Cache::Archives="$ZIM_TOOLS_ARCHIVES" install --download-only --no-install-recommends -y \
            zim-tools >"$STATE/zim-tools.log" 2>&1
    }
    fetch_zim_tools || { prepare_apt fresh && fetch_zim_tools; } \
        || fail "apt could not download zim-tools from trixie (see $STATE/zim-tools.log)." \
            "Fix: read its last lines; run scripts/kiwix-reference.sh --zimdiff again once $mirror answers."
    rm -rf "$ZIM_TOOLS_DEST"
    mkdir -p "$ZIM_TOOLS_DEST"
    for deb in "$ZIM_TOOLS_ARCHIVES"/*.deb; do
        dpkg -x "$deb" "$ZIM_TOOLS_DEST"
    done
    "$ZIM_TOOLS_DEST/$LOADER" --library-path "$(library_path "$ZIM_TOOLS_DEST")" "$ZIM_TOOLS_DEST/usr/bin/zimdiff" \
        --version >"$ZIM_TOOLS_DEST/version.txt" 2>&1 \
        || fail "The unpacked zimdiff does not run (see $ZIM_TOOLS_DEST/version.txt)." \
            "Fix: delete $ZIM_TOOLS_DEST and run scripts/kiwix-reference.sh --zimdiff again."
    touch "$ZIM_TOOLS_DEST/.complete"
    count=$(find "$ZIM_TOOLS_ARCHIVES" -maxdepth 1 -name '*.deb' | wc -l)
    ok "zim-tools (zimdiff) in $ZIM_TOOLS_DEST: $count packages"
    head -n 3 "$ZIM_TOOLS_DEST/version.txt" >&2
}

build_client() {
    source_sum=$(cksum <"$CLIENT_SOURCE")
    [ -x "$CLIENT" ] && [ "$(cat "$CLIENT.source" 2>/dev/null)" = "$source_sum" ] && return 0
    command -v g++ >/dev/null || EXIT_CODE=4 fail "g++ is needed to build the Kiwix OPDS client of the tests." \
        "Fix: sudo apt-get install g++   (./build.sh test installs it as root)"
    if [ ! -f "$DEST/usr/include/kiwix/manager.h" ]; then
        prepare_apt
        info "Downloading $DEV_PACKAGES (headers) from trixie"
        # shellcheck disable=SC2086 # word splitting of the package list is intended
        # shellcheck disable=SC2086 # (the same list, after reading the lists again)
        (cd "$STATE/dev" && private_apt download $DEV_PACKAGES) >"$STATE/dev.log" 2>&1 \
            || { prepare_apt fresh && (cd "$STATE/dev" && private_apt download $DEV_PACKAGES) >"$STATE/dev.log" 2>&1; } \
            || fail "apt could not download $DEV_PACKAGES from trixie (see $STATE/dev.log)." \
                "Fix: run scripts/kiwix-reference.sh --opds-client again once $mirror answers."
        for deb in "$STATE"/dev/*.deb; do
            dpkg -x "$deb" "$DEST"
        done
    fi
    # Compiled with this machine's g++ against trixie's headers; libkiwix's own needs (a newer libstdc++) are met
    # at run time by the unpacked trixie libraries, hence --allow-shlib-undefined at link time.
    g++ -std=c++17 -O1 -Wall -I"$DEST/usr/include" "$CLIENT_SOURCE" -o "$CLIENT.tmp" \
        "$DEST/usr/lib/$TRIPLET/libkiwix.so.14" -Wl,--allow-shlib-undefined >"$STATE/client-build.log" 2>&1 \
        || EXIT_CODE=4 fail "The OPDS client did not compile (see $STATE/client-build.log)." \
            "Fix: read the compiler's errors; libkiwix-dev's API is in $DEST/usr/include/kiwix."
    mv "$CLIENT.tmp" "$CLIENT"
    printf '%s\n' "$source_sum" >"$CLIENT.source"
    ok "Kiwix OPDS client (libkiwix 14's kiwix::Manager::readOpds) built: $CLIENT"
}

case "${1:-}" in
    --prefix)
        works || fail "kiwix-serve 3.7 is not unpacked in $DEST." "Fix: run scripts/kiwix-reference.sh"
        print_prefix "$DEST/usr/bin/kiwix-serve"
        ;;
    --zimdiff)
        zimdiff_works || install_zim_tools
        print_prefix "$ZIM_TOOLS_DEST/usr/bin/zimdiff" "$ZIM_TOOLS_DEST"
        ;;
    --opds-client)
        works || install_reference
        build_client
        print_prefix "$CLIENT"
        ;;
    "")
        if works; then
            ok "kiwix-serve 3.7 reference ready in $DEST"
        else
            install_reference
        fi
        ;;
    *) printf 'usage: scripts/kiwix-reference.sh [--prefix | --opds-client | --zimdiff]\n' >&2; exit 64 ;;
esac
