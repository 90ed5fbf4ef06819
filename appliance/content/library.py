"""The library: every `.zim` in the content folder is a book; damaged files are listed, never served, and books a
teacher took off the shelf (their names in the shelf file, services/library/shelf.py) are kept, not listed, and
opened only by staff (web/content_routes).

Must not import storage, edges, services or web: the check-result store is handed in.
Readers get an immutable snapshot; a rescan builds a new one and swaps it, so requests in
flight keep the books they started with.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from pathlib import Path
from typing import Protocol

from appliance.content.layeredzim import LayeredZim
from appliance.content.naming import unique_names
from appliance.content.zimfile import ZimFile, file_signature
from appliance.content.zimlayers import book_signature, open_book
from appliance.errors import BookNotFoundError, DamagedBookError

log = logging.getLogger(__name__)

# Files up to this size are checksummed before they are first served (a few seconds on a Pi);
# larger ones are opened, hidden, and checked by the background scanner so start-up stays fast.
INLINE_CHECK_MAX_BYTES = 256 * 1024 * 1024


class CheckStore(Protocol):
    """Remembers checksum results per file version (storage.book_checks implements it)."""

    def get(self, path: str, size_bytes: int, mtime_ns: int) -> tuple[bool, str] | None: ...

    def put(self, path: str, size_bytes: int, mtime_ns: int, ok: bool, reason: str) -> None: ...


@dataclasses.dataclass(frozen=True)
class Book:
    """A served book: its URL name, its file, and the metadata pages and the catalog show."""

    name: str
    zim: ZimFile | LayeredZim  # LayeredZim: the base file plus its layers (content.zimlayers)
    signature: tuple[int, ...]  # zimlayers.book_signature: the base file's and its stack's (size, mtime_ns)
    title: str
    description: str
    languages: tuple[str, ...]
    category: str
    tags: tuple[str, ...]
    creator: str
    publisher: str
    date: str
    flavour: str
    zim_name: str  # the ZIM's own `Name` metadata (OPDS <name>), not the URL name
    has_illustration: bool  # a 48×48 PNG, the size Kiwix catalogs link
    checked: str  # "verified", "no checksum" or "pending"

    @property
    def uuid(self) -> str:
        return self.zim.uuid

    @property
    def language(self) -> str:
        return self.languages[0] if self.languages else ""


@dataclasses.dataclass(frozen=True)
class DamagedFile:
    """A file in the content folder that is not served, and why."""

    path: Path
    reason: str
    signature: tuple[int, ...] = (0, 0)  # the file version (and stack) judged; a new copy is judged again
    why: str = "unreadable"  # or "checksum": what pages say in the reader's language (admin.damage.<why>)


def _category(zim: ZimFile | LayeredZim, tags: tuple[str, ...]) -> str:
    for tag in tags:
        if tag.startswith("_category:"):
            return tag.split(":", 1)[1]
    return zim.metadata_text("Category")


def make_book(name: str, zim: ZimFile | LayeredZim, signature: tuple[int, ...], checked: str) -> Book:
    """Read a book's metadata once, when it is opened."""
    tags = tuple(t for t in zim.metadata_text("Tags").split(";") if t)
    languages = tuple(lang.strip() for lang in zim.metadata_text("Language").split(",") if lang.strip())
    return Book(
        name=name,
        zim=zim,
        signature=signature,
        checked=checked,
        title=zim.metadata_text("Title") or name,
        description=zim.metadata_text("Description"),
        languages=languages,
        tags=tags,
        category=_category(zim, tags),
        creator=zim.metadata_text("Creator"),
        publisher=zim.metadata_text("Publisher"),
        date=zim.metadata_text("Date"),
        flavour=zim.metadata_text("Flavour"),
        zim_name=zim.metadata_text("Name"),
        has_illustration=zim.illustration(48) is not None,
    )


@dataclasses.dataclass(frozen=True)
class Snapshot:
    books: dict[str, Book]
    damaged: tuple[DamagedFile, ...]
    pending: tuple[Path, ...]
    generation: int = 0  # one more each time the served books change (Library.generation)
    off_shelf: tuple[Book, ...] = ()  # good books a teacher took off the shelf: kept, not listed, for staff only


def shelf_names(path: Path | None) -> frozenset[str]:
    """The names in the shelf file (a JSON list of book names taken off the shelf); none when it is missing.
    A damaged file takes nothing off the shelf: serving a book a teacher withdrew beats serving none."""
    if path is None:
        return frozenset()
    try:
        names = json.loads(path.read_bytes())
    except FileNotFoundError:
        return frozenset()
    except (OSError, ValueError) as exc:
        log.warning("library: cannot read %s (%s); every book stays on the shelf", path, exc)
        return frozenset()
    if not isinstance(names, list):
        log.warning("library: %s is not a list of book names; every book stays on the shelf", path)
        return frozenset()
    return frozenset(name for name in names if isinstance(name, str))


class Library:
    """The books of one content folder; `refresh()` picks up added, changed and removed files."""

    def __init__(self, content_dir: Path, checks: CheckStore | None = None, shelf_file: Path | None = None) -> None:
        self.content_dir = content_dir
        self._checks = checks
        self._shelf_file = shelf_file
        self._snapshot = Snapshot({}, (), ())
        self._refresh_lock = threading.Lock()

    # --- reading (lock-free: one attribute read) ----------------------------------------
    @property
    def generation(self) -> int:
        """A number that changes whenever the served books do (one added, removed, replaced or newly checked).
        What is derived from the books may be kept under it: read it BEFORE reading the books, so a rescan in
        between leaves newer books under an older number (a miss later), never older books under a newer one."""
        return self._snapshot.generation

    def books(self) -> list[Book]:
        """Served books, sorted by title."""
        return sorted(self._snapshot.books.values(), key=lambda b: (b.title.casefold(), b.name))

    def book(self, name: str, *, off_shelf_too: bool = False) -> Book:
        """The book served under `name` (or, with `off_shelf_too`, taken off the shelf under it); BookNotFoundError
        if there is none."""
        book = self._snapshot.books.get(name)
        if book is None and off_shelf_too:
            book = next((b for b in self._snapshot.off_shelf if b.name == name), None)
        if book is None:
            raise BookNotFoundError(
                f"No book named {name!r} is in this library.",
                cause="The link is old, or the book was removed or renamed.",
                fix="Open the home page to see the books this kit has.",
            )
        return book

    def by_uuid(self, uuid: str) -> Book:
        for book in self._snapshot.books.values():
            if book.uuid == uuid:
                return book
        raise BookNotFoundError(
            f"No book with id {uuid!r} is in this library.",
            fix="Reload the catalog: /catalog/v2/entries lists the books and their ids.",
        )

    def damaged(self) -> list[DamagedFile]:
        return list(self._snapshot.damaged)

    def pending(self) -> list[Path]:
        return list(self._snapshot.pending)

    def off_shelf(self) -> list[Book]:
        """Good books a teacher took off the shelf, sorted by title: kept on the kit, not served."""
        return sorted(self._snapshot.off_shelf, key=lambda b: (b.title.casefold(), b.name))

    # --- scanning ---------------------------------------------------------------------------
    def _zim_files(self) -> list[Path]:
        try:
            return [p for p in self.content_dir.iterdir() if p.suffix == ".zim" and p.is_file()]
        except FileNotFoundError:
            return []

    def refresh(self, check_large: bool = False) -> bool:
        """Rescan the content folder; return True when the served set changed."""
        with self._refresh_lock:
            old = self._snapshot
            withdrawn = shelf_names(self._shelf_file)
            known = {book.zim.path: book for book in (*old.books.values(), *old.off_shelf)}
            known_damaged = {file.path: file for file in old.damaged}
            books: dict[str, Book] = {}
            damaged: list[DamagedFile] = []
            pending: list[Path] = []
            for name, path in unique_names(self._zim_files()).items():
                try:
                    signature = book_signature(path)
                except FileNotFoundError:
                    continue
                book = known.get(path)
                if book is not None and book.signature == signature and book.name == name:
                    books[name] = book
                    continue
                judged = known_damaged.get(path)
                if judged is not None and judged.signature == signature:
                    damaged.append(judged)  # unchanged since it was found damaged: do not reopen it every scan
                    continue
                outcome = self._open(name, path, signature, check_large)
                if isinstance(outcome, Book):
                    books[name] = outcome
                elif isinstance(outcome, DamagedFile):
                    damaged.append(outcome)
                else:
                    pending.append(path)
            off_shelf = tuple(books.pop(name) for name in sorted(withdrawn & books.keys()))
            changed = books.keys() != old.books.keys() or any(books[n] is not old.books[n] for n in books)
            self._snapshot = Snapshot(books, tuple(damaged), tuple(pending), old.generation + changed, off_shelf)
            if changed or damaged != list(old.damaged):
                log.info("library: %d book(s), %d damaged, %d being checked", len(books), len(damaged), len(pending))
            return changed

    def _open(self, name: str, path: Path, signature: tuple[int, ...], check_large: bool):
        """Open and check one file (with its layers): a Book, a DamagedFile, or None when its check must wait."""
        base_signature = (signature[0], signature[1])
        try:
            zim = open_book(path)
            layers_ok = isinstance(zim, ZimFile) or self._layers_pass(zim)
        except DamagedBookError as exc:
            # Recorded too, so the report process can count it without opening it; for a plain file only: a layer's
            # fault must not mark the base itself damaged once its layers are gone.
            if self._checks and signature[2:] == (0, 0):
                self._checks.put(str(path), *base_signature, False, exc.message)
            return DamagedFile(path, exc.message, signature)
        if not layers_ok:
            return DamagedFile(
                path,
                f"An update layer of {path.name} fails its checksum: it is corrupt or was altered.",
                signature,
                "checksum",
            )
        # A layered book is as checked as its base file.
        cached = self._checks.get(str(path), *base_signature) if self._checks else None
        if cached is None:
            if signature[0] > INLINE_CHECK_MAX_BYTES and not check_large:
                return None
            verified = (zim.base if isinstance(zim, LayeredZim) else zim).verify_checksum()
            labels = {True: "verified", None: "no checksum", False: "checksum mismatch"}
            cached = (verified is not False, labels[verified])
            if self._checks:
                self._checks.put(str(path), *base_signature, *cached)
        if not cached[0]:
            return DamagedFile(
                path, f"The file {path.name} fails its checksum: it is corrupt or was altered.", signature, "checksum"
            )
        return make_book(name, zim, signature, cached[1])

    def _layers_pass(self, zim: LayeredZim) -> bool:
        """Whether every layer passes libzim's checksum, checked inline (layers are small), remembered per layer file."""
        for layer in zim.layers:
            signature = file_signature(layer.path)
            cached = self._checks.get(str(layer.path), *signature) if self._checks else None
            if cached is None:
                cached = (layer.verify_checksum() is not False, "layer")
                if self._checks:
                    self._checks.put(str(layer.path), *signature, *cached)
            if not cached[0]:
                return False
        return True


class LibraryScanner:
    """A daemon thread that rescans every `interval_s`; with `check_large`, it also checksums large new books
    (one web worker does, the others pick the stored result up on their next rescan)."""

    def __init__(self, library: Library, interval_s: float, check_large: bool = True) -> None:
        self.library = library
        self.interval_s = interval_s
        self.check_large = check_large
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tpkit-library-scan", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.library.refresh(check_large=self.check_large)
            except Exception:  # the scanner must outlive any one bad file; the log names it
                log.exception("library: rescan of %s failed; will retry", self.library.content_dir)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
