"""Books run in an opaque origin (issue 14, High 1).

Who: whoever made a ZIM that reaches the kit: a pupil's USB stick (udev → `tpkit import`), an unsigned local
channel, a tampered download. From where: inside the book, as scripts that run in the browser of whoever opens it —
a signed-in teacher or administrator on the classroom Wi-Fi. With what: a page that does `fetch('/teach')` with the
reader's cookies to read the CSRF token, then posts the kit's forms (import a class list with a chosen PIN, create a
teacher account); an SVG entry with `<script>`; a metadata item whose MIME type is text/html, opened at
/raw/<book>/meta/<name>.
What stops them: every answer under /content/, /raw/ and /catalog/v2/illustration/ carries
`Content-Security-Policy: sandbox …` without `allow-same-origin` and `X-Content-Type-Options: nosniff`
(web/book_origin.py, one middleware), so the book's documents get an opaque origin: their requests to the kit are
cross-site (the SameSite=Strict session and CSRF cookies stay home), the kit's pages answer them without
`Access-Control-Allow-Origin`, `document.cookie` and `localStorage` throw. Metadata is served as plain text (or PNG
for illustrations) whatever the ZIM says. Measured below in Chromium with a teacher and an administrator signed in in
the same browser context: nothing read, nothing changed in the database.
Real books still work in the sandbox: tests/web/test_book_sandbox_browser.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from appliance.config import load_settings
from appliance.content.icons import badge
from appliance.content.zimwriter import Entry, write_zim
from appliance.services.kit import open_kit
from appliance.services.people import access as people, auth
from appliance.services.people.access import CONSOLE
from appliance.web import book_origin
from appliance.web.app import create_app
from tests.conftest import LiveServer, article, make_book
from tests.web import browsers

SANDBOX = "sandbox allow-scripts allow-forms allow-popups allow-popups-to-escape-sandbox allow-modals allow-downloads"
TEACHER, TEACHER_PASSWORD = "li.wei", "chalk and blackboard"
EVIL_TEACHER = "evil.teacher"
EVIL_CLASS = "Evil class"
ATTACK_WAIT_MS = 15_000

# What a hostile book's script tries, in the reader's browser. Each outcome is written into #out as JSON.
ATTACK_JS = (
    """
async function attack() {
  const out = {}, tokens = {};
  try { out.cookie = 'read ' + document.cookie; } catch (e) { out.cookie = 'threw ' + e.name; }
  try { out.storage = 'read ' + localStorage.getItem('kit-secret'); } catch (e) { out.storage = 'threw ' + e.name; }
  for (const path of ['/teach', '/admin', '/admin/people', '/me']) {
    try {
      const r = await fetch(path, {credentials: 'include'});
      const text = await r.text();
      const token = (text.match(/name="csrf" value="([^"]*)"/) || [])[1];
      out[path] = 'read ' + r.status + ' token=' + token;
      if (token) tokens[path] = token;
    } catch (e) { out[path] = 'threw ' + e.name; }
  }
  // A stolen CSRF token when a page could be read, a guess otherwise.
  const teacher = new URLSearchParams({csrf: tokens['/admin/people'] || 'guessed', name: 'Evil', username: 'EVIL_TEACHER',
                                       password: 'evil password 123'});
  try {
    await fetch('/admin/people/teachers', {method: 'POST', body: teacher, credentials: 'include', mode: 'no-cors'});
    out.post_fetch = 'sent';
  } catch (e) { out.post_fetch = 'threw ' + e.name; }
  const sink = document.createElement('iframe');
  sink.name = 'sink';
  document.body.appendChild(sink);
  const loaded = new Promise(resolve => sink.addEventListener('load', resolve));
  const form = document.createElement('form');
  form.method = 'post'; form.action = '/teach/classes'; form.target = 'sink';
  for (const [k, v] of [['csrf', tokens['/teach'] || 'guessed'], ['name', 'EVIL_CLASS'], ['grade', '3'], ['teachers', 'OWN_TEACHER']]) {
    const input = document.createElement('input'); input.name = k; input.value = v; form.appendChild(input);
  }
  document.body.appendChild(form);
  form.submit();
  await loaded;
  try { out.sink = 'read ' + sink.contentDocument.body.innerText.slice(0, 80); } catch (e) { out.sink = 'threw ' + e.name; }
  try {
    const opened = window.open('/teach', 'kitwindow');
    await new Promise(resolve => setTimeout(resolve, 500));
    out.popup = 'read ' + opened.document.body.innerHTML.length;
    opened.close();
  } catch (e) { out.popup = 'threw ' + e.name; }
  return out;
}
attack().then(out => {
  const pre = document.getElementById('out');
  pre.textContent = JSON.stringify(out);
  pre.dataset.done = '1';
});
""".replace("EVIL_TEACHER", EVIL_TEACHER)
    .replace("EVIL_CLASS", EVIL_CLASS)
    .replace("OWN_TEACHER", TEACHER)
)

SVG = b"""<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40"><text id="out" x="5" y="20">waiting</text>
<script>
const out = document.getElementById('out');
let cookie; try { cookie = 'read ' + document.cookie; } catch (e) { cookie = 'threw ' + e.name; }
fetch('/teach', {credentials: 'include'}).then(r => r.text()).then(t => 'read ' + t.length, e => 'threw ' + e.name)
  .then(teach => { out.textContent = JSON.stringify({cookie: cookie, teach: teach}); out.setAttribute('data-done', '1'); });
</script></svg>"""

# A metadata item that claims to be a web page; were it served as text/html, its script would create a teacher.
HTML_META = (
    b"<html><body><script>fetch('/admin/people/teachers', {method: 'POST', credentials: 'include', body: "
    b"new URLSearchParams({name: 'Meta', username: 'meta.teacher', password: 'evil password 123'})});"
    b"document.title = 'ran';</script>meta</body></html>"
)


def hostile_book(folder: Path, name: str = "trojan") -> Path:
    page = article("Fun facts", f"<p>Nothing to see.</p><pre id='out'></pre><script>{ATTACK_JS}</script>")
    folder.mkdir(parents=True, exist_ok=True)
    return write_zim(
        folder / f"{name}.zim",
        metadata={
            "Title": "Fun facts",
            "Description": "A book that attacks its reader",
            "Language": "eng",
            "Creator": "a pupil",
            "Publisher": "a USB stick",
            "Date": "2026-01-02",
            "Name": name,
            "Tags": "_category:test",
            "Evil": (HTML_META, "text/html"),
            "EvilSvg": (SVG, "image/svg+xml"),
        },
        main_path="index",
        entries=[
            Entry("index", "Fun facts", "text/html", page, front=True),
            Entry("pic.svg", "picture", "image/svg+xml", SVG),
            Entry("media/clip.webm", "clip", "video/webm", bytes(range(256)) * 400),
        ],
        illustration_png=badge(48, (10, 20, 30), (200, 100, 50)),
        redirects=[("old", "Old", "index")],
        index_language=None,
    )


# ---- every answer that carries a book's bytes is sandboxed (HTTP, no browser) ----


@pytest.fixture
def book(content_dir: Path) -> Path:
    """The kit of conftest's `client` serves the ordinary test book and the hostile one."""
    hostile_book(content_dir)
    return make_book(content_dir, "test_book")


@pytest.fixture
def book_answers(kit, client):
    """(label, response) for every kind of answer a book URL gives."""
    uuid = kit.library.book("test_book").uuid
    etag = client.get("/content/test_book/moon").headers["etag"]
    cases = [
        ("entry", "/content/test_book/moon", {}),
        ("gzip entry", "/content/test_book/water", {"Accept-Encoding": "gzip"}),
        ("304", "/content/test_book/moon", {"If-None-Match": etag}),
        ("206 range", "/content/test_book/media/clip.webm", {"Range": "bytes=0-99"}),
        ("416 range", "/content/test_book/media/clip.webm", {"Range": "bytes=999999-"}),
        ("image", "/content/test_book/img/dot.png", {}),
        ("svg", "/content/trojan/pic.svg", {}),
        ("redirect entry", "/content/test_book/old_water", {}),
        ("main page", "/content/test_book/", {}),
        ("no slash", "/content/test_book", {}),
        ("missing entry", "/content/test_book/no/such/entry", {}),
        ("missing book", "/content/no_such_book/x", {}),
        ("encoded prefix", "/%63ontent/test_book/moon", {}),  # routed on the decoded path, as the middleware
        ("raw entry", "/raw/test_book/content/moon", {}),
        ("raw redirect", "/raw/test_book/content/old_water", {}),
        ("raw meta", "/raw/test_book/meta/Title", {}),
        ("raw html meta", "/raw/trojan/meta/Evil", {}),
        ("raw illustration", "/raw/test_book/meta/Illustration_48x48@1", {}),
        ("missing meta", "/raw/test_book/meta/Nope", {}),
        ("catalog illustration", f"/catalog/v2/illustration/{uuid}?size=48", {}),
        ("catalog illustration by name", "/catalog/v2/illustration/test_book/?size=48", {}),
    ]
    return [(label, client.get(path, headers=headers)) for label, path, headers in cases]


def test_every_book_answer_is_sandboxed(book_answers):
    statuses = {label: response.status_code for label, response in book_answers}
    assert statuses["304"] == 304 and statuses["206 range"] == 206 and statuses["416 range"] == 416, statuses
    assert statuses["redirect entry"] == statuses["main page"] == 302 and statuses["missing entry"] == 404, statuses
    assert statuses["encoded prefix"] == statuses["raw entry"] == 200, statuses
    assert statuses["svg"] == statuses["raw html meta"] == statuses["catalog illustration"] == 200, statuses
    for label, response in book_answers:
        assert response.headers.get("content-security-policy") == SANDBOX, (label, response.status_code)
        assert response.headers.get("x-content-type-options") == "nosniff", label
        assert "allow-same-origin" not in response.headers["content-security-policy"]


def test_the_policy_lives_in_one_place():
    assert book_origin.SANDBOX == SANDBOX
    assert "allow-same-origin" not in SANDBOX and "allow-top-navigation" not in SANDBOX


def test_the_kits_own_pages_are_not_sandboxed(client):
    """The kit's pages need their origin (sessions, forms); what they show of books is escaped text."""
    for path in ["/", "/learn", "/admin/signin", "/search?pattern=moon&content=test_book", "/catalog/v2/entries"]:
        response = client.get(path)
        assert "content-security-policy" not in response.headers, path


def test_metadata_is_never_an_active_type(client):
    html = client.get("/raw/trojan/meta/Evil")
    assert (html.status_code, html.headers["content-type"]) == (200, "text/plain; charset=utf-8")
    assert html.content == HTML_META  # the bytes are the book's; only the type is the kit's
    svg = client.get("/raw/trojan/meta/EvilSvg")
    assert svg.headers["content-type"] == "text/plain; charset=utf-8"
    title = client.get("/raw/trojan/meta/Title")
    assert title.headers["content-type"].replace(" ", "").lower() == "text/plain;charset=utf-8"
    assert client.get("/raw/trojan/meta/Illustration_48x48@1").headers["content-type"] == "image/png"


def test_meta_type_keeps_only_the_safe_spelling():
    assert book_origin.meta_type("Title", "text/plain;charset=UTF-8") == "text/plain;charset=UTF-8"
    assert book_origin.meta_type("Title", "text/html") == "text/plain; charset=utf-8"
    assert book_origin.meta_type("Title", "text/plain") == "text/plain"
    assert book_origin.meta_type("Title", "text/plain;charset=latin1") == "text/plain; charset=utf-8"
    assert book_origin.meta_type("Illustration_48x48@1", "image/svg+xml") == "image/png"
    assert book_origin.meta_type("Illustration_48x48@1", "image/png") == "image/png"


# ---- the attacks, in Chromium, with staff signed in ----


@pytest.fixture(scope="module")
def chromium():
    with browsers.chromium() as browser:
        yield browser


class WithoutSandbox:
    """The kit as it answered before issue 14: the same app with the book headers taken off again (the control)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        async def unsandboxed(message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [(k, v) for k, v in message["headers"] if k.lower() not in UNSANDBOX]
            await send(message)

        await self.app(scope, receive, unsandboxed)


UNSANDBOX = (b"content-security-policy", b"x-content-type-options")


def _school(root: Path, wrap=lambda app: app):
    """A kit with the hostile book, an ordinary book, a teacher with a class and the administrator."""
    hostile_book(root / "c")
    make_book(root / "c", "test_book")
    settings = load_settings(
        environ={}, overrides={"data_dir": str(root / "data"), "content_dir": str(root / "c"), "mdns_enabled": False}
    )
    kit = open_kit(settings)
    admin_password = auth.ensure_first_admin(kit.accounts)
    teacher_id = people.create_teacher(kit.people, CONSOLE, "李老师 Ms Li", TEACHER, TEACHER_PASSWORD)
    with kit.people.transaction() as conn:
        for account_id in (teacher_id, kit.accounts.by_username("admin")["id"]):
            kit.people.update_person(conn, account_id, must_change_password=0)
    people.create_class(kit.people, CONSOLE, "三年级一班", "3", [TEACHER])
    return kit, admin_password, wrap(create_app(kit, watch_library=False))


@pytest.fixture(scope="module")
def school(tmp_path_factory):
    kit, admin_password, app = _school(tmp_path_factory.mktemp("book-origin"))
    with LiveServer(app) as server:
        yield server, kit, admin_password
    kit.close()


@pytest.fixture(scope="module")
def unguarded(tmp_path_factory):
    """The same school served without the book headers: what the attack did before."""
    kit, admin_password, app = _school(tmp_path_factory.mktemp("book-origin-before"), WithoutSandbox)
    with LiveServer(app) as server:
        yield server, kit, admin_password
    kit.close()


def _signed_in(chromium, school, username: str, password: str, home: str):
    server = school[0]
    context = chromium.new_context(base_url=server.url, locale="en-US")
    page = context.new_page()
    page.goto("/admin/signin")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form.box button[type=submit]")
    page.wait_for_url(f"**{home}")
    page.evaluate("localStorage.setItem('kit-secret', 'the kit origin keeps this')")
    return context, page


def _posts_seen(context) -> list[tuple[str, int]]:
    seen: list[tuple[str, int]] = []
    context.on("response", lambda r: seen.append((r.url, r.status)) if r.request.method == "POST" else None)
    return seen


def _state(kit) -> tuple:
    return (
        len(kit.people.all_classes()),
        kit.accounts.by_username(EVIL_TEACHER),
        kit.accounts.by_username("meta.teacher"),
        kit.accounts.count("teacher"),
    )


def _run_attack(page) -> dict:
    page.goto("/content/trojan/index")
    page.wait_for_selector("#out[data-done]", state="attached", timeout=ATTACK_WAIT_MS)
    return json.loads(page.inner_text("#out"))


@pytest.mark.browser
@pytest.mark.parametrize("who", ["teacher", "admin"])
def test_a_hostile_book_reads_and_changes_nothing(chromium, school, who):
    server, kit, admin_password = school
    username, password, home = (
        (TEACHER, TEACHER_PASSWORD, "/teach") if who == "teacher" else ("admin", admin_password, "/admin")
    )
    context, page = _signed_in(chromium, school, username, password, home)
    # The control: the same reads from the kit's own origin get the page and its CSRF token.
    assert page.evaluate("home => fetch(home).then(r => r.text()).then(t => t.includes('name=\"csrf\"'))", home)
    before = _state(kit)
    posts = _posts_seen(context)
    out = _run_attack(page)
    assert out["cookie"].startswith("threw SecurityError"), out
    assert out["storage"].startswith("threw SecurityError"), out
    for path in ["/teach", "/admin", "/admin/people", "/me"]:
        assert out[path] == "threw TypeError", (path, out)  # CORS: the kit's pages do not answer origin null
    # The answer to its own form post and a window it opened on /teach are another origin's: unreadable.
    assert out["sink"].startswith("threw") and out["popup"].startswith("threw"), out
    # The forms did reach the kit, and the kit refused them: no session or CSRF cookie came with them.
    assert {url.removeprefix(server.url) for url, _ in posts} >= {"/admin/people/teachers", "/teach/classes"}, posts
    assert all(status == 403 for _, status in posts), posts  # the CSRF check: no cookie came
    assert _state(kit) == before and before[1] is None
    # The reader is still signed in and the page that opened the book still works.
    page.goto(home)
    assert page.url.endswith(home)
    context.close()


@pytest.mark.browser
@pytest.mark.parametrize("who", ["teacher", "admin"])
def test_without_the_sandbox_the_same_book_acts_as_its_reader(chromium, unguarded, who):
    """The control, so that the test above cannot pass for a wrong reason: served as before issue 14, the same book
    reads the CSRF token and posts the kit's forms as whoever opened it."""
    server, kit, admin_password = unguarded
    username, password, home = (
        (TEACHER, TEACHER_PASSWORD, "/teach") if who == "teacher" else ("admin", admin_password, "/admin")
    )
    context, page = _signed_in(chromium, unguarded, username, password, home)
    out = _run_attack(page)
    assert out["/teach"].startswith("read 200 token=") and "undefined" not in out["/teach"], out
    assert out["storage"] == "read the kit origin keeps this", out
    if who == "teacher":
        assert any(row["name"] == EVIL_CLASS for row in kit.people.all_classes()), (
            "the book created a class as the teacher"
        )
    else:
        assert kit.accounts.by_username(EVIL_TEACHER) is not None, "the book created a teacher as the administrator"
    context.close()


@pytest.mark.browser
def test_an_svg_entry_with_script_is_sandboxed(chromium, school):
    server, kit, _ = school
    context, page = _signed_in(chromium, school, TEACHER, TEACHER_PASSWORD, "/teach")
    page.goto("/content/trojan/pic.svg")
    page.wait_for_selector("#out[data-done]", state="attached", timeout=ATTACK_WAIT_MS)
    out = json.loads(page.text_content("#out") or "")
    assert out["cookie"].startswith("threw SecurityError") and out["teach"].startswith("threw TypeError"), out
    context.close()


@pytest.mark.browser
def test_an_html_metadata_item_is_shown_as_text(chromium, school):
    server, kit, admin_password = school
    context, page = _signed_in(chromium, school, "admin", admin_password, "/admin")
    before = _state(kit)
    page.goto("/raw/trojan/meta/Evil")
    page.wait_for_load_state("load")
    assert page.evaluate("document.contentType") == "text/plain"
    assert "<script>" in page.inner_text("body") and page.title() != "ran"
    page.wait_for_timeout(300)
    assert _state(kit) == before
    context.close()


def test_html_meta_bytes_reach_only_as_text(school):
    """Without a browser too: the same item, fetched with an administrator's cookies, is text."""
    server, kit, admin_password = school
    with httpx.Client(base_url=server.url) as http:
        response = http.get("/raw/trojan/meta/Evil")
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-security-policy"] == SANDBOX
