#!/bin/sh
# mmdebstrap's customize hook (images/build-image.sh, step 20): runs on the build host with the
# new root file system at $1 (proc, sys and dev mounted by mmdebstrap) and turns a Debian
# system into a kit: the tpkit user, tpkit in a venv, the overlay, fstab, no secrets.
#   rootfs-customize.sh ROOT ARCH WHEELS_DIR DISK_ID
set -eu

IMAGES=$(cd "$(dirname "$0")" && pwd)
ROOT=$1
ARCH=$2
WHEELS=$3
DISK_ID=$4

# The one initramfs: rootfs-essential.sh put update-initramfs off for the whole apt run.
rm -f "$ROOT/usr/sbin/update-initramfs"
chroot "$ROOT" dpkg-divert --local --rename --remove /usr/sbin/update-initramfs
chroot "$ROOT" update-initramfs -c -k all

# The kit's own unprivileged users, as systemd/sysusers.d/tpkit.conf names them: tpkit runs the
# web server, sync and report; tpkit-panel the status panel alone, in gpio, which owns the GPIO
# devices (files/common/etc/udev/rules.d/60-tpkit-gpio.rules), and the only user polkit lets power
# the kit off (issue 14). No password, no login shell.
chroot "$ROOT" groupadd --system gpio
chroot "$ROOT" useradd --system --user-group --home-dir /var/lib/tpkit --no-create-home \
    --shell /usr/sbin/nologin --comment "tpkit kit services" tpkit
chroot "$ROOT" useradd --system --user-group --groups gpio --home-dir / --no-create-home \
    --shell /usr/sbin/nologin --comment "tpkit status panel" tpkit-panel

# tpkit with the kit's extra (libzim, zeroconf, gpiozero, Pillow, openpyxl, defusedxml) in a venv made by the
# image's own Python, from wheels fetched on the build host for this CPU and Python 3.11 (pip cannot verify TLS
# inside the chroot, and needs no network here).
mkdir -p "$ROOT/tmp/tpkit-wheels"
cp "$WHEELS"/*.whl "$ROOT/tmp/tpkit-wheels/"
chroot "$ROOT" python3 -m venv /opt/tpkit
chroot "$ROOT" /opt/tpkit/bin/pip install --disable-pip-version-check --no-cache-dir --no-index \
    --find-links /tmp/tpkit-wheels 'tpkit[kit]'
rm -rf "$ROOT/tmp/tpkit-wheels"
ln -sf /opt/tpkit/bin/tpkit "$ROOT/usr/bin/tpkit"
chroot "$ROOT" tpkit --version

# The sync's two files outside the Python package (content-sync/): tpkit-rsync, the transfer program every sync runs
# (a mirror's, a peer kit's and a USB stick's: appliance/edges/transfer.py looks for it on PATH), and the peer
# mirror's rsyncd configuration (appliance/services/sync/peers.py reads /etc/tpkit/rsyncd-kit.conf). Without them
# every sync on a kit stopped with sync.no_transport (found by image-test --class-load, docs/image.md). Checked
# by asking the installed tpkit where they are.
install -D -m 755 "$IMAGES/../content-sync/tpkit-rsync" "$ROOT/usr/bin/tpkit-rsync"
install -D -m 644 "$IMAGES/../content-sync/rsyncd-kit.conf" "$ROOT/etc/tpkit/rsyncd-kit.conf"
chroot "$ROOT" /opt/tpkit/bin/python -c 'import sys
from appliance.edges import transfer
from appliance.services.sync import peers
found = (str(transfer.wrapper()), str(peers.rsyncd_config()))
sys.exit(0 if found == ("/usr/bin/tpkit-rsync", "/etc/tpkit/rsyncd-kit.conf") else "tpkit does not find its sync files: %s" % (found,))'

# The overlay: files shipped as they are (images/files/common, images/files/<arch> if present).
cp -R "$IMAGES/files/common/." "$ROOT/"
[ -d "$IMAGES/files/$ARCH" ] && cp -R "$IMAGES/files/$ARCH/." "$ROOT/"

# Documentation the units point at (Documentation=file:/usr/share/doc/tpkit/...).
mkdir -p "$ROOT/usr/share/doc/tpkit"
cp "$IMAGES"/../docs/*.md "$ROOT/usr/share/doc/tpkit/"

# Partitions by the image's MBR id (set per build): 1 FAT boot, 2 root, 3 people's data.
# The boot partition holds kit.toml with the Wi-Fi passphrase and enrolment token until first
# boot removes them: readable by root only. The data partition may be missing or damaged;
# nofail keeps the kit booting (and serving its content) so the status page can say so.
cat > "$ROOT/etc/fstab" <<FSTAB
# <file system>          <mount point>    <type> <options>                                  <dump> <pass>
PARTUUID=$DISK_ID-02  /                ext4   defaults,noatime,errors=remount-ro         0 1
PARTUUID=$DISK_ID-01  /boot/firmware   vfat   defaults,noatime,fmask=0077,dmask=0077     0 2
PARTUUID=$DISK_ID-03  /var/lib/tpkit   ext4   defaults,noatime,nofail                   0 2
FSTAB
mkdir -p "$ROOT/var/lib/tpkit" "$ROOT/etc/tpkit"
chroot "$ROOT" chown tpkit:tpkit /var/lib/tpkit

# No secrets and no default passwords: root is locked, SSH host keys are made on the kit
# (files/common/etc/systemd/system/ssh.service.d/), the machine id at first boot.
chroot "$ROOT" passwd --lock root
rm -f "$ROOT"/etc/ssh/ssh_host_*
printf 'uninitialized\n' > "$ROOT/etc/machine-id"
rm -f "$ROOT/var/lib/dbus/machine-id"
rm -rf "$ROOT"/var/cache/apt/*.bin "$ROOT"/var/log/*.log "$ROOT"/var/log/apt/*
