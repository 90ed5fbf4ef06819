#!/bin/sh
# Builds a flashable tpkit image from Debian bookworm packages, without mounting anything
# (no loop devices, no vfat module, no device-mapper here): mmdebstrap into a directory,
# ext4 by `mke2fs -d`, FAT by `mkfs.vfat` + `mcopy`, an MBR by sfdisk, partitions by dd.
#   images/build-image.sh --arch amd64|arm64 [--keep-work]
# Steps log Begin/End with timings to the terminal, details to images/out/logs/build-ARCH.log.
# Exit codes: 0 built, 1 a step failed (it says which and why), 2 a tool is missing, 64 usage.
set -eu

IMAGES=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$IMAGES/.." && pwd)
OUT=$IMAGES/out
SUITE=bookworm
# Partition sizes (MiB). The FAT partition holds the kernel, initramfs and Pi firmware
# (~60 MiB) with room for a kernel update; the data partition is small in the image and
# grown to fill the card at first boot (docs/image.md). 4 MiB alignment suits SD cards.
OFFSET_MIB=4
BOOT_MIB=256
DATA_MIB=256

ok() { printf '[✓] %s\n' "$*"; }
info() { printf '[i] %s\n' "$*"; }
fail() { printf '[✗] %s\n' "$1" >&2; shift; for line in "$@"; do printf '    %s\n' "$line" >&2; done; exit "${EXIT_CODE:-1}"; }
usage() { printf 'usage: ./build.sh image --arch amd64|arm64 [--keep-work]\n' >&2; exit 64; }

ARCH=""
KEEP_WORK=no
while [ $# -gt 0 ]; do
    case $1 in
        --arch) [ $# -ge 2 ] || usage; ARCH=$2; shift 2 ;;
        --keep-work) KEEP_WORK=yes; shift ;;
        *) usage ;;
    esac
done
case $ARCH in
    amd64) PY_PLATFORM=x86_64; PART1_TYPE=ef ;;
    arm64) PY_PLATFORM=aarch64; PART1_TYPE=c ;;
    *) usage ;;
esac

# Checked before anything is written: the log lives under images/out/.
[ "$(id -u)" -eq 0 ] || EXIT_CODE=2 fail "Building an image needs root (mmdebstrap's chroot, file ownership in mke2fs -d)." \
    "Fix: sudo ./build.sh image --arch $ARCH"

# Work files live outside the repository: setuptools walks every file under the repository
# when it installs tpkit for the tests, and a root file system with /proc mounted never ends.
WORK_ROOT=${TPKIT_IMAGE_WORK:-/var/tmp/tpkit-image}
WORK=$WORK_ROOT/$ARCH
ROOTFS=$WORK/rootfs
WHEELS=$WORK/wheels
BOOTDIR=$WORK/boot
LOG=$OUT/logs/build-$ARCH.log
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' "$REPO/pyproject.toml")
NAME=tpkit-$VERSION-$ARCH
mkdir -p "$OUT/logs" "$WORK"
: > "$LOG"

# step NN-name FUNCTION WHY: run one step with its output in the log; on failure say which step
# failed and why (WHY, or what the step wrote with `because`), show the end of its log, exit 1.
# The step runs as a background subshell so that `set -e` holds inside it (POSIX ignores -e in
# anything tested by if, && or ||).
step() {
    started=$(date +%s)
    rm -f "$WORK/why"
    info "Begin $1"
    printf '\n==== Begin %s (%s)\n' "$1" "$(date -u +%H:%M:%SZ)" >> "$LOG"
    ( "$2" ) >> "$LOG" 2>&1 &
    status=0
    wait $! || status=$?
    took=$(( $(date +%s) - started ))
    if [ "$status" -eq 0 ]; then
        printf '==== End %s (%ss)\n' "$1" "$took" >> "$LOG"
        printf '%s %s\n' "$1" "$took" >> "$WORK/timings"
        ok "End $1 (${took}s)"
        return 0
    fi
    printf '==== Failed %s (%ss, exit %s)\n' "$1" "$took" "$status" >> "$LOG"
    tail -n 25 "$LOG" | sed 's/^/    | /' >&2
    why=$3
    [ -s "$WORK/why" ] && why=$(cat "$WORK/why")
    EXIT_CODE=$status
    [ "$status" -eq 2 ] || EXIT_CODE=1
    fail "Step $1 failed after ${took}s: $why." "Full log: $LOG" \
         "Fix: read the lines above; rerun with ./build.sh image --arch $ARCH --keep-work to inspect $WORK."
}

# because TEXT: the reason a step failed, for step's message; returns 1.
because() { printf '%s' "$1" > "$WORK/why"; return 1; }

# --- 00 preflight: every tool, with the exact fix; as root, install what is missing ------------

need() { # need COMMAND DEBIAN_PACKAGE
    command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ] || MISSING="$MISSING $2"
}

preflight() {
    MISSING=""
    need mmdebstrap mmdebstrap; need mkfs.vfat dosfstools; need mcopy mtools; need mke2fs e2fsprogs
    need sfdisk fdisk; need zstd zstd; need bmaptool bmap-tools; need python3 python3
    [ "$ARCH" = arm64 ] && { need qemu-aarch64-static qemu-user-static; need update-binfmts binfmt-support; need arch-test arch-test; }
    python3 -c 'import venv, ensurepip' 2>/dev/null || MISSING="$MISSING python3-venv"
    if [ -n "$MISSING" ]; then
        # shellcheck disable=SC2086 # word splitting of the package list is intended
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $MISSING >/dev/null; } \
            || EXIT_CODE=2 fail "Missing tools:$MISSING; apt-get install failed." "Fix: apt-get update && apt-get install$MISSING"
        ok "Installed$MISSING"
    fi
    [ "$ARCH" = arm64 ] && binfmt_arm64
    free_mib=$(df -Pm "$WORK_ROOT" | awk 'NR==2 {print $4}')
    [ "$free_mib" -ge 6000 ] || EXIT_CODE=2 fail "Only ${free_mib} MiB free under $WORK_ROOT; a build needs about 6 GiB." \
        "Fix: free some space, or rm -rf $WORK_ROOT $OUT"
    mirror >/dev/null
    ok "Preflight: tools present, ${free_mib} MiB free, mirror $(mirror)"
}

# arm64 programs in the chroot run through qemu-user, registered with the kernel's binfmt_misc.
binfmt_arm64() {
    if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
        mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null \
            || EXIT_CODE=2 fail "binfmt_misc is not mounted and cannot be." "Fix: mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc (needs a privileged host)"
    fi
    [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
    grep -qx enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null \
        || EXIT_CODE=2 fail "arm64 programs cannot run here: binfmt for qemu-aarch64 is not enabled." \
            "Fix: apt-get install qemu-user-static binfmt-support && update-binfmts --enable qemu-aarch64"
}

# The Debian mirror this machine is configured with (TPKIT_IMAGE_MIRROR overrides).
mirror() {
    if [ -n "${TPKIT_IMAGE_MIRROR:-}" ]; then printf '%s\n' "$TPKIT_IMAGE_MIRROR"; return; fi
    found=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null \
        | sed -n -e 's/^URIs:[[:space:]]*\(http[^ ]*\/debian\)\/*$/\1/p' -e 's/^deb[[:space:]]\{1,\}\(http[^ ]*\/debian\)\/*[[:space:]]\{1,\}bookworm[[:space:]].*/\1/p' \
        | head -n 1)
    [ -n "$found" ] || EXIT_CODE=2 fail "No Debian mirror found in /etc/apt/sources.list*." \
        "Fix: TPKIT_IMAGE_MIRROR=http://deb.debian.org/debian ./build.sh image --arch $ARCH"
    printf '%s\n' "$found"
}

# --- 10 wheels: tpkit and its dependencies for the image's Python 3.11 on the target CPU ------

wheels() {
    [ -x "$WORK_ROOT/hostvenv/bin/pip" ] || python3 -m venv "$WORK_ROOT/hostvenv"
    pip=$WORK_ROOT/hostvenv/bin/pip
    rm -rf "$WHEELS"
    mkdir -p "$WHEELS"
    # From a copy of what the wheel holds: setuptools walks every file under the folder it builds.
    rm -rf "$WORK/src"
    mkdir -p "$WORK/src"
    cp -R "$REPO/pyproject.toml" "$REPO/README.md" "$REPO/appliance" "$WORK/src/"
    "$pip" wheel --disable-pip-version-check --no-deps -w "$WHEELS" "$WORK/src"
    # Compiled wheels (libzim, argon2, cryptography, uvloop…) must match the image, not this
    # host: bookworm's Python is 3.11 and its glibc 2.36. The kit's extra: libzim, zeroconf, gpiozero, Pillow, openpyxl, defusedxml.
    tpkit_wheel=$(ls "$WHEELS"/tpkit-*.whl)
    "$pip" download --disable-pip-version-check -d "$WHEELS" --only-binary=:all: \
        --implementation cp --python-version 3.11 \
        --platform "manylinux_2_36_$PY_PLATFORM" --platform "manylinux_2_28_$PY_PLATFORM" \
        --platform "manylinux_2_17_$PY_PLATFORM" --platform "manylinux2014_$PY_PLATFORM" \
        "${tpkit_wheel}[kit]"
    ls "$WHEELS"
}

# --- 20 rootfs: Debian by mmdebstrap, tpkit's venv, the overlay, users -----------------------

package_list() {
    sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$IMAGES/packages-common.list" "$IMAGES/packages-$ARCH.list" | tr '\n' ',' | sed 's/,$//'
}

rootfs() {
    # A killed mmdebstrap can leave /proc, /sys or /dev bind-mounted inside the old root file
    # system; removing it then would reach into the host's /dev.
    if grep -q " $ROOTFS/" /proc/self/mountinfo; then
        because "file systems are still mounted under $ROOTFS (an interrupted build); run: umount -R $ROOTFS/proc $ROOTFS/sys $ROOTFS/dev"
    fi
    rm -rf "$ROOTFS"
    url=$(mirror)
    security=$(printf '%s' "$url" | sed 's#/debian$#/debian-security#')
    components="main non-free-firmware"
    DISK_ID=$(cat "$WORK/disk-id")
    # The essential hook lands the initramfs settings before the kernel package is installed and
    # puts update-initramfs off; the customize hook makes the one, small initramfs.
    mmdebstrap --variant=minbase --architectures="$ARCH" --include="$(package_list)" \
        --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
        --aptopt='Acquire::Retries "3"' \
        --essential-hook="'$IMAGES/rootfs-essential.sh' \"\$1\"" \
        --customize-hook="'$IMAGES/rootfs-customize.sh' \"\$1\" '$ARCH' '$WHEELS' '$DISK_ID'" \
        "$SUITE" "$ROOTFS" \
        "deb $url $SUITE $components" "deb $url $SUITE-updates $components" "deb $security $SUITE-security $components"
    ls "$ROOTFS"/boot/initrd.img-* >/dev/null || because "the kernel's initramfs was not made"
}

# --- 30 units: everything under systemd/, enabled per images/units.list ----------------------

units() {
    "$IMAGES/install-units.sh" "$ROOTFS"
}

# --- 40 boot files: what goes on the FAT partition -------------------------------------------

one_file() { # one_file GLOB...: the single file matching, or fail
    if [ $# -ne 1 ] || [ ! -f "$1" ]; then because "expected exactly one file, found: $*"; fi
    printf '%s\n' "$1"
}

bootfiles() {
    rm -rf "$BOOTDIR"
    mkdir -p "$BOOTDIR"
    DISK_ID=$(cat "$WORK/disk-id")
    kernel=$(one_file "$ROOTFS"/boot/vmlinuz-*) && initrd=$(one_file "$ROOTFS"/boot/initrd.img-*) || return 1
    cp "$kernel" "$BOOTDIR/vmlinuz"
    cp "$initrd" "$BOOTDIR/initrd.img"
    # The kit's root by partition id: it never changes with the disk's name (mmcblk0, sda, vda).
    cmdline="root=PARTUUID=$DISK_ID-02 rootfstype=ext4 rootwait fsck.repair=yes quiet"
    "bootfiles_$ARCH"
    cp "$IMAGES/files/boot/README.txt" "$BOOTDIR/README.txt"
    ls -l "$BOOTDIR"
}

# PC / VM: systemd-boot as the UEFI removable-media loader, kernel and initramfs beside it.
bootfiles_amd64() {
    mkdir -p "$BOOTDIR/EFI/BOOT" "$BOOTDIR/loader/entries"
    cp "$ROOTFS/usr/lib/systemd/boot/efi/systemd-bootx64.efi" "$BOOTDIR/EFI/BOOT/BOOTX64.EFI"
    printf 'default tpkit.conf\ntimeout 0\neditor no\n' > "$BOOTDIR/loader/loader.conf"
    printf 'title tpkit\nlinux /vmlinuz\ninitrd /initrd.img\noptions %s console=tty0 console=ttyS0,115200\n' \
        "$cmdline" > "$BOOTDIR/loader/entries/tpkit.conf"
}

# Raspberry Pi: the GPU firmware reads config.txt, loads Debian's kernel, initramfs and the
# board's device tree (upstream names, hence upstream_kernel=1), and passes cmdline.txt.
bootfiles_arm64() {
    cp -R "$ROOTFS"/usr/lib/raspi-firmware/. "$BOOTDIR/"
    dtbs=$(one_file "$ROOTFS"/usr/lib/linux-image-*/broadcom/bcm2711-rpi-4-b.dtb) || return 1
    cp "$(dirname "$dtbs")"/*.dtb "$BOOTDIR/"
    cp "$IMAGES/files/boot/config.txt" "$BOOTDIR/config.txt"
    # raspi-firmware's initramfs hook also filled the root's /boot/firmware: that folder is the FAT
    # partition's mount point on the kit, so those copies would only hide under it.
    rm -rf "$ROOTFS"/boot/firmware/*
    printf 'console=tty0 console=ttyS1,115200 %s cma=64M\n' "$cmdline" > "$BOOTDIR/cmdline.txt"
}

# --- 50 partitions: file systems built from directories, written into one image file ----------

partitions() {
    DISK_ID=$(cat "$WORK/disk-id")
    used_mib=$(du -smx "$ROOTFS" | cut -f1)
    # A quarter more than the files, plus 256 MiB for logs, updates and ext4's own metadata.
    root_mib=$(( (used_mib * 5 / 4 + 256 + 3) / 4 * 4 ))
    tpkit_ids=$(awk -F: '$1 == "tpkit" {print $3 ":" $4}' "$ROOTFS/etc/passwd")
    [ -n "$tpkit_ids" ] || because "the tpkit user is missing from the root file system"
    rm -f "$WORK"/boot.fat "$WORK"/root.ext4 "$WORK"/data.ext4 "$WORK/$NAME.img"
    mkfs.vfat -F 32 -n TPKIT-BOOT -i "$DISK_ID" -C "$WORK/boot.fat" $((BOOT_MIB * 1024))
    MTOOLS_SKIP_CHECK=1 mcopy -s -Q -m -i "$WORK/boot.fat" "$BOOTDIR"/* ::/
    mke2fs -F -q -t ext4 -L tpkit-root -d "$ROOTFS" "$WORK/root.ext4" "${root_mib}M"
    mkdir -p "$WORK/data"
    # The data partition is made small and grown to fill the card at first boot, keeping what mke2fs chose for
    # its size: for 256 MiB an inode per 4 KiB, i.e. 1.9 GiB of inode tables on a 32 GB card, all written when
    # first boot grew it. An inode per 64 KiB (books are large; a photo is ~230 KB): 128 MiB of inode tables and
    # 524,288 files on 32 GiB. 1 KiB blocks as mke2fs chose: 4 KiB blocks wrote ~25 % more in the class-load run
    # (the journal's metadata blocks; docs/image.md, "The second cut").
    mke2fs -F -q -t ext4 -b 1024 -i 65536 -L tpkit-data -E "root_owner=$tpkit_ids" -d "$WORK/data" \
        "$WORK/data.ext4" "${DATA_MIB}M"
    data_inodes=$(dumpe2fs -h "$WORK/data.ext4" 2>/dev/null | sed -n 's/^Inode count: *//p')
    [ "${data_inodes:-0}" -le $(( DATA_MIB * 16 )) ] \
        || because "the data file system has ${data_inodes:-unknown} inodes, more than one per 64 KiB (mke2fs -i)"
    root_start=$((OFFSET_MIB + BOOT_MIB))
    data_start=$((root_start + root_mib))
    total_mib=$((data_start + DATA_MIB))
    truncate -s "${total_mib}M" "$WORK/$NAME.img"
    # MBR, not GPT: every Raspberry Pi boots from it; UEFI finds its ESP by type ef on MBR.
    sfdisk --quiet "$WORK/$NAME.img" <<EOF
label: dos
label-id: 0x$DISK_ID
unit: sectors
start=$((OFFSET_MIB * 2048)), size=$((BOOT_MIB * 2048)), type=$PART1_TYPE, bootable
start=$((root_start * 2048)), size=$((root_mib * 2048)), type=83
start=$((data_start * 2048)), size=$((DATA_MIB * 2048)), type=83
EOF
    dd if="$WORK/boot.fat" of="$WORK/$NAME.img" bs=1M seek="$OFFSET_MIB" conv=notrunc,sparse status=none
    dd if="$WORK/root.ext4" of="$WORK/$NAME.img" bs=1M seek="$root_start" conv=notrunc,sparse status=none
    dd if="$WORK/data.ext4" of="$WORK/$NAME.img" bs=1M seek="$data_start" conv=notrunc,sparse status=none
    rm -f "$WORK"/boot.fat "$WORK"/root.ext4 "$WORK"/data.ext4
    sfdisk --dump "$WORK/$NAME.img"
}

# --- 60 publish: compressed image, block map, checksums, Raspberry Pi Imager entry -------------

publish() {
    img=$WORK/$NAME.img
    rm -f "$OUT/$NAME".*
    bmaptool create -o "$OUT/$NAME.img.bmap" "$img"
    zstd -q -T0 -6 -f "$img" -o "$OUT/$NAME.img.zst"
    (cd "$OUT" && sha256sum "$NAME.img.zst" > "$NAME.img.zst.sha256")
    python3 "$IMAGES/imager_json.py" "$img" "$OUT/$NAME.img.zst" "$ARCH" "${TPKIT_IMAGE_URL:-}" > "$OUT/$NAME.rpi-imager.json"
    rm -f "$img"
    ls -l "$OUT"
}

started_all=$(date +%s)
: > "$WORK/timings"
info "Building the $ARCH image of tpkit $VERSION (log: $LOG; load: $(cut -d' ' -f1-3 /proc/loadavg))"
step 00-preflight preflight "a required tool is missing"
# A fresh MBR disk id per build: the root= and fstab entries name partitions by it.
od -An -N4 -tx4 /dev/urandom | tr -d ' \n' > "$WORK/disk-id"
step 10-wheels wheels "pip could not build or download the wheels (PyPI reachable? pip config list)"
step 20-rootfs rootfs "mmdebstrap could not build the root file system (mirror reachable? package names right?)"
step 30-units units "a unit could not be installed or enabled"
step 40-bootfiles bootfiles "the boot partition's files could not be gathered"
step 50-partitions partitions "a file system or the partition table could not be written"
step 60-publish publish "the image could not be compressed or described"
[ "$KEEP_WORK" = yes ] || rm -rf "$ROOTFS" "$BOOTDIR" "$WORK/data"
took=$(( $(date +%s) - started_all ))
printf 'total %s\n' "$took" >> "$WORK/timings"
ok "Built $OUT/$NAME.img.zst in ${took}s (load now: $(cut -d' ' -f1-3 /proc/loadavg))"
info "Flash: bmaptool copy $OUT/$NAME.img.zst /dev/sdX   (docs/image.md); boot-test: ./build.sh image-test --arch $ARCH"
