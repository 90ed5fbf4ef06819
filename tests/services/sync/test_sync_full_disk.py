"""A full disk under `tpkit sync`, `tpkit check` and an update by patch (issue 21, item 6): a clear message in the
error family (en and zh), never a traceback, and nothing left half-done.

The kit's data and content folders are on a real small filesystem: a tmpfs of a few MB mounted in a mount namespace
the test makes with `unshare` (root on CI; skipped with the reason elsewhere). A sleeping process keeps the namespace;
tpkit runs inside it with `nsenter`, and the test reads its files through /proc/<pid>/root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.config import as_environment
from appliance.files import file_digest
from tests.mirror import Mirror, kit_settings

DISK_KB = 6 * 1024
MOUNT = Path("/mnt/tpkit-small-disk")
NOISE = os.urandom(1500 * 1024)  # the book's bulk, the same in every version: a patch carries only the edit


class SmallDisk:
    """A tmpfs of `size_kb` at MOUNT, seen only by the processes of a mount namespace of its own."""

    def __init__(self, size_kb: int) -> None:
        for tool in ("unshare", "nsenter"):
            if shutil.which(tool) is None:
                pytest.skip(f"{tool} (util-linux) is not installed: no mount namespace for a small disk")
        script = f"mkdir -p {MOUNT} && mount -t tmpfs -o size={size_kb}k tmpfs {MOUNT} && echo ready && exec sleep 600"
        self.keeper = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        said = self.keeper.stdout.readline() if self.keeper.stdout else ""
        if said.strip() != "ready":
            why = self.keeper.communicate(timeout=10)[1].strip()  # it ended: waited for, pipes closed
            pytest.skip(f"cannot mount a small tmpfs in a mount namespace (needs root or CAP_SYS_ADMIN): {why}")

    def seen(self, path: Path) -> Path:
        """`path` inside the namespace, as this process reaches it."""
        return Path(f"/proc/{self.keeper.pid}/root") / path.relative_to("/")

    def free_bytes(self) -> int:
        stat = os.statvfs(self.seen(MOUNT))
        return stat.f_bavail * stat.f_frsize

    def fill(self, leave_bytes: int) -> Path:
        """Write a filler file until only about `leave_bytes` stay free."""
        filler = self.seen(MOUNT / "filler")
        with filler.open("ab") as out:
            while (room := self.free_bytes() - leave_bytes) > 0:
                try:
                    out.write(b"\0" * min(room, 256 * 1024))
                    out.flush()
                except OSError:
                    break  # full
        return filler

    def run(self, *argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """A command run inside the namespace."""
        return subprocess.run(
            # --root --wd: the keeper's root and folder, not the mount namespace's own root (CI runs the suite
            # chrooted in a fresh Debian root, where the namespace's root is the host's and has no .venv)
            ["nsenter", f"--target={self.keeper.pid}", "--mount", "--root", "--wd", "--", *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def tpkit(self, settings, *argv: str) -> subprocess.CompletedProcess:
        environment = {**os.environ, **as_environment(settings), "TPKIT_LOG_LEVEL": "error"}
        return self.run(sys.executable, "-m", "appliance", *argv, env=environment)

    def close(self) -> None:
        self.keeper.kill()
        self.keeper.communicate()  # waits, and closes its pipes


@pytest.fixture
def disk():
    small = SmallDisk(DISK_KB)
    yield small
    small.close()


def small_kit(mirror: Mirror, **overrides):
    """A kit whose data and content folders are on the small disk, syncing from the mirror's folder."""
    settings = kit_settings(MOUNT, str(mirror.root), mirror, **overrides)
    return settings


def said_plainly(done: subprocess.CompletedProcess) -> str:
    """What a failed command told: asserted to be the error family's form, not a traceback."""
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout, done.stderr
    assert "[✗]" in done.stderr and "Fix:" in done.stderr, done.stderr
    return done.stderr


def patch_failed_digest(disk: SmallDisk, settings, book: str) -> str:
    """The installed row's mark, read inside the namespace (SQLite does not open a database through /proc/PID/root)."""
    code = (
        "import sys; from pathlib import Path; from appliance.storage.database import Database; "
        "from appliance.storage.installed_packages import InstalledPackages; "
        "print(InstalledPackages(Database(Path(sys.argv[1]))).get(sys.argv[2]).patch_failed_digest)"
    )
    done = disk.run(sys.executable, "-c", code, str(settings.data_dir / "tpkit.sqlite3"), book)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.timeout(180)
def test_sync_and_check_on_a_full_disk_say_so_and_what_to_free(disk, mirror):
    mirror.book("water_en")
    mirror.publish()
    settings = small_kit(mirror)
    assert disk.tpkit(settings, "sync").returncode == 0  # the database and the book are on the small disk now
    mirror.book("moon_en", title="Moon")
    mirror.publish()
    filler = disk.fill(leave_bytes=0)

    for argv in (("sync",), ("check",)):
        text = said_plainly(disk.tpkit(settings, *argv))
        assert "is full" in text and "Free" in text and "MB" in text, text

    filler.unlink()  # space freed: the next run does what the failed one could not
    assert disk.tpkit(settings, "sync").returncode == 0
    assert disk.seen(settings.content_dir / "moon_en.zim").is_file()


@pytest.mark.timeout(180)
def test_a_rebuild_that_outgrows_the_disk_is_undone_marked_and_the_old_book_kept(tmp_path, disk, mirror):
    previous = tmp_path / "published-before"
    previous.mkdir()
    old = mirror.book("big_en", body="first edition", noise=NOISE)
    mirror.publish()
    shutil.copy2(old, previous / old.name)
    settings = small_kit(mirror, disk_reserve_mb=0)
    assert disk.tpkit(settings, "sync").returncode == 0
    book = disk.seen(settings.content_dir / "big_en.zim")
    first = file_digest(book)[1]

    mirror.book("big_en", body="second edition", noise=NOISE)
    mirror.publish(previous_dir=previous)

    def understate(data: dict) -> None:  # the disk check then lets through a rebuild that cannot fit
        for package in data["packages"]:
            if package.get("kind", "full") == "full" and package["id"] == "big_en":
                package["size_bytes"] = 4096

    mirror.resign(understate)
    filler = disk.fill(leave_bytes=700 * 1024)  # the patch fits, the rebuilt 1.5 MB book does not

    text = said_plainly(disk.tpkit(settings, "sync"))
    assert "filled while rebuilding big_en" in text and "Free space" in text, text
    assert "has 0.0 MB free" not in text  # the unfinished book's blocks were given back before the message was made
    assert file_digest(book)[1] == first  # the library still serves the old book
    staging = disk.seen(settings.data_dir / "sync" / "staging")
    assert not [p for p in staging.rglob("*") if p.is_file() and "big_en" in p.name]  # no patch, no rebuild left
    assert not [p for p in disk.seen(settings.content_dir).iterdir() if p.name != "big_en.zim"]

    filler.unlink()
    assert patch_failed_digest(disk, settings, "big_en") not in ("", "None")  # the next run fetches the full book
    mirror.publish(previous_dir=previous)  # the sizes as they are again, for the full download's check
    done = disk.tpkit(settings, "sync")
    assert done.returncode == 0, done.stderr
    assert file_digest(book)[1] == file_digest(mirror.folder() / "big_en.zim")[1]  # whole, not by patch again


@pytest.mark.timeout(180)
def test_a_download_that_outgrows_the_disk_is_removed_and_the_kit_keeps_working(disk, mirror):
    mirror.book("water_en")
    mirror.publish()
    settings = small_kit(mirror, disk_reserve_mb=0)
    assert disk.tpkit(settings, "sync").returncode == 0
    mirror.book("big_en", noise=NOISE)
    mirror.publish()

    def understate(data: dict) -> None:  # the disk check then lets through a download that cannot fit
        for package in data["packages"]:
            if package["id"] == "big_en":
                package["size_bytes"] = 4096

    mirror.resign(understate)
    filler = disk.fill(leave_bytes=700 * 1024)  # the 1.5 MB book does not fit

    text = said_plainly(disk.tpkit(settings, "sync"))
    assert "filled while downloading big_en" in text and "Free space" in text, text
    staging = disk.seen(settings.data_dir / "sync" / "staging")
    assert not [p for p in staging.rglob("*") if p.is_file() and "big_en" in p.name]  # its room given back
    history = disk.tpkit(settings, "sync", "--history")  # the database took the run's end: it has room again
    assert history.returncode == 0 and "disk.full" in history.stdout, history.stdout
    assert disk.seen(settings.content_dir / "water_en.zim").is_file()

    filler.unlink()
    mirror.publish()  # the sizes as they are again
    done = disk.tpkit(settings, "sync")
    assert done.returncode == 0, done.stderr
    assert (
        file_digest(disk.seen(settings.content_dir / "big_en.zim"))[1] == file_digest(mirror.folder() / "big_en.zim")[1]
    )
