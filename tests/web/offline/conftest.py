"""Fixtures of the phone that takes the lesson home (issue 18 part B): a book whose article loads a picture and a
style sheet, a class with a published lesson holding that article, and `offline_phone`, the one way the browser
tests reach the kit.

`offline_phone` is a phone on the classroom Wi-Fi of a kit with its county certificate: Part A's harness
(tests/web/trusted_https.py), the kit at https://kit-7.kits.county.test:<port>, a name Chromium maps to 127.0.0.1,
with a certificate from a test CA its NSS database trusts — a secure context for the reason a phone's is, so the
service worker runs as it would there. No test names the origin itself.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator

import pytest

from appliance.content.icons import badge
from appliance.content.zimwriter import Entry
from appliance.services.kit import open_kit
from appliance.services.security import kit_certificate
from appliance.web.app import create_app
from tests.conftest import LiveServer, make_book
from tests.web.browsers import PHONE, chromium
from tests.web.lesson_data import make_lesson
from tests.web.people_clients import csrf
from tests.web.trusted_https import named_kit, test_ca, trusted_chromium, trusted_home  # noqa: F401

LEAF = badge(48, (40, 160, 60), (250, 250, 250))
STYLE = b"body { background: #f4fff0 } img.leaf { width: 48px }"
PLANTS = (
    "Plants",
    '<link rel="stylesheet" href="style/garden.css"><img class="leaf" src="img/leaf.png" alt="">'
    "<p>Leaves make food from sunlight.</p>" + "<p>Roots drink water.</p>" * 30,
)


@pytest.fixture
def book(content_dir):
    """The kit's book for these tests: the article `plants` loads img/leaf.png and style/garden.css."""
    return make_book(
        content_dir,
        "test_book",
        articles={"index": ("Welcome", "<p><a href='plants'>Plants</a></p>"), "plants": PLANTS},
        extra=[Entry("img/leaf.png", "leaf", "image/png", LEAF), Entry("style/garden.css", "css", "text/css", STYLE)],
    )


@dataclasses.dataclass
class Lesson:
    id: int
    item_id: int  # the article's item


@pytest.fixture
def plant_lesson(roles) -> Lesson:
    """Class A's published homework lesson holding the article `plants`."""
    clients, ids = roles
    teacher = clients["teacher_a"]
    lesson_id = make_lesson(teacher, ids["a"]["class"], "Watch a plant grow")
    data = {"csrf": csrf(teacher), "book": "test_book", "path": "plants"}
    assert teacher.post(f"/teach/lessons/{lesson_id}/items", data=data).status_code == 303
    page = clients["student_a"].get(f"/me/lessons/{lesson_id}").text
    [item_id] = re.findall(rf"/me/lessons/{lesson_id}/items/(\d+)", page)
    return Lesson(lesson_id, int(item_id))


@dataclasses.dataclass
class OfflinePhone:
    """`new_page()` opens a page in a fresh phone (its own cookies, IndexedDB, caches and service worker), whose
    relative addresses go to the kit at `base_url`; `url(path)` is the absolute address of a path."""

    base_url: str
    new_page: Callable[..., object]

    def url(self, path: str) -> str:
        return self.base_url + path


@pytest.fixture
def restart_kit(named_kit) -> Iterator[Callable[[], object]]:  # noqa: F811
    """`restart_kit()` stops the kit's HTTPS server and starts a fresh kit on the same data, port and certificate,
    as after a power cut; it returns the new kit."""
    started: list[LiveServer] = []

    def restart():
        (started[-1] if started else named_kit.https).__exit__(None, None, None)
        kit = open_kit(named_kit.kit.settings)
        cert, key = kit_certificate.serving_files(kit.paths)
        app = create_app(kit, watch_library=False)
        https = LiveServer(app, port=named_kit.https_port, ssl_certfile=str(cert), ssl_keyfile=str(key))
        started.append(https.__enter__())
        return kit

    yield restart
    for server in started:
        server.__exit__(None, None, None)


def _phones(base_url: str, launched) -> Iterator[OfflinePhone]:
    contexts = []
    with launched as browser:

        def new_page(**options):
            context = browser.new_context(base_url=base_url, **{**PHONE, "locale": "zh-CN", **options})
            contexts.append(context)
            return context.new_page()

        yield OfflinePhone(base_url, new_page)
        for context in contexts:
            context.close()


@pytest.fixture
def offline_phone(named_kit, trusted_home) -> Iterator[OfflinePhone]:  # noqa: F811
    """Phones in headless Chromium reaching the kit over trusted HTTPS on its name, with a real service worker. The
    kit is the one `kit` and `roles` use (the same data folder): their sign-ins hold there too."""
    yield from _phones(named_kit.https_url, trusted_chromium(trusted_home))


@pytest.fixture
def plain_http_phone(live) -> Iterator[OfflinePhone]:
    """Phones reaching the kit at http://kit.test:<port>, a name Chromium maps to 127.0.0.1: not a secure context, so
    no service worker and no Cache API, as a real phone on http://<kit>/ (issue 18, "The trap")."""
    yield from _phones(f"http://kit.test:{live.port}", chromium(("--host-resolver-rules=MAP kit.test 127.0.0.1",)))
