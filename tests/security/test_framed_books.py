"""A book framed under the kit bar (issue 16): a lesson's article is shown inside a kit page (me_read.html).

Who: whoever made a ZIM that reaches the kit (a pupil's USB stick, an unsigned local channel), once a teacher puts
one of its articles in a lesson. From where: inside the book, as scripts running in a child's browser, now in a frame
whose parent is one of the kit's own pages, with the child signed in. With what: the attacks of test_book_origin.py
(read the kit's cookies and storage, fetch /me, /teach and /admin with the reader's cookies, post the kit's forms),
plus what a frame can try on its parent: read `parent.document` (the kit bar's CSRF token, the child's name), move
the whole page elsewhere (`top.location`, a fake sign-in page), or post the kit bar's bookmark form.
What stops them: the framed answer carries the books' CSP sandbox like every book answer (web/book_origin.py), and
the iframe itself has a `sandbox` attribute with the same rights (`book_origin.FRAME_SANDBOX`: no allow-same-origin,
no allow-top-navigation), so the book runs in an opaque origin: the parent page is another origin, unreadable; the
top page cannot be navigated from the frame; its requests to the kit are cross-site and carry no SameSite=Strict
cookie. Measured below in Chromium with a child signed in: nothing read, the page stays where it is, nothing changed.
"""

from __future__ import annotations

import json
import re

import httpx
import pytest

from appliance.content.zimwriter import Entry, write_zim
from appliance.services.learning import lessons
from appliance.web import book_origin
from appliance.web.app import create_app
from tests.conftest import LiveServer, article, make_book
from tests.security.test_book_origin import ATTACK_WAIT_MS, chromium, hostile_book  # noqa: F401
from tests.web.people_clients import classroom, student_client

# What a framed book's script tries on the page around it. Each outcome is written into #out as JSON.
FRAME_JS = """
const out = {};
try { out.parent = 'read ' + window.parent.document.body.innerHTML.length; } catch (e) { out.parent = 'threw ' + e.name; }
try { out.token = 'read ' + window.top.document.querySelector('input[name=csrf]').value; } catch (e) { out.token = 'threw ' + e.name; }
try { out.cookie = 'read ' + document.cookie; } catch (e) { out.cookie = 'threw ' + e.name; }
try { window.top.location.href = '/admin/signin?phished=1'; out.top = 'no error'; } catch (e) { out.top = 'threw ' + e.name; }
fetch('/me', {credentials: 'include'}).then(r => r.text()).then(t => 'read ' + t.length, e => 'threw ' + e.name)
  .then(me => {
    out.me = me;
    const pre = document.getElementById('out');
    pre.textContent = JSON.stringify(out);
    pre.dataset.done = '1';
  });
"""


def _framing_book(folder) -> None:
    page = article("Clouds", f"<p>Clouds are water.</p><pre id='out'></pre><script>{FRAME_JS}</script>")
    write_zim(
        folder / "framer.zim",
        metadata={
            "Title": "Clouds",
            "Description": "A book that tries its frame",
            "Language": "eng",
            "Creator": "a pupil",
            "Publisher": "a USB stick",
            "Date": "2026-01-02",
            "Name": "framer",
            "Tags": "_category:test",
        },
        main_path="clouds",
        entries=[Entry("clouds", "Clouds", "text/html", page, front=True)],
        index_language=None,
    )


@pytest.fixture(scope="module")
def school(tmp_path_factory):
    """A kit with the hostile books, a class of one child and a lesson with both books' articles."""
    root = tmp_path_factory.mktemp("framed-books")
    hostile_book(root / "c")
    _framing_book(root / "c")
    make_book(root / "c", "test_book")
    kit, teacher_id, result = classroom(root, "name,pin\n王小明,2468\n", "三年级一班")
    teacher = kit.people.person(teacher_id)
    lesson_id = lessons.create(kit.people, kit.lessons, teacher, result.class_id, "云", "", False, "", [])
    items = {
        book: lessons.add_library_item(kit.people, kit.lessons, kit.load_library(), teacher, lesson_id, book, path)
        for book, path in (("trojan", "index"), ("framer", "clouds"))
    }
    [student] = kit.people.students_of(result.class_id)
    with LiveServer(create_app(kit, watch_library=False)) as server:
        yield server, kit, result.class_id, student["id"], lesson_id, items
    kit.close()


def _child(chromium, school):  # noqa: F811
    """A phone with the child signed in (the session cookie of a real sign-in)."""
    server, kit, class_id, student_id, *_ = school
    http = student_client(server.url, class_id, student_id, "2468")
    context = chromium.new_context(base_url=server.url, locale="zh-CN")
    context.add_cookies([{"name": name, "value": value, "url": server.url} for name, value in http.cookies.items()])
    http.close()
    return context


def _state(kit) -> tuple:
    return (
        len(kit.people.all_classes()),
        kit.accounts.count("teacher"),
        kit.db.read().execute("SELECT count(*) FROM bookmarks").fetchone()[0],
        kit.db.read().execute("SELECT count(*) FROM notes").fetchone()[0],
    )


def test_framed_the_frame_has_the_books_rights_and_no_more(school):
    server, kit, class_id, student_id, lesson_id, items = school
    http = student_client(server.url, class_id, student_id, "2468")
    page = http.get(f"/me/lessons/{lesson_id}/items/{items['trojan']}")
    http.close()
    frame = re.search(r'<iframe class="book" src="([^"]+)"[^>]* sandbox="([^"]*)"', page.text)
    assert frame is not None and frame.group(1) == "/content/trojan/index"
    assert frame.group(2) == book_origin.FRAME_SANDBOX == book_origin.SANDBOX.removeprefix("sandbox ")
    assert "allow-same-origin" not in frame.group(2) and "allow-top-navigation" not in frame.group(2)
    assert "content-security-policy" not in page.headers  # the kit page keeps its origin: its forms need it
    framed = httpx.get(server.url + frame.group(1))
    assert framed.headers["content-security-policy"] == book_origin.SANDBOX  # and the framed answer its sandbox


@pytest.mark.browser
def test_framed_a_hostile_book_reads_and_changes_nothing(chromium, school):  # noqa: F811
    server, kit, _, _, lesson_id, items = school
    context = _child(chromium, school)
    page = context.new_page()
    page.goto(f"/me/lessons/{lesson_id}/items/{items['trojan']}")
    # The control: the kit page around the book has the child's session and reads My space and its token.
    assert page.evaluate("() => fetch('/me').then(r => r.text()).then(t => t.includes('name=\"csrf\"'))")
    before = _state(kit)
    frame = page.frame_locator("iframe.book")
    frame.locator("#out[data-done]").wait_for(state="attached", timeout=ATTACK_WAIT_MS)
    out = json.loads(frame.locator("#out").inner_text())
    assert out["cookie"].startswith("threw SecurityError") and out["storage"].startswith("threw SecurityError"), out
    for path in ["/teach", "/admin", "/admin/people", "/me"]:
        assert out[path] == "threw TypeError", (path, out)
    assert out["sink"].startswith("threw") and out["popup"].startswith("threw"), out
    assert _state(kit) == before
    assert page.url.endswith(f"/me/lessons/{lesson_id}/items/{items['trojan']}")
    context.close()


@pytest.mark.browser
def test_framed_a_book_cannot_read_or_move_the_page_around_it(chromium, school):  # noqa: F811
    server, kit, _, _, lesson_id, items = school
    context = _child(chromium, school)
    page = context.new_page()
    address = f"/me/lessons/{lesson_id}/items/{items['framer']}"
    page.goto(address)
    frame = page.frame_locator("iframe.book")
    frame.locator("#out[data-done]").wait_for(state="attached", timeout=ATTACK_WAIT_MS)
    out = json.loads(frame.locator("#out").inner_text())
    assert out["parent"] == "threw SecurityError" and out["token"] == "threw SecurityError", out
    assert out["cookie"].startswith("threw SecurityError") and out["me"] == "threw TypeError", out
    page.wait_for_timeout(500)  # time for a navigation the frame might have started
    assert page.url == server.url + address and "phished" not in page.url, out
    # The kit bar still works: the child bookmarks the article and comes back to the same page.
    page.click(".kitbar button[value=add]")
    page.wait_for_url(f"**{address}?notice=bookmarked")
    assert [tuple(row) for row in kit.db.read().execute("SELECT book, path FROM bookmarks")] == [("framer", "clouds")]
    context.close()
