"""Teachers' and students' files: the kind checked by the first bytes (not the name), a size limit, and the
file written atomically (temp file in the same folder, fsync, rename, fsync the folder) before any row names it.

Must not import web or cli. The caller commits the database row only after `store` returned.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
import uuid
from pathlib import Path
from typing import BinaryIO

from appliance.edges import images
from appliance.errors import UploadRefusedError
from appliance.files import CHUNK_BYTES, fsync_path

PARTIAL_SUFFIX = ".part"  # hidden `.<uuid>.part` files: being written, or left by a crash (never a hand-in)
PARTIAL_MAX_AGE_S = 3600  # a partial file this old is from a crash, not from another worker still writing

# kind: (media type, file name endings it may have, test on the first bytes)
KINDS = {
    "pdf": ("application/pdf", (".pdf",), lambda b: b.startswith(b"%PDF-")),
    "png": ("image/png", (".png",), lambda b: b.startswith(b"\x89PNG\r\n\x1a\n")),
    "jpeg": ("image/jpeg", (".jpg", ".jpeg", ".jfif"), lambda b: b.startswith(b"\xff\xd8\xff")),
    "gif": ("image/gif", (".gif",), lambda b: b[:6] in (b"GIF87a", b"GIF89a")),
    "webp": ("image/webp", (".webp",), lambda b: b[:4] == b"RIFF" and b[8:12] == b"WEBP"),
    "mp4": ("video/mp4", (".mp4", ".m4v", ".mov"), lambda b: b[4:8] == b"ftyp" and b[8:11] != b"M4A"),
    "m4a": ("audio/mp4", (".m4a",), lambda b: b[4:8] == b"ftyp" and b[8:11] == b"M4A"),
    "webm": ("video/webm", (".webm", ".mkv"), lambda b: b.startswith(b"\x1a\x45\xdf\xa3")),
    "mp3": (
        "audio/mpeg",
        (".mp3",),
        lambda b: b.startswith(b"ID3") or (len(b) > 1 and b[0] == 0xFF and b[1] & 0xE0 == 0xE0),
    ),
    "ogg": ("audio/ogg", (".ogg", ".oga", ".opus"), lambda b: b.startswith(b"OggS")),
    "wav": ("audio/wav", (".wav",), lambda b: b[:4] == b"RIFF" and b[8:12] == b"WAVE"),
}
LESSON_KINDS = tuple(KINDS)
PHOTO_KINDS = ("jpeg", "png", "webp", "gif")
HEAD_BYTES = 16


@dataclasses.dataclass(frozen=True)
class StoredFile:
    name: str  # the file's name in its folder: a random UUID and the kind's first ending
    media_type: str
    size_bytes: int
    sha256: str
    original_name: str
    # A camera's JPEG kept as sent in `waiting_folder` until it is shrunk (services/learning/handin_photos); its
    # size_bytes is then what it is expected to take once shrunk, its sha256 that of the bytes as sent.
    waiting: bool = False


def detect(head: bytes) -> str | None:
    """The kind of a file from its first bytes, or None when it is none the kit keeps."""
    return next((kind for kind, (_, _, test) in KINDS.items() if test(head)), None)


def store(
    source: BinaryIO,
    filename: str,
    folder: Path,
    allowed: tuple[str, ...],
    max_bytes: int,
    shrink_edge_px: int | None = None,
    waiting_folder: Path | None = None,
) -> StoredFile:
    """Copy `source` into `folder` under a new name; UploadRefusedError (and nothing left behind) when it is empty,
    larger than `max_bytes` (as sent), of a kind not `allowed`, or its name's ending does not match its bytes.
    With `shrink_edge_px`, a picture is kept scaled down to that edge and without metadata (edges/images); with
    `waiting_folder` too, a JPEG is only checked whole now (edges/images.check_jpeg) and moved there as sent, to be
    shrunk after the answer (`shrink_into`, services/learning/handin_photos)."""
    head = source.read(HEAD_BYTES)
    shown = os.path.basename(filename or "") or "the file"
    if not head:
        raise UploadRefusedError(
            f"{shown} is empty (0 bytes).",
            code="upload.empty",
            fix="Choose the file again; if it was a photo, take it again.",
        )
    kind = _checked_kind(head, shown, allowed)
    media_type, endings, _ = KINDS[kind]
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{uuid.uuid4().hex}{endings[0]}"
    partial = folder / f".{name}{PARTIAL_SUFFIX}"
    try:
        size, digest = _copy(head, source, partial, max_bytes, shown)
        expected = None
        if shrink_edge_px and waiting_folder is not None and kind == "jpeg":
            expected = images.check_jpeg(partial, shrink_edge_px, shown)
        if expected is not None and waiting_folder is not None:
            waiting_folder.mkdir(parents=True, exist_ok=True)
            os.replace(partial, waiting_folder / name)
            fsync_path(waiting_folder)
            return StoredFile(name, media_type, min(size, expected), digest, shown, waiting=True)
        if shrink_edge_px:
            size, digest = _shrink(partial, shrink_edge_px, shown)
        os.replace(partial, folder / name)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    fsync_path(folder)
    return StoredFile(name, media_type, size, digest, shown)


def _checked_kind(head: bytes, shown: str, allowed: tuple[str, ...]) -> str:
    kind = detect(head)
    ending = os.path.splitext(shown)[1].lower()
    accepted = ", ".join(e for k in allowed for e in KINDS[k][1])
    if kind is None or kind not in allowed:
        raise UploadRefusedError(
            f"{shown} is not a file the kit keeps here (its contents are not {accepted}).",
            code="upload.type_not_allowed",
            fix=f"Choose a file of one of these kinds: {accepted}.",
        )
    if ending and ending not in KINDS[kind][1]:
        raise UploadRefusedError(
            f"{shown} is named {ending} but its contents are {KINDS[kind][1][0]}.",
            code="upload.type_mismatch",
            fix="Check that this is the right file; rename it to what it really is.",
        )
    return kind


def _copy(head: bytes, source: BinaryIO, target: Path, max_bytes: int, shown: str) -> tuple[int, str]:
    digest, size = hashlib.sha256(head), len(head)
    with target.open("wb") as handle:
        handle.write(head)
        while chunk := source.read(CHUNK_BYTES):
            size += len(chunk)
            if size > max_bytes:
                raise UploadRefusedError(
                    f"{shown} is larger than {max_bytes // (1024 * 1024)} MB.",
                    code="upload.too_large",
                    fix="Make it smaller (a shorter video, a smaller photo), or ask the "
                    "technician to raise the limit in the settings.",
                )
            digest.update(chunk)
            handle.write(chunk)
        if size > max_bytes:
            raise UploadRefusedError(
                f"{shown} is larger than {max_bytes // (1024 * 1024)} MB.",
                code="upload.too_large",
                fix="Make it smaller, or ask the technician to raise the limit in the settings.",
            )
        handle.flush()
        os.fsync(handle.fileno())
    return size, digest.hexdigest()


def _shrink(partial: Path, edge_px: int, shown: str) -> tuple[int, str]:
    """Replace the complete partial file by its scaled-down copy (written and fsynced beside it); its new
    (size, sha256)."""
    smaller = partial.with_name(f"{partial.name.removesuffix(PARTIAL_SUFFIX)}.small{PARTIAL_SUFFIX}")
    try:
        with smaller.open("wb") as handle:
            images.shrink(partial, handle, edge_px, shown)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(smaller, partial)
    finally:
        smaller.unlink(missing_ok=True)
    data = partial.read_bytes()  # a few hundred KB once scaled down
    return len(data), hashlib.sha256(data).hexdigest()


def shrink_into(source: Path, target: Path, edge_px: int, shown: str) -> tuple[int, str]:
    """Write the picture at `source` to `target` scaled down and without metadata (a hidden partial file beside
    `target`, fsynced, renamed: never a torn one); its (size, sha256). The refusals of edges/images.shrink."""
    partial = target.with_name(f".{uuid.uuid4().hex}{PARTIAL_SUFFIX}")
    try:
        with partial.open("wb") as handle:
            images.shrink(source, handle, edge_px, shown)
            handle.flush()
            os.fsync(handle.fileno())
        data = partial.read_bytes()  # a few hundred KB once scaled down
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    fsync_path(target.parent)
    return len(data), hashlib.sha256(data).hexdigest()


def sweep_partial(folder: Path, now: float | None = None) -> int:
    """Delete partial files left by a crash (older than PARTIAL_MAX_AGE_S); how many were deleted."""
    now = time.time() if now is None else now
    removed = 0
    for path in folder.glob(f".*{PARTIAL_SUFFIX}") if folder.is_dir() else []:
        if now - path.stat().st_mtime > PARTIAL_MAX_AGE_S:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
