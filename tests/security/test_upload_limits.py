"""Who: anyone on the classroom Wi-Fi or the school LAN, signed in as a pupil or not at all. From where: TCP to the web
port, any form that takes files (the hand-in, a teacher's lesson file, the roster imports). With what: a multipart
body sent chunked (no Content-Length to refuse it by) that never ends: 1,000 MB of one "photo". Before (issue 14) the
whole body was spooled to /tmp (the SD card on a kit) and only then refused for its missing CSRF token.
What stops them: web/forms.posted_upload checks the session (a signed-in account of the form's roles) before a byte of
the body is read, so a stranger or a pupil at a teacher's form is refused unread; webcore/forms.checked_upload then
counts the body as the multipart parser pulls it and answers 413 at the form's limit (the hand-in: four photos of
handin_photo_max_mb), whatever Content-Length says, so at most that much is spooled; the spooled files are closed at
once. A form without files (checked_form: every other form, the hub's too) is read at most FORM_MAX_BYTES and takes
no file at all. Measured here against a real uvicorn with the temporary folder pointed at a test folder and watched."""

from __future__ import annotations

import os
import select
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest

from appliance.webcore.forms import FORM_MAX_BYTES, UPLOAD_FIELDS_BYTES, UPLOAD_MEMORY_BYTES
from tests.web.lesson_data import make_lesson
from tests.web.people_clients import csrf, role_clients

MB = 1024 * 1024
BODY_BYTES = 1000 * MB  # what the attacker offers
CHUNK_BYTES = 64 * 1024
BOUNDARY = "tpkit-upload-test"
# What a refused client gets to send before it reads the answer: loopback socket buffers (a few MB) and the time
# between two looks at the socket. Far under the 1,000 MB offered.
SENT_WHEN_REFUSED_MAX = 64 * MB


class SpoolWatch:
    """Samples this process's open files in `folder` (the server's temporary folder; Python's temporary files there
    are unlinked at once, so only /proc/self/fd shows them) every few milliseconds: their peak total size."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.peak_bytes, self.files_seen = str(folder), 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def open_now(self) -> list[int]:
        sizes = []
        for fd in os.listdir("/proc/self/fd"):
            try:
                if os.readlink(f"/proc/self/fd/{fd}").startswith(self.folder):
                    sizes.append(os.stat(f"/proc/self/fd/{fd}").st_size)
            except OSError:
                continue  # closed meanwhile
        return sizes

    def _watch(self) -> None:
        while not self._stop.is_set():
            sizes = self.open_now()
            self.files_seen = max(self.files_seen, len(sizes))
            self.peak_bytes = max(self.peak_bytes, sum(sizes))
            time.sleep(0.002)

    def __enter__(self) -> SpoolWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def endless_upload(port: int, path: str, cookies: dict[str, str], field: str = "photos", plain: bool = False) -> dict:
    """POST `path` a chunked multipart body of one file that goes on for BODY_BYTES (with `plain`, an urlencoded
    form that does), stopping when the server answers; {"status", "sent_bytes"}."""
    cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
    kind = "application/x-www-form-urlencoded" if plain else f"multipart/form-data; boundary={BOUNDARY}"
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nTransfer-Encoding: chunked\r\nContent-Type: {kind}\r\n"
        + (f"Cookie: {cookie}\r\n" if cookie else "")
        + "\r\n"
    ).encode()
    part = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{cookies.get("tpkit_csrf", "")}\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{field}"; filename="big.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode() + b"\xff\xd8\xff"
    if plain:
        part = f"csrf={cookies.get('tpkit_csrf', '')}&{field}=".encode()
    # urlencoded: many fields of 64 KB each (Starlette refuses one field over 1 MB, or over 1,000 fields, by itself)
    filler = b"&x=" + b"1" * (CHUNK_BYTES - 3) if plain else b"\x00" * CHUNK_BYTES
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head)
        try:
            for data in _chunks(part, filler):
                if select.select([sock], [], [], 0)[0]:
                    break  # the server answered: stop, as a browser would
                sock.sendall(b"%x\r\n%s\r\n" % (len(data), data))
                sent += len(data)
            else:
                sock.sendall(b"%x\r\n%s\r\n0\r\n\r\n" % (len(BOUNDARY) + 6, f"\r\n--{BOUNDARY}--".encode()))
            answer = sock.recv(256)
        except (BrokenPipeError, ConnectionResetError):
            answer = b""
    status = int(answer.split()[1]) if answer.startswith(b"HTTP/1.1 ") else 0
    return {"status": status, "sent_bytes": sent}


def _chunks(part: bytes, filler: bytes):
    yield part
    for _ in range((BODY_BYTES - len(part)) // len(filler)):
        yield filler


@pytest.fixture
def spool(tmp_path, monkeypatch) -> Path:
    """The server's temporary folder, where Starlette's parser spools files over 1 MB (TMPDIR for a process;
    `tempfile.tempdir` is that setting for this one, which runs the server in a thread)."""
    folder = tmp_path / "spool"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def roles(kit, live):
    clients, ids = role_clients(kit, live.url)
    for http in clients.values():
        csrf(http)  # every client holds a CSRF cookie, as one that opened the page would
    ids["lesson"] = make_lesson(clients["teacher_a"], ids["a"]["class"], "Photo homework")
    yield clients, ids
    for http in clients.values():
        http.close()


@pytest.mark.parametrize(
    "who, path, status",
    [
        ("nobody", "/me/lessons/{lesson}/handin", 401),  # no cookie at all, as in issue 14
        ("anonymous", "/me/lessons/{lesson}/handin", 401),
        ("anonymous", "/teach/lessons/{lesson}/uploads", 401),
        ("anonymous", "/teach/import", 401),
        ("anonymous", "/admin/people/import", 401),
        ("student_a", "/teach/lessons/{lesson}/uploads", 403),
        ("student_a", "/admin/people/import", 403),
        ("teacher_a", "/admin/people/import", 403),
    ],
)
def test_upload_not_allowed_here_refused_before_the_body_is_read(live, roles, spool, who, path, status):
    clients, ids = roles
    with SpoolWatch(spool) as watch:
        cookies = dict(clients[who].cookies) if who != "nobody" else {}
        found = endless_upload(live.port, path.format(lesson=ids["lesson"]), cookies)
    print(f"{who} {path}: {found}, spooled {watch.peak_bytes} bytes in {watch.files_seen} files")
    assert found["status"] == status, found
    assert watch.files_seen == 0 and watch.peak_bytes == 0
    assert found["sent_bytes"] < SENT_WHEN_REFUSED_MAX, found


def test_upload_pupil_chunked_body_stopped_at_the_limit(kit, live, roles, spool):
    clients, ids = roles
    limit = 4 * kit.settings.handin_photo_max_mb * MB + UPLOAD_FIELDS_BYTES  # the hand-in form's four photos
    with SpoolWatch(spool) as watch:
        found = endless_upload(live.port, f"/me/lessons/{ids['lesson']}/handin", dict(clients["student_a"].cookies))
        deadline = time.monotonic() + 5
        while watch.open_now() and time.monotonic() < deadline:
            time.sleep(0.05)
        left_open = watch.open_now()
    print(f"pupil: {found}, spooled at most {watch.peak_bytes} bytes (limit {limit}); left open: {left_open}")
    assert found["status"] == 413, found
    assert 0 < watch.peak_bytes <= limit and left_open == []
    assert found["sent_bytes"] < limit + SENT_WHEN_REFUSED_MAX, found
    assert kit.lessons.handins_of(ids["lesson"], ids["a"]["students"][0]) == []


def test_upload_announced_length_over_the_limit_refused_unread(kit, live, roles, spool):
    """A Content-Length over the limit is refused before the body; one under it cannot carry more (HTTP framing)."""
    clients, ids = roles
    announced = 4 * kit.settings.handin_photo_max_mb * MB + UPLOAD_FIELDS_BYTES + 1
    cookie = "; ".join(f"{k}={v}" for k, v in clients["student_a"].cookies.items())
    with SpoolWatch(spool) as watch, socket.create_connection(("127.0.0.1", live.port), timeout=30) as sock:
        sock.sendall(
            f"POST /me/lessons/{ids['lesson']}/handin HTTP/1.1\r\nHost: x\r\nContent-Length: {announced}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nCookie: {cookie}\r\n\r\n".encode()
        )
        answer = sock.recv(256)
    assert answer.startswith(b"HTTP/1.1 413") and watch.files_seen == 0


@pytest.mark.parametrize("plain, status", [(True, 413), (False, 400)])
def test_upload_plain_form_bounded_and_takes_no_file(live, roles, spool, plain, status):
    """A form without files (here the pupils' sign-in keypad, open to anyone) is read into memory whole: at most
    webcore/forms.FORM_MAX_BYTES (413 after), and a multipart body with a file is refused at the file (400), unspooled."""
    clients, ids = roles
    path = f"/learn/{ids['a']['class']}/{ids['a']['students'][0]}"
    with SpoolWatch(spool) as watch:
        found = endless_upload(live.port, path, dict(clients["anonymous"].cookies), field="pin", plain=plain)
    print(f"anonymous keypad, {'urlencoded' if plain else 'multipart'}: {found}, spooled {watch.peak_bytes} bytes")
    assert found["status"] == status and watch.files_seen == 0, found
    assert found["sent_bytes"] < FORM_MAX_BYTES + SENT_WHEN_REFUSED_MAX, found


def test_upload_photos_in_memory_only_up_to_the_process_budget(kit, live, roles, spool):
    """Photos are kept in memory while they arrive (no thread hop a chunk) only while this process holds less than
    UPLOAD_MEMORY_BYTES of such bodies: a room of slow phones, or someone opening many uploads and never finishing
    them, makes the others go to the temporary folder as before, and memory stays bounded on a 1 GB Pi."""
    clients, ids = roles
    announced = 4 * MB - 100 * 1024  # a phone's photo, under the in-memory size of a file
    in_memory = UPLOAD_MEMORY_BYTES // announced
    uploads = in_memory + 2
    cookie = "; ".join(f"{k}={v}" for k, v in clients["student_a"].cookies.items())
    part = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="photos"; filename="IMG.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + b"\xff\xd8\xff"
        + bytes(2 * MB)
    )  # half of it sent, then the phone goes quiet
    socks = []
    with SpoolWatch(spool) as watch:
        try:
            for _ in range(uploads):
                sock = socket.create_connection(("127.0.0.1", live.port), timeout=30)
                socks.append(sock)
                sock.sendall(
                    f"POST /me/lessons/{ids['lesson']}/handin HTTP/1.1\r\nHost: x\r\nContent-Length: {announced}\r\n"
                    f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nCookie: {cookie}\r\n\r\n".encode()
                    + part
                )
            deadline = time.monotonic() + 15
            while len(watch.open_now()) < uploads - in_memory and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.3)  # none more comes
            spooled = watch.open_now()
        finally:
            for sock in socks:
                sock.close()
    print(f"{uploads} photos arriving at once, {announced} bytes each: {len(spooled)} spooled to disk")
    assert len(spooled) == uploads - in_memory, spooled
