"""The ZIM reader edge: the only module that imports libzim's reader, search and suggestion APIs.

Must not import storage, edges, services or web. Every libzim failure becomes a tpkit error here.
"""

from __future__ import annotations

import dataclasses
import mmap
import os
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

from libzim.reader import Archive, get_cluster_cache_max_size, set_cluster_cache_max_size
from libzim.search import Query, Searcher
from libzim.suggestion import SuggestionSearcher

from appliance.errors import DamagedBookError, EntryNotFoundError, NoFullTextIndexError

# Directory entries (path, title, where the bytes are) libzim keeps per book; None: libzim's own default (512).
_dirents_per_book: int | None = None


def set_cache_sizes(cluster_bytes: int, dirents_per_book: int) -> None:
    """Size libzim's caches in this process: decompressed clusters (one cache for every book, in bytes) and directory
    entries (one cache per book, for the books opened from now on)."""
    global _dirents_per_book
    set_cluster_cache_max_size(cluster_bytes)
    _dirents_per_book = dirents_per_book


def cluster_cache_bytes() -> int:
    """The size libzim's cluster cache may reach in this process."""
    return get_cluster_cache_max_size()


# Redirect chains longer than this are treated as broken (a loop in a damaged ZIM must not spin a worker).
MAX_REDIRECTS = 20


@dataclasses.dataclass(frozen=True)
class Redirect:
    """The entry at the asked path points to another path in the same book."""

    target_path: str


@dataclasses.dataclass(frozen=True)
class Content:
    """An entry's bytes (a memoryview into libzim's blob, not copied) and MIME type."""

    path: str
    mimetype: str
    data: memoryview


@dataclasses.dataclass(frozen=True)
class StoredEntry:
    """An entry as stored, redirects not followed: `redirect_target` is set for a redirect, `mimetype` for an item."""

    path: str
    title: str
    mimetype: str
    redirect_target: str | None


class ZimFile:
    """One opened ZIM archive. Safe to share between threads: searchers are kept per thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._archive = Archive(path)
            if _dirents_per_book is not None:
                self._archive.dirent_cache_max_size = _dirents_per_book
            self.uuid = str(self._archive.uuid)
            self.size_bytes = self._archive.filesize
        except (RuntimeError, OSError, ValueError) as exc:
            raise DamagedBookError(
                f"The file {path.name} cannot be opened as a ZIM book: {str(exc).strip().splitlines()[0]}",
                cause="The file is truncated, corrupt, or not a ZIM file (a copy interrupted, a failing disk).",
                fix=f"Copy {path.name} again from its source or remove it from the content folder.",
            ) from exc
        self._local = threading.local()
        self._storage_order: list[int] | None = None

    @property
    def dirent_cache_size(self) -> int:
        """How many directory entries libzim keeps for this book."""
        return self._archive.dirent_cache_max_size

    # --- metadata -------------------------------------------------------------------------
    def metadata(self, name: str) -> bytes | None:
        """The raw bytes of a metadata entry (`Title`, `Language`, ...) or None if absent."""
        try:
            return bytes(self._archive.get_metadata(name))
        except (RuntimeError, KeyError):
            return None

    def metadata_item(self, name: str) -> Content | None:
        """A metadata entry's bytes with its own MIME type (an illustration is image/png), or None if absent."""
        try:
            item = self._archive.get_metadata_item(name)
        except (RuntimeError, KeyError):
            return None
        return Content(name, item.mimetype, item.content)

    def metadata_text(self, name: str) -> str:
        """A metadata entry decoded as text; empty when absent or undecodable."""
        raw = self.metadata(name)
        return raw.decode("utf-8", "replace").strip() if raw else ""

    @property
    def metadata_names(self) -> list[str]:
        return list(self._archive.metadata_keys)

    @property
    def article_count(self) -> int:
        return self._archive.article_count

    @property
    def media_count(self) -> int:
        return self._archive.media_count

    @property
    def has_fulltext_index(self) -> bool:
        return self._archive.has_fulltext_index

    def illustration(self, size: int = 48) -> bytes | None:
        """The PNG illustration at `size` pixels, or None when the book has none."""
        # get_illustration_item, not get_illustration_sizes: python-libzim 3.x deprecates the latter
        # in favour of a get_illustration_infos it does not ship yet.
        try:
            return bytes(self._archive.get_illustration_item(size).content)
        except (KeyError, RuntimeError):
            return None

    @property
    def main_path(self) -> str | None:
        """Path of the main page (following its redirect), or None."""
        if not self._archive.has_main_entry:
            return None
        entry = self._archive.main_entry
        return self._final_entry(entry).path

    # --- entries --------------------------------------------------------------------------
    def _final_entry(self, entry):
        for _ in range(MAX_REDIRECTS):
            if not entry.is_redirect:
                return entry
            entry = entry.get_redirect_entry()
        raise EntryNotFoundError(
            f"{self.path.name}: redirect loop at {entry.path}.",
            cause="The book is damaged.",
            fix=f"Replace {self.path.name} with a fresh copy.",
        )

    def entry_paths(self) -> Iterator[str]:
        """Every user entry's path in storage order (articles, media, redirects; not metadata)."""
        for index in range(self._archive.entry_count):
            yield self._archive._get_entry_by_id(index).path

    def stored_entries(self) -> Iterator[StoredEntry]:
        """Every user entry as stored (a redirect names its direct target), items in the order of their bytes in the
        file (cluster by cluster, see storage_order), then redirects; DamagedBookError when one cannot be read."""
        for entry, _ in self._stored(with_data=False):
            yield entry

    def stored_contents(self) -> Iterator[tuple[StoredEntry, memoryview | None]]:
        """stored_entries with each item's bytes (None for a redirect): one pass that decompresses each cluster once."""
        return self._stored(with_data=True)

    def _stored(self, *, with_data: bool) -> Iterator[tuple[StoredEntry, memoryview | None]]:
        for index in self.storage_order():
            try:
                entry = self._archive._get_entry_by_id(index)
                if entry.is_redirect:
                    yield StoredEntry(entry.path, entry.title, "", entry.get_redirect_entry().path), None
                else:
                    item = entry.get_item()
                    yield StoredEntry(entry.path, entry.title, item.mimetype, None), item.content if with_data else None
            except RuntimeError as exc:
                raise DamagedBookError(
                    f"Entry number {index} of {self.path.name} cannot be read: {exc}",
                    cause="Part of the ZIM file is corrupt.",
                    fix=f"Replace {self.path.name} with a fresh copy.",
                ) from exc

    def storage_order(self) -> list[int]:
        """Every user entry's number, items sorted by (cluster, blob), then redirects: read in this order, each
        compressed cluster is decompressed once. In path order (libzim's numbering) a book's clusters, which hold
        entries in the order they were added, are visited again and again, and past libzim's cluster cache nearly
        every entry decompressed a whole cluster again (issue 21, item 5). Path order when the directory cannot be
        read as the ZIM format says (then reading is only slower). Always every number once: only the speed of a
        pass depends on it, never what it reads."""
        if self._storage_order is None:
            count = self._archive.entry_count
            try:
                found = _storage_order(self.path, count)
            except (OSError, ValueError, struct.error):
                found = None
            if found is None or self._archive._get_entry_by_id(found[0][0]).path != found[1]:
                self._storage_order = list(range(count))
            else:
                self._storage_order = found[0]
        return self._storage_order

    def lookup(self, path: str) -> Redirect | Content:
        """The entry at `path`: a Redirect to the end of its chain, or its Content; EntryNotFoundError if absent."""
        try:
            entry = self._archive.get_entry_by_path(path)
        except KeyError:
            raise EntryNotFoundError(
                f"There is no entry {path!r} in {self.path.name}.",
                cause="The link is old or mistyped, or the book was updated.",
                fix="Go back to the book's main page and search for the article.",
            ) from None
        try:
            if entry.is_redirect:
                return Redirect(self._final_entry(entry).path)
            item = entry.get_item()
            return Content(item.path, item.mimetype, item.content)
        except RuntimeError as exc:
            raise DamagedBookError(
                f"The entry {path!r} of {self.path.name} cannot be read: {exc}",
                cause="Part of the ZIM file is corrupt.",
                fix=f"Replace {self.path.name} with a fresh copy.",
            ) from exc

    def final_path(self, path: str) -> str:
        """Where the entry at `path` ends when its redirects are followed (libzim's redirect entries): the article a
        title or an old name points to; `path` itself for an item, an unknown path or a broken chain."""
        try:
            return self._final_entry(self._archive.get_entry_by_path(path)).path
        except (KeyError, RuntimeError, EntryNotFoundError):
            return path

    def title_of(self, path: str) -> str:
        try:
            return self._archive.get_entry_by_path(path).title
        except (KeyError, RuntimeError):
            return path

    def random_path(self) -> str:
        """A random front article (what libzim's random entry picks); EntryNotFoundError when there is none."""
        try:
            return self._final_entry(self._archive.get_random_entry()).path
        except (KeyError, RuntimeError) as exc:
            raise EntryNotFoundError(
                f"{self.path.name} has no article to pick at random.",
                cause="The book marks none of its pages as articles (some web-page captures do this).",
                fix="Open the book's main page instead.",
            ) from exc

    # --- search ---------------------------------------------------------------------------
    def suggest(self, term: str, count: int) -> list[tuple[str, str]]:
        """Up to `count` (path, title) pairs whose title matches `term` (libzim's title index)."""
        searcher = self._per_thread("suggester", lambda: SuggestionSearcher(self._archive))
        results = searcher.suggest(term).getResults(0, count)
        return [(path, self.title_of(path)) for path in results]

    def search(self, pattern: str, start: int, count: int) -> tuple[int, list[str]]:
        """Full-text search: (estimated matches, paths of results start..start+count)."""
        if not self._archive.has_fulltext_index:
            raise NoFullTextIndexError(
                f"{self.path.name} has no full-text index.",
                cause="The book was made without one (many small ZIMs are).",
                fix="Search titles with the suggestion box instead, or use a version of the book with an index.",
            )
        searcher = self._per_thread("searcher", lambda: Searcher(self._archive))
        search = searcher.search(Query().set_query(pattern))
        return search.getEstimatedMatches(), list(search.getResults(start, count))

    def _per_thread(self, name: str, make):
        value = getattr(self._local, name, None)
        if value is None:
            value = make()
            setattr(self._local, name, value)
        return value

    def verify_checksum(self) -> bool | None:
        """libzim's whole-file MD5 check: True/False, or None when the file carries no checksum."""
        if not self._archive.has_checksum:
            return None
        try:
            return bool(self._archive.check())
        except RuntimeError:
            return False


def file_signature(path: Path) -> tuple[int, int]:
    """(size, mtime_ns): changes whenever the file is replaced or rewritten."""
    stat = os.stat(path)
    return stat.st_size, stat.st_mtime_ns


def check_whole(path: Path) -> None:
    """A DamagedBookError unless libzim opens `path` and its embedded checksum, when it has one, matches."""
    book = ZimFile(path)
    if book.verify_checksum() is False:
        raise DamagedBookError(
            f"The file {path.name} opens as a ZIM book but its checksum does not match its contents.",
            cause="The file was changed or cut after it was written.",
            fix=f"Copy {path.name} again from its source.",
        )


_ZIM_MAGIC = 72173914
_REDIRECT_MIME = 0xFFFF
_HEADER = struct.Struct("<IHH16sIIQ")  # magic, major, minor version, uuid, entries, clusters, path pointer list
_DIRENT = struct.Struct("<HBcIII")  # MIME type number, parameter length, namespace, revision, cluster, blob


def _storage_order(path: Path, user_count: int) -> tuple[list[int], str] | None:
    """From the ZIM's own directory (openZIM's format: a header, a table of directory-entry offsets in path order,
    each entry's MIME type, namespace, cluster and blob numbers, then its path): the user entries' numbers (libzim's,
    from 0) sorted by where their bytes are, redirects last, and the path of the first one to check it against
    libzim; None when the file is not laid out as expected."""
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        magic, _major, minor, _uuid, entry_count, _clusters, path_pointers = _HEADER.unpack_from(data, 0)
        if magic != _ZIM_MAGIC or not user_count:
            return None
        pointers = struct.unpack_from(f"<{entry_count}Q", data, path_pointers)
        # Since minor version 1 (libzim 7) the user entries are the "C" namespace, contiguous in path order.
        user = [offset for offset in pointers if minor < 1 or data[offset + 3 : offset + 4] == b"C"]
        if len(user) != user_count:
            return None
        items: list[tuple[int, int, int]] = []
        redirects: list[int] = []
        for number, offset in enumerate(user):
            mimetype, _, _, _, cluster, blob = _DIRENT.unpack_from(data, offset)
            if mimetype == _REDIRECT_MIME:
                redirects.append(number)
            else:
                items.append((cluster, blob, number))
        items.sort()
        order = [number for _, _, number in items] + redirects
        offset = user[order[0]]
        start = offset + (_DIRENT.size if items else _DIRENT.size - 4)  # a redirect has no blob number
        first = data[start : data.find(b"\0", start)].decode("utf-8")
        # libzim names an entry of the old scheme with its namespace: "A/Ray_Charles".
        return order, first if minor >= 1 else f"{data[offset + 3 : offset + 4].decode()}/{first}"
