#!/bin/sh
# Boots a built image in qemu (TCG, no KVM) inside a network namespace made for the test and
# waits until the kit's web server answers its home page over HTTP; reports the timings.
#   images/image-test.sh --arch amd64|arm64
# The guest's only network is qemu's user-mode NAT with outbound traffic refused (restrict=on),
# inside a fresh namespace holding nothing but loopback; port 80 is forwarded to 127.0.0.1:8080
# of that namespace alone. Nothing reaches or is reachable from the real network.
# Exit codes: 0 the home page answered, 1 it did not (the serial log says why), 2 a tool or the
# image is missing, 64 usage.
set -eu

IMAGES=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$IMAGES/.." && pwd)
OUT=$IMAGES/out
# TCG emulation on a shared 2-core machine: power-on to HTTP took 11.5 min at load 15 (docs/image.md).
BOOT_TIMEOUT_S=${TPKIT_IMAGE_BOOT_TIMEOUT_S:-1500}
GUEST_PORT=8080
SCHOOL="Image Test School"

ok() { printf '[✓] %s\n' "$*"; }
info() { printf '[i] %s\n' "$*"; }
fail() { printf '[✗] %s\n' "$1" >&2; shift; for line in "$@"; do printf '    %s\n' "$line" >&2; done; exit "${EXIT_CODE:-1}"; }
usage() { printf 'usage: ./build.sh image-test --arch amd64|arm64\n' >&2; exit 64; }

ARCH=""
while [ $# -gt 0 ]; do
    case $1 in
        --arch) [ $# -ge 2 ] || usage; ARCH=$2; shift 2 ;;
        *) usage ;;
    esac
done
case $ARCH in
    amd64) QEMU=qemu-system-x86_64; QEMU_DEB=qemu-system-x86 ;;
    arm64) QEMU=qemu-system-aarch64; QEMU_DEB=qemu-system-arm ;;
    *) usage ;;
esac

VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' "$REPO/pyproject.toml")
PACKED=$OUT/tpkit-$VERSION-$ARCH.img.zst
WORK=${TPKIT_IMAGE_WORK:-/var/tmp/tpkit-image}/test-$ARCH
SERIAL=$OUT/logs/boot-$ARCH.log
NETNS=tpkit-imgtest-$$
OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd

[ "$(id -u)" -eq 0 ] || EXIT_CODE=2 fail "The boot test needs root (it makes a network namespace)." "Fix: sudo ./build.sh image-test --arch $ARCH"
missing=""
for pair in "$QEMU:$QEMU_DEB" curl:curl zstd:zstd mcopy:mtools sfdisk:fdisk ip:iproute2; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${pair%%:*}" ] || missing="$missing ${pair#*:}"
done
[ "$ARCH" = amd64 ] && { [ -f "$OVMF_CODE" ] || missing="$missing ovmf"; }
[ -z "$missing" ] || EXIT_CODE=2 fail "Missing tools for the boot test:$missing" "Fix: apt-get install$missing"
[ -f "$PACKED" ] || EXIT_CODE=2 fail "No image at $PACKED." "Fix: ./build.sh image --arch $ARCH"

QEMU_PID=""
cleanup() {
    if [ -n "$QEMU_PID" ] && kill -0 "$QEMU_PID" 2>/dev/null; then
        kill "$QEMU_PID" 2>/dev/null || true
        wait "$QEMU_PID" 2>/dev/null || true
    fi
    ip netns del "$NETNS" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$WORK"
mkdir -p "$WORK" "$OUT/logs"
t0=$(date +%s)
(cd "$OUT" && sha256sum --quiet -c "$(basename "$PACKED").sha256") \
    || fail "$PACKED does not match its .sha256." "Fix: rebuild with ./build.sh image --arch $ARCH"
zstd -q -d "$PACKED" -o "$WORK/disk.img"
t_unpack=$(( $(date +%s) - t0 ))
ok "Checked and unpacked the image (${t_unpack}s)"

# The FAT boot partition, addressed inside the image file by mtools (no mounting).
boot_offset=$(( $(sfdisk --dump "$WORK/disk.img" | sed -n 's/^[^ ]*1 : start= *\([0-9]*\),.*/\1/p') * 512 ))
FAT="$WORK/disk.img@@$boot_offset"
export MTOOLS_SKIP_CHECK=1

# A test kit.toml, applied by the first boot when the tree has it (tpkit-firstboot.service).
KIT_TOML=no
if [ -f "$REPO/systemd/tpkit-firstboot.service" ]; then
    printf 'kit_id = "image-test-kit"\nschool_name = "%s"\n' "$SCHOOL" > "$WORK/kit.toml"
    mcopy -o -i "$FAT" "$WORK/kit.toml" ::kit.toml
    KIT_TOML=yes
    info "Wrote a test kit.toml (school_name = \"$SCHOOL\") to the boot partition"
else
    info "No tpkit-firstboot.service in this tree: no kit.toml is applied (the kit boots unprovisioned)"
fi

ip netns add "$NETNS"
ip -n "$NETNS" link set lo up
nic="user,model=virtio-net-pci,restrict=on,hostfwd=tcp:127.0.0.1:$GUEST_PORT-:80"
case $ARCH in
    amd64)
        cp "$OVMF_VARS" "$WORK/vars.fd"
        set -- -machine q35 -cpu max \
            -drive "if=pflash,format=raw,readonly=on,file=$OVMF_CODE" -drive "if=pflash,format=raw,file=$WORK/vars.fd" ;;
    arm64)
        # The Pi's firmware cannot be emulated: boot Debian's kernel from the image's FAT directly,
        # with the Pi's command line and the virt board's serial console.
        mcopy -i "$FAT" ::vmlinuz ::initrd.img ::cmdline.txt "$WORK/"
        append=$(sed -e 's/console=[^ ]*//g' "$WORK/cmdline.txt")
        set -- -machine virt -cpu cortex-a72 -kernel "$WORK/vmlinuz" -initrd "$WORK/initrd.img" \
            -append "$append console=ttyAMA0" ;;
esac
: > "$SERIAL"
t_boot=$(date +%s)
ip netns exec "$NETNS" "$QEMU" "$@" -m 1024 -smp 2 -accel tcg -display none -no-reboot -monitor none \
    -serial "file:$SERIAL" -drive "file=$WORK/disk.img,format=raw,if=virtio" -nic "$nic" &
QEMU_PID=$!
info "Booting in $QEMU (TCG, pid $QEMU_PID, netns $NETNS); serial console: $SERIAL"

answered=""
while [ $(( $(date +%s) - t_boot )) -lt "$BOOT_TIMEOUT_S" ]; do
    kill -0 "$QEMU_PID" 2>/dev/null || { tail -n 30 "$SERIAL" | sed 's/^/    | /' >&2
        fail "qemu exited before the web server answered." "Fix: read $SERIAL (the guest's console)."; }
    if ip netns exec "$NETNS" curl -fsS -m 10 -o "$WORK/home.html" "http://127.0.0.1:$GUEST_PORT/" 2>/dev/null; then
        answered=$(( $(date +%s) - t_boot ))
        break
    fi
    sleep 3
done
if [ -z "$answered" ]; then
    tail -n 30 "$SERIAL" | sed 's/^/    | /' >&2
    fail "The home page did not answer within ${BOOT_TIMEOUT_S}s of power-on." \
        "Fix: read $SERIAL; a slower machine may need TPKIT_IMAGE_BOOT_TIMEOUT_S=3000."
fi
ok "The home page answered over HTTP ${answered}s after power-on ($(wc -c < "$WORK/home.html") bytes)"
grep -q '<html' "$WORK/home.html" || fail "The answer is not an HTML page." "Fix: read $SERIAL and the page in $WORK/home.html."

if [ "$KIT_TOML" = yes ]; then
    grep -q "$SCHOOL" "$WORK/home.html" \
        || fail "The home page does not show the school name from the test kit.toml." \
            "Fix: check tpkit-firstboot.service in the guest's journal ($SERIAL)."
    ok "First boot applied the test kit.toml (the home page shows \"$SCHOOL\")"
fi
load=$(cut -d' ' -f1-3 /proc/loadavg)
printf 'arch=%s unpack_s=%s boot_to_http_s=%s kit_toml=%s load=%s\n' "$ARCH" "$t_unpack" "$answered" "$KIT_TOML" "$load" \
    > "$OUT/logs/boot-$ARCH.timings"
ok "Boot test passed: unpack ${t_unpack}s, power-on to home page ${answered}s (load $load)"
