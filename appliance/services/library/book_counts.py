"""The snapshot's book counts (served, damaged, being checked) from the results recorded when each file was checked,
without opening a book: for the report process, which must stay small (libzim alone costs it ~8 MB).

Honest by construction: a file counts only by the result recorded for its current version (path, size and
modification time, as `content.library` records them); when any file has none (new, changed, or a large book
still waiting for its check), `recorded` says None and the caller opens the library as before. Must not import
web or cli, nor the content package (that would load libzim).
"""

from __future__ import annotations

import os
from pathlib import Path

from appliance.storage.book_checks import BookChecks
from appliance.storage.waiting_books import WaitingBooks


def _zim_files(content_dir: Path) -> list[Path]:
    """The files `content.library.Library` looks at: `*.zim` files directly in the content folder."""
    try:
        return [p for p in content_dir.iterdir() if p.suffix == ".zim" and p.is_file()]
    except FileNotFoundError:
        return []


def recorded(content_dir: Path, checks: BookChecks) -> dict[str, int] | None:
    """{"served", "damaged", "pending"} as the library would count them, or None when any book's current version
    has no recorded result."""
    served = damaged = 0
    for path in _zim_files(content_dir):
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            continue  # removed while we looked, as the library skips it
        result = checks.get(str(path), stat.st_size, stat.st_mtime_ns)
        if result is None:
            return None
        served, damaged = served + result[0], damaged + (not result[0])
    return {"served": served, "damaged": damaged, "pending": 0}


def waiting(books_waiting_dir: Path, table: WaitingBooks) -> int:
    """How many unsigned books wait for approval (services/library/approval.py): rows whose file is there."""
    return sum((books_waiting_dir / row.file).is_file() for row in table.all())
