"""Who: a pupil (or anyone) with a USB stick, at the kit's USB port, which imports whatever is inserted (udev runs
`tpkit import`). From where: the stick's loose `.zim` files, then the kit's web pages. With what: a book whose pages
carry script (`fetch('/teach')`, read the CSRF token, post forms with the reader's cookies), and a book named like
one already served (same ZIM `Name`), to replace it silently; then a pupil's session posting the approval forms.
What stops them: unsigned books wait, unserved, in `<data_dir>/books-waiting/` (not under /content/, not in the
catalog, not in search) until a teacher or the administrator enables them on /admin/books; a book that would replace
one already served waits like any other, says what it would replace, and only an administrator can enable it; the
approval forms are posted with CSRF and refuse pupils (403). docs/security.md, the rows "A stick adds a book…"."""

from __future__ import annotations

import os
import re
import time

import httpx
import pytest

from appliance.services.kit import claim_once
from appliance.services.library import approval
from appliance.services.people.access import CONSOLE
from appliance.services.sync import stick_import
from tests.conftest import make_book
from tests.web.people_clients import csrf, role_clients

SCRIPT = "<script>fetch('/teach').then(r => r.text()).then(t => fetch('/teach/classes', {method: 'POST'}))</script>"


def _wait_for(http: httpx.Client, path: str, status: int) -> httpx.Response:
    deadline = time.monotonic() + 5
    while (response := http.get(path)).status_code != status and time.monotonic() < deadline:
        time.sleep(0.1)  # other workers pick a switched book up at their next rescan (0.2 s in tests)
    return response


@pytest.fixture
def kit_with_maps(kit, tmp_path):
    """A kit serving a teacher's book `maps` (enabled by the administrator), then a pupil's stick: a scripted book
    of its own and a scripted `maps`."""
    make_book(tmp_path / "teacher-stick", "maps", title="Maps of the county")
    stick_import.import_folder(kit.settings, kit.db, tmp_path / "teacher-stick", source="/dev/sdb1")
    approval.enable(kit.settings, kit.db, CONSOLE, approval.waiting_books(kit.db, kit.paths)[0].id)
    kit.library.refresh()
    pupil = tmp_path / "pupil-stick"
    page = {"index": ("Fun games", f"<p>Play!</p>{SCRIPT}")}
    make_book(pupil, "games", title="Fun games", articles=page)
    make_book(pupil, "maps", title="Maps of the county", articles=page)  # named like the served book
    report = stick_import.import_folder(kit.settings, kit.db, pupil, source="/dev/sdc1")
    assert [(b.file, b.outcome) for b in report.local] == [("games.zim", "waiting"), ("maps.zim", "waiting")]
    return kit


def test_stick_books_wait_unserved_not_in_catalog_or_search(kit_with_maps, client):
    assert client.get("/content/games/").status_code == 404
    assert client.get("/content/games/index").status_code == 404
    maps = client.get("/content/maps/index")
    assert maps.status_code == 200 and "<script>" not in maps.text  # still the teacher's book
    assert "Fun games" not in client.get("/catalog/v2/entries").text
    found = client.get("/search", params={"books.name": "games", "pattern": "games"})
    assert "Fun games" not in found.text
    assert "Play!" not in client.get("/search", params={"pattern": "play"}).text


def test_stick_books_role_matrix_pupils_403_teachers_add_admins_replace(kit_with_maps, live):
    clients, _ = role_clients(kit_with_maps, live.url)
    try:
        waiting = {b.book_id: b for b in approval.waiting_books(kit_with_maps.db, kit_with_maps.paths)}
        games, maps = waiting["games"].id, waiting["maps"].id
        assert clients["anonymous"].get("/admin/books").status_code == 401
        for who in ("student_a", "student_b"):
            pupil = clients[who]
            assert pupil.get("/admin/books").status_code == 403
            for action in ("enable", "remove"):
                posted = pupil.post(f"/admin/books/{games}/{action}", data={"csrf": csrf(pupil)})
                assert posted.status_code == 403
        teacher = clients["teacher_a"]
        assert "1 book(s) from a USB stick" not in teacher.get("/teach").text  # two wait
        assert "2 books from a USB stick are waiting for approval" in teacher.get("/teach").text
        page = teacher.get("/admin/books").text
        assert "Fun games" in page and "/dev/sdc1" in page and "games.zim" in page
        row = next(r for r in page.split("</tr>") if "maps.zim" in r)
        assert "Would replace Maps of the county (2026-01-02," in row and "only the administrator" in row
        assert f"/admin/books/{maps}/enable" not in row
        refused = teacher.post(f"/admin/books/{maps}/enable", data={"csrf": csrf(teacher)})
        assert refused.status_code == 403  # the list again, the message beside the book
        row = next(r for r in refused.text.split("</tr>") if "maps.zim" in r)
        assert "would replace a book every class may be using" in row
        assert "<script>" not in teacher.get("/content/maps/index").text
        assert teacher.post(f"/admin/books/{games}/enable", data={}).status_code == 403  # no CSRF token
        enabled = teacher.post(f"/admin/books/{games}/enable", data={"csrf": csrf(teacher)})
        assert enabled.status_code == 303 and enabled.headers["location"] == "/admin/books?notice=enabled"
        assert _wait_for(teacher, "/content/games/index", 200).status_code == 200
        admin = clients["admin"]
        status = admin.get("/admin").text
        assert "Books waiting for approval" in status and f"/admin/books/{maps}/enable" in status
        assert admin.post(f"/admin/books/{maps}/remove", data={"csrf": csrf(admin)}).status_code == 303
        assert approval.waiting_books(kit_with_maps.db, kit_with_maps.paths) == []
        assert "<script>" not in admin.get("/content/maps/index").text  # rejected: the teacher's book stays
    finally:
        for http in clients.values():
            http.close()


def test_stick_books_an_admin_enabling_a_same_name_book_replaces_it_whole(kit_with_maps, live):
    clients, _ = role_clients(kit_with_maps, live.url)
    try:
        admin = clients["admin"]
        maps = next(b for b in approval.waiting_books(kit_with_maps.db, kit_with_maps.paths) if b.book_id == "maps")
        assert admin.post(f"/admin/books/{maps.id}/enable", data={"csrf": csrf(admin)}).status_code == 303
        assert "Play!" in admin.get("/content/maps/index").text
        page = admin.get("/admin/books?lang=zh").text
        assert "待批准的图书" in page and "这本书现在可以阅读了" not in page  # the notice is only after a redirect
        words = re.sub(r"<[^>]*>", " ", page)  # what a reader sees, not the markup
        assert re.search(r"\b(Enable|Remove|Would|replace|waiting|approval|stick)\b", words) is None, words
    finally:
        for http in clients.values():
            http.close()


def test_stick_books_refusals_come_back_as_the_list_with_the_message(kit_with_maps, live):
    clients, _ = role_clients(kit_with_maps, live.url)
    try:
        teacher = clients["teacher_a"]
        games = next(b for b in approval.waiting_books(kit_with_maps.db, kit_with_maps.paths) if b.book_id == "games")
        lock = claim_once(kit_with_maps.paths.sync_lock)  # a sync run is going on
        try:
            busy = teacher.post(f"/admin/books/{games.id}/enable", data={"csrf": csrf(teacher)})
        finally:
            os.close(lock)
        assert busy.status_code == 503 and busy.headers["retry-after"] == "60"
        assert "A content update is already running" in next(r for r in busy.text.split("</tr>") if "games.zim" in r)
        assert teacher.post(f"/admin/books/{games.id}/remove", data={"csrf": csrf(teacher)}).status_code == 303
        again = teacher.post(f"/admin/books/{games.id}/remove", data={"csrf": csrf(teacher)})  # a second click
        assert again.status_code == 404 and "no longer waiting for approval" in again.text
        assert "maps.zim" in again.text  # the rest of the list is still there
    finally:
        for http in clients.values():
            http.close()
