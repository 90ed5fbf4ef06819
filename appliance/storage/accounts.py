"""Accounts and sign-in sessions in SQLite. Hashing happens in services; this module stores.

Must not import content, edges, services or web.
"""

from __future__ import annotations

import sqlite3
import time

from appliance.storage.database import Database, inserted_id


class Accounts:
    """The `accounts` and `sessions` tables."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def count(self, role: str) -> int:
        return self.db.read().execute("SELECT count(*) FROM accounts WHERE role = ?", (role,)).fetchone()[0]

    def create(self, username: str, role: str, password_hash: str, must_change_password: bool) -> int:
        """Insert an account; sqlite3.IntegrityError if the username is taken."""
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO accounts (username, role, password_hash, must_change_password) VALUES (?, ?, ?, ?)",
                (username, role, password_hash, int(must_change_password)),
            )
            return inserted_id(cursor)

    def by_username(self, username: str) -> sqlite3.Row | None:
        return self.db.read().execute("SELECT * FROM accounts WHERE username = ?", (username,)).fetchone()

    def set_password(self, account_id: int, password_hash: str) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE accounts SET password_hash = ?, must_change_password = 0 WHERE id = ?",
                (password_hash, account_id),
            )

    def reset_password(self, account_id: int, password_hash: str) -> None:
        """A one-time password set for the account (not by its owner): changed at the next sign-in; its sessions
        end."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE accounts SET password_hash = ?, must_change_password = 1 WHERE id = ?",
                (password_hash, account_id),
            )
            conn.execute("DELETE FROM sessions WHERE account_id = ?", (account_id,))

    def change_password(self, account_id: int, password_hash: str, keep_token_sha256: str | None) -> None:
        """The account's new password, chosen by its owner; every session of it ends but the one that changed it."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE accounts SET password_hash = ?, must_change_password = 0 WHERE id = ?",
                (password_hash, account_id),
            )
            conn.execute(
                "DELETE FROM sessions WHERE account_id = ? AND token_sha256 IS NOT ?", (account_id, keep_token_sha256)
            )

    def provision(self, username: str, role: str, password_hash: str) -> None:
        """Set `username`'s password hash (creating the account if needed) as chosen by its owner: no forced
        change at the next sign-in. Its sessions end, so an old password's sign-ins do not outlive it."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO accounts (username, role, password_hash, must_change_password) VALUES (?, ?, ?, 0) "
                "ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash, must_change_password = 0",
                (username, role, password_hash),
            )
            conn.execute(
                "DELETE FROM sessions WHERE account_id = (SELECT id FROM accounts WHERE username = ?)", (username,)
            )

    def add_session(self, token_sha256: str, account_id: int, expires_at: float) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM sessions WHERE expires_at < ?", (time.time(),))
            conn.execute(
                "INSERT INTO sessions (token_sha256, account_id, expires_at) VALUES (?, ?, ?)",
                (token_sha256, account_id, expires_at),
            )

    def session_account(self, token_sha256: str, now: float) -> sqlite3.Row | None:
        """The account of an unexpired session, or None."""
        return (
            self.db.read()
            .execute(
                "SELECT accounts.* FROM sessions JOIN accounts ON accounts.id = sessions.account_id "
                "WHERE token_sha256 = ? AND expires_at > ?",
                (token_sha256, now),
            )
            .fetchone()
        )

    def drop_session(self, token_sha256: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM sessions WHERE token_sha256 = ?", (token_sha256,))

    def newest_session_ends(self) -> dict[int, float]:
        """{account id: when its newest stored session ends}; sessions are forgotten after they expire, so an
        account missing here has not signed in recently (or never)."""
        rows = self.db.read().execute("SELECT account_id, max(expires_at) FROM sessions GROUP BY account_id")
        return {account_id: ends for account_id, ends in rows}
