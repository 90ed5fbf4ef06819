#!/bin/sh
# Installs every unit, drop-in and rule under the repository's systemd/ folder into a root file
# system, then enables, unmasks and masks the units named in images/units.list. Used by build-image.sh
# (step 30) and by tests/test_image.py on a temporary root; touches nothing outside ROOT.
#   images/install-units.sh ROOT [SYSTEMD_DIR] [UNITS_LIST]
# Exit codes: 0 done, 1 a file in systemd/ has no known place, or systemctl failed, 64 usage.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || { printf 'usage: %s ROOT [SYSTEMD_DIR] [UNITS_LIST]\n' "$0" >&2; exit 64; }
ROOT=$1
SRC=${2:-$HERE/../systemd}
LIST=${3:-$HERE/units.list}

ok() { printf '[✓] %s\n' "$*"; }
info() { printf '[i] %s\n' "$*"; }
fail() { printf '[✗] %s\n' "$1" >&2; shift; for line in "$@"; do printf '    %s\n' "$line" >&2; done; exit 1; }

put() { # put FILE DEST_DIR: install one file, mode 644 (the house rule for units)
    mkdir -p "$ROOT$2"
    install -m 644 "$1" "$ROOT$2/$(basename "$1")"
    info "installed $2/$(basename "$1")"
}

# Where each kind of file goes. Units are vendor files (/usr/lib); drop-ins for units and for
# systemd's own daemons go under /etc so they override Debian's packaged configuration.
place_file() {
    case $1 in
        *.service|*.timer|*.socket|*.path|*.target|*.mount) put "$1" /usr/lib/systemd/system ;;
        *.rules)
            if grep -q 'polkit\.addRule' "$1"; then put "$1" /etc/polkit-1/rules.d
            else put "$1" /usr/lib/udev/rules.d; fi ;;
        */README.md|*/README) ;;
        *) fail "No place in the image for $1." \
                "Fix: name it *.service/*.timer/*.socket/*.path/*.target, *.rules, or put it in a *.d/ folder; or teach images/install-units.sh where it goes." ;;
    esac
}

place_dir() {
    name=$(basename "$1")
    case $name in
        *.service.d|*.timer.d|*.socket.d|*.path.d|*.target.d|*.mount.d) dest=/etc/systemd/system/$name ;;
        journald.conf.d|system.conf.d|logind.conf.d|timesyncd.conf.d|networkd.conf.d) dest=/etc/systemd/$name ;;
        tmpfiles.d|sysusers.d|modules-load.d|sysctl.d) dest=/usr/lib/$name ;;
        network) dest=/etc/systemd/network ;;
        udev) dest=/usr/lib/udev/rules.d ;;  # vendor udev rules (the USB-stick import)
        hub) info "left out $1: the county hub's units are for its server, not a kit"; return ;;
        *) fail "No place in the image for the folder $1." \
                "Fix: use a *.service.d-style drop-in folder, journald.conf.d, tmpfiles.d, sysctl.d, network, or teach images/install-units.sh where it goes." ;;
    esac
    for file in "$1"/*; do
        [ -f "$file" ] && put "$file" "$dest"
    done
}

for path in "$SRC"/*; do
    [ -e "$path" ] || continue
    if [ -d "$path" ]; then place_dir "$path"; else place_file "$path"; fi
done

unit_exists() {
    for dir in /usr/lib/systemd/system /lib/systemd/system /etc/systemd/system; do
        [ -f "$ROOT$dir/$1" ] && return 0
    done
    return 1
}

grep -v '^[[:space:]]*\(#\|$\)' "$LIST" | while read -r verb unit; do
    case $verb in
        enable)
            if unit_exists "$unit"; then
                systemctl --root="$ROOT" --quiet enable "$unit" || fail "systemctl enable $unit failed." "Fix: check its [Install] section."
                ok "enabled $unit"
            else
                case $unit in
                    tpkit-*) info "$unit is not in this tree yet: not enabled (images/units.list)" ;;
                    *) fail "$unit is listed in $LIST but not installed in the image." "Fix: add the package that ships it to images/packages-*.list, or drop it from $LIST." ;;
                esac
            fi ;;
        unmask)
            systemctl --root="$ROOT" --quiet unmask "$unit" || fail "systemctl unmask $unit failed." "Fix: check the unit name in $LIST."
            ok "unmasked $unit" ;;
        mask)
            systemctl --root="$ROOT" --quiet mask "$unit" || fail "systemctl mask $unit failed." "Fix: check the unit name in $LIST."
            ok "masked $unit" ;;
        *) fail "Unknown verb '$verb' in $LIST." "Fix: each line is 'enable UNIT', 'unmask UNIT' or 'mask UNIT'." ;;
    esac
done
