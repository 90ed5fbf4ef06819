"""Fuzzing every form and JSON endpoint of the kit and the hub (issue 14, "Beyond the list"): 0 server errors.

Who: any client on the classroom Wi-Fi (a pupil signed in or not, or whoever sits at a classroom PC a teacher or
the administrator left signed in), and anyone who reaches the hub (its API needs no account; its dashboard is a
technician's). From where: the kit's web port; the hub's port. With what: hypothesis-drawn requests to every route
of both apps' own route tables (a new route is fuzzed without editing this file): hostile path parameters and query
strings; posted forms, urlencoded and multipart, with valid sessions and valid CSRF tokens, so the handlers' own
code runs, whose fields are huge, empty, NUL, not UTF-8, lone surrogates, 1e999, -0, 2^64, NaN, repeated, missing,
arrays or files; JSON (enrolment; reports signed with an enrolled kit's key or not) deep, wide, of the wrong types,
non-finite, huge.
What stops them: every input passes a bounded parser before it reaches a service (webcore/bounded_ids.py for ids,
typed_numbers for numbers, strict_json for JSON, the services' own checks for text), and both apps answer what is
left with one error handler: a 4xx with the fix, never a 500. The bar: no answer >= 500 and no error logged, then
the kit's database passes `PRAGMA integrity_check` and its pages still answer.

The requests go through a real uvicorn on a loopback port (conftest.LiveServer), the kit on real SQLite with the
demo books and a test book, the hub on SQLite and on PostgreSQL. TPKIT_FUZZ_EXAMPLES sets the examples per route (30 by default;
docs/security.md gives the longer run).
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import json
import logging
import os
import re
import secrets
import time
import uuid
from collections import Counter, defaultdict
from urllib.parse import quote_from_bytes

import httpx
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings, strategies as st

from appliance.config import load_settings
from appliance.edges import minisign
from appliance.hub import api_routes, app as hub_app, enrolment, technicians
from appliance.hub.settings import load_hub_settings
from appliance.hub.storage import technicians as hub_sessions
from appliance.hub.storage.backend import open_database
from appliance.hub.storage.database import migrate
from appliance.protocol import desired_config, report_file
from appliance.services.kit import open_kit
from appliance.services.library import demo_books
from appliance.web.app import create_app
from tests.conftest import LiveServer, make_book
from tests.hub.conftest import BACKENDS, Clock, enrol_kit, health_body, postgres_database
from tests.security.fuzz_strategies import (
    RAW_JSON,
    Endpoint,
    Sent,
    endpoints,
    filled_path,
    forms,
    json_values,
    path_values,
    query_strings,
)
from tests.web.lesson_data import JPEG, hand_in, make_lesson
from tests.web.people_clients import role_clients
from tests.web.quiz_data import create_quiz, start

EXAMPLES = int(os.environ.get("TPKIT_FUZZ_EXAMPLES", "30"))
# ~35 s for the kit's 83 endpoints at 30 examples on 2 shared cores; a longer run gets a proportionate limit.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(max(120, EXAMPLES * 5))]
KIT_ROLES = ("anonymous", "pupil", "teacher", "admin")
HUB_ROLES = ("anonymous", "technician")
HUB_JSON = {"/api/v1/enrol", api_routes.REPORTS_PATH}

# Names a handler's module does not spell out: read by a service (quiz drafts, catalog filters, quiz answers, the
# hub's config fields) or built in a loop.
QUIZ_FIELDS = ("title", "attempts", "due", "pass", "count", "action") + tuple(
    f"q{n}-{f}"
    for n in range(3)
    for f in ("kind", "prompt", "option0", "option1", "right", "tf", "accepted", "number", "tolerance", "points")
)
EXTRA_NAMES = {
    ("kit", "POST", "/teach/{class_id:int}/quizzes"): QUIZ_FIELDS,
    ("kit", "POST", "/teach/quizzes/{quiz_id:int}/edit"): QUIZ_FIELDS,
    ("kit", "POST", "/me/quizzes/{quiz_id:int}/attempts/{attempt_id:int}"): ("a0", "a1", "a2", "a3", "a4"),
    ("kit", "GET", "/catalog/v2/entries"): (
        "lang",
        "name",
        "category",
        "tag",
        "notag",
        "maxsize",
        "q",
        "start",
        "count",
    ),
    ("kit", "GET", "/catalog/v2/partial_entries"): (
        "lang",
        "name",
        "category",
        "tag",
        "notag",
        "maxsize",
        "q",
        "start",
        "count",
    ),
    ("hub", "POST", "/kits/{kit_id}/config"): desired_config.FIELDS,
}

# One regression example per fault the fuzzer found (docs/security.md, "Fuzzing"), keyed by route: a file part in
# a form that takes no file was spooled to a temporary file nobody closed (checked_form now refuses it, 400).
FILE_IN_A_PLAIN_FORM = ((b"body", b"x", b"a.jpg"),)
SUPERSCRIPT = "²".encode()  # str.isdigit() is true for it; int() refuses it
REGRESSIONS: dict[tuple[str, str, str], list[Sent]] = {
    ("kit", "POST", "/me/notes"): [Sent("pupil", "/me/notes", fields=FILE_IN_A_PLAIN_FORM, encoding="multipart")],
    ("kit", "GET", "/catalog/v2/entries"): [
        Sent("anonymous", "/catalog/v2/entries", query="maxsize=%C2%B2"),
        Sent("anonymous", "/catalog/v2/entries", query="maxsize=" + "9" * 5000),
    ],
    ("kit", "POST", "/learn/{class_id:int}/{student_id:int}"): [  # class b signs in with pictures
        Sent("anonymous", "/learn/CLASS_B/PUPIL_B", fields=((b"pin", SUPERSCRIPT, None),), encoding="urlencoded"),
        Sent(
            "anonymous",
            "/learn/CLASS_B/PUPIL_B",
            fields=((b"key", b"pic-" + SUPERSCRIPT, None),),
            encoding="urlencoded",
        ),
    ],
    ("hub", "POST", "/signout"): [Sent("technician", "/signout", fields=FILE_IN_A_PLAIN_FORM, encoding="multipart")],
    ("hub", "POST", "/signin"): [
        Sent(
            "anonymous",
            "/signin",
            fields=((b"username", b"a\x00b", None), (b"password", b"x", None)),
            encoding="urlencoded",
        )
    ],
    ("hub", "GET", "/kits/{kit_id}"): [Sent("technician", "/kits/%00")],
    ("hub", "POST", "/kits/{kit_id}/config"): [
        Sent("technician", "/kits/%00/config", encoding="urlencoded"),
        Sent(
            "technician",
            "/kits/kit-1/config",
            fields=((b"sync_rate_cap_kbps", SUPERSCRIPT, None),),
            encoding="urlencoded",
        ),
    ],
}


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
        pictures = {"csrf": clients["teacher_b"].cookies["tpkit_csrf"], "kind": "pictures"}
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
    """A hub (SQLite, or PostgreSQL at `database_url`) with an enrolled kit (kit-1, its key kept to sign reports), a registered one waiting for
    enrolment (kit-2, its token kept), and a technician's client."""

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
        except ValueError:
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


@pytest.fixture(scope="module")
def kit_world(tmp_path_factory):
    world = KitWorld(tmp_path_factory.mktemp("fuzz-kit"))
    yield world
    world.close()


@pytest.fixture(scope="module", params=BACKENDS)
def hub_world(request, tmp_path_factory):
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(postgres_database()) if request.param == "postgresql" else ""
        world = HubWorld(tmp_path_factory.mktemp("fuzz-hub"), url)
        yield world
        world.close()


def kit_endpoints(world: KitWorld) -> list[Endpoint]:
    return endpoints("kit", world.server.server.config.app.routes, set(), EXTRA_NAMES)


def hub_endpoints(world: HubWorld) -> list[Endpoint]:
    app = world.server.server.config.app.app  # hub.app.Hub wraps the Starlette app
    return endpoints("hub", app.routes, HUB_JSON, EXTRA_NAMES)


def drawn_requests(endpoint: Endpoint, roles: tuple[str, ...], known: dict, values: list[str]):
    """Requests for one endpoint: a role, path parameters, a query string, and a form or JSON body by its kind."""
    path = st.fixed_dictionaries({n: path_values(kind, known, n) for n, kind in endpoint.params.items()}).map(
        lambda chosen: filled_path(endpoint, chosen)
    )
    base = st.builds(Sent, role=st.sampled_from(roles), path=path, query=query_strings(endpoint.names, values))
    if endpoint.kind == "form":
        body = st.one_of(
            forms(endpoint.names, values).map(lambda fe: {"fields": fe[0], "encoding": fe[1]}),
            st.sampled_from(
                [
                    {"encoding": "raw", "raw": b"csrf=x&" + b"a" * 10, "content_type": "multipart/form-data"},
                    {"encoding": "raw", "raw": b"--x\r\n\r\n", "content_type": "multipart/form-data; boundary=x"},
                    {"encoding": "raw", "raw": b"%ff%fe=%00", "content_type": "application/x-www-form-urlencoded"},
                    {"encoding": "raw", "raw": b'{"csrf": 1}', "content_type": "application/json"},
                    {"encoding": "none"},
                ]
            ),
        )
        csrf = st.sampled_from(["valid"] * 8 + ["missing", "wrong"])
        return st.tuples(base, body, csrf).map(lambda t: t[0].replace(**t[1], csrf=t[2]))
    if endpoint.kind == "json":
        hostile = st.one_of(json_values().map(lambda v: json.dumps(v).encode()), st.sampled_from(RAW_JSON))
        if endpoint.path == api_routes.REPORTS_PATH:  # mostly signed reports, so the hub reads their bodies
            raws, signed = st.one_of(report_shaped(), report_shaped(), hostile), st.sampled_from([True, True, False])
        else:
            raws, signed = st.one_of(enrolment_shaped(known), hostile), st.just(False)
        return st.tuples(base, raws, signed).map(lambda t: t[0].replace(raw=t[1], encoding="raw", sign=t[2]))
    return base


def enrolment_shaped(known: dict) -> st.SearchStrategy[bytes]:
    """An enrolment with the waiting kit's id, token and a real key, some replaced by hostile JSON."""
    field = lambda name: st.one_of(st.sampled_from(known[name]), json_values(5))  # noqa: E731
    return st.fixed_dictionaries(
        {"kit_id": field("kit_id"), "token": field("token"), "public_key": field("public_key")}
    ).map(lambda data: json.dumps(data).encode())


def report_shaped() -> st.SearchStrategy[bytes]:
    """A report as kit-1 would write it, its body or one field replaced by hostile JSON or a non-finite number."""

    def build(kind: str, body, field: str, replacement) -> bytes:
        report = {
            "format": report_file.FORMAT,
            "kit_id": "kit-1",
            "report_id": str(uuid.uuid4()),
            "sequence": 1,
            "kind": kind,
            "made_at": "2026-11-28T16:00:00Z",
            "clock_synchronised": True,
            "applied_config_version": None,
            "body": body if isinstance(body, dict) else {"value": body},
        }
        if field in report["body"]:
            report["body"][field] = replacement
        return json.dumps(report).encode()

    heartbeat = health_body("kit-1")
    return st.builds(
        build,
        st.sampled_from(report_file.KINDS),
        st.one_of(st.just(heartbeat), json_values(60)),
        st.sampled_from(sorted(heartbeat)),
        st.one_of(json_values(10), st.sampled_from([float("nan"), float("inf"), -float("inf"), 2**64, -0.0])),
    )


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
    elif sent.encoding == "raw" and sent.sign and endpoint.path == "/api/v1/reports":
        content, headers = world.signed_report(sent.raw)
    elif sent.encoding == "raw":
        content = sent.raw if endpoint.path != "/api/v1/reports" else gzip.compress(sent.raw, mtime=0)
        headers["Content-Type"] = sent.content_type or "application/json"
    return http.request(endpoint.method, url, content=content or None, headers=headers)


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


def fuzz(world, endpoint: Endpoint, roles: tuple[str, ...]) -> None:
    """Hypothesis-drawn requests to `endpoint` through the live server: none may answer >= 500."""

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,  # the same requests in CI every run
        database=None,
        deadline=None,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
    )
    @given(sent=drawn_requests(endpoint, roles, world.known, world.values))
    def one(sent: Sent) -> None:
        response = send(world, endpoint, sent)
        world.answers[endpoint.key][response.status_code] += 1
        assert response.status_code < 500, (endpoint.key, sent, response.status_code, response.text[:400])

    for regression in REGRESSIONS.get(endpoint.key, []):
        one = example(sent=regression)(one)
    one()


def fuzzable(found: list[Endpoint]) -> list[Endpoint]:
    return [e for e in found if e.kind in ("page", "form", "json", "static")]


def test_every_route_has_a_fuzzing_strategy(kit_world, hub_world):
    found = kit_endpoints(kit_world) + hub_endpoints(hub_world)
    unknown = [e.key for e in found if e.kind == "unknown"]
    assert not unknown, f"routes the fuzzer cannot classify (add a strategy in {__name__}): {unknown}"
    assert len([e for e in found if e.program == "kit" and e.kind == "form"]) >= 25  # the route table was read
    assert {("hub", "POST", "/api/v1/enrol"), ("hub", "POST", "/api/v1/reports")} <= {
        e.key for e in found if e.kind == "json"
    }


def test_kit_routes_answer_hostile_requests_without_a_server_error(kit_world):
    with ErrorLog() as errors:
        for endpoint in fuzzable(kit_endpoints(kit_world)):
            fuzz(kit_world, endpoint, KIT_ROLES)
    assert not errors.records, [r.getMessage() for r in errors.records]
    # The sessions and CSRF tokens worked (a change to either would leave only refusals, and fuzz nothing):
    accepted = [key for key, answers in kit_world.answers.items() if key[1] == "POST" and answers.keys() & {200, 303}]
    assert len(accepted) >= 5 or EXAMPLES < 20, kit_world.answers
    assert_kit_intact(kit_world)


def test_hub_routes_answer_hostile_requests_without_a_server_error(hub_world):
    with ErrorLog() as errors:
        for endpoint in fuzzable(hub_endpoints(hub_world)):
            fuzz(hub_world, endpoint, HUB_ROLES)
    assert not errors.records, [r.getMessage() for r in errors.records]
    assert_hub_intact(hub_world)


def assert_kit_intact(kit_world: KitWorld) -> None:
    """After fuzzing: the database is sound and the demo pages still answer."""
    with kit_world.kit.people.transaction() as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    anonymous = kit_world.client("anonymous")
    for path in ("/", "/content/tpkit_demo_en/", "/content/tpkit_demo_zh/", "/learn", "/catalog/v2/entries"):
        assert anonymous.get(path, follow_redirects=True).status_code == 200, path
    assert kit_world.client("pupil").get("/me").status_code == 200
    assert kit_world.client("teacher").get("/teach").status_code == 200


def assert_hub_intact(hub_world: HubWorld) -> None:
    """After fuzzing: the database is sound, the dashboard answers and a kit's good report is still accepted."""
    if hub_world.db.backend == "sqlite":
        assert hub_world.db.query("PRAGMA integrity_check")[0]["integrity_check"] == "ok"
    assert hub_world.client("technician").get("/").status_code == 200
    good = report_file.Report.new("kit-1", 1, "heartbeat", health_body("kit-1"), clock_synchronised=True)
    payload, headers = hub_world.signed_report(json.dumps(good.as_dict()).encode())
    response = hub_world.client("anonymous").post(api_routes.REPORTS_PATH, content=payload, headers=headers)
    assert response.status_code in (200, 201, 202), response.text
