"""County technicians: accounts (argon2id via edges/passwords), the first one printed once, and sign-in sessions.

Session tokens are stored as SHA-256 digests. Must not import web or cli.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from appliance.errors import SignInError
from appliance.edges import passwords

FIRST_USERNAME = "technician"
SESSION_LIFETIME_S = 12 * 3600  # one working day; a shared county laptop does not stay signed in overnight


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def ensure_first(db, now: float) -> str | None:
    """Create the first technician with a random one-time password if there is none; return it, else None."""
    password = "-".join(secrets.token_hex(2) for _ in range(4))
    with db.transaction() as tx:
        if tx.execute("SELECT username FROM technicians LIMIT 1"):
            return None
        tx.execute("INSERT INTO technicians (username, password_hash, must_change_password, created_at) "
                   "VALUES (?, ?, 1, ?)", (FIRST_USERNAME, passwords.hash_password(password), now))
    return password


def add(db, username: str, password: str, now: float) -> None:
    """Add a technician (or set an existing one's password)."""
    digest = passwords.hash_password(password)
    with db.transaction() as tx:
        tx.execute("INSERT INTO technicians (username, password_hash, must_change_password, created_at) "
                   "VALUES (?, ?, 0, ?) ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash, "
                   "must_change_password = 0",
                   (username, digest, now))


class SigninFailures:
    """Failed sign-ins in the hub's database, with the interface `edges.passwords.check_throttle` reads."""

    def __init__(self, db) -> None:
        self.db = db

    def count_since(self, subject: str, since: float) -> tuple[int, float | None]:
        row = self.db.query("SELECT count(*) AS n, max(failed_at) AS latest FROM signin_failures "
                            "WHERE subject = ? AND failed_at >= ?", (subject, since))[0]
        return row["n"], row["latest"]

    def add(self, subjects: list[str], now: float, keep_after: float) -> None:
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM signin_failures WHERE failed_at < ?", (keep_after,))
            for subject in subjects:
                tx.execute("INSERT INTO signin_failures (subject, failed_at) VALUES (?, ?)", (subject, now))


def sign_in(db, username: str, password: str, now: float, client: str = "") -> str:
    """Check the password and open a session; the cookie token. SignInError when wrong; TooManyAttemptsError
    after repeated wrong passwords for this account or from this client (then the password is not checked)."""
    failures = SigninFailures(db)
    passwords.check_throttle(failures, username, client, now)
    rows = db.query("SELECT password_hash FROM technicians WHERE username = ?", (username,))
    if not rows or not passwords.verify_password(rows[0]["password_hash"], password):
        failures.add([f"account:{username}", f"client:{client}"], now, now - passwords.PASSWORD_THROTTLE.window_s)
        raise SignInError("The user name or password is wrong.", code="auth.wrong_password",
                          cause="A typo, or the one-time password was already changed.",
                          fix="Type it again; the first password was printed once by `tpkit hub serve`.")
    token = secrets.token_urlsafe(32)
    with db.transaction() as tx:
        tx.execute("DELETE FROM technician_sessions WHERE expires_at < ?", (now,))
        tx.execute("INSERT INTO technician_sessions (token_sha256, username, expires_at) VALUES (?, ?, ?)",
                   (_digest(token), username, now + SESSION_LIFETIME_S))
    return token


def session(db, token: str | None, now: float) -> dict[str, Any] | None:
    """The signed-in technician for a cookie token, or None."""
    if not token:
        return None
    rows = db.query("SELECT t.username, t.must_change_password FROM technician_sessions s JOIN technicians t "
                    "ON t.username = s.username WHERE s.token_sha256 = ? AND s.expires_at > ?", (_digest(token), now))
    return rows[0] if rows else None


def sign_out(db, token: str | None) -> None:
    if token:
        with db.transaction() as tx:
            tx.execute("DELETE FROM technician_sessions WHERE token_sha256 = ?", (_digest(token),))
