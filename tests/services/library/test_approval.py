"""Books waiting for approval: a stick's unsigned books wait unserved; enabling serves one with the sync's atomic
switch (replacing a same-Name book only by an administrator); rejecting deletes it; a process killed mid-enable
leaves the library serving the old book or the new one, never neither. Real ZIMs, real SQLite, real processes."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from appliance.config import load_settings
from appliance.errors import AccessDeniedError, NotVisibleError, SignInError
from appliance.files import file_digest
from appliance.services.kit import open_store
from appliance.services.library import approval
from appliance.services.people.access import CONSOLE
from appliance.services.sync import stick_import
from appliance.services.sync.plan import LOCAL_CHANNEL
from appliance.storage.installed_packages import InstalledPackages
from tests.conftest import make_book
from tests.content.layered_books import install, make_patches, make_versions

TEACHER = {"id": 2, "role": "teacher", "username": "li.wei"}
STUDENT = {"id": 3, "role": "student", "username": "pupil"}


def sha(path: Path) -> str:
    return file_digest(path)[1]


@pytest.fixture
def store(tmp_path):
    settings = load_settings(
        environ={},
        overrides={"data_dir": str(tmp_path / "data"), "disk_reserve_mb": 1, "mdns_enabled": False},
    )
    store = open_store(settings)
    yield store
    store.close()


def from_stick(store, stick: Path, name: str, **book) -> Path:
    """Put one book on a fresh stick folder and import it; the book's path on the stick."""
    path = make_book(stick, name, **book)
    report = stick_import.import_folder(store.settings, store.db, stick, source="/dev/sdz1")
    assert report.ok, report.local
    return path


def served(store, book_id: str) -> Path:
    return store.paths.content_dir / f"{book_id}.zim"


def test_approval_a_new_book_waits_then_a_teacher_enables_it(store, tmp_path):
    on_stick = from_stick(store, tmp_path / "stick", "maps", title="Maps", language="zho")
    assert not served(store, "maps").exists()
    (book,) = approval.waiting_books(store.db, store.paths)
    assert (book.title, book.language, book.book_id, book.replaces) == ("Maps", "zho", "maps", None)
    assert book.size_bytes == on_stick.stat().st_size and book.article_count >= 3
    assert (book.source, book.original_name) == ("/dev/sdz1", "maps.zim") and book.arrived_at.endswith("Z")
    enabled = approval.enable(store.settings, store.db, TEACHER, book.id)
    assert enabled.book_id == "maps" and sha(served(store, "maps")) == sha(on_stick)
    assert InstalledPackages(store.db).get("maps").channel == LOCAL_CHANNEL
    assert approval.waiting_books(store.db, store.paths) == []
    with pytest.raises(NotVisibleError) as again:  # a second click, or another teacher's page
        approval.enable(store.settings, store.db, TEACHER, book.id)
    assert again.value.code == "books.not_waiting"


def test_approval_reject_deletes_the_waiting_copy_and_changes_nothing_served(store, tmp_path):
    from_stick(store, tmp_path / "stick", "maps", title="Maps")
    (book,) = approval.waiting_books(store.db, store.paths)
    approval.reject(store.settings, store.db, TEACHER, book.id)
    assert approval.waiting_books(store.db, store.paths) == []
    assert list(store.paths.books_waiting_dir.iterdir()) == [] and list(store.paths.content_dir.iterdir()) == []


def test_approval_a_same_name_book_waits_says_what_it_replaces_and_only_an_admin_replaces(store, tmp_path):
    first = from_stick(store, tmp_path / "stick1", "maps", title="Maps")
    approval.enable(store.settings, store.db, TEACHER, approval.waiting_books(store.db, store.paths)[0].id)
    second = from_stick(store, tmp_path / "stick2", "maps", title="Maps, coloured")
    assert sha(served(store, "maps")) == sha(first)  # never replaced silently
    (book,) = approval.waiting_books(store.db, store.paths)
    assert book.replaces == approval.Replaced("Maps", "2026-01-02", first.stat().st_size) and book.needs_admin
    with pytest.raises(AccessDeniedError) as refused:
        approval.enable(store.settings, store.db, TEACHER, book.id)
    assert refused.value.code == "books.replace_needs_admin"
    assert sha(served(store, "maps")) == sha(first) and approval.waiting_books(store.db, store.paths)
    approval.enable(store.settings, store.db, CONSOLE, book.id)
    assert sha(served(store, "maps")) == sha(second)
    row = InstalledPackages(store.db).get("maps")
    assert row.sha256 == sha(second) and row.previous_sha256 == sha(first)  # `tpkit content rollback maps` works


def test_approval_a_copy_of_a_layered_book_as_served_does_not_wait(store, tmp_path):
    # The library serves v1 + a layer, under v2's uuid; a stick brings the publisher's v2 file itself (that uuid).
    versions = make_versions(tmp_path / "versions")
    install(store.paths.content_dir, versions[0], make_patches(versions, tmp_path / "patches")[:1])
    (tmp_path / "stick").mkdir()
    shutil.copy(versions[1], tmp_path / "stick" / "nature_en.zim")
    report = stick_import.import_folder(store.settings, store.db, tmp_path / "stick", source="/dev/sdz1")
    assert report.ok, report.local
    assert approval.waiting_books(store.db, store.paths) == []  # not held to be served twice as nature_en_local


def test_approval_needs_a_signed_in_teacher_or_admin(store, tmp_path):
    from_stick(store, tmp_path / "stick", "maps", title="Maps")
    (book,) = approval.waiting_books(store.db, store.paths)
    for act in (approval.enable, approval.reject):
        with pytest.raises(AccessDeniedError):
            act(store.settings, store.db, STUDENT, book.id)
        with pytest.raises(SignInError):
            act(store.settings, store.db, None, book.id)
    assert not served(store, "maps").exists() and approval.waiting_books(store.db, store.paths)


KILLED_ENABLE = textwrap.dedent(
    """
    import os, signal, sys
    from appliance.config import load_settings
    from appliance.services.kit import open_store
    from appliance.services.library import approval
    from appliance.services.people.access import CONSOLE
    from appliance.storage.waiting_books import WaitingBooks

    def power_cut(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    if sys.argv[2] == "before-switch":
        os.replace = power_cut  # the instant the book would be renamed into the library
    else:
        WaitingBooks.delete = power_cut  # renamed, not yet struck off the waiting list
    settings = load_settings(environ={}, overrides={"data_dir": sys.argv[1], "mdns_enabled": False})
    store = open_store(settings)
    approval.enable(settings, store.db, CONSOLE, int(sys.argv[3]))
    """
)


@pytest.mark.parametrize("moment", ["before-switch", "after-switch"])
def test_approval_a_process_killed_mid_enable_leaves_the_old_book_or_the_new_never_neither(store, tmp_path, moment):
    first = from_stick(store, tmp_path / "stick1", "maps", title="Maps")
    approval.enable(store.settings, store.db, CONSOLE, approval.waiting_books(store.db, store.paths)[0].id)
    second = from_stick(store, tmp_path / "stick2", "maps", title="Maps, coloured")
    (book,) = approval.waiting_books(store.db, store.paths)
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_ENABLE, str(store.settings.data_dir), moment, str(book.id)], timeout=60
    )
    assert killed.returncode == -9
    now = sha(served(store, "maps"))  # the library's file is whole: one version or the other
    assert now == (sha(first) if moment == "before-switch" else sha(second))
    if moment == "before-switch":  # still waiting; enabling again (after recovery) finishes the job
        (again,) = approval.waiting_books(store.db, store.paths)
        approval.enable(store.settings, store.db, CONSOLE, again.id)
    else:  # switched: the waiting list no longer shows it, and the next import or enable forgets its row
        assert approval.waiting_books(store.db, store.paths) == []
        approval.settle(store.db, store.paths)
    assert sha(served(store, "maps")) == sha(second)
    row = InstalledPackages(store.db).get("maps")
    assert row.sha256 == sha(second) and row.pending_action is None
    assert list(store.paths.books_waiting_dir.iterdir()) == []


def test_approval_settle_deletes_a_copy_cut_short_and_forgets_rows_without_a_file(store, tmp_path):
    from_stick(store, tmp_path / "stick", "maps", title="Maps")
    (book,) = approval.waiting_books(store.db, store.paths)
    stray = store.paths.books_waiting_dir / "0123.zim"
    stray.write_bytes(b"half a book")  # a hold cut short between the rename and the row
    for path in store.paths.books_waiting_dir.iterdir():
        if path != stray:
            path.unlink()  # a rejection cut short between the row and the file, the other way round
    approval.settle(store.db, store.paths)
    assert list(store.paths.books_waiting_dir.iterdir()) == []
    with pytest.raises(NotVisibleError):
        approval.reject(store.settings, store.db, CONSOLE, book.id)
