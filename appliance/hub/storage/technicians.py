"""The `technicians`, `technician_sessions` and `signin_failures` tables: county technicians' accounts, their
sign-in sessions (token digests) and failed sign-ins.

Must not import the hub's services.
"""

from __future__ import annotations

from typing import Any


def add_first(tx, username: str, password_hash: str, now: float) -> bool:
    """Add the first technician (who must change the password) unless there is one; whether it was added."""
    if tx.execute("SELECT username FROM technicians LIMIT 1"):
        return False
    tx.execute(
        "INSERT INTO technicians (username, password_hash, must_change_password, created_at) VALUES (?, ?, 1, ?)",
        (username, password_hash, now),
    )
    return True


def set_password(tx, username: str, password_hash: str, now: float) -> None:
    """Add a technician, or set an existing one's password (no change required afterwards)."""
    tx.execute(
        "INSERT INTO technicians (username, password_hash, must_change_password, created_at) "
        "VALUES (?, ?, 0, ?) ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash, "
        "must_change_password = 0",
        (username, password_hash, now),
    )


def password_hash(db, username: str) -> str | None:
    rows = db.query("SELECT password_hash FROM technicians WHERE username = ?", (username,))
    return rows[0]["password_hash"] if rows else None


def failures_since(db, subject: str, since: float) -> tuple[int, float | None]:
    """Failed sign-ins of `subject` since `since`, and the latest one's time."""
    row = db.query(
        "SELECT count(*) AS n, max(failed_at) AS latest FROM signin_failures WHERE subject = ? AND failed_at >= ?",
        (subject, since),
    )[0]
    return row["n"], row["latest"]


def add_failures(db, subjects: list[str], now: float, keep_after: float) -> None:
    """Count a failed sign-in for each subject; forget those older than `keep_after`."""
    with db.transaction() as tx:
        tx.execute("DELETE FROM signin_failures WHERE failed_at < ?", (keep_after,))
        for subject in subjects:
            tx.execute("INSERT INTO signin_failures (subject, failed_at) VALUES (?, ?)", (subject, now))


def open_session(db, token_sha256: str, username: str, now: float, expires_at: float) -> None:
    """Store a session by its token's digest (and drop the sessions expired by `now`)."""
    with db.transaction() as tx:
        tx.execute("DELETE FROM technician_sessions WHERE expires_at < ?", (now,))
        tx.execute(
            "INSERT INTO technician_sessions (token_sha256, username, expires_at) VALUES (?, ?, ?)",
            (token_sha256, username, expires_at),
        )


def close_other_sessions(tx, username: str, keep_token_sha256: str) -> None:
    """End every session of `username` but the one with `keep_token_sha256` (after a password change)."""
    tx.execute(
        "DELETE FROM technician_sessions WHERE username = ? AND token_sha256 <> ?", (username, keep_token_sha256)
    )


def session(db, token_sha256: str, now: float) -> dict[str, Any] | None:
    """The technician (username, must_change_password) of a session not expired by `now`, or None."""
    rows = db.query(
        "SELECT t.username, t.must_change_password FROM technician_sessions s JOIN technicians t "
        "ON t.username = s.username WHERE s.token_sha256 = ? AND s.expires_at > ?",
        (token_sha256, now),
    )
    return rows[0] if rows else None


def close_session(db, token_sha256: str) -> None:
    with db.transaction() as tx:
        tx.execute("DELETE FROM technician_sessions WHERE token_sha256 = ?", (token_sha256,))
