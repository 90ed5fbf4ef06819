"""Writing files so a power cut leaves the old version or the new one, never half of one; and their digests.

Imports nothing from the package: every layer that writes people's or the kit's files uses these.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

CHUNK_BYTES = 1 << 20  # read 1 MB at a time: steady memory on a 1 GB Pi whatever the file size


def fsync_path(path: Path) -> None:
    """Flush a file's or a folder's data and metadata to the disk (for a folder: the renames and new files in it)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes, *, sync_folder: bool = True) -> None:
    """Replace `path` with `data`: a temporary file beside it, fsync, rename (then fsync the folder)."""
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    if sync_folder:
        fsync_path(path.parent)


def file_digest(path: Path) -> tuple[int, str]:
    """The size in bytes and the hex SHA-256 of a file, read in chunks."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()
