"""Books waiting for approval: unsigned books (loose `.zim` files from a USB stick) are checked by libzim and kept,
unserved, in `<data_dir>/books-waiting/` until a teacher or an administrator enables them; none replaces a book
silently (issue 14). docs/sync.md, "Other roads in"; docs/security.md. Must not import web or cli.

Who may do what: any teacher or administrator may enable a book that adds a title, and remove any waiting book;
enabling a book that would replace one already served (same id) needs an administrator.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from appliance.config import Settings
from appliance.content import zimfile, zimlayers
from appliance.errors import AccessDeniedError, DamagedBookError, NotVisibleError
from appliance.files import fsync_path
from appliance.paths import Paths
from appliance.services.people import access
from appliance.services.sync import activation
from appliance.services.sync.plan import LOCAL_CHANNEL
from appliance.storage.database import Database
from appliance.storage.installed_packages import InstalledPackages
from appliance.storage.sync_runs import RunResult
from appliance.storage.waiting_books import Waiting, WaitingBooks

if TYPE_CHECKING:  # the sync engine is imported by `enable` and `reject`: a web worker starts without it (issue 15)
    from appliance.services.sync.engine import Engine

UPLOADED_BY = "upload:"  # a waiting book's source when a teacher sent it from a laptop: upload:<username>
LOCAL_SUFFIX = "_local"  # an unsigned book whose id a signed book already uses is served as <id>_local
_ID_CHARACTERS = re.compile(r"[^a-z0-9_.-]+")


@dataclasses.dataclass(frozen=True)
class Replaced:
    """The served book a waiting one would replace: its title, its ZIM Date (else its installed version), its size."""

    title: str
    date: str
    size_bytes: int


@dataclasses.dataclass(frozen=True)
class WaitingBook:
    """A waiting book as the waiting list shows it: what it is, where it came from, and where it would be served."""

    id: int
    title: str
    language: str
    size_bytes: int
    article_count: int
    source: str  # the stick's device, or the folder it was mounted at
    original_name: str  # the file name on the stick
    arrived_at: str
    book_id: str  # the id it would be served under (/content/<book_id>/)
    replaces: Replaced | None
    note: str = ""  # e.g. a signed book keeps its name and this copy would be served as <id>_local

    @property
    def needs_admin(self) -> bool:
        """Replacing a book every class may be using is the administrator's decision."""
        return self.replaces is not None


@dataclasses.dataclass(frozen=True)
class Held:
    """What `hold` did with one checked file: "waiting" (kept for approval) or "unchanged" (nothing new)."""

    outcome: str
    book_id: str
    message: str


def wanted_id(zim: zimfile.ZimFile, original: Path) -> str:
    """The id a book asks for: its ZIM `Name` (else its file name), lower-cased, in plain file-name characters."""
    name = zim.metadata_text("Name") or original.stem
    return _ID_CHARACTERS.sub("_", name.lower()).strip("._-") or "book"


def served_as(paths: Paths, installed: InstalledPackages, wanted: str) -> tuple[str, str]:
    """The id an unsigned book would be served under, and a note when a signed (or hand-placed) book keeps `wanted`."""
    row = installed.get(wanted)
    if row is None and not activation.book_path(paths, wanted).exists():
        return wanted, ""
    if row is not None and row.channel == LOCAL_CHANNEL:
        return wanted, ""
    other = f"the signed book {wanted} ({row.channel})" if row else f"the book {wanted}.zim already in the library"
    return (
        f"{wanted}{LOCAL_SUFFIX}",
        f"{other} keeps its name; this unsigned copy would be served as {wanted}{LOCAL_SUFFIX}",
    )


def _replaced(paths: Paths, installed: InstalledPackages, book_id: str) -> Replaced | None:
    target = activation.book_path(paths, book_id)
    try:
        size = target.stat().st_size
    except FileNotFoundError:
        return None
    row = installed.get(book_id)
    try:
        zim = zimlayers.open_book(target)  # as served: with its layers, the version they make
        title, date = zim.metadata_text("Title") or book_id, zim.metadata_text("Date")
    except DamagedBookError:
        title, date = book_id, ""
    return Replaced(title, date or (row.version if row else ""), size)


def waiting_books(db: Database, paths: Paths) -> list[WaitingBook]:
    """Every book waiting for approval, oldest first, with what each would replace (the audit calls this)."""
    installed, found = InstalledPackages(db), []
    for row in WaitingBooks(db).all():
        if not (paths.books_waiting_dir / row.file).is_file():
            continue  # enabled when the power went (or removed by hand): `settle` forgets it
        book_id, note = served_as(paths, installed, row.wanted_id)
        found.append(
            WaitingBook(
                row.id,
                row.title,
                row.language,
                row.size_bytes,
                row.article_count,
                row.source,
                row.original_name,
                row.arrived_at,
                book_id,
                _replaced(paths, installed, book_id),
                note,
            )
        )
    return found


def settle(db: Database, paths: Paths) -> None:
    """After a power cut: forget rows whose file is gone (enabled, or rejected) and delete files no row names (a
    copy cut short, a rejection half done). Call under the sync lock."""
    table = WaitingBooks(db)
    rows = table.all()
    for row in rows:
        if not (paths.books_waiting_dir / row.file).is_file():
            table.delete(row.id)
    named = {row.file for row in rows}
    for path in paths.books_waiting_dir.iterdir() if paths.books_waiting_dir.is_dir() else ():
        if path.name not in named:
            path.unlink()


def hold(engine: Engine, staged: Path, original: Path, sha256: str, source: str) -> Held:
    """Keep a staged file libzim has checked in the waiting folder, recorded, unless the library or the waiting list
    already has these bytes. Call under the sync lock; `staged` is moved (a rename on the same disk)."""
    zim = zimfile.ZimFile(staged)
    wanted = wanted_id(zim, original)
    if _served_copy(engine.paths, wanted, zim.uuid):  # else it waited, and was served twice as <id>_local
        return Held("unchanged", wanted, "already in the library")
    book_id, note = served_as(engine.paths, engine.installed, wanted)
    row = engine.installed.get(book_id)
    if row is not None and row.sha256 == sha256:
        return Held("unchanged", book_id, "already in the library")
    table = WaitingBooks(engine.db)
    if table.by_sha256(sha256) is not None:
        return Held("unchanged", book_id, "already waiting for approval")
    replaced = _replaced(engine.paths, engine.installed, book_id)
    file = f"{sha256}.zim"
    fsync_path(staged)
    os.replace(staged, engine.paths.books_waiting_dir / file)
    fsync_path(engine.paths.books_waiting_dir)
    table.add(
        Waiting(
            0,
            file,
            wanted,
            zim.metadata_text("Title") or wanted,
            zim.metadata_text("Language"),
            zim.metadata_text("Date") or "local",
            zim.size_bytes,
            zim.article_count,
            sha256,
            source,
            original.name,
            _utc(engine),
        )
    )
    would = f"would replace {replaced.title} ({replaced.date}, {replaced.size_bytes:,} bytes)" if replaced else ""
    return Held("waiting", book_id, "; ".join(part for part in (would, note) if part))


def _served_copy(paths: Paths, book_id: str, uuid: str) -> bool:
    """Whether the book served as `book_id` is this very ZIM (the same UUID: a copy of it, signed or placed by hand)."""
    target = activation.book_path(paths, book_id)
    if not target.is_file():
        return False
    try:
        return zimlayers.open_book(target).uuid == uuid  # a layered book is served under its result's uuid
    except DamagedBookError:
        return False


def _utc(engine: Engine) -> str:
    return engine.clock().astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _waiting(table: WaitingBooks, paths: Paths, waiting_id: int) -> Waiting:
    row = table.get(waiting_id)
    if row is None or not (paths.books_waiting_dir / row.file).is_file():
        raise NotVisibleError(
            f"No book with number {waiting_id} is waiting for approval.",
            code="books.not_waiting",
            cause="It was enabled or removed already (by someone else, or on another page).",
            fix="Open /admin/books (or run `tpkit books waiting`) for the books still waiting.",
        )
    return row


def enable(settings: Settings, db: Database, viewer: access.Viewer | None, waiting_id: int) -> WaitingBook:
    """Serve a waiting book, under the sync lock, with the sync's atomic switch: the library serves the old book or
    the new one whole, never neither (a power cut is settled by the next sync or enable). The book as it was listed."""
    from appliance.services.sync.engine import Engine

    viewer = access.require(viewer, *access.STAFF)
    engine = Engine(settings, db, peers={})
    engine.paths.ensure()
    with engine.locked():
        activation.recover(engine.paths, engine.installed)
        settle(db, engine.paths)
        table = WaitingBooks(db)
        row = _waiting(table, engine.paths, waiting_id)
        (book,) = [b for b in waiting_books(db, engine.paths) if b.id == waiting_id]
        if book.needs_admin and viewer["role"] != "admin":
            raise AccessDeniedError(
                f"{book.title} would replace the book {book.book_id} that every class may be using.",
                code="books.replace_needs_admin",
                fix="Ask the administrator to enable it on /admin, or remove it from the waiting list.",
            )
        run_id = engine.runs.start(_utc(engine))
        package = {"id": book.book_id, "version": row.version, "sha256": row.sha256, "size_bytes": row.size_bytes}
        activation.activate(
            engine.paths, engine.installed, package, LOCAL_CHANNEL, engine.paths.books_waiting_dir / row.file, run_id
        )
        table.delete(waiting_id)
        engine.runs.finish(
            run_id,
            _utc(engine),
            RunResult(
                "ok",
                "done",
                f"Unsigned book {book.book_id} enabled from the waiting list by {viewer['username']}.",
                added=int(book.replaces is None),
                updated=int(book.replaces is not None),
            ),
        )
    return book


def reject(settings: Settings, db: Database, viewer: access.Viewer | None, waiting_id: int) -> Waiting:
    """Delete a waiting book (the row first: a power cut leaves a stray file that `settle` deletes). The row."""
    from appliance.services.sync.engine import Engine

    access.require(viewer, *access.STAFF)
    engine = Engine(settings, db, peers={})
    engine.paths.ensure()
    with engine.locked():
        table = WaitingBooks(db)
        row = _waiting(table, engine.paths, waiting_id)
        table.delete(waiting_id)
        (engine.paths.books_waiting_dir / row.file).unlink(missing_ok=True)
        fsync_path(engine.paths.books_waiting_dir)
    return row
