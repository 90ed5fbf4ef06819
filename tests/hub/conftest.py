"""Hub fixtures: the hub on each backend (a SQLite file; a fresh database on the PostgreSQL that ./build.sh test
starts), a settable clock, a real uvicorn on loopback, enrolled kits with real keys, signed reports."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from appliance.edges import minisign
from appliance.hub import enrolment
from appliance.hub.app import create_app
from appliance.hub.settings import load_hub_settings
from appliance.hub.storage.backend import open_database
from appliance.hub.storage.database import migrate
from appliance.protocol import report_file
from tests.conftest import LiveServer

POSTGRES_URL = os.environ.get("TPKIT_TEST_POSTGRES_URL", "")
BACKENDS = ["sqlite", "postgresql"]


class Clock:
    """The hub's clock in tests (Unix seconds), moved by hand instead of sleeping."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh, empty database on the test PostgreSQL; dropped afterwards."""
    import psycopg

    if not POSTGRES_URL:
        pytest.skip("TPKIT_TEST_POSTGRES_URL is not set (./build.sh test starts a PostgreSQL and sets it)")
    name = f"hub_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    parts = urlsplit(POSTGRES_URL)
    yield urlunsplit(parts._replace(path=f"/{name}"))
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def restart_postgres() -> None:
    """Restart the test PostgreSQL (fast shutdown: open connections are cut, as in a real restart)."""
    command = [
        os.environ["TPKIT_TEST_POSTGRES_CTL"],
        "-D",
        os.environ["TPKIT_TEST_POSTGRES_DATA"],
        "-w",
        "-s",
        "-m",
        "fast",
        "restart",
    ]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    subprocess.run(command, check=True, timeout=60, stdout=subprocess.DEVNULL)


@pytest.fixture(params=BACKENDS)
def hub_settings(request, tmp_path):
    overrides = {"hub_data_dir": str(tmp_path / "hub")}
    with contextlib.ExitStack() as stack:
        if request.param == "postgresql":
            overrides["hub_database_url"] = stack.enter_context(postgres_database())
        yield load_hub_settings(environ={}, overrides=overrides)


@pytest.fixture
def hub_db(hub_settings):
    db = open_database(hub_settings)
    migrate(db)
    yield db
    db.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def hub_live(hub_settings, hub_db, clock) -> Iterator[LiveServer]:
    with LiveServer(create_app(hub_settings, hub_db, clock)) as server:
        yield server


@pytest.fixture
def hub_client(hub_live) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=hub_live.url, follow_redirects=False, timeout=20) as http:
        yield http


def enrol_kit(db, kit_id: str, now: float, school: str = "Hill School", district: str = "North") -> minisign.SecretKey:
    """Register and enrol a kit with a new key; its secret key."""
    token = enrolment.register(db, kit_id, school, district, "", now, 24)
    secret = minisign.generate()
    enrolment.enrol(db, kit_id, token, secret.public.line, now)
    return secret


def health_body(
    kit_id: str = "kit-1", *, temp_c=51.5, disk_percent=40.0, clients=4, damaged=0, under_voltage_now=False, books=None
) -> dict:
    """A heartbeat body shaped like `GET /-/health` (services/health.py)."""
    flags = {"under_voltage": False, "frequency_capped": False, "throttled": False, "soft_temp_limit": False}
    body = {
        "version": "0.1.0",
        "kit_id": kit_id,
        "school_name": "Hill School",
        "time": "2026-11-28T16:00:00Z",
        "uptime_s": 3600,
        "boot_count": 3,
        "clock": {"synchronized": True},
        "cpu_temp_c": temp_c,
        "throttled": {"now": {**flags, "under_voltage": under_voltage_now}, "since_boot": dict(flags)},
        "load": [0.2, 0.3, 0.1],
        "memory": {"total_bytes": 2**31, "available_bytes": 2**30},
        "filesystems": [
            {
                "path": "/var/lib/tpkit",
                "total_bytes": 10**10,
                "used_bytes": int(disk_percent * 10**8),
                "free_bytes": int((100 - disk_percent) * 10**8),
                "use_percent": disk_percent,
            }
        ],
        "sd_card": {"root_read_only": False, "fs_errors": 0},
        "wifi_clients": clients,
        "services": {"tpkit-web": "active"},
        "books": {"served": 3, "damaged": damaged, "pending": 0, **({"installed": books} if books else {})},
        "requests_served": 10,
        "students_active_today": "not available",
        "last_sync": "not available",
        "bytes_this_month": "not available",
        "outbox_depth": "not available",
        "problems": [],
        "status": "ok",
    }
    return body


def signed(
    secret: minisign.SecretKey,
    kit_id: str,
    sequence: int,
    body: dict | None = None,
    *,
    kind: str = "heartbeat",
    made_at: float | None = None,
    synchronised: bool = True,
    applied: int | None = None,
) -> tuple[report_file.Report, bytes, dict[str, str]]:
    """A report, its payload and the HTTP headers a kit sends it with."""
    now = dt.datetime.fromtimestamp(made_at if made_at is not None else time.time(), dt.timezone.utc)
    report = report_file.Report.new(
        kit_id,
        sequence,
        kind,
        body if body is not None else health_body(kit_id),
        clock_synchronised=synchronised,
        now=now,
        applied_config_version=applied,
    )
    payload = report_file.encode(report)
    signature = report_file.sign(secret, report, payload)
    headers = {
        "Content-Type": report_file.MEDIA_TYPE,
        report_file.KIT_HEADER: kit_id,
        report_file.SIGNATURE_HEADER: base64.b64encode(signature.encode()).decode(),
    }
    return report, payload, headers


def stored_reports(db, kit_id: str | None = None) -> int:
    if kit_id is None:
        return db.query("SELECT count(*) AS n FROM reports")[0]["n"]
    return db.query("SELECT count(*) AS n FROM reports WHERE kit_id = ?", (kit_id,))[0]["n"]


def lesson_body(share_id: str, files: dict[str, bytes], *, version: int = 1, title: str = "两位数加两位数") -> dict:
    """A `lesson` report's body (docs/shared-lessons.md §1) with these files (name → bytes) and a quiz."""
    import hashlib

    from appliance.protocol import shared_lesson

    entries = [
        {
            "name": name,
            "media_type": "application/pdf",
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "parts": shared_lesson.parts_of(len(data)),
        }
        for name, data in files.items()
    ]
    quiz = {
        "kind": "quiz",
        "title": "小测验",
        "pass_mark": 60,
        "attempts_allowed": 1,
        "questions": [{"kind": "single", "prompt": "23 + 45 = ?", "options": ["58", "68"], "answer": [1], "points": 1}],
    }
    return {
        "share_id": share_id,
        "version": version,
        "title": title,
        "instructions": "先读课文，再做练习。",
        "position": {"edition": "rjb", "grade": 3, "volume": 1, "subject": "math", "unit": 2, "lesson": 1},
        "licence": "CC BY 4.0",
        "author": "王老师",
        "school": "山村小学",
        "items": [
            {"kind": "article", "title": "水", "book": "wiki", "path": "A/Water", "book_title": "百科"},
            *({"kind": "file", "title": name, "file": index} for index, name in enumerate(files)),
            quiz,
        ],
        "files": entries,
    }


def send_lesson(post, secret, kit_id: str, first_sequence: int, body: dict, files: dict[str, bytes], now: float):
    """Send a lesson and its files' parts as signed reports through `post(payload, headers)`; the replies."""
    from appliance.protocol import shared_lesson

    bodies = [("lesson", body)] + [
        ("lesson_file", part)
        for index, data in enumerate(files.values())
        for part in shared_lesson.cut(body["share_id"], body["version"], index, data)
    ]
    return [
        post(*signed(secret, kit_id, first_sequence + n, part, kind=kind, made_at=now)[1:])
        for n, (kind, part) in enumerate(bodies)
    ]
