"""kill -9 during a load of hand-ins: `tpkit serve` (two web workers, real uvicorn) in its own process group,
students' threads posting text and photos, SIGKILL at a random moment, restart, again, ten times. After
each restart every hand-in that got its success answer is in the database with its photo (re-written on the kit,
so its row's size and digest must match the file), and no row names a file that is missing, partial or different. Real SQLite file, real files, real processes."""

from __future__ import annotations

import hashlib
import io
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid

import httpx
import pytest
from PIL import Image

from appliance.config import load_settings
from appliance.services.kit import open_kit
from appliance.services.learning import lessons
from tests.conftest import free_port
from tests.roster_data import two_classes
from tests.web.lesson_data import hand_in
from tests.web.people_clients import student_client

KILLS = 10
STUDENTS = 4
START_TIMEOUT_S = 60


def _serve(data_dir, content_dir, port: int) -> subprocess.Popen:
    env = {**os.environ, "TPKIT_WEB_WORKERS": "2", "TPKIT_MDNS_ENABLED": "false", "TPKIT_LOG_LEVEL": "warning"}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "appliance",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--content-dir",
            str(content_dir),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # its own process group: SIGKILL reaches the workers too, as a power cut would


def _wait_ready(url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert server.poll() is None, "tpkit serve exited"
        try:
            if httpx.get(f"{url}/learn", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("tpkit serve did not answer")


def _kill(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGKILL)
    server.wait(timeout=10)
    time.sleep(0.2)  # workers are reaped by init; let the port go


def _photo(rng: random.Random) -> bytes:
    """A real JPEG of noise, 20–150 KB: the kit decodes and re-writes every hand-in photo (edges/images)."""
    side = rng.randint(150, 400)
    out = io.BytesIO()
    Image.frombytes("L", (side, side), rng.randbytes(side * side)).save(out, "JPEG", quality=95)
    return out.getvalue()


def _post_until(stop: threading.Event, http: httpx.Client, lesson_id: int, student: int, acked: list, seed: int):
    rng = random.Random(seed)
    while not stop.is_set():
        body, photo = f"{student} {uuid.uuid4()}", _photo(rng)
        try:
            response = hand_in(http, lesson_id, body, [("work.jpg", photo, "image/jpeg")])
        except httpx.TransportError:
            continue
        if response.status_code == 303:
            acked.append((student, body, hashlib.sha256(photo).hexdigest()))


def _check(data_dir, acked: list, *, waiting_allowed: bool = False) -> dict[int, int]:
    """Every acknowledged hand-in present with its photo; every row's file complete. {student: hand-ins}. With
    `waiting_allowed` (the kit just killed), a photo may still wait as sent in uploads/handin_waiting/, its row
    holding the digest of the bytes as sent (services/learning/handin_photos)."""
    uploads, waiting = data_dir / "uploads" / "handins", data_dir / "uploads" / "handin_waiting"
    conn = sqlite3.connect(f"file:{data_dir / 'tpkit.sqlite3'}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT h.account_id, h.body, f.stored_name, f.sha256, f.size_bytes FROM handins h "
            "JOIN handin_files f ON f.handin_id = h.id"
        ).fetchall()
    finally:
        conn.close()
    stored = {(student, body): (name, digest, size) for student, body, name, digest, size in rows}
    for student, body, _digest in acked:
        assert (student, body) in stored, f"acknowledged hand-in lost: {body}"
        assert stored[(student, body)][2] > 0  # its photo, re-written on the kit (so another digest than sent)
    for name, digest, size in stored.values():
        assert not name.startswith("."), name
        if waiting_allowed and (waiting / name).exists():  # still waiting: its row holds the digest as sent
            assert hashlib.sha256((waiting / name).read_bytes()).hexdigest() == digest, name
            continue
        data = (uploads / name).read_bytes()
        assert len(data) == size and hashlib.sha256(data).hexdigest() == digest, name
    counts: dict[int, int] = {}
    for student, _ in stored:
        counts[student] = counts.get(student, 0) + 1
    return counts


def _wait_made(data_dir) -> None:
    waiting = data_dir / "uploads" / "handin_waiting"
    deadline = time.monotonic() + START_TIMEOUT_S
    while waiting.is_dir() and any(not p.name.startswith(".") for p in waiting.iterdir()):
        assert time.monotonic() < deadline, f"photos still waiting: {sorted(p.name for p in waiting.iterdir())}"
        time.sleep(0.1)


@pytest.mark.slow
def test_handin_kill_9_loses_no_acknowledged_hand_in(tmp_path):
    data_dir, content_dir = tmp_path / "data", tmp_path / "content"
    content_dir.mkdir()
    settings = load_settings(
        environ={}, overrides={"data_dir": str(data_dir), "content_dir": str(content_dir), "mdns_enabled": False}
    )
    kit = open_kit(settings)
    ids = two_classes(kit, names_a=tuple(f"Pupil {n}" for n in range(STUDENTS)))["a"]
    teacher = kit.people.person(ids["teacher"])
    lesson_id = lessons.create(kit.people, kit.lessons, teacher, ids["class"], "Photo homework", "", True, "", [])
    kit.close()

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = _serve(data_dir, content_dir, port)
    acked: list = []
    clients: dict = {}
    try:
        _wait_ready(url, server)
        clients = {s: student_client(url, ids["class"], s, ids["pins"][s]) for s in ids["students"]}
        rng = random.Random(4)
        for kill in range(KILLS):
            stop = threading.Event()
            threads = [
                threading.Thread(target=_post_until, args=(stop, http, lesson_id, s, acked, kill * 100 + n))
                for n, (s, http) in enumerate(clients.items())
            ]
            for thread in threads:
                thread.start()
            time.sleep(rng.uniform(0.5, 2.0))
            _kill(server)
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
            _check(data_dir, acked, waiting_allowed=True)  # as the power cut left it
            server = _serve(data_dir, content_dir, port)
            _wait_ready(url, server)
            _wait_made(data_dir)  # the photos left waiting are made small when the kit starts again
            counts = _check(data_dir, acked)
            assert sum(counts.values()) >= len(acked)
            for student, http in clients.items():  # the student sees exactly the committed hand-ins, no partial file
                page = http.get(f"/me/lessons/{lesson_id}").text
                assert page.count('<section class="handin"') == counts.get(student, 0)
                assert ".part" not in page
        assert len(acked) >= 3 * KILLS, f"too few hand-ins acknowledged to mean anything: {len(acked)}"
        print(f"{len(acked)} hand-ins acknowledged across {KILLS} kills")
    finally:
        for http in clients.values():  # also when a check failed: an open client's sockets warn in a later test
            http.close()
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
