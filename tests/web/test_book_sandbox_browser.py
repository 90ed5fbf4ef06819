"""Real books still work in the sandbox (issue 14): every book answer carries `Content-Security-Policy: sandbox …`
without allow-same-origin (web/book_origin.py), so a book's page has an opaque origin and its own requests to the
kit are cross-origin. Driven in headless Chromium: the shared third-party ZIMs render with their images, CSS and
scripts; a video plays its first frames over range requests; a page loads same-book JSON with XHR and fetch; kit
pages that link books open them. The attacks the sandbox stops are in tests/security/test_book_origin.py.
"""

from __future__ import annotations

import json
import re
import shutil
import time

import pytest

from appliance.config import load_settings
from appliance.content.zimwriter import Entry, write_zim
from appliance.services.kit import open_kit
from appliance.services.learning import lessons, records
from appliance.web.app import create_app
from tests.conftest import LiveServer, article, make_book, shared_zims
from tests.security.test_book_origin import WithoutSandbox
from tests.web.browsers import browser  # noqa: F401
from tests.web.people_clients import classroom

pytestmark = [pytest.mark.browser]

SANDBOX_PREFIX = "sandbox allow-scripts"
REAL = ("wikipedia_en_ray_charles.zim", "example.zim", "small.zim", "wikibooks_be_all_nopic_2017-02.zim")
LOAD_WAIT_MS = 15_000

# Made in Chromium itself (MediaRecorder of a canvas, VP8 in WebM): no ffmpeg on the box, no binary in the repo.
RECORD_CLIP_JS = """async () => {
  const canvas = document.createElement('canvas');
  canvas.width = 64; canvas.height = 48;
  document.body.appendChild(canvas);
  const g = canvas.getContext('2d');
  const recorder = new MediaRecorder(canvas.captureStream(10), {mimeType: 'video/webm;codecs=vp8'});
  const chunks = [];
  recorder.ondataavailable = e => chunks.push(e.data);
  const stopped = new Promise(resolve => recorder.onstop = resolve);
  recorder.start();
  for (let i = 0; i < 12; i++) {
    g.fillStyle = `rgb(${i * 20}, 120, 200)`;
    g.fillRect(0, 0, 64, 48);
    await new Promise(resolve => setTimeout(resolve, 60));
  }
  recorder.stop();
  await stopped;
  return Array.from(new Uint8Array(await new Blob(chunks).arrayBuffer()));
}"""

VIDEO_PAGE = article(
    "A short film",
    "<video id='film' src='media/film.webm' preload='auto' muted></video><p id='state'>waiting</p>"
    "<script>const v = document.getElementById('film');"
    "v.addEventListener('loadedmetadata', () => document.getElementById('state').textContent = 'metadata');"
    "v.addEventListener('error', () => document.getElementById('state').textContent = 'error');</script>",
)
DATA_PAGE = article(
    "Facts",
    "<p id='by-fetch'>waiting</p><p id='by-xhr'>waiting</p><script>"
    "fetch('data/facts.json').then(r => r.json()).then(d => document.getElementById('by-fetch').textContent = d.fact,"
    " e => document.getElementById('by-fetch').textContent = 'error ' + e);"
    "const x = new XMLHttpRequest(); x.open('GET', 'data/facts.json');"
    "x.onload = () => document.getElementById('by-xhr').textContent = JSON.parse(x.responseText).fact;"
    "x.onerror = () => document.getElementById('by-xhr').textContent = 'error'; x.send();</script>",
)
FACT = "Water boils at 100 °C at sea level."


def _own_book(folder, name: str, main: str, entries: list[Entry]) -> None:
    write_zim(
        folder / f"{name}.zim",
        metadata={
            "Title": name,
            "Description": name,
            "Language": "eng",
            "Creator": "tests",
            "Publisher": "tpkit",
            "Date": "2026-01-02",
            "Name": name,
            "Tags": "_category:test",
        },
        main_path=main,
        entries=entries,
        index_language=None,
    )


@pytest.fixture(scope="module")
def reading(browser, tmp_path_factory):  # noqa: F811
    """A kit serving the shared real ZIMs (those present), a video book, a book that fetches its own JSON and the
    test book."""
    root = tmp_path_factory.mktemp("sandbox-kit")
    content = root / "c"
    content.mkdir()
    try:
        for path in shared_zims("real"):
            if path.name in REAL:
                shutil.copy(path, content / path.name)
    except pytest.skip.Exception:
        pass  # the books made here still run
    context = browser.new_context()
    clip = bytes(context.new_page().evaluate(RECORD_CLIP_JS))
    context.close()
    assert clip[:4] == b"\x1a\x45\xdf\xa3", "MediaRecorder did not make a WebM"
    _own_book(
        content,
        "film",
        "index",
        [
            Entry("index", "A short film", "text/html", VIDEO_PAGE, front=True),
            Entry("media/film.webm", "film", "video/webm", clip),
        ],
    )
    facts = json.dumps({"fact": FACT}).encode()
    _own_book(
        content,
        "facts",
        "index",
        [
            Entry("index", "Facts", "text/html", DATA_PAGE, front=True),
            Entry("data/facts.json", "facts", "application/json", facts),
        ],
    )
    make_book(content, "test_book")
    settings = load_settings(
        environ={}, overrides={"data_dir": str(root / "data"), "content_dir": str(content), "mdns_enabled": False}
    )
    kit = open_kit(settings)
    with LiveServer(create_app(kit, watch_library=False)) as server:
        yield server, kit, root
    kit.close()


@pytest.fixture(scope="module")
def unsandboxed(reading):
    """A second kit on the same books, answering without the sandbox: what the books did before."""
    root = reading[2]
    settings = load_settings(
        environ={}, overrides={"data_dir": str(root / "data-2"), "content_dir": str(root / "c"), "mdns_enabled": False}
    )
    kit = open_kit(settings)
    with LiveServer(WithoutSandbox(create_app(kit, watch_library=False))) as server:
        yield server
    kit.close()


@pytest.fixture
def page(browser, reading):  # noqa: F811
    context = browser.new_context(base_url=reading[0].url, locale="en-US")
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("console", lambda m: page.errors.append(m.text) if "Content Security Policy" in m.text else None)
    yield page
    context.close()


def _real(reading, file_name: str) -> str:
    name = file_name.removesuffix(".zim")
    if name not in {book.name for book in reading[1].library.books()}:
        pytest.skip(f"no shared {file_name}")
    return name


def _sandboxed(response) -> bool:
    return (response.headers.get("content-security-policy") or "").startswith(SANDBOX_PREFIX)


def _assets_loaded(page) -> dict:
    """Images (naturalWidth), stylesheets (sheet present) and the document's origin, once the page has loaded."""
    page.wait_for_load_state("load")
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")  # lazy images load once in view
    page.wait_for_function("Array.from(document.images).every(i => i.complete)", timeout=LOAD_WAIT_MS)
    return page.evaluate(
        """() => ({
          origin: self.origin,
          images: Array.from(document.images).filter(i => new URL(i.src).host === location.host)
                       .map(i => [i.getAttribute('src'), i.complete ? i.naturalWidth : 0]),
          sheets: Array.from(document.querySelectorAll('link[rel=stylesheet]')).map(l => [l.getAttribute('href'), !!l.sheet]),
        })"""
    )


def test_ray_charles_renders_with_its_css_and_scripts(page, reading, tmp_path):
    book = _real(reading, "wikipedia_en_ray_charles.zim")
    response = page.goto(f"/content/{book}/A/Ray_Charles")
    assert response.status == 200 and _sandboxed(response)
    loaded = _assets_loaded(page)
    assert loaded["origin"] == "null"  # the opaque origin
    assert all(width > 0 for _, width in loaded["images"]), loaded["images"]  # this ZIM has no pictures in articles
    assert loaded["sheets"] and all(ok for _, ok in loaded["sheets"]), loaded["sheets"]
    # The book's script.js (jQuery, on window.onload) marks the body: the book's own scripts ran.
    page.wait_for_function("document.body.getAttribute('data-useragent') !== null", timeout=LOAD_WAIT_MS)
    assert page.evaluate("getComputedStyle(document.body).fontFamily") != ""
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(tmp_path / "ray_charles_sandboxed.png"))  # looked at once: styled, infobox and all
    # The book's home page: article_list_home.js removes the `nojs` class.
    page.goto(f"/content/{book}/")
    page.wait_for_function("!document.body.classList.contains('nojs')", timeout=LOAD_WAIT_MS)
    assert not [e for e in page.errors if "Content Security Policy" in e or "SecurityError" in e], page.errors


@pytest.mark.parametrize("file_name", ["example.zim", "small.zim"])
def test_other_real_books_render(page, reading, file_name):
    book = _real(reading, file_name)
    response = page.goto(f"/content/{book}/")
    assert response.status == 200 and _sandboxed(response)
    loaded = _assets_loaded(page)
    assert loaded["origin"] == "null"
    assert not [src for src, width in loaded["images"] if width == 0], loaded["images"]
    assert all(ok for _, ok in loaded["sheets"]), loaded["sheets"]
    assert page.inner_text("body").strip()
    assert not [e for e in page.errors if "Content Security Policy" in e or "SecurityError" in e], page.errors


FINGERPRINT_JS = """() => ({
  sheets: Array.from(document.querySelectorAll('link[rel=stylesheet]')).map(l => !!l.sheet),
  styleSheets: document.styleSheets.length,
  font: getComputedStyle(document.body).fontFamily,
  background: getComputedStyle(document.body).backgroundColor,
  bodyClass: document.body.className,
  images: Array.from(document.images).map(i => i.naturalWidth),
  text: document.body.innerText.length,
})"""


def _fingerprint(browser, base_url: str, path: str) -> dict:  # noqa: F811
    """What a reader gets from a page: its styles, pictures, text and the script errors the book itself causes."""
    context = browser.new_context(base_url=base_url, locale="en-US")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda m: (
            errors.append(m.text.replace(base_url, ""))
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    # Loads that failed, by path: a 404, or (from the opaque origin) the same 404 that Chromium's ORB then blocks.
    # Chromium asks for /favicon.ico (no such page on the kit) only for a non-opaque origin.
    failed: set[str] = set()
    page.on("response", lambda r: failed.add(r.url.replace(base_url, "")) if r.status >= 400 else None)
    page.on("requestfailed", lambda r: failed.add(r.url.replace(base_url, "")))
    page.goto(path)
    page.wait_for_load_state("load")
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_function("Array.from(document.images).every(i => i.complete)", timeout=LOAD_WAIT_MS)
    page.wait_for_timeout(300)  # scripts run on load handlers and timers
    found = page.evaluate(FINGERPRINT_JS)
    context.close()
    return {**found, "errors": sorted(errors), "failed": sorted(failed - {"/favicon.ico"})}


@pytest.mark.parametrize(
    ("file_name", "path"),
    [
        ("wikipedia_en_ray_charles.zim", "A/Ray_Charles"),
        ("wikipedia_en_ray_charles.zim", "A/index"),
        ("example.zim", "Wikibooks.html"),
        ("small.zim", ""),
        ("wikibooks_be_all_nopic_2017-02.zim", ""),
    ],
)
def test_the_sandbox_changes_nothing_a_real_book_shows(browser, reading, unsandboxed, file_name, path):  # noqa: F811
    """The same page with and without the book headers: same styles, pictures, text, failed loads and script errors
    (these ZIMs have some of their own: missing MediaWiki modules, a 404 or two)."""
    book = _real(reading, file_name)
    sandboxed = _fingerprint(browser, reading[0].url, f"/content/{book}/{path}")
    before = _fingerprint(browser, unsandboxed.url, f"/content/{book}/{path}")
    assert sandboxed["text"] > 0
    if file_name == "example.zim":
        # A saved web page whose scripts and styles are entries labelled text/plain: `nosniff` refuses them (before,
        # the scripts ran and failed, "$ is not defined", asking for more that was not there); it shows the same.
        assert all("strict MIME" in e for e in sandboxed["errors"]), sandboxed["errors"]
        assert before["errors"] and not [e for e in before["errors"] if "strict MIME" in e], before["errors"]
        refused = {path for path in sandboxed["failed"] if path.startswith(f"/content/{book}/") and ".php" in path}
        assert refused and set(sandboxed["failed"]) - refused <= set(before["failed"]), sandboxed["failed"]
        for kept in (sandboxed, before):
            kept["errors"] = kept["failed"] = []
    assert sandboxed == before


def test_a_video_loads_over_range_requests(page, reading):
    ranges = []
    page.on(
        "response",
        lambda r: (
            ranges.append((r.status, r.headers.get("content-range"), _sandboxed(r)))
            if r.url.endswith("/film.webm")
            else None
        ),
    )
    page.goto("/content/film/index")
    page.wait_for_function("document.getElementById('film').readyState >= 1", timeout=LOAD_WAIT_MS)
    assert page.inner_text("#state") == "metadata"
    assert page.evaluate("document.getElementById('film').videoWidth") == 64
    assert ranges and all(status == 206 and sandboxed for status, _, sandboxed in ranges), ranges


def test_a_page_loads_same_book_data_with_xhr_and_fetch(page, reading):
    page.goto("/content/facts/index")
    page.wait_for_function(
        "['by-fetch', 'by-xhr'].every(id => document.getElementById(id).textContent !== 'waiting')",
        timeout=LOAD_WAIT_MS,
    )
    assert page.inner_text("#by-fetch") == page.inner_text("#by-xhr") == FACT


def test_kit_pages_open_books(page, reading):
    """The home page and search results link books; following a link opens the book in the sandbox, and a link
    inside the book leads on within it."""
    page.goto("/")
    with page.expect_navigation():
        page.click("a[href='/content/test_book/']")
    assert page.url.endswith("/content/test_book/index")
    assert page.evaluate("self.origin") == "null"
    with page.expect_navigation():
        page.click("a[href='water']")
    assert page.inner_text("h1") == "Water cycle"
    page.goto("/search?pattern=moon&content=test_book")
    with page.expect_navigation():
        page.click("a[href='/content/test_book/moon']")
    assert page.inner_text("h1") == "The Moon"


@pytest.fixture(scope="module")
def pupils(tmp_path_factory):
    """A kit with the test book, one class whose pupil Anna has the PIN 2587, and a lesson with the Moon article."""
    root = tmp_path_factory.mktemp("sandbox-pupils")
    make_book(root / "c", "test_book")
    kit, teacher_id, result = classroom(root, "name,pin\nAnna,2587\n", "三年级一班")
    [anna] = kit.people.students_of(result.class_id)
    teacher = kit.people.person(teacher_id)
    lesson_id = lessons.create(kit.people, kit.lessons, teacher, result.class_id, "The Moon", "", False, "", [])
    lessons.add_library_item(kit.people, kit.lessons, kit.load_library(), teacher, lesson_id, "test_book", "moon")
    with LiveServer(create_app(kit, watch_library=False)) as server:
        yield server, kit, result.class_id, anna["id"], lesson_id
    kit.close()


def _opened(kit, account_id: int, path: str) -> bool:
    iri = records.activity(kit.settings, "article", f"test_book/{path}")
    kit.open_batch.flush()  # an article's record waits in the batch (services/learning/open_batch.py)
    return kit.learning_records.opened_within(account_id, iri, time.time(), records.OPEN_WINDOW_S)


def test_which_article_opens_a_pupil_records(browser, pupils):  # noqa: F811
    """An article opened from a kit page (a lesson's item, the home page) is recorded; one reached by a link inside a
    book is not: that navigation starts in the book's opaque origin, so the SameSite=Strict session cookie stays
    home."""
    server, kit, class_id, anna, lesson_id = pupils
    context = browser.new_context(base_url=server.url, locale="en-US", java_script_enabled=False)
    page = context.new_page()
    page.goto(f"/learn/{class_id}/{anna}")
    page.fill("input.pin", "2587")
    page.press("input.pin", "Enter")
    page.wait_for_url("**/me")
    page.goto(f"/me/lessons/{lesson_id}")
    with page.expect_navigation():
        page.click(f"a[href^='/me/lessons/{lesson_id}/items/']")
    # the item's page: the kit bar, and the article framed below it (me_read.html)
    assert re.search(r"/me/lessons/\d+/items/\d+$", page.url) and page.locator(".kitbar a.back").is_visible()
    assert page.frame_locator("iframe.book").locator("h1").inner_text() == "The Moon"
    page.goto("/")
    with page.expect_navigation():
        page.click("a[href='/content/test_book/']")
    with page.expect_navigation():
        page.click("a[href='water']")
    assert page.inner_text("h1") == "Water cycle"  # the book reads on without the cookie
    time.sleep(0.5)  # the record is written after the page was sent
    assert _opened(kit, anna, "moon") and _opened(kit, anna, "index")
    assert not _opened(kit, anna, "water")
    page.goto("/me")
    assert page.url.endswith("/me")  # still signed in
    context.close()
