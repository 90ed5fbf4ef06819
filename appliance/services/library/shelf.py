"""The shelf, as teachers manage it on the 内容 page (`/books`, issue 17): which books the kit holds and where each came
from, taking a book off the shelf (kept on the kit, served to teachers only) and putting it back, and removing a book that
came in unsigned (from a stick or a laptop, approved on this kit). Books of a county channel are the county's: taking
one off the shelf is the teacher's answer; removing it would only bring it back at the next sync.

Must not import web or cli. docs/textbook-units.md, "The 内容 page".
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import logging
from typing import TYPE_CHECKING

from appliance.config import Settings
from appliance.content import library as content_library, zimlayers
from appliance.errors import AccessDeniedError, BookNotFoundError
from appliance.files import fsync_path, write_atomically
from appliance.paths import Paths
from appliance.services.people import access
from appliance.services.sync.plan import LOCAL_CHANNEL
from appliance.storage.database import Database
from appliance.storage.installed_packages import InstalledPackages

if TYPE_CHECKING:
    from appliance.content.library import Book, Library

log = logging.getLogger(__name__)

BY_HAND = ""  # a book no channel installed: the demo, or a file put in the content folder by hand


@dataclasses.dataclass(frozen=True)
class ShelfBook:
    """One book as the 内容 page lists it."""

    name: str
    title: str
    language: str
    size_bytes: int  # its file and its update layers: what removing it frees
    article_count: int
    channel: str  # the channel that installed it; LOCAL_CHANNEL for an approved unsigned book; BY_HAND otherwise
    on_shelf: bool

    @property
    def removable(self) -> bool:
        """A channel's book would come back at the next sync; the county removes it from the channel instead."""
        return self.channel in (LOCAL_CHANNEL, BY_HAND)


def _size(book: Book) -> int:
    path = book.zim.path
    folder = zimlayers.layers_dir(path)
    layers = [p for p in folder.iterdir() if p.is_file()] if folder.is_dir() else []
    return sum(p.stat().st_size for p in (path, *layers) if p.exists())


def listing(db: Database, library: Library) -> list[ShelfBook]:
    """Every good book the kit holds, served or off the shelf, sorted by title."""
    installed = InstalledPackages(db).all()

    def shelf_book(book: Book, on_shelf: bool) -> ShelfBook:
        row = installed.get(book.name)
        return ShelfBook(
            book.name,
            book.title,
            book.language,
            _size(book),
            book.zim.article_count,
            row.channel if row is not None else BY_HAND,
            on_shelf,
        )

    books = [shelf_book(b, True) for b in library.books()] + [shelf_book(b, False) for b in library.off_shelf()]
    return sorted(books, key=lambda b: (b.title.casefold(), b.name))


def _change(paths: Paths, name: str, off: bool) -> None:
    """Add `name` to the shelf file (or take it out), one writer at a time across the web workers."""
    paths.data_dir.mkdir(parents=True, exist_ok=True)
    with open(paths.shelf_file.with_name(paths.shelf_file.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        names = set(content_library.shelf_names(paths.shelf_file))
        if (name in names) == off:
            return
        names = names | {name} if off else names - {name}
        write_atomically(paths.shelf_file, json.dumps(sorted(names), ensure_ascii=False).encode())


def _held(library: Library, name: str) -> Book:
    for book in (*library.books(), *library.off_shelf()):
        if book.name == name:
            return book
    raise BookNotFoundError(
        f"No book named {name!r} is on this kit.",
        code="shelf.no_book",
        cause="It was removed, or renamed by an update, since the page was opened.",
        fix="Open 内容 (/books) again for the books this kit holds.",
    )


def take_off(paths: Paths, library: Library, viewer: access.Viewer | None, name: str) -> Book:
    """Stop listing and serving a book (kept on the kit; its pages open for staff only); this worker at once, the others
    at their next scan."""
    return _shelve(paths, library, viewer, name, off=True)


def put_back(paths: Paths, library: Library, viewer: access.Viewer | None, name: str) -> Book:
    """Serve a book taken off the shelf again."""
    return _shelve(paths, library, viewer, name, off=False)


def _shelve(paths: Paths, library: Library, viewer: access.Viewer | None, name: str, *, off: bool) -> Book:
    viewer = access.require(viewer, *access.STAFF)
    book = _held(library, name)
    _change(paths, name, off=off)
    library.refresh()
    log.info("shelf: %s %s by %s", name, "taken off the shelf" if off else "put back on the shelf", viewer["username"])
    return book


def remove(settings: Settings, db: Database, library: Library, viewer: access.Viewer | None, name: str) -> ShelfBook:
    """Delete a book that came in unsigned or by hand, under the sync lock (a sync may be switching books), with the
    sync's own removal. A channel's book is refused: it would come back at the next sync. The book as listed."""
    from appliance.services.sync import activation
    from appliance.services.sync.engine import Engine

    viewer = access.require(viewer, *access.STAFF)
    (book,) = [b for b in listing(db, library) if b.name == _held(library, name).name]
    if not book.removable:
        raise AccessDeniedError(
            f"{book.title} comes from the county's channel {book.channel!r}; the next sync would bring it back.",
            code="shelf.channel_book",
            fix="Take it off the shelf instead, or ask the county to remove it from the channel.",
        )
    engine = Engine(settings, db, peers={})
    engine.paths.ensure()
    with engine.locked():
        if book.channel == LOCAL_CHANNEL:
            activation.remove(engine.paths, engine.installed, name)
        else:
            path = _held(library, name).zim.path
            path.unlink(missing_ok=True)
            zimlayers.remove_layers(path)
            fsync_path(path.parent)
        _change(engine.paths, name, off=False)
    library.refresh()
    log.info("shelf: %s removed by %s (%d bytes freed)", name, viewer["username"], book.size_bytes)
    return book
