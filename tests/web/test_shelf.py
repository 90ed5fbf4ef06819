"""The 内容 page (/books, issue 17 §3): teachers take a book off the shelf (kept, served to nobody) and put it back,
remove a book that came in unsigned or by hand (never a county channel's), and see damaged files; pupils cannot.
A real uvicorn on loopback, real ZIM files, the kit's own SQLite."""

from __future__ import annotations

import os
import re
import time

import httpx
import pytest

from appliance.cli import main
from appliance.services.kit import open_kit
from appliance.services.library import approval
from appliance.services.people.access import CONSOLE
from appliance.services.sync import stick_import, stick_status
from appliance.services.sync.events import Event
from appliance.services.sync.plan import MB
from appliance.services.sync.stick_status import StickStatus
from appliance.storage.installed_packages import Installed, InstalledPackages
from tests.conftest import make_book
from tests.test_cli_roads import FAKE_MOUNT, FAKE_UMOUNT
from tests.web.chinese_pages import visible_words
from tests.web.people_clients import csrf

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


def _post(http: httpx.Client, path: str) -> httpx.Response:
    return http.post(path, data={"csrf": csrf(http)})


def _served(http: httpx.Client, name: str) -> bool:
    return http.get(f"/content/{name}/index").status_code == 200


@pytest.fixture
def clients(roles):
    """The signed-in clients of every role (tests/web/conftest.py)."""
    return roles[0]


def test_a_teacher_takes_a_book_off_the_shelf_and_puts_it_back(kit, clients):
    teacher, anonymous = clients["teacher_a"], clients["anonymous"]
    assert _served(anonymous, "test_book") and "Test book" in anonymous.get("/").text
    taken = _post(teacher, "/books/test_book/off")
    assert taken.status_code == 303 and taken.headers["location"].startswith("/books?notice=off")
    assert not _served(anonymous, "test_book") and not _served(clients["student_a"], "test_book")
    assert _served(teacher, "test_book") and _served(clients["admin"], "test_book")  # staff still open it
    withdrawn = teacher.get("/content/test_book/index")
    assert withdrawn.headers["cache-control"] == "private, no-store"  # not kept for this browser's next reader
    assert teacher.get("/content/test_book/").headers["location"].endswith("/content/test_book/index")
    assert anonymous.get("/content/test_book/").status_code == 404
    assert "Test book" not in anonymous.get("/").text and "Test book" not in teacher.get("/").text
    assert "Test book" not in anonymous.get("/catalog/v2/entries").text
    assert (kit.paths.content_dir / "test_book.zim").is_file()  # kept on the kit
    page = teacher.get("/books?notice=off&title=Test%20book").text
    assert (
        "Test book is off the shelf: pupils no longer see it" in page and "Off the shelf" in page and "Put back" in page
    )
    # A kit opened afresh (a restart, another worker) keeps it off the shelf.
    again = open_kit(kit.settings)
    try:
        assert [b.name for b in again.load_library().off_shelf()] == ["test_book"]
        assert again.library.books() == []
    finally:
        again.close()
    assert _post(teacher, "/books/test_book/on").status_code == 303
    assert _served(anonymous, "test_book")
    assert "Off the shelf" not in teacher.get("/books").text


def test_pupils_and_strangers_cannot_manage_books(kit, clients):
    assert clients["anonymous"].get("/books").status_code == 401
    for who in ("student_a", "student_b"):
        pupil = clients[who]
        assert pupil.get("/books").status_code == 403
        assert _post(pupil, "/books/test_book/off").status_code == 403
        assert _post(pupil, "/books/test_book/remove").status_code == 403
    assert _served(clients["anonymous"], "test_book")
    assert (kit.paths.content_dir / "test_book.zim").is_file()


def test_a_book_from_a_stick_is_removed_with_what_it_frees(kit, clients, tmp_path):
    make_book(tmp_path / "stick", "maps", title="Maps of the county")
    stick_import.import_folder(kit.settings, kit.db, tmp_path / "stick", source="/dev/sdb1")
    approval.enable(kit.settings, kit.db, CONSOLE, approval.waiting_books(kit.db, kit.paths)[0].id)
    kit.library.refresh()
    teacher = clients["teacher_a"]
    size = (kit.paths.content_dir / "maps.zim").stat().st_size
    page = teacher.get("/books").text
    assert "Maps of the county" in page and "imported at this school" in page
    confirm = teacher.get("/books/maps/remove")
    assert confirm.status_code == 200 and "Remove Maps of the county?" in confirm.text
    removed = _post(teacher, "/books/maps/remove")
    assert removed.status_code == 303 and f"freed={size}" in removed.headers["location"]
    assert not (kit.paths.content_dir / "maps.zim").exists()
    assert InstalledPackages(kit.db).get("maps") is None
    assert not _served(clients["anonymous"], "maps")
    done = teacher.get(removed.headers["location"]).text
    assert re.search(r"Maps of the county was removed; [\d.]+ [KM]B freed", done), done


def test_a_county_book_cannot_be_removed_only_taken_off(kit, clients):
    path = kit.paths.content_dir / "test_book.zim"
    InstalledPackages(kit.db).put(Installed("test_book", "county", "2026-01", "0" * 64, path.stat().st_size, path.name))
    teacher = clients["teacher_a"]
    page = teacher.get("/books").text
    assert "from the county" in page and "/books/test_book/remove" not in page
    refused = _post(teacher, "/books/test_book/remove")
    assert refused.status_code == 403
    assert "the next sync would bring it back" in refused.text and "Take it off the shelf instead" in refused.text
    assert path.is_file() and _served(clients["anonymous"], "test_book")


def test_a_stale_form_says_the_book_is_gone(kit, clients):
    teacher = clients["teacher_a"]
    (kit.paths.content_dir / "test_book.zim").unlink()
    deadline = time.monotonic() + 5
    while _served(teacher, "test_book") and time.monotonic() < deadline:
        time.sleep(0.1)  # the scanner (0.2 s in tests) notices the file is gone
    refused = _post(teacher, "/books/test_book/off")
    assert refused.status_code == 404 and "no longer holds that book" in refused.text
    assert teacher.get("/books/test_book/remove").headers["location"] == "/books?notice=gone"


def test_damaged_files_are_listed_with_their_reason(kit, clients):
    (kit.paths.content_dir / "broken.zim").write_bytes(b"ZIM? no, a cut copy" * 100)
    kit.library.refresh()
    page = clients["teacher_a"].get("/books").text
    assert "broken.zim" in page and "These files are damaged" in page


@pytest.fixture
def stick_device(tmp_path, monkeypatch, kit):
    """`tpkit import --device /dev/sdz1` as udev's unit runs it, on this kit, with mount(8) and umount(8) stand-ins
    on PATH (the process edge) that put the prepared stick's files at the mount point."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("mount", FAKE_MOUNT), ("umount", FAKE_UMOUNT)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o700)
    prepared = tmp_path / "prepared-stick"
    prepared.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_STICK", str(prepared))
    monkeypatch.setenv("FAKE_MOUNT_LOG", str(tmp_path / "mount.log"))
    monkeypatch.setenv("TPKIT_DATA_DIR", str(kit.settings.data_dir))
    monkeypatch.setenv("TPKIT_CONTENT_DIR", str(kit.settings.content_dir))
    monkeypatch.setenv("TPKIT_DISK_RESERVE_MB", "1")
    monkeypatch.setenv("TPKIT_LOG_LEVEL", "warning")
    return prepared


def test_a_stick_import_ends_with_each_book_and_you_can_pull_it_out(kit, clients, stick_device):
    make_book(stick_device, "maps", title="Maps of the county")
    (stick_device / "broken.zim").write_bytes(b"cut short" * 500)
    assert main(["import", "--device", "/dev/sdz1"]) == 1  # one book refused
    teacher = clients["teacher_a"]
    page = teacher.get("/books", headers={"Accept-Language": "en"})
    assert "Refresh" not in page.headers
    text = page.text
    assert "You can pull out the USB stick now." in text and "some books were not imported" in text
    assert re.search(r"<code>maps.zim</code> [\d.]+ KB copied, waiting for approval", text), text
    assert "<code>broken.zim</code> not imported" in text and "copy it onto the stick again" in text
    zh = teacher.get("/books", headers=ZH).text
    assert "可以拔出 U 盘了" in zh and "已复制，等待批准" in zh and "文件已损坏" in zh
    assert visible_words(zh, ("Test book",)) == []


def test_a_stick_that_cannot_be_mounted_says_so_on_the_page(kit, clients, stick_device):
    assert main(["import", "--device", "/dev/../etc/passwd"]) == 1
    text = clients["teacher_a"].get("/books", headers={"Accept-Language": "en"}).text
    assert "You can pull out" not in text and 'class="error"' in text
    assert re.search(r"<section class=\"box stick\".*</section>", text, re.DOTALL)


def test_while_a_stick_is_copied_the_page_shows_how_far_and_refreshes(kit, clients, tmp_path):
    now = [time.time()]
    stick = tmp_path / "stick"
    make_book(stick, "maps", title="Maps of the county")
    (stick / "tpkit" / "primary-zh").mkdir(parents=True)
    (stick / "tpkit" / "primary-zh" / "water.zim").write_bytes(b"x" * 3000)
    (stick / "elsewhere.zim").symlink_to("/etc/passwd")  # a link: not listed
    status = StickStatus(kit.paths, "/dev/sdz1", clock=lambda: now[0])
    status.found(stick)
    status.on_event(Event("download", "maps.zim", 10 * MB, 40 * MB))  # within half a second: not written yet
    now[0] += 1
    status.on_event(Event("download", "maps.zim", 20 * MB, 40 * MB))
    page = clients["teacher_a"].get("/books", headers=ZH)
    assert page.headers["Refresh"] == "3"
    assert '<progress max="100" value="50">' in page.text and "正在导入 maps.zim" in page.text
    assert "请不要拔出 U 盘" in page.text and "可以拔出" not in page.text
    assert "U 盘上有 2 本书" in page.text and "<code>tpkit/primary-zh/water.zim</code> 2.9 KB" in page.text
    assert "<code>maps.zim</code>" in page.text and "elsewhere.zim" not in page.text
    assert stick_status.latest(kit.paths, now=now[0] + stick_status.SHOWN_FOR_S + 1) is None  # old news


def test_the_stick_status_is_written_at_most_twice_a_second(kit):
    now = [0.0]
    status = StickStatus(kit.paths, "/media/usb", clock=lambda: now[0])
    shown = []
    for step in range(1, 11):
        now[0] = step / 10
        status.on_event(Event("download", "big.zim", step * MB, 10 * MB))
        shown.append(stick_status.latest(kit.paths, now=now[0])["done_bytes"] // MB)
    assert shown == [0, 0, 0, 0, 5, 5, 5, 5, 5, 10]  # every half second, and the end of each book
    status.finished(stick_import.ImportReport())
    assert stick_status.latest(kit.paths, now=now[0])["unplug"] is False
    status.unplugged_safely()
    assert stick_status.latest(kit.paths, now=now[0])["unplug"] is True


def test_a_teacher_who_must_choose_a_password_is_sent_to_choose_it(kit, clients, roles):
    _, ids = roles
    with kit.people.transaction() as conn:
        kit.people.update_person(conn, ids["a"]["teacher"], must_change_password=1)
    refused = clients["teacher_a"].get("/books", headers={"Accept-Language": "en"})
    assert refused.status_code == 403
    assert '<a class="button" href="/teach">Choose your password</a>' in refused.text
