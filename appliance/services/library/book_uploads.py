"""A `.zim` sent from a teacher's laptop on the 内容 page (issue 17 §3), in chunks that survive a dropped Wi-Fi or a
closed lid: the browser asks how much of its file the kit holds and sends the rest. The whole file is then checked
by libzim, like a stick's loose books, and waits for approval, unserved (services/library/approval.py).

Chunks go to `<data_dir>/book-uploads/<account>-<upload id>-<size>.part`: one teacher's upload is never another's
(the account is in the name), and the same laptop file sent again (the browser names it by its name, size and
modification time) resumes where it stopped. A part no chunk has reached for KEEP_PARTS_S is deleted.

Must not import web or cli. docs/textbook-units.md, "The 内容 page".
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import os
import re
import shutil
import time
from pathlib import Path, PurePosixPath

from appliance.config import Settings
from appliance.content import zimfile
from appliance.errors import DamagedBookError, DiskFullError, UploadRefusedError
from appliance.files import CHUNK_BYTES, fsync_path
from appliance.paths import Paths
from appliance.services.library import approval
from appliance.services.people import access
from appliance.storage.database import Database

CHUNK_MAX_BYTES = 8 * 2**20  # what the browser sends at once: a few seconds on a classroom Wi-Fi
KEEP_PARTS_S = 7 * 24 * 3600
UPLOAD_ID = re.compile(r"[0-9a-f]{16,64}")
MB = 2**20


@dataclasses.dataclass(frozen=True)
class Received:
    """How much of the file the kit holds; once whole, what was done with it (`held`)."""

    received: int
    total: int
    held: approval.Held | None = None


class UploadOffsetError(UploadRefusedError):
    """A chunk that does not start where the kit's copy ends (a chunk resent, or the kit restarted midway): the
    browser resends from `received`."""

    code = "book_upload.offset"
    status = 409

    def __init__(self, received: int) -> None:
        super().__init__(
            f"The kit holds {received} bytes of this file; the chunk does not start there.",
            fix="Send the file again from that byte (the page does this by itself).",
        )
        self.received = received


def folder(paths: Paths) -> Path:
    return paths.data_dir / "book-uploads"


def _part(paths: Paths, viewer: access.Viewer, upload_id: str, total: int) -> Path:
    if not UPLOAD_ID.fullmatch(upload_id) or total <= 0:
        raise UploadRefusedError(
            f"{upload_id!r} of {total} bytes is not an upload this page makes.",
            code="book_upload.bad_request",
            fix="Reload the 内容 page and choose the file again.",
        )
    return folder(paths) / f"{viewer['id']}-{upload_id}-{total}.part"


def _prune(paths: Paths, now: float) -> None:
    for old in folder(paths).glob("*.part"):
        try:
            if now - old.stat().st_mtime > KEEP_PARTS_S:
                old.unlink()
        except FileNotFoundError:
            pass


def received(paths: Paths, viewer: access.Viewer | None, upload_id: str, total: int) -> int:
    """How many bytes of this file the kit holds already (0 for a new one)."""
    viewer = access.require(viewer, *access.STAFF)
    part = _part(paths, viewer, upload_id, total)
    return part.stat().st_size if part.is_file() else 0


def _file_name(name: str) -> str:
    """The laptop's file name without folders; a `.zim` only."""
    plain = PurePosixPath(name.replace("\\", "/")).name.strip()
    if not plain.lower().endswith(".zim") or len(plain) > 255 or "\x00" in plain:
        raise UploadRefusedError(
            f"{plain or 'The file'} is not a .zim file.",
            code="book_upload.not_zim",
            fix="Choose a book file ending in .zim (a Kiwix book, or one made with `tpkit pack`).",
        )
    return plain


def _check_room(settings: Settings, paths: Paths, total: int) -> None:
    free = shutil.disk_usage(paths.data_dir).free
    reserve = settings.disk_reserve_mb * MB
    if free - total < reserve:
        raise DiskFullError(
            f"The book is {total / MB:.0f} MB and the kit has {free / MB:.0f} MB free, "
            f"{settings.disk_reserve_mb} MB of it kept in reserve.",
            code="book_upload.no_space",
            fix="Remove books you no longer use on the 内容 page, then send it again.",
        )


def receive_chunk(
    settings: Settings,
    db: Database,
    paths: Paths,
    viewer: access.Viewer | None,
    upload_id: str,
    name: str,
    start: int,
    total: int,
    data: bytes,
    now: float | None = None,
) -> Received:
    """Append one chunk (it must start where the kit's copy ends: UploadOffsetError otherwise); the last one has the
    whole file checked by libzim and put on the waiting list. A damaged file is deleted and refused."""
    viewer = access.require(viewer, *access.STAFF)
    plain = _file_name(name)
    part = _part(paths, viewer, upload_id, total)
    if len(data) > CHUNK_MAX_BYTES or start < 0 or start + len(data) > total:
        raise UploadRefusedError(
            f"A chunk of {len(data)} bytes at {start} does not fit a file of {total} bytes.",
            code="book_upload.bad_request",
            fix="Reload the 内容 page and choose the file again.",
        )
    folder(paths).mkdir(parents=True, exist_ok=True)
    have = part.stat().st_size if part.is_file() else 0
    if start != have:
        raise UploadOffsetError(have)
    if start == 0:
        _prune(paths, time.time() if now is None else now)
        _check_room(settings, paths, total)
    try:
        with part.open("ab") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:  # the disk filled up meanwhile (hand-ins, a sync): keep what was whole, say so
        os.truncate(part, have)
        if exc.errno != errno.ENOSPC:
            raise
        raise DiskFullError(
            "The kit's disk filled up while the book was being sent.",
            code="book_upload.no_space",
            fix="Remove books you no longer use on the 内容 page, then choose the file again to go on.",
        ) from exc
    have += len(data)
    if have < total:
        return Received(have, total)
    return Received(have, total, _hold(settings, db, viewer, part, plain))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _hold(settings: Settings, db: Database, viewer: access.Viewer, part: Path, name: str) -> approval.Held:
    from appliance.services.sync.engine import Engine  # here: a web worker starts without it (issue 15)

    try:
        zimfile.check_whole(part)
    except DamagedBookError as exc:
        part.unlink(missing_ok=True)
        raise UploadRefusedError(
            f"{name} is not a whole ZIM file: {exc.message}",
            code="book_upload.damaged",
            cause="The copy on the laptop is cut short or damaged, or it is not a ZIM.",
            fix="Copy the book onto the laptop again from its source, then send it again.",
        ) from exc
    engine = Engine(settings, db, peers={})
    engine.paths.ensure()
    with engine.locked():
        approval.settle(db, engine.paths)
        held = approval.hold(engine, part, Path(name), _sha256(part), f"{approval.UPLOADED_BY}{viewer['username']}")
    part.unlink(missing_ok=True)  # kept: renamed into the waiting folder; unchanged: not needed
    fsync_path(part.parent)
    return held
