"""Articles opened by signed-in students, written to the database in batches, not one transaction each.

Written alone, one "opened" statement cost ~44 KB on the SD card: SQLite writes every page a transaction touches
(the row's, its four index pages, the window's row) into the WAL and again into the database at the checkpoint.
In the class-load run on the image that was ~95 % of all a class of 40 wrote (docs/image.md, "The SD card").
Together, the statements of a batch share those pages. A web worker keeps them at most `BATCH_S` seconds or
`BATCH_MOST` statements, then writes them in one transaction (`LearningRecords.add_opens`, which decides the
30-minute window again inside it, so two workers racing still store one).

What it costs: a power cut loses at most the last `BATCH_S` seconds of "opened" statements, never a hand-in, an
answer or anything a child was told was saved; another worker's reading shows on "My space" up to `BATCH_S` late
(this worker's is written before it shows a child's history). The kit writes what waits when it closes.

Must not import web or cli.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from typing import Any

from appliance.storage.learning_records import LearningRecords

log = logging.getLogger(__name__)

BATCH_S = 20.0
BATCH_MOST = 200
# After a failed write (a full disk, a locked database) the statements wait for the next try; beyond this many
# the newest are dropped (and logged), so a kit that cannot write does not fill its memory.
KEPT_MOST = 5 * BATCH_MOST


class OpenBatch:
    """One process's "opened" statements waiting to be written, by (account id, activity)."""

    def __init__(
        self, store: LearningRecords, window_s: float, batch_s: float = BATCH_S, most: int = BATCH_MOST
    ) -> None:
        self._store, self._window_s, self._batch_s, self._most = store, window_s, batch_s, most
        self._lock = threading.Lock()
        self._waiting: dict[tuple[int, str], tuple[dict[str, Any], float]] = {}
        self._timer: threading.Timer | None = None
        self._closed = False

    def waiting(self, account_id: int, activity: str) -> bool:
        with self._lock:
            return (account_id, activity) in self._waiting

    def add(self, statement: dict[str, Any], account_id: int, activity: str, now: float) -> None:
        """Keep the statement for the next write (a second open of the same activity while it waits is the same
        open); the batch is written now when it is full, else within `batch_s`."""
        with self._lock:
            if self._closed or (account_id, activity) in self._waiting:
                return
            if len(self._waiting) >= KEPT_MOST:
                log.warning(
                    "an opened-article record was dropped: %d wait for a database that cannot be written", KEPT_MOST
                )
                return
            self._waiting[(account_id, activity)] = (statement, now)
            full = len(self._waiting) >= self._most
            if not full:
                self._start_timer()
        if full:
            self.flush()

    def _start_timer(self) -> None:
        if self._timer is None and not self._closed:
            self._timer = threading.Timer(self._batch_s, self.flush)
            self._timer.daemon = True
            self._timer.start()

    def flush(self) -> int:
        """Write what waits in one transaction; how many statements were stored (repeats within the window are
        not). On a database error they wait for the next try."""
        with self._lock:
            waiting, self._waiting = self._waiting, {}
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        if not waiting:
            return 0
        try:
            return self._store.add_opens(
                [(statement, account, activity, now) for (account, activity), (statement, now) in waiting.items()],
                self._window_s,
            )
        except (sqlite3.Error, OSError) as exc:
            log.warning(
                "%d opened-article record(s) not written yet (%s); trying again in %s s",
                len(waiting),
                exc,
                self._batch_s,
            )
            with self._lock:
                for key, value in waiting.items():
                    if len(self._waiting) < KEPT_MOST:
                        self._waiting.setdefault(key, value)
                self._start_timer()
            return 0

    def close(self) -> None:
        """Write what waits, then take no more (the kit is closing: its database is next)."""
        self.flush()
        with self._lock:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
