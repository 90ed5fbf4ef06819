"""County technicians: accounts (argon2id via edges/passwords), the first one printed once, and sign-in sessions.

Session tokens are stored as SHA-256 digests. Must not import web or cli.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from appliance.edges import passwords
from appliance.errors import SignInError
from appliance.hub.storage import technicians as stored

FIRST_USERNAME = "technician"
# A technician looks after the fleet; a reviewer (教研员, teaching-research staff) reviews the lessons teachers share
# and sees nothing else. Neither does the other's work: an officer who does both has an account of each kind.
ROLES = ("technician", "reviewer")
SESSION_LIFETIME_S = 12 * 3600  # one working day; a shared county laptop does not stay signed in overnight


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def ensure_first(db, now: float) -> str | None:
    """Create the first technician with a random one-time password if there is none; return it, else None."""
    password = "-".join(secrets.token_hex(2) for _ in range(4))
    with db.transaction() as tx:
        if not stored.add_first(tx, FIRST_USERNAME, passwords.hash_password(password), now):
            return None
    return password


def add(db, username: str, password: str, now: float, role: str | None = None) -> None:
    """Add an account, a technician unless `role` is "reviewer" (or set an existing one's password, and its role
    when given: then every session of it ends)."""
    if role is not None and role not in ROLES:
        raise ValueError(f"role {role!r} is not one of {ROLES}")
    digest = passwords.hash_password(password)
    with db.transaction() as tx:
        stored.set_password(tx, username, digest, now, role)
        stored.close_other_sessions(tx, username, "")


def sign_in(db, username: str, password: str, now: float, client: str = "") -> str:
    """Check the password and open a session; the cookie token. SignInError when wrong; TooManyAttemptsError
    after repeated wrong passwords for this account or from this client (then the password is not checked)."""
    _check(db, username, password, now, client)
    token = secrets.token_urlsafe(32)
    stored.open_session(db, _digest(token), username, now, now + SESSION_LIFETIME_S)
    return token


def _check(db, username: str, password: str, now: float, client: str) -> None:
    """SignInError unless `password` is `username`'s (an unknown name costs as long as a wrong password);
    TooManyAttemptsError while this name from this client, this client, or this name is throttled. The try is
    counted before the check, in the transaction that reads the counters; a right password takes it back."""
    subjects = passwords.password_subjects(username, client)
    attempt = secrets.token_hex(8)
    wait = stored.begin_try(
        db,
        username,
        [(subject, now - throttle.window_s) for subject, throttle in subjects],
        now,
        now - passwords.PASSWORD_THROTTLE.window_s,
        lambda counts: passwords.password_wait(counts, subjects, now),
        attempt,
    )
    if wait > 0:
        raise passwords.too_many_passwords(wait)
    if not passwords.verify_password_or_dummy(stored.password_hash(db, username), password):
        raise SignInError(
            "The user name or password is wrong.",
            code="auth.wrong_password",
            cause="A typo, or the one-time password was already changed.",
            fix="Type it again; the first password was printed once by `tpkit hub serve`.",
        )
    stored.forget_try(db, attempt)


def change_own_password(
    db, username: str, current: str, password: str, token: str | None, now: float, client: str = ""
) -> None:
    """A technician's new password when `current` is the password now (SignInError otherwise, throttled as a
    sign-in); every other session of the technician ends, the one with `token` stays."""
    try:
        _check(db, username, current, now, client)
    except SignInError as exc:
        if exc.code != "auth.wrong_password":
            raise
        raise SignInError(
            "The current password is wrong.",
            code="auth.wrong_current_password",
            cause="A typo, or it was changed since you signed in.",
            fix="Type the password you signed in with (the one-time password, the first time).",
        ) from None
    digest = passwords.hash_password(password)
    with db.transaction() as tx:
        stored.set_password(tx, username, digest, now)
        stored.close_other_sessions(tx, username, _digest(token) if token else "")


def session(db, token: str | None, now: float) -> dict[str, Any] | None:
    """The signed-in technician for a cookie token, or None."""
    if not token:
        return None
    return stored.session(db, _digest(token), now)


def sign_out(db, token: str | None) -> None:
    if token:
        stored.close_session(db, _digest(token))
