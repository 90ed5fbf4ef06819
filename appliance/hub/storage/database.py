"""The hub's database: SQLite (default, a file under hub_data_dir) or PostgreSQL (hub_database_url), one interface.

Both run the same SQL (written with `?` placeholders, types both accept) and the same numbered migrations in
`hub/storage/migrations/`. A connection is lent for one call and given back, never kept by a thread, and holds no
state between calls, so any number of worker processes can share one database. Must not import web or cli.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from appliance.errors import HubUnavailableError, StorageError
from appliance.hub.storage import retention

log = logging.getLogger(__name__)

# A writer waits this long for SQLite's file lock (other workers writing) before the request gets a 503.
BUSY_TIMEOUT_MS = 10_000
# Connections a worker process keeps (hub_database_pool_size's default): PostgreSQL's at most, SQLite's while idle.
POOL_SIZE = 8
MIGRATION_LOCK = 7_461_746  # PostgreSQL advisory lock id: one process migrates at a time ("tpkit" on a keypad)


def migrations(backend: str) -> list[tuple[int, str, list[str]]]:
    """Numbered `NNNN_name.sql` files of the hub, in order, each split into statements (no `;` inside comments).

    A migration one backend needs in its own SQL comes as two files, `NNNN_name.sqlite.sql` and
    `NNNN_name.postgresql.sql`: each backend runs its own (one number, one name, either way)."""
    found = []
    for item in resources.files("appliance.hub.storage.migrations").iterdir():
        if not item.name.endswith(".sql"):
            continue
        number, _, rest = item.name.partition("_")
        name, _, variant = rest.removesuffix(".sql").partition(".")
        if variant and variant != backend:
            continue
        statements = [s.strip() for s in item.read_text(encoding="utf-8").split(";") if s.strip()]
        found.append((int(number), name, statements))
    return sorted(found)


def unavailable(exc: Exception, what: str) -> HubUnavailableError:
    return HubUnavailableError(
        f"The hub's database cannot be used right now ({what}: {exc}).",
        cause="The database server is restarting or unreachable, every connection of this worker "
        "(hub_database_pool_size) stayed in use, or another process holds the SQLite file locked for too long.",
        fix="Kits retry by themselves. If it lasts, check the database (systemctl status "
        "postgresql; df -h) and hub_database_url; under load with the database up, raise hub_database_pool_size.",
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
    """The hub in one SQLite file, WAL mode; writers serialise with `BEGIN IMMEDIATE` across processes.

    A call borrows an idle connection of this process (the one given back last: its cache is warmest) or opens one,
    and gives it back after; at most `pool_size` are kept idle, any more are closed, so threads that come and go
    leave no file handle behind (issue 20). A forked child never uses its parent's connections (SQLite forbids
    carrying one across fork()): it opens its own and leaves those alone, not even closed.
    """

    backend = "sqlite"

    def __init__(self, path: Path, pool_size: int = POOL_SIZE) -> None:
        self.path = path
        self.pool_size = pool_size
        self._idle: list[sqlite3.Connection] = []  # a stack: the last given back is lent first
        self._idle_pid = os.getpid()  # the process that opened the idle connections
        self._inherited: list[sqlite3.Connection] = []  # a parent's: kept, never used nor closed
        self._idle_lock = threading.Lock()
        # Threads of one process queue here for their turn to write, instead of all polling SQLite's file lock
        # (its busy handler sleeps and retries, so under load some writers starve past the busy timeout);
        # only the processes then contend for the file.
        self._write_lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with self._borrowed() as conn:
                conn.execute("PRAGMA journal_mode=WAL")
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(
                f"Cannot open the hub database {path}: {exc}.",
                cause="The folder is not writable, or the file is damaged.",
                fix="Set hub_data_dir to a writable folder, or check the disk (df -h; dmesg).",
            ) from exc

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=FULL")  # an accepted report (201) survives a power cut
        return conn

    @contextlib.contextmanager
    def _borrowed(self) -> Iterator[sqlite3.Connection]:
        """A connection for one call, kept for the next unless `pool_size` are idle already. sqlite3's errors pass."""
        with self._idle_lock:
            if self._idle_pid != os.getpid():  # a fork's copy of the parent's: see the class docstring
                self._inherited += self._idle
                self._idle, self._idle_pid = [], os.getpid()
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self._open()
        try:
            yield conn
        finally:
            self._give_back(conn)

    def _give_back(self, conn: sqlite3.Connection) -> None:
        if not conn.in_transaction:  # else a ROLLBACK failed: closing the connection rolls it back
            with self._idle_lock:
                if self._idle_pid == os.getpid() and len(self._idle) < self.pool_size:
                    self._idle.append(conn)
                    return
        conn.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One write transaction, committed on success and rolled back on error; 503 while the file stays locked."""
        if not self._write_lock.acquire(timeout=BUSY_TIMEOUT_MS / 1000):
            raise unavailable(TimeoutError("other requests of this worker hold the write turn"), "SQLite")
        try:
            with self._borrowed() as conn:
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
            with self._borrowed() as conn:
                return [dict(row) for row in conn.execute(sql, tuple(params)).fetchall()]
        except sqlite3.Error as exc:
            raise _sqlite_error(exc, self.path) from exc

    def lock_for_migration(self, tx: Transaction) -> None:
        """Nothing to do: `BEGIN IMMEDIATE` already keeps other processes out."""

    def close(self) -> None:
        """Close this process's idle connections (at shutdown, and before forking workers); the next call opens one."""
        with self._idle_lock:
            idle, self._idle = self._idle, []
            if self._idle_pid != os.getpid():
                self._inherited += idle
                idle, self._idle_pid = [], os.getpid()
        for conn in idle:
            conn.close()


def migrate(db, upto: int | None = None) -> int:
    """Apply every hub migration not yet applied, one transaction each (one process at a time); return the version.
    `upto`: only those numbered up to it (tests and bench/hub_storage.py make an older hub's database so)."""
    version = 0
    for number, name, statements in migrations(db.backend):
        if upto is not None and number > upto:
            break
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
    if upto is None:  # PostgreSQL's day partitions (migration 0009): a fresh hub works
        retention.ensure_days(db, time.time(), retention.AHEAD_DAYS)
    return version
