"""Phone passes in SQLite: the SHA-256 of each token a phone keeps, whose child it is and its life. Hashing, expiry
and who may end a pass are decided in services/people/phone_passes.py.

Must not import content, edges, services or web.
"""

from __future__ import annotations

import sqlite3

from appliance.storage.database import Database, inserted_id


class PhonePasses:
    """The `phone_passes` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, token_sha256: str, account_id: int, made_at: float, expires_at: float) -> int:
        """Store a new pass; its id."""
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO phone_passes (token_sha256, account_id, made_at, expires_at) VALUES (?, ?, ?, ?)",
                (token_sha256, account_id, made_at, expires_at),
            )
            return inserted_id(cursor)

    def by_digest(self, token_sha256: str) -> sqlite3.Row | None:
        """The pass with this token digest, whatever its state."""
        return self.db.read().execute("SELECT * FROM phone_passes WHERE token_sha256 = ?", (token_sha256,)).fetchone()

    def by_id(self, pass_id: int) -> sqlite3.Row | None:
        return self.db.read().execute("SELECT * FROM phone_passes WHERE id = ?", (pass_id,)).fetchone()

    def touch(self, pass_id: int, now: float) -> None:
        """Remember that the pass was used now."""
        with self.db.transaction() as conn:
            conn.execute("UPDATE phone_passes SET last_used_at = ? WHERE id = ?", (now, pass_id))

    def revoke(self, pass_id: int, now: float) -> None:
        """End a pass (a revoked pass stays revoked: its first revocation time is kept)."""
        with self.db.transaction() as conn:
            conn.execute("UPDATE phone_passes SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (now, pass_id))

    def live_of_students(self, account_ids: list[int], now: float) -> list[sqlite3.Row]:
        """The passes of these children neither revoked nor expired, oldest first."""
        marks = ",".join("?" * len(account_ids))
        return (
            self.db.read()
            .execute(
                f"SELECT * FROM phone_passes WHERE account_id IN ({marks}) AND revoked_at IS NULL AND expires_at > ? "
                "ORDER BY made_at",
                (*account_ids, now),
            )
            .fetchall()
        )
