"""What the 内容 page shows of a USB stick being imported (issue 17 §3): `tpkit import` (started by udev when a stick
is plugged in) writes `<data_dir>/stick-status.json` as it goes (state, the book being copied and how far, then each
book's outcome, then whether the stick may be pulled out); the web page reads it. Written atomically and at most
every half second, so a page never reads half a file and a big copy does not wear the SD card.

Must not import web or cli. docs/textbook-units.md, "The 内容 page".
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from appliance.files import write_atomically
from appliance.paths import Paths
from appliance.services.sync.events import Event

WRITE_EVERY_S = 0.5
MAX_LISTED = 200  # books listed from one stick: a page, not a file system
SHOWN_FOR_S = 12 * 3600  # an import older than this is no longer news on the page
IMPORTING, DONE, FAILED = "importing", "done", "failed"


def status_file(paths: Paths) -> Path:
    return paths.data_dir / "stick-status.json"


class StickStatus:
    """The status of one import, written as it changes; `on_event` is the engine's event hook (chain it)."""

    def __init__(self, paths: Paths, source: str, clock: Callable[[], float] = time.time) -> None:
        self.file = status_file(paths)
        self.clock = clock
        self.data: dict[str, Any] = {
            "source": source,
            "state": IMPORTING,
            "started": clock(),
            "book": "",
            "done_bytes": 0,
            "total_bytes": 0,
            "books": [],
            "unplug": False,
        }
        self._written = 0.0
        self._write()

    def found(self, root: Path) -> None:
        """What the stick at `root` carries, with sizes, shown while it is imported: its loose books at the top and the
        books of its `tpkit/` channels (links are not followed; the import checks everything again)."""
        from appliance.services.sync.stick_export import STICK_FOLDER  # here: the web page reads this module too

        seen = []
        for path in sorted(root.glob("*.zim")) + sorted(root.glob(f"{STICK_FOLDER}/*/**/*.zim")):
            try:
                if not path.is_symlink() and path.is_file():
                    seen.append({"file": path.relative_to(root).as_posix(), "size_bytes": path.stat().st_size})
            except OSError:
                continue  # unreadable: the import says so for that book
            if len(seen) == MAX_LISTED:
                break
        self.data["on_stick"] = seen
        self._write()

    def on_event(self, event: Event) -> None:
        if event.kind in ("download", "copy") and event.total_bytes:
            self.data.update(book=event.package_id, done_bytes=event.done_bytes, total_bytes=event.total_bytes)
            if event.done_bytes < event.total_bytes and self.clock() - self._written < WRITE_EVERY_S:
                return
            self._write()

    def finished(self, report) -> None:
        """The import ended (the stick still mounted): each book's outcome."""
        books = [{"file": b.file, "outcome": b.outcome, "why": b.why, "size_bytes": b.size_bytes} for b in report.local]
        result = report.result
        self.data.update(
            state=DONE if report.ok else FAILED,
            book="",
            books=books,
            channels=list(report.channels),
            channel_error=report.error.code if report.error else "",
            added=(result.added if result else 0),
            updated=(result.updated if result else 0),
        )
        self._write()

    def failed(self, code: str) -> None:
        """The import could not start or was stopped (no books on the stick, the mount failed, pulled out)."""
        self.data.update(state=FAILED, book="", error=code)
        self._write()

    def unplugged_safely(self) -> None:
        """The stick is unmounted (or was a folder): it may be pulled out."""
        self.data["unplug"] = True
        self._write()

    def _write(self) -> None:
        self.data["written_at"] = self._written = self.clock()
        write_atomically(self.file, json.dumps(self.data, ensure_ascii=False).encode(), sync_folder=False)


def latest(paths: Paths, now: float | None = None) -> dict[str, Any] | None:
    """The last import's status when it is recent, else None (also for a missing or unreadable file)."""
    try:
        data = json.loads(status_file(paths).read_bytes())
    except (OSError, ValueError):
        return None
    if (
        not isinstance(data, dict)
        or (now if now is not None else time.time()) - data.get("written_at", 0) > SHOWN_FOR_S
    ):
        return None
    total = data.get("total_bytes") or 0
    data["percent"] = min(100, (data.get("done_bytes", 0) * 100) // total) if total else 0
    return data
