"""`tpkit report --to PATH`: the outbox written to a USB stick for a kit that never gets online.

Must not import web or cli. Layout from report_file.bundle_paths (docs/reporting.md). Every report in the
outbox is written each time (a lost stick costs nothing) and stays in the outbox, marked exported, until the
hub acknowledges it over HTTP: `tpkit hub import` is idempotent, so a report arriving twice is stored once.
Beside them goes the kit's key line (`kit.pub`, what `tpkit report --show-key` prints), so a hub that never heard
of the kit can register it from the stick (`tpkit hub kit add … --public-key-file`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from appliance.errors import StorageError
from appliance.files import fsync_path, write_atomically
from appliance.protocol import report_file
from appliance.services.reporting import kit_key
from appliance.storage import outbox

if TYPE_CHECKING:
    from appliance.services.kit import Kit


def _write_synced(path: Path, data: bytes) -> None:
    """Write `path` whole (temporary file, fsync, rename) unless it already holds exactly `data`."""
    if path.exists() and path.stat().st_size == len(data) and path.read_bytes() == data:
        return
    write_atomically(path, data, sync_folder=False)  # the folders are synced once, after all files


def key_path(folder: Path, kit_id: str) -> Path:
    return folder / report_file.BUNDLE_FOLDER / kit_id / report_file.BUNDLE_KEY_FILE


def export(kit: Kit, folder: Path, now: dt.datetime | None = None) -> int:
    """Write every report in the outbox (payload and .minisig) and the kit's key line under `folder`, synced; how
    many reports."""
    if not folder.is_dir():
        raise StorageError(
            f"{folder} is not a folder.",
            cause="The stick is not mounted there, or the path is mistyped.",
            fix="Mount the stick (lsblk shows it) and give its folder, e.g. tpkit report --to /media/usb",
        )
    sequences, folders = [], set()
    key = key_path(folder, kit.settings.kit_id)
    try:
        key.parent.mkdir(parents=True, exist_ok=True)
        _write_synced(key, (kit_key.ensure(kit.paths).public.line + "\n").encode("ascii"))
        folders.add(key.parent)
        for stored in kit.outbox.all():
            report = report_file.decode(stored.payload, f"outbox sequence {stored.sequence}")
            payload_path, signature_path = report_file.bundle_paths(folder, report)
            payload_path.parent.mkdir(parents=True, exist_ok=True)
            _write_synced(payload_path, stored.payload)
            _write_synced(signature_path, stored.signature.encode())
            folders.add(payload_path.parent)
            sequences.append(stored.sequence)
        for written in sorted(folders) + [folder / report_file.BUNDLE_FOLDER]:
            fsync_path(written)
    except OSError as exc:
        raise StorageError(
            f"Writing the reports to {folder} failed: {exc.strerror or exc}.",
            cause="The stick is full, read-only, or was pulled out.",
            fix="Free space on the stick or use another, then run tpkit report --to again; "
            "the outbox keeps every report.",
        ) from exc
    when = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with kit.db.transaction() as conn:
        outbox.mark_exported(conn, sequences, when)
    return len(sequences)
