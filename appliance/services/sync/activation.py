"""Switching books in the content folder atomically, keeping the previous version, rollback, and recovery.

A book is always `<content_dir>/<id>.zim`, replaced with os.replace, so a reader (and a power cut) sees the
old file or the new one whole. Each switch is written to SQLite as pending first (docs/sync.md). Must not import web.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from appliance.errors import SyncError
from appliance.files import file_digest, fsync_path
from appliance.paths import Paths
from appliance.storage.installed_packages import Installed, InstalledPackages

_NOT_PENDING: dict[str, Any] = dict(
    pending_action=None, pending_version=None, pending_sha256=None, pending_size_bytes=None, pending_digest=None
)


def mark_patch_failed(table: InstalledPackages, package_id: str, result_digest: str) -> None:
    """Remember that updating the book by patch to `result_digest` failed: the next plan fetches the full package."""
    row = table.get(package_id)
    if row is not None:
        table.put(dataclasses.replace(row, patch_failed_digest=result_digest))


def book_path(paths: Paths, package_id: str) -> Path:
    """Where the book of a package lives in the content folder."""
    return paths.content_dir / f"{package_id}.zim"


def _link_previous(paths: Paths, current: Path, name: str) -> str:
    """Hard-link the current book into previous/ (no copy, same disk); its file name there."""
    target = paths.sync_previous_dir / name
    target.unlink(missing_ok=True)
    os.link(current, target)
    return name


def activate(
    paths: Paths,
    table: InstalledPackages,
    package: Mapping[str, Any],
    channel: str,
    staged: Path,
    run_id: int,
    digest: str | None = None,
) -> None:
    """Put the verified `staged` file in place of the package's book; the old one is kept in previous/.

    `package` gives id, version, and the staged file's sha256 and size; `digest` its entry digest when known (a book
    rebuilt from patches is recognised by it: its file hash is its own, not the publisher's)."""
    target = book_path(paths, package["id"])
    row = table.get(package["id"]) or Installed(package["id"], channel, "", "", 0, target.name)
    table.put(
        dataclasses.replace(
            row,
            pending_action="activate",
            pending_version=package["version"],
            pending_sha256=package["sha256"],
            pending_size_bytes=package["size_bytes"],
            pending_digest=digest,
        )
    )
    fsync_path(staged)
    previous = None
    if target.exists():
        previous = _link_previous(paths, target, f"{package['id']}.run{run_id}.zim")
        fsync_path(paths.sync_previous_dir)
    os.replace(staged, target)
    fsync_path(paths.content_dir)
    kept: dict[str, Any] = (
        dict(
            previous_file=previous,
            previous_version=row.version or "local",
            previous_sha256=row.sha256 or None,
            previous_size_bytes=row.size_bytes,
            previous_digest=row.digest,
        )
        if previous
        else {}
    )
    table.put(
        dataclasses.replace(
            row,
            channel=channel,
            version=package["version"],
            sha256=package["sha256"],
            size_bytes=package["size_bytes"],
            file=target.name,
            run_id=run_id,
            digest=digest,
            patch_failed_digest=None,
            **_NOT_PENDING,
            **kept,
        )
    )
    if row.previous_file and row.previous_file != previous:
        (paths.sync_previous_dir / row.previous_file).unlink(missing_ok=True)  # one previous version per book


def remove(paths: Paths, table: InstalledPackages, package_id: str) -> None:
    """Take a package's book out of the content folder and forget it."""
    row = table.get(package_id)
    if row is None:
        return
    table.put(dataclasses.replace(row, pending_action="remove"))
    book_path(paths, package_id).unlink(missing_ok=True)
    fsync_path(paths.content_dir)
    table.delete(package_id)


def rollback(paths: Paths, table: InstalledPackages, package_id: str) -> Installed:
    """Put the previous version of a book back; the version rolled back from is held (not installed again)."""
    row = table.get(package_id)
    kept = paths.sync_previous_dir / row.previous_file if row and row.previous_file else None
    if row is None or kept is None or not kept.is_file():
        known = ", ".join(r.id for r in table.all().values() if r.previous_file) or "none"
        raise SyncError(
            f"There is no previous version of {package_id!r} to go back to (books with one: {known}).",
            code="sync.no_previous",
            cause="The book was not updated by a sync, or its previous "
            "version was cleaned up after a later successful sync.",
            fix="Check the name with `tpkit sync --history` or `ls` of the content folder; otherwise "
            "copy the old .zim back by hand into the content folder.",
        )
    if row.previous_sha256 is None:
        table.delete(package_id)  # the previous file was a book put there by hand: it is no longer managed
    else:
        table.put(
            dataclasses.replace(
                row,
                pending_action="activate",
                pending_version=row.previous_version,
                pending_sha256=row.previous_sha256,
                pending_size_bytes=row.previous_size_bytes,
                pending_digest=row.previous_digest,
            )
        )
    os.replace(kept, book_path(paths, package_id))
    fsync_path(paths.content_dir)
    if row.previous_sha256 is None:
        return row
    # previous_version and previous_size_bytes are written together with previous_sha256 (activate above)
    back = dataclasses.replace(
        row,
        version=row.previous_version,  # type: ignore[arg-type]
        sha256=row.previous_sha256,
        size_bytes=row.previous_size_bytes,  # type: ignore[arg-type]
        digest=row.previous_digest,
        held_sha256=row.sha256,
        held_digest=row.digest,
        previous_file=None,
        previous_version=None,
        previous_sha256=None,
        previous_size_bytes=None,
        previous_digest=None,
        **_NOT_PENDING,
    )
    table.put(back)
    return back


def recover(paths: Paths, table: InstalledPackages) -> list[str]:
    """Settle switches a power cut interrupted: hash the one book each touched and record what is really there."""
    settled = []
    for row in table.all().values():
        if row.pending_action is None:
            continue
        target = book_path(paths, row.id)
        sha256 = file_digest(target)[1] if target.is_file() else None
        if row.pending_action == "activate" and sha256 == row.pending_sha256:
            # a pending activation writes pending_version, _sha256 and _size_bytes together (rollback above)
            table.put(
                dataclasses.replace(
                    row,
                    version=row.pending_version,  # type: ignore[arg-type]
                    sha256=row.pending_sha256,  # type: ignore[arg-type]
                    size_bytes=row.pending_size_bytes,  # type: ignore[arg-type]
                    digest=row.pending_digest,
                    **_NOT_PENDING,
                )
            )
        elif sha256 is None or not row.sha256:
            table.delete(row.id)  # nothing of ours is in the content folder
        else:
            table.put(dataclasses.replace(row, **_NOT_PENDING))
        settled.append(row.id)
    return settled


def collect_previous(paths: Paths, table: InstalledPackages, last_ok_run: int | None) -> list[Path]:
    """Delete previous versions that have outlived one successful run after their switch, and stray files."""
    keep, deleted = set(), []
    for row in table.all().values():
        if not row.previous_file:
            continue
        if last_ok_run is not None and row.run_id is not None and row.run_id < last_ok_run:
            table.put(
                dataclasses.replace(
                    row,
                    previous_file=None,
                    previous_version=None,
                    previous_sha256=None,
                    previous_size_bytes=None,
                    previous_digest=None,
                )
            )
        else:
            keep.add(row.previous_file)
    for path in paths.sync_previous_dir.iterdir() if paths.sync_previous_dir.is_dir() else ():
        if path.name not in keep:
            path.unlink()
            deleted.append(path)
    return deleted
