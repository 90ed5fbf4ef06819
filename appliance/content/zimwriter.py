"""The ZIM writer edge: the only module that imports libzim's writer.

Must not import storage, edges, services or web. Writes to a temporary file and renames it into
place, so a reader never sees a half-written book.
"""

from __future__ import annotations

import dataclasses
import os
import traceback
from collections.abc import Iterable
from pathlib import Path

from libzim.writer import Creator, FileProvider, Hint, Item, StringProvider

from appliance.content import compression


@dataclasses.dataclass(frozen=True)
class Entry:
    """One entry to write. `front` marks articles that titles search and random may return."""

    path: str
    title: str
    mimetype: str
    data: bytes
    front: bool = False


@dataclasses.dataclass(frozen=True)
class FileEntry:
    """An entry whose bytes libzim reads from `source` as it writes the cluster (FileProvider), so a 2 GB video
    never sits in this process's memory (media; its compression hint follows its MIME type like any entry)."""

    path: str
    title: str
    mimetype: str
    source: Path
    front: bool = False


class _Item(Item):
    def __init__(self, entry: Entry | FileEntry) -> None:
        super().__init__()
        self.entry = entry

    def get_path(self) -> str:
        return self.entry.path

    def get_title(self) -> str:
        return self.entry.title

    def get_mimetype(self) -> str:
        return self.entry.mimetype

    def get_contentprovider(self):
        if isinstance(self.entry, FileEntry):
            return FileProvider(str(self.entry.source))
        return StringProvider(self.entry.data)

    def get_hints(self) -> dict:
        return {Hint.FRONT_ARTICLE: self.entry.front, Hint.COMPRESS: compression.compressible(self.entry.mimetype)}


# Xapian keeps this many documents of a full-text index in memory before it writes them out. Its default (10,000)
# made the index the part of a rebuild's peak memory that grows with the book (docs/performance.md, "ZIM
# patches"); 500 keeps it flat at no measurable cost in time. An XAPIAN_FLUSH_THRESHOLD already set wins.
XAPIAN_FLUSH_DOCUMENTS = 500

# A metadata value: text, or (bytes, MIME type) for binary entries such as Illustration_48x48@1 (image/png).
MetadataValue = str | tuple[bytes, str]


def _create(
    tmp: Path,
    metadata: dict[str, MetadataValue],
    main_path: str | None,
    entries: Iterable[Entry | FileEntry],
    illustration_png: bytes | None,
    redirects: Iterable[tuple[str, str, str]],
    index_language: str | None,
) -> None:
    creator = Creator(str(tmp)).config_nbworkers(1)
    if index_language:
        os.environ.setdefault("XAPIAN_FLUSH_THRESHOLD", str(XAPIAN_FLUSH_DOCUMENTS))  # read when libzim opens the index
        creator.config_indexing(True, index_language)
    with creator:
        if main_path:
            creator.set_mainpath(main_path)
        for entry in entries:
            creator.add_item(_Item(entry))
        for path, title, target in redirects:
            creator.add_redirection(path, title, target, {Hint.FRONT_ARTICLE: True})
        for name, value in metadata.items():
            if isinstance(value, tuple):
                creator.add_metadata(name, value[0], value[1])
            else:
                creator.add_metadata(name, value)
        if illustration_png:
            creator.add_illustration(48, illustration_png)


def write_zim(
    out: Path,
    *,
    metadata: dict[str, MetadataValue],
    main_path: str | None,
    entries: Iterable[Entry | FileEntry],
    illustration_png: bytes | None = None,
    redirects: Iterable[tuple[str, str, str]] = (),
    index_language: str | None = "eng",
) -> Path:
    """Write a ZIM file atomically; `redirects` are (path, title, target path); no main page when `main_path` is None."""
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        _create(tmp, metadata, main_path, entries, illustration_png, redirects, index_language)
    except BaseException as exc:
        # The traceback's frames hold libzim's creator and so its open file: on a full disk the unlinked file's
        # blocks would stay taken as long as the error lives. Clearing them lets the creator go now.
        traceback.clear_frames(exc.__traceback__)
        tmp.unlink(missing_ok=True)  # an entry that cannot be read, a full disk: leave no half-written file
        raise
    with open(tmp, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, out)
    return out
