"""The hub's PostgreSQL backend: the only module that imports psycopg. Same interface as `database.SqliteHub`,
plus `statement`, and `statement_async` / `query_async` for the kits' reports on the event loop.

Must not import web or cli. A connection per thread (and a small pool of async connections per event loop),
reopened after the server restarts; while it cannot be reached every call raises HubUnavailableError (503), so
nothing half-stored is ever acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import weakref
from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg.rows import dict_row

from appliance.hub.database import MIGRATION_LOCK, Transaction, unavailable

CONNECT_TIMEOUT_S = 5  # a request waits at most this long for an unreachable server before its 503


class PostgresHub:
    """The hub in a PostgreSQL database named by a `postgresql://` URL."""

    backend = "postgresql"

    def __init__(self, url: str, async_connections: int = 16) -> None:
        self.url = url
        self._local = threading.local()
        self._opened: list[psycopg.Connection] = []  # every thread's connection, so close() can close them all
        self._opened_lock = threading.Lock()
        # Async connections belong to the event loop that opened them (a worker has one): per loop, a bound on
        # them and the idle ones.
        self._async_connections = async_connections
        self._pools: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def _connection(self) -> psycopg.Connection:
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

    def _pool(self) -> tuple[asyncio.Semaphore, list[psycopg.AsyncConnection]]:
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            pool = self._pools[loop] = (asyncio.Semaphore(self._async_connections), [])
        return pool

    async def _async_run(self, sql: str, params: tuple | list) -> list[dict[str, Any]]:
        slots, idle = self._pool()
        async with slots:
            conn = idle.pop() if idle else None
            reused = conn is not None
            try:
                if conn is None:
                    conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True, row_factory=dict_row,
                                                                 connect_timeout=CONNECT_TIMEOUT_S)
                async with conn.cursor() as cursor:
                    await cursor.execute(sql.replace("?", "%s"), tuple(params))
                    rows = await cursor.fetchall() if cursor.description is not None else []
            except BaseException as exc:
                # Cut off (a server restart, a cancelled request): the connection's state is unknown, never reuse it.
                if conn is not None:
                    with contextlib.suppress(psycopg.Error):
                        await conn.close()
                if isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError)):
                    raise _AsyncCut(exc, reused) from exc
                raise
            idle.append(conn)
            return rows

    async def statement_async(self, sql: str, params: tuple | list = ()) -> list[dict[str, Any]]:
        """`statement` on the event loop: committed when it returns, never retried, 503 when the server is gone."""
        try:
            return await self._async_run(sql, params)
        except _AsyncCut as cut:
            raise unavailable(cut.error, "PostgreSQL") from cut.error

    async def query_async(self, sql: str, params: tuple | list = ()) -> list[dict[str, Any]]:
        """`query` on the event loop: a read on a connection the server cut is tried once more on a new one."""
        try:
            return await self._async_run(sql, params)
        except _AsyncCut as cut:
            if not cut.reused:
                raise unavailable(cut.error, "PostgreSQL") from cut.error
        try:
            return await self._async_run(sql, params)
        except _AsyncCut as cut:
            raise unavailable(cut.error, "PostgreSQL") from cut.error

    async def aclose(self) -> None:
        """Close this event loop's async connections (at shutdown)."""
        _, idle = self._pools.pop(asyncio.get_running_loop(), (None, []))
        for conn in idle:
            with contextlib.suppress(psycopg.Error):
                await conn.close()

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


class _AsyncCut(Exception):
    """An async connection failed; `reused` when it had served before (so a restart may have cut it)."""

    def __init__(self, error: Exception, reused: bool) -> None:
        super().__init__(str(error))
        self.error, self.reused = error, reused
