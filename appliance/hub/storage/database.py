"""The hub's database: SQLite (default, a file under hub_data_dir) or PostgreSQL (hub_database_url), one interface.

Both run the same SQL (written with `?` placeholders, types both accept) and the same numbered migrations in
`hub/storage/migrations/`. Connections are per thread and hold no state between requests, so any number of worker
processes can share one database. Must not import web or cli.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from appliance.errors import HubUnavailableError, StorageError

log = logging.getLogger(__name__)

# A writer waits this long for SQLite's file lock (other workers writing) before the request gets a 503.
BUSY_TIMEOUT_MS = 10_000
MIGRATION_LOCK = 7_461_746  # PostgreSQL advisory lock id: one process migrates at a time ("tpkit" on a keypad)


def migrations() -> list[tuple[int, str, list[str]]]:
    """Numbered `NNNN_name.sql` files of the hub, in order, each split into statements (no `;` inside comments)."""
    found = []
    for item in resources.files("appliance.hub.storage.migrations").iterdir():
        if item.name.endswith(".sql"):
            number, _, rest = item.name.partition("_")
            statements = [s.strip() for s in item.read_text(encoding="utf-8").split(";") if s.strip()]
            found.append((int(number), rest.removesuffix(".sql"), statements))
    return sorted(found)


def unavailable(exc: Exception, what: str) -> HubUnavailableError:
    return HubUnavailableError(
        f"The hub's database cannot be used right now ({what}: {exc}).",
        cause="The database server is restarting or unreachable, or another process "
        "holds the SQLite file locked for too long.",
        fix="Kits retry by themselves. If it lasts, check the database (systemctl status "
        "postgresql; df -h) and hub_database_url.",
    )


def _sqlite_error(exc: sqlite3.Error, path: Path) -> Exception:
    """Locked or busy: the 503 a sender retries; anything else (no such table, a damaged file): a storage fault."""
    if isinstance(exc, sqlite3.OperationalError) and any(w in str(exc) for w in ("locked", "busy")):
        return unavailable(exc, "SQLite")
    return StorageError(
        f"The hub database {path} cannot be used: {exc}.",
        cause="It was not migrated (an older tpkit, or another file), or it is damaged.",
        fix="Run `tpkit hub kit list` once (it migrates); check the disk (df -h; dmesg).",
    )


class Transaction:
    """The statements of one transaction; `execute` returns the rows as dicts, `changed` the rows touched."""

    def __init__(self, cursor, placeholder: str) -> None:
        self._cursor = cursor
        self._placeholder = placeholder
        self.changed = 0

    def execute(self, sql: str, params: tuple | list = ()) -> list[dict[str, Any]]:
        if self._placeholder != "?":
            sql = sql.replace("?", self._placeholder)
        self._cursor.execute(sql, tuple(params))
        self.changed = self._cursor.rowcount
        if self._cursor.description is None:
            return []
        return [dict(row) for row in self._cursor.fetchall()]


class SqliteHub:
    """The hub in one SQLite file, WAL mode; writers serialise with `BEGIN IMMEDIATE` across processes."""

    backend = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []  # every thread's connection, so close() can close them all
        self._opened_lock = threading.Lock()
        # Threads of one process queue here for their turn to write, instead of all polling SQLite's file lock
        # (its busy handler sleeps and retries, so under load some writers starve past the busy timeout);
        # only the processes then contend for the file.
        self._write_lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._connection().execute("PRAGMA journal_mode=WAL")
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(
                f"Cannot open the hub database {path}: {exc}.",
                cause="The folder is not writable, or the file is damaged.",
                fix="Set hub_data_dir to a writable folder, or check the disk (df -h; dmesg).",
            ) from exc

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA synchronous=FULL")  # an accepted report (201) survives a power cut
            self._local.conn = conn
            with self._opened_lock:
                self._opened.append(conn)
        return conn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One write transaction, committed on success and rolled back on error; 503 while the file stays locked."""
        conn = self._connection()
        if not self._write_lock.acquire(timeout=BUSY_TIMEOUT_MS / 1000):
            raise unavailable(TimeoutError("other requests of this worker hold the write turn"), "SQLite")
        try:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise _sqlite_error(exc, self.path) from exc
            try:
                yield Transaction(conn.cursor(), "?")
            except sqlite3.Error as exc:
                conn.execute("ROLLBACK")
                raise _sqlite_error(exc, self.path) from exc
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            try:
                conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                conn.execute("ROLLBACK")
                raise _sqlite_error(exc, self.path) from exc
        finally:
            self._write_lock.release()

    def query(self, sql: str, params: tuple | list = ()) -> list[dict[str, Any]]:
        """Rows of one read, as dicts."""
        try:
            return [dict(row) for row in self._connection().execute(sql, tuple(params)).fetchall()]
        except sqlite3.Error as exc:
            raise _sqlite_error(exc, self.path) from exc

    def lock_for_migration(self, tx: Transaction) -> None:
        """Nothing to do: `BEGIN IMMEDIATE` already keeps other processes out."""

    def close(self) -> None:
        """Close every thread's connection (at shutdown)."""
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()
        self._local = threading.local()


def migrate(db) -> int:
    """Apply every hub migration not yet applied, one transaction each (one process at a time); return the version."""
    version = 0
    for number, name, statements in migrations():
        with db.transaction() as tx:
            db.lock_for_migration(tx)
            tx.execute(
                "CREATE TABLE IF NOT EXISTS hub_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                "applied_at DOUBLE PRECISION NOT NULL)"
            )
            if tx.execute("SELECT version FROM hub_migrations WHERE version = ?", (number,)):
                version = number
                continue
            log.info("hub database (%s): migration %04d %s", db.backend, number, name)
            for statement in statements:
                tx.execute(statement)
            tx.execute(
                "INSERT INTO hub_migrations (version, name, applied_at) VALUES (?, ?, ?)", (number, name, time.time())
            )
            version = number
    return version
