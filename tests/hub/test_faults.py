"""Faults: the hub restarted loses nothing; its database down or restarted mid-ingest gives 503, never a loss."""

from __future__ import annotations

import threading

import httpx
import pytest

from appliance.hub.app import create_app
from appliance.hub.storage.backend import open_database
from appliance.hub.storage.postgres import PostgresHub
from tests.conftest import LiveServer
from tests.hub.conftest import enrol_kit, restart_postgres, signed, stored_reports

REPORTS = "/api/v1/reports"


def test_faults_hub_restart_loses_nothing(hub_settings, hub_db, clock):
    secret = enrol_kit(hub_db, "kit-1", clock.now)
    sent = [signed(secret, "kit-1", n, made_at=clock.now) for n in range(1, 4)]
    with LiveServer(create_app(hub_settings, hub_db, clock)) as server:
        for _, payload, headers in sent:
            assert httpx.post(server.url + REPORTS, content=payload, headers=headers).status_code == 201
    # A new process's view: a fresh database handle and app on the same database.
    reopened = open_database(hub_settings)
    with LiveServer(create_app(hub_settings, reopened, clock)) as server:
        for _, payload, headers in sent:
            assert httpx.post(server.url + REPORTS, content=payload, headers=headers).status_code == 200
    assert stored_reports(reopened, "kit-1") == 3
    reopened.close()


def test_faults_unreachable_postgresql_answers_503_with_retry_after(hub_settings, clock):
    down = PostgresHub("postgresql://postgres@/hub?host=/nonexistent-socket-dir")
    with LiveServer(create_app(hub_settings, down, clock)) as server:
        # A kit waits 30 s (edges/uplink.TIMEOUT_S); the hub answers once its pool gave up (postgres.POOL_TIMEOUT_S).
        response = httpx.post(server.url + REPORTS, content=b"x", headers={"Tpkit-Kit-Id": "kit-1"}, timeout=30)
    assert response.status_code == 503 and response.headers["retry-after"] == "60"
    assert response.json()["code"] == "hub.database_unavailable"


def test_faults_postgresql_restart_during_ingest_loses_nothing_accepted(hub_settings, hub_db, hub_live, clock):
    if hub_db.backend != "postgresql":
        pytest.skip("restarts the PostgreSQL server; SQLite has no server to restart")
    secret = enrol_kit(hub_db, "kit-1", clock.now)
    sent = [signed(secret, "kit-1", n, made_at=clock.now) for n in range(1, 301)]
    statuses: dict[int, int] = {}

    def post_all() -> None:
        with httpx.Client(base_url=hub_live.url, timeout=30) as http:
            for n, (_, payload, headers) in enumerate(sent):
                statuses[n] = http.post(REPORTS, content=payload, headers=headers).status_code

    sender = threading.Thread(target=post_all)
    sender.start()
    restart_postgres()
    sender.join(timeout=120)
    assert set(statuses.values()) <= {201, 503}, statuses
    accepted = [n for n, status in statuses.items() if status == 201]
    assert stored_reports(hub_db, "kit-1") == len(accepted)  # every acknowledged report is there, nothing else
    with httpx.Client(base_url=hub_live.url, timeout=30) as http:  # the kits retry what got 503
        for n, status in statuses.items():
            if status == 503:
                _, payload, headers = sent[n]
                assert http.post(REPORTS, content=payload, headers=headers).status_code == 201
    assert stored_reports(hub_db, "kit-1") == 300


def test_faults_unmigrated_sqlite_is_a_storage_fault_not_a_retry(tmp_path):
    from appliance.errors import HubUnavailableError, StorageError
    from appliance.hub.storage.database import SqliteHub

    db = SqliteHub(tmp_path / "hub.sqlite3")
    with pytest.raises(StorageError) as caught:
        db.query("SELECT * FROM kits")
    assert not isinstance(caught.value, HubUnavailableError) and "tpkit hub kit list" in caught.value.fix
    db.close()
