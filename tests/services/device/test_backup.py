"""Backup while the kit serves and writes, restore onto a new kit, and refusing every bad backup unchanged."""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

import httpx
import pytest

from appliance.config import load_settings
from appliance.errors import BackupError
from appliance.paths import Paths
from appliance.services.device.backup import backup, restore
from appliance.services.kit import open_kit
from appliance.services.people import auth
from appliance.web.app import create_app
from tests.conftest import LiveServer
from tests.web.test_admin import _sign_in


def _tpkit(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "appliance", *args], capture_output=True, text=True, timeout=120)


def _hand_in(kit, number: int) -> None:
    """What a hand-in does: the file first (temp, fsync, rename), then its row."""
    folder = kit.paths.uploads_dir / "homework"
    folder.mkdir(exist_ok=True)
    temporary = folder / f".photo-{number}.tmp"
    with temporary.open("wb") as handle:
        handle.write(os.urandom(2048) + str(number).encode())
        handle.flush()
        os.fsync(handle.fileno())
    temporary.rename(folder / f"photo-{number}.jpg")
    with kit.db.transaction() as conn:
        conn.execute(
            "INSERT INTO accounts (username, role, password_hash) VALUES (?, 'student', 'x')",
            (f"homework/photo-{number}.jpg",),
        )


def test_backup_of_a_busy_kit_restores_into_a_kit_that_signs_in(kit, live, tmp_path):
    password = auth.ensure_first_admin(kit.accounts)
    stop, count = threading.Event(), [0]

    def class_handing_in():
        while not stop.is_set():
            _hand_in(kit, count[0])
            count[0] += 1

    writer = threading.Thread(target=class_handing_in)
    writer.start()
    try:
        while count[0] < 20:
            time.sleep(0.01)
        made = _tpkit(
            "backup",
            str(tmp_path / "kit.tpkit-backup"),
            "--data-dir",
            str(kit.paths.data_dir),
            "--content-dir",
            str(kit.paths.content_dir),
            "--kit-id",
            "kit-0042",
        )
        with httpx.Client(base_url=live.url) as http:  # the kit kept serving during the backup
            assert http.get("/").status_code == 200
    finally:
        stop.set()
        writer.join()
    assert made.returncode == 0, made.stderr
    assert oct((tmp_path / "kit.tpkit-backup").stat().st_mode & 0o777) == "0o600"

    new_data = tmp_path / "replacement"
    done = _tpkit(
        "restore",
        str(tmp_path / "kit.tpkit-backup"),
        "--data-dir",
        str(new_data),
        "--content-dir",
        str(kit.paths.content_dir),
    )
    assert done.returncode == 0, done.stderr
    assert "kit-0042" in done.stdout
    restored = sqlite3.connect(new_data / "tpkit.sqlite3")
    names = [row[0] for row in restored.execute("SELECT username FROM accounts WHERE role = 'student'")]
    assert 20 <= len(names) <= count[0]
    for name in names:  # every hand-in the database knows is there, whole
        assert (new_data / "uploads" / name).read_bytes() == (kit.paths.uploads_dir / name).read_bytes()
    settings = load_settings(
        environ={},
        overrides={"data_dir": str(new_data), "content_dir": str(kit.paths.content_dir), "mdns_enabled": False},
    )
    replacement = open_kit(settings)
    try:
        with LiveServer(create_app(replacement)) as server, httpx.Client(base_url=server.url) as http:
            assert _sign_in(http, password).status_code == 303  # the administrator's password came back too
    finally:
        replacement.close()


@pytest.fixture
def made_backup(kit, tmp_path) -> Path:
    auth.ensure_first_admin(kit.accounts)
    _hand_in(kit, 1)
    return backup(kit.paths, kit.db, tmp_path / "b.tar", "kit-1").path


def _refused(source: Path, tmp_path: Path, code: str = "backup.invalid") -> None:
    target = tmp_path / "target"
    with pytest.raises(BackupError) as caught:
        restore(source, Paths(target, tmp_path / "content"))
    assert caught.value.code == code and caught.value.fix
    assert not target.exists() or not any(target.iterdir())
    assert not [p for p in tmp_path.iterdir() if ".restore-" in p.name]  # no staging left behind


def test_backup_refuses_cut_and_changed_files(made_backup, tmp_path):
    data = made_backup.read_bytes()
    (tmp_path / "cut.tar").write_bytes(data[: len(data) // 2])
    _refused(tmp_path / "cut.tar", tmp_path)
    changed = bytearray(data)
    changed[700] ^= 0xFF  # inside the database member
    (tmp_path / "changed.tar").write_bytes(bytes(changed))
    _refused(tmp_path / "changed.tar", tmp_path)
    (tmp_path / "junk.tar").write_bytes(b"not a backup at all")
    _refused(tmp_path / "junk.tar", tmp_path)


def _rewrite(source: Path, out: Path, extra: dict[str, bytes], manifest_change=None) -> Path:
    with tarfile.open(source) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    manifest = json.loads(members.pop("tpkit-backup.json"))
    members.update(extra)
    manifest["files"] += [
        {"name": n, "size": len(b), "sha256": hashlib.sha256(b).hexdigest()} for n, b in extra.items()
    ]
    if manifest_change:
        manifest_change(manifest, members)
    with tarfile.open(out, "w") as tar:
        for name, body in [*members.items(), ("tpkit-backup.json", json.dumps(manifest).encode())]:
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return out


def test_backup_refuses_paths_leading_out_and_files_it_never_holds(made_backup, tmp_path):
    for name in ("../escaped.txt", "/etc/evil", "uploads/../../x", "settings.toml"):
        _refused(_rewrite(made_backup, tmp_path / "hostile.tar", {name: b"boo"}), tmp_path)
        assert not (tmp_path / "escaped.txt").exists()


def test_backup_refuses_a_database_from_a_newer_tpkit(made_backup, tmp_path):
    def newer(manifest, members):
        db = tmp_path / "newer.sqlite3"
        db.write_bytes(members["tpkit.sqlite3"])
        with sqlite3.connect(db) as conn:
            conn.execute("PRAGMA user_version = 9999")
        members["tpkit.sqlite3"] = db.read_bytes()
        for entry in manifest["files"]:
            if entry["name"] == "tpkit.sqlite3":
                entry["size"] = len(members["tpkit.sqlite3"])
                entry["sha256"] = hashlib.sha256(members["tpkit.sqlite3"]).hexdigest()

    _refused(_rewrite(made_backup, tmp_path / "newer.tar", {}, newer), tmp_path, "backup.too_new")


def test_backup_never_overwrites_and_restore_keeps_the_replaced_folder(kit, made_backup, tmp_path):
    with pytest.raises(BackupError) as caught:
        backup(kit.paths, kit.db, made_backup, "kit-1")
    assert caught.value.code == "backup.exists"
    with pytest.raises(BackupError, match="inside the data folder"):
        backup(kit.paths, kit.db, kit.paths.data_dir / "b.tar", "kit-1")
    target = tmp_path / "busy"
    (target / "uploads").mkdir(parents=True)
    (target / "uploads" / "keep.txt").write_text("teacher's file")
    with pytest.raises(BackupError) as caught:
        restore(made_backup, Paths(target, tmp_path / "content"))
    assert caught.value.code == "backup.not_empty"
    restore(made_backup, Paths(target, tmp_path / "content"), force=True)
    replaced = [p for p in tmp_path.iterdir() if p.name.startswith("busy.replaced-")]
    assert len(replaced) == 1 and (replaced[0] / "uploads" / "keep.txt").read_text() == "teacher's file"
    assert (target / "uploads" / "homework" / "photo-1.jpg").exists()
