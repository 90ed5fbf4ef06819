#!/bin/sh
# Boots a built image in qemu (KVM when it works here, else TCG) inside a network namespace made for the test, and checks
# what a technician relies on:
#   1. first boot applies a test kit.toml (the home page shows its school name);
#   2. the kit enrols with a county hub (`tpkit hub serve` on 127.0.0.1 inside the namespace) and a
#      signed report arrives, its signature verified by the hub; the kit says its clock is unsynchronised;
#   3. the classroom side (a second virtual NIC standing in for the Wi-Fi, network_mode = "ap"):
#      dnsmasq offers an address and answers the kit's short names; the portal answers phones' checks;
#      a phone that routes through the kit cannot reach the uplink side (the hub the kit reports to);
#   4. the card is larger than the image (the disk file grown by GROW_MIB): first boot grows the data
#      partition to fill it (the kit's first heartbeat, stored by the hub, gives the data file system's size);
#   5. the saved clock: after a clean shutdown the kit boots again with its real-time clock years behind,
#      and its clock starts no earlier than the first boot (timesyncd's /var/lib/systemd/timesync/clock).
#   images/image-test.sh --arch amd64|arm64 [--memory MB] [--power-cuts N [--seed S] | --class-load [--minutes M] |
#                        --radio [--phones N] [--max-clients N] [--security MODE] | --raspi3b]
# With --power-cuts N it runs the power-cut test instead (opt-in, not in CI: images/power-cuts.sh, docs/image.md
# "The power cut"): the same namespace, hub, NICs and kit.toml, then N cuts of the power at random moments.
# With --class-load it runs a class of 40 on the kit instead, while a USB stick's patch is applied and reports go
# out, and measures memory and SD card writes (opt-in: images/class-load.sh, docs/image.md "A 1 GB Pi under a
# class" and "The SD card"). With --radio, simulated phones (mac80211_hwsim, wpa_supplicant) join the kit's own
# access point inside the guest instead (opt-in: images/radio.sh, docs/image.md "The classroom radio"); --max-clients
# sets kit.toml's [wifi] max_clients for it (the access point's limit; 24 by default), --security its [wifi] security
# (wpa2, wpa2-wpa3 or wpa3; the phones offer WPA3's SAE accordingly).
# With --raspi3b (arm64 only) the same boot test runs on qemu's Raspberry Pi 3 board instead of `virt`: the image's
# kernel, initramfs and the board's device tree from its FAT, root on the emulated SD card, the uplink and the
# classroom on two USB network adapters (the board's only bus for NICs); it ends after the no-routing check (the
# board has no power button to press), docs/image.md "A Pi's own boot path".
# --memory sets the guest's RAM (default 1024 MB, a 1 GB Pi; the Pi 3 board has 1024 MB and no other size).
# The guest's uplink is qemu's user-mode NAT with outbound traffic refused (restrict=on): its port 80 is
# forwarded to 127.0.0.1:8080 of the namespace, and 10.0.2.100:8090 in the guest to the hub on the
# namespace's 127.0.0.1:8090 (a socat per connection). The classroom NIC is a tap inside the namespace.
# Nothing reaches or is reachable from the real network.
# Exit codes: 0 every check passed, 1 one failed (the guest's console tail is printed), 2 a tool or the
# image is missing, 64 usage.
set -eu

IMAGES=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$IMAGES/.." && pwd)
OUT=$IMAGES/out
# TCG emulation on a shared 2-core machine: power-on to HTTP took 11.5 min at load 15 (docs/image.md).
BOOT_TIMEOUT_S=${TPKIT_IMAGE_BOOT_TIMEOUT_S:-1500}
# The first report: tpkit-report.timer fires 2 min after boot plus up to 5 min of spread (RandomizedDelaySec).
REPORT_TIMEOUT_S=${TPKIT_IMAGE_REPORT_TIMEOUT_S:-900}
SHUTDOWN_TIMEOUT_S=300
GUEST_PORT=8080
HUB_PORT=8090
HUB_GUEST_ADDRESS=10.0.2.100
KIT_ID=image-test-kit
SCHOOL="Image Test School"
# The classroom side: a virtio NIC at PCI slot 8 (systemd names it enp0s8 on both machines) on a tap
# in the namespace; the kit's fixed address there (services/device/classroom_network.py) and the host's.
CLASSROOM_IF=enp0s8
CLASSROOM_TAP=tpkitcls0
KIT_CLASSROOM_ADDRESS=192.168.4.1
HOST_CLASSROOM_ADDRESS=192.168.4.2
# The second boot's real-time clock: long before the first boot, as on a Pi without a clock battery.
OLD_RTC=2021-01-01T00:00:00
# The test's "card" is this much larger than the image: first boot must grow the data partition into it.
GROW_MIB=1024
# Test-only kernel arguments: journald copies every unit's lines to the serial console (boot-ARCH.log).
JOURNAL_TO_CONSOLE="systemd.journald.forward_to_console=1"
# The Pi 3 board's USB network adapters, with fixed addresses: udev names a USB NIC enx<address>.
RASPI3B_UPLINK_MAC=00:16:3e:00:00:01
RASPI3B_CLASSROOM_MAC=00:16:3e:00:00:08

ok() { printf '[✓] %s\n' "$*"; }
info() { printf '[i] %s\n' "$*"; }
fail() { printf '[✗] %s\n' "$1" >&2; shift; for line in "$@"; do printf '    %s\n' "$line" >&2; done; exit "${EXIT_CODE:-1}"; }
usage() {
    printf 'usage: ./build.sh image-test --arch amd64|arm64 [--memory MB] [--power-cuts N [--seed S] | --class-load [--minutes M] | --radio [--phones N] [--max-clients N] [--security MODE] | --raspi3b]\n' >&2
    exit 64
}

ARCH=""
POWER_CUTS=0
SEED=""
MEMORY_MB=1024
CLASS_LOAD=0
CLASS_MINUTES=20
RADIO=0
PHONES=40
WIFI_MAX_CLIENTS=""
WIFI_SECURITY=""
RASPI3B=0
while [ $# -gt 0 ]; do
    case $1 in
        --arch) [ $# -ge 2 ] || usage; ARCH=$2; shift 2 ;;
        --power-cuts) [ $# -ge 2 ] || usage; POWER_CUTS=$2; shift 2 ;;
        --seed) [ $# -ge 2 ] || usage; SEED=$2; shift 2 ;;
        --memory) [ $# -ge 2 ] || usage; MEMORY_MB=$2; shift 2 ;;
        --class-load) CLASS_LOAD=1; shift ;;
        --minutes) [ $# -ge 2 ] || usage; CLASS_MINUTES=$2; shift 2 ;;
        --radio) RADIO=1; shift ;;
        --phones) [ $# -ge 2 ] || usage; PHONES=$2; shift 2 ;;
        --max-clients) [ $# -ge 2 ] || usage; WIFI_MAX_CLIENTS=$2; shift 2 ;;
        --security) [ $# -ge 2 ] || usage; WIFI_SECURITY=$2; shift 2 ;;
        --raspi3b) RASPI3B=1; shift ;;
        *) usage ;;
    esac
done
case $POWER_CUTS$SEED$MEMORY_MB$CLASS_MINUTES$PHONES$WIFI_MAX_CLIENTS in *[!0-9]*) usage ;; esac
[ -z "$SEED" ] || [ "$POWER_CUTS" -gt 0 ] || usage
[ $(( CLASS_LOAD + RADIO + (POWER_CUTS > 0) + RASPI3B )) -le 1 ] || usage
[ "$RASPI3B" -eq 0 ] || { [ "$ARCH" = arm64 ] && [ "$MEMORY_MB" -eq 1024 ]; } || usage
[ "$PHONES" -ge 2 ] || usage
[ -z "$WIFI_MAX_CLIENTS" ] || [ "$RADIO" -eq 1 ] || usage
case $WIFI_SECURITY in "") ;; wpa2|wpa2-wpa3|wpa3) [ "$RADIO" -eq 1 ] || usage ;; *) usage ;; esac
[ "$MEMORY_MB" -ge 256 ] || usage
case $ARCH in
    amd64) QEMU=qemu-system-x86_64; QEMU_DEB=qemu-system-x86 ;;
    arm64) QEMU=qemu-system-aarch64; QEMU_DEB=qemu-system-arm ;;
    *) usage ;;
esac

VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' "$REPO/pyproject.toml")
PACKED=$OUT/tpkit-$VERSION-$ARCH.img.zst
WORK=${TPKIT_IMAGE_WORK:-/var/tmp/tpkit-image}/test-$ARCH
SERIAL=$OUT/logs/boot-$ARCH.log
HUB_LOG=$OUT/logs/hub-$ARCH.log
if [ "$RASPI3B" -eq 1 ]; then
    SERIAL=$OUT/logs/boot-raspi3b.log
    HUB_LOG=$OUT/logs/hub-raspi3b.log
fi
NETNS=tpkit-imgtest-$$
DISK=$WORK/disk.img
# The administrator's password in the test kit.toml (hashed there): the power-cut run signs in with it.
ADMIN_PASSWORD="image test administrator"
# The classroom Wi-Fi in the test kit.toml (the radio run's phones join it).
WIFI_SSID="Image Test"
WIFI_PASSPHRASE="image test passphrase"
OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
TPKIT=$REPO/.venv/bin/tpkit
# The hub runs with its own settings only: not this test's TPKIT_IMAGE_* variables (read above), nor a TPKIT_CONFIG.
unset TPKIT_CONFIG TPKIT_IMAGE_WORK TPKIT_IMAGE_BOOT_TIMEOUT_S TPKIT_IMAGE_REPORT_TIMEOUT_S TPKIT_IMAGE_TEST

[ "$(id -u)" -eq 0 ] || EXIT_CODE=2 fail "The boot test needs root (it makes a network namespace)." "Fix: sudo ./build.sh image-test --arch $ARCH"
missing=""
for pair in "$QEMU:$QEMU_DEB" curl:curl zstd:zstd mcopy:mtools sfdisk:fdisk ip:iproute2 socat:socat python3:python3; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${pair%%:*}" ] || missing="$missing ${pair#*:}"
done
[ "$ARCH" = amd64 ] && { [ -f "$OVMF_CODE" ] || missing="$missing ovmf"; }
if [ -n "$missing" ]; then
    info "Installing what the boot test needs:$missing"
    # shellcheck disable=SC2086 # word splitting of the package list is intended
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null; } \
        || EXIT_CODE=2 fail "Missing tools for the boot test:$missing; apt-get install failed." "Fix: apt-get install$missing"
    ok "Installed$missing"
fi
[ -x "$TPKIT" ] || EXIT_CODE=2 fail "No tpkit in $REPO/.venv: the boot test runs the county hub from it." \
    "Fix: ./build.sh test -k test_imports   (makes the venv), then run the boot test again"
[ -f "$PACKED" ] || EXIT_CODE=2 fail "No image at $PACKED." "Fix: ./build.sh image --arch $ARCH"

QEMU_PID=""
HUB_PID=""
stop_qemu() {
    if [ -n "$QEMU_PID" ] && kill -0 "$QEMU_PID" 2>/dev/null; then
        kill "$QEMU_PID" 2>/dev/null || true
        wait "$QEMU_PID" 2>/dev/null || true
    fi
    QEMU_PID=""
}
cleanup() {
    stop_qemu
    if [ -n "$HUB_PID" ] && kill -0 "$HUB_PID" 2>/dev/null; then
        kill "$HUB_PID" 2>/dev/null || true
        wait "$HUB_PID" 2>/dev/null || true
    fi
    ip netns del "$NETNS" 2>/dev/null || true
    # The radio run's loop mount of the test copy's root (images/radio.sh), should it have stopped half-way.
    ! mountpoint -q "$WORK/root" 2>/dev/null || umount "$WORK/root" || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_ns() { ip netns exec "$NETNS" "$@"; }

# Moves what the guest wrote to its serial port so far into $SERIAL (kept after the test).
collect_console() {
    if [ -s "$WORK/console.log" ]; then
        cat "$WORK/console.log" >> "$SERIAL"
        : > "$WORK/console.log"
    fi
}

# console_since LINE: this power-on's console (the lines of $SERIAL after LINE).
console_since() { tail -n "+$(( $1 + 1 ))" "$SERIAL"; }

# fail_guest MESSAGE FIX: fail with the end of the guest's console and of the hub's log.
fail_guest() {
    collect_console
    printf '[i] The last lines of the guest console (%s):\n' "$SERIAL" >&2
    tail -n 40 "$SERIAL" | sed 's/^/    | /' >&2
    if [ -s "$HUB_LOG" ]; then
        printf '[i] The last lines of the hub (%s):\n' "$HUB_LOG" >&2
        tail -n 10 "$HUB_LOG" | sed 's/^/    | /' >&2
    fi
    fail "$1" "$2" "The whole console: $SERIAL"
}

rm -rf "$WORK"
mkdir -p "$WORK/hub" "$OUT/logs"
: > "$SERIAL"
: > "$HUB_LOG"
t0=$(date +%s)
(cd "$OUT" && sha256sum --quiet -c "$(basename "$PACKED").sha256") \
    || fail "$PACKED does not match its .sha256." "Fix: rebuild with ./build.sh image --arch $ARCH"
zstd -q -d "$PACKED" -o "$WORK/disk.img"
t_unpack=$(( $(date +%s) - t0 ))
ok "Checked and unpacked the image (${t_unpack}s)"
data_sectors=$(sfdisk --dump "$WORK/disk.img" | sed -n 's/^[^ ]*3 : start= *[0-9]*, size= *\([0-9]*\),.*/\1/p')
[ -n "$data_sectors" ] || fail "The image has no third (data) partition." "Fix: rebuild with ./build.sh image --arch $ARCH"
truncate -s "+${GROW_MIB}M" "$WORK/disk.img"
if [ "$RASPI3B" -eq 1 ]; then
    # qemu's SD card model takes only a power-of-two size (a real card is never one): the next one up.
    sd_bytes=1073741824
    while [ "$sd_bytes" -lt "$(stat -c %s "$WORK/disk.img")" ]; do sd_bytes=$(( sd_bytes * 2 )); done
    truncate -s "$sd_bytes" "$WORK/disk.img"
    CLASSROOM_IF=enx$(printf '%s' "$RASPI3B_CLASSROOM_MAC" | tr -d :)
fi
# Grown, the data file system holds at least nine tenths of its partition (ext4 keeps the rest for itself).
MIN_DATA_BYTES=$(( (data_sectors * 512 + GROW_MIB * 1048576) * 9 / 10 ))
info "The disk is ${GROW_MIB} MiB larger than the image (a larger card): the data partition ($(( data_sectors / 2048 )) MiB) must grow"

# The namespace: loopback (the forwarded web port, the hub) and the classroom tap, nothing else.
ip netns add "$NETNS"
in_ns ip link set lo up
in_ns ip tuntap add dev "$CLASSROOM_TAP" mode tap
in_ns ip addr add "$HOST_CLASSROOM_ADDRESS/24" dev "$CLASSROOM_TAP"
in_ns ip link set "$CLASSROOM_TAP" up

# The county hub, on the namespace's loopback only; the kit is registered and gets a one-time token.
token=$("$TPKIT" hub kit add "$KIT_ID" --school "$SCHOOL" --district "Image Test" \
    --hub-data-dir "$WORK/hub" | tail -n 1) \
    || fail "tpkit hub kit add failed (above)." "Fix: run it by hand: $TPKIT hub kit add $KIT_ID --school S --district D --hub-data-dir /tmp/hub"
# Not through in_ns: `ip netns exec` becomes the hub itself, so $! is the process cleanup stops.
ip netns exec "$NETNS" "$TPKIT" hub serve --hub-host 127.0.0.1 --hub-port "$HUB_PORT" --hub-workers 1 \
    --hub-data-dir "$WORK/hub" >> "$HUB_LOG" 2>&1 &
HUB_PID=$!
tries=0
until in_ns curl -s -m 5 -o /dev/null "http://127.0.0.1:$HUB_PORT/"; do
    tries=$((tries + 1))
    if ! kill -0 "$HUB_PID" 2>/dev/null || [ "$tries" -ge 60 ]; then
        fail "The hub did not start." "Fix: read $HUB_LOG."
    fi
    sleep 1
done
ok "Hub serving on 127.0.0.1:$HUB_PORT in $NETNS (the guest reaches it as $HUB_GUEST_ADDRESS:$HUB_PORT); $KIT_ID registered"

# The test kit.toml on the FAT boot partition, addressed inside the image file by mtools (no mounting).
boot_offset=$(( $(sfdisk --dump "$WORK/disk.img" | sed -n 's/^[^ ]*1 : start= *\([0-9]*\),.*/\1/p') * 512 ))
FAT="$WORK/disk.img@@$boot_offset"
export MTOOLS_SKIP_CHECK=1
admin_hash=$("$REPO/.venv/bin/python" -c 'import sys; from appliance.edges.passwords import hash_password; print(hash_password(sys.argv[1]))' \
    "$ADMIN_PASSWORD") || fail "Could not hash the test administrator's password with $REPO/.venv." "Fix: ./build.sh test -k test_imports"
# write_kit_toml SCHOOL [TOKEN]: the test kit.toml into $WORK/kit.toml (the hub's one-time token when given).
write_kit_toml() {
    {
        printf 'kit_id = "%s"\nschool_name = "%s"\nnetwork_mode = "ap"\n' "$KIT_ID" "$1"
        # More top-level keys and [settings] lines from a run that needs them (the class-load run's channel).
        [ -z "${EXTRA_TOP:-}" ] || printf '%s\n' "$EXTRA_TOP"
        printf '\n'
        printf '[hub]\nurl = "http://%s:%s/"\n' "$HUB_GUEST_ADDRESS" "$HUB_PORT"
        [ -z "${2:-}" ] || printf 'enrolment_token = "%s"\n' "$2"
        printf '\n[wifi]\nssid = "%s"\npassphrase = "%s"\ncountry = "CN"\n' "$WIFI_SSID" "$WIFI_PASSPHRASE"
        # The radio run's --max-clients: more phones than a Pi's own radio carries (a USB adapter's class).
        [ -z "${WIFI_MAX_CLIENTS:-}" ] || printf 'max_clients = %s\n' "$WIFI_MAX_CLIENTS"
        [ -z "${WIFI_SECURITY:-}" ] || printf 'security = "%s"\n' "$WIFI_SECURITY"
        printf '\n'
        printf '[admin]\npassword_hash = "%s"\n\n' "$admin_hash"
        printf '[settings]\nap_interface = "%s"\n' "$CLASSROOM_IF"
        [ -z "${EXTRA_SETTINGS:-}" ] || printf '%s\n' "$EXTRA_SETTINGS"
    } > "$WORK/kit.toml"
}
write_kit_toml "$SCHOOL" "$token"
mcopy -o -i "$FAT" "$WORK/kit.toml" ::kit.toml
info "Wrote a test kit.toml to the boot partition (school \"$SCHOOL\", the hub and its token, classroom network on $CLASSROOM_IF)"

uplink="user,id=up,restrict=on,hostfwd=tcp:127.0.0.1:$GUEST_PORT-:80"
uplink="$uplink,guestfwd=tcp:$HUB_GUEST_ADDRESS:$HUB_PORT-cmd:socat STDIO TCP4:127.0.0.1:$HUB_PORT"
case $ARCH in
    amd64)
        # The journal on the serial console too, so a failure's console tail shows every unit's lines.
        mcopy -i "$FAT" ::loader/entries/tpkit.conf "$WORK/tpkit.conf"
        sed -i "s/^options .*/& $JOURNAL_TO_CONSOLE/" "$WORK/tpkit.conf"
        mcopy -o -i "$FAT" "$WORK/tpkit.conf" ::loader/entries/tpkit.conf
        cp "$OVMF_VARS" "$WORK/vars.fd"
        set -- -machine q35 \
            -drive "if=pflash,format=raw,readonly=on,file=$OVMF_CODE" -drive "if=pflash,format=raw,file=$WORK/vars.fd" ;;
    arm64)
        # The Pi's firmware cannot be emulated: boot Debian's kernel from the image's FAT directly,
        # with the Pi's command line and the board's serial console (the PL011, ttyAMA0, on both boards).
        mcopy -i "$FAT" ::vmlinuz ::initrd.img ::cmdline.txt "$WORK/"
        append=$(sed -e 's/console=[^ ]*//g' "$WORK/cmdline.txt")
        if [ "$RASPI3B" -eq 1 ]; then
            # The Pi 3's own device tree from the FAT. Not loaded in the test: bcm2835_wdt (qemu's model of the
            # watchdog resets the board on systemd's first write instead of after the timeout) and cdc_subset
            # (it takes qemu's USB NIC before cdc_ether and gets no answer to its control transfers).
            mcopy -i "$FAT" ::bcm2837-rpi-3-b.dtb "$WORK/"
            set -- -machine raspi3b -kernel "$WORK/vmlinuz" -initrd "$WORK/initrd.img" -dtb "$WORK/bcm2837-rpi-3-b.dtb" \
                -append "$append console=ttyAMA0 modprobe.blacklist=bcm2835_wdt,cdc_subset $JOURNAL_TO_CONSOLE"
        else
            set -- -machine virt -cpu cortex-a72 -kernel "$WORK/vmlinuz" -initrd "$WORK/initrd.img" \
                -append "$append console=ttyAMA0 $JOURNAL_TO_CONSOLE"
        fi ;;
esac

# KVM when /dev/kvm is there and qemu runs on it (OVMF writes to the serial console within 20 s): on this
# machine /dev/kvm exists but qemu stops on it ("failed to set MSR 0x10a" with -cpu max, "KVM internal error"
# with -cpu host), so TCG. CI has no /dev/kvm. Sets ACCEL_ARGS and ACCEL_NAME (with the reason).
ACCEL_ARGS="-accel tcg -cpu max"
ACCEL_NAME="TCG: no /dev/kvm"
[ "$ARCH" = arm64 ] && ACCEL_ARGS="-accel tcg" && ACCEL_NAME="TCG: an arm64 guest on this host"
if [ "$ARCH" = amd64 ] && [ -c /dev/kvm ] && [ "$(uname -m)" = x86_64 ]; then
    cp "$OVMF_VARS" "$WORK/probe-vars.fd"
    : > "$WORK/probe.log"
    timeout 20 "$QEMU" -machine q35 -accel kvm -cpu host -m 256 -display none -no-reboot -net none \
        -drive "if=pflash,format=raw,readonly=on,file=$OVMF_CODE" -drive "if=pflash,format=raw,file=$WORK/probe-vars.fd" \
        -serial "file:$WORK/probe.log" > "$WORK/probe.out" 2>&1 || true
    if [ -s "$WORK/probe.log" ] && ! grep -q "KVM internal error\|failed to set MSR" "$WORK/probe.out"; then
        ACCEL_ARGS="-accel kvm -cpu host"
        ACCEL_NAME="KVM"
    else
        ACCEL_NAME="TCG: /dev/kvm is there but qemu does not run on it ($(grep -m 1 -o 'KVM internal error\|failed to set MSR[^ ]*' "$WORK/probe.out" || echo 'no firmware output in 20 s'))"
    fi
    rm -f "$WORK/probe-vars.fd" "$WORK/probe.log" "$WORK/probe.out"
fi
info "Accelerator: $ACCEL_NAME"

# power_on QEMU_ARGS...: start the guest on $DISK (sets t_boot, QEMU_PID, and serial_from: the line of $SERIAL
# where this power-on's console starts).
power_on() {
    printf '\n==== power on (%s UTC)\n' "$(date -u +%H:%M:%S)" >> "$SERIAL"
    # shellcheck disable=SC2034 # read by images/power-cuts.sh
    serial_from=$(wc -l < "$SERIAL")
    : > "$WORK/console.log"
    t_boot=$(date +%s)
    # The disk and the NICs: virtio on q35 and virt; the SD card and two USB network adapters on the Pi 3 board
    # (its four cores are fixed, so no -smp).
    if [ "$RASPI3B" -eq 1 ]; then
        set -- "$@" -drive "file=$DISK,format=raw,if=sd" \
            -device "usb-net,netdev=up,mac=$RASPI3B_UPLINK_MAC" -device "usb-net,netdev=classroom,mac=$RASPI3B_CLASSROOM_MAC"
    else
        set -- "$@" -smp 2 -drive "file=$DISK,format=raw,if=virtio" \
            -device virtio-net-pci,netdev=up -device virtio-net-pci,netdev=classroom,addr=0x8
    fi
    # Not through in_ns (a function: $! would be a subshell, and qemu would outlive the test).
    # shellcheck disable=SC2086 # ACCEL_ARGS is words (-accel kvm -cpu host)
    ip netns exec "$NETNS" "$QEMU" "$@" $ACCEL_ARGS -m "$MEMORY_MB" -display none -no-reboot \
        -monitor "unix:$WORK/monitor.sock,server=on,wait=off" -chardev "file,id=console,path=$WORK/console.log" \
        -serial chardev:console -netdev "$uplink" \
        -object "filter-dump,id=uplinkdump,netdev=up,file=$WORK/uplink.pcap" \
        -netdev "tap,id=classroom,ifname=$CLASSROOM_TAP,script=no,downscript=no" &
    QEMU_PID=$!
    info "Booting $(basename "$DISK") in $QEMU ($ACCEL_NAME, pid $QEMU_PID, netns $NETNS); serial console: $SERIAL"
}

# wait_home: wait up to BOOT_TIMEOUT_S after power-on for the home page (sets answered, empty when it never did);
# 1 when it did not answer in time or qemu ended first.
wait_home() {
    answered=""
    while [ $(( $(date +%s) - t_boot )) -lt "$BOOT_TIMEOUT_S" ]; do
        collect_console
        kill -0 "$QEMU_PID" 2>/dev/null || return 1
        if in_ns curl -fsS -m 10 -D "$WORK/home.headers" -o "$WORK/home.html" "http://127.0.0.1:$GUEST_PORT/" 2>/dev/null; then
            answered=$(( $(date +%s) - t_boot ))
            return 0
        fi
        sleep 3
    done
    return 1
}

# boot QEMU_ARGS...: power the guest on and wait for its home page (sets t_boot and answered); fails the test
# when it does not come.
boot() {
    power_on "$@"
    if ! wait_home; then
        kill -0 "$QEMU_PID" 2>/dev/null || fail_guest "qemu exited before the web server answered." "Fix: read the guest's console."
        fail_guest "The home page did not answer within ${BOOT_TIMEOUT_S}s of power-on." \
            "Fix: a slower machine may need TPKIT_IMAGE_BOOT_TIMEOUT_S=3000."
    fi
    ok "The home page answered over HTTP ${answered}s after power-on ($(wc -c < "$WORK/home.html") bytes)"
    grep -q '<html' "$WORK/home.html" || fail_guest "The answer is not an HTML page." "Fix: read the page in $WORK/home.html."
    grep -q "$SCHOOL" "$WORK/home.html" \
        || fail_guest "The home page does not show the school name from the test kit.toml." \
            "Fix: check tpkit-firstboot.service in the guest's journal."
}

# monitor COMMAND: one line to qemu's human monitor (the power button; a USB stick plugged in or pulled out).
monitor() { printf '%s\n' "$1" | in_ns socat - "UNIX-CONNECT:$WORK/monitor.sock" > /dev/null; }

# shut_down: the power button, as a technician would press it; waits until the guest has powered off.
shut_down() {
    t_down=$(date +%s)
    monitor system_powerdown
    while kill -0 "$QEMU_PID" 2>/dev/null; do
        collect_console
        [ $(( $(date +%s) - t_down )) -lt "$SHUTDOWN_TIMEOUT_S" ] \
            || fail_guest "The kit did not power off within ${SHUTDOWN_TIMEOUT_S}s of its power button." \
                "Fix: read the guest's console: a unit that does not stop holds the shutdown."
        sleep 2
    done
    wait "$QEMU_PID" 2>/dev/null || true
    QEMU_PID=""
    collect_console
    ok "The kit powered off cleanly $(( $(date +%s) - t_down ))s after its power button"
}

# --- the power-cut run (opt-in) -------------------------------------------------------------------
if [ "$POWER_CUTS" -gt 0 ]; then
    # shellcheck source=/dev/null # images/power-cuts.sh, checked on its own
    . "$IMAGES/power-cuts.sh"
    run_power_cuts "$@"
    exit 0
fi

# --- the class-load run (opt-in) -------------------------------------------------------------------
if [ "$CLASS_LOAD" -eq 1 ]; then
    # shellcheck source=/dev/null # images/class-load.sh, checked on its own
    . "$IMAGES/class-load.sh"
    run_class_load "$@"
    exit 0
fi

# --- the radio run (opt-in) ------------------------------------------------------------------------
if [ "$RADIO" -eq 1 ]; then
    # shellcheck source=/dev/null # images/radio.sh, checked on its own
    . "$IMAGES/radio.sh"
    run_radio "$@"
    exit 0
fi

# --- the first boot -----------------------------------------------------------------------------
boot "$@"
t_first_boot=$t_boot
boot1_s=$answered
collect_console
ok "First boot applied the test kit.toml (the home page shows \"$SCHOOL\")"

# The classroom side: DHCP and names from dnsmasq, the home page and phones' connectivity checks.
# The guest has an uplink here (qemu's NAT gives it a default route), so the checks get an honest 404.
tries=0
until in_ns python3 "$IMAGES/boot_checks.py" classroom "$CLASSROOM_TAP" "$KIT_CLASSROOM_ADDRESS" "$KIT_ID"; do
    tries=$((tries + 1))
    [ "$tries" -lt 6 ] || fail_guest "The classroom side of the kit did not answer as it should (above)." \
        "Fix: check dnsmasq.service and systemd-networkd in the guest's journal."
    sleep 10
done
# Generous time-outs: under TCG on a busy machine a page can take tens of seconds.
in_ns curl -fsS -m 120 --retry 3 --retry-all-errors -o /dev/null "http://$KIT_CLASSROOM_ADDRESS/" \
    || fail_guest "The home page does not answer at http://$KIT_CLASSROOM_ADDRESS/ on the classroom side." "Fix: check tpkit-web.service's address."
for check in connectivitycheck.gstatic.com/generate_204 captive.apple.com/hotspot-detect.html www.msftconnecttest.com/connecttest.txt; do
    code=$(in_ns curl -s -m 120 -o /dev/null -w '%{http_code}' -H "Host: ${check%%/*}" "http://$KIT_CLASSROOM_ADDRESS/${check#*/}") || true
    [ "$code" = 404 ] || fail_guest "http://$check answered $code on the classroom side, not 404 (the kit has an uplink)." \
        "Fix: see web/portal_routes.py."
done
ok "Phones' connectivity checks (Android, iOS, Windows) get an honest 404 while the kit has an uplink"

# The hub: the kit enrolled with its key, and a report stored (the hub stores only what verified).
waited=0
while :; do
    status=0
    python3 "$IMAGES/boot_checks.py" hub "$WORK/hub/hub.sqlite3" "$KIT_ID" "$MIN_DATA_BYTES" || status=$?
    [ "$status" -eq 0 ] && break
    [ "$status" -eq 3 ] || fail_guest "The hub's record of the kit is wrong (above)." \
        "Fix: read $HUB_LOG and tpkit-report.service in the guest's journal."
    [ "$waited" -lt "$REPORT_TIMEOUT_S" ] || fail_guest "No verified report reached the hub within ${REPORT_TIMEOUT_S}s of the home page." \
        "Fix: read tpkit-report.service in the guest's journal and $HUB_LOG."
    collect_console
    sleep 10
    waited=$((waited + 10))
done
report_s=$(( $(date +%s) - t_first_boot ))
ok "The kit enrolled and its first signed report arrived ${report_s}s after power-on"

# Never routed: a phone that takes the kit for its gateway must not reach the uplink side. The phone
# (the namespace's side of the classroom tap) sends to the uplink side's 10.0.2.100 through the kit;
# qemu records every frame of the kit's uplink NIC (filter-dump), and none may come from the classroom
# network. (Whether the request is answered proves nothing: qemu's NAT drops replies to addresses
# outside its own network. A kit with forwarding turned on was seen to fail this check; docs/image.md.)
in_ns ip route add "$HUB_GUEST_ADDRESS/32" via "$KIT_CLASSROOM_ADDRESS" dev "$CLASSROOM_TAP"
in_ns curl -s -m 10 -o /dev/null "http://$HUB_GUEST_ADDRESS:$HUB_PORT/-/alive" || true
in_ns ip route del "$HUB_GUEST_ADDRESS/32"
python3 "$IMAGES/boot_checks.py" forwarded "$WORK/uplink.pcap" "${KIT_CLASSROOM_ADDRESS%.*}.0/24" \
    || fail_guest "The kit sent a classroom packet out on its uplink (above): it routes the classroom to the uplink." \
        "Fix: IPForward=no in every .network file and /usr/lib/sysctl.d/50-tpkit-no-forwarding.conf (docs/image.md)."
ok "The kit does not route the classroom to its uplink (a phone's packets towards the uplink side never left the kit)"

# --- the Pi 3 board ends here: it has no power button (and no real-time clock) for the rest --------
if [ "$RASPI3B" -eq 1 ]; then
    collect_console
    stop_qemu
    # The guest's own clock: the kernel's time to userspace (the initramfs has mounted the root from the SD card:
    # systemd's "Startup finished in Ns (kernel)"), and the seconds since power-on when the web server started.
    root_s=$(sed -n 's/.*Startup finished in \([0-9.]*\)s (kernel).*/\1/p' "$SERIAL" | head -n 1)
    web_s=$(sed -n 's/^\[ *\([0-9]*\)\.[0-9]*\] systemd\[1\]: Started tpkit-web.service.*/\1/p' "$SERIAL" | head -n 1)
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    printf 'arch=arm64 machine=raspi3b unpack_s=%s root_from_sd_guest_s=%s web_started_guest_s=%s boot_to_http_s=%s report_s=%s load=%s\n' \
        "$t_unpack" "${root_s:-?}" "${web_s:-?}" "$boot1_s" "$report_s" "$load" > "$OUT/logs/boot-raspi3b.timings"
    ok "Boot test on the Pi 3 board passed: root from the SD card at ${root_s:-?}s and the web server started at ${web_s:-?}s (guest clock), home page ${boot1_s}s after power-on, first verified report ${report_s}s (load $load)"
    exit 0
fi

# --- the saved clock: a clean shutdown, then a boot with the real-time clock years behind ---------
shut_down
info "Second boot with the real-time clock at $OLD_RTC (a Pi has no clock battery)"
boot "$@" -rtc "base=$OLD_RTC"
boot2_s=$answered
collect_console
guest_date=$(sed -n 's/^[Dd]ate: *//p' "$WORK/home.headers" | tr -d '\r')
guest_now=$(date -d "$guest_date" +%s) || fail_guest "The web server sent no usable Date header ($guest_date)." "Fix: read $WORK/home.headers."
[ "$guest_now" -ge "$t_first_boot" ] \
    || fail_guest "The kit's clock says $guest_date, before the first boot ($(date -u -d "@$t_first_boot")): the saved clock was not used." \
        "Fix: /var/lib/systemd/timesync/clock must be on the root partition and systemd-timesyncd enabled."
ok "The kit's clock started from the saved clock: $guest_date (its real-time clock said $OLD_RTC)"
shut_down

load=$(cut -d' ' -f1-3 /proc/loadavg)
printf 'arch=%s unpack_s=%s boot_to_http_s=%s report_s=%s second_boot_to_http_s=%s load=%s\n' \
    "$ARCH" "$t_unpack" "$boot1_s" "$report_s" "$boot2_s" "$load" > "$OUT/logs/boot-$ARCH.timings"
ok "Boot test passed: unpack ${t_unpack}s, home page ${boot1_s}s after power-on, first verified report ${report_s}s, second boot ${boot2_s}s (load $load)"
