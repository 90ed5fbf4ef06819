"""`tpkit export`, `tpkit import [--device]` and `tpkit mirror` as a technician (or the udev-started unit) runs them."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from appliance.cli import main
from appliance.files import file_digest
from tests.conftest import make_book
from tests.mirror import Mirror

FAKE_MOUNT = """#!/bin/sh
# A stand-in for mount(8): records its arguments and puts the prepared stick's files at the mount point.
printf '%s\\n' "mount $*" >> "$FAKE_MOUNT_LOG"
for last in "$@"; do :; done
cp -R "$FAKE_STICK"/. "$last"
"""
FAKE_UMOUNT = """#!/bin/sh
# A stand-in for umount(8): records its arguments and empties the mount point as a real unmount would.
printf '%s\\n' "umount $*" >> "$FAKE_MOUNT_LOG"
find "$1" -mindepth 1 -delete
"""


@pytest.fixture
def county(tmp_path):
    mirror = Mirror(tmp_path / "mirror", tmp_path / "keys")
    mirror.book("water_en")
    mirror.publish()
    return mirror


def kit_env(monkeypatch, tmp_path, name, county, **extra):
    for key, value in {
        "DATA_DIR": tmp_path / name,
        "SYNC_CHANNELS": "primary-en",
        "TRUSTED_CHANNEL_KEYS": county.pub,
        "DISK_RESERVE_MB": 1,
        "LOG_LEVEL": "warning",
        "SYNC_SOURCE": "",
        **extra,
    }.items():
        monkeypatch.setenv(f"TPKIT_{key}", str(value))


def test_cli_export_then_import_on_an_offline_kit(county, tmp_path, monkeypatch, capsys):
    kit_env(monkeypatch, tmp_path, "a", county, SYNC_SOURCE=county.root)
    assert main(["sync"]) == 0
    stick = tmp_path / "stick"
    stick.mkdir()
    assert main(["export", str(stick)]) == 0
    out = capsys.readouterr().out
    assert "[✓] primary-en sequence 1: signed index and 1 book(s)" in out and "tpkit import" in out
    make_book(stick, "Our Village", title="Our village")  # a teacher adds her own book to the stick
    kit_env(monkeypatch, tmp_path, "b", county)
    assert main(["import", str(stick)]) == 0
    out = capsys.readouterr().out
    assert "[✓] Channels primary-en: 1 added" in out
    assert "[✓] Our Village.zim: waiting for approval as our_village (unsigned)" in out
    assert "/admin/books" in out and "tpkit books enable ID" in out
    content = tmp_path / "b" / "content"
    assert sorted(p.name for p in content.iterdir()) == ["water_en.zim"]  # the unsigned book waits
    assert main(["books", "waiting"]) == 0
    out = capsys.readouterr().out
    assert "[i] 1: Our village (eng," in out and f"from the USB stick {stick} (Our Village.zim)" in out
    assert main(["books", "enable", "1"]) == 0
    assert "[✓] Our village is served as /content/our_village/ (local channel, unsigned)" in capsys.readouterr().out
    assert sorted(p.name for p in content.iterdir()) == ["our_village.zim", "water_en.zim"]
    assert main(["books", "reject", "1"]) == 1
    assert "No book with number 1 is waiting for approval" in capsys.readouterr().err


def test_cli_import_refusals_exit_1_with_the_fix(county, tmp_path, monkeypatch, capsys):
    kit_env(monkeypatch, tmp_path, "b", county)
    stick = tmp_path / "stick"
    stick.mkdir()
    (stick / "broken.zim").write_bytes(b"not a book" * 100)
    assert main(["import", str(stick)]) == 1
    out = capsys.readouterr().out
    assert "[✗] broken.zim: refused: libzim's check failed" in out and "    Fix: copy the book" in out
    assert main(["import", str(tmp_path / "nowhere")]) == 1
    err = capsys.readouterr().err
    assert "is not a folder" in err and "Fix:" in err


def test_cli_export_without_channels_says_what_to_do(county, tmp_path, monkeypatch, capsys):
    kit_env(monkeypatch, tmp_path, "a", county)
    (tmp_path / "stick").mkdir()
    assert main(["export", str(tmp_path / "stick")]) == 1
    err = capsys.readouterr().err
    assert "no channel to export" in err and "run `tpkit sync` or `tpkit import` first" in err


def test_cli_a_book_updated_by_patch_goes_on_by_stick_and_comes_in_whole(county, tmp_path, monkeypatch, capsys):
    """Issue 21: kit A updates water_en by patch; its export writes its rebuild; kit B imports it whole, saying why."""
    import shutil

    previous = tmp_path / "published-before"
    shutil.copytree(county.folder(), previous, ignore=shutil.ignore_patterns("index*"))
    kit_env(monkeypatch, tmp_path, "a", county, SYNC_SOURCE=county.root)
    assert main(["sync"]) == 0
    stick = tmp_path / "stick"
    stick.mkdir()
    assert main(["export", str(stick)]) == 0
    kit_env(monkeypatch, tmp_path, "b", county)
    assert main(["import", str(stick)]) == 0
    county.book("water_en", body="<p>The new edition.</p>")
    county.publish(previous_dir=previous)
    kit_env(monkeypatch, tmp_path, "a", county, SYNC_SOURCE=county.root)
    capsys.readouterr()
    assert main(["sync"]) == 0
    assert "water_en by 1 patch(es)" in capsys.readouterr().out
    assert main(["export", str(stick)]) == 0
    out = capsys.readouterr().out
    assert "[✓] primary-en sequence 2: signed index and 1 book(s)" in out and "not exported" not in out
    kit_env(monkeypatch, tmp_path, "b", county)
    assert main(["import", str(stick)]) == 0
    out = capsys.readouterr().out
    assert "[✓] Channels primary-en: 0 added, 1 updated" in out
    assert "[i] water_en as the full package: the stick does not carry the patch from " in out


def test_cli_import_device_mounts_read_only_nosuid_nodev_noexec_then_unmounts(county, tmp_path, monkeypatch, capsys):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("mount", FAKE_MOUNT), ("umount", FAKE_UMOUNT)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(stat.S_IRWXU)
    prepared = tmp_path / "prepared-stick"
    book = make_book(prepared, "maps", title="Maps")
    log = tmp_path / "mount.log"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_STICK", str(prepared))
    monkeypatch.setenv("FAKE_MOUNT_LOG", str(log))
    kit_env(monkeypatch, tmp_path, "b", county)
    assert main(["import", "--device", "/dev/sdz1"]) == 0
    assert "[✓] maps.zim: waiting for approval as maps" in capsys.readouterr().out
    mount_line, umount_line = log.read_text().splitlines()
    words = mount_line.split()
    assert words[:4] == ["mount", "-o", "ro,nosuid,nodev,noexec", "/dev/sdz1"]
    assert umount_line == f"umount {words[4]}" and not os.path.exists(words[4])  # private folder removed after
    assert main(["books", "waiting"]) == 0
    assert "from the USB stick /dev/sdz1 (maps.zim)" in capsys.readouterr().out
    assert main(["books", "enable", "1"]) == 0
    assert file_digest(tmp_path / "b" / "content" / "maps.zim") == file_digest(book)
    assert main(["import", "--device", "/dev/../etc/passwd"]) == 1
    assert "not a device path under /dev" in capsys.readouterr().err


def test_cli_mirror_serve_with_port_0_says_so_and_exits_0(county, tmp_path, monkeypatch, capsys):
    kit_env(monkeypatch, tmp_path, "a", county)
    assert main(["mirror", "serve"]) == 0
    assert "mirror_port is 0: this kit is not a peer mirror" in capsys.readouterr().out


@pytest.mark.skipif(os.geteuid() != 0, reason="handing files back from root needs root (the unit runs as root)")
def test_cli_import_as_root_hands_what_it_wrote_back_to_the_data_folders_owner(county, tmp_path, monkeypatch, capsys):
    data = tmp_path / "b"
    data.mkdir()
    os.chown(data, 65534, 65534)  # the tpkit user of a kit; here "nobody"
    kit_env(monkeypatch, tmp_path, "b", county)
    stick = tmp_path / "stick"
    make_book(stick, "maps", title="Maps")
    assert main(["import", str(stick)]) == 0
    assert main(["books", "enable", "1"]) == 0
    owners = {(p.stat().st_uid, p.stat().st_gid) for p in data.rglob("*")}
    assert owners == {(65534, 65534)} and (data / "content" / "maps.zim").is_file()
    assert (data / "tpkit.sqlite3").is_file()


def test_cli_import_device_mounts_a_real_ext4_stick_on_a_loop_device(county, tmp_path, monkeypatch, capsys):
    """The real mount(8): an ext4 image (made with mkfs.ext4 -d, no mount needed) on a loop device."""
    import shutil
    import subprocess

    content = tmp_path / "stick-files"
    shutil.copytree(county.root, content / "tpkit")
    make_book(content, "our_village", title="Our village")
    image = tmp_path / "stick.img"
    image.write_bytes(b"")
    os.truncate(image, 16 << 20)
    made = subprocess.run(["mkfs.ext4", "-q", "-d", str(content), str(image)], capture_output=True, text=True)
    loop = subprocess.run(["losetup", "-f", "--show", str(image)], capture_output=True, text=True)
    if made.returncode != 0 or loop.returncode != 0:
        pytest.skip(f"no mkfs.ext4 -d or loop device here: {made.stderr.strip()} {loop.stderr.strip()}")
    device = loop.stdout.strip()
    try:
        kit_env(monkeypatch, tmp_path, "b", county)
        assert main(["import", "--device", device]) == 0
        out = capsys.readouterr().out
        assert f"[i] {device} mounted read-only at" in out and "[✓] Channels primary-en: 1 added" in out
        assert "[✓] our_village.zim: waiting for approval as our_village (unsigned)" in out
        mount_point = out.split("mounted read-only at ", 1)[1].split()[0]
        assert not os.path.exists(mount_point) and mount_point not in Path("/proc/mounts").read_text()
        assert sorted(p.name for p in (tmp_path / "b" / "content").iterdir()) == ["water_en.zim"]
        assert (tmp_path / "b" / "books-waiting").is_dir() and len(
            list((tmp_path / "b" / "books-waiting").iterdir())
        ) == 1
    finally:
        subprocess.run(["losetup", "-d", device], check=True)
