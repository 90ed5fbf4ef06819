"""A `.zim` sent from a teacher's laptop on the 内容 page (issue 17 §3): in chunks, resumed where the kit's copy ends
after a drop, checked whole by libzim, then waiting for approval. A real uvicorn on loopback, real ZIM files, real
Chromium for the page's script."""

from __future__ import annotations

import os
import re

import httpx
import pytest

from appliance.content.zimwriter import Entry
from appliance.services.library import approval, book_uploads
from appliance.services.people.access import CONSOLE
from tests.conftest import make_book
from tests.web.browsers import PHONE, browser, with_cookies  # noqa: F401

CHUNK = 1 << 20


@pytest.fixture
def clients(roles):
    """The signed-in clients of every role (tests/web/conftest.py)."""
    return roles[0]


@pytest.fixture
def big_book(tmp_path):
    """A real ZIM of a few MB (an incompressible picture in it), so that it takes several chunks."""
    noise = Entry("img/noise.png", "noise", "image/png", os.urandom(5 * CHUNK))
    return make_book(tmp_path / "laptop", "river_atlas", title="River atlas", extra=[noise])


def _token(http: httpx.Client) -> str:
    return re.search(r'data-csrf="([^"]+)"', http.get("/books").text)[1]  # type: ignore[index]


def _put(http: httpx.Client, upload_id: str, data: bytes, start: int, total: int, name="River atlas.zim", token=None):
    end = f"{start}-{start + len(data) - 1}" if data else "*"
    return http.put(
        f"/books/uploads/{upload_id}",
        content=data,
        headers={
            "Content-Range": f"bytes {end}/{total}" if data else f"bytes */{total}",
            "X-CSRF-Token": _token(http) if token is None else token,
            "X-File-Name": "River%20atlas.zim" if name == "River atlas.zim" else name,
            "Accept": "application/json",
        },
    )


def test_a_book_sent_in_chunks_resumes_after_a_drop_and_waits_for_approval(kit, clients, big_book):
    teacher = clients["teacher_a"]
    data, upload_id = big_book.read_bytes(), "0123456789abcdef0123"
    total = len(data)
    assert teacher.get(f"/books/uploads/{upload_id}", params={"total": total}).json() == {"received": 0}
    first = _put(teacher, upload_id, data[:CHUNK], 0, total)
    assert first.status_code == 200 and first.json() == {"received": CHUNK, "total": total, "done": False}
    # The Wi-Fi dropped; the page asks where to go on, and a chunk resent from the start is told where the copy ends.
    assert teacher.get(f"/books/uploads/{upload_id}", params={"total": total}).json() == {"received": CHUNK}
    resent = _put(teacher, upload_id, data[:CHUNK], 0, total)
    assert resent.status_code == 409 and resent.json()["received"] == CHUNK
    # Another teacher's copy of the same file is her own.
    assert clients["teacher_b"].get(f"/books/uploads/{upload_id}", params={"total": total}).json()["received"] == 0
    at = CHUNK
    while at < total:
        answer = _put(teacher, upload_id, data[at : at + CHUNK], at, total)
        assert answer.status_code == 200, answer.text
        at = answer.json()["received"]
    done = answer.json()
    assert done["done"] is True and done["outcome"] == "waiting"
    assert done["text"] == "River atlas.zim received; it is waiting for approval."
    assert not list(book_uploads.folder(kit.paths).glob("*.part"))  # moved into the waiting folder
    (waiting,) = approval.waiting_books(kit.db, kit.paths)
    assert waiting.title == "River atlas" and waiting.source == "upload:t-a"
    assert "sent from a laptop by t-a" in teacher.get("/admin/books").text
    assert clients["anonymous"].get("/content/river_atlas/index").status_code == 404  # not served before approval
    approval.enable(kit.settings, kit.db, CONSOLE, waiting.id)
    kit.library.refresh()
    assert clients["anonymous"].get("/content/river_atlas/index").status_code == 200
    again = _put(teacher, upload_id, data[:CHUNK], 0, total)  # the same file again: read whole, then "already"
    while again.json().get("done") is False:
        at = again.json()["received"]
        again = _put(teacher, upload_id, data[at : at + CHUNK], at, total)
    assert again.json()["outcome"] == "unchanged"


def test_a_damaged_file_is_refused_whole_and_discarded(kit, clients):
    teacher = clients["teacher_a"]
    junk = b"not a book, cut short" * 1000
    refused = teacher.put(
        "/books/uploads/aaaaaaaaaaaaaaaa",
        content=junk,
        headers={
            "Content-Range": f"bytes 0-{len(junk) - 1}/{len(junk)}",
            "X-CSRF-Token": _token(teacher),
            "X-File-Name": "broken.zim",
            "Accept": "application/json",
            "Accept-Language": "zh-CN",
        },
    )
    assert refused.status_code == 400 and refused.json()["code"] == "book_upload.damaged"
    assert "不是完整的书" in refused.json()["text"]
    assert not list(book_uploads.folder(kit.paths).glob("*.part")) and approval.waiting_books(kit.db, kit.paths) == []


def test_uploads_refuse_strangers_pupils_forged_requests_wrong_names_and_no_room(kit, clients, big_book):
    data = big_book.read_bytes()[:CHUNK]
    assert clients["anonymous"].get("/books/uploads/0123456789abcdef", params={"total": 9}).status_code == 401
    pupil = clients["student_a"]
    assert pupil.get("/books/uploads/0123456789abcdef", params={"total": 9}).status_code == 403
    assert _put(pupil, "0123456789abcdef", data, 0, 10 * CHUNK, token="x").status_code == 403
    teacher = clients["teacher_a"]
    forged = _put(teacher, "0123456789abcdef", data, 0, 10 * CHUNK, token="forged")
    assert forged.status_code == 403 and forged.json()["code"] == "auth.forbidden"
    named = _put(teacher, "0123456789abcdef", data, 0, 10 * CHUNK, name="notes.docx")
    assert named.status_code == 400 and named.json()["code"] == "book_upload.not_zim"
    bad_id = _put(teacher, "../../etc/passwd", data, 0, 10 * CHUNK)
    assert bad_id.status_code in (400, 404)
    huge = _put(teacher, "0123456789abcdef", data, 0, 1 << 50)
    assert huge.status_code == 507 and huge.json()["code"] == "book_upload.no_space"
    too_big = _put(teacher, "0123456789abcdef", os.urandom(book_uploads.CHUNK_MAX_BYTES + 1), 0, 1 << 30)
    assert too_big.status_code == 400 and too_big.json()["code"] == "book_upload.bad_request"
    assert not list(book_uploads.folder(kit.paths).glob("*.part"))


def test_the_page_sends_a_book_in_chunks_and_goes_on_after_a_drop(kit, clients, live, big_book, browser):  # noqa: F811
    """The page's script (static/book_upload.js) in Chromium: a 4 MB chunk at a time; the second chunk's connection is
    cut once (a dropped Wi-Fi), the page says so, asks the kit where its copy ends and goes on; the book then waits."""
    context = with_cookies(
        browser.new_context(base_url=live.url, **PHONE, locale="zh-CN"), live.url, dict(clients["teacher_a"].cookies)
    )
    page = context.new_page()
    seen: list[str] = []

    def drop_once(route, request):
        seen.append(f"{request.method} {request.headers.get('content-range', '')}")
        if (
            request.method == "PUT"
            and not request.headers["content-range"].startswith("bytes 0-")
            and "cut" not in seen
        ):
            seen.append("cut")
            return route.abort("connectionreset")
        return route.continue_()

    page.route("**/books/uploads/*", drop_once)
    page.goto("/books")
    assert page.locator("#upload").is_visible()  # the script shows the section (hidden without JavaScript)
    page.set_input_files("#upload-file", str(big_book))
    page.click("#upload-send")
    page.wait_for_function(
        "document.getElementById('upload-state').textContent.includes('正在等待批准')", timeout=30000
    )
    puts = [s for s in seen if s.startswith("PUT")]
    assert "cut" in seen and len(puts) >= 3  # two chunks at least, one of them sent twice
    assert [s for s in seen if s.startswith("GET")][1:]  # asked again where the copy ends, after the drop
    assert approval.waiting_books(kit.db, kit.paths)[0].title == "River atlas"
    context.close()
