"""Passwords, the first administrator and sign-in sessions. No HTTP here.

Must not import web or cli. Passwords are hashed with argon2id; session tokens are stored hashed.
"""

from __future__ import annotations

import hashlib
import secrets
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from appliance.errors import SignInError, TooManyAttemptsError
from appliance.storage.accounts import Accounts
from appliance.storage.signin_failures import SigninFailures

SESSION_LIFETIME_S = 12 * 3600
# Guessing is slowed per account and per client: after FREE_FAILURES wrong passwords within
# FAILURE_WINDOW_S, each further try must wait, doubling from 30 s up to 15 min (OWASP's advice:
# throttle rather than lock, so a child cannot lock the teacher out for the day).
FREE_FAILURES = 5
FAILURE_WINDOW_S = 15 * 60
FIRST_WAIT_S = 30
MAX_WAIT_S = 15 * 60  # one school day and evening; staff sign in again the next day
ADMIN_USERNAME = "admin"
_hasher = PasswordHasher()  # argon2id with the library's RFC 9106 low-memory profile


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether `password` matches the argon2id `password_hash` (False for a damaged hash too)."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def ensure_first_admin(accounts: Accounts) -> str | None:
    """Create the administrator with a random one-time password if none exists; return it, else None."""
    if accounts.count("admin"):
        return None
    password = "-".join(secrets.token_hex(2) for _ in range(4))
    accounts.create(ADMIN_USERNAME, "admin", hash_password(password), must_change_password=True)
    return password


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _wait_s(failures: SigninFailures, subject: str, now: float) -> float:
    """Seconds `subject` must still wait before another try (0 when it may try now)."""
    count, latest = failures.count_since(subject, now - FAILURE_WINDOW_S)
    if count < FREE_FAILURES or latest is None:
        return 0.0
    wait = min(FIRST_WAIT_S * 2 ** (count - FREE_FAILURES), MAX_WAIT_S)
    return max(0.0, latest + wait - now)


def check_throttle(failures: SigninFailures, username: str, client: str, now: float) -> None:
    """TooManyAttemptsError when this account or this client has failed too often just now."""
    wait = max(_wait_s(failures, f"account:{username}", now), _wait_s(failures, f"client:{client}", now))
    if wait > 0:
        raise TooManyAttemptsError(
            f"Too many wrong passwords: try again in {int(wait) + 1} seconds.",
            cause="Several wrong passwords were typed for this account or from this device.",
            fix="Wait, then type the password carefully. Forgotten? See docs/field-guide.md, 'Starting the kit'.",
            retry_after_s=int(wait) + 1,
        )


def sign_in(accounts: Accounts, username: str, password: str, failures: SigninFailures | None = None,
            client: str = "", now: float | None = None) -> str:
    """Check the password and open a session; return the cookie token. SignInError when wrong,
    TooManyAttemptsError while throttled (then the password is not even checked)."""
    now = time.time() if now is None else now
    if failures is not None:
        check_throttle(failures, username, client, now)
    try:
        return _check_and_open(accounts, username, password)
    except SignInError:
        if failures is not None:
            failures.add([f"account:{username}", f"client:{client}"], now, now - FAILURE_WINDOW_S)
        raise


def _check_and_open(accounts: Accounts, username: str, password: str) -> str:
    row = accounts.by_username(username)
    try:
        if row is None:
            raise VerificationError
        _hasher.verify(row["password_hash"], password)
    except (VerificationError, InvalidHashError):
        raise SignInError(
            "The user name or password is wrong.",
            cause="A typo, or the one-time password was already changed.",
            fix="Type it again; the administrator password was printed by `./build.sh run` or set at provisioning.",
            code="auth.wrong_password",
        ) from None
    token = secrets.token_urlsafe(32)
    accounts.add_session(_token_digest(token), row["id"], time.time() + SESSION_LIFETIME_S)
    return token


def session_account(accounts: Accounts, token: str | None):
    """The signed-in account for a cookie token, or None."""
    if not token:
        return None
    return accounts.session_account(_token_digest(token), time.time())


def sign_out(accounts: Accounts, token: str | None) -> None:
    if token:
        accounts.drop_session(_token_digest(token))
