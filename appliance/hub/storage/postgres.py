"""The hub's PostgreSQL backend: the only module that imports psycopg. Same interface as `database.SqliteHub`.

Must not import web or cli. A connection per thread, reopened after the server restarts; while it cannot be
reached every call raises HubUnavailableError (503), so nothing half-stored is ever acknowledged.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg.rows import dict_row

from appliance.hub.storage.database import MIGRATION_LOCK, Transaction, unavailable

CONNECT_TIMEOUT_S = 5  # a request waits at most this long for an unreachable server before its 503


class PostgresHub:
    """The hub in a PostgreSQL database named by a `postgresql://` URL."""

    backend = "postgresql"

    def __init__(self, url: str) -> None:
        self.url = url
        self._local = threading.local()
        self._opened: list[psycopg.Connection] = []  # every thread's connection, so close() can close them all
        self._opened_lock = threading.Lock()

    def _connection(self) -> psycopg.Connection[dict[str, Any]]:
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.broken:
            self._drop()
            conn = psycopg.connect(self.url, autocommit=True, row_factory=dict_row, connect_timeout=CONNECT_TIMEOUT_S)
            self._local.conn = conn
            with self._opened_lock:
                self._opened.append(conn)
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with self._opened_lock:
                self._opened.remove(conn)
            with contextlib.suppress(psycopg.Error):
                conn.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One transaction, committed on success and rolled back on error; 503 when the server is unreachable."""
        try:
            conn = self._connection()
            with conn.transaction(), conn.cursor() as cursor:
                yield Transaction(cursor, "%s")
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            self._drop()
            raise unavailable(exc, "PostgreSQL") from exc

    def statement(self, sql: str, params: tuple | list = ()) -> list[dict[str, Any]]:
        """Rows of one statement that may write, in its own transaction, committed when this returns (one round
        trip). Never retried: whether a statement cut off by the server took effect is unknown, so the caller
        gets its 503 and the kit resends (ingest is idempotent)."""
        try:
            with self._connection().cursor() as cursor:
                cursor.execute(sql.replace("?", "%s"), tuple(params))
                return list(cursor.fetchall()) if cursor.description is not None else []
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            self._drop()
            raise unavailable(exc, "PostgreSQL") from exc

    def query(self, sql: str, params: tuple | list = ()) -> list[dict[str, Any]]:
        """Rows of one read, as dicts. A read on a connection the server cut (a restart) is tried once more on a
        new one: reading twice is harmless, and the first request after a restart then succeeds."""
        reused = getattr(self._local, "conn", None) is not None
        try:
            return self._read(sql, params)
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            self._drop()
            if not reused:
                raise unavailable(exc, "PostgreSQL") from exc
        try:
            return self._read(sql, params)
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            self._drop()
            raise unavailable(exc, "PostgreSQL") from exc

    def _read(self, sql: str, params: tuple | list) -> list[dict[str, Any]]:
        with self._connection().cursor() as cursor:
            cursor.execute(sql.replace("?", "%s"), tuple(params))
            return list(cursor.fetchall())

    def lock_for_migration(self, tx: Transaction) -> None:
        """Keep other hub processes out of the migrations until this transaction ends."""
        tx.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))

    def close(self) -> None:
        """Close every thread's connection (at shutdown)."""
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            with contextlib.suppress(psycopg.Error):
                conn.close()
        self._local = threading.local()
