"""Book counts for the report process from recorded check results, without libzim (docs/performance.md)."""

from __future__ import annotations

import json
import subprocess
import sys

from appliance.services.device import health
from appliance.services.kit import open_kit
from appliance.services.library import book_counts
from appliance.storage.book_checks import BookChecks
from tests.conftest import make_book


def _library_counts(settings) -> dict[str, int]:
    kit = open_kit(settings, with_library=False)
    try:
        return health.books(kit)  # opens the library: checks and records every file
    finally:
        kit.close()


def test_book_counts_match_the_library_once_every_file_was_checked(settings, book, content_dir):
    (content_dir / "broken.zim").write_bytes(b"not a zim file at all" * 100)
    make_book(content_dir, "second_book")
    expected = _library_counts(settings)
    assert expected == {"served": 2, "damaged": 1, "pending": 0, "waiting": 0}
    kit = open_kit(settings, with_library=False)  # as `tpkit report` opens it
    try:
        assert {**book_counts.recorded(content_dir, BookChecks(kit.db)), "waiting": 0} == expected
        assert health.books(kit, open_library=False) == expected
        assert kit.library is None  # counted without opening a book
    finally:
        kit.close()


def test_book_counts_say_nothing_for_a_file_never_checked_and_the_library_is_opened(settings, book, content_dir):
    _library_counts(settings)
    make_book(content_dir, "new_book")  # added while nothing was watching
    kit = open_kit(settings, with_library=False)  # as `tpkit report` opens it
    try:
        assert book_counts.recorded(content_dir, BookChecks(kit.db)) is None
        assert health.books(kit, open_library=False) == {"served": 2, "damaged": 0, "pending": 0, "waiting": 0}
        assert kit.library is not None
    finally:
        kit.close()


def test_book_counts_ignore_a_result_recorded_for_an_older_version_of_the_file(settings, book, content_dir):
    _library_counts(settings)
    book.write_bytes(book.read_bytes()[:2000])  # damaged in place: a new size and time
    kit = open_kit(settings, with_library=False)  # as `tpkit report` opens it
    try:
        assert book_counts.recorded(content_dir, BookChecks(kit.db)) is None
        assert health.books(kit, open_library=False) == {"served": 0, "damaged": 1, "pending": 0, "waiting": 0}
    finally:
        kit.close()


def test_book_counts_keep_libzim_out_of_a_process_that_only_reports(settings, book):
    _library_counts(settings)
    folders = {"data_dir": str(settings.data_dir), "content_dir": str(settings.content_dir)}
    script = (
        "import json, sys\n"
        "from appliance.config import load_settings\n"
        "from appliance.services.device import health\n"
        "from appliance.services.kit import open_kit\n"
        f"kit = open_kit(load_settings(environ={{}}, overrides={json.dumps(folders)}), with_library=False)\n"
        "books = health.snapshot(kit, open_library=False)['books']\n"
        "print(json.dumps([books, sorted(m for m in sys.modules if m.startswith('libzim'))]))\n"
        "kit.close()\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    books, loaded = json.loads(done.stdout.splitlines()[-1])
    assert books == {"served": 1, "damaged": 0, "pending": 0, "waiting": 0}
    assert loaded == []
