"""Fuzzing every form and JSON endpoint of the kit and the hub (issue 14, "Beyond the list"): 0 server errors.

Who: any client on the classroom Wi-Fi (a pupil signed in or not, or whoever sits at a classroom PC a teacher or
the administrator left signed in), and anyone who reaches the hub (its API needs no account; its dashboard is a
technician's). From where: the kit's web port; the hub's port. With what: hypothesis-drawn requests to every route
of both apps' own route tables (a new route is fuzzed without editing this file): hostile path parameters and query
strings; posted forms, urlencoded and multipart, with valid sessions and valid CSRF tokens, so the handlers' own
code runs, whose fields are huge, empty, NUL, not UTF-8, lone surrogates, 1e999, -0, 2^64, NaN, repeated, missing,
arrays or files; JSON (enrolment; reports signed with an enrolled kit's key or not) deep, wide, of the wrong types,
non-finite, huge.
What stops them: every input passes a bounded parser before it reaches a service (webcore/bounded_ids.py for path
ids, typed_numbers.whole_number and parse_number for numbers in forms and queries, strict_json for JSON, the
hub's KIT_ID for kit addresses, webcore/forms.checked_form refusing NUL and unasked-for files, the services' own
checks for text), and both apps answer what is left with one error handler: a 4xx with the fix, never a 500. The
bar: no answer >= 500 and no error logged; then the kit's database passes `PRAGMA integrity_check` and its pages
still answer, and the hub still takes a kit's good report.

The requests go through a real uvicorn on a loopback port (conftest.LiveServer), the kit on real SQLite with the
demo books and a test book, the hub on SQLite and on PostgreSQL. TPKIT_FUZZ_EXAMPLES sets the examples per route
(30 by default; docs/security.md gives the longer run and what the fuzzer found).
"""

from __future__ import annotations

import contextlib
import json
import os

import httpx
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings, strategies as st

from appliance.hub import api_routes
from appliance.protocol import desired_config, report_file
from tests.hub.conftest import BACKENDS, health_body, postgres_database
from tests.security.fuzz_strategies import (
    RAW_JSON,
    Endpoint,
    Sent,
    endpoints,
    enrolment_shaped,
    filled_path,
    forms,
    hostile_values,
    json_values,
    path_values,
    query_strings,
    report_shaped,
)
from tests.security.fuzz_worlds import HUB_ROLES, ErrorLog, HubWorld, KitWorld, send

EXAMPLES = int(os.environ.get("TPKIT_FUZZ_EXAMPLES", "30"))
# 20–55 s for the kit's 83 endpoints at 30 examples on 2 shared cores; a longer run gets a proportionate limit.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(max(120, EXAMPLES * 5))]
KIT_ROLES = ("anonymous", "pupil", "teacher", "admin")
HUB_JSON = {"/api/v1/enrol", api_routes.REPORTS_PATH}
KIT_CHUNKS = frozenset({"/books/uploads/{upload_id}"})  # a book sent from a laptop, chunk by chunk (web/shelf_routes)
# What a chunk's headers say: where it goes in the file and the file's name, as the page's script sends them or not.
CHUNK_RANGES = [b"bytes 0-9/10", b"bytes */10", b"bytes 5-2/10", b"bytes 0-99999999999999999999/1", b"items 0-1/2", b""]

# Names a handler's module does not spell out: read by a service (quiz drafts, catalog filters, quiz answers, the
# answers a teacher accepts, the hub's config fields) or built in a loop.
QUIZ_FIELDS = ("title", "attempts", "due", "pass", "count", "action") + tuple(
    f"q{n}-{f}"
    for n in range(3)
    for f in (
        "kind",
        "prompt",
        "option0",
        "option1",
        "right",
        "tf",
        "accepted",
        "number",
        "tolerance",
        "points",
        "picture",
        "picture-remove",
    )
)
CATALOG_FILTERS = ("lang", "name", "category", "tag", "notag", "maxsize", "q", "start", "count")
EXTRA_NAMES = {
    ("kit", "POST", "/teach/{class_id:int}/quizzes"): QUIZ_FIELDS,
    ("kit", "POST", "/teach/quizzes/{quiz_id:int}/edit"): QUIZ_FIELDS,
    ("kit", "POST", "/me/quizzes/{quiz_id:int}/attempts/{attempt_id:int}"): ("a0", "a1", "a2", "a3", "a4"),
    ("kit", "POST", "/teach/quizzes/{quiz_id:int}/marking"): ("accept0", "accept1", "accept2"),
    ("kit", "GET", "/catalog/v2/entries"): CATALOG_FILTERS,
    ("kit", "GET", "/catalog/v2/partial_entries"): CATALOG_FILTERS,
    ("hub", "POST", "/kits/{kit_id}/config"): desired_config.FIELDS,
}

# One regression example per fault the fuzzer found (docs/security.md, "Fuzzing"), keyed by route: a file part in
# a form that takes no file was spooled to a temporary file nobody closed (checked_form now refuses it, 400).
FILE_IN_A_PLAIN_FORM = ((b"body", b"x", b"a.jpg"),)
SUPERSCRIPT = "²".encode()  # str.isdigit() is true for it; int() refuses it
GOOD_REPORT = report_file.Report.new("kit-1", 1, "heartbeat", health_body("kit-1"), clock_synchronised=True)
SURROGATE_REPORT = json.dumps({**GOOD_REPORT.as_dict(), "body": {"school_name": "\ud800"}}).encode()  # half a pair
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
    ("hub", "POST", "/api/v1/enrol"): [
        Sent(
            "anonymous",
            "/api/v1/enrol",
            encoding="raw",
            raw=b'{"kit_id": "kit-2", "token": "t", "public_key": "\\u216b"}',
        )
    ],
    ("hub", "POST", "/api/v1/reports"): [
        Sent("anonymous", api_routes.REPORTS_PATH, encoding="raw", sign=True, raw=SURROGATE_REPORT)
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
    return endpoints("kit", world.server.server.config.app.routes, set(), EXTRA_NAMES, KIT_CHUNKS)


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
    if endpoint.kind == "chunk":
        headers = st.tuples(
            st.one_of(st.sampled_from(CHUNK_RANGES), hostile_values(values, huge=False)),
            st.one_of(st.just(b"book.zim"), hostile_values(values, huge=False)),
        ).map(lambda pair: ((b"content-range", pair[0], None), (b"x-file-name", pair[1], None)))
        body = st.one_of(st.binary(max_size=64), st.sampled_from([b"ZIM\x04" + b"\x00" * 60, b"x" * 100_000]))
        csrf = st.sampled_from(["valid"] * 8 + ["missing", "wrong"])
        return st.tuples(base, headers, body, csrf).map(
            lambda t: t[0].replace(fields=t[1], raw=t[2], encoding="chunk", csrf=t[3])
        )
    if endpoint.kind == "json":
        hostile = st.one_of(json_values().map(lambda v: json.dumps(v).encode()), st.sampled_from(RAW_JSON))
        if endpoint.path == api_routes.REPORTS_PATH:  # mostly signed reports, so the hub reads their bodies
            raws, signed = st.one_of(report_shaped(), report_shaped(), hostile), st.sampled_from([True, True, False])
        else:
            raws, signed = st.one_of(enrolment_shaped(known), hostile), st.just(False)
        return st.tuples(base, raws, signed).map(lambda t: t[0].replace(raw=t[1], encoding="raw", sign=t[2]))
    return base


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
        try:
            response = send(world, endpoint, sent)
        except httpx.TransportError:
            # The server may answer early (413 for a body over the limit) and close while the body is still being
            # sent; the client then sees a reset. A server error would still be in the log, which the test checks.
            world.answers[endpoint.key][0] += 1
            return
        world.answers[endpoint.key][response.status_code] += 1
        assert response.status_code < 500, (endpoint.key, sent, response.status_code, response.text[:400])

    for regression in REGRESSIONS.get(endpoint.key, []):
        one = example(sent=regression)(one)
    one()


def fuzzable(found: list[Endpoint]) -> list[Endpoint]:
    return [e for e in found if e.kind in ("page", "bodyless", "form", "json", "chunk", "static")]


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
    payload, headers = hub_world.signed_report(json.dumps(GOOD_REPORT.as_dict()).encode())
    response = hub_world.client("anonymous").post(api_routes.REPORTS_PATH, content=payload, headers=headers)
    assert response.status_code in (200, 201, 202), response.text
