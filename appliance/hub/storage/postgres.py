"""The hub's PostgreSQL backend: the only module that imports psycopg and psycopg_pool. Same interface as
`database.SqliteHub`. Must not import web or cli.

Connections come from one bounded pool per process (psycopg_pool.ConnectionPool), lent for one call and given back;
no thread keeps one (issue 20: each thread kept its own, the ASGI thread pool retired idle threads, and the
connections they left open piled up until PostgreSQL refused new clients). A process holds at most `pool_size`,
keeps one open, and closes those idle for MAX_IDLE_S (one each MAX_IDLE_S, down to one). A call that gets no
connection within POOL_TIMEOUT_S (all in use, or the server unreachable) raises HubUnavailableError (503), so
nothing half-stored is ever acknowledged.

The pool runs threads of its own (a scheduler and POOL_WORKERS workers that open and replace connections), so it
is opened on first use in a process and remembered with that process's id. A forked child never uses a pool its
parent opened (the pool's threads did not survive the fork, and its sockets are the parent's sessions): it opens
its own and leaves the inherited one alone, not even closed, which would end the parent's sessions. `tpkit hub
serve` closes its pool before it forks its workers anyway (cli/common.run_server: a parent with threads must not
fork), and a closed pool is replaced by a new one on the next call.

When the server cuts a connection (a restart cuts them all), the pool is drained: its idle connections are closed
and replaced, and those lent out are replaced when given back, so the next call runs on a new one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from appliance.hub.storage.database import MIGRATION_LOCK, POOL_SIZE, Transaction, unavailable

CONNECT_TIMEOUT_S = 5  # a new connection waits at most this long for an unreachable server
# A call waits at most this long for a connection (a free one, or a new one) before its 503; kits retry later.
POOL_TIMEOUT_S = 5.0
# A connection unused this long is closed (the pool closes one per period, down to one), so a quiet hub holds one.
MAX_IDLE_S = 60.0
# The pool's own threads that open and replace connections: two, so one slow connect does not hold up the other.
POOL_WORKERS = 2
APPLICATION_NAME = "tpkit-hub"  # how pg_stat_activity names the hub's connections
DISCONNECTED = (psycopg.OperationalError, psycopg.InterfaceError)

Connection = psycopg.Connection[DictRow]


def _configure(connection: Connection) -> None:
    """Each new connection: no JIT compiling. The hub's statements are short; PostgreSQL 15 compiled the alerts'
    and /metrics' scans of 100,000 kits (over its jit_above_cost) and spent 94 ms of a 197 ms query doing it."""
    connection.execute("SET jit = off")


class PostgresHub:
    """The hub in a PostgreSQL database named by a `postgresql://` URL, at most `pool_size` connections a process."""

    backend = "postgresql"

    def __init__(self, url: str, pool_size: int = POOL_SIZE) -> None:
        self.url = url
        self.pool_size = pool_size
        self._pool: ConnectionPool[Connection] | None = None
        self._pool_pid = 0  # the process that opened self._pool
        self._inherited: list[ConnectionPool[Connection]] = []  # a parent's pools: kept, never used nor closed
        self._pool_lock = threading.Lock()

    def _connections(self) -> ConnectionPool[Connection]:
        pool = self._pool
        if pool is not None and self._pool_pid == os.getpid():
            return pool
        with self._pool_lock:
            if self._pool is not None and self._pool_pid != os.getpid():
                self._inherited.append(self._pool)  # a fork's copy of the parent's: see the module docstring
                self._pool = None
            if self._pool is None:
                self._pool = self._open_pool()
                self._pool_pid = os.getpid()
            return self._pool

    def _open_pool(self) -> ConnectionPool[Connection]:
        # The pool logs three INFO lines a call (requested, given, returned); its warnings (a failed connect, a
        # broken connection discarded) still reach the journal.
        logging.getLogger("psycopg.pool").setLevel(logging.WARNING)
        pool = ConnectionPool(
            self.url,
            connection_class=Connection,
            kwargs={
                "autocommit": True,
                "row_factory": dict_row,
                "connect_timeout": CONNECT_TIMEOUT_S,
                "application_name": APPLICATION_NAME,
            },
            min_size=1,
            max_size=self.pool_size,
            timeout=POOL_TIMEOUT_S,
            max_idle=MAX_IDLE_S,
            num_workers=POOL_WORKERS,
            name=APPLICATION_NAME,
            configure=_configure,
            open=False,
        )
        pool.open()  # returns at once: the first connection is made by the pool's threads, and waited for by a call
        return pool

    @contextlib.contextmanager
    def _borrowed(self) -> Iterator[Connection]:
        """A connection of this process's pool for one call, given back after it (replaced, when broken); drains
        the pool when the server cut it. psycopg's errors pass through."""
        pool = self._connections()
        conn = pool.getconn()
        try:
            yield conn
        except DISCONNECTED:
            if conn.broken or conn.closed:
                pool.drain()
            raise
        finally:
            pool.putconn(conn)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One transaction, committed on success and rolled back on error; 503 when the server is unreachable."""
        try:
            with self._borrowed() as conn, conn.transaction(), conn.cursor() as cursor:
                yield Transaction(cursor, "%s")
        except DISCONNECTED as exc:
            raise unavailable(exc, "PostgreSQL") from exc

    def statement(self, sql: str, params: tuple | list = ()) -> list[dict[str, Any]]:
        """Rows of one statement that may write, in its own transaction, committed when this returns (one round
        trip). Never retried: whether a statement cut off by the server took effect is unknown, so the caller
        gets its 503 and the kit resends (ingest is idempotent)."""
        try:
            with self._borrowed() as conn, conn.cursor() as cursor:
                cursor.execute(sql.replace("?", "%s"), tuple(params))
                return list(cursor.fetchall()) if cursor.description is not None else []
        except DISCONNECTED as exc:
            raise unavailable(exc, "PostgreSQL") from exc

    def query(self, sql: str, params: tuple | list = ()) -> list[dict[str, Any]]:
        """Rows of one read, as dicts. A read that failed on its connection (the server cut it: a restart) is tried
        once more, on a new connection: reading twice is harmless, and the first request after a restart then
        succeeds. A call that got no connection at all is not tried again."""
        try:
            return self._read(sql, params)
        except (PoolTimeout, PoolClosed) as exc:
            raise unavailable(exc, "PostgreSQL") from exc
        except DISCONNECTED:
            pass
        try:
            return self._read(sql, params)
        except DISCONNECTED as exc:
            raise unavailable(exc, "PostgreSQL") from exc

    def _read(self, sql: str, params: tuple | list) -> list[dict[str, Any]]:
        with self._borrowed() as conn, conn.cursor() as cursor:
            cursor.execute(sql.replace("?", "%s"), tuple(params))
            return list(cursor.fetchall())

    def lock_for_migration(self, tx: Transaction) -> None:
        """Keep other hub processes out of the migrations until this transaction ends."""
        tx.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))

    def close(self) -> None:
        """Close this process's pool and stop its threads (at shutdown, and before forking workers); a connection
        still lent out is closed when given back. The next call opens a new pool."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is None:
            return
        if self._pool_pid == os.getpid():
            pool.close()
        else:
            self._inherited.append(pool)
