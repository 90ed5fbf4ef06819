"""Fixtures of the phone that takes the lesson home (issue 18 part B): a book whose article loads a picture and a
style sheet, a class with a published lesson holding that article, and `offline_phone`, the one way the browser
tests reach the kit.

`offline_phone` serves the kit at http://localhost:<port> for now (localhost is a secure context, so Chromium
runs the service worker); at the merge the lead switches it to Part A's trusted HTTPS harness
(tests/web/trusted_https.py), so no test names the origin itself.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator

import pytest

from appliance.content.icons import badge
from appliance.content.zimwriter import Entry
from appliance.services.kit import open_kit
from appliance.web.app import create_app
from tests.conftest import LiveServer, make_book
from tests.web.browsers import PHONE, chromium
from tests.web.lesson_data import make_lesson
from tests.web.people_clients import csrf

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
def restart_kit(live, settings) -> Iterator[Callable[[], object]]:
    """`restart_kit()` stops the live kit (its app closes the kit) and starts a fresh one on the same data and port,
    as after a power cut; it returns the new kit."""
    started: list[LiveServer] = []

    def restart():
        (started[-1] if started else live).__exit__(None, None, None)
        kit = open_kit(settings)
        started.append(LiveServer(create_app(kit, watch_library=False), port=live.port).__enter__())
        return kit

    yield restart
    for server in started:
        server.__exit__(None, None, None)


def _phones(base_url: str, extra_args: tuple[str, ...] = ()) -> Iterator[OfflinePhone]:
    contexts = []
    with chromium(extra_args) as browser:

        def new_page(**options):
            context = browser.new_context(base_url=base_url, **{**PHONE, "locale": "zh-CN", **options})
            contexts.append(context)
            return context.new_page()

        yield OfflinePhone(base_url, new_page)
        for context in contexts:
            context.close()


@pytest.fixture
def offline_phone(live) -> Iterator[OfflinePhone]:
    """Phones in headless Chromium reaching the kit over a secure context with a real service worker."""
    yield from _phones(f"http://localhost:{live.port}")  # the seam: Part A's HTTPS origin replaces this at the merge


@pytest.fixture
def plain_http_phone(live) -> Iterator[OfflinePhone]:
    """Phones reaching the kit at http://kit.test:<port>, a name Chromium maps to 127.0.0.1: not a secure context, so
    no service worker and no Cache API, as a real phone on http://<kit>/ (issue 18, "The trap")."""
    yield from _phones(f"http://kit.test:{live.port}", ("--host-resolver-rules=MAP kit.test 127.0.0.1",))
