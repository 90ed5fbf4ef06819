"""The `technicians`, `technician_sessions` and `signin_failures` tables: county technicians' accounts, their
sign-in sessions (token digests) and failed sign-ins.

Must not import the hub's services.
"""

from __future__ import annotations

from collections.abc import Callable
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


def set_password(tx, username: str, password_hash: str, now: float, role: str | None = None) -> None:
    """Add an account (a technician unless `role` says), or set an existing one's password (no change required
    afterwards) and, when `role` is given, its role."""
    tx.execute(
        "INSERT INTO technicians (username, password_hash, must_change_password, created_at, role) "
        "VALUES (?, ?, 0, ?, ?) ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash, "
        "must_change_password = 0",
        (username, password_hash, now, role or "technician"),
    )
    if role is not None:
        tx.execute("UPDATE technicians SET role = ? WHERE username = ?", (role, username))


def password_hash(db, username: str) -> str | None:
    rows = db.query("SELECT password_hash FROM technicians WHERE username = ?", (username,))
    return rows[0]["password_hash"] if rows else None


def begin_try(
    db,
    username: str,
    checks: list[tuple[str, float]],
    now: float,
    keep_after: float,
    wait: Callable[[list[tuple[int, float | None]]], float],
    attempt: str,
) -> float:
    """Check and count one sign-in try in one transaction: `wait` gets the failures of each (subject, since) in
    `checks`; when it answers 0 the try is counted for each subject under the key `attempt` (until
    `forget_try`), else nothing is counted. Returns the wait. SQLite's `BEGIN IMMEDIATE` serialises the
    transactions; on PostgreSQL the technician's row is locked first, so tries for one name queue here."""
    with db.transaction() as tx:
        tx.execute("UPDATE technicians SET username = username WHERE username = ?", (username,))
        counts: list[tuple[int, float | None]] = []
        for subject, since in checks:
            row = tx.execute(
                "SELECT count(*) AS n, max(failed_at) AS latest FROM signin_failures "
                "WHERE subject = ? AND failed_at >= ?",
                (subject, since),
            )[0]
            counts.append((row["n"], row["latest"]))
        waiting = wait(counts)
        if waiting > 0:
            return waiting
        tx.execute("DELETE FROM signin_failures WHERE failed_at < ?", (keep_after,))
        for subject, _ in checks:
            tx.execute(
                "INSERT INTO signin_failures (subject, failed_at, attempt) VALUES (?, ?, ?)", (subject, now, attempt)
            )
        return 0.0


def forget_try(db, attempt: str) -> None:
    """Take back the failures `begin_try` counted for a try that turned out right."""
    with db.transaction() as tx:
        tx.execute("DELETE FROM signin_failures WHERE attempt = ?", (attempt,))


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
    """The account (username, must_change_password, role) of a session not expired by `now`, or None."""
    rows = db.query(
        "SELECT t.username, t.must_change_password, t.role FROM technician_sessions s JOIN technicians t "
        "ON t.username = s.username WHERE s.token_sha256 = ? AND s.expires_at > ?",
        (token_sha256, now),
    )
    return rows[0] if rows else None


def close_session(db, token_sha256: str) -> None:
    with db.transaction() as tx:
        tx.execute("DELETE FROM technician_sessions WHERE token_sha256 = ?", (token_sha256,))
