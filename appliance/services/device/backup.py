"""Backup and restore: one file holding the database, people's uploads and the kit's keys (SD cards die).

A backup is a plain POSIX tar (uploads are photos and PDFs that do not compress): `tpkit.sqlite3` (an
online copy: the kit keeps serving and writing), `uploads/…`, `keys/…`, and last `tpkit-backup.json`
listing every member with its size and SHA-256. Restoring checks all of it before anything is
visible, then swaps the data folder in with one rename. No HTTP (docs/field-guide.md, "Backup and restore").
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from appliance import __version__, strict_json
from appliance.errors import BackupError
from appliance.files import file_digest, fsync_path
from appliance.paths import Paths
from appliance.services.kit import open_database
from appliance.storage.database import Database, check_file, latest_version

FORMAT = "tpkit-backup/1"
MANIFEST = "tpkit-backup.json"
DATABASE = "tpkit.sqlite3"
FOLDERS = ("uploads", "keys")  # what of the data folder is people's or the kit's own; caches are rebuilt
CHUNK = 1 << 20  # restore copies members 1 MB at a time


@dataclasses.dataclass(frozen=True)
class Summary:
    """What a backup holds or a restore brought back."""

    path: Path
    files: int
    total_bytes: int
    schema_version: int
    created: str
    kit_id: str


def backup(
    paths: Paths, db: Database | None, target: Path, kit_id: str, *, force: bool = False, now: dt.datetime | None = None
) -> Summary:
    """Write a backup of the running kit to `target` (mode 0600: it holds password hashes and the kit's key)."""
    if target.exists() and not force:
        raise BackupError(
            f"{target} already exists; it is not overwritten.",
            code="backup.exists",
            fix="Give a new file name (the date is a good one), or add --force to replace it.",
        )
    if target.resolve().is_relative_to(paths.data_dir.resolve()):
        raise BackupError(
            f"{target} is inside the data folder {paths.data_dir}.",
            code="backup.invalid",
            fix="Write the backup to a USB stick or another disk: a backup on the same SD card dies with it.",
        )
    if db is None or not paths.database.is_file():
        raise BackupError(
            f"There is no kit database in {paths.data_dir}.",
            code="backup.invalid",
            cause="data_dir points to another folder than the one the kit uses.",
            fix="Pass the kit's data folder with --data-dir (see `tpkit check`).",
        )
    created = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    partial = target.with_name(f".{target.name}.partial")
    try:
        return _write(paths, db, target, partial, kit_id, created)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(
            f"Cannot write the backup {target}: {exc.strerror}.",
            code="backup.invalid",
            cause="The stick is full, read-only or was pulled out.",
            fix="Use a stick with more free space than the data folder (du -sh the data folder).",
        ) from exc


def _write(paths: Paths, db: Database, target: Path, partial: Path, kit_id: str, created: str) -> Summary:
    with tempfile.TemporaryDirectory(prefix=".tpkit-backup-", dir=target.parent) as work:
        copy = Path(work) / DATABASE
        db.backup_to(copy)  # first the database, then the files: every upload it names was written before its row
        ok, version = check_file(copy)
        if not ok:
            raise BackupError(
                f"The copy of the database {paths.database} fails SQLite's integrity check.",
                code="backup.invalid",
                cause="The SD card is failing or the database is damaged.",
                fix="Copy the data folder as it is to another disk now, then see docs/field-guide.md.",
            )
        members: list[tuple[str, Path]] = [(DATABASE, copy)]
        for folder in FOLDERS:
            root = paths.data_dir / folder
            for file in (
                sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
                if root.is_dir()
                else ()
            ):
                members.append((file.relative_to(paths.data_dir).as_posix(), file))
        listed: list[dict[str, Any]] = []
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            with tarfile.open(fileobj=handle, mode="w", format=tarfile.PAX_FORMAT) as tar:
                for name, source in members:
                    try:
                        size, sha256 = file_digest(source)
                        data = source.open("rb")
                    except FileNotFoundError:
                        continue  # deleted by a teacher since the listing: not in the copied database either
                    with data:
                        info = tarfile.TarInfo(name)
                        info.size, info.mode, info.mtime = size, 0o600, int(os.fstat(data.fileno()).st_mtime)
                        tar.addfile(info, data)
                    listed.append({"name": name, "size": size, "sha256": sha256})
                manifest = strict_json.dumps(
                    {
                        "format": FORMAT,
                        "created": created,
                        "kit_id": kit_id,
                        "tpkit": __version__,
                        "schema_version": version,
                        "files": listed,
                    },
                    indent=1,
                ).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mode = len(manifest), 0o600
                tar.addfile(info, io.BytesIO(manifest))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, target)
        fsync_path(target.parent)
    return Summary(target, len(listed), sum(f["size"] for f in listed), version, created, kit_id)


def _invalid(source: Path, problem: str) -> BackupError:
    return BackupError(
        f"{source} cannot be restored: {problem}.",
        code="backup.invalid",
        cause="The file was cut during the copy, changed, or is not a tpkit backup.",
        fix="Copy the backup again from where it was made, or use an older backup; nothing was changed.",
    )


def _safe_name(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return (
        bool(parts)
        and not PurePosixPath(name).is_absolute()
        and ".." not in parts
        and (name == DATABASE or parts[0] in FOLDERS)
        and len(parts) <= 16
    )


def _read_manifest(tar: tarfile.TarFile, source: Path) -> dict[str, Any]:
    try:
        member = tar.getmember(MANIFEST)
        raw = tar.extractfile(member).read(1 << 24) if member.isfile() else b""  # type: ignore[union-attr]  # a file
        manifest = json.loads(raw)
    except (KeyError, json.JSONDecodeError, UnicodeDecodeError, AttributeError) as exc:
        raise _invalid(source, "its list of files (tpkit-backup.json) is missing or unreadable") from exc
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") != FORMAT
        or not isinstance(manifest.get("files"), list)
    ):
        raise _invalid(source, f"it is not a {FORMAT} file")
    return manifest


def restore(source: Path, paths: Paths, *, force: bool = False, now: dt.datetime | None = None) -> Summary:
    """Check the backup `source` whole, then make it the kit's data folder. The old one, if any (only with
    `force`), is kept beside it as `<data_dir>.replaced-<time>`. Stop the web server first."""
    target = paths.data_dir
    if target.exists() and any(target.iterdir()) and not force:
        raise BackupError(
            f"The data folder {target} is not empty.",
            code="backup.not_empty",
            cause="Restoring would replace this kit's accounts and work.",
            fix="Restore into an empty data folder (a new kit), or add --force: the current folder is "
            "then kept beside it, renamed, not deleted.",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.restore-", dir=target.parent))
    try:
        summary = _unpack(source, staging)
        stamp = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
        if target.exists():
            if any(target.iterdir()):
                target.rename(target.with_name(f"{target.name}.replaced-{stamp}"))
            else:
                target.rmdir()
        staging.rename(target)
        fsync_path(target.parent)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    open_database(paths).close()  # the restored database brought to this version's schema
    return dataclasses.replace(summary, path=target)


def _unpack(source: Path, staging: Path) -> Summary:
    try:
        tar = tarfile.open(source, mode="r:")  # noqa: SIM115 (closed by `with tar:` below, outside this try)
    except (OSError, tarfile.TarError) as exc:
        raise _invalid(source, f"it is not a readable tar file ({exc})") from exc
    with tar:
        try:
            manifest = _read_manifest(tar, source)
            expected: dict[Any, Any] = {f.get("name"): f for f in manifest["files"] if isinstance(f, dict)}
            seen = set()
            for member in tar.getmembers():
                if member.name == MANIFEST:
                    continue
                if not member.isfile() or not _safe_name(member.name) or member.name not in expected:
                    raise _invalid(source, f"it holds {member.name!r}, which a backup never holds")
                out = staging / member.name
                out.parent.mkdir(parents=True, exist_ok=True)
                digest, size = hashlib.sha256(), 0
                with tar.extractfile(member) as data, out.open("wb") as handle:  # type: ignore[union-attr]  # a file
                    while chunk := data.read(CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        handle.write(chunk)
                    handle.flush()
                    os.fsync(handle.fileno())
                if (size, digest.hexdigest()) != (
                    expected[member.name].get("size"),
                    expected[member.name].get("sha256"),
                ):
                    raise _invalid(source, f"{member.name} does not match its size and SHA-256 in the list")
                seen.add(member.name)
        except (OSError, tarfile.TarError, EOFError) as exc:
            raise _invalid(source, f"reading it failed ({exc})") from exc
    missing = sorted(set(expected) - seen)
    if missing or DATABASE not in seen:
        raise _invalid(source, f"files listed in it are missing: {', '.join(missing or [DATABASE])}")
    ok, version = check_file(staging / DATABASE)
    if not ok:
        raise _invalid(source, "its database fails SQLite's integrity check")
    if version > latest_version():
        raise BackupError(
            f"{source} was made by a newer tpkit (database version {version}; this one knows up to "
            f"{latest_version()}).",
            code="backup.too_new",
            fix=f"Install tpkit {manifest.get('tpkit', 'of that version')} or newer, then restore again.",
        )
    return Summary(
        source,
        len(seen),
        sum(expected[name]["size"] for name in seen),
        version,
        str(manifest.get("created", "")),
        str(manifest.get("kit_id", "")),
    )
