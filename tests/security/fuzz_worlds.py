"""The kit and the hub the endpoint fuzzer talks to, each behind a real uvicorn on a loopback port, with a client per
role whose session is renewed when a fuzzed request ends it; how a drawn request is sent; the error log it watches.

Used by tests/security/test_fuzz_endpoints.py only.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import logging
import re
import secrets
import time
import uuid
from collections import Counter, defaultdict
from urllib.parse import quote_from_bytes

import httpx

from appliance.config import load_settings
from appliance.edges import minisign
from appliance.hub import app as hub_app, enrolment, technicians
from appliance.hub.settings import load_hub_settings
from appliance.hub.storage import technicians as hub_sessions
from appliance.hub.storage.backend import open_database
from appliance.hub.storage.database import migrate
from appliance.protocol import report_file
from appliance.services.kit import open_kit
from appliance.services.library import demo_books
from appliance.web.app import create_app
from tests.conftest import LiveServer, make_book
from tests.hub.conftest import Clock, enrol_kit
from tests.security.fuzz_strategies import Endpoint, Sent
from tests.web.lesson_data import JPEG, hand_in, make_lesson
from tests.web.people_clients import csrf, role_clients
from tests.web.quiz_data import create_quiz, start

HUB_ROLES = ("anonymous", "technician")


class ErrorLog(logging.Handler):
    """Every record at ERROR or above, or carrying a traceback, from the app's and uvicorn's loggers."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            self.records.append(record)

    def __enter__(self) -> ErrorLog:
        for name in ("", "uvicorn", "uvicorn.error"):
            logging.getLogger(name).addHandler(self)
        return self

    def __exit__(self, *exc) -> None:
        for name in ("", "uvicorn", "uvicorn.error"):
            logging.getLogger(name).removeHandler(self)


def session_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()  # how both programs store a session token


class KitWorld:
    """A kit with the demo books and a test book, two classes, a lesson with a hand-in, a quiz with an attempt; a
    client per role whose session is renewed whenever a fuzzed request ended it (sign-out, a new PIN, a reset)."""

    def __init__(self, root) -> None:
        demo_books.build(root / "content")
        make_book(root / "content", "test_book")
        self.kit = open_kit(
            load_settings(
                environ={},
                overrides={"data_dir": str(root / "data"), "content_dir": str(root / "content"), "mdns_enabled": False},
            )
        )
        self.server = LiveServer(create_app(self.kit, watch_library=False)).__enter__()
        clients, ids = role_clients(self.kit, self.server.url)
        self.clients = {
            "anonymous": clients["anonymous"],
            "pupil": clients["student_a"],
            "teacher": clients["teacher_a"],
            "admin": clients["admin"],
        }
        a, b = ids["a"], ids["b"]
        # class b signs in with picture codes, so both keypads are fuzzed
        pictures = {"csrf": csrf(clients["teacher_b"]), "kind": "pictures"}
        assert clients["teacher_b"].post(f"/teach/{b['class']}/signin-kind", data=pictures).status_code == 303
        for name in ("student_b", "teacher_b"):
            clients[name].close()
        self.accounts = {
            "pupil": a["students"][0],
            "teacher": a["teacher"],
            "admin": self.kit.accounts.by_username("admin")["id"],
        }
        lesson = make_lesson(self.clients["teacher"], a["class"], "Rivers", students=tuple(a["students"]))
        assert hand_in(self.clients["pupil"], lesson, "My answer", [("p.jpg", JPEG, "image/jpeg")]).status_code == 303
        quiz = create_quiz(self.clients["teacher"], a["class"], "Plants")
        attempt = start(self.clients["pupil"], quiz)
        page = self.clients["teacher"].get(f"/teach/lessons/{lesson}").text
        self.known = {
            "class_id": [str(a["class"]), str(b["class"])],
            "student_id": [str(s) for s in a["students"][:2] + b["students"][:1]],
            "account_id": [str(self.accounts["teacher"]), str(a["students"][0])],
            "lesson_id": [str(lesson)],
            "quiz_id": [str(quiz)],
            "picture_id": ["1"],
            "attempt_id": [str(attempt)],
            "handin_id": re.findall(r'id="handin-(\d+)"', page) or ["1"],
            "item_id": ["1", "2"],
            "class_b": [str(b["class"])],
            "pupil_b": [str(b["students"][0])],
            "file_id": ["1"],
            "book": ["tpkit_demo_en", "tpkit_demo_zh", "test_book"],
            "key": ["test_book", "tpkit_demo_en"],
            "uuid": [book.uuid for book in self.kit.library.books()],
            "path": ["index", "water", "A/index", "img/dot.png", "media/clip.webm"],
            "name": ["Title", "Illustration_48x48@1", "Description"],
        }
        self.values = [v for values in self.known.values() for v in values] + ["1", "go", "save", "remove"]
        self.csrf: dict[str, str] = {}
        self.answers: defaultdict[tuple, Counter] = defaultdict(Counter)

    def client(self, role: str) -> httpx.Client:
        """The role's client with a live session (a new one minted in the database when a request ended it)."""
        http = self.clients[role]
        if role != "anonymous":
            token = http.cookies.get("tpkit_session")
            if not token or self.kit.accounts.session_account(session_digest(token), time.time()) is None:
                token = secrets.token_urlsafe(32)
                self.kit.accounts.add_session(session_digest(token), self.accounts[role], time.time() + 3600)
                http.cookies.delete("tpkit_session")  # the one the server set at sign-in, ended (a child removed)
                http.cookies.set("tpkit_session", token)
                self.csrf.pop(role, None)
        return http

    def csrf_token(self, role: str) -> str:
        """The token the role's pages put in their forms (read from a page, so a session-bound token works too)."""
        if role not in self.csrf:
            page = {"anonymous": "/admin/signin", "pupil": "/me", "teacher": "/teach", "admin": "/admin/people"}[role]
            found = re.search(r'name="csrf" value="([^"]+)"', self.clients[role].get(page).text)
            self.csrf[role] = found[1] if found else self.clients[role].cookies.get("tpkit_csrf", "")
        return self.csrf[role]

    def close(self) -> None:
        for http in self.clients.values():
            http.close()
        self.server.__exit__(None, None, None)  # the app's lifespan closes the kit


class HubWorld:
    """A hub (SQLite, or PostgreSQL at `database_url`) with an enrolled kit (kit-1, its key kept to sign reports), a
    registered one waiting for enrolment (kit-2, its token kept), and a technician's client."""

    def __init__(self, root, database_url: str = "") -> None:
        overrides = {"hub_data_dir": str(root / "hub")} | ({"hub_database_url": database_url} if database_url else {})
        self.settings = load_hub_settings(environ={}, overrides=overrides)
        self.db = open_database(self.settings)
        migrate(self.db)
        self.clock = Clock()
        self.secret = enrol_kit(self.db, "kit-1", self.clock())
        self.token = enrolment.register(self.db, "kit-2", "Hill School", "North", "", self.clock(), 24)
        technicians.add(self.db, "fuzz.tech", "a long fuzzing password", self.clock())
        self.server = LiveServer(hub_app.create_app(self.settings, self.db, self.clock)).__enter__()
        self.clients = {role: httpx.Client(base_url=self.server.url, timeout=30) for role in HUB_ROLES}
        self.sequence = 0
        self.known = {
            "kit_id": ["kit-1", "kit-2", "kit-unknown"],
            "token": [self.token],
            "public_key": [minisign.generate().public.line],
        }
        self.values = ["kit-1", "kit-2", "fuzz.tech", "technician", "3600", "05:00-06:00", "main"]
        self.csrf: dict[str, str] = {}
        self.answers: defaultdict[tuple, Counter] = defaultdict(Counter)

    def client(self, role: str) -> httpx.Client:
        http = self.clients[role]
        if role == "technician":
            token = http.cookies.get("tpkit_hub_session")
            if not token or technicians.session(self.db, token, self.clock()) is None:
                token = secrets.token_urlsafe(32)
                now = self.clock()
                hub_sessions.open_session(self.db, session_digest(token), "fuzz.tech", now, now + 3600)
                http.cookies.set("tpkit_hub_session", token)
                self.csrf.pop(role, None)
        return http

    def csrf_token(self, role: str) -> str:
        if role not in self.csrf:
            page = {"anonymous": "/signin", "technician": "/kits/kit-1"}[role]
            found = re.search(r'name="csrf" value="([^"]+)"', self.clients[role].get(page).text)
            self.csrf[role] = found[1] if found else self.clients[role].cookies.get("tpkit_csrf", "")
        return self.csrf[role]

    def signed_report(self, raw: bytes) -> tuple[bytes, dict[str, str]]:
        """`raw` (a report's JSON, hostile) gzipped and signed with kit-1's key. When it is an object, it gets a
        fresh report id and the next sequence, and the signature's trusted comment names them, so the signature
        holds and the hub reads the hostile body itself."""
        self.sequence += 1
        report_id = str(uuid.uuid4())
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):  # 4,000 "[" are sent as they are
            data = None
        if isinstance(data, dict):
            data.update(report_id=report_id, sequence=self.sequence)
            raw = json.dumps(data).encode()  # NaN and Infinity stay as Python writes them
        payload = gzip.compress(raw, mtime=0)
        comment = f"tpkit-report\tkit:kit-1\treport:{report_id}\tsequence:{self.sequence}"
        signature = minisign.sign(self.secret, payload, comment)
        return payload, {
            "Content-Type": report_file.MEDIA_TYPE,
            report_file.KIT_HEADER: "kit-1",
            report_file.SIGNATURE_HEADER: base64.b64encode(signature.encode()).decode(),
        }

    def close(self) -> None:
        for http in self.clients.values():
            http.close()
        self.server.__exit__(None, None, None)  # the app's lifespan closes the database


def send(world, endpoint: Endpoint, sent: Sent) -> httpx.Response:
    http = world.client(sent.role)
    url = sent.path + ("?" + sent.query if sent.query else "")
    for name in ("CLASS_B", "PUPIL_B"):  # ids a regression example names, known once the world is made
        url = url.replace(name, world.known.get(name.lower(), ["1"])[0])
    headers: dict[str, str] = {}
    content = b""
    if sent.encoding in ("urlencoded", "multipart"):
        token = {"valid": world.csrf_token(sent.role), "wrong": "x" * 32, "missing": None}[sent.csrf]
        fields = ([(b"csrf", token.encode(), None)] if token is not None else []) + list(sent.fields)
        if sent.encoding == "urlencoded":
            content = b"&".join(
                quote_from_bytes(n).encode() + b"=" + quote_from_bytes(v).encode() for n, v, _ in fields
            )
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            boundary = "fuzz" + secrets.token_hex(8)
            content = multipart(fields, boundary)
            headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    elif sent.encoding == "chunk":  # a file's bytes; where they go and the token in headers, as a page's script sends
        token = {"valid": world.csrf_token(sent.role), "wrong": "x" * 32, "missing": None}[sent.csrf]
        chunk_headers: dict[str, str | bytes] = {name.decode(): _header(value) for name, value, _ in sent.fields}
        if token is not None:
            chunk_headers["X-CSRF-Token"] = token
        return http.request(endpoint.method, url, content=sent.raw or None, headers=chunk_headers)
    elif sent.encoding == "raw" and sent.sign and endpoint.path == "/api/v1/reports":
        content, headers = world.signed_report(sent.raw)
    elif sent.encoding == "raw":
        content = sent.raw if endpoint.path != "/api/v1/reports" else gzip.compress(sent.raw, mtime=0)
        headers["Content-Type"] = sent.content_type or "application/json"
    return http.request(endpoint.method, url, content=content or None, headers=headers)


_NOT_IN_HEADERS = bytes(range(0x20)).replace(b"\t", b"") + b"\x7f"


def _header(value: bytes) -> bytes:
    """A header value a client can send at all (no control characters, as RFC 9110 allows): what a hostile one
    still is (bytes over 0x7f, quotes, a huge number, nothing)."""
    return value.translate(None, _NOT_IN_HEADERS).strip()[:2000]


def multipart(fields, boundary: str) -> bytes:
    parts = []
    for name, value, file_name in fields:
        disposition = b'form-data; name="' + name.replace(b'"', b"%22") + b'"'
        if file_name is not None:
            disposition += b'; filename="' + file_name.replace(b'"', b"%22") + b'"'
        head = b"Content-Disposition: " + disposition + b"\r\n"
        if file_name is not None:
            head += b"Content-Type: application/octet-stream\r\n"
        parts.append(b"--" + boundary.encode() + b"\r\n" + head + b"\r\n" + value + b"\r\n")
    return b"".join(parts) + b"--" + boundary.encode() + b"--\r\n"
