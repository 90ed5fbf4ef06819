"""Unsigned books kept in `<data_dir>/books-waiting/` until someone enables them (the `waiting_books` table).

Must not import content, edges, services or web.
"""

from __future__ import annotations

import dataclasses

from appliance.storage.database import Database


@dataclasses.dataclass(frozen=True)
class Waiting:
    """One book waiting for approval (migration 0020)."""

    id: int
    file: str
    wanted_id: str
    title: str
    language: str
    version: str
    size_bytes: int
    article_count: int
    sha256: str
    source: str
    original_name: str
    arrived_at: str


FIELDS = [f.name for f in dataclasses.fields(Waiting)]


class WaitingBooks:
    """The `waiting_books` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def all(self) -> list[Waiting]:
        """Every waiting book, oldest first."""
        rows = self.db.read().execute(f"SELECT {', '.join(FIELDS)} FROM waiting_books ORDER BY id").fetchall()
        return [Waiting(**dict(row)) for row in rows]

    def get(self, waiting_id: int) -> Waiting | None:
        """The waiting book with this id, or None."""
        row = (
            self.db.read()
            .execute(f"SELECT {', '.join(FIELDS)} FROM waiting_books WHERE id = ?", (waiting_id,))
            .fetchone()
        )
        return None if row is None else Waiting(**dict(row))

    def by_sha256(self, sha256: str) -> Waiting | None:
        """The waiting book with exactly these bytes, or None."""
        row = (
            self.db.read()
            .execute(f"SELECT {', '.join(FIELDS)} FROM waiting_books WHERE sha256 = ?", (sha256,))
            .fetchone()
        )
        return None if row is None else Waiting(**dict(row))

    def count(self) -> int:
        """How many books wait."""
        return self.db.read().execute("SELECT count(*) FROM waiting_books").fetchone()[0]

    def add(self, book: Waiting) -> int:
        """Record a book whose file is already in the waiting folder; its new id (`book.id` is ignored)."""
        names = FIELDS[1:]
        with self.db.transaction() as conn:
            cursor = conn.execute(
                f"INSERT INTO waiting_books ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                dataclasses.astuple(book)[1:],
            )
            return int(cursor.lastrowid or 0)

    def delete(self, waiting_id: int) -> None:
        """Forget the book (enabled, or rejected and its file deleted)."""
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM waiting_books WHERE id = ?", (waiting_id,))
