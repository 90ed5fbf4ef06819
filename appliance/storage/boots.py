"""The boots the kit has seen, counted by their boot id.

Must not import content, edges, services or web.
"""

from __future__ import annotations

import threading

from appliance.storage.database import Database


class Boots:
    """The `boots` table; remembers this process's boot so a health reading writes at most once per boot."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._counted: tuple[str, int] | None = None

    def record(self, boot_id: str) -> int:
        """Remember `boot_id` (once) and return how many distinct boots have been seen."""
        with self._lock:
            if self._counted is None or self._counted[0] != boot_id:
                with self.db.transaction() as conn:
                    conn.execute("INSERT OR IGNORE INTO boots (boot_id) VALUES (?)", (boot_id,))
                    count = conn.execute("SELECT count(*) FROM boots").fetchone()[0]
                self._counted = (boot_id, count)
            return self._counted[1]
