"""SQLite in WAL mode: one writer connection that serialises writes, read-only readers per thread.

Must not import services, content, edges or web.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from appliance.errors import DiskFullError, StorageError

log = logging.getLogger(__name__)

# Readers wait this long for the writer's lock before failing; a class hammering the kit should queue, not error.
BUSY_TIMEOUT_MS = 5000
# What a disk must have free for the database to take changes again: the write-ahead log grows by up to ~4 MB
# (1000 pages) between checkpoints, plus the change itself.
DATABASE_ROOM_MB = 10


def is_disk_full(exc: sqlite3.Error) -> bool:
    """Whether SQLite failed because the disk (or the file system's quota) is full."""
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "disk is full" in str(exc)


def disk_full(path: Path, exc: BaseException) -> DiskFullError:
    """The error for a database at `path` whose disk is full: how much is free, how much to free."""
    try:
        free = f"{shutil.disk_usage(path.parent).free / 2**20:.1f} MB free"
    except OSError:
        free = "free space unknown"
    return DiskFullError(
        f"The disk holding the kit's database {path} is full ({free}): SQLite could not save a change ({exc}); "
        "nothing of that change was kept.",
        cause="Books, backups or logs filled the disk.",
        fix=f"Free at least {DATABASE_ROOM_MB} MB on that disk (df -h {path.parent}): delete books the kit no longer "
        "needs or old backups, then run the command again.",
    )


def inserted_id(cursor: sqlite3.Cursor) -> int:
    """The rowid of the row an INSERT through `cursor` just added (typed `int | None` only for cursors with no INSERT)."""
    assert cursor.lastrowid is not None, "inserted_id() after a statement that inserted nothing"
    return cursor.lastrowid


def _migrations() -> list[tuple[int, str, str]]:
    """Numbered `NNNN_name.sql` files shipped in the package, in order."""
    found = []
    for item in resources.files("appliance.storage.migrations").iterdir():
        if item.name.endswith(".sql"):
            number, _, rest = item.name.partition("_")
            found.append((int(number), rest.removesuffix(".sql"), item.read_text(encoding="utf-8")))
    return sorted(found)


class Database:
    """The kit's database file. Writes go through `write()`; reads through `read()`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._write_lock = threading.Lock()
        self._local = threading.local()
        try:
            self._writer = self._connect(readonly=False)
            self._writer.execute("PRAGMA journal_mode=WAL")
        except sqlite3.Error as exc:
            if is_disk_full(exc):
                raise disk_full(path, exc) from exc
            raise StorageError(
                f"Cannot open the database {path}: {exc}.",
                cause="The file is damaged, or the folder is not writable.",
                fix=f"Check the disk (df -h; dmesg), or restore it with `tpkit restore` from a backup of {path}.",
            ) from exc

    def _connect(self, readonly: bool) -> sqlite3.Connection:
        uri = f"file:{self.path}?mode={'ro' if readonly else 'rwc'}"
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys=ON")
        # FULL: a teacher's acknowledged save survives a power cut (PRODUCT.md: nothing saved may be lost).
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    def migrate(self, upto: int | None = None) -> int:
        """Apply every migration newer than `PRAGMA user_version` (up to `upto`, for tests that build an older
        database), one transaction each; return the version."""
        version = self._writer.execute("PRAGMA user_version").fetchone()[0]
        for number, name, sql in _migrations():
            if number <= version or (upto is not None and number > upto):
                continue
            log.info("database %s: migration %04d %s", self.path.name, number, name)
            with self.write() as conn:
                conn.executescript(f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version={number};\nCOMMIT;")
            version = number
        return version

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """The writer connection, held alone by this thread for the block (use `transaction()` for DML). A full
        disk ends the block with a DiskFullError."""
        with self._write_lock:
            try:
                yield self._writer
            except sqlite3.OperationalError as exc:
                if is_disk_full(exc):
                    raise disk_full(self.path, exc) from exc
                raise

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A `BEGIN IMMEDIATE` transaction on the writer: committed on success, rolled back on error (a COMMIT that
        fails, on a full disk, too: SQLite may leave the transaction open, and the next BEGIN would fail)."""
        with self.write() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def read(self) -> sqlite3.Connection:
        """This thread's read-only connection."""
        conn = getattr(self._local, "reader", None)
        if conn is None:
            conn = self._local.reader = self._connect(readonly=True)
        return conn

    def backup_to(self, target: Path) -> None:
        """Copy the database to `target` while the kit runs (SQLite's online backup; writers are not blocked)."""
        source = self._connect(readonly=True)
        try:
            copy = sqlite3.connect(target, isolation_level=None)
            try:
                source.backup(copy)
                copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
            finally:
                copy.close()
        except sqlite3.Error as exc:
            raise StorageError(
                f"Cannot copy the database {self.path} to {target}: {exc}.",
                cause="The target disk is full or not writable, or the database is damaged.",
                fix=f"Free space where {target} goes (df -h), then try again.",
            ) from exc
        finally:
            source.close()

    def close(self) -> None:
        """Close the writer; reader connections close with their threads."""
        with self._write_lock:
            self._writer.close()


def latest_version() -> int:
    """The highest migration number this software knows."""
    return max((number for number, _, _ in _migrations()), default=0)


def check_file(path: Path) -> tuple[bool, int]:
    """(whether `PRAGMA integrity_check` passes, its `user_version`) of a database file, opened read-only."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            ok = conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            return ok, conn.execute("PRAGMA user_version").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return False, 0
