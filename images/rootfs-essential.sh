#!/bin/sh
# mmdebstrap's essential hook (images/build-image.sh, step 20): runs on the build host with the
# new root file system at $1, after the essential packages and before the rest (the kernel among
# them) are installed.
#   rootfs-essential.sh ROOT
set -eu

IMAGES=$(cd "$(dirname "$0")" && pwd)
ROOT=$1

mkdir -p "$ROOT/boot/firmware"

# The initramfs settings land before the kernel package, so the initramfs is the small one
# (files/initramfs/: MODULES=list, zstd).
cp -R "$IMAGES/files/initramfs/." "$ROOT/"

# One initramfs, made once. In one apt run the kernel's postinst makes it, and initramfs-tools'
# trigger (activated by udev, busybox, raspi-firmware...) makes it again, several times: four
# generations, ~18 min of the arm64 build under qemu-user emulation. Until rootfs-customize.sh
# undoes this, update-initramfs is diverted to a stand-in that says so and does nothing;
# rootfs-customize.sh then makes the one initramfs. (raspi-firmware's kernel hook finds no initrd
# meanwhile and leaves /boot/firmware alone; the build copies the boot files itself, step 40.)
chroot "$ROOT" dpkg-divert --local --rename --divert /usr/sbin/update-initramfs.tpkit-build \
    --add /usr/sbin/update-initramfs
cat > "$ROOT/usr/sbin/update-initramfs" <<'STANDIN'
#!/bin/sh
echo "update-initramfs $*: put off until the image's customize step (tpkit build)"
STANDIN
chmod 0755 "$ROOT/usr/sbin/update-initramfs"
