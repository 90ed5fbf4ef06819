"""A real `tpkit hub serve` holds a bounded number of database connections however its thread pool comes and goes
(issue 20, item 1): bursts of concurrent dashboard pages, further apart than the idle time after which the ASGI
thread pool retires its threads (anyio: 10 s), counted on the server side after each burst: PostgreSQL's
pg_stat_activity, or the workers' open descriptors of the SQLite file. A connection kept per thread would be left
behind by every burst (on PostgreSQL until "too many clients" refused the pages with 503)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from appliance.hub.storage.backend import database_path
from appliance.hub.storage.database import POOL_SIZE  # hub_database_pool_size's default: the bound a worker
from tests.conftest import free_port
from tests.hub.conftest import POSTGRES_URL

WORKERS = 2  # `tpkit hub serve`'s default
BURSTS = 4
REQUESTS = 60  # concurrent pages a burst
GAP_S = 11.5  # longer than anyio's 10 s idle retirement of a worker thread: the point of the test
PAGES = ("/", "/alerts", "/rollout", "/fleet.csv")


@contextlib.contextmanager
def hub_serving(settings, log: Path) -> Iterator[tuple[subprocess.Popen, str, str]]:
    """`tpkit hub serve` with its default workers on a loopback port: the process, its URL and the one-time
    technician password it printed."""
    port = free_port()
    env = {
        **os.environ,
        "TPKIT_HUB_DATA_DIR": str(settings.hub_data_dir),
        "TPKIT_HUB_DATABASE_URL": settings.hub_database_url,
        "TPKIT_LOG_LEVEL": "warning",
    }
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "appliance", "hub", "serve", "--hub-port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            printed = re.search(r"password \(user 'technician'\): (\S+)", log.read_text())
            with contextlib.suppress(httpx.TransportError):
                if printed and httpx.get(url + "/-/alive").status_code == 200:
                    break
            assert time.monotonic() < deadline and server.poll() is None, log.read_text()
            time.sleep(0.2)
        yield server, url, printed.group(1)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def signed_in(client: httpx.Client, password: str) -> None:
    """Signed in as the first technician, its one-time password changed (until then only /password opens)."""
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/signin").text).group(1)
    assert client.post("/signin", data={"csrf": csrf, "username": "technician", "password": password}).is_redirect
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/password").text).group(1)
    form = {"csrf": csrf, "current": password, "password": "a county password"}
    assert client.post("/password", data=form).is_redirect


def page(client: httpx.Client, start: threading.Barrier, n: int) -> int:
    start.wait(timeout=30)
    return client.get(PAGES[n % len(PAGES)]).status_code


def bursts(client: httpx.Client, count_connections) -> tuple[list[int], list[int]]:
    """Every status of `BURSTS` bursts of `REQUESTS` concurrent pages, `GAP_S` apart, and the connections counted
    after each."""
    statuses: list[int] = []
    counts: list[int] = []
    with ThreadPoolExecutor(REQUESTS) as senders:
        for burst in range(BURSTS):
            if burst:
                time.sleep(GAP_S)
            start = threading.Barrier(REQUESTS)  # the pages leave together
            statuses += senders.map(lambda n, start=start: page(client, start, n), range(REQUESTS))
            counts.append(count_connections())
    return statuses, counts


@contextlib.contextmanager
def technician_client(url: str, password: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=60, limits=httpx.Limits(max_connections=REQUESTS)) as client:
        signed_in(client, password)
        yield client


@pytest.mark.slow
def test_connections_postgresql_stay_bounded_across_bursts(tmp_path):
    import psycopg

    from appliance.hub.settings import load_hub_settings
    from tests.hub.conftest import postgres_database

    with postgres_database() as url:
        settings = load_hub_settings(environ={}, overrides={"hub_data_dir": str(tmp_path), "hub_database_url": url})
        database = urlsplit(url).path.lstrip("/")
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:  # on the server's own database, not the hub's

            def server_connections() -> int:
                row = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (database,)).fetchone()
                return row[0] if row else 0

            with hub_serving(settings, tmp_path / "serve.log") as (_, url, password):
                with technician_client(url, password) as client:
                    statuses, counts = bursts(client, server_connections)
    print(f"PostgreSQL connections after each burst: {counts}")  # the figures docs/hub.md quotes (pytest -s)
    assert statuses == [200] * (BURSTS * REQUESTS), f"statuses {sorted(set(statuses))}, connections {counts}"
    assert max(counts) <= WORKERS * POOL_SIZE + 1, f"connections after each burst: {counts}"


def _workers(parent: int) -> list[int]:
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    return [parent, *map(int, children)]


def _descriptors_of(pid: int, path: Path) -> int:
    found = 0
    for link in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):  # a descriptor closed while we look
            found += os.readlink(link) == str(path)
    return found


@pytest.mark.slow
def test_connections_sqlite_file_handles_stay_bounded_across_bursts(tmp_path):
    from appliance.hub.settings import load_hub_settings

    settings = load_hub_settings(environ={}, overrides={"hub_data_dir": str(tmp_path / "hub")})
    path = database_path(settings).resolve()
    with hub_serving(settings, tmp_path / "serve.log") as (server, url, password):

        def open_files() -> int:
            return sum(_descriptors_of(pid, path) for pid in _workers(server.pid))

        with technician_client(url, password) as client:
            statuses, counts = bursts(client, open_files)
    print(f"SQLite descriptors after each burst: {counts}")
    assert statuses == [200] * (BURSTS * REQUESTS), f"statuses {sorted(set(statuses))}, open files {counts}"
    assert max(counts) <= WORKERS * POOL_SIZE, f"open descriptors of {path.name} after each burst: {counts}"


def test_connections_postgresql_all_in_use_answers_503_then_serves(hub_settings):
    from appliance.errors import HubUnavailableError
    from appliance.hub.storage.postgres import POOL_TIMEOUT_S, PostgresHub

    if not hub_settings.hub_database_url:
        pytest.skip("SQLite opens a connection for each thread that needs one; only PostgreSQL's are bounded")
    db = PostgresHub(hub_settings.hub_database_url, pool_size=1)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with db.transaction():
            holding.set()
            release.wait(timeout=30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(timeout=30)
        started = time.monotonic()
        with pytest.raises(HubUnavailableError) as caught:
            db.query("SELECT 1 AS one")
        assert POOL_TIMEOUT_S <= time.monotonic() - started < POOL_TIMEOUT_S + 5
        assert caught.value.code == "hub.database_unavailable" and caught.value.status == 503
    finally:
        release.set()
        holder.join(timeout=30)
    assert db.query("SELECT 1 AS one") == [{"one": 1}]
    db.close()


def test_connections_pool_size_default_is_the_storage_default():
    from appliance.hub.settings import load_hub_settings

    assert load_hub_settings(environ={}).hub_database_pool_size == POOL_SIZE


def _backend_pid(db) -> int | None:
    return db.query("SELECT pg_backend_pid() AS pid")[0]["pid"] if db.backend == "postgresql" else None


def test_connections_a_forked_child_opens_its_own(hub_db):
    """A child forked while its parent's connections are open never uses them (nor closes them): it opens its own,
    and the parent's still work afterwards."""
    before = _backend_pid(hub_db)
    assert hub_db.query("SELECT count(*) AS n FROM kits") == [{"n": 0}]
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # the child: report what it read, and leave without running pytest's exit
        code = 1
        try:
            os.write(
                writing, f"{_backend_pid(hub_db)} {hub_db.query('SELECT count(*) AS n FROM kits')[0]['n']}".encode()
            )
            hub_db.close()
            code = 0
        finally:
            os._exit(code)
    os.close(writing)
    with os.fdopen(reading) as answer:
        child_pid, child_count = answer.read().split()
    assert os.waitpid(child, 0)[1] == 0
    assert child_count == "0"
    if before is not None:
        assert int(child_pid) != before  # its own session, not the parent's
    assert _backend_pid(hub_db) == before and hub_db.query("SELECT count(*) AS n FROM kits") == [{"n": 0}]


def test_connections_postgresql_first_read_after_a_restart_succeeds(hub_db):
    from tests.hub.conftest import restart_postgres

    if hub_db.backend != "postgresql":
        pytest.skip("restarts the PostgreSQL server; SQLite has no server to restart")
    holding, release = threading.Barrier(4), threading.Event()

    def hold() -> None:  # three at once: the pool keeps three connections, all cut by the restart
        with hub_db.transaction():
            holding.wait(timeout=30)
            release.wait(timeout=30)

    holders = [threading.Thread(target=hold) for _ in range(3)]
    for holder in holders:
        holder.start()
    holding.wait(timeout=30)
    release.set()
    for holder in holders:
        holder.join(timeout=30)
    before = _backend_pid(hub_db)
    restart_postgres()
    assert _backend_pid(hub_db) != before  # tried again on a new connection, not on another cut one
    with hub_db.transaction() as tx:  # the other cut connections were replaced too: a write works at once
        assert tx.execute("SELECT count(*) AS n FROM kits") == [{"n": 0}]
