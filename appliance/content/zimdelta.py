"""ZIM deltas: the entry-level difference of two books, patch packages that carry it, and rebuilding a book from them.

Must not import storage, edges, services or web: reads through content.zimfile, writes through content.zimwriter.
The design and its measurements are in docs/channels.md ("Patches") and docs/performance.md.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from appliance import strict_json
from appliance.content import patch_manifest
from appliance.content.patch_manifest import DERIVED_METADATA, MANIFEST_NAME, PATCH_FORMAT, damaged as _damaged
from appliance.content.zimfile import ZimFile
from appliance.content.zimwriter import Entry, MetadataValue, write_zim
from appliance.errors import ChannelError, DamagedBookError, StorageError
from appliance.files import file_digest, fsync_path

PATCH_SUFFIX = ".zimpatch"  # not ".zim": a patch is not a book, so no library scan or `*.zim` glob picks it up
# While libzim writes a rebuilt book, the clusters written so far sit beside its full-text index twice (Xapian's
# working database and the compacted copy it embeds): peaks of 1.39x (a 263 KB book) and 1.91x (33.4 MB, 5,000
# articles) the finished book were measured (docs/performance.md, "Sync (issue 21): publishing").
REBUILD_DISK_FACTOR = 2

Key = tuple[str, str]  # (namespace, name): "C" entries by path, "M" metadata by name, "W" the main page
Record = tuple[str, str, str]  # (mimetype, title, "sha256:<hex>" | "redirect:<target path>")


@dataclasses.dataclass(frozen=True)
class BookDiff:
    """What changed from one book to the next, as sorted keys."""

    added: tuple[Key, ...]
    changed: tuple[Key, ...]
    removed: tuple[Key, ...]


@dataclasses.dataclass(frozen=True)
class Rebuilt:
    """A book rebuilt from a base and patches: where, its entry digest, and how many entries it holds."""

    path: Path
    digest: str
    entry_count: int


def rebuild_disk_bytes(book_bytes: int) -> int:
    """A bound of the content-disk space rebuilding a book takes while it runs, given the publisher's file size (a
    rebuild compresses what the publisher compresses, so the finished book is that size)."""
    return REBUILD_DISK_FACTOR * book_bytes


def _sha(data) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def book_records(book: ZimFile) -> dict[Key, Record]:
    """Every entry, metadata (but Counter) and the main page of a book, each as the record the digest covers; the
    entries in the order their bytes are stored (ZimFile.storage_order), which a patch's writer reads them in too."""
    records: dict[Key, Record] = {}
    for entry, data in book.stored_contents():
        if data is None:
            records[("C", entry.path)] = ("", entry.title, f"redirect:{entry.redirect_target}")
        else:
            records[("C", entry.path)] = (entry.mimetype, entry.title, _sha(data))
    for name in book.metadata_names:
        item = book.metadata_item(name)
        if name not in DERIVED_METADATA and item is not None:
            records[("M", name)] = (item.mimetype, "", _sha(item.data))
    if book.main_path:
        records[("W", "mainPage")] = ("", "", f"redirect:{book.main_path}")
    return records


def records_digest(records: dict[Key, Record]) -> str:
    """SHA-256 (hex) over the sorted records, one JSON line each: equal for two books equal entry for entry."""
    digest = hashlib.sha256()
    for key in sorted(records):
        digest.update(strict_json.dumps([*key, *records[key]], ensure_ascii=False).encode() + b"\n")
    return digest.hexdigest()


def book_digest(path: Path) -> str:
    """The entry digest of the ZIM at `path` (not its file hash: libzim never writes the same bytes twice)."""
    return records_digest(book_records(ZimFile(path)))


class ReadBook:
    """A book opened once for publishing: its records, entry digest and file hash each computed on first use, so
    `channel publish --previous` reads every book's entries once (issue 21, item 5)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.zim = ZimFile(path)

    @functools.cached_property
    def records(self) -> dict[Key, Record]:
        return book_records(self.zim)

    @functools.cached_property
    def digest(self) -> str:
        return records_digest(self.records)

    @functools.cached_property
    def sha256(self) -> str:
        return file_digest(self.path)[1]


def diff_records(old: dict[Key, Record], new: dict[Key, Record]) -> BookDiff:
    """Added, changed and removed keys from `old` to `new`."""
    return BookDiff(
        added=tuple(sorted(new.keys() - old.keys())),
        changed=tuple(sorted(k for k in new.keys() & old.keys() if new[k] != old[k])),
        removed=tuple(sorted(old.keys() - new.keys())),
    )


def diff_books(old_path: Path, new_path: Path) -> BookDiff:
    """The entry-level difference between two ZIM files."""
    return diff_records(book_records(ZimFile(old_path)), book_records(ZimFile(new_path)))


def book_id(book: ZimFile) -> str:
    """A book's stable id as channels use it: its `Name` metadata, else the file name without extension."""
    return book.metadata_text("Name") or book.path.stem


def _fulltext_language(book: ZimFile) -> str | None:
    # A ZIM does not record the language its Xapian index was built for; its Language metadata is the best guess.
    if not book.has_fulltext_index:
        return None
    return book.metadata_text("Language").split(",")[0].strip() or "eng"


def write_patch(old_book: Path | ReadBook, new_book: Path | ReadBook, out: Path) -> dict[str, Any]:
    """Write the patch turning the old book (a path, or a ReadBook already read) into the new one as a ZIM at `out`;
    its manifest."""
    old_read = old_book if isinstance(old_book, ReadBook) else ReadBook(old_book)
    new_read = new_book if isinstance(new_book, ReadBook) else ReadBook(new_book)
    old, new = old_read.zim, new_read.zim
    old_records, new_records = old_read.records, new_read.records
    diff = diff_records(old_records, new_records)
    wanted = [key for key in diff.added + diff.changed if key[0] != "W"]
    redirects = [
        [path, new_records[(ns, path)][1], new_records[(ns, path)][2].removeprefix("redirect:")]
        for ns, path in wanted
        if ns == "C" and new_records[(ns, path)][2].startswith("redirect:")
    ]
    manifest = {
        "format": PATCH_FORMAT,
        "book": book_id(new),
        "base": {
            "id": book_id(old),
            "version": old.metadata_text("Date"),
            "sha256": old_read.sha256,
            "digest": old_read.digest,
        },
        "result": {
            "version": new.metadata_text("Date"),
            "digest": new_read.digest,
            "main_path": new.main_path,
            "fulltext_language": _fulltext_language(new),
            # What a kit serving the base plus this patch as layers says of the book (content.zimlayers), without a
            # pass over the base; patches from before these keys derive them (LayeredZim says how).
            "uuid": new.uuid,
            "article_count": new.article_count,
            "media_count": new.media_count,
            "counter": new.metadata_text("Counter"),
        },
        "removed_entries": [path for ns, path in diff.removed if ns == "C"],
        "removed_metadata": [name for ns, name in diff.removed if ns == "M"],
        "redirects": redirects,
        "counts": {"added": len(diff.added), "changed": len(diff.changed), "removed": len(diff.removed)},
    }
    metadata: dict[str, MetadataValue] = {}
    for _, name in (key for key in wanted if key[0] == "M"):
        item = new.metadata_item(name)
        assert item is not None  # a name the book lists
        metadata[name] = (bytes(item.data), item.mimetype)
    metadata[MANIFEST_NAME] = strict_json.dumps(manifest, ensure_ascii=False)
    # In the new book's storage order (its records' order), not by path: each of its clusters is decompressed once.
    written = set(wanted)
    items = [
        path
        for ns, path in new_records
        if (ns, path) in written and ns == "C" and not _is_redirect(new_records[(ns, path)])
    ]
    entries = (_entry(new, path, new_records[("C", path)], in_book=False) for path in items)
    write_zim(out, metadata=metadata, main_path=None, entries=entries, index_language=None)
    return manifest


def _is_redirect(record: Record) -> bool:
    return record[2].startswith("redirect:")


def _entry(source: ZimFile, path: str, record: Record, *, in_book: bool) -> Entry:
    # Front-article flags are not readable per entry through libzim; HTML pages are the articles people search.
    # A patch marks none: libzim then writes no title index (nor title listing) into it, which the kit never reads
    # there (the rebuild indexes the whole book); that index was most of a small patch (issue 21, item 8).
    mimetype, title, _ = record
    return Entry(
        path,
        title,
        mimetype,
        bytes(source.lookup(path).data),  # type: ignore[union-attr]  # no redirect: content
        front=in_book and mimetype.startswith("text/html"),
    )


def read_manifest(path: Path) -> tuple[ZimFile, dict[str, Any]]:
    """Open a patch, check libzim's checksum, and return it with its manifest; ChannelError (patch_damaged) if unusable."""
    try:
        patch = ZimFile(path)
    except DamagedBookError as exc:
        raise _damaged(path, "it is not a readable ZIM file") from exc
    if patch.verify_checksum() is not True:
        raise _damaged(path, "libzim's checksum of the file does not match its content")
    return patch, patch_manifest.read(patch)


def _base_mismatch(what: str, problem: str) -> ChannelError:
    return ChannelError(
        f"{what} {problem}.",
        code="channel.patch_base_mismatch",
        cause="The patch was made for another book or another version of it.",
        fix="Apply the patches in order starting from the version each one names, or fetch the "
        "full book from the channel instead.",
    )


def check_base(base_path: Path, base: ZimFile, manifest: dict[str, Any], patch_path: Path) -> None:
    """A ChannelError (patch_base_mismatch) unless the base is the book the patch was made for (by file or by entries)."""
    wanted = manifest["base"]
    if book_id(base) != wanted.get("id"):
        raise _base_mismatch(
            f"The patch {patch_path.name}", f"is for book {wanted.get('id')!r}, not {book_id(base)!r} ({base_path})"
        )
    # A publisher's file matches by hash; a kit's own rebuilt copy only by its entries.
    if file_digest(base_path)[1] != wanted.get("sha256") and book_digest(base_path) != wanted.get("digest"):
        raise _base_mismatch(
            f"The patch {patch_path.name}",
            f"is for {wanted.get('id')} version "
            f"{wanted.get('version')!r}, and {base_path} (version {base.metadata_text('Date')!r}) "
            "is not that book entry for entry",
        )


class _Plan:
    """The rebuilt book as a map from each key to where its bytes come from; patches applied in order."""

    def __init__(self, base: ZimFile) -> None:
        self.items: dict[str, tuple[ZimFile, str, str, int]] = {}  # path -> (source, title, mimetype, rank)
        self.redirects: dict[str, tuple[str, str]] = {}  # path -> (title, target)
        self.metadata: dict[str, ZimFile] = {}
        self._taken = 0
        self._take(base, {"redirects": []})
        for entry in base.stored_entries():
            if entry.redirect_target is not None:
                self.redirects[entry.path] = (entry.title, entry.redirect_target)

    def _take(self, source: ZimFile, manifest: dict[str, Any]) -> None:
        for entry in source.stored_entries():
            if entry.redirect_target is None:
                self.redirects.pop(entry.path, None)
                self._taken += 1
                self.items[entry.path] = (source, entry.title, entry.mimetype, self._taken)
        for name in source.metadata_names:
            if name not in DERIVED_METADATA and name != MANIFEST_NAME:
                self.metadata[name] = source
        for path, title, target in manifest["redirects"]:
            self.items.pop(path, None)
            self.redirects[path] = (title, target)

    def apply(self, patch: ZimFile, manifest: dict[str, Any]) -> None:
        for path in manifest["removed_entries"]:
            self.items.pop(path, None)
            self.redirects.pop(path, None)
        for name in manifest["removed_metadata"]:
            self.metadata.pop(name, None)
        self._take(patch, manifest)

    def entries(self) -> Iterator[Entry]:
        # In the order they were taken: the base's entries in its storage order, then each patch's in its own, so
        # every cluster of every source is decompressed once, and the rebuilt book keeps the base's grouping.
        for path, (source, title, mimetype, _) in sorted(self.items.items(), key=lambda item: item[1][3]):
            yield _entry(source, path, (mimetype, title, ""), in_book=True)

    def metadata_values(self) -> dict[str, MetadataValue]:
        values: dict[str, MetadataValue] = {}
        for name, source in self.metadata.items():
            item = source.metadata_item(name)
            assert item is not None  # a name the book lists
            values[name] = (bytes(item.data), item.mimetype)
        return values


def _remove_leftovers(temporary: Path) -> None:
    """Remove what a rebuild killed mid-way (power cut, SIGKILL) left: its file and libzim's temporary index folder."""
    # write_zim's own temporary file (and libzim's index folder beside it) is named ".<temporary name>.tmp…".
    for stale in [*temporary.parent.glob(f"{temporary.name}*"), *temporary.parent.glob(f".{temporary.name}*")]:
        if stale.is_dir():
            shutil.rmtree(stale)
        else:
            stale.unlink()


def apply_patches(base_path: Path, patch_paths: list[Path], out_path: Path) -> Rebuilt:
    """Rebuild the book `base_path` + patches (in order) as `out_path`, atomically, only if its digest is the publisher's."""
    base = ZimFile(base_path)
    opened = [read_manifest(path) for path in patch_paths]
    if not opened:
        raise ChannelError("No patch to apply.", code="channel.patch_damaged", fix="Name at least one patch file.")
    check_base(base_path, base, opened[0][1], patch_paths[0])
    for (_, before), (_, after), path in zip(opened, opened[1:], patch_paths[1:]):
        if after["base"].get("digest") != before["result"].get("digest"):
            raise _base_mismatch(
                f"The patch {path.name}",
                f"starts from version {after['base'].get('version')!r}, "
                f"but the patch before it ends at {before['result'].get('version')!r}",
            )
    plan = _Plan(base)
    for patch, manifest in opened:
        plan.apply(patch, manifest)
    result = opened[-1][1]["result"]
    temporary = out_path.with_name(f".{out_path.name}.rebuild")
    _remove_leftovers(temporary)
    try:
        _write(plan, result, temporary)
        digest = book_digest(temporary)
        if digest != result.get("digest"):
            raise ChannelError(
                f"Rebuilding {base_path.name} with {len(patch_paths)} patch(es) gave a book whose entries differ from "
                f"the publisher's version {result.get('version')!r} (digest {digest}, expected {result.get('digest')}).",
                code="channel.patch_result_mismatch",
                cause="A patch was changed after publishing or the base is damaged.",
                fix="Nothing was replaced. Fetch the patches again, or fetch the full book from the channel.",
            )
        os.replace(temporary, out_path)
        fsync_path(out_path.parent)
    finally:
        _remove_leftovers(temporary)  # a failed write (a full disk) leaves libzim's own temporaries too
    return Rebuilt(out_path, digest, len(plan.items) + len(plan.redirects))


def _write(plan: _Plan, result: dict[str, Any], temporary: Path) -> None:
    redirects = [(path, title, target) for path, (title, target) in plan.redirects.items()]
    try:
        write_zim(
            temporary,
            metadata=plan.metadata_values(),
            main_path=result.get("main_path"),
            entries=plan.entries(),
            redirects=redirects,
            index_language=result.get("fulltext_language"),
        )
    except (RuntimeError, OSError) as exc:
        raise StorageError(
            f"The rebuilt book {temporary} cannot be written: {exc}",
            cause="The disk is full or read-only.",
            fix="Free space in the content folder (a rebuild needs about twice the book's size while it runs) and run "
            "it again.",
        ) from exc
